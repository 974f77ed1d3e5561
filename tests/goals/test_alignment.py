"""Alignment: do a parent's children together reach its target? Ratios weighted by previous volume, volumes by sum."""

from __future__ import annotations

import pytest

from goals import cascades
from tests.factories import put
from tests.goals.test_cascades import objective, sales_kpi  # noqa: F401 (fixture)


def test_volume_children_are_compared_by_their_sum(org, sales_kpi):  # noqa: F811
    parent = objective(org.t1, "sales", baseline=800, target=1000, stretch=1200)
    objective(org.alice, "sales", baseline=300, target=400, stretch=500, parent=parent)
    objective(org.bob, "sales", baseline=300, target=500, stretch=600, parent=parent)
    a = cascades.alignment_for([parent])[parent.pk]
    assert (a.aligned, a.combined, a.gap, a.children) == (False, 900, 100, 2)
    objective(org.bob, "sales", baseline=50, target=100, stretch=150, parent=parent)
    assert cascades.alignment_for([parent])[parent.pk].aligned


def test_ratio_children_are_weighted_by_their_previous_volume(org):
    # Previous equivalent period of Q3: 2026-03-31 … 2026-06-30. FCR's volume is contacts_handled.
    put(org.alice, "2026-06-01", contacts_handled=300, first_contact_resolved=210)
    put(org.bob, "2026-05-01", contacts_handled=100, first_contact_resolved=70)
    put(org.bob, "2026-07-01", contacts_handled=5000)  # this period: not the weight
    parent = objective(org.t1, "fcr", target=74)
    objective(org.alice, "fcr", baseline=68, target=72, stretch=76, parent=parent)
    objective(org.bob, "fcr", baseline=74, target=78, stretch=82, parent=parent)
    a = cascades.alignment_for([parent])[parent.pk]
    # (72 × 300 + 78 × 100) / 400 = 73.5: short of 74 by 0.5 (a plain mean, 75, would hide it).
    assert a.combined == pytest.approx(73.5)
    assert (a.aligned, a.weighted, a.unit) == (False, True, "%")
    assert a.gap == pytest.approx(0.5)


def test_ratio_unit_children_weigh_their_whole_subtree(org):
    put(org.alice, "2026-06-01", contacts_handled=100)
    put(org.bob, "2026-06-01", contacts_handled=100)
    put(org.carl, "2026-06-01", contacts_handled=200)
    parent = objective(org.d1, "fcr", target=74)
    objective(org.t1, "fcr", baseline=70, target=76, stretch=80, parent=parent)
    objective(org.t2, "fcr", baseline=68, target=72, stretch=78, parent=parent)
    a = cascades.alignment_for([parent])[parent.pk]
    assert a.combined == pytest.approx(74) and a.aligned and a.gap == 0


def test_lower_is_better_kpis_compare_the_other_way(org):
    put(org.alice, "2026-06-01", contacts_handled=100)
    put(org.bob, "2026-06-01", contacts_handled=100)
    parent = objective(org.t1, "aht", baseline=420, target=360, stretch=300)
    objective(org.alice, "aht", baseline=400, target=350, stretch=300, parent=parent)
    objective(org.bob, "aht", baseline=420, target=380, stretch=330, parent=parent)
    a = cascades.alignment_for([parent])[parent.pk]
    assert a.combined == pytest.approx(365)
    assert not a.aligned and a.gap == pytest.approx(5) and a.unit == "s"


def test_without_previous_volume_children_weigh_equally(org):
    parent = objective(org.t1, "fcr", target=74)
    objective(org.alice, "fcr", baseline=68, target=72, stretch=76, parent=parent)
    objective(org.bob, "fcr", baseline=74, target=78, stretch=82, parent=parent)
    a = cascades.alignment_for([parent])[parent.pk]
    assert (a.combined, a.weighted, a.aligned) == (75, False, True)


def test_cancelled_children_and_childless_parents_are_left_out(org):
    parent = objective(org.t1, "fcr", target=74)
    lonely = objective(org.t2, "fcr", target=74)
    objective(org.alice, "fcr", baseline=60, target=65, stretch=70, parent=parent, status="cancelled")
    assert cascades.alignment_for([parent, lonely]) == {}


def test_alignment_takes_constant_queries(org, django_assert_num_queries):
    from tests.base import make_person

    parents = []
    for team, agents in ((org.t1, (org.alice, org.bob)), (org.t2, (org.carl,))):
        p = objective(team, "fcr", target=74)
        for agent in agents:
            objective(agent, "fcr", baseline=68, target=72, stretch=76, parent=p)
        parents.append(p)
    cascades.alignment_for(parents)  # warm the library cache
    # Library token (1), children (1), unit paths (1), one grouped volume sum (1).
    with django_assert_num_queries(4):
        cascades.alignment_for(parents)
    for i in range(20):
        agent = make_person(f"X{i}", f"X {i}", org.t2, "agent", org.dana)
        objective(agent, "fcr", baseline=68, target=72, stretch=76, parent=parents[1])
    cascades.alignment_for(parents)
    with django_assert_num_queries(4):
        result = cascades.alignment_for(parents)
    assert result[parents[1].pk].children == 21
