"""Cascades, alignment, objective templates and the cascade tree (issue 3): services and selectors.

Cascade. An objective of an org unit is decomposed (分解) onto the level
beneath its owner — the unit's child units, or, for a unit with none, its
agents — or all the way down to agents, each child with the level above as
its parent. Ratio KPIs copy their thresholds (`same`), or take values typed
per child; plain-sum KPIs (volumes) split theirs: `equal`, by `headcount`
(agents in each child's subtree), by `scheduled` minutes over the period
(schedules are loaded ahead: part-time and new agents get a pro-rated
share), by `previous_share` (each child's share of the KPI's numerator in
the previous equivalent period), or `typed`. A milestone cascades its
completion criterion unchanged (`same`).

Re-cascading is idempotent: an owner that already has a (not cancelled)
child of the objective is kept as it is — shown in the preview, not created
again — and, for "all the way to agents", the levels beneath it are planned
from that existing child's values. A second identical cascade creates nothing.

Every read and write here takes a constant number of queries whatever the
number of agents: the subtree, its agents, the existing descendants and one
grouped sum for the shares; the writes are one executemany per level of the
org (SQLite caps a multi-row INSERT at 999 parameters, so bulk_create would
issue one statement per ~40 objectives) plus one SELECT per level for the
new ids, one for the history rows and one for the events.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scorecard.access import scope_for
from scorecard.calculations import KpiSpec, parse_number, thresholds_ordered
from scorecard.models import Kpi, Measure, Measurement, OrgUnit, Person
from scorecard.selectors import Library, library_load

from .models import Objective, ObjectiveEvent, ObjectiveTemplate
from .selectors import Progress, objectives_progress
from .services import can_edit_owner

S = Objective.Status

DEPTH_CHILDREN, DEPTH_AGENTS = "children", "agents"
DEPTHS = {
    DEPTH_CHILDREN: gettext_lazy("Directly beneath (child units, or a team's agents)"),
    DEPTH_AGENTS: gettext_lazy("All the way to agents"),
}
SAME, EQUAL, HEADCOUNT, SCHEDULED, PREVIOUS_SHARE, TYPED = (
    "same", "equal", "headcount", "scheduled", "previous_share", "typed",
)
METHODS = {
    SAME: gettext_lazy("Same target for each child (ratio KPIs, milestones)"),
    EQUAL: gettext_lazy("Split the volume equally"),
    HEADCOUNT: gettext_lazy("Split the volume by headcount"),
    SCHEDULED: gettext_lazy("Split the volume by scheduled time"),
    PREVIOUS_SHARE: gettext_lazy("Split the volume by share in the previous period"),
    TYPED: gettext_lazy("Type the values per child"),
}
SPLITS = (EQUAL, HEADCOUNT, SCHEDULED, PREVIOUS_SHARE)

# Error messages (tests assert on them).
NOT_EDITOR = gettext_lazy("You may not set objectives for %(owner)s: a manager sets them within their own subtree.")
PERSON_OWNER = gettext_lazy("An objective of a person has nothing beneath it to cascade onto.")
NOTHING_BENEATH = gettext_lazy("%(owner)s has no child units and no agents to cascade onto.")
DEPTH_UNKNOWN = gettext_lazy("Choose “directly beneath” or “all the way to agents”.")
METHOD_UNKNOWN = gettext_lazy("Choose a cascade method.")
SAME_FOR_VOLUME = gettext_lazy(
    "%(kpi)s is a volume (a plain sum): copying its target to every child would multiply it. "
    "Split it (equally, by headcount, by scheduled time, by previous share) or type the values."
)
SPLIT_FOR_RATIO = gettext_lazy(
    "%(kpi)s is a ratio: it cannot be split between children. Give each child the same target, or type the values."
)
MILESTONE_SAME_ONLY = gettext_lazy("A milestone objective cascades with the same completion criterion: choose “same”.")
NO_KPI = gettext_lazy("This objective names no KPI: only a KPI objective can be split between children.")
NEEDS_VALUES = gettext_lazy("Give the objective a baseline, a target and a stretch value before cascading it.")
TYPED_OUTSIDE = gettext_lazy("Not beneath %(owner)s in this cascade: %(codes)s.")
TYPED_MISSING = gettext_lazy("Type a baseline, target and stretch for every child; missing: %(codes)s.")
TYPED_NOT_NUMBER = gettext_lazy("%(code)s: baseline, target and stretch must be numbers.")
TYPED_NOT_ORDERED_HIGHER = gettext_lazy("%(code)s: higher is better, so baseline < target < stretch is needed.")
TYPED_NOT_ORDERED_LOWER = gettext_lazy("%(code)s: lower is better, so baseline > target > stretch is needed.")
NO_SCHEDULE_AT_ALL = gettext_lazy(
    "Nobody beneath %(owner)s has a schedule in the period (%(start)s – %(end)s): load the schedules, or choose another method."
)
NO_PREVIOUS_AT_ALL = gettext_lazy(
    "Nobody beneath %(owner)s has %(kpi)s data in the previous period (%(start)s – %(end)s): choose another method."
)
WARN_NO_SCHEDULE = gettext_lazy("No schedule in the period: share 0.")
WARN_NO_PREVIOUS = gettext_lazy("No data in the previous period: share 0.")
WARN_NO_AGENTS = gettext_lazy("No agents: share 0.")
WARN_SIBLINGS_EMPTY = gettext_lazy("Nobody at this level has a basis for the split: everyone gets 0.")
WARN_EXISTS = gettext_lazy("Already has a child of this objective: kept as it is, nothing created.")

TEMPLATE_NOT_EDITOR = gettext_lazy("You may not manage templates of %(unit)s: a manager manages them within their own subtree.")
NAME_REQUIRED = gettext_lazy("Give the template a name.")
TITLE_REQUIRED = gettext_lazy("Give the objective a title.")
KIND_UNKNOWN = gettext_lazy("Choose “KPI objective” or “milestone objective”.")
KPI_REQUIRED = gettext_lazy("A KPI objective needs a KPI.")
VALUE_REQUIRED = gettext_lazy("A KPI objective needs a numeric value here.")
NOT_ORDERED_HIGHER = gettext_lazy("Higher is better for this KPI, so baseline < target < stretch is needed.")
NOT_ORDERED_LOWER = gettext_lazy("Lower is better for this KPI, so baseline > target > stretch is needed.")
CRITERION_REQUIRED = gettext_lazy("A milestone objective needs a completion criterion.")
VERIFICATION_REQUIRED = gettext_lazy("A milestone objective must say how completion is verified.")
WEIGHT_RANGE = gettext_lazy("The weight must be between 0 and 100.")
PERIOD_NOT_ORDERED = gettext_lazy("The period must end on or after its start.")
DUE_OUTSIDE_PERIOD = gettext_lazy("The due date must fall inside the period (%(start)s – %(end)s).")
PARENT_NOT_ABOVE = gettext_lazy("The parent objective must belong to %(unit)s or a unit above it.")
NO_AGENTS = gettext_lazy("%(unit)s has no agents to assign the template to.")


# ------------------------------------------------------------------- who may


def _owner_label(owner) -> str:
    return f"{owner.name} ({owner.code})"


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The equivalent period right before [start, end]: as long, ending the day before it starts."""
    length = dt.timedelta(days=(end - start).days + 1)
    return start - length, start - dt.timedelta(days=1)


