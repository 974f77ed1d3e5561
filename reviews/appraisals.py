"""The appraisal itself: who sees and writes which part, self-assessment, manager appraisal, interview, signature.

Reads (selectors) and writes (services) of this slice; the numbers come from
reviews.scoring over the appraisal's snapshot, never from the live library.

Who may do what:
- see: the appraisee, managers whose subtree holds the appraisee, the
  appraisal's manager, HR and directors (reviews.access, on the core's scope);
  anyone else gets 404;
- write the self-assessment: the appraisee only, until submitted;
- write the manager appraisal and the interview: the appraisal's manager, a
  manager above the appraisee in the tree, or a director — never the appraisee;
- acknowledge (被考核人签名): the appraisee, once the manager has submitted.

When (issue 10, HR's "remind the late ones now": the late catch up until the
cycle reaches the step that needs their part):
- the self-assessment is written and submitted from the self-assessment
  phase through the 360 feedback and manager-appraisal phases — after its
  deadline too — as long as the manager has not submitted the appraisal
  (which was then written without it); not in calibration, closing or closed;
- the manager appraisal is drafted from the self-assessment phase until the
  close starts — after its deadline too, calibration included — and
  submitted in the appraisal or calibration phase;
- a part submitted after its deadline counts as submitted (the cycle's
  completion) and is marked late where it is shown (self_submitted_late,
  manager_submitted_late).
self_write_refusal / manager_write_refusal say why a part cannot be written
now; the pages use them to decide which forms to show.
A closed appraisal is read-only. Refusals: PermissionDenied for who may,
ValidationError with a message per field for everything else; nothing is saved.
"""

from __future__ import annotations

import datetime as dt
import math

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from scorecard.models import Kpi, Measure
from scorecard.periods import quarter_of
from scorecard.selectors import Subject, measure_sums
from scorecard.units import unit_label

from . import scoring
from .access import appraisal_visible, is_appraisee, is_appraiser, manager_visible, self_visible  # noqa: F401
from .feedback import feedback_score
from .models import Appraisal, Competency, CompetencyRating, ObjectiveRating, ReviewCycle

P = Appraisal.Part
Phase = ReviewCycle.Phase

NOT_APPRAISEE = _("Only the appraisee writes the self-assessment and signs the appraisal.")
NOT_APPRAISER = _("Only the appraisee's manager (or a manager above them) appraises; nobody appraises themself.")
CLOSED = _("This appraisal is closed: it can no longer be changed.")
SELF_NOT_LAUNCHED = _("The cycle has not been launched: the self-assessment cannot be written yet.")
SELF_PHASE_OVER = _(
    "The cycle has moved on to calibration: the self-assessment can no longer be written or submitted."
)
SELF_AFTER_MANAGER = _(
    "Your manager has already submitted the appraisal without your self-assessment: "
    "it can no longer be written or submitted."
)
SELF_ALREADY_SUBMITTED = _("The self-assessment was submitted: it can no longer be changed.")
MANAGER_NOT_LAUNCHED = _("The cycle has not been launched: the manager appraisal cannot be written yet.")
MANAGER_SUBMIT_NOT_IN_PHASE = _(
    "The manager appraisal can be submitted from the appraisal phase on, until the close starts."
)
MANAGER_ALREADY_SUBMITTED = _("The manager appraisal was submitted: it can no longer be changed.")
RATING_RANGE = _("Give a score from 0 to 100, or a grade of the scale (%(grades)s).")
ACTUAL_NOT_NUMBER = _("Enter a number.")
COMPETENCY_RANGE = _("Rate from 1 to 5.")
UNKNOWN_OBJECTIVE = _("This objective is not part of the appraisal.")
UNKNOWN_COMPETENCY = _("Unknown competency.")
SELF_RATING_REQUIRED = _("Rate this objective before submitting.")
ACHIEVEMENTS_REQUIRED = _("Describe your main achievements before submitting.")
COMPETENCY_REQUIRED = _("Rate this competency before submitting.")
NOT_SUBMITTED_YET = _("The appraisee acknowledges once the manager has submitted the appraisal.")
ALREADY_ACKNOWLEDGED = _("The appraisal was already acknowledged.")
TITLE_REQUIRED = _("Give the objective a title.")
UNKNOWN_KPI = _("Unknown KPI code: %(code)s.")
TOO_MANY_DRAFTS = _("At most %(n)s draft objectives.")
NO_DRAFTS = _("There is no draft objective to create.")
NUMBER_REQUIRED = _("Enter a number.")

