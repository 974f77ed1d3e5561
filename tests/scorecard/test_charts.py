import datetime as dt
import re
import time

import pytest

from scorecard.charts import HEIGHT_PX, LINE_COLOUR, WIDTH_PX, trend_svg

WEEKS = [dt.date(2026, 7, 6) + dt.timedelta(days=7 * i) for i in range(13)]
VALUES = [70, 72, None, 75, 74, 73.9, None, None, 78, 80, 81, 79, 77]


def _line_paths(svg: str) -> list[str]:
    return re.findall(rf'<path d="([^"]*)"[^>]*stroke: {LINE_COLOUR}', svg, re.S)


def test_trend_svg_is_a_bare_svg_element_of_the_small_size():
    svg = trend_svg(WEEKS, VALUES, 65, 80, "%")

    assert svg.startswith("<svg ")
    assert svg.endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata>" not in svg
    assert f'width="{WIDTH_PX}" height="{HEIGHT_PX}"' in svg
    assert 'class="chart"' in svg


def test_trend_svg_keeps_text_as_text_with_a_cjk_font_first():
    svg = trend_svg(WEEKS, VALUES, 65, 80, "%", title="一次解决率")

    assert "一次解决率" in svg
    assert "<text" in svg
    assert "font-family: 'Noto Sans CJK SC'" in svg
    # Week labels on the x axis.
    assert "07-06" in svg


def test_chart_is_named_for_screen_readers():
    svg = trend_svg(WEEKS, VALUES, 65, 80, "%", label='FCR <"weekly">')

    assert 'role="img" aria-label="FCR &lt;&quot;weekly&quot;&gt;"' in svg


def test_none_values_are_gaps_in_the_line():
    svg = trend_svg(WEEKS[:4], [1, None, 3, 4], 0, 5, "")

    (line,) = _line_paths(svg)
    assert line.count("M") == 2  # the line is lifted over the missing week


def test_baseline_and_excellent_are_dashed_lines():
    svg = trend_svg(WEEKS, VALUES, 65, 80, "%")

    assert svg.count("stroke-dasharray") >= 2


@pytest.mark.parametrize("weeks, values", [([], []), (WEEKS[:1], [None]), (WEEKS, [None] * len(WEEKS))])
def test_empty_series_still_draw(weeks, values):
    svg = trend_svg(weeks, values, 6.0, 4.0, "currency")

    assert svg.startswith("<svg ")


def test_same_input_gives_the_same_svg():
    assert trend_svg(WEEKS, VALUES, 65, 80, "%") == trend_svg(WEEKS, VALUES, 65, 80, "%")


def test_stylesheet_is_scoped_to_the_chart():
    # matplotlib's "*{...}" would otherwise apply to the whole page the SVG is inlined in.
    svg = trend_svg(WEEKS, VALUES, 65, 80, "%")

    assert "svg.chart *{" in svg
    assert ">*{" not in svg


def test_global_matplotlib_settings_are_left_alone():
    import matplotlib

    before = matplotlib.rcParams["svg.fonttype"], matplotlib.rcParams["font.size"]
    trend_svg(WEEKS, VALUES, 65, 80, "%")

    assert (matplotlib.rcParams["svg.fonttype"], matplotlib.rcParams["font.size"]) == before


def test_a_chart_takes_a_few_milliseconds():
    trend_svg(WEEKS, VALUES, 65, 80, "%")  # warm up: imports and the reusable figure
    runs = 20
    began = time.perf_counter()
    for _ in range(runs):
        trend_svg(WEEKS, VALUES, 65, 80, "%")
    per_chart = (time.perf_counter() - began) / runs

    # About 11 ms on the development machine; the bound leaves room for a loaded CI box.
    assert per_chart < 0.1


