"""HTML forms of the objective pages. Forms only parse; the rules live in services.py and smart.py."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scorecard.access import scope_for
from scorecard.models import Kpi, OrgUnit, Person, Perspective
from scorecard.periods import quarter_of
from scorecard.selectors import people_visible, subject_get, units_visible

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


_CODE_IN_PARENS = re.compile(r"\(([^()]+)\)\s*$")


def owner_code_of(text: str) -> str:
    """The code in what the owner box holds: "Alice Agent (ALICE)" as the picker fills it, or a bare code."""
    text = (text or "").strip()
    match = _CODE_IN_PARENS.search(text)
    return match.group(1).strip() if match else text


def resolve_owner(user, text: str) -> OrgUnit | Person | None:
    """The unit or person the owner box names ("name (code)" or a code) if the user may see it; None otherwise."""
    code = owner_code_of(text)
    if not code:
        return None
    try:
        return subject_get(user, code).obj
    except Http404:
        return None


def owner_label(owner: OrgUnit | Person) -> str:
    """How the owner box and its list show an owner: "name (code)"."""
    return f"{owner.name} ({owner.code})"


def owner_options(user) -> list[str]:
    """Everyone and every unit whose objectives the user may set, as "name (code)" (2 queries).

    An agent sets only their own; a manager their unit's subtree and themself;
    HR and directors the whole center.
    """
    units = list(units_visible(user).order_by("path"))  # none for an agent, without a query
    people = people_visible(user).filter(is_active=True).order_by("unit__path", "name")
    return [owner_label(u) for u in units] + [owner_label(p) for p in people]


def default_owner(user) -> OrgUnit | Person | None:
    """Whose objective a new one is, before the user says: an agent's own; a manager's or director's unit."""
    if user.role == Person.Role.AGENT:
        return user
    if user.role in (Person.Role.MANAGER, Person.Role.DIRECTOR) and user.unit_id:
        return user.unit
    return None


def _chain_unit_ids(path: str) -> list[int]:
    return [int(part) for part in (path or "").strip("/").split("/") if part]


def parent_choices(owner, *, user=None, start: dt.date | None = None, end: dt.date | None = None) -> list[Objective]:
    """Objectives an objective of `owner` for [start, end] may hang under.

    Those of the units above the owner (for a person: their own unit too) and
    of those units' managers — never a peer agent's — whose period overlaps
    [start, end], not cancelled, and that the user may read: in their view,
    or on the chain of units above them (what the cascade tree shows them as
    context). One query.
    """
    if owner is None:
        return []
    ids = _chain_unit_ids(owner.path if isinstance(owner, OrgUnit) else (owner.unit.path if owner.unit_id else ""))
    if isinstance(owner, OrgUnit):
        ids = ids[:-1]  # a unit's objectives hang under those of the units strictly above it
    if not ids:
        return []
    above = Q(owner_unit_id__in=ids) | Q(owner_person__unit_id__in=ids, owner_person__role__in=LEADING_ROLES)
    qs = Objective.objects.filter(above).exclude(status=Objective.Status.CANCELLED)
    if start and end:
        qs = qs.filter(period_start__lte=end, period_end__gte=start)
    scope = scope_for(user) if user is not None else None
    if scope is not None and not scope.is_all:
        # What the user reads, plus the units on their own chain upward (their team, department, center).
        user_chain = _chain_unit_ids(user.unit.path) if user.unit_id else []
        qs = qs.filter(scope.owner_q() | Q(owner_unit_id__in=user_chain))
    qs = qs.select_related("owner_unit", "owner_person").order_by("-period_start", "owner_unit__path", "title")
    if isinstance(owner, Person):
        qs = qs.exclude(owner_person=owner)  # nobody's objective hangs under their own
    return list(qs[:300])


class KpiChoiceField(forms.ModelChoiceField):
    """KPIs by their name in the reader's language, grouped by perspective (the code is only the value sent)."""

    def label_from_instance(self, obj: Kpi) -> str:
        return obj.label


