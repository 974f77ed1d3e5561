"""Faults: the job system (Redis) goes away during a close, an export and an upload; PostgreSQL during an import.

Each Redis test runs its own redis-server on a free port, stops it, does the
act through the page (the Django test client, real non-eager dispatch), and
checks the answer: no 500, the page says the work is queued, the work is
recorded in the outbox. Then Redis starts again on the same port, a real
worker starts (its start drains the outbox, as the beat does every minute)
and the work is carried out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reviews.closing_views import CLOSE_QUEUED
from reviews.export_views import EXPORT_QUEUED
from reviews.models import Appraisal, ExportJob, ReviewCycle
from scorecard import outbox
from scorecard.celery import app as celery_app
from scorecard.import_views import IMPORT_QUEUED
from scorecard.models import ImportJob, Measurement, OutboxMessage
from tests.base import build_org
from tests.reviews.test_closing import make_cycle, many_appraisals
from tests.reviews.test_closing_worker import _reset_producer_pool, _start_worker, _stop
from tests.reviews.test_launch import launched
from tests.scorecard.test_tasks import GOOD, _database_url_for_worker

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test only, without persistence, that can be stopped and started on its port."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextlib.contextmanager
def job_system(tmp_path: Path, settings):
    """A private Redis (started), the database shared with worker processes, eager mode off.

    Yields (redis, start_worker); stops the workers and Redis and restores everything after.
    """
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    var_dir = tmp_path / "var"
    settings.MEDIA_ROOT = var_dir / "media"  # the workers' SCORECARD_VAR_DIR/media
    redis = PrivateRedis(tmp_path)
    redis.start()
    database_url, restore_database = _database_url_for_worker(tmp_path)
    saved_conf = {k: celery_app.conf[k] for k in ("task_always_eager", "broker_url", "broker_transport_options")}
    log = (tmp_path / "worker.log").open("w+")
    workers: list[subprocess.Popen] = []
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis.url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SCORECARD_VAR_DIR": str(var_dir),
        "DJANGO_SECRET_KEY": "tests",
    }

    def start_worker() -> subprocess.Popen:
        worker = _start_worker(env, log)
        workers.append(worker)
        return worker

    def worker_log() -> str:
        log.flush()
        log.seek(0)
        return log.read()[-5000:]

    start_worker.log = worker_log
    celery_app.conf.update(task_always_eager=False, broker_url=redis.url, broker_transport_options={})
    _reset_producer_pool()
    try:
        yield redis, start_worker
    finally:
        for worker in workers:
            _stop(worker)
        log.close()
        redis.stop()
        celery_app.conf.update(saved_conf)
        _reset_producer_pool()
        restore_database()


def wait_for(check, seconds: float = 40) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def act_with_broker_down(client, redis, url: str, data: dict, expected_message: str):
    """POST with Redis stopped: answered quickly, without a 500, and the page says the work is queued."""
    redis.stop()
    _reset_producer_pool()
    started = time.monotonic()
    response = client.post(url, data, follow=True)
    took = time.monotonic() - started
    assert response.status_code == 200, response.content[:2000]
    assert expected_message in response.content.decode()
    assert took < 10, f"the page waited {took:.1f} s for the broker"
    assert OutboxMessage.objects.exists()  # the work is recorded
    assert all(m.attempts == 1 and m.last_error for m in OutboxMessage.objects.all())
    return response


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_close_with_the_job_system_down_is_queued_and_done_when_it_is_back(tmp_path, settings, client):
    with job_system(tmp_path, settings) as (redis, start_worker):
        org = build_org()
        cycle = make_cycle(org)  # calibration phase: a normal close, no reason needed
        many_appraisals(org, cycle, 6)
        client.force_login(org.hana)

        act_with_broker_down(client, redis, reverse("cycle-close", args=[cycle.pk]), {},
                             str(CLOSE_QUEUED % {"name": cycle.name}))
        cycle.refresh_from_db()
        assert cycle.phase == ReviewCycle.Phase.CLOSING  # recorded: the close is owed, not lost
        assert list(OutboxMessage.objects.values_list("task", "args")) == [("reviews.tasks.close_cycle_task", [cycle.pk])]

        redis.start()  # the same port, empty: nothing was ever accepted
        start_worker()  # its start drains the outbox
        closed = wait_for(lambda: ReviewCycle.objects.get(pk=cycle.pk).phase == ReviewCycle.Phase.CLOSED)
        assert closed, start_worker.log()
        assert not Appraisal.objects.filter(cycle=cycle, status=Appraisal.Status.OPEN).exists()
        assert not OutboxMessage.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_export_with_the_job_system_down_is_queued_and_built_when_it_is_back(tmp_path, settings, client):
    settings.EXPORT_CHUNK_SIZE = 2
    with job_system(tmp_path, settings) as (redis, start_worker):
        org = build_org()
        cycle = launched(org)
        total = Appraisal.objects.filter(cycle=cycle).count()
        client.force_login(org.hana)

        act_with_broker_down(client, redis, reverse("cycle-export", args=[cycle.pk]), {"language": "en"},
                             str(EXPORT_QUEUED % {"count": total}))
        job = ExportJob.objects.get(cycle=cycle)
        assert job.status == ExportJob.Status.PENDING
        assert OutboxMessage.objects.filter(task="reviews.tasks.export_chunk_task").count() == -(-total // 2)

        redis.start()
        start_worker()
        assert wait_for(lambda: ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.DONE), start_worker.log()
        job.refresh_from_db()
        assert (job.done, job.failed) == (total, 0)
        assert Path(settings.MEDIA_ROOT, job.file).is_file()
        # The "export ready" e-mail went through the outbox too, and was taken by the broker.
        assert wait_for(lambda: not OutboxMessage.objects.exists(), 15), start_worker.log()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_upload_with_the_job_system_down_is_queued_and_loaded_when_it_is_back(tmp_path, settings, client):
    with job_system(tmp_path, settings) as (redis, start_worker):
        org = build_org()
        client.force_login(org.hana)
        upload = SimpleUploadedFile("q3.csv", GOOD.encode(), content_type="text/csv")

        act_with_broker_down(client, redis, reverse("import-create"), {"kind": "measurements", "file": upload},
                             str(IMPORT_QUEUED))
        job = ImportJob.objects.get()
        assert job.status == ImportJob.Status.PENDING and Path(job.file.path).is_file()  # the file is kept

        redis.start()
        start_worker()
        assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE), start_worker.log()
        assert Measurement.objects.filter(person=org.alice).count() == 2
        assert not OutboxMessage.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_beats_drain_sends_what_was_kept_once_the_broker_is_back(tmp_path, settings, client):
    """No worker start in between: the drain (the beat's task, run here) hands the kept work to the broker."""
    with job_system(tmp_path, settings) as (redis, start_worker):
        org = build_org()
        start_worker()
        assert wait_for(lambda: "ready" in start_worker.log(), 30), start_worker.log()
        client.force_login(org.hana)
        upload = SimpleUploadedFile("q3.csv", GOOD.encode(), content_type="text/csv")
        act_with_broker_down(client, redis, reverse("import-create"), {"kind": "measurements", "file": upload},
                             str(IMPORT_QUEUED))
        assert outbox.drain() == 0  # still down: kept, claimed again only after CLAIM_SECONDS
        redis.start()  # the worker reconnects by itself
        OutboxMessage.objects.update(last_attempt_at=None)  # as a minute later
        _reset_producer_pool()
        assert outbox.drain() == 1
        assert not OutboxMessage.objects.exists()
        job = ImportJob.objects.get()
        assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE, 60), start_worker.log()


