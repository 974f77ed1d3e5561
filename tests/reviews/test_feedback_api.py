"""API of 360 feedback (reviews.feedback_apis): raters' requests and answers, customer links, arranging, results.

The cycle covers department D1 and is launched with services.cycle_launch,
which suggests the raters: everyone rates themselves, Mike rates Alice and
Bob as their supervisor, Dana rates Mike and Carl; Alice and Bob are each
other's peer and Mike's subordinates (those wait for approval). Carl (T2)
must see nothing of Alice's appraisal, Bob nothing of a request addressed
to Mike, and nobody which anonymous rater answered, or when.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from reviews import feedback, feedback_apis, questionnaires, services
from reviews.models import Appraisal, FeedbackRequest, FeedbackResponse, FeedbackTemplate, ReviewCycle
from scorecard.models import Person
from tests.base import make_person
from tests.reviews.test_cycles import deadlines, make_cycle

BASE = "/api/v1/reviews/"
Phase = ReviewCycle.Phase
R = FeedbackRequest.Relationship
S = FeedbackRequest.Status
CODES = ["communication", "interpersonal", "leadership", "administration", "customer_focus"]
# What a row about a rater may say: nothing about when it was asked, decided or answered.
ROW_KEYS = {"id", "relationship", "relationship_label", "rater_name", "rater_code", "email", "origin", "origin_label",
            "status", "status_label", "anonymous"}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """The customer link's throttle counts in the cache: each test starts with none."""
    cache.clear()


def api(person=None) -> APIClient:
    client = APIClient()
    if person is not None:
        client.force_authenticate(person)
    return client


def launched(org, **overrides) -> ReviewCycle:
    """A D1 cycle in its self-assessment phase, its 360 deadline a week away."""
    overrides.setdefault("units", [org.d1])
    cycle = make_cycle(org, **{**deadlines(timezone.now() + dt.timedelta(days=1)), **overrides})
    services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    return cycle


def appraisal_of(cycle, person) -> Appraisal:
    return Appraisal.objects.get(cycle=cycle, person=person)


def request_of(cycle, appraisee, rater) -> FeedbackRequest:
    return FeedbackRequest.objects.get(cycle=cycle, appraisal__person=appraisee, rater=rater)


def to_phase(cycle, phase) -> None:
    ReviewCycle.objects.filter(pk=cycle.pk).update(phase=phase)


def all_scores(score=4, comment="") -> dict:
    return {code: {"score": score, "comment": comment} for code in CODES}


def answer(rater, request, score=4, comment="", general="") -> None:
    """A rater submits through the service (the API's own tests are below)."""
    feedback.feedback_save(user=rater, request=request, answers=all_scores(score, comment), comment=general,
                           submit=True)


def keys_of(data) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in keys_of(v)}
    if isinstance(data, list):
        return {k for v in data for k in keys_of(v)}
    return set()


def mailed_token(address: str) -> str:
    """The token of the last link e-mailed to a customer: the only place a link goes."""
    [body] = [m.body for m in mail.outbox if m.to == [address]][-1:]
    return re.search(r"/feedback/t/([^/\s]+)/", body).group(1)


# ------------------------------------------------------------ the rater's list


def test_my_requests_are_those_addressed_to_me_and_open_or_answered(org):
    cycle = launched(org)
    body = api(org.mike).get(f"{BASE}feedback/requests/").json()
    assert body["count"] == 3  # his self-rating, Alice and Bob as supervisor; Dana's proposal not yet
    rows = {r["appraisee"]["employee_code"]: r for r in body["results"]}
    assert set(rows) == {"ALICE", "BOB", "MIKE"}
    alice = rows["ALICE"]
    assert alice["cycle"] == {"id": cycle.pk, "name": cycle.name,
                              "feedback_due": alice["cycle"]["feedback_due"]}
    assert dt.datetime.fromisoformat(alice["cycle"]["feedback_due"]) == cycle.feedback_due
    assert alice["appraisee"] == {"name": "Alice Agent", "employee_code": "ALICE", "unit": "T1"}
    assert (alice["relationship"], alice["status"], alice["anonymous"], alice["has_draft"]) == (
        "supervisor", "open", False, False,
    )
    bob = [r["relationship"] for r in api(org.bob).get(f"{BASE}feedback/requests/").json()["results"]]
    assert bob == ["self"]  # his peer request on Alice awaits Mike's approval


def test_my_requests_show_a_saved_draft(org):
    cycle = launched(org)
    row = request_of(cycle, org.alice, org.mike)
    feedback.feedback_save(user=org.mike, request=row, answers={"communication": {"score": 3}})
    rows = api(org.mike).get(f"{BASE}feedback/requests/").json()["results"]
    assert [r["has_draft"] for r in rows if r["id"] == row.pk] == [True]


def test_my_requests_take_constant_queries(org, django_assert_max_num_queries):
    client = api(org.mike)
    launched(org, name="Few")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"{BASE}feedback/requests/").json()["count"] == 3
    for i in range(20):
        make_person(f"A{i:03d}", f"Agent {i}", org.t1, "agent", org.mike)
    launched(org, name="Many")
    # Expect 2: the count and the page with cycles, appraisees and units joined.
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        assert client.get(f"{BASE}feedback/requests/").json()["count"] == 3 + 23


# ------------------------------------------------------ answering a request


