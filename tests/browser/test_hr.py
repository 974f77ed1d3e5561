"""HR's journey on the demo's site: create and launch a cycle, follow its completion and late list, remind the late
ones, and try to close it early (refused without a reason, with what is missing in view).

Calibrating, closing and exporting a cycle that ran its course are in test_review_round.py, on a site of its own."""

import datetime as dt
import re


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
