"""HTML pages: who sees what, the numbers they show, bad input, the library edit forms.

The named users are those of tests/base.py: Alice (agent, T1), Bob (her
peer), Carl (agent, T2), Mike (manages T1), Dana (manages D1), Olga
(manages T3, in D2), Hana (HR) and Dirk (director).
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from scorecard import selectors
from scorecard.calculations import THRESHOLDS_NOT_ORDERED, WEIGHTS_NOT_100
from scorecard.models import Kpi, Measure, Measurement, Perspective
from scorecard.periods import BAD_DATE, START_AFTER_END
from tests.base import make_person
from tests.factories import put

Q3 = {"start": "2026-07-01", "end": "2026-09-30"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def _get(client, user, url, data=None, **extra):
    client.force_login(user)
    return client.get(url, data or {}, **extra)


def _put_fcr(person, resolved, handled, day="2026-07-02"):
    put(person, day, first_contact_resolved=resolved, contacts_handled=handled)


# ------------------------------------------------------------------- home, login


@pytest.mark.parametrize(
    "user, code", [("alice", "ALICE"), ("mike", "T1"), ("dana", "D1"), ("hana", "C"), ("dirk", "C")]
)
def test_home_links_to_the_users_home_scorecard(client, org, user, code):
    response = _get(client, getattr(org, user), "/")

    assert response.status_code == 200
    assert f'href="{reverse("scorecard", args=[code])}"' in response.text


def test_login_page_renders_with_the_language_switch(client, db):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert 'name="username"' in response.text
    assert reverse("set_language") in response.text


def test_login_page_renders_in_chinese(client, db):
    response = client.get(reverse("login"), **ZH)

    assert '<html lang="zh-hans">' in response.text


def test_login_with_employee_code_lands_on_the_home_page(client, org):
    response = client.post(reverse("login"), {"username": "ALICE", "password": "pw"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("home")


def test_password_reset_page_renders(client, db):
    assert client.get(reverse("password_reset")).status_code == 200


# ------------------------------------------------------------------- scorecard


def test_scorecard_shows_fcr_value_score_and_band(client, org):
    _put_fcr(org.alice, 739, 1000)

    response = _get(client, org.mike, reverse("scorecard", args=["ALICE"]), Q3)

    assert response.status_code == 200
    kpi = response.context["result"].kpi("fcr")
    assert kpi.value == pytest.approx(73.9)
    assert kpi.score == pytest.approx(84.75)
    assert kpi.band == "green"
    row = response.text.split('id="kpi-fcr"')[1].split("</tr>")[0]
    assert "73.9" in row
    assert "84.8" in row  # 1 decimal on pages
    assert "band-green" in row
    assert reverse("kpi-why", args=["ALICE", "fcr"]) in row
    assert "<svg" in row


def test_scorecard_draws_each_weekly_trend_as_a_light_svg_with_hover_values(client, org):
    # matplotlib's charts took 30–40 ms each, 12 to a page: the page draws the hand-built chart instead.
    _put_fcr(org.alice, 739, 1000, day="2026-07-08")

    response = _get(client, org.mike, reverse("scorecard", args=["ALICE"]), Q3)

    row = response.text.split('id="kpi-fcr"')[1].split("</tr>")[0]
    assert 'class="chart" role="img" aria-label="First-contact resolution, weekly values"' in row
    assert "<title>week of 2026-07-06: 73.9%</title>" in row
    assert ">65%</text>" in row and ">80%</text>" in row  # fcr's baseline and excellent on the y axis
    assert "<style" not in response.text.split("<main")[-1]  # no matplotlib stylesheet inlined in the page


def test_scorecard_charts_speak_chinese(client, org):
    _put_fcr(org.alice, 739, 1000, day="2026-07-08")

    response = _get(client, org.alice, reverse("scorecard", args=["ALICE"]), Q3, **ZH)

    row = response.text.split('id="kpi-fcr"')[1].split("</tr>")[0]
    assert "一次解决率" in row.split('aria-label="')[1].split('"')[0]
    assert "2026-07-06" in row and "73.9%" in row.split("<title>")[2]


def test_scorecard_shows_thresholds_no_data_and_insufficient_data(client, org):
    _put_fcr(org.alice, 739, 1000)
    kpi = Kpi.objects.get(code="fcr")
    kpi.min_sample = 5000
    kpi.save()  # save, not update(): the library cache is renewed by the save signal

    response = _get(client, org.alice, reverse("scorecard", args=["ALICE"]), Q3)

    fcr = response.text.split('id="kpi-fcr"')[1].split("</tr>")[0]
    assert "insufficient data" in fcr
    csat = response.text.split('id="kpi-csat"')[1].split("</tr>")[0]
    assert "no data" in csat
    assert ">75<" in csat and ">85<" in csat and ">92<" in csat


def test_unit_scorecard_sums_its_subtree_and_links_to_ranking(client, org):
    _put_fcr(org.alice, 700, 1000)
    _put_fcr(org.carl, 800, 1000)

    response = _get(client, org.dana, reverse("scorecard", args=["D1"]), Q3)

    assert response.context["result"].kpi("fcr").value == pytest.approx(75.0)
    assert reverse("ranking", args=["D1"]) in response.text


def _scattered_data(org):
    """Rows on people and on a unit, over several weeks, some outside the range, with fractional costs."""
    days = ["2026-06-30", "2026-07-06", "2026-07-08", "2026-07-12", "2026-07-13", "2026-07-30", "2026-08-03",
            "2026-08-20", "2026-08-21", "2026-09-01"]
    for i, day in enumerate(days):
        put(org.alice, day, first_contact_resolved=70 + i, contacts_handled=100, cost=512.25 + i,
            handle_seconds=36_000 + 7 * i)
        put(org.carl, day, first_contact_resolved=81 - i, contacts_handled=100 + i, cost=498.5 - i / 4)
        if i % 3 == 0:
            put(org.t1, day, contacts_offered=250 + i, answered_in_sl=200 + 2 * i, abandoned=9 + i)
            put(org.olga, day, csat_responses=10 + i, csat_satisfied=8)


@pytest.mark.parametrize("code", ["C", "D1", "ALICE"])
def test_the_scorecard_read_in_one_pass_equals_the_period_and_weekly_sums_read_apart(org, code):
    # The scorecard page reads daily sums once (selectors.scorecard_with_trend) and adds them up for the
    # period and for each week; the numbers must be those of the period's sums (measure_sums) and of
    # each week's own sums, the range cutting the first and last weeks.
    _scattered_data(org)
    start, end = dt.date(2026, 7, 8), dt.date(2026, 8, 20)
    subject = selectors.subject_get(org.dirk, code)
    library = selectors.library_load()

    card, weeks, series = selectors.scorecard_with_trend(subject, start, end, library=library)

    assert card == selectors.scorecard_for_subject(subject, start, end, library=library)
    assert card.kpi("fcr").value is not None and card.kpi("cost_per_contact").value is not None
    assert weeks[0] == dt.date(2026, 7, 6) and weeks[-1] == dt.date(2026, 8, 17)
    for i, week in enumerate(weeks):
        week_card = selectors.scorecard_for_subject(
            subject, max(week, start), min(week + dt.timedelta(days=6), end), library=library
        )
        for code_ in series:
            assert series[code_][i] == week_card.kpi(code_).value, (week, code_)
    assert series["fcr"][2] is None  # no row in the week of 20 July: no data, not zero
    assert series["fcr"][0] is not None and series["fcr"][1] is not None


def test_the_center_scorecard_page_shows_the_numbers_of_the_period_sums(client, org):
    _scattered_data(org)

    response = _get(client, org.dirk, reverse("scorecard", args=["C"]), {"start": "2026-07-08", "end": "2026-08-20"})

    expected = selectors.scorecard_for_subject(
        selectors.subject_get(org.dirk, "C"), dt.date(2026, 7, 8), dt.date(2026, 8, 20)
    )
    assert response.context["result"] == expected
    assert response.context["result"].kpi("cost_per_contact").value == pytest.approx(
        (sum(512.25 + i for i in range(2, 8)) + sum(498.5 - i / 4 for i in range(2, 8)))
        / (600 + sum(100 + i for i in range(2, 8)))
    )


def test_scorecard_breadcrumb_shows_only_visible_units(client, org):
    response = _get(client, org.mike, reverse("scorecard", args=["ALICE"]), Q3)

    assert [u.code for u in response.context["breadcrumb"]] == ["T1"]
    response = _get(client, org.dirk, reverse("scorecard", args=["ALICE"]), Q3)
    assert [u.code for u in response.context["breadcrumb"]] == ["C", "D1", "T1"]


def test_scorecard_renders_in_chinese(client, org):
    _put_fcr(org.alice, 739, 1000)

    response = _get(client, org.alice, reverse("scorecard", args=["ALICE"]), Q3, **ZH)

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.text
    assert "一次解决率" in response.text
    assert "客户" in response.text


def test_scorecard_in_chinese_names_the_excellent_band_apart_from_the_threshold(client, org):
    _put_fcr(org.alice, 900, 1000)

    text = _get(client, org.alice, reverse("scorecard", args=["ALICE"]), Q3, **ZH).text

    row = text.split('id="kpi-fcr"')[1].split("</tr>")[0]
    assert "band-excellent" in row and 'title="卓越"' in row
    assert '<th scope="col" class="num">卓越值</th>' in text


def test_bad_dates_in_chinese_put_a_full_width_colon_after_the_field(client, org):
    response = _get(client, org.alice, reverse("scorecard", args=["ALICE"]), {"start": "bad", "end": ""}, **ZH)

    assert response.status_code == 400
    assert "<strong>开始日期：</strong>" in response.text


def test_scorecard_presets_pick_the_range(client, org):
    response = _get(client, org.alice, reverse("scorecard", args=["ALICE"]), {"preset": "last_month"})

    assert response.status_code == 200
    assert response.context["start"].day == 1
    assert "?preset=this_week" in response.text


@pytest.mark.parametrize(
    "params, message",
    [
        ({"start": "2026-13-01", "end": "2026-09-30"}, BAD_DATE),
        ({"start": "yesterday", "end": ""}, BAD_DATE),
        ({"start": "2026-09-30", "end": "2026-07-01"}, START_AFTER_END),
    ],
)
def test_scorecard_with_bad_dates_shows_the_field_message(client, org, params, message):
    response = _get(client, org.alice, reverse("scorecard", args=["ALICE"]), params)

    assert response.status_code == 400
    assert escape(str(message)) in response.text
    assert "result" not in response.context


def test_scorecard_with_unknown_preset_is_refused(client, org):
    response = _get(client, org.alice, reverse("scorecard", args=["ALICE"]), {"preset": "forever"})

    assert response.status_code == 400


@pytest.mark.parametrize(
    "user, code",
    [
        ("alice", "BOB"), ("alice", "T1"), ("alice", "C"),
        ("olga", "T1"), ("olga", "ALICE"),
        ("mike", "D2"), ("mike", "CARL"),
        ("dirk", "NOBODY"),
    ],
)
def test_scorecard_answers_404_to_who_may_not_see_it(client, org, user, code):
    response = _get(client, getattr(org, user), reverse("scorecard", args=[code]), Q3)

    assert response.status_code == 404


def test_pages_need_a_login(client, org):
    response = client.get(reverse("scorecard", args=["ALICE"]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# ---------------------------------------------------------------------- why


def test_why_page_shows_sums_formula_segment_and_weights(client, org):
    _put_fcr(org.alice, 739, 1000)
    put(org.alice, "2026-07-02", csat_responses=100, csat_satisfied=80)

    response = _get(client, org.alice, reverse("kpi-why", args=["ALICE", "fcr"]), Q3)

    assert response.status_code == 200
    text = response.text
    assert "739" in text and "1000" in text
    assert "100 × first_contact_resolved / contacts_handled" in text
    assert "100 × 739 / 1000 = 73.9" in text
    assert "typical_excellent" in text
    assert "<h1>Why this score: First-contact resolution</h1>" in text
    assert 'Value: <strong class="value">73.9%</strong>' in text
    assert "Segment: between typical and excellent" in text
    assert "80 + 20 × (73.9 − 72) / (80 − 72) = 84.75" in text
    # fcr and csat are the customer perspective's only scores: 25 / (25 + 25) = 50 %.
    assert "50.0%" in text
    shares = {row["item"].code: row["share"] for row in response.context["kpi_shares"]}
    assert shares == {"service_level": None, "abandon_rate": None, "fcr": 50.0, "csat": 50.0}
    assert response.context["perspective"].score == pytest.approx((84.75 + 70.0) / 2)


def test_why_page_explains_below_baseline_and_no_data(client, org):
    _put_fcr(org.alice, 600, 1000)

    response = _get(client, org.alice, reverse("kpi-why", args=["ALICE", "fcr"]), Q3)
    assert "below_baseline" in response.text
    assert "max(0, 60 + 20 × (60 − 65) / (72 − 65)) = 45.71" in response.text

    response = _get(client, org.alice, reverse("kpi-why", args=["ALICE", "csat"]), Q3)
    assert response.status_code == 200
    assert "csat_satisfied, csat_responses" in response.text


def test_why_page_renders_in_chinese(client, org):
    _put_fcr(org.alice, 739, 1000)

    response = _get(client, org.alice, reverse("kpi-why", args=["ALICE", "fcr"]), Q3, **ZH)

    assert "一次解决率" in response.text
    assert "一次解决量" in response.text  # the measure's Chinese name
    for text in ("<h1>得分说明：一次解决率</h1>", '数值：<strong class="value">73.9%</strong>',
                 "所处区间：介于典型值与卓越值之间", "<p>得分："):
        assert text in response.text, text
    assert ": " not in response.text.split("<main")[1].split("<script")[0].replace("://", "")


def test_why_page_404s_for_unknown_kpi_and_invisible_subject(client, org):
    assert _get(client, org.alice, reverse("kpi-why", args=["ALICE", "nope"])).status_code == 404
    assert _get(client, org.alice, reverse("kpi-why", args=["BOB", "fcr"])).status_code == 404
    assert _get(client, org.olga, reverse("kpi-why", args=["T1", "fcr"])).status_code == 404


# ------------------------------------------------------------------ ranking


def test_ranking_orders_agents_and_marks_the_weakest_kpi(client, org):
    _put_fcr(org.alice, 780, 1000)  # 95.0
    _put_fcr(org.bob, 700, 1000)  # 68.57
    put(org.bob, "2026-07-02", csat_responses=100, csat_satisfied=90)  # 94.29
    put(org.alice, "2026-07-02", csat_responses=100, csat_satisfied=70)  # 50.0

    response = _get(client, org.mike, reverse("ranking", args=["T1"]), Q3)

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["m"].obj.code for r in rows] == ["BOB", "ALICE"]
    assert [r["rank"] for r in rows] == [1, 2]
    assert rows[0]["weakest"].code == "fcr"
    assert rows[1]["weakest"].code == "csat"
    text = response.text
    assert text.index("Bob Peer") < text.index("Alice Agent")
    assert reverse("scorecard", args=["ALICE"]) in text
    assert reverse("kpi-why", args=["ALICE", "csat"]) in text
    assert "has-weakest" in text


def test_ranking_of_a_department_ranks_its_teams_and_sorts_by_perspective(client, org):
    _put_fcr(org.alice, 780, 1000)
    _put_fcr(org.carl, 700, 1000)
    put(org.t1, "2026-07-02", adherent_minutes=80, scheduled_minutes=100)
    put(org.t2, "2026-07-02", adherent_minutes=95, scheduled_minutes=100)

    # T1: customer 95, internal process 40 → 67.5; T2: customer 74.29, internal process 100 → 87.14.
    response = _get(client, org.dana, reverse("ranking", args=["D1"]), Q3)
    assert response.context["kind"] == "units"
    assert [r["m"].obj.code for r in response.context["rows"]] == ["T2", "T1"]

    response = _get(client, org.dana, reverse("ranking", args=["D1"]), {**Q3, "sort": "customer"})
    assert [(r["m"].obj.code, r["rank"]) for r in response.context["rows"]] == [("T1", 1), ("T2", 2)]


def test_ranking_renders_in_chinese(client, org):
    _put_fcr(org.alice, 780, 1000)

    response = _get(client, org.dirk, reverse("ranking", args=["T1"]), Q3, **ZH)

    assert response.status_code == 200
    assert "一次解决率" in response.text


@pytest.mark.parametrize(
    "user, code",
    [("alice", "T1"), ("alice", "C"), ("olga", "T1"), ("mike", "D2"), ("mike", "D1"), ("dirk", "ALICE")],
)
def test_ranking_answers_404_to_who_may_not_see_it_and_for_people(client, org, user, code):
    response = _get(client, getattr(org, user), reverse("ranking", args=[code]), Q3)

    assert response.status_code == 404


def test_ranking_with_bad_dates_is_refused(client, org):
    response = _get(client, org.mike, reverse("ranking", args=["T1"]), {"start": "2026-09-30", "end": "2026-07-01"})

    assert response.status_code == 400
    assert escape(str(START_AFTER_END)) in response.text


# ------------------------------------------------------------------ org tree


def test_org_tree_for_a_manager_shows_their_subtree_and_people(client, org):
    response = _get(client, org.dana, reverse("org-tree"))

    assert response.status_code == 200
    assert [row["unit"].code for row in response.context["tree"]] == ["D1", "T1", "T2"]
    totals = {row["unit"].code: row["total"] for row in response.context["tree"]}
    assert totals == {"D1": 5, "T1": 3, "T2": 1}  # Dana; Mike, Alice, Bob; Carl
    assert reverse("ranking", args=["T1"]) in response.text
    assert "Olga Other" not in response.text
    assert reverse("scorecard", args=["CARL"]) in response.text


def test_org_tree_for_the_director_shows_everything_in_chinese(client, org):
    response = _get(client, org.dirk, reverse("org-tree"), **ZH)

    assert response.status_code == 200
    tree = [(row["unit"].code, row["indent"]) for row in response.context["tree"]]
    assert tree == [("C", 0), ("D1", 1), ("T1", 2), ("T2", 2), ("D2", 1), ("T3", 2)]
    assert "Olga Other" in response.text
    assert response.text.count('<th scope="col">组织单元</th>') == 2


def test_org_tree_is_not_for_agents(client, org):
    assert _get(client, org.alice, reverse("org-tree")).status_code == 404


# ------------------------------------------------------------------ library


def test_kpi_list_is_grouped_by_perspective_for_everyone(client, org):
    response = _get(client, org.alice, reverse("kpi-list"))

    assert response.status_code == 200
    assert [row["p"].code for row in response.context["perspectives"]] == [
        "financial", "customer", "internal_process", "learning_growth",
    ]
    assert "First-contact resolution" in response.text
    assert reverse("kpi-create") not in response.text  # no edit links for agents


def test_kpi_list_renders_in_chinese_with_edit_links_for_the_director(client, org):
    response = _get(client, org.dirk, reverse("kpi-list"), **ZH)

    assert "一次解决率" in response.text and "学习与发展" in response.text
    assert reverse("kpi-create") in response.text


def test_kpi_detail_uses_the_metric_format(client, org):
    response = _get(client, org.alice, reverse("kpi-detail", args=["fcr"]))

    assert response.status_code == 200
    for term in ("指标名称", "定义", "计算公式", "基准值", "典型值", "卓越值"):
        assert term in response.text
    assert "100 × first_contact_resolved / contacts_handled" in response.text


def test_kpi_detail_in_chinese_shows_the_chinese_name(client, org):
    response = _get(client, org.alice, reverse("kpi-detail", args=["fcr"]), **ZH)

    assert "一次解决率" in response.text
    assert "未转后台" in response.text  # the Chinese definition


def test_kpi_detail_in_chinese_does_not_repeat_the_terms_and_translates_the_history_reason(client, org):
    text = _get(client, org.alice, reverse("kpi-detail", args=["fcr"]), **ZH).text

    assert 'class="term"' not in text
    assert text.count("指标名称") == 1 and '<th scope="row">卓越值</th>' in text
    assert "65%" in text and "65 %" not in text
    assert "随默认 KPI 库安装" in text and "default library" not in text


def test_kpi_detail_shows_units_as_the_scorecard_does(client, org):
    fcr = _get(client, org.alice, reverse("kpi-detail", args=["fcr"])).text
    assert "65%" in fcr and "65 %" not in fcr
    assert 'class="term">指标名称</span>' in fcr  # the Chinese terms next to the English labels
    assert "Installed with the default library" in fcr
    aht = _get(client, org.alice, reverse("kpi-detail", args=["aht"])).text
    assert "420 s" in aht


def test_kpi_history_translates_the_rescaling_reason(client, org):
    client.force_login(org.dirk)
    data = {
        "code": "fcr_fast", "name": "Fast resolution", "perspective": Perspective.objects.get(code="customer").pk,
        "formula": "100 × first_contact_resolved / contacts_handled", "unit": "%", "direction": "higher",
        "baseline": "60", "typical": "70", "excellent": "80", "weight": "20",
    }
    assert client.post(reverse("kpi-create"), data).status_code == 302

    assert "Weight rescaled for the new KPI fcr_fast" in client.get(reverse("kpi-detail", args=["fcr"])).text
    assert "因新增 KPI fcr_fast 按比例调整权重" in client.get(reverse("kpi-detail", args=["fcr"]), **ZH).text


def test_kpi_list_shows_the_measure_descriptions_in_the_users_language(client, org):
    english = _get(client, org.alice, reverse("kpi-list")).text
    chinese = _get(client, org.alice, reverse("kpi-list"), **ZH).text

    assert "Contacts that reached the queue." in english and "进入队列的接触量。" not in english
    assert "进入队列的接触量。" in chinese and "Contacts that reached the queue." not in chinese
    assert '<th scope="col">单位</th>' in chinese
    assert all(m.description_zh for m in Measure.objects.all())


def test_kpi_detail_404s_for_unknown_kpi(client, org):
    assert _get(client, org.dirk, reverse("kpi-detail", args=["nope"])).status_code == 404


def test_kpi_edit_changes_thresholds_and_history_shows_who_and_what(client, org):
    client.force_login(org.dirk)
    data = {
        "name": "First-contact resolution", "name_zh": "一次解决率", "definition": "d", "definition_zh": "",
        "formula": "100 × first_contact_resolved / contacts_handled", "unit": "%", "direction": "higher",
        "baseline": "66", "typical": "72", "excellent": "80", "min_sample": "",
    }

    response = client.post(reverse("kpi-edit", args=["fcr"]), data)
    assert response.status_code == 302
    assert Kpi.objects.get(code="fcr").baseline == 66
    response = client.post(reverse("kpi-edit", args=["fcr"]), {**data, "baseline": "67", "excellent": "82"})
    assert response.status_code == 302

    response = client.get(reverse("kpi-detail", args=["fcr"]))
    history = response.context["history"]
    assert history[0]["record"].history_user == org.dirk
    changed = {str(c["field"]): (c["old"], c["new"]) for c in history[0]["changes"]}
    assert changed["baseline"] == ("66", "67")
    assert changed["excellent"] == ("80", "82")
    assert "Dirk Director" in response.text
    assert "<del>66</del> → <ins>67</ins>" in response.text


def test_kpi_create_adds_a_kpi_and_rescales_its_siblings(client, org):
    client.force_login(org.dirk)
    data = {
        "code": "fcr_fast", "name": "Fast resolution", "perspective": Perspective.objects.get(code="customer").pk,
        "formula": "100 × first_contact_resolved / contacts_handled", "unit": "%", "direction": "higher",
        "baseline": "60", "typical": "70", "excellent": "80", "weight": "20",
    }

    response = client.post(reverse("kpi-create"), data)

    assert response.status_code == 302
    assert response.url == reverse("kpi-detail", args=["fcr_fast"])
    weights = dict(Kpi.objects.filter(perspective__code="customer").values_list("code", "weight"))
    assert weights["fcr_fast"] == 20
    assert weights["fcr"] == pytest.approx(20)


KPI_DATA = {
    "code": "new_kpi", "name": "New", "formula": "100 × first_contact_resolved / contacts_handled", "unit": "%",
    "direction": "higher", "baseline": "60", "typical": "70", "excellent": "80", "weight": "20",
}


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"formula": "100 × nope / contacts_handled"}, "formula", "Unknown measure: nope."),
        ({"baseline": "90"}, "typical", str(THRESHOLDS_NOT_ORDERED)),
        ({"direction": "lower"}, "typical", str(THRESHOLDS_NOT_ORDERED)),
        ({"formula": "first_contact_resolved / / x"}, "formula", None),
    ],
)
def test_kpi_create_with_bad_input_shows_field_messages_and_saves_nothing(client, org, change, field, message):
    client.force_login(org.dirk)
    data = {**KPI_DATA, "perspective": Perspective.objects.get(code="customer").pk, **change}
    before = list(Kpi.objects.values_list("code", "weight"))

    response = client.post(reverse("kpi-create"), data)

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    if message:
        assert escape(message) in response.text
    assert list(Kpi.objects.values_list("code", "weight")) == before


def test_kpi_edit_with_thresholds_out_of_order_saves_nothing(client, org):
    client.force_login(org.dirk)
    data = {
        "name": "First-contact resolution", "formula": "100 × first_contact_resolved / contacts_handled",
        "unit": "%", "direction": "higher", "baseline": "80", "typical": "72", "excellent": "65",
    }

    response = client.post(reverse("kpi-edit", args=["fcr"]), data)

    assert response.status_code == 400
    assert escape(str(THRESHOLDS_NOT_ORDERED)) in response.text
    kpi = Kpi.objects.get(code="fcr")
    assert (kpi.baseline, kpi.excellent) == (65, 80)
    assert kpi.history.count() == 1  # only the default library's first record


def _weights_data(**overrides):
    data = {f"p-{p.code}": p.weight for p in Perspective.objects.all()}
    data.update({f"k-{k.code}": k.weight for k in Kpi.objects.all()})
    data.update(overrides)
    return data


def test_weights_page_saves_valid_weights(client, org):
    client.force_login(org.dirk)
    data = _weights_data(**{"p-financial": 10, "p-customer": 40, "k-fcr": 40, "k-csat": 10})

    response = client.post(reverse("kpi-weights"), data)

    assert response.status_code == 302
    assert Perspective.objects.get(code="customer").weight == 40
    assert Kpi.objects.get(code="fcr").weight == 40


@pytest.mark.parametrize(
    "overrides",
    [{"p-customer": 30}, {"k-fcr": 30}, {"k-fcr": -5, "k-csat": 55}],
)
def test_weights_not_summing_to_100_show_a_message_and_save_nothing(client, org, overrides):
    client.force_login(org.dirk)
    before = list(Kpi.objects.values_list("code", "weight")), list(Perspective.objects.values_list("code", "weight"))

    response = client.post(reverse("kpi-weights"), _weights_data(**overrides))

    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    if "p-customer" in overrides:
        assert escape(str(WEIGHTS_NOT_100 % {"total": "105"})) in response.text
    after = list(Kpi.objects.values_list("code", "weight")), list(Perspective.objects.values_list("code", "weight"))
    assert after == before


def test_weights_page_renders_in_chinese(client, org):
    response = _get(client, org.dirk, reverse("kpi-weights"), **ZH)

    assert response.status_code == 200
    assert "一次解决率" in response.text and "财务" in response.text
    assert "合计：<output" not in response.text and "合计： <output" in response.text


def test_measure_create_adds_a_measure_and_refuses_a_duplicate(client, org):
    client.force_login(org.dirk)

    response = client.post(reverse("measure-create"), {"code": "callbacks", "name": "Call-backs"})
    assert response.status_code == 302
    assert Measure.objects.filter(code="callbacks").exists()

    response = client.post(reverse("measure-create"), {"code": "callbacks", "name": "Again"})
    assert response.status_code == 400
    assert response.context["form"].errors["code"]
    assert Measure.objects.get(code="callbacks").name == "Call-backs"


@pytest.mark.parametrize("user", ["alice", "mike", "hana"])
@pytest.mark.parametrize(
    "url", [reverse("kpi-create"), reverse("kpi-edit", args=["fcr"]), reverse("kpi-weights"), reverse("measure-create")]
)
def test_library_edit_pages_answer_404_to_non_directors(client, org, user, url):
    client.force_login(getattr(org, user))

    assert client.get(url).status_code == 404
    assert client.post(url, {"code": "x", "name": "x", "baseline": "1"}).status_code == 404
    assert not Measure.objects.filter(code="x").exists()


@pytest.mark.parametrize(
    "url", [reverse("kpi-create"), reverse("kpi-edit", args=["fcr"]), reverse("kpi-weights"), reverse("measure-create")]
)
def test_library_edit_pages_render_for_the_director(client, org, url):
    assert _get(client, org.dirk, url).status_code == 200
    assert _get(client, org.dirk, url, **ZH).status_code == 200


# ----------------------------------------------------------- query counts


def _more_data(org, agents=30):
    """30 more agents on T1 with a quarter of rows every third day, and queue figures on the team."""
    people = [make_person(f"X{i:02}", f"Extra {i:02}", org.t1, "agent", org.mike) for i in range(agents)]
    measures = dict(Measure.objects.values_list("code", "pk"))
    per_person = {"first_contact_resolved": 75, "contacts_handled": 100, "csat_responses": 10, "csat_satisfied": 8,
                  "handle_seconds": 36000}
    per_team = {"contacts_offered": 500, "answered_in_sl": 400, "abandoned": 20}
    rows = []
    for day in range(0, 90, 3):
        date = dt.date(2026, 7, 1) + dt.timedelta(days=day)
        for i, person in enumerate(people + [org.bob, org.carl]):
            rows += [Measurement(date=date, unit_id=person.unit_id, person=person, measure_id=measures[code],
                                 value=value + i % 7) for code, value in per_person.items()]
        rows += [Measurement(date=date, unit=org.t1, measure_id=measures[c], value=v) for c, v in per_team.items()]
    Measurement.objects.bulk_create(rows)


def _count(client, url, data=None):
    selectors._SUBJECT_CACHE.clear()  # count the worst case: the subject not yet cached
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


# Expected queries, whatever the data size (the KPI library cached in the process: one
# version query; 3 more on the first request after a library change; subjects cached
# too, counted here uncached: one token query plus the lookups; one query for the
# thresholds of objectives in force, which override the library's). Every page pays
# session + user, and the navigation's home-code query (the root unit, for Dirk).
#   scorecard, unit T1: + org token, subject unit, subtree ids, breadcrumb, library version, daily sums
#       (the totals and the weekly trend in one), objective thresholds        = 10
#   scorecard, person ALICE: + org token, subject unit lookup (miss), person, breadcrumb, library version,
#       daily sums, objective thresholds                                      = 10
#       + her team's standing per KPI (selectors.team_standing): team subtree, team agents, their grouped
#       sums, their objective thresholds, the team's measure sums              = 15
#   ranking T1 (agents): + org token, subject unit, subtree ids, breadcrumb, library version, subtree,
#       child units, agents, grouped sums, objective thresholds               = 13
#   ranking D1 (teams): the same without the agents query                      = 12
#   why (T1, fcr): + org token, subject unit, subtree ids, KPI, breadcrumb, library version, measure sums,
#       measure names, objective thresholds                                   = 12
#   kpi list: + perspectives, KPIs, measures                                               = 6
#   kpi detail: + KPI, its history with users                                              = 5
#   org tree (as Dana): session, user, Dana's unit (navigation), units with head counts,
#       people                                                                             = 5
PAGES = [
    ("scorecard", ["T1"], Q3, 10),
    ("scorecard", ["ALICE"], Q3, 15),
    ("ranking", ["T1"], Q3, 13),
    ("ranking", ["D1"], Q3, 12),
    ("kpi-why", ["T1", "fcr"], Q3, 12),
    ("kpi-list", [], None, 6),
    ("kpi-detail", ["fcr"], None, 5),
    ("org-tree", [], None, 5),
]


@pytest.mark.parametrize("name, args, data, most", PAGES)
def test_query_count_does_not_grow_with_the_data(client, org, django_assert_max_num_queries, name, args, data, most):
    client.force_login(org.dirk if name != "org-tree" else org.dana)
    url = reverse(name, args=args)
    _put_fcr(org.alice, 739, 1000)
    _count(client, url, data)  # warm the per-process library cache
    small = _count(client, url, data)

    _more_data(org)
    with django_assert_max_num_queries(most):
        large = _count(client, url, data)

    assert large == small


# ------------------------------------------------------------ language, password


def test_language_switch_turns_the_pages_chinese(client, org):
    client.force_login(org.alice)
    url = reverse("kpi-detail", args=["fcr"])

    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": url}, follow=True)

    assert response.redirect_chain[-1][0] == url
    assert '<html lang="zh-hans">' in response.text
    assert "一次解决率" in response.text


def test_password_reset_sends_a_link_by_email(client, org, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/reset/" in mailoutbox[0].body
    assert "ALICE" in mailoutbox[0].body
