"""Units of measure as the KPI library stores them, shown in the user's language.

Money is stored under the unit "currency" and shown as the center's currency
(settings.CURRENCY): a symbol written before the number in English ("¥3.8"),
a word after it in Chinese ("3.8 元").
"""

from django.conf import settings
from django.utils.translation import pgettext_lazy

# "s" alone is too short a msgid to translate without a context.
UNIT_LABELS = {"%": "%", "s": pgettext_lazy("unit of time", "s")}

# Each currency as a reader sees it: the English text is the symbol, the
# Chinese translation the word. A code not listed here is shown as its code.
CURRENCY_LABELS = {
    "CNY": pgettext_lazy("currency CNY", "¥"),
    "USD": pgettext_lazy("currency USD", "US$"),
    "EUR": pgettext_lazy("currency EUR", "€"),
    "HKD": pgettext_lazy("currency HKD", "HK$"),
    "GBP": pgettext_lazy("currency GBP", "£"),
    "JPY": pgettext_lazy("currency JPY", "JP¥"),
}
# Labels written before the number, without a space.
_PREFIX_SYMBOLS = ("¥", "$", "€", "£")


def currency_label() -> str:
    code = getattr(settings, "CURRENCY", "CNY")
    return str(CURRENCY_LABELS.get(code, code))


def unit_label(unit: str) -> str:
    if unit == "currency":
        return currency_label()
    return str(UNIT_LABELS.get(unit, unit))


def with_unit(value, label: str) -> str:
    """A number (already formatted) with a unit label: "65%", "420 s", "¥3.8", "3.8 元"."""
    if value in (None, ""):
        return value
    text = f"{value}"
    if not label:
        return text
    if label == "%":
        return f"{text}%"
    if label.endswith(_PREFIX_SYMBOLS):
        return f"-{label}{text[1:]}" if text.startswith("-") else f"{label}{text}"
    return f"{text} {label}"


def value_with_unit(value: str, unit: str) -> str:
    """`with_unit` for a unit as the library stores it ("%", "s", "currency")."""
    return with_unit(value, unit_label(unit))
