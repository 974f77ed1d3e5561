"""REST API v1: the scorecard numbers against an independent computation, visibility, writes, imports."""

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from scorecard.models import Kpi, KpiTerm, Measure, OrgUnit, Person, Perspective
from tests.base import PASSWORD, make_person, make_unit
from tests.factories import put

Q3 = {"start": "2026-07-01", "end": "2026-09-30"}


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    """Authenticate as a fresh copy of `user`, so no related object is cached between requests."""
    api.force_authenticate(Person.objects.get(pk=user.pk))
    return api


def card(api, user, subject, **params):
    return as_user(api, user).get("/api/v1/scorecards/", {"subject": subject, **Q3, **params})


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


# ------------------------------------------------------------ scorecard numbers


@pytest.fixture
def t1_data(org):
    """Team T1's quarter: agents' rows, queue rows on the team, and rows that must not count."""
    put(org.alice, "2026-07-01", first_contact_resolved=480, contacts_handled=600, handle_seconds=240_000)
    put(org.bob, "2026-08-15", first_contact_resolved=259, contacts_handled=400, handle_seconds=150_000)
    put(org.t1, "2026-09-30", contacts_offered=1000, answered_in_sl=850, abandoned=0, cost=5500)
    put(org.alice, "2026-07-02", csat_responses=100)  # csat_satisfied has no data at all
    put(org.bob, "2026-07-03", qa_points=0, qa_max_points=0, sales_closed=0, sales_opportunities=0)
    put(org.alice, "2026-06-30", first_contact_resolved=1, contacts_handled=1000)  # before the range
    put(org.t3, "2026-07-01", contacts_offered=5, abandoned=5)  # another department


def test_team_scorecard_matches_an_independent_computation(api, org, t1_data):
    response = card(api, org.dirk, "T1")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["subject"], data["start"], data["end"]) == ("T1", "2026-07-01", "2026-09-30")
    kpis = {k["code"]: k for p in data["perspectives"] for k in p["kpis"]}
    perspectives = {p["code"]: p for p in data["perspectives"]}

    # FCR = Σ resolved / Σ handled = 739 / 1000 (not the mean of 80 % and 64.75 %).
    fcr_value = 100 * (480 + 259) / (600 + 400)
    fcr_score = 80 + 20 * (fcr_value - 72) / (80 - 72)
    assert kpis["fcr"]["value"] == pytest.approx(73.9)
    assert kpis["fcr"]["score"] == pytest.approx(84.75) == pytest.approx(fcr_score)
    assert kpis["fcr"]["band"] == "green"
    assert isinstance(kpis["fcr"]["value"], float) and isinstance(kpis["fcr"]["score"], float)

    # Lower is better: AHT 390 s sits between baseline 420 and typical 360.
    assert kpis["aht"]["value"] == pytest.approx(390.0)
    assert kpis["aht"]["score"] == pytest.approx(60 + 20 * (390 - 420) / (360 - 420)) == pytest.approx(70)
    assert kpis["aht"]["band"] == "amber"
    # Cost per contact 5.5 (lower is better, 6 / 5 / 4) → 70.
    assert kpis["cost_per_contact"]["value"] == pytest.approx(5.5)
    assert kpis["cost_per_contact"]["score"] == pytest.approx(70)
    # Abandon rate 0 % is better than excellent (2 %) → 100, "excellent".
    assert kpis["abandon_rate"]["value"] == 0
    assert (kpis["abandon_rate"]["score"], kpis["abandon_rate"]["band"]) == (100, "excellent")
    assert kpis["service_level"]["score"] == pytest.approx(90)

    # A measure with no data → null value, score and band.
    assert (kpis["csat"]["value"], kpis["csat"]["score"], kpis["csat"]["band"]) == (None, None, None)
    # A denominator summing to 0 → null.
    assert kpis["qa_score"]["value"] is None and kpis["qa_score"]["score"] is None
    assert kpis["conversion_rate"]["value"] is None

    # Perspectives: renormalised over their non-null KPIs (equal weights inside customer).
    customer = (90 + 100 + fcr_score) / 3
    assert perspectives["customer"]["score"] == pytest.approx(customer)
    assert perspectives["financial"]["score"] == pytest.approx(70)
    assert perspectives["internal_process"]["score"] == pytest.approx(70)
    assert perspectives["learning_growth"]["score"] is None
    # Overall: renormalised over the three non-null perspectives (25 each).
    assert data["overall_score"] == pytest.approx((70 + customer + 70) / 3)
    assert data["overall_score"] == pytest.approx(77.19444, abs=1e-4)


