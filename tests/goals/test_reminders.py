"""Check-in reminders: one email per silence of GOALS_CHECKIN_REMINDER_DAYS days, never twice, in constant queries.

Q3 2026 objectives; the default silence is 14 days, so the first reminder
for an objective without check-ins goes out on 15 July (1 July + 14).
"""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from goals import checkins
from goals.models import CheckIn, CheckInReminder, Objective
from goals.tasks import send_checkin_reminders_task
from scorecard import emails, outbox
from scorecard.models import OutboxMessage
from tests.goals.test_checkins import check_in, make_objective

S = Objective.Status


def day(iso: str) -> dt.date:
    return dt.date.fromisoformat(iso)


def checked_in_on(user, objective, iso: str) -> CheckIn:
    """A check-in dated at noon (local time) on a given day."""
    c = check_in(user, objective)
    noon = timezone.make_aware(dt.datetime.combine(day(iso), dt.time(12)))
    CheckIn.objects.filter(pk=c.pk).update(created_at=noon)
    return c


def send(iso: str) -> int:
    return checkins.checkin_reminders_send(today=day(iso))


def test_the_owner_is_reminded_after_14_days_without_a_check_in(org):
    make_objective(org.alice, title="Publish the FAQ")

    assert send("2026-07-14") == 0  # 13 days
    assert send("2026-07-15") == 1

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert CheckInReminder.objects.get().since == day("2026-07-01")


def test_the_email_names_the_objective_the_silence_and_the_link(org):
    o = make_objective(org.alice, title="Publish the FAQ")

    send("2026-07-20")

    message = mail.outbox[0]
    assert message.subject == "Time for a check-in: Publish the FAQ"
    assert "Hello Alice Agent," in message.body
    assert "“Publish the FAQ” has had no check-in since its period started on 2026-07-01, 19 days ago." in message.body
    assert f"/goals/objectives/{o.pk}/" in message.body


def test_after_a_check_in_the_email_counts_from_it(org):
    o = make_objective(org.alice, title="Publish the FAQ")
    checked_in_on(org.alice, o, "2026-07-03")

    send("2026-07-20")

    assert "“Publish the FAQ” has had no check-in for 17 days, since 2026-07-03." in mail.outbox[0].body


def test_a_second_run_sends_nothing_more(org):
    make_objective(org.alice)

    assert send("2026-07-15") == 1
    assert send("2026-07-15") == 0
    assert send("2026-08-20") == 0  # the same silence, however long

    assert len(mail.outbox) == 1
    assert CheckInReminder.objects.count() == 1


def test_a_new_check_in_starts_a_new_silence(org):
    o = make_objective(org.alice)
    assert send("2026-07-15") == 1
    checked_in_on(org.mike, o, "2026-07-16")

    assert send("2026-07-29") == 0  # 13 days after the check-in
    assert send("2026-07-30") == 1
    assert send("2026-07-31") == 0

    assert len(mail.outbox) == 2
    assert sorted(CheckInReminder.objects.values_list("since", flat=True)) == [day("2026-07-01"), day("2026-07-16")]


def test_a_recent_check_in_means_no_reminder(org):
    o = make_objective(org.alice)
    checked_in_on(org.alice, o, "2026-07-10")

    assert send("2026-07-20") == 0


def test_the_number_of_days_comes_from_the_settings(org, settings):
    settings.GOALS_CHECKIN_REMINDER_DAYS = 7
    make_objective(org.alice)

    assert send("2026-07-07") == 0
    assert send("2026-07-08") == 1


@pytest.mark.parametrize("status", [S.DRAFT, S.PROPOSED, S.CANCELLED, S.ACHIEVED, S.MISSED])
def test_only_agreed_and_active_objectives_are_followed(org, status):
    make_objective(org.alice, status=status)

    assert send("2026-08-01") == 0


def test_agreed_objectives_are_followed(org):
    make_objective(org.alice, status=S.AGREED)

    assert send("2026-08-01") == 1


def test_no_reminder_after_the_period(org):
    make_objective(org.alice)

    assert send("2026-10-01") == 0


