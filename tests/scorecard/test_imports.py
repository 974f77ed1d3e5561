"""The import module: tree rules, upserts and atomicity (the commands' own tests cover the CLI)."""

import pytest

from scorecard.imports import ImportFailed, import_measurements, import_org, import_people
from scorecard.models import Measurement, OrgUnit, Person

ORG = "code,name,parent\nC,Center,\nD1,Inbound,C\nT1,Team 1,D1\nT2,Team 2,D1\n"
PEOPLE = (
    "employee_code,name,email,unit,role,manager\n"
    "M1,Mia,mia@example.com,T1,manager,\n"
    "A1,王芳,wang@example.com,T1,agent,M1\n"
)


def errors_of(call, *args):
    with pytest.raises(ImportFailed) as exc:
        call(*args)
    return [(e.line, e.column) for e in exc.value.errors]


@pytest.fixture
def loaded(db):
    import_org(ORG)
    import_people(PEOPLE)


def test_org_paths_and_depths(db):
    result = import_org(ORG)
    assert result.created == 4
    t1 = OrgUnit.objects.get(code="T1")
    c = OrgUnit.objects.get(code="C")
    assert t1.path.startswith(c.path) and t1.depth == 2
    assert import_org(ORG).created == 0 and import_org(ORG).updated == 0


def test_org_reparenting_moves_the_subtree(db):
    import_org(ORG + "D2,Outbound,C\n")
    import_org("code,name,parent\nT1,Team 1,D2\n")
    t1 = OrgUnit.objects.get(code="T1")
    assert t1.path.startswith(OrgUnit.objects.get(code="D2").path)


def test_org_cycle_through_existing_units_is_refused(loaded):
    assert errors_of(import_org, "code,name,parent\nD1,Inbound,T1\n") == [(2, "parent")]
    assert OrgUnit.objects.get(code="D1").parent.code == "C"


def test_second_root_and_missing_parent_are_refused(loaded):
    errors = errors_of(import_org, "code,name,parent\nX,Other center,\nY,Team,NOPE\n")
    assert (2, "parent") in errors and (3, "parent") in errors
    assert not OrgUnit.objects.filter(code__in=["X", "Y"]).exists()


def test_people_are_created_with_unusable_password_and_managers(loaded):
    a1 = Person.objects.get(employee_code="A1")
    assert a1.name == "王芳" and a1.manager.employee_code == "M1" and not a1.has_usable_password()


def test_people_bad_rows_are_reported_by_column(loaded):
    errors = errors_of(
        import_people,
        "employee_code,name,email,unit,role,manager\nB1,,bad-email,NOPE,boss,ZZ\n",
    )
    assert errors == [(2, "name"), (2, "email"), (2, "unit"), (2, "role"), (2, "manager")]


def test_measurements_upsert_and_blank_is_no_data(loaded):
    text = "date,subject,contacts_handled,first_contact_resolved\n2026-07-01,A1,10,\n2026-07-01,T1,,3\n"
    result = import_measurements(text)
    assert result.values == 2 and result.rows == 2
    import_measurements(text)
    assert Measurement.objects.count() == 2
    import_measurements("date,subject,contacts_handled\n2026-07-01,A1,12\n")
    assert Measurement.objects.get(person__employee_code="A1").value == 12
    assert Measurement.objects.get(person=None).value == 3


def test_measurements_with_any_error_save_nothing(loaded):
    text = "\ufeffdate,subject,contacts_handled\n2026-07-01,A1,10\n2026-07-32,A1,10\n2026-07-03,A1,-1\n"
    assert errors_of(import_measurements, text) == [(3, "date"), (4, "contacts_handled")]
    assert Measurement.objects.count() == 0


def test_a_large_file_with_an_error_at_the_end_saves_nothing(loaded):
    lines = ["date,subject,contacts_handled,handle_seconds"]
    lines += [f"2026-07-{d:02d},A1,{d},{d * 300}" for d in range(1, 31)] * 400
    lines.append("2026-08-01,A1,x,1")
    assert errors_of(import_measurements, "\n".join(lines)) == [(len(lines), "contacts_handled")]
    assert Measurement.objects.count() == 0