MAX_NEXT_OBJECTIVES = 10
NEXT_FIELDS = ("title", "kpi", "baseline", "target", "stretch", "completion_criterion", "verification")


# ---------------------------------------------------------------- who may
# Who sees and who appraises: reviews.access (imported above, and re-exported for the pages that
# call them through this module: svc.is_appraiser, ...). When each part may be written: here.

# Issue 10: a late part may still be written until the cycle reaches the step that needs it — the
# self-assessment until the manager's appraisal is submitted or calibration starts, the manager appraisal
# until the close starts; the deadline itself only marks what comes after it as late.
SELF_PHASES = (Phase.SELF_ASSESSMENT, Phase.FEEDBACK, Phase.APPRAISAL)
MANAGER_DRAFT_PHASES = (Phase.SELF_ASSESSMENT, Phase.FEEDBACK, Phase.APPRAISAL, Phase.CALIBRATION)
MANAGER_SUBMIT_PHASES = (Phase.APPRAISAL, Phase.CALIBRATION)


def self_write_refusal(appraisal: Appraisal) -> str | None:
    """Why the self-assessment cannot be written now (whoever asks), or None."""
    cycle = appraisal.cycle
    if appraisal.status == Appraisal.Status.CLOSED or cycle.phase in (Phase.CLOSING, Phase.CLOSED):
        return str(CLOSED)
    if appraisal.self_status in (P.SUBMITTED, P.NOT_SUBMITTED):
        return str(SELF_ALREADY_SUBMITTED)
    if cycle.phase == Phase.DRAFT:
        return str(SELF_NOT_LAUNCHED)
    if cycle.phase not in SELF_PHASES:
        return str(SELF_PHASE_OVER)
    if appraisal.manager_status in (P.SUBMITTED, P.NOT_SUBMITTED):
        return str(SELF_AFTER_MANAGER)
    return None


def manager_write_refusal(appraisal: Appraisal, *, submit: bool = False) -> str | None:
    """Why the manager appraisal cannot be saved (or, with `submit`, submitted) now, or None."""
    cycle = appraisal.cycle
    if appraisal.status == Appraisal.Status.CLOSED or cycle.phase in (Phase.CLOSING, Phase.CLOSED):
        return str(CLOSED)
    if appraisal.manager_status in (P.SUBMITTED, P.NOT_SUBMITTED):
        return str(MANAGER_ALREADY_SUBMITTED)
    if cycle.phase not in MANAGER_DRAFT_PHASES:
        return str(MANAGER_NOT_LAUNCHED)
    if submit and cycle.phase not in MANAGER_SUBMIT_PHASES:
        return str(MANAGER_SUBMIT_NOT_IN_PHASE)
    return None


def self_overdue(appraisal: Appraisal, now: dt.datetime | None = None) -> bool:
    """The self-assessment's deadline has passed and it is not submitted yet."""
    return appraisal.self_status != P.SUBMITTED and (now or timezone.now()) > appraisal.cycle.self_assessment_due


def manager_overdue(appraisal: Appraisal, now: dt.datetime | None = None) -> bool:
    """The manager appraisal's deadline has passed and it is not submitted yet."""
    return appraisal.manager_status != P.SUBMITTED and (now or timezone.now()) > appraisal.cycle.appraisal_due


