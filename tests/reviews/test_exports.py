"""HR's bulk export of a cycle's appraisal PDFs (reviews.exports, reviews.export_views): the ZIP, units and
language, idempotency (the same export twice, a chunk twice, a stale chunk, the assembly twice), failures,
the beat job, the email, the pages and the API, who may export, and the queries.

The cycle covers the whole center: six appraisals, DANA (D1), ALICE, BOB and
MIKE (T1), CARL (T2) and OLGA (T3). Celery is eager: chunks dispatched on commit run
inside django_capture_on_commit_callbacks(execute=True); with execute=False
the export stays waiting, as if no worker had picked it up yet. Most tests
replace the PDF renderer with a stub (WeasyPrint takes about a second a
document); two render real PDFs and read them back with pdftotext.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from reviews import export_views, exports, services
from reviews.models import ExportChunk, ExportJob, ReviewCycle
from tests.base import PASSWORD, make_unit
from tests.reviews.test_appraisal_pdf import flat, pdf_text
from tests.reviews.test_cycles import make_cycle

pytestmark = pytest.mark.django_db
S = ExportJob.Status
CYCLE_SLUG = "q3-2026-appraisal"  # tests.reviews.test_cycles.make_cycle's "Q3 2026 appraisal"


def pdf(code: str, language: str = "en") -> str:
    """An appraisal's file name in the ZIP: by cycle, employee code and language."""
    return f"appraisal_{CYCLE_SLUG}_{code}_{language}.pdf"


ALL_FILES = [pdf(code) for code in ("ALICE", "BOB", "CARL", "DANA", "MIKE", "OLGA")]
API = "/api/v1/reviews"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _small_chunks(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_CHUNK_SIZE = 2  # six appraisals: three chunks


@pytest.fixture
def cycle(org) -> ReviewCycle:
    cycle = make_cycle(org, units=[org.center])
    services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    return cycle


@pytest.fixture
def rendered(monkeypatch) -> list[tuple[str, str]]:
    """Replace the PDF renderer with a stub; the list of (employee code, language) it was asked for."""
    calls: list[tuple[str, str]] = []

    def fake_pdf(appraisal, *, language, viewer=None):
        calls.append((appraisal.person.employee_code, language))
        return f"%PDF-stub {appraisal.person.employee_code} {language}".encode()

    monkeypatch.setattr(exports, "appraisal_pdf", fake_pdf)
    return calls


def start(org, cycle, capture, *, units=None, language="en", execute=True, user=None) -> tuple[ExportJob, bool]:
    """Start an export; with execute=True its chunks run (eager Celery) when the transaction commits."""
    with capture(execute=execute):
        job, created = exports.export_start(user=user or org.hana, cycle=cycle, unit_codes=units, language=language)
    job.refresh_from_db()
    return job, created


def zip_of(job: ExportJob) -> zipfile.ZipFile:
    path = exports.export_path(job)
    assert path is not None, f"no ZIP for a job {job.status}"
    return zipfile.ZipFile(path)


def login(client, person):
    assert client.login(employee_code=person.employee_code, password=PASSWORD)
    return client


def api(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


def page_url(cycle) -> str:
    return reverse("cycle-export", args=[cycle.pk])


# ------------------------------------------------------------------ the ZIP


def test_the_zip_holds_one_pdf_per_appraisal_named_by_cycle_employee_code_and_language(
    org, cycle, rendered, django_capture_on_commit_callbacks
):
    job, created = start(org, cycle, django_capture_on_commit_callbacks)

    assert created and job.status == S.DONE
    assert (job.total, job.done, job.failed, job.percent, job.log) == (6, 6, 0, 100, [])
    assert job.chunks.count() == 3 and set(job.chunks.values_list("status", flat=True)) == {"done"}
    archive = zip_of(job)
    assert sorted(archive.namelist()) == ALL_FILES
    assert archive.read(pdf("ALICE")) == b"%PDF-stub ALICE en"
    path = exports.export_path(job)
    assert job.size == path.stat().st_size and path.name == f"appraisals_{CYCLE_SLUG}_en.zip"
    assert [p.name for p in path.parent.iterdir()] == [path.name], "the part files are deleted"


def test_the_pdfs_are_the_appraisal_documents_in_the_chosen_language(org, cycle, tmp_path, django_capture_on_commit_callbacks):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    english, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["T2"])
    chinese, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["T2"], language="zh-hans")

    assert zip_of(english).namelist() == [pdf("CARL")]
    assert zip_of(chinese).namelist() == [pdf("CARL", "zh-hans")]
    text_en = flat(pdf_text(zip_of(english).read(pdf("CARL")), tmp_path, "en"))
    text_zh = flat(pdf_text(zip_of(chinese).read(pdf("CARL", "zh-hans")), tmp_path, "zh"))
    assert "Employee Carl Two Employee code CARL Unit Team Two" in text_en
    assert "员工 Carl Two 工号 CARL 组织单元 Team Two" in text_zh


