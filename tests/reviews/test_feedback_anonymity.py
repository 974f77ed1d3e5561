"""Issue 11, findings 1–3: 360 anonymity holds against the people who arrange it.

1. Customers: the sock-puppet replay. Mike (Alice's manager) adds two
   "customers" at addresses he controls and tries to get and use their links
   through every channel a staff account has: the API's answers, the pages and
   their messages, "send the link again", the admin, the audit log, and his
   own signed-in session on the link. The link reaches only the customers'
   mailboxes, and a staff session cannot use it. Who may add customers, how
   many, at which addresses, and the audit record of it.
2. The anonymity threshold: never below 3, whatever is typed (service, cycle
   form, API, model, database, existing rows).
3. The admin: query-string lookups, searches and orderings over anonymous data
   are refused or inert.
"""

from __future__ import annotations

import base64
import importlib
import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from reviews import feedback as fb
from reviews import services
from reviews.models import (
    ANONYMITY_FLOOR, FeedbackReminder, FeedbackRequest, FeedbackResponse, ReviewCycle,
)
from scorecard.models import AuditEvent
from tests.base import PASSWORD, make_person
from tests.reviews.test_cycle_api import payload
from tests.reviews.test_cycle_pages import form_data
from tests.reviews.test_cycles import make_cycle
from tests.reviews.test_feedback import appraisal_of, launch, request_of, scores, set_phase, submit, team  # noqa: F401

R = FeedbackRequest.Relationship
S = FeedbackRequest.Status
API = "/api/v1/reviews/"
LINK = re.compile(r"/reviews/feedback/t/([^/\s]+)/")
PUPPETS = ["mike.alias.one@freemail.example", "mike.alias.two@freemail.example"]
TOO_LOW = str(services.ANONYMITY_TOO_LOW % {"limit_value": ANONYMITY_FLOOR})


def tokens_mailed_to(address: str) -> list[str]:
    """Every link token e-mailed to an address, oldest first: the only place a link goes."""
    return [t for m in mail.outbox if m.to == [address] for t in LINK.findall(m.body)]


def text(response) -> str:
    return response.content.decode()


def session_api(person) -> APIClient:
    client = APIClient()
    client.force_login(person)
    return client


# ------------------------------------------------------- 1. the sock puppets


