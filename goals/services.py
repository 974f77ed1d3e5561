"""Write use cases of objectives: create, edit a draft, move through the statuses, revise.

Every refused change raises ValidationError with a message per field, and
saves nothing. Who may do what (issue 3, the scorecard core's visibility):
- edit a draft, create, propose: the owner's editors — HR and directors
  everywhere, a manager for units and people in their subtree (themself
  included), an agent only their own objectives (and only as drafts);
- agree, return, reject, activate, achieve, miss, cancel, revise: the owner's
  manager — for a person, anyone who has them in their visible subtree
  except the person themself; for a unit, a manager of an ancestor unit,
  HR or a director.
Each status change is an ObjectiveEvent (who, when, from, to, comment);
revisions keep the old values in the objective's history.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from scorecard.access import scope_for
from scorecard.calculations import parse_number, thresholds_ordered
from scorecard.models import Kpi, OrgUnit, Person

from scorecard.emails import absolute_url, email_send

from .models import Objective, ObjectiveEvent
from .smart import MISSING_NAMES, blocking, smart_check

S = Objective.Status
A = ObjectiveEvent.Action

OWNER_NOT_EDITABLE = _("Unknown owner, or one whose objectives you may not set.")
AGENT_OWN_ONLY = _("An agent may only propose objectives for themself.")
STATUS_ON_CREATE = _("A new objective starts as a draft or is proposed at once.")
PERIOD_NOT_ORDERED = _("The period must end on or after its start.")
DUE_OUTSIDE_PERIOD = _("The due date must fall inside the period (%(start)s – %(end)s).")
WEIGHT_RANGE = _("The weight must be between 0 and 100.")
TITLE_REQUIRED = _("Give the objective a title.")
KIND_UNKNOWN = _("Choose “KPI objective” or “milestone objective”.")
KPI_REQUIRED = _("A KPI objective needs a KPI.")
VALUE_REQUIRED = _("A KPI objective needs a numeric %(name)s.")
VALUE_NOT_NUMBER = _("Enter a number.")
NOT_ORDERED_HIGHER = _("%(kpi)s: higher is better, so baseline < target < stretch is needed (%(baseline)s, %(target)s, %(stretch)s).")
NOT_ORDERED_LOWER = _("%(kpi)s: lower is better, so baseline > target > stretch is needed (%(baseline)s, %(target)s, %(stretch)s).")
CRITERION_REQUIRED = _("A milestone objective needs a completion criterion.")
VERIFICATION_REQUIRED = _("A milestone objective must say how completion is verified.")
PARENT_CYCLE = _("This parent would make the objective its own ancestor (a cycle in parent links).")
PARENT_NOT_ABOVE = _(
    "Objectives cascade downward: the parent objective must belong to a unit above the owner "
    "(or to the owner's own unit, for a person)."
)
NOT_EDITABLE = _("Only draft objectives can be edited; an agreed or active objective is revised with a reason.")
FIELD_NOT_EDITABLE = _("This field cannot be changed here.")
ACTION_UNKNOWN = _("Unknown action.")
WRONG_STATUS = _("An objective that is “%(status)s” cannot be %(action)s.")
NOT_OWNER_OR_MANAGER = _("Only the owner or their manager may propose this objective.")
NOT_MANAGER = _("Only the owner's manager may do this; nobody agrees or closes their own objectives.")
COMMENT_REQUIRED = _("Say why, in a comment.")
SMART_BLOCKS = _("The objective cannot be proposed until it passes the SMART check: %(letters)s.")
REVISE_STATUS = _("Only agreed or active objectives are revised; edit a draft directly.")
REASON_REQUIRED = _("Give the reason for the revision.")
NOTHING_CHANGED = _("Nothing changed: give a new target, baseline, stretch or due date.")

# action: (statuses it starts from, status it leads to, who: "editor" | "manager", comment required)
TRANSITIONS = {
    A.PROPOSE: ((S.DRAFT,), S.PROPOSED, "editor", False),
    A.AGREE: ((S.PROPOSED,), S.AGREED, "manager", False),
    A.RETURN: ((S.PROPOSED,), S.DRAFT, "manager", True),
    A.REJECT: ((S.PROPOSED,), S.CANCELLED, "manager", True),
    A.ACTIVATE: ((S.AGREED,), S.ACTIVE, "manager", False),
    # An agreed objective never activated is closed too when its period ends.
    A.ACHIEVE: (Objective.TO_CLOSE, S.ACHIEVED, "manager", False),
    A.MISS: (Objective.TO_CLOSE, S.MISSED, "manager", False),
    A.CANCEL: ((S.DRAFT, S.PROPOSED, S.AGREED, S.ACTIVE), S.CANCELLED, "manager", True),
}
EDITABLE_FIELDS = (
    "owner", "period_start", "period_end", "title", "result", "kind", "kpi", "baseline", "target", "stretch",
    "completion_criterion", "verification", "resources", "weight", "due_date", "parent",
)
REVISED_FIELDS = ("baseline", "target", "stretch", "due_date")


# ------------------------------------------------------------------ who may

def _unit_path(owner) -> str | None:
    if isinstance(owner, OrgUnit):
        return owner.path
    return owner.unit.path if owner.unit_id else None


def can_edit_owner(user, owner) -> bool:
    """May the user set (create, edit, propose) objectives of this owner? Whom they see (scope): themself,
    their subtree, the center."""
    return scope_for(user).sees_owner(owner)


def is_owners_manager(user, owner) -> bool:
    """May the user agree, return, reject, activate, close or revise objectives of this owner? Whom they
    answer for: another person in view, or a unit below a manager's own (any unit for HR and directors)."""
    return scope_for(user).sees_below(owner)


