"""A case's history with who recorded each event, in one statement."""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, select

from carepath.engine.reads import HistoryEntry
from carepath.storage.tables import EVENTS, USERS
from carepath.storage.uow import event_from_row

_HISTORY = (
    select(EVENTS, USERS.c.email.label("by_email"))
    .outerjoin(USERS, USERS.c.id == EVENTS.c.actor_id)
    .where(EVENTS.c.case_id == bindparam("case_id"))
    .order_by(EVENTS.c.seq)
)


class HistoryQueries:
    """Histories as people read them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def history(self, case_id: int) -> list[HistoryEntry]:
        """A case's events in order, each with its recorder's email."""
        with self.engine.connect() as conn:
            return [HistoryEntry(event_from_row(r), r.by_email) for r in conn.execute(_HISTORY, {"case_id": case_id})]
