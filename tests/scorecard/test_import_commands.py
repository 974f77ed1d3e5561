"""The import_org, import_people and import_measurements commands, run as `manage.py` runs them."""

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from scorecard.models import Measurement, OrgUnit, Person
from scorecard.selectors import scorecard_for_subject, subject_get


def run(capsys, tmp_path, command, content, name="data.csv"):
    """Run a command as `manage.py` would; return (exit code, stdout, stderr).

    call_command, not ManagementUtility: the latter closes the database
    connections when it ends, which breaks the test's transaction.
    CommandError is what makes `manage.py` print to stderr and exit 1.
    """
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(command, str(path), stdout=out, stderr=err)
    except CommandError as exc:
        code = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return code, out.getvalue(), err.getvalue()


def snapshot():
    return (
        list(OrgUnit.objects.order_by("pk").values_list("code", "name", "parent_id", "path")),
        list(Person.objects.order_by("pk").values_list("employee_code", "name", "unit_id", "manager_id")),
        list(Measurement.objects.order_by("pk").values_list("date", "person_id", "unit_id", "measure_id", "value")),
    )


def assert_refused(capsys, tmp_path, command, content, line, column):
    before = snapshot()
    code, out, err = run(capsys, tmp_path, command, content)
    assert code != 0
    assert f"line {line}, column {column}: " in err
    assert "nothing from it was saved" in err
    assert snapshot() == before, "a refused file saved something"
    return err


# ------------------------------------------------------------------ good files


def test_import_org_creates_units_and_reports_counts(db, capsys, tmp_path):
    code, out, err = run(capsys, tmp_path, "import_org", "code,name,parent\nC,Center,\nD1,Inbound,C\nT1,Team 1,D1\n")
    assert code == 0, err
    assert "rows 3, values 0, created 3, updated 0" in out
    assert OrgUnit.objects.get(code="T1").parent.code == "D1"


def test_import_people_creates_people_with_employee_code_logins(org, capsys, tmp_path):
    content = "employee_code,name,email,unit,role,manager\nA9,Ann,ann@example.com,T1,agent,MIKE\n"
    code, out, err = run(capsys, tmp_path, "import_people", content)
    assert code == 0, err
    assert "created 1" in out
    ann = Person.objects.get(employee_code="A9")
    assert (ann.unit.code, ann.manager.employee_code, ann.role) == ("T1", "MIKE", "agent")


def test_import_measurements_loads_people_and_unit_rows(org, capsys, tmp_path):
    content = (
        "date,subject,contacts_handled,first_contact_resolved,contacts_offered\n"
        "2026-07-01,ALICE,100,80,\n"
        "2026-07-01,T1,,,150\n"
    )
    code, out, err = run(capsys, tmp_path, "import_measurements", content)
    assert code == 0, err
    assert "rows 2, values 3" in out
    assert Measurement.objects.filter(person=org.alice).count() == 2
    assert Measurement.objects.get(person=None, unit=org.t1).value == 150


def test_utf8_bom_is_accepted(org, capsys, tmp_path):
    content = "\ufeffdate,subject,contacts_handled\n2026-07-01,ALICE,100\n".encode("utf-8")
    assert content.startswith(b"\xef\xbb\xbf")
    code, out, err = run(capsys, tmp_path, "import_measurements", content)
    assert code == 0, err
    assert Measurement.objects.get(person=org.alice).value == 100


def test_bom_in_org_file_is_accepted(db, capsys, tmp_path):
    code, out, err = run(capsys, tmp_path, "import_org", "\ufeffcode,name,parent\nC,中心,\n".encode("utf-8"))
    assert code == 0, err
    assert OrgUnit.objects.get(code="C").name == "中心"


def test_reimporting_the_same_org_file_changes_nothing(db, capsys, tmp_path):
    content = "code,name,parent\nC,Center,\nD1,Inbound,C\nT1,Team 1,D1\n"
    run(capsys, tmp_path, "import_org", content)
    before = snapshot()
    code, out, err = run(capsys, tmp_path, "import_org", content)
    assert code == 0
    assert "created 0, updated 0" in out
    assert snapshot() == before


def test_reimporting_the_same_measurement_file_changes_nothing(org, capsys, tmp_path):
    content = "date,subject,contacts_handled,first_contact_resolved\n2026-07-01,ALICE,100,80\n2026-07-02,BOB,50,40\n"
    run(capsys, tmp_path, "import_measurements", content)
    before = snapshot()
    code, out, err = run(capsys, tmp_path, "import_measurements", content)
    assert code == 0, err
    assert snapshot() == before
    assert Measurement.objects.count() == 4


def test_reimporting_a_row_replaces_its_value(org, capsys, tmp_path):
    run(capsys, tmp_path, "import_measurements", "date,subject,contacts_handled\n2026-07-01,ALICE,100\n2026-07-01,T1,7\n")
    code, out, err = run(
        capsys, tmp_path, "import_measurements", "date,subject,contacts_handled\n2026-07-01,ALICE,120\n2026-07-01,T1,9\n"
    )
    assert code == 0, err
    assert Measurement.objects.get(person=org.alice).value == 120
    assert Measurement.objects.get(person=None, unit=org.t1).value == 9
    assert Measurement.objects.count() == 2


