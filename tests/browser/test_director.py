"""The director's journey: the center's scorecard, the league table of all agents, why a score, the KPI library."""

import re


def test_director_ranks_every_agent_reads_why_and_edits_a_kpi(journey):
    j = journey().login("E0001")
    j.sees("To do")
    j.nav("Center scorecard")
    j.sees("Financial", "Customer", "Internal process", "Learning and growth")

    # The league table of all agents beneath the center, by one KPI.
    j.link("Ranking")
    j.page.get_by_label("Rank", exact=True).select_option(label="All agents beneath")
    j.page.get_by_label("by", exact=True).select_option(label="First-contact resolution")
    j.press("Show", within="form.league-options")
    rows = j.page.locator("table.ranking tbody tr")
    assert rows.count() >= 30  # every agent of the demo's teams, not only one level below
    assert j.page.locator("table.ranking thead").inner_text().count("First-contact resolution") >= 1
    first_rank = rows.first.locator("td.rank").inner_text().strip()
    assert first_rank == "1"
    assert re.match(r"^[\d.]+%$", rows.first.locator("td:nth-child(3)").inner_text().strip())  # the value, in %
    scores = [float(v) for v in rows.locator("td:nth-child(4)").all_inner_texts()[:10] if re.match(r"^[\d.]+$", v.strip())]
    assert len(scores) == 10 and scores == sorted(scores, reverse=True), "ranked by the KPI's score, best first"

    # The best agent's scorecard, and why their FCR scores as it does.
    rows.first.locator("th a").click()
    j.page.wait_for_load_state()
    j.check()
    j.page.locator("#kpi-fcr").get_by_role("link", name="Why this score?").click()
    j.page.wait_for_load_state()
    j.check().sees("First-contact resolution")

    # The KPI library: edit a threshold, see it saved and kept in the history.
    j.nav("KPI library")
    j.link("Average handle time")
    j.link("Edit")
    j.fill("Typical", "355")
    j.press("Save")
    assert "saved" in j.messages().lower()
    j.sees("355")


def test_director_reads_the_center_and_the_league_table_in_chinese(journey):
    j = journey().login("E0001").language("zh-hans")
    j.sees("待办")
    nav = j.page.locator("nav.top")
    assert nav.bounding_box()["height"] < 60, "the navigation stays on one line at 1366 px"
    j.nav("中心记分卡")
    j.sees("财务", "客户")
    j.link("排名")
    assert j.page.locator("table.ranking tbody tr").count() >= 3
    j.nav("KPI 库")
    j.sees("一次解决率")


def test_a_final_step_asks_to_confirm_and_dismissing_it_changes_nothing(journey):
    j = journey().login("E0001")
    j.nav("Objectives")
    j.page.locator("main table tbody tr a[href*='/goals/objectives/']").first.click()
    j.page.wait_for_load_state()
    j.check()
    status = j.page.locator("main").first.inner_text()
    cancel = j.page.locator("button[value=cancel]")
    assert cancel.count(), "the director may cancel a department's objective"
    j.sees("is final")
    asked = []
    j.page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    j.page.locator("#id_comment").fill("Testing the question only.")
    cancel.click()
    j.page.wait_for_timeout(300)
    assert asked and "final" in asked[0]
    assert j.page.locator("main").first.inner_text() == status  # not sent: nothing changed
