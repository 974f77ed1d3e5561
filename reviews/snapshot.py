"""The snapshot an appraisal is scored against, taken at launch (format: reviews/scoring.py's docstring).

It freezes the person's agreed objectives of the cycle's period, the weights
of their signed contract, and the KPI definitions and thresholds in force, so
later edits of objectives, contracts or the library never change a result.

Built in bulk: `snapshot_library()` reads the library once (cached library +
2 queries) and `snapshot_inputs()` reads the objectives and contracts of every
participant at once (3 queries), whatever their number; `snapshot_for()` then
assembles one person's snapshot without touching the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils import timezone

from goals.models import Contract, ContractObjective, Objective
from scorecard.models import Kpi, Perspective
from scorecard.selectors import library_load

from .models import ReviewCycle

# The objectives an appraisal covers: agreed with the manager and not yet closed out.
SNAPSHOT_STATUSES = (Objective.Status.AGREED, Objective.Status.ACTIVE)


@dataclass(frozen=True)
class SnapshotLibrary:
    """The KPI definitions and perspectives in force, in the snapshot's format."""

    kpis: dict[str, dict]
    perspectives: dict[str, dict]


@dataclass
class SnapshotInputs:
    """Per person id: their objectives of the period, and their latest signed contract (or none)."""

    objectives: dict[int, list[Objective]] = field(default_factory=dict)
    contracts: dict[int, Contract] = field(default_factory=dict)


def snapshot_library() -> SnapshotLibrary:
    """Read every KPI and perspective: the cached library (formulas) plus the KPI and perspective rows (2 queries)."""
    library = library_load()
    formulas = {k.code: k for p in library.perspectives for k in p.kpis}
    kpis: dict[str, dict] = {}
    for row in Kpi.objects.order_by("perspective__order", "order", "code").values(
        "code", "name", "name_zh", "perspective__code", "unit", "direction", "formula", "factor",
        "baseline", "typical", "excellent", "weight", "min_sample",
    ):
        spec = formulas.get(row["code"])
        kpis[row["code"]] = {
            "name": row["name"],
            "name_zh": row["name_zh"],
            "perspective": row["perspective__code"],
            "unit": row["unit"],
            "direction": row["direction"],
            "formula": row["formula"],
            "factor": row["factor"],
            "numerator": list(spec.formula.numerator) if spec else [],
            "denominator": list(spec.formula.denominator) if spec else [],
            # The thresholds as stored now (the rows, not a possibly older cache entry).
            "baseline": row["baseline"],
            "typical": row["typical"],
            "excellent": row["excellent"],
            "weight": row["weight"],
            "min_sample": row["min_sample"],
        }
    perspectives = {
        p["code"]: {"name": p["name"], "name_zh": p["name_zh"], "weight": p["weight"]}
        for p in Perspective.objects.order_by("order", "code").values("code", "name", "name_zh", "weight")
    }
    return SnapshotLibrary(kpis, perspectives)


def snapshot_inputs(person_ids: Iterable[int], period_start: dt.date, period_end: dt.date) -> SnapshotInputs:
    """Load the objectives and latest signed contracts of these people for the period (3 queries)."""
    ids = list(person_ids)
    inputs = SnapshotInputs()
    if not ids:
        return inputs
    objectives = (
        Objective.objects.filter(
            owner_person_id__in=ids,
            status__in=SNAPSHOT_STATUSES,
            period_start__lte=period_end,
            period_end__gte=period_start,
        )
        .select_related("kpi")
        .order_by("owner_person_id", "period_start", "id")
    )
    for o in objectives:
        inputs.objectives.setdefault(o.owner_person_id, []).append(o)
    # Signed = locked; an amended contract is superseded by its new version.
    contracts = (
        Contract.objects.filter(
            person_id__in=ids,
            locked_at__isnull=False,
            period_start__lte=period_end,
            period_end__gte=period_start,
        )
        .exclude(status=Contract.Status.SUPERSEDED)
        .order_by("person_id", "-period_start", "-version", "-locked_at")
        .prefetch_related(Prefetch("lines", queryset=ContractObjective.objects.order_by("id")))
    )
    for c in contracts:
        inputs.contracts.setdefault(c.person_id, c)  # the first per person is the latest
    return inputs


