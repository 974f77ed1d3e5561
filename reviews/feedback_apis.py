"""API v1 of 360 feedback: the rater's requests and answers, customer links, arranging raters, results, questionnaires.

Every rule is reviews.feedback's (and reviews.questionnaires'); these views
parse, call it, and serialize. Access:
- a request not addressed to the caller answers 404 on the rater's endpoints;
- an appraisal (or cycle) the caller may not see answers 404; an action the
  caller may not take on an appraisal they see (the appraisee approving their
  own raters) answers 403;
- a customer's link needs no sign-in and refuses one: a signed-in session or
  credentials sent with the request answer 403 before the link is even
  looked up. Unknown, used or expired answer the same 404, so the link tells
  nobody whether its customer answered; throttled per client
  ("feedback_token" in DEFAULT_THROTTLE_RATES). No response carries a
  customer's link: it goes to the customer by e-mail only.
Anonymity: rows about raters come only from feedback.appraisal_requests
(anonymous raters' statuses masked as "asked") and results only from
feedback.feedback_results; no response carries when, or in which order, an
anonymous rater was asked or answered (a row's id is given only while it
awaits approval, to decide it).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from scorecard.apis import _drf_error

from . import feedback, questionnaires, selectors, services
from .appraisals import appraisal_get
from .models import FeedbackRequest, FeedbackTemplate

ANONYMOUS_NOTICE = _(
    "Your answers are anonymous: they are shown only as a mean with those of others in the same relationship, "
    "when at least %(n)s have answered, with the comments in no particular order and never with your name."
)
NAMED_NOTICE = _("Your answers are shown with your name to the appraisee and their managers.")
RESULTS_LATER = _("The 360 results are shown once the 360 phase is over (its deadline is %(due)s).")
THANK_YOU = _("Thank you: your answers were received.")

NOT_FOUND = OpenApiResponse(description="Unknown, or not visible to the caller.")
NOT_YOURS = OpenApiResponse(description="Unknown, or not addressed to the caller.")
REFUSED = OpenApiResponse(description="Refused: messages by field (answers: \"<code>_score\", \"<code>_comment\"); "
                                      "nothing saved.")
FORBIDDEN = OpenApiResponse(description="The caller sees the appraisal but may not do this.")
INVALID_LINK = OpenApiResponse(
    description="The link cannot be used: unknown, already used or expired, all answered alike: {\"detail\": message}."
)
SIGNED_IN_REFUSED = OpenApiResponse(
    description="Sent from a signed-in session or with credentials: a customer's link is never used from a staff "
                "account (sign out, or open it in a private window)."
)
RELATIONSHIPS = ", ".join(FeedbackRequest.Relationship.values)


# ---------------------------------------------------------------- serializers


class QuestionSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The competency's code.")
    name = serializers.CharField(help_text="In the request's language.")
    description = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "FeedbackQuestion"


def _questions(questionnaire: list[dict]) -> list[dict]:
    return [
        {"code": q["code"], "name": feedback.question_label(q), "description": feedback.question_description(q)}
        for q in questionnaire or []
    ]


class RequestCycleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    feedback_due = serializers.DateTimeField(help_text="The 360 deadline.")

    class Meta:
        ref_name = "FeedbackRequestCycle"


class AppraiseeSerializer(serializers.Serializer):
    name = serializers.CharField(source="person.name")
    employee_code = serializers.CharField(source="person.employee_code")
    unit = serializers.CharField(source="unit.code", help_text="The unit the appraisee is appraised in.")

    class Meta:
        ref_name = "FeedbackAppraisee"


class MyRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cycle = RequestCycleSerializer()
    appraisee = AppraiseeSerializer(source="appraisal")
    relationship = serializers.CharField(help_text=f"The rater's relationship to the appraisee: {RELATIONSHIPS}.")
    relationship_label = serializers.CharField(source="get_relationship_display")
    status = serializers.CharField(help_text="open (to answer), submitted, or not_submitted (the cycle closed first).")
    anonymous = serializers.BooleanField(help_text="Answers of this relationship are shown only as a group mean.")
    has_draft = serializers.SerializerMethodField(help_text="Answers were saved but not submitted yet.")

    class Meta:
        ref_name = "FeedbackRequestToGive"

    def get_has_draft(self, row: FeedbackRequest) -> bool:
        return row.status != FeedbackRequest.Status.SUBMITTED and bool(row.draft)


class AnswerSerializer(serializers.Serializer):
    score = serializers.IntegerField(required=False, allow_null=True, help_text="1–5.")
    comment = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        ref_name = "FeedbackAnswer"


class DraftSerializer(serializers.Serializer):
    answers = serializers.DictField(child=AnswerSerializer(), help_text="Competency code → the answer.")
    comment = serializers.CharField(allow_blank=True, help_text="The overall comment.")

    class Meta:
        ref_name = "FeedbackDraft"


class RequestDetailSerializer(MyRequestSerializer):
    questionnaire = serializers.SerializerMethodField()
    draft = serializers.SerializerMethodField(help_text="The caller's saved answers; null once submitted.")
    can_answer = serializers.SerializerMethodField(help_text="Answers may be saved and submitted now.")
    message = serializers.SerializerMethodField(help_text="Why answers cannot be saved now (null: they can).")
    notice = serializers.SerializerMethodField(help_text="Who will see the answers, and how.")

    class Meta:
        ref_name = "FeedbackRequestDetail"

    @extend_schema_field(QuestionSerializer(many=True))
    def get_questionnaire(self, row: FeedbackRequest) -> list[dict]:
        return _questions(row.cycle.questionnaire)

    @extend_schema_field(DraftSerializer(allow_null=True))
    def get_draft(self, row: FeedbackRequest) -> dict | None:
        if row.status == FeedbackRequest.Status.SUBMITTED:
            return None
        draft = row.draft or {}
        return {"answers": draft.get("answers") or {}, "comment": draft.get("comment") or ""}

    def _error(self, row: FeedbackRequest) -> str | None:
        if row.status == FeedbackRequest.Status.SUBMITTED:
            return str(feedback.ALREADY_ANSWERED)
        if row.status != FeedbackRequest.Status.OPEN:
            return str(feedback.NOT_OPEN)
        return feedback.window_error(row.cycle, row.appraisal)

    def get_can_answer(self, row: FeedbackRequest) -> bool:
        return self._error(row) is None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_message(self, row: FeedbackRequest) -> str | None:
        return self._error(row)

    def get_notice(self, row: FeedbackRequest) -> str:
        return _notice(row)


def _notice(row: FeedbackRequest) -> str:
    if row.anonymous:
        return str(ANONYMOUS_NOTICE % {"n": row.cycle.anonymity_threshold})
    return str(NAMED_NOTICE)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 5, "nullable": True})
class ScoreField(serializers.Field):
    """A rating as sent: checked by reviews.feedback against 1–5, so its message comes back by competency."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class AnswerInputSerializer(serializers.Serializer):
    score = ScoreField(required=False, allow_null=True, help_text="1–5; null clears it (drafts only).")
    comment = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False,
                                    help_text=f"At most {feedback.MAX_COMMENT} characters.")

    class Meta:
        ref_name = "FeedbackAnswerInput"


class AnswersInputSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=AnswerInputSerializer(), required=False,
        help_text="Competency code → the answer; codes left out keep what the draft has.",
    )
    comment = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False,
                                    help_text="The overall comment; left out, the draft's stays.")

    class Meta:
        ref_name = "FeedbackAnswersInput"


def _answers(request) -> tuple[dict, str | None]:
    body = AnswersInputSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    answers = {code: dict(values) for code, values in (body.validated_data.get("answers") or {}).items()}
    return answers, body.validated_data.get("comment")


class RaterRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        source="pk", allow_null=True,
        help_text="Only while the request awaits approval (to decide it); null afterwards.",
    )
    relationship = serializers.CharField(help_text=f"One of {RELATIONSHIPS}.")
    relationship_label = serializers.CharField()
    rater_name = serializers.CharField()
    rater_code = serializers.CharField(allow_blank=True, help_text="The rater's employee code; blank for a customer.")
    email = serializers.CharField(
        allow_blank=True,
        help_text="A customer's email address, where their link is sent; given to the people who arrange the raters "
                  "only, blank otherwise.",
    )
    origin = serializers.CharField(help_text="suggested, nominated (by the appraisee) or added (by an arranger).")
    origin_label = serializers.CharField()
    status = serializers.CharField(
        help_text="proposed, rejected, or for anonymous raters once approved only \"asked\" (whether they "
                  "answered is not shown); for raters shown by name: open, submitted, not_submitted.",
    )
    status_label = serializers.CharField()
    anonymous = serializers.BooleanField()

    class Meta:
        ref_name = "FeedbackRaterRow"


