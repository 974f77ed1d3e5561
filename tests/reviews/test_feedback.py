"""360 feedback (reviews.feedback, reviews.questionnaires): every rule of their docstrings, at the service level.

The cycle covers department D1: Dana (its manager), Mike (T1's manager), Alice
and Bob (T1) and Carl (T2). The `team` fixture adds four agents to T1, so Alice
has enough peers for the anonymity threshold (3). Olga manages T3 in the other
department: she arranges nothing in D1. Deadlines are set from now, so the 360
window is open unless a test closes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import uuid

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections, models
from django.http import Http404
from django.utils import timezone, translation

from reviews import appraisals as appraisal_services
from reviews import feedback as fb
from reviews import questionnaires, services
from reviews.models import (
    Appraisal, Competency, FeedbackAnswer, FeedbackReminder, FeedbackRequest, FeedbackResponse, FeedbackTemplate,
    ReviewCycle,
)
from reviews.tasks import send_review_reminders_task
from scorecard.models import Person
from tests.base import build_org, make_person
from tests.reviews.test_cycles import cycle_kwargs

R = FeedbackRequest.Relationship
S = FeedbackRequest.Status
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
CODES = ["communication", "interpersonal", "leadership", "administration", "customer_focus"]


def deadlines(now: dt.datetime, first: dt.timedelta = 2 * DAY, step: dt.timedelta = 7 * DAY) -> dict:
    return {
        "self_assessment_due": now + first,
        "feedback_due": now + first + step,
        "appraisal_due": now + first + 2 * step,
        "calibration_due": now + first + 3 * step,
    }


def launch(org, *, units=None, **fields) -> ReviewCycle:
    """A cycle launched through the service (the suggestions made), in its self-assessment phase."""
    cycle = services.cycle_create(
        user=org.hana, **cycle_kwargs(org, **{"units": units or [org.d1], **deadlines(timezone.now()), **fields})
    )
    services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    return cycle


def set_phase(cycle: ReviewCycle, phase: str, **fields) -> ReviewCycle:
    ReviewCycle.objects.filter(pk=cycle.pk).update(phase=phase, **fields)
    cycle.refresh_from_db()
    return cycle


@pytest.fixture
def team(org) -> list[Person]:
    """Eve, Fay, Gus and Hal: four more agents on T1, under Mike (six agents in all)."""
    return [make_person(code, name, org.t1, "agent", org.mike)
            for code, name in (("EVE", "Eve Four"), ("FAY", "Fay Five"), ("GUS", "Gus Six"), ("HAL", "Hal Seven"))]


@pytest.fixture
def cycle(org) -> ReviewCycle:
    return launch(org)


def appraisal_of(cycle: ReviewCycle, person) -> Appraisal:
    return Appraisal.objects.select_related("cycle", "person__unit", "unit").get(cycle=cycle, person=person)


def request_of(cycle: ReviewCycle, person, rater) -> FeedbackRequest:
    return FeedbackRequest.objects.select_related("cycle", "appraisal__person", "rater").get(
        cycle=cycle, appraisal__person=person, rater=rater
    )


def scores(score: int, comment: str = "", **overrides) -> dict:
    """Every competency of the standard questionnaire rated `score` (overrides: code=score)."""
    return {code: {"score": overrides.get(code, score), "comment": comment} for code in CODES}


def submit(request: FeedbackRequest, score: int, comment: str = "", **overrides) -> FeedbackRequest:
    return fb.feedback_save(user=request.rater, request=request, answers=scores(score, **overrides), comment=comment,
                            submit=True)


def add(cycle, person, relationship, rater=None, *, by, **customer) -> fb.Arranged:
    return fb.feedback_request_add(user=by, appraisal=appraisal_of(cycle, person), relationship=relationship,
                                   rater_code=rater.employee_code if rater else "", **customer)


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


LINK = re.compile(r"https?://\S+/feedback/t/([^/\s]+)/")


def mailed_token(address: str) -> str:
    """The customer's token from the last e-mail sent to them: the one place a link goes."""
    [body] = [m.body for m in mail.outbox if m.to == [address]][-1:]
    return LINK.search(body).group(1)


def add_customer(cycle, person, *, by, name="Acme buyer", email="buyer@acme.example", capture) -> tuple:
    """Add a customer (committed, so their e-mail goes out) and return (request, token from their e-mail)."""
    with capture(execute=True):
        arranged = add(cycle, person, "customer", by=by, external_name=name, external_email=email)
    return arranged.request, mailed_token(email)


def errors(exc_info) -> dict:
    return exc_info.value.message_dict


def live_limited(cycle, rater) -> int:
    return FeedbackRequest.objects.filter(cycle=cycle, rater=rater, relationship__in=FeedbackRequest.LIMITED,
                                          status__in=FeedbackRequest.LIVE).count()


# ------------------------------------------------------------- the launch


def test_launch_suggests_self_and_supervisor_open_and_peers_and_subordinates_awaiting_approval(org, cycle):
    rows = set(FeedbackRequest.objects.filter(cycle=cycle).values_list(
        "appraisal__person__employee_code", "relationship", "rater__employee_code", "status", "origin"))
    open_, proposed = ("open", "suggested"), ("proposed", "suggested")
    assert rows == {
        ("ALICE", "self", "ALICE", *open_), ("ALICE", "supervisor", "MIKE", *open_),
        ("ALICE", "peer", "BOB", *proposed),
        ("BOB", "self", "BOB", *open_), ("BOB", "supervisor", "MIKE", *open_), ("BOB", "peer", "ALICE", *proposed),
        ("CARL", "self", "CARL", *open_), ("CARL", "supervisor", "DANA", *open_),
        # Mike and Carl both report to Dana, but a manager and an agent are not peers.
        ("MIKE", "self", "MIKE", *open_), ("MIKE", "supervisor", "DANA", *open_),
        ("MIKE", "subordinate", "ALICE", *proposed), ("MIKE", "subordinate", "BOB", *proposed),
        ("DANA", "self", "DANA", *open_), ("DANA", "supervisor", "DIRK", *open_),
        ("DANA", "subordinate", "MIKE", *proposed), ("DANA", "subordinate", "CARL", *proposed),
    }
    assert not mail.outbox  # suggestions wait for the manager; self and supervisor are told by their inbox


@pytest.mark.parametrize(("threshold", "limit", "k"), [(3, 8, 3), (5, 8, 5), (3, 3, 2), (4, 8, 4), (3, 1, 0)])
def test_every_agent_rates_exactly_k_team_mates_within_the_limit(org, team, threshold, limit, k):
    cycle = launch(org, units=[org.t1], anonymity_threshold=threshold, max_requests_per_rater=limit)
    assert fb.peers_suggested(cycle) == k
    agents = [org.alice, org.bob, *team]
    peers = FeedbackRequest.objects.filter(cycle=cycle, relationship=R.PEER)
    assert peers.count() == k * len(agents)
    for agent in agents:
        assert peers.filter(rater=agent).count() == k, agent
        assert peers.filter(appraisal__person=agent).count() == k, agent
        assert live_limited(cycle, agent) <= limit
    # Only team mates of the same role: never the manager, never oneself.
    assert not peers.filter(models.Q(rater=org.mike) | models.Q(appraisal__person=org.mike)).exists()
    assert not peers.filter(rater=models.F("appraisal__person")).exists()
    # Subordinates rate their manager: each of Mike's six reports once.
    subordinates = FeedbackRequest.objects.filter(cycle=cycle, relationship=R.SUBORDINATE)
    assert set(subordinates.values_list("rater__employee_code", flat=True)) == {a.employee_code for a in agents}
    assert set(subordinates.values_list("appraisal__person", flat=True)) == {org.mike.pk}


