"""Celery tasks of the scorecard app: thin wrappers that take an id and call a service."""

import logging
import smtplib

from celery import shared_task
from celery.signals import worker_ready

from . import outbox
from .emails import email_deliver
from .import_jobs import import_files_purge, import_job_run, import_jobs_requeue

logger = logging.getLogger(__name__)


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


# ------------------------------------------------------------------ outbox and e-mail

# Retries of an e-mail while the mail server is unreachable: 1, 2, 4 … minutes, then hourly, for about two days.
EMAIL_MAX_RETRIES = 50
EMAIL_RETRY_MAX_SECONDS = 3600


def _smtp_transient(exc: BaseException) -> bool:
    """The mail server may accept this e-mail later: unreachable, disconnected, or a 4xx answer."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500 or isinstance(exc, smtplib.SMTPAuthenticationError)  # a fixable setting
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return False
    return isinstance(exc, OSError)  # refused, reset, timed out, name not resolved; SMTPServerDisconnected


@shared_task(bind=True, max_retries=EMAIL_MAX_RETRIES)
def send_email_task(self, subject: str, body: str, recipients: list[str]) -> None:
    """Send one e-mail rendered by scorecard.emails.email_send; retried with backoff while the server is down.

    In eager mode (tests) a failure is raised to the outbox, which keeps the e-mail for the drain.
    """
    try:
        email_deliver(subject, body, recipients)
    except Exception as exc:
        if self.request.is_eager or not _smtp_transient(exc):
            if not self.request.is_eager:
                logger.error("e-mail to %s refused for good: %s: %s", recipients, type(exc).__name__, exc)
            raise
        countdown = min(60 * 2 ** self.request.retries, EMAIL_RETRY_MAX_SECONDS)
        logger.warning("e-mail to %s not sent (%s), retry in %ss", recipients, exc, countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task
def drain_outbox_task() -> int:
    """Hand the broker the work kept while it was unreachable (every minute, and when a worker starts)."""
    return outbox.drain()


@worker_ready.connect
def _drain_at_worker_start(sender=None, **kwargs) -> None:
    """A worker that starts sends the kept work at once, without waiting for the next beat."""
    try:
        drain_outbox_task.apply_async(retry=False)
    except Exception:  # noqa: BLE001 — the beat's drain sends it later
        logger.warning("outbox: the drain at worker start could not be queued", exc_info=True)
