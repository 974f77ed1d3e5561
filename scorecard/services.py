"""Write use cases of the KPI library: measures, KPIs, thresholds and weights.

Every change is validated in full before anything is saved; a refused change
raises ValidationError with a message per field. Threshold and weight changes
are kept in the models' history (django-simple-history) with who and when.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .calculations import (
    THRESHOLDS_NOT_ORDERED,
    FormulaError,
    parse_formula,
    thresholds_ordered,
    weights_error,
)
from .models import Kpi, KpiTerm, Measure, Perspective

MIN_SAMPLE_NEEDS_RATIO = _("A minimum sample needs a ratio KPI: it is compared with the denominator's total.")
KPI_WEIGHT_RANGE = _("A new KPI's weight must be above 0 and below 100: the perspective's other KPIs share the rest.")


def _formula_terms(formula: str):
    """Parse a formula and resolve its measures, or raise ValidationError on `formula`."""
    try:
        parsed = parse_formula(formula)
    except FormulaError as exc:
        raise ValidationError({"formula": str(exc.args[0])}) from exc
    measures = {m.code: m for m in Measure.objects.filter(code__in=parsed.measures)}
    unknown = [c for c in parsed.measures if c not in measures]
    if unknown:
        raise ValidationError(
            {"formula": _("Unknown measure: %(codes)s.") % {"codes": ", ".join(unknown)}}
        )
    return parsed, measures


def _check_kpi_fields(*, direction: str, baseline: float, typical: float, excellent: float, min_sample, parsed) -> dict:
    errors: dict[str, str] = {}
    if direction not in Kpi.Direction.values:
        errors["direction"] = _("Choose “higher” or “lower”.")
    elif not thresholds_ordered(baseline, typical, excellent, direction == Kpi.Direction.HIGHER):
        errors["typical"] = str(THRESHOLDS_NOT_ORDERED)
    if min_sample is not None and parsed is not None and not parsed.is_ratio:
        errors["min_sample"] = str(MIN_SAMPLE_NEEDS_RATIO)
    return errors


def _save_terms(kpi: Kpi, parsed, measures: dict[str, Measure]) -> None:
    kpi.terms.all().delete()
    KpiTerm.objects.bulk_create(
        [KpiTerm(kpi=kpi, measure=measures[c], part=KpiTerm.Part.NUMERATOR) for c in parsed.numerator]
        + [KpiTerm(kpi=kpi, measure=measures[c], part=KpiTerm.Part.DENOMINATOR) for c in parsed.denominator]
    )


@transaction.atomic
def measure_create(
    *, user, code: str, name: str, name_zh: str = "", description: str = "", description_zh: str = "",
    kind: str = Measure.Kind.COUNT, max_value: float | None = None,
) -> Measure:
    """Add a measure; with no maximum per row it gets its kind's default (METRICS.md "Plausible values")."""
    measure = Measure(code=code, name=name, name_zh=name_zh, description=description, description_zh=description_zh,
                      kind=kind, max_value=max_value)
    measure.full_clean()
    measure.save()
    return measure


@transaction.atomic
def measure_update(
    *, user, measure: Measure, name: str, name_zh: str = "", description: str = "", description_zh: str = "",
    kind: str, max_value: float | None = None,
) -> Measure:
    """Change a measure's names, kind and maximum per row (blank: the kind's default); the code is fixed.

    The maximum applies to the imports from now on; values already loaded stay.
    """
    measure = Measure.objects.select_for_update().get(pk=measure.pk)
    measure.name, measure.name_zh = name, name_zh
    measure.description, measure.description_zh = description, description_zh
    measure.kind, measure.max_value = kind, max_value
    measure.full_clean()
    measure.save()
    return measure


