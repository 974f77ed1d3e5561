"""HTML pages of objectives: list, create, edit a draft, detail, status changes, revision, live SMART check.

Every page resolves its objective through _objective_get, which answers 404
for objectives the user may not see (ids cannot be probed). Refused input
re-renders the form with the service's messages, status 400, nothing saved.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from scorecard.access import scope_for
from scorecard.forms import form_errors_from
from scorecard.models import Perspective
from scorecard.units import unit_label

from . import selectors, services
from .forms import (
    PERIOD_ENDED, ObjectiveFilterForm, ObjectiveForm, ReviseForm, TransitionForm, objective_initial, owner_code_of,
    owner_options,
)
from .cascades import quarter_code
from .models import Objective, ObjectiveEvent
from .selectors import objectives_progress
from .smart import smart_check, smart_check_objective

OBJECTIVE_SAVED = _("Objective “%(title)s” saved.")
OBJECTIVE_PROPOSED = _("Objective “%(title)s” proposed to the manager.")
TRANSITION_DONE = _("Objective %(action)s.")
REVISED = _("Objective revised; the owner has been told.")
NOT_SAVED = _("Nothing was saved: please correct the fields marked below.")
# Buttons say what they do; the timeline says what was done (ObjectiveEvent.Action labels).
ACTION_BUTTONS = {
    "propose": _("Propose"), "agree": _("Agree"), "return": _("Return to the owner"), "reject": _("Reject"),
    "activate": _("Activate"), "achieve": _("Mark achieved"), "miss": _("Mark missed"),
    "cancel": _("Cancel the objective"),
}
PAGE_SIZE = 50
A_ACHIEVE, A_MISS = ObjectiveEvent.Action.ACHIEVE, ObjectiveEvent.Action.MISS
# Slots on the detail page that other parts of the goals app fill in.
DETAIL_SLOTS = ("goals/includes/objective_checkins.html", "goals/includes/objective_factors.html")
HISTORY_FIELDS = ("title", "result", "kpi", "baseline", "target", "stretch", "completion_criterion",
                  "verification", "resources", "weight", "due_date", "period_start", "period_end", "parent")


def _objective_get(user, pk: int) -> Objective:
    objective = (
        selectors.objectives_visible(user)
        .select_related("owner_unit", "owner_person__unit", "kpi__perspective", "parent", "created_by")
        .filter(pk=pk)
        .first()
    )
    if objective is None:
        raise Http404
    return objective


# ----------------------------------------------------------------- list


@login_required
def objective_list_page(request: HttpRequest) -> HttpResponse:
    """The objectives the user may see, filtered and paginated.

    Queries, whatever the data size: perspectives (1), count (1), page (1).
    """
    perspectives = list(Perspective.objects.all())
    form = ObjectiveFilterForm(request.GET or None, perspectives=perspectives)
    qs = selectors.objectives_visible(request.user).select_related(
        "owner_unit", "owner_person__unit", "kpi__perspective"
    ).order_by("-period_start", "owner_unit__path", "owner_person__employee_code", "id")
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if data.get("period"):
        start, end = data["period"]
        qs = qs.filter(period_start__lte=end, period_end__gte=start)
    if data.get("status") == PERIOD_ENDED:
        qs = qs.filter(status__in=Objective.TO_CLOSE, period_end__lt=timezone.localdate())
    elif data.get("status"):
        qs = qs.filter(status=data["status"])
    if data.get("kind"):
        qs = qs.filter(kind=data["kind"])
    if data.get("perspective"):
        qs = qs.filter(kpi__perspective__code=data["perspective"])
    if data.get("owner"):
        code = owner_code_of(data["owner"])  # "name (code)" as the picker fills it, or a bare code
        qs = qs.filter(Q(owner_unit__code=code) | Q(owner_person__employee_code=code))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    keep = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    user = request.user
    rows = [{"o": o, "unit": unit_label(o.kpi.unit) if o.kpi_id else "",
             "to_close": o.period_ended and services.is_owners_manager(user, o.owner),
             "can_cascade": bool(o.owner_unit_id) and o.status != Objective.Status.CANCELLED
             and services.can_edit_owner(user, o.owner_unit)}
            for o in page.object_list]
    ctx = {"form": form, "page": page, "keep": keep, "rows": rows, "owner_options": owner_options(user),
           "can_templates": scope_for(user).sees_units,
           "tree_url": reverse("cascade-tree")}
    return render(request, "goals/objective_list.html", ctx, status=status)


# --------------------------------------------------------------- create/edit


def _form_page(request, form: ObjectiveForm, objective: Objective | None = None, *, status: int = 200):
    form.is_valid()  # parse what can be parsed, for the SMART check
    smart = smart_check(**form.smart_fields())
    ctx = {"form": form, "objective": objective, "smart": smart, "owner_options": owner_options(request.user)}
    return render(request, "goals/objective_form.html", ctx, status=status)


@login_required
def objective_create_page(request: HttpRequest) -> HttpResponse:
    """Write a new objective (?owner=<code>); "preview" shows the SMART check without saving."""
    if request.method != "POST":
        form = ObjectiveForm(user=request.user, owner_code=request.GET.get("owner", ""),
                             initial={"owner": request.GET.get("owner", "")})
        return _form_page(request, form)
    form = ObjectiveForm(request.POST, user=request.user)
    if "preview" in request.POST:
        return _form_page(request, form)
    if form.is_valid():
        propose = "propose" in request.POST
        try:
            objective = services.objective_create(
                user=request.user, **form.service_fields(),
                status=Objective.Status.PROPOSED if propose else Objective.Status.DRAFT,
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, (OBJECTIVE_PROPOSED if propose else OBJECTIVE_SAVED) % {"title": objective.title})
            return redirect("objective-detail", pk=objective.pk)
    messages.error(request, NOT_SAVED)
    return _form_page(request, form, status=400)


@login_required
def objective_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a draft objective (its owner's editors only)."""
    objective = _objective_get(request.user, pk)
    if not services.can_edit_owner(request.user, objective.owner):
        raise Http404
    if not services.can_edit(request.user, objective):
        messages.error(request, services.NOT_EDITABLE)
        return redirect("objective-detail", pk=objective.pk)
    if request.method != "POST":
        form = ObjectiveForm(user=request.user, initial=objective_initial(objective))
        return _form_page(request, form, objective)
    form = ObjectiveForm(request.POST, user=request.user)
    if "preview" in request.POST:
        return _form_page(request, form, objective)
    if form.is_valid():
        try:
            objective = services.objective_update(user=request.user, objective=objective, **form.service_fields())
            if "propose" in request.POST:
                objective = services.objective_transition(
                    user=request.user, objective=objective, action=ObjectiveEvent.Action.PROPOSE
                )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, OBJECTIVE_SAVED % {"title": objective.title})
            return redirect("objective-detail", pk=objective.pk)
    messages.error(request, NOT_SAVED)
    return _form_page(request, form, objective, status=400)


