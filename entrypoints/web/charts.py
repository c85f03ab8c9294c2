"""Charts for the reports pages: pygal draws each bar and line chart as an SVG image on the server.

A chart is served on its own (``/reports/{name}/charts/{table}.svg``, entrypoints/web/reports.py)
and shown with ``<img src alt>``: pygal's SVG carries its own ``<style>``, which the pages' strict
Content-Security-Policy (no inline style) would block, while the image's own response allows its
inline styles and nothing else. pygal's scripts are left out (``js=[]``): the chart needs none and
works with JavaScript off. Each chart is accessible on its own terms (UI.md, WCAG 2.2 AA):

- ``alt_text`` says in words what the image shows: its title and every value (or, for a long table,
  what it plots and that the table beside it gives every figure);
- every bar and point is labelled with its value and, when a chart has several series, never by
  colour alone: two series of bars each label its value with its series' name; three or more are
  parts of one bar a row, labelled with every part's name and value (or, when those words would
  crowd the bars out, the values in the legend's order); lines differ by dash pattern too and each
  one's last point names it;
- colours are GOV.UK's, each at least 3:1 against white (WCAG 1.4.11), text is GOV.UK's black;
- the page always shows the same figures in a GOV.UK table beside it.

``bar_svg`` draws horizontal bars (the funnel's steps, compliance per rule: long names stay legible
on the left, cut at ``LABEL_MAX`` characters, and many rows make the chart taller, not cramped),
``line_svg`` a line over months (timeliness). ``stage_diagram`` is not a chart but a diagram
(issue 13 point 8): a journey's stages in order as boxes with their open cases and median days,
drawn here by hand as inline SVG with classes styled by carepath.css.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup, escape
from pygal.style import Style  # type: ignore[import-untyped]
from pygal.util import text_len  # type: ignore[import-untyped]

from carepath.engine.reports import Column, Table
from carepath.entrypoints.report_files import as_date, cell_text

#: Width of every chart's coordinate system; the image scales to its container (carepath.css).
WIDTH = 640
#: The system font stack, as carepath.scss's ``$carepath-font-family`` (GDS Transport is GOV.UK's only).
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif'
BLACK = "#0b0c0c"
#: GOV.UK blue, green, purple and dark grey: each at least 3:1 against white (WCAG 1.4.11).
COLOURS = ("#1d70b8", "#00703c", "#4c2c92", "#505a5f")
#: A line series is told apart by its dash pattern as well as its colour.
DASHES = ("none", "10,5", "3,4", "12,4,3,4")
#: Added to pygal's own CSS: full-strength lines 3px wide, dashed by series (pygal's ``stroke_style``
#: lands on the series' group, where its ``.reactive`` rule on each line wins), no hover effects.
CSS = (
    f".pygal-chart{{font-family:{FONT}}}"  # pygal's own root rule loses its selector with ``no_prefix``
    ".reactive,.reactive.active,.active .reactive{stroke-opacity:1;fill-opacity:1}"
    ".series .line{stroke-width:3}" + "".join(f".serie-{i} .line{{stroke-dasharray:{d}}}" for i, d in enumerate(DASHES))
)
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground=BLACK,
    foreground_strong=BLACK,
    foreground_subtle="#505a5f",
    opacity="1",
    opacity_hover="1",
    transition="0ms",
    colors=COLOURS,
    value_colors=(BLACK,) * len(COLOURS),
    guide_stroke_color="#b1b4b6",
    major_guide_stroke_color="#b1b4b6",
    font_family=FONT,
    label_font_size=14,
    major_label_font_size=14,
    value_font_size=14,
    value_label_font_size=14,
    legend_font_size=14,
    title_font_size=16,
    no_data_font_size=16,
)
#: Bars: each bar's thickness and the room after a row's bars (thinner for more than
#: ``DESCRIBE_ROWS_MAX`` rows, still room for a 14px value).
BAR, GROUP_GAP = 22, 16
BAR_THIN, GAP_THIN = 18, 10
#: Category labels longer than this are cut with an ellipsis (the table beside has them in full).
LABEL_MAX = 32
#: A chart of more rows than this is described in a sentence pointing at its table (a screen reader
#: would otherwise read every figure twice, in the alt text and in the table that follows).
DESCRIBE_ROWS_MAX = 12
#: A line of more points than this prints no values (they would overlap); the table gives them.
LINE_VALUES_MAX = 12
LINE_HEIGHT = 320
_NARROW = frozenset("ijlftr.,:;'!|() ")
_ID = re.compile(r"[^A-Za-z0-9_-]")


def chart_id(key: str) -> str:
    """An id for a chart from its table's key, safe in HTML and SVG."""
    return "chart-" + (_ID.sub("-", key)[:60] or "table")


