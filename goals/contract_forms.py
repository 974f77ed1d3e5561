"""Forms of the contract pages. They only parse input; goals.contracts checks the rules.

The contract form has one row per candidate objective (an "include" box and
a weight: `o-<id>`, `w-<id>`) and one row per reward grade (`grade-<n>`,
`outcome-<n>`); the service's messages about objectives, weights and the
reward table are kept by group (`group_errors`) and shown where they belong.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Contract, Objective

EXTRA_REWARD_ROWS = 2
MAX_REWARD_ROWS = 30
WEIGHT_MISSING = _("Give a weight for each objective you include.")


class ContractPersonForm(forms.Form):
    """Choose whose contract to write and for which period (the create page's first step)."""

    person = forms.ChoiceField(label=_("Employee"))
    start = forms.DateField(label=_("Period start"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Period end"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [(p.employee_code, f"{p.employee_code} {p.name}") for p in people]


READ_REQUIRED = _("Tick “I have read this version” to sign it: a signature binds you to exactly this text.")


class ContractSignForm(forms.Form):
    """Confirm a signature: the reader ticks that they read this version; the hash ties it to the text they saw."""

    confirm = forms.BooleanField(
        label=_("I have read this version"), required=True, error_messages={"required": READ_REQUIRED},
    )
    content_hash = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)


class ContractFilterForm(forms.Form):
    start = forms.DateField(label=_("Period from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Period to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any status"))] + Contract.Status.choices)
    person = forms.CharField(label=_("Employee code"), required=False, max_length=32)


class ContractForm(forms.Form):
    """A contract's objectives and weights, support, reward table and terms."""

    support = forms.CharField(
        label=_("Support and resources the manager commits to"), required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    terms_text = forms.CharField(
        label=_("Reward and penalty terms"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Anything the table does not say: how the grade is decided, when the outcome applies."),
    )

    def __init__(
        self, *args, objectives: list[Objective], weights: dict[int, float] | None = None,
        included: set[int] | None = None, reward_terms: list[dict] | None = None, with_reason: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.objectives = objectives
        self.group_errors: dict[str, list[str]] = {}
        weights = weights or {}
        included = {o.pk for o in objectives} if included is None else included
        if with_reason:
            # Not required here: the service says what is missing, in its own words.
            self.fields["reason"] = forms.CharField(
                label=_("Reason for the amendment"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                help_text=_("Why the signed contract must change: both parties sign the new version again."),
            )
            self.order_fields(["reason"])
        for o in objectives:
            self.fields[f"o-{o.pk}"] = forms.BooleanField(label=o.title, required=False, initial=o.pk in included)
            self.fields[f"w-{o.pk}"] = forms.FloatField(
                label=_("Weight of “%(title)s”") % {"title": o.title}, required=False,
                initial=weights.get(o.pk, o.weight or None),
            )
        rows = list(reward_terms or [])
        count = len(rows) + EXTRA_REWARD_ROWS
        if self.is_bound:
            posted = [int(k[6:]) for k in self.data if k.startswith("grade-") and k[6:].isdigit()]
            count = min(max(posted, default=-1) + 1 + EXTRA_REWARD_ROWS, MAX_REWARD_ROWS)
        for i in range(count):
            row = rows[i] if i < len(rows) else {}
            self.fields[f"grade-{i}"] = forms.CharField(
                label=_("Grade, row %(n)s") % {"n": i + 1}, required=False, max_length=100, initial=row.get("grade", ""),
            )
            self.fields[f"outcome-{i}"] = forms.CharField(
                label=_("Outcome, row %(n)s") % {"n": i + 1}, required=False, max_length=500,
                initial=row.get("outcome", ""),
            )
        self.reward_count = count

    # For the template: the rows of the two tables.
    def objective_rows(self):
        for o in self.objectives:
            yield o, self[f"o-{o.pk}"], self[f"w-{o.pk}"]

    def reward_rows(self):
        for i in range(self.reward_count):
            yield i + 1, self[f"grade-{i}"], self[f"outcome-{i}"]

    def clean(self):
        data = super().clean()
        lines = []
        for o in self.objectives:
            if not data.get(f"o-{o.pk}"):
                continue
            weight = data.get(f"w-{o.pk}")
            if weight is None:
                if f"w-{o.pk}" not in self.errors:
                    self.add_error(f"w-{o.pk}", WEIGHT_MISSING)
                continue
            lines.append((o, weight))
        data["objectives"] = lines
        data["reward_terms"] = [
            {"grade": data.get(f"grade-{i}", ""), "outcome": data.get(f"outcome-{i}", "")}
            for i in range(self.reward_count)
        ]
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put the service's messages on the form: by group for the tables, by field, else on top."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for key, messages in exc.message_dict.items():
            if key in ("objectives", "weights", "reward_terms"):
                self.group_errors.setdefault(key, []).extend(messages)
                self.add_error(None, messages)
            elif key in self.fields:
                self.add_error(key, messages)
            else:
                self.add_error(None, messages)
