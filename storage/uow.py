"""The SQL unit of work: ``engine.ports.Transaction`` on SQLAlchemy Core statements.

Statements are built once at import: building them per call cost a third of a transition
(bench/transitions.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from engine.bus import MessageBus
from engine.case import Case, Event
from engine.clock import Clock
from engine.deadlines import Deadline
from engine.errors import CaseNotFound, ConcurrencyConflict, InvalidInput
from engine.events import DomainEvent
from engine.timers import Timer
from storage.admin import CalendarSql, OutboxSql, PanelSql
from storage.db import is_postgres
from storage.people import DirectorySql
from storage.sweep import TimerSql, event_row
from storage.tables import CASES, COUNTERS, DEADLINES, EVENTS, TIMERS

_CASE_COLS = (
    "id",
    "ref",
    "workflow_id",
    "workflow_version",
    "state",
    "status",
    "held_from",
    "facts",
    "owner_id",
    "team_id",
    "exit_reason",
    "opened_on",
    "last_event_on",
    "last_seq",
    "version",
)
_SELECT_CASE = select(*(CASES.c[n] for n in _CASE_COLS)).where(CASES.c.ref == bindparam("ref"))
_SELECT_CASE_PG = _SELECT_CASE.with_for_update()
_UPDATE_CASE = (
    update(CASES)
    .where(and_(CASES.c.id == bindparam("b_id"), CASES.c.version == bindparam("b_expected")))
    .values({n: bindparam(n) for n in (*_CASE_COLS[4:], "updated_at") if n != "opened_on"})
)
_INSERT_EVENT = insert(EVENTS)
_SELECT_EVENTS = select(EVENTS).where(EVENTS.c.case_id == bindparam("case_id")).order_by(EVENTS.c.seq)
#: The write path's deadlines: not the "void" ones whose starting event was entered in error.
_SELECT_DEADLINES = select(DEADLINES).where(
    and_(DEADLINES.c.case_id == bindparam("case_id"), DEADLINES.c.status != "void")
)
_DEADLINE_FIELDS = (
    "start_on",
    "raw_due_on",
    "due_on",
    "status",
    "met_on",
    "paused_since",
    "paused_days",
    "paused_working_days",
)
_SELECT_DEADLINE_KEYS = select(DEADLINES.c.id, DEADLINES.c.rule, DEADLINES.c.cycle).where(
    DEADLINES.c.case_id == bindparam("case_id")
)
_UPDATE_DEADLINE = (
    update(DEADLINES).where(DEADLINES.c.id == bindparam("b_id")).values({n: bindparam(n) for n in _DEADLINE_FIELDS})
)
_INSERT_DEADLINE = insert(DEADLINES).returning(DEADLINES.c.id)
_DELETE_PENDING_TIMERS = delete(TIMERS).where(
    and_(TIMERS.c.deadline_id.in_(bindparam("ids", expanding=True)), TIMERS.c.fired_at.is_(None))
)
_SELECT_TIMER_KEYS = select(TIMERS.c.deadline_id, TIMERS.c.key).where(
    TIMERS.c.deadline_id.in_(bindparam("ids", expanding=True))
)
_INSERT_TIMER = insert(TIMERS)


def case_from_row(row: Any) -> Case:
    """Map a case row (mapping) to the engine's ``Case``."""
    m = row._mapping if hasattr(row, "_mapping") else row
    return Case(**{n: m[n] for n in _CASE_COLS})


def event_from_row(row: Any) -> Event:
    """Map an event row to the engine's ``Event``."""
    m = row._mapping
    return Event(
        m["case_id"],
        m["seq"],
        m["trigger"],
        m["from_state"],
        m["to_state"],
        m["effective_on"],
        m["recorded_at"],
        m["actor_id"],
        m["note"],
        m["payload"],
    )


def deadline_from_row(row: Any) -> Deadline:
    """Map a deadline row to the engine's ``Deadline``."""
    m = row._mapping
    return Deadline(rule=m["rule"], cycle=m["cycle"], id=m["id"], **{n: m[n] for n in _DEADLINE_FIELDS})


