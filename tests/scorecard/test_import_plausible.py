"""Implausible values are bad input (METRICS.md "Plausible values", issue 11 finding 4), the long header
cell is a line-1 error (finding 6), and the imports count what they created and updated.

Before: `1e308` imported; two of them summed to infinity, and AHT and cost
per contact became 0 — scored 100 for the agent, the team and the center;
`9999-12-31` was a date.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from scorecard import services
from scorecard.imports import ImportFailed, import_measurements, import_org, import_people
from scorecard.models import ImportJob, Measure, Measurement
from scorecard.selectors import scorecard_for_subject, subject_get
from tests.scorecard.test_import_commands import assert_refused, run

HEADER = "date,subject,contacts_handled,handle_seconds,cost\n"


def refused(text):
    """The (line, column) of each problem, and the messages; nothing saved."""
    before = Measurement.objects.count()
    with pytest.raises(ImportFailed) as exc:
        import_measurements(text)
    assert Measurement.objects.count() == before, "a refused file saved something"
    return [(e.line, e.column) for e in exc.value.errors], [e.message for e in exc.value.errors]


# ------------------------------------------------------------------ values


def test_1e308_is_refused_with_line_and_column(org):
    where, messages = refused(HEADER + "2026-07-01,ALICE,10,1e308,1e308\n2026-07-02,ALICE,10,1e308,50\n")
    assert where == [(2, "handle_seconds"), (2, "cost"), (3, "handle_seconds")]
    assert "above the maximum of 86400000 per row for handle_seconds" in messages[0]
    assert "above the maximum of 10000000 per row for cost" in messages[1]


def test_the_1e308_attack_no_longer_scores_100(org):
    """Two rows of 1e308 summed to infinity and made AHT and cost per contact 0 (scored 100): now refused."""
    import_measurements(HEADER + "2026-07-01,ALICE,10,3600,50\n")
    with pytest.raises(ImportFailed):
        import_measurements(HEADER + "2026-07-02,ALICE,10,1e308,1e308\n2026-07-03,ALICE,10,1e308,1e308\n")
    card = scorecard_for_subject(subject_get(org.hana, "ALICE"), dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    kpis = {k.code: k for p in card.perspectives for k in p.kpis}
    assert kpis["aht"].value == pytest.approx(360) and kpis["cost_per_contact"].value == pytest.approx(5)


@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity", "nan", "NaN", "1e400", "0x10", "1_000", "12,5"])
def test_values_that_are_not_finite_numbers_are_refused(org, cell):
    where, messages = refused(f'date,subject,contacts_handled\n2026-07-01,ALICE,"{cell}"\n')
    assert where == [(2, "contacts_handled")]
    assert "is not a number" in messages[0] or "negative" in messages[0]


def test_the_maximum_itself_and_decimals_below_it_are_accepted(org):
    result = import_measurements(HEADER + "2026-07-01,ALICE,100000,86400000,9999999.99\n2026-07-02,BOB,1e5,.5,+3\n")
    assert result.values == 6


def test_a_measures_edited_maximum_applies_to_the_next_import(org):
    handled = Measure.objects.get(code="contacts_handled")
    services.measure_update(user=org.dirk, measure=handled, name=handled.name, kind="count", max_value=500)
    where, messages = refused("date,subject,contacts_handled\n2026-07-01,ALICE,501\n")
    assert where == [(2, "contacts_handled")] and "maximum of 500 per row" in messages[0]
    assert import_measurements("date,subject,contacts_handled\n2026-07-01,ALICE,500\n").values == 1
    # Blank again: the kind's default.
    services.measure_update(user=org.dirk, measure=handled, name=handled.name, kind="count", max_value=None)
    assert Measure.objects.get(code="contacts_handled").max_value == 100_000
    assert import_measurements("date,subject,contacts_handled\n2026-07-01,ALICE,501\n").values == 1


def test_the_default_library_has_its_kinds_and_maximums(db):
    measures = {m.code: (m.kind, m.maximum) for m in Measure.objects.all()}
    assert measures["handle_seconds"] == ("seconds", 86_400_000)
    assert measures["scheduled_minutes"] == ("minutes", 86_400_000)
    assert measures["cost"] == ("money", 10_000_000)
    assert measures["qa_points"] == ("points", 100_000)
    assert measures["contacts_handled"] == ("count", 100_000)


# ------------------------------------------------------------------- dates


@pytest.mark.parametrize("day", ["9999-12-31", "1999-12-31", "0001-01-01"])
def test_implausible_dates_are_refused(org, day):
    where, messages = refused(f"date,subject,contacts_handled\n2026-07-01,ALICE,1\n{day},ALICE,1\n")
    assert where == [(3, "date")]
    assert "not a plausible date" in messages[0]


def test_tomorrow_is_accepted_and_the_day_after_refused(org):
    today = timezone.localdate()
    tomorrow, after = today + dt.timedelta(days=1), today + dt.timedelta(days=2)
    assert import_measurements(f"date,subject,contacts_handled\n{tomorrow},ALICE,1\n2000-01-01,ALICE,2\n").values == 2
    where, messages = refused(f"date,subject,contacts_handled\n{after},ALICE,1\n")
    assert where == [(2, "date")]
    assert f"more than one day after today ({today.isoformat()})" in messages[0]


def test_implausible_values_are_refused_in_chinese_too(org):
    with translation.override("zh-hans"):
        with pytest.raises(ImportFailed) as exc:
            import_measurements("date,subject,contacts_handled\n9999-12-31,ALICE,1e308\n")
        texts = [str(e) for e in exc.value.errors]
    assert texts[0].startswith("第 2 行") and "9999-12-31" in texts[0]
    assert "1e308" in texts[1] and "100000" in texts[1]
    words = [t.replace("contacts_handled", "").replace("date", "").replace("1e308", "") for t in texts]
    assert not any("a" <= c <= "z" for w in words for c in w), words


def test_the_command_refuses_1e308_with_line_and_column(org, capsys, tmp_path):
    err = assert_refused(capsys, tmp_path, "import_measurements", HEADER + "2026-07-01,ALICE,1,2,1e308\n", 2, "cost")
    assert "maximum" in err


# -------------------------------------------------------- the long header


LONG_HEADER = "date,subject," + "x" * 131_073 + "\n2026-07-01,ALICE,1\n"


def test_a_header_cell_over_131072_characters_is_a_line_1_error(org):
    where, messages = refused(LONG_HEADER)
    assert where == [(1, "3")]
    assert "longer than 131,072 characters" in messages[0]
    with pytest.raises(ImportFailed) as exc:
        import_org('code,"name' + "y" * 140_000 + '",parent\n')
    assert [(e.line, e.column) for e in exc.value.errors] == [(1, "2")]
    with pytest.raises(ImportFailed) as exc:
        import_people("x" * 140_000 + "\n")
    assert [(e.line, e.column) for e in exc.value.errors] == [(1, "1")]


def test_a_long_cell_in_a_data_line_names_its_line_and_column(org):
    where, messages = refused("date,subject,contacts_handled\n2026-07-01,ALICE,1\n2026-07-02,ALICE," + "9" * 140_000 + "\n")
    assert where == [(3, "3")]


def test_the_command_reports_the_long_header_without_a_traceback(org, capsys, tmp_path):
    code, out, err = run(capsys, tmp_path, "import_measurements", LONG_HEADER)
    assert code == 1 and not out
    assert "line 1, column 3: The cell is longer than 131,072 characters." in err
    assert "Traceback" not in err


def test_the_page_reports_the_long_header(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.hana)
    data = {"kind": "measurements", "file": SimpleUploadedFile("long.csv", LONG_HEADER.encode())}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import-create"), data)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert (job.status, job.error_count) == ("failed", 1)
    assert (job.errors[0]["line"], job.errors[0]["column"]) == (1, "3")
    page = client.get(response["Location"]).content.decode()
    assert "longer than 131,072 characters" in page


# ------------------------------------------------------------------ counters


def test_measurement_counters_tell_new_values_from_replaced_ones(org):
    first = import_measurements(HEADER + "2026-07-01,ALICE,10,3600,50\n2026-07-01,T1,,,7\n")
    assert (first.rows, first.values, first.created, first.updated) == (2, 4, 4, 0)
    again = import_measurements(HEADER + "2026-07-01,ALICE,12,3600,\n2026-07-02,ALICE,1,,\n")
    assert (again.rows, again.values, again.created, again.updated) == (2, 3, 1, 2)


def test_org_and_people_counters_count_each_row_once(org):
    result = import_org("code,name,parent\nT3,Team Three renamed,D1\nT4,Team Four,D2\nT2,Team Two,D1\n")
    assert (result.rows, result.created, result.updated) == (3, 1, 1)  # T3 renamed and moved: one update
    result = import_people(
        "employee_code,name,email,unit,role,manager\n"
        "BOB,Bob Peer,bob@example.com,T1,agent,DANA\n"  # a new manager only
        "CARL,Carl Two,carl@example.com,T2,agent,DANA\n"  # unchanged
        "NEW1,New One,,T4,agent,CARL\n"
    )
    assert (result.rows, result.created, result.updated) == (3, 1, 1)


def test_the_command_prints_the_counts(org, capsys, tmp_path):
    run(capsys, tmp_path, "import_measurements", HEADER + "2026-07-01,ALICE,10,3600,50\n")
    code, out, err = run(capsys, tmp_path, "import_measurements", HEADER + "2026-07-01,ALICE,11,3600,\n2026-07-02,BOB,1,,\n")
    assert code == 0, err
    assert "rows 2, values 3, created 1, updated 2" in out


def test_the_page_shows_the_counts(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.hana)
    for content in (HEADER + "2026-07-01,ALICE,10,3600,50\n", HEADER + "2026-07-01,ALICE,11,,\n2026-07-02,BOB,1,,\n"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("import-create"), {
                "kind": "measurements", "file": SimpleUploadedFile("m.csv", content.encode())})
    job = ImportJob.objects.order_by("-pk").first()
    assert (job.rows, job.values, job.created, job.updated) == (2, 2, 1, 1)
    page = client.get(response["Location"]).content.decode()
    assert "New values: 1; values replaced: 1." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import-create"), {
            "kind": "org", "file": SimpleUploadedFile("o.csv", b"code,name,parent\nT4,Team Four,D2\nT2,Team Two,D1\n")})
    page = client.get(response["Location"]).content.decode()
    assert "Created: 1; updated: 0; unchanged: 1." in page
    listing = client.get(reverse("import-list")).content.decode()
    assert "Added" in listing and "Changed" in listing


# ------------------------------------------------------------- the library


def test_a_director_edits_a_measures_kind_and_maximum_on_its_page(client, org):
    client.force_login(org.dirk)
    url = reverse("measure-edit", args=["contacts_handled"])
    page = client.get(url)
    assert page.status_code == 200 and 'name="max_value"' in page.content.decode()
    response = client.post(url, {"name": "Contacts handled", "kind": "count", "max_value": "2500"})
    assert response.status_code == 302
    assert Measure.objects.get(code="contacts_handled").max_value == 2500
    library = client.get(reverse("kpi-list")).content.decode()
    assert "2,500" in library or "2500" in library


@pytest.mark.parametrize("bad", ["0", "-5", "1e308", "inf", "nan", "abc"])
def test_an_implausible_maximum_is_refused(client, org, bad):
    client.force_login(org.dirk)
    response = client.post(reverse("measure-edit", args=["cost"]),
                           {"name": "Cost", "kind": "money", "max_value": bad})
    assert response.status_code == 400
    assert response.context["form"].errors["max_value"]
    assert Measure.objects.get(code="cost").max_value == 10_000_000


def test_a_new_measure_gets_its_kinds_default_maximum(client, org):
    client.force_login(org.dirk)
    response = client.post(reverse("measure-create"), {"code": "talk_minutes", "name": "Talk minutes", "kind": "minutes"})
    assert response.status_code == 302
    measure = Measure.objects.get(code="talk_minutes")
    assert (measure.kind, measure.max_value) == ("minutes", 86_400_000)


def test_only_directors_reach_the_measure_edit_page(client, org):
    for user in (org.hana, org.mike, org.alice):
        client.force_login(user)
        assert client.get(reverse("measure-edit", args=["cost"])).status_code == 404
    client.force_login(org.dirk)
    assert client.get(reverse("measure-edit", args=["no_such_measure"])).status_code == 404


def test_the_measure_api_shows_and_changes_the_maximum(org):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(org.hana)
    assert api.get("/api/v1/measures/cost/").json()["max_value"] == 10_000_000
    assert api.patch("/api/v1/measures/cost/", {"max_value": 5}, format="json").status_code == 403
    api.force_authenticate(org.dirk)
    response = api.patch("/api/v1/measures/cost/", {"max_value": 20_000_000}, format="json")
    assert response.status_code == 200 and response.json()["max_value"] == 20_000_000
    response = api.patch("/api/v1/measures/cost/", {"max_value": 1e300}, format="json")
    assert response.status_code == 400 and "max_value" in response.json()
    response = api.patch("/api/v1/measures/cost/", {"kind": "count"}, format="json")
    assert (response.json()["kind"], response.json()["max_value"]) == ("count", 100_000)
    response = api.post("/api/v1/measures/", {"code": "refunds", "name": "Refunds", "kind": "money"}, format="json")
    assert response.status_code == 201 and response.json()["max_value"] == 10_000_000


def test_the_admin_shows_and_edits_kind_and_maximum(client, org):
    from scorecard.models import Person

    admin = Person.objects.create_superuser("ROOT", "pw-long-enough-1", name="Root")
    client.force_login(admin)
    measure = Measure.objects.get(code="cost")
    url = reverse("admin:scorecard_measure_change", args=[measure.pk])
    page = client.get(url).content.decode()
    assert 'name="kind"' in page and 'name="max_value"' in page
    data = {"name": "Cost", "name_zh": "", "description": "", "description_zh": "", "kind": "money", "max_value": "1e300"}
    assert client.post(url, data).status_code == 200  # refused: shown again with the error
    data["max_value"] = ""
    assert client.post(url, data).status_code == 302
    assert Measure.objects.get(code="cost").max_value == 10_000_000
