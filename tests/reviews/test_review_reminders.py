"""Reminders before each deadline: to whoever has not finished their part, once per appraisal, phase and person."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from reviews import closing
from reviews.models import AppraisalReminder
from reviews.tasks import send_review_reminders_task
from tests.reviews.test_closing import make_appraisal, make_cycle

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def now():
    return timezone.now()


def self_assessment_cycle(org, now, due_in_hours=24, **fields):
    return make_cycle(org, phase="self_assessment", self_assessment_due=now + due_in_hours * HOUR,
                      feedback_due=now + 100 * HOUR, appraisal_due=now + 200 * HOUR,
                      calibration_due=now + 300 * HOUR, **fields)


def test_appraisees_who_have_not_submitted_are_reminded_once(org, now):
    cycle = self_assessment_cycle(org, now)
    make_appraisal(cycle, org.alice, self_status="draft")
    make_appraisal(cycle, org.bob, self_status="submitted")
    make_appraisal(cycle, org.carl)  # pending

    assert closing.reminders_send(now=now) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "carl@example.com"]
    message = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert message.subject == "Your self-assessment is due soon: Q3 2026"
    assert "Hello Alice Agent," in message.body and "has not been submitted yet" in message.body
    assert f"/appraisals/{cycle.appraisals.get(person=org.alice).pk}/" in message.body

    assert send_review_reminders_task.delay().get() == 0  # a second run: nobody twice
    assert closing.reminders_send(now=now + 12 * HOUR) == 0
    assert len(mail.outbox) == 2
    assert set(AppraisalReminder.objects.values_list("phase", "recipient__employee_code")) == {
        ("self_assessment", "ALICE"), ("self_assessment", "CARL")}


def test_nobody_is_reminded_before_the_window_or_after_the_deadline(org, now, settings):
    settings.REVIEW_REMINDER_HOURS = 48
    cycle = self_assessment_cycle(org, now, due_in_hours=72)
    make_appraisal(cycle, org.alice)
    assert closing.reminders_send(now=now) == 0
    assert closing.reminders_send(now=now, hours_before=72) == 1  # the window is a parameter
    other = self_assessment_cycle(org, now, due_in_hours=-1, name="late")
    make_appraisal(other, org.bob)
    assert closing.reminders_send(now=now) == 0  # past the deadline: too late to remind
    settings.REVIEW_REMINDER_HOURS = 80
    assert closing.reminders_send(now=now) == 0  # alice already reminded


def test_managers_are_reminded_of_each_appraisal_they_have_not_submitted(org, now):
    cycle = make_cycle(org, phase="appraisal", appraisal_due=now + 10 * HOUR, calibration_due=now + 50 * HOUR)
    make_appraisal(cycle, org.alice, self_status="submitted", manager_status="draft")
    make_appraisal(cycle, org.bob, manager_status="submitted")
    make_appraisal(cycle, org.carl)  # Dana's report, not started
    assert closing.reminders_send(now=now) == 2
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("dana@example.com", "Appraisal of Carl Two due soon: Q3 2026"),
        ("mike@example.com", "Appraisal of Alice Agent due soon: Q3 2026"),
    ]
    assert closing.reminders_send(now=now) == 0


def test_phases_without_reminders_and_closed_appraisals_send_nothing(org, now):
    feedback = make_cycle(org, phase="feedback", feedback_due=now + HOUR, name="feedback")
    make_appraisal(feedback, org.alice)
    cycle = self_assessment_cycle(org, now, name="closed appraisal")
    make_appraisal(cycle, org.bob, status="closed")
    assert closing.reminders_send(now=now) == 0 and mail.outbox == []


def test_a_failed_email_is_not_recorded_and_is_tried_again(org, now, monkeypatch):
    cycle = self_assessment_cycle(org, now)
    make_appraisal(cycle, org.alice)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(closing, "email_send", broken)
    with pytest.raises(ConnectionRefusedError):
        closing.reminders_send(now=now)
    assert AppraisalReminder.objects.count() == 0
    monkeypatch.undo()
    assert closing.reminders_send(now=now) == 1 and len(mail.outbox) == 1


def test_reminders_take_one_query_per_phase_plus_each_insert(org, now, django_assert_num_queries):
    """Expect 2 queries (due self-assessments; due manager appraisals, recipients joined)
    and, per reminder sent, savepoint + INSERT + release: 2 + 3 × 3."""
    cycle = self_assessment_cycle(org, now)
    for person in (org.alice, org.bob, org.carl):
        make_appraisal(cycle, person)
    with django_assert_num_queries(2 + 3 * 3):
        assert closing.reminders_send(now=now) == 3
    with django_assert_num_queries(2):
        assert closing.reminders_send(now=now) == 0
