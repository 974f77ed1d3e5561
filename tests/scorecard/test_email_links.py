"""Every link in an e-mail is absolute and built on settings.SITE_URL, whatever PORT the sending process sees.

Under honcho the Celery worker and beat see PORT+100 and PORT+200: a link
built from PORT sent people to a port where nothing listens.
"""

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from goals import checkins
from goals.models import Objective
from reviews import closing, feedback as fb
from scorecard.emails import absolute_url, email_send
from tests.goals.test_checkins import make_objective
from tests.reviews.test_feedback import HOUR, cycle, due_soon, set_phase  # noqa: F401 (fixtures)

SITE = "https://scorecard.example.com:8443"
ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"(?:https?://\S+|(?<![\w/])/(?:goals|reviews|scorecards|accounts|imports)/\S*)")


@pytest.fixture(autouse=True)
def site(settings, monkeypatch):
    monkeypatch.setenv("PORT", "8100")  # what the worker sees under honcho
    settings.SITE_URL = SITE


def links(body: str) -> list[str]:
    return LINK.findall(body)


def assert_links_on_the_site(messages) -> None:
    assert messages, "no e-mail was sent"
    for message in messages:
        found = links(message.body)
        assert found, f"no link in {message.subject!r}"
        for link in found:
            assert link.startswith(SITE + "/"), f"{link!r} in {message.subject!r}"


def test_absolute_url_puts_the_site_address_before_a_path_and_leaves_absolute_urls_alone():
    assert absolute_url("/goals/objectives/14/") == f"{SITE}/goals/objectives/14/"
    assert absolute_url("goals/") == f"{SITE}/goals/"
    assert absolute_url("https://elsewhere.example/x/") == "https://elsewhere.example/x/"
    assert absolute_url("") == ""


@pytest.mark.parametrize("name", sorted(
    p.name.removesuffix("-body.txt") for p in (ROOT / "templates" / "emails").glob("*-body.txt")
))
def test_every_email_template_gets_an_absolute_link_even_from_a_relative_path(db, name):
    ctx = {"url": "/goals/objectives/14/", "name": "Alice", "recipient_name": "Alice", "owner_name": "Alice",
           "cycle": "Q3", "cycle_name": "Q3", "done": 1, "failed": 0, "n": 1, "days": 3, "reason": "r",
           "since": dt.date(2026, 7, 1), "due": timezone.now(), "changes": [],
           "self_url": "/goals/objectives/14/"}
    email_send(name, ctx, ["alice@example.com"])

    assert f"{SITE}/goals/objectives/14/" in mail.outbox[0].body
    assert_links_on_the_site(mail.outbox)


def test_a_check_in_reminder_links_to_the_site(org):
    make_objective(org.alice, title="Publish the FAQ")

    checkins.checkin_reminders_send(today=dt.date(2026, 7, 20))

    assert_links_on_the_site(mail.outbox)


def test_a_revised_objective_email_links_to_the_site(client, org, django_capture_on_commit_callbacks):
    o = make_objective(org.alice, status=Objective.Status.AGREED, kind=Objective.Kind.KPI, by=org.mike)
    client.force_login(org.mike)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("objective-revise", args=[o.pk]),
                               {"reason": "Queue merged", "baseline": "70", "target": "73", "stretch": "78",
                                "due_date": "2026-09-30"})

    assert response.status_code == 302
    assert_links_on_the_site(mail.outbox)
    assert f"{SITE}/goals/objectives/{o.pk}/" in mail.outbox[0].body


def test_360_requests_and_reminders_link_to_the_site(org, due_soon):  # noqa: F811
    mail.outbox.clear()
    assert fb.feedback_reminders_send() > 0

    assert_links_on_the_site(mail.outbox)


def test_review_reminders_link_to_the_site(org, cycle):  # noqa: F811
    now = timezone.now()
    set_phase(cycle, "self_assessment", self_assessment_due=now + 24 * HOUR)
    mail.outbox.clear()

    assert closing.reminders_send(now=now) > 0

    assert_links_on_the_site(mail.outbox)


def test_the_password_reset_link_is_on_the_site_not_the_requests_host(client, org):
    client.post(reverse("password_reset"), {"email": "alice@example.com"}, HTTP_HOST="127.0.0.1")

    assert_links_on_the_site(mail.outbox)


def _settings_site_url(env: dict) -> str:
    code = "import scorecard.settings as s; print(s.SITE_URL)"
    clean = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, "DJANGO_SECRET_KEY": "x", **env},
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_site_url_comes_from_its_setting_and_never_from_the_port():
    assert _settings_site_url({"SITE_URL": "https://cc.example.com/", "PORT": "8100"}) == "https://cc.example.com"
    assert ":8100" not in _settings_site_url({"PORT": "8100"})


def test_make_run_exports_the_site_address_from_the_webs_port_before_honcho_starts():
    result = subprocess.run(["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PATH": os.environ.get("PATH", "")})
    line = next(line for line in result.stdout.splitlines() if "honcho start" in line)

    assert 'export SITE_URL="${SITE_URL:-http://127.0.0.1:8123}"' in line
    assert line.index("export SITE_URL") < line.index("honcho start")
