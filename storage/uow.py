"""The SQL unit of work: ``engine.ports.Transaction`` on SQLAlchemy Core statements.

Statements are built once at import: building them per call cost a third of a transition
(bench/transitions.py). On SQLite, the statements of a case change (case, event, deadlines,
timers) run as ``storage.db.Prepared``: the same compiled SQL and type conversions on the
DBAPI connection, without SQLAlchemy's per-statement cost, unless something listens to
statements (then everything goes through ``Connection.execute``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ClauseElement, operators
from sqlalchemy.sql.expression import UnaryExpression

from carepath.engine.bus import MessageBus
from carepath.engine.case import Case, Event
from carepath.engine.clock import Clock
from carepath.engine.deadlines import Deadline
from carepath.engine.errors import CaseNotFound, ConcurrencyConflict, InvalidInput
from carepath.engine.events import DomainEvent
from carepath.engine.timers import Timer
from carepath.storage.admin import CalendarSql, OutboxSql, PanelSql
from carepath.storage.db import PreparedStatements, is_postgres
from carepath.storage.people import DirectorySql
from carepath.storage.rows import CASE_COLUMNS, case_of
from carepath.storage.sweep import TimerSql, event_row
from carepath.storage.tables import CASES, COUNTERS, DEADLINES, EVENTS, TIMERS

_SELECT_CASE = select(*(CASES.c[n] for n in CASE_COLUMNS)).where(CASES.c.ref == bindparam("ref"))
_SELECT_CASE_PG = _SELECT_CASE.with_for_update()
#: What a case change writes to its row (not the id, reference, journey or opening date).
_CASE_CHANGES = tuple(n for n in CASE_COLUMNS if n not in ("id", "ref", "workflow_id", "workflow_version", "opened_on"))
_UPDATE_CASE = (
    update(CASES)
    .where(and_(CASES.c.id == bindparam("b_id"), CASES.c.version == bindparam("b_expected")))
    .values({n: bindparam(n) for n in (*_CASE_CHANGES, "updated_at")})
)
_EVENT_COLS = (
    "case_id",
    "seq",
    "trigger",
    "from_state",
    "to_state",
    "effective_on",
    "recorded_at",
    "actor_id",
    "note",
    "payload",
)
_INSERT_EVENT = insert(EVENTS).values({n: bindparam(n) for n in _EVENT_COLS})
_SELECT_EVENTS = select(EVENTS).where(EVENTS.c.case_id == bindparam("case_id")).order_by(EVENTS.c.seq)
_DEADLINE_FIELDS = (
    "start_on",
    "raw_due_on",
    "due_on",
    "status",
    "met_on",
    "breached_on",
    "paused_since",
    "paused_days",
    "paused_working_days",
)
#: The write path's deadlines: not the "void" ones whose starting event was entered in error.
_DEADLINE_KEYS = ("id", "rule", "cycle", *_DEADLINE_FIELDS)
_SELECT_DEADLINES = select(*(DEADLINES.c[n] for n in _DEADLINE_KEYS)).where(
    and_(DEADLINES.c.case_id == bindparam("case_id"), DEADLINES.c.status != "void")
)
#: A deadline the caller read (it has an id): updated in place, all of a change's in one executemany.
_UPDATE_DEADLINE = (
    update(DEADLINES).where(DEADLINES.c.id == bindparam("b_id")).values({n: bindparam(n) for n in _DEADLINE_FIELDS})
)
_TIMER_COLS = ("deadline_id", "case_id", "key", "kind", "tier", "fire_on", "fire_at")


#: The deadline's copies of its case's owner and team (migration 0005), for the due lists' indexes.
_HANDS = ("owner_id", "team_id")
#: A case changed hands: its deadlines' copies follow.
_UPDATE_DEADLINE_HANDS = (
    update(DEADLINES).where(DEADLINES.c.case_id == bindparam("b_case")).values({n: bindparam(n) for n in _HANDS})
)


def _upsert_deadline(ins: Any) -> Any:
    """A deadline without an id: inserted, or (same case, rule and cycle, e.g. a void one) updated; its id."""
    fields = (*_DEADLINE_FIELDS, *_HANDS)
    stmt = ins(DEADLINES).values({n: bindparam(n) for n in ("case_id", "rule", "cycle", *fields)})
    return stmt.on_conflict_do_update(
        index_elements=["case_id", "rule", "cycle"], set_={n: stmt.excluded[n] for n in fields}
    ).returning(DEADLINES.c.id)


def _insert_timers(ins: Any) -> Any:
    """Planned timers; one whose key already fired for its deadline stays as it is (uq_timer_deadline_key)."""
    stmt = ins(TIMERS).values({n: bindparam(n) for n in _TIMER_COLS})
    return stmt.on_conflict_do_nothing(index_elements=["deadline_id", "key"])


#: Unfired timers. On SQLite "+fired_at" keeps the planner off ix_timer_pending (fired_at, fire_at):
#: with it, deleting a case's pending timers scanned every pending timer (O(open deadlines)).
_PENDING = {
    "sqlite": UnaryExpression(TIMERS.c.fired_at, operator=operators.custom_op("+")).is_(None),
    "postgresql": TIMERS.c.fired_at.is_(None),
}
_UPSERT_DEADLINE = {"sqlite": _upsert_deadline(sqlite_insert), "postgresql": _upsert_deadline(pg_insert)}
#: A changed deadline's pending timers, by the deadline's index (uq_timer_deadline_key), one executemany.
_DELETE_PENDING_TIMERS = {
    d: delete(TIMERS).where(and_(TIMERS.c.deadline_id == bindparam("d_id"), pending)) for d, pending in _PENDING.items()
}
_INSERT_TIMERS = {"sqlite": _insert_timers(sqlite_insert), "postgresql": _insert_timers(pg_insert)}


def case_from_row(row: Any) -> Case:
    """Map a case row (mapping) to the engine's ``Case``."""
    m = row._mapping if hasattr(row, "_mapping") else row
    return case_of([m[n] for n in CASE_COLUMNS])


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
    return _deadline([m[n] for n in _DEADLINE_KEYS])


