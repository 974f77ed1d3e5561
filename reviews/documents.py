"""The appraisal as a document: the CSR performance evaluation form (客户服务代表绩效评估表) as a PDF.

Read only: nothing here writes. What appraisal_prepare would store (the
actual result and system score of a KPI objective still empty, the rows of
objectives added to the snapshot) is computed in memory from the same data,
so the document shows the numbers the appraisal page shows.

The scorecard of the document is the appraisee's over the cycle's period,
scored against the snapshot's KPI definitions and thresholds (the objectives'
thresholds overriding the library's, as on the live scorecard): a filed
document must not change when the library is edited later.

Queries, whatever the number of objectives, KPIs, weeks, competencies and
360 answers: measure codes (1), measure sums (1), weekly values (1),
objective ratings (1), competencies with their ratings (2), the 360 results
(feedback_results: 2, none before the 360 phase is over) — plus the cached
KPI library (1) for an appraisal whose snapshot holds no KPI. The appraisal
comes loaded with its cycle, person, unit and manager (appraisals.appraisal_get).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from scorecard.calculations import KpiSpec, PerspectiveSpec, Thresholds, build_scorecard
from scorecard.charts import sparkline_svg
from scorecard.models import Measure, Person
from scorecard.pdf import document_html, html_to_pdf, svg_data_uri
from scorecard.periods import quarter_of
from scorecard.selectors import Library, Subject, library_load, measure_sums, subject_for_unit, weekly_values
from scorecard.units import unit_label

from . import appraisals as svc
from . import scoring
from .feedback import feedback_results, results_table
from .models import Appraisal
from .selectors import gate_measure_label, next_objectives_named

APPRAISAL_TEMPLATE = "reviews/pdf/appraisal.html"
P = Appraisal.Part
SHARED = (P.SUBMITTED, P.NOT_SUBMITTED)
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|\s]+')


def _zh() -> bool:
    return (get_language() or "").lower().startswith("zh")


def _name(entry: dict, fallback: str = "") -> str:
    """A snapshot entry's name in the active language."""
    return (entry.get("name_zh") if _zh() else "") or entry.get("name") or fallback


def _safe(part: str) -> str:
    return _UNSAFE_IN_NAME.sub("_", part.strip()) or "_"


def cycle_slug(cycle) -> str:
    """The cycle in a file name, in ASCII: its name ("2026 Q3 review" → "2026-q3-review"), or, for a name
    with other letters (a Chinese name), its period ("2026-q3", else "20260701-20260930")."""
    if cycle.name.isascii() and slugify(cycle.name):
        return slugify(cycle.name)
    start, end = cycle.period_start, cycle.period_end
    if (start, end) == quarter_of(start):
        return f"{start.year}-q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


def appraisal_filename(appraisal: Appraisal, language: str) -> str:
    """The file name by cycle, employee code and language, e.g. "appraisal_2026-q3-review_ALICE_en.pdf"
    (also its name inside an export ZIP)."""
    return (f"appraisal_{cycle_slug(appraisal.cycle)}_{_safe(appraisal.person.employee_code)}"
            f"_{_safe(language.lower())}.pdf")


# ------------------------------------------------------------------ scorecard


def _snapshot_perspectives(snapshot: dict) -> tuple[PerspectiveSpec, ...]:
    """The snapshot's perspectives and KPIs as the scorecard maths reads them, labels in the active language."""
    kpis = snapshot.get("kpis") or {}
    specs = []
    for code, p in (snapshot.get("perspectives") or {}).items():
        members = tuple(
            KpiSpec(
                code=kpi_code,
                label=_name(k, kpi_code),
                unit=k.get("unit") or "",
                perspective=code,
                weight=float(k.get("weight") or 0),
                formula=scoring.snapshot_formula(k),
                thresholds=Thresholds(float(k["baseline"]), float(k["typical"]), float(k["excellent"])),
                min_sample=k.get("min_sample") or None,
            )
            for kpi_code, k in kpis.items()
            if k.get("perspective") == code
        )
        specs.append(PerspectiveSpec(code, _name(p, code), float(p.get("weight") or 0), members))
    return tuple(specs)


def _objective_thresholds(objectives: dict[int, dict]) -> dict[str, Thresholds]:
    """The KPI objectives' own thresholds (baseline, target, stretch), which replace the library's."""
    found = {}
    for o in objectives.values():
        points = (o.get("baseline"), o.get("target"), o.get("stretch"))
        if o.get("kind") == "kpi" and o.get("kpi") and None not in points:
            found.setdefault(o["kpi"], Thresholds(float(o["baseline"]), float(o["target"]), float(o["stretch"])))
    return found


LEADERS = (Person.Role.MANAGER, Person.Role.DIRECTOR)


def scorecard_subject(appraisal: Appraisal) -> Subject:
    """Whose figures the appraisal's scorecard shows: an agent's own; a manager's or director's, the unit
    they were appraised in, which they lead (its whole subtree: their work shows in their people's
    figures, they handle no contacts of their own). 1 query for a unit below the root, none otherwise."""
    if appraisal.person.role in LEADERS and appraisal.unit_id:
        return subject_for_unit(appraisal.unit)
    return Subject(appraisal.person)


