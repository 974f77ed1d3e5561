"""Closing a review cycle: final scores from the snapshot, idempotency, a run cut short, two workers, the pages.

The cycles are built with the ORM (snapshots in the format of reviews/scoring.py),
not through the launch service, so these tests depend on nothing but the models.
"""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from reviews import closing
from reviews.models import Appraisal, Competency, CompetencyRating, ObjectiveRating, ReviewCycle
from scorecard.models import Measure, Measurement
from tests.base import PASSWORD, build_org, make_person

PERIOD_START, PERIOD_END = dt.date(2026, 7, 1), dt.date(2026, 9, 30)
REWARD_TERMS = [
    {"grade": "A", "outcome": "Bonus 20%"},
    {"grade": "B", "outcome": "Bonus 10%"},
    {"grade": "C", "outcome": "Bonus 5%"},
    {"grade": "D", "outcome": "No bonus"},
    {"grade": "E", "outcome": "Improvement plan"},
]
FCR_KPI = {
    "name": "First-contact resolution", "name_zh": "一次解决率", "perspective": "customer", "unit": "%",
    "direction": "higher", "formula": "100 × first_contact_resolved / contacts_handled", "factor": 100.0,
    "numerator": ["first_contact_resolved"], "denominator": ["contacts_handled"],
    "baseline": 65, "typical": 72, "excellent": 80, "weight": 25, "min_sample": 0,
}
GATE = {"measure": "qa_fatal_errors", "above": 0, "cap": "D"}


def snapshot(*, fcr_weight: float = 60, milestone_weight: float = 40, contract: bool = True) -> dict:
    """A launch snapshot: a KPI objective on FCR (65 / 72 / 80) and a milestone."""
    return {
        "taken_at": "2026-10-01T08:00:00+00:00",
        "objectives": [
            {"id": 101, "title": "Raise FCR", "kind": "kpi", "kpi": "fcr", "baseline": 65, "target": 72,
             "stretch": 80, "weight": fcr_weight, "due_date": "2026-09-30", "completion_criterion": ""},
            {"id": 102, "title": "Coaching plan", "kind": "milestone", "kpi": None, "baseline": None,
             "target": None, "stretch": None, "weight": milestone_weight, "due_date": "2026-09-30",
             "completion_criterion": "Plan agreed"},
        ],
        "contract": {"id": 7, "version": 1, "content_hash": "x", "reward_terms": REWARD_TERMS, "terms_text": ""}
        if contract else None,
        "kpis": {"fcr": FCR_KPI},
        "perspectives": {"customer": {"name": "Customer", "name_zh": "客户", "weight": 25}},
    }


def make_cycle(org, *, phase: str = ReviewCycle.Phase.CALIBRATION, now=None, name: str = "Q3 2026", **fields):
    now = now or timezone.now()
    values = {
        "self_assessment_due": now - dt.timedelta(days=30),
        "feedback_due": now - dt.timedelta(days=20),
        "appraisal_due": now - dt.timedelta(days=10),
        "calibration_due": now + dt.timedelta(days=5),
        "gate_rule": GATE,
        "launched_at": None if phase == ReviewCycle.Phase.DRAFT else now - dt.timedelta(days=40),
        **fields,
    }
    cycle = ReviewCycle.objects.create(
        name=name, period_start=PERIOD_START, period_end=PERIOD_END, created_by=org.hana, phase=phase, **values
    )
    cycle.units.set([org.center])
    return cycle


def make_appraisal(cycle, person, **fields) -> Appraisal:
    appraisal = Appraisal.objects.create(
        cycle=cycle, person=person, manager=person.manager, unit=person.unit,
        snapshot=fields.pop("snapshot", None) or snapshot(), **fields,
    )
    ObjectiveRating.objects.bulk_create([
        ObjectiveRating(appraisal=appraisal, objective_id=101, title="Raise FCR", weight=60),
        ObjectiveRating(appraisal=appraisal, objective_id=102, title="Coaching plan", weight=40),
    ])
    return appraisal


def add_measurements(person, values: dict[str, float], day: dt.date = dt.date(2026, 8, 3)) -> None:
    # get_or_create: transactional tests flush the library that the data migrations installed.
    measures = {code: Measure.objects.get_or_create(code=code, defaults={"name": code})[0].pk for code in values}
    Measurement.objects.bulk_create(
        Measurement(date=day, unit_id=person.unit_id, person=person, measure_id=measures[code], value=value)
        for code, value in values.items()
    )


