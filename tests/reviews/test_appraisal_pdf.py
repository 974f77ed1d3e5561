"""The appraisal as a PDF (客户服务代表绩效评估表): its text in English and Chinese, anonymity, access, queries.

Alice's Q3 2026 appraisal, filled through the services: she self-assesses,
Mike (her manager) appraises and records the interview, she acknowledges
with a written disagreement. Three peers (Petra, Quinn, Rosa) answer the
360 anonymously, one subordinate (Sam) too — a group too small to show.
The PDF's text is read back with pdftotext.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reviews import appraisals as svc
from reviews.documents import appraisal_document_html, appraisal_filename, appraisal_pdf
from reviews.feedback import feedback_save, questionnaire_for
from reviews.models import Appraisal, Competency, FeedbackRequest, ObjectiveRating, ReviewCycle
from reviews.snapshot import snapshot_library
from tests.base import make_person
from tests.factories import put
from tests.reviews.test_self_assessment import make_appraisal

pytestmark = pytest.mark.django_db
Phase = ReviewCycle.Phase
R = FeedbackRequest.Relationship

PEERS = [("PETRA", "Petra Peerless"), ("QUINN", "Quinn Quietly"), ("ROSA", "Rosa Ratchford")]
# communication, interpersonal, leadership, administration, customer_focus per peer:
# communication 13/3 = 4.3, leadership 7/3 = 2.3; response means 4.0, 3.6, 3.6 → group mean 3.7.
PEER_SCORES = [(5, 4, 3, 3, 5), (4, 4, 2, 3, 5), (4, 4, 2, 3, 5)]
PEER_COMMENTS = ["Always helpful.", "Calm with angry callers.", "Shares tips with the team."]


def pdf_text(data: bytes, tmp_path, name: str = "doc") -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def flat(text: str) -> str:
    return " ".join(text.split())


def put_quarter(person, weeks: int = 13):
    """A day of data per week of Q3 for most KPIs of the library; FCR 75 % and 77 % in turn, 76 % over the quarter."""
    for i in range(weeks):
        day = dt.date(2026, 7, 6) + dt.timedelta(days=7 * i)
        put(person, day, first_contact_resolved=76 if i == weeks - 1 else 75 + 2 * (i % 2), contacts_handled=100,
            csat_satisfied=40 + i, csat_responses=50, handle_seconds=36000 - 300 * i, qa_points=90,
            qa_max_points=100, qa_evaluations=4, scheduled_minutes=2400, adherent_minutes=2200 + 10 * i)


def answer_360(appraisal, org, *, peers=PEERS, subordinates=(("SAM", "Sam Single"),)):
    """Requests opened by the manager and answered through feedback_save (anonymous ones are stored unlinked)."""
    scores = {"communication": 4, "interpersonal": 4, "leadership": 4, "administration": 4, "customer_focus": 4}

    def ask(relationship, rater):
        return FeedbackRequest.objects.create(cycle=appraisal.cycle, appraisal=appraisal, relationship=relationship,
                                              rater=rater, status=FeedbackRequest.Status.OPEN)

    person, manager = appraisal.person, appraisal.manager
    feedback_save(user=person, request=ask(R.SELF, person), answers=scores, comment="I grew a lot.", submit=True)
    feedback_save(user=manager, request=ask(R.SUPERVISOR, manager), answers={**scores, "leadership": 5},
                  comment="Reliable on the phones.", submit=True)
    for (code, name), values, comment in zip(peers, PEER_SCORES * 10, PEER_COMMENTS * 10):
        peer = make_person(code, name, org.t1, "agent", manager)
        feedback_save(user=peer, request=ask(R.PEER, peer), answers=dict(zip(scores, values)), comment=comment,
                      submit=True)
    for code, name in subordinates:
        sub = make_person(code, name, org.t1, "agent", person)
        feedback_save(user=sub, request=ask(R.SUBORDINATE, sub), answers=scores, comment="Sam's own words.",
                      submit=True)


def full_appraisal(org, *, full_library: bool = True, peers=PEERS) -> Appraisal:
    """Alice's appraisal from self-assessment to acknowledgement, scored against the whole KPI library."""
    put_quarter(org.alice)
    a = make_appraisal(org)
    cycle = a.cycle
    cycle.questionnaire = questionnaire_for(None)
    cycle.save(update_fields=["questionnaire"])
    if full_library:
        library = snapshot_library()
        snapshot = {**a.snapshot, "kpis": library.kpis, "perspectives": library.perspectives}
        Appraisal.objects.filter(pk=a.pk).update(snapshot=snapshot)
        a = svc.appraisal_get(org.hana, a.pk)
    answer_360(a, org, peers=peers)
    svc.appraisal_self_save(
        user=org.alice, appraisal=a, submit=True,
        objectives={101: {"self_rating": 85, "self_comment": "Best month in August."}, 102: {"self_rating": 90}},
        achievements="Rewrote the returns FAQ; FCR up three points.", difficulties="Peak-season staffing.",
        help_wanted="Coaching on difficult calls.",
    )
    ReviewCycle.objects.filter(pk=cycle.pk).update(phase=Phase.APPRAISAL)
    a = svc.appraisal_get(org.mike, a.pk)
    svc.appraisal_manager_save(
        user=org.mike, appraisal=a, submit=True,
        objectives={102: {"manager_rating": 70, "manager_comment": "Published late."}},
        competencies={c.code: {"score": 4, "comment": "Steady." if c.code == "communication" else ""}
                      for c in Competency.objects.filter(active=True)},
        manager_comments="Solid quarter; keep the FAQ current.",
    )
    svc.appraisal_interview_save(
        user=org.mike, appraisal=a, interview_at=dt.datetime(2026, 10, 5, 2, 0, tzinfo=dt.timezone.utc),
        interview_notes="Talked through the FAQ delay.", improvement_actions="Shadow a senior agent twice a month.",
    )
    svc.appraisal_acknowledge(user=org.alice, appraisal=a, disagreement="The FAQ was delayed by IT, not by me.")
    return svc.appraisal_get(org.hana, a.pk)


