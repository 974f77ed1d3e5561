"""Pages of review cycles: the list, create and edit, launch, the HR cycle page and a cycle's appraisals.

Cycles and appraisals resolve through reviews.selectors, which answer 404 for
what the user may not see. Creating, editing and launching answer 404 to
anyone but HR, directors and superusers (services.can_manage_cycles), so the
answers are consistent and a cycle's existence is not revealed.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard import outbox
from scorecard.access import scope_for

from . import closing, feedback, selectors, services
from .closing import user_can_close
from .exports import can_export
from .forms import CycleForm, scale_formset
from .models import ReviewCycle

CYCLE_SAVED = _("Review cycle “%(name)s” saved.")
CYCLE_LAUNCHED = _("“%(name)s” launched: %(count)s appraisals opened for self-assessment.")
NOT_SAVED = _("Nothing was saved: please correct the fields marked below.")
NOT_LAUNCHED = _("The cycle was not launched.")
REMIND_STARTED = _("Sending %(reminders)s reminders in %(emails)s e-mails to the late ones: the result shows below.")
REMIND_REFUSED = _("No reminders were sent.")
REMIND_QUEUED = _(
    "%(reminders)s reminders in %(emails)s e-mails are recorded: the job system cannot be reached just now, "
    "so they will be sent by themselves when it is back."
)

Phase = ReviewCycle.Phase


def _require_cycle_manager(request: HttpRequest) -> None:
    if not services.can_manage_cycles(request.user):
        raise Http404


def _phases(cycle: ReviewCycle) -> list[dict]:
    """The timed phases with their deadlines, which one is current and which are over."""
    now = timezone.now()
    rows = []
    for phase, name in zip(ReviewCycle.TIMED_PHASES, services.DEADLINES):
        due = getattr(cycle, name)
        rows.append({"code": phase, "label": Phase(phase).label, "due": due,
                     "current": cycle.phase == phase, "passed": due < now})
    return rows


@login_required
def cycle_list_page(request: HttpRequest) -> HttpResponse:
    """The cycles the user may see, newest period first, with how many appraisals they see in each (1 query)."""
    user = request.user
    sees_all = scope_for(user).is_all
    visible = selectors.appraisals_visible(user)
    cycles = selectors.cycles_visible(user)
    if sees_all:
        cycles = cycles.annotate(n_appraisals=Count("appraisals"))
    cycles = list(cycles.order_by("-period_start", "name"))
    if not sees_all:
        counts = dict(
            visible.filter(cycle__in=[c.pk for c in cycles]).order_by().values_list("cycle_id")
            .annotate(n=Count("id")).values_list("cycle_id", "n")
        ) if cycles else {}
        for c in cycles:
            c.n_appraisals = counts.get(c.pk, 0)
    ctx = {"cycles": cycles, "can_manage": services.can_manage_cycles(user)}
    return render(request, "reviews/cycle_list.html", ctx)


def _form_page(request: HttpRequest, cycle: ReviewCycle | None) -> HttpResponse:
    deadlines_only = cycle is not None and cycle.phase != Phase.DRAFT
    data = request.POST if request.method == "POST" else None
    form = CycleForm(data, cycle=cycle, deadlines_only=deadlines_only)
    scale = None if deadlines_only else scale_formset(data, cycle)
    if request.method == "POST":
        valid = form.is_valid()
        valid = (scale is None or scale.is_valid()) and valid
        if valid:
            try:
                values = form.service_values(scale)
                if cycle is None:
                    cycle = services.cycle_create(user=request.user, **values)
                else:
                    cycle = services.cycle_update(user=request.user, cycle=cycle, **values)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, CYCLE_SAVED % {"name": cycle.name})
                return redirect("cycle-detail", pk=cycle.pk)
    has_errors = bool(form.errors) or bool(scale is not None and request.method == "POST" and not scale.is_valid())
    if has_errors:
        messages.error(request, NOT_SAVED)
    ctx = {"form": form, "scale": scale, "cycle": cycle}
    return render(request, "reviews/cycle_form.html", ctx, status=400 if has_errors else 200)


@login_required
def cycle_create_page(request: HttpRequest) -> HttpResponse:
    _require_cycle_manager(request)
    return _form_page(request, None)


@login_required
def cycle_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    _require_cycle_manager(request)
    cycle = selectors.cycle_get(request.user, pk)
    if cycle.phase in (Phase.CLOSING, Phase.CLOSED):
        messages.error(request, services.CYCLE_OVER)
        return redirect("cycle-detail", pk=cycle.pk)
    return _form_page(request, cycle)


@login_required
def cycle_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The cycle's settings, phases, completion by unit (appraisals and 360 feedback) and who is late
    (a constant number of queries)."""
    user = request.user
    cycle = selectors.cycle_get(user, pk)
    can_manage = services.can_manage_cycles(user)
    # Agents see the settings and their own appraisal; progress is for who sees several.
    shows_progress = scope_for(user).sees_units
    completion = feedback_completion = feedback_total = None
    if shows_progress and cycle.phase != Phase.DRAFT:
        completion = selectors.cycle_completion(cycle, selectors.appraisals_visible(user))
        # 360 feedback counted per unit, never per person: a count says nothing about who answered.
        feedback_completion = feedback.cycle_feedback_completion(
            cycle, selectors.appraisals_visible(user), viewer=user
        )
        feedback_total = feedback.completion_total(feedback_completion)
    # HR's "Remind the late ones now": what it would send, and the last press's result (3 queries).
    remind_plan = reminder_run = None
    can_remind = user_can_close(user) and closing.remind_now_refusal(cycle) is None
    if can_remind:
        remind_plan = closing.late_reminders_plan(cycle)
    if user_can_close(user) and cycle.phase != Phase.DRAFT:
        reminder_run = closing.reminder_run_latest(cycle)
    own = None
    if cycle.phase != Phase.DRAFT:
        own = selectors.appraisals_visible(user).filter(cycle=cycle, person_id=user.pk).only("pk").first()
    ctx = {
        "cycle": cycle,
        "units": list(cycle.units.order_by("path")),
        "phases": _phases(cycle),
        "scale": cycle.scale,
        "guideline": cycle.guideline or {},
        "gate_measure": selectors.gate_measure_label(cycle.gate_rule),
        "completion": completion,
        "feedback_completion": feedback_completion,
        "feedback_template": cycle.feedback_template if cycle.feedback_template_id else None,
        "questionnaire": [feedback.question_label(q) for q in cycle.questionnaire or []],
        "feedback_total": feedback_total,
        "own": own,
        "can_manage": can_manage,
        "can_edit": can_manage and cycle.phase not in (Phase.CLOSING, Phase.CLOSED),
        "can_launch": can_manage and cycle.phase == Phase.DRAFT,
        "is_draft": cycle.phase == Phase.DRAFT,
        "can_close": user_can_close(user) and cycle.phase != Phase.DRAFT,
        "can_export": can_export(user) and cycle.phase != Phase.DRAFT,
        "can_remind": can_remind,
        "remind_plan": remind_plan,
        "remind_hours": closing.remind_now_window().total_seconds() / 3600,
        "reminder_run": reminder_run,
        "reminder_run_stale": bool(
            reminder_run and reminder_run.finished_at is None
            and reminder_run.requested_at < timezone.now() - dt.timedelta(minutes=closing.REMIND_NOW_STALE_MINUTES)
        ),
    }
    return render(request, "reviews/cycle_detail.html", ctx)