@login_required
def objective_parent_options_fragment(request: HttpRequest) -> HttpResponse:
    """The parent select's <option>s for the owner and period being typed (?owner=&period_start=&period_end=).

    The objective form asks for them when the owner or the period changes;
    without JavaScript the "Check (SMART)" button re-renders the form with them.
    """
    form = ObjectiveForm(request.GET, user=request.user)
    selected = request.GET.get("parent", "")
    return render(request, "goals/includes/parent_options.html",
                  {"options": form.fields["parent"].choices, "selected": selected})


@login_required
@require_POST
def objective_smart_fragment(request: HttpRequest) -> HttpResponse:
    """Run the SMART check on the form being written; answer the includes/smart.html fragment."""
    form = ObjectiveForm(request.POST, user=request.user)
    form.is_valid()
    return render(request, "goals/includes/smart.html", {"smart": smart_check(**form.smart_fields())})


# ------------------------------------------------------------------ detail


def _parent_chain(user, objective: Objective) -> list[dict]:
    """The objectives above this one, top first; links only to those the user may see (one query per level)."""
    chain, seen = [], {objective.pk}
    parent_id = objective.parent_id
    while parent_id and parent_id not in seen and len(chain) < 20:
        seen.add(parent_id)
        parent = Objective.objects.select_related("owner_unit", "owner_person").filter(pk=parent_id).first()
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_id
    visible = set(selectors.objectives_visible(user).filter(pk__in=[p.pk for p in chain]).values_list("pk", flat=True))
    return [{"o": p, "visible": p.pk in visible} for p in reversed(chain)]


def _shown(value):
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return value


