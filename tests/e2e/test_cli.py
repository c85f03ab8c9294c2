"""The ``carepath`` command line as a person uses it, on a real SQLite file.

Each invocation builds a fresh app (``reset_app``) from ``CAREPATH_*`` variables, with the
clock fixed by ``CAREPATH_FAKE_NOW``; the sample journey comes from tests/fixtures. Every
human command names its acting user with ``--by`` (or ``CAREPATH_USER``): the first user of
an empty database is the administrator, who adds everyone else.
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
from typer.testing import CliRunner, Result

from carepath.entrypoints.cli import app
from carepath.entrypoints.common import reset_app
from carepath.storage.tables import METADATA

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


def items(result: Result) -> list[Any]:
    """The rows of a paged list command's ``--json`` (``{"items", "total", "next"}``)."""
    page = as_json(result)
    assert set(page) >= {"items", "total", "next"}
    assert isinstance(page["items"], list)
    return page["items"]


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
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in METADATA.sorted_tables
        }
    engine.dispose()
    return counts


ADMIN = "admin@council.test"
CW = "cw@council.test"
TM = "tm@council.test"
ADM = "adm@council.test"


def staff(run: Run) -> None:
    """The administrator (first user, no --by), who adds a caseworker, a manager, a decider and their team."""
    run("users", "add", ADMIN, "--name", "Ada Admin", "--role", "admin")
    run("users", "add", CW, "--name", "Cee Worker", "--role", "caseworker", "--by", ADMIN)
    run("users", "add", TM, "--name", "Tee Manager", "--role", "team_manager", "--role", "caseworker", "--by", ADMIN)
    run("users", "add", ADM, "--name", "Adam Decider", "--role", "agency_decision_maker", "--by", ADMIN)
    run("teams", "add", "Fostering East", "--manager", TM, "--member", CW, "--by", ADMIN)


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
    opened = as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))
    ref = opened["ref"]
    assert (ref, opened["state"], opened["owner"], opened["team"]) == (
        "SM-2026-0001",
        "enquiry",
        CW,
        "Fostering East",
    )
    run("case", "fire", ref, "book_visit", "--by", CW)
    run("case", "fire", ref, "apply", "--set", "application_on=2026-11-02", "--by", CW)

    show = as_json(run("case", "show", ref, "--by", CW, "--json"))
    assert (show["state"], show["version"], show["facts"]) == ("assessment", 3, {"application_on": "2026-11-02"})
    history = items(run("case", "history", ref, "--by", CW, "--json"))
    assert [(e["seq"], e["trigger"], e["to_state"]) for e in history] == [
        (1, "open", "enquiry"),
        (2, "book_visit", "visit"),
        (3, "apply", "assessment"),
    ]
    assert history[0]["recorded_at"] == "2026-11-02T09:00:00+00:00"
    actions = as_json(run("case", "actions", ref, "--by", CW, "--json"))
    assert [(a["trigger"], a["ready"], a["reasons"]) for a in actions] == [
        ("book_panel", False, ["not ready for panel; missing: report_authorised_on"])
    ]
    listed = items(run("case", "list", "--state", "assessment", "--by", CW, "--json"))
    assert [c["ref"] for c in listed] == [ref]
    assert items(run("case", "list", "--state", "panel", "--by", CW, "--json")) == []

    users = items(run("users", "list", "--by", ADMIN, "--json"))
    assert [(u["email"], u["active"]) for u in users] == [
        (ADM, True),
        (ADMIN, True),
        (CW, True),
        (TM, True),
    ]
    teams = items(run("teams", "list", "--by", CW, "--json"))
    assert [(t["name"], t["manager"], t["members"]) for t in teams] == [("Fostering East", TM, [CW])]
    workflows = as_json(run("workflows", "list", "--json"))
    assert [(w["workflow"], w["workflow_version"], w["reference_prefix"]) for w in workflows] == [("sample", 1, "SM")]
    shown = as_json(run("workflows", "show", "sample", "--json"))
    assert (shown["id"], shown["initial"]) == ("sample", "enquiry")
    assert [t["trigger"] for t in shown["transitions"]][:2] == ["book_visit", "apply"]


