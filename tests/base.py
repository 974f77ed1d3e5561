"""Named test users, after healthchecks' hc/test.py.

The center C has departments D1 (teams T1, T2) and D2 (team T3).
Alice is an agent on team T1 and Bob is her peer; Mike manages T1 and
Dana manages department D1 (so T1 and T2). Olga manages T3 in the other
department and must see nothing of T1. Hana is HR and Dirk the director:
both see the whole center. Every password is "pw".
"""

from __future__ import annotations

from dataclasses import dataclass

from scorecard.imports import _compute_paths
from scorecard.models import OrgUnit, Person

PASSWORD = "pw"


@dataclass
class Org:
    center: OrgUnit
    d1: OrgUnit
    d2: OrgUnit
    t1: OrgUnit
    t2: OrgUnit
    t3: OrgUnit
    alice: Person
    bob: Person
    carl: Person
    mike: Person
    dana: Person
    olga: Person
    hana: Person
    dirk: Person


def make_unit(code: str, name: str, parent: OrgUnit | None = None) -> OrgUnit:
    unit = OrgUnit.objects.create(code=code, name=name, parent=parent)
    _compute_paths()
    unit.refresh_from_db()
    return unit


def make_person(code: str, name: str, unit: OrgUnit | None, role: str, manager: Person | None = None) -> Person:
    return Person.objects.create_user(
        code, PASSWORD, name=name, email=f"{code.lower()}@example.com", unit=unit, role=role, manager=manager
    )


def build_org() -> Org:
    center = make_unit("C", "Center")
    d1 = make_unit("D1", "Inbound", center)
    d2 = make_unit("D2", "Outbound", center)
    t1 = make_unit("T1", "Team One", d1)
    t2 = make_unit("T2", "Team Two", d1)
    t3 = make_unit("T3", "Team Three", d2)
    dirk = make_person("DIRK", "Dirk Director", center, "director")
    hana = make_person("HANA", "Hana HR", center, "hr", dirk)
    dana = make_person("DANA", "Dana Dept", d1, "manager", dirk)
    mike = make_person("MIKE", "Mike Manager", t1, "manager", dana)
    olga = make_person("OLGA", "Olga Other", t3, "manager", dirk)
    alice = make_person("ALICE", "Alice Agent", t1, "agent", mike)
    bob = make_person("BOB", "Bob Peer", t1, "agent", mike)
    carl = make_person("CARL", "Carl Two", t2, "agent", dana)
    return Org(center, d1, d2, t1, t2, t3, alice, bob, carl, mike, dana, olga, hana, dirk)
