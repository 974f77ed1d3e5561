"""HR's bulk export: every appraisal of a cycle (or of chosen units) as a PDF, in one ZIP, made by Celery workers.

Flow: `export_start` records the job and splits the appraisals into chunks
(EXPORT_CHUNK_SIZE each), one task per chunk, so as many workers as there are
render in parallel. Each chunk task claims its chunk with a conditional UPDATE,
renders its PDFs into its own part file and marks the chunk done; the worker
that finds every chunk done assembles the ZIP (claimed by a conditional UPDATE
too), mails the requester and deletes the parts. Files are named
"appraisal_<cycle>_<employee code>_<language>.pdf"; a document that fails to render is written
in the export's log (and in export-log.txt inside the ZIP) and the rest are
delivered.

Safe to repeat: starting the same export (cycle, units, language) while one is
pending or running returns that one; a chunk delivered twice is rendered once;
a chunk or an assembly cut short (a worker killed) is dispatched again by the
beat job `exports_maintain`, which also deletes exports older than
EXPORT_RETENTION_HOURS.

Files live under MEDIA_ROOT/exports/<job id>/: with workers on several
machines, MEDIA_ROOT must be shared storage (as for uploaded imports).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import uuid
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard import outbox
from scorecard.access import subtrees_q
from scorecard.emails import absolute_url, email_send
from scorecard.models import OrgUnit

from .documents import appraisal_filename, appraisal_pdf, cycle_slug
from .models import Appraisal, ExportChunk, ExportJob, ReviewCycle

logger = logging.getLogger(__name__)

S = ExportJob.Status
CS = ExportChunk.Status

NOT_HR = _("Only HR exports a review cycle.")
NOT_LAUNCHED = _("This cycle has not been launched: there is no appraisal to export.")
UNKNOWN_UNITS = _("Unknown unit codes: %(codes)s.")
UNKNOWN_LANGUAGE = _("Choose English or Simplified Chinese.")
NOTHING_TO_EXPORT = _("No appraisal of this cycle belongs to the chosen units.")

LANGUAGES = {code for code, _name in settings.LANGUAGES}


def can_export(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.role == user.Role.HR))


def _chunk_size() -> int:
    return max(1, int(getattr(settings, "EXPORT_CHUNK_SIZE", 10)))


def _stale() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "EXPORT_STALE_MINUTES", 15))


def export_dir(job: ExportJob | int) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(getattr(job, "pk", job))


def export_path(job: ExportJob) -> Path | None:
    """The finished ZIP, if it is there."""
    if job.status not in (S.DONE, S.FAILED) or not job.file:
        return None
    path = Path(settings.MEDIA_ROOT) / job.file
    return path if path.is_file() else None


def export_key(cycle_id: int, unit_codes: list[str], language: str) -> str:
    return hashlib.sha256(json.dumps([cycle_id, sorted(unit_codes), language]).encode()).hexdigest()


def export_appraisals(cycle: ReviewCycle, units: list[OrgUnit]) -> QuerySet[Appraisal]:
    """The cycle's appraisals in these units' subtrees (the unit each was appraised in), in file order."""
    qs = Appraisal.objects.filter(cycle=cycle)
    if units:
        qs = qs.filter(subtrees_q([unit.path for unit in units], "unit__"))
    return qs.order_by("unit__path", "person__employee_code")


def exports_of(user, cycle: ReviewCycle) -> QuerySet[ExportJob]:
    """The cycle's exports for HR (everyone else: none), newest first (1 query)."""
    if not can_export(user):
        return ExportJob.objects.none()
    return ExportJob.objects.filter(cycle=cycle).select_related("requested_by")


def export_get(user, pk: int) -> ExportJob:
    from django.http import Http404

    job = ExportJob.objects.select_related("cycle", "requested_by").filter(pk=pk).first()
    if job is None or not can_export(user):
        raise Http404
    return job


# -------------------------------------------------------------------- start


