"""Objective API (/api/v1/goals/objectives/): visibility (404), create, edit drafts, steps, revise, SMART."""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from goals import services
from goals.models import Objective
from scorecard.models import Kpi
from tests.base import make_person

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
LIST = "/api/v1/goals/objectives/"


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def objective(org, owner, status=Objective.Status.DRAFT, **overrides):
    values = dict(
        owner=owner, period_start=Q3[0], period_end=Q3[1], title=f"FCR of {owner.code}",
        result="Resolve more contacts at first touch", kind="kpi", kpi=Kpi.objects.get(code="fcr"),
        baseline=70, target=74, stretch=78, resources="Coaching", weight=30, due_date=Q3[1], status=status,
    )
    values.update(overrides)
    return services.objective_create(user=org.dirk, **values)


def payload(owner="ALICE", **overrides):
    data = {
        "owner": owner, "period_start": "2026-07-01", "period_end": "2026-09-30", "title": "FCR up",
        "result": "Resolve more at first touch", "kind": "kpi", "kpi": "fcr", "baseline": 70, "target": 74,
        "stretch": 78, "resources": "Coaching", "weight": 30, "due_date": "2026-09-30",
    }
    data.update(overrides)
    return data


def test_urls_are_mounted_under_the_goals_api():
    assert reverse("api-objective-list") == LIST
    assert reverse("api-objective-smart-check") == LIST + "smart-check/"


def test_list_returns_only_visible_objectives(api, org):
    objective(org, org.alice)
    objective(org, org.bob)
    objective(org, org.carl)

    codes = {o["owner"] for o in as_user(api, org.alice).get(LIST).json()["results"]}
    assert codes == {"ALICE"}
    codes = {o["owner"] for o in as_user(api, org.mike).get(LIST).json()["results"]}
    assert codes == {"ALICE", "BOB"}
    assert as_user(api, org.olga).get(LIST).json()["results"] == []


def test_list_filters(api, org):
    objective(org, org.alice)
    objective(org, org.t1, kind="milestone", kpi=None, completion_criterion="x", verification="y")
    objective(org, org.bob, status=Objective.Status.PROPOSED, period_start=dt.date(2026, 4, 1),
              period_end=dt.date(2026, 6, 30), due_date=dt.date(2026, 6, 30))
    as_user(api, org.dirk)

    def owners(**params):
        return sorted(o["owner"] for o in api.get(LIST, params).json()["results"])

    assert owners(owner="T1") == ["T1"]
    assert owners(kind="milestone") == ["T1"]
    assert owners(status="proposed") == ["BOB"]
    assert owners(kpi="fcr") == ["ALICE", "BOB"]
    assert owners(perspective="customer") == ["ALICE", "BOB"]
    assert owners(period_start="2026-07-01", period_end="2026-09-30") == ["ALICE", "T1"]


def test_list_query_count_stays_constant(api, org):
    objective(org, org.alice)
    as_user(api, org.mike)
    api.get(LIST)
    with CaptureQueriesContext(connection) as small:
        api.get(LIST)
    for i in range(8):
        objective(org, make_person(f"A{i}", f"Agent {i}", org.t1, "agent", org.mike))
    with CaptureQueriesContext(connection) as large:
        data = api.get(LIST).json()
    # Expect 2 queries: count and page (owners, units, KPIs and perspectives joined in).
    assert len(large) == len(small) <= 3
    assert data["count"] == 9


@pytest.mark.parametrize("user", ["bob", "carl", "olga"])
def test_detail_and_actions_answer_404_outside_the_view(api, org, user):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    as_user(api, getattr(org, user))
    url = reverse("api-objective-detail", args=[o.pk])

    assert api.get(url).status_code == 404
    assert api.patch(url, {"target": 75}, format="json").status_code == 404
    assert api.post(reverse("api-objective-transition", args=[o.pk]), {"action": "agree"}).status_code == 404
    assert api.post(reverse("api-objective-revise", args=[o.pk]), {"reason": "x", "target": 73}).status_code == 404


def test_agent_creates_and_proposes_their_objective(api, org):
    response = as_user(api, org.alice).post(LIST, payload(status="proposed"), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["owner"], data["status"], data["kpi"], data["perspective"]) == ("ALICE", "proposed", "fcr", "customer")
    assert data["actions"] == []


@pytest.mark.parametrize("overrides, field", [
    ({"owner": "BOB"}, "owner"),
    ({"owner": "NOBODY"}, "owner"),
    ({"weight": 101}, "weight"),
    ({"target": 65}, "target"),
    ({"due_date": "2026-12-01"}, "due_date"),
    ({"kpi": "nope"}, "kpi"),
    ({"parent": 999999}, "parent"),
])
def test_bad_input_answers_400_and_saves_nothing(api, org, overrides, field):
    response = as_user(api, org.alice).post(LIST, payload(**overrides), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Objective.objects.exists()


def test_a_cycle_in_parent_links_answers_400(api, org):
    mikes = objective(org, org.mike)
    alices = objective(org, org.alice, parent=mikes)

    response = as_user(api, org.dana).patch(reverse("api-objective-detail", args=[mikes.pk]),
                                            {"parent": alices.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["parent"] == [str(services.PARENT_CYCLE)]


def test_draft_is_updated_but_agreed_is_not(api, org):
    o = objective(org, org.alice)
    url = reverse("api-objective-detail", args=[o.pk])
    as_user(api, org.mike)

    assert api.patch(url, {"target": 75}, format="json").json()["target"] == 75
    services.objective_transition(user=org.mike, objective=o, action="propose")
    response = api.patch(url, {"target": 76}, format="json")
    assert response.status_code == 400 and "status" in response.json()


def test_transition_by_the_right_and_the_wrong_person(api, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    url = reverse("api-objective-transition", args=[o.pk])

    response = as_user(api, org.alice).post(url, {"action": "agree"}, format="json")
    assert response.status_code == 400 and response.json()["action"] == [str(services.NOT_MANAGER)]

    response = as_user(api, org.mike).post(url, {"action": "return", "comment": "Aim higher"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "draft"

    response = api.post(url, {"action": "agree"}, format="json")
    assert response.status_code == 400  # a draft is not agreed


def test_revise_through_the_api(api, org, django_capture_on_commit_callbacks):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    services.objective_transition(user=org.mike, objective=o, action="agree")
    url = reverse("api-objective-revise", args=[o.pk])
    as_user(api, org.mike)

    assert api.post(url, {"reason": "", "target": 73}, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, {"reason": "Queue merged", "target": 73}, format="json")

    assert response.status_code == 200 and response.json()["target"] == 73
    assert len(mail.outbox) == 1


def test_smart_check_returns_the_letters_without_saving(api, org):
    response = as_user(api, org.alice).post(
        reverse("api-objective-smart-check"),
        {"owner": "ALICE", "title": "Improve sales conversion within 2 months", "result": "Improve sales conversion",
         "kind": "kpi", "kpi": "conversion_rate", "period_start": "2026-07-01", "period_end": "2026-08-31",
         "due_date": "2026-08-31"},
        format="json",
    )

    assert response.status_code == 200
    by_letter = {r["letter"]: r for r in response.json()}
    assert by_letter["M"]["status"] == "fail" and by_letter["M"]["blocks"]
    assert by_letter["T"]["status"] == "pass"
    assert not Objective.objects.exists()


def test_anonymous_callers_are_refused(api, db):
    assert api.get(LIST).status_code in (401, 403)
