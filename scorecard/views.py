"""HTML pages: scorecards, rankings, "why this score", the KPI library and the org tree.

Every page that shows a subject resolves it through selectors.subject_get,
which answers 404 for what the user may not see (codes cannot be probed).
Library edit pages answer 404 to anyone but a director / superuser, for the
same reason and so that the answers are consistent.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import selectors, services
from .access import scope_for
from .calculations import KpiResult, PerspectiveResult, ScorecardResult
from .charts import trend_line_svg
from .emails import site_url
from .forms import KpiForm, MeasureForm, RangeForm, WeightsForm, form_errors_from
from .models import Kpi, Measure, OrgUnit, Person, Perspective
from .periods import PRESETS
from .units import unit_label, with_unit

SEGMENT_LABELS = {
    "below_baseline": gettext_lazy("below the baseline"),
    "baseline_typical": gettext_lazy("between baseline and typical"),
    "typical_excellent": gettext_lazy("between typical and excellent"),
    "above_excellent": gettext_lazy("at or beyond excellent"),
}
KPI_SAVED = gettext_lazy("KPI “%(name)s” saved.")
KPI_UNCHANGED = gettext_lazy("Nothing changed.")
WEIGHTS_SAVED = gettext_lazy("Weights saved.")
MEASURE_SAVED = gettext_lazy("Measure “%(code)s” added: formulas can use it now.")
MEASURE_UPDATED = gettext_lazy("Measure “%(code)s” saved: imports check its maximum per row from now on.")
NOT_SAVED = gettext_lazy("Nothing was saved: please correct the fields marked below.")


def _n(x: float | None, places: int = 2) -> str:
    """Format a number for an equation: up to `places` decimals, no trailing zeros."""
    if x is None:
        return "—"
    text = f"{x:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _require_library_editor(request: HttpRequest) -> None:
    if not request.user.can_edit_library:
        raise Http404


def _range(request: HttpRequest) -> tuple[RangeForm, dt.date | None, dt.date | None]:
    """Read the date range from the query string; (form, None, None) when it is invalid."""
    form = RangeForm(request.GET)
    if not form.is_valid():
        return form, None, None
    start, end = form.cleaned_data["range"]
    return form, start, end


def _range_ctx(request: HttpRequest, form: RangeForm, start, end) -> dict:
    """What includes/range_picker.html needs: the form, the dates, and the preset links."""
    keep = {k: v for k, v in request.GET.items() if k not in ("start", "end", "preset")}
    presets = [
        {"code": code, "label": label, "query": "?" + urlencode({**keep, "preset": code}),
         "active": request.GET.get("preset") == code}
        for code, label in PRESETS.items()
    ]
    range_query = urlencode({"start": start.isoformat(), "end": end.isoformat()}) if start else ""
    return {"range_form": form, "start": start, "end": end, "presets": presets, "range_query": range_query,
            "range_keep": keep}


def _breadcrumb(user, subject: selectors.Subject) -> list[OrgUnit]:
    """The units above the subject that the user may see, root first (1 query)."""
    path = subject.obj.path if subject.is_unit else (subject.obj.unit.path if subject.obj.unit_id else "")
    ids = [int(part) for part in path.strip("/").split("/") if part]
    if subject.is_unit:
        ids = ids[:-1]
    if not ids:
        return []
    units = OrgUnit.objects.filter(pk__in=ids).order_by("depth")
    scope = scope_for(user)
    return [u for u in units if scope.sees_unit(u)]


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, its e-mail link built on the configured site address (scorecard.emails)."""

    def form_valid(self, form):
        self.extra_email_context = {"site_url": site_url()}
        return super().form_valid(form)


# ---------------------------------------------------------------- scorecard


