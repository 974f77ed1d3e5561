"""goals.selectors.objectives_progress: value so far, straight-line forecast to the due date, at risk."""

from __future__ import annotations

import datetime as dt

import pytest

from goals.models import Objective
from goals.selectors import objectives_progress
from scorecard.selectors import library_load
from tests.factories import put
from tests.goals.test_cascades import objective, sales_kpi  # noqa: F401 (fixture)


def progress(o, today):
    return objectives_progress([o], today)[o.pk]


def weekly_fcr(person, values):
    """One row per week from Monday 2026-07-06: first_contact_resolved of 100 contacts."""
    for i, fcr in enumerate(values):
        put(person, dt.date(2026, 7, 6) + dt.timedelta(days=7 * i), contacts_handled=100, first_contact_resolved=fcr)


def test_ratio_value_so_far_and_least_squares_forecast(org):
    weekly_fcr(org.alice, [70, 71, 72])
    o = objective(org.alice, "fcr", baseline=70, target=74, stretch=78)
    p = progress(o, dt.date(2026, 7, 22))
    assert p.value == pytest.approx(71)  # 213 / 300, summed components
    # +1 point a week; the due date's week (Monday 2026-09-28) is 12 weeks after the first: 70 + 12.
    assert p.forecast == pytest.approx(82)
    assert p.percent == pytest.approx(25)  # (71 − 70) / (74 − 70)
    assert not p.at_risk and p.as_of == dt.date(2026, 7, 22)


def test_falling_ratio_is_at_risk(org):
    weekly_fcr(org.alice, [74, 73, 72])
    p = progress(objective(org.alice, "fcr"), dt.date(2026, 7, 22))
    assert p.forecast == pytest.approx(62) and p.at_risk


def test_lower_is_better_forecast_is_at_risk_above_target(org):
    for i, seconds in enumerate([35000, 36000, 37000]):
        put(org.alice, dt.date(2026, 7, 6) + dt.timedelta(days=7 * i), contacts_handled=100, handle_seconds=seconds)
    o = objective(org.alice, "aht", baseline=420, target=360, stretch=300)
    p = progress(o, dt.date(2026, 7, 22))
    assert p.value == pytest.approx(360)
    assert p.forecast == pytest.approx(350 + 12 * 10) and p.at_risk


def test_single_week_forecasts_the_current_value(org):
    weekly_fcr(org.alice, [73])
    p = progress(objective(org.alice, "fcr"), dt.date(2026, 7, 8))
    assert p.value == p.forecast == pytest.approx(73) and p.at_risk


def test_volume_forecast_extends_the_daily_rate(org, sales_kpi):  # noqa: F811
    put(org.alice, "2026-07-01", sales_closed=10)
    put(org.alice, "2026-07-10", sales_closed=20)
    put(org.alice, "2026-07-11", sales_closed=500)  # after "today"
    o = objective(org.alice, "sales", baseline=200, target=300, stretch=400)
    p = progress(o, dt.date(2026, 7, 10))
    assert p.value == 30
    assert p.forecast == pytest.approx(30 * 92 / 10)  # 10 days so far, 92 to the due date
    assert p.at_risk


def test_unit_objective_sums_its_subtree(org):
    weekly_fcr(org.alice, [70])
    weekly_fcr(org.bob, [80])
    weekly_fcr(org.carl, [10])  # another team
    p = progress(objective(org.t1, "fcr"), dt.date(2026, 7, 8))
    assert p.value == pytest.approx(75)


def test_as_of_is_capped_by_the_due_date_and_period_end(org):
    weekly_fcr(org.alice, [70, 80])
    o = objective(org.alice, "fcr", due_date=dt.date(2026, 7, 10))
    p = progress(o, dt.date(2026, 12, 1))
    assert p.as_of == dt.date(2026, 7, 10) and p.value == pytest.approx(70)


def test_before_the_period_there_is_no_progress(org):
    p = progress(objective(org.alice, "fcr"), dt.date(2026, 6, 15))
    assert (p.value, p.forecast, p.percent, p.at_risk) == (None, None, None, False)


def test_no_data_is_no_value_not_zero(org):
    p = progress(objective(org.alice, "fcr"), dt.date(2026, 8, 1))
    assert (p.value, p.forecast, p.at_risk) == (None, None, False)


@pytest.mark.parametrize(("done", "forecast", "at_risk"), [(40, 80, True), (60, 100, False), (None, None, False)])
def test_milestone_progress_extends_the_latest_checkin(org, done, forecast, at_risk):
    o = objective(org.alice, kind="milestone", baseline=None, target=None, stretch=None, progress=done,
                  completion_criterion="Done", verification="Checked")
    p = progress(o, dt.date(2026, 8, 15))  # 46 of 92 days
    assert (p.percent, p.forecast, p.at_risk) == (done, pytest.approx(forecast) if forecast else None, at_risk)


def test_progress_of_many_objectives_takes_constant_queries(org, django_assert_num_queries):
    from tests.base import make_person

    weekly_fcr(org.alice, [70, 71])
    library = library_load()
    objectives = [objective(org.alice, "fcr"), objective(org.t1, "fcr"), objective(org.d1, "fcr")]
    # Owner units' paths (1), their subtrees (1), the weekly sums by unit (1) and by person (1).
    with django_assert_num_queries(4):
        objectives_progress(objectives, dt.date(2026, 7, 20), library)
    for i in range(20):
        objectives.append(objective(make_person(f"P{i}", f"P {i}", org.t2, "agent"), "fcr"))
    objectives = list(Objective.objects.select_related("kpi").filter(pk__in=[o.pk for o in objectives]))
    with django_assert_num_queries(4):
        result = objectives_progress(objectives, dt.date(2026, 7, 20), library)
    assert len(result) == 23


def test_ahead_of_target_is_never_at_risk_even_on_a_falling_trend(org):
    """Issue 10: objectives at 120–252 % of the way to target were flagged "at risk" by a falling trend line."""
    weekly_fcr(org.alice, [90, 84, 78])  # 84 so far: far beyond the target 74, falling 6 points a week
    p = progress(objective(org.alice, "fcr", baseline=70, target=74, stretch=78), dt.date(2026, 7, 22))
    assert p.percent == pytest.approx(350) and p.forecast < 74
    assert not p.at_risk


def test_below_baseline_reads_zero_percent_on_pages(org):
    weekly_fcr(org.alice, [60])
    p = progress(objective(org.alice, "fcr", baseline=70, target=74, stretch=78), dt.date(2026, 7, 8))
    assert p.percent == pytest.approx(-250)  # the honest number stays in the data (and the API)
    assert p.shown_percent == 0 and p.below_baseline