def test_a_unit_objective_reminds_the_units_managers(org):
    make_objective(org.t1, title="Team FAQ")

    assert send("2026-07-15") == 1

    assert mail.outbox[0].to == ["mike@example.com"]
    assert "To the managers of Team One:" in mail.outbox[0].body


def test_an_owner_without_an_email_is_not_reminded_until_they_have_one(org):
    org.alice.email = ""
    org.alice.save()
    make_objective(org.alice)

    assert send("2026-07-15") == 0
    assert not CheckInReminder.objects.exists()


def test_the_reminder_row_is_unique_per_objective_and_silence(org):
    o = make_objective(org.alice)
    CheckInReminder.objects.create(objective=o, since=day("2026-07-01"))

    with pytest.raises(IntegrityError), transaction.atomic():
        CheckInReminder.objects.create(objective=o, since=day("2026-07-01"))


def test_a_run_that_read_the_objectives_before_another_run_claimed_them_sends_nothing(org, monkeypatch):
    """Two workers at once: both read the silent objectives, only the first insert wins."""
    make_objective(org.alice)
    make_objective(org.bob)
    seen_by_second_worker = checkins.silent_objectives(today=day("2026-07-15"), days=14)

    assert send("2026-07-15") == 2  # the first worker
    monkeypatch.setattr(checkins, "silent_objectives", lambda **kw: seen_by_second_worker)
    assert send("2026-07-15") == 0  # the second one, with its stale list

    assert len(mail.outbox) == 2


def test_an_email_the_mail_server_refuses_is_kept_in_the_outbox_and_sent_later(org, monkeypatch):
    """The reminder is recorded once; its e-mail waits in the outbox while the server is down (never lost,
    never sent twice), and the outbox's drain sends it when the server is back."""
    make_objective(org.alice)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr(emails, "send_mail", broken)
    assert send("2026-07-15") == 1
    assert CheckInReminder.objects.count() == 1 and mail.outbox == []
    [kept] = OutboxMessage.objects.all()
    assert kept.task == emails.SEND_TASK and kept.args[2] == ["alice@example.com"]
    assert "ConnectionRefusedError" in kept.last_error
    assert send("2026-07-16") == 0  # the next run does not remind again
    monkeypatch.undo()

    assert outbox.drain() == 1
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert not OutboxMessage.objects.exists()


def test_the_email_is_written_in_the_sites_language(org, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    make_objective(org.alice, title="发布常见问题")

    assert send("2026-07-15") == 1

    assert "发布常见问题" in mail.outbox[0].subject


def test_the_task_sends_the_reminders(org, monkeypatch):
    make_objective(org.alice)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: day("2026-07-15"))

    assert send_checkin_reminders_task.delay().get() == 1
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("people", [2, 6])
def test_a_run_takes_two_queries_plus_three_per_reminder_sent(org, django_assert_num_queries, people):
    """Queries: the silent objectives with their owners (1), the managers of owner units (1),
    then per reminder sent its claim: savepoint, INSERT, release (3 inside the test's transaction;
    in production, autocommit, the INSERT and the transaction's BEGIN/COMMIT)."""
    from tests.base import make_person

    owners = [make_person(f"A{n}", f"Agent {n}", org.t1, "agent", org.mike) for n in range(people)]
    for owner in owners:
        make_objective(owner)
    make_objective(org.t1)
    make_objective(org.alice, status=S.DRAFT)

    with django_assert_num_queries(2 + 3 * (people + 1)):
        assert send("2026-07-15") == people + 1
    with django_assert_num_queries(1):  # nothing left to remind: no manager lookup, no insert
        assert send("2026-07-15") == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_the_same_time_send_one_email(org, monkeypatch):
    make_objective(org.alice)
    barrier = threading.Barrier(2, timeout=10)
    original = checkins.silent_objectives

    def read_then_wait(**kwargs):
        found = original(**kwargs)
        barrier.wait()  # both have read the objective as not yet reminded
        return found

    monkeypatch.setattr(checkins, "silent_objectives", read_then_wait)
    results = []

    def worker():
        try:
            results.append(send("2026-07-15"))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
    assert CheckInReminder.objects.count() == 1
