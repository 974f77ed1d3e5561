"""Objective pages: who sees what (404 outside the view), forms, status steps, revisions, query counts."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from goals import services
from goals.forms import OWNER_UNKNOWN
from goals.models import Objective
from scorecard.models import Kpi
from scorecard.periods import quarter_of
from tests.base import make_person

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


def objective(org, owner, user=None, status=Objective.Status.DRAFT, **overrides):
    values = dict(
        owner=owner, period_start=Q3[0], period_end=Q3[1], title=f"FCR of {owner.code}",
        result="Resolve more contacts at first touch", kind="kpi", kpi=Kpi.objects.get(code="fcr"),
        baseline=70, target=74, stretch=78, resources="Coaching", weight=30, due_date=Q3[1], status=status,
    )
    values.update(overrides)
    return services.objective_create(user=user or org.dirk, **values)


def form_data(owner="ALICE", **overrides):
    data = {
        "owner": owner, "period_start": "2026-07-01", "period_end": "2026-09-30", "title": "FCR up",
        "result": "Resolve more at first touch", "kind": "kpi", "kpi": "fcr", "baseline": "70", "target": "74",
        "stretch": "78", "completion_criterion": "", "verification": "", "resources": "Coaching", "weight": "30",
        "due_date": "2026-09-30", "parent": "",
    }
    data.update(overrides)
    return data


def login(client, user):
    client.force_login(user)
    return client


# --------------------------------------------------------------------- list


def test_list_shows_only_the_objectives_the_user_may_see(client, org):
    objective(org, org.alice)
    objective(org, org.bob)
    objective(org, org.carl)

    alice = login(client, org.alice).get(reverse("objective-list")).text
    assert "FCR of ALICE" in alice and "FCR of BOB" not in alice

    client.force_login(org.mike)
    mike = client.get(reverse("objective-list")).text
    assert "FCR of ALICE" in mike and "FCR of BOB" in mike and "FCR of CARL" not in mike

    client.force_login(org.olga)
    assert "FCR of ALICE" not in client.get(reverse("objective-list")).text


def test_list_filters_by_status_kind_perspective_quarter_and_owner(client, org):
    objective(org, org.alice)
    objective(org, org.bob, status=Objective.Status.PROPOSED)
    objective(org, org.t1, kind="milestone", kpi=None, completion_criterion="Script", verification="QA", title="Script")
    objective(org, org.carl, period_start=dt.date(2026, 4, 1), period_end=dt.date(2026, 6, 30),
              due_date=dt.date(2026, 6, 30))
    login(client, org.dirk)
    url = reverse("objective-list")

    assert "FCR of BOB" in client.get(url, {"status": "proposed"}).text
    assert "FCR of ALICE" not in client.get(url, {"status": "proposed"}).text
    assert "Script" in client.get(url, {"kind": "milestone"}).text
    assert "Script" not in client.get(url, {"perspective": "customer"}).text
    assert "FCR of ALICE" in client.get(url, {"perspective": "customer"}).text
    assert "FCR of CARL" in client.get(url, {"period": "2026Q2"}).text
    assert "FCR of ALICE" not in client.get(url, {"owner": "BOB"}).text
    assert client.get(url, {"status": "nonsense"}).status_code == 400


def test_list_query_count_does_not_grow_with_the_data(client, org, django_assert_max_num_queries):
    objective(org, org.alice)
    login(client, org.mike)
    client.get(reverse("objective-list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(reverse("objective-list"))
    for i in range(8):
        person = make_person(f"A{i}", f"Agent {i}", org.t1, "agent", org.mike)
        objective(org, person)
        objective(org, person, kind="milestone", kpi=None, completion_criterion="x", verification="y")
    # Expect: session, user, navigation, perspectives (1), count (1), page (1), the owner picker's units and people (2).
    with django_assert_max_num_queries(len(small)):
        response = client.get(reverse("objective-list"))
    assert response.text.count('href="/goals/objectives/') >= 17


# ------------------------------------------------------------------- create


def test_agent_opens_the_create_form_for_themself(client, org):
    response = login(client, org.alice).get(reverse("objective-create"), {"owner": "ALICE"})

    assert response.status_code == 200
    assert "SMART" in response.text and reverse("objective-smart") in response.text


def test_agent_creates_and_proposes_their_objective(client, org):
    response = login(client, org.alice).post(reverse("objective-create"), {**form_data(), "propose": "1"})

    o = Objective.objects.get()
    assert response.status_code == 302 and response.url == reverse("objective-detail", args=[o.pk])
    assert o.status == Objective.Status.PROPOSED and o.owner == org.alice


@pytest.mark.parametrize("overrides, message", [
    ({"weight": "150"}, services.WEIGHT_RANGE),
    ({"due_date": "2026-10-15"}, "The due date must fall inside the period"),
    ({"target": "68"}, "higher is better"),
    ({"owner": "BOB"}, "Unknown owner"),
])
def test_bad_input_answers_400_with_the_message_and_saves_nothing(client, org, overrides, message):
    response = login(client, org.alice).post(reverse("objective-create"), form_data(**overrides))

    assert response.status_code == 400
    assert str(message) in response.content.decode()
    assert not Objective.objects.exists()


def test_preview_shows_the_smart_check_without_saving(client, org):
    response = login(client, org.alice).post(reverse("objective-create"), {**form_data(baseline=""), "preview": "1"})

    assert response.status_code == 200
    assert "smart-fail" in response.text
    assert not Objective.objects.exists()


def test_smart_fragment_checks_the_form_being_written(client, org):
    response = login(client, org.alice).post(reverse("objective-smart"), form_data(baseline="", resources=""))

    assert response.status_code == 200
    assert "<html" not in response.text
    assert "smart-fail" in response.text and "smart-warn" in response.text


def test_smart_fragment_needs_post(client, org):
    assert login(client, org.alice).get(reverse("objective-smart")).status_code == 405


# ------------------------------------------------------------------- detail


@pytest.mark.parametrize("user", ["bob", "carl", "olga"])
def test_detail_answers_404_outside_the_view(client, org, user):
    o = objective(org, org.alice)

    assert login(client, getattr(org, user)).get(reverse("objective-detail", args=[o.pk])).status_code == 404


def test_detail_shows_fields_smart_steps_timeline_and_progress(client, org):
    parent = objective(org, org.t1, title="Team FCR")
    o = objective(org, org.alice, status=Objective.Status.PROPOSED, parent=parent)

    text = login(client, org.mike).get(reverse("objective-detail", args=[o.pk])).text

    assert "FCR of ALICE" in text and "74%" in text and "Team FCR" in text
    assert 'value="agree"' in text and 'value="return"' in text
    assert "Measurable" in text and "Timeline" in text and "Progress" in text


def test_owner_sees_no_approval_buttons_on_their_proposal(client, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)

    text = login(client, org.alice).get(reverse("objective-detail", args=[o.pk])).text

    assert 'value="agree"' not in text


def test_agent_sees_the_chain_above_without_links_they_may_not_open(client, org):
    team = objective(org, org.t1, title="Team FCR")
    o = objective(org, org.alice, parent=team)

    text = login(client, org.alice).get(reverse("objective-detail", args=[o.pk])).text

    assert "Team FCR" in text
    assert reverse("objective-detail", args=[team.pk]) not in text


# ------------------------------------------------------------- transitions


def test_manager_agrees_a_proposal(client, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)

    response = login(client, org.mike).post(reverse("objective-transition", args=[o.pk]), {"action": "agree"})

    assert response.status_code == 302
    o.refresh_from_db()
    assert o.status == Objective.Status.AGREED


def test_returning_without_a_comment_answers_400_and_saves_nothing(client, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)

    response = login(client, org.mike).post(reverse("objective-transition", args=[o.pk]), {"action": "return"})

    assert response.status_code == 400
    assert str(services.COMMENT_REQUIRED) in response.text
    o.refresh_from_db()
    assert o.status == Objective.Status.PROPOSED


def test_owner_cannot_agree_their_own_proposal(client, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)

    response = login(client, org.alice).post(reverse("objective-transition", args=[o.pk]), {"action": "agree"})

    assert response.status_code == 400
    o.refresh_from_db()
    assert o.status == Objective.Status.PROPOSED


def test_transition_answers_404_outside_the_view(client, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)

    response = login(client, org.olga).post(reverse("objective-transition", args=[o.pk]), {"action": "agree"})

    assert response.status_code == 404


# --------------------------------------------------------------- edit, revise


def test_edit_changes_a_draft(client, org):
    o = objective(org, org.alice, user=org.alice)

    response = login(client, org.alice).post(reverse("objective-edit", args=[o.pk]), form_data(target="75"))

    assert response.status_code == 302
    o.refresh_from_db()
    assert o.target == 75


@pytest.mark.parametrize("user", ["bob", "olga"])
def test_edit_answers_404_outside_the_view(client, org, user):
    o = objective(org, org.alice)

    assert login(client, getattr(org, user)).get(reverse("objective-edit", args=[o.pk])).status_code == 404


def test_edit_of_an_agreed_objective_sends_back_to_the_detail(client, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    services.objective_transition(user=org.mike, objective=o, action="agree")

    response = login(client, org.mike).get(reverse("objective-edit", args=[o.pk]))

    assert response.status_code == 302


def test_revise_page_revises_and_tells_the_owner(client, org, django_capture_on_commit_callbacks):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    services.objective_transition(user=org.mike, objective=o, action="agree")
    login(client, org.mike)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("objective-revise", args=[o.pk]),
                               {"reason": "Queue merged", "baseline": "70", "target": "73", "stretch": "78",
                                "due_date": "2026-09-30"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    text = client.get(reverse("objective-detail", args=[o.pk])).text
    assert "Queue merged" in text and "<del>74</del>" in text


def test_revise_without_a_reason_answers_400(client, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    services.objective_transition(user=org.mike, objective=o, action="agree")

    response = login(client, org.mike).post(reverse("objective-revise", args=[o.pk]),
                                            {"reason": "", "target": "73"})

    assert response.status_code == 400


@pytest.mark.parametrize("user", ["alice", "bob", "olga"])
def test_revise_answers_404_to_who_may_not_revise(client, org, user):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    services.objective_transition(user=org.mike, objective=o, action="agree")

    assert login(client, getattr(org, user)).get(reverse("objective-revise", args=[o.pk])).status_code == 404


def this_quarter() -> dict:
    start, end = quarter_of(timezone.localdate())
    return {"period_start": start, "period_end": end, "due_date": end}


def test_create_form_offers_the_objectives_above_as_parents_never_a_peers(client, org):
    team = objective(org, org.t1, title="Team FCR", **this_quarter())
    center = objective(org, org.center, title="Center FCR", **this_quarter())
    objective(org, org.bob, title="Bob's FCR", **this_quarter())

    text = login(client, org.alice).get(reverse("objective-create"), {"owner": "ALICE"}).text
    assert "Team FCR" in text and "Center FCR" in text and "Bob&#x27;s FCR" not in text

    client.force_login(org.dirk)
    text = client.get(reverse("objective-create"), {"owner": "T1"}).text
    assert f'value="{center.pk}"' in text and f'value="{team.pk}"' not in text


def parent_values(html: str) -> set[int]:
    select = html[html.index('name="parent"'):]
    select = select[:select.index("</select>")]
    return {int(v) for v in re.findall(r'value="(\d+)"', select)}


def test_a_team_objective_can_hang_under_its_departments_objective(client, org):
    """The "Parent objective" list of a team objective offers the department's and center's objectives
    of an overlapping period, whoever writes it (it was empty for a team manager)."""
    department = objective(org, org.d1, title="Department FCR", **this_quarter())
    center = objective(org, org.center, title="Center FCR", **this_quarter())
    objective(org, org.d1, title="Last year's FCR")  # Q3 2026: another period
    objective(org, org.d2, title="The other department's FCR", **this_quarter())
    objective(org, org.t1, title="The team's own FCR", **this_quarter())

    for user in (org.mike, org.dana, org.dirk):
        html = login(client, user).get(reverse("objective-create"), {"owner": "T1"}).text
        assert parent_values(html) == {department.pk, center.pk}, user

    # The manager's form opens on his own team: the list is filled before he types anything.
    html = login(client, org.mike).get(reverse("objective-create")).text
    assert 'value="Team One (T1)"' in html and parent_values(html) == {department.pk, center.pk}

    # What the page asks for when the owner or the period changes (goals.js).
    quarter = this_quarter()
    fragment = client.get(reverse("objective-parent-options"), {
        "owner": "Team One (T1)", "period_start": quarter["period_start"].isoformat(),
        "period_end": quarter["period_end"].isoformat(),
    }).text
    assert f'value="{department.pk}"' in fragment and "Last year" not in fragment

    # And the chosen parent is saved.
    data = form_data(owner="Team One (T1)", parent=str(department.pk), **{
        k: v.isoformat() for k, v in quarter.items()})
    response = client.post(reverse("objective-create"), data)
    assert response.status_code == 302
    assert Objective.objects.get(title="FCR up").parent == department


def test_a_parent_from_another_branch_is_refused_with_a_field_error(client, org):
    other = objective(org, org.d2, title="The other department's FCR", **this_quarter())
    quarter = {k: v.isoformat() for k, v in this_quarter().items()}
    response = login(client, org.dirk).post(reverse("objective-create"), form_data(owner="T1", parent=str(other.pk), **quarter))
    assert response.status_code == 400 and not Objective.objects.filter(title="FCR up").exists()
    assert "Select a valid choice" in response.text


def test_an_agent_finds_the_form_filled_with_themself_and_kpis_by_name(client, org):
    html = login(client, org.alice).get(reverse("objective-create")).text
    assert 'name="owner" value="Alice Agent (ALICE)"' in html
    assert '<option value="Alice Agent (ALICE)">' in html and "Bob Peer" not in html  # the list: only herself
    kpi = html[html.index('name="kpi"'):]
    kpi = kpi[:kpi.index("</select>")]
    assert '<option value="fcr">First-contact resolution</option>' in kpi and ">fcr<" not in kpi
    # What the browser sends back is the name with the code: it resolves to her.
    response = client.post(reverse("objective-create"), {**form_data(owner="Alice Agent (ALICE)"), "propose": "1"})
    assert response.status_code == 302 and Objective.objects.get().owner == org.alice


def test_kpis_are_named_in_the_readers_language(client, org):
    client.force_login(org.alice)
    html = client.get(reverse("objective-create"), HTTP_ACCEPT_LANGUAGE="zh-hans").text
    kpi = html[html.index('name="kpi"'):]
    assert '<option value="fcr">一次解决率</option>' in kpi[:kpi.index("</select>")]


def test_a_manager_picks_people_and_units_by_name(client, org):
    html = login(client, org.mike).get(reverse("objective-create")).text
    options = set(re.findall(r'<option value="([^"]+ \([A-Z0-9]+\))">', html))
    assert options == {"Team One (T1)", "Mike Manager (MIKE)", "Alice Agent (ALICE)", "Bob Peer (BOB)"}
    response = client.post(reverse("objective-create"), form_data(owner="Bob Peer (BOB)"))
    assert response.status_code == 302 and Objective.objects.get().owner == org.bob


def test_an_owner_outside_the_view_is_a_field_error(client, org):
    response = login(client, org.mike).post(reverse("objective-create"), form_data(owner="Carl Two (CARL)"))
    assert response.status_code == 400 and not Objective.objects.exists()
    assert str(OWNER_UNKNOWN) in response.text


# --------------------------------------------------------- links and words


def test_a_manager_reaches_the_cascade_and_templates_from_the_objective_and_the_list(client, org):
    team = objective(org, org.t1, title="Team FCR")
    mine = objective(org, org.alice, title="Alice FCR", parent=team)
    page = login(client, org.mike).get(reverse("objective-detail", args=[team.pk])).text
    assert f'href="{reverse("objective-cascade", args=[team.pk])}"' in page
    assert f'href="{reverse("template-list")}"' in page
    assert f'href="{reverse("cascade-tree")}?period=2026-Q3"' in page
    listing = client.get(reverse("objective-list")).text
    assert f'href="{reverse("objective-cascade", args=[team.pk])}"' in listing
    assert f'href="{reverse("cascade-tree")}"' in listing and f'href="{reverse("template-list")}"' in listing
    # Nothing to cascade from a person's objective; an agent has no templates.
    page = login(client, org.alice).get(reverse("objective-detail", args=[mine.pk])).text
    assert reverse("objective-cascade", args=[mine.pk]) not in page and reverse("template-list") not in page
    # Olga may not set T1's objectives: she does not even see them.
    assert login(client, org.olga).get(reverse("objective-cascade", args=[team.pk])).status_code == 404


def test_the_objective_page_says_what_baseline_target_and_stretch_score(client, org):
    o = objective(org, org.alice)
    page = login(client, org.alice).get(reverse("objective-detail", args=[o.pk])).text
    assert "70.0% <span class=\"muted\">scores 60" in page
    assert "74.0% <span class=\"muted\">scores 80" in page
    assert "78.0% <span class=\"muted\">scores 100" in page
    assert "→ 60" not in page and "instead of the KPI library" in page


def test_an_ended_objective_asks_its_manager_to_mark_it_achieved_or_missed(client, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    services.objective_transition(user=org.mike, objective=o, action="agree")
    services.objective_transition(user=org.mike, objective=o, action="activate")
    assert timezone.localdate() > o.period_end  # Q3 2026 is over
    page = login(client, org.mike).get(reverse("objective-detail", args=[o.pk])).text
    assert "Period ended — mark achieved or missed" in page and 'value="achieve"' in page and 'value="miss"' in page
    listing = client.get(reverse("objective-list")).text
    assert "Period ended — mark achieved or missed" in listing
    assert "FCR of ALICE" in client.get(reverse("objective-list"), {"status": "ended"}).text
    # The owner is told, without the buttons.
    page = login(client, org.alice).get(reverse("objective-detail", args=[o.pk])).text
    assert "the owner's manager marks the objective achieved or missed" in page
    assert 'value="achieve"' not in page
    # Marking it closes it, with the step in the timeline; it no longer asks.
    response = login(client, org.mike).post(reverse("objective-transition", args=[o.pk]), {"action": "miss"})
    assert response.status_code == 302
    o.refresh_from_db()
    assert o.status == Objective.Status.MISSED and o.events.last().action == "miss"
    assert "Period ended" not in client.get(reverse("objective-detail", args=[o.pk])).text
    assert "FCR of ALICE" not in client.get(reverse("objective-list"), {"status": "ended"}).text


def test_an_agreed_objective_whose_period_ended_can_be_closed_too(client, org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    services.objective_transition(user=org.mike, objective=o, action="agree")
    login(client, org.mike).post(reverse("objective-transition", args=[o.pk]), {"action": "achieve"})
    o.refresh_from_db()
    assert o.status == Objective.Status.ACHIEVED


def test_ended_objectives_to_close_are_the_managers_not_the_owners(org):
    o = objective(org, org.alice, status=Objective.Status.PROPOSED)
    services.objective_transition(user=org.mike, objective=o, action="agree")
    from goals.selectors import objectives_period_ended

    assert list(objectives_period_ended(org.mike)) == [o]
    assert list(objectives_period_ended(org.dana)) == [o]
    assert not objectives_period_ended(org.alice).exists() and not objectives_period_ended(org.olga).exists()
    assert not objectives_period_ended(org.mike, today=dt.date(2026, 9, 30)).exists()


def test_the_list_filters_by_an_owner_picked_by_name(client, org):
    objective(org, org.alice)
    objective(org, org.bob)
    text = login(client, org.mike).get(reverse("objective-list"), {"owner": "Alice Agent (ALICE)"}).text
    assert "FCR of ALICE" in text and "FCR of BOB" not in text
    assert '<option value="Bob Peer (BOB)">' in text


@pytest.mark.parametrize("url", ["objective-create", "objective-list", "cascade-tree"])
def test_goals_pages_keep_their_javascript_in_a_static_file(client, org, url):
    html = login(client, org.mike).get(reverse(url)).text
    main = html[html.index("<main"):]
    assert "<script>" not in main  # no inline script in the page's own content


def test_final_steps_say_they_are_final_and_ask_to_confirm(client, org):
    """Reject and cancel (and achieved / missed) cannot be undone: the buttons carry the question, the page the words."""
    from goals.models import Objective
    from scorecard.models import Kpi

    o = Objective.objects.create(
        owner_person=org.alice, period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 12, 31),
        title="Lift FCR", kind=Objective.Kind.KPI, kpi=Kpi.objects.get(code="fcr"), baseline=70.0, target=75.0,
        stretch=80.0, weight=50.0, due_date=dt.date(2026, 12, 31), status=Objective.Status.PROPOSED,
        created_by=org.alice,
    )
    client.login(username="MIKE", password="pw")
    html = client.get(reverse("objective-detail", args=[o.pk])).text

    assert 'value="reject"' in html and 'value="agree"' in html
    reject = html[html.index('value="reject"'):].split(">", 1)[0]
    agree = html[html.index('value="agree"'):].split(">", 1)[0]
    assert "data-confirm=" in reject and "data-confirm=" not in agree
    assert 'id="final-note"' in html and "is final" in html


def test_parent_options_show_nothing_outside_the_users_view(client, org):
    """A manager of another department asking the fragment for Team One's parents learns none of D1's objectives."""
    department = objective(org, org.d1, title="Department FCR", **this_quarter())
    quarter = this_quarter()
    query = {"owner": "T1", "period_start": quarter["period_start"].isoformat(),
             "period_end": quarter["period_end"].isoformat()}

    assert client.get(reverse("objective-parent-options"), query).status_code == 302  # signed in only
    fragment = login(client, org.olga).get(reverse("objective-parent-options"), query).text

    assert f'value="{department.pk}"' not in fragment and "Department FCR" not in fragment
