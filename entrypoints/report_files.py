"""A report (``engine.reports.Report``) as people read it: a text table, CSV and XLSX.

The CLI (``carepath report ... --format table|csv|xlsx``) and the web app's downloads
(``/reports/{name}.csv`` and ``.xlsx``) both write through here, so a figure reads the same
wherever it is opened. Each column's ``kind`` says how its values are written:

========  ==================  ==============================  =================================
kind      table (CLI, web)     CSV                             XLSX
========  ==================  ==============================  =================================
int       ``1,234``            ``1234``                        a number
percent   ``12.5%``            ``12.5`` (header ends ``(%)``)   a number, shown as ``12.5%``
days      ``41`` / ``40.5``     ``41`` / ``40.5``                a number
date      ``2026-04-01``       ``2026-04-01``                  a date, shown as ``2026-04-01``
text      as it is             as it is (``'`` before ``=``)   text, never a formula
========  ==================  ==============================  =================================

A missing value (``None``: nothing to divide by, no case yet) is a dash in the table and an empty
cell in CSV and XLSX. Percent values arrive as fractions (``0.125``), as ``engine.reports.ratio``
gives them.

CSV: a report of one table is that table (a header row of the columns' labels, then its rows).
A report of several tables writes each as its title on a line of its own, the header and the
rows, with a blank line between tables; ``table=KEY`` (``--table KEY``) writes one table alone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from carepath.engine.errors import InvalidInput, shown
from carepath.engine.reports import Column, Report, Table, financial_year

#: What a missing value prints as in the text table (``engine.reports.Table``: "a dash").
DASH = "-"
#: A spreadsheet reads a cell starting with one of these as a formula (CSV injection, OWASP):
#: such text gets a leading apostrophe in CSV and is stored as a string in XLSX.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = frozenset({"int", "percent", "days"})
#: Excel's limits on a sheet's name: 31 characters, none of these.
_SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


# -- one value --------------------------------------------------------------------------------


def as_date(value: Any) -> date | None:
    """A date column's value as a date (the service may give a ``date`` or its ISO text)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _days(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def cell_text(value: Any, kind: str, *, day: Callable[[date], str] = date.isoformat) -> str:
    """One value as a person reads it in a table; ``day`` formats dates (the web's ``4 Mar 2026``)."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "int" and isinstance(value, int | float):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"  # a fraction stays one
    if kind == "percent" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if kind == "days" and isinstance(value, int | float):
        return _days(value)
    if kind == "date":
        d = as_date(value)
        return day(d) if d is not None else str(value)
    return str(value)


def is_numeric(column: Column) -> bool:
    """Whether the column holds numbers (right-aligned in tables)."""
    return column.kind in _NUMERIC


# -- text -------------------------------------------------------------------------------------


def period_name(report: Report) -> str | None:
    """``2026-27`` for a whole financial year, ``2026-27 so far`` for one cut at the as-of day, else None."""
    p = report.period
    year = financial_year(p.start)
    if p.start != year.start:
        return None
    if p.end == year.end:
        return f"{year.start.year}-{(year.start.year + 1) % 100:02d}"
    if p.end == report.as_of and p.end < year.end:
        return f"{year.start.year}-{(year.start.year + 1) % 100:02d} so far"
    return None


def heading(report: Report) -> str:
    """``Fostering recruitment funnel: 2026-27 (2026-04-01 to 2027-03-31), as of 2026-11-02; team East``."""
    p = report.period
    span = f"{p.start.isoformat()} to {p.end.isoformat()}"
    name = period_name(report)
    what = f"{name} ({span})" if name else span
    filters = "".join(f"; {k} {v}" for k, v in filters_of(report).items())
    return f"{report.title}: {what}, as of {report.as_of.isoformat()}{filters}"


def table_lines(t: Table) -> list[str]:
    """One table as aligned text: its title, the header, the rows (numbers to the right)."""
    cols = t.columns
    cells = [[cell_text(row.get(c.key), c.kind) for c in cols] for row in t.rows]
    widths = [max([len(c.label), *(len(r[i]) for r in cells)]) for i, c in enumerate(cols)]

    def line(values: Iterable[str]) -> str:
        parts = [v.rjust(w) if is_numeric(c) else v.ljust(w) for v, w, c in zip(values, widths, cols, strict=True)]
        return "  ".join(parts).rstrip()

    out = [t.title, line(c.label for c in cols)]
    out.extend(line(r) for r in cells) if cells else out.append("(none)")
    if t.caption:
        out.append(t.caption)
    return out


def to_text(report: Report, table: str | None = None) -> str:
    """The report as the CLI prints it: the heading, then each table (or the one named)."""
    lines = [heading(report)]
    for t in chosen_tables(report, table):
        lines.append("")
        lines.extend(table_lines(t))
    return "\n".join(lines) + "\n"


def chosen_tables(report: Report, key: str | None) -> tuple[Table, ...]:
    """Every table, or the one ``key`` names (a clear error listing the keys otherwise)."""
    if key is None:
        return report.tables
    for t in report.tables:
        if t.key == key:
            return (t,)
    keys = ", ".join(t.key for t in report.tables) or "none"
    raise InvalidInput(f"report {report.name} has no table {shown(key, 40)} (its tables: {keys})")


# -- CSV --------------------------------------------------------------------------------------


def csv_header(column: Column) -> str:
    """A column's CSV header: its label, with ``(%)`` for a percent column (its values are percents)."""
    return f"{column.label} (%)" if column.kind == "percent" else column.label


