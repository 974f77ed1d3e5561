"""The cascade tree: the center down to agents, with progress and flags; each user sees only their part."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from goals import cascades
from goals.models import Objective
from tests.base import make_person
from tests.factories import put
from tests.goals.test_cascades import objective

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


@pytest.fixture
def tree(org):
    """The center's FCR objective cascaded to every agent, plus D2's own and T3's own objectives."""
    center = objective(org.center, "fcr")
    cascades.cascade_apply(user=org.dirk, objective=center, depth="agents", method="same")
    d2_own = objective(org.d2, "csat", baseline=75, target=85, stretch=92, title="D2 CSAT")
    return center, d2_own


def owners(user, **filters):
    nodes = cascades.cascade_tree(user, start=Q3[0], end=Q3[1], today=dt.date(2026, 8, 15), **filters)
    return [n.objective.owner_code for n in nodes], nodes


def test_director_sees_everything_in_tree_order(org, tree):
    codes, nodes = owners(org.dirk)
    assert codes == ["C", "D1", "T1", "ALICE", "BOB", "T2", "CARL", "D2", "T3", "D2"]
    assert [n.depth for n in nodes] == [0, 1, 2, 3, 3, 2, 3, 1, 2, 0]


def test_agent_sees_only_the_chain_above_their_own_objectives(org, tree):
    codes, nodes = owners(org.alice)
    assert codes == ["C", "D1", "T1", "ALICE"]  # nothing of Bob's
    # The chain above is context: shown, not opened (outside the agent's own objectives).
    assert [n.matches for n in nodes] == [False, False, False, True]


def test_manager_sees_their_subtree_and_the_chain_above(org, tree):
    assert owners(org.mike)[0] == ["C", "D1", "T1", "ALICE", "BOB"]
    assert owners(org.dana)[0] == ["C", "D1", "T1", "ALICE", "BOB", "T2", "CARL"]


def test_olga_sees_nothing_of_t1(org, tree):
    codes, _ = owners(org.olga)
    assert codes == ["C", "D2", "T3"]  # D2's own objective is above her, not on her chain
    assert not {"D1", "T1", "ALICE", "BOB"} & set(codes)


def test_filters_keep_the_chain_above_the_matches(org, tree):
    Objective.objects.filter(owner_person=org.bob).update(status="agreed")
    codes, nodes = owners(org.dirk, status="agreed")
    assert codes == ["C", "D1", "T1", "BOB", "D2"]
    assert {n.objective.owner_code: n.matches for n in nodes} == {"C": True, "D1": False, "T1": False, "BOB": True, "D2": True}
    assert owners(org.dirk, kpi="csat")[0] == ["D2"]
    assert owners(org.dirk, perspective="customer")[0] == owners(org.dirk)[0]  # FCR and CSAT are both customer KPIs
    assert owners(org.dirk, perspective="financial")[0] == []


def test_progress_at_risk_and_misaligned_flags(org, tree):
    center, _ = tree
    put(org.alice, "2026-07-06", contacts_handled=100, first_contact_resolved=60)
    put(org.alice, "2026-07-13", contacts_handled=100, first_contact_resolved=58)
    Objective.objects.filter(owner_person=org.bob).update(target=71, baseline=66, stretch=75)  # below T1's 74
    _codes, nodes = owners(org.dirk)
    by = {(n.objective.owner_code, n.depth): n for n in nodes}
    alice = by[("ALICE", 3)]
    assert alice.progress.value == pytest.approx(59)
    assert alice.progress.at_risk
    t1 = by[("T1", 2)]
    assert not t1.alignment.aligned and t1.alignment.gap == pytest.approx(1.5)  # (74 + 71) / 2, no previous volume
    assert by[("D1", 1)].alignment.aligned


def test_tree_page_renders_details_and_flags(client, org, tree):
    Objective.objects.filter(owner_person=org.bob).update(target=71, baseline=66, stretch=75)
    client.force_login(org.dirk)
    response = client.get(reverse("cascade-tree"), {"period": "2026-Q3"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<details") == 5  # every node with children: C, D1, T1, T2, D2 (T3 has no agents)
    assert body.count("<details") == body.count("</details>")
    assert "misaligned: short by 1.50 %" in body


def test_tree_page_for_an_agent_shows_nothing_of_peers(client, org, tree):
    client.force_login(org.alice)
    body = client.get(reverse("cascade-tree"), {"period": "2026-Q3"}).content.decode()
    assert "Alice Agent" in body and "Bob Peer" not in body and "Carl Two" not in body


def test_tree_page_bad_period_is_a_400(client, org):
    client.force_login(org.dirk)
    response = client.get(reverse("cascade-tree"), {"period": "2026-Q7"})
    assert response.status_code == 400
    assert str(cascades.BAD_PERIOD) in response.content.decode()


def test_tree_api(client, org, tree):
    client.force_login(org.alice)
    response = client.get("/api/v1/goals/tree/", {"period": "2026-Q3"})
    assert response.status_code == 200
    nodes = response.json()["nodes"]
    assert [n["owner"]["code"] for n in nodes] == ["C", "D1", "T1", "ALICE"]
    assert nodes[0]["parent"] is None and nodes[3]["parent"] == nodes[2]["id"]
    assert {"value", "progress", "at_risk", "misaligned", "gap"} <= set(nodes[0])
    assert client.get("/api/v1/goals/tree/", {"period": "bad"}).status_code == 400


def test_tree_page_queries_do_not_grow_with_the_number_of_agents(client, org, django_assert_max_num_queries):
    center = objective(org.center, "fcr")
    for i in range(60):
        make_person(f"N{i:03d}", f"Agent {i}", (org.t1, org.t2, org.t3)[i % 3], "agent", org.dana)
    cascades.cascade_apply(user=org.dirk, objective=center, depth="agents", method="same")
    put(org.alice, "2026-07-06", contacts_handled=100, first_contact_resolved=60)
    put(org.alice, "2026-03-06", contacts_handled=100, first_contact_resolved=60)
    url = reverse("cascade-tree") + "?period=2026-Q3"
    for user in (org.dirk, org.dana, org.alice):
        client.force_login(user)
        client.get(url)  # warm the caches
        # Session, user, filter choices (2), cache token, objectives, parent links, chain above,
        # progress (paths 2 + sums 1), unit paths, alignment (children, sums), user's unit.
        with django_assert_max_num_queries(16):
            response = client.get(url)
        assert response.status_code == 200
    assert Objective.objects.filter(owner_person__isnull=False).count() == 63
