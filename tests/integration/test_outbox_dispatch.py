"""The dispatcher against a real aiosmtpd server: delivery, retries, dead letters, crashes, two workers.

Backoff runs on the injected clock (the test advances it) instead of sleeping. The crash and
two-worker tests run real processes on the real clock with a short lease. Rows are queued as
the unit of work queues them (``storage.admin.insert_outbox``); a dead message is requeued by
an administrator (``MailService.retry``) and the scheduler sends as carepath (``MailService.send``).
"""

from __future__ import annotations

import email
import random
import shutil
import signal
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, select

from carepath.config.bootstrap import App, smtp_target
from carepath.config.settings import Settings
from carepath.engine.calendar import WorkingCalendar
from carepath.engine.clock import FixedClock
from carepath.engine.errors import NotPermitted
from carepath.engine.ports import OutboxMessage
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.services.admin import MailRun
from carepath.notifications.catcher import free_port
from carepath.notifications.dispatch import SmtpTarget, dispatch_due
from carepath.storage.admin import insert_outbox, message_id_for
from carepath.storage.db import make_engine
from carepath.storage.queries.mail import MailQueries
from carepath.storage.tables import AUDIT, OUTBOX
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
ADMIN, CASEWORKER = "admin@example.org", "cw@example.org"


class Server:
    """A real SMTP server on 127.0.0.1 that answers DATA from a script (250 once it runs out)."""

    def __init__(self, port: int | None = None, script: list[str] | None = None, repeat: str | None = None) -> None:
        self.port = port or free_port()
        self.script = list(script or [])
        self.repeat = repeat
        self.received: list[email.message.EmailMessage] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]) -> Any:
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            reply = self.script.pop(0) if self.script else self.repeat or "250 OK"
            if reply.startswith("250"):
                self.received.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return reply

    def start(self) -> Server:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.received]


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server().start()
    yield s
    s.stop()


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    e = make_engine(sqlite_url)
    yield e
    e.dispose()


def context(ref: str) -> dict[str, Any]:
    """A breach email's context."""
    return {
        "case_ref": ref, "workflow": "sample", "rule": "S1", "rule_label": "Enquiry to visit", "rule_class": "LOCAL",
        "rule_source": "sample procedure", "start_on": "2026-10-01", "due_on": "2026-10-08", "fire_on": "2026-10-08",
        "tier": 0, "day_unit": "working_days", "link": f"http://localhost:8000/cases/{ref}",
    }  # fmt: skip


def fill(engine: Engine, n: int, now: datetime, kind: str = "breach") -> list[str]:
    """``n`` pending emails; returns their keys."""
    keys = [f"deadline:{i}:{kind}:0:2026-10-08" for i in range(1, n + 1)]
    with engine.begin() as conn:
        for i, key in enumerate(keys, start=1):
            message = OutboxMessage(key, kind, (f"sw{i % 7}@example.org",), context(f"SM-2026-{i:04d}"))
            assert insert_outbox(conn, message, now)
    return keys


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(OUTBOX).order_by(OUTBOX.c.id)))


def counts(engine: Engine) -> dict[str, int]:
    return MailQueries(engine).counts()


def target(s: Server) -> SmtpTarget:
    return SmtpTarget("127.0.0.1", s.port, "none", "carepath@example.org", timeout=5)


def test_due_mail_is_delivered_over_one_connection_with_stable_message_ids(
    engine: Engine, sqlite_url: str, server: Server, clock: FixedClock
) -> None:
    keys = fill(engine, 30, clock.now())
    assert dispatch_due(engine, clock, target(server)) == 30
    assert server.connections == 1
    assert sorted(server.ids()) == sorted(message_id_for(k) for k in keys)
    first = server.received[0]
    assert first["Subject"].startswith("Deadline missed: SM-2026-")
    assert first["From"] == "carepath@example.org"
    assert first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]
    assert all(r.status == "sent" and r.sent_at == clock.now() and r.attempts == 1 for r in rows(engine))
    assert dispatch_due(engine, clock, target(server)) == 0  # nothing left


