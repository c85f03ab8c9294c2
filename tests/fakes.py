"""In-memory adapters for the application layer's ports (cosmicpython-style fakes, no mocks).

``FakeUnitOfWork`` hands out ``FakeTransaction``s that implement every method of
``engine.ports.Transaction`` with the observable behaviour of ``storage.uow.SqlTransaction``:
optimistic versions, unique references, deadline upserts that re-plan pending timers and keep
fired ones, the sweep's claims and leases, the recipient rules of ``storage.recipients``, an
outbox that is idempotent by key. ``tests/contract`` runs one suite over this fake, SQLite and
PostgreSQL to keep them in step.

A transaction works on a copy of the committed state taken when it begins; on a clean exit the
message bus handles its domain events and the copy becomes the committed state; on an
exception the copy is dropped. Stored rows are immutable (frozen dataclasses, or ``Case``
objects copied in and out), so the copy is shallow and cheap.

Where the SQL backend would hit a constraint that no port method turns into a carepath error
(an event numbered twice, a dangling foreign key), the fake raises ``IntegrityViolation``:
the caller has a bug that PostgreSQL would report as an ``IntegrityError``.

``seed`` creates users and teams through the ``Directory`` port of any unit of work (this
fake or the SQL one), as fixtures do: no audit entries, no policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from carepath.engine.bus import MessageBus
from carepath.engine.case import Actor, Case, Event
from carepath.engine.clock import Clock
from carepath.engine.deadlines import Deadline
from carepath.engine.errors import CaseNotFound, ConcurrencyConflict, InvalidInput, NotFound
from carepath.engine.events import DomainEvent
from carepath.engine.ports import (
    CalendarRecompute,
    DueTimer,
    NewTeam,
    NewUser,
    OutboxMessage,
    OverrideKind,
    Requeued,
    UnitOfWork,
)
from carepath.engine.roles import OWNER, ROLES, SYSTEM_EMAIL, TEAM_MANAGER
from carepath.engine.timers import Timer, TimerKind

SERVICE_MANAGER = "service_manager"
#: Roles whose holders may own cases (storage.people.CASE_ROLES): not administrators, not carepath.
CASE_ROLES = frozenset(ROLES) - {"admin", "system"}


class IntegrityViolation(AssertionError):
    """A write the database would refuse with a driver error (a bug in the caller, not a refusal)."""


def _json(value: Any) -> Any:
    """``value`` as a JSON column gives it back (tuples become lists; dates are refused)."""
    return json.loads(json.dumps(value))


def _normalise(email: str) -> str:
    return email.strip().lower()


# -- rows ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    email: str
    name: str
    roles: tuple[str, ...]
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TeamRow:
    id: int
    name: str
    manager_id: int | None
    service_manager_id: int | None
    member_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    case_id: int
    deadline: Deadline  # with its id


@dataclass(frozen=True, slots=True)
class TimerRow:
    id: int
    deadline_id: int
    case_id: int
    key: str
    kind: TimerKind
    tier: int
    fire_on: date
    fire_at: datetime
    claimed_until: datetime | None = None
    claimed_by: str | None = None
    fired_at: datetime | None = None
    outcome: str | None = None  # raised | skipped


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    key: str
    kind: str
    case_id: int | None
    recipients: tuple[str, ...]
    context: Mapping[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    claimed_until: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor_id: int | None
    action: str
    subject: str
    detail: Mapping[str, Any]


def _copy_case(case: Case) -> Case:
    # Stored facts went through _json once; values are never mutated in place (Case.apply builds new dicts).
    return replace(case, facts=dict(case.facts))


@dataclass
class FakeState:
    """Every table of the fake database."""

    cases: dict[int, Case] = field(default_factory=dict)
    refs: dict[str, int] = field(default_factory=dict)
    events: dict[int, list[Event]] = field(default_factory=dict)
    counters: dict[tuple[str, int], int] = field(default_factory=dict)
    deadlines: dict[int, DeadlineRow] = field(default_factory=dict)
    timers: dict[int, TimerRow] = field(default_factory=dict)
    users: dict[int, UserRow] = field(default_factory=dict)
    teams: dict[int, TeamRow] = field(default_factory=dict)
    audit: list[AuditRow] = field(default_factory=list)
    outbox: dict[int, OutboxRow] = field(default_factory=dict)
    sittings: dict[tuple[date, str], datetime] = field(default_factory=dict)
    overrides: dict[date, tuple[OverrideKind, str]] = field(default_factory=dict)
    recomputes: dict[int, CalendarRecompute] = field(default_factory=dict)
    last_ids: dict[str, int] = field(default_factory=dict)

    def copy(self) -> FakeState:
        """A copy a transaction may change freely (rows are immutable; containers are copied)."""
        return FakeState(
            cases=dict(self.cases),
            refs=dict(self.refs),
            events={k: list(v) for k, v in self.events.items()},
            counters=dict(self.counters),
            deadlines=dict(self.deadlines),
            timers=dict(self.timers),
            users=dict(self.users),
            teams=dict(self.teams),
            audit=list(self.audit),
            outbox=dict(self.outbox),
            sittings=dict(self.sittings),
            overrides=dict(self.overrides),
            recomputes=dict(self.recomputes),
            last_ids=dict(self.last_ids),
        )

    def next_id(self, table: str) -> int:
        self.last_ids[table] = self.last_ids.get(table, 0) + 1
        return self.last_ids[table]

    def user_by_email(self, email: str) -> UserRow | None:
        email = _normalise(email)
        return next((u for u in self.users.values() if u.email == email), None)

    def claim(self, token: str, now: datetime, until: datetime, batch: int) -> list[int]:
        """``SqlTimerClaims.claim`` on this state."""
        due = sorted(
            (
                t
                for t in self.timers.values()
                if t.fired_at is None and t.fire_at <= now and (t.claimed_until is None or t.claimed_until < now)
            ),
            key=lambda t: (t.fire_at, t.id),
        )[:batch]
        for t in due:
            self.timers[t.id] = replace(t, claimed_by=token, claimed_until=until)
        return [t.id for t in due]


# -- the transaction -----------------------------------------------------------------------------


class FakeTransaction:
    """One open transaction on a copy of the fake database: every port of ``Transaction``."""

    def __init__(self, state: FakeState, clock: Clock) -> None:
        self.state = state
        self.clock = clock
        self._events: list[DomainEvent] = []
        self._now: datetime | None = None

    def now(self) -> datetime:
        """The clock's time, read once per transaction (as the SQL one does)."""
        if self._now is None:
            self._now = self.clock.now()
        return self._now

    # -- EventLog ---------------------------------------------------------------------------

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def take_events(self) -> list[DomainEvent]:
        taken, self._events = self._events, []
        return taken

    # -- CaseStore --------------------------------------------------------------------------

    def case_for_update(self, ref: str) -> Case:
        case_id = self.state.refs.get(ref)
        if case_id is None:
            raise CaseNotFound(ref)
        return _copy_case(self.state.cases[case_id])

    def events(self, case_id: int) -> list[Event]:
        return sorted(self.state.events.get(case_id, ()), key=lambda e: e.seq)

    def next_reference(self, prefix: str, year: int) -> str:
        while True:  # as in SQL: a number someone gave (ahead of the counter) is skipped
            last = self.state.counters.get((prefix, year), 0) + 1
            self.state.counters[(prefix, year)] = last
            ref = f"{prefix}-{year}-{last:04d}"
            if ref not in self.state.refs:
                return ref

    def add_case(self, case: Case) -> int:
        if case.ref in self.state.refs:
            raise InvalidInput(f"case reference {case.ref!r} is already taken")
        if case.owner_id is not None and case.owner_id not in self.state.users:
            raise InvalidInput(f"case {case.ref!r}: there is no user {case.owner_id}")
        if case.team_id is not None and case.team_id not in self.state.teams:
            raise InvalidInput(f"case {case.ref!r}: there is no team {case.team_id}")
        case_id = self.state.next_id("case")
        stored = replace(case, id=case_id, facts=_json(case.facts))
        self.state.cases[case_id] = stored
        self.state.refs[case.ref] = case_id
        self.state.events[case_id] = []
        return case_id

    def save_case(self, case: Case, expected_version: int) -> None:
        stored = self.state.cases.get(case.id) if case.id is not None else None
        if stored is None or stored.version != expected_version:
            raise ConcurrencyConflict(case.ref, expected_version, stored.version if stored else None)
        self._check_people(case.owner_id, case.team_id)
        # Identity columns (ref, workflow, opened_on) are never rewritten, as in SQL.
        self.state.cases[stored.id] = replace(
            case,
            facts=_json(case.facts),
            id=stored.id,
            ref=stored.ref,
            workflow_id=stored.workflow_id,
            workflow_version=stored.workflow_version,
            opened_on=stored.opened_on,
        )

    def add_event(self, event: Event) -> None:
        self._insert_events([event])

    def deadlines(self, case_id: int) -> list[Deadline]:
        return [r.deadline for r in self._deadline_rows(case_id) if r.deadline.status != "void"]

    def save_deadlines(
        self, case_id: int, deadlines: Sequence[Deadline], timers: Sequence[Timer], *, replace_all: bool
    ) -> None:
        ids = self._upsert_deadlines(case_id, deadlines)
        touched = set(ids.values())
        if replace_all:
            gone = {r.deadline.id: r for r in self._deadline_rows(case_id) if r.deadline.id not in touched}
            self._drop_pending_timers(set(gone))
            for deadline_id, row in gone.items():
                self.state.deadlines[deadline_id] = replace(row, deadline=replace(row.deadline, status="void"))
        self._drop_pending_timers(touched)
        fired = {(t.deadline_id, t.key) for t in self.state.timers.values() if t.deadline_id in touched}
        for t in timers:
            deadline_id = ids[(t.rule, t.cycle)]
            if (deadline_id, t.key) not in fired:  # a fired timer's record stays; it is not planned again
                self._insert_timer(case_id, deadline_id, t)

    def cases_with_deadlines_spanning(self, day: date) -> list[str]:
        case_ids = {
            r.case_id
            for r in self.state.deadlines.values()
            if r.deadline.status in ("open", "paused") and r.deadline.start_on <= day <= r.deadline.due_on
        }
        return sorted(self.state.cases[i].ref for i in case_ids)

    # -- TimerStore -------------------------------------------------------------------------

    def take_claimed(self, ids: Sequence[int], token: str, now: datetime) -> tuple[list[DueTimer], dict[int, int]]:
        rows = sorted(
            (self.state.timers[i] for i in set(ids) if i in self.state.timers), key=lambda t: (t.fire_at, t.id)
        )
        seqs = {case_id: self.state.cases[case_id].last_seq for case_id in sorted({t.case_id for t in rows})}
        due: list[DueTimer] = []
        for t in rows:
            # As in SQL, the token alone says the timer is still this sweeper's to raise; firing clears it.
            if t.claimed_by == token:
                due.append(self._due(t))
                self.state.timers[t.id] = replace(t, fired_at=now, outcome="raised", claimed_by=None)
        return due, seqs

    def mark_skipped(self, ids: Sequence[int]) -> None:
        for i in ids:
            if i in self.state.timers:
                self.state.timers[i] = replace(self.state.timers[i], outcome="skipped")

    def add_notices(self, events: Sequence[Event]) -> None:
        self._insert_events(events)
        last: dict[int, int] = {}
        for e in events:
            last[e.case_id] = max(last.get(e.case_id, 0), e.seq)
        for case_id, seq in last.items():
            self.state.cases[case_id] = replace(self.state.cases[case_id], last_seq=seq)

    # -- Directory --------------------------------------------------------------------------

    def actor(self, email: str) -> Actor:
        user = self.state.user_by_email(email)
        if user is None:
            raise NotFound("user", email)
        if not user.active:
            raise InvalidInput(f"user {email!r} is deactivated")
        return Actor(user.id, user.email, frozenset(user.roles), team_ids=self._teams_of(user.id))

    def recipients(self, roles: Iterable[str], *, owner_id: int | None, team_id: int | None) -> list[str]:
        emails: set[str] = set()
        for role in roles:
            emails.update(u.email for u in self._holders(role, owner_id, team_id))
        return sorted(emails)

    def is_team_member(self, user_id: int, team_id: int) -> bool:
        return team_id in self._teams_of(user_id) and self.may_own_cases(user_id)

    def may_own_cases(self, user_id: int) -> bool:
        user = self.state.users.get(user_id)
        return user is not None and user.active and bool(CASE_ROLES & set(user.roles))

    def human_users(self) -> int:
        return sum(1 for u in self.state.users.values() if u.email != SYSTEM_EMAIL)

    def add_user(self, user: NewUser) -> int:
        if any(u.email == user.email for u in self.state.users.values()):
            raise InvalidInput(f"a user with email {user.email!r} already exists")
        uid = self.state.next_id("user")
        self.state.users[uid] = UserRow(uid, user.email, user.name, tuple(user.roles), True, self.now())
        return uid

    def deactivate_user(self, email: str) -> None:
        user = self.state.user_by_email(email)
        if user is None:
            raise NotFound("user", email)
        self.state.users[user.id] = replace(user, active=False)

    def user_id(self, email: str) -> int:
        user = self.state.user_by_email(email)
        if user is None:
            raise NotFound("user", email)
        return user.id

    def add_team(self, team: NewTeam) -> int:
        if any(t.name == team.name for t in self.state.teams.values()):
            raise InvalidInput(f"a team called {team.name!r} already exists")
        for uid in (team.manager_id, team.service_manager_id):
            if uid is not None and uid not in self.state.users:
                raise InvalidInput(f"team {team.name!r}: there is no user {uid}")
        for uid in team.member_ids:
            if uid not in self.state.users:
                raise IntegrityViolation(f"team {team.name!r}: member {uid} is no user")
        tid = self.state.next_id("team")
        members = frozenset(team.member_ids)
        self.state.teams[tid] = TeamRow(tid, team.name, team.manager_id, team.service_manager_id, members)
        return tid

    def audit(self, actor_id: int | None, action: str, subject: str, detail: Mapping[str, Any]) -> None:
        if actor_id is not None and actor_id not in self.state.users:
            raise IntegrityViolation(f"audit {action}: actor {actor_id} is no user")
        row = AuditRow(self.state.next_id("audit"), self.now(), actor_id, action, subject, _json(dict(detail)))
        self.state.audit.append(row)

    # -- Outbox -----------------------------------------------------------------------------

    def enqueue(self, message: OutboxMessage) -> None:
        if not message.recipients:
            raise InvalidInput(f"outbox {message.key}: no recipients")
        if any(m.key == message.key for m in self.state.outbox.values()):
            return
        if message.case_id is not None and message.case_id not in self.state.cases:
            raise IntegrityViolation(f"outbox {message.key}: case {message.case_id} does not exist")
        oid = self.state.next_id("outbox")
        now = self.now()
        self.state.outbox[oid] = OutboxRow(
            oid,
            message.key,
            message.kind,
            message.case_id,
            tuple(sorted(set(message.recipients))),
            _json(dict(message.context)),
            "pending",
            0,
            now,
            now,
        )

    def requeue(self, outbox_id: int) -> Requeued:
        row = self.state.outbox.get(outbox_id)
        if row is None:
            raise NotFound("outbox message", str(outbox_id))
        if row.status != "dead":
            raise InvalidInput(f"outbox message {outbox_id} is {row.status}, not dead; only dead messages are retried")
        self.state.outbox[outbox_id] = replace(
            row, status="pending", attempts=0, next_attempt_at=self.now(), claimed_until=None
        )
        return Requeued(row.id, row.key, row.kind, row.recipients, row.last_error)

    # -- Panels and CalendarStore -----------------------------------------------------------

    def add_sitting(self, day: date, panel_type: str) -> None:
        if (day, panel_type) in self.state.sittings:
            raise InvalidInput(f"a {panel_type} panel is already booked on {day.isoformat()}")
        self.state.sittings[(day, panel_type)] = self.now()

    def sitting_days(self, panel_type: str | None, since: date | None) -> list[tuple[date, str]]:
        return sorted(
            (d, t)
            for d, t in self.state.sittings
            if (panel_type is None or t == panel_type) and (since is None or d >= since)
        )

    def add_override(self, day: date, kind: OverrideKind, reason: str) -> None:
        if day in self.state.overrides:
            raise InvalidInput(f"{day} already has an override; remove it first")
        self.state.overrides[day] = (kind, reason)

    def remove_override(self, day: date) -> None:
        if self.state.overrides.pop(day, None) is None:
            raise NotFound("calendar override on", day.isoformat())

    def overrides(self) -> list[tuple[date, OverrideKind]]:
        return sorted((d, k) for d, (k, _) in self.state.overrides.items())

    def start_recompute(self, day: date) -> CalendarRecompute:
        total = len(self.cases_with_deadlines_spanning(day))
        now = self.now()
        job = CalendarRecompute(
            self.state.next_id("calendar_recompute"), day, total, 0, None, now, None if total else now
        )
        self.state.recomputes[job.id] = job
        return job

    def unfinished_recomputes(self) -> list[CalendarRecompute]:
        return [j for _, j in sorted(self.state.recomputes.items()) if j.finished_at is None]

    def recompute_for_update(self, recompute_id: int) -> CalendarRecompute:
        if recompute_id not in self.state.recomputes:
            raise NotFound("calendar recompute", str(recompute_id))
        return self.state.recomputes[recompute_id]

    def cases_spanning_after(self, day: date, after: str | None, limit: int) -> list[str]:
        # In the order the cases were opened (their ids), as the SQL store walks them.
        id_of = {c.ref: i for i, c in self.state.cases.items()}
        ordered = sorted(self.cases_with_deadlines_spanning(day), key=id_of.__getitem__)
        start = id_of[after] if after is not None else -1
        return [r for r in ordered if id_of[r] > start][:limit]

    def record_recompute_progress(
        self, recompute_id: int, last_ref: str | None, done: int, *, finished: bool
    ) -> CalendarRecompute:
        job = replace(self.recompute_for_update(recompute_id), last_ref=last_ref, done=done)
        if finished:
            job = replace(job, finished_at=self.now())
        self.state.recomputes[recompute_id] = job
        return job

    # -- internals --------------------------------------------------------------------------

    def _check_people(self, owner_id: int | None, team_id: int | None) -> None:
        if owner_id is not None and owner_id not in self.state.users:
            raise IntegrityViolation(f"there is no user {owner_id}")
        if team_id is not None and team_id not in self.state.teams:
            raise IntegrityViolation(f"there is no team {team_id}")

    def _insert_events(self, events: Iterable[Event]) -> None:
        for e in events:
            history = self.state.events.get(e.case_id)
            if history is None:
                raise IntegrityViolation(f"event {e.seq}: there is no case {e.case_id}")
            if any(h.seq == e.seq for h in history):
                raise IntegrityViolation(f"case {e.case_id} already has an event {e.seq}")
            if e.actor_id is not None and e.actor_id not in self.state.users:
                raise IntegrityViolation(f"event {e.seq}: there is no user {e.actor_id}")
            history.append(replace(e, payload=_json(dict(e.payload))))

    def _deadline_rows(self, case_id: int) -> list[DeadlineRow]:
        return sorted(
            (r for r in self.state.deadlines.values() if r.case_id == case_id),
            key=lambda r: r.deadline.id or 0,
        )

    def _upsert_deadlines(self, case_id: int, deadlines: Sequence[Deadline]) -> dict[tuple[str, int], int]:
        if case_id not in self.state.cases:
            raise IntegrityViolation(f"deadlines of case {case_id}, which does not exist")
        existing = {r.deadline.key: r.deadline.id for r in self._deadline_rows(case_id)}
        ids: dict[tuple[str, int], int] = {}
        for d in deadlines:
            deadline_id = existing.get(d.key) or self.state.next_id("deadline")
            self.state.deadlines[deadline_id] = DeadlineRow(case_id, replace(d, id=deadline_id))
            ids[d.key] = deadline_id
        return ids

    def _drop_pending_timers(self, deadline_ids: set[int]) -> None:
        for t in list(self.state.timers.values()):
            if t.deadline_id in deadline_ids and t.fired_at is None:
                del self.state.timers[t.id]

    def _insert_timer(self, case_id: int, deadline_id: int, t: Timer) -> None:
        if any(r.deadline_id == deadline_id and r.key == t.key for r in self.state.timers.values()):
            raise IntegrityViolation(f"deadline {deadline_id} already has a timer {t.key}")
        tid = self.state.next_id("timer")
        self.state.timers[tid] = TimerRow(tid, deadline_id, case_id, t.key, t.kind, t.tier, t.fire_on, t.fire_at)

    def _due(self, t: TimerRow) -> DueTimer:
        d = self.state.deadlines[t.deadline_id].deadline
        case = self.state.cases[t.case_id]
        return DueTimer(
            id=t.id,
            case_id=t.case_id,
            deadline_id=t.deadline_id,
            key=t.key,
            kind=t.kind,
            tier=t.tier,
            fire_on=t.fire_on,
            fire_at=t.fire_at,
            rule=d.rule,
            cycle=d.cycle,
            start_on=d.start_on,
            due_on=d.due_on,
            deadline_status=d.status,
            case_ref=case.ref,
            workflow_id=case.workflow_id,
            workflow_version=case.workflow_version,
            state=case.state,
            owner_id=case.owner_id,
            team_id=case.team_id,
            case_status=case.status,
        )

    def _teams_of(self, user_id: int) -> frozenset[int]:
        """The teams a user is a member of or is named manager (or service manager) of."""
        return frozenset(
            t.id
            for t in self.state.teams.values()
            if user_id in t.member_ids or user_id in (t.manager_id, t.service_manager_id)
        )

    # storage.recipients, rule for rule

    def _active(self, user_id: int | None) -> UserRow | None:
        user = self.state.users.get(user_id) if user_id is not None else None
        return user if user is not None and user.active and user.email != SYSTEM_EMAIL else None

    def _role_holders(self, role: str) -> list[UserRow]:
        return [u for u in self.state.users.values() if u.active and u.email != SYSTEM_EMAIL and role in u.roles]

    def _members(self, team_id: int | None) -> frozenset[int]:
        team = self.state.teams.get(team_id) if team_id is not None else None
        return team.member_ids if team is not None else frozenset()

    def _holders(self, role: str, owner_id: int | None, team_id: int | None) -> list[UserRow]:
        if role == OWNER:
            owner = self._active(owner_id)
            return [owner] if owner else []
        if role in (TEAM_MANAGER, SERVICE_MANAGER):
            if team_id is None:
                return []
            team = self.state.teams.get(team_id)
            named = None if team is None else team.manager_id if role == TEAM_MANAGER else team.service_manager_id
            if named is not None:
                person = self._active(named)  # a deactivated named manager is nobody: no fallback
                return [person] if person else []
            members = self._members(team_id)
            return [u for u in self._role_holders(role) if u.id in members]
        people = self._role_holders(role)
        members = self._members(team_id)
        return [u for u in people if u.id in members] or people


