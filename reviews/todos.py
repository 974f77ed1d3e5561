"""The reviews app's rows of the to-do list (scorecard.todos): self-assessment, 360 forms, appraisals to
write, interviews to hold, appraisals to sign, raters to approve, and for HR the cycles under way.
Two queries a row at most, whatever the data size."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from scorecard.access import scope_for
from scorecard.todos import SHOWN_ITEMS, Todo, TodoItem

from . import appraisals
from .models import Appraisal, FeedbackRequest, ReviewCycle

Phase = ReviewCycle.Phase
P = Appraisal.Part
OPEN_PARTS = (P.PENDING, P.DRAFT)
# A late part stays to do while it can still be written (reviews.appraisals, issue 10).
SELF_PHASES = appraisals.SELF_PHASES
MANAGER_PHASES = appraisals.MANAGER_DRAFT_PHASES
FEEDBACK_PHASES = (Phase.SELF_ASSESSMENT, Phase.FEEDBACK)
# The deadline of each phase, for HR's row of cycles under way.
PHASE_DUE = {Phase.SELF_ASSESSMENT: "self_assessment_due", Phase.FEEDBACK: "feedback_due",
             Phase.APPRAISAL: "appraisal_due", Phase.CALIBRATION: "calibration_due"}


def _rows(qs: QuerySet) -> tuple[list, int]:
    first = list(qs[: SHOWN_ITEMS + 1])
    return first[:SHOWN_ITEMS], (len(first) if len(first) <= SHOWN_ITEMS else qs.count())


def _appraisal_todo(key: str, label: str, qs: QuerySet, due_field: str | None, url: str, who: str) -> Todo:
    rows, n = _rows(qs.select_related("cycle", "person").order_by(f"cycle__{due_field}" if due_field else "cycle_id",
                                                                  "person__employee_code"))
    return Todo(
        key=key, label=label, count=n, url=url, due=getattr(rows[0].cycle, due_field) if rows and due_field else None,
        items=[TodoItem(f"{a.person.name} — {a.cycle.name}" if who == "person" else a.cycle.name,
                        reverse("appraisal-detail", args=[a.pk])) for a in rows],
    )


def reviews_todos(user) -> list[Todo]:
    mine = reverse("my-appraisals")
    open_ = Appraisal.objects.filter(status=Appraisal.Status.OPEN)
    todos = [
        _appraisal_todo("self-assessment", _("Your self-assessment"), open_.filter(
            person=user, self_status__in=OPEN_PARTS, cycle__phase__in=SELF_PHASES,
        ).exclude(manager_status__in=(P.SUBMITTED, P.NOT_SUBMITTED)),
            "self_assessment_due", mine, "cycle"),
        _appraisal_todo("appraisals", _("Appraisals to write"), open_.filter(
            manager=user, manager_status__in=OPEN_PARTS, cycle__phase__in=MANAGER_PHASES),
            "appraisal_due", mine, "person"),
        _appraisal_todo("interviews", _("Appraisal interviews to hold"), open_.filter(
            manager=user, manager_status=P.SUBMITTED, interview_at__isnull=True), "calibration_due", mine, "person"),
        _appraisal_todo("acknowledge", _("Your appraisal to read and sign"), open_.filter(
            person=user, manager_status=P.SUBMITTED, interview_at__isnull=False, acknowledged_at__isnull=True),
            "calibration_due", mine, "cycle"),
    ]
    rows, n = _rows(FeedbackRequest.objects.filter(
        rater=user, status=FeedbackRequest.Status.OPEN, cycle__phase__in=FEEDBACK_PHASES,
    ).select_related("cycle", "appraisal__person").order_by("cycle__feedback_due", "pk"))
    todos.append(Todo(
        key="feedback", label=_("360 feedback forms to answer"), count=n, url=reverse("feedback-inbox"),
        due=rows[0].cycle.feedback_due if rows else None,
        # "朱琳 — Subordinate" read as if 朱琳 were the subordinate: say who is rated, and as what the user rates.
        items=[TodoItem(_("Yourself") if r.rater_id == r.appraisal.person_id else r.appraisal.person.name,
                        reverse("feedback-answer", args=[r.pk]),
                        note=_("you rate as: %(relationship)s") % {"relationship": r.get_relationship_display()})
               for r in rows],
    ))
    rows, n = _rows(FeedbackRequest.objects.filter(
        appraisal__manager=user, status=FeedbackRequest.Status.PROPOSED, cycle__phase__in=FEEDBACK_PHASES,
    ).select_related("cycle", "appraisal__person", "rater").order_by("cycle__feedback_due", "appraisal_id", "pk"))
    todos.append(Todo(
        key="raters", label=_("360 raters to approve"), count=n, url=mine,
        due=rows[0].cycle.feedback_due if rows else None,
        items=[TodoItem(_("%(rater)s for %(person)s") % {
            "rater": r.rater.name if r.rater_id else r.get_relationship_display(), "person": r.appraisal.person.name},
            reverse("appraisal-feedback", args=[r.appraisal_id])) for r in rows],
    ))
    if scope_for(user).is_all:
        cycles = list(ReviewCycle.objects.filter(phase__in=(Phase.DRAFT, *PHASE_DUE)).order_by("period_start", "pk"))
        under_way = [c for c in cycles if c.phase in PHASE_DUE]
        todos.append(Todo(
            key="cycles", label=_("Review cycles under way"), count=len(under_way), url=reverse("cycle-list"),
            due=min((getattr(c, PHASE_DUE[c.phase]) for c in under_way), default=None),
            items=[TodoItem(c.name, reverse("cycle-detail", args=[c.pk]), note=_("%(phase)s until %(due)s") % {
                "phase": c.get_phase_display(), "due": timezone.localtime(getattr(c, PHASE_DUE[c.phase])).strftime("%Y-%m-%d %H:%M")})
                for c in under_way],
        ))
        drafts = [c for c in cycles if c.phase == Phase.DRAFT]
        todos.append(Todo(
            key="cycles-draft", label=_("Review cycles to launch"), count=len(drafts), url=reverse("cycle-list"),
            items=[TodoItem(c.name, reverse("cycle-detail", args=[c.pk])) for c in drafts],
        ))
    return todos
