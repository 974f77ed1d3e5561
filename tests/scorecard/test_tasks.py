"""Import jobs and their Celery tasks: the claim, idempotency, purging, and one real worker."""

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from scorecard.celery import app as celery_app
from scorecard.import_jobs import FILE_GONE, import_job_create, import_job_run
from scorecard.models import ImportJob, Measurement
from scorecard.tasks import purge_import_files_task, requeue_import_jobs_task, run_import_job_task
from tests.base import build_org

GOOD = "date,subject,contacts_handled,first_contact_resolved\n2026-07-01,ALICE,100,80\n2026-07-01,T1,40,\n"


def pending_job(user, content=GOOD, kind="measurements"):
    job = ImportJob(kind=kind, filename="data.csv", created_by=user)
    job.file.save("data.csv", ContentFile(content.encode()), save=False)
    job.save()
    return job


def test_running_a_job_twice_loads_once_and_keeps_its_status(org):
    job = pending_job(org.hana)
    first = import_job_run(job_id=job.pk)
    assert (first.status, first.rows, first.values) == ("done", 2, 3)
    finished_at = first.finished_at
    Measurement.objects.filter(person=org.alice).update(value=999)  # a later correction, say

    assert import_job_run(job_id=job.pk) is None  # nothing to claim
    job.refresh_from_db()
    assert (job.status, job.values, job.finished_at) == ("done", 3, finished_at)
    assert set(Measurement.objects.filter(person=org.alice).values_list("value", flat=True)) == {999}


def test_a_job_claimed_by_another_worker_is_left_alone(org):
    job = pending_job(org.hana)
    ImportJob.objects.filter(pk=job.pk).update(status="running")  # another worker got there first
    assert import_job_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == "running" and job.finished_at is None
    assert Measurement.objects.count() == 0


def test_a_failed_job_keeps_its_errors_when_run_again(org):
    job = pending_job(org.hana, "date,subject,contacts_handled\n2026-07-01,ALICE,-4\n")
    import_job_run(job_id=job.pk)
    run_import_job_task.delay(job.pk)  # eager: a second delivery of the same message
    job.refresh_from_db()
    assert (job.status, job.error_count) == ("failed", 1)
    assert job.errors == [{"line": 2, "column": "contacts_handled", "message": job.errors[0]["message"]}]
    assert Measurement.objects.count() == 0


def test_job_whose_file_was_purged_fails_with_a_message(org):
    job = ImportJob.objects.create(kind="measurements", filename="old.csv", created_by=org.hana)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.errors[0]["message"] == str(FILE_GONE)


def test_create_dispatches_the_task_after_commit(org, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("q3.csv", GOOD.encode())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = import_job_create(user=org.hana, kind="measurements", uploaded_file=upload)
    assert job.status == "pending" and len(callbacks) == 1 and job.file.name.endswith(".csv")
    callbacks[0]()  # what the commit would run; Celery is eager in tests
    job.refresh_from_db()
    assert job.status == "done" and Measurement.objects.count() == 3


def test_purge_deletes_old_files_and_keeps_the_rows(org, settings):
    settings.IMPORT_FILE_RETENTION_DAYS = 30
    old, recent, old_pending = pending_job(org.hana), pending_job(org.hana), pending_job(org.hana)
    import_job_run(job_id=old.pk)
    import_job_run(job_id=recent.pk)
    long_ago = timezone.now() - dt.timedelta(days=31)
    ImportJob.objects.filter(pk__in=[old.pk, old_pending.pk]).update(created_at=long_ago)
    old_path = Path(old.file.path)
    assert old_path.exists()

    assert purge_import_files_task.delay().get() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    old_pending.refresh_from_db()
    assert not old_path.exists()
    assert old.file.name == "" and old.status == "done" and old.values == 3
    assert recent.file and Path(recent.file.path).exists()
    assert old_pending.file  # not loaded yet: kept
    assert purge_import_files_task.delay().get() == 0


def test_beat_schedule_names_the_purge_task(settings):
    assert settings.CELERY_BEAT_SCHEDULE["purge-import-files"]["task"] == purge_import_files_task.name
    assert settings.CELERY_BEAT_SCHEDULE["requeue-import-jobs"]["task"] == requeue_import_jobs_task.name


def test_a_job_whose_worker_died_is_run_again_once_stale(org, settings):
    settings.IMPORT_JOB_STALE_MINUTES = 30
    job = pending_job(org.hana)
    started = timezone.now() - dt.timedelta(minutes=10)
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=started)
    assert requeue_import_jobs_task.delay().get() == 0  # still within its time
    assert import_job_run(job_id=job.pk) is None
    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - dt.timedelta(minutes=31))
    assert requeue_import_jobs_task.delay().get() == 1  # eager: the re-queued task runs now
    job.refresh_from_db()
    assert (job.status, job.values) == ("done", 3)
    assert Measurement.objects.count() == 3
    assert requeue_import_jobs_task.delay().get() == 0  # finished jobs are left alone


