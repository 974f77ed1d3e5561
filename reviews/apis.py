"""API v1 of review cycles: list, read, create, change, launch, completion, and a cycle's appraisals.

Cycles and appraisals the caller may not see answer 404. Changing or
launching a cycle answers 404 to anyone but HR, directors and superusers, as
the pages do; creating one (which reveals nothing) answers 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from scorecard.apis import _drf_error
from scorecard.models import OrgUnit

from . import closing, selectors, services
from .models import ANONYMITY_FLOOR, Appraisal, FeedbackTemplate, ReviewCycle, default_scale

UNKNOWN_UNITS = _("Unknown unit codes: %(codes)s.")
NOT_VISIBLE = OpenApiResponse(description="Unknown, or not visible to the caller (or not theirs to change).")
PHASES = ", ".join(ReviewCycle.Phase.values)
PARTS = ", ".join(Appraisal.Part.values)


# ---------------------------------------------------------------- serializers


class ScaleRowSerializer(serializers.Serializer):
    grade = serializers.CharField(max_length=8, help_text="e.g. A")
    label = serializers.CharField(max_length=100, allow_blank=True, help_text="e.g. 卓越 Outstanding")
    min = serializers.FloatField(help_text="Lowest score of the grade (inclusive).")
    max = serializers.FloatField(help_text="Highest score (exclusive, except for the top grade).")
    description = serializers.CharField(allow_blank=True, required=False, default="")

    class Meta:
        ref_name = "ReviewScaleRow"


class GateRuleSerializer(serializers.Serializer):
    measure = serializers.CharField(required=False, allow_blank=True, help_text="A measure code, e.g. qa_fatal_errors.")
    above = serializers.FloatField(required=False, allow_null=True, help_text="The period's total above which the cap applies.")
    cap = serializers.CharField(required=False, allow_blank=True, help_text="A grade of the scale.")

    class Meta:
        ref_name = "ReviewGateRule"


class CycleQuestionSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_zh = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    description_zh = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "ReviewCycleQuestion"


class CycleOutputSerializer(serializers.ModelSerializer):
    units = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    feedback_template = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The 360 questionnaire chosen (null: the default one at launch).",
    )
    questionnaire = CycleQuestionSerializer(
        many=True, read_only=True, help_text="The 360 questionnaire's competencies, frozen at launch (empty before).",
    )
    scale = ScaleRowSerializer(many=True, read_only=True)
    gate_rule = serializers.SerializerMethodField()
    guideline = serializers.DictField(child=serializers.FloatField(), read_only=True,
                                      help_text="Grade → the most a unit may hold of it, in %.")
    phase = serializers.CharField(read_only=True, help_text=f"One of: {PHASES}.")
    closed_early_from = serializers.CharField(
        read_only=True, help_text="The phase an early close cut short (before calibration); empty otherwise.",
    )
    close_reason = serializers.CharField(read_only=True, help_text="HR's written reason for an early close.")

    class Meta:
        model = ReviewCycle
        ref_name = "ReviewCycle"
        fields = [
            "id", "name", "period_start", "period_end", "units", "scale",
            "weight_objectives", "weight_competencies", "weight_feedback",
            "self_assessment_due", "feedback_due", "appraisal_due", "calibration_due",
            "phase", "gate_rule", "guideline", "anonymity_threshold", "max_requests_per_rater",
            "feedback_template", "questionnaire", "created_at", "launched_at", "closed_at",
            "closed_early_from", "close_reason",
        ]

    @extend_schema_field(GateRuleSerializer(allow_null=True))
    def get_gate_rule(self, cycle) -> dict | None:
        return cycle.gate_rule or None


class CycleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    units = serializers.ListField(child=serializers.CharField(), help_text="Codes of the participating units.")
    scale = ScaleRowSerializer(many=True, required=False, help_text="Defaults to A 卓越 … E 待改进.")
    weight_objectives = serializers.FloatField(default=70)
    weight_competencies = serializers.FloatField(default=30)
    weight_feedback = serializers.FloatField(default=0)
    self_assessment_due = serializers.DateTimeField()
    feedback_due = serializers.DateTimeField()
    appraisal_due = serializers.DateTimeField()
    calibration_due = serializers.DateTimeField()
    gate_rule = GateRuleSerializer(required=False, allow_null=True)
    guideline = serializers.DictField(child=serializers.FloatField(), required=False, allow_null=True)
    anonymity_threshold = serializers.IntegerField(
        default=ANONYMITY_FLOOR, min_value=ANONYMITY_FLOOR, error_messages={"min_value": services.ANONYMITY_TOO_LOW},
        help_text="The fewest answers an anonymous group (peers, subordinates, customers) needs to be shown: at "
                  "least 3.",
    )
    max_requests_per_rater = serializers.IntegerField(default=8)
    feedback_template = serializers.PrimaryKeyRelatedField(
        queryset=FeedbackTemplate.objects.all(), required=False, allow_null=True,
        help_text="The id of a 360 questionnaire in use; null or left out: the default one. Frozen at launch.",
    )

    class Meta:
        ref_name = "ReviewCycleInput"


def _service_kwargs(data: dict) -> dict:
    """Validated input → the services' keyword arguments (unit codes → units; 400 on unknown codes)."""
    kwargs = dict(data)
    if "units" in kwargs:
        codes = list(dict.fromkeys(kwargs["units"]))
        units = list(OrgUnit.objects.filter(code__in=codes))
        unknown = sorted(set(codes) - {u.code for u in units})
        if unknown:
            raise serializers.ValidationError({"units": [str(UNKNOWN_UNITS % {"codes": ", ".join(unknown)})]})
        kwargs["units"] = units
    if "gate_rule" in kwargs:
        kwargs["gate_rule"] = {k: v for k, v in (kwargs["gate_rule"] or {}).items() if v not in (None, "")}
    if "guideline" in kwargs:
        kwargs["guideline"] = kwargs["guideline"] or {}
    return kwargs


