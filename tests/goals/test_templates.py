"""Objective templates: managed within a manager's subtree, assigned in bulk to every agent in one step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from goals import cascades
from goals.models import Objective, ObjectiveEvent, ObjectiveTemplate
from scorecard.models import Kpi
from tests.base import make_person
from tests.goals.test_cascades import objective

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


def fcr_template(user, unit, **extra):
    fields = dict(name="Standard FCR", kind="kpi", title="Resolve at first contact", weight=20,
                  kpi=Kpi.objects.get(code="fcr"), baseline=70, target=74, stretch=78)
    fields.update(extra)
    return cascades.objective_template_create(user=user, unit=unit, **fields)


def test_manager_creates_a_template_for_their_team(org):
    t = fcr_template(org.mike, org.t1)
    assert (t.unit, t.created_by, t.target) == (org.t1, org.mike, 74)


@pytest.mark.parametrize("who", ["mike", "olga", "alice"])
def test_templates_outside_the_subtree_are_refused(org, who):
    with pytest.raises(ValidationError) as exc:
        fcr_template(getattr(org, who), org.t2)
    assert "unit" in exc.value.message_dict
    assert not ObjectiveTemplate.objects.exists()


def test_template_values_are_checked(org):
    with pytest.raises(ValidationError) as exc:
        fcr_template(org.mike, org.t1, baseline=78, target=74, stretch=70, name="")
    assert exc.value.message_dict == {"target": [str(cascades.NOT_ORDERED_HIGHER)], "name": [str(cascades.NAME_REQUIRED)]}
    with pytest.raises(ValidationError) as exc:
        fcr_template(org.mike, org.t1, kind="milestone", kpi=None)
    assert set(exc.value.message_dict) == {"completion_criterion", "verification"}


def test_assign_creates_one_draft_per_agent_of_the_subtree_and_is_idempotent(org):
    t = fcr_template(org.dana, org.d1)
    parent = objective(org.d1, "fcr")
    result = cascades.objective_template_assign(user=org.dana, template=t, period_start=Q3[0], period_end=Q3[1],
                                                due_date=Q3[1], parent=parent)
    assert sorted(o.owner_person.employee_code for o in Objective.objects.filter(template=t)) == ["ALICE", "BOB", "CARL"]
    assert (len(result.created), result.skipped) == (3, 0)
    o = Objective.objects.get(template=t, owner_person=org.alice)
    assert (o.title, o.target, o.status, o.parent_id, o.created_by, o.weight) == (
        "Resolve at first contact", 74, "draft", parent.pk, org.dana, 20)
    assert ObjectiveEvent.objects.filter(objective__template=t, action="create").count() == 3
    assert Objective.history.filter(template_id=t.pk).count() == 3
    make_person("NEW", "New Agent", org.t2, "agent", org.dana)
    again = cascades.objective_template_assign(user=org.dana, template=t, period_start=Q3[0], period_end=Q3[1], due_date=Q3[1])
    assert ([o.owner_person_id for o in again.created], again.skipped) == ([Objective.objects.get(owner_person__employee_code="NEW").owner_person_id], 3)


def test_assign_refuses_bad_input_and_saves_nothing(org):
    t = fcr_template(org.mike, org.t1)
    with pytest.raises(ValidationError) as exc:
        cascades.objective_template_assign(user=org.mike, template=t, period_start=Q3[0], period_end=Q3[1],
                                           due_date=dt.date(2026, 10, 5))
    assert "due_date" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        cascades.objective_template_assign(user=org.mike, template=t, period_start=Q3[0], period_end=Q3[1],
                                           due_date=Q3[1], parent=objective(org.t2, "fcr"))
    assert "parent" in exc.value.message_dict
    with pytest.raises(ValidationError):
        cascades.objective_template_assign(user=org.olga, template=t, period_start=Q3[0], period_end=Q3[1], due_date=Q3[1])
    assert not Objective.objects.filter(template=t).exists()


def test_assign_takes_the_same_number_of_queries_for_many_agents(org, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    t = fcr_template(org.dana, org.d1)

    def count(start):
        with CaptureQueriesContext(connection) as q:
            cascades.objective_template_assign(user=org.dana, template=t, period_start=start, period_end=Q3[1], due_date=Q3[1])
        return len(q)

    few = count(dt.date(2026, 7, 1))
    for i in range(30):
        make_person(f"Z{i}", f"Z {i}", org.t2, "agent", org.dana)
    assert count(dt.date(2026, 7, 2)) == few


# --------------------------------------------------------------------- pages


def test_template_pages_for_a_manager(client, org):
    client.force_login(org.mike)
    assert client.get(reverse("template-create")).status_code == 200
    data = {"name": "Standard FCR", "unit": org.t1.pk, "kind": "kpi", "title": "Resolve", "kpi": Kpi.objects.get(code="fcr").pk,
            "baseline": "70", "target": "74", "stretch": "78", "weight": "20"}
    assert client.post(reverse("template-create"), data).status_code == 302
    t = ObjectiveTemplate.objects.get()
    response = client.get(reverse("template-list"))
    assert "Standard FCR" in response.content.decode()
    response = client.post(reverse("template-edit", args=[t.pk]), {**data, "target": "79"})
    assert response.status_code == 400 and escape(str(cascades.NOT_ORDERED_HIGHER)) in response.content.decode()
    assert client.post(reverse("template-edit", args=[t.pk]), {**data, "target": "75"}).status_code == 302
    t.refresh_from_db()
    assert t.target == 75
    response = client.post(reverse("template-assign", args=[t.pk]),
                           {"period_start": "2026-07-01", "period_end": "2026-09-30", "due_date": "2026-09-30"})
    assert response.status_code == 302
    assert Objective.objects.filter(template=t).count() == 2


def test_template_pages_are_404_outside_the_view(client, org):
    t = fcr_template(org.mike, org.t1)
    client.force_login(org.olga)
    assert client.get(reverse("template-edit", args=[t.pk])).status_code == 404
    assert client.get(reverse("template-assign", args=[t.pk])).status_code == 404
    assert "Standard FCR" not in client.get(reverse("template-list")).content.decode()
    client.force_login(org.alice)
    assert client.get(reverse("template-list")).status_code == 404


def test_template_api(client, org):
    client.force_login(org.mike)
    body = {"name": "Std", "unit": "T1", "kind": "kpi", "title": "Resolve", "kpi": "fcr",
            "baseline": 70, "target": 74, "stretch": 78, "weight": 20}
    response = client.post("/api/v1/goals/templates/", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert client.post("/api/v1/goals/templates/", {**body, "unit": "T2"}, content_type="application/json").status_code == 400
    assert client.get(f"/api/v1/goals/templates/{pk}/").json()["target"] == 74
    assert client.patch(f"/api/v1/goals/templates/{pk}/", {"target": 75}, content_type="application/json").json()["target"] == 75
    response = client.post(f"/api/v1/goals/templates/{pk}/assign/",
                           {"period_start": "2026-07-01", "period_end": "2026-09-30", "due_date": "2026-09-30"},
                           content_type="application/json")
    assert response.status_code == 201 and len(response.json()["created"]) == 2
    client.force_login(org.olga)
    assert client.get(f"/api/v1/goals/templates/{pk}/").status_code == 404
