"""REST API v1 of objectives (under /api/v1/goals/): list, read, create, edit a draft, status steps, revise, SMART.

Objectives the caller may not see answer 404, never 403. A refused change
answers 400 with the service's messages by field; nothing is saved.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from scorecard.access import scope_for
from scorecard.apis import _drf_error
from scorecard.models import Kpi

from . import selectors, services
from .forms import resolve_owner
from .models import Objective
from .smart import smart_check

UNKNOWN_KPI = _("Unknown KPI.")
# The same answer for an id that does not exist and one outside the caller's view, so ids cannot be probed.
UNKNOWN_PARENT = _("No objective with this id among those you may see.")


def _visible(user):
    return selectors.objectives_visible(user).select_related(
        "owner_unit", "owner_person__unit", "kpi__perspective"
    )


def _parent_get(user, pk: int) -> Objective | None:
    """The objective `pk` if the user may name it as a parent, else None (missing or not theirs to see).

    What the form's parent picker offers (goals.forms.parent_choices): an
    objective in the user's view, or one of a unit on their own chain upward.
    Anything else is answered as a missing id: a "not above the owner" message
    about an objective the user may not see would tell them that it exists.
    """
    qs = Objective.objects.select_related("owner_unit", "owner_person__unit").filter(pk=pk)
    scope = scope_for(user)
    if not scope.is_all:
        chain = [int(part) for part in (user.unit.path if user.unit_id else "").strip("/").split("/") if part]
        qs = qs.filter(scope.owner_q() | Q(owner_unit_id__in=chain))
    return qs.first()


def _objective_get(user, pk: int) -> Objective:
    return selectors.objective_get_for_user(user, pk, "kpi__perspective")


class ObjectiveOutputSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner_code", read_only=True, help_text="Employee or org-unit code.")
    owner_kind = serializers.SerializerMethodField()
    owner_name = serializers.CharField(source="owner.name", read_only=True)
    kpi = serializers.CharField(source="kpi.code", read_only=True, allow_null=True)
    perspective = serializers.CharField(source="kpi.perspective.code", read_only=True, allow_null=True)
    actions = serializers.SerializerMethodField(help_text="The status steps the caller may take now.")

    class Meta:
        model = Objective
        fields = [
            "id", "owner", "owner_kind", "owner_name", "period_start", "period_end", "title", "result", "kind",
            "kpi", "perspective", "baseline", "target", "stretch", "completion_criterion", "verification",
            "resources", "weight", "due_date", "parent", "status", "progress", "actions", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_owner_kind(self, obj) -> str:
        return "unit" if obj.owner_unit_id else "person"

    def get_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        return services.objective_actions(request.user, obj) if request else []


class ObjectiveFilter(filters.FilterSet):
    owner = filters.CharFilter(method="filter_owner", help_text="The owner's employee or org-unit code.")
    period_start = filters.DateFilter(field_name="period_end", lookup_expr="gte",
                                      help_text="Objectives whose period ends on or after this day.")
    period_end = filters.DateFilter(field_name="period_start", lookup_expr="lte",
                                    help_text="Objectives whose period starts on or before this day.")
    status = filters.ChoiceFilter(choices=Objective.Status.choices)
    kind = filters.ChoiceFilter(choices=Objective.Kind.choices)
    kpi = filters.CharFilter(field_name="kpi__code", help_text="The KPI's code.")
    perspective = filters.CharFilter(field_name="kpi__perspective__code", help_text="The perspective's code.")

    class Meta:
        model = Objective
        fields = ["owner", "period_start", "period_end", "status", "kind", "kpi", "perspective"]

    def filter_owner(self, queryset, name, value):
        return queryset.filter(Q(owner_unit__code=value) | Q(owner_person__employee_code=value))


class ObjectiveInputSerializer(serializers.Serializer):
    """The fields of an objective as written: owner and KPI by code, parent by id."""

    owner = serializers.CharField(max_length=32, help_text="Employee or org-unit code.")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    title = serializers.CharField(max_length=200)
    result = serializers.CharField(required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=Objective.Kind.choices, default=Objective.Kind.KPI)
    kpi = serializers.CharField(required=False, allow_null=True, default=None, help_text="KPI code.")
    baseline = serializers.FloatField(required=False, allow_null=True, default=None)
    target = serializers.FloatField(required=False, allow_null=True, default=None)
    stretch = serializers.FloatField(required=False, allow_null=True, default=None)
    completion_criterion = serializers.CharField(required=False, allow_blank=True, default="")
    verification = serializers.CharField(required=False, allow_blank=True, default="")
    resources = serializers.CharField(required=False, allow_blank=True, default="")
    weight = serializers.FloatField(default=0)
    due_date = serializers.DateField()
    parent = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Parent objective id.")

    class Meta:
        ref_name = "ObjectiveInput"

    def resolve(self, user, data: dict) -> dict:
        """Codes and ids → objects; unknown or invisible owners become None (the service refuses them)."""
        data = dict(data)
        errors = {}
        if "owner" in data:
            data["owner"] = resolve_owner(user, data["owner"])
        if data.get("kpi"):
            data["kpi"] = Kpi.objects.filter(code=data["kpi"]).first()
            if data["kpi"] is None:
                errors["kpi"] = [str(UNKNOWN_KPI)]
        if data.get("parent"):
            data["parent"] = _parent_get(user, data["parent"])
            if data["parent"] is None:
                errors["parent"] = [str(UNKNOWN_PARENT)]
        if errors:
            raise serializers.ValidationError(errors)
        return data


class ObjectiveCreateInputSerializer(ObjectiveInputSerializer):
    status = serializers.ChoiceField(
        choices=[Objective.Status.DRAFT, Objective.Status.PROPOSED], default=Objective.Status.DRAFT,
        help_text="Create as a draft, or proposed at once (then the SMART check must pass).",
    )

    class Meta:
        ref_name = "ObjectiveCreateInput"


class ObjectiveListApi(ListAPIView):
    """Objectives the caller may see; POST creates one."""

    serializer_class = ObjectiveOutputSerializer
    filterset_class = ObjectiveFilter

    def get_queryset(self):
        return _visible(self.request.user).order_by("-period_start", "id")

    @extend_schema(
        request=ObjectiveCreateInputSerializer,
        responses={201: ObjectiveOutputSerializer, 400: OpenApiResponse(description="Refused; nothing saved.")},
        summary="Create an objective (a draft, or proposed at once).",
    )
    def post(self, request):
        params = ObjectiveCreateInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.resolve(request.user, params.validated_data)
        try:
            objective = services.objective_create(user=request.user, **data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        objective = _objective_get(request.user, objective.pk)
        return Response(ObjectiveOutputSerializer(objective, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class ObjectiveDetailApi(RetrieveAPIView):
    """One objective; PATCH edits a draft."""

    serializer_class = ObjectiveOutputSerializer

    def get_queryset(self):
        return _visible(self.request.user)

    @extend_schema(
        request=ObjectiveInputSerializer(partial=True),
        responses={200: ObjectiveOutputSerializer, 400: OpenApiResponse(description="Refused; nothing saved."),
                   404: OpenApiResponse(description="Unknown, or not visible to the caller.")},
        summary="Edit a draft objective (agreed and active ones are revised).",
    )
    def patch(self, request, pk):
        objective = _objective_get(request.user, pk)
        params = ObjectiveInputSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        fields = {k: v for k, v in params.validated_data.items() if k in request.data}
        data = params.resolve(request.user, fields)
        try:
            services.objective_update(user=request.user, objective=objective, **data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        objective = _objective_get(request.user, pk)
        return Response(ObjectiveOutputSerializer(objective, context={"request": request}).data)


class ObjectiveTransitionApi(APIView):
    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=list(services.TRANSITIONS))
        comment = serializers.CharField(required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "ObjectiveTransitionInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: ObjectiveOutputSerializer, 400: OpenApiResponse(description="Wrong person, wrong status, "
                   "missing comment or failing SMART check; nothing saved."),
                   404: OpenApiResponse(description="Unknown, or not visible to the caller.")},
        summary="Take one status step: propose, agree, return, reject, activate, achieve, miss, cancel.",
    )
    def post(self, request, pk):
        objective = _objective_get(request.user, pk)
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            services.objective_transition(user=request.user, objective=objective, **params.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        objective = _objective_get(request.user, pk)
        return Response(ObjectiveOutputSerializer(objective, context={"request": request}).data)


class ObjectiveReviseApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(allow_blank=True)
        baseline = serializers.FloatField(required=False, allow_null=True, default=None)
        target = serializers.FloatField(required=False, allow_null=True, default=None)
        stretch = serializers.FloatField(required=False, allow_null=True, default=None)
        due_date = serializers.DateField(required=False, allow_null=True, default=None)

        class Meta:
            ref_name = "ObjectiveReviseInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: ObjectiveOutputSerializer, 400: OpenApiResponse(description="Refused; nothing saved."),
                   404: OpenApiResponse(description="Unknown, or not visible to the caller.")},
        summary="Revise an agreed or active objective, with a reason; the owner is told by email.",
    )
    def post(self, request, pk):
        objective = _objective_get(request.user, pk)
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            services.objective_revise(user=request.user, objective=objective, **params.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        objective = _objective_get(request.user, pk)
        return Response(ObjectiveOutputSerializer(objective, context={"request": request}).data)


class ObjectiveSmartCheckApi(APIView):
    class InputSerializer(ObjectiveInputSerializer):
        owner = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
        period_start = serializers.DateField(required=False, allow_null=True, default=None)
        period_end = serializers.DateField(required=False, allow_null=True, default=None)
        title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        due_date = serializers.DateField(required=False, allow_null=True, default=None)

        class Meta:
            ref_name = "ObjectiveSmartCheckInput"

    class OutputSerializer(serializers.Serializer):
        letter = serializers.ChoiceField(choices=["S", "M", "A", "R", "T"])
        label = serializers.CharField()
        status = serializers.ChoiceField(choices=["pass", "fail", "warn"])
        reason = serializers.CharField()
        blocks = serializers.BooleanField(help_text="This failure stops the objective from being proposed.")

        class Meta:
            ref_name = "SmartResult"

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer(many=True)},
        summary="Run the SMART check on an objective being written; nothing is saved.",
    )
    def post(self, request):
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.resolve(request.user, params.validated_data)
        data.pop("weight", None)
        data.pop("parent", None)
        results = smart_check(**data)
        out = [{"letter": r.letter, "label": r.label, "status": r.status, "reason": r.reason, "blocks": r.blocks}
               for r in results]
        return Response(self.OutputSerializer(out, many=True).data)
