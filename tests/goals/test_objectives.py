"""Objective services: who may create, edit, move and revise objectives, and what input they refuse.

Named users (tests/base.py): Alice (agent, T1), Bob (her peer), Carl (agent,
T2), Mike (manages T1), Dana (manages D1: T1 and T2), Olga (manages T3 in
D2, sees nothing of T1), Hana (HR) and Dirk (director).
"""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from goals import services
from goals.models import Objective, ObjectiveEvent
from scorecard.models import Kpi

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


def fcr():
    return Kpi.objects.get(code="fcr")


def fields(owner, **overrides):
    """A KPI objective that passes the SMART check's blocking letters."""
    values = dict(
        owner=owner, period_start=Q3[0], period_end=Q3[1], title="Raise first-contact resolution",
        result="Resolve more contacts at first touch", kind="kpi", kpi=fcr(), baseline=70, target=74, stretch=78,
        resources="Two coaching sessions a month", weight=30, due_date=Q3[1],
    )
    values.update(overrides)
    return values


def create(user, owner, **overrides):
    return services.objective_create(user=user, **fields(owner, **overrides))


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def move(obj, *steps):
    """Walk an objective through (user, action[, comment]) steps."""
    for step in steps:
        user, action, *comment = step
        obj = services.objective_transition(user=user, objective=obj, action=action, comment=comment[0] if comment else "")
    return obj


# ------------------------------------------------------------------- create


def test_agent_creates_their_own_objective_as_a_draft(org):
    o = create(org.alice, org.alice)

    assert o.status == Objective.Status.DRAFT
    assert o.owner == org.alice and o.created_by == org.alice
    assert list(o.events.values_list("action", flat=True)) == ["create"]


def test_agent_creates_and_proposes_at_once(org):
    o = create(org.alice, org.alice, status=Objective.Status.PROPOSED)

    assert o.status == Objective.Status.PROPOSED
    assert list(o.events.values_list("action", "from_status", "to_status")) == [
        ("create", "", "draft"), ("propose", "draft", "proposed"),
    ]


def test_agent_cannot_create_an_objective_for_a_peer(org):
    with pytest.raises(ValidationError) as exc:
        create(org.alice, org.bob)

    assert errors_of(exc)["owner"] == [str(services.AGENT_OWN_ONLY)]
    assert not Objective.objects.exists()


def test_agent_cannot_create_an_agreed_objective(org):
    with pytest.raises(ValidationError) as exc:
        create(org.alice, org.alice, status=Objective.Status.AGREED)

    assert errors_of(exc)["status"] == [str(services.STATUS_ON_CREATE)]


@pytest.mark.parametrize("user, owner", [("mike", "alice"), ("mike", "t1"), ("dana", "carl"), ("dana", "t2"),
                                         ("hana", "t3"), ("dirk", "center"), ("mike", "mike")])
def test_managers_hr_and_director_create_objectives_in_their_subtree(org, user, owner):
    o = create(getattr(org, user), getattr(org, owner))

    assert o.pk and o.owner == getattr(org, owner)


@pytest.mark.parametrize("user, owner", [("olga", "alice"), ("olga", "t1"), ("mike", "carl"), ("mike", "d1"),
                                         ("bob", "t1")])
def test_nobody_creates_objectives_outside_their_subtree(org, user, owner):
    with pytest.raises(ValidationError) as exc:
        create(getattr(org, user), getattr(org, owner))

    assert "owner" in errors_of(exc)
    assert not Objective.objects.exists()


@pytest.mark.parametrize("overrides, field, message", [
    ({"period_end": dt.date(2026, 6, 30)}, "period_end", services.PERIOD_NOT_ORDERED),
    ({"weight": 120}, "weight", services.WEIGHT_RANGE),
    ({"weight": -1}, "weight", services.WEIGHT_RANGE),
    ({"kpi": None}, "kpi", services.KPI_REQUIRED),
    ({"title": "  "}, "title", services.TITLE_REQUIRED),
])
def test_bad_input_is_refused_with_a_message_and_nothing_saved(org, overrides, field, message):
    with pytest.raises(ValidationError) as exc:
        create(org.mike, org.alice, **overrides)

    assert errors_of(exc)[field] == [str(message)]
    assert not Objective.objects.exists() and not ObjectiveEvent.objects.exists()


