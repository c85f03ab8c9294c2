"""Application services beside cases: people and teams, the calendar, mail repairs (panels: ``services.panels``).

Each command resolves and authorizes its actor (``engine.policy``), changes storage in one
unit of work and records an ``Audited`` domain event, whose handler writes the audit entry
in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import Actor
from carepath.engine.clock import Clock
from carepath.engine.errors import InvalidInput, NotPermitted, shown
from carepath.engine.events import Audited, CalendarChanged
from carepath.engine.policy import authorize
from carepath.engine.ports import (
    CalendarRecompute,
    NewTeam,
    NewUser,
    OverrideKind,
    Requeued,
    Transaction,
    UnitOfWork,
)
from carepath.engine.roles import ROLES
from carepath.engine.services.cases import CaseService, Who, resolve_actor
from carepath.engine.text import day_in_range, email_address, one_line, record_id

#: The longest display name, team name or reason (the columns' width).
NAME_MAX = 200


def _acting(tx: Transaction, actor: Who | None, command: str) -> Actor:
    who = resolve_actor(tx, actor, command)
    authorize(who, command)
    return who


@dataclass(frozen=True, slots=True)
class AddedUser:
    """A user just created."""

    id: int
    email: str
    name: str
    roles: tuple[str, ...]


class PeopleService:
    """Users and teams; only administrators change them (the first administrator excepted)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def add_user(self, email: str, name: str, roles: Sequence[str], actor: Who | None) -> AddedUser:
        """Create a user with known roles.

        With no user yet, the first one may be created by nobody, and must be an administrator:
        that is how a new installation gets its first sign-in.
        """
        email = email_address(email)
        if not name.strip():
            raise InvalidInput("a user needs a display name")
        name = one_line(name, "the display name", NAME_MAX)
        unknown = [r for r in roles if r not in ROLES or r == "system"]
        if unknown or not roles:
            known = ", ".join(r for r in ROLES if r != "system")
            named = ", ".join(shown(r, 40)[1:-1] for r in unknown[:5])
            raise InvalidInput(f"unknown role(s) {named or '(none given)'}; known: {known}")
        with self.uow.transaction() as tx:
            first = actor is None and tx.human_users() == 0
            if first and "admin" not in roles:
                raise NotPermitted("(nobody)", "user.add", "the first user must hold the admin role")
            by = None if first else _acting(tx, actor, "user.add")
            user = NewUser(email, name.strip(), tuple(sorted(set(roles))))
            uid = tx.add_user(user)
            tx.record(Audited(by.id if by else None, "user.add", email, {"roles": list(user.roles)}))
        return AddedUser(uid, email, user.name, user.roles)

    def deactivate(self, email: str, actor: Who | None) -> None:
        """Deactivate a user; their history stays attributed to them."""
        email = email_address(email)
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "user.deactivate")
            if by.email == email.strip().lower():
                raise InvalidInput("you cannot deactivate yourself; ask another administrator")
            tx.deactivate_user(email)
            tx.record(Audited(by.id, "user.deactivate", email.strip().lower(), {}))

    def add_team(
        self,
        name: str,
        actor: Who | None,
        *,
        manager: str | None = None,
        service_manager: str | None = None,
        members: Sequence[str] = (),
    ) -> int:
        """Create a team with its manager, service manager and members (emails)."""
        if not name.strip():
            raise InvalidInput("a team needs a name")
        name = one_line(name, "the team name", NAME_MAX)
        for person in (manager, service_manager, *members):
            if person:
                email_address(person, "a team member's email")
        named = [email_address(m, "a team member's email") for m in members]
        if len(set(named)) < len(named):
            raise InvalidInput("a team member is named more than once (--member)")
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "team.add")
            manager_id = tx.user_id(manager) if manager else None
            service_manager_id = tx.user_id(service_manager) if service_manager else None
            team = NewTeam(name.strip(), manager_id, service_manager_id, tuple(tx.user_id(m) for m in members))
            tid = tx.add_team(team)
            detail = {"manager": manager, "service_manager": service_manager, "members": list(members)}
            tx.record(Audited(by.id, "team.add", team.name, detail))
        return tid


RECOMPUTE_BATCH = 200
"""Cases recomputed per transaction after a calendar change: each batch holds the write lock briefly."""

Progress = Callable[[CalendarRecompute], None]


@dataclass(frozen=True, slots=True)
class CalendarChange:
    """A calendar override changed, and the cases whose deadlines this command recomputed."""

    day: date
    kind: Literal["closure", "opening", "removed"]
    recomputed: tuple[str, ...]
    recompute: CalendarRecompute | None = None


