"""Documents benchmark: the appraisal PDF beside WeasyPrint alone, its queries, and the bulk export through workers.

`make bench` runs it beside test_scale.py and prints the figures (issue 5, "Performance"):

1. The time of one appraisal PDF (reviews.documents.appraisal_pdf: queries, scorecard, trend charts, template
   and WeasyPrint) in English and in Chinese, median over RENDERS appraisals rendered ROUNDS times, beside the
   time of WeasyPrint alone (scorecard.pdf.html_to_pdf) on the same HTML, the floor. Goals: whole ≤ 1.15× the
   floor; Chinese ≤ 1.3× English. Measured as this process's CPU time (SQLite runs in process), each call
   from a collected heap: on a shared machine the wall clock also counts other processes' turns.
2. The queries of one document, for a small appraisal (one KPI objective, nothing rated, no 360) and a large
   one (eight objectives, the whole KPI library, every competency commented, a 360 of nine raters), both of
   team managers, whose scorecard is their team's (two queries more: the team's subtree, their own sums),
   and a typical agent's: equal for the two managers, whatever their size.
3. HR's bulk export of EXPORT_APPRAISALS appraisals (reviews.exports) by one, then two, real
   `celery -A scorecard worker --concurrency=1` processes over the filesystem broker, from export_start to
   the job done: throughput and speed-up (goal ≥ 1.7× with two workers). Two workers need two free cores.

The appraisals are those of a closed quarter, as the demo's: four objectives (three on KPIs), 13 weeks of
daily data of the demo's generator so every agent KPI has its scorecard line and trend chart, five rated
competencies, a 360 shown (supervisor and three peers), the self-assessment, the manager's comments, the
interview and the acknowledgement: a three-page document. Built in bulk, committed (the workers read it), in
a transactional test: test_scale.py leaves its center committed, so this one starts from an emptied database
(the migrations' data restored) and is emptied again afterwards.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import statistics
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviews import closing, exports, scoring
from reviews.documents import appraisal_document_html, appraisal_pdf
from reviews.feedback import questionnaire_for
from reviews.models import (
    Appraisal, Competency, CompetencyRating, ExportJob, FeedbackAnswer, FeedbackRequest, FeedbackResponse,
    ObjectiveRating, ReviewCycle,
)
from reviews.snapshot import snapshot_library
from scorecard import demo, imports
from scorecard.celery import app as celery_app
from scorecard.models import Measurement, OrgUnit, Person
from scorecard.pdf import html_to_pdf
from tests.reviews.test_closing import PERIOD_END, PERIOD_START, REWARD_TERMS, make_cycle
from tests.scorecard.test_tasks import _database_url_for_worker
from tests.scorecard.test_tasks import _reset_producer_pool as _reset_app_pool

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS, TEAMS_PER_DEPARTMENT, AGENTS = 5, 10, 500
EXPORT_APPRAISALS = AGENTS  # one appraisal per agent
RENDERS, ROUNDS = 10, 2  # appraisals timed per language, each twice
LANGUAGES = ("en", "zh-hans")
WHOLE_GOAL, CHINESE_GOAL, SPEEDUP_GOAL = 1.15, 1.3, 1.7
EXPORT_TIMEOUT = 1800  # seconds per export run

OBJECTIVES = [
    {"id": 9001, "title": "First-contact resolution at 76%", "kind": "kpi", "kpi": "fcr",
     "baseline": 68, "target": 76, "stretch": 82, "weight": 30},
    {"id": 9002, "title": "Average handle time at 330 s", "kind": "kpi", "kpi": "aht",
     "baseline": 380, "target": 330, "stretch": 300, "weight": 30},
    {"id": 9003, "title": "Customer satisfaction 客户满意度 88%", "kind": "kpi", "kpi": "csat",
     "baseline": 82, "target": 88, "stretch": 93, "weight": 25},
    {"id": 9004, "title": "Complete the complaint-handling course 投诉处理课程", "kind": "milestone", "kpi": None,
     "baseline": None, "target": None, "stretch": None, "weight": 15, "completion_criterion": "Certificate uploaded"},
]
EXTRA_OBJECTIVES = [  # the large appraisal's four more
    {"id": 9005, "title": "Mentor a new colleague through probation", "kind": "milestone", "kpi": None,
     "baseline": None, "target": None, "stretch": None, "weight": 10, "completion_criterion": "Probation passed"},
    {"id": 9006, "title": "Quality score at 90%", "kind": "kpi", "kpi": "qa_score",
     "baseline": 84, "target": 90, "stretch": 95, "weight": 10},
    {"id": 9007, "title": "Schedule adherence at 92%", "kind": "kpi", "kpi": "adherence",
     "baseline": 86, "target": 92, "stretch": 96, "weight": 10},
    {"id": 9008, "title": "Write two knowledge-base articles 知识库文章", "kind": "milestone", "kpi": None,
     "baseline": None, "target": None, "stretch": None, "weight": 10, "completion_criterion": "Published"},
]
SELF = {
    "achievements": "Handled the September peak without overtime; FCR up three points. 九月高峰期无需加班。",
    "difficulties": "Refund questions still need the back office. 退款问题仍需后台处理。",
    "help_wanted": "Coaching on complex billing cases.",
}
MANAGER = {
    "manager_comments": "Reliable and well liked by customers. 工作认真负责，客户评价好。",
    "interview_notes": "Went through the quarter's figures and the course plan.",
    "improvement_actions": "Shadow a senior agent twice a month.",
}
COMMENTS = ["Always ready to help when the queue is long.", "乐于助人，沟通清楚。",
            "Explains the new products clearly to the team.", "遇到难题时很冷静，值得学习。"]


# -------------------------------------------------------------------- data


def _start_empty() -> None:
    """Empty the database and restore what the migrations installed, as a transactional test ends."""
    call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)
    connection.creation.deserialize_db_from_string(connection._test_serialized_contents)


def _build_center() -> list[Person]:
    """The demo's center of AGENTS agents, and 13 weeks of the demo generator's daily figures over the quarter."""
    departments = demo.generic_departments(DEPARTMENTS, TEAMS_PER_DEPARTMENT)
    plan = demo.plan_center(seed=5, agents=AGENTS, departments=departments)
    imports.import_org(demo.org_csv(plan))
    imports.import_people(demo.people_csv(plan))
    days = [PERIOD_START + dt.timedelta(days=i) for i in range((PERIOD_END - PERIOD_START).days + 1)]
    agent_file, team_file = demo.measurement_csvs(plan, days)
    imports.import_measurements(agent_file)
    imports.import_measurements(team_file)
    return list(Person.objects.filter(role="agent").select_related("unit").order_by("employee_code")[:AGENTS])


def _snapshot(objectives: list[dict], *, library=None, kpis: tuple[str, ...] | None = None) -> dict:
    library = library or snapshot_library()
    chosen = {code: k for code, k in library.kpis.items() if kpis is None or code in kpis}
    return {
        "taken_at": "2026-07-01T08:00:00+00:00",
        "objectives": [{"due_date": "2026-09-30", "completion_criterion": "", **o} for o in objectives],
        "contract": {"id": 1, "version": 1, "content_hash": "9f2c" * 16, "reward_terms": REWARD_TERMS,
                     "terms_text": "Grades from the appraisal; bonus paid with October's salary."},
        "kpis": chosen,
        "perspectives": {code: p for code, p in library.perspectives.items()
                         if any(k["perspective"] == code for k in chosen.values())},
    }


def _cycle(hr: Person, people: list[Person], name: str, shapes: list[str], raters: list[Person]) -> ReviewCycle:
    """A cycle of these people's appraisals, filled per shape ("typical", "large", "small") and closed."""
    class _Org:  # make_cycle needs the HR author and the root unit
        hana = hr
        center = OrgUnit.objects.get(code=demo.CENTER_CODE)

    cycle = make_cycle(_Org, name=name, questionnaire=questionnaire_for(None))
    library = snapshot_library()
    snapshots = {
        "typical": _snapshot(OBJECTIVES, library=library),
        "large": _snapshot(OBJECTIVES + EXTRA_OBJECTIVES, library=library),
        "small": _snapshot(OBJECTIVES[:1], library=library, kpis=("fcr",)),
    }
    now = timezone.now()
    filled = {
        "self_status": "submitted", "self_submitted_at": now - dt.timedelta(days=30), **SELF,
        "manager_status": "submitted", "manager_submitted_at": now - dt.timedelta(days=15), **MANAGER,
        "interview_at": now - dt.timedelta(days=12), "acknowledged_at": now - dt.timedelta(days=10),
    }
    appraisals = Appraisal.objects.bulk_create(
        [Appraisal(cycle=cycle, person=p, manager_id=p.manager_id, unit_id=p.unit_id, snapshot=snapshots[shape],
                   **({} if shape == "small" else filled))
         for p, shape in zip(people, shapes)],
        batch_size=500,
    )
    ratings, competency_ratings = [], []
    competencies = list(Competency.objects.filter(active=True))
    sums = _period_sums([p.pk for p in people])
    for i, (a, shape) in enumerate(zip(appraisals, shapes)):
        if shape == "small":
            continue
        kpis, person_sums = a.snapshot["kpis"], sums.get(a.person_id, {})
        for j, o in enumerate(a.snapshot["objectives"]):
            ratings.append(ObjectiveRating(
                appraisal=a, objective_id=o["id"], title=o["title"], weight=o["weight"],
                # Stored as appraisal_prepare stores them when the self-assessment opens.
                actual=scoring.objective_actual(o, kpis, person_sums),
                system_score=scoring.objective_system_score(o, kpis, person_sums),
                self_rating=70 + (i + j) % 25,
                self_comment="Used the resolution checklist on most calls." if j == 0 else "",
                manager_rating=65 + (i + 2 * j) % 30, manager_comment="Agreed; keep it up." if j == 1 else "",
            ))
        for j, c in enumerate(competencies):
            competency_ratings.append(CompetencyRating(
                appraisal=a, competency=c, score=2 + (i + j) % 4,
                comment=COMMENTS[(i + j) % len(COMMENTS)] if shape == "large" or j == 0 else "",
            ))
    ObjectiveRating.objects.bulk_create(ratings, batch_size=2000)
    CompetencyRating.objects.bulk_create(competency_ratings, batch_size=2000)
    _feedback(cycle, raters, appraisals, shapes)
    ReviewCycle.objects.filter(pk=cycle.pk).update(phase="closing", closing_total=len(appraisals))
    closed = closing.close_cycle(cycle_id=cycle.pk)
    assert closed.phase == "closed"
    return closed


