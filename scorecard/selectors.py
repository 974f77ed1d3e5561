"""Read use cases: who may see what, and the scorecard of any subject."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import DateField, Func, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from .calculations import (
    Formula,
    KpiSpec,
    PerspectiveSpec,
    ScorecardResult,
    Thresholds,
    build_scorecard,
    kpi_value,
)
from django.utils.translation import get_language

from .models import CacheVersion, Kpi, KpiTerm, Measurement, OrgUnit, Person, Perspective

# ---------------------------------------------------------------- visibility
# The one rule: an agent sees themself; a manager sees their unit's subtree
# (units and the people in them); HR, directors and superusers see the center.


def units_visible(user) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.sees_whole_center:
        return qs
    if user.role == Person.Role.MANAGER and user.unit_id:
        return qs.filter(path__startswith=user.unit.path)
    return qs.none()


def people_visible(user) -> QuerySet[Person]:
    qs = Person.objects.select_related("unit", "manager")
    if not user.is_authenticated:
        return qs.none()
    if user.sees_whole_center:
        return qs
    if user.role == Person.Role.MANAGER and user.unit_id:
        return qs.filter(Q(pk=user.pk) | Q(unit__path__startswith=user.unit.path))
    return qs.filter(pk=user.pk)


def unit_visible(user, unit: OrgUnit) -> bool:
    if not user.is_authenticated:
        return False
    if user.sees_whole_center:
        return True
    return bool(
        user.role == Person.Role.MANAGER and user.unit_id and unit.path.startswith(user.unit.path)
    )


def person_visible(user, person: Person) -> bool:
    if not user.is_authenticated:
        return False
    if user.sees_whole_center or person.pk == user.pk:
        return True
    return bool(
        user.role == Person.Role.MANAGER
        and user.unit_id
        and person.unit_id
        and person.unit.path.startswith(user.unit.path)
    )


def home_subject_code(user) -> str | None:
    """The scorecard a user lands on: the center, their unit, or their own."""
    if user.sees_whole_center:
        root = OrgUnit.objects.filter(parent__isnull=True).only("code").first()
        return root.code if root else None
    if user.role == Person.Role.MANAGER and user.unit_id:
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
    visible = unit_visible(user, subject.obj) if subject.is_unit else person_visible(user, subject.obj)
    if not visible:
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


def measure_sums(subject: Subject, start: dt.date, end: dt.date) -> dict[int, float]:
    """Sum each measure over the subject's rows in [start, end] (1 query), by measure id.

    A measure with no row in the range is absent from the result: no data.
    Grouped by the id, not the code, so the query joins nothing.
    """
    # Raw SQL: on the hot path, the ORM's query building cost more than the
    # query itself for one agent's quarter (see tests/bench).
    ops = connection.ops
    params: list = [ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)]
    where = "date BETWEEN %s AND %s"
    if not subject.is_unit:
        where += " AND person_id = %s"
        params.append(subject.obj.pk)
    elif subject.unit_ids is not None:
        where += f" AND unit_id IN ({', '.join(['%s'] * len(subject.unit_ids))})"
        params.extend(subject.unit_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT measure_id, SUM(value) FROM {Measurement._meta.db_table} WHERE {where} GROUP BY measure_id",
            params,
        )
        return dict(cursor.fetchall())


# Functions (kind "unit" | "person", owner ids, start, end) → {owner id: {kpi code:
# Thresholds}}: objective-specific thresholds that override the library's
# (METRICS.md). The goals app registers one; the core does not import it.
OVERRIDE_PROVIDERS: list = []


def threshold_overrides(kind: str, ids: list[int], start: dt.date, end: dt.date) -> dict[int, dict[str, Thresholds]]:
    merged: dict[int, dict[str, Thresholds]] = {}
    for provider in OVERRIDE_PROVIDERS:
        for owner, thresholds in provider(kind, ids, start, end).items():
            merged.setdefault(owner, {}).update(thresholds)
    return merged


def scorecard_for_subject(
    subject: Subject,
    start: dt.date,
    end: dt.date,
    *,
    library: Library | None = None,
    overrides: dict[str, Thresholds] | None = None,
) -> ScorecardResult:
    """Score a subject; `overrides` default to the thresholds of the subject's objectives in force."""
    library = library if library is not None else library_load()
    if overrides is None:
        kind = "unit" if subject.is_unit else "person"
        overrides = threshold_overrides(kind, [subject.obj.pk], start, end).get(subject.obj.pk, {})
    sums = library.codes(measure_sums(subject, start, end))
    return build_scorecard(library.perspectives, sums, overrides)


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


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
    """Each KPI's value per ISO week (Monday) within [start, end] (1 query)."""
    rows = (
        subject.filter_rows(Measurement.objects.filter(date__range=(start, end)))
        .annotate(week=WeekStart("date"))
        .values("week", "measure_id")
        .annotate(total=Sum("value"))
        .order_by()
    )
    by_week: dict[dt.date, dict[str, float]] = {}
    for r in rows:
        week = r["week"]
        week = week.date() if isinstance(week, dt.datetime) else week
        code = library.measure_codes.get(r["measure_id"])
        if code:
            by_week.setdefault(week, {})[code] = r["total"]
    weeks = []
    day = week_start(start)
    while day <= end:
        weeks.append(day)
        day += dt.timedelta(days=7)
    series = {}
    for p in library.perspectives:
        for spec in p.kpis:
            series[spec.code] = [kpi_value(by_week.get(w, {}), spec.formula) for w in weeks]
    return weeks, series