def test_a_lost_pending_job_is_queued_again_in_its_language(org, settings):
    settings.IMPORT_JOB_STALE_MINUTES = 30
    job = pending_job(org.hana, "date,subject,contacts_handled\n2026-07-01,ALICE,-4\n")
    ImportJob.objects.filter(pk=job.pk).update(
        language="zh-hans", created_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert requeue_import_jobs_task.delay().get() == 1
    job.refresh_from_db()
    assert job.status == "failed"
    assert "负" in job.errors[0]["message"]  # written in the uploader's language


# ------------------------------------------------------------- a real worker

# A Redis database per pytest-xdist process (gw0 → 11, gw1 → 12, …): each worker
# test flushes its database, and two processes must not share (or flush) a queue.
_XDIST_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
WORKER_BROKER = os.environ.get("SCORECARD_TEST_BROKER_URL", f"redis://127.0.0.1:6379/{11 + _XDIST_INDEX}")


def _database_url_for_worker(tmp_path: Path):
    """Return (DATABASE_URL, restore) for a database this test and a worker process both see.

    PostgreSQL: the test database itself (the test commits, transaction=True).
    SQLite: the test database lives in memory, so the default connection is
    pointed at a migrated file for the duration of the test.
    """
    conn = connections["default"]
    s = conn.settings_dict
    if conn.vendor == "postgresql":
        auth = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
        return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}", lambda: None
    if conn.vendor != "sqlite":
        pytest.skip(f"no worker test for {conn.vendor}")
    if not conn.is_in_memory_db():
        return f"sqlite:///{s['NAME']}", lambda: None
    path = tmp_path / "worker.sqlite3"
    file_conn = conn.__class__({**s, "NAME": str(path)}, "default")
    connections["default"] = file_conn
    call_command("migrate", verbosity=0)

    def restore():
        file_conn.close()
        connections["default"] = conn

    return f"sqlite:///{path}", restore


def _reset_producer_pool():
    celery_app.pool.force_close_all() if celery_app._pool is not None else None
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_upload_is_loaded_by_a_real_worker(tmp_path, settings):
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
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "scorecard", "worker", "--pool=solo", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
             "-n", f"test-{uuid.uuid4().hex[:8]}@%h"],
            cwd=Path(__file__).resolve().parents[2], env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        celery_app.conf.update(task_always_eager=False, broker_url=WORKER_BROKER, broker_transport_options={})
        _reset_producer_pool()

        job = import_job_create(
            user=org.hana, kind="measurements", uploaded_file=SimpleUploadedFile("q3.csv", GOOD.encode())
        )
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and worker.poll() is None:
            job.refresh_from_db()
            if job.status in ("done", "failed"):
                break
            time.sleep(0.2)
        log.seek(0)
        assert job.status == "done", f"job {job.status} {job.errors}; worker log:\n{log.read()[-4000:]}"
        assert (job.rows, job.values) == (2, 3)
        assert Measurement.objects.filter(person=org.alice).count() == 2
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        log.close()
        celery_app.conf.update(saved_conf)
        _reset_producer_pool()
        restore_database()
