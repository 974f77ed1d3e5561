"""Performance contracts (业绩合同): who may see, write, sign and amend them.

A contract is one version: the agreed objectives of a person for a period
with their weights (summing to 100), the support the manager commits to and
the reward and penalty terms. The employee and the manager sign it; each
signature stores the sha256 of the contract's canonical content. Once both
have signed it is locked: its content is frozen into `Contract.content` and
nothing may change it. An amendment is a new version that replaces it; the
replaced version stays "signed" (and in force) until the amendment is signed
by both, then becomes "superseded". Every version stays readable.

Services raise ValidationError with a message per field for bad input, and
PermissionDenied when the user's role may not take the action (pages and
the API answer 404 first for contracts the user may not see).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard.access import Kind, scope_for
from scorecard.calculations import weights_error
from scorecard.audit import audit_record
from scorecard.models import AuditEvent, Person

from .models import Contract, ContractObjective, ContractSignature, Objective

# ------------------------------------------------------------------ messages

NOT_MANAGER = _("Only the employee's manager, HR or a director may write this employee's contract.")
OWN_CONTRACT = _("You cannot write your own performance contract: your manager does.")
PERIOD_ORDER = _("The period must not end before it starts.")
CONTRACT_EXISTS = _(
    "%(person)s already has a performance contract for an overlapping period (%(start)s – %(end)s): "
    "amend that contract instead."
)
UNKNOWN_OBJECTIVES = _("No such objective among those you may see: %(ids)s.")
NO_OBJECTIVES = _("Choose at least one agreed objective.")
DUPLICATE_OBJECTIVE = _("An objective may appear only once in a contract.")
OBJECTIVE_NOT_PERSONS = _("“%(title)s” is not an objective of %(person)s.")
OBJECTIVE_OUTSIDE_PERIOD = _("“%(title)s” belongs to another period (%(start)s – %(end)s).")
OBJECTIVE_NOT_AGREED = _("“%(title)s” is %(status)s: only agreed or active objectives go into a contract.")
NO_REWARD_TERMS = _("Give at least one row of the reward and penalty table.")
REWARD_ROW_INCOMPLETE = _("Row %(row)s: give both a rating grade and its outcome.")
REWARD_GRADE_TWICE = _("The rating grade “%(grade)s” appears more than once.")
REWARD_TERMS_SHAPE = _("The reward and penalty table must be a list of rows with a grade and an outcome.")
SIGNED_NO_EDIT = _(
    "This contract has been signed and can no longer be edited: a change would invalidate the signature. "
    "Once both parties have signed it, amend it instead."
)
LOCKED_NO_EDIT = _("This contract is signed by both parties and locked: amend it to change it.")
NOT_DRAFT = _("Only a draft contract can be edited.")
SUPERSEDED_NO_SIGN = _("This version has been replaced by a newer one and can no longer be signed.")
ALREADY_LOCKED = _("This contract is already signed by both parties.")
ALREADY_SIGNED = {
    ContractSignature.Role.EMPLOYEE: _("The employee has already signed this contract."),
    ContractSignature.Role.MANAGER: _("The manager has already signed this contract."),
}
NOT_A_SIGNER = _("Only the employee and their manager may sign this contract.")
CONTENT_CHANGED = _(
    "The contract's content changed after the first signature (for example, an objective was revised): "
    "it cannot be signed over a different text."
)
CHANGED_SINCE_READ = _(
    "The contract changed after you opened it: read the current version below, then sign it."
)
OBJECTIVE_NO_LONGER_VALID = _("“%(title)s” is now %(status)s: the contract cannot be signed as it stands.")
AMEND_ONLY_SIGNED = _("Only a contract signed by both parties can be amended; edit a draft directly.")
AMEND_UNDER_WAY = _("An amendment of this contract already exists (version %(version)s): edit or sign that one.")
REASON_REQUIRED = _("Give the reason for the amendment.")

# Objectives that may enter a new contract; an amendment may keep the ones its
# predecessor had even when they have since been achieved or missed.
CONTRACTABLE = (Objective.Status.AGREED, Objective.Status.ACTIVE)


def contract_weights(objectives: Sequence[Objective]) -> list[float]:
    """The weights a new contract proposes: the objectives' own weights rescaled to add up to 100.

    An objective's weight says how much it counts among its owner's
    objectives (any scale, 0–100 each); a contract's weights must add up to
    exactly 100, so 25, 25 and 20 become 35.71, 35.71 and 28.58. When no
    objective has a weight, they share equally. Two decimals; the rounding
    remainder goes to the last one, so the total is exactly 100.
    """
    if not objectives:
        return []
    raw = [max(o.weight or 0.0, 0.0) for o in objectives]
    total = math.fsum(raw)
    if total <= 0:
        raw, total = [1.0] * len(objectives), float(len(objectives))
    weights = [round(100 * w / total, 2) for w in raw[:-1]]
    weights.append(round(100 - math.fsum(weights), 2))
    return weights


def default_reward_terms() -> list[dict[str, str]]:
    """The usual five-grade table (评分等级), in the user's language, for a new contract form."""
    return [
        {"grade": str(_("A · Outstanding")), "outcome": str(_("Performance bonus 150%; considered for promotion."))},
        {"grade": str(_("B · Excellent")), "outcome": str(_("Performance bonus 120%."))},
        {"grade": str(_("C · Good")), "outcome": str(_("Performance bonus 100%."))},
        {"grade": str(_("D · Acceptable")), "outcome": str(_("Performance bonus 80%."))},
        {"grade": str(_("E · Needs improvement")), "outcome": str(
            _("No performance bonus; an improvement plan is agreed with the manager.")
        )},
    ]


