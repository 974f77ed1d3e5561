"""The cycle pages: list, create and edit (with the scale table), launch, the HR cycle page, the appraisal list.

HR (Hana) runs cycles; Mike sees the cycle with his team's appraisals only;
Alice sees her own; Olga, whose team is not in the cycle, sees nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reviews import services
from reviews.models import Appraisal, ReviewCycle, default_scale
from reviews.selectors import cycle_completion
from scorecard.selectors import library_load
from tests.base import PASSWORD, make_person
from tests.reviews.test_cycles import deadlines, make_cycle

P = Appraisal.Part


def login(client, person):
    assert client.login(employee_code=person.employee_code, password=PASSWORD)
    return client


def form_data(org, *, scale=None, guideline=None, **overrides) -> dict:
    scale = default_scale() if scale is None else scale
    guideline = guideline or {}
    d = deadlines()
    data = {
        "name": "Q3 2026 appraisal", "period_start": "2026-07-01", "period_end": "2026-09-30",
        "units": [str(org.d1.pk)], "weight_objectives": "70", "weight_competencies": "30", "weight_feedback": "0",
        **{k: timezone.localtime(v).strftime("%Y-%m-%dT%H:%M") for k, v in d.items()},
        "gate_measure": "qa_fatal_errors", "gate_above": "0", "gate_cap": "D",
        "anonymity_threshold": "3", "max_requests_per_rater": "8",
        "scale-TOTAL_FORMS": str(len(scale) + 1), "scale-INITIAL_FORMS": "0",
        "scale-MIN_NUM_FORMS": "0", "scale-MAX_NUM_FORMS": "20",
    }
    for i, row in enumerate(scale):
        for key in ("grade", "label", "min", "max", "description"):
            data[f"scale-{i}-{key}"] = str(row[key])
        if row["grade"] in guideline:
            data[f"scale-{i}-guideline"] = str(guideline[row["grade"]])
    data.update(overrides)
    return data


def launched(org, **overrides) -> ReviewCycle:
    cycle = make_cycle(org, **overrides)
    services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    return cycle


# ---------------------------------------------------------------- list, nav


def test_hr_sees_every_cycle_in_the_list_and_the_nav(client, org):
    make_cycle(org)
    response = login(client, org.hana).get(reverse("cycle-list"))
    assert response.status_code == 200
    assert "Q3 2026 appraisal" in response.content.decode()
    assert f'href="{reverse("cycle-list")}"' in response.content.decode()
    assert reverse("cycle-create") in response.content.decode()


def test_a_manager_sees_only_cycles_with_appraisals_in_his_subtree(client, org):
    make_cycle(org, name="Draft one")
    launched(org, name="Launched one")
    body = login(client, org.mike).get(reverse("cycle-list")).content.decode()
    assert "Launched one" in body and "Draft one" not in body
    assert reverse("cycle-create") not in body
    olga = login(client, org.olga).get(reverse("cycle-list")).content.decode()
    assert "Launched one" not in olga


def test_agents_get_no_reviews_link_in_the_nav(client, org):
    body = login(client, org.alice).get(reverse("cycle-list")).content.decode()
    assert f'href="{reverse("cycle-list")}">' not in body


# ------------------------------------------------------------ create, edit


def test_hr_creates_a_cycle_with_its_scale_gate_and_guideline(client, org):
    login(client, org.hana)
    assert client.get(reverse("cycle-create")).status_code == 200
    response = client.post(reverse("cycle-create"), form_data(org, guideline={"A": 10, "B": 25}))
    assert response.status_code == 302, (response.context["form"].errors, response.context["scale"].errors)
    cycle = ReviewCycle.objects.get()
    assert response.status_code == 302 and response.url == reverse("cycle-detail", args=[cycle.pk])
    assert [g["grade"] for g in cycle.scale] == ["A", "B", "C", "D", "E"]
    assert cycle.gate_rule == {"measure": "qa_fatal_errors", "above": 0.0, "cap": "D"}
    assert cycle.guideline == {"A": 10.0, "B": 25.0}
    assert list(cycle.units.all()) == [org.d1]


def test_weights_not_summing_to_100_are_refused_with_a_message(client, org):
    login(client, org.hana)
    response = client.post(reverse("cycle-create"), form_data(org, weight_objectives="60"))
    assert response.status_code == 400
    assert str(services.WEIGHTS_NOT_100 % {"total": "90"}) in response.content.decode()
    assert not ReviewCycle.objects.exists()


def test_a_scale_with_a_gap_is_refused(client, org):
    scale = default_scale()
    scale[1]["min"] = 85  # B 85–90, C 70–80: 80–85 has no grade
    response = login(client, org.hana).post(reverse("cycle-create"), form_data(org, scale=scale))
    assert response.status_code == 400
    assert str(services.SCALE_GAP % {"start": "80", "end": "85"}) in response.content.decode()
    assert not ReviewCycle.objects.exists()


def test_a_gate_cap_outside_the_scale_is_refused_on_its_field(client, org):
    response = login(client, org.hana).post(reverse("cycle-create"), form_data(org, gate_cap="Z"))
    assert response.status_code == 400
    assert response.context["form"].errors["gate_measure"] == [str(services.GATE_UNKNOWN_GRADE % {"grade": "Z"})]
    assert not ReviewCycle.objects.exists()


def test_deadlines_out_of_order_are_refused_on_their_field(client, org):
    data = form_data(org)
    data["appraisal_due"] = data["self_assessment_due"]
    response = login(client, org.hana).post(reverse("cycle-create"), data)
    assert response.status_code == 400
    assert "appraisal_due" in response.context["form"].errors


def test_hr_edits_a_draft(client, org):
    cycle = make_cycle(org)
    login(client, org.hana)
    assert client.get(reverse("cycle-edit", args=[cycle.pk])).status_code == 200
    response = client.post(reverse("cycle-edit", args=[cycle.pk]), form_data(org, name="Renamed", weight_objectives="80", weight_competencies="20"))
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert (cycle.name, cycle.weight_objectives) == ("Renamed", 80)


def test_after_launch_the_edit_page_moves_deadlines_only(client, org):
    cycle = launched(org)
    login(client, org.hana)
    body = client.get(reverse("cycle-edit", args=[cycle.pk])).content.decode()
    assert 'name="weight_objectives"' not in body and 'name="calibration_due"' in body
    later = timezone.localtime(cycle.calibration_due + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {k: timezone.localtime(getattr(cycle, k)).strftime("%Y-%m-%dT%H:%M") for k in services.DEADLINES}
    response = client.post(reverse("cycle-edit", args=[cycle.pk]), {**data, "calibration_due": later})
    assert response.status_code == 302
    earlier = timezone.localtime(cycle.self_assessment_due - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("cycle-edit", args=[cycle.pk]), {**data, "self_assessment_due": earlier})
    assert response.status_code == 400
    assert "self_assessment_due" in response.context["form"].errors


@pytest.mark.parametrize("who", ["alice", "mike", "olga"])
def test_non_hr_get_404_on_create_edit_and_launch(client, org, who):
    cycle = make_cycle(org)
    login(client, getattr(org, who))
    assert client.get(reverse("cycle-create")).status_code == 404
    assert client.post(reverse("cycle-create"), form_data(org)).status_code == 404
    assert client.get(reverse("cycle-edit", args=[cycle.pk])).status_code == 404
    assert client.get(reverse("cycle-launch", args=[cycle.pk])).status_code == 404
    assert client.post(reverse("cycle-launch", args=[cycle.pk])).status_code == 404
    cycle.refresh_from_db()
    assert cycle.phase == ReviewCycle.Phase.DRAFT and ReviewCycle.objects.count() == 1


# ------------------------------------------------------------------- launch


def test_hr_confirms_then_launches(client, org):
    cycle = make_cycle(org)
    login(client, org.hana)
    detail = client.get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    assert reverse("cycle-launch", args=[cycle.pk]) in detail
    confirm = client.get(reverse("cycle-launch", args=[cycle.pk]))
    assert confirm.status_code == 200 and "5 appraisals" in confirm.content.decode()
    response = client.post(reverse("cycle-launch", args=[cycle.pk]), follow=True)
    assert response.status_code == 200
    cycle.refresh_from_db()
    assert cycle.phase == ReviewCycle.Phase.SELF_ASSESSMENT
    assert Appraisal.objects.filter(cycle=cycle).count() == 5
    assert reverse("cycle-launch", args=[cycle.pk]) not in response.content.decode()


def test_the_launch_page_says_what_will_happen_and_asks_to_confirm(client, org):
    cycle = make_cycle(org)
    html = login(client, org.hana).get(reverse("cycle-launch", args=[cycle.pk])).content.decode()
    assert "creates 5 appraisals" in html and "It cannot be undone." in html
    deadlines_table = html[html.index('id="launch-deadlines"'):html.index("</table>", html.index('id="launch-deadlines"'))]
    assert timezone.localtime(cycle.calibration_due).strftime("%Y-%m-%d %H:%M") in deadlines_table
    assert '<button type="submit" class="primary">Launch the cycle</button>' in html
    assert f'<a href="{reverse("cycle-detail", args=[cycle.pk])}">Cancel</a>' in html
    assert ReviewCycle.objects.get(pk=cycle.pk).phase == ReviewCycle.Phase.DRAFT  # showing it launched nothing


def test_launching_twice_shows_a_message(client, org):
    cycle = launched(org)
    response = login(client, org.hana).post(reverse("cycle-launch", args=[cycle.pk]), follow=True)
    assert str(services.ALREADY_LAUNCHED) in response.content.decode()
    assert Appraisal.objects.filter(cycle=cycle).count() == 5


# ------------------------------------------------------------- cycle page


def _past_cycle(org) -> ReviewCycle:
    """A launched cycle whose self-assessment and appraisal deadlines have passed."""
    first = timezone.now() - dt.timedelta(days=20)
    return launched(org, **deadlines(first, step_days=5))


def test_completion_by_unit_and_who_is_late(client, org):
    cycle = _past_cycle(org)
    Appraisal.objects.filter(cycle=cycle, person__in=[org.alice, org.carl]).update(self_status=P.SUBMITTED)
    Appraisal.objects.filter(cycle=cycle, person=org.alice).update(manager_status=P.SUBMITTED, acknowledged_at=timezone.now())
    completion = cycle_completion(cycle)
    by_unit = {u.code: u for u in completion.units}
    assert [u.code for u in completion.units] == ["D1", "T1", "T2"]
    t1 = by_unit["T1"]
    assert (t1.participants, t1.self_submitted, t1.manager_submitted, t1.acknowledged, t1.self_late, t1.manager_late) == (3, 1, 1, 1, 2, 2)
    assert (by_unit["T2"].participants, by_unit["T2"].self_late) == (1, 0)
    assert (completion.total.participants, completion.total.self_submitted, completion.total.self_late) == (5, 2, 3)
    assert [a.person.employee_code for a in completion.late["self_assessment"]] == ["DANA", "BOB", "MIKE"]
    assert [a.person.employee_code for a in completion.late["appraisal"]] == ["DANA", "BOB", "MIKE", "CARL"]

    body = login(client, org.hana).get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    assert "Bob Peer" in body and "Mike Manager" in body
    assert '<progress value="1" max="3"' in body


def test_nobody_is_late_before_the_deadlines(org):
    cycle = launched(org, **deadlines(timezone.now() + dt.timedelta(days=3)))
    completion = cycle_completion(cycle)
    assert completion.total.self_late == 0 and completion.late == {"self_assessment": [], "appraisal": []}
    assert not completion.self_overdue


def test_mike_sees_the_cycle_with_his_teams_appraisals_only(client, org):
    cycle = _past_cycle(org)
    login(client, org.mike)
    response = client.get(reverse("cycle-detail", args=[cycle.pk]))
    assert response.status_code == 200
    assert [u.code for u in response.context["completion"].units] == ["T1"]
    body = response.content.decode()
    assert "Carl Two" not in body and "Bob Peer" in body
    listing = client.get(reverse("appraisal-list", args=[cycle.pk]))
    assert [a.person.employee_code for a in listing.context["appraisals"]] == ["ALICE", "BOB", "MIKE"]
    assert reverse("cycle-launch", args=[cycle.pk]) not in body


def test_olga_gets_404_on_a_cycle_without_her_team(client, org):
    cycle = launched(org)
    login(client, org.olga)
    assert client.get(reverse("cycle-detail", args=[cycle.pk])).status_code == 404
    assert client.get(reverse("appraisal-list", args=[cycle.pk])).status_code == 404


def test_alice_sees_the_cycle_and_only_her_own_appraisal(client, org):
    cycle = launched(org)
    login(client, org.alice)
    response = client.get(reverse("cycle-detail", args=[cycle.pk]))
    assert response.status_code == 200 and response.context["completion"] is None
    listing = client.get(reverse("appraisal-list", args=[cycle.pk]))
    assert [a.person for a in listing.context["appraisals"]] == [org.alice]


def test_a_draft_is_visible_to_hr_only(client, org):
    cycle = make_cycle(org)
    assert login(client, org.mike).get(reverse("cycle-detail", args=[cycle.pk])).status_code == 404
    body = login(client, org.hana).get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    assert "Rating grade" in body and "Grade description" in body and "卓越" in body


def _add_agents(org, first: int, n: int) -> None:
    for i in range(first, first + n):
        make_person(f"A{i:03d}", f"Agent {i}", org.t2, "agent", org.dana)


@pytest.mark.parametrize("page", ["cycle-detail", "appraisal-list"])
def test_cycle_pages_take_constant_queries(client, org, django_assert_max_num_queries, page):
    library_load()
    login(client, org.hana)
    _add_agents(org, 0, 3)
    few = _past_cycle(org)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse(page, args=[few.pk])).status_code == 200
    Appraisal.objects.all().delete()
    ReviewCycle.objects.all().delete()
    _add_agents(org, 3, 40)
    many = _past_cycle(org)
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        assert client.get(reverse(page, args=[many.pk])).status_code == 200