def self_submitted_late(appraisal: Appraisal) -> bool:
    """The self-assessment was submitted after its deadline."""
    at = appraisal.self_submitted_at
    return appraisal.self_status == P.SUBMITTED and at is not None and at > appraisal.cycle.self_assessment_due


def manager_submitted_late(appraisal: Appraisal) -> bool:
    """The manager appraisal was submitted after its deadline."""
    at = appraisal.manager_submitted_at
    return appraisal.manager_status == P.SUBMITTED and at is not None and at > appraisal.cycle.appraisal_due


# ---------------------------------------------------------------- selectors


def _appraisals() -> QuerySet[Appraisal]:
    return Appraisal.objects.select_related("cycle", "person__unit", "manager", "unit")


def appraisal_get(user, pk: int) -> Appraisal:
    """The appraisal with its cycle, person, unit and manager (1 query); 404 when the user may not see it."""
    appraisal = _appraisals().filter(pk=pk).first()
    if appraisal is None or not appraisal_visible(user, appraisal):
        raise Http404
    return appraisal


def appraisals_mine(user) -> tuple[list[Appraisal], list[Appraisal]]:
    """The user's own appraisals, and the ones they must appraise as the appraisal's manager (2 queries)."""
    own = list(_appraisals().filter(person=user).order_by("-cycle__period_start", "cycle__name"))
    to_appraise = list(
        _appraisals().filter(manager=user).exclude(person=user)
        .order_by("-cycle__period_start", "cycle__name", "person__employee_code")
    )
    return own, to_appraise


def appraisal_measure_sums(appraisal: Appraisal) -> dict[str, float]:
    """The appraisee's measures summed over the cycle's period, by measure code (2 queries)."""
    cycle = appraisal.cycle
    by_id = measure_sums(Subject(appraisal.person), cycle.period_start, cycle.period_end)
    if not by_id:
        return {}
    codes = dict(Measure.objects.filter(pk__in=list(by_id)).values_list("pk", "code"))
    return {codes[m]: v for m, v in by_id.items() if m in codes}


def snapshot_objectives(appraisal: Appraisal) -> dict[int, dict]:
    return {int(o["id"]): o for o in (appraisal.snapshot or {}).get("objectives", [])}


def objective_ratings(appraisal: Appraisal) -> list[ObjectiveRating]:
    return list(ObjectiveRating.objects.filter(appraisal=appraisal).order_by("id"))


def competency_rows(appraisal: Appraisal) -> list[tuple[Competency, CompetencyRating | None]]:
    """Each active competency with the appraisal's rating of it, plus retired ones already rated (2 queries)."""
    ratings = {r.competency_id: r for r in CompetencyRating.objects.filter(appraisal=appraisal)}
    competencies = Competency.objects.filter(Q(active=True) | Q(pk__in=list(ratings)))
    return [(c, ratings.get(c.pk)) for c in competencies]


def scale_midpoint(grade: str, scale: list[dict]) -> float | None:
    for g in scale:
        if str(g["grade"]).upper() == grade.strip().upper():
            return (float(g["min"]) + float(g["max"])) / 2
    return None