def test_451_then_250_is_one_delivery_after_the_backoff(engine: Engine, sqlite_url: str, clock: FixedClock) -> None:
    server = Server(script=["451 4.3.0 mailbox busy, try later"]).start()
    try:
        (key,) = fill(engine, 1, clock.now())
        assert dispatch_due(engine, clock, target(server)) == 0
        (row,) = rows(engine)
        assert (row.status, row.attempts) == ("pending", 1)
        assert "451" in row.last_error
        assert timedelta(seconds=15) <= row.next_attempt_at - clock.now() <= timedelta(seconds=30)
        assert dispatch_due(engine, clock, target(server)) == 0  # not due yet
        clock.advance(seconds=31)
        assert dispatch_due(engine, clock, target(server)) == 1
        assert server.ids() == [message_id_for(key)]
        assert rows(engine)[0].status == "sent"
    finally:
        server.stop()


def test_550_is_dead_at_once_and_a_requeue_sends_it(
    engine: Engine, sqlite_url: str, clock: FixedClock, sample_registry: WorkflowRegistry
) -> None:
    server = Server(script=["550 5.1.1 no such mailbox"]).start()
    app = make_app(sqlite_url, clock, sample_registry)
    try:
        fill(engine, 2, clock.now())
        assert dispatch_due(engine, clock, target(server)) == 1
        dead = [r for r in rows(engine) if r.status == "dead"]
        assert len(dead) == 1
        assert dead[0].last_error.startswith("550")
        app.people.add_user(ADMIN, "Admin", ["admin"], None)
        app.people.add_user(CASEWORKER, "Caseworker", ["caseworker"], ADMIN)
        with pytest.raises(NotPermitted, match=r"^cw@example\.org may not mail\.retry: needs role admin$"):
            app.mail.retry(dead[0].id, CASEWORKER)
        requeued = app.mail.retry(dead[0].id, ADMIN)
        assert (requeued.key, requeued.last_error) == (dead[0].key, dead[0].last_error)
        with engine.connect() as conn:
            audit = conn.execute(select(AUDIT.c.action, AUDIT.c.subject).where(AUDIT.c.action == "mail.retry")).all()
        assert [tuple(a) for a in audit] == [("mail.retry", f"outbox:{dead[0].id}")]
        assert dispatch_due(engine, clock, target(server)) == 1
        assert counts(engine) == {"pending": 0, "sent": 2, "dead": 0}
    finally:
        app.dispose()
        server.stop()


def test_too_many_attempts_is_dead(engine: Engine, sqlite_url: str, clock: FixedClock) -> None:
    server = Server(repeat="452 4.2.2 mailbox full").start()
    try:
        fill(engine, 1, clock.now())
        for _ in range(3):
            dispatch_due(engine, clock, target(server), max_attempts=3)
            clock.advance(hours=3)
        (row,) = rows(engine)
        assert (row.status, row.attempts) == ("dead", 3)
        assert row.last_error.startswith("gave up after 3 attempts: 452")
    finally:
        server.stop()


def test_server_down_for_a_while_then_back_loses_nothing(engine: Engine, sqlite_url: str, clock: FixedClock) -> None:
    port = free_port()
    keys = fill(engine, 20, clock.now())
    down = SmtpTarget("127.0.0.1", port, "none", "carepath@example.org", timeout=2)
    for attempt in (1, 2, 3):
        assert dispatch_due(engine, clock, down) == 0
        assert {(r.status, r.attempts) for r in rows(engine)} == {("pending", attempt)}
        clock.advance(hours=1)
    server = Server(port=port).start()
    try:
        assert dispatch_due(engine, clock, down) == 20
        assert sorted(server.ids()) == sorted(message_id_for(k) for k in keys)
    finally:
        server.stop()


def test_a_dropped_connection_mid_batch_releases_the_rest(engine: Engine, sqlite_url: str, clock: FixedClock) -> None:
    server = Server(script=["250 OK"] * 4 + ["421 4.3.2 shutting down"]).start()
    try:
        keys = fill(engine, 10, clock.now())
        assert dispatch_due(engine, clock, target(server)) == 4
        states = Counter((r.status, r.attempts) for r in rows(engine))
        assert states == {("sent", 1): 4, ("pending", 1): 1, ("pending", 0): 5}
        assert dispatch_due(engine, clock, target(server)) == 5  # not leased any more
        clock.advance(minutes=1)
        assert dispatch_due(engine, clock, target(server)) == 1
        assert sorted(server.ids()) == sorted(message_id_for(k) for k in keys)
    finally:
        server.stop()