# -- the unit of work and the sweep's claims -------------------------------------------------------


class FakeUnitOfWork:
    """Transactions on an in-memory database; the bus handles each one's events before it commits.

    Writers are serialised, as SQLite's ``BEGIN IMMEDIATE`` does: beginning a transaction while
    another is open is a ``RuntimeError`` here (a deadlock there).
    """

    def __init__(self, clock: Clock, bus: MessageBus | None = None) -> None:
        self.clock = clock
        self.bus = bus or MessageBus()
        self.state = FakeState()
        self.commits = 0
        self.rollbacks = 0
        self._open = False

    @contextmanager
    def transaction(self) -> Iterator[FakeTransaction]:
        if self._open:
            raise RuntimeError("a transaction is already open on this unit of work (SQL would deadlock)")
        self._open = True
        try:
            tx = FakeTransaction(self.state.copy(), self.clock)
            try:
                yield tx
                self.bus.publish(tx)
            except BaseException:
                self.rollbacks += 1
                raise
            self.state = tx.state
            self.commits += 1
        finally:
            self._open = False

    def claim(self, token: str, now: datetime, lease: timedelta, batch: int) -> list[int]:
        """One claim, committed at once (``FakeTimerClaims``)."""
        if self._open:
            raise RuntimeError("claiming timers while a transaction is open (SQL would deadlock)")
        state = self.state.copy()
        ids = state.claim(token, now, self.clock.now() + lease, batch)
        self.state = state
        return ids

    # -- what tests read: the committed state ----------------------------------------------

    def case(self, ref: str) -> Case:
        """The committed case ``ref`` (a copy)."""
        if ref not in self.state.refs:
            raise CaseNotFound(ref)
        return _copy_case(self.state.cases[self.state.refs[ref]])

    def history(self, case_id: int) -> list[Event]:
        """The committed events of a case, in sequence order."""
        return sorted(self.state.events.get(case_id, ()), key=lambda e: e.seq)

    def deadlines(self, case_id: int, *, void: bool = False) -> list[Deadline]:
        """The committed deadlines of a case (``void=True``: the void ones too), by id."""
        rows = sorted((r for r in self.state.deadlines.values() if r.case_id == case_id), key=lambda r: r.deadline.id)
        return [r.deadline for r in rows if void or r.deadline.status != "void"]

    def timers(self, case_id: int | None = None) -> list[TimerRow]:
        """The committed timers (of one case), by id."""
        return [t for _, t in sorted(self.state.timers.items()) if case_id is None or t.case_id == case_id]

    def outbox(self) -> list[OutboxRow]:
        """The committed outbox rows, by id."""
        return [m for _, m in sorted(self.state.outbox.items())]

    def audit(self) -> list[AuditRow]:
        """The committed audit entries, in order."""
        return list(self.state.audit)

    def mark_dead(self, key: str, error: str) -> None:
        """Make the queued message ``key`` dead, as the dispatcher does after its last attempt."""
        row = next(m for m in self.state.outbox.values() if m.key == key)
        state = self.state.copy()
        state.outbox[row.id] = replace(row, status="dead", last_error=error)
        self.state = state


