"""Goals benchmark: cascading one center objective to 2,000 agents, and the cascade tree of a 500-agent department.

`make bench` runs it beside test_scale.py and prints the figures. test_scale's
2,000-agent center is a module-scoped fixture of that file (not shareable),
so this builds its own, smaller in time: 2,000 agents in 4 departments × 25
teams, 14 days of data up to yesterday, inside the test's transaction (rolled
back afterwards, so test_scale still starts from an empty database).
The query counts must not grow with the number of agents.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from goals import cascades
from goals.models import Objective
from scorecard import demo, imports, services
from scorecard.models import Kpi, OrgUnit, Person, Perspective
from scorecard.periods import quarter_of

DEPARTMENTS, TEAMS_PER_DEPARTMENT, AGENTS, DAYS = 4, 25, 2000, 14


def _best(fn, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


class _Count:
    """Count statements through an execute wrapper (an executemany is one statement)."""

    def __enter__(self):
        self.sql: list[str] = []
        self._wrapper = connection.execute_wrapper(lambda execute, sql, *a: (self.sql.append(sql), execute(sql, *a))[1])
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)

    def __len__(self):
        return len(self.sql)


def _center_objective(director, kpi_code: str, **values) -> Objective:
    start, end = quarter_of(timezone.localdate())
    return Objective.objects.create(
        owner_unit=OrgUnit.objects.get(code=demo.CENTER_CODE), period_start=start, period_end=end, due_date=end,
        title=f"Center {kpi_code}", kind="kpi", kpi=Kpi.objects.get(code=kpi_code), weight=25,
        status=Objective.Status.AGREED, created_by=director, **values,
    )


@pytest.mark.django_db
def test_goals_bench(client):
    plan = demo.plan_center(seed=13, agents=AGENTS, departments=demo.generic_departments(DEPARTMENTS, TEAMS_PER_DEPARTMENT))
    imports.import_org(demo.org_csv(plan))
    imports.import_people(demo.people_csv(plan))
    days = demo.demo_dates(DAYS, timezone.localdate() - dt.timedelta(days=1))
    agent_file, team_file = demo.measurement_csvs(plan, days, dense=True)
    started = time.perf_counter()
    values = imports.import_measurements(agent_file).values + imports.import_measurements(team_file).values
    import_seconds = time.perf_counter() - started
    director = Person.objects.get(role="director")
    services.kpi_create(
        user=director, code="sales", name="Sales closed", perspective=Perspective.objects.get(code="financial"),
        formula="sales_closed", unit="", direction="higher", baseline=8000, typical=10000, excellent=12000, weight=20,
    )

    # 1. One center objective (a volume) cascaded all the way to the 2,000 agents, by headcount.
    sales = _center_objective(director, "sales", baseline=80000, target=100000, stretch=120000)
    cascades.library_load()  # warm the library cache, as in a running server
    with _Count() as queries:
        started = time.perf_counter()
        created = cascades.cascade_apply(user=director, objective=sales, depth="agents", method="headcount")
        cascade_seconds = time.perf_counter() - started
    agents_created = sum(1 for o in created if o.owner_person_id)
    assert agents_created == AGENTS
    assert sum(o.target for o in created if o.owner_person_id) == pytest.approx(100000)
    # The same cascade of a 500-agent department: a quarter of the agents and one org level less, so two
    # statements less (an INSERT and a SELECT of the new ids per level), none less per agent.
    dept = OrgUnit.objects.get(code="D1")
    dept_sales = Objective.objects.get(parent=sales, owner_unit=dept)
    other = Objective.objects.create(**{f.attname: getattr(dept_sales, f.attname) for f in Objective._meta.concrete_fields
                                        if f.attname not in ("id", "parent_id", "created_at", "updated_at")})
    with _Count() as dept_queries:
        cascades.cascade_apply(user=director, objective=other, depth="agents", method="headcount")
    # A ratio objective too ("same" for everyone), so the tree has alignment to weigh.
    fcr = _center_objective(director, "fcr", baseline=65, target=72, stretch=80)
    with _Count() as fcr_queries:
        started = time.perf_counter()
        cascades.cascade_apply(user=director, objective=fcr, depth="agents", method="same")
        fcr_seconds = time.perf_counter() - started

    # 2. The cascade tree page of the department's manager: D1 and its 500 agents, and the chain above.
    manager = Person.objects.get(unit=dept, role="manager")
    agents_in_dept = Person.objects.filter(unit__path__startswith=dept.path, role="agent").count()
    url = reverse("cascade-tree") + f"?period={cascades.quarter_code(sales.period_start)}"
    client.force_login(manager)
    assert client.get(url).status_code == 200  # warm up
    tree_queries: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *a: (tree_queries.append(sql), execute(sql, *a))[1]):
        response = client.get(url)
    assert response.status_code == 200
    nodes = response.content.decode().count('class="crow')
    tree_seconds = _best(lambda: client.get(url))
    # A team's manager: the same number of queries for 20 agents.
    team_manager = Person.objects.get(unit__code="D1-T01", role="manager")
    client.force_login(team_manager)
    client.get(url)
    team_queries: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *a: (team_queries.append(sql), execute(sql, *a))[1]):
        client.get(url)

    lines = [
        "",
        f"Goals benchmark — {connection.vendor}",
        f"  center: {DEPARTMENTS} departments × {TEAMS_PER_DEPARTMENT} teams, {AGENTS:,} agents; "
        f"{DAYS} days {days[0]} … {days[-1]}, {values:,} values loaded in {import_seconds:.1f} s",
        f"  cascade of one center objective to all agents (depth agents, headcount): {len(created):,} objectives "
        f"({agents_created:,} agents) in {cascade_seconds:.2f} s, {len(queries)} queries",
        f"    same cascade from one department ({agents_in_dept} agents, one org level less): {len(dept_queries)} queries"
        f"  {'ok: 2 per org level, none per agent' if len(dept_queries) == len(queries) - 2 else 'UNEXPECTED'}",
        f"    FCR (same target) to all agents: {fcr_seconds:.2f} s, {len(fcr_queries)} queries",
        f"  cascade tree page, department D1 ({agents_in_dept} agents, {nodes:,} objectives shown) as its manager: "
        f"{len(tree_queries)} queries, {tree_seconds * 1000:.0f} ms (best of 3)",
        f"    the same page for a team manager (20 agents): {len(team_queries)} queries"
        f"  {'ok: constant' if len(team_queries) == len(tree_queries) else 'DIFFERENT'}",
        "",
    ]
    print("\n".join(lines))
    assert len(dept_queries) == len(queries) - 2
    assert len(team_queries) == len(tree_queries)
