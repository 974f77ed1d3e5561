"""Import errors reported together (a bad header no longer hides the lines' errors), and a sample file per kind."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from scorecard import imports
from scorecard.imports import ImportFailed, import_measurements, import_org, import_people
from scorecard.models import ImportJob, Measure, Measurement, OrgUnit, Person
from tests.factories import put


def problems(importer, text):
    with pytest.raises(ImportFailed) as failed:
        importer(text)
    return [(e.line, e.column) for e in failed.value.errors]


# ------------------------------------------------------- header and lines together


def test_a_bad_measurement_header_and_bad_lines_are_reported_together(org):
    text = ("date,subject,contacts_handled,speed\n"
            "2026-07-01,ALICE,100,5\n"
            "2026-07-32,BOB,50,\n"
            "2026-07-02,NOBODY,-5,\n")

    assert problems(import_measurements, text) == [
        (1, "speed"), (3, "date"), (4, "subject"), (4, "contacts_handled"),
    ]
    assert Measurement.objects.count() == 0


def test_a_measurement_file_whose_first_columns_are_misnamed_still_has_its_lines_checked(org):
    text = "day,who,contacts_handled\n2026-07-01,ALICE,x\n"

    assert problems(import_measurements, text) == [(1, "day"), (1, "who"), (2, "contacts_handled")]


def test_an_org_file_missing_a_column_still_has_its_lines_checked(org):
    text = "code,parent,colour\nT9,D9,red\nbad code,D1,\n"

    assert problems(import_org, text) == [
        (1, "colour"), (1, "name"), (3, "code"), (2, "parent"),
    ]
    assert not OrgUnit.objects.filter(code="T9").exists()


def test_a_people_file_with_an_unknown_column_still_has_its_lines_checked(org):
    text = ("employee_code,name,email,unit,role,manager,shoe_size\n"
            "NEW1,New One,not-an-email,T1,agent,MIKE,42\n"
            "NEW2,New Two,new2@example.com,T99,boss,,41\n")

    assert problems(import_people, text) == [
        (1, "shoe_size"), (2, "email"), (3, "unit"), (3, "role"),
    ]
    assert not Person.objects.filter(employee_code__startswith="NEW").exists()


def test_the_upload_page_lists_the_header_and_line_problems_together(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.hana)
    content = "date,subject,contacts_handled,speed\n2026-07-32,ALICE,100,5\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import-create"), {
            "kind": "measurements", "file": SimpleUploadedFile("d.csv", content.encode(), content_type="text/csv")})

    job = ImportJob.objects.get()
    assert [(e["line"], e["column"]) for e in job.errors] == [(1, "speed"), (2, "date")]
    page = client.get(response["Location"]).text
    assert '<td class="num">1</td><td>speed</td>' in page and '<td class="num">2</td><td>date</td>' in page


def test_the_command_reports_both_too(org, tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("date,subject,speed\n2026-07-32,ALICE,1\n")

    with pytest.raises(CommandError):
        call_command("import_measurements", str(path))

    err = capsys.readouterr().err
    assert "speed" in err and "line 2" in err


# ------------------------------------------------------------------ samples


def download(client, user, kind):
    client.force_login(user)
    return client.get(reverse("import-sample", args=[kind]))


def rows(text):
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize("kind, header", [
    ("org", ["code", "name", "parent"]),
    ("people", ["employee_code", "name", "email", "unit", "role", "manager"]),
    ("measurements", ["date", "subject"]),
])
def test_each_sample_downloads_as_a_csv_file_with_its_header(client, org, kind, header):
    response = download(client, org.hana, kind)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="sample-{kind}.csv"' in response["Content-Disposition"]
    assert rows(response.content.decode("utf-8"))[0][: len(header)] == header


def test_the_samples_of_a_loaded_center_import_cleanly_and_change_nothing(client, org):
    put(org.alice, "2026-07-02", first_contact_resolved=739, contacts_handled=1000)
    put(org.t1, "2026-07-02", contacts_offered=1200, abandoned=30)
    before = set(Measurement.objects.values_list("date", "unit_id", "person_id", "measure_id", "value"))
    people_before = set(Person.objects.values_list("employee_code", "name", "email", "unit_id", "role", "manager_id"))

    for kind, importer in (("org", import_org), ("people", import_people), ("measurements", import_measurements)):
        content = download(client, org.hana, kind).content
        importer(content)  # raises ImportFailed on any problem

    assert set(Measurement.objects.values_list("date", "unit_id", "person_id", "measure_id", "value")) == before
    assert set(Person.objects.values_list("employee_code", "name", "email", "unit_id", "role", "manager_id")) \
        == people_before
    assert OrgUnit.objects.count() == 6


def test_the_samples_of_a_new_installation_load_in_order(client, db):
    from tests.base import make_person

    hr = make_person("HR1", "First HR", None, "hr")
    assert Measure.objects.exists()  # the default library comes with the migrations

    for kind, importer in (("org", import_org), ("people", import_people), ("measurements", import_measurements)):
        result = importer(download(client, hr, kind).content)
        assert result.rows > 0

    assert OrgUnit.objects.filter(parent__isnull=True).count() == 1
    assert Person.objects.filter(role="agent").count() == 2
    assert Measurement.objects.filter(person__isnull=False).exists()
    assert Measurement.objects.filter(person__isnull=True).exists()  # queue figures loaded on the team


def test_the_sample_builders_match_the_download(org):
    assert set(imports.SAMPLES) == set(ImportJob.Kind.values)


@pytest.mark.parametrize("user", ["alice", "mike", "dana"])
def test_samples_answer_404_to_who_may_not_import(client, org, user):
    assert download(client, getattr(org, user), "people").status_code == 404


def test_an_unknown_sample_is_404(client, org):
    assert download(client, org.hana, "salaries").status_code == 404


def test_the_upload_page_links_each_sample(client, org):
    client.force_login(org.hana)

    text = client.get(reverse("import-create")).text

    for kind in ("org", "people", "measurements"):
        assert f'href="{reverse("import-sample", args=[kind])}"' in text
    assert reverse("import-create") + "#formats" in client.get(reverse("import-list")).text
