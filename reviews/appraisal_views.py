"""Appraisal pages: the CSR performance evaluation form (客户服务代表绩效评估表) and "my appraisals".

Every page resolves the appraisal through appraisals.appraisal_get (404 for
what the user may not see). The detail page shows what the current user may
edit as forms and the rest read-only; each POST page saves one part and
redirects back, or shows the detail page again with the messages (400); a GET
of a part's address (the reminder e-mails link there) opens the page at that part.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from scorecard.forms import form_errors_from

from . import appraisals as svc
from . import selectors
from .appraisal_forms import AcknowledgeForm, InterviewForm, ManagerAppraisalForm, SelfAssessmentForm
from .models import Appraisal, ReviewCycle

P = Appraisal.Part
Phase = ReviewCycle.Phase

NOT_SAVED = _("Nothing was saved: please correct the fields marked below.")
SELF_SAVED = _("Self-assessment saved as a draft.")
SELF_SUBMITTED = _("Self-assessment submitted.")
MANAGER_SAVED = _("Manager appraisal saved as a draft.")
MANAGER_SUBMITTED = _("Manager appraisal submitted.")
INTERVIEW_SAVED = _("Interview record saved.")
NEXT_CREATED = _("%(n)s draft objective(s) created for %(start)s – %(end)s.")
ACKNOWLEDGED = _("Appraisal acknowledged.")


def _may_self_edit(user, a: Appraisal) -> bool:
    # Late too (issue 10): the service's rule decides, not the deadline.
    return svc.is_appraisee(user, a) and svc.self_write_refusal(a) is None


def _may_manager_edit(user, a: Appraisal) -> bool:
    return svc.is_appraiser(user, a) and svc.manager_write_refusal(a) is None


def _may_interview(user, a: Appraisal) -> bool:
    return (
        svc.is_appraiser(user, a) and a.status == Appraisal.Status.OPEN
        and a.cycle.phase not in (Phase.CLOSING, Phase.CLOSED)
    )


def _may_acknowledge(user, a: Appraisal) -> bool:
    return (
        svc.is_appraisee(user, a) and a.status == Appraisal.Status.OPEN and a.manager_status == P.SUBMITTED
        and a.acknowledged_at is None and a.cycle.phase not in (Phase.CLOSING, Phase.CLOSED)
    )


def _detail(request: HttpRequest, a: Appraisal, *, bound: dict | None = None, status: int = 200) -> HttpResponse:
    """Render the evaluation form; `bound` replaces a part's form with the submitted one (with its errors).

    Queries: appraisal (1), preparing it (1 when prepared), ratings (1),
    competencies with their ratings (2), the KPI list for the interview form
    (1, appraisers only) — plus session and user.
    """
    user = request.user
    bound = bound or {}
    svc.appraisal_prepare(appraisal=a)
    ratings = svc.objective_ratings(a)
    competencies = svc.competency_rows(a)
    snapshot = a.snapshot or {}
    show_self = svc.self_visible(user, a)
    show_manager = svc.manager_visible(user, a)
    rows = svc.objective_rows(a, ratings)
    ctx = {
        "a": a, "cycle": a.cycle, "rows": rows, "show_self": show_self, "show_manager": show_manager,
        "competencies": competencies, "scale": sorted(a.cycle.scale, key=lambda g: -float(g["min"])),
        "contract": snapshot.get("contract"), "is_appraisee": svc.is_appraisee(user, a),
        "is_appraiser": svc.is_appraiser(user, a),
        # Names, not codes, in the reader's language (a query each, only when there is one to name).
        "gate_measure": selectors.gate_measure_label(a.cycle.gate_rule) if show_manager and a.gate_applied else "",
        "next_objectives": selectors.next_objectives_named(a),
        # A part submitted after its deadline says so; one still open after it says it will be.
        "self_late": svc.self_submitted_late(a), "manager_late": svc.manager_submitted_late(a),
        "self_overdue": svc.self_overdue(a), "manager_overdue": svc.manager_overdue(a),
    }
    # A refused form is shown again with its messages even when the part is no longer editable.
    if bound.get("self") or _may_self_edit(user, a):
        ctx["self_form"] = bound.get("self") or SelfAssessmentForm(appraisal=a, ratings=ratings)
    if bound.get("manager") or _may_manager_edit(user, a):
        ctx["manager_form"] = bound.get("manager") or ManagerAppraisalForm(
            appraisal=a, ratings=ratings, competencies=competencies
        )
        ctx["can_submit_manager"] = svc.manager_write_refusal(a, submit=True) is None
    if bound.get("interview") or _may_interview(user, a):
        ctx["interview_form"] = bound.get("interview") or InterviewForm(appraisal=a)
        ctx["has_pending_drafts"] = any(not d.get("objective_id") for d in a.next_objectives or [])
        ctx["next_start"], ctx["next_end"] = svc.next_period(a)
    if bound.get("ack") or _may_acknowledge(user, a):
        ctx["ack_form"] = bound.get("ack") or AcknowledgeForm()
    return render(request, "reviews/appraisal_detail.html", ctx, status=status)


@login_required
def appraisal_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, svc.appraisal_get(request.user, pk))


def _refused(request, a, key, form, exc: ValidationError) -> HttpResponse:
    if hasattr(form, "add_service_errors"):
        form.add_service_errors(exc)
    else:
        form_errors_from(form, exc)
    messages.error(request, NOT_SAVED)
    return _detail(request, a, bound={key: form}, status=400)


def _to_part(a: Appraisal, anchor: str) -> HttpResponse:
    """A GET of a part's POST address (the reminder e-mails link there) opens the page at that part."""
    return redirect(f"{reverse('appraisal-detail', args=[a.pk])}#{anchor}")