def test_units_take_their_subtrees(org, cycle, rendered, django_capture_on_commit_callbacks):
    d1, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["D1"])
    teams, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["T3", "T1"])

    assert sorted(zip_of(d1).namelist()) == [pdf(c) for c in ("ALICE", "BOB", "CARL", "DANA", "MIKE")]
    assert sorted(zip_of(teams).namelist()) == [pdf(c) for c in ("ALICE", "BOB", "MIKE", "OLGA")]
    assert (d1.total, teams.total, teams.unit_codes) == (5, 4, ["T1", "T3"])


def test_the_documents_are_rendered_in_the_exports_language(org, cycle, rendered, django_capture_on_commit_callbacks):
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["T1"], language="zh-hans")

    assert sorted(rendered) == [("ALICE", "zh-hans"), ("BOB", "zh-hans"), ("MIKE", "zh-hans")]
    assert exports.export_path(job).name == f"appraisals_{CYCLE_SLUG}_T1_zh-hans.zip"
    assert sorted(zip_of(job).namelist()) == [pdf(c, "zh-hans") for c in ("ALICE", "BOB", "MIKE")]


# -------------------------------------------------------------- idempotency


def test_starting_the_same_export_while_it_runs_returns_that_one(org, cycle, rendered, django_capture_on_commit_callbacks):
    job, created = start(org, cycle, django_capture_on_commit_callbacks, units=["T1", "D2"], execute=False)
    assert created and job.status == S.PENDING

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again, created_again = exports.export_start(user=org.hana, cycle=cycle, unit_codes=["D2", "T1", "D2"],
                                                    language="en")

    assert (again.pk, created_again) == (job.pk, False)
    assert callbacks == [], "nothing dispatched again"
    assert ExportJob.objects.count() == 1 and ExportChunk.objects.count() == 2
    # Another language is another export; once the first is done, the same one may start again.
    other, created_other = start(org, cycle, django_capture_on_commit_callbacks, units=["T1", "D2"], language="zh-hans")
    assert created_other and other.pk != job.pk
    for chunk in job.chunks.all():
        exports.export_chunk_run(job_id=job.pk, index=chunk.index)
    job.refresh_from_db()
    assert job.status == S.DONE
    new, created_new = start(org, cycle, django_capture_on_commit_callbacks, units=["T1", "D2"])
    assert created_new and new.pk not in (job.pk, other.pk)


def test_a_chunk_delivered_twice_is_rendered_once(org, cycle, rendered, django_capture_on_commit_callbacks):
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, execute=False)

    assert exports.export_chunk_run(job_id=job.pk, index=0) is True
    assert exports.export_chunk_run(job_id=job.pk, index=0) is False

    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == (S.RUNNING, 2, 0)
    assert len(rendered) == 2
    assert job.chunks.get(index=0).done == 2


