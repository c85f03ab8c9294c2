"""The demo caseload as a person gets it: ``carepath demo seed`` and ``carepath demo show``.

One small caseload is seeded per module on a SQLite file (the clock fixed by
``CAREPATH_FAKE_NOW``); every assertion reads it back through the read service the CLI uses,
as the demo's service manager (who may read every case). The demo acts as real users: its
administrator adds the people, caseworkers and managers move cases, and carepath's own user
only raises timers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from carepath.config.bootstrap import App
from carepath.engine.case import NOTICE_TRIGGERS, Actor, Case, replay
from carepath.engine.reads import CaseFilter
from carepath.engine.roles import SYSTEM_EMAIL
from carepath.entrypoints import common
from carepath.entrypoints import demo as demo_package
from carepath.entrypoints.cli import app as cli
from carepath.entrypoints.demo import CHILD, DOMAIN, FOSTER, summarise
from carepath.entrypoints.demo.gateway import DEMO_ADMIN, Gateway
from carepath.entrypoints.demo.org import panel_days
from carepath.storage.tables import OUTBOX

NOW = "2026-11-02T09:00:00+00:00"
SIZE = ("--households", "150", "--children", "12", "--seed", "3")


def run(*args: str) -> str:
    """``carepath ARGS`` in-process with a fresh app; fails on a non-zero exit."""
    common.reset_app()
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, f"carepath {' '.join(args)}: {result.output}"
    return result.output


@dataclass
class Seeded:
    """A seeded database and what ``demo seed`` printed."""

    url: str
    output: str


def _seed(mp: pytest.MonkeyPatch, path: Path, *args: str) -> Seeded:
    url = f"sqlite:///{path}"
    mp.setenv("CAREPATH_DATABASE_URL", url)
    run("db", "upgrade")
    return Seeded(url, run("demo", "seed", *args))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The demo caseload seeded once for the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAREPATH_FAKE_NOW", NOW)
        mp.delenv("CAREPATH_WORKFLOWS_DIR", raising=False)
        yield _seed(mp, tmp_path_factory.mktemp("demo") / "demo.db", *SIZE)
        common.reset_app()


@pytest.fixture
def app(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The wired application over the seeded database."""
    monkeypatch.setenv("CAREPATH_FAKE_NOW", NOW)
    monkeypatch.setenv("CAREPATH_DATABASE_URL", seeded.url)
    monkeypatch.delenv("CAREPATH_WORKFLOWS_DIR", raising=False)
    common.reset_app()
    yield common.get_app()
    common.reset_app()


def reader(app: App) -> Actor:
    """The demo's service manager: ``demo show`` reads as them, and they may read every case."""
    return app.directory.actor(Gateway.reader())


def all_cases(app: App) -> list[Case]:
    """Every case, as the service manager lists them (the whole caseload: nothing cut off)."""
    cases = [listing.case for listing in app.reads.cases(CaseFilter(limit=1000), reader(app))]
    assert len(cases) == app.summary.case_count()
    return cases


def test_every_journey_has_cases_in_declared_states(app: App) -> None:
    cases = all_cases(app)
    assert {c.workflow_id for c in cases} == set(app.workflows.ids())
    for c in cases:
        definition = app.workflows.get(c.workflow_id, c.workflow_version).definition
        assert c.state == "on_hold" or c.state in definition.states, (c.ref, c.state)


def test_every_case_was_written_through_the_service(app: App) -> None:
    """The case row is exactly the replay of its history: no direct inserts anywhere."""
    me = reader(app)
    for c in all_cases(app):
        assert c.id is not None
        _, entries = app.reads.history(c.ref, me)
        history = [h.event for h in entries]
        assert history[0].trigger == "open"
        definition = app.workflows.get(c.workflow_id, c.workflow_version).definition
        snap = replay(history, frozenset(n for n, s in definition.states.items() if s.terminal))
        got = (c.state, c.status, c.held_from, c.facts, c.owner_id, c.team_id, c.exit_reason, c.last_event_on)
        want = (
            snap.state,
            snap.status,
            snap.held_from,
            snap.facts,
            snap.owner_id,
            snap.team_id,
            snap.exit_reason,
            snap.last_event_on,
        )
        assert got == want, c.ref
        assert c.last_seq == history[-1].seq


def test_people_act_and_carepath_only_raises_timers(app: App) -> None:
    """Every case event is a person's, except the reminders and breaches the scheduler raises."""
    me = reader(app)
    by_system: set[str] = set()
    people: set[str | None] = set()
    for c in all_cases(app):
        for h in app.reads.history(c.ref, me)[1]:
            if h.by == SYSTEM_EMAIL:
                by_system.add(h.event.trigger)
            else:
                people.add(h.by)
    assert by_system, "the final sweep raised timers"
    assert by_system <= NOTICE_TRIGGERS
    assert None not in people
    assert all(email.endswith("@" + DOMAIN) for email in people if email)
    assert DEMO_ADMIN[0] not in people  # the administrator adds people, never touches a case
    admin_roles = next(u.roles for u in app.directory.users() if u.email == DEMO_ADMIN[0])
    assert list(admin_roles) == ["admin"]


def test_realistic_proportions(app: App, seeded: Seeded) -> None:
    s = summarise(app)
    assert 0.05 <= s.conversion[FOSTER] <= 0.25
    assert s.on_hold > 0
    assert s.breached_open + s.met_late > 0
    assert s.approvals > 0
    assert "reached application" in seeded.output
    assert "within 8 months" in seeded.output