def competencies(n: int) -> list[Competency]:
    for code in ("communication", "customer_focus", "leadership")[:n]:
        Competency.objects.get_or_create(code=code, defaults={"name": code})
    return list(Competency.objects.order_by("order", "code")[:n])


def rate_competencies(appraisal, scores: list[int]) -> None:
    competencies_ = competencies(len(scores))
    CompetencyRating.objects.bulk_create(
        CompetencyRating(appraisal=appraisal, competency=c, score=s) for c, s in zip(competencies_, scores)
    )


def three_appraisals(org, cycle):
    """Alice scores B; Bob's A is capped at D by a fatal error; Carl, without data, was calibrated to C."""
    add_measurements(org.alice, {"contacts_handled": 100, "first_contact_resolved": 76})  # FCR 76 → 90
    alice = make_appraisal(cycle, org.alice, self_status="submitted", manager_status="submitted")
    ObjectiveRating.objects.filter(appraisal=alice, objective_id=102).update(manager_rating=70)
    rate_competencies(alice, [4, 5])

    add_measurements(org.bob, {"contacts_handled": 50, "first_contact_resolved": 30, "qa_fatal_errors": 1})
    bob = make_appraisal(cycle, org.bob, self_status="draft", achievements="Half-written report",
                         manager_status="submitted")
    ObjectiveRating.objects.filter(appraisal=bob, objective_id=101).update(manager_rating=95, self_rating=90)

    carl = make_appraisal(cycle, org.carl, manager_status="draft", manager_comments="Draft comments",
                          calibrated_grade="C", calibration_reason="Team context")
    rate_competencies(carl, [3])
    return alice, bob, carl


RESULT_FIELDS = [
    "person__employee_code", "status", "objectives_score", "competencies_score", "feedback_score", "overall_score",
    "proposed_grade", "gate_applied", "calibrated_grade", "final_grade", "outcome", "self_status", "manager_status",
    "achievements", "manager_comments",
]


def results(cycle) -> list[dict]:
    return list(Appraisal.objects.filter(cycle=cycle).order_by("person__employee_code").values(*RESULT_FIELDS))


def start_closing(cycle) -> None:
    """Put the cycle in phase closing, as cycle_close_start does, without dispatching the task."""
    ReviewCycle.objects.filter(pk=cycle.pk).update(
        phase="closing", closing_started_at=timezone.now(), closing_total=cycle.appraisals.count(), closing_done=0
    )


# ------------------------------------------------------------- the numbers


def test_close_computes_final_scores_grades_and_outcomes_from_the_snapshot(org):
    cycle = make_cycle(org)
    three_appraisals(org, cycle)
    start_closing(cycle)

    closed = closing.close_cycle(cycle_id=cycle.pk)

    assert closed.phase == "closed" and closed.closed_at is not None
    alice, bob, carl = results(cycle)
    # Alice: FCR 76 % → 90 (72→80, 76 halfway: 80 + 10); milestone rated 70 → (90×60 + 70×40)/100 = 82;
    # competencies 4 and 5 → 80 and 100 → 90; overall 0.7×82 + 0.3×90 = 84.4 → B.
    assert alice["objectives_score"] == pytest.approx(82.0)
    assert alice["competencies_score"] == pytest.approx(90.0)
    assert alice["overall_score"] == pytest.approx(84.4)
    assert (alice["proposed_grade"], alice["gate_applied"], alice["final_grade"]) == ("B", False, "B")
    assert alice["outcome"] == "Bonus 10%"
    assert (alice["self_status"], alice["manager_status"]) == ("submitted", "submitted")
    # Bob: the manager's 95 overrides the system score (FCR 60 % → 60 − 5×20/7); the unrated milestone drops out;
    # no competencies: overall 95 → A, but a fatal error caps it at D.
    assert (bob["objectives_score"], bob["competencies_score"], bob["overall_score"]) == (95.0, None, 95.0)
    assert (bob["proposed_grade"], bob["gate_applied"], bob["final_grade"], bob["outcome"]) == ("D", True, "D", "No bonus")
    # Carl: no data, no ratings of objectives; competency 3 → 60 → D; HR's calibrated C stands.
    assert (carl["objectives_score"], carl["overall_score"], carl["proposed_grade"]) == (None, 60.0, "D")
    assert (carl["calibrated_grade"], carl["final_grade"], carl["outcome"]) == ("C", "C", "Bonus 5%")


