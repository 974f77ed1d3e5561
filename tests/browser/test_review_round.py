"""A review round from the appraisal phase to the exported PDFs, on a site of its own (it moves the cycle's
phases, as the beat does when deadlines pass, which would change the other journeys' pages):

the manager submits an appraisal and records the interview → the agent reads it, signs with a written
disagreement and downloads the PDF → HR calibrates the grade with a reason → tries to close, sees what is
missing, confirms → follows the close → exports the team's PDFs → downloads the ZIP.
"""

import io
import re
import subprocess
import zipfile

import pytest

MANAGER, AGENT, HR = "E0100", "E1001", "E0002"

# What the beat does when a deadline passes: the phase moves on (reviews.closing.phases_advance).
PASS_DEADLINES = """
import datetime as dt
from django.utils import timezone
from reviews.closing import phases_advance
from reviews.models import ReviewCycle
now = timezone.now()
cycle = ReviewCycle.objects.get(phase__in=ReviewCycle.TIMED_PHASES)
fields = {field: now - dt.timedelta(minutes=10 - n) for n, field in enumerate(%r)}
ReviewCycle.objects.filter(pk=cycle.pk).update(**fields)
phases_advance()
print(ReviewCycle.objects.get(pk=cycle.pk).phase)
"""


def time_passes(site, *deadlines: str) -> str:
    return site.python(PASS_DEADLINES % (deadlines,)).strip().splitlines()[-1]


@pytest.fixture(scope="module")
def round_site(own_site):
    assert time_passes(own_site, "self_assessment_due", "feedback_due") == "appraisal"
    return own_site


def test_a_review_round_from_the_appraisal_to_the_exported_pdfs(journey, round_site, tmp_path):
    # The manager writes and submits the appraisal, then records the interview.
    m = journey(on=round_site).login(MANAGER)
    m.sees("Appraisals to write")
    m.nav("My appraisals")
    m.page.locator("#to-write tr", has_text=AGENT, has_not_text="Closed").get_by_role("link").click()
    m.page.wait_for_load_state()
    m.check()
    m.sees("Your appraisal")
    m.page.get_by_role("button", name="Submit appraisal").click()
    m.page.wait_for_load_state()
    m.check()
    assert "submitted" in m.messages().lower()
    m.fill("Interview date", "2026-12-01T10:00")
    m.fill("Interview notes", "Went through the quarter week by week; FCR is the priority.")
    m.fill("Agreed improvement actions", "Shadow a senior agent twice a month.")
    m.press("Save interview")
    m.sees("Went through the quarter week by week")

    # The agent reads it, signs with a written disagreement, downloads the PDF.
    a = journey(on=round_site).login(AGENT)
    a.sees("Your appraisal to read and sign")
    a.link(re.compile("review"), within="#todo-acknowledge")
    a.sees("Shadow a senior agent twice a month.")
    a.fill("Written disagreement (optional)", "The CSAT tool was down two weeks of the quarter.")
    a.press("Acknowledge the appraisal")
    a.sees("Acknowledged by", "The CSAT tool was down two weeks of the quarter.")
    with a.page.expect_download() as info:
        a.page.locator("#pdf-links").get_by_role("link", name="English").click()
    download = info.value
    assert re.fullmatch(r"appraisal_[a-z0-9-]+_E1001_en\.pdf", download.suggested_filename)
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "E1001" in text and "The CSAT tool was down two weeks" in text

    # The appraisal deadline passes: calibration. HR adjusts the grade with a reason.
    assert time_passes(round_site, "appraisal_due") == "calibration"
    h = journey(on=round_site).login(HR)
    h.sees("Review cycles under way")
    h.link(re.compile("review"), within="#todo-cycles")
    h.link("Calibration")
    row = h.page.locator("tr", has_text="E1001").first
    proposed = row.locator("select[name=grade] option").first.inner_text()
    grade = "B" if "(B)" not in proposed else "C"
    row.locator("select[name=grade]").select_option(grade)
    row.locator("input[name=reason]").fill("Calibration meeting: in line with the department's distribution.")
    row.get_by_role("button").click()
    h.page.wait_for_load_state()
    h.check()
    assert "E1001" in h.text() and "Calibration meeting" in h.text()

    # Close: the page says what closing does and what is missing, then asks to confirm.
    h.link(re.compile(r"Q\d review"), within="nav.breadcrumb")
    h.link(re.compile(r"^Close the cycle"))
    h.sees("cannot be undone")
    assert h.page.locator("#close-missing").is_visible()
    h.page.get_by_role("button", name=re.compile(r"^Close the cycle")).last.click()
    h.page.wait_for_load_state()
    h.check()
    progress = h.page.frame_locator("iframe.close-progress-frame")
    progress.get_by_text(re.compile(r"^Closed on")).wait_for(timeout=90_000)  # the worker froze every appraisal
    progress.get_by_role("link", name="See the summary").click()
    h.page.wait_for_load_state()
    h.check().sees("Summary")

    # Export the team's PDFs and download the ZIP.
    h.link(re.compile(r"Q\d review"), within="nav.breadcrumb")
    h.link("Export PDFs")
    h.page.locator("input[name=units][value='IN-01']").check()
    h.press("Start the export")
    download_link = h.page.locator(".export-row").first.get_by_role("link", name=re.compile("Download"))
    download_link.wait_for(timeout=120_000)
    with h.page.expect_download() as info:
        download_link.click()
    data = info.value
    archive = tmp_path / data.suggested_filename
    data.save_as(archive)
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
    assert any("E1001" in n for n in names) and all(n.endswith((".pdf", ".txt")) for n in names)
