"""HTML pages of check-ins, replies, the influencing-factor worksheet and its fishbone diagram.

Every page resolves its objective through selectors.objective_get_for_user:
404 for objectives whose owner the user does not see. Refused input
re-renders the form with the service's messages, status 400, nothing saved.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from scorecard.forms import form_errors_from

from . import checkins, selectors
from .checkin_forms import CheckInForm, FactorForm, ReplyForm
from .fishbone import fishbone_svg
from .models import CheckIn, InfluencingFactor, Objective

CHECKIN_SAVED = _("Check-in recorded.")
REPLY_SAVED = _("Reply saved.")
FACTOR_ADDED = _("Factor “%(name)s” added.")
FACTOR_SAVED = _("Factor “%(name)s” saved.")
FACTOR_DELETED = _("Factor “%(name)s” deleted.")
NOT_SAVED = _("Nothing was saved: please correct the fields marked below.")
PAGE_SIZE = 20


def _checkin_get(user, pk: int) -> CheckIn:
    checkin = (
        CheckIn.objects.select_related("objective__owner_unit", "objective__owner_person__unit", "author")
        .filter(pk=pk)
        .first()
    )
    if checkin is None or not selectors.objective_visible(user, checkin.objective):
        raise Http404
    return checkin


def _factor_get(user, pk: int) -> InfluencingFactor:
    factor = (
        InfluencingFactor.objects.select_related("objective__owner_unit", "objective__owner_person__unit", "kpi")
        .filter(pk=pk)
        .first()
    )
    if factor is None or not selectors.objective_visible(user, factor.objective):
        raise Http404
    return factor


def _checkins_ctx(request, objective: Objective, form: CheckInForm | None = None) -> dict:
    """The objective's check-ins, paginated: count (1) and page (1) queries, authors joined."""
    qs = objective.checkins.select_related("author", "replied_by")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "o": objective,
        "objective": objective,
        "page": page,
        "form": form if form is not None else CheckInForm(objective=objective),
        "can_check_in": checkins.can_check_in(request.user, objective),
        "reply_form": ReplyForm(),
    }


@login_required
def objective_checkins_page(request: HttpRequest, pk: int) -> HttpResponse:
    """All check-ins of an objective with the managers' replies, and the form for a new one."""
    objective = selectors.objective_get_for_user(request.user, pk)
    return render(request, "goals/checkin_list.html", _checkins_ctx(request, objective))


@login_required
def checkin_create_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a check-in: GET shows the form, POST saves it (or re-renders it with the reasons, 400)."""
    objective = selectors.objective_get_for_user(request.user, pk)
    if request.method != "POST":
        return render(request, "goals/checkin_form.html", {"o": objective, "objective": objective,
                                                          "form": CheckInForm(objective=objective)})
    form = CheckInForm(request.POST, objective=objective)
    if form.is_valid():
        try:
            checkins.checkin_create(user=request.user, objective=objective, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, CHECKIN_SAVED)
            return redirect(reverse("objective-checkins", args=[objective.pk]))
    messages.error(request, NOT_SAVED)
    return render(request, "goals/checkin_form.html", {"o": objective, "objective": objective, "form": form},
                  status=400)


@login_required
def checkin_reply_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Reply to a check-in (the owner's manager): GET shows the form, POST saves it."""
    checkin = _checkin_get(request.user, pk)
    objective = checkin.objective
    ctx = {"o": objective, "objective": objective, "c": checkin}
    if request.method != "POST":
        return render(request, "goals/checkin_reply.html", {**ctx, "form": ReplyForm(initial={"reply": checkin.reply})})
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            checkins.checkin_reply(user=request.user, checkin=checkin, reply=form.cleaned_data["reply"])
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, REPLY_SAVED)
            return redirect(reverse("objective-checkins", args=[objective.pk]) + f"#checkin-{checkin.pk}")
    messages.error(request, NOT_SAVED)
    return render(request, "goals/checkin_reply.html", {**ctx, "form": form}, status=400)


# ------------------------------------------------------------------ factors


def _worksheet(request, objective: Objective, form: FactorForm | None = None, *, status: int = 200) -> HttpResponse:
    factors = list(objective.factors.select_related("kpi"))
    ctx = {
        "o": objective,
        "objective": objective,
        "factors": factors,
        "form": form if form is not None else FactorForm(),
        "can_edit": checkins.can_edit_factors(request.user, objective),
        "fishbone": fishbone_svg(objective.title, factors),
    }
    return render(request, "goals/factor_worksheet.html", ctx, status=status)


def _factor_fields(form: FactorForm) -> dict:
    data = dict(form.cleaned_data)
    data["category"] = data.get("category") or ""
    return data


@login_required
def objective_factors_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The influencing-factor worksheet (运营目标制订法) with its fishbone diagram; POST adds a factor."""
    objective = selectors.objective_get_for_user(request.user, pk)
    if request.method != "POST":
        return _worksheet(request, objective)
    form = FactorForm(request.POST)
    if form.is_valid():
        try:
            factor = checkins.factor_create(user=request.user, objective=objective, **_factor_fields(form))
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, FACTOR_ADDED % {"name": factor.name})
            return redirect(reverse("objective-factors", args=[objective.pk]))
    messages.error(request, NOT_SAVED)
    return _worksheet(request, objective, form, status=400)


@login_required
def factor_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    factor = _factor_get(request.user, pk)
    objective = factor.objective
    if request.method != "POST":
        form = FactorForm.for_factor(factor)
        return render(request, "goals/factor_form.html", {"o": objective, "objective": objective, "factor": factor,
                                                         "form": form})
    form = FactorForm(request.POST)
    if form.is_valid():
        try:
            factor = checkins.factor_update(user=request.user, factor=factor, **_factor_fields(form))
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, FACTOR_SAVED % {"name": factor.name})
            return redirect(reverse("objective-factors", args=[objective.pk]))
    messages.error(request, NOT_SAVED)
    return render(request, "goals/factor_form.html", {"o": objective, "objective": objective, "factor": factor,
                                                     "form": form}, status=400)


@login_required
@require_POST
def factor_delete_page(request: HttpRequest, pk: int) -> HttpResponse:
    factor = _factor_get(request.user, pk)
    objective, name = factor.objective, factor.name
    try:
        checkins.factor_delete(user=request.user, factor=factor)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _worksheet(request, objective, status=400)
    messages.success(request, FACTOR_DELETED % {"name": name})
    return redirect(reverse("objective-factors", args=[objective.pk]))


@login_required
def objective_fishbone_svg(request: HttpRequest, pk: int) -> HttpResponse:
    """The fishbone diagram of an objective's factors, as an image/svg+xml document."""
    objective = selectors.objective_get_for_user(request.user, pk)
    svg = fishbone_svg(objective.title, objective.factors.all())
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, no-cache"
    return response
