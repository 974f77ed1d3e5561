"""HTML forms of the cycle pages: the cycle's settings and its rating scale, row by row.

Forms only parse input; the rules live in reviews.services, whose
ValidationError field dicts are put back on the form (add_service_errors).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard.models import Measure, OrgUnit
from scorecard.periods import quarter_of

from .closing import CLOSE_EARLY_NEEDS_REASON
from .models import ANONYMITY_FLOOR, FeedbackTemplate, ReviewCycle, default_scale
from .services import ANONYMITY_TOO_LOW, DEADLINES

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
WEIGHT_WIDGET = forms.NumberInput(attrs={"step": "any", "min": "0", "data-weight": ""})


def _datetime_field(label) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )


class CycleForm(forms.Form):
    """A cycle's settings; the scale rows come from ScaleFormSet. After launch only the deadlines remain."""

    name = forms.CharField(label=_("Name"), max_length=200)
    period_start = forms.DateField(label=_("Period start"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("Period end"), widget=forms.DateInput(attrs={"type": "date"}))
    units = forms.ModelMultipleChoiceField(
        label=_("Participating units"), queryset=OrgUnit.objects.order_by("path"),
        help_text=_("Every active agent and manager in these units and the units below them is appraised."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    weight_objectives = forms.FloatField(label=_("Objectives and KPI results (%)"), widget=WEIGHT_WIDGET)
    weight_competencies = forms.FloatField(label=_("Competencies (%)"), widget=WEIGHT_WIDGET)
    weight_feedback = forms.FloatField(
        label=_("360 feedback (%)"), widget=WEIGHT_WIDGET,
        help_text=_("360 feedback serves development rather than the rating: 0 unless decided otherwise."),
    )
    self_assessment_due = _datetime_field(_("Self-assessment deadline"))
    feedback_due = _datetime_field(_("360 feedback deadline"))
    appraisal_due = _datetime_field(_("Manager appraisal deadline"))
    calibration_due = _datetime_field(_("Calibration deadline"))
    gate_measure = forms.ChoiceField(label=_("Gate rule: measure"), required=False)
    gate_above = forms.FloatField(
        label=_("Gate rule: when the period's total is above"), required=False, min_value=0,
    )
    gate_cap = forms.CharField(
        label=_("Gate rule: cap the grade at"), required=False, max_length=8,
        help_text=_("e.g. a fatal error (above 0) caps the grade at D, whatever the other scores."),
    )
    anonymity_threshold = forms.IntegerField(
        label=_("Minimum answers shown per feedback group"), min_value=ANONYMITY_FLOOR, initial=ANONYMITY_FLOOR,
        error_messages={"min_value": ANONYMITY_TOO_LOW},
        help_text=_("At least 3: peers, subordinates and customers are shown only as a group of this many answers."),
    )
    max_requests_per_rater = forms.IntegerField(label=_("Most feedback requests per rater"), min_value=1, initial=8)
    feedback_template = forms.ModelChoiceField(
        label=_("360 questionnaire"), required=False, queryset=FeedbackTemplate.objects.all(),
        empty_label=_("The default questionnaire (when launched)"),
        help_text=_("Frozen at launch: later edits of the questionnaire do not change the cycle."),
    )

    WEIGHT_FIELDS = ("weight_objectives", "weight_competencies", "weight_feedback")
    GATE_FIELDS = ("gate_measure", "gate_above", "gate_cap")

    def __init__(self, *args, cycle: ReviewCycle | None = None, deadlines_only: bool = False, **kwargs):
        self.cycle = cycle
        self.scale_errors: list[str] = []
        self.weight_errors: list[str] = []
        if cycle is not None:
            initial = {name: getattr(cycle, name) for name in (
                "name", "period_start", "period_end", *self.WEIGHT_FIELDS, *DEADLINES,
                "anonymity_threshold", "max_requests_per_rater",
            )}
            initial["feedback_template"] = cycle.feedback_template_id
            for name in DEADLINES:
                initial[name] = timezone.localtime(initial[name])
            initial["units"] = list(cycle.units.all())
            gate = cycle.gate_rule or {}
            initial.update(gate_measure=gate.get("measure", ""), gate_above=gate.get("above"), gate_cap=gate.get("cap", ""))
        else:
            initial = _initial_for_new()
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        # Measures by their name in the reader's language (the code is what is stored).
        self.fields["gate_measure"].choices = [("", _("No gate rule"))] + sorted(
            ((m.code, m.label) for m in Measure.objects.only("code", "name", "name_zh")), key=lambda c: c[1]
        ) if not deadlines_only else []
        # A questionnaire no longer in use is listed only if the cycle still names it (the service refuses it).
        self.fields["feedback_template"].queryset = FeedbackTemplate.objects.filter(
            Q(active=True) | Q(pk=getattr(cycle, "feedback_template_id", None))
        )
        self.fields["feedback_template"].label_from_instance = _template_label
        if deadlines_only:
            for name in list(self.fields):
                if name not in DEADLINES:
                    del self.fields[name]

    @property
    def deadlines_only(self) -> bool:
        return "name" not in self.fields

    def settings_fields(self):
        return [self[n] for n in ("name", "period_start", "period_end", "units") if n in self.fields]

    def weight_fields(self):
        return [self[n] for n in self.WEIGHT_FIELDS if n in self.fields]

    def deadline_fields(self):
        return [self[n] for n in DEADLINES]

    def gate_fields(self):
        return [self[n] for n in self.GATE_FIELDS if n in self.fields]

    def other_fields(self):
        return [self[n] for n in ("feedback_template", "anonymity_threshold", "max_requests_per_rater")
                if n in self.fields]

    def service_values(self, scale_formset: ScaleFormSet | None = None) -> dict:
        """The cleaned data as the keyword arguments of cycle_create / cycle_update."""
        data = self.cleaned_data
        if self.deadlines_only:
            return {name: data[name] for name in DEADLINES}
        values = {name: data[name] for name in (
            "name", "period_start", "period_end", *self.WEIGHT_FIELDS, *DEADLINES,
            "anonymity_threshold", "max_requests_per_rater", "feedback_template",
        )}
        values["units"] = list(data["units"])
        if data.get("gate_measure") or data.get("gate_cap") or data.get("gate_above") is not None:
            values["gate_rule"] = {
                "measure": data.get("gate_measure") or "",
                "above": data.get("gate_above"),
                "cap": (data.get("gate_cap") or "").strip(),
            }
        else:
            values["gate_rule"] = {}
        if scale_formset is not None:
            values["scale"], values["guideline"] = scale_formset.scale_and_guideline()
        return values

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put the service's messages by field; the scale's and guideline's next to the scale table."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, messages in exc.message_dict.items():
            if key in self.fields:
                self.add_error(key, messages)
            elif key == "gate_rule" and "gate_measure" in self.fields:
                self.add_error("gate_measure", messages)
            elif key in ("scale", "guideline"):
                self.scale_errors.extend(messages)
                self.add_error(None, [_("Rating scale: %(message)s") % {"message": m} for m in messages])
            elif key == "weights":
                self.weight_errors.extend(messages)
                self.add_error(None, messages)
            else:
                self.add_error(None, messages)


def _template_label(template: FeedbackTemplate) -> str:
    label = str(template.label)
    if template.is_default:
        label = _("%(name)s (default)") % {"name": label}
    if not template.active:
        label = _("%(name)s (not in use)") % {"name": label}
    return label


def _initial_for_new() -> dict:
    """A new cycle starts on the current quarter, with a week per phase after it ends."""
    start, end = quarter_of(timezone.localdate())
    tz = timezone.get_current_timezone()
    due = [dt.datetime.combine(end + dt.timedelta(days=7 * (i + 1)), dt.time(18, 0), tz) for i in range(4)]
    return {
        "period_start": start, "period_end": end, "weight_objectives": 70, "weight_competencies": 30,
        "weight_feedback": 0, **dict(zip(DEADLINES, due)), "anonymity_threshold": 3, "max_requests_per_rater": 8,
    }


class ScaleRowForm(forms.Form):
    """One grade of the scale (评分等级 / 等级说明) and its calibration guideline; a blank row is ignored."""

    grade = forms.CharField(label=_("Grade"), max_length=8, required=False)
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    min = forms.FloatField(label=_("From score"), required=False)
    max = forms.FloatField(label=_("To score"), required=False)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    guideline = forms.FloatField(
        # xgettext:no-python-format
        label=_("At most (% of a unit)"), required=False, min_value=0, max_value=100,
    )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(k) not in (None, "") for k in ("grade", "label", "min", "max", "description", "guideline"))


class BaseScaleFormSet(forms.BaseFormSet):
    def scale_and_guideline(self) -> tuple[list[dict], dict]:
        scale, guideline = [], {}
        for form in self.forms:
            if form.is_blank():
                continue
            data = form.cleaned_data
            scale.append({k: data.get(k) for k in ("grade", "label", "min", "max", "description")})
            if data.get("guideline") is not None:
                guideline[(data.get("grade") or "").strip()] = data["guideline"]
        return scale, guideline


ScaleFormSet = forms.formset_factory(ScaleRowForm, formset=BaseScaleFormSet, extra=2, max_num=20, validate_max=True)


def scale_formset(data=None, cycle: ReviewCycle | None = None) -> BaseScaleFormSet:
    scale = cycle.scale if cycle is not None else default_scale()
    guideline = (cycle.guideline if cycle is not None else {}) or {}
    initial = [
        {**{k: row.get(k) for k in ("grade", "label", "min", "max", "description")},
         "guideline": guideline.get(row.get("grade"))}
        for row in scale
    ]
    if data is not None:
        # Bound: the posted rows are the scale. (With `initial`, a row left as it was
        # would count as unchanged, and an unchanged extra row is skipped as blank.)
        return ScaleFormSet(data, prefix="scale")
    return ScaleFormSet(initial=initial, prefix="scale")


class CycleCloseForm(forms.Form):
    """The close's confirmation; before the calibration phase, the written reason of the override."""

    reason = forms.CharField(
        label=_("Why close before the calibration phase?"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with the cycle and shown on its page, with your name."),
    )

    def __init__(self, *args, early: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if early:  # the service decides again on the phase it finds (see closing.cycle_close_start)
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = CLOSE_EARLY_NEEDS_REASON