def _deadline(r: Sequence[Any]) -> Deadline:
    """A ``_SELECT_DEADLINES`` row (tuple or Row), by position."""
    return Deadline(**dict(zip(_DEADLINE_KEYS, r, strict=True)))


class SqlTransaction(TimerSql, DirectorySql, OutboxSql, PanelSql, CalendarSql):
    """One open write transaction on a connection: every port of ``engine.ports.Transaction``."""

    def __init__(self, conn: Connection, clock: Clock, prepared: PreparedStatements | None = None) -> None:
        self.conn = conn
        self.clock = clock
        self.postgres = is_postgres(conn)
        self.dialect = conn.dialect.name
        self._events: list[DomainEvent] = []
        self._queued: dict[str, dict[str, Any]] = {}
        self._now: datetime | None = None
        #: (owner, team) of each case this transaction read or wrote: its deadlines carry copies.
        self._hands: dict[int, tuple[int | None, int | None]] = {}
        #: The DBAPI connection, when ``prepared`` statements may run on it (SQLite, nobody listening).
        self._prepared = prepared
        self._dbapi: Any = None
        if prepared is not None and prepared.usable(conn.engine):
            self._dbapi = conn.connection.dbapi_connection

    # -- running the case-change statements (prepared on SQLite, Core otherwise) ---------------

    def _first(self, stmt: ClauseElement, params: Mapping[str, Any]) -> Sequence[Any] | None:
        if self._dbapi is None:
            return self.conn.execute(stmt, params).first()  # type: ignore[call-overload,no-any-return]
        assert self._prepared is not None
        prepared = self._prepared[stmt]
        row = prepared.execute(self._dbapi, params).fetchone()
        return None if row is None else prepared.row(row)

    def _all(self, stmt: ClauseElement, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        if self._dbapi is None:
            return list(self.conn.execute(stmt, params))  # type: ignore[call-overload]
        assert self._prepared is not None
        prepared = self._prepared[stmt]
        return [prepared.row(r) for r in prepared.execute(self._dbapi, params).fetchall()]

    def write(self, stmt: ClauseElement, params: Mapping[str, Any]) -> int:
        """Run a prebuilt write statement in this transaction (prepared on SQLite); the rows it matched.

        For the stores that wrap a transaction (``storage.accounts.AccountSql``) as the mixins use it.
        """
        return self._write(stmt, params)

    def _write(self, stmt: ClauseElement, params: Mapping[str, Any]) -> int:
        """Run a write; the number of rows it matched."""
        if self._dbapi is None:
            return int(self.conn.execute(stmt, params).rowcount)  # type: ignore[call-overload]
        assert self._prepared is not None
        return int(self._prepared[stmt].execute(self._dbapi, params).rowcount)

    def _write_many(self, stmt: ClauseElement, rows: Sequence[Mapping[str, Any]]) -> None:
        if self._dbapi is None:
            self.conn.execute(stmt, rows)  # type: ignore[call-overload]
            return
        assert self._prepared is not None
        self._prepared[stmt].executemany(self._dbapi, rows)

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
        row = self._first(_SELECT_CASE_PG if self.postgres else _SELECT_CASE, {"ref": ref})
        if row is None:
            raise CaseNotFound(ref)
        case = case_of(row)
        assert case.id is not None
        self._hands[case.id] = (case.owner_id, case.team_id)
        return case

    def events(self, case_id: int) -> list[Event]:
        return [event_from_row(r) for r in self.conn.execute(_SELECT_EVENTS, {"case_id": case_id})]

    def next_reference(self, prefix: str, year: int) -> str:
        """The counter's next reference for ``prefix`` and ``year`` that no case holds yet.

        A reference given by hand (``open_case(ref=...)``, in the same pattern) may be ahead of the
        counter; the counter steps over it rather than hand it out again (the case row's unique
        reference would refuse it, and the person opening the case could do nothing about it).
        """
        ins = pg_insert if self.postgres else sqlite_insert
        self.conn.execute(ins(COUNTERS).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
        step = (
            update(COUNTERS)
            .where(and_(COUNTERS.c.prefix == prefix, COUNTERS.c.year == year))
            .values(last=COUNTERS.c.last + 1)
            .returning(COUNTERS.c.last)
        )
        while True:
            last: int = self.conn.execute(step).scalar_one()
            ref = f"{prefix}-{year}-{last:04d}"
            if self.conn.execute(select(CASES.c.id).where(CASES.c.ref == ref)).first() is None:
                return ref

    def add_case(self, case: Case) -> int:
        values = {n: getattr(case, n) for n in CASE_COLUMNS if n != "id"}
        try:
            case_id = int(
                self.conn.execute(
                    insert(CASES).values(**values, updated_at=self.now()).returning(CASES.c.id)
                ).scalar_one()
            )
            self._hands[case_id] = (case.owner_id, case.team_id)
            return case_id
        except IntegrityError as exc:
            if "unique" in str(exc.orig).lower():
                raise InvalidInput(f"case reference {case.ref!r} is already taken") from exc
            raise InvalidInput(f"the case's owner {case.owner_id} or team {case.team_id} does not exist") from exc

    def save_case(self, case: Case, expected_version: int) -> None:
        params = {
            "state": case.state,
            "status": case.status,
            "held_from": case.held_from,
            "facts": case.facts,
            "owner_id": case.owner_id,
            "team_id": case.team_id,
            "exit_reason": case.exit_reason,
            "last_event_on": case.last_event_on,
            "last_seq": case.last_seq,
            "version": case.version,
            "updated_at": self.now(),
            "b_id": case.id,
            "b_expected": expected_version,
        }
        if self._write(_UPDATE_CASE, params) != 1:
            actual = self.conn.execute(select(CASES.c.version).where(CASES.c.id == case.id)).scalar()
            raise ConcurrencyConflict(case.ref, expected_version, actual)
        assert case.id is not None
        hands = (case.owner_id, case.team_id)
        if self._hands.get(case.id) != hands:
            self._write(_UPDATE_DEADLINE_HANDS, {"b_case": case.id, "owner_id": hands[0], "team_id": hands[1]})
            self._hands[case.id] = hands

    def add_event(self, event: Event) -> None:
        self._write(_INSERT_EVENT, event_row(event))

    def deadlines(self, case_id: int) -> list[Deadline]:
        return [_deadline(r) for r in self._all(_SELECT_DEADLINES, {"case_id": case_id})]

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
        pending = _PENDING[self.dialect]
        if replace_all:
            keep = list(ids.values())
            gone = select(DEADLINES.c.id).where(and_(DEADLINES.c.case_id == case_id, DEADLINES.c.id.not_in(keep)))
            self.conn.execute(delete(TIMERS).where(and_(TIMERS.c.deadline_id.in_(gone), pending)))
            self.conn.execute(update(DEADLINES).where(DEADLINES.c.id.in_(gone)).values(status="void"))
        if ids:
            self._write_many(_DELETE_PENDING_TIMERS[self.dialect], [{"d_id": i} for i in ids.values()])
        if timers:
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
            ]
            # A key that already fired for its deadline is not planned again: the insert skips it.
            self._write_many(_INSERT_TIMERS[self.dialect], rows)

    def _upsert_deadlines(self, case_id: int, deadlines: Sequence[Deadline]) -> dict[tuple[str, int], int]:
        """Write ``deadlines``; the id of each by (rule, cycle).

        One the caller read back (``deadlines()``: it has its id) is updated by id, all in one
        executemany; a new one (no id) is inserted, or updates the row of its case, rule and
        cycle if there is one (a void deadline comes back to life).
        """
        ids: dict[tuple[str, int], int] = {}
        updates: list[dict[str, Any]] = []
        upsert = _UPSERT_DEADLINE[self.dialect]
        owner_id, team_id = self._hands_of(case_id)
        for d in deadlines:
            values = {
                "start_on": d.start_on,
                "raw_due_on": d.raw_due_on,
                "due_on": d.due_on,
                "status": d.status,
                "met_on": d.met_on,
                "breached_on": d.breached_on,
                "paused_since": d.paused_since,
                "paused_days": d.paused_days,
                "paused_working_days": d.paused_working_days,
            }
            if d.id is not None:
                values["b_id"] = ids[d.key] = d.id
                updates.append(values)
            else:
                keys = {"case_id": case_id, "rule": d.rule, "cycle": d.cycle, "owner_id": owner_id, "team_id": team_id}
                row = self._first(upsert, {**keys, **values})
                assert row is not None
                ids[d.key] = int(row[0])
        if updates:
            self._write_many(_UPDATE_DEADLINE, updates)
        return ids

    def _hands_of(self, case_id: int) -> tuple[int | None, int | None]:
        """The case's (owner, team), as this transaction read or wrote them (or from its row)."""
        if case_id not in self._hands:
            row = self.conn.execute(select(CASES.c.owner_id, CASES.c.team_id).where(CASES.c.id == case_id)).one()
            self._hands[case_id] = (row.owner_id, row.team_id)
        return self._hands[case_id]


class SqlUnitOfWork:
    """Write transactions on one engine (``BEGIN IMMEDIATE`` on SQLite, see storage.db).

    Before each commits, the message bus handles the domain events recorded on it, so what
    the handlers write commits with the change or not at all.
    """

    def __init__(self, engine: Engine, clock: Clock, bus: MessageBus | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.bus = bus or MessageBus()
        self.prepared = PreparedStatements(engine)

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self.engine.begin() as conn:
            tx = SqlTransaction(conn, self.clock, self.prepared)
            yield tx
            self.bus.publish(tx)
            tx.flush_outbox()
