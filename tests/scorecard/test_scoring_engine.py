"""The scorecard engine against an independent computation of METRICS.md's method."""

import datetime as dt

import pytest
from django.http import Http404

from scorecard.calculations import Thresholds, kpi_score
from scorecard.imports import import_people
from scorecard.models import Measurement
from scorecard.selectors import (
    library_load,
    measure_sums,
    people_visible,
    ranking_for_unit,
    scorecard_for_subject,
    subject_get,
    units_visible,
    weekly_values,
)
from tests.factories import put

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


def card_for(user, code, start=Q3[0], end=Q3[1]):
    return scorecard_for_subject(subject_get(user, code), start, end)


def test_unit_ratio_is_summed_components_not_average_of_agents(org):
    put(org.alice, "2026-07-01", first_contact_resolved=90, contacts_handled=100)
    put(org.bob, "2026-07-01", first_contact_resolved=10, contacts_handled=20)
    card = card_for(org.dirk, "T1")
    # (90 + 10) / (100 + 20), not the mean of 90 % and 50 %
    assert card.kpi("fcr").value == pytest.approx(100 * 100 / 120)


def test_subtree_sums_rows_of_people_and_units_beneath(org):
    put(org.alice, "2026-07-01", first_contact_resolved=739, contacts_handled=1000)
    put(org.carl, "2026-07-02", first_contact_resolved=261, contacts_handled=500)
    put(org.t1, "2026-07-01", contacts_offered=1000, answered_in_sl=850, abandoned=30)
    put(org.t3, "2026-07-01", contacts_offered=500, answered_in_sl=250, abandoned=60)
    d1 = card_for(org.dirk, "D1")
    assert d1.kpi("fcr").value == pytest.approx(100 * 1000 / 1500)
    assert d1.kpi("service_level").value == pytest.approx(85.0)
    center = card_for(org.dirk, "C")
    assert center.kpi("service_level").value == pytest.approx(100 * 1100 / 1500)
    assert center.kpi("abandon_rate").value == pytest.approx(100 * 90 / 1500)
    agent = card_for(org.dirk, "ALICE")
    assert agent.kpi("fcr").value == pytest.approx(73.9)
    assert agent.kpi("fcr").score == pytest.approx(84.75)
    assert agent.kpi("fcr").band == "green"
    assert agent.kpi("service_level").value is None  # queue figures live on the team


def test_range_is_inclusive_at_both_ends(org):
    for day in ("2026-06-30", "2026-07-01", "2026-09-30", "2026-10-01"):
        put(org.alice, day, contacts_handled=10, handle_seconds=3000)
    card = card_for(org.dirk, "ALICE")
    sums = measure_sums(subject_get(org.dirk, "ALICE"), *Q3)
    assert sorted(sums.values()) == [20, 6000]
    assert card.kpi("aht").value == pytest.approx(300)
    assert card.kpi("aht").band == "excellent"


def test_no_data_is_null_and_zero_is_data(org):
    put(org.alice, "2026-07-01", qa_evaluations=4, qa_fatal_errors=0)
    card = card_for(org.dirk, "ALICE")
    assert card.kpi("fatal_error_rate").value == 0
    assert card.kpi("fatal_error_rate").score == 100
    assert card.kpi("qa_score").value is None
    put(org.bob, "2026-07-01", qa_evaluations=0, qa_fatal_errors=0)
    assert card_for(org.dirk, "BOB").kpi("fatal_error_rate").value is None  # denominator 0


def test_overall_is_weighted_over_non_null_perspectives(org):
    put(org.alice, "2026-07-01", first_contact_resolved=739, contacts_handled=1000, handle_seconds=330000)
    card = card_for(org.dirk, "ALICE")
    customer = next(p for p in card.perspectives if p.code == "customer")
    internal = next(p for p in card.perspectives if p.code == "internal_process")
    assert customer.score == pytest.approx(84.75)  # only FCR has data
    assert internal.score == pytest.approx(kpi_score(330, Thresholds(420, 360, 300)))
    assert card.overall_score == pytest.approx((84.75 + 90) / 2)


def test_moved_person_rows_follow_them_to_the_new_unit(org):
    put(org.alice, "2026-07-01", first_contact_resolved=50, contacts_handled=100)
    import_people(
        "employee_code,name,email,unit,role,manager\nALICE,Alice Agent,alice@example.com,T3,agent,OLGA\n"
    )
    assert set(Measurement.objects.filter(person=org.alice).values_list("unit_id", flat=True)) == {org.t3.pk}
    assert card_for(org.dirk, "T1").kpi("fcr").value is None
    assert card_for(org.dirk, "T3").kpi("fcr").value == pytest.approx(50)