def _cycle_for_manager(user, pk: int) -> ReviewCycle:
    if not services.can_manage_cycles(user):
        raise Http404
    return selectors.cycle_get(user, pk)


# --------------------------------------------------------------------- cycles


class CycleListCreateApi(ListAPIView):
    """The review cycles the caller may see (GET); create a draft cycle (POST, HR and directors)."""

    serializer_class = CycleOutputSerializer

    def get_queryset(self):
        return selectors.cycles_visible(self.request.user).prefetch_related("units").order_by("-period_start", "name")

    @extend_schema(request=CycleInputSerializer, responses={201: CycleOutputSerializer, 400: OpenApiResponse(description="Invalid settings: messages by field; nothing saved."), 403: OpenApiResponse(description="Not HR or a director.")})
    def post(self, request):
        if not services.can_manage_cycles(request.user):
            raise PermissionDenied(services.NOT_CYCLE_MANAGER)
        serializer = CycleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kwargs = _service_kwargs(serializer.validated_data)
        kwargs.setdefault("scale", default_scale())
        try:
            cycle = services.cycle_create(user=request.user, **kwargs)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(CycleOutputSerializer(cycle).data, status=status.HTTP_201_CREATED)


class CycleDetailApi(APIView):
    """One review cycle (GET); change its settings (PATCH: any while a draft, after launch only later deadlines)."""

    @extend_schema(responses={200: CycleOutputSerializer, 404: NOT_VISIBLE})
    def get(self, request, pk: int):
        cycle = selectors.cycle_get(request.user, pk)
        return Response(CycleOutputSerializer(cycle).data)

    @extend_schema(
        request=CycleInputSerializer(partial=True),
        responses={200: CycleOutputSerializer, 400: OpenApiResponse(description="Invalid or frozen settings; nothing saved."), 404: NOT_VISIBLE},
    )
    def patch(self, request, pk: int):
        cycle = _cycle_for_manager(request.user, pk)
        serializer = CycleInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        kwargs = _service_kwargs({k: v for k, v in serializer.validated_data.items() if k in request.data})
        try:
            cycle = services.cycle_update(user=request.user, cycle=cycle, **kwargs)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(CycleOutputSerializer(cycle).data)


class LaunchOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Appraisals opened.")
    cycle = CycleOutputSerializer()

    class Meta:
        ref_name = "ReviewCycleLaunch"