# ------------------------------------------------------------------- ranking


@dataclass
class RankedMember:
    obj: OrgUnit | Person
    scorecard: ScorecardResult
    rank: int | None = None


def ranking_for_unit(unit: OrgUnit, start: dt.date, end: dt.date) -> tuple[str, list[RankedMember]]:
    """Rank a unit's child units, or its agents when it has none, by overall score.

    Returns ("units" | "agents", members). A constant number of queries:
    subtree, members, library, and one grouped sum.
    """
    library = library_load()
    subtree = list(OrgUnit.objects.filter(path__startswith=unit.path).only("pk", "path", "parent_id"))
    children = list(OrgUnit.objects.filter(parent=unit).order_by("code"))
    base = Measurement.objects.filter(date__range=(start, end))
    if children:
        kind = "units"
        owner = {}
        for u in subtree:
            for child in children:
                if u.path.startswith(child.path):
                    owner[u.pk] = child.pk
        rows = (
            base.filter(unit_id__in=list(owner))
            .values("unit_id", "measure_id")
            .annotate(total=Sum("value"))
            .order_by()
        )
        sums: dict[int, dict[str, float]] = {c.pk: {} for c in children}
        for r in rows:
            code = library.measure_codes.get(r["measure_id"])
            if code:
                bucket = sums[owner[r["unit_id"]]]
                bucket[code] = bucket.get(code, 0.0) + r["total"]
        members = children
    else:
        kind = "agents"
        members = list(Person.objects.filter(unit=unit, role=Person.Role.AGENT, is_active=True).order_by("employee_code"))
        rows = (
            base.filter(person_id__in=[m.pk for m in members])
            .values("person_id", "measure_id")
            .annotate(total=Sum("value"))
            .order_by()
        )
        sums = {m.pk: {} for m in members}
        for r in rows:
            code = library.measure_codes.get(r["measure_id"])
            if code:
                sums[r["person_id"]][code] = r["total"]
    overrides = threshold_overrides("unit" if kind == "units" else "person", [m.pk for m in members], start, end)
    ranked = [RankedMember(m, build_scorecard(library.perspectives, sums[m.pk], overrides.get(m.pk))) for m in members]
    ranked.sort(key=lambda r: (r.scorecard.overall_score is None, -(r.scorecard.overall_score or 0), r.obj.code))
    for position, member in enumerate(ranked, start=1):
        if member.scorecard.overall_score is not None:
            member.rank = position
    return kind, ranked