def test_close_freezes_the_system_score_on_the_objective_ratings(org):
    cycle = make_cycle(org)
    alice, bob, _carl = three_appraisals(org, cycle)
    start_closing(cycle)
    closing.close_cycle(cycle_id=cycle.pk)
    assert ObjectiveRating.objects.get(appraisal=alice, objective_id=101).system_score == pytest.approx(90.0)
    assert ObjectiveRating.objects.get(appraisal=bob, objective_id=101).system_score == pytest.approx(60 - 5 * 20 / 7)  # 5 below baseline
    assert ObjectiveRating.objects.get(appraisal=bob, objective_id=102).system_score is None


def test_missing_parts_are_marked_not_submitted_and_their_drafts_are_kept(org):
    cycle = make_cycle(org)
    three_appraisals(org, cycle)
    start_closing(cycle)
    closing.close_cycle(cycle_id=cycle.pk)
    _alice, bob, carl = results(cycle)
    assert (bob["self_status"], bob["achievements"]) == ("not_submitted", "Half-written report")
    assert bob["manager_status"] == "submitted"
    assert (carl["self_status"], carl["manager_status"]) == ("not_submitted", "not_submitted")
    assert carl["manager_comments"] == "Draft comments"


def test_close_keeps_a_calibrated_grade_and_does_not_touch_a_closed_appraisal(org):
    cycle = make_cycle(org)
    alice, _bob, carl = three_appraisals(org, cycle)
    # Alice's appraisal was closed before (an earlier run): the close must leave it alone.
    Appraisal.objects.filter(pk=alice.pk).update(status="closed", final_grade="E", overall_score=1)
    start_closing(cycle)
    closing.close_cycle(cycle_id=cycle.pk)
    alice.refresh_from_db()
    carl.refresh_from_db()
    assert (alice.final_grade, alice.overall_score) == ("E", 1)
    assert (carl.calibrated_grade, carl.final_grade) == ("C", "C")


def test_summary_counts_grades_units_and_parts_not_submitted(org):
    cycle = make_cycle(org)
    three_appraisals(org, cycle)
    start_closing(cycle)
    closed = closing.close_cycle(cycle_id=cycle.pk)
    assert closed.summary == {
        "appraisals": 3,
        "feedback_asked": 0,
        "feedback_answered": 0,
        "feedback_not_submitted": 0,
        "grades": {"B": 1, "C": 1, "D": 1},
        "units": {
            "T1": {"name": "Team One", "appraisals": 2, "grades": {"B": 1, "D": 1}},
            "T2": {"name": "Team Two", "appraisals": 1, "grades": {"C": 1}},
        },
        "self_not_submitted": 2,
        "manager_not_submitted": 1,
        "gate_applied": 1,
        "calibrated": 1,
        "mean_score": round((84.4 + 95 + 60) / 3, 2),
    }
    assert (closed.closing_total, closed.closing_done) == (3, 3)


# ------------------------------------------------------------ idempotency


def many_appraisals(org, cycle, n: int, prefix: str = "AG") -> None:
    """n agents on team T1 with varied data and ratings: every branch of the scoring, in bulk."""
    people = [make_person(f"{prefix}{i:04d}", f"Agent {i}", org.t1 if i % 2 else org.t2, "agent", org.mike)
              for i in range(n)]
    for i, person in enumerate(people):
        if i % 5:
            add_measurements(person, {"contacts_handled": 100, "first_contact_resolved": 60 + i % 25,
                                      "qa_fatal_errors": 1 if i % 11 == 0 else 0})
    appraisals = Appraisal.objects.bulk_create(
        Appraisal(cycle=cycle, person=p, manager=org.mike, unit_id=p.unit_id, snapshot=snapshot(),
                  self_status=["pending", "draft", "submitted"][i % 3],
                  manager_status=["submitted", "draft"][i % 2],
                  calibrated_grade="A" if i % 13 == 0 else "")
        for i, p in enumerate(people)
    )
    ObjectiveRating.objects.bulk_create(
        ObjectiveRating(appraisal=a, objective_id=oid, title="x", weight=w,
                        manager_rating=(50 + i % 50) if (oid == 102 and i % 4) else None)
        for i, a in enumerate(appraisals) for oid, w in ((101, 60), (102, 40))
    )
    rated = competencies(2)
    CompetencyRating.objects.bulk_create(
        CompetencyRating(appraisal=a, competency=c, score=1 + (i + j) % 5)
        for i, a in enumerate(appraisals) if i % 3 for j, c in enumerate(rated)
    )


