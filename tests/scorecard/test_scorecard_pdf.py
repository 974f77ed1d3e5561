"""The scorecard report PDF: the page's numbers, trend charts, the ranking, both languages, access, bad ranges.

The named users are those of tests/base.py: Alice and Bob (agents, T1),
Carl (agent, T2), Mike (manages T1), Dana (manages D1 = T1 + T2), Olga
(manages T3 in D2), Hana (HR) and Dirk (director). The numbers the PDF
must show are read from the scorecard API, then formatted as the page
formats them (one decimal for values and scores; thresholds without
trailing zeros).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest
from django.db import connection
from django.http import Http404
from django.template.defaultfilters import floatformat
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from scorecard import selectors
from scorecard.document_views import REPORT_BAD_RANGE
from scorecard.documents import scorecard_report_html
from scorecard.models import Kpi, Measure, Measurement, Perspective
from scorecard.periods import BAD_DATE, START_AFTER_END, preset_range
from scorecard.units import unit_label
from tests.base import make_person
from tests.factories import put

Q3 = {"start": "2026-07-01", "end": "2026-09-30"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PERSPECTIVES_EN = ["Financial", "Customer", "Internal process", "Learning and growth"]


# ------------------------------------------------------------------ helpers


def _pdf_pages(data: bytes, tmp_path) -> list[list[str]]:
    """The PDF's text by page (pdftotext -layout), each line's runs of spaces collapsed to one."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    pages = [page for page in text.split("\f") if page.strip()]
    return [[" ".join(line.split()) for line in page.splitlines() if line.strip()] for page in pages]


def _text(pages: list[list[str]]) -> str:
    return "\n".join(line for page in pages for line in page)


def _download(client, user, code, data=None, **extra):
    client.force_login(user)
    return client.get(reverse("scorecard-pdf", args=[code]), data if data is not None else Q3, **extra)


def _api(client, user, code) -> dict:
    client.force_login(user)
    response = client.get(reverse("api-scorecard"), {"subject": code, **Q3}, **EN)
    assert response.status_code == 200
    return response.json()


def _one_decimal(value) -> str:
    with translation.override("en"):
        return floatformat(value, 1)


def _shown_value(kpi: dict) -> str:
    """A KPI's value as the scorecard page shows it: one decimal, then its unit ("73.9%", "330.0 s")."""
    unit = unit_label(kpi["unit"])
    return f"{_one_decimal(kpi['value'])}{'' if unit == '%' else ' '}{unit}"


def _threshold(value) -> str:
    with translation.override("en"):
        return floatformat(value, "-1")


@pytest.fixture
def q3(org):
    """A quarter of figures for T1 (Alice, Bob, queue figures on the team) and T2 (Carl), over several weeks."""
    for day in ("2026-07-02", "2026-07-16", "2026-08-05", "2026-09-10"):
        put(org.alice, day, first_contact_resolved=185, contacts_handled=250, csat_responses=25, csat_satisfied=18,
            handle_seconds=82_500, qa_points=88, qa_max_points=100)
        put(org.bob, day, first_contact_resolved=175, contacts_handled=250, csat_responses=25, csat_satisfied=23,
            handle_seconds=97_500)
        put(org.carl, day, first_contact_resolved=190, contacts_handled=250)
        put(org.t1, day, contacts_offered=520, answered_in_sl=430, abandoned=21)
    return org


# ------------------------------------------------------------------ the document


def test_team_report_downloads_as_a_pdf_named_by_code_and_range(client, q3):
    response = _download(client, q3.mike, "T1")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="T1_2026-07-01_2026-09-30.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def _score(value) -> str:
    return "—" if value is None else _one_decimal(value)


def _kpi_line(k: dict) -> str:
    """What a KPI's row reads after its name: value, score, thresholds and weight, as the page rounds them."""
    t = k["thresholds"]
    value = "no data" if k["value"] is None else _shown_value(k)
    return (f"{value} {_score(k['score'])} {_threshold(t['baseline'])} {_threshold(t['typical'])} "
            f"{_threshold(t['excellent'])} {_threshold(k['weight'])}%")


