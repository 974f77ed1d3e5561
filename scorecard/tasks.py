"""Celery tasks of the scorecard app: thin wrappers that take an id and call a service."""

from celery import shared_task

from .import_jobs import import_files_purge, import_job_run, import_jobs_requeue


@shared_task
def run_import_job_task(job_id: int, language: str | None = None) -> None:
    """Load one uploaded file; safe to deliver twice (the service claims the job).

    `language` is the uploader's language, in which the job's error messages are
    written; a message queued without it (before it was added) uses the default.
    """
    import_job_run(job_id=job_id, language=language)


@shared_task
def purge_import_files_task() -> int:
    """Delete uploaded files past their retention (scheduled in settings.CELERY_BEAT_SCHEDULE)."""
    return import_files_purge()


@shared_task
def requeue_import_jobs_task() -> int:
    """Queue again imports whose message was lost or whose worker died (scheduled every 10 minutes)."""
    return import_jobs_requeue()