def test_peers_follow_employee_code_order_in_a_rotation(org, team):
    cycle = launch(org, units=[org.t1])
    peers = {}
    for person, rater in FeedbackRequest.objects.filter(cycle=cycle, relationship=R.PEER).values_list(
        "appraisal__person__employee_code", "rater__employee_code"
    ):
        peers.setdefault(person, set()).add(rater)
    assert peers == {
        "ALICE": {"BOB", "EVE", "FAY"}, "BOB": {"EVE", "FAY", "GUS"}, "EVE": {"FAY", "GUS", "HAL"},
        "FAY": {"GUS", "HAL", "ALICE"}, "GUS": {"HAL", "ALICE", "BOB"}, "HAL": {"ALICE", "BOB", "EVE"},
    }


def test_the_questionnaire_is_frozen_at_launch(org):
    cycle = launch(org)
    assert [q["code"] for q in cycle.questionnaire] == CODES
    assert cycle.questionnaire[0] == {
        "code": "communication", "name": "Communication", "name_zh": "沟通能力",
        "description": "Listens, explains clearly, adapts to the customer and colleagues.",
        "description_zh": "倾听、清晰表达，能根据客户和同事调整沟通方式。",
    }
    frozen = list(cycle.questionnaire)
    default = FeedbackTemplate.objects.get(is_default=True)
    questionnaires.questionnaire_save(user=org.hana, template=default, name=default.name,
                                      competency_codes=["leadership"], is_default=True)
    Competency.objects.filter(code="communication").update(name="Talking")
    cycle.refresh_from_db()
    assert cycle.questionnaire == frozen
    later = launch(org, name="Later")
    assert later.questionnaire == [{**frozen[2]}]


def test_a_cycle_launches_with_the_questionnaire_hr_chose(org):
    short = questionnaires.questionnaire_save(user=org.hana, name="Short", competency_codes=["customer_focus",
                                                                                            "communication"])
    cycle = launch(org, feedback_template=short)
    assert [q["code"] for q in cycle.questionnaire] == ["customer_focus", "communication"]


# ------------------------------------------------------------ nominations


