"""The statutory clock: working days, calendar arithmetic and time limits.

English fostering and adoption regulations express deadlines in two ways:

* **working days** -- weekdays that are not bank holidays (for the UK nation the
  service operates in) and not local office closures;
* **calendar periods** -- days, weeks and months, which are *never* rolled on to
  a working day, even when they end on a weekend or a bank holiday.

A deadline is counted either *after* an event ("within 7 working days of",
the event day is not counted) or *beginning with* it ("40 working days beginning
with", the event day is day 1). ``due_date`` applies a ``Limit`` to a start date
under one of those readings.

Pure domain code: no wall clock, no I/O. Bank holidays come from the
``holidays`` package and are computed lazily, once per (nation, year).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, timedelta
from fractions import Fraction
from functools import cache
from types import MappingProxyType
from typing import Final, Literal, get_args

from carepath.engine.errors import InvalidInput

__all__ = [
    "LOCAL_CLOSURE",
    "SUBDIVISIONS",
    "Counting",
    "Limit",
    "Unit",
    "WorkingCalendar",
    "add_days",
    "add_months",
    "add_weeks",
    "due_date",
    "fraction_point",
    "parse_limit",
]

Unit = Literal["working_days", "days", "weeks", "months"]
Counting = Literal["after", "beginning_with"]

SUBDIVISIONS: Final = ("ENG", "WLS", "SCT", "NIR")
LOCAL_CLOSURE: Final = "local closure"
MAX_LIMIT_AMOUNT: Final = 10_000

_ONE_DAY: Final = timedelta(days=1)
_SATURDAY: Final = 5


@cache
def _bank_holidays(subdiv: str, year: int) -> Mapping[date, str]:
    """Bank holidays (date -> name) for one UK nation and year, shared by all calendars."""
    # Imported here, on the first working-day count: a command that counts none (a case read) does not pay
    # for the package (about a fifth of ``carepath case show``'s start, issue 9).
    import holidays

    # Same as holidays.UK(subdiv=..., years=...), via the factory mypy --strict can see.
    found = holidays.country_holidays("GB", subdiv=subdiv, years=year)
    return MappingProxyType({day: str(name) for day, name in found.items()})


def _weekdays_through(d: date) -> int:
    """Count Monday-Friday dates from 0001-01-01 (a Monday) up to and including ``d``."""
    weeks, extra = divmod(d.toordinal(), 7)
    return weeks * 5 + min(extra, 5)


class WorkingCalendar:
    """Which days are working days for one service.

    A working day is a Monday to Friday that is neither a bank holiday of the
    service's UK nation nor a local closure, unless it is listed in ``openings``.
    Openings override bank holidays and closures, never weekends.
    """

    __slots__ = ("_closed", "_closures", "_openings", "_subdiv")

    def __init__(
        self,
        subdiv: str = "ENG",
        closures: Iterable[date] = (),
        openings: Iterable[date] = (),
    ) -> None:
        """Create a calendar.

        Args:
            subdiv: UK nation whose bank holidays apply: ENG, WLS, SCT or NIR.
            closures: extra non-working days (office closures, one-off holidays).
            openings: days to treat as working even though a holiday or closure.

        Raises:
            InvalidInput: ``subdiv`` is not one of the four UK nations.
        """
        if subdiv not in SUBDIVISIONS:
            raise InvalidInput(f"subdivision {subdiv!r}: unknown UK nation; use {', '.join(SUBDIVISIONS)}")
        self._subdiv = subdiv
        self._closures = frozenset(closures)
        self._openings = frozenset(openings)
        self._closed: dict[int, frozenset[date]] = {}

    def reset_overrides(self, closures: Iterable[date] = (), openings: Iterable[date] = ()) -> None:
        """Replace the local closures and openings in place (every service sharing this calendar sees them)."""
        self._closures = frozenset(closures)
        self._openings = frozenset(openings)
        self._closed = {}

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(subdiv={self._subdiv!r}, closures={sorted(self._closures)!r}, "
            f"openings={sorted(self._openings)!r})"
        )

    @property
    def subdiv(self) -> str:
        """The UK nation whose bank holidays apply."""
        return self._subdiv

    @property
    def closures(self) -> frozenset[date]:
        """Local non-working days."""
        return self._closures

    @property
    def openings(self) -> frozenset[date]:
        """Days worked despite a bank holiday or closure."""
        return self._openings

    def with_overrides(self, closures: Iterable[date] = (), openings: Iterable[date] = ()) -> WorkingCalendar:
        """Return a copy of this calendar with more closures and openings added.

        Args:
            closures: further local non-working days.
            openings: further days to work despite a holiday or closure.

        Returns:
            A new calendar; this one is unchanged.
        """
        return WorkingCalendar(self._subdiv, self._closures.union(closures), self._openings.union(openings))

    def _closed_weekdays(self, year: int) -> frozenset[date]:
        """Weekdays of ``year`` that are not worked (holidays and closures, less openings)."""
        closed = self._closed.get(year)
        if closed is None:
            candidates = set(_bank_holidays(self._subdiv, year))
            candidates.update(d for d in self._closures if d.year == year)
            closed = frozenset(d for d in candidates - self._openings if d.weekday() < _SATURDAY)
            self._closed[year] = closed
        return closed

    def is_working_day(self, d: date) -> bool:
        """Say whether ``d`` is a working day.

        Args:
            d: the date to test.

        Returns:
            True for a weekday that is not a bank holiday or closure (or is an opening).
        """
        if d.weekday() >= _SATURDAY:
            return False
        closed = self._closed.get(d.year)
        if closed is None:
            closed = self._closed_weekdays(d.year)
        return d not in closed

    def holiday_name(self, d: date) -> str | None:
        """Name the holiday or closure that falls on ``d``.

        Args:
            d: the date to look up.

        Returns:
            The bank holiday's name, ``"local closure"`` for a closure, or None when
            the day is neither, or is listed in ``openings``. Weekends alone give None.
        """
        if d in self._openings:
            return None
        name = _bank_holidays(self._subdiv, d.year).get(d)
        if name is not None:
            return name
        return LOCAL_CLOSURE if d in self._closures else None

    def add_working_days(self, start: date, n: int) -> date:
        """Step ``n`` working days from ``start``, not counting ``start`` itself.

        Args:
            start: the day to count from.
            n: working days to move; negative counts backwards, 0 returns ``start``.

        Returns:
            The ``n``-th working day after (or, for negative ``n``, before) ``start``.

        Raises:
            OverflowError: the result would fall outside the range of ``date``.
        """
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        d = start
        while remaining:
            d += step
            if self.is_working_day(d):
                remaining -= 1
        return d

    def working_days_beginning_with(self, start: date, n: int) -> date:
        """Return the ``n``-th working day of a period beginning with ``start``.

        Args:
            start: day 1 if it is a working day; otherwise the next working day is day 1.
            n: the period's length in working days, at least 1.

        Returns:
            The last working day of the period.

        Raises:
            InvalidInput: ``n`` is less than 1.
        """
        if n < 1:
            raise InvalidInput(f"working days beginning with {start.isoformat()}: n={n}, need >= 1")
        first = start if self.is_working_day(start) else self.add_working_days(start, 1)
        return self.add_working_days(first, n - 1)

    def working_days_between(self, a: date, b: date) -> int:
        """Count working days from ``a`` until ``b``, signed.

        Args:
            a: the day counted from (not itself counted).
            b: the day counted to (counted).

        Returns:
            The number of working days in (a, b] when ``b`` is after ``a``, minus the
            number in (b, a] when ``b`` is before ``a``, and 0 when they are equal.
        """
        if b < a:
            return -self.working_days_between(b, a)
        return _weekdays_through(b) - _weekdays_through(a) - len(self.closed_weekdays_between(a, b))

    def closed_weekdays_between(self, a: date, b: date) -> list[date]:
        """The weekdays in (a, b] that are not worked (bank holidays and closures, less openings), in order.

        Args:
            a: the day counted from (not itself included).
            b: the last day included.

        Returns:
            Those days, earliest first; empty when ``b`` is not after ``a``.
        """
        return sorted(d for year in range(a.year, b.year + 1) for d in self._closed_weekdays(year) if a < d <= b)


def add_days(d: date, n: int) -> date:
    """Return the date ``n`` calendar days after ``d`` (before, if ``n`` is negative)."""
    return d + timedelta(days=n)


def add_weeks(d: date, n: int) -> date:
    """Return the date ``n`` weeks after ``d`` (before, if ``n`` is negative)."""
    return d + timedelta(weeks=n)


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - date(year, month, 1)).days


def add_months(d: date, n: int) -> date:
    """Return the same day-number ``n`` months later, clamped to the month's last day.

    Args:
        d: the starting date.
        n: months to add; may be negative.

    Returns:
        For example 2025-10-31 + 4 months is 2026-02-28.

    Raises:
        OverflowError: the result would fall outside the range of ``date``.
    """
    year, month0 = divmod(d.year * 12 + d.month - 1 + n, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError("date value out of range")
    month = month0 + 1
    return date(year, month, min(d.day, _days_in_month(year, month)))


_UNIT_LABELS: Final[Mapping[Unit, tuple[str, str]]] = {
    "working_days": ("working day", "working days"),
    "days": ("day", "days"),
    "weeks": ("week", "weeks"),
    "months": ("month", "months"),
}


@dataclass(frozen=True, slots=True)
class Limit:
    """A time limit such as "7 working days" or "4 months"."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit not in _UNIT_LABELS:
            raise InvalidInput(f"limit unit {self.unit!r}: use one of {', '.join(get_args(Unit))}")

    def __str__(self) -> str:
        singular, plural = _UNIT_LABELS[self.unit]
        return f"{self.amount} {singular if abs(self.amount) == 1 else plural}"


