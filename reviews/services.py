"""Write use cases of review cycles: create, edit and launch.

Only HR, directors and superusers run cycles. Every refusal is a
ValidationError with messages by field (or PermissionDenied for who may);
nothing is saved when any rule fails.

A draft cycle may change in every respect. Once launched, the appraisals are
scored against its scale and weights, so those are frozen: only the deadlines
may move, and only later.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard.access import subtrees_q
from scorecard.audit import audit_record
from scorecard.models import AuditEvent, Measure, OrgUnit, Person

from .feedback import default_template, questionnaire_for, suggestions_build
from .models import ANONYMITY_FLOOR, Appraisal, FeedbackRequest, ObjectiveRating, ReviewCycle
from .snapshot import snapshot_for, snapshot_inputs, snapshot_library

Phase = ReviewCycle.Phase

NOT_CYCLE_MANAGER = _("Only HR and directors run review cycles.")
NAME_REQUIRED = _("Give the cycle a name.")
PERIOD_NOT_ORDERED = _("The period must end on or after its start.")
NO_UNITS = _("Choose at least one participating unit.")
WEIGHT_NEGATIVE = _("A weight cannot be negative.")
WEIGHT_NOT_NUMBER = _("Enter a number.")
WEIGHTS_NOT_100 = _("The weights of objectives, competencies and 360 feedback must add up to 100 (now %(total)s).")
OBJECTIVES_WEIGHT_ZERO = _("Objective and KPI results must carry some weight.")
DEADLINE_REQUIRED = _("Give this deadline.")
DEADLINE_BEFORE_PERIOD = _("The self-assessment deadline must be after the start of the period.")
DEADLINE_NOT_AFTER = _("This deadline must be after the %(previous)s deadline.")
SCALE_EMPTY = _("The scale needs at least one grade.")
SCALE_ROW_SHAPE = _("Row %(row)s: give a grade, a label, a minimum and a maximum score.")
SCALE_GRADE_TOO_LONG = _("Row %(row)s: a grade has at most 8 characters.")
SCALE_GRADE_TWICE = _("Grade “%(grade)s” appears twice.")
SCALE_LABEL_REQUIRED = _("Grade “%(grade)s” needs a label.")
SCALE_MIN_NOT_BELOW_MAX = _("Grade “%(grade)s”: the minimum must be below the maximum.")
SCALE_OUT_OF_RANGE = _("Grade “%(grade)s”: scores go from 0 to 100.")
SCALE_NOT_FROM_0 = _("The lowest grade must start at 0.")
SCALE_NOT_TO_100 = _("The highest grade must end at 100.")
SCALE_GAP = _("Scores from %(start)s to %(end)s have no grade.")
SCALE_OVERLAP = _("Grades “%(a)s” and “%(b)s” overlap.")
GATE_SHAPE = _("A gate rule needs a measure, a limit and the grade it caps at.")
GATE_UNKNOWN_MEASURE = _("Unknown measure “%(code)s”.")
GATE_ABOVE = _("The limit must be a number of at least 0.")
GATE_UNKNOWN_GRADE = _("“%(grade)s” is not a grade of the scale.")
GUIDELINE_SHAPE = _("The guideline gives, per grade, the most a unit may hold of it, in %.")
GUIDELINE_UNKNOWN_GRADE = _("“%(grade)s” is not a grade of the scale.")
GUIDELINE_RANGE = _("Grade “%(grade)s”: give a percentage from 0 to 100.")
THRESHOLD_RANGE = _("Give a whole number of at least 1.")
ANONYMITY_TOO_LOW = _(
    "At least %(limit_value)s: with fewer answers in a group, an answer can be traced back to who gave it."
)
TEMPLATE_NOT_IN_USE = _("This questionnaire is not in use.")
NOT_DRAFT_FROZEN = _("The cycle was launched: its %(field)s can no longer change; only deadlines may move, and only later.")
DEADLINE_EARLIER = _("After launch a deadline may only move later (now %(due)s).")
CYCLE_OVER = _("The cycle is closing or closed: it can no longer change.")
ALREADY_LAUNCHED = _("The cycle was already launched.")
NO_PARTICIPANTS = _("No active agent or manager works in the participating units: nobody to appraise.")

DEADLINES = ("self_assessment_due", "feedback_due", "appraisal_due", "calibration_due")
DEADLINE_PHASE = dict(zip(DEADLINES, ReviewCycle.TIMED_PHASES))
WEIGHTS = ("weight_objectives", "weight_competencies", "weight_feedback")
SETTINGS = (
    "name", "period_start", "period_end", "units", "scale", *WEIGHTS, *DEADLINES,
    "gate_rule", "guideline", "anonymity_threshold", "max_requests_per_rater", "feedback_template",
)
# Roles appraised in a cycle: HR and directors run it, they are not rated in it.
PARTICIPANT_ROLES = (Person.Role.AGENT, Person.Role.MANAGER)


def can_manage_cycles(user) -> bool:
    return bool(
        user and user.is_authenticated
        and (user.is_superuser or user.role in (Person.Role.HR, Person.Role.DIRECTOR))
    )


def _require_manager(user) -> None:
    if not can_manage_cycles(user):
        raise PermissionDenied(NOT_CYCLE_MANAGER)


# ---------------------------------------------------------------- validation


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt(x: float) -> str:
    return f"{x:g}"


def _check_weights(values: dict, errors: dict) -> None:
    weights = {}
    for name in WEIGHTS:
        number = _number(values.get(name))
        if number is None:
            errors.setdefault(name, []).append(str(WEIGHT_NOT_NUMBER))
        elif number < 0:
            errors.setdefault(name, []).append(str(WEIGHT_NEGATIVE))
        else:
            weights[name] = number
    if len(weights) != len(WEIGHTS):
        return
    total = sum(weights.values())
    if abs(total - 100) > 1e-6:
        errors.setdefault("weights", []).append(str(WEIGHTS_NOT_100 % {"total": _fmt(round(total, 6))}))
    if weights["weight_objectives"] <= 0:
        errors.setdefault("weight_objectives", []).append(str(OBJECTIVES_WEIGHT_ZERO))


def _check_deadlines(values: dict, errors: dict) -> None:
    labels = dict(ReviewCycle.Phase.choices)
    previous = None
    for name in DEADLINES:
        due = values.get(name)
        if not isinstance(due, dt.datetime):
            errors.setdefault(name, []).append(str(DEADLINE_REQUIRED))
            previous = None
            continue
        if previous is not None and due <= values[previous]:
            errors.setdefault(name, []).append(
                str(DEADLINE_NOT_AFTER % {"previous": str(labels[DEADLINE_PHASE[previous]]).lower()})
            )
        previous = name
    start, due = values.get("period_start"), values.get("self_assessment_due")
    if isinstance(start, dt.date) and isinstance(due, dt.datetime):
        local = timezone.localtime(due) if timezone.is_aware(due) else due
        if local.date() <= start:
            errors.setdefault("self_assessment_due", []).append(str(DEADLINE_BEFORE_PERIOD))


def clean_scale(scale) -> tuple[list[dict], list[str]]:
    """Check a rating scale; (the rows, cleaned and best grade first, messages)."""
    if not isinstance(scale, (list, tuple)) or not scale:
        return [], [str(SCALE_EMPTY)]
    rows, errors, seen = [], [], set()
    for number, row in enumerate(scale, start=1):
        if not isinstance(row, dict):
            errors.append(str(SCALE_ROW_SHAPE % {"row": number}))
            continue
        grade = str(row.get("grade") or "").strip()
        label = str(row.get("label") or "").strip()
        low, high = _number(row.get("min")), _number(row.get("max"))
        if not grade or low is None or high is None:
            errors.append(str(SCALE_ROW_SHAPE % {"row": number}))
            continue
        if len(grade) > 8:
            errors.append(str(SCALE_GRADE_TOO_LONG % {"row": number}))
            continue
        if grade.casefold() in seen:
            errors.append(str(SCALE_GRADE_TWICE % {"grade": grade}))
            continue
        seen.add(grade.casefold())
        if not label:
            errors.append(str(SCALE_LABEL_REQUIRED % {"grade": grade}))
        if low >= high:
            errors.append(str(SCALE_MIN_NOT_BELOW_MAX % {"grade": grade}))
            continue
        if low < 0 or high > 100:
            errors.append(str(SCALE_OUT_OF_RANGE % {"grade": grade}))
            continue
        rows.append({
            "grade": grade, "label": label, "min": low, "max": high,
            "description": str(row.get("description") or "").strip(),
        })
    if len(rows) != len(scale) or not rows:
        # Some row could not be read: its range is unknown, so coverage cannot be judged.
        return rows, errors or [str(SCALE_EMPTY)]
    ordered = sorted(rows, key=lambda r: r["min"])
    if ordered[0]["min"] != 0:
        errors.append(str(SCALE_NOT_FROM_0))
    if ordered[-1]["max"] != 100:
        errors.append(str(SCALE_NOT_TO_100))
    for below, above in zip(ordered, ordered[1:]):
        if above["min"] > below["max"]:
            errors.append(str(SCALE_GAP % {"start": _fmt(below["max"]), "end": _fmt(above["min"])}))
        elif above["min"] < below["max"]:
            errors.append(str(SCALE_OVERLAP % {"a": below["grade"], "b": above["grade"]}))
    return list(reversed(ordered)), errors


def clean_gate_rule(gate_rule, grades: Sequence[str]) -> tuple[dict, list[str]]:
    if not gate_rule:
        return {}, []
    if not isinstance(gate_rule, dict) or not all(gate_rule.get(k) not in (None, "") for k in ("measure", "above", "cap")):
        return {}, [str(GATE_SHAPE)]
    errors = []
    code, cap = str(gate_rule["measure"]).strip(), str(gate_rule["cap"]).strip()
    above = _number(gate_rule["above"])
    if not Measure.objects.filter(code=code).exists():
        errors.append(str(GATE_UNKNOWN_MEASURE % {"code": code}))
    if above is None or above < 0:
        errors.append(str(GATE_ABOVE))
    if grades and cap not in grades:
        errors.append(str(GATE_UNKNOWN_GRADE % {"grade": cap}))
    return {"measure": code, "above": above, "cap": cap}, errors


def clean_guideline(guideline, grades: Sequence[str]) -> tuple[dict, list[str]]:
    if not guideline:
        return {}, []
    if not isinstance(guideline, dict):
        return {}, [str(GUIDELINE_SHAPE)]
    clean, errors = {}, []
    for grade, pct in guideline.items():
        grade = str(grade).strip()
        if grades and grade not in grades:
            errors.append(str(GUIDELINE_UNKNOWN_GRADE % {"grade": grade}))
            continue
        number = _number(pct)
        if number is None or not 0 <= number <= 100:
            errors.append(str(GUIDELINE_RANGE % {"grade": grade}))
            continue
        clean[grade] = number
    return clean, errors


def _validate(values: dict) -> dict:
    """Check every setting; return the cleaned values or raise ValidationError by field."""
    errors: dict[str, list[str]] = {}
    clean = dict(values)
    clean["name"] = str(values.get("name") or "").strip()
    if not clean["name"]:
        errors["name"] = [str(NAME_REQUIRED)]
    start, end = values.get("period_start"), values.get("period_end")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and start > end:
        errors["period_end"] = [str(PERIOD_NOT_ORDERED)]
    if not list(values.get("units") or []):
        errors["units"] = [str(NO_UNITS)]
    _check_weights(values, errors)
    _check_deadlines(values, errors)
    scale, scale_errors = clean_scale(values.get("scale"))
    if scale_errors:
        errors["scale"] = scale_errors
    clean["scale"] = scale
    grades = [row["grade"] for row in scale]
    clean["gate_rule"], gate_errors = clean_gate_rule(values.get("gate_rule"), grades)
    if gate_errors:
        errors["gate_rule"] = gate_errors
    clean["guideline"], guideline_errors = clean_guideline(values.get("guideline"), grades)
    if guideline_errors:
        errors["guideline"] = guideline_errors
    for name in ("anonymity_threshold", "max_requests_per_rater"):
        number = _number(values.get(name))
        if number is None or number < 1 or number != int(number) or number > 32767:
            errors[name] = [str(THRESHOLD_RANGE)]
        elif name == "anonymity_threshold" and number < ANONYMITY_FLOOR:
            errors[name] = [str(ANONYMITY_TOO_LOW % {"limit_value": ANONYMITY_FLOOR})]
        else:
            clean[name] = int(number)
    template = values.get("feedback_template")
    if template is not None and not template.active:
        errors["feedback_template"] = [str(TEMPLATE_NOT_IN_USE)]
    if errors:
        raise ValidationError(errors)
    for name in WEIGHTS:
        clean[name] = float(values[name])
    return clean


def _save(cycle: ReviewCycle, clean: dict) -> ReviewCycle:
    for name in SETTINGS:
        if name != "units":
            setattr(cycle, name, clean[name])
    cycle.save()
    cycle.units.set(list(clean["units"]))
    return cycle


# ------------------------------------------------------------------ services


@transaction.atomic
def cycle_create(
    *,
    user,
    name: str,
    period_start: dt.date,
    period_end: dt.date,
    units: Iterable[OrgUnit],
    scale: list[dict],
    weight_objectives: float,
    weight_competencies: float,
    weight_feedback: float,
    self_assessment_due: dt.datetime,
    feedback_due: dt.datetime,
    appraisal_due: dt.datetime,
    calibration_due: dt.datetime,
    gate_rule: dict | None = None,
    guideline: dict | None = None,
    anonymity_threshold: int = 3,
    max_requests_per_rater: int = 8,
    feedback_template=None,
) -> ReviewCycle:
    """Create a draft cycle; nothing is saved unless every setting is valid."""
    _require_manager(user)
    values = {k: v for k, v in locals().items() if k in SETTINGS}
    values["units"] = list(units or [])
    clean = _validate(values)
    return _save(ReviewCycle(created_by=user), clean)


@transaction.atomic
def cycle_update(*, user, cycle: ReviewCycle, **fields) -> ReviewCycle:
    """Change a cycle's settings: any of them while a draft; after launch only deadlines, and only later."""
    _require_manager(user)
    unknown = set(fields) - set(SETTINGS)
    if unknown:
        raise TypeError(f"cycle_update() got unexpected fields: {', '.join(sorted(unknown))}")
    row = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
    current = {name: getattr(row, name) for name in SETTINGS if name != "units"}
    current["units"] = list(row.units.all())
    if row.phase in (Phase.CLOSING, Phase.CLOSED):
        raise ValidationError({"phase": [str(CYCLE_OVER)]})
    if row.phase != Phase.DRAFT:
        errors: dict[str, list[str]] = {}
        for name, value in fields.items():
            if name in DEADLINES:
                if isinstance(value, dt.datetime) and value < current[name]:
                    due = timezone.localtime(current[name]).strftime("%Y-%m-%d %H:%M")
                    errors.setdefault(name, []).append(str(DEADLINE_EARLIER % {"due": due}))
                continue
            same = (
                {u.pk for u in value or []} == {u.pk for u in current["units"]} if name == "units"
                else value == current[name]
            )
            if not same:
                label = ReviewCycle._meta.get_field(name).verbose_name
                errors.setdefault(name, []).append(str(NOT_DRAFT_FROZEN % {"field": label}))
        if errors:
            raise ValidationError(errors)
        fields = {name: value for name, value in fields.items() if name in DEADLINES}
    clean = _validate({**current, **fields})
    _save(row, clean)
    cycle.refresh_from_db()
    return row


