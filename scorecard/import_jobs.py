"""Write use cases of web uploads: an ImportJob row per file, loaded by a Celery worker.

The upload is stored and a task dispatched once the row is committed; the
worker claims the job with a conditional UPDATE, so a task delivered twice
(acks_late, a retry, two workers) loads the file once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext_lazy

from . import imports, outbox
from .models import ImportJob

logger = logging.getLogger(__name__)

IMPORTERS = {
    ImportJob.Kind.ORG: imports.import_org,
    ImportJob.Kind.PEOPLE: imports.import_people,
    ImportJob.Kind.MEASUREMENTS: imports.import_measurements,
}
UNKNOWN_KIND = gettext_lazy("Choose what the file holds: measurements, org units or people.")
FILE_MISSING = gettext_lazy("Choose a CSV file to upload.")
FILE_GONE = gettext_lazy("The uploaded file is no longer stored; upload it again.")
UNEXPECTED_ERROR = gettext_lazy("The import stopped on an unexpected error; nothing from this file was saved.")


@transaction.atomic
def import_job_create(*, user, kind: str, uploaded_file, language: str | None = None) -> ImportJob:
    """Store an uploaded CSV file and queue its import once the job row is committed.

    The job's error messages are stored as text, written by the worker in
    `language` (the uploader's; by default the language active here).
    """
    from .tasks import run_import_job_task  # tasks imports this module

    errors = {}
    if kind not in ImportJob.Kind.values:
        errors["kind"] = str(UNKNOWN_KIND)
    if uploaded_file is None:
        errors["file"] = str(FILE_MISSING)
    if errors:
        raise ValidationError(errors)
    filename = os.path.basename(uploaded_file.name or "upload.csv")[:255]
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    job = ImportJob(kind=kind, created_by=user, filename=filename, language=language)
    job.file.save(filename, uploaded_file, save=False)
    job.save()
    # Recorded with the job; sent once committed, or by the outbox's drain if the broker is unreachable.
    outbox.enqueue(run_import_job_task, job.pk, language)
    return job


def import_jobs_requeue(*, now: dt.datetime | None = None) -> int:
    """Queue again the jobs whose message was lost or whose worker died; return how many.

    A job still pending after IMPORT_JOB_STALE_MINUTES, or running for longer
    than that without finishing, is dispatched again. A re-run is harmless:
    an import is one transaction (a killed run saved nothing) and re-importing
    replaces values, and the claim lets only one worker take the job.
    """
    from .tasks import run_import_job_task

    cutoff = (now or timezone.now()) - dt.timedelta(minutes=settings.IMPORT_JOB_STALE_MINUTES)
    stale = ImportJob.objects.filter(
        Q(status=ImportJob.Status.PENDING, created_at__lt=cutoff)
        | Q(status=ImportJob.Status.RUNNING, started_at__lt=cutoff)
    ).values_list("pk", "language")
    count = 0
    for pk, language in stale:
        run_import_job_task.delay(pk, language or None)
        count += 1
    return count


def _finish(job: ImportJob, **fields) -> None:
    for name, value in fields.items():
        setattr(job, name, value)
    job.finished_at = timezone.now()
    job.save(update_fields=[*fields, "finished_at"])


def import_job_run(*, job_id: int, language: str | None = None) -> ImportJob | None:
    """Claim a pending job, run its import, and record the outcome; None if there was nothing to claim.

    Only the process whose UPDATE changes the row from pending to running
    goes on: another worker got there first, or the job already ran.
    Error messages are written in `language` (default: settings.LANGUAGE_CODE).
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        return _run(job_id)


def _connection_lost(exc: Exception) -> bool:
    """The database connection broke (server restarted or shut down, connection cut), not a query's error.

    PostgreSQL says so by the error's SQLSTATE: class 08 (connection exception), 57P (operator intervention:
    admin shutdown, crash, cannot connect now), or none at all when the server never answered. SQLite's
    errors (a lock timeout, say) are not taken for a lost connection: the job fails as before.
    """
    if isinstance(exc, InterfaceError):
        return True
    cause = exc.__cause__
    if cause is None or not hasattr(cause, "sqlstate"):
        return False
    sqlstate = cause.sqlstate
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


def _run(job_id: int) -> ImportJob | None:
    now = timezone.now()
    stale = now - dt.timedelta(minutes=settings.IMPORT_JOB_STALE_MINUTES)
    # Pending, or running so long that its worker must have died (see import_jobs_requeue).
    claimed = (
        ImportJob.objects.filter(pk=job_id)
        .filter(Q(status=ImportJob.Status.PENDING) | Q(status=ImportJob.Status.RUNNING, started_at__lt=stale))
        .update(status=ImportJob.Status.RUNNING, started_at=now)
    )
    if not claimed:
        return None
    job = ImportJob.objects.get(pk=job_id)
    if not job.file:
        _finish(
            job,
            status=ImportJob.Status.FAILED,
            errors=[{"line": 0, "column": "", "message": str(FILE_GONE)}],
            error_count=1,
        )
        return job
    try:
        with job.file.open("rb") as source:
            result = IMPORTERS[job.kind](source)
    except imports.ImportFailed as exc:
        _finish(
            job,
            status=ImportJob.Status.FAILED,
            errors=[error.as_dict() for error in exc.errors],
            error_count=exc.total,
        )
    except Exception as exc:
        if isinstance(exc, (OperationalError, InterfaceError)) and _connection_lost(exc):
            # The database went away (restarted, the connection cut): the server rolled the import's
            # transaction back, so nothing was saved. The job goes back to pending and the requeue runs it
            # again; if even that cannot be written, it stays running and the requeue takes it once stale.
            logger.warning("Import job %s: the database connection was lost; queued again", job_id, exc_info=True)
            connection.close()
            ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING).update(
                status=ImportJob.Status.PENDING, started_at=None
            )
            job.refresh_from_db()
            return job
        # Leave no job "running" for ever: the page would refresh without end.
        # The import itself ran in a transaction, so nothing was half-saved.
        logger.exception("Import job %s failed", job_id)
        _finish(
            job,
            status=ImportJob.Status.FAILED,
            errors=[{"line": 0, "column": "", "message": str(UNEXPECTED_ERROR)}],
            error_count=1,
        )
    else:
        _finish(
            job, status=ImportJob.Status.DONE, rows=result.rows, values=result.values,
            created=result.created, updated=result.updated,
        )
    return job


def import_files_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the stored files of finished jobs older than IMPORT_FILE_RETENTION_DAYS; keep the rows.

    Returns how many files were deleted.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.IMPORT_FILE_RETENTION_DAYS)
    jobs = (
        ImportJob.objects.filter(created_at__lt=cutoff)
        .exclude(file="")
        .exclude(status__in=[ImportJob.Status.PENDING, ImportJob.Status.RUNNING])
        .only("pk", "file")
    )
    purged = 0
    for job in jobs.iterator():
        job.file.delete(save=False)  # the storage forgives a file already gone
        ImportJob.objects.filter(pk=job.pk).update(file="")
        purged += 1
    return purged
