"""The fishbone (Ishikawa, 鱼骨图) diagram of an objective's influencing factors, as SVG.

Drawn with matplotlib on its own Figure and SVG canvas (never pyplot), text
kept as text (svg.fonttype "none") in Noto Sans CJK SC, so Chinese names
render in browsers and in WeasyPrint, as the scorecard's charts do.

Layout, in CSS pixels (dpi 72 and a figure-wide axes: 1 data unit = 1 px):
a horizontal spine runs to the effect box on the right; six category bones
slant into it, people / method / system above and information / environment
/ measurement below; each factor is a rib on its category's bone, marked
● when controllable and ○ when influenceable.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable
from html import escape

from django.utils.translation import gettext as _

from scorecard.charts import FONT_FAMILIES

from .models import InfluencingFactor

C = InfluencingFactor.Category
TOP = (C.PEOPLE, C.METHOD, C.SYSTEM)
BOTTOM = (C.INFORMATION, C.ENVIRONMENT, C.MEASUREMENT)
CONTROLLABLE_MARK = "●"
INFLUENCEABLE_MARK = "○"

WIDTH_PX = 900
SPINE_START_X = 20
EFFECT_X = 700  # the effect box's left edge, where the spine ends
BONE_X = (250, 465, 680)  # where each column's bone meets the spine
ROW_PX = 22  # vertical distance between two ribs
RIB_PX = 14
LABEL_PX = 34  # room above (below) the bones for the category labels
LEGEND_PX = 24
NAME_WIDTH = 30  # display columns of a rib's text (a CJK character counts 2)

SPINE_COLOUR = "#1f4e79"
BONE_COLOUR = "#5b7a99"
TEXT_COLOUR = "#222222"
MUTED_COLOUR = "#777777"

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "fishbone",
    "font.family": "sans-serif",
    "font.sans-serif": FONT_FAMILIES,
    "font.size": 8,
}
_SVG_START = re.compile(r"<svg\b")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_GROUP_ID = re.compile(r'<g id="[^"]*"')
_SIZE_ATTRS = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*"')


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def shorten(text: str, width: int = NAME_WIDTH) -> str:
    """Cut text to `width` display columns (CJK characters count 2), with an ellipsis."""
    if _width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


def _wrap(text: str, width: int, lines: int) -> str:
    """Wrap text to `width` display columns: between words, or between any two CJK characters."""
    tokens: list[str] = []
    for token in re.findall(r"\S+|\s+", text):
        if _width(token) != len(token):  # holds wide characters: each may start a line
            tokens.extend(re.findall(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+", token))
        else:
            tokens.append(token)
    rows: list[str] = [""]
    for token in tokens:
        if token.isspace():
            if rows[-1]:
                rows[-1] += " "
            continue
        if rows[-1] and _width(rows[-1] + token) > width:
            rows[-1] = rows[-1].rstrip()
            rows.append("")
        rows[-1] += token
    rows = [shorten(r.rstrip(), width) for r in rows if r.strip()] or [""]
    if len(rows) > lines:
        rows = rows[:lines]
        rows[-1] = shorten(rows[-1] + " " * width, width)
    return "\n".join(rows)


def marks(factor) -> str:
    return (CONTROLLABLE_MARK if factor.controllable else "") + (INFLUENCEABLE_MARK if factor.influenceable else "")


def fishbone_svg(effect: str, factors: Iterable, *, label: str | None = None) -> str:
    """Draw the fishbone of `factors` (InfluencingFactor-like: name, category, controllable, influenceable).

    Returns an `<svg>` element sized in CSS pixels; the height grows with
    the longest bone. Factors of an unknown category are left out.
    """
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    import matplotlib

    by_category: dict[str, list] = {c: [] for c in C.values}
    for f in factors:
        if f.category in by_category:
            by_category[f.category].append(f)
    top_rows = max(2, *(len(by_category[c]) for c in TOP))
    bottom_rows = max(2, *(len(by_category[c]) for c in BOTTOM))
    top_len = (top_rows + 1) * ROW_PX
    bottom_len = (bottom_rows + 1) * ROW_PX
    height = LABEL_PX + top_len + bottom_len + LABEL_PX + LEGEND_PX
    spine_y = LEGEND_PX + LABEL_PX + bottom_len  # y grows upward in data coordinates

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(WIDTH_PX / 72, height / 72), dpi=72)
        FigureCanvasSVG(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, WIDTH_PX)
        ax.set_ylim(0, height)
        ax.set_axis_off()

        # Spine and effect (the problem or result the factors act on).
        ax.annotate(
            "", xy=(EFFECT_X, spine_y), xytext=(SPINE_START_X, spine_y),
            arrowprops={"arrowstyle": "-|>", "color": SPINE_COLOUR, "linewidth": 2.2, "mutation_scale": 14,
                        "shrinkA": 0, "shrinkB": 0},
        )
        ax.text(
            EFFECT_X + 8, spine_y, _wrap(effect or "—", 26, 4),
            ha="left", va="center", fontsize=10, fontweight="bold", color=TEXT_COLOUR, linespacing=1.3,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": "#eaf1f8", "edgecolor": SPINE_COLOUR, "linewidth": 1.2},
        )

        for categories, direction, length in ((TOP, 1, top_len), (BOTTOM, -1, bottom_len)):
            for x_spine, category in zip(BONE_X, categories):
                slant = length * 0.45
                x_end, y_end = x_spine - slant, spine_y + direction * length
                ax.plot([x_end, x_spine], [y_end, spine_y], color=BONE_COLOUR, linewidth=1.4, solid_capstyle="round")
                ax.text(
                    x_end, y_end + direction * 6, str(C(category).label),
                    ha="center", va="bottom" if direction > 0 else "top", fontsize=9, fontweight="bold",
                    color=TEXT_COLOUR,
                    bbox={"boxstyle": "round,pad=0.35", "facecolor": "#ffffff", "edgecolor": BONE_COLOUR, "linewidth": 0.8},
                )
                for k, factor in enumerate(by_category[category]):
                    distance = length - (k + 1) * ROW_PX  # from the spine, first factor outermost
                    y = spine_y + direction * distance
                    x_bone = x_spine - slant * distance / length
                    ax.plot([x_bone - RIB_PX, x_bone], [y, y], color=BONE_COLOUR, linewidth=0.8)
                    mark = marks(factor)
                    text = f"{mark} {shorten(factor.name)}" if mark else shorten(factor.name)
                    ax.text(x_bone - RIB_PX - 3, y, text, ha="right", va="center", fontsize=8, color=TEXT_COLOUR)

        legend = _("%(c)s controllable · %(i)s influenceable") % {"c": CONTROLLABLE_MARK, "i": INFLUENCEABLE_MARK}
        ax.text(SPINE_START_X, LEGEND_PX / 2, legend, ha="left", va="center", fontsize=8, color=MUTED_COLOUR)
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})

    svg = buffer.getvalue()
    svg = svg[_SVG_START.search(svg).start():]
    svg = _METADATA.sub("", svg, count=1)
    svg = _GROUP_ID.sub("<g", svg)
    # matplotlib's stylesheet says "*{...}": inline in a page it would reach every element.
    svg = svg.replace('<style type="text/css">*{', '<style type="text/css">svg.fishbone *{', 1)
    name = escape(label or _("Fishbone diagram: %(effect)s") % {"effect": effect})
    svg = _SIZE_ATTRS.sub(
        lambda m: f'<svg class="fishbone" role="img" aria-label="{name}"{m.group(1)} width="{WIDTH_PX}" height="{height}"',
        svg, count=1,
    )
    return svg.strip()
