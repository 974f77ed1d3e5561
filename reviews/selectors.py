"""Read use cases of review cycles: who sees which cycle and appraisal, and a cycle's completion.

Visibility is reviews.access (the core's scope applied to appraisals): an agent
sees their own appraisal; a manager sees the appraisals of their unit's subtree
(and their own); HR, directors and superusers see all. A cycle is visible to
whom sees one of its appraisals; HR and directors see every cycle, drafts too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from scorecard.models import Kpi, Measure

from .access import appraisals_visible, cycles_visible  # noqa: F401 (also selectors.appraisals_visible, ...)
from .models import Appraisal, FeedbackRequest, ReviewCycle

P = Appraisal.Part


def cycle_get(user, pk: int) -> ReviewCycle:
    """The cycle if the user may see it; 404 otherwise, so ids cannot be probed."""
    cycle = cycles_visible(user).filter(pk=pk).first()
    if cycle is None:
        raise Http404
    return cycle


def cycle_appraisals(user, cycle: ReviewCycle) -> QuerySet[Appraisal]:
    """The appraisals of the cycle the user may see, with the people and units they show (1 query)."""
    return (
        appraisals_visible(user)
        .filter(cycle=cycle)
        .select_related("person", "unit", "manager")
        .defer("snapshot")  # large, and not shown in lists
        .order_by("unit__path", "person__employee_code")
    )


# ---------------------------------------------------------------- completion


@dataclass
class UnitCompletion:
    """One unit's progress through the phases of a cycle."""

    unit_id: int | None
    code: str
    name: str
    participants: int = 0
    self_submitted: int = 0
    manager_submitted: int = 0
    acknowledged: int = 0
    self_late: int = 0
    manager_late: int = 0

    def percent(self, n: int) -> int:
        return round(100 * n / self.participants) if self.participants else 0

    @property
    def self_percent(self) -> int:
        return self.percent(self.self_submitted)

    @property
    def manager_percent(self) -> int:
        return self.percent(self.manager_submitted)

    @property
    def acknowledged_percent(self) -> int:
        return self.percent(self.acknowledged)


@dataclass
class Completion:
    units: list[UnitCompletion]
    total: UnitCompletion
    # Deadlines passed at `now`: which parts can be late.
    self_overdue: bool = False
    manager_overdue: bool = False
    late: dict[str, list[Appraisal]] = field(default_factory=dict)


def _late_q(cycle: ReviewCycle, now: dt.datetime) -> tuple[Q | None, Q | None]:
    """Who is late per part: the part not submitted while its deadline has passed (None: not yet due)."""
    if cycle.phase == ReviewCycle.Phase.DRAFT:
        return None, None
    self_late = ~Q(self_status=P.SUBMITTED) if now > cycle.self_assessment_due else None
    manager_late = ~Q(manager_status=P.SUBMITTED) if now > cycle.appraisal_due else None
    return self_late, manager_late


def cycle_completion(cycle: ReviewCycle, appraisals: QuerySet[Appraisal] | None = None,
                     now: dt.datetime | None = None, *, with_late: bool = True) -> Completion:
    """Count per unit the participants and the parts done and late (1 grouped query, + 1 for the late list).

    `appraisals` narrows the count to what a viewer may see (appraisals_visible);
    by default the whole cycle.
    """
    now = now or timezone.now()
    qs = (appraisals if appraisals is not None else Appraisal.objects.all()).filter(cycle=cycle)
    self_late, manager_late = _late_q(cycle, now)
    counts = {
        "participants": Count("id"),
        "self_submitted": Count("id", filter=Q(self_status=P.SUBMITTED)),
        "manager_submitted": Count("id", filter=Q(manager_status=P.SUBMITTED)),
        "acknowledged": Count("id", filter=Q(acknowledged_at__isnull=False)),
    }
    if self_late is not None:
        counts["self_late"] = Count("id", filter=self_late)
    if manager_late is not None:
        counts["manager_late"] = Count("id", filter=manager_late)
    rows = qs.order_by().values("unit_id", "unit__code", "unit__name", "unit__path").annotate(**counts)
    units = []
    total = UnitCompletion(None, "", "")
    counters = ("participants", "self_submitted", "manager_submitted", "acknowledged", "self_late", "manager_late")
    for row in sorted(rows, key=lambda r: [int(x) for x in (r["unit__path"] or "").strip("/").split("/") if x]):
        unit = UnitCompletion(row["unit_id"], row["unit__code"], row["unit__name"],
                              **{c: row.get(c, 0) for c in counters})
        units.append(unit)
        for c in counters:
            setattr(total, c, getattr(total, c) + row.get(c, 0))
    completion = Completion(units, total, self_late is not None, manager_late is not None)
    if with_late:
        completion.late = cycle_late(cycle, qs, now)
    return completion


