"""What the read models return and how a list is scoped: plain data shared by storage and entrypoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from carepath.engine.case import Case, CaseStatus, Event
from carepath.engine.deadlines import Deadline

OutboxStatus = Literal["pending", "sent", "dead"]


@dataclass(frozen=True, slots=True)
class Scope:
    """The cases an actor may see in a list: all of them, or their own and their teams'."""

    all_cases: bool
    actor_id: int | None = None
    team_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """Filters of a case list (``None``: any)."""

    workflow: str | None = None
    state: str | None = None
    owner_id: int | None = None
    team_id: int | None = None
    status: CaseStatus | None = None
    limit: int = 200


@dataclass(frozen=True, slots=True)
class CaseListing:
    """A case with its owner's email and team's name."""

    case: Case
    owner: str | None
    team: str | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event with the email of who recorded it."""

    event: Event
    by: str | None


@dataclass(frozen=True, slots=True)
class DeadlineListing:
    """An open deadline across cases, with its case and people."""

    deadline: Deadline
    case_ref: str
    workflow_id: str
    workflow_version: int
    owner: str | None
    team: str | None


@dataclass(frozen=True, slots=True)
class OutboxListing:
    """One outbox row as people read it (never its context)."""

    id: int
    key: str
    kind: str
    case_ref: str | None
    recipients: tuple[str, ...]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    message_id: str


@dataclass(frozen=True, slots=True)
class CaughtListing:
    """A message the built-in catcher received."""

    id: int
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Override:
    """A local calendar override."""

    day: date
    kind: str
    reason: str


JsonDict = dict[str, Any]