def drawn(table: Table) -> bool:
    """Whether the table has a chart: it asks for bars or a line, names its series, and has rows."""
    return bool(table.rows) and bool(table.y) and table.chart in ("bar", "line")


def svg(table: Table) -> bytes:
    """The table's own chart (``Table.chart``) as an SVG document.

    Raises:
        ValueError: the table has no chart (``drawn`` is false).
    """
    if not drawn(table):
        raise ValueError(f"the table {table.key!r} has no chart")
    return line_svg(table) if table.chart == "line" else bar_svg(table)


def size(table: Table) -> tuple[int, int]:
    """The chart's width and height in pixels (for the ``<img>``, so the page keeps its place)."""
    if table.chart == "line":
        return WIDTH, LINE_HEIGHT + _legend_height(table)
    return WIDTH, 48 + _legend_height(table) + len(table.rows) * _row_height(table)


#: Legend entries on a line (below the chart; none for a single series, which the title names).
LEGEND_COLUMNS = 4


def _legend_height(table: Table) -> int:
    if len(table.y) < 2:
        return 0
    return 8 + 26 * math.ceil(len(table.y) / LEGEND_COLUMNS)


def alt_text(table: Table) -> str:
    """What the chart shows, in words: its title, kind and every value (or where to find them)."""
    x = _column(table, table.x)
    series = [_column(table, k) for k in table.y]
    kind = "Line chart" if table.chart == "line" else "Bar chart"
    return f"{kind}: {table.title}. {_describe(table, x, series, month=table.chart == 'line')}"


# -- the parts --------------------------------------------------------------------------------


def _column(table: Table, key: str | None) -> Column:
    for c in table.columns:
        if c.key == key:
            return c
    return Column(key or "", key or "", "text")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _x_label(value: Any, column: Column, *, month: bool = False) -> str:
    if column.kind == "date":
        d = as_date(value)
        if d is not None:
            return f"{d:%b %Y}" if month else f"{d.day} {d:%b %Y}"
    return cell_text(value, column.kind)


def _short(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _describe(table: Table, x: Column, series: Sequence[Column], *, month: bool = False) -> str:
    """Every category with every value (or, for a long table, what it plots and where the figures are)."""
    what = " and ".join(s.label for s in series) or "values"
    if len(table.rows) > DESCRIBE_ROWS_MAX:
        per = f", one per {x.label.lower()}" if x.label else ""
        return f"{what} in {len(table.rows)} rows{per}; the table below gives every figure."
    bits = []
    for row in table.rows:
        values = ", ".join(
            (f"{s.label} " if len(series) > 1 else "") + cell_text(row.get(s.key), s.kind, day=_short) for s in series
        )
        bits.append(f"{_x_label(row.get(x.key), x, month=month)}: {values}")
    return f"{what} by {x.label.lower() or 'row'}. " + "; ".join(bits) + "." if bits else "No rows."


def text_width(text: str) -> float:
    """About how many pixels ``text`` takes at 14px (an estimate on the wide side: labels must fit)."""
    width = 0.0
    for ch in text:
        if ch in _NARROW:
            width += 4.8
        elif ch.isupper() or ch.isdigit() or ch in "%mw":
            width += 10.0
        else:
            width += 8.2
    return width


def _cut(label: str) -> str:
    """A category label of at most ``LABEL_MAX`` characters (the table beside has it in full)."""
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1].rstrip() + "…"


