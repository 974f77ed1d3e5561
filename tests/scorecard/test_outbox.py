"""The outbox (scorecard.outbox): work recorded with the act, sent once committed, kept while the broker is down.

"Broker down" here is a Redis URL on a port where nothing listens: the real
client, the real connection error, within a second. tests/test_faults.py
stops and restarts a real Redis with real workers.
"""

from __future__ import annotations

import smtplib
import time

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from reviews.closing_views import CLOSE_QUEUED
from reviews.models import ReminderRun, ReviewCycle
from reviews.views import REMIND_QUEUED
from scorecard import emails, outbox
from scorecard.celery import app as celery_app
from scorecard.import_jobs import import_job_create
from scorecard.import_views import IMPORT_QUEUED
from scorecard.models import ImportJob, Measurement, OutboxMessage
from scorecard.tasks import _drain_at_worker_start, _smtp_transient, drain_outbox_task, send_email_task
from tests.reviews.test_closing import make_cycle, many_appraisals
from tests.reviews.test_closing_worker import _reset_producer_pool
from tests.scorecard.test_tasks import GOOD
from tests.test_faults import free_port


@pytest.fixture
def broker_down():
    """Eager mode off and the broker somewhere nothing listens (connection refused)."""
    saved = {k: celery_app.conf[k] for k in ("task_always_eager", "broker_url", "broker_transport_options")}
    celery_app.conf.update(task_always_eager=False, broker_url=f"redis://127.0.0.1:{free_port()}/0",
                           broker_transport_options={})
    _reset_producer_pool()
    yield
    celery_app.conf.update(saved)
    _reset_producer_pool()


def broker_back():
    """The job system is back: in these tests, eager mode (the task runs as the broker takes it)."""
    celery_app.conf.update(task_always_eager=True)


def upload():
    return SimpleUploadedFile("q3.csv", GOOD.encode(), content_type="text/csv")


