"""The appraisal's numbers (reviews/scoring.py): plain functions, exact figures."""

import pytest

from reviews import scoring
from reviews.models import default_scale
from tests.reviews.test_closing import FCR_KPI, REWARD_TERMS

SCALE = default_scale()
KPIS = {
    "fcr": FCR_KPI,
    "aht": {**FCR_KPI, "factor": 1.0, "numerator": ["handle_seconds"], "denominator": ["contacts_handled"]},
    "sales": {**FCR_KPI, "factor": 1.0, "numerator": ["sales_closed"], "denominator": []},
}
FCR_OBJECTIVE = {"id": 1, "kind": "kpi", "kpi": "fcr", "baseline": 65, "target": 72, "stretch": 80, "weight": 60}
AHT_OBJECTIVE = {"id": 2, "kind": "kpi", "kpi": "aht", "baseline": 420, "target": 360, "stretch": 300, "weight": 40}
GATE = {"measure": "qa_fatal_errors", "above": 0, "cap": "D"}


def test_snapshot_formula_reads_factor_and_measures():
    formula = scoring.snapshot_formula(FCR_KPI)
    assert (formula.factor, formula.numerator, formula.denominator) == (100.0, ("first_contact_resolved",),
                                                                         ("contacts_handled",))


@pytest.mark.parametrize(
    "sums, expected",
    [
        ({"first_contact_resolved": 76, "contacts_handled": 100}, 76.0),
        ({"first_contact_resolved": 0, "contacts_handled": 40}, 0.0),
        ({"first_contact_resolved": 5, "contacts_handled": 0}, None),  # denominator 0: no value
        ({"contacts_handled": 100}, None),  # no data is never zero
        ({}, None),
    ],
)
def test_objective_actual_applies_the_snapshot_formula(sums, expected):
    assert scoring.objective_actual(FCR_OBJECTIVE, KPIS, sums) == expected


def test_objective_actual_of_a_plain_sum_kpi():
    objective = {"kind": "kpi", "kpi": "sales"}
    assert scoring.objective_actual(objective, KPIS, {"sales_closed": 12.0}) == 12.0


def test_objective_actual_is_none_for_milestones_and_unknown_kpis():
    assert scoring.objective_actual({"kind": "milestone", "kpi": None}, KPIS, {"x": 1}) is None
    assert scoring.objective_actual({"kind": "kpi", "kpi": "gone"}, KPIS, {"x": 1}) is None


@pytest.mark.parametrize(
    "resolved, expected",
    [
        (65, 60.0),  # baseline
        (72, 80.0),  # target
        (76, 90.0),  # halfway target → stretch
        (80, 100.0),  # stretch
        (95, 100.0),  # beyond stretch: capped
        (68.5, 70.0),  # halfway baseline → target
        (58, 40.0),  # 7 below baseline: the baseline→target slope continues down (20/7 per point)
        (0, 0.0),  # never below 0
    ],
)
def test_objective_system_score_interpolates_the_snapshot_thresholds(resolved, expected):
    sums = {"first_contact_resolved": resolved, "contacts_handled": 100}
    assert scoring.objective_system_score(FCR_OBJECTIVE, KPIS, sums) == pytest.approx(expected)


@pytest.mark.parametrize("seconds, expected", [(42000, 60.0), (36000, 80.0), (33000, 90.0), (29000, 100.0),
                                               (45000, 50.0)])
def test_objective_system_score_when_lower_is_better(seconds, expected):
    sums = {"handle_seconds": seconds, "contacts_handled": 100}
    assert scoring.objective_system_score(AHT_OBJECTIVE, KPIS, sums) == pytest.approx(expected)


def test_objective_system_score_is_none_without_thresholds_or_data():
    assert scoring.objective_system_score({**FCR_OBJECTIVE, "stretch": None}, KPIS, {"x": 1}) is None
    assert scoring.objective_system_score({"kind": "milestone"}, KPIS, {}) is None
    assert scoring.objective_system_score(FCR_OBJECTIVE, KPIS, {}) is None


