"""Sign-in locks (django-axes) for HR: who is locked out, and lifting a lock (audited as UNLOCKED).

HR, directors and superusers see the page and the API; everyone else gets 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from .audit import audit_record
from .audit_views import can_read_audit
from .models import AuditEvent, Person

UNLOCKED = _("The sign-in lock of %(who)s is lifted.")
NOT_LOCKED = _("%(who)s is not locked.")
CODE_OR_ADDRESS = _("Give either an employee code or an IP address.")


@dataclass
class SignInLock:
    kind: str  # "account" or "address"
    key: str  # the employee code or the IP address
    failures: int
    last_attempt: object
    until: object
    person: Person | None = None
    addresses: list[str] = field(default_factory=list)

    @property
    def who(self) -> str:
        return f"{self.person.name} ({self.key})" if self.person else self.key


def _recent_attempts():
    qs = AccessAttempt.objects.all()
    if settings.AXES_COOLOFF_TIME:
        qs = qs.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
    return qs


def sign_in_lock_list() -> list[SignInLock]:
    """The accounts (and, when addresses are locked too, the addresses) locked now, latest first.

    Queries: the locked codes (1), their addresses (1), their people (1); the locked addresses (1) when
    addresses are locked.
    """
    limit = settings.AXES_FAILURE_LIMIT
    cool_off = settings.AXES_COOLOFF_TIME
    recent = _recent_attempts()
    rows = list(recent.exclude(username=None).values("username")
                .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
                .filter(failures__gte=limit).order_by("-last"))
    codes = [r["username"] for r in rows]
    addresses: dict[str, set[str]] = {}
    for code, ip in recent.filter(username__in=codes).values_list("username", "ip_address"):
        if ip:
            addresses.setdefault(code, set()).add(ip)
    people = {p.employee_code: p for p in Person.objects.filter(employee_code__in=codes)}
    locks = [
        SignInLock("account", r["username"], r["failures"], r["last"], r["last"] + cool_off if cool_off else None,
                   people.get(r["username"]), sorted(addresses.get(r["username"], ())))
        for r in rows
    ]
    if "ip_address" in settings.AXES_LOCKOUT_PARAMETERS:
        for r in (recent.exclude(ip_address=None).values("ip_address")
                  .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
                  .filter(failures__gte=limit).order_by("-last")):
            locks.append(SignInLock("address", r["ip_address"], r["failures"], r["last"],
                                    r["last"] + cool_off if cool_off else None))
    return locks


@transaction.atomic
def sign_in_unlock(*, actor: Person, code: str = "", ip_address: str = "", request=None) -> int:
    """Lift the lock of an employee code or an IP address (forget its failures); record it. Returns rows removed."""
    if bool(code) == bool(ip_address):
        raise ValidationError(CODE_OR_ADDRESS)
    who = code or ip_address
    if code:
        removed = AxesProxyHandler.reset_attempts(username=code)
    else:
        removed = AxesProxyHandler.reset_attempts(ip_address=ip_address)
    if not removed:
        raise ValidationError(NOT_LOCKED % {"who": who})
    person = Person.objects.filter(employee_code=code).first() if code else None
    audit_record(AuditEvent.Action.UNLOCKED, actor=actor, target=person, request=request,
                 details={"code": code} if code else {"ip_address": ip_address})
    return removed


def _require_reader(user) -> None:
    if not can_read_audit(user):
        raise Http404


@login_required
def sign_in_lock_page(request: HttpRequest) -> HttpResponse:
    """The locked accounts, each with a button that lifts its lock (after a confirmation)."""
    _require_reader(request.user)
    return render(request, "scorecard/sign_in_locks.html", {
        "locks": sign_in_lock_list(), "limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60) if settings.AXES_COOLOFF_TIME else 0,
    })


@login_required
@require_POST
def sign_in_unlock_page(request: HttpRequest) -> HttpResponse:
    _require_reader(request.user)
    code, ip = request.POST.get("code", "").strip(), request.POST.get("ip_address", "").strip()
    try:
        sign_in_unlock(actor=request.user, code=code, ip_address=ip, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, UNLOCKED % {"who": code or ip})
    return redirect("sign-in-locks")


class SignInLockSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["account", "address"])
    key = serializers.CharField(help_text="The employee code (account) or the IP address (address).")
    name = serializers.CharField(source="person.name", default=None, allow_null=True)
    failures = serializers.IntegerField()
    last_attempt = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True, help_text="When the lock ends by itself.")
    addresses = serializers.ListField(child=serializers.CharField())


class SignInUnlockSerializer(serializers.Serializer):
    code = serializers.CharField(required=False, allow_blank=True, max_length=64)
    ip_address = serializers.IPAddressField(required=False, allow_blank=True)


class SignInLockListApi(APIView):
    """GET: the sign-in locks in force. POST {code} or {ip_address}: lift one (HR, directors; 404 for others)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not can_read_audit(request.user):
            raise NotFound

    @extend_schema(responses=SignInLockSerializer(many=True))
    def get(self, request):
        return Response(SignInLockSerializer(sign_in_lock_list(), many=True).data)


class SignInUnlockApi(APIView):
    """Lift the lock of an employee code or an IP address; answers the locks left."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not can_read_audit(request.user):
            raise NotFound

    @extend_schema(request=SignInUnlockSerializer, responses=SignInLockSerializer(many=True))
    def post(self, request):
        data = SignInUnlockSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            sign_in_unlock(actor=request.user, code=data.validated_data.get("code", ""),
                           ip_address=data.validated_data.get("ip_address", ""), request=request)
        except ValidationError as exc:
            raise serializers.ValidationError({"detail": exc.messages}) from exc
        return Response(SignInLockSerializer(sign_in_lock_list(), many=True).data)
