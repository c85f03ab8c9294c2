"""A case's history with who recorded each event, in one statement, a page at a time."""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, func, select

from carepath.engine.reads import HISTORY_LIMIT, HistoryEntry, Page, cursor_parts, make_cursor
from carepath.storage.tables import EVENTS, USERS
from carepath.storage.uow import event_from_row

_HISTORY = (
    select(EVENTS, USERS.c.email.label("by_email"))
    .outerjoin(USERS, USERS.c.id == EVENTS.c.actor_id)
    .where(EVENTS.c.case_id == bindparam("case_id"), EVENTS.c.seq > bindparam("after"))
    .order_by(EVENTS.c.seq)
    .limit(bindparam("limit"))
)
_COUNT = select(func.count()).select_from(EVENTS).where(EVENTS.c.case_id == bindparam("case_id"))
#: The corrections of a case: few, read whole so a voided event is marked on any page.
_CORRECTIONS = select(EVENTS.c.payload).where(
    EVENTS.c.case_id == bindparam("case_id"), EVENTS.c.trigger == "entered_in_error"
)


class HistoryQueries:
    """Histories as people read them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def history(self, case_id: int, *, limit: int = HISTORY_LIMIT, after: str | None = None) -> Page[HistoryEntry]:
        """A page of a case's events in order (keyset on ``seq``), each with its recorder's email.

        ``in_error`` marks an event a correction voids, wherever in the history that correction is.
        """
        (after_seq,) = cursor_parts(after, (int,)) if after is not None else (0,)
        with self.engine.connect() as conn:
            rows = list(conn.execute(_HISTORY, {"case_id": case_id, "after": after_seq, "limit": limit + 1}))
            total = conn.execute(_COUNT, {"case_id": case_id}).scalar_one()
            gone = {int(r.payload["target_seq"]) for r in conn.execute(_CORRECTIONS, {"case_id": case_id})}
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            tuple(HistoryEntry(event_from_row(r), r.by_email, r.seq in gone) for r in rows),
            int(total),
            limit,
            make_cursor(rows[-1].seq) if more else None,
        )
