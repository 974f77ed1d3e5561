"""Review cycles: who may create and edit them, and every rule of their settings (reviews.services).

Hana (HR) and Dirk (director) run cycles; Mike (a manager) and Alice (an
agent) may not. Every refusal names the field and saves nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from reviews import services
from reviews.models import ReviewCycle, default_scale

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
UTC = dt.timezone.utc


def deadlines(first: dt.datetime = dt.datetime(2026, 10, 7, 18, 0, tzinfo=UTC), step_days: int = 7) -> dict:
    step = dt.timedelta(days=step_days)
    return {
        "self_assessment_due": first,
        "feedback_due": first + step,
        "appraisal_due": first + 2 * step,
        "calibration_due": first + 3 * step,
    }


def cycle_kwargs(org, **overrides) -> dict:
    kwargs = {
        "name": "Q3 2026 appraisal",
        "period_start": Q3[0],
        "period_end": Q3[1],
        "units": [org.d1],
        "scale": default_scale(),
        "weight_objectives": 70,
        "weight_competencies": 30,
        "weight_feedback": 0,
        **deadlines(),
    }
    kwargs.update(overrides)
    return kwargs


def make_cycle(org, *, user=None, **overrides) -> ReviewCycle:
    return services.cycle_create(user=user or org.hana, **cycle_kwargs(org, **overrides))


def errors_of(exc_info) -> dict[str, list[str]]:
    return exc_info.value.message_dict


def refused(org, **overrides) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc_info:
        make_cycle(org, **overrides)
    assert ReviewCycle.objects.count() == 0, "nothing saved"
    return errors_of(exc_info)


def scale_with(*rows) -> list[dict]:
    return [{"grade": g, "label": label, "min": lo, "max": hi, "description": ""} for g, label, lo, hi in rows]


# ------------------------------------------------------------------- who may


def test_hr_creates_a_draft_cycle(org):
    cycle = make_cycle(org, gate_rule={"measure": "qa_fatal_errors", "above": 0, "cap": "D"}, guideline={"A": 10})
    assert cycle.phase == ReviewCycle.Phase.DRAFT
    assert list(cycle.units.all()) == [org.d1]
    assert cycle.created_by == org.hana
    assert [g["grade"] for g in cycle.scale] == ["A", "B", "C", "D", "E"]
    assert cycle.gate_rule == {"measure": "qa_fatal_errors", "above": 0.0, "cap": "D"}
    assert cycle.guideline == {"A": 10.0}
    assert cycle.weight_feedback == 0


def test_director_creates_a_cycle(org):
    assert make_cycle(org, user=org.dirk).pk


@pytest.mark.parametrize("who", ["mike", "alice", "olga"])
def test_managers_and_agents_cannot_create_a_cycle(org, who):
    with pytest.raises(PermissionDenied):
        make_cycle(org, user=getattr(org, who))
    assert not ReviewCycle.objects.exists()


# ------------------------------------------------------------------- weights


def test_negative_weight_is_refused(org):
    errors = refused(org, weight_objectives=110, weight_competencies=-10)
    assert errors["weight_competencies"] == [str(services.WEIGHT_NEGATIVE)]


def test_weights_must_sum_to_100(org):
    errors = refused(org, weight_objectives=60, weight_competencies=30, weight_feedback=0)
    assert errors["weights"] == [str(services.WEIGHTS_NOT_100 % {"total": "90"})]


def test_objectives_must_carry_weight(org):
    errors = refused(org, weight_objectives=0, weight_competencies=80, weight_feedback=20)
    assert errors["weight_objectives"] == [str(services.OBJECTIVES_WEIGHT_ZERO)]


def test_zero_weight_for_competencies_and_feedback_is_allowed(org):
    cycle = make_cycle(org, weight_objectives=100, weight_competencies=0, weight_feedback=0)
    assert (cycle.weight_objectives, cycle.weight_competencies, cycle.weight_feedback) == (100, 0, 0)


# ----------------------------------------------------------------- deadlines


def test_deadlines_must_increase_in_phase_order(org):
    d = deadlines()
    errors = refused(org, feedback_due=d["self_assessment_due"])
    assert errors["feedback_due"] == [str(services.DEADLINE_NOT_AFTER % {"previous": "self-assessment"})]


def test_calibration_cannot_precede_the_appraisal_deadline(org):
    d = deadlines()
    errors = refused(org, calibration_due=d["appraisal_due"] - dt.timedelta(hours=1))
    assert "calibration_due" in errors


def test_self_assessment_deadline_must_be_after_the_period_start(org):
    first = dt.datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
    errors = refused(org, **deadlines(first))
    assert errors["self_assessment_due"] == [str(services.DEADLINE_BEFORE_PERIOD)]


def test_period_must_be_ordered(org):
    errors = refused(org, period_start=Q3[1], period_end=Q3[0])
    assert errors["period_end"] == [str(services.PERIOD_NOT_ORDERED)]


def test_units_are_required(org):
    errors = refused(org, units=[])
    assert errors["units"] == [str(services.NO_UNITS)]


def test_name_is_required(org):
    assert refused(org, name="  ")["name"] == [str(services.NAME_REQUIRED)]


# --------------------------------------------------------------------- scale


def test_scale_grades_must_be_unique(org):
    errors = refused(org, scale=scale_with(("A", "Top", 50, 100), ("A", "Low", 0, 50)))
    assert str(services.SCALE_GRADE_TWICE % {"grade": "A"}) in errors["scale"]


def test_scale_labels_must_not_be_empty(org):
    errors = refused(org, scale=scale_with(("A", "Top", 50, 100), ("B", " ", 0, 50)))
    assert errors["scale"] == [str(services.SCALE_LABEL_REQUIRED % {"grade": "B"})]


def test_scale_minimum_must_be_below_maximum(org):
    errors = refused(org, scale=scale_with(("A", "Top", 50, 100), ("B", "Low", 50, 50)))
    assert str(services.SCALE_MIN_NOT_BELOW_MAX % {"grade": "B"}) in errors["scale"]


def test_scale_must_not_leave_a_gap(org):
    errors = refused(org, scale=scale_with(("A", "Top", 60, 100), ("B", "Low", 0, 50)))
    assert errors["scale"] == [str(services.SCALE_GAP % {"start": "50", "end": "60"})]


def test_scale_grades_must_not_overlap(org):
    errors = refused(org, scale=scale_with(("A", "Top", 40, 100), ("B", "Low", 0, 50)))
    assert errors["scale"] == [str(services.SCALE_OVERLAP % {"a": "B", "b": "A"})]


def test_scale_must_cover_0_to_100(org):
    errors = refused(org, scale=scale_with(("A", "Top", 50, 90), ("B", "Low", 10, 50)))
    assert errors["scale"] == [str(services.SCALE_NOT_FROM_0), str(services.SCALE_NOT_TO_100)]


def test_scale_scores_stay_within_0_and_100(org):
    errors = refused(org, scale=scale_with(("A", "Top", 50, 120), ("B", "Low", 0, 50)))
    assert str(services.SCALE_OUT_OF_RANGE % {"grade": "A"}) in errors["scale"]


def test_scale_cannot_be_empty(org):
    assert refused(org, scale=[])["scale"] == [str(services.SCALE_EMPTY)]


def test_scale_is_stored_best_grade_first(org):
    cycle = make_cycle(org, scale=scale_with(("Low", "Needs work", 0, 50), ("High", "Good", 50, 100)))
    assert [g["grade"] for g in cycle.scale] == ["High", "Low"]


# ----------------------------------------------------------- gate, guideline


def test_gate_rule_needs_a_known_measure(org):
    errors = refused(org, gate_rule={"measure": "nope", "above": 0, "cap": "D"})
    assert errors["gate_rule"] == [str(services.GATE_UNKNOWN_MEASURE % {"code": "nope"})]


def test_gate_rule_limit_is_not_negative(org):
    errors = refused(org, gate_rule={"measure": "qa_fatal_errors", "above": -1, "cap": "D"})
    assert errors["gate_rule"] == [str(services.GATE_ABOVE)]


def test_gate_rule_caps_at_a_grade_of_the_scale(org):
    errors = refused(org, gate_rule={"measure": "qa_fatal_errors", "above": 0, "cap": "Z"})
    assert errors["gate_rule"] == [str(services.GATE_UNKNOWN_GRADE % {"grade": "Z"})]


def test_gate_rule_needs_all_its_parts(org):
    errors = refused(org, gate_rule={"measure": "qa_fatal_errors"})
    assert errors["gate_rule"] == [str(services.GATE_SHAPE)]


def test_empty_gate_rule_means_none(org):
    assert make_cycle(org, gate_rule=None).gate_rule == {}


def test_guideline_grades_belong_to_the_scale(org):
    errors = refused(org, guideline={"Z": 10})
    assert errors["guideline"] == [str(services.GUIDELINE_UNKNOWN_GRADE % {"grade": "Z"})]


def test_guideline_is_a_percentage(org):
    errors = refused(org, guideline={"A": 120})
    assert errors["guideline"] == [str(services.GUIDELINE_RANGE % {"grade": "A"})]


def test_every_problem_is_reported_at_once(org):
    errors = refused(org, weight_objectives=10, units=[], scale=[], feedback_due=deadlines()["self_assessment_due"])
    assert {"weights", "units", "scale", "feedback_due"} <= set(errors)


# -------------------------------------------------------------------- update


def test_a_draft_can_change_everything(org):
    cycle = make_cycle(org)
    services.cycle_update(
        user=org.hana, cycle=cycle, name="Renamed", units=[org.t1, org.t3], weight_objectives=80,
        weight_competencies=20, scale=scale_with(("P", "Pass", 60, 100), ("F", "Fail", 0, 60)),
    )
    cycle.refresh_from_db()
    assert cycle.name == "Renamed"
    assert {u.code for u in cycle.units.all()} == {"T1", "T3"}
    assert [g["grade"] for g in cycle.scale] == ["P", "F"]


def test_update_checks_the_merged_settings(org):
    cycle = make_cycle(org)
    with pytest.raises(ValidationError) as exc_info:
        services.cycle_update(user=org.hana, cycle=cycle, weight_objectives=50)
    assert "weights" in errors_of(exc_info)
    cycle.refresh_from_db()
    assert cycle.weight_objectives == 70


def test_a_manager_cannot_update_a_cycle(org):
    cycle = make_cycle(org)
    with pytest.raises(PermissionDenied):
        services.cycle_update(user=org.mike, cycle=cycle, name="Mine")


def test_after_launch_the_scale_and_weights_are_frozen(org):
    cycle = make_cycle(org)
    services.cycle_launch(user=org.hana, cycle=cycle)
    with pytest.raises(ValidationError) as exc_info:
        services.cycle_update(user=org.hana, cycle=cycle, weight_objectives=80, weight_competencies=20)
    errors = errors_of(exc_info)
    assert set(errors) == {"weight_objectives", "weight_competencies"}
    assert "can no longer change" in errors["weight_objectives"][0]
    with pytest.raises(ValidationError) as exc_info:
        services.cycle_update(user=org.hana, cycle=cycle, scale=scale_with(("P", "Pass", 0, 100)))
    assert "scale" in errors_of(exc_info)
    cycle.refresh_from_db()
    assert cycle.weight_objectives == 70 and len(cycle.scale) == 5


def test_after_launch_deadlines_move_only_later(org):
    cycle = make_cycle(org)
    services.cycle_launch(user=org.hana, cycle=cycle)
    d = deadlines()
    with pytest.raises(ValidationError) as exc_info:
        services.cycle_update(user=org.hana, cycle=cycle, self_assessment_due=d["self_assessment_due"] - dt.timedelta(days=1))
    assert list(errors_of(exc_info)) == ["self_assessment_due"]
    later = d["calibration_due"] + dt.timedelta(days=3)
    services.cycle_update(user=org.hana, cycle=cycle, calibration_due=later)
    cycle.refresh_from_db()
    assert cycle.calibration_due == later


def test_after_launch_deadlines_still_keep_their_order(org):
    cycle = make_cycle(org)
    services.cycle_launch(user=org.hana, cycle=cycle)
    with pytest.raises(ValidationError) as exc_info:
        services.cycle_update(user=org.hana, cycle=cycle, self_assessment_due=deadlines()["appraisal_due"])
    assert "feedback_due" in errors_of(exc_info)


def test_unchanged_settings_may_be_sent_after_launch(org):
    cycle = make_cycle(org)
    services.cycle_launch(user=org.hana, cycle=cycle)
    later = cycle.calibration_due + dt.timedelta(days=1)
    services.cycle_update(user=org.hana, cycle=cycle, name=cycle.name, units=[org.d1], calibration_due=later)
    cycle.refresh_from_db()
    assert cycle.calibration_due == later


def test_a_closed_cycle_cannot_change(org):
    cycle = make_cycle(org)
    ReviewCycle.objects.filter(pk=cycle.pk).update(phase=ReviewCycle.Phase.CLOSED)
    with pytest.raises(ValidationError) as exc_info:
        services.cycle_update(user=org.hana, cycle=cycle, calibration_due=cycle.calibration_due + dt.timedelta(days=1))
    assert errors_of(exc_info) == {"phase": [str(services.CYCLE_OVER)]}