def _scorecard(appraisal: Appraisal, objectives: dict[int, dict], measure_codes: dict[int, str]) -> dict:
    """The scorecard over the cycle's period (see scorecard_subject), with a weekly trend chart per KPI
    (2 queries; for a manager 2 more: the unit's subtree and their own sums). "sums": the appraisee's own
    measure sums, by code, which their objectives are scored on whoever's figures the scorecard shows."""
    cycle = appraisal.cycle
    snapshot = appraisal.snapshot or {}
    perspectives = _snapshot_perspectives(snapshot) if snapshot.get("kpis") else library_load().perspectives
    subject = scorecard_subject(appraisal)
    sums_by_id = measure_sums(subject, cycle.period_start, cycle.period_end)
    sums = {measure_codes[m]: v for m, v in sums_by_id.items() if m in measure_codes}
    result = build_scorecard(perspectives, sums, _objective_thresholds(objectives))
    weeks, series = weekly_values(subject, cycle.period_start, cycle.period_end, Library(perspectives, measure_codes))
    rows = []
    for p in result.perspectives:
        kpis = []
        for k in p.kpis:
            values = series.get(k.code, [])
            unit = unit_label(k.spec.unit)
            chart = None
            # A KPI without a single weekly value gets no chart: an empty frame says nothing "no data" does not.
            if any(v is not None for v in values):
                chart = svg_data_uri(sparkline_svg(
                    weeks, values, k.thresholds.baseline, k.thresholds.excellent,
                    label=_("%(kpi)s, weekly values") % {"kpi": k.spec.label},
                ))
            kpis.append({"r": k, "unit": unit, "chart": chart})
        rows.append({"p": p, "kpis": kpis})
    if subject.is_unit:
        own = measure_sums(Subject(appraisal.person), cycle.period_start, cycle.period_end)
        sums = {measure_codes[m]: v for m, v in own.items() if m in measure_codes}
    return {"result": result, "perspectives": rows, "sums": sums, "unit": subject.obj if subject.is_unit else None}


# ------------------------------------------------------------------------ 360


def _feedback(appraisal: Appraisal) -> dict:
    """The 360 summary as feedback_results gives it, as the 360 page's table (none before the 360 phase is over).

    Nothing else of the 360 tables is read.
    """
    return results_table(feedback_results(appraisal))


# ------------------------------------------------------------------- document


@dataclass(frozen=True)
class _Visibility:
    self_part: bool
    manager_part: bool


def _visibility(appraisal: Appraisal, viewer) -> _Visibility:
    """What the viewer may read of the drafts; without a viewer, what HR sees (the cycle's export)."""
    if viewer is None:
        return _Visibility(appraisal.self_status in SHARED, True)
    return _Visibility(svc.self_visible(viewer, appraisal), svc.manager_visible(viewer, appraisal))


def appraisal_document_context(appraisal: Appraisal, *, viewer=None) -> dict:
    """Everything the document shows, in the active language (see the module docstring for the queries)."""
    cycle = appraisal.cycle
    snapshot = appraisal.snapshot or {}
    objectives = svc.snapshot_objectives(appraisal)
    measure_codes = dict(Measure.objects.values_list("pk", "code"))
    scorecard = _scorecard(appraisal, objectives, measure_codes)
    visible = _visibility(appraisal, viewer)
    contract = snapshot.get("contract") or {}
    return {
        "a": appraisal,
        "cycle": cycle,
        "rows": svc.objective_rows(
            appraisal, svc.objective_ratings_completed(appraisal, objectives=objectives, sums=scorecard["sums"])),
        "total_weight": sum(float(o.get("weight") or 0) for o in objectives.values()),
        "scorecard": scorecard,
        "competencies": svc.competency_rows(appraisal),
        "feedback": _feedback(appraisal),
        "show_self": visible.self_part,
        "show_manager": visible.manager_part,
        "manager_final": appraisal.manager_status in SHARED,
        "scale": sorted(cycle.scale or [], key=lambda g: -float(g["min"])),
        "reward_terms": contract.get("reward_terms") or [],
        "contract": contract or None,
        "gate_measure": gate_measure_label(cycle.gate_rule) if appraisal.gate_applied else "",
        "next_objectives": next_objectives_named(appraisal),
        "zh": _zh(),
    }


def appraisal_document_html(appraisal: Appraisal, *, language: str, viewer=None) -> str:
    """The document's HTML in `language`; `viewer` hides the drafts they may not read (None: HR's view)."""
    with translation.override(language):
        # Labels (KPIs, competencies, 360 groups) are chosen while the context is built.
        context = appraisal_document_context(appraisal, viewer=viewer)
        return document_html(APPRAISAL_TEMPLATE, context, language=language)


def appraisal_pdf(appraisal: Appraisal, *, language: str, viewer=None) -> bytes:
    return html_to_pdf(appraisal_document_html(appraisal, language=language, viewer=viewer))
