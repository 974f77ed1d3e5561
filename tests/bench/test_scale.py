"""Scale benchmark: a 2,000-agent center, 91 days, ~3.3 million values.

`make bench` runs it (not part of `make test`) and prints a table:
import throughput (goal ≥ 50,000 values/s on SQLite); the quarter's scorecard
of the center, a department, a team and an agent — subject resolution and
scoring included — beside the floor, one raw grouped SUM over the same rows
(goal ≤ 2×, best of N runs); and the query count of the team ranking.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from scorecard import demo, imports, selectors
from scorecard.models import Measurement, OrgUnit, Person

DEPARTMENTS, TEAMS_PER_DEPARTMENT, AGENTS, DAYS = 5, 20, 2000, 91
END = dt.date(2026, 9, 30)
RUNS = 7
IMPORT_GOAL = 50_000  # values per second
RATIO_GOAL = 2.0


def _best(fn, runs: int = RUNS) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


@pytest.fixture(scope="module")
def center(django_db_setup, django_db_blocker):
    """Build the center once, committed, outside the tests' transactions."""
    with django_db_blocker.unblock():
        plan = demo.plan_center(seed=11, agents=AGENTS, departments=demo.generic_departments(DEPARTMENTS, TEAMS_PER_DEPARTMENT))
        started = time.perf_counter()
        imports.import_org(demo.org_csv(plan))
        imports.import_people(demo.people_csv(plan))
        org_seconds = time.perf_counter() - started
        days = demo.demo_dates(DAYS, END)
        started = time.perf_counter()
        agent_file, team_file = demo.measurement_csvs(plan, days, dense=True)
        generate_seconds = time.perf_counter() - started
        started = time.perf_counter()
        loaded = imports.import_measurements(agent_file)
        loaded_q = imports.import_measurements(team_file)
        import_seconds = time.perf_counter() - started
        del agent_file, team_file
        yield {
            "plan": plan,
            "start": days[0],
            "end": days[-1],
            "org_seconds": org_seconds,
            "generate_seconds": generate_seconds,
            "import_seconds": import_seconds,
            "values": loaded.values + loaded_q.values,
            "rows": loaded.rows + loaded_q.rows,
        }


def _floor_sql(where: str) -> str:
    return f"SELECT measure_id, SUM(value) FROM scorecard_measurement WHERE {where} GROUP BY measure_id"


@pytest.mark.django_db
def test_scale(center, client):
    start, end = center["start"], center["end"]
    assert Measurement.objects.count() == center["values"]
    director = Person.objects.get(role="director")
    dept = OrgUnit.objects.get(code="D1")
    team = OrgUnit.objects.get(code="D1-T01")
    agent = Person.objects.filter(unit=team, role="agent").order_by("employee_code").first()
    dept_ids = list(OrgUnit.objects.filter(path__startswith=dept.path).values_list("pk", flat=True))

    def in_list(ids):
        return f"unit_id IN ({', '.join(str(i) for i in ids)})"

    cases = [
        ("center", "CC", "date BETWEEN %s AND %s"),
        ("department", dept.code, f"{in_list(dept_ids)} AND date BETWEEN %s AND %s"),
        ("team", team.code, f"{in_list([team.pk])} AND date BETWEEN %s AND %s"),
        ("agent", agent.employee_code, f"person_id = {agent.pk} AND date BETWEEN %s AND %s"),
    ]
    results = []
    for label, code, where in cases:
        sql = _floor_sql(where)

        def floor():
            with connection.cursor() as cursor:
                cursor.execute(sql, [start.isoformat(), end.isoformat()])
                return dict(cursor.fetchall())

        def scorecard():
            subject = selectors.subject_get(director, code)
            return selectors.scorecard_for_subject(subject, start, end)

        # The scorecard sums exactly the rows the floor sums.
        sums = selectors.measure_sums(selectors.subject_get(director, code), start, end)
        expected = floor()
        assert sums.keys() == expected.keys()
        assert all(abs(sums[m] - expected[m]) <= 1e-6 * max(1.0, abs(expected[m])) for m in sums)
        assert scorecard().overall_score is not None
        with CaptureQueriesContext(connection) as queries:
            scorecard()
        floor_s, card_s = _best(floor), _best(scorecard)
        subject = selectors.subject_get(director, code)
        parts = (
            _best(lambda: selectors.subject_get(director, code)),
            _best(selectors.library_load),
            _best(lambda: selectors.measure_sums(subject, start, end)),
        )
        rows = Measurement.objects.filter(date__range=(start, end))
        rows = rows.filter(person=agent) if label == "agent" else rows if label == "center" else rows.filter(unit_id__in=dept_ids if label == "department" else [team.pk])
        results.append((label, code, rows.count(), card_s, floor_s, len(queries), parts))

    try:
        url = reverse("ranking", args=[team.code])
    except NoReverseMatch:
        url = None
    if url:
        client.force_login(director)
        client.get(url)  # warm up
        # Count through an execute wrapper: every request resets the query log.
        ranking_queries = []
        with connection.execute_wrapper(lambda execute, sql, *a: (ranking_queries.append(sql), execute(sql, *a))[1]):
            response = client.get(url)
        assert response.status_code == 200
        ranking_label = f"GET {url}"
        ranking_s = _best(lambda: client.get(url), 3)
    else:
        with CaptureQueriesContext(connection) as ranking_queries:
            selectors.ranking_for_unit(team, start, end)
        ranking_label = f"selectors.ranking_for_unit({team.code})"
        ranking_s = _best(lambda: selectors.ranking_for_unit(team, start, end), 3)

    reset_queries()
    with CaptureQueriesContext(connection) as selector_queries:
        selectors.ranking_for_unit(team, start, end)

    throughput = center["values"] / center["import_seconds"]
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    lines = [
        "",
        f"Scale benchmark — {connection.vendor} ({connection.settings_dict['NAME']})",
        f"  center: {DEPARTMENTS} departments × {TEAMS_PER_DEPARTMENT} teams, {AGENTS:,} agents, "
        f"{DAYS} days {start} … {end}",
        f"  org + people import: {center['org_seconds']:.2f} s; CSV generation: {center['generate_seconds']:.1f} s",
        f"  measurements import: {center['values']:,} values in {center['rows']:,} lines, "
        f"{center['import_seconds']:.1f} s → {throughput:,.0f} values/s (goal ≥ {IMPORT_GOAL:,}) {ok(throughput >= IMPORT_GOAL)}",
        "",
        f"  Quarter scorecard, best of {RUNS} (subject resolution + library + sums + scoring) vs the raw grouped SUM:",
        f"  {'subject':<11} {'code':<8} {'rows':>10} {'scorecard ms':>13} {'floor ms':>10} {'ratio':>7} {'queries':>8}",
    ]
    for label, code, n, card_s, floor_s, nq, parts in results:
        ratio = card_s / floor_s
        lines.append(
            f"  {label:<11} {code:<8} {n:>10,} {card_s * 1000:>13.2f} {floor_s * 1000:>10.2f} "
            f"{ratio:>6.2f}× {nq:>8}  {ok(ratio <= RATIO_GOAL)}"
            f"   [subject_get {parts[0] * 1000:.2f} ms, library_load {parts[1] * 1000:.2f} ms, "
            f"measure_sums {parts[2] * 1000:.2f} ms]"
        )
    lines += [
        "",
        f"  Ranking of team {team.code}: {ranking_label}: {len(ranking_queries)} queries, {ranking_s * 1000:.1f} ms (best of 3)",
        f"  of which selectors.ranking_for_unit: {len(selector_queries)} queries",
        "",
    ]
    print("\n".join(lines))