def _override_note(k: KpiResult, unit: str) -> dict | None:
    """What replaced the library's thresholds of a KPI for this subject (an agreed objective), for the row."""
    o = k.override
    if o is None:
        return None
    numbers = {name: with_unit(_n(getattr(o.thresholds, attr)), unit)
               for name, attr in (("baseline", "baseline"), ("target", "typical"), ("stretch", "excellent"))}
    return {"label": o.label, "url": o.url, **numbers}


def _kpi_rows(p: PerspectiveResult, weeks, series, subject_code: str, range_query: str, standing=None):
    rows = []
    for k in p.kpis:
        t = k.thresholds
        unit = unit_label(k.spec.unit)
        team = standing.get(k.code) if standing else None
        rows.append({
            "r": k,
            "unit": unit,
            "chart": trend_line_svg(
                weeks, series.get(k.code, []), t.baseline, t.excellent, unit,
                label=_("%(kpi)s, weekly values") % {"kpi": k.spec.label},
            ),
            "why_url": reverse("kpi-why", args=[subject_code, k.code]) + (f"?{range_query}" if range_query else ""),
            "override": _override_note(k, unit),
            "team": team,
            "team_value": with_unit(_n(team.team_value, 1), unit) if team and team.team_value is not None else None,
        })
    return rows


def _is_agent_in_a_team(subject: selectors.Subject) -> bool:
    return not subject.is_unit and subject.obj.role == Person.Role.AGENT and bool(subject.obj.unit_id)


@login_required
def scorecard_page(request: HttpRequest, code: str) -> HttpResponse:
    """Show a subject's balanced scorecard over a date range.

    Queries, whatever the data size: subject (2), breadcrumb (1), library (1 when
    cached, 4 after a library change), daily sums for the totals and the weekly
    trend (1: selectors.scorecard_with_trend) — plus
    session, user and navigation; for an agent, the team's standing per KPI
    (selectors.team_standing: 5). tests/scorecard/test_pages.py pins the counts.
    """
    subject = selectors.subject_get(request.user, code)
    form, start, end = _range(request)
    ctx = {"subject": subject, "breadcrumb": _breadcrumb(request.user, subject), **_range_ctx(request, form, start, end)}
    if start is None:
        return render(request, "scorecard/scorecard.html", ctx, status=400)
    library = selectors.library_load()
    result, weeks, series = selectors.scorecard_with_trend(subject, start, end, library=library)
    standing = selectors.team_standing(subject.obj, start, end, library=library) if _is_agent_in_a_team(subject) else None
    ctx["result"] = result
    ctx["team"] = subject.obj.unit if standing is not None else None
    ctx["perspectives"] = [
        {"p": p, "kpis": _kpi_rows(p, weeks, series, subject.code, ctx["range_query"], standing)}
        for p in result.perspectives
    ]
    return render(request, "scorecard/scorecard.html", ctx)


# ------------------------------------------------------------------ ranking

LEVEL_LABELS = {
    selectors.LEVEL_UNITS: gettext_lazy("Units directly below"),
    selectors.LEVEL_TEAMS: gettext_lazy("All teams beneath"),
    selectors.LEVEL_AGENTS: gettext_lazy("All agents beneath"),
}
LEVEL_DESCRIPTIONS = {
    selectors.LEVEL_UNITS: gettext_lazy("The units directly below, each with everything beneath it."),
    selectors.LEVEL_TEAMS: gettext_lazy("Every team of the subtree (the units with no unit below them), "
                                        "however deep."),
    selectors.LEVEL_AGENTS: gettext_lazy("Every active agent of the subtree, on their own scorecard."),
}


def _ranking_rows(table: selectors.Ranking, unit: str) -> list[dict]:
    perspectives = [p.code for p in table.library.perspectives]
    rows = []
    for m in table.members:
        scores = {p.code: p for p in m.scorecard.perspectives}
        weakest = m.scorecard.weakest
        k = m.scorecard.kpi(table.sort) if table.sort_kind == "kpi" else None
        rows.append({
            "m": m,
            "rank": m.rank,
            "overall": m.scorecard.overall_score,
            "band": m.scorecard.band,
            "cells": [
                {"p": scores[code], "has_weakest": weakest is not None and weakest.spec.perspective == code}
                for code in perspectives
            ],
            "weakest": weakest,
            "kpi": k,
            "kpi_value": with_unit(_n(k.value, 1), unit) if k is not None and k.value is not None else None,
        })
    return rows


