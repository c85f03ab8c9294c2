"""The ``carepath`` command line as a person uses it, on a real SQLite file.

Each invocation builds a fresh app (``reset_app``) from ``CAREPATH_*`` variables, with the
clock fixed by ``CAREPATH_FAKE_NOW``; the sample journey comes from tests/fixtures.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine, func, select
from sqlmodel import SQLModel
from typer.testing import CliRunner, Result

from entrypoints.cli import app
from entrypoints.common import reset_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BROKEN = Path(__file__).resolve().parent / "broken"
FAULT = re.compile(r"#\s*FAULT:\s*(?P<name>.+?)\s*$")
Run = Callable[..., Result]


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "carepath.db"


@pytest.fixture
def run(db_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """``run("case", "show", ref)``: one CLI invocation; fails the test on an unexpected exit code."""
    monkeypatch.setenv("CAREPATH_DATABASE_URL", f"sqlite:///{db_file}")
    monkeypatch.setenv("CAREPATH_WORKFLOWS_DIR", str(FIXTURES))
    monkeypatch.setenv("CAREPATH_FAKE_NOW", "2026-11-02T09:00:00+00:00")
    monkeypatch.delenv("CAREPATH_USER", raising=False)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        reset_app()
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (args, result.exit_code, result.output, result.exception)
        return result

    invoke("db", "upgrade")
    yield invoke
    reset_app()


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def refused(run: Run, *args: str) -> str:
    """Run a command that must be refused: exit 2 and exactly one ``error:`` line on stderr."""
    result = run(*args, code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, (args, result.stderr)
    assert lines[0].startswith("error: "), (args, result.stderr)
    assert result.stdout == "", (args, result.stdout)
    return lines[0]


def table_counts(db_file: Path) -> dict[str, int]:
    """Rows in every table: a refusal must change none of them."""
    engine = create_engine(f"sqlite:///{db_file}")
    with engine.connect() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }
    engine.dispose()
    return counts


def staff(run: Run) -> None:
    run("users", "add", "cw@council.test", "--name", "Cee Worker", "--role", "caseworker")
    run("users", "add", "tm@council.test", "--name", "Tee Manager", "--role", "team_manager", "--role", "caseworker")
    run("users", "add", "adm@council.test", "--name", "Adam Decider", "--role", "agency_decision_maker")
    run("teams", "add", "Fostering East", "--manager", "tm@council.test", "--member", "cw@council.test")


# -- help and discovery ---------------------------------------------------------------------


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, command) under ``group``, sub-groups included."""
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name), command
        if hasattr(command, "list_commands"):
            yield from _commands(command, (*prefix, name))


def test_every_command_has_help(run: Run) -> None:
    commands = dict(_commands(typer.main.get_command(app)))
    assert {("case", "fire"), ("users", "deactivate"), ("teams", "list"), ("workflows", "validate")} <= set(commands)
    assert [path for path, command in commands.items() if not (command.help or "").strip()] == []
    for path in [(), *commands]:
        result = run(*path, "--help")
        assert "Usage:" in result.stdout, path


def test_today_follows_the_injected_clock(run: Run) -> None:
    assert run("today").stdout.strip() == "2026-11-02"


# -- reads as JSON ------------------------------------------------------------------------------


def test_every_read_prints_json_with_json(run: Run) -> None:
    staff(run)
    opened = as_json(run("case", "open", "sample", "--by", "cw@council.test", "--team", "Fostering East", "--json"))
    ref = opened["ref"]
    assert (ref, opened["state"], opened["owner"], opened["team"]) == (
        "SM-2026-0001",
        "enquiry",
        "cw@council.test",
        "Fostering East",
    )
    run("case", "fire", ref, "book_visit", "--by", "cw@council.test")
    run("case", "fire", ref, "apply", "--set", "application_on=2026-11-02", "--by", "cw@council.test")

    show = as_json(run("case", "show", ref, "--json"))
    assert (show["state"], show["version"], show["facts"]) == ("assessment", 3, {"application_on": "2026-11-02"})
    history = as_json(run("case", "history", ref, "--json"))
    assert [(e["seq"], e["trigger"], e["to"]) for e in history] == [
        (1, "open", "enquiry"),
        (2, "book_visit", "visit"),
        (3, "apply", "assessment"),
    ]
    assert history[0]["recorded_at"] == "2026-11-02T09:00:00+00:00"
    actions = as_json(run("case", "actions", ref, "--by", "cw@council.test", "--json"))
    assert [(a["trigger"], a["ready"], a["reasons"]) for a in actions] == [
        ("book_panel", False, ["not ready for panel; missing: report_authorised_on"])
    ]
    listed = as_json(run("case", "list", "--state", "assessment", "--json"))
    assert [c["ref"] for c in listed] == [ref]
    assert as_json(run("case", "list", "--state", "panel", "--json")) == []

    users = as_json(run("users", "list", "--json"))
    assert [(u["email"], u["active"]) for u in users] == [
        ("adm@council.test", True),
        ("cw@council.test", True),
        ("tm@council.test", True),
    ]
    teams = as_json(run("teams", "list", "--json"))
    assert [(t["name"], t["manager"], t["members"]) for t in teams] == [
        ("Fostering East", "tm@council.test", ["cw@council.test"])
    ]
    workflows = as_json(run("workflows", "list", "--json"))
    assert [(w["id"], w["version"], w["prefix"]) for w in workflows] == [("sample", 1, "SM")]
    shown = as_json(run("workflows", "show", "sample", "--json"))
    assert (shown["id"], shown["initial"]) == ("sample", "enquiry")
    assert [t["trigger"] for t in shown["transitions"]][:2] == ["book_visit", "apply"]