class ObjectiveForm(forms.Form):
    owner = forms.CharField(
        label=_("Owner"), max_length=250,
        help_text=_("Start typing a name or a code and pick from the list: a person, or an org unit."),
        widget=forms.TextInput(attrs={"list": "owner-options", "autocomplete": "off"}),
    )
    period_start = forms.DateField(label=_("Period start"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("Period end"), widget=forms.DateInput(attrs={"type": "date"}))
    title = forms.CharField(label=_("Title"), max_length=200)
    result = forms.CharField(
        label=_("Result"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The concrete result, stated so two people read it the same way."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Objective.Kind.choices)
    kpi = KpiChoiceField(label=_("KPI"), queryset=Kpi.objects.order_by("perspective__order", "order"),
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
        if not self.is_bound and "period_start" not in self.initial:
            start, end = quarter_of(timezone.localdate())
            self.initial.update(period_start=start, period_end=end, due_date=end)
        if self.is_bound:
            self.owner_obj = resolve_owner(user, self.data.get("owner") or "")
            start, end = _date_or_none(self.data.get("period_start")), _date_or_none(self.data.get("period_end"))
        else:
            code = self.initial.get("owner") or owner_code
            self.owner_obj = resolve_owner(user, code) if code else default_owner(user)
            if self.owner_obj is not None:
                self.initial["owner"] = owner_label(self.owner_obj)
            start, end = self.initial.get("period_start"), self.initial.get("period_end")
        self.parents = {o.pk: o for o in parent_choices(self.owner_obj, user=user, start=start, end=end)}
        self.fields["parent"].choices = parent_options(self.parents.values())
        self.fields["kpi"].queryset = self.fields["kpi"].queryset.select_related("perspective")

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
        if not self.is_bound:
            # A new or edited objective not yet posted: check what the form opens with.
            data = {**self.initial, **{f: self.initial.get(f, field.initial) for f, field in self.fields.items()
                                       if f not in self.initial}}
            if isinstance(data.get("kpi"), str):
                data["kpi"] = self.fields["kpi"].queryset.filter(code=data["kpi"]).first()
        fields = ("kind", "title", "result", "kpi", "baseline", "target", "stretch", "completion_criterion",
                  "verification", "resources", "due_date", "period_start", "period_end")
        values = {f: data.get(f) for f in fields}
        for text in ("title", "result", "completion_criterion", "verification", "resources"):
            values[text] = values[text] or ""
        values["kind"] = values["kind"] or self.data.get("kind") or Objective.Kind.KPI
        values["owner"] = self.owner_obj
        return values


def _date_or_none(text) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text).strip()) if text else None
    except ValueError:
        return None


def parent_options(parents) -> list[tuple]:
    """The parent select's options: "—", then "title (owner code, period)"."""
    return [("", "—")] + [
        (o.pk, f"{o.title} ({o.owner_code}, {o.period_start:%Y-%m-%d} – {o.period_end:%Y-%m-%d})") for o in parents
    ]


def objective_initial(objective: Objective) -> dict:
    initial = {f: getattr(objective, f) for f in (
        "period_start", "period_end", "title", "result", "kind", "baseline", "target", "stretch",
        "completion_criterion", "verification", "resources", "weight", "due_date",
    )}
    initial["owner"] = owner_label(objective.owner)
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


PERIOD_ENDED = "ended"


class ObjectiveFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Quarter"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("All")), (PERIOD_ENDED, _("Period ended, to mark achieved or missed"))] + Objective.Status.choices,
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All"))] + Objective.Kind.choices)
    perspective = forms.ChoiceField(label=_("Perspective"), required=False)
    owner = forms.CharField(label=_("Owner"), required=False, max_length=250,
                            widget=forms.TextInput(attrs={"list": "owner-options", "autocomplete": "off"}))

    def __init__(self, *args, perspectives: list[Perspective], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [("", _("All"))] + quarter_choices()
        self.fields["perspective"].choices = [("", _("All"))] + [(p.code, p.label) for p in perspectives]

    def clean_period(self):
        code = self.cleaned_data.get("period")
        return quarter_range(code) if code else None
