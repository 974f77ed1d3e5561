"""Appraisal pages: who sees them, the forms each user gets, saving through them, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reviews.models import Appraisal, Competency, ReviewCycle
from tests.factories import put
from tests.reviews.test_self_assessment import make_appraisal, ratings

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


def test_who_sees_the_appraisal(client, org):
    a = make_appraisal(org)
    url = reverse("appraisal-detail", args=[a.pk])
    for user in (org.alice, org.mike, org.dana, org.hana, org.dirk):
        assert login(client, user).get(url).status_code == 200, user
    for user in (org.bob, org.olga, org.carl):
        assert login(client, user).get(url).status_code == 404, user
        assert login(client, user).post(reverse("appraisal-self", args=[a.pk]), {}).status_code == 404


def test_detail_shows_the_form_with_prefilled_actual(client, org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)
    a = make_appraisal(org)
    body = login(client, org.alice).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert 'id="self-assessment"' in body and 'id="manager-appraisal"' not in body
    assert 'name="o101_actual"' in body and 'value="76"' in body
    assert "Part 1: work evaluation" in body and "Part 2: main achievements" in body
    body = login(client, org.mike).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert 'id="manager-appraisal"' in body and 'id="self-assessment"' not in body
    assert 'name="o101_manager_rating"' in body and 'value="90"' in body


def test_self_assessment_page_saves_draft_and_refuses_bad_rating(client, org):
    a = make_appraisal(org)
    login(client, org.alice)
    url = reverse("appraisal-self", args=[a.pk])
    data = {"o101_self_rating": "80", "o102_self_rating": "B", "achievements": "FAQ written", "action": "save"}
    assert client.post(url, data).status_code == 302
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.DRAFT and a.achievements == "FAQ written"
    response = client.post(url, {**data, "o101_self_rating": "150", "achievements": "changed", "action": "submit"})
    assert response.status_code == 400
    assert "Give a score from 0 to 100" in response.content.decode()
    a.refresh_from_db()
    assert a.achievements == "FAQ written" and a.self_status == Appraisal.Part.DRAFT
    assert client.post(url, {**data, "action": "submit"}).status_code == 302
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.SUBMITTED


def test_a_late_self_assessment_is_submitted_through_the_page_and_marked_late(client, org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL, self_due_days=-1)
    page = reverse("appraisal-detail", args=[a.pk])
    body = login(client, org.alice).get(page).content.decode()
    assert 'id="self-assessment"' in body and 'id="self-late-note"' in body  # the form, saying it will be late
    data = {"o101_self_rating": "80", "o101_self_comment": "", "o101_actual": "", "o102_self_rating": "B",
            "o102_self_comment": "", "o102_actual": "", "achievements": "Caught up.", "difficulties": "",
            "help_wanted": "", "action": "submit"}
    response = client.post(reverse("appraisal-self", args=[a.pk]), data)
    assert response.status_code == 302, response.content.decode()
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.SUBMITTED
    late = f"Submitted late, on {timezone.localtime(a.self_submitted_at):%Y-%m-%d %H:%M}"
    for user in (org.alice, org.mike, org.hana):
        assert late in login(client, user).get(page).content.decode(), user
    # The manager appraisal, not submitted and not yet due, is not marked.
    assert "Submitted late" not in login(client, org.mike).get(page).content.decode().split('id="manager-status"')[1].split("</td>")[0]


def test_a_self_assessment_submitted_on_time_is_not_marked_late(client, org):
    a = make_appraisal(org)
    Appraisal.objects.filter(pk=a.pk).update(self_status=Appraisal.Part.SUBMITTED, self_submitted_at=timezone.now())
    body = login(client, org.mike).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert "Submitted late" not in body and 'id="self-late-note"' not in body


def test_a_self_assessment_after_the_manager_submitted_shows_why_it_is_refused(client, org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL, self_due_days=-1)
    body = login(client, org.alice).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert 'id="self-assessment"' in body
    # The manager submits while the agent still has the page open.
    Appraisal.objects.filter(pk=a.pk).update(manager_status=Appraisal.Part.SUBMITTED, manager_submitted_at=timezone.now())
    response = client.post(reverse("appraisal-self", args=[a.pk]), {"achievements": "late", "action": "submit"})
    assert response.status_code == 400
    assert "Your manager has already submitted the appraisal without your self-assessment" in response.content.decode()
    a.refresh_from_db()
    assert a.achievements == "" and a.self_status == Appraisal.Part.PENDING
    body = client.get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert 'id="self-assessment"' not in body


def test_the_self_assessment_form_is_gone_in_calibration(client, org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.CALIBRATION, self_due_days=-10, appraisal_due_days=-1)
    body = login(client, org.alice).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert 'id="self-assessment"' not in body
    response = client.post(reverse("appraisal-self", args=[a.pk]), {"achievements": "late", "action": "save"})
    assert response.status_code == 400 and "moved on to calibration" in response.content.decode()


def test_a_late_manager_appraisal_is_written_and_submitted_in_calibration(client, org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.CALIBRATION, self_due_days=-10, appraisal_due_days=-1)
    page = reverse("appraisal-detail", args=[a.pk])
    body = login(client, org.mike).get(page).content.decode()
    assert 'id="manager-appraisal"' in body and 'id="manager-late-note"' in body
    assert 'name="action" value="submit"' in body
    data = {"o101_manager_rating": "", "o102_manager_rating": "80", "manager_comments": "Late.", "action": "submit"}
    data.update({f"c_{c.code}_score": "4" for c in Competency.objects.filter(active=True)})
    assert client.post(reverse("appraisal-manager", args=[a.pk]), data).status_code == 302
    a.refresh_from_db()
    assert a.manager_status == Appraisal.Part.SUBMITTED
    body = login(client, org.alice).get(page).content.decode()
    assert f"Submitted late, on {timezone.localtime(a.manager_submitted_at):%Y-%m-%d %H:%M}" in body


def test_a_manager_appraisal_form_is_gone_once_closing(client, org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.CLOSING, appraisal_due_days=-1)
    body = login(client, org.mike).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert 'id="manager-appraisal"' not in body


def test_the_reminder_links_open_the_page_at_the_part_and_stay_404_for_others(client, org):
    a = make_appraisal(org)
    response = login(client, org.alice).get(reverse("appraisal-self", args=[a.pk]))
    assert response.status_code == 302 and response.url == reverse("appraisal-detail", args=[a.pk]) + "#self-assessment"
    response = login(client, org.mike).get(reverse("appraisal-manager", args=[a.pk]))
    assert response.status_code == 302 and response.url.endswith("#manager-appraisal")
    assert login(client, org.olga).get(reverse("appraisal-self", args=[a.pk])).status_code == 404


def test_manager_page_submits_and_the_appraisee_acknowledges(client, org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100, qa_fatal_errors=2)
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL)
    login(client, org.mike)
    data = {"o101_manager_rating": "90", "o102_manager_rating": "100", "manager_comments": "Great", "action": "submit"}
    data.update({f"c_{c.code}_score": "5" for c in Competency.objects.filter(active=True)})
    assert client.post(reverse("appraisal-manager", args=[a.pk]), data).status_code == 302
    a.refresh_from_db()
    assert a.manager_status == Appraisal.Part.SUBMITTED and a.proposed_grade == "D" and a.gate_applied
    body = login(client, org.alice).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert 'id="gate-applied"' in body and "No bonus" in body
    response = client.post(reverse("appraisal-acknowledge", args=[a.pk]), {"disagreement": "I disagree."})
    assert response.status_code == 302
    body = login(client, org.hana).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert "I disagree." in body


def test_interview_page_and_next_objectives_button(client, org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL)
    login(client, org.mike)
    data = {"interview_at": "2026-10-05T10:00", "interview_notes": "Notes", "improvement_actions": "Actions",
            "n0_title": "FCR to 75%", "n0_kpi": "fcr", "n0_baseline": "70", "n0_target": "75", "n0_stretch": "80",
            "n1_title": "AHT", "n1_kpi": "aht", "n1_target": "330"}
    assert client.post(reverse("appraisal-interview", args=[a.pk]), data).status_code == 302
    response = client.post(reverse("appraisal-next-objectives", args=[a.pk]))
    assert response.status_code == 400  # the AHT draft lacks a baseline and a stretch
    assert "baseline" in response.content.decode()
    data.update({"n1_baseline": "420", "n1_stretch": "300"})
    assert client.post(reverse("appraisal-interview", args=[a.pk]), data).status_code == 302
    assert client.post(reverse("appraisal-next-objectives", args=[a.pk])).status_code == 302
    a.refresh_from_db()
    assert len([d for d in a.next_objectives if d.get("objective_id")]) == 2
    assert login(client, org.alice).post(reverse("appraisal-interview", args=[a.pk]), data).status_code == 403


def test_drafts_are_not_shown_to_the_other_side(client, org):
    a = make_appraisal(org)
    login(client, org.alice).post(reverse("appraisal-self", args=[a.pk]),
                                  {"achievements": "SECRET-DRAFT", "action": "save"})
    body = login(client, org.mike).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert "SECRET-DRAFT" not in body


def test_my_appraisals(client, org):
    a = make_appraisal(org)
    b = make_appraisal(org, person=org.bob)
    body = login(client, org.mike).get(reverse("my-appraisals")).content.decode()
    assert reverse("appraisal-detail", args=[a.pk]) in body and reverse("appraisal-detail", args=[b.pk]) in body
    body = login(client, org.alice).get(reverse("my-appraisals")).content.decode()
    assert reverse("appraisal-detail", args=[a.pk]) in body
    assert reverse("appraisal-detail", args=[b.pk]) not in body


@pytest.mark.parametrize("user", ["alice", "mike"])
def test_detail_page_queries_are_constant(client, org, user):
    """Expect: session, user, appraisal, ratings (prepare), ratings, competency ratings, competencies,
    and for the manager the KPI list of the interview form and the navigation's unit — whatever the
    number of objectives."""
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL)
    login(client, getattr(org, user))
    url = reverse("appraisal-detail", args=[a.pk])
    client.get(url)  # prepared once: actual and system score stored
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    snapshot = dict(a.snapshot)
    snapshot["objectives"] = snapshot["objectives"] + [
        {**snapshot["objectives"][0], "id": 200 + i, "weight": 1} for i in range(10)
    ]
    Appraisal.objects.filter(pk=a.pk).update(snapshot=snapshot)
    client.get(url)
    assert len(ratings(a)) == 12
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small)
    assert len(small) == (9 if user == "mike" else 7), [q["sql"][:80] for q in small.captured_queries]


def test_list_and_page_agree_when_the_appraisee_has_moved_away(client, org):
    """Dana's department appraised Carl; he moved to another department since: she still sees it, like her list does."""
    from reviews.appraisals import appraisal_visible
    from reviews.selectors import appraisals_visible

    appraisal = make_appraisal(org, person=org.carl, manager=org.dana)
    Appraisal.objects.filter(pk=appraisal.pk).update(manager=None)
    org.carl.unit = org.t3
    org.carl.save()
    appraisal = Appraisal.objects.select_related("person__unit", "unit").get(pk=appraisal.pk)
    for user in (org.dana, org.mike, org.olga, org.bob):
        listed = appraisals_visible(user).filter(pk=appraisal.pk).exists()
        assert appraisal_visible(user, appraisal) == listed, user
    client.force_login(org.dana)
    assert client.get(reverse("appraisal-detail", args=[appraisal.pk])).status_code == 200
    client.force_login(org.bob)
    assert client.get(reverse("appraisal-detail", args=[appraisal.pk])).status_code == 404


