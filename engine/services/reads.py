"""The read service: every read is authorized (``engine.policy``) and lists are scoped to the actor.

The read models themselves live in ``storage.queries``; this layer only knows them through
the small Protocols below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any, Protocol

from carepath.engine.case import Actor, Case
from carepath.engine.deadlines import Deadline
from carepath.engine.errors import CaseNotFound, NotPermitted
from carepath.engine.people import Participant
from carepath.engine.policy import Subject, authorize, case_scope_filter
from carepath.engine.reads import (
    DEFAULT_LIMIT,
    HISTORY_LIMIT,
    CaseFilter,
    CaseListing,
    CaughtListing,
    DeadlineListing,
    HistoryEntry,
    OutboxListing,
    OutboxStatus,
    Override,
    Page,
    Scope,
    WorkerLoad,
    WorkItem,
    clamp_limit,
)
from carepath.engine.text import cursor, lookup_reference, record_id


class OneCase(Protocol):
    def case(self, ref: str) -> Case: ...
    def owner_and_team(self, case: Case) -> tuple[str | None, str | None]: ...


class CaseReads(OneCase, Protocol):
    def cases(self, f: CaseFilter, scope: Scope) -> Page[CaseListing]: ...


class HistoryReads(Protocol):
    def history(self, case_id: int, *, limit: int = ..., after: str | None = None) -> Page[HistoryEntry]: ...


class DeadlineReads(Protocol):
    def of_case(self, case_id: int) -> list[Deadline]: ...
    def due(
        self,
        until: date,
        scope: Scope,
        *,
        team_id: int | None = None,
        owner_id: int | None = None,
        limit: int = ...,
        after: str | None = None,
    ) -> Page[DeadlineListing]: ...
    def due_count(
        self, until: date, scope: Scope, *, team_id: int | None = None, owner_id: int | None = None
    ) -> int: ...


class MailReads(Protocol):
    def outbox(
        self, status: OutboxStatus | None, limit: int = ..., after: str | None = None
    ) -> Page[OutboxListing]: ...
    def counts(self) -> dict[str, int]: ...
    def caught(self, limit: int = ..., after: str | None = None) -> Page[CaughtListing]: ...
    def caught_raw(self, caught_id: int) -> str: ...


class PeopleReads(Protocol):
    def users(self, *, limit: int = ..., after: str | None = None) -> Page[Any]: ...
    def teams(self, *, limit: int = ..., after: str | None = None) -> Page[Any]: ...


class PanelReads(Protocol):
    def sitting_days(
        self, panel_type: str | None, since: date | None, *, limit: int = ..., after: str | None = None
    ) -> Page[tuple[date, str]]: ...
    def overrides(self, *, limit: int = ..., after: str | None = None) -> Page[Override]: ...


class WorkReads(Protocol):
    def tray(
        self,
        scope: Scope,
        *,
        owner_id: int | None = None,
        team_id: int | None = None,
        places: Sequence[tuple[str, str]] = (),
        workflow: str | None = None,
        state: str | None = None,
        statuses: Sequence[str] = ("open", "on_hold"),
        limit: int = ...,
        after: str | None = None,
    ) -> Page[WorkItem]: ...
    def tray_count(
        self,
        scope: Scope,
        *,
        owner_id: int | None = None,
        team_id: int | None = None,
        places: Sequence[tuple[str, str]] = (),
        statuses: Sequence[str] = ("open", "on_hold"),
    ) -> int: ...
    def breaches(
        self, scope: Scope, since: date, until: date, *, team_id: int | None = None, limit: int = ...
    ) -> Page[tuple[Deadline, str, str | None]]: ...
    def caseloads(self, team_id: int) -> list[WorkerLoad]: ...


class ParticipantReads(Protocol):
    def participants(self, case_id: int, case_ref: str) -> list[Participant]: ...


# The reads ``carepath case show`` makes, as functions over their read models: ``ReadService`` and
# ``PersonService`` call them on SQLAlchemy's, the quick path (entrypoints/quick.py) on ``sqlite3``'s.


def read_case(cases: OneCase, ref: str, actor: Actor) -> Case:
    """One case, if ``actor`` may read it; the reference in any case (they are stored upper case)."""
    stored = lookup_reference(ref)
    if stored is None:
        raise CaseNotFound(ref)
    case = cases.case(stored)
    authorize(actor, "case.read", Subject(owner_id=case.owner_id, team_id=case.team_id))
    return case


def read_listing(cases: OneCase, ref: str, actor: Actor) -> CaseListing:
    """One case with its owner's email and team's name, if ``actor`` may read it."""
    case = read_case(cases, ref, actor)
    owner, team = cases.owner_and_team(case)
    return CaseListing(case, owner, team)


def read_participants(people: ParticipantReads, case: Case, actor: Actor) -> list[Participant]:
    """The people of ``case`` (as read by ``actor``), by role then name."""
    authorize(actor, "person.read", Subject(case.owner_id, case.team_id))
    assert case.id is not None
    return people.participants(case.id, case.ref)


def scope_for(actor: Actor, command: str) -> Scope:
    """The cases ``actor`` may see in a list read by ``command``; refused if none."""
    kind, team_ids = case_scope_filter(actor, command)
    if kind == "none":
        authorize(actor, command, Subject(owner_id=None, team_id=None))  # raises with the policy's reason
        raise NotPermitted(actor.email, command, "no cases are in their scope")
    return Scope(all_cases=kind == "all", actor_id=actor.id, team_ids=team_ids)


class ReadService:
    """Authorized reads for the CLI, the web app and reports."""

    def __init__(
        self,
        cases: CaseReads,
        history: HistoryReads,
        deadlines: DeadlineReads,
        mail: MailReads,
        panels: PanelReads,
        people: PeopleReads,
        work: WorkReads | None = None,
    ) -> None:
        self._cases = cases
        self._history = history
        self._deadlines = deadlines
        self._mail = mail
        self._panels = panels
        self._people = people
        self._work = work

    def case(self, ref: str, actor: Actor) -> Case:
        """One case, if ``actor`` may read it; the reference in any case (they are stored upper case)."""
        return read_case(self._cases, ref, actor)

    def case_listing(self, ref: str, actor: Actor) -> CaseListing:
        """One case with its owner's email and team's name."""
        return read_listing(self._cases, ref, actor)

    def cases(self, f: CaseFilter, actor: Actor) -> Page[CaseListing]:
        """A page of the cases matching ``f`` that ``actor`` may see, newest first; ``f.after`` pages on."""
        f = replace(f, limit=clamp_limit(f.limit), after=cursor(f.after))
        return self._cases.cases(f, scope_for(actor, "case.list"))

    def history(
        self, ref: str, actor: Actor, *, limit: int = HISTORY_LIMIT, after: str | None = None
    ) -> tuple[Case, Page[HistoryEntry]]:
        """A case and a page of its events, oldest first (``after``: the ``next`` of the page before)."""
        case = self.case(ref, actor)
        assert case.id is not None
        return case, self._history.history(case.id, limit=clamp_limit(limit, HISTORY_LIMIT), after=cursor(after))

    def case_deadlines(self, ref: str, actor: Actor) -> tuple[Case, list[Deadline]]:
        """A case and its deadlines, by due date.

        Not paged: one case's deadlines are bounded by its journey's rules and their cycles.
        """
        stored = lookup_reference(ref)
        if stored is None:
            raise CaseNotFound(ref)
        case = self._cases.case(stored)
        return case, self.deadlines_of(case, actor)

    def deadlines_of(self, case: Case, actor: Actor) -> list[Deadline]:
        """The deadlines of a case already read (the case page's), if ``actor`` may read them."""
        authorize(actor, "deadlines.read", Subject(owner_id=case.owner_id, team_id=case.team_id))
        assert case.id is not None
        return self._deadlines.of_case(case.id)

    def deadlines_due(
        self,
        until: date,
        actor: Actor,
        *,
        team_id: int | None = None,
        owner_id: int | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[DeadlineListing]:
        """A page of the open deadlines due by ``until`` on cases ``actor`` may see, soonest first."""
        return self._deadlines.due(
            until,
            scope_for(actor, "deadlines.read"),
            team_id=team_id,
            owner_id=owner_id,
            limit=clamp_limit(limit),
            after=cursor(after),
        )

    def deadlines_due_count(
        self, until: date, actor: Actor, *, team_id: int | None = None, owner_id: int | None = None
    ) -> int:
        """``deadlines_due(...).total`` (up to ``COUNT_CAP``) without reading a page: a badge's number."""
        return self._deadlines.due_count(until, scope_for(actor, "deadlines.read"), team_id=team_id, owner_id=owner_id)

    def outbox(
        self, actor: Actor, status: OutboxStatus | None = None, limit: int = DEFAULT_LIMIT, after: str | None = None
    ) -> Page[OutboxListing]:
        """A page of outbox rows, newest first."""
        authorize(actor, "mail.read")
        return self._mail.outbox(status, clamp_limit(limit), cursor(after))

    def outbox_counts(self, actor: Actor) -> dict[str, int]:
        """Pending, sent and dead counts."""
        authorize(actor, "mail.read")
        return self._mail.counts()

    def caught(self, actor: Actor, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[CaughtListing]:
        """A page of what the built-in catcher received, newest first."""
        authorize(actor, "mail.read")
        return self._mail.caught(clamp_limit(limit), cursor(after))

    def caught_raw(self, caught_id: int, actor: Actor) -> str:
        """One caught message as received."""
        authorize(actor, "mail.read")
        return self._mail.caught_raw(record_id(caught_id, "the message id"))

    def sitting_days(
        self,
        actor: Actor,
        panel_type: str | None,
        since: date | None,
        *,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[tuple[date, str]]:
        """A page of booked panel sittings, in date order."""
        authorize(actor, "panel.read")
        return self._panels.sitting_days(panel_type, since, limit=clamp_limit(limit), after=cursor(after))

    def overrides(self, actor: Actor, *, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[Override]:
        """A page of local calendar overrides, by day."""
        authorize(actor, "calendar.read")
        return self._panels.overrides(limit=clamp_limit(limit), after=cursor(after))

    def users(self, actor: Actor, *, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[Any]:
        """A page of the users but the system one, by email."""
        authorize(actor, "user.read")
        return self._people.users(limit=clamp_limit(limit), after=cursor(after))

    def teams(self, actor: Actor, *, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[Any]:
        """A page of teams with their people, by name."""
        authorize(actor, "team.read")
        return self._people.teams(limit=clamp_limit(limit), after=cursor(after))

    def tray(
        self,
        actor: Actor,
        *,
        owner_id: int | None = None,
        team_id: int | None = None,
        places: Sequence[tuple[str, str]] = (),
        workflow: str | None = None,
        state: str | None = None,
        statuses: Sequence[str] = ("open", "on_hold"),
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[WorkItem]:
        """A page of open cases ``actor`` may see, soonest-due (overdue) first, with each one's next deadline.

        ``owner_id``: one worker's tray (My work); ``team_id``: a team's; ``places``: cases in those
        (journey, state) pairs (awaiting a decision, ready for panel).
        """
        assert self._work is not None, "the work read model is not wired"
        return self._work.tray(
            scope_for(actor, "case.list"),
            owner_id=owner_id,
            team_id=team_id,
            places=places,
            workflow=workflow or None,
            state=state or None,
            statuses=statuses,
            limit=clamp_limit(limit),
            after=cursor(after),
        )

    def tray_count(
        self,
        actor: Actor,
        *,
        owner_id: int | None = None,
        team_id: int | None = None,
        places: Sequence[tuple[str, str]] = (),
        statuses: Sequence[str] = ("open", "on_hold"),
    ) -> int:
        """``tray(...).total`` (up to ``COUNT_CAP``) without reading a page: a badge's number."""
        assert self._work is not None, "the work read model is not wired"
        return self._work.tray_count(
            scope_for(actor, "case.list"), owner_id=owner_id, team_id=team_id, places=places, statuses=statuses
        )

    def breaches(
        self, actor: Actor, since: date, until: date, *, team_id: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[tuple[Deadline, str, str | None]]:
        """Deadlines breached between ``since`` and ``until`` on cases ``actor`` may see, latest first."""
        assert self._work is not None, "the work read model is not wired"
        return self._work.breaches(
            scope_for(actor, "deadlines.read"), since, until, team_id=team_id, limit=clamp_limit(limit)
        )

    def caseloads(self, actor: Actor, team_id: int) -> list[WorkerLoad]:
        """Open cases per worker of a team: for whoever may assign that team's cases."""
        authorize(actor, "case.assign", Subject(owner_id=None, team_id=team_id))
        assert self._work is not None, "the work read model is not wired"
        return self._work.caseloads(team_id)