def export_start(*, user, cycle: ReviewCycle, unit_codes: list[str] | None, language: str) -> tuple[ExportJob, bool]:
    """Start an export, or return the same one already pending or running; (job, whether it was started now)."""
    if not can_export(user):
        raise PermissionDenied(NOT_HR)
    errors: dict[str, list[str]] = {}
    if cycle.phase == ReviewCycle.Phase.DRAFT or cycle.launched_at is None:
        errors["__all__"] = [str(NOT_LAUNCHED)]
    if language not in LANGUAGES:
        errors["language"] = [str(UNKNOWN_LANGUAGE)]
    codes = sorted({str(c).strip() for c in unit_codes or [] if str(c).strip()})
    units = list(OrgUnit.objects.filter(code__in=codes))
    unknown = sorted(set(codes) - {u.code for u in units})
    if unknown:
        errors["units"] = [str(UNKNOWN_UNITS % {"codes": ", ".join(unknown)})]
    if errors:
        raise ValidationError(errors)
    key = export_key(cycle.pk, codes, language)
    active = ExportJob.objects.filter(cycle=cycle, key=key, status__in=ExportJob.ACTIVE).first()
    if active is not None:
        return active, False
    ids = list(export_appraisals(cycle, units).values_list("pk", flat=True))
    if not ids:
        raise ValidationError({"units": [str(NOTHING_TO_EXPORT)]})
    size = _chunk_size()
    try:
        with transaction.atomic():
            job = ExportJob.objects.create(cycle=cycle, requested_by=user, unit_codes=codes, language=language,
                                           key=key, total=len(ids))
            chunks = ExportChunk.objects.bulk_create([
                ExportChunk(job=job, index=i, appraisal_ids=ids[start:start + size])
                for i, start in enumerate(range(0, len(ids), size))
            ])
            # One message per chunk, recorded with the job: sent once committed, or by the outbox's drain
            # when the broker is back.
            outbox.enqueue_many(_chunk_task(), [(job.pk, chunk.index) for chunk in chunks])
    except IntegrityError:  # the same export started at the same moment: that one
        return ExportJob.objects.get(cycle=cycle, key=key, status__in=ExportJob.ACTIVE), False
    return job, True


def _chunk_task():
    from .tasks import export_chunk_task  # tasks imports this module

    return export_chunk_task


def _dispatch(job_id: int, indexes) -> None:
    from .tasks import export_chunk_task  # tasks imports this module

    for index in indexes:
        export_chunk_task.delay(job_id, index)


# ------------------------------------------------------------------ render


def _safe_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def export_chunk_run(*, job_id: int, index: int, now: dt.datetime | None = None) -> bool:
    """Render one chunk into its part file; return False when there was nothing to do (done, or being rendered).

    A chunk claimed longer ago than EXPORT_STALE_MINUTES is taken over (its
    worker died); whichever run marks it done first counts, once.
    """
    now = now or timezone.now()
    claimable = Q(status=CS.PENDING) | Q(status=CS.RUNNING, claimed_at__lt=now - _stale())
    if not ExportChunk.objects.filter(claimable, job_id=job_id, index=index, job__status__in=ExportJob.ACTIVE).update(
        status=CS.RUNNING, claimed_at=now
    ):
        return False
    ExportJob.objects.filter(pk=job_id, status=S.PENDING).update(status=S.RUNNING)
    job = ExportJob.objects.select_related("cycle").get(pk=job_id)
    chunk = ExportChunk.objects.get(job_id=job_id, index=index)
    appraisals = list(
        Appraisal.objects.filter(pk__in=chunk.appraisal_ids)
        .select_related("cycle", "person__unit", "manager", "unit")
        .order_by("unit__path", "person__employee_code")
    )
    directory = export_dir(job_id)
    directory.mkdir(parents=True, exist_ok=True)
    # A temporary name of its own: a run taken over may still be writing, in the same process (a thread pool)
    # or on another machine sharing MEDIA_ROOT, where the pid alone could be the same.
    part, tmp = directory / f"part-{index:05d}.zip", directory / f"part-{index:05d}.{uuid.uuid4().hex}.tmp"
    log, ok = [], 0
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for appraisal in appraisals:
            name = appraisal_filename(appraisal, job.language)
            try:
                data = appraisal_pdf(appraisal, language=job.language)
            except Exception as exc:  # one document failing must not stop the others
                logger.exception("export %s: %s could not be rendered", job_id, name)
                log.append({"file": name, "person": appraisal.person.employee_code, "error": _safe_error(exc)})
                continue
            archive.writestr(name, data)
            ok += 1
    os.replace(tmp, part)
    # Only the run that still holds the claim records it (a stale run taken over records nothing).
    if not ExportChunk.objects.filter(job_id=job_id, index=index, status=CS.RUNNING, claimed_at=now).update(
        status=CS.DONE, done=ok, log=log
    ):
        return False
    ExportJob.objects.filter(pk=job_id).update(done=F("done") + ok, failed=F("failed") + len(log))
    export_finish(job_id=job_id)
    return True


def _zip_name(job: ExportJob) -> str:
    """ASCII, by cycle, units and language, e.g. "appraisals_2026-q3-review_T1_en.zip"."""
    units = re.sub(r'[\\/:*?"<>|\s]+', "-", "-".join(job.unit_codes))[:60]
    return f"appraisals_{cycle_slug(job.cycle)}{'_' + units if units else ''}_{job.language}.zip"


