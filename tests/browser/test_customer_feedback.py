"""A customer's 360 feedback, as the team manager and the customer live it (issue 11: the link goes to the customer
only).

E0100 (desktop, English) opens an agent's appraisal in the cycle in progress, goes to its 360 page and adds a
customer with an address outside the company: the page says the customer was asked, and holds no link. The site's
worker e-mails the link to the customer (read here from the file-based mail backend, as the customer's mailbox).
The manager, still signed in, opens the link: refused, nothing answered. The customer opens it in a browser of
their own (no session), answers every competency and sends; the link then says what an unknown link says. The
manager's page still shows the customer only as asked.

The customer's part runs at desktop width in English (E1003's customer) and at phone width in Chinese (E1004's).
"""

from __future__ import annotations

import re

import pytest

from reviews.feedback import ASKED_LABEL, LINK_INVALID, SIGNED_IN
from reviews.feedback_views import CUSTOMER_ASKED

from .test_agent import press, tap, type_into
from .test_manager import Words

MANAGER = "E0100"
TOKEN_LINK = re.compile(r"https?://[^\s/]+(/[^\s]*/feedback/t/[A-Za-z0-9_-]{20,}/)")


def check_again(j) -> None:
    """Check the page though its address was checked already (a form answers at the form's own address)."""
    j.checked.clear()
    j.check()


def no_link_on(j, token: str) -> None:
    html = j.page.content()
    assert "/feedback/t/" not in html and token not in html, f"{j.path} shows a customer's link"


@pytest.mark.parametrize("agent, viewport, lang", [("E1003", "desktop", "en"), ("E1004", "phone", "zh-hans")],
                         ids=["english-desktop", "chinese-phone"])
def test_manager_asks_a_customer_whose_link_only_the_customer_can_use(journey, site, agent, viewport, lang):
    customer, email = f"Ms Rivera (account {agent})", f"rivera.{agent.lower()}@client-example.com"

    # The manager opens the agent's appraisal in the cycle in progress, then its 360 page, and adds the customer.
    m = journey().login(MANAGER)
    m.nav("My appraisals")
    row = m.page.locator("#to-write tbody tr", has_text=agent, has_not_text="Closed").first
    agent_name = row.get_by_role("link").first.inner_text().strip()
    row.get_by_role("link").first.click()
    m.page.wait_for_load_state()
    m.check().link("Raters and results")
    m.sees(f"360 feedback on {agent_name}")
    feedback_page = m.path
    assert m.field("Colleague").is_visible() and not m.field("Customer's name").is_visible()
    m.field("Relationship").select_option(label="Customer")
    assert not m.field("Colleague").is_visible()  # only the fields a customer needs
    m.fill("Customer's name", customer).fill("Customer's email", email)
    m.press("Add the rater", exact=True)
    assert CUSTOMER_ASKED % {"name": customer, "email": email} in m.messages()
    check_again(m)
    asked = m.page.locator("table.raters tbody tr", has_text=customer)
    assert asked.locator(".status").inner_text().strip() == str(ASKED_LABEL)
    assert "/feedback/t/" not in m.page.content(), "the 360 page shows a customer's link"

    # The customer's mailbox: one e-mail, with their personal link.
    mails = site.emails_to(email)
    assert len(mails) == 1, f"{len(mails)} e-mails to {email}"
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert agent_name in body and "can be used once" in body
    link = TOKEN_LINK.search(body)
    assert link, f"no personal link in the e-mail:\n{body}"
    path = link.group(1)
    token = path.rstrip("/").rsplit("/", 1)[-1]
    no_link_on(m, token)
    # Nor through the API the page is built on.
    pk = re.search(r"/appraisals/(\d+)/", feedback_page).group(1)
    api = m.page.request.get(f"{site.url}/api/v1/reviews/appraisals/{pk}/feedback/requests/")
    assert api.status == 200 and customer in api.text()
    assert "/feedback/t/" not in api.text() and token not in api.text()

    # The manager, still signed in, opens the link: refused before it is even looked up.
    response = m.page.goto(site.url + path)
    assert response.status == 403
    m.check().sees(str(SIGNED_IN))
    assert m.page.locator("form.questionnaire, table.questionnaire").count() == 0

    # The customer opens it in their own browser, with no session, in their language.
    t = Words(lang)
    c = journey(viewport)
    c.open(path)
    if lang != "en":
        c.language(lang)
        assert c.page.locator("html").get_attribute("lang") == lang
    c.sees(t("360 feedback on %(name)s", name=agent_name))
    assert c.page.locator("nav.top .who").count() == 0, "the customer is nobody signed in"
    questions = c.page.locator("table.questionnaire tbody tr")
    assert questions.count() >= 3
    for i in range(questions.count()):
        q = questions.nth(i)
        choice = q.locator("td.choice label").nth(4 if i % 2 else 3)  # the label is what a finger taps
        tap(c, choice)
        assert choice.get_by_role("radio").is_checked()
        type_into(c, q.get_by_role("textbox"), f"Example {i + 1}: called me back as promised.")
    c.fill(t("Overall comment"), "Patient and clear on a difficult billing question.")
    press(c, t("Send my feedback"))
    check_again(c)
    c.sees(t("Thank you"))
    assert agent_name in c.text("#thanks")

    # Used once: the link now says what an unknown link says.
    c.open(path)
    check_again(c)
    used = c.text("#link-message")
    assert used == t(LINK_INVALID)
    c.open(path.replace(token, "x" * len(token)))
    assert c.text("#link-message") == used

    # The manager's page still shows the customer only as asked: who answered is told nobody.
    m.open(feedback_page)
    asked = m.page.locator("table.raters tbody tr", has_text=customer)
    assert asked.locator(".status").inner_text().strip() == str(ASKED_LABEL)
    no_link_on(m, token)