def test_team_report_shows_every_kpi_as_the_api_and_the_page_give_it(client, q3, tmp_path):
    card = _api(client, q3.dirk, "T1")

    pages = _pdf_pages(_download(client, q3.mike, "T1", **EN).content, tmp_path)

    text = _text(pages)
    lines = [line for page in pages for line in page]
    assert "Scorecard report" in text
    assert "Unit Team One T1" in lines
    assert "Period 2026-07-01 to 2026-09-30" in lines
    assert "Overall score" in text and _one_decimal(card["overall_score"]) in text
    assert [p["name"] for p in card["perspectives"]] == PERSPECTIVES_EN
    for p in card["perspectives"]:
        # The summary's line, and the perspective's heading: name, weight and score.
        assert any(line.startswith(f"{p['name']} {_threshold(p['weight'])}% {_score(p['score'])}") for line in lines)
        assert f"{p['name']} weight {_threshold(p['weight'])}% {_score(p['score'])}" in lines, p["code"]
        for k in p["kpis"]:
            # The row's first line starts with the KPI's name (a long name wraps after its first word or two).
            expected = _kpi_line(k)
            assert any(line.startswith(k["name"].split()[0]) and expected in line for line in lines), (k["code"], expected)
    values = [k["value"] for p in card["perspectives"] for k in p["kpis"]]
    assert sum(v is not None for v in values) >= 6 and None in values  # the fixture has both


def test_team_report_names_each_kpi_band_in_words(client, q3, tmp_path):
    card = _api(client, q3.dirk, "T1")

    text = _text(_pdf_pages(_download(client, q3.mike, "T1", **EN).content, tmp_path))

    words = {"red": "Red", "amber": "Amber", "green": "Green", "excellent": "Excellent"}
    bands = {k["band"] for p in card["perspectives"] for k in p["kpis"] if k["band"]}
    assert len(bands) >= 2  # the fixture's figures give more than one band
    for band in bands:
        assert re.search(rf"\b{words[band]}\b", text), band


def test_every_page_has_the_footer_with_name_range_and_page_number(client, q3, tmp_path):
    pages = _pdf_pages(_download(client, q3.mike, "T1", **EN).content, tmp_path)

    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert page[-1] == f"Team One (T1) · 2026-07-01 to 2026-09-30 Page {number} / {len(pages)}", page[-1]


def test_team_report_ranks_its_agents_as_the_ranking_page_does(client, q3, tmp_path):
    client.force_login(q3.mike)
    ranking = client.get(reverse("ranking", args=["T1"]), Q3).context["rows"]

    text = _text(_pdf_pages(_download(client, q3.mike, "T1", **EN).content, tmp_path))

    ranked = text[text.index("The team's agents, ranked by score."):]
    positions = [ranked.index(f"{row['m'].obj.name} {row['m'].obj.code}") for row in ranking]
    assert positions == sorted(positions)
    assert {row["m"].obj.code for row in ranking} == {"ALICE", "BOB"}
    lines = ranked.splitlines()
    for row in ranking:
        scores = " ".join(_score(cell["p"].score) for cell in row["cells"])
        expected = f"{row['rank'] or '—'} {row['m'].obj.name} {row['m'].obj.code} {_score(row['overall'])} {scores}"
        assert any(line.startswith(expected) for line in lines), expected
    assert "Carl Two" not in text  # Carl is on T2
    assert "Mike Manager MIKE" not in ranked  # the ranking ranks agents


def test_department_report_ranks_its_teams(client, q3, tmp_path):
    text = _text(_pdf_pages(_download(client, q3.dana, "D1", **EN).content, tmp_path))

    ranked = text[text.index("Units directly below, ranked by score."):]
    assert "Team One T1" in ranked and "Team Two T2" in ranked


def test_report_of_a_team_without_agents_says_there_is_nobody_to_rank(client, q3, tmp_path):
    text = _text(_pdf_pages(_download(client, q3.olga, "T3", **EN).content, tmp_path))

    assert "Nobody to rank here: this unit has no sub-units and no active agents." in text


