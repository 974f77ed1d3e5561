"""Write use cases of the cycle's background jobs: phases at their deadlines, reminders, and the close.

The close freezes every appraisal of a cycle: it claims open appraisals in
batches with a conditional UPDATE (status open → closed), computes their final
scores and grades from the snapshot in the same transaction, and writes the
cycle summary once the last one is closed. Each batch commits or rolls back
whole, so the job can run twice, on two workers at once, or be killed and run
again: every appraisal is closed exactly once, by whichever process claimed it,
and the results do not depend on how the work was split.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count, Exists, F, OuterRef, Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard import outbox
from scorecard.emails import absolute_url, email_send
from scorecard.audit import audit_record
from scorecard.models import AuditEvent, Measurement

from . import scoring, selectors
from .feedback import feedback_scores, requests_close
from .models import (
    Appraisal, AppraisalReminder, CompetencyRating, FeedbackRequest, ObjectiveRating, ReminderRun, ReviewCycle,
)

logger = logging.getLogger(__name__)


Phase = ReviewCycle.Phase
Part = Appraisal.Part
FS = FeedbackRequest.Status

CLOSE_NOT_ALLOWED = _("Only HR may close a review cycle.")
CLOSE_NOT_LAUNCHED = _("This cycle has not been launched: there is nothing to close.")
CLOSE_ALREADY = _("This cycle is already closing or closed.")
CLOSE_EARLY_NEEDS_REASON = _(
    "The cycle has not reached its calibration phase: closing it now is an override and needs a written reason."
)

# Closing in these phases cuts the cycle short: people are still writing their parts.
EARLY_CLOSE_PHASES = (Phase.SELF_ASSESSMENT, Phase.FEEDBACK, Phase.APPRAISAL)

# Each timed phase, the field holding its deadline, and the phase that follows it.
DEADLINES = {
    Phase.SELF_ASSESSMENT: ("self_assessment_due", Phase.FEEDBACK),
    Phase.FEEDBACK: ("feedback_due", Phase.APPRAISAL),
    Phase.APPRAISAL: ("appraisal_due", Phase.CALIBRATION),
    Phase.CALIBRATION: ("calibration_due", Phase.CLOSING),
}
# A cycle still closing this long after its close started is dispatched again
# (its message was lost or its worker died); a duplicate run is harmless.
CLOSE_STALE_MINUTES = 10

# Fields the close computes; everything written by people (drafts, comments,
# the calibrated grade) is left as it is.
CLOSE_FIELDS = [
    "feedback_score", "objectives_score", "competencies_score", "overall_score", "proposed_grade", "gate_applied",
    "final_grade", "outcome", "self_status", "manager_status",
]


def user_can_close(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.role == user.Role.HR))


# ------------------------------------------------------------------ phases


def phases_advance(*, now: dt.datetime | None = None) -> int:
    """Move every launched cycle past the deadlines that have passed; return how many moves were made.

    Each move is a conditional UPDATE from the expected phase, so two beats at
    once advance a cycle once. At the calibration deadline the close starts.
    Closes that seem stuck (see CLOSE_STALE_MINUTES) are dispatched again.
    """
    now = now or timezone.now()
    moves = 0
    cycles = ReviewCycle.objects.filter(phase__in=ReviewCycle.TIMED_PHASES, launched_at__isnull=False)
    for cycle in cycles:
        phase = cycle.phase
        while phase in DEADLINES:
            field, following = DEADLINES[phase]
            if getattr(cycle, field) > now:
                break
            if following == Phase.CLOSING:
                cycle.phase = phase
                moves += int(_close_start(cycle, expected_phase=phase))
                break
            if not ReviewCycle.objects.filter(pk=cycle.pk, phase=phase).update(phase=following):
                break  # another beat moved it first
            moves += 1
            phase = following
    _closes_requeue(now)
    return moves


def _closes_requeue(now: dt.datetime) -> None:
    from .tasks import close_cycle_task  # tasks imports this module

    stale = now - dt.timedelta(minutes=CLOSE_STALE_MINUTES)
    for pk in ReviewCycle.objects.filter(phase=Phase.CLOSING, closing_started_at__lt=stale).values_list(
        "pk", flat=True
    ):
        close_cycle_task.delay(pk)


# --------------------------------------------------------------- reminders


def _appraisal_url(appraisal_id: int, role: str) -> str:
    """The page where the recipient writes their part: the self-assessment or the manager's appraisal."""
    for name in ("appraisal-self" if role == "person" else "appraisal-manager", "appraisal-detail"):
        try:
            return reverse(name, args=[appraisal_id])
        except NoReverseMatch:  # the appraisal pages belong to another module
            continue
    return f"/reviews/appraisals/{appraisal_id}/"