def test_the_sock_puppet_replay_fails_a_manager_never_gets_nor_uses_a_customers_link(
    org, team, client, admin_client, django_capture_on_commit_callbacks  # noqa: F811
):
    cycle = launch(org)
    alice = appraisal_of(cycle, org.alice)
    requests_url = f"{API}appraisals/{alice.pk}/feedback/requests/"
    page = reverse("appraisal-feedback", args=[alice.pk])
    mike = session_api(org.mike)
    client.force_login(org.mike)
    seen = []  # everything Mike's channels answered him

    # Channel 1, the API: adding a customer answers the row, never the link.
    with django_capture_on_commit_callbacks(execute=True):
        response = mike.post(requests_url, {"relationship": "customer", "external_name": "Puppet One",
                                            "external_email": PUPPETS[0]}, format="json")
    assert response.status_code == 201, response.data
    assert "link" not in response.json()
    seen.append(text(response))
    # Channel 2, the page: its messages after the redirect.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page, {"action": "add", "relationship": "customer", "external_name": "Puppet Two",
                                      "external_email": PUPPETS[1]}, follow=True)
    assert response.status_code == 200
    seen.append(text(response))
    # Channel 3, "send the link again" (page and API): a new link, to the customer's address only.
    with django_capture_on_commit_callbacks(execute=True):
        seen.append(text(client.post(page, {"action": "resend", "external_email": PUPPETS[0]}, follow=True)))
        response = mike.post(f"{API}appraisals/{alice.pk}/feedback/customers/resend/",
                             {"external_email": PUPPETS[1]}, format="json")
    assert response.status_code == 200
    seen.append(text(response))
    # Channel 4, every page and list he reads.
    for url in (page, reverse("appraisal-detail", args=[alice.pk]), reverse("feedback-inbox"), reverse("home")):
        seen.append(text(client.get(url)))
    for url in (requests_url, f"{API}appraisals/{alice.pk}/feedback/results/", f"{API}feedback/requests/"):
        seen.append(text(mike.get(url)))
    # Channel 5, the admin and the audit log, even as a superuser.
    for pk in FeedbackRequest.objects.filter(relationship=R.CUSTOMER).values_list("pk", flat=True):
        seen.append(text(admin_client.get(reverse("admin:reviews_feedbackrequest_change", args=[pk]))))
    seen.append(text(admin_client.get(reverse("admin:reviews_feedbackrequest_changelist") + "?q=Puppet")))
    seen.append(text(admin_client.get(reverse("admin:scorecard_auditevent_changelist"))))
    seen.append(repr(list(AuditEvent.objects.values())))

    tokens = tokens_mailed_to(PUPPETS[0]) + tokens_mailed_to(PUPPETS[1])
    assert len(tokens) == 4, "two links and two sent again, each to its customer's address"
    for answer in seen:
        assert "/feedback/t/" not in answer
        assert not [t for t in tokens if t in answer], "a link reached a staff account"
    # Nothing stored beside the request holds a link: only its hash.
    for row in FeedbackRequest.objects.filter(relationship=R.CUSTOMER).values():
        assert not [t for t in tokens if t in repr(row)]

    # Channel 6: were he to hold a link, his signed-in session could not use it, nor learn whether it is valid.
    live = [tokens_mailed_to(p)[-1] for p in PUPPETS]
    dead = tokens_mailed_to(PUPPETS[0])[0]  # replaced when it was sent again
    for token in (*live, dead, "not-a-token"):
        page_url = reverse("feedback-token", args=[token])
        for response in (client.get(page_url), client.post(page_url, {"comment": "planted"})):
            assert response.status_code == 403 and escape(str(fb.SIGNED_IN)) in text(response)
            assert "Communication" not in text(response)
        api_url = f"{API}feedback/token/{token}/"
        planted = {"answers": {code: {"score": 1} for code in scores(1)}, "comment": "planted"}
        basic = APIClient()
        basic.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"MIKE:{PASSWORD}".encode()).decode())
        for api in (mike, basic):
            for response in (api.get(api_url), api.post(api_url, planted, format="json")):
                assert response.status_code == 403 and response.json() == {"detail": str(fb.SIGNED_IN)}
    assert not FeedbackResponse.objects.filter(relationship=R.CUSTOMER).exists(), "no answer was planted"

    # The link sent again replaced the old one: dead, and it reads like an unknown link.
    signed_out = APIClient()
    for token in (dead, "not-a-token"):
        response = signed_out.get(f"{API}feedback/token/{token}/")
        assert response.status_code == 404 and response.json() == {"detail": str(fb.LINK_INVALID)}

    # A real customer answers (from their own mailbox, signed out). Alone, the customers' group stays hidden,
    # out of the score; and no list tells Mike which customer answered.
    with django_capture_on_commit_callbacks(execute=True):
        fb.feedback_request_add(user=org.hana, appraisal=alice, relationship=R.CUSTOMER, external_name="Real buyer",
                                external_email="buyer@real-client.example")
    real = tokens_mailed_to("buyer@real-client.example")[-1]
    assert signed_out.post(f"{API}feedback/token/{real}/", {"answers": scores(2)}, format="json").status_code == 200
    rows = mike.get(requests_url).json()
    assert {r["status"] for r in rows if r["relationship"] == "customer"} == {"asked"}
    assert all(r["id"] is None for r in rows if r["relationship"] == "customer")
    set_phase(cycle, "appraisal")
    results = fb.feedback_results(appraisal_of(cycle, org.alice))
    customers = next(g for g in results.groups if g.relationship == R.CUSTOMER)
    assert (customers.shown, customers.count, customers.means) == (False, None, {})
    assert results.score is None


