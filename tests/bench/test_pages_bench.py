"""Page benchmark: every page of the demo, for every role, median and p95 server time and queries (issue 10).

`make bench` runs it beside the other benches and prints a table. The demo center (load_demo: AGENTS agents,
DAYS days of figures up to yesterday, its quarter of objectives, contracts, check-ins and two review cycles)
is loaded inside the test's transaction and rolled back afterwards.

For each demo login the pages are found as a person finds them: by following the links of each page
breadth-first from the home page with the Django test client (GET only, no form is sent; downloads, the API,
the admin and the customers' token links are left out), at most PER_NAME URLs of one URL name and at most
LIMIT pages per role, so the benchmark does not depend on any page's markup beyond its <a href> links.
Each page found is then requested RUNS times after the crawl's request (the warm-up): the wall time of
client.get (the whole server side: middleware, view, queries, template; no network) and, beside it, this
process's CPU time (with SQLite, in process, that excludes only other processes' turns on a shared machine;
with PostgreSQL it leaves out the database server's work). The queries are counted on every timed request
(CaptureQueriesContext); a page whose count changes from one request to the next is flagged.

Per (role, URL name) the table shows the slowest of its URLs: median and p95 (interpolated over RUNS
samples) in ms, and the queries of each URL of the name (a count that differs between the URLs of one name
suggests queries growing with the data). Goal: median ≤ MEDIAN_GOAL_MS for every page ("ok"/"MISS").
It asserts nothing about time; it fails if any page answers 500.

The 500-agent cascade tree (goal ≤ 300 ms) is timed by test_goals_bench.py ("cascade tree page, department D1").
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import statistics
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urldefrag, urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve

from scorecard.models import Person

AGENTS, DAYS = 150, 91
RUNS = 5  # timed requests per page, after the crawl's request (the warm-up)
PER_NAME = 3  # URLs of one URL name to open: their links are alike
LIMIT = 300  # pages opened at most per role
MEDIAN_GOAL_MS = 150
SLOWEST = 5  # pages named in the summaries
# BENCH_PAGES_PROFILE=3 also prints a cProfile of the 3 slowest pages (distinct role and URL name).
PROFILE = int(os.environ.get("BENCH_PAGES_PROFILE") or 0)
PROJECT_CODE = r"^(?!.*[/\\]\.venv[/\\]).*[/\\](scorecard|goals|reviews)[/\\]"
ROLES = {
    "E1001": "agent",
    "E0100": "team manager",
    "E0010": "department manager",
    "E0002": "HR",
    "E0001": "director",
}

HREF = re.compile(r'<a\b[^>]*\bhref\s*=\s*["\']([^"\'#][^"\']*)["\']', re.I)
# Not pages: the API and its docs, the admin, static files, language switch, downloads, the customers'
# token links, the to-do counter (a fragment fetched by script).
SKIP = re.compile(r"^/(api|admin|static|media|i18n)/|/pdf/|/download/|\.svg$|\.csv$|/feedback/t/|^/todo/count/")
NOT_FOLLOWED = {"logout", "set_language"}


@dataclass
class Page:
    role: str
    name: str
    path: str
    wall: list[float] = field(default_factory=list)  # seconds
    cpu: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.wall) * 1000

    @property
    def p95_ms(self) -> float:
        return _p95(self.wall) * 1000

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000

    @property
    def query_count(self) -> int:
        return self.queries[-1]

    @property
    def steady(self) -> bool:
        """Tell whether every timed request made the same number of queries."""
        return len(set(self.queries)) == 1


@dataclass
class Crawl:
    pages: list[tuple[str, str]] = field(default_factory=list)  # (URL name, path) of the HTML pages answering 200
    statuses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # "404" → paths
    errors: list[str] = field(default_factory=list)  # 500s, with their exception
    links_to_nowhere: list[str] = field(default_factory=list)
    opened: int = 0
    other: int = 0  # answered 200 with something else than HTML


def _p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def _error(path: str, response) -> str:
    exc = getattr(response, "exc_info", None)
    return f"{path} answered {response.status_code}" + (f": {exc[0].__name__}: {exc[1]}" if exc else "")


def crawl(client: Client) -> Crawl:
    """Follow the links breadth-first from the home page; the request of each page is its warm-up."""
    result = Crawl()
    seen = {"/"}
    per_name: dict[str, int] = defaultdict(int, {"home": 1})
    queue = deque([("home", "/")])
    while queue and result.opened < LIMIT:
        name, path = queue.popleft()
        result.opened += 1
        response = client.get(path)
        if response.status_code >= 500:
            result.errors.append(_error(path, response))
            continue
        if response.status_code != 200:
            result.statuses[str(response.status_code)].append(path)
            continue
        if "text/html" not in response.get("Content-Type", ""):
            result.other += 1
            continue
        result.pages.append((name, path))
        for href in HREF.findall(response.content.decode(errors="replace")):
            href = urldefrag(unescape(href))[0]
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
                continue  # another site, mailto:, javascript:, or not a page
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target in seen:
                continue
            seen.add(target)
            try:
                target_name = resolve(parts.path).url_name or parts.path
            except Resolver404:
                result.links_to_nowhere.append(f"{path} → {target}")
                continue
            if target_name in NOT_FOLLOWED or per_name[target_name] >= PER_NAME:
                continue
            per_name[target_name] += 1
            queue.append((target_name, target))
    return result


def time_page(client: Client, role: str, name: str, path: str, errors: list[str]) -> Page | None:
    page = Page(role, name, path)
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            cpu_started, started = time.process_time(), time.perf_counter()
            response = client.get(path)
            page.wall.append(time.perf_counter() - started)
            page.cpu.append(time.process_time() - cpu_started)
        page.queries.append(len(captured))
        if response.status_code >= 500:
            errors.append(_error(path, response))
            return None
    return page


def profile_page(client: Client, page: Page) -> list[str]:
    """Request the page once more under cProfile; return the project's functions by cumulative time, then
    every function by its own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(page.path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(f"\n  Profile of {page.role} {page.name} {page.path} "
              f"({page.median_ms:.0f} ms, {page.query_count} queries)\n")
    stats.sort_stats("cumulative").print_stats(PROJECT_CODE, 18)
    stats.sort_stats("tottime").print_stats(15)
    return [line for line in out.getvalue().splitlines() if line.strip()]


def _ok(good: bool) -> str:
    return "ok" if good else "MISS"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _by_name(pages: list[Page], *, with_role: bool = False) -> dict[str, list[Page]]:
    grouped: dict[str, list[Page]] = defaultdict(list)
    for page in pages:
        grouped[f"{page.role} {page.name}" if with_role else page.name].append(page)
    return grouped


def _role_table(role: str, login: str, pages: list[Page], found: Crawl, seconds: float) -> list[str]:
    lines = [
        "",
        f"  {role} ({login}): {found.opened} pages opened by links, {len(pages)} HTML pages of "
        f"{len(_by_name(pages))} URL names timed ×{RUNS} in {seconds:.0f} s",
        f"  {'URL name':<28}{'URLs':>5}{'median':>8}{'p95':>8}{'CPU':>7}  {'queries':<14}{'goal':<6}slowest URL",
    ]
    for name, group in sorted(_by_name(pages).items(), key=lambda item: -max(p.median_ms for p in item[1])):
        slowest = max(group, key=lambda p: p.median_ms)
        counts = sorted({p.query_count for p in group})
        queries = "/".join(str(c) for c in counts) + ("" if len(counts) == 1 else " ≠") \
            + ("" if all(p.steady for p in group) else " ~")
        lines.append(
            f"  {_cut(name, 27):<28}{len(group):>5}{slowest.median_ms:>8.0f}{slowest.p95_ms:>8.0f}"
            f"{slowest.cpu_ms:>7.0f}  {queries:<14}{_ok(slowest.median_ms <= MEDIAN_GOAL_MS):<6}"
            f"{_cut(slowest.path, 60)}"
        )
    lines += _summary(role, pages, found)
    return lines


def _summary(label: str, pages: list[Page], found: Crawl | None = None) -> list[str]:
    overall = found is None
    misses = [p for p in pages if p.median_ms > MEDIAN_GOAL_MS]
    cpu_misses = [p for p in pages if p.cpu_ms > MEDIAN_GOAL_MS]
    miss_names = sorted({p.name for p in misses})
    varying = sorted(name for name, group in _by_name(pages, with_role=overall).items()
                     if len({p.query_count for p in group}) > 1)
    unsteady = sorted({f"{p.role} {p.name}" if overall else p.name for p in pages if not p.steady})
    slowest = sorted(pages, key=lambda p: -p.median_ms)[:SLOWEST]
    medians = [p.median_ms for p in pages]
    lines = [
        f"  ▸ {label}: {len(pages)} pages, median of medians {statistics.median(medians):.0f} ms, "
        f"worst {max(medians):.0f} ms; {len(misses)} pages over {MEDIAN_GOAL_MS} ms "
        f"({len(miss_names)} URL names{': ' + ', '.join(miss_names) if miss_names else ''}) "
        f"{_ok(not misses)}; by this process's CPU time alone {len(cpu_misses)} over "
        f"({', '.join(sorted({p.name for p in cpu_misses})) or 'none'})",
        "    slowest: " + "; ".join(
            f"{(p.role + ' ') if overall else ''}{p.name} {p.median_ms:.0f} ms (CPU {p.cpu_ms:.0f})/{p.query_count} q"
            for p in slowest
        ),
        f"    queries differ between URLs of one name (≠): {', '.join(varying) or 'none'}"
        + (f"; between requests of one URL (~): {', '.join(unsteady)}" if unsteady else ""),
    ]
    if found is not None:
        statuses = "; ".join(f"{status}: {len(paths)} ({_cut(', '.join(paths[:3]), 90)})"
                             for status, paths in sorted(found.statuses.items()))
        if statuses or found.other or found.links_to_nowhere:
            lines.append(f"    links answering other than 200: {statuses or 'none'}; non-HTML pages: {found.other}; "
                         f"links to no URL: {len(found.links_to_nowhere)} {found.links_to_nowhere[:3] or ''}")
    return lines


@pytest.mark.django_db
def test_pages_bench():
    assert not Person.objects.filter(employee_code__in=ROLES).exists(), \
        "the bench database already holds a center: run this file before test_scale.py leaves its own"
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    call_command("load_demo", agents=AGENTS, days=DAYS, verbosity=0)
    load_seconds = time.perf_counter() - started

    everything: list[Page] = []
    errors: list[str] = []
    clients: dict[str, Client] = {}
    lines = [
        "",
        f"Pages benchmark — {connection.vendor}; demo of {AGENTS} agents, {DAYS} days, loaded in {load_seconds:.0f} s; "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} at the start",
        f"  Per URL name, its slowest URL: median and p95 of {RUNS} requests after a warm-up (wall ms, the test "
        f"client's whole server side), CPU = this process's CPU ms (median); queries per URL of the name "
        f"(≠ differ between URLs, ~ differ between requests). Goal: median ≤ {MEDIAN_GOAL_MS} ms.",
    ]
    for login, role in ROLES.items():
        client = Client(raise_request_exception=False)
        client.force_login(Person.objects.get(employee_code=login))
        clients[role] = client
        role_started = time.perf_counter()
        found = crawl(client)
        errors += [f"{role}: {e}" for e in found.errors]
        pages = [page for name, path in found.pages
                 if (page := time_page(client, role, name, path, errors)) is not None]
        assert pages, f"{role}: no page found from the home page"
        everything += pages
        lines += _role_table(role, login, pages, found, time.perf_counter() - role_started)

    lines += ["", f"  Overall ({len(ROLES)} roles):"] + _summary("all roles", everything)
    lines += [
        f"    load average at the end {os.getloadavg()[0]:.1f} (figures are wall times on a shared machine)",
        "  The 500-agent cascade tree (goal ≤ 300 ms) is in test_goals_bench.py's printout.",
        "",
    ]
    profiled: set[tuple[str, str]] = set()
    for page in sorted(everything, key=lambda p: -p.median_ms):
        if len(profiled) >= PROFILE:
            break
        if (page.role, page.name) not in profiled:
            profiled.add((page.role, page.name))
            lines += profile_page(clients[page.role], page)
    print("\n".join(lines))
    assert not errors, "pages answering 500:\n" + "\n".join(errors)