def _period_sums(person_ids: list[int]) -> dict[int, dict[str, float]]:
    """Per person, their measures summed over the quarter (1 query)."""
    sums: dict[int, dict[str, float]] = {}
    for row in (Measurement.objects.filter(person_id__in=person_ids, date__range=(PERIOD_START, PERIOD_END))
                .values("person_id", "measure__code").annotate(total=Sum("value")).order_by()):
        sums.setdefault(row["person_id"], {})[row["measure__code"]] = row["total"]
    return sums


def _feedback(cycle: ReviewCycle, raters: list[Person], appraisals: list[Appraisal], shapes: list[str]) -> None:
    """The 360: the appraisee and their supervisor (named) and three peers (anonymous: a group just large
    enough to show) answered every question; the large appraisal has six peers, a matrix manager and a
    subordinate (a group too small to show) besides. Raters are taken in turn from `raters`."""
    codes = [q["code"] for q in cycle.questionnaire]
    anonymous = FeedbackRequest.ANONYMOUS
    n = len(raters)
    requests, responses = [], []
    for i, (appraisal, shape) in enumerate(zip(appraisals, shapes)):
        if shape == "small":
            continue
        others = [r for r in (raters[(i + j) % n] for j in range(1, 12)) if r.pk not in (appraisal.person_id,
                                                                                        appraisal.manager_id)]
        asked = [("self", appraisal.person_id), ("supervisor", appraisal.manager_id)]
        asked += [("peer", r.pk) for r in others[:6 if shape == "large" else 3]]
        if shape == "large":
            asked += [("matrix", others[6].pk), ("subordinate", others[7].pk)]
        for relationship, rater_id in asked:
            requests.append(FeedbackRequest(cycle=cycle, appraisal=appraisal, relationship=relationship,
                                            rater_id=rater_id, status="submitted"))
    FeedbackRequest.objects.bulk_create(requests, batch_size=2000)
    for k, r in enumerate(requests):
        comment = COMMENTS[k % len(COMMENTS)] if r.relationship in ("peer", "supervisor") else ""
        responses.append(FeedbackResponse(appraisal_id=r.appraisal_id, relationship=r.relationship,
                                          request=None if r.relationship in anonymous else r, comment=comment))
    FeedbackResponse.objects.bulk_create(responses, batch_size=2000)
    FeedbackAnswer.objects.bulk_create(
        [FeedbackAnswer(response=response, code=code, score=2 + (k + j) % 4)
         for k, response in enumerate(responses) for j, code in enumerate(codes)],
        batch_size=5000,
    )