class CalendarService:
    """Local closures and openings (administrators); open deadlines over the day are recomputed.

    The override commits on its own with a durable record of the recompute it calls for
    (``CalendarRecompute``); the cases are then recomputed in batches of ``batch``, in the order
    they were opened, each batch in its own transaction that also moves the record on. A run that stops
    part-way (a crash, an error) is continued by ``recompute_pending`` (the worker, or
    ``carepath calendar recompute``) from the last case done; recomputing is idempotent.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        calendar: WorkingCalendar,
        cases: CaseService,
        *,
        batch: int = RECOMPUTE_BATCH,
    ) -> None:
        if batch < 1:
            raise InvalidInput("a recompute batch needs at least one case")
        self.uow = uow
        self.clock = clock
        self.calendar = calendar
        self.cases = cases
        self.batch = batch
        self._applied: tuple[tuple[date, OverrideKind], ...] | None = None

    def add_override(
        self,
        day: date,
        reason: str,
        actor: Who | None,
        *,
        opening: bool = False,
        recompute: bool = True,
        progress: Progress | None = None,
    ) -> CalendarChange:
        """Add a closure (or, with ``opening``, an extra working day) and recompute what it moves.

        With ``recompute=False`` the recompute is only recorded, for the worker to run.
        """
        if not reason.strip():
            raise InvalidInput("an override needs a reason")
        reason = one_line(reason, "the reason", NAME_MAX)
        day_in_range(day, "the day")
        kind: Literal["closure", "opening"] = "opening" if opening else "closure"
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "calendar.change")
            tx.add_override(day, kind, reason.strip())
            tx.record(Audited(by.id, "calendar.override.add", day.isoformat(), {"kind": kind, "reason": reason}))
            job, overrides = self._record_change(tx, day)
        return self._after_change(day, kind, job, overrides, recompute, progress)

    def remove_override(
        self, day: date, actor: Who | None, *, recompute: bool = True, progress: Progress | None = None
    ) -> CalendarChange:
        """Remove the override on ``day`` and recompute what it moves."""
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "calendar.change")
            tx.remove_override(day)
            tx.record(Audited(by.id, "calendar.override.remove", day.isoformat(), {}))
            job, overrides = self._record_change(tx, day)
        return self._after_change(day, "removed", job, overrides, recompute, progress)

    def recompute_pending(self, actor: Who | None, progress: Progress | None = None) -> list[CalendarRecompute]:
        """Run every unfinished recompute to its end (the scheduler's ``cases.recompute``); returns them, finished."""
        with self.uow.transaction() as tx:
            _acting(tx, actor, "cases.recompute")
            pending = tx.unfinished_recomputes()
        out: list[CalendarRecompute] = []
        for job in pending:
            finished, _ = self._run(job.id, progress)
            out.append(finished)
        return out

    # -- internals ---------------------------------------------------------------------

    @staticmethod
    def _record_change(tx: Transaction, day: date) -> tuple[CalendarRecompute, list[tuple[date, OverrideKind]]]:
        tx.record(CalendarChanged(day))
        return tx.start_recompute(day), tx.overrides()

    def _after_change(
        self,
        day: date,
        kind: Literal["closure", "opening", "removed"],
        job: CalendarRecompute,
        overrides: Sequence[tuple[date, OverrideKind]],
        recompute: bool,
        progress: Progress | None,
    ) -> CalendarChange:
        # Only now, the change committed, does the shared calendar follow it.
        self._apply(overrides)
        if not recompute or job.finished_at is not None:
            return CalendarChange(day, kind, (), job)
        job, refs = self._run(job.id, progress)
        return CalendarChange(day, kind, refs, job)

    def _apply(self, overrides: Sequence[tuple[date, OverrideKind]]) -> None:
        """Make the shared calendar hold these (committed) overrides, in place."""
        key = tuple(overrides)
        if key != self._applied:
            self.calendar.reset_overrides(
                closures=[d for d, k in key if k == "closure"], openings=[d for d, k in key if k == "opening"]
            )
            self._applied = key

    def _run(self, job_id: int, progress: Progress | None) -> tuple[CalendarRecompute, tuple[str, ...]]:
        """Recompute batch after batch from where the record says, until none is left."""
        refs: list[str] = []
        while True:
            with self.uow.transaction() as tx:
                job = tx.recompute_for_update(job_id)  # another runner may have moved it on
                if job.finished_at is not None:
                    return job, tuple(refs)
                self._apply(tx.overrides())  # the committed calendar, whoever changed it
                batch = tx.cases_spanning_after(job.day, job.last_ref, self.batch)
                for ref in batch:
                    self.cases.recompute_in(tx, ref, self.calendar)
                last = batch[-1] if batch else job.last_ref
                job = tx.record_recompute_progress(
                    job.id, last, job.done + len(batch), finished=len(batch) < self.batch
                )
            refs.extend(batch)
            if progress is not None:
                progress(job)
            if job.finished_at is not None:
                return job, tuple(refs)


@dataclass(frozen=True, slots=True)
class MailRun:
    """What one send did, and the outbox after it."""

    sent: int
    pending: int
    dead: int


class MailService:
    """The outbox: sending and digests (the scheduler, or an administrator by hand) and repairs.

    Sending and queueing digests are adapters' work (``notifications``), given to the service as
    plain callables by the bootstrap; the service decides who may start them.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        send_due: Callable[[], int] = lambda: 0,
        queue_digests: Callable[[], int] = lambda: 0,
        counts: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self._send_due = send_due
        self._queue_digests = queue_digests
        self._counts = counts

    def send(self, actor: Actor) -> MailRun:
        """Send every due message now (a scheduler tick, or an administrator)."""
        authorize(actor, "mail.send")
        sent = self._send_due()
        counts = self._counts()
        return MailRun(sent, counts.get("pending", 0), counts.get("dead", 0))

    def digests(self, actor: Actor) -> int:
        """Queue today's managers' digests if their time has passed; how many were queued."""
        authorize(actor, "mail.digest")
        return self._queue_digests()

    def retry(self, outbox_id: int, actor: Who | None) -> Requeued:
        """Requeue one dead message with a fresh attempt count."""
        record_id(outbox_id, "the message id")
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "mail.retry")
            info = tx.requeue(outbox_id)
            tx.record(Audited(by.id, "mail.retry", f"outbox:{outbox_id}", {"key": info.key, "error": info.last_error}))
        return info


def write_audit(event: Audited, tx: Transaction) -> None:
    """Bus handler: an ``Audited`` event becomes an audit entry in the same transaction."""
    tx.audit(event.actor_id, event.action, event.subject, event.detail)