def test_the_appraisee_nominates_a_peer_who_waits_for_approval(org, cycle, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        arranged = fb.feedback_request_add(user=org.alice, appraisal=appraisal_of(cycle, org.alice),
                                           relationship="peer", rater_code=" carl ")
    row = arranged.request
    assert (row.rater, row.status, row.origin, row.proposed_by, row.decided_by) == (
        org.carl, S.PROPOSED, FeedbackRequest.Origin.NOMINATED, org.alice, None)
    assert mail.outbox == []


def test_the_appraisee_nominates_a_customer_whose_link_comes_with_approval(org, cycle,
                                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        arranged = add(cycle, org.alice, "customer", by=org.alice, external_name="  Acme buyer ",
                       external_email="buyer@acme.example")
    row = arranged.request
    assert (row.external_name, row.status, row.token_hash) == ("Acme buyer", S.PROPOSED, None)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        decided = fb.feedback_request_decide(user=org.mike, request=row, approve=True)
    row.refresh_from_db()
    assert row.status == S.OPEN and not hasattr(decided, "link")
    assert row.token_hash == hashlib.sha256(mailed_token("buyer@acme.example").encode()).hexdigest()


@pytest.mark.parametrize("relationship", ["matrix", "subordinate", "supervisor", "self", "boss"])
def test_the_appraisee_nominates_only_peers_and_customers(org, cycle, relationship):
    with pytest.raises(ValidationError) as exc:
        add(cycle, org.alice, relationship, org.carl, by=org.alice)
    assert errors(exc) == {"relationship": [str(fb.RELATIONSHIP_NOT_ALLOWED)]}
    assert not FeedbackRequest.objects.filter(cycle=cycle, rater=org.carl, appraisal__person=org.alice).exists()


@pytest.mark.parametrize("user", ["bob", "carl", "olga"])
def test_only_the_appraisee_and_arrangers_ask_for_feedback(org, cycle, user):
    with pytest.raises(PermissionDenied):
        add(cycle, org.alice, "peer", org.carl, by=getattr(org, user))
    assert not FeedbackRequest.objects.filter(cycle=cycle, rater=org.carl, appraisal__person=org.alice).exists()


# ------------------------------------------------------- arrangers adding


@pytest.mark.parametrize("user", ["mike", "dana", "hana", "dirk"])
def test_an_arranger_adds_an_open_request_and_the_rater_is_told(org, cycle, user, django_capture_on_commit_callbacks):
    arranger = getattr(org, user)
    with django_capture_on_commit_callbacks(execute=True):
        arranged = add(cycle, org.alice, "peer", org.carl, by=arranger)
    row = arranged.request
    assert (row.status, row.origin, row.decided_by, row.proposed_by) == (
        S.OPEN, FeedbackRequest.Origin.ADDED, arranger, arranger)
    assert row.token_hash is None
    [message] = mail.outbox
    assert message.to == ["carl@example.com"]
    assert message.subject == "Your feedback on Alice Agent is requested"
    assert f"/reviews/feedback/{row.pk}/" in message.body and "anonymous" in message.body


def test_an_arranger_adds_matrix_managers_and_subordinates(org, cycle):
    assert add(cycle, org.alice, "matrix", org.olga, by=org.mike).request.status == S.OPEN
    assert add(cycle, org.mike, "subordinate", org.carl, by=org.dana).request.status == S.OPEN


def test_a_customer_gets_a_single_link_of_which_only_the_hash_is_kept(org, cycle, settings,
                                                                     django_capture_on_commit_callbacks):
    settings.FEEDBACK_LINK_DAYS = 30
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        arranged = add(cycle, org.alice, "customer", by=org.mike, external_name="Acme buyer",
                       external_email="buyer@acme.example")
    token = mailed_token("buyer@acme.example")
    link = f"{settings.SITE_URL}/reviews/feedback/t/{token}/"
    assert len(token) >= 40
    row = FeedbackRequest.objects.get(pk=arranged.request.pk)
    assert row.rater is None and row.status == S.OPEN
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not [f.name for f in FeedbackRequest._meta.concrete_fields if token in str(getattr(row, f.attname))]
    assert before + 30 * DAY <= row.token_expires_at <= timezone.now() + 30 * DAY
    [message] = mail.outbox
    assert message.to == ["buyer@acme.example"] and link in message.body
    assert fb._due_text(cycle) in message.body  # the 360 deadline comes first: the customer is told that one
    assert fb.token_request(token).pk == row.pk


def test_a_customer_link_lasts_its_days_and_never_past_the_360_deadline(org, cycle, settings,
                                                                      django_capture_on_commit_callbacks):
    settings.FEEDBACK_LINK_DAYS = 3
    before = timezone.now()
    row, token = add_customer(cycle, org.alice, by=org.mike, capture=django_capture_on_commit_callbacks)
    assert before + 3 * DAY <= row.token_expires_at <= timezone.now() + 3 * DAY
    # A link with days left stops at the 360 deadline, and works again if HR moves the deadline later.
    FeedbackRequest.objects.filter(pk=row.pk).update(token_expires_at=timezone.now() + 30 * DAY)
    set_phase(cycle, "feedback", self_assessment_due=timezone.now() - 2 * DAY, feedback_due=timezone.now() - HOUR)
    with pytest.raises(ValidationError) as exc:
        fb.token_request(token)
    assert errors(exc) == {"__all__": [str(fb.LINK_INVALID)]}
    set_phase(cycle, "feedback", feedback_due=timezone.now() + DAY)
    assert fb.token_request(token).pk == row.pk


def test_a_customer_needs_a_name_and_a_valid_email(org, cycle):
    with pytest.raises(ValidationError) as exc:
        add(cycle, org.alice, "customer", by=org.mike, external_name=" ", external_email="not an email")
    assert errors(exc) == {"external_name": [str(fb.CUSTOMER_NAME_REQUIRED)],
                           "external_email": [str(fb.CUSTOMER_EMAIL_INVALID)]}
    assert not FeedbackRequest.objects.filter(relationship=R.CUSTOMER).exists()
    # No email is refused: the link goes to the customer's address, never through the arranger's hands.
    with pytest.raises(ValidationError) as exc:
        add(cycle, org.alice, "customer", by=org.mike, external_name="Walk-in")
    assert errors(exc) == {"external_email": [str(fb.CUSTOMER_EMAIL_REQUIRED)]}


@pytest.mark.parametrize(("code", "message"), [
    ("", fb.RATER_REQUIRED), ("NOBODY", fb.RATER_UNKNOWN), ("GONE", fb.RATER_UNKNOWN),
])
def test_the_rater_is_an_active_colleague_given_by_employee_code(org, cycle, code, message):
    make_person("GONE", "Gone Person", org.t2, "agent", org.dana)
    Person.objects.filter(employee_code="GONE").update(is_active=False)
    with pytest.raises(ValidationError) as exc:
        fb.feedback_request_add(user=org.mike, appraisal=appraisal_of(cycle, org.alice), relationship="peer",
                                rater_code=code)
    assert errors(exc) == {"rater": [str(message)]}


def test_the_same_rater_cannot_be_asked_twice(org, cycle):
    with pytest.raises(ValidationError) as exc:
        add(cycle, org.alice, "peer", org.bob, by=org.mike)  # suggested at launch
    assert errors(exc) == {"rater": [str(fb.RATER_ALREADY % {"name": "Bob Peer"})]}
    with pytest.raises(ValidationError):
        add(cycle, org.alice, "matrix", org.bob, by=org.dana)  # not in another relationship either
    with pytest.raises(ValidationError):
        add(cycle, org.alice, "peer", org.bob, by=org.alice)
    assert FeedbackRequest.objects.filter(cycle=cycle, appraisal__person=org.alice, rater=org.bob).count() == 1


@pytest.mark.parametrize("relationship", ["peer", "matrix", "subordinate"])
def test_nobody_rates_themselves_as_someone_else(org, cycle, relationship):
    with pytest.raises(ValidationError) as exc:
        add(cycle, org.alice, relationship, org.alice, by=org.mike)
    label = str(R(relationship).label).lower()
    assert errors(exc) == {"rater": [str(fb.RATER_IS_APPRAISEE % {"relationship": label})]}


# --------------------------------------------------------------- deciding


@pytest.mark.parametrize("user", ["mike", "dana", "hana", "dirk"])
def test_arrangers_approve_and_reject(org, cycle, user, django_capture_on_commit_callbacks):
    arranger = getattr(org, user)
    approved, rejected = request_of(cycle, org.alice, org.bob), request_of(cycle, org.bob, org.alice)
    with django_capture_on_commit_callbacks(execute=True):
        fb.feedback_request_decide(user=arranger, request=approved, approve=True)
        fb.feedback_request_decide(user=arranger, request=rejected, approve=False)
    approved.refresh_from_db()
    rejected.refresh_from_db()
    assert (approved.status, approved.decided_by) == (S.OPEN, arranger) and approved.decided_at is not None
    assert (rejected.status, rejected.decided_by) == (S.REJECTED, arranger)
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]  # the rejected rater is not told


@pytest.mark.parametrize("user", ["alice", "bob", "carl", "olga"])
def test_the_appraisee_a_peer_and_other_managers_cannot_decide(org, cycle, user):
    request = request_of(cycle, org.alice, org.bob)
    with pytest.raises(PermissionDenied) as exc:
        fb.feedback_request_decide(user=getattr(org, user), request=request, approve=True)
    assert str(exc.value) == str(fb.NOT_ARRANGER)
    with pytest.raises(PermissionDenied):
        fb.feedback_requests_approve_all(user=getattr(org, user), appraisal=appraisal_of(cycle, org.alice))
    assert FeedbackRequest.objects.get(pk=request.pk).status == S.PROPOSED


def test_a_manager_does_not_arrange_the_raters_of_their_own_appraisal(org, cycle):
    with pytest.raises(PermissionDenied):
        fb.feedback_request_decide(user=org.mike, request=request_of(cycle, org.mike, org.alice), approve=True)
    # What Mike asks for on his own appraisal is a nomination: it waits for Dana.
    assert add(cycle, org.mike, "peer", org.carl, by=org.mike).request.status == S.PROPOSED
    assert not fb.can_arrange(org.mike, appraisal_of(cycle, org.mike))
    assert fb.can_arrange(org.dana, appraisal_of(cycle, org.mike))


def test_approve_all_opens_every_request_awaiting_approval(org, cycle, django_capture_on_commit_callbacks):
    add(cycle, org.alice, "peer", org.carl, by=org.alice)
    add(cycle, org.alice, "customer", by=org.alice, external_name="Acme", external_email="buyer@acme.example")
    with django_capture_on_commit_callbacks(execute=True):
        done = fb.feedback_requests_approve_all(user=org.mike, appraisal=appraisal_of(cycle, org.alice))
    assert len(done) == 3
    assert "/feedback/t/" in next(m.body for m in mail.outbox if m.to == ["buyer@acme.example"])
    assert set(FeedbackRequest.objects.filter(appraisal__person=org.alice, cycle=cycle).values_list(
        "status", flat=True)) == {S.OPEN}
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.com", "buyer@acme.example", "carl@example.com"]
    with pytest.raises(ValidationError) as exc:
        fb.feedback_requests_approve_all(user=org.mike, appraisal=appraisal_of(cycle, org.alice))
    assert errors(exc) == {"__all__": [str(fb.NOTHING_TO_APPROVE)]}


def test_a_decided_request_cannot_be_decided_again(org, cycle):
    request = request_of(cycle, org.alice, org.bob)
    fb.feedback_request_decide(user=org.mike, request=request, approve=False)
    with pytest.raises(ValidationError) as exc:
        fb.feedback_request_decide(user=org.mike, request=request, approve=True)
    assert errors(exc) == {"__all__": [str(fb.NOT_PROPOSED)]}
    assert FeedbackRequest.objects.get(pk=request.pk).status == S.REJECTED


# ------------------------------------------------------------------ limits


def test_a_rater_at_the_limit_cannot_be_added_or_nominated(org):
    cycle = launch(org, max_requests_per_rater=2)
    assert live_limited(cycle, org.bob) == 2  # Alice's peer and Mike's subordinate, both awaiting approval
    message = str(fb.RATER_LIMIT % {"name": "Bob Peer", "n": 2})
    with pytest.raises(ValidationError) as exc:
        add(cycle, org.carl, "peer", org.bob, by=org.dana)
    assert errors(exc) == {"rater": [message]}
    with pytest.raises(ValidationError) as exc:
        add(cycle, org.carl, "peer", org.bob, by=org.carl)
    assert errors(exc) == {"rater": [message]}
    # A rejected request frees its place.
    fb.feedback_request_decide(user=org.mike, request=request_of(cycle, org.alice, org.bob), approve=False)
    assert add(cycle, org.carl, "peer", org.bob, by=org.carl).request.status == S.PROPOSED


def test_rating_oneself_and_ones_reports_does_not_count_toward_the_limit(org):
    zoe = make_person("ZOE", "Zoe Two", org.t2, "agent", org.dana)
    cycle = launch(org, max_requests_per_rater=2)
    # Mike: his self-rating and Alice's and Bob's supervisor requests, and rating Dana as a subordinate (1).
    assert FeedbackRequest.objects.filter(cycle=cycle, rater=org.mike).count() == 4
    assert add(cycle, org.carl, "matrix", org.mike, by=org.dana).request.status == S.OPEN
    with pytest.raises(ValidationError) as exc:
        add(cycle, zoe, "matrix", org.mike, by=org.dana)  # a second limited request: the most
    assert errors(exc) == {"rater": [str(fb.RATER_LIMIT % {"name": "Mike Manager", "n": 2})]}


def test_customers_do_not_count_toward_any_limit(org):
    cycle = launch(org, max_requests_per_rater=1)
    for n in range(3):
        assert add(cycle, org.alice, "customer", by=org.mike, external_name=f"Customer {n}",
                   external_email=f"c{n}@client.example").request.status == S.OPEN


def test_approval_is_refused_when_the_rater_has_reached_the_limit_and_approve_all_approves_nothing(
    org, cycle, django_capture_on_commit_callbacks
):
    alice = appraisal_of(cycle, org.alice)
    add(cycle, org.alice, "peer", org.carl, by=org.alice)  # Alice's second pending request, after Bob's
    add(cycle, org.bob, "matrix", org.carl, by=org.dana)
    # Carl: Dana's subordinate, Bob's matrix manager, Alice's nominated peer. HR lowers the limit to 2.
    ReviewCycle.objects.filter(pk=cycle.pk).update(max_requests_per_rater=2)
    carl_request = request_of(cycle, org.alice, org.carl)
    with pytest.raises(ValidationError) as exc:
        fb.feedback_request_decide(user=org.mike, request=carl_request, approve=True)
    assert errors(exc) == {"__all__": [str(fb.RATER_LIMIT % {"name": "Carl Two", "n": 2})]}
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ValidationError):
            fb.feedback_requests_approve_all(user=org.mike, appraisal=alice)  # Bob's would pass, Carl's not
    assert set(FeedbackRequest.objects.filter(appraisal=alice, status=S.PROPOSED).values_list(
        "rater__employee_code", flat=True)) == {"BOB", "CARL"}
    assert mail.outbox == []  # nobody told of a request that was rolled back


