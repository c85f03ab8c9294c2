"""Panel sittings and calendar overrides as people read them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select

from carepath.engine.reads import Override
from carepath.storage.admin import sitting_days
from carepath.storage.tables import OVERRIDES


class PanelQueries:
    """Sittings and local calendar overrides."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sitting_days(self, panel_type: str | None, since: date | None) -> list[tuple[date, str]]:
        """Booked sittings (day, type) in date order."""
        with self.engine.connect() as conn:
            return sitting_days(conn, panel_type, since)

    def overrides(self) -> list[Override]:
        """Every local calendar override, by day."""
        stmt = select(OVERRIDES.c.day, OVERRIDES.c.kind, OVERRIDES.c.reason).order_by(OVERRIDES.c.day)
        with self.engine.connect() as conn:
            return [Override(r.day, r.kind, r.reason) for r in conn.execute(stmt)]
