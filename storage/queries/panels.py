"""Panel sittings and calendar overrides as people read them, a page at a time."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, func, select, tuple_

from carepath.engine.reads import DEFAULT_LIMIT, Override, Page, cursor_parts, make_cursor
from carepath.storage.tables import OVERRIDES, PANELS


class PanelQueries:
    """Sittings and local calendar overrides."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sitting_days(
        self, panel_type: str | None, since: date | None, *, limit: int = DEFAULT_LIMIT, after: str | None = None
    ) -> Page[tuple[date, str]]:
        """A page of booked sittings (day, type) in date order (keyset on the primary key, day and type)."""
        conds: list[Any] = []
        if panel_type is not None:
            conds.append(PANELS.c.panel_type == panel_type)
        if since is not None:
            conds.append(PANELS.c.day >= since)
        stmt = select(PANELS.c.day, PANELS.c.panel_type).where(*conds)
        if after is not None:
            day, kind = cursor_parts(after, (date, str))
            stmt = stmt.where(tuple_(PANELS.c.day, PANELS.c.panel_type) > tuple_(day, kind))
        stmt = stmt.order_by(PANELS.c.day, PANELS.c.panel_type).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = list(conn.execute(stmt))
            total = conn.execute(select(func.count()).select_from(PANELS).where(*conds)).scalar_one()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            tuple((r.day, r.panel_type) for r in rows),
            int(total),
            limit,
            make_cursor(rows[-1].day, rows[-1].panel_type) if more else None,
        )

    def overrides(self, *, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[Override]:
        """A page of local calendar overrides, by day (keyset on the day)."""
        stmt = select(OVERRIDES.c.day, OVERRIDES.c.kind, OVERRIDES.c.reason)
        if after is not None:
            (day,) = cursor_parts(after, (date,))
            stmt = stmt.where(OVERRIDES.c.day > day)
        stmt = stmt.order_by(OVERRIDES.c.day).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = list(conn.execute(stmt))
            total = conn.execute(select(func.count()).select_from(OVERRIDES)).scalar_one()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            tuple(Override(r.day, r.kind, r.reason) for r in rows),
            int(total),
            limit,
            make_cursor(rows[-1].day) if more else None,
        )
