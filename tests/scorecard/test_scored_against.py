"""Numbers with words: a KPI scored against an agreed objective says so, and money shows its currency."""

import pytest
from django.urls import reverse
from django.utils import translation

from goals.models import Objective
from scorecard import selectors
from scorecard.calculations import Override, Thresholds
from scorecard.models import Kpi
from scorecard.units import unit_label
from tests.factories import put

Q3 = {"start": "2026-07-01", "end": "2026-09-30"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def stretch_objective(owner, by, status=Objective.Status.AGREED):
    return Objective.objects.create(
        owner_person=owner, period_start="2026-07-01", period_end="2026-09-30", due_date="2026-09-30",
        title="Stretch FCR", kind="kpi", kpi=Kpi.objects.get(code="fcr"), status=status, weight=20,
        created_by=by, baseline=70, target=74, stretch=78,
    )


@pytest.fixture
def alice_fcr(org):
    put(org.alice, "2026-07-02", first_contact_resolved=739, contacts_handled=1000)
    return org


def _get(client, user, url, data=None, **extra):
    client.force_login(user)
    return client.get(url, data or {}, **extra)


def test_the_scorecard_says_the_kpi_is_scored_against_her_agreed_objective(client, alice_fcr):
    o = stretch_objective(alice_fcr.alice, alice_fcr.mike)

    response = _get(client, alice_fcr.alice, reverse("scorecard", args=["ALICE"]), Q3)

    text = response.text
    assert f'<a href="{reverse("objective-detail", args=[o.pk])}">“Stretch FCR”</a>' in text
    assert "baseline 70%, target 74%, stretch 78%" in text
    assert "not the KPI library&#x27;s thresholds" in text or "not the KPI library's thresholds" in text
    assert text.count("Scored against the agreed objective") == 1  # only the FCR row


def test_the_why_page_says_so_too(client, alice_fcr):
    o = stretch_objective(alice_fcr.alice, alice_fcr.mike)

    response = _get(client, alice_fcr.mike, reverse("kpi-why", args=["ALICE", "fcr"]), Q3)

    assert reverse("objective-detail", args=[o.pk]) in response.text
    assert "“Stretch FCR”" in response.text


def test_without_an_agreed_objective_nothing_is_said(client, alice_fcr):
    stretch_objective(alice_fcr.alice, alice_fcr.mike, status=Objective.Status.DRAFT)

    response = _get(client, alice_fcr.alice, reverse("scorecard", args=["ALICE"]), Q3)

    assert "Scored against" not in response.text


def test_the_note_reads_in_chinese(client, alice_fcr):
    stretch_objective(alice_fcr.alice, alice_fcr.mike)

    response = _get(client, alice_fcr.alice, reverse("scorecard", args=["ALICE"]), Q3, **ZH)

    assert "按已约定的目标" in response.text


def test_the_api_names_what_the_kpi_is_scored_against(client, alice_fcr):
    o = stretch_objective(alice_fcr.alice, alice_fcr.mike)
    client.force_login(alice_fcr.alice)

    body = client.get(reverse("api-scorecard"), {"subject": "ALICE", **Q3}).json()

    kpis = {k["code"]: k for p in body["perspectives"] for k in p["kpis"]}
    assert kpis["fcr"]["scored_against"] == {"label": "Stretch FCR", "url": reverse("objective-detail", args=[o.pk])}
    assert kpis["csat"]["scored_against"] is None


@pytest.mark.parametrize("name", ["scorecard", "kpi-why"])
def test_saying_so_costs_no_query(client, alice_fcr, name):
    args = ["ALICE", "fcr"] if name == "kpi-why" else ["ALICE"]
    client.force_login(alice_fcr.dirk)
    url = reverse(name, args=args)
    client.get(url, Q3)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    selectors._SUBJECT_CACHE.clear()
    with CaptureQueriesContext(connection) as without:
        client.get(url, Q3)
    stretch_objective(alice_fcr.alice, alice_fcr.mike)
    selectors._SUBJECT_CACHE.clear()
    with CaptureQueriesContext(connection) as with_objective:
        response = client.get(url, Q3)

    assert "Stretch FCR" in response.text
    assert len(with_objective) == len(without)


def test_a_provider_may_return_plain_thresholds_or_an_object_with_a_label_and_url(org, monkeypatch):
    class Source:
        thresholds = Thresholds(1, 2, 3)
        label = "Site target"
        url = "/somewhere/"

    def provider(kind, ids, start, end):
        return {ids[0]: {"fcr": Thresholds(70, 74, 78), "csat": Source()}}

    monkeypatch.setattr(selectors, "OVERRIDE_PROVIDERS", [provider])
    merged = selectors.threshold_overrides("person", [org.alice.pk], None, None)[org.alice.pk]

    assert merged["fcr"] == Override(Thresholds(70, 74, 78))
    assert merged["csat"] == Override(Thresholds(1, 2, 3), "Site target", "/somewhere/")


# ------------------------------------------------------------------ currency


@pytest.fixture
def cost(org):
    put(org.alice, "2026-07-02", cost=3800, contacts_handled=1000)
    return org


def test_money_shows_the_yuan_sign_in_english(client, cost):
    response = _get(client, cost.alice, reverse("scorecard", args=["ALICE"]), Q3)

    assert "¥3.8" in response.text
    assert "currency" not in response.text.split("<main", 1)[1].split("</main>", 1)[0]


def test_money_shows_the_word_yuan_in_chinese(client, cost):
    response = _get(client, cost.alice, reverse("scorecard", args=["ALICE"]), Q3, **ZH)

    assert "3.8 元" in response.text


def test_the_why_page_shows_money_with_its_currency(client, cost):
    response = _get(client, cost.alice, reverse("kpi-why", args=["ALICE", "cost_per_contact"]), Q3)

    assert "¥3.8" in response.text


def test_the_currency_comes_from_the_setting(client, cost, settings):
    settings.CURRENCY = "USD"

    response = _get(client, cost.alice, reverse("scorecard", args=["ALICE"]), Q3)

    assert "US$3.8" in response.text
    with translation.override("zh-hans"):
        assert unit_label("currency") == "美元"


def test_an_unknown_currency_is_shown_by_its_code(settings):
    settings.CURRENCY = "SGD"

    assert unit_label("currency") == "SGD"


def test_the_default_currency_is_cny():
    from scorecard import settings as project_settings

    assert project_settings.CURRENCY == "CNY" or project_settings.os.environ.get("CURRENCY")
    with translation.override("en"):
        assert unit_label("currency") == "¥"
