"""Calibration: the grade distribution per unit against the cycle's guideline, and HR's adjustment of a grade.

The current grade of an appraisal is its calibrated grade, else its proposed
grade. The distribution counts current grades per unit and overall; a grade's
share is taken of the appraisals that have a grade (those without one are
counted apart), and is flagged when it exceeds the guideline's maximum.

Only HR (and superusers: closing.user_can_close) calibrate; the grade, the
reason, who and when stay on the appraisal, and the close keeps the
calibrated grade as the final one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard.audit import audit_record
from scorecard.models import AuditEvent

from .closing import user_can_close
from .models import Appraisal, ReviewCycle

Phase = ReviewCycle.Phase

CALIBRATE_NOT_ALLOWED = _("Only HR may calibrate grades.")
CALIBRATE_NOT_LAUNCHED = _("This cycle has not been launched: there is nothing to calibrate.")
CALIBRATE_CYCLE_OVER = _("The cycle is closing or closed: grades can no longer be calibrated.")
CALIBRATE_APPRAISAL_CLOSED = _("This appraisal is closed: its grade can no longer be calibrated.")
CALIBRATE_UNKNOWN_GRADE = _("“%(grade)s” is not a grade of the cycle's scale.")
CALIBRATE_REASON_REQUIRED = _("Give the reason for the calibration.")


def current_grade(appraisal: Appraisal) -> str:
    return appraisal.calibrated_grade or appraisal.proposed_grade


# ---------------------------------------------------------------- selector


@dataclass
class GradeShare:
    grade: str
    label: str
    count: int = 0
    percent: float = 0.0
    guideline: float | None = None  # the most the grade may hold, in %; None: no limit
    exceeded: bool = False


@dataclass
class UnitDistribution:
    unit_id: int | None
    code: str
    name: str
    appraisals: int = 0
    graded: int = 0
    ungraded: int = 0
    grades: list[GradeShare] = field(default_factory=list)
    people: list[Appraisal] = field(default_factory=list)

    @property
    def exceeded(self) -> bool:
        return any(g.exceeded for g in self.grades)


@dataclass
class Distribution:
    units: list[UnitDistribution]
    overall: UnitDistribution
    grades: list[dict]  # the cycle's scale rows, best grade first

    @property
    def exceeded(self) -> bool:
        return self.overall.exceeded or any(u.exceeded for u in self.units)


def _guideline(cycle: ReviewCycle) -> dict[str, float]:
    limits = {}
    for grade, pct in (cycle.guideline or {}).items():
        try:
            limits[str(grade)] = float(pct)
        except (TypeError, ValueError):
            continue
    return limits


def _shares(row: UnitDistribution, counts: dict[str, int], scale: list[dict], limits: dict[str, float]) -> None:
    grades = [str(g.get("grade")) for g in scale]
    # Grades held but not in the scale (should not happen) are still counted, after the scale's.
    extra = sorted(g for g in counts if g not in grades)
    labels = {str(g.get("grade")): g.get("label", "") for g in scale}
    for grade in grades + extra:
        n = counts.get(grade, 0)
        limit = limits.get(grade)
        row.grades.append(GradeShare(
            grade=grade, label=labels.get(grade, ""), count=n,
            percent=round(100 * n / row.graded, 1) if row.graded else 0.0,
            guideline=limit,
            exceeded=limit is not None and row.graded > 0 and n * 100 > limit * row.graded,
        ))


def calibration_distribution(cycle: ReviewCycle, appraisals: QuerySet[Appraisal]) -> Distribution:
    """Count the current grades of these appraisals of the cycle per unit and overall, against the guideline.

    One query: the appraisals with their people, units and calibrators; each
    unit lists its people (score, proposed and calibrated grade) in order.
    """
    rows = list(
        appraisals.filter(cycle_id=cycle.pk)
        .select_related("person", "unit", "calibrated_by")
        .defer("snapshot")
        .order_by("unit__path", "person__employee_code")
    )
    scale = list(cycle.scale or [])
    limits = _guideline(cycle)
    units: dict[int, UnitDistribution] = {}
    unit_counts: dict[int, dict[str, int]] = {}
    overall = UnitDistribution(unit_id=None, code="", name="")
    overall_counts: dict[str, int] = {}
    for a in rows:
        a.current_grade = current_grade(a)
        unit = units.get(a.unit_id)
        if unit is None:
            unit = units[a.unit_id] = UnitDistribution(unit_id=a.unit_id, code=a.unit.code, name=a.unit.name)
            unit_counts[a.unit_id] = {}
        for row, counts in ((unit, unit_counts[a.unit_id]), (overall, overall_counts)):
            row.appraisals += 1
            if a.current_grade:
                row.graded += 1
                counts[a.current_grade] = counts.get(a.current_grade, 0) + 1
            else:
                row.ungraded += 1
        unit.people.append(a)
        overall.people.append(a)
    for unit_id, unit in units.items():
        _shares(unit, unit_counts[unit_id], scale, limits)
    _shares(overall, overall_counts, scale, limits)
    return Distribution(units=list(units.values()), overall=overall, grades=scale)


# ----------------------------------------------------------------- service


def calibration_open(cycle: ReviewCycle) -> bool:
    """Whether grades of the cycle may be calibrated: launched, and not closing or closed."""
    return cycle.launched_at is not None and cycle.phase not in (Phase.DRAFT, Phase.CLOSING, Phase.CLOSED)


@transaction.atomic
def appraisal_calibrate(*, user, appraisal: Appraisal, grade: str | None, reason: str | None) -> Appraisal:
    """Set (or, with an empty grade, clear) the appraisal's calibrated grade, with the reason, who and when.

    HR only (PermissionDenied otherwise). Refused, nothing saved, when the
    cycle is not launched or is closing or closed, when the appraisal is
    closed, when the grade is not one of the scale's, or without a reason.
    """
    if not user_can_close(user):
        raise PermissionDenied(CALIBRATE_NOT_ALLOWED)
    cycle = appraisal.cycle
    if cycle.launched_at is None or cycle.phase == Phase.DRAFT:
        raise ValidationError(CALIBRATE_NOT_LAUNCHED)
    if cycle.phase in (Phase.CLOSING, Phase.CLOSED):
        raise ValidationError(CALIBRATE_CYCLE_OVER)
    if appraisal.status != Appraisal.Status.OPEN:
        raise ValidationError(CALIBRATE_APPRAISAL_CLOSED)
    grade = (grade or "").strip()
    reason = (reason or "").strip()
    errors: dict[str, list] = {}
    grades = {str(row.get("grade")) for row in cycle.scale or []}
    if grade and grade not in grades:
        errors["grade"] = [ValidationError(CALIBRATE_UNKNOWN_GRADE, params={"grade": grade[:20]})]
    if not reason:
        errors["reason"] = [CALIBRATE_REASON_REQUIRED]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    # Conditional: the close may have claimed the appraisal (or started) since it was read.
    updated = Appraisal.objects.filter(
        pk=appraisal.pk, status=Appraisal.Status.OPEN,
        cycle__phase__in=ReviewCycle.TIMED_PHASES,
    ).update(calibrated_grade=grade, calibration_reason=reason, calibrated_by=user, calibrated_at=now)
    if not updated:
        raise ValidationError(CALIBRATE_APPRAISAL_CLOSED)
    audit_record(AuditEvent.Action.CALIBRATED, actor=user, target=appraisal,
                 details={"from": appraisal.calibrated_grade or None, "to": grade or None, "reason": reason})
    appraisal.calibrated_grade = grade
    appraisal.calibration_reason = reason
    appraisal.calibrated_by = user
    appraisal.calibrated_at = now
    return appraisal