def test_case_actions_names_the_facts_to_set(run: Run) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", CW, "--json"))["ref"]
    run("case", "fire", ref, "book_visit", "--by", CW)
    out = run("case", "actions", ref, "--by", CW).stdout
    assert "needs --set application_on=..." in out


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
    ref = as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))["ref"]
    run("case", "fire", ref, "book_visit", "--by", CW, "--note", "visit went well")
    run("case", "fire", ref, "apply", "--by", CW, "--set", "application_on=2026-11-02")
    run("case", "hold", ref, "--reason", "carer unwell", "--by", CW)
    assert as_json(run("case", "show", ref, "--by", CW, "--json"))["held_from"] == "assessment"
    assert "resumed: now assessment" in run("case", "resume", ref, "--by", CW).stdout
    out = run("case", "fire", ref, "book_panel", "--by", CW, "--set", "report_authorised_on=2026-11-02")
    assert out.stdout.strip() == f"{ref} book_panel: now panel (Panel booked)"
    run("case", "assign", ref, "--owner", TM, "--team", "Fostering East", "--by", TM)
    shown = as_json(run("case", "show", ref, "--by", TM, "--json"))
    assert (shown["owner"], shown["team"], shown["version"]) == (TM, "Fostering East", 7)
    run("case", "error", ref, "7", "--reason", "wrong owner", "--by", TM)
    assert as_json(run("case", "show", ref, "--by", CW, "--json"))["owner"] == CW
    run("case", "close", ref, "--reason", "AW0", "--by", TM)
    closed = as_json(run("case", "show", ref, "--by", CW, "--json"))
    assert (closed["state"], closed["status"], closed["exit_reason"]) == ("closed", "closed", "AW0")
    history = items(run("case", "history", ref, "--by", CW, "--json"))
    assert (history[-1]["trigger"], history[-1]["payload"]) == ("close", {"reason": "AW0", "stage": "panel"})
    assert [e["in_error"] for e in history].count(True) == 1
    assert [e["by"] for e in history][-3:] == [TM, TM, TM]


