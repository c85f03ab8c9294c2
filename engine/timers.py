"""Timers: the instants a deadline needs attention (reminders, breach, escalation tiers).

Timers are planned from a deadline and its rule; storage keeps them as rows with an
indexed ``fire_at`` and the sweep raises each once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Literal

from carepath.engine.calendar import WorkingCalendar, due_date, fraction_point, parse_limit
from carepath.engine.clock import end_of_local_day, start_of_local_day
from carepath.engine.deadlines import Deadline
from carepath.engine.definition import DeadlineRule

TimerKind = Literal["reminder", "breach", "escalation"]

#: Limits as written in definitions ("2 working days"): a handful of texts, parsed once each.
_limit = lru_cache(maxsize=1024)(parse_limit)


@dataclass(frozen=True, slots=True)
class Timer:
    """One planned alert for one deadline occurrence."""

    rule: str
    cycle: int
    kind: TimerKind
    tier: int
    fire_on: date
    fire_at: datetime
    due_on: date

    @property
    def key(self) -> str:
        """Stable identity; also the root of notification idempotency keys."""
        return f"{self.rule}:{self.cycle}:{self.kind}:{self.tier}:{self.due_on.isoformat()}"


def _reminder_day(rule: DeadlineRule, index: int, d: Deadline, calendar: WorkingCalendar) -> date:
    reminder = rule.reminders[index]
    if reminder.before is not None:
        limit = _limit(reminder.before)
        back = type(limit)(-abs(limit.amount), limit.unit)
        return due_date(d.due_on, back, calendar)
    return fraction_point(d.start_on, d.due_on, reminder.fraction or 0.0)


def plan_timers(d: Deadline, rule: DeadlineRule, calendar: WorkingCalendar, today: date | None = None) -> list[Timer]:
    """Every timer an open deadline needs; none for met, cancelled or paused ones.

    Reminders whose day was already past when planned (``today``) are left out: a
    backdated event should not send stale reminders. Breach and escalation timers are
    always planned, so an overdue item is raised however late it is recorded.
    """
    if d.status != "open":
        return []
    timers: list[Timer] = []
    for i in range(len(rule.reminders)):
        day = max(_reminder_day(rule, i, d, calendar), d.start_on)
        if day < d.due_on and (today is None or day >= today):
            timers.append(Timer(d.rule, d.cycle, "reminder", i, day, start_of_local_day(day), d.due_on))
    timers.append(Timer(d.rule, d.cycle, "breach", 0, d.due_on, end_of_local_day(d.due_on), d.due_on))
    for i, tier in enumerate(rule.escalations, start=1):
        day = due_date(d.due_on, _limit(tier.after), calendar)
        timers.append(Timer(d.rule, d.cycle, "escalation", i, day, end_of_local_day(day), d.due_on))
    return timers


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer the sweep has just raised: what notifications need, and nothing personal."""

    case_id: int
    case_ref: str
    workflow_id: str
    owner_id: int | None
    team_id: int | None
    rule: DeadlineRule
    deadline_id: int
    start_on: date
    due_on: date
    kind: TimerKind
    tier: int
    fire_on: date
    timer_key: str
    escalate_to: tuple[str, ...] = ()