def test_an_unrenderable_row_is_dead_not_retried(
    engine: Engine, sqlite_url: str, server: Server, clock: FixedClock
) -> None:
    with engine.begin() as conn:
        insert_outbox(conn, OutboxMessage("bad", "breach", ("a@example.org",), {"case_ref": "X"}), clock.now())
    assert dispatch_due(engine, clock, target(server)) == 0
    (row,) = rows(engine)
    assert row.status == "dead"
    assert "cannot render breach" in row.last_error


def test_the_scheduler_sends_through_the_configured_server_as_carepath(
    sqlite_url: str, server: Server, clock: FixedClock, sample_registry: WorkflowRegistry
) -> None:
    """``MailService.send``: the scheduler's tick (the system user) or an administrator, nobody else."""
    relay = {"host": "127.0.0.1", "port": server.port, "security": "none", "sender": "carepath@example.org"}
    settings = Settings(database_url=sqlite_url, smtp=relay)  # type: ignore[arg-type]
    app = App(settings, clock, make_engine(sqlite_url), sample_registry)
    try:
        keys = fill(app.engine, 3, clock.now())
        app.people.add_user(ADMIN, "Admin", ["admin"], None)
        app.people.add_user(CASEWORKER, "Caseworker", ["caseworker"], ADMIN)
        with pytest.raises(NotPermitted, match=r"^cw@example\.org may not mail\.send: needs role admin$"):
            app.mail.send(app.directory.actor(CASEWORKER))
        assert server.ids() == []
        assert app.mail.send(app.system) == MailRun(sent=3, pending=0, dead=0)
        assert sorted(server.ids()) == sorted(message_id_for(k) for k in keys)
        assert app.mail.send(app.directory.actor(ADMIN)) == MailRun(sent=0, pending=0, dead=0)
    finally:
        app.dispose()


# -- real processes ----------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys, time
    from datetime import timedelta
    from carepath.engine.clock import SystemClock
    from carepath.notifications.dispatch import SmtpTarget, dispatch_due
    from carepath.storage.db import make_engine
    from carepath.storage.queries.mail import MailQueries
    url, port, lease = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    engine = make_engine(url)
    target = SmtpTarget("127.0.0.1", port, "none", "carepath@example.org", timeout=5)
    print("ready", flush=True)
    while True:
        n = dispatch_due(engine, SystemClock(), target, batch_size=20, flush_every=5, lease=timedelta(seconds=lease))
        print("sent", n, flush=True)
        if MailQueries(engine).counts()["pending"] == 0:
            break
        if n == 0:
            time.sleep(0.05)
