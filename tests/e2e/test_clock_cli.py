"""The statutory clock from the command line, as a caseworker or manager uses it.

People act with ``--by``: an administrator (the first user) adds a caseworker and a team
manager to the team ``Fostering`` and changes the calendar; the sweep acts as carepath itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from carepath.entrypoints import common
from carepath.entrypoints.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("CAREPATH_DATABASE_URL", f"sqlite:///{tmp_path / 'clock.db'}")
    monkeypatch.setenv("CAREPATH_WORKFLOWS_DIR", str(FIXTURES))
    monkeypatch.setenv("CAREPATH_FAKE_NOW", "2026-11-02T09:00:00+00:00")
    common.reset_app()
    run("db", "upgrade")
    yield run
    common.reset_app()


def run(*args: str, code: int = 0) -> str:
    common.reset_app()
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output, result.stderr if result.stderr_bytes else "")
    return result.output if code == 0 else result.stderr


ADMIN = "admin@example.test"
CW = "cw@example.test"
TM = "tm@example.test"


def staff() -> None:
    """The administrator, then a caseworker and the team manager of the team Fostering."""
    run("users", "add", ADMIN, "--name", "Administrator", "--role", "admin")
    run("users", "add", CW, "--name", "Caseworker", "--role", "caseworker", "--by", ADMIN)
    run("users", "add", TM, "--name", "Manager", "--role", "team_manager", "--by", ADMIN)
    run("teams", "add", "Fostering", "--manager", TM, "--member", CW, "--by", ADMIN)


def items(out: str) -> list[Any]:
    """The rows of a paged list command's ``--json`` (``{"items", "total", "next"}``)."""
    page = json.loads(out)
    assert set(page) >= {"items", "total", "next"}
    return list(page["items"])


def due(*args: str) -> str:
    return str(json.loads(run("calendar", "due", *args, "--json"))["due_on"])


@pytest.mark.usefixtures("cli")
@pytest.mark.parametrize(
    ("start", "limit", "counting", "expected"),
    [
        ("2026-03-04", "7 working days", "after", "2026-03-13"),
        ("2026-05-01", "40 working days", "beginning-with", "2026-06-29"),
        ("2026-05-01", "40 working days", "after", "2026-06-30"),
        ("2026-04-08", "-5 working days", "after", "2026-03-30"),
        ("2026-05-01", "28 days", "after", "2026-05-29"),
        ("2026-01-12", "10 weeks", "after", "2026-03-23"),
        ("2025-10-31", "4 months", "after", "2026-02-28"),
        ("2024-02-29", "12 months", "after", "2025-02-28"),
        ("2026-04-15", "6 months", "after", "2026-10-15"),
        ("2025-10-28", "4 months", "after", "2026-02-28"),
        ("2026-12-23", "2 working days", "after", "2026-12-29"),
    ],
)
def test_calendar_due_answers_every_worked_example(start: str, limit: str, counting: str, expected: str) -> None:
    assert due(start, limit, "--counting", counting) == expected


@pytest.mark.usefixtures("cli")
def test_working_day_names_the_holiday() -> None:
    assert json.loads(run("calendar", "working-day", "2026-04-03", "--json"))["working_day"] is False
    assert "Good Friday" in run("calendar", "working-day", "2026-04-03")
    assert json.loads(run("calendar", "working-day", "2026-04-07", "--json"))["working_day"] is True
    assert "not a date" in run("calendar", "working-day", "2026-13-01", code=2)
    assert "unknown unit" in run("calendar", "due", "2026-01-01", "7 wrking days", code=2)