def objective_actions(user, objective: Objective) -> list[str]:
    """The transitions this user may take on this objective now (no queries; SMART is checked on the action)."""
    actions = []
    owner = objective.owner
    for action, (sources, _target, who, _comment) in TRANSITIONS.items():
        if objective.status not in sources:
            continue
        allowed = can_edit_owner(user, owner) if who == "editor" else is_owners_manager(user, owner)
        if action == A.CANCEL and objective.status == S.DRAFT:
            allowed = allowed or can_edit_owner(user, owner)
        if allowed:
            actions.append(action)
    return actions


def can_edit(user, objective: Objective) -> bool:
    return objective.status in Objective.EDITABLE and can_edit_owner(user, objective.owner)


def can_revise(user, objective: Objective) -> bool:
    return objective.status in (S.AGREED, S.ACTIVE) and is_owners_manager(user, objective.owner)


# --------------------------------------------------------------- validation

def _cascades_from(parent_owner, owner) -> bool:
    """Is the parent's owner above the owner (a unit above, or the person's own unit or above)?"""
    child_path = _unit_path(owner)
    parent_path = _unit_path(parent_owner)
    if not child_path or not parent_path or not child_path.startswith(parent_path):
        return False
    if isinstance(parent_owner, Person):
        if parent_owner.role == Person.Role.AGENT:
            return False  # agents' objectives cascade to nobody: a peer's is never a parent
        if isinstance(owner, Person):
            return parent_owner.pk != owner.pk
    if isinstance(owner, OrgUnit):
        return child_path != parent_path  # strictly above a unit
    return True  # a unit or a person's unit at or above the person's unit


def _creates_cycle(objective: Objective | None, parent: Objective) -> bool:
    """Walk up from the parent: meeting the objective itself means a cycle (one query per level)."""
    if objective is None or objective.pk is None:
        return False
    seen: set[int] = set()
    current_id = parent.pk
    while current_id is not None and current_id not in seen:
        if current_id == objective.pk:
            return True
        seen.add(current_id)
        current_id = Objective.objects.filter(pk=current_id).values_list("parent_id", flat=True).first()
    return current_id is not None  # an existing cycle above: refuse too