def local_day(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d")


# -------------------------------------------------------------------- content


def test_english_pdf_has_the_names_numbers_grade_and_acknowledgement(org, tmp_path):
    a = full_appraisal(org)
    assert (a.proposed_grade, round(a.overall_score, 1), a.outcome) == ("B", 81.4, "Bonus 10%")
    text = pdf_text(appraisal_pdf(a, language="en"), tmp_path)
    words = flat(text)
    for expected in ("Customer service representative performance evaluation form", "Alice Agent", "ALICE",
                     "Team One", "Mike Manager", "2026 Q3", "2026-07-01 – 2026-09-30",
                     "Raise first-contact resolution", "Write the returns FAQ"):
        assert expected in words, expected
    # Part 1: weights 60 / 40, FCR target 72, actual 76 and system score 90, ratings 85 / 90 / 70.
    fcr_row = next(line for line in text.splitlines() if "Raise first-contact resolution" in line)
    assert fcr_row.split()[-6:] == ["60", "72", "76", "90", "85", "—"]
    faq_row = next(line for line in text.splitlines() if "Write the returns FAQ" in line)
    assert faq_row.split()[-3:] == ["—", "90", "70"]
    # Scores, the grade with its label and the outcome; the grade table with its labels and descriptions.
    assert "81.4" in words and "82.0" in words and "80.0" in words
    assert "B 优秀 Excellent" in words and "Bonus 10%" in words
    for label in ("Rating grades", "Grade description", "A 卓越 Outstanding", "C 良好 Good", "E 待改进 Needs",
                  "达成目标 · Meets the objectives.", "90–100", "0–60"):
        assert label in words, label
    # The form's Chinese terms are carried by the English document too.
    for term in ("客户服务代表绩效评估表", "工作考评", "主要工作成绩", "被考核人签名", "评分等级 / 等级说明"):
        assert term in words, term
    # Part 2, the manager's comments, the interview.
    for expected in ("Rewrote the returns FAQ; FCR up three points.", "Peak-season staffing.",
                     "Coaching on difficult calls.", "Solid quarter; keep the FAQ current.",
                     "Talked through the FAQ delay.", "Shadow a senior agent twice a month.",
                     timezone.localtime(a.interview_at).strftime("%Y-%m-%d %H:%M")):
        assert expected in words, expected
    # The signature: who acknowledged and when, and the disagreement.
    acknowledged = timezone.localtime(a.acknowledged_at).strftime("%Y-%m-%d %H:%M")
    assert f"Acknowledged by Alice Agent on {acknowledged}." in words
    assert "The FAQ was delayed by IT, not by me." in words
    assert f"Appraisal submitted on {timezone.localtime(a.manager_submitted_at):%Y-%m-%d %H:%M}." in words
    # The scorecard by perspective, FCR 76.0 % scored 90.0 against the objective's thresholds 65 / 72 / 80.
    fcr_kpi = next(line.split() for line in text.splitlines() if line.split()[:1] == ["76.0%"])
    assert fcr_kpi[:5] == ["76.0%", "90.0", "65", "72", "80"]
    assert "Learning and growth" in words and "Internal process" in words


def test_the_calibrated_final_grade_is_the_grade_shown(org, tmp_path):
    a = full_appraisal(org, full_library=False)
    Appraisal.objects.filter(pk=a.pk).update(calibrated_grade="A", final_grade="A", outcome="Bonus 20%",
                                             calibration_reason="Carried the team through the IVR outage.")
    a = svc.appraisal_get(org.hana, a.pk)
    words = flat(pdf_text(appraisal_pdf(a, language="en"), tmp_path))
    assert "Final grade: A 卓越 Outstanding Outcome: Bonus 20%" in words
    assert "Proposed grade B Calibrated grade A" in words
    assert "Carried the team through the IVR outage." in words


def test_every_page_has_its_number_and_a_footer_naming_the_cycle_and_person(org, tmp_path):
    a = full_appraisal(org)
    text = pdf_text(appraisal_pdf(a, language="en"), tmp_path)
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} / {len(pages)}" in page
        assert "2026 Q3 · Alice Agent (ALICE) · Team One" in page