def _config(**options: Any) -> dict[str, Any]:
    """What every chart shares: GOV.UK style, no scripts, no title (the page's heading names it)."""
    return {
        "style": STYLE,
        "js": [],
        "no_prefix": True,  # the image is a document of its own: its CSS needs no id to stay inside
        "explicit_size": True,
        "width": WIDTH,
        "print_values": True,
        "print_zeroes": True,
        "truncate_label": -1,  # labels are cut by ``_cut`` (pygal's cut misses a horizontal chart's)
        "truncate_legend": -1,
        "legend_at_bottom": True,
        "margin": 12,
        "css": ("file://style.css", "file://graph.css", "inline:" + CSS),
        **options,
    }


def _formatter(column: Column, name: str | None) -> Callable[[Any], str]:
    """A value as the table writes it, after its series' name when several series share the chart."""

    def format_(value: Any) -> str:
        text = cell_text(value, column.kind)
        return f"{name}: {text}" if name else text

    return format_


def _render(chart: Any, title: str) -> bytes:
    """The chart as an SVG document titled ``title``, without pygal's script (its configuration for
    the tooltips, which carepath does not load: ``js=[]``)."""

    def tidy(root: Any) -> Any:
        for parent in list(root.iter()):
            for child in list(parent):
                name = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
                if name == "script":
                    parent.remove(child)
                elif name == "title" and parent is root:  # the chart's own (guides have theirs)
                    child.text = title
        root.attrib.pop("id", None)  # empty with ``no_prefix``
        return root

    chart.add_xml_filter(tidy)
    return bytes(chart.render())


# -- bars -------------------------------------------------------------------------------------

#: From this many series, bars are stacked, one bar a row: the series are parts of a whole
#: (compliance: met on time, met late, breached), and a bar per part would make a long chart longer.
STACK_FROM = 3


def _stacked(table: Table) -> bool:
    return len(table.y) >= STACK_FROM


def _row_height(table: Table) -> int:
    """A row's room: its bars (one when stacked) and the gap after them, thinner for a long table."""
    bars = 1 if _stacked(table) else len(table.y)
    if len(table.rows) > DESCRIBE_ROWS_MAX:
        return bars * BAR_THIN + GAP_THIN
    return bars * BAR + GROUP_GAP


class _ValuesPastTheEnd:
    """Each bar's value written just past its end rather than centred on it (pygal's
    ``print_values_position="top"`` puts it there, centred: a long label would cross the bar)."""

    def _static_value(self, serie_node: Any, value: Any, x: float, y: float, metadata: Any, *_: Any) -> None:
        if value:  # a stacked bar's inner parts write nothing: the last part writes the whole row
            super()._static_value(serie_node, value, x, y, metadata, "start")  # type: ignore[misc]


class _Bars(_ValuesPastTheEnd, pygal.HorizontalBar):  # type: ignore[misc]
    """pygal's horizontal bars (a group a row, the first series on top), values past the bars."""


class _StackedBars(_ValuesPastTheEnd, pygal.HorizontalStackedBar):  # type: ignore[misc]
    """pygal's stacked horizontal bars (the first series on the left), the row's words past the end."""


def bar_svg(table: Table) -> bytes:
    """Horizontal bars, the first row on top, the ``x`` column's values as labels on the left.

    One or two series: a bar per series, each labelled with its value (after its series' name when
    there are two). Three or more (``STACK_FROM``): one bar a row made of a part per series, labelled
    with every part's name and value, in the legend's order.
    """
    x = _column(table, table.x)
    series = [_column(table, k) for k in table.y]
    rows = list(reversed(table.rows))  # pygal draws the first category at the bottom
    stacked = _stacked(table)
    ends = _bar_ends(table, series)
    low, top = _bar_range(table, ends)
    step = _nice_step(top, all(s.kind == "int" for s in series))
    kind = _StackedBars if stacked else _Bars
    chart = kind(
        **_config(
            height=size(table)[1],
            show_legend=len(series) > 1,
            legend_at_bottom_columns=min(LEGEND_COLUMNS, len(series)),
            print_values_position="top",
            show_x_guides=False,
            range=(low, top),
            y_labels=[step * k for k in range(int(top / step) + 1)],
        )
    )
    chart.x_labels = [_cut(_x_label(r.get(x.key), x)) for r in rows]
    words = [text for _, text in reversed(ends)] if stacked else []
    for i, s in enumerate(series):
        values = [_number(r.get(s.key)) for r in rows]
        if stacked:  # a missing part is no length, and only the last part writes (the row's words)
            values = [v or 0.0 for v in values]
            chart.add(s.label, values, formatter=_row_words(words) if i == len(series) - 1 else _nothing)
        else:
            chart.add(s.label, values, formatter=_formatter(s, s.label if len(series) > 1 else None))
    return _render(chart, table.title)


