"""Performance contracts (业绩合同): writing, signing, locking and amending, through goals.contracts.

Alice's contract for Q3 2026 is written by Mike (her manager) from her two
agreed objectives. Bob (her peer) and Olga (another department's manager)
must neither see nor sign it; Hana (HR) may write it but not sign for the
employer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from goals import contracts
from goals.models import Contract, ContractObjective, ContractSignature, Objective
from scorecard.calculations import WEIGHTS_NOT_100, WEIGHTS_NOT_POSITIVE
from scorecard.models import Kpi

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
Q4 = (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
REWARDS = [
    {"grade": "A", "outcome": "Bonus 150%"},
    {"grade": "C", "outcome": "Bonus 100%"},
    {"grade": "E", "outcome": "Improvement plan"},
]


def make_objective(owner, title="Raise first-contact resolution", *, period=Q3, status=Objective.Status.AGREED,
                   weight=50.0, kind=Objective.Kind.KPI, target=75.0) -> Objective:
    """An objective as the objective services would leave it, written directly (status given)."""
    kpi = Kpi.objects.get(code="fcr") if kind == Objective.Kind.KPI else None
    return Objective.objects.create(
        owner_person=owner, period_start=period[0], period_end=period[1], title=title, kind=kind, kpi=kpi,
        baseline=70.0 if kpi else None, target=target if kpi else None, stretch=80.0 if kpi else None,
        completion_criterion="" if kpi else "Course certificate uploaded",
        weight=weight, due_date=period[1], status=status, created_by=owner.manager or owner,
    )


def alice_objectives(org) -> tuple[Objective, Objective]:
    return (
        make_objective(org.alice, "Raise first-contact resolution", weight=60),
        make_objective(org.alice, "Complete the complaint-handling course", weight=40, kind=Objective.Kind.MILESTONE),
    )


def draft(org, objectives=None, *, user=None, person=None, period=Q3) -> Contract:
    if objectives is None:
        o1, o2 = alice_objectives(org)
        objectives = [(o1, 60), (o2, 40)]
    return contracts.contract_create(
        user=user or org.mike, person=person or org.alice, period_start=period[0], period_end=period[1],
        objectives=objectives, support="Two coaching sessions a month.", reward_terms=REWARDS,
        terms_text="Grades come from the quarterly appraisal.",
    )


def signed(org, **kwargs) -> Contract:
    contract = draft(org, **kwargs)
    contracts.contract_sign(user=contract.person, contract=contract)
    contracts.contract_sign(user=org.mike, contract=contract)
    contract.refresh_from_db()
    return contract


def field_errors(exc_info) -> dict[str, list[str]]:
    return exc_info.value.message_dict


# ------------------------------------------------------------------- writing


def test_manager_writes_a_draft_with_the_agreed_objectives(org):
    contract = draft(org)
    assert contract.status == Contract.Status.DRAFT
    assert contract.manager == org.mike and contract.person == org.alice and contract.version == 1
    assert [(line.objective.title, line.weight) for line in contract.lines.all()] == [
        ("Raise first-contact resolution", 60), ("Complete the complaint-handling course", 40)]
    assert contract.reward_terms == REWARDS
    assert not contract.is_locked


def test_hr_may_write_a_contract_whose_manager_is_the_employees_manager(org):
    contract = draft(org, user=org.hana)
    assert contract.manager == org.mike and contract.created_by == org.hana


def test_weights_not_summing_to_100_are_refused_and_nothing_is_saved(org):
    o1, o2 = alice_objectives(org)
    with pytest.raises(ValidationError) as exc:
        draft(org, [(o1, 60), (o2, 30)])
    assert field_errors(exc)["weights"] == [str(WEIGHTS_NOT_100 % {"total": "90"})]
    assert not Contract.objects.exists() and not ContractObjective.objects.exists()


def test_a_zero_weight_is_refused(org):
    o1, o2 = alice_objectives(org)
    with pytest.raises(ValidationError) as exc:
        draft(org, [(o1, 100), (o2, 0)])
    assert field_errors(exc)["weights"] == [str(WEIGHTS_NOT_POSITIVE)]


def test_an_objective_of_another_person_is_refused(org):
    o1, _o2 = alice_objectives(org)
    bobs = make_objective(org.bob, "Bob's objective")
    with pytest.raises(ValidationError) as exc:
        draft(org, [(o1, 50), (bobs, 50)])
    assert field_errors(exc)["objectives"] == [
        str(contracts.OBJECTIVE_NOT_PERSONS % {"title": "Bob's objective", "person": org.alice.name})]
    assert not Contract.objects.exists()


def test_an_objective_of_another_period_is_refused(org):
    o1, _o2 = alice_objectives(org)
    later = make_objective(org.alice, "Next quarter's objective", period=Q4)
    with pytest.raises(ValidationError) as exc:
        draft(org, [(o1, 50), (later, 50)])
    assert "Next quarter's objective" in field_errors(exc)["objectives"][0]
    assert "2026-10-01" in field_errors(exc)["objectives"][0]


@pytest.mark.parametrize("status", ["draft", "proposed", "cancelled", "achieved"])
def test_objectives_not_agreed_or_active_are_refused(org, status):
    o1, _o2 = alice_objectives(org)
    other = make_objective(org.alice, "Not agreed", status=status)
    with pytest.raises(ValidationError) as exc:
        draft(org, [(o1, 50), (other, 50)])
    assert field_errors(exc)["objectives"] == [str(contracts.OBJECTIVE_NOT_AGREED % {
        "title": "Not agreed", "status": Objective.Status(status).label})]


def test_an_active_objective_is_accepted(org):
    o1, _o2 = alice_objectives(org)
    active = make_objective(org.alice, "Active one", status=Objective.Status.ACTIVE)
    assert draft(org, [(o1, 50), (active, 50)]).lines.count() == 2


def test_no_objective_is_refused(org):
    with pytest.raises(ValidationError) as exc:
        draft(org, [])
    assert field_errors(exc)["objectives"] == [str(contracts.NO_OBJECTIVES)]


@pytest.mark.parametrize("rows, message", [
    ([], contracts.NO_REWARD_TERMS),
    ([{"grade": "A", "outcome": "   "}], contracts.REWARD_ROW_INCOMPLETE % {"row": 1}),
    ([{"grade": "A", "outcome": "x"}, {"grade": "a", "outcome": "y"}], contracts.REWARD_GRADE_TWICE % {"grade": "a"}),
    ("A: bonus", contracts.REWARD_TERMS_SHAPE),
])
def test_reward_terms_need_both_texts_and_distinct_grades(org, rows, message):
    o1, o2 = alice_objectives(org)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_create(user=org.mike, person=org.alice, period_start=Q3[0], period_end=Q3[1],
                                  objectives=[(o1, 60), (o2, 40)], reward_terms=rows)
    assert field_errors(exc)["reward_terms"] == [str(message)]
    assert not Contract.objects.exists()


def test_a_second_contract_for_the_same_person_and_period_is_refused(org):
    first = draft(org)
    with pytest.raises(ValidationError) as exc:
        draft(org, [(line.objective, line.weight) for line in first.lines.all()])
    assert "amend that contract instead" in field_errors(exc)["period_start"][0]
    assert Contract.objects.count() == 1


@pytest.mark.parametrize("writer, error", [
    ("alice", contracts.OWN_CONTRACT), ("bob", contracts.NOT_MANAGER), ("olga", contracts.NOT_MANAGER),
])
def test_only_a_manager_hr_or_director_writes_a_contract(org, writer, error):
    with pytest.raises(PermissionDenied) as exc:
        draft(org, user=getattr(org, writer))
    assert str(exc.value) == str(error)
    assert not Contract.objects.exists()


# ------------------------------------------------------------------- signing


def test_both_signatures_lock_the_contract_and_freeze_its_content(org):
    contract = draft(org)
    first = contracts.contract_sign(user=org.alice, contract=contract)
    contract.refresh_from_db()
    assert first.role == ContractSignature.Role.EMPLOYEE and contract.status == Contract.Status.DRAFT
    assert not contract.is_locked
    second = contracts.contract_sign(user=org.mike, contract=contract)
    contract.refresh_from_db()
    assert second.role == ContractSignature.Role.MANAGER and second.signer == org.mike
    assert contract.status == Contract.Status.SIGNED and contract.is_locked
    content = contract.content
    assert content["person"] == "ALICE" and content["version"] == 1
    assert content["period_start"] == "2026-07-01" and content["period_end"] == "2026-09-30"
    assert [(line["title"], line["weight"], line["kpi"]) for line in content["lines"]] == [
        ("Raise first-contact resolution", 60, "fcr"), ("Complete the complaint-handling course", 40, None)]
    assert content["lines"][0]["target"] == 75.0 and content["lines"][0]["due_date"] == "2026-09-30"
    assert content["lines"][1]["completion_criterion"] == "Course certificate uploaded"
    assert content["reward_terms"] == REWARDS and content["support"] == "Two coaching sessions a month."


def test_the_recorded_hash_equals_a_recomputation_of_the_signed_content(org):
    contract = signed(org)
    text = json.dumps(contract.content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert contract.content_hash == expected
    assert {s.content_hash for s in contract.signatures.all()} == {expected}
    # Rebuilt from the rows, the content is the same: the hash covers what the rows said.
    contract.locked_at = None
    assert contracts.content_hash(contracts.contract_content(contract)) == expected


def test_the_line_manager_above_may_sign_for_the_employer(org):
    contract = draft(org)
    contracts.contract_sign(user=org.alice, contract=contract)
    signature = contracts.contract_sign(user=org.dana, contract=contract)
    assert signature.role == ContractSignature.Role.MANAGER and signature.signer == org.dana


@pytest.mark.parametrize("signer", ["bob", "olga", "hana", "carl"])
def test_peers_other_managers_and_hr_cannot_sign(org, signer):
    contract = draft(org)
    with pytest.raises(PermissionDenied):
        contracts.contract_sign(user=getattr(org, signer), contract=contract)
    assert not contract.signatures.exists()


def test_signing_twice_in_the_same_role_is_refused(org):
    contract = draft(org)
    contracts.contract_sign(user=org.alice, contract=contract)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=org.alice, contract=contract)
    assert exc.value.messages == [str(contracts.ALREADY_SIGNED["employee"])]
    assert contract.signatures.count() == 1


def test_a_locked_contract_cannot_be_signed_again(org):
    contract = signed(org)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=org.alice, contract=contract)
    assert exc.value.messages == [str(contracts.ALREADY_LOCKED)]


def test_a_signature_over_different_content_is_refused(org):
    """An objective revised between the two signatures: the second would sign another text."""
    contract = draft(org)
    contracts.contract_sign(user=org.alice, contract=contract)
    Objective.objects.filter(title="Raise first-contact resolution").update(target=78.0)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=org.mike, contract=contract)
    assert exc.value.messages == [str(contracts.CONTENT_CHANGED)]
    contract.refresh_from_db()
    assert not contract.is_locked and contract.signatures.count() == 1


def test_an_objective_cancelled_before_signing_blocks_the_signature(org):
    contract = draft(org)
    Objective.objects.filter(title="Raise first-contact resolution").update(status=Objective.Status.CANCELLED)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=org.alice, contract=contract)
    assert "objectives" in exc.value.message_dict


# ------------------------------------------------------------------- editing


def test_a_draft_without_signatures_can_be_edited(org):
    contract = draft(org)
    o1, o2 = [line.objective for line in contract.lines.all()]
    contracts.contract_update(user=org.mike, contract=contract, objectives=[(o1, 70), (o2, 30)], terms_text="New")
    contract.refresh_from_db()
    assert [line.weight for line in contract.lines.all()] == [70, 30] and contract.terms_text == "New"


def _snapshot(contract: Contract):
    contract.refresh_from_db()
    return (contract.support, contract.terms_text, contract.reward_terms, contract.status, contract.locked_at,
            contract.content_hash, list(contract.lines.values_list("objective_id", "weight")))


def test_editing_a_contract_someone_has_signed_is_refused_and_nothing_changes(org):
    contract = draft(org)
    contracts.contract_sign(user=org.alice, contract=contract)
    before = _snapshot(contract)
    o1, o2 = [line.objective for line in contract.lines.all()]
    with pytest.raises(ValidationError) as exc:
        contracts.contract_update(user=org.mike, contract=contract, objectives=[(o1, 50), (o2, 50)], support="Less")
    assert exc.value.messages == [str(contracts.SIGNED_NO_EDIT)]
    assert _snapshot(contract) == before


def test_editing_a_signed_contract_is_refused_and_nothing_changes(org):
    contract = signed(org)
    before = _snapshot(contract)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_update(user=org.mike, contract=contract, terms_text="Changed", reward_terms=REWARDS[:1])
    assert exc.value.messages == [str(contracts.LOCKED_NO_EDIT)]
    assert _snapshot(contract) == before


def test_a_locked_row_is_never_written_through_save(org):
    contract = signed(org)
    contract.terms_text = "Changed behind the service's back"
    with pytest.raises(ValidationError):
        contracts._save_unlocked(contract, ["terms_text"])
    contract.refresh_from_db()
    assert contract.terms_text == "Grades come from the quarterly appraisal."


# ------------------------------------------------------------------ amending


def test_amendment_chain_v1_signed_v2_draft_v2_signed_v1_superseded(org):
    v1 = signed(org)
    v1_hash, v1_content = v1.content_hash, v1.content
    o1, o2 = [line.objective for line in v1.lines.all()]
    v2 = contracts.contract_amend(user=org.mike, contract=v1, reason="Course moved to Q4",
                                  objectives=[(o1, 100)])
    v1.refresh_from_db()
    assert (v2.version, v2.replaces, v2.status, v2.amendment_reason) == (2, v1, Contract.Status.DRAFT, "Course moved to Q4")
    assert v2.reward_terms == v1.reward_terms and v2.support == v1.support  # carried over
    assert v1.status == Contract.Status.SIGNED  # still in force until the amendment is signed
    contracts.contract_sign(user=org.alice, contract=v2)
    v1.refresh_from_db()
    assert v1.status == Contract.Status.SIGNED
    contracts.contract_sign(user=org.mike, contract=v2)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v2.status == Contract.Status.SIGNED and v2.is_locked
    assert v1.status == Contract.Status.SUPERSEDED
    assert (v1.content_hash, v1.content) == (v1_hash, v1_content)  # the old text stays as signed
    assert [c.version for c in contracts.contract_versions(v2)] == [1, 2]
    for user in (org.alice, org.mike, org.hana):
        assert set(contracts.contracts_visible(user).values_list("version", flat=True)) == {1, 2}
    assert [line["weight"] for line in v2.content["lines"]] == [100]


def test_a_superseded_version_cannot_be_signed(org):
    v1 = signed(org)
    v2 = contracts.contract_amend(user=org.mike, contract=v1, reason="Targets revised")
    contracts.contract_sign(user=org.alice, contract=v2)
    contracts.contract_sign(user=org.mike, contract=v2)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_sign(user=org.alice, contract=v1)
    assert exc.value.messages == [str(contracts.SUPERSEDED_NO_SIGN)]


def test_an_amendment_needs_a_reason_and_a_signed_contract(org):
    contract = draft(org)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_amend(user=org.mike, contract=contract, reason="Why not")
    assert exc.value.messages == [str(contracts.AMEND_ONLY_SIGNED)]
    contracts.contract_sign(user=org.alice, contract=contract)
    contracts.contract_sign(user=org.mike, contract=contract)
    with pytest.raises(ValidationError) as exc:
        contracts.contract_amend(user=org.mike, contract=contract, reason="  ")
    assert exc.value.message_dict == {"reason": [str(contracts.REASON_REQUIRED)]}
    assert Contract.objects.count() == 1


def test_one_amendment_at_a_time(org):
    v1 = signed(org)
    contracts.contract_amend(user=org.mike, contract=v1, reason="First")
    with pytest.raises(ValidationError) as exc:
        contracts.contract_amend(user=org.mike, contract=v1, reason="Second")
    assert exc.value.messages == [str(contracts.AMEND_UNDER_WAY % {"version": 2})]


def test_an_amendment_keeps_objectives_achieved_since_signing(org):
    v1 = signed(org)
    Objective.objects.filter(title="Complete the complaint-handling course").update(status=Objective.Status.ACHIEVED)
    v2 = contracts.contract_amend(user=org.mike, contract=v1, reason="Support changed", support="Weekly coaching")
    assert v2.lines.count() == 2


def test_the_employee_cannot_amend_their_own_contract(org):
    v1 = signed(org)
    with pytest.raises(PermissionDenied):
        contracts.contract_amend(user=org.alice, contract=v1, reason="I want more bonus")


# ---------------------------------------------------------------- visibility


@pytest.mark.parametrize("user, sees", [
    ("alice", True), ("mike", True), ("dana", True), ("hana", True), ("dirk", True),
    ("bob", False), ("carl", False), ("olga", False),
])
def test_who_sees_alices_contract(org, user, sees):
    contract = draft(org)
    assert contracts.contracts_visible(getattr(org, user)).filter(pk=contract.pk).exists() is sees


def test_an_objective_in_a_half_signed_contract_cannot_be_revised(org):
    from goals.services import IN_CONTRACT_BEING_SIGNED, objective_revise

    contract = draft(org)
    objective = contract.lines.first().objective
    contracts.contract_sign(user=org.alice, contract=contract)
    with pytest.raises(ValidationError) as exc:
        objective_revise(user=org.mike, objective=objective, reason="Volume changed", due_date=objective.due_date - dt.timedelta(days=1))
    assert str(IN_CONTRACT_BEING_SIGNED) in exc.value.messages
    contracts.contract_sign(user=org.mike, contract=contract)  # the signature can still be completed
    contract.refresh_from_db()
    assert contract.is_locked
    revised = objective_revise(user=org.mike, objective=objective, reason="Volume changed", due_date=objective.due_date - dt.timedelta(days=1))
    assert revised.due_date == objective.due_date - dt.timedelta(days=1)