def test_chinese_pdf_carries_the_forms_headings_and_chinese_labels(org, tmp_path):
    a = full_appraisal(org)
    words = flat(pdf_text(appraisal_pdf(a, language="zh-hans"), tmp_path))
    for term in ("客户服务代表绩效评估表", "工作考评", "主要工作成绩", "被考核人签名", "评分等级", "等级说明"):
        assert term in words, term
    # Data in Chinese: the KPI and competency names, the grade labels; the numbers and names as in English.
    for expected in ("一次解决率", "沟通能力", "B 优秀 Excellent", "Alice Agent", "ALICE", "81.4", "Bonus 10%",
                     local_day(a.acknowledged_at)):
        assert expected in words, expected
    assert "主要工作成绩" in words and "Rewrote the returns FAQ; FCR up three points." in words


def test_anonymous_peers_appear_only_as_their_group_mean_never_by_name(org, tmp_path):
    a = full_appraisal(org)
    html = re.sub(r'"data:[^"]*"', "", appraisal_document_html(a, language="en"))  # no chance hits in charts
    text = pdf_text(appraisal_pdf(a, language="en"), tmp_path)
    words = flat(text)
    lines = [line.split() for line in text.splitlines()]
    # A column per named rater (by name) and one for the peers as a group (its size, no name).
    assert ["Competency", "Self", "Supervisor", "Peers"] in lines
    assert ["Alice", "Agent", "Mike", "Manager", "3", "answers"] in lines
    assert ["Communication", "4", "4", "4.3"] in lines and ["Leadership", "4", "5", "2.3"] in lines
    assert ["Mean", "4.0", "4.2", "3.7"] in lines
    # The peers and the subordinate are named nowhere in the document.
    for code, name in [*PEERS, ("SAM", "Sam Single")]:
        for text in (words, html):
            assert name not in text and code not in text
    # The subordinate group is too small: neither its answers nor its size are shown.
    assert "Subordinates: fewer than 3 answers: not shown." in words
    assert "Customers" not in words  # nobody was asked: no group to hide
    assert "Sam's own words." not in words
    assert all(comment in words for comment in PEER_COMMENTS)


