"""The unit of work's outbox, panel and calendar statements (mixins of ``SqlTransaction``)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from carepath.engine.errors import InvalidInput, NotFound
from carepath.engine.panels import DEFAULT_CAPACITY
from carepath.engine.ports import CalendarRecompute, OutboxMessage, OverrideKind, Requeued
from carepath.storage.tables import CASES, DEADLINES, OUTBOX, OVERRIDES, PANELS, RECOMPUTES


def message_id_for(key: str) -> str:
    """The stable ``Message-ID`` of the email with idempotency key ``key``."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@carepath>"


_INSERT_COLUMNS = ("key", "kind", "case_id", "recipients", "context", "status", "attempts", "next_attempt_at",
                   "message_id", "created_at")  # fmt: skip
_INSERT_OUTBOX = {
    name: ins(OUTBOX)
    .values({c: bindparam(c) for c in _INSERT_COLUMNS})
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(OUTBOX.c.id)
    for name, ins in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}


#: Several rows at once (the unit of work's queued messages, one executemany before commit).
_INSERT_OUTBOX_MANY = {
    name: ins(OUTBOX).values({c: bindparam(c) for c in _INSERT_COLUMNS}).on_conflict_do_nothing(index_elements=["key"])
    for name, ins in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}


def _outbox_row(message: OutboxMessage, now: datetime) -> dict[str, Any]:
    if not message.recipients:
        raise InvalidInput(f"outbox {message.key}: no recipients")
    return {
        "key": message.key,
        "kind": message.kind,
        "case_id": message.case_id,
        "recipients": sorted(set(message.recipients)),
        "context": dict(message.context),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "message_id": message_id_for(message.key),
        "created_at": now,
    }


def insert_outbox(conn: Connection, message: OutboxMessage, now: datetime) -> bool:
    """Queue ``message`` in the caller's transaction unless its key is there; whether it was added."""
    row = conn.execute(_INSERT_OUTBOX[conn.dialect.name], _outbox_row(message, now)).first()
    return row is not None  # rowcount is -1 here on psycopg; RETURNING tells


class OutboxSql:
    """Outbox rows written with the change that causes them."""

    conn: Connection

    def now(self) -> datetime:  # provided by SqlTransaction
        raise NotImplementedError

    _queued: dict[str, dict[str, Any]]

    def enqueue(self, message: OutboxMessage) -> None:
        # Held until the transaction's domain events are all handled, then written in one executemany
        # (``flush_outbox``): a sweep of 10,000 timers made 10,000 INSERT round trips before.
        if message.key not in self._queued:
            self._queued[message.key] = _outbox_row(message, self.now())

    def flush_outbox(self) -> None:
        """Write the queued messages (a key already in the outbox is left as it is)."""
        if self._queued:
            self.conn.execute(_INSERT_OUTBOX_MANY[self.conn.dialect.name], list(self._queued.values()))
            self._queued = {}

    def requeue(self, outbox_id: int) -> Requeued:
        row = self.conn.execute(select(OUTBOX).where(OUTBOX.c.id == outbox_id)).first()
        if row is None:
            raise NotFound("outbox message", str(outbox_id))
        if row.status != "dead":
            raise InvalidInput(f"outbox message {outbox_id} is {row.status}, not dead; only dead messages are retried")
        self.conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == outbox_id)
            .values(status="pending", attempts=0, next_attempt_at=self.now(), claimed_until=None)
        )
        return Requeued(row.id, row.key, row.kind, tuple(row.recipients), row.last_error)


class PanelSql:
    """Panel sittings as the ``Panels`` port sees them (``storage.panels`` has the rest)."""

    conn: Connection

    def now(self) -> datetime:  # provided by SqlTransaction
        raise NotImplementedError

    def add_sitting(self, day: date, panel_type: str) -> None:
        values = {
            "day": day,
            "panel_type": panel_type,
            "place": "",
            "capacity": DEFAULT_CAPACITY,
            "status": "planned",
            "created_at": self.now(),
        }
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(PANELS).values(values))
        except IntegrityError as exc:
            raise InvalidInput(f"a {panel_type} panel is already booked on {day.isoformat()}") from exc

    def sitting_days(self, panel_type: str | None, since: date | None) -> list[tuple[date, str]]:
        return sitting_days(self.conn, panel_type, since)


def sitting_days(conn: Connection, panel_type: str | None, since: date | None) -> list[tuple[date, str]]:
    """Sittings not cancelled (day, type) in date order, of one type and from ``since`` if given."""
    stmt: Any = (
        select(PANELS.c.day, PANELS.c.panel_type)
        .where(PANELS.c.status != "cancelled")
        .order_by(PANELS.c.day, PANELS.c.panel_type)
    )
    if panel_type is not None:
        stmt = stmt.where(PANELS.c.panel_type == panel_type)
    if since is not None:
        stmt = stmt.where(PANELS.c.day >= since)
    return [(r.day, r.panel_type) for r in conn.execute(stmt)]