def test_a_signed_in_session_is_refused_before_the_link_is_looked_up(org, client, django_capture_on_commit_callbacks):
    """Even the appraisee's own colleagues, even HR: the same refusal whatever the link, valid or not."""
    cycle = launch(org)
    with django_capture_on_commit_callbacks(execute=True):
        fb.feedback_request_add(user=org.mike, appraisal=appraisal_of(cycle, org.alice), relationship=R.CUSTOMER,
                                external_name="Acme", external_email="buyer@acme.example")
    token = tokens_mailed_to("buyer@acme.example")[-1]
    for person in (org.hana, org.alice, org.carl):
        client.force_login(person)
        valid, unknown = (client.get(reverse("feedback-token", args=[t])) for t in (token, "x" * 43))
        assert valid.status_code == unknown.status_code == 403
        assert re.sub(r'value="[^"]*"', "", text(valid)) == re.sub(r'value="[^"]*"', "", text(unknown))
    client.logout()
    assert client.get(reverse("feedback-token", args=[token])).status_code == 200


@pytest.mark.parametrize(("email", "message"), [
    ("", fb.CUSTOMER_EMAIL_REQUIRED),
    ("not an email", fb.CUSTOMER_EMAIL_INVALID),
    ("mike@example.com", fb.CUSTOMER_EMAIL_STAFF),  # a staff member's own address
    ("MIKE@EXAMPLE.COM", fb.CUSTOMER_EMAIL_STAFF),
    ("someone.else@example.com", fb.CUSTOMER_EMAIL_COMPANY % {"domain": "example.com"}),  # staff's domain
    ("x@mail.example.com", fb.CUSTOMER_EMAIL_COMPANY % {"domain": "example.com"}),  # under it
    ("x@our-cc.example", fb.CUSTOMER_EMAIL_COMPANY % {"domain": "our-cc.example"}),  # COMPANY_EMAIL_DOMAINS
    ("x@eu.our-cc.example", fb.CUSTOMER_EMAIL_COMPANY % {"domain": "our-cc.example"}),
])
def test_a_customer_needs_their_own_address_outside_the_company(org, settings, email, message):
    settings.COMPANY_EMAIL_DOMAINS = ["our-cc.example"]
    cycle = launch(org)
    for user in (org.mike, org.alice):  # added or nominated alike
        with pytest.raises(ValidationError) as exc:
            fb.feedback_request_add(user=user, appraisal=appraisal_of(cycle, org.alice), relationship=R.CUSTOMER,
                                    external_name="Someone", external_email=email)
        assert exc.value.message_dict == {"external_email": [str(message)]}
    assert not FeedbackRequest.objects.filter(relationship=R.CUSTOMER).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CUSTOMER_ADDED).exists()


def test_a_domain_only_an_inactive_colleague_used_is_a_customers_again(org):
    cycle = launch(org)
    gone = make_person("GONE", "Gone Person", org.t2, "agent", org.dana)
    gone.email = "gone@old-partner.example"
    gone.is_active = False
    gone.save()
    fb.feedback_request_add(user=org.mike, appraisal=appraisal_of(cycle, org.alice), relationship=R.CUSTOMER,
                            external_name="Partner", external_email="buyer@old-partner.example")
    with pytest.raises(ValidationError):  # but never their own address
        fb.feedback_request_add(user=org.mike, appraisal=appraisal_of(cycle, org.alice), relationship=R.CUSTOMER,
                                external_name="Gone", external_email="gone@old-partner.example")