# ------------------------------------------------------------------ issue 10


def test_the_gate_rule_names_its_measure_in_the_readers_language(client, org):
    """The gate rule showed the raw code "qa_fatal_errors" on the appraisal, the cycle page and the PDF."""
    from reviews.documents import appraisal_document_html

    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100, qa_fatal_errors=2)
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL)
    login(client, org.mike)
    data = {"o101_manager_rating": "90", "o102_manager_rating": "100", "action": "submit"}
    data.update({f"c_{c.code}_score": "5" for c in Competency.objects.filter(active=True)})
    assert client.post(reverse("appraisal-manager", args=[a.pk]), data).status_code == 302
    login(client, org.alice)
    url = reverse("appraisal-detail", args=[a.pk])
    english = client.get(url).content.decode()
    assert "Gate rule applied: QA fatal errors in the period caps the grade at D." in english
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "致命错误数" in chinese
    cycle_page = login(client, org.hana).get(reverse("cycle-detail", args=[a.cycle_id])).content.decode()
    assert "when QA fatal errors is above 0 in the period, the grade is at most D." in cycle_page
    a.refresh_from_db()
    assert "Gate rule applied: QA fatal errors" in appraisal_document_html(a, language="en")
    assert "致命错误数" in appraisal_document_html(a, language="zh-hans")
    for html in (english, chinese, cycle_page):
        assert "qa_fatal_errors" not in html


