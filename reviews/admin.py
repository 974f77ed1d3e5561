"""Admin of the reviews app: cycles, appraisals and their ratings, competencies, 360 feedback, reminders.

Cycles are checked by the same rules as the cycle pages (reviews.services):
a draft may change in every respect; once launched its scale, weights, period
and units are frozen and only the deadlines may move, later. Appraisals are
created by launching a cycle, never here; a closed appraisal, and its
ratings, are read-only. Reminders are records, read-only.

360 feedback keeps its anonymity rule here too (reviews.feedback): requests are
read-only records whose status, for peers, subordinates and customers, shows
only that they were asked — never whether or when they were answered — and
their drafts are not shown; only answers given by name (self, supervisor,
matrix manager) are listed. Anonymous answers are seen only as the results
show them. Django admin would otherwise accept any lookup on a model's own
fields in the query string (`?status__exact=submitted`, `?draft__icontains=`)
and order by any listed field: these admins accept only their own filters
(MaskedLookups) and sort only by columns that say nothing of answers. A
customer's link is never shown (only its customer has it); neither is the
link's hash or expiry. Reminders are listed without their recipient: a rater
reminded is a rater who had not answered yet. Questionnaires follow reviews.questionnaires: HR and directors edit
them, with at least one competency in use; the one default is moved by an
action and stays in use. A launched cycle keeps its own copy.

Appraisal exports (reviews.exports) are records of the workers' progress:
read-only here, with their chunks, so a stuck export can be looked into.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from scorecard.access import ScopedAdminMixin

from . import questionnaires, services
from .feedback import ASKED_LABEL
from .models import (
    Appraisal, AppraisalReminder, Competency, CompetencyRating, ExportChunk, ExportJob, FeedbackAnswer, FeedbackReminder,
    FeedbackRequest, FeedbackResponse, FeedbackTemplate, FeedbackTemplateItem, ObjectiveRating, ReviewCycle,
)

Phase = ReviewCycle.Phase
S = FeedbackRequest.Status
# Statuses of an approved request: for an anonymous rater they are all shown as "asked".
MASKED = (S.OPEN, S.SUBMITTED, S.NOT_SUBMITTED)
FROZEN_AFTER_LAUNCH = [
    "name", "period_start", "period_end", "units", "scale", "weight_objectives", "weight_competencies",
    "weight_feedback", "gate_rule", "guideline", "anonymity_threshold", "max_requests_per_rater", "feedback_template",
]
ALWAYS_READONLY = [
    "phase", "created_by", "created_at", "launched_at", "closing_started_at", "closing_total", "closing_done",
    "closed_at", "summary", "questionnaire",  # the questionnaire is frozen from the template at launch
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
class AppraisalAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_unit, scope_person = "unit", "person"
    list_display = ["person", "cycle", "unit", "manager", "status", "self_status", "manager_status",
                    "overall_score", "final_grade"]
    list_select_related = ["person", "cycle", "unit", "manager"]
    list_filter = ["status", "self_status", "manager_status", "cycle"]
    search_fields = ["person__employee_code", "person__name", "cycle__name", "unit__code"]
    raw_id_fields = ["cycle", "person", "manager", "unit", "calibrated_by"]
    readonly_fields = ["cycle", "person", "snapshot", "feedback_score", "closed_at"]  # the 360 score comes from the answers
    inlines = [ObjectiveRatingInline, CompetencyRatingInline]

    def has_add_permission(self, request):
        return False  # appraisals are opened by launching their cycle

    def has_change_permission(self, request, obj=None):
        return not _is_closed(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _is_closed(obj) and super().has_delete_permission(request, obj)


@admin.register(ObjectiveRating)
class ObjectiveRatingAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_unit, scope_person = "appraisal__unit", "appraisal__person"
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


class ReadOnly:
    """Records written by the services: viewed here, never added, changed or deleted."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0


@admin.register(AppraisalReminder)
class AppraisalReminderAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "appraisal", "phase", "recipient"]
    list_select_related = ["appraisal__person", "appraisal__cycle", "recipient"]
    list_filter = ["phase"]
    raw_id_fields = ["appraisal", "recipient"]


# ---------------------------------------------------------------- 360 feedback



