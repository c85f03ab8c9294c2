"""Booked panel sittings (``carepath panels add``) and the next one a case can still make.

Papers go to panel members at least 5 working days before the sitting (domain.md §5.1), so a
case that is ready today can go to the first sitting whose papers date is today or later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from engine.calendar import WorkingCalendar
from engine.errors import InvalidInput
from storage.tables import PanelDate

PANEL = PanelDate.__table__  # type: ignore[attr-defined]
PANEL_TYPES = ("fostering", "adoption")
#: Working days between papers going to members and the sitting.
PAPERS_WORKING_DAYS = 5


@dataclass(frozen=True, slots=True)
class Sitting:
    """One booked panel sitting and the day its papers must go out."""

    day: date
    panel_type: str
    papers_by: date


def check_type(panel_type: str) -> str:
    """``panel_type`` if known; a clear error otherwise."""
    if panel_type not in PANEL_TYPES:
        raise InvalidInput(f"panel type {panel_type!r}: use one of {', '.join(PANEL_TYPES)}")
    return panel_type


def add_sitting(conn: Connection, day: date, panel_type: str, now: datetime) -> None:
    """Book a panel sitting in the caller's transaction.

    Raises:
        InvalidInput: unknown panel type, or that sitting is already booked.
    """
    check_type(panel_type)
    try:
        with conn.begin_nested():
            conn.execute(insert(PANEL).values(day=day, panel_type=panel_type, created_at=now))
    except IntegrityError as exc:
        raise InvalidInput(f"a {panel_type} panel is already booked on {day.isoformat()}") from exc


def sittings(
    conn: Connection, calendar: WorkingCalendar, panel_type: str | None = None, since: date | None = None
) -> list[Sitting]:
    """Booked sittings in date order, optionally of one type and from ``since`` on."""
    stmt = select(PANEL.c.day, PANEL.c.panel_type).order_by(PANEL.c.day, PANEL.c.panel_type)
    if panel_type is not None:
        stmt = stmt.where(PANEL.c.panel_type == panel_type)
    if since is not None:
        stmt = stmt.where(PANEL.c.day >= since)
    return [
        Sitting(r.day, r.panel_type, calendar.add_working_days(r.day, -PAPERS_WORKING_DAYS)) for r in conn.execute(stmt)
    ]


def next_sitting(conn: Connection, calendar: WorkingCalendar, panel_type: str | None, today: date) -> Sitting | None:
    """The first booked sitting whose papers date (5 working days before) is ``today`` or later."""
    for s in sittings(conn, calendar, panel_type, since=today):
        if s.papers_by >= today:
            return s
    return None
