"""Admin of the reviews app: cycles, appraisals and their ratings, competencies, reminders.

Cycles are checked by the same rules as the cycle pages (reviews.services):
a draft may change in every respect; once launched its scale, weights, period
and units are frozen and only the deadlines may move, later. Appraisals are
created by launching a cycle, never here; a closed appraisal, and its
ratings, are read-only. Reminders are records, read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from . import services
from .models import Appraisal, AppraisalReminder, Competency, CompetencyRating, ObjectiveRating, ReviewCycle

Phase = ReviewCycle.Phase
FROZEN_AFTER_LAUNCH = [
    "name", "period_start", "period_end", "units", "scale", "weight_objectives", "weight_competencies",
    "weight_feedback", "gate_rule", "guideline", "anonymity_threshold", "max_requests_per_rater",
]
ALWAYS_READONLY = [
    "phase", "created_by", "created_at", "launched_at", "closing_started_at", "closing_total", "closing_done",
    "closed_at", "summary",
]


def _is_closed(obj) -> bool:
    return obj is not None and obj.status == Appraisal.Status.CLOSED


# --------------------------------------------------------------------- cycles


class ReviewCycleAdminForm(forms.ModelForm):
    class Meta:
        model = ReviewCycle
        fields = "__all__"

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        instance = self.instance
        values = {name: data.get(name, getattr(instance, name, None)) for name in services.SETTINGS if name != "units"}
        values["units"] = list(data["units"]) if "units" in data else list(instance.units.all()) if instance.pk else []
        if instance.pk and instance.phase != Phase.DRAFT:
            for name in services.DEADLINES:
                old = getattr(ReviewCycle.objects.get(pk=instance.pk), name)
                if data.get(name) and data[name] < old:
                    self.add_error(name, str(services.DEADLINE_EARLIER % {"due": old.strftime("%Y-%m-%d %H:%M")}))
        try:
            clean = services._validate(values)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                self.add_error(key if key in self.fields else None, messages)
            return data
        for name in ("scale", "gate_rule", "guideline"):
            if name in data:
                data[name] = clean[name]
        return data


@admin.register(ReviewCycle)
class ReviewCycleAdmin(admin.ModelAdmin):
    form = ReviewCycleAdminForm
    list_display = ["name", "period_start", "period_end", "phase", "self_assessment_due", "calibration_due", "launched_at"]
    list_filter = ["phase", "period_start"]
    search_fields = ["name"]
    filter_horizontal = ["units"]
    date_hierarchy = "period_start"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ALWAYS_READONLY
        if obj.phase in (Phase.CLOSING, Phase.CLOSED):
            return [f.name for f in ReviewCycle._meta.fields if f.name != "id"] + ["units"]
        if obj.phase != Phase.DRAFT:
            return ALWAYS_READONLY + FROZEN_AFTER_LAUNCH
        return ALWAYS_READONLY

    def has_add_permission(self, request):
        return services.can_manage_cycles(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        # A launched cycle holds appraisals: it is a record.
        return (obj is None or obj.phase == Phase.DRAFT) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


# ----------------------------------------------------------------- appraisals


class ClosedReadOnlyInline(admin.TabularInline):
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False  # the rows come from the launch's snapshot, and the competencies from the appraisal pages

    def has_change_permission(self, request, obj=None):
        return not _is_closed(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _is_closed(obj) and super().has_delete_permission(request, obj)


class ObjectiveRatingInline(ClosedReadOnlyInline):
    model = ObjectiveRating
    fields = ["objective_id", "title", "weight", "actual", "system_score", "self_rating", "self_comment",
              "manager_rating", "manager_comment"]
    readonly_fields = ["objective_id", "title", "weight", "system_score"]


class CompetencyRatingInline(ClosedReadOnlyInline):
    model = CompetencyRating
    fields = ["competency", "score", "comment"]
    readonly_fields = ["competency"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("competency")


@admin.register(Appraisal)
class AppraisalAdmin(admin.ModelAdmin):
    list_display = ["person", "cycle", "unit", "manager", "status", "self_status", "manager_status",
                    "overall_score", "final_grade"]
    list_select_related = ["person", "cycle", "unit", "manager"]
    list_filter = ["status", "self_status", "manager_status", "cycle"]
    search_fields = ["person__employee_code", "person__name", "cycle__name", "unit__code"]
    raw_id_fields = ["cycle", "person", "manager", "unit", "calibrated_by"]
    readonly_fields = ["cycle", "person", "snapshot", "closed_at"]
    inlines = [ObjectiveRatingInline, CompetencyRatingInline]

    def has_add_permission(self, request):
        return False  # appraisals are opened by launching their cycle

    def has_change_permission(self, request, obj=None):
        return not _is_closed(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _is_closed(obj) and super().has_delete_permission(request, obj)


@admin.register(ObjectiveRating)
class ObjectiveRatingAdmin(admin.ModelAdmin):
    list_display = ["appraisal", "title", "weight", "system_score", "self_rating", "manager_rating"]
    list_select_related = ["appraisal__person", "appraisal__cycle"]
    search_fields = ["title", "appraisal__person__employee_code"]
    raw_id_fields = ["appraisal"]
    readonly_fields = ["appraisal", "objective_id", "title", "weight", "system_score"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return not (obj is not None and _is_closed(obj.appraisal)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and _is_closed(obj.appraisal)) and super().has_delete_permission(request, obj)


@admin.register(CompetencyRating)
class CompetencyRatingAdmin(ObjectiveRatingAdmin):
    list_display = ["appraisal", "competency", "score"]
    list_select_related = ["appraisal__person", "appraisal__cycle", "competency"]
    search_fields = ["competency__code", "appraisal__person__employee_code"]
    readonly_fields = ["appraisal", "competency"]


@admin.register(Competency)
class CompetencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_zh", "order", "active"]
    list_editable = ["order", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name", "name_zh"]


@admin.register(AppraisalReminder)
class AppraisalReminderAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "appraisal", "phase", "recipient"]
    list_select_related = ["appraisal__person", "appraisal__cycle", "recipient"]
    list_filter = ["phase"]
    raw_id_fields = ["appraisal", "recipient"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