@pytest.mark.parametrize("score, expected", [(1, 20.0), (2, 40.0), (3, 60.0), (4, 80.0), (5, 100.0), (None, None)])
def test_competency_percent(score, expected):
    assert scoring.competency_percent(score) == expected


def test_objectives_score_is_the_weighted_mean_over_the_rated_objectives():
    assert scoring.objectives_score([(90, 60), (70, 40)]) == pytest.approx(82.0)
    assert scoring.objectives_score([(90, 60), (None, 40)]) == pytest.approx(90.0)  # renormalised
    assert scoring.objectives_score([(None, 60), (None, 40)]) is None
    assert scoring.objectives_score([]) is None


def test_overall_score_weights_the_parts_and_drops_zero_weights():
    assert scoring.overall_score([(82, 70), (90, 30), (50, 0)]) == pytest.approx(84.4)
    assert scoring.overall_score([(82, 70), (None, 30), (50, 0)]) == pytest.approx(82.0)
    assert scoring.overall_score([(80, 60), (60, 20), (100, 20)]) == pytest.approx(80.0)
    assert scoring.overall_score([(None, 70), (None, 30)]) is None


@pytest.mark.parametrize(
    "score, grade",
    [(100, "A"), (90, "A"), (89.99, "B"), (80, "B"), (79.5, "C"), (70, "C"), (69, "D"), (60, "D"),
     (59.99, "E"), (0, "E"), (-5, "E"), (None, "")],
)
def test_grade_for_uses_min_inclusive_ranges(score, grade):
    assert scoring.grade_for(score, SCALE) == grade


def test_grade_for_an_empty_or_reordered_scale():
    assert scoring.grade_for(75, []) == ""
    scale = [{"grade": "PASS", "min": 50, "max": 100}, {"grade": "FAIL", "min": 10, "max": 50}]
    assert [scoring.grade_for(s, scale) for s in (50, 49.9, 5)] == ["PASS", "FAIL", "FAIL"]


def test_grade_rank_orders_grades_best_first():
    assert [scoring.grade_rank(g, SCALE) for g in "ABCDE"] == [0, 1, 2, 3, 4]
    assert scoring.grade_rank("Z", SCALE) == 5


@pytest.mark.parametrize(
    "grade, sums, expected",
    [
        ("A", {"qa_fatal_errors": 1}, ("D", True)),
        ("B", {"qa_fatal_errors": 3}, ("D", True)),
        ("D", {"qa_fatal_errors": 1}, ("D", False)),  # already at the cap
        ("E", {"qa_fatal_errors": 1}, ("E", False)),  # a cap never raises a grade
        ("A", {"qa_fatal_errors": 0}, ("A", False)),
        ("A", {}, ("A", False)),  # no data: no fatal error
        ("", {"qa_fatal_errors": 1}, ("", False)),
    ],
)
def test_apply_gate_caps_the_grade_when_the_measure_exceeds_its_limit(grade, sums, expected):
    assert scoring.apply_gate(grade, GATE, sums, SCALE) == expected


def test_apply_gate_with_a_higher_limit_and_without_a_rule():
    assert scoring.apply_gate("A", {**GATE, "above": 2}, {"qa_fatal_errors": 2}, SCALE) == ("A", False)
    assert scoring.apply_gate("A", {**GATE, "above": 2}, {"qa_fatal_errors": 3}, SCALE) == ("D", True)
    assert scoring.apply_gate("A", {}, {"qa_fatal_errors": 9}, SCALE) == ("A", False)
    assert scoring.apply_gate("A", {"measure": "qa_fatal_errors"}, {"qa_fatal_errors": 9}, SCALE) == ("A", False)


def test_outcome_for_reads_the_contracts_reward_table():
    assert scoring.outcome_for("B", REWARD_TERMS) == "Bonus 10%"
    assert scoring.outcome_for("e", REWARD_TERMS) == "Improvement plan"  # case-insensitive
    assert scoring.outcome_for("B", [{"grade": " b ", "outcome": "x"}]) == "x"
    assert scoring.outcome_for("F", REWARD_TERMS) == ""
    assert scoring.outcome_for("A", []) == "" and scoring.outcome_for("A", None) == ""