# A row just added or decided is shown as in the list: masked, and never with a customer's link.
ArrangedSerializer = RaterRowSerializer


def _row_data(row: feedback.RequestRow, *, arranger: bool = False) -> dict:
    return {
        "pk": row.pk if row.status == FeedbackRequest.Status.PROPOSED else None,
        "relationship": row.relationship, "relationship_label": row.relationship_label,
        "rater_name": row.rater_name, "rater_code": row.rater_code,
        "email": row.email if arranger else "",
        "origin": row.origin, "origin_label": row.origin_label,
        "status": row.status, "status_label": row.status_label, "anonymous": row.anonymous,
    }


def _arranged_data(user, appraisal, arranged: list[feedback.Arranged]) -> list[dict]:
    """The rows just added or decided, masked as in the list and in its order (never in time order)."""
    done = {a.request.pk for a in arranged}
    arranger = feedback.can_arrange(user, appraisal)
    return [_row_data(r, arranger=arranger) for r in feedback.appraisal_requests(appraisal) if r.pk in done]


class ResultCommentSerializer(serializers.Serializer):
    competency = serializers.CharField(allow_blank=True, help_text="The competency's name; blank: the overall comment.")
    text = serializers.CharField()

    class Meta:
        ref_name = "FeedbackResultComment"


class NamedAnswerSerializer(serializers.Serializer):
    rater_name = serializers.CharField()
    means = serializers.DictField(child=serializers.FloatField(), help_text="Competency code → rating (1–5).")
    comments = serializers.DictField(child=serializers.CharField(), help_text="Competency code → comment.")
    comment = serializers.CharField(allow_blank=True)
    mean = serializers.FloatField(allow_null=True)

    class Meta:
        ref_name = "FeedbackNamedAnswer"


class ResultGroupSerializer(serializers.Serializer):
    relationship = serializers.CharField()
    label = serializers.CharField()
    anonymous = serializers.BooleanField()
    shown = serializers.BooleanField(help_text="False: fewer answers than the threshold; nothing of it is shown.")
    count = serializers.IntegerField(allow_null=True, help_text="Answers; null when the group is not shown.")
    means = serializers.DictField(child=serializers.FloatField(), help_text="Competency code → mean rating (1–5).")
    mean = serializers.FloatField(allow_null=True)
    comments = ResultCommentSerializer(many=True, help_text="Anonymous groups: sorted by competency and text.")
    named = NamedAnswerSerializer(many=True, help_text="Groups shown by name: each rater's answers.")

    class Meta:
        ref_name = "FeedbackResultGroup"


class ResultsSerializer(serializers.Serializer):
    available = serializers.BooleanField(help_text="The 360 phase is over: the results are final and shown.")
    feedback_due = serializers.DateTimeField(help_text="The 360 deadline: the results are shown once it has passed.")
    message = serializers.CharField(allow_null=True, help_text="When the results will be shown; null once they are.")
    threshold = serializers.IntegerField(help_text="The fewest answers an anonymous group needs to be shown.")
    score = serializers.FloatField(allow_null=True, help_text="The 360 score out of 100 (self excluded).")
    questions = QuestionSerializer(many=True)
    groups = ResultGroupSerializer(many=True)

    class Meta:
        ref_name = "FeedbackResults"