def parse_rating(value, scale: list[dict]) -> float | None:
    """A 0–100 score, or a grade of the scale as its range's midpoint; raise ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        midpoint = scale_midpoint(value, scale)
        if midpoint is not None:
            return midpoint
        value = value.strip().replace(",", ".")
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= 100:
        raise ValueError(value)
    return number


def _rating_or_error(value, scale, errors: dict, key: str) -> float | None:
    try:
        return parse_rating(value, scale)
    except (TypeError, ValueError):
        grades = ", ".join(str(g["grade"]) for g in scale)
        errors[key] = str(RATING_RANGE % {"grades": grades})
        return None


def _number_or_error(value, errors: dict, key: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
    except (TypeError, ValueError):
        errors[key] = str(NUMBER_REQUIRED)
        return None
    if isinstance(value, bool) or not math.isfinite(number):
        errors[key] = str(NUMBER_REQUIRED)
        return None
    return number


def appraisal_scores(
    *,
    appraisal: Appraisal,
    ratings: list[ObjectiveRating],
    competency_scores: list[int],
    sums: dict[str, float],
    feedback: float | None = None,
) -> dict:
    """Compute the appraisal's parts, overall score, grade (gate applied) and outcome from its snapshot (no ORM).

    Objectives are weighted by the snapshot's weights, renormalised over the
    rated ones; each uses the manager's rating, else the system score.
    """
    cycle = appraisal.cycle
    snapshot = appraisal.snapshot or {}
    weights = {oid: float(o.get("weight") or 0) for oid, o in snapshot_objectives(appraisal).items()}
    objectives = scoring.objectives_score([
        (r.manager_rating if r.manager_rating is not None else r.system_score, weights.get(r.objective_id, r.weight))
        for r in ratings
    ])
    percents = [scoring.competency_percent(s) for s in competency_scores if s is not None]
    competencies = math.fsum(percents) / len(percents) if percents else None
    overall = scoring.overall_score([
        (objectives, cycle.weight_objectives),
        (competencies, cycle.weight_competencies),
        (feedback, cycle.weight_feedback),
    ])
    grade = scoring.grade_for(overall, cycle.scale)
    grade, gated = scoring.apply_gate(grade, cycle.gate_rule, sums, cycle.scale)
    contract = snapshot.get("contract") or {}
    return {
        "objectives_score": objectives,
        "competencies_score": competencies,
        "feedback_score": feedback,
        "overall_score": overall,
        "proposed_grade": grade,
        "gate_applied": gated,
        "outcome": scoring.outcome_for(grade, contract.get("reward_terms") or []) if grade else "",
    }


def _feedback_score(appraisal: Appraisal) -> float | None:
    """The 360 score when it counts (weight above 0) and is final (its phase is over); 1 query then, else none."""
    if not appraisal.cycle.weight_feedback:
        return None
    return feedback_score(appraisal)


# ---------------------------------------------------------------- services


def _check_open(appraisal: Appraisal) -> None:
    if appraisal.status == Appraisal.Status.CLOSED or appraisal.cycle.phase in (Phase.CLOSING, Phase.CLOSED):
        raise ValidationError({"__all__": str(CLOSED)})


def _locked(appraisal: Appraisal) -> Appraisal:
    """Reload the appraisal locked for the update, so two saves never interleave."""
    return (
        Appraisal.objects.select_for_update(of=("self",))
        .select_related("cycle", "person__unit", "manager", "unit")
        .get(pk=appraisal.pk)
    )


def _missing_ratings(appraisal: Appraisal, objectives: dict[int, dict], present) -> list[ObjectiveRating]:
    """Unsaved rows for the snapshot's objectives that have none yet."""
    return [
        ObjectiveRating(appraisal=appraisal, objective_id=oid, title=o.get("title", "")[:200],
                        weight=float(o.get("weight") or 0))
        for oid, o in objectives.items() if oid not in present
    ]


def _empty_kpi_rows(ratings, objectives: dict[int, dict]) -> list[ObjectiveRating]:
    return [
        r for r in ratings
        if r.actual is None and r.system_score is None and objectives.get(r.objective_id, {}).get("kind") == "kpi"
    ]


def _fill(rows, appraisal: Appraisal, objectives: dict[int, dict], sums: dict[str, float]) -> list[ObjectiveRating]:
    """Set each KPI row's actual result and system score from the data, with the snapshot's formulas and
    thresholds (so later library edits change nothing); return the rows that got a value."""
    kpis = (appraisal.snapshot or {}).get("kpis", {})
    filled = []
    for r in rows:
        o = objectives[r.objective_id]
        r.actual = scoring.objective_actual(o, kpis, sums)
        r.system_score = scoring.objective_system_score(o, kpis, sums)
        if r.actual is not None or r.system_score is not None:
            filled.append(r)
    return filled