# Phase → (deadline field, the Appraisal status field of the part due, who writes it).
REMINDED_PARTS = {
    Phase.SELF_ASSESSMENT: ("self_assessment_due", "self_status", "person"),
    Phase.APPRAISAL: ("appraisal_due", "manager_status", "manager"),
}


def reminders_send(*, now: dt.datetime | None = None, hours_before: float | None = None) -> int:
    """Remind those whose part is due within `hours_before` hours and not submitted; return how many were sent.

    Self-assessment: the appraisee; manager appraisal: the manager. Once per
    (appraisal, phase, recipient): the AppraisalReminder row is inserted before
    the email goes out and the email is queued only if the insert succeeded, inside
    its savepoint: the row and the e-mail (scorecard.emails → the outbox) commit
    together, and a mail server that is down delays the e-mail (the task retries
    it); if queueing fails the row is rolled back and the next run tries again.
    Queries: 1 per reminded phase (the due appraisals, with their recipient
    joined, less those already reminded) + per reminder sent its insert
    (savepoint, INSERT, release), and in production the e-mail's outbox row.
    """
    now = now or timezone.now()
    if hours_before is None:
        hours_before = getattr(settings, "REVIEW_REMINDER_HOURS", 48)
    horizon = now + dt.timedelta(hours=hours_before)
    sent = 0
    for phase, (due_field, status_field, role) in REMINDED_PARTS.items():
        reminded = AppraisalReminder.objects.filter(appraisal=OuterRef("pk"), phase=phase, recipient=OuterRef(role))
        due = (
            Appraisal.objects.filter(
                status=Appraisal.Status.OPEN,
                cycle__phase=phase,
                **{f"cycle__{due_field}__gt": now, f"cycle__{due_field}__lte": horizon},
                **{f"{role}__isnull": False, f"{role}__is_active": True},
            )
            .exclude(**{status_field: Part.SUBMITTED})
            .exclude(**{f"{role}__email": ""})
            .exclude(Exists(reminded))
            .select_related("cycle", "person", role)
            .order_by("pk")
        )
        for appraisal in due:
            recipient = getattr(appraisal, role)
            ctx = {
                "appraisal": appraisal,
                "cycle": appraisal.cycle,
                "recipient_name": recipient.name,
                "appraisee_name": appraisal.person.name,
                "for_self": role == "person",
                "due": getattr(appraisal.cycle, due_field),
                "url": absolute_url(_appraisal_url(appraisal.pk, role)),
            }
            try:
                with transaction.atomic():
                    AppraisalReminder.objects.create(appraisal=appraisal, phase=phase, recipient=recipient)
                    email_send("review-reminder", ctx, [recipient.email])
            except IntegrityError:
                continue  # another run got there first
            sent += 1
    return sent


# ------------------------------------------------- HR's "Remind the late ones now"

REMIND_NOW_NOT_ALLOWED = _("Only HR may remind the late ones.")
REMIND_NOW_DRAFT = _("This cycle has not been launched: nobody can be late yet.")
REMIND_NOW_OVER = _("This cycle is closing or closed: reminders can no longer be sent.")
REMIND_NOW_RUNNING = _("Reminders for this cycle are already being sent.")
REMIND_NOW_NOBODY = _("Nobody to remind: every late part was reminded in the last %(hours)s h, or nobody is late.")
# A run still unfinished this long after it started is taken as lost (its worker died): a redelivery may run it again.
REMIND_NOW_STALE_MINUTES = 10

