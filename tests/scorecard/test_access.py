"""The one access rule (scorecard.access.Scope): its kinds, and its filters agreeing with its object checks."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goals.models import Objective
from scorecard.access import Kind, scope_for
from scorecard.models import OrgUnit, Person
from tests.goals.test_cascades import objective

pytestmark = pytest.mark.django_db


def users(org):
    return [AnonymousUser(), org.alice, org.bob, org.carl, org.mike, org.dana, org.olga, org.hana, org.dirk]


def test_each_role_has_its_kind(org):
    assert scope_for(AnonymousUser()).kind == Kind.NONE
    assert scope_for(org.alice).kind == Kind.SELF
    assert scope_for(org.mike).kind == Kind.SUBTREE and scope_for(org.mike).paths == (org.t1.path,)
    assert scope_for(org.dana).kind == Kind.SUBTREE and scope_for(org.dana).paths == (org.d1.path,)
    assert scope_for(org.hana).kind == Kind.ALL
    assert scope_for(org.dirk).kind == Kind.ALL


def test_a_manager_without_a_unit_sees_only_themself(org):
    org.olga.unit = None
    org.olga.save()
    scope = scope_for(org.olga)
    assert scope.kind == Kind.SELF
    assert list(Person.objects.filter(scope.people_q())) == [org.olga]
    assert not OrgUnit.objects.filter(scope.units_q()).exists()


def test_the_filters_and_the_object_checks_agree_for_every_user_unit_and_person(org):
    """The queryset rule and the one-object rule are the same rule, for every pair."""
    units = list(OrgUnit.objects.all())
    people = list(Person.objects.select_related("unit"))
    for user in users(org):
        scope = scope_for(user)
        in_units = set(OrgUnit.objects.filter(scope.units_q()).values_list("pk", flat=True))
        in_people = set(Person.objects.filter(scope.people_q()).values_list("pk", flat=True))
        assert in_units == {u.pk for u in units if scope.sees_unit(u)}, user
        assert in_people == {p.pk for p in people if scope.sees_person(p)}, user


def test_owner_filter_agrees_with_the_owner_check(org):
    owners = [org.center, org.d1, org.d2, org.t1, org.t2, org.t3, org.alice, org.bob, org.carl, org.olga, org.mike]
    for owner in owners:
        objective(owner, title=f"Of {owner.code}")
    loaded = list(Objective.objects.select_related("owner_unit", "owner_person__unit"))
    for user in users(org):
        scope = scope_for(user)
        assert set(Objective.objects.filter(scope.owner_q()).values_list("pk", flat=True)) == {
            o.pk for o in loaded if scope.sees_owner(o.owner)
        }, user


def test_what_each_named_user_sees(org):
    def seen(user):
        scope = scope_for(user)
        return ({u.code for u in OrgUnit.objects.filter(scope.units_q())},
                {p.code for p in Person.objects.filter(scope.people_q())})

    assert seen(org.alice) == (set(), {"ALICE"})
    assert seen(org.mike) == ({"T1"}, {"MIKE", "ALICE", "BOB"})
    assert seen(org.dana) == ({"D1", "T1", "T2"}, {"DANA", "MIKE", "ALICE", "BOB", "CARL"})
    assert seen(org.olga) == ({"T3"}, {"OLGA"})
    assert seen(AnonymousUser()) == (set(), set())
    everything = ({u.code for u in OrgUnit.objects.all()}, {p.code for p in Person.objects.all()})
    assert seen(org.hana) == everything and seen(org.dirk) == everything


def test_sees_below_is_whom_the_user_answers_for(org):
    mike, dirk = scope_for(org.mike), scope_for(org.dirk)
    assert mike.sees_below(org.alice) and not mike.sees_below(org.mike)  # their people, not themself
    assert not mike.sees_below(org.t1)  # their own unit is answered for above them
    assert scope_for(org.dana).sees_below(org.t1) and not scope_for(org.dana).sees_below(org.d1)
    assert dirk.sees_below(org.center) and dirk.sees_below(org.olga) and not dirk.sees_below(org.dirk)
    assert not scope_for(org.alice).sees_below(org.alice)


def test_the_scope_is_built_once_per_user_and_again_when_the_user_changes(org):
    user = Person.objects.get(pk=org.mike.pk)
    with CaptureQueriesContext(connection) as first:
        scope = scope_for(user)
    with CaptureQueriesContext(connection) as again:
        assert scope_for(user) is scope
    assert len(first) == 1 and len(again) == 0  # the manager's unit, read once
    user.unit = org.t3
    assert scope_for(user).paths == (org.t3.path,)
    user.role = Person.Role.HR
    assert scope_for(user).kind == Kind.ALL


def test_filters_need_no_query_for_nobody_and_no_where_clause_for_everyone(org):
    with CaptureQueriesContext(connection) as queries:
        assert list(OrgUnit.objects.filter(scope_for(AnonymousUser()).units_q())) == []
    assert len(queries) == 0
    assert "WHERE" not in str(Person.objects.filter(scope_for(org.hana).people_q()).query)


def test_the_admin_shows_a_staff_manager_only_their_subtree(client, org):
    """A manager given staff access and view permissions lists only their subtree's rows in the admin; a row
    outside it is not found there either."""
    from django.contrib.auth.models import Permission

    org.mike.is_staff = True
    org.mike.save()
    org.mike.user_permissions.add(*Permission.objects.filter(codename__in=["view_objective", "view_person"]))
    ours, theirs = objective(org.alice, title="Alice's own objective"), objective(org.olga, title="Olga's objective")
    client.force_login(org.mike)
    listed = client.get("/admin/goals/objective/").content.decode()
    assert "Alice&#x27;s own objective" in listed or "Alice's own objective" in listed
    assert "Olga" not in listed
    assert client.get(f"/admin/goals/objective/{ours.pk}/change/").status_code == 200
    assert client.get(f"/admin/goals/objective/{theirs.pk}/change/").status_code == 302  # "does not exist"
    people = client.get("/admin/scorecard/person/").content.decode()
    assert "ALICE" in people and "OLGA" not in people and "CARL" not in people