def cycle_participants(cycle: ReviewCycle):
    """Active agents and managers of the participating units' subtrees, not yet appraised in the cycle (1 query)."""
    paths = list(cycle.units.values_list("path", flat=True))
    if not paths:
        return Person.objects.none()
    return (
        Person.objects.filter(subtrees_q(paths, "unit__"), is_active=True, role__in=PARTICIPANT_ROLES)
        .exclude(pk__in=Appraisal.objects.filter(cycle=cycle).values("person_id"))
        .only("pk", "employee_code", "name", "unit_id", "manager_id", "role")
        .order_by("employee_code")
    )


@transaction.atomic
def cycle_launch(*, user, cycle: ReviewCycle) -> int:
    """Open the self-assessment phase: an appraisal with its snapshot and objective rows for every participant.

    Returns how many appraisals were created. A constant number of queries
    whatever the number of people: the cycle row, the units, the
    participants, the library, objectives and contracts of all at once, and
    bulk inserts. Launching twice is refused; people already appraised in
    the cycle are skipped.
    """
    _require_manager(user)
    # Lock the row: two HR clicks at once launch once.
    row = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
    if row.phase != Phase.DRAFT or row.launched_at is not None:
        raise ValidationError({"phase": [str(ALREADY_LAUNCHED)]})
    people = list(cycle_participants(row))
    if not people:
        raise ValidationError({"units": [str(NO_PARTICIPANTS)]})
    now = timezone.now()
    library = snapshot_library()
    inputs = snapshot_inputs([p.pk for p in people], row.period_start, row.period_end)
    appraisals = []
    for person in people:
        snapshot = snapshot_for(person, row, library, inputs=inputs, taken_at=now)
        appraisals.append(
            Appraisal(cycle=row, person_id=person.pk, manager_id=person.manager_id, unit_id=person.unit_id,
                      snapshot=snapshot)
        )
    # bulk_create sets the primary keys on PostgreSQL and SQLite (RETURNING).
    Appraisal.objects.bulk_create(appraisals, batch_size=500)
    ratings = [
        ObjectiveRating(appraisal=a, objective_id=o["id"], title=o["title"][:200], weight=o["weight"])
        for a in appraisals
        for o in a.snapshot["objectives"]
    ]
    ObjectiveRating.objects.bulk_create(ratings, batch_size=1000)
    # 360 feedback: the questionnaire frozen, the suggested raters (self and supervisor open at once).
    row.questionnaire = questionnaire_for(row.feedback_template or default_template())
    FeedbackRequest.objects.bulk_create(suggestions_build(row, appraisals, people), batch_size=1000)
    row.phase = Phase.SELF_ASSESSMENT
    row.launched_at = now
    row.save(update_fields=["phase", "launched_at", "questionnaire"])
    cycle.phase, cycle.launched_at, cycle.questionnaire = row.phase, row.launched_at, row.questionnaire
    audit_record(AuditEvent.Action.CYCLE_LAUNCHED, actor=user, target=row, details={"appraisals": len(appraisals)})
    return len(appraisals)
