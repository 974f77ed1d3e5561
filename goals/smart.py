"""The SMART check of an objective (issue 3): one result per letter, with its reason.

S, M and T failing block proposing (services.objective_transition); A and R
only warn. Reasons are translated when the check runs, so they come out in
the language of the request.

Attainable, as read here: the required improvement (target − the owner's
actual over the previous equivalent period, in the KPI's direction) is
compared with the best improvement among peers (the other agents of a
person's unit, or a unit's sibling units) from the period before that to
the previous one; and the target with the KPI's excellent value (more than
one typical→excellent distance beyond it warns). All the data comes from
one grouped query, however many peers there are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, Sum, Value, When
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from scorecard.calculations import kpi_value, thresholds_ordered
from scorecard.models import Kpi, Measurement, OrgUnit, Person
from scorecard.selectors import library_load
from scorecard.units import unit_label

PASS, FAIL, WARN = "pass", "fail", "warn"
LETTERS = ("S", "M", "A", "R", "T")
BLOCKING = ("S", "M", "T")

LETTER_LABELS = {
    "S": _("Specific"),
    "M": _("Measurable"),
    "A": _("Attainable"),
    "R": _("Realistic"),
    "T": _("Time-based"),
}

S_PASS = _("The result is stated, and it is tied to %(anchor)s.")
S_NO_RESULT = _("State the result the objective describes, so that two people read it the same way.")
S_NO_ANCHOR = _("Tie the result to a KPI or to a completion criterion.")
M_NO_KPI = _("Choose the KPI that measures this objective.")
M_MISSING = _("Give a numeric %(missing)s in %(unit)s: without them the objective has no measurable target.")
M_NOT_ORDERED = _(
    "Baseline %(baseline)s, target %(target)s and stretch %(stretch)s must be ordered in the KPI's direction "
    "(%(direction)s)."
)
M_KPI_PASS = _("Baseline %(baseline)s → target %(target)s → stretch %(stretch)s, measured by %(kpi)s (%(direction)s).")
M_NO_VERIFICATION = _("Say how completion will be verified (who checks what, with which evidence).")
M_MILESTONE_PASS = _("Completion is verified by: %(verification)s")
A_MILESTONE = _("A milestone has no numeric target to compare: agree with the manager that it is attainable.")
A_NO_TARGET = _("Cannot be checked without a KPI and a target.")
A_NO_DATA = _("Cannot be checked: no data for the previous period (%(start)s – %(end)s).")
A_BEYOND_PEERS = _(
    "The target %(target)s needs an improvement of %(needed)s on the previous period's %(actual)s; "
    "the best improvement among peers was %(best)s."
)
A_FAR_BEYOND_EXCELLENT = _(
    "The target %(target)s is far beyond the KPI's excellent value %(excellent)s (more than the typical → "
    "excellent distance of %(distance)s)."
)
A_PASS_PEERS = _(
    "The target %(target)s needs an improvement of %(needed)s on the previous period's %(actual)s; "
    "peers improved by up to %(best)s."
)
A_PASS_NO_PEERS = _(
    "The target %(target)s needs an improvement of %(needed)s on the previous period's %(actual)s "
    "(no peer data to compare with)."
)
R_BLANK = _("Write down the resources and support needed: they go into the performance contract.")
R_PASS = _("Resources and support are written down.")
T_NO_DATE = _("Set a due date.")
T_NO_PERIOD = _("Set the period the objective covers.")
T_OUTSIDE = _("The due date %(due)s is outside the period %(start)s – %(end)s.")
T_PASS = _("Due %(due)s, inside the period %(start)s – %(end)s.")
MISSING_NAMES = {"baseline": _("baseline"), "target": _("target"), "stretch": _("stretch")}
LIST_SEPARATOR = pgettext_lazy("list separator", ", ")


@dataclass(frozen=True)
class SmartResult:
    letter: str
    status: str  # pass | fail | warn
    reason: str

    @property
    def label(self) -> str:
        return str(LETTER_LABELS[self.letter])

    @property
    def blocks(self) -> bool:
        return self.status == FAIL and self.letter in BLOCKING


def blocking(results: list[SmartResult]) -> list[SmartResult]:
    """The results that stop an objective from being proposed."""
    return [r for r in results if r.blocks]


def _num(x: float | None, unit: str = "") -> str:
    if x is None:
        return "—"
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    text = "0" if text == "-0" else text
    if not unit:
        return text
    label = unit_label(unit)
    return f"{text}%" if unit == "%" else f"{text} {label}"


def _date(day: dt.date) -> str:
    return day.isoformat() if day else "—"  # as every page shows dates


# ------------------------------------------------------------------ letters


def _specific(result: str, kpi: Kpi | None, completion_criterion: str) -> SmartResult:
    if not (result or "").strip():
        return SmartResult("S", FAIL, str(S_NO_RESULT))
    if kpi is None and not (completion_criterion or "").strip():
        return SmartResult("S", FAIL, str(S_NO_ANCHOR))
    anchor = kpi.label if kpi is not None else _("a completion criterion")
    return SmartResult("S", PASS, str(S_PASS % {"anchor": anchor}))


def _measurable(kind, kpi, baseline, target, stretch, verification) -> SmartResult:
    if kind == "milestone":
        if not (verification or "").strip():
            return SmartResult("M", FAIL, str(M_NO_VERIFICATION))
        return SmartResult("M", PASS, str(M_MILESTONE_PASS % {"verification": verification.strip()}))
    if kpi is None:
        return SmartResult("M", FAIL, str(M_NO_KPI))
    values = {"baseline": baseline, "target": target, "stretch": stretch}
    missing = [str(MISSING_NAMES[k]) for k, v in values.items() if v is None]
    unit = unit_label(kpi.unit) or "—"
    if missing:
        return SmartResult("M", FAIL, str(M_MISSING % {"missing": str(LIST_SEPARATOR).join(missing), "unit": unit}))
    numbers = {k: _num(v, kpi.unit) for k, v in values.items()}
    numbers.update(direction=kpi.get_direction_display(), kpi=kpi.label)
    if not thresholds_ordered(baseline, target, stretch, kpi.direction == Kpi.Direction.HIGHER):
        return SmartResult("M", FAIL, str(M_NOT_ORDERED % numbers))
    return SmartResult("M", PASS, str(M_KPI_PASS % numbers))


def previous_periods(start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """The two equivalent periods right before [start, end]: (the one before that, the previous one)."""
    length = dt.timedelta(days=(end - start).days + 1)
    prev = (start - length, start - dt.timedelta(days=1))
    prev2 = (prev[0] - length, prev[0] - dt.timedelta(days=1))
    return prev2, prev


def _peer_values(owner, kpi: Kpi, start: dt.date, end: dt.date):
    """(owner's previous value, {peer key: (value before, previous value)}) in one grouped query.

    Rows are bucketed 0 (the period before the previous one) and 1 (the previous period).
    """
    library = library_load()
    spec = next((s for p in library.perspectives for s in p.kpis if s.code == kpi.code), None)
    if spec is None:
        return None, {}
    measure_ids = [m for m, code in library.measure_codes.items() if code in spec.formula.measures]
    (p2_start, _p2_end), (p_start, p_end) = previous_periods(start, end)
    rows = Measurement.objects.filter(date__range=(p2_start, p_end), measure_id__in=measure_ids)
    bucket = Case(When(date__gte=p_start, then=Value(1)), default=Value(0), output_field=IntegerField())
    if isinstance(owner, Person):
        peers = Person.objects.filter(unit_id=owner.unit_id, role=Person.Role.AGENT).exclude(pk=owner.pk)
        if owner.unit_id is None:
            peers = peers.none()
        # One query: the owner's rows and every peer's, the peers chosen by a subquery.
        rows = rows.filter(Q(person_id=owner.pk) | Q(person_id__in=peers.values("pk")))
        grouped = rows.annotate(b=bucket).values("person_id", "b", "measure_id").annotate(total=Sum("value")).order_by()
        items = [(r["person_id"], r) for r in grouped]
        owner_key = owner.pk
    else:
        # Each unit of the parent's subtree counts toward the sibling it lies under (one query for the paths).
        if owner.parent_id is None:
            # The center: every row is its own, and it has no siblings.
            owner_key = owner.pk
            grouped = rows.annotate(b=bucket).values("b", "measure_id").annotate(total=Sum("value")).order_by()
            items = [(owner.pk, r) for r in grouped]
        else:
            parent_path = owner.path.rsplit("/", 2)[0] + "/"
            units = list(OrgUnit.objects.filter(path__startswith=parent_path).values_list("pk", "path", "parent_id"))
            siblings = {pk: path for pk, path, parent in units if parent == owner.parent_id}
            key_of = {}
            for pk, path, _parent in units:
                for sibling, sibling_path in siblings.items():
                    if path.startswith(sibling_path):
                        key_of[pk] = sibling
            rows = rows.filter(unit_id__in=list(key_of))
            grouped = rows.annotate(b=bucket).values("unit_id", "b", "measure_id").annotate(total=Sum("value")).order_by()
            items = [(key_of[r["unit_id"]], r) for r in grouped]
            owner_key = owner.pk
    sums: dict[tuple[int, int], dict[str, float]] = {}
    for key, r in items:
        code = library.measure_codes.get(r["measure_id"])
        bucket_sums = sums.setdefault((key, r["b"]), {})
        bucket_sums[code] = bucket_sums.get(code, 0.0) + r["total"]
    keys = {key for key, _b in sums}
    values = {k: (kpi_value(sums.get((k, 0), {}), spec.formula), kpi_value(sums.get((k, 1), {}), spec.formula)) for k in keys}
    owner_previous = values.get(owner_key, (None, None))[1]
    peers = {k: v for k, v in values.items() if k != owner_key}
    return owner_previous, peers


def _attainable(owner, kind, kpi, target, period_start, period_end) -> SmartResult:
    if kind == "milestone":
        return SmartResult("A", WARN, str(A_MILESTONE))
    if kpi is None or target is None or owner is None or period_start is None or period_end is None:
        return SmartResult("A", WARN, str(A_NO_TARGET))
    if period_end < period_start:
        return SmartResult("A", WARN, str(A_NO_TARGET))
    higher = kpi.direction == Kpi.Direction.HIGHER
    sign = 1 if higher else -1
    unit = kpi.unit
    warnings = []
    distance = abs(kpi.excellent - kpi.typical)
    if sign * (target - kpi.excellent) > distance:
        warnings.append(str(A_FAR_BEYOND_EXCELLENT % {
            "target": _num(target, unit), "excellent": _num(kpi.excellent, unit), "distance": _num(distance, unit),
        }))
    actual, peers = _peer_values(owner, kpi, period_start, period_end)
    if actual is None:
        _before, (p_start, p_end) = previous_periods(period_start, period_end)
        warnings.insert(0, str(A_NO_DATA % {"start": _date(p_start), "end": _date(p_end)}))
        return SmartResult("A", WARN, " ".join(warnings))
    needed = sign * (target - actual)
    improvements = [sign * (now - before) for before, now in peers.values() if before is not None and now is not None]
    best = max(improvements) if improvements else None
    numbers = {"target": _num(target, unit), "needed": _num(needed, unit), "actual": _num(actual, unit),
               "best": _num(best, unit)}
    if best is not None and needed > 0 and needed > best:
        warnings.insert(0, str(A_BEYOND_PEERS % numbers))
    if warnings:
        return SmartResult("A", WARN, " ".join(warnings))
    return SmartResult("A", PASS, str((A_PASS_PEERS if best is not None else A_PASS_NO_PEERS) % numbers))


def _realistic(resources: str) -> SmartResult:
    if not (resources or "").strip():
        return SmartResult("R", WARN, str(R_BLANK))
    return SmartResult("R", PASS, str(R_PASS))


def _time_based(due_date, period_start, period_end) -> SmartResult:
    if due_date is None:
        return SmartResult("T", FAIL, str(T_NO_DATE))
    if period_start is None or period_end is None:
        return SmartResult("T", FAIL, str(T_NO_PERIOD))
    numbers = {"due": _date(due_date), "start": _date(period_start), "end": _date(period_end)}
    if not (period_start <= due_date <= period_end):
        return SmartResult("T", FAIL, str(T_OUTSIDE % numbers))
    return SmartResult("T", PASS, str(T_PASS % numbers))


def smart_check(
    *,
    owner: OrgUnit | Person | None,
    kind: str,
    title: str = "",
    result: str = "",
    kpi: Kpi | None = None,
    baseline: float | None = None,
    target: float | None = None,
    stretch: float | None = None,
    completion_criterion: str = "",
    verification: str = "",
    resources: str = "",
    due_date: dt.date | None = None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    today: dt.date | None = None,
) -> list[SmartResult]:
    """Check an objective, saved or not, letter by letter (S, M, A, R, T).

    Queries: none for S, M, R, T; for A (KPI objectives with a target): the
    library token (1), the sibling units' paths (1, unit owners) and one
    grouped sum for the owner and all peers (1).
    """
    if kind != "milestone":
        kind = "kpi"
    return [
        _specific(result, kpi if kind == "kpi" else None, completion_criterion if kind == "milestone" else ""),
        _measurable(kind, kpi, baseline, target, stretch, verification),
        _attainable(owner, kind, kpi, target, period_start, period_end),
        _realistic(resources),
        _time_based(due_date, period_start, period_end),
    ]


def smart_check_objective(objective) -> list[SmartResult]:
    """Check a saved objective."""
    return smart_check(**smart_fields(objective))


def smart_fields(objective) -> dict:
    return {
        "owner": objective.owner,
        **{f: getattr(objective, f) for f in (
            "kind", "title", "result", "kpi", "baseline", "target", "stretch", "completion_criterion",
            "verification", "resources", "due_date", "period_start", "period_end",
        )},
    }
