"""REST API v1: each view parses its input, calls a selector or a service, and serializes.

Access: every endpoint needs a signed-in user (session or basic auth).
Objects the caller may not see (a subject, an org unit, a person) answer
404, never 403, so that codes cannot be probed. Actions the caller's role
may not take on endpoints that reveal no object (editing the KPI library,
importing files) answer 403.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import outbox, services, uploads
from .import_jobs import import_job_create
from .models import ImportJob, Kpi, Measure, OrgUnit, Person, Perspective
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
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

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
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    manager = serializers.SlugRelatedField(slug_field="employee_code", read_only=True, allow_null=True)

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
        kind = serializers.ChoiceField(choices=Measure.Kind.choices, default=Measure.Kind.COUNT)
        max_value = serializers.FloatField(
            required=False, allow_null=True, default=None,
            help_text="The largest plausible value of one row; null: the kind's default.",
        )

        class Meta:
            ref_name = "MeasureCreate"

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Measure
            fields = ["code", "name", "name_zh", "description", "description_zh", "kind", "max_value"]
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


class MeasureDetailApi(RetrieveAPIView):
    """One measure; directors may change its names, kind and maximum per row (PATCH; the code is fixed)."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        name_zh = serializers.CharField(max_length=200, required=False, allow_blank=True)
        description = serializers.CharField(required=False, allow_blank=True)
        description_zh = serializers.CharField(required=False, allow_blank=True)
        kind = serializers.ChoiceField(choices=Measure.Kind.choices, required=False)
        max_value = serializers.FloatField(required=False, allow_null=True,
                                           help_text="null: the kind's default.")

        class Meta:
            ref_name = "MeasureUpdate"

    serializer_class = MeasureListApi.OutputSerializer
    permission_classes = [IsAuthenticated, CanEditLibraryOrReadOnly]
    queryset = Measure.objects.all()
    lookup_field = "code"

    @extend_schema(request=InputSerializer, responses={200: MeasureListApi.OutputSerializer})
    def patch(self, request, code: str):
        measure = self.get_object()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = {f: getattr(measure, f) for f in ("name", "name_zh", "description", "description_zh", "kind")}
        fields["max_value"] = measure.max_value
        if "kind" in serializer.validated_data and "max_value" not in serializer.validated_data:
            fields["max_value"] = None  # a new kind without a maximum: the new kind's default
        fields.update(serializer.validated_data)
        try:
            measure = services.measure_update(user=request.user, measure=measure, **fields)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(self.serializer_class(measure).data)


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
# A file sent to an import API becomes an ImportJob, loaded by a Celery worker exactly like a web
# upload: the request only stores the file (streamed to disk) and answers 202 with the job's address.


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"

    def __init__(self):
        super().__init__(uploads.too_large_message())


class CsvParser(BaseParser):
    """Stream a text/csv body to a temporary file on disk, refusing it past IMPORT_MAX_UPLOAD_MB."""

    media_type = "text/csv"
    CHUNK = 256 * 1024

    def parse(self, stream, media_type=None, parser_context=None):
        upload = TemporaryUploadedFile("upload.csv", self.media_type, 0, "utf-8")
        limit, size = uploads.upload_limit_bytes(), 0
        while stream is not None and (chunk := stream.read(self.CHUNK)):
            size += len(chunk)
            if size > limit:
                upload.close()
                raise UploadTooLarge()
            upload.write(chunk)
        upload.size = size
        upload.seek(0)
        return upload


_line_error_serializer = inline_serializer(
    name="ImportLineError",
    fields={"line": serializers.IntegerField(), "column": serializers.CharField(), "message": serializers.CharField()},
    many=True,
)
_detail_serializer = inline_serializer(name="ImportTooLarge", fields={"detail": serializers.CharField()})


class ImportJobOutputSerializer(serializers.ModelSerializer):
    """An import job: its state and what it wrote (lines read; values, or units or people, created and updated).

    A refused file lists its problems with line and column (at most a few
    hundred; `error_count` counts them all) and saved nothing.
    """

    url = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="employee_code", read_only=True)
    errors = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id", "url", "kind", "status", "filename", "created_by", "created_at", "started_at", "finished_at",
            "rows", "values", "created", "updated", "error_count", "errors",
        ]
        ref_name = "ImportJob"

    def get_url(self, job) -> str:
        url = reverse("api-import-detail", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    @extend_schema_field(_line_error_serializer)
    def get_errors(self, job) -> list:
        return job.errors


class ImportApi(APIView):
    """Queue a CSV file for import (HR, directors, superusers): 202 and the job's address.

    The file goes as the multipart field `file` or as a text/csv body, at
    most IMPORT_MAX_UPLOAD_MB (413 beyond). A worker loads it, as it does a
    file uploaded on the page; follow the job at the address given (the
    Location header and `url`): its status, its counters, and the problems of
    a refused file with their lines and columns.
    """

    class AcceptedSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.CharField()
        url = serializers.URLField()
        detail = serializers.CharField(required=False, help_text="Only when the job system cannot be reached.")

        class Meta:
            ref_name = "ImportAccepted"

    permission_classes = [IsAuthenticated, CanImportData]
    parser_classes = [MultiPartParser, FormParser, CsvParser]
    kind = None  # set by subclasses: an ImportJob.Kind

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(name="CsvUpload", fields={"file": serializers.FileField()}),
            "text/csv": OpenApiTypes.STR,
        },
        responses={202: AcceptedSerializer, 400: OpenApiTypes.OBJECT, 413: _detail_serializer},
    )
    def post(self, request):
        if uploads.declares_too_much(request):
            raise UploadTooLarge()  # before the body is read (in a deployment UploadLimitMiddleware answers first)
        data = request.data
        source = data if isinstance(data, UploadedFile) else request.FILES.get("file")
        if not source:
            raise serializers.ValidationError({"file": [str(NO_FILE)]})
        if source.size > uploads.upload_limit_bytes():
            raise UploadTooLarge()
        if data is source:  # a text/csv body: name the stored file after what it holds
            source.name = f"{self.kind}.csv"
        try:
            with outbox.watch() as dispatch:
                job = import_job_create(user=request.user, kind=self.kind, uploaded_file=source, language=get_language())
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        finally:
            if data is source:
                source.close()  # the storage moved its temporary file (a multipart file, Django closes)
        url = ImportJobOutputSerializer(context={"request": request}).get_url(job)
        accepted = {"id": job.pk, "status": job.status, "url": url}
        if dispatch.queued:
            accepted["detail"] = str(outbox.QUEUED)
        return Response(accepted, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class OrgUnitImportApi(ImportApi):
    kind = ImportJob.Kind.ORG


class PersonImportApi(ImportApi):
    kind = ImportJob.Kind.PEOPLE


class MeasurementImportApi(ImportApi):
    kind = ImportJob.Kind.MEASUREMENTS


class _ImportJobAccess:
    """Import jobs are for those who may import; anyone else gets 404, as on the pages."""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no signed-in user
            return ImportJob.objects.none()
        if not self.request.user.can_import_data:
            raise Http404
        return ImportJob.objects.select_related("created_by").order_by("-created_at", "-pk")


class ImportJobListApi(_ImportJobAccess, ListAPIView):
    """The import jobs, latest first. Queries: the count, and the page with its uploaders (2)."""

    serializer_class = ImportJobOutputSerializer


class ImportJobDetailApi(_ImportJobAccess, RetrieveAPIView):
    """One import job: its status, counters, and the problems of a refused file."""

    serializer_class = ImportJobOutputSerializer
    lookup_url_kwarg = "job_id"