def test_person_report_has_no_ranking(client, q3, tmp_path):
    card = _api(client, q3.dirk, "ALICE")

    response = _download(client, q3.alice, "ALICE", **EN)

    assert response.status_code == 200
    assert 'filename="ALICE_2026-07-01_2026-09-30.pdf"' in response["Content-Disposition"]
    pages = _pdf_pages(response.content, tmp_path)
    text = _text(pages)
    assert "Person Alice Agent ALICE · Agent · Team One" in text
    assert "Ranking" not in text
    fcr = card["perspectives"][1]["kpis"][2]
    assert fcr["code"] == "fcr" and fcr["value"] is not None
    assert f"First-contact {_kpi_line(fcr)}" in text
    assert pages[-1][-1] == f"Alice Agent (ALICE) · 2026-07-01 to 2026-09-30 Page {len(pages)} / {len(pages)}"


def test_report_in_chinese_uses_the_chinese_kpi_and_perspective_names(client, q3, tmp_path):
    card = _api(client, q3.dirk, "T1")

    text = _text(_pdf_pages(_download(client, q3.mike, "T1", {**Q3, "lang": "zh-hans"}, **EN).content, tmp_path))

    names_zh = dict(Kpi.objects.values_list("code", "name_zh"))
    assert all(names_zh.values())
    flat = text.replace("\n", "").replace(" ", "")
    for name in names_zh.values():
        assert name.replace(" ", "") in flat, name
    for name in Perspective.objects.values_list("name_zh", flat=True):
        assert name in text
    assert "2026-07-01 至 2026-09-30" in text
    assert "综合得分" in text and _one_decimal(card["overall_score"]) in text
    assert "本团队坐席代表，按得分排名。" in text
    assert "Alice Agent ALICE" in text and "Bob Peer BOB" in text
    fcr = card["perspectives"][1]["kpis"][2]
    assert f"{names_zh['fcr']} {_kpi_line(fcr)}" in text
    assert "First-contact" not in text


def test_report_follows_the_readers_language_unless_one_is_chosen(client, q3, tmp_path):
    chinese = _text(_pdf_pages(_download(client, q3.mike, "T1", **ZH).content, tmp_path))
    english = _text(_pdf_pages(_download(client, q3.mike, "T1", {**Q3, "lang": "en"}, **ZH).content, tmp_path))

    assert "一次解决率" in chinese and "First-contact" not in chinese
    assert "First-contact" in english and "一次解决率" not in english


def test_report_shows_no_data_and_insufficient_data(client, q3, tmp_path):
    kpi = Kpi.objects.get(code="fcr")
    kpi.min_sample = 5000
    kpi.save()  # a save, not update(): the library cache is renewed by the save signal

    text = _text(_pdf_pages(_download(client, q3.alice, "ALICE", **EN).content, tmp_path))

    assert "insufficient data" in text
    assert "no data" in text  # no sales figures at all


def test_report_of_a_preset_range_covers_the_preset(client, q3):
    start, end = preset_range("last_quarter")

    response = _download(client, q3.mike, "T1", {"preset": "last_quarter"})

    assert response.status_code == 200
    assert f'filename="T1_{start.isoformat()}_{end.isoformat()}.pdf"' in response["Content-Disposition"]


# ------------------------------------------------------------------ access


@pytest.mark.parametrize(
    "user, code",
    [
        ("alice", "BOB"), ("alice", "T1"), ("alice", "C"),
        ("olga", "T1"), ("olga", "ALICE"),
        ("mike", "D1"), ("mike", "D2"), ("mike", "CARL"),
        ("dirk", "NOBODY"),
    ],
)
def test_report_answers_404_to_who_may_not_see_the_subject(client, org, user, code):
    assert _download(client, getattr(org, user), code).status_code == 404


@pytest.mark.parametrize("user, code", [("alice", "ALICE"), ("mike", "BOB"), ("dana", "T2"), ("hana", "C")])
def test_report_is_there_for_who_may_see_the_subject(client, org, user, code):
    assert _download(client, getattr(org, user), code).status_code == 200


def test_report_asks_an_anonymous_visitor_to_log_in(client, org):
    response = client.get(reverse("scorecard-pdf", args=["T1"]), Q3)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_report_html_refuses_a_subject_the_user_may_not_see(org):
    subject = selectors.subject_get(org.dirk, "T1")

    with pytest.raises(Http404):
        scorecard_report_html(subject, dt.date(2026, 7, 1), dt.date(2026, 9, 30), language="en", user=org.olga)


# ------------------------------------------------------------------ bad ranges