# The late-list key of selectors.cycle_late → (who writes the part, the reminder's phase, as the beat records it).
LATE_PARTS = {
    "self_assessment": ("person", Phase.SELF_ASSESSMENT),
    "appraisal": ("manager", Phase.APPRAISAL),
}


def remind_now_window() -> dt.timedelta:
    """How long a reminder (the beat's or HR's) keeps HR's button from sending the same one again."""
    return dt.timedelta(hours=float(getattr(settings, "REVIEW_REMIND_NOW_HOURS", 1)))


def remind_now_refusal(cycle: ReviewCycle) -> str | None:
    """Why the late cannot be reminded in this cycle now, or None."""
    if cycle.phase == Phase.DRAFT or cycle.launched_at is None:
        return str(REMIND_NOW_DRAFT)
    if cycle.phase in (Phase.CLOSING, Phase.CLOSED):
        return str(REMIND_NOW_OVER)
    return None


@dataclass
class LatePart:
    appraisal: Appraisal
    role: str  # "person" (their self-assessment) or "manager" (the appraisal they write)
    phase: str


@dataclass
class LateReminderPlan:
    """Who "Remind the late ones now" would e-mail, and about which late parts (one e-mail per recipient)."""

    by_recipient: dict[int, list[LatePart]] = field(default_factory=dict)
    recipients: dict = field(default_factory=dict)  # id → Person
    reminders: dict[str, int] = field(default_factory=lambda: {key: 0 for key in LATE_PARTS})
    people: dict[str, set] = field(default_factory=lambda: {key: set() for key in LATE_PARTS})
    skipped: int = 0  # reminded less than REVIEW_REMIND_NOW_HOURS ago
    unreachable: int = 0  # nobody to write to: no manager, no e-mail address, or no longer active
    too_late: int = 0  # parts that can no longer be written (appraisals.self_write_refusal / manager_write_refusal)

    @property
    def total_reminders(self) -> int:
        return sum(self.reminders.values())

    @property
    def emails(self) -> int:
        return len(self.by_recipient)

    @property
    def self_people(self) -> int:
        return len(self.people["self_assessment"])

    @property
    def managers(self) -> int:
        return len(self.people["appraisal"])


def late_reminders_plan(cycle: ReviewCycle, *, now: dt.datetime | None = None) -> LateReminderPlan:
    """Plan the reminders to everyone late now: the appraisee for a late self-assessment, the manager for
    a late manager appraisal; less the parts reminded within REVIEW_REMIND_NOW_HOURS.

    The late are those of the cycle page's late list (selectors.cycle_late), open appraisals only.
    Queries: 2 (the late appraisals with appraisee and manager; the recent reminders), whatever the size.
    """
    now = now or timezone.now()
    plan = LateReminderPlan()
    if remind_now_refusal(cycle):
        return plan
    late = selectors.cycle_late(cycle, Appraisal.objects.filter(status=Appraisal.Status.OPEN), now)
    if not any(late.values()):
        return plan
    recent = set(
        AppraisalReminder.objects.filter(appraisal__cycle=cycle, sent_at__gt=now - remind_now_window())
        .values_list("appraisal_id", "phase", "recipient_id")
    )
    from .appraisals import manager_write_refusal, self_write_refusal  # appraisals' rules decide who may still act

    refusal = {"self_assessment": self_write_refusal, "appraisal": manager_write_refusal}
    for key, (role, phase) in LATE_PARTS.items():
        for appraisal in late[key]:
            appraisal.cycle = cycle  # the rules read the cycle's phase: no query per row
            recipient = getattr(appraisal, role)
            if refusal[key](appraisal) is not None:
                plan.too_late += 1  # a reminder could not lead anywhere: the page would refuse the part
            elif recipient is None or not recipient.is_active or not recipient.email:
                plan.unreachable += 1
            elif (appraisal.pk, phase, recipient.pk) in recent:
                plan.skipped += 1
            else:
                plan.reminders[key] += 1
                plan.people[key].add(recipient.pk)
                plan.recipients[recipient.pk] = recipient
                plan.by_recipient.setdefault(recipient.pk, []).append(LatePart(appraisal, role, phase))
    return plan


