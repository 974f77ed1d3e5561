"""Admin of the reviews app: every page loads; a launched cycle keeps its scale; a closed appraisal is read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews import services
from reviews.models import (
    Appraisal,
    AppraisalReminder,
    Competency,
    CompetencyRating,
    ObjectiveRating,
    ReviewCycle,
)
from scorecard.models import Person
from tests.base import PASSWORD
from tests.reviews.test_cycles import make_cycle
from tests.reviews.test_launch import objective


@pytest.fixture
def admin_client(client, org):
    Person.objects.create_superuser("ROOT", PASSWORD, name="Root")
    assert client.login(employee_code="ROOT", password=PASSWORD)
    return client


@pytest.fixture
def cycle(org):
    objective(org.alice, "Raise FCR")
    cycle = make_cycle(org)
    services.cycle_launch(user=org.hana, cycle=cycle)
    a = Appraisal.objects.get(cycle=cycle, person=org.alice)
    CompetencyRating.objects.create(appraisal=a, competency=Competency.objects.first(), score=4)
    AppraisalReminder.objects.create(appraisal=a, phase=ReviewCycle.Phase.SELF_ASSESSMENT, recipient=org.alice)
    cycle.refresh_from_db()
    return cycle


MODELS = [ReviewCycle, Appraisal, ObjectiveRating, CompetencyRating, Competency, AppraisalReminder]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_admin_pages_load(admin_client, cycle, model):
    opts = model._meta
    assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    obj = model.objects.first()
    assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])).status_code == 200


def test_cycle_add_page_loads(admin_client, org):
    assert admin_client.get(reverse("admin:reviews_reviewcycle_add")).status_code == 200


def test_appraisals_cannot_be_added_in_the_admin(admin_client, cycle):
    assert admin_client.get(reverse("admin:reviews_appraisal_add")).status_code == 403


def test_a_launched_cycle_keeps_its_scale_and_weights_in_the_admin(admin_client, cycle):
    body = admin_client.get(reverse("admin:reviews_reviewcycle_change", args=[cycle.pk])).content.decode()
    assert 'name="weight_objectives"' not in body and 'name="scale"' not in body
    assert 'name="calibration_due_0"' in body


def test_a_closed_appraisal_is_read_only(admin_client, cycle, org):
    a = Appraisal.objects.get(cycle=cycle, person=org.alice)
    Appraisal.objects.filter(pk=a.pk).update(status=Appraisal.Status.CLOSED, closed_at=timezone.now())
    url = reverse("admin:reviews_appraisal_change", args=[a.pk])
    body = admin_client.get(url).content.decode()
    assert 'name="manager_comments"' not in body and 'name="_save"' not in body
    assert admin_client.post(url, {"manager_comments": "changed"}).status_code == 403
    a.refresh_from_db()
    assert a.manager_comments == ""
    rating = a.objective_ratings.first()
    rating_body = admin_client.get(reverse("admin:reviews_objectiverating_change", args=[rating.pk])).content.decode()
    assert 'name="self_rating"' not in rating_body


def test_an_open_appraisal_is_editable(admin_client, cycle, org):
    a = Appraisal.objects.get(cycle=cycle, person=org.alice)
    body = admin_client.get(reverse("admin:reviews_appraisal_change", args=[a.pk])).content.decode()
    assert 'name="manager_comments"' in body


def test_the_admin_checks_a_draft_cycles_weights(admin_client, org):
    cycle = make_cycle(org)
    url = reverse("admin:reviews_reviewcycle_change", args=[cycle.pk])
    response = admin_client.get(url)
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if callable(value):
            value = value()
        if name == "units":
            data[name] = [u.pk for u in cycle.units.all()]
        elif name in ("scale", "gate_rule", "guideline"):
            data[name] = field.prepare_value(value)
        elif name.endswith("_due"):
            local = timezone.localtime(value)
            data[f"{name}_0"], data[f"{name}_1"] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")
        elif value is not None:
            data[name] = value
    data["weight_objectives"] = 50
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert str(services.WEIGHTS_NOT_100 % {"total": "80"}) in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.weight_objectives == 70
