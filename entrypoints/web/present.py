"""What pages show: dates in words, deadlines as tags with days left in their rule's own unit.

Plain functions over the engine's values, so the pages, the API and the tests agree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from carepath.engine.calendar import Limit, WorkingCalendar, parse_limit
from carepath.engine.deadlines import Deadline, breach_day, lateness
from carepath.engine.definition import Anchor, DeadlineRule, WorkflowDef

LONDON = ZoneInfo("Europe/London")
#: A live deadline this close (in working days) is "due soon" (UI.md: yellow).
DUE_SOON_WORKING_DAYS = 5
#: What each class means, for the tag's title and the "Why this date?" details.
CLASSES = {
    "STAT": "statutory: set by regulations",
    "SG": "statutory guidance",
    "NMS": "national minimum standards",
    "LOCAL": "local procedure",
}


#: Day and month names as GOV.UK writes dates (English, whatever the process's locale): looked up
#: rather than formatted with ``strftime``, which cost about 4 µs a date and a case page shows ~100.
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS_SHORT = tuple(m[:3] for m in _MONTHS)


def long_date(d: date | None) -> str:
    """``Wednesday 4 March 2026`` (GOV.UK style), or an empty string."""
    if d is None:
        return ""
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year:04d}"


def short_date(d: date | None) -> str:
    """``4 Mar 2026`` for tables."""
    return "" if d is None else f"{d.day} {_MONTHS_SHORT[d.month - 1]} {d.year:04d}"


def local_time(at: datetime | None) -> str:
    """``4 Mar 2026 at 09:05`` in London time."""
    if at is None:
        return ""
    local = at.astimezone(LONDON) if at.tzinfo else at
    return f"{short_date(local)} at {local.hour:02d}:{local.minute:02d}"


@functools.lru_cache(maxsize=512)
def _limit(text: str) -> Limit:
    """``parse_limit``, once per rule's text (a page shows many deadlines of the same few rules)."""
    return parse_limit(text)


def _plural(n: int, unit: str) -> str:
    singular = unit[:-1] if unit.endswith("s") else unit
    return f"{n} {singular if n == 1 else unit}"


@dataclass(frozen=True, slots=True)
class DeadlineView:
    """One deadline as a page shows it."""

    rule: str
    label: str
    klass: str
    klass_meaning: str
    source: str
    cycle: int
    start_on: date
    due_on: date
    raw_due_on: date
    status: str
    tag: str
    colour: str
    days: str
    live: bool
    overdue: bool
    due_soon: bool
    met_on: date | None
    breached_on: date | None
    limit: str
    skipped: tuple[str, ...]
    started_by: str = ""
    working: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "label": self.label,
            "class": self.klass,
            "source": self.source,
            "cycle": self.cycle,
            "start_on": self.start_on.isoformat(),
            "due_on": self.due_on.isoformat(),
            "status": self.status,
            "days": self.days,
            "overdue": self.overdue,
            "met_on": self.met_on.isoformat() if self.met_on else None,
            "breached_on": self.breached_on.isoformat() if self.breached_on else None,
        }


def _anchor(anchor: Anchor, workflow: WorkflowDef | None) -> str:
    """What starts a clock, in words: "entering Application", "Medical report recorded"."""
    if anchor.kind == "event" and anchor.name == "open":
        return "the case opening"
    if workflow is not None and anchor.kind in ("enter", "leave") and anchor.name in workflow.states:
        label = workflow.states[anchor.name].label or humanise(anchor.name)
        return f"{'entering' if anchor.kind == 'enter' else 'leaving'} “{label}”"
    if workflow is not None and anchor.kind == "event":
        for t in workflow.transitions:
            if t.trigger == anchor.name:
                return f"“{t.label or humanise(t.trigger)}”"
    if workflow is not None and anchor.kind == "fact" and anchor.name in workflow.facts:
        return f"the date recorded as “{workflow.facts[anchor.name].label or humanise(anchor.name)}”"
    return humanise(str(anchor))