@transaction.atomic
def late_reminders_start(*, user, cycle: ReviewCycle) -> ReminderRun:
    """Record HR's "Remind the late ones now" with what it plans, and send in the background once committed.

    Refused (ValidationError) for anyone but HR, for a draft, closing or closed
    cycle, while an earlier press is still sending, and when nobody is left to
    remind. Two presses at once may both start: the reminders themselves are
    claimed one by one (see _reminder_claim), so nobody gets the same one twice.
    """
    from .tasks import remind_late_task  # tasks imports this module

    if not user_can_close(user):
        raise ValidationError(str(REMIND_NOW_NOT_ALLOWED))
    refusal = remind_now_refusal(cycle)
    if refusal:
        raise ValidationError(refusal)
    now = timezone.now()
    if ReminderRun.objects.filter(
        cycle=cycle, finished_at__isnull=True, requested_at__gt=now - dt.timedelta(minutes=REMIND_NOW_STALE_MINUTES)
    ).exists():
        raise ValidationError(str(REMIND_NOW_RUNNING))
    plan = late_reminders_plan(cycle, now=now)
    if not plan.total_reminders:
        raise ValidationError(str(REMIND_NOW_NOBODY % {"hours": _hours(remind_now_window())}))
    run = ReminderRun.objects.create(
        cycle=cycle, requested_by=user, planned_reminders=plan.total_reminders, planned_emails=plan.emails
    )
    outbox.enqueue(remind_late_task, run.pk)  # sent once committed; kept for the drain if the broker is down
    return run


def _hours(window: dt.timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g}"


def _reminder_claim(*, appraisal_id: int, phase: str, recipient_id: int, now: dt.datetime, cutoff: dt.datetime) -> bool:
    """Claim the reminder of this part for this recipient; False if it was sent after `cutoff` (by anyone).

    The reminder row is unique per (appraisal, phase, recipient): an old one is
    claimed by a conditional UPDATE of its time, a missing one by the INSERT.
    Two senders at once: one wins the row, the other's UPDATE matches nothing
    (the time is recent) and its INSERT hits the unique constraint.
    """
    if AppraisalReminder.objects.filter(
        appraisal_id=appraisal_id, phase=phase, recipient_id=recipient_id, sent_at__lte=cutoff
    ).update(sent_at=now):
        return True
    try:
        with transaction.atomic():
            AppraisalReminder.objects.create(appraisal_id=appraisal_id, phase=phase, recipient_id=recipient_id)
    except IntegrityError:
        return False
    return True


def _late_email_ctx(cycle: ReviewCycle, recipient, parts: list[LatePart]) -> dict:
    own = next((p for p in parts if p.role == "person"), None)
    return {
        "cycle": cycle,
        "recipient_name": recipient.name,
        "self_due": cycle.self_assessment_due,
        "appraisal_due": cycle.appraisal_due,
        "self_url": absolute_url(_appraisal_url(own.appraisal.pk, "person")) if own else "",
        "appraisals": [
            {"name": p.appraisal.person.name, "code": p.appraisal.person.employee_code,
             "url": absolute_url(_appraisal_url(p.appraisal.pk, "manager"))}
            for p in parts if p.role == "manager"
        ],
    }


