"""``carepath report`` end to end on the demo caseload: the service manager's two questions answered
on the command line, and every format agreeing with the figures the service computed.

The demo is seeded once for the module (``carepath demo seed``, the clock fixed at 2 November 2026
by ``CAREPATH_FAKE_NOW``), then each test runs ``carepath report ...`` in-process as a new process
would, as the demo's service manager unless it says otherwise.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from carepath.entrypoints import common, report_files
from carepath.entrypoints.demo.gateway import Gateway
from tests.e2e.test_bad_input import Cli, _invoke, ok, one_error

NOW = "2026-11-02T09:00:00+00:00"
TEAM_MANAGER = "fiona.teammanager@demo.carepath.invalid"  # manages the Demo Fostering Team
CASEWORKER = "amy.caseworker@demo.carepath.invalid"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'demo.db'}"
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, url)
        common.reset_app()
        from typer.testing import CliRunner

        from carepath.entrypoints.cli import app as cli

        for args in (["db", "upgrade"], ["demo", "seed", "--households", "200", "--children", "30"]):
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, result.output
        common.reset_app()
        yield url
    common.reset_app()


def _environment(mp: pytest.MonkeyPatch, url: str) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("CAREPATH_") and n != "CAREPATH_TEST_PG_URL"]:
        mp.delenv(name)
    mp.setenv("CAREPATH_DATABASE_URL", url)
    mp.setenv("CAREPATH_FAKE_NOW", NOW)
    mp.setattr(common, "CLOCK_FACTORY", None)


@pytest.fixture
def cli(demo_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    _environment(monkeypatch, demo_db)
    common.reset_app()
    monkeypatch.setenv("CAREPATH_USER", Gateway.reader())  # the demo's service manager
    yield lambda *args: _invoke([str(a) for a in args], capsys)
    common.reset_app()


def test_where_enquiries_leak_and_how_many_more_applications_we_need(cli: Cli) -> None:
    data = json.loads(ok(cli, "report", "funnel", "--format", "json"))

    assert (data["from"], data["to"], data["as_of"]) == ("2026-04-01", "2026-11-02", "2026-11-02")  # this year so far
    enquiries, applications = data["enquiries"], data["applications"]
    assert enquiries > 0
    needed = math.ceil(round(data["target_conversion"] * enquiries, 9))  # 15% of the enquiries, rounded up
    assert data["applications_needed_for_target"] == needed
    assert data["applications_short_of_target"] == max(0, needed - applications)
    # the leakage: drop-outs by stage and by reason are in the report, and the table says the same
    text = ok(cli, "report", "funnel")
    assert "Drop-outs by stage" in text
    assert "Drop-outs by reason" in text
    more = next(line for line in text.splitlines() if line.startswith("More applications needed"))
    assert more.split()[-1] == str(data["applications_short_of_target"])


def test_our_a1_a2_and_a10(cli: Cli) -> None:
    data = json.loads(ok(cli, "report", "scorecard", "--from", "2024-04-01", "--to", "2026-11-02", "--format", "json"))

    children = data["children"]
    assert children, "the demo adopts some children in the period"
    for child in children:  # each contribution, recomputed from the dates it was computed from
        entered, placed = date.fromisoformat(child["entered_care_on"]), date.fromisoformat(child["placed_on"])
        assert child["a1_days"] == (placed - entered).days, child
        moved_in = date.fromisoformat(child["ffa_placed_on"] or child["placed_on"])
        assert child["a10_days"] == (moved_in - entered).days, child
    a1 = [c["a1_days"] for c in children]
    assert data["averages"]["a1_days"] == pytest.approx(sum(a1) / len(a1))
    assert data["thresholds"] == {"a1_days": 426, "a10_days": 426, "a2_days": 121}
    text = ok(cli, "report", "scorecard", "--from", "2024-04-01", "--to", "2026-11-02")
    for measure in ("A1:", "A10:", "A2:"):
        assert any(line.startswith(measure) for line in text.splitlines()), measure


def test_csv_and_xlsx_hold_the_services_figures(cli: Cli, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from carepath.entrypoints.common import actor, get_app

    target = tmp_path / "compliance.xlsx"
    ok(cli, "report", "compliance", "--format", "xlsx", "--output", target)
    report = get_app().reports.report(actor(Gateway.reader()), "compliance")  # the same, in-process
    wb = load_workbook(target)
    assert len(wb.sheetnames) == len(report.tables)
    for ws, table in zip(wb.worksheets, report.tables, strict=True):
        assert [c.value for c in ws[1]] == [c.label for c in table.columns]
        assert ws.max_row == 1 + len(table.rows)
        for row_cells, row in zip(ws.iter_rows(min_row=2), table.rows, strict=True):
            for cell, column in zip(row_cells, table.columns, strict=True):
                value = row.get(column.key)
                if column.kind in ("int", "days", "percent") and value is not None:
                    assert cell.value == pytest.approx(value), (table.key, column.key)
    first = report.tables[0]
    rows = list(csv.reader(io.StringIO(ok(cli, "report", "compliance", "--format", "csv", "--table", first.key))))
    assert rows[0] == [report_files.csv_header(c) for c in first.columns]
    assert len(rows) == 1 + len(first.rows)


def test_as_of_an_earlier_day(cli: Cli) -> None:
    now = json.loads(ok(cli, "report", "funnel", "--format", "json"))
    then = json.loads(ok(cli, "report", "funnel", "--as-of", "2026-06-30", "--format", "json"))

    assert (then["from"], then["to"], then["as_of"]) == ("2026-04-01", "2026-06-30", "2026-06-30")
    assert then["enquiries"] <= now["enquiries"]


def test_the_stage_diagram_as_a_table(cli: Cli) -> None:
    text = ok(cli, "report", "stages", "foster_carer_approval")

    assert "Enquiry received" in text
    shown = json.loads(ok(cli, "report", "caseload", "--format", "json"))
    assert shown["report"] == "caseload"


def test_a_team_manager_reads_their_team_and_is_refused_another(cli: Cli) -> None:
    ok(cli, "report", "funnel", "--by", TEAM_MANAGER)
    ok(cli, "report", "compliance", "--by", TEAM_MANAGER, "--team", "Demo Fostering Team")

    line = one_error(cli("report", "funnel", "--by", TEAM_MANAGER, "--team", "Demo Adoption Team"))
    assert "may not report.read" in line


def test_a_caseworker_is_refused(cli: Cli) -> None:
    line = one_error(cli("report", "funnel", "--by", CASEWORKER))

    assert "needs role team_manager or service_manager" in line
