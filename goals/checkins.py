"""Managing the process (过程管理): check-ins and replies, influencing factors, check-in reminders.

Who may do what (issue 3, the scorecard core's visibility):
- the owner of an objective is the person it belongs to, or, for a unit's
  objective, a manager of that unit;
- the owner's manager is anyone who sees the owner in their subtree
  (scorecard.selectors.person_visible / unit_visible) and is not the owner:
  a manager above, HR, a director;
- check-ins and influencing factors: the owner or their manager; replies:
  the owner's manager, never the check-in's author.
Objectives outside the user's view are 404 (selectors.objective_get_for_user), so ids
cannot be probed. Refused input raises ValidationError by field, nothing saved.
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard.access import Kind, scope_for
from scorecard.models import Kpi, Person

from scorecard.emails import absolute_url, email_send

from .models import CheckIn, CheckInReminder, InfluencingFactor, Objective
from .selectors import objective_visible


S = Objective.Status
# Check-ins follow an objective while it is being worked on.
CHECKIN_STATUSES = (S.AGREED, S.ACTIVE)

NOT_OWNER_OR_MANAGER = _("Only the objective's owner or their manager may check in.")
WRONG_STATUS = _("Check-ins are recorded on agreed or active objectives; this one is “%(status)s”.")
NOTE_REQUIRED = _("Say what progress was made.")
PROGRESS_RANGE = _("Progress is a percentage between 0 and 100.")
PROGRESS_MILESTONE_ONLY = _("Progress in percent is recorded for milestone objectives; a KPI objective's progress comes from its KPI.")
NOT_REPLIER = _("Only the owner's manager may reply to a check-in, and nobody replies to their own check-in.")
REPLY_REQUIRED = _("Write a reply.")
NOT_FACTOR_EDITOR = _("Only the objective's owner or their manager may change its influencing factors.")
FACTOR_NAME_REQUIRED = _("Name the factor.")
FACTOR_NAME_TOO_LONG = _("Keep the factor's name under %(max)s characters.")
FACTOR_NAME_TAKEN = _("This objective already has a factor named “%(name)s”.")
CATEGORY_UNKNOWN = _("Choose a fishbone category: people, method, system, information, environment or measurement.")
KPI_UNKNOWN = _("Unknown KPI.")

FACTOR_NAME_MAX = InfluencingFactor._meta.get_field("name").max_length


# ------------------------------------------------------------------ who may


def is_owner(user, objective: Objective) -> bool:
    """The person the objective belongs to, or a manager of its owner unit."""
    if not user.is_authenticated:
        return False
    if objective.owner_person_id:
        return objective.owner_person_id == user.pk
    scope = scope_for(user)
    return scope.kind == Kind.SUBTREE and scope.unit_id == objective.owner_unit_id


def is_manager(user, objective: Objective) -> bool:
    """Someone who sees the owner in their subtree and is not the owner."""
    return objective_visible(user, objective) and not is_owner(user, objective)


def can_check_in(user, objective: Objective) -> bool:
    return objective.status in CHECKIN_STATUSES and (is_owner(user, objective) or is_manager(user, objective))


def can_reply(user, checkin: CheckIn, objective: Objective) -> bool:
    return checkin.author_id != user.pk and is_manager(user, objective)


def can_edit_factors(user, objective: Objective) -> bool:
    return is_owner(user, objective) or is_manager(user, objective)


# ----------------------------------------------------------------- check-ins


def _clean_progress(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError from None
    if not math.isfinite(number) or not 0 <= number <= 100:
        raise ValueError
    return number


@transaction.atomic
def checkin_create(
    *,
    user,
    objective: Objective,
    progress_note: str,
    progress: float | None = None,
    obstacles: str = "",
    help_needed: str = "",
    next_steps: str = "",
) -> CheckIn:
    """Record a check-in (定期检查) on an agreed or active objective, by its owner or their manager.

    On a milestone objective a progress in percent becomes the objective's progress.
    """
    # Locked, so a status change in flight cannot slip between the check and the write.
    objective = (
        Objective.objects.select_for_update(of=("self",))
        .select_related("owner_unit", "owner_person__unit")
        .get(pk=objective.pk)
    )
    if not (is_owner(user, objective) or is_manager(user, objective)):
        raise ValidationError({"progress_note": str(NOT_OWNER_OR_MANAGER)})
    if objective.status not in CHECKIN_STATUSES:
        raise ValidationError({"progress_note": str(WRONG_STATUS % {"status": objective.get_status_display()})})
    errors: dict[str, str] = {}
    progress_note = (progress_note or "").strip()
    if not progress_note:
        errors["progress_note"] = str(NOTE_REQUIRED)
    try:
        progress = _clean_progress(progress)
    except ValueError:
        errors["progress"] = str(PROGRESS_RANGE)
    else:
        if progress is not None and objective.kind != Objective.Kind.MILESTONE:
            errors["progress"] = str(PROGRESS_MILESTONE_ONLY)
    if errors:
        raise ValidationError(errors)
    checkin = CheckIn.objects.create(
        objective=objective,
        author=user,
        progress_note=progress_note,
        progress=progress,
        obstacles=(obstacles or "").strip(),
        help_needed=(help_needed or "").strip(),
        next_steps=(next_steps or "").strip(),
    )
    if progress is not None:
        # A derived value, not a revision: an UPDATE keeps it out of the objective's history.
        Objective.objects.filter(pk=objective.pk).update(progress=progress, updated_at=timezone.now())
    return checkin


@transaction.atomic
def checkin_reply(*, user, checkin: CheckIn, reply: str) -> CheckIn:
    """Write (or rewrite) the manager's reply to a check-in."""
    checkin = CheckIn.objects.select_for_update(of=("self",)).get(pk=checkin.pk)
    objective = Objective.objects.select_related("owner_unit", "owner_person__unit").get(pk=checkin.objective_id)
    if not can_reply(user, checkin, objective):
        raise ValidationError({"reply": str(NOT_REPLIER)})
    reply = (reply or "").strip()
    if not reply:
        raise ValidationError({"reply": str(REPLY_REQUIRED)})
    checkin.reply = reply
    checkin.replied_by = user
    checkin.replied_at = timezone.now()
    checkin.save(update_fields=["reply", "replied_by", "replied_at"])
    return checkin