def deadline_view(
    d: Deadline,
    rule: DeadlineRule | None,
    today: date,
    calendar: WorkingCalendar,
    workflow: WorkflowDef | None = None,
) -> DeadlineView:
    """``d`` with its tag, colour and days left or overdue in its rule's unit."""
    limit_text = rule.limit if rule else "0 days"
    try:
        limit = _limit(limit_text)
        working = limit.unit == "working_days"
    except ValueError:
        limit, working = None, False
    unit = "working days" if working else "days"
    live = d.status in ("open", "paused")
    due_in = calendar.working_days_between(today, d.due_on) if working else (d.due_on - today).days
    overdue = live and today > d.due_on
    due_soon = live and not overdue and calendar.working_days_between(today, d.due_on) <= DUE_SOON_WORKING_DAYS
    if d.status == "met":
        late = lateness(d, limit, calendar) if limit else None
        if late:
            status, tag, colour, days = "met late", f"Met late by {_plural(*late)}", "orange", _plural(*late) + " late"
        else:
            status, tag, colour, days = "met", "Met", "green", ""
    elif d.status == "breached":
        status, tag, colour, days = "breached", "Breached", "red", ""
    elif d.status == "cancelled":
        status, tag, colour, days = "cancelled", "Cancelled", "grey", ""
    elif d.status == "void":
        status, tag, colour, days = "void", "Void", "grey", ""
    elif overdue:
        status, tag, colour = "overdue", "Overdue", "red"
        days = _plural(-due_in, unit) + " overdue"
    elif d.status == "paused":
        status, tag, colour, days = "paused", "Paused", "blue", _plural(max(due_in, 0), unit) + " left when resumed"
    else:
        status = "due soon" if due_soon else "open"
        tag, colour = ("Due soon", "yellow") if due_soon else ("Open", "grey")
        days = "due today" if due_in == 0 else _plural(due_in, unit) + " left"
    return DeadlineView(
        rule=d.rule,
        label=rule.label if rule else d.rule,
        klass=rule.klass if rule else "",
        klass_meaning=CLASSES.get(rule.klass if rule else "", ""),
        source=rule.source if rule else "",
        cycle=d.cycle,
        start_on=d.start_on,
        due_on=d.due_on,
        raw_due_on=d.raw_due_on,
        status=status,
        tag=tag,
        colour=colour,
        days=days,
        live=live,
        overdue=overdue,
        due_soon=due_soon,
        met_on=d.met_on,
        breached_on=breach_day(d, today),
        limit=limit_text,
        skipped=skipped_days(d, calendar) if working else (),
        started_by=" or ".join(_anchor(a, workflow) for a in rule.start) if rule else "",
        working=working,
    )


def skipped_days(d: Deadline, calendar: WorkingCalendar) -> tuple[str, ...]:
    """The bank holidays and closures between start and due date (weekends are counted, not listed)."""
    return tuple(
        f"{long_date(day)}: {calendar.holiday_name(day) or 'local closure'}"
        for day in calendar.closed_weekdays_between(d.start_on, d.due_on)
    )


def rule_of(workflow: WorkflowDef, name: str) -> DeadlineRule | None:
    for rule in workflow.deadlines:
        if rule.name == name:
            return rule
    return None


def humanise(name: str) -> str:
    """``record_application`` → ``Record application`` (for names without a label)."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def plain(reason: str, workflow: WorkflowDef | None = None) -> str:
    """A refusal or an unmet condition in words: role names as people say them, and with the journey
    (``workflow``) its facts by their labels and ISO dates written out ("already done: “Application
    received” was recorded as Saturday 25 July 2026", not "already done: application_received_on was
    recorded as 2026-07-25")."""
    from carepath.engine.roles import ROLES

    def needs(m: re.Match[str]) -> str:
        return "needs a " + " or ".join(r.replace("_", " ") for r in m.group(1).split(" or "))

    names = "|".join(sorted((re.escape(r) for r in ROLES), key=len, reverse=True))
    text = re.sub(rf"needs role ((?:{names})(?: or (?:{names}))*)", needs, reason)
    if workflow is not None and workflow.facts:
        labels = {n: f.label or humanise(n) for n, f in workflow.facts.items()}
        text = _fact_names(tuple(labels)).sub(lambda m: f"“{labels[m.group(1)]}”", text)
        text = text.replace("Fact “", "“").replace("fact “", "“")
        text = _ISO_DAY.sub(_day_in_words, text)
    text = text.replace("Fact '", "'").replace("fact '", "'")
    return text[:1].upper() + text[1:]


#: An ISO day inside a message (a guard's reason names dates as YYYY-MM-DD).
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


@functools.lru_cache(maxsize=64)
def _fact_names(names: tuple[str, ...]) -> re.Pattern[str]:
    """A pattern for any of a journey's fact names, bare or in quotes, longest first."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"'?\b({alternatives})\b'?")


def _day_in_words(m: re.Match[str]) -> str:
    try:
        return long_date(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    except ValueError:
        return str(m.group(0))
