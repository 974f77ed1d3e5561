import math

import pytest

from scorecard.calculations import (
    AMBER,
    EXCELLENT,
    GREEN,
    RED,
    Formula,
    FormulaError,
    KpiSpec,
    PerspectiveSpec,
    Thresholds,
    band,
    build_scorecard,
    kpi_score,
    kpi_value,
    parse_formula,
    score_segment,
    weighted_mean,
    weights_error,
)

FCR = Thresholds(65, 72, 80)
AHT = Thresholds(420, 360, 300)  # lower is better: thresholds descend


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cost / contacts_handled", Formula(1.0, ("cost",), ("contacts_handled",))),
        ("100 × sales_closed / sales_opportunities", Formula(100.0, ("sales_closed",), ("sales_opportunities",))),
        ("100 * a / b", Formula(100.0, ("a",), ("b",))),
        ("(a + b) / (c + d)", Formula(1.0, ("a", "b"), ("c", "d"))),
        ("2.5 × a + b / c", Formula(2.5, ("a", "b"), ("c",))),
        ("a + b + c", Formula(1.0, ("a", "b", "c"))),
        ("contacts_handled", Formula(1.0, ("contacts_handled",))),
    ],
)
def test_formulas_of_the_allowed_form_parse(text, expected):
    assert parse_formula(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "a - b", "a * b", "a / b / c", "100 × a", "(a + b", "a / ", "A / b", "log(a)", "0 × a / b", "a + a / b"],
)
def test_formulas_not_of_the_allowed_form_are_refused(text):
    with pytest.raises(FormulaError):
        parse_formula(text)


def test_canonical_formula_round_trips():
    for text in ["100 × a / b", "(a + b) / c", "a + b", "cost / contacts_handled"]:
        parsed = parse_formula(text)
        assert parse_formula(parsed.canonical()) == parsed


def test_ratio_is_computed_from_summed_components():
    formula = parse_formula("100 × first_contact_resolved / contacts_handled")
    assert kpi_value({"first_contact_resolved": 739, "contacts_handled": 1000}, formula) == pytest.approx(73.9)


def test_value_is_null_when_a_measure_has_no_data_or_the_denominator_is_zero():
    formula = parse_formula("100 × a / b")
    assert kpi_value({"a": 5}, formula) is None
    assert kpi_value({"a": None, "b": 4}, formula) is None
    assert kpi_value({"a": 0, "b": 0}, formula) is None
    assert kpi_value({"a": 0, "b": 4}, formula) == 0
    assert kpi_value({"a": 1, "b": 2, "c": None}, parse_formula("a + b")) == 3
    assert kpi_value({"a": 1}, parse_formula("a + b")) is None


@pytest.mark.parametrize(
    "value, score",
    [
        (73.9, 84.75),  # METRICS.md's example
        (80, 100),
        (95, 100),
        (72, 80),
        (65, 60),
        (68.5, 70),
        (58, 40),  # below baseline: the baseline→typical slope continues
        (30, 0),  # floored at 0
    ],
)
def test_higher_is_better_score_is_piecewise_linear(value, score):
    assert kpi_score(value, FCR) == pytest.approx(score)


@pytest.mark.parametrize(
    "value, score",
    [(300, 100), (250, 100), (330, 90), (360, 80), (390, 70), (420, 60), (480, 40), (700, 0)],
)
def test_lower_is_better_score_uses_descending_thresholds(value, score):
    assert kpi_score(value, AHT) == pytest.approx(score)


def test_null_value_has_null_score_and_band():
    assert kpi_score(None, FCR) is None
    assert band(None) is None


@pytest.mark.parametrize(
    "score, expected",
    [(0, RED), (59.999, RED), (60, AMBER), (79.99, AMBER), (80, GREEN), (99.99, GREEN), (100, EXCELLENT)],
)
def test_bands(score, expected):
    assert band(score) == expected


def test_segments_name_the_piece_of_the_line_used():
    assert score_segment(81, FCR) == "above_excellent"
    assert score_segment(73.9, FCR) == "typical_excellent"
    assert score_segment(70, FCR) == "baseline_typical"
    assert score_segment(60, FCR) == "below_baseline"
    assert score_segment(330, AHT) == "typical_excellent"
    assert score_segment(500, AHT) == "below_baseline"


def test_weighted_mean_renormalises_over_non_null_scores():
    assert weighted_mean([(80, 25), (None, 25), (60, 50)]) == pytest.approx((80 * 25 + 60 * 50) / 75)
    assert weighted_mean([(None, 50), (None, 50)]) is None
    assert weighted_mean([]) is None


def test_weights_must_be_positive_and_sum_to_100():
    assert weights_error([25, 25, 25, 25]) is None
    assert weights_error([100 / 3, 100 / 3, 100 / 3]) is None
    assert "add up to 90" in weights_error([30, 30, 30])
    assert "positive" in weights_error([50, 50, 0])
    assert "positive" in weights_error([150, -50])
    assert "positive" in weights_error([math.nan, 100])


def _spec(code, perspective, formula, thresholds, weight, min_sample=None):
    return KpiSpec(code, code, "%", perspective, weight, parse_formula(formula), thresholds, min_sample)


def test_scorecard_combines_kpis_into_perspectives_and_overall():
    library = (
        PerspectiveSpec("customer", "Customer", 25, (
            _spec("fcr", "customer", "100 × r / h", FCR, 50),
            _spec("csat", "customer", "100 × s / n", Thresholds(75, 85, 92), 50),
        )),
        PerspectiveSpec("internal_process", "Internal", 25, (
            _spec("aht", "internal_process", "t / h", AHT, 100),
        )),
        PerspectiveSpec("financial", "Financial", 50, (
            _spec("cost", "financial", "c / h", Thresholds(6, 5, 4), 100),
        )),
    )
    sums = {"r": 739, "h": 1000, "s": 80, "n": 100, "t": 330000}
    card = build_scorecard(library, sums)
    fcr, csat = card.perspectives[0].kpis
    assert fcr.score == pytest.approx(84.75) and fcr.band == GREEN
    assert csat.value == pytest.approx(80) and csat.score == pytest.approx(70)
    assert card.perspectives[0].score == pytest.approx((84.75 + 70) / 2)
    assert card.perspectives[1].score == pytest.approx(90)
    assert card.perspectives[2].score is None  # no cost data
    # overall renormalised over the two non-null perspectives (25 + 25)
    assert card.overall_score == pytest.approx(((84.75 + 70) / 2 + 90) / 2)
    assert card.weakest.code == "csat"


def test_min_sample_keeps_the_value_but_not_the_score():
    library = (PerspectiveSpec("customer", "Customer", 100, (
        _spec("csat", "customer", "100 × s / n", Thresholds(75, 85, 92), 100, min_sample=20),
    )),)
    card = build_scorecard(library, {"s": 18, "n": 19})
    result = card.perspectives[0].kpis[0]
    assert result.value == pytest.approx(100 * 18 / 19)
    assert result.score is None and result.insufficient
    assert card.overall_score is None
    card = build_scorecard(library, {"s": 18, "n": 20})
    assert card.perspectives[0].kpis[0].score == pytest.approx(kpi_score(90, Thresholds(75, 85, 92)))


def test_objective_thresholds_override_the_library():
    library = (PerspectiveSpec("customer", "Customer", 100, (_spec("fcr", "customer", "100 × r / h", FCR, 100),)),)
    card = build_scorecard(library, {"r": 739, "h": 1000}, {"fcr": Thresholds(70, 74, 78)})
    assert card.overall_score == pytest.approx(60 + 20 * 3.9 / 4)
