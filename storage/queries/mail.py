"""The outbox and the built-in catcher's mail as people read them (with case references joined)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from carepath.engine.errors import NotFound
from carepath.engine.reads import CaughtListing, OutboxListing, OutboxStatus
from carepath.storage.tables import CASES, CAUGHT, OUTBOX


class MailQueries:
    """Outbox rows, their counts, and caught messages."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def outbox(self, status: OutboxStatus | None, limit: int) -> list[OutboxListing]:
        """Outbox rows, newest first, optionally only those with ``status``."""
        stmt = (
            select(OUTBOX, CASES.c.ref.label("case_ref"))
            .outerjoin(CASES, CASES.c.id == OUTBOX.c.case_id)
            .order_by(OUTBOX.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(OUTBOX.c.status == status)
        with self.engine.connect() as conn:
            return [
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
                for r in conn.execute(stmt)
            ]

    def counts(self) -> dict[str, int]:
        """How many rows are pending, sent and dead."""
        with self.engine.connect() as conn:
            got = {
                r[0]: int(r[1]) for r in conn.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))
            }
        return {s: got.get(s, 0) for s in ("pending", "sent", "dead")}

    def caught(self, limit: int) -> list[CaughtListing]:
        """Caught messages, newest first."""
        stmt = (
            select(CAUGHT.c.id, CAUGHT.c.message_id, CAUGHT.c.recipients, CAUGHT.c.subject, CAUGHT.c.received_at)
            .order_by(CAUGHT.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                CaughtListing(r.id, r.message_id, tuple(r.recipients), r.subject, r.received_at)
                for r in conn.execute(stmt)
            ]

    def caught_raw(self, caught_id: int) -> str:
        """The whole message ``caught_id`` as received; ``NotFound`` otherwise."""
        with self.engine.connect() as conn:
            raw = conn.execute(select(CAUGHT.c.raw).where(CAUGHT.c.id == caught_id)).scalar()
        if raw is None:
            raise NotFound("caught mail", caught_id)
        return str(raw)
