"""API of cascades, the cascade tree and objective templates (under /api/v1/goals/).

Objectives and templates outside the caller's view answer 404; refused
cascades and template changes answer 400 with messages by field, and save nothing.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from scorecard.apis import _drf_error
from scorecard.models import Kpi, OrgUnit
from scorecard.selectors import units_visible

from . import cascades, selectors
from .models import Objective, ObjectiveTemplate


def _objective(request, pk: int) -> Objective:
    objective = get_object_or_404(Objective.objects.select_related("owner_unit", "owner_person__unit", "kpi"), pk=pk)
    if not selectors.objective_visible(request.user, objective):
        raise Http404
    return objective


class OwnerSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="“unit” or “person”.")
    code = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "CascadeOwner"


def _owner(owner) -> dict:
    return {"kind": "unit" if isinstance(owner, OrgUnit) else "person", "code": owner.code, "name": owner.name}


class TypedValuesSerializer(serializers.Serializer):
    baseline = serializers.FloatField()
    target = serializers.FloatField()
    stretch = serializers.FloatField()

    class Meta:
        ref_name = "CascadeTypedValues"


class CascadeInputSerializer(serializers.Serializer):
    depth = serializers.ChoiceField(choices=list(cascades.DEPTHS), help_text="children: directly beneath; agents: every level down to agents.")
    method = serializers.ChoiceField(choices=list(cascades.METHODS))
    typed = serializers.DictField(
        child=TypedValuesSerializer(), required=False,
        help_text="For method “typed”: owner code (org unit or employee) → baseline, target, stretch.",
    )

    class Meta:
        ref_name = "CascadeInput"


class PlannedChildSerializer(serializers.Serializer):
    owner = OwnerSerializer()
    parent_owner = serializers.CharField(allow_null=True, help_text="The code of the planned parent's owner; null: the cascaded objective.")
    level = serializers.IntegerField()
    baseline = serializers.FloatField(allow_null=True)
    target = serializers.FloatField(allow_null=True)
    stretch = serializers.FloatField(allow_null=True)
    share = serializers.FloatField(allow_null=True, help_text="Split methods: the fraction of the level above.")
    warnings = serializers.ListField(child=serializers.CharField())
    existing = serializers.IntegerField(allow_null=True, help_text="The id of a child that exists already: kept, not created.")

    class Meta:
        ref_name = "CascadePlannedChild"


def _planned(n: cascades.PlannedChild) -> dict:
    return {"owner": _owner(n.owner), "parent_owner": n.parent_code, "level": n.level, "baseline": n.baseline,
            "target": n.target, "stretch": n.stretch, "share": n.share, "warnings": n.warnings,
            "existing": n.existing.pk if n.existing else None}


class CreatedChildSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    owner = OwnerSerializer()
    parent = serializers.IntegerField()
    baseline = serializers.FloatField(allow_null=True)
    target = serializers.FloatField(allow_null=True)
    stretch = serializers.FloatField(allow_null=True)
    status = serializers.CharField()

    class Meta:
        ref_name = "CascadeCreatedChild"


def _cascade_args(request, pk):
    objective = _objective(request, pk)
    data = CascadeInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    typed = {code: (v["baseline"], v["target"], v["stretch"]) for code, v in (data.validated_data.get("typed") or {}).items()}
    return dict(user=request.user, objective=objective, depth=data.validated_data["depth"],
                method=data.validated_data["method"], typed=typed or None)


class CascadePreviewApi(APIView):
    """Plan a cascade of an objective without saving anything."""

    class OutputSerializer(serializers.Serializer):
        children = PlannedChildSerializer(many=True)

        class Meta:
            ref_name = "CascadePreview"

    @extend_schema(request=CascadeInputSerializer,
                   responses={200: OutputSerializer, 400: OpenApiResponse(description="Refused: messages by field."),
                              404: OpenApiResponse(description="Unknown objective, or one the caller may not see.")})
    def post(self, request, pk: int):
        try:
            plan = cascades.cascade_preview(**_cascade_args(request, pk))
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(self.OutputSerializer({"children": [_planned(n) for n in plan]}).data)


class CascadeApplyApi(APIView):
    """Create the planned children (drafts); children that exist already are kept."""

    class OutputSerializer(serializers.Serializer):
        created = CreatedChildSerializer(many=True)

        class Meta:
            ref_name = "CascadeResult"

    @extend_schema(request=CascadeInputSerializer,
                   responses={201: OutputSerializer, 400: OpenApiResponse(description="Refused: messages by field; nothing saved."),
                              404: OpenApiResponse(description="Unknown objective, or one the caller may not see.")})
    def post(self, request, pk: int):
        try:
            created = cascades.cascade_apply(**_cascade_args(request, pk))
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        rows = [{"id": o.pk, "owner": _owner(o.owner_unit or o.owner_person), "parent": o.parent_id,
                 "baseline": o.baseline, "target": o.target, "stretch": o.stretch, "status": o.status} for o in created]
        return Response(self.OutputSerializer({"created": rows}).data, status=status.HTTP_201_CREATED)


class CascadeTreeApi(APIView):
    """The cascade tree of a quarter, as a list in tree order (each node after its parent)."""

    class InputSerializer(serializers.Serializer):
        period = serializers.CharField(required=False, help_text="A quarter, YYYY-Qn; this quarter when left out.")
        perspective = serializers.CharField(required=False)
        kpi = serializers.CharField(required=False)
        status = serializers.ChoiceField(choices=Objective.Status.choices, required=False)

        class Meta:
            ref_name = "CascadeTreeQuery"

    class OutputSerializer(serializers.Serializer):
        class NodeSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            parent = serializers.IntegerField(allow_null=True, help_text="The parent's id when it is shown; null for a root.")
            depth = serializers.IntegerField()
            title = serializers.CharField()
            owner = OwnerSerializer()
            kind = serializers.CharField()
            status = serializers.CharField()
            kpi = serializers.CharField(allow_null=True)
            unit = serializers.CharField()
            baseline = serializers.FloatField(allow_null=True)
            target = serializers.FloatField(allow_null=True)
            stretch = serializers.FloatField(allow_null=True)
            value = serializers.FloatField(allow_null=True, help_text="The KPI's value over the period so far.")
            forecast = serializers.FloatField(allow_null=True)
            progress = serializers.FloatField(allow_null=True, help_text="% of the way from baseline to target (milestones: % done).")
            at_risk = serializers.BooleanField()
            misaligned = serializers.BooleanField(allow_null=True, help_text="Null: no children with targets to compare.")
            children_target = serializers.FloatField(allow_null=True, help_text="The children's targets together (sum, or volume-weighted mean).")
            gap = serializers.FloatField(allow_null=True, help_text="How far the children fall short of the target, in the KPI's unit.")
            matches = serializers.BooleanField(help_text="False: shown only as the chain above a matching objective.")

            class Meta:
                ref_name = "CascadeTreeNode"

        start = serializers.DateField()
        end = serializers.DateField()
        nodes = NodeSerializer(many=True)

        class Meta:
            ref_name = "CascadeTree"

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer, 400: OpenApiResponse(description="Bad period.")})
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            start, end = cascades.parse_quarter(params.validated_data.get("period"))
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        nodes = cascades.cascade_tree(request.user, start=start, end=end,
                                      perspective=params.validated_data.get("perspective"),
                                      kpi=params.validated_data.get("kpi"), status=params.validated_data.get("status"))
        shown = {n.objective.pk for n in nodes}
        rows = []
        for n in nodes:
            o, p, a = n.objective, n.progress, n.alignment
            rows.append({
                "id": o.pk, "parent": o.parent_id if o.parent_id in shown else None, "depth": n.depth, "title": o.title,
                "owner": _owner(o.owner), "kind": o.kind, "status": o.status, "kpi": o.kpi.code if o.kpi_id else None,
                "unit": o.kpi.unit if o.kpi_id else "", "baseline": o.baseline, "target": o.target, "stretch": o.stretch,
                "value": p.value if p else None, "forecast": p.forecast if p else None,
                "progress": p.percent if p else None, "at_risk": bool(p and p.at_risk),
                "misaligned": (not a.aligned) if a else None, "children_target": a.combined if a else None,
                "gap": a.gap if a else None, "matches": n.matches,
            })
        return Response(self.OutputSerializer({"start": start, "end": end, "nodes": rows}).data)


# ------------------------------------------------------------------ templates


# The same answer for a code that does not exist and one outside the caller's view, so codes cannot be probed.
UNIT_NOT_VISIBLE = gettext_lazy("No org unit with this code among those you may see.")


class VisibleUnitField(serializers.SlugRelatedField):
    """An org unit by its code, looked up among the units the requesting user sees (context["request"])."""

    default_error_messages = {"does_not_exist": UNIT_NOT_VISIBLE}

    def get_queryset(self):
        request = self.context.get("request")
        return units_visible(request.user) if request is not None else OrgUnit.objects.none()


class TemplateSerializer(serializers.ModelSerializer):
    unit = VisibleUnitField(slug_field="code", queryset=OrgUnit.objects.all())
    kpi = serializers.SlugRelatedField(slug_field="code", queryset=Kpi.objects.all(), allow_null=True, required=False)

    class Meta:
        model = ObjectiveTemplate
        fields = ["id", "name", "unit", "kind", "title", "result", "kpi", "baseline", "target", "stretch",
                  "completion_criterion", "verification", "resources", "weight"]
        read_only_fields = ["id"]
        ref_name = "ObjectiveTemplate"


def _template(request, pk: int) -> ObjectiveTemplate:
    return get_object_or_404(cascades.templates_visible(request.user), pk=pk)


class TemplateListApi(APIView):
    """The templates of the units the caller manages; create one."""

    @extend_schema(responses={200: TemplateSerializer(many=True)})
    def get(self, request):
        return Response(TemplateSerializer(cascades.templates_visible(request.user), many=True).data)

    @extend_schema(request=TemplateSerializer, responses={201: TemplateSerializer, 400: OpenApiResponse(description="Refused: messages by field.")})
    def post(self, request):
        data = TemplateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        try:
            template = cascades.objective_template_create(user=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailApi(APIView):
    @extend_schema(responses={200: TemplateSerializer, 404: OpenApiResponse(description="Unknown template, or one the caller may not see.")})
    def get(self, request, pk: int):
        return Response(TemplateSerializer(_template(request, pk)).data)

    def _update(self, request, pk: int, partial: bool):
        template = _template(request, pk)
        data = TemplateSerializer(template, data=request.data, partial=partial, context={"request": request})
        data.is_valid(raise_exception=True)
        try:
            template = cascades.objective_template_update(user=request.user, template=template, **data.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(TemplateSerializer(template).data)

    @extend_schema(request=TemplateSerializer, responses={200: TemplateSerializer, 400: OpenApiResponse(description="Refused: messages by field.")})
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=TemplateSerializer, responses={200: TemplateSerializer, 400: OpenApiResponse(description="Refused: messages by field.")})
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)


class TemplateAssignApi(APIView):
    """Give the template's objective to every agent of its unit's subtree (idempotent)."""

    class InputSerializer(serializers.Serializer):
        period_start = serializers.DateField()
        period_end = serializers.DateField()
        due_date = serializers.DateField()
        parent = serializers.IntegerField(required=False, allow_null=True, help_text="An objective of the template's unit or a unit above it.")

        class Meta:
            ref_name = "TemplateAssignInput"

    class OutputSerializer(serializers.Serializer):
        created = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the new objectives.")
        skipped = serializers.IntegerField(help_text="Agents who already had an objective from this template for the period.")

        class Meta:
            ref_name = "TemplateAssignResult"

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, 400: OpenApiResponse(description="Refused: messages by field; nothing saved."),
                                                       404: OpenApiResponse(description="Unknown template or parent, or one the caller may not see.")})
    def post(self, request, pk: int):
        template = _template(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        args = dict(data.validated_data)
        if args.get("parent"):
            # Any objective of the template's unit or above may be the parent (the service checks it),
            # including one above the caller's own unit, which they cannot open.
            parent = Objective.objects.select_related("owner_unit").filter(pk=args["parent"]).first()
            if parent is None:
                raise serializers.ValidationError({"parent": [str(cascades.PARENT_NOT_ABOVE % {"unit": template.unit.code})]})
            args["parent"] = parent
        else:
            args.pop("parent", None)
        try:
            result = cascades.objective_template_assign(user=request.user, template=template, **args)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(self.OutputSerializer({"created": [o.pk for o in result.created], "skipped": result.skipped}).data,
                        status=status.HTTP_201_CREATED)