def _loaded(cycle: ReviewCycle) -> list[Appraisal]:
    """The cycle's appraisals as the export loads them."""
    return list(Appraisal.objects.filter(cycle=cycle).select_related("cycle", "person__unit", "manager", "unit")
                .order_by("person__employee_code"))


def _pages(appraisal: Appraisal, language: str) -> int:
    import weasyprint
    from django.conf import settings

    html = appraisal_document_html(appraisal, language=language)
    return len(weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).render().pages)


# ------------------------------------------------------------------ timing


def _cpu_seconds(fn) -> tuple[float, object]:
    """The CPU time of this process running fn (the database is SQLite, in process), from a collected heap:
    on a shared machine the wall clock would also count the time other processes had the CPU."""
    gc.collect()
    started = time.process_time()
    result = fn()
    return time.process_time() - started, result


def _time_documents(appraisals: list[Appraisal]) -> dict[str, dict[str, float]]:
    """Per language, the medians (CPU seconds) of the HTML alone, of WeasyPrint alone on that HTML, of the whole,
    over RENDERS appraisals rendered ROUNDS times each."""
    for language in LANGUAGES:  # warm up: fonts, templates, matplotlib's figure, WeasyPrint's imports
        appraisal_pdf(appraisals[0], language=language)
    samples = {language: {"html": [], "floor": [], "whole": []} for language in LANGUAGES}
    for appraisal in appraisals[1:RENDERS + 1] * ROUNDS:
        for language in LANGUAGES:
            s = samples[language]
            seconds, html = _cpu_seconds(lambda: appraisal_document_html(appraisal, language=language))
            s["html"].append(seconds)
            s["floor"].append(_cpu_seconds(lambda: html_to_pdf(html))[0])
            s["whole"].append(_cpu_seconds(lambda: appraisal_pdf(appraisal, language=language))[0])
    return {language: {k: statistics.median(v) for k, v in s.items()} for language, s in samples.items()}


