"""Admin of the goals app: objectives, their events, templates, check-ins, factors and contracts.

Objectives keep their history (django-simple-history); their events, the
check-in reminders and contract signatures are records and read-only.
Contracts are written, signed and amended on the contract pages and API
(weights must sum to 100, signatures cover a content hash): here a draft
no one has signed may have its texts corrected through the same service,
and a signed or locked contract is read-only.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from scorecard.access import ScopedAdminMixin

from . import contracts
from .models import (
    CheckIn,
    CheckInReminder,
    Contract,
    ContractObjective,
    ContractSignature,
    InfluencingFactor,
    Objective,
    ObjectiveEvent,
    ObjectiveTemplate,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ---------------------------------------------------------------- objectives


class ObjectiveEventInline(ReadOnlyInline):
    model = ObjectiveEvent
    fields = ["at", "action", "from_status", "to_status", "by", "comment"]
    readonly_fields = fields
    ordering = ["at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


@admin.register(Objective)
class ObjectiveAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    scope_unit, scope_person = "owner_unit", "owner_person"
    list_display = ["title", "owner", "kind", "kpi", "status", "period_start", "period_end", "due_date", "weight"]
    list_select_related = ["owner_unit", "owner_person", "kpi"]
    list_filter = ["status", "kind", "period_start", "period_end"]
    search_fields = ["title", "owner_person__employee_code", "owner_person__name", "owner_unit__code"]
    raw_id_fields = ["owner_unit", "owner_person", "parent", "template", "created_by"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "period_start"
    inlines = [ObjectiveEventInline]

    @admin.display(description=_("owner"))
    def owner(self, obj):
        return obj.owner


@admin.register(ObjectiveEvent)
class ObjectiveEventAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    scope_unit, scope_person = "objective__owner_unit", "objective__owner_person"
    list_display = ["at", "objective", "action", "from_status", "to_status", "by"]
    list_select_related = ["objective", "by"]
    list_filter = ["action", "to_status"]
    search_fields = ["objective__title", "by__employee_code"]
    raw_id_fields = ["objective", "by"]
    date_hierarchy = "at"


@admin.register(ObjectiveTemplate)
class ObjectiveTemplateAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_unit = "unit"
    list_display = ["name", "unit", "kind", "kpi", "target", "weight", "created_by"]
    list_select_related = ["unit", "kpi", "created_by"]
    list_filter = ["kind", "kpi"]
    search_fields = ["name", "title", "unit__code"]
    raw_id_fields = ["unit", "created_by"]


@admin.register(CheckIn)
class CheckInAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_unit, scope_person = "objective__owner_unit", "objective__owner_person"
    list_display = ["created_at", "objective", "author", "progress", "replied_by", "replied_at"]
    list_select_related = ["objective", "author", "replied_by"]
    search_fields = ["objective__title", "author__employee_code"]
    raw_id_fields = ["objective", "author", "replied_by"]
    readonly_fields = ["created_at"]
    date_hierarchy = "created_at"


@admin.register(CheckInReminder)
class CheckInReminderAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    scope_unit, scope_person = "objective__owner_unit", "objective__owner_person"
    list_display = ["sent_at", "objective", "since"]
    list_select_related = ["objective"]
    raw_id_fields = ["objective"]


@admin.register(InfluencingFactor)
class InfluencingFactorAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_unit, scope_person = "objective__owner_unit", "objective__owner_person"
    list_display = ["name", "objective", "category", "controllable", "influenceable", "kpi"]
    list_select_related = ["objective", "kpi"]
    list_filter = ["category", "controllable", "influenceable"]
    search_fields = ["name", "objective__title"]
    raw_id_fields = ["objective"]


# ----------------------------------------------------------------- contracts


class ContractObjectiveInline(ReadOnlyInline):
    model = ContractObjective
    fields = ["objective", "weight"]
    readonly_fields = fields
    verbose_name = _("objective in the contract")
    verbose_name_plural = _("objectives in the contract")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("objective")


class ContractSignatureInline(ReadOnlyInline):
    model = ContractSignature
    fields = ["role", "signer", "signed_at", "content_hash"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("signer")


class ContractDraftForm(forms.ModelForm):
    """The texts of an unsigned draft, checked by contracts.contract_update (rolled back) so its messages show."""

    user = None  # set by ContractAdmin.get_form

    class Meta:
        model = Contract
        fields = ["support", "reward_terms", "terms_text"]

    def clean(self):
        cleaned = super().clean()
        if self.errors or self.instance.pk is None:
            return cleaned
        try:
            with transaction.atomic():
                contracts.contract_update(user=self.user, contract=self.instance, **self.changes())
                transaction.set_rollback(True)
        except (ValidationError, PermissionDenied) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            self.add_error(None, messages)
        return cleaned

    def changes(self) -> dict:
        return {f: self.cleaned_data[f] for f in self.changed_data if f in self.Meta.fields}


CONTRACT_FIELDS = [
    "person", "manager", "period_start", "period_end", "version", "replaces", "status",
    "support", "reward_terms", "terms_text", "amendment_reason",
    "created_by", "created_at", "locked_at", "content_hash", "content",
]


@admin.register(Contract)
class ContractAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_person = "person"
    form = ContractDraftForm
    list_display = ["person", "period_start", "period_end", "version", "status", "manager", "locked_at"]
    list_select_related = ["person", "manager"]
    list_filter = ["status", "period_start"]
    search_fields = ["person__employee_code", "person__name", "manager__employee_code"]
    raw_id_fields = ["person", "manager", "replaces", "created_by"]
    fields = CONTRACT_FIELDS
    readonly_fields = [f for f in CONTRACT_FIELDS if f not in ContractDraftForm.Meta.fields]
    inlines = [ContractObjectiveInline, ContractSignatureInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("signatures")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user
        return form

    @staticmethod
    def _frozen(obj) -> bool:
        """Locked, signed by anyone, or no longer a draft: a change would break a signature."""
        return obj is not None and (
            obj.is_locked or obj.status != Contract.Status.DRAFT or obj.signatures.exists()
        )

    def has_add_permission(self, request):
        # A contract needs agreed objectives with weights summing to 100: the contract page and API.
        return False

    def has_change_permission(self, request, obj=None):
        if self._frozen(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if self._frozen(obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The form has checked the change; the service writes it (and refuses a row locked meanwhile).
        contracts.contract_update(user=request.user, contract=obj, **form.changes())
