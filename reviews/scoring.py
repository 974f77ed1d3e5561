"""The appraisal's numbers, from its snapshot: plain functions over numbers and snapshot dicts (no ORM).

Snapshot (Appraisal.snapshot, taken at launch):
  {"taken_at": ISO datetime,
   "objectives": [{"id", "title", "kind": "kpi"|"milestone", "kpi": code|None, "baseline", "target",
                   "stretch", "weight" (the contract's, or the objective's, summing to 100), "due_date",
                   "completion_criterion"}],
   "contract": {"id", "version", "content_hash", "reward_terms": [{"grade", "outcome"}], "terms_text"} | None,
   "kpis": {code: {"name", "name_zh", "perspective", "unit", "direction", "formula", "factor",
                   "numerator": [measure codes], "denominator": [measure codes],
                   "baseline", "typical", "excellent", "weight", "min_sample"}},
   "perspectives": {code: {"name", "name_zh", "weight"}}}
"""

from __future__ import annotations

from scorecard.calculations import Formula, Thresholds, kpi_score, kpi_value, weighted_mean


def snapshot_formula(kpi: dict) -> Formula:
    return Formula(float(kpi["factor"]), tuple(kpi["numerator"]), tuple(kpi["denominator"]))


def objective_actual(objective: dict, kpis: dict, sums: dict[str, float]) -> float | None:
    """The KPI objective's value over the period from summed measures, by the snapshot's formula."""
    kpi = kpis.get(objective.get("kpi") or "")
    if objective.get("kind") != "kpi" or kpi is None:
        return None
    return kpi_value(sums, snapshot_formula(kpi))


def objective_system_score(objective: dict, kpis: dict, sums: dict[str, float]) -> float | None:
    """Score a KPI objective through (baseline, 60), (target, 80), (stretch, 100) of the snapshot."""
    if None in (objective.get("baseline"), objective.get("target"), objective.get("stretch")):
        return None
    value = objective_actual(objective, kpis, sums)
    return kpi_score(value, Thresholds(objective["baseline"], objective["target"], objective["stretch"]))


def competency_percent(score: int | None) -> float | None:
    """A 1–5 rating as a score out of 100 (5 → 100, 1 → 20)."""
    return None if score is None else 20.0 * score


def objectives_score(ratings: list[tuple[float | None, float]]) -> float | None:
    """Weighted mean of the objectives' ratings (manager's, else the system score), over the rated ones."""
    return weighted_mean(ratings)


def overall_score(parts: list[tuple[float | None, float]]) -> float | None:
    """The cycle's weighted mean of objectives, competencies and 360 scores; parts weighted 0 or null drop out."""
    return weighted_mean([(score, weight) for score, weight in parts if weight > 0])


def grade_for(score: float | None, scale: list[dict]) -> str:
    """The grade whose [min, max) holds the score; the top grade includes its max."""
    if score is None:
        return ""
    ordered = sorted(scale, key=lambda g: -float(g["min"]))
    for g in ordered:
        if score >= float(g["min"]):
            return g["grade"]
    return ordered[-1]["grade"] if ordered else ""


def grade_rank(grade: str, scale: list[dict]) -> int:
    """0 for the best grade; grades ordered by their minimum score."""
    ordered = [g["grade"] for g in sorted(scale, key=lambda g: -float(g["min"]))]
    return ordered.index(grade) if grade in ordered else len(ordered)


def apply_gate(grade: str, gate_rule: dict, sums: dict[str, float], scale: list[dict]) -> tuple[str, bool]:
    """Cap the grade when the gate rule's measure exceeds its limit in the period (e.g. a fatal error → at most D)."""
    if not gate_rule or not grade:
        return grade, False
    measure, cap = gate_rule.get("measure"), gate_rule.get("cap")
    above = float(gate_rule.get("above", 0))
    if measure and cap and (sums.get(measure) or 0) > above and grade_rank(grade, scale) < grade_rank(cap, scale):
        return cap, True
    return grade, False


def outcome_for(grade: str, reward_terms: list[dict]) -> str:
    """The outcome of a grade in the signed contract's reward and penalty table."""
    for row in reward_terms or []:
        if str(row.get("grade", "")).strip().upper() == grade.upper():
            return row.get("outcome", "")
    return ""
