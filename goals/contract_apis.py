"""API v1 of performance contracts: list, read, write a draft, sign, amend, and the chain of versions.

Contracts the caller may not see answer 404 (ids cannot be probed); actions
the caller's role may not take on a contract they can see answer 403; bad
input answers 400 with the messages by field, and saves nothing.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from scorecard.api_base import MAX_ID
from scorecard.selectors import people_visible

from . import contracts
from .models import Contract, ContractObjective, ContractSignature, Objective

NOT_FOUND = OpenApiResponse(description="No such contract among those the caller may see.")
REFUSED = OpenApiResponse(description="Bad input or a refused change: messages by field; nothing was saved.")
FORBIDDEN = OpenApiResponse(description="The caller's role may not take this action on this contract.")


def _drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A service's ValidationError as DRF's, by field; messages about the whole contract under non_field_errors."""
    if not hasattr(exc, "error_dict"):
        return serializers.ValidationError({"non_field_errors": exc.messages})
    return serializers.ValidationError(
        {("non_field_errors" if key == NON_FIELD_ERRORS else key): msgs for key, msgs in exc.message_dict.items()}
    )


# ----------------------------------------------------------------- output


class ContractRewardRowSerializer(serializers.Serializer):
    grade = serializers.CharField(max_length=100)
    outcome = serializers.CharField(max_length=500)

    class Meta:
        ref_name = "ContractRewardRow"


class ContractLineOutputSerializer(serializers.Serializer):
    objective = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=Objective.Kind.choices)
    kpi = serializers.CharField(allow_null=True, help_text="The KPI's code (KPI objectives).")
    baseline = serializers.FloatField(allow_null=True)
    target = serializers.FloatField(allow_null=True)
    stretch = serializers.FloatField(allow_null=True)
    completion_criterion = serializers.CharField(allow_blank=True)
    due_date = serializers.DateField()
    weight = serializers.FloatField()

    class Meta:
        ref_name = "ContractLine"


class ContractSignatureOutputSerializer(serializers.ModelSerializer):
    signer = serializers.SlugRelatedField(slug_field="employee_code", read_only=True)
    signer_name = serializers.CharField(source="signer.name", read_only=True)

    class Meta:
        model = ContractSignature
        fields = ["role", "signer", "signer_name", "signed_at", "content_hash"]
        ref_name = "ContractSignature"


class ContractOutputSerializer(serializers.ModelSerializer):
    person = serializers.SlugRelatedField(slug_field="employee_code", read_only=True)
    person_name = serializers.CharField(source="person.name", read_only=True)
    manager = serializers.SlugRelatedField(slug_field="employee_code", read_only=True)
    manager_name = serializers.CharField(source="manager.name", read_only=True)
    superseded_by = serializers.SerializerMethodField(help_text="The id of the version that replaces this one.")
    reward_terms = ContractRewardRowSerializer(many=True, read_only=True)
    lines = serializers.SerializerMethodField(
        help_text="The objectives with their weights: as signed for a locked version, as they stand for a draft."
    )
    signatures = ContractSignatureOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id", "person", "person_name", "manager", "manager_name", "period_start", "period_end", "version",
            "status", "replaces", "superseded_by", "amendment_reason", "support", "reward_terms", "terms_text",
            "lines", "signatures", "content_hash", "locked_at", "created_at",
        ]
        ref_name = "Contract"

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_superseded_by(self, obj) -> int | None:
        newer = contracts.superseded_by(obj)
        return newer.pk if newer else None

    @extend_schema_field(ContractLineOutputSerializer(many=True))
    def get_lines(self, obj):
        return contracts.contract_content(obj)["lines"]


def _with_lines(qs):
    lines = ContractObjective.objects.select_related("objective", "objective__kpi")
    return qs.prefetch_related(Prefetch("lines", queryset=lines))


def _output(contract: Contract) -> dict:
    return ContractOutputSerializer(contracts.contract_detail_qs().get(pk=contract.pk)).data


# ------------------------------------------------------------------ input


class ContractLineInputSerializer(serializers.Serializer):
    # Bounded: an id past 64 bits would fail in the database's IN (...) rather than be "no such objective".
    objective = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The objective's id.")
    weight = serializers.FloatField()

    class Meta:
        ref_name = "ContractLineInput"


class _ContractWriteSerializer(serializers.Serializer):
    """Fields shared by create, update and amend; objectives are resolved among those the caller may see."""

    objectives = ContractLineInputSerializer(many=True)
    support = serializers.CharField(allow_blank=True, required=False, default="")
    reward_terms = serializers.ListField(child=serializers.DictField(child=serializers.CharField(allow_blank=True)))
    terms_text = serializers.CharField(allow_blank=True, required=False, default="")

    def validate_objectives(self, value):
        user = self.context["request"].user
        ids = [row["objective"] for row in value]
        found = Objective.objects.filter(pk__in=ids, owner_person__in=people_visible(user)).select_related("kpi")
        by_id = {o.pk: o for o in found}
        unknown = [str(i) for i in ids if i not in by_id]
        if unknown:
            raise serializers.ValidationError(
                contracts.UNKNOWN_OBJECTIVES % {"ids": ", ".join(unknown)}
            )
        return [(by_id[row["objective"]], row["weight"]) for row in value]


