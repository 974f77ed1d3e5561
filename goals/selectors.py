"""Read use cases of objectives: threshold overrides for scorecards, and progress with a forecast.

Reading of the issue's "straight-line forecast to the due date" (kept
reproducible from the raw data): for a ratio KPI, the least-squares line
through the weekly values of the period so far, read at the due date's
week; for a plain-sum KPI (a volume), the total so far extended at the same
daily rate to the due date; for a milestone, the latest check-in's progress
extended at the same rate. A forecast worse than the target (in the KPI's
direction), or a milestone forecast below 100 %, marks the objective at risk —
unless the value so far is already better than the target: an objective
ahead of its target is never "at risk", whatever the trend of the last weeks says.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from scorecard.calculations import Override, Thresholds, kpi_value
from scorecard.models import Kpi, Measurement, OrgUnit
from scorecard.access import scope_for
from scorecard.selectors import Library, library_load, week_start

from .models import Objective

# ------------------------------------------------------------------- visibility
# Objectives follow the scorecard core's rule through their owner: visible
# when the owner (unit or person) is in the user's view; 404 otherwise.


def objectives_visible(user) -> QuerySet[Objective]:
    """Objectives the user may read: their own, their subtree's, all for HR and directors."""
    return Objective.objects.filter(scope_for(user).owner_q())


def owners_line_q(user, prefix: str = "") -> Q | None:
    """The objectives whose owner this user answers for — agrees their proposals, answers their check-ins,
    marks them achieved or missed — as a filter (`prefix` reaches the objective from another model, e.g.
    "objective__"); None when nobody is.

    A manager: the units strictly below theirs and the people in their subtree but themself. HR and directors:
    their direct reports and the units directly below theirs — not the whole center, whose managers do it.
    """
    person, unit = f"{prefix}owner_person", f"{prefix}owner_unit"
    scope = scope_for(user)
    if scope.is_all:
        q = Q(**{f"{person}__manager": user})
        return q | Q(**{f"{unit}__parent_id": user.unit_id}) if user.unit_id else q
    if scope.sees_units:
        return (scope.units_q(f"{unit}__") & ~Q(**{f"{unit}_id": scope.unit_id})) | (
            scope.units_q(f"{person}__unit__") & ~Q(**{person: user})
        )
    return None


def objectives_period_ended(user, today: dt.date | None = None) -> QuerySet[Objective]:
    """Agreed or active objectives whose period has ended, that wait for this user to mark achieved or missed
    (owners_line_q). One query."""
    today = today or timezone.localdate()
    line = owners_line_q(user)
    qs = Objective.objects.filter(status__in=Objective.TO_CLOSE, period_end__lt=today)
    return qs.filter(line) if line is not None else qs.none()


def objective_visible(user, objective: Objective) -> bool:
    return scope_for(user).sees_owner(objective.owner)


def objective_get_for_user(user, pk: int, *related: str) -> Objective:
    """Load an objective with its owner (and `related`), or raise Http404 when it is outside the user's view."""
    objective = (
        Objective.objects.select_related("owner_unit", "owner_person__unit", "kpi", *related).filter(pk=pk).first()
    )
    if objective is None or not objective_visible(user, objective):
        raise Http404
    return objective


# ------------------------------------------------------------ threshold overrides