def _nothing(value: Any) -> str:
    return ""


def _row_words(words: Sequence[str]) -> Callable[..., str]:
    def format_(value: Any, index: int | None = None) -> str:
        return words[index] if index is not None and index < len(words) else ""

    return format_


def _bar_ends(table: Table, series: Sequence[Column]) -> list[tuple[float, str]]:
    """Where each labelled bar ends and its label, rows in order. Stacked, one a row: every part's
    name and value, or, when that would leave the bars too little room, the values alone in the
    legend's order (``199 / 33 / 40``)."""
    if _stacked(table):
        ends = [sum(max(0.0, _number(r.get(s.key)) or 0.0) for s in series) for r in table.rows]
        words = [", ".join(f"{s.label}: {cell_text(r.get(s.key), s.kind)}" for s in series) for r in table.rows]
        if max(text_width(w) for w in words) > _plot_width(table) * WORDS_ROOM:
            words = [" / ".join(cell_text(r.get(s.key), s.kind) for s in series) for r in table.rows]
        return list(zip(ends, words, strict=True))
    named = len(series) > 1
    return [
        (_number(r.get(s.key)) or 0.0, _formatter(s, s.label if named else None)(r.get(s.key)))
        for r in table.rows
        for s in series
    ]


def _bar_range(table: Table, ends: Sequence[tuple[float, str]]) -> tuple[float, float]:
    """The value axis from 0 (or the lowest value) to a top that leaves room past every bar for its
    label (the plot's width estimated from the category labels' on its left)."""
    plot = _plot_width(table)
    top = 1.0
    for end, label in ends:
        if end > 0:
            room = max(plot * 0.2, plot - text_width(label) - 12)
            top = max(top, end * plot / room)
    return min(0.0, *(end for end, _ in ends)), top


#: A stacked bar's words may take at most this share of the plot's width (the rest is for bars).
WORDS_ROOM = 0.65


def _plot_width(table: Table) -> float:
    """About how wide pygal's plot is: the image less the category labels on its left and margins."""
    labels = [_cut(_x_label(r.get(table.x or ""), _column(table, table.x))) for r in table.rows]
    # pygal leaves room for the labels by their length alone (``text_len``): the wider of that and ours
    return WIDTH - max((max(text_width(s), text_len(len(s), 14)) for s in labels), default=40.0) - 60


def _nice_step(top: float, whole: bool) -> float:
    """A round step between gridlines (1, 2, 2.5 or 5 times a power of ten) cutting 0 to ``top``
    into about five; at least 1 for whole numbers."""
    raw = top / 5 if top > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    step = float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw))
    return max(1.0, float(math.ceil(step))) if whole else step


# -- lines ------------------------------------------------------------------------------------


class _Lines(pygal.Line):  # type: ignore[misc]
    """pygal's lines, each value written centred above its point (pygal puts it below to the right)."""

    def _static_value(self, serie_node: Any, value: Any, x: float, y: float, metadata: Any, *_: Any) -> None:
        if value:  # a long line writes only its last point's value
            size_ = self.style.value_font_size
            super()._static_value(serie_node, value, x - size_, y - 2 * size_ - 6, metadata, "middle")