class CycleLaunchApi(APIView):
    """Launch a draft cycle: an appraisal with its snapshot for every participant; refused when already launched."""

    @extend_schema(request=None, responses={200: LaunchOutputSerializer, 400: OpenApiResponse(description="Already launched, or nobody to appraise."), 404: NOT_VISIBLE})
    def post(self, request, pk: int):
        cycle = _cycle_for_manager(request.user, pk)
        try:
            created = services.cycle_launch(user=request.user, cycle=cycle)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        except DjangoPermissionDenied:
            raise Http404 from None
        cycle.refresh_from_db()
        return Response(LaunchOutputSerializer({"created": created, "cycle": cycle}).data)


# ----------------------------------------------------------------- completion


class UnitCompletionSerializer(serializers.Serializer):
    unit = serializers.CharField(source="code", allow_null=True)
    unit_name = serializers.CharField(source="name", allow_null=True)
    participants = serializers.IntegerField()
    self_submitted = serializers.IntegerField()
    manager_submitted = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    self_late = serializers.IntegerField()
    manager_late = serializers.IntegerField()

    class Meta:
        ref_name = "ReviewUnitCompletion"


class LatePersonSerializer(serializers.Serializer):
    appraisal = serializers.IntegerField(source="pk")
    person = serializers.CharField(source="person.employee_code")
    person_name = serializers.CharField(source="person.name")
    unit = serializers.CharField(source="unit.code")
    manager = serializers.CharField(source="manager.employee_code", allow_null=True, default=None)
    manager_name = serializers.CharField(source="manager.name", allow_null=True, default=None)

    class Meta:
        ref_name = "ReviewLatePerson"


class LateSerializer(serializers.Serializer):
    self_assessment = LatePersonSerializer(many=True)
    appraisal = LatePersonSerializer(many=True)

    class Meta:
        ref_name = "ReviewLate"


class CompletionSerializer(serializers.Serializer):
    units = UnitCompletionSerializer(many=True)
    total = UnitCompletionSerializer()
    self_overdue = serializers.BooleanField(help_text="The self-assessment deadline has passed.")
    manager_overdue = serializers.BooleanField(help_text="The manager appraisal deadline has passed.")
    late = LateSerializer()

    class Meta:
        ref_name = "ReviewCompletion"


class CycleCompletionApi(APIView):
    """Each unit's progress (of the appraisals the caller may see), and who is late per part."""

    @extend_schema(responses={200: CompletionSerializer, 404: NOT_VISIBLE})
    def get(self, request, pk: int):
        cycle = selectors.cycle_get(request.user, pk)
        completion = selectors.cycle_completion(cycle, selectors.appraisals_visible(request.user))
        return Response(CompletionSerializer(completion).data)


# ----------------------------------------------------------------- appraisals


class AppraisalRowSerializer(serializers.ModelSerializer):
    person = serializers.CharField(source="person.employee_code", read_only=True)
    person_name = serializers.CharField(source="person.name", read_only=True)
    unit = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    manager = serializers.CharField(source="manager.employee_code", read_only=True, allow_null=True, default=None)
    manager_name = serializers.CharField(source="manager.name", read_only=True, allow_null=True, default=None)
    status = serializers.CharField(read_only=True, help_text="open or closed.")
    self_status = serializers.CharField(read_only=True, help_text=f"One of: {PARTS}.")
    manager_status = serializers.CharField(read_only=True, help_text=f"One of: {PARTS}.")
    grade = serializers.CharField(read_only=True, help_text="The final grade, else the calibrated, else the proposed.")

    class Meta:
        model = Appraisal
        ref_name = "ReviewAppraisalRow"
        fields = [
            "id", "person", "person_name", "unit", "unit_name", "manager", "manager_name", "status",
            "self_status", "manager_status", "acknowledged_at", "overall_score", "proposed_grade",
            "calibrated_grade", "final_grade", "grade",
        ]


class AppraisalFilter(filters.FilterSet):
    unit = filters.CharFilter(field_name="unit__code", help_text="The appraisal's unit code.")
    self_status = filters.ChoiceFilter(choices=Appraisal.Part.choices)
    manager_status = filters.ChoiceFilter(choices=Appraisal.Part.choices)

    class Meta:
        model = Appraisal
        fields = ["unit", "self_status", "manager_status"]


class CycleAppraisalListApi(ListAPIView):
    """The cycle's appraisals the caller may see, with each part's status and the grades (2 queries a page)."""

    serializer_class = AppraisalRowSerializer
    filterset_class = AppraisalFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appraisal.objects.none()
        cycle = selectors.cycle_get(self.request.user, self.kwargs["pk"])
        return selectors.cycle_appraisals(self.request.user, cycle)


