"""360 feedback pages: the inbox, answering (also through a customer's link), an appraisal's raters and results,
deciding, the questionnaires, and the 360 parts of the cycle pages.

The cycle covers department D1 and is launched with two more agents on
Mike's team (Amy and Ben), so Alice has three suggested peers (Amy, Ben,
Bob) and Mike is her supervisor. Carl (T2) must see nothing of Alice's
feedback; Bob sees only the requests addressed to him.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from reviews import feedback, questionnaires, services
from reviews.feedback_views import CUSTOMER_ASKED
from reviews.models import (
    Appraisal, Competency, FeedbackAnswer, FeedbackRequest, FeedbackResponse, FeedbackTemplate, ReviewCycle,
)
from scorecard.models import Person
from tests.base import make_person
from tests.reviews.test_cycle_pages import form_data
from tests.reviews.test_cycles import deadlines, make_cycle

pytestmark = pytest.mark.django_db

R = FeedbackRequest.Relationship
S = FeedbackRequest.Status
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def login(client, user):
    client.force_login(user)
    return client


def body_of(response) -> str:
    return response.content.decode()


def open_cycle(org, *, extra_agents=("AMY", "BEN"), **overrides) -> ReviewCycle:
    """D1's cycle launched, its 360 window open for nine days (the self-assessment phase)."""
    for code in extra_agents:
        make_person(code, f"{code.title()} Agent", org.t1, "agent", org.mike)
    cycle = make_cycle(org, **{**deadlines(timezone.now() + dt.timedelta(days=2)), **overrides})
    services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    return cycle


def person(code: str) -> Person:
    return Person.objects.get(employee_code=code)


def appraisal_of(cycle, who) -> Appraisal:
    return Appraisal.objects.select_related("cycle").get(cycle=cycle, person=who)


def request_of(appraisal, rater) -> FeedbackRequest:
    return FeedbackRequest.objects.get(appraisal=appraisal, rater=rater)


def codes(cycle) -> list[str]:
    return [q["code"] for q in cycle.questionnaire]


def answer_data(cycle, score="4", comment="", action="submit", overall="") -> dict:
    data = {"action": action, "comment": overall}
    for code in codes(cycle):
        data[f"{code}_score"] = score
        data[f"{code}_comment"] = comment
    return data


def answer(cycle, appraisal, rater, score=4, comment="", overall=""):
    """The rater submits through the service (setting up results)."""
    row = FeedbackRequest.objects.get(appraisal=appraisal, rater=rater)
    feedback.feedback_save(user=rater, request=row, submit=True, comment=overall,
                           answers={c: {"score": score, "comment": comment} for c in codes(cycle)})


def approve_all(org, appraisal) -> None:
    feedback.feedback_requests_approve_all(user=org.mike, appraisal=appraisal)


def to_phase(cycle, phase) -> None:
    ReviewCycle.objects.filter(pk=cycle.pk).update(phase=phase)
    cycle.refresh_from_db()


def section(html: str, element_id: str) -> str:
    """The HTML from the element with this id to the end of its <section>."""
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</section>", start)]


def shows(html: str, message) -> bool:
    """The message appears on the page (as the template escapes it)."""
    return escape(str(message)) in html


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# ------------------------------------------------------------------ inbox


def test_inbox_lists_the_requests_addressed_to_me_by_cycle(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    approve_all(org, alice)
    response = login(client, org.bob).get(reverse("feedback-inbox"))
    assert response.status_code == 200
    html = body_of(response)
    assert cycle.name in html
    assert "Alice Agent" in html and "Team One" in html and "Peer" in html
    assert reverse("feedback-answer", args=[request_of(alice, org.bob).pk]) in html
    assert "Yourself" in html  # Bob's own self-rating
    # Not yet approved: Bob's request to rate Amy as a peer is not his to answer.
    amy = appraisal_of(cycle, person("AMY"))
    assert reverse("feedback-answer", args=[request_of(amy, org.bob).pk]) not in html


def test_inbox_shows_draft_answered_and_closed_states(client, org):
    cycle = open_cycle(org)
    alice, bob = appraisal_of(cycle, org.alice), appraisal_of(cycle, org.bob)
    row = request_of(alice, org.mike)
    feedback.feedback_save(user=org.mike, request=row, answers={codes(cycle)[0]: {"score": 3}})
    answer(cycle, bob, org.mike)
    html = body_of(login(client, org.mike).get(reverse("feedback-inbox")))
    assert "Draft saved" in html and "Answered" in html and "To answer" in html
    ReviewCycle.objects.filter(pk=cycle.pk).update(feedback_due=timezone.now() - dt.timedelta(hours=1))
    html = body_of(client.get(reverse("feedback-inbox")))
    assert "Closed" in html and "To answer" not in html


def test_inbox_renders_in_chinese(client, org):
    open_cycle(org)
    response = login(client, org.bob).get(reverse("feedback-inbox"), **ZH)
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in body_of(response)


def test_inbox_takes_constant_queries(client, org, django_assert_max_num_queries):
    cycle = open_cycle(org)
    login(client, org.mike)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("feedback-inbox")).status_code == 200
    baseline = len(ctx.captured_queries)
    # Many more requests to Mike, in a second cycle: matrix requests on every appraisal of it.
    for i in range(12):
        make_person(f"X{i:02d}", f"Extra {i}", org.t2, "agent", org.dana)
    other = make_cycle(org, name="Second", **deadlines(timezone.now() + dt.timedelta(days=2)),
                       max_requests_per_rater=30)
    services.cycle_launch(user=org.hana, cycle=other)
    for a in Appraisal.objects.filter(cycle=other).exclude(person__in=[org.mike, org.alice, org.bob]):
        if not FeedbackRequest.objects.filter(appraisal=a, rater=org.mike).exists():
            feedback.feedback_request_add(user=org.hana, appraisal=a, relationship=R.MATRIX,
                                          rater_code=org.mike.employee_code)
    assert FeedbackRequest.objects.filter(rater=org.mike, status=S.OPEN).count() > 15
    with django_assert_max_num_queries(baseline):
        response = client.get(reverse("feedback-inbox"))
    assert response.status_code == 200 and "Second" in body_of(response) and cycle.name in body_of(response)