def test_a_managers_scorecard_is_the_unit_they_lead_and_an_agents_their_own(org, tmp_path):
    """Mike handles no contacts: his appraisal's scorecard shows his team's figures (Alice and Bob, 76 % FCR),
    not Carl's on another team (10 %); his objective is still scored on his own data (none)."""
    put_quarter(org.alice)
    put_quarter(org.bob)
    put(org.carl, dt.date(2026, 7, 6), first_contact_resolved=10, contacts_handled=100)
    mike = make_appraisal(org, person=org.mike, manager=org.dana)
    mike = svc.appraisal_get(org.hana, mike.pk)
    text = flat(pdf_text(appraisal_pdf(mike, language="en"), tmp_path, "mike"))
    assert "The figures of the unit led, Team One (T1): everyone in it and in the units below it." in text
    assert re.search(r"First-contact resolution 76\.0%", text), text
    row = re.search(r"1 Raise first-contact resolution .*?(?= Total)", text).group(0)
    assert "76" not in row.replace("72", "")  # target 72, no actual of his own
    zh = flat(pdf_text(appraisal_pdf(mike, language="zh-hans"), tmp_path, "mike-zh"))
    assert "所负责组织单元的数据：Team One (T1)，含本单元及其下级单元的全部人员。" in zh
    # Alice's is her own: no such line; two queries more for the manager's (the unit's subtree, his own sums).
    alice = svc.appraisal_get(org.hana, make_appraisal(org).pk)
    alice_text = flat(pdf_text(appraisal_pdf(alice, language="en"), tmp_path, "alice"))
    assert "unit led" not in alice_text and re.search(r"First-contact resolution 76\.0%", alice_text)
    assert len(document_queries(mike)) == len(document_queries(alice)) + 2


def test_two_peers_are_not_shown_at_all(org, tmp_path):
    a = full_appraisal(org, peers=PEERS[:2])
    words = flat(pdf_text(appraisal_pdf(a, language="en"), tmp_path))
    assert "Peers: fewer than 3 answers: not shown." in words
    assert "Peers 2 answers" not in words and not any(comment in words for comment in PEER_COMMENTS)


def test_drafts_stay_out_of_the_document_of_who_may_not_read_them(org, tmp_path):
    a = make_appraisal(org, phase=Phase.APPRAISAL)
    svc.appraisal_manager_save(user=org.mike, appraisal=a, manager_comments="Draft thoughts about Alice.")
    a = svc.appraisal_get(org.alice, a.pk)
    agent = appraisal_document_html(a, language="en", viewer=org.alice)
    manager = appraisal_document_html(a, language="en", viewer=org.mike)
    hr = appraisal_document_html(a, language="en")  # the export: what HR sees
    assert "Draft thoughts about Alice." not in agent and "Shown once the manager has submitted" in agent
    assert "Draft thoughts about Alice." in manager and "Draft thoughts about Alice." in hr
    assert "Not final: the manager has not submitted the appraisal" in hr


def test_rendering_writes_nothing_and_shows_what_prepare_would(org, tmp_path):
    put(org.alice, "2026-07-10", first_contact_resolved=76, contacts_handled=100)
    a = make_appraisal(org)
    ObjectiveRating.objects.filter(appraisal=a).delete()
    text = pdf_text(appraisal_pdf(a, language="en", viewer=org.mike), tmp_path)
    assert "Write the returns FAQ" in text
    fcr = " ".join(next(line for line in text.splitlines() if "Raise first-contact resolution" in line).split())
    assert " 60 72 76 90 " in fcr  # weight, target, actual, system score
    assert not ObjectiveRating.objects.filter(appraisal=a).exists()


# ----------------------------------------------------------------- download


def test_download_follows_the_appraisal_visibility(client, org, tmp_path):
    a = full_appraisal(org)
    url = reverse("appraisal-pdf", args=[a.pk])
    for outsider in (org.bob, org.olga, org.carl):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    for reader in (org.alice, org.mike, org.dana, org.hana):
        client.force_login(reader)
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert 'filename="appraisal_2026-q3_ALICE_en.pdf"' in response["Content-Disposition"]
    client.logout()
    assert client.get(url).status_code == 302