def test_draft_objectives_name_their_kpi_not_its_code(client, org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL)
    Appraisal.objects.filter(pk=a.pk).update(next_objectives=[
        {"title": "FCR to 75%", "kpi": "fcr", "baseline": 70, "target": 75, "stretch": 80}])
    html = login(client, org.alice).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert "FCR to 75% · First-contact resolution" in html
    html = client.get(reverse("appraisal-detail", args=[a.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "FCR to 75% · 一次解决率" in html
    # The manager's interview form offers KPIs by name.
    html = login(client, org.mike).get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    assert '<option value="fcr" selected>First-contact resolution</option>' in html


def test_only_those_who_write_appraisals_see_the_section(client, org):
    own = make_appraisal(org)
    body = login(client, org.alice).get(reverse("my-appraisals")).content.decode()
    assert reverse("appraisal-detail", args=[own.pk]) in body
    assert "Appraisals I must write" not in body and 'id="to-write"' not in body
    # A manager with nothing to write is told so in a line, not shown an empty table.
    body = login(client, org.olga).get(reverse("my-appraisals")).content.decode()
    assert 'id="to-write"' in body and "Nothing to write" in body and "<th scope=\"col\">Employee</th>" not in body
    body = login(client, org.mike).get(reverse("my-appraisals")).content.decode()
    assert 'id="to-write"' in body and "Alice Agent" in body
    # An agent named manager of an appraisal writes it: they see the section.
    bobs = make_appraisal(org, person=org.carl, manager=org.bob)
    body = login(client, org.bob).get(reverse("my-appraisals")).content.decode()
    assert 'id="to-write"' in body and reverse("appraisal-detail", args=[bobs.pk]) in body