def _validate(values: dict, *, objective: Objective | None = None) -> dict[str, str]:
    """Check an objective's fields; return {field: message}."""
    errors: dict[str, str] = {}
    if not (values.get("title") or "").strip():
        errors["title"] = str(TITLE_REQUIRED)
    start, end, due = values.get("period_start"), values.get("period_end"), values.get("due_date")
    if start and end and end < start:
        errors["period_end"] = str(PERIOD_NOT_ORDERED)
    elif start and end and due and not (start <= due <= end):
        errors["due_date"] = str(DUE_OUTSIDE_PERIOD % {"start": start.isoformat(), "end": end.isoformat()})
    for field in ("period_start", "period_end", "due_date"):
        if not values.get(field):
            errors.setdefault(field, str(_("This field is required.")))
    try:
        weight = parse_number(values.get("weight"))
        if weight is None or not 0 <= weight <= 100:
            errors["weight"] = str(WEIGHT_RANGE)
        else:
            values["weight"] = weight
    except ValueError:
        errors["weight"] = str(WEIGHT_RANGE)
    kind = values.get("kind")
    if kind not in Objective.Kind.values:
        errors["kind"] = str(KIND_UNKNOWN)
    elif kind == Objective.Kind.KPI:
        kpi: Kpi | None = values.get("kpi")
        if kpi is None:
            errors["kpi"] = str(KPI_REQUIRED)
        numbers = {}
        for name in ("baseline", "target", "stretch"):
            try:
                numbers[name] = parse_number(values.get(name))
            except ValueError:
                errors[name] = str(VALUE_NOT_NUMBER)
                continue
            if numbers[name] is None:
                errors[name] = str(VALUE_REQUIRED % {"name": MISSING_NAMES[name]})
            values[name] = numbers[name]
        if kpi is not None and all(numbers.get(n) is not None for n in ("baseline", "target", "stretch")):
            higher = kpi.direction == Kpi.Direction.HIGHER
            if not thresholds_ordered(numbers["baseline"], numbers["target"], numbers["stretch"], higher):
                message = NOT_ORDERED_HIGHER if higher else NOT_ORDERED_LOWER
                errors["target"] = str(message % {
                    "kpi": kpi.label, **{n: f"{numbers[n]:g}" for n in ("baseline", "target", "stretch")}
                })
    else:
        if not (values.get("completion_criterion") or "").strip():
            errors["completion_criterion"] = str(CRITERION_REQUIRED)
        if not (values.get("verification") or "").strip():
            errors["verification"] = str(VERIFICATION_REQUIRED)
    parent: Objective | None = values.get("parent")
    if parent is not None:
        if objective is not None and objective.pk is not None and _creates_cycle(objective, parent):
            errors["parent"] = str(PARENT_CYCLE)
        elif values.get("owner") is not None and not _cascades_from(parent.owner, values["owner"]):
            errors["parent"] = str(PARENT_NOT_ABOVE)
    return errors


def _smart_errors(objective: Objective) -> dict[str, str]:
    failing = blocking(smart_check(**_smart_fields(objective)))
    if not failing:
        return {}
    letters = "; ".join(f"{r.label} — {r.reason}" for r in failing)
    return {"status": str(SMART_BLOCKS % {"letters": letters})}


def _smart_fields(objective: Objective) -> dict:
    fields = ("kind", "title", "result", "kpi", "baseline", "target", "stretch", "completion_criterion",
              "verification", "resources", "due_date", "period_start", "period_end")
    return {"owner": objective.owner, **{f: getattr(objective, f) for f in fields}}


def _apply(objective: Objective, values: dict) -> None:
    for field, value in values.items():
        if field == "owner":
            objective.owner_unit = value if isinstance(value, OrgUnit) else None
            objective.owner_person = value if isinstance(value, Person) else None
        else:
            setattr(objective, field, value)
    if objective.kind == Objective.Kind.MILESTONE:
        objective.kpi = None
        objective.baseline = objective.target = objective.stretch = None


def _event(objective: Objective, *, user, action: str, from_status: str, comment: str = "") -> ObjectiveEvent:
    return ObjectiveEvent.objects.create(
        objective=objective, action=action, from_status=from_status, to_status=objective.status, by=user,
        comment=comment,
    )


# ------------------------------------------------------------------ create

