"""The transactional outbox: rows inserted with the change that causes them, claimed and marked.

Every row has a unique idempotency key (``deadline:<id>:breach:0:<due>``, ``event:<case>:<seq>:<kind>``,
``digest:<manager id>:<local date>``); inserting the same key twice is a no-op. The
Message-ID is derived from the key, so a re-send after a crash carries the same Message-ID.

Claiming takes due rows with a lease (``claimed_until``): on PostgreSQL in one
``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``, on SQLite under the write lock
``BEGIN IMMEDIATE`` already holds. A crashed dispatcher's rows come back when the lease ends.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.errors import InvalidInput, NotFound
from storage.tables import OutboxRow

OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]
O = OUTBOX.c  # noqa: E741

#: First retry after about this long; each later one waits twice as long (with jitter).
BACKOFF_BASE = timedelta(seconds=30)
#: No retry waits longer than this.
BACKOFF_CAP = timedelta(hours=2)

Status = Literal["pending", "sent", "dead"]


def message_id_for(key: str) -> str:
    """The stable ``Message-ID`` of the email with idempotency key ``key``."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@carepath>"


def enqueue(
    conn: Connection,
    *,
    key: str,
    kind: str,
    recipients: Sequence[str],
    context: Mapping[str, Any],
    now: datetime,
    case_id: int | None = None,
) -> bool:
    """Insert one outbox row in the caller's transaction unless ``key`` is already there.

    Args:
        conn: the connection of the transaction that causes the email.
        key: idempotency key; a second insert with the same key does nothing.
        kind: template kind.
        recipients: email addresses (at least one).
        context: template fields: references, rule, dates, link; never case facts.
        now: the injected clock's time; the row is due at once.
        case_id: the case the email is about, if any.

    Returns:
        Whether a row was inserted.
    """
    if not recipients:
        raise InvalidInput(f"outbox {key}: no recipients")
    stmt = _INSERT_PG if conn.dialect.name == "postgresql" else _INSERT_SQLITE
    row = conn.execute(
        stmt,
        {
            "key": key,
            "kind": kind,
            "case_id": case_id,
            "recipients": sorted(set(recipients)),
            "context": dict(context),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "message_id": message_id_for(key),
            "created_at": now,
        },
    ).first()
    return row is not None  # rowcount is -1 here on psycopg; RETURNING tells


_INSERT_COLUMNS = ("key", "kind", "case_id", "recipients", "context", "status", "attempts", "next_attempt_at",
                   "message_id", "created_at")  # fmt: skip