def test_a_chunk_being_rendered_is_left_to_its_worker(org, cycle, rendered, django_capture_on_commit_callbacks):
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, execute=False)
    ExportChunk.objects.filter(job=job, index=0).update(status="running", claimed_at=timezone.now() - dt.timedelta(minutes=1))

    assert exports.export_chunk_run(job_id=job.pk, index=0) is False
    assert rendered == []


def test_a_stale_chunk_is_taken_over_and_counted_once(org, cycle, monkeypatch, settings, django_capture_on_commit_callbacks):
    """The first worker hangs on its first document past EXPORT_STALE_MINUTES; another takes the chunk over and
    finishes the export; when the first one wakes up, its work is not counted."""
    settings.EXPORT_CHUNK_SIZE = 10  # one chunk
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, execute=False)
    long_ago = timezone.now() - dt.timedelta(minutes=settings.EXPORT_STALE_MINUTES + 5)
    second_run: list[bool] = []
    hung = []

    def hanging_pdf(appraisal, *, language, viewer=None):
        if not hung:  # the first worker, still on its first document: the second one runs meanwhile
            hung.append(appraisal.pk)
            second_run.append(exports.export_chunk_run(job_id=job.pk, index=0))
        return b"%PDF-stub"

    monkeypatch.setattr(exports, "appraisal_pdf", hanging_pdf)
    first_run = exports.export_chunk_run(job_id=job.pk, index=0, now=long_ago)

    assert (second_run, first_run) == ([True], False)
    job.refresh_from_db()
    assert (job.status, job.total, job.done, job.failed) == (S.DONE, 6, 6, 0)
    assert sorted(zip_of(job).namelist()) == ALL_FILES


def test_the_zip_is_assembled_once_even_when_asked_twice(org, cycle, rendered, mailoutbox, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    finish = exports.export_finish
    monkeypatch.setattr(exports, "export_finish", lambda **kwargs: False)  # the last worker dies before assembling
    job, _ = start(org, cycle, django_capture_on_commit_callbacks)
    assert (job.status, job.done, job.finished_at) == (S.RUNNING, 6, None)

    assert finish(job_id=job.pk) is True
    assert finish(job_id=job.pk) is False

    job.refresh_from_db()
    assert (job.status, job.done) == (S.DONE, 6)
    assert len(mailoutbox) == 1


# ----------------------------------------------------------------- failures


def test_a_document_that_fails_is_logged_and_the_others_are_delivered(org, cycle, rendered, monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    stub = exports.appraisal_pdf

    def bob_fails(appraisal, *, language, viewer=None):
        if appraisal.person.employee_code == "BOB":
            raise RuntimeError("font missing")
        return stub(appraisal, language=language)

    monkeypatch.setattr(exports, "appraisal_pdf", bob_fails)
    job, _ = start(org, cycle, django_capture_on_commit_callbacks)

    assert (job.status, job.done, job.failed, job.percent) == (S.DONE, 5, 1, 100)
    assert job.log == [{"file": pdf("BOB"), "person": "BOB", "error": "RuntimeError: font missing"}]
    archive = zip_of(job)
    assert sorted(archive.namelist()) == [*(f for f in ALL_FILES if f != pdf("BOB")), "export-log.txt"]
    assert archive.read("export-log.txt").decode() == pdf("BOB") + "\tRuntimeError: font missing\n"


def test_an_export_whose_every_document_fails_is_failed(org, cycle, monkeypatch, django_capture_on_commit_callbacks):
    def broken(appraisal, *, language, viewer=None):
        raise ValueError("no layout")

    monkeypatch.setattr(exports, "appraisal_pdf", broken)
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["T1"])

    assert (job.status, job.done, job.failed, job.percent) == (S.FAILED, 0, 3, 100)
    assert zip_of(job).namelist() == ["export-log.txt"]
    assert [line["person"] for line in job.log] == ["ALICE", "BOB", "MIKE"]


# ------------------------------------------------------------ the beat job


def test_maintain_dispatches_chunks_that_look_stuck(org, cycle, rendered, django_capture_on_commit_callbacks):
    """Two chunks whose messages were lost, one whose worker died, 20 minutes ago."""
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, execute=False)
    then = timezone.now() - dt.timedelta(minutes=settings.EXPORT_STALE_MINUTES + 5)
    ExportJob.objects.filter(pk=job.pk).update(created_at=then, status="running")
    ExportChunk.objects.filter(job=job, index=1).update(status="running", claimed_at=then)

    assert exports.exports_maintain(now=then + dt.timedelta(minutes=1))["redispatched"] == 0  # too early to tell
    assert rendered == []

    assert exports.exports_maintain()["redispatched"] == 3
    job.refresh_from_db()
    assert (job.status, job.done) == (S.DONE, 6)
    assert sorted(zip_of(job).namelist()) == ALL_FILES


