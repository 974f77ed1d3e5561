"""REST API v1: each view parses its input, calls a selector or a service, and serializes.

Access: every endpoint needs a signed-in user (session or basic auth).
Objects the caller may not see (a subject, an org unit, a person) answer
404, never 403, so that codes cannot be probed. Actions the caller's role
may not take on endpoints that reveal no object (editing the KPI library,
importing files) answer 403.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import imports, services
from .models import Kpi, Measure, OrgUnit, Person, Perspective
from .periods import parse_range
from .selectors import (
    LEVEL_AGENTS,
    LEVEL_TEAMS,
    LEVEL_UNITS,
    SORT_OVERALL,
    league_table,
    library_load,
    people_visible,
    scorecard_for_subject,
    subject_get,
    units_visible,
)

NOT_A_LIBRARY_EDITOR = gettext_lazy("Only directors may change the KPI library.")
NOT_AN_IMPORTER = gettext_lazy("Only HR, directors and administrators may import data.")
NO_FILE = gettext_lazy("Send the CSV file as the multipart field “file”, or as a text/csv request body.")
NOTHING_SAVED = gettext_lazy("The file was refused: nothing from it was saved.")
NO_WEIGHTS = gettext_lazy("Give perspective weights, KPI weights, or both.")
UNKNOWN_SORT = gettext_lazy("“%(sort)s” is neither “overall”, a perspective code nor a KPI code.")


def _drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """Turn a service's ValidationError into DRF's, keeping the messages by field."""
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"non_field_errors": exc.messages})


class CanEditLibraryOrReadOnly(BasePermission):
    message = NOT_A_LIBRARY_EDITOR

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or request.user.can_edit_library


class CanImportData(BasePermission):
    message = NOT_AN_IMPORTER

    def has_permission(self, request, view):
        return request.user.can_import_data


# ---------------------------------------------------------------- scorecards


class ScorecardApi(APIView):
    class InputSerializer(serializers.Serializer):
        subject = serializers.CharField(help_text="An employee code or an org-unit code.")
        start = serializers.CharField(help_text="First day, YYYY-MM-DD (inclusive).")
        end = serializers.CharField(help_text="Last day, YYYY-MM-DD (inclusive).")

        class Meta:
            ref_name = "ScorecardQuery"

        def validate(self, attrs):
            try:
                attrs["start"], attrs["end"] = parse_range(attrs["start"], attrs["end"])
            except DjangoValidationError as exc:
                raise _drf_error(exc) from None
            return attrs

    class OutputSerializer(serializers.Serializer):
        class PerspectiveSerializer(serializers.Serializer):
            class KpiSerializer(serializers.Serializer):
                class ThresholdsSerializer(serializers.Serializer):
                    baseline = serializers.FloatField()
                    typical = serializers.FloatField()
                    excellent = serializers.FloatField()

                    class Meta:
                        ref_name = "ScorecardThresholds"

                code = serializers.CharField()
                name = serializers.CharField()
                unit = serializers.CharField()
                weight = serializers.FloatField()
                value = serializers.FloatField(allow_null=True)
                score = serializers.FloatField(allow_null=True)
                band = serializers.CharField(allow_null=True)
                insufficient_data = serializers.BooleanField(
                    help_text="The value is below the KPI's minimum sample: shown, not scored."
                )
                thresholds = ThresholdsSerializer()
                scored_against = serializers.DictField(
                    child=serializers.CharField(allow_blank=True), allow_null=True,
                    help_text="When the thresholds are not the library's: what set them (`label`, an agreed "
                              "objective's title) and its page (`url`).",
                )

                class Meta:
                    ref_name = "ScorecardKpi"

            code = serializers.CharField()
            name = serializers.CharField()
            weight = serializers.FloatField()
            score = serializers.FloatField(allow_null=True)
            band = serializers.CharField(allow_null=True)
            kpis = KpiSerializer(many=True)

            class Meta:
                ref_name = "ScorecardPerspective"

        subject = serializers.CharField()
        subject_name = serializers.CharField()
        subject_kind = serializers.ChoiceField(choices=["unit", "person"])
        start = serializers.DateField()
        end = serializers.DateField()
        overall_score = serializers.FloatField(allow_null=True)
        band = serializers.CharField(allow_null=True)
        perspectives = PerspectiveSerializer(many=True)

        class Meta:
            ref_name = "Scorecard"

    @extend_schema(
        parameters=[InputSerializer],
        responses={200: OutputSerializer, 400: OpenApiResponse(description="Missing or bad parameters."),
                   404: OpenApiResponse(description="Unknown subject, or one the caller may not see.")},
        summary="The balanced scorecard of one subject over a date range (METRICS.md).",
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = params.validated_data["start"], params.validated_data["end"]
        subject = subject_get(request.user, params.validated_data["subject"])
        card = scorecard_for_subject(subject, start, end)
        data = {
            "subject": subject.code,
            "subject_name": subject.name,
            "subject_kind": "unit" if subject.is_unit else "person",
            "start": start,
            "end": end,
            "overall_score": card.overall_score,
            "band": card.band,
            "perspectives": [
                {
                    "code": p.code,
                    "name": p.spec.label,
                    "weight": p.spec.weight,
                    "score": p.score,
                    "band": p.band,
                    "kpis": [
                        {
                            "code": k.code,
                            "name": k.spec.label,
                            "unit": k.spec.unit,
                            "weight": k.spec.weight,
                            "value": k.value,
                            "score": k.score,
                            "band": k.band,
                            "insufficient_data": k.insufficient,
                            "thresholds": k.thresholds,
                            "scored_against": (
                                {"label": k.override.label, "url": k.override.url} if k.override else None
                            ),
                        }
                        for k in p.kpis
                    ],
                }
                for p in card.perspectives
            ],
        }
        return Response(self.OutputSerializer(data).data)


class RankingApi(APIView):
    """A league table of a unit's subtree, as the ranking page shows it."""

    class InputSerializer(serializers.Serializer):
        start = serializers.CharField(help_text="First day, YYYY-MM-DD (inclusive).")
        end = serializers.CharField(help_text="Last day, YYYY-MM-DD (inclusive).")
        level = serializers.ChoiceField(
            choices=[LEVEL_UNITS, LEVEL_TEAMS, LEVEL_AGENTS], required=False,
            help_text="Who is ranked: the units directly below, every team beneath, or every agent beneath. "
                      "Default: the units directly below, or the agents of a unit with none.",
        )
        sort = serializers.CharField(
            required=False, default=SORT_OVERALL,
            help_text="overall, a perspective code or a KPI code.",
        )

        class Meta:
            ref_name = "RankingQuery"

        def validate(self, attrs):
            try:
                attrs["start"], attrs["end"] = parse_range(attrs["start"], attrs["end"])
            except DjangoValidationError as exc:
                raise _drf_error(exc) from None
            library = library_load()
            codes = {SORT_OVERALL} | {p.code for p in library.perspectives}
            codes |= {k.code for p in library.perspectives for k in p.kpis}
            if attrs["sort"] not in codes:
                raise serializers.ValidationError({"sort": [str(UNKNOWN_SORT % {"sort": attrs["sort"]})]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        class MemberSerializer(serializers.Serializer):
            class KpiSerializer(serializers.Serializer):
                code = serializers.CharField()
                unit = serializers.CharField()
                value = serializers.FloatField(allow_null=True)
                score = serializers.FloatField(allow_null=True)
                band = serializers.CharField(allow_null=True)

                class Meta:
                    ref_name = "RankingKpi"

            rank = serializers.IntegerField(allow_null=True)
            code = serializers.CharField()
            name = serializers.CharField()
            kind = serializers.ChoiceField(choices=["unit", "person"])
            overall_score = serializers.FloatField(allow_null=True)
            band = serializers.CharField(allow_null=True)
            perspectives = serializers.DictField(child=serializers.FloatField(allow_null=True))
            kpi = KpiSerializer(allow_null=True, help_text="The KPI ranked on, when `sort` is a KPI code.")

            class Meta:
                ref_name = "RankingMember"

        subject = serializers.CharField()
        start = serializers.DateField()
        end = serializers.DateField()
        level = serializers.CharField()
        levels = serializers.ListField(child=serializers.CharField())
        sort = serializers.CharField()
        members = MemberSerializer(many=True)

        class Meta:
            ref_name = "Ranking"

    @extend_schema(
        parameters=[InputSerializer],
        responses={200: OutputSerializer, 400: OpenApiResponse(description="Missing or bad parameters."),
                   404: OpenApiResponse(description="Unknown unit, a person's code, or a unit the caller may not see.")},
        summary="Rank a unit's members (units below, every team or every agent beneath) by any score.",
    )
    def get(self, request, code: str):
        subject = subject_get(request.user, code)
        if not subject.is_unit:
            raise Http404
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        table = league_table(subject.obj, data["start"], data["end"], level=data.get("level"), sort=data["sort"])
        members = []
        for m in table.members:
            card = m.scorecard
            k = card.kpi(table.sort) if table.sort_kind == "kpi" else None
            members.append({
                "rank": m.rank,
                "code": m.obj.code,
                "name": m.obj.name,
                "kind": "unit" if isinstance(m.obj, OrgUnit) else "person",
                "overall_score": card.overall_score,
                "band": card.band,
                "perspectives": {p.code: p.score for p in card.perspectives},
                "kpi": None if k is None else {"code": k.code, "unit": k.spec.unit, "value": k.value,
                                               "score": k.score, "band": k.band},
            })
        out = {"subject": subject.code, "start": data["start"], "end": data["end"], "level": table.kind,
               "levels": table.levels, "sort": table.sort, "members": members}
        return Response(self.OutputSerializer(out).data)


# ----------------------------------------------------------- org and people


class OrgUnitOutputSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = OrgUnit
        fields = ["code", "name", "parent", "depth"]


class OrgUnitFilter(filters.FilterSet):
    parent = filters.CharFilter(field_name="parent__code", help_text="The parent unit's code.")
    depth = filters.NumberFilter()

    class Meta:
        model = OrgUnit
        fields = ["parent", "depth"]


class OrgUnitListApi(ListAPIView):
    """The org units the caller may see, in tree order."""

    serializer_class = OrgUnitOutputSerializer
    filterset_class = OrgUnitFilter

    def get_queryset(self):
        return units_visible(self.request.user).select_related("parent").order_by("path")


class OrgUnitDetailApi(RetrieveAPIView):
    serializer_class = OrgUnitOutputSerializer
    lookup_field = "code"

    def get_queryset(self):
        return units_visible(self.request.user).select_related("parent")


class PersonOutputSerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    manager = serializers.SlugRelatedField(slug_field="employee_code", read_only=True)

    class Meta:
        model = Person
        fields = ["employee_code", "name", "email", "unit", "role", "manager", "is_active"]


class PersonFilter(filters.FilterSet):
    unit = filters.CharFilter(field_name="unit__code", help_text="The code of the person's own unit.")
    role = filters.ChoiceFilter(choices=Person.Role.choices)
    manager = filters.CharFilter(field_name="manager__employee_code", help_text="The manager's employee code.")
    is_active = filters.BooleanFilter()

    class Meta:
        model = Person
        fields = ["unit", "role", "manager", "is_active"]


class PersonListApi(ListAPIView):
    """The people the caller may see."""

    serializer_class = PersonOutputSerializer
    filterset_class = PersonFilter

    def get_queryset(self):
        return people_visible(self.request.user).order_by("employee_code")


class PersonDetailApi(RetrieveAPIView):
    serializer_class = PersonOutputSerializer
    lookup_field = "employee_code"

    def get_queryset(self):
        return people_visible(self.request.user)


# --------------------------------------------------------------- KPI library


class PerspectiveOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Perspective
        fields = ["code", "name", "name_zh", "question", "question_zh", "weight", "order"]


class PerspectiveListApi(ListAPIView):
    serializer_class = PerspectiveOutputSerializer
    queryset = Perspective.objects.order_by("order", "code")


class MeasureListApi(ListAPIView):
    """List measures; directors may add one."""

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=64)
        name = serializers.CharField(max_length=200)
        name_zh = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        description = serializers.CharField(required=False, allow_blank=True, default="")
        description_zh = serializers.CharField(required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "MeasureCreate"

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Measure
            fields = ["code", "name", "name_zh", "description", "description_zh"]
            ref_name = "Measure"

    serializer_class = OutputSerializer
    permission_classes = [IsAuthenticated, CanEditLibraryOrReadOnly]
    queryset = Measure.objects.order_by("code")

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            measure = services.measure_create(user=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(self.OutputSerializer(measure).data, status=status.HTTP_201_CREATED)


class KpiOutputSerializer(serializers.ModelSerializer):
    perspective = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Kpi
        fields = [
            "code", "name", "name_zh", "definition", "definition_zh", "perspective", "formula", "unit",
            "direction", "baseline", "typical", "excellent", "weight", "min_sample",
        ]


class KpiFilter(filters.FilterSet):
    perspective = filters.CharFilter(field_name="perspective__code")

    class Meta:
        model = Kpi
        fields = ["perspective", "direction"]


class KpiListApi(ListAPIView):
    """List KPIs; directors may add one (the perspective's other KPIs are rescaled to share the rest)."""

    class InputSerializer(serializers.Serializer):
        code = serializers.SlugField(max_length=64)
        name = serializers.CharField(max_length=200)
        name_zh = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        definition = serializers.CharField(required=False, allow_blank=True, default="")
        definition_zh = serializers.CharField(required=False, allow_blank=True, default="")
        perspective = serializers.SlugRelatedField(slug_field="code", queryset=Perspective.objects.all())
        formula = serializers.CharField(max_length=500)
        unit = serializers.CharField(max_length=32, allow_blank=True)
        direction = serializers.ChoiceField(choices=Kpi.Direction.choices)
        baseline = serializers.FloatField()
        typical = serializers.FloatField()
        excellent = serializers.FloatField()
        weight = serializers.FloatField()
        min_sample = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)

        class Meta:
            ref_name = "KpiCreate"

    serializer_class = KpiOutputSerializer
    filterset_class = KpiFilter
    permission_classes = [IsAuthenticated, CanEditLibraryOrReadOnly]
    queryset = Kpi.objects.select_related("perspective").order_by("perspective__order", "order", "code")

    @extend_schema(request=InputSerializer, responses={201: KpiOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            kpi = services.kpi_create(user=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(KpiOutputSerializer(kpi).data, status=status.HTTP_201_CREATED)


class KpiDetailApi(RetrieveAPIView):
    """Read a KPI; directors may change its texts, formula, unit, direction, thresholds or minimum sample."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        name_zh = serializers.CharField(max_length=200, required=False, allow_blank=True)
        definition = serializers.CharField(required=False, allow_blank=True)
        definition_zh = serializers.CharField(required=False, allow_blank=True)
        formula = serializers.CharField(max_length=500, required=False)
        unit = serializers.CharField(max_length=32, required=False, allow_blank=True)
        direction = serializers.ChoiceField(choices=Kpi.Direction.choices, required=False)
        baseline = serializers.FloatField(required=False)
        typical = serializers.FloatField(required=False)
        excellent = serializers.FloatField(required=False)
        min_sample = serializers.IntegerField(min_value=0, required=False, allow_null=True)

        class Meta:
            ref_name = "KpiUpdate"

    serializer_class = KpiOutputSerializer
    permission_classes = [IsAuthenticated, CanEditLibraryOrReadOnly]
    lookup_field = "code"
    queryset = Kpi.objects.select_related("perspective")

    @extend_schema(request=InputSerializer, responses={200: KpiOutputSerializer})
    def patch(self, request, code):
        kpi = get_object_or_404(Kpi, code=code)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            kpi = services.kpi_update(user=request.user, kpi=kpi, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(KpiOutputSerializer(kpi).data)


class WeightsApi(APIView):
    """Read or set the weights: perspectives in the overall score, KPIs in their perspective.

    Each set must be positive and sum to 100, or nothing is saved.
    """

    class InputSerializer(serializers.Serializer):
        perspectives = serializers.DictField(
            child=serializers.FloatField(), required=False, default=dict,
            help_text="Perspective code → weight, for every perspective.",
        )
        kpis = serializers.DictField(
            child=serializers.FloatField(), required=False, default=dict,
            help_text="KPI code → weight, for every KPI of each perspective named.",
        )

        class Meta:
            ref_name = "WeightsUpdate"

        def validate(self, attrs):
            if not attrs["perspectives"] and not attrs["kpis"]:
                raise serializers.ValidationError({"non_field_errors": [str(NO_WEIGHTS)]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        perspectives = serializers.DictField(child=serializers.FloatField())
        kpis = serializers.DictField(child=serializers.FloatField())

        class Meta:
            ref_name = "Weights"

    permission_classes = [IsAuthenticated, CanEditLibraryOrReadOnly]

    def _current(self) -> dict:
        return {
            "perspectives": dict(Perspective.objects.order_by("order", "code").values_list("code", "weight")),
            "kpis": dict(Kpi.objects.order_by("perspective__order", "order", "code").values_list("code", "weight")),
        }

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer(self._current()).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.weights_update(
                user=request.user,
                perspective_weights=serializer.validated_data["perspectives"],
                kpi_weights=serializer.validated_data["kpis"],
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(self.OutputSerializer(self._current()).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request):
        return self.put(request)


# ------------------------------------------------------------------- imports


class CsvParser(BaseParser):
    """Hand a text/csv body over as bytes; the imports decode it (UTF-8, BOM accepted)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


_import_error_serializer = inline_serializer(
    name="ImportErrors",
    fields={
        "detail": serializers.CharField(),
        "errors": inline_serializer(
            name="ImportLineError",
            fields={"line": serializers.IntegerField(), "column": serializers.CharField(),
                    "message": serializers.CharField()},
            many=True,
        ),
        "error_count": serializers.IntegerField(),
    },
)


class ImportApi(APIView):
    """Load a CSV file synchronously through scorecard.imports (HR, directors, superusers)."""

    class OutputSerializer(serializers.Serializer):
        rows = serializers.IntegerField()
        values = serializers.IntegerField()
        created = serializers.IntegerField()
        updated = serializers.IntegerField()

        class Meta:
            ref_name = "ImportResult"

    permission_classes = [IsAuthenticated, CanImportData]
    parser_classes = [MultiPartParser, FormParser, CsvParser]
    importer = None  # set by subclasses

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(name="CsvUpload", fields={"file": serializers.FileField()}),
            "text/csv": OpenApiTypes.STR,
        },
        responses={200: OutputSerializer, 400: _import_error_serializer},
    )
    def post(self, request):
        source = request.data if isinstance(request.data, bytes) else request.FILES.get("file")
        if not source:
            raise serializers.ValidationError({"file": [str(NO_FILE)]})
        try:
            result = type(self).importer(source)
        except imports.ImportFailed as exc:
            return Response(
                {"detail": str(NOTHING_SAVED), "errors": [e.as_dict() for e in exc.errors], "error_count": exc.total},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(self.OutputSerializer(result).data)


class OrgUnitImportApi(ImportApi):
    importer = staticmethod(imports.import_org)


class PersonImportApi(ImportApi):
    importer = staticmethod(imports.import_people)


class MeasurementImportApi(ImportApi):
    importer = staticmethod(imports.import_measurements)
