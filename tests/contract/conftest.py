"""One contract suite, three backends: the in-memory fake, a SQLite file, PostgreSQL.

Each test gets a ``Backend``: a unit of work (with the bus the test gives it), the sweep's
claims, and reads of the committed rows the ports cannot read back (outbox, audit, timers,
void deadlines). SQLite files are copies of one migrated template; PostgreSQL tests share
one migrated database, emptied before each test (marked ``postgres``: they skip without a
server and fail without one when ``CI=true``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import Engine, select, update

from carepath.engine.bus import MessageBus
from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import Case, Event
from carepath.engine.clock import FixedClock
from carepath.engine.deadlines import Deadline
from carepath.engine.events import Audited, CaseMoved, StateAnnounced, TimerRaised
from carepath.engine.ports import OutboxMessage, Transaction, UnitOfWork
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.services import TimerService, write_audit
from carepath.engine.services.timers import TimerClaims
from carepath.notifications.routing import Notifier, Routing
from carepath.storage.db import make_engine
from carepath.storage.migrate import upgrade
from carepath.storage.sweep import SqlTimerClaims
from carepath.storage.tables import AUDIT, CASES, DEADLINES, EVENTS, METADATA, OUTBOX, TIMERS
from carepath.storage.uow import SqlUnitOfWork, case_from_row, deadline_from_row, event_from_row
from carepath.workflows.loader import load_registry
from tests.conftest import FIXTURES, drop_pg, fresh_pg_url
from tests.fakes import FakeTimerClaims, FakeUnitOfWork

#: Monday 2 November 2026, 09:00 UTC.
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 2)


@dataclass(frozen=True)
class Mail:
    id: int
    key: str
    kind: str
    case_id: int | None
    recipients: tuple[str, ...]
    status: str
    attempts: int
    context: dict[str, Any]


@dataclass(frozen=True)
class TimerView:
    id: int
    deadline_id: int
    case_id: int
    key: str
    kind: str
    tier: int
    fire_on: date
    fired_at: datetime | None
    outcome: str | None
    claimed_by: str | None


@dataclass(frozen=True)
class AuditView:
    actor_id: int | None
    action: str
    subject: str
    detail: dict[str, Any]


def timer_view(row: Any) -> TimerView:
    """A timer row (the fake's or SQL's) as the tests compare it."""
    return TimerView(*(getattr(row, name) for name in TimerView.__dataclass_fields__))


class Backend(Protocol):
    name: str
    clock: FixedClock

    def uow(self, bus: MessageBus | None = None) -> UnitOfWork: ...
    def claims(self, lease: timedelta = ..., batch: int = ...) -> TimerClaims: ...
    def case(self, ref: str) -> Case: ...
    def history(self, case_id: int) -> list[Event]: ...
    def deadlines(self, case_id: int) -> list[Deadline]: ...
    def timers(self, case_id: int | None = None) -> list[TimerView]: ...
    def outbox(self) -> list[Mail]: ...
    def audit(self) -> list[AuditView]: ...
    def mark_dead(self, key: str, error: str) -> None: ...


class FakeBackend:
    name = "fake"

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.fake = FakeUnitOfWork(clock)

    def uow(self, bus: MessageBus | None = None) -> FakeUnitOfWork:
        self.fake.bus = bus or MessageBus()
        return self.fake

    def claims(self, lease: timedelta = timedelta(minutes=5), batch: int = 2000) -> FakeTimerClaims:
        return FakeTimerClaims(self.fake, self.clock, lease, batch)

    def case(self, ref: str) -> Case:
        return self.fake.case(ref)

    def history(self, case_id: int) -> list[Event]:
        return self.fake.history(case_id)

    def deadlines(self, case_id: int) -> list[Deadline]:
        return self.fake.deadlines(case_id, void=True)

    def timers(self, case_id: int | None = None) -> list[TimerView]:
        return [timer_view(t) for t in self.fake.timers(case_id)]

    def outbox(self) -> list[Mail]:
        return [
            Mail(m.id, m.key, m.kind, m.case_id, m.recipients, m.status, m.attempts, dict(m.context))
            for m in self.fake.outbox()
        ]

    def audit(self) -> list[AuditView]:
        return [AuditView(a.actor_id, a.action, a.subject, dict(a.detail)) for a in self.fake.audit()]

    def mark_dead(self, key: str, error: str) -> None:
        self.fake.mark_dead(key, error)


class SqlBackend:
    def __init__(self, name: str, engine: Engine, clock: FixedClock) -> None:
        self.name = name
        self.engine = engine
        self.clock = clock

    def uow(self, bus: MessageBus | None = None) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, bus)

    def claims(self, lease: timedelta = timedelta(minutes=5), batch: int = 2000) -> SqlTimerClaims:
        return SqlTimerClaims(self.engine, self.clock, lease, batch)

    def _rows(self, stmt: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(stmt))

    def case(self, ref: str) -> Case:
        (row,) = self._rows(select(CASES).where(CASES.c.ref == ref))
        return case_from_row(row)

    def history(self, case_id: int) -> list[Event]:
        return [
            event_from_row(r)
            for r in self._rows(select(EVENTS).where(EVENTS.c.case_id == case_id).order_by(EVENTS.c.seq))
        ]

    def deadlines(self, case_id: int) -> list[Deadline]:
        stmt = select(DEADLINES).where(DEADLINES.c.case_id == case_id).order_by(DEADLINES.c.id)
        return [deadline_from_row(r) for r in self._rows(stmt)]

    def timers(self, case_id: int | None = None) -> list[TimerView]:
        stmt = select(TIMERS).order_by(TIMERS.c.id)
        if case_id is not None:
            stmt = stmt.where(TIMERS.c.case_id == case_id)
        return [timer_view(r) for r in self._rows(stmt)]

    def outbox(self) -> list[Mail]:
        return [
            Mail(r.id, r.key, r.kind, r.case_id, tuple(r.recipients), r.status, r.attempts, dict(r.context))
            for r in self._rows(select(OUTBOX).order_by(OUTBOX.c.id))
        ]

    def audit(self) -> list[AuditView]:
        return [
            AuditView(r.actor_id, r.action, r.subject, dict(r.detail))
            for r in self._rows(select(AUDIT).order_by(AUDIT.c.id))
        ]

    def mark_dead(self, key: str, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.key == key).values(status="dead", last_error=error))


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def contract_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("contract") / "carepath.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def contract_pg() -> Iterator[str]:
    """One migrated PostgreSQL database for the suite (emptied before each test)."""
    url = fresh_pg_url()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    drop_pg(url)


def _empty_pg(engine: Engine) -> None:
    # DELETE, not TRUNCATE: on a dozen small tables it is ten times faster. Ids run on.
    with engine.begin() as conn:
        for table in reversed(METADATA.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, clock: FixedClock, tmp_path: Path) -> Iterator[Backend]:
    """The fake, then a SQLite file, then PostgreSQL."""
    if request.param == "fake":
        yield FakeBackend(clock)
        return
    if request.param == "sqlite":
        path = tmp_path / "carepath.db"
        shutil.copyfile(request.getfixturevalue("contract_template"), path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = make_engine(request.getfixturevalue("contract_pg"))
        _empty_pg(engine)
    yield SqlBackend(request.param, engine, clock)
    engine.dispose()


@pytest.fixture(scope="session")
def registry() -> WorkflowRegistry:
    """The sample journey (tests/fixtures/sample.v1.yaml)."""
    return load_registry(FIXTURES)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar("ENG")


def mail_on_move(event: CaseMoved, tx: Transaction) -> None:
    """A test handler: every case event queues one email to the case's owner."""
    to = tx.recipients(("owner",), owner_id=event.case.owner_id, team_id=event.case.team_id)
    if to:
        key = f"moved:{event.case.id}:{event.event.seq}"
        context = {"case_ref": event.case.ref, "trigger": event.event.trigger}
        tx.enqueue(OutboxMessage(key, "moved", tuple(to), context, event.case.id))


def make_bus(calendar: WorkingCalendar, clock: FixedClock) -> MessageBus:
    """The bootstrap's handlers (notifier, audit) plus ``mail_on_move``."""
    notifier = Notifier(Routing("https://carepath.test"), calendar, clock)
    return MessageBus(
        {
            CaseMoved: [mail_on_move],
            TimerRaised: [notifier.on_timer_raised],
            StateAnnounced: [notifier.on_state_announced],
            Audited: [write_audit],
        }
    )


@pytest.fixture
def bus(calendar: WorkingCalendar, clock: FixedClock) -> MessageBus:
    return make_bus(calendar, clock)


@pytest.fixture
def uow(backend: Backend, bus: MessageBus) -> UnitOfWork:
    return backend.uow(bus)


@pytest.fixture
def timer_service(backend: Backend, uow: UnitOfWork, registry: WorkflowRegistry, clock: FixedClock) -> TimerService:
    return TimerService(uow, backend.claims(), registry, clock)