@login_required
def ranking_page(request: HttpRequest, code: str) -> HttpResponse:
    """A league table of a unit's subtree: units below, every team or every agent, by any score.

    `level` is units | teams | agents; `sort` is overall, a perspective code
    or a KPI code. Queries, whatever the subtree's size: subject (2),
    breadcrumb (1), library (1 when cached), subtree (1), agents (1, at the
    agents level), one grouped sum (1), objective thresholds (1).
    """
    subject = selectors.subject_get(request.user, code)
    if not subject.is_unit:
        raise Http404
    form, start, end = _range(request)
    ctx = {"subject": subject, "breadcrumb": _breadcrumb(request.user, subject), **_range_ctx(request, form, start, end)}
    if start is None:
        return render(request, "scorecard/ranking.html", ctx, status=400)
    table = selectors.league_table(
        subject.obj, start, end, level=request.GET.get("level") or None, sort=request.GET.get("sort") or "overall"
    )
    kpi = table.kpi
    unit = unit_label(kpi.unit) if kpi else ""
    range_params = {"start": start.isoformat(), "end": end.isoformat()}
    sort_links = [{"code": "overall", "label": _("Overall"), "active": table.sort == "overall"}] + [
        {"code": p.code, "label": p.label, "active": table.sort == p.code} for p in table.library.perspectives
    ]
    for link in sort_links:
        link["query"] = "?" + urlencode({**range_params, "level": table.kind, "sort": link["code"]})
    level_links = [
        {"code": level, "label": LEVEL_LABELS[level], "active": level == table.kind,
         "query": "?" + urlencode({**range_params, "level": level, "sort": table.sort})}
        for level in table.levels
    ]
    sort_choices = [
        {"label": _("Scores"), "options": [{"code": link["code"], "label": link["label"]} for link in sort_links]},
    ] + [
        {"label": p.label, "options": [{"code": k.code, "label": k.label} for k in p.kpis]}
        for p in table.library.perspectives
    ]
    ctx.update({
        "table": table,
        "kind": table.kind,
        "rows": _ranking_rows(table, unit),
        "perspectives": [p for p in table.library.perspectives],
        "sort": table.sort,
        "sort_kpi": kpi,
        "sort_kpi_unit": unit,
        "sort_links": sort_links,
        "sort_choices": sort_choices,
        "level_links": level_links,
        "level_description": LEVEL_DESCRIPTIONS[table.kind],
        "range_keep": {"sort": table.sort, "level": table.kind},
    })
    return render(request, "scorecard/ranking.html", ctx)


# ----------------------------------------------------------------- why page


def _share_rows(pairs: list[tuple[object, float, float | None]]) -> list[dict]:
    """(item, weight, score) → rows with the weight's share among the scored items (renormalised)."""
    total = math.fsum(w for _item, w, score in pairs if score is not None)
    return [
        {"item": item, "weight": w, "score": score,
         "share": (100 * w / total) if score is not None and total > 0 else None}
        for item, w, score in pairs
    ]