def test_agent_sees_own_scorecard(api, org, t1_data):
    response = card(api, org.alice, "ALICE")
    assert response.status_code == 200
    fcr = next(k for p in response.json()["perspectives"] for k in p["kpis"] if k["code"] == "fcr")
    assert (fcr["value"], fcr["score"], fcr["band"]) == (80.0, 100.0, "excellent")


def test_scorecard_without_any_data_is_all_null(api, org):
    data = card(api, org.dirk, "C").json()
    assert data["overall_score"] is None
    assert all(p["score"] is None for p in data["perspectives"])


@pytest.mark.parametrize(
    "user, subject",
    [("alice", "BOB"), ("alice", "T1"), ("alice", "C"), ("olga", "T1"), ("olga", "ALICE"), ("mike", "T2"),
     ("dirk", "NOPE"), ("alice", "NOPE")],
)
def test_subject_the_caller_may_not_see_is_404(api, org, user, subject):
    assert card(api, getattr(org, user), subject).status_code == 404


@pytest.mark.parametrize(
    "params, field",
    [
        ({"start": "2026-02-30"}, "start"),
        ({"start": "2026/07/01"}, "start"),
        ({"end": "30-09-2026"}, "end"),
        ({"start": "2026-10-01"}, "end"),  # after the end
        ({"start": ""}, "start"),
    ],
)
def test_bad_dates_are_400_with_field_messages(api, org, params, field):
    response = card(api, org.dirk, "T1", **params)
    assert response.status_code == 400
    assert field in response.json()


def test_missing_parameters_are_400(api, org):
    response = as_user(api, org.dirk).get("/api/v1/scorecards/")
    assert response.status_code == 400
    assert set(response.json()) == {"subject", "start", "end"}


def test_bad_dates_are_400_even_for_an_invisible_subject(api, org):
    assert card(api, org.alice, "BOB", start="nope").status_code == 400


def test_anonymous_callers_are_refused(org):
    response = APIClient().get("/api/v1/scorecards/", {"subject": "ALICE", **Q3})
    assert response.status_code in (401, 403)