def test_the_work_is_recorded_with_the_act_and_sent_once_committed(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = import_job_create(user=org.hana, kind="measurements", uploaded_file=upload())
        [message] = OutboxMessage.objects.all()  # in the act's transaction
        assert (message.task, message.args) == ("scorecard.tasks.run_import_job_task", [job.pk, "en"])
    assert len(callbacks) == 1 and Measurement.objects.count() == 0  # nothing sent before the commit
    with outbox.watch() as dispatch:
        callbacks[0]()  # the commit; eager: the broker "takes" it by running it
    assert dispatch.sent == ["scorecard.tasks.run_import_job_task"] and dispatch.queued == []
    assert not OutboxMessage.objects.exists()  # deleted once taken
    job.refresh_from_db()
    assert job.status == "done"


def test_an_act_rolled_back_leaves_no_work_behind(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            import_job_create(user=org.hana, kind="measurements", uploaded_file=upload())
            raise RuntimeError("the act fails after its work was enqueued")
    assert not OutboxMessage.objects.exists() and not ImportJob.objects.exists()


def test_with_the_broker_down_the_work_is_kept_quickly_and_the_drain_sends_it_when_it_is_back(
    org, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = import_job_create(user=org.hana, kind="measurements", uploaded_file=upload())
    started = time.monotonic()
    with outbox.watch() as dispatch:
        callbacks[0]()
    assert time.monotonic() - started < 3  # a dead broker fails fast: no retries, a short timeout
    assert dispatch.queued == ["scorecard.tasks.run_import_job_task"] and dispatch.sent == []
    [kept] = OutboxMessage.objects.all()
    assert kept.attempts == 1 and kept.claimed_until is None  # released for the next drain
    assert "OperationalError" in kept.last_error and "refused" in kept.last_error.lower()

    assert outbox.drain() == 0  # still down: kept again
    kept.refresh_from_db()
    assert kept.attempts == 2
    broker_back()
    assert drain_outbox_task.delay().get() == 1  # the beat's task
    assert not OutboxMessage.objects.exists()
    job.refresh_from_db()
    assert job.status == "done" and Measurement.objects.count() == 3


def test_a_row_another_sender_holds_is_not_sent_twice(org):
    message = OutboxMessage.objects.create(task="scorecard.tasks.run_import_job_task", args=[0, None])
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_until=timezone.now() + timezone.timedelta(seconds=30))
    assert outbox.drain() == 0
    assert outbox.deliver([message.pk]) == (0, 0)
    assert OutboxMessage.objects.filter(pk=message.pk, attempts=0).exists()
    # A claim whose sender died (past its time) is taken over.
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_until=timezone.now() - timezone.timedelta(seconds=1))
    assert outbox.drain() == 1 and not OutboxMessage.objects.exists()


def test_an_email_refused_by_the_mail_server_is_kept_and_sent_by_the_drain(db, monkeypatch):
    def down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(emails, "send_mail", down)
    ctx = {"url": "/goals/objectives/14/", "objective": "Q", "owner_name": "Alice", "since": timezone.localdate(),
           "has_checkin": False, "days": 15}
    emails.email_send("checkin-reminder", ctx, ["alice@example.com"])  # no error reaches the caller
    [kept] = OutboxMessage.objects.all()
    assert kept.task == emails.SEND_TASK and "SMTPServerDisconnected" in kept.last_error
    monkeypatch.undo()
    assert outbox.drain() == 1
    assert [m.to for m in mail.outbox] == [["alice@example.com"]] and "/goals/objectives/14/" in mail.outbox[0].body


def test_an_email_is_rendered_in_its_language_before_it_is_queued(db, broker_down):
    ctx = {"url": "/x/", "objective": "发布常见问题", "owner_name": "Alice", "since": timezone.localdate(),
           "has_checkin": False, "days": 15}
    emails.email_send("checkin-reminder", ctx, ["alice@example.com"], language="zh-hans")  # autocommit: sent now
    [kept] = OutboxMessage.objects.all()
    subject, body, recipients = kept.args
    assert "发布常见问题" in subject and recipients == ["alice@example.com"]


@pytest.mark.parametrize(("exc", "transient"), [
    (smtplib.SMTPServerDisconnected("gone"), True),
    (ConnectionRefusedError(), True),
    (TimeoutError(), True),
    (smtplib.SMTPDataError(451, b"try later"), True),
    (smtplib.SMTPDataError(554, b"rejected"), False),
    (smtplib.SMTPRecipientsRefused({"a@x.example": (550, b"no such user")}), False),
    (smtplib.SMTPRecipientsRefused({"a@x.example": (450, b"mailbox busy")}), True),
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"), True),
    (ValueError("a bug"), False),
])
def test_only_errors_the_mail_server_may_get_over_are_retried(exc, transient):
    assert _smtp_transient(exc) is transient


def test_the_email_task_sends_what_it_is_given(db):
    send_email_task.delay("Subject", "Body", ["bob@example.com"]).get()
    assert [(m.subject, m.to) for m in mail.outbox] == [("Subject", ["bob@example.com"])]


def test_the_beat_drains_the_outbox_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["drain-outbox"]
    assert entry["task"] == drain_outbox_task.name
    assert str(entry["schedule"]._orig_minute) == "*"


def test_a_worker_that_starts_queues_a_drain(monkeypatch):
    sent = []
    monkeypatch.setattr(drain_outbox_task, "apply_async", lambda **kwargs: sent.append(kwargs))
    _drain_at_worker_start(sender=None)
    assert sent == [{"retry": False}]


def test_the_admin_lists_waiting_work_without_its_arguments(client, org):
    secret = "https://scorecard.example/feedback/t/only-the-customer-may-see-this/"
    OutboxMessage.objects.create(task=emails.SEND_TASK, args=["Your 360", f"Answer here: {secret}", ["c@x.example"]])
    org.hana.is_superuser = org.hana.is_staff = True
    org.hana.save()
    client.force_login(org.hana)
    page = client.get(reverse("admin:scorecard_outboxmessage_changelist"))
    assert page.status_code == 200 and emails.SEND_TASK in page.content.decode()
    assert secret not in page.content.decode()
    detail = client.get(reverse("admin:scorecard_outboxmessage_change", args=[OutboxMessage.objects.get().pk]))
    assert detail.status_code == 200 and secret not in detail.content.decode()
    assert client.get(reverse("admin:scorecard_outboxmessage_changelist") + "?args__icontains=only").status_code != 200


# ------------------------------------------------------- the pages, with the broker down (real commits)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_close_page_says_the_close_is_queued_when_the_broker_is_down(client, settings, broker_down, language):
    from tests.base import build_org

    org = build_org()
    cycle = make_cycle(org)
    many_appraisals(org, cycle, 3)
    client.force_login(org.hana)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.post(reverse("cycle-close", args=[cycle.pk]), {}, follow=True)
    assert response.status_code == 200
    with translation.override(language):
        assert str(CLOSE_QUEUED % {"name": cycle.name}) in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.phase == ReviewCycle.Phase.CLOSING
    assert list(OutboxMessage.objects.values_list("task", "args")) == [("reviews.tasks.close_cycle_task", [cycle.pk])]
    broker_back()
    assert outbox.drain() == 1
    cycle.refresh_from_db()
    assert cycle.phase == ReviewCycle.Phase.CLOSED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_upload_page_says_the_import_is_queued_when_the_broker_is_down(client, settings, tmp_path, broker_down):
    from tests.base import build_org

    settings.MEDIA_ROOT = tmp_path
    org = build_org()
    client.force_login(org.hana)
    response = client.post(reverse("import-create"), {"kind": "measurements", "file": upload()}, follow=True)
    assert response.status_code == 200 and str(IMPORT_QUEUED) in response.content.decode()
    assert ImportJob.objects.get().status == "pending" and OutboxMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_remind_the_late_ones_now_says_the_reminders_are_queued_when_the_broker_is_down(client, broker_down):
    from tests.base import build_org
    from tests.reviews.test_remind_now import late_cycle

    org = build_org()
    cycle = late_cycle(org)
    client.force_login(org.hana)
    response = client.post(reverse("cycle-remind-late", args=[cycle.pk]), follow=True)
    assert response.status_code == 200
    run = ReminderRun.objects.get()
    assert str(REMIND_QUEUED % {"reminders": run.planned_reminders, "emails": run.planned_emails}) in (
        response.content.decode()
    )
    assert list(OutboxMessage.objects.values_list("task", "args")) == [("reviews.tasks.remind_late_task", [run.pk])]
    broker_back()
    assert outbox.drain() == 1
    run.refresh_from_db()
    assert run.finished_at is not None and run.sent_emails == run.planned_emails
    assert len(mail.outbox) == run.planned_emails


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_close_api_answers_202_and_records_the_close_when_the_broker_is_down(client, broker_down):
    from tests.base import build_org

    org = build_org()
    cycle = make_cycle(org)
    many_appraisals(org, cycle, 2)
    client.force_login(org.hana)
    response = client.post(reverse("api-cycle-close", args=[cycle.pk]), {}, content_type="application/json")
    assert response.status_code == 202 and response.json()["phase"] == ReviewCycle.Phase.CLOSING
    assert OutboxMessage.objects.filter(task="reviews.tasks.close_cycle_task").count() == 1
