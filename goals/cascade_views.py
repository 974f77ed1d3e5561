"""Pages of cascades, the cascade tree and objective templates.

Objectives, units and templates outside the user's view answer 404; a
refused cascade or template change shows the service's field messages
with status 400 and saves nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.template.defaultfilters import floatformat
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from scorecard.access import scope_for
from scorecard.forms import form_errors_from
from scorecard.models import OrgUnit
from scorecard.selectors import units_visible
from scorecard.units import unit_label

from .numbers import kpi_display

from . import cascades, selectors
from .cascade_forms import CascadeForm, TemplateAssignForm, TemplateForm, TreeFilterForm
from .models import Objective, ObjectiveTemplate
from .services import can_edit_owner

NOT_SAVED = _("Nothing was saved: please correct the fields marked below.")
CASCADED = _("%(count)s child objectives created as drafts; the managers agree them level by level.")
NOTHING_TO_CASCADE = _("Nothing to create: every child of this cascade exists already.")
TEMPLATE_SAVED = _("Template “%(name)s” saved.")
ASSIGNED = _("%(count)s objectives created from the template; %(skipped)s agents already had one for this period.")


def _objective_for(request: HttpRequest, pk: int) -> Objective:
    objective = get_object_or_404(
        Objective.objects.select_related("owner_unit", "owner_person__unit", "kpi", "parent"), pk=pk
    )
    if not selectors.objective_visible(request.user, objective):
        raise Http404
    return objective


def _plan_rows(plan: list[cascades.PlannedChild], unit: str) -> list[dict]:
    return [{"node": n, "indent": n.level - 1, "unit": unit} for n in plan]


@login_required
def objective_cascade_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Plan a cascade ("Preview"), then create it ("Create"); nothing is created before the user confirms."""
    objective = _objective_for(request, pk)
    owners = []
    if objective.owner_unit_id:
        org = cascades._load_org(objective.owner_unit)
        owners = org.beneath(org.root)
    data = request.POST if request.method == "POST" else None
    initial = {"method": cascades.SAME if objective.kind == Objective.Kind.MILESTONE or (
        objective.kpi_id and "/" in objective.kpi.formula) else cascades.HEADCOUNT}
    form = CascadeForm(data, owners=owners, initial=initial)
    if data is not None and form.is_valid() and form.cleaned_data["depth"] == cascades.DEPTH_AGENTS \
            and form.cleaned_data["method"] == cascades.TYPED and objective.owner_unit_id:
        # Typed values for every level down to the agents: one input row per planned owner.
        everyone = []

        def down(unit):
            for member in org.beneath(unit):
                everyone.append(member)
                if isinstance(member, OrgUnit):
                    down(member)

        down(org.root)
        form = CascadeForm(data, owners=everyone, initial=initial)
        form.is_valid()
    ctx = {"objective": objective, "form": form, "plan": None,
           "unit": unit_label(objective.kpi.unit) if objective.kpi_id else ""}
    status = 200
    if data is not None:
        if form.is_valid():
            args = dict(user=request.user, objective=objective, depth=form.cleaned_data["depth"],
                        method=form.cleaned_data["method"], typed=form.typed_values())
            try:
                if "create" in request.POST:
                    created = cascades.cascade_apply(**args)
                    if created:
                        messages.success(request, CASCADED % {"count": len(created)})
                    else:
                        messages.info(request, NOTHING_TO_CASCADE)
                    # Straight to the cascaded objective's row, its new children open beneath it.
                    return redirect(_tree_url(objective) + f"#o{objective.pk}")
                plan = cascades.cascade_preview(**args)
                ctx["plan"] = _plan_rows(plan, ctx["unit"])
                ctx["new_count"] = sum(1 for n in plan if n.existing is None)
            except ValidationError as exc:
                form_errors_from(form, exc)
        if form.errors:
            messages.error(request, NOT_SAVED)
            status = 400
    return render(request, "goals/cascade_form.html", ctx, status=status)