def test_basic_auth_works(org):
    client = APIClient()
    token = base64.b64encode(f"ALICE:{PASSWORD}".encode()).decode()
    response = client.get("/api/v1/scorecards/", {"subject": "ALICE", **Q3}, HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200


# -------------------------------------------------------------- org and people


@pytest.mark.parametrize(
    "user, codes",
    [
        ("alice", []),
        ("mike", ["T1"]),
        ("dana", ["D1", "T1", "T2"]),
        ("olga", ["T3"]),
        ("hana", ["C", "D1", "D2", "T1", "T2", "T3"]),
    ],
)
def test_org_units_list_shows_visible_units_only(api, org, user, codes):
    rows = results(as_user(api, getattr(org, user)).get("/api/v1/org-units/"))
    assert sorted(r["code"] for r in rows) == codes


def test_org_unit_detail(api, org):
    response = as_user(api, org.mike).get("/api/v1/org-units/T1/")
    assert response.json() == {"code": "T1", "name": "Team One", "parent": "D1", "depth": 2}
    root = as_user(api, org.dirk).get("/api/v1/org-units/C/").json()
    assert (root["parent"], root["depth"]) == (None, 0)


@pytest.mark.parametrize("user, code", [("mike", "T3"), ("mike", "D1"), ("alice", "T1"), ("olga", "C"), ("dirk", "ZZ")])
def test_org_unit_outside_view_is_404(api, org, user, code):
    assert as_user(api, getattr(org, user)).get(f"/api/v1/org-units/{code}/").status_code == 404


def test_org_units_filter_by_parent(api, org):
    rows = results(as_user(api, org.dirk).get("/api/v1/org-units/", {"parent": "D1"}))
    assert [r["code"] for r in rows] == ["T1", "T2"]


@pytest.mark.parametrize(
    "user, codes",
    [
        ("alice", ["ALICE"]),
        ("mike", ["ALICE", "BOB", "MIKE"]),
        ("olga", ["OLGA"]),
        ("dana", ["ALICE", "BOB", "CARL", "DANA", "MIKE"]),
    ],
)
def test_people_list_shows_visible_people_only(api, org, user, codes):
    rows = results(as_user(api, getattr(org, user)).get("/api/v1/people/"))
    assert [r["employee_code"] for r in rows] == codes


def test_person_detail(api, org):
    data = as_user(api, org.mike).get("/api/v1/people/ALICE/").json()
    assert data == {
        "employee_code": "ALICE", "name": "Alice Agent", "email": "alice@example.com", "unit": "T1",
        "role": "agent", "manager": "MIKE", "is_active": True,
    }


@pytest.mark.parametrize("user, code", [("alice", "BOB"), ("mike", "CARL"), ("olga", "ALICE"), ("dirk", "NOPE")])
def test_person_outside_view_is_404(api, org, user, code):
    assert as_user(api, getattr(org, user)).get(f"/api/v1/people/{code}/").status_code == 404


def test_people_filters_by_unit_and_role(api, org):
    as_user(api, org.dirk)
    assert [r["employee_code"] for r in results(api.get("/api/v1/people/", {"unit": "T1"}))] == ["ALICE", "BOB", "MIKE"]
    managers = results(api.get("/api/v1/people/", {"role": "manager"}))
    assert [r["employee_code"] for r in managers] == ["DANA", "MIKE", "OLGA"]
    both = results(api.get("/api/v1/people/", {"unit": "T1", "role": "agent"}))
    assert [r["employee_code"] for r in both] == ["ALICE", "BOB"]
    # Filters narrow the visible set, never widen it.
    as_user(api, org.olga)
    assert results(api.get("/api/v1/people/", {"unit": "T1"})) == []


def test_lists_are_paginated(api, org):
    data = as_user(api, org.dirk).get("/api/v1/people/", {"limit": 2}).json()
    assert data["count"] == 8 and len(data["results"]) == 2 and data["next"]


# ------------------------------------------------------------------ library


def test_library_lists_for_every_signed_in_user(api, org):
    as_user(api, org.alice)
    assert [p["code"] for p in results(api.get("/api/v1/perspectives/"))] == [
        "financial", "customer", "internal_process", "learning_growth",
    ]
    assert len(results(api.get("/api/v1/measures/"))) == 21
    kpis = results(api.get("/api/v1/kpis/"))
    assert len(kpis) == 12
    fcr = api.get("/api/v1/kpis/fcr/").json()
    assert (fcr["perspective"], fcr["formula"], fcr["baseline"], fcr["typical"], fcr["excellent"]) == (
        "customer", "100 × first_contact_resolved / contacts_handled", 65, 72, 80,
    )


NEW_KPI = {
    "code": "transfer_rate", "name": "Transfer rate", "perspective": "internal_process",
    "formula": "100 × abandoned / contacts_handled", "unit": "%", "direction": "lower",
    "baseline": 10, "typical": 6, "excellent": 3, "weight": 20,
}


@pytest.mark.parametrize("user", ["alice", "mike", "hana"])
def test_library_writes_are_refused_for_non_editors(api, org, user):
    as_user(api, getattr(org, user))
    assert api.post("/api/v1/kpis/", NEW_KPI, format="json").status_code == 403
    assert api.patch("/api/v1/kpis/fcr/", {"typical": 73}, format="json").status_code == 403
    assert api.post("/api/v1/measures/", {"code": "x", "name": "X"}, format="json").status_code == 403
    assert api.put("/api/v1/weights/", {"perspectives": {}}, format="json").status_code == 403
    assert not Kpi.objects.filter(code="transfer_rate").exists()
    assert Kpi.objects.get(code="fcr").typical == 72


def test_director_creates_a_kpi_through_the_service(api, org):
    response = as_user(api, org.dirk).post("/api/v1/kpis/", NEW_KPI, format="json")
    assert response.status_code == 201, response.content
    kpi = Kpi.objects.get(code="transfer_rate")
    assert set(kpi.terms.values_list("measure__code", "part")) == {("abandoned", "num"), ("contacts_handled", "den")}
    # The other internal-process KPIs now share the remaining 80.
    assert sum(Kpi.objects.filter(perspective__code="internal_process").values_list("weight", flat=True)) == pytest.approx(100)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"typical": 12}, "typical"),  # not between baseline and excellent
        ({"formula": "100 × nothing / contacts_handled"}, "formula"),
        ({"formula": "a / b / c"}, "formula"),
        ({"weight": 100}, "weight"),
        ({"direction": "sideways"}, "direction"),
    ],
)
def test_invalid_kpi_is_400_with_field_messages(api, org, change, field):
    response = as_user(api, org.dirk).post("/api/v1/kpis/", {**NEW_KPI, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Kpi.objects.filter(code="transfer_rate").exists()


def test_director_updates_thresholds(api, org):
    response = as_user(api, org.dirk).patch("/api/v1/kpis/fcr/", {"baseline": 66, "typical": 73}, format="json")
    assert response.status_code == 200, response.content
    kpi = Kpi.objects.get(code="fcr")
    assert (kpi.baseline, kpi.typical, kpi.excellent) == (66, 73, 80)
    assert kpi.history.first().history_user_id == org.dirk.pk


def test_threshold_update_out_of_order_is_400(api, org):
    response = as_user(api, org.dirk).patch("/api/v1/kpis/aht/", {"typical": 500}, format="json")
    assert response.status_code == 400
    assert "typical" in response.json()
    assert Kpi.objects.get(code="aht").typical == 360


def test_weight_is_not_changed_through_the_kpi_endpoint(api, org):
    as_user(api, org.dirk).patch("/api/v1/kpis/fcr/", {"weight": 90}, format="json")
    assert Kpi.objects.get(code="fcr").weight == 25


def test_director_creates_a_measure(api, org):
    as_user(api, org.dirk)
    response = api.post("/api/v1/measures/", {"code": "transfers", "name": "Transfers"}, format="json")
    assert response.status_code == 201, response.content
    assert Measure.objects.filter(code="transfers").exists()
    again = api.post("/api/v1/measures/", {"code": "transfers", "name": "Again"}, format="json")
    assert again.status_code == 400 and "code" in again.json()


def test_weights_set(api, org):
    as_user(api, org.dirk)
    body = {
        "perspectives": {"financial": 10, "customer": 40, "internal_process": 30, "learning_growth": 20},
        "kpis": {"service_level": 40, "abandon_rate": 10, "fcr": 30, "csat": 20},
    }
    response = api.put("/api/v1/weights/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["perspectives"]["customer"] == 40
    assert Perspective.objects.get(code="customer").weight == 40
    assert Kpi.objects.get(code="fcr").weight == 30
    assert api.get("/api/v1/weights/").json()["kpis"]["service_level"] == 40


@pytest.mark.parametrize(
    "body, field",
    [
        ({"perspectives": {"financial": 10, "customer": 40, "internal_process": 30, "learning_growth": 30}}, "perspectives"),
        ({"perspectives": {"financial": 50, "customer": 50}}, "perspectives"),
        ({"kpis": {"service_level": 50, "abandon_rate": 50}}, "customer"),
        ({"kpis": {"training_completion": 0, "esat": 100}}, "learning_growth"),
        ({}, "non_field_errors"),
    ],
)
def test_bad_weights_are_400_and_nothing_changes(api, org, body, field):
    response = as_user(api, org.dirk).post("/api/v1/weights/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert set(Perspective.objects.values_list("weight", flat=True)) == {25}


# ------------------------------------------------------------------- imports
# The import APIs queue a job and answer 202: tests/scorecard/test_import_api.py.


# ------------------------------------------------------------ query counts


def more_data():
    """Grow every list: units, people, measures, KPIs."""
    extra = make_unit("T9", "Team Nine", OrgUnit.objects.get(code="D1"))
    mike = Person.objects.get(employee_code="MIKE")
    for i in range(5):
        make_person(f"X{i}", f"Extra {i}", extra, "agent", mike)
        make_person(f"Y{i}", f"Extra {i}", OrgUnit.objects.get(code="T1"), "agent", mike)
        make_unit(f"T1{i}", f"Sub {i}", OrgUnit.objects.get(code="T1"))
    for i in range(3):
        m = Measure.objects.create(code=f"extra_{i}", name=f"Extra {i}")
        kpi = Kpi.objects.create(
            code=f"extra_{i}", name="Extra", perspective=Perspective.objects.get(code="financial"), formula=m.code,
            direction="higher", baseline=1, typical=2, excellent=3, weight=1,
        )
        KpiTerm.objects.create(kpi=kpi, measure=m, part="num")


LISTS = [
    # user, url — expect 2 queries: the paginator's COUNT and one SELECT with its
    # joins; a manager's lists add 1 for their own unit (its path bounds the subtree).
    ("dirk", "/api/v1/org-units/"),
    ("dana", "/api/v1/org-units/"),  # + 1 for the manager's own unit (path)
    ("dirk", "/api/v1/people/"),
    ("mike", "/api/v1/people/?role=agent"),
    ("alice", "/api/v1/perspectives/"),
    ("alice", "/api/v1/measures/"),
    ("alice", "/api/v1/kpis/"),
    ("alice", "/api/v1/kpis/?perspective=financial"),
]


@pytest.mark.parametrize("user, url", LISTS)
def test_list_query_count_stays_constant(api, org, user, url, django_assert_max_num_queries):
    person = getattr(org, user)
    as_user(api, person)
    with CaptureQueriesContext(connection) as small:
        rows_before = len(results(api.get(url)))
    assert len(small) <= 3, [q["sql"] for q in small]
    more_data()
    as_user(api, person)
    with django_assert_max_num_queries(len(small)):
        rows_after = len(results(api.get(url)))
    assert rows_after > rows_before or url == "/api/v1/perspectives/"