def _partial(data: dict, fields=("objectives", "support", "reward_terms", "terms_text")) -> dict:
    return {f: data[f] for f in fields if f in data}


# ---------------------------------------------------------------- endpoints


class ContractFilter(filters.FilterSet):
    person = filters.CharFilter(field_name="person__employee_code", help_text="The employee's code.")
    status = filters.ChoiceFilter(choices=Contract.Status.choices)
    start = filters.DateFilter(field_name="period_end", lookup_expr="gte", help_text="Periods ending on or after this day.")
    end = filters.DateFilter(field_name="period_start", lookup_expr="lte", help_text="Periods starting on or before this day.")

    class Meta:
        model = Contract
        fields = ["person", "status", "start", "end"]


class ContractListApi(ListAPIView):
    """The contracts the caller may see (every version), newest period first; managers, HR and directors may write one.

    Queries per page, whatever the number of contracts: count (1), contracts
    with parties and version links (1), lines with their objectives (1),
    signatures (1).
    """

    class InputSerializer(_ContractWriteSerializer):
        person = serializers.CharField(help_text="The employee's code.")
        period_start = serializers.DateField()
        period_end = serializers.DateField()

        class Meta:
            ref_name = "ContractCreate"

    serializer_class = ContractOutputSerializer
    filterset_class = ContractFilter

    def get_queryset(self):
        return _with_lines(contracts.contract_list(self.request.user))

    @extend_schema(request=InputSerializer, responses={201: ContractOutputSerializer, 400: REFUSED, 403: FORBIDDEN,
                                                        404: OpenApiResponse(description="No such person among those the caller may see.")})
    def post(self, request):
        # The person first: someone outside the caller's view is 404 whatever else the body says.
        code = request.data.get("person") if hasattr(request.data, "get") else None
        person = people_visible(request.user).filter(employee_code=code).first() if isinstance(code, str) else None
        if code is not None and person is None:
            raise Http404
        serializer = self.InputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            contract = contracts.contract_create(
                user=request.user, person=person, period_start=data["period_start"], period_end=data["period_end"],
                objectives=data["objectives"], support=data["support"], reward_terms=data["reward_terms"],
                terms_text=data["terms_text"],
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(_output(contract), status=status.HTTP_201_CREATED)


class ContractDetailApi(RetrieveAPIView):
    """One contract version; a draft no one has signed may be changed (PATCH)."""

    class InputSerializer(_ContractWriteSerializer):
        objectives = ContractLineInputSerializer(many=True, required=False)
        reward_terms = serializers.ListField(
            child=serializers.DictField(child=serializers.CharField(allow_blank=True)), required=False
        )
        support = serializers.CharField(allow_blank=True, required=False)
        terms_text = serializers.CharField(allow_blank=True, required=False)

        class Meta:
            ref_name = "ContractUpdate"

    serializer_class = ContractOutputSerializer

    def get_object(self):
        return contracts.contract_get(self.request.user, self.kwargs["pk"])

    @extend_schema(request=InputSerializer, responses={200: ContractOutputSerializer, 400: REFUSED, 403: FORBIDDEN,
                                                        404: NOT_FOUND})
    def patch(self, request, pk):
        contract = self.get_object()
        serializer = self.InputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        try:
            contracts.contract_update(user=request.user, contract=contract, **_partial(serializer.validated_data))
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(_output(contract))


class ContractSignApi(APIView):
    """Sign the contract as the employee or the manager (the caller's role decides); the second signature locks it."""

    @extend_schema(request=None, responses={200: ContractOutputSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND})
    def post(self, request, pk):
        contract = contracts.contract_get(request.user, pk)
        try:
            contracts.contract_sign(user=request.user, contract=contract)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(_output(contract))


class ContractAmendApi(APIView):
    """Start the next version of a signed contract, with the reason; what is not given is carried over."""

    class InputSerializer(ContractDetailApi.InputSerializer):
        reason = serializers.CharField(allow_blank=True)

        class Meta:
            ref_name = "ContractAmend"

    @extend_schema(request=InputSerializer, responses={201: ContractOutputSerializer, 400: REFUSED, 403: FORBIDDEN,
                                                        404: NOT_FOUND})
    def post(self, request, pk):
        contract = contracts.contract_get(request.user, pk)
        serializer = self.InputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            amendment = contracts.contract_amend(
                user=request.user, contract=contract, reason=data["reason"], **_partial(data)
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(_output(amendment), status=status.HTTP_201_CREATED)


class ContractVersionsApi(APIView):
    """Every version of the contract's chain, oldest first; each stays readable."""

    @extend_schema(responses={200: ContractOutputSerializer(many=True), 404: NOT_FOUND})
    def get(self, request, pk):
        contract = contracts.contract_get(request.user, pk)
        versions = contracts.contract_detail_qs().filter(
            person_id=contract.person_id, period_start=contract.period_start, period_end=contract.period_end
        ).order_by("version")
        return Response(ContractOutputSerializer(versions, many=True).data)