def line_svg(table: Table) -> bytes:
    """A line per ``y`` series over the rows (months, in order), every point marked and labelled with
    its value (only the last one, for more than ``LINE_VALUES_MAX`` points: they would overlap);
    several series differ by colour and dash pattern, and each one's last label names it."""
    x = _column(table, table.x)
    series = [_column(table, k) for k in table.y]
    _, height = size(table)
    many = len(table.rows) > LINE_VALUES_MAX
    columns = [[_number(r.get(s.key)) for r in table.rows] for s in series]
    lasts = [max((j for j, v in enumerate(vs) if v is not None), default=-1) for vs in columns]
    named = len(series) > 1
    widest_last = max(
        (text_width(_last_named(s, j)(vs[j], j)) for s, vs, j in zip(series, columns, lasts, strict=True) if j >= 0),
        default=0.0,
    )
    top, step = _line_scale(table, series)
    chart = _Lines(
        **_config(
            height=height,
            show_legend=len(series) > 1,
            legend_at_bottom_columns=min(LEGEND_COLUMNS, max(1, len(series))),
            show_x_guides=False,
            x_label_rotation=40 if len(table.rows) > 8 else 0,
            show_minor_x_labels=not many,
            x_labels_major_every=max(1, math.ceil(len(table.rows) / LINE_VALUES_MAX)),
            range=(0.0, top),
            y_labels=[step * k for k in range(round(top / step) + 1)],
            dots_size=4,
            margin_right=12 + (widest_last / 2 if named else 24),
        )
    )
    chart.x_labels = [_x_label(r.get(x.key), x, month=True) for r in table.rows]
    for s, values, last in zip(series, columns, lasts, strict=True):
        chart.add(s.label, values, formatter=_last_named(s, last if named else -1, last if many else None))
    return _render(chart, table.title)


def _last_named(column: Column, last: int, only: int | None = None) -> Callable[..., str]:
    """A point's value, and at the series' ``last`` point its name too (a line named in words);
    with ``only``, nothing but that point's."""

    def format_(value: Any, index: int | None = None) -> str:
        if only is not None and index != only:
            return ""
        text = cell_text(value, column.kind)
        return f"{text} {_in_sentence(column.label)}" if index == last else text

    return format_


def _days(value: Any) -> str:
    """A number of days in words: "1 day", "5.5 days"."""
    text = cell_text(value, "days")
    return f"{text} day" if text == "1" else f"{text} days"


