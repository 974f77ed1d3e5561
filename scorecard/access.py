"""Who may see what: one scope per user, the single rule every app filters with.

An agent sees themself; a manager sees their unit's subtree (its units and
the people in them) and themself; HR, directors and superusers see the
whole center; an anonymous visitor sees nothing. A manager without a unit
sees only themself.

Every selector, page, API, PDF, export and admin list reads this rule
through `scope_for(user)`: the Q filters (`units_q`, `people_q`, `owner_q`)
for querysets, and `sees_unit` / `sees_person` / `sees_owner` for one loaded
object. Objects outside a scope answer 404, never 403, so ids and codes
cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q

from .models import OrgUnit, Person

# What matches every row and what matches none, without a join and without SQL:
# Django drops an empty IN list from the query (or returns no rows for it).
# `Q()` cannot stand for "everything": `Q() | q` is just `q`.
EVERYTHING = ~Q(pk__in=[])
NOTHING = Q(pk__in=[])


def subtrees_q(paths: Iterable[str], prefix: str = "") -> Q:
    """The units in the subtrees at these materialised paths, as a filter (`prefix` reaches the unit from another
    model, "unit__"); nothing for no path."""
    parts = [Q(**{f"{prefix}path__startswith": path}) for path in paths]
    return Q(*parts, _connector=Q.OR) if parts else NOTHING


class Kind(StrEnum):
    NONE = "none"  # anonymous
    SELF = "self"  # an agent, or a manager without a unit
    SUBTREE = "subtree"  # a manager: their unit's subtree
    ALL = "all"  # HR, directors, superusers: the whole center


@dataclass(frozen=True)
class Scope:
    kind: Kind
    person_id: int | None = None
    unit_id: int | None = None  # the user's unit: for a manager, the root of their subtree (answered for above them)
    paths: tuple[str, ...] = ()  # the materialised paths of the subtrees seen (SUBTREE)

    # ------------------------------------------------------------- kind

    @property
    def is_all(self) -> bool:
        return self.kind == Kind.ALL

    @property
    def signed_in(self) -> bool:
        return self.kind != Kind.NONE

    @property
    def sees_units(self) -> bool:
        """Sees org units at all (a manager of a unit, or the whole center): unit pages, templates, rankings."""
        return self.kind in (Kind.SUBTREE, Kind.ALL)

    # -------------------------------------------------------- querysets

    def units_q(self, prefix: str = "") -> Q:
        """The org units in view, as a filter; `prefix` reaches the unit from another model ("unit__")."""
        if self.kind == Kind.ALL:
            return EVERYTHING
        if self.kind == Kind.SUBTREE:
            return subtrees_q(self.paths, prefix)
        return NOTHING

    def people_q(self, prefix: str = "") -> Q:
        """The people in view, as a filter; `prefix` reaches the person from another model ("person__")."""
        if self.kind == Kind.ALL:
            return EVERYTHING
        if self.kind == Kind.NONE:
            return NOTHING
        own = Q(**{f"{prefix}pk": self.person_id})
        if self.kind == Kind.SELF:
            return own
        return own | self.units_q(f"{prefix}unit__")

    def owner_q(self, unit: str | None = "owner_unit", person: str | None = "owner_person") -> Q:
        """What belongs to a unit in view or to a person in view, through these fields (objectives, appraisals:
        their two owner fields; "" is the model itself, None a side the model does not have)."""
        if self.kind in (Kind.ALL, Kind.NONE):
            return self.units_q()
        parts = []
        if unit is not None:
            parts.append(self.units_q(f"{unit}__" if unit else ""))
        if person is not None:
            parts.append(self.people_q(f"{person}__" if person else ""))
        return Q(*parts, _connector=Q.OR) if parts else NOTHING

    # ---------------------------------------------------------- objects

    def sees_unit(self, unit: OrgUnit | None) -> bool:
        if unit is None or self.kind in (Kind.NONE, Kind.SELF):
            return False
        return self.kind == Kind.ALL or unit.path.startswith(self.paths)

    def sees_person(self, person: Person | None) -> bool:
        """Reads `person.unit` (select_related it) unless the answer is known without it."""
        if person is None or self.kind == Kind.NONE:
            return False
        if self.kind == Kind.ALL or person.pk == self.person_id:
            return True
        return self.kind == Kind.SUBTREE and bool(person.unit_id) and self.sees_unit(person.unit)

    def sees_owner(self, owner: OrgUnit | Person | None) -> bool:
        return self.sees_unit(owner) if isinstance(owner, OrgUnit) else self.sees_person(owner)

    def sees_below(self, owner: OrgUnit | Person | None) -> bool:
        """Answers for this owner: in view and not the user's own — another person, or a unit below a
        manager's own (HR and directors answer for every unit)."""
        if isinstance(owner, Person):
            return owner.pk != self.person_id and self.sees_person(owner)
        return self.sees_unit(owner) and (self.kind == Kind.ALL or owner.pk != self.unit_id)


def scope_build(user) -> Scope:
    """The user's scope (reads `user.unit` for a manager: 1 query unless loaded)."""
    if user is None or not user.is_authenticated:
        return Scope(Kind.NONE)
    if user.sees_whole_center:
        return Scope(Kind.ALL, user.pk, user.unit_id)
    if user.role == Person.Role.MANAGER and user.unit_id:
        return Scope(Kind.SUBTREE, user.pk, user.unit_id, (user.unit.path,))
    return Scope(Kind.SELF, user.pk)


def scope_for(user) -> Scope:
    """The user's scope, built once per user object (a request's user) and kept on it.

    Rebuilt when what it depends on changes on that object (role, unit, superuser), so a
    test or a service that changes a user in place never reads a stale scope.
    """
    if user is None:
        return Scope(Kind.NONE)
    key = (
        user.is_authenticated, user.pk, getattr(user, "role", None), getattr(user, "is_superuser", False),
        getattr(user, "unit_id", None),
    )
    cached = getattr(user, "_access_scope", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    scope = scope_build(user)
    user._access_scope = (key, scope)
    return scope


class ScopedAdminMixin:
    """An admin whose lists, searches and pages hold only what the staff user's scope holds (superusers: all).

    Set `scope_unit` and/or `scope_person` to the fields that reach the row's unit or person ("" for the
    model itself), as `Scope.owner_q` takes them.
    """

    scope_unit: str | None = None
    scope_person: str | None = None

    def get_queryset(self, request):
        scope = scope_for(request.user)
        return super().get_queryset(request).filter(scope.owner_q(unit=self.scope_unit, person=self.scope_person))