@transaction.atomic
def objective_create(
    *,
    user,
    owner: OrgUnit | Person,
    period_start: dt.date,
    period_end: dt.date,
    title: str,
    due_date: dt.date,
    result: str = "",
    kind: str = Objective.Kind.KPI,
    kpi: Kpi | None = None,
    baseline: float | None = None,
    target: float | None = None,
    stretch: float | None = None,
    completion_criterion: str = "",
    verification: str = "",
    resources: str = "",
    weight: float = 0,
    parent: Objective | None = None,
    status: str = Objective.Status.DRAFT,
) -> Objective:
    """Create an objective as a draft, or proposed at once (then it must pass the SMART check)."""
    values = {
        "owner": owner, "period_start": period_start, "period_end": period_end, "title": title, "result": result,
        "kind": kind, "kpi": kpi, "baseline": baseline, "target": target, "stretch": stretch,
        "completion_criterion": completion_criterion, "verification": verification, "resources": resources,
        "weight": weight, "due_date": due_date, "parent": parent,
    }
    errors: dict[str, str] = {}
    if not can_edit_owner(user, owner):
        errors["owner"] = str(AGENT_OWN_ONLY if user.role == Person.Role.AGENT else OWNER_NOT_EDITABLE)
    if status not in (S.DRAFT, S.PROPOSED):
        errors["status"] = str(STATUS_ON_CREATE)
    errors.update(_validate(values))
    if errors:
        raise ValidationError(errors)
    objective = Objective(created_by=user, status=S.DRAFT)
    _apply(objective, values)
    if status == S.PROPOSED:
        smart_errors = _smart_errors(objective)
        if smart_errors:
            raise ValidationError(smart_errors)
    objective._history_user = user
    objective.save()
    _event(objective, user=user, action=A.CREATE, from_status="")
    if status == S.PROPOSED:
        objective.status = S.PROPOSED
        objective._history_user = user
        objective.save(update_fields=["status", "updated_at"])
        _event(objective, user=user, action=A.PROPOSE, from_status=S.DRAFT)
    return objective


@transaction.atomic
def objective_update(*, user, objective: Objective, **fields) -> Objective:
    """Change a draft objective's fields; agreed and active objectives go through objective_revise."""
    unexpected = set(fields) - set(EDITABLE_FIELDS)
    if unexpected:
        raise ValidationError({f: str(FIELD_NOT_EDITABLE) for f in sorted(unexpected)})
    objective = Objective.objects.select_for_update(of=("self",)).select_related(
        "owner_unit", "owner_person__unit", "kpi", "parent"
    ).get(pk=objective.pk)
    if not can_edit_owner(user, objective.owner):
        raise ValidationError({"owner": str(OWNER_NOT_EDITABLE)})
    if objective.status not in Objective.EDITABLE:
        raise ValidationError({"status": str(NOT_EDITABLE)})
    values = {f: getattr(objective, f) for f in EDITABLE_FIELDS if f != "owner"}
    values["owner"] = objective.owner
    values.update(fields)
    errors: dict[str, str] = {}
    if "owner" in fields and not can_edit_owner(user, fields["owner"]):
        errors["owner"] = str(OWNER_NOT_EDITABLE)
    errors.update(_validate(values, objective=objective))
    if errors:
        raise ValidationError(errors)
    _apply(objective, {f: values[f] for f in fields})
    objective._history_user = user
    objective.save()
    return objective


# -------------------------------------------------------------- transitions

@transaction.atomic
def objective_transition(*, user, objective: Objective, action: str, comment: str = "") -> Objective:
    """Move an objective to its next status (propose, agree, return, reject, activate, achieve, miss, cancel)."""
    if action not in TRANSITIONS:
        raise ValidationError({"action": str(ACTION_UNKNOWN)})
    objective = Objective.objects.select_for_update(of=("self",)).select_related("owner_unit", "owner_person__unit", "kpi").get(
        pk=objective.pk
    )
    sources, to_status, who, needs_comment = TRANSITIONS[action]
    owner = objective.owner
    if who == "editor":
        allowed = can_edit_owner(user, owner)
        if not allowed:
            raise ValidationError({"action": str(NOT_OWNER_OR_MANAGER)})
    else:
        allowed = is_owners_manager(user, owner) or (
            action == A.CANCEL and objective.status == S.DRAFT and can_edit_owner(user, owner)
        )
        if not allowed:
            raise ValidationError({"action": str(NOT_MANAGER)})
    if objective.status not in sources:
        raise ValidationError({"action": str(WRONG_STATUS % {
            "status": objective.get_status_display(), "action": A(action).label,
        })})
    comment = (comment or "").strip()
    if needs_comment and not comment:
        raise ValidationError({"comment": str(COMMENT_REQUIRED)})
    if action in (A.PROPOSE, A.AGREE):
        smart_errors = _smart_errors(objective)
        if smart_errors:
            raise ValidationError({"action": smart_errors["status"]})
    from_status = objective.status
    objective.status = to_status
    objective._history_user = user
    objective._change_reason = comment or None
    objective.save(update_fields=["status", "updated_at"])
    _event(objective, user=user, action=action, from_status=from_status, comment=comment)
    return objective