def late_reminders_send(*, run_id: int, now: dt.datetime | None = None) -> ReminderRun | None:
    """Send the reminders of HR's press `run_id`: one e-mail per recipient listing their late parts.

    The run is claimed by a conditional UPDATE (None: done, or another worker
    has it). The late are planned again now (someone may have submitted since
    the press). Each recipient's parts are claimed and their e-mail queued in one
    savepoint (the e-mail goes through the outbox; the task retries while the
    mail server is down): if it cannot be queued, the claims are rolled back,
    the e-mail is counted as failed and the next press tries again.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(minutes=REMIND_NOW_STALE_MINUTES)
    if not ReminderRun.objects.filter(pk=run_id, finished_at__isnull=True).filter(
        Q(started_at__isnull=True) | Q(started_at__lt=stale)
    ).update(started_at=now):
        return None
    run = ReminderRun.objects.select_related("cycle").get(pk=run_id)
    cycle = run.cycle
    plan = late_reminders_plan(cycle, now=now)  # empty if the cycle closed meanwhile
    cutoff = now - remind_now_window()
    counts = {"sent_reminders": 0, "sent_emails": 0, "skipped_reminders": plan.skipped, "failed_emails": 0}
    for recipient_id, parts in plan.by_recipient.items():
        recipient = plan.recipients[recipient_id]
        claimed: list[LatePart] = []
        try:
            with transaction.atomic():
                claimed = [p for p in parts if _reminder_claim(
                    appraisal_id=p.appraisal.pk, phase=p.phase, recipient_id=recipient_id, now=now, cutoff=cutoff
                )]
                if claimed:
                    email_send("review-late-reminder", _late_email_ctx(cycle, recipient, claimed), [recipient.email])
        except (smtplib.SMTPException, OSError):
            logger.exception("reminder run %s: the e-mail to %s could not be sent", run_id, recipient.employee_code)
            counts["failed_emails"] += 1
            counts["skipped_reminders"] += len(parts) - len(claimed)
            continue
        counts["skipped_reminders"] += len(parts) - len(claimed)  # another press got there first
        if claimed:
            counts["sent_emails"] += 1
            counts["sent_reminders"] += len(claimed)
    ReminderRun.objects.filter(pk=run_id).update(finished_at=timezone.now(), **counts)
    run.refresh_from_db()
    return run


def reminder_run_latest(cycle: ReviewCycle) -> ReminderRun | None:
    """HR's latest press of "Remind the late ones now" in this cycle, with who pressed (1 query)."""
    return (
        ReminderRun.objects.filter(cycle=cycle).select_related("requested_by").order_by("-requested_at", "-pk").first()
    )


# ------------------------------------------------------------------- close


def cycle_close_start(*, user, cycle: ReviewCycle, reason: str = "") -> bool:
    """Start closing a launched cycle (HR's Close button); return False if it was already closing or closed.

    Before the calibration phase the close is an override: it needs `reason`,
    which is kept on the cycle with the phase it cut short and who closed it.
    The phase moves to "closing" by a conditional UPDATE, so pressing twice,
    or the button and the calibration deadline together, start one close; the
    task is dispatched once that is committed.
    """
    if not user_can_close(user):
        raise ValidationError(str(CLOSE_NOT_ALLOWED))
    if cycle.phase == Phase.DRAFT or cycle.launched_at is None:
        raise ValidationError(str(CLOSE_NOT_LAUNCHED))
    return _close_start(cycle, user=user, reason=reason)


def close_is_early(cycle: ReviewCycle) -> bool:
    """Closing now would cut the cycle short (before its calibration phase)."""
    return cycle.phase in EARLY_CLOSE_PHASES