@login_required
@require_http_methods(["GET", "POST"])
def appraisal_self_page(request: HttpRequest, pk: int) -> HttpResponse:
    a = svc.appraisal_get(request.user, pk)
    if request.method == "GET":
        return _to_part(a, "self-assessment")
    form = SelfAssessmentForm(request.POST, appraisal=a, ratings=svc.objective_ratings(a))
    submit = request.POST.get("action") == "submit"
    if not form.is_valid():
        return _refused(request, a, "self", form, ValidationError({}))
    try:
        svc.appraisal_self_save(user=request.user, appraisal=a, submit=submit, **form.service_kwargs())
    except ValidationError as exc:
        return _refused(request, a, "self", form, exc)
    messages.success(request, SELF_SUBMITTED if submit else SELF_SAVED)
    return redirect("appraisal-detail", pk=a.pk)


@login_required
@require_http_methods(["GET", "POST"])
def appraisal_manager_page(request: HttpRequest, pk: int) -> HttpResponse:
    a = svc.appraisal_get(request.user, pk)
    if request.method == "GET":
        return _to_part(a, "manager-appraisal")
    form = ManagerAppraisalForm(request.POST, appraisal=a, ratings=svc.objective_ratings(a),
                                competencies=svc.competency_rows(a))
    submit = request.POST.get("action") == "submit"
    if not form.is_valid():
        return _refused(request, a, "manager", form, ValidationError({}))
    try:
        svc.appraisal_manager_save(user=request.user, appraisal=a, submit=submit, **form.service_kwargs())
    except ValidationError as exc:
        return _refused(request, a, "manager", form, exc)
    messages.success(request, MANAGER_SUBMITTED if submit else MANAGER_SAVED)
    return redirect("appraisal-detail", pk=a.pk)


@login_required
@require_POST
def appraisal_interview_page(request: HttpRequest, pk: int) -> HttpResponse:
    a = svc.appraisal_get(request.user, pk)
    form = InterviewForm(request.POST, appraisal=a)
    if not form.is_valid():
        return _refused(request, a, "interview", form, ValidationError({}))
    try:
        svc.appraisal_interview_save(user=request.user, appraisal=a, **form.service_kwargs())
    except ValidationError as exc:
        return _refused(request, a, "interview", form, exc)
    messages.success(request, INTERVIEW_SAVED)
    return redirect("appraisal-detail", pk=a.pk)


def _interview_form_as_saved(a: Appraisal) -> InterviewForm:
    """The interview form bound to what is saved, so messages can be attached to its rows."""
    unbound = InterviewForm(appraisal=a)
    data = {}
    for name, field in unbound.fields.items():
        value = unbound.get_initial_for_field(field, name)
        if hasattr(value, "hour"):
            value = timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")
        data[name] = "" if value is None else value
    form = InterviewForm(data, appraisal=a)
    form.is_valid()
    return form


@login_required
@require_POST
def appraisal_next_objectives_page(request: HttpRequest, pk: int) -> HttpResponse:
    a = svc.appraisal_get(request.user, pk)
    try:
        created = svc.appraisal_next_objectives_create(user=request.user, appraisal=a)
    except ValidationError as exc:
        # The drafts' messages go onto the interview form's rows, where the drafts are edited.
        form = _interview_form_as_saved(a)
        form.add_service_errors(exc)
        messages.error(request, NOT_SAVED)
        a = svc.appraisal_get(request.user, pk)
        return _detail(request, a, bound={"interview": form}, status=400)
    start, end = svc.next_period(a)
    messages.success(request, NEXT_CREATED % {"n": len(created), "start": start.isoformat(), "end": end.isoformat()})
    return redirect("appraisal-detail", pk=a.pk)


@login_required
@require_POST
def appraisal_acknowledge_page(request: HttpRequest, pk: int) -> HttpResponse:
    a = svc.appraisal_get(request.user, pk)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return _refused(request, a, "ack", form, ValidationError({}))
    try:
        svc.appraisal_acknowledge(user=request.user, appraisal=a, disagreement=form.cleaned_data["disagreement"])
    except ValidationError as exc:
        return _refused(request, a, "ack", form, exc)
    messages.success(request, ACKNOWLEDGED)
    return redirect("appraisal-detail", pk=a.pk)


@login_required
def my_appraisals_page(request: HttpRequest) -> HttpResponse:
    """The user's own appraisals and those they must appraise (2 queries)."""
    own, to_appraise = svc.appraisals_mine(request.user)
    # Only those who write appraisals see that section: managers, and anyone named manager on one.
    writes = bool(to_appraise) or request.user.role == request.user.Role.MANAGER
    return render(request, "reviews/appraisal_mine.html",
                  {"own": own, "to_appraise": to_appraise, "writes_appraisals": writes})
