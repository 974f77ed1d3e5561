"""Read use cases: who may see what, and the scorecard of any subject."""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass

from django.db import connection
from django.db.models import DateField, Func, Prefetch, QuerySet, Sum
from django.http import Http404

from .calculations import (
    Formula,
    KpiSpec,
    Override,
    PerspectiveSpec,
    ScorecardResult,
    Thresholds,
    build_scorecard,
    kpi_value,
)
from django.utils.translation import get_language

from .access import scope_for
from .models import CacheVersion, Kpi, KpiTerm, Measurement, OrgUnit, Person, Perspective

# ---------------------------------------------------------------- visibility
# The one rule lives in scorecard.access (Scope); these are its querysets and
# object checks under the names the apps call.


def units_visible(user) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(scope_for(user).units_q())


def people_visible(user) -> QuerySet[Person]:
    return Person.objects.select_related("unit", "manager").filter(scope_for(user).people_q())


def unit_visible(user, unit: OrgUnit) -> bool:
    return scope_for(user).sees_unit(unit)


def person_visible(user, person: Person) -> bool:
    return scope_for(user).sees_person(person)


def home_subject_code(user) -> str | None:
    """The scorecard a user lands on: the center, their unit, or their own."""
    scope = scope_for(user)
    if scope.is_all:
        root = OrgUnit.objects.filter(parent__isnull=True).only("code").first()
        return root.code if root else None
    if scope.sees_units:
        return user.unit.code
    return user.employee_code


# ------------------------------------------------------------------ subjects


@dataclass
class Subject:
    """What a scorecard is about: a person, or an org unit with its subtree."""

    obj: OrgUnit | Person
    unit_ids: list[int] | None = None  # the subtree, for a unit; None for the root (everything)

    @property
    def is_unit(self) -> bool:
        return isinstance(self.obj, OrgUnit)

    @property
    def code(self) -> str:
        return self.obj.code

    @property
    def name(self) -> str:
        return self.obj.name

    def filter_rows(self, qs: QuerySet[Measurement]) -> QuerySet[Measurement]:
        if not self.is_unit:
            return qs.filter(person_id=self.obj.pk)
        if self.unit_ids is None:
            return qs
        return qs.filter(unit_id__in=self.unit_ids)


def subject_for_unit(unit: OrgUnit) -> Subject:
    if unit.parent_id is None:
        # The single root holds every row: no filter, no IN list.
        return Subject(unit, None)
    ids = list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("pk", flat=True))
    return Subject(unit, ids)


# Subjects resolved by code, per process, for the current org token
# (CacheVersion.org): a scorecard then resolves its subject with one tiny
# query. Entries are copied out, so callers never share an instance.
_SUBJECT_CACHE: dict[str, Subject] = {}
_SUBJECT_CACHE_TOKEN: list[int] = [0]
_SUBJECT_CACHE_SIZE = 5000


def _subject_lookup(code: str) -> Subject | None:
    token = CacheVersion.tokens()[1]
    if _SUBJECT_CACHE_TOKEN[0] != token:
        _SUBJECT_CACHE.clear()
        _SUBJECT_CACHE_TOKEN[0] = token
    cached = _SUBJECT_CACHE.get(code)
    if cached is None:
        unit = OrgUnit.objects.select_related("parent").filter(code=code).first()
        if unit is not None:
            cached = subject_for_unit(unit)
        else:
            person = Person.objects.select_related("unit", "manager").filter(employee_code=code).first()
            if person is None:
                return None  # unknown codes are not cached: probing cannot fill memory
            cached = Subject(person)
        if len(_SUBJECT_CACHE) >= _SUBJECT_CACHE_SIZE:
            _SUBJECT_CACHE.clear()
        _SUBJECT_CACHE[code] = cached
    return Subject(copy.copy(cached.obj), cached.unit_ids)


def subject_get(user, code: str) -> Subject:
    """Resolve an employee or org-unit code the user may see; 404 otherwise, so codes cannot be probed."""
    subject = _subject_lookup(code)
    if subject is None:
        raise Http404
    if not scope_for(user).sees_owner(subject.obj):
        raise Http404
    return subject


# ------------------------------------------------------------------- library


@dataclass(frozen=True)
class Library:
    perspectives: tuple[PerspectiveSpec, ...]
    measure_codes: dict[int, str]  # measure id → code, for the measures any KPI uses

    def codes(self, sums_by_id: dict[int, float]) -> dict[str, float]:
        return {self.measure_codes[m]: v for m, v in sums_by_id.items() if m in self.measure_codes}


