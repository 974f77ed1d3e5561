"""The scoring maths of METRICS.md as plain functions over numbers (no ORM)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

FORMULA_EMPTY = _("The formula is empty.")
FORMULA_BAD_FORM = _(
    "A formula is either a sum of measures, or [factor ×] sum of measures / sum of measures "
    "(for example “100 × sales_closed / sales_opportunities”)."
)
FORMULA_BAD_FACTOR = _("The factor must be a positive number.")
FORMULA_REPEATED_MEASURE = _("A measure appears twice in the same sum: %(code)s.")

RED, AMBER, GREEN, EXCELLENT = "red", "amber", "green", "excellent"

_MEASURE = r"[a-z][a-z0-9_]*"
_SUM = rf"\(?\s*{_MEASURE}(?:\s*\+\s*{_MEASURE})*\s*\)?"
_FACTOR = r"(?P<factor>[0-9]+(?:\.[0-9]+)?)\s*[×*x]\s*"
_RATIO_RE = re.compile(rf"^\s*(?:{_FACTOR})?(?P<num>{_SUM})\s*/\s*(?P<den>{_SUM})\s*$")
_PLAIN_RE = re.compile(rf"^\s*(?P<num>{_SUM})\s*$")


class FormulaError(ValueError):
    pass


@dataclass(frozen=True)
class Formula:
    factor: float
    numerator: tuple[str, ...]
    denominator: tuple[str, ...] = field(default=())

    @property
    def measures(self) -> tuple[str, ...]:
        return self.numerator + self.denominator

    @property
    def is_ratio(self) -> bool:
        return bool(self.denominator)

    def canonical(self) -> str:
        num = " + ".join(self.numerator)
        if not self.is_ratio:
            return num
        if len(self.numerator) > 1:
            num = f"({num})"
        den = " + ".join(self.denominator)
        if len(self.denominator) > 1:
            den = f"({den})"
        factor = "" if self.factor == 1 else f"{self.factor:g} × "
        return f"{factor}{num} / {den}"


def _split_sum(text: str) -> tuple[str, ...]:
    inner = text.strip()
    if inner.startswith("(") != inner.endswith(")"):
        raise FormulaError(FORMULA_BAD_FORM)
    inner = inner.strip("()")
    codes = tuple(part.strip() for part in inner.split("+"))
    for code in codes:
        if codes.count(code) > 1:
            raise FormulaError(FORMULA_REPEATED_MEASURE % {"code": code})
    return codes


def parse_formula(text: str) -> Formula:
    """Parse `[factor ×] a + b / c + d`, or a plain sum `a + b`; raise FormulaError otherwise."""
    if not text or not text.strip():
        raise FormulaError(FORMULA_EMPTY)
    match = _RATIO_RE.match(text)
    if match:
        factor = float(match.group("factor") or 1)
        if factor <= 0 or not math.isfinite(factor):
            raise FormulaError(FORMULA_BAD_FACTOR)
        return Formula(factor, _split_sum(match.group("num")), _split_sum(match.group("den")))
    match = _PLAIN_RE.match(text)
    if match:
        return Formula(1.0, _split_sum(match.group("num")))
    raise FormulaError(FORMULA_BAD_FORM)


@dataclass(frozen=True)
class Thresholds:
    baseline: float
    typical: float
    excellent: float

    @property
    def higher_is_better(self) -> bool:
        return self.excellent > self.baseline


@dataclass(frozen=True)
class Override:
    """Thresholds that replace the library's for one subject and KPI, and what they come from.

    `label` names the source for the reader (an agreed objective's title) and
    `url` is where it can be read; both may be empty.
    """

    thresholds: Thresholds
    label: str = ""
    url: str = ""


THRESHOLDS_NOT_ORDERED = _(
    "Thresholds must be ordered in the KPI's direction: baseline < typical < excellent when "
    "higher is better, baseline > typical > excellent when lower is better."
)


def thresholds_ordered(baseline: float, typical: float, excellent: float, higher_is_better: bool) -> bool:
    if higher_is_better:
        return baseline < typical < excellent
    return baseline > typical > excellent


def kpi_value(sums: dict[str, float | None], formula: Formula) -> float | None:
    """Apply a formula to summed measures; None (no data) is never read as zero.

    Null when any measure of the formula has no data in the range, or when
    the denominator sums to 0.
    """
    if any(sums.get(code) is None for code in formula.measures):
        return None
    numerator = math.fsum(sums[code] for code in formula.numerator)
    if not formula.is_ratio:
        return numerator
    denominator = math.fsum(sums[code] for code in formula.denominator)
    if denominator == 0:
        return None
    return formula.factor * numerator / denominator


def score_segment(value: float, t: Thresholds) -> str:
    """Name the piece of the score line `value` falls on (for "why this score")."""
    sign = 1 if t.higher_is_better else -1
    if (value - t.excellent) * sign >= 0:
        return "above_excellent"
    if (value - t.typical) * sign >= 0:
        return "typical_excellent"
    if (value - t.baseline) * sign >= 0:
        return "baseline_typical"
    return "below_baseline"


def kpi_score(value: float | None, t: Thresholds) -> float | None:
    """Score piecewise-linearly through (baseline, 60), (typical, 80), (excellent, 100).

    Better than excellent scores 100; worse than baseline continues the
    baseline→typical slope down to 0. Descending thresholds (lower is
    better) need no special case: the same interpolation holds.
    """
    if value is None:
        return None
    segment = score_segment(value, t)
    if segment == "above_excellent":
        return 100.0
    if segment == "typical_excellent":
        return 80.0 + 20.0 * (value - t.typical) / (t.excellent - t.typical)
    score = 60.0 + 20.0 * (value - t.baseline) / (t.typical - t.baseline)
    return max(0.0, score)


def band(score: float | None) -> str | None:
    if score is None:
        return None
    if score < 60:
        return RED
    if score < 80:
        return AMBER
    if score < 100:
        return GREEN
    return EXCELLENT


def weighted_mean(pairs: list[tuple[float | None, float]]) -> float | None:
    """Mean of the non-null scores, weights renormalised over them; None if all are null."""
    present = [(score, weight) for score, weight in pairs if score is not None]
    total = math.fsum(weight for _score, weight in present)
    if not present or total <= 0:
        return None
    return math.fsum(score * weight for score, weight in present) / total


WEIGHTS_NOT_POSITIVE = _("Every weight must be a positive number.")
WEIGHTS_NOT_100 = _("Weights must add up to 100 (they add up to %(total)s).")


def weights_error(weights: list[float]) -> str | None:
    """Return the message for a weight set that is not positive and summing to 100."""
    if any(w is None or not math.isfinite(w) or w <= 0 for w in weights):
        return str(WEIGHTS_NOT_POSITIVE)
    total = math.fsum(weights)
    if abs(total - 100) > 1e-6:
        return str(WEIGHTS_NOT_100 % {"total": f"{total:g}"})
    return None


# The scorecard, built from summed measures by the method of METRICS.md.


@dataclass(frozen=True)
class KpiSpec:
    code: str
    label: str
    unit: str
    perspective: str
    weight: float
    formula: Formula
    thresholds: Thresholds
    min_sample: int | None = None


@dataclass(frozen=True)
class PerspectiveSpec:
    code: str
    label: str
    weight: float
    kpis: tuple[KpiSpec, ...]


@dataclass
class KpiResult:
    spec: KpiSpec
    thresholds: Thresholds
    value: float | None
    score: float | None
    band: str | None
    sums: dict[str, float | None]
    sample: float | None
    insufficient: bool
    override: Override | None = None  # where `thresholds` are not the library's, what replaced them

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def segment(self) -> str | None:
        return None if self.value is None else score_segment(self.value, self.thresholds)


@dataclass
class PerspectiveResult:
    spec: PerspectiveSpec
    score: float | None
    band: str | None
    kpis: list[KpiResult]

    @property
    def code(self) -> str:
        return self.spec.code


@dataclass
class ScorecardResult:
    overall_score: float | None
    band: str | None
    perspectives: list[PerspectiveResult]

    def kpi(self, code: str) -> KpiResult | None:
        for perspective in self.perspectives:
            for result in perspective.kpis:
                if result.code == code:
                    return result
        return None

    @property
    def weakest(self) -> KpiResult | None:
        scored = [k for p in self.perspectives for k in p.kpis if k.score is not None]
        return min(scored, key=lambda k: (k.score, k.code)) if scored else None


def kpi_result(
    spec: KpiSpec, sums: dict[str, float | None], thresholds: Thresholds | Override | None = None
) -> KpiResult:
    override = thresholds if isinstance(thresholds, Override) else None
    if override is not None:
        thresholds = override.thresholds
    elif thresholds is not None:
        override = Override(thresholds)
    thresholds = thresholds or spec.thresholds
    used = {code: sums.get(code) for code in spec.formula.measures}
    value = kpi_value(used, spec.formula)
    sample = None
    if spec.formula.is_ratio and all(used[c] is not None for c in spec.formula.denominator):
        sample = math.fsum(used[c] for c in spec.formula.denominator)
    insufficient = value is not None and spec.min_sample is not None and (sample or 0) < spec.min_sample
    score = None if insufficient else kpi_score(value, thresholds)
    return KpiResult(spec, thresholds, value, score, band(score), used, sample, insufficient, override)


def build_scorecard(
    library: tuple[PerspectiveSpec, ...],
    sums: dict[str, float | None],
    overrides: dict[str, Thresholds | Override] | None = None,
) -> ScorecardResult:
    """Score every KPI from `sums` (measure code → total, None or absent = no data).

    `overrides` replace a KPI's library thresholds (an agent's agreed objective).
    """
    overrides = overrides or {}
    perspectives = []
    for p in library:
        kpis = [kpi_result(spec, sums, overrides.get(spec.code)) for spec in p.kpis]
        score = weighted_mean([(k.score, k.spec.weight) for k in kpis])
        perspectives.append(PerspectiveResult(p, score, band(score), kpis))
    overall = weighted_mean([(p.score, p.spec.weight) for p in perspectives])
    return ScorecardResult(overall, band(overall), perspectives)


def parse_number(value) -> float | None:
    """Read a number typed by a user: None when blank; ValueError when not a finite number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError from None
    if not math.isfinite(number):
        raise ValueError
    return number
