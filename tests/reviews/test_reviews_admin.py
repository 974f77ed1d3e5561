"""Admin of the reviews app: every page loads; a launched cycle keeps its scale; a closed appraisal is read-only;
360 feedback keeps its anonymity (an anonymous request shows only "asked", anonymous answers are not listed);
appraisal exports are read-only records shown with their chunks."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews import exports, services
from reviews.feedback import token_hash
from reviews.models import (
    Appraisal,
    AppraisalReminder,
    Competency,
    CompetencyRating,
    ExportChunk,
    ExportJob,
    FeedbackAnswer,
    FeedbackReminder,
    FeedbackRequest,
    FeedbackResponse,
    FeedbackTemplate,
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


# ------------------------------------------------------------ 360 feedback


@pytest.fixture
def feedback(org, cycle):
    """Alice answered herself (by name) and Bob answered about her as a peer (anonymous, with a draft before);
    a customer has a link; Carl was reminded."""
    alice = Appraisal.objects.get(cycle=cycle, person=org.alice)
    own = FeedbackRequest.objects.get(appraisal=alice, rater=org.alice)
    peer = FeedbackRequest.objects.get(appraisal=alice, rater=org.bob)
    own.status, peer.status = FeedbackRequest.Status.SUBMITTED, FeedbackRequest.Status.SUBMITTED
    own.save()
    peer.save()
    FeedbackRequest.objects.filter(appraisal=alice, rater=org.mike).update(draft={"comment": "Mike's draft secret"})
    named = FeedbackResponse.objects.create(appraisal=alice, relationship="self", request=own, comment="My own view")
    anonymous = FeedbackResponse.objects.create(appraisal=alice, relationship="peer", comment="Bob's secret view")
    for response in (named, anonymous):
        FeedbackAnswer.objects.create(response=response, code="communication", score=4, comment="answer comment")
    FeedbackRequest.objects.create(
        cycle=cycle, appraisal=alice, relationship="customer", external_name="Acme buyer", status="open",
        origin="added", token_hash=token_hash("the-token"), token_expires_at=timezone.now(),
    )
    FeedbackReminder.objects.create(cycle=cycle, recipient=org.carl)
    return {"named": named, "anonymous": anonymous, "peer": peer, "own": own}


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", [FeedbackTemplate, FeedbackRequest, FeedbackResponse, FeedbackReminder],
                         ids=lambda m: m.__name__)
def test_feedback_admin_pages_load(admin_client, feedback, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    obj = feedback["named"] if model is FeedbackResponse else model.objects.first()
    assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200


def test_feedback_request_list_filters_and_search_load(admin_client, feedback):
    for query in ("?q=ALICE", "?q=Acme", "?status=asked", "?status=submitted", "?relationship=peer",
                  "?origin=suggested"):
        assert admin_client.get(_url(FeedbackRequest, "changelist") + query).status_code == 200, query


def test_an_anonymous_request_shows_only_that_its_rater_was_asked(admin_client, feedback):
    body = admin_client.get(_url(FeedbackRequest, "change", feedback["peer"].pk)).content.decode()
    assert "Asked" in body and "Bob Peer" in body
    assert "Answered" not in body and "Bob&#x27;s secret view" not in body and "Bob's secret view" not in body
    own = admin_client.get(_url(FeedbackRequest, "change", feedback["own"].pk)).content.decode()
    assert "Answered" in own  # shown by name: its real status
    mike = FeedbackRequest.objects.get(appraisal=feedback["own"].appraisal, relationship="supervisor")
    assert "draft secret" not in admin_client.get(_url(FeedbackRequest, "change", mike.pk)).content.decode()


def test_the_status_filter_never_tells_anonymous_answered_from_unanswered(admin_client, feedback):
    def listed(query):
        response = admin_client.get(_url(FeedbackRequest, "changelist") + query)
        return {(r.relationship, r.rater_name, r.status) for r in response.context["cl"].result_list}

    assert listed("?status=submitted") == {("self", "Alice Agent", "submitted")}
    asked = listed("?status=asked")
    assert ("peer", "Bob Peer", "submitted") in asked and ("customer", "Acme buyer", "open") in asked
    assert {r[0] for r in asked} <= {"peer", "subordinate", "customer"}
    assert ("peer", "Bob Peer", "submitted") not in listed("?status=open")


def test_anonymous_answers_are_not_in_the_admin(admin_client, feedback):
    listed = admin_client.get(_url(FeedbackResponse, "changelist")).context["cl"].result_list
    assert [r.pk for r in listed] == [feedback["named"].pk]
    response = admin_client.get(_url(FeedbackResponse, "change", feedback["anonymous"].pk))
    assert response.status_code == 302  # "does not exist": not even its id is confirmed
    named = admin_client.get(_url(FeedbackResponse, "change", feedback["named"].pk)).content.decode()
    assert "My own view" in named and "answer comment" in named and "Alice Agent" in named


@pytest.mark.parametrize("model", [FeedbackRequest, FeedbackResponse, FeedbackReminder], ids=lambda m: m.__name__)
def test_feedback_records_are_read_only(admin_client, feedback, model):
    obj = feedback["named"] if model is FeedbackResponse else model.objects.first()
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "change", obj.pk), {}).status_code == 403
    assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_a_customer_link_is_not_in_the_admin_not_even_its_hash(admin_client, feedback):
    customer = FeedbackRequest.objects.get(relationship="customer")
    body = admin_client.get(_url(FeedbackRequest, "change", customer.pk)).content.decode()
    assert "Acme buyer" in body and "Asked" in body
    assert token_hash("the-token") not in body and "the-token" not in body and "/feedback/t/" not in body


def test_a_questionnaire_is_added_with_at_least_one_competency(admin_client, org):
    data = {"name": "Agents", "name_zh": "", "description": "", "active": "on",
            "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "1",
            "items-MAX_NUM_FORMS": "1000"}
    response = admin_client.post(_url(FeedbackTemplate, "add"), data)
    assert response.status_code == 200 and not FeedbackTemplate.objects.filter(name="Agents").exists()
    leadership = Competency.objects.get(code="leadership")
    data.update({"items-TOTAL_FORMS": "1", "items-0-order": "0", "items-0-competency": leadership.pk})
    assert admin_client.post(_url(FeedbackTemplate, "add"), data).status_code == 302
    template = FeedbackTemplate.objects.get(name="Agents")
    assert not template.is_default
    assert list(template.items.values_list("competency__code", flat=True)) == ["leadership"]


def test_the_default_questionnaire_moves_with_the_action_and_stays_in_use(admin_client, org):
    old = FeedbackTemplate.objects.get(is_default=True)
    new = FeedbackTemplate.objects.create(name="New")
    response = admin_client.post(_url(FeedbackTemplate, "changelist"),
                                 {"action": "make_default", "_selected_action": [new.pk]})
    assert response.status_code == 302
    assert list(FeedbackTemplate.objects.filter(is_default=True)) == [new]
    data = {"name": "New", "name_zh": "", "description": "", "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "1", "items-MAX_NUM_FORMS": "1000"}  # "active" unticked
    response = admin_client.post(_url(FeedbackTemplate, "change", new.pk), data)
    assert response.status_code == 200 and "The default questionnaire must be in use." in response.content.decode()
    new.refresh_from_db()
    assert new.active and new.is_default
    old.refresh_from_db()
    assert not old.is_default


def test_a_cycles_questionnaire_is_never_edited_in_the_admin(admin_client, org):
    draft = make_cycle(org)
    body = admin_client.get(reverse("admin:reviews_reviewcycle_change", args=[draft.pk])).content.decode()
    assert 'name="questionnaire"' not in body and 'name="feedback_template"' in body


def test_only_hr_and_directors_edit_questionnaires_in_the_admin(client, org):
    from django.contrib.auth.models import Permission

    Person.objects.filter(pk=org.mike.pk).update(is_staff=True)
    org.mike.user_permissions.set(Permission.objects.filter(content_type__app_label="reviews",
                                                            codename__endswith="feedbacktemplate"))
    assert client.login(employee_code="MIKE", password=PASSWORD)
    default = FeedbackTemplate.objects.get(is_default=True)
    body = client.get(_url(FeedbackTemplate, "change", default.pk)).content.decode()
    assert 'name="name"' not in body  # he may look, not change
    assert client.post(_url(FeedbackTemplate, "change", default.pk), {"name": "Mine"}).status_code == 403
    assert client.get(_url(FeedbackTemplate, "add")).status_code == 403
    default.refresh_from_db()
    assert default.name == "Standard 360 questionnaire"


# ------------------------------------------------------------------ exports


@pytest.fixture
def export(org, cycle, settings, django_capture_on_commit_callbacks):
    """An export of the cycle in two chunks, waiting for its workers (nothing rendered)."""
    settings.EXPORT_CHUNK_SIZE = 2
    with django_capture_on_commit_callbacks(execute=False):
        job, _created = exports.export_start(user=org.hana, cycle=cycle, unit_codes=["T1"], language="zh-hans")
    ExportChunk.objects.filter(job=job, index=0).update(
        status=ExportChunk.Status.DONE, claimed_at=timezone.now(), done=1,
        log=[{"file": "T1_BOB.pdf", "person": "BOB", "error": "RuntimeError: font missing"}],
    )
    return job


def test_export_admin_pages_show_the_job_with_its_chunks(admin_client, export):
    listed = admin_client.get(_url(ExportJob, "changelist"))
    assert listed.status_code == 200 and [j.pk for j in listed.context["cl"].result_list] == [export.pk]
    for query in ("?status=pending", "?language=zh-hans", "?q=HANA"):
        assert admin_client.get(_url(ExportJob, "changelist") + query).status_code == 200, query
    body = admin_client.get(_url(ExportJob, "change", export.pk)).content.decode()
    assert "Hana HR" in body and "T1" in body and "zh-hans" in body
    assert "RuntimeError: font missing" in body, "the chunk's log"
    assert 'name="status"' not in body and 'name="chunks-0-status"' not in body and 'name="_save"' not in body


def test_exports_are_read_only_in_the_admin(admin_client, export):
    assert admin_client.get(_url(ExportJob, "add")).status_code == 403
    assert admin_client.post(_url(ExportJob, "change", export.pk), {"status": "done"}).status_code == 403
    assert admin_client.post(_url(ExportJob, "delete", export.pk), {"post": "yes"}).status_code == 403
    export.refresh_from_db()
    assert export.status == ExportJob.Status.PENDING and export.chunks.count() == 2