_LIBRARY_CACHE: dict[tuple[int, str], Library] = {}


def library_load() -> Library:
    """Return perspectives, KPIs and their formulas: 1 query when cached, 4 when the library changed."""
    key = (CacheVersion.tokens()[0], get_language() or "")
    library = _LIBRARY_CACHE.get(key)
    if library is None:
        library = _library_query()
        for stale in [k for k in _LIBRARY_CACHE if k[0] != key[0]]:
            del _LIBRARY_CACHE[stale]  # only the current version matters
        _LIBRARY_CACHE[key] = library
    return library


def _library_query() -> Library:
    terms = KpiTerm.objects.select_related("measure").order_by("id")
    kpis = Kpi.objects.order_by("order", "code").prefetch_related(Prefetch("terms", queryset=terms))
    perspectives = Perspective.objects.prefetch_related(Prefetch("kpis", queryset=kpis))
    library = []
    measure_codes = {}
    for p in perspectives:
        specs = []
        for k in p.kpis.all():
            for t in k.terms.all():
                measure_codes[t.measure_id] = t.measure.code
            numerator = tuple(t.measure.code for t in k.terms.all() if t.part == KpiTerm.Part.NUMERATOR)
            denominator = tuple(t.measure.code for t in k.terms.all() if t.part == KpiTerm.Part.DENOMINATOR)
            specs.append(
                KpiSpec(
                    code=k.code,
                    label=k.label,
                    unit=k.unit,
                    perspective=p.code,
                    weight=k.weight,
                    formula=Formula(k.factor, numerator, denominator),
                    thresholds=Thresholds(k.baseline, k.typical, k.excellent),
                    min_sample=k.min_sample,
                )
            )
        library.append(PerspectiveSpec(p.code, p.label, p.weight, tuple(specs)))
    return Library(tuple(library), measure_codes)


# ------------------------------------------------------------------- scoring


def _subject_where(subject: Subject, start: dt.date, end: dt.date) -> tuple[str, list]:
    """The WHERE clause (and its parameters) of a subject's measurement rows in [start, end]: a person's own
    rows, a unit's subtree's, or every row for the root."""
    ops = connection.ops
    params: list = [ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)]
    where = "date BETWEEN %s AND %s"
    if not subject.is_unit:
        where += " AND person_id = %s"
        params.append(subject.obj.pk)
    elif subject.unit_ids is not None:
        where += f" AND unit_id IN ({', '.join(['%s'] * len(subject.unit_ids))})"
        params.extend(subject.unit_ids)
    return where, params


def measure_sums(subject: Subject, start: dt.date, end: dt.date) -> dict[int, float]:
    """Sum each measure over the subject's rows in [start, end] (1 query), by measure id.

    A measure with no row in the range is absent from the result: no data.
    Grouped by the id, not the code, so the query joins nothing.
    """
    # Raw SQL: on the hot path, the ORM's query building cost more than the
    # query itself for one agent's quarter (see tests/bench).
    where, params = _subject_where(subject, start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT measure_id, SUM(value) FROM {Measurement._meta.db_table} WHERE {where} GROUP BY measure_id",
            params,
        )
        return dict(cursor.fetchall())


# Functions (kind "unit" | "person", owner ids, start, end) → {owner id: {kpi code:
# thresholds}}: objective-specific thresholds that override the library's
# (METRICS.md). The goals app registers one; the core does not import it.
# A provider's value is either plain Thresholds, or an object with a
# `thresholds` attribute and, optionally, `label` and `url` (what replaced the
# library's thresholds, and where the reader can see it: calculations.Override).
OVERRIDE_PROVIDERS: list = []


def _as_override(value) -> Override:
    if isinstance(value, Override):
        return value
    if isinstance(value, Thresholds):
        return Override(value)
    return Override(value.thresholds, str(getattr(value, "label", "") or ""), str(getattr(value, "url", "") or ""))


def threshold_overrides(kind: str, ids: list[int], start: dt.date, end: dt.date) -> dict[int, dict[str, Override]]:
    """Every provider's overrides for these owners, per owner id and KPI code (one query per provider)."""
    merged: dict[int, dict[str, Override]] = {}
    if not ids:
        return merged
    for provider in OVERRIDE_PROVIDERS:
        for owner, thresholds in provider(kind, ids, start, end).items():
            bucket = merged.setdefault(owner, {})
            for code, value in thresholds.items():
                bucket[code] = _as_override(value)
    return merged


