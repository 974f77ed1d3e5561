"""HR's "Remind the late ones now": whom it e-mails, once within REVIEW_REMIND_NOW_HOURS, HR only, open cycles only.

Cycle built by tests.reviews.test_closing.make_cycle, put in the manager-appraisal phase with both the
self-assessment and the manager appraisal deadlines passed: a late self-assessment can still be written
there as long as the manager has not submitted (reviews.appraisals.self_write_refusal); a late part that
can no longer be written is counted "too late" and not reminded.
"""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from reviews import closing
from reviews.models import AppraisalReminder, ReminderRun, ReviewCycle
from tests.base import PASSWORD, make_person
from tests.reviews.test_closing import make_appraisal, make_cycle

HOUR = dt.timedelta(hours=1)
Phase = ReviewCycle.Phase
TOO_LATE_ONE = "1 late part can no longer be written (the cycle has moved past it) and is not reminded."


def late_cycle(org, phase=Phase.APPRAISAL, **fields):
    """Manager-appraisal phase, both deadlines passed.

    Alice: self-assessment late (draft) and Mike's appraisal of her late (draft): both reminded.
    Bob: all done, nothing to remind. Carl: self-assessment late but Dana already submitted his
    appraisal: too late, not reminded. Mike himself: self-assessment late and Dana's appraisal of
    him late (not started): Mike gets ONE e-mail (his self-assessment and Alice's appraisal), Dana one.
    So 4 reminders in 3 e-mails (Alice, Mike, Dana), 1 part too late.
    """
    cycle = make_cycle(org, phase=phase, **fields)
    make_appraisal(cycle, org.alice, self_status="draft", manager_status="draft")
    make_appraisal(cycle, org.bob, self_status="submitted", manager_status="submitted")
    make_appraisal(cycle, org.carl, manager_status="submitted")
    make_appraisal(cycle, org.mike)
    return cycle


def press(client, cycle, capture, user="HANA"):
    client.login(username=user, password=PASSWORD)
    with capture(execute=True):  # the task runs when the press commits, as with a worker
        response = client.post(reverse("cycle-remind-late", args=[cycle.pk]))
    assert response.status_code == 302 and response.url.endswith(f"/reviews/cycles/{cycle.pk}/#remind")
    return client.get(response.url)


def by_recipient():
    return {m.to[0]: m for m in mail.outbox}


