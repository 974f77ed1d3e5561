"""API of review cycles: list and read (visible only), create, PATCH, launch, completion, appraisals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from reviews import services
from reviews.models import Appraisal, ReviewCycle
from tests.base import make_person
from tests.reviews.test_cycles import deadlines, make_cycle

BASE = "/api/v1/reviews/cycles/"


def api(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


def payload(**overrides) -> dict:
    d = deadlines()
    data = {
        "name": "Q3 2026 appraisal", "period_start": "2026-07-01", "period_end": "2026-09-30", "units": ["D1"],
        **{k: v.isoformat() for k, v in d.items()},
        "gate_rule": {"measure": "qa_fatal_errors", "above": 0, "cap": "D"}, "guideline": {"A": 10},
    }
    data.update(overrides)
    return data


def launched(org, **overrides) -> ReviewCycle:
    cycle = make_cycle(org, **overrides)
    services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    return cycle


def test_hr_creates_a_cycle_with_the_default_scale(org):
    response = api(org.hana).post(BASE, payload(), format="json")
    assert response.status_code == 201, response.data
    body = response.json()
    assert body["phase"] == "draft" and body["units"] == ["D1"]
    assert [g["grade"] for g in body["scale"]] == ["A", "B", "C", "D", "E"]
    assert (body["weight_objectives"], body["weight_competencies"], body["weight_feedback"]) == (70, 30, 0)
    assert body["gate_rule"] == {"measure": "qa_fatal_errors", "above": 0.0, "cap": "D"}


def test_bad_settings_answer_400_by_field_and_save_nothing(org):
    response = api(org.hana).post(BASE, payload(weight_objectives=50, units=["D1", "NOPE"]), format="json")
    assert response.status_code == 400
    assert "NOPE" in response.json()["units"][0]
    response = api(org.hana).post(BASE, payload(weight_objectives=50), format="json")
    assert response.status_code == 400
    assert response.json()["weights"] == [str(services.WEIGHTS_NOT_100 % {"total": "80"})]
    scale = [{"grade": "A", "label": "Top", "min": 50, "max": 100}, {"grade": "B", "label": "", "min": 0, "max": 40}]
    response = api(org.hana).post(BASE, payload(scale=scale, gate_rule=None, guideline=None), format="json")
    assert response.status_code == 400
    assert set(response.json()["scale"]) == {
        str(services.SCALE_LABEL_REQUIRED % {"grade": "B"}), str(services.SCALE_GAP % {"start": "40", "end": "50"}),
    }
    assert not ReviewCycle.objects.exists()


def test_a_manager_cannot_create_a_cycle(org):
    assert api(org.mike).post(BASE, payload(), format="json").status_code == 403
    assert not ReviewCycle.objects.exists()


def test_cycles_listed_are_the_visible_ones(org):
    make_cycle(org, name="Draft")
    launched(org, name="Launched")
    names = lambda who: [c["name"] for c in api(who).get(BASE).json()["results"]]  # noqa: E731
    assert sorted(names(org.hana)) == ["Draft", "Launched"]
    assert names(org.mike) == ["Launched"]
    assert names(org.alice) == ["Launched"]
    assert names(org.olga) == []


def test_a_cycle_outside_view_answers_404(org):
    cycle = launched(org)
    assert api(org.olga).get(f"{BASE}{cycle.pk}/").status_code == 404
    assert api(org.mike).get(f"{BASE}{cycle.pk}/").status_code == 200
    assert api(org.olga).get(f"{BASE}{cycle.pk}/completion/").status_code == 404
    assert api(org.olga).get(f"{BASE}{cycle.pk}/appraisals/").status_code == 404


def test_patch_a_draft_and_frozen_settings_after_launch(org):
    cycle = make_cycle(org)
    url = f"{BASE}{cycle.pk}/"
    response = api(org.hana).patch(url, {"name": "Renamed", "weight_objectives": 80, "weight_competencies": 20}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Renamed"
    assert api(org.mike).patch(url, {"name": "Mine"}, format="json").status_code == 404
    services.cycle_launch(user=org.hana, cycle=cycle)
    response = api(org.hana).patch(url, {"weight_objectives": 70, "weight_competencies": 30}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"weight_objectives", "weight_competencies"}
    later = (cycle.calibration_due + dt.timedelta(days=1)).isoformat()
    response = api(org.hana).patch(url, {"calibration_due": later}, format="json")
    assert response.status_code == 200
    earlier = (cycle.self_assessment_due - dt.timedelta(days=1)).isoformat()
    assert api(org.hana).patch(url, {"self_assessment_due": earlier}, format="json").status_code == 400


def test_launch_then_launch_again(org):
    cycle = make_cycle(org)
    url = f"{BASE}{cycle.pk}/launch/"
    assert api(org.mike).post(url).status_code == 404
    response = api(org.hana).post(url)
    assert response.status_code == 200
    assert response.json()["created"] == 5 and response.json()["cycle"]["phase"] == "self_assessment"
    again = api(org.hana).post(url)
    assert again.status_code == 400 and again.json() == {"phase": [str(services.ALREADY_LAUNCHED)]}


def test_completion_and_late_list(org):
    cycle = launched(org, **deadlines(timezone.now() - dt.timedelta(days=20), step_days=5))
    Appraisal.objects.filter(cycle=cycle, person=org.alice).update(self_status=Appraisal.Part.SUBMITTED)
    body = api(org.hana).get(f"{BASE}{cycle.pk}/completion/").json()
    t1 = next(u for u in body["units"] if u["unit"] == "T1")
    assert (t1["participants"], t1["self_submitted"], t1["self_late"]) == (3, 1, 2)
    assert body["total"]["participants"] == 5 and body["self_overdue"] is True
    assert [p["person"] for p in body["late"]["self_assessment"]] == ["DANA", "BOB", "MIKE", "CARL"]
    bob = body["late"]["self_assessment"][1]
    assert (bob["unit"], bob["manager"], bob["person_name"]) == ("T1", "MIKE", "Bob Peer")
    mike_view = api(org.mike).get(f"{BASE}{cycle.pk}/completion/").json()
    assert [u["unit"] for u in mike_view["units"]] == ["T1"]


def test_appraisals_of_a_cycle_visible_only(org):
    cycle = launched(org)
    rows = api(org.hana).get(f"{BASE}{cycle.pk}/appraisals/").json()
    assert rows["count"] == 5
    alice = next(r for r in rows["results"] if r["person"] == "ALICE")
    assert {k: alice[k] for k in ("person_name", "unit", "manager", "status", "self_status", "manager_status", "grade")} == {
        "person_name": "Alice Agent", "unit": "T1", "manager": "MIKE", "status": "open", "self_status": "pending",
        "manager_status": "pending", "grade": "",
    }
    mike = api(org.mike).get(f"{BASE}{cycle.pk}/appraisals/").json()
    assert sorted(r["person"] for r in mike["results"]) == ["ALICE", "BOB", "MIKE"]
    alice_view = api(org.alice).get(f"{BASE}{cycle.pk}/appraisals/").json()
    assert [r["person"] for r in alice_view["results"]] == ["ALICE"]
    page = api(org.hana).get(f"{BASE}{cycle.pk}/appraisals/?limit=2").json()
    assert len(page["results"]) == 2 and page["next"]


@pytest.mark.parametrize("path", ["appraisals/", "completion/", ""])
def test_cycle_endpoints_take_constant_queries(org, django_assert_max_num_queries, path):
    client = api(org.hana)
    few = launched(org, name="Few")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"{BASE}{few.pk}/{path}").status_code == 200
    for i in range(30):
        make_person(f"A{i:03d}", f"Agent {i}", org.t2, "agent", org.dana)
    many = launched(org, name="Many")
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        assert client.get(f"{BASE}{many.pk}/{path}").status_code == 200


def test_schema_documents_the_cycle_endpoints(org):
    response = api(org.hana).get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/v1/reviews/cycles/", "/api/v1/reviews/cycles/{id}/launch/", "/api/v1/reviews/cycles/{id}/completion/"):
        assert path in text