def test_blank_cell_is_no_data_not_zero(org, capsys, tmp_path):
    content = "date,subject,first_contact_resolved,contacts_handled,csat_responses,csat_satisfied\n2026-07-01,ALICE,80,100,50,\n"
    code, out, err = run(capsys, tmp_path, "import_measurements", content)
    assert code == 0, err
    assert "values 3" in out
    assert Measurement.objects.filter(person=org.alice).count() == 3  # no row for the blank cell
    card = scorecard_for_subject(subject_get(org.dirk, "ALICE"), dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    assert card.kpi("fcr").value == pytest.approx(80.0)
    assert card.kpi("csat").value is None  # not 0 % from a zero numerator


# ------------------------------------------------------- bad input (METRICS.md)


def test_unknown_column_is_refused_with_line_and_column(org, capsys, tmp_path):
    content = "date,subject,contacts_handled,calls_taken\n2026-07-01,ALICE,100,5\n"
    err = assert_refused(capsys, tmp_path, "import_measurements", content, 1, "calls_taken")
    assert "Unknown column" in err


def test_unknown_column_in_org_file_is_refused(org, capsys, tmp_path):
    assert_refused(capsys, tmp_path, "import_org", "code,name,parent,colour\nX1,X,C,red\n", 1, "colour")


def test_unknown_subject_is_refused(org, capsys, tmp_path):
    content = "date,subject,contacts_handled\n2026-07-01,ALICE,100\n2026-07-01,NOBODY,100\n"
    err = assert_refused(capsys, tmp_path, "import_measurements", content, 3, "subject")
    assert "NOBODY" in err


def test_unparseable_date_is_refused(org, capsys, tmp_path):
    content = "date,subject,contacts_handled\n2026-07-01,ALICE,100\n2026-02-30,ALICE,100\n01/07/2026,BOB,3\n"
    err = assert_refused(capsys, tmp_path, "import_measurements", content, 3, "date")
    assert "line 4, column date: " in err


def test_negative_value_is_refused(org, capsys, tmp_path):
    content = "date,subject,contacts_handled,cost\n2026-07-01,ALICE,100,5\n2026-07-02,ALICE,100,-5\n"
    assert_refused(capsys, tmp_path, "import_measurements", content, 3, "cost")


def test_non_numeric_value_is_refused(org, capsys, tmp_path):
    content = "date,subject,contacts_handled,first_contact_resolved\n2026-07-01,ALICE,100,eighty\n"
    err = assert_refused(capsys, tmp_path, "import_measurements", content, 2, "first_contact_resolved")
    assert "eighty" in err


def test_missing_parent_is_refused(org, capsys, tmp_path):
    content = "code,name,parent\nT4,Team 4,D1\nT5,Team 5,D9\n"
    err = assert_refused(capsys, tmp_path, "import_org", content, 3, "parent")
    assert "D9" in err


def test_cycle_in_org_tree_is_refused(org, capsys, tmp_path):
    content = "code,name,parent\nX1,X one,X2\nX2,X two,X1\n"
    err = assert_refused(capsys, tmp_path, "import_org", content, 2, "parent")
    assert "line 3, column parent: " in err
    assert "cycle" in err


def test_cycle_through_existing_units_is_refused(org, capsys, tmp_path):
    # D1 under T1 while T1 is under D1.
    assert_refused(capsys, tmp_path, "import_org", "code,name,parent\nD1,Inbound,T1\n", 2, "parent")


def test_every_problem_of_a_file_is_reported(org, capsys, tmp_path):
    content = (
        "date,subject,contacts_handled,cost\n"
        "2026-07-01,ALICE,100,5\n"
        "2026-7-1,ALICE,100,5\n"
        "2026-07-02,ZED,100,5\n"
        "2026-07-03,BOB,-1,x\n"
    )
    err = assert_refused(capsys, tmp_path, "import_measurements", content, 3, "date")
    for expected in ("line 4, column subject: ", "line 5, column contacts_handled: ", "line 5, column cost: "):
        assert expected in err
    assert "4 problems" in err


def test_people_file_with_unknown_unit_and_role_is_refused(org, capsys, tmp_path):
    content = "employee_code,name,email,unit,role,manager\nA9,Ann,,T9,boss,\n"
    err = assert_refused(capsys, tmp_path, "import_people", content, 2, "unit")
    assert "line 2, column role: " in err


def test_manage_py_exits_non_zero_and_prints_to_stderr(tmp_path):
    """The real command line: a refused run exits 1 with its message on stderr."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SECRET_KEY": "tests"}
    done = subprocess.run(
        [sys.executable, "manage.py", "import_org", str(tmp_path / "nope.csv")],
        cwd=root, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "Cannot read" in done.stderr and not done.stdout
