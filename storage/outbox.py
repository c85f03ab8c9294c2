"""The dispatcher's outbox store: due rows claimed with a lease, outcomes written back, counts.

Every row has a unique idempotency key (``deadline:<id>:breach:0:<due>``, ``event:<case>:<seq>:<kind>``,
``digest:<manager id>:<local date>``); inserting the same key twice is a no-op. The
Message-ID is derived from the key, so a re-send after a crash carries the same Message-ID.

Claiming takes due rows with a lease (``claimed_until``): on PostgreSQL in one
``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``, on SQLite under the write lock
``BEGIN IMMEDIATE`` already holds. A crashed dispatcher's rows come back when the lease ends.

``notifications.dispatch`` renders and sends what ``claim`` returns and hands back ``Outcomes``;
it takes the database as an ``Engine`` re-exported here, so notifications never import SQLAlchemy.
Rows are queued by the unit of work (``storage.admin.insert_outbox``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, bindparam, or_, select, update

from carepath.engine.ports import OutboxMessage
from carepath.storage.admin import insert_outbox
from carepath.storage.db import is_postgres
from carepath.storage.queries.mail import MailQueries
from carepath.storage.tables import OUTBOX

O = OUTBOX.c  # noqa: E741  (module-local shorthand for the statements below)

#: First retry after about this long; each later one waits twice as long (with jitter).
BACKOFF_BASE = timedelta(seconds=30)
#: No retry waits longer than this.
BACKOFF_CAP = timedelta(hours=2)

Status = Literal["pending", "sent", "dead"]


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
    """Queue one email in the caller's transaction unless ``key`` is queued (``insert_outbox``).

    Application code queues mail through the unit of work (``Transaction.enqueue``, from a bus
    handler); this is for tools that fill an outbox directly (benches, tests).
    """
    return insert_outbox(conn, OutboxMessage(key, kind, tuple(recipients), context, case_id), now)


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
    stmt = _claim_statement(now, limit, now + lease, is_postgres(conn))
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


def counts(engine: Engine) -> dict[str, int]:
    """How many rows are pending, sent and dead (the read model's ``MailQueries.counts``)."""
    return MailQueries(engine).counts()


__all__ = [
    "Claimed",
    "Engine",
    "Outcomes",
    "backoff",
    "claim",
    "claim_in",
    "counts",
    "enqueue",
    "flush",
    "flush_and_claim",
    "write_outcomes",
]
