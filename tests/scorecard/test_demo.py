import datetime as dt
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from reviews import feedback
from reviews.models import Appraisal, FeedbackAnswer, FeedbackRequest, FeedbackResponse, ReviewCycle
from scorecard import demo
from scorecard.models import Measurement, OrgUnit, Person

END = dt.date(2026, 3, 31)


def counts() -> tuple[int, int, int, float]:
    values = sorted(Measurement.objects.values_list("date", "unit_id", "person_id", "measure_id", "value"), key=repr)
    return OrgUnit.objects.count(), Person.objects.count(), len(values), hash(tuple(values))


def review_counts() -> tuple:
    """The review cycles, their appraisals' results and their 360: requests by status, answers, drafts."""
    return (
        sorted(ReviewCycle.objects.values_list("name", "phase")),
        sorted(Appraisal.objects.values_list("cycle__name", "person__employee_code", "status", "feedback_score",
                                             "overall_score", "final_grade"), key=repr),
        sorted(Counter(FeedbackRequest.objects.values_list("cycle__name", "relationship", "status", "origin")).items()),
        FeedbackRequest.objects.exclude(draft={}).count(),
        FeedbackResponse.objects.count(),
        sorted(FeedbackAnswer.objects.values_list("response__relationship", "code", "score"), key=repr),
    )


@pytest.mark.django_db
def test_load_demo_builds_the_center_and_a_second_run_changes_nothing(capsys):
    call_command("load_demo", agents=24, days=10, end=END)

    center = OrgUnit.objects.get(code=demo.CENTER_CODE)
    assert center.parent is None
    assert OrgUnit.objects.filter(parent=center).count() == 3
    assert OrgUnit.objects.filter(depth=2).count() == 12
    assert Person.objects.filter(role="agent").count() == 24
    assert Person.objects.filter(role="director").count() == 1
    assert Person.objects.filter(role="hr").count() == 2
    assert Person.objects.filter(role="manager").count() == 3 + 12
    dates = set(Measurement.objects.values_list("date", flat=True))
    assert min(dates) == END - dt.timedelta(days=9) and max(dates) == END
    agent_measures = set(Measurement.objects.filter(person__role="agent").values_list("measure__code", flat=True))
    assert set(demo.AGENT_MEASURES) <= agent_measures | {"esat_responses", "esat_satisfied"}
    queue = set(Measurement.objects.filter(person__isnull=True).values_list("measure__code", flat=True))
    assert queue == set(demo.QUEUE_MEASURES)
    agent = Person.objects.get(employee_code="E1001")
    assert agent.check_password(demo.DEMO_PASSWORD)
    # Every demo person signs in, not only the printed logins (the journeys act as other teams' managers and agents).
    for code in ("E0101", "E0106", "E1005", "E1023"):
        assert Person.objects.get(employee_code=code).check_password(demo.DEMO_PASSWORD), code
    out = capsys.readouterr().out
    assert "http://127.0.0.1:" in out
    assert "/feedback/t/" not in out  # customers' links are handed over, never printed

    before, reviews_before = counts(), review_counts()
    call_command("load_demo", agents=24, days=10, end=END)
    assert counts() == before
    assert review_counts() == reviews_before
    # Even regenerating every day replaces values by the same values.
    call_command("load_demo", agents=24, days=10, end=END, reload=True)
    assert counts() == before


def test_generation_is_deterministic_per_day():
    plan = demo.plan_center(seed=3, agents=30)
    day = dt.date(2026, 2, 2)
    assert demo.day_rows(plan, day) == demo.day_rows(demo.plan_center(seed=3, agents=30), day)
    agent_file, team_file = demo.measurement_csvs(plan, [day, day + dt.timedelta(days=1)])
    assert agent_file.splitlines()[0] == ",".join(("date", "subject") + demo.AGENT_MEASURES)
    assert team_file.splitlines()[0] == "date,subject,contacts_offered,answered_in_sl,abandoned"