def test_the_acting_user_may_come_from_carepath_user(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    staff(run)
    monkeypatch.setenv("CAREPATH_USER", CW)
    ref = as_json(run("case", "open", "sample", "--team", "Fostering East", "--json"))["ref"]
    run("case", "fire", ref, "book_visit")
    assert [e["by"] for e in items(run("case", "history", ref, "--json"))] == [CW, CW]
    # --by wins over CAREPATH_USER
    run("case", "fire", ref, "apply", "--set", "application_on=2026-11-02", "--by", TM)
    assert items(run("case", "history", ref, "--json"))[-1]["by"] == TM


# -- references and notes (issue 10, points 2 and 5) -------------------------------------------


def test_references_follow_the_pattern_and_are_found_in_any_case(run: Run, db_file: Path) -> None:
    staff(run)
    team = ("--team", "Fostering East", "--by", CW)
    assert run("case", "open", "sample", "--ref", "sm-2026-0002", *team).stdout.startswith("SM-2026-0002 opened")
    before = table_counts(db_file)
    for given, message in (
        ("Jane SMITH dob 2015-03-01", "error: the case reference must follow the pattern SM-YYYY-NNNN"),
        ("   ", "error: the case reference is empty; use the pattern SM-YYYY-NNNN (like SM-2026-0001)"),
        ("SM-2026-0002", "error: case reference 'SM-2026-0002' is already taken"),
    ):
        line = refused(run, "case", "open", "sample", "--ref", given, *team)
        assert line.startswith(message), line
        assert "Jane" not in line
        assert "2015" not in line
    assert table_counts(db_file) == before
    # the counter steps over the number given ahead of it
    opened = [as_json(run("case", "open", "sample", *team, "--json"))["ref"] for _ in range(2)]
    assert opened == ["SM-2026-0001", "SM-2026-0003"]
    # every lookup finds a case whatever the letter case
    assert as_json(run("case", "show", "sm-2026-0001", "--by", CW, "--json"))["ref"] == "SM-2026-0001"
    assert "SM-2026-0001 book_visit: now visit" in run("case", "fire", "sm-2026-0001", "book_visit", "--by", CW).stdout
    assert [e["trigger"] for e in items(run("case", "history", "Sm-2026-0001", "--by", CW, "--json"))] == [
        "open",
        "book_visit",
    ]
    assert as_json(run("case", "deadlines", "sm-2026-0001", "--by", CW, "--json"))
    assert "apply" in run("case", "actions", "sm-2026-0001", "--by", CW).stdout
    run("case", "hold", "sm-2026-0001", "--reason", "carer unwell", "--by", CW)
    assert "sm-2026-0001" not in run("case", "actions", "sm-2026-0001", "--by", CW).stdout
    assert refused(run, "case", "show", "sm-2026-9999", "--by", CW) == "error: no case with reference 'SM-2026-9999'"


def test_a_note_is_in_the_history_and_changes_nothing_else(run: Run, db_file: Path) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))["ref"]
    shown = as_json(run("case", "show", ref, "--by", CW, "--json"))
    deadlines = as_json(run("case", "deadlines", ref, "--by", CW, "--json"))
    before = table_counts(db_file)
    out = run(
        "case", "note", ref.lower(), "--text", "Phoned the applicant; visit booked", "--kind", "phone", "--by", CW
    )
    assert out.stdout.strip() == f"{ref} phone on 2026-11-02 by {CW} recorded as event 2"
    note = as_json(run("case", "note", ref, "--text", "Home visit", "--kind", "visit", "--by", TM, "--json"))
    assert (note["seq"], note["trigger"], note["effective_on"], note["by"], note["note"], note["payload"]) == (
        3, "note", "2026-11-02", TM, "Home visit", {"kind": "visit"}
    )  # fmt: skip
    # two events more, nothing else: no outbox row, no deadline, no timer, no audit entry
    after = table_counts(db_file)
    assert after == {**before, "case_event": before["case_event"] + 2}
    assert as_json(run("case", "show", ref, "--by", CW, "--json")) == {**shown, "last_seq": 3}
    assert as_json(run("case", "deadlines", ref, "--by", CW, "--json")) == deadlines
    history = items(run("case", "history", ref, "--by", CW, "--json"))
    assert [(e["trigger"], e["effective_on"], e["by"], e["payload"].get("kind"), e["note"]) for e in history[1:]] == [
        ("note", "2026-11-02", CW, "phone", "Phoned the applicant; visit booked"),
        ("note", "2026-11-02", TM, "visit", "Home visit"),
    ]
    table = run("case", "history", ref, "--by", CW).stdout
    assert re.search(r"3\s+2026-11-02\s+note\s+enquiry\s+tm@council.test .* kind=visit; \"Home visit\"", table), table
    # the case still moves, and a move is checked against its latest move, not the notes
    run("case", "fire", ref, "book_visit", "--by", CW)
    assert as_json(run("case", "show", ref, "--by", CW, "--json"))["version"] == 2


def test_users_and_teams(run: Run) -> None:
    staff(run)
    assert "added team Adoption (0 members)" in run("teams", "add", "Adoption", "--by", ADMIN).stdout
    assert "deactivated cw@council.test" in run("users", "deactivate", CW, "--by", ADMIN).stdout
    users = {u["email"]: u for u in items(run("users", "list", "--by", ADMIN, "--json"))}
    assert (users[CW]["active"], users[CW]["teams"]) == (False, ["Fostering East"])
    assert users[TM]["roles"] == ["caseworker", "team_manager"]
    assert users[ADMIN]["roles"] == ["admin"]
    assert [t["name"] for t in items(run("teams", "list", "--by", TM, "--json"))] == ["Adoption", "Fostering East"]
    table = run("users", "list", "--by", TM).stdout
    [row] = [line for line in table.splitlines() if line.startswith(CW)]
    assert row.split()[-1] == "False"


def test_deactivated_users_cannot_act(run: Run) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))["ref"]
    run("users", "deactivate", CW, "--by", ADMIN)
    assert refused(run, "case", "fire", ref, "book_visit", "--by", CW) == f"error: user '{CW}' is deactivated"
    assert "deactivated" in refused(run, "case", "open", "sample", "--by", CW)
    assert "deactivated" in refused(run, "case", "show", ref, "--by", CW)
    # their history stays attributed to them
    assert items(run("case", "history", ref, "--by", TM, "--json"))[0]["by"] == CW


