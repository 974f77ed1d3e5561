"""API of the appraisal: retrieve, self-assessment, manager appraisal, interview, acknowledgement, "my" list.

Appraisals the caller may not see answer 404; a part the caller may not
write answers 403; refused input 400 with the services' messages by field
(reviews.appraisals: "o<id>_self_rating", "c_<code>_score", …).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from scorecard.apis import _drf_error

from . import appraisals as svc
from .models import Appraisal

NOT_FOUND = OpenApiResponse(description="Unknown appraisal, or one the caller may not see.")
REFUSED = OpenApiResponse(description="Refused: messages by field; nothing saved.")
FORBIDDEN = OpenApiResponse(description="The caller may see the appraisal but not write this part.")
RATING_HELP = gettext_lazy("A score from 0 to 100, or a grade of the cycle's scale (its range's midpoint).")


class RatingField(serializers.CharField):
    """A 0–100 number or a grade letter; checked by the service against the cycle's scale."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, allow_blank=True, required=False, help_text=RATING_HELP, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return data
        return super().to_internal_value(data)


class AppraisalOutputSerializer(serializers.Serializer):
    class ObjectiveSerializer(serializers.Serializer):
        objective_id = serializers.IntegerField()
        title = serializers.CharField()
        kind = serializers.CharField(allow_null=True)
        kpi = serializers.CharField(allow_null=True)
        weight = serializers.FloatField()
        target = serializers.FloatField(allow_null=True)
        actual = serializers.FloatField(allow_null=True)
        system_score = serializers.FloatField(allow_null=True)
        self_rating = serializers.FloatField(allow_null=True, help_text="Null while the self-assessment is not shared.")
        self_comment = serializers.CharField()
        manager_rating = serializers.FloatField(allow_null=True, help_text="Null while the appraisal is not shared.")
        manager_comment = serializers.CharField()

        class Meta:
            ref_name = "AppraisalObjective"

    class CompetencySerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        score = serializers.IntegerField(allow_null=True)
        comment = serializers.CharField()

        class Meta:
            ref_name = "AppraisalCompetency"

    id = serializers.IntegerField()
    cycle = serializers.IntegerField()
    cycle_name = serializers.CharField()
    phase = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    person = serializers.CharField(help_text="The appraisee's employee code.")
    person_name = serializers.CharField()
    unit = serializers.CharField()
    manager = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    self_status = serializers.CharField()
    self_submitted_at = serializers.DateTimeField(allow_null=True)
    manager_status = serializers.CharField()
    manager_submitted_at = serializers.DateTimeField(allow_null=True)
    objectives = ObjectiveSerializer(many=True)
    competencies = CompetencySerializer(many=True)
    achievements = serializers.CharField()
    difficulties = serializers.CharField()
    help_wanted = serializers.CharField()
    manager_comments = serializers.CharField()
    objectives_score = serializers.FloatField(allow_null=True)
    competencies_score = serializers.FloatField(allow_null=True)
    feedback_score = serializers.FloatField(allow_null=True)
    overall_score = serializers.FloatField(allow_null=True)
    proposed_grade = serializers.CharField()
    gate_applied = serializers.BooleanField()
    grade = serializers.CharField()
    outcome = serializers.CharField()
    interview_at = serializers.DateTimeField(allow_null=True)
    interview_notes = serializers.CharField()
    improvement_actions = serializers.CharField()
    next_objectives = serializers.ListField(child=serializers.DictField())
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    disagreement = serializers.CharField()

    class Meta:
        ref_name = "Appraisal"


def _appraisal_data(user, a: Appraisal) -> dict:
    """The appraisal as the caller may see it: drafts of a part stay with their writers."""
    show_self, show_manager = svc.self_visible(user, a), svc.manager_visible(user, a)
    objectives = svc.snapshot_objectives(a)
    rows = []
    for r in svc.objective_ratings(a):
        o = objectives.get(r.objective_id, {})
        rows.append({
            "objective_id": r.objective_id, "title": r.title, "kind": o.get("kind"), "kpi": o.get("kpi"),
            "weight": r.weight, "target": o.get("target"), "actual": r.actual, "system_score": r.system_score,
            "self_rating": r.self_rating if show_self else None, "self_comment": r.self_comment if show_self else "",
            "manager_rating": r.manager_rating if show_manager else None,
            "manager_comment": r.manager_comment if show_manager else "",
        })
    competencies = [
        {"code": c.code, "name": c.label, "score": r.score if r else None, "comment": r.comment if r else ""}
        for c, r in (svc.competency_rows(a) if show_manager else [])
    ]
    m = show_manager
    return {
        "id": a.pk, "cycle": a.cycle_id, "cycle_name": a.cycle.name, "phase": a.cycle.phase,
        "period_start": a.cycle.period_start, "period_end": a.cycle.period_end,
        "person": a.person.employee_code, "person_name": a.person.name, "unit": a.unit.code,
        "manager": a.manager.employee_code if a.manager else None, "status": a.status,
        "self_status": a.self_status, "self_submitted_at": a.self_submitted_at,
        "manager_status": a.manager_status, "manager_submitted_at": a.manager_submitted_at,
        "objectives": rows, "competencies": competencies,
        "achievements": a.achievements if show_self else "", "difficulties": a.difficulties if show_self else "",
        "help_wanted": a.help_wanted if show_self else "", "manager_comments": a.manager_comments if m else "",
        "objectives_score": a.objectives_score if m else None, "competencies_score": a.competencies_score if m else None,
        "feedback_score": a.feedback_score if m else None, "overall_score": a.overall_score if m else None,
        "proposed_grade": a.proposed_grade if m else "", "gate_applied": a.gate_applied if m else False,
        "grade": a.grade if m else "", "outcome": a.outcome if m else "",
        "interview_at": a.interview_at, "interview_notes": a.interview_notes,
        "improvement_actions": a.improvement_actions, "next_objectives": a.next_objectives or [],
        "acknowledged_at": a.acknowledged_at, "disagreement": a.disagreement,
    }