class FakeTimerClaims:
    """``SqlTimerClaims`` on a ``FakeUnitOfWork``: leases on due, unfired timers."""

    def __init__(
        self, uow: FakeUnitOfWork, clock: Clock, lease: timedelta = timedelta(minutes=5), batch: int = 2000
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.lease = lease
        self.batch = batch

    def claim(self, token: str, now: datetime) -> list[int]:
        return self.uow.claim(token, now, self.lease, self.batch)


# -- seeding people through the Directory port (any backend) ---------------------------------------


@dataclass(frozen=True, slots=True)
class TeamSpec:
    """A team to seed, with people by email."""

    manager: str | None = None
    service_manager: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class People:
    """What ``seed`` made: actors by email (with their teams), team ids by name, the system actor."""

    actors: Mapping[str, Actor]
    teams: Mapping[str, int]
    system: Actor

    def __getitem__(self, email: str) -> Actor:
        return self.actors[email]

    def id(self, email: str) -> int:
        """The id of a seeded user (active or not)."""
        return self.actors[email].id


def seed(
    uow: UnitOfWork,
    users: Mapping[str, Sequence[str]] = {},
    teams: Mapping[str, TeamSpec] = {},
    *,
    inactive: Iterable[str] = (),
) -> People:
    """Create carepath's system user, ``users`` (email -> roles) and ``teams``, in one transaction.

    Users in ``inactive`` are deactivated after the teams are made; their ``Actor`` is kept.
    """
    with uow.transaction() as tx:
        try:
            system_id = tx.user_id(SYSTEM_EMAIL)
        except NotFound:
            system_id = tx.add_user(NewUser(SYSTEM_EMAIL, "carepath", ("system",)))
        ids = {
            _normalise(email): tx.add_user(NewUser(_normalise(email), email.split("@")[0].title(), tuple(roles)))
            for email, roles in users.items()
        }
        team_ids = {
            name: tx.add_team(
                NewTeam(
                    name,
                    tx.user_id(spec.manager) if spec.manager else None,
                    tx.user_id(spec.service_manager) if spec.service_manager else None,
                    tuple(tx.user_id(m) for m in spec.members),
                )
            )
            for name, spec in teams.items()
        }
        actors = {email: tx.actor(email) for email in ids}
        for email in inactive:
            tx.deactivate_user(email)
    system = Actor(system_id, SYSTEM_EMAIL, frozenset({"system"}))
    return People(actors, team_ids, system)