# -- refusals ---------------------------------------------------------------------------------


def test_any_refusal_exits_2_with_one_line_and_writes_nothing(run: Run, db_file: Path) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))["ref"]
    run("users", "add", "gone@council.test", "--name", "Gone", "--role", "caseworker", "--by", ADMIN)
    run("users", "deactivate", "gone@council.test", "--by", ADMIN)
    before = table_counts(db_file)
    by_cw, by_tm, by_admin = ("--by", CW), ("--by", TM), ("--by", ADMIN)
    expected = {
        ("case", "fire", ref, "approve", *by_cw): "valid triggers: book_visit",
        ("case", "fire", ref, "teleport", *by_cw): "cannot 'teleport' from state 'enquiry'",
        ("case", "fire", ref, "book_visit", "--on", "2026-11-03", *by_cw): "2026-11-03 is in the future",
        ("case", "fire", ref, "book_visit", "--on", "2026-11-01", *by_cw): "before SM-2026-0001's latest event",
        ("case", "fire", ref, "book_visit", "--on", "yesterday", *by_cw): "--on 'yesterday' is not a date YYYY-MM-DD",
        ("case", "fire", ref, "book_visit", "--by", "who@council.test"): "no user 'who@council.test'",
        ("case", "fire", ref, "book_visit", "--by", "gone@council.test"): "'gone@council.test' is deactivated",
        ("case", "fire", ref, "book_visit", "--set", "novalue", *by_cw): "--set 'novalue' is not key=value",
        ("case", "fire", ref, "book_visit", "--expect-version", "7", *by_cw): (
            "expected version 7, it is now at version 1"
        ),
        ("case", "fire", "SM-2026-9999", "book_visit", *by_cw): "no case with reference 'SM-2026-9999'",
        ("case", "hold", ref, "--reason", " ", *by_cw): "a hold needs a reason",
        ("case", "resume", ref, *by_cw): "the case is not on hold",
        ("case", "withdraw", ref, "--reason", "BORED", *by_cw): "use one of: AW0, AW1, NOT_APPROVED",
        ("case", "close", ref, "--reason", "BORED", *by_cw): "unknown exit reason 'BORED'",
        ("case", "error", ref, "1", "--reason", "oops", *by_tm): "the opening event cannot be voided",
        ("case", "error", ref, "5", "--reason", "oops", *by_tm): "there is no event 5",
        ("case", "assign", ref, *by_tm): "needs a new owner or a new team",
        ("case", "assign", ref, "--owner", "who@council.test", *by_tm): "no user 'who@council.test'",
        ("case", "assign", ref, "--team", "Nowhere", *by_tm): "no team 'Nowhere'",
        ("case", "open", "nosuch", *by_cw): "unknown workflow 'nosuch'",
        ("case", "open", "sample", "--ref", ref, *by_cw): f"case reference '{ref}' is already taken",
        ("case", "show", "SM-2026-9999", *by_cw): "no case with reference 'SM-2026-9999'",
        ("workflows", "show", "nosuch"): "unknown workflow 'nosuch'",
        ("users", "add", "not-an-email", "--name", "X", "--role", "caseworker", *by_admin): "is not an email address",
        ("users", "add", "x@council.test", "--name", "X", "--role", "wizard", *by_admin): "unknown role(s) wizard",
        ("users", "add", CW, "--name", "X", "--role", "caseworker", *by_admin): "already exists",
        ("users", "deactivate", "who@council.test", *by_admin): "no user 'who@council.test'",
        ("teams", "add", "Fostering East", *by_admin): "a team called 'Fostering East' already exists",
        ("teams", "add", "West", "--member", "who@council.test", *by_admin): "no user 'who@council.test'",
    }
    for args, words in expected.items():
        line = refused(run, *args)
        assert words in line, (args, line)
        assert table_counts(db_file) == before, f"{args} wrote something"