def test_rater_reads_the_questionnaire_and_saves_a_draft(org):
    cycle = launched(org)
    row = request_of(cycle, org.alice, org.mike)
    url = f"{BASE}feedback/requests/{row.pk}/"
    body = api(org.mike).get(url).json()
    assert [q["code"] for q in body["questionnaire"]] == CODES
    assert body["questionnaire"][0]["name"] == "Communication"
    assert body["draft"] == {"answers": {}, "comment": ""}
    assert (body["can_answer"], body["message"], body["notice"]) == (True, None, str(feedback_apis.NAMED_NOTICE))
    zh = api(org.mike).get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert zh["questionnaire"][0]["name"] == "沟通能力"

    response = api(org.mike).patch(url, {"answers": {"communication": {"score": 4, "comment": "Clear"},
                                                     "leadership": {"score": None}},
                                         "comment": "Good quarter"}, format="json")
    assert response.status_code == 200, response.data
    assert response.json()["draft"] == {"answers": {"communication": {"score": 4, "comment": "Clear"},
                                                    "leadership": {}}, "comment": "Good quarter"}
    assert response.json()["status"] == "open" and response.json()["has_draft"] is True
    response = api(org.mike).patch(url, {"answers": {"interpersonal": {"score": "5"}}}, format="json")
    assert response.json()["draft"]["answers"]["interpersonal"] == {"score": 5}
    assert response.json()["draft"]["comment"] == "Good quarter", "fields left out keep the draft's"
    assert not FeedbackResponse.objects.exists()


def test_a_request_addressed_to_someone_else_answers_404(org):
    cycle = launched(org)
    row = request_of(cycle, org.alice, org.mike)
    for who in (org.bob, org.carl, org.alice, org.hana):
        client = api(who)
        assert client.get(f"{BASE}feedback/requests/{row.pk}/").status_code == 404
        assert client.patch(f"{BASE}feedback/requests/{row.pk}/", {"answers": all_scores()},
                            format="json").status_code == 404
        assert client.post(f"{BASE}feedback/requests/{row.pk}/submit/", {"answers": all_scores()},
                           format="json").status_code == 404
    assert api(org.mike).get(f"{BASE}feedback/requests/999999/").status_code == 404
    row.refresh_from_db()
    assert (row.status, row.draft) == (S.OPEN, {})


def test_a_request_awaiting_approval_is_not_the_raters_yet(org):
    cycle = launched(org)
    peer = request_of(cycle, org.alice, org.bob)
    assert api(org.bob).get(f"{BASE}feedback/requests/{peer.pk}/").status_code == 404


@pytest.mark.parametrize("answers, field, message", [
    ({"communication": {"score": 0}}, "communication_score", feedback.SCORE_RANGE),
    ({"communication": {"score": 6}}, "communication_score", feedback.SCORE_RANGE),
    ({"communication": {"score": "x"}}, "communication_score", feedback.SCORE_RANGE),
    ({"communication": {"score": 2.5}}, "communication_score", feedback.SCORE_RANGE),
    ({"nope": {"score": 3}}, "nope_score", feedback.UNKNOWN_COMPETENCY),
    ({"communication": {"score": 3, "comment": "x" * 4001}}, "communication_comment", None),
])
def test_bad_answers_answer_400_by_field_and_save_nothing(org, answers, field, message):
    cycle = launched(org)
    row = request_of(cycle, org.alice, org.mike)
    feedback.feedback_save(user=org.mike, request=row, answers={"leadership": {"score": 2}})
    for url in (f"{BASE}feedback/requests/{row.pk}/", f"{BASE}feedback/requests/{row.pk}/submit/"):
        method = api(org.mike).patch if url.endswith(f"{row.pk}/") else api(org.mike).post
        response = method(url, {"answers": {**answers, "interpersonal": {"score": 4}}}, format="json")
        assert response.status_code == 400
        assert field in response.json()
        if message:
            assert response.json()[field] == [str(message)]
    row.refresh_from_db()
    assert row.status == S.OPEN
    assert row.draft == {"answers": {"leadership": {"score": 2}}, "comment": ""}, "nothing half-saved"
    assert not FeedbackResponse.objects.exists()


def test_answers_of_the_wrong_shape_answer_400(org):
    cycle = launched(org)
    row = request_of(cycle, org.alice, org.mike)
    response = api(org.mike).patch(f"{BASE}feedback/requests/{row.pk}/", {"answers": ["communication"]},
                                   format="json")
    assert response.status_code == 400 and "answers" in response.json()


def test_submit_needs_every_competency_rated(org):
    cycle = launched(org)
    row = request_of(cycle, org.alice, org.mike)
    response = api(org.mike).post(f"{BASE}feedback/requests/{row.pk}/submit/",
                                  {"answers": {"communication": {"score": 4}}}, format="json")
    assert response.status_code == 400
    assert response.json() == {f"{c}_score": [str(feedback.SCORE_REQUIRED)] for c in CODES[1:]}
    row.refresh_from_db()
    assert (row.status, row.draft) == (S.OPEN, {})
    assert not FeedbackResponse.objects.exists()


def test_submit_is_final_and_a_second_submission_is_refused(org):
    cycle = launched(org)
    row = request_of(cycle, org.alice, org.mike)
    url = f"{BASE}feedback/requests/{row.pk}/"
    api(org.mike).patch(url, {"answers": all_scores(4, "Solid"), "comment": "Keep going"}, format="json")
    response = api(org.mike).post(f"{url}submit/", {}, format="json")  # the saved draft is what is submitted
    assert response.status_code == 200, response.data
    body = response.json()
    assert (body["status"], body["draft"], body["can_answer"], body["message"]) == (
        "submitted", None, False, str(feedback.ALREADY_ANSWERED),
    )
    again = api(org.mike).post(f"{url}submit/", {"answers": all_scores(5)}, format="json")
    assert again.status_code == 400 and again.json() == {"__all__": [str(feedback.ALREADY_ANSWERED)]}
    assert api(org.mike).patch(url, {"answers": all_scores(5)}, format="json").status_code == 400
    response = FeedbackResponse.objects.get()
    assert (response.relationship, response.request_id, response.comment) == ("supervisor", row.pk, "Keep going")
    assert sorted(response.answers.values_list("score", flat=True)) == [4] * 5