def copy_cycle(org, cycle, name: str) -> ReviewCycle:
    """A second cycle with the same people, snapshots, statuses and ratings: closed apart, it must end the same."""
    twin = make_cycle(org, name=name)
    for appraisal in cycle.appraisals.all():
        copy = make_appraisal(twin, appraisal.person, snapshot=appraisal.snapshot, self_status=appraisal.self_status,
                              manager_status=appraisal.manager_status, calibrated_grade=appraisal.calibrated_grade)
        for rating in appraisal.objective_ratings.all():
            ObjectiveRating.objects.filter(appraisal=copy, objective_id=rating.objective_id).update(
                manager_rating=rating.manager_rating)
        CompetencyRating.objects.bulk_create(
            CompetencyRating(appraisal=copy, competency_id=c.competency_id, score=c.score)
            for c in appraisal.competency_ratings.all())
    return twin


def test_running_the_close_twice_gives_the_same_results(org):
    cycle = make_cycle(org)
    many_appraisals(org, cycle, 25)
    start_closing(cycle)
    first = closing.close_cycle(cycle_id=cycle.pk, batch_size=10)
    once = results(cycle)
    assert all(r["status"] == "closed" for r in once)

    assert closing.close_cycle(cycle_id=cycle.pk, batch_size=10) is None  # closed: nothing to do
    start_closing(cycle)  # even forced to run again, it finds nothing open
    ReviewCycle.objects.filter(pk=cycle.pk).update(closing_done=25)
    again = closing.close_cycle(cycle_id=cycle.pk, batch_size=10)
    assert results(cycle) == once
    assert again.summary == first.summary and again.closing_done == 25


def test_a_close_cut_short_and_run_again_ends_as_a_single_run(org):
    single = make_cycle(org, name="single")
    many_appraisals(org, single, 25)
    cut = copy_cycle(org, single, "cut")
    start_closing(single)
    start_closing(cut)
    closing.close_cycle(cycle_id=single.pk, batch_size=10)

    stopped = closing.close_cycle(cycle_id=cut.pk, batch_size=10, max_batches=1)  # the worker dies here
    assert (stopped.phase, cut.appraisals.filter(status="closed").count()) == ("closing", 10)
    stopped.refresh_from_db()
    assert stopped.closing_done == 10
    finished = closing.close_cycle(cycle_id=cut.pk, batch_size=10)

    single.refresh_from_db()
    assert finished.phase == "closed" and finished.closing_done == 25
    assert results(cut) == results(single)
    assert finished.summary == single.summary


def test_two_workers_taking_turns_close_each_appraisal_once(org):
    """SQLite allows one writer at a time: two workers interleave batch by batch."""
    cycle = make_cycle(org)
    many_appraisals(org, cycle, 25)
    start_closing(cycle)
    turns = 0
    while ReviewCycle.objects.get(pk=cycle.pk).phase == "closing":
        closing.close_cycle(cycle_id=cycle.pk, batch_size=4, max_batches=1)  # worker 1
        closing.close_cycle(cycle_id=cycle.pk, batch_size=4, max_batches=1)  # worker 2
        turns += 1
        if turns > 10:
            closing.close_cycle(cycle_id=cycle.pk, batch_size=4)
    cycle.refresh_from_db()
    assert cycle.phase == "closed" and cycle.closing_done == 25 and cycle.summary["appraisals"] == 25


