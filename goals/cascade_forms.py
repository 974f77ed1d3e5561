"""Forms of the cascade, tree and template pages: they parse input; goals.cascades holds the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from scorecard.forms import form_errors_from
from scorecard.models import Kpi, Perspective

from . import cascades
from .models import Objective


class CascadeForm(forms.Form):
    """Depth and method, plus baseline / target / stretch inputs for each child (used by the “typed” method)."""

    depth = forms.ChoiceField(label=_("Cascade to"), choices=list(cascades.DEPTHS.items()), initial=cascades.DEPTH_CHILDREN)
    method = forms.ChoiceField(label=_("Method"), choices=list(cascades.METHODS.items()))

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.owners = list(owners)
        for owner in self.owners:
            for part, label in (("baseline", _("Baseline")), ("target", _("Target")), ("stretch", _("Stretch"))):
                # The table shows no <label>: the input names its owner and value itself (screen readers, axe).
                self.fields[self.typed_name(owner.code, part)] = forms.FloatField(
                    label=f"{owner.name} — {label}", required=False,
                    widget=forms.NumberInput(
                        attrs={"step": "any", "class": "typed", "aria-label": f"{owner.name} — {label}"}),
                )

    @staticmethod
    def typed_name(code: str, part: str) -> str:
        return f"typed-{code}-{part}"

    def typed_rows(self):
        return [
            {"owner": o, "fields": [self[self.typed_name(o.code, p)] for p in ("baseline", "target", "stretch")]}
            for o in self.owners
        ]

    def typed_values(self) -> dict[str, tuple]:
        """The typed values of the owners for whom anything was entered."""
        values = {}
        for o in self.owners:
            triple = tuple(self.cleaned_data.get(self.typed_name(o.code, p)) for p in ("baseline", "target", "stretch"))
            if any(v is not None for v in triple):
                values[o.code] = triple
        return values


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Template name"), max_length=200)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, help_text=_("Its agents, down the whole subtree, receive the objective."))
    kind = forms.ChoiceField(label=_("Kind"), choices=Objective.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    result = forms.CharField(label=_("Result"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    kpi = forms.ModelChoiceField(label=_("KPI"), queryset=Kpi.objects.all(), required=False)
    baseline = forms.FloatField(label=_("Baseline"), required=False)
    target = forms.FloatField(label=_("Target"), required=False)
    stretch = forms.FloatField(label=_("Stretch"), required=False)
    completion_criterion = forms.CharField(label=_("Completion criterion"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    verification = forms.CharField(label=_("How completion is verified"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    resources = forms.CharField(label=_("Resources and support needed"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    weight = forms.FloatField(label=_("Weight"), min_value=0, max_value=100, initial=20)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class TemplateAssignForm(forms.Form):
    period_start = forms.DateField(label=_("Period start"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("Period end"), widget=forms.DateInput(attrs={"type": "date"}))
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))
    parent = forms.ModelChoiceField(label=_("Parent objective"), queryset=None, required=False,
                                    help_text=_("An objective of this unit or a unit above it, which the new objectives contribute to."))

    def __init__(self, *args, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents
        self.fields["parent"].label_from_instance = lambda o: f"{o.title} — {o.owner_unit.name} ({o.period_start} – {o.period_end})"


class TreeFilterForm(forms.Form):
    period = forms.CharField(label=_("Quarter"), required=False, max_length=7, help_text=_("YYYY-Qn, e.g. 2026-Q3"))
    perspective = forms.ChoiceField(label=_("Perspective"), required=False)
    kpi = forms.ChoiceField(label=_("KPI"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All"))] + list(Objective.Status.choices))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        perspectives = list(Perspective.objects.order_by("order", "code"))
        self.fields["perspective"].choices = [("", _("All"))] + [(p.code, p.label) for p in perspectives]
        self.fields["kpi"].choices = [("", _("All"))] + [(k.code, k.label) for k in Kpi.objects.order_by("order", "code")]

    def clean(self):
        data = super().clean()
        try:
            data["range"] = cascades.parse_quarter(data.get("period"))
        except ValidationError as exc:
            form_errors_from(self, exc)
        return data
