"""Admin of the core domain.

Whatever has rules lives in the models or the services: OrgUnit.clean and
Person.clean refuse cycles, a second root and clashing codes, their save()
keeps paths and a moved person's rows in step; KPI changes go through
services.kpi_update (formula, terms and thresholds validated
together), and weights — which must sum to 100 — are changed on the
weights page or API only. Measurements and import jobs are read-only.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .access import ScopedAdminMixin
from .models import (
    AuditEvent, ImportJob, Kpi, KpiTerm, Measure, Measurement, OrgUnit, OutboxMessage, Person, Perspective,
)

MANAGER_CYCLE = _("This person would be their own manager (a cycle of managers).")
KPI_EDIT_HINT = _(
    "Changes are checked like on the KPI library page: the formula must use known measures and "
    "the thresholds must be ordered in the KPI's direction. Weights are set on the weights page."
)


# ------------------------------------------------------------------- org


@admin.register(OrgUnit)
class OrgUnitAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_unit = ""
    list_display = ["code", "name", "parent", "depth"]
    list_select_related = ["parent"]
    search_fields = ["code", "name"]
    list_filter = ["depth"]
    ordering = ["path"]
    raw_id_fields = ["parent"]
    readonly_fields = ["depth"]  # the path and depth follow the parent (OrgUnit.save)


class PersonCreationForm(AdminUserCreationForm):
    class Meta:
        model = Person
        fields = ["employee_code", "name", "email", "unit", "role", "manager"]


class PersonChangeForm(UserChangeForm):
    class Meta:
        model = Person
        fields = "__all__"

    def clean_manager(self):
        manager = self.cleaned_data.get("manager")
        seen, node = {self.instance.pk}, manager
        while node is not None:
            if node.pk in seen:
                raise ValidationError(MANAGER_CYCLE)
            seen.add(node.pk)
            node = node.manager
        return manager


@admin.register(Person)
class PersonAdmin(ScopedAdminMixin, UserAdmin):
    scope_person = ""
    form = PersonChangeForm
    add_form = PersonCreationForm
    list_display = ["employee_code", "name", "role", "unit", "manager", "is_active", "is_staff"]
    list_select_related = ["unit", "manager"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser", "unit"]
    search_fields = ["employee_code", "name", "email"]
    ordering = ["employee_code"]
    raw_id_fields = ["unit", "manager"]
    filter_horizontal = ["groups", "user_permissions"]
    fieldsets = [
        (None, {"fields": ["employee_code", "password"]}),
        (_("Person"), {"fields": ["name", "email", "unit", "role", "manager"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["employee_code", "name", "email", "unit", "role", "manager",
                           "usable_password", "password1", "password2"],
            },
        ),
    ]


# --------------------------------------------------------------- library


@admin.register(Perspective)
class PerspectiveAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "name_zh", "weight", "order"]
    readonly_fields = ["code", "weight"]

    def has_add_permission(self, request):
        return False  # the four perspectives are fixed (METRICS.md)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Measure)
class MeasureAdmin(admin.ModelAdmin):
    """Measures with their kind and maximum per row (blank on save: the kind's default; Measure.clean bounds it)."""

    list_display = ["code", "name", "name_zh", "kind", "max_value", "created_at"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "name_zh"]
    fields = ["code", "name", "name_zh", "description", "description_zh", "kind", "max_value", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # The code is the column name in measurement files.
        return ["code", "created_at"] if obj else ["created_at"]


class KpiTermInline(admin.TabularInline):
    model = KpiTerm
    fields = ["part", "measure"]
    readonly_fields = ["part", "measure"]
    extra = 0
    can_delete = False
    verbose_name = _("term (from the formula)")
    verbose_name_plural = _("terms (from the formula)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("measure")


class _DryRun(Exception):
    pass


KPI_EDITABLE = [
    "name", "name_zh", "definition", "definition_zh", "formula", "unit", "direction",
    "baseline", "typical", "excellent", "min_sample",
]


class KpiChangeForm(forms.ModelForm):
    """Check a change with services.kpi_update, rolled back, so its messages show on the form."""

    user = None  # set by KpiAdmin.get_form

    class Meta:
        model = Kpi
        fields = KPI_EDITABLE

    def clean(self):
        cleaned = super().clean()
        changes = self.changes()
        if self.errors or not changes:
            return cleaned
        try:
            with transaction.atomic():
                services.kpi_update(user=self.user, kpi=self.instance, **changes)
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned

    def changes(self) -> dict:
        return {f: self.cleaned_data[f] for f in self.changed_data if f in KPI_EDITABLE and f in self.cleaned_data}


@admin.register(Kpi)
class KpiAdmin(SimpleHistoryAdmin):
    form = KpiChangeForm
    list_display = ["code", "name", "perspective", "formula", "direction", "baseline", "typical", "excellent", "weight"]
    list_select_related = ["perspective"]
    list_filter = ["perspective", "direction"]
    search_fields = ["code", "name", "name_zh"]
    readonly_fields = ["code", "perspective", "weight"]
    fields = ["code", "perspective", "weight", *KPI_EDITABLE]
    inlines = [KpiTermInline]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user
        form.base_fields["formula"].help_text = KPI_EDIT_HINT
        return form

    def has_add_permission(self, request):
        # A new KPI rescales its perspective's weights: the KPI library page and API do that.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # The form has checked the change; the service parses the formula and rewrites the terms.
        services.kpi_update(user=request.user, kpi=obj, **form.changes())


# ---------------------------------------------------------------- data


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Measurement)
class MeasurementAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    scope_unit, scope_person = "unit", "person"
    list_display = ["date", "measure", "person", "unit", "value"]
    list_select_related = ["measure", "person", "unit"]
    list_filter = ["measure", ("date", admin.DateFieldListFilter)]
    raw_id_fields = ["person", "unit"]
    search_fields = ["person__employee_code", "unit__code"]
    ordering = ["-date", "measure__code"]
    # A COUNT(*) over millions of rows on every page is not worth it.
    show_full_result_count = False


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "filename", "status", "created_by", "rows", "values", "created", "updated",
                    "error_count"]
    list_select_related = ["created_by"]
    list_filter = ["kind", "status"]
    search_fields = ["filename", "created_by__employee_code"]
    date_hierarchy = "created_at"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log (issue 11): read-only, as everywhere; rows are only added by scorecard.audit."""

    list_display = ["at", "actor_label", "action", "target_label", "ip"]
    list_filter = ["action", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_label", "target_label"]
    date_hierarchy = "at"
    fields = ["at", "actor", "actor_label", "action", "target_type", "target_id", "target_label", "details", "ip"]
    readonly_fields = fields


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Work waiting for the job system (scorecard.outbox): which task, since when, and why it is still here.

    The arguments are not shown: an e-mail's body may hold a customer's 360 link, which no staff account sees.
    """

    list_display = ["created_at", "task", "attempts", "last_attempt_at", "last_error"]
    list_filter = ["task"]
    fields = ["created_at", "task", "attempts", "last_attempt_at", "claimed_until", "last_error"]
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("args", "kwargs")

    def lookup_allowed(self, lookup, value, request=None):
        # Django allows any lookup on a local field from the query string: `?args__icontains=` would tell
        # whether a waiting e-mail holds a given text.
        if lookup.split("__")[0] in ("args", "kwargs"):
            return False
        return super().lookup_allowed(lookup, value, request)
