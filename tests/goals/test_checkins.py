"""Check-ins and replies: who may record and answer them, on which objectives, and what input is refused.

Named users (tests/base.py): Alice (agent, T1), Bob (her peer), Mike (manages
T1), Dana (manages D1, above T1), Olga (manages T3 in D2), Hana (HR), Dirk.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from goals import checkins
from goals.models import CheckIn, Objective
from scorecard.models import Kpi, Person

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
S = Objective.Status


def make_objective(owner, *, status=S.ACTIVE, kind=Objective.Kind.MILESTONE, title="Launch the new FAQ", by=None):
    """An objective stored directly (the objective services have their own tests)."""
    values = dict(
        period_start=Q3[0], period_end=Q3[1], due_date=Q3[1], title=title, kind=kind, status=status,
    )
    values["created_by"] = by or (owner if hasattr(owner, "employee_code") else Person.objects.get(employee_code="DIRK"))
    if kind == Objective.Kind.MILESTONE:
        values.update(completion_criterion="FAQ published", verification="Link in the knowledge base")
    else:
        values.update(kpi=Kpi.objects.get(code="fcr"), baseline=70, target=74, stretch=78)
    if hasattr(owner, "employee_code"):
        values["owner_person"] = owner
    else:
        values["owner_unit"] = owner
    return Objective.objects.create(**values)


def check_in(user, objective, **overrides):
    values = dict(progress_note="Drafted half of the answers", obstacles="", help_needed="", next_steps="")
    values.update(overrides)
    return checkins.checkin_create(user=user, objective=objective, **values)


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# ------------------------------------------------------------------ service


def test_owner_checks_in_on_their_own_objective(org):
    o = make_objective(org.alice)

    c = check_in(org.alice, o, obstacles="No time in peak hours", help_needed="An hour off the phone",
                 next_steps="Finish billing answers")

    assert c.author == org.alice and c.objective == o
    assert (c.obstacles, c.help_needed, c.next_steps) == (
        "No time in peak hours", "An hour off the phone", "Finish billing answers")


@pytest.mark.parametrize("who", ["mike", "dana", "hana", "dirk"])
def test_the_owners_managers_check_in_too(org, who):
    o = make_objective(org.alice)

    c = check_in(getattr(org, who), o)

    assert c.author == getattr(org, who)


@pytest.mark.parametrize("who", ["bob", "olga", "carl"])
def test_peers_and_other_managers_cannot_check_in(org, who):
    o = make_objective(org.alice)

    with pytest.raises(ValidationError) as excinfo:
        check_in(getattr(org, who), o)

    assert errors_of(excinfo) == {"progress_note": [str(checkins.NOT_OWNER_OR_MANAGER)]}
    assert not CheckIn.objects.exists()


def test_a_unit_objective_is_checked_in_by_the_units_manager_and_those_above(org):
    o = make_objective(org.t1)

    check_in(org.mike, o)
    check_in(org.dana, o)
    with pytest.raises(ValidationError):
        check_in(org.alice, o)  # an agent of the team is not its owner
    with pytest.raises(ValidationError):
        check_in(org.olga, o)

    assert o.checkins.count() == 2


def test_a_milestone_check_in_updates_the_objectives_progress(org):
    o = make_objective(org.alice)

    check_in(org.alice, o, progress=40)
    check_in(org.mike, o, progress="65.5")

    o.refresh_from_db()
    assert o.progress == 65.5
    assert list(o.checkins.values_list("progress", flat=True)) == [65.5, 40]


def test_a_check_in_without_a_percentage_leaves_the_progress_alone(org):
    o = make_objective(org.alice)
    check_in(org.alice, o, progress=40)

    check_in(org.alice, o)

    o.refresh_from_db()
    assert o.progress == 40


def test_the_progress_update_is_not_a_revision_in_the_objectives_history(org):
    o = make_objective(org.alice)
    before = o.history.count()

    check_in(org.alice, o, progress=40)

    assert o.history.count() == before


@pytest.mark.parametrize("progress", [-1, 100.5, "abc", float("nan")])
def test_progress_outside_0_to_100_is_refused(org, progress):
    o = make_objective(org.alice)

    with pytest.raises(ValidationError) as excinfo:
        check_in(org.alice, o, progress=progress)

    assert errors_of(excinfo) == {"progress": [str(checkins.PROGRESS_RANGE)]}
    assert not CheckIn.objects.exists()
    o.refresh_from_db()
    assert o.progress is None


def test_a_kpi_objective_takes_no_percentage(org):
    o = make_objective(org.alice, kind=Objective.Kind.KPI)

    with pytest.raises(ValidationError) as excinfo:
        check_in(org.alice, o, progress=50)

    assert errors_of(excinfo) == {"progress": [str(checkins.PROGRESS_MILESTONE_ONLY)]}
    assert check_in(org.alice, o).progress is None  # without one it is fine


def test_a_check_in_needs_a_progress_note(org):
    o = make_objective(org.alice)

    with pytest.raises(ValidationError) as excinfo:
        check_in(org.alice, o, progress_note="   ")

    assert errors_of(excinfo) == {"progress_note": [str(checkins.NOTE_REQUIRED)]}


@pytest.mark.parametrize("status", [S.DRAFT, S.PROPOSED, S.CANCELLED, S.ACHIEVED, S.MISSED])
def test_check_ins_on_objectives_not_agreed_or_active_are_refused(org, status):
    o = make_objective(org.alice, status=status)

    with pytest.raises(ValidationError) as excinfo:
        check_in(org.mike, o)

    message = str(checkins.WRONG_STATUS % {"status": o.get_status_display()})
    assert errors_of(excinfo) == {"progress_note": [message]}
    assert not CheckIn.objects.exists()


def test_agreed_objectives_take_check_ins(org):
    o = make_objective(org.alice, status=S.AGREED)

    assert check_in(org.alice, o).pk


# -------------------------------------------------------------------- reply


def test_the_manager_replies_to_the_agents_check_in(org):
    c = check_in(org.alice, make_objective(org.alice))

    checkins.checkin_reply(user=org.mike, checkin=c, reply="  Take Thursday morning off the phone.  ")

    c.refresh_from_db()
    assert (c.reply, c.replied_by, c.replied_at is not None) == ("Take Thursday morning off the phone.", org.mike, True)


def test_agent_cannot_reply_to_own_check_in(org):
    c = check_in(org.alice, make_objective(org.alice))

    with pytest.raises(ValidationError) as excinfo:
        checkins.checkin_reply(user=org.alice, checkin=c, reply="Noted")

    assert errors_of(excinfo) == {"reply": [str(checkins.NOT_REPLIER)]}
    c.refresh_from_db()
    assert c.reply == "" and c.replied_by is None


def test_a_manager_cannot_reply_to_their_own_check_in_but_their_manager_can(org):
    c = check_in(org.mike, make_objective(org.alice))

    with pytest.raises(ValidationError):
        checkins.checkin_reply(user=org.mike, checkin=c, reply="Self-praise")
    checkins.checkin_reply(user=org.dana, checkin=c, reply="Good catch")

    c.refresh_from_db()
    assert c.replied_by == org.dana


@pytest.mark.parametrize("who", ["bob", "olga"])
def test_peers_and_other_managers_cannot_reply(org, who):
    c = check_in(org.alice, make_objective(org.alice))

    with pytest.raises(ValidationError):
        checkins.checkin_reply(user=getattr(org, who), checkin=c, reply="Hi")


def test_on_a_unit_objective_the_unit_manager_is_the_owner_and_the_department_manager_replies(org):
    c = check_in(org.mike, make_objective(org.t1))

    with pytest.raises(ValidationError):
        checkins.checkin_reply(user=org.mike, checkin=c, reply="Me again")
    checkins.checkin_reply(user=org.dana, checkin=c, reply="Let's talk on Monday")


def test_an_empty_reply_is_refused(org):
    c = check_in(org.alice, make_objective(org.alice))

    with pytest.raises(ValidationError) as excinfo:
        checkins.checkin_reply(user=org.mike, checkin=c, reply=" ")

    assert errors_of(excinfo) == {"reply": [str(checkins.REPLY_REQUIRED)]}


# -------------------------------------------------------------------- pages


def test_owner_records_a_check_in_on_the_page(client, org):
    o = make_objective(org.alice)
    client.force_login(org.alice)

    response = client.post(reverse("checkin-create", args=[o.pk]), {"progress_note": "Half done", "progress": "50"})

    assert response.status_code == 302
    assert response["Location"] == reverse("objective-checkins", args=[o.pk])
    o.refresh_from_db()
    assert o.progress == 50
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Half done" in page.content.decode()


def test_the_check_in_form_page_shows_the_fields(client, org):
    o = make_objective(org.alice)
    client.force_login(org.mike)

    response = client.get(reverse("checkin-create", args=[o.pk]))

    assert response.status_code == 200
    for name in ("progress_note", "progress", "obstacles", "help_needed", "next_steps"):
        assert f'name="{name}"' in response.content.decode()


def test_bad_input_on_the_page_answers_400_with_field_messages_and_saves_nothing(client, org):
    o = make_objective(org.alice)
    client.force_login(org.alice)

    response = client.post(reverse("checkin-create", args=[o.pk]), {"progress_note": "", "progress": "150"})

    assert response.status_code == 400
    form = response.context["form"]
    assert "progress" in form.errors
    assert not CheckIn.objects.exists()


def test_a_refused_status_on_the_page_answers_400_with_the_reason(client, org):
    o = make_objective(org.alice, status=S.CANCELLED)
    client.force_login(org.alice)

    response = client.post(reverse("checkin-create", args=[o.pk]), {"progress_note": "Too late"})

    assert response.status_code == 400
    assert str(checkins.WRONG_STATUS % {"status": o.get_status_display()}) in response.content.decode()
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("who", ["bob", "olga"])
def test_peers_and_other_managers_get_404_on_the_pages(client, org, who):
    o = make_objective(org.alice)
    c = check_in(org.alice, o)
    client.force_login(getattr(org, who))

    assert client.get(reverse("objective-checkins", args=[o.pk])).status_code == 404
    assert client.get(reverse("checkin-create", args=[o.pk])).status_code == 404
    assert client.post(reverse("checkin-create", args=[o.pk]), {"progress_note": "x"}).status_code == 404
    assert client.post(reverse("checkin-reply", args=[c.pk]), {"reply": "x"}).status_code == 404
    assert CheckIn.objects.count() == 1


def test_manager_replies_on_the_page(client, org):
    c = check_in(org.alice, make_objective(org.alice))
    client.force_login(org.mike)

    response = client.post(reverse("checkin-reply", args=[c.pk]), {"reply": "Well done"})

    assert response.status_code == 302
    c.refresh_from_db()
    assert c.reply == "Well done"


def test_agent_replying_to_own_check_in_on_the_page_gets_400(client, org):
    c = check_in(org.alice, make_objective(org.alice))
    client.force_login(org.alice)

    response = client.post(reverse("checkin-reply", args=[c.pk]), {"reply": "Me"})

    assert response.status_code == 400
    assert escape(str(checkins.NOT_REPLIER)) in response.content.decode()
    c.refresh_from_db()
    assert c.reply == ""


def test_the_detail_fragment_shows_the_latest_check_ins_and_the_forms(org):
    o = make_objective(org.alice)
    check_in(org.alice, o, progress_note="First week")
    check_in(org.alice, o, progress_note="Second week")

    as_manager = render_to_string("goals/includes/objective_checkins.html", {"objective": o, "user": org.mike})
    as_owner = render_to_string("goals/includes/objective_checkins.html", {"o": o, "user": org.alice})

    assert "Second week" in as_manager and "First week" in as_manager
    assert reverse("checkin-create", args=[o.pk]) in as_manager
    assert as_manager.count('name="reply"') == 2  # Mike may answer both
    assert 'name="reply"' not in as_owner  # nobody answers their own check-ins
    assert reverse("checkin-create", args=[o.pk]) in as_owner


def test_the_detail_fragment_offers_no_form_on_a_closed_objective(org):
    o = make_objective(org.alice, status=S.ACHIEVED)

    html = render_to_string("goals/includes/objective_checkins.html", {"objective": o, "user": org.alice})

    assert reverse("checkin-create", args=[o.pk]) not in html


# ---------------------------------------------------------------------- API


def test_api_owner_creates_a_check_in(org):
    o = make_objective(org.alice)

    response = api(org.alice).post(
        reverse("api-checkin-list", args=[o.pk]), {"progress_note": "Half", "progress": 50}, format="json"
    )

    assert response.status_code == 201, response.data
    assert response.data["author"] == "ALICE" and response.data["progress"] == 50
    o.refresh_from_db()
    assert o.progress == 50


def test_api_bad_input_answers_400_by_field(org):
    o = make_objective(org.alice, kind=Objective.Kind.KPI)

    response = api(org.alice).post(
        reverse("api-checkin-list", args=[o.pk]), {"progress_note": "", "progress": 5}, format="json"
    )

    assert response.status_code == 400
    assert set(response.data) == {"progress_note", "progress"}
    assert not CheckIn.objects.exists()


def test_api_check_in_on_a_draft_is_refused(org):
    o = make_objective(org.alice, status=S.DRAFT)

    response = api(org.mike).post(reverse("api-checkin-list", args=[o.pk]), {"progress_note": "x"}, format="json")

    assert response.status_code == 400
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("who", ["bob", "olga"])
def test_api_hides_other_peoples_check_ins(org, who):
    o = make_objective(org.alice)
    c = check_in(org.alice, o)
    client = api(getattr(org, who))

    assert client.get(reverse("api-checkin-list", args=[o.pk])).status_code == 404
    assert client.post(reverse("api-checkin-list", args=[o.pk]), {"progress_note": "x"}, format="json").status_code == 404
    assert client.post(reverse("api-checkin-reply", args=[c.pk]), {"reply": "x"}, format="json").status_code == 404


def test_api_reply_by_manager_and_refusal_for_the_author(org):
    c = check_in(org.alice, make_objective(org.alice))

    refused = api(org.alice).post(reverse("api-checkin-reply", args=[c.pk]), {"reply": "me"}, format="json")
    answered = api(org.mike).post(reverse("api-checkin-reply", args=[c.pk]), {"reply": "Good"}, format="json")

    assert refused.status_code == 400 and refused.data == {"reply": [str(checkins.NOT_REPLIER)]}
    assert answered.status_code == 200
    assert (answered.data["reply"], answered.data["replied_by"]) == ("Good", "MIKE")


def test_api_lists_check_ins_newest_first_paginated(org):
    o = make_objective(org.alice)
    for n in range(3):
        check_in(org.alice, o, progress_note=f"week {n}")

    response = api(org.mike).get(reverse("api-checkin-list", args=[o.pk]), {"limit": 2})

    assert response.status_code == 200
    assert response.data["count"] == 3
    assert [r["progress_note"] for r in response.data["results"]] == ["week 2", "week 1"]


@pytest.mark.parametrize("n", [2, 25])
def test_api_check_in_list_takes_the_same_queries_whatever_the_number(org, django_assert_num_queries, n):
    o = make_objective(org.alice)
    for i in range(n):
        c = check_in(org.alice if i % 2 else org.mike, o)
        if i % 2:
            checkins.checkin_reply(user=org.dana, checkin=c, reply="ok")
    client = APIClient()
    client.force_login(org.mike)

    # 6 queries: session, user, objective with its owner, Mike's unit (for the visibility
    # check), the count, and the page with authors and repliers joined.
    with django_assert_num_queries(6):
        response = client.get(reverse("api-checkin-list", args=[o.pk]))

    assert response.status_code == 200 and response.data["count"] == n


def test_the_objective_detail_page_shows_the_check_ins_and_factors(client, org):
    o = make_objective(org.alice)
    check_in(org.alice, o, progress_note="Half the answers drafted")
    checkins.factor_create(user=org.alice, objective=o, name="培训", category="people", controllable=True,
                           influenceable=True, kpi=None, note="")
    client.force_login(org.mike)

    html = client.get(reverse("objective-detail", args=[o.pk])).content.decode()

    assert "Half the answers drafted" in html and 'name="reply"' in html
    assert "培训" in html and reverse("objective-fishbone", args=[o.pk]) in html