def _csv_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "percent" and isinstance(value, int | float) and not isinstance(value, bool):
        return _plain(value * 100)
    if kind in ("int", "days") and isinstance(value, int | float) and not isinstance(value, bool):
        return _plain(value) if isinstance(value, float) else str(value)
    if kind == "date":
        d = as_date(value)
        return d.isoformat() if d is not None else str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _plain(number: float) -> str:
    """A number as a spreadsheet reads it: at most 4 decimals, no trailing zeros, never an exponent."""
    return f"{number:.4f}".rstrip("0").rstrip(".")


def to_csv(report: Report, table: str | None = None) -> str:
    """The report as CSV (see the module's docstring for the layout of several tables)."""
    tables = chosen_tables(report, table)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for i, t in enumerate(tables):
        if len(tables) > 1:
            if i:
                writer.writerow([])
            writer.writerow([_csv_value(t.title, "text")])
        writer.writerow([_csv_value(csv_header(c), "text") for c in t.columns])
        for row in t.rows:
            writer.writerow([_csv_value(row.get(c.key), c.kind) for c in t.columns])
    return buffer.getvalue()


# -- XLSX -------------------------------------------------------------------------------------


def sheet_names(titles: Iterable[str]) -> list[str]:
    """Excel-safe, distinct sheet names: forbidden characters out, 31 characters at most."""
    out: list[str] = []
    for title in titles:
        plain = " ".join(_SHEET_FORBIDDEN.sub(" ", title).split()).strip("'")
        base = plain[:_SHEET_NAME_MAX].rstrip() or "Table"
        name, n = base, 2
        while name.lower() in (o.lower() for o in out):
            suffix = f" ({n})"
            name, n = base[: _SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
        out.append(name)
    return out


def _xlsx_cell(cell: Any, value: Any, kind: str) -> None:
    """Write one value with its type: numbers as numbers, percents and dates formatted, text as text."""
    if value is None:
        return
    if kind in _NUMERIC and isinstance(value, int | float) and not isinstance(value, bool):
        cell.value = value
        if kind == "percent":
            cell.number_format = "0.0%"
        elif kind == "int":
            cell.number_format = "#,##0"
        else:
            cell.number_format = "#,##0" if float(value).is_integer() else "#,##0.0"
        return
    if kind == "date" and (d := as_date(value)) is not None:
        cell.value = d
        cell.number_format = "yyyy-mm-dd"
        return
    cell.value = str(value)
    cell.data_type = "s"  # never a formula, whatever the text starts with


def to_xlsx(report: Report, table: str | None = None) -> bytes:
    """The report as an XLSX workbook: one sheet per table, the header row bold and frozen."""
    from openpyxl import Workbook  # type: ignore[import-untyped]  # imported by the XLSX writers only
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    tables = chosen_tables(report, table)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = report.title
    wb.properties.creator = "carepath"
    wb.properties.description = heading(report)
    for t, name in zip(tables, sheet_names(t.title for t in tables), strict=True):
        ws = wb.create_sheet(title=name)
        bold = Font(bold=True)
        for col, c in enumerate(t.columns, start=1):
            head = ws.cell(row=1, column=col)
            _xlsx_cell(head, c.label, "text")
            head.font = bold
        for r, row in enumerate(t.rows, start=2):
            for col, c in enumerate(t.columns, start=1):
                _xlsx_cell(ws.cell(row=r, column=col), row.get(c.key), c.kind)
        _widen(ws, t)
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _widen(ws: Any, t: Table) -> None:
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    for col, c in enumerate(t.columns, start=1):
        longest = max([len(c.label), *(len(cell_text(row.get(c.key), c.kind)) for row in t.rows)])
        ws.column_dimensions[get_column_letter(col)].width = min(60, longest + 2)


def filters_of(report: Report) -> Mapping[str, str]:
    """The report's filters that were set, for a heading."""
    return {k: v for k, v in report.filters.items() if v}
