"""Pages of performance contracts (业绩合同): list, write, read as a document, sign, amend.

Every page resolves the contract (or the person) through goals.contracts,
which answers 404 for what the user may not see; actions the user's role
may not take on a contract they can see answer 403. Refused changes show
the service's message and save nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from scorecard.access import scope_for
from scorecard.models import Person
from scorecard.periods import parse_range
from scorecard.selectors import people_visible

from . import contracts
from .contract_forms import ContractFilterForm, ContractForm, ContractPersonForm, ContractSignForm
from .documents import contract_lines
from .models import Contract, ContractSignature, Objective

PAGE_SIZE = 50
CONTRACT_SAVED = _("Contract saved as a draft: the employee and the manager can now sign it.")
AMENDMENT_SAVED = _("Amendment saved as version %(version)s: both parties sign it again; until then version %(old)s stays in force.")
SIGNED = {
    ContractSignature.Role.EMPLOYEE: _("You signed the contract as the employee."),
    ContractSignature.Role.MANAGER: _("You signed the contract as the manager."),
}
LOCKED = _("Both parties have signed: the contract is now locked.")
NOT_SIGNED = _("Not signed: see the message below.")
NOT_SAVED = _("Nothing was saved: please correct the fields marked below.")


def _reward_rows_initial(contract: Contract | None) -> list[dict]:
    return list(contract.reward_terms) if contract is not None else contracts.default_reward_terms()


def _form_page(request, *, template_ctx: dict, form: ContractForm, status: int | None = None) -> HttpResponse:
    if form.errors:
        messages.error(request, NOT_SAVED)
    ctx = {"form": form, **template_ctx}
    return render(request, "goals/contract_form.html", ctx, status=status or (400 if form.errors else 200))


# ----------------------------------------------------------------------- list


@login_required
def contract_list_page(request: HttpRequest) -> HttpResponse:
    """The contracts the user may see, newest period first.

    Queries, whatever the number of contracts: count (1), contracts with
    parties and version links (1), their signatures (1) — plus session, user
    and navigation.
    """
    form = ContractFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    qs = contracts.contract_list(
        request.user, start=filters.get("start"), end=filters.get("end"),
        status=filters.get("status") or None, person_code=filters.get("person") or None,
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for c in page.object_list:
        signed = {s.role: s for s in c.signatures.all()}
        rows.append({"c": c, "employee": signed.get(ContractSignature.Role.EMPLOYEE),
                     "manager": signed.get(ContractSignature.Role.MANAGER)})
    keep = urlencode({k: v for k, v in request.GET.items() if k != "page"})
    can_write = scope_for(request.user).sees_units
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "goals/contract_list.html",
                  {"form": form, "rows": rows, "page": page, "keep": keep, "can_write": can_write}, status=status)


# --------------------------------------------------------------------- create


def _person_for(request: HttpRequest, code: str) -> Person:
    person = people_visible(request.user).filter(employee_code=code).first()
    if person is None:
        raise Http404
    return person


def _writable_people(user) -> list[Person]:
    return [p for p in people_visible(user).filter(is_active=True).order_by("employee_code") if p.pk != user.pk]


@login_required
def contract_create_page(request: HttpRequest) -> HttpResponse:
    """Write a person's contract for a period, prefilled with their agreed objectives and the usual reward table.

    Without ?person=, a first step asks whose contract and which period.
    """
    code = request.GET.get("person")
    if not code:
        if not scope_for(request.user).sees_units:
            raise Http404
        people = _writable_people(request.user)
        form = ContractPersonForm(request.GET if "start" in request.GET else None, people=people)
        if form.is_bound and form.is_valid():
            query = {k: form.cleaned_data[k] for k in ("person", "start", "end")}
            return redirect(reverse("contract-create") + "?" + urlencode(query))
        return render(request, "goals/contract_start.html", {"form": form}, status=400 if form.errors else 200)
    person = _person_for(request, code)
    if not contracts.can_write_contract(request.user, person):
        raise PermissionDenied(contracts.OWN_CONTRACT if person.pk == request.user.pk else contracts.NOT_MANAGER)
    try:
        start, end = parse_range(request.GET.get("start"), request.GET.get("end"))
    except ValidationError as exc:
        form = ContractPersonForm(request.GET, people=_writable_people(request.user))
        form.is_valid()
        for field, msgs in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, msgs)
        return render(request, "goals/contract_start.html", {"form": form}, status=400)
    candidates = list(contracts.contract_candidate_objectives(person, start, end))
    form = ContractForm(
        request.POST or None, objectives=candidates, reward_terms=_reward_rows_initial(None),
        weights=dict(zip([o.pk for o in candidates], contracts.contract_weights(candidates))),
    )
    if request.method == "POST" and form.is_valid():
        try:
            contract = contracts.contract_create(
                user=request.user, person=person, period_start=start, period_end=end,
                objectives=form.cleaned_data["objectives"], support=form.cleaned_data["support"],
                reward_terms=form.cleaned_data["reward_terms"], terms_text=form.cleaned_data["terms_text"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, CONTRACT_SAVED)
            return redirect("contract-detail", pk=contract.pk)
    existing = (
        Contract.objects.filter(person=person, period_start__lte=end, period_end__gte=start)
        .order_by("-version").first()
    )
    ctx = {"mode": "create", "person": person, "start": start, "end": end, "existing": existing,
           "action": request.get_full_path()}
    return _form_page(request, template_ctx=ctx, form=form)


# ----------------------------------------------------------------------- read


def _document(contract: Contract) -> dict:
    """The contract as its page shows it (goals.documents.contract_lines) with the hash of that content,
    and each line's objective's own weight beside its weight in the contract (no query: lines are loaded)."""
    doc = contract_lines(contract)
    own = {line.objective_id: line.objective.weight for line in contract.lines.all()}
    for line in doc["lines"]:
        line["own_weight"] = own.get(line.get("objective"))
    known = [line["own_weight"] for line in doc["lines"] if line["own_weight"] is not None]
    return {**doc, "hash": contracts.content_hash(doc["content"]), "total_own_weight": sum(known) if known else None}


@login_required
def contract_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The contract as a document: parties, objectives with weights and targets, support, rewards, signatures."""
    contract = contracts.contract_get(request.user, pk)
    user = request.user
    signed = {s.role: s for s in contract.signatures.all()}
    role = contracts.signing_role(user, contract)
    blocks = [
        {"role": r, "label": label, "signature": signed.get(r),
         "party": contract.person if r == ContractSignature.Role.EMPLOYEE else contract.manager,
         "can_sign": role == r and contracts.can_sign(user, contract)}
        for r, label in ContractSignature.Role.choices
    ]
    ctx = {
        "contract": contract,
        "doc": _document(contract),
        "blocks": blocks,
        "versions": contracts.contract_versions(contract),
        "superseded_by": contracts.superseded_by(contract),
        "can_edit": contracts.can_edit(user, contract),
        "can_amend": contracts.can_amend(user, contract),
    }
    return render(request, "goals/contract_detail.html", ctx)


