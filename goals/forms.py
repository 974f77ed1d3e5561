"""HTML forms of the objective pages. Forms only parse; the rules live in services.py and smart.py."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard.models import Kpi, OrgUnit, Person, Perspective
from scorecard.periods import quarter_of
from scorecard.selectors import subject_get

from .models import Objective

LEADING_ROLES = (Person.Role.MANAGER, Person.Role.HR, Person.Role.DIRECTOR)
OWNER_UNKNOWN = _("Unknown owner, or one whose objectives you may not set.")


def quarter_choices(today: dt.date | None = None) -> list[tuple[str, str]]:
    """Quarter presets: four quarters back, this one, and the next two, newest first ("2026Q3")."""
    today = today or timezone.localdate()
    start, _end = quarter_of(today)
    starts = []
    for step in range(-2, 5):
        month = start.month - 3 * step
        year = start.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        starts.append(dt.date(year, month, 1))
    return [(f"{d.year}Q{(d.month - 1) // 3 + 1}", f"{d.year} Q{(d.month - 1) // 3 + 1}") for d in starts]


def quarter_range(code: str) -> tuple[dt.date, dt.date] | None:
    try:
        year, quarter = code.split("Q")
        return quarter_of(dt.date(int(year), 3 * (int(quarter) - 1) + 1, 1))
    except (ValueError, TypeError):
        return None


def resolve_owner(user, code: str) -> OrgUnit | Person | None:
    """The unit or person with this code if the user may see it; None otherwise."""
    if not code:
        return None
    try:
        return subject_get(user, code.strip()).obj
    except Http404:
        return None


def parent_choices(owner) -> list[Objective]:
    """Objectives the owner's objectives may hang under: those of the units above it (and its own unit's)."""
    if owner is None:
        return []
    path = owner.path if isinstance(owner, OrgUnit) else (owner.unit.path if owner.unit_id else "")
    ids = [int(part) for part in path.strip("/").split("/") if part]
    if not ids:
        return []
    if isinstance(owner, OrgUnit):
        ids = ids[:-1]  # a unit's objectives hang under those of the units strictly above it
    # Units' objectives and their managers' own ones; never a peer agent's.
    above = Q(owner_unit_id__in=ids) | Q(owner_person__unit_id__in=ids, owner_person__role__in=LEADING_ROLES)
    qs = (
        Objective.objects.filter(above)
        .exclude(status=Objective.Status.CANCELLED)
        .select_related("owner_unit", "owner_person")
        .order_by("-period_start", "title")
    )
    if isinstance(owner, Person):
        qs = qs.exclude(owner_person=owner)  # nobody's objective hangs under their own
    return list(qs[:300])


class ObjectiveForm(forms.Form):
    owner = forms.CharField(
        label=_("Owner"), max_length=32, help_text=_("An employee code or an org-unit code.")
    )
    period_start = forms.DateField(label=_("Period start"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("Period end"), widget=forms.DateInput(attrs={"type": "date"}))
    title = forms.CharField(label=_("Title"), max_length=200)
    result = forms.CharField(
        label=_("Result"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The concrete result, stated so two people read it the same way."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Objective.Kind.choices)
    kpi = forms.ModelChoiceField(label=_("KPI"), queryset=Kpi.objects.order_by("perspective__order", "order"),
                                 to_field_name="code", required=False)
    baseline = forms.FloatField(label=_("Baseline"), required=False)
    target = forms.FloatField(label=_("Target"), required=False)
    stretch = forms.FloatField(label=_("Stretch"), required=False)
    completion_criterion = forms.CharField(label=_("Completion criterion"), required=False,
                                           widget=forms.Textarea(attrs={"rows": 2}))
    verification = forms.CharField(label=_("How completion is verified"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 2}))
    resources = forms.CharField(label=_("Resources and support needed"), required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))
    weight = forms.FloatField(label=_("Weight"), initial=0, help_text=_("0 to 100."))
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))
    parent = forms.TypedChoiceField(label=_("Parent objective"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, user, owner_code: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        code = self.data.get("owner") if self.is_bound else (self.initial.get("owner") or owner_code)
        self.owner_obj = resolve_owner(user, code or "")
        self.parents = {o.pk: o for o in parent_choices(self.owner_obj)}
        self.fields["parent"].choices = [("", "—")] + [
            (pk, f"{o.title} ({o.owner_code}, {o.period_start:%Y-%m-%d} – {o.period_end:%Y-%m-%d})")
            for pk, o in self.parents.items()
        ]
        if not self.is_bound and "period_start" not in self.initial:
            start, end = quarter_of(timezone.localdate())
            self.initial.update(period_start=start, period_end=end, due_date=end)

    def clean_owner(self):
        if self.owner_obj is None:
            raise forms.ValidationError(OWNER_UNKNOWN)
        return self.owner_obj

    def clean_parent(self):
        pk = self.cleaned_data.get("parent")
        return self.parents.get(pk) if pk else None

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)

    def smart_fields(self) -> dict:
        """What smart_check needs, from whatever parsed (the form may be partly invalid)."""
        data = getattr(self, "cleaned_data", {})
        fields = ("kind", "title", "result", "kpi", "baseline", "target", "stretch", "completion_criterion",
                  "verification", "resources", "due_date", "period_start", "period_end")
        values = {f: data.get(f) for f in fields}
        for text in ("title", "result", "completion_criterion", "verification", "resources"):
            values[text] = values[text] or ""
        values["kind"] = values["kind"] or self.data.get("kind") or Objective.Kind.KPI
        values["owner"] = self.owner_obj
        return values


def objective_initial(objective: Objective) -> dict:
    initial = {f: getattr(objective, f) for f in (
        "period_start", "period_end", "title", "result", "kind", "baseline", "target", "stretch",
        "completion_criterion", "verification", "resources", "weight", "due_date",
    )}
    initial["owner"] = objective.owner_code
    initial["kpi"] = objective.kpi.code if objective.kpi_id else None
    initial["parent"] = objective.parent_id
    return initial


class TransitionForm(forms.Form):
    action = forms.CharField(max_length=10)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReviseForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the revision"), widget=forms.Textarea(attrs={"rows": 3}))
    baseline = forms.FloatField(label=_("Baseline"), required=False)
    target = forms.FloatField(label=_("Target"), required=False)
    stretch = forms.FloatField(label=_("Stretch"), required=False)
    due_date = forms.DateField(label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, objective: Objective, **kwargs):
        kwargs.setdefault("initial", {f: getattr(objective, f) for f in ("baseline", "target", "stretch", "due_date")})
        super().__init__(*args, **kwargs)
        if objective.kind == Objective.Kind.MILESTONE:
            for name in ("baseline", "target", "stretch"):
                del self.fields[name]


class ObjectiveFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Quarter"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All"))] + Objective.Status.choices)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All"))] + Objective.Kind.choices)
    perspective = forms.ChoiceField(label=_("Perspective"), required=False)
    owner = forms.CharField(label=_("Owner"), required=False, max_length=32)

    def __init__(self, *args, perspectives: list[Perspective], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [("", _("All"))] + quarter_choices()
        self.fields["perspective"].choices = [("", _("All"))] + [(p.code, p.label) for p in perspectives]

    def clean_period(self):
        code = self.cleaned_data.get("period")
        return quarter_range(code) if code else None