def test_answers_after_the_360_deadline_are_refused(org):
    cycle = launched(org)
    row = request_of(cycle, org.alice, org.mike)
    ReviewCycle.objects.filter(pk=cycle.pk).update(feedback_due=timezone.now() - dt.timedelta(minutes=1))
    body = api(org.mike).get(f"{BASE}feedback/requests/{row.pk}/").json()
    assert body["can_answer"] is False and "deadline" in body["message"]
    response = api(org.mike).post(f"{BASE}feedback/requests/{row.pk}/submit/", {"answers": all_scores()},
                                  format="json")
    assert response.status_code == 400 and "deadline" in response.json()["__all__"][0]
    assert not FeedbackResponse.objects.exists()


def test_an_anonymous_answer_keeps_no_link_to_its_rater(org):
    cycle = launched(org)
    peer = request_of(cycle, org.alice, org.bob)
    assert api(org.mike).post(f"{BASE}feedback/requests/{peer.pk}/decide/", {"approve": True},
                              format="json").status_code == 200
    body = api(org.bob).get(f"{BASE}feedback/requests/{peer.pk}/").json()
    assert body["anonymous"] is True
    assert body["notice"] == str(feedback_apis.ANONYMOUS_NOTICE % {"n": 3})
    response = api(org.bob).post(f"{BASE}feedback/requests/{peer.pk}/submit/", {"answers": all_scores(2)},
                                 format="json")
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    stored = FeedbackResponse.objects.get()
    assert (stored.relationship, stored.request_id) == ("peer", None)


# ------------------------------------------------------------------ deciding


def test_the_manager_approves_a_suggested_peer(org):
    cycle = launched(org)
    peer = request_of(cycle, org.alice, org.bob)
    response = api(org.mike).post(f"{BASE}feedback/requests/{peer.pk}/decide/", {"approve": True}, format="json")
    assert response.status_code == 200, response.data
    assert response.json() == {
        "id": None, "relationship": "peer", "relationship_label": "Peer", "rater_name": "Bob Peer",
        "rater_code": "BOB", "origin": "suggested", "origin_label": "Suggested", "status": "asked",
        "status_label": "Asked", "anonymous": True, "email": "",
    }
    peer.refresh_from_db()
    assert (peer.status, peer.decided_by) == (S.OPEN, org.mike)
    again = api(org.mike).post(f"{BASE}feedback/requests/{peer.pk}/decide/", {"approve": False}, format="json")
    assert again.status_code == 400 and again.json() == {"__all__": [str(feedback.NOT_PROPOSED)]}


def test_a_rejected_request_is_shown_as_rejected(org):
    cycle = launched(org)
    peer = request_of(cycle, org.alice, org.bob)
    response = api(org.dana).post(f"{BASE}feedback/requests/{peer.pk}/decide/", {"approve": False}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["id"]) == ("rejected", None)
    assert FeedbackRequest.objects.get(pk=peer.pk).status == S.REJECTED


def test_deciding_answers_404_to_who_cannot_see_the_appraisal_and_403_to_the_appraisee(org):
    cycle = launched(org)
    peer = request_of(cycle, org.alice, org.bob)
    url = f"{BASE}feedback/requests/{peer.pk}/decide/"
    assert api(org.carl).post(url, {"approve": True}, format="json").status_code == 404
    assert api(org.olga).post(url, {"approve": True}, format="json").status_code == 404
    assert api(org.bob).post(url, {"approve": True}, format="json").status_code == 404
    response = api(org.alice).post(url, {"approve": True}, format="json")
    assert response.status_code == 403 and response.json()["detail"] == str(feedback.NOT_ARRANGER)
    bad = api(org.mike).post(url, {"approve": "perhaps"}, format="json")
    assert bad.status_code == 400 and "approve" in bad.json()
    assert FeedbackRequest.objects.get(pk=peer.pk).status == S.PROPOSED


def test_approving_respects_the_per_rater_limit(org):
    cycle = launched(org)
    ReviewCycle.objects.filter(pk=cycle.pk).update(max_requests_per_rater=1)
    peer = request_of(cycle, org.alice, org.bob)  # Bob is also proposed as Mike's subordinate
    response = api(org.mike).post(f"{BASE}feedback/requests/{peer.pk}/decide/", {"approve": True}, format="json")
    assert response.status_code == 400
    assert response.json() == {"__all__": [str(feedback.RATER_LIMIT % {"name": "Bob Peer", "n": 1})]}
    assert FeedbackRequest.objects.get(pk=peer.pk).status == S.PROPOSED


# ---------------------------------------------------- an appraisal's raters


def test_appraisal_rows_mask_anonymous_raters_and_keep_no_time_order(org):
    cycle = launched(org)
    peer = request_of(cycle, org.alice, org.bob)
    feedback.feedback_request_decide(user=org.mike, request=peer, approve=True)
    answer(org.bob, peer)
    answer(org.mike, request_of(cycle, org.alice, org.mike))
    url = f"{BASE}appraisals/{appraisal_of(cycle, org.alice).pk}/feedback/requests/"
    for who in (org.alice, org.mike, org.dana, org.hana):
        rows = api(who).get(url).json()
        assert all(set(r) == ROW_KEYS for r in rows)
        assert [(r["relationship"], r["rater_code"], r["status"], r["id"]) for r in rows] == [
            ("self", "ALICE", "open", None), ("supervisor", "MIKE", "submitted", None), ("peer", "BOB", "asked", None),
        ]


def test_only_requests_awaiting_approval_carry_their_id(org):
    cycle = launched(org)
    rows = api(org.mike).get(f"{BASE}appraisals/{appraisal_of(cycle, org.alice).pk}/feedback/requests/").json()
    assert [r["id"] for r in rows] == [None, None, request_of(cycle, org.alice, org.bob).pk]