def test_a_guard_and_a_role_refusal_name_what_is_missing(run: Run, db_file: Path) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))["ref"]
    run("case", "fire", ref, "book_visit", "--by", CW)
    assert refused(run, "case", "fire", ref, "apply", "--by", CW) == (
        f"error: {ref}: cannot 'apply' from state 'visit': missing fact(s) application_on"
    )
    run("case", "fire", ref, "apply", "--set", "application_on=2026-11-02", "--by", CW)
    before = table_counts(db_file)
    assert refused(run, "case", "fire", ref, "book_panel", "--by", ADM) == (
        f"error: {ADM} may not book_panel on {ref}: needs role caseworker or team_manager or panel_coordinator"
    )
    assert refused(run, "case", "fire", ref, "book_panel", "--by", CW).endswith(
        "not ready for panel; missing: report_authorised_on"
    )
    assert table_counts(db_file) == before


# -- the front door: who may act, and on what --------------------------------------------------


def test_nobody_named_is_refused_and_nothing_is_written(run: Run, db_file: Path) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))["ref"]
    before = table_counts(db_file)
    commands = [
        ("case", "open", "sample"),
        ("case", "fire", ref, "book_visit"),
        ("case", "hold", ref, "--reason", "carer unwell"),
        ("case", "close", ref, "--reason", "AW0"),
        ("case", "assign", ref, "--owner", TM),
        ("case", "show", ref),
        ("case", "history", ref),
        ("case", "actions", ref),
        ("case", "list"),
        ("case", "deadlines", ref),
        ("deadlines", "due"),
        ("users", "add", "new@council.test", "--name", "New", "--role", "caseworker"),
        ("users", "add", "boss@council.test", "--name", "Boss", "--role", "admin"),
        ("users", "deactivate", CW),
        ("users", "list"),
        ("teams", "add", "West"),
        ("teams", "list"),
        ("calendar", "override", "add", "2026-11-04", "--reason", "Office move"),
        ("calendar", "override", "list"),
        ("panels", "add", "2026-11-10", "--type", "fostering"),
        ("panels", "list"),
        ("mail", "list"),
        ("mail", "outbox"),
        ("mail", "retry", "1"),
    ]
    for args in commands:
        line = refused(run, *args)
        assert "(nobody) may not" in line, (args, line)
        assert table_counts(db_file) == before, f"{args} wrote something"


def test_the_first_user_needs_no_actor_but_must_be_an_administrator(run: Run, db_file: Path) -> None:
    before = table_counts(db_file)
    line = refused(run, "users", "add", CW, "--name", "Cee Worker", "--role", "caseworker")
    assert line == "error: (nobody) may not user.add: the first user must hold the admin role"
    assert table_counts(db_file) == before
    assert run("users", "add", ADMIN, "--name", "Ada Admin", "--role", "admin").stdout.strip() == (
        f"added {ADMIN} (admin)"
    )
    # after that, nobody adds nobody: not even another administrator
    again = refused(run, "users", "add", "boss@council.test", "--name", "Boss", "--role", "admin")
    assert again.startswith("error: (nobody) may not user.add: name the user who acts"), again
    assert run("users", "add", CW, "--name", "Cee Worker", "--role", "caseworker", "--by", ADMIN).stdout.strip() == (
        f"added {CW} (caseworker)"
    )


def test_only_administrators_manage_people_and_the_calendar(run: Run, db_file: Path) -> None:
    staff(run)
    before = table_counts(db_file)
    refusals = {
        ("users", "add", "boss@council.test", "--name", "Boss", "--role", "admin", "--by", CW): (
            f"error: {CW} may not user.add: needs role admin"
        ),
        ("users", "add", "new@council.test", "--name", "New", "--role", "caseworker", "--by", TM): (
            f"error: {TM} may not user.add: needs role admin"
        ),
        ("users", "deactivate", TM, "--by", CW): f"error: {CW} may not user.deactivate: needs role admin",
        ("teams", "add", "West", "--by", TM): f"error: {TM} may not team.add: needs role admin",
        ("calendar", "override", "add", "2026-11-04", "--reason", "Office move", "--by", CW): (
            f"error: {CW} may not calendar.change: needs role admin"
        ),
        ("panels", "add", "2026-11-10", "--type", "fostering", "--by", CW): (
            f"error: {CW} may not panel.add: needs role panel_coordinator"
        ),
        ("users", "list", "--by", CW): (
            f"error: {CW} may not user.read: needs role team_manager or service_manager or admin"
        ),
    }
    for args, message in refusals.items():
        assert refused(run, *args) == message, args
        assert table_counts(db_file) == before, f"{args} wrote something"
    # the administrator may
    closed = run("calendar", "override", "add", "2026-11-04", "--reason", "Office move", "--by", ADMIN)
    assert closed.stdout.strip() == "2026-11-04 is now a closure: Office move"
    assert "deactivated" in run("users", "deactivate", ADM, "--by", ADMIN).stdout