# ------------------------------------------------------------------ selectors


def contracts_visible(user) -> QuerySet[Contract]:
    """The contracts a user may read: those of the people in their view (scope) and those they manage."""
    scope = scope_for(user)
    if not scope.signed_in:
        return Contract.objects.none()
    return Contract.objects.filter(scope.people_q("person__") | Q(manager_id=user.pk))


def contract_visible(user, contract: Contract) -> bool:
    """The object form of contracts_visible (reads contract.person.unit)."""
    return scope_for(user).sees_person(contract.person) or (user.is_authenticated and contract.manager_id == user.pk)


def contract_list(
    user, *, start: dt.date | None = None, end: dt.date | None = None, status: str | None = None,
    person_code: str | None = None,
) -> QuerySet[Contract]:
    """Contracts the user may see, with what a list shows, in a constant number of queries.

    Queries when evaluated: the contracts with person, manager and the version
    links (1), their signatures (1). Periods filter by overlap with [start, end].
    """
    qs = contracts_visible(user)
    if start:
        qs = qs.filter(period_end__gte=start)
    if end:
        qs = qs.filter(period_start__lte=end)
    if status:
        qs = qs.filter(status=status)
    if person_code:
        qs = qs.filter(person__employee_code=person_code)
    return (
        qs.select_related("person", "person__unit", "manager", "replaces", "superseded_by")
        .prefetch_related(Prefetch("signatures", queryset=ContractSignature.objects.select_related("signer")))
        .order_by("-period_start", "person__employee_code", "-version")
    )


def contract_detail_qs() -> QuerySet[Contract]:
    """What a contract's page or API answer needs: parties, version links, lines with objectives, signatures."""
    lines = ContractObjective.objects.select_related("objective", "objective__kpi")
    return Contract.objects.select_related(
        "person", "person__unit", "manager", "created_by", "replaces", "superseded_by"
    ).prefetch_related(
        Prefetch("lines", queryset=lines),
        Prefetch("signatures", queryset=ContractSignature.objects.select_related("signer")),
    )


def contract_get(user, pk) -> Contract:
    """The contract with this id if the user may see it; 404 otherwise, so ids cannot be probed."""
    contract = contract_detail_qs().filter(pk=pk).first()
    if contract is None or not contract_visible(user, contract):
        raise Http404
    return contract