# ----------------------------------------------------------------- factors


def _factor_values(objective: Objective, *, name, controllable, influenceable, kpi, category, note, exclude_pk=None) -> dict:
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = str(FACTOR_NAME_REQUIRED)
    elif len(name) > FACTOR_NAME_MAX:
        errors["name"] = str(FACTOR_NAME_TOO_LONG % {"max": FACTOR_NAME_MAX})
    elif (
        InfluencingFactor.objects.filter(objective=objective, name__iexact=name).exclude(pk=exclude_pk).exists()
    ):
        errors["name"] = str(FACTOR_NAME_TAKEN % {"name": name})
    if category not in InfluencingFactor.Category.values:
        errors["category"] = str(CATEGORY_UNKNOWN)
    if kpi is not None and not isinstance(kpi, Kpi):
        errors["kpi"] = str(KPI_UNKNOWN)
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "controllable": bool(controllable),
        "influenceable": bool(influenceable),
        "kpi": kpi,
        "category": category,
        "note": (note or "").strip(),
    }


def _check_factor_editor(user, objective: Objective) -> None:
    if not can_edit_factors(user, objective):
        raise ValidationError({"name": str(NOT_FACTOR_EDITOR)})


@transaction.atomic
def factor_create(
    *,
    user,
    objective: Objective,
    name: str,
    controllable: bool = False,
    influenceable: bool = False,
    kpi: Kpi | None = None,
    category: str,
    note: str = "",
) -> InfluencingFactor:
    """Add an influencing factor (影响因素) to an objective's worksheet."""
    _check_factor_editor(user, objective)
    values = _factor_values(
        objective, name=name, controllable=controllable, influenceable=influenceable, kpi=kpi,
        category=category, note=note,
    )
    return InfluencingFactor.objects.create(objective=objective, **values)


