"""The audit log, read-only, for HR, directors and superusers: a page and GET /api/v1/audit/.

Everyone else gets 404 (the log's existence is not advertised). Rows are written only by
scorecard.audit.audit_record; nothing here changes one.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView

from .models import AuditEvent, Person

PAGE_SIZE = 50
RANGE_INVERTED = _("The end date is before the start date.")


def can_read_audit(user) -> bool:
    return bool(user.is_authenticated and user.sees_whole_center)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("What"), required=False,
                               choices=[("", _("Any act"))] + AuditEvent.Action.choices)
    person = forms.CharField(label=_("Employee code"), required=False, max_length=64,
                             help_text=_("Acts by this person, or done to them."))
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", RANGE_INVERTED)
        return data


def audit_event_list(*, action: str = "", person: str = "", start: dt.date | None = None,
                     end: dt.date | None = None) -> QuerySet[AuditEvent]:
    """The events matching the filters, newest first, with their actor (one query to list)."""
    qs = AuditEvent.objects.select_related("actor").order_by("-at", "-pk")
    if action:
        qs = qs.filter(action=action)
    if person:
        # By the person's account when it exists, by the code typed (failed sign-ins) otherwise.
        match = Q(actor__employee_code__iexact=person) | Q(actor_label__iexact=person)
        pk = Person.objects.filter(employee_code__iexact=person).values_list("pk", flat=True).first()
        if pk is not None:
            match |= Q(target_type=Person._meta.label, target_id=str(pk))
        qs = qs.filter(match)
    if start:
        qs = qs.filter(at__date__gte=start)
    if end:
        qs = qs.filter(at__date__lte=end)
    return qs


def details_lines(details: dict) -> list[tuple[str, str]]:
    """An event's details as (key, text) lines: {"from": a, "to": b} reads "a → b", lists are joined."""

    def text(value) -> str:
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            return f"{text(value['from'])} → {text(value['to'])}"
        if isinstance(value, dict):
            return ", ".join(f"{k}: {text(v)}" for k, v in value.items())
        if isinstance(value, list):
            return ", ".join(text(v) for v in value)
        return "—" if value is None else str(value)

    return [(str(key), text(value)) for key, value in (details or {}).items()]


@login_required
def audit_log_page(request: HttpRequest) -> HttpResponse:
    """The audit log, filtered and paginated, newest first.

    Queries, whatever the number of events: session, user, navigation, (the person's id when
    filtering by person), count (1) and the page's events with their actors (1).
    """
    if not can_read_audit(request.user):
        raise Http404
    form = AuditFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    filters = form.cleaned_data if form.is_bound and valid else {}
    qs = audit_event_list(**filters) if valid else AuditEvent.objects.none()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    keep = urlencode({k: v for k, v in request.GET.items() if k != "page"})
    rows = [(e, details_lines(e.details)) for e in page.object_list]
    return render(request, "scorecard/audit_log.html", {"form": form, "page": page, "rows": rows, "keep": keep},
                  status=200 if valid else 400)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="employee_code", read_only=True, allow_null=True,
                                         help_text="The signed-in person's employee code; null for sign-in failures and system acts.")
    action_label = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "actor_label", "action", "action_label", "target_type", "target_id",
                  "target_label", "details", "ip"]
        read_only_fields = fields


@extend_schema_view(get=extend_schema(parameters=[
    OpenApiParameter("action", str, enum=AuditEvent.Action.values, description="Only this act."),
    OpenApiParameter("person", str, description="Employee code: acts by this person or done to them."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="From this day (inclusive)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="To this day (inclusive)."),
]))
class AuditEventListApi(ListAPIView):
    """The audit log, newest first (HR, directors, superusers; 404 for everyone else).

    Filters: `action`, `person` (employee code: acts by or on them), `start` and `end` (dates, inclusive).
    """

    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.none()  # for the schema; get_queryset builds the real one

    def get_queryset(self):
        if not can_read_audit(self.request.user):
            raise NotFound
        form = AuditFilterForm(self.request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError({k: [e["message"] for e in v] for k, v in form.errors.get_json_data().items()})
        return audit_event_list(**form.cleaned_data)