# ----------------------------------------------------------------- edit/amend


def _objective_choices(contract: Contract) -> tuple[list[Objective], dict[int, float], set[int]]:
    """The contract's objectives first (with their weights), then the person's other agreed ones of the period."""
    lines = list(contract.lines.all())
    chosen = [line.objective for line in lines]
    weights = {line.objective_id: line.weight for line in lines}
    others = contracts.contract_candidate_objectives(contract.person, contract.period_start, contract.period_end)
    return chosen + [o for o in others.exclude(pk__in=weights)], weights, set(weights)


@login_required
def contract_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a draft that no one has signed; signed versions are refused with the reason."""
    contract = contracts.contract_get(request.user, pk)
    if not contracts.can_write_contract(request.user, contract.person):
        raise PermissionDenied(contracts.NOT_MANAGER)
    if not contracts.can_edit(request.user, contract):
        refusal = contracts.LOCKED_NO_EDIT if contract.is_locked else (
            contracts.SIGNED_NO_EDIT if contract.signatures.all() else contracts.NOT_DRAFT)
        messages.error(request, refusal)
        return redirect("contract-detail", pk=contract.pk)
    objectives, weights, included = _objective_choices(contract)
    form = ContractForm(
        request.POST or None, objectives=objectives, weights=weights, included=included,
        reward_terms=_reward_rows_initial(contract),
        initial={"support": contract.support, "terms_text": contract.terms_text},
    )
    if request.method == "POST" and form.is_valid():
        try:
            contracts.contract_update(
                user=request.user, contract=contract, objectives=form.cleaned_data["objectives"],
                support=form.cleaned_data["support"], reward_terms=form.cleaned_data["reward_terms"],
                terms_text=form.cleaned_data["terms_text"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, CONTRACT_SAVED)
            return redirect("contract-detail", pk=contract.pk)
    ctx = {"mode": "edit", "contract": contract, "person": contract.person, "start": contract.period_start,
           "end": contract.period_end, "action": request.get_full_path()}
    return _form_page(request, template_ctx=ctx, form=form)


@login_required
def contract_amend_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Write the next version of a signed contract, with the reason; it replaces this one once both sign it."""
    contract = contracts.contract_get(request.user, pk)
    if not contracts.can_write_contract(request.user, contract.person):
        raise PermissionDenied(contracts.NOT_MANAGER)
    if not contracts.can_amend(request.user, contract):
        pending = contracts.superseded_by(contract)
        if pending is not None:
            messages.error(request, contracts.AMEND_UNDER_WAY % {"version": pending.version})
            return redirect("contract-detail", pk=pending.pk)
        messages.error(request, contracts.AMEND_ONLY_SIGNED)
        return redirect("contract-detail", pk=contract.pk)
    objectives, weights, included = _objective_choices(contract)
    form = ContractForm(
        request.POST or None, objectives=objectives, weights=weights, included=included,
        reward_terms=_reward_rows_initial(contract), with_reason=True,
        initial={"support": contract.support, "terms_text": contract.terms_text},
    )
    if request.method == "POST" and form.is_valid():
        try:
            amendment = contracts.contract_amend(
                user=request.user, contract=contract, reason=form.cleaned_data["reason"],
                objectives=form.cleaned_data["objectives"], support=form.cleaned_data["support"],
                reward_terms=form.cleaned_data["reward_terms"], terms_text=form.cleaned_data["terms_text"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, AMENDMENT_SAVED % {"version": amendment.version, "old": contract.version})
            return redirect("contract-detail", pk=amendment.pk)
    ctx = {"mode": "amend", "contract": contract, "person": contract.person, "start": contract.period_start,
           "end": contract.period_end, "action": request.get_full_path()}
    return _form_page(request, template_ctx=ctx, form=form)


# ----------------------------------------------------------------------- sign


@login_required
def contract_sign_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Show what is signed (version, objectives and weights, rewards, content hash), then sign on confirmation.

    The signer ticks "I have read this version" (required: without it the
    page comes back, 400, with the field's message and nothing signed); the
    hash of the text shown travels with the form, so a contract changed in
    between is refused rather than signed unread.
    """
    contract = contracts.contract_get(request.user, pk)
    role = contracts.signing_role(request.user, contract)
    if role is None:
        raise PermissionDenied(contracts.NOT_A_SIGNER)
    if not contracts.can_sign(request.user, contract):
        messages.error(request, contracts.ALREADY_LOCKED if contract.is_locked else contracts.ALREADY_SIGNED[role])
        return redirect("contract-detail", pk=contract.pk)
    doc = _document(contract)
    # An empty POST (nothing ticked) is still a submission: bind it.
    form = ContractSignForm(request.POST if request.method == "POST" else None, initial={"content_hash": doc["hash"]})
    status = 200
    if request.method == "POST":
        refused: list[str] = []
        if form.is_valid():
            try:
                signature = contracts.contract_sign(
                    user=request.user, contract=contract, read_hash=form.cleaned_data["content_hash"] or None,
                )
            except ValidationError as exc:
                refused = exc.messages
            else:
                messages.success(request, SIGNED[signature.role])
                contract.refresh_from_db(fields=["locked_at"])
                if contract.is_locked:
                    messages.success(request, LOCKED)
                return redirect("contract-detail", pk=contract.pk)
        if refused:
            # The text may have changed: show the current one, with its hash, to be read again.
            contract = contracts.contract_get(request.user, pk)
            doc = _document(contract)
            form = ContractSignForm({"content_hash": doc["hash"]})
            form.is_valid()
            form.errors.pop("confirm", None)  # not their omission: the box is simply to tick again
            form.add_error(None, refused)
        messages.error(request, NOT_SIGNED)
        status = 400
    ctx = {"contract": contract, "doc": doc, "form": form, "role": role}
    return render(request, "goals/contract_sign.html", ctx, status=status)
