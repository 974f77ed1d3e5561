"""The appraisal API: retrieve, self-assessment, manager appraisal, interview, acknowledgement, my list."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from reviews import appraisals as svc
from reviews.models import Appraisal, Competency, ReviewCycle
from tests.factories import put
from tests.reviews.test_self_assessment import make_appraisal, ratings

pytestmark = pytest.mark.django_db
BASE = "/api/v1/reviews/appraisals"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_retrieve_is_404_for_who_must_not_see(org):
    a = make_appraisal(org)
    for user in (org.bob, org.olga):
        assert api(user).get(f"{BASE}/{a.pk}/").status_code == 404
        assert api(user).patch(f"{BASE}/{a.pk}/self/", {}, format="json").status_code == 404
    for user in (org.alice, org.mike, org.hana):
        assert api(user).get(f"{BASE}/{a.pk}/").status_code == 200


def test_retrieve_prefills_actual_and_system_score(org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)
    a = make_appraisal(org)
    data = api(org.alice).get(f"{BASE}/{a.pk}/").json()
    fcr = next(o for o in data["objectives"] if o["objective_id"] == 101)
    assert fcr["actual"] == pytest.approx(76) and fcr["system_score"] == pytest.approx(90)


def test_self_assessment_patch_then_submit(org):
    a = make_appraisal(org)
    client = api(org.alice)
    body = {"objectives": [{"objective_id": 101, "self_rating": 85, "self_comment": "ok"},
                           {"objective_id": 102, "self_rating": "A"}],
            "achievements": "Trained two agents."}
    response = client.patch(f"{BASE}/{a.pk}/self/", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["self_status"] == "draft"
    assert ratings(a)[102].self_rating == 95.0
    # The manager does not see the draft.
    assert api(org.mike).get(f"{BASE}/{a.pk}/").json()["achievements"] == ""
    response = client.post(f"{BASE}/{a.pk}/self/submit/", {}, format="json")
    assert response.status_code == 200 and response.json()["self_status"] == "submitted"
    assert api(org.mike).get(f"{BASE}/{a.pk}/").json()["achievements"] == "Trained two agents."
    assert client.patch(f"{BASE}/{a.pk}/self/", {"achievements": "x"}, format="json").status_code == 400


def test_self_rating_out_of_range_is_400_and_nothing_saved(org):
    a = make_appraisal(org)
    body = {"objectives": [{"objective_id": 101, "self_rating": 50}, {"objective_id": 102, "self_rating": 101}],
            "achievements": "not saved"}
    response = api(org.alice).patch(f"{BASE}/{a.pk}/self/", body, format="json")
    assert response.status_code == 400
    assert "o102_self_rating" in response.json()
    a.refresh_from_db()
    assert a.achievements == "" and ratings(a)[101].self_rating is None


def test_a_late_self_assessment_is_submitted_through_the_api_and_refused_once_the_manager_submitted(org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.FEEDBACK, self_due_days=-1)
    body = {"objectives": [{"objective_id": 101, "self_rating": 80}, {"objective_id": 102, "self_rating": "B"}],
            "achievements": "Late, after the reminder."}
    response = api(org.alice).post(f"{BASE}/{a.pk}/self/submit/", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["self_status"] == "submitted"
    a.refresh_from_db()
    assert a.self_submitted_at > a.cycle.self_assessment_due
    assert api(org.mike).patch(f"{BASE}/{a.pk}/self/", {"achievements": "x"}, format="json").status_code == 403

    b = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL, person=org.bob, self_due_days=-1)
    Appraisal.objects.filter(pk=b.pk).update(manager_status=Appraisal.Part.SUBMITTED)
    response = api(org.bob).patch(f"{BASE}/{b.pk}/self/", {"achievements": "too late"}, format="json")
    assert response.status_code == 400
    assert response.json()["__all__"] == [str(svc.SELF_AFTER_MANAGER)]
    b.refresh_from_db()
    assert b.achievements == ""


def test_a_late_manager_appraisal_is_submitted_through_the_api_in_calibration_not_once_closing(org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.CALIBRATION, self_due_days=-10, appraisal_due_days=-1)
    body = {"competencies": [{"code": c.code, "score": 3} for c in Competency.objects.filter(active=True)],
            "manager_comments": "Written late."}
    response = api(org.mike).post(f"{BASE}/{a.pk}/manager/submit/", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["manager_status"] == "submitted" and response.json()["proposed_grade"]
    a.refresh_from_db()
    assert a.manager_submitted_at > a.cycle.appraisal_due

    b = make_appraisal(org, phase=ReviewCycle.Phase.CLOSING, person=org.bob, appraisal_due_days=-1)
    response = api(org.mike).patch(f"{BASE}/{b.pk}/manager/", {"manager_comments": "x"}, format="json")
    assert response.status_code == 400 and response.json()["__all__"] == [str(svc.CLOSED)]
    b.refresh_from_db()
    assert b.manager_comments == "" and b.manager_status == Appraisal.Part.PENDING


def test_manager_patch_submit_interview_and_acknowledge(org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL)
    mike = api(org.mike)
    body = {"objectives": [{"objective_id": 102, "manager_rating": 70, "manager_comment": "FAQ late"}],
            "competencies": [{"code": c.code, "score": 4} for c in Competency.objects.filter(active=True)],
            "manager_comments": "Solid."}
    response = mike.patch(f"{BASE}/{a.pk}/manager/", body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["overall_score"] == pytest.approx(81.4) and data["proposed_grade"] == "B"
    assert data["outcome"] == "Bonus 10%"
    # The appraisee does not see the draft.
    assert api(org.alice).get(f"{BASE}/{a.pk}/").json()["proposed_grade"] == ""
    bad = mike.patch(f"{BASE}/{a.pk}/manager/", {"competencies": [{"code": "communication", "score": 9}]},
                     format="json")
    assert bad.status_code == 400 and "c_communication_score" in bad.json()
    assert api(org.alice).post(f"{BASE}/{a.pk}/manager/submit/", {}, format="json").status_code == 403
    assert api(org.alice).post(f"{BASE}/{a.pk}/acknowledge/", {}, format="json").status_code == 400
    response = mike.post(f"{BASE}/{a.pk}/manager/submit/", {}, format="json")
    assert response.status_code == 200 and response.json()["manager_status"] == "submitted"
    interview = {"interview_at": "2026-10-05T10:00:00Z", "interview_notes": "Talked.",
                 "next_objectives": [{"title": "FCR to 75%", "kpi": "fcr", "baseline": 70, "target": 75,
                                      "stretch": 80}]}
    response = mike.post(f"{BASE}/{a.pk}/interview/", interview, format="json")
    assert response.status_code == 200, response.json()
    response = mike.post(f"{BASE}/{a.pk}/next-objectives/", format="json")
    assert response.status_code == 200
    assert response.json()["next_objectives"][0]["objective_id"]
    response = api(org.alice).post(f"{BASE}/{a.pk}/acknowledge/", {"disagreement": "Too strict."}, format="json")
    assert response.status_code == 200 and response.json()["acknowledged_at"]
    assert api(org.hana).get(f"{BASE}/{a.pk}/").json()["disagreement"] == "Too strict."
    assert Appraisal.objects.get(pk=a.pk).disagreement == "Too strict."


def test_my_appraisals(org):
    a = make_appraisal(org)
    b = make_appraisal(org, person=org.bob)
    rows = api(org.mike).get(f"{BASE}/my/").json()
    assert {(r["id"], r["relation"]) for r in rows} == {(a.pk, "appraise"), (b.pk, "appraise")}
    rows = api(org.alice).get(f"{BASE}/my/").json()
    assert [(r["id"], r["relation"]) for r in rows] == [(a.pk, "own")]
