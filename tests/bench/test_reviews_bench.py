"""Reviews benchmark: closing a review cycle of 2,000 appraisals, and of 500 to show the queries do not grow.

`make bench` runs it beside test_scale.py and prints the figures: total time,
appraisals per second and queries per appraisal and per batch. The 2,000
agents (5 departments × 20 teams), 30 days of their data, the snapshots and
the ratings are built in bulk inside the test's transaction (rolled back
afterwards, so the other benchmarks start from an empty database).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews import closing
from reviews.feedback import questionnaire_for
from reviews.models import (
    Appraisal, Competency, CompetencyRating, FeedbackAnswer, FeedbackRequest, FeedbackResponse, ObjectiveRating,
    ReviewCycle,
)
from scorecard import demo, imports
from scorecard.models import Measure, Measurement, Person
from tests.reviews.test_closing import PERIOD_START, make_cycle, snapshot

DEPARTMENTS, TEAMS_PER_DEPARTMENT, AGENTS, DAYS = 5, 20, 2000, 30
BATCH = 250  # 500 and 2,000 are whole batches: every batch the same size
MEASURES = ("contacts_handled", "first_contact_resolved", "qa_fatal_errors")


def _build_center():
    plan = demo.plan_center(seed=7, agents=AGENTS, departments=demo.generic_departments(DEPARTMENTS, TEAMS_PER_DEPARTMENT))
    imports.import_org(demo.org_csv(plan))
    imports.import_people(demo.people_csv(plan))
    agents = list(Person.objects.filter(role="agent").order_by("employee_code")[:AGENTS])
    measure_ids = dict(Measure.objects.filter(code__in=MEASURES).values_list("code", "pk"))
    rows = []
    for i, agent in enumerate(agents):
        for day in range(DAYS):
            date = PERIOD_START + dt.timedelta(days=day)
            handled = 40 + (i + day) % 20
            rows.append(Measurement(date=date, unit_id=agent.unit_id, person_id=agent.pk,
                                    measure_id=measure_ids["contacts_handled"], value=handled))
            rows.append(Measurement(date=date, unit_id=agent.unit_id, person_id=agent.pk,
                                    measure_id=measure_ids["first_contact_resolved"],
                                    value=round(handled * (0.6 + (i % 25) / 100))))
            if i % 17 == 0 and day == 3:
                rows.append(Measurement(date=date, unit_id=agent.unit_id, person_id=agent.pk,
                                        measure_id=measure_ids["qa_fatal_errors"], value=1))
    Measurement.objects.bulk_create(rows, batch_size=5000)
    return agents


def _cycle_of(org_hr, agents, name: str) -> ReviewCycle:
    class _Org:  # make_cycle needs only the HR author and the root unit
        hana = org_hr
        center = agents[0].unit.parent.parent if agents[0].unit.parent else agents[0].unit

    cycle = make_cycle(_Org, name=name)
    shot = snapshot()
    appraisals = Appraisal.objects.bulk_create(
        [Appraisal(cycle=cycle, person=a, manager_id=a.manager_id, unit_id=a.unit_id, snapshot=shot,
                   self_status=["pending", "draft", "submitted"][i % 3], manager_status=["submitted", "draft"][i % 2],
                   calibrated_grade="B" if i % 29 == 0 else "")
         for i, a in enumerate(agents)],
        batch_size=1000,
    )
    ObjectiveRating.objects.bulk_create(
        [ObjectiveRating(appraisal=a, objective_id=oid, title="x", weight=w,
                         manager_rating=(55 + i % 45) if (oid == 102 and i % 4) else None)
         for i, a in enumerate(appraisals) for oid, w in ((101, 60), (102, 40))],
        batch_size=2000,
    )
    competencies = list(Competency.objects.all()[:3])
    CompetencyRating.objects.bulk_create(
        [CompetencyRating(appraisal=a, competency=c, score=1 + (i + j) % 5)
         for i, a in enumerate(appraisals) for j, c in enumerate(competencies)],
        batch_size=2000,
    )
    _feedback_of(cycle, agents, appraisals)
    ReviewCycle.objects.filter(pk=cycle.pk).update(phase="closing", closing_total=len(appraisals))
    return cycle


def _feedback_of(cycle, agents, appraisals) -> None:
    """360 for every appraisal: self, supervisor and three peers asked; the supervisor and two or three
    peers answered (five competencies each), so the peer group is shown for two appraisals in three."""
    questionnaire = questionnaire_for(None)
    ReviewCycle.objects.filter(pk=cycle.pk).update(questionnaire=questionnaire)
    codes = [q["code"] for q in questionnaire]
    n = len(agents)
    requests, responses, answers = [], [], []
    for i, (agent, appraisal) in enumerate(zip(agents, appraisals)):
        peers = [agents[(i + j) % n] for j in (1, 2, 3)]
        answered_peers = 3 if i % 3 else 2
        requests.append(FeedbackRequest(cycle=cycle, appraisal=appraisal, relationship="self", rater=agent,
                                        status="open"))
        for j, peer in enumerate(peers):
            requests.append(FeedbackRequest(cycle=cycle, appraisal=appraisal, relationship="peer", rater=peer,
                                            status="submitted" if j < answered_peers else "open"))
            if j < answered_peers:
                responses.append(FeedbackResponse(appraisal=appraisal, relationship="peer"))
        if agent.manager_id:
            requests.append(FeedbackRequest(cycle=cycle, appraisal=appraisal, relationship="supervisor",
                                            rater_id=agent.manager_id, status="submitted"))
    FeedbackRequest.objects.bulk_create(requests, batch_size=2000)
    supervisors = {r.appraisal_id: r for r in requests if r.relationship == "supervisor"}
    responses += [FeedbackResponse(appraisal_id=aid, relationship="supervisor", request=r)
                  for aid, r in supervisors.items()]
    FeedbackResponse.objects.bulk_create(responses, batch_size=2000)
    for k, response in enumerate(responses):
        answers += [FeedbackAnswer(response=response, code=code, score=1 + (k + j) % 5) for j, code in enumerate(codes)]
    FeedbackAnswer.objects.bulk_create(answers, batch_size=5000)


def _close(cycle) -> tuple[float, int]:
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        closed = closing.close_cycle(cycle_id=cycle.pk, batch_size=BATCH)
        seconds = time.perf_counter() - started
    assert closed.phase == "closed"
    return seconds, len(ctx)


@pytest.mark.django_db
def test_reviews_bench():
    started = time.perf_counter()
    agents = _build_center()
    hr = Person.objects.filter(role__in=["hr", "director"]).first() or agents[0]
    small = _cycle_of(hr, agents[:500], "500")
    large = _cycle_of(hr, agents, "2000")
    build_seconds = time.perf_counter() - started

    small_seconds, small_queries = _close(small)
    large_seconds, large_queries = _close(large)

    n_small, n_large = 500, AGENTS
    batches_small, batches_large = -(-n_small // BATCH), -(-n_large // BATCH)
    # Fixed per run: loading the cycle, the empty claim that ends the loop, "anything left open?",
    # the summary (2 queries), the closed phase. The rest repeats per batch.
    fixed = large_queries - batches_large * ((large_queries - small_queries) // (batches_large - batches_small))
    per_batch_large = (large_queries - fixed) / batches_large
    per_batch_small = (small_queries - fixed) / batches_small
    assert per_batch_large == per_batch_small  # constant: the queries do not grow with the cycle
    assert large_queries / n_large < 0.1
    assert Appraisal.objects.filter(cycle=large, status="open").count() == 0
    summary = ReviewCycle.objects.get(pk=large.pk).summary
    assert summary["appraisals"] == n_large
    assert not Appraisal.objects.filter(cycle=large, feedback_score__isnull=True).exists()
    assert summary["feedback_not_submitted"] == n_large // 3 + (1 if n_large % 3 else 0) + n_large  # peers + self

    lines = [
        "",
        f"Reviews bench ({connection.vendor}); built {AGENTS} agents, {DAYS} days, two cycles in {build_seconds:.1f} s",
        f"{'close':<26}{'appraisals':>11}{'seconds':>9}{'appr/s':>9}{'queries':>9}{'q/appraisal':>13}{'q/batch':>9}",
    ]
    for label, n, seconds, queries, per_batch in (
        ("cycle of 500", n_small, small_seconds, small_queries, per_batch_small),
        ("cycle of 2,000", n_large, large_seconds, large_queries, per_batch_large),
    ):
        lines.append(f"{label:<26}{n:>11}{seconds:>9.2f}{n / seconds:>9.0f}{queries:>9}{queries / n:>13.4f}"
                     f"{per_batch:>9.0f}")
    lines.append(f"batch size {BATCH}; fixed queries per run {fixed}; grades {summary['grades']}; "
                 f"mean score {summary['mean_score']}")
    print("\n".join(lines))