def _score_explanation(k: KpiResult) -> dict:
    """Say in words which piece of the score line the value falls on, with its numbers."""
    t, v = k.thresholds, k.value
    segment = k.segment
    numbers = {"value": _n(v), "baseline": _n(t.baseline), "typical": _n(t.typical),
               "excellent": _n(t.excellent), "score": _n(k.score)}
    if segment == "above_excellent":
        text = _("The value %(value)s is at or beyond the excellent value %(excellent)s: the score is capped at 100.")
        equation = ""
    elif segment == "typical_excellent":
        text = _("The value %(value)s lies between the typical value %(typical)s (score 80) and the excellent "
                 "value %(excellent)s (score 100): the score is read off the straight line between them.")
        equation = f"80 + 20 × ({numbers['value']} − {numbers['typical']}) / ({numbers['excellent']} − {numbers['typical']})"
    elif segment == "baseline_typical":
        text = _("The value %(value)s lies between the baseline %(baseline)s (score 60) and the typical value "
                 "%(typical)s (score 80): the score is read off the straight line between them.")
        equation = f"60 + 20 × ({numbers['value']} − {numbers['baseline']}) / ({numbers['typical']} − {numbers['baseline']})"
    else:
        text = _("The value %(value)s is worse than the baseline %(baseline)s: the baseline→typical line is "
                 "continued downwards (20 points per baseline-to-typical step), and the score stops at 0.")
        equation = f"max(0, 60 + 20 × ({numbers['value']} − {numbers['baseline']}) / ({numbers['typical']} − {numbers['baseline']}))"
    if equation and k.score is not None:
        equation += f" = {numbers['score']}"
    return {"segment": segment, "segment_label": SEGMENT_LABELS[segment], "text": text % numbers, "equation": equation}


@login_required
def kpi_why_page(request: HttpRequest, code: str, kpi_code: str) -> HttpResponse:
    """Explain one KPI's score for one subject: sums → formula → value → segment → score → weights → overall."""
    subject = selectors.subject_get(request.user, code)
    kpi = get_object_or_404(Kpi.objects.select_related("perspective"), code=kpi_code)
    form, start, end = _range(request)
    ctx = {"subject": subject, "kpi": kpi, "breadcrumb": _breadcrumb(request.user, subject),
           **_range_ctx(request, form, start, end)}
    if start is None:
        return render(request, "scorecard/kpi_why.html", ctx, status=400)
    result: ScorecardResult = selectors.scorecard_for_subject(subject, start, end)
    k = result.kpi(kpi_code)
    if k is None:
        raise Http404
    perspective = next(p for p in result.perspectives if any(x.code == kpi_code for x in p.kpis))
    labels = {m.code: m.label for m in Measure.objects.filter(code__in=list(k.sums))}
    formula = k.spec.formula
    sums = [
        {"code": c, "label": labels.get(c, c), "total": k.sums.get(c),
         "part": _("numerator") if c in formula.numerator else _("denominator")}
        for c in formula.measures
    ]
    missing = [c for c in formula.measures if k.sums.get(c) is None]
    substituted = ""
    if not missing:
        num = " + ".join(_n(k.sums[c]) for c in formula.numerator)
        if formula.is_ratio:
            den = " + ".join(_n(k.sums[c]) for c in formula.denominator)
            num = f"({num})" if len(formula.numerator) > 1 else num
            den = f"({den})" if len(formula.denominator) > 1 else den
            factor = "" if formula.factor == 1 else f"{_n(formula.factor)} × "
            substituted = f"{factor}{num} / {den}"
        else:
            substituted = num
    ctx.update({
        "result": result,
        "k": k,
        "unit": unit_label(k.spec.unit),
        "override": _override_note(k, unit_label(k.spec.unit)),
        "perspective": perspective,
        "sums": sums,
        "missing": missing,
        "substituted": substituted,
        "value_exact": _n(k.value, 4),
        "score_exact": _n(k.score, 2),
        "explanation": _score_explanation(k) if k.value is not None and not k.insufficient else None,
        "kpi_shares": _share_rows([(x, x.spec.weight, x.score) for x in perspective.kpis]),
        "perspective_shares": _share_rows([(p, p.spec.weight, p.score) for p in result.perspectives]),
    })
    return render(request, "scorecard/kpi_why.html", ctx)


# ----------------------------------------------------------------- library


def _library_perspectives() -> list[Perspective]:
    """Perspectives with their KPIs, in display order (2 queries)."""
    kpis = Kpi.objects.order_by("order", "code")
    return list(Perspective.objects.prefetch_related(Prefetch("kpis", queryset=kpis)))