def objective_ratings_completed(
    appraisal: Appraisal, *, objectives: dict[int, dict] | None = None, sums: dict[str, float] | None = None
) -> list[ObjectiveRating]:
    """The ratings as appraisal_prepare would leave them, completed in memory and nothing written: for
    what only reads (the PDF, an export). 1 query, plus the period's sums when a KPI row is empty and no
    `sums` are given. A closed appraisal: its stored ratings."""
    ratings = objective_ratings(appraisal)
    if appraisal.status == Appraisal.Status.CLOSED:
        return ratings
    objectives = snapshot_objectives(appraisal) if objectives is None else objectives
    ratings += _missing_ratings(appraisal, objectives, {r.objective_id for r in ratings})
    empty = _empty_kpi_rows(ratings, objectives)
    if empty:
        _fill(empty, appraisal, objectives, appraisal_measure_sums(appraisal) if sums is None else sums)
    return ratings


def objective_rows(appraisal: Appraisal, ratings: list[ObjectiveRating]) -> list[dict]:
    """The evaluation form's objective rows (the page and the PDF): the rating, its snapshot objective, the
    KPI's name in the active language and its unit."""
    objectives = snapshot_objectives(appraisal)
    kpis = (appraisal.snapshot or {}).get("kpis", {})
    zh = (translation.get_language() or "").lower().startswith("zh")
    rows = []
    for r in ratings:
        o = objectives.get(r.objective_id, {})
        kpi = kpis.get(o.get("kpi") or "") or {}
        name = (kpi.get("name_zh") if zh else "") or kpi.get("name", "")
        rows.append({"r": r, "o": o, "kpi_name": name, "unit": unit_label(kpi.get("unit", ""))})
    return rows


def appraisal_prepare(*, appraisal: Appraisal) -> Appraisal:
    """Add the snapshot's objectives as ratings, with the actual result and system score from the data.

    Idempotent: only rows with neither an actual nor a system score are
    filled, with the snapshot's formulas and thresholds (so later library
    edits change nothing); a closed appraisal is left as it is. Prepared, it
    costs one query (the ratings) and opens no transaction.
    """
    if appraisal.status == Appraisal.Status.CLOSED:
        return appraisal
    objectives = snapshot_objectives(appraisal)
    rows = objective_ratings(appraisal)
    missing = _missing_ratings(appraisal, objectives, {r.objective_id for r in rows})
    if missing:
        # ignore_conflicts: two first views at once both add the rows; the unique constraint keeps one.
        ObjectiveRating.objects.bulk_create(missing, ignore_conflicts=True)
        rows = objective_ratings(appraisal)
    empty = _empty_kpi_rows(rows, objectives)
    if not empty:
        return appraisal
    changed = _fill(empty, appraisal, objectives, appraisal_measure_sums(appraisal))
    if changed:
        # Only rows still empty are written, so a value stored meanwhile is never overwritten.
        with transaction.atomic():
            for r in changed:
                ObjectiveRating.objects.filter(pk=r.pk, actual__isnull=True, system_score__isnull=True).update(
                    actual=r.actual, system_score=r.system_score
                )
    return appraisal


