"""Template filters printing a KPI's values with the same decimals and its unit (goals.numbers)."""

from django import template

from goals.numbers import kpi_display, kpi_number

register = template.Library()


@register.filter
def kpi_value(value, unit):
    """`{{ o.target|kpi_value:o.kpi.unit }}` → "74.0%", "360 s", "—" for no value."""
    return kpi_display(None if value in (None, "") else float(value), unit)


@register.filter
def kpi_plain(value, unit):
    """The number alone, with the KPI's decimals: for aligned columns whose header names the unit."""
    return kpi_number(None if value in (None, "") else float(value), unit)