def _results_data(appraisal) -> dict:
    r = feedback.feedback_results(appraisal)
    due = appraisal.cycle.feedback_due
    return {
        "available": r.available, "feedback_due": due,
        "message": None if r.available else str(
            RESULTS_LATER % {"due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")}
        ),
        "threshold": r.threshold, "score": r.score, "questions": _questions(r.questions),
        "groups": [
            {
                "relationship": g.relationship, "label": g.label, "anonymous": g.anonymous, "shown": g.shown,
                "count": g.count, "means": g.means, "mean": g.mean,
                "comments": [{"competency": c, "text": t} for c, t in g.comments],
                "named": [vars(n) for n in g.named],
            }
            for g in r.groups
        ],
    }


# ------------------------------------------------------------------- raters


@extend_schema(summary="The 360 requests addressed to the caller, newest cycle first.")
class MyFeedbackRequestListApi(ListAPIView):
    """The requests the caller is asked to answer (or answered), with whether a draft is saved (2 queries a page)."""

    serializer_class = MyRequestSerializer

    def get_queryset(self):
        return feedback.requests_to_give(self.request.user)


class FeedbackRequestApi(APIView):
    """One request addressed to the caller: the questionnaire and their draft; save the draft (PATCH)."""

    submit = False

    @extend_schema(responses={200: RequestDetailSerializer, 404: NOT_YOURS},
                   summary="A request addressed to the caller, with its questionnaire and the caller's draft.")
    def get(self, request, pk: int):
        row = feedback.request_get_for_rater(request.user, pk)
        return Response(RequestDetailSerializer(row).data)

    def _save(self, request, pk: int) -> Response:
        row = feedback.request_get_for_rater(request.user, pk)
        answers, comment = _answers(request)
        try:
            feedback.feedback_save(user=request.user, request=row, answers=answers, comment=comment,
                                   submit=self.submit)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(RequestDetailSerializer(feedback.request_get_for_rater(request.user, pk)).data)

    @extend_schema(request=AnswersInputSerializer,
                   responses={200: RequestDetailSerializer, 400: REFUSED, 404: NOT_YOURS},
                   summary="Save answers as a draft (scores may be missing).")
    def patch(self, request, pk: int):
        return self._save(request, pk)


class FeedbackSubmitApi(FeedbackRequestApi):
    """Submit the answers (the draft with these last changes): every competency rated; then final."""

    submit = True
    http_method_names = ["post", "options"]

    @extend_schema(request=AnswersInputSerializer,
                   responses={200: RequestDetailSerializer, 400: REFUSED, 404: NOT_YOURS},
                   summary="Submit the answers; they can no longer change.")
    def post(self, request, pk: int):
        return self._save(request, pk)


class FeedbackDecideApi(APIView):
    """Approve or reject a suggested or nominated rater (the appraisal's arrangers)."""

    class InputSerializer(serializers.Serializer):
        approve = serializers.BooleanField(help_text="true: ask the rater now; false: not approved.")

        class Meta:
            ref_name = "FeedbackDecideInput"

    @extend_schema(request=InputSerializer,
                   responses={200: ArrangedSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
                   summary="Approve or reject a request awaiting approval.")
    def post(self, request, pk: int):
        row = feedback.request_get_for_arranger(request.user, pk)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            arranged = feedback.feedback_request_decide(user=request.user, request=row,
                                                        approve=body.validated_data["approve"], http_request=request)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(ArrangedSerializer(_arranged_data(request.user, row.appraisal, [arranged])[0]).data)


# ------------------------------------------------------------------ customers


class LinkSerializer(serializers.Serializer):
    appraisee_name = serializers.CharField()
    cycle_name = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    notice = serializers.CharField(help_text="Who will see the answers, and how.")
    questionnaire = QuestionSerializer(many=True)

    class Meta:
        ref_name = "FeedbackLink"


class LinkSubmittedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="submitted")
    message = serializers.CharField()

    class Meta:
        ref_name = "FeedbackLinkSubmitted"


def _invalid(exc: DjangoValidationError) -> Response | None:
    """404 for a link that cannot be used (unknown, used or expired alike); None for other refusals (bad answers)."""
    messages = exc.message_dict.get("__all__", []) if hasattr(exc, "error_dict") else exc.messages
    if str(feedback.LINK_INVALID) in messages:
        return Response({"detail": str(feedback.LINK_INVALID)}, status=status.HTTP_404_NOT_FOUND)
    return None


