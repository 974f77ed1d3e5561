"""League tables: a unit's ranking over its whole subtree, and the agent's standing in the team per KPI.

The center C has D1 (T1: Alice, Bob; T2: Carl) and D2 (T3: no agent).
"""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from scorecard import selectors
from scorecard.models import Measure, Measurement
from tests.base import make_person
from tests.factories import put

Q3 = {"start": "2026-07-01", "end": "2026-09-30"}


def _get(client, user, url, data=None, **extra):
    client.force_login(user)
    return client.get(url, data or {}, **extra)


@pytest.fixture
def scored(org):
    # FCR scores 95, 74.29 and 87.5; AHT (330 s, 400 s, 290 s) scores 90, 46.67 and 100.
    put(org.alice, "2026-07-02", first_contact_resolved=780, contacts_handled=1000, handle_seconds=330_000)  # 95.0
    put(org.bob, "2026-07-02", first_contact_resolved=700, contacts_handled=1000, handle_seconds=400_000)  # 74.29
    put(org.carl, "2026-07-02", first_contact_resolved=750, contacts_handled=1000, handle_seconds=290_000)  # 87.5
    return org


def codes(response):
    return [(r["m"].obj.code, r["rank"]) for r in response.context["rows"]]


# ------------------------------------------------------------- the ranking page


def test_the_center_ranks_every_agent_beneath_it_not_only_the_level_below(client, scored):
    response = _get(client, scored.dirk, reverse("ranking", args=["C"]), {**Q3, "level": "agents"})

    assert response.status_code == 200
    assert response.context["kind"] == "agents"
    # Overall: the customer perspective's FCR and the internal process's AHT, by agent.
    assert [c for c, _rank in codes(response)] == ["CARL", "ALICE", "BOB"]
    assert [rank for _c, rank in codes(response)] == [1, 2, 3]
    text = response.text
    for code in ("ALICE", "BOB", "CARL"):
        assert f'href="{reverse("scorecard", args=[code])}?start=2026-07-01&amp;end=2026-09-30"' in text
    assert "Team One" in text and "Team Two" in text  # each agent's team


def test_the_center_ranks_every_team_however_deep(client, scored):
    response = _get(client, scored.dirk, reverse("ranking", args=["C"]), {**Q3, "level": "teams"})

    assert response.context["kind"] == "teams"
    assert sorted(c for c, _rank in codes(response)) == ["T1", "T2", "T3"]
    assert codes(response)[-1] == ("T3", None)  # no data: listed last, unranked
    assert response.context["table"].levels == ["units", "teams", "agents"]


def test_the_default_level_is_still_the_units_directly_below(client, scored):
    response = _get(client, scored.dirk, reverse("ranking", args=["C"]), Q3)

    assert response.context["kind"] == "units"
    assert sorted(c for c, _rank in codes(response)) == ["D1", "D2"]


def test_a_team_offers_only_its_agents(client, scored):
    response = _get(client, scored.mike, reverse("ranking", args=["T1"]), {**Q3, "level": "teams"})

    assert response.context["kind"] == "agents"
    assert response.context["table"].levels == ["agents"]


def test_sorting_by_a_kpi_ranks_on_its_score_and_shows_its_value_with_the_unit(client, scored):
    response = _get(client, scored.dirk, reverse("ranking", args=["C"]), {**Q3, "level": "agents", "sort": "fcr"})

    assert codes(response) == [("ALICE", 1), ("CARL", 2), ("BOB", 3)]
    assert response.context["sort_kpi"].code == "fcr"
    assert "78%" in response.text and "70%" in response.text
    assert "(%)" in response.text  # the KPI's column names its unit


def test_a_lower_is_better_kpi_ranks_the_lowest_value_first(client, scored):
    response = _get(client, scored.dirk, reverse("ranking", args=["C"]), {**Q3, "level": "agents", "sort": "aht"})

    # 290 s is beyond the excellent 300 s (100); 330 s scores 90; 400 s scores 46.67.
    assert codes(response) == [("CARL", 1), ("ALICE", 2), ("BOB", 3)]
    assert "290 s" in response.text


def test_sorting_by_a_perspective_ranks_on_it(client, scored):
    response = _get(client, scored.dirk, reverse("ranking", args=["C"]),
                    {**Q3, "level": "agents", "sort": "customer"})

    assert codes(response) == [("ALICE", 1), ("CARL", 2), ("BOB", 3)]


