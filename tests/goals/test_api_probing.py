"""Issue 11, finding 6: an id or code in a request body gets the same answer whether it does not exist or lies
outside the caller's view, so nobody learns through error messages what exists beyond their scope.

Mike manages team T1 (department D1); Olga's team T3 is in the other department.
"""

import pytest
from rest_framework.test import APIClient

from goals.apis import UNKNOWN_PARENT
from goals.cascade_apis import UNIT_NOT_VISIBLE
from goals.contracts import UNKNOWN_OBJECTIVES
from tests.factories import ContractFactory, ObjectiveFactory

MISSING_ID = 987654


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def objective_payload(**overrides) -> dict:
    return {
        "owner": "ALICE", "period_start": "2026-07-01", "period_end": "2026-09-30", "title": "FCR up",
        "result": "Resolve more at first touch", "kind": "kpi", "kpi": "fcr", "baseline": 70, "target": 74,
        "stretch": 78, "resources": "Coaching", "weight": 30, "due_date": "2026-09-30", **overrides,
    }


@pytest.fixture
def t3_objective(org):
    return ObjectiveFactory(owner_person=None, owner_unit=org.t3, title="T3 sales", created_by=org.olga)


def test_a_parent_outside_the_view_answers_as_a_missing_one(org, t3_objective):
    outside = api(org.mike).post("/api/v1/goals/objectives/", objective_payload(parent=t3_objective.pk), format="json")
    missing = api(org.mike).post("/api/v1/goals/objectives/", objective_payload(parent=MISSING_ID), format="json")
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json() == {"parent": [str(UNKNOWN_PARENT)]}


def test_a_parent_on_the_callers_chain_upward_is_still_accepted(org):
    """A department objective is not in a team manager's view, but the parent picker offers it: so does the API."""
    d1 = ObjectiveFactory(owner_person=None, owner_unit=org.d1, title="D1 FCR", created_by=org.dana)
    response = api(org.mike).post("/api/v1/goals/objectives/", objective_payload(parent=d1.pk), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["parent"] == d1.pk


def test_a_parent_in_view_but_not_above_the_owner_still_says_why(org):
    bob = ObjectiveFactory(owner_person=org.bob, title="Bob's")
    response = api(org.mike).post("/api/v1/goals/objectives/", objective_payload(parent=bob.pk), format="json")
    assert response.status_code == 400
    assert response.json()["parent"] != [str(UNKNOWN_PARENT)]


def test_editing_a_draft_with_an_outside_parent_answers_as_a_missing_one(org, t3_objective):
    draft = ObjectiveFactory(owner_person=org.alice, status="draft", created_by=org.mike)
    url = f"/api/v1/goals/objectives/{draft.pk}/"
    outside = api(org.mike).patch(url, {"parent": t3_objective.pk}, format="json")
    missing = api(org.mike).patch(url, {"parent": MISSING_ID}, format="json")
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json() == {"parent": [str(UNKNOWN_PARENT)]}


TEMPLATE = {"name": "Std", "kind": "kpi", "title": "Resolve", "kpi": "fcr", "baseline": 70, "target": 74,
            "stretch": 78, "weight": 20}


def test_a_template_unit_outside_the_view_answers_as_a_missing_one(org):
    outside = api(org.mike).post("/api/v1/goals/templates/", {**TEMPLATE, "unit": "T3"}, format="json")
    missing = api(org.mike).post("/api/v1/goals/templates/", {**TEMPLATE, "unit": "NOPE"}, format="json")
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json() == {"unit": [str(UNIT_NOT_VISIBLE)]}


def test_moving_a_template_to_a_unit_outside_the_view_answers_as_a_missing_one(org):
    created = api(org.mike).post("/api/v1/goals/templates/", {**TEMPLATE, "unit": "T1"}, format="json")
    assert created.status_code == 201, created.json()
    url = f"/api/v1/goals/templates/{created.json()['id']}/"
    outside = api(org.mike).patch(url, {"unit": "T3"}, format="json")
    missing = api(org.mike).patch(url, {"unit": "NOPE"}, format="json")
    assert outside.json() == missing.json() == {"unit": [str(UNIT_NOT_VISIBLE)]}


def test_a_contract_objective_outside_the_view_answers_as_a_missing_one(org, t3_objective):
    body = {"person": "ALICE", "period_start": "2026-07-01", "period_end": "2026-09-30", "reward_terms": []}
    outside = api(org.mike).post("/api/v1/goals/contracts/", {**body, "objectives": [
        {"objective": t3_objective.pk, "weight": 100}]}, format="json")
    missing = api(org.mike).post("/api/v1/goals/contracts/", {**body, "objectives": [
        {"objective": MISSING_ID, "weight": 100}]}, format="json")
    assert outside.status_code == missing.status_code == 400
    assert outside.json()["objectives"] == [str(UNKNOWN_OBJECTIVES % {"ids": t3_objective.pk})]
    assert missing.json()["objectives"] == [str(UNKNOWN_OBJECTIVES % {"ids": MISSING_ID})]


@pytest.mark.parametrize("url", ["/api/v1/scorecards/?subject={code}&start=2026-07-01&end=2026-09-30",
                                 "/api/v1/scorecards/{code}/ranking/?start=2026-07-01&end=2026-09-30",
                                 "/api/v1/org-units/{code}/"])
def test_a_unit_code_outside_the_view_answers_as_a_missing_one(org, url):
    outside = api(org.mike).get(url.format(code="T3"))
    missing = api(org.mike).get(url.format(code="NOPE"))
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()


@pytest.mark.parametrize("objective_id", [2**63, 2**70, 0, -1])
def test_a_contract_objective_id_out_of_range_is_400_not_500(org, objective_id):
    """Found by schemathesis: an id past 64 bits reached the database's IN (...) and failed there (a 500)."""
    draft = ContractFactory(person=org.alice, objectives=[ObjectiveFactory(owner_person=org.alice)])
    response = api(org.mike).patch(f"/api/v1/goals/contracts/{draft.pk}/",
                                   {"objectives": [{"objective": objective_id, "weight": 100}]}, format="json")
    assert response.status_code == 400
    assert list(response.json()["objectives"]["0"]) == ["objective"]