def test_charts_render_inside_a_weasyprint_pdf():
    weasyprint = pytest.importorskip("weasyprint")
    svg = trend_svg(WEEKS, VALUES, 65, 80, "%", title="一次解决率")

    pdf = weasyprint.HTML(string=f"<html><body>{svg}</body></html>").write_pdf()

    assert pdf.startswith(b"%PDF")


def test_sparkline_draws_runs_between_gaps_and_both_thresholds():
    import xml.etree.ElementTree as ET

    from scorecard.charts import BASELINE_COLOUR, EXCELLENT_COLOUR, sparkline_svg

    weeks = [dt.date(2026, 7, 6) + dt.timedelta(weeks=i) for i in range(6)]
    svg = sparkline_svg(weeks, [70, 72, None, 75, None, 74], 65, 80, label="FCR <weekly> & more")
    root = ET.fromstring(svg)  # well-formed, the label escaped
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("aria-label") == "FCR <weekly> & more"
    assert [len(p.get("points").split()) for p in root.iter(f"{ns}polyline")] == [2]  # 70 → 72; 75 and 74 alone
    assert len(list(root.iter(f"{ns}circle"))) == 2
    assert {line.get("stroke") for line in root.iter(f"{ns}line")} == {BASELINE_COLOUR, EXCELLENT_COLOUR}
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts == ["07-06", "08-10", "70 – 75"]
    # Higher values are drawn higher: the excellent line (80) above the baseline (65).
    ys = {line.get("stroke"): float(line.get("y1")) for line in root.iter(f"{ns}line")}
    assert ys[EXCELLENT_COLOUR] < ys[BASELINE_COLOUR]


def test_sparkline_without_values_keeps_the_thresholds_only():
    from scorecard.charts import sparkline_svg

    svg = sparkline_svg([dt.date(2026, 7, 6)], [None], 65, 80)
    assert "<polyline" not in svg and "<circle" not in svg and svg.count("<line") == 2


# ------------------------------------------------------------ trend_line_svg (pages)

def _svg_tree(svg: str):
    import xml.etree.ElementTree as ET

    return ET.fromstring(svg)


NS = "{http://www.w3.org/2000/svg}"


def test_line_chart_is_a_named_svg_of_the_page_size():
    from scorecard.charts import trend_line_svg

    svg = trend_line_svg(WEEKS, VALUES, 65, 80, "%", label="FCR, weekly values")
    root = _svg_tree(svg)

    assert (root.get("width"), root.get("height")) == (str(WIDTH_PX), str(HEIGHT_PX))
    assert root.get("viewBox") == f"0 0 {WIDTH_PX} {HEIGHT_PX}"
    assert root.get("class") == "chart" and root.get("role") == "img"
    assert root.get("aria-label") == "FCR, weekly values"
    assert root.find(f"{NS}title").text == "FCR, weekly values"
    assert root.get("font-family").startswith("Noto Sans CJK SC")


def test_line_chart_lifts_the_line_over_missing_weeks_and_marks_each_week_with_a_hover_title():
    from scorecard.charts import trend_line_svg

    root = _svg_tree(trend_line_svg(WEEKS, VALUES, 65, 80, "%", label="x"))

    # 70 72 | 75 74 73.9 | 78 80 81 79 77: three runs between the gaps.
    assert [len(p.get("points").split()) for p in root.iter(f"{NS}polyline")] == [2, 3, 5]
    titles = [c.find(f"{NS}title").text for c in root.iter(f"{NS}circle")]
    assert len(titles) == 10
    assert titles[0] == "week of 2026-07-06: 70%" and titles[4] == "week of 2026-08-10: 73.9%"
    assert "week of 2026-07-20" not in " ".join(titles)  # the missing week has no marker


