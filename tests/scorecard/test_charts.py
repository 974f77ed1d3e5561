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