def contract_versions(contract: Contract) -> list[Contract]:
    """Every version of the contract's chain (same person and period), oldest first (2 queries)."""
    return list(
        Contract.objects.filter(
            person_id=contract.person_id, period_start=contract.period_start, period_end=contract.period_end
        )
        .select_related("person", "manager", "replaces", "superseded_by")
        .prefetch_related(Prefetch("signatures", queryset=ContractSignature.objects.select_related("signer")))
        .order_by("version")
    )


def contract_candidate_objectives(person: Person, start: dt.date, end: dt.date) -> QuerySet[Objective]:
    """The person's agreed or active objectives inside the period: what a new contract is made of."""
    return (
        Objective.objects.filter(
            owner_person=person, status__in=CONTRACTABLE, period_start__gte=start, period_end__lte=end
        )
        .select_related("kpi")
        .order_by("due_date", "id")
    )


# -------------------------------------------------------------- permissions


def can_write_contract(user, person: Person) -> bool:
    """The person's manager (anyone managing their subtree), HR or a director — never the person."""
    return scope_for(user).sees_below(person)


def signing_role(user, contract: Contract) -> str | None:
    """The role in which the user may sign: the employee, or their manager; None for anyone else.

    The manager's signature is the contract's manager's, or that of a manager
    whose unit subtree holds the employee (the line above them).
    """
    if not user.is_authenticated:
        return None
    if user.pk == contract.person_id:
        return ContractSignature.Role.EMPLOYEE
    if user.pk == contract.manager_id:
        return ContractSignature.Role.MANAGER
    scope = scope_for(user)
    if scope.kind == Kind.SUBTREE and scope.sees_person(contract.person):
        return ContractSignature.Role.MANAGER
    return None


def can_sign(user, contract: Contract) -> bool:
    """Whether the user may sign now (what the detail page's Sign button shows)."""
    role = signing_role(user, contract)
    if role is None or contract.status != Contract.Status.DRAFT or contract.is_locked:
        return False
    return not any(s.role == role for s in contract.signatures.all())


def can_edit(user, contract: Contract) -> bool:
    return (
        contract.status == Contract.Status.DRAFT
        and not contract.is_locked
        and not contract.signatures.all()
        and can_write_contract(user, contract.person)
    )


def superseded_by(contract: Contract) -> Contract | None:
    """The version that replaces this one (a draft amendment, or the signed one now in force), if any."""
    try:
        return contract.superseded_by
    except Contract.superseded_by.RelatedObjectDoesNotExist:
        return None


def can_amend(user, contract: Contract) -> bool:
    return (
        contract.status == Contract.Status.SIGNED
        and contract.is_locked
        and superseded_by(contract) is None
        and can_write_contract(user, contract.person)
    )


# ------------------------------------------------------------ canonical content


def _line_content(objective: Objective, weight: float) -> dict:
    return {
        "objective": objective.pk,
        "title": objective.title,
        "kind": objective.kind,
        "kpi": objective.kpi.code if objective.kpi_id else None,
        "baseline": objective.baseline,
        "target": objective.target,
        "stretch": objective.stretch,
        "completion_criterion": objective.completion_criterion,
        "due_date": objective.due_date.isoformat(),
        "weight": weight,
    }


def contract_content(contract: Contract) -> dict:
    """What is signed: the frozen content of a locked contract, else the content built from the current rows."""
    if contract.is_locked and contract.content:
        return contract.content
    return {
        "person": contract.person.employee_code,
        "period_start": contract.period_start.isoformat(),
        "period_end": contract.period_end.isoformat(),
        "version": contract.version,
        "lines": [_line_content(line.objective, line.weight) for line in contract.lines.all()],
        "support": contract.support,
        "reward_terms": [{"grade": r["grade"], "outcome": r["outcome"]} for r in contract.reward_terms],
        "terms_text": contract.terms_text,
    }