# ------------------------------------------------------- remind the late now


class ReminderRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    requested_at = serializers.DateTimeField()
    requested_by = serializers.CharField(source="requested_by.employee_code", allow_null=True, default=None)
    planned_reminders = serializers.IntegerField(help_text="Late parts to remind of, when pressed.")
    planned_emails = serializers.IntegerField(help_text="People to e-mail (one e-mail each), when pressed.")
    finished = serializers.SerializerMethodField(help_text="False while the background job is sending.")
    finished_at = serializers.DateTimeField(allow_null=True)
    sent_reminders = serializers.IntegerField()
    sent_emails = serializers.IntegerField()
    skipped_reminders = serializers.IntegerField(help_text="Already reminded within REVIEW_REMIND_NOW_HOURS.")
    failed_emails = serializers.IntegerField(help_text="Refused by the mail server; pressing again retries them.")

    class Meta:
        ref_name = "ReviewReminderRun"

    def get_finished(self, run) -> bool:
        return run.finished_at is not None


class RemindPlanSerializer(serializers.Serializer):
    self_assessment = serializers.IntegerField(help_text="Late self-assessments: one reminder to each appraisee.")
    appraisal = serializers.IntegerField(help_text="Late manager appraisals, reminded to their managers.")
    managers = serializers.IntegerField(help_text="Managers among the recipients.")
    emails = serializers.IntegerField(help_text="E-mails to send: one per recipient, listing their late parts.")
    skipped = serializers.IntegerField(help_text="Late parts reminded within REVIEW_REMIND_NOW_HOURS: not sent again.")
    unreachable = serializers.IntegerField(help_text="Late parts with nobody to write to (no manager, no e-mail address, inactive).")
    too_late = serializers.IntegerField(
        help_text="Late parts that can no longer be written in this phase (e.g. a self-assessment once the manager "
                  "has submitted, or after the manager-appraisal phase): not reminded."
    )

    class Meta:
        ref_name = "ReviewRemindPlan"


class RemindLateSerializer(serializers.Serializer):
    refusal = serializers.CharField(allow_null=True, help_text="Why nobody can be reminded in this cycle now.")
    plan = RemindPlanSerializer()
    last_run = ReminderRunSerializer(allow_null=True)

    class Meta:
        ref_name = "ReviewRemindLate"


def _cycle_for_reminder(user, pk: int) -> ReviewCycle:
    """The cycle, for a user who may close it (HR, superusers); 404 otherwise, as the close API answers."""
    if not closing.user_can_close(user):
        raise Http404
    return selectors.cycle_get(user, pk)


class CycleRemindLateApi(APIView):
    """Remind everyone late now (HR only): GET says whom it would e-mail, POST sends in the background (202).

    A late self-assessment is reminded to the appraisee, a late manager appraisal
    to the manager, one e-mail per person; a part reminded within
    REVIEW_REMIND_NOW_HOURS is not sent again. Draft, closing and closed cycles
    answer 400, as does a press while one is still sending or with nobody to remind.
    """

    @extend_schema(responses={200: RemindLateSerializer, 404: NOT_VISIBLE})
    def get(self, request, pk: int):
        cycle = _cycle_for_reminder(request.user, pk)
        return Response(RemindLateSerializer(_remind_state(cycle)).data)

    @extend_schema(
        request=None,
        responses={202: ReminderRunSerializer, 400: OpenApiResponse(description="Refused: the message says why."),
                   404: NOT_VISIBLE},
    )
    def post(self, request, pk: int):
        cycle = _cycle_for_reminder(request.user, pk)
        try:
            run = closing.late_reminders_start(user=request.user, cycle=cycle)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        run.refresh_from_db()  # finished already if the worker (or eager mode) was quick
        return Response(ReminderRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


def _remind_state(cycle: ReviewCycle) -> dict:
    plan = closing.late_reminders_plan(cycle)
    return {
        "refusal": closing.remind_now_refusal(cycle),
        "plan": {
            "self_assessment": plan.reminders["self_assessment"], "appraisal": plan.reminders["appraisal"],
            "managers": plan.managers, "emails": plan.emails, "skipped": plan.skipped,
            "unreachable": plan.unreachable, "too_late": plan.too_late,
        },
        "last_run": closing.reminder_run_latest(cycle),
    }