class CalendarSql:
    """Local calendar overrides."""

    conn: Connection

    def now(self) -> datetime:  # provided by SqlTransaction
        raise NotImplementedError

    def add_override(self, day: date, kind: OverrideKind, reason: str) -> None:
        if self.conn.execute(select(OVERRIDES.c.day).where(OVERRIDES.c.day == day)).first():
            raise InvalidInput(f"{day} already has an override; remove it first")
        self.conn.execute(insert(OVERRIDES).values(day=day, kind=kind, reason=reason, created_at=self.now()))

    def remove_override(self, day: date) -> None:
        if self.conn.execute(delete(OVERRIDES).where(OVERRIDES.c.day == day)).rowcount != 1:
            raise NotFound("calendar override on", day.isoformat())

    def overrides(self) -> list[tuple[date, OverrideKind]]:
        return calendar_overrides(self.conn)

    def start_recompute(self, day: date) -> CalendarRecompute:
        total = self.conn.execute(select(func.count()).select_from(_spanning(day).subquery())).scalar_one()
        now = self.now()
        finished = None if total else now
        values = {"day": day, "total": total, "done": 0, "started_at": now, "finished_at": finished}
        new_id: int = self.conn.execute(insert(RECOMPUTES).values(values).returning(RECOMPUTES.c.id)).scalar_one()
        return CalendarRecompute(new_id, day, total, 0, None, now, finished)

    def unfinished_recomputes(self) -> list[CalendarRecompute]:
        stmt = select(RECOMPUTES).where(RECOMPUTES.c.finished_at.is_(None)).order_by(RECOMPUTES.c.id)
        return [_recompute(r) for r in self.conn.execute(stmt)]

    def recompute_for_update(self, recompute_id: int) -> CalendarRecompute:
        stmt = select(RECOMPUTES).where(RECOMPUTES.c.id == recompute_id)
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = self.conn.execute(stmt).first()
        if row is None:
            raise NotFound("calendar recompute", str(recompute_id))
        return _recompute(row)

    def cases_spanning_after(self, day: date, after: str | None, limit: int) -> list[str]:
        """The next ``limit`` cases over ``day`` after case ``after``, in the order they were opened.

        Walks the cases by id from ``after`` and checks each one's own deadlines (the case's
        index), so a batch reads about ``limit`` / (share of cases over the day) cases, however
        many open deadlines the service holds; the order of references would mean collecting and
        sorting every case over the day for every batch.
        """
        status: Any = DEADLINES.c.status
        due_on: Any = DEADLINES.c.due_on
        if self.conn.dialect.name == "sqlite":
            # "+status", "+due_on": without statistics SQLite would look each case's deadlines up
            # in ix_deadline_status_due (every open deadline after the day), not by the case.
            status = UnaryExpression(status, operator=operators.custom_op("+"), type_=status.type)
            due_on = UnaryExpression(due_on, operator=operators.custom_op("+"), type_=due_on.type)
        over_day = (
            select(DEADLINES.c.id)
            .where(
                DEADLINES.c.case_id == CASES.c.id,
                status.in_(["open", "paused"]),
                DEADLINES.c.start_on <= day,
                due_on >= day,
            )
            .exists()
        )
        stmt = select(CASES.c.ref).where(over_day)
        if after is not None:
            stmt = stmt.where(CASES.c.id > select(CASES.c.id).where(CASES.c.ref == after).scalar_subquery())
        return [r.ref for r in self.conn.execute(stmt.order_by(CASES.c.id).limit(limit))]

    def record_recompute_progress(
        self, recompute_id: int, last_ref: str | None, done: int, *, finished: bool
    ) -> CalendarRecompute:
        values: dict[str, Any] = {"last_ref": last_ref, "done": done}
        if finished:
            values["finished_at"] = self.now()
        self.conn.execute(update(RECOMPUTES).where(RECOMPUTES.c.id == recompute_id).values(values))
        return self.recompute_for_update(recompute_id)


def _spanning(day: date) -> Any:
    """References of cases with an open or paused deadline over ``day`` (unordered, distinct)."""
    over_day = select(DEADLINES.c.case_id).where(
        DEADLINES.c.status.in_(["open", "paused"]), DEADLINES.c.start_on <= day, DEADLINES.c.due_on >= day
    )
    return select(CASES.c.ref).where(CASES.c.id.in_(over_day))


def _recompute(row: Row[Any]) -> CalendarRecompute:
    return CalendarRecompute(row.id, row.day, row.total, row.done, row.last_ref, row.started_at, row.finished_at)


def calendar_overrides(conn: Connection) -> list[tuple[date, OverrideKind]]:
    """Every local override (day, kind), by day."""
    stmt = select(OVERRIDES.c.day, OVERRIDES.c.kind).order_by(OVERRIDES.c.day)
    return [(r.day, r.kind) for r in conn.execute(stmt)]