def content_hash(content: dict) -> str:
    """The sha256 of the content as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------- validation


def _clean_reward_terms(reward_terms) -> tuple[list[dict[str, str]], list[str]]:
    """Strip the rows; (clean rows, messages). Rows with neither grade nor outcome are dropped."""
    if not isinstance(reward_terms, (list, tuple)):
        return [], [str(REWARD_TERMS_SHAPE)]
    rows, errors, seen = [], [], set()
    for number, row in enumerate(reward_terms, start=1):
        if not isinstance(row, dict) or not all(isinstance(row.get(k, ""), str) for k in ("grade", "outcome")):
            errors.append(str(REWARD_TERMS_SHAPE))
            continue
        grade, outcome = row.get("grade", "").strip(), row.get("outcome", "").strip()
        if not grade and not outcome:
            continue
        if not grade or not outcome:
            errors.append(str(REWARD_ROW_INCOMPLETE % {"row": number}))
            continue
        if grade.casefold() in seen:
            errors.append(str(REWARD_GRADE_TWICE % {"grade": grade}))
            continue
        seen.add(grade.casefold())
        rows.append({"grade": grade, "outcome": outcome})
    if not rows and not errors:
        errors.append(str(NO_REWARD_TERMS))
    return rows, errors


def _check_lines(
    person: Person, start: dt.date, end: dt.date, objectives: Sequence[tuple[Objective, float]],
    kept: Iterable[int] = (),
) -> dict[str, list[str]]:
    """Messages about the objectives and their weights, by field ("objectives", "weights")."""
    errors: dict[str, list[str]] = {}
    if not objectives:
        return {"objectives": [str(NO_OBJECTIVES)]}
    kept = set(kept)
    ids = [o.pk for o, _w in objectives]
    if len(set(ids)) != len(ids):
        errors.setdefault("objectives", []).append(str(DUPLICATE_OBJECTIVE))
    for objective, _weight in objectives:
        names = {"title": objective.title, "person": person.name}
        if objective.owner_person_id != person.pk:
            errors.setdefault("objectives", []).append(str(OBJECTIVE_NOT_PERSONS % names))
        elif objective.period_start < start or objective.period_end > end:
            errors.setdefault("objectives", []).append(str(OBJECTIVE_OUTSIDE_PERIOD % {
                **names, "start": objective.period_start.isoformat(), "end": objective.period_end.isoformat()}))
        elif objective.status not in CONTRACTABLE and not (
            objective.pk in kept and objective.status in Objective.IN_FORCE
        ):
            errors.setdefault("objectives", []).append(
                str(OBJECTIVE_NOT_AGREED % {**names, "status": objective.get_status_display()})
            )
    message = weights_error([w for _o, w in objectives])
    if message:
        errors["weights"] = [message]
    return errors


def _validate(
    *, person: Person, start: dt.date, end: dt.date, objectives, reward_terms, kept: Iterable[int] = (),
) -> list[dict[str, str]]:
    """Check everything a version must satisfy; return the clean reward rows or raise ValidationError."""
    errors: dict[str, list[str]] = {}
    if start > end:
        errors["period_end"] = [str(PERIOD_ORDER)]
    else:
        errors.update(_check_lines(person, start, end, list(objectives), kept))
    rows, reward_errors = _clean_reward_terms(reward_terms)
    if reward_errors:
        errors["reward_terms"] = reward_errors
    if errors:
        raise ValidationError(errors)
    return rows


def _require_writer(user, person: Person) -> None:
    if user.pk == person.pk:
        raise PermissionDenied(OWN_CONTRACT)
    if not can_write_contract(user, person):
        raise PermissionDenied(NOT_MANAGER)


def _lock_row(contract: Contract) -> Contract:
    """Re-read the contract's row for update: the guards below must see what is committed, not a stale copy."""
    return Contract.objects.select_for_update().get(pk=contract.pk)


def _guard_editable(row: Contract) -> None:
    """Refuse any change to a locked, signed or non-draft version."""
    if row.is_locked:
        raise ValidationError({"__all__": [str(LOCKED_NO_EDIT)]})
    if row.signatures.exists():
        raise ValidationError({"__all__": [str(SIGNED_NO_EDIT)]})
    if row.status != Contract.Status.DRAFT:
        raise ValidationError({"__all__": [str(NOT_DRAFT)]})