def test_at_most_the_set_number_of_customers_per_appraisal_nominations_counted_and_each_address_once(org, settings):
    settings.FEEDBACK_MAX_CUSTOMERS = 3
    cycle = launch(org)
    alice = appraisal_of(cycle, org.alice)

    def add(user, n, email=None):
        return fb.feedback_request_add(user=user, appraisal=alice, relationship=R.CUSTOMER, external_name=f"C{n}",
                                       external_email=email or f"c{n}@client.example")

    add(org.alice, 1)  # nominated: awaits approval, and counts
    with pytest.raises(ValidationError) as exc:
        add(org.mike, 2, email="C1@Client.Example")
    assert exc.value.message_dict == {"external_email": [str(fb.CUSTOMER_ALREADY)]}
    add(org.mike, 2)
    rejected = add(org.alice, 3).request
    fb.feedback_request_decide(user=org.mike, request=rejected, approve=False)  # a rejected one does not count
    add(org.dana, 4)
    for user in (org.hana, org.alice):
        with pytest.raises(ValidationError) as exc:
            add(user, 5)
        assert exc.value.message_dict == {"external_email": [str(fb.CUSTOMER_LIMIT % {"n": 3})]}
    assert FeedbackRequest.objects.filter(appraisal=alice, relationship=R.CUSTOMER).exclude(
        status=S.REJECTED).count() == 3
    # Another appraisal has its own count.
    fb.feedback_request_add(user=org.mike, appraisal=appraisal_of(cycle, org.bob), relationship=R.CUSTOMER,
                            external_name="C5", external_email="c5@client.example")


def test_approving_a_nominated_customer_checks_the_address_again(org, settings):
    cycle = launch(org)
    alice = appraisal_of(cycle, org.alice)
    row = fb.feedback_request_add(user=org.alice, appraisal=alice, relationship=R.CUSTOMER, external_name="Acme",
                                  external_email="buyer@acme.example").request
    settings.COMPANY_EMAIL_DOMAINS = ["acme.example"]  # Acme was bought by the company meanwhile
    with pytest.raises(ValidationError) as exc:
        fb.feedback_request_decide(user=org.mike, request=row, approve=True)
    assert exc.value.message_dict == {
        "__all__": ["Acme: " + str(fb.CUSTOMER_EMAIL_COMPANY % {"domain": "acme.example"})]}
    row.refresh_from_db()
    assert (row.status, row.token_hash) == (S.PROPOSED, None)


def test_the_appraisee_only_nominates_a_customer_and_only_arrangers_send_a_link_again(
    org, client, django_capture_on_commit_callbacks
):
    cycle = launch(org)
    alice = appraisal_of(cycle, org.alice)
    with django_capture_on_commit_callbacks(execute=True):
        row = fb.feedback_request_add(user=org.alice, appraisal=alice, relationship=R.CUSTOMER,
                                      external_name="Acme", external_email="buyer@acme.example").request
    assert row.status == S.PROPOSED and mail.outbox == [], "nothing is sent before an arranger approves"
    with django_capture_on_commit_callbacks(execute=True):
        fb.feedback_request_decide(user=org.dana, request=row, approve=True)
    for person in (org.alice, org.bob, org.olga):
        with pytest.raises(PermissionDenied):
            fb.feedback_link_resend(user=person, appraisal=alice, email="buyer@acme.example")
    client.force_login(org.alice)
    page = reverse("appraisal-feedback", args=[alice.pk])
    assert client.post(page, {"action": "resend", "external_email": "buyer@acme.example"}).status_code == 404
    assert 'value="resend"' not in text(client.get(page)) and "buyer@acme.example" not in text(client.get(page))
    response = session_api(org.alice).post(f"{API}appraisals/{alice.pk}/feedback/customers/resend/",
                                           {"external_email": "buyer@acme.example"}, format="json")
    assert response.status_code == 403
    assert len(tokens_mailed_to("buyer@acme.example")) == 1


