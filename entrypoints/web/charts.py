"""Charts for the reports pages: SVG drawn on the server, in Python, from a report's ``Table``.

No JavaScript and no chart library in the browser: each chart is plain SVG markup in the page,
so it works with JavaScript off and under the strict Content-Security-Policy (no inline style;
every colour comes from carepath.css through a class). Each one is accessible on its own terms
(UI.md, WCAG 2.2 AA):

- ``role="img"`` with a ``<title>`` (its accessible name, through ``aria-labelledby``) and a
  ``<desc>`` that says what it shows in words (through ``aria-describedby``);
- every bar and every point is labelled with its value, and a series is told apart by its name
  and its marker's shape as well as its colour, never by colour alone;
- the page always shows the same figures in a GOV.UK table beside it.

``bar_chart`` draws horizontal bars (the funnel's steps, compliance per rule), ``line_chart`` a
line over months (timeliness), ``stage_diagram`` a journey's stages in order as boxes with their
open cases and median days (issue 13 point 8).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from carepath.engine.reports import Column, Table
from carepath.entrypoints.report_files import as_date, cell_text

#: Width of every chart's coordinate system; the SVG scales to its container (carepath.css).
WIDTH = 640
#: Roughly how wide characters of the 14px label text are (a wide system sans, like DejaVu Sans),
#: to leave room for labels: narrow letters, other lower case, capitals and digits, the rest.
_NARROW = frozenset("ijlftr.,:;'!|() ")
BAR = 22
BAR_GAP = 4
GROUP_GAP = 14
#: Series drawn with different colours (carepath.css) *and* different marker shapes.
SERIES_MAX = 4
_ID = re.compile(r"[^A-Za-z0-9_-]")


def chart_id(key: str) -> str:
    """An id for a chart from its table's key, safe in HTML and SVG."""
    return "chart-" + (_ID.sub("-", key)[:60] or "table")


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