def _path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def _spec(library: Library, kpi_code: str | None) -> KpiSpec | None:
    if not kpi_code:
        return None
    return next((s for p in library.perspectives for s in p.kpis if s.code == kpi_code), None)


def _measure_ids(library: Library, codes: tuple[str, ...]) -> list[int]:
    return [pk for pk, code in library.measure_codes.items() if code in codes]


# -------------------------------------------------------------------- cascade


@dataclass
class PlannedChild:
    """One child objective of a cascade plan: who owns it, under which plan, with which values."""

    owner: OrgUnit | Person
    parent: PlannedChild | None  # None: directly under the cascaded objective
    level: int  # 1 = directly beneath the objective's owner
    baseline: float | None = None
    target: float | None = None
    stretch: float | None = None
    share: float | None = None  # split methods: the fraction of the level above's values
    warnings: list[str] = field(default_factory=list)
    existing: Objective | None = None  # a child that exists already: kept, not created
    objective: Objective | None = None  # the objective created for it by cascade_apply

    @property
    def owner_kind(self) -> str:
        return "unit" if isinstance(self.owner, OrgUnit) else "person"

    @property
    def owner_code(self) -> str:
        return self.owner.code

    @property
    def parent_code(self) -> str | None:
        return self.parent.owner_code if self.parent else None

    @property
    def key(self) -> tuple[str, int]:
        return (self.owner_kind, self.owner.pk)


@dataclass
class _Org:
    """The subtree beneath an objective's owner, loaded once (2 queries)."""

    root: OrgUnit
    units: dict[int, OrgUnit]
    child_units: dict[int, list[OrgUnit]]
    agents: dict[int, list[Person]]  # unit id → its own agents

    def beneath(self, unit: OrgUnit) -> list[OrgUnit | Person]:
        """A unit's child units, or its agents when it has none."""
        return list(self.child_units.get(unit.pk, ())) or list(self.agents.get(unit.pk, ()))

    def all_agents(self) -> list[Person]:
        return [a for agents in self.agents.values() for a in agents]


def _load_org(root: OrgUnit) -> _Org:
    units = {u.pk: u for u in OrgUnit.objects.filter(path__startswith=root.path).only(
        "pk", "code", "name", "parent_id", "path", "depth")}
    child_units: dict[int, list[OrgUnit]] = defaultdict(list)
    for u in sorted(units.values(), key=lambda u: u.code):
        if u.parent_id in units and u.pk != root.pk:
            child_units[u.parent_id].append(u)
    agents: dict[int, list[Person]] = defaultdict(list)
    people = Person.objects.filter(unit_id__in=list(units), role=Person.Role.AGENT, is_active=True).only(
        "pk", "employee_code", "name", "unit_id").order_by("employee_code")
    for p in people:
        p.unit = units[p.unit_id]  # no query when the pages read p.unit
        agents[p.unit_id].append(p)
    return _Org(root, units, child_units, agents)


def _subtree_sums(org: _Org, rows) -> dict[tuple[str, int], float]:
    """Add grouped (unit_id, person_id, total) rows up to each person and each unit above the row's unit."""
    sums: dict[tuple[str, int], float] = defaultdict(float)
    for unit_id, person_id, total in rows:
        if person_id is not None:
            sums[("person", person_id)] += total
        unit = org.units.get(unit_id)
        if unit is None:
            continue
        for pk in _path_ids(unit.path):
            if pk in org.units:
                sums[("unit", pk)] += total
    return sums


