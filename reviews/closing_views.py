"""Pages and API of the close: HR's Close button and the progress bar.

Only HR (and superusers) may close a cycle; the progress is visible to those
who see the whole center. Anyone else gets 404, never 403, so a cycle's
existence is not revealed.
"""

from __future__ import annotations

from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from scorecard import outbox
from scorecard.access import scope_for
from scorecard.apis import _drf_error
from scorecard.forms import form_errors_from

from . import closing, selectors
from .forms import CycleCloseForm
from .models import ReviewCycle

CLOSE_STARTED = _("Closing “%(name)s”: the appraisals are being frozen in the background.")
CLOSE_QUEUED = _(
    "“%(name)s” will close: the job system cannot be reached just now, so the close is recorded "
    "and will start by itself when it is back."
)
CLOSE_NOT_STARTED = _("“%(name)s” is already closing or closed.")
CLOSE_REFUSED = _("The cycle was not closed.")
NOT_VISIBLE = OpenApiResponse(description="Unknown, or not visible to the caller.")


def _cycle_for_closer(user, pk: int) -> ReviewCycle:
    """The cycle, for a user who may close it; 404 otherwise."""
    if not closing.user_can_close(user):
        raise Http404
    cycle = ReviewCycle.objects.filter(pk=pk).first()
    if cycle is None:
        raise Http404
    return cycle


def _cycle_for_viewer(user, pk: int) -> ReviewCycle:
    """The cycle, for a user who sees the whole center; 404 otherwise."""
    if not (scope_for(user).is_all or closing.user_can_close(user)):
        raise Http404
    cycle = ReviewCycle.objects.filter(pk=pk).first()
    if cycle is None:
        raise Http404
    return cycle


@login_required
def cycle_close_page(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what closing does and what is still missing, to confirm (or the progress); POST: start the close.

    Before the calibration phase the close is an override: refused (400, the
    message next to the field) without a written reason. Queries: the cycle,
    and before the close the two counts of selectors.cycle_close_check.
    """
    cycle = _cycle_for_closer(request.user, pk)
    early = closing.close_is_early(cycle)
    form = CycleCloseForm(request.POST if request.method == "POST" else None, early=early)
    status = 200
    if request.method == "POST" and not form.is_valid():
        messages.error(request, CLOSE_REFUSED)
        status = 400
    elif request.method == "POST":
        try:
            with outbox.watch() as dispatch:
                started = closing.cycle_close_start(user=request.user, cycle=cycle, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form_errors_from(form, exc)
            messages.error(request, CLOSE_REFUSED)
            status = 400
        else:
            if started and dispatch.queued:
                messages.warning(request, CLOSE_QUEUED % {"name": cycle.name})
            elif started:
                messages.success(request, CLOSE_STARTED % {"name": cycle.name})
            else:
                messages.info(request, CLOSE_NOT_STARTED % {"name": cycle.name})
            return redirect(reverse("cycle-close", args=[cycle.pk]))
    can_start = cycle.phase in ReviewCycle.TIMED_PHASES and cycle.launched_at is not None
    ctx = {
        "cycle": cycle,
        "progress": closing.close_progress(cycle),
        "can_start": can_start,
        "early": early,
        "check": selectors.cycle_close_check(cycle) if can_start else None,
        "form": form,
    }
    return render(request, "reviews/closing_page.html", ctx, status=status)


@xframe_options_sameorigin  # shown in an iframe of the close page (the default X-Frame-Options is DENY)
@csp_replace({"frame-ancestors": ["'self'"]})  # the same for the Content-Security-Policy's 'none'
@login_required
def cycle_close_progress_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A small page fragment: the progress bar, refreshing itself while the close runs (1 query)."""
    cycle = _cycle_for_viewer(request.user, pk)
    ctx = {"cycle": cycle, "progress": closing.close_progress(cycle)}
    return render(request, "reviews/closing_progress.html", ctx)


class CloseProgressOutputSerializer(serializers.Serializer):
    phase = serializers.CharField()
    closing_total = serializers.IntegerField()
    closing_done = serializers.IntegerField()
    percent = serializers.IntegerField()
    closing_started_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    summary = serializers.JSONField(allow_null=True)
    closed_early_from = serializers.CharField(help_text="The phase an early close cut short; empty otherwise.")
    close_reason = serializers.CharField(help_text="HR's written reason for an early close.")


class CycleCloseApi(APIView):
    """Start closing a cycle (HR only); 202 with the progress, also when it was already closing.

    Before the calibration phase the close is an override and needs a written
    `reason` (400 with the message on "reason" without it).
    """

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(
            required=False, allow_blank=True, max_length=2000,
            help_text="Why the cycle closes before its calibration phase (required then).",
        )

        class Meta:
            ref_name = "CycleCloseInput"

    @extend_schema(request=InputSerializer, responses={202: CloseProgressOutputSerializer, 404: NOT_VISIBLE})
    def post(self, request, pk: int):
        cycle = _cycle_for_closer(request.user, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            closing.cycle_close_start(user=request.user, cycle=cycle, reason=data.validated_data.get("reason", ""))
        except ValidationError as exc:
            raise _drf_error(exc) from exc
        cycle.refresh_from_db()
        return Response(CloseProgressOutputSerializer(closing.close_progress(cycle)).data, status=status.HTTP_202_ACCEPTED)


class CycleCloseProgressApi(APIView):
    """The close's progress: appraisals closed of the total, and the summary once closed."""

    @extend_schema(responses={200: CloseProgressOutputSerializer, 404: NOT_VISIBLE})
    def get(self, request, pk: int):
        cycle = _cycle_for_viewer(request.user, pk)
        return Response(CloseProgressOutputSerializer(closing.close_progress(cycle)).data)