def test_maintain_assembles_an_export_whose_assembly_was_cut_short(org, cycle, rendered, monkeypatch,
                                                                    django_capture_on_commit_callbacks):
    finish = exports.export_finish
    monkeypatch.setattr(exports, "export_finish", lambda **kwargs: False)
    job, _ = start(org, cycle, django_capture_on_commit_callbacks)
    monkeypatch.setattr(exports, "export_finish", finish)
    # The assembler claimed the job, then its worker was killed.
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now())

    assert exports.exports_maintain()["reassembled"] == 0
    later = timezone.now() + dt.timedelta(minutes=settings.EXPORT_STALE_MINUTES + 1)
    assert exports.exports_maintain(now=later)["reassembled"] == 1
    job.refresh_from_db()
    assert job.status == S.DONE and sorted(zip_of(job).namelist()) == ALL_FILES


def test_maintain_deletes_exports_past_their_retention(client, org, cycle, rendered, django_capture_on_commit_callbacks):
    job, _ = start(org, cycle, django_capture_on_commit_callbacks)
    directory = exports.export_dir(job)
    assert exports.exports_maintain()["expired"] == 0

    later = timezone.now() + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS, minutes=1)
    assert exports.exports_maintain(now=later)["expired"] == 1

    job.refresh_from_db()
    assert (job.status, job.file, job.size) == (S.EXPIRED, "", 0)
    assert not directory.exists()
    login(client, org.hana)
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 404
    assert api(org.hana).get(f"{API}/exports/{job.pk}/download/").status_code == 404
    body = client.get(page_url(cycle)).content.decode()
    assert f"Deleted after {settings.EXPORT_RETENTION_HOURS} hours" in body
    assert reverse("export-download", args=[job.pk]) not in body


def test_the_requester_gets_an_email_with_the_link(org, cycle, rendered, mailoutbox, django_capture_on_commit_callbacks):
    start(org, cycle, django_capture_on_commit_callbacks, units=["T1"])

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["hana@example.com"]
    assert cycle.name in mail.subject
    assert f"{settings.SITE_URL}/reviews/cycles/{cycle.pk}/export/" in mail.body
    assert "3 appraisal PDFs" in mail.body


# ------------------------------------------------------------------- pages


def test_the_cycle_page_links_to_the_export_for_hr_only(client, org, cycle):
    link = page_url(cycle)
    assert link in login(client, org.hana).get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    for person in (org.dirk, org.dana, org.alice):
        body = login(client, person).get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
        assert link not in body, person


def test_the_export_page_offers_the_cycles_units_and_the_readers_language(client, org, cycle):
    response = login(client, org.hana).get(page_url(cycle))

    assert response.status_code == 200
    body = response.content.decode()
    for code in ("C", "D1", "D2", "T1", "T2", "T3"):
        assert f'name="units" value="{code}"' in body
    assert response.context["form"]["language"].value() == "en"
    assert "No export of this cycle yet." in body
    assert 'http-equiv="refresh"' not in body and "data-progress-url" not in body


