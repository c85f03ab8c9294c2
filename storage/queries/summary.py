"""Whole-service counts (the demo's ``show``; a base for reports)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, case, func, select

from carepath.storage.tables import CASES, DEADLINES


class SummaryQueries:
    """Counts over every case."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def case_count(self) -> int:
        """How many cases exist."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(CASES)).scalar_one())

    def case_rows(self) -> list[Any]:
        """Every case's journey, state, status, facts, exit reason and latest event day."""
        c = CASES.c
        stmt = select(c.workflow_id, c.state, c.status, c.facts, c.exit_reason, c.last_event_on)
        with self.engine.connect() as conn:
            return list(conn.execute(stmt))

    def deadline_counts(self, today: date) -> tuple[int, int]:
        """Open deadlines past due on ``today``, and deadlines met late."""
        d = DEADLINES.c
        with self.engine.connect() as conn:
            breached = conn.execute(select(func.count()).where(d.status == "open", d.due_on < today)).scalar_one()
            late = conn.execute(select(func.count()).where(d.status == "met", d.met_on > d.due_on)).scalar_one()
        return int(breached), int(late)

    def breach_counts(self, today: date) -> dict[str, int]:
        """Every breached deadline by what became of it: still ``open`` past due on ``today``,
        ``met_late``, or ``breached`` (ended unmet after its due date: the case moved on or closed).

        Void deadlines (their starting event was entered in error) are not counted.
        """
        d = DEADLINES.c
        kind = case(
            (and_(d.status == "open", d.due_on < today), "open"),
            (and_(d.status == "met", d.met_on > d.due_on), "met_late"),
            (d.status == "breached", "breached"),
            else_=None,
        ).label("kind")
        stmt = select(kind, func.count()).group_by(kind)
        counts = {"open": 0, "met_late": 0, "breached": 0}
        with self.engine.connect() as conn:
            for row in conn.execute(stmt):
                if row[0] is not None:
                    counts[str(row[0])] = int(row[1])
        return counts

    def most_moved(self, prefer_workflow: str) -> str | None:
        """The reference of the most-moved open case (of ``prefer_workflow`` first), else of any case."""
        c = CASES.c
        with self.engine.connect() as conn:
            stmt = (
                select(c.ref)
                .where(c.status == "open")
                .order_by((c.workflow_id == prefer_workflow).desc(), c.last_seq.desc(), c.ref)
                .limit(1)
            )
            ref = conn.execute(stmt).scalar()
            if ref is None:
                ref = conn.execute(select(c.ref).order_by(c.last_seq.desc()).limit(1)).scalar()
        return str(ref) if ref is not None else None
