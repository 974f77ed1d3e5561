"""Template helpers for the two interface languages (English and Simplified Chinese)."""

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import format_html
from django.utils.translation import get_language, gettext, gettext_lazy, pgettext_lazy

from scorecard import units

register = template.Library()


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


@register.simple_tag
def chinese_active() -> bool:
    """True when the page is shown in Chinese: `{% chinese_active as zh %}`."""
    return _chinese()


@register.filter
def localized(obj, field: str):
    """`obj.<field>_zh` when the page is in Chinese and that text is set, else `obj.<field>`."""
    if _chinese():
        return getattr(obj, f"{field}_zh", "") or getattr(obj, field)
    return getattr(obj, field)


@register.filter
def with_unit(value, unit) -> str:
    """A number with its unit label as the scorecard shows it: "65%", "420 s", "¥5.2" / "5.2 元"."""
    return units.with_unit(value, str(unit) if unit else "")


BAND_LABELS = {
    "red": gettext_lazy("Red: below baseline"),
    "amber": gettext_lazy("Amber: baseline to typical"),
    "green": gettext_lazy("Green: typical to excellent"),
    "excellent": pgettext_lazy("band", "Excellent"),
}


@register.simple_tag
def score_chip(score, band) -> str:
    """A score as its band's chip: what includes/score.html draws, for tables of many rows (a league table
    draws over a thousand: an include each costs a third of the page's time)."""
    if score is None:
        return format_html('<span class="chip chip-none" title="{}">—</span>', gettext("No score"))
    label = BAND_LABELS.get(band) or gettext("No score")
    return format_html('<span class="chip band-{}" title="{}">{}</span>', band, label, floatformat(score, 1))