def test_workflow_diagram_is_mermaid(run: Run) -> None:
    text = run("workflows", "diagram", "sample").stdout
    lines = text.splitlines()
    assert "stateDiagram-v2" in lines
    assert 'title: "Sample assessment (v1)"' in lines
    assert "  [*] --> enquiry" in lines
    assert "  decision --> approved: approve [not_on_panel]" in lines
    assert "  closed --> [*]" in lines


# -- a journey from the command line ------------------------------------------------------------


def test_a_case_moves_through_the_journey(run: Run) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", "cw@council.test", "--json"))["ref"]
    run("case", "fire", ref, "book_visit", "--by", "cw@council.test", "--note", "visit went well")
    run("case", "fire", ref, "apply", "--by", "cw@council.test", "--set", "application_on=2026-11-02")
    run("case", "hold", ref, "--reason", "carer unwell", "--by", "cw@council.test")
    assert as_json(run("case", "show", ref, "--json"))["held_from"] == "assessment"
    assert "resumed: now assessment" in run("case", "resume", ref, "--by", "cw@council.test").stdout
    out = run("case", "fire", ref, "book_panel", "--by", "cw@council.test", "--set", "report_authorised_on=2026-11-02")
    assert out.stdout.strip() == f"{ref} book_panel: now panel (Panel booked)"
    run("case", "assign", ref, "--owner", "tm@council.test", "--team", "Fostering East")
    shown = as_json(run("case", "show", ref, "--json"))
    assert (shown["owner"], shown["team"], shown["version"]) == ("tm@council.test", "Fostering East", 7)
    run("case", "error", ref, "7", "--reason", "wrong owner", "--by", "tm@council.test")
    assert as_json(run("case", "show", ref, "--json"))["owner"] == "cw@council.test"
    run("case", "close", ref, "--reason", "AW0", "--by", "tm@council.test")
    closed = as_json(run("case", "show", ref, "--json"))
    assert (closed["state"], closed["status"], closed["exit_reason"]) == ("closed", "closed", "AW0")
    last = as_json(run("case", "history", ref, "--json"))[-1]
    assert (last["trigger"], last["payload"]) == ("close", {"reason": "AW0", "stage": "panel"})
    assert [e["in_error"] for e in as_json(run("case", "history", ref, "--json"))].count(True) == 1


def test_users_and_teams(run: Run) -> None:
    staff(run)
    assert "added team Adoption (0 members)" in run("teams", "add", "Adoption").stdout
    assert "deactivated cw@council.test" in run("users", "deactivate", "cw@council.test").stdout
    users = {u["email"]: u for u in as_json(run("users", "list", "--json"))}
    assert (users["cw@council.test"]["active"], users["cw@council.test"]["teams"]) == (False, ["Fostering East"])
    assert users["tm@council.test"]["roles"] == ["caseworker", "team_manager"]
    assert [t["name"] for t in as_json(run("teams", "list", "--json"))] == ["Adoption", "Fostering East"]
    table = run("users", "list").stdout
    [row] = [line for line in table.splitlines() if line.startswith("cw@council.test")]
    assert row.split()[-1] == "False"


def test_deactivated_users_cannot_act(run: Run) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", "cw@council.test", "--json"))["ref"]
    run("users", "deactivate", "cw@council.test")
    assert refused(run, "case", "fire", ref, "book_visit", "--by", "cw@council.test") == (
        "error: user 'cw@council.test' is deactivated"
    )
    assert "deactivated" in refused(run, "case", "open", "sample", "--by", "cw@council.test")
    # their history stays attributed to them
    assert as_json(run("case", "history", ref, "--json"))[0]["by"] == "cw@council.test"


# -- refusals ---------------------------------------------------------------------------------