def _grouped_rows(org: _Org, measure_ids: list[int], start: dt.date, end: dt.date):
    """One grouped query: the measures' totals per (unit, person) over [start, end] in the subtree."""
    if not measure_ids:
        return []
    qs = Measurement.objects.filter(measure_id__in=measure_ids, date__range=(start, end))
    if org.root.parent_id is not None:  # the root holds every row: no IN list
        qs = qs.filter(unit_id__in=list(org.units))
    return qs.values_list("unit_id", "person_id").annotate(total=Sum("value")).order_by()


def _existing_descendants(objective: Objective, org: _Org) -> dict[tuple[int, str, int], Objective]:
    """Existing (not cancelled) descendants of the objective in its subtree, by (parent id, owner kind, owner id).

    One query for the candidates (same period, same KPI or title), then the
    parent links are walked in memory from the objective down.
    """
    qs = Objective.objects.filter(
        Q(owner_unit__path__startswith=org.root.path) | Q(owner_person__unit__path__startswith=org.root.path),
        period_start=objective.period_start, period_end=objective.period_end, parent__isnull=False,
    ).exclude(status=S.CANCELLED)
    qs = qs.filter(kpi_id=objective.kpi_id) if objective.kpi_id else qs.filter(kpi__isnull=True)
    by_parent: dict[int, list[Objective]] = defaultdict(list)
    for o in qs.order_by("id"):
        by_parent[o.parent_id].append(o)
    found: dict[tuple[int, str, int], Objective] = {}
    todo = [objective.pk]
    while todo:
        parent_id = todo.pop()
        for o in by_parent.get(parent_id, ()):
            key = (parent_id, "unit" if o.owner_unit_id else "person", o.owner_unit_id or o.owner_person_id)
            if key not in found:  # the oldest wins
                found[key] = o
                todo.append(o.pk)
    return found


def _parse_typed(typed: dict | None, spec: KpiSpec | None, higher: bool) -> tuple[dict[str, tuple], list[str]]:
    """Typed values by owner code: {code: (baseline, target, stretch)} and the per-code errors."""
    values: dict[str, tuple] = {}
    errors: list[str] = []
    for code, triple in (typed or {}).items():
        try:
            if isinstance(triple, dict):
                triple = (triple.get("baseline"), triple.get("target"), triple.get("stretch"))
            b, t, s = (parse_number(v) for v in triple)
            if b is None or t is None or s is None:
                raise ValueError
        except (TypeError, ValueError):
            errors.append(str(TYPED_NOT_NUMBER % {"code": code}))
            continue
        if not thresholds_ordered(b, t, s, higher):
            message = TYPED_NOT_ORDERED_HIGHER if higher else TYPED_NOT_ORDERED_LOWER
            errors.append(str(message % {"code": code}))
            continue
        values[str(code)] = (b, t, s)
    return values, errors


def _checked_objective(*, user, objective: Objective, depth: str, method: str):
    """Refuse what cannot be cascaded; return (library, spec, higher is better)."""
    errors: dict[str, str] = {}
    if depth not in DEPTHS:
        errors["depth"] = str(DEPTH_UNKNOWN)
    if method not in METHODS:
        errors["method"] = str(METHOD_UNKNOWN)
    if objective.owner_person_id:
        raise ValidationError({"objective": str(PERSON_OWNER), **errors})
    if not can_edit_owner(user, objective.owner_unit):
        raise ValidationError({"objective": str(NOT_EDITOR % {"owner": _owner_label(objective.owner_unit)}), **errors})
    library = library_load()
    spec = None
    higher = True
    if objective.kind == Objective.Kind.MILESTONE:
        if method in METHODS and method != SAME:
            errors["method"] = str(MILESTONE_SAME_ONLY)
    else:
        spec = _spec(library, objective.kpi.code if objective.kpi_id else None)
        if spec is None:
            errors["objective"] = str(NO_KPI)
        else:
            higher = spec.thresholds.higher_is_better
            name = spec.label
            if method == SAME and not spec.formula.is_ratio:
                errors["method"] = str(SAME_FOR_VOLUME % {"kpi": name})
            elif method in SPLITS and spec.formula.is_ratio:
                errors["method"] = str(SPLIT_FOR_RATIO % {"kpi": name})
            if method in (SAME, *SPLITS) and None in (objective.baseline, objective.target, objective.stretch):
                errors.setdefault("objective", str(NEEDS_VALUES))
    if errors:
        raise ValidationError(errors)
    return library, spec, higher


def _share_basis(method: str, objective: Objective, org: _Org, spec: KpiSpec | None, library: Library):
    """Each owner's basis for a split (constant queries), and the warning for a zero basis."""
    if method == EQUAL:
        return None, None
    if method == HEADCOUNT:
        basis: dict[tuple[str, int], float] = defaultdict(float)
        for agent in org.all_agents():
            basis[("person", agent.pk)] = 1.0
            for pk in _path_ids(org.units[agent.unit_id].path):
                if pk in org.units:
                    basis[("unit", pk)] += 1.0
        return basis, WARN_NO_AGENTS
    if method == SCHEDULED:
        ids = list(Measure.objects.filter(code="scheduled_minutes").values_list("pk", flat=True))
        rows = _grouped_rows(org, ids, objective.period_start, objective.period_end)
        basis = _subtree_sums(org, rows)
        if not any(v > 0 for v in basis.values()):
            raise ValidationError({"method": str(NO_SCHEDULE_AT_ALL % {
                "owner": _owner_label(org.root), "start": objective.period_start, "end": objective.period_end})})
        return basis, WARN_NO_SCHEDULE
    # PREVIOUS_SHARE: the KPI's value (its numerator measures) in the previous equivalent period.
    start, end = previous_period(objective.period_start, objective.period_end)
    rows = _grouped_rows(org, _measure_ids(library, spec.formula.numerator), start, end)
    basis = _subtree_sums(org, rows)
    if not any(v > 0 for v in basis.values()):
        raise ValidationError({"method": str(NO_PREVIOUS_AT_ALL % {
            "owner": _owner_label(org.root), "kpi": spec.label, "start": start, "end": end})})
    return basis, WARN_NO_PREVIOUS


