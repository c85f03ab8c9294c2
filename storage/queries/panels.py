"""Panel sittings and calendar overrides as people read them, a page at a time."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, select, tuple_

from carepath.engine.reads import DEFAULT_LIMIT, Override, Page, cursor_parts
from carepath.storage.paging import read_page, rows_of
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
        stmt = stmt.order_by(PANELS.c.day, PANELS.c.panel_type)
        matching = rows_of(PANELS).where(*conds)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, matching, limit, lambda r: (r.day, r.panel_type))
        return Page(tuple((r.day, r.panel_type) for r in rows), total, limit, cursor, exact)

    def overrides(self, *, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[Override]:
        """A page of local calendar overrides, by day (keyset on the day)."""
        stmt = select(OVERRIDES.c.day, OVERRIDES.c.kind, OVERRIDES.c.reason)
        if after is not None:
            (day,) = cursor_parts(after, (date,))
            stmt = stmt.where(OVERRIDES.c.day > day)
        stmt = stmt.order_by(OVERRIDES.c.day)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, rows_of(OVERRIDES), limit, lambda r: (r.day,))
        return Page(
            tuple(Override(r.day, r.kind, r.reason) for r in rows),
            total,
            limit,
            cursor,
            total_exact=exact,
        )
