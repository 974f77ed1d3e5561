"""HR's journey on the demo's site: create and launch a cycle, follow its completion and late list, remind the late
ones, and try to close it early (refused without a reason, with what is missing in view).

Calibrating, closing and exporting a cycle that ran its course are in test_review_round.py, on a site of its own."""

import datetime as dt
import re
import time


def test_hr_launches_a_cycle_follows_the_late_ones_and_is_refused_an_early_close(journey):
    j = journey().login("E0002")
    j.link("Review cycles")
    j.link("New review cycle")

    today = dt.date.today()
    j.fill("Name", "Complaints team check, December")
    j.fill("Period start", f"{today.year}-10-01").fill("Period end", f"{today.year}-12-31")
    units = j.field("Participating units")
    units.select_option(units.locator("option", has_text="Complaints").first.get_attribute("value"))
    j.fill("Objectives and KPI results (%)", "70").fill("Competencies (%)", "30").fill("360 feedback (%)", "0")
    for label, days in (("Self-assessment deadline", 7), ("360 feedback deadline", 10),
                        ("Manager appraisal deadline", 17), ("Calibration deadline", 24)):
        j.fill(label, f"{today + dt.timedelta(days=days):%Y-%m-%d}T18:00")
    j.press("Save")
    j.sees("Complaints team check, December")

    # Launch: the page says what launching does before it is done.
    j.link(re.compile("^Launch"))
    j.sees("cannot be undone")
    j.press("Launch the cycle")
    j.sees("Self-assessment")
    assert "launched" in j.messages().lower()

    # The self-assessment deadline passes (what time does): everyone who has not submitted is late.
    j.site.python(
        "import datetime as dt; from django.utils import timezone; from reviews.models import ReviewCycle; "
        "ReviewCycle.objects.filter(name='Complaints team check, December')"
        ".update(self_assessment_due=timezone.now() - dt.timedelta(hours=1))"
    )
    j.page.reload()
    j.check()
    late = j.page.locator("table.late").first
    assert late.is_visible() and "E103" in late.inner_text()  # the complaint team's agents, by code
    j.sees("Remind the late ones now")
    assert "late appraisee" in j.text("#remind")
    j.press("Remind the late ones now")
    assert "remind" in j.messages().lower()
    j.page.reload()
    j.page.get_by_text(re.compile(r"\d+ reminders sent in \d+ e-mails")).wait_for(timeout=30_000)
    # The worker sent them, with links to this site (not to the worker's own port).
    # (each e-mail is its own task after the run: wait for them to arrive)
    deadline = time.monotonic() + 60
    while not (sent := [m for m in j.site.emails_to("@") if str(m["Subject"]).strip().startswith("Overdue")]):
        assert time.monotonic() < deadline, "no reminder e-mail arrived"
        time.sleep(0.5)
    assert all(f"{j.site.url}/reviews/appraisals/" in m.get_content() for m in sent)

    # Try to close early: what is missing is shown, and without a reason the close is refused.
    j.link(re.compile(r"^Close the cycle"))
    j.sees("What is still missing", "cannot be undone")
    assert j.page.locator("#missing-self").is_visible()
    j.press("Close the cycle early")
    assert j.page.locator(".has-error .errorlist").first.is_visible()
    j.sees("Closing early")
    j.link("Cancel", within="#close-form")
    j.sees("Self-assessment")
