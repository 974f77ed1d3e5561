"""The cascade tree: the center down to agents, with progress and flags; each user sees only their part."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.template import Context, Template
from django.urls import reverse

from goals import cascades
from goals.models import Objective
from tests.base import make_person, make_unit
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


def tree_html(response) -> str:
    """The tree itself (the page's navigation has <details> too)."""
    body = response.content.decode()
    return body[body.index('id="ctree"'):body.index("</main>")]


def rows(response) -> dict[str, str]:
    """Each row's HTML by its objective id."""
    html = tree_html(response)
    parts = re.split(r'<li id="o(\d+)">', html)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_tree_page_renders_details_and_flags(client, org, tree):
    Objective.objects.filter(owner_person=org.bob).update(target=71, baseline=66, stretch=75)
    client.force_login(org.dirk)
    response = client.get(reverse("cascade-tree"), {"period": "2026-Q3"})
    html = tree_html(response)
    assert response.status_code == 200
    assert html.count("<details") == 5  # every node with children: C, D1, T1, T2, D2 (T3 has no agents)
    assert html.count("<details") == html.count("</details>")
    assert "misaligned: short by 1.5%" in html


def test_branches_open_to_a_fixed_depth_the_rest_closed(client, org, tree):
    center, _ = tree
    # A fourth level of units: T1's objective cascaded onto a sub-team gives T1 a child below depth 2.
    sub = make_unit("T1A", "Sub-team", org.t1)
    t1 = Objective.objects.get(owner_unit=org.t1)
    objective(sub, "fcr", parent=t1)
    Objective.objects.create(owner_person=org.alice, parent=Objective.objects.get(owner_unit=sub), **{
        f: getattr(t1, f) for f in ("period_start", "period_end", "due_date", "title", "kind", "kpi", "baseline",
                                    "target", "stretch", "weight", "status")}, created_by=org.dirk)
    client.force_login(org.dirk)
    html = tree_html(client.get(reverse("cascade-tree"), {"period": "2026-Q3"}))
    opened = re.findall(r"<details( open)?>", html)
    # Depths 0, 1, 2 (C, D1, D2, T1, T2) open; the sub-team's branch (depth 3) closed.
    assert opened.count(" open") == 5 and opened.count("") == 1


def test_numbers_have_units_kpi_decimals_and_no_negative_progress(client, org, tree):
    put(org.alice, "2026-07-06", contacts_handled=300, first_contact_resolved=200)  # 66.67 %, below baseline 70
    put(org.bob, "2026-07-06", contacts_handled=100, first_contact_resolved=80)  # 80 %: beyond the target 74
    client.force_login(org.dirk)
    by_owner = {}
    for html in rows(client.get(reverse("cascade-tree"), {"period": "2026-Q3"})).values():
        by_owner.setdefault(re.search(r'class="code">(\w+)<', html).group(1), html)
    alice, bob = by_owner["ALICE"], by_owner["BOB"]
    assert "74.0%" in alice and "66.7%" in alice  # the target and the value, one decimal, with the unit
    assert ">0 %<br>" in alice and "below baseline" in alice and not re.search(r"-\d", alice)
    assert "80.0%" in bob and "250 %" in bob  # (80 − 70) / (74 − 70): shown as it is
    assert "at risk" not in bob  # ahead of the target is never at risk


def test_columns_line_up_only_the_title_is_indented(client, org, tree):
    client.force_login(org.dirk)
    html = tree_html(client.get(reverse("cascade-tree"), {"period": "2026-Q3"}))
    depths = [int(d) for d in re.findall(r'class="crow[^"]*" style="--depth: (\d+)"', html)]
    assert depths == [0, 1, 2, 3, 3, 2, 3, 1, 2, 0]
    style = Template('{% include "goals/cascade_style.html" %}').render(Context())
    # The nested lists add no indent; the title cell is the only one moved by the depth.
    assert "ul.ctree, ul.ctree ul { list-style: none; margin: 0; padding: 0; }" in style
    assert "padding-left: calc(var(--depth, 0) * 1.25rem)" in style
    # The title cell, and the branch's toggle laid over it, are the only ones moved by the depth.
    assert style.count("--depth") == 2 and "left: calc(0.1rem + var(--depth, 0) * 1.25rem)" in style


def test_rows_link_to_their_objective_and_cascade_only_where_the_user_may(client, org, tree):
    center, _ = tree
    t1 = Objective.objects.get(owner_unit=org.t1)
    alice_objective = Objective.objects.get(owner_person=org.alice)
    client.force_login(org.mike)
    found = rows(client.get(reverse("cascade-tree"), {"period": "2026-Q3"}))
    assert reverse("objective-detail", args=[t1.pk]) in found[str(t1.pk)]
    assert reverse("objective-detail", args=[alice_objective.pk]) in found[str(alice_objective.pk)]
    # The center's objective is context above Mike's view: no link he would only meet a 404 behind.
    assert reverse("objective-detail", args=[center.pk]) not in found[str(center.pk)]
    assert reverse("objective-cascade", args=[center.pk]) not in found[str(center.pk)]
    d1 = Objective.objects.get(owner_unit=org.d1)
    assert reverse("objective-cascade", args=[d1.pk]) not in found[str(d1.pk)]  # Dana's, above him
    assert reverse("objective-cascade", args=[t1.pk]) in found[str(t1.pk)]  # his team's, onto his agents


def test_a_large_tree_lists_agents_objectives_on_demand(client, org, monkeypatch):
    monkeypatch.setattr(cascades, "PEOPLE_INLINE", 2)
    center = objective(org.center, "fcr")
    cascades.cascade_apply(user=org.dirk, objective=center, depth="agents", method="same")
    t1 = Objective.objects.get(owner_unit=org.t1)
    client.force_login(org.dirk)
    response = client.get(reverse("cascade-tree"), {"period": "2026-Q3"})
    found = rows(response)
    assert not Objective.objects.filter(owner_person__isnull=False, pk__in=[int(k) for k in found]).exists()
    assert "Show 2 agents&#x27; objectives" in found[str(t1.pk)] or "Show 2 agents' objectives" in found[str(t1.pk)]
    opened = client.get(reverse("cascade-tree"), {"period": "2026-Q3", "open": t1.pk})
    owners_shown = set(Objective.objects.filter(pk__in=[int(k) for k in rows(opened)], owner_person__isnull=False)
                       .values_list("owner_person__employee_code", flat=True))
    assert owners_shown == {"ALICE", "BOB"}  # T1's agents; Carl (T2) stays counted only


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


@pytest.mark.parametrize("agents", [3, 60])
def test_tree_page_queries_do_not_grow_with_the_number_of_agents(client, org, agents, django_assert_max_num_queries):
    """The same ceiling with 3 and with 60 more agents (listed inline, or counted under their team)."""
    center = objective(org.center, "fcr")
    for i in range(agents):
        make_person(f"N{i:03d}", f"Agent {i}", (org.t1, org.t2, org.t3)[i % 3], "agent", org.dana)
    cascades.cascade_apply(user=org.dirk, objective=center, depth="agents", method="same")
    put(org.alice, "2026-07-06", contacts_handled=100, first_contact_resolved=60)
    put(org.alice, "2026-03-06", contacts_handled=100, first_contact_resolved=60)
    t1 = Objective.objects.get(owner_unit=org.t1)
    url = reverse("cascade-tree") + "?period=2026-Q3"
    for user in (org.dirk, org.dana, org.alice):
        client.force_login(user)
        for page in (url, f"{url}&open={t1.pk}"):
            client.get(page)  # warm the caches
            # Session, user, filter choices (2), cache token, objectives, parent links, chain above,
            # progress (paths 2 + sums 1), unit paths, alignment (children, sums), user's unit.
            with django_assert_max_num_queries(16):
                response = client.get(page)
            assert response.status_code == 200
    assert Objective.objects.filter(owner_person__isnull=False).count() == agents + 3


def test_a_branch_toggle_holds_no_link_and_names_its_objective(client, org, tree):
    """A <summary> is a button: links inside it are unreachable for keyboards and screen readers (axe:
    nested-interactive). The toggle is its own control, named after the objective it opens."""
    client.force_login(org.dirk)
    html = tree_html(client.get(reverse("cascade-tree"), {"period": "2026-Q3"}))
    summaries = re.findall(r"<summary\b.*?</summary>", html, re.S)
    assert len(summaries) == 5
    for summary in summaries:
        assert "<a " not in summary
        assert "Objectives contributing to" in summary


def test_row_texts_made_in_the_view_are_escaped_once_and_translated(client, org, tree, monkeypatch):
    """The rows' words come ready from the view (for speed): a title is escaped exactly once in the toggle's
    name, and the flags and counts read in the reader's language as the template tags printed them."""
    monkeypatch.setattr(cascades, "PEOPLE_INLINE", 2)
    center, _ = tree
    Objective.objects.filter(pk=center.pk).update(title='Resolve <b>first</b> & "fast"')
    t1 = Objective.objects.get(owner_unit=org.t1)
    client.force_login(org.dirk)
    found = rows(client.get(reverse("cascade-tree"), {"period": "2026-Q3"}))
    row = found[str(center.pk)]
    assert "<b>first</b>" not in row and "&amp;amp;" not in row
    assert "Objectives contributing to “Resolve &lt;b&gt;first&lt;/b&gt; &amp; &quot;fast&quot;” (" in row
    assert "Show 2 agents' objectives" in found[str(t1.pk)]
    client.cookies["django_language"] = "zh-hans"
    zh = rows(client.get(reverse("cascade-tree"), {"period": "2026-Q3"}, HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert "Objectives contributing to" not in zh[str(center.pk)] and "&lt;b&gt;first&lt;/b&gt;" in zh[str(center.pk)]
    assert "Show 2" not in zh[str(t1.pk)] and "2" in zh[str(t1.pk)]
