"""Goals admin: every page renders; records stay read-only; a signed or locked contract cannot be changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from goals import contracts
from goals.models import (
    CheckIn,
    CheckInReminder,
    Contract,
    InfluencingFactor,
    ObjectiveEvent,
    ObjectiveTemplate,
)
from scorecard.models import Kpi, Person
from tests.goals.test_contracts import REWARDS, draft, signed


@pytest.fixture
def admin_client_(client, org):
    client.force_login(Person.objects.create_superuser("ROOT", "pw", name="Root"))
    return client


@pytest.fixture
def goals_data(org):
    """One row of every goals model."""
    contract = signed(org)
    objective = contract.lines.first().objective
    ObjectiveEvent.objects.create(objective=objective, action="agree", from_status="proposed", to_status="agreed", by=org.mike)
    template = ObjectiveTemplate.objects.create(name="FCR for agents", unit=org.t1, title="Raise FCR",
                                                kpi=Kpi.objects.get(code="fcr"), target=75, created_by=org.mike)
    checkin = CheckIn.objects.create(objective=objective, author=org.alice, progress_note="On track", progress=40)
    reminder = CheckInReminder.objects.create(objective=objective, since=objective.period_start)
    factor = InfluencingFactor.objects.create(objective=objective, name="Knowledge base accuracy",
                                              controllable=True, influenceable=True, category="information")
    return {"objective": objective, "objectiveevent": objective.events.first(), "objectivetemplate": template,
            "checkin": checkin, "checkinreminder": reminder, "influencingfactor": factor, "contract": contract}


MODELS = ["objective", "objectiveevent", "objectivetemplate", "checkin", "checkinreminder", "influencingfactor", "contract"]


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_page_render(admin_client_, goals_data, model):
    assert admin_client_.get(reverse(f"admin:goals_{model}_changelist")).status_code == 200
    obj = goals_data[model]
    assert admin_client_.get(reverse(f"admin:goals_{model}_change", args=[obj.pk])).status_code == 200


def test_changelist_filters_render(admin_client_, goals_data):
    url = reverse("admin:goals_objective_changelist")
    assert admin_client_.get(url, {"status": "agreed", "kind": "kpi"}).status_code == 200
    assert admin_client_.get(reverse("admin:goals_objective_history", args=[goals_data["objective"].pk])).status_code == 200


def test_objective_change_page_lists_its_events_read_only(admin_client_, goals_data):
    page = admin_client_.get(reverse("admin:goals_objective_change", args=[goals_data["objective"].pk])).content.decode()
    assert "events-TOTAL_FORMS" in page and 'name="events-0-comment"' not in page


def test_events_and_reminders_are_read_only(admin_client_, goals_data):
    assert admin_client_.get(reverse("admin:goals_objectiveevent_add")).status_code == 403
    assert admin_client_.get(reverse("admin:goals_checkinreminder_add")).status_code == 403


def test_a_locked_contract_is_read_only_in_admin(admin_client_, goals_data):
    contract = goals_data["contract"]
    url = reverse("admin:goals_contract_change", args=[contract.pk])
    page = admin_client_.get(url).content.decode()
    assert 'name="_save"' not in page and 'name="terms_text"' not in page
    assert contract.content_hash in page  # shown, as the record of what was signed
    response = admin_client_.post(url, {"support": "Changed", "terms_text": "Changed", "reward_terms": "[]"})
    assert response.status_code == 403
    contract.refresh_from_db()
    assert contract.terms_text == "Grades come from the quarterly appraisal." and contract.support != "Changed"
    assert admin_client_.post(reverse("admin:goals_contract_delete", args=[contract.pk]), {"post": "yes"}).status_code == 403
    assert Contract.objects.filter(pk=contract.pk).exists()
    assert admin_client_.get(reverse("admin:goals_contract_add")).status_code == 403


def test_a_contract_signed_by_one_party_is_read_only_too(admin_client_, org):
    contract = draft(org)
    contracts.contract_sign(user=org.alice, contract=contract)
    url = reverse("admin:goals_contract_change", args=[contract.pk])
    assert admin_client_.post(url, {"support": "x", "terms_text": "x", "reward_terms": "[]"}).status_code == 403


def _inline_management():
    data = {}
    for prefix in ("lines", "signatures"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0,
                     f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000})
    return data


def test_an_unsigned_draft_is_corrected_through_the_service(admin_client_, org):
    contract = draft(org)
    url = reverse("admin:goals_contract_change", args=[contract.pk])
    bad = admin_client_.post(url, {"support": "S", "terms_text": "T", "reward_terms": '[{"grade": "A", "outcome": ""}]',
                                   **_inline_management()})
    assert bad.status_code == 200 and "Row 1: give both a rating grade and its outcome." in bad.content.decode()
    contract.refresh_from_db()
    assert contract.reward_terms == REWARDS
    good = admin_client_.post(url, {"support": "S", "terms_text": "T",
                                    "reward_terms": '[{"grade": "A", "outcome": "Bonus"}]', **_inline_management()})
    assert good.status_code == 302
    contract.refresh_from_db()
    assert (contract.support, contract.terms_text, contract.reward_terms) == ("S", "T", [{"grade": "A", "outcome": "Bonus"}])
