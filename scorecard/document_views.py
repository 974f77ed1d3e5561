"""Documents downloaded from the scorecard pages: the scorecard report PDF."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import translation
from django.utils.translation import gettext_lazy, pgettext

from . import selectors
from .audit import audit_record
from .documents import scorecard_report_filename, scorecard_report_pdf
from .forms import RangeForm
from .models import AuditEvent
from .pdf import document_language, pdf_response

REPORT_BAD_RANGE = gettext_lazy("No report was made: the period is not valid.")


def _range_errors(form: RangeForm) -> str:
    """The range picker's messages as plain text, one a line, each after its field's label."""
    lines = [str(REPORT_BAD_RANGE)]
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        prefix = pgettext("field label", "%(label)s:") % {"label": field.label} if field else ""
        if prefix and not prefix.endswith("："):  # a full-width colon takes no space after it
            prefix += " "
        lines += [f"{prefix}{error}" for error in errors]
    return "\n".join(lines) + "\n"


@login_required
def scorecard_pdf_view(request: HttpRequest, code: str) -> HttpResponse:
    """Download a subject's scorecard report over the page's range (?start=&end= or ?preset=), in ?lang= or the reader's language."""
    subject = selectors.subject_get(request.user, code)
    language = document_language(request)
    with translation.override(language):  # the messages are made in validation
        form = RangeForm(request.GET)  # the scorecard page's range parsing
        if not form.is_valid():
            return HttpResponseBadRequest(_range_errors(form), content_type="text/plain; charset=utf-8")
    start, end = form.cleaned_data["range"]
    data = scorecard_report_pdf(subject, start, end, language=language, user=request.user)
    filename = scorecard_report_filename(subject, start, end)
    if subject.obj != request.user:  # a unit's or another person's figures leave the system
        audit_record(AuditEvent.Action.EXPORT_DOWNLOADED, actor=request.user, target=subject.obj, request=request,
                     details={"document": "scorecard_pdf", "file": filename})
    return pdf_response(data, filename)
