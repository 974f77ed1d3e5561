"""The SMART check, letter by letter, with the examples of DOMAIN.md.

"improve sales conversion within 2 months" has a deadline but no measurable
target; "raise QA score 10% through coaching" is measurable only if the
baseline is known.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from goals.smart import FAIL, PASS, WARN, blocking, previous_periods, smart_check
from scorecard.models import Kpi
from tests.base import make_person, make_unit
from tests.factories import put

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
PREV = "2026-05-15"  # inside the previous equivalent period (2026-03-31 – 2026-06-30)
BEFORE = "2026-02-15"  # inside the period before that (2025-12-29 – 2026-03-30)


def check(owner=None, **values):
    fields = dict(
        owner=owner, kind="kpi", title="Raise FCR", result="Resolve more contacts at first touch",
        baseline=70, target=74, stretch=78, resources="Coaching",
        due_date=Q3[1], period_start=Q3[0], period_end=Q3[1],
    )
    fields.update(values)
    if "kpi" not in fields:
        fields["kpi"] = Kpi.objects.get(code="fcr")
    return {r.letter: r for r in smart_check(**fields)}


def test_results_come_in_smart_order(org):
    assert list(check(org.alice)) == ["S", "M", "A", "R", "T"]


def test_previous_periods_have_the_same_length_right_before():
    (p2_start, p2_end), (p_start, p_end) = previous_periods(*Q3)

    assert (p_start, p_end) == (dt.date(2026, 3, 31), dt.date(2026, 6, 30))
    assert (p2_start, p2_end) == (dt.date(2025, 12, 29), dt.date(2026, 3, 30))


# ----------------------------------------------------- DOMAIN.md's examples


def test_improve_sales_conversion_within_2_months_has_no_measurable_target(org):
    r = check(
        org.alice, title="Improve sales conversion within 2 months", result="Improve sales conversion",
        kpi=Kpi.objects.get(code="conversion_rate"), baseline=None, target=None, stretch=None,
        period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 8, 31), due_date=dt.date(2026, 8, 31),
    )

    assert r["T"].status == PASS  # it has a deadline
    assert r["M"].status == FAIL  # but no measurable target
    assert "baseline, target, stretch" in r["M"].reason and "%" in r["M"].reason
    assert [b.letter for b in blocking(list(r.values()))] == ["M"]


def test_raise_qa_score_10_percent_is_measurable_only_with_a_known_baseline(org):
    qa = Kpi.objects.get(code="qa_score")
    without = check(org.alice, title="Raise QA score 10% through coaching", kpi=qa,
                    baseline=None, target=88, stretch=92)
    known = check(org.alice, title="Raise QA score 10% through coaching", kpi=qa,
                  baseline=80, target=88, stretch=92)

    assert without["M"].status == FAIL and "baseline" in without["M"].reason
    assert known["M"].status == PASS
    assert "80%" in known["M"].reason and "88%" in known["M"].reason


# ------------------------------------------------------------------- letters


def test_specific_needs_a_stated_result(org):
    assert check(org.alice, result=" ")["S"].status == FAIL


def test_specific_needs_a_kpi_or_a_completion_criterion(org):
    assert check(org.alice, kpi=None)["S"].status == FAIL
    assert check(org.alice, kind="milestone", kpi=None, completion_criterion="Script live",
                 verification="QA sign-off")["S"].status == PASS


def test_measurable_needs_the_values_ordered_in_the_kpis_direction(org):
    aht = Kpi.objects.get(code="aht")

    wrong = check(org.alice, kpi=aht, baseline=300, target=360, stretch=420)["M"]
    right = check(org.alice, kpi=aht, baseline=420, target=360, stretch=300)["M"]

    assert wrong.status == FAIL and "Lower is better" in wrong.reason
    assert right.status == PASS and "360 s" in right.reason


def test_measurable_milestone_names_how_completion_is_verified(org):
    base = dict(kind="milestone", kpi=None, completion_criterion="New script live")

    assert check(org.alice, **base, verification="")["M"].status == FAIL
    assert check(org.alice, **base, verification="QA signs off")["M"].status == PASS


def test_realistic_warns_when_resources_are_not_written_down(org):
    r = check(org.alice, resources="")["R"]

    assert r.status == WARN and not r.blocks
    assert check(org.alice)["R"].status == PASS


def test_time_based_needs_a_due_date_inside_the_period(org):
    assert check(org.alice, due_date=None)["T"].status == FAIL
    outside = check(org.alice, due_date=dt.date(2026, 10, 1))["T"]
    assert outside.status == FAIL and outside.blocks
    assert check(org.alice)["T"].status == PASS


def test_blocking_letters_are_s_m_and_t_only(org):
    results = list(check(org.alice, result="", resources="", due_date=None, baseline=None).values())

    assert sorted(b.letter for b in blocking(results)) == ["M", "S", "T"]


# ---------------------------------------------------------------- attainable


def fcr_data(person, day, rate):
    put(person, day, first_contact_resolved=rate * 10, contacts_handled=1000)


def test_attainable_warns_without_data_for_the_previous_period(org):
    r = check(org.alice)["A"]

    assert r.status == WARN and "no data for the previous period" in r.reason


def test_attainable_passes_within_the_best_peer_improvement(org):
    fcr_data(org.alice, PREV, 70)
    fcr_data(org.bob, BEFORE, 68)
    fcr_data(org.bob, PREV, 71)  # Bob improved by 3 points

    r = check(org.alice, baseline=68, target=72, stretch=76)["A"]

    assert r.status == PASS
    assert "2%" in r.reason and "70%" in r.reason and "3%" in r.reason


def test_attainable_warns_beyond_the_best_peer_improvement(org):
    fcr_data(org.alice, PREV, 70)
    fcr_data(org.bob, BEFORE, 68)
    fcr_data(org.bob, PREV, 71)

    r = check(org.alice, baseline=70, target=76, stretch=79)["A"]

    assert r.status == WARN and not r.blocks
    assert "6%" in r.reason and "3%" in r.reason


def test_attainable_warns_far_beyond_the_excellent_value(org):
    fcr_data(org.alice, PREV, 79)

    # fcr: typical 72, excellent 80 — more than 8 points beyond 80 is far.
    r = check(org.alice, baseline=79, target=89, stretch=95)["A"]

    assert r.status == WARN and "far beyond" in r.reason and "80%" in r.reason


def test_attainable_for_a_lower_is_better_kpi_reads_the_direction(org):
    aht = Kpi.objects.get(code="aht")
    put(org.alice, PREV, handle_seconds=400 * 100, contacts_handled=100)
    put(org.bob, BEFORE, handle_seconds=400 * 100, contacts_handled=100)
    put(org.bob, PREV, handle_seconds=380 * 100, contacts_handled=100)  # 20 s better

    easy = check(org.alice, kpi=aht, baseline=420, target=390, stretch=330)["A"]
    hard = check(org.alice, kpi=aht, baseline=420, target=350, stretch=330)["A"]

    assert easy.status == PASS
    assert hard.status == WARN and "50 s" in hard.reason


def test_attainable_for_a_unit_compares_with_its_sibling_units(org):
    fcr_data(org.alice, PREV, 70)  # T1's data comes from its agents
    fcr_data(org.carl, BEFORE, 60)
    fcr_data(org.carl, PREV, 65)  # T2 improved by 5

    assert check(org.t1, baseline=68, target=74, stretch=78)["A"].status == PASS
    assert check(org.t1, baseline=68, target=76, stretch=79)["A"].status == WARN


def test_attainable_for_the_center_uses_all_rows(org):
    fcr_data(org.alice, PREV, 70)

    r = check(org.center, baseline=68, target=72, stretch=76)["A"]

    assert r.status == PASS and "no peer data" in r.reason


def test_attainable_is_a_warning_for_milestones(org):
    r = check(org.alice, kind="milestone", kpi=None, completion_criterion="x", verification="y")["A"]

    assert r.status == WARN


@pytest.mark.parametrize("owner", ["alice", "t1"])
def test_attainable_query_count_does_not_grow_with_the_peers(org, owner):
    fcr = Kpi.objects.get(code="fcr")
    fcr_data(org.alice, PREV, 70)
    fcr_data(org.bob, BEFORE, 68)
    check(getattr(org, owner), kpi=fcr)  # warm the library cache
    with CaptureQueriesContext(connection) as few:
        check(getattr(org, owner), kpi=fcr)
    for i in range(6):
        peer = make_person(f"P{i}", f"Peer {i}", org.t1, "agent", org.mike)
        fcr_data(peer, BEFORE, 60 + i)
        fcr_data(peer, PREV, 62 + i)
        unit = make_unit(f"TX{i}", f"Team {i}", org.d1)
        fcr_data(make_person(f"Q{i}", f"Agent {i}", unit, "agent"), PREV, 70)
    check(getattr(org, owner), kpi=fcr)
    with CaptureQueriesContext(connection) as many:
        check(getattr(org, owner), kpi=fcr)

    # Expect 3 queries: the library token, the sibling units' paths (or none, for a person), one grouped sum.
    assert len(many) == len(few) <= 3


def test_reasons_come_in_the_active_language(org):
    with translation.override("zh-hans"):
        results = smart_check(owner=org.alice, kind="kpi", kpi=None, due_date=None, period_start=Q3[0],
                              period_end=Q3[1])
    assert all(r.reason for r in results)