# ----------------------------------------------------------------- answer


def test_the_rater_answers_a_draft_then_submits(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    row = request_of(alice, org.mike)
    url = reverse("feedback-answer", args=[row.pk])
    login(client, org.mike)
    html = body_of(client.get(url))
    assert "360 feedback on Alice Agent" in html and "Communication" in html
    assert "Needs improvement" in html and "Outstanding" in html
    assert "Save draft" in html and 'value="submit"' in html
    first = codes(cycle)[0]
    response = client.post(url, {"action": "save", f"{first}_score": "2", f"{first}_comment": "Clear on calls"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == S.OPEN and row.draft["answers"][first] == {"score": 2, "comment": "Clear on calls"}
    html = body_of(client.get(url))
    assert "Clear on calls" in html
    assert re.search(rf'name="{first}_score" value="2"[^>]*checked', html)
    response = client.post(url, answer_data(cycle, score="5", comment="Great", overall="Keep it up"), follow=True)
    assert response.status_code == 200
    assert "Thank you: your feedback was submitted." in messages_of(response)
    row.refresh_from_db()
    assert row.status == S.SUBMITTED
    html = body_of(response)
    # Read-only now: what Mike answered (the supervisor is named, so it is found again), no form.
    assert "What you answered" in html and "Keep it up" in html and 'value="submit"' not in html
    assert 'name="action"' not in html


def test_an_anonymous_rater_is_told_how_answers_are_shown(client, org):
    cycle = open_cycle(org, anonymity_threshold=4)
    alice = appraisal_of(cycle, org.alice)
    approve_all(org, alice)
    row = request_of(alice, org.bob)
    url = reverse("feedback-answer", args=[row.pk])
    html = body_of(login(client, org.bob).get(url))
    assert "Your answers are anonymous" in html and "at least 4 people" in html
    client.post(url, answer_data(cycle))
    html = body_of(client.get(url))
    # Stored without a link to Bob's request: it cannot be shown back, and the page says so.
    assert "cannot be shown to you again" in html
    assert FeedbackResponse.objects.get(appraisal=alice, relationship=R.PEER).request_id is None


def test_answer_page_renders_in_chinese(client, org):
    cycle = open_cycle(org)
    row = request_of(appraisal_of(cycle, org.alice), org.mike)
    response = login(client, org.mike).get(reverse("feedback-answer", args=[row.pk]), **ZH)
    assert response.status_code == 200
    html = body_of(response)
    assert '<html lang="zh-hans">' in html
    assert 'id="q-communication">沟通能力<' in html  # the question's Chinese label
    assert html.count("保存草稿") == 1  # "Save draft", from the translations


def test_bad_answers_show_field_messages_and_save_nothing(client, org):
    cycle = open_cycle(org)
    row = request_of(appraisal_of(cycle, org.alice), org.mike)
    url = reverse("feedback-answer", args=[row.pk])
    login(client, org.mike)
    first, second = codes(cycle)[:2]
    data = answer_data(cycle, score="4")
    data[f"{first}_score"] = "7"
    data[f"{second}_score"] = ""
    data["comment"] = "x" * (feedback.MAX_COMMENT + 1)
    response = client.post(url, data)
    assert response.status_code == 400
    html = body_of(response)
    assert shows(html, feedback.SCORE_RANGE)
    assert f'id="{first}_score-errors"' in html
    assert shows(html, feedback.TEXT_TOO_LONG % {"n": feedback.MAX_COMMENT})
    assert "Nothing was saved" in html
    row.refresh_from_db()
    assert row.status == S.OPEN and row.draft == {}
    # Submitting with a competency left unrated: its message, still nothing saved.
    data = answer_data(cycle, score="4")
    data[f"{second}_score"] = ""
    response = client.post(url, data)
    assert response.status_code == 400
    assert shows(body_of(response), feedback.SCORE_REQUIRED)
    row.refresh_from_db()
    assert row.status == S.OPEN and row.draft == {} and not FeedbackResponse.objects.exists()


def test_a_closed_window_shows_the_draft_read_only_with_the_message(client, org):
    cycle = open_cycle(org)
    row = request_of(appraisal_of(cycle, org.alice), org.mike)
    first = codes(cycle)[0]
    feedback.feedback_save(user=org.mike, request=row, answers={first: {"score": 3, "comment": "So far"}})
    ReviewCycle.objects.filter(pk=cycle.pk).update(feedback_due=timezone.now() - dt.timedelta(hours=1))
    url = reverse("feedback-answer", args=[row.pk])
    html = body_of(login(client, org.mike).get(url))
    assert "360 feedback for this cycle is over" in html
    assert "So far" in html and 'value="submit"' not in html
    response = client.post(url, answer_data(cycle))
    assert response.status_code == 400 and "360 feedback for this cycle is over" in body_of(response)
    row.refresh_from_db()
    assert row.status == S.OPEN and not FeedbackResponse.objects.exists()


def test_only_the_rater_sees_a_request(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    url = reverse("feedback-answer", args=[request_of(alice, org.mike).pk])
    for user in (org.bob, org.alice, org.dana, org.hana, org.carl):
        assert login(client, user).get(url).status_code == 404, user
        assert client.post(url, answer_data(cycle)).status_code == 404, user
    # A request still awaiting approval is not the rater's to answer either.
    pending = request_of(alice, org.bob)
    assert pending.status == S.PROPOSED
    assert login(client, org.bob).get(reverse("feedback-answer", args=[pending.pk])).status_code == 404
    assert not FeedbackResponse.objects.exists()


def test_the_pages_need_a_login(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    for url in (reverse("feedback-inbox"), reverse("feedback-answer", args=[request_of(alice, org.mike).pk]),
                reverse("appraisal-feedback", args=[alice.pk]), reverse("questionnaire-list")):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url


# -------------------------------------------------------- customer's link


def mailed_link(address: str) -> str:
    """The path of the last link e-mailed to a customer: the only place a link goes."""
    [body] = [m.body for m in mail.outbox if m.to == [address]][-1:]
    return re.search(r"/reviews/feedback/t/[^/\s]+/", body).group(0)


@pytest.fixture
def customer_url(org, django_capture_on_commit_callbacks):
    """Mike adds a customer; the path of the link e-mailed to them."""

    def add(appraisal, name="Mr Wang", email="") -> str:
        email = email or f"{name.lower().replace(' ', '.')}@client.example"
        with django_capture_on_commit_callbacks(execute=True):
            feedback.feedback_request_add(user=org.mike, appraisal=appraisal, relationship=R.CUSTOMER,
                                          external_name=name, external_email=email)
        return mailed_link(email)

    return add


def test_a_customer_answers_once_through_the_link(client, org, customer_url):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    approve_all(org, alice)
    url = customer_url(alice)
    response = client.get(url)
    assert response.status_code == 200
    html = body_of(response)
    assert "360 feedback on Alice Agent" in html and cycle.name in html and "Communication" in html
    assert "Your answers are anonymous" in html
    # Nothing about the other raters, nor the customer's own name.
    for name in ("Bob Peer", "Mike Manager", "Amy Agent", "Mr Wang"):
        assert name not in html
    response = client.post(url, answer_data(cycle, comment="Patient", overall="Solved my case"))
    assert response.status_code == 200
    assert "Your feedback on Alice Agent" in body_of(response)
    assert FeedbackResponse.objects.filter(appraisal=alice, relationship=R.CUSTOMER).count() == 1
    # The link is spent: a second answer is refused, as an unknown link is, and saves nothing.
    response = client.post(url, answer_data(cycle, score="1", overall="Again"))
    assert response.status_code == 404
    assert shows(body_of(response), feedback.LINK_INVALID)
    assert FeedbackResponse.objects.filter(appraisal=alice).count() == 1
    assert not FeedbackResponse.objects.filter(comment="Again").exists()
    assert client.get(url).status_code == 404


def test_a_customer_link_in_chinese(client, org, customer_url):
    cycle = open_cycle(org)
    url = customer_url(appraisal_of(cycle, org.alice))
    response = client.get(url, **ZH)
    assert response.status_code == 200
    html = body_of(response)
    assert '<html lang="zh-hans">' in html and 'id="q-communication">沟通能力<' in html
    # The language switcher's cookie works without a login too.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert '<html lang="zh-hans">' in body_of(client.get(url))


def test_an_expired_or_unknown_link(client, org, customer_url):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    url = customer_url(alice)
    FeedbackRequest.objects.filter(relationship=R.CUSTOMER).update(token_expires_at=timezone.now() - dt.timedelta(1))
    expired = client.get(url)
    assert expired.status_code == 404 and shows(body_of(expired), feedback.LINK_INVALID)
    response = client.post(url, answer_data(cycle))
    assert response.status_code == 404
    assert not FeedbackResponse.objects.exists()
    unknown = client.get(reverse("feedback-token", args=["not-a-token"]))
    assert unknown.status_code == 404
    # Expired and unknown read the same: the page tells nothing of the link's state.
    def message(response):
        return re.search(r'<article.*</article>', body_of(response), re.S).group(0)

    assert message(unknown) == message(expired)


def test_bad_customer_answers_show_field_messages(client, org, customer_url):
    cycle = open_cycle(org)
    url = customer_url(appraisal_of(cycle, org.alice))
    data = answer_data(cycle)
    data[f"{codes(cycle)[0]}_score"] = ""
    response = client.post(url, data)
    assert response.status_code == 400
    assert shows(body_of(response), feedback.SCORE_REQUIRED)
    assert not FeedbackResponse.objects.exists()
    assert FeedbackRequest.objects.get(relationship=R.CUSTOMER).status == S.OPEN
    assert client.post(url, answer_data(cycle)).status_code == 200  # still usable


# ------------------------------------------------------ appraisal's raters


def test_who_sees_the_appraisal_feedback_page(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    url = reverse("appraisal-feedback", args=[alice.pk])
    for user in (org.alice, org.mike, org.dana, org.hana, org.dirk):
        assert login(client, user).get(url).status_code == 200, user
    for user in (org.carl, org.bob, org.olga):
        assert login(client, user).get(url).status_code == 404, user
        assert client.post(url, {"action": "add", "relationship": "peer", "rater": "CARL"}).status_code == 404
    assert FeedbackRequest.objects.filter(appraisal=alice, rater=org.carl).count() == 0


def test_the_page_renders_in_chinese(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    response = login(client, org.mike).get(reverse("appraisal-feedback", args=[alice.pk]), **ZH)
    assert response.status_code == 200 and '<html lang="zh-hans">' in body_of(response)


def test_the_rater_list_masks_anonymous_statuses(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    approve_all(org, alice)
    answer(cycle, alice, org.bob)
    answer(cycle, alice, org.mike)
    html = section(body_of(login(client, org.alice).get(reverse("appraisal-feedback", args=[alice.pk]))), "raters")
    assert "Bob Peer" in html and "Amy Agent" in html  # who was asked: the appraisee's own nominees
    bob_row = html[html.index("Bob Peer"):]
    bob_row = bob_row[:bob_row.index("</tr>")]
    assert "Asked" in bob_row and "Answered" not in bob_row
    mike_row = html[html.index("Mike Manager"):]
    assert "Answered" in mike_row[:mike_row.index("</tr>")]  # the supervisor is named: his status is told
    # Rows are in relationship then name order, never by time: Amy before Ben before Bob.
    assert html.index("Amy Agent") < html.index("Ben Agent") < html.index("Bob Peer")


def test_the_appraisee_nominates_and_the_manager_approves(client, org, mailoutbox, django_capture_on_commit_callbacks):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    url = reverse("appraisal-feedback", args=[alice.pk])
    login(client, org.alice)
    html = body_of(client.get(url))
    assert "Nominate a rater" in html and "Approve" not in section(html, "raters").split("rater-form")[0]
    # The appraisee may not nominate a matrix manager: the form offers peers and customers only.
    response = client.post(url, {"action": "add", "relationship": "matrix", "rater": "OLGA"})
    assert response.status_code == 400
    response = client.post(url, {"action": "add", "relationship": "peer", "rater": ""})
    assert response.status_code == 400 and shows(body_of(response), feedback.RATER_REQUIRED)
    response = client.post(url, {"action": "add", "relationship": "peer", "rater": "NOBODY"})
    assert response.status_code == 400 and shows(body_of(response), feedback.RATER_UNKNOWN)
    response = client.post(url, {"action": "add", "relationship": "customer", "external_name": "",
                                 "external_email": "not-an-email"})
    html = body_of(response)
    assert response.status_code == 400
    assert shows(html, feedback.CUSTOMER_NAME_REQUIRED) and shows(html, feedback.CUSTOMER_EMAIL_INVALID)
    assert not FeedbackRequest.objects.filter(appraisal=alice, origin="nominated").exists()
    response = client.post(url, {"action": "add", "relationship": "peer", "rater": "carl"}, follow=True)
    assert "Carl Two was nominated: the request waits for approval by a manager or HR." in messages_of(response)
    nominated = FeedbackRequest.objects.get(appraisal=alice, rater=org.carl)
    assert nominated.status == S.PROPOSED and nominated.origin == "nominated"
    # Alice cannot decide her own nominee.
    decide = reverse("feedback-decide", args=[nominated.pk])
    assert client.post(decide, {"action": "approve"}).status_code == 404
    # Nor can Bob, who does not see Alice's appraisal, nor Carl.
    for user in (org.bob, org.carl):
        assert login(client, user).post(decide, {"action": "approve"}).status_code == 404
    nominated.refresh_from_db()
    assert nominated.status == S.PROPOSED
    login(client, org.mike)
    html = body_of(client.get(url))
    assert f'action="{decide}"' in html and "approve_all" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decide, {"action": "approve"}, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "The request to Carl Two was approved." in messages_of(response)
    nominated.refresh_from_db()
    assert nominated.status == S.OPEN and nominated.decided_by == org.mike
    assert any("carl@example.com" in m.to for m in mailoutbox)
    # Deciding twice: the message, nothing changes.
    response = client.post(decide, {"action": "reject"}, follow=True)
    assert str(feedback.NOT_PROPOSED) in messages_of(response)
    nominated.refresh_from_db()
    assert nominated.status == S.OPEN
    # Carl now has it to answer.
    html = body_of(login(client, org.carl).get(reverse("feedback-inbox")))
    assert reverse("feedback-answer", args=[nominated.pk]) in html


def test_a_manager_rejects_approves_all_and_adds_a_customer_whose_link_is_mailed_to_them_only(
    client, org, django_capture_on_commit_callbacks
):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    url = reverse("appraisal-feedback", args=[alice.pk])
    bob = request_of(alice, org.bob)
    login(client, org.mike)
    response = client.post(reverse("feedback-decide", args=[bob.pk]), {"action": "reject"}, follow=True)
    assert "The request to Bob Peer was rejected." in messages_of(response)
    bob.refresh_from_db()
    assert bob.status == S.REJECTED
    # A customer nominated by Alice: approving it mails the link to the customer, and shows it to nobody.
    feedback.feedback_request_add(user=org.alice, appraisal=alice, relationship=R.CUSTOMER, external_name="Ms Li",
                                  external_email="li@client.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "approve_all"}, follow=True)
    shown = messages_of(response)
    assert "3 requests approved." in shown  # Amy, Ben and Ms Li
    assert "/feedback/t/" not in body_of(response) and not any("/feedback/t/" in m for m in shown)
    assert mailed_link("li@client.example")
    assert not FeedbackRequest.objects.filter(appraisal=alice, status=S.PROPOSED).exists()
    # The arranger sees where the link went, and may send it again; never the link.
    html = body_of(client.get(url))
    assert "li@client.example" in html and 'value="resend"' in html and "/feedback/t/" not in html
    response = client.post(url, {"action": "approve_all"}, follow=True)
    assert str(feedback.NOTHING_TO_APPROVE) in messages_of(response)
    # A customer without an email address is refused: the link has nowhere else to go.
    response = client.post(url, {"action": "add", "relationship": "customer", "external_name": "Mr Wang"})
    assert response.status_code == 400 and shows(body_of(response), feedback.CUSTOMER_EMAIL_REQUIRED)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "add", "relationship": "customer", "external_name": "Mr Wang",
                                     "external_email": "wang@client.example"}, follow=True)
    shown = messages_of(response)
    assert str(CUSTOMER_ASKED % {"name": "Mr Wang", "email": "wang@client.example"}) in shown
    assert "/feedback/t/" not in body_of(response)
    token_url = mailed_link("wang@client.example")
    # Mike signed in cannot open it (nor learn whether it is valid); the customer, signed out, can.
    refused = client.get(token_url)
    assert refused.status_code == 403 and shows(body_of(refused), feedback.SIGNED_IN)
    client.logout()
    assert client.get(token_url).status_code == 200
    # Adding a matrix manager by code.
    login(client, org.mike)
    response = client.post(url, {"action": "add", "relationship": "matrix", "rater": "OLGA"}, follow=True)
    assert "Olga Other was asked for feedback." in messages_of(response)
    assert request_of(alice, org.olga).status == S.OPEN
    response = client.post(url, {"action": "add", "relationship": "matrix", "rater": "OLGA"})
    assert response.status_code == 400
    assert shows(body_of(response), feedback.RATER_ALREADY % {"name": "Olga Other"})


def test_after_the_deadline_nothing_can_be_arranged(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    ReviewCycle.objects.filter(pk=cycle.pk).update(feedback_due=timezone.now() - dt.timedelta(hours=1))
    url = reverse("appraisal-feedback", args=[alice.pk])
    html = body_of(login(client, org.mike).get(url))
    assert "360 feedback for this cycle is over" in html
    assert 'id="rater-form"' not in html and "approve_all" not in html and 'value="approve"' not in html
    response = client.post(url, {"action": "add", "relationship": "matrix", "rater": "OLGA"})
    assert response.status_code == 400 and "360 feedback for this cycle is over" in body_of(response)
    response = client.post(reverse("feedback-decide", args=[request_of(alice, org.bob).pk]), {"action": "approve"},
                           follow=True)
    assert any("360 feedback for this cycle is over" in m for m in messages_of(response))
    assert not FeedbackRequest.objects.filter(appraisal=alice, rater=org.olga).exists()
    assert request_of(alice, org.bob).status == S.PROPOSED


def test_results_are_announced_until_the_360_phase_is_over(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    answer(cycle, alice, org.mike, comment="Secret until later")
    html = body_of(login(client, org.alice).get(reverse("appraisal-feedback", args=[alice.pk])))
    due = timezone.localtime(cycle.feedback_due).strftime("%Y-%m-%d %H:%M")
    assert f"Results are shown after the 360 deadline ({due})" in html
    assert "Secret until later" not in html


def _results_with_peers(org, n_peers: int):
    cycle = open_cycle(org, extra_agents=("AMY", "BEN", "BIA"), weight_objectives=60, weight_feedback=10)
    alice = appraisal_of(cycle, org.alice)
    approve_all(org, alice)
    answer(cycle, alice, org.alice, score=5, comment="I listen well")
    answer(cycle, alice, org.mike, score=4, comment="Good with customers", overall="A solid quarter")
    peers = [person(c) for c in ("AMY", "BEN", "BIA")][:n_peers]
    for i, peer in enumerate(peers):
        answer(cycle, alice, peer, score=2 + i, comment=f"peer note {i}")
    to_phase(cycle, ReviewCycle.Phase.APPRAISAL)
    return cycle, alice


def test_two_peer_answers_are_not_shown(client, org):
    cycle, alice = _results_with_peers(org, 2)
    response = login(client, org.mike).get(reverse("appraisal-feedback", args=[alice.pk]))
    html = section(body_of(response), "results")
    assert "Peers: fewer than 3 answers: not shown." in html
    assert "peer note" not in html and "2 answers" not in html
    # Named groups are shown with the rater's name and their own ratings and comments.
    assert "Mike Manager" in html and "Good with customers" in html and "A solid quarter" in html
    assert "Alice Agent" in html and "I listen well" in html
    # Only the supervisor counts (self excluded): 4 → 80.
    assert "80.0" in html and "Counts for 10% of the overall score." in html


def test_three_peer_answers_show_means_and_comments_without_names(client, org):
    cycle, alice = _results_with_peers(org, 3)
    for user in (org.alice, org.mike, org.hana):
        response = login(client, user).get(reverse("appraisal-feedback", args=[alice.pk]))
        assert response.status_code == 200
        html = section(body_of(response), "results")
        assert "3 answers" in html and "Peers: fewer than" not in html
        assert "peer note 0" in html and "peer note 1" in html and "peer note 2" in html
        assert ">3.0<" in html  # the peers' mean, (2 + 3 + 4) / 3, to one decimal
        for name in ("Amy Agent", "Ben Agent", "Bia Agent"):
            assert name not in html
        assert "Mike Manager" in html
        # Comments sorted by competency and text, not by who wrote them or when.
        notes = [m.start() for m in re.finditer(r"peer note \d", html)]
        assert notes == sorted(notes)
    # Alice has no reports and no customer was asked: those groups are not listed at all.
    assert "Subordinates:" not in html
    assert "Customers:" not in html
    # Supervisor 4 and peers 3 → (80 + 60) / 2 = 70.
    assert "70.0" in html


def test_results_page_in_chinese(client, org):
    cycle, alice = _results_with_peers(org, 3)
    response = login(client, org.alice).get(reverse("appraisal-feedback", args=[alice.pk]), **ZH)
    assert response.status_code == 200
    html = section(body_of(response), "results")
    assert "沟通能力" in html


def test_the_score_does_not_count_when_its_weight_is_zero(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    answer(cycle, alice, org.mike, score=5)
    to_phase(cycle, ReviewCycle.Phase.APPRAISAL)
    html = section(body_of(login(client, org.mike).get(reverse("appraisal-feedback", args=[alice.pk]))), "results")
    assert "100.0" in html and "Does not count in the overall score" in html


def test_the_appraisal_page_links_to_its_feedback(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    html = body_of(login(client, org.alice).get(reverse("appraisal-detail", args=[alice.pk])))
    assert reverse("appraisal-feedback", args=[alice.pk]) in html


def test_the_appraisal_feedback_page_takes_constant_queries(client, org, django_assert_max_num_queries, settings,
                                                            customer_url):
    settings.FEEDBACK_MAX_CUSTOMERS = 8
    cycle, alice = _results_with_peers(org, 3)
    login(client, org.hana)
    url = reverse("appraisal-feedback", args=[alice.pk])
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    baseline = len(ctx.captured_queries)  # now: later requests reset the query log
    # More raters and answers: customers with their answers, more matrix managers.
    ReviewCycle.objects.filter(pk=cycle.pk).update(phase=ReviewCycle.Phase.FEEDBACK)
    cycle.refresh_from_db()
    alice = appraisal_of(cycle, org.alice)
    client.logout()  # a customer's link is never used from a signed-in session
    for i in range(8):
        link = customer_url(alice, name=f"Customer {i}")
        client.post(link, answer_data(cycle, comment=f"customer {i}"))
    for user in (org.olga, org.dirk, org.dana):
        feedback.feedback_request_add(user=org.hana, appraisal=alice, relationship=R.MATRIX,
                                      rater_code=user.employee_code)
        answer(cycle, alice, user, score=3, comment="matrix")
    to_phase(cycle, ReviewCycle.Phase.APPRAISAL)
    login(client, org.hana)
    assert FeedbackAnswer.objects.filter(response__appraisal=alice).count() > 60
    with django_assert_max_num_queries(baseline):
        html = body_of(client.get(url))
    assert "8 answers" in html and "Olga Other" in html


# ------------------------------------------------------------- the cycle


def test_the_cycle_page_shows_feedback_completion_by_unit(client, org):
    cycle = open_cycle(org)
    alice = appraisal_of(cycle, org.alice)
    approve_all(org, alice)
    answer(cycle, alice, org.bob)
    html = body_of(login(client, org.hana).get(reverse("cycle-detail", args=[cycle.pk])))
    assert 'id="feedback-completion"' in html and "Awaiting approval" in html
    table = html[html.index('id="feedback-completion"'):]
    table = table[:table.index("</table>")]
    assert "Team One" in table and "Team Two" in table
    assert login(client, org.hana).get(reverse("cycle-detail", args=[cycle.pk]), **ZH).status_code == 200
    # Alice (an agent) sees no progress table.
    html = body_of(login(client, org.alice).get(reverse("cycle-detail", args=[cycle.pk])))
    assert 'id="feedback-completion"' not in html


def test_the_cycle_page_takes_constant_queries_with_feedback(client, org, django_assert_max_num_queries):
    cycle = open_cycle(org)
    login(client, org.hana)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("cycle-detail", args=[cycle.pk])).status_code == 200
    baseline = len(ctx.captured_queries)
    for i in range(20):
        make_person(f"Y{i:02d}", f"More {i}", org.t2, "agent", org.dana)
    many = make_cycle(org, name="Bigger", **deadlines(timezone.now() + dt.timedelta(days=2)))
    services.cycle_launch(user=org.hana, cycle=many)
    for a in Appraisal.objects.filter(cycle=many).select_related("cycle", "person__unit"):
        if FeedbackRequest.objects.filter(appraisal=a, status=S.PROPOSED).exists():
            feedback.feedback_requests_approve_all(user=org.hana, appraisal=a)
    assert FeedbackRequest.objects.filter(cycle=many).count() > 50
    with django_assert_max_num_queries(baseline):
        assert client.get(reverse("cycle-detail", args=[many.pk])).status_code == 200


def test_the_cycle_form_chooses_the_questionnaire(client, org):
    short = questionnaires.questionnaire_save(user=org.hana, name="Short", competency_codes=["communication"])
    login(client, org.hana)
    html = body_of(client.get(reverse("cycle-create")))
    assert 'name="feedback_template"' in html and "Short" in html and "(default)" in html
    response = client.post(reverse("cycle-create"), form_data(org, feedback_template=str(short.pk)))
    assert response.status_code == 302
    cycle = ReviewCycle.objects.get()
    assert cycle.feedback_template == short
    html = body_of(client.get(reverse("cycle-edit", args=[cycle.pk])))
    assert re.search(rf'<option value="{short.pk}" selected>Short</option>', html)
    # No longer in use: still listed for the draft that names it, and refused by field when saved.
    FeedbackTemplate.objects.filter(pk=short.pk).update(active=False)
    html = body_of(client.get(reverse("cycle-edit", args=[cycle.pk])))
    assert "Short (not in use)" in html
    response = client.post(reverse("cycle-edit", args=[cycle.pk]),
                           form_data(org, name="Renamed", feedback_template=str(short.pk)))
    assert response.status_code == 400 and shows(body_of(response), services.TEMPLATE_NOT_IN_USE)
    cycle.refresh_from_db()
    assert cycle.name == "Q3 2026 appraisal"
    # A new cycle cannot choose it at all.
    response = client.post(reverse("cycle-create"), form_data(org, name="Other", feedback_template=str(short.pk)))
    assert response.status_code == 400 and ReviewCycle.objects.count() == 1
    # Launched with the questionnaire it names (active again).
    FeedbackTemplate.objects.filter(pk=short.pk).update(active=True)
    services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    assert codes(cycle) == ["communication"]
    html = body_of(client.get(reverse("cycle-detail", args=[cycle.pk])))
    assert "360 questionnaire: Communication" in html


# --------------------------------------------------------- questionnaires


def test_hr_lists_creates_and_edits_questionnaires(client, org):
    login(client, org.hana)
    html = body_of(client.get(reverse("questionnaire-list")))
    assert "Standard 360 questionnaire" in html and "Default" in html
    url = reverse("questionnaire-create")
    assert client.get(url).status_code == 200
    data = {"name": "Leaders", "name_zh": "领导者问卷", "description": "For team leaders", "active": "on",
            "use_leadership": "on", "order_leadership": "2", "use_communication": "on", "order_communication": "1"}
    response = client.post(url, data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("questionnaire-list")
    leaders = FeedbackTemplate.objects.get(name="Leaders")
    assert [i.competency.code for i in leaders.items.all()] == ["communication", "leadership"]
    assert not leaders.is_default and leaders.active
    edit = reverse("questionnaire-edit", args=[leaders.pk])
    html = body_of(client.get(edit))
    assert 'value="Leaders"' in html and re.search(r'name="use_leadership"[^>]*checked', html)
    response = client.post(edit, {**data, "order_leadership": "0", "is_default": "on"})
    assert response.status_code == 302
    leaders.refresh_from_db()
    assert leaders.is_default and [i.competency.code for i in leaders.items.all()] == ["leadership", "communication"]
    assert FeedbackTemplate.objects.filter(is_default=True).count() == 1
    assert login(client, org.dirk).get(edit).status_code == 200
    assert client.get(reverse("questionnaire-list"), **ZH).status_code == 200
    assert client.get(edit, **ZH).status_code == 200


def test_bad_questionnaire_input_shows_messages_and_saves_nothing(client, org):
    login(client, org.hana)
    url = reverse("questionnaire-create")
    response = client.post(url, {"name": " ", "active": "on"})
    assert response.status_code == 400
    html = body_of(response)
    assert shows(html, questionnaires.NAME_REQUIRED) and shows(html, questionnaires.NO_COMPETENCIES)
    response = client.post(url, {"name": "X", "use_communication": "on", "order_communication": "first"})
    assert response.status_code == 400
    assert "Enter a whole number." in body_of(response)
    assert FeedbackTemplate.objects.count() == 1
    standard = FeedbackTemplate.objects.get()
    before = list(standard.items.values_list("competency__code", flat=True))
    response = client.post(reverse("questionnaire-edit", args=[standard.pk]),
                           {"name": "Standard", "is_default": "on", "use_communication": "on"})
    assert response.status_code == 400
    assert shows(body_of(response), questionnaires.DEFAULT_MUST_BE_ACTIVE)
    standard.refresh_from_db()
    assert standard.active and standard.name == "Standard 360 questionnaire"
    assert list(standard.items.values_list("competency__code", flat=True)) == before
    # A retired competency still in the questionnaire is listed and refused.
    Competency.objects.filter(code="leadership").update(active=False)
    html = body_of(client.get(reverse("questionnaire-edit", args=[standard.pk])))
    assert "(retired)" in html
    response = client.post(reverse("questionnaire-edit", args=[standard.pk]),
                           {"name": "Standard", "active": "on", "is_default": "on", "use_leadership": "on"})
    assert response.status_code == 400 and "leadership" in body_of(response)


@pytest.mark.parametrize("who", ["mike", "alice", "olga"])
def test_others_get_404_on_the_questionnaire_pages(client, org, who):
    standard = FeedbackTemplate.objects.get()
    login(client, getattr(org, who))
    assert client.get(reverse("questionnaire-list")).status_code == 404
    assert client.get(reverse("questionnaire-create")).status_code == 404
    assert client.post(reverse("questionnaire-create"), {"name": "X", "use_communication": "on"}).status_code == 404
    assert client.get(reverse("questionnaire-edit", args=[standard.pk])).status_code == 404
    assert client.post(reverse("questionnaire-edit", args=[standard.pk]), {"name": "X"}).status_code == 404
    assert FeedbackTemplate.objects.get().name == "Standard 360 questionnaire"


def test_the_nav_links(client, org):
    html = body_of(login(client, org.alice).get(reverse("my-appraisals")))
    assert reverse("feedback-inbox") in html and reverse("questionnaire-list") not in html
    html = body_of(login(client, org.hana).get(reverse("my-appraisals")))
    assert reverse("feedback-inbox") in html and reverse("questionnaire-list") in html
