"""Objective thresholds override the library's in the owner's scorecard for that period."""

import datetime as dt

import pytest

from goals.models import Objective
from scorecard.models import Kpi
from scorecard.selectors import ranking_for_unit, scorecard_for_subject, subject_get
from tests.factories import put

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


def creator():
    from scorecard.models import Person

    return Person.objects.get(employee_code="DIRK")


def kpi_objective(owner, status=Objective.Status.AGREED, start=Q3[0], end=Q3[1], **values):
    fields = dict(baseline=70, target=74, stretch=78)
    fields.update(values)
    owner_field = "owner_person" if hasattr(owner, "employee_code") else "owner_unit"
    return Objective.objects.create(
        **{owner_field: owner}, period_start=start, period_end=end, title="FCR", kind="kpi",
        kpi=Kpi.objects.get(code="fcr"), due_date=end, status=status, weight=20, created_by=creator(), **fields,
    )


@pytest.fixture
def data(org):
    put(org.alice, "2026-07-01", first_contact_resolved=739, contacts_handled=1000)
    put(org.bob, "2026-07-01", first_contact_resolved=739, contacts_handled=1000)


def fcr_score(user, code, start=Q3[0], end=Q3[1]):
    return scorecard_for_subject(subject_get(user, code), start, end).kpi("fcr").score


def test_agreed_objective_thresholds_score_the_owner(org, data):
    kpi_objective(org.alice)
    assert fcr_score(org.dirk, "ALICE") == pytest.approx(60 + 20 * 3.9 / 4)
    assert fcr_score(org.dirk, "BOB") == pytest.approx(84.75)  # the library's


def test_draft_or_cancelled_objectives_do_not_override(org, data):
    kpi_objective(org.alice, status=Objective.Status.DRAFT)
    kpi_objective(org.alice, status=Objective.Status.CANCELLED)
    assert fcr_score(org.dirk, "ALICE") == pytest.approx(84.75)


def test_override_applies_only_within_the_objective_period(org, data):
    kpi_objective(org.alice, start=dt.date(2026, 7, 1), end=dt.date(2026, 7, 31))
    assert fcr_score(org.dirk, "ALICE", dt.date(2026, 7, 1), dt.date(2026, 7, 31)) == pytest.approx(79.5)
    assert fcr_score(org.dirk, "ALICE") == pytest.approx(84.75)  # the quarter is wider than the objective


def test_unit_objective_overrides_the_unit_and_its_ranking(org, data):
    kpi_objective(org.t1)
    kpi_objective(org.bob, baseline=60, target=70, stretch=73.9)
    assert fcr_score(org.dirk, "T1") == pytest.approx(79.5)
    _kind, members = ranking_for_unit(org.t1, *Q3)
    scores = {m.obj.employee_code: m.scorecard.kpi("fcr").score for m in members}
    assert scores == {"ALICE": pytest.approx(84.75), "BOB": pytest.approx(100)}