def signed_in(request) -> bool:
    """Whether the request comes from a staff account: a signed-in session, or credentials sent with it.

    The token views authenticate nobody (a customer has no account), so the
    session is read from Django's own request.
    """
    django_request = getattr(request, "_request", request)
    user = getattr(django_request, "user", None)
    return (
        bool(user is not None and user.is_authenticated)
        or "HTTP_AUTHORIZATION" in django_request.META
        or getattr(django_request, "_force_auth_user", None) is not None  # APIClient.force_authenticate
    )


class FeedbackTokenApi(APIView):
    """A customer's questionnaire behind their single-use link: no sign-in, and never from a staff account;
    throttled per client."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "feedback_token"

    def initial(self, request, *args, **kwargs):
        # Before DRF authenticates (with no authenticator it would set Django's user to anonymous) and before the
        # link is looked up: a staff account learns nothing of it, not even whether it is valid.
        if signed_in(request):
            raise PermissionDenied(str(feedback.SIGNED_IN))
        super().initial(request, *args, **kwargs)

    @extend_schema(responses={200: LinkSerializer, 403: SIGNED_IN_REFUSED, 404: INVALID_LINK},
                   summary="The questionnaire of a customer's link.")
    def get(self, request, token: str):
        try:
            row = feedback.token_request(token)
        except DjangoValidationError as exc:
            return _invalid(exc) or Response({"detail": str(feedback.LINK_INVALID)}, status=status.HTTP_404_NOT_FOUND)
        return Response(LinkSerializer({
            "appraisee_name": row.appraisal.person.name, "cycle_name": row.cycle.name,
            "expires_at": row.token_expires_at, "notice": _notice(row),
            "questionnaire": _questions(row.cycle.questionnaire),
        }).data)

    @extend_schema(request=AnswersInputSerializer,
                   responses={200: LinkSubmittedSerializer, 400: REFUSED, 403: SIGNED_IN_REFUSED, 404: INVALID_LINK},
                   summary="Submit a customer's answers: once; every competency rated.")
    def post(self, request, token: str):
        answers, comment = _answers(request)
        try:
            feedback.feedback_token_submit(token=token, answers=answers, comment=comment)
        except DjangoValidationError as exc:
            invalid = _invalid(exc)
            if invalid is not None:
                return invalid
            raise _drf_error(exc) from None
        return Response(LinkSubmittedSerializer({"status": "submitted", "message": str(THANK_YOU)}).data)


# ----------------------------------------------------------------- appraisals


class AppraisalFeedbackRequestsApi(APIView):
    """Who is asked about the appraisee (GET, masked); nominate (the appraisee) or add (arrangers) a rater (POST)."""

    class InputSerializer(serializers.Serializer):
        relationship = serializers.ChoiceField(
            choices=FeedbackRequest.Relationship.choices,
            help_text="The appraisee nominates peer or customer; arrangers add peer, subordinate, matrix or customer.",
        )
        rater = serializers.CharField(required=False, allow_blank=True, default="",
                                      help_text="The rater's employee code (not for a customer).")
        external_name = serializers.CharField(required=False, allow_blank=True, default="",
                                              help_text="A customer's name.")
        external_email = serializers.CharField(required=False, allow_blank=True, default="",
                                               help_text="A customer's email: their link is sent there.")

        class Meta:
            ref_name = "FeedbackRequestInput"

    @extend_schema(responses={200: RaterRowSerializer(many=True), 404: NOT_FOUND},
                   summary="The raters asked about the appraisee, by relationship then name.")
    def get(self, request, pk: int):
        appraisal = appraisal_get(request.user, pk)
        arranger = feedback.can_arrange(request.user, appraisal)
        rows = [_row_data(r, arranger=arranger) for r in feedback.appraisal_requests(appraisal)]
        return Response(RaterRowSerializer(rows, many=True).data)

    @extend_schema(request=InputSerializer,
                   responses={201: ArrangedSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
                   summary="Nominate (the appraisee: awaits approval) or add (arrangers: asked at once) a rater.")
    def post(self, request, pk: int):
        appraisal = appraisal_get(request.user, pk)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            arranged = feedback.feedback_request_add(
                user=request.user, appraisal=appraisal, relationship=data["relationship"], rater_code=data["rater"],
                external_name=data["external_name"], external_email=data["external_email"], http_request=request,
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(ArrangedSerializer(_arranged_data(request.user, appraisal, [arranged])[0]).data,
                        status=status.HTTP_201_CREATED)


class AppraisalFeedbackApproveAllApi(APIView):
    """Approve every request of the appraisal awaiting approval: all, or none when one is refused."""

    @extend_schema(request=None,
                   responses={200: ArrangedSerializer(many=True), 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
                   summary="Approve all the raters awaiting approval.")
    def post(self, request, pk: int):
        appraisal = appraisal_get(request.user, pk)
        try:
            done = feedback.feedback_requests_approve_all(user=request.user, appraisal=appraisal, http_request=request)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(ArrangedSerializer(_arranged_data(request.user, appraisal, done), many=True).data)


class AppraisalFeedbackLinkResendApi(APIView):
    """Send a customer a new link (theirs was lost): by e-mail to their address only; the old link stops working."""

    class InputSerializer(serializers.Serializer):
        external_email = serializers.CharField(help_text="The customer's email address, as listed to arrangers.")

        class Meta:
            ref_name = "FeedbackLinkResendInput"

    class OutputSerializer(serializers.Serializer):
        detail = serializers.CharField()

        class Meta:
            ref_name = "FeedbackLinkResent"

    @extend_schema(request=InputSerializer,
                   responses={200: OutputSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
                   summary="Send a customer their link again (a new one, by e-mail only).")
    def post(self, request, pk: int):
        appraisal = appraisal_get(request.user, pk)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            row = feedback.feedback_link_resend(user=request.user, appraisal=appraisal,
                                                email=body.validated_data["external_email"], http_request=request)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        sent = feedback.LINK_SENT_AGAIN % {"name": row.external_name, "email": row.external_email}
        return Response(self.OutputSerializer({"detail": str(sent)}).data)


class AppraisalFeedbackResultsApi(APIView):
    """The appraisee's 360 results: shown once the 360 phase is over, anonymous groups only from the threshold."""

    @extend_schema(responses={200: ResultsSerializer, 404: NOT_FOUND}, summary="The appraisee's 360 results.")
    def get(self, request, pk: int):
        appraisal = appraisal_get(request.user, pk)
        return Response(ResultsSerializer(_results_data(appraisal)).data)