# ------------------------------------------------------------------ revise

def _recipients(objective: Objective) -> list[str]:
    if objective.owner_person_id:
        emails = [objective.owner_person.email]
    else:
        emails = list(
            Person.objects.filter(unit_id=objective.owner_unit_id, role=Person.Role.MANAGER, is_active=True)
            .exclude(email="").values_list("email", flat=True)
        )
    return [e for e in emails if e]


IN_CONTRACT_BEING_SIGNED = _(
    "This objective is in a performance contract that one party has already signed: "
    "finish the signatures first, then revise the objective and amend the contract."
)


@transaction.atomic
def objective_revise(
    *,
    user,
    objective: Objective,
    reason: str,
    target: float | None = None,
    baseline: float | None = None,
    stretch: float | None = None,
    due_date: dt.date | None = None,
) -> Objective:
    """Revise an agreed or active objective's target, baseline, stretch or due date, with a reason.

    The old values stay in the objective's history (with the reason and the
    user); the owner (a unit's managers) is told by email once committed.
    """
    objective = Objective.objects.select_for_update(of=("self",)).select_related("owner_unit", "owner_person__unit", "kpi").get(
        pk=objective.pk
    )
    if not is_owners_manager(user, objective.owner):
        raise ValidationError({"reason": str(NOT_MANAGER)})
    if objective.status not in (S.AGREED, S.ACTIVE):
        raise ValidationError({"reason": str(REVISE_STATUS)})
    if objective.contract_lines.filter(
        contract__locked_at__isnull=True, contract__signatures__isnull=False
    ).exists():
        # A half-signed contract would be left unsignable: its content would change under the signature.
        raise ValidationError({"reason": str(IN_CONTRACT_BEING_SIGNED)})
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = str(REASON_REQUIRED)
    new = {"target": target, "baseline": baseline, "stretch": stretch, "due_date": due_date}
    if objective.kind == Objective.Kind.MILESTONE:
        new = {"due_date": due_date}
    changes = {f: v for f, v in new.items() if v is not None and v != getattr(objective, f)}
    if not changes and not errors:
        errors["target" if objective.kind == Objective.Kind.KPI else "due_date"] = str(NOTHING_CHANGED)
    values = {f: getattr(objective, f) for f in EDITABLE_FIELDS if f != "owner"}
    values.update(owner=None, parent=None, **changes)  # owner and parent are not revised: not re-checked
    for field, message in _validate(values).items():
        if field in REVISED_FIELDS:
            errors.setdefault(field, message)
    if errors:
        raise ValidationError(errors)
    old = {f: getattr(objective, f) for f in changes}
    for field in changes:
        setattr(objective, field, values[field])
    objective._history_user = user
    objective._change_reason = reason
    objective.save()
    _event(objective, user=user, action=A.REVISE, from_status=objective.status, comment=reason)
    recipients = _recipients(objective)
    if recipients:
        ctx = {
            "objective": objective, "by": user, "reason": reason,
            "changes": [{"field": Objective._meta.get_field(f).verbose_name, "old": old[f], "new": getattr(objective, f)}
                        for f in changes],
            "url": absolute_url(reverse("objective-detail", args=[objective.pk])),
        }
        transaction.on_commit(
            lambda: email_send("objective-revised", ctx, recipients)
        )
    return objective
