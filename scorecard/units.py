"""Units of measure as the KPI library stores them, shown in the user's language."""

from django.utils.translation import pgettext_lazy

# "s" alone is too short a msgid to translate without a context.
UNIT_LABELS = {"%": "%", "s": pgettext_lazy("unit of time", "s"), "currency": pgettext_lazy("unit", "currency")}


def unit_label(unit: str) -> str:
    return str(UNIT_LABELS.get(unit, unit))