def test_queries_per_batch_do_not_grow_with_the_batch(org):
    """Per batch: write lock or row locks, open ids, claim, appraisals, objective ratings,
    competency ratings, measure sums, 360 answers, 360 requests not answered or not approved (2),
    bulk update(s), progress — as many for 5 appraisals as for 40."""
    counts = []
    for n, prefix in ((5, "S"), (40, "L")):
        cycle = make_cycle(org, name=prefix)
        many_appraisals(org, cycle, n, prefix=prefix)
        start_closing(cycle)
        with CaptureQueriesContext(connection) as ctx:
            closing.close_cycle(cycle_id=cycle.pk, batch_size=50, max_batches=1)
        counts.append(len(ctx))
    assert counts[0] == counts[1]
    assert counts[0] <= 17, counts


# -------------------------------------------------------- starting a close


def test_hr_starts_the_close_once_and_the_task_closes_the_cycle(org, django_capture_on_commit_callbacks):
    cycle = make_cycle(org)
    three_appraisals(org, cycle)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert closing.cycle_close_start(user=org.hana, cycle=cycle) is True
    assert len(callbacks) == 1
    cycle.refresh_from_db()
    assert cycle.phase == "closed" and cycle.summary["appraisals"] == 3
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert closing.cycle_close_start(user=org.hana, cycle=cycle) is False
    assert callbacks == []


def test_only_hr_may_close_and_only_a_launched_cycle(org):
    cycle = make_cycle(org)
    with pytest.raises(ValidationError) as exc:
        closing.cycle_close_start(user=org.mike, cycle=cycle)
    assert exc.value.messages == [str(closing.CLOSE_NOT_ALLOWED)]
    draft = make_cycle(org, phase="draft", name="draft")
    with pytest.raises(ValidationError) as exc:
        closing.cycle_close_start(user=org.hana, cycle=draft)
    assert exc.value.messages == [str(closing.CLOSE_NOT_LAUNCHED)]
    assert ReviewCycle.objects.get(pk=cycle.pk).phase == "calibration"


def test_close_page_starts_the_close_for_hr(org, client, django_capture_on_commit_callbacks):
    cycle = make_cycle(org)
    three_appraisals(org, cycle)
    client.login(username="HANA", password=PASSWORD)
    page = client.get(reverse("cycle-close", args=[cycle.pk]))
    assert page.status_code == 200 and "Close the cycle" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("cycle-close", args=[cycle.pk]))
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.phase == "closed"
    fragment = client.get(reverse("cycle-close-progress", args=[cycle.pk])).content.decode()
    assert "3 appraisals frozen" in fragment and 'http-equiv="refresh"' not in fragment


def test_progress_fragment_shows_the_bar_and_refreshes_while_closing(org, client):
    cycle = make_cycle(org)
    three_appraisals(org, cycle)
    start_closing(cycle)
    closing.close_cycle(cycle_id=cycle.pk, batch_size=2, max_batches=1)
    client.login(username="HANA", password=PASSWORD)
    response = client.get(reverse("cycle-close-progress", args=[cycle.pk]))
    # The close page shows this fragment in an iframe: the browser must be allowed to frame it.
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    fragment = response.content.decode()
    assert "Closing: 2 of 3 appraisals" in fragment
    assert '<progress id="close-bar-%d" value="2" max="3">' % cycle.pk in fragment
    assert 'http-equiv="refresh"' in fragment
    api = client.get(reverse("api-cycle-close-progress", args=[cycle.pk])).json()
    assert (api["phase"], api["closing_done"], api["closing_total"], api["percent"]) == ("closing", 2, 3, 66)


@pytest.mark.parametrize("user", ["mike", "alice", "dirk"])
def test_others_cannot_close_a_cycle(org, client, user):
    cycle = make_cycle(org)
    client.login(username=getattr(org, user).employee_code, password=PASSWORD)
    assert client.get(reverse("cycle-close", args=[cycle.pk])).status_code == 404
    assert client.post(reverse("cycle-close", args=[cycle.pk])).status_code == 404
    assert client.post(reverse("api-cycle-close", args=[cycle.pk])).status_code == 404
    assert ReviewCycle.objects.get(pk=cycle.pk).phase == "calibration"


@pytest.mark.parametrize("user", ["mike", "alice"])
def test_progress_is_not_shown_to_managers_or_agents(org, client, user):
    cycle = make_cycle(org)
    client.login(username=getattr(org, user).employee_code, password=PASSWORD)
    assert client.get(reverse("cycle-close-progress", args=[cycle.pk])).status_code == 404
    assert client.get(reverse("api-cycle-close-progress", args=[cycle.pk])).status_code == 404


