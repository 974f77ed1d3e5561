"""Pages to upload CSV files and follow their import (HR, directors and superusers only)."""

from django import forms
from django.contrib import messages
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import format_lazy
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from . import imports, outbox, uploads
from .import_jobs import import_job_create
from .models import ImportJob

IMPORT_QUEUED = _(
    "The file is stored and its import recorded: the job system cannot be reached just now, "
    "so the import will start by itself when it is back."
)
RECENT_JOBS = 50
REFRESH_SECONDS = 2


def _importer_or_404(request) -> None:
    """Answer 404 to anyone who may not import, so the pages reveal nothing to them."""
    if not request.user.can_import_data:
        raise Http404


# Django's own zh-Hans catalogue keeps the ASCII ":" after labels; ours gives the full-width "：".
LABEL_SUFFIX = pgettext_lazy("form label suffix", ":")


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportJob.Kind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV with a header row; the formats are described in the import guide."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", str(LABEL_SUFFIX))
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = format_lazy(
            "{} {}", self.fields["file"].help_text,
            _("At most %(limit)s MB a file.") % {"limit": settings.IMPORT_MAX_UPLOAD_MB},
        )

    def clean_file(self):
        """Refuse a file over the limit whose request did not declare its size (UploadLimitMiddleware did not see it)."""
        uploaded = self.cleaned_data["file"]
        if uploaded.size > uploads.upload_limit_bytes():
            raise ValidationError(uploads.too_large_message(), code="too_large")
        return uploaded


def _create_page(request, form: ImportForm, status: int = 200, upload_error: str = ""):
    ctx = {"form": form, "columns": _COLUMNS, "upload_error": upload_error}
    return render(request, "scorecard/imports/create.html", ctx, status=status)


def import_too_large_page(request):
    """The upload page again, saying the file is over the limit (413); called before the body is read."""
    if not (request.user.is_authenticated and request.user.can_import_data):
        return HttpResponse(uploads.REQUEST_TOO_LARGE, status=413, content_type="text/plain; charset=utf-8")
    return _create_page(request, ImportForm(), status=413, upload_error=uploads.too_large_message())


@login_required
def import_list(request):
    _importer_or_404(request)
    jobs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-pk")[:RECENT_JOBS]
    ctx = {"jobs": jobs}
    return render(request, "scorecard/imports/list.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def import_create(request):
    _importer_or_404(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            with outbox.watch() as dispatch:
                job = import_job_create(
                    user=request.user, kind=form.cleaned_data["kind"], uploaded_file=form.cleaned_data["file"],
                    language=get_language(),
                )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if dispatch.queued:
                messages.warning(request, IMPORT_QUEUED)
            return redirect("import-detail", job_id=job.pk)
    too_large = any(e.code == "too_large" for e in form.errors.as_data().get("file", []))
    return _create_page(request, form, status=413 if too_large else 200)


@login_required
def import_detail(request, job_id: int):
    _importer_or_404(request)
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=job_id)
    in_progress = job.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)
    ctx = {
        "job": job,
        "in_progress": in_progress,
        "refresh_seconds": REFRESH_SECONDS,
        "hidden_errors": max(0, job.error_count - len(job.errors)),
        "unchanged": max(0, job.rows - job.created - job.updated),  # org units and people the file left as they were
    }
    return render(request, "scorecard/imports/detail.html", ctx)


@login_required
def import_sample(request, kind: str):
    """A sample CSV file of one kind, built from this installation's codes; it imports cleanly as it is."""
    _importer_or_404(request)
    build = imports.SAMPLES.get(kind)
    if build is None:
        raise Http404
    # A UTF-8 BOM, so that spreadsheet programs read the Chinese names right; the importers accept it.
    response = HttpResponse("\ufeff" + build(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sample-{kind}.csv"'
    return response


# The header each kind of file needs (METRICS.md, "Import formats"), with its sample file.
_COLUMNS = [
    (ImportJob.Kind.MEASUREMENTS.label, format_lazy("date,subject,{},…", _("<measure code>")), "measurements"),
    (ImportJob.Kind.ORG.label, "code,name,parent", "org"),
    (ImportJob.Kind.PEOPLE.label, "employee_code,name,email,unit,role,manager", "people"),
]