def test_every_synthetic_fact_is_valid(app: App, seeded: Seeded) -> None:
    """The demo's facts pass the journeys' typed schema: the service refused none of its moves."""
    assert "refused" not in seeded.output, seeded.output
    approved_carers = [c for c in all_cases(app) if c.workflow_id == "approved_foster_carer"]
    follow_ons = [c for c in approved_carers if c.facts.get("follows")]
    assert follow_ons  # the approval opened the approved carer's case, linked both ways
    by_ref = {c.ref: c for c in all_cases(app)}
    assert all(by_ref[c.facts["follows"]].facts.get("followed_by") == c.ref for c in follow_ons)


def test_names_are_fictional_and_never_in_mail(app: App) -> None:
    cases = all_cases(app)
    names = {str(c.facts.get("household_name") or c.facts.get("child_name")) for c in cases}
    assert all(n.startswith(("The ", "Child ")) for n in names)
    assert all("demo" in n for n in names if n.startswith("The "))
    assert any(c.workflow_id == CHILD and str(c.facts.get("child_name", "")).startswith("Child ") for c in cases)
    assert all(u.email.endswith("@" + DOMAIN) for u in app.directory.users())
    with app.engine.connect() as conn:
        rows: list[Any] = list(conn.execute(select(OUTBOX.c.context, OUTBOX.c.recipients)))
    assert rows, "seeding and the final sweep queue mail for carepath run"
    text = " ".join(str(r.context) + str(r.recipients) for r in rows)
    for name in names:
        assert name not in text
        assert name.split(" (")[0].removeprefix("The ") not in text


def test_if_empty_adds_nothing_to_a_seeded_database(app: App, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    before = len(all_cases(app))
    out = run("demo", "seed", "--if-empty")
    assert "nothing added" in out
    common.reset_app()
    assert len(all_cases(common.get_app())) == before


def test_show_tours_counts_and_one_case(app: App) -> None:
    out = run("demo", "show")
    assert "foster_carer_approval" in out
    assert "a sample case:" in out
    assert "History:" in out
    assert "Deadlines:" in out


def test_show_reads_as_the_user_named(app: App) -> None:
    """``demo show --by`` reads as that user: the demo's administrator sees no case data."""
    common.reset_app()
    result = CliRunner().invoke(cli, ["demo", "show", "--by", DEMO_ADMIN[0]])
    assert result.exit_code == 2, result.output
    assert "administrators manage the system, not case records" in result.stderr


def test_same_seed_same_caseload(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPATH_FAKE_NOW", NOW)
    monkeypatch.delenv("CAREPATH_WORKFLOWS_DIR", raising=False)
    again = _seed(monkeypatch, tmp_path / "again.db", *SIZE)
    first, second = (_fingerprint(monkeypatch, s.url) for s in (seeded, again))
    assert first == second


def _fingerprint(monkeypatch: pytest.MonkeyPatch, url: str) -> list[tuple[str, str, str, str]]:
    monkeypatch.setenv("CAREPATH_DATABASE_URL", url)
    common.reset_app()
    a = common.get_app()
    return sorted((c.ref, c.workflow_id, c.state, c.last_event_on.isoformat()) for c in all_cases(a))


def test_refuses_an_empty_request(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPATH_DATABASE_URL", seeded.url)
    common.reset_app()
    result = CliRunner().invoke(cli, ["demo", "seed", "--households", "0", "--children", "0"])
    assert result.exit_code == 2
    assert "nothing to seed" in result.output


#: The wired application's services and engine (``config.bootstrap.App``): only
#: ``entrypoints/demo/gateway.py`` touches them.
SERVICES = {
    "people",
    "calendar_changes",
    "timers",
    "reads",
    "directory",
    "system",
    "own_writes",
    "workflows",
    "engine",
    "read_engine",
    "calendar",
    "uow",
    "dispatch",
    "migrate",
}
#: Services whose names the demo also uses for its own values (a summary's ``cases`` and
#: ``panels`` counts, the gateway's ``summary()``): counted only as ``.<service>.<method>``.
CHAINED = {"cases", "panels", "mail", "summary"}
SERVICE_MODULES = ("carepath.engine.services", "carepath.storage", "carepath.notifications")


def _application_calls(tree: ast.AST) -> Iterator[str]:
    """Uses of the application's services, ``App(...)`` and imports of service modules."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in SERVICES:
            yield f"{node.lineno}: .{node.attr}"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr in CHAINED:
            yield f"{node.lineno}: .{node.value.attr}.{node.attr}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "App":
            yield f"{node.lineno}: App(...)"
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(SERVICE_MODULES):
            yield f"{node.lineno}: from {node.module} import"


def test_only_the_gateway_calls_the_application() -> None:
    """The demo's calls into the application stay in one module, so an API change touches one file."""
    package = Path(demo_package.__file__).parent
    found = {
        path.name: calls
        for path in [*sorted(package.glob("*.py")), package.parent / "cli_demo.py"]
        if path.name != "gateway.py" and (calls := list(_application_calls(ast.parse(path.read_text()))))
    }
    assert found == {}
    assert list(_application_calls(ast.parse((package / "gateway.py").read_text()))), "the gateway is where they are"


def test_panels_sit_on_the_demo_pattern() -> None:
    days = list(panel_days(date(2026, 11, 1), date(2026, 11, 30)))
    assert days == [
        (date(2026, 11, 5), "adoption"),
        (date(2026, 11, 11), "fostering"),
        (date(2026, 11, 19), "adoption"),
        (date(2026, 11, 25), "fostering"),
    ]