# ------------------------------------------------------------------ window


def closed_window(cycle, how: str) -> tuple[ReviewCycle, str]:
    now = timezone.now()
    if how == "deadline passed":
        set_phase(cycle, "feedback", self_assessment_due=now - 2 * DAY, feedback_due=now - HOUR)
        return cycle, str(fb.WINDOW_CLOSED % {"due": fb._due_text(cycle)})
    if how == "appraisal phase":
        set_phase(cycle, "appraisal")
        return cycle, str(fb.WINDOW_CLOSED % {"due": fb._due_text(cycle)})
    if how == "cycle closed":
        set_phase(cycle, "closed")
        return cycle, str(fb.APPRAISAL_CLOSED)
    Appraisal.objects.filter(cycle=cycle).update(status=Appraisal.Status.CLOSED)  # an appraisal closed
    return cycle, str(fb.APPRAISAL_CLOSED)


WINDOWS = ["deadline passed", "appraisal phase", "cycle closed", "appraisal closed"]


@pytest.mark.parametrize("how", WINDOWS)
def test_nothing_is_arranged_outside_the_360_window(org, cycle, how):
    cycle, message = closed_window(cycle, how)
    for call in (
        lambda: add(cycle, org.alice, "peer", org.carl, by=org.mike),
        lambda: add(cycle, org.alice, "peer", org.carl, by=org.alice),
        lambda: fb.feedback_request_decide(user=org.mike, request=request_of(cycle, org.alice, org.bob), approve=True),
        lambda: fb.feedback_requests_approve_all(user=org.mike, appraisal=appraisal_of(cycle, org.alice)),
    ):
        with pytest.raises(ValidationError) as exc:
            call()
        assert errors(exc) == {"__all__": [message]}
    assert request_of(cycle, org.alice, org.bob).status == S.PROPOSED
    assert not FeedbackRequest.objects.filter(rater=org.carl, appraisal__person=org.alice).exists()


@pytest.mark.parametrize("how", WINDOWS)
def test_nothing_is_answered_outside_the_360_window(org, cycle, how):
    request = request_of(cycle, org.alice, org.alice)
    cycle, message = closed_window(cycle, how)
    with pytest.raises(ValidationError) as exc:
        fb.feedback_save(user=org.alice, request=request, answers=scores(4), submit=False)
    assert errors(exc) == {"__all__": [message]}
    assert FeedbackRequest.objects.get(pk=request.pk).draft == {}


def test_the_window_is_open_in_the_self_assessment_and_360_phases_until_the_deadline(org, cycle):
    assert fb.window_error(cycle) is None
    set_phase(cycle, "feedback")
    assert fb.window_error(cycle) is None
    assert fb.window_error(cycle, now=cycle.feedback_due + dt.timedelta(seconds=1)) is not None
    draft = ReviewCycle(phase="draft", feedback_due=cycle.feedback_due)
    assert fb.window_error(draft) == str(fb.WINDOW_NOT_OPEN)


# --------------------------------------------------------------- answering


def test_a_draft_is_kept_and_merged_until_submitted(org, cycle):
    request = request_of(cycle, org.alice, org.alice)
    fb.feedback_save(user=org.alice, request=request, answers={"communication": {"score": 4}}, comment="First go")
    fb.feedback_save(user=org.alice, request=request, answers={"leadership": {"comment": "Led the huddles"}})
    row = FeedbackRequest.objects.get(pk=request.pk)
    assert row.status == S.OPEN
    assert row.draft == {"answers": {"communication": {"score": 4}, "leadership": {"comment": "Led the huddles"}},
                         "comment": "First go"}
    fb.feedback_save(user=org.alice, request=request, answers={"communication": {"score": ""}}, comment="")
    row.refresh_from_db()
    assert row.draft == {"answers": {"communication": {}, "leadership": {"comment": "Led the huddles"}}, "comment": ""}
    assert not FeedbackResponse.objects.exists()


def test_submitting_needs_every_score_and_saves_nothing_otherwise(org, cycle):
    request = request_of(cycle, org.alice, org.alice)
    fb.feedback_save(user=org.alice, request=request, answers={"communication": 4})
    with pytest.raises(ValidationError) as exc:
        fb.feedback_save(user=org.alice, request=request, answers={"leadership": 5}, comment="Done", submit=True)
    assert errors(exc) == {f"{code}_score": [str(fb.SCORE_REQUIRED)]
                           for code in ("interpersonal", "administration", "customer_focus")}
    row = FeedbackRequest.objects.get(pk=request.pk)
    assert (row.status, row.draft) == (S.OPEN, {"answers": {"communication": {"score": 4}}, "comment": ""})
    assert not FeedbackResponse.objects.exists()
    # The draft's scores count: the rest completes it.
    answers = {**{code: 3 for code in CODES if code != "communication"}, "communication": {"comment": "Clear"}}
    fb.feedback_save(user=org.alice, request=request, answers=answers, submit=True)
    response = FeedbackResponse.objects.get()
    assert dict(response.answers.values_list("code", "score")) == {
        "communication": 4, "interpersonal": 3, "leadership": 3, "administration": 3, "customer_focus": 3}
    assert response.answers.get(code="communication").comment == "Clear"