def test_sending_again_says_the_same_whether_or_not_the_customer_answered(org, django_capture_on_commit_callbacks):
    cycle = launch(org)
    alice = appraisal_of(cycle, org.alice)
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("Alpha", "Beta"):
            fb.feedback_request_add(user=org.mike, appraisal=alice, relationship=R.CUSTOMER, external_name=name,
                                    external_email=f"{name.lower()}@client.example")
    fb.feedback_token_submit(token=tokens_mailed_to("alpha@client.example")[-1], answers=scores(4), comment="")
    mike = session_api(org.mike)
    url = f"{API}appraisals/{alice.pk}/feedback/customers/resend/"
    answers = []
    for name in ("Alpha", "Beta"):
        with django_capture_on_commit_callbacks(execute=True):
            response = mike.post(url, {"external_email": f"{name.lower()}@client.example"}, format="json")
        assert response.status_code == 200
        answers.append(response.json()["detail"].replace(name, "NAME").replace(name.lower(), "name"))
    assert answers[0] == answers[1]
    assert len(tokens_mailed_to("alpha@client.example")) == 1, "the customer who answered gets nothing"
    first, again = tokens_mailed_to("beta@client.example")
    with pytest.raises(ValidationError):
        fb.token_request(first)
    assert fb.token_request(again).external_name == "Beta"
    response = mike.post(url, {"external_email": "nobody@client.example"}, format="json")
    assert response.status_code == 400 and response.json() == {"external_email": [str(fb.NO_SUCH_CUSTOMER)]}


def test_adding_nominating_approving_and_sending_again_are_in_the_audit_log(org, django_capture_on_commit_callbacks):
    cycle = launch(org)
    alice = appraisal_of(cycle, org.alice)
    with django_capture_on_commit_callbacks(execute=True):
        fb.feedback_request_add(user=org.mike, appraisal=alice, relationship=R.CUSTOMER, external_name="Added",
                                external_email="added@client.example")
        nominated = fb.feedback_request_add(user=org.alice, appraisal=alice, relationship=R.CUSTOMER,
                                            external_name="Nominated", external_email="nominated@client.example")
        fb.feedback_request_decide(user=org.dana, request=nominated.request, approve=True)
        fb.feedback_link_resend(user=org.hana, appraisal=alice, email="added@client.example")
    events = AuditEvent.objects.filter(action=AuditEvent.Action.CUSTOMER_ADDED).order_by("pk")
    assert [(e.actor, e.details["step"], e.details["email"], e.details["appraisee"]) for e in events] == [
        (org.mike, "added", "added@client.example", "ALICE"),
        (org.alice, "nominated", "nominated@client.example", "ALICE"),
        (org.dana, "approved", "nominated@client.example", "ALICE"),
        (org.hana, "link_sent_again", "added@client.example", "ALICE"),
    ]
    assert all(e.details["domain"] == "client.example" and e.target_type == "reviews.FeedbackRequest" for e in events)
    tokens = tokens_mailed_to("added@client.example") + tokens_mailed_to("nominated@client.example")
    assert not [t for t in tokens if t in repr(list(events.values()))]


def test_a_refused_customer_leaves_no_audit_record_and_nothing_saved(org):
    cycle = launch(org)
    with pytest.raises(ValidationError):
        fb.feedback_request_add(user=org.mike, appraisal=appraisal_of(cycle, org.alice), relationship=R.CUSTOMER,
                                external_name="", external_email="x@client.example")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CUSTOMER_ADDED).exists()
    assert not FeedbackRequest.objects.filter(relationship=R.CUSTOMER).exists()


# ---------------------------------------------------------- 2. the threshold


@pytest.mark.parametrize("threshold", [0, 1, 2])
def test_a_threshold_under_3_is_refused_by_the_service(org, threshold):
    with pytest.raises(ValidationError) as exc:
        make_cycle(org, anonymity_threshold=threshold)
    expected = TOO_LOW if threshold else str(services.THRESHOLD_RANGE)
    assert exc.value.message_dict == {"anonymity_threshold": [expected]}
    draft = make_cycle(org, anonymity_threshold=3)
    with pytest.raises(ValidationError) as exc:
        services.cycle_update(user=org.hana, cycle=draft, anonymity_threshold=threshold)
    draft.refresh_from_db()
    assert draft.anonymity_threshold == 3


def test_a_threshold_of_1_is_refused_by_the_cycle_form(client, org):
    client.force_login(org.hana)
    response = client.post(reverse("cycle-create"), form_data(org, anonymity_threshold="1"))
    assert response.status_code == 400 and TOO_LOW in text(response)
    assert not ReviewCycle.objects.exists()
    draft = make_cycle(org)
    response = client.post(reverse("cycle-edit", args=[draft.pk]), form_data(org, anonymity_threshold="2"))
    assert response.status_code == 400 and TOO_LOW in text(response)
    draft.refresh_from_db()
    assert draft.anonymity_threshold == 3