@login_required
def kpi_list_page(request: HttpRequest) -> HttpResponse:
    """The KPI library by perspective, and the measures formulas may use (3 queries)."""
    perspectives = _library_perspectives()
    rows = [
        {"p": p, "kpis": [{"k": k, "unit": unit_label(k.unit)} for k in p.kpis.all()]}
        for p in perspectives
    ]
    return render(request, "scorecard/kpi_list.html", {"perspectives": rows, "measures": Measure.objects.all()})


_HISTORY_FIELDS = ("name", "name_zh", "definition", "definition_zh", "formula", "unit", "direction",
                   "baseline", "typical", "excellent", "weight", "min_sample", "perspective")
_RECORDED_FIELDS = ("baseline", "typical", "excellent", "weight")


# Reasons are stored in English (migration 0002, services.kpi_create) and shown in the user's language.
_REASON_DEFAULT_LIBRARY = "default library"
_REASON_RESCALED = re.compile(r"rescaled for new KPI (?P<code>\S+)")


def _reason_label(reason: str | None) -> str:
    """The history record's change reason in the user's language; an unknown reason as stored."""
    if not reason:
        return ""
    if reason == _REASON_DEFAULT_LIBRARY:
        return _("Installed with the default library")
    match = _REASON_RESCALED.fullmatch(reason)
    if match:
        return _("Weight rescaled for the new KPI %(code)s") % {"code": match["code"]}
    return reason


def _shown(value):
    return _n(value, 4) if isinstance(value, float) else value


def _history_rows(kpi: Kpi, limit: int = 100) -> list[dict]:
    """The KPI's change history, newest first, each with the fields it changed (1 query).

    A change with no earlier record to compare with (a library loaded
    without history) lists the thresholds and weight it recorded instead.
    """
    records = list(kpi.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1])
    verbose = {f: Kpi._meta.get_field(f).verbose_name for f in _HISTORY_FIELDS}
    rows = []
    for i, record in enumerate(records[:limit]):
        previous = records[i + 1] if i + 1 < len(records) else None
        changes, recorded = [], []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous, included_fields=list(_HISTORY_FIELDS))
            changes = [{"field": verbose[c.field], "old": _shown(c.old), "new": _shown(c.new)} for c in delta.changes]
        elif record.history_type != "-":
            recorded = [{"field": verbose[f], "value": _shown(getattr(record, f))} for f in _RECORDED_FIELDS]
        rows.append({"record": record, "changes": changes, "recorded": recorded,
                     "reason": _reason_label(record.history_change_reason)})
    return rows


@login_required
def kpi_detail_page(request: HttpRequest, code: str) -> HttpResponse:
    """One KPI in the metric format (指标呈现格式), with its change history (2 queries)."""
    kpi = get_object_or_404(Kpi.objects.select_related("perspective"), code=code)
    ctx = {"kpi": kpi, "unit": unit_label(kpi.unit), "history": _history_rows(kpi)}
    return render(request, "scorecard/kpi_detail.html", ctx)


@login_required
def kpi_create_page(request: HttpRequest) -> HttpResponse:
    _require_library_editor(request)
    form = KpiForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            kpi = services.kpi_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, KPI_SAVED % {"name": kpi.label})
            return redirect("kpi-detail", code=kpi.code)
    status = 400 if form.errors else 200
    if form.errors:
        messages.error(request, NOT_SAVED)
    return render(request, "scorecard/kpi_form.html", {"form": form, "measures": Measure.objects.all()}, status=status)


