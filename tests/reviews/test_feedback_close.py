"""Closing a cycle with 360 feedback (reviews.closing with reviews.feedback): unanswered requests marked, the 360 score
stored and weighed in the overall score, the summary's counts, and a close run twice or cut short ending the same.

Built with the ORM like tests/reviews/test_closing.py (whose helpers these reuse), with the feedback rows stored as
reviews.feedback stores them: anonymous answers without their request.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews import closing
from reviews import feedback as fb
from reviews.models import Appraisal, FeedbackAnswer, FeedbackRequest, FeedbackResponse, ReviewCycle
from scorecard.models import Person
from tests.reviews.test_closing import (
    copy_cycle, make_cycle, many_appraisals, results, start_closing, three_appraisals,
)

R = FeedbackRequest.Relationship
S = FeedbackRequest.Status
CODES = ("communication", "leadership")
QUESTIONNAIRE = [{"code": c, "name": c.title(), "name_zh": "", "description": "", "description_zh": ""} for c in CODES]
DRAFT = {"answers": {"communication": {"score": 2, "comment": "Half done"}}, "comment": "To finish"}


def ask(appraisal: Appraisal, relationship: str, rater: Person | None = None, status: str = S.OPEN, *,
        draft: dict | None = None, external_name: str = "") -> FeedbackRequest:
    return FeedbackRequest.objects.create(
        cycle_id=appraisal.cycle_id, appraisal=appraisal, relationship=relationship, rater=rater, status=status,
        draft=draft or {}, external_name=external_name,
    )


def answer(appraisal: Appraisal, relationship: str, scores: tuple[int, ...], *, request=None, comment="") -> None:
    """A submitted questionnaire as reviews.feedback records it: linked to its request only when shown by name."""
    response = FeedbackResponse.objects.create(
        appraisal=appraisal, relationship=relationship, comment=comment,
        request=None if relationship in FeedbackRequest.ANONYMOUS else request,
    )
    FeedbackAnswer.objects.bulk_create(
        FeedbackAnswer(response=response, code=c, score=s) for c, s in zip(CODES, scores))


def asked_and_answered(appraisal, relationship, rater, scores, **fields) -> FeedbackRequest:
    request = ask(appraisal, relationship, rater, S.SUBMITTED, external_name=fields.pop("external_name", ""))
    answer(appraisal, relationship, scores, request=request, **fields)
    return request


def cycle_with_feedback(org, **fields) -> tuple[ReviewCycle, Appraisal, Appraisal, Appraisal]:
    """test_closing's three appraisals (Alice B, Bob capped at D, Carl calibrated C) and their 360.

    Alice: herself 5, Mike 4, peers 3 + 4 + 2 (shown: 3 answers), Olga's peer request open with a draft, Hana's
    awaiting approval, a customer open, Dirk's rejected → 360 score 20 × (4 + 3) / 2 = 70.
    Bob: Mike 5, one peer (too few to show) → 100. Carl: nobody answered → no 360 score.
    """
    cycle = make_cycle(org, questionnaire=QUESTIONNAIRE, **fields)
    alice, bob, carl = three_appraisals(org, cycle)
    asked_and_answered(alice, R.SELF, org.alice, (5, 5))
    asked_and_answered(alice, R.SUPERVISOR, org.mike, (4, 4))
    for rater, score in ((org.bob, 3), (org.carl, 4), (org.dana, 2)):
        asked_and_answered(alice, R.PEER, rater, (score, score), comment=f"peer {score}")
    ask(alice, R.PEER, org.olga, draft=DRAFT)
    ask(alice, R.PEER, org.hana, S.PROPOSED)
    ask(alice, R.PEER, org.dirk, S.REJECTED)
    ask(alice, R.CUSTOMER, external_name="Acme buyer")
    asked_and_answered(bob, R.SUPERVISOR, org.mike, (5, 5))
    asked_and_answered(bob, R.PEER, org.alice, (1, 1))
    ask(bob, R.SELF, org.bob, draft=DRAFT)
    ask(carl, R.SELF, org.carl)
    ask(carl, R.SUPERVISOR, org.dana, draft=DRAFT)
    ask(carl, R.SUBORDINATE, org.alice, S.PROPOSED)
    return cycle, alice, bob, carl


def close(cycle, **kwargs) -> ReviewCycle:
    start_closing(cycle)
    return closing.close_cycle(cycle_id=cycle.pk, **kwargs)


def request_rows(cycle) -> list[tuple]:
    """Every request of the cycle as (appraisee, relationship, rater or customer, status, draft), sorted."""
    return sorted(
        (person, relationship, rater or name, status, json.dumps(draft, sort_keys=True))
        for person, relationship, rater, name, status, draft in FeedbackRequest.objects.filter(cycle=cycle).values_list(
            "appraisal__person__employee_code", "relationship", "rater__employee_code", "external_name", "status",
            "draft")
    )


def response_rows(cycle) -> list[tuple]:
    rows: dict = {}
    for response_id, person, relationship, rater, code, score in FeedbackAnswer.objects.filter(
        response__appraisal__cycle=cycle
    ).values_list("response_id", "response__appraisal__person__employee_code", "response__relationship",
                  "response__request__rater__employee_code", "code", "score"):
        rows.setdefault(response_id, [person, relationship, rater or ""]).append((code, score))
    return sorted(tuple(r) for r in rows.values())


# --------------------------------------------------------------- the close


def test_open_requests_become_not_answered_with_named_drafts_kept_and_proposed_ones_not_approved(org):
    cycle, *_ = cycle_with_feedback(org)
    close(cycle)
    rows = request_rows(cycle)
    # An anonymous rater's draft is deleted: kept beside its request, it would say who wrote what.
    assert ("ALICE", "peer", "OLGA", "not_submitted", "{}") in rows
    assert ("ALICE", "peer", "HANA", "rejected", "{}") in rows  # never approved
    assert ("ALICE", "peer", "DIRK", "rejected", "{}") in rows
    assert ("ALICE", "customer", "Acme buyer", "not_submitted", "{}") in rows
    assert ("BOB", "self", "BOB", "not_submitted", json.dumps(DRAFT, sort_keys=True)) in rows
    assert ("CARL", "supervisor", "DANA", "not_submitted", json.dumps(DRAFT, sort_keys=True)) in rows
    assert ("CARL", "subordinate", "ALICE", "rejected", "{}") in rows
    assert not [r for r in rows if r[3] in (S.OPEN, S.PROPOSED)]
    assert {r[3] for r in rows if r[1] in (R.SELF, R.SUPERVISOR) and r[0] == "ALICE"} == {S.SUBMITTED}
    assert FeedbackResponse.objects.filter(appraisal__cycle=cycle).count() == 7  # answers are left as they are


def test_the_360_score_is_stored_on_every_appraisal(org):
    cycle, *_ = cycle_with_feedback(org)
    close(cycle)
    scores = {r["person__employee_code"]: r["feedback_score"] for r in results(cycle)}
    assert scores == {"ALICE": pytest.approx(70.0), "BOB": pytest.approx(100.0), "CARL": None}


def test_the_overall_score_includes_the_360_score_when_its_weight_is_above_0(org):
    cycle, *_ = cycle_with_feedback(org, weight_objectives=60, weight_competencies=20, weight_feedback=20)
    close(cycle)
    alice, bob, carl = results(cycle)
    # Alice: objectives 82, competencies 90, 360 70 → 0.6 × 82 + 0.2 × 90 + 0.2 × 70 = 81.2 → B.
    assert alice["overall_score"] == pytest.approx(81.2)
    assert (alice["proposed_grade"], alice["final_grade"]) == ("B", "B")
    # Bob: objectives 95, no competencies, 360 100 → (60 × 95 + 20 × 100) / 80; capped at D by the gate.
    assert bob["overall_score"] == pytest.approx((60 * 95 + 20 * 100) / 80)
    assert (bob["proposed_grade"], bob["gate_applied"]) == ("D", True)
    # Carl: competencies 60 only (no 360 score: that part drops out).
    assert carl["overall_score"] == pytest.approx(60.0)


def test_the_overall_score_ignores_the_360_score_when_its_weight_is_0(org):
    cycle, *_ = cycle_with_feedback(org)
    close(cycle)
    alice, bob, carl = results(cycle)
    assert alice["feedback_score"] == pytest.approx(70.0)
    assert (alice["overall_score"], bob["overall_score"], carl["overall_score"]) == (
        pytest.approx(84.4), 95.0, 60.0)  # as in test_closing, without any 360


def test_summary_counts_the_360_requests_asked_answered_and_not_answered(org):
    cycle, *_ = cycle_with_feedback(org)
    closed = close(cycle)
    # Asked (approved): Alice 5 answered + Olga + the customer; Bob 2 answered + himself; Carl himself + Dana.
    # Never approved (Hana, Dirk, Alice on Carl) are not counted.
    assert (closed.summary["feedback_asked"], closed.summary["feedback_answered"],
            closed.summary["feedback_not_submitted"]) == (12, 7, 5)


def test_results_are_shown_once_closed(org):
    cycle, alice, *_ = cycle_with_feedback(org)
    close(cycle)
    results = fb.feedback_results(Appraisal.objects.select_related("cycle").get(pk=alice.pk))
    assert results.available and results.score == pytest.approx(70.0)
    peers = next(g for g in results.groups if g.relationship == R.PEER)
    assert (peers.shown, peers.count, peers.comments) == (True, 3, [("", "peer 2"), ("", "peer 3"), ("", "peer 4")])


# ------------------------------------------------------------ idempotency


def add_feedback(cycle) -> None:
    """Varied 360 rows for every appraisal of a many_appraisals cycle, the same for the same people in any cycle:
    0–4 peers answered, named answers, drafts, requests awaiting approval, rejected, customers."""
    people = list(Person.objects.order_by("employee_code"))
    appraisals = list(Appraisal.objects.filter(cycle=cycle).select_related("person").order_by("person__employee_code"))
    requests, responses, answers = [], [], []

    def request(appraisal, relationship, rater, status, draft=None, name=""):
        requests.append(FeedbackRequest(cycle=cycle, appraisal=appraisal, relationship=relationship, rater=rater,
                                        status=status, draft=draft or {}, external_name=name))
        return requests[-1]

    def response(appraisal, relationship, scores, req=None):
        responses.append(FeedbackResponse(appraisal=appraisal, relationship=relationship, request=req))
        answers.extend(FeedbackAnswer(response=responses[-1], code=c, score=s) for c, s in zip(CODES, scores))

    for i, a in enumerate(appraisals):
        others = [p for p in people if p.pk not in (a.person_id, a.manager_id)]
        self_status = S.SUBMITTED if i % 2 else S.OPEN
        req = request(a, R.SELF, a.person, self_status, None if i % 2 else DRAFT)
        if i % 2:
            response(a, R.SELF, (1 + i % 5, 5), req)
        if a.manager_id and i % 3:
            response(a, R.SUPERVISOR, (1 + (i + 1) % 5, 1 + (i + 2) % 5),
                     request(a, R.SUPERVISOR, a.manager, S.SUBMITTED))
        elif a.manager_id:
            request(a, R.SUPERVISOR, a.manager, S.OPEN, DRAFT)
        for j in range(i % 5):
            request(a, R.PEER, others[j], S.SUBMITTED)
            response(a, R.PEER, (1 + (i + j) % 5, 1 + (i * j) % 5))
        for status, when, j in ((S.OPEN, i % 4 == 0, 5), (S.PROPOSED, i % 3 == 0, 6), (S.REJECTED, i % 7 == 0, 7)):
            if when:
                request(a, R.PEER, others[j], status, DRAFT if status == S.OPEN else None)
        if i % 6 == 0:
            request(a, R.CUSTOMER, None, S.OPEN, name=f"Customer of {a.person.employee_code}")
    FeedbackRequest.objects.bulk_create(requests)
    FeedbackResponse.objects.bulk_create(responses)
    FeedbackAnswer.objects.bulk_create(answers)


def test_running_the_close_twice_gives_the_same_360_results(org):
    cycle = make_cycle(org)
    many_appraisals(org, cycle, 25)
    add_feedback(cycle)
    first = close(cycle, batch_size=10)
    once = (results(cycle), request_rows(cycle), response_rows(cycle))
    assert [r["feedback_score"] for r in once[0]].count(None) < 25  # the 360 counts for most
    assert first.summary["feedback_asked"] > first.summary["feedback_answered"] > 0

    assert closing.close_cycle(cycle_id=cycle.pk, batch_size=10) is None
    start_closing(cycle)  # even forced to run again, it finds nothing open
    ReviewCycle.objects.filter(pk=cycle.pk).update(closing_done=25)
    again = closing.close_cycle(cycle_id=cycle.pk, batch_size=10)
    assert (results(cycle), request_rows(cycle), response_rows(cycle)) == once
    assert again.summary == first.summary


def test_a_close_cut_short_and_run_again_gives_the_same_360_results_as_a_single_run(org):
    single = make_cycle(org, name="single", weight_objectives=50, weight_competencies=25, weight_feedback=25)
    many_appraisals(org, single, 25)
    cut = copy_cycle(org, single, "cut")
    ReviewCycle.objects.filter(pk=cut.pk).update(weight_objectives=50, weight_competencies=25, weight_feedback=25)
    for cycle in (single, cut):
        add_feedback(cycle)
    close(single, batch_size=10)

    stopped = close(cut, batch_size=10, max_batches=1)  # the worker dies here
    assert stopped.phase == "closing"
    closed_ids = list(cut.appraisals.filter(status="closed").values_list("pk", flat=True))
    assert len(closed_ids) == 10
    # The batch that committed marked its own requests only.
    assert not FeedbackRequest.objects.filter(appraisal_id__in=closed_ids, status__in=(S.OPEN, S.PROPOSED)).exists()
    assert FeedbackRequest.objects.filter(cycle=cut, status__in=(S.OPEN, S.PROPOSED)).exists()
    finished = closing.close_cycle(cycle_id=cut.pk, batch_size=10)

    single.refresh_from_db()
    assert finished.phase == "closed"
    assert results(cut) == results(single)
    assert request_rows(cut) == request_rows(single)
    assert response_rows(cut) == response_rows(single)
    assert finished.summary == single.summary


def test_queries_per_batch_do_not_grow_with_the_feedback(org):
    """The 360 adds 3 queries per batch (answers; requests not approved; requests not answered), however many."""
    counts = []
    for n, prefix in ((5, "S"), (40, "L")):
        cycle = make_cycle(org, name=prefix)
        many_appraisals(org, cycle, n, prefix=prefix)
        add_feedback(cycle)
        start_closing(cycle)
        with CaptureQueriesContext(connection) as ctx:
            closing.close_cycle(cycle_id=cycle.pk, batch_size=50, max_batches=1)
        counts.append(len(ctx))
    assert counts[0] == counts[1]
    assert counts[0] <= 17, counts
