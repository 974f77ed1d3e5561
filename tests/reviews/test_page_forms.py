"""The reviews pages' forms as a browser sends them: each field rendered once, labelled, and what is typed kept.

A browser posts every control of the form; when a field is rendered twice the
empty second copy replaces what was typed in the first (issue 10: the
self-assessment lost every rating). These tests post the rendered page's own
form (tests/reviews/html_forms.py), not a hand-written dict.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from reviews.models import Appraisal, Competency, FeedbackRequest, ObjectiveRating, ReviewCycle
from tests.factories import put
from tests.reviews.html_forms import form_posting_to, parse, repeated_names, unlabelled_controls
from tests.reviews.test_feedback_pages import appraisal_of, open_cycle, request_of
from tests.reviews.test_self_assessment import make_appraisal

pytestmark = pytest.mark.django_db


def page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def assert_each_field_once_and_labelled(html: str) -> None:
    forms, _labels = parse(html)
    assert forms
    for form in forms:
        assert repeated_names(form) == [], form.action
    assert unlabelled_controls(html) == []


# ------------------------------------------------------------ self-assessment


def test_self_assessment_renders_each_field_once_with_a_label_naming_its_objective(client, org):
    a = make_appraisal(org)
    html = page(client, org.alice, reverse("appraisal-detail", args=[a.pk]))
    form = form_posting_to(html, reverse("appraisal-self", args=[a.pk]))
    names = form.names()
    for name in ("o101_actual", "o101_self_rating", "o101_self_comment", "o102_self_rating",
                 "achievements", "difficulties", "help_wanted"):
        assert names.count(name) == 1, name
    assert_each_field_once_and_labelled(html)
    # The table's inputs are read out with their objective: "Self-rating – Raise first-contact resolution".
    assert 'for="id_o101_self_rating">Self-rating – Raise first-contact resolution</label>' in html
    assert 'for="id_o102_self_comment">Comment – Write the returns FAQ</label>' in html
    assert 'for="id_achievements">Main achievements</label>' in html


def test_ratings_typed_in_the_table_are_kept_by_save_draft_and_submit_succeeds(client, org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)
    a = make_appraisal(org)
    url = reverse("appraisal-detail", args=[a.pk])
    action = reverse("appraisal-self", args=[a.pk])
    typed = {"o101_self_rating": "85", "o101_self_comment": "Coached on transfers",
             "o102_self_rating": "B", "o102_self_comment": "Published in August",
             "achievements": "Trained two new agents.", "help_wanted": "A course on complaints"}
    data = form_posting_to(page(client, org.alice, url), action).data(**typed)
    response = client.post(action, {**data, "action": "save"})
    assert response.status_code == 302

    # Reloaded, the page shows every value typed.
    form = form_posting_to(page(client, org.alice, url), action)
    sent = form.data()
    assert sent["o101_self_rating"] == ["85"] and sent["o102_self_rating"] == ["85"]  # B → its midpoint
    assert sent["o101_self_comment"] == ["Coached on transfers"]
    assert sent["o102_self_comment"] == ["Published in August"]
    assert sent["o101_actual"] == ["76"]
    assert sent["achievements"] == ["Trained two new agents."] and sent["help_wanted"] == ["A course on complaints"]
    rows = {r.objective_id: r for r in ObjectiveRating.objects.filter(appraisal=a)}
    assert rows[101].self_rating == 85 and rows[102].self_comment == "Published in August"

    # Submitting the reloaded page as it stands succeeds.
    response = client.post(action, {**sent, "action": "submit"})
    assert response.status_code == 302, response.content.decode()[:2000]
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.SUBMITTED


def test_a_refused_self_assessment_shows_each_field_once_with_what_was_typed(client, org):
    a = make_appraisal(org)
    url = reverse("appraisal-detail", args=[a.pk])
    action = reverse("appraisal-self", args=[a.pk])
    data = form_posting_to(page(client, org.alice, url), action).data(o101_self_rating="150", achievements="Kept")
    response = client.post(action, {**data, "action": "submit"})
    assert response.status_code == 400
    html = response.content.decode()
    form = form_posting_to(html, action)
    assert repeated_names(form) == []
    assert form.data()["o101_self_rating"] == ["150"] and form.data()["achievements"] == ["Kept"]


# ---------------------------------------------------- manager and interview


def test_manager_appraisal_and_interview_render_each_field_once_and_keep_what_is_typed(client, org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL)
    url = reverse("appraisal-detail", args=[a.pk])
    html = page(client, org.mike, url)
    assert_each_field_once_and_labelled(html)
    competency = Competency.objects.filter(active=True).order_by("order", "code").first()
    assert f'for="id_c_{competency.code}_score">Rating – {competency.label}</label>' in html

    action = reverse("appraisal-manager", args=[a.pk])
    typed = {"o102_manager_rating": "70", "o101_manager_comment": "Good progress",
             "manager_comments": "A solid quarter"}
    typed.update({f"c_{c.code}_score": "4" for c in Competency.objects.filter(active=True)})
    data = form_posting_to(html, action).data(**typed)
    assert client.post(action, {**data, "action": "save"}).status_code == 302
    sent = form_posting_to(page(client, org.mike, url), action).data()
    assert sent["o102_manager_rating"] == ["70"] and sent["o101_manager_rating"] == ["90"]  # the system score
    assert sent["o101_manager_comment"] == ["Good progress"] and sent["manager_comments"] == ["A solid quarter"]
    assert sent[f"c_{competency.code}_score"] == ["4"]
    assert client.post(action, {**sent, "action": "submit"}).status_code == 302
    a.refresh_from_db()
    assert a.manager_status == Appraisal.Part.SUBMITTED

    action = reverse("appraisal-interview", args=[a.pk])
    html = page(client, org.mike, url)
    assert 'for="id_n0_title">Title – draft objective 1</label>' in html
    data = form_posting_to(html, action).data(interview_at="2026-10-05T10:00", interview_notes="Talked",
                                              n0_title="Keep FCR above 75%", n0_kpi="fcr", n0_baseline="72",
                                              n0_target="75", n0_stretch="80")
    assert client.post(action, data).status_code == 302
    a.refresh_from_db()
    assert a.interview_notes == "Talked" and a.next_objectives[0]["title"] == "Keep FCR above 75%"


def test_the_appraisee_acknowledges_through_the_page_form(client, org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL)
    Appraisal.objects.filter(pk=a.pk).update(manager_status=Appraisal.Part.SUBMITTED)
    html = page(client, org.alice, reverse("appraisal-detail", args=[a.pk]))
    assert_each_field_once_and_labelled(html)
    action = reverse("appraisal-acknowledge", args=[a.pk])
    assert client.post(action, form_posting_to(html, action).data(disagreement="I disagree.")).status_code == 302
    a.refresh_from_db()
    assert a.acknowledged_at is not None and a.disagreement == "I disagree."


# ------------------------------------------------ cycle and 360 pages


def test_the_cycle_form_renders_each_field_once_labelled_and_creates_the_cycle_as_posted(client, org):
    html = page(client, org.hana, reverse("cycle-create"))
    assert_each_field_once_and_labelled(html)
    assert 'for="id_scale-0-grade">Grade – grade row 1</label>' in html
    form = form_posting_to(html, "")
    data = form.data(name="Q4 2026 appraisal", units=str(org.d1.pk))
    response = client.post(reverse("cycle-create"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    cycle = ReviewCycle.objects.get(name="Q4 2026 appraisal")
    assert [g["grade"] for g in cycle.scale] == ["A", "B", "C", "D", "E"]


def test_the_questionnaire_form_renders_each_field_once_and_labelled(client, org):
    assert_each_field_once_and_labelled(page(client, org.hana, reverse("questionnaire-create")))


def test_the_360_pages_render_each_field_once_and_labelled(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    url = reverse("feedback-answer", args=[request_of(alice, org.mike).pk])
    html = page(client, org.mike, url)
    assert_each_field_once_and_labelled(html)
    first = cycle.questionnaire[0]["code"]
    data = form_posting_to(html, "").data(**{f"{first}_score": "4", f"{first}_comment": "Clear on calls"})
    assert client.post(url, {**data, "action": "save"}).status_code == 302
    sent = form_posting_to(page(client, org.mike, url), "").data()
    assert sent[f"{first}_score"] == ["4"] and sent[f"{first}_comment"] == ["Clear on calls"]
    assert_each_field_once_and_labelled(page(client, org.alice, reverse("appraisal-feedback", args=[alice.pk])))


def test_the_actual_result_is_shown_with_two_decimals_and_kept_precise_when_left_alone(client, org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=99)  # 76.7676… %
    a = make_appraisal(org)
    url = reverse("appraisal-detail", args=[a.pk])
    action = reverse("appraisal-self", args=[a.pk])
    form = form_posting_to(page(client, org.alice, url), action)
    assert form.data()["o101_actual"] == ["76.77"]
    assert client.post(action, {**form.data(o101_self_rating="80"), "action": "save"}).status_code == 302
    assert ObjectiveRating.objects.get(appraisal=a, objective_id=101).actual == pytest.approx(7600 / 99)
    # Typed over, the actual is what was typed.
    form = form_posting_to(page(client, org.alice, url), action)
    assert client.post(action, {**form.data(o101_actual="77.5"), "action": "save"}).status_code == 302
    assert ObjectiveRating.objects.get(appraisal=a, objective_id=101).actual == 77.5


def test_the_manager_rating_is_prefilled_as_the_page_shows_scores_and_left_alone_changes_nothing(client, org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=99)  # a system score with many decimals
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL)
    url = reverse("appraisal-detail", args=[a.pk])
    action = reverse("appraisal-manager", args=[a.pk])
    form = form_posting_to(page(client, org.mike, url), action)
    system = ObjectiveRating.objects.get(appraisal=a, objective_id=101).system_score
    assert system != round(system, 1)
    shown = form.data()["o101_manager_rating"][0]
    assert shown == f"{round(system, 1):g}"  # "88.7", not "88.6848"
    assert client.post(action, {**form.data(), "action": "save"}).status_code == 302
    rating = ObjectiveRating.objects.get(appraisal=a, objective_id=101)
    assert rating.manager_rating is None  # untouched: the precise system score still counts
    form = form_posting_to(page(client, org.mike, url), action)
    assert client.post(action, {**form.data(o101_manager_rating="85"), "action": "save"}).status_code == 302
    assert ObjectiveRating.objects.get(appraisal=a, objective_id=101).manager_rating == 85
    form = form_posting_to(page(client, org.mike, url), action)
    assert form.data()["o101_manager_rating"] == ["85"]
    assert client.post(action, {**form.data(), "action": "save"}).status_code == 302
    assert ObjectiveRating.objects.get(appraisal=a, objective_id=101).manager_rating == 85


def test_the_appraisee_nominates_a_colleague_picked_by_name_and_the_manager_approves_it(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    url = reverse("appraisal-feedback", args=[alice.pk])
    html = page(client, org.alice, url)
    # The rater box offers colleagues by name (what the picker fills in), not the appraisee herself.
    assert '<option value="Carl Two (CARL)">' in html and "Alice Agent (ALICE)" not in html
    data = form_posting_to(html, "").data(relationship="peer", rater="Carl Two (CARL)")
    assert client.post(url, data).status_code == 302
    nominated = request_of(alice, org.carl)
    assert nominated.status == FeedbackRequest.Status.PROPOSED
    html = page(client, org.mike, url)
    assert reverse("feedback-decide", args=[nominated.pk]) in html
    client.post(reverse("feedback-decide", args=[nominated.pk]), {"action": "approve"})
    nominated.refresh_from_db()
    assert nominated.status == FeedbackRequest.Status.OPEN  # asked now
