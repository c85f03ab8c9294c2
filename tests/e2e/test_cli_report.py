"""``carepath report ...`` on hand-made reports: every format, the options reaching the service, and
each refusal as one ``error:`` line with exit 2.

The application is real (a SQLite file, the shipped journeys, the staff of tests.support); its
``reports`` is the stand-in of tests/web/test_reports_render.py, whose funnel is the worked example
there (191 enquiries, 23 applications, 15% target: 29 needed, 6 short).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from carepath.entrypoints import common, report_files
from tests.e2e.test_bad_input import Cli, _invoke, ok, one_error
from tests.support import email_for
from tests.web.conftest import NOW, build_app
from tests.web.test_reports_render import HandMadeReports, funnel_report

TM = ("--by", email_for("team_manager"))


@pytest.fixture
def reports(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[HandMadeReports]:
    from carepath.engine.clock import FixedClock
    from tests.support import seed_staff

    app = build_app(sqlite_url, FixedClock(NOW))
    seed_staff(app)
    fake = HandMadeReports()
    app.__dict__["reports"] = fake
    monkeypatch.setattr(common, "_APP", app)
    yield fake
    app.dispose()


@pytest.fixture
def cli(reports: HandMadeReports, capsys: pytest.CaptureFixture[str]) -> Cli:
    return lambda *args: _invoke([str(a) for a in args], capsys, fresh=False)


def test_the_table_format_prints_each_table(cli: Cli) -> None:
    out = ok(cli, "report", "funnel", *TM)

    assert out == report_files.to_text(funnel_report())
    assert "Applications short of the target      6" in out


def test_json_is_the_reports_own_shape(cli: Cli) -> None:
    data = json.loads(ok(cli, "report", "funnel", "--format", "json", *TM))

    assert data["report"] == "funnel"
    assert (data["from"], data["to"], data["as_of"]) == ("2026-04-01", "2027-03-31", "2026-11-02")
    assert data["applications_needed_for_target"] == 29  # ceil(0.15 x 191)
    assert data["applications_short_of_target"] == 6  # 29 - 23


def test_csv_to_stdout_and_one_table_alone(cli: Cli) -> None:
    assert ok(cli, "report", "funnel", "--format", "csv", *TM) == report_files.to_csv(funnel_report())
    rows = list(csv.reader(io.StringIO(ok(cli, "report", "funnel", "--format", "csv", "--table", "target", *TM))))
    assert rows[0] == ["Measure", "Value"]
    assert rows[3] == ["Applications short of the target", "6"]


def test_xlsx_needs_an_output_file_and_reads_back(cli: Cli, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    line = one_error(cli("report", "funnel", "--format", "xlsx", *TM))
    assert line == "error: --format xlsx writes a binary file: name it with --output FILE (like report.xlsx)"

    target = tmp_path / "funnel.xlsx"
    code, out, err = cli("report", "funnel", "--format", "xlsx", "--output", target, *TM)
    assert (code, out) == (0, "")
    assert err.startswith(f"wrote {target} (")
    wb = load_workbook(target)
    assert len(wb.sheetnames) == 4
    steps = wb.worksheets[0]
    assert [c.value for c in steps["B"]] == ["Households", 191, 64, 23, 22]
    assert steps["C4"].value == pytest.approx(23 / 64)
    assert steps["C4"].number_format == "0.0%"


def test_the_output_option_writes_text_formats_too(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "funnel.json"
    ok(cli, "report", "funnel", "--format", "json", "--output", target, *TM)

    assert json.loads(target.read_text())["applications_needed_for_target"] == 29


def test_the_options_reach_the_service(cli: Cli, reports: HandMadeReports) -> None:
    ok(
        cli,
        *("report", "compliance", "--from", "2025-04-01", "--to", "2026-03-31", "--as-of", "2026-06-30"),
        *("--team", "East", "--journey", "foster_carer_approval", *TM),
    )
    ok(cli, "report", "stages", "connected_person_approval", "--as-of", "2026-10-01", *TM)

    assert reports.asked == [
        {
            "name": "compliance",
            "start": date(2025, 4, 1),
            "end": date(2026, 3, 31),
            "as_of": date(2026, 6, 30),
            "team": "East",
            "journey": "foster_carer_approval",
        },
        {"journey": "connected_person_approval", "as_of": date(2026, 10, 1), "team": None},
    ]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--format", "pdf"), "error: unknown --format: use one of csv, json, table, xlsx"),
        (("--from", "2026-13-01"), "error: --from '2026-13-01' is not a date YYYY-MM-DD"),
        (("--as-of", "tomorrow"), "error: --as-of 'tomorrow' is not a date YYYY-MM-DD"),
        (("--from", "2026-04-01", "--to", "2026-03-31"), "error: --to 2026-03-31 is before --from 2026-04-01"),
        (("--table", "nope"), "error: report funnel has no table 'nope' (its tables: steps_mainstream, dropouts,"),
        (("--output", "/no/such/folder/f.csv", "--format", "csv"), "error: cannot write --output '/no/such/folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    cli: Cli, reports: HandMadeReports, args: tuple[str, ...], error: str
) -> None:
    line = one_error(cli("report", "funnel", *args, *TM))

    assert line.startswith(error), line


def test_a_caseworker_is_refused(cli: Cli) -> None:
    line = one_error(cli("report", "funnel", "--by", email_for("caseworker")))

    assert "report.read" in line or "reports" in line, line


def test_json_flag_is_format_json(cli: Cli) -> None:
    assert ok(cli, "report", "funnel", "--json", *TM) == ok(cli, "report", "funnel", "--format", "json", *TM)
    assert json.loads(ok(cli, "report", "stages", "foster_carer_approval", "--json", *TM))["report"] == "stages"
