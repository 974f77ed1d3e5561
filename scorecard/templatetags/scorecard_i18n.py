"""Template helpers for the two interface languages (English and Simplified Chinese)."""

from django import template
from django.utils.translation import get_language

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
