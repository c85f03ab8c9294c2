"""What the application services need from storage, as Protocols. ``storage`` implements them
on SQLAlchemy (SQLite, PostgreSQL); ``tests/fakes.py`` implements them in memory.

A ``Transaction`` is one unit of work: everything written through it, and every outbox row or
audit entry its domain events cause, commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from carepath.engine.case import Actor, Case, CaseStatus, Event
from carepath.engine.deadlines import Deadline, DeadlineStatus
from carepath.engine.events import DomainEvent
from carepath.engine.timers import Timer, TimerKind

OverrideKind = Literal["closure", "opening"]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One email to queue: a template kind, its recipients and its fields (never names)."""

    key: str
    kind: str
    recipients: tuple[str, ...]
    context: Mapping[str, Any]
    case_id: int | None = None


@dataclass(frozen=True, slots=True)
class DueTimer:
    """A claimed timer, with its deadline and case, as the sweep raises it."""

    id: int
    case_id: int
    deadline_id: int
    key: str
    kind: TimerKind
    tier: int
    fire_on: date
    fire_at: datetime
    rule: str
    cycle: int
    start_on: date
    due_on: date
    deadline_status: DeadlineStatus
    case_ref: str
    workflow_id: str
    workflow_version: int
    state: str
    owner_id: int | None
    team_id: int | None
    case_status: CaseStatus


@dataclass(frozen=True, slots=True)
class Requeued:
    """A dead outbox message put back in the queue."""

    id: int
    key: str
    kind: str
    recipients: tuple[str, ...]
    last_error: str | None


@dataclass(frozen=True, slots=True)
class CalendarRecompute:
    """The durable record of one calendar change's recompute, run in batches in the order the cases were opened.

    ``total`` is how many cases had a deadline over ``day`` when the change committed; ``done``
    how many have been recomputed, the last of them ``last_ref``; ``finished_at`` is set with
    the last batch. A run that stops part-way is continued from ``last_ref``.
    """

    id: int
    day: date
    total: int
    done: int
    last_ref: str | None
    started_at: datetime
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user to create (email already normalised, roles already checked)."""

    email: str
    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewTeam:
    """A team to create, with user ids."""

    name: str
    manager_id: int | None
    service_manager_id: int | None
    member_ids: tuple[int, ...] = field(default=())


class EventLog(Protocol):
    """The domain events recorded in this unit of work, for the message bus."""

    def record(self, event: DomainEvent) -> None:
        """Record a domain event; the bus handles it before the transaction commits."""
        ...

    def take_events(self) -> list[DomainEvent]:
        """The events recorded since the last call, in order."""
        ...


class CaseStore(Protocol):
    """Cases, their append-only history and their deadlines."""

    def case_for_update(self, ref: str) -> Case:
        """The case with ``ref``, locked for writing. Raises ``CaseNotFound``."""
        ...

    def events(self, case_id: int) -> list[Event]:
        """The whole history of a case in sequence order."""
        ...

    def next_reference(self, prefix: str, year: int) -> str:
        """A fresh reference such as ``FC-2026-0001``, unique across cases."""
        ...

    def add_case(self, case: Case) -> int:
        """Insert a new case; returns its id. ``InvalidInput`` if the reference is taken."""
        ...

    def save_case(self, case: Case, expected_version: int) -> None:
        """Write ``case`` if its stored version is ``expected_version``; ``ConcurrencyConflict`` otherwise."""
        ...

    def add_event(self, event: Event) -> None:
        """Append one event (the only way events are written)."""
        ...

    def deadlines(self, case_id: int) -> list[Deadline]:
        """The case's deadlines that count (not void)."""
        ...

    def save_deadlines(
        self, case_id: int, deadlines: Sequence[Deadline], timers: Sequence[Timer], *, replace_all: bool
    ) -> None:
        """Upsert changed deadlines and re-plan their pending timers; with ``replace_all`` others go void."""
        ...

    def cases_with_deadlines_spanning(self, day: date) -> list[str]:
        """References of cases with an open or paused deadline running over ``day``."""
        ...


class TimerStore(Protocol):
    """Raising timers the sweep has claimed."""

    def take_claimed(self, ids: Sequence[int], token: str, now: datetime) -> tuple[list[DueTimer], dict[int, int]]:
        """Mark fired the timers in ``ids`` still claimed by ``token``.

        Returns them (in fire order) and the latest event number of each of their cases,
        which are locked for the rest of the transaction.
        """
        ...

    def mark_skipped(self, ids: Sequence[int]) -> None:
        """Record that these raised timers were moot (deadline met or case closed)."""
        ...

    def add_notices(self, events: Sequence[Event]) -> None:
        """Append system notices (already numbered) and move each case's ``last_seq`` on."""
        ...


