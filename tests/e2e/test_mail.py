"""Mail as people use it: the CLI, the built-in catcher, and what an email may carry.

Everything runs on a SQLite file with the real aiosmtpd catcher; the clock is injected
through ``CAREPATH_FAKE_NOW`` (CLI) or a ``FixedClock`` (service). People act with ``--by``:
the administrator (the first user) adds the staff and reads and repairs the mail; sending
(``mail send``) is the scheduler's work and acts as carepath itself.
"""

from __future__ import annotations

import email
import json
import re
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from typer.testing import CliRunner

from carepath.config.bootstrap import App, load_registry
from carepath.config.settings import Settings
from carepath.engine.case import Actor
from carepath.engine.clock import FixedClock
from carepath.engine.events import AgendaSent
from carepath.entrypoints import common
from carepath.entrypoints.cli import app as cli
from carepath.notifications.catcher import MailCatcher, free_port
from carepath.notifications.dispatch import SmtpTarget, dispatch_due
from carepath.notifications.render import kinds
from carepath.notifications.routing import DEFAULT_NOTIFY
from carepath.storage.db import make_engine
from carepath.storage.migrate import upgrade
from carepath.storage.queries.mail import MailQueries
from carepath.storage.tables import AUDIT, OUTBOX

NOW = "2026-11-02T09:00:00+00:00"

#: A journey with a notice on each of its states (tests/fixtures/notices).
JOURNEY = (Path(__file__).resolve().parents[1] / "fixtures" / "notices" / "notices.v1.yaml").read_text()


def items(out: str) -> list[Any]:
    """The rows of a paged list command's ``--json`` (``{"items", "total", "next"}``)."""
    page = json.loads(out)
    assert set(page) >= {"items", "total", "next"}
    return list(page["items"])


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A migrated SQLite file, the notices journey, a fixed clock, and mail to a catcher port."""
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "notices.v1.yaml").write_text(JOURNEY)
    values = {
        "CAREPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'carepath.db'}",
        "CAREPATH_WORKFLOWS_DIR": str(journeys),
        "CAREPATH_FAKE_NOW": NOW,
        "CAREPATH_CATCHER__PORT": str(free_port()),
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("CAREPATH_SMTP__HOST", raising=False)
    yield values
    common.reset_app()


def run(*args: str, code: int = 0) -> str:
    """``carepath ARGS`` in-process with a fresh app (settings re-read); fails on another exit code."""
    common.reset_app()
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, f"carepath {' '.join(args)}: {result.output}"
    return result.output


ADMIN = "admin@example.org"


def staff_for_every_notice(app: App) -> tuple[Actor, int]:
    """An administrator, one user per role every notice names, team North and an adoption sitting.

    Returns the caseworker and the team's id.
    """
    p = app.people
    p.add_user(ADMIN, "Administrator", ["admin"], None)
    for email_, roles in [("sw@example.org", ["caseworker"]), ("tm@example.org", ["team_manager"]),
                          ("sm@example.org", ["service_manager"])] + [
                          (f"{r}@example.org", [r]) for r in ("panel_coordinator", "panel_adviser",
                          "agency_decision_maker", "irm_liaison_officer", "iro")]:  # fmt: skip
        p.add_user(email_, "Staff Member", roles, ADMIN)
    team = p.add_team("North", ADMIN, manager="tm@example.org", service_manager="sm@example.org",
                      members=["sw@example.org"])  # fmt: skip
    sw = app.directory.actor("sw@example.org")
    app.panels.add_sitting(date(2026, 11, 20), "adoption", "panel_coordinator@example.org")
    return sw, team


class Refuser:
    """An SMTP server that refuses every message permanently."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "550 5.7.1 relaying denied"


