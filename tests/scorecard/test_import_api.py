"""The import APIs queue a job like the upload page and answer 202 with the job's address (issue 11, finding 5).

A 50 MB file once kept a web worker busy until it was killed (30 s, 500):
now the request only streams the file to disk and records the job; a worker
loads it. Uploads over IMPORT_MAX_UPLOAD_MB answer 413 before the body is read.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from scorecard.apis import CsvParser, UploadTooLarge
from scorecard.celery import app as celery_app
from scorecard.models import ImportJob, Measurement, OrgUnit, Person
from tests.base import build_org

URLS = ("/api/v1/org-units/import/", "/api/v1/people/import/", "/api/v1/measurements/import/")
MB = 1024 * 1024


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(Person.objects.get(pk=user.pk))
    return api


def post_csv(api, user, url, body, callbacks):
    with callbacks(execute=True):  # the job's message is sent on commit; eager Celery runs it there
        return as_user(api, user).generic("POST", url, body, content_type="text/csv")


def job_of(api, response):
    """Follow the 202's address to the job's resource."""
    assert response.status_code == 202, response.content
    data = response.json()
    assert response["Location"] == data["url"] == f"http://testserver/api/v1/imports/{data['id']}/"
    job = api.get(data["url"])
    assert job.status_code == 200, job.content
    return job.json()


def big_measurement_file(size: int) -> bytes:
    """A valid measurement file of about `size` bytes: 8 subjects' daily rows, cells padded with spaces."""
    subjects = ("ALICE", "BOB", "CARL", "MIKE", "DANA", "T1", "T2", "T3")
    pad = " " * 960
    header = "date,subject,contacts_handled,handle_seconds\n"
    line_size = len(f"2026-09-30,ALICE,{pad}40,{pad}12000\n")
    days = size // (line_size - 3) // len(subjects) + 1  # the shortest subject code has 3 fewer characters
    end = dt.date(2026, 9, 30)
    lines = [header]
    for i in range(days):
        day = (end - dt.timedelta(days=i)).isoformat()
        lines += [f"{day},{code},{pad}{40 + i % 7},{pad}{12000 + i % 13}\n" for code in subjects]
    return "".join(lines).encode()


# ------------------------------------------------------------------ queueing


def test_non_importers_cannot_import_nor_see_jobs(api, org, django_capture_on_commit_callbacks):
    response = post_csv(api, org.hana, URLS[0], "code,name,parent\nT4,Team Four,D2\n",
                        django_capture_on_commit_callbacks)
    job_url = response.json()["url"]
    for user in (org.alice, org.mike, org.dana):
        as_user(api, user)
        for url in URLS:
            assert api.generic("POST", url, "code,name,parent\n", content_type="text/csv").status_code == 403
        assert api.get(job_url).status_code == 404
        assert api.get("/api/v1/imports/").status_code == 404
    assert ImportJob.objects.count() == 1


def test_org_import_by_multipart_file_answers_202_and_the_job_counts(api, org, tmp_path,
                                                                    django_capture_on_commit_callbacks):
    path = tmp_path / "units.csv"
    path.write_text("code,name,parent\nT4,Team Four,D2\nT3,Team Three (renamed),D2\n", encoding="utf-8")
    with path.open("rb") as fh, django_capture_on_commit_callbacks(execute=True):
        response = as_user(api, org.hana).post("/api/v1/org-units/import/", {"file": fh}, format="multipart")
    job = job_of(api, response)
    assert (job["kind"], job["status"], job["filename"], job["created_by"]) == ("org", "done", "units.csv", "HANA")
    assert (job["rows"], job["created"], job["updated"], job["error_count"], job["errors"]) == (2, 1, 1, 0, [])
    assert OrgUnit.objects.get(code="T4").parent == org.d2


def test_people_import_by_raw_csv_body_counts_created_and_updated(api, org, django_capture_on_commit_callbacks):
    body = (
        "employee_code,name,email,unit,role,manager\n"
        "A7,Ann,,T2,agent,DANA\n"
        "BOB,Bob Peer,bob@example.com,T1,agent,DANA\n"  # only his manager changes: updated
        "CARL,Carl Two,carl@example.com,T2,agent,DANA\n"  # unchanged
    )
    job = job_of(api, post_csv(api, org.dirk, URLS[1], body.encode(), django_capture_on_commit_callbacks))
    assert (job["status"], job["filename"], job["rows"], job["created"], job["updated"]) == ("done", "people.csv", 3, 1, 1)
    assert Person.objects.get(employee_code="A7").manager == org.dana


