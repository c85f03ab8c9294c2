"""``carepath report ...``: the managers' reports (issue 13) as a table, JSON, CSV or XLSX.

::

    carepath report funnel [--from DATE] [--to DATE] [--as-of DATE] [--team NAME] [--journey ID]
                           [--format table|json|csv|xlsx] [--output FILE] [--table KEY] [--by EMAIL]
    carepath report adopters|scorecard|compliance|caseload   (the same options)
    carepath report stages JOURNEY [--as-of DATE] [--team NAME] [--format ...]

Every figure comes from ``app.reports`` (``engine.services.reports.ReportService``), which checks
who may read it (``report.read``: team managers for their teams, service managers and
administrators for the service). The period defaults to the financial year of ``--as-of`` (today
by default); the scorecard's to the three years ending the last 31 March. ``--format json`` (or
``--json``, as for every read) prints ``Report.to_json()``; csv and xlsx are laid out by
``entrypoints.report_files``. XLSX is a binary file: it needs ``--output FILE`` (``--output -``
writes it to standard output unless that is a terminal).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carepath.engine.errors import InvalidInput, shown
from carepath.engine.reports import REPORT_NAMES
from carepath.engine.text import choice
from carepath.entrypoints.common import Typer, actor, get_app, parse_date
from carepath.entrypoints.output import emit_json

if TYPE_CHECKING:
    from carepath.engine.reports import Report

FORMATS = ("table", "json", "csv", "xlsx")

report_app = Typer(
    help="Reports for managers: the fostering funnel, adopters, the adoption scorecard, compliance, caseload"
    " and each journey's stages, as of any day."
)

From = Annotated[
    str | None,
    typer.Option("--from", help="First day of the period, YYYY-MM-DD (default: 1 April of the financial year)."),
]
To = Annotated[
    str | None, typer.Option("--to", help="Last day of the period, YYYY-MM-DD (default: 31 March, or --as-of).")
]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Report as carepath stood at the end of this day, YYYY-MM-DD (default today)."),
]
Team = Annotated[str | None, typer.Option("--team", help="Only this team's cases (its name).")]
Journey = Annotated[str | None, typer.Option("--journey", help="Only this journey (its id).")]
Format = Annotated[str, typer.Option("--format", help="table, json, csv or xlsx.")]
Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file (needed for xlsx; '-' for stdout).")
]
TableKey = Annotated[
    str | None, typer.Option("--table", help="Only this table, by its key (an unknown key is refused with the list).")
]
By = Annotated[str | None, typer.Option("--by", help="Acting user's email (default $CAREPATH_USER).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON (the same as --format json).")]

#: The one-line help of each report, as `carepath report --help` lists them.
HELP = {
    "funnel": "Fostering recruitment: enquiries to approvals, conversion, leakage and the target.",
    "adopters": "Adopters: ROI to placement, stage durations, within 6 and 3 months, drop-outs.",
    "scorecard": "The adoption scorecard: A1, A2 and A10 per child and on average, A3, who is waiting.",
    "compliance": "Deadlines per rule, team and worker: due, on time, late, breached, open.",
    "caseload": "Open cases by journey and state (and by worker), as of the day.",
}


def emit(report: Report, fmt: str, output: Path | None, table: str | None) -> None:
    """Print or write ``report`` in ``fmt`` (one of ``FORMATS``)."""
    from carepath.entrypoints import report_files

    choice(fmt, FORMATS, "--format")
    if fmt == "xlsx":
        if output is None:
            raise InvalidInput("--format xlsx writes a binary file: name it with --output FILE (like report.xlsx)")
        _write(report_files.to_xlsx(report, table), output)
        return
    if fmt == "json":
        if table is not None:
            report_files.chosen_tables(report, table)  # a wrong key is refused in every format
        if output is None:
            emit_json(report.to_json())
            return
        text = json.dumps(report.to_json(), default=_iso, indent=2) + "\n"
    else:
        text = report_files.to_csv(report, table) if fmt == "csv" else report_files.to_text(report, table)
    if output is None:
        typer.echo(text, nl=False)
        return
    _write(text.encode("utf-8"), output)


def _iso(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _write(data: bytes, output: Path) -> None:
    if str(output) == "-":
        if sys.stdout.isatty():
            raise InvalidInput("refusing to write a binary XLSX file to the terminal: use --output FILE, or pipe it")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"cannot write --output {shown(str(output), 120)}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {output} ({len(data):,} bytes)", err=True)


def _run(
    name: str,
    from_: str | None,
    to: str | None,
    as_of: str | None,
    team: str | None,
    journey: str | None,
    fmt: str,
    output: Path | None,
    table: str | None,
    by: str | None,
) -> None:
    choice(fmt, FORMATS, "--format")  # before any work
    start: date | None = parse_date(from_, "--from")
    end: date | None = parse_date(to, "--to")
    if start is not None and end is not None and end < start:
        raise InvalidInput(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    report = get_app().reports.report(
        actor(by), name, start=start, end=end, as_of=parse_date(as_of, "--as-of"), team=team, journey=journey
    )
    emit(report, fmt, output, table)


def _command(name: str) -> None:
    """Register ``carepath report NAME`` (the five reports share their options)."""

    def command(
        from_: From = None,
        to: To = None,
        as_of: AsOf = None,
        team: Team = None,
        journey: Journey = None,
        fmt: Format = "table",
        output: Output = None,
        table: TableKey = None,
        by: By = None,
        json_: Json = False,
    ) -> None:
        _run(name, from_, to, as_of, team, journey, "json" if json_ else fmt, output, table, by)

    command.__doc__ = HELP[name]
    command.__name__ = f"report_{name}"
    report_app.command(name)(command)


for _name in REPORT_NAMES:
    _command(_name)


@report_app.command("stages")
def report_stages(
    journey: Annotated[str, typer.Argument(help="The journey's id (carepath workflows list).")],
    as_of: AsOf = None,
    team: Team = None,
    fmt: Format = "table",
    output: Output = None,
    table: TableKey = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """A journey's stages in order: the open cases in each and the median days they have spent there."""
    fmt = "json" if json_ else fmt
    choice(fmt, FORMATS, "--format")
    report = get_app().reports.stages(actor(by), journey, as_of=parse_date(as_of, "--as-of"), team=team)
    emit(report, fmt, output, table)