def _scaled(value: float | None, share: float) -> float | None:
    return None if value is None else value * share


def cascade_preview(*, user, objective: Objective, depth: str, method: str, typed: dict | None = None) -> list[PlannedChild]:
    """Plan the child objectives of a cascade without saving anything; refuse with field messages.

    Returns the planned children in tree order (each parent before its
    children). `typed` maps owner codes to (baseline, target, stretch).
    """
    objective = Objective.objects.select_related("owner_unit", "owner_person", "kpi").get(pk=objective.pk)
    library, spec, higher = _checked_objective(user=user, objective=objective, depth=depth, method=method)
    org = _load_org(objective.owner_unit)
    if not org.beneath(org.root):
        raise ValidationError({"depth": str(NOTHING_BENEATH % {"owner": _owner_label(org.root)})})
    existing = _existing_descendants(objective, org)
    typed_values: dict[str, tuple] = {}
    if method == TYPED:
        typed_values, typed_errors = _parse_typed(typed, spec, higher)
        if typed_errors:
            raise ValidationError({"typed": " ".join(typed_errors)})
    basis, zero_warning = (None, None)
    if method in SPLITS:
        basis, zero_warning = _share_basis(method, objective, org, spec, library)

    plan: list[PlannedChild] = []

    def plan_level(parent: PlannedChild | None, unit: OrgUnit, values: tuple, parent_id: int | None, level: int):
        members = org.beneath(unit)
        if not members:
            return
        weights = None
        if basis is not None:
            weights = [basis.get(("unit" if isinstance(m, OrgUnit) else "person", m.pk), 0.0) for m in members]
        total = sum(weights) if weights is not None else 0.0
        for i, member in enumerate(members):
            node = PlannedChild(owner=member, parent=parent, level=level)
            found = existing.get((parent_id, node.owner_kind, member.pk)) if parent_id is not None else None
            if found is not None:
                node.existing = found
                node.baseline, node.target, node.stretch = found.baseline, found.target, found.stretch
                node.warnings.append(str(WARN_EXISTS))
            elif objective.kind == Objective.Kind.MILESTONE:
                pass
            elif method == SAME:
                node.baseline, node.target, node.stretch = values
            elif method == TYPED:
                if member.code in typed_values:
                    node.baseline, node.target, node.stretch = typed_values[member.code]
            else:
                if method == EQUAL:
                    share = 1.0 / len(members)
                else:
                    share = weights[i] / total if total > 0 else 0.0
                    if weights[i] <= 0:
                        node.warnings.append(str(zero_warning))
                    if total <= 0:
                        node.warnings.append(str(WARN_SIBLINGS_EMPTY))
                node.share = share
                node.baseline, node.target, node.stretch = (_scaled(v, share) for v in values)
            plan.append(node)
            if depth == DEPTH_AGENTS and isinstance(member, OrgUnit):
                child_parent_id = found.pk if found is not None else None
                plan_level(node, member, (node.baseline, node.target, node.stretch), child_parent_id, level + 1)

    plan_level(None, org.root, (objective.baseline, objective.target, objective.stretch), objective.pk, 1)

    if method == TYPED:
        planned = {n.owner_code for n in plan}
        outside = sorted(set(typed_values) - planned)
        missing = [n.owner_code for n in plan if n.existing is None and n.owner_code not in typed_values]
        errors = []
        if outside:
            errors.append(str(TYPED_OUTSIDE % {"owner": _owner_label(org.root), "codes": ", ".join(outside)}))
        if missing:
            errors.append(str(TYPED_MISSING % {"codes": ", ".join(missing)}))
        if errors:
            raise ValidationError({"typed": " ".join(errors)})
    return plan