def test_equal_scores_share_a_rank(client, org):
    for person in (org.alice, org.bob, org.carl):
        put(person, "2026-07-02", first_contact_resolved=900, contacts_handled=1000)  # all beyond excellent
    put(org.carl, "2026-07-02", first_contact_resolved=950)  # better value, same capped score

    response = _get(client, org.dirk, reverse("ranking", args=["C"]), {**Q3, "level": "agents"})
    assert [rank for _c, rank in codes(response)] == [1, 1, 1]

    # By the KPI itself, the value tells equal scores apart.
    response = _get(client, org.dirk, reverse("ranking", args=["C"]), {**Q3, "level": "agents", "sort": "fcr"})
    assert codes(response)[0] == ("CARL", 1)
    assert [rank for _c, rank in codes(response)][1:] == [2, 2]


def test_an_unknown_level_or_sort_falls_back_to_the_default(client, scored):
    response = _get(client, scored.dirk, reverse("ranking", args=["C"]), {**Q3, "level": "x", "sort": "nope"})

    assert response.status_code == 200
    assert response.context["kind"] == "units" and response.context["sort"] == "overall"


@pytest.mark.parametrize("user, code", [("mike", "D1"), ("mike", "C"), ("olga", "D1"), ("alice", "T1"), ("dana", "D2")])
def test_the_league_table_answers_404_to_who_may_not_see_the_unit(client, scored, user, code):
    response = _get(client, getattr(scored, user), reverse("ranking", args=[code]), {**Q3, "level": "agents"})

    assert response.status_code == 404


def test_a_manager_ranks_every_agent_of_their_department(client, scored):
    response = _get(client, scored.dana, reverse("ranking", args=["D1"]), {**Q3, "level": "agents"})

    assert sorted(c for c, _rank in codes(response)) == ["ALICE", "BOB", "CARL"]


