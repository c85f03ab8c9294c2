"""Typed facts at the command line (issue 10, points 1 and 12): every ``--set`` is parsed by the fact
the journey declares, and is either refused in one ``error:`` line (exit 2, nothing written) or stored
as a value that reads back equal; never a traceback.

The reproductions run on the shipped foster carer journey; the property test feeds random strings,
dates and numbers to every type of ``tests/fixtures/typed/typed.v1.yaml`` on a SQLite file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from carepath.entrypoints import common
from tests.conftest import FIXTURES
from tests.e2e.test_bad_input import ADMIN, BY_ADMIN, CW, TM, Cli, _invoke, ok, one_error, table_counts

NOW = "2026-11-02T09:00:00+00:00"
TODAY = date(2026, 11, 2)
TYPED = FIXTURES / "typed"
WORKFLOWS = Path(common.__file__).parent.parent / "workflows"
BY_CW, BY_TM = ("--by", CW), ("--by", TM)


def _env(monkeypatch: pytest.MonkeyPatch, url: str, workflows: Path) -> None:
    for name in [n for n in os.environ if n.startswith("CAREPATH_") and n != "CAREPATH_TEST_PG_URL"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CAREPATH_DATABASE_URL", url)
    monkeypatch.setenv("CAREPATH_WORKFLOWS_DIR", str(workflows))
    monkeypatch.setenv("CAREPATH_FAKE_NOW", NOW)
    monkeypatch.setattr(common, "CLOCK_FACTORY", None)


def _cli(capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    common.reset_app()
    yield lambda *args, fresh=True: _invoke([str(a) for a in args], capsys, fresh=fresh)
    common.reset_app()


def _people(cli: Cli) -> None:
    ok(cli, "users", "add", ADMIN, "--name", "Ada Admin", "--role", "admin")
    ok(cli, "users", "add", CW, "--name", "Cee Worker", "--role", "caseworker", *BY_ADMIN)
    ok(cli, "users", "add", TM, "--name", "Tee Manager", "--role", "team_manager", *BY_ADMIN)
    ok(cli, "teams", "add", "East", "--manager", TM, "--member", CW, "--member", TM, *BY_ADMIN)


def _facts(cli: Cli, ref: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(ok(cli, "case", "show", ref, "--json", *BY_CW))
    return dict(shown["facts"])


# -- the reproductions, on the shipped foster carer journey ---------------------------------------

FC = "FC-2026-0001"


@pytest.fixture
def fc(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[Cli, str]]:
    """A foster carer case FC-2026-0001 at its initial visit, opened today (2 November 2026)."""
    _env(monkeypatch, db_url, WORKFLOWS)
    for cli in _cli(capsys):
        _people(cli)
        ok(cli, "case", "open", "foster_carer_approval", "--team", "East", "--set", "household_name=Testington", *BY_CW)
        ok(cli, "case", "fire", FC, "send_information", *BY_CW)
        ok(cli, "case", "fire", FC, "hold_initial_visit", *BY_CW)
        yield cli, db_url


BAD = [
    (
        ("accept_application", "application_received_on=2027-01-01"),
        "error: fact 'application_received_on' 2027-01-01 is in the future (today is 2026-11-02 in London)",
    ),
    (
        ("accept_application", "application_received_on=2020-01-01"),
        "error: fact 'application_received_on' 2020-01-01 is before the case opened on 2026-11-02",
    ),
    (("accept_application", "application_received_on=soon"), "must be a date YYYY-MM-DD"),
    (("accept_application", "application_received_on=2026-02-30"), "is not a real date"),
    (("accept_application", "application_received_on="), "fact 'application_received_on' is empty"),
    (
        ("accept_application", "application_recieved_on=2026-11-02"),
        "error: unknown fact 'application_recieved_on' for foster_carer_approval: did you mean "
        "'application_received_on'? accept_application takes application_received_on, previously_approved_elsewhere",
    ),
    (
        ("accept_application", "medical_on=2026-11-02"),
        "error: fact 'medical_on' is not recorded by accept_application",
    ),
    (("accept_application", "previously_approved_elsewhere=maybe"), "must be yes or no"),
]


@pytest.mark.parametrize(("args", "expected"), BAD, ids=[a[1].split("=")[0] + "=" + a[1][-8:] for a, _ in BAD])
def test_a_bad_fact_is_one_error_line_and_writes_nothing(fc: tuple[Cli, str], args: Any, expected: str) -> None:
    cli, url = fc
    before = table_counts(url)
    trigger, pair = args
    line = one_error(cli("case", "fire", FC, trigger, "--set", pair, *BY_TM), args)
    assert expected in line, line
    assert table_counts(url) == before


def test_the_issues_reproductions_are_refused(fc: tuple[Cli, str]) -> None:
    cli, url = fc
    ok(cli, "case", "fire", FC, "accept_application", "--set", "application_received_on=2026-11-02", *BY_TM)
    ok(cli, "case", "fire", FC, "start_assessment", *BY_CW)
    before = table_counts(url)
    refusals = {
        "medical_on=soon": "error: fact 'medical_on' must be a date YYYY-MM-DD",
        "la_check_on=2026-11-02": "error: unknown fact 'la_check_on' for foster_carer_approval: did you mean "
        "'la_checks_on'?",
        "dbs_checks_on=2020-01-01": "error: fact 'dbs_checks_on' 2020-01-01 is before the case opened on 2026-11-02",
    }
    trigger = {"medical_on": "record_medical", "la_check_on": "record_la_checks", "dbs_checks_on": "record_dbs_checks"}
    for pair, expected in refusals.items():
        line = one_error(cli("case", "fire", FC, trigger[pair.split("=")[0]], "--set", pair, *BY_CW), pair)
        assert line.startswith(expected), line
    assert table_counts(url) == before
    ok(cli, "case", "fire", FC, "record_medical", "--set", "medical_on=2026-11-02", *BY_CW)
    facts = _facts(cli, FC)
    assert facts["medical_on"] == "2026-11-02"
    assert "la_check_on" not in facts


# -- every --set type, fed random strings, dates and numbers --------------------------------------

REF = "TY-2026-0001"
YES, NO = {"yes", "y", "true"}, {"no", "n", "false"}


@pytest.fixture
def typed(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """A case TY-2026-0001 of the typed fixture journey, opened today, on a SQLite file."""
    _env(monkeypatch, sqlite_url, TYPED)
    for cli in _cli(capsys):
        _people(cli)
        ok(cli, "case", "open", "typed", "--team", "East", "--set", "name=Sample", *BY_CW)
        yield cli


def _expected(name: str, text: str) -> Any:
    """What a stored value must read back as, for the text typed (when it is accepted)."""
    text = text.strip()
    if name == "count":
        return float(text) if "." in text else int(text)
    if name == "agreed":
        return "yes" if text.lower() in YES else "no"
    if name == "worker":
        return text.lower()
    if name == "members":
        return list(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    return text


def _numbers() -> st.SearchStrategy[str]:
    floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
    return st.one_of(st.integers().map(str), floats, st.decimals(allow_nan=False).map(str))


def _dates() -> st.SearchStrategy[str]:
    near = st.dates(min_value=date(2026, 10, 1), max_value=date(2026, 12, 31)).map(date.isoformat)
    return st.one_of(near, st.dates().map(date.isoformat), st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"))


def _emails() -> st.SearchStrategy[str]:
    return st.one_of(st.emails().map(str), st.lists(st.emails(), min_size=1, max_size=3).map(", ".join))


#: Any value at all, for any type.
ANY = st.one_of(st.text(max_size=40), _numbers(), _dates(), _emails(), st.sampled_from(["yes", "No", "red", REF]))
#: Values close to each type's, so most are stored and the rest fail near the edge.
NEAR: dict[str, st.SearchStrategy[str]] = {
    "seen_on": _dates(),
    "booked_on": _dates(),
    "held_on": _dates(),
    "note": st.text(max_size=60),
    "count": _numbers(),
    "agreed": st.sampled_from(["yes", "no", "Y", "n", "TRUE", "false", " yes ", "nope"]),
    "colour": st.sampled_from(["red", "green", "light_blue", "Red", "light-blue", " green"]),
    "worker": st.emails().map(str),
    "members": _emails(),
    "linked": st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9/_.-]{0,12}\Z"),
}


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(sorted(NEAR)), data=st.data())
def test_every_set_type_refuses_in_one_line_or_reads_back_equal(typed: Cli, name: str, data: st.DataObject) -> None:
    cli = typed
    value = data.draw(NEAR[name] if data.draw(st.integers(0, 3)) else ANY, label=name)
    outcome = cli("case", "fire", REF, "record", "--set", f"{name}={value}", *BY_CW, fresh=False)
    code, out, err = outcome
    assert "Traceback" not in err, (name, value, err)
    if code == 2:
        one_error(outcome, (name, value))
        event(f"{name}: refused")
        return
    event(f"{name}: stored")
    assert code == 0, (name, value, out, err)
    assert _facts(cli, REF)[name] == _expected(name, value), (name, value)


def test_order_and_dates_of_the_typed_journey(typed: Cli) -> None:
    cli = typed
    ok(cli, "case", "fire", REF, "record", "--set", "booked_on=2026-12-18", *BY_CW)
    line = one_error(cli("case", "fire", REF, "record", "--set", "held_on=2026-12-16", *BY_CW))
    assert line == "error: fact 'held_on' 2026-12-16 is in the future (today is 2026-11-02 in London)"
    ok(cli, "case", "fire", REF, "record", "--set", "booked_on=2026-11-02", *BY_CW)
    line = one_error(cli("case", "fire", REF, "record", "--set", "held_on=2026-10-30", *BY_CW))
    assert line == "error: fact 'held_on' 2026-10-30 must be on or after booked_on (2026-11-02: Booked for)"
    ok(cli, "case", "fire", REF, "record", "--set", "held_on=2026-11-02", "--set", "note=007", *BY_CW)
    ok(cli, "case", "fire", REF, "record", "--set", "members=A@Council.test, b@council.test", *BY_CW)
    facts = _facts(cli, REF)
    assert (facts["held_on"], facts["note"], facts["members"]) == (
        "2026-11-02",
        "007",
        ["a@council.test", "b@council.test"],
    )
    line = one_error(cli("case", "fire", REF, "record", "--set", "colour=light-blue", *BY_CW))
    assert (
        line == "error: unknown value for fact 'colour': did you mean 'light_blue'? use one of green, light_blue, red"
    )
    line = one_error(cli("case", "open", "typed", "--team", "East", "--set", "note=x", *BY_CW))
    assert line == "error: fact 'note' is not recorded by opening a case: opening a case takes name"