def test_mail_from_the_command_line(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    run("db", "upgrade")
    run("users", "add", ADMIN, "--name", "Administrator", "--role", "admin")
    run("users", "add", "owner@example.org", "--name", "Owner", "--role", "caseworker", "--by", ADMIN)
    run("users", "add", "pc@example.org", "--name", "Coordinator", "--role", "panel_coordinator", "--by", ADMIN)
    run("users", "add", "pa@example.org", "--name", "Adviser", "--role", "panel_adviser", "--by", ADMIN)
    run("users", "add", "adm@example.org", "--name", "Decider", "--role", "agency_decision_maker", "--by", ADMIN)
    run("teams", "add", "North", "--member", "owner@example.org", "--by", ADMIN)
    # only a panel coordinator books panels
    assert "may not panel.add" in run("panels", "add", "2026-11-10", "--type", "fostering", "--by", ADMIN, code=2)
    booked = run("panels", "add", "2026-11-10", "--type", "fostering", "--by", "pc@example.org")
    assert "papers to members by 2026-11-03" in booked
    listed = items(run("panels", "list", "--by", "owner@example.org", "--json"))
    assert [{k: s[k] for k in ("sits_on", "weekday", "panel_type", "papers_due_on", "open")} for s in listed] == [
        {
            "sits_on": "2026-11-10",
            "weekday": "Tuesday",
            "panel_type": "fostering",
            "papers_due_on": "2026-11-03",
            "open": True,
        }
    ]
    opened = json.loads(
        run("case", "open", "notices", "--owner", "owner@example.org", "--team", "North",
            "--set", "applicant_name=Zebulon Quartermaine", "--by", "owner@example.org", "--json")
    )  # fmt: skip
    ref = opened["ref"]
    run("case", "fire", ref, "start", "--by", "owner@example.org")
    run("case", "fire", ref, "authorise", "--by", "owner@example.org")

    engine = make_engine(env["CAREPATH_DATABASE_URL"])
    catcher = MailCatcher(engine, port=int(env["CAREPATH_CATCHER__PORT"])).start()
    try:
        assert run("mail", "send").startswith("sent 1;")
    finally:
        catcher.stop()
    (message,) = items(run("mail", "list", "--by", ADMIN, "--json"))
    assert set(message) == {"id", "message_id", "recipients", "subject", "received_at"}
    assert message["recipients"] == ["pa@example.org", "pc@example.org"]
    assert message["subject"] == f"Ready for panel: {ref} for Tuesday 10 November 2026"
    assert re.fullmatch(r"<[0-9a-f]{32}@carepath>", message["message_id"])
    shown = run("mail", "show", str(message["id"]), "--by", ADMIN)
    assert f"Message-ID: {message['message_id']}" in shown
    assert f"http://localhost:8000/cases/{ref}" in shown
    assert "papers to members by Tuesday 3 November 2026" in shown
    assert "Zebulon" not in shown
    assert "Zebulon" not in run("mail", "show", str(message["id"]), "--raw", "--by", ADMIN)
    assert "<a href=" in run("mail", "show", str(message["id"]), "--html", "--by", ADMIN)
    # mail is the administrator's: a caseworker reads none of it
    assert "may not mail.read" in run("mail", "list", "--by", "owner@example.org", code=2)

    # A permanent refusal: dead, listed, requeued (audited), then delivered.
    run("case", "fire", ref, "recommend", "--by", "owner@example.org")
    refuser = Controller(Refuser(), hostname="127.0.0.1", port=free_port())
    refuser.start()
    monkeypatch.setenv("CAREPATH_SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("CAREPATH_SMTP__PORT", str(refuser.port))
    monkeypatch.setenv("CAREPATH_SMTP__SECURITY", "none")
    try:
        assert run("mail", "send").startswith("sent 0;")
    finally:
        refuser.stop()
    (dead,) = items(run("mail", "failed", "--by", ADMIN, "--json"))
    assert (dead["kind"], dead["ref"], dead["last_error"]) == (
        "panel_recommendation",
        ref,
        "550 5.7.1 relaying denied",
    )
    assert "may not mail.retry" in run("mail", "retry", str(dead["id"]), "--by", "pc@example.org", code=2)
    assert "requeued message" in run("mail", "retry", str(dead["id"]), "--by", ADMIN)
    assert items(run("mail", "failed", "--by", ADMIN, "--json")) == []
    outbox = json.loads(run("mail", "outbox", "--by", ADMIN, "--json"))
    assert outbox["counts"]["dead"] == 0
    monkeypatch.delenv("CAREPATH_SMTP__HOST")
    catcher = MailCatcher(engine, port=int(env["CAREPATH_CATCHER__PORT"])).start()
    try:
        assert run("mail", "send").startswith("sent 1;")
    finally:
        catcher.stop()
    assert len(items(run("mail", "list", "--by", ADMIN, "--json"))) == 2
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(AUDIT.c.action))]
    assert "mail.retry" in actions
    assert "panel.add" in actions
    engine.dispose()


def test_mail_retry_refuses_what_is_not_dead(env: dict[str, str]) -> None:
    run("db", "upgrade")
    run("users", "add", ADMIN, "--name", "Administrator", "--role", "admin")
    common.reset_app()
    result = CliRunner().invoke(cli, ["mail", "retry", "99", "--by", ADMIN])
    assert result.exit_code == 2
    assert "no outbox message" in result.output
    assert "(nobody) may not" in run("mail", "retry", "99", code=2)


