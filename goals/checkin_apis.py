"""REST API v1 of check-ins and influencing factors (under /api/v1/goals/).

Objectives whose owner the caller does not see answer 404, never 403. A
refused change answers 400 with the service's messages by field; nothing is saved.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from scorecard.apis import _drf_error
from scorecard.models import Kpi

from . import checkins, selectors
from .fishbone import fishbone_svg
from .models import CheckIn, InfluencingFactor

UNKNOWN_KPI = _("Unknown KPI.")
NOT_VISIBLE = OpenApiResponse(description="Unknown, or not visible to the caller.")
REFUSED = OpenApiResponse(description="Refused (wrong person, wrong status or bad input); nothing saved.")


def _checkin_get(user, pk: int) -> CheckIn:
    checkin = CheckIn.objects.select_related("objective__owner_unit", "objective__owner_person__unit").filter(pk=pk).first()
    if checkin is None or not selectors.objective_visible(user, checkin.objective):
        raise Http404
    return checkin


def _factor_get(user, pk: int) -> InfluencingFactor:
    factor = (
        InfluencingFactor.objects.select_related("objective__owner_unit", "objective__owner_person__unit", "kpi")
        .filter(pk=pk)
        .first()
    )
    if factor is None or not selectors.objective_visible(user, factor.objective):
        raise Http404
    return factor


# ---------------------------------------------------------------- check-ins


class CheckInOutputSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.employee_code", read_only=True)
    author_name = serializers.CharField(source="author.name", read_only=True)
    replied_by = serializers.CharField(source="replied_by.employee_code", read_only=True, allow_null=True)
    replied_by_name = serializers.CharField(source="replied_by.name", read_only=True, allow_null=True)

    class Meta:
        model = CheckIn
        ref_name = "CheckIn"
        fields = [
            "id", "objective", "author", "author_name", "created_at", "progress_note", "progress", "obstacles",
            "help_needed", "next_steps", "reply", "replied_by", "replied_by_name", "replied_at",
        ]
        read_only_fields = fields


class CheckInListApi(ListAPIView):
    """An objective's check-ins, newest first (paginated); POST records one.

    Queries: the objective (1, plus the caller's unit for a manager), the
    count (1) and the page with authors joined (1) — whatever the number of check-ins.
    """

    serializer_class = CheckInOutputSerializer

    class InputSerializer(serializers.Serializer):
        progress_note = serializers.CharField(allow_blank=True, help_text="The progress made.")
        progress = serializers.FloatField(
            required=False, allow_null=True, default=None,
            help_text="Milestone objectives only: percent done, 0–100; becomes the objective's progress.",
        )
        obstacles = serializers.CharField(required=False, allow_blank=True, default="")
        help_needed = serializers.CharField(required=False, allow_blank=True, default="")
        next_steps = serializers.CharField(required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "CheckInInput"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CheckIn.objects.none()
        objective = selectors.objective_get_for_user(self.request.user, self.kwargs["pk"])
        return objective.checkins.select_related("author", "replied_by").order_by("-created_at", "-id")

    @extend_schema(responses={200: CheckInOutputSerializer(many=True), 404: NOT_VISIBLE},
                   summary="List an objective's check-ins, newest first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=InputSerializer, responses={201: CheckInOutputSerializer, 400: REFUSED, 404: NOT_VISIBLE},
                   summary="Record a check-in (the owner or their manager; agreed or active objectives).")
    def post(self, request, pk):
        objective = selectors.objective_get_for_user(request.user, pk)
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            checkin = checkins.checkin_create(user=request.user, objective=objective, **params.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(CheckInOutputSerializer(checkin).data, status=status.HTTP_201_CREATED)


class CheckInReplyApi(APIView):
    class InputSerializer(serializers.Serializer):
        reply = serializers.CharField(allow_blank=True)

        class Meta:
            ref_name = "CheckInReplyInput"

    @extend_schema(request=InputSerializer, responses={200: CheckInOutputSerializer, 400: REFUSED, 404: NOT_VISIBLE},
                   summary="Reply to a check-in (the owner's manager, not its author).")
    def post(self, request, pk):
        checkin = _checkin_get(request.user, pk)
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            checkin = checkins.checkin_reply(user=request.user, checkin=checkin, **params.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        checkin = CheckIn.objects.select_related("author", "replied_by").get(pk=checkin.pk)
        return Response(CheckInOutputSerializer(checkin).data)


# ------------------------------------------------------------------ factors


class FactorOutputSerializer(serializers.ModelSerializer):
    kpi = serializers.CharField(source="kpi.code", read_only=True, allow_null=True, help_text="The related KPI's code.")

    class Meta:
        model = InfluencingFactor
        ref_name = "InfluencingFactor"
        fields = ["id", "objective", "name", "controllable", "influenceable", "kpi", "category", "note"]
        read_only_fields = fields


class FactorInputSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    controllable = serializers.BooleanField(default=False, help_text="是否可控")
    influenceable = serializers.BooleanField(default=False, help_text="是否可影响")
    kpi = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None,
                                help_text="The related KPI's code (相关指标).")
    category = serializers.ChoiceField(choices=InfluencingFactor.Category.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "InfluencingFactorInput"

    def validate_kpi(self, value):
        if not value:
            return None
        kpi = Kpi.objects.filter(code=value).first()
        if kpi is None:
            raise serializers.ValidationError(str(UNKNOWN_KPI))
        return kpi


class FactorListApi(ListAPIView):
    """An objective's influencing factors (paginated); POST adds one."""

    serializer_class = FactorOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InfluencingFactor.objects.none()
        objective = selectors.objective_get_for_user(self.request.user, self.kwargs["pk"])
        return objective.factors.select_related("kpi").order_by("category", "id")

    @extend_schema(responses={200: FactorOutputSerializer(many=True), 404: NOT_VISIBLE},
                   summary="List an objective's influencing factors.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=FactorInputSerializer, responses={201: FactorOutputSerializer, 400: REFUSED, 404: NOT_VISIBLE},
                   summary="Add an influencing factor (the owner or their manager).")
    def post(self, request, pk):
        objective = selectors.objective_get_for_user(request.user, pk)
        params = FactorInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            factor = checkins.factor_create(user=request.user, objective=objective, **params.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(FactorOutputSerializer(factor).data, status=status.HTTP_201_CREATED)


class FactorDetailApi(APIView):
    @extend_schema(responses={200: FactorOutputSerializer, 404: NOT_VISIBLE}, summary="Read an influencing factor.")
    def get(self, request, pk):
        return Response(FactorOutputSerializer(_factor_get(request.user, pk)).data)

    @extend_schema(request=FactorInputSerializer(partial=True),
                   responses={200: FactorOutputSerializer, 400: REFUSED, 404: NOT_VISIBLE},
                   summary="Change an influencing factor; fields left out keep their values.")
    def patch(self, request, pk):
        factor = _factor_get(request.user, pk)
        params = FactorInputSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        values = {
            "name": factor.name, "controllable": factor.controllable, "influenceable": factor.influenceable,
            "kpi": factor.kpi, "category": factor.category, "note": factor.note,
        }
        values.update({k: v for k, v in params.validated_data.items() if k in request.data})
        try:
            factor = checkins.factor_update(user=request.user, factor=factor, **values)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(FactorOutputSerializer(factor).data)

    @extend_schema(request=None, responses={204: None, 400: REFUSED, 404: NOT_VISIBLE},
                   summary="Delete an influencing factor.")
    def delete(self, request, pk):
        factor = _factor_get(request.user, pk)
        try:
            checkins.factor_delete(user=request.user, factor=factor)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# ----------------------------------------------------------------- fishbone


class SvgRenderer(BaseRenderer):
    media_type = "image/svg+xml"
    format = "svg"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        # An error (404, 403): its JSON body, under the negotiated type.
        return json.dumps(data, ensure_ascii=False).encode(self.charset) if data is not None else b""


class ObjectiveFishboneApi(APIView):
    renderer_classes = [SvgRenderer, JSONRenderer]

    @extend_schema(
        responses={(200, "image/svg+xml"): OpenApiTypes.STR, (404, "application/json"): NOT_VISIBLE},
        summary="The fishbone diagram (鱼骨图) of an objective's influencing factors, as SVG.",
    )
    def get(self, request, pk):
        objective = selectors.objective_get_for_user(request.user, pk)
        return Response(fishbone_svg(objective.title, objective.factors.all()), content_type="image/svg+xml; charset=utf-8")