def test_hr_starts_an_export_from_the_page_and_downloads_it(client, org, cycle, rendered,
                                                            django_capture_on_commit_callbacks):
    login(client, org.hana)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page_url(cycle), {"units": ["T1", "T3"], "language": "zh-hans"})

    assert response.status_code == 302 and response["Location"] == page_url(cycle)
    job = ExportJob.objects.get()
    assert (job.unit_codes, job.language, job.status, job.requested_by) == (["T1", "T3"], "zh-hans", S.DONE, org.hana)
    page = client.get(page_url(cycle))
    body = page.content.decode()
    assert str(export_views.EXPORT_STARTED % {"count": 4}) in body
    assert reverse("export-download", args=[job.pk]) in body and "Ready" in body and "简体中文" in body

    download = client.get(reverse("export-download", args=[job.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"] == f'attachment; filename="{exports.export_path(job).name}"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist()) == [pdf(c, "zh-hans") for c in ("ALICE", "BOB", "MIKE", "OLGA")]


def test_starting_the_same_export_on_the_page_says_it_is_already_running(client, org, cycle,
                                                                        django_capture_on_commit_callbacks):
    login(client, org.hana)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(page_url(cycle), {"language": "en"})
        response = client.post(page_url(cycle), {"language": "en"}, follow=True)

    assert ExportJob.objects.count() == 1
    body = response.content.decode()
    assert str(export_views.EXPORT_ALREADY_RUNNING) in body
    job = ExportJob.objects.get()
    # It is waiting: the page polls its row, and reloads itself without JavaScript.
    assert f'data-progress-url="{reverse("export-progress", args=[job.pk])}"' in body
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in body
    # The polling script is a static file (the Content-Security-Policy forbids inline scripts).
    assert "setTimeout(poll, 2000)" in (Path(settings.BASE_DIR) / "static" / "scorecard.js").read_text()
    assert 'value="0" max="6"' in body and "All units" in body
    # A form sent back with errors is not reloaded from under the reader.
    refused = client.post(page_url(cycle), {"language": "fr"})
    assert refused.status_code == 400 and 'http-equiv="refresh"' not in refused.content.decode()


def test_the_progress_fragment_is_the_exports_row(client, org, cycle, rendered, django_capture_on_commit_callbacks):
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, execute=False)
    exports.export_chunk_run(job_id=job.pk, index=0)
    login(client, org.hana)
    url = reverse("export-progress", args=[job.pk])

    body = client.get(url).content.decode()
    assert body.startswith(f'<tr id="export-{job.pk}"') and f'data-progress-url="{url}"' in body
    assert 'value="2" max="6"' in body and "2 of 6 (33%)" in body and "Rendering" in body

    for index in (1, 2):
        exports.export_chunk_run(job_id=job.pk, index=index)
    body = client.get(url).content.decode()
    assert "data-progress-url" not in body, "a finished row stops the polling"
    assert "6 of 6 (100%)" in body and reverse("export-download", args=[job.pk]) in body


def test_the_progress_fragment_takes_one_query_beyond_the_request(client, org, cycle, django_assert_num_queries,
                                                                   django_capture_on_commit_callbacks):
    """Expect 4 queries: the session and the user (2), the navigation's center (1), the export with who asked (1)."""
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, execute=False)
    login(client, org.hana)
    with django_assert_num_queries(4):
        assert client.get(reverse("export-progress", args=[job.pk])).status_code == 200


def test_the_page_shows_failures_with_their_log(client, org, cycle, monkeypatch, django_capture_on_commit_callbacks):
    def broken(appraisal, *, language, viewer=None):
        raise ValueError(f"no layout for {appraisal.person.employee_code}")

    monkeypatch.setattr(exports, "appraisal_pdf", broken)
    start(org, cycle, django_capture_on_commit_callbacks, units=["T1"])

    body = login(client, org.hana).get(page_url(cycle)).content.decode()
    assert "Failed" in body and "3 documents could not be rendered" in body
    assert f"<code>{pdf('BOB')}</code>: ValueError: no layout for BOB" in body
    assert "Download the log" in body


def test_no_download_while_the_export_runs_or_when_its_file_is_gone(client, org, cycle, rendered,
                                                                    django_capture_on_commit_callbacks):
    running, _ = start(org, cycle, django_capture_on_commit_callbacks, execute=False)
    done, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["T1"])
    login(client, org.hana)
    assert client.get(reverse("export-download", args=[running.pk])).status_code == 404
    assert client.get(reverse("export-download", args=[done.pk])).status_code == 200
    exports.export_path(done).unlink()
    assert client.get(reverse("export-download", args=[done.pk])).status_code == 404
    assert client.get(reverse("export-download", args=[done.pk + 100])).status_code == 404


