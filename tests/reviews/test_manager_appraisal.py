"""Manager appraisal, scores, gate, outcome; interview and next objectives; acknowledgement."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from goals.models import Objective
from reviews import appraisals as svc
from reviews.models import Appraisal, Competency, CompetencyRating, ObjectiveRating, ReviewCycle
from tests.factories import put
from tests.reviews.test_self_assessment import make_appraisal, ratings

pytestmark = pytest.mark.django_db
APPRAISAL = ReviewCycle.Phase.APPRAISAL


def all_competencies(score: int) -> dict:
    return {c.code: {"score": score, "comment": ""} for c in Competency.objects.filter(active=True)}


def test_manager_rating_is_prefilled_from_the_system_score_and_scores_follow_the_weights(org):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)  # system score 90
    a = make_appraisal(org, phase=APPRAISAL)
    a = svc.appraisal_manager_save(user=org.mike, appraisal=a, objectives={102: {"manager_rating": 70}},
                                   competencies=all_competencies(4), manager_comments="Solid quarter.")
    # Objectives: (90 × 60 + 70 × 40) / 100 = 82; competencies 4 → 80; overall 0.7 × 82 + 0.3 × 80 = 81.4
    assert a.objectives_score == pytest.approx(82.0)
    assert a.competencies_score == pytest.approx(80.0)
    assert a.feedback_score is None
    assert a.overall_score == pytest.approx(81.4)
    assert a.proposed_grade == "B" and not a.gate_applied
    assert a.outcome == "Bonus 10%"
    assert a.manager_status == Appraisal.Part.DRAFT


def test_objective_weights_are_renormalised_over_the_rated_objectives(org):
    a = make_appraisal(org, phase=APPRAISAL)  # no data: the KPI objective has no score
    a = svc.appraisal_manager_save(user=org.mike, appraisal=a, objectives={102: {"manager_rating": 95}},
                                   competencies={"communication": {"score": 5}, "leadership": {"score": 3}})
    assert a.objectives_score == pytest.approx(95.0)
    assert a.competencies_score == pytest.approx(80.0)  # mean of 100 and 60
    assert a.overall_score == pytest.approx(0.7 * 95 + 0.3 * 80)


def test_a_fatal_error_caps_the_grade_at_d(org):
    put(org.alice, "2026-07-10", first_contact_resolved=90, contacts_handled=100, qa_fatal_errors=1)
    a = make_appraisal(org, phase=APPRAISAL)
    a = svc.appraisal_manager_save(user=org.mike, appraisal=a, objectives={102: {"manager_rating": 100}},
                                   competencies=all_competencies(5))
    assert a.overall_score == pytest.approx(100.0)
    assert a.proposed_grade == "D" and a.gate_applied
    assert a.outcome == "No bonus"


def test_submit_only_in_the_appraisal_phase_drafts_earlier(org):
    a = make_appraisal(org, phase=ReviewCycle.Phase.SELF_ASSESSMENT)
    svc.appraisal_manager_save(user=org.mike, appraisal=a, manager_comments="Early notes")
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_manager_save(user=org.mike, appraisal=a, competencies=all_competencies(3), submit=True)
    assert exc.value.message_dict["__all__"] == [str(svc.MANAGER_SUBMIT_NOT_IN_PHASE)]
    a.refresh_from_db()
    assert a.manager_comments == "Early notes" and a.manager_status == Appraisal.Part.DRAFT
    assert not CompetencyRating.objects.filter(appraisal=a).exists()


def test_submit_needs_every_competency_and_then_locks(org):
    a = make_appraisal(org, phase=APPRAISAL)
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_manager_save(user=org.mike, appraisal=a, competencies={"communication": {"score": 4}}, submit=True)
    assert exc.value.message_dict["c_leadership_score"] == [str(svc.COMPETENCY_REQUIRED)]
    a = svc.appraisal_manager_save(user=org.mike, appraisal=a, competencies=all_competencies(3), submit=True)
    assert a.manager_status == Appraisal.Part.SUBMITTED and a.manager_submitted_at is not None
    with pytest.raises(ValidationError):
        svc.appraisal_manager_save(user=org.mike, appraisal=a, manager_comments="later")


@pytest.mark.parametrize("phase", [APPRAISAL, ReviewCycle.Phase.CALIBRATION])
def test_a_late_manager_appraisal_is_accepted_until_the_close_and_marked_late(org, phase):
    a = make_appraisal(org, phase=phase, self_due_days=-10, appraisal_due_days=-1)
    a = svc.appraisal_manager_save(user=org.mike, appraisal=a, manager_comments="Late, but written.")
    assert a.manager_status == Appraisal.Part.DRAFT and svc.manager_overdue(a)
    a = svc.appraisal_manager_save(user=org.mike, appraisal=a, objectives={102: {"manager_rating": 70}},
                                   competencies=all_competencies(4), submit=True)
    a.refresh_from_db()
    assert a.manager_status == Appraisal.Part.SUBMITTED and a.manager_comments == "Late, but written."
    assert a.proposed_grade and a.manager_submitted_at > a.cycle.appraisal_due
    assert svc.manager_submitted_late(a) and not svc.manager_overdue(a)


def test_a_manager_appraisal_submitted_on_time_is_not_marked_late(org):
    a = make_appraisal(org, phase=APPRAISAL)
    a = svc.appraisal_manager_save(user=org.mike, appraisal=a, competencies=all_competencies(3), submit=True)
    assert a.manager_status == Appraisal.Part.SUBMITTED and not svc.manager_submitted_late(a)


@pytest.mark.parametrize("phase, message", [
    (ReviewCycle.Phase.DRAFT, svc.MANAGER_NOT_LAUNCHED),
    (ReviewCycle.Phase.CLOSING, svc.CLOSED),
    (ReviewCycle.Phase.CLOSED, svc.CLOSED),
])
def test_a_manager_appraisal_is_refused_before_the_launch_and_once_the_close_started(org, phase, message):
    a = make_appraisal(org, phase=phase, appraisal_due_days=-1)
    for submit in (False, True):
        with pytest.raises(ValidationError) as exc:
            svc.appraisal_manager_save(user=org.mike, appraisal=a, competencies=all_competencies(3),
                                       manager_comments="not saved", submit=submit)
        assert exc.value.message_dict["__all__"] == [str(message)]
    a.refresh_from_db()
    assert a.manager_status == Appraisal.Part.PENDING and a.manager_comments == ""
    assert not CompetencyRating.objects.filter(appraisal=a).exists()


def test_manager_refusals_range_and_who(org):
    b = make_appraisal(org, phase=APPRAISAL, person=org.bob)
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_manager_save(user=org.mike, appraisal=b, objectives={101: {"manager_rating": 120}},
                                   competencies={"communication": {"score": 6}}, manager_comments="not saved")
    assert set(exc.value.message_dict) == {"o101_manager_rating", "c_communication_score"}
    b.refresh_from_db()
    assert b.manager_comments == "" and ratings(b)[101].manager_rating is None
    for user in (org.bob, org.olga, org.hana):  # the appraisee, another team's manager, HR
        with pytest.raises(PermissionDenied):
            svc.appraisal_manager_save(user=user, appraisal=b, manager_comments="x")
    svc.appraisal_manager_save(user=org.dana, appraisal=b, manager_comments="From above")  # a manager above


def test_interview_and_next_quarter_objectives_are_created_in_one_step(org):
    a = make_appraisal(org, phase=APPRAISAL)
    when = dt.datetime(2026, 10, 5, 10, 0, tzinfo=dt.timezone.utc)
    svc.appraisal_interview_save(
        user=org.mike, appraisal=a, interview_at=when, interview_notes="Talked it through.",
        improvement_actions="Shadow a senior agent.",
        next_objectives=[{"title": "FCR to 75%", "kpi": "fcr", "baseline": 70, "target": 75, "stretch": 80},
                         {"title": "Mentor a new agent", "completion_criterion": "Mentee certified",
                          "verification": "Training record"}],
    )
    created = svc.appraisal_next_objectives_create(user=org.mike, appraisal=a)
    assert len(created) == 2
    objectives = Objective.objects.filter(owner_person=org.alice).order_by("id")
    assert [o.status for o in objectives] == ["draft", "draft"]
    assert objectives[0].period_start == dt.date(2026, 10, 1) and objectives[0].period_end == dt.date(2026, 12, 31)
    assert objectives[0].kpi.code == "fcr" and objectives[0].target == 75
    a.refresh_from_db()
    assert all(d.get("objective_id") for d in a.next_objectives)
    with pytest.raises(ValidationError):  # nothing left to create: never twice
        svc.appraisal_next_objectives_create(user=org.mike, appraisal=a)
    assert Objective.objects.filter(owner_person=org.alice).count() == 2


def test_next_objectives_are_all_or_none(org):
    a = make_appraisal(org, phase=APPRAISAL)
    svc.appraisal_interview_save(
        user=org.mike, appraisal=a, interview_at=None,
        next_objectives=[{"title": "FCR to 75%", "kpi": "fcr", "baseline": 70, "target": 75, "stretch": 80},
                         {"title": "AHT", "kpi": "aht", "target": 330}],  # no baseline/stretch: refused
    )
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_next_objectives_create(user=org.mike, appraisal=a)
    assert "n1_baseline" in exc.value.message_dict and "n1_stretch" in exc.value.message_dict
    assert not Objective.objects.filter(owner_person=org.alice).exists()


def test_interview_refuses_a_draft_without_title_or_with_unknown_kpi(org):
    a = make_appraisal(org, phase=APPRAISAL)
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_interview_save(user=org.mike, appraisal=a, interview_at=None, interview_notes="n",
                                     next_objectives=[{"title": ""}, {"title": "x", "kpi": "nope"}])
    assert set(exc.value.message_dict) == {"n0_title", "n1_kpi"}
    a.refresh_from_db()
    assert a.interview_notes == ""
    with pytest.raises(PermissionDenied):
        svc.appraisal_interview_save(user=org.alice, appraisal=a, interview_at=None)


def test_acknowledgement_after_submit_with_disagreement(org):
    a = make_appraisal(org, phase=APPRAISAL)
    with pytest.raises(ValidationError) as exc:
        svc.appraisal_acknowledge(user=org.alice, appraisal=a)
    assert exc.value.message_dict["__all__"] == [str(svc.NOT_SUBMITTED_YET)]
    svc.appraisal_manager_save(user=org.mike, appraisal=a, competencies=all_competencies(3), submit=True)
    with pytest.raises(PermissionDenied):
        svc.appraisal_acknowledge(user=org.mike, appraisal=a)
    a = svc.appraisal_acknowledge(user=org.alice, appraisal=a, disagreement="The FAQ was delayed by IT.")
    assert a.acknowledged_at is not None and a.disagreement == "The FAQ was delayed by IT."
    with pytest.raises(ValidationError):
        svc.appraisal_acknowledge(user=org.alice, appraisal=a)


def test_scores_function_uses_snapshot_weights(org):
    a = make_appraisal(org)
    rows = [ObjectiveRating(objective_id=101, title="", weight=1, manager_rating=50),
            ObjectiveRating(objective_id=102, title="", weight=99, manager_rating=100)]
    scores = svc.appraisal_scores(appraisal=a, ratings=rows, competency_scores=[], sums={})
    assert scores["objectives_score"] == pytest.approx(70.0)  # 60/40 from the snapshot, not the rows' 1/99
    assert scores["overall_score"] == pytest.approx(70.0)  # competencies unrated: renormalised
    assert scores["proposed_grade"] == "C" and scores["outcome"] == "Bonus 5%"