def test_the_appraisee_nominates_and_the_manager_adds(org, django_capture_on_commit_callbacks):
    cycle = launched(org)
    url = f"{BASE}appraisals/{appraisal_of(cycle, org.alice).pk}/feedback/requests/"
    response = api(org.alice).post(url, {"relationship": "peer", "rater": "carl"}, format="json")
    assert response.status_code == 201, response.data
    nominated = request_of(cycle, org.alice, org.carl)
    assert response.json() == {
        "id": nominated.pk, "relationship": "peer", "relationship_label": "Peer", "rater_name": "Carl Two",
        "rater_code": "CARL", "origin": "nominated", "origin_label": "Nominated by the appraisee",
        "status": "proposed", "status_label": "Awaiting approval", "anonymous": True, "email": "",
    }
    response = api(org.alice).post(url, {"relationship": "customer", "external_name": "Acme buyer",
                                         "external_email": "buyer@acme.test"}, format="json")
    assert (response.status_code, response.json()["status"]) == (201, "proposed")
    assert response.json()["email"] == "", "the appraisee is not an arranger"
    assert "link" not in response.json()

    response = api(org.mike).post(url, {"relationship": "matrix", "rater": "OLGA"}, format="json")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["origin"], response.json()["id"]) == ("open", "added", None)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(org.mike).post(url, {"relationship": "customer", "external_name": "Zed Client",
                                            "external_email": "zed@client.test"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["rater_name"], body["rater_code"], body["email"]) == (
        "asked", "Zed Client", "", "zed@client.test")
    assert "link" not in body and "/feedback/t/" not in response.content.decode(), "the link goes to the customer only"
    customer = FeedbackRequest.objects.get(appraisal__person=org.alice, external_name="Zed Client")
    assert customer.token_hash == feedback.token_hash(mailed_token("zed@client.test")), "only the hash is kept"
    rows = api(org.mike).get(url).json()
    assert all("link" not in r for r in rows)


@pytest.mark.parametrize("who, data, field, message", [
    ("alice", {"relationship": "peer", "rater": "NOBODY"}, "rater", feedback.RATER_UNKNOWN),
    ("alice", {"relationship": "peer", "rater": ""}, "rater", feedback.RATER_REQUIRED),
    ("alice", {"relationship": "peer", "rater": "ALICE"}, "rater",
     feedback.RATER_IS_APPRAISEE % {"relationship": "peer"}),
    ("mike", {"relationship": "peer", "rater": "BOB"}, "rater", feedback.RATER_ALREADY % {"name": "Bob Peer"}),
    ("alice", {"relationship": "subordinate", "rater": "CARL"}, "relationship", feedback.RELATIONSHIP_NOT_ALLOWED),
    ("mike", {"relationship": "self", "rater": "CARL"}, "relationship", feedback.RELATIONSHIP_NOT_ALLOWED),
    ("alice", {"relationship": "customer", "external_name": " ", "external_email": "a@client.test"}, "external_name",
     feedback.CUSTOMER_NAME_REQUIRED),
    ("alice", {"relationship": "customer", "external_name": "X"}, "external_email", feedback.CUSTOMER_EMAIL_REQUIRED),
    ("mike", {"relationship": "customer", "external_name": "X", "external_email": "not-an-email"}, "external_email",
     feedback.CUSTOMER_EMAIL_INVALID),
    ("mike", {"relationship": "friend", "rater": "CARL"}, "relationship", None),
])
def test_bad_nominations_answer_400_by_field_and_add_nothing(org, who, data, field, message):
    cycle = launched(org)
    before = FeedbackRequest.objects.count()
    response = api(getattr(org, who)).post(
        f"{BASE}appraisals/{appraisal_of(cycle, org.alice).pk}/feedback/requests/", data, format="json",
    )
    assert response.status_code == 400
    assert field in response.json()
    if message:
        assert response.json()[field] == [str(message)]
    assert FeedbackRequest.objects.count() == before


def test_a_rater_over_the_limit_cannot_be_added(org):
    cycle = launched(org)
    ReviewCycle.objects.filter(pk=cycle.pk).update(max_requests_per_rater=2)
    # Bob is proposed as Alice's peer and Mike's subordinate: two already.
    response = api(org.hana).post(f"{BASE}appraisals/{appraisal_of(cycle, org.carl).pk}/feedback/requests/",
                                  {"relationship": "peer", "rater": "BOB"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"rater": [str(feedback.RATER_LIMIT % {"name": "Bob Peer", "n": 2})]}
    assert not FeedbackRequest.objects.filter(appraisal__person=org.carl, rater=org.bob).exists()


def test_appraisal_feedback_answers_404_to_who_cannot_see_it(org):
    cycle = launched(org)
    pk = appraisal_of(cycle, org.alice).pk
    for who in (org.carl, org.bob, org.olga):
        client = api(who)
        assert client.get(f"{BASE}appraisals/{pk}/feedback/requests/").status_code == 404
        assert client.post(f"{BASE}appraisals/{pk}/feedback/requests/", {"relationship": "peer", "rater": "CARL"},
                           format="json").status_code == 404
        assert client.post(f"{BASE}appraisals/{pk}/feedback/approve-all/").status_code == 404
        assert client.get(f"{BASE}appraisals/{pk}/feedback/results/").status_code == 404
    assert api(org.hana).get(f"{BASE}appraisals/999999/feedback/requests/").status_code == 404
    assert not FeedbackRequest.objects.filter(appraisal_id=pk, rater=org.carl).exists()


def test_appraisal_rows_take_constant_queries(org, django_assert_max_num_queries, settings):
    settings.FEEDBACK_MAX_CUSTOMERS = 15
    cycle = launched(org)
    appraisal = appraisal_of(cycle, org.alice)
    url = f"{BASE}appraisals/{appraisal.pk}/feedback/requests/"
    client = api(org.mike)
    with CaptureQueriesContext(connection) as ctx:
        assert len(client.get(url).json()) == 3
    for i in range(15):
        feedback.feedback_request_add(user=org.mike, appraisal=appraisal, relationship=R.CUSTOMER,
                                      external_name=f"Customer {i}", external_email=f"c{i}@client.test")
    for i in range(10):
        make_person(f"M{i:03d}", f"Matrix {i}", org.t2, "agent", org.dana)
        feedback.feedback_request_add(user=org.mike, appraisal=appraisal, relationship=R.MATRIX, rater_code=f"M{i:03d}")
    # Expect: the appraisal (with its cycle, person, unit, manager), Mike's unit, the requests with their raters.
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        assert len(client.get(url).json()) == 28


# ---------------------------------------------------------------- approve all


def test_approve_all_opens_every_request_awaiting_approval(org):
    cycle = launched(org)
    appraisal = appraisal_of(cycle, org.alice)
    feedback.feedback_request_add(user=org.alice, appraisal=appraisal, relationship=R.CUSTOMER,
                                  external_name="Acme buyer", external_email="buyer@acme.test")
    url = f"{BASE}appraisals/{appraisal.pk}/feedback/approve-all/"
    assert api(org.alice).post(url).status_code == 403
    response = api(org.mike).post(url)
    assert response.status_code == 200, response.data
    rows = response.json()
    assert [(r["relationship"], r["rater_name"], r["status"]) for r in rows] == [
        ("peer", "Bob Peer", "asked"), ("customer", "Acme buyer", "asked"),
    ]
    assert "/feedback/t/" not in response.content.decode()
    assert rows[1]["email"] == "buyer@acme.test", "the arranger sees where the link goes"
    assert not FeedbackRequest.objects.filter(appraisal=appraisal, status=S.PROPOSED).exists()
    again = api(org.mike).post(url)
    assert again.status_code == 400 and again.json() == {"__all__": [str(feedback.NOTHING_TO_APPROVE)]}


def test_approve_all_respects_the_limit_and_then_approves_nothing(org):
    cycle = launched(org)
    alice, bob = appraisal_of(cycle, org.alice), appraisal_of(cycle, org.bob)
    feedback.feedback_request_decide(user=org.dana, request=request_of(cycle, org.mike, org.bob), approve=False)
    feedback.feedback_request_add(user=org.alice, appraisal=alice, relationship=R.PEER, rater_code="CARL")
    feedback.feedback_request_add(user=org.hana, appraisal=bob, relationship=R.PEER, rater_code="CARL")
    ReviewCycle.objects.filter(pk=cycle.pk).update(max_requests_per_rater=1)
    # Bob's approval passes (his other request was rejected); Carl's is refused: he already rates Bob, and Dana.
    response = api(org.mike).post(f"{BASE}appraisals/{alice.pk}/feedback/approve-all/")
    assert response.status_code == 400
    assert response.json() == {"__all__": [str(feedback.RATER_LIMIT % {"name": "Carl Two", "n": 2})]}
    peers = FeedbackRequest.objects.filter(appraisal=alice, relationship=R.PEER)
    assert set(peers.values_list("status", flat=True)) == {S.PROPOSED}, "all or nothing"


# ------------------------------------------------------------------- results


def three_peers(org) -> ReviewCycle:
    """Alice with three more agents on Mike's team: each is suggested the three others as peers, all approved."""
    for code, name in (("PAT", "Pat Peer"), ("QUIN", "Quin Peer")):
        make_person(code, name, org.t1, "agent", org.mike)
    cycle = launched(org)
    feedback.feedback_requests_approve_all(user=org.mike, appraisal=appraisal_of(cycle, org.alice))
    return cycle


def test_results_wait_for_the_end_of_the_360_phase(org):
    cycle = three_peers(org)
    answer(org.mike, request_of(cycle, org.alice, org.mike))
    body = api(org.alice).get(f"{BASE}appraisals/{appraisal_of(cycle, org.alice).pk}/feedback/results/").json()
    assert (body["available"], body["groups"], body["score"]) == (False, [], None)
    assert body["message"] == str(feedback_apis.RESULTS_LATER % {
        "due": timezone.localtime(cycle.feedback_due).strftime("%Y-%m-%d %H:%M")})
    assert [q["code"] for q in body["questions"]] == CODES


def test_an_anonymous_group_is_shown_only_from_the_threshold(org):
    cycle = three_peers(org)
    alice = appraisal_of(cycle, org.alice)
    url = f"{BASE}appraisals/{alice.pk}/feedback/results/"
    answer(org.alice, request_of(cycle, org.alice, org.alice), score=5)
    answer(org.mike, request_of(cycle, org.alice, org.mike), score=4, comment="Mike says", general="Well done")
    bob, pat, quin = org.bob, Person.objects.get(employee_code="PAT"), Person.objects.get(employee_code="QUIN")
    answer(bob, request_of(cycle, org.alice, bob), score=2, comment="zz from Bob")
    answer(pat, request_of(cycle, org.alice, pat), score=3, general="Aa from Pat")
    to_phase(cycle, Phase.APPRAISAL)

    body = api(org.alice).get(url).json()
    assert body["available"] is True and body["threshold"] == 3
    groups = {g["relationship"]: g for g in body["groups"]}
    assert groups["peer"] == {
        "relationship": "peer", "label": "Peer", "anonymous": True, "shown": False, "count": None,
        "means": {}, "mean": None, "comments": [], "named": [],
    }
    assert groups["supervisor"]["shown"] is True and groups["supervisor"]["count"] == 1
    [mike] = groups["supervisor"]["named"]
    assert mike == {"rater_name": "Mike Manager", "means": {c: 4.0 for c in CODES},
                    "comments": {c: "Mike says" for c in CODES}, "comment": "Well done", "mean": 4.0}
    assert groups["self"]["named"][0]["rater_name"] == "Alice Agent"
    assert body["score"] == pytest.approx(80.0), "only the supervisor counts: the peers are hidden, self excluded"
    text = json.dumps(body)
    for hidden in ("Bob", "BOB", "Pat", "zz from", "Aa from"):
        assert hidden not in text

    to_phase(cycle, Phase.FEEDBACK)
    answer(quin, request_of(cycle, org.alice, quin), score=4, comment="mm from Quin")
    to_phase(cycle, Phase.APPRAISAL)
    for who in (org.alice, org.mike, org.hana):
        body = api(who).get(url).json()
        peer = next(g for g in body["groups"] if g["relationship"] == "peer")
        assert (peer["shown"], peer["count"], peer["mean"]) == (True, 3, 3.0)
        assert peer["means"] == {c: 3.0 for c in CODES}
        assert peer["named"] == []
        texts = [c["text"] for c in peer["comments"]]
        assert sorted(texts) == sorted(["zz from Bob"] * 5 + ["Aa from Pat"] + ["mm from Quin"] * 5)
        assert peer["comments"][0] == {"competency": "", "text": "Aa from Pat"}, "sorted by competency and text"
        assert body["score"] == pytest.approx(20.0 * (4.0 + 3.0) / 2)
        text = json.dumps(body)
        for hidden in ("Bob Peer", "BOB", "Pat Peer", "PAT", "Quin Peer", "QUIN"):
            assert hidden not in text, "no anonymous rater is named"
        assert not {k for k in keys_of(body) if k.endswith("_at") or k in ("id", "created", "rater_code")}


def test_results_take_constant_queries(org, django_assert_max_num_queries, settings,
                                      django_capture_on_commit_callbacks):
    settings.FEEDBACK_MAX_CUSTOMERS = 10
    cycle = three_peers(org)
    alice = appraisal_of(cycle, org.alice)
    to_phase(cycle, Phase.APPRAISAL)
    url = f"{BASE}appraisals/{alice.pk}/feedback/results/"
    with CaptureQueriesContext(connection) as ctx:
        assert api(org.hana).get(url).status_code == 200
    to_phase(cycle, Phase.FEEDBACK)
    for r in FeedbackRequest.objects.filter(appraisal=alice, status=S.OPEN).select_related("rater"):
        answer(r.rater, r)
    for i in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            feedback.feedback_request_add(user=org.mike, appraisal=alice, relationship=R.CUSTOMER,
                                          external_name=f"Customer {i}", external_email=f"c{i}@client.test")
        feedback.feedback_token_submit(token=mailed_token(f"c{i}@client.test"), answers=all_scores(3), comment="ok")
    to_phase(cycle, Phase.APPRAISAL)
    # Expect 2: the appraisal with its cycle, people and unit, and every answer of it at once.
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        body = api(org.hana).get(url).json()
    assert {g["relationship"]: g["count"] for g in body["groups"]}["customer"] == 10


# -------------------------------------------------------------- customer links


@pytest.fixture
def customer_link(org, django_capture_on_commit_callbacks):
    """Mike adds a customer through the API; (their request, the token from the e-mail they received)."""

    def add(cycle) -> tuple[FeedbackRequest, str]:
        with django_capture_on_commit_callbacks(execute=True):
            response = api(org.mike).post(
                f"{BASE}appraisals/{appraisal_of(cycle, org.alice).pk}/feedback/requests/",
                {"relationship": "customer", "external_name": "Acme buyer", "external_email": "buyer@acme.test"},
                format="json")
        assert response.status_code == 201, response.data
        return FeedbackRequest.objects.get(external_name="Acme buyer"), mailed_token("buyer@acme.test")

    return add


def test_a_customer_answers_once_through_their_link_without_signing_in(org, customer_link):
    cycle = launched(org)
    row, token = customer_link(cycle)
    url = f"{BASE}feedback/token/{token}/"
    body = api().get(url).json()
    assert (body["appraisee_name"], body["cycle_name"]) == ("Alice Agent", cycle.name)
    assert [q["code"] for q in body["questionnaire"]] == CODES
    assert body["notice"] == str(feedback_apis.ANONYMOUS_NOTICE % {"n": 3})
    response = api().post(url, {"answers": all_scores(5), "comment": "Very helpful"}, format="json")
    assert response.status_code == 200, response.data
    assert response.json() == {"status": "submitted", "message": str(feedback_apis.THANK_YOU)}
    again = api().post(url, {"answers": all_scores(1)}, format="json")
    assert again.status_code == 404 and again.json() == {"detail": str(feedback.LINK_INVALID)}
    assert api().get(url).json() == {"detail": str(feedback.LINK_INVALID)}
    stored = FeedbackResponse.objects.get()
    assert (stored.relationship, stored.request_id, stored.comment) == ("customer", None, "Very helpful")
    assert sorted(stored.answers.values_list("score", flat=True)) == [5] * 5, "only the first answers are kept"
    assert FeedbackRequest.objects.get(pk=row.pk).status == S.SUBMITTED


def test_bad_answers_through_a_link_answer_400_and_do_not_spend_it(org, customer_link):
    cycle = launched(org)
    row, token = customer_link(cycle)
    url = f"{BASE}feedback/token/{token}/"
    response = api().post(url, {"answers": {"communication": {"score": 9}}}, format="json")
    assert response.status_code == 400 and response.json() == {"communication_score": [str(feedback.SCORE_RANGE)]}
    response = api().post(url, {"answers": {"communication": {"score": 3}}}, format="json")
    assert response.status_code == 400 and set(response.json()) == {f"{c}_score" for c in CODES[1:]}
    assert not FeedbackResponse.objects.exists()
    assert api().post(url, {"answers": all_scores(3)}, format="json").status_code == 200


def test_an_unknown_link_answers_404(org, customer_link):
    cycle = launched(org)
    customer_link(cycle)
    for token in ("not-a-token", "x" * 43):
        for response in (api().get(f"{BASE}feedback/token/{token}/"),
                         api().post(f"{BASE}feedback/token/{token}/", {"answers": all_scores()}, format="json")):
            assert response.status_code == 404 and response.json() == {"detail": str(feedback.LINK_INVALID)}
    assert not FeedbackResponse.objects.exists()


def test_an_expired_link_answers_like_an_unknown_one(org, customer_link):
    cycle = launched(org)
    row, token = customer_link(cycle)
    FeedbackRequest.objects.filter(pk=row.pk).update(token_expires_at=timezone.now() - dt.timedelta(seconds=1))
    url = f"{BASE}feedback/token/{token}/"
    response = api().get(url)
    assert response.status_code == 404 and response.json() == {"detail": str(feedback.LINK_INVALID)}
    response = api().post(url, {"answers": all_scores()}, format="json")
    assert response.status_code == 404 and response.json() == {"detail": str(feedback.LINK_INVALID)}
    assert not FeedbackResponse.objects.exists()
    assert FeedbackRequest.objects.get(pk=row.pk).status == S.OPEN


def test_the_link_is_throttled_per_client(org, monkeypatch, settings, customer_link):
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["feedback_token"] == "30/min"
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"feedback_token": "2/min"})
    cycle = launched(org)
    _, token = customer_link(cycle)
    assert api().get(f"{BASE}feedback/token/wrong/").status_code == 404
    assert api().get(f"{BASE}feedback/token/{token}/").status_code == 200
    assert api().get(f"{BASE}feedback/token/{token}/").status_code == 429
    assert api().get(f"{BASE}feedback/token/{token}/", REMOTE_ADDR="10.0.0.9").status_code == 200