""")


def child(url: str, port: int, lease: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(port), str(lease)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_dispatcher_killed_at_random_points_loses_nothing(sqlite_url: str, server: Server) -> None:
    engine = make_engine(sqlite_url)
    keys = fill(engine, 200, datetime.now(UTC))
    rng = random.Random(5)
    kills = 0
    while kills < 6 and counts(engine)["pending"]:
        p = child(sqlite_url, server.port, lease=1.0)
        assert p.stdout is not None
        p.stdout.readline()  # "ready": imports done, now dispatching
        time.sleep(rng.uniform(0.0, 0.25))
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
    p = child(sqlite_url, server.port, lease=1.0)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err[-2000:]
    received = Counter(server.ids())
    expected = {message_id_for(k) for k in keys}
    assert set(received) == expected  # nothing lost, nothing foreign: duplicates carry the same Message-ID
    assert counts(engine) == {"pending": 0, "sent": 200, "dead": 0}
    engine.dispose()


@pytest.mark.postgres
def test_two_dispatchers_on_postgresql_send_each_message_once(server: Server) -> None:
    from carepath.storage.migrate import upgrade
    from tests.conftest import drop_pg, fresh_pg_url

    url = fresh_pg_url()
    engine = make_engine(url)
    try:
        upgrade(engine)
        keys = fill(engine, 300, datetime.now(UTC))
        workers = [child(url, server.port, lease=60) for _ in range(2)]
        outputs = [w.communicate(timeout=180) for w in workers]
        assert [w.returncode for w in workers] == [0, 0], [e[-2000:] for _, e in outputs]
        sent_by = [
            sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("sent")) for out, _ in outputs
        ]
        assert all(n > 0 for n in sent_by), sent_by  # both took part
        received = Counter(server.ids())
        assert set(received) == {message_id_for(k) for k in keys}
        assert max(received.values()) == 1  # no duplicates
    finally:
        engine.dispose()
        drop_pg(url)


# -- TLS and authentication ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (openssl), as (cert file, key file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"carepath", b"s3cret")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535 itself


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_authentication_from_the_settings(
    security: str, certificate: tuple[str, str], engine: Engine, sqlite_url: str, clock: FixedClock
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    received = Server()
    # aiosmtpd offers AUTH on an implicit-TLS connection only with auth_require_tls off (it is all TLS anyway)
    tls: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        if security == "starttls"
        else {"ssl_context": context, "auth_require_tls": False}
    )
    controller = Controller(received, hostname="127.0.0.1", port=received.port, authenticator=authenticator, **tls)
    controller.start()
    try:
        (key,) = fill(engine, 1, clock.now())
        wrong = SmtpTarget("127.0.0.1", received.port, security, "carepath@example.org", "carepath", "guess",
                           ca_file=certificate[0])  # fmt: skip
        assert dispatch_due(engine, clock, wrong) == 0
        (row,) = rows(engine)
        assert row.status == "pending"
        assert "535" in row.last_error
        clock.advance(minutes=1)
        right = SmtpTarget("127.0.0.1", received.port, security, "carepath@example.org", "carepath", "s3cret",
                           ca_file=certificate[0])  # fmt: skip
        assert dispatch_due(engine, clock, right) == 1
        assert received.ids() == [message_id_for(key)]
    finally:
        controller.stop()


def test_the_smtp_target_comes_from_the_settings() -> None:
    catcher = smtp_target(Settings(catcher={"host": "127.0.0.1", "port": 2525}))  # type: ignore[arg-type]
    assert (catcher.host, catcher.port, catcher.security, catcher.username) == ("127.0.0.1", 2525, "none", None)
    relay = smtp_target(
        Settings(smtp={"host": "smtp.example.gov.uk", "port": 465, "security": "tls", "username": "u",  # type: ignore[arg-type]
                       "password": "p", "sender": "carepath@example.gov.uk"})
    )  # fmt: skip
    assert (relay.host, relay.port, relay.security, relay.username, relay.password, relay.sender) == (
        "smtp.example.gov.uk", 465, "tls", "u", "p", "carepath@example.gov.uk"
    )  # fmt: skip


def test_a_recipient_that_is_not_one_plain_address_is_refused_at_send(
    engine: Engine, server: Server, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Reproductions from issue 10: an address with CRLF and a Bcc, and a comma list, in the users table."""
    crlf, comma = "crlf@council.example\r\nBcc: leak1@evil.example", "comma@council.example, leak2@evil.example"
    with engine.begin() as conn:
        assert insert_outbox(
            conn, OutboxMessage("k:bad", "breach", (crlf, comma), context("SM-2026-0001")), clock.now()
        )
        mixed = OutboxMessage("k:mixed", "breach", (crlf, "owner@council.example"), context("SM-2026-0002"))
        assert insert_outbox(conn, mixed, clock.now())
    with caplog.at_level("WARNING", logger="carepath.notifications.dispatch"):
        assert dispatch_due(engine, clock, target(server)) == 1
    bad, sent = rows(engine)
    assert bad.status == "dead"
    assert bad.last_error.startswith("no valid recipient, nothing sent: ")
    assert "'crlf@council.example\\r\\nBcc: " in bad.last_error  # escaped, never a line break
    assert "'comma@council.example, leak2@evil.example': not one plain address" in bad.last_error
    assert "\r" not in bad.last_error
    assert sent.status == "sent"
    (msg,) = server.received
    assert [a.addr_spec for a in msg["To"].addresses] == ["owner@council.example"]
    assert "Bcc" not in msg
    assert "recipients left out" in caplog.text


def test_days_overdue_are_counted_on_the_day_the_dispatcher_sends(engine: Engine, server: Server) -> None:
    """Queued on the due date, sent weeks later: the email says what is true then, closures included."""
    clock = FixedClock(datetime(2026, 10, 8, 9, tzinfo=UTC))
    with engine.begin() as conn:
        message = OutboxMessage("k:esc", "escalation", ("sm@example.org",), context("SM-2026-0001"))
        assert insert_outbox(conn, message, clock.now())
    clock.set(datetime(2026, 10, 30, 9, tzinfo=UTC))  # Friday: 16 working days after Thursday 8 October
    closed = WorkingCalendar(closures=[date(2026, 10, 26)])
    assert dispatch_due(engine, clock, target(server), calendar=closed) == 1
    (msg,) = server.received
    assert msg["Subject"] == "Escalation (tier 0): SM-2026-0001 Enquiry to visit 15 working days overdue"