def _tree_url(objective: Objective) -> str:
    return reverse("cascade-tree") + f"?period={cascades.quarter_code(objective.period_start)}"


def _open_ids(request: HttpRequest) -> frozenset[int]:
    return frozenset(int(v) for v in request.GET.getlist("open") if v.isdigit())


@login_required
def cascade_tree_page(request: HttpRequest) -> HttpResponse:
    """The cascade tree of a quarter, from the center (or the user's visible root) down to agents.

    Branches are open down to the teams; in a large view the agents'
    objectives under a unit's objective are counted, and listed when that
    branch is opened (?open=<id>, repeatable). Queries, whatever the number
    of objectives: filter choices (2), then those of cascades.cascade_tree —
    plus session and user.
    """
    filters = request.GET.copy()
    filters.pop("open", None)  # which branches are open is not a filter: the form stays unbound without filters
    form = TreeFilterForm(filters or None, initial={"period": cascades.quarter_code(cascades.parse_quarter(None)[0])})
    if form.is_bound and not form.is_valid():
        return render(request, "goals/tree.html", {"form": form, "nodes": []}, status=400)
    data = form.cleaned_data if form.is_bound else {}
    start, end = data.get("range") or cascades.parse_quarter(None)
    open_ids = _open_ids(request)
    nodes = cascades.cascade_tree(
        request.user, start=start, end=end, perspective=data.get("perspective") or None,
        kpi=data.get("kpi") or None, status=data.get("status") or None,
        people_inline=cascades.PEOPLE_INLINE, open_ids=open_ids,
    )
    # One reverse per kind of link (a {% url %} per node costs more than the rest of the row).
    detail = reverse("objective-detail", args=[999999999])
    cascade = reverse("objective-cascade", args=[999999999])
    keep = {k: v for k, v in request.GET.items() if k != "open" and v}
    user = request.user
    # Each row's words and numbers as printed, made here once per row: translations looked up once,
    # plain dicts for the template (a row of property lookups and translation tags costs ~1 ms).
    statuses = {value: str(label) for value, label in Objective.Status.choices}
    milestone = gettext("Milestone")
    at_risk_forecast, short_by = gettext("at risk: forecast %(f)s"), gettext("misaligned: short by %(gap)s")
    contributing = gettext("Objectives contributing to “%(title)s” (%(owner)s)")
    rows = []
    for n in nodes:
        o = n.objective
        # The numbers as printed, with the KPI's decimals and unit (here, not by filters: ~2,000 rows).
        unit = o.kpi.unit if o.kpi_id else ""
        p, a = n.progress, n.alignment
        owner = o.owner
        forecast = kpi_display(p.forecast, unit) if o.kpi_id and p and p.forecast is not None else ""
        gap = kpi_display(a.gap, unit) if a and not a.aligned else ""
        row = {
            "pk": o.pk, "depth": n.depth, "matches": n.matches, "title": o.title, "owner_name": owner.name,
            "owner_code": owner.code, "status": statuses.get(o.status, o.status), "period_ended": o.period_ended,
            "kpi": o.kpi.label if o.kpi_id else milestone,
            "target": kpi_display(o.target, unit) if o.kpi_id else "—",
            "value": kpi_display(p.value if p else None, unit) if o.kpi_id else "—",
            "percent": (f"{floatformat(p.shown_percent, '0')} %" if p and p.percent is not None else ""),
            "below_baseline": bool(p and p.below_baseline),
            "at_risk": bool(p and p.at_risk),
            # As {% blocktranslate %} prints them: the variables escaped, the translation as it stands.
            "risk": mark_safe(at_risk_forecast % {"f": conditional_escape(forecast)}) if forecast else "",
            "gap": mark_safe(short_by % {"gap": conditional_escape(gap)}) if gap else "",
            "url": detail.replace("999999999", str(o.pk)) if n.visible else "",
            "cascade_url": (cascade.replace("999999999", str(o.pk))
                            if o.owner_unit_id and o.status != Objective.Status.CANCELLED
                            and can_edit_owner(user, o.owner_unit) else ""),
            "people_hidden": n.people_hidden, "people_url": "", "people_text": "",
            "children": bool(n.children), "open": n.open, "closes": n.close_range,
            "toggle": (mark_safe(contributing % {"title": conditional_escape(o.title),
                                                 "owner": conditional_escape(owner.name)}) if n.children else ""),
        }
        if n.people_hidden:
            query = urlencode({**keep, "open": sorted(open_ids | {o.pk})}, doseq=True)
            row["people_url"] = f"?{query}#o{o.pk}"
            row["people_text"] = mark_safe(ngettext(
                "Show %(counter)s agent's objective", "Show %(counter)s agents' objectives", n.people_hidden,
            ) % {"counter": n.people_hidden})
        rows.append(row)
    ctx = {"form": form, "nodes": nodes, "rows": rows, "start": start, "end": end,
           "period": cascades.quarter_code(start),
           "open_depth": cascades.OPEN_DEPTH,
           "can_templates": scope_for(user).sees_units}
    return render(request, "goals/tree.html", ctx)


