"""Deadlines derived from a case's events by the workflow's rules.

``DeadlineBook`` folds events one at a time: the write path feeds it the one new event,
a correction feeds it the whole effective history from scratch. Same code either way, so
a backdated event or a voided one gives exactly the deadlines a fresh replay would.
Pauses (holds) keep the raw due date and an adjusted one.

A deadline that ends after its due date stays a breach on the record, whatever ends it: met late
(``met`` with ``breached_on``), or ``breached`` when the case moved on, closed or cancelled it
unmet. Only a deadline ended on or before its due date is ``cancelled``. The dates decide (the
due date against the day it ended), never whether the sweep ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

from carepath.engine.calendar import Counting, Limit, WorkingCalendar, due_date, parse_limit
from carepath.engine.case import Event
from carepath.engine.definition import ON_HOLD, Anchor, DeadlineRule, WorkflowDef
from carepath.engine.errors import InvalidInput

#: ``met``: stopped (late if ``breached_on`` is set); ``breached``: ended unmet after its due date (the
#: case moved on or closed); ``cancelled``: ended unmet on or before its due date, so never missed;
#: ``void``: the event that started it was entered in error; kept for the record, ignored after.
DeadlineStatus = Literal["open", "paused", "met", "cancelled", "breached", "void"]
#: A day: the first day after a due date is the day it was breached.
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Deadline:
    """One occurrence of a rule on a case (``cycle`` counts recurrences)."""

    rule: str
    cycle: int
    start_on: date
    raw_due_on: date
    due_on: date
    status: DeadlineStatus = "open"
    met_on: date | None = None
    #: The first day after the due date, once the deadline ended after it (met late or breached).
    breached_on: date | None = None
    paused_since: date | None = None
    paused_days: int = 0
    paused_working_days: int = 0
    id: int | None = None

    @property
    def key(self) -> tuple[str, int]:
        """Identity within a case."""
        return (self.rule, self.cycle)

    @property
    def is_live(self) -> bool:
        """Open or paused: still to be met."""
        return self.status in ("open", "paused")


def display_status(d: Deadline, today: date) -> str:
    """What a person reads: open, paused, met on time, met late, breached, cancelled.

    ``breached`` is an open deadline past its due date (still to do) or one that ended unmet
    after it (``breach_day`` says since when either way).
    """
    if d.status == "met":
        assert d.met_on is not None
        return "met on time" if d.met_on <= d.due_on else "met late"
    if d.status == "open" and today > d.due_on:
        return "breached"
    return d.status


def breach_day(d: Deadline, today: date) -> date | None:
    """The day ``d`` was breached (the first day after its due date), or ``None`` if it was not (yet).

    Recorded for a deadline that ended (met late, or breached); for a live one, from the dates:
    an open one past its due date on ``today``, or one paused only after its due date had passed.
    """
    if d.breached_on is not None or d.status in ("met", "cancelled", "breached", "void"):
        return d.breached_on
    if d.status == "open" and today > d.due_on:
        return d.due_on + ONE_DAY
    if d.status == "paused" and d.paused_since is not None and d.paused_since > d.due_on:
        return d.due_on + ONE_DAY
    return None


def lateness(d: Deadline, limit: Limit, calendar: WorkingCalendar) -> tuple[int, str] | None:
    """How late a deadline met late was met, in its rule's unit: ``(n, "working days")`` or ``(n, "days")``.

    ``None`` unless it was met after its due date. Working days are counted in (due, met]; a
    limit in days, weeks, months or years counts calendar days.
    """
    if d.status != "met" or d.met_on is None or d.met_on <= d.due_on:
        return None
    if limit.unit == "working_days":
        return calendar.working_days_between(d.due_on, d.met_on), "working days"
    return (d.met_on - d.due_on).days, "days"


def _matches(anchor: Anchor, event: Event) -> bool:
    if anchor.kind == "event":
        return event.trigger == anchor.name
    if anchor.kind == "fact":
        return anchor.name in event.facts
    moving = event.from_state != event.to_state
    holding = ON_HOLD in (event.from_state, event.to_state) and anchor.name != ON_HOLD
    if not moving or holding:
        return False
    if anchor.kind == "enter":
        return event.to_state == anchor.name
    return event.from_state == anchor.name


def _start_date(anchors: Iterable[Anchor], event: Event) -> date | None:
    for anchor in anchors:
        if _matches(anchor, event):
            if anchor.kind != "fact":
                return event.effective_on
            return _fact_date(anchor.name, event.facts[anchor.name])
    return None


def _fact_date(name: str, value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"fact {name!r} must be a date YYYY-MM-DD, got {value!r}") from exc


def _counting(value: str) -> Counting:
    if value == "beginning_with":
        return "beginning_with"
    return "after"


@dataclass(frozen=True, slots=True)
class _RuleIndex:
    """What a workflow's rules listen to, worked out once per workflow (the write path asks on every move)."""

    rules: Mapping[str, DeadlineRule]
    limits: Mapping[str, Limit]
    triggers: frozenset[str]
    entered: frozenset[str]
    left: frozenset[str]
    facts: frozenset[str]


#: By ``id(workflow)``, holding the workflow itself so the id cannot be reused while cached.
_INDEX: dict[int, tuple[WorkflowDef, _RuleIndex]] = {}


