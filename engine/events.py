"""Domain events: what happened, recorded by the application services in a unit of work.

The unit of work collects them; the message bus (``engine.bus``) hands each to the handlers
``config.bootstrap`` registers, inside the same transaction, so what they write (outbox rows,
audit entries) commits with the change or not at all. Events carry references, ids, rules
and dates, never names or case facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from carepath.engine.case import Case, Event
from carepath.engine.timers import TimerFired


@dataclass(frozen=True, slots=True)
class CaseRef:
    """The identity of a case and the people it routes to, as an event leaves it."""

    id: int
    ref: str
    workflow_id: str
    workflow_version: int
    owner_id: int | None
    team_id: int | None

    @classmethod
    def of(cls, case: Case) -> CaseRef:
        """The reference view of ``case`` (which must be stored: it has an id)."""
        assert case.id is not None
        return cls(case.id, case.ref, case.workflow_id, case.workflow_version, case.owner_id, case.team_id)


class DomainEvent:
    """Base of every domain event."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class CaseMoved(DomainEvent):
    """A case event was appended (a move, a hold, an assignment, a correction)."""

    case: CaseRef
    event: Event


@dataclass(frozen=True, slots=True)
class StateAnnounced(DomainEvent):
    """A case entered a state whose journey declares a notice (``meta.notice``).

    ``ready_for_panel``, ``approved``, ``match_agreed``... are kinds of this event: the
    journey, not the code, says which states announce themselves and to whom.
    """

    case: CaseRef
    event: Event
    kind: str
    state: str
    state_label: str
    workflow_title: str
    notify: tuple[str, ...]
    panel_type: str | None


@dataclass(frozen=True, slots=True)
class TimerRaised(DomainEvent):
    """A reminder fell due, a deadline was breached, or a breach escalated a tier."""

    fired: TimerFired


@dataclass(frozen=True, slots=True)
class Audited(DomainEvent):
    """A change outside a case's history (people, teams, calendar, panels, mail): for the audit trail."""

    actor_id: int | None
    action: str
    subject: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PanelSittingAdded(DomainEvent):
    """A panel sitting was booked."""

    day: date
    panel_type: str


@dataclass(frozen=True, slots=True)
class AgendaSent(DomainEvent):
    """A sitting's agenda went to its members with the papers: references only, never names."""

    sitting_id: int
    day: date
    panel_type: str
    papers_due_on: date
    refs: tuple[str, ...]
    recipients: tuple[str, ...]
    place: str = ""


@dataclass(frozen=True, slots=True)
class CalendarChanged(DomainEvent):
    """A local closure or extra working day was added or removed."""

    day: date