class SqlTransaction(TimerSql, DirectorySql, OutboxSql, PanelSql, CalendarSql):
    """One open write transaction on a connection: every port of ``engine.ports.Transaction``."""

    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock
        self.postgres = is_postgres(conn)
        self._events: list[DomainEvent] = []
        self._now: datetime | None = None

    def now(self) -> datetime:
        """The clock's time, read once per transaction (every row it stamps agrees)."""
        if self._now is None:
            self._now = self.clock.now()
        return self._now

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def take_events(self) -> list[DomainEvent]:
        taken, self._events = self._events, []
        return taken

    def case_for_update(self, ref: str) -> Case:
        stmt = _SELECT_CASE_PG if self.postgres else _SELECT_CASE
        row = self.conn.execute(stmt, {"ref": ref}).first()
        if row is None:
            raise CaseNotFound(ref)
        return case_from_row(row)

    def events(self, case_id: int) -> list[Event]:
        return [event_from_row(r) for r in self.conn.execute(_SELECT_EVENTS, {"case_id": case_id})]

    def next_reference(self, prefix: str, year: int) -> str:
        ins = pg_insert if self.postgres else sqlite_insert
        self.conn.execute(ins(COUNTERS).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
        last: int = self.conn.execute(
            update(COUNTERS)
            .where(and_(COUNTERS.c.prefix == prefix, COUNTERS.c.year == year))
            .values(last=COUNTERS.c.last + 1)
            .returning(COUNTERS.c.last)
        ).scalar_one()
        return f"{prefix}-{year}-{last:04d}"

    def add_case(self, case: Case) -> int:
        values = {n: getattr(case, n) for n in _CASE_COLS if n != "id"}
        try:
            return int(
                self.conn.execute(
                    insert(CASES).values(**values, updated_at=self.now()).returning(CASES.c.id)
                ).scalar_one()
            )
        except IntegrityError as exc:
            if "unique" in str(exc.orig).lower():
                raise InvalidInput(f"case reference {case.ref!r} is already taken") from exc
            raise InvalidInput(f"the case's owner {case.owner_id} or team {case.team_id} does not exist") from exc

    def save_case(self, case: Case, expected_version: int) -> None:
        values = {n: getattr(case, n) for n in _CASE_COLS[4:] if n != "opened_on"}
        result = self.conn.execute(
            _UPDATE_CASE, {**values, "updated_at": self.now(), "b_id": case.id, "b_expected": expected_version}
        )
        if result.rowcount != 1:
            actual = self.conn.execute(select(CASES.c.version).where(CASES.c.id == case.id)).scalar()
            raise ConcurrencyConflict(case.ref, expected_version, actual)

    def add_event(self, event: Event) -> None:
        self.conn.execute(_INSERT_EVENT, event_row(event))

    def deadlines(self, case_id: int) -> list[Deadline]:
        return [deadline_from_row(r) for r in self.conn.execute(_SELECT_DEADLINES, {"case_id": case_id})]

    def cases_with_deadlines_spanning(self, day: date) -> list[str]:
        stmt = (
            select(CASES.c.ref)
            .distinct()
            .join(DEADLINES, DEADLINES.c.case_id == CASES.c.id)
            .where(DEADLINES.c.status.in_(["open", "paused"]), DEADLINES.c.due_on >= day, DEADLINES.c.start_on <= day)
            .order_by(CASES.c.ref)
        )
        return [r.ref for r in self.conn.execute(stmt)]

    def save_deadlines(
        self, case_id: int, deadlines: Sequence[Deadline], timers: Sequence[Timer], *, replace_all: bool
    ) -> None:
        ids = self._upsert_deadlines(case_id, deadlines)
        if replace_all:
            keep = list(ids.values())
            gone = select(DEADLINES.c.id).where(and_(DEADLINES.c.case_id == case_id, DEADLINES.c.id.not_in(keep)))
            self.conn.execute(delete(TIMERS).where(and_(TIMERS.c.deadline_id.in_(gone), TIMERS.c.fired_at.is_(None))))
            self.conn.execute(update(DEADLINES).where(DEADLINES.c.id.in_(gone)).values(status="void"))
        touched = list(ids.values())
        if touched:
            self.conn.execute(_DELETE_PENDING_TIMERS, {"ids": touched})
        if timers:
            fired = {(r.deadline_id, r.key) for r in self.conn.execute(_SELECT_TIMER_KEYS, {"ids": touched})}
            rows = [
                {
                    "deadline_id": ids[(t.rule, t.cycle)],
                    "case_id": case_id,
                    "key": t.key,
                    "kind": t.kind,
                    "tier": t.tier,
                    "fire_on": t.fire_on,
                    "fire_at": t.fire_at,
                }
                for t in timers
                if (ids[(t.rule, t.cycle)], t.key) not in fired
            ]
            if rows:
                self.conn.execute(_INSERT_TIMER, rows)

    def _upsert_deadlines(self, case_id: int, deadlines: Sequence[Deadline]) -> dict[tuple[str, int], int]:
        existing = {(r.rule, r.cycle): r.id for r in self.conn.execute(_SELECT_DEADLINE_KEYS, {"case_id": case_id})}
        ids: dict[tuple[str, int], int] = {}
        for d in deadlines:
            values = {n: getattr(d, n) for n in _DEADLINE_FIELDS}
            if d.key in existing:
                self.conn.execute(_UPDATE_DEADLINE, {**values, "b_id": existing[d.key]})
                ids[d.key] = existing[d.key]
            else:
                row = {"case_id": case_id, "rule": d.rule, "cycle": d.cycle, **values}
                ids[d.key] = int(self.conn.execute(_INSERT_DEADLINE, row).scalar_one())
        return ids


class SqlUnitOfWork:
    """Write transactions on one engine (``BEGIN IMMEDIATE`` on SQLite, see storage.db).

    Before each commits, the message bus handles the domain events recorded on it, so what
    the handlers write commits with the change or not at all.
    """

    def __init__(self, engine: Engine, clock: Clock, bus: MessageBus | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.bus = bus or MessageBus()

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self.engine.begin() as conn:
            tx = SqlTransaction(conn, self.clock)
            yield tx
            self.bus.publish(tx)