def test_due_date_outside_the_period_is_refused(org):
    with pytest.raises(ValidationError) as exc:
        create(org.mike, org.alice, due_date=dt.date(2026, 10, 15))

    assert errors_of(exc)["due_date"] == [str(services.DUE_OUTSIDE_PERIOD % {"start": "2026-07-01", "end": "2026-09-30"})]


def test_a_target_in_the_wrong_direction_is_refused(org):
    with pytest.raises(ValidationError) as exc:
        create(org.mike, org.alice, baseline=70, target=68, stretch=78)

    assert "higher is better" in errors_of(exc)["target"][0]


def test_lower_is_better_kpis_need_descending_values(org):
    aht = Kpi.objects.get(code="aht")
    assert create(org.mike, org.alice, kpi=aht, baseline=420, target=360, stretch=300).pk

    with pytest.raises(ValidationError) as exc:
        create(org.mike, org.alice, kpi=aht, baseline=300, target=360, stretch=420)
    assert "lower is better" in errors_of(exc)["target"][0]


def test_kpi_objective_needs_numeric_baseline_target_and_stretch(org):
    with pytest.raises(ValidationError) as exc:
        create(org.mike, org.alice, baseline=None, stretch=None)

    assert set(errors_of(exc)) == {"baseline", "stretch"}


def test_milestone_needs_a_completion_criterion_and_its_verification(org):
    with pytest.raises(ValidationError) as exc:
        create(org.mike, org.alice, kind="milestone", kpi=None)

    assert errors_of(exc) == {
        "completion_criterion": [str(services.CRITERION_REQUIRED)],
        "verification": [str(services.VERIFICATION_REQUIRED)],
    }
    o = create(org.mike, org.alice, kind="milestone", completion_criterion="New script live",
               verification="QA signs off the script")
    assert o.kpi is None and o.target is None


# ------------------------------------------------------------------ parents


def test_objectives_cascade_downward_from_units_above(org):
    center = create(org.dirk, org.center)
    dept = create(org.dirk, org.d1, parent=center)
    team = create(org.dana, org.t1, parent=dept)
    agent = create(org.mike, org.alice, parent=team)

    assert agent.parent.parent.parent == center


@pytest.mark.parametrize("parent_owner, owner", [("t1", "t1"), ("t1", "d1"), ("t2", "alice"), ("t1", "t2"),
                                                 ("alice", "bob")])
def test_a_parent_that_is_not_above_the_owner_is_refused(org, parent_owner, owner):
    parent = create(org.dirk, getattr(org, parent_owner))

    with pytest.raises(ValidationError) as exc:
        create(org.dirk, getattr(org, owner), parent=parent)

    assert errors_of(exc)["parent"] == [str(services.PARENT_NOT_ABOVE)]


def test_a_cycle_in_parent_links_is_refused(org):
    mikes = create(org.mike, org.mike)
    alices = create(org.mike, org.alice, parent=mikes)

    with pytest.raises(ValidationError) as exc:
        services.objective_update(user=org.dana, objective=mikes, parent=alices)

    assert errors_of(exc)["parent"] == [str(services.PARENT_CYCLE)]
    mikes.refresh_from_db()
    assert mikes.parent is None


def test_an_objective_cannot_be_its_own_parent(org):
    o = create(org.mike, org.t1)

    with pytest.raises(ValidationError) as exc:
        services.objective_update(user=org.mike, objective=o, parent=o)

    assert errors_of(exc)["parent"] == [str(services.PARENT_CYCLE)]


# ------------------------------------------------------------------ update


def test_a_draft_is_edited_by_its_owner(org):
    o = create(org.alice, org.alice)

    o = services.objective_update(user=org.alice, objective=o, target=75, title="FCR up")

    o.refresh_from_db()
    assert (o.target, o.title) == (75, "FCR up")


def test_only_drafts_are_edited(org):
    o = move(create(org.alice, org.alice), (org.alice, "propose"))

    with pytest.raises(ValidationError) as exc:
        services.objective_update(user=org.alice, objective=o, target=75)

    assert errors_of(exc)["status"] == [str(services.NOT_EDITABLE)]


def test_a_peer_cannot_edit_an_objective(org):
    o = create(org.alice, org.alice)

    with pytest.raises(ValidationError):
        services.objective_update(user=org.bob, objective=o, target=75)
    o.refresh_from_db()
    assert o.target == 74


