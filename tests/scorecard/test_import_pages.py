"""Upload pages: a file is stored, loaded by the (eager) Celery task, and its outcome shown."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from scorecard.models import ImportJob, Measurement, OrgUnit

GOOD = "date,subject,contacts_handled,first_contact_resolved\n2026-07-01,ALICE,100,80\n2026-07-01,BOB,50,\n"
BAD = (
    "date,subject,contacts_handled,first_contact_resolved\n"
    "2026-07-01,ALICE,100,80\n"
    "2026-07-32,BOB,50,40\n"
    "2026-07-02,NOBODY,5,-1\n"
)


def upload(client, user, content, kind="measurements", callbacks=None):
    client.force_login(user)
    data = {"kind": kind, "file": SimpleUploadedFile("data.csv", content.encode(), content_type="text/csv")}
    with callbacks(execute=True):
        return client.post(reverse("import-create"), data)


def test_good_file_is_loaded_and_the_job_done(client, org, django_capture_on_commit_callbacks):
    response = upload(client, org.hana, GOOD, callbacks=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import-detail", args=[job.pk])
    assert (job.status, job.rows, job.values, job.error_count) == ("done", 2, 3, 0)
    assert job.created_by == org.hana and job.filename == "data.csv" and job.finished_at
    assert Measurement.objects.count() == 3
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'http-equiv="refresh"' not in page.content
    assert "Loaded" in page.content.decode()


def test_org_file_through_the_page(client, org, django_capture_on_commit_callbacks):
    upload(client, org.dirk, "code,name,parent\nT4,Team Four,D2\n", kind="org", callbacks=django_capture_on_commit_callbacks)
    assert ImportJob.objects.get().status == "done"
    assert OrgUnit.objects.get(code="T4").parent == org.d2


def test_bad_file_shows_errors_by_line_and_column_and_saves_nothing(client, org, django_capture_on_commit_callbacks):
    response = upload(client, org.hana, BAD, callbacks=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert (job.status, job.error_count) == ("failed", 3)
    assert [(e["line"], e["column"]) for e in job.errors] == [(3, "date"), (4, "subject"), (4, "first_contact_resolved")]
    assert Measurement.objects.count() == 0
    page = client.get(response["Location"]).content.decode()
    assert "Nothing from this file was saved." in page
    assert '<td class="num">3</td><td>date</td>' in page
    assert '<td class="num">4</td><td>subject</td>' in page
    assert "NOBODY" in page


def test_bad_file_from_a_chinese_user_shows_chinese_errors(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.hana)
    data = {"kind": "measurements", "file": SimpleUploadedFile("data.csv", BAD.encode(), content_type="text/csv")}
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("import-create"), data, HTTP_ACCEPT_LANGUAGE="zh-hans")
    with translation.override("en"):  # the worker's own language is the default one
        for callback in callbacks:
            callback()

    job = ImportJob.objects.get()
    assert (job.status, job.error_count) == ("failed", 3)
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "“2026-07-32”不是有效日期" in page
    assert "未知的考核对象“NOBODY”" in page
    assert "is not a valid date" not in page and "Unknown" not in page


def test_upload_form_labels_and_formats_follow_the_language(client, org):
    client.force_login(org.hana)
    english = client.get(reverse("import-create"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(reverse("import-create"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "What the file holds:</label>" in english and "date,subject,&lt;measure code&gt;,…" in english
    assert "：</label>" in chinese and ":</label>" not in chinese
    assert "date,subject,&lt;度量项代码&gt;,…" in chinese


def test_pending_job_page_refreshes_itself(client, org):
    job = ImportJob.objects.create(kind="measurements", filename="x.csv", created_by=org.hana)
    client.force_login(org.hana)
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    assert '<meta http-equiv="refresh" content="2">' in client.get(reverse("import-detail", args=[job.pk])).content.decode()


def test_list_and_form_for_importers(client, org):
    ImportJob.objects.create(kind="people", filename="people.csv", created_by=org.dirk)
    for user in (org.hana, org.dirk):
        client.force_login(user)
        listing = client.get(reverse("import-list"))
        assert listing.status_code == 200 and "people.csv" in listing.content.decode()
        assert client.get(reverse("import-create")).status_code == 200


def test_invalid_form_shows_errors_and_creates_no_job(client, org):
    client.force_login(org.hana)
    response = client.post(reverse("import-create"), {"kind": "measurements"})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("user", ["alice", "mike", "dana", "olga"])
def test_non_importers_get_404_everywhere(client, org, user):
    job = ImportJob.objects.create(kind="measurements", filename="x.csv", created_by=org.hana)
    client.force_login(getattr(org, user))
    assert client.get(reverse("import-list")).status_code == 404
    assert client.get(reverse("import-create")).status_code == 404
    assert client.get(reverse("import-detail", args=[job.pk])).status_code == 404
    data = {"kind": "measurements", "file": SimpleUploadedFile("d.csv", GOOD.encode())}
    assert client.post(reverse("import-create"), data).status_code == 404
    assert ImportJob.objects.count() == 1 and Measurement.objects.count() == 0


def test_anonymous_visitors_are_sent_to_log_in(client, org):
    response = client.get(reverse("import-list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_unknown_job_is_404(client, org):
    client.force_login(org.hana)
    assert client.get(reverse("import-detail", args=[999])).status_code == 404
