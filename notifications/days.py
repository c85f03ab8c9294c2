"""Days left and days overdue, counted when a deadline email is sent, never when it is queued.

A rule counted in working days is told in working days (bank holidays of the configured nation
and local closures skipped, by the dispatcher's ``WorkingCalendar``); one counted in days, weeks
or months in calendar days. ``at_send`` adds the counts to an outbox context for ``render``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from carepath.engine.calendar import WorkingCalendar, parse_limit

#: How a deadline's days are counted in its emails, by the unit of its rule's limit.
WORKING_DAYS = "working_days"
CALENDAR_DAYS = "days"
_DAY_WORDS = {WORKING_DAYS: ("working day", "working days"), CALENDAR_DAYS: ("day", "days")}


@lru_cache(maxsize=256)
def day_unit(limit: str) -> str:
    """How days are counted for a rule whose limit is ``limit``: working days, or calendar days.

    A rule counted in working days is told in working days; one counted in days, weeks or months
    (calendar time) in calendar days.
    """
    try:
        return WORKING_DAYS if parse_limit(limit).unit == "working_days" else CALENDAR_DAYS
    except ValueError:
        return CALENDAR_DAYS


def days(n: int, unit: str = CALENDAR_DAYS) -> str:
    """``1 working day``, ``3 working days``, ``1 day``, ``0 days``."""
    singular, plural = _DAY_WORDS.get(unit, _DAY_WORDS[CALENDAR_DAYS])
    return f"{n} {singular if n == 1 else plural}"


def at_send(context: Mapping[str, Any], today: date, calendar: WorkingCalendar) -> dict[str, Any]:
    """A deadline email's context with the fields that depend on the day it is sent.

    The outbox keeps the due date, not the days left: they are counted here, when the message is
    rendered for sending, from ``today`` (the dispatcher's clock, in London). Days are working
    days of ``calendar`` (bank holidays and local closures) when the rule counts working days
    (``day_unit`` in the context), else calendar days. A context without ``due_on`` (a state
    notice, the digest) is returned as it is.

    Adds ``today``, ``due_in`` (signed: negative once the due date has passed), ``days_left``,
    ``days_overdue`` (both never negative), ``overdue`` (the due date has passed) and ``day_unit``.
    """
    due_on = context.get("due_on")
    if due_on is None:
        return _digest_at(context, calendar) if "local_date" in context else dict(context)
    due = due_on if isinstance(due_on, date) else date.fromisoformat(str(due_on))
    unit = str(context.get("day_unit") or CALENDAR_DAYS)
    if unit == WORKING_DAYS:
        due_in = calendar.working_days_between(today, due)
    else:
        unit, due_in = CALENDAR_DAYS, (due - today).days
    return {
        **context,
        "today": today.isoformat(),
        "day_unit": unit,
        "due_in": due_in,
        "days_left": max(due_in, 0),
        "days_overdue": max(-due_in, 0),
        "overdue": today > due,
    }


def _digest_at(context: Mapping[str, Any], calendar: WorkingCalendar) -> dict[str, Any]:
    """A digest's lines with their days counted as of the digest's date."""
    on = date.fromisoformat(str(context["local_date"]))
    lines = {key: [at_send(line, on, calendar) for line in context.get(key) or ()] for key in ("overdue", "due_soon")}
    return {**context, **lines}