@transaction.atomic
def appraisal_self_save(
    *,
    user,
    appraisal: Appraisal,
    objectives: dict[int, dict] | None = None,
    achievements: str | None = None,
    difficulties: str | None = None,
    help_wanted: str | None = None,
    submit: bool = False,
) -> Appraisal:
    """Save the self-assessment as a draft, or submit it.

    `objectives` maps an objective id to any of "actual", "self_rating" (0–100
    or a grade of the scale) and "self_comment"; fields not given keep their
    value. Error keys: "o<id>_<field>", the report's field names, "__all__".
    """
    appraisal = _locked(appraisal)
    if not is_appraisee(user, appraisal):
        raise PermissionDenied(NOT_APPRAISEE)
    refusal = self_write_refusal(appraisal)  # after its deadline too: it is then marked late
    if refusal:
        raise ValidationError({"__all__": refusal})
    cycle = appraisal.cycle
    rows = {r.objective_id: r for r in objective_ratings(appraisal)}
    errors: dict[str, str] = {}
    for oid, values in (objectives or {}).items():
        row = rows.get(int(oid))
        if row is None:
            errors[f"o{oid}_self_rating"] = str(UNKNOWN_OBJECTIVE)
            continue
        if "self_rating" in values:
            row.self_rating = _rating_or_error(values["self_rating"], cycle.scale, errors, f"o{oid}_self_rating")
        if "actual" in values:
            number = _number_or_error(values["actual"], errors, f"o{oid}_actual")
            if f"o{oid}_actual" not in errors:
                row.actual = number
        if "self_comment" in values:
            row.self_comment = (values["self_comment"] or "").strip()
    for field, value in (("achievements", achievements), ("difficulties", difficulties), ("help_wanted", help_wanted)):
        if value is not None:
            setattr(appraisal, field, value.strip())
    if submit and not errors:
        for oid, row in rows.items():
            if row.self_rating is None:
                errors[f"o{oid}_self_rating"] = str(SELF_RATING_REQUIRED)
        if not appraisal.achievements:
            errors["achievements"] = str(ACHIEVEMENTS_REQUIRED)
    if errors:
        raise ValidationError(errors)
    ObjectiveRating.objects.bulk_update(list(rows.values()), ["actual", "self_rating", "self_comment"])
    appraisal.self_status = P.SUBMITTED if submit else P.DRAFT
    if submit:
        appraisal.self_submitted_at = timezone.now()
    appraisal.save(update_fields=["achievements", "difficulties", "help_wanted", "self_status", "self_submitted_at"])
    return appraisal


@transaction.atomic
def appraisal_manager_save(
    *,
    user,
    appraisal: Appraisal,
    objectives: dict[int, dict] | None = None,
    competencies: dict[str, dict] | None = None,
    manager_comments: str | None = None,
    submit: bool = False,
) -> Appraisal:
    """Save the manager appraisal as a draft, or submit it; recompute the scores, grade and outcome.

    `objectives`: objective id → "manager_rating" (0–100 or a grade; empty
    uses the system score), "manager_comment". `competencies`: competency
    code → "score" (1–5 or empty), "comment". Error keys: "o<id>_<field>",
    "c_<code>_<field>", "manager_comments", "__all__".
    """
    appraisal = _locked(appraisal)
    if not is_appraiser(user, appraisal):
        raise PermissionDenied(NOT_APPRAISER)
    refusal = manager_write_refusal(appraisal, submit=submit)  # after its deadline too: then marked late
    if refusal:
        raise ValidationError({"__all__": refusal})
    cycle = appraisal.cycle
    appraisal_prepare(appraisal=appraisal)
    rows = {r.objective_id: r for r in objective_ratings(appraisal)}
    errors: dict[str, str] = {}
    for oid, values in (objectives or {}).items():
        row = rows.get(int(oid))
        if row is None:
            errors[f"o{oid}_manager_rating"] = str(UNKNOWN_OBJECTIVE)
            continue
        if "manager_rating" in values:
            row.manager_rating = _rating_or_error(values["manager_rating"], cycle.scale, errors, f"o{oid}_manager_rating")
        if "manager_comment" in values:
            row.manager_comment = (values["manager_comment"] or "").strip()
    existing = {r.competency.code: r for r in CompetencyRating.objects.filter(appraisal=appraisal).select_related("competency")}
    active = {c.code: c for c in Competency.objects.filter(active=True)}
    to_save, to_delete = [], []
    for code, values in (competencies or {}).items():
        competency = active.get(code) or (existing[code].competency if code in existing else None)
        if competency is None:
            errors[f"c_{code}_score"] = str(UNKNOWN_COMPETENCY)
            continue
        rating = existing.get(code) or CompetencyRating(appraisal=appraisal, competency=competency)
        score = values.get("score", rating.score if rating.pk else None)
        if score is None or (isinstance(score, str) and not score.strip()):
            score = None
        else:
            try:
                score = int(score)
                if isinstance(values.get("score"), bool) or not 1 <= score <= 5:
                    raise ValueError(score)
            except (TypeError, ValueError):
                errors[f"c_{code}_score"] = str(COMPETENCY_RANGE)
                continue
        if "comment" in values:
            rating.comment = (values["comment"] or "").strip()
        if score is None:
            if rating.pk:
                to_delete.append(rating)
            existing.pop(code, None)
            continue
        rating.score = score
        existing[code] = rating
        to_save.append(rating)
    if manager_comments is not None:
        appraisal.manager_comments = manager_comments.strip()
    if submit and not errors:
        for code in active:
            if code not in existing:
                errors[f"c_{code}_score"] = str(COMPETENCY_REQUIRED)
    if errors:
        raise ValidationError(errors)
    ObjectiveRating.objects.bulk_update(list(rows.values()), ["manager_rating", "manager_comment"])
    for rating in to_delete:
        rating.delete()
    for rating in to_save:
        rating.save()
    scores = appraisal_scores(
        appraisal=appraisal, ratings=list(rows.values()),
        competency_scores=[r.score for r in existing.values()], sums=appraisal_measure_sums(appraisal),
        feedback=_feedback_score(appraisal),
    )
    for field, value in scores.items():
        setattr(appraisal, field, value)
    appraisal.manager_status = P.SUBMITTED if submit else P.DRAFT
    if submit:
        appraisal.manager_submitted_at = timezone.now()
    appraisal.save(update_fields=[*scores, "manager_comments", "manager_status", "manager_submitted_at"])
    return appraisal