@transaction.atomic
def _close_start(cycle: ReviewCycle, *, expected_phase: str | None = None, user=None, reason: str = "") -> bool:
    from .tasks import close_cycle_task  # tasks imports this module

    phases = [expected_phase] if expected_phase else list(ReviewCycle.TIMED_PHASES)
    # The phase as it is now (the row locked on PostgreSQL): whether the close is early is decided on it,
    # not on a copy read before the deadline moved the cycle on.
    current = (
        ReviewCycle.objects.select_for_update().filter(pk=cycle.pk, launched_at__isnull=False)
        .values_list("phase", flat=True).first()
    )
    if current not in phases:
        return False
    reason = (reason or "").strip()
    early = current in EARLY_CLOSE_PHASES
    if early and not reason:
        raise ValidationError({"reason": [str(CLOSE_EARLY_NEEDS_REASON)]})
    now = timezone.now()
    started = (
        ReviewCycle.objects.filter(pk=cycle.pk, phase=current, launched_at__isnull=False)
        .update(
            phase=Phase.CLOSING,
            closing_started_at=now,
            closing_total=Appraisal.objects.filter(cycle_id=cycle.pk).count(),
            closing_done=Appraisal.objects.filter(cycle_id=cycle.pk, status=Appraisal.Status.CLOSED).count(),
            closing_started_by=user,
            closed_early_from=current if early else "",
            close_reason=reason if early else "",
        )
    )
    if not started:
        return False
    cycle.refresh_from_db(fields=[
        "phase", "closing_started_at", "closing_total", "closing_done", "closing_started_by",
        "closed_early_from", "close_reason",
    ])
    # Recorded with the phase change: a broker unreachable now delays the close, it never loses it (scorecard.outbox).
    outbox.enqueue(close_cycle_task, cycle.pk)
    # The close starts here (by HR, or by the calibration deadline when user is None); an early close keeps its reason.
    audit_record(AuditEvent.Action.CYCLE_CLOSED, actor=user, target=cycle, details={
        "from_phase": current, "early": early, **({"reason": reason} if early else {}),
        "appraisals": cycle.closing_total,
    })
    return True


def close_cycle(*, cycle_id: int, batch_size: int = 200, max_batches: int | None = None) -> ReviewCycle | None:
    """Close the open appraisals of a closing cycle in batches, then write its summary; None if not closing.

    `max_batches` stops after that many batches (a run cut short, as a killed
    worker would be); running again continues with the appraisals still open.
    Another worker may close the same cycle at once: each batch is claimed by a
    conditional UPDATE, and only the process that finds nothing left open (its
    own claims committed) writes the summary and the closed phase, once.

    Queries per batch of N appraisals, whatever N: claim (2-3), appraisals,
    objective ratings, competency ratings, measure sums (1 grouped query),
    bulk updates of appraisals and objective ratings, the progress increment.
    """
    cycle = ReviewCycle.objects.filter(pk=cycle_id).first()
    if cycle is None or cycle.phase != Phase.CLOSING:
        return None  # not started, or another run finished it
    batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            claimed = _claim_batch(cycle, batch_size)
            if claimed:
                _close_batch(cycle, claimed)
                ReviewCycle.objects.filter(pk=cycle.pk).update(closing_done=F("closing_done") + len(claimed))
        if not claimed:
            break
        batches += 1
    else:
        return cycle  # cut short
    if Appraisal.objects.filter(cycle_id=cycle.pk, status=Appraisal.Status.OPEN).exists():
        return cycle  # another worker still holds a batch; it finishes the cycle
    summary = cycle_summary(cycle)
    ReviewCycle.objects.filter(pk=cycle.pk, phase=Phase.CLOSING).update(
        phase=Phase.CLOSED, closed_at=timezone.now(), summary=summary
    )
    cycle.refresh_from_db()
    return cycle


def _claim_batch(cycle: ReviewCycle, batch_size: int) -> list[int]:
    """Claim up to batch_size open appraisals for this transaction; return their ids.

    PostgreSQL: lock them with SKIP LOCKED (two workers take different batches)
    and close them. SQLite has one writer at a time: take the write lock first
    (a no-op UPDATE of the cycle), so the open rows read next are not claimed
    by anyone else before this transaction commits.
    """
    open_rows = Appraisal.objects.filter(cycle_id=cycle.pk, status=Appraisal.Status.OPEN).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        open_rows = open_rows.select_for_update(skip_locked=True)
    else:
        ReviewCycle.objects.filter(pk=cycle.pk).update(closing_done=F("closing_done"))
    ids = list(open_rows.values_list("pk", flat=True)[:batch_size])
    if not ids:
        return []
    now = timezone.now()
    claimed = Appraisal.objects.filter(pk__in=ids, status=Appraisal.Status.OPEN).update(
        status=Appraisal.Status.CLOSED, closed_at=now
    )
    if claimed != len(ids):  # cannot happen under the locks above; never close a row twice
        raise RuntimeError(f"cycle {cycle.pk}: claimed {claimed} of {len(ids)} appraisals")
    return ids