@pytest.mark.parametrize("bad", [0, 6, -1, 2.5, True, "x", "4.5", [4]])
def test_scores_are_whole_numbers_from_1_to_5_and_nothing_is_saved_on_error(org, cycle, bad):
    request = request_of(cycle, org.alice, org.alice)
    with pytest.raises(ValidationError) as exc:
        fb.feedback_save(user=org.alice, request=request,
                         answers={"communication": {"score": bad}, "leadership": {"score": 4}}, comment="kept?")
    assert errors(exc) == {"communication_score": [str(fb.SCORE_RANGE)]}
    assert FeedbackRequest.objects.get(pk=request.pk).draft == {}


def test_answers_come_by_competency_code(org, cycle, customer):
    request = request_of(cycle, org.alice, org.alice)
    for bad in (["communication", 4], "communication=4", 4):
        with pytest.raises(ValidationError) as exc:
            fb.feedback_save(user=org.alice, request=request, answers=bad, submit=True)
        assert errors(exc) == {"answers": [str(fb.ANSWERS_SHAPE)]}
        with pytest.raises(ValidationError) as exc:
            fb.feedback_token_submit(token=customer[1], answers=bad, comment="")
        assert errors(exc) == {"answers": [str(fb.ANSWERS_SHAPE)]}
    assert not FeedbackResponse.objects.exists()


def test_accepted_score_forms_and_other_field_errors(org, cycle):
    request = request_of(cycle, org.alice, org.alice)
    fb.feedback_save(user=org.alice, request=request,
                     answers={"communication": "4", "leadership": 5.0, "administration": 1})
    assert FeedbackRequest.objects.get(pk=request.pk).draft["answers"] == {
        "communication": {"score": 4}, "leadership": {"score": 5}, "administration": {"score": 1}}
    long = "x" * (fb.MAX_COMMENT + 1)
    with pytest.raises(ValidationError) as exc:
        fb.feedback_save(user=org.alice, request=request, answers={"nope": 3, "leadership": {"comment": long}},
                         comment=long)
    assert errors(exc) == {"nope_score": [str(fb.UNKNOWN_COMPETENCY)],
                           "leadership_comment": [str(fb.TEXT_TOO_LONG % {"n": fb.MAX_COMMENT})],
                           "comment": [str(fb.TEXT_TOO_LONG % {"n": fb.MAX_COMMENT})]}


def test_a_submitted_answer_can_no_longer_change(org, cycle):
    request = request_of(cycle, org.alice, org.alice)
    submit(request, 4)
    for kwargs in ({"submit": True}, {"submit": False}):
        with pytest.raises(ValidationError) as exc:
            fb.feedback_save(user=org.alice, request=request, answers=scores(1), **kwargs)
        assert errors(exc) == {"__all__": [str(fb.ALREADY_ANSWERED)]}
    assert FeedbackResponse.objects.count() == 1
    assert set(FeedbackAnswer.objects.values_list("score", flat=True)) == {4}


def test_a_second_submission_racing_the_first_is_refused_and_stores_nothing(org, cycle, monkeypatch):
    """Both read the request open; the other one's conditional UPDATE commits first (simulated here)."""
    request = request_of(cycle, org.alice, org.alice)
    real = fb._clean_answers

    def racing(*args, **kwargs):
        result = real(*args, **kwargs)
        FeedbackRequest.objects.filter(pk=request.pk).update(status=S.SUBMITTED)
        return result

    monkeypatch.setattr(fb, "_clean_answers", racing)
    with pytest.raises(ValidationError) as exc:
        submit(request, 4)
    assert errors(exc) == {"__all__": [str(fb.ALREADY_ANSWERED)]}
    assert not FeedbackResponse.objects.exists()


def test_only_the_rater_answers_and_only_open_requests(org, cycle):
    with pytest.raises(PermissionDenied):
        fb.feedback_save(user=org.mike, request=request_of(cycle, org.alice, org.alice), answers=scores(5))
    proposed = request_of(cycle, org.alice, org.bob)
    with pytest.raises(ValidationError) as exc:
        fb.feedback_save(user=org.bob, request=proposed, answers=scores(5))
    assert errors(exc) == {"__all__": [str(fb.NOT_OPEN)]}
    fb.feedback_request_decide(user=org.mike, request=proposed, approve=False)
    with pytest.raises(ValidationError):
        fb.feedback_save(user=org.bob, request=proposed, answers=scores(5))


def test_anonymous_answers_keep_no_link_to_their_request_no_rater_and_no_time(org, cycle):
    request = request_of(cycle, org.alice, org.bob)
    fb.feedback_request_decide(user=org.mike, request=request, approve=True)
    fb.feedback_save(user=org.bob, request=request, answers={"communication": 2}, comment="draft note")
    submit(request, 4, comment="Helps everyone")
    response = FeedbackResponse.objects.get(relationship=R.PEER)
    assert response.request_id is None and response.appraisal.person == org.alice
    assert isinstance(response.pk, uuid.UUID) and response.pk.version == 4
    assert response.comment == "Helps everyone" and response.answers.count() == len(CODES)
    request.refresh_from_db()
    assert (request.status, request.draft) == (S.SUBMITTED, {})  # the draft is gone with the submission
    # Nothing stored with an answer tells who or when.
    for model in (FeedbackResponse, FeedbackAnswer):
        fields = model._meta.concrete_fields
        assert not [f.name for f in fields if isinstance(f, (models.DateField, models.TimeField))], model
        assert not [f.name for f in fields if f.is_relation and f.related_model is Person], model


def test_named_answers_keep_their_request(org, cycle):
    for person, rater in ((org.alice, org.alice), (org.alice, org.mike)):
        submit(request_of(cycle, person, rater), 4)
    assert set(FeedbackResponse.objects.values_list("relationship", "request__rater__employee_code")) == {
        ("self", "ALICE"), ("supervisor", "MIKE")}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_submissions_at_once_store_one_response_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections need PostgreSQL (SQLite: see the simulated race)")
    org = build_org()
    cycle = launch(org)
    request = request_of(cycle, org.alice, org.alice)
    done: list = []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            done.append(submit(request, 4))
        except Exception as exc:  # reported below
            done.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refused = [r for r in done if isinstance(r, ValidationError)]
    assert len(done) == 2 and len(refused) == 1, done
    assert refused[0].message_dict == {"__all__": [str(fb.ALREADY_ANSWERED)]}
    assert FeedbackResponse.objects.filter(appraisal__cycle=cycle).count() == 1


# ------------------------------------------------------------ customer links


@pytest.fixture
def customer(org, cycle, django_capture_on_commit_callbacks) -> tuple[FeedbackRequest, str]:
    return add_customer(cycle, org.alice, by=org.mike, capture=django_capture_on_commit_callbacks)


def test_a_customer_answers_once_through_the_link(org, cycle, customer):
    request, token = customer
    fb.feedback_token_submit(token=token, answers=scores(5), comment="Quick and kind")
    request.refresh_from_db()
    assert request.status == S.SUBMITTED
    response = FeedbackResponse.objects.get()
    assert (response.relationship, response.request_id, response.comment) == ("customer", None, "Quick and kind")
    for call in (lambda: fb.token_request(token),
                 lambda: fb.feedback_token_submit(token=token, answers=scores(1), comment="")):
        with pytest.raises(ValidationError) as exc:
            call()
        assert errors(exc) == {"__all__": [str(fb.LINK_INVALID)]}
    assert FeedbackResponse.objects.count() == 1


def test_a_customer_answer_with_missing_scores_saves_nothing_and_keeps_the_link(customer):
    request, token = customer
    with pytest.raises(ValidationError) as exc:
        fb.feedback_token_submit(token=token, answers={"communication": 9}, comment="")
    assert errors(exc) == {"communication_score": [str(fb.SCORE_RANGE)]}
    assert FeedbackRequest.objects.get(pk=request.pk).status == S.OPEN and not FeedbackResponse.objects.exists()
    assert fb.token_request(token).pk == request.pk