_LIMIT_RE: Final = re.compile(r"\s*([+-]?[0-9]+)\s*([a-z][a-z ]*?)\s*", re.IGNORECASE)

# Typed unit -> (unit, multiplier).
_UNIT_WORDS: Final[Mapping[str, tuple[Unit, int]]] = {
    "working day": ("working_days", 1),
    "working days": ("working_days", 1),
    "wd": ("working_days", 1),
    "day": ("days", 1),
    "days": ("days", 1),
    "week": ("weeks", 1),
    "weeks": ("weeks", 1),
    "month": ("months", 1),
    "months": ("months", 1),
    "year": ("months", 12),
    "years": ("months", 12),
}


def parse_limit(text: str) -> Limit:
    """Read a time limit typed by a person.

    Args:
        text: e.g. "7 working days", "7 wd", "28 days", "16 weeks", "4 months",
            "1 year" (years become months), "-5 working days". Case-insensitive.

    Returns:
        The limit.

    Raises:
        InvalidInput: the text is not a whole number followed by a known unit.
    """
    match = _LIMIT_RE.fullmatch(text)
    if match is None:
        raise InvalidInput(f"limit {text!r}: expected a whole number and a unit, e.g. '7 working days'")
    number, word = match.groups()
    typed_unit = " ".join(word.lower().split())
    known = _UNIT_WORDS.get(typed_unit)
    if known is None:
        raise InvalidInput(
            f"limit {text!r}: unknown unit {typed_unit!r}; use working days, days, weeks, months or years"
        )
    amount = int(number)
    if abs(amount) > MAX_LIMIT_AMOUNT:
        raise InvalidInput(f"limit {text!r}: {amount} is too large (at most {MAX_LIMIT_AMOUNT})")
    unit, multiplier = known
    return Limit(amount * multiplier, unit)


