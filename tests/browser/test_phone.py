"""On a phone (390×844): the menu button, and the agent's pages fit the screen (no sideways scroll) with controls
a thumb can hit (44 px); the steps are the agent's journey's (test_agent.py)."""

import re

from .test_agent import (
    TEXTS, answers_a_360_form, assesses_themself, follow, sees_what_waits, signs_the_contract,
)


def test_agent_on_a_phone_opens_the_menu_and_reads_the_scorecard(journey):
    j = journey("phone").login("E1001")
    nav_links = j.page.locator("#nav-menu")
    assert not nav_links.is_visible()  # folded behind the menu button
    j.page.locator("#nav-toggle").click()
    assert nav_links.is_visible()
    j.nav("My scorecard")
    j.sees("Customer")
    j.link(re.compile("why", re.I))


def test_agent_on_a_phone_assesses_themself_answers_a_360_form_and_signs_the_contract(journey):
    """E1022 at 390×844: every page fits the screen (the Journey checks it) and every control tapped is at least
    44 px high."""
    t = TEXTS["en"]
    j = journey("phone").login("E1022")
    sees_what_waits(j, t)
    j.nav(t["my_scorecard"])
    j.sees("E1022", *t["perspectives"])
    follow(j, j.page.locator("#kpi-fcr").get_by_role("link", name=t["why"]))
    j.sees(t["why_title"])
    assesses_themself(j, t, "E1022")
    answers_a_360_form(j, t)
    signs_the_contract(j, t, objective_title=None)


def test_agent_on_a_phone_in_chinese_reads_why_assesses_themself_and_answers_a_360_form(journey):
    """E1024 at 390×844 in Chinese: the menu in Chinese, the scorecard's cards, the self-assessment and a 360 form fit
    the screen, with Chinese labels (longer or shorter than English ones, they must not push anything out)."""
    t = TEXTS["zh-hans"]
    j = journey("phone").login("E1024").language("zh-hans")
    j.sees(t["todo"])
    j.nav(t["my_scorecard"])
    j.sees("E1024", *t["perspectives"])
    follow(j, j.page.locator("#kpi-fcr").get_by_role("link", name=t["why"]))
    j.sees(t["why_title"])
    assesses_themself(j, t, "E1024")
    answers_a_360_form(j, t)
