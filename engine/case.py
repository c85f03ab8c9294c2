"""The case aggregate and its append-only event history.

The case row is a cache of the history: ``replay()`` of the events that were not entered in
error always gives the same state, facts, owner and team. Corrections append an
``entered_in_error`` event naming the sequence number it voids; nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from carepath.engine.definition import ON_HOLD

CaseStatus = Literal["open", "on_hold", "closed"]

#: Events the system records about a case that are not things that happened to it.
NOTICE_TRIGGERS = frozenset({"reminder_due", "deadline_breached", "deadline_escalated"})

#: A note or a recorded contact (a visit, a call...): a line of the case's record that changes
#: nothing about the case (no state, fact, owner, date or deadline), so the fold skips it.
NOTE_TRIGGER = "note"
#: What a note records: a plain note, or a contact with the family, carer or child, and how it was made.
NOTE_KINDS: tuple[str, ...] = ("note", "phone", "visit", "meeting", "email", "letter")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is doing something: resolved from a user by the entrypoint."""

    id: int
    email: str
    roles: frozenset[str]
    #: Teams the user belongs to; ``engine.policy`` widens "team" scope to their cases.
    team_ids: frozenset[int] = frozenset()

    @property
    def is_system(self) -> bool:
        """carepath itself (the scheduler): only the ``system`` role, never ``admin``."""
        return "system" in self.roles


@dataclass(slots=True)
class Case:
    """One case: a row moving through one pinned workflow version."""

    ref: str
    workflow_id: str
    workflow_version: int
    state: str
    opened_on: date
    last_event_on: date
    id: int | None = None
    status: CaseStatus = "open"
    held_from: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    owner_id: int | None = None
    team_id: int | None = None
    exit_reason: str | None = None
    last_seq: int = 0
    version: int = 1

    def apply(self, event: Event, terminal: frozenset[str]) -> None:
        """Fold one effective event into the case: the one fold, used by replay and the service.

        Sequence number and version are the service's business (a void changes them too).
        """
        self.state = event.to_state
        self.facts = {**self.facts, **event.facts}
        self.held_from = event.payload.get("held_from") if event.to_state == ON_HOLD else None
        self.owner_id = event.payload.get("owner_id", self.owner_id)
        self.team_id = event.payload.get("team_id", self.team_id)
        self.exit_reason = event.payload.get("reason") if event.to_state in terminal else None
        self.status = status_of(event.to_state, terminal)
        self.last_event_on = event.effective_on


@dataclass(frozen=True, slots=True)
class Event:
    """One immutable entry of a case's history."""

    case_id: int
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    effective_on: date
    recorded_at: datetime
    actor_id: int | None
    note: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def facts(self) -> Mapping[str, Any]:
        """Facts this event recorded."""
        return self.payload.get("facts", {})  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What replaying a history gives."""

    state: str
    status: CaseStatus
    held_from: str | None
    facts: dict[str, Any]
    owner_id: int | None
    team_id: int | None
    exit_reason: str | None
    last_event_on: date


def voided(events: Iterable[Event]) -> set[int]:
    """Sequence numbers that later ``entered_in_error`` events void."""
    return {int(e.payload["target_seq"]) for e in events if e.trigger == "entered_in_error"}


def effective_events(events: list[Event]) -> list[Event]:
    """Events that count: not voided, not corrections themselves, not system notices, not notes."""
    gone = voided(events)
    return [
        e
        for e in events
        if e.seq not in gone
        and e.trigger != "entered_in_error"
        and e.trigger not in NOTICE_TRIGGERS
        and e.trigger != NOTE_TRIGGER
    ]


def status_of(state: str, terminal: frozenset[str]) -> CaseStatus:
    """The status a case in ``state`` has: closed in a terminal state, on hold, or open."""
    return "closed" if state in terminal else "on_hold" if state == ON_HOLD else "open"


def replay(events: list[Event], terminal: frozenset[str]) -> Snapshot:
    """Fold the effective events into the case they describe (``Case.apply`` over each)."""
    effective = effective_events(events)
    if not effective:
        raise ValueError("a case history starts with its open event, which cannot be voided")
    case = Case("", "", 0, "", effective[0].effective_on, effective[0].effective_on)
    for e in effective:
        case.apply(e, terminal)
    return Snapshot(
        case.state,
        case.status,
        case.held_from,
        case.facts,
        case.owner_id,
        case.team_id,
        case.exit_reason,
        case.last_event_on,
    )