_INSERT_SQLITE = (
    sqlite_insert(OUTBOX)
    .values({c: bindparam(c) for c in _INSERT_COLUMNS})
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(O.id)
)
_INSERT_PG = (
    pg_insert(OUTBOX)
    .values({c: bindparam(c) for c in _INSERT_COLUMNS})
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(O.id)
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """One outbox row a dispatcher holds a lease on."""

    id: int
    key: str
    kind: str
    recipients: tuple[str, ...]
    context: Mapping[str, Any]
    attempts: int
    message_id: str


def _claim_statement(now: datetime, limit: int, until: datetime, postgres: bool) -> Any:
    due = (
        select(O.id)
        .where(
            and_(
                O.status == "pending",
                O.next_attempt_at <= now,
                or_(O.claimed_until.is_(None), O.claimed_until <= now),
            )
        )
        .order_by(O.next_attempt_at, O.id)
        .limit(limit)
    )
    if postgres:
        due = due.with_for_update(skip_locked=True)
    return (
        update(OUTBOX)
        .where(O.id.in_(due.scalar_subquery()))
        .values(claimed_until=until)
        .returning(O.id, O.key, O.kind, O.recipients, O.context, O.attempts, O.message_id)
    )


def claim(engine: Engine, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Lease up to ``limit`` due rows, oldest first; other dispatchers skip them until the lease ends."""
    with engine.begin() as conn:
        return claim_in(conn, now, limit, lease)


def claim_in(conn: Connection, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """``claim`` in the caller's transaction."""
    if limit <= 0:
        return []
    stmt = _claim_statement(now, limit, now + lease, conn.dialect.name == "postgresql")
    rows = conn.execute(stmt).all()
    claimed = [Claimed(r.id, r.key, r.kind, tuple(r.recipients), r.context, r.attempts, r.message_id) for r in rows]
    return sorted(claimed, key=lambda c: c.id)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, capped, 50-100% jitter."""
    delay: timedelta = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    jitter: float = 0.5 + (rng or random).random() / 2
    return delay * jitter


@dataclass(slots=True)
class Outcomes:
    """What happened to claimed rows, written back in one transaction (``flush``)."""

    sent: list[int] = field(default_factory=list)
    retry: list[tuple[Claimed, str]] = field(default_factory=list)
    dead: list[tuple[Claimed, str]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sent or self.retry or self.dead or self.released)


_MARK_SENT = (
    update(OUTBOX)
    .where(and_(O.id.in_(bindparam("ids", expanding=True)), O.status == "pending"))
    .values(status="sent", attempts=O.attempts + 1, sent_at=bindparam("now"), claimed_until=None, last_error=None)
)
_MARK_FAILED = (
    update(OUTBOX)
    .where(and_(O.id == bindparam("b_id"), O.status == "pending"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next"),
        last_error=bindparam("b_error"),
        claimed_until=None,
    )
)
_RELEASE = update(OUTBOX).where(O.id.in_(bindparam("ids", expanding=True))).values(claimed_until=None)


def flush(
    engine: Engine, outcomes: Outcomes, now: datetime, max_attempts: int, rng: random.Random | None = None
) -> None:
    """Write ``outcomes`` back and clear them: sent, retry later (or dead after too many), dead."""
    if outcomes:
        with engine.begin() as conn:
            write_outcomes(conn, outcomes, now, max_attempts, rng)


def flush_and_claim(
    engine: Engine,
    outcomes: Outcomes,
    now: datetime,
    max_attempts: int,
    limit: int,
    lease: timedelta,
    rng: random.Random | None = None,
) -> list[Claimed]:
    """``flush``, then ``claim`` the next batch, in one transaction (one commit per batch)."""
    if not outcomes and limit <= 0:
        return []
    with engine.begin() as conn:
        write_outcomes(conn, outcomes, now, max_attempts, rng)
        return claim_in(conn, now, limit, lease)


def _failed_rows(outcomes: Outcomes, now: datetime, max_attempts: int, rng: random.Random | None) -> list[Any]:
    failed: list[dict[str, Any]] = []
    for item, error in outcomes.retry:
        attempts = item.attempts + 1
        give_up = attempts >= max_attempts
        failed.append(
            {
                "b_id": item.id,
                "b_status": "dead" if give_up else "pending",
                "b_attempts": attempts,
                "b_next": now if give_up else now + backoff(attempts, rng),
                "b_error": (f"gave up after {attempts} attempts: " if give_up else "") + error[:900],
            }
        )
    for item, error in outcomes.dead:
        attempts = item.attempts + 1
        failed.append({"b_id": item.id, "b_status": "dead", "b_attempts": attempts, "b_next": now, "b_error": error})
    return failed


def write_outcomes(
    conn: Connection, outcomes: Outcomes, now: datetime, max_attempts: int, rng: random.Random | None = None
) -> None:
    """``flush`` in the caller's transaction."""
    if not outcomes:
        return
    failed = _failed_rows(outcomes, now, max_attempts, rng)
    if outcomes.sent:
        conn.execute(_MARK_SENT, {"ids": outcomes.sent, "now": now})
    if failed:
        conn.execute(_MARK_FAILED, failed)
    if outcomes.released:
        conn.execute(_RELEASE, {"ids": outcomes.released})
    outcomes.sent.clear()
    outcomes.retry.clear()
    outcomes.dead.clear()
    outcomes.released.clear()


# -- reads and repairs for people (carepath mail failed / retry) ------------------------------


@dataclass(frozen=True, slots=True)
class OutboxInfo:
    """One outbox row as people read it."""

    id: int
    key: str
    kind: str
    case_id: int | None
    recipients: tuple[str, ...]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    message_id: str
    created_at: datetime
    sent_at: datetime | None


def _info(r: Any) -> OutboxInfo:
    return OutboxInfo(
        r.id,
        r.key,
        r.kind,
        r.case_id,
        tuple(r.recipients),
        r.status,
        r.attempts,
        r.next_attempt_at,
        r.last_error,
        r.message_id,
        r.created_at,
        r.sent_at,
    )


def rows(engine: Engine, status: Status | None = None, limit: int = 500) -> list[OutboxInfo]:
    """Outbox rows, newest first, optionally only those with ``status``."""
    stmt = select(OUTBOX).order_by(O.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(O.status == status)
    with engine.connect() as conn:
        return [_info(r) for r in conn.execute(stmt)]


def counts(engine: Engine) -> dict[str, int]:
    """How many rows are pending, sent and dead."""
    with engine.connect() as conn:
        got = {r[0]: int(r[1]) for r in conn.execute(select(O.status, func.count()).group_by(O.status))}
    return {s: got.get(s, 0) for s in ("pending", "sent", "dead")}


def requeue(conn: Connection, outbox_id: int, now: datetime) -> OutboxInfo:
    """Make a dead row pending again with a fresh attempt count (the caller audits it).

    Raises:
        NotFound: no outbox row ``outbox_id``.
        InvalidInput: the row is not dead.
    """
    row = conn.execute(select(OUTBOX).where(O.id == outbox_id)).first()
    if row is None:
        raise NotFound("outbox message", str(outbox_id))
    if row.status != "dead":
        raise InvalidInput(f"outbox message {outbox_id} is {row.status}, not dead; only dead messages are retried")
    conn.execute(
        update(OUTBOX)
        .where(O.id == outbox_id)
        .values(status="pending", attempts=0, next_attempt_at=now, claimed_until=None)
    )
    return _info(row)


def ids_of(items: Iterable[Claimed]) -> list[int]:
    """The row ids of ``items``."""
    return [c.id for c in items]
