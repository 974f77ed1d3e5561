"""The scorecard report PDF: a subject's scorecard over a date range, with trend charts and its members' ranking.

The numbers are the scorecard page's and the ranking page's, from the same
selectors (scorecard_for_subject, weekly_values, ranking_for_unit) and shown
with the same rounding; only the layout is the document's own.

Queries, whatever the number of members: library version (1, again in the
ranking), objective thresholds (1, again in the ranking), measure sums (1),
weekly values (1); for a unit, the ranking's subtree, child units, agents
and grouped sums (4). The visibility check reads only what subject_get loaded.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import selectors
from .access import scope_for
from .calculations import KpiResult
from .charts import trend_svg
from .pdf import document_html, html_to_pdf, svg_data_uri
from .units import unit_label

REPORT_TEMPLATE = "scorecard/pdf/report.html"


def scorecard_report_filename(subject: selectors.Subject, start: dt.date, end: dt.date) -> str:
    return f"{subject.code}_{start.isoformat()}_{end.isoformat()}.pdf"


def _kpi_row(k: KpiResult, weeks: list[dt.date], series: dict[str, list[float | None]]) -> dict:
    """One KPI's line: its result, unit label and weekly chart, drawn as the scorecard page draws it."""
    t = k.thresholds
    unit = unit_label(k.spec.unit)
    label = _("%(kpi)s, weekly values") % {"kpi": k.spec.label}
    svg = trend_svg(weeks, series.get(k.code, []), t.baseline, t.excellent, unit, label=label)
    return {"r": k, "unit": unit, "chart": svg_data_uri(svg), "chart_label": label}


def _ranking(unit, start: dt.date, end: dt.date) -> dict:
    """The ranking page's data, ranked by overall score.

    Every member is inside `unit`, which the reader was allowed to see, so
    the visibility rule admits them all, as on the ranking page.
    """
    kind, members = selectors.ranking_for_unit(unit, start, end)
    perspectives = [p.spec for p in members[0].scorecard.perspectives] if members else []
    rows = [
        {
            "m": m,
            "rank": m.rank,
            "overall": m.scorecard.overall_score,
            "band": m.scorecard.band,
            "perspectives": m.scorecard.perspectives,
            "weakest": m.scorecard.weakest,
        }
        for m in members
    ]
    return {"kind": kind, "rows": rows, "perspectives": perspectives}


def scorecard_report_context(subject: selectors.Subject, start: dt.date, end: dt.date, *, user) -> dict:
    """Everything the report shows, in the active language (KPI names and chart labels are resolved here)."""
    if not scope_for(user).sees_owner(subject.obj):
        raise Http404
    library = selectors.library_load()
    result = selectors.scorecard_for_subject(subject, start, end, library=library)
    weeks, series = selectors.weekly_values(subject, start, end, library)
    return {
        "subject": subject,
        "start": start,
        "end": end,
        "result": result,
        "perspectives": [
            {"p": p, "kpis": [_kpi_row(k, weeks, series) for k in p.kpis]} for p in result.perspectives
        ],
        "ranking": _ranking(subject.obj, start, end) if subject.is_unit else None,
        "generated_on": timezone.localdate(),
        "generated_by": user,
    }


def scorecard_report_html(subject: selectors.Subject, start: dt.date, end: dt.date, *, language: str, user) -> str:
    """The report's HTML in `language`; Http404 when `user` may not see the subject."""
    with translation.override(language):
        context = scorecard_report_context(subject, start, end, user=user)
    return document_html(REPORT_TEMPLATE, context, language=language)


def scorecard_report_pdf(subject: selectors.Subject, start: dt.date, end: dt.date, *, language: str, user) -> bytes:
    return html_to_pdf(scorecard_report_html(subject, start, end, language=language, user=user))