@login_required
def kpi_edit_page(request: HttpRequest, code: str) -> HttpResponse:
    _require_library_editor(request)
    kpi = get_object_or_404(Kpi.objects.select_related("perspective"), code=code)
    form = KpiForm(request.POST or None, kpi=kpi)
    if request.method == "POST" and form.is_valid():
        changed = {f: form.cleaned_data[f] for f in form.changed_data}
        if not changed:
            messages.info(request, KPI_UNCHANGED)
            return redirect("kpi-detail", code=kpi.code)
        try:
            kpi = services.kpi_update(user=request.user, kpi=kpi, **changed)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, KPI_SAVED % {"name": kpi.label})
            return redirect("kpi-detail", code=kpi.code)
    status = 400 if form.errors else 200
    if form.errors:
        messages.error(request, NOT_SAVED)
    ctx = {"form": form, "kpi": kpi, "measures": Measure.objects.all()}
    return render(request, "scorecard/kpi_form.html", ctx, status=status)


@login_required
def kpi_weights_page(request: HttpRequest) -> HttpResponse:
    """Set the four perspective weights and every KPI weight in one form (services.weights_update)."""
    _require_library_editor(request)
    form = WeightsForm(request.POST or None, perspectives=_library_perspectives())
    if request.method == "POST" and form.is_valid():
        try:
            services.weights_update(
                user=request.user, perspective_weights=form.perspective_weights(), kpi_weights=form.kpi_weights()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, WEIGHTS_SAVED)
            return redirect("kpi-list")
    status = 400 if form.errors else 200
    if form.errors:
        messages.error(request, NOT_SAVED)
    return render(request, "scorecard/kpi_weights.html", {"form": form}, status=status)


@login_required
def measure_create_page(request: HttpRequest) -> HttpResponse:
    _require_library_editor(request)
    return _measure_form_page(request, None)


@login_required
def measure_edit_page(request: HttpRequest, code: str) -> HttpResponse:
    """Change a measure's names, kind and maximum per row (directors; anyone else gets 404)."""
    _require_library_editor(request)
    return _measure_form_page(request, get_object_or_404(Measure, code=code))


def _measure_form_page(request: HttpRequest, measure: Measure | None) -> HttpResponse:
    """The measure form: a new measure, or `measure` changed; back to the library's measures once saved."""
    form = MeasureForm(request.POST or None, measure=measure) if measure else MeasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if measure is None:
                measure = services.measure_create(user=request.user, **form.cleaned_data)
                saved = MEASURE_SAVED
            else:
                services.measure_update(user=request.user, measure=measure, **form.cleaned_data)
                saved = MEASURE_UPDATED
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, saved % {"code": measure.code})
            return redirect(reverse("kpi-list") + "#measures")
    status = 400 if form.errors else 200
    if form.errors:
        messages.error(request, NOT_SAVED)
    context = {"form": form, "measure": measure} if measure else {"form": form}
    return render(request, "scorecard/measure_form.html", context, status=status)


# ---------------------------------------------------------------- org tree


@login_required
def org_tree_page(request: HttpRequest) -> HttpResponse:
    """The units the user may see as an indented tree, and the people they may see.

    Agents get 404: they see only themselves, and their own scorecard is
    their home page (the navigation does not offer them this page).
    Queries: units with direct head counts (1), people (1).
    """
    user = request.user
    if not scope_for(user).sees_units:
        raise Http404
    units = list(
        selectors.units_visible(user).annotate(direct=Count("people", filter=Q(people__is_active=True))).order_by()
    )
    # Sorted by the path's ids, every unit comes right after its parent, so the
    # indented list is the tree (a text sort of the path would depend on the collation).
    units.sort(key=lambda u: [int(part) for part in u.path.strip("/").split("/") if part])
    totals: dict[int, int] = {u.pk: 0 for u in units}
    for u in units:
        for part in u.path.strip("/").split("/"):
            if part and int(part) in totals:
                totals[int(part)] += u.direct
    top = min((u.depth for u in units), default=0)
    tree = [{"unit": u, "indent": u.depth - top, "total": totals[u.pk]} for u in units]
    people = selectors.people_visible(user).order_by("unit__path", "employee_code")
    return render(request, "scorecard/org_tree.html", {"tree": tree, "people": people})
