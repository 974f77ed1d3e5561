"""The influencing-factor worksheet (运营目标制订法): who may edit it, what it refuses, its pages and API."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from goals import checkins
from goals.models import InfluencingFactor, Objective
from scorecard.models import Kpi
from tests.goals.test_checkins import api, errors_of, make_objective

C = InfluencingFactor.Category


def add(user, objective, **overrides):
    values = dict(name="Information accuracy", controllable=True, influenceable=True, kpi=None,
                  category=C.INFORMATION, note="")
    values.update(overrides)
    return checkins.factor_create(user=user, objective=objective, **values)


# ------------------------------------------------------------------ service


def test_owner_lists_the_factors_of_the_domain_example(org):
    o = make_objective(org.alice, title="Raise complaint satisfaction")
    add(org.alice, o, name="Logistics speed", controllable=False, influenceable=True, category=C.ENVIRONMENT)
    add(org.alice, o, name="Service attitude", controllable=False, influenceable=True, category=C.PEOPLE,
        kpi=Kpi.objects.get(code="fcr"))
    add(org.alice, o, name="Information accuracy", controllable=True, influenceable=True, category=C.INFORMATION)
    add(org.alice, o, name="Market information", controllable=False, influenceable=False, category=C.INFORMATION)

    rows = list(o.factors.values_list("name", "controllable", "influenceable", "category"))
    assert ("Logistics speed", False, True, "environment") in rows
    assert ("Market information", False, False, "information") in rows
    assert o.factors.get(name="Service attitude").kpi.code == "fcr"


@pytest.mark.parametrize("who", ["alice", "mike", "dana", "hana"])
def test_owner_and_managers_edit_the_factors(org, who):
    o = make_objective(org.alice)
    user = getattr(org, who)

    f = add(user, o)
    f = checkins.factor_update(user=user, factor=f, name="Knowledge-base accuracy", controllable=False,
                               influenceable=True, kpi=None, category=C.SYSTEM, note="KB reviewed monthly")
    assert (f.name, f.category, f.controllable, f.note) == ("Knowledge-base accuracy", "system", False, "KB reviewed monthly")
    checkins.factor_delete(user=user, factor=f)
    assert not InfluencingFactor.objects.exists()


@pytest.mark.parametrize("who", ["bob", "olga", "carl"])
def test_peers_and_other_managers_cannot_edit_the_factors(org, who):
    o = make_objective(org.alice)
    f = add(org.alice, o)
    user = getattr(org, who)

    with pytest.raises(ValidationError) as excinfo:
        add(user, o, name="Other")
    assert errors_of(excinfo) == {"name": [str(checkins.NOT_FACTOR_EDITOR)]}
    with pytest.raises(ValidationError):
        checkins.factor_update(user=user, factor=f, name="x", category=C.PEOPLE)
    with pytest.raises(ValidationError):
        checkins.factor_delete(user=user, factor=f)
    assert list(InfluencingFactor.objects.values_list("name", flat=True)) == ["Information accuracy"]


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": "  "}, "name", checkins.FACTOR_NAME_REQUIRED),
        ({"name": "x" * 201}, "name", checkins.FACTOR_NAME_TOO_LONG % {"max": 200}),
        ({"category": "luck"}, "category", checkins.CATEGORY_UNKNOWN),
        ({"category": ""}, "category", checkins.CATEGORY_UNKNOWN),
    ],
)
def test_bad_factors_are_refused_and_nothing_saved(org, overrides, field, message):
    o = make_objective(org.alice)

    with pytest.raises(ValidationError) as excinfo:
        add(org.alice, o, **overrides)

    assert errors_of(excinfo) == {field: [str(message)]}
    assert not InfluencingFactor.objects.exists()


def test_a_factor_name_is_used_once_per_objective(org):
    o = make_objective(org.alice)
    f = add(org.alice, o, name="Training")

    with pytest.raises(ValidationError) as excinfo:
        add(org.alice, o, name=" training ")
    assert errors_of(excinfo) == {"name": [str(checkins.FACTOR_NAME_TAKEN % {"name": "training"})]}

    add(org.alice, make_objective(org.alice), name="Training")  # another objective may
    checkins.factor_update(user=org.alice, factor=f, name="Training", category=C.METHOD)  # itself is fine


def test_factors_may_be_listed_while_the_objective_is_a_draft(org):
    o = make_objective(org.alice, status=Objective.Status.DRAFT)

    assert add(org.alice, o).pk


# -------------------------------------------------------------------- pages


def test_the_worksheet_shows_the_factors_and_the_fishbone(client, org):
    o = make_objective(org.alice, title="Raise complaint satisfaction")
    add(org.alice, o, name="物流速度", controllable=False, influenceable=True, category=C.ENVIRONMENT,
        kpi=Kpi.objects.get(code="fcr"))
    client.force_login(org.mike)

    response = client.get(reverse("objective-factors", args=[o.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "物流速度" in html and "<svg" in html and 'class="fishbone"' in html
    assert Kpi.objects.get(code="fcr").label in html
    assert reverse("factor-edit", args=[o.factors.get().pk]) in html


def test_a_factor_is_added_on_the_worksheet(client, org):
    o = make_objective(org.alice)
    client.force_login(org.alice)

    response = client.post(reverse("objective-factors", args=[o.pk]), {
        "name": "Service attitude", "category": "people", "influenceable": "on", "kpi": "fcr", "note": "QA score",
    })

    assert response.status_code == 302
    f = o.factors.get()
    assert (f.name, f.category, f.controllable, f.influenceable, f.kpi.code) == (
        "Service attitude", "people", False, True, "fcr")


def test_bad_input_on_the_worksheet_answers_400_and_saves_nothing(client, org):
    o = make_objective(org.alice)
    client.force_login(org.alice)

    response = client.post(reverse("objective-factors", args=[o.pk]), {"name": "", "category": "", "kpi": "nope"})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "kpi" in errors  # unknown KPI, caught by the form
    assert not InfluencingFactor.objects.exists()

    response = client.post(reverse("objective-factors", args=[o.pk]), {"name": "", "category": ""})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "category"}
    assert escape(str(checkins.FACTOR_NAME_REQUIRED)) in response.content.decode()


def test_a_factor_is_edited_and_deleted_on_the_pages(client, org):
    o = make_objective(org.alice)
    f = add(org.alice, o)
    client.force_login(org.mike)

    assert client.get(reverse("factor-edit", args=[f.pk])).status_code == 200
    response = client.post(reverse("factor-edit", args=[f.pk]), {"name": "Accuracy", "category": "measurement"})
    assert response.status_code == 302
    f.refresh_from_db()
    assert (f.name, f.category, f.controllable) == ("Accuracy", "measurement", False)
    bad = client.post(reverse("factor-edit", args=[f.pk]), {"name": "", "category": "measurement"})
    assert bad.status_code == 400
    f.refresh_from_db()
    assert f.name == "Accuracy"

    assert client.post(reverse("factor-delete", args=[f.pk])).status_code == 302
    assert not InfluencingFactor.objects.exists()


@pytest.mark.parametrize("who", ["bob", "olga"])
def test_factor_pages_answer_404_outside_the_users_view(client, org, who):
    o = make_objective(org.alice)
    f = add(org.alice, o)
    client.force_login(getattr(org, who))

    assert client.get(reverse("objective-factors", args=[o.pk])).status_code == 404
    assert client.post(reverse("objective-factors", args=[o.pk]), {"name": "x", "category": "people"}).status_code == 404
    assert client.get(reverse("factor-edit", args=[f.pk])).status_code == 404
    assert client.post(reverse("factor-delete", args=[f.pk])).status_code == 404
    assert client.get(reverse("objective-fishbone", args=[o.pk])).status_code == 404
    assert InfluencingFactor.objects.count() == 1


def test_the_unit_objectives_worksheet_is_not_shown_to_the_units_agents(client, org):
    o = make_objective(org.t1)
    client.force_login(org.alice)

    assert client.get(reverse("objective-factors", args=[o.pk])).status_code == 404


def test_the_detail_fragment_lists_the_factors_in_one_query(org, django_assert_num_queries):
    from django.template.loader import render_to_string

    o = make_objective(org.alice)
    for n in range(5):
        add(org.alice, o, name=f"Factor {n}", kpi=Kpi.objects.get(code="fcr"))

    with django_assert_num_queries(1):
        html = render_to_string("goals/includes/objective_factors.html", {"o": o, "user": org.alice})

    assert "Factor 4" in html and reverse("objective-fishbone", args=[o.pk]) in html


# ---------------------------------------------------------------------- API


def test_api_factor_crud(org):
    o = make_objective(org.alice)
    client = api(org.mike)

    created = client.post(reverse("api-factor-list", args=[o.pk]), {
        "name": "信息准确性", "controllable": True, "influenceable": True, "kpi": "fcr", "category": "information",
    }, format="json")
    assert created.status_code == 201, created.data
    pk = created.data["id"]
    assert created.data["kpi"] == "fcr"

    listed = client.get(reverse("api-factor-list", args=[o.pk]))
    assert listed.data["count"] == 1 and listed.data["results"][0]["name"] == "信息准确性"

    patched = client.patch(reverse("api-factor-detail", args=[pk]), {"controllable": False}, format="json")
    assert patched.status_code == 200
    assert (patched.data["controllable"], patched.data["influenceable"], patched.data["kpi"]) == (False, True, "fcr")

    cleared = client.patch(reverse("api-factor-detail", args=[pk]), {"kpi": None}, format="json")
    assert cleared.data["kpi"] is None

    assert client.get(reverse("api-factor-detail", args=[pk])).data["name"] == "信息准确性"
    assert client.delete(reverse("api-factor-detail", args=[pk])).status_code == 204
    assert not InfluencingFactor.objects.exists()


def test_api_bad_factors_answer_400_by_field(org):
    o = make_objective(org.alice)
    client = api(org.alice)

    response = client.post(reverse("api-factor-list", args=[o.pk]), {"name": "x", "category": "luck", "kpi": "nope"},
                           format="json")
    assert response.status_code == 400 and set(response.data) == {"category", "kpi"}

    response = client.post(reverse("api-factor-list", args=[o.pk]), {"name": " ", "category": "people"}, format="json")
    assert response.status_code == 400 and response.data == {"name": [str(checkins.FACTOR_NAME_REQUIRED)]}
    assert not InfluencingFactor.objects.exists()


@pytest.mark.parametrize("who", ["bob", "olga"])
def test_api_factors_answer_404_outside_the_users_view(org, who):
    o = make_objective(org.alice)
    f = add(org.alice, o)
    client = api(getattr(org, who))

    assert client.get(reverse("api-factor-list", args=[o.pk])).status_code == 404
    assert client.post(reverse("api-factor-list", args=[o.pk]), {"name": "x", "category": "people"},
                       format="json").status_code == 404
    assert client.get(reverse("api-factor-detail", args=[f.pk])).status_code == 404
    assert client.patch(reverse("api-factor-detail", args=[f.pk]), {"name": "y"}, format="json").status_code == 404
    assert client.delete(reverse("api-factor-detail", args=[f.pk])).status_code == 404
    assert client.get(reverse("api-objective-fishbone", args=[o.pk])).status_code == 404
    assert InfluencingFactor.objects.get().name == "Information accuracy"
