"""Hardening (issue 11): no caching of personal data, sliding session expiry, the answer to a locked-out
sign-in (django-axes), and the audit of sign-ins, locks, password and role changes.

The receivers are connected in ScorecardConfig.ready, so management commands and workers are
audited as well as the web.
"""

from __future__ import annotations

import time

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models.signals import post_save, pre_save
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _

from .audit import audit_record, current_request
from .models import AuditEvent, Person

A = AuditEvent.Action

LOCKED_MESSAGE = _(
    "Too many failed sign-ins: this account is locked for %(minutes)s minutes. "
    "Try again later, or ask HR to lift the lock."
)
# The fields whose change is recorded as a role change: what the person may see and do.
ROLE_FIELDS = ("role", "is_superuser", "is_staff")


class NoStoreMiddleware:
    """Forbid caching of every API answer and of every page shown to a signed-in user.

    Such pages carry personal data (scores, appraisals, names) that must not stay in a shared
    browser's or a proxy's cache. Static files are answered by WhiteNoise before this runs and keep
    their long caching; anonymous pages (the login page) are left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            patch_cache_control(response, private=True, no_store=True)
        return response


SESSION_SEEN_KEY = "_seen"
# A signed-in session's expiry is pushed back at most this often (seconds): a sliding end without a
# database write on every request (SESSION_SAVE_EVERY_REQUEST would cost one on every page).
SESSION_REFRESH_SECONDS = 300


class SessionRefreshMiddleware:
    """End a signed-in session after SESSION_COOKIE_AGE without a request: each request more than
    SESSION_REFRESH_SECONDS after the last refresh saves the session again, which moves its expiry
    (in the database and in the cookie) to SESSION_COOKIE_AGE from now."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.session_key and "_auth_user_id" in session:
            now = int(time.time())
            if now - int(session.get(SESSION_SEEN_KEY, 0)) >= SESSION_REFRESH_SECONDS:
                session[SESSION_SEEN_KEY] = now
        return self.get_response(request)


def session_seen_at_login(sender, request, user, **kwargs):
    """A new sign-in counts as activity (its session is being saved anyway)."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_SEEN_KEY] = int(time.time())


def _cool_off_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    return int(cool_off.total_seconds() // 60) if cool_off else 0


def locked_message() -> str:
    return LOCKED_MESSAGE % {"minutes": _cool_off_minutes()}


def sign_in_code(request, credentials=None) -> str | None:
    """The employee code a sign-in tried: the login form's "username", basic auth's "employee_code"."""
    credentials = credentials or {}
    code = credentials.get("username") or credentials.get(Person.USERNAME_FIELD)
    if code is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        code = data.get("username") if hasattr(data, "get") else None
    return str(code)[:255] if code else None


def lockout_response(request, original_response=None, credentials=None):
    """Answer a locked-out sign-in: the login page with the reason (429), or JSON for the API."""
    message = str(locked_message())
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    code = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": code})
    return render(request, "registration/login.html",
                  {"form": form, "locked_message": message, "next": request.POST.get("next", "")}, status=429)


# ------------------------------------------------------------------ audit receivers


def _typed_code(credentials: dict) -> str:
    return str(credentials.get("username") or credentials.get(Person.USERNAME_FIELD) or "")[:64]


def login_failed_receiver(sender, credentials, request=None, **kwargs):
    """Record a failed sign-in (page, admin or API basic auth): the code typed and the address."""
    code = _typed_code(credentials)
    person = Person.objects.filter(employee_code=code).first() if code else None
    via = "api" if request is not None and request.path.startswith("/api/") else "page"
    # Basic auth hands axes DRF's wrapper of the request, which keeps the lock flag to itself: pass it on
    # to the request AxesMiddleware sees, so that a locked API client is told so (429) like the login page.
    inner = getattr(request, "_request", None)
    if inner is not None and getattr(request, "axes_locked_out", False):
        inner.axes_locked_out = True
        inner.axes_credentials = getattr(request, "axes_credentials", credentials)
    audit_record(A.LOGIN_FAILED, target=person, actor_label=code, details={"code": code, "via": via},
                 request=request)


def locked_out_receiver(sender, request=None, username=None, ip_address=None, **kwargs):
    """Record the failure that locks an account, once per lock (axes signals every later attempt too)."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is not None and failures != settings.AXES_FAILURE_LIMIT:
        return
    code = str(username or "")[:64]
    person = Person.objects.filter(employee_code=code).first() if code else None
    audit_record(A.LOCKED_OUT, target=person, actor_label=code,
                 details={"code": code, "failures": failures, "minutes": _cool_off_minutes()}, request=request)


def person_pre_save_receiver(sender, instance: Person, raw=False, update_fields=None, **kwargs):
    """Note which role fields a save changes (one query, only for saves that may touch them)."""
    instance._audit_role_changes = None
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(ROLE_FIELDS):
        return
    stored = Person.objects.filter(pk=instance.pk).values(*ROLE_FIELDS).first()
    if stored is None:
        return
    changes = {f: [stored[f], getattr(instance, f)] for f in ROLE_FIELDS if stored[f] != getattr(instance, f)}
    instance._audit_role_changes = changes or None


def person_post_save_receiver(sender, instance: Person, created=False, raw=False, **kwargs):
    """Record a role change and a password change of an existing person, by whoever is signed in."""
    if raw or created:
        return
    request = current_request()
    actor = getattr(request, "user", None) if request is not None else None
    changes = getattr(instance, "_audit_role_changes", None)
    if changes:
        audit_record(A.ROLE_CHANGED, actor=actor, target=instance,
                     details={f: {"from": old, "to": new} for f, (old, new) in changes.items()}, request=request)
        instance._audit_role_changes = None
    # set_password() keeps the raw password until the save; a rehash on sign-in clears it first.
    if instance._password is not None:
        audit_record(A.PASSWORD_CHANGED, actor=actor, target=instance, request=request)


def connect_receivers() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    user_logged_in.connect(session_seen_at_login, dispatch_uid="session-seen-at-login")
    user_login_failed.connect(login_failed_receiver, dispatch_uid="audit-login-failed")
    user_locked_out.connect(locked_out_receiver, dispatch_uid="audit-locked-out")
    pre_save.connect(person_pre_save_receiver, sender=Person, dispatch_uid="audit-person-pre-save")
    post_save.connect(person_post_save_receiver, sender=Person, dispatch_uid="audit-person-post-save")


class TestClientLockoutBackend(AxesStandaloneBackend):
    """django-axes' lock check, skipped when there is no request (the test client's login()); tests only."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
