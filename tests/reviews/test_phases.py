"""Phases advance at their deadlines, once, and the calibration deadline starts the close."""

import datetime as dt

from django.utils import timezone

from reviews import closing
from reviews.models import ReviewCycle
from reviews.tasks import advance_review_phases_task
from tests.reviews.test_closing import make_cycle, three_appraisals

HOUR = dt.timedelta(hours=1)


def deadlines(now, *offsets_in_hours):
    names = ("self_assessment_due", "feedback_due", "appraisal_due", "calibration_due")
    return {name: now + dt.timedelta(hours=h) for name, h in zip(names, offsets_in_hours)}


def test_a_phase_advances_when_its_deadline_passes_and_only_once(org):
    now = timezone.now()
    cycle = make_cycle(org, phase="self_assessment", **deadlines(now, 1, 2, 3, 4))
    assert closing.phases_advance(now=now) == 0
    assert closing.phases_advance(now=now + 1.5 * HOUR) == 1
    assert ReviewCycle.objects.get(pk=cycle.pk).phase == "feedback"
    assert closing.phases_advance(now=now + 1.5 * HOUR) == 0  # a second beat: nothing more
    assert ReviewCycle.objects.get(pk=cycle.pk).phase == "feedback"


def test_several_deadlines_passed_advance_through_each_phase(org):
    now = timezone.now()
    cycle = make_cycle(org, phase="self_assessment", **deadlines(now, -3, -2, 1, 2))
    assert closing.phases_advance(now=now) == 2
    assert ReviewCycle.objects.get(pk=cycle.pk).phase == "appraisal"


def test_a_beat_that_finds_the_phase_moved_already_does_nothing(org):
    """Two beats at once: the conditional UPDATE from the expected phase lets one through."""
    now = timezone.now()
    cycle = make_cycle(org, phase="self_assessment", **deadlines(now, -1, 1, 2, 3))
    stale = list(ReviewCycle.objects.filter(pk=cycle.pk))  # what the other beat read
    assert closing.phases_advance(now=now) == 1
    assert ReviewCycle.objects.filter(pk=stale[0].pk, phase=stale[0].phase).update(phase="feedback") == 0


def test_draft_closing_and_closed_cycles_are_left_alone(org):
    now = timezone.now()
    past = deadlines(now, -4, -3, -2, -1)
    draft = make_cycle(org, phase="draft", name="draft", **past)
    closed = make_cycle(org, phase="closed", name="closed", **past)
    not_launched = make_cycle(org, phase="feedback", name="odd", **{**past, "launched_at": None})
    assert closing.phases_advance(now=now) == 0
    assert [ReviewCycle.objects.get(pk=c.pk).phase for c in (draft, closed, not_launched)] == [
        "draft", "closed", "feedback"]


def test_the_calibration_deadline_starts_the_close(org, django_capture_on_commit_callbacks):
    now = timezone.now()
    cycle = make_cycle(org, phase="calibration", **deadlines(now, -4, -3, -2, -1))
    three_appraisals(org, cycle)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert advance_review_phases_task.delay().get() == 1
    assert len(callbacks) == 1
    cycle.refresh_from_db()
    assert cycle.phase == "closed" and cycle.summary["appraisals"] == 3
    assert cycle.appraisals.filter(status="open").count() == 0
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert closing.phases_advance(now=now) == 0
    assert callbacks == []


def test_a_close_that_looks_stuck_is_dispatched_again(org):
    now = timezone.now()
    cycle = make_cycle(org, phase="calibration", **deadlines(now, -4, -3, -2, -1))
    three_appraisals(org, cycle)
    # The close started 5 minutes ago and its message was lost: too early to tell.
    ReviewCycle.objects.filter(pk=cycle.pk).update(
        phase="closing", closing_started_at=now - dt.timedelta(minutes=5), closing_total=3)
    closing.phases_advance(now=now)
    assert ReviewCycle.objects.get(pk=cycle.pk).phase == "closing"
    closing.phases_advance(now=now + dt.timedelta(minutes=closing.CLOSE_STALE_MINUTES))  # eager: runs now
    cycle.refresh_from_db()
    assert cycle.phase == "closed" and cycle.closing_done == 3


def test_beat_schedule_entries_name_existing_tasks():
    from reviews import tasks

    for name in ("advance_review_phases_task", "send_review_reminders_task", "close_cycle_task"):
        assert getattr(tasks, name).name == f"reviews.tasks.{name}"