# ----------------------------------------------------------------- completion


def test_feedback_completion_per_unit_of_what_the_caller_sees(org):
    cycle = launched(org)
    answer(org.mike, request_of(cycle, org.alice, org.mike))
    url = f"{BASE}cycles/{cycle.pk}/feedback-completion/"
    body = api(org.hana).get(url).json()
    assert [(u["code"], u["proposed"], u["asked"], u["answered"], u["percent"]) for u in body["units"]] == [
        # Units with fewer appraisees than the threshold (3) show no answered count: D1 (Dana), T2 (Carl).
        ("D1", 2, 2, None, None), ("T1", 4, 6, 1, 17), ("T2", 0, 2, None, None),
    ]
    # The total covers the units shown only, so no hidden unit can be found by difference.
    assert (body["total"]["proposed"], body["total"]["asked"], body["total"]["answered"]) == (4, 6, 1)
    assert body["units"][1]["name"] == "Team One"
    # Mike sees his team, not his own appraisal; an appraisee never sees their own raters answer.
    mike = api(org.mike).get(url).json()
    assert [(u["code"], u["proposed"], u["asked"], u["answered"]) for u in mike["units"]] == [("T1", 2, 4, None)]
    assert api(org.alice).get(url).json()["units"] == []
    assert api(org.olga).get(url).status_code == 404
    assert api(org.hana).get(f"{BASE}cycles/999999/feedback-completion/").status_code == 404