def _respond(user, pk: int) -> Response:
    a = svc.appraisal_get(user, pk)
    return Response(AppraisalOutputSerializer(_appraisal_data(user, a)).data)


class AppraisalDetailApi(APIView):
    @extend_schema(responses={200: AppraisalOutputSerializer, 404: NOT_FOUND}, summary="One appraisal.")
    def get(self, request, pk: int):
        a = svc.appraisal_get(request.user, pk)
        svc.appraisal_prepare(appraisal=a)
        return _respond(request.user, pk)


class AppraisalSelfApi(APIView):
    """Save the self-assessment as a draft (PATCH); fields left out keep their value."""

    class InputSerializer(serializers.Serializer):
        class ObjectiveSerializer(serializers.Serializer):
            objective_id = serializers.IntegerField()
            actual = serializers.FloatField(required=False, allow_null=True)
            self_rating = RatingField()
            self_comment = serializers.CharField(required=False, allow_blank=True)

            class Meta:
                ref_name = "AppraisalSelfObjectiveInput"

        objectives = ObjectiveSerializer(many=True, required=False)
        achievements = serializers.CharField(required=False, allow_blank=True)
        difficulties = serializers.CharField(required=False, allow_blank=True)
        help_wanted = serializers.CharField(required=False, allow_blank=True)

        class Meta:
            ref_name = "AppraisalSelfInput"

    submit = False

    def _save(self, request, pk: int) -> Response:
        a = svc.appraisal_get(request.user, pk)
        svc.appraisal_prepare(appraisal=a)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        objectives = {o.pop("objective_id"): dict(o) for o in [dict(x) for x in data.pop("objectives", [])]}
        try:
            svc.appraisal_self_save(user=request.user, appraisal=a, objectives=objectives, submit=self.submit, **data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return _respond(request.user, pk)

    @extend_schema(request=InputSerializer, responses={200: AppraisalOutputSerializer, 400: REFUSED, 403: FORBIDDEN,
                                                       404: NOT_FOUND}, summary="Save the self-assessment as a draft.")
    def patch(self, request, pk: int):
        return self._save(request, pk)


class AppraisalSelfSubmitApi(AppraisalSelfApi):
    submit = True

    @extend_schema(request=AppraisalSelfApi.InputSerializer,
                   responses={200: AppraisalOutputSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
                   summary="Submit the self-assessment (optionally with last changes).")
    def post(self, request, pk: int):
        return self._save(request, pk)

    http_method_names = ["post", "options"]


class AppraisalManagerApi(APIView):
    """Save the manager appraisal as a draft (PATCH); the scores, grade and outcome are recomputed."""

    class InputSerializer(serializers.Serializer):
        class ObjectiveSerializer(serializers.Serializer):
            objective_id = serializers.IntegerField()
            manager_rating = RatingField()
            manager_comment = serializers.CharField(required=False, allow_blank=True)

            class Meta:
                ref_name = "AppraisalManagerObjectiveInput"

        class CompetencySerializer(serializers.Serializer):
            code = serializers.CharField()
            score = serializers.IntegerField(required=False, allow_null=True, help_text="1–5; null removes the rating.")
            comment = serializers.CharField(required=False, allow_blank=True)

            class Meta:
                ref_name = "AppraisalManagerCompetencyInput"

        objectives = ObjectiveSerializer(many=True, required=False)
        competencies = CompetencySerializer(many=True, required=False)
        manager_comments = serializers.CharField(required=False, allow_blank=True)

        class Meta:
            ref_name = "AppraisalManagerInput"

    submit = False

    def _save(self, request, pk: int) -> Response:
        a = svc.appraisal_get(request.user, pk)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        objectives = {o.pop("objective_id"): o for o in [dict(x) for x in data.pop("objectives", [])]}
        competencies = {c.pop("code"): c for c in [dict(x) for x in data.pop("competencies", [])]}
        try:
            svc.appraisal_manager_save(user=request.user, appraisal=a, objectives=objectives,
                                       competencies=competencies, submit=self.submit, **data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return _respond(request.user, pk)

    @extend_schema(request=InputSerializer, responses={200: AppraisalOutputSerializer, 400: REFUSED, 403: FORBIDDEN,
                                                       404: NOT_FOUND}, summary="Save the manager appraisal as a draft.")
    def patch(self, request, pk: int):
        return self._save(request, pk)


class AppraisalManagerSubmitApi(AppraisalManagerApi):
    submit = True
    http_method_names = ["post", "options"]

    @extend_schema(request=AppraisalManagerApi.InputSerializer,
                   responses={200: AppraisalOutputSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
                   summary="Submit the manager appraisal (optionally with last changes).")
    def post(self, request, pk: int):
        return self._save(request, pk)


class AppraisalInterviewApi(APIView):
    class InputSerializer(serializers.Serializer):
        class DraftSerializer(serializers.Serializer):
            title = serializers.CharField(allow_blank=True)
            kpi = serializers.CharField(required=False, allow_blank=True, allow_null=True, help_text="A KPI code.")
            baseline = serializers.FloatField(required=False, allow_null=True)
            target = serializers.FloatField(required=False, allow_null=True)
            stretch = serializers.FloatField(required=False, allow_null=True)
            completion_criterion = serializers.CharField(required=False, allow_blank=True)
            verification = serializers.CharField(required=False, allow_blank=True)

            class Meta:
                ref_name = "AppraisalNextObjectiveInput"

        interview_at = serializers.DateTimeField(allow_null=True)
        interview_notes = serializers.CharField(required=False, allow_blank=True)
        improvement_actions = serializers.CharField(required=False, allow_blank=True)
        next_objectives = DraftSerializer(many=True, required=False)

        class Meta:
            ref_name = "AppraisalInterviewInput"

    @extend_schema(request=InputSerializer, responses={200: AppraisalOutputSerializer, 400: REFUSED, 403: FORBIDDEN,
                                                       404: NOT_FOUND},
                   summary="Record the appraisal interview and the draft objectives for the next period.")
    def post(self, request, pk: int):
        a = svc.appraisal_get(request.user, pk)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["next_objectives"] = [dict(d) for d in data.get("next_objectives", [])]
        try:
            svc.appraisal_interview_save(user=request.user, appraisal=a, **data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return _respond(request.user, pk)


class AppraisalNextObjectivesApi(APIView):
    @extend_schema(request=None, responses={200: AppraisalOutputSerializer, 400: REFUSED, 403: FORBIDDEN,
                                            404: NOT_FOUND},
                   summary="Turn the interview's draft objectives into next quarter's draft objectives (all or none).")
    def post(self, request, pk: int):
        a = svc.appraisal_get(request.user, pk)
        try:
            svc.appraisal_next_objectives_create(user=request.user, appraisal=a)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return _respond(request.user, pk)


class AppraisalAcknowledgeApi(APIView):
    class InputSerializer(serializers.Serializer):
        disagreement = serializers.CharField(required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "AppraisalAcknowledgeInput"

    @extend_schema(request=InputSerializer, responses={200: AppraisalOutputSerializer, 400: REFUSED, 403: FORBIDDEN,
                                                       404: NOT_FOUND},
                   summary="Acknowledge the appraisal as the appraisee, with an optional written disagreement.")
    def post(self, request, pk: int):
        a = svc.appraisal_get(request.user, pk)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            svc.appraisal_acknowledge(user=request.user, appraisal=a, disagreement=body.validated_data["disagreement"])
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return _respond(request.user, pk)


class MyAppraisalListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        relation = serializers.ChoiceField(choices=["own", "appraise"],
                                           help_text="own: the caller's appraisal; appraise: one they must write.")
        cycle = serializers.IntegerField()
        cycle_name = serializers.CharField()
        phase = serializers.CharField()
        person = serializers.CharField()
        person_name = serializers.CharField()
        self_status = serializers.CharField()
        manager_status = serializers.CharField()
        status = serializers.CharField()

        class Meta:
            ref_name = "MyAppraisal"

    @extend_schema(responses={200: OutputSerializer(many=True)},
                   summary="The caller's own appraisals and those they must write as the manager.")
    def get(self, request):
        own, to_appraise = svc.appraisals_mine(request.user)
        rows = [
            {"id": a.pk, "relation": relation, "cycle": a.cycle_id, "cycle_name": a.cycle.name,
             "phase": a.cycle.phase, "person": a.person.employee_code, "person_name": a.person.name,
             "self_status": a.self_status, "manager_status": a.manager_status, "status": a.status}
            for relation, items in (("own", own), ("appraise", to_appraise)) for a in items
        ]
        return Response(self.OutputSerializer(rows, many=True).data)