def test_the_league_table_renders_in_chinese(client, scored):
    response = _get(client, scored.dirk, reverse("ranking", args=["C"]), {**Q3, "level": "agents", "sort": "fcr"},
                    HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert "下属全部坐席" in response.text and "一次解决率" in response.text


def _more_agents(org, n):
    """n more agents spread over T1, T2 and T3, each with a day of figures."""
    measures = dict(Measure.objects.values_list("code", "pk"))
    teams = [org.t1, org.t2, org.t3]
    rows = []
    for i in range(n):
        person = make_person(f"Y{i:03}", f"Extra {i:03}", teams[i % 3], "agent")
        for code, value in (("first_contact_resolved", 700 + i), ("contacts_handled", 1000)):
            rows.append(Measurement(date=dt.date(2026, 7, 3), unit_id=person.unit_id, person=person,
                                    measure_id=measures[code], value=value))
    Measurement.objects.bulk_create(rows)


# Queries, whatever the subtree's size: session, user, navigation (home code), org token, subject unit,
# subtree ids, breadcrumb, library version, subtree, agents, grouped sums, objective thresholds = 12,
# plus whatever the navigation's to-do counts need (a few): pinned at 16.
@pytest.mark.parametrize("level, sort", [("agents", "overall"), ("agents", "fcr"), ("teams", "customer")])
def test_the_league_table_takes_the_same_queries_for_3_or_60_agents(
    client, scored, django_assert_max_num_queries, level, sort
):
    client.force_login(scored.dirk)
    url = reverse("ranking", args=["C"])
    params = {**Q3, "level": level, "sort": sort}
    client.get(url, params)  # warm the library cache
    selectors._SUBJECT_CACHE.clear()
    with django_assert_max_num_queries(16) as small:
        assert client.get(url, params).status_code == 200

    _more_agents(scored, 57)
    selectors._SUBJECT_CACHE.clear()
    with django_assert_max_num_queries(16) as large:
        response = client.get(url, params)

    assert len(large) == len(small)
    if level == "agents":
        assert len(response.context["rows"]) == 60


# ------------------------------------------------------- the agent's scorecard


def test_the_agents_scorecard_shows_the_teams_value_and_her_rank_for_each_kpi(client, scored):
    response = _get(client, scored.alice, reverse("scorecard", args=["ALICE"]), Q3)

    rows = {kr["r"].code: kr for row in response.context["perspectives"] for kr in row["kpis"]}
    assert rows["fcr"]["team"].rank == 1 and rows["fcr"]["team"].ranked == 2
    assert rows["fcr"]["team_value"] == "74%"  # (780 + 700) / 2000, the team's own value
    assert rows["aht"]["team"].rank == 1
    assert rows["csat"]["team"].rank is None  # nobody has a score
    text = response.text
    assert "rank 1 of 2" in text and "Team Team One" in text


def test_bob_sees_his_own_rank_in_the_team(client, scored):
    response = _get(client, scored.bob, reverse("scorecard", args=["BOB"]), Q3)

    assert "rank 2 of 2" in response.text


def test_the_team_standing_reads_in_chinese(client, scored):
    response = _get(client, scored.alice, reverse("scorecard", args=["ALICE"]), Q3, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert "第 1 名，共 2 人" in response.text


def test_unit_scorecards_have_no_team_column(client, scored):
    response = _get(client, scored.mike, reverse("scorecard", args=["T1"]), Q3)

    assert response.context["team"] is None
    assert "rank 1 of" not in response.text


def test_the_agents_scorecard_takes_the_same_queries_for_a_team_of_2_or_22(
    client, scored, django_assert_max_num_queries
):
    client.force_login(scored.alice)
    url = reverse("scorecard", args=["ALICE"])
    client.get(url, Q3)
    selectors._SUBJECT_CACHE.clear()
    with django_assert_max_num_queries(21) as small:
        client.get(url, Q3)
    _more_agents(scored, 60)  # 20 more on T1
    selectors._SUBJECT_CACHE.clear()
    with django_assert_max_num_queries(21) as large:
        response = client.get(url, Q3)

    assert len(large) == len(small)
    rows = {kr["r"].code: kr for row in response.context["perspectives"] for kr in row["kpis"]}
    assert rows["fcr"]["team"].ranked == 22


# ------------------------------------------------------------------ the API


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_ranking_api_takes_level_and_sort(scored):
    response = api(scored.dirk).get(reverse("api-ranking", args=["C"]), {**Q3, "level": "agents", "sort": "fcr"})

    assert response.status_code == 200
    body = response.json()
    assert body["level"] == "agents" and body["sort"] == "fcr" and body["levels"] == ["units", "teams", "agents"]
    assert [(m["code"], m["rank"]) for m in body["members"]] == [("ALICE", 1), ("CARL", 2), ("BOB", 3)]
    assert body["members"][0]["kpi"] == {"code": "fcr", "unit": "%", "value": pytest.approx(78.0),
                                         "score": pytest.approx(95.0), "band": "green"}
    assert set(body["members"][0]["perspectives"]) == {"financial", "customer", "internal_process", "learning_growth"}


def test_the_ranking_api_defaults_to_the_units_below_by_overall_score(scored):
    body = api(scored.dirk).get(reverse("api-ranking", args=["D1"]), Q3).json()

    assert body["level"] == "units" and body["sort"] == "overall"
    assert [m["code"] for m in body["members"]] == ["T2", "T1"]  # T2: 93.75; T1: FCR 74 % and AHT 365 s
    assert all(m["kpi"] is None for m in body["members"])


@pytest.mark.parametrize("params, field", [
    ({**Q3, "level": "floors"}, "level"),
    ({**Q3, "sort": "speed"}, "sort"),
    ({"start": "2026-09-30", "end": "2026-07-01"}, None),
    ({}, "start"),
])
def test_the_ranking_api_refuses_bad_parameters_with_400(scored, params, field):
    response = api(scored.dirk).get(reverse("api-ranking", args=["C"]), params)

    assert response.status_code == 400
    if field:
        assert field in response.json()


@pytest.mark.parametrize("user, code", [
    ("alice", "T1"), ("alice", "ALICE"), ("olga", "T1"), ("mike", "D1"), ("dirk", "ALICE"), ("dirk", "NOPE"),
])
def test_the_ranking_api_answers_404_for_what_the_caller_may_not_rank(scored, user, code):
    response = api(getattr(scored, user)).get(reverse("api-ranking", args=[code]), {**Q3, "level": "agents"})

    assert response.status_code == 404


def test_the_ranking_api_needs_a_login(scored):
    response = api().get(reverse("api-ranking", args=["C"]), Q3)

    assert response.status_code in (401, 403)


def test_a_manager_ranks_their_team_through_the_api(scored):
    response = api(scored.mike).get(reverse("api-ranking", args=["T1"]), {**Q3, "sort": "aht"})

    assert response.status_code == 200
    assert [m["code"] for m in response.json()["members"]] == ["ALICE", "BOB"]