def _clean_next_objectives(drafts: list[dict], errors: dict) -> list[dict]:
    if len(drafts) > MAX_NEXT_OBJECTIVES:
        errors["next_objectives"] = str(TOO_MANY_DRAFTS % {"n": MAX_NEXT_OBJECTIVES})
        return []
    kpi_codes = {(d.get("kpi") or "").strip() for d in drafts} - {""}
    known = set(Kpi.objects.filter(code__in=kpi_codes).values_list("code", flat=True)) if kpi_codes else set()
    cleaned = []
    for i, d in enumerate(drafts):
        title = (d.get("title") or "").strip()
        kpi = (d.get("kpi") or "").strip()
        if not title:
            errors[f"n{i}_title"] = str(TITLE_REQUIRED)
        if kpi and kpi not in known:
            errors[f"n{i}_kpi"] = str(UNKNOWN_KPI % {"code": kpi})
        row = {"title": title[:200], "kpi": kpi or None}
        for name in ("baseline", "target", "stretch"):
            row[name] = _number_or_error(d.get(name), errors, f"n{i}_{name}")
        for name in ("completion_criterion", "verification"):
            row[name] = (d.get(name) or "").strip()
        if d.get("objective_id"):
            row["objective_id"] = d["objective_id"]
        cleaned.append(row)
    return cleaned