def _insert_many(model, objs: list) -> None:
    """INSERT the objects with one executemany (their primary keys stay unset): one query whatever their number."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # The callers set created_at / updated_at / at themselves: one timestamp for the whole batch, by which
    # the new rows are found again (pre_save would stamp each row with its own now()).
    stamped = {f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}

    def value(obj, f):
        if f.attname in stamped and getattr(obj, f.attname) is not None:
            return getattr(obj, f.attname)
        return f.pre_save(obj, True)

    rows = [[f.get_db_prep_save(value(obj, f), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


def _history_rows(objs: list[Objective], user, now) -> list:
    """The "+" history records that Objective.save would have written (simple_history's bulk_history_create)."""
    history = Objective.history.model
    return [
        history(
            history_date=now, history_user_id=user.pk, history_change_reason="", history_type="+",
            **{f.attname: getattr(o, f.attname) for f in history.tracked_fields},
        )
        for o in objs
    ]


@transaction.atomic
def cascade_apply(*, user, objective: Objective, depth: str, method: str, typed: dict | None = None) -> list[Objective]:
    """Create the child objectives the preview plans, as drafts, with a "cascade" event each; return them.

    The objective's row is locked first, so two cascades of the same objective
    run one after the other and the second finds the first's children (and
    skips them). Children already there are kept; nothing is created twice.
    """
    Objective.objects.select_for_update().filter(pk=objective.pk).values_list("pk", flat=True).get()
    plan = cascade_preview(user=user, objective=objective, depth=depth, method=method, typed=typed)
    objective = Objective.objects.select_related("owner_unit", "kpi").get(pk=objective.pk)
    now = timezone.now()
    created: list[Objective] = []
    levels: dict[int, list[PlannedChild]] = defaultdict(list)
    for node in plan:
        if node.existing is None:
            levels[node.level].append(node)
    for level in sorted(levels):
        nodes = levels[level]
        objs = []
        for node in nodes:
            parent = objective if node.parent is None else (node.parent.existing or node.parent.objective)
            o = Objective(
                owner_unit=node.owner if node.owner_kind == "unit" else None,
                owner_person=node.owner if node.owner_kind == "person" else None,
                period_start=objective.period_start, period_end=objective.period_end,
                title=objective.title, result=objective.result, kind=objective.kind, kpi_id=objective.kpi_id,
                baseline=node.baseline, target=node.target, stretch=node.stretch,
                completion_criterion=objective.completion_criterion, verification=objective.verification,
                resources=objective.resources, weight=objective.weight, due_date=objective.due_date,
                parent_id=parent.pk, status=S.DRAFT, created_by=user, created_at=now, updated_at=now,
            )
            node.objective = o
            objs.append(o)
        _insert_many(Objective, objs)
        ids = Objective.objects.filter(
            parent_id__in={o.parent_id for o in objs}, created_by=user, created_at=now
        ).values_list("pk", "parent_id", "owner_unit_id", "owner_person_id")
        by_key = {(parent_id, unit_id or person_id, "unit" if unit_id else "person"): pk
                  for pk, parent_id, unit_id, person_id in ids}
        for node in nodes:
            node.objective.pk = by_key[(node.objective.parent_id, node.owner.pk, node.owner_kind)]
            node.objective._state.adding = False
            node.objective._state.db = "default"
            created.append(node.objective)
    _insert_many(Objective.history.model, _history_rows(created, user, now))
    _insert_many(ObjectiveEvent, [
        ObjectiveEvent(objective_id=o.pk, action=ObjectiveEvent.Action.CASCADE, from_status="", to_status=S.DRAFT,
                       by=user, at=now)
        for o in created
    ])
    return created


# ------------------------------------------------------------------ alignment


@dataclass
class Alignment:
    """Whether a parent's children together reach its target, compared in the KPI's direction."""

    aligned: bool
    combined: float  # the children's targets together: their sum, or their volume-weighted mean (ratios)
    gap: float  # how far `combined` falls short of the parent's target, in the KPI's unit (0 when aligned)
    unit: str
    children: int
    weighted: bool  # ratio KPIs: weighted by previous volume (False: no previous volume, equal weights)


def alignment_for(parents: list[Objective], *, library: Library | None = None,
                  units: dict[int, str] | None = None) -> dict[int, Alignment]:
    """The alignment of each KPI objective that has KPI children with targets, by parent id.

    Volume KPIs compare the sum of the children's targets; ratio KPIs the
    mean of their targets weighted by each child's volume (the KPI's
    denominator sum) in the previous equivalent period. Queries: the
    children (1), the unit paths (1, unless given), one grouped sum per
    distinct previous period among the children (usually one).
    """
    library = library or library_load()
    parents = [p for p in parents if p.kind == Objective.Kind.KPI and p.kpi_id and p.target is not None]
    if not parents:
        return {}
    by_id = {p.pk: p for p in parents}
    children = list(
        Objective.objects.filter(parent_id__in=list(by_id), kind=Objective.Kind.KPI, target__isnull=False)
        .exclude(status=S.CANCELLED)
        .values_list("pk", "parent_id", "kpi_id", "target", "owner_unit_id", "owner_person_id",
                     "period_start", "period_end")
        .order_by()
    )
    children = [c for c in children if c[2] == by_id[c[1]].kpi_id]
    if not children:
        return {}
    specs = {p.pk: _spec(library, p.kpi.code) for p in parents}
    volumes: dict[int, float] = {}  # child id → previous denominator total
    ratio_children = [c for c in children if specs[c[1]] is not None and specs[c[1]].formula.is_ratio]
    if ratio_children:
        if units is None:
            units = dict(OrgUnit.objects.values_list("pk", "path"))
        groups: dict[tuple[dt.date, dt.date], list] = defaultdict(list)
        for c in ratio_children:
            groups[previous_period(c[6], c[7])].append(c)
        for (start, end), group in groups.items():
            den_ids = {
                c[0]: set(_measure_ids(library, specs[c[1]].formula.denominator)) for c in group
            }
            all_ids = sorted({m for ids in den_ids.values() for m in ids})
            person_ids = sorted({c[5] for c in group if c[5]})
            owner_paths = {c[4]: units[c[4]] for c in group if c[4]}
            unit_ids = sorted({pk for pk, path in units.items()
                               if any(path.startswith(p) for p in owner_paths.values())})
            condition = Q(person_id__in=person_ids) if person_ids else Q(pk__in=[])
            if unit_ids:
                condition |= Q(unit_id__in=unit_ids)
            rows = (Measurement.objects.filter(condition, date__range=(start, end), measure_id__in=all_ids)
                    .values_list("unit_id", "person_id", "measure_id").annotate(total=Sum("value")).order_by())
            person_totals: dict[tuple[int, int], float] = defaultdict(float)
            unit_totals: dict[tuple[int, int], float] = defaultdict(float)
            for unit_id, person_id, measure_id, total in rows:
                if person_id is not None:
                    person_totals[(person_id, measure_id)] += total
                for pk in _path_ids(units.get(unit_id, "")):
                    if pk in owner_paths:
                        unit_totals[(pk, measure_id)] += total
            for c in group:
                if c[5]:
                    volumes[c[0]] = sum(person_totals.get((c[5], m), 0.0) for m in den_ids[c[0]])
                else:
                    volumes[c[0]] = sum(unit_totals.get((c[4], m), 0.0) for m in den_ids[c[0]])
    by_parent: dict[int, list] = defaultdict(list)
    for c in children:
        by_parent[c[1]].append(c)
    result: dict[int, Alignment] = {}
    for parent_id, kids in by_parent.items():
        parent, spec = by_id[parent_id], specs[parent_id]
        if spec is None:
            continue
        weighted = True
        if spec.formula.is_ratio:
            total = sum(volumes.get(c[0], 0.0) for c in kids)
            if total > 0:
                combined = sum(c[3] * volumes.get(c[0], 0.0) for c in kids) / total
            else:
                weighted = False
                combined = sum(c[3] for c in kids) / len(kids)
        else:
            combined = math.fsum(c[3] for c in kids)
        higher = spec.thresholds.higher_is_better
        shortfall = (parent.target - combined) if higher else (combined - parent.target)
        tolerance = 1e-9 * max(1.0, abs(parent.target))
        aligned = shortfall <= tolerance
        result[parent_id] = Alignment(aligned, combined, 0.0 if aligned else shortfall, spec.unit, len(kids), weighted)
    return result


# ------------------------------------------------------------------ templates


def _template_errors(values: dict) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not (values.get("name") or "").strip():
        errors["name"] = str(NAME_REQUIRED)
    if not (values.get("title") or "").strip():
        errors["title"] = str(TITLE_REQUIRED)
    kind = values.get("kind")
    if kind not in Objective.Kind.values:
        errors["kind"] = str(KIND_UNKNOWN)
    weight = values.get("weight")
    try:
        weight = parse_number(weight)
        if weight is None or not 0 <= weight <= 100:
            raise ValueError
    except ValueError:
        errors["weight"] = str(WEIGHT_RANGE)
    if kind == Objective.Kind.KPI:
        kpi = values.get("kpi")
        if kpi is None:
            errors["kpi"] = str(KPI_REQUIRED)
        numbers = {}
        for name in ("baseline", "target", "stretch"):
            try:
                numbers[name] = parse_number(values.get(name))
            except ValueError:
                numbers[name] = None
            if numbers[name] is None:
                errors[name] = str(VALUE_REQUIRED)
        if kpi is not None and None not in numbers.values():
            higher = kpi.direction == Kpi.Direction.HIGHER
            if not thresholds_ordered(numbers["baseline"], numbers["target"], numbers["stretch"], higher):
                errors["target"] = str(NOT_ORDERED_HIGHER if higher else NOT_ORDERED_LOWER)
    elif kind == Objective.Kind.MILESTONE:
        if not (values.get("completion_criterion") or "").strip():
            errors["completion_criterion"] = str(CRITERION_REQUIRED)
        if not (values.get("verification") or "").strip():
            errors["verification"] = str(VERIFICATION_REQUIRED)
    return errors


TEMPLATE_FIELDS = ("name", "unit", "kind", "title", "result", "kpi", "baseline", "target", "stretch",
                   "completion_criterion", "verification", "resources", "weight")


def _template_save(template: ObjectiveTemplate, user, values: dict) -> ObjectiveTemplate:
    unit = values.get("unit")
    errors = _template_errors(values)
    if unit is None or not can_edit_owner(user, unit):
        errors["unit"] = str(TEMPLATE_NOT_EDITOR % {"unit": _owner_label(unit) if unit else "—"})
    if errors:
        raise ValidationError(errors)
    for name in TEMPLATE_FIELDS:
        if name in values:
            setattr(template, name, values[name])
    if template.kind == Objective.Kind.MILESTONE:
        template.kpi, template.baseline, template.target, template.stretch = None, None, None, None
    template.save()
    return template


@transaction.atomic
def objective_template_create(*, user, unit: OrgUnit, name: str, kind: str, title: str, weight: float,
                              result: str = "", kpi: Kpi | None = None, baseline: float | None = None,
                              target: float | None = None, stretch: float | None = None,
                              completion_criterion: str = "", verification: str = "",
                              resources: str = "") -> ObjectiveTemplate:
    """Add a standard objective for a unit's agents; refuse with field messages."""
    values = dict(unit=unit, name=name, kind=kind, title=title, result=result, kpi=kpi, baseline=baseline,
                  target=target, stretch=stretch, completion_criterion=completion_criterion,
                  verification=verification, resources=resources, weight=weight)
    return _template_save(ObjectiveTemplate(created_by=user), user, values)


@transaction.atomic
def objective_template_update(*, user, template: ObjectiveTemplate, **fields) -> ObjectiveTemplate:
    """Change a template (its unit too, within the user's subtree); objectives assigned from it stay as they are."""
    unexpected = set(fields) - set(TEMPLATE_FIELDS)
    if unexpected:
        raise ValidationError({f: _("This field cannot be changed here.") for f in unexpected})
    template = ObjectiveTemplate.objects.select_for_update(of=("self",)).select_related("unit", "kpi").get(pk=template.pk)
    if not can_edit_owner(user, template.unit):
        raise ValidationError({"unit": str(TEMPLATE_NOT_EDITOR % {"unit": _owner_label(template.unit)})})
    values = {name: getattr(template, name) for name in TEMPLATE_FIELDS}
    values.update(fields)
    return _template_save(template, user, values)


def templates_visible(user):
    """Templates of the units the user may set objectives for (none for agents)."""
    return ObjectiveTemplate.objects.select_related("unit", "kpi").filter(scope_for(user).units_q("unit__"))


@dataclass
class AssignResult:
    created: list[Objective]
    skipped: int  # agents who already had an objective from this template in the period


@transaction.atomic
def objective_template_assign(*, user, template: ObjectiveTemplate, period_start: dt.date, period_end: dt.date,
                              due_date: dt.date, parent: Objective | None = None) -> AssignResult:
    """Create the template's objective, as a draft, for every agent of the template's unit subtree.

    Idempotent: agents who already have a (not cancelled) objective from this
    template for this period are skipped. Constant queries: the agents (1),
    the existing ones (1), the inserts (objectives, ids, history, events).
    """
    template = ObjectiveTemplate.objects.select_for_update(of=("self",)).select_related("unit").get(pk=template.pk)
    errors: dict[str, str] = {}
    if not can_edit_owner(user, template.unit):
        raise ValidationError({"template": str(TEMPLATE_NOT_EDITOR % {"unit": _owner_label(template.unit)})})
    if period_start is None or period_end is None or period_start > period_end:
        errors["period_end"] = str(PERIOD_NOT_ORDERED)
    elif due_date is None or not period_start <= due_date <= period_end:
        errors["due_date"] = str(DUE_OUTSIDE_PERIOD % {"start": period_start, "end": period_end})
    if parent is not None:
        parent = Objective.objects.select_related("owner_unit").get(pk=parent.pk)
        if not parent.owner_unit_id or not template.unit.path.startswith(parent.owner_unit.path):
            errors["parent"] = str(PARENT_NOT_ABOVE % {"unit": _owner_label(template.unit)})
    if errors:
        raise ValidationError(errors)
    agents = list(Person.objects.filter(unit__path__startswith=template.unit.path, role=Person.Role.AGENT,
                                        is_active=True).order_by("employee_code").values_list("pk", flat=True))
    if not agents:
        raise ValidationError({"template": str(NO_AGENTS % {"unit": _owner_label(template.unit)})})
    has = set(Objective.objects.filter(template=template, period_start=period_start, period_end=period_end,
                                       owner_person__isnull=False).exclude(status=S.CANCELLED)
              .values_list("owner_person_id", flat=True))
    todo = [pk for pk in agents if pk not in has]
    now = timezone.now()
    objs = [
        Objective(
            owner_person_id=pk, period_start=period_start, period_end=period_end, title=template.title,
            result=template.result, kind=template.kind, kpi_id=template.kpi_id, baseline=template.baseline,
            target=template.target, stretch=template.stretch, completion_criterion=template.completion_criterion,
            verification=template.verification, resources=template.resources, weight=template.weight,
            due_date=due_date, parent_id=parent.pk if parent else None, status=S.DRAFT, template_id=template.pk,
            created_by=user, created_at=now, updated_at=now,
        )
        for pk in todo
    ]
    _insert_many(Objective, objs)
    if objs:
        ids = dict(Objective.objects.filter(template=template, created_by=user, created_at=now,
                                            period_start=period_start, period_end=period_end)
                   .values_list("owner_person_id", "pk"))
        for o in objs:
            o.pk = ids[o.owner_person_id]
            o._state.adding = False
            o._state.db = "default"
    _insert_many(Objective.history.model, _history_rows(objs, user, now))
    _insert_many(ObjectiveEvent, [
        ObjectiveEvent(objective_id=o.pk, action=ObjectiveEvent.Action.CREATE, from_status="", to_status=S.DRAFT,
                       by=user, at=now)
        for o in objs
    ])
    return AssignResult(objs, len(agents) - len(todo))


# ----------------------------------------------------------------------- tree


# Branches open by default down to this depth (center, departments, teams); deeper ones start closed.
OPEN_DEPTH = 3
# Past this many agents' objectives in view, those under a unit's objective are listed on demand (`open_ids`).
PEOPLE_INLINE = 40


@dataclass
class TreeNode:
    objective: Objective
    depth: int
    matches: bool  # matches the filters; False: shown only as the chain above one that does
    progress: Progress | None = None
    alignment: Alignment | None = None
    children: list[TreeNode] = field(default_factory=list)
    closes: int = 0  # how many open branches end after this node (for the flat template loop)
    visible: bool = True  # the user may open the objective's page (False: context above their view)
    people_hidden: int = 0  # agents' objectives beneath, not listed until the branch is opened on demand
    people_shown: bool = False  # this branch's agents' objectives are listed because it was opened on demand

    @property
    def open(self) -> bool:
        """Open by default: the first levels, and a branch whose agents were asked for."""
        return self.depth < OPEN_DEPTH or self.people_shown

    @property
    def has_children(self) -> bool:
        return bool(self.children)

    @property
    def close_range(self) -> range:
        return range(self.closes)


def _owner_sort_key(o: Objective):
    if o.owner_unit_id:
        return (0, o.owner_unit.depth, o.owner_unit.code, o.pk)
    return (1, (o.owner_person.unit.depth + 1) if o.owner_person.unit_id else 99, o.owner_person.employee_code, o.pk)


def _scope_q(user) -> Q | None:
    """The objectives the user reads in full (None: all): their own, and their subtree's for a manager."""
    scope = scope_for(user)
    return None if scope.is_all else scope.owner_q()


TREE_RELATED = ("owner_unit", "owner_person__unit", "kpi__perspective")


def cascade_tree(user, *, start: dt.date, end: dt.date, perspective: str | None = None, kpi: str | None = None,
                 status: str | None = None, today: dt.date | None = None,
                 people_inline: int | None = None, open_ids: set[int] | frozenset = frozenset()) -> list[TreeNode]:
    """The objectives of [start, end] the user may see, as a forest in tree order (roots first, depth-first).

    Visibility: HR and directors see everything; a manager sees their
    subtree's objectives and the chain above them; an agent sees their own
    objectives and the chain above them (their ancestors) — nothing of peers'.
    Filters keep the matching objectives and the chain above them.

    The deepest level can be long (every agent of a department): with
    `people_inline` set and more agents' objectives in view than that, the
    agents' objectives under a unit's objective are not listed — the unit's
    node counts them (`people_hidden`) — except under the objectives in
    `open_ids`. Progress and alignment are computed only for the listed nodes.

    Queries, whatever the number of objectives: the shape of the objectives in
    scope (1), the period's parent links (1, not for HR and directors), the
    objectives listed with the chain above (1),
    the library (1 when cached), progress (2 + 1 per period group), alignment
    (children 1, unit paths 1, one grouped sum per previous period).
    """
    library = library_load()
    base = Objective.objects.filter(period_start__lte=end, period_end__gte=start)
    scope = _scope_q(user)
    # First what decides the shape (light rows), then full objects only for the nodes listed: in a large
    # view most agents' objectives are only counted, and building them would cost more than the rest.
    fields = ("pk", "parent_id", "owner_unit_id", "owner_person_id", "status", "kpi__code", "kpi__perspective__code")
    rows = {r[0]: r for r in (base if scope is None else base.filter(scope)).values_list(*fields).order_by()}
    # pk → (parent id, owner unit id) of every objective of the period: the chain above may lie outside the scope.
    links: dict[int, tuple[int | None, int | None]] = {pk: (r[1], r[2]) for pk, r in rows.items()}
    if scope is not None:
        links = {pk: (parent, unit) for pk, parent, unit in base.values_list("pk", "parent_id", "owner_unit_id").order_by()}

    def matches(r) -> bool:
        if perspective and r[6] != perspective:
            return False
        if kpi and r[5] != kpi:
            return False
        return not status or r[4] == status

    matched = {pk for pk, r in rows.items() if matches(r)}
    shown = set(matched)
    for pk in matched:
        parent = links[pk][0]
        while parent is not None and parent not in shown and parent in links:
            shown.add(parent)
            parent = links[parent][0]
    in_view = set(rows)
    hidden: dict[int, int] = defaultdict(int)  # unit objective id → agents' objectives not listed beneath it
    deep = [pk for pk in shown if pk in rows and rows[pk][3] and links.get(links[pk][0] or -1, (None, None))[1]]
    if people_inline is not None and len(deep) > people_inline:
        for pk in deep:
            parent_id = links[pk][0]
            if parent_id not in open_ids and parent_id in shown:
                shown.discard(pk)
                hidden[parent_id] += 1
    if hidden:
        listed = Objective.objects.filter(pk__in=shown)
    else:  # everything in scope is listed: select it as such, plus the few above it (no long id list)
        listed = base if scope is None else base.filter(scope | Q(pk__in=shown - in_view))
    loaded = {o.pk: o for o in listed.select_related(*TREE_RELATED) if o.pk in shown}
    objectives = [loaded[pk] for pk in shown if pk in loaded]
    progress = objectives_progress(objectives, today, library)
    units = dict(OrgUnit.objects.values_list("pk", "path"))
    alignment = alignment_for(objectives, library=library, units=units)
    nodes = {o.pk: TreeNode(o, 0, o.pk in matched, progress.get(o.pk), alignment.get(o.pk),
                            visible=o.pk in in_view, people_hidden=hidden.get(o.pk, 0),
                            people_shown=bool(people_inline is not None and o.pk in open_ids))
             for o in objectives}
    roots = []
    for node in sorted(nodes.values(), key=lambda n: _owner_sort_key(n.objective)):
        parent = nodes.get(node.objective.parent_id)
        (parent.children if parent else roots).append(node)
    ordered: list[TreeNode] = []

    def walk(node: TreeNode, depth: int) -> None:
        node.depth = depth
        ordered.append(node)
        for child in node.children:
            walk(child, depth + 1)
        if node.children:
            ordered[-1].closes += 1

    for root in roots:
        walk(root, 0)
    return ordered


BAD_PERIOD = gettext_lazy("Enter a quarter as YYYY-Qn, for example 2026-Q3.")


def parse_quarter(value: str | None, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Read "2026-Q3" as that quarter's first and last day; blank means this quarter."""
    from scorecard.periods import quarter_of

    if not value:
        return quarter_of(today or timezone.localdate())
    text = value.strip().upper()
    try:
        year, quarter = text.split("-Q")
        year, quarter = int(year), int(quarter)
        if not (1 <= quarter <= 4 and 1900 <= year <= 9999):
            raise ValueError
    except ValueError:
        raise ValidationError({"period": str(BAD_PERIOD)}) from None
    return quarter_of(dt.date(year, 3 * quarter - 2, 1))


def quarter_code(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
