"""The performance contract (业绩合同) as a PDF: signatures and hash, "superseded by", drafts marked, access.

Alice's Q3 2026 contract, written by Mike (her manager): version 1 signed by
both, then amended as version 2. Bob (her peer) and Olga (another
department's manager) may not read it.
"""

from __future__ import annotations

import datetime as dt

import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from goals import contracts
from goals.documents import contract_document_html, contract_filename, contract_pdf
from goals.models import Contract
from tests.goals.test_contracts import draft, signed

pytestmark = pytest.mark.django_db


def pdf_lines(data: bytes, tmp_path, name: str = "doc") -> list[str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return [" ".join(line.split()) for line in text.splitlines()]


def pdf_text(data: bytes, tmp_path, name: str = "doc") -> str:
    return " ".join(pdf_lines(data, tmp_path, name))


def amended(org) -> tuple[Contract, Contract]:
    """Version 1 signed by both, and version 2 amending it (a draft)."""
    v1 = signed(org)
    v2 = contracts.contract_amend(user=org.mike, contract=v1, reason="FCR target lowered after the IVR outage.")
    return contracts.contract_get(org.hana, v1.pk), contracts.contract_get(org.hana, v2.pk)


def local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def test_signed_contract_shows_parties_objectives_signatures_and_hash(org, tmp_path):
    contract = contracts.contract_get(org.hana, signed(org).pk)
    lines = pdf_lines(contract_pdf(contract, language="en"), tmp_path)
    words = " ".join(lines)
    # Each line: KPI, baseline, target, stretch, due date and weight.
    assert next(x for x in lines if x.startswith("1 Raise first-contact resolution")).endswith(
        "70 75 80 2026-09-30 60")
    assert next(x for x in lines if x.startswith("2 Complete the complaint-handling")).endswith(
        "Milestone objective — — — 2026-09-30 40")
    for expected in ("Performance contract", "业绩合同", "Alice Agent (ALICE)", "Mike Manager (MIKE)",
                     "2026-07-01 – 2026-09-30", "Course certificate uploaded",
                     "Two coaching sessions a month.", "Bonus 150%", "Improvement plan",
                     "Grades come from the quarterly appraisal."):
        assert expected in words, expected
    assert "Total: 100" in words
    signatures = {s.role: s for s in contract.signatures.all()}
    for s in signatures.values():
        assert f"Signed by {s.signer.name} on {local(s.signed_at)}" in words
        assert s.content_hash == contract.content_hash
    assert words.count(contract.content_hash) == 3  # both signatures and the signed content
    assert "Signed content, sha256:" in words
    assert "Not signed" not in words and "Superseded" not in words


def test_a_superseded_version_says_by_which_and_the_new_one_what_it_replaces(org, tmp_path):
    v1, v2 = amended(org)
    words = pdf_text(contract_pdf(v1, language="en"), tmp_path, "v1")
    assert "An amendment (version 2) awaits signatures; this version stays in force until then." in words
    contracts.contract_sign(user=org.alice, contract=v2)
    contracts.contract_sign(user=org.mike, contract=v2)
    v1, v2 = contracts.contract_get(org.hana, v1.pk), contracts.contract_get(org.hana, v2.pk)
    words = pdf_text(contract_pdf(v1, language="en"), tmp_path, "v1b")
    assert "Superseded by version 2." in words
    assert v1.content_hash in words  # the old version keeps the hash it was signed with
    words = pdf_text(contract_pdf(v2, language="en"), tmp_path, "v2")
    assert "Replaces version 1." in words and "FCR target lowered after the IVR outage." in words
    assert v2.content_hash in words and v2.content_hash != v1.content_hash
    assert "Superseded by" not in words


def test_a_draft_is_marked_not_signed_on_every_page(org, tmp_path):
    contract = draft(org)
    contracts.contract_sign(user=org.alice, contract=contract)
    contract = contracts.contract_get(org.hana, contract.pk)
    text = pdf_text(contract_pdf(contract, language="en"), tmp_path)
    assert "Not signed: this version is a draft" in text
    assert "Not signed yet." in text  # the manager's block
    assert f"Signed by Alice Agent on {local(contract.signatures.get().signed_at)}" in text
    assert "Current content, sha256:" in text and contracts.content_hash(contracts.contract_content(contract)) in text
    assert "· Not signed Page 1 / 1" in text  # the footer


def test_chinese_contract(org, tmp_path):
    v1, _v2 = amended(org)
    words = pdf_text(contract_pdf(v1, language="zh-hans"), tmp_path)
    assert "业绩合同" in words and "一、目标与权重" in words and "一次解决率" in words
    assert "Alice Agent" in words and v1.content_hash in words


def test_download_follows_the_contract_page_rule(client, org, tmp_path):
    contract = signed(org)
    url = reverse("contract-pdf", args=[contract.pk])
    for outsider in (org.bob, org.olga):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    for reader in (org.alice, org.mike, org.dana, org.hana):
        client.force_login(reader)
        response = client.get(url + "?lang=zh-hans")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert "contract_ALICE_2026-Q3_v1_zh-hans.pdf" in response["Content-Disposition"]
    assert "一、目标与权重" in pdf_text(response.content, tmp_path)


def test_the_pdf_file_name_says_whose_contract_which_period_version_and_language(client, org):
    contract = signed(org)
    assert contract_filename(contract, "en") == "contract_ALICE_2026-Q3_v1_en.pdf"
    assert contract_filename(contract, "zh-hans") == "contract_ALICE_2026-Q3_v1_zh-hans.pdf"
    contract.period_end = dt.date(2026, 8, 15)
    assert contract_filename(contract, "en") == "contract_ALICE_2026-07-01_2026-08-15_v1_en.pdf"
    client.force_login(org.alice)
    response = client.get(reverse("contract-pdf", args=[contract.pk]) + "?lang=en")
    assert 'filename="contract_ALICE_2026-Q3_v1_en.pdf"' in response["Content-Disposition"]


def test_the_contract_page_offers_the_pdf_in_both_languages(client, org):
    contract = draft(org)
    client.force_login(org.alice)
    page = client.get(reverse("contract-detail", args=[contract.pk])).content.decode()
    url = reverse("contract-pdf", args=[contract.pk])
    assert f'href="{url}?lang=en"' in page and f'href="{url}?lang=zh-hans"' in page


def test_the_document_costs_one_query_beyond_the_loaded_contract(org, django_assert_num_queries):
    contract = contracts.contract_get(org.hana, signed(org).pk)
    # Expect 1 query: the KPIs the lines name (parties, lines and signatures come with the contract).
    with django_assert_num_queries(1):
        contract_document_html(contract, language="en")
