"""Contract API: list and read what one may see, write a draft, sign, amend, read the chain of versions."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from goals import contracts
from goals.models import Contract
from tests.goals.test_contracts import REWARDS, Q3, alice_objectives, draft, make_objective, signed

URL = "/api/v1/goals/contracts/"


@pytest.fixture
def api():
    return APIClient()


def as_user(api, person):
    api.force_authenticate(person)
    return api


def create_body(objectives, weights, **extra):
    body = {
        "person": "ALICE", "period_start": str(Q3[0]), "period_end": str(Q3[1]),
        "objectives": [{"objective": o.pk, "weight": w} for o, w in zip(objectives, weights)],
        "support": "Coaching", "reward_terms": REWARDS, "terms_text": "Terms",
    }
    body.update(extra)
    return body


def test_list_is_paginated_and_holds_only_visible_contracts(api, org):
    contract = draft(org)
    data = as_user(api, org.mike).get(URL).json()
    assert data["count"] == 1 and data["results"][0]["id"] == contract.pk
    row = data["results"][0]
    assert row["person"] == "ALICE" and row["manager"] == "MIKE" and row["status"] == "draft"
    assert [line["weight"] for line in row["lines"]] == [60, 40] and row["signatures"] == []
    for outsider in (org.bob, org.olga, org.carl):
        assert as_user(api, outsider).get(URL).json()["count"] == 0
    assert as_user(api, org.alice).get(URL).json()["count"] == 1


def test_list_filters(api, org):
    draft(org)
    as_user(api, org.hana)
    assert api.get(URL, {"status": "draft", "person": "ALICE"}).json()["count"] == 1
    assert api.get(URL, {"status": "signed"}).json()["count"] == 0
    assert api.get(URL, {"start": "2026-10-01"}).json()["count"] == 0


def test_list_query_count_does_not_grow_with_contracts(api, org, django_assert_max_num_queries):
    signed(org)
    as_user(api, org.hana)
    with CaptureQueriesContext(connection) as few:
        assert api.get(URL).status_code == 200
    # Expect 4: count, contracts with parties and version links, lines with objectives and KPIs, signatures.
    assert len(few) <= 4, [q["sql"] for q in few]
    for person in (org.bob, org.carl):
        o = make_objective(person, "Handle time", weight=100)
        c = draft(org, [(o, 100)], person=person, user=org.dana)
        contracts.contract_sign(user=person, contract=c)
    with django_assert_max_num_queries(len(few)):
        assert api.get(URL).json()["count"] == 3


@pytest.mark.parametrize("user", ["bob", "olga", "carl"])
def test_every_endpoint_answers_404_outside_the_users_view(api, org, user):
    contract = signed(org)
    as_user(api, getattr(org, user))
    base = f"{URL}{contract.pk}/"
    assert api.get(base).status_code == 404
    assert api.patch(base, {"terms_text": "x"}, format="json").status_code == 404
    assert api.post(f"{base}sign/").status_code == 404
    assert api.post(f"{base}amend/", {"reason": "x"}, format="json").status_code == 404
    assert api.get(f"{base}versions/").status_code == 404
    assert api.get(f"{URL}999999/").status_code == 404


def test_manager_creates_a_contract(api, org):
    o1, o2 = alice_objectives(org)
    response = as_user(api, org.mike).post(URL, create_body([o1, o2], [60, 40]), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 1 and Contract.objects.get().manager == org.mike


def test_bad_weights_answer_400_by_field_and_save_nothing(api, org):
    o1, o2 = alice_objectives(org)
    response = as_user(api, org.mike).post(URL, create_body([o1, o2], [60, 30]), format="json")
    assert response.status_code == 400
    assert response.json() == {"weights": ["Weights must add up to 100 (they add up to 90)."]}
    assert not Contract.objects.exists()


def test_objectives_the_caller_cannot_see_are_unknown(api, org):
    o1, _o2 = alice_objectives(org)
    theirs = make_objective(org.olga, "Olga's own objective")
    response = as_user(api, org.mike).post(URL, create_body([o1, theirs], [50, 50]), format="json")
    assert response.status_code == 400 and "Olga" not in str(response.json())
    assert "objectives" in response.json()


def test_creating_for_a_person_outside_ones_view_is_404(api, org):
    o1, o2 = alice_objectives(org)
    assert as_user(api, org.olga).post(URL, create_body([o1, o2], [60, 40]), format="json").status_code == 404
    assert as_user(api, org.alice).post(URL, create_body([o1, o2], [60, 40]), format="json").status_code == 403
    assert not Contract.objects.exists()


def test_a_draft_is_updated_but_a_signed_one_is_refused(api, org):
    contract = draft(org)
    as_user(api, org.mike)
    response = api.patch(f"{URL}{contract.pk}/", {"terms_text": "New terms"}, format="json")
    assert response.status_code == 200 and response.json()["terms_text"] == "New terms"
    contracts.contract_sign(user=org.alice, contract=contract)
    response = api.patch(f"{URL}{contract.pk}/", {"terms_text": "Sneaky"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [str(contracts.SIGNED_NO_EDIT)]}
    contract.refresh_from_db()
    assert contract.terms_text == "New terms"


def test_both_sign_and_the_hashes_match(api, org):
    contract = draft(org)
    assert as_user(api, org.alice).post(f"{URL}{contract.pk}/sign/").status_code == 200
    data = as_user(api, org.mike).post(f"{URL}{contract.pk}/sign/").json()
    assert data["status"] == "signed" and data["locked_at"]
    assert {s["content_hash"] for s in data["signatures"]} == {data["content_hash"]}
    assert {s["role"]: s["signer"] for s in data["signatures"]} == {"employee": "ALICE", "manager": "MIKE"}
    assert as_user(api, org.hana).post(f"{URL}{contract.pk}/sign/").status_code == 400  # already locked


def test_a_wrong_signer_who_can_see_the_contract_gets_403(api, org):
    contract = draft(org)
    assert as_user(api, org.hana).post(f"{URL}{contract.pk}/sign/").status_code == 403
    assert not contract.signatures.exists()


def test_amend_and_read_the_chain(api, org):
    v1 = signed(org)
    as_user(api, org.mike)
    assert api.post(f"{URL}{v1.pk}/amend/", {"reason": ""}, format="json").status_code == 400
    response = api.post(f"{URL}{v1.pk}/amend/", {"reason": "New coaching plan", "support": "Weekly"}, format="json")
    assert response.status_code == 201, response.json()
    v2 = response.json()
    assert v2["version"] == 2 and v2["replaces"] == v1.pk and v2["support"] == "Weekly"
    contracts.contract_sign(user=org.alice, contract=Contract.objects.get(pk=v2["id"]))
    contracts.contract_sign(user=org.mike, contract=Contract.objects.get(pk=v2["id"]))
    chain = as_user(api, org.alice).get(f"{URL}{v2['id']}/versions/").json()
    assert [(c["version"], c["status"]) for c in chain] == [(1, "superseded"), (2, "signed")]
    assert chain[0]["superseded_by"] == v2["id"] and chain[0]["content_hash"] == v1.content_hash