def scorecard_for_subject(
    subject: Subject,
    start: dt.date,
    end: dt.date,
    *,
    library: Library | None = None,
    overrides: dict[str, Thresholds | Override] | None = None,
) -> ScorecardResult:
    """Score a subject; `overrides` default to the thresholds of the subject's objectives in force."""
    library = library if library is not None else library_load()
    if overrides is None:
        kind = "unit" if subject.is_unit else "person"
        overrides = threshold_overrides(kind, [subject.obj.pk], start, end).get(subject.obj.pk, {})
    sums = library.codes(measure_sums(subject, start, end))
    return build_scorecard(library.perspectives, sums, overrides)


def daily_sums(subject: Subject, start: dt.date, end: dt.date) -> dict[dt.date, dict[int, float]]:
    """Sum each measure per day over the subject's rows in [start, end] (1 query): {day: {measure id: total}}.

    What a scorecard page needs twice, read once: the period's totals and the
    weekly trend are both sums of these daily sums (measures are additive,
    METRICS.md). For the root unit the query reads the covering index
    measurement_date_sum in its own order, with no sort.
    """
    where, params = _subject_where(subject, start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT date, measure_id, SUM(value) FROM {Measurement._meta.db_table} WHERE {where} "
            "GROUP BY date, measure_id",
            params,
        )
        rows = cursor.fetchall()
    days: dict = {}
    for day, measure_id, total in rows:
        days.setdefault(day, {})[measure_id] = total
    # SQLite hands raw dates back as text: parse each distinct day once.
    return {d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10]): v for d, v in days.items()}


def _add_up(parts) -> dict[int, float]:
    """Per measure, the exact (math.fsum) sum of some daily sums; a measure with no row stays absent."""
    collected: dict[int, list[float]] = {}
    for sums in parts:
        for measure_id, total in sums.items():
            collected.setdefault(measure_id, []).append(total)
    return {m: math.fsum(totals) for m, totals in collected.items()}


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _weeks(start: dt.date, end: dt.date) -> list[dt.date]:
    """The Mondays of the ISO weeks that [start, end] touches."""
    weeks = []
    day = week_start(start)
    while day <= end:
        weeks.append(day)
        day += dt.timedelta(days=7)
    return weeks


def _weekly_series(
    days: dict[dt.date, dict[int, float]], start: dt.date, end: dt.date, library: Library
) -> tuple[list[dt.date], dict[str, list[float | None]]]:
    by_week: dict[dt.date, list[dict[int, float]]] = {}
    for day, sums in days.items():
        by_week.setdefault(week_start(day), []).append(sums)
    weeks = _weeks(start, end)
    week_sums = {w: library.codes(_add_up(by_week[w])) for w in weeks if w in by_week}
    series = {}
    for p in library.perspectives:
        for spec in p.kpis:
            series[spec.code] = [kpi_value(week_sums.get(w, {}), spec.formula) for w in weeks]
    return weeks, series


def scorecard_with_trend(
    subject: Subject,
    start: dt.date,
    end: dt.date,
    *,
    library: Library | None = None,
    overrides: dict[str, Thresholds | Override] | None = None,
) -> tuple[ScorecardResult, list[dt.date], dict[str, list[float | None]]]:
    """A subject's scorecard and each KPI's weekly values, from one query (daily_sums).

    The same numbers as scorecard_for_subject and weekly_values: the
    period's sum of a measure is the sum of its daily sums.
    """
    library = library if library is not None else library_load()
    if overrides is None:
        kind = "unit" if subject.is_unit else "person"
        overrides = threshold_overrides(kind, [subject.obj.pk], start, end).get(subject.obj.pk, {})
    days = daily_sums(subject, start, end)
    card = build_scorecard(library.perspectives, library.codes(_add_up(days.values())), overrides)
    weeks, series = _weekly_series(days, start, end, library)
    return card, weeks, series


class WeekStart(Func):
    """The Monday of a date's ISO week, as a date, computed by the database.

    Django's TruncWeek runs a Python function per row on SQLite; SQLite's own
    date modifiers do the same in C ('weekday 0' moves to the coming Sunday, or
    stays on a Sunday; six days back is that week's Monday).
    """

    output_field = DateField()

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="CAST(DATE_TRUNC('week', %(expressions)s) AS date)", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="date(%(expressions)s, 'weekday 0', '-6 days')", **extra)