def test_late_appraisees_and_late_managers_get_one_email_each_and_on_time_people_none(
    org, client, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://scorecard.example.cn"
    cycle = late_cycle(org)
    page = press(client, cycle, django_capture_on_commit_callbacks)

    sent = by_recipient()
    # Not Bob (on time), not Carl (his self-assessment can no longer be written: Dana has submitted).
    assert sorted(sent) == ["alice@example.com", "dana@example.com", "mike@example.com"]
    alice = cycle.appraisals.get(person=org.alice)
    assert sent["alice@example.com"].subject == "Overdue: your self-assessment — Q3 2026"
    assert f"Open it here: https://scorecard.example.cn/reviews/appraisals/{alice.pk}/self/" in sent["alice@example.com"].body
    # A late part can still be submitted (reviews.appraisals): the e-mail says so, and that it will be marked late.
    assert "Please submit it as soon as you can: it will be marked late." in sent["alice@example.com"].body
    # Mike: his own late self-assessment and his late appraisal of Alice, in one e-mail.
    mike = sent["mike@example.com"]
    assert mike.subject == "Overdue: your self-assessment and 1 appraisal — Q3 2026"
    assert f"- Alice Agent (ALICE): https://scorecard.example.cn/reviews/appraisals/{alice.pk}/manager/" in mike.body
    mine = cycle.appraisals.get(person=org.mike)
    assert f"https://scorecard.example.cn/reviews/appraisals/{mine.pk}/self/" in mike.body
    assert "http://testserver" not in mike.body and "127.0.0.1" not in mike.body
    assert "Please submit them as soon as you can: they will be marked late." in mike.body
    assert "contact HR" not in mike.body
    # Dana: only the appraisal she writes, no self-assessment of hers in this cycle.
    dana = sent["dana@example.com"]
    assert dana.subject == "Overdue: 1 appraisal to write — Q3 2026"
    assert f"- Mike Manager (MIKE): https://scorecard.example.cn/reviews/appraisals/{mine.pk}/manager/" in dana.body
    assert "/self/" not in dana.body and "Please submit it as soon as you can: it will be marked late." in dana.body

    assert set(AppraisalReminder.objects.values_list("appraisal__person__employee_code", "phase", "recipient__employee_code")) == {
        ("ALICE", "self_assessment", "ALICE"), ("MIKE", "self_assessment", "MIKE"),
        ("ALICE", "appraisal", "MIKE"), ("MIKE", "appraisal", "DANA"),
    }
    html = page.content.decode()
    assert "Sending 4 reminders in 3 e-mails to the late ones" in html
    assert "4 reminders sent in 3 e-mails; 0 already reminded in the last 1 h were skipped." in html
    assert TOO_LATE_ONE in html  # Carl's


def test_a_late_self_assessment_whose_manager_has_submitted_is_too_late_not_emailed(
    org, django_capture_on_commit_callbacks
):
    """The appraisal page refuses a self-assessment once the manager has submitted: no reminder can lead there."""
    cycle = late_cycle(org)
    plan = closing.late_reminders_plan(cycle)
    assert (plan.too_late, plan.reminders) == (1, {"self_assessment": 2, "appraisal": 2})  # Carl's
    cycle.appraisals.filter(person=org.mike).update(manager_status="submitted")  # Dana submits Mike's
    plan = closing.late_reminders_plan(cycle)
    assert (plan.too_late, plan.reminders, plan.emails) == (2, {"self_assessment": 1, "appraisal": 1}, 2)
    with django_capture_on_commit_callbacks(execute=True):
        closing.late_reminders_start(user=org.hana, cycle=cycle)
    sent = by_recipient()
    assert sorted(sent) == ["alice@example.com", "mike@example.com"]
    assert sent["mike@example.com"].subject == "Overdue: 1 appraisal to write — Q3 2026"  # his own self is not in it
    assert "/self/" not in sent["mike@example.com"].body
    too_late = AppraisalReminder.objects.filter(appraisal__person__in=[org.carl, org.mike], phase="self_assessment")
    assert not too_late.exists()


def test_in_calibration_late_self_assessments_are_too_late_and_late_appraisals_still_reminded(
    org, client, django_capture_on_commit_callbacks
):
    """Calibration: no self-assessment can be written any more; a manager appraisal can still be submitted."""
    cycle = late_cycle(org, phase=Phase.CALIBRATION)
    client.login(username="HANA", password=PASSWORD)
    html = client.get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    assert "3 late parts can no longer be written (the cycle has moved past them) and are not reminded." in html
    assert "late appraisee" not in html  # no self-assessment line in the plan
    assert "Manager appraisal: 2 managers get an e-mail listing their late appraisals (2 in all)." in html
    assert "In all: 2 e-mails" in html
    zh = client.get(reverse("cycle-detail", args=[cycle.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "3 项逾期内容已无法填写（考核周期已进入后续阶段），不再提醒。" in zh
    assert "can no longer be written" not in zh

    page = press(client, cycle, django_capture_on_commit_callbacks).content.decode()
    sent = by_recipient()
    assert sorted(sent) == ["dana@example.com", "mike@example.com"]  # not Alice: her self-assessment is closed
    mike = sent["mike@example.com"]
    assert mike.subject == "Overdue: 1 appraisal to write — Q3 2026" and "/self/" not in mike.body
    alice = cycle.appraisals.get(person=org.alice)
    assert f"/reviews/appraisals/{alice.pk}/manager/" in mike.body
    assert set(AppraisalReminder.objects.values_list("phase", flat=True)) == {"appraisal"}
    assert "2 reminders sent in 2 e-mails" in page


def test_a_manager_with_several_late_appraisals_gets_one_email_listing_them(org, django_capture_on_commit_callbacks):
    cycle = make_cycle(org)
    make_appraisal(cycle, org.alice, self_status="submitted")
    make_appraisal(cycle, org.bob, self_status="submitted")
    with django_capture_on_commit_callbacks(execute=True):
        closing.late_reminders_start(user=org.hana, cycle=cycle)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["mike@example.com"] and message.subject == "Overdue: 2 appraisals to write — Q3 2026"
    assert "- Alice Agent (ALICE)" in message.body and "- Bob Peer (BOB)" in message.body


def test_the_cycle_page_says_beforehand_whom_it_will_email_per_part(org, client):
    cycle = late_cycle(org)
    client.login(username="HANA", password=PASSWORD)
    html = client.get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    assert "Self-assessment: 2 late appraisees get an e-mail." in html
    assert "Manager appraisal: 2 managers get an e-mail listing their late appraisals (2 in all)." in html
    assert "In all: 3 e-mails (one per person, whatever their number of late parts)." in html
    assert TOO_LATE_ONE in html
    assert reverse("cycle-remind-late", args=[cycle.pk]) in html and "Remind the late ones now</button>" in html
    assert mail.outbox == []  # looking sends nothing


def test_a_second_press_within_the_hour_sends_nothing_and_says_so(org, client, django_capture_on_commit_callbacks):
    cycle = late_cycle(org)
    press(client, cycle, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 3
    page = press(client, cycle, django_capture_on_commit_callbacks).content.decode()
    assert len(mail.outbox) == 3
    assert "No reminders were sent." in page and "Nobody to remind: every late part was reminded in the last 1 h" in page
    assert "Nobody to remind now." in page and "4 late parts were reminded in the last 1 h and are skipped." in page
    assert ReminderRun.objects.count() == 1


def test_double_delivery_and_an_old_reminder_of_the_beat(org, settings, django_capture_on_commit_callbacks):
    """Two runs at once (a double click, two HR): each part is claimed once. The beat's reminder from
    before the deadline is older than the window: reminded again; a recent one is skipped and counted
    (Mike's own self-assessment: his e-mail then lists only Alice's appraisal)."""
    settings.REVIEW_REMIND_NOW_HOURS = 2
    cycle = late_cycle(org)
    now = timezone.now()
    alice = cycle.appraisals.get(person=org.alice)
    mike = cycle.appraisals.get(person=org.mike)
    old = AppraisalReminder.objects.create(appraisal=alice, phase="self_assessment", recipient=org.alice)
    AppraisalReminder.objects.filter(pk=old.pk).update(sent_at=now - 3 * HOUR)
    recent = AppraisalReminder.objects.create(appraisal=mike, phase="self_assessment", recipient=org.mike)
    AppraisalReminder.objects.filter(pk=recent.pk).update(sent_at=now - HOUR)

    first = ReminderRun.objects.create(cycle=cycle, requested_by=org.hana, planned_reminders=3, planned_emails=3)
    second = ReminderRun.objects.create(cycle=cycle, requested_by=org.hana, planned_reminders=3, planned_emails=3)
    first = closing.late_reminders_send(run_id=first.pk, now=now)
    assert closing.late_reminders_send(run_id=first.pk, now=now) is None  # delivered twice: runs once
    second = closing.late_reminders_send(run_id=second.pk, now=now)
    sent = by_recipient()
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "dana@example.com", "mike@example.com"]
    assert sent["mike@example.com"].subject == "Overdue: 1 appraisal to write — Q3 2026"
    assert (first.sent_reminders, first.sent_emails, first.skipped_reminders) == (3, 3, 1)
    assert (second.sent_reminders, second.sent_emails, second.skipped_reminders) == (0, 0, 4)
    assert AppraisalReminder.objects.get(pk=old.pk).sent_at == now
    assert AppraisalReminder.objects.get(pk=recent.pk).sent_at == now - HOUR

    later = ReminderRun.objects.create(cycle=cycle, requested_by=org.hana)
    closing.late_reminders_send(run_id=later.pk, now=now + 3 * HOUR)  # past the window: all 4 reminded again
    assert len(mail.outbox) == 6
    again = {m.to[0]: m.subject for m in mail.outbox[3:]}
    assert again["mike@example.com"] == "Overdue: your self-assessment and 1 appraisal — Q3 2026"


def test_a_refused_email_is_not_recorded_and_the_next_press_retries_it(org, monkeypatch, django_capture_on_commit_callbacks):
    cycle = late_cycle(org)
    real = closing.email_send

    def refuse_mike(name, ctx, recipients, **kwargs):
        if recipients == ["mike@example.com"]:
            raise smtplib.SMTPRecipientsRefused({"mike@example.com": (550, b"no")})
        return real(name, ctx, recipients, **kwargs)

    monkeypatch.setattr(closing, "email_send", refuse_mike)
    with django_capture_on_commit_callbacks(execute=True):
        run = closing.late_reminders_start(user=org.hana, cycle=cycle)
    run.refresh_from_db()
    assert (run.sent_emails, run.failed_emails, run.sent_reminders) == (2, 1, 2)
    assert not AppraisalReminder.objects.filter(recipient=org.mike).exists()
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        closing.late_reminders_start(user=org.hana, cycle=cycle)
    assert [m.to[0] for m in mail.outbox].count("mike@example.com") == 1


def test_people_without_an_address_are_counted_not_emailed(org, client):
    """Manager-appraisal phase, only the self-assessment deadline passed: No Mail's self-assessment is late
    and can still be written, but there is nowhere to send the reminder."""
    now = timezone.now()
    cycle = make_cycle(org, phase=Phase.APPRAISAL, now=now, appraisal_due=now + dt.timedelta(days=5),
                       calibration_due=now + dt.timedelta(days=10))
    nomail = make_person("NOMAIL", "No Mail", org.t1, "agent", org.mike)
    nomail.email = ""
    nomail.save(update_fields=["email"])
    make_appraisal(cycle, nomail, self_status="draft")
    plan = closing.late_reminders_plan(cycle)
    assert (plan.total_reminders, plan.unreachable, plan.too_late) == (0, 1, 0)
    client.login(username="HANA", password=PASSWORD)
    html = client.get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    assert "1 late parts have nobody to write to" in html and "Nobody to remind now." in html


@pytest.mark.parametrize("user", ["ALICE", "MIKE", "DANA", "DIRK"])
def test_agents_managers_and_directors_cannot_remind(org, client, user, django_capture_on_commit_callbacks):
    cycle = late_cycle(org)
    client.login(username=user, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("cycle-remind-late", args=[cycle.pk])).status_code == 404
        assert client.post(reverse("api-cycle-remind-late", args=[cycle.pk])).status_code == 404
    assert client.get(reverse("api-cycle-remind-late", args=[cycle.pk])).status_code == 404
    page = client.get(reverse("cycle-detail", args=[cycle.pk]))
    assert "Remind the late ones now" not in page.content.decode()
    assert mail.outbox == [] and not ReminderRun.objects.exists()
    with pytest.raises(ValidationError) as exc:
        closing.late_reminders_start(user=getattr(org, user.lower()), cycle=cycle)
    assert exc.value.messages == [str(closing.REMIND_NOW_NOT_ALLOWED)]


@pytest.mark.parametrize("phase, message", [
    ("closed", closing.REMIND_NOW_OVER), ("closing", closing.REMIND_NOW_OVER), ("draft", closing.REMIND_NOW_DRAFT),
])
def test_closed_closing_and_draft_cycles_refuse(org, client, phase, message, django_capture_on_commit_callbacks):
    cycle = make_cycle(org, phase=phase)
    make_appraisal(cycle, org.alice)
    client.login(username="HANA", password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse("cycle-remind-late", args=[cycle.pk]), follow=True).content.decode()
        api = client.post(reverse("api-cycle-remind-late", args=[cycle.pk]))
    assert str(message) in page and "No reminders were sent." in page
    assert api.status_code == 400 and api.json() == {"non_field_errors": [str(message)]}
    assert mail.outbox == [] and not ReminderRun.objects.exists()
    assert "Remind the late ones now</button>" not in client.get(reverse("cycle-detail", args=[cycle.pk])).content.decode()


def test_hr_reminds_through_the_api(org, client, django_capture_on_commit_callbacks):
    cycle = late_cycle(org)
    client.login(username="HANA", password=PASSWORD)
    before = client.get(reverse("api-cycle-remind-late", args=[cycle.pk])).json()
    assert before["refusal"] is None and before["last_run"] is None
    assert before["plan"] == {"self_assessment": 2, "appraisal": 2, "managers": 2, "emails": 3, "skipped": 0,
                              "unreachable": 0, "too_late": 1}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("api-cycle-remind-late", args=[cycle.pk]))
    assert response.status_code == 202
    assert (response.json()["planned_reminders"], response.json()["planned_emails"]) == (4, 3)
    after = client.get(reverse("api-cycle-remind-late", args=[cycle.pk])).json()
    assert after["last_run"]["finished"] is True and after["last_run"]["sent_emails"] == 3
    assert after["plan"]["skipped"] == 4 and after["plan"]["emails"] == 0 and after["plan"]["too_late"] == 1
    again = client.post(reverse("api-cycle-remind-late", args=[cycle.pk]))
    assert again.status_code == 400 and len(mail.outbox) == 3


def test_a_press_while_one_is_still_sending_is_refused(org):
    cycle = late_cycle(org)
    ReminderRun.objects.create(cycle=cycle, requested_by=org.hana, planned_reminders=4, planned_emails=3)
    with pytest.raises(ValidationError) as exc:
        closing.late_reminders_start(user=org.hana, cycle=cycle)
    assert exc.value.messages == [str(closing.REMIND_NOW_RUNNING)]


def grow(org, cycle, n):
    for i in range(n):
        person = make_person(f"X{cycle.pk}{i:03d}", f"Extra {i}", org.t1, "agent", org.mike)
        make_appraisal(cycle, person)


@pytest.mark.parametrize("extra", [0, 30])
def test_the_cycle_page_with_the_reminder_section_keeps_its_query_count(
    org, client, extra, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """The same 13 queries for 4 and 34 appraisals: the page's 10 (session, user, cycle, units, completion,
    late list, 360 completion, own appraisal…) + the reminder plan (late appraisals, recent reminders) + the last press."""
    cycle = late_cycle(org)
    grow(org, cycle, extra)
    press(client, cycle, django_capture_on_commit_callbacks)  # a finished run is shown too
    with django_assert_max_num_queries(13):
        html = client.get(reverse("cycle-detail", args=[cycle.pk])).content.decode()
    assert f"{4 + 2 * extra} reminders sent in {3 + extra} e-mails" in html  # Mike: one e-mail for all of his


def test_the_section_and_the_email_read_in_chinese(org, client, settings, django_capture_on_commit_callbacks):
    cycle = late_cycle(org)
    client.login(username="HANA", password=PASSWORD)
    html = client.get(reverse("cycle-detail", args=[cycle.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "立即催办逾期人员" in html and "2 名逾期的被考核人将收到邮件。" in html
    assert "1 项逾期内容已无法填写（考核周期已进入后续阶段），不再提醒。" in html
    assert "合计：3 封邮件（每人一封，无论其逾期部分有多少）。" in html and "Remind the late ones now" not in html
    settings.LANGUAGE_CODE = "zh-hans"  # e-mails are written in the site's language
    with django_capture_on_commit_callbacks(execute=True):
        closing.late_reminders_start(user=org.hana, cycle=cycle)
    mike = by_recipient()["mike@example.com"]
    assert mike.subject == "已逾期：您的自评和 1 份考核 — Q3 2026"
    assert "您对以下人员的考核截止时间为" in mike.body and "Overdue" not in mike.body