def export_finish(*, job_id: int, now: dt.datetime | None = None) -> bool:
    """Assemble the ZIP once every chunk is done; the one worker that claims the assembly does it."""
    now = now or timezone.now()
    if ExportChunk.objects.filter(job_id=job_id).exclude(status=CS.DONE).exists():
        return False
    if not ExportJob.objects.filter(pk=job_id, status=S.RUNNING, finished_at__isnull=True).update(finished_at=now):
        return False
    job = ExportJob.objects.select_related("cycle", "requested_by").get(pk=job_id)
    chunks = list(ExportChunk.objects.filter(job_id=job_id).order_by("index"))
    directory = export_dir(job_id)
    log = [line for c in chunks for line in c.log]
    final = directory / _zip_name(job)
    tmp = directory / f"{final.name}.{uuid.uuid4().hex}.tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for chunk in chunks:
            with zipfile.ZipFile(directory / f"part-{chunk.index:05d}.zip") as part:
                for info in part.infolist():
                    archive.writestr(info, part.read(info))
        if log:
            archive.writestr("export-log.txt", "\n".join(f"{x['file']}\t{x['error']}" for x in log) + "\n")
    os.replace(tmp, final)
    totals = ExportChunk.objects.filter(job_id=job_id).aggregate(done=Sum("done"))
    ExportJob.objects.filter(pk=job_id).update(
        # Failed only when not one document could be rendered (the ZIP then holds the log alone).
        status=S.FAILED if log and not totals["done"] else S.DONE, file=str(final.relative_to(settings.MEDIA_ROOT)), size=final.stat().st_size,
        done=totals["done"] or 0, failed=len(log), log=log, finished_at=timezone.now(),
    )
    for chunk in chunks:
        (directory / f"part-{chunk.index:05d}.zip").unlink(missing_ok=True)
    job.refresh_from_db()
    if job.requested_by.email:
        ctx = {"name": job.requested_by.name, "cycle": job.cycle.name, "done": job.done, "failed": job.failed,
               "url": absolute_url(reverse("cycle-export", args=[job.cycle_id]))}
        try:
            email_send("export-ready", ctx, [job.requested_by.email], language=job.language)
        except Exception:  # the export is there; the page shows it
            logger.exception("export %s: the ready mail could not be sent", job_id)
    return True


# ------------------------------------------------------------- maintenance


def exports_maintain(*, now: dt.datetime | None = None) -> dict:
    """The beat job: dispatch chunks and assemblies that look stuck, delete exports past their retention."""
    now = now or timezone.now()
    stale = now - _stale()
    redispatched = 0
    stuck = ExportChunk.objects.filter(job__status__in=ExportJob.ACTIVE).filter(
        Q(status=CS.PENDING, job__created_at__lt=stale) | Q(status=CS.RUNNING, claimed_at__lt=stale)
    ).values_list("job_id", "index")
    for job_id, index in stuck:
        _dispatch(job_id, [index])
        redispatched += 1
    # An assembly cut short: every chunk done, the job still running.
    reassembled = 0
    for job_id in ExportJob.objects.filter(status=S.RUNNING).filter(
        Q(finished_at__lt=stale) | Q(finished_at__isnull=True, created_at__lt=stale)
    ).exclude(chunks__status__in=[CS.PENDING, CS.RUNNING]).values_list("pk", flat=True):
        ExportJob.objects.filter(pk=job_id, status=S.RUNNING).update(finished_at=None)
        reassembled += int(export_finish(job_id=job_id, now=now))
    hours = getattr(settings, "EXPORT_RETENTION_HOURS", 72)
    # An export still not finished after the whole retention time will not finish (its chunks fail on every
    # try): it is marked failed, which frees its key for a new start, and is deleted with the others later.
    given_up = 0
    for job in ExportJob.objects.filter(status__in=ExportJob.ACTIVE, created_at__lt=now - dt.timedelta(hours=hours)):
        given_up += ExportJob.objects.filter(pk=job.pk, status=job.status).update(
            status=S.FAILED, finished_at=now,
            log=[*job.log, {"file": "", "person": "", "error": f"not finished after {hours} hours"}],
        )
    expired = 0
    for job in ExportJob.objects.filter(status__in=(S.DONE, S.FAILED), finished_at__lt=now - dt.timedelta(hours=hours)):
        shutil.rmtree(export_dir(job), ignore_errors=True)
        expired += ExportJob.objects.filter(pk=job.pk, status=job.status).update(status=S.EXPIRED, file="", size=0)
    return {"redispatched": redispatched, "reassembled": reassembled, "given_up": given_up, "expired": expired}