@transaction.atomic
def kpi_create(
    *,
    user,
    code: str,
    name: str,
    perspective: Perspective,
    formula: str,
    unit: str,
    direction: str,
    baseline: float,
    typical: float,
    excellent: float,
    weight: float,
    min_sample: int | None = None,
    name_zh: str = "",
    definition: str = "",
    definition_zh: str = "",
) -> Kpi:
    """Add a KPI; the perspective's other KPIs are rescaled to share 100 − weight, in proportion.

    The rescale keeps the perspective summing to 100 and is recorded in each
    sibling's history under the same user.
    """
    parsed, measures = None, {}
    errors: dict[str, str] = {}
    try:
        parsed, measures = _formula_terms(formula)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    errors.update(
        _check_kpi_fields(
            direction=direction, baseline=baseline, typical=typical, excellent=excellent,
            min_sample=min_sample, parsed=parsed,
        )
    )
    siblings = list(Kpi.objects.select_for_update().filter(perspective=perspective))
    if siblings and not (0 < weight < 100):
        errors["weight"] = str(KPI_WEIGHT_RANGE)
    elif not siblings and weight != 100:
        errors["weight"] = _("The only KPI of a perspective carries its whole weight: 100.")
    if Kpi.objects.filter(code=code).exists():
        errors["code"] = _("A KPI with this code already exists.")
    if errors:
        raise ValidationError(errors)
    kpi = Kpi(
        code=code, name=name, name_zh=name_zh, definition=definition, definition_zh=definition_zh,
        perspective=perspective, formula=parsed.canonical(), factor=parsed.factor, unit=unit,
        direction=direction, baseline=baseline, typical=typical, excellent=excellent, weight=weight,
        min_sample=min_sample, order=max((k.order for k in siblings), default=0) + 1,
    )
    kpi.full_clean()
    kpi._history_user = user
    kpi.save()
    _save_terms(kpi, parsed, measures)
    total = sum(k.weight for k in siblings)
    for sibling in siblings:
        sibling.weight = sibling.weight * (100 - weight) / total
        sibling._history_user = user
        sibling._change_reason = f"rescaled for new KPI {code}"
        sibling.save(update_fields=["weight"])
    return kpi


@transaction.atomic
def kpi_update(*, user, kpi: Kpi, **fields) -> Kpi:
    """Change a KPI's texts, formula, unit, direction, thresholds or minimum sample (not its weight)."""
    allowed = {
        "name", "name_zh", "definition", "definition_zh", "formula", "unit", "direction",
        "baseline", "typical", "excellent", "min_sample",
    }
    unexpected = set(fields) - allowed
    if unexpected:
        raise ValidationError({f: _("This field cannot be changed here.") for f in unexpected})
    kpi = Kpi.objects.select_for_update().get(pk=kpi.pk)
    for key, value in fields.items():
        setattr(kpi, key, value)
    parsed, measures, errors = None, {}, {}
    try:
        parsed, measures = _formula_terms(kpi.formula)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    errors.update(
        _check_kpi_fields(
            direction=kpi.direction, baseline=kpi.baseline, typical=kpi.typical, excellent=kpi.excellent,
            min_sample=kpi.min_sample, parsed=parsed,
        )
    )
    if errors:
        raise ValidationError(errors)
    kpi.formula, kpi.factor = parsed.canonical(), parsed.factor
    kpi.full_clean()
    kpi._history_user = user
    kpi.save()
    _save_terms(kpi, parsed, measures)
    return kpi


@transaction.atomic
def weights_update(*, user, perspective_weights: dict[str, float], kpi_weights: dict[str, float]) -> None:
    """Set perspective weights and KPI weights; each set must be positive and sum to 100.

    `perspective_weights` maps every perspective code to its weight;
    `kpi_weights` maps KPI codes to weights and must cover every KPI of each
    perspective it touches. Nothing is saved unless every set is valid.
    """
    perspectives = {p.code: p for p in Perspective.objects.select_for_update()}
    kpis = {k.code: k for k in Kpi.objects.select_for_update().select_related("perspective")}
    errors: dict[str, str] = {}
    if perspective_weights:
        missing = set(perspectives) - set(perspective_weights)
        unknown = set(perspective_weights) - set(perspectives)
        if missing or unknown:
            errors["perspectives"] = _("Give a weight for each of the perspectives: %(codes)s.") % {
                "codes": ", ".join(perspectives)
            }
        else:
            message = weights_error(list(perspective_weights.values()))
            if message:
                errors["perspectives"] = message
    unknown = set(kpi_weights) - set(kpis)
    if unknown:
        errors["kpis"] = _("Unknown KPI: %(codes)s.") % {"codes": ", ".join(sorted(unknown))}
    touched = {kpis[c].perspective.code for c in kpi_weights if c in kpis}
    for pcode in sorted(touched):
        members = [k for k in kpis.values() if k.perspective.code == pcode]
        if any(k.code not in kpi_weights for k in members):
            errors[pcode] = _("Give a weight for every KPI of this perspective.")
            continue
        message = weights_error([kpi_weights[k.code] for k in members])
        if message:
            errors[pcode] = message
    if errors:
        raise ValidationError(errors)
    for code, weight in perspective_weights.items():
        p = perspectives[code]
        if p.weight != weight:
            p.weight = weight
            p._history_user = user
            p.save(update_fields=["weight"])
    for code, weight in kpi_weights.items():
        k = kpis[code]
        if k.weight != weight:
            k.weight = weight
            k._history_user = user
            k.save(update_fields=["weight"])
