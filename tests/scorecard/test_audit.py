"""The audit log (issue 11): each sensitive act leaves exactly one event, inside its own transaction;
HR, directors and superusers read the log (page, API, admin), read-only; agents and managers get 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from simple_history.models import HistoricalRecords

from goals import contracts
from reviews import calibration, closing, services
from reviews.models import Appraisal, ReviewCycle
from scorecard.audit import audit_record
from scorecard.models import AuditEvent, Person
from tests.base import PASSWORD
from tests.goals.test_contracts import draft
from tests.reviews.test_closing import make_appraisal, make_cycle

A = AuditEvent.Action
LIMIT = settings.AXES_FAILURE_LIMIT


def events(action=None):
    qs = AuditEvent.objects.all()
    return list(qs.filter(action=action) if action else qs)


def only(action) -> AuditEvent:
    rows = events()
    assert [e.action for e in rows] == [action], [(e.action, e.target_label) for e in rows]
    return rows[0]


def sign_in(client, code, password):
    return client.post(reverse("login"), {"username": code, "password": password})


# ------------------------------------------------------------------ the acts


def test_a_failed_sign_in_is_one_event_with_the_code_typed_and_the_address(client, org):
    sign_in(client, "ALICE", "wrong-password")
    event = only(A.LOGIN_FAILED)
    assert (event.actor, event.actor_label, event.target_id, event.ip) == (None, "ALICE", str(org.alice.pk), "127.0.0.1")
    assert event.details == {"code": "ALICE", "via": "page"}


def test_a_failed_sign_in_with_an_unknown_code_names_no_one(client, db):
    sign_in(client, "NOBODY", "wrong-password")
    event = only(A.LOGIN_FAILED)
    assert (event.actor_label, event.target_type, event.target_id) == ("NOBODY", "", "")


def test_a_failed_basic_auth_is_recorded_as_coming_through_the_api(org):
    import base64

    token = base64.b64encode(b"ALICE:wrong-password").decode()
    APIClient().get("/api/v1/kpis/", HTTP_AUTHORIZATION=f"Basic {token}")
    assert only(A.LOGIN_FAILED).details == {"code": "ALICE", "via": "api"}


def test_the_lock_is_recorded_once_however_many_attempts_follow(client, org):
    for _ in range(LIMIT + 2):
        sign_in(client, "ALICE", "wrong-password")
    assert len(events(A.LOGIN_FAILED)) == LIMIT + 2
    locked = events(A.LOCKED_OUT)
    assert len(locked) == 1 and locked[0].target_id == str(org.alice.pk) and locked[0].details["failures"] == LIMIT


def test_a_successful_sign_in_records_nothing_even_when_the_hash_is_upgraded(client, org, settings):
    # Alice's password was hashed with MD5 (the tests' hasher); PBKDF2 first makes the sign-in rehash it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    assert sign_in(client, "ALICE", PASSWORD).status_code == 302
    assert Person.objects.get(pk=org.alice.pk).password.startswith("pbkdf2_")
    assert events() == []


def test_a_password_changed_on_its_page_is_one_event_by_its_owner(client, org):
    client.force_login(org.alice)
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "quiet-harbour-42", "new_password2": "quiet-harbour-42"})
    assert response.status_code == 302
    event = only(A.PASSWORD_CHANGED)
    assert (event.actor, event.target_id, event.ip, event.details) == (org.alice, str(org.alice.pk), "127.0.0.1", {})


def test_a_role_change_is_one_event_with_before_and_after_and_who_did_it(org, rf):
    request = rf.post("/admin/scorecard/person/")
    request.user = org.dirk
    HistoricalRecords.context.request = request  # what simple_history's middleware does for every request
    try:
        alice = Person.objects.get(pk=org.alice.pk)
        alice.role = Person.Role.MANAGER
        alice.is_staff = True
        alice.save()
    finally:
        del HistoricalRecords.context.request
    event = only(A.ROLE_CHANGED)
    assert (event.actor, event.target_id) == (org.dirk, str(org.alice.pk))
    assert event.details == {"role": {"from": "agent", "to": "manager"}, "is_staff": {"from": False, "to": True}}


def test_saves_that_change_no_role_record_nothing(org):
    alice = Person.objects.get(pk=org.alice.pk)
    alice.name = "Alice Renamed"
    alice.save()
    alice.last_login = timezone.now()
    alice.save(update_fields=["last_login"])
    Person.objects.create_user("NEW", "a-long-passphrase", name="New Person", role="hr")
    assert events() == []


def test_signing_a_contract_is_one_event_per_signature(org):
    contract = draft(org)
    contracts.contract_sign(user=org.alice, contract=contract)
    first = only(A.CONTRACT_SIGNED)
    assert (first.actor, first.target_id, first.details) == (org.alice, str(contract.pk),
                                                             {"role": "employee", "version": 1, "locked": False})
    contracts.contract_sign(user=org.mike, contract=contract)
    second = events(A.CONTRACT_SIGNED)[0]  # newest first
    assert (second.actor, second.details["locked"]) == (org.mike, True)
    assert len(events()) == 2


def test_a_refused_signature_records_nothing(org):
    contract = draft(org)
    with pytest.raises(Exception):
        contracts.contract_sign(user=org.bob, contract=contract)
    assert events() == []


def test_launching_a_cycle_is_one_event(org):
    cycle = make_cycle(org, phase=ReviewCycle.Phase.DRAFT)
    created = services.cycle_launch(user=org.hana, cycle=cycle)
    event = only(A.CYCLE_LAUNCHED)
    assert (event.actor, event.target_id, event.details) == (org.hana, str(cycle.pk), {"appraisals": created})


def test_calibrating_a_grade_is_one_event_with_the_reason(org):
    cycle = make_cycle(org)
    appraisal = make_appraisal(cycle, org.alice, overall_score=81.5, proposed_grade="B")
    calibration.appraisal_calibrate(user=org.hana, appraisal=appraisal, grade="A", reason="Covered two teams")
    event = only(A.CALIBRATED)
    assert (event.actor, event.target_id) == (org.hana, str(appraisal.pk))
    assert event.details == {"from": None, "to": "A", "reason": "Covered two teams"}


def test_a_refused_calibration_records_nothing(org):
    cycle = make_cycle(org)
    appraisal = make_appraisal(cycle, org.alice, overall_score=81.5, proposed_grade="B")
    with pytest.raises(Exception):
        calibration.appraisal_calibrate(user=org.hana, appraisal=appraisal, grade="A", reason="")
    assert events() == []


def test_closing_a_cycle_is_one_event_however_often_it_is_asked(org, django_capture_on_commit_callbacks):
    cycle = make_cycle(org)
    make_appraisal(cycle, org.alice)
    with django_capture_on_commit_callbacks(execute=False):
        assert closing.cycle_close_start(user=org.hana, cycle=cycle)
        assert not closing.cycle_close_start(user=org.hana, cycle=cycle)
    event = only(A.CYCLE_CLOSED)
    assert (event.actor, event.target_id) == (org.hana, str(cycle.pk))
    assert event.details == {"from_phase": "calibration", "early": False, "appraisals": 1}


def test_an_early_close_records_its_override_reason(org, django_capture_on_commit_callbacks):
    cycle = make_cycle(org, phase=ReviewCycle.Phase.APPRAISAL)
    with django_capture_on_commit_callbacks(execute=False):
        closing.cycle_close_start(user=org.hana, cycle=cycle, reason="Reorganisation")
    assert only(A.CYCLE_CLOSED).details == {"from_phase": "appraisal", "early": True, "reason": "Reorganisation",
                                            "appraisals": 0}


def test_an_early_close_without_a_reason_records_nothing(org):
    cycle = make_cycle(org, phase=ReviewCycle.Phase.APPRAISAL)
    with pytest.raises(Exception):
        closing.cycle_close_start(user=org.hana, cycle=cycle)
    assert events() == []


# ----------------------------------------------------------------- downloads


@pytest.fixture
def stub_pdfs(monkeypatch):
    from goals import document_views as goals_docs
    from reviews import document_views as review_docs
    from scorecard import document_views as scorecard_docs

    monkeypatch.setattr(review_docs, "appraisal_pdf", lambda *a, **k: b"%PDF-stub")
    monkeypatch.setattr(goals_docs, "contract_pdf", lambda *a, **k: b"%PDF-stub")
    monkeypatch.setattr(scorecard_docs, "scorecard_report_pdf", lambda *a, **k: b"%PDF-stub")


def test_a_managers_download_of_an_appraisal_pdf_is_recorded_and_the_owners_is_not(client, org, stub_pdfs):
    appraisal = make_appraisal(make_cycle(org), org.alice)
    client.force_login(org.alice)
    assert client.get(reverse("appraisal-pdf", args=[appraisal.pk])).status_code == 200
    assert events() == []
    client.force_login(org.mike)
    assert client.get(reverse("appraisal-pdf", args=[appraisal.pk])).status_code == 200
    event = only(A.EXPORT_DOWNLOADED)
    assert (event.actor, event.target_id, event.details["document"]) == (org.mike, str(appraisal.pk), "appraisal_pdf")


def test_a_managers_download_of_a_contract_pdf_is_recorded(client, org, stub_pdfs):
    contract = draft(org)
    client.force_login(org.mike)
    assert client.get(reverse("contract-pdf", args=[contract.pk])).status_code == 200
    event = only(A.EXPORT_DOWNLOADED)
    assert (event.actor, event.target_id, event.details["document"]) == (org.mike, str(contract.pk), "contract_pdf")


def test_a_units_scorecard_pdf_is_recorded_and_ones_own_is_not(client, org, stub_pdfs):
    client.force_login(org.alice)
    assert client.get(reverse("scorecard-pdf", args=["ALICE"])).status_code == 200
    assert events() == []
    client.force_login(org.mike)
    assert client.get(reverse("scorecard-pdf", args=["T1"])).status_code == 200
    event = only(A.EXPORT_DOWNLOADED)
    assert (event.actor, event.target_type, event.details["document"]) == (org.mike, "scorecard.OrgUnit", "scorecard_pdf")


def test_each_download_of_a_bulk_export_zip_is_one_event(client, org, settings, tmp_path,
                                                          django_capture_on_commit_callbacks, monkeypatch):
    from reviews import exports

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(exports, "appraisal_pdf", lambda appraisal, **k: b"%PDF-stub")
    cycle = make_cycle(org, phase=ReviewCycle.Phase.DRAFT)
    services.cycle_launch(user=org.hana, cycle=cycle)
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = exports.export_start(user=org.hana, cycle=cycle, unit_codes=None, language="en")
    AuditEvent.objects.all().delete()
    client.force_login(org.hana)
    response = client.get(reverse("export-download", args=[job.pk]))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = only(A.EXPORT_DOWNLOADED)
    assert (event.actor, event.target_id, event.details["document"]) == (org.hana, str(job.pk), "appraisals_zip")
    api = APIClient()
    api.force_authenticate(org.hana)
    assert api.get(f"/api/v1/reviews/exports/{job.pk}/download/").status_code == 200
    assert len(events(A.EXPORT_DOWNLOADED)) == 2


# ------------------------------------------------------------- reading it


def many_events(org, n: int):
    for i in range(n):
        audit_record(A.CONTRACT_SIGNED, actor=[org.alice, org.mike][i % 2], target=org.alice, details={"i": i})


def test_hr_reads_the_log_newest_first_with_who_what_on_and_when(client, org):
    many_events(org, 3)
    audit_record(A.ROLE_CHANGED, actor=org.dirk, target=org.bob, details={"role": {"from": "agent", "to": "manager"}})
    client.force_login(org.hana)
    response = client.get(reverse("audit-log"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Role changed") < body.index("Contract signed")
    assert "Dirk Director (DIRK)" in body and "BOB Bob Peer" in body
    assert "<dt>role</dt><dd>agent → manager</dd>" in body


def test_the_log_filters_by_act_person_and_dates(client, org):
    many_events(org, 4)
    audit_record(A.ROLE_CHANGED, actor=org.dirk, target=org.bob)
    old = audit_record(A.LOGIN_FAILED, actor_label="BOB")
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=40))
    client.force_login(org.hana)

    def rows(**params):
        return client.get(reverse("audit-log"), params).context["page"].object_list

    assert {e.action for e in rows(action="role_changed")} == {A.ROLE_CHANGED}
    assert {e.action for e in rows(person="BOB")} == {A.ROLE_CHANGED, A.LOGIN_FAILED}  # done to Bob, typed as BOB
    assert len(rows(person="MIKE")) == 2
    today = timezone.localdate()
    assert len(rows(start=(today - dt.timedelta(days=1)).isoformat())) == 5
    assert [e.pk for e in rows(end=(today - dt.timedelta(days=30)).isoformat())] == [old.pk]
    bad = client.get(reverse("audit-log"), {"start": today.isoformat(), "end": (today - dt.timedelta(days=1)).isoformat()})
    assert bad.status_code == 400 and "The end date is before the start date." in bad.content.decode()


def test_the_log_is_paginated(client, org):
    many_events(org, 55)
    client.force_login(org.dirk)
    first = client.get(reverse("audit-log"))
    assert len(first.context["page"].object_list) == 50 and "page=2" in first.content.decode()
    assert len(client.get(reverse("audit-log"), {"page": 2}).context["page"].object_list) == 5


def test_the_log_page_is_in_chinese(client, org):
    many_events(org, 1)
    client.force_login(org.hana)
    body = client.get(reverse("audit-log"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "审计日志" in body and "业绩合同已签署" in body


@pytest.mark.parametrize("who", ["alice", "mike", "dana"])
def test_agents_and_managers_get_404_for_the_log(client, org, who):
    many_events(org, 1)
    client.force_login(getattr(org, who))
    assert client.get(reverse("audit-log")).status_code == 404
    api = APIClient()
    api.force_authenticate(getattr(org, who))
    assert api.get("/api/v1/audit/").status_code == 404


def test_the_log_is_not_for_anonymous_visitors(client, org):
    assert client.get(reverse("audit-log")).status_code == 302
    assert APIClient().get("/api/v1/audit/").status_code in (401, 403)


def test_the_api_lists_filters_and_refuses_writes(org):
    many_events(org, 3)
    audit_record(A.ROLE_CHANGED, actor=org.dirk, target=org.bob, details={"role": {"from": "agent", "to": "hr"}})
    api = APIClient()
    api.force_authenticate(org.hana)
    body = api.get("/api/v1/audit/").json()
    assert body["count"] == 4
    newest = body["results"][0]
    assert (newest["action"], newest["action_label"], newest["actor"], newest["target_type"], newest["details"]) == (
        "role_changed", "Role changed", "DIRK", "scorecard.Person", {"role": {"from": "agent", "to": "hr"}})
    assert api.get("/api/v1/audit/", {"action": "role_changed"}).json()["count"] == 1
    assert api.get("/api/v1/audit/", {"person": "ALICE"}).json()["count"] == 3
    assert api.get("/api/v1/audit/", {"limit": 2}).json()["next"]
    bad = api.get("/api/v1/audit/", {"start": "not-a-date"})
    assert bad.status_code == 400 and "start" in bad.json()
    assert api.post("/api/v1/audit/", {}).status_code == 405
    assert api.delete("/api/v1/audit/").status_code == 405


def test_the_page_and_the_api_take_the_same_queries_for_many_events(client, org, django_assert_max_num_queries):
    many_events(org, 5)
    client.force_login(org.hana)
    api = APIClient()
    api.force_authenticate(Person.objects.get(pk=org.hana.pk))
    client.get(reverse("audit-log"))  # warm the per-process caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as page_few:
        client.get(reverse("audit-log"))
    with CaptureQueriesContext(connection) as api_few:
        api.get("/api/v1/audit/")
    many_events(org, 40)
    with django_assert_max_num_queries(len(page_few)):
        assert client.get(reverse("audit-log")).status_code == 200
    with django_assert_max_num_queries(len(api_few)):
        assert len(api.get("/api/v1/audit/").json()["results"]) == 45


def test_the_admin_is_read_only(client, org):
    many_events(org, 1)
    root = Person.objects.create_superuser("ROOT", "a-long-passphrase", name="Root")
    client.force_login(root)
    event = AuditEvent.objects.get()
    assert client.get(reverse("admin:scorecard_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:scorecard_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:scorecard_auditevent_change", args=[event.pk]), {"action": "unlocked"}).status_code == 403
    assert client.post(reverse("admin:scorecard_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get().action == A.CONTRACT_SIGNED
