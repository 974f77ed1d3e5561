"""HTML forms of check-ins, replies and influencing factors. Forms only parse; the rules live in checkins.py."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from scorecard.models import Kpi

from .models import InfluencingFactor, Objective


class CheckInForm(forms.Form):
    progress_note = forms.CharField(
        label=_("Progress made"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
    )
    progress = forms.FloatField(
        label=_("Progress (%)"), required=False, min_value=0, max_value=100,
        help_text=_("How much of the milestone is done, 0–100; it becomes the objective's progress."),
    )
    obstacles = forms.CharField(label=_("Obstacles"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    help_needed = forms.CharField(label=_("Help needed"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_steps = forms.CharField(label=_("Next steps"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, objective: Objective, **kwargs):
        super().__init__(*args, **kwargs)
        # The service says "required" in its own words (NOTE_REQUIRED), like every refused field.
        self.fields["progress_note"].widget.attrs["required"] = True
        if objective.kind != Objective.Kind.MILESTONE:
            del self.fields["progress"]  # a KPI objective's progress comes from its KPI


class ReplyForm(forms.Form):
    reply = forms.CharField(label=_("Reply"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class FactorForm(forms.Form):
    name = forms.CharField(label=_("Factor"), required=False, max_length=200)
    category = forms.ChoiceField(
        label=_("Fishbone category"), required=False, choices=[("", "—")] + list(InfluencingFactor.Category.choices)
    )
    controllable = forms.BooleanField(label=_("Controllable"), required=False)
    influenceable = forms.BooleanField(label=_("Influenceable"), required=False)
    kpi = forms.ModelChoiceField(
        label=_("Related KPI"), required=False, queryset=Kpi.objects.order_by("order", "code"), to_field_name="code",
        empty_label="—",
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    @classmethod
    def for_factor(cls, factor: InfluencingFactor, **kwargs) -> FactorForm:
        initial = {
            "name": factor.name, "category": factor.category, "controllable": factor.controllable,
            "influenceable": factor.influenceable, "kpi": factor.kpi, "note": factor.note,
        }
        return cls(initial=initial, **kwargs)