@transaction.atomic
def factor_update(
    *,
    user,
    factor: InfluencingFactor,
    name: str,
    controllable: bool = False,
    influenceable: bool = False,
    kpi: Kpi | None = None,
    category: str,
    note: str = "",
) -> InfluencingFactor:
    """Change every field of an influencing factor (the API's PATCH fills in the current values)."""
    objective = factor.objective
    _check_factor_editor(user, objective)
    values = _factor_values(
        objective, name=name, controllable=controllable, influenceable=influenceable, kpi=kpi,
        category=category, note=note, exclude_pk=factor.pk,
    )
    for field, value in values.items():
        setattr(factor, field, value)
    factor.save()
    return factor


@transaction.atomic
def factor_delete(*, user, factor: InfluencingFactor) -> None:
    _check_factor_editor(user, factor.objective)
    factor.delete()


# ---------------------------------------------------------------- reminders


def silent_objectives(*, today: dt.date, days: int) -> list[Objective]:
    """Agreed or active objectives in their period with no check-in for `days` days, not yet reminded (1 query).

    Each carries `last_checkin_at` and `since`: the local date of its latest check-in, or its
    period start when it has none — the silence a reminder is for.
    """
    latest = CheckIn.objects.filter(objective=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    return list(
        Objective.objects.filter(status__in=CHECKIN_STATUSES, period_end__gte=today)
        .select_related("owner_person", "owner_unit")
        .annotate(last_checkin_at=Subquery(latest))
        .annotate(since=Coalesce(TruncDate("last_checkin_at"), "period_start"))
        .filter(since__lte=today - dt.timedelta(days=days))
        .exclude(Exists(CheckInReminder.objects.filter(objective=OuterRef("pk"), since=OuterRef("since"))))
        .order_by("id")
    )


def _unit_managers(unit_ids: set[int]) -> dict[int, list[str]]:
    if not unit_ids:
        return {}
    managers: dict[int, list[str]] = {}
    rows = (
        Person.objects.filter(unit_id__in=unit_ids, role=Person.Role.MANAGER, is_active=True)
        .exclude(email="")
        .order_by("employee_code")
        .values_list("unit_id", "email")
    )
    for unit_id, email in rows:
        managers.setdefault(unit_id, []).append(email)
    return managers


def checkin_reminders_send(*, today: dt.date | None = None) -> int:
    """Remind the owners of objectives with no check-in for GOALS_CHECKIN_REMINDER_DAYS days; return how many were sent.

    Once per silence: a CheckInReminder(objective, since) row is inserted
    before the email and the email goes out only if the insert succeeded, so
    a second run, or a second worker at the same time, sends nothing more.
    A new check-in starts a new silence. The email is queued inside the insert's
    transaction (scorecard.emails → the outbox): the row and the e-mail commit
    together, and a mail server that is down delays the e-mail, never loses it.

    Queries: 1 (silent objectives) + 1 (managers of unit owners, only when
    there are some) + per reminder sent, its insert (3 statements inside an
    outer transaction: savepoint, INSERT, release).
    """
    today = today or timezone.localdate()
    days = getattr(settings, "GOALS_CHECKIN_REMINDER_DAYS", 14)
    objectives = silent_objectives(today=today, days=days)
    managers = _unit_managers({o.owner_unit_id for o in objectives if o.owner_unit_id})
    sent = 0
    for objective in objectives:
        if objective.owner_person_id:
            person = objective.owner_person
            recipients = [person.email] if person.is_active and person.email else []
        else:
            recipients = managers.get(objective.owner_unit_id, [])
        if not recipients:
            continue  # nobody to tell; a reminder is sent once someone is
        since = objective.since
        ctx = {
            "objective": objective,
            "owner_name": objective.owner.name,
            "since": since,
            "has_checkin": objective.last_checkin_at is not None,
            "days": (today - since).days,
            "url": absolute_url(reverse("objective-detail", args=[objective.pk])),
        }
        try:
            with transaction.atomic():
                CheckInReminder.objects.create(objective=objective, since=since)
                email_send("checkin-reminder", ctx, recipients)
        except IntegrityError:
            continue  # another run got there first
        sent += 1
    return sent

