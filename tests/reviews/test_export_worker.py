"""HR's bulk export through real Celery workers, over Redis and over the embedded (filesystem) broker.

Eager mode renders the chunks in the test's own process and transaction;
only worker processes prove that the messages, the commit before dispatch,
the claims of chunks and of the assembly across processes, and the files
under a shared MEDIA_ROOT work. Each test exports the five appraisals of a
launched cycle (tests/reviews/test_launch.py): one worker; two workers on
chunks of one appraisal; two workers with every chunk delivered twice.

The workers run with the console mail backend, so the "export ready" mail,
sent by the one worker that assembles the ZIP, is counted in their logs; the
workers' "Task … succeeded: True/False" lines say which deliveries rendered.
"""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from pathlib import Path

import pytest

from reviews import exports
from reviews.models import Appraisal, ExportChunk, ExportJob
from reviews.tasks import export_chunk_task
from scorecard.celery import app as celery_app
from tests.base import build_org
from tests.reviews.test_closing_worker import _broker, _reset_producer_pool, _start_worker, _stop
from tests.reviews.test_launch import launched
from tests.scorecard.test_tasks import _database_url_for_worker

# The five appraisals of the launched cycle (department D1), by cycle, employee code and language.
FILES = {f"appraisal_q3-2026-appraisal_{code}_en.pdf" for code in ("DANA", "MIKE", "ALICE", "BOB", "CARL")}
MAIL_SUBJECT = "Subject: Appraisal export ready:"
TASK_RESULT = re.compile(r"reviews\.tasks\.export_chunk_task\[[^\]]+\] succeeded in [\d.]+s: (True|False)")


def _logs(logs: list[Path]) -> str:
    return "\n".join(path.read_text(errors="replace") for path in logs)


def _export_through_workers(tmp_path, settings, broker_kind: str, *, workers: int, chunk_size: int,
                            deliver_twice: bool = False) -> list[str]:
    """Start `workers` worker processes, start an export of a launched cycle, wait until it is done and every
    message is handled, check the ZIP and the job; return what each delivery returned ("True"/"False")."""
    var_dir = tmp_path / "var"
    settings.MEDIA_ROOT = var_dir / "media"  # the workers' SCORECARD_VAR_DIR/media
    settings.EXPORT_CHUNK_SIZE = chunk_size  # the chunks are cut here, in export_start
    broker_url, transport_options = _broker(broker_kind, var_dir)
    database_url, restore_database = _database_url_for_worker(tmp_path)
    saved_conf = {k: celery_app.conf[k] for k in ("task_always_eager", "broker_url", "broker_transport_options")}
    logs = [tmp_path / f"worker-{n}.log" for n in range(workers)]
    handles = [path.open("w") for path in logs]
    running = []
    try:
        org = build_org()
        cycle = launched(org)
        assert Appraisal.objects.filter(cycle=cycle).count() == len(FILES)

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "SCORECARD_VAR_DIR": str(var_dir),
            "DJANGO_SECRET_KEY": "tests",
            # The production settings (the test settings keep mail in memory): mail printed to the log.
            "DJANGO_SETTINGS_MODULE": "scorecard.settings",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        }
        running = [_start_worker(env, log) for log in handles]
        celery_app.conf.update(
            task_always_eager=False, broker_url=broker_url, broker_transport_options=transport_options
        )
        _reset_producer_pool()

        job, started = exports.export_start(user=org.hana, cycle=cycle, unit_codes=[], language="en")
        assert started  # its chunks dispatched on commit (no transaction around this test)
        chunks = -(-len(FILES) // chunk_size)
        messages = chunks
        if deliver_twice:
            for index in range(chunks):  # a second delivery of every chunk's message
                export_chunk_task.delay(job.pk, index)
            messages *= 2

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and all(w.poll() is None for w in running):
            job.refresh_from_db()
            if job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED) and (
                len(TASK_RESULT.findall(_logs(logs))) >= messages
                and MAIL_SUBJECT in _logs(logs)  # the "ready" mail is sent by its own task (scorecard.outbox)
            ):
                break
            time.sleep(0.2)
        text = _logs(logs)
        assert job.status == ExportJob.Status.DONE, f"export {job.status}; worker logs:\n{text[-6000:]}"
        assert len(TASK_RESULT.findall(text)) == messages, f"worker logs:\n{text[-6000:]}"
        _check_export(job, text)  # while the database the workers wrote is still the test's
        return TASK_RESULT.findall(text)
    finally:
        for worker in running:
            _stop(worker)
        for handle in handles:
            handle.close()
        celery_app.conf.update(saved_conf)
        _reset_producer_pool()
        restore_database()


def _check_export(job: ExportJob, text: str) -> None:
    """One PDF per appraisal, each once; counted once; the parts gone; the requester mailed once."""
    path = exports.export_path(job)
    assert path is not None, job.file
    assert path.name == "appraisals_q3-2026-appraisal_en.zip"
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(FILES)  # every appraisal exactly once, no export-log.txt
        for name in names:
            assert archive.read(name).startswith(b"%PDF-"), name
    assert (job.total, job.done, job.failed, job.log) == (len(FILES), len(FILES), 0, [])
    assert job.size == len(data) and job.finished_at is not None
    chunks = list(ExportChunk.objects.filter(job=job).values_list("status", "done"))
    assert {status for status, _done in chunks} == {ExportChunk.Status.DONE}
    assert sum(done for _status, done in chunks) == len(FILES)
    assert [p.name for p in exports.export_dir(job).iterdir()] == [path.name]  # the parts deleted
    assert text.count(MAIL_SUBJECT) == 1, text[-6000:]  # the ZIP assembled (and mailed) once
    assert "hana@example.com" in text


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("broker_kind", ["redis", "filesystem"])
def test_hr_export_is_rendered_and_assembled_by_a_real_worker(tmp_path, settings, broker_kind):
    results = _export_through_workers(tmp_path, settings, broker_kind, workers=1, chunk_size=2)
    assert results == ["True"] * 3  # three chunks, each rendered by its one delivery


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("broker_kind", ["redis", "filesystem"])
def test_two_workers_render_each_appraisal_once_and_assemble_once(tmp_path, settings, broker_kind):
    results = _export_through_workers(tmp_path, settings, broker_kind, workers=2, chunk_size=1)
    assert results == ["True"] * len(FILES)  # five chunks, each rendered by one worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("broker_kind", ["redis", "filesystem"])
def test_a_chunk_delivered_twice_is_rendered_once(tmp_path, settings, broker_kind):
    results = _export_through_workers(tmp_path, settings, broker_kind, workers=2, chunk_size=2,
                                      deliver_twice=True)
    # Three chunks, six deliveries: the first delivery to reach a chunk renders it, the other finds it taken.
    assert sorted(results) == ["False"] * 3 + ["True"] * 3
