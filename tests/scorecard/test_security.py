"""Hardening (issue 11): sign-in lockout (django-axes) and HR's lock page, password validators,
the Content-Security-Policy and other headers, no caching of personal data, sessions, and the
API schema for signed-in users only."""

from __future__ import annotations

import base64
import re
import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from scorecard import demo, security
from scorecard.models import AuditEvent, Person
from tests.base import PASSWORD

A = AuditEvent.Action
LIMIT = settings.AXES_FAILURE_LIMIT


def sign_in(client, code, password, **extra):
    return client.post(reverse("login"), {"username": code, "password": password}, **extra)


def basic(code, password) -> dict:
    token = base64.b64encode(f"{code}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def lock(client, code):
    for _ in range(LIMIT):
        sign_in(client, code, "wrong-password")


# ------------------------------------------------------------------ lockout


def test_the_failure_limit_locks_the_account_even_with_the_right_password(client, org):
    for n in range(LIMIT - 1):
        response = sign_in(client, "ALICE", "wrong-password")
        assert response.status_code == 200, n  # the form again, with Django's message
    response = sign_in(client, "ALICE", "wrong-password")
    assert response.status_code == 429
    response = sign_in(client, "ALICE", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not locked (locks go by employee code).
    assert sign_in(client, "BOB", PASSWORD).status_code == 302


def test_the_lock_message_is_on_the_login_page_in_both_languages(client, org):
    lock(client, "ALICE")
    response = sign_in(client, "ALICE", PASSWORD)
    body = response.content.decode()
    assert response.status_code == 429
    assert str(security.locked_message()) in body
    assert 'name="password"' in body  # the login page itself, not a bare text answer
    client.cookies["django_language"] = "zh-hans"
    response = sign_in(client, "ALICE", PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-hans")
    with translation.override("zh-hans"):
        chinese = str(security.locked_message())
    with translation.override("en"):
        english = str(security.locked_message())
    assert chinese != english and chinese in response.content.decode()


def test_basic_auth_counts_failures_and_is_locked_too(org):
    api = APIClient()
    for _ in range(LIMIT - 1):
        assert api.get("/api/v1/kpis/", **basic("ALICE", "wrong-password")).status_code in (401, 403)
    assert api.get("/api/v1/kpis/", **basic("ALICE", "wrong-password")).status_code == 429
    assert AccessAttempt.objects.get(username="ALICE").failures_since_start == LIMIT
    locked = api.get("/api/v1/kpis/", **basic("ALICE", PASSWORD))
    assert locked.status_code == 429 and locked.json() == {"detail": str(security.locked_message())}
    assert api.get("/api/v1/kpis/", **basic("BOB", PASSWORD)).status_code == 200


def test_a_lock_on_the_login_page_also_locks_basic_auth(client, org):
    lock(client, "ALICE")
    assert APIClient().get("/api/v1/kpis/", **basic("ALICE", PASSWORD)).status_code == 429


def test_a_success_before_the_limit_forgets_the_failures(client, org):
    for _ in range(LIMIT - 1):
        sign_in(client, "ALICE", "wrong-password")
    assert sign_in(client, "ALICE", PASSWORD).status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        sign_in(client, "ALICE", "wrong-password")
    assert sign_in(client, "ALICE", PASSWORD).status_code == 302


def test_hr_sees_the_lock_and_lifts_it_after_confirming(client, org):
    lock(client, "ALICE")
    other = type(client)()
    other.force_login(org.hana)
    page = other.get(reverse("sign-in-locks"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Alice Agent" in body and "ALICE" in body and "127.0.0.1" in body
    assert 'data-confirm="Lift the sign-in lock of Alice Agent (ALICE)?' in body

    response = other.post(reverse("sign-in-unlock"), {"code": "ALICE"})
    assert response.status_code == 302 and response["Location"] == reverse("sign-in-locks")
    assert not AccessAttempt.objects.filter(username="ALICE").exists()
    event = AuditEvent.objects.get(action=A.UNLOCKED)
    assert (event.actor, event.target_id, event.details) == (org.hana, str(org.alice.pk), {"code": "ALICE"})
    assert "No account is locked." in other.get(reverse("sign-in-locks")).content.decode()
    assert sign_in(client, "ALICE", PASSWORD).status_code == 302


def test_unlocking_an_account_that_is_not_locked_says_so_and_records_nothing(client, org):
    client.force_login(org.hana)
    response = client.post(reverse("sign-in-unlock"), {"code": "BOB"}, follow=True)
    assert str(security_not_locked("BOB")) in response.content.decode()
    assert not AuditEvent.objects.filter(action=A.UNLOCKED).exists()


def security_not_locked(code):
    from scorecard.lock_views import NOT_LOCKED

    return NOT_LOCKED % {"who": code}


def test_the_lock_api_lists_and_lifts_locks_for_hr(client, org):
    lock(client, "ALICE")
    api = APIClient()
    api.force_authenticate(org.hana)
    rows = api.get("/api/v1/sign-in-locks/").json()
    assert [(r["kind"], r["key"], r["name"], r["failures"]) for r in rows] == [("account", "ALICE", "Alice Agent", LIMIT)]
    assert api.post("/api/v1/sign-in-locks/unlock/", {}, format="json").status_code == 400
    response = api.post("/api/v1/sign-in-locks/unlock/", {"code": "ALICE"}, format="json")
    assert response.status_code == 200 and response.json() == []
    assert AuditEvent.objects.filter(action=A.UNLOCKED, actor=org.hana).count() == 1


@pytest.mark.parametrize("who", ["alice", "mike", "dana"])
def test_agents_and_managers_get_404_on_the_lock_page_and_api(client, org, who):
    lock(client, "BOB")
    client.force_login(getattr(org, who))
    assert client.get(reverse("sign-in-locks")).status_code == 404
    assert client.post(reverse("sign-in-unlock"), {"code": "BOB"}).status_code == 404
    api = APIClient()
    api.force_authenticate(getattr(org, who))
    assert api.get("/api/v1/sign-in-locks/").status_code == 404
    assert api.post("/api/v1/sign-in-locks/unlock/", {"code": "BOB"}, format="json").status_code == 404
    assert AccessAttempt.objects.filter(username="BOB").exists()


def test_hr_navigation_links_the_locks_and_the_audit_log(client, org):
    client.force_login(org.hana)
    body = client.get(reverse("kpi-list")).content.decode()
    assert reverse("sign-in-locks") in body and reverse("audit-log") in body
    client.force_login(org.mike)
    body = client.get(reverse("kpi-list")).content.decode()
    assert reverse("sign-in-locks") not in body and reverse("audit-log") not in body


# --------------------------------------------------------------- passwords


@pytest.mark.parametrize("password", ["short-pw1", "1234567890123", "password1234", "alice-agent-1"])
def test_weak_passwords_are_refused(password):
    person = Person(employee_code="ALICE", name="Alice Agent", email="alice.agent@example.com")
    with pytest.raises(ValidationError):
        validate_password(password, user=person)


def test_the_demo_password_meets_the_validators_and_the_old_one_does_not():
    for code, name in (("E0001", "Director"), ("E1001", "Agent")):
        validate_password(demo.DEMO_PASSWORD, user=Person(employee_code=code, name=name))
    with pytest.raises(ValidationError):
        validate_password(demo.OLD_DEMO_PASSWORD)


def test_the_password_change_page_applies_the_validators(client, org):
    client.force_login(org.alice)
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    assert "This password is too short" in response.content.decode()
    org.alice.refresh_from_db()
    assert org.alice.check_password(PASSWORD)


# ------------------------------------------------------------------ headers

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_every_page_carries_a_policy_without_inline_scripts(client, org):
    policy = csp(client.get(reverse("login")))
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"] == "script-src 'self'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["form-action"] == "form-action 'self'"
    assert policy["img-src"] == "img-src 'self' data:"


@pytest.mark.parametrize("who,names", [
    ("hana", ["home", "kpi-list", "org-tree", "objective-list", "contract-list", "cascade-tree",
              "cycle-list", "cycle-create", "my-appraisals", "feedback-inbox", "audit-log", "sign-in-locks",
              "password_change"]),
    ("dirk", ["kpi-weights", "questionnaire-list"]),
    ("mike", ["home", "objective-list", "contract-list", "my-appraisals"]),
    ("alice", ["home", "objective-list", "my-appraisals", "feedback-inbox"]),
])
def test_no_page_of_the_main_journeys_has_an_inline_script_or_handler(client, org, who, names):
    client.force_login(getattr(org, who))
    own = {"hana": "C", "dirk": "C", "mike": "T1", "alice": "ALICE"}[who]
    pages = [reverse(n) for n in names] + [reverse("scorecard", args=[own])]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert not INLINE_SCRIPT.search(body), url
        assert not HANDLER_ATTRIBUTE.search(body), url


def test_the_login_page_has_no_inline_script(client):
    body = client.get(reverse("login")).content.decode()
    assert not INLINE_SCRIPT.search(body) and not HANDLER_ATTRIBUTE.search(body)
    assert "<script" in body  # the shared static script is still there


def test_pages_for_signed_in_users_and_the_api_are_not_stored(client, org, rf):
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse

    anonymous_page = rf.get("/accounts/password_reset/")
    anonymous_page.user = AnonymousUser()
    assert not security.NoStoreMiddleware(lambda r: HttpResponse("x")).__call__(anonymous_page).has_header("Cache-Control")
    client.force_login(org.alice)
    for url in (reverse("home"), reverse("objective-list"), "/api/v1/kpis/", "/api/v1/todo/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url
    anonymous_api = APIClient().get("/api/v1/kpis/")
    assert "no-store" in anonymous_api["Cache-Control"]


def test_frames_and_sniffing_are_refused(client):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_sessions_end_after_a_working_day_without_activity(client, org, monkeypatch):
    from django.contrib.sessions.models import Session

    assert settings.SESSION_COOKIE_AGE == 10 * 60 * 60
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == settings.CSRF_COOKIE_SAMESITE == "Lax"
    client.force_login(org.alice)
    key = client.session.session_key
    first_expiry = Session.objects.get(pk=key).expire_date
    # Within a few minutes of the last refresh, a page does not write the session.
    response = client.get(reverse("objective-list"))
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.get(pk=key).expire_date == first_expiry
    # Later, activity pushes the end back to a working day from now, in the database and the cookie.
    later = time.time() + security.SESSION_REFRESH_SECONDS + 60
    monkeypatch.setattr(security.time, "time", lambda: later)
    response = client.get(reverse("objective-list"))
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == 10 * 60 * 60 and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert Session.objects.get(pk=key).expire_date > first_expiry


def test_the_schema_and_docs_are_for_signed_in_users_only(client, org):
    assert APIClient().get("/api/schema/").status_code in (401, 403)
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith(reverse("login"))
    client.force_login(org.alice)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    body = docs.content.decode()
    assert not INLINE_SCRIPT.search(body)  # Swagger UI's set-up script comes from a URL
    script = re.search(r'<script src="([^"]*\?script=[^"]*)"', body)
    assert script, body
    setup = client.get(script.group(1).replace("&amp;", "&"))
    assert setup.status_code == 200 and "SwaggerUIBundle" in setup.content.decode()


def test_a_pdf_still_downloads_under_the_policy(client, org):
    client.force_login(org.hana)
    response = client.get(reverse("scorecard-pdf", args=["T1"]), {"start": "2026-07-01", "end": "2026-07-31"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content if response.streaming else [response.content]).startswith(b"%PDF")


def test_production_settings_turn_hsts_on_for_a_year():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_HTTPS": "1", "DJANGO_SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "scorecard.example.com",
           "DJANGO_SETTINGS_MODULE": "scorecard.settings"}
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=settings.BASE_DIR).stdout.split()
    assert out == ["31536000", "True", "True", "True"]


def test_only_the_close_progress_may_be_framed_and_only_by_our_own_pages(client, org):
    from tests.reviews.test_closing import make_cycle

    cycle = make_cycle(org)
    client.force_login(org.hana)
    framed = client.get(reverse("cycle-close-progress", args=[cycle.pk]))
    assert framed.status_code == 200
    assert csp(framed)["frame-ancestors"] == "frame-ancestors 'self'" and framed["X-Frame-Options"] == "SAMEORIGIN"
    assert csp(client.get(reverse("cycle-close", args=[cycle.pk])))["frame-ancestors"] == "frame-ancestors 'none'"
