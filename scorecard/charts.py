"""Small inline SVG charts for pages and PDFs, text kept as text.

trend_line_svg (pages) and sparkline_svg (printed appraisals) write a few SVG
elements directly: a fraction of a millisecond a chart. trend_svg (the
scorecard report PDF) draws through matplotlib on a `matplotlib.figure.Figure`
with its own SVG canvas, never through pyplot: no global figure registry to
leak, and no GUI backend. One figure per thread is reused, its artists updated
between charts, which keeps such a chart near 30 ms instead of paying axes
set-up every time.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import threading
import unicodedata
from collections.abc import Sequence
from html import escape

from django.utils.translation import gettext as _

from .units import with_unit

WIDTH_PX, HEIGHT_PX = 320, 120
# Noto Sans CJK SC renders Chinese labels; the browser / WeasyPrint picks the
# first family it has, since with svg.fonttype "none" the text stays text.
FONT_FAMILIES = ["Noto Sans CJK SC", "Microsoft YaHei", "DejaVu Sans", "sans-serif"]
LINE_COLOUR = "#1f4e79"
BASELINE_COLOUR = "#c0392b"
EXCELLENT_COLOUR = "#1e7b4a"

_RC = {
    "svg.fonttype": "none",
    # A fixed salt makes the ids of <clipPath> and markers deterministic, so the
    # same chart renders to the same bytes (cacheable, testable).
    "svg.hashsalt": "scorecard",
    "font.family": "sans-serif",
    "font.sans-serif": FONT_FAMILIES,
    "font.size": 8,
    "axes.linewidth": 0.6,
    "axes.edgecolor": "#888888",
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "xtick.major.size": 2,
    "ytick.major.size": 2,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
}

_local = threading.local()
_SVG_START = re.compile(r"<svg\b")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_GROUP_ID = re.compile(r'<g id="[^"]*"')
_SIZE_ATTRS = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*"')


class _Chart:
    """A figure with its axes and artists, created once per thread and updated per chart.

    Clearing and re-creating axes costs most of a chart's time (tick objects),
    so the artists are kept and only their data, limits and labels change.
    """

    def __init__(self):
        # No matplotlib.use(): the SVG canvas is attached to the figure directly,
        # so no backend is selected and pyplot's global state is never touched.
        import matplotlib
        import matplotlib.ticker
        from matplotlib.backends.backend_svg import FigureCanvasSVG
        from matplotlib.figure import Figure

        self.matplotlib = matplotlib
        with matplotlib.rc_context(_RC):
            self.fig = Figure(figsize=(WIDTH_PX / 72, HEIGHT_PX / 72), dpi=72)
            FigureCanvasSVG(self.fig)
            ax = self.ax = self.fig.add_axes((0.16, 0.2, 0.82, 0.75))
            self.baseline = ax.axhline(0, color=BASELINE_COLOUR, linestyle=(0, (4, 3)), linewidth=0.8)
            self.excellent = ax.axhline(0, color=EXCELLENT_COLOUR, linestyle=(0, (4, 3)), linewidth=0.8)
            (self.line,) = ax.plot([], [], color=LINE_COLOUR, linewidth=1.4, marker="o", markersize=2.2)
            self.empty = ax.text(0.5, 0.5, "—", transform=ax.transAxes, ha="center", va="center", color="#999999")
            ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=4))
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: _number(v)))
            ax.spines["top"].set_visible(False)
            ax.spines["right"].set_visible(False)
            ax.tick_params(labelsize=8, pad=1.5)
            ax.set_ylabel(" ", fontsize=8, labelpad=2)
            # The axis labels at fixed places (the unit left of tick labels of up to four digits; the x label is
            # empty): left to place themselves, they measure every tick label again on each draw to step clear of
            # them, a sixth of a chart's time.
            ax.yaxis.set_label_coords(-0.09, 0.5)
            ax.xaxis.set_label_coords(0.5, -0.17)


def _chart() -> _Chart:
    chart = getattr(_local, "chart", None)
    if chart is None:
        chart = _local.chart = _Chart()
    return chart


def _tick_positions(n: int, most: int = 5) -> list[int]:
    if n <= most:
        return list(range(n))
    step = math.ceil((n - 1) / (most - 1))
    positions = list(range(0, n, step))
    return positions


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def trend_svg(
    weeks: Sequence[dt.date],
    values: Sequence[float | None],
    baseline: float,
    excellent: float,
    unit: str = "",
    title: str | None = None,
    label: str | None = None,
) -> str:
    """Draw a KPI's weekly values as a small line chart; return the `<svg>` element.

    None values are gaps. The baseline (基准值) and excellent (卓越值) thresholds
    are dashed lines. The size is WIDTH_PX × HEIGHT_PX CSS pixels. `label`
    names the chart for screen readers (defaults to the title).
    """
    chart = _chart()
    ax = chart.ax
    xs = list(range(len(weeks)))
    ys = [math.nan if v is None else float(v) for v in values]
    present = [v for v in ys if not math.isnan(v)]
    lo = min(present + [baseline, excellent])
    hi = max(present + [baseline, excellent])
    pad = (hi - lo) * 0.12 or max(abs(hi) * 0.1, 1.0)
    ticks = _tick_positions(len(weeks))
    buffer = io.StringIO()
    # Inside the rc context throughout: tick objects created on the way read rcParams.
    with chart.matplotlib.rc_context(_RC):
        chart.baseline.set_ydata([baseline, baseline])
        chart.excellent.set_ydata([excellent, excellent])
        chart.line.set_data(xs, ys)
        chart.empty.set_visible(not present)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
        ax.set_xticks(ticks, [weeks[i].strftime("%m-%d") for i in ticks])
        ax.yaxis.label.set_text(unit or "")
        ax.set_title(title or "", fontsize=8, loc="left", pad=3)
        ax.set_position((0.16, 0.2, 0.82, (0.86 if title else 0.95) - 0.2))
        chart.fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[_SVG_START.search(svg).start():]
    svg = _METADATA.sub("", svg, count=1)
    # Group ids ("figure_1", "axes_1", …) would repeat with every chart of a page.
    svg = _GROUP_ID.sub("<g", svg)
    # matplotlib's stylesheet says "*{...}": inline in a page it would reach every element.
    svg = svg.replace("<style type=\"text/css\">*{", "<style type=\"text/css\">svg.chart *{", 1)
    # Size in CSS pixels (the viewBox is in points, so 1 unit = 1 px) rather than points.
    name = escape(label or title or "")
    aria = f' aria-label="{name}"' if name else ""
    svg = _SIZE_ATTRS.sub(
        lambda m: f'<svg class="chart" role="img"{aria}{m.group(1)} width="{WIDTH_PX}" height="{HEIGHT_PX}"', svg, count=1
    )
    return svg.strip()


SPARK_W, SPARK_H = 240, 56


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _runs(values: Sequence[float | None], x, y) -> list[list[str]]:
    """The chart's points as "x,y" strings, in runs broken where a value is missing (a gap in the line)."""
    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append(f"{x(i):.1f},{y(float(v)):.1f}")
    return runs


