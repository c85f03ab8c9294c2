"""Hard input edges (issue 10, point 9): every bad input, setting or workflow file is one ``error:``
line and exit code 2, never a traceback, and writes nothing, on a SQLite file and on PostgreSQL.

Most commands run in-process through the console entry point (``entrypoints.common.main``, the
same code as the installed ``carepath``: click's usage errors become one line there too); a few
run as real ``carepath`` processes, for what only a process has: argv bytes that are not UTF-8,
settings read at start-up, and the mail catcher's port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from carepath.entrypoints import common
from tests.conftest import FIXTURES, drop_pg, fresh_pg_url

CAREPATH = Path(sys.executable).with_name("carepath")
NOW = "2026-11-02T09:00:00+00:00"
ADMIN, CW, TM = "admin@council.test", "cw@council.test", "tm@council.test"
BY_CW, BY_ADMIN = ("--by", CW), ("--by", ADMIN)
REF = "SM-2026-0001"
OPEN = ("case", "open", "sample", "--team", "East", *BY_CW)
#: What Python makes of argv bytes that are not UTF-8 (``b"\xff\xfe"``): lone surrogates.
NOT_UTF8 = os.fsdecode(b"bad \xff\xfe bytes")

Outcome = tuple[int, str, str]
Cli = Callable[..., Outcome]


def _invoke(args: Sequence[str], capsys: pytest.CaptureFixture[str], *, fresh: bool = True) -> Outcome:
    """One in-process ``carepath ARGS``: (exit code, stdout, stderr); a traceback fails the test.

    ``fresh``: wire the app anew from the environment (as a new process would); otherwise reuse the
    one the last invocation wired (the environment has not changed, and a refusal changes nothing).
    """
    if fresh:
        common.reset_app()
    capsys.readouterr()
    argv = sys.argv
    sys.argv = ["carepath", *args]
    try:
        with pytest.raises(SystemExit) as ended:
            common.main()
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    code = ended.value.code
    return code if isinstance(code, int) else 1, out, err


def one_error(outcome: Outcome, args: Sequence[Any] = ()) -> str:
    """The single ``error:`` line of a refusal (exit 2, nothing on stdout, no traceback)."""
    code, out, err = outcome
    lines = err.splitlines()
    assert code == 2, (args, code, out, err)
    assert "Traceback" not in err, (args, err)
    assert len(lines) == 1, (args, err)
    assert lines[0].startswith("error: "), (args, err)
    assert out == "", (args, out)
    return lines[0]


def table_counts(url: str) -> dict[str, int]:
    """Rows in every table of the database: a refusal must change none of them."""
    from sqlalchemy import create_engine, func, inspect, select, table

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {n: conn.execute(select(func.count()).select_from(table(n))).scalar_one() for n in names}
    finally:
        engine.dispose()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``CAREPATH_*`` environment of a person using carepath on ``db_url`` (migrated, empty)."""
    for name in [n for n in os.environ if n.startswith("CAREPATH_") and n != "CAREPATH_TEST_PG_URL"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CAREPATH_DATABASE_URL", db_url)
    monkeypatch.setenv("CAREPATH_WORKFLOWS_DIR", str(FIXTURES))
    monkeypatch.setenv("CAREPATH_FAKE_NOW", NOW)
    monkeypatch.setattr(common, "CLOCK_FACTORY", None)
    return db_url


@pytest.fixture
def cli(env: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """``cli(*args)``: one in-process invocation (``fresh=False``: on the app the last one wired)."""
    common.reset_app()
    yield lambda *args, fresh=True: _invoke([str(a) for a in args], capsys, fresh=fresh)
    common.reset_app()


def ok(cli: Cli, *args: str) -> str:
    code, out, err = cli(*args)
    assert code == 0, (args, out, err)
    return out


def seed(cli: Cli) -> None:
    """An administrator, a caseworker and a manager in team East, and one case, SM-2026-0001, in enquiry."""
    ok(cli, "users", "add", ADMIN, "--name", "Ada Admin", "--role", "admin")
    ok(cli, "users", "add", CW, "--name", "Cee Worker", "--role", "caseworker", *BY_ADMIN)
    ok(cli, "users", "add", TM, "--name", "Tee Manager", "--role", "team_manager", *BY_ADMIN)
    ok(cli, "teams", "add", "East", "--manager", TM, "--member", CW, "--member", TM, *BY_ADMIN)
    assert ok(cli, *OPEN).startswith(f"{REF} opened")


#: (arguments, a fragment the one error line must hold). Every one must be refused with nothing written.
BAD_INPUTS: list[tuple[tuple[str, ...], str]] = [
    # fact values: NaN and Infinity, NUL and control characters, bytes that are not UTF-8, sizes, dates
    ((*OPEN, "--set", "n=[NaN, Infinity]"), "fact 'n' is not a finite number"),
    ((*OPEN, "--set", "n=NaN"), "not a finite number"),
    ((*OPEN, "--set", 'n={"a": -Infinity}'), "not a finite number"),
    ((*OPEN, "--set", "n=[1e999]"), "not a finite number"),
    ((*OPEN, "--set", "n=9007199254740993"), "too large to keep exactly"),
    ((*OPEN, "--set", 'n=["a\\u0000b"]'), "fact 'n' must be one line without control characters"),
    ((*OPEN, "--set", "n=a\x00b"), "fact 'n' must be one line without control characters"),
    ((*OPEN, "--set", "n=line\r\nInjected: yes"), "must be one line"),
    ((*OPEN, "--set", "a\x00b=1"), "a fact name must be letters, digits and _"),
    ((*OPEN, "--set", "not a name=1"), "a fact name must be letters, digits and _"),
    ((*OPEN, "--set", "=1"), "is not key=value"),
    ((*OPEN, "--set", f"n={NOT_UTF8}"), "fact 'n' is not valid UTF-8 text"),
    ((*OPEN, "--set", "n=" + "x" * 120_000), "longer than 20,000 characters"),
    ((*OPEN, "--set", "n=" + "x" * 1_001), "fact 'n' is longer than 1000 characters"),
    ((*OPEN, "--set", "n=" + "[" * 5_000), "longer than 1000"),
    ((*OPEN, "--set", "n=[[[[[1]]]]]"), "nests lists or objects more than 4 deep"),
    ((*OPEN, "--set", "application_on=2026-02-30"), "is not a real date"),
    ((*OPEN, "--set", "application_on=0001-01-01"), "is before 1900-01-01"),
    # notes and reasons
    ((*OPEN, "--note", "a\x00b"), "the note holds control characters"),
    ((*OPEN, "--note", NOT_UTF8), "the note is not valid UTF-8 text"),
    ((*OPEN, "--note", "x" * 120_000), "the note is longer than 4000 characters"),
    (("case", "hold", REF, "--reason", "a\x00b", *BY_CW), "the reason holds control characters"),
    (("case", "hold", REF, "--reason", "x" * 100_000, *BY_CW), "the reason is longer than 4000"),
    (("case", "error", REF, "1", "--reason", "a\x00b", "--by", TM), "the reason holds control characters"),
    (("case", "withdraw", REF, "--reason", "A\x00" + "B" * 5000, *BY_CW), "unknown exit reason"),
    # references
    ((*OPEN, "--ref", "R" * 41), "the case reference is longer than 40 characters"),
    ((*OPEN, "--ref", "R" * 120_000), "the case reference is longer than 40 characters"),
    ((*OPEN, "--ref", "   "), "the case reference is empty"),
    ((*OPEN, "--ref", "FC-1\r\nBcc: x@evil.test"), "the case reference must be one line"),
    ((*OPEN, "--ref", "Jane SMITH dob 2015-03-01"), "the case reference must follow the pattern SM-YYYY-NNNN"),
    ((*OPEN, "--ref", "FC-2026-0002"), "must follow the pattern SM-YYYY-NNNN (like SM-2026-0001)"),
    ((*OPEN, "--ref", "SM-2026-12"), "must follow the pattern SM-YYYY-NNNN"),
    ((*OPEN, "--ref", "SM-3026-0002"), "the case reference's year must be from 1900 to 2026"),
    ((*OPEN, "--ref", "SM-2026-0000"), "the case reference's number must be 1 or more"),
    ((*OPEN, "--ref", "sm-2026-0001"), "case reference 'SM-2026-0001' is already taken"),
    (("case", "show", "sm-2026-0002", *BY_CW), "no case with reference 'SM-2026-0002'"),
    # notes and contacts
    (("case", "note", REF, "--text", "   ", *BY_CW), "a note needs text"),
    (("case", "note", REF, "--text", "x" * 100_000, *BY_CW), "the note is longer than 4000 characters"),
    (("case", "note", REF, "--text", "a\x00b", *BY_CW), "the note holds control characters"),
    (("case", "note", REF, "--text", NOT_UTF8, *BY_CW), "the note is not valid UTF-8 text"),
    (("case", "note", REF, "--text", "x", "--kind", "visti", *BY_CW), "did you mean 'visit'?"),
    (("case", "note", REF, "--text", "x", "--kind", "k" * 100_000, *BY_CW), "unknown kind of note"),
    (("case", "note", REF, "--text", "x", "--on", "2026-11-03", *BY_CW), "is in the future"),
    (("case", "note", REF, "--text", "x", "--on", "2026-11-01", *BY_CW), "before SM-2026-0001 was opened"),
    (("case", "note", REF, "--text", "x", "--on", "0001-01-01", *BY_CW), "is before 1900-01-01"),
    (("case", "note", REF, "--text", "x", *BY_ADMIN), "administrators manage the system, not case records"),
    (("case", "note", REF, "--text", "x", "--expect-version", "2", *BY_CW), "SM-2026-0001"),
    (("case", "note", "sm-2026-0002", "--text", "x", *BY_CW), "no case with reference 'SM-2026-0002'"),
    (("case", "note", REF, *BY_CW), "Missing option '--text'"),
    (("case", "show", "SM\x00", *BY_CW), "no case with reference"),
    (("case", "show", "x" * 100_000, *BY_CW), "no case with reference"),
    (("case", "fire", f"{REF}\x00", "book_visit", *BY_CW), "no case with reference"),
    (("case", "show", NOT_UTF8, *BY_CW), "no case with reference"),
    # emails and names
    (
        ("users", "add", "a" * 310 + "@council.test", "--name", "X", "--role", "caseworker", *BY_ADMIN),
        "longer than 320",
    ),
    (
        ("users", "add", "c@council.test, leak@evil.test", "--name", "X", "--role", "caseworker", *BY_ADMIN),
        "not an email",
    ),
    (
        ("users", "add", "crlf@council.test\r\nBcc: leak@evil.test", "--name", "X", "--role", "caseworker", *BY_ADMIN),
        "one line",
    ),
    (("users", "add", "<x@council.test>", "--name", "X", "--role", "caseworker", *BY_ADMIN), "not an email"),
    (("users", "add", f"{NOT_UTF8}@council.test", "--name", "X", "--role", "caseworker", *BY_ADMIN), "not valid UTF-8"),
    (("users", "add", "n@council.test", "--name", NOT_UTF8, "--role", "caseworker", *BY_ADMIN), "not valid UTF-8"),
    (("users", "add", "n@council.test", "--name", "N", "--role", "x" * 10_000, *BY_ADMIN), "unknown role(s)"),
    (("users", "deactivate", "a\x00b@council.test", *BY_ADMIN), "must be one line"),
    (("case", "list", "--by", "a" * 400 + "@council.test"), "longer than 320"),
    (("case", "list", "--owner", "a\x00b@council.test", *BY_CW), "error: "),
    (("case", "list", "--team", "a\x00b", *BY_CW), "error: "),
    # teams
    (("teams", "add", "Dup", "--member", CW, "--member", CW, *BY_ADMIN), "named more than once"),
    (("teams", "add", "Dup", "--member", CW, "--member", CW.upper(), *BY_ADMIN), "named more than once"),
    # numbers: limits, ids, versions
    (("case", "list", "--limit", "-1", *BY_CW), "Invalid value for '--limit'"),
    (("case", "list", "--limit", "0", *BY_CW), "Invalid value for '--limit'"),
    (("case", "list", "--limit", "100000", *BY_CW), "Invalid value for '--limit'"),
    (("case", "list", "--limit", "abc", *BY_CW), "Invalid value for '--limit'"),
    (("mail", "show", "99999999999999999999", *BY_ADMIN), "Invalid value for 'ID'"),
    (("mail", "show", "0", *BY_ADMIN), "Invalid value for 'ID'"),
    (("mail", "retry", "99999999999999999999", *BY_ADMIN), "Invalid value for 'ID'"),
    (("case", "error", REF, "99999999999999999999", "--reason", "x", "--by", TM), "Invalid value for 'seq'"),
    (("case", "fire", REF, "book_visit", "--expect-version", "99999999999999999999", *BY_CW), "--expect-version"),
    (("case", "history", REF, "--after", "99999999999999999999", *BY_CW), "is not one this list gave"),
    (("case", "list", "--after", "x" * 100_000, *BY_CW), "the cursor (--after) is longer than 400"),
    (("case", "list", "--after", "a\x00b", *BY_CW), "the cursor (--after) must be one line"),
    (("users", "list", "--after", "a\x00b", *BY_ADMIN), "the cursor (--after) must be one line"),
    # choices
    (("case", "list", "--state", "ready_for_pannel", *BY_CW), "unknown --state: use one of approved, assessment"),
    (("case", "list", "--state", "vist", *BY_CW), "unknown --state: did you mean 'visit'?"),
    (("case", "list", "--status", "bogus", *BY_CW), "unknown --status: use one of closed, on_hold, open"),
    (("case", "list", "--status", "opne", *BY_CW), "did you mean 'open'?"),
    (("case", "list", "--workflow", "sampel", *BY_CW), "unknown --workflow: did you mean 'sample'?"),
    (("mail", "outbox", "--status", "bogus", *BY_ADMIN), "unknown --status: use one of dead, pending, sent"),
    (("panels", "list", "--type", "circus", *BY_ADMIN), "panel type"),
    (("workflows", "show", "a\x00b"), "unknown workflow"),
    # huge values are named, never echoed whole
    (("workflows", "show", "w" * 100_000), "unknown workflow 'www"),
    (("case", "open", "w" * 100_000, *BY_CW), "unknown workflow 'www"),
    (("case", "fire", REF, "t" * 100_000, *BY_CW), "cannot 'ttt"),
    (("calendar", "due", "2026-01-01", "9" * 100_000), "limit '999"),
    (("calendar", "due", "2026-01-01", "5 working days", "--counting", "c" * 100_000), "--counting 'ccc"),
    (("deadlines", "due", "--within", "w" * 100_000, *BY_CW), "limit 'www"),
    (("panels", "list", "--type", "p" * 100_000, *BY_ADMIN), "panel type 'ppp"),
    (("case", "list", "--limit", "9" * 100_000, *BY_CW), "Invalid value for '--limit'"),
    (("workflows", "validate", "v" * 100_000), "error: vvv"),
    # dates in a sane range
    ((*OPEN, "--on", "0001-01-01"), "--on 0001-01-01 is before 1900-01-01"),
    ((*OPEN, "--on", "1899-12-31"), "is before 1900-01-01"),
    ((*OPEN, "--on", "2999-01-01"), "is after 2100-12-31"),
    ((*OPEN, "--on", "2027-01-01"), "is in the future"),
    ((*OPEN, "--on", "01/02/2026"), "is not a date YYYY-MM-DD"),
    (("calendar", "override", "add", "0001-01-01", "--reason", "x", *BY_ADMIN), "is before 1900-01-01"),
    (("calendar", "override", "add", "9999-12-31", "--reason", "x", *BY_ADMIN), "is after 2100-12-31"),
    (("panels", "add", "0001-01-01", "--type", "fostering", *BY_ADMIN), "is before 1900-01-01"),
    (("calendar", "due", "9999-12-30", "40 working days"), "is after 2100-12-31"),
    (("deadlines", "due", "--as-of", "0001-01-01", *BY_CW), "is before 1900-01-01"),
    (("sweep", "--as-of", "0001-01-01"), "--as-of 0001-01-01 is before 1900-01-01"),
    (("sweep", "--as-of", "yesterday"), "is not a date or ISO date-time"),
]


def test_every_bad_input_is_one_line_exit_2_and_writes_nothing(cli: Cli, env: str) -> None:
    seed(cli)
    before = table_counts(env)
    for args, fragment in BAD_INPUTS:
        line = one_error(cli(*args, fresh=False), args[:4])
        assert fragment in line, (args[:6], line)
        assert len(line) < 400, line  # never the whole of a huge value
        assert "\x00" not in line, line
        assert "\r" not in line, line
    assert table_counts(env) == before
    # and what was refused left the case as it was
    shown = json.loads(ok(cli, "case", "show", REF, "--json", *BY_CW))
    assert (shown["state"], shown["version"], shown["facts"]) == ("enquiry", 1, {})


def _strict(text: str) -> Any:
    """JSON as a strict reader takes it: NaN and Infinity are not JSON."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_always_valid_json(cli: Cli, env: str) -> None:
    seed(cli)
    ok(cli, "case", "fire", REF, "book_visit", "--set", 'visit={"score": 2.5, "n": [1, -3]}', *BY_CW)
    shown = _strict(ok(cli, "case", "show", REF, "--json", *BY_CW))
    assert shown["facts"] == {"visit": {"score": 2.5, "n": [1, -3]}}
    _strict(ok(cli, "case", "history", REF, "--json", *BY_CW))
    if env.startswith("sqlite"):
        # A non-finite number stored before carepath refused them still prints as valid JSON.
        from sqlalchemy import create_engine, text

        engine = create_engine(env)
        with engine.begin() as conn:
            conn.execute(text("""UPDATE "case" SET facts = '{"n": NaN, "m": [Infinity, -Infinity]}'"""))
        engine.dispose()
        legacy = _strict(ok(cli, "case", "show", REF, "--json", *BY_CW))
        assert legacy["facts"] == {"n": "NaN", "m": ["Infinity", "-Infinity"]}


#: (variable, value, a fragment of the one error line): each bad setting alone.
BAD_SETTINGS: list[tuple[str, str, str]] = [
    ("CAREPATH_FAKE_NOW", "yesterday", "bad setting CAREPATH_FAKE_NOW: use an ISO date-time"),
    ("CAREPATH_FAKE_NOW", "0001-01-01T00:00:00", "CAREPATH_FAKE_NOW 0001-01-01 is before 1900-01-01"),
    ("CAREPATH_CALENDAR_SUBDIV", "XX", "bad setting CAREPATH_CALENDAR_SUBDIV: Input should be 'ENG', 'WLS'"),
    ("CAREPATH_DATABASE_URL", "bogus", "bad setting CAREPATH_DATABASE_URL: use sqlite:///FILE or postgresql://"),
    ("CAREPATH_DATABASE_URL", "mysql://root@localhost/db", "bad setting CAREPATH_DATABASE_URL"),
    ("CAREPATH_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none", "cannot connect to the database"),
    ("CAREPATH_DATABASE_URL", "sqlite:////nonexistent/folder/x.db", "cannot open the SQLite database file"),
    ("CAREPATH_SMTP__PORT", "abc", "bad setting CAREPATH_SMTP__PORT: Input should be a valid integer"),
    ("CAREPATH_SMTP__PORT", "70000", "bad setting CAREPATH_SMTP__PORT: Input should be less than or equal to 65535"),
    ("CAREPATH_SMTP__SECURITY", "bogus", "bad setting CAREPATH_SMTP__SECURITY"),
    ("CAREPATH_SMTP__SENDER", "Carepath <x@council.example>", "bad setting CAREPATH_SMTP__SENDER: not one plain"),
    ("CAREPATH_SMTP__SENDER", "a@x.example, b@evil.example", "bad setting CAREPATH_SMTP__SENDER: not one plain"),
    ("CAREPATH_CATCHER__PORT", "abc", "bad setting CAREPATH_CATCHER__PORT"),
    ("CAREPATH_DIGEST_TIME", "25:99", "bad setting CAREPATH_DIGEST_TIME"),
    ("CAREPATH_CONVENTIONS", "{bad", "bad setting CAREPATH_CONVENTIONS: not valid JSON"),
    ("CAREPATH_SWEEP_INTERVAL_SECONDS", "-1", "bad setting CAREPATH_SWEEP_INTERVAL_SECONDS"),
    ("CAREPATH_TIMER_LEASE_SECONDS", "abc", "bad setting CAREPATH_TIMER_LEASE_SECONDS"),
    ("CAREPATH_MAIL_MAX_ATTEMPTS", "0", "bad setting CAREPATH_MAIL_MAX_ATTEMPTS"),
    ("CAREPATH_SINGLE_BREACH_EMAILS", "maybe", "bad setting CAREPATH_SINGLE_BREACH_EMAILS"),
    ("CAREPATH_BASE_URL", "javascript:alert(1)", "bad setting CAREPATH_BASE_URL: use an http:// or https://"),
    ("CAREPATH_WORKFLOWS_DIR", "/nonexistent/journeys", "bad setting CAREPATH_WORKFLOWS_DIR"),
    ("CAREPATH_USER", "sam@council.test\r\nX: y", "must be one line"),
]


def test_every_bad_setting_is_one_line_and_exit_2(cli: Cli, env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(cli)
    before = table_counts(env)
    for name, value, fragment in BAD_SETTINGS:
        with monkeypatch.context() as m:
            m.setenv(name, value)
            args = ("case", "list") if name == "CAREPATH_USER" else ("case", "list", *BY_CW)
            line = one_error(cli(*args), (name, value))
            assert fragment in line, (name, line)
            assert "javascript" not in line, line  # the value is never echoed
            assert "\r" not in line, line
    assert table_counts(env) == before


def test_an_unmigrated_database_says_run_db_upgrade(
    env: str, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}" if env.startswith("sqlite") else fresh_pg_url()
    try:
        monkeypatch.setenv("CAREPATH_DATABASE_URL", empty)
        for args in (
            ("case", "list", *BY_CW),
            ("users", "add", ADMIN, "--name", "Ada", "--role", "admin"),
            ("case", "show", REF, *BY_CW),
        ):
            line = one_error(cli(*args), args)
            assert line == "error: the database is not migrated (no carepath tables): run carepath db upgrade", line
        assert ok(cli, "db", "current").strip() == "(not migrated; run carepath db upgrade)"
    finally:
        if not env.startswith("sqlite"):
            drop_pg(empty)


# -- workflow files -----------------------------------------------------------------------------

SAMPLE = (FIXTURES / "sample.v1.yaml").read_text(encoding="utf-8")


def _journey(name: str, old: str = "", new: str = "") -> str:
    text = SAMPLE.replace("id: sample", f"id: {name}")
    assert not old or old in text
    return text.replace(old, new) if old else text


def _laughs() -> str:
    """The "billion laughs": nine levels of nine aliases (387 million strings once expanded) inside ``meta``."""
    rows = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join("      " + r for r in rows)


ENQUIRY = "  enquiry: {label: Enquiry}"
PANEL = "  panel: {label: Panel booked}"
#: file name -> (content, a fragment of its error line)
BROKEN: dict[str, tuple[str | bytes, str]] = {
    "laughs.v1.yaml": (
        _journey("laughs", ENQUIRY, "  enquiry:\n    label: Enquiry\n    meta:\n" + _laughs()),
        "expands to more than 100,000 values",
    ),
    "deep.v1.yaml": (
        _journey("deep", ENQUIRY, "  enquiry: {label: Enquiry, meta: {x: " + "[" * 5000 + "]" * 5000 + "}}"),
        "nests deeper than 40 levels",
    ),
    "selfref.v1.yaml": (_journey("selfref", ENQUIRY, "  enquiry: {label: Enquiry, meta: {x: &r [1, *r]}}"), "deeper"),
    "latin1.v1.yaml": (_journey("latin1", "Sample assessment", "Sample \xe9valuation").encode("latin-1"), "UTF-8"),
    "nul.v1.yaml": (_journey("nul", "Sample assessment", "Sample \x00"), "character #x0000 is not allowed"),
    "big.v1.yaml": (_journey("big") + "# " + "x" * 1_100_000 + "\n", "file is larger than 1,000,000 bytes"),
    "roles.v1.yaml": (
        _journey("roles", PANEL, "  panel: {label: Panel booked, meta: {notice: ready_for_panel, notify: [wizard]}}"),
        "notify names unknown role 'wizard'",
    ),
    "notpl.v1.yaml": (
        _journey("notpl", PANEL, "  panel: {label: Panel booked, meta: {notice: no_such_notice}}"),
        "notice 'no_such_notice' has no templates",
    ),
    "paneltype.v1.yaml": (
        _journey("paneltype", PANEL, "  panel: {label: Panel booked, meta: {notice: ready_for_panel, panel_type: x}}"),
        "panel_type 'x' is not one of",
    ),
}


@pytest.fixture
def broken_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "journeys"
    folder.mkdir()
    for name, (content, _) in BROKEN.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    return folder


def test_validate_names_each_broken_file_and_its_fault(cli: Cli, broken_dir: Path) -> None:
    for name, (_, fragment) in BROKEN.items():
        path = broken_dir / name
        line = one_error(cli("workflows", "validate", str(path)), (name,))
        assert line.startswith(f"error: {path}"), line
        assert fragment in line, (name, line)


def test_validate_checks_the_configured_folder_as_carepath_loads_it(
    cli: Cli, broken_dir: Path, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(cli)
    assert ok(cli, "workflows", "validate").strip() == "1 workflow file(s) valid"  # CAREPATH_WORKFLOWS_DIR: the sample
    before = table_counts(env)
    monkeypatch.setenv("CAREPATH_WORKFLOWS_DIR", str(broken_dir))
    code, out, err = cli("workflows", "validate")
    named = {Path(e.removeprefix("error: ").split(":", 1)[0]).name for e in err.splitlines()}
    assert (code, out, named) == (2, "", set(BROKEN)), err
    assert "Traceback" not in err
    # the app refuses to start on the same folder, naming the files the loader cannot read
    code, out, err = cli("case", "list", *BY_CW)
    assert code == 2, err
    assert "Traceback" not in err
    assert all(e.startswith("error: ") for e in err.splitlines()), err
    assert "laughs.v1.yaml" in err
    assert table_counts(env) == before


# -- real processes -----------------------------------------------------------------------------


def _process(env: dict[str, str], *args: str | bytes) -> Outcome:
    done = subprocess.run([str(CAREPATH), *args], env=env, capture_output=True, timeout=60, check=False)
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


def test_the_carepath_command_refuses_in_one_line(cli: Cli, env: str) -> None:
    """Argv that is not UTF-8, a bad setting at start-up, an id too large and a refused NaN, as a person
    meets them: a real ``carepath`` process."""
    seed(cli)
    before = table_counts(env)
    process_env = {k: v for k, v in os.environ.items() if k.startswith("CAREPATH_") or k in ("PATH", "HOME")}
    process_env.pop("CAREPATH_USER", None)
    for args, extra, fragment in (
        ((*OPEN, "--note", b"bad \xff\xfe bytes"), {}, "the note is not valid UTF-8 text"),
        ((*OPEN, "--set", "n=[NaN, Infinity]"), {}, "not a finite number"),
        (("mail", "show", "99999999999999999999", *BY_ADMIN), {}, "Invalid value for 'ID'"),
        (("case", "list", *BY_CW), {"CAREPATH_SMTP__PORT": "abc"}, "bad setting CAREPATH_SMTP__PORT"),
    ):
        line = one_error(_process({**process_env, **extra}, *args), args[:3])
        assert fragment in line, (args[:3], line)
    assert table_counts(env) == before


def test_run_says_when_the_mail_catchers_or_the_web_apps_port_is_taken(env: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process_env = {k: v for k, v in os.environ.items() if k.startswith("CAREPATH_") or k in ("PATH", "HOME")}
        process_env.pop("CAREPATH_SMTP__HOST", None)
        line = one_error(_process({**process_env, "CAREPATH_CATCHER__PORT": str(port)}, "run", "--no-web"), ("run",))
        taken_message = f"cannot listen on 127.0.0.1:{port}: the port is in use"
        assert line == f"error: the mail catcher {taken_message} (set CAREPATH_CATCHER__PORT)"
        web_taken = {**process_env, "CAREPATH_WEB__PORT": str(port)}
        line = one_error(_process(web_taken, "run"), ("run",))
        assert (
            line == f"error: the web app cannot listen on 127.0.0.1:{port}: the port is in use (set CAREPATH_WEB__PORT)"
        )
        line = one_error(_process(web_taken, "web"), ("web",))
        assert (
            line == f"error: the web app cannot listen on 127.0.0.1:{port}: the port is in use (set CAREPATH_WEB__PORT)"
        )