@transaction.atomic
def appraisal_interview_save(
    *,
    user,
    appraisal: Appraisal,
    interview_at: dt.datetime | None,
    interview_notes: str = "",
    improvement_actions: str = "",
    next_objectives: list[dict] | None = None,
) -> Appraisal:
    """Record the appraisal interview (面谈) and the draft objectives for the next period.

    Each draft: "title", and optionally "kpi" (a code), "baseline", "target",
    "stretch", "completion_criterion", "verification". Error keys:
    "n<index>_<field>", "next_objectives", the interview's field names.
    """
    appraisal = _locked(appraisal)
    if not is_appraiser(user, appraisal):
        raise PermissionDenied(NOT_APPRAISER)
    _check_open(appraisal)
    errors: dict[str, str] = {}
    drafts = _clean_next_objectives(list(next_objectives or []), errors)
    if errors:
        raise ValidationError(errors)
    appraisal.interview_at = interview_at
    appraisal.interview_notes = (interview_notes or "").strip()
    appraisal.improvement_actions = (improvement_actions or "").strip()
    appraisal.next_objectives = drafts
    appraisal.save(update_fields=["interview_at", "interview_notes", "improvement_actions", "next_objectives"])
    return appraisal


def next_period(appraisal: Appraisal) -> tuple[dt.date, dt.date]:
    """The quarter after the cycle's period."""
    return quarter_of(appraisal.cycle.period_end + dt.timedelta(days=1))


@transaction.atomic
def appraisal_next_objectives_create(*, user, appraisal: Appraisal) -> list:
    """Turn the interview's draft objectives into draft objectives of the next quarter, all or none.

    Drafts already turned into objectives (they carry "objective_id") are
    skipped, so pressing the button twice creates nothing twice. Error keys
    "n<index>_<field>" hold goals.services.objective_create's messages.
    """
    from goals.services import objective_create  # goals builds on reviews' neighbours, not the reverse

    appraisal = _locked(appraisal)
    if not is_appraiser(user, appraisal):
        raise PermissionDenied(NOT_APPRAISER)
    _check_open(appraisal)
    drafts = [dict(d) for d in appraisal.next_objectives or []]
    pending = [i for i, d in enumerate(drafts) if not d.get("objective_id")]
    if not pending:
        raise ValidationError({"next_objectives": str(NO_DRAFTS)})
    start, end = next_period(appraisal)
    kpis = {k.code: k for k in Kpi.objects.filter(code__in=[drafts[i]["kpi"] for i in pending if drafts[i].get("kpi")])}
    errors: dict[str, list[str]] = {}
    created = []
    for i in pending:
        d = drafts[i]
        kpi = kpis.get(d.get("kpi") or "")
        try:
            # A savepoint per draft, so one refusal does not break the transaction for the others' checks.
            with transaction.atomic():
                objective = objective_create(
                    user=user, owner=appraisal.person, period_start=start, period_end=end, title=d.get("title", ""),
                    due_date=end, kind="kpi" if kpi else "milestone", kpi=kpi, baseline=d.get("baseline"),
                    target=d.get("target"), stretch=d.get("stretch"),
                    completion_criterion=d.get("completion_criterion", ""), verification=d.get("verification", ""),
                )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                key = f"n{i}_{field}" if field in NEXT_FIELDS else f"n{i}_title"
                errors.setdefault(key, []).extend(messages)
            continue
        d["objective_id"] = objective.pk
        created.append(objective)
    if errors:
        raise ValidationError(errors)  # rolls back the objectives created above
    appraisal.next_objectives = drafts
    appraisal.save(update_fields=["next_objectives"])
    return created


@transaction.atomic
def appraisal_acknowledge(*, user, appraisal: Appraisal, disagreement: str = "") -> Appraisal:
    """Sign the appraisal as the appraisee (被考核人签名), with an optional written disagreement."""
    appraisal = _locked(appraisal)
    if not is_appraisee(user, appraisal):
        raise PermissionDenied(NOT_APPRAISEE)
    _check_open(appraisal)
    if appraisal.manager_status != P.SUBMITTED:
        raise ValidationError({"__all__": str(NOT_SUBMITTED_YET)})
    if appraisal.acknowledged_at is not None:
        raise ValidationError({"__all__": str(ALREADY_ACKNOWLEDGED)})
    appraisal.acknowledged_at = timezone.now()
    appraisal.disagreement = (disagreement or "").strip()
    appraisal.save(update_fields=["acknowledged_at", "disagreement"])
    return appraisal
