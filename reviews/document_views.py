"""Downloads of appraisal documents: the evaluation form as a PDF, from the appraisal's page.

The appraisal resolves through appraisals.appraisal_get (404 for what the user
may not see: an agent their own, a manager their subtree, HR everything); the
drafts the reader may not read stay out of the document, as on the page.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from scorecard.audit import audit_record
from scorecard.models import AuditEvent
from scorecard.pdf import document_language, pdf_response

from . import appraisals as svc
from .documents import appraisal_filename, appraisal_pdf


@login_required
@require_safe
def appraisal_pdf_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The appraisal as a PDF in the reader's language, or the one asked for with ?lang=en|zh-hans."""
    appraisal = svc.appraisal_get(request.user, pk)
    language = document_language(request)
    data = appraisal_pdf(appraisal, language=language, viewer=request.user)
    filename = appraisal_filename(appraisal, language)
    if appraisal.person_id != request.user.pk:  # someone else's appraisal leaves the system
        audit_record(AuditEvent.Action.EXPORT_DOWNLOADED, actor=request.user, target=appraisal, request=request,
                     details={"document": "appraisal_pdf", "file": filename})
    return pdf_response(data, filename)
