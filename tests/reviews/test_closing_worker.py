"""Closing a cycle through real Celery workers, over Redis and over the embedded (filesystem) broker.

Eager mode runs the task in the test's own process and transaction; only a
worker process proves that the message, the commit before dispatch and the
claim across processes work. Each test closes a cycle of 60 appraisals with
their 360 feedback and compares the results (360 score and requests marked
included) with a twin cycle (same people, data, ratings and answers) closed
in-process: one worker, then two workers racing on the same cycle.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import kombu.pools
import pytest

from reviews import closing
from reviews.models import Appraisal, ReviewCycle
from reviews.tasks import close_cycle_task
from scorecard.celery import app as celery_app
from tests.base import build_org
from tests.reviews.test_closing import copy_cycle, make_cycle, many_appraisals, results
from tests.reviews.test_feedback_close import add_feedback, request_rows, response_rows
from tests.scorecard.test_tasks import WORKER_BROKER, _database_url_for_worker
from tests.scorecard.test_tasks import _reset_producer_pool as _reset_app_pool

ROOT = Path(__file__).resolve().parents[2]
APPRAISALS = 60


def _reset_producer_pool():
    """Drop the app's producers and kombu's global pools too: they are keyed by broker URL, and a pool
    closed at the end of one test would otherwise be handed to the next test using the same broker."""
    _reset_app_pool()
    kombu.pools.reset()


def _broker(kind: str, var_dir: Path) -> tuple[str, dict]:
    """(broker URL, transport options) for this process; the worker builds the same from SCORECARD_VAR_DIR."""
    if kind == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(WORKER_BROKER, socket_connect_timeout=1).flushdb()  # a database for this test only
        except redis.exceptions.RedisError as exc:
            pytest.skip(f"Redis is not reachable at {WORKER_BROKER}: {exc}")
        return WORKER_BROKER, {}
    folders = {name: var_dir / "broker" / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return "filesystem://", {  # as scorecard/settings.py builds them
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
    }


def _start_worker(env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "scorecard", "worker", "--pool=solo", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
         "-n", f"test-{uuid.uuid4().hex[:8]}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _close_through_workers(tmp_path, broker_kind: str, workers: int, send) -> None:
    """Start `workers` worker processes, call send(org, cycle), wait for the cycle to close, compare with a twin."""
    var_dir = tmp_path / "var"
    broker_url, transport_options = _broker(broker_kind, var_dir)
    database_url, restore_database = _database_url_for_worker(tmp_path)
    saved_conf = {k: celery_app.conf[k] for k in ("task_always_eager", "broker_url", "broker_transport_options")}
    log = (tmp_path / "worker.log").open("w+")
    running: list[subprocess.Popen] = []
    try:
        org = build_org()
        cycle = make_cycle(org)
        many_appraisals(org, cycle, APPRAISALS)
        reference = copy_cycle(org, cycle, "reference")
        add_feedback(cycle)
        add_feedback(reference)
        ReviewCycle.objects.filter(pk=reference.pk).update(phase="closing", closing_total=APPRAISALS)
        closing.close_cycle(cycle_id=reference.pk)  # a single in-process run

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "SCORECARD_VAR_DIR": str(var_dir),
            "DJANGO_SECRET_KEY": "tests",
        }
        running = [_start_worker(env, log) for _ in range(workers)]
        celery_app.conf.update(
            task_always_eager=False, broker_url=broker_url, broker_transport_options=transport_options
        )
        _reset_producer_pool()

        send(org, cycle)
        deadline = time.monotonic() + 35
        while time.monotonic() < deadline and all(w.poll() is None for w in running):
            cycle.refresh_from_db()
            if cycle.phase == "closed":
                break
            time.sleep(0.2)
        log.seek(0)
        assert cycle.phase == "closed", f"cycle {cycle.phase}; worker log:\n{log.read()[-4000:]}"
        reference.refresh_from_db()
        assert Appraisal.objects.filter(cycle=cycle, status="closed").count() == APPRAISALS
        assert cycle.closing_done == APPRAISALS  # each appraisal counted by exactly one claim
        assert results(cycle) == results(reference)
        assert any(r["feedback_score"] is not None for r in results(cycle))
        assert request_rows(cycle) == request_rows(reference)
        assert response_rows(cycle) == response_rows(reference)
        assert cycle.summary == reference.summary
    finally:
        for worker in running:
            _stop(worker)
        log.close()
        celery_app.conf.update(saved_conf)
        _reset_producer_pool()
        restore_database()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("broker_kind", ["redis", "filesystem"])
def test_hr_close_is_carried_out_by_a_real_worker(tmp_path, broker_kind):
    def send(org, cycle):
        assert closing.cycle_close_start(user=org.hana, cycle=cycle)  # dispatched on commit

    _close_through_workers(tmp_path, broker_kind, 1, send)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("broker_kind", ["redis", "filesystem"])
def test_two_workers_closing_the_same_cycle_close_each_appraisal_once(tmp_path, broker_kind):
    def send(org, cycle):
        assert closing.cycle_close_start(user=org.hana, cycle=cycle)  # the button's own message (batches of 200)
        for _ in range(2):  # and two more, in small batches, so the workers interleave
            close_cycle_task.delay(cycle.pk, 5)

    _close_through_workers(tmp_path, broker_kind, 2, send)