# ------------------------------------------------------------ PostgreSQL restarted during an import

PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


class PrivatePostgreSQL:
    """A PostgreSQL cluster of this test only (initdb in a temporary directory, a free port, trust auth), run as
    the postgres user: the machine's shared server is never stopped."""

    def __init__(self):
        self.bin = PG_BINS[-1].parent
        self.directory = Path(tempfile.mkdtemp(prefix="h4faults-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        shutil.chown(self.directory, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "h4faults")

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-m", "fast", *extra, action)

    def start(self) -> None:
        self._ctl("start", "-l", str(self.directory / "server.log"))

    def restart(self) -> None:
        self._ctl("restart", "-l", str(self.directory / "server.log"))

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._ctl("stop")
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.mark.skipif(not PG_BINS, reason="no PostgreSQL server binaries (/usr/lib/postgresql/*/bin) to run a private cluster")
@pytest.mark.skipif(shutil.which("runuser") is None or os.geteuid() != 0,
                    reason="a private PostgreSQL cluster is run as the postgres user: needs root and runuser")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgresql_restarted_during_an_import_saves_nothing_and_the_job_is_run_again(settings, monkeypatch, caplog):
    from django.core.management import call_command
    from django.db import connections

    from scorecard import imports
    from scorecard.import_jobs import import_job_run, import_jobs_requeue
    from tests.scorecard.test_tasks import pending_job

    server = PrivatePostgreSQL()
    saved = connections["default"]
    try:
        server.init()
        from django.db.backends.postgresql.base import DatabaseWrapper

        private = DatabaseWrapper({
            **saved.settings_dict, "ENGINE": "django.db.backends.postgresql", "NAME": "h4faults", "USER": "postgres",
            "PASSWORD": "", "HOST": "127.0.0.1", "PORT": str(server.port), "OPTIONS": {}, "CONN_MAX_AGE": 0,
        }, "default")
        connections["default"] = private
        call_command("migrate", verbosity=0)
        settings.MEDIA_ROOT = server.directory / "media"
        org = build_org()
        job = pending_job(org.hana, GOOD)

        real_flush = imports._flush
        restarts = []

        def flush_then_restart(*args, **kwargs):
            real_flush(*args, **kwargs)  # rows written inside the import's transaction…
            if not restarts:
                restarts.append(1)
                server.restart()  # …and the server goes away before it commits

        monkeypatch.setattr(imports, "_flush", flush_then_restart)
        import_job_run(job_id=job.pk)  # the worker's task: its connection is cut in the middle
        assert restarts == [1]
        assert "the database connection was lost" in caplog.text

        assert Measurement.objects.count() == 0  # nothing half-saved
        job.refresh_from_db()
        assert job.status == ImportJob.Status.PENDING and job.finished_at is None  # not failed: to run again

        monkeypatch.setattr(imports, "_flush", real_flush)
        settings.IMPORT_JOB_STALE_MINUTES = 30
        assert import_jobs_requeue() == 0  # not stale yet: its message may still be on its way
        later = job.created_at + dt.timedelta(minutes=31)
        assert import_jobs_requeue(now=later) == 1  # eager: the re-queued task runs now
        job.refresh_from_db()
        assert (job.status, job.rows, job.values) == (ImportJob.Status.DONE, 2, 3)
        assert Measurement.objects.count() == 3
    finally:
        connections["default"].close()
        connections["default"] = saved
        server.destroy()