def _save_unlocked(contract: Contract, fields: list[str]) -> None:
    """Save fields of a version that is not locked: a locked row is never written through .save()."""
    if Contract.objects.filter(pk=contract.pk, locked_at__isnull=False).exists():
        raise ValidationError({"__all__": [str(LOCKED_NO_EDIT)]})
    contract.save(update_fields=fields)


def _replace_lines(contract: Contract, objectives: Sequence[tuple[Objective, float]]) -> None:
    contract.lines.all().delete()
    ContractObjective.objects.bulk_create(
        [ContractObjective(contract=contract, objective=o, weight=float(w)) for o, w in objectives]
    )
    if hasattr(contract, "_prefetched_objects_cache"):
        contract._prefetched_objects_cache.pop("lines", None)


def _current_lines(contract: Contract) -> list[tuple[Objective, float]]:
    return [(line.objective, line.weight) for line in contract.lines.select_related("objective", "objective__kpi")]


# ------------------------------------------------------------------- services


@transaction.atomic
def contract_create(
    *,
    user,
    person: Person,
    period_start: dt.date,
    period_end: dt.date,
    objectives: Sequence[tuple[Objective, float]],
    support: str = "",
    reward_terms: list[dict[str, str]],
    terms_text: str = "",
) -> Contract:
    """Write the first version of a person's contract for a period, as a draft to be signed by both.

    The manager who signs for the employer is the person's manager (or the
    writer when the person has none).
    """
    _require_writer(user, person)
    # Serialise contract creation per person, so two drafts for one period cannot both pass the check.
    Person.objects.select_for_update().filter(pk=person.pk).values_list("pk").get()
    person = Person.objects.select_related("unit", "manager").get(pk=person.pk)
    rows = _validate(person=person, start=period_start, end=period_end, objectives=objectives, reward_terms=reward_terms)
    clash = (
        Contract.objects.filter(person=person, period_start__lte=period_end, period_end__gte=period_start)
        .order_by("period_start").first()
    )
    if clash is not None:
        raise ValidationError({"period_start": [str(CONTRACT_EXISTS % {
            "person": person.name, "start": clash.period_start.isoformat(), "end": clash.period_end.isoformat()})]})
    contract = Contract.objects.create(
        person=person,
        manager=person.manager or user,
        period_start=period_start,
        period_end=period_end,
        version=1,
        support=support.strip(),
        reward_terms=rows,
        terms_text=terms_text.strip(),
        created_by=user,
    )
    _replace_lines(contract, objectives)
    return contract


@transaction.atomic
def contract_update(
    *,
    user,
    contract: Contract,
    objectives: Sequence[tuple[Objective, float]] | None = None,
    support: str | None = None,
    reward_terms: list[dict[str, str]] | None = None,
    terms_text: str | None = None,
) -> Contract:
    """Change a draft no one has signed yet; a signature would no longer match, so signed versions are refused."""
    _require_writer(user, contract.person)
    row = _lock_row(contract)
    _guard_editable(row)
    lines = list(objectives) if objectives is not None else _current_lines(row)
    kept = [o.pk for o, _w in _current_lines(row.replaces)] if row.replaces_id else []
    rows = _validate(
        person=contract.person, start=row.period_start, end=row.period_end, objectives=lines,
        reward_terms=row.reward_terms if reward_terms is None else reward_terms, kept=kept,
    )
    row.reward_terms = rows
    if support is not None:
        row.support = support.strip()
    if terms_text is not None:
        row.terms_text = terms_text.strip()
    _save_unlocked(row, ["reward_terms", "support", "terms_text"])
    if objectives is not None:
        _replace_lines(row, lines)
    return row