class FeedbackTemplateItemInline(admin.TabularInline):
    model = FeedbackTemplateItem
    extra = 0
    min_num = 1  # a questionnaire asks about at least one competency
    fields = ["order", "competency"]

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, validate_min=True, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "competency":
            kwargs["queryset"] = Competency.objects.filter(active=True)  # retired ones are not asked about
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FeedbackTemplateAdminForm(forms.ModelForm):
    class Meta:
        model = FeedbackTemplate
        fields = ["name", "name_zh", "description", "active"]

    def clean(self):
        data = super().clean()
        if self.instance.is_default and data.get("active") is False:
            self.add_error("active", str(questionnaires.DEFAULT_MUST_BE_ACTIVE))
        return data


@admin.register(FeedbackTemplate)
class FeedbackTemplateAdmin(admin.ModelAdmin):
    form = FeedbackTemplateAdminForm
    list_display = ["name", "name_zh", "is_default", "active", "updated_at"]
    list_filter = ["active", "is_default"]
    search_fields = ["name", "name_zh"]
    readonly_fields = ["is_default", "updated_at"]  # one default: changed by the action, which moves it
    inlines = [FeedbackTemplateItemInline]
    actions = ["make_default"]

    def has_add_permission(self, request):
        return services.can_manage_cycles(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return services.can_manage_cycles(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # The default is replaced, not deleted; a cycle that chose a questionnaire protects it.
        return (
            services.can_manage_cycles(request.user) and not (obj is not None and obj.is_default)
            and super().has_delete_permission(request, obj)
        )

    @admin.action(description=_("Make the default questionnaire"), permissions=["change"])
    def make_default(self, request, queryset):
        chosen = list(queryset[:2])
        if len(chosen) != 1 or not chosen[0].active:
            self.message_user(request, _("Choose one questionnaire in use."), messages.ERROR)
            return
        with transaction.atomic():
            # The old default gives it up first: the unique constraint holds at every step.
            FeedbackTemplate.objects.filter(is_default=True).exclude(pk=chosen[0].pk).update(is_default=False)
            FeedbackTemplate.objects.filter(pk=chosen[0].pk).update(is_default=True)
        self.message_user(request, _("“%(name)s” is now the default questionnaire.") % {"name": chosen[0].name})


class MaskedLookups:
    """Accept in the query string only the lookups of the list's own filters (`allowed_lookups`).

    Django admin allows any lookup on a model's own fields by default, so
    `?status__exact=submitted` or `?draft__icontains=…` would list, or search,
    what the anonymity rule hides; anything else is refused (400).
    """

    allowed_lookups: frozenset[str] = frozenset()

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.allowed_lookups


class FeedbackStatusFilter(admin.SimpleListFilter):
    """Statuses as the anonymity rule lets them be seen: an approved anonymous request is only "asked"."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            (S.PROPOSED, S.PROPOSED.label),
            (S.REJECTED, S.REJECTED.label),
            ("asked", ASKED_LABEL),
            (S.OPEN, _("To answer (shown by name)")),
            (S.SUBMITTED, _("Answered (shown by name)")),
            (S.NOT_SUBMITTED, _("Not answered (shown by name)")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "asked":
            return queryset.filter(relationship__in=FeedbackRequest.ANONYMOUS, status__in=MASKED)
        if value in (S.PROPOSED, S.REJECTED):
            return queryset.filter(status=value)
        if value in MASKED:
            return queryset.filter(status=value).exclude(relationship__in=FeedbackRequest.ANONYMOUS)
        return queryset


@admin.register(FeedbackRequest)
class FeedbackRequestAdmin(MaskedLookups, ReadOnlyAdmin):
    list_display = ["cycle", "appraisee", "relationship", "rater_name", "shown_status", "origin"]
    list_select_related = ["cycle", "appraisal__person", "rater"]
    list_filter = [FeedbackStatusFilter, "relationship", "origin", "cycle"]
    # "status" is FeedbackStatusFilter's own parameter (masked); the others are the filters' field lookups.
    allowed_lookups = frozenset({
        "status", "relationship", "relationship__exact", "origin", "origin__exact", "cycle", "cycle__exact",
        "cycle__id__exact",
    })
    # Never by the status (nor the draft, the link or the decision time): the order would tell who answered.
    sortable_by = ["cycle", "appraisee", "relationship", "origin"]
    search_fields = [
        "appraisal__person__employee_code", "appraisal__person__name", "rater__employee_code", "rater__name",
        "external_name", "external_email",
    ]
    # Never the raw status nor the draft: for anonymous raters they would tell whether, and what, they answered.
    # Nor the link's hash and expiry: a new one is made when the link is sent again.
    fields = [
        "cycle", "appraisal", "relationship", "rater", "external_name", "external_email", "origin", "shown_status",
        "proposed_by", "decided_by", "decided_at", "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("draft", "token_hash")

    def get_ordering(self, request):
        return ["cycle", "appraisal__person__employee_code", "relationship", "pk"]

    @admin.display(description=_("appraisee"), ordering="appraisal__person__employee_code")
    def appraisee(self, obj):
        return obj.appraisal.person

    @admin.display(description=_("rater"))
    def rater_name(self, obj):
        return obj.rater_name

    @admin.display(description=_("status"))
    def shown_status(self, obj):
        if obj.anonymous and obj.status in MASKED:
            return ASKED_LABEL
        return obj.get_status_display()


class FeedbackAnswerInline(ReadOnlyInline):
    model = FeedbackAnswer
    fields = ["code", "score", "comment"]
    readonly_fields = fields


class NamedRelationshipFilter(admin.SimpleListFilter):
    title = _("relationship")
    parameter_name = "relationship"

    def lookups(self, request, model_admin):
        return [(r.value, r.label) for r in FeedbackRequest.Relationship if r not in FeedbackRequest.ANONYMOUS]

    def queryset(self, request, queryset):
        return queryset.filter(relationship=self.value()) if self.value() else queryset


@admin.register(FeedbackResponse)
class FeedbackResponseAdmin(MaskedLookups, ReadOnlyAdmin):
    """Answers given by name only; anonymous ones are not listed, not even by their id."""

    list_display = ["appraisal", "relationship", "rater_name"]
    list_select_related = ["appraisal__person", "appraisal__cycle", "request__rater"]
    list_filter = [NamedRelationshipFilter]
    allowed_lookups = frozenset({"relationship"})  # NamedRelationshipFilter's parameter
    sortable_by = ["appraisal", "relationship"]
    search_fields = ["appraisal__person__employee_code", "appraisal__person__name", "request__rater__name"]
    fields = ["appraisal", "relationship", "rater_name", "comment"]
    readonly_fields = fields
    inlines = [FeedbackAnswerInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(request__isnull=False).exclude(
            relationship__in=FeedbackRequest.ANONYMOUS
        )

    @admin.display(description=_("rater"))
    def rater_name(self, obj):
        return obj.request.rater_name if obj.request_id else ""


@admin.register(FeedbackReminder)
class FeedbackReminderAdmin(MaskedLookups, ReadOnlyAdmin):
    """How many raters were reminded in a cycle, and when; never who (a rater reminded had not answered yet)."""

    list_display = ["sent_at", "cycle"]
    list_select_related = ["cycle"]
    list_filter = ["cycle"]
    fields = ["cycle", "sent_at"]
    readonly_fields = fields
    allowed_lookups = frozenset({"cycle", "cycle__exact", "cycle__id__exact"})
    sortable_by = ["cycle"]

    def get_ordering(self, request):
        return ["cycle", "pk"]


# ------------------------------------------------------------------ exports


class ExportChunkInline(ReadOnlyInline):
    model = ExportChunk
    fields = ["index", "status", "claimed_at", "appraisals", "done", "log"]
    readonly_fields = fields

    @admin.display(description=_("appraisals"))
    def appraisals(self, obj):
        return len(obj.appraisal_ids)


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    """Written by reviews.exports only: the workers claim chunks and assemble the ZIP, the beat job expires it."""

    list_display = ["created_at", "cycle", "requested_by", "units", "language", "status", "total", "done", "failed",
                    "size", "finished_at"]
    list_select_related = ["cycle", "requested_by"]
    list_filter = ["status", "language", "cycle"]
    search_fields = ["cycle__name", "requested_by__employee_code", "requested_by__name"]
    date_hierarchy = "created_at"
    fields = ["cycle", "requested_by", "unit_codes", "language", "status", "total", "done", "failed", "log", "file",
              "size", "key", "created_at", "finished_at"]
    readonly_fields = fields
    inlines = [ExportChunkInline]

    @admin.display(description=_("units"))
    def units(self, obj):
        return ", ".join(obj.unit_codes) or _("all")