def test_a_threshold_of_1_is_refused_by_the_api(org):
    hana = APIClient()
    hana.force_authenticate(org.hana)
    response = hana.post(f"{API}cycles/", payload(anonymity_threshold=1), format="json")
    assert response.status_code == 400 and response.json() == {"anonymity_threshold": [TOO_LOW]}
    assert not ReviewCycle.objects.exists()
    draft = make_cycle(org)
    response = hana.patch(f"{API}cycles/{draft.pk}/", {"anonymity_threshold": 1}, format="json")
    assert response.status_code == 400 and response.json() == {"anonymity_threshold": [TOO_LOW]}
    draft.refresh_from_db()
    assert draft.anonymity_threshold == 3
    assert hana.post(f"{API}cycles/", payload(anonymity_threshold=4), format="json").status_code == 201


def test_the_model_and_the_database_hold_the_floor(org):
    cycle = make_cycle(org)
    cycle.anonymity_threshold = 1
    with pytest.raises(ValidationError) as exc:
        cycle.full_clean()
    assert "anonymity_threshold" in exc.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewCycle.objects.filter(pk=cycle.pk).update(anonymity_threshold=1)


def test_results_never_show_a_group_under_3_whatever_they_are_given():
    answers = [fb._Response(R.PEER, "", "", {"communication": 5}), fb._Response(R.PEER, "", "", {"communication": 1})]
    questions = [{"code": "communication", "name": "Communication"}]
    for threshold in (0, 1, 2):
        peers = next(g for g in fb._groups(answers, threshold, questions) if g.relationship == R.PEER)
        assert (peers.shown, peers.count, peers.means) == (False, None, {})