def test_the_file_name_says_the_cycle_and_the_language(client, org):
    """issue 10: "T1_ALICE.pdf" said neither which cycle nor which language."""
    a = full_appraisal(org)
    client.force_login(org.alice)
    url = reverse("appraisal-pdf", args=[a.pk])
    assert 'filename="appraisal_2026-q3_ALICE_zh-hans.pdf"' in client.get(url + "?lang=zh-hans")["Content-Disposition"]
    assert 'filename="appraisal_2026-q3_ALICE_en.pdf"' in client.get(url + "?lang=en")["Content-Disposition"]
    # Read in Chinese without asking: the reader's language.
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert 'filename="appraisal_2026-q3_ALICE_zh-hans.pdf"' in response["Content-Disposition"]
    a.cycle.name = "2026年第三季度考核 Review!"
    assert appraisal_filename(a, "en") == "appraisal_2026-q3_ALICE_en.pdf"  # ASCII: the period for such a name
    a.cycle.name, a.cycle.period_end = "年中考核", dt.date(2026, 12, 31)
    assert appraisal_filename(a, "zh-hans") == "appraisal_20260701-20261231_ALICE_zh-hans.pdf"
    a.cycle.name = "Q3/2026: call-center review"
    assert appraisal_filename(a, "en") == "appraisal_q32026-call-center-review_ALICE_en.pdf"


def test_download_in_the_language_asked_for(client, org, tmp_path):
    a = full_appraisal(org, full_library=False)
    client.force_login(org.alice)
    url = reverse("appraisal-pdf", args=[a.pk])
    chinese = flat(pdf_text(client.get(url + "?lang=zh-hans").content, tmp_path, "zh"))
    english = flat(pdf_text(client.get(url + "?lang=en").content, tmp_path, "en"))
    assert "第一部分" in chinese and "Part 1: work evaluation" not in chinese
    assert "Part 1: work evaluation" in english and "第一部分" not in english


def test_the_appraisal_page_offers_the_pdf_in_both_languages(client, org):
    a = make_appraisal(org)
    client.force_login(org.alice)
    page = client.get(reverse("appraisal-detail", args=[a.pk])).content.decode()
    url = reverse("appraisal-pdf", args=[a.pk])
    assert f'href="{url}?lang=en"' in page and f'href="{url}?lang=zh-hans"' in page


# ------------------------------------------------------------------ queries


def document_queries(appraisal) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        appraisal_document_html(appraisal, language="en")
    return [q["sql"] for q in ctx.captured_queries]


def test_document_queries_do_not_grow_with_the_appraisal(org, django_assert_max_num_queries):
    small = full_appraisal(org, full_library=False, peers=PEERS[:1])
    for day in range(1, 90, 3):  # Bob: more rows, more weeks with data, more objectives, the whole library
        put(org.bob, dt.date(2026, 7, 1) + dt.timedelta(days=day), first_contact_resolved=70, contacts_handled=100,
            csat_satisfied=45, csat_responses=50)
    big = make_appraisal(org, person=org.bob)
    big.snapshot["kpis"], big.snapshot["perspectives"] = snapshot_library().kpis, snapshot_library().perspectives
    big.snapshot["objectives"] += [{"id": 300 + i, "title": f"Extra {i}", "kind": "kpi", "kpi": "csat",
                                    "baseline": 75, "target": 85, "stretch": 92, "weight": 5,
                                    "due_date": "2026-09-30", "completion_criterion": ""} for i in range(8)]
    Appraisal.objects.filter(pk=big.pk).update(snapshot=big.snapshot)
    ReviewCycle.objects.filter(pk=big.cycle_id).update(questionnaire=questionnaire_for(None))
    big = svc.appraisal_get(org.hana, big.pk)
    answer_360(big, org, peers=[("P4", "P Four"), ("P5", "P Five"), ("P6", "P Six"), ("P7", "P Seven")],
               subordinates=[("S1", "S One"), ("S2", "S Two"), ("S3", "S Three")])
    ReviewCycle.objects.filter(pk=big.cycle_id).update(phase=Phase.APPRAISAL)
    big = svc.appraisal_get(org.hana, big.pk)
    # Expect 8 queries: measure codes, measure sums, weekly values, objective ratings, competency ratings,
    # competencies, and feedback_results' two (the relationships asked, the answers).
    with django_assert_max_num_queries(8):
        appraisal_document_html(big, language="en")
    assert len(document_queries(small)) == len(document_queries(big)) == 8
