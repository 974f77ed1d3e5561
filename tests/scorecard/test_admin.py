"""Admin: every page renders, read-only models stay read-only, and KPI edits go through the service."""

import pytest
from django.urls import reverse

from scorecard.models import ImportJob, Kpi, Measurement, OrgUnit, Person
from tests.factories import put


@pytest.fixture
def admin_client_(client, org):
    root = Person.objects.create_superuser("ROOT", "pw", name="Root")
    client.force_login(root)
    return client


MODELS = ["orgunit", "person", "perspective", "measure", "kpi", "measurement", "importjob"]


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render(admin_client_, org, model):
    put(org.alice, "2026-07-01", contacts_handled=10)
    ImportJob.objects.create(kind="org", filename="u.csv", created_by=org.hana)
    response = admin_client_.get(reverse(f"admin:scorecard_{model}_changelist"))
    assert response.status_code == 200


def test_change_pages_render(admin_client_, org):
    kpi = Kpi.objects.get(code="fcr")
    for url in (
        reverse("admin:scorecard_kpi_change", args=[kpi.pk]),
        reverse("admin:scorecard_kpi_history", args=[kpi.pk]),
        reverse("admin:scorecard_person_change", args=[org.alice.pk]),
        reverse("admin:scorecard_orgunit_change", args=[org.t1.pk]),
        reverse("admin:scorecard_person_add"),
    ):
        assert admin_client_.get(url).status_code == 200, url


def test_measurements_and_import_jobs_are_read_only(admin_client_, org):
    put(org.alice, "2026-07-01", contacts_handled=10)
    row = Measurement.objects.get()
    assert admin_client_.get(reverse("admin:scorecard_measurement_add")).status_code == 403
    change = admin_client_.post(reverse("admin:scorecard_measurement_change", args=[row.pk]), {"value": 99})
    assert change.status_code in (302, 403)
    row.refresh_from_db()
    assert row.value == 10
    assert admin_client_.get(reverse("admin:scorecard_importjob_add")).status_code == 403


def kpi_form(kpi, **changes):
    data = {f: getattr(kpi, f) for f in (
        "name", "name_zh", "definition", "definition_zh", "formula", "unit", "direction",
        "baseline", "typical", "excellent",
    )}
    data["min_sample"] = "" if kpi.min_sample is None else kpi.min_sample
    data.update({"terms-TOTAL_FORMS": 0, "terms-INITIAL_FORMS": 0, "terms-MIN_NUM_FORMS": 0, "terms-MAX_NUM_FORMS": 1000})
    data.update(changes)
    return data


def test_kpi_change_goes_through_the_service(admin_client_, org):
    kpi = Kpi.objects.get(code="fcr")
    url = reverse("admin:scorecard_kpi_change", args=[kpi.pk])
    response = admin_client_.post(url, kpi_form(kpi, formula="100*first_contact_resolved/contacts_offered", typical=73))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    kpi.refresh_from_db()
    # The service canonicalised the formula and rewrote the terms.
    assert kpi.formula == "100 × first_contact_resolved / contacts_offered"
    assert set(kpi.terms.values_list("measure__code", "part")) == {
        ("first_contact_resolved", "num"), ("contacts_offered", "den"),
    }
    assert kpi.typical == 73
    assert kpi.history.first().history_user.employee_code == "ROOT"


@pytest.mark.parametrize(
    "changes, field",
    [({"typical": 90}, "typical"), ({"formula": "100 × nothing / contacts_handled"}, "formula")],
)
def test_invalid_kpi_change_is_shown_on_the_form_and_saves_nothing(admin_client_, org, changes, field):
    kpi = Kpi.objects.get(code="fcr")
    history = kpi.history.count()
    response = admin_client_.post(reverse("admin:scorecard_kpi_change", args=[kpi.pk]), kpi_form(kpi, **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    kpi.refresh_from_db()
    assert (kpi.typical, kpi.formula) == (72, "100 × first_contact_resolved / contacts_handled")
    assert kpi.history.count() == history


def test_kpis_cannot_be_added_or_deleted_in_admin(admin_client_, org):
    kpi = Kpi.objects.get(code="fcr")
    assert admin_client_.get(reverse("admin:scorecard_kpi_add")).status_code == 403
    assert admin_client_.get(reverse("admin:scorecard_kpi_delete", args=[kpi.pk])).status_code == 403


def test_org_unit_cycle_is_refused(admin_client_, org):
    url = reverse("admin:scorecard_orgunit_change", args=[org.d1.pk])
    response = admin_client_.post(url, {"code": "D1", "name": "Inbound", "parent": org.t1.pk})
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    assert OrgUnit.objects.get(code="D1").parent == org.center


def test_moving_a_person_in_admin_moves_their_rows(admin_client_, org):
    put(org.alice, "2026-07-01", contacts_handled=10)
    url = reverse("admin:scorecard_person_change", args=[org.alice.pk])
    page = admin_client_.get(url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password", "groups", "user_permissions", "last_login")}
    data.update(unit=org.t3.pk, manager=org.olga.pk, date_joined_0=org.alice.date_joined.strftime("%Y-%m-%d"),
                date_joined_1=org.alice.date_joined.strftime("%H:%M:%S"))
    response = admin_client_.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Measurement.objects.get(person=org.alice).unit == org.t3


def test_manager_cycle_is_refused(admin_client_, org):
    url = reverse("admin:scorecard_person_change", args=[org.mike.pk])
    form = admin_client_.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password", "groups", "user_permissions", "last_login")}
    data.update(manager=org.alice.pk, date_joined_0="2026-01-01", date_joined_1="00:00:00")
    response = admin_client_.post(url, data)
    assert response.status_code == 200
    assert "manager" in response.context["adminform"].form.errors