def _queries(appraisal: Appraisal) -> int:
    with CaptureQueriesContext(connection) as ctx:
        appraisal_document_html(appraisal, language="en")
    return len(ctx)


# ------------------------------------------------------------------ export


def _filesystem_broker(var_dir: Path) -> dict:
    """The transport options scorecard/settings.py builds for the workers from SCORECARD_VAR_DIR."""
    folders = {name: var_dir / "broker" / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folders["queue"]), "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
        "store_processed": False, "polling_interval": 0.1,
    }


def _start_worker(env: dict, log_path: Path) -> tuple[subprocess.Popen, Path]:
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "scorecard", "worker", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
             "-n", f"bench-{uuid.uuid4().hex[:8]}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    return worker, log_path


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _export(hr: Person, cycle: ReviewCycle, env: dict, workers: int, logs_dir: Path) -> tuple[float, ExportJob, float]:
    """Start `workers` worker processes and wait until they are ready; time an export from export_start to done.
    Also return the machine's load average over the run (other processes' share of the CPUs)."""
    running = [_start_worker(env, logs_dir / f"worker-{workers}-{n}.log") for n in range(workers)]
    try:
        deadline = time.monotonic() + 60
        while not all(" ready." in path.read_text(errors="replace") for _w, path in running):
            assert time.monotonic() < deadline and all(w.poll() is None for w, _p in running), \
                running[0][1].read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        started = time.perf_counter()
        job, created = exports.export_start(user=hr, cycle=cycle, unit_codes=[], language="en")
        assert created
        deadline = time.monotonic() + EXPORT_TIMEOUT
        while time.monotonic() < deadline and all(w.poll() is None for w, _p in running):
            job.refresh_from_db()
            if job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED):
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        load = os.getloadavg()[0] - workers  # the 1-minute average, less the workers' own
        logs = "\n".join(path.read_text(errors="replace")[-2000:] for _w, path in running)
        assert job.status == ExportJob.Status.DONE, f"export {job.status} {job.done}/{job.total}; logs:\n{logs}"
        return seconds, job, load
    finally:
        for worker, _path in running:
            _stop(worker)