# ------------------------------------------------------------------ templates


def _require_template_user(request: HttpRequest) -> None:
    user = request.user
    if not scope_for(user).sees_units:
        raise Http404


def _template_for(request: HttpRequest, pk: int) -> ObjectiveTemplate:
    _require_template_user(request)
    return get_object_or_404(cascades.templates_visible(request.user), pk=pk)


@login_required
def template_list_page(request: HttpRequest) -> HttpResponse:
    """The templates of the units the user manages (2 queries)."""
    _require_template_user(request)
    templates = list(cascades.templates_visible(request.user).order_by("unit__path", "name"))
    return render(request, "goals/template_list.html", {"templates": templates})


def _template_form_page(request, form, template=None, status=200):
    if form.errors:
        messages.error(request, NOT_SAVED)
        status = 400
    return render(request, "goals/template_form.html", {"form": form, "template": template}, status=status)


@login_required
def template_create_page(request: HttpRequest) -> HttpResponse:
    _require_template_user(request)
    form = TemplateForm(request.POST or None, units=units_visible(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            template = cascades.objective_template_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, TEMPLATE_SAVED % {"name": template.name})
            return redirect("template-list")
    return _template_form_page(request, form)


@login_required
def template_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template_for(request, pk)
    initial = {name: getattr(template, name) for name in cascades.TEMPLATE_FIELDS}
    form = TemplateForm(request.POST or None, units=units_visible(request.user), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            template = cascades.objective_template_update(user=request.user, template=template, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, TEMPLATE_SAVED % {"name": template.name})
            return redirect("template-list")
    return _template_form_page(request, form, template)


def template_parents(template: ObjectiveTemplate):
    """Objectives of the template's unit or a unit above it: the possible parents of its assignments."""
    ids = cascades._path_ids(template.unit.path)
    return (Objective.objects.filter(owner_unit_id__in=ids).exclude(status=Objective.Status.CANCELLED)
            .select_related("owner_unit").order_by("-period_start", "owner_unit__depth", "title"))


@login_required
def template_assign_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the template's objective to every agent of its unit's subtree, in one step."""
    template = _template_for(request, pk)
    from scorecard.periods import quarter_of
    from django.utils import timezone

    start, end = quarter_of(timezone.localdate())
    form = TemplateAssignForm(request.POST or None, parents=template_parents(template),
                              initial={"period_start": start, "period_end": end, "due_date": end})
    if request.method == "POST" and form.is_valid():
        try:
            result = cascades.objective_template_assign(user=request.user, template=template, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, ASSIGNED % {"count": len(result.created), "skipped": result.skipped})
            return redirect("template-list")
    status = 200
    if form.errors:
        messages.error(request, NOT_SAVED)
        status = 400
    return render(request, "goals/template_assign.html", {"form": form, "template": template}, status=status)
