"""Time as an argument: every service takes a ``Clock``; tests pass a ``FixedClock``.

Business dates are local dates in Europe/London; a due date ends at the end of that
local day, whatever the clocks did that day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class Clock(Protocol):
    """Source of the current instant."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (tests, replays, ``--as-of``)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        """Move forward by ``timedelta(**delta)``, e.g. ``advance(days=20)``."""
        self._at += timedelta(**delta)

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (aware)."""
        self._at = at.astimezone(UTC)


def local_today(clock: Clock) -> date:
    """Today's date in Europe/London."""
    return clock.now().astimezone(LONDON).date()


def end_of_local_day(day: date) -> datetime:
    """The first instant after ``day`` ends in London, in UTC (correct across clock changes)."""
    return datetime.combine(day + timedelta(days=1), time(0), LONDON).astimezone(UTC)


def start_of_local_day(day: date, at: time = time(0)) -> datetime:
    """``day`` at local time ``at`` in London, in UTC."""
    return datetime.combine(day, at, LONDON).astimezone(UTC)