def sparkline_svg(
    weeks: Sequence[dt.date],
    values: Sequence[float | None],
    baseline: float,
    excellent: float,
    label: str = "",
) -> str:
    """A KPI's weekly values as a sparkline for printed documents: the line, the baseline (基准值) and excellent
    (卓越值) thresholds dashed, the first and last week and the range of values as text; an `<svg>` element.

    Built as a few SVG elements directly rather than through matplotlib: a document holds a chart per KPI,
    and the axes, ticks and their labels that matplotlib lays out cost ten times the rest of the document's
    HTML (its benchmark: each document within 1.15× of WeasyPrint's own time). None values are gaps.
    """
    top, bottom, left, right = 4.0, 14.0, 2.0, 2.0
    width, height = SPARK_W - left - right, SPARK_H - top - bottom
    present = [float(v) for v in values if v is not None]
    lo = min(present + [baseline, excellent])
    hi = max(present + [baseline, excellent])
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.1, 1.0)
    lo, hi = lo - pad, hi + pad
    n = len(values)

    def x(i: int) -> float:
        return left + (width * (i + 0.5) / n if n else width / 2)

    def y(v: float) -> float:
        return top + height * (hi - v) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SPARK_W}" height="{SPARK_H}" '
        f'viewBox="0 0 {SPARK_W} {SPARK_H}" role="img" aria-label="{escape(label)}">',
        f'<title>{escape(label)}</title>',
    ]
    for level, colour in ((baseline, BASELINE_COLOUR), (excellent, EXCELLENT_COLOUR)):
        parts.append(f'<line x1="{left}" x2="{left + width}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
                     f'stroke="{colour}" stroke-width="0.8" stroke-dasharray="4 3"/>')
    for run in _runs(values, x, y):
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{LINE_COLOUR}" stroke-width="1.4"/>')
        elif run:
            cx, cy = run[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="1.6" fill="{LINE_COLOUR}"/>')
    text = f'font-size="8" fill="#555555" font-family="{escape(", ".join(FONT_FAMILIES))}"'
    if weeks:
        parts.append(f'<text x="{left}" y="{SPARK_H - 3}" {text}>{weeks[0]:%m-%d}</text>')
        parts.append(f'<text x="{left + width}" y="{SPARK_H - 3}" text-anchor="end" {text}>{weeks[-1]:%m-%d}</text>')
    if present:
        parts.append(f'<text x="{left + width / 2}" y="{SPARK_H - 3}" text-anchor="middle" {text}>'
                     f'{_fmt(min(present))} – {_fmt(max(present))}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------ light page chart

_MARGIN_TOP, _MARGIN_RIGHT, _MARGIN_BOTTOM = 8.0, 8.0, 16.0
_FONT_PX = 9
_AXIS_COLOUR, _TEXT_COLOUR = "#888888", "#555555"


def _text_width(text: str, size: float = _FONT_PX) -> float:
    """Roughly how wide a label is drawn, in px: CJK characters are square, the rest about half as wide."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.58 for c in text)


def trend_line_svg(
    weeks: Sequence[dt.date],
    values: Sequence[float | None],
    baseline: float,
    excellent: float,
    unit: str = "",
    label: str = "",
) -> str:
    """Draw a KPI's weekly values as a small line chart for a page; return the `<svg>` element.

    The line with a marker per week (None values are gaps; each marker's
    <title> says its week and value), the baseline (基准值) and excellent
    (卓越值) thresholds as dashed lines in their colours and labelled on the
    y axis with `unit` (a unit label, see scorecard.units.unit_label), the
    value range's ends where they do not crowd those, and the first and last
    week under the x axis. WIDTH_PX × HEIGHT_PX CSS pixels; `label` names the
    chart for screen readers.

    Built as a few dozen SVG elements rather than through matplotlib (trend_svg,
    30–40 ms a chart): a scorecard page holds a chart per KPI, and this takes a
    fraction of a millisecond. Horizontal lines sit on half pixels and use
    crispEdges, so the 1 px lines stay sharp at this size.
    """
    present = [float(v) for v in values if v is not None]
    lo = min(present + [baseline, excellent])
    hi = max(present + [baseline, excellent])
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.1, 1.0)
    lo, hi = lo - pad, hi + pad

    y_labels = [(baseline, BASELINE_COLOUR), (excellent, EXCELLENT_COLOUR)]
    if present:
        # The range's ends, unless a threshold label is already (nearly) there.
        for v in (max(present), min(present)):
            if all(abs(v - shown) > (hi - lo) * 0.12 for shown, _colour in y_labels):
                y_labels.append((v, _TEXT_COLOUR))
    texts = [with_unit(_number(v), unit) for v, _colour in y_labels]
    left = min(max(max(_text_width(t) for t in texts) + 7, 26.0), WIDTH_PX / 3)
    plot_w = WIDTH_PX - left - _MARGIN_RIGHT
    plot_h = HEIGHT_PX - _MARGIN_TOP - _MARGIN_BOTTOM
    bottom = _MARGIN_TOP + plot_h
    n = len(values)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n if n else plot_w / 2)

    def y(v: float) -> float:
        return _MARGIN_TOP + plot_h * (hi - v) / (hi - lo)

    def crisp(pos: float) -> float:
        return math.floor(pos) + 0.5

    name = escape(label)
    font = f'font-family="{escape(", ".join(FONT_FAMILIES))}" font-size="{_FONT_PX}"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{name}" '
        f'width="{WIDTH_PX}" height="{HEIGHT_PX}" viewBox="0 0 {WIDTH_PX} {HEIGHT_PX}" {font}>',
        f"<title>{name}</title>",
        # The axes: a left and a bottom line, with a tick under each week.
        f'<path d="M{crisp(left)} {_MARGIN_TOP}V{crisp(bottom)}H{WIDTH_PX - _MARGIN_RIGHT}'
        + "".join(f"M{crisp(x(i))} {crisp(bottom)}v3" for i in range(n))
        + f'" fill="none" stroke="{_AXIS_COLOUR}" stroke-width="1" shape-rendering="crispEdges"/>',
    ]
    for (v, colour), text in zip(y_labels, texts):
        level = crisp(y(v))
        if colour != _TEXT_COLOUR:
            parts.append(f'<line x1="{crisp(left)}" x2="{WIDTH_PX - _MARGIN_RIGHT}" y1="{level}" y2="{level}" '
                         f'stroke="{colour}" stroke-width="1" stroke-dasharray="4 3" shape-rendering="crispEdges"/>')
        parts.append(f'<text x="{left - 4:.1f}" y="{level + 3:.1f}" text-anchor="end" fill="{colour}">'
                     f"{escape(text)}</text>")
    if weeks:
        parts.append(f'<text x="{left:.1f}" y="{HEIGHT_PX - 3}" fill="{_TEXT_COLOUR}">{weeks[0]:%Y-%m-%d}</text>')
        if len(weeks) > 1:
            parts.append(f'<text x="{WIDTH_PX - _MARGIN_RIGHT}" y="{HEIGHT_PX - 3}" text-anchor="end" '
                         f'fill="{_TEXT_COLOUR}">{weeks[-1]:%Y-%m-%d}</text>')
    if not present:
        parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{_MARGIN_TOP + plot_h / 2 + 3:.1f}" text-anchor="middle" '
                     f'fill="{_TEXT_COLOUR}">{escape(_("no data"))}</text>')
    for run in _runs(values, x, y):
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{LINE_COLOUR}" '
                         'stroke-width="1.5" stroke-linejoin="round"/>')
    week_of = _("week of %(date)s: %(value)s")
    for i, v in enumerate(values):
        if v is None:
            continue
        day = weeks[i].isoformat() if i < len(weeks) else ""
        tip = week_of % {"date": day, "value": with_unit(_number(float(v)), unit)}
        # The wide transparent stroke is the marker's hover target; the dot itself is 2.2 px.
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(float(v)):.1f}" r="2.2" fill="{LINE_COLOUR}" '
                     f'stroke="transparent" stroke-width="6"><title>{escape(tip)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)
