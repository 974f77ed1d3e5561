"""Self-assessment (自我评估): prefilled from the data under the snapshot's thresholds, draft, submit, refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from reviews import appraisals as svc
from reviews.models import Appraisal, ObjectiveRating, ReviewCycle
from scorecard.models import Kpi
from tests.factories import put

pytestmark = pytest.mark.django_db

FCR = {"name": "First-contact resolution", "name_zh": "一次解决率", "perspective": "customer", "unit": "%",
       "direction": "higher", "formula": "100 × first_contact_resolved / contacts_handled", "factor": 100.0,
       "numerator": ["first_contact_resolved"], "denominator": ["contacts_handled"],
       "baseline": 65, "typical": 72, "excellent": 80, "weight": 25, "min_sample": 0}
REWARD_TERMS = [{"grade": "A", "outcome": "Bonus 20%"}, {"grade": "B", "outcome": "Bonus 10%"},
                {"grade": "C", "outcome": "Bonus 5%"}, {"grade": "D", "outcome": "No bonus"},
                {"grade": "E", "outcome": "Improvement plan"}]


def make_appraisal(org, *, phase=ReviewCycle.Phase.SELF_ASSESSMENT, person=None, manager=None, gate_rule=None,
                   self_due_days=7, appraisal_due_days=30, weights=(70, 30, 0)) -> Appraisal:
    """A cycle for Q3 2026 in the given phase and Alice's appraisal with a snapshot: an FCR objective
    (65 / 72 / 80, weight 60) and a milestone (weight 40), under a contract with a reward table."""
    now = timezone.now()
    cycle = ReviewCycle.objects.create(
        name="2026 Q3", period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 9, 30), created_by=org.hana,
        self_assessment_due=now + dt.timedelta(days=self_due_days), feedback_due=now + dt.timedelta(days=14),
        appraisal_due=now + dt.timedelta(days=appraisal_due_days), calibration_due=now + dt.timedelta(days=40),
        phase=phase, gate_rule=gate_rule if gate_rule is not None else {"measure": "qa_fatal_errors", "above": 0, "cap": "D"},
        weight_objectives=weights[0], weight_competencies=weights[1], weight_feedback=weights[2],
        launched_at=now,
    )
    cycle.units.add(org.t1)
    person = person or org.alice
    snapshot = {
        "taken_at": now.isoformat(),
        "objectives": [
            {"id": 101, "title": "Raise first-contact resolution", "kind": "kpi", "kpi": "fcr", "baseline": 65,
             "target": 72, "stretch": 80, "weight": 60, "due_date": "2026-09-30", "completion_criterion": ""},
            {"id": 102, "title": "Write the returns FAQ", "kind": "milestone", "kpi": None, "baseline": None,
             "target": None, "stretch": None, "weight": 40, "due_date": "2026-09-30",
             "completion_criterion": "FAQ published"},
        ],
        "contract": {"id": 1, "version": 1, "content_hash": "x", "reward_terms": REWARD_TERMS, "terms_text": ""},
        "kpis": {"fcr": FCR},
        "perspectives": {"customer": {"name": "Customer", "name_zh": "客户", "weight": 25}},
    }
    appraisal = Appraisal.objects.create(cycle=cycle, person=person, manager=manager or person.manager,
                                         unit=person.unit, snapshot=snapshot)
    for o in snapshot["objectives"]:
        ObjectiveRating.objects.create(appraisal=appraisal, objective_id=o["id"], title=o["title"], weight=o["weight"])
    return appraisal


def ratings(appraisal) -> dict[int, ObjectiveRating]:
    return {r.objective_id: r for r in ObjectiveRating.objects.filter(appraisal=appraisal)}


def test_prepare_fills_actual_and_system_score_from_the_data_with_snapshot_thresholds(org):
    put(org.alice, "2026-07-10", first_contact_resolved=40, contacts_handled=50)
    put(org.alice, "2026-08-10", first_contact_resolved=36, contacts_handled=50)
    put(org.alice, "2026-10-02", first_contact_resolved=0, contacts_handled=100)  # after the period
    a = make_appraisal(org)
    svc.appraisal_prepare(appraisal=a)
    r = ratings(a)
    assert r[101].actual == pytest.approx(76.0)
    assert r[101].system_score == pytest.approx(90.0)  # 80 + 20 × (76 − 72) / (80 − 72)
    assert r[102].actual is None and r[102].system_score is None


def test_live_threshold_changes_do_not_change_the_score(org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)
    Kpi.objects.filter(code="fcr").update(baseline=90, typical=95, excellent=99)
    a = make_appraisal(org)
    svc.appraisal_prepare(appraisal=a)
    assert ratings(a)[101].system_score == pytest.approx(90.0)


def test_prepare_is_idempotent(org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)
    a = make_appraisal(org)
    svc.appraisal_prepare(appraisal=a)
    put(org.alice, "2026-07-11", first_contact_resolved=0, contacts_handled=100)
    svc.appraisal_prepare(appraisal=a)
    assert ratings(a)[101].actual == pytest.approx(76.0)
    assert ObjectiveRating.objects.filter(appraisal=a).count() == 2


def test_draft_then_submit(org):
    a = make_appraisal(org)
    svc.appraisal_self_save(user=org.alice, appraisal=a, objectives={101: {"self_rating": "85", "self_comment": "Good"}},
                            achievements="Trained two new agents.")
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.DRAFT and a.self_submitted_at is None
    assert ratings(a)[101].self_rating == 85
    # A grade of the scale is kept as its range's midpoint.
    svc.appraisal_self_save(user=org.alice, appraisal=a, objectives={102: {"self_rating": "B"}}, submit=True)
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.SUBMITTED and a.self_submitted_at is not None
    assert ratings(a)[102].self_rating == 85.0
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_self_save(user=org.alice, appraisal=a, achievements="Changed")
    assert exc.value.message_dict["__all__"] == [str(svc.SELF_ALREADY_SUBMITTED)]


def test_submit_needs_every_rating_and_the_achievements(org):
    a = make_appraisal(org)
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_self_save(user=org.alice, appraisal=a, objectives={101: {"self_rating": 80}}, submit=True)
    assert exc.value.message_dict["o102_self_rating"] == [str(svc.SELF_RATING_REQUIRED)]
    assert exc.value.message_dict["achievements"] == [str(svc.ACHIEVEMENTS_REQUIRED)]
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.PENDING
    assert ratings(a)[101].self_rating is None


@pytest.mark.parametrize("bad", ["101", "-1", "abc", "nan", "Z"])
def test_rating_out_of_range_is_refused_and_nothing_saved(org, bad):
    a = make_appraisal(org)
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_self_save(user=org.alice, appraisal=a, objectives={101: {"self_rating": 50}, 102: {"self_rating": bad}},
                                achievements="Should not be saved")
    assert "o102_self_rating" in exc.value.message_dict
    a.refresh_from_db()
    assert a.achievements == "" and a.self_status == Appraisal.Part.PENDING
    assert ratings(a)[101].self_rating is None


def fill_and_submit(org, a) -> Appraisal:
    return svc.appraisal_self_save(
        user=org.alice, appraisal=a, objectives={101: {"self_rating": 80}, 102: {"self_rating": "B"}},
        achievements="Caught up after the reminder.", submit=True,
    )


@pytest.mark.parametrize("phase", [ReviewCycle.Phase.SELF_ASSESSMENT, ReviewCycle.Phase.FEEDBACK,
                                   ReviewCycle.Phase.APPRAISAL])
def test_a_late_self_assessment_is_accepted_until_calibration_and_marked_late(org, phase):
    a = make_appraisal(org, phase=phase, self_due_days=-1)
    svc.appraisal_self_save(user=org.alice, appraisal=a, achievements="A draft, late.")
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.DRAFT and a.achievements == "A draft, late."
    assert svc.self_overdue(a) and not svc.self_submitted_late(a)
    a = fill_and_submit(org, a)
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.SUBMITTED and a.self_submitted_at > a.cycle.self_assessment_due
    assert svc.self_submitted_late(a) and not svc.self_overdue(a)


def test_a_self_assessment_submitted_on_time_is_not_marked_late(org):
    a = fill_and_submit(org, make_appraisal(org))
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.SUBMITTED and not svc.self_submitted_late(a)


def test_a_late_self_assessment_is_refused_once_the_manager_submitted_the_appraisal(org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL, self_due_days=-1)
    Appraisal.objects.filter(pk=a.pk).update(manager_status=Appraisal.Part.SUBMITTED, manager_submitted_at=timezone.now())
    with pytest.raises(ValidationError) as exc:
        fill_and_submit(org, a)
    assert exc.value.message_dict["__all__"] == [str(svc.SELF_AFTER_MANAGER)]
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.PENDING and a.achievements == ""
    assert ratings(a)[101].self_rating is None


def test_a_self_assessment_is_refused_once_the_cycle_is_in_calibration(org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.CALIBRATION, self_due_days=-1)
    with pytest.raises(ValidationError) as exc:
        fill_and_submit(org, a)
    assert exc.value.message_dict["__all__"] == [str(svc.SELF_PHASE_OVER)]
    a.refresh_from_db()
    assert a.self_status == Appraisal.Part.PENDING and a.achievements == ""


@pytest.mark.parametrize("phase, message", [
    (ReviewCycle.Phase.DRAFT, svc.SELF_NOT_LAUNCHED),
    (ReviewCycle.Phase.CLOSING, svc.CLOSED),
    (ReviewCycle.Phase.CLOSED, svc.CLOSED),
])
def test_a_self_assessment_is_refused_before_the_launch_and_once_the_close_started(org, phase, message):
    a = make_appraisal(org, phase=phase)
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_self_save(user=org.alice, appraisal=a, achievements="x")
    assert exc.value.message_dict["__all__"] == [str(message)]


def test_a_closed_appraisal_is_read_only(org):
    a = make_appraisal(org)
    Appraisal.objects.filter(pk=a.pk).update(status=Appraisal.Status.CLOSED)
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_self_save(user=org.alice, appraisal=a, achievements="x")
    assert exc.value.message_dict["__all__"] == [str(svc.CLOSED)]


def test_only_the_appraisee_writes_the_self_assessment(org):
    a = make_appraisal(org)
    for user in (org.mike, org.hana, org.bob):
        with pytest.raises(PermissionDenied):
            svc.appraisal_self_save(user=user, appraisal=a, achievements="x")


def test_a_late_self_assessment_stays_on_the_to_do_list_while_it_can_be_written(org):
    from reviews.todos import reviews_todos

    def todo(user, key):
        return next(t.count for t in reviews_todos(user) if t.key == key)

    a = make_appraisal(org, phase=ReviewCycle.Phase.APPRAISAL, self_due_days=-1, appraisal_due_days=-1)
    assert todo(org.alice, "self-assessment") == 1 and todo(org.mike, "appraisals") == 1
    ReviewCycle.objects.filter(pk=a.cycle_id).update(phase=ReviewCycle.Phase.CALIBRATION)
    assert todo(org.alice, "self-assessment") == 0  # calibration: no longer hers to write
    assert todo(org.mike, "appraisals") == 1  # the manager's, late, until the close
    ReviewCycle.objects.filter(pk=a.cycle_id).update(phase=ReviewCycle.Phase.APPRAISAL)
    Appraisal.objects.filter(pk=a.pk).update(manager_status=Appraisal.Part.SUBMITTED)
    assert todo(org.alice, "self-assessment") == 0  # written without it