# Migrating needs real transactions (SQLite remakes tables); serialized, so the database is left as the other
# serialized transactional tests expect it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_raises_existing_cycles_under_3_to_3(org):
    before = [("reviews", "0007_reminder_run")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        executor.loader.build_graph()
        OldCycle = executor.loader.project_state(before).apps.get_model("reviews", "ReviewCycle")
        low = make_cycle(org, name="low", anonymity_threshold=5)
        high = make_cycle(org, name="high", anonymity_threshold=5)
        OldCycle.objects.filter(pk=low.pk).update(anonymity_threshold=1)  # as 0007 allowed
        assert OldCycle.objects.get(pk=low.pk).anonymity_threshold == 1
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    low.refresh_from_db()
    high.refresh_from_db()
    assert (low.anonymity_threshold, high.anonymity_threshold) == (3, 5)
    migration = importlib.import_module("reviews.migrations.0008_anonymity_floor")
    assert migration.FLOOR == ANONYMITY_FLOOR


# -------------------------------------------------------------- 3. the admin


@pytest.fixture
def answered_peer(org, team, django_capture_on_commit_callbacks):  # noqa: F811
    """Alice's 360: Bob answered as a peer (anonymous); Eve keeps a draft; a customer was asked; Carl reminded."""
    cycle = launch(org)
    alice = appraisal_of(cycle, org.alice)
    fb.feedback_requests_approve_all(user=org.mike, appraisal=alice)
    submit(request_of(cycle, org.alice, org.bob), 5, comment="Bob wrote this")
    fb.feedback_save(user=team[0], request=request_of(cycle, org.alice, team[0]), answers=scores(2),
                     comment="Eve's unsent draft")
    fb.feedback_request_add(user=org.mike, appraisal=alice, relationship=R.CUSTOMER, external_name="Acme",
                            external_email="buyer@acme.example")
    FeedbackReminder.objects.create(cycle=cycle, recipient=org.carl)
    return alice


@pytest.mark.parametrize("query", [
    "?appraisal__id__exact={alice}&status__exact=submitted",
    "?status__exact=submitted",
    "?status__in=submitted,open",
    "?draft__icontains=draft",
    "?draft__has_key=answers",
    "?token_hash__isnull=True",
    "?decided_at__gte=2000-01-01",
    "?appraisal__feedback_responses__relationship=peer",
    "?rater__feedback_requests__status=submitted",
])
def test_admin_lookups_on_masked_fields_of_requests_are_refused(admin_client, answered_peer, query):
    url = reverse("admin:reviews_feedbackrequest_changelist") + query.format(alice=answered_peer.pk)
    response = admin_client.get(url)
    assert response.status_code == 400
    assert "Bob Peer" not in text(response)


@pytest.mark.parametrize("query", ["?relationship__exact=peer", "?request__isnull=True", "?id__exact=x",
                                   "?answers__score=5", "?comment__icontains=Bob"])
def test_admin_lookups_on_answers_are_refused(admin_client, answered_peer, query):
    assert admin_client.get(reverse("admin:reviews_feedbackresponse_changelist") + query).status_code == 400


@pytest.mark.parametrize("query", ["?recipient__id__exact=1", "?recipient__employee_code=CARL", "?q=Carl"])
def test_the_reminder_admin_never_tells_who_was_reminded(admin_client, answered_peer, org, query):
    url = reverse("admin:reviews_feedbackreminder_changelist")
    listed = admin_client.get(url)
    assert listed.status_code == 200 and "Carl Two" not in text(listed) and "CARL" not in text(listed)
    reminder = FeedbackReminder.objects.get()
    assert "Carl Two" not in text(admin_client.get(reverse("admin:reviews_feedbackreminder_change",
                                                           args=[reminder.pk])))
    response = admin_client.get(url + query)
    if query.startswith("?recipient"):
        assert response.status_code == 400
    else:  # no search over reminders: the list is the same, and names nobody
        assert response.status_code == 200 and "Carl Two" not in text(response)


def test_the_admin_filters_it_offers_still_work_and_stay_masked(admin_client, answered_peer):
    url = reverse("admin:reviews_feedbackrequest_changelist")
    for query in ("?status=asked", "?status=submitted", "?relationship__exact=peer", "?origin__exact=added",
                  f"?cycle__id__exact={answered_peer.cycle_id}", "?q=Bob", "?q=acme.example", "?_facets=1"):
        response = admin_client.get(url + query)
        assert response.status_code == 200, query
        assert "Answered</" not in text(response).replace("Answered (shown by name)</", ""), query
    answered = {r.rater_name for r in admin_client.get(url + "?status=submitted").context["cl"].result_list}
    assert "Bob Peer" not in answered


def test_the_request_admin_cannot_be_ordered_by_a_hidden_field(admin_client, answered_peer):
    url = reverse("admin:reviews_feedbackrequest_changelist")
    for n in range(-1, 9):
        for sign in ("", "-"):
            response = admin_client.get(f"{url}?o={sign}{n}")
            assert response.status_code == 200
            ordering = " ".join(str(o) for o in response.context["cl"].queryset.query.order_by)
            for hidden in ("status", "draft", "token", "decided", "created", "named_response"):
                assert hidden not in ordering, (n, ordering)


def test_anonymous_drafts_are_not_searchable_and_are_deleted_at_close(admin_client, answered_peer, org):
    url = reverse("admin:reviews_feedbackrequest_changelist")
    assert [r.pk for r in admin_client.get(url + "?q=unsent").context["cl"].result_list] == []
    eve = FeedbackRequest.objects.get(appraisal=answered_peer, rater__employee_code="EVE")
    assert eve.draft
    fb.requests_close([answered_peer.pk])
    eve.refresh_from_db()
    assert (eve.status, eve.draft) == (S.NOT_SUBMITTED, {})


def test_the_person_admin_refuses_lookups_through_feedback_requests(admin_client, answered_peer):
    url = reverse("admin:scorecard_person_changelist")
    for query in ("?feedback_requests__status=submitted",
                  f"?feedback_requests__appraisal__id__exact={answered_peer.pk}&feedback_requests__status=submitted"):
        assert admin_client.get(url + query).status_code == 400, query
