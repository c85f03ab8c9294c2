"""Panel rules: sittings, the papers date, a year's pattern, quorum, and which cases a sitting serves.

Papers go to panel members at least 5 working days before the sitting (Fostering Services
National Minimum Standards 2011, standard 14; Adoption National Minimum Standards 2014,
standard 17), so a case that is ready today can go to the first sitting whose papers date is
today or later.

Quorum (domain.md §5.1; Fostering Services (England) Regulations 2011 reg 24, Adoption Agencies
Regulations 2005 reg 6; class STAT, figures marked VERIFY): at least 5 members, including the
chair or a vice chair and one social worker with at least 3 years' relevant post-qualifying
experience; a joint panel needs 6 (a setting, ``CAREPATH_PANEL_JOINT_QUORUM``). Advisers and the
minute taker attend but are not members: they do not count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.errors import InvalidInput

PanelType = Literal["fostering", "adoption", "joint"]
PANEL_TYPES: tuple[PanelType, ...] = ("fostering", "adoption", "joint")
#: The panel types a journey's ready state may name (a joint sitting serves both).
CASE_PANEL_TYPES: tuple[str, ...] = ("fostering", "adoption")
MemberRole = Literal[
    "chair", "vice_chair", "social_worker", "independent", "medical_adviser", "adviser", "minute_taker"
]
MEMBER_ROLES: tuple[MemberRole, ...] = (
    "chair",
    "vice_chair",
    "social_worker",
    "independent",
    "medical_adviser",
    "adviser",
    "minute_taker",
)
#: Roles that make someone a member of the panel for quorum; an adviser or minute taker alone does not.
QUORUM_ROLES = frozenset({"chair", "vice_chair", "social_worker", "independent", "medical_adviser"})
#: Members a fostering or adoption panel needs (FSR 24, AAR 6: VERIFY).
QUORUM = 5
#: Members a joint panel needs by default (a setting; VERIFY).
JOINT_QUORUM = 6
#: Working days between papers going to members and the sitting.
PAPERS_WORKING_DAYS = 5
#: Cases one sitting takes unless told otherwise.
DEFAULT_CAPACITY = 6
#: The most cases one sitting may take.
CAPACITY_MAX = 40
SITTING_STATUSES = ("planned", "held", "cancelled")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Sitting:
    """One booked panel sitting and the day its papers must go out."""

    day: date
    panel_type: str
    papers_by: date


@dataclass(frozen=True, slots=True)
class Quorum:
    """Whether the members recorded for a sitting make a quorum, and if not, why in plain words."""

    ok: bool
    reasons: tuple[str, ...]


def check_type(panel_type: str) -> str:
    """``panel_type`` if known; a clear error otherwise."""
    if panel_type not in PANEL_TYPES:
        raise InvalidInput(f"panel type {panel_type!r}: use one of {', '.join(PANEL_TYPES)}")
    return panel_type


def check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Member roles, each known, without repeats; at least one."""
    out: list[str] = []
    for role in roles:
        role = role.strip()
        if role not in MEMBER_ROLES:
            raise InvalidInput(f"member role {role!r}: use one of {', '.join(MEMBER_ROLES)}")
        if role not in out:
            out.append(role)
    if not out:
        raise InvalidInput("a panel member needs at least one role: " + ", ".join(MEMBER_ROLES))
    return tuple(out)


def serves(sitting_type: str, case_type: str) -> bool:
    """Whether a sitting of ``sitting_type`` hears a case that needs a ``case_type`` panel."""
    return sitting_type == case_type or sitting_type == "joint"


def papers_by(day: date, calendar: WorkingCalendar) -> date:
    """The day papers must reach members for a sitting on ``day`` (5 working days back, closures counted)."""
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


def quorum(members: Sequence[Iterable[str]], panel_type: str, *, joint_quorum: int = JOINT_QUORUM) -> Quorum:
    """The quorum of a sitting from the roles of each member recorded as attending.

    Args:
        members: each attending member's roles.
        panel_type: fostering, adoption or joint.
        joint_quorum: members a joint panel needs.
    """
    counted = [set(r) & QUORUM_ROLES for r in (set(m) for m in members)]
    counted = [r for r in counted if r]
    need = joint_quorum if panel_type == "joint" else QUORUM
    reasons: list[str] = []
    if len(counted) < need:
        word = "member attends" if len(counted) == 1 else "members attend"
        reasons.append(f"{len(counted)} {word}; quorum is {need}")
    if not any(r & {"chair", "vice_chair"} for r in counted):
        reasons.append("needs a chair or vice chair")
    if not any("social_worker" in r for r in counted):
        reasons.append("needs a social worker with 3 years' post-qualifying experience")
    return Quorum(not reasons, tuple(reasons))


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The ``nth`` (1-5, or -1 for the last) ``weekday`` (0 Monday) of a month; ``None`` if there is no 5th."""
    first = date(year, month, 1)
    if nth == -1:
        nxt = date(year + month // 12, month % 12 + 1, 1)
        day = nxt - timedelta(days=1)
        return day - timedelta(days=(day.weekday() - weekday) % 7)
    day = first + timedelta(days=(weekday - first.weekday()) % 7) + timedelta(weeks=nth - 1)
    return day if day.month == month else None


def plan_days(
    weekday: int, nth: int, start: date, end: date, calendar: WorkingCalendar
) -> list[tuple[date, date, str | None]]:
    """The pattern's days from ``start`` to ``end``: (wanted, actual, why it moved or ``None``).

    A day that is not a working day (a bank holiday, a closure) moves to the next working day;
    the reason names the holiday or closure.
    """
    if not 0 <= weekday <= 4:
        raise InvalidInput("a panel sits on a weekday: give 0 (Monday) to 4 (Friday)")
    if nth not in (1, 2, 3, 4, 5, -1):
        raise InvalidInput("which week of the month: 1 to 5, or -1 for the last")
    if end < start:
        raise InvalidInput(f"the plan ends ({end}) before it starts ({start})")
    if (end - start).days > 3 * 366:
        raise InvalidInput("a plan covers at most three years")
    out: list[tuple[date, date, str | None]] = []
    year, month = start.year, start.month
    while date(year, month, 1) <= end:
        wanted = nth_weekday(year, month, weekday, nth)
        if wanted is not None and start <= wanted <= end:
            actual, why = wanted, None
            if not calendar.is_working_day(wanted):
                why = calendar.holiday_name(wanted) or "not a working day"
                actual = calendar.add_working_days(wanted, 1)
            out.append((wanted, actual, why))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