def _svg(cid: str, title: str, desc: str, height: float, body: Sequence[str], css: str) -> Markup:
    """The ``<svg>`` element around ``body``, named by its title and described by its desc."""
    head = (
        f'<svg class="carepath-chart {css}" id="{cid}" role="img" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'aria-labelledby="{cid}-title" aria-describedby="{cid}-desc" focusable="false" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _marker(series: int, x: float, y: float, size: float = 5.0) -> str:
    """A point's marker: a circle, a square, a triangle or a diamond, by series (shape as well as colour)."""
    cls = f'class="carepath-chart__marker carepath-chart__series--{series + 1}"'
    kind = series % SERIES_MAX
    if kind == 0:
        return f'<circle {cls} cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}"/>'
    if kind == 1:
        return f'<rect {cls} x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size:.1f}" height="{2 * size:.1f}"/>'
    if kind == 2:
        pts = f"{x:.1f},{y - size * 1.2:.1f} {x + size * 1.2:.1f},{y + size:.1f} {x - size * 1.2:.1f},{y + size:.1f}"
        return f'<polygon {cls} points="{pts}"/>'
    d = size * 1.3
    pts = f"{x:.1f},{y - d:.1f} {x + d:.1f},{y:.1f} {x:.1f},{y + d:.1f} {x - d:.1f},{y:.1f}"
    return f'<polygon {cls} points="{pts}"/>'


def _legend(labels: Sequence[str], y: float, *, swatch: bool = False) -> tuple[list[str], float]:
    """A legend line: each series' marker (shape and colour; for bars, a swatch of its colour) and its
    name. Returns the parts and the height used (nothing for a single series: the title names it)."""
    if len(labels) < 2:
        return [], 0.0
    parts: list[str] = ['<g class="carepath-chart__legend">']
    x = 8.0
    for i, label in enumerate(labels):
        if swatch:
            parts.append(
                f'<rect class="carepath-chart__bar carepath-chart__series--{i + 1}" x="{x:.1f}" y="{y + 3:.1f}" '
                'width="12" height="12"/>'
            )
        else:
            parts.append(_marker(i, x + 5, y + 9))
        parts.append(f'<text x="{x + 16:.1f}" y="{y + 14:.1f}">{escape(label)}</text>')
        x += 16 + text_width(label) + 24
    parts.append("</g>")
    return parts, 28.0


#: A chart of more rows than this is described in a sentence pointing at its table (a screen reader
#: would otherwise read every figure twice, in the description and in the table that follows).
DESCRIBE_ROWS_MAX = 12


def _describe(table: Table, x: Column, series: Sequence[Column], day: Callable[[date], str]) -> str:
    """The chart in words, for its ``<desc>``: every category with every value (or, for a long
    table, what it plots and where the figures are)."""
    what = " and ".join(s.label for s in series) or "values"
    if len(table.rows) > DESCRIBE_ROWS_MAX:
        per = f", one per {x.label.lower()}" if x.label else ""
        return f"{what} in {len(table.rows)} rows{per}; the table below gives every figure."
    bits = []
    for row in table.rows:
        values = ", ".join(
            (f"{s.label} " if len(series) > 1 else "") + cell_text(row.get(s.key), s.kind, day=day) for s in series
        )
        bits.append(f"{_x_label(row.get(x.key), x)}: {values}")
    return f"{what} by {x.label.lower() or 'row'}. " + "; ".join(bits) + "." if bits else "No rows."


def _short(date_: date) -> str:
    return f"{date_.day} {date_:%b %Y}"


#: Category labels wider than this go on a line of their own above their bars, in full.
LABEL_ROOM = 180.0


def bar_chart(table: Table, title: str | None = None) -> Markup:
    """Horizontal bars: one group per row (the ``x`` column's value as its label), one bar per ``y``
    series, each bar labelled with its value (and its series' name when there are several).

    Short category labels sit to the left of their bars; when one is too long for that, every label
    goes on its own line above its bars instead, so none is cut.
    """
    cid = chart_id(table.key)
    x = _column(table, table.x)
    series = [_column(table, k) for k in table.y]
    if len(series) >= STACK_FROM:
        return _stacked_chart(table, x, series, title)
    labels = [_x_label(r.get(x.key), x) for r in table.rows]
    widest = max((text_width(s) for s in labels), default=30.0)
    above = widest > LABEL_ROOM
    left = 8.0 if above else max(60.0, widest + 14)
    right = 16 + max(
        (text_width(_bar_label(r.get(s.key), s, series)) for r in table.rows for s in series), default=30.0
    )
    span = max(40.0, WIDTH - left - right)
    top = max([1.0, *(abs(_number(r.get(s.key)) or 0.0) for r in table.rows for s in series)])
    body, y = _legend([s.label for s in series], 4.0, swatch=True)
    y += 8.0
    group = len(series) * BAR + (len(series) - 1) * BAR_GAP
    axis_top = y - 4
    for row, label in zip(table.rows, labels, strict=True):
        if above:
            body.append(
                f'<text class="carepath-chart__category" x="{left:.1f}" y="{y + 14:.1f}">'
                f"{escape(_fit(label, WIDTH))}</text>"
            )
            y += 20
        else:
            body.append(
                f'<text class="carepath-chart__category" x="{left - 8:.1f}" y="{y + group / 2 + 5:.1f}" '
                f'text-anchor="end">{escape(label)}</text>'
            )
        for i, s in enumerate(series):
            value = _number(row.get(s.key))
            w = 0.0 if value is None else span * abs(value) / top
            body.append(
                f'<rect class="carepath-chart__bar carepath-chart__series--{i + 1}" x="{left:.1f}" '
                f'y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{BAR}"/>'
            )
            body.append(
                f'<text class="carepath-chart__value" x="{left + w + 6:.1f}" y="{y + BAR / 2 + 5:.1f}">'
                f"{escape(_bar_label(row.get(s.key), s, series))}</text>"
            )
            y += BAR + BAR_GAP
        y += GROUP_GAP - BAR_GAP
    height = y + 4
    if not above:  # a baseline beside the labels; above them, it would run through their text
        body.append(
            f'<line class="carepath-chart__axis" x1="{left:.1f}" y1="{axis_top:.1f}" x2="{left:.1f}" y2="{y - 6:.1f}"/>'
        )
    desc = _describe(table, x, series, _short)
    return _svg(cid, title or table.title, desc, height, body, "carepath-chart--bar")


#: From this many series, bars are drawn stacked, one bar a row: the series are parts of a whole
#: (compliance: met on time, met late, breached), and one bar per part would make a very long chart.
STACK_FROM = 3


def _stacked_chart(table: Table, x: Column, series: Sequence[Column], title: str | None) -> Markup:
    """One bar per row made of a segment per series, labelled with every part's name and value
    (the segments' colours are in the legend; the words carry the figures)."""
    labels = [_x_label(r.get(x.key), x) for r in table.rows]
    widest = max((text_width(s) for s in labels), default=30.0)
    left = min(LABEL_ROOM, max(60.0, widest + 14))
    texts = [", ".join(_bar_label(r.get(s.key), s, series) for s in series) for r in table.rows]
    right = 16 + max((text_width(t) for t in texts), default=30.0)
    above = widest > LABEL_ROOM or WIDTH - left - right < 200  # too little room for the bars: labels above
    if above:
        left, right = 8.0, 16.0
    span = max(40.0, WIDTH - left - right)
    sums = [sum(abs(_number(r.get(s.key)) or 0.0) for s in series) for r in table.rows]
    top = max([1.0, *sums])
    body, y = _legend([s.label for s in series], 4.0, swatch=True)
    y += 8.0
    for row, label, text, total in zip(table.rows, labels, texts, sums, strict=True):
        if above:
            body.append(
                f'<text class="carepath-chart__category" x="{left:.1f}" y="{y + 14:.1f}">'
                f"{escape(_fit(label, WIDTH))}</text>"
            )
            y += 20
        else:
            body.append(
                f'<text class="carepath-chart__category" x="{left - 8:.1f}" y="{y + BAR / 2 + 5:.1f}" '
                f'text-anchor="end">{escape(label)}</text>'
            )
        cx = left
        for i, s in enumerate(series):
            w = span * abs(_number(row.get(s.key)) or 0.0) / top
            if w > 0:
                body.append(
                    f'<rect class="carepath-chart__bar carepath-chart__series--{i + 1}" x="{cx:.1f}" '
                    f'y="{y:.1f}" width="{w:.1f}" height="{BAR}"/>'
                )
            cx += w
        if above:
            y += BAR + 2
            body.append(f'<text class="carepath-chart__value" x="{left:.1f}" y="{y + 14:.1f}">{escape(text)}</text>')
            y += 20
        else:
            body.append(
                f'<text class="carepath-chart__value" x="{left + span * total / top + 6:.1f}" '
                f'y="{y + BAR / 2 + 5:.1f}">{escape(text)}</text>'
            )
            y += BAR
        y += GROUP_GAP
    desc = _describe(table, x, series, _short)
    return _svg(chart_id(table.key), title or table.title, desc, y + 4, body, "carepath-chart--bar")


def _bar_label(value: Any, column: Column, series: Sequence[Column]) -> str:
    text = cell_text(value, column.kind)
    return f"{column.label}: {text}" if len(series) > 1 else text


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


def _fit(label: str, room: float) -> str:
    """A category label cut to the room it has (the full text is in the table and the desc)."""
    if text_width(label) <= room - 14:
        return label
    while label and text_width(label + "…") > room - 14:
        label = label[:-1]
    return label.rstrip() + "…"


def line_chart(table: Table, title: str | None = None) -> Markup:
    """A line per ``y`` series over the rows (months, in order), every point marked and labelled."""
    cid = chart_id(table.key)
    x = _column(table, table.x)
    series = [_column(table, k) for k in table.y]
    values = [[_number(r.get(s.key)) for r in table.rows] for s in series]
    whole = bool(series) and series[0].kind == "int"  # whole numbers: steps of at least 1
    most = max([4.0 if whole else 0.0, *(abs(v) for vs in values for v in vs if v is not None)])
    top, _ = nice_scale(most)
    body, legend_h = _legend([s.label for s in series], 4.0)
    plot_top, left, right, plot_h = legend_h + 28.0, 56.0, 24.0, 200.0
    bottom = plot_top + plot_h
    n = max(1, len(table.rows))
    step = (WIDTH - left - right) / n
    body.extend(_y_axis(left, plot_top, plot_h, most, series[0] if series else x))
    for j, row in enumerate(table.rows):
        cx = left + step * (j + 0.5)
        body.append(
            f'<text class="carepath-chart__category" x="{cx:.1f}" y="{bottom + 20:.1f}" '
            f'text-anchor="middle">{escape(_x_label(row.get(x.key), x, month=True))}</text>'
        )
    for i, (s, vs) in enumerate(zip(series, values, strict=True)):
        points = [(left + step * (j + 0.5), bottom - plot_h * v / top, v) for j, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
            body.append(f'<polyline class="carepath-chart__line carepath-chart__series--{i + 1}" points="{path}"/>')
        for px, py, v in points:
            body.append(_marker(i, px, py))
            body.append(
                f'<text class="carepath-chart__value" x="{px:.1f}" y="{py - 10:.1f}" '
                f'text-anchor="middle">{escape(cell_text(v, s.kind))}</text>'
            )
    desc = _describe(table, x, series, _short)
    return _svg(cid, title or table.title, desc, bottom + 32, body, "carepath-chart--line")


def nice_scale(most: float) -> tuple[float, float]:
    """A round top for an axis and its step (1, 2, 2.5 or 5 times a power of ten), about four steps."""
    raw = most / 4 if most > 0 else 0.25
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return step * math.ceil(most / step - 1e-9) if most > 0 else step * 4, step


def _y_axis(left: float, top: float, height: float, most: float, column: Column) -> list[str]:
    """The value axis: a gridline at each round step, labelled with its value."""
    out = []
    top_value, step = nice_scale(most)
    steps = max(1, round(top_value / step))
    for k in range(steps + 1):
        value = step * k
        y = top + height - height * k / steps
        out.append(
            f'<line class="carepath-chart__grid" x1="{left:.1f}" y1="{y:.1f}" x2="{WIDTH - 16:.1f}" y2="{y:.1f}"/>'
        )
        shown = value if column.kind != "int" else round(value)
        out.append(
            f'<text class="carepath-chart__tick" x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(cell_text(shown, column.kind))}</text>"
        )
    return out


def chart(table: Table) -> Markup | None:
    """The table's own chart (``Table.chart``), or ``None`` when it asks for none or has no rows."""
    if not table.rows:
        return None
    if table.chart == "bar" and table.y:
        return bar_chart(table)
    if table.chart == "line" and table.y:
        return line_chart(table)
    return None


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
    median = f"median {cell_text(days, 'days')} days" if days is not None else "no median"
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
        median = f", median {cell_text(days, 'days')} days" if days is not None else ""
        parts.append(
            f"{i + 1}. {row.get('label') or row.get('state')}: {cell_text(row.get('open') or 0, 'int')} open{median}"
        )
    desc = f"{len(table.rows)} stages in order. " + "; ".join(parts) + "." if parts else "No stages."
    return _svg(cid, title, desc, height, body, "carepath-chart--stages")
