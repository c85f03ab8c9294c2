"""Guards any journey may use, parameterised by facts and limits in the guard's name.

- ``has:<fact>``: the fact is recorded (``has:<fact> since <other>``: and dated on or after ``other``).
- ``lacks:<fact>``: the fact was not recorded before this move (one-off steps); with
  ``since <other>``, an earlier value dated before ``other`` does not count.
- ``one_of:<fact>=<a>/<b>``: the fact holds one of the listed values.
- ``on_or_after:<fact>+<limit>[ (<counting>)]`` / ``after:...``: the move's date is on or after
  (strictly after) the date a limit gives from a date fact, e.g.
  ``after:qd_sent_on+40 working days (beginning_with)``. ``<counting>`` is ``after`` (default),
  ``beginning_with`` or ``convention:<name>`` (a setting; see docs/conventions.md).
  ``within:...`` is the converse: the move's date is on or before that date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from carepath.engine.calendar import Limit, due_date, parse_limit
from carepath.engine.conventions import resolve_counting
from carepath.engine.definition import Counting
from carepath.engine.errors import InvalidInput
from carepath.engine.guards.context import CALENDAR, Guard, GuardContext, GuardFactory, as_date, blank, recorded_facts

#: How a date guard compares the move's date with the date its period gives.
DateMode = Literal["on_or_after", "after", "within"]

# -- facts ---------------------------------------------------------------------------------------


def _name_since(arg: str) -> tuple[str, str | None]:
    """``fact`` or ``fact since other``: a value dated before ``other`` counts as absent."""
    name, sep, since = arg.partition(" since ")
    return name.strip(), since.strip() if sep else None


def _current(facts: Mapping[str, Any], name: str, since: str | None) -> Any:
    value = facts.get(name)
    if blank(value) or since is None or blank(facts.get(since)):
        return value
    return value if str(value) >= str(facts[since]) else None


def fact_guard(arg: str) -> Guard:
    """``has:<fact>[ since <other>]``."""
    name, since = _name_since(arg)

    def check(ctx: GuardContext) -> str | None:
        if blank(_current(ctx.facts, name, since)):
            later = f" since {since}" if since else ""
            return f"fact {name!r} has not been recorded{later}"
        return None

    check.__name__ = f"has_{name}"
    return check


def lacks_guard(arg: str) -> Guard:
    """``lacks:<fact>[ since <other>]``: judged on the facts recorded before this move."""
    name, since = _name_since(arg)

    def check(ctx: GuardContext) -> str | None:
        before = dict(recorded_facts(ctx))
        if since is not None:
            before[since] = ctx.facts.get(since)  # the reference date may come with this move
        earlier = _current(before, name, since)
        if not blank(earlier):
            return f"already done: {name} was recorded as {earlier}"
        return None

    check.__name__ = f"lacks_{name}"
    return check


def one_of_guard(arg: str) -> Guard | None:
    """``one_of:<fact>=<a>/<b>``; ``None`` if no fact or no value is given."""
    name, sep, values = arg.partition("=")
    allowed = tuple(v.strip() for v in values.split("/") if v.strip())
    if not sep or not name or not allowed:
        return None

    def check(ctx: GuardContext) -> str | None:
        value = ctx.facts.get(name)
        if blank(value):
            return f"fact {name!r} has not been recorded (one of: {', '.join(allowed)})"
        if str(value) not in allowed:
            return f"{name} is {value!r}; this move needs {name} = " + " or ".join(allowed)
        return None

    check.__name__ = f"one_of_{name}"
    return check


# -- dates ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Period:
    fact: str
    limit: Limit
    counting: Counting


def _period(arg: str) -> _Period | None:
    """``<fact>+<limit>[ (<counting>)]``; a ``convention:<name>`` the compiler has not settled
    (a guard resolved outside a journey) takes the convention's default."""
    fact, sep, rest = arg.partition("+")
    limit_text, paren, counted = rest.partition("(")
    counting = resolve_counting(counted.rstrip().removesuffix(")").strip() if paren else "after")
    if not sep or not fact.strip() or counting is None:
        return None
    try:
        limit = parse_limit(limit_text)
    except InvalidInput:
        return None
    return _Period(fact.strip(), limit, counting)


def _date_reason(mode: DateMode, period: _Period, ctx: GuardContext) -> str | None:
    start = as_date(ctx.facts.get(period.fact))
    if start is None:
        return f"fact {period.fact!r} has not been recorded as a date"
    due = due_date(start, period.limit, CALENDAR, period.counting)
    reading = "beginning with" if period.counting == "beginning_with" else "after"
    span = f"({period.limit} {reading} {period.fact} {start.isoformat()})"
    if mode == "within":
        return f"too late: allowed until {due.isoformat()} {span}" if ctx.on > due else None
    first = due + timedelta(days=1) if mode == "after" else due
    return f"not yet: allowed from {first.isoformat()} {span}" if ctx.on < first else None


def date_guard(mode: DateMode) -> GuardFactory:
    """``on_or_after``/``after``: not before (on or before) the date; ``within``: not after it."""

    def factory(arg: str) -> Guard | None:
        period = _period(arg)
        if period is None:
            return None

        def check(ctx: GuardContext) -> str | None:
            return _date_reason(mode, period, ctx)

        check.__name__ = f"{mode}_{period.fact}"
        return check

    return factory
