"""The audit log of sensitive acts (issue 11): one function writes it, HR reads it.

Call `audit_record` inside the transaction of the act itself, so that an act
rolled back leaves no entry and an act committed always has one.
"""

from __future__ import annotations

from django.db import models

from .models import AuditEvent

A = AuditEvent.Action


def _label(obj) -> str:
    return str(obj)[:250] if obj is not None else ""


def client_ip(request) -> str | None:
    """The client's address as the web server saw it (REMOTE_ADDR; a proxy's X-Forwarded-For is not trusted)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def current_request():
    """The request this thread is answering, if any (simple_history's middleware keeps it): services
    called from a page or the API record its address without being handed the request."""
    from simple_history.models import HistoricalRecords

    return getattr(HistoricalRecords.context, "request", None)


def audit_record(action: str, *, actor=None, target: models.Model | None = None, details: dict | None = None,
                 request=None, actor_label: str = "") -> AuditEvent:
    """Record that `actor` did `action` (an AuditEvent.Action) to `target`, with `details` (JSON-able)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if not actor_label and actor is not None:
        actor_label = f"{actor.name} ({actor.employee_code})" if getattr(actor, "name", "") else str(actor)
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor_label[:250],
        action=action,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=_label(target),
        details=details or {},
        ip=client_ip(request if request is not None else current_request()),
    )