def test_any_refusal_exits_2_with_one_line_and_writes_nothing(run: Run, db_file: Path) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--json"))["ref"]
    run("users", "add", "gone@council.test", "--name", "Gone", "--role", "caseworker")
    run("users", "deactivate", "gone@council.test")
    before = table_counts(db_file)
    expected = {
        ("case", "fire", ref, "approve"): "valid triggers: book_visit",
        ("case", "fire", ref, "teleport"): "cannot 'teleport' from state 'enquiry'",
        ("case", "fire", ref, "book_visit", "--on", "2026-11-03"): "2026-11-03 is in the future",
        ("case", "fire", ref, "book_visit", "--on", "2026-11-01"): "before SM-2026-0001's latest event",
        ("case", "fire", ref, "book_visit", "--on", "yesterday"): "--on 'yesterday' is not a date YYYY-MM-DD",
        ("case", "fire", ref, "book_visit", "--by", "who@council.test"): "no user 'who@council.test'",
        ("case", "fire", ref, "book_visit", "--by", "gone@council.test"): "'gone@council.test' is deactivated",
        ("case", "fire", ref, "book_visit", "--set", "novalue"): "--set 'novalue' is not key=value",
        ("case", "fire", ref, "book_visit", "--expect-version", "7"): "expected version 7, it is now at version 1",
        ("case", "fire", "SM-2026-9999", "book_visit"): "no case with reference 'SM-2026-9999'",
        ("case", "hold", ref, "--reason", " "): "a hold needs a reason",
        ("case", "resume", ref): "the case is not on hold",
        ("case", "withdraw", ref, "--reason", "BORED"): "use one of: AW0, AW1, NOT_APPROVED",
        ("case", "close", ref, "--reason", "BORED"): "unknown exit reason 'BORED'",
        ("case", "error", ref, "1", "--reason", "oops"): "the opening event cannot be voided",
        ("case", "error", ref, "5", "--reason", "oops"): "there is no event 5",
        ("case", "assign", ref): "assign needs --owner or --team",
        ("case", "assign", ref, "--owner", "who@council.test"): "no user 'who@council.test'",
        ("case", "assign", ref, "--team", "Nowhere"): "no team 'Nowhere'",
        ("case", "open", "nosuch"): "unknown workflow 'nosuch'",
        ("case", "open", "sample", "--ref", ref): f"case reference '{ref}' is already taken",
        ("case", "show", "SM-2026-9999"): "no case with reference 'SM-2026-9999'",
        ("workflows", "show", "nosuch"): "unknown workflow 'nosuch'",
        ("users", "add", "not-an-email", "--name", "X", "--role", "caseworker"): "is not an email address",
        ("users", "add", "x@council.test", "--name", "X", "--role", "wizard"): "unknown role(s) wizard",
        ("users", "add", "cw@council.test", "--name", "X", "--role", "caseworker"): "already exists",
        ("users", "deactivate", "who@council.test"): "no user 'who@council.test'",
        ("teams", "add", "Fostering East"): "a team called 'Fostering East' already exists",
        ("teams", "add", "West", "--member", "who@council.test"): "no user 'who@council.test'",
    }
    for args, words in expected.items():
        line = refused(run, *args)
        assert words in line, (args, line)
        assert table_counts(db_file) == before, f"{args} wrote something"


def test_a_guard_and_a_role_refusal_name_what_is_missing(run: Run, db_file: Path) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--json"))["ref"]
    run("case", "fire", ref, "book_visit")
    assert refused(run, "case", "fire", ref, "apply") == (
        f"error: {ref}: cannot 'apply' from state 'visit': "
        "missing fact(s) application_on (record with --set application_on=...)"
    )
    run("case", "fire", ref, "apply", "--set", "application_on=2026-11-02")
    before = table_counts(db_file)
    assert refused(run, "case", "fire", ref, "book_panel", "--by", "adm@council.test") == (
        f"error: {ref}: cannot 'book_panel' from state 'assessment': "
        "adm@council.test needs role caseworker or team_manager or panel_coordinator"
    )
    assert refused(run, "case", "fire", ref, "book_panel", "--by", "cw@council.test").endswith(
        "not ready for panel; missing: report_authorised_on"
    )
    assert table_counts(db_file) == before


# -- workflows validate ------------------------------------------------------------------------


def test_validate_accepts_the_sample(run: Run) -> None:
    assert run("workflows", "validate", str(FIXTURES / "sample.v1.yaml")).stdout.strip() == ("1 workflow file(s) valid")


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.v1.yaml")), ids=lambda p: p.name)
def test_validate_names_file_line_and_offender_of_each_broken_file(run: Run, path: Path) -> None:
    line, name = next(
        (n, m["name"])
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if (m := FAULT.search(text))
    )
    result = run("workflows", "validate", str(path), code=2)
    errors = result.stderr.strip().splitlines()
    assert any(e.startswith(f"error: {path}:{line}: ") and name in e for e in errors), errors


def test_validate_reports_every_broken_file_at_once(run: Run) -> None:
    files = sorted(BROKEN.glob("*.v1.yaml"))
    result = run("workflows", "validate", *map(str, files), code=2)
    named = {Path(e.removeprefix("error: ").split(":", 1)[0]).name for e in result.stderr.strip().splitlines()}
    assert named == {p.name for p in files}