def test_an_expired_link_is_refused(cycle, customer):
    request, token = customer
    FeedbackRequest.objects.filter(pk=request.pk).update(token_expires_at=timezone.now() - HOUR)
    with pytest.raises(ValidationError) as exc:
        fb.feedback_token_submit(token=token, answers=scores(5), comment="")
    assert errors(exc) == {"__all__": [str(fb.LINK_INVALID)]}
    FeedbackRequest.objects.filter(pk=request.pk).update(token_expires_at=cycle.feedback_due)
    set_phase(cycle, "appraisal")  # the 360 phase is over: the link with it
    with pytest.raises(ValidationError) as exc:
        fb.token_request(token)
    assert errors(exc) == {"__all__": [str(fb.LINK_INVALID)]}
    assert not FeedbackResponse.objects.exists()


@pytest.mark.parametrize("token", ["", "nope", "x" * 43])
def test_an_unknown_link_is_refused_like_a_used_or_expired_one(customer, token):
    for call in (lambda: fb.token_request(token),
                 lambda: fb.feedback_token_submit(token=token, answers=scores(5), comment="")):
        with pytest.raises(ValidationError) as exc:
            call()
        assert errors(exc) == {"__all__": [str(fb.LINK_INVALID)]}


# ----------------------------------------------------------------- results


@pytest.fixture
def answered(org, team, django_capture_on_commit_callbacks) -> Appraisal:
    """Alice's 360: herself 5; Mike 4; matrix managers Dana 5 and Olga 3; peers Bob 2, Eve 4, Fay 3 (communication 5);
    one customer (too few to show); nobody reports to her. Submitted in an order unlike the sorted results."""
    cycle = launch(org)
    fb.feedback_requests_approve_all(user=org.mike, appraisal=appraisal_of(cycle, org.alice))  # Bob, Eve, Fay
    for matrix in (org.olga, org.dana):
        add(cycle, org.alice, "matrix", matrix, by=org.hana)
    eve, fay = team[0], team[1]
    submit(request_of(cycle, org.alice, org.olga), 3, comment="Olga's note")
    submit(request_of(cycle, org.alice, org.bob), 2, comment="zebra crossing")
    submit(request_of(cycle, org.alice, org.alice), 5)
    fb.feedback_save(user=fay, request=request_of(cycle, org.alice, fay), answers={
        code: {"score": 5 if code == "communication" else 3, "comment": "mango" if code == "communication" else ""}
        for code in CODES}, submit=True)
    submit(request_of(cycle, org.alice, org.dana), 5)
    submit(request_of(cycle, org.alice, eve), 4, comment="Apple pie")
    submit(request_of(cycle, org.alice, org.mike), 4)
    _row, token = add_customer(cycle, org.alice, by=org.mike, name="Acme", capture=django_capture_on_commit_callbacks)
    fb.feedback_token_submit(token=token, answers=scores(1), comment="Customer secret")
    return appraisal_of(cycle, org.alice)


def results_of(appraisal: Appraisal) -> fb.Results:
    return fb.feedback_results(appraisal_of(appraisal.cycle, appraisal.person))


def test_results_are_not_shown_before_the_360_phase_is_over(answered):
    for phase in ("self_assessment", "feedback"):
        set_phase(answered.cycle, phase)
        results = results_of(answered)
        assert (results.available, results.groups, results.score) == (False, [], None)
        assert fb.feedback_score(appraisal_of(answered.cycle, answered.person)) is None


@pytest.mark.parametrize("phase", ["appraisal", "calibration", "closing", "closed"])
def test_results_are_shown_once_the_360_phase_is_over(answered, phase):
    set_phase(answered.cycle, phase)
    assert results_of(answered).available


def test_results_group_answers_by_relationship_and_hide_small_anonymous_groups(answered):
    set_phase(answered.cycle, "appraisal")
    results = results_of(answered)
    assert results.threshold == 3 and [q["code"] for q in results.questions] == CODES
    by = {g.relationship: g for g in results.groups}
    # Nobody reports to Alice: no subordinate group at all.
    assert [g.relationship for g in results.groups] == ["self", "supervisor", "matrix", "peer", "customer"]
    # Named groups: each answer by name, sorted by name.
    assert [(n.rater_name, n.mean) for n in by["self"].named] == [("Alice Agent", 5.0)]
    assert [(n.rater_name, n.mean) for n in by["matrix"].named] == [("Dana Dept", 5.0), ("Olga Other", 3.0)]
    assert by["matrix"].named[1].comment == "Olga's note"
    assert (by["matrix"].shown, by["matrix"].count, by["matrix"].mean) == (True, 2, 4.0)
    # Peers: three answers, shown as means only, comments sorted by text.
    peers = by["peer"]
    assert (peers.anonymous, peers.shown, peers.count, peers.named) == (True, True, 3, [])
    assert peers.means["communication"] == pytest.approx((2 + 4 + 5) / 3)
    assert peers.means["leadership"] == pytest.approx(3.0)
    assert peers.mean == pytest.approx((2 + 4 + 3.4) / 3)
    assert peers.comments == [("", "Apple pie"), ("", "zebra crossing"), ("Communication", "mango")]
    # Too few (one customer): not shown, not even how many.
    group = by["customer"]
    assert (group.anonymous, group.shown, group.count, group.means, group.mean, group.comments, group.named) == (
        True, False, None, {}, None, [], [])
    assert "Customer secret" not in repr(results)


def test_an_anonymous_group_asked_but_not_answered_is_listed_as_not_shown(org, answered):
    cycle = answered.cycle
    mike = appraisal_of(cycle, org.mike)
    fb.feedback_requests_approve_all(user=org.dana, appraisal=mike)  # his reports, suggested at launch
    # Dana's reports were suggested too; rejected, so nobody was asked about her as a manager.
    for request in FeedbackRequest.objects.filter(cycle=cycle, appraisal__person=org.dana, status=S.PROPOSED):
        fb.feedback_request_decide(user=org.dirk, request=request, approve=False)
    set_phase(cycle, "appraisal")
    groups = {g.relationship: g for g in fb.feedback_results(appraisal_of(cycle, org.mike)).groups}
    assert (groups["subordinate"].shown, groups["subordinate"].count) == (False, None)
    relationships = [g.relationship for g in fb.feedback_results(appraisal_of(cycle, org.dana)).groups]
    assert "subordinate" not in relationships and "peer" not in relationships


def test_the_360_score_is_the_mean_of_the_shown_groups_without_self(answered):
    set_phase(answered.cycle, "appraisal")
    results = results_of(answered)
    # supervisor 4, matrix (5 + 3) / 2, peers (2 + 4 + 3.4) / 3; self (5) and the hidden customer (1) left out.
    expected = 20 * (4 + 4 + (2 + 4 + 3.4) / 3) / 3
    assert results.score == pytest.approx(expected)
    assert fb.feedback_score(answered) == pytest.approx(expected)
    assert fb.feedback_scores(answered.cycle, [answered.pk]) == {answered.pk: pytest.approx(expected)}


def test_an_anonymous_group_is_shown_from_the_threshold_up(org, team):
    cycle = launch(org, anonymity_threshold=4)
    for peer in (org.bob, *team[:2]):  # Bob, Eve and Fay, suggested at launch
        request = request_of(cycle, org.alice, peer)
        fb.feedback_request_decide(user=org.mike, request=request, approve=True)
        submit(request, 4)
    submit(request_of(cycle, org.alice, org.mike), 2)
    set_phase(cycle, "appraisal")
    # Three answers under a threshold of 4: hidden, and left out of the score.
    results = fb.feedback_results(appraisal_of(cycle, org.alice))
    peers = next(g for g in results.groups if g.relationship == "peer")
    assert (peers.shown, peers.count, peers.mean, peers.means) == (False, None, None, {})
    assert results.score == pytest.approx(40.0)
    # The same answers under the default threshold of 3: shown, and counted.
    ReviewCycle.objects.filter(pk=cycle.pk).update(anonymity_threshold=3)
    results = fb.feedback_results(appraisal_of(cycle, org.alice))
    peers = next(g for g in results.groups if g.relationship == "peer")
    assert (peers.shown, peers.count, peers.mean) == (True, 3, 4.0)
    assert results.score == pytest.approx(20 * (2 + 4) / 2)


