"""Dates in forms are written as a browser's date box reads them (2026-10-01), in Chinese too.

Django's zh-Hans formats write a form's date as "2026/10/01", which <input type="date"> refuses: the box
showed empty, so a Chinese agent's prefilled period and due date vanished and the objective could not be
proposed ("set a due date").
"""

import re

from django.urls import reverse

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def date_values(html: str) -> dict[str, str]:
    return {name: value for name, value in re.findall(r'<input type="date" name="(\w+)" value="([^"]*)"', html)}


def test_chinese_objective_form_prefills_its_dates_as_a_date_box_reads_them(client, org):
    client.force_login(org.alice)
    html = client.get(reverse("objective-create"), **ZH).content.decode()
    assert "负责人" in html  # the page is in Chinese
    dates = date_values(html)
    assert set(dates) >= {"period_start", "period_end", "due_date"}
    for name, value in dates.items():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), f"{name} is written {value!r}"


def test_chinese_forms_still_read_a_date_typed_with_slashes(client, org):
    client.force_login(org.alice)
    response = client.post(reverse("objective-create"), {
        "owner": "ALICE", "period_start": "2026/10/01", "period_end": "2026/12/31", "title": "FCR up",
        "result": "Resolve more at first touch", "kind": "kpi", "kpi": "fcr", "baseline": "70", "target": "74",
        "stretch": "78", "resources": "Coaching", "weight": "30", "due_date": "2026/12/31", "save": "",
    }, **ZH)
    assert response.status_code == 302, response.content.decode()[:2000]