# --------------------------------------------------------------------- cycles


class UnitFeedbackSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    proposed = serializers.IntegerField(help_text="Requests awaiting approval.")
    asked = serializers.IntegerField(help_text="Requests approved (open, answered or not answered).")
    answered = serializers.IntegerField(
        allow_null=True, help_text="Null when the unit has fewer appraisees than the anonymity threshold."
    )
    percent = serializers.IntegerField(allow_null=True, help_text="Answered of asked, in %; null when not shown.")

    class Meta:
        ref_name = "FeedbackUnitCompletion"


class FeedbackCompletionSerializer(serializers.Serializer):
    units = UnitFeedbackSerializer(many=True)
    total = UnitFeedbackSerializer()

    class Meta:
        ref_name = "FeedbackCompletion"


class CycleFeedbackCompletionApi(APIView):
    """360 progress per unit of the appraisals the caller may see, never per person."""

    @extend_schema(responses={200: FeedbackCompletionSerializer, 404: NOT_FOUND},
                   summary="360 requests awaiting approval, asked and answered, per unit.")
    def get(self, request, pk: int):
        cycle = selectors.cycle_get(request.user, pk)
        units = feedback.cycle_feedback_completion(cycle, selectors.appraisals_visible(request.user),
                                                   viewer=request.user)
        total = feedback.completion_total(units)
        total.name = str(_("Units shown"))
        return Response(FeedbackCompletionSerializer({"units": units, "total": total}).data)