@pytest.mark.parametrize("name", ["alice", "mike", "dana", "dirk"])
def test_only_hr_exports_a_cycle_everyone_else_gets_404(client, org, cycle, rendered, name,
                                                        django_capture_on_commit_callbacks):
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["T1"])
    person = getattr(org, name)
    login(client, person)
    pages = [page_url(cycle), reverse("export-progress", args=[job.pk]), reverse("export-download", args=[job.pk])]
    for url in pages:
        assert client.get(url).status_code == 404, url
    assert client.post(page_url(cycle), {"language": "en"}).status_code == 404
    rest = api(person)
    for url in (f"{API}/cycles/{cycle.pk}/exports/", f"{API}/exports/{job.pk}/", f"{API}/exports/{job.pk}/download/"):
        assert rest.get(url).status_code == 404, url
    assert rest.post(f"{API}/cycles/{cycle.pk}/exports/", {"language": "en"}, format="json").status_code == 404
    assert ExportJob.objects.count() == 1
    with pytest.raises(PermissionDenied):
        exports.export_start(user=person, cycle=cycle, unit_codes=None, language="en")


def test_hr_is_asked_to_sign_in_first(client, org, cycle):
    response = client.get(page_url(cycle))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_cycle_that_does_not_exist_is_404(client, org):
    login(client, org.hana)
    assert client.get(reverse("cycle-export", args=[999])).status_code == 404
    assert api(org.hana).get(f"{API}/cycles/999/exports/").status_code == 404


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"units": ["T1", "NOPE"], "language": "en"}, "units", "NOPE is not one of the available choices"),
        ({"units": ["T1"], "language": "fr"}, "language", "fr is not one of the available choices"),
        ({"units": ["T1"]}, "language", "This field is required."),
    ],
)
def test_bad_input_on_the_page_answers_400_by_field_and_saves_nothing(client, org, cycle, data, field, message):
    response = login(client, org.hana).post(page_url(cycle), data)

    assert response.status_code == 400
    assert any(message in e for e in response.context["form"].errors[field])
    assert str(export_views.NOT_STARTED) in response.content.decode()
    assert ExportJob.objects.count() == 0 and ExportChunk.objects.count() == 0
    assert 'value="T1" checked' in response.content.decode(), "the choice is kept"


def test_a_draft_cycle_has_nothing_to_export(client, org):
    draft = make_cycle(org, units=[org.center], name="Draft")
    login(client, org.hana)
    body = client.get(page_url(draft)).content.decode()
    assert "has not been launched" in body and 'name="units"' not in body

    response = client.post(page_url(draft), {"language": "en"})
    assert response.status_code == 400
    assert str(exports.NOT_LAUNCHED) in response.context["form"].non_field_errors()
    assert ExportJob.objects.count() == 0


def test_a_unit_without_appraisals_exports_nothing(client, org, cycle):
    make_unit("T4", "Team Four", org.d2)
    response = login(client, org.hana).post(page_url(cycle), {"units": ["T4"], "language": "en"})
    assert response.status_code == 400
    assert response.context["form"].errors["units"] == [str(exports.NOTHING_TO_EXPORT)]
    assert ExportJob.objects.count() == 0


