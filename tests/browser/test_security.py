"""Hardening in a real browser (issue 11): a locked sign-in and HR lifting the lock (a confirmation, then the
audit log), the API docs working under the Content-Security-Policy, and the language switch and a live
weights total that used to be inline scripts."""

import re

LOCKED_AGENT = "E1030"  # an agent no other journey signs in as


def test_a_locked_account_is_told_so_and_hr_lifts_the_lock(journey):
    j = journey()
    for _ in range(5):
        j.page.goto(j.site.url + "/accounts/login/")
        j.page.get_by_label(re.compile("Employee code", re.I)).fill(LOCKED_AGENT)
        j.page.get_by_label(re.compile("Password", re.I)).fill("not-the-password")
        j.page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
        j.page.wait_for_load_state()
    j.check()
    j.sees("Too many failed sign-ins")

    hr = journey().login("E0002")
    hr.nav("Sign-in locks")
    hr.sees(LOCKED_AGENT)
    asked = []
    hr.page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    hr.page.locator("main form", has=hr.page.locator(f"input[value={LOCKED_AGENT}]")).get_by_role(
        "button", name="Unlock").click()
    hr.page.wait_for_load_state()
    hr.check()
    assert asked and "Lift the sign-in lock" in asked[0]
    assert "lifted" in hr.messages()
    hr.nav("Audit log")
    hr.sees("Sign-in lock lifted", "Account locked after failed sign-ins", "Sign-in failed")

    j.login(LOCKED_AGENT)  # the lock is gone


def test_the_api_docs_render_under_the_policy(journey):
    j = journey().login("E0002")
    j.page.goto(j.site.url + "/api/docs/")
    j.page.locator(".swagger-ui .opblock").first.wait_for()
    assert not j.csp_violations, j.csp_violations


def test_the_language_menu_and_the_weights_total_work_without_inline_scripts(journey):
    j = journey().login("E0001")
    j.language("zh-hans")
    assert j.page.locator("html").get_attribute("lang") == "zh-hans"
    j.language("en")
    j.open("/kpis/weights/")
    total = j.page.locator("[data-sum-group] [data-sum]").first
    before = float(total.inner_text())  # filled in by the static script when the page loads
    first = j.page.locator("[data-sum-group] [data-weight]").first
    first.fill(str(float(first.input_value() or 0) + 5))
    assert float(total.inner_text()) == before + 5 and total.get_attribute("class") in ("ok", "off")