def _history_rows(objective: Objective, limit: int = 100) -> list[dict]:
    """Changes of the objective's content (not its status), newest first: old → new, reason, who, when."""
    records = list(objective.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1])
    verbose = {f: Objective._meta.get_field(f).verbose_name for f in HISTORY_FIELDS}
    rows = []
    for i, record in enumerate(records[:limit]):
        previous = records[i + 1] if i + 1 < len(records) else None
        if previous is None or record.history_type != "~":
            continue
        delta = record.diff_against(previous, included_fields=list(HISTORY_FIELDS))
        if not delta.changes:
            continue
        changes = [{"field": verbose[c.field], "old": _shown(c.old), "new": _shown(c.new)} for c in delta.changes]
        rows.append({"record": record, "changes": changes, "reason": record.history_change_reason or ""})
    return rows


def _available(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


FINAL_ACTIONS = ("reject", "cancel", "achieve", "miss")


def _detail_ctx(request, objective: Objective, **extra) -> dict:
    user = request.user
    actions = services.objective_actions(user, objective)
    needs_comment = {a for a, (_s, _t, _w, comment) in services.TRANSITIONS.items() if comment}
    progress = objectives_progress([objective]).get(objective.pk)
    children = selectors.objectives_visible(user).filter(parent=objective).select_related("owner_unit", "owner_person")
    ctx = {
        "o": objective,
        "objective": objective,  # for the slots' templates
        "unit": unit_label(objective.kpi.unit) if objective.kpi_id else "",
        "smart": smart_check_objective(objective),
        # An ended period has its own box with "achieved" / "missed": not offered twice.
        "actions": [{"code": a, "label": ACTION_BUTTONS[a], "comment": a in needs_comment}
                    for a in actions if not (objective.period_ended and a in (A_ACHIEVE, A_MISS))],
        # The steps after which the objective cannot change: the page says so and asks to confirm.
        "final_actions": FINAL_ACTIONS,
        "final_shown": any(a in FINAL_ACTIONS for a in actions),
        "events": objective.events.select_related("by"),
        "history": _history_rows(objective),
        "progress": progress,
        "chain": _parent_chain(user, objective),
        "children": children,
        "can_edit": services.can_edit(user, objective),
        "can_revise": services.can_revise(user, objective),
        "slots": [name for name in DETAIL_SLOTS if _available(name)],
        "transition_form": TransitionForm(),
        # Links onward: the cascade (a unit's objective, for whoever sets that unit's objectives), the tree, templates.
        "can_cascade": bool(objective.owner_unit_id) and objective.status != Objective.Status.CANCELLED
        and services.can_edit_owner(user, objective.owner_unit),
        "can_templates": scope_for(user).sees_units,
        "can_close": objective.period_ended and services.is_owners_manager(user, objective.owner),
        "tree_url": reverse("cascade-tree") + "?" + urlencode({"period": quarter_code(objective.period_start)}),
    }
    ctx.update(extra)
    return ctx


@login_required
def objective_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    objective = _objective_get(request.user, pk)
    return render(request, "goals/objective_detail.html", _detail_ctx(request, objective))


@login_required
@require_POST
def objective_transition_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Take one status step (action + comment); a refused step re-renders the page with the reason, 400."""
    objective = _objective_get(request.user, pk)
    form = TransitionForm(request.POST)
    if form.is_valid():
        action = form.cleaned_data["action"]
        try:
            objective = services.objective_transition(
                user=request.user, objective=objective, action=action, comment=form.cleaned_data["comment"]
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, TRANSITION_DONE % {"action": ObjectiveEvent.Action(action).label})
            return redirect("objective-detail", pk=objective.pk)
    messages.error(request, NOT_SAVED)
    objective = _objective_get(request.user, pk)
    return render(request, "goals/objective_detail.html",
                  _detail_ctx(request, objective, transition_form=form), status=400)


@login_required
def objective_revise_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Revise an agreed or active objective: new target, baseline, stretch or due date, with a reason."""
    objective = _objective_get(request.user, pk)
    if not services.can_revise(request.user, objective):
        raise Http404
    form = ReviseForm(request.POST or None, objective=objective)
    if request.method == "POST" and form.is_valid():
        try:
            services.objective_revise(user=request.user, objective=objective, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, REVISED)
            return redirect("objective-detail", pk=objective.pk)
    status = 400 if form.errors else 200
    if form.errors:
        messages.error(request, NOT_SAVED)
    ctx = {"o": objective, "form": form, "unit": unit_label(objective.kpi.unit) if objective.kpi_id else ""}
    return render(request, "goals/objective_revise.html", ctx, status=status)
