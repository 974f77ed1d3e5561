"""Pages and API of HR's bulk export: a cycle's appraisal PDFs in one ZIP (the work is in reviews.exports).

Only HR (and superusers) export a cycle (exports.can_export). Everyone else
gets 404, never 403, on the pages and on the API alike — directors and
managers too, and creating an export as well as reading one — so neither a
cycle nor an export is revealed; a cycle HR may not see is 404 as well.

The export page lists the cycle's exports; while one is waiting or rendering,
a small script fetches its row from export-progress every 2 seconds (without
JavaScript the page reloads itself every 5).

API: POST answers 202 with the job when it starts an export, and 200 with
the job already waiting or rendering when the same export (cycle, units,
language) is asked for again; either way `Location` is the job's URL.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from scorecard import outbox
from scorecard.access import subtrees_q
from scorecard.apis import _drf_error
from scorecard.audit import audit_record
from scorecard.models import AuditEvent, OrgUnit

from . import exports, selectors
from .models import Appraisal, ExportJob, ReviewCycle

EXPORT_STARTED = ngettext_lazy(
    "Export started: %(count)s appraisal is being rendered in the background. You will get an email when the ZIP is ready.",
    "Export started: %(count)s appraisals are being rendered in the background. You will get an email when the ZIP is ready.",
    "count",
)
EXPORT_QUEUED = ngettext_lazy(
    "The export of %(count)s appraisal is recorded: the job system cannot be reached just now, "
    "so it will start by itself when it is back.",
    "The export of %(count)s appraisals is recorded: the job system cannot be reached just now, "
    "so it will start by itself when it is back.",
    "count",
)
EXPORT_ALREADY_RUNNING = _("The same export is already running: follow it below.")
NOT_STARTED = _("No export was started: please correct the fields marked below.")
UNITS_HELP = _("Each unit includes the units below it. Tick none to export the whole cycle.")
# The newest exports shown on the page; the API lists them all.
EXPORTS_SHOWN = 50

NOT_VISIBLE = OpenApiResponse(description="Unknown, or not the caller's to export (only HR exports a cycle).")
S = ExportJob.Status
STATUSES = ", ".join(S.values)


def _cycle_for_exporter(user, pk: int) -> ReviewCycle:
    """The cycle, for HR; 404 for everyone else and for a cycle they may not see."""
    if not exports.can_export(user):
        raise Http404
    return selectors.cycle_get(user, pk)


def _retention_hours() -> int:
    return getattr(settings, "EXPORT_RETENTION_HOURS", 72)


def _with_expiry(jobs):
    """Set `expires_at` on each job: when its ZIP is deleted (None until it is assembled)."""
    keep = dt.timedelta(hours=_retention_hours())
    for job in jobs:
        job.expires_at = job.finished_at + keep if job.finished_at and job.file else None
    return jobs


def _api_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """The service's messages by field; its "__all__" ones under DRF's non_field_errors, as the other APIs answer."""
    error = _drf_error(exc)
    if isinstance(error.detail, dict) and NON_FIELD_ERRORS in error.detail:
        error.detail[api_settings.NON_FIELD_ERRORS_KEY] = error.detail.pop(NON_FIELD_ERRORS)
    return error


def _zip_response(request, job: ExportJob) -> FileResponse:
    path = exports.export_path(job)
    if path is None:  # still rendering, deleted after its retention, or its file is gone
        raise Http404
    audit_record(AuditEvent.Action.EXPORT_DOWNLOADED, actor=request.user, target=job, request=request,
                 details={"document": "appraisals_zip", "cycle": job.cycle_id, "file": path.name})
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="application/zip")


# ----------------------------------------------------------------------- pages


def language_choices() -> list[tuple[str, str]]:
    # Each language under its own name (English, 简体中文), as language pickers show them.
    return [(code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]


def export_units(cycle: ReviewCycle) -> list[OrgUnit]:
    """The units offered: the cycle's participating units with their subtrees, and any unit one of its
    appraisals was made in (a unit moved since the launch), in tree order; `level` set for indenting (2 queries)."""
    within = Q(pk__in=Appraisal.objects.filter(cycle=cycle).values("unit_id"))
    units = list(OrgUnit.objects.filter(within | subtrees_q(cycle.units.values_list("path", flat=True)))
                 .order_by("path"))
    top = min((u.depth for u in units), default=0)
    for unit in units:
        unit.level = unit.depth - top
    return units


class ExportForm(forms.Form):
    """What to export; the rules (a launched cycle, appraisals in the chosen units) are exports.export_start's."""

    units = forms.MultipleChoiceField(label=_("Units"), required=False, help_text=UNITS_HELP,
                                      widget=forms.CheckboxSelectMultiple)
    language = forms.ChoiceField(label=_("Language of the PDFs"), widget=forms.RadioSelect)

    def __init__(self, *args, units: list[OrgUnit], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].choices = [(u.code, f"{u.code} {u.name}") for u in units]
        self.fields["language"].choices = language_choices()

    def add_service_errors(self, exc: DjangoValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.message_dict.items():
            self.add_error(key if key in self.fields else None, errors)


@login_required
def cycle_export_page(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the choice of units and language, and the cycle's exports; POST: start one (HR only).

    Queries, whatever the number of exports: the cycle (1), the cycle's unit
    paths and the units offered (2), the exports with who asked (1).
    """
    user = request.user
    cycle = _cycle_for_exporter(user, pk)
    units = export_units(cycle)
    language = getattr(request, "LANGUAGE_CODE", None) or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    form = ExportForm(request.POST if request.method == "POST" else None, units=units,
                      initial={"language": language})
    if request.method == "POST":
        if form.is_valid():
            try:
                with outbox.watch() as dispatch:
                    job, created = exports.export_start(
                        user=user, cycle=cycle, unit_codes=form.cleaned_data["units"],
                        language=form.cleaned_data["language"],
                    )
            except DjangoValidationError as exc:
                form.add_service_errors(exc)
            else:
                if created and dispatch.queued:
                    messages.warning(request, EXPORT_QUEUED % {"count": job.total})
                elif created:
                    messages.success(request, EXPORT_STARTED % {"count": job.total})
                else:
                    messages.info(request, EXPORT_ALREADY_RUNNING)
                return redirect("cycle-export", pk=cycle.pk)
        messages.error(request, NOT_STARTED)
    jobs = _with_expiry(list(exports.exports_of(user, cycle)[:EXPORTS_SHOWN + 1]))
    selected = set(form["units"].value() or [])
    ctx = {
        "cycle": cycle,
        "form": form,
        "units": [{"unit": u, "checked": u.code in selected} for u in units],
        "can_start": cycle.phase != ReviewCycle.Phase.DRAFT and cycle.launched_at is not None,
        "jobs": jobs[:EXPORTS_SHOWN],
        "more": len(jobs) > EXPORTS_SHOWN,
        "running": any(job.status in ExportJob.ACTIVE for job in jobs),
        "retention_hours": _retention_hours(),
    }
    return render(request, "reviews/export_page.html", ctx, status=400 if form.errors else 200)


@login_required
@require_safe
def export_progress_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One export's row of the export page, which the page fetches while it runs (1 query)."""
    job = exports.export_get(request.user, pk)
    ctx = {"job": _with_expiry([job])[0], "retention_hours": _retention_hours()}
    return render(request, "reviews/export_row.html", ctx)


@login_required
@require_safe
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    """The export's ZIP; 404 while it renders, once deleted, or when its file is missing."""
    return _zip_response(request, exports.export_get(request.user, pk))


# ------------------------------------------------------------------------- API


class ExportLogLineSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The PDF's name in the ZIP, e.g. appraisal_2026-q3-review_ALICE_en.pdf.")
    person = serializers.CharField(help_text="The appraisee's employee code.")
    error = serializers.CharField()

    class Meta:
        ref_name = "ReviewExportLogLine"


class ExportOutputSerializer(serializers.ModelSerializer):
    cycle = serializers.IntegerField(source="cycle_id", read_only=True)
    requested_by = serializers.CharField(source="requested_by.employee_code", read_only=True)
    requested_by_name = serializers.CharField(source="requested_by.name", read_only=True)
    units = serializers.ListField(
        child=serializers.CharField(), source="unit_codes", read_only=True,
        help_text="Unit codes, each with the units below it; empty: the whole cycle.",
    )
    language = serializers.CharField(read_only=True, help_text="en or zh-hans.")
    status = serializers.CharField(read_only=True, help_text=f"One of: {STATUSES}.")
    total = serializers.IntegerField(read_only=True, help_text="Appraisals to render.")
    done = serializers.IntegerField(read_only=True, help_text="PDFs rendered.")
    failed = serializers.IntegerField(read_only=True, help_text="Documents that could not be rendered.")
    percent = serializers.IntegerField(read_only=True, help_text="Rendered or failed, of the total (100 when ready).")
    log = ExportLogLineSerializer(
        many=True, read_only=True, help_text="The documents that could not be rendered, filled in when the ZIP is made.",
    )
    size = serializers.IntegerField(read_only=True, help_text="The ZIP's size in bytes (0 until it is made).")
    download_url = serializers.SerializerMethodField(help_text="The ZIP, once made and until it is deleted.")

    class Meta:
        model = ExportJob
        ref_name = "ReviewExport"
        fields = [
            "id", "cycle", "requested_by", "requested_by_name", "units", "language", "status", "total", "done",
            "failed", "percent", "log", "size", "download_url", "created_at", "finished_at",
        ]

    def get_download_url(self, job) -> str | None:
        if not job.file or job.status not in (S.DONE, S.FAILED):
            return None
        url = reverse("api-export-download", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ExportInputSerializer(serializers.Serializer):
    units = serializers.ListField(
        child=serializers.CharField(), required=False, default=list,
        help_text="Unit codes, each with the units below it; empty or left out: the whole cycle.",
    )
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES], required=False,
        help_text="The PDFs' language; left out: the caller's (Accept-Language).",
    )

    class Meta:
        ref_name = "ReviewExportInput"


class CycleExportListCreateApi(ListAPIView):
    """The cycle's exports, newest first (GET); start one (POST). HR only."""

    serializer_class = ExportOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.objects.none()
        cycle = _cycle_for_exporter(self.request.user, self.kwargs["pk"])
        return exports.exports_of(self.request.user, cycle)

    @extend_schema(summary="The cycle's exports, newest first.",
                   responses={200: ExportOutputSerializer(many=True), 404: NOT_VISIBLE})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Export the cycle's appraisals (or those of chosen units) as PDFs in one ZIP.",
        request=ExportInputSerializer,
        responses={
            202: OpenApiResponse(ExportOutputSerializer, description="Started: the chunks are being rendered."),
            200: OpenApiResponse(ExportOutputSerializer, description="The same export (cycle, units, language) "
                                 "is already waiting or rendering: that one, nothing new is started."),
            400: OpenApiResponse(description="Unknown units, no appraisal in them, another language, or a cycle "
                                 "not launched: messages by field; nothing saved."),
            404: NOT_VISIBLE,
        },
    )
    def post(self, request, pk: int):
        cycle = _cycle_for_exporter(request.user, pk)
        serializer = ExportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            job, created = exports.export_start(
                user=request.user, cycle=cycle, unit_codes=data["units"],
                language=data.get("language") or getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE),
            )
        except DjangoValidationError as exc:
            raise _api_error(exc) from None
        body = ExportOutputSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
                        headers={"Location": reverse("api-export-detail", args=[job.pk])})


class ExportDetailApi(APIView):
    """One export: its status and progress, the documents that failed, and the download once ready. HR only."""

    @extend_schema(summary="One export's status and progress.",
                   responses={200: ExportOutputSerializer, 404: NOT_VISIBLE})
    def get(self, request, pk: int):
        job = exports.export_get(request.user, pk)
        return Response(ExportOutputSerializer(job, context={"request": request}).data)


class ZipRenderer(BaseRenderer):
    """Lets a client ask for application/zip; errors keep their JSON body."""

    media_type = "application/zip"
    format = "zip"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data) if data is not None else b""


class ExportDownloadApi(APIView):
    """The export's ZIP: one PDF per appraisal named appraisal_<cycle>_<employee code>_<language>.pdf, and
    export-log.txt when documents failed. HR only; 404 while it renders and once deleted."""

    renderer_classes = [JSONRenderer, ZipRenderer]

    @extend_schema(summary="Download the export's ZIP.",
                   responses={(200, "application/zip"): OpenApiTypes.BINARY, (404, "application/json"): NOT_VISIBLE})
    def get(self, request, pk: int):
        return _zip_response(request, exports.export_get(request.user, pk))