def test_api_starts_the_close(org, client, django_capture_on_commit_callbacks):
    cycle = make_cycle(org)
    three_appraisals(org, cycle)
    client.login(username="HANA", password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("api-cycle-close", args=[cycle.pk]))
    assert response.status_code == 202
    assert response.json()["phase"] == "closing" and response.json()["closing_total"] == 3
    assert len(callbacks) == 1
    draft = make_cycle(org, phase="draft", name="draft")
    response = client.post(reverse("api-cycle-close", args=[draft.pk]))
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [str(closing.CLOSE_NOT_LAUNCHED)]}


# ------------------------------------------- two workers at once (PostgreSQL)


def _in_thread(fn, results_list, barrier):
    def run():
        try:
            barrier.wait()
            results_list.append(fn())
        except Exception as exc:  # reported by the test
            results_list.append(exc)
        finally:
            connections.close_all()
    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_once_close_each_appraisal_once_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections need PostgreSQL (SQLite: see the turn-taking test)")
    org = build_org()
    cycle = make_cycle(org)
    many_appraisals(org, cycle, 60)
    reference = copy_cycle(org, cycle, "reference")
    start_closing(cycle)
    start_closing(reference)
    closing.close_cycle(cycle_id=reference.pk)

    done: list = []
    barrier = threading.Barrier(2)
    threads = [_in_thread(lambda: closing.close_cycle(cycle_id=cycle.pk, batch_size=5), done, barrier)
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not [r for r in done if isinstance(r, Exception)], done
    cycle.refresh_from_db()
    reference.refresh_from_db()
    assert cycle.phase == "closed" and cycle.closing_done == 60
    assert results(cycle) == results(reference)
    assert cycle.summary == reference.summary


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_beats_at_once_start_one_close_on_postgresql(django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections need PostgreSQL")
    org = build_org()
    now = timezone.now()
    cycle = make_cycle(org, phase="self_assessment", calibration_due=now - dt.timedelta(hours=1))
    three_appraisals(org, cycle)
    done: list = []
    barrier = threading.Barrier(2)
    threads = [_in_thread(lambda: closing.phases_advance(now=now), done, barrier) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not [r for r in done if isinstance(r, Exception)], done
    assert sum(done) == 4  # self-assessment → feedback → appraisal → calibration → closing, once each
    cycle.refresh_from_db()
    assert cycle.phase == "closed"  # eager Celery: the close ran on commit
    assert Appraisal.objects.filter(cycle=cycle, status="closed").count() == 3


# ------------------------------------------- confirming, and closing early (issue 10)


def close_form_data(html: str, cycle, **typed) -> dict:
    from tests.reviews.html_forms import form_posting_to

    return form_posting_to(html, reverse("cycle-close", args=[cycle.pk])).data(**typed)


def test_the_close_page_says_what_closing_does_and_what_is_missing(org, client, django_assert_max_num_queries):
    cycle = make_cycle(org)
    three_appraisals(org, cycle)
    client.force_login(org.hana)
    # session, user, cycle, the appraisals' counts, the 360 requests' counts
    with django_assert_max_num_queries(6):
        html = client.get(reverse("cycle-close", args=[cycle.pk])).content.decode()
    assert "Final grades are handed out to the 3 open appraisals" in html
    assert "Every appraisal is frozen" in html and "It cannot be undone." in html
    missing = html[html.index('id="close-missing"'):html.index("</section>", html.index('id="close-missing"'))]
    assert re.search(r'id="missing-self">.*?<td class="num">2 / 3</td>.*?1 draft kept', missing, re.S)
    assert re.search(r'id="missing-manager">.*?<td class="num">1 / 3</td>.*?graded from what is saved \(1 draft\)',
                     missing, re.S)
    assert re.search(r'id="missing-interviews">.*?<td class="num">3 / 3</td>', missing, re.S)
    assert re.search(r'id="missing-acknowledgements">.*?<td class="num">3 / 3</td>', missing, re.S)
    assert f'href="{reverse("cycle-detail", args=[cycle.pk])}#late"' in missing
    # In the calibration phase: no override, a destructive button and a way back.
    assert 'name="reason"' not in html
    assert '<button type="submit" class="danger">Close the cycle</button>' in html
    assert ReviewCycle.objects.get(pk=cycle.pk).phase == "calibration"  # showing the page changed nothing


@pytest.mark.parametrize("phase", ["self_assessment", "feedback", "appraisal"])
def test_closing_before_calibration_without_a_reason_is_refused(org, client, phase, django_capture_on_commit_callbacks):
    cycle = make_cycle(org, phase=phase)
    three_appraisals(org, cycle)
    client.force_login(org.hana)
    html = client.get(reverse("cycle-close", args=[cycle.pk])).content.decode()
    assert 'id="early-close"' in html and 'name="reason"' in html
    assert "Close the cycle early" in html
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("cycle-close", args=[cycle.pk]), close_form_data(html, cycle, reason="   "))
    assert response.status_code == 400 and callbacks == []
    body = response.content.decode()
    assert escape(str(closing.CLOSE_EARLY_NEEDS_REASON)) in body and "The cycle was not closed." in body
    cycle.refresh_from_db()
    assert (cycle.phase, cycle.close_reason, cycle.closing_started_at) == (phase, "", None)
    assert set(Appraisal.objects.filter(cycle=cycle).values_list("status", flat=True)) == {"open"}
    # The service says the same to any other caller.
    with pytest.raises(ValidationError) as exc:
        closing.cycle_close_start(user=org.hana, cycle=cycle)
    assert exc.value.message_dict == {"reason": [str(closing.CLOSE_EARLY_NEEDS_REASON)]}


def test_an_early_close_with_a_reason_is_kept_and_shown_on_the_cycle_page(org, client,
                                                                          django_capture_on_commit_callbacks):
    cycle = make_cycle(org, phase="self_assessment")
    three_appraisals(org, cycle)
    client.force_login(org.hana)
    html = client.get(reverse("cycle-close", args=[cycle.pk])).content.decode()
    reason = "The centre is being merged into Hangzhou: HR ends the quarter's appraisals now."
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("cycle-close", args=[cycle.pk]), close_form_data(html, cycle, reason=reason))
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.phase == "closed"
    assert (cycle.closed_early_from, cycle.close_reason, cycle.closing_started_by) == ("self_assessment", reason,
                                                                                         org.hana)
    page = client.get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    assert 'id="close-override"' in page and escape(reason) in page
    assert "closed during the Self-assessment phase by Hana HR" in page
    zh = client.get(reverse("cycle-detail", args=[cycle.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "提前关闭" in zh and escape(reason) in zh


def test_a_close_in_the_calibration_phase_needs_no_reason_and_records_who(org, client,
                                                                          django_capture_on_commit_callbacks):
    cycle = make_cycle(org)
    three_appraisals(org, cycle)
    client.force_login(org.hana)
    html = client.get(reverse("cycle-close", args=[cycle.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("cycle-close", args=[cycle.pk]), close_form_data(html, cycle)).status_code == 302
    cycle.refresh_from_db()
    assert (cycle.phase, cycle.closed_early_from, cycle.close_reason, cycle.closing_started_by) == (
        "closed", "", "", org.hana)
    assert 'id="close-override"' not in client.get(reverse("cycle-detail", args=[cycle.pk])).content.decode()


def test_the_api_refuses_an_early_close_without_a_reason(org, client, django_capture_on_commit_callbacks):
    cycle = make_cycle(org, phase="appraisal")
    three_appraisals(org, cycle)
    client.force_login(org.hana)
    url = reverse("api-cycle-close", args=[cycle.pk])
    response = client.post(url, {"reason": ""}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"reason": [str(closing.CLOSE_EARLY_NEEDS_REASON)]}
    assert ReviewCycle.objects.get(pk=cycle.pk).phase == "appraisal"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"reason": "Merged into another centre"}, content_type="application/json")
    assert response.status_code == 202 and len(callbacks) == 1
    body = response.json()
    assert (body["phase"], body["closed_early_from"], body["close_reason"]) == (
        "closing", "appraisal", "Merged into another centre")


def test_the_cycle_page_links_to_the_close_confirmation_not_a_one_click_close(org, client):
    cycle = make_cycle(org, phase="self_assessment")
    client.force_login(org.hana)
    html = client.get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    assert f'<a class="button danger" href="{reverse("cycle-close", args=[cycle.pk])}">' in html
    assert f'action="{reverse("cycle-close", args=[cycle.pk])}"' not in html