def test_line_chart_draws_both_thresholds_dashed_in_their_colours_and_labels_them_with_the_unit():
    from scorecard.charts import BASELINE_COLOUR, EXCELLENT_COLOUR, trend_line_svg

    root = _svg_tree(trend_line_svg(WEEKS, VALUES, 65, 80, "%", label="x"))

    lines = {line.get("stroke"): line for line in root.iter(f"{NS}line")}
    assert set(lines) == {BASELINE_COLOUR, EXCELLENT_COLOUR}
    assert all(line.get("stroke-dasharray") for line in lines.values())
    # Higher values higher: excellent (80) above baseline (65); on half pixels, crisp at 1 px.
    assert float(lines[EXCELLENT_COLOUR].get("y1")) < float(lines[BASELINE_COLOUR].get("y1"))
    assert float(lines[BASELINE_COLOUR].get("y1")) % 1 == 0.5
    labels = {t.text: t.get("fill") for t in root.iter(f"{NS}text")}
    assert labels["65%"] == BASELINE_COLOUR and labels["80%"] == EXCELLENT_COLOUR
    assert "2026-07-06" in labels and "2026-09-28" in labels  # first and last week


def test_line_chart_reads_chinese_units_and_text_stays_text():
    from django.utils import translation

    from scorecard.charts import trend_line_svg
    from scorecard.units import unit_label

    with translation.override("zh-hans"):
        svg = trend_line_svg(WEEKS, VALUES, 6.0, 4.0, unit_label("currency"), label="每次联络成本，每周数值")
    root = _svg_tree(svg)
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "6 元" in texts and "4 元" in texts
    assert root.get("aria-label") == "每次联络成本，每周数值"
    assert any(c.find(f"{NS}title").text.endswith("70 元") for c in root.iter(f"{NS}circle"))


def test_line_chart_escapes_its_label_and_unit():
    from scorecard.charts import trend_line_svg

    svg = trend_line_svg(WEEKS, VALUES, 65, 80, '<u>&"', label='FCR <"weekly"> & more')
    root = _svg_tree(svg)  # well-formed

    assert root.get("aria-label") == 'FCR <"weekly"> & more'
    assert "<u>" not in svg
    assert '65 <u>&"' in [t.text for t in root.iter(f"{NS}text")]


@pytest.mark.parametrize("weeks, values", [([], []), (WEEKS[:1], [None]), (WEEKS, [None] * len(WEEKS)), (WEEKS[:1], [5])])
def test_line_chart_draws_empty_and_single_week_series(weeks, values):
    from scorecard.charts import trend_line_svg

    root = _svg_tree(trend_line_svg(weeks, values, 6.0, 4.0, "s", label="x"))

    assert len(list(root.iter(f"{NS}line"))) == 2
    assert len(list(root.iter(f"{NS}circle"))) == sum(v is not None for v in values)
    if not any(v is not None for v in values):
        assert "no data" in [t.text for t in root.iter(f"{NS}text")]


def test_line_chart_output_is_deterministic():
    from scorecard.charts import trend_line_svg

    assert trend_line_svg(WEEKS, VALUES, 65, 80, "%", label="x") == trend_line_svg(WEEKS, VALUES, 65, 80, "%", label="x")


def test_a_line_chart_takes_well_under_a_millisecond():
    from scorecard.charts import trend_line_svg

    runs = 200
    began = time.perf_counter()
    for _ in range(runs):
        trend_line_svg(WEEKS, VALUES, 65, 80, "%", label="x")
    per_chart = (time.perf_counter() - began) / runs

    # About 0.3 ms on the development machine (matplotlib's trend_svg: 30–40 ms); room for a loaded CI box.
    assert per_chart < 0.01


def test_score_chip_tag_draws_what_the_score_include_draws():
    from django.template import Context, Template

    include = Template('{% with score=s band=b %}{% include "includes/score.html" %}{% endwith %}')
    tag = Template("{% load scorecard_i18n %}{% score_chip s b %}")
    for s, b in ((83.25, "green"), (100, "excellent"), (41.0, "red"), (66.66, "amber"), (None, None)):
        assert tag.render(Context({"s": s, "b": b})) == include.render(Context({"s": s, "b": b})), (s, b)
