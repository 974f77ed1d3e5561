"""Cascading an objective onto the units and people beneath its owner: methods, refusals, preview = apply."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from goals import cascades
from goals.models import Objective, ObjectiveEvent
from scorecard import services
from scorecard.models import Kpi, Perspective
from tests.base import make_person
from tests.factories import put

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


@pytest.fixture
def sales_kpi(org):
    """A volume KPI (a plain sum): sales closed."""
    return services.kpi_create(
        user=org.dirk, code="sales", name="Sales closed", perspective=Perspective.objects.get(code="financial"),
        formula="sales_closed", unit="", direction="higher", baseline=80, typical=100, excellent=120, weight=20,
    )


def objective(owner, kpi_code="fcr", *, baseline=70.0, target=74.0, stretch=78.0, kind="kpi", creator=None, **extra):
    owner_field = "owner_person" if hasattr(owner, "employee_code") else "owner_unit"
    fields = dict(
        period_start=Q3[0], period_end=Q3[1], due_date=Q3[1], title="Objective", result="A result", kind=kind,
        kpi=Kpi.objects.get(code=kpi_code) if kind == "kpi" else None, baseline=baseline, target=target,
        stretch=stretch, weight=25, status=Objective.Status.AGREED, resources="Coaching",
    )
    fields.update(extra)
    if creator is None:
        from scorecard.models import Person

        creator = Person.objects.get(employee_code="DIRK")
    return Objective.objects.create(**{owner_field: owner}, created_by=creator, **fields)


def plan_of(plan):
    return {n.owner_code: (n.parent_code, n.baseline, n.target, n.stretch) for n in plan}


# ------------------------------------------------------------------ methods


def test_equal_split_all_the_way_to_agents(org, sales_kpi):
    o = objective(org.d1, "sales", baseline=800, target=1000, stretch=1200)
    plan = cascades.cascade_preview(user=org.dana, objective=o, depth="agents", method="equal")
    assert plan_of(plan) == {
        "T1": (None, 400, 500, 600), "ALICE": ("T1", 200, 250, 300), "BOB": ("T1", 200, 250, 300),
        "T2": (None, 400, 500, 600), "CARL": ("T2", 400, 500, 600),
    }
    assert [n.owner_code for n in plan] == ["T1", "ALICE", "BOB", "T2", "CARL"]  # tree order
    assert plan[0].share == pytest.approx(0.5)


def test_headcount_split_counts_agents_in_each_childs_subtree(org, sales_kpi):
    o = objective(org.d1, "sales", baseline=600, target=900, stretch=1200)
    plan = cascades.cascade_preview(user=org.dana, objective=o, depth="children", method="headcount")
    assert plan_of(plan) == {"T1": (None, 400, 600, 800), "T2": (None, 200, 300, 400)}
    assert [n.share for n in plan] == [pytest.approx(2 / 3), pytest.approx(1 / 3)]


def test_headcount_split_from_the_center_warns_for_a_unit_without_agents(org, sales_kpi):
    o = objective(org.center, "sales", baseline=600, target=900, stretch=1200)
    plan = {n.owner_code: n for n in cascades.cascade_preview(user=org.dirk, objective=o, depth="children", method="headcount")}
    assert plan["D1"].target == pytest.approx(900)
    assert plan["D2"].target == 0 and str(cascades.WARN_NO_AGENTS) in plan["D2"].warnings


def test_scheduled_split_gives_part_time_agents_a_prorated_share(org, sales_kpi):
    new = make_person("NEWBIE", "New Agent", org.t1, "agent", org.mike)  # starts later: no schedule yet
    for day in range(1, 6):  # schedules loaded ahead for the period
        put(org.alice, f"2026-08-0{day}", scheduled_minutes=480)
        put(org.bob, f"2026-08-0{day}", scheduled_minutes=240)  # part time
    put(org.bob, "2026-06-30", scheduled_minutes=9999)  # outside the period: ignored
    o = objective(org.t1, "sales", baseline=600, target=1200, stretch=1500)
    plan = {n.owner_code: n for n in cascades.cascade_preview(user=org.mike, objective=o, depth="children", method="scheduled")}
    assert (plan["ALICE"].baseline, plan["ALICE"].target, plan["ALICE"].stretch) == (400, 800, 1000)
    assert (plan["BOB"].baseline, plan["BOB"].target, plan["BOB"].stretch) == (200, 400, 500)
    assert plan["NEWBIE"].target == 0 and plan["NEWBIE"].share == 0
    assert plan["NEWBIE"].warnings == [str(cascades.WARN_NO_SCHEDULE)]
    assert plan["ALICE"].warnings == []
    assert new.pk


def test_scheduled_split_with_no_schedule_at_all_is_refused(org, sales_kpi):
    o = objective(org.t1, "sales", baseline=600, target=1200, stretch=1500)
    with pytest.raises(ValidationError) as exc:
        cascades.cascade_preview(user=org.mike, objective=o, depth="children", method="scheduled")
    assert "method" in exc.value.message_dict


def test_previous_share_split_uses_the_numerator_in_the_previous_equivalent_period(org, sales_kpi):
    # Q3 is 92 days long: the previous equivalent period is 2026-03-31 … 2026-06-30.
    put(org.alice, "2026-06-10", sales_closed=30, sales_opportunities=100)
    put(org.bob, "2026-03-31", sales_closed=10)
    put(org.bob, "2026-03-30", sales_closed=500)  # the day before: not counted
    put(org.carl, "2026-05-01", sales_closed=60)
    put(org.alice, "2026-07-02", sales_closed=900)  # inside the new period: not counted
    o = objective(org.d1, "sales", baseline=800, target=1000, stretch=1200)
    plan = {n.owner_code: n for n in cascades.cascade_preview(user=org.dana, objective=o, depth="agents", method="previous_share")}
    assert plan["T1"].target == pytest.approx(400) and plan["T2"].target == pytest.approx(600)
    assert plan["ALICE"].target == pytest.approx(300) and plan["BOB"].target == pytest.approx(100)
    assert plan["ALICE"].share == pytest.approx(0.75)
    assert plan["CARL"].target == pytest.approx(600) and plan["CARL"].baseline == pytest.approx(480)


def test_same_target_for_a_ratio_kpi(org):
    o = objective(org.t1, "fcr")
    plan = cascades.cascade_preview(user=org.mike, objective=o, depth="children", method="same")
    assert plan_of(plan) == {"ALICE": (None, 70, 74, 78), "BOB": (None, 70, 74, 78)}


def test_typed_values_per_child(org):
    o = objective(org.d1, "fcr")
    typed = {"T1": (71, 75, 79), "T2": ("69", "73", "77")}
    plan = cascades.cascade_preview(user=org.dana, objective=o, depth="children", method="typed", typed=typed)
    assert plan_of(plan) == {"T1": (None, 71, 75, 79), "T2": (None, 69, 73, 77)}


def test_milestone_cascades_with_the_same_criterion(org):
    o = objective(org.t1, kind="milestone", baseline=None, target=None, stretch=None,
                  completion_criterion="Knowledge base updated", verification="QA lead signs off")
    created = cascades.cascade_apply(user=org.mike, objective=o, depth="children", method="same")
    assert {c.owner_person.employee_code for c in created} == {"ALICE", "BOB"}
    for c in Objective.objects.filter(parent=o):
        assert (c.kind, c.completion_criterion, c.verification, c.kpi_id) == ("milestone", "Knowledge base updated", "QA lead signs off", None)


# ----------------------------------------------------------------- refusals


def test_same_target_is_refused_for_a_volume_kpi(org, sales_kpi):
    o = objective(org.d1, "sales", baseline=800, target=1000, stretch=1200)
    with pytest.raises(ValidationError) as exc:
        cascades.cascade_preview(user=org.dana, objective=o, depth="children", method="same")
    assert exc.value.message_dict["method"] == [str(cascades.SAME_FOR_VOLUME % {"kpi": "Sales closed"})]


def test_a_split_is_refused_for_a_ratio_kpi(org):
    o = objective(org.d1, "fcr")
    with pytest.raises(ValidationError) as exc:
        cascades.cascade_preview(user=org.dana, objective=o, depth="children", method="headcount")
    assert "method" in exc.value.message_dict


def test_typed_owner_outside_the_subtree_is_refused_and_nothing_saved(org):
    o = objective(org.d1, "fcr")
    typed = {"T1": (71, 75, 79), "T2": (69, 73, 77), "T3": (69, 73, 77)}
    with pytest.raises(ValidationError) as exc:
        cascades.cascade_apply(user=org.dana, objective=o, depth="children", method="typed", typed=typed)
    assert exc.value.message_dict["typed"] == [str(cascades.TYPED_OUTSIDE % {"owner": "Inbound (D1)", "codes": "T3"})]
    assert not Objective.objects.filter(parent=o).exists()


def test_typed_values_missing_or_in_the_wrong_direction_are_refused(org):
    o = objective(org.d1, "fcr")
    with pytest.raises(ValidationError) as exc:
        cascades.cascade_preview(user=org.dana, objective=o, depth="children", method="typed", typed={"T1": (71, 75, 79)})
    assert exc.value.message_dict["typed"] == [str(cascades.TYPED_MISSING % {"codes": "T2"})]
    with pytest.raises(ValidationError) as exc:
        cascades.cascade_preview(user=org.dana, objective=o, depth="children", method="typed",
                                 typed={"T1": (79, 75, 71), "T2": (69, 73, 77)})
    assert exc.value.message_dict["typed"] == [str(cascades.TYPED_NOT_ORDERED_HIGHER % {"code": "T1"})]


def test_person_objective_has_nothing_beneath(org):
    o = objective(org.alice, "fcr")
    with pytest.raises(ValidationError) as exc:
        cascades.cascade_preview(user=org.mike, objective=o, depth="children", method="same")
    assert exc.value.message_dict["objective"] == [str(cascades.PERSON_OWNER)]


@pytest.mark.parametrize("who", ["alice", "mike", "olga"])
def test_only_a_manager_above_hr_or_the_director_may_cascade(org, who):
    o = objective(org.d1, "fcr")  # Mike manages T1 only, below D1; Olga another department
    with pytest.raises(ValidationError) as exc:
        cascades.cascade_apply(user=getattr(org, who), objective=o, depth="children", method="same")
    assert "objective" in exc.value.message_dict
    assert not Objective.objects.filter(parent=o).exists()
    assert cascades.cascade_preview(user=org.hana, objective=o, depth="children", method="same")


def test_unknown_depth_and_method_are_refused(org):
    o = objective(org.d1, "fcr")
    with pytest.raises(ValidationError) as exc:
        cascades.cascade_preview(user=org.dana, objective=o, depth="down", method="magic")
    assert set(exc.value.message_dict) == {"depth", "method"}


# ------------------------------------------------------------ preview, apply


def test_preview_saves_nothing(org):
    o = objective(org.d1, "fcr")
    before = (Objective.objects.count(), ObjectiveEvent.objects.count(), Objective.history.count())
    cascades.cascade_preview(user=org.dana, objective=o, depth="agents", method="same")
    assert (Objective.objects.count(), ObjectiveEvent.objects.count(), Objective.history.count()) == before


def test_apply_creates_what_the_preview_shows(org, sales_kpi):
    put(org.alice, "2026-06-10", sales_closed=30)
    put(org.bob, "2026-06-10", sales_closed=10)
    put(org.carl, "2026-06-10", sales_closed=60)
    o = objective(org.d1, "sales", baseline=800, target=1000, stretch=1200, weight=30, resources="Two extra coaches")
    plan = cascades.cascade_preview(user=org.dana, objective=o, depth="agents", method="previous_share")
    created = cascades.cascade_apply(user=org.dana, objective=o, depth="agents", method="previous_share")
    assert len(created) == len(plan) == 5
    rows = Objective.objects.filter(pk__in=[c.pk for c in created]).select_related("owner_unit", "owner_person", "parent")
    got = {}
    for c in rows:
        parent_code = None if c.parent_id == o.pk else c.parent.owner_code
        got[c.owner_code] = (parent_code, c.baseline, c.target, c.stretch)
        assert (c.title, c.result, c.kind, c.kpi_id, c.period_start, c.period_end, c.due_date, c.weight, c.resources) == (
            o.title, o.result, o.kind, o.kpi_id, o.period_start, o.period_end, o.due_date, 30, "Two extra coaches")
        assert c.status == Objective.Status.DRAFT and c.created_by == org.dana
    assert got.keys() == plan_of(plan).keys()
    for code, (parent_code, b, t, s) in plan_of(plan).items():
        assert got[code][0] == parent_code
        assert got[code][1:] == (pytest.approx(b), pytest.approx(t), pytest.approx(s))
    events = ObjectiveEvent.objects.filter(objective__in=created)
    assert events.count() == 5
    assert set(events.values_list("action", "to_status", "by")) == {("cascade", "draft", org.dana.pk)}
    # Each child has its "+" history record, as if saved one by one.
    assert Objective.history.filter(id__in=[c.pk for c in created], history_type="+").count() == 5


def test_recascading_skips_existing_children_and_continues_beneath_them(org):
    o = objective(org.d1, "fcr")
    first = cascades.cascade_apply(user=org.dana, objective=o, depth="children", method="same")
    assert {c.owner_code for c in first} == {"T1", "T2"}
    t1_child = next(c for c in first if c.owner_code == "T1")
    Objective.objects.filter(pk=t1_child.pk).update(target=75, stretch=79)  # agreed differently with Mike
    plan = cascades.cascade_preview(user=org.dana, objective=o, depth="agents", method="same")
    by_code = {n.owner_code: n for n in plan}
    assert by_code["T1"].existing.pk == t1_child.pk and str(cascades.WARN_EXISTS) in by_code["T1"].warnings
    assert by_code["ALICE"].target == 75  # planned from the existing child's values
    second = cascades.cascade_apply(user=org.dana, objective=o, depth="agents", method="same")
    assert {c.owner_code for c in second} == {"ALICE", "BOB", "CARL"}
    assert Objective.objects.get(owner_person=org.alice).parent_id == t1_child.pk
    assert cascades.cascade_apply(user=org.dana, objective=o, depth="agents", method="same") == []
    assert Objective.objects.filter(owner_person__isnull=False).count() == 3


def test_apply_takes_the_same_number_of_queries_for_many_agents(org, sales_kpi):
    def count():
        o = objective(org.center, "sales", baseline=800, target=1000, stretch=1200)
        with CaptureQueriesContext(connection) as queries:
            created = cascades.cascade_apply(user=org.dirk, objective=o, depth="agents", method="headcount")
        return len(queries), len(created)

    count()  # warm the library cache
    few, created_few = count()
    for i in range(40):
        make_person(f"A{i:03d}", f"Agent {i}", org.t2 if i % 2 else org.t3, "agent", org.dana)
    many, created_many = count()
    assert created_many == created_few + 40
    # Constant: cache token, library, lock, objective, subtree, agents, existing children; per org level
    # (3 here) one INSERT and one SELECT of the new ids; the history rows and the events.
    assert many == few


# --------------------------------------------------------------------- pages


def test_cascade_page_previews_without_creating_then_creates(client, org):
    o = objective(org.d1, "fcr")
    client.force_login(org.dana)
    url = reverse("objective-cascade", args=[o.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"depth": "agents", "method": "same", "preview": "1"})
    assert response.status_code == 200
    assert "ALICE" in response.content.decode() and "CARL" in response.content.decode()
    assert not Objective.objects.filter(parent__isnull=False).exists()
    response = client.post(url, {"depth": "agents", "method": "same", "create": "1"})
    assert response.status_code == 302
    assert Objective.objects.filter(parent__isnull=False).count() == 5
    # The tree opens at the cascaded objective's row, not at the top of the center's tree.
    assert response.url.endswith(f"#o{o.pk}")
    assert f'<li id="o{o.pk}">' in client.get(response.url).content.decode()


def test_cascade_page_typed_values(client, org):
    o = objective(org.d1, "fcr")
    client.force_login(org.dana)
    url = reverse("objective-cascade", args=[o.pk])
    data = {"depth": "children", "method": "typed", "create": "1",
            "typed-T1-baseline": "71", "typed-T1-target": "75", "typed-T1-stretch": "79"}
    response = client.post(url, data)
    assert response.status_code == 400
    assert str(cascades.TYPED_MISSING % {"codes": "T2"}) in response.content.decode()
    data.update({"typed-T2-baseline": "69", "typed-T2-target": "73", "typed-T2-stretch": "77"})
    assert client.post(url, data).status_code == 302
    assert dict(Objective.objects.filter(parent=o).values_list("owner_unit__code", "target")) == {"T1": 75, "T2": 73}


def test_cascade_page_refusal_is_a_400_with_the_message(client, org, sales_kpi):
    o = objective(org.d1, "sales", baseline=800, target=1000, stretch=1200)
    client.force_login(org.dana)
    response = client.post(reverse("objective-cascade", args=[o.pk]), {"depth": "children", "method": "same", "create": "1"})
    assert response.status_code == 400
    assert "copying its target" in response.content.decode()
    assert not Objective.objects.filter(parent=o).exists()


def test_cascade_page_is_404_outside_the_view(client, org):
    o = objective(org.t1, "fcr")
    client.force_login(org.olga)
    assert client.get(reverse("objective-cascade", args=[o.pk])).status_code == 404
    client.force_login(org.bob)
    assert client.get(reverse("objective-cascade", args=[o.pk])).status_code == 404


# ----------------------------------------------------------------------- API


def test_api_preview_and_apply(client, org):
    o = objective(org.d1, "fcr")
    client.force_login(org.dana)
    body = {"depth": "children", "method": "typed",
            "typed": {"T1": {"baseline": 71, "target": 75, "stretch": 79}, "T2": {"baseline": 69, "target": 73, "stretch": 77}}}
    response = client.post(f"/api/v1/goals/objectives/{o.pk}/cascade/preview/", body, content_type="application/json")
    assert response.status_code == 200
    assert [(c["owner"]["code"], c["target"]) for c in response.json()["children"]] == [("T1", 75), ("T2", 73)]
    assert not Objective.objects.filter(parent=o).exists()
    response = client.post(f"/api/v1/goals/objectives/{o.pk}/cascade/", body, content_type="application/json")
    assert response.status_code == 201
    assert sorted(c["owner"]["code"] for c in response.json()["created"]) == ["T1", "T2"]


def test_api_refusals(client, org):
    o = objective(org.d1, "fcr")
    client.force_login(org.dana)
    response = client.post(f"/api/v1/goals/objectives/{o.pk}/cascade/", {"depth": "children", "method": "headcount"},
                           content_type="application/json")
    assert response.status_code == 400 and "method" in response.json()
    client.force_login(org.olga)
    response = client.post(f"/api/v1/goals/objectives/{o.pk}/cascade/preview/", {"depth": "children", "method": "same"},
                           content_type="application/json")
    assert response.status_code == 404


def test_cascade_preview_prints_every_value_with_the_kpis_unit_and_decimals(client, org):
    o = objective(org.t1, "fcr")
    client.force_login(org.mike)
    html = client.post(reverse("objective-cascade", args=[o.pk]), {"depth": "children", "method": "same",
                                                                    "preview": "1"}).content.decode()
    assert "baseline 70.0%, target 74.0%, stretch 78.0%" in html  # the objective, above the form
    rows = re.findall(r"<tr>.*?</tr>", html[html.index("<tbody>", html.index('<table class="plan">')):], re.S)
    assert len(rows) == 2  # Alice and Bob
    for row in rows:
        assert [c.strip() for c in re.findall(r'<td class="num">(.*?)</td>', row, re.S)][:3] == ["70.0%", "74.0%", "78.0%"]


def test_the_typed_values_inputs_name_their_child_and_value(client, org):
    """The typed table shows no <label>: each input carries its own name, or a screen reader reads "edit text"."""
    o = objective(org.d1, "fcr")
    client.force_login(org.dana)
    html = client.get(reverse("objective-cascade", args=[o.pk])).content.decode()
    inputs = re.findall(r'<input type="number" name="typed-[^>]*>', html)
    assert len(inputs) == 6  # T1 and T2: baseline, target, stretch
    assert all('aria-label="' in i for i in inputs)
    assert f'aria-label="{org.t1.name} — Target"' in html