def test_feedback_completion_takes_constant_queries(org, django_assert_max_num_queries):
    few = launched(org, name="Few")
    client = api(org.dana)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"{BASE}cycles/{few.pk}/feedback-completion/").status_code == 200
    for i in range(20):
        make_person(f"A{i:03d}", f"Agent {i}", org.t2, "agent", org.dana)
    many = launched(org, name="Many")
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        body = client.get(f"{BASE}cycles/{many.pk}/feedback-completion/").json()
    assert sum(u["asked"] for u in body["units"]) > 40


# ------------------------------------------------------------- questionnaires


def test_anyone_signed_in_reads_the_questionnaires(org):
    body = api(org.alice).get(f"{BASE}questionnaires/").json()
    assert body["count"] == 1
    [standard] = body["results"]
    assert (standard["is_default"], standard["active"], standard["competencies"]) == (True, True, CODES)
    detail = api(org.bob).get(f"{BASE}questionnaires/{standard['id']}/").json()
    assert detail == standard
    assert api(org.bob).get(f"{BASE}questionnaires/999999/").status_code == 404
    assert api().get(f"{BASE}questionnaires/").status_code in (401, 403)


def test_hr_and_directors_create_questionnaires_in_the_order_given(org):
    data = {"name": "Agents", "name_zh": "坐席", "competencies": ["customer_focus", "communication"],
            "is_default": True}
    response = api(org.hana).post(f"{BASE}questionnaires/", data, format="json")
    assert response.status_code == 201, response.data
    body = response.json()
    assert (body["name"], body["name_zh"], body["competencies"], body["is_default"], body["active"]) == (
        "Agents", "坐席", ["customer_focus", "communication"], True, True,
    )
    assert list(FeedbackTemplate.objects.filter(is_default=True).values_list("name", flat=True)) == ["Agents"]
    response = api(org.dirk).post(f"{BASE}questionnaires/", {"name": "Leads", "competencies": ["leadership"]},
                                  format="json")
    assert response.status_code == 201 and response.json()["is_default"] is False


