"""What every guard shares: the context it looks at, its type, and small readers of facts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from carepath.engine.calendar import WorkingCalendar


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What a guard may look at: the case as it would be after the move's facts.

    ``extra["recorded"]``, when the service provides it, holds the facts as they were before
    this move (``facts`` already includes the move's own ``given`` facts).
    """

    case_ref: str
    state: str
    facts: Mapping[str, Any]
    given: Mapping[str, Any]
    actor_id: int | None
    actor_email: str | None
    actor_roles: frozenset[str]
    on: date
    trigger: str
    extra: Mapping[str, Any] = field(default_factory=dict)


#: A guard returns ``None`` when met and a sentence saying what is missing when not.
Guard = Callable[[GuardContext], "str | None"]
#: Builds the guard ``<prefix>:<argument>`` from its argument; ``None`` if the argument is malformed.
GuardFactory = Callable[[str], "Guard | None"]

#: Calendar for guards that count working days: England's bank holidays (local closures
#: only lengthen a period, so a guard may allow a move a little early where there are some).
CALENDAR = WorkingCalendar("ENG")


def blank(value: Any) -> bool:
    """Whether a fact's value counts as not recorded."""
    return value in (None, "")


def recorded_facts(ctx: GuardContext) -> Mapping[str, Any]:
    """The facts before this move (falls back to the merged facts less this move's own)."""
    before = ctx.extra.get("recorded")
    if isinstance(before, Mapping):
        return before
    return {k: v for k, v in ctx.facts.items() if k not in ctx.given}


def as_date(value: Any) -> date | None:
    """``value`` read as an ISO date, or ``None`` if it is not one."""
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
