"""Download of a performance contract version as a PDF, from the contract's page.

The contract resolves through contracts.contract_get: 404 for a contract the
user may not read (the same rule as its page).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from scorecard.audit import audit_record
from scorecard.models import AuditEvent
from scorecard.pdf import document_language, pdf_response

from . import contracts
from .documents import contract_filename, contract_pdf


@login_required
@require_safe
def contract_pdf_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The contract version as a PDF in the reader's language, or the one asked for with ?lang=en|zh-hans."""
    contract = contracts.contract_get(request.user, pk)
    language = document_language(request)
    filename = contract_filename(contract, language)
    data = contract_pdf(contract, language=language)
    if contract.person_id != request.user.pk:  # someone else's contract leaves the system
        audit_record(AuditEvent.Action.EXPORT_DOWNLOADED, actor=request.user, target=contract, request=request,
                     details={"document": "contract_pdf", "file": filename})
    return pdf_response(data, filename)
