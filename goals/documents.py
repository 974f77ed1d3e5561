"""The performance contract (业绩合同) as a document: one version as a PDF, as filed and handed over.

The document shows what is signed: the frozen content of a locked version,
else the draft's current content, clearly marked as not signed. Old versions
say which version superseded them. Read only.

Queries: the contract comes loaded by contracts.contract_get (parties,
version links, lines with their objectives, signatures with their signers);
the KPIs its lines name (1, none when no line names a KPI).
"""

from __future__ import annotations

import re

from django.utils import translation

from scorecard.models import Kpi
from scorecard.pdf import document_html, html_to_pdf
from scorecard.units import unit_label

from . import contracts
from .models import Contract, ContractSignature, Objective

CONTRACT_TEMPLATE = "goals/pdf/contract.html"
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|\s]+')


def _safe(part: str) -> str:
    return _UNSAFE_IN_NAME.sub("_", part.strip()) or "_"


def _period_code(start, end) -> str:
    """A calendar quarter as "2026-Q3", any other period as "2026-07-01_2026-08-15"."""
    quarter = (start.month - 1) // 3 + 1
    first = start.replace(month=3 * quarter - 2, day=1)
    last_month = 3 * quarter
    next_start = first.replace(year=first.year + 1, month=1) if last_month == 12 else first.replace(month=last_month + 1)
    if start == first and (next_start - end).days == 1:
        return f"{start.year}-Q{quarter}"
    return f"{start:%Y-%m-%d}_{end:%Y-%m-%d}"


def contract_filename(contract: Contract, language: str = "en") -> str:
    """Whose contract, for which period, which version, in which language: "contract_ALICE_2026-Q3_v2_zh-hans.pdf"."""
    parts = ["contract", contract.person.employee_code, _period_code(contract.period_start, contract.period_end),
             f"v{contract.version}", (language or "en").lower()]
    return "_".join(_safe(p) for p in parts) + ".pdf"


def contract_lines(contract: Contract) -> dict:
    """The contract's content as its page and its PDF show it: the signed (frozen) content, or the draft's
    current one, each objective with its KPI, unit and kind named (1 query: the KPIs named)."""
    content = contracts.contract_content(contract)
    codes = {line["kpi"] for line in content["lines"] if line.get("kpi")}
    kpis = {k.code: k for k in Kpi.objects.filter(code__in=codes)} if codes else {}
    kinds = dict(Objective.Kind.choices)
    lines = []
    for line in content["lines"]:
        kpi = kpis.get(line.get("kpi"))
        lines.append({**line, "kpi_obj": kpi, "kpi_label": kpi.label if kpi else (line.get("kpi") or ""),
                      "unit": unit_label(kpi.unit) if kpi else "", "unit_code": kpi.unit if kpi else "", "kind_label": kinds.get(line["kind"], line["kind"])})
    return {"content": content, "lines": lines, "total_weight": sum(line["weight"] for line in content["lines"])}


def contract_document_context(contract: Contract) -> dict:
    """Everything the document shows, in the active language (1 query: the KPIs named)."""
    doc = contract_lines(contract)
    content, lines = doc["content"], doc["lines"]
    signed = {s.role: s for s in contract.signatures.all()}
    blocks = [
        {"role": role, "label": label, "signature": signed.get(role),
         "party": contract.person if role == ContractSignature.Role.EMPLOYEE else contract.manager}
        for role, label in ContractSignature.Role.choices
    ]
    newer = contracts.superseded_by(contract)
    return {
        "contract": contract,
        "content": content,
        "lines": lines,
        "total_weight": doc["total_weight"],
        # A locked version shows the hash both parties signed; a draft the hash of what would be signed now.
        "hash": (contract.content_hash if contract.is_locked and contract.content_hash
                 else contracts.content_hash(content)),
        "blocks": blocks,
        "newer": newer,
        "superseded": contract.status == Contract.Status.SUPERSEDED
        or (newer is not None and newer.status == Contract.Status.SIGNED),
        "zh": (translation.get_language() or "").lower().startswith("zh"),
    }


def contract_document_html(contract: Contract, *, language: str) -> str:
    with translation.override(language):
        return document_html(CONTRACT_TEMPLATE, contract_document_context(contract), language=language)


def contract_pdf(contract: Contract, *, language: str) -> bytes:
    return html_to_pdf(contract_document_html(contract, language=language))
