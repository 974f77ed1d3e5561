"""Launching a cycle: an appraisal with a frozen snapshot for every participant (reviews.services.cycle_launch).

The cycle covers department D1: Dana (its manager), Mike (T1's manager),
Alice and Bob (T1) and Carl (T2) are appraised; Olga (T3, another department),
Hana (HR) and Dirk (director) are not.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goals.models import Contract, ContractObjective, Objective
from reviews import services
from reviews.models import FeedbackRequest, Appraisal, ObjectiveRating, ReviewCycle
from reviews.snapshot import snapshot_for
from scorecard import services as library_services
from scorecard.models import Kpi, Person, Perspective
from scorecard.selectors import library_load
from tests.base import make_person
from tests.reviews.test_cycles import Q3, make_cycle

Q2 = (dt.date(2026, 4, 1), dt.date(2026, 6, 30))


def objective(owner, title, *, weight=50.0, status=Objective.Status.AGREED, period=Q3, kpi="fcr") -> Objective:
    k = Kpi.objects.get(code=kpi) if kpi else None
    return Objective.objects.create(
        owner_person=owner, period_start=period[0], period_end=period[1], title=title,
        kind=Objective.Kind.KPI if k else Objective.Kind.MILESTONE, kpi=k,
        baseline=70.0 if k else None, target=75.0 if k else None, stretch=80.0 if k else None,
        completion_criterion="" if k else "Certificate uploaded", weight=weight, due_date=period[1],
        status=status, created_by=owner.manager or owner,
    )


def contract(person, lines, *, version=1, status=Contract.Status.SIGNED, locked=True, period=Q3, replaces=None) -> Contract:
    c = Contract.objects.create(
        person=person, manager=person.manager, period_start=period[0], period_end=period[1], version=version,
        status=status, reward_terms=[{"grade": "A", "outcome": "Bonus 150%"}, {"grade": "E", "outcome": "Plan"}],
        terms_text="Grades from the appraisal.", content_hash="abc", created_by=person.manager,
        locked_at=timezone.now() if locked else None, replaces=replaces,
    )
    for o, w in lines:
        ContractObjective.objects.create(contract=c, objective=o, weight=w)
    return c


def launched(org, **overrides) -> ReviewCycle:
    cycle = make_cycle(org, **overrides)
    services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    return cycle


def appraisal_of(cycle, person) -> Appraisal:
    return Appraisal.objects.get(cycle=cycle, person=person)


# ---------------------------------------------------------------- who is in


def test_launch_opens_an_appraisal_for_every_agent_and_manager_of_the_units(org):
    cycle = make_cycle(org)
    created = services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    assert created == 5
    assert cycle.phase == ReviewCycle.Phase.SELF_ASSESSMENT
    assert cycle.launched_at is not None
    people = set(Appraisal.objects.filter(cycle=cycle).values_list("person__employee_code", flat=True))
    assert people == {"DANA", "MIKE", "ALICE", "BOB", "CARL"}


def test_appraisal_keeps_the_manager_and_unit_at_launch(org):
    cycle = launched(org)
    a = appraisal_of(cycle, org.alice)
    assert (a.manager, a.unit, a.status, a.self_status, a.manager_status) == (
        org.mike, org.t1, Appraisal.Status.OPEN, Appraisal.Part.PENDING, Appraisal.Part.PENDING,
    )
    assert appraisal_of(cycle, org.carl).manager == org.dana


def test_hr_directors_and_inactive_people_are_not_appraised(org):
    gone = make_person("GONE", "Gone Agent", org.t1, "agent", org.mike)
    Person.objects.filter(pk=gone.pk).update(is_active=False)
    cycle = launched(org, units=[org.center])
    people = set(Appraisal.objects.filter(cycle=cycle).values_list("person__employee_code", flat=True))
    assert people == {"DANA", "MIKE", "ALICE", "BOB", "CARL", "OLGA"}


def test_launching_twice_is_refused(org):
    cycle = launched(org)
    with pytest.raises(ValidationError) as exc_info:
        services.cycle_launch(user=org.hana, cycle=cycle)
    assert exc_info.value.message_dict == {"phase": [str(services.ALREADY_LAUNCHED)]}
    assert Appraisal.objects.filter(cycle=cycle).count() == 5


def test_a_person_already_appraised_is_skipped(org):
    cycle = make_cycle(org)
    Appraisal.objects.create(cycle=cycle, person=org.alice, manager=org.mike, unit=org.t1, snapshot={"objectives": []})
    assert services.cycle_launch(user=org.hana, cycle=cycle) == 4
    assert Appraisal.objects.filter(cycle=cycle, person=org.alice).count() == 1


@pytest.mark.parametrize("who", ["mike", "alice"])
def test_only_hr_launches(org, who):
    cycle = make_cycle(org)
    with pytest.raises(PermissionDenied):
        services.cycle_launch(user=getattr(org, who), cycle=cycle)
    assert not Appraisal.objects.exists()


def test_a_cycle_with_nobody_to_appraise_is_not_launched(org):
    empty = org.t2.__class__.objects.create(code="T9", name="Empty", parent=org.d2)
    cycle = make_cycle(org, units=[empty])
    with pytest.raises(ValidationError) as exc_info:
        services.cycle_launch(user=org.hana, cycle=cycle)
    assert exc_info.value.message_dict == {"units": [str(services.NO_PARTICIPANTS)]}
    cycle.refresh_from_db()
    assert cycle.phase == ReviewCycle.Phase.DRAFT


def test_launch_is_atomic(org, monkeypatch):
    cycle = make_cycle(org)
    objective(org.alice, "Raise FCR")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ObjectiveRating.objects, "bulk_create", boom)
    with pytest.raises(RuntimeError):
        services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    assert cycle.phase == ReviewCycle.Phase.DRAFT and cycle.launched_at is None
    assert not Appraisal.objects.exists()


# ------------------------------------------------------------------ snapshot


def test_snapshot_takes_the_weights_of_the_signed_contract(org):
    fcr = objective(org.alice, "Raise first-contact resolution", weight=50)
    course = objective(org.alice, "Complaint-handling course", weight=50, kpi=None, status=Objective.Status.ACTIVE)
    contract(org.alice, [(fcr, 70), (course, 30)])
    cycle = launched(org)
    snap = appraisal_of(cycle, org.alice).snapshot
    assert [(o["title"], o["weight"]) for o in snap["objectives"]] == [
        ("Raise first-contact resolution", 70), ("Complaint-handling course", 30),
    ]
    first = snap["objectives"][0]
    assert first == {
        "id": fcr.pk, "title": "Raise first-contact resolution", "kind": "kpi", "kpi": "fcr", "baseline": 70.0,
        "target": 75.0, "stretch": 80.0, "weight": 70, "due_date": "2026-09-30", "completion_criterion": "",
    }
    assert snap["objectives"][1]["kpi"] is None
    c = Contract.objects.get(person=org.alice)
    assert snap["contract"] == {
        "id": c.pk, "version": 1, "content_hash": "abc",
        "reward_terms": [{"grade": "A", "outcome": "Bonus 150%"}, {"grade": "E", "outcome": "Plan"}],
        "terms_text": "Grades from the appraisal.",
    }
    assert dt.datetime.fromisoformat(snap["taken_at"]) == cycle.launched_at


def test_without_a_contract_the_objectives_weights_are_renormalised(org):
    objective(org.bob, "Raise FCR", weight=30)
    objective(org.bob, "Lower AHT", weight=10, kpi="aht")
    cycle = launched(org)
    snap = appraisal_of(cycle, org.bob).snapshot
    assert [o["weight"] for o in snap["objectives"]] == [75, 25]
    assert snap["contract"] is None


def test_only_agreed_and_active_objectives_of_the_period_are_taken(org):
    objective(org.alice, "Agreed", weight=40)
    objective(org.alice, "Draft", status=Objective.Status.DRAFT)
    objective(org.alice, "Proposed", status=Objective.Status.PROPOSED)
    objective(org.alice, "Cancelled", status=Objective.Status.CANCELLED)
    objective(org.alice, "Last quarter", period=Q2)
    objective(org.bob, "Bob's", weight=20)
    cycle = launched(org)
    assert [o["title"] for o in appraisal_of(cycle, org.alice).snapshot["objectives"]] == ["Agreed"]
    assert appraisal_of(cycle, org.alice).snapshot["objectives"][0]["weight"] == 100


def test_superseded_and_unsigned_contracts_are_ignored(org):
    fcr = objective(org.alice, "FCR", weight=50)
    aht = objective(org.alice, "AHT", weight=50, kpi="aht")
    old = contract(org.alice, [(fcr, 90), (aht, 10)], status=Contract.Status.SUPERSEDED)
    contract(org.alice, [(fcr, 40), (aht, 60)], version=2, replaces=old)
    contract(org.alice, [(fcr, 10), (aht, 90)], version=3, status=Contract.Status.DRAFT, locked=False)
    cycle = launched(org)
    snap = appraisal_of(cycle, org.alice).snapshot
    assert [o["weight"] for o in snap["objectives"]] == [40, 60]
    assert snap["contract"]["version"] == 2


def test_snapshot_freezes_the_kpi_definitions_and_thresholds(org):
    cycle = launched(org)
    fcr = Kpi.objects.get(code="fcr")
    library_services.kpi_update(user=org.dirk, kpi=fcr, baseline=50, typical=60, excellent=95)
    snap = appraisal_of(cycle, org.alice).snapshot
    assert snap["kpis"]["fcr"] == {
        "name": "First-contact resolution", "name_zh": fcr.name_zh, "perspective": "customer", "unit": "%",
        "direction": "higher", "formula": fcr.formula, "factor": 100.0,
        "numerator": ["first_contact_resolved"], "denominator": ["contacts_handled"],
        "baseline": 65.0, "typical": 72.0, "excellent": 80.0, "weight": snap["kpis"]["fcr"]["weight"],
        "min_sample": snap["kpis"]["fcr"]["min_sample"],
    }
    assert set(snap["kpis"]) == set(Kpi.objects.values_list("code", flat=True))
    assert set(snap["perspectives"]) == set(Perspective.objects.values_list("code", flat=True))
    assert {"name", "name_zh", "weight"} == set(next(iter(snap["perspectives"].values())))


def test_objective_ratings_follow_the_snapshot(org):
    fcr = objective(org.alice, "FCR", weight=50)
    course = objective(org.alice, "Course", weight=50, kpi=None)
    contract(org.alice, [(fcr, 60), (course, 40)])
    cycle = launched(org)
    a = appraisal_of(cycle, org.alice)
    rows = list(a.objective_ratings.order_by("objective_id").values_list("objective_id", "title", "weight"))
    assert rows == [(fcr.pk, "FCR", 60), (course.pk, "Course", 40)]
    assert not appraisal_of(cycle, org.bob).objective_ratings.exists()


def test_snapshot_for_one_person_matches_the_launch(org):
    objective(org.alice, "FCR", weight=50)
    cycle = make_cycle(org)
    single = snapshot_for(org.alice, cycle)
    services.cycle_launch(user=org.hana, cycle=cycle)
    stored = appraisal_of(cycle, org.alice).snapshot
    single.pop("taken_at"), stored.pop("taken_at")
    assert single == stored


# ------------------------------------------------------------------- queries


def _agents(org, first: int, n: int) -> None:
    """n more agents in T2, each with two objectives; every other one with a signed contract."""
    for i in range(first, first + n):
        p = make_person(f"A{i:03d}", f"Agent {i}", org.t2, "agent", org.dana)
        o = objective(p, f"FCR {i}", weight=60)
        o2 = objective(p, f"AHT {i}", weight=40, kpi="aht")
        if i % 2:
            contract(p, [(o, 50), (o2, 50)])


def test_launch_takes_the_same_number_of_queries_for_5_or_30_people(org, django_assert_max_num_queries):
    library_load()  # a warm library cache for both launches, as in a running server
    _agents(org, 0, 4)  # T2: Carl and 4 more
    few = make_cycle(org, name="Five", units=[org.t2])
    with CaptureQueriesContext(connection) as ctx:
        assert services.cycle_launch(user=org.hana, cycle=few) == 5
    _agents(org, 4, 25)
    many = make_cycle(org, name="Thirty", units=[org.t2])
    # Expect 17: savepoint, lock the cycle, its units' paths, the participants, the
    # library token, KPI rows, perspectives, objectives, contracts, contract lines, the
    # appraisals (one insert; SQLite splits inserts of more than ~30 appraisals),
    # the objective ratings, the default questionnaire and its competencies, the
    # suggested feedback requests, the cycle's update, the audit log's row, release. The feedback requests
    # are several per person, so SQLite's limit of variables per statement splits
    # their bulk insert into batches: those inserts are counted apart.

    def split(queries):
        inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "reviews_feedbackrequest"')]
        return len(queries) - len(inserts), len(inserts)

    with CaptureQueriesContext(connection) as ctx_many:
        assert services.cycle_launch(user=org.hana, cycle=many) == 30
    few_other, few_inserts = split(ctx.captured_queries)
    many_other, many_inserts = split(ctx_many.captured_queries)
    assert (few_other, few_inserts) == (17, 1)
    assert many_other == few_other
    # One insert per batch of rows: the batches follow the rows, never one query per row.
    requests = FeedbackRequest.objects.filter(cycle=many).count()
    assert many_inserts <= 1 + requests // 30
    assert ObjectiveRating.objects.filter(appraisal__cycle=many).count() == 58
