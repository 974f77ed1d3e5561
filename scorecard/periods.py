"""Date ranges for scorecards: presets (quarter, month, week) and parsing of start/end."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PRESETS = {
    "this_quarter": _("This quarter"),
    "last_quarter": _("Last quarter"),
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "this_week": _("This week"),
    "last_week": _("Last week"),
}
BAD_DATE = _("Enter a date as YYYY-MM-DD.")
START_AFTER_END = _("The start date must not be after the end date.")
RANGE_TOO_LONG = _("A range may cover at most 3 years.")


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    end = (dt.date(day.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)) - dt.timedelta(days=1)
    return start, end


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return start, end


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day - dt.timedelta(days=day.weekday())
    return start, start + dt.timedelta(days=6)


def preset_range(name: str, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.localdate()
    if name == "this_quarter":
        return quarter_of(today)
    if name == "last_quarter":
        return quarter_of(quarter_of(today)[0] - dt.timedelta(days=1))
    if name == "this_month":
        return month_of(today)
    if name == "last_month":
        return month_of(today.replace(day=1) - dt.timedelta(days=1))
    if name == "this_week":
        return week_of(today)
    if name == "last_week":
        return week_of(today - dt.timedelta(days=7))
    raise ValidationError({"preset": _("Unknown preset.")})


def parse_date(value: str, field: str) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError({field: BAD_DATE}) from None


def parse_range(start: str | None, end: str | None, preset: str | None = None, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Read a range from a preset or start/end; with neither, this quarter."""
    if preset:
        return preset_range(preset, today)
    if not start and not end:
        return preset_range("this_quarter", today)
    errors = {}
    parsed = {}
    for field, value in (("start", start), ("end", end)):
        try:
            parsed[field] = parse_date(value or "", field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if parsed["start"] > parsed["end"]:
        raise ValidationError({"end": START_AFTER_END})
    if (parsed["end"] - parsed["start"]).days > 3 * 366:
        raise ValidationError({"end": RANGE_TOO_LONG})
    return parsed["start"], parsed["end"]