def test_weekly_values_bucket_by_iso_week(org):
    put(org.alice, "2026-07-06", first_contact_resolved=7, contacts_handled=10)  # a Monday
    put(org.alice, "2026-07-12", first_contact_resolved=1, contacts_handled=10)  # the Sunday after
    put(org.alice, "2026-07-13", first_contact_resolved=5, contacts_handled=10)
    subject = subject_get(org.dirk, "ALICE")
    weeks, series = weekly_values(subject, dt.date(2026, 7, 6), dt.date(2026, 7, 26), library_load())
    assert weeks == [dt.date(2026, 7, 6), dt.date(2026, 7, 13), dt.date(2026, 7, 20)]
    assert series["fcr"] == [pytest.approx(40), pytest.approx(50), None]


def test_ranking_orders_agents_and_marks_weakest_kpi(org):
    put(org.alice, "2026-07-01", first_contact_resolved=80, contacts_handled=100, handle_seconds=45000)
    put(org.bob, "2026-07-01", first_contact_resolved=60, contacts_handled=100, handle_seconds=30000)
    kind, members = ranking_for_unit(org.t1, *Q3)
    assert kind == "agents"
    assert [m.obj.employee_code for m in members] == ["ALICE", "BOB"]
    assert members[0].rank == 1 and members[1].rank == 2
    assert members[0].scorecard.weakest.code == "aht"
    assert members[1].scorecard.weakest.code == "fcr"


def test_ranking_of_a_department_ranks_its_teams(org):
    put(org.alice, "2026-07-01", first_contact_resolved=60, contacts_handled=100)
    put(org.carl, "2026-07-01", first_contact_resolved=80, contacts_handled=100)
    kind, members = ranking_for_unit(org.d1, *Q3)
    assert kind == "units"
    assert [m.obj.code for m in members] == ["T2", "T1"]


def test_agent_sees_only_themself(org):
    assert subject_get(org.alice, "ALICE").code == "ALICE"
    for code in ("BOB", "T1", "D1", "C", "MIKE"):
        with pytest.raises(Http404):
            subject_get(org.alice, code)
    assert list(people_visible(org.alice)) == [org.alice]
    assert not units_visible(org.alice).exists()


def test_manager_sees_their_subtree_only(org):
    for code in ("T1", "ALICE", "BOB", "MIKE"):
        subject_get(org.mike, code)
    for code in ("T2", "D1", "C", "CARL", "T3", "OLGA", "DANA"):
        with pytest.raises(Http404):
            subject_get(org.mike, code)
    for code in ("D1", "T1", "T2", "ALICE", "CARL"):
        subject_get(org.dana, code)
    for code in ("ALICE", "T1", "D1"):
        with pytest.raises(Http404):
            subject_get(org.olga, code)
    assert {u.code for u in units_visible(org.dana)} == {"D1", "T1", "T2"}


def test_hr_and_director_see_the_center(org):
    for user in (org.hana, org.dirk):
        for code in ("C", "D2", "T3", "ALICE", "OLGA"):
            subject_get(user, code)
        assert units_visible(user).count() == 6


def test_unknown_code_is_404_like_an_invisible_one(org):
    with pytest.raises(Http404):
        subject_get(org.dirk, "NOPE")


def test_library_changes_reach_the_cached_library(org, django_assert_num_queries):
    from scorecard.models import Kpi
    from scorecard.services import kpi_update

    put(org.alice, "2026-07-01", first_contact_resolved=739, contacts_handled=1000)
    assert card_for(org.dirk, "ALICE").kpi("fcr").score == pytest.approx(84.75)
    with django_assert_num_queries(1):  # the version token only
        library_load()
    kpi_update(user=org.dirk, kpi=Kpi.objects.get(code="fcr"), baseline=70, typical=74, excellent=78)
    assert card_for(org.dirk, "ALICE").kpi("fcr").score == pytest.approx(60 + 20 * 3.9 / 4)


def test_cached_subjects_follow_org_changes(org, django_assert_num_queries):
    assert subject_get(org.mike, "ALICE").code == "ALICE"
    with django_assert_num_queries(1):  # the org token only
        subject_get(org.mike, "ALICE")
    import_people("employee_code,name,email,unit,role,manager\nALICE,Alice Agent,alice@example.com,T3,agent,OLGA\n")
    with pytest.raises(Http404):
        subject_get(org.mike, "ALICE")
    assert subject_get(org.olga, "ALICE").obj.unit.code == "T3"
    # Moving team T3 under D1 puts it in Dana's view.
    with pytest.raises(Http404):
        subject_get(org.dana, "T3")
    org.t3.parent = org.d1
    org.t3.save()
    assert subject_get(org.dana, "T3").code == "T3"
    assert subject_get(org.dana, "ALICE").code == "ALICE"


def test_a_login_does_not_empty_the_subject_cache(org, client, django_assert_num_queries):
    subject_get(org.dirk, "T1")
    client.login(employee_code="ALICE", password="pw")
    with django_assert_num_queries(1):
        subject_get(org.dirk, "T1")