def test_no_score_without_answers_from_others(org, cycle):
    submit(request_of(cycle, org.alice, org.alice), 5)
    set_phase(cycle, "appraisal")
    assert fb.feedback_results(appraisal_of(cycle, org.alice)).score is None
    assert fb.feedback_scores(cycle, [appraisal_of(cycle, org.bob).pk]) == {appraisal_of(cycle, org.bob).pk: None}


def test_competency_labels_follow_the_language():
    question = {"code": "communication", "name": "Communication", "name_zh": "沟通能力",
                "description": "Listens", "description_zh": "倾听"}
    assert (fb.question_label(question), fb.question_description(question)) == ("Communication", "Listens")
    with translation.override("zh-hans"):
        assert (fb.question_label(question), fb.question_description(question)) == ("沟通能力", "倾听")
        assert fb.question_label({"code": "x", "name": "Only English"}) == "Only English"


# -------------------------------------------------------- who was asked


def test_appraisal_requests_mask_whether_anonymous_raters_answered(org, answered, team):
    cycle = answered.cycle
    gus, hal = team[2], team[3]
    add(cycle, org.alice, "peer", hal, by=org.mike)  # asked, not answered
    add(cycle, org.alice, "peer", org.carl, by=org.alice)  # awaiting approval
    fb.feedback_request_decide(user=org.mike, request=add(cycle, org.alice, "peer", gus, by=org.alice).request,
                               approve=False)
    rows = fb.appraisal_requests(answered)
    assert [(r.relationship, r.rater_name, r.status, r.anonymous) for r in rows] == [
        ("self", "Alice Agent", "submitted", False),
        ("supervisor", "Mike Manager", "submitted", False),
        ("matrix", "Dana Dept", "submitted", False),
        ("matrix", "Olga Other", "submitted", False),
        ("peer", "Bob Peer", "asked", True),
        ("peer", "Carl Two", "proposed", True),
        ("peer", "Eve Four", "asked", True),
        ("peer", "Fay Five", "asked", True),
        ("peer", "Gus Six", "rejected", True),
        ("peer", "Hal Seven", "asked", True),
        ("customer", "Acme", "asked", True),
    ]
    assert {r.status_label for r in rows if r.status == "asked"} == {"Asked"}
    # In relationship and name order, not in the order asked or answered.
    assert [r.pk for r in rows] != sorted(r.pk for r in rows)


def test_appraisal_requests_take_one_query_and_results_two(answered, django_assert_num_queries):
    with django_assert_num_queries(1):
        fb.appraisal_requests(answered)
    set_phase(answered.cycle, "appraisal")
    appraisal = appraisal_of(answered.cycle, answered.person)
    with django_assert_num_queries(2):  # the relationships asked, the answers
        fb.feedback_results(appraisal)


# --------------------------------------------------------------- completion


def test_completion_counts_per_unit_of_the_appraisees(org, cycle):
    submit(request_of(cycle, org.alice, org.alice), 4)
    fb.feedback_request_decide(user=org.mike, request=request_of(cycle, org.alice, org.bob), approve=True)
    rows = fb.cycle_feedback_completion(cycle)
    assert [(r.code, r.proposed, r.asked, r.answered, r.percent) for r in rows] == [
        # Dana alone in D1: fewer appraisees than the threshold (3), so no answered count at all.
        ("D1", 2, 2, None, None),  # Dana: herself and Dirk asked; Mike and Carl suggested
        ("T1", 3, 7, 1, 14),  # Mike, Alice, Bob: 3 selves, 3 supervisors, Bob on Alice; 1 answered
        ("T2", 0, 2, None, None),  # Carl alone: himself and Dana
    ]
    total = fb.completion_total(rows)  # over the units shown only: no difference reveals a hidden one
    assert (total.proposed, total.asked, total.answered) == (3, 7, 1)
    only_t2 = fb.cycle_feedback_completion(cycle, Appraisal.objects.filter(cycle=cycle, unit=org.t2))
    assert [(r.code, r.asked) for r in only_t2] == [("T2", 2)]
    # An appraisee never counts their own raters: Alice's three requests (two asked, answered one) left out.
    seen_by_alice = {r.code: (r.proposed, r.asked, r.answered) for r in fb.cycle_feedback_completion(
        cycle, viewer=org.alice)}
    # Without her own appraisal T1 holds two appraisees: below the threshold, its answers are not counted.
    assert seen_by_alice["T1"] == (3, 4, None)


def test_completion_takes_one_query(org, cycle, django_assert_num_queries):
    with django_assert_num_queries(1):
        fb.cycle_feedback_completion(cycle)


# --------------------------------------------------------------- reminders


@pytest.fixture
def due_soon(org, cycle) -> ReviewCycle:
    """The 360 phase, its deadline in 24 hours; Alice has answered herself; a customer is still to answer."""
    now = timezone.now()
    submit(request_of(cycle, org.alice, org.alice), 4)
    add(cycle, org.alice, "customer", by=org.mike, external_name="Acme", external_email="buyer@acme.example")
    return set_phase(cycle, "feedback", self_assessment_due=now - DAY, feedback_due=now + 24 * HOUR)


def test_raters_with_open_requests_are_reminded_once_near_the_360_deadline(org, due_soon):
    assert fb.feedback_reminders_send() == 5
    assert sorted(m.to[0] for m in mail.outbox) == [
        "bob@example.com", "carl@example.com", "dana@example.com", "dirk@example.com", "mike@example.com"]
    mike = next(m for m in mail.outbox if m.to == ["mike@example.com"])
    assert mike.subject == f"360 feedback due soon: {due_soon.name}"
    assert "You have 3 unanswered 360 feedback requests" in mike.body and "/reviews/feedback/" in mike.body
    dirk = next(m for m in mail.outbox if m.to == ["dirk@example.com"])
    assert "You have 1 unanswered 360 feedback request " in dirk.body
    # Once per cycle and rater: a second run, or the hourly task, sends nothing more.
    assert fb.feedback_reminders_send() == 0
    assert send_review_reminders_task.delay().get() == 0
    assert len(mail.outbox) == 5
    assert FeedbackReminder.objects.filter(cycle=due_soon).count() == 5


def test_requests_awaiting_approval_and_answered_ones_do_not_remind(org, due_soon):
    FeedbackRequest.objects.filter(cycle=due_soon, status=S.OPEN).exclude(rater=org.bob).update(status=S.SUBMITTED)
    assert fb.feedback_reminders_send() == 1 and mail.outbox[0].to == ["bob@example.com"]


def test_the_hourly_task_sends_360_reminders_too(due_soon):
    assert send_review_reminders_task.delay().get() == 5


def test_nobody_is_reminded_too_early_too_late_or_outside_the_360_window(org, due_soon, settings):
    now = timezone.now()
    settings.REVIEW_REMINDER_HOURS = 12
    assert fb.feedback_reminders_send(now=now) == 0  # the deadline is 24 hours away
    assert fb.feedback_reminders_send(now=now + 25 * HOUR) == 0  # past it
    set_phase(due_soon, "appraisal")
    assert fb.feedback_reminders_send(now=now, hours_before=48) == 0
    set_phase(due_soon, "feedback")
    Appraisal.objects.filter(cycle=due_soon).update(status=Appraisal.Status.CLOSED)
    assert fb.feedback_reminders_send(now=now, hours_before=48) == 0
    assert mail.outbox == []


