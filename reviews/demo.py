"""Review cycles for the demo center, made through the reviews services.

Last quarter's review is in progress: launched, most self-assessments of the
inbound department submitted, some manager appraisals drafted. The quarter
before that was reviewed and closed: its appraisals carry grades and a summary.
Runs once: a second run finds the cycles and stops.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Callable

from django.db import transaction
from django.utils import timezone

from scorecard.models import OrgUnit, Person
from scorecard.periods import quarter_of

from . import appraisals, closing, services
from .models import Appraisal, Competency, ReviewCycle, default_scale

GATE_RULE = {"measure": "qa_fatal_errors", "above": 0, "cap": "D"}
GUIDELINE = {"A": 10, "B": 30}


def _deadlines(now: dt.datetime, first_in_days: int) -> dict:
    first = now + dt.timedelta(days=first_in_days)
    return {
        "self_assessment_due": first,
        "feedback_due": first + dt.timedelta(days=7),
        "appraisal_due": first + dt.timedelta(days=14),
        "calibration_due": first + dt.timedelta(days=21),
    }


def _create(hr: Person, center: OrgUnit, name: str, start: dt.date, end: dt.date, now: dt.datetime) -> ReviewCycle:
    cycle = services.cycle_create(
        user=hr, name=name, period_start=start, period_end=end, units=[center], scale=default_scale(),
        weight_objectives=70, weight_competencies=30, weight_feedback=0, gate_rule=GATE_RULE,
        guideline=GUIDELINE, **_deadlines(now, 5),
    )
    services.cycle_launch(user=hr, cycle=cycle)
    return cycle


def _self_assess(appraisal: Appraisal, rng: random.Random, submit: bool) -> None:
    appraisal = appraisals.appraisal_prepare(appraisal=appraisal)
    ratings = {
        r.objective_id: {"self_rating": round(min(100, max(40, (r.system_score or 75) + rng.uniform(-5, 10)))),
                         "self_comment": "Used the resolution checklist on most calls."}
        for r in appraisal.objective_ratings.all()
    }
    appraisals.appraisal_self_save(
        user=appraisal.person, appraisal=appraisal, objectives=ratings, submit=submit,
        achievements="Handled the October peak without overtime; mentored a new colleague.",
        difficulties="Refund questions still need the back office.",
        help_wanted="Coaching on complex billing cases; the advanced product course.",
    )


def _manager_draft(appraisal: Appraisal, manager: Person, competencies, rng: random.Random) -> None:
    appraisals.appraisal_prepare(appraisal=appraisal)
    appraisals.appraisal_manager_save(
        user=manager, appraisal=appraisal,
        competencies={c.code: {"score": rng.choice([3, 3, 4, 4, 4, 5]), "comment": ""} for c in competencies},
        manager_comments="Reliable and well liked by customers; keep working on first-contact resolution.",
    )


def load_reviews_demo(*, today: dt.date, log: Callable[[str], None] = lambda message: None) -> int:
    """Create the in-progress and the closed review cycles; return how many cycles were made."""
    hr = Person.objects.filter(role="hr").order_by("employee_code").first()
    center = OrgUnit.objects.filter(parent__isnull=True).first()
    last_start, last_end = quarter_of(quarter_of(today)[0] - dt.timedelta(days=1))
    before_start, before_end = quarter_of(last_start - dt.timedelta(days=1))
    if hr is None or center is None or ReviewCycle.objects.filter(period_start=last_start).exists():
        log("Review cycles: already there.")
        return 0
    rng = random.Random(11)
    now = timezone.now()
    competencies = list(Competency.objects.filter(active=True))
    with transaction.atomic():
        closed = _create(hr, center, f"{before_start:%Y} Q{(before_start.month - 1) // 3 + 1} review", before_start, before_end, now)
        for appraisal in closed.appraisals.select_related("person", "manager"):
            _self_assess(appraisal, rng, submit=True)
            if appraisal.manager is not None and rng.random() < 0.95:
                _manager_draft(appraisal, appraisal.manager, competencies, rng)
        closing.cycle_close_start(user=hr, cycle=closed)
        closing.close_cycle(cycle_id=closed.pk)
        # It ran last quarter: its deadlines are history.
        ReviewCycle.objects.filter(pk=closed.pk).update(
            **_deadlines(timezone.make_aware(dt.datetime.combine(before_end, dt.time(18))), 10)
        )

        current = _create(hr, center, f"{last_start:%Y} Q{(last_start.month - 1) // 3 + 1} review", last_start, last_end, now)
        for appraisal in current.appraisals.select_related("person", "manager", "unit"):
            inbound = appraisal.unit.code.startswith("IN-")
            if inbound and rng.random() < 0.8:
                _self_assess(appraisal, rng, submit=rng.random() < 0.85)
            if appraisal.unit.code in ("IN-01", "IN-02") and appraisal.manager is not None:
                _manager_draft(appraisal, appraisal.manager, competencies, rng)
    log(f"Review cycles: {closed.name} closed, {current.name} in progress.")
    return 2