class Directory(Protocol):
    """People: who acts, who receives, and changes to users and teams."""

    def actor(self, email: str) -> Actor:
        """The active user ``email`` with roles and team ids. ``NotFound`` or ``InvalidInput`` (deactivated)."""
        ...

    def recipients(self, roles: Iterable[str], *, owner_id: int | None, team_id: int | None) -> list[str]:
        """Email addresses of active users holding any of ``roles`` for a case, sorted."""
        ...

    def is_team_member(self, user_id: int, team_id: int) -> bool:
        """Whether ``user_id`` is an active case-holding member (or named manager) of team ``team_id``."""
        ...

    def may_own_cases(self, user_id: int) -> bool:
        """Whether ``user_id`` is an active user with a role that holds cases (not admin, not system)."""
        ...

    def human_users(self) -> int:
        """How many users exist besides carepath's system user."""
        ...

    def add_user(self, user: NewUser) -> int:
        """Create a user; ``InvalidInput`` if the email is taken."""
        ...

    def deactivate_user(self, email: str) -> None:
        """Deactivate a user; ``NotFound`` if there is none."""
        ...

    def user_id(self, email: str) -> int:
        """The id of the user with ``email``; ``NotFound`` otherwise."""
        ...

    def add_team(self, team: NewTeam) -> int:
        """Create a team with its people; ``InvalidInput`` if the name is taken."""
        ...

    def audit(self, actor_id: int | None, action: str, subject: str, detail: Mapping[str, Any]) -> None:
        """Append one audit entry."""
        ...


class Outbox(Protocol):
    """Emails queued with the change that causes them."""

    def enqueue(self, message: OutboxMessage) -> None:
        """Queue ``message`` to be written when the transaction commits.

        A key already queued in this transaction, or already in the outbox, is not queued again
        (the first message with a key wins). ``InvalidInput`` if it has no recipients.
        """
        ...

    def requeue(self, outbox_id: int) -> Requeued:
        """Put a dead message back in the queue with a fresh attempt count."""
        ...


class Panels(Protocol):
    """Panel sittings."""

    def add_sitting(self, day: date, panel_type: str) -> None:
        """Book a sitting; ``InvalidInput`` if that one is already booked."""
        ...

    def sitting_days(self, panel_type: str | None, since: date | None) -> list[tuple[date, str]]:
        """Booked sittings (day, type) in date order, of one type and from ``since`` if given."""
        ...


class CalendarStore(Protocol):
    """Local calendar overrides."""

    def add_override(self, day: date, kind: OverrideKind, reason: str) -> None:
        """Add a closure or opening; ``InvalidInput`` if the day has one."""
        ...

    def remove_override(self, day: date) -> None:
        """Remove the override on ``day``; ``NotFound`` if there is none."""
        ...

    def overrides(self) -> list[tuple[date, OverrideKind]]:
        """Every override, by day."""
        ...

    def start_recompute(self, day: date) -> CalendarRecompute:
        """Record a pending recompute of the cases with an open or paused deadline over ``day``.

        Its ``total`` is counted now; with none, it is recorded finished.
        """
        ...

    def unfinished_recomputes(self) -> list[CalendarRecompute]:
        """Recomputes not finished yet, oldest first."""
        ...

    def recompute_for_update(self, recompute_id: int) -> CalendarRecompute:
        """One recompute, locked for the rest of the transaction; ``NotFound`` if there is none."""
        ...

    def cases_spanning_after(self, day: date, after: str | None, limit: int) -> list[str]:
        """Up to ``limit`` references with an open or paused deadline over ``day``.

        In the order the cases were opened, after case ``after``.
        """
        ...

    def record_recompute_progress(
        self, recompute_id: int, last_ref: str | None, done: int, *, finished: bool
    ) -> CalendarRecompute:
        """Move a recompute on to ``last_ref`` with ``done`` cases recomputed (and finish it)."""
        ...


class Transaction(EventLog, CaseStore, TimerStore, Directory, Outbox, Panels, CalendarStore, Protocol):
    """One write transaction; everything in it commits together or not at all."""


class UnitOfWork(Protocol):
    """Hands out write transactions; publishes their domain events before each commits."""

    def transaction(self) -> AbstractContextManager[Transaction]:
        """Begin a write transaction; commit on clean exit, roll back on error."""
        ...