def test_measurement_import_counts_values_created_then_updated(api, org, django_capture_on_commit_callbacks):
    body = "\ufeffdate,subject,contacts_handled,first_contact_resolved\n2026-07-01,ALICE,100,80\n2026-07-01,T1,7,\n"
    first = job_of(api, post_csv(api, org.hana, URLS[2], body.encode(), django_capture_on_commit_callbacks))
    assert (first["status"], first["rows"], first["values"], first["created"], first["updated"]) == ("done", 2, 3, 3, 0)
    again = job_of(api, post_csv(api, org.hana, URLS[2], body.encode(), django_capture_on_commit_callbacks))
    assert (again["values"], again["created"], again["updated"]) == (3, 0, 3)
    assert Measurement.objects.count() == 3


def test_refused_file_job_lists_lines_and_columns_and_saves_nothing(api, org, django_capture_on_commit_callbacks):
    body = (
        "date,subject,contacts_handled,first_contact_resolved\n"
        "2026-07-01,ALICE,100,80\n"
        "2026-13-01,ALICE,100,80\n"
        "2026-07-02,NOBODY,-3,x\n"
    )
    job = job_of(api, post_csv(api, org.hana, URLS[2], body, django_capture_on_commit_callbacks))
    assert (job["status"], job["error_count"], job["created"], job["updated"]) == ("failed", 4, 0, 0)
    assert [(e["line"], e["column"]) for e in job["errors"]] == [
        (3, "date"), (4, "subject"), (4, "contacts_handled"), (4, "first_contact_resolved"),
    ]
    assert all(e["message"] for e in job["errors"])
    assert Measurement.objects.count() == 0


def test_org_cycle_is_refused_in_the_job(api, org, django_capture_on_commit_callbacks):
    job = job_of(api, post_csv(api, org.dirk, URLS[0], "code,name,parent\nX1,X,X2\nX2,Y,X1\n",
                               django_capture_on_commit_callbacks))
    assert job["status"] == "failed"
    assert {(e["line"], e["column"]) for e in job["errors"]} == {(2, "parent"), (3, "parent")}
    assert not OrgUnit.objects.filter(code__in=["X1", "X2"]).exists()


