"""Celery tasks of the reviews app: thin wrappers that take an id and call a service."""

from celery import shared_task

from .closing import close_cycle, late_reminders_send, phases_advance, reminders_send
from .exports import export_chunk_run, exports_maintain
from .feedback import feedback_reminders_send


@shared_task
def close_cycle_task(cycle_id: int, batch_size: int = 200) -> None:
    """Close a cycle's appraisals and write its summary; safe to deliver twice or to two workers at once.

    Each batch of appraisals is claimed by a conditional UPDATE, so a second
    delivery only closes what is still open, and a run cut short is finished
    by the next one (phases_advance re-dispatches closes that look stuck).
    """
    close_cycle(cycle_id=cycle_id, batch_size=batch_size)


@shared_task
def advance_review_phases_task() -> int:
    """Move cycles past their deadlines and start closes at the calibration deadline (every 5 minutes)."""
    return phases_advance()


@shared_task
def send_review_reminders_task() -> int:
    """Remind people whose self-assessment, 360 answers or appraisal are due soon (hourly); never twice for one thing."""
    return reminders_send() + feedback_reminders_send()


@shared_task
def remind_late_task(run_id: int) -> int:
    """Send HR's "Remind the late ones now"; return how many e-mails went out.

    Delivered twice, the run is claimed once; and each reminder is claimed on its own,
    so nobody gets the same one twice within REVIEW_REMIND_NOW_HOURS.
    """
    run = late_reminders_send(run_id=run_id)
    return run.sent_emails if run else 0


@shared_task
def export_chunk_task(job_id: int, index: int) -> bool:
    """Render one chunk of an appraisal export; the worker finishing the last chunk assembles the ZIP.

    Delivered twice, or to two workers, the chunk is rendered once (claimed by a conditional UPDATE).
    """
    return export_chunk_run(job_id=job_id, index=index)


@shared_task
def maintain_exports_task() -> dict:
    """Dispatch export chunks that look stuck and delete exports past EXPORT_RETENTION_HOURS (every 10 minutes)."""
    return exports_maintain()