def objective_overrides(kind: str, ids: list[int], start: dt.date, end: dt.date) -> dict[int, dict[str, Override]]:
    """KPI objectives in force whose period holds [start, end], per owner id: {kpi code: override}.

    One query. Where two objectives of an owner name the same KPI, the one
    with the shorter period wins, then the newer. Each override carries the
    objective's title and page, so the scorecard can say what it is scored against.
    """
    if not ids:
        return {}
    owner_field = "owner_unit_id" if kind == "unit" else "owner_person_id"
    # Raw SQL: this runs on every scorecard, and building the ORM query cost
    # more than running it for one agent (tests/bench).
    ops = connection.ops
    statuses = [str(s) for s in Objective.IN_FORCE]
    sql = (
        f"SELECT o.{owner_field}, k.code, o.baseline, o.target, o.stretch, o.period_start, o.period_end, o.id, o.title "
        f"FROM {Objective._meta.db_table} o JOIN {Kpi._meta.db_table} k ON k.id = o.kpi_id "
        f"WHERE o.{owner_field} IN ({', '.join(['%s'] * len(ids))}) AND o.kind = %s "
        f"AND o.status IN ({', '.join(['%s'] * len(statuses))}) "
        "AND o.period_start <= %s AND o.period_end >= %s "
        "AND o.baseline IS NOT NULL AND o.target IS NOT NULL AND o.stretch IS NOT NULL"
    )
    params = [*ids, str(Objective.Kind.KPI), *statuses, ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [
            (owner, code, b, t, st, _as_date(p_start), _as_date(p_end), pk, title)
            for owner, code, b, t, st, p_start, p_end, pk, title in cursor.fetchall()
        ]
    chosen: dict[tuple[int, str], tuple] = {}
    for owner, code, baseline, target, stretch, p_start, p_end, pk, title in rows:
        rank = ((p_end - p_start).days, -pk)
        if (owner, code) not in chosen or rank < chosen[(owner, code)][0]:
            chosen[(owner, code)] = (rank, Thresholds(baseline, target, stretch), pk, title)
    result: dict[int, dict[str, Override]] = defaultdict(dict)
    for (owner, code), (_rank, thresholds, pk, title) in chosen.items():
        result[owner][code] = Override(thresholds, title, reverse("objective-detail", args=[pk]))
    return dict(result)


def _as_date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


# ------------------------------------------------------------------- progress


@dataclass
class Progress:
    value: float | None  # the KPI's value over the period so far (KPI objectives)
    forecast: float | None  # the value (or milestone %) expected at the due date
    percent: float | None  # how far from baseline to target (KPI), or the milestone's % done
    at_risk: bool
    as_of: dt.date

    @property
    def shown_percent(self) -> float | None:
        """The percent as pages print it: below the baseline reads 0 %, not a negative number."""
        return None if self.percent is None else max(0.0, self.percent)

    @property
    def below_baseline(self) -> bool:
        return self.percent is not None and self.percent < 0


def _least_squares(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    n = len(points)
    if n < 2:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    return slope, my - slope * mx


def forecast_ratio(weekly: list[tuple[dt.date, float]], due: dt.date, current: float | None) -> float | None:
    """Read the least-squares line through (week, value) at the due date's week; the current value with < 2 weeks."""
    line = _least_squares([(w.toordinal(), v) for w, v in weekly])
    if line is None:
        return current
    slope, intercept = line
    return slope * week_start(due).toordinal() + intercept


def forecast_volume(total: float | None, start: dt.date, as_of: dt.date, due: dt.date) -> float | None:
    """Extend a running total at its daily rate so far to the due date."""
    if total is None:
        return None
    elapsed = (as_of - start).days + 1
    return total * ((due - start).days + 1) / elapsed if elapsed > 0 else None


def worse_than(value: float, target: float, higher_is_better: bool) -> bool:
    return value < target if higher_is_better else value > target


def percent_to_target(value: float | None, baseline: float, target: float) -> float | None:
    if value is None or target == baseline:
        return None
    return 100.0 * (value - baseline) / (target - baseline)


def _owner_unit_sets(unit_ids: set[int]) -> dict[int, set[int]]:
    """Each owner unit's subtree ids (1 query for the paths)."""
    if not unit_ids:
        return {}
    owners = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "path"))
    paths = list(OrgUnit.objects.filter(
        Q(*[Q(path__startswith=p) for p in owners.values()], _connector=Q.OR)
    ).values_list("pk", "path"))
    return {owner: {pk for pk, path in paths if path.startswith(owner_path)} for owner, owner_path in owners.items()}