def test_the_export_page_renders_in_chinese(client, org, cycle, rendered, django_capture_on_commit_callbacks):
    start(org, cycle, django_capture_on_commit_callbacks, units=["T1"], language="zh-hans")
    response = login(client, org.hana).get(page_url(cycle), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="zh-hans">' in body
    assert response.context["form"]["language"].value() == "zh-hans"
    assert 'value="zh-hans" id="id_language_1" required checked' in body
    assert '<td lang="zh-hans">简体中文</td>' in body


def _jobs(org, cycle, n: int) -> None:
    """n exports in every state, with a log, as the page and the API show them."""
    for i in range(n):
        status = [S.DONE, S.FAILED, S.EXPIRED, S.DONE, S.RUNNING][i % 5]
        ExportJob.objects.create(
            cycle=cycle, requested_by=org.hana, unit_codes=[f"U{i}"], language="en", key=f"k{i}", status=status,
            total=6, done=5, failed=1, log=[{"file": pdf("BOB"), "person": "BOB", "error": "RuntimeError: x"}],
            file="" if status in (S.EXPIRED, S.RUNNING) else f"exports/{i}/x.zip", size=1000,
            finished_at=None if status == S.RUNNING else timezone.now(),
        )


def test_the_export_page_takes_constant_queries(client, org, cycle, django_assert_max_num_queries):
    """Expect 7 queries: the session and the user (2), the navigation's center (1), the cycle (1), its unit paths
    and the units offered (2), the exports with who asked them (1)."""
    login(client, org.hana)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page_url(cycle)).status_code == 200
        return len(queries)

    _jobs(org, cycle, 1)
    few = count()
    _jobs(org, cycle, 9)
    assert ExportJob.objects.count() == 10
    with django_assert_max_num_queries(few):
        body = client.get(page_url(cycle)).content.decode()
    assert body.count('<tr id="export-') == 10
    assert few == 7


def test_the_api_list_takes_constant_queries(org, cycle, django_assert_max_num_queries):
    """Expect 3 queries: the cycle, the count, the page of exports with who asked."""
    _jobs(org, cycle, 1)
    client = api(org.hana)
    with django_assert_max_num_queries(3):
        assert client.get(f"{API}/cycles/{cycle.pk}/exports/").json()["count"] == 1
    _jobs(org, cycle, 9)
    with django_assert_max_num_queries(3):
        body = client.get(f"{API}/cycles/{cycle.pk}/exports/").json()
    assert body["count"] == 10 and len(body["results"]) == 10


# --------------------------------------------------------------------- API


def test_the_api_starts_an_export_202_then_returns_the_running_one_200(org, cycle, django_capture_on_commit_callbacks):
    client = api(org.hana)
    url = f"{API}/cycles/{cycle.pk}/exports/"
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(url, {"units": ["T1"], "language": "zh-hans"}, format="json")
        second = client.post(url, {"units": ["T1"], "language": "zh-hans"}, format="json")

    assert first.status_code == 202, first.data
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    body = first.json()
    assert first["Location"] == f"{API}/exports/{body['id']}/"
    assert {k: body[k] for k in ("cycle", "requested_by", "units", "language", "status", "total", "done", "failed",
                                 "percent", "log", "download_url")} == {
        "cycle": cycle.pk, "requested_by": "HANA", "units": ["T1"], "language": "zh-hans", "status": "pending",
        "total": 3, "done": 0, "failed": 0, "percent": 0, "log": [], "download_url": None,
    }
    assert ExportJob.objects.count() == 1


