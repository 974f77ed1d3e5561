"""The goals app's rows of the to-do list (scorecard.todos): proposals to agree, check-ins to answer,
contracts to sign, objectives whose period ended. Two queries a row at most, whatever the data size."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from scorecard.todos import SHOWN_ITEMS, Todo, TodoItem

from .models import CheckIn, Contract, ContractSignature, Objective
from .selectors import objectives_period_ended, owners_line_q


def _rows(qs: QuerySet) -> tuple[list, int]:
    """The first objects and how many there are (1 query when they all fit, 2 otherwise)."""
    first = list(qs[: SHOWN_ITEMS + 1])
    return first[:SHOWN_ITEMS], (len(first) if len(first) <= SHOWN_ITEMS else qs.count())


def _owner(o: Objective) -> str:
    return o.owner_person.name if o.owner_person_id else o.owner_unit.name


def goals_todos(user) -> list[Todo]:
    todos: list[Todo] = []
    objectives = reverse("objective-list")
    line = owners_line_q(user)
    if line is not None:
        base = Objective.objects.select_related("owner_person", "owner_unit")
        rows, n = _rows(base.filter(line, status=Objective.Status.PROPOSED).order_by("period_start", "pk"))
        todos.append(Todo(
            key="proposals", label=_("Proposed objectives to agree"), count=n,
            url=objectives + "?" + urlencode({"status": "proposed"}),
            items=[TodoItem(f"{o.title} — {_owner(o)}", reverse("objective-detail", args=[o.pk])) for o in rows],
        ))
        rows, n = _rows(objectives_period_ended(user).select_related("owner_person", "owner_unit")
                        .order_by("period_end", "pk"))
        todos.append(Todo(
            key="period-ended", label=_("Objectives whose period ended: mark achieved or missed"), count=n,
            url=objectives + "?" + urlencode({"status": "ended"}), due=rows[0].period_end if rows else None,
            items=[TodoItem(f"{o.title} — {_owner(o)}", reverse("objective-detail", args=[o.pk]),
                            note=_("ended %(date)s") % {"date": o.period_end.isoformat()}) for o in rows],
        ))
        checkin_line = owners_line_q(user, "objective__")
        rows, n = _rows(CheckIn.objects.filter(checkin_line, reply="").select_related(
            "objective__owner_person", "objective__owner_unit", "author").order_by("created_at", "pk"))
        todos.append(Todo(
            key="checkins", label=_("Check-ins to answer"), count=n, url=objectives,
            items=[TodoItem(f"{c.objective.title} — {c.author.name}",
                            reverse("objective-detail", args=[c.objective_id]) + f"#checkin-{c.pk}",
                            note=timezone.localtime(c.created_at).strftime("%Y-%m-%d")) for c in rows],
        ))
    signed = ContractSignature.objects.filter(contract=OuterRef("pk"))
    to_sign = Contract.objects.filter(status=Contract.Status.DRAFT).filter(
        (Q(person=user) & ~Exists(signed.filter(role=ContractSignature.Role.EMPLOYEE)))
        | (Q(manager=user) & ~Exists(signed.filter(role=ContractSignature.Role.MANAGER)))
    ).select_related("person").order_by("period_start", "pk")
    rows, n = _rows(to_sign)
    todos.append(Todo(
        key="contracts", label=_("Performance contracts to sign"), count=n, url=reverse("contract-list"),
        items=[TodoItem(_("%(name)s, %(start)s – %(end)s, version %(v)s") % {
            "name": c.person.name, "start": c.period_start.isoformat(), "end": c.period_end.isoformat(),
            "v": c.version}, reverse("contract-detail", args=[c.pk])) for c in rows],
    ))
    return todos