def _period_sums(person_ids: list[int], start: dt.date, end: dt.date) -> dict[int, dict[str, float]]:
    """Sum each measure over the period for these people, by measure code: one grouped query."""
    sums: dict[int, dict[str, float]] = defaultdict(dict)
    rows = (
        Measurement.objects.filter(person_id__in=person_ids, date__range=(start, end))
        .values_list("person_id", "measure__code")
        .annotate(total=Sum("value"))
        .order_by()
    )
    for person_id, code, total in rows:
        sums[person_id][code] = total
    return sums


def _close_batch(cycle: ReviewCycle, ids: list[int]) -> None:
    appraisals = list(
        Appraisal.objects.filter(pk__in=ids).only(
            "pk", "person_id", "snapshot", "feedback_score", "calibrated_grade", "self_status", "manager_status"
        )
    )
    ratings: dict[int, list[ObjectiveRating]] = defaultdict(list)
    for rating in ObjectiveRating.objects.filter(appraisal_id__in=ids).only(
        "pk", "appraisal_id", "objective_id", "weight", "system_score", "manager_rating"
    ):
        ratings[rating.appraisal_id].append(rating)
    competencies: dict[int, list[int]] = defaultdict(list)
    for appraisal_id, score in CompetencyRating.objects.filter(appraisal_id__in=ids).values_list(
        "appraisal_id", "score"
    ):
        competencies[appraisal_id].append(score)
    sums = _period_sums([a.person_id for a in appraisals], cycle.period_start, cycle.period_end)
    # 360: the score from the answers as the anonymity rule shows them; unanswered requests marked.
    feedback = feedback_scores(cycle, ids)
    requests_close(ids)

    changed_ratings = []
    for appraisal in appraisals:
        appraisal.feedback_score = feedback.get(appraisal.pk)
        person_sums = sums.get(appraisal.person_id, {})
        changed_ratings += appraisal_finalize(
            appraisal, cycle, ratings.get(appraisal.pk, []), competencies.get(appraisal.pk, []), person_sums
        )
    Appraisal.objects.bulk_update(appraisals, CLOSE_FIELDS)
    if changed_ratings:
        ObjectiveRating.objects.bulk_update(changed_ratings, ["system_score"])


def appraisal_finalize(
    appraisal: Appraisal,
    cycle: ReviewCycle,
    ratings: list[ObjectiveRating],
    competency_scores: list[int],
    sums: dict[str, float],
) -> list[ObjectiveRating]:
    """Set the appraisal's final numbers from its snapshot (no queries); return the ratings whose system score changed.

    Objectives: the manager's rating if set, else the system score under the
    snapshot's thresholds from the period's sums (frozen on the rating).
    Missing parts become "not submitted"; their drafts stay.
    """
    snapshot = appraisal.snapshot or {}
    kpis = snapshot.get("kpis") or {}
    by_objective = {r.objective_id: r for r in ratings}
    pairs: list[tuple[float | None, float]] = []
    changed = []
    seen = set()
    for objective in snapshot.get("objectives") or []:
        rating = by_objective.get(objective.get("id"))
        system = scoring.objective_system_score(objective, kpis, sums)
        if rating is not None:
            seen.add(rating.objective_id)
            if rating.system_score != system and system is not None:
                rating.system_score = system
                changed.append(rating)
            score = rating.manager_rating if rating.manager_rating is not None else (
                system if system is not None else rating.system_score
            )
        else:
            score = system
        pairs.append((score, float(objective.get("weight") or 0)))
    for rating in ratings:  # rated objectives the snapshot no longer lists (should not happen)
        if rating.objective_id not in seen:
            score = rating.manager_rating if rating.manager_rating is not None else rating.system_score
            pairs.append((score, rating.weight))

    appraisal.objectives_score = scoring.objectives_score(pairs)
    percents = [scoring.competency_percent(s) for s in competency_scores]
    appraisal.competencies_score = sum(percents) / len(percents) if percents else None
    appraisal.overall_score = scoring.overall_score([
        (appraisal.objectives_score, cycle.weight_objectives),
        (appraisal.competencies_score, cycle.weight_competencies),
        (appraisal.feedback_score, cycle.weight_feedback),
    ])
    grade = scoring.grade_for(appraisal.overall_score, cycle.scale)
    appraisal.proposed_grade, appraisal.gate_applied = scoring.apply_gate(grade, cycle.gate_rule, sums, cycle.scale)
    appraisal.final_grade = appraisal.calibrated_grade or appraisal.proposed_grade
    reward_terms = (snapshot.get("contract") or {}).get("reward_terms") or []
    appraisal.outcome = scoring.outcome_for(appraisal.final_grade, reward_terms)
    if appraisal.self_status != Part.SUBMITTED:
        appraisal.self_status = Part.NOT_SUBMITTED
    if appraisal.manager_status != Part.SUBMITTED:
        appraisal.manager_status = Part.NOT_SUBMITTED
    return changed