def test_import_without_a_file_is_400_and_queues_nothing(api, org):
    response = as_user(api, org.hana).post(URLS[2], {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()
    assert as_user(api, org.hana).generic("POST", URLS[2], b"", content_type="text/csv").status_code == 400
    assert not ImportJob.objects.exists()


def test_header_cell_over_the_csv_limit_is_a_line_1_error(api, org, django_capture_on_commit_callbacks):
    body = "date,subject," + "x" * 131_073 + "\n2026-07-01,ALICE,1\n"
    job = job_of(api, post_csv(api, org.hana, URLS[2], body, django_capture_on_commit_callbacks))
    assert job["status"] == "failed"
    assert [(e["line"], e["column"]) for e in job["errors"]] == [(1, "3")]
    assert "131,072" in job["errors"][0]["message"]


def test_job_list_is_latest_first_in_constant_queries(api, org, django_capture_on_commit_callbacks,
                                                      django_assert_max_num_queries):
    for i in range(3):
        post_csv(api, org.hana, URLS[0], f"code,name,parent\nN{i},New {i},D2\n", django_capture_on_commit_callbacks)
    as_user(api, org.dirk)
    # Queries: the count, and the page with its uploaders (a select_related join); one to spare for middleware.
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/imports/")
    data = response.json()
    assert data["count"] == 3
    assert [j["filename"] for j in data["results"]] == ["org.csv"] * 3
    assert [j["id"] for j in data["results"]] == sorted((j["id"] for j in data["results"]), reverse=True)
    assert api.get("/api/v1/imports/999/").status_code == 404


# ------------------------------------------------------------ a large file


def test_a_50_mb_file_answers_202_and_is_loaded_by_the_job(api, org, django_capture_on_commit_callbacks):
    body = big_measurement_file(50 * MB)
    assert len(body) >= 50 * MB
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = time.perf_counter()
        response = as_user(api, org.hana).generic("POST", URLS[2], body, content_type="text/csv")
        answered = time.perf_counter() - started
    data = response.json()
    assert response.status_code == 202 and data["status"] == "pending"
    assert answered < 10, "the request stores the file and returns; it does not load it"
    assert Measurement.objects.count() == 0
    stored = ImportJob.objects.get(pk=data["id"])
    assert stored.file.size == len(body)
    for callback in callbacks:  # the commit: the message goes to (eager) Celery, which loads the file
        callback()
    job = api.get(data["url"]).json()
    lines = body.count(b"\n") - 1
    assert (job["status"], job["rows"], job["values"], job["created"]) == ("done", lines, 2 * lines, 2 * lines)
    assert Measurement.objects.count() == 2 * lines


def test_an_upload_over_the_limit_is_413_before_it_is_read(api, org, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    body = b"date,subject,contacts_handled\n" + b"2026-07-01,ALICE,1\n" * (2 * MB // 19)
    for url in URLS:
        response = as_user(api, org.hana).generic("POST", url, body, content_type="text/csv")
        assert response.status_code == 413
        assert "at most 1 MB" in response.json()["detail"]
    response = as_user(api, org.hana).post(URLS[2], {"file": io.BytesIO(body)}, format="multipart")
    assert response.status_code == 413
    assert not ImportJob.objects.exists()


def test_a_body_without_a_declared_length_is_cut_off_while_it_streams(settings):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    parsed = CsvParser().parse(io.BytesIO(b"x" * MB))
    assert parsed.size == MB and parsed.read(3) == b"xxx"
    with pytest.raises(UploadTooLarge) as exc:
        CsvParser().parse(io.BytesIO(b"x" * (MB + 1)))
    assert exc.value.status_code == 413


def test_413_is_in_chinese_for_a_chinese_client(api, org, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    body = b"x" * (2 * MB)
    response = as_user(api, org.hana).generic("POST", URLS[2], body, content_type="text/csv",
                                               HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 413
    assert "1 MB" in response.json()["detail"] and "文件" in response.json()["detail"]


def upload_page(client, user, size):
    client.force_login(user)
    content = b"date,subject,contacts_handled\n" + b"x" * size
    return client.post(reverse("import-create"), {"kind": "measurements", "file": SimpleUploadedFile("big.csv", content)})


def test_the_upload_page_answers_413_with_a_clear_message(client, org, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    response = upload_page(client, org.hana, 2 * MB)  # refused by its declared length, before it is read
    assert response.status_code == 413
    text = response.content.decode()
    assert "The file is too large: an import takes at most 1 MB." in text
    assert 'type="file"' in text  # the upload form again, to choose a smaller file
    response = upload_page(client, org.hana, MB + 1024)  # within the slack of the declared length: the form refuses it
    assert response.status_code == 413
    assert response.context["form"].errors["file"] == [
        "The file is too large: an import takes at most 1 MB. Split it into smaller files "
        "(by dates, for example) and import them one after another."
    ]
    assert upload_page(client, org.alice, 2 * MB).status_code == 413  # a non-importer: a bare 413, no form
    assert b"type=\"file\"" not in upload_page(client, org.alice, 2 * MB).content
    assert not ImportJob.objects.exists()


def test_the_upload_page_says_the_limit(client, org, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 7
    client.force_login(org.hana)
    assert "At most 7 MB a file." in client.get(reverse("import-create")).content.decode()


# ----------------------------------------------------- through a real worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_50_mb_api_import_is_loaded_by_a_real_worker(tmp_path, settings):
    from tests.reviews.test_closing_worker import _reset_producer_pool, _start_worker, _stop
    from tests.scorecard.test_tasks import WORKER_BROKER, _database_url_for_worker

    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(WORKER_BROKER, socket_connect_timeout=1).flushdb()  # a database for this test only
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {WORKER_BROKER}: {exc}")
    var_dir = tmp_path / "var"
    settings.MEDIA_ROOT = var_dir / "media"  # the worker's VAR_DIR/media
    database_url, restore_database = _database_url_for_worker(tmp_path)
    saved_conf = {k: celery_app.conf[k] for k in ("task_always_eager", "broker_url", "broker_transport_options")}
    log = (tmp_path / "worker.log").open("w+")
    worker = None
    try:
        org = build_org()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": WORKER_BROKER,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "SCORECARD_VAR_DIR": str(var_dir),
            "DJANGO_SECRET_KEY": "tests",
        }
        worker = _start_worker(env, log)
        celery_app.conf.update(task_always_eager=False, broker_url=WORKER_BROKER, broker_transport_options={})
        _reset_producer_pool()

        body = big_measurement_file(50 * MB)
        api = as_user(APIClient(), org.hana)
        response = api.generic("POST", URLS[2], body, content_type="text/csv")
        assert response.status_code == 202, response.content
        url = response["Location"]
        deadline = time.monotonic() + 120
        job = api.get(url).json()
        while time.monotonic() < deadline and worker.poll() is None and job["status"] in ("pending", "running"):
            time.sleep(0.5)
            job = api.get(url).json()
        log.seek(0)
        assert job["status"] == "done", f"job {job}; worker log:\n{log.read()[-4000:]}"
        lines = body.count(b"\n") - 1
        assert (job["rows"], job["values"], job["created"], job["updated"]) == (lines, 2 * lines, 2 * lines, 0)
        assert Measurement.objects.count() == 2 * lines
    finally:
        if worker is not None:
            _stop(worker)
        log.close()
        celery_app.conf.update(saved_conf)
        _reset_producer_pool()
        restore_database()