@login_required
def cycle_remind_late_page(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: HR's "Remind the late ones now" (the cycle page says beforehand whom it e-mails); back to the page.

    404 for anyone who may not close the cycle (reviews.closing.user_can_close), as the close answers.
    """
    if not user_can_close(request.user):
        raise Http404
    cycle = selectors.cycle_get(request.user, pk)
    back = reverse("cycle-detail", args=[cycle.pk]) + "#remind"
    if request.method != "POST":
        return redirect(back)
    try:
        with outbox.watch() as dispatch:
            run = closing.late_reminders_start(user=request.user, cycle=cycle)
    except ValidationError as exc:
        messages.error(request, REMIND_REFUSED)
        for message in exc.messages:
            messages.error(request, message)
    else:
        counts = {"reminders": run.planned_reminders, "emails": run.planned_emails}
        if dispatch.queued:
            messages.warning(request, REMIND_QUEUED % counts)
        else:
            messages.success(request, REMIND_STARTED % counts)
    return redirect(back)


@login_required
def cycle_launch_page(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what launching does, to confirm; POST: launch."""
    _require_cycle_manager(request)
    cycle = selectors.cycle_get(request.user, pk)
    if request.method == "POST":
        try:
            count = services.cycle_launch(user=request.user, cycle=cycle)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, NOT_LAUNCHED)
            for message in getattr(exc, "messages", [str(exc)]):
                messages.error(request, message)
            return redirect("cycle-detail", pk=cycle.pk)
        messages.success(request, CYCLE_LAUNCHED % {"name": cycle.name, "count": count})
        return redirect("cycle-detail", pk=cycle.pk)
    if cycle.phase != Phase.DRAFT:
        messages.info(request, services.ALREADY_LAUNCHED)
        return redirect("cycle-detail", pk=cycle.pk)
    ctx = {"cycle": cycle, "participants": services.cycle_participants(cycle).count(), "phases": _phases(cycle)}
    return render(request, "reviews/cycle_launch.html", ctx)


@login_required
def cycle_appraisals_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The cycle's appraisals the user may see, with each part's status (2 queries)."""
    cycle = selectors.cycle_get(request.user, pk)
    appraisals = list(selectors.cycle_appraisals(request.user, cycle))
    ctx = {"cycle": cycle, "appraisals": appraisals, "can_manage": services.can_manage_cycles(request.user)}
    return render(request, "reviews/appraisal_list.html", ctx)
