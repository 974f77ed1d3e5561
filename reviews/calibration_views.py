"""Page and API of calibration: HR sees the grade distribution per unit against the guideline and adjusts grades.

Only HR (and superusers) calibrate; anyone else gets 404, never 403, so a
cycle's or an appraisal's existence is not revealed. Bad input answers with a
message (status 400 on the page, messages by field in the API); nothing is saved.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from scorecard.apis import _drf_error

from . import calibration
from .closing import user_can_close
from .models import Appraisal, ReviewCycle

CALIBRATED = _("Grade of %(person)s calibrated to %(grade)s.")
CALIBRATION_CLEARED = _("Calibration of %(person)s cleared: the proposed grade applies.")
NOT_CALIBRATED = _("Nothing was saved: the calibration was refused.")
NOT_VISIBLE = OpenApiResponse(description="Unknown, or the caller is not HR.")


def _cycle_for_calibrator(user, pk: int) -> ReviewCycle:
    if not user_can_close(user):
        raise Http404
    cycle = ReviewCycle.objects.filter(pk=pk).first()
    if cycle is None:
        raise Http404
    return cycle


def _grade_options(scale: list[dict], selected: str) -> str:
    return format_html_join(
        "", '<option value="{}"{}>{} · {}</option>',
        ((g.get("grade"), mark_safe(" selected") if str(g.get("grade")) == selected else "", g.get("grade"),
          g.get("label", "")) for g in scale),
    )


def _prepare_rows(distribution: calibration.Distribution, failed: dict | None) -> None:
    """Give each person's row its grade <option>s (the grade they hold, or the one just refused, selected).

    A row per appraisal, 165 and more in a cycle: the options are built once per
    selected grade here rather than by a template loop in every row, which was
    most of the page's time.
    """
    options: dict[str, str] = {}
    for a in distribution.overall.people:
        a.failed = failed is not None and failed["id"] == a.pk
        selected = failed["grade"] if a.failed else a.calibrated_grade
        if selected not in options:
            options[selected] = _grade_options(distribution.grades, selected)
        a.grade_options = options[selected]


@login_required
def cycle_calibration_page(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the distribution per unit vs the guideline and the people; POST: calibrate one appraisal."""
    cycle = _cycle_for_calibrator(request.user, pk)
    failed = None
    if request.method == "POST":
        appraisal_id = request.POST.get("appraisal", "")
        appraisal = None
        if appraisal_id.isdigit():
            appraisal = Appraisal.objects.filter(pk=int(appraisal_id), cycle_id=cycle.pk).first()
        if appraisal is None:
            raise Http404
        appraisal.cycle = cycle
        grade, reason = request.POST.get("grade", ""), request.POST.get("reason", "")
        try:
            calibration.appraisal_calibrate(user=request.user, appraisal=appraisal, grade=grade, reason=reason)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, NOT_CALIBRATED)
            for message in getattr(exc, "messages", [str(exc)]):
                messages.error(request, message)
            failed = {"id": appraisal.pk, "grade": grade, "reason": reason}
        else:
            person = appraisal.person.name
            if appraisal.calibrated_grade:
                messages.success(request, CALIBRATED % {"person": person, "grade": appraisal.calibrated_grade})
            else:
                messages.success(request, CALIBRATION_CLEARED % {"person": person})
            return redirect(reverse("cycle-calibration", args=[cycle.pk]) + f"#appraisal-{appraisal.pk}")
    distribution = calibration.calibration_distribution(cycle, Appraisal.objects.all())
    _prepare_rows(distribution, failed)
    ctx = {
        "cycle": cycle,
        "distribution": distribution,
        "can_calibrate": calibration.calibration_open(cycle),
        "failed": failed,
    }
    return render(request, "reviews/calibration.html", ctx, status=400 if failed else 200)


# ------------------------------------------------------------------------ API