def _renormalised(weights: Sequence[float]) -> list[float]:
    """Scale the weights to sum to 100; equal shares when they are all zero."""
    total = sum(weights)
    if not weights:
        return []
    if total <= 0:
        return [100.0 / len(weights)] * len(weights)
    return [100.0 * w / total for w in weights]


def _objective_weights(objectives: Sequence[Objective], contract: Contract | None) -> list[float]:
    """The contract's weights when a signed contract exists, else the objectives' own; summing to 100.

    An objective of the period missing from the contract weighs 0; when some
    contract line is no longer among the objectives, the rest are rescaled.
    """
    if contract is not None:
        by_objective = {line.objective_id: float(line.weight) for line in contract.lines.all()}
        weights = [by_objective.get(o.pk, 0.0) for o in objectives]
        if sum(weights) > 0:
            return _renormalised(weights)
    return _renormalised([float(o.weight or 0) for o in objectives])


def _contract_summary(contract: Contract | None) -> dict | None:
    if contract is None:
        return None
    return {
        "id": contract.pk,
        "version": contract.version,
        "content_hash": contract.content_hash,
        "reward_terms": [
            {"grade": str(r.get("grade", "")), "outcome": str(r.get("outcome", ""))}
            for r in (contract.reward_terms or []) if isinstance(r, dict)
        ],
        "terms_text": contract.terms_text,
    }


def snapshot_for(
    person,
    cycle: ReviewCycle,
    library: SnapshotLibrary | None = None,
    *,
    inputs: SnapshotInputs | None = None,
    taken_at: dt.datetime | None = None,
) -> dict:
    """Build the person's snapshot for the cycle (no query when `library` and `inputs` are given)."""
    if library is None:
        library = snapshot_library()
    if inputs is None:
        inputs = snapshot_inputs([person.pk], cycle.period_start, cycle.period_end)
    objectives = inputs.objectives.get(person.pk, [])
    contract = inputs.contracts.get(person.pk)
    weights = _objective_weights(objectives, contract)
    return {
        "taken_at": (taken_at or timezone.now()).isoformat(),
        "objectives": [
            {
                "id": o.pk,
                "title": o.title,
                "kind": o.kind,
                "kpi": o.kpi.code if o.kpi_id else None,
                "baseline": o.baseline,
                "target": o.target,
                "stretch": o.stretch,
                "weight": round(w, 6),
                "due_date": o.due_date.isoformat() if o.due_date else None,
                "completion_criterion": o.completion_criterion,
            }
            for o, w in zip(objectives, weights)
        ],
        "contract": _contract_summary(contract),
        "kpis": {code: dict(kpi) for code, kpi in library.kpis.items()},
        "perspectives": {code: dict(p) for code, p in library.perspectives.items()},
    }


def snapshots_by_person(people: Sequence, cycle: ReviewCycle, *, taken_at: dt.datetime | None = None) -> dict[int, dict]:
    """Every person's snapshot, in a constant number of queries."""
    library = snapshot_library()
    inputs = snapshot_inputs([p.pk for p in people], cycle.period_start, cycle.period_end)
    taken_at = taken_at or timezone.now()
    return {p.pk: snapshot_for(p, cycle, library, inputs=inputs, taken_at=taken_at) for p in people}


__all__ = [
    "SNAPSHOT_STATUSES",
    "SnapshotInputs",
    "SnapshotLibrary",
    "snapshot_for",
    "snapshot_inputs",
    "snapshot_library",
    "snapshots_by_person",
]