def test_update_refuses_fields_it_does_not_own(org):
    o = create(org.alice, org.alice)

    with pytest.raises(ValidationError) as exc:
        services.objective_update(user=org.alice, objective=o, status="agreed")

    assert errors_of(exc) == {"status": [str(services.FIELD_NOT_EDITABLE)]}


# -------------------------------------------------------------- transitions


def test_bottom_up_agent_proposes_and_manager_agrees(org):
    o = create(org.alice, org.alice, status=Objective.Status.PROPOSED)

    o = move(o, (org.mike, "agree"), (org.mike, "activate"), (org.mike, "achieve"))

    assert o.status == Objective.Status.ACHIEVED
    events = list(o.events.values_list("action", "by__employee_code", "from_status", "to_status"))
    assert events[2:] == [("agree", "MIKE", "proposed", "agreed"), ("activate", "MIKE", "agreed", "active"),
                          ("achieve", "MIKE", "active", "achieved")]


def test_manager_returns_a_proposal_with_a_comment(org):
    o = create(org.alice, org.alice, status=Objective.Status.PROPOSED)

    o = move(o, (org.mike, "return", "Target too low"))

    assert o.status == Objective.Status.DRAFT
    assert o.events.last().comment == "Target too low"


def test_manager_rejects_a_proposal_with_a_comment(org):
    o = create(org.alice, org.alice, status=Objective.Status.PROPOSED)

    o = move(o, (org.mike, "reject", "Not your area"))

    assert o.status == Objective.Status.CANCELLED


@pytest.mark.parametrize("action", ["return", "reject", "cancel"])
def test_return_reject_and_cancel_need_a_comment(org, action):
    o = create(org.alice, org.alice, status=Objective.Status.PROPOSED)

    with pytest.raises(ValidationError) as exc:
        move(o, (org.mike, action, "  "))

    assert errors_of(exc)["comment"] == [str(services.COMMENT_REQUIRED)]
    o.refresh_from_db()
    assert o.status == Objective.Status.PROPOSED and o.events.count() == 2


@pytest.mark.parametrize("user", ["alice", "bob", "carl", "olga"])
def test_only_the_owners_manager_agrees(org, user):
    o = create(org.alice, org.alice, status=Objective.Status.PROPOSED)

    with pytest.raises(ValidationError) as exc:
        move(o, (getattr(org, user), "agree"))

    assert errors_of(exc)["action"] == [str(services.NOT_MANAGER)]
    o.refresh_from_db()
    assert o.status == Objective.Status.PROPOSED


@pytest.mark.parametrize("user", ["mike", "dana", "hana", "dirk"])
def test_the_owners_managers_hr_and_director_agree(org, user):
    o = create(org.alice, org.alice, status=Objective.Status.PROPOSED)

    assert move(o, (getattr(org, user), "agree")).status == Objective.Status.AGREED


def test_a_manager_cannot_agree_their_own_objective(org):
    o = create(org.mike, org.mike, status=Objective.Status.PROPOSED)

    with pytest.raises(ValidationError):
        move(o, (org.mike, "agree"))
    assert move(o, (org.dana, "agree")).status == Objective.Status.AGREED


def test_a_unit_objective_is_agreed_above_the_unit(org):
    o = create(org.mike, org.t1, status=Objective.Status.PROPOSED)

    with pytest.raises(ValidationError):
        move(o, (org.mike, "agree"))
    assert move(o, (org.dana, "agree")).status == Objective.Status.AGREED


def test_peer_cannot_propose_an_agents_objective(org):
    o = create(org.alice, org.alice)

    with pytest.raises(ValidationError) as exc:
        move(o, (org.bob, "propose"))

    assert errors_of(exc)["action"] == [str(services.NOT_OWNER_OR_MANAGER)]


@pytest.mark.parametrize("steps, action", [
    ([], "agree"), ([], "activate"), ([], "achieve"), ([("alice", "propose")], "activate"),
    ([("alice", "propose")], "miss"), ([("alice", "propose")], "propose"),
])
def test_wrong_status_is_refused(org, steps, action):
    o = move(create(org.alice, org.alice), *[(getattr(org, u), a) for u, a in steps])
    before = o.events.count()

    with pytest.raises(ValidationError) as exc:
        move(o, (org.mike, action, "comment"))

    assert "cannot be" in errors_of(exc)["action"][0]
    assert o.events.count() == before


