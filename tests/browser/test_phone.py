"""On a phone (390×844): the menu button, and the agent's pages fit the screen (no sideways scroll)."""

import re


def test_agent_on_a_phone_opens_the_menu_and_reads_the_scorecard(journey):
    j = journey("phone").login("E1001")
    nav_links = j.page.locator("#nav-menu")
    assert not nav_links.is_visible()  # folded behind the menu button
    j.page.locator("#nav-toggle").click()
    assert nav_links.is_visible()
    j.nav("My scorecard")
    j.sees("Customer")
    j.link(re.compile("why", re.I))