def test_others_may_not_create_403_or_change_404_a_questionnaire(org):
    standard = FeedbackTemplate.objects.get()
    for who in (org.mike, org.alice):
        response = api(who).post(f"{BASE}questionnaires/", {"name": "Mine", "competencies": ["leadership"]},
                                 format="json")
        assert response.status_code == 403
        assert response.json()["detail"] == str(questionnaires.NOT_ALLOWED)
        url = f"{BASE}questionnaires/{standard.pk}/"
        assert api(who).patch(url, {"name": "Mine"}, format="json").status_code == 404
        assert api(who).put(url, {"name": "Mine", "competencies": ["leadership"]}, format="json").status_code == 404
    assert FeedbackTemplate.objects.count() == 1
    assert FeedbackTemplate.objects.get().name == standard.name


@pytest.mark.parametrize("data, field, message", [
    ({"name": " ", "competencies": ["leadership"]}, "name", questionnaires.NAME_REQUIRED),
    ({"name": "X", "competencies": []}, "competencies", questionnaires.NO_COMPETENCIES),
    ({"name": "X", "competencies": ["leadership", "nope"]}, "competencies",
     questionnaires.UNKNOWN_COMPETENCIES % {"codes": "nope"}),
    ({"name": "X", "competencies": ["leadership"], "is_default": True, "active": False}, "is_default",
     questionnaires.DEFAULT_MUST_BE_ACTIVE),
    ({"competencies": ["leadership"]}, "name", None),
    ({"name": "X", "competencies": "leadership"}, "competencies", None),
])
def test_bad_questionnaires_answer_400_by_field_and_save_nothing(org, data, field, message):
    response = api(org.hana).post(f"{BASE}questionnaires/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    if message:
        assert response.json()[field] == [str(message)]
    assert FeedbackTemplate.objects.count() == 1


def test_hr_changes_a_questionnaire(org):
    standard = FeedbackTemplate.objects.get()
    url = f"{BASE}questionnaires/{standard.pk}/"
    response = api(org.hana).patch(url, {"name": "Standard v2"}, format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["competencies"], response.json()["is_default"]) == (
        "Standard v2", CODES, True,
    )
    response = api(org.hana).patch(url, {"competencies": ["leadership", "communication"]}, format="json")
    assert response.json()["competencies"] == ["leadership", "communication"]
    refused = api(org.hana).patch(url, {"active": False}, format="json")
    assert refused.status_code == 400 and refused.json() == {"is_default": [str(questionnaires.DEFAULT_MUST_BE_ACTIVE)]}
    response = api(org.dirk).put(url, {"name": "Replaced", "competencies": ["customer_focus"]}, format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["is_default"], response.json()["competencies"]) == (
        "Replaced", False, ["customer_focus"],
    )


def test_questionnaire_list_takes_constant_queries(org, django_assert_max_num_queries):
    client = api(org.alice)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"{BASE}questionnaires/").json()["count"] == 1
    for i in range(15):
        questionnaires.questionnaire_save(user=org.hana, name=f"Q{i:02d}", competency_codes=CODES[: 1 + i % 5])
    # Expect 4: the count, the page, its items, their competencies.
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        assert client.get(f"{BASE}questionnaires/").json()["count"] == 16