def test_unknown_action_is_refused(org):
    o = create(org.alice, org.alice)

    with pytest.raises(ValidationError) as exc:
        move(o, (org.mike, "fly"))

    assert errors_of(exc) == {"action": [str(services.ACTION_UNKNOWN)]}


def test_an_objective_failing_smart_cannot_be_proposed(org):
    o = create(org.alice, org.alice, result="")

    with pytest.raises(ValidationError) as exc:
        move(o, (org.alice, "propose"))

    assert "Specific" in errors_of(exc)["action"][0]
    o.refresh_from_db()
    assert o.status == Objective.Status.DRAFT


def test_active_objective_is_missed_or_cancelled_by_the_manager(org):
    o = create(org.alice, org.alice, status=Objective.Status.PROPOSED)
    o = move(o, (org.mike, "agree"), (org.mike, "activate"))

    assert move(o, (org.mike, "cancel", "Queue closed")).status == Objective.Status.CANCELLED


def test_allowed_actions_follow_person_and_status(org):
    o = create(org.alice, org.alice, status=Objective.Status.PROPOSED)

    assert services.objective_actions(org.alice, o) == []
    assert services.objective_actions(org.mike, o) == ["agree", "return", "reject", "cancel"]


# ------------------------------------------------------------------- revise


def agreed(org, owner=None, **overrides):
    owner = owner or org.alice
    o = create(org.mike if owner != org.alice else org.alice, owner, status=Objective.Status.PROPOSED, **overrides)
    return move(o, (org.dana, "agree"))


def test_revision_keeps_the_old_values_in_history_and_tells_the_owner(org, django_capture_on_commit_callbacks):
    o = agreed(org)

    with django_capture_on_commit_callbacks(execute=True):
        services.objective_revise(user=org.mike, objective=o, reason="Queue merged", target=73, stretch=77)

    o.refresh_from_db()
    assert (o.target, o.stretch) == (73, 77)
    latest, previous = o.history.order_by("-history_date", "-history_id")[:2]
    assert (previous.target, previous.stretch) == (74, 78)
    assert latest.history_change_reason == "Queue merged" and latest.history_user == org.mike
    event = o.events.last()
    assert (event.action, event.comment, event.by) == ("revise", "Queue merged", org.mike)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "Queue merged" in mail.outbox[0].body and "74" in mail.outbox[0].body


def test_revising_a_unit_objective_tells_the_units_managers(org, django_capture_on_commit_callbacks):
    o = agreed(org, org.t1)

    with django_capture_on_commit_callbacks(execute=True):
        services.objective_revise(user=org.dana, objective=o, reason="New product", due_date=dt.date(2026, 9, 15))

    assert [m.to for m in mail.outbox] == [["mike@example.com"]]


def test_no_email_when_the_revision_is_refused(org, django_capture_on_commit_callbacks):
    o = agreed(org)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as exc:
        services.objective_revise(user=org.mike, objective=o, reason="", target=73)

    assert errors_of(exc) == {"reason": [str(services.REASON_REQUIRED)]}
    assert mail.outbox == []
    o.refresh_from_db()
    assert o.target == 74


@pytest.mark.parametrize("values, field", [
    ({"target": 80}, "target"),  # beyond the stretch: not ordered
    ({"due_date": dt.date(2026, 10, 2)}, "due_date"),
    ({}, "target"),  # nothing changed
])
def test_revision_is_validated_like_creation(org, values, field):
    o = agreed(org)

    with pytest.raises(ValidationError) as exc:
        services.objective_revise(user=org.mike, objective=o, reason="Because", **values)

    assert field in errors_of(exc)
    assert o.events.filter(action="revise").count() == 0


def test_only_agreed_or_active_objectives_are_revised(org):
    o = create(org.alice, org.alice)

    with pytest.raises(ValidationError) as exc:
        services.objective_revise(user=org.mike, objective=o, reason="Because", target=73)

    assert errors_of(exc) == {"reason": [str(services.REVISE_STATUS)]}


@pytest.mark.parametrize("user", ["alice", "bob", "olga"])
def test_only_the_owners_manager_revises(org, user):
    o = agreed(org)

    with pytest.raises(ValidationError):
        services.objective_revise(user=getattr(org, user), objective=o, reason="Because", target=73)