def test_the_api_defaults_to_the_whole_cycle_in_the_callers_language(org, cycle, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = api(org.hana).post(f"{API}/cycles/{cycle.pk}/exports/", {}, format="json",
                                      HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 202
    assert (response.json()["units"], response.json()["language"], response.json()["total"]) == ([], "zh-hans", 6)


def test_the_api_shows_progress_failures_and_the_download(org, cycle, rendered, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    stub = exports.appraisal_pdf

    def bob_fails(appraisal, *, language, viewer=None):
        if appraisal.person.employee_code == "BOB":
            raise RuntimeError("font missing")
        return stub(appraisal, language=language)

    monkeypatch.setattr(exports, "appraisal_pdf", bob_fails)
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["T1"])
    client = api(org.hana)

    body = client.get(f"{API}/exports/{job.pk}/").json()
    assert (body["status"], body["total"], body["done"], body["failed"], body["percent"]) == ("done", 3, 2, 1, 100)
    assert body["log"] == [{"file": pdf("BOB"), "person": "BOB", "error": "RuntimeError: font missing"}]
    assert body["download_url"] == f"http://testserver{API}/exports/{job.pk}/download/"
    assert body["size"] == job.size > 0

    download = client.get(body["download_url"], HTTP_ACCEPT="application/zip")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist()) == [pdf("ALICE"), pdf("MIKE"), "export-log.txt"]
    listed = client.get(f"{API}/cycles/{cycle.pk}/exports/").json()["results"]
    assert [e["id"] for e in listed] == [job.pk]


def test_the_api_download_is_404_while_rendering(org, cycle, django_capture_on_commit_callbacks):
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, execute=False)
    response = api(org.hana).get(f"{API}/exports/{job.pk}/download/", HTTP_ACCEPT="application/zip")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"units": ["T1", "NOPE"], "language": "en"}, "units", str(exports.UNKNOWN_UNITS % {"codes": "NOPE"})),
        ({"units": ["T1"], "language": "fr"}, "language", '"fr" is not a valid choice.'),
        ({"units": "T1", "language": "en"}, "units", 'Expected a list of items but got type "str".'),
    ],
)
def test_bad_input_on_the_api_answers_400_by_field_and_saves_nothing(org, cycle, data, field, message):
    response = api(org.hana).post(f"{API}/cycles/{cycle.pk}/exports/", data, format="json")
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert ExportJob.objects.count() == 0 and ExportChunk.objects.count() == 0


def test_the_api_refuses_a_draft_cycle(org):
    draft = make_cycle(org, units=[org.center], name="Draft")
    response = api(org.hana).post(f"{API}/cycles/{draft.pk}/exports/", {"language": "en"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [str(exports.NOT_LAUNCHED)]}
    assert ExportJob.objects.count() == 0


def test_the_export_files_live_under_media_root(org, cycle, rendered, django_capture_on_commit_callbacks):
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, units=["T2"])
    assert exports.export_path(job).is_relative_to(Path(settings.MEDIA_ROOT) / "exports" / str(job.pk))


def test_maintain_gives_up_an_export_that_never_finishes(org, cycle, rendered, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    """Its chunks never get done (their worker dies on every try): after the retention time it is marked
    failed, so the same export can be started again, and it is deleted with the others later."""
    job, _ = start(org, cycle, django_capture_on_commit_callbacks, execute=False)
    monkeypatch.setattr(exports, "_dispatch", lambda job_id, indexes: None)  # every try lost
    assert exports.exports_maintain()["given_up"] == 0
    later = timezone.now() + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS, minutes=1)
    assert exports.exports_maintain(now=later)["given_up"] == 1
    job.refresh_from_db()
    assert job.status == S.FAILED and "not finished" in job.log[-1]["error"]
    again, created = exports.export_start(user=org.hana, cycle=cycle, unit_codes=job.unit_codes,
                                          language=job.language)
    assert created and again.pk != job.pk
    assert exports.exports_maintain(now=later + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS, minutes=1))["expired"] >= 1
    job.refresh_from_db()
    assert job.status == S.EXPIRED
