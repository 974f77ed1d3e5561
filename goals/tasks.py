"""Celery tasks of the goals app: thin wrappers around services."""

from celery import shared_task

from .checkins import checkin_reminders_send


@shared_task
def send_checkin_reminders_task() -> int:
    """Remind owners of objectives with no recent check-in (daily, settings.CELERY_BEAT_SCHEDULE).

    Safe to run twice or on two workers at once: each reminder is claimed by
    inserting a unique CheckInReminder row before its email goes out.
    """
    return checkin_reminders_send()
