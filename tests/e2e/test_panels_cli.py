"""The panel coordinator's day on the command line (issue 12): plan a year, keep the members, book a case,
send its papers, record attendance, the recommendation and the final minutes; every read with
``--json``; every refusal one ``error:`` line, exit 2, nothing written.

The case is walked to ready for panel through the service first (as caseworkers and managers would),
on the shipped foster carer journey, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from carepath.engine.clock import FixedClock
from carepath.entrypoints import common
from carepath.workflows.loader import load_registry
from tests.conftest import make_app
from tests.e2e.test_bad_input import Cli, _invoke, ok, one_error, table_counts
from tests.e2e.test_typed_facts import WORKFLOWS, _env
from tests.workflows.helpers import Walker
from tests.workflows.test_foster_carer_approval import READY

PC = ("--by", "pc@carepath.test")
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def ready(db_url: str) -> str:
    """A foster carer case ready for panel, with the walker's staff; its reference."""
    clock = FixedClock(START)
    app = make_app(db_url, clock, load_registry())
    try:
        w = Walker(app, clock)
        w.open("foster_carer_approval", "2026-01-02")
        w.walk(READY)
        return w.ref
    finally:
        app.dispose()


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    _env(monkeypatch, db_url, WORKFLOWS)
    common.reset_app()
    yield lambda *args, fresh=True: _invoke([str(a) for a in args], capsys, fresh=fresh)
    common.reset_app()


def on(monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    monkeypatch.setenv("CAREPATH_FAKE_NOW", f"{day}T09:00:00+00:00")


def test_the_coordinators_day(ready: str, cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = ready
    planned = ok(
        cli,
        *("panels", "plan", "--type", "fostering", "--weekday", "monday", "--nth", "-1"),
        *("--from", "2026-11-01", "--to", "2027-10-31", "--place", "Town Hall", "--time", "10:00", *PC),
    )
    assert "moved 2026-12-28 (Boxing Day (observed)) to Tuesday 2026-12-29" in planned
    assert "moved 2027-08-30 (Late Summer Bank Holiday) to Tuesday 2027-08-31" in planned
    assert planned.strip().endswith("planned 12 fostering sitting(s)")
    listed = json.loads(ok(cli, "panels", "list", "--type", "fostering", "--json", *PC))
    assert listed["total"] == 12
    first = listed["items"][0]
    assert (first["sits_on"], first["starts"], first["place"], first["papers_due_on"]) == (
        "2026-11-30",
        "10:00",
        "Town Hall",
        "2026-11-23",
    )
    assert first["quorum"]["ok"] is False
    sid = str(first["id"])

    ids = []
    for name, email, role in (
        ("Chris Chair", "chair@carepath.test", "chair"),
        ("Sam Social", "sw@carepath.test", "social_worker"),
        ("Ian Indy", "ind@carepath.test", "independent"),
        ("Ada Decider", "adm2@carepath.test", "independent"),
        ("Dr Med", None, "medical_adviser"),
        ("Mo Minutes", None, "minute_taker"),
    ):
        args = ["panels", "members", "add", name, "--role", role, "--type", "fostering", "--json", *PC]
        if email:
            args += ["--email", email]
        ids.append(str(json.loads(ok(cli, *args))["id"]))
    members = json.loads(ok(cli, "panels", "members", "list", "--json", *PC))
    assert [m["name"] for m in members][:2] == ["Ada Decider", "Chris Chair"]
    attended = ok(cli, "panels", "attend", sid, *[a for i in ids for a in ("--member", i)], *PC)
    assert "quorum: yes" in attended

    assert f"{ref} booked" in ok(cli, "panels", "book", ref, sid, *PC)
    before = table_counts(db_url)
    assert "is not ready for panel (it is panel booked)" in one_error(cli("panels", "book", ref, sid, *PC))
    assert "may not panel.book" in one_error(cli("panels", "book", ref, sid, "--by", "cw@carepath.test"))
    assert "no panel sitting 999" in one_error(cli("panels", "book", ref, "999", *PC))
    assert "unknown --weekday" in one_error(
        cli("panels", "plan", "--type", "fostering", "--weekday", "sunday", "--nth", "1",
            "--from", "2027-01-01", "--to", "2027-02-01", *PC)
    )  # fmt: skip
    assert "is not REF=RECOMMENDATION" in one_error(cli("panels", "recommend", sid, "--outcome", "nonsense", *PC))
    assert table_counts(db_url) == before

    on(monkeypatch, "2026-11-20")
    assert "papers sent to members on 2026-11-20" in ok(cli, "panels", "papers", ref, *PC)
    (item,) = json.loads(ok(cli, "panels", "agenda", sid, "--json", *PC))
    assert (item["ref"], item["papers_status"], item["state"]) == (ref, "circulated", "panel_booked")

    on(monkeypatch, "2026-11-30")
    said = ok(cli, "panels", "recommend", sid, "--outcome", f"{ref}=suitable:unanimous", *PC)
    assert f"{ref}: suitable (now panel_recommended)" in said
    on(monkeypatch, "2026-12-04")
    minutes = json.loads(ok(cli, "panels", "minutes", sid, "--received", "2026-12-03", "--json", *PC))
    assert minutes == {"id": int(sid), "minutes_received_on": "2026-12-03", "refs": [ref]}
    shown = json.loads(ok(cli, "panels", "show", sid, "--json", *PC))
    assert (shown["status"], shown["minutes_received_on"], shown["booked"]) == ("held", "2026-12-03", 1)
    assert [i["recommendation"] for i in shown["agenda"]] == ["suitable"]
    case = json.loads(ok(cli, "case", "show", ref, "--json", *PC))
    assert (case["state"], case["facts"]["panel_held_on"], case["facts"]["minutes_received_on"]) == (
        "awaiting_adm",
        "2026-11-30",
        "2026-12-03",
    )
    assert "adm2@carepath.test" in case["facts"]["panel_members"]
    refused = one_error(
        cli("case", "fire", ref, "approve", "--set", "approval_terms=1 child", "--by", "adm2@carepath.test")
    )
    assert "sat on this case's panel" in refused
    assert "only a planned sitting can be cancelled" in one_error(cli("panels", "cancel", sid, "--reason", "x", *PC))

    # the chair's calendar, and the fostering panel's, as iCalendar files
    chairs = Calendar.from_ical(ok(cli, "panels", "ics", "--member", ids[0], "--all", *PC))
    (event,) = chairs.walk("VEVENT")
    assert (str(event["UID"]), str(event["LOCATION"])) == (f"panel-sitting-{sid}@carepath", "Town Hall")
    year = Calendar.from_ical(ok(cli, "panels", "ics", "--type", "fostering", *PC))
    assert len(year.walk("VEVENT")) == 11  # from today: the sitting of 30 November is past