def weekly_values(
    subject: Subject, start: dt.date, end: dt.date, library: Library
) -> tuple[list[dt.date], dict[str, list[float | None]]]:
    """Each KPI's value per ISO week (Monday) within [start, end] (1 query: daily_sums, added up by week)."""
    return _weekly_series(daily_sums(subject, start, end), start, end, library)


# ------------------------------------------------------------------- ranking
# A league table of a unit's whole subtree: the units directly below, every
# team (the units with no unit below them), or every agent beneath; ranked by
# the overall score, a perspective's score or a KPI's.

LEVEL_UNITS, LEVEL_TEAMS, LEVEL_AGENTS = "units", "teams", "agents"
SORT_OVERALL = "overall"


@dataclass
class RankedMember:
    obj: OrgUnit | Person
    scorecard: ScorecardResult
    rank: int | None = None


@dataclass
class Ranking:
    unit: OrgUnit
    kind: str  # the level ranked: LEVEL_UNITS, LEVEL_TEAMS or LEVEL_AGENTS
    levels: list[str]  # the levels this unit offers
    sort: str  # SORT_OVERALL, a perspective code or a KPI code
    sort_kind: str  # "overall", "perspective" or "kpi"
    members: list[RankedMember]
    library: Library
    subtree_ids: list[int]  # the unit and every unit beneath it

    @property
    def kpi(self) -> KpiSpec | None:
        """The KPI ranked on, when the table is sorted by one."""
        if self.sort_kind != "kpi":
            return None
        return next(k for p in self.library.perspectives for k in p.kpis if k.code == self.sort)


def ranking_levels(unit: OrgUnit, subtree: list[OrgUnit]) -> list[str]:
    """The levels a unit can be ranked at: units below and teams only where it has units below."""
    children = [u for u in subtree if u.parent_id == unit.pk]
    if not children:
        return [LEVEL_AGENTS]
    parents = {u.parent_id for u in subtree}
    if any(c.pk in parents for c in children):  # some unit two levels down: teams differ from children
        return [LEVEL_UNITS, LEVEL_TEAMS, LEVEL_AGENTS]
    return [LEVEL_UNITS, LEVEL_AGENTS]


def _sort_kind(library: Library, sort: str) -> str:
    if sort in {p.code for p in library.perspectives}:
        return "perspective"
    if sort in {k.code for p in library.perspectives for k in p.kpis}:
        return "kpi"
    return "overall"


def _rank_key(member: RankedMember, sort_kind: str, sort: str) -> tuple | None:
    """What a member is ranked on, better first when sorted ascending; None when it has no score."""
    card = member.scorecard
    if sort_kind == "overall":
        return None if card.overall_score is None else (-card.overall_score,)
    if sort_kind == "perspective":
        score = next(p.score for p in card.perspectives if p.code == sort)
        return None if score is None else (-score,)
    k = card.kpi(sort)
    if k is None or k.score is None:
        return None
    # Equal scores (two values beyond excellent both score 100) are told apart by the value, in the KPI's direction.
    return (-k.score, -k.value if k.thresholds.higher_is_better else k.value)