@pytest.mark.django_db
def test_the_demo_reviews_carry_360_feedback():
    # By default the figures start on the first day of the quarter before last: both cycles' periods.
    call_command("load_demo", agents=24, end=END, verbosity=0)
    closed = ReviewCycle.objects.get(phase="closed")
    current = ReviewCycle.objects.get(phase="self_assessment")
    assert (closed.period_start, current.period_start) == (dt.date(2025, 10, 1), dt.date(2026, 1, 1))
    dates = Measurement.objects.values_list("date", flat=True)
    assert (min(dates), max(dates)) == (dt.date(2025, 10, 1), END)
    S = FeedbackRequest.Status

    # The closed cycle ran as a real one, in the month after its period: its own objectives with results,
    # appraisals submitted, interviews held, most signed (one with a disagreement), two grades calibrated;
    # the demo agent's went through every step.
    appraisals = Appraisal.objects.filter(cycle=closed)
    assert appraisals.filter(manager_status="submitted").count() > 0.85 * appraisals.count()
    assert appraisals.filter(acknowledged_at__isnull=False).count() > 0.6 * appraisals.count()
    assert appraisals.exclude(disagreement="").count() == 1
    assert appraisals.exclude(calibrated_grade="").count() == 2
    after = (closed.period_end, closed.period_end + dt.timedelta(days=31))
    for field in ("self_submitted_at", "manager_submitted_at", "interview_at", "acknowledged_at", "closed_at"):
        moments = [timezone.localdate(m) for m in appraisals.exclude(**{field: None}).values_list(field, flat=True)]
        assert moments and after[0] < min(moments) <= max(moments) <= after[1], field
    assert after[0] < timezone.localdate(closed.launched_at) < timezone.localdate(closed.closed_at) <= after[1]
    mine = appraisals.get(person__employee_code="E1001")
    assert mine.manager_status == "submitted" and mine.interview_at and mine.acknowledged_at
    assert [o["title"] for o in mine.snapshot["objectives"]] == [
        "First-contact resolution at 72%", "Average handle time at 370 s"]
    assert all(r.actual is not None and r.system_score is not None for r in mine.objective_ratings.all())

    # The closed cycle: answered before its close, the rest marked; results and a 360 score on its appraisals.
    statuses = set(FeedbackRequest.objects.filter(cycle=closed).values_list("status", flat=True))
    assert statuses <= {S.SUBMITTED, S.NOT_SUBMITTED, S.REJECTED} and S.NOT_SUBMITTED in statuses
    assert closed.summary["feedback_asked"] > closed.summary["feedback_answered"] > 0
    assert FeedbackRequest.objects.filter(cycle=closed, status=S.NOT_SUBMITTED).exclude(draft={}).exists()
    appraisals = list(appraisals.select_related("cycle"))
    assert sum(a.feedback_score is not None for a in appraisals) > len(appraisals) / 2
    groups = [g for a in appraisals for g in feedback.feedback_results(a).groups if g.anonymous]
    assert any(g.shown and g.count >= closed.anonymity_threshold for g in groups)
    assert any(not g.shown and g.count is None for g in groups)
    assert FeedbackResponse.objects.filter(appraisal__cycle=closed, relationship="customer").exists()
    assert not FeedbackResponse.objects.filter(appraisal__cycle=closed, relationship__in=FeedbackRequest.ANONYMOUS,
                                               request__isnull=False).exists()

    # The cycle in progress: one team's suggestions and the demo agent's nomination await approval;
    # customers have links (only their hash kept); answers partly in, some drafts; no results yet.
    proposed = FeedbackRequest.objects.filter(cycle=current, status=S.PROPOSED)
    assert set(proposed.filter(origin="suggested").values_list("appraisal__unit__code", flat=True)) == {"CO-02"}
    nominated = proposed.get(origin="nominated")
    assert (nominated.appraisal.person.employee_code, nominated.proposed_by.employee_code) == ("E1001", "E1001")
    customers = FeedbackRequest.objects.filter(cycle=current, relationship="customer")
    assert customers.exists() and not customers.filter(token_hash__isnull=True).exists()
    assert set(customers.values_list("status", flat=True)) == {S.OPEN}
    assert FeedbackRequest.objects.filter(cycle=current, status=S.OPEN).exclude(draft={}).exists()
    answered = Counter(FeedbackRequest.objects.filter(cycle=current).values_list("status", flat=True))
    assert answered[S.SUBMITTED] > 0 and answered[S.OPEN] > 0
    assert not feedback.results_available(current)