def test_customers_inactive_people_and_people_without_email_are_not_reminded(org, due_soon):
    Person.objects.filter(employee_code="DIRK").update(is_active=False)
    Person.objects.filter(employee_code="CARL").update(email="")
    assert fb.feedback_reminders_send() == 3
    assert "buyer@acme.example" not in [m.to[0] for m in mail.outbox]


def test_a_failed_reminder_is_not_recorded_and_is_tried_again(due_soon, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(fb, "email_send", broken)
    # Each failure is logged and skipped (the others are still tried); nothing is recorded.
    assert fb.feedback_reminders_send() == 0
    assert FeedbackReminder.objects.count() == 0
    monkeypatch.undo()
    assert fb.feedback_reminders_send() == 5 and len(mail.outbox) == 5


def test_reminders_take_one_query_plus_each_insert(due_soon, django_assert_num_queries):
    """Expect 1 query (raters due, with their count) and, per reminder, savepoint + INSERT + release."""
    with django_assert_num_queries(1 + 3 * 5):
        assert fb.feedback_reminders_send() == 5
    with django_assert_num_queries(1):
        assert fb.feedback_reminders_send() == 0


# ---------------------------------------------- the 360 score in the appraisal


def manager_save(cycle, person, manager, score: int) -> Appraisal:
    appraisal = appraisal_of(cycle, person)
    return appraisal_services.appraisal_manager_save(
        user=manager, appraisal=appraisal, competencies={c: {"score": score} for c in CODES})


def test_the_360_score_counts_in_the_manager_appraisal_once_results_are_available(org):
    cycle = launch(org, weight_objectives=60, weight_competencies=20, weight_feedback=20)
    submit(request_of(cycle, org.alice, org.mike), 5)  # the supervisor: shown by name → 100
    submit(request_of(cycle, org.alice, org.alice), 1)  # herself: never in the score
    a = manager_save(cycle, org.alice, org.mike, 4)  # while the 360 is going on: not yet
    assert (a.competencies_score, a.feedback_score, a.overall_score) == (80.0, None, 80.0)
    set_phase(cycle, "appraisal")
    a = manager_save(cycle, org.alice, org.mike, 4)
    assert a.feedback_score == pytest.approx(100.0)
    assert a.overall_score == pytest.approx((80 * 20 + 100 * 20) / 40)  # no objectives: they drop out
    stored = Appraisal.objects.get(pk=a.pk)
    assert (stored.feedback_score, stored.overall_score) == (pytest.approx(100.0), pytest.approx(90.0))


def test_the_360_score_does_not_count_when_its_weight_is_0(org, cycle):
    submit(request_of(cycle, org.alice, org.mike), 5)
    set_phase(cycle, "appraisal")
    a = manager_save(cycle, org.alice, org.mike, 4)
    assert (a.feedback_score, a.overall_score) == (None, 80.0)


# ----------------------------------------------------------- questionnaires


def test_hr_and_directors_create_questionnaires_with_competencies_in_the_order_given(org):
    template = questionnaires.questionnaire_save(
        user=org.hana, name=" Agents ", name_zh="坐席", description=" For agents ",
        competency_codes=["leadership", " communication", "leadership", ""])
    assert (template.name, template.name_zh, template.description) == ("Agents", "坐席", "For agents")
    assert list(template.items.values_list("competency__code", flat=True)) == ["leadership", "communication"]
    edited = questionnaires.questionnaire_save(user=org.dirk, template=template, name="Agents",
                                               competency_codes=["customer_focus"])
    assert edited.pk == template.pk
    assert list(template.items.values_list("competency__code", flat=True)) == ["customer_focus"]


@pytest.mark.parametrize("user", ["mike", "alice"])
def test_others_cannot_edit_questionnaires(org, user):
    before = FeedbackTemplate.objects.count()
    with pytest.raises(PermissionDenied):
        questionnaires.questionnaire_save(user=getattr(org, user), name="Mine", competency_codes=["leadership"])
    assert FeedbackTemplate.objects.count() == before


def test_a_questionnaire_is_refused_by_field_and_nothing_is_saved(org):
    Competency.objects.filter(code="administration").update(active=False)
    default = FeedbackTemplate.objects.get(is_default=True)
    items = list(default.items.values_list("competency__code", flat=True))
    with pytest.raises(ValidationError) as exc:
        questionnaires.questionnaire_save(user=org.hana, template=default, name=" ", competency_codes=[],
                                          is_default=True, active=False)
    assert errors(exc) == {"name": [str(questionnaires.NAME_REQUIRED)],
                           "competencies": [str(questionnaires.NO_COMPETENCIES)],
                           "is_default": [str(questionnaires.DEFAULT_MUST_BE_ACTIVE)]}
    with pytest.raises(ValidationError) as exc:
        questionnaires.questionnaire_save(user=org.hana, template=default, name="X",
                                          competency_codes=["leadership", "nope", "administration"])
    assert errors(exc) == {"competencies": [str(questionnaires.UNKNOWN_COMPETENCIES % {
        "codes": "nope, administration"})]}
    default.refresh_from_db()
    assert (default.name, default.is_default, default.active) == ("Standard 360 questionnaire", True, True)
    assert list(default.items.values_list("competency__code", flat=True)) == items


def test_there_is_one_default_questionnaire(org):
    old = FeedbackTemplate.objects.get(is_default=True)
    new = questionnaires.questionnaire_save(user=org.hana, name="New default", competency_codes=["leadership"],
                                            is_default=True)
    assert list(FeedbackTemplate.objects.filter(is_default=True)) == [new]
    assert fb.default_template() == new
    old.refresh_from_db()
    assert not old.is_default and old.active
    questionnaires.questionnaire_save(user=org.hana, template=new, name="New default", competency_codes=["leadership"],
                                      is_default=False)
    assert not FeedbackTemplate.objects.filter(is_default=True).exists()
    assert fb.default_template() is not None  # the first in use, by name


def test_everyone_signed_in_reads_the_questionnaires(org):
    from django.contrib.auth.models import AnonymousUser

    default = FeedbackTemplate.objects.get(is_default=True)
    assert questionnaires.questionnaire_get(org.alice, default.pk) == default
    assert not questionnaires.questionnaires_visible(AnonymousUser()).exists()
    with pytest.raises(Http404):
        questionnaires.questionnaire_get(org.alice, 10**6)


# ------------------------------------------------------- asked again after a rejection


def test_a_rejected_rater_can_be_asked_again_on_the_same_row(org, cycle):
    bob_on_alice = request_of(cycle, org.alice, org.bob)  # suggested peer
    fb.feedback_request_decide(user=org.mike, request=bob_on_alice, approve=False)
    assert request_of(cycle, org.alice, org.bob).status == "rejected"
    arranged = add(cycle, org.alice, "peer", org.bob, by=org.mike)
    again = request_of(cycle, org.alice, org.bob)
    assert arranged.request.pk == again.pk == bob_on_alice.pk
    assert (again.status, again.origin, again.proposed_by) == ("open", "added", org.mike)
    # Asked (not rejected) raters are still refused a second request.
    with pytest.raises(ValidationError) as exc:
        add(cycle, org.alice, "peer", org.bob, by=org.mike)
    assert "already asked" in str(exc.value.message_dict["rater"])
    assert FeedbackRequest.objects.filter(appraisal__person=org.alice, rater=org.bob).count() == 1