@pytest.mark.usefixtures("cli")
def test_a_local_closure_moves_due_dates_and_open_deadlines() -> None:
    staff()
    assert due("2026-12-23", "2 working days") == "2026-12-29"
    run("case", "open", "sample", "--on", "2026-11-02", "--team", "Fostering", "--by", CW)
    before = json.loads(run("case", "deadlines", "SM-2026-0001", "--by", CW, "--json"))
    assert before[0]["due_on"] == "2026-11-09"
    out = run("calendar", "override", "add", "2026-11-04", "--reason", "Office move", "--by", ADMIN)
    assert "recomputed deadlines of 1 case(s)" in out
    assert due("2026-12-23", "2 working days") == "2026-12-29"
    after = json.loads(run("case", "deadlines", "SM-2026-0001", "--by", CW, "--json"))
    assert after[0]["due_on"] == "2026-11-10"
    listed = items(run("calendar", "override", "list", "--by", CW, "--json"))
    assert [(o["on"], o["kind"]) for o in listed] == [("2026-11-04", "closure")]
    assert "already has an override" in run(
        "calendar", "override", "add", "2026-11-04", "--reason", "x", "--by", ADMIN, code=2
    )
    # only an administrator changes the calendar
    assert "may not calendar.change" in run("calendar", "override", "remove", "2026-11-04", "--by", CW, code=2)
    assert "(nobody) may not" in run("calendar", "override", "remove", "2026-11-04", code=2)
    assert json.loads(run("case", "deadlines", "SM-2026-0001", "--by", CW, "--json"))[0]["due_on"] == "2026-11-10"
    run("calendar", "override", "remove", "2026-11-04", "--by", ADMIN)
    assert json.loads(run("case", "deadlines", "SM-2026-0001", "--by", CW, "--json"))[0]["due_on"] == "2026-11-09"
    assert "no calendar override" in run("calendar", "override", "remove", "2026-11-04", "--by", ADMIN, code=2)


@pytest.mark.usefixtures("cli")
def test_deadlines_show_basis_status_and_days_left() -> None:
    staff()
    run("case", "open", "sample", "--on", "2026-10-20", "--owner", CW, "--team", "Fostering", "--by", TM)
    run("case", "open", "sample", "--on", "2026-10-29", "--by", TM)  # the manager's own, in no team
    rows = json.loads(run("case", "deadlines", "SM-2026-0001", "--by", CW, "--json"))
    assert rows == [
        {
            "rule": "S1",
            "cycle": 1,
            "label": "Enquiry to visit",
            "class": "LOCAL",
            "source": "sample procedure",
            "limit": "5 working days",
            "start_on": "2026-10-20",
            "due_on": "2026-10-27",
            "raw_due_on": "2026-10-27",
            "status": "breached",
            "met_on": None,
            "breached_on": "2026-10-28",  # the first day after the due date
            "late": None,
            "paused_days": 0,
            "working_days_left": -4,
            "calendar_days_left": -6,
        }
    ]
    listing = items(run("deadlines", "due", "--by", TM, "--json"))
    assert [(r["ref"], r["status"]) for r in listing] == [("SM-2026-0001", "breached"), ("SM-2026-0002", "open")]
    mine = items(run("deadlines", "due", "--owner", CW, "--by", TM, "--json"))
    assert [r["ref"] for r in mine] == ["SM-2026-0001"]
    team = items(run("deadlines", "due", "--team", "Fostering", "--by", TM, "--json"))
    assert [r["ref"] for r in team] == ["SM-2026-0001"]
    # the caseworker sees their team's cases, not the manager's own case outside the team
    assert [r["ref"] for r in items(run("deadlines", "due", "--by", CW, "--json"))] == ["SM-2026-0001"]
    assert run("case", "deadlines", "SM-2026-0002", "--by", CW, code=2) == (
        f"error: {CW} may not deadlines.read: the case is neither theirs nor in one of their teams\n"
    )
    empty = run("deadlines", "due", "--as-of", "2026-10-01", "--within", "5 working days", "--by", TM, "--json")
    assert items(empty) == []
    assert "overdue 4 wd" in run("case", "deadlines", "SM-2026-0001", "--by", CW)


@pytest.mark.usefixtures("cli")
def test_sweep_command_raises_once_and_refuses_the_future() -> None:
    staff()
    run("case", "open", "sample", "--on", "2026-10-20", "--team", "Fostering", "--by", CW)
    first = json.loads(run("sweep", "--json"))
    assert first["raised"] == 1
    assert first["breach"] == 1
    assert json.loads(run("sweep", "--json"))["raised"] == 0
    assert "in the future" in run("sweep", "--as-of", "2027-01-01", code=2)
    history = items(run("case", "history", "SM-2026-0001", "--by", CW, "--json"))
    assert [h["trigger"] for h in history] == ["open", "deadline_breached"]
    assert history[-1]["by"] == "system@carepath.invalid"  # the sweep acts as carepath itself
    assert history[-1]["effective_on"] == "2026-10-28"