def cycle_late(cycle: ReviewCycle, appraisals: QuerySet[Appraisal], now: dt.datetime | None = None) -> dict[str, list[Appraisal]]:
    """Who is late, per part ("self_assessment", "appraisal"): name, unit and manager at hand (1 query)."""
    now = now or timezone.now()
    self_late, manager_late = _late_q(cycle, now)
    late: dict[str, list[Appraisal]] = {"self_assessment": [], "appraisal": []}
    parts = [q for q in (self_late, manager_late) if q is not None]
    if not parts:
        return late
    either = parts[0]
    for q in parts[1:]:
        either |= q
    for a in (
        appraisals.filter(cycle=cycle).filter(either)
        .select_related("person", "unit", "manager")
        .order_by("unit__path", "person__employee_code")
    ):
        if self_late is not None and a.self_status != P.SUBMITTED:
            late["self_assessment"].append(a)
        if manager_late is not None and a.manager_status != P.SUBMITTED:
            late["appraisal"].append(a)
    return late


# ------------------------------------------------------------- before a close


@dataclass
class CloseCheck:
    """What closing the cycle now would leave undone: counts of the parts not submitted (2 queries)."""

    participants: int = 0
    self_missing: int = 0  # not submitted (drafts included)
    self_drafts: int = 0
    manager_missing: int = 0
    manager_drafts: int = 0  # their draft ratings would become the final grade
    interviews_missing: int = 0
    acknowledgements_missing: int = 0
    calibrated: int = 0
    feedback_unanswered: int = 0  # 360 requests asked and not answered
    feedback_awaiting_approval: int = 0

    @property
    def anything_missing(self) -> bool:
        return any((self.self_missing, self.manager_missing, self.interviews_missing,
                    self.acknowledgements_missing, self.feedback_unanswered, self.feedback_awaiting_approval))


def cycle_close_check(cycle: ReviewCycle) -> CloseCheck:
    """Count what is missing in the cycle's open appraisals and 360 requests (2 queries)."""
    open_ = Appraisal.objects.filter(cycle=cycle, status=Appraisal.Status.OPEN).order_by()
    counts = open_.aggregate(
        participants=Count("id"),
        self_missing=Count("id", filter=~Q(self_status=P.SUBMITTED)),
        self_drafts=Count("id", filter=Q(self_status=P.DRAFT)),
        manager_missing=Count("id", filter=~Q(manager_status=P.SUBMITTED)),
        manager_drafts=Count("id", filter=Q(manager_status=P.DRAFT)),
        interviews_missing=Count("id", filter=Q(interview_at__isnull=True)),
        acknowledgements_missing=Count("id", filter=Q(acknowledged_at__isnull=True)),
        calibrated=Count("id", filter=~Q(calibrated_grade="")),
    )
    FS = FeedbackRequest.Status
    feedback = FeedbackRequest.objects.filter(cycle=cycle).order_by().aggregate(
        feedback_unanswered=Count("id", filter=Q(status=FS.OPEN)),
        feedback_awaiting_approval=Count("id", filter=Q(status=FS.PROPOSED)),
    )
    return CloseCheck(**counts, **feedback)


def gate_measure_label(gate_rule: dict | None) -> str:
    """The gate rule's measure by its name in the active language (1 query; "" without a rule)."""
    code = (gate_rule or {}).get("measure")
    if not code:
        return ""
    measure = Measure.objects.filter(code=code).only("name", "name_zh").first()
    return measure.label if measure is not None else code


def kpi_labels(codes) -> dict[str, str]:
    """KPI names in the active language by code (1 query, none without codes)."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return {k.code: k.label for k in Kpi.objects.filter(code__in=codes).only("code", "name", "name_zh")}


def next_objectives_named(appraisal: Appraisal) -> list[dict]:
    """The draft objectives for the next period, each with its KPI's name in the active language (1 query
    when one names a KPI)."""
    drafts = appraisal.next_objectives or []
    names = kpi_labels(d.get("kpi") for d in drafts)
    return [{**d, "kpi_name": names.get(d.get("kpi") or "", d.get("kpi") or "")} for d in drafts]
