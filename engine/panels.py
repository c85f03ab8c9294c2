"""Panel sittings and the next one a case can still make.

Papers go to panel members at least 5 working days before the sitting (Fostering Services
National Minimum Standards 2011, standard 14; Adoption National Minimum Standards 2014,
standard 17), so a case that is ready today can go to the first sitting whose papers date is
today or later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.errors import InvalidInput

PanelType = Literal["fostering", "adoption"]
PANEL_TYPES: tuple[PanelType, ...] = ("fostering", "adoption")
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


def papers_by(day: date, calendar: WorkingCalendar) -> date:
    """The day papers must reach members for a sitting on ``day``."""
    return calendar.add_working_days(day, -PAPERS_WORKING_DAYS)


def sittings(booked: Iterable[tuple[date, str]], calendar: WorkingCalendar) -> list[Sitting]:
    """Booked (day, type) pairs as sittings with their papers dates."""
    return [Sitting(day, kind, papers_by(day, calendar)) for day, kind in booked]


def next_sitting(booked: Iterable[tuple[date, str]], calendar: WorkingCalendar, today: date) -> Sitting | None:
    """The first booked sitting (in date order) whose papers date is ``today`` or later."""
    for s in sittings(booked, calendar):
        if s.papers_by >= today:
            return s
    return None
