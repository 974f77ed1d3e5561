"""Contract pages: list, create, document, sign, edit (refused once signed), amend; 404 outside the user's view."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from goals import contracts
from goals.contract_forms import READ_REQUIRED
from goals.models import Contract, Objective
from tests.goals.test_contracts import Q3, alice_objectives, draft, make_objective, signed


def login(client, person):
    client.force_login(person)
    return client


def create_url(code="ALICE", period=Q3):
    return reverse("contract-create") + f"?person={code}&start={period[0]}&end={period[1]}"


def form_data(objectives, weights, rewards=(("A", "Bonus 150%"), ("E", "Improvement plan")), **extra):
    data = {"support": "Coaching", "terms_text": "Terms"}
    for o, w in zip(objectives, weights):
        if w is not None:
            data[f"o-{o.pk}"] = "on"
            data[f"w-{o.pk}"] = w
    for i, (grade, outcome) in enumerate(rewards):
        data[f"grade-{i}"], data[f"outcome-{i}"] = grade, outcome
    data.update(extra)
    return data


# ---------------------------------------------------------------------- list


def test_list_shows_the_contracts_the_user_may_see(client, org):
    contract = draft(org)
    detail = reverse("contract-detail", args=[contract.pk])
    assert detail in login(client, org.mike).get(reverse("contract-list")).content.decode()
    assert detail in login(client, org.alice).get(reverse("contract-list")).content.decode()
    for outsider in (org.bob, org.olga):
        response = login(client, outsider).get(reverse("contract-list"))
        assert response.status_code == 200 and detail not in response.content.decode()


def test_list_filters_by_status_and_period(client, org):
    contract = draft(org)
    login(client, org.hana)
    detail = reverse("contract-detail", args=[contract.pk])
    assert detail in client.get(reverse("contract-list") + "?status=draft").content.decode()
    assert detail not in client.get(reverse("contract-list") + "?status=signed").content.decode()
    assert detail not in client.get(reverse("contract-list") + "?start=2026-10-01").content.decode()
    assert client.get(reverse("contract-list") + "?start=nonsense").status_code == 400


def test_list_query_count_does_not_grow_with_contracts(client, org, django_assert_max_num_queries):
    signed(org)
    login(client, org.hana)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("contract-list")).status_code == 200
    for person in (org.bob, org.carl):
        o = make_objective(person, "Handle time", weight=100)
        c = draft(org, [(o, 100)], person=person, user=org.dana)
        contracts.contract_sign(user=person, contract=c)
    # Expect the same queries: session, user, navigation, count, contracts with parties, signatures.
    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse("contract-list"))
    assert len(response.context["rows"]) == 3


# -------------------------------------------------------------------- create


def test_create_page_is_prefilled_with_agreed_objectives_and_the_usual_reward_table(client, org):
    o1, o2 = alice_objectives(org)
    make_objective(org.alice, "Still a draft", status=Objective.Status.DRAFT)
    response = login(client, org.mike).get(create_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert o1.title in page and o2.title in page and "Still a draft" not in page
    assert f'name="w-{o1.pk}" id="id_w-{o1.pk}" value="60.0"' in page
    assert "A · Outstanding" in page and "E · Needs improvement" in page


def test_create_page_without_a_person_asks_for_one(client, org):
    response = login(client, org.mike).get(reverse("contract-create"))
    assert response.status_code == 200 and 'name="person"' in response.content.decode()
    response = client.get(reverse("contract-create") + "?person=ALICE&start=2026-07-01&end=2026-09-30x")
    assert response.status_code == 400


def test_manager_creates_a_contract(client, org):
    o1, o2 = alice_objectives(org)
    response = login(client, org.mike).post(create_url(), form_data([o1, o2], [60, 40]))
    contract = Contract.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("contract-detail", args=[contract.pk])
    assert contract.reward_terms == [{"grade": "A", "outcome": "Bonus 150%"}, {"grade": "E", "outcome": "Improvement plan"}]
    assert list(contract.lines.values_list("objective_id", "weight")) == [(o1.pk, 60), (o2.pk, 40)]


def test_weights_not_summing_to_100_show_a_message_and_save_nothing(client, org):
    o1, o2 = alice_objectives(org)
    response = login(client, org.mike).post(create_url(), form_data([o1, o2], [60, 30]))
    assert response.status_code == 400
    assert "Weights must add up to 100 (they add up to 90)." in response.content.decode()
    assert not Contract.objects.exists()


@pytest.mark.parametrize("rewards, message", [
    ((("A", ""),), "Row 1: give both a rating grade and its outcome."),
    ((("A", "x"), ("A", "y")), "appears more than once"),
    ((), "Give at least one row of the reward and penalty table."),
])
def test_bad_reward_rows_show_a_message_and_save_nothing(client, org, rewards, message):
    o1, o2 = alice_objectives(org)
    response = login(client, org.mike).post(create_url(), form_data([o1, o2], [60, 40], rewards=rewards))
    assert response.status_code == 400 and message in response.content.decode()
    assert not Contract.objects.exists()


def test_an_included_objective_needs_a_weight(client, org):
    o1, o2 = alice_objectives(org)
    data = form_data([o1, o2], [100, 0])
    data[f"w-{o2.pk}"] = ""
    response = login(client, org.mike).post(create_url(), data)
    assert response.status_code == 400 and "Give a weight for each objective you include." in response.content.decode()
    assert not Contract.objects.exists()


def test_a_second_contract_for_the_period_is_refused_on_the_page(client, org):
    existing = draft(org)
    objectives = [line.objective for line in existing.lines.all()]
    login(client, org.mike)
    assert "already has a contract for this period" in client.get(create_url()).content.decode()
    response = client.post(create_url(), form_data(objectives, [60, 40]))
    assert response.status_code == 400 and "amend that contract instead" in response.content.decode()
    assert Contract.objects.count() == 1


@pytest.mark.parametrize("user, status", [("olga", 404), ("bob", 404), ("alice", 403), ("carl", 404)])
def test_create_for_someone_outside_ones_charge_is_refused(client, org, user, status):
    alice_objectives(org)
    assert login(client, getattr(org, user)).get(create_url()).status_code == status


# -------------------------------------------------------------------- detail


@pytest.mark.parametrize("user", ["bob", "olga", "carl"])
def test_contract_pages_answer_404_outside_the_users_view(client, org, user):
    contract = signed(org)
    login(client, getattr(org, user))
    for name in ("contract-detail", "contract-edit", "contract-amend"):
        assert client.get(reverse(name, args=[contract.pk])).status_code == 404, name
    assert client.post(reverse("contract-sign", args=[contract.pk]), SIGN).status_code == 404
    assert client.get(reverse("contract-sign", args=[contract.pk])).status_code == 404


def test_detail_reads_as_a_document_with_sign_buttons_for_the_right_people(client, org):
    contract = draft(org)
    page = login(client, org.alice).get(reverse("contract-detail", args=[contract.pk])).content.decode()
    for text in ("Performance contract", "Alice Agent", "Mike Manager", "Raise first-contact resolution",
                 "Two coaching sessions a month.", "Bonus 150%", "Grades come from the quarterly appraisal.",
                 "Sign as the employee", "contract-print.css"):
        assert text in page, text
    assert "Sign as the manager" not in page
    page = login(client, org.mike).get(reverse("contract-detail", args=[contract.pk])).content.decode()
    assert "Sign as the manager" in page and "Sign as the employee" not in page
    page = login(client, org.hana).get(reverse("contract-detail", args=[contract.pk])).content.decode()
    assert "Sign as the" not in page


SIGN = {"confirm": "on"}


def test_both_sign_on_the_page_and_the_contract_locks(client, org):
    contract = draft(org)
    url = reverse("contract-sign", args=[contract.pk])
    assert login(client, org.alice).post(url, SIGN).status_code == 302
    response = login(client, org.mike).post(url, SIGN, follow=True)
    assert "Both parties have signed: the contract is now locked." in response.content.decode()
    contract.refresh_from_db()
    assert contract.is_locked and contract.status == Contract.Status.SIGNED
    page = response.content.decode()
    assert contract.content_hash[:16] in page and "Amend" in page and "Sign as the" not in page


def test_the_sign_page_shows_what_is_signed_and_asks_to_confirm(client, org):
    contract = draft(org)
    digest = contracts.content_hash(contracts.contract_content(contract))
    page = login(client, org.alice).get(reverse("contract-sign", args=[contract.pk])).content.decode()
    for text in ("version 1", "Raise first-contact resolution", "Weight in this contract", "Bonus 150%",
                 "Two coaching sessions a month.", digest, "I have read this version", 'name="confirm"',
                 f'name="content_hash" value="{digest}"'):
        assert text in page, text
    # The contract page leads there instead of signing in one click.
    detail = client.get(reverse("contract-detail", args=[contract.pk])).content.decode()
    assert f'href="{reverse("contract-sign", args=[contract.pk])}"' in detail
    assert f'action="{reverse("contract-sign", args=[contract.pk])}"' not in detail


def test_signing_without_ticking_i_have_read_is_refused_with_a_field_error(client, org):
    contract = draft(org)
    response = login(client, org.alice).post(reverse("contract-sign", args=[contract.pk]), {})
    assert response.status_code == 400
    assert str(READ_REQUIRED) in response.content.decode()
    assert 'id="confirm-errors"' in response.content.decode()
    assert not contract.signatures.exists()


def test_a_contract_changed_since_it_was_read_is_not_signed(client, org):
    contract = draft(org)
    read = contracts.content_hash(contracts.contract_content(contract))
    Contract.objects.filter(pk=contract.pk).update(support="Less support than promised.")
    response = login(client, org.alice).post(reverse("contract-sign", args=[contract.pk]),
                                             {"confirm": "on", "content_hash": read})
    page = response.content.decode()
    assert response.status_code == 400 and "changed after you opened it" in page
    assert "Less support than promised." in page  # the current text, to read again
    assert not contract.signatures.exists()


def test_hr_cannot_sign_for_the_employer(client, org):
    contract = draft(org)
    assert login(client, org.hana).post(reverse("contract-sign", args=[contract.pk]), SIGN).status_code == 403
    assert login(client, org.hana).get(reverse("contract-sign", args=[contract.pk])).status_code == 403
    assert not contract.signatures.exists()


def test_signing_twice_shows_the_refusal(client, org):
    contract = draft(org)
    login(client, org.alice)
    client.post(reverse("contract-sign", args=[contract.pk]), SIGN)
    response = client.post(reverse("contract-sign", args=[contract.pk]), SIGN, follow=True)
    assert "The employee has already signed this contract." in response.content.decode()
    assert contract.signatures.count() == 1


def test_the_contract_explains_how_its_weights_relate_to_the_objectives_own(client, org):
    a, b, c = (make_objective(org.alice, title=t, weight=w) for t, w in (("One", 25), ("Two", 25), ("Three", 20)))
    assert contracts.contract_weights([a, b, c]) == [35.71, 35.71, 28.58]
    assert contracts.contract_weights([a, b]) == [50.0, 50.0]
    # A new contract proposes them.
    page = login(client, org.mike).get(create_url()).content.decode()
    assert f'name="w-{a.pk}" id="id_w-{a.pk}" value="35.71"' in page
    assert "goals.js" in page and "<script>" not in page[page.index("<main"):]  # the live total: a static file
    response = client.post(create_url(), form_data([a, b, c], ["35.71", "35.71", "28.58"]))
    contract = Contract.objects.get()
    page = client.get(reverse("contract-detail", args=[contract.pk])).content.decode()
    assert "Objective&#x27;s own weight" in page or "Objective's own weight" in page
    assert "rescaled to 100" in page and ">25<" in page and ">35.71<" in page and ">28.58<" in page


# ---------------------------------------------------------------------- edit


def test_a_draft_is_edited_on_the_edit_page(client, org):
    contract = draft(org)
    objectives = [line.objective for line in contract.lines.all()]
    login(client, org.mike)
    assert client.get(reverse("contract-edit", args=[contract.pk])).status_code == 200
    response = client.post(reverse("contract-edit", args=[contract.pk]), form_data(objectives, [50, 50]))
    assert response.status_code == 302
    assert list(contract.lines.values_list("weight", flat=True)) == [50, 50]


def test_editing_a_signed_contract_is_refused_with_a_clear_message_and_nothing_changes(client, org):
    contract = draft(org)
    contracts.contract_sign(user=org.alice, contract=contract)
    objectives = [line.objective for line in contract.lines.all()]
    login(client, org.mike)
    response = client.post(reverse("contract-edit", args=[contract.pk]),
                           form_data(objectives, [50, 50], terms_text="Changed"), follow=True)
    assert str(contracts.SIGNED_NO_EDIT) in response.content.decode()
    contract.refresh_from_db()
    assert contract.terms_text == "Grades come from the quarterly appraisal."
    assert list(contract.lines.values_list("weight", flat=True)) == [60, 40]
    contracts.contract_sign(user=org.mike, contract=contract)
    response = client.get(reverse("contract-edit", args=[contract.pk]), follow=True)
    assert str(contracts.LOCKED_NO_EDIT) in response.content.decode()


def test_the_employee_cannot_edit_their_draft(client, org):
    contract = draft(org)
    assert login(client, org.alice).get(reverse("contract-edit", args=[contract.pk])).status_code == 403


# --------------------------------------------------------------------- amend


def test_amendment_on_the_page_links_the_versions(client, org):
    v1 = signed(org)
    objectives = [line.objective for line in v1.lines.all()]
    login(client, org.mike)
    assert client.get(reverse("contract-amend", args=[v1.pk])).status_code == 200
    response = client.post(reverse("contract-amend", args=[v1.pk]), form_data(objectives, [70, 30], reason=""))
    assert response.status_code == 400 and str(contracts.REASON_REQUIRED) in response.content.decode()
    response = client.post(reverse("contract-amend", args=[v1.pk]), form_data(objectives, [70, 30], reason="Rebalanced"))
    v2 = Contract.objects.get(version=2)
    assert response["Location"] == reverse("contract-detail", args=[v2.pk])
    assert "An amendment (version 2) awaits signatures" in client.get(reverse("contract-detail", args=[v1.pk])).content.decode()
    contracts.contract_sign(user=org.alice, contract=v2)
    contracts.contract_sign(user=org.mike, contract=v2)
    old = login(client, org.alice).get(reverse("contract-detail", args=[v1.pk])).content.decode()
    assert "Superseded by version 2." in old and "60" in old
    new = client.get(reverse("contract-detail", args=[v2.pk])).content.decode()
    assert "Replaces version 1." in new and "Rebalanced" in new


def test_a_draft_cannot_be_amended(client, org):
    contract = draft(org)
    response = login(client, org.mike).get(reverse("contract-amend", args=[contract.pk]), follow=True)
    assert str(contracts.AMEND_ONLY_SIGNED) in response.content.decode()