def due_date(
    start: date,
    limit: Limit,
    calendar: WorkingCalendar,
    counting: Counting = "after",
) -> date:
    """Apply ``limit`` to ``start``.

    Args:
        start: the event the limit runs from (or, for negative limits, back from).
        limit: the time limit.
        calendar: decides working days; unused for calendar periods.
        counting: "after" does not count ``start``; "beginning_with" counts it as
            day 1 (for working days, as the first working day from ``start``).

    Returns:
        The due date. Day, week and month limits are never moved to a working day.

    Raises:
        InvalidInput: ``counting`` is unknown, "beginning_with" is used with an amount
            below 1, or the date would fall outside the calendar.
    """
    if counting not in get_args(Counting):
        raise InvalidInput(f"counting {counting!r}: use 'after' or 'beginning_with'")
    beginning_with = counting == "beginning_with"
    if beginning_with and limit.amount < 1:
        raise InvalidInput(f"limit '{limit}': 'beginning with' needs a positive amount")
    try:
        return _apply(start, limit, calendar, beginning_with=beginning_with)
    except OverflowError as exc:
        raise InvalidInput(f"limit '{limit}' from {start.isoformat()}: runs past the end of the calendar") from exc


def _apply(start: date, limit: Limit, calendar: WorkingCalendar, *, beginning_with: bool) -> date:
    n = limit.amount
    if limit.unit == "working_days":
        if beginning_with:
            return calendar.working_days_beginning_with(start, n)
        return calendar.add_working_days(start, n)
    if limit.unit == "days":
        end = add_days(start, n)
    elif limit.unit == "weeks":
        end = add_weeks(start, n)
    else:
        end = add_months(start, n)
    return end - _ONE_DAY if beginning_with else end


def fraction_point(start: date, due: date, fraction: float) -> date:
    """Return the date ``fraction`` of the way from ``start`` to ``due``.

    Used for reminders such as "at 50% of the period". Partial days are dropped,
    so the point never passes the exact fraction (it rounds towards ``start``).

    Args:
        start: where the period begins.
        due: where it ends.
        fraction: between 0 and 1 inclusive.

    Returns:
        A calendar date between ``start`` and ``due``.

    Raises:
        InvalidInput: ``fraction`` is outside 0..1 (or not a number).
    """
    if not 0 <= fraction <= 1:
        raise InvalidInput(f"fraction {fraction!r}: must be between 0 and 1")
    span = (due - start).days
    exact = Fraction(repr(fraction)) * abs(span)  # repr: 0.29 is 29/100, not 0.28999...
    offset = int(exact) if span >= 0 else -int(exact)
    return start + timedelta(days=offset)