# -------------------------------------------------------------------- bench


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_documents_bench(tmp_path, settings):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the workers need a database file: run it with tests/bench/conftest.py")
    _start_empty()
    started = time.perf_counter()
    agents = _build_center()
    hr = Person.objects.filter(role="hr").order_by("employee_code").first()
    cycle = _cycle(hr, agents, "2026 Q3 review", ["typical"] * len(agents), agents)
    managers = list(Person.objects.filter(role="manager").select_related("unit").order_by("employee_code")[:2])
    sizes = _cycle(hr, managers, "2026 Q3 managers", ["small", "large"], agents)
    build_seconds = time.perf_counter() - started

    # 1. One document, whole and floor, in both languages.
    appraisals = _loaded(cycle)
    step = max(1, len(appraisals) // (RENDERS + 1))
    timed = _time_documents(appraisals[::step])
    pages = {language: _pages(appraisals[1], language) for language in LANGUAGES}
    assert all(n >= 2 for n in pages.values()), pages

    # 2. Queries of a small, a typical and a large appraisal.
    small, large = _loaded(sizes)
    assert len(small.snapshot["objectives"]) == 1 and len(large.snapshot["objectives"]) == 8
    queries = {"small": _queries(small), "typical": _queries(appraisals[1]), "large": _queries(large)}
    assert queries["small"] == queries["large"] == queries["typical"] + 2  # constant (managers: + subtree, own sums)

    # 3. The export through one, then two worker processes.
    var_dir = tmp_path / "var"
    settings.MEDIA_ROOT = var_dir / "media"  # the workers' SCORECARD_VAR_DIR/media
    database_url, restore_database = _database_url_for_worker(tmp_path)
    transport_options = _filesystem_broker(var_dir)
    saved_conf = {k: celery_app.conf[k] for k in ("task_always_eager", "broker_url", "broker_transport_options")}
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SCORECARD_VAR_DIR": str(var_dir),
        "DJANGO_SECRET_KEY": "bench",
    }
    runs = {}
    try:
        celery_app.conf.update(task_always_eager=False, broker_url="filesystem://",
                               broker_transport_options=transport_options)
        _reset_app_pool()
        for workers in (1, 2):
            seconds, job, load = _export(hr, cycle, env, workers, tmp_path)
            assert (job.total, job.done, job.failed) == (EXPORT_APPRAISALS, EXPORT_APPRAISALS, 0)
            with zipfile.ZipFile(exports.export_path(job)) as archive:
                names = archive.namelist()
            assert len(names) == len(set(names)) == EXPORT_APPRAISALS
            runs[workers] = (seconds, job, load)
    finally:
        celery_app.conf.update(saved_conf)
        _reset_app_pool()
        restore_database()

    ok = lambda good: "ok" if good else "MISS"  # noqa: E731
    en = timed["en"]
    lines = [
        "",
        f"Documents bench ({connection.vendor}); built {AGENTS} agents, 13 weeks of data, two closed cycles "
        f"in {build_seconds:.1f} s",
        f"  One appraisal PDF, median of {RENDERS} appraisals × {ROUNDS} ({pages['en']} pages in English, "
        f"{pages['zh-hans']} in Chinese), CPU ms:",
        f"  {'language':<10}{'HTML':>9}{'floor':>10}{'whole':>10}{'whole/floor':>13}",
    ]
    for language in LANGUAGES:
        t = timed[language]
        ratio = t["whole"] / t["floor"]
        lines.append(f"  {language:<10}{t['html'] * 1000:>9.0f}{t['floor'] * 1000:>10.0f}{t['whole'] * 1000:>10.0f}"
                     f"{ratio:>12.2f}×  (goal ≤ {WHOLE_GOAL}) {ok(ratio <= WHOLE_GOAL)}")
    zh_ratio = timed["zh-hans"]["whole"] / en["whole"]
    lines += [
        f"  Chinese / English (whole): {zh_ratio:.2f}×  (goal ≤ {CHINESE_GOAL}) {ok(zh_ratio <= CHINESE_GOAL)}",
        "  (floor = scorecard.pdf.html_to_pdf, WeasyPrint alone, on the document's HTML; "
        "HTML = queries, scorecard, charts, template)",
        "",
        f"  Queries per document: typical agent {queries['typical']}; team managers (their team's scorecard): "
        f"small appraisal {queries['small']}, large {queries['large']} (constant: ok)",
        "",
        f"  Bulk export of {EXPORT_APPRAISALS} appraisals (en), chunks of {settings.EXPORT_CHUNK_SIZE}, "
        f"filesystem broker, export_start → done:",
        f"  {'workers':<10}{'seconds':>9}{'appr/s':>9}{'ZIP MB':>9}{'other load':>12}",
    ]
    for workers, (seconds, job, load) in runs.items():
        lines.append(f"  {workers:<10}{seconds:>9.1f}{EXPORT_APPRAISALS / seconds:>9.2f}{job.size / 1e6:>9.1f}"
                     f"{max(load, 0):>12.2f}")
    speedup = runs[1][0] / runs[2][0]
    lines.append(f"  speed-up with 2 workers: {speedup:.2f}×  (goal ≥ {SPEEDUP_GOAL}; {os.cpu_count()} CPUs) "
                 f"{ok(speedup >= SPEEDUP_GOAL)}")
    print("\n".join(lines))
