"""The SQL unit of work: ``engine.ports.Transaction`` on SQLAlchemy Core statements.

Statements are built once at import (DESIGN.md §4: per-call construction costs 3x).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from engine.case import Case, Event
from engine.clock import Clock
from engine.deadlines import Deadline
from engine.errors import CaseNotFound, ConcurrencyConflict, InvalidInput
from engine.timers import Timer
from storage.tables import CaseEvent, CaseRow, DeadlineRow, ReferenceCounter, TimerRow

C = CaseRow.__table__.c  # type: ignore[attr-defined]
E = CaseEvent.__table__.c  # type: ignore[attr-defined]
D = DeadlineRow.__table__.c  # type: ignore[attr-defined]
T = TimerRow.__table__.c  # type: ignore[attr-defined]
CASE = CaseRow.__table__  # type: ignore[attr-defined]
EVENT = CaseEvent.__table__  # type: ignore[attr-defined]
DEADLINE = DeadlineRow.__table__  # type: ignore[attr-defined]
TIMER = TimerRow.__table__  # type: ignore[attr-defined]
COUNTER = ReferenceCounter.__table__  # type: ignore[attr-defined]

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
_SELECT_CASE = select(*(C[n] for n in _CASE_COLS)).where(C.ref == bindparam("ref"))
_SELECT_CASE_PG = _SELECT_CASE.with_for_update()
_UPDATE_CASE = (
    update(CASE)
    .where(and_(C.id == bindparam("b_id"), C.version == bindparam("b_expected")))
    .values({n: bindparam(n) for n in (*_CASE_COLS[4:], "updated_at") if n != "opened_on"})
)
_INSERT_EVENT = insert(EVENT)
_SELECT_EVENTS = select(EVENT).where(E.case_id == bindparam("case_id")).order_by(E.seq)
#: The write path's deadlines: not the "void" ones whose starting event was entered in error.
_SELECT_DEADLINES = select(DEADLINE).where(and_(D.case_id == bindparam("case_id"), D.status != "void"))
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
_SELECT_DEADLINE_KEYS = select(D.id, D.rule, D.cycle).where(D.case_id == bindparam("case_id"))
_UPDATE_DEADLINE = update(DEADLINE).where(D.id == bindparam("b_id")).values({n: bindparam(n) for n in _DEADLINE_FIELDS})
_INSERT_DEADLINE = insert(DEADLINE).returning(D.id)
_DELETE_PENDING_TIMERS = delete(TIMER).where(
    and_(T.deadline_id.in_(bindparam("ids", expanding=True)), T.fired_at.is_(None))
)
_SELECT_TIMER_KEYS = select(T.deadline_id, T.key).where(T.deadline_id.in_(bindparam("ids", expanding=True)))
_INSERT_TIMER = insert(TIMER)


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


#: Runs in the write transaction for each new event, once its case is saved (outbox rows).
EventHook = Callable[[Connection, Case, Event], None]


class SqlTransaction:
    """One open write transaction on a connection."""

    def __init__(self, conn: Connection, clock: Clock, on_event: Sequence[EventHook] = ()) -> None:
        self.conn = conn
        self.clock = clock
        self.postgres = conn.dialect.name == "postgresql"
        self.on_event = tuple(on_event)
        self._unannounced: list[Event] = []

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
        self.conn.execute(ins(COUNTER).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
        last: int = self.conn.execute(
            update(COUNTER)
            .where(and_(COUNTER.c.prefix == prefix, COUNTER.c.year == year))
            .values(last=COUNTER.c.last + 1)
            .returning(COUNTER.c.last)
        ).scalar_one()
        return f"{prefix}-{year}-{last:04d}"

    def add_case(self, case: Case) -> int:
        values = {n: getattr(case, n) for n in _CASE_COLS if n != "id"}
        try:
            return int(
                self.conn.execute(
                    insert(CASE).values(**values, updated_at=self.clock.now()).returning(C.id)
                ).scalar_one()
            )
        except IntegrityError as exc:
            raise InvalidInput(f"case reference {case.ref!r} is already taken") from exc

    def save_case(self, case: Case, expected_version: int) -> None:
        values = {n: getattr(case, n) for n in _CASE_COLS[4:] if n != "opened_on"}
        result = self.conn.execute(
            _UPDATE_CASE,
            {**values, "updated_at": self.clock.now(), "b_id": case.id, "b_expected": expected_version},
        )
        if result.rowcount != 1:
            actual = self.conn.execute(select(C.version).where(C.id == case.id)).scalar()
            raise ConcurrencyConflict(case.ref, expected_version, actual)
        self._announce(case)

    def _announce(self, case: Case) -> None:
        """Run the event hooks for this case's new events, now that the case is as they left it."""
        if not self._unannounced:
            return
        mine = [e for e in self._unannounced if e.case_id == case.id]
        self._unannounced = [e for e in self._unannounced if e.case_id != case.id]
        for event in mine:
            for hook in self.on_event:
                hook(self.conn, case, event)

    def add_event(self, event: Event) -> None:
        self.conn.execute(
            _INSERT_EVENT,
            {
                "case_id": event.case_id,
                "seq": event.seq,
                "trigger": event.trigger,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "effective_on": event.effective_on,
                "recorded_at": event.recorded_at,
                "actor_id": event.actor_id,
                "note": event.note,
                "payload": dict(event.payload),
            },
        )
        if self.on_event:
            self._unannounced.append(event)

    def deadlines(self, case_id: int) -> list[Deadline]:
        return [deadline_from_row(r) for r in self.conn.execute(_SELECT_DEADLINES, {"case_id": case_id})]

    def save_deadlines(
        self, case_id: int, deadlines: Sequence[Deadline], timers: Sequence[Timer], *, replace_all: bool
    ) -> None:
        ids = self._upsert_deadlines(case_id, deadlines)
        if replace_all:
            keep = list(ids.values())
            gone = select(D.id).where(and_(D.case_id == case_id, D.id.not_in(keep)))
            self.conn.execute(delete(TIMER).where(and_(T.deadline_id.in_(gone), T.fired_at.is_(None))))
            self.conn.execute(update(DEADLINE).where(D.id.in_(gone)).values(status="void"))
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
    """Write transactions on one engine (``BEGIN IMMEDIATE`` on SQLite, see storage.db)."""

    def __init__(self, engine: Engine, clock: Clock, on_event: EventHook | Sequence[EventHook] | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.on_event: tuple[EventHook, ...] = (
            () if on_event is None else (on_event,) if callable(on_event) else tuple(on_event)
        )

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self.engine.begin() as conn:
            yield SqlTransaction(conn, self.clock, self.on_event)
