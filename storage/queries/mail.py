"""The outbox and the built-in catcher's mail as people read them (with case references joined)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from carepath.engine.errors import NotFound
from carepath.engine.reads import (
    DEFAULT_LIMIT,
    CaughtListing,
    OutboxListing,
    OutboxStatus,
    Page,
    cursor_parts,
)
from carepath.storage.paging import read_page, rows_of
from carepath.storage.tables import CASES, CAUGHT, OUTBOX


class MailQueries:
    """Outbox rows, their counts, and caught messages."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def outbox(
        self, status: OutboxStatus | None, limit: int = DEFAULT_LIMIT, after: str | None = None
    ) -> Page[OutboxListing]:
        """A page of outbox rows, newest first (keyset on the id), optionally only those with ``status``."""
        conds: list[Any] = [] if status is None else [OUTBOX.c.status == status]
        stmt = select(OUTBOX, CASES.c.ref.label("case_ref")).outerjoin(CASES, CASES.c.id == OUTBOX.c.case_id)
        stmt = stmt.where(*conds)
        if after is not None:
            (after_id,) = cursor_parts(after, (int,))
            stmt = stmt.where(OUTBOX.c.id < after_id)
        stmt = stmt.order_by(OUTBOX.c.id.desc())
        matching = rows_of(OUTBOX).where(*conds)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, matching, limit, lambda r: (r.id,))
        return Page(
            tuple(
                OutboxListing(
                    r.id,
                    r.key,
                    r.kind,
                    r.case_ref,
                    tuple(r.recipients),
                    r.status,
                    r.attempts,
                    r.next_attempt_at,
                    r.last_error,
                    r.message_id,
                )
                for r in rows
            ),
            total,
            limit,
            cursor,
            total_exact=exact,
        )

    def counts(self) -> dict[str, int]:
        """How many rows are pending, sent and dead."""
        with self.engine.connect() as conn:
            got = {
                r[0]: int(r[1]) for r in conn.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))
            }
        return {s: got.get(s, 0) for s in ("pending", "sent", "dead")}

    def caught(self, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[CaughtListing]:
        """A page of caught messages, newest first (keyset on the id)."""
        stmt = select(CAUGHT.c.id, CAUGHT.c.message_id, CAUGHT.c.recipients, CAUGHT.c.subject, CAUGHT.c.received_at)
        if after is not None:
            (after_id,) = cursor_parts(after, (int,))
            stmt = stmt.where(CAUGHT.c.id < after_id)
        stmt = stmt.order_by(CAUGHT.c.id.desc())
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, rows_of(CAUGHT), limit, lambda r: (r.id,))
        return Page(
            tuple(CaughtListing(r.id, r.message_id, tuple(r.recipients), r.subject, r.received_at) for r in rows),
            total,
            limit,
            cursor,
            total_exact=exact,
        )

    def caught_raw(self, caught_id: int) -> str:
        """The whole message ``caught_id`` as received; ``NotFound`` otherwise."""
        with self.engine.connect() as conn:
            raw = conn.execute(select(CAUGHT.c.raw).where(CAUGHT.c.id == caught_id)).scalar()
        if raw is None:
            raise NotFound("caught mail", caught_id)
        return str(raw)