@transaction.atomic
def contract_sign(*, user, contract: Contract, read_hash: str | None = None) -> ContractSignature:
    """Sign as the employee or as the manager; the second signature locks the version.

    `read_hash` is the content hash of the text the signer was shown: when
    given and the content has changed since, the signature is refused (the
    signer would sign a text they did not read). Locking freezes the
    canonical content and its hash into the contract and, for an amendment,
    marks the version it replaces as superseded.
    """
    row = _lock_row(contract)
    if row.status == Contract.Status.SUPERSEDED:
        raise ValidationError({"__all__": [str(SUPERSEDED_NO_SIGN)]})
    if row.is_locked or row.status == Contract.Status.SIGNED:
        raise ValidationError({"__all__": [str(ALREADY_LOCKED)]})
    row = contract_detail_qs().get(pk=row.pk)
    role = signing_role(user, row)
    if role is None:
        raise PermissionDenied(NOT_A_SIGNER)
    signatures = list(row.signatures.all())
    if any(s.role == role for s in signatures):
        raise ValidationError({"__all__": [str(ALREADY_SIGNED[role])]})
    kept = {o.pk for o, _w in _current_lines(row.replaces)} if row.replaces_id else set()
    for line in row.lines.all():
        o = line.objective
        if o.status not in CONTRACTABLE and not (o.pk in kept and o.status in Objective.IN_FORCE):
            raise ValidationError({"objectives": [str(OBJECTIVE_NO_LONGER_VALID % {
                "title": o.title, "status": o.get_status_display()})]})
    content = contract_content(row)
    digest = content_hash(content)
    if read_hash and read_hash != digest:
        raise ValidationError({"__all__": [str(CHANGED_SINCE_READ)]})
    if any(s.content_hash != digest for s in signatures):
        raise ValidationError({"__all__": [str(CONTENT_CHANGED)]})
    signature = ContractSignature.objects.create(contract=row, role=role, signer=user, content_hash=digest)
    if len(signatures) + 1 == len(ContractSignature.Role.values):
        row.status = Contract.Status.SIGNED
        row.locked_at = timezone.now()
        row.content = content
        row.content_hash = digest
        _save_unlocked(row, ["status", "locked_at", "content", "content_hash"])
        if row.replaces_id:
            # The one change a locked version ever gets: it is no longer the one in force.
            Contract.objects.filter(pk=row.replaces_id, status=Contract.Status.SIGNED).update(
                status=Contract.Status.SUPERSEDED
            )
    audit_record(AuditEvent.Action.CONTRACT_SIGNED, actor=user, target=row,
                 details={"role": role, "version": row.version, "locked": row.status == Contract.Status.SIGNED})
    return signature


@transaction.atomic
def contract_amend(
    *,
    user,
    contract: Contract,
    reason: str,
    objectives: Sequence[tuple[Objective, float]] | None = None,
    support: str | None = None,
    reward_terms: list[dict[str, str]] | None = None,
    terms_text: str | None = None,
) -> Contract:
    """Start the next version of a signed contract, as a draft replacing it; what is not given is carried over.

    The signed version stays in force and readable until the amendment is signed by both.
    """
    _require_writer(user, contract.person)
    row = _lock_row(contract)
    if row.status != Contract.Status.SIGNED or not row.is_locked:
        raise ValidationError({"__all__": [str(AMEND_ONLY_SIGNED)]})
    pending = Contract.objects.filter(replaces=row).first()
    if pending is not None:
        raise ValidationError({"__all__": [str(AMEND_UNDER_WAY % {"version": pending.version})]})
    previous = _current_lines(row)
    lines = list(objectives) if objectives is not None else previous
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [str(REASON_REQUIRED)]
    try:
        rows = _validate(
            person=contract.person, start=row.period_start, end=row.period_end, objectives=lines,
            reward_terms=row.reward_terms if reward_terms is None else reward_terms,
            kept=[o.pk for o, _w in previous],
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    person = contract.person
    amendment = Contract.objects.create(
        person=person,
        manager=person.manager or row.manager,
        period_start=row.period_start,
        period_end=row.period_end,
        version=row.version + 1,
        replaces=row,
        support=row.support if support is None else support.strip(),
        reward_terms=rows,
        terms_text=row.terms_text if terms_text is None else terms_text.strip(),
        created_by=user,
        amendment_reason=reason,
    )
    _replace_lines(amendment, lines)
    return amendment