# ------------------------------------------------------------- questionnaires


class QuestionnaireOutputSerializer(serializers.ModelSerializer):
    competencies = serializers.SerializerMethodField(help_text="The competencies' codes, in their order.")

    class Meta:
        model = FeedbackTemplate
        ref_name = "FeedbackQuestionnaire"
        fields = ["id", "name", "name_zh", "description", "competencies", "is_default", "active"]

    def get_competencies(self, template: FeedbackTemplate) -> list[str]:
        return [item.competency.code for item in template.items.all()]


class QuestionnaireInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True)
    name_zh = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    competencies = serializers.ListField(child=serializers.CharField(), allow_empty=True,
                                         help_text="Competency codes, in the order they are asked.")
    is_default = serializers.BooleanField(required=False, default=False,
                                          help_text="The questionnaire of cycles that choose none.")
    active = serializers.BooleanField(required=False, default=True)

    class Meta:
        ref_name = "FeedbackQuestionnaireInput"


def _questionnaire_save(request, template: FeedbackTemplate | None, data: dict) -> FeedbackTemplate:
    try:
        saved = questionnaires.questionnaire_save(
            user=request.user, template=template, name=data["name"], name_zh=data["name_zh"],
            description=data["description"], competency_codes=data["competencies"],
            is_default=data["is_default"], active=data["active"],
        )
    except DjangoValidationError as exc:
        raise _drf_error(exc) from None
    return questionnaires.questionnaire_get(request.user, saved.pk)


@extend_schema(summary="The 360 questionnaires, default first (anyone signed in).")
class QuestionnaireListCreateApi(ListAPIView):
    """The 360 questionnaires, default first (GET); create one (POST: HR and directors, else 403)."""

    serializer_class = QuestionnaireOutputSerializer

    def get_queryset(self):
        return questionnaires.questionnaires_visible(self.request.user)

    @extend_schema(request=QuestionnaireInputSerializer,
                   responses={201: QuestionnaireOutputSerializer, 400: REFUSED,
                              403: OpenApiResponse(description="Not HR or a director.")},
                   summary="Create a 360 questionnaire (HR and directors).")
    def post(self, request):
        body = QuestionnaireInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        template = _questionnaire_save(request, None, body.validated_data)
        return Response(QuestionnaireOutputSerializer(template).data, status=status.HTTP_201_CREATED)


class QuestionnaireDetailApi(APIView):
    """One questionnaire (GET); change it (PUT, PATCH: HR and directors, else 404). Launched cycles keep theirs."""

    @extend_schema(responses={200: QuestionnaireOutputSerializer, 404: NOT_FOUND}, summary="One 360 questionnaire.")
    def get(self, request, pk: int):
        return Response(QuestionnaireOutputSerializer(questionnaires.questionnaire_get(request.user, pk)).data)

    def _change(self, request, pk: int, partial: bool) -> Response:
        if not services.can_manage_cycles(request.user):
            raise Http404
        template = questionnaires.questionnaire_get(request.user, pk)
        body = QuestionnaireInputSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        current = {
            "name": template.name, "name_zh": template.name_zh, "description": template.description,
            "competencies": [item.competency.code for item in template.items.all()],
            "is_default": template.is_default, "active": template.active,
        }
        sent = {k: v for k, v in body.validated_data.items() if not partial or k in request.data}
        template = _questionnaire_save(request, template, {**current, **sent})
        return Response(QuestionnaireOutputSerializer(template).data)

    @extend_schema(request=QuestionnaireInputSerializer,
                   responses={200: QuestionnaireOutputSerializer, 400: REFUSED, 404: NOT_FOUND},
                   summary="Replace a 360 questionnaire.")
    def put(self, request, pk: int):
        return self._change(request, pk, partial=False)

    @extend_schema(request=QuestionnaireInputSerializer(partial=True),
                   responses={200: QuestionnaireOutputSerializer, 400: REFUSED, 404: NOT_FOUND},
                   summary="Change some fields of a 360 questionnaire.")
    def patch(self, request, pk: int):
        return self._change(request, pk, partial=True)