def objectives_progress(objectives: list[Objective], today: dt.date | None = None, library: Library | None = None) -> dict[int, Progress]:
    """Progress, forecast and risk of many objectives in a constant number of queries.

    Per distinct (period start, as-of date) among the KPI objectives (usually
    one: the quarter) a grouped query for unit owners and one for person
    owners, plus the subtree paths of unit owners.
    """
    today = today or timezone.localdate()
    library = library or library_load()
    specs = {spec.code: spec for p in library.perspectives for spec in p.kpis}
    result: dict[int, Progress] = {}
    groups: dict[tuple[dt.date, dt.date], list[Objective]] = defaultdict(list)
    for o in objectives:
        as_of = min(today, o.period_end, o.due_date)
        if o.kind == Objective.Kind.MILESTONE:
            done = o.progress
            forecast = None
            if done is not None and as_of >= o.period_start:
                forecast = min(100.0, forecast_volume(done, o.period_start, as_of, o.due_date) or 0.0)
            result[o.pk] = Progress(None, forecast, done, forecast is not None and forecast < 100, as_of)
        elif o.kpi_id and as_of >= o.period_start:
            groups[(o.period_start, as_of)].append(o)
        else:
            result[o.pk] = Progress(None, None, None, False, as_of)
    unit_sets = _owner_unit_sets({o.owner_unit_id for group in groups.values() for o in group if o.owner_unit_id})
    for (start, as_of), group in groups.items():
        person_ids = sorted({o.owner_person_id for o in group if o.owner_person_id})
        unit_ids = sorted({u for o in group if o.owner_unit_id for u in unit_sets.get(o.owner_unit_id, ())})
        # Only the measures of the group's KPIs: the others would be summed week by week for nothing.
        codes = {c for o in group if (spec := specs.get(o.kpi.code)) for c in spec.formula.measures}
        measure_ids = [pk for pk, code in library.measure_codes.items() if code in codes]
        # Units' sums by unit, people's by person: one query grouped by both would return a row per
        # person of every owner unit's subtree (a department's 500 agents) where a row per unit will do.
        # Grouped by day in the order of the (owner, date, measure) indexes, and the days gathered into
        # weeks here: a week computed per measurement row by the database costs more than the whole scan.
        sums = Measurement.objects.filter(date__range=(start, as_of), measure_id__in=measure_ids)
        queries = []
        if unit_ids:
            queries.append(("unit", sums.filter(unit_id__in=unit_ids).values_list("unit_id", "date", "measure_id")))
        if person_ids:
            queries.append(
                ("person", sums.filter(person_id__in=person_ids).values_list("person_id", "date", "measure_id")))
        # weekly[(owner kind, owner id)][week][measure code] = total
        weekly: dict[tuple[str, int], dict[dt.date, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
        unit_owners: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for owner, members in unit_sets.items():
            for member in members:
                unit_owners[member].append(("unit", owner))
        weeks_of: dict[dt.date, dt.date] = {}
        for by, query in queries:
            # First each unit's (person's) week, then into the buckets of the owners above it.
            by_week: dict[tuple[int, dt.date, int], float] = defaultdict(float)
            for owner_id, day, measure_id, total in query.annotate(total=Sum("value")).order_by():
                week = weeks_of.get(day)
                if week is None:
                    week = weeks_of[day] = week_start(day.date() if isinstance(day, dt.datetime) else day)
                by_week[(owner_id, week, measure_id)] += total
            for (owner_id, week, measure_id), total in by_week.items():
                code = library.measure_codes.get(measure_id)
                if code is None:
                    continue
                for key in (unit_owners.get(owner_id, ()) if by == "unit" else ((by, owner_id),)):
                    bucket = weekly[key][week]
                    bucket[code] = bucket.get(code, 0.0) + total
        for o in group:
            spec = specs.get(o.kpi.code) if o.kpi_id else None
            key = ("unit", o.owner_unit_id) if o.owner_unit_id else ("person", o.owner_person_id)
            weeks = weekly.get(key, {})
            totals: dict[str, float] = {}
            for sums in weeks.values():
                for code, v in sums.items():
                    totals[code] = totals.get(code, 0.0) + v
            if spec is None:
                result[o.pk] = Progress(None, None, None, False, as_of)
                continue
            value = kpi_value(totals, spec.formula)
            if spec.formula.is_ratio:
                series = [(w, kpi_value(s, spec.formula)) for w, s in sorted(weeks.items())]
                forecast = forecast_ratio([(w, v) for w, v in series if v is not None], o.due_date, value)
            else:
                forecast = forecast_volume(value, o.period_start, as_of, o.due_date)
            higher = spec.thresholds.higher_is_better
            # Ahead of target (the value so far better than it) is not at risk, even on a falling trend.
            ahead = value is not None and o.target is not None and worse_than(o.target, value, higher)
            at_risk = bool(
                forecast is not None and o.target is not None and worse_than(forecast, o.target, higher) and not ahead
            )
            percent = percent_to_target(value, o.baseline, o.target) if o.baseline is not None and o.target is not None else None
            result[o.pk] = Progress(value, forecast, percent, at_risk, as_of)
    return result