def _in_sentence(label: str) -> str:
    """A label as it reads after a number: "Median days" -> "median days", "A1 average days" as it is."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _line_scale(table: Table, series: Sequence[Column]) -> tuple[float, float]:
    """A round top for the value axis, with room above the highest point for its label, and the
    step between its gridlines."""
    most = max([0.0, *(abs(_number(r.get(s.key)) or 0.0) for r in table.rows for s in series)])
    top = most * 1.15 if most > 0 else 4.0
    step = _nice_step(top, all(s.kind == "int" for s in series))
    return step * math.ceil(top / step), step


# -- the stage diagram ------------------------------------------------------------------------

BOX_W, BOX_H, BOX_GAP_X, BOX_GAP_Y, PER_ROW = 188.0, 92.0, 28.0, 44.0, 3


def _wrap(text: str, room: float) -> list[str]:
    """At most two lines that fit ``room`` pixels of bold text (the second cut with an ellipsis)."""
    bold = 1.2  # bold text is wider

    def fits(line: str) -> bool:
        return text_width(line) * bold <= room

    lines, line = [], ""
    for word in text.split():
        if line and not fits(f"{line} {word}"):
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    out = []
    for ln in lines:
        while not fits(ln) and len(ln) > 1:
            ln = ln[:-2].rstrip() + "…"
        out.append(ln)
    return out


def _box(row: Mapping[str, Any], n: int, bx: float, by: float) -> list[str]:
    label = str(row.get("label") or row.get("state") or "")
    open_ = row.get("open")
    days = row.get("median_days")
    busy = " carepath-stage--open" if isinstance(open_, int) and open_ > 0 else ""
    out = [
        f'<rect class="carepath-stage{busy}" x="{bx:.1f}" y="{by:.1f}" '
        f'width="{BOX_W:.0f}" height="{BOX_H:.0f}" rx="4"/>'
    ]
    for k, line in enumerate(_wrap(f"{n}. {label}", BOX_W - 16)):
        out.append(
            f'<text class="carepath-stage__label" x="{bx + 10:.1f}" y="{by + 20 + 17 * k:.1f}">{escape(line)}</text>'
        )
    count = cell_text(open_, "int") if open_ is not None else "0"
    out.append(f'<text class="carepath-stage__count" x="{bx + 10:.1f}" y="{by + 64:.1f}">{escape(count)} open</text>')
    median = f"median {_days(days)}" if days is not None else "no median"
    out.append(f'<text class="carepath-stage__days" x="{bx + 10:.1f}" y="{by + 82:.1f}">{escape(median)}</text>')
    return out


def _arrow(head: str, x1: float, y1: float, x2: float, y2: float, elbow: bool = False) -> str:
    """An arrow from one box to the next; ``elbow``: down, across and down to the next row."""
    end = f'marker-end="url(#{head})"'
    if not elbow:
        return f'<path class="carepath-stage__arrow" d="M{x1:.1f},{y1:.1f} L{x2 - 10:.1f},{y2:.1f}" {end}/>'
    mid = y1 + BOX_GAP_Y / 2
    return (
        f'<path class="carepath-stage__arrow" d="M{x1:.1f},{y1:.1f} L{x1:.1f},{mid:.1f} L{x2:.1f},{mid:.1f} '
        f'L{x2:.1f},{y2 - 10:.1f}" {end}/>'
    )


def stage_diagram(table: Table, title: str) -> Markup:
    """A journey's stages in order as boxes (open cases and median days in each), arrows between.

    ``table`` is ``ReportService.stages``' table: rows with ``state``, ``label``, ``open`` and
    ``median_days``, in the journey's order; three boxes a row, a row's last box leading to the
    next row's first.
    """
    cid = chart_id(table.key or "stages")
    head = f"{cid}-arrow"
    body = [
        f'<defs><marker id="{head}" viewBox="0 0 10 10" refX="0" refY="5" markerUnits="userSpaceOnUse" '
        'markerWidth="9" markerHeight="9" '
        'orient="auto-start-reverse"><path class="carepath-stage__head" d="M0,0 L10,5 L0,10 z"/></marker></defs>'
    ]
    left = (WIDTH - PER_ROW * BOX_W - (PER_ROW - 1) * BOX_GAP_X) / 2
    place = [
        (left + (i % PER_ROW) * (BOX_W + BOX_GAP_X), 8 + (i // PER_ROW) * (BOX_H + BOX_GAP_Y))
        for i in range(len(table.rows))
    ]
    for i, (row, (bx, by)) in enumerate(zip(table.rows, place, strict=True)):
        body.extend(_box(row, i + 1, bx, by))
        if i + 1 < len(place):
            nx, ny = place[i + 1]
            if ny == by:
                body.append(_arrow(head, bx + BOX_W, by + BOX_H / 2, nx, ny + BOX_H / 2))
            else:
                body.append(_arrow(head, bx + BOX_W / 2, by + BOX_H, nx + BOX_W / 2, ny, elbow=True))
    rows = (len(table.rows) + PER_ROW - 1) // PER_ROW
    height = 16 + rows * BOX_H + max(0, rows - 1) * BOX_GAP_Y
    parts = []
    for i, row in enumerate(table.rows):
        days = row.get("median_days")
        median = f", median {_days(days)}" if days is not None else ""
        parts.append(
            f"{i + 1}. {row.get('label') or row.get('state')}: {cell_text(row.get('open') or 0, 'int')} open{median}"
        )
    desc = f"{len(table.rows)} stages in order. " + "; ".join(parts) + "." if parts else "No stages."
    return _svg(cid, title, desc, height, body, "carepath-chart--stages")


def _svg(cid: str, title: str, desc: str, height: float, body: Sequence[str], css: str) -> Markup:
    """The ``<svg>`` element around ``body``, named by its title and described by its desc."""
    head = (
        f'<svg class="carepath-chart {css}" id="{cid}" role="img" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'aria-labelledby="{cid}-title" aria-describedby="{cid}-desc" focusable="false" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")
