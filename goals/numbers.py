"""How the goals pages print a KPI's numbers: the same decimals for every value of one KPI, with its unit.

A KPI's values are read side by side (target, value so far, forecast; one
row per owner in the cascade tree), so they carry the same number of
decimals, chosen by the KPI's unit: percentages to one decimal, seconds
whole, money to two. The API keeps the full precision (METRICS.md).
"""

from __future__ import annotations

from django.utils.formats import number_format

from scorecard.units import unit_label, with_unit

# By the unit the library stores; any other unit reads to one decimal.
DECIMALS = {"%": 1, "s": 0, "currency": 2}
DEFAULT_DECIMALS = 1


def kpi_decimals(unit: str | None) -> int:
    """The decimals a value of a KPI with this unit is printed with."""
    return DECIMALS.get(unit or "", DEFAULT_DECIMALS)


def kpi_number(value: float | None, unit: str | None) -> str:
    """The value with its KPI's decimals and no unit ("" for no value): for inputs and aligned columns."""
    if value is None:
        return ""
    places = kpi_decimals(unit)
    text = f"{value:.{places}f}"
    return f"{0:.{places}f}" if float(text) == 0 else text  # never "-0.0"


def kpi_display(value: float | None, unit: str | None) -> str:
    """The value with its KPI's decimals and its unit in the reader's language: "74.0%", "360 s", "¥4.80" ("—": none)."""
    if value is None:
        return "—"
    places = kpi_decimals(unit)
    text = number_format(float(kpi_number(value, unit)), places)
    return with_unit(text, unit_label(unit) if unit else "")
