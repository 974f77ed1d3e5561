"""Calibration: the distribution per unit against the guideline, HR's adjustment of a grade, the page and the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from reviews import calibration
from reviews.models import Appraisal
from tests.base import PASSWORD, make_person
from tests.reviews.test_closing import make_appraisal, make_cycle

CAL_FIELDS = ("calibrated_grade", "calibration_reason", "calibrated_by_id", "calibrated_at")


def graded(org, cycle):
    """T1: Alice A (85.0), Bob B (81.5) calibrated to A; T2: Carl C (72.0)."""
    alice = make_appraisal(cycle, org.alice, overall_score=95.0, proposed_grade="A")
    bob = make_appraisal(cycle, org.bob, overall_score=81.5, proposed_grade="B", calibrated_grade="A",
                         calibration_reason="Covered two teams")
    carl = make_appraisal(cycle, org.carl, overall_score=72.0, proposed_grade="C")
    return alice, bob, carl


def saved(appraisal) -> tuple:
    return Appraisal.objects.filter(pk=appraisal.pk).values_list(*CAL_FIELDS).get()


def share(row, grade):
    return next(s for s in row.grades if s.grade == grade)


def login(client, person):
    assert client.login(username=person.employee_code, password=PASSWORD)


# ------------------------------------------------------------- distribution


def test_distribution_counts_current_grades_per_unit_and_flags_the_guideline(org):
    cycle = make_cycle(org, guideline={"A": 50, "B": 40})
    graded(org, cycle)
    make_appraisal(cycle, make_person("DAN", "Dan New", org.t2, "agent", org.dana))  # no grade yet
    dist = calibration.calibration_distribution(cycle, Appraisal.objects.all())

    t1, t2 = dist.units
    assert (t1.code, t1.appraisals, t1.graded) == ("T1", 2, 2)
    a = share(t1, "A")
    assert (a.count, a.percent, a.guideline, a.exceeded) == (2, 100.0, 50.0, True)
    assert share(t1, "B").count == 0 and not share(t1, "B").exceeded  # Bob counts as A, calibrated
    assert [p.person.employee_code for p in t1.people] == ["ALICE", "BOB"]
    assert [p.current_grade for p in t1.people] == ["A", "A"]
    assert t1.people[1].overall_score == 81.5

    assert (t2.code, t2.appraisals, t2.graded, t2.ungraded) == ("T2", 2, 1, 1)
    c = share(t2, "C")
    assert (c.count, c.percent, c.guideline, c.exceeded) == (1, 100.0, None, False)
    assert not t2.exceeded

    overall = dist.overall
    assert (overall.appraisals, overall.graded, overall.ungraded) == (4, 3, 1)
    assert (share(overall, "A").count, share(overall, "A").percent, share(overall, "A").exceeded) == (2, 66.7, True)
    assert [s.grade for s in overall.grades] == ["A", "B", "C", "D", "E"]
    assert dist.exceeded


def test_exactly_at_the_guideline_is_not_exceeded(org):
    cycle = make_cycle(org, guideline={"A": 50})
    make_appraisal(cycle, org.alice, proposed_grade="A")
    make_appraisal(cycle, org.bob, proposed_grade="B")
    t1 = calibration.calibration_distribution(cycle, Appraisal.objects.all()).units[0]
    assert (share(t1, "A").percent, share(t1, "A").exceeded) == (50.0, False)


# ------------------------------------------------------------------ service


def test_hr_calibrates_a_grade_and_who_when_why_are_stored(org):
    cycle = make_cycle(org)
    alice, _, _ = graded(org, cycle)
    calibration.appraisal_calibrate(user=org.hana, appraisal=alice, grade="B", reason="  Guideline for team T1 ")
    grade, reason, by, at = saved(alice)
    assert (grade, reason, by) == ("B", "Guideline for team T1", org.hana.pk)
    assert at is not None


def test_an_empty_grade_clears_the_calibration_but_needs_a_reason(org):
    cycle = make_cycle(org)
    _, bob, _ = graded(org, cycle)
    with pytest.raises(ValidationError) as exc:
        calibration.appraisal_calibrate(user=org.hana, appraisal=bob, grade="", reason="")
    assert exc.value.message_dict == {"reason": [str(calibration.CALIBRATE_REASON_REQUIRED)]}
    assert saved(bob)[:2] == ("A", "Covered two teams")
    calibration.appraisal_calibrate(user=org.hana, appraisal=bob, grade="", reason="Back to the proposal")
    assert saved(bob)[:3] == ("", "Back to the proposal", org.hana.pk)


def _row(html: str, appraisal) -> str:
    start = html.index(f'<tr id="appraisal-{appraisal.pk}"')
    return html[start:html.index("</tr>", start)]


def test_each_row_selects_the_grade_held_and_a_refused_row_keeps_what_was_typed(org, client):
    cycle = make_cycle(org)
    alice, bob, carl = graded(org, cycle)
    login(client, org.hana)
    html = client.get(reverse("cycle-calibration", args=[cycle.pk])).content.decode()
    assert '<option value="A" selected>A · ' in _row(html, bob)  # calibrated to A
    assert " selected" not in _row(html, alice)  # no calibration: "Proposed grade (A)" is the first option
    assert '<option value="">Proposed grade (A)</option>' in _row(html, alice)
    assert 'name="csrfmiddlewaretoken"' in _row(html, alice)

    response = client.post(reverse("cycle-calibration", args=[cycle.pk]),
                           {"appraisal": carl.pk, "grade": "B", "reason": " "})
    html = response.content.decode()
    assert response.status_code == 400
    failed = _row(html, carl)
    assert 'class="failed"' in failed and '<option value="B" selected>B · ' in failed
    assert '<option value="A" selected>A · ' in _row(html, bob) and 'class="failed"' not in _row(html, bob)
    assert saved(carl) == ("", "", None, None)


def test_grade_labels_are_escaped_in_the_options(org, client):
    cycle = make_cycle(org)
    cycle.scale = [{"grade": "A", "label": "<b>Top</b>", "min_score": 90}, *cycle.scale[1:]]
    cycle.save(update_fields=["scale"])
    graded(org, cycle)
    login(client, org.hana)
    html = client.get(reverse("cycle-calibration", args=[cycle.pk])).content.decode()
    assert "A · &lt;b&gt;Top&lt;/b&gt;</option>" in html and "<b>Top</b>" not in html


@pytest.mark.parametrize("user", ["mike", "alice", "dirk"])
def test_only_hr_calibrates(org, user):
    cycle = make_cycle(org)
    alice, _, _ = graded(org, cycle)
    with pytest.raises(PermissionDenied):
        calibration.appraisal_calibrate(user=getattr(org, user), appraisal=alice, grade="B", reason="x")
    assert saved(alice) == ("", "", None, None)


def test_refusals_save_nothing(org):
    cycle = make_cycle(org)
    alice, bob, carl = graded(org, cycle)
    with pytest.raises(ValidationError) as exc:
        calibration.appraisal_calibrate(user=org.hana, appraisal=alice, grade="Z", reason="")
    assert exc.value.message_dict == {
        "grade": ["“Z” is not a grade of the cycle's scale."],
        "reason": [str(calibration.CALIBRATE_REASON_REQUIRED)],
    }
    Appraisal.objects.filter(pk=carl.pk).update(status="closed")
    carl.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        calibration.appraisal_calibrate(user=org.hana, appraisal=carl, grade="B", reason="Late")
    assert exc.value.messages == [str(calibration.CALIBRATE_APPRAISAL_CLOSED)]
    draft = make_cycle(org, phase="draft", name="draft")
    dana = make_appraisal(draft, org.dana)
    with pytest.raises(ValidationError) as exc:
        calibration.appraisal_calibrate(user=org.hana, appraisal=dana, grade="B", reason="x")
    assert exc.value.messages == [str(calibration.CALIBRATE_NOT_LAUNCHED)]
    closing_cycle = make_cycle(org, phase="closing", name="closing")
    mike = make_appraisal(closing_cycle, org.mike)
    with pytest.raises(ValidationError) as exc:
        calibration.appraisal_calibrate(user=org.hana, appraisal=mike, grade="B", reason="x")
    assert exc.value.messages == [str(calibration.CALIBRATE_CYCLE_OVER)]
    for a in (alice, carl, dana, mike):
        assert saved(a) == ("", "", None, None)
    assert saved(bob)[:2] == ("A", "Covered two teams")


# -------------------------------------------------------------------- page


def test_page_shows_the_distribution_and_calibrates(org, client):
    cycle = make_cycle(org, guideline={"A": 50})
    alice, _, _ = graded(org, cycle)
    login(client, org.hana)
    page = client.get(reverse("cycle-calibration", args=[cycle.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Grade distribution" in html and "Alice Agent" in html and "Covered two teams" in html
    assert 'class="num exceeded"' in html and "at most 50%" in html
    assert reverse("cycle-calibration", args=[cycle.pk]) in client.get(
        reverse("cycle-detail", args=[cycle.pk])).content.decode()

    response = client.post(reverse("cycle-calibration", args=[cycle.pk]),
                           {"appraisal": alice.pk, "grade": "B", "reason": "Guideline"})
    assert response.status_code == 302
    assert saved(alice)[:3] == ("B", "Guideline", org.hana.pk)
    assert "Grade of Alice Agent calibrated to B." in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("data", [{"grade": "Z", "reason": "x"}, {"grade": "B", "reason": " "}])
def test_page_refuses_bad_input_with_400_and_saves_nothing(org, client, data):
    cycle = make_cycle(org)
    alice, _, _ = graded(org, cycle)
    login(client, org.hana)
    response = client.post(reverse("cycle-calibration", args=[cycle.pk]), {"appraisal": alice.pk, **data})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert "is not a grade of the cycle" in html or "Give the reason for the calibration." in html
    assert saved(alice) == ("", "", None, None)


def test_page_refuses_a_closed_appraisal(org, client):
    cycle = make_cycle(org)
    alice, _, _ = graded(org, cycle)
    Appraisal.objects.filter(pk=alice.pk).update(status="closed")
    login(client, org.hana)
    response = client.post(reverse("cycle-calibration", args=[cycle.pk]),
                           {"appraisal": alice.pk, "grade": "B", "reason": "x"})
    assert response.status_code == 400
    assert "This appraisal is closed" in response.content.decode()
    assert saved(alice) == ("", "", None, None)


@pytest.mark.parametrize("user", ["mike", "alice", "dirk"])
def test_others_get_404_on_the_page_and_the_api(org, client, user):
    cycle = make_cycle(org)
    alice, _, _ = graded(org, cycle)
    login(client, getattr(org, user))
    url = reverse("cycle-calibration", args=[cycle.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"appraisal": alice.pk, "grade": "B", "reason": "x"}).status_code == 404
    assert client.get(reverse("api-cycle-calibration", args=[cycle.pk])).status_code == 404
    api = reverse("api-appraisal-calibrate", args=[alice.pk])
    assert client.post(api, {"grade": "B", "reason": "x"}, content_type="application/json").status_code == 404
    assert saved(alice) == ("", "", None, None)
    assert reverse("cycle-calibration", args=[cycle.pk]) not in client.get(
        reverse("cycle-detail", args=[cycle.pk])).content.decode()


def test_page_in_chinese(org, client):
    cycle = make_cycle(org, guideline={"A": 10})
    graded(org, cycle)
    login(client, org.hana)
    html = client.get(reverse("cycle-calibration", args=[cycle.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "校准" in html and "等级分布" in html and "校准指引" in html and "调整等级" in html


def _many(org, cycle, n):
    for i in range(n):
        person = make_person(f"AG{i:03d}", f"Agent {i}", org.t1 if i % 2 else org.t2, "agent", org.mike)
        make_appraisal(cycle, person, overall_score=60 + i, proposed_grade="ABCDE"[i % 5],
                       calibrated_grade="A" if i % 4 == 0 else "", calibrated_by=org.hana if i % 4 == 0 else None)


@pytest.mark.parametrize("n", [3, 12])
def test_page_and_api_queries_do_not_grow_with_the_cycle(org, client, django_assert_max_num_queries, n):
    cycle = make_cycle(org, guideline={"A": 10})
    _many(org, cycle, n)
    login(client, org.hana)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("cycle-calibration", args=[cycle.pk])).status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(reverse("api-cycle-calibration", args=[cycle.pk])).status_code == 200
    with django_assert_max_num_queries(1):
        calibration.calibration_distribution(cycle, Appraisal.objects.all())


# --------------------------------------------------------------------- API


def test_api_calibrates_and_refuses(org, client):
    cycle = make_cycle(org, guideline={"A": 50})
    alice, bob, _ = graded(org, cycle)
    login(client, org.hana)
    url = reverse("api-appraisal-calibrate", args=[alice.pk])
    response = client.post(url, {"grade": "B", "reason": "Guideline"}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert (body["calibrated_grade"], body["grade"], body["calibration_reason"], body["calibrated_by"]) == (
        "B", "B", "Guideline", "HANA")
    assert saved(alice)[:3] == ("B", "Guideline", org.hana.pk)

    response = client.post(reverse("api-appraisal-calibrate", args=[bob.pk]), {"grade": "Z"},
                           content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"grade", "reason"}
    assert saved(bob)[:2] == ("A", "Covered two teams")

    Appraisal.objects.filter(pk=bob.pk).update(status="closed")
    response = client.post(reverse("api-appraisal-calibrate", args=[bob.pk]), {"grade": "B", "reason": "x"},
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [str(calibration.CALIBRATE_APPRAISAL_CLOSED)]}

    dist = client.get(reverse("api-cycle-calibration", args=[cycle.pk])).json()
    t1 = dist["units"][0]
    assert (t1["unit"], t1["appraisals"], t1["exceeded"]) == ("T1", 2, False)
    assert {g["grade"]: g["count"] for g in t1["grades"]}["A"] == 1
    assert [p["person"] for p in t1["people"]] == ["ALICE", "BOB"]
    assert dist["overall"]["appraisals"] == 3