# -- no personal data in any email -------------------------------------------------------------

#: A journey that passes through one state per notice kind we have a template for.
NOTICE_KINDS = sorted(DEFAULT_NOTIFY)


def every_notice_journey() -> str:
    extra = {"ready_for_panel": ", panel_type: adoption"}
    states = "\n".join(
        f"  s{i}: {{label: Stage {i}, meta: {{notice: {k}{extra.get(k, '')}}}}}" for i, k in enumerate(NOTICE_KINDS)
    )
    moves = "\n".join(f"  - {{trigger: to_s{i}, source: {'start' if i == 0 else f's{i - 1}'}, dest: s{i}}}"
                      for i in range(len(NOTICE_KINDS)))  # fmt: skip
    last = f"s{len(NOTICE_KINDS) - 1}"
    return (
        textwrap.dedent("""\
        id: every
        version: 1
        title: Every notice
        reference_prefix: EV
        initial: start
        close_state: closed
        exit_reasons: {W: Withdrawn}
        """)
        + f"states:\n  start: {{label: Start}}\n{states}\n  closed: {{label: Closed, terminal: true}}\n"
        + (f"transitions:\n{moves}\n  - {{trigger: finish, source: {last}, dest: closed}}\n")
    )


FICTIONAL = ["Zebulon Quartermaine", "Ottoline Fairweather", "Peregrine Asquith-Lowe", "Marigold Thistlewood"]


def decoded_parts(raw: str) -> list[str]:
    msg = email.message_from_string(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return [str(msg["Subject"])] + [str(p.get_content()) for p in msg.walk() if not p.is_multipart()]


def test_no_email_carries_a_name_from_the_case(tmp_path: Path) -> None:
    """A synthetic caseload with fictional names in facts and notes: every kind of email, no name."""
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "notices.v1.yaml").write_text(JOURNEY)
    (journeys / "every.v1.yaml").write_text(every_notice_journey())
    url = f"sqlite:///{tmp_path / 'carepath.db'}"
    engine = make_engine(url)
    upgrade(engine)
    clock = FixedClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    app = App(Settings(database_url=url, single_breach_emails=True), clock, engine, load_registry(journeys))
    sw, team = staff_for_every_notice(app)
    refs = []
    for i, name in enumerate(FICTIONAL):
        facts = {"applicant_name": name, "child_name": FICTIONAL[-1 - i], "address": "1 Acacia Avenue"}
        c = app.cases.open_case("notices", sw, owner_id=sw.id, team_id=team, facts=facts, note=f"{name} called")
        refs.append(c.ref)
    every = app.cases.open_case("every", sw, owner_id=sw.id, team_id=team, facts={"child_name": FICTIONAL[0]})
    for i in range(len(NOTICE_KINDS)):
        app.cases.fire(every.ref, f"to_s{i}", sw, note=f"spoke to {FICTIONAL[1]}", facts={"carer": FICTIONAL[2]})
    app.cases.fire(refs[0], "start", sw, facts={"referee": FICTIONAL[3]})
    with app.uow.transaction() as tx:  # a sitting's agenda to its members (the panels service records this)
        tx.record(
            AgendaSent(1, date(2026, 11, 20), "adoption", date(2026, 11, 13), (refs[0],), ("member@example.org",))
        )
    for _ in range(4):  # four weeks of sweeps and morning digests
        clock.advance(days=7)
        app.timers.sweep(app.system)
        app.mail.digests(app.system)

    with engine.connect() as conn:
        queued = {r.kind for r in conn.execute(select(OUTBOX.c.kind))}
    assert queued == set(kinds()), set(kinds()) ^ queued  # every template is exercised
    with MailCatcher(engine) as catcher:
        target = SmtpTarget(catcher.host, catcher.port, "none", "carepath@example.org")
        sent = dispatch_due(engine, clock, target)
    mailbox = MailQueries(engine)
    messages = mailbox.caught(limit=200)
    assert sent == len(messages) > len(kinds())
    for m in messages:
        raw = mailbox.caught_raw(m.id)
        for text in [raw, *decoded_parts(raw)]:
            for name in [*FICTIONAL, "Acacia", "Zebulon", "Quartermaine"]:
                assert name not in text, (m.subject, name)
    assert any(ref in m.subject for m in messages for ref in refs)
    engine.dispose()
    assert clock.now() - datetime(2026, 11, 2, 9, tzinfo=UTC) == timedelta(days=28)