@pytest.mark.parametrize(
    "params, message",
    [
        ({"start": "2026-13-01", "end": "2026-09-30"}, f"From: {BAD_DATE}"),
        ({"start": "2026-07-01", "end": "soon"}, f"To: {BAD_DATE}"),
        ({"start": "2026-09-30", "end": "2026-07-01"}, f"To: {START_AFTER_END}"),
        ({"preset": "forever"}, "Period: Select a valid choice."),
    ],
)
def test_bad_range_is_refused_with_the_field_message(client, org, params, message):
    response = _download(client, org.mike, "T1", params, **EN)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert str(REPORT_BAD_RANGE) in response.text
    assert message in response.text


def test_bad_range_message_is_in_the_documents_language(client, org):
    response = _download(client, org.mike, "T1", {"start": "bad", "end": "2026-09-30", "lang": "zh-hans"}, **EN)

    assert response.status_code == 400
    with translation.override("zh-hans"):
        assert f"开始日期：{BAD_DATE}" in response.text


def test_bad_range_for_a_subject_the_user_may_not_see_is_still_404(client, org):
    assert _download(client, org.olga, "T1", {"start": "bad"}).status_code == 404


# ------------------------------------------------------------------ the scorecard page's link


def test_scorecard_page_links_to_the_report_for_its_range_in_both_languages(client, q3):
    client.force_login(q3.mike)

    text = client.get(reverse("scorecard", args=["T1"]), Q3, **EN).text

    url = reverse("scorecard-pdf", args=["T1"])
    assert escape(f"{url}?start=2026-07-01&end=2026-09-30&lang=en") in text
    assert escape(f"{url}?start=2026-07-01&end=2026-09-30&lang=zh-hans") in text
    assert "Download PDF" in text


def test_scorecard_page_with_a_bad_range_offers_no_report(client, org):
    client.force_login(org.mike)

    response = client.get(reverse("scorecard", args=["T1"]), {"start": "bad"})

    assert response.status_code == 400
    assert reverse("scorecard-pdf", args=["T1"]) not in response.text


# ------------------------------------------------------------------ queries


def _more_agents(org, count: int) -> None:
    """`count` more agents on T1 with a row of each agent measure every third day of the quarter."""
    people = [make_person(f"X{i:02}", f"Extra {i:02}", org.t1, "agent", org.mike) for i in range(count)]
    measures = dict(Measure.objects.values_list("code", "pk"))
    figures = {"first_contact_resolved": 75, "contacts_handled": 100, "csat_responses": 10, "csat_satisfied": 8,
               "handle_seconds": 36000}
    rows = [
        Measurement(date=dt.date(2026, 7, 1) + dt.timedelta(days=day), unit_id=person.unit_id, person=person,
                    measure_id=measures[code], value=value + i % 7)
        for day in range(0, 90, 3) for i, person in enumerate(people) for code, value in figures.items()
    ]
    Measurement.objects.bulk_create(rows)


def _count(client, url) -> int:
    selectors._SUBJECT_CACHE.clear()  # count the worst case: the subject not yet cached
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, Q3)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# Expected queries, whatever the team's size (the KPI library cached in the process; the subject
# counted uncached). A team's report, for its manager: session, user, org token, subject unit,
# subtree ids, the manager's own unit (the visibility rule), library version, objective
# thresholds, measure sums, weekly values; then the ranking's library version, subtree, child
# units, agents, grouped sums, objective thresholds = 16. A department's: the same without the
# agents = 15. A person's: no ranking, and the subject is found by a unit lookup (a miss) then the
# person: session, user, org token, unit lookup, person, the manager's unit, library version,
# objective thresholds, measure sums, weekly values = 10; plus the audit log's row when the report is
# someone else's (issue 11) = 11.
@pytest.mark.parametrize("user, code, most", [("mike", "T1", 16), ("mike", "ALICE", 11), ("dana", "D1", 15)])
def test_query_count_does_not_grow_with_the_team(client, q3, django_assert_max_num_queries, user, code, most):
    client.force_login(getattr(q3, user))
    url = reverse("scorecard-pdf", args=[code])
    _count(client, url)  # warm the per-process library cache
    small = _count(client, url)

    _more_agents(q3, 20)
    with django_assert_max_num_queries(most):
        large = _count(client, url)

    assert large == small