def test_an_administrator_sees_no_case_data(run: Run, db_file: Path) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))["ref"]
    before = table_counts(db_file)
    reason = "administrators manage the system, not case records"
    assert refused(run, "case", "show", ref, "--by", ADMIN) == f"error: {ADMIN} may not case.read: {reason}"
    for args in [
        ("case", "history", ref),
        ("case", "actions", ref),
        ("case", "deadlines", ref),
        ("case", "list"),
        ("deadlines", "due"),
        ("case", "open", "sample"),
        ("case", "fire", ref, "book_visit"),
    ]:
        assert reason in refused(run, *args, "--by", ADMIN), args
    assert table_counts(db_file) == before


def test_a_caseworker_may_not_void_an_event(run: Run, db_file: Path) -> None:
    staff(run)
    ref = as_json(run("case", "open", "sample", "--by", TM, "--team", "Fostering East", "--json"))["ref"]
    run("case", "fire", ref, "book_visit", "--by", TM)
    before = table_counts(db_file)
    assert refused(run, "case", "error", ref, "2", "--reason", "not my visit", "--by", CW) == (
        f"error: {CW} may not case.void: needs role team_manager or service_manager"
    )
    assert table_counts(db_file) == before
    assert "event 2 voided" in run("case", "error", ref, "2", "--reason", "wrong case", "--by", TM).stdout


def test_a_caseworker_sees_only_their_own_and_their_teams_cases(run: Run, db_file: Path) -> None:
    staff(run)
    other = "ow@council.test"
    run("users", "add", other, "--name", "Oh Worker", "--role", "caseworker", "--by", ADMIN)
    run("teams", "add", "Adoption West", "--member", other, "--by", ADMIN)
    mine = as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))["ref"]
    colleague = as_json(run("case", "open", "sample", "--by", TM, "--team", "Fostering East", "--json"))["ref"]
    theirs = as_json(run("case", "open", "sample", "--by", other, "--team", "Adoption West", "--json"))["ref"]

    assert sorted(c["ref"] for c in items(run("case", "list", "--by", CW, "--json"))) == [mine, colleague]
    assert [c["ref"] for c in items(run("case", "list", "--by", other, "--json"))] == [theirs]
    assert [r["ref"] for r in items(run("deadlines", "due", "--by", other, "--json"))] == [theirs]
    assert theirs not in {r["ref"] for r in items(run("deadlines", "due", "--by", CW, "--json"))}
    # the decider's scope is the whole service
    assert len(items(run("case", "list", "--by", ADM, "--json"))) == 3

    before = table_counts(db_file)
    outside = "the case is neither theirs nor in one of their teams"
    assert refused(run, "case", "show", theirs, "--by", CW) == f"error: {CW} may not case.read: {outside}"
    assert outside in refused(run, "case", "fire", theirs, "book_visit", "--by", CW)
    assert outside in refused(run, "case", "history", theirs, "--by", CW)
    assert table_counts(db_file) == before


def test_the_system_user_acts_only_for_the_scheduler(run: Run, db_file: Path) -> None:
    staff(run)
    before = table_counts(db_file)
    line = refused(run, "case", "open", "sample", "--by", "system@carepath.invalid")
    assert line.endswith("the system user acts only for the scheduler"), line
    assert table_counts(db_file) == before
    assert run("sweep", "--json").exit_code == 0  # the scheduler's work needs nobody named


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