def cycle_summary(cycle: ReviewCycle) -> dict:
    """Count the closed cycle's grades (overall and per unit), the parts not submitted, and the mean score.

    Queries: 3 (totals; per unit and grade; feedback requests).
    """
    closed = Appraisal.objects.filter(cycle_id=cycle.pk, status=Appraisal.Status.CLOSED).order_by()
    totals = closed.aggregate(
        appraisals=Count("pk"),
        mean=Avg("overall_score"),
        self_not_submitted=Count("pk", filter=Q(self_status=Part.NOT_SUBMITTED)),
        manager_not_submitted=Count("pk", filter=Q(manager_status=Part.NOT_SUBMITTED)),
        gate_applied=Count("pk", filter=Q(gate_applied=True)),
        calibrated=Count("pk", filter=~Q(calibrated_grade="")),
    )
    grades: dict[str, int] = {}
    units: dict[str, dict] = {}
    rows = closed.values_list("unit__code", "unit__name", "final_grade").annotate(n=Count("pk")).order_by(
        "unit__code", "final_grade"
    )
    for code, name, grade, n in rows:
        grades[grade] = grades.get(grade, 0) + n
        unit = units.setdefault(code, {"name": name, "appraisals": 0, "grades": {}})
        unit["appraisals"] += n
        unit["grades"][grade] = n
    feedback = FeedbackRequest.objects.filter(cycle_id=cycle.pk).aggregate(
        asked=Count("pk", filter=Q(status__in=(FS.SUBMITTED, FS.NOT_SUBMITTED))),
        answered=Count("pk", filter=Q(status=FS.SUBMITTED)),
    )
    return {
        "appraisals": totals["appraisals"],
        "feedback_asked": feedback["asked"],
        "feedback_answered": feedback["answered"],
        "feedback_not_submitted": feedback["asked"] - feedback["answered"],
        "grades": dict(sorted(grades.items())),
        "units": units,
        "self_not_submitted": totals["self_not_submitted"],
        "manager_not_submitted": totals["manager_not_submitted"],
        "gate_applied": totals["gate_applied"],
        "calibrated": totals["calibrated"],
        "mean_score": None if totals["mean"] is None else round(totals["mean"], 2),
    }


def close_progress(cycle: ReviewCycle) -> dict:
    """The close's progress, for the progress bar and the API."""
    total, done = cycle.closing_total, min(cycle.closing_done, cycle.closing_total)
    percent = 100 if cycle.phase == Phase.CLOSED else (int(100 * done / total) if total else 0)
    return {
        "phase": cycle.phase,
        "closing_total": total,
        "closing_done": done,
        "percent": percent,
        "closing_started_at": cycle.closing_started_at,
        "closed_at": cycle.closed_at,
        "summary": cycle.summary if cycle.phase == Phase.CLOSED else None,
        "closed_early_from": cycle.closed_early_from,
        "close_reason": cycle.close_reason,
    }
