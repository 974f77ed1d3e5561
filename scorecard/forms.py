"""HTML forms of the pages: the date range, and the KPI library's edit forms.

Forms only parse input; the rules live in periods.parse_range and services.py,
whose ValidationError field dicts are put back on the form (form_errors_from).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import MAX_VALUE_RANGE, Kpi, Measure, Perspective
from .periods import PRESETS, parse_range


def form_errors_from(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where the form has it, else on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class RangeForm(forms.Form):
    """The date-range picker: a preset, or start and end (both inclusive); neither means this quarter."""

    start = forms.CharField(label=_("From"), required=False, max_length=10)
    end = forms.CharField(label=_("To"), required=False, max_length=10)
    preset = forms.ChoiceField(label=_("Period"), required=False, choices=[("", "")] + list(PRESETS.items()))

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["range"] = parse_range(data.get("start"), data.get("end"), data.get("preset"))
        except ValidationError as exc:
            form_errors_from(self, exc)
        return data


class MeasureForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"), max_length=64, help_text=_("Lower-case letters, digits and underscores, e.g. “callbacks”.")
    )
    name = forms.CharField(label=pgettext_lazy("library", "Name"), max_length=200)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200, required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    description_zh = forms.CharField(
        label=_("Description (Chinese)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    kind = forms.TypedChoiceField(
        label=_("Kind"), choices=Measure.Kind.choices, initial=Measure.Kind.COUNT,
        required=False, empty_value=Measure.Kind.COUNT,
    )
    max_value = forms.FloatField(
        label=_("Maximum per row"), required=False, min_value=0,
        help_text=format_lazy(
            "{} {}",
            _("An imported value above this is refused as implausible. Blank: the kind's default"),
            _("(counts and points 100,000; seconds and minutes 86,400,000; money 10,000,000)."),
        ),
    )

    def __init__(self, *args, measure: Measure | None = None, **kwargs):
        """A new measure's form; with `measure`, its edit form (the code, a column name in files, is fixed)."""
        if measure is not None:
            kwargs.setdefault("initial", {
                "code": measure.code, "name": measure.name, "name_zh": measure.name_zh,
                "description": measure.description, "description_zh": measure.description_zh,
                "kind": measure.kind, "max_value": measure.max_value,
            })
        super().__init__(*args, **kwargs)
        if measure is not None:
            del self.fields["code"]

    def clean_max_value(self):
        value = self.cleaned_data["max_value"]
        if value is not None and not (0 < value <= Measure.MAX_CEILING):
            raise forms.ValidationError(MAX_VALUE_RANGE % {"ceiling": f"{Measure.MAX_CEILING:,}"})
        return value


class KpiForm(forms.Form):
    """Create or edit a KPI. On edit, the code and perspective are fixed and the weight is set on the weights page."""

    code = forms.SlugField(label=_("Code"), max_length=64)
    name = forms.CharField(label=pgettext_lazy("library", "Name"), max_length=200)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200, required=False)
    definition = forms.CharField(label=_("Definition"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    definition_zh = forms.CharField(
        label=_("Definition (Chinese)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    perspective = forms.ModelChoiceField(label=_("Perspective"), queryset=Perspective.objects.all())
    formula = forms.CharField(
        label=_("Formula"),
        max_length=500,
        help_text=_("A sum of measures, or [factor ×] sum of measures / sum of measures, "
                    "e.g. “100 × first_contact_resolved / contacts_handled”."),
    )
    unit = forms.CharField(label=pgettext_lazy("unit of measure", "Unit"), max_length=32, required=False, help_text=_("e.g. %, s, currency"))
    direction = forms.ChoiceField(label=_("Direction"), choices=Kpi.Direction.choices)
    baseline = forms.FloatField(label=_("Baseline"))
    typical = forms.FloatField(label=_("Typical"))
    excellent = forms.FloatField(label=_("Excellent"))
    weight = forms.FloatField(
        label=_("Weight in its perspective"),
        help_text=_("Between 0 and 100; the perspective's other KPIs are rescaled to share the rest."),
    )
    min_sample = forms.IntegerField(
        label=_("Minimum sample"), required=False, min_value=0, help_text=Kpi._meta.get_field("min_sample").help_text
    )

    # Fields kpi_update refuses: not on the edit form.
    CREATE_ONLY = ("code", "perspective", "weight")

    def __init__(self, *args, kpi: Kpi | None = None, **kwargs):
        self.kpi = kpi
        if kpi is not None:
            kwargs.setdefault(
                "initial",
                {f: getattr(kpi, f) for f in (
                    "name", "name_zh", "definition", "definition_zh", "formula", "unit", "direction",
                    "baseline", "typical", "excellent", "min_sample",
                )},
            )
        super().__init__(*args, **kwargs)
        if kpi is not None:
            for name in self.CREATE_ONLY:
                del self.fields[name]


class WeightsForm(forms.Form):
    """Every perspective weight and every KPI weight, in one form (services.weights_update).

    Fields are `p-<perspective code>` and `k-<kpi code>`; errors the service
    gives per perspective ("customer": …) are kept in `group_errors` so the
    page shows them by their group, and also on top of the form.
    """

    def __init__(self, *args, perspectives: list[Perspective], **kwargs):
        super().__init__(*args, **kwargs)
        self.perspectives = perspectives
        self.group_errors: dict[str, list[str]] = {}
        self.perspective_errors: list[str] = []
        for p in perspectives:
            self.fields[f"p-{p.code}"] = forms.FloatField(label=p.label, initial=p.weight)
            for k in p.kpis.all():
                self.fields[f"k-{k.code}"] = forms.FloatField(label=k.label, initial=k.weight)

    def groups(self):
        """Yield (perspective, its bound weight field, [(kpi, bound field)], errors) for the template."""
        for p in self.perspectives:
            yield (
                p,
                self[f"p-{p.code}"],
                [(k, self[f"k-{k.code}"]) for k in p.kpis.all()],
                self.group_errors.get(p.code, []),
            )

    def perspective_weights(self) -> dict[str, float]:
        return {p.code: self.cleaned_data[f"p-{p.code}"] for p in self.perspectives}

    def kpi_weights(self) -> dict[str, float]:
        return {k.code: self.cleaned_data[f"k-{k.code}"] for p in self.perspectives for k in p.kpis.all()}

    def add_service_errors(self, exc: ValidationError) -> None:
        labels = {p.code: p.label for p in self.perspectives}
        for key, messages in exc.message_dict.items():
            if key == "perspectives":
                self.perspective_errors.extend(messages)
                self.add_error(None, [f"{_('Perspective weights')}: {m}" for m in messages])
            elif key in labels:
                self.group_errors.setdefault(key, []).extend(messages)
                self.add_error(None, [f"{labels[key]}: {m}" for m in messages])
            else:
                self.add_error(None, messages)
