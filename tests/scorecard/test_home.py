"""The home page: each role's to-do list, the count in the navigation, the API, and constant queries."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from goals.models import CheckIn, Objective
from reviews import services as review_services
from reviews.models import Appraisal, ReviewCycle, default_scale
from scorecard.models import Kpi
from scorecard.todos import SHOWN_ITEMS

from ..base import PASSWORD

Q = (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
PAST = (dt.date(2026, 4, 1), dt.date(2026, 6, 30))


def _login(client, person):
    assert client.login(username=person.employee_code, password=PASSWORD)
    return client


def proposal(owner, title="Raise first-contact resolution", *, period=Q, status=Objective.Status.PROPOSED):
    return Objective.objects.create(
        owner_person=owner, period_start=period[0], period_end=period[1], title=title,
        kind=Objective.Kind.KPI, kpi=Kpi.objects.get(code="fcr"), baseline=70.0, target=75.0, stretch=80.0,
        weight=50.0, due_date=period[1], status=status, created_by=owner,
    )


def launched_cycle(org, *, units=None) -> ReviewCycle:
    first = timezone.now() + dt.timedelta(days=3)
    step = dt.timedelta(days=7)
    cycle = review_services.cycle_create(
        user=org.hana, name="Q3 2026 appraisal", period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 9, 30),
        units=units or [org.d1], scale=default_scale(), weight_objectives=70, weight_competencies=30,
        weight_feedback=0, self_assessment_due=first, feedback_due=first + step, appraisal_due=first + 2 * step,
        calibration_due=first + 3 * step,
    )
    review_services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    return cycle


def todo_keys(response) -> dict[str, int]:
    return {t.key: t.count for t in response.context["todos"]}


def test_home_sends_anonymous_visitors_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_manager_sees_the_proposal_of_his_agent_to_agree(client, org):
    o = proposal(org.alice)

    response = _login(client, org.mike).get("/")

    assert response.status_code == 200
    assert todo_keys(response)["proposals"] == 1
    assert reverse("objective-detail", args=[o.pk]) in response.text
    assert "Proposed objectives to agree" in response.text


def test_manager_of_another_department_sees_no_proposal_of_hers(client, org):
    proposal(org.alice)

    response = _login(client, org.olga).get("/")

    assert "proposals" not in todo_keys(response)


def test_agent_does_not_agree_her_own_proposal(client, org):
    proposal(org.alice)

    response = _login(client, org.alice).get("/")

    assert "proposals" not in todo_keys(response)
    assert "Nothing waits for you" in response.text


def test_ended_objectives_and_unanswered_checkins_wait_for_the_manager(client, org):
    ended = proposal(org.alice, "Old quarter", period=PAST, status=Objective.Status.ACTIVE)
    active = proposal(org.bob, "This quarter", status=Objective.Status.ACTIVE)
    CheckIn.objects.create(objective=active, author=org.bob, progress_note="Halfway")
    CheckIn.objects.create(objective=active, author=org.bob, progress_note="Answered", reply="Good")

    response = _login(client, org.mike).get("/")

    keys = todo_keys(response)
    assert keys["period-ended"] == 1 and keys["checkins"] == 1
    assert reverse("objective-detail", args=[ended.pk]) in response.text
    row = next(t for t in response.context["todos"] if t.key == "period-ended")
    assert row.late  # an ended period is overdue by definition
    assert "?status=ended" in row.url


def test_self_assessment_and_appraisals_to_write_from_a_launched_cycle(client, org):
    cycle = launched_cycle(org)

    alice = todo_keys(_login(client, org.alice).get("/"))
    client.logout()
    mike = todo_keys(_login(client, org.mike).get("/"))

    assert alice["self-assessment"] == 1
    assert mike["appraisals"] == Appraisal.objects.filter(cycle=cycle, manager=org.mike).count() > 0
    assert "appraisals" not in alice


def test_hr_sees_the_cycle_under_way_and_an_agent_does_not(client, org):
    launched_cycle(org)

    hr = todo_keys(_login(client, org.hana).get("/"))
    client.logout()
    agent = todo_keys(_login(client, org.alice).get("/"))

    assert hr["cycles"] == 1
    assert "cycles" not in agent


def test_todo_count_answers_json_and_needs_a_login(client, org):
    proposal(org.alice)
    proposal(org.bob)

    assert client.get(reverse("todo-count")).status_code == 302
    response = _login(client, org.mike).get(reverse("todo-count"))

    assert response.json() == {"count": 2}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_todo_api_lists_the_users_rows(client, org):
    proposal(org.alice)

    assert client.get("/api/v1/todo/").status_code in (401, 403)
    rows = _login(client, org.mike).get("/api/v1/todo/").json()

    assert [(r["key"], r["count"]) for r in rows] == [("proposals", 1)]
    assert rows[0]["items"][0]["url"].startswith("/goals/objectives/")


def test_home_lists_a_few_objects_and_links_to_all(client, org):
    for n in range(SHOWN_ITEMS + 2):
        proposal(org.alice, f"Objective {n}")

    response = _login(client, org.mike).get("/")

    row = next(t for t in response.context["todos"] if t.key == "proposals")
    assert row.count == SHOWN_ITEMS + 2 and len(row.items) == SHOWN_ITEMS
    assert f"See all {SHOWN_ITEMS + 2}" in response.text


@pytest.mark.parametrize("size", [3, 30])
def test_home_queries_stay_constant_as_work_grows(client, org, django_assert_max_num_queries, size):
    launched_cycle(org)
    for n in range(size):
        o = proposal(org.alice, f"Objective {n}")
        CheckIn.objects.create(objective=o, author=org.alice, progress_note="So far")
        proposal(org.bob, f"Past {n}", period=PAST, status=Objective.Status.ACTIVE)
    _login(client, org.mike)

    # session + user (2), the unit path (1), goals: proposals, ended, check-ins, contracts (each 1 + 1 count),
    # reviews: four appraisal rows, 360 forms, raters (each 1 + 1 count), home code (0-1).
    with django_assert_max_num_queries(23):
        response = client.get("/")
    assert response.status_code == 200


def test_home_in_chinese(client, org):
    proposal(org.alice)
    _login(client, org.mike)
    client.cookies["django_language"] = "zh-hans"

    response = client.get("/")

    assert "待办" in response.text


def test_360_forms_on_the_home_say_who_is_rated_and_as_what_the_user_rates(client, org):
    # "Alice — Peer" read as if Alice were the peer, and one's own self-rating showed one's own name.
    from tests.reviews.test_feedback_pages import appraisal_of, approve_all, open_cycle

    cycle = open_cycle(org)
    approve_all(org, appraisal_of(cycle, org.alice))
    approve_all(org, appraisal_of(cycle, org.bob))

    todos = {t.key: t for t in _login(client, org.bob).get("/").context["todos"]}

    items = {(i.label, i.note) for i in todos["feedback"].items}
    assert ("Alice Agent", "you rate as: Peer") in items
    assert ("Yourself", "you rate as: Self") in items