def league_table(
    unit: OrgUnit,
    start: dt.date,
    end: dt.date,
    *,
    level: str | None = None,
    sort: str = SORT_OVERALL,
    library: Library | None = None,
) -> Ranking:
    """Rank the members of a unit's subtree at `level` by `sort`; members without a score come last, unranked.

    `level` defaults to the units directly below, or the agents for a unit
    with none; an unknown level or sort falls back to the default. Equal
    keys share a rank (1, 2, 2, 4). Queries, whatever the subtree's size:
    library version (1), subtree (1), agents (1, at the agents level), one
    grouped sum (1) and the objective thresholds (1 per override provider).
    """
    library = library if library is not None else library_load()
    subtree = list(OrgUnit.objects.filter(path__startswith=unit.path).order_by("code"))
    levels = ranking_levels(unit, subtree)
    kind = level if level in levels else levels[0]
    base = Measurement.objects.filter(date__range=(start, end))
    sums: dict[int, dict[str, float]]
    if kind == LEVEL_AGENTS:
        unit_ids = [u.pk for u in subtree]
        members = list(
            Person.objects.select_related("unit")
            .filter(unit_id__in=unit_ids, role=Person.Role.AGENT, is_active=True)
            .order_by("employee_code")
        )
        # A person's figures are theirs wherever they sat (METRICS.md): rows by person, not by unit.
        # For the root, every person's rows (no list of ids to send); people who are not ranked are
        # dropped below.
        rows = base.filter(person_id__isnull=False) if unit.parent_id is None else base.filter(
            person_id__in=[m.pk for m in members]
        )
        rows = rows.values("person_id", "measure_id").annotate(total=Sum("value")).order_by()
        sums = {m.pk: {} for m in members}
        for r in rows:
            code = library.measure_codes.get(r["measure_id"])
            if code and r["person_id"] in sums:
                sums[r["person_id"]][code] = r["total"]
    else:
        if kind == LEVEL_UNITS:
            members = [u for u in subtree if u.parent_id == unit.pk]
        else:
            parents = {u.parent_id for u in subtree}
            members = [u for u in subtree if u.pk not in parents and u.pk != unit.pk]
        # Each unit of the subtree counts toward the member whose path holds it.
        by_path = sorted(members, key=lambda m: len(m.path), reverse=True)
        owner = {}
        for u in subtree:
            holder = next((m for m in by_path if u.path.startswith(m.path)), None)
            if holder is not None:
                owner[u.pk] = holder.pk
        rows = (
            base.filter(unit_id__in=list(owner))
            .values("unit_id", "measure_id")
            .annotate(total=Sum("value"))
            .order_by()
        )
        sums = {m.pk: {} for m in members}
        for r in rows:
            code = library.measure_codes.get(r["measure_id"])
            if code:
                bucket = sums[owner[r["unit_id"]]]
                bucket[code] = bucket.get(code, 0.0) + r["total"]
    overrides = threshold_overrides("person" if kind == LEVEL_AGENTS else "unit", [m.pk for m in members], start, end)
    ranked = [RankedMember(m, build_scorecard(library.perspectives, sums[m.pk], overrides.get(m.pk))) for m in members]
    sort_kind = _sort_kind(library, sort)
    sort = sort if sort_kind != "overall" else SORT_OVERALL
    keys = {id(m): _rank_key(m, sort_kind, sort) for m in ranked}
    ranked.sort(key=lambda m: (keys[id(m)] is None, keys[id(m)] or (), m.obj.code))
    previous = None
    for position, member in enumerate(ranked, start=1):
        key = keys[id(member)]
        if key is None:
            break
        member.rank = previous.rank if previous is not None and keys[id(previous)] == key else position
        previous = member
    return Ranking(unit, kind, levels, sort, sort_kind, ranked, library, [u.pk for u in subtree])


def ranking_for_unit(
    unit: OrgUnit, start: dt.date, end: dt.date, *, level: str | None = None, sort: str = SORT_OVERALL
) -> tuple[str, list[RankedMember]]:
    """Rank a unit's members (league_table); returns (level, members)."""
    table = league_table(unit, start, end, level=level, sort=sort)
    return table.kind, table.members


# ---------------------------------------------------------- team standing


@dataclass
class KpiStanding:
    team_value: float | None  # the KPI's value for the agent's team (its whole subtree)
    rank: int | None  # the agent's rank among the team's agents on this KPI's score
    ranked: int  # how many of the team's agents have a score on this KPI


def team_standing(
    person: Person, start: dt.date, end: dt.date, *, library: Library | None = None
) -> dict[str, KpiStanding]:
    """For each KPI, the value of the agent's team and the agent's rank among its agents.

    Empty for someone in no unit. Queries: the team's league table (subtree,
    agents, grouped sums, thresholds; the library version too unless given)
    and the team's sums (1).
    """
    if not person.unit_id:
        return {}
    team = person.unit
    table = league_table(team, start, end, level=LEVEL_AGENTS, library=library)
    unit_ids = None if team.parent_id is None else table.subtree_ids
    team_sums = table.library.codes(measure_sums(Subject(team, unit_ids), start, end))
    standing = {}
    for p in table.library.perspectives:
        for spec in p.kpis:
            value = kpi_value(team_sums, spec.formula)
            keyed = [(m, _rank_key(m, "kpi", spec.code)) for m in table.members]
            keyed = sorted([(m, key) for m, key in keyed if key is not None], key=lambda mk: mk[1])
            rank = None
            for position, (m, key) in enumerate(keyed, start=1):
                if m.obj.pk == person.pk:
                    rank = next(i for i, (_m, k) in enumerate(keyed, start=1) if k == key)
                    break
            standing[spec.code] = KpiStanding(value, rank, len(keyed))
    return standing