class CalibrateInputSerializer(serializers.Serializer):
    grade = serializers.CharField(allow_blank=True, required=False, default="", max_length=8,
                                  help_text="A grade of the cycle's scale; empty clears the calibration.")
    reason = serializers.CharField(allow_blank=True, required=False, default="", help_text="Required.")

    class Meta:
        ref_name = "ReviewCalibrateInput"


class CalibratedAppraisalSerializer(serializers.Serializer):
    appraisal = serializers.IntegerField(source="pk")
    person = serializers.CharField(source="person.employee_code")
    person_name = serializers.CharField(source="person.name")
    unit = serializers.CharField(source="unit.code")
    overall_score = serializers.FloatField(allow_null=True)
    proposed_grade = serializers.CharField()
    calibrated_grade = serializers.CharField()
    grade = serializers.CharField(source="current_grade", help_text="The calibrated grade, else the proposed one.")
    calibration_reason = serializers.CharField()
    calibrated_by = serializers.CharField(source="calibrated_by.employee_code", allow_null=True, default=None)
    calibrated_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()

    class Meta:
        ref_name = "ReviewCalibratedAppraisal"


class GradeShareSerializer(serializers.Serializer):
    grade = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    percent = serializers.FloatField(help_text="Share of the unit's graded appraisals, in %.")
    guideline = serializers.FloatField(allow_null=True, help_text="The most the grade may hold, in %; null: no limit.")
    exceeded = serializers.BooleanField()

    class Meta:
        ref_name = "ReviewGradeShare"


class UnitDistributionSerializer(serializers.Serializer):
    unit = serializers.CharField(source="code")
    unit_name = serializers.CharField(source="name")
    appraisals = serializers.IntegerField()
    graded = serializers.IntegerField()
    ungraded = serializers.IntegerField()
    exceeded = serializers.BooleanField()
    grades = GradeShareSerializer(many=True)
    people = CalibratedAppraisalSerializer(many=True)

    class Meta:
        ref_name = "ReviewUnitDistribution"


class OverallDistributionSerializer(serializers.Serializer):
    appraisals = serializers.IntegerField()
    graded = serializers.IntegerField()
    ungraded = serializers.IntegerField()
    exceeded = serializers.BooleanField()
    grades = GradeShareSerializer(many=True)

    class Meta:
        ref_name = "ReviewOverallDistribution"


class DistributionSerializer(serializers.Serializer):
    units = UnitDistributionSerializer(many=True)
    overall = OverallDistributionSerializer()
    exceeded = serializers.BooleanField(help_text="Some grade exceeds the guideline somewhere.")

    class Meta:
        ref_name = "ReviewCalibrationDistribution"


class CycleCalibrationApi(APIView):
    """The grade distribution of the cycle per unit and overall against the guideline, with each person (HR only)."""

    @extend_schema(responses={200: DistributionSerializer, 404: NOT_VISIBLE})
    def get(self, request, pk: int):
        cycle = _cycle_for_calibrator(request.user, pk)
        distribution = calibration.calibration_distribution(cycle, Appraisal.objects.all())
        return Response(DistributionSerializer(distribution).data)


class AppraisalCalibrateApi(APIView):
    """Calibrate an appraisal's grade with a reason (HR only); an empty grade clears the calibration."""

    @extend_schema(
        request=CalibrateInputSerializer,
        responses={
            200: CalibratedAppraisalSerializer,
            400: OpenApiResponse(description="Closed appraisal or cycle, grade not in the scale, or no reason; nothing saved."),
            404: NOT_VISIBLE,
        },
    )
    def post(self, request, pk: int):
        if not user_can_close(request.user):
            raise Http404
        appraisal = Appraisal.objects.select_related("cycle", "person", "unit").filter(pk=pk).first()
        if appraisal is None:
            raise Http404
        serializer = CalibrateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            calibration.appraisal_calibrate(user=request.user, appraisal=appraisal, **serializer.validated_data)
        except ValidationError as exc:
            raise _drf_error(exc) from None
        except PermissionDenied:
            raise Http404 from None
        appraisal.current_grade = calibration.current_grade(appraisal)
        return Response(CalibratedAppraisalSerializer(appraisal).data)