def _index(workflow: WorkflowDef) -> _RuleIndex:
    found = _INDEX.get(id(workflow))
    if found is not None and found[0] is workflow:
        return found[1]
    anchors = [a for r in workflow.deadlines for a in (*r.start, *r.stop, *r.cancel)]

    def names(kind: str) -> frozenset[str]:
        return frozenset(a.name for a in anchors if a.kind == kind)

    index = _RuleIndex(
        rules={r.name: r for r in workflow.deadlines},
        limits={r.name: parse_limit(r.limit) for r in workflow.deadlines},
        triggers=names("event"),
        entered=names("enter"),
        left=names("leave"),
        facts=names("fact"),
    )
    if len(_INDEX) >= 256:  # definitions reloaded many times (tests): start again rather than grow
        _INDEX.clear()
    _INDEX[id(workflow)] = (workflow, index)
    return index


def may_change(workflow: WorkflowDef, event: Event) -> bool:
    """Whether ``event`` can change any deadline of ``workflow``, whatever deadlines the case has.

    ``DeadlineBook.apply`` changes a deadline only for an event that closes the case, holds or
    resumes it (pauses), or matches one of a rule's start, stop or cancel anchors; any other
    event leaves every deadline as it was, so the write path need not read them.
    """
    if not workflow.deadlines:
        return False
    to = workflow.states.get(event.to_state)
    if (to is not None and to.terminal) or ON_HOLD in (event.from_state, event.to_state):
        return True
    index = _index(workflow)
    if event.trigger in index.triggers:
        return True
    if event.from_state != event.to_state and (event.to_state in index.entered or event.from_state in index.left):
        return True
    return bool(index.facts) and any(f in index.facts for f in event.facts)


class DeadlineBook:
    """The deadlines of one case under one workflow, advanced event by event."""

    def __init__(self, workflow: WorkflowDef, calendar: WorkingCalendar, deadlines: Iterable[Deadline] = ()) -> None:
        self.workflow = workflow
        self.calendar = calendar
        index = _index(workflow)
        self.rules: Mapping[str, DeadlineRule] = index.rules
        self.limits: Mapping[str, Limit] = index.limits
        self.items: dict[tuple[str, int], Deadline] = {d.key: d for d in deadlines}
        self.changed: set[tuple[str, int]] = set()

    def live(self, rule: str) -> Deadline | None:
        """The open or paused occurrence of ``rule``, if any."""
        found = [d for d in self.items.values() if d.rule == rule and d.is_live]
        return max(found, key=lambda d: d.cycle) if found else None

    def _put(self, d: Deadline) -> None:
        self.items[d.key] = d
        self.changed.add(d.key)

    def _open(self, rule: DeadlineRule, start: date) -> None:
        cycles = [d.cycle for d in self.items.values() if d.rule == rule.name]
        due = due_date(start, self.limits[rule.name], self.calendar, _counting(rule.counting))
        self._put(Deadline(rule.name, max(cycles, default=0) + 1, start, due, due))

    def apply(self, event: Event) -> None:
        """Advance every rule by one effective event."""
        terminal = self.workflow.states.get(event.to_state)
        closing = terminal is not None and terminal.terminal
        for rule in self.workflow.deadlines:
            self._apply_rule(rule, event, closing)

    def _apply_rule(self, rule: DeadlineRule, event: Event, closing: bool) -> None:
        current = self.live(rule.name)
        if current is not None:
            # Leaving a state because the case closed is not completing the step.
            if any(_matches(a, event) and not (closing and a.kind == "leave") for a in rule.stop):
                self._put(self._ended(current, event.effective_on, "met"))
                if rule.recurs and not closing:
                    self._open(rule, event.effective_on)
                return
            if closing or any(_matches(a, event) for a in rule.cancel):
                # Not due yet: cancelled. Past due: it was missed, and stays on the record as breached.
                self._put(self._ended(current, event.effective_on, "cancelled"))
                return
            self._pause_or_resume(rule, current, event)
            return
        if not closing:
            start = _start_date(rule.start, event)
            if start is not None:
                self._open(rule, start)

    def _pause_or_resume(self, rule: DeadlineRule, d: Deadline, event: Event) -> None:
        if not rule.pauses_on_hold:
            return
        if event.to_state == ON_HOLD and d.status == "open":
            self._put(replace(d, status="paused", paused_since=event.effective_on))
        elif event.from_state == ON_HOLD and d.status == "paused":
            self._put(self._unpaused(d, event.effective_on))

    def _ended(self, d: Deadline, on: date, how: Literal["met", "cancelled"]) -> Deadline:
        """``d`` ended on ``on``: met, or cancelled; either after its (adjusted) due date is a breach."""
        ended = self._unpaused(d, on, how)
        if on <= ended.due_on:
            return ended
        status: DeadlineStatus = "met" if how == "met" else "breached"
        return replace(ended, status=status, breached_on=ended.due_on + ONE_DAY)

    def _unpaused(self, d: Deadline, on: date, status: DeadlineStatus = "open") -> Deadline:
        met_on = on if status == "met" else None
        if d.status != "paused" or d.paused_since is None:
            return replace(d, status=status, met_on=met_on)
        days = (on - d.paused_since).days + d.paused_days
        wdays = self.calendar.working_days_between(d.paused_since, on) + d.paused_working_days
        unit = self.limits[d.rule].unit
        if unit == "working_days":
            due = self.calendar.add_working_days(d.raw_due_on, wdays) if wdays else d.raw_due_on
        else:
            due = date.fromordinal(d.raw_due_on.toordinal() + days)
        return replace(
            d,
            status=status,
            met_on=met_on,
            paused_since=None,
            paused_days=days,
            paused_working_days=wdays,
            due_on=due,
        )


def replay_deadlines(workflow: WorkflowDef, calendar: WorkingCalendar, events: Iterable[Event]) -> DeadlineBook:
    """Deadlines from scratch over an effective history (corrections, checks)."""
    book = DeadlineBook(workflow, calendar)
    for event in events:
        book.apply(event)
    return book