def test_list_commands_page_with_limit_and_after(run: Run) -> None:
    staff(run)
    refs = [
        as_json(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))["ref"]
        for _ in range(3)
    ]
    first = as_json(run("case", "list", "--limit", "2", "--by", CW, "--json"))
    assert ([c["ref"] for c in first["items"]], first["total"]) == (refs[:0:-1], 3)
    assert first["next"] is not None
    rest = as_json(run("case", "list", "--limit", "2", "--after", first["next"], "--by", CW, "--json"))
    assert ([c["ref"] for c in rest["items"]], rest["total"], rest["next"]) == ([refs[0]], 3, None)
    # a table ends with how much it shows and how to go on
    out = run("case", "list", "--limit", "2", "--by", CW).stdout
    assert out.splitlines()[-1] == f"showing 2 of 3; next: --after {first['next']}"
    assert run("case", "list", "--by", CW).stdout.splitlines()[-1] == "showing 3 of 3"
    due = as_json(run("deadlines", "due", "--limit", "1", "--by", CW, "--json"))
    assert (len(due["items"]), due["total"]) == (1, 3)
    again = as_json(run("deadlines", "due", "--limit", "1", "--after", due["next"], "--by", CW, "--json"))
    assert again["items"][0]["ref"] != due["items"][0]["ref"]
    users = run("users", "list", "--limit", "3", "--by", ADMIN).stdout.splitlines()[-1]
    assert users == f"showing 3 of 4; next: --after {CW}"
    history = as_json(run("case", "history", refs[0], "--limit", "1", "--after", "1", "--by", CW, "--json"))
    assert (history["items"], history["total"], history["next"]) == ([], 1, None)
    assert "is not one this list gave" in refused(run, "case", "list", "--after", "nope", "--by", CW)


def test_the_console_command_reports_a_misused_option_in_one_line(
    run: Run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``carepath`` as installed (``entrypoints.common.main``): a bad value is one ``error:`` line, exit 2."""
    from carepath.entrypoints import common

    for argv, line in (
        (["case", "list", "--limit", "abc"], "error: Invalid value for '--limit'"),
        (["case", "list", "--limit", "0"], "error: Invalid value for '--limit'"),
        (["case", "fire"], "error: Missing argument 'ref'."),
        (["case", "nosuch"], "error: No such command 'nosuch'."),
    ):
        common.reset_app()
        monkeypatch.setattr("sys.argv", ["carepath", *argv])
        with pytest.raises(SystemExit) as ended:
            common.main()
        out, err = capsys.readouterr()
        assert ended.value.code == 2, argv
        assert err.count("\n") == 1, (argv, err)
        assert err.startswith(line), (argv, err)
        assert out == "", argv


def test_names_emails_and_reasons_are_one_bounded_line(run: Run, db_file: Path) -> None:
    run("users", "add", "ada@council.test", "--name", "Ada", "--role", "admin")
    before = table_counts(db_file)
    for args, message in (
        (
            ["users", "add", "x@council.test", "--name", "Ann\nEve", "--role", "caseworker"],
            "the display name must be one line",
        ),
        (
            ["users", "add", "x@council.test", "--name", "N" * 201, "--role", "caseworker"],
            "the display name is longer than 200",
        ),
        (
            ["users", "add", "x@council.test\r\nBcc: y@evil.test", "--name", "X", "--role", "caseworker"],
            "email must be one line",
        ),
        (["teams", "add", "T\x07eam"], "the team name must be one line"),
        (["calendar", "override", "add", "2026-12-24", "--reason", "a\tb"], "the reason must be one line"),
    ):
        line = refused(run, *args, "--by", "ada@council.test")
        assert message in line, (args, line)
        for typed in ("Eve", "evil", "NNNN"):
            assert typed not in line, line  # the refusal never echoes what was typed
    for by, message in (("sam@council.test\r\nX: y", "must be one line"), ("a" * 400 + "@x.test", "longer than 320")):
        line = refused(run, "case", "list", "--by", by)
        assert message in line, line
    assert table_counts(db_file) == before
