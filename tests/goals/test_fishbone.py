"""The fishbone diagram (鱼骨图): factor names and category labels drawn as text, Chinese included."""

import re
from types import SimpleNamespace

from django.urls import reverse
from django.utils import translation

from goals import checkins
from goals.fishbone import fishbone_svg, shorten
from goals.models import InfluencingFactor
from tests.goals.test_checkins import api, make_objective

C = InfluencingFactor.Category


def factor(name, category, controllable=False, influenceable=False):
    return SimpleNamespace(name=name, category=category, controllable=controllable, influenceable=influenceable)


DOMAIN_EXAMPLE = [  # complaint satisfaction, from DOMAIN.md
    factor("物流速度", C.ENVIRONMENT, False, True),
    factor("服务态度", C.PEOPLE, False, True),
    factor("信息准确性", C.INFORMATION, True, True),
    factor("Market information", C.INFORMATION, False, False),
]


def texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_the_svg_holds_the_factor_names_including_chinese_and_the_effect():
    svg = fishbone_svg("投诉满意度", DOMAIN_EXAMPLE)

    assert svg.startswith("<svg") and svg.endswith("</svg>")
    drawn = texts(svg)
    assert "投诉满意度" in drawn
    assert "○ 物流速度" in drawn and "○ 服务态度" in drawn and "●○ 信息准确性" in drawn
    assert "Market information" in drawn  # neither controllable nor influenceable: no mark


def test_the_six_category_bones_are_labelled_even_when_empty():
    drawn = texts(fishbone_svg("Effect", []))

    for label in ("People", "Method", "System", "Information", "Environment", "Measurement"):
        assert label in drawn


def test_category_labels_follow_the_language():
    with translation.override("zh-hans"):
        svg = fishbone_svg("Effect", [])
    expected = {str(label) for label in _labels_in("zh-hans")}
    assert expected <= set(texts(svg))


def _labels_in(language):
    with translation.override(language):
        return [str(c.label) for c in C]


def test_text_stays_text_in_noto_sans_cjk_sc():
    svg = fishbone_svg("投诉满意度", DOMAIN_EXAMPLE)

    assert "font-family: 'Noto Sans CJK SC'" in svg
    assert "○ 物流速度" in texts(svg)  # a <text> element, not glyph outlines
    assert 'role="img"' in svg and 'aria-label="' in svg
    assert "<metadata>" not in svg


def test_the_legend_explains_the_marks():
    assert "● controllable · ○ influenceable" in texts(fishbone_svg("E", []))


def test_long_names_are_shortened_on_the_diagram():
    assert shorten("A very long factor name that goes on and on") == "A very long factor name that…"
    assert shorten("知识库检索慢导致处理时长增加的系统问题") == "知识库检索慢导致处理时长增加…"  # a CJK character counts 2 of 30 columns
    assert shorten("Short") == "Short"


def test_more_factors_make_a_taller_diagram():
    few = fishbone_svg("E", DOMAIN_EXAMPLE)
    many = fishbone_svg("E", DOMAIN_EXAMPLE + [factor(f"People {n}", C.PEOPLE) for n in range(8)])

    def height(svg):
        return int(re.search(r'height="(\d+)"', svg).group(1))

    assert height(many) > height(few)
    assert "People 7" in texts(many)


def test_the_same_factors_draw_the_same_bytes():
    assert fishbone_svg("E", DOMAIN_EXAMPLE) == fishbone_svg("E", DOMAIN_EXAMPLE)


def test_the_fishbone_is_served_as_an_svg_image(client, org):
    o = make_objective(org.alice, title="投诉满意度")
    checkins.factor_create(user=org.alice, objective=o, name="物流速度", controllable=False, influenceable=True,
                           kpi=None, category=C.ENVIRONMENT, note="")
    client.force_login(org.mike)

    response = client.get(reverse("objective-fishbone", args=[o.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    body = response.content.decode()
    assert 'xmlns="http://www.w3.org/2000/svg"' in body and "○ 物流速度" in body


def test_the_api_serves_the_fishbone_as_svg(org):
    o = make_objective(org.alice, title="投诉满意度")
    checkins.factor_create(user=org.alice, objective=o, name="服务态度", controllable=False, influenceable=True,
                           kpi=None, category=C.PEOPLE, note="")

    response = api(org.alice).get(reverse("api-objective-fishbone", args=[o.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "○ 服务态度" in response.content.decode()