# ---------------------------------------------------------------- cycle API


def cycle_payload(**overrides) -> dict:
    d = deadlines(timezone.now() + dt.timedelta(days=1))
    data = {"name": "Q3 2026 appraisal", "period_start": "2026-07-01", "period_end": "2026-09-30", "units": ["D1"],
            **{k: v.isoformat() for k, v in d.items()}}
    data.update(overrides)
    return data


def test_the_cycle_api_takes_a_questionnaire_and_shows_it_frozen_at_launch(org):
    save = questionnaires.questionnaire_save
    short = save(user=org.hana, name="Short", competency_codes=["leadership", "communication"])
    retired = save(user=org.hana, name="Old", competency_codes=["leadership"], active=False)
    cycles = f"{BASE}cycles/"
    assert api(org.hana).post(cycles, cycle_payload(feedback_template=999999), format="json").json().keys() == {
        "feedback_template"
    }
    response = api(org.hana).post(cycles, cycle_payload(feedback_template=retired.pk), format="json")
    assert response.status_code == 400
    assert response.json() == {"feedback_template": [str(services.TEMPLATE_NOT_IN_USE)]}
    response = api(org.hana).post(cycles, cycle_payload(feedback_template=short.pk), format="json")
    assert response.status_code == 201, response.data
    body = response.json()
    assert (body["feedback_template"], body["questionnaire"]) == (short.pk, [])
    url = f"{cycles}{body['id']}/"
    patch = lambda data: api(org.hana).patch(url, data, format="json")  # noqa: E731
    assert patch({"feedback_template": None}).json()["feedback_template"] is None
    assert patch({"feedback_template": short.pk}).json()["feedback_template"] == short.pk
    assert api(org.hana).post(f"{url}launch/").status_code == 200
    body = api(org.alice).get(url).json()
    assert [q["code"] for q in body["questionnaire"]] == ["leadership", "communication"]
    first = body["questionnaire"][0]
    assert (first["name"], first["name_zh"]) == ("Leadership", "领导能力")
    assert set(first) == {"code", "name", "name_zh", "description", "description_zh"}
    standard = FeedbackTemplate.objects.get(is_default=True)
    response = patch({"feedback_template": standard.pk})
    assert response.status_code == 400 and set(response.json()) == {"feedback_template"}
    assert patch({"feedback_template": short.pk}).status_code == 200
    # Editing the questionnaire later does not change the launched cycle.
    questionnaires.questionnaire_save(user=org.hana, template=short, name="Short", competency_codes=["customer_focus"])
    assert [q["code"] for q in api(org.hana).get(url).json()["questionnaire"]] == ["leadership", "communication"]


def test_a_cycle_without_a_questionnaire_uses_the_default_at_launch(org):
    response = api(org.hana).post(f"{BASE}cycles/", cycle_payload(), format="json")
    assert response.json()["feedback_template"] is None
    api(org.hana).post(f"{BASE}cycles/{response.json()['id']}/launch/")
    body = api(org.hana).get(f"{BASE}cycles/{response.json()['id']}/").json()
    assert [q["code"] for q in body["questionnaire"]] == CODES


# -------------------------------------------------------------------- schema


def test_schema_documents_the_feedback_endpoints_without_warnings(org):
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned or failed"
    for path in (
        "feedback/requests/", "feedback/requests/{id}/", "feedback/requests/{id}/submit/",
        "feedback/requests/{id}/decide/", "feedback/token/{token}/", "appraisals/{id}/feedback/requests/",
        "appraisals/{id}/feedback/approve-all/", "appraisals/{id}/feedback/results/",
        "cycles/{id}/feedback-completion/", "questionnaires/", "questionnaires/{id}/",
    ):
        assert f"/api/v1/reviews/{path}" in schema["paths"]
    token = schema["paths"]["/api/v1/reviews/feedback/token/{token}/"]
    assert token["get"]["security"] == [{}], "no sign-in needed"
    assert api(org.hana).get("/api/schema/").status_code == 200
