"""Application services beside cases: people and teams, panel sittings, the calendar, mail repairs.

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
from carepath.engine.errors import InvalidInput, NotPermitted
from carepath.engine.events import Audited, CalendarChanged, PanelSittingAdded
from carepath.engine.panels import Sitting, check_type, papers_by
from carepath.engine.policy import authorize
from carepath.engine.ports import NewTeam, NewUser, Requeued, Transaction, UnitOfWork
from carepath.engine.roles import ROLES
from carepath.engine.services.cases import CaseService, Who, resolve_actor


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
        email = email.strip().lower()
        if "@" not in email or any(c.isspace() for c in email):
            raise InvalidInput(f"email {email!r} is not an email address")
        if not name.strip():
            raise InvalidInput("a user needs a display name")
        unknown = [r for r in roles if r not in ROLES or r == "system"]
        if unknown or not roles:
            known = ", ".join(r for r in ROLES if r != "system")
            raise InvalidInput(f"unknown role(s) {', '.join(unknown) or '(none given)'}; known: {known}")
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
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "team.add")
            manager_id = tx.user_id(manager) if manager else None
            service_manager_id = tx.user_id(service_manager) if service_manager else None
            team = NewTeam(name.strip(), manager_id, service_manager_id, tuple(tx.user_id(m) for m in members))
            tid = tx.add_team(team)
            detail = {"manager": manager, "service_manager": service_manager, "members": list(members)}
            tx.record(Audited(by.id, "team.add", team.name, detail))
        return tid


class PanelService:
    """Panel sittings (booked by panel coordinators)."""

    def __init__(self, uow: UnitOfWork, clock: Clock, calendar: WorkingCalendar) -> None:
        self.uow = uow
        self.clock = clock
        self.calendar = calendar

    def add_sitting(self, day: date, panel_type: str, actor: Who | None) -> Sitting:
        """Book a sitting; returns it with the day its papers must reach members."""
        check_type(panel_type)
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "panel.add")
            tx.add_sitting(day, panel_type)
            tx.record(PanelSittingAdded(day, panel_type))
            tx.record(Audited(by.id, "panel.add", f"{panel_type}:{day.isoformat()}", {}))
        return Sitting(day, panel_type, papers_by(day, self.calendar))


@dataclass(frozen=True, slots=True)
class CalendarChange:
    """A calendar override changed, and the cases whose deadlines were recomputed."""

    day: date
    kind: Literal["closure", "opening", "removed"]
    recomputed: tuple[str, ...]


class CalendarService:
    """Local closures and openings (administrators); open deadlines over the day are recomputed."""

    def __init__(self, uow: UnitOfWork, clock: Clock, calendar: WorkingCalendar, cases: CaseService) -> None:
        self.uow = uow
        self.clock = clock
        self.calendar = calendar
        self.cases = cases

    def add_override(self, day: date, reason: str, actor: Who | None, *, opening: bool = False) -> CalendarChange:
        """Add a closure (or, with ``opening``, an extra working day) and recompute what it moves."""
        if not reason.strip():
            raise InvalidInput("an override needs a reason")
        kind: Literal["closure", "opening"] = "opening" if opening else "closure"
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "calendar.change")
            tx.add_override(day, kind, reason.strip())
            tx.record(Audited(by.id, "calendar.override.add", day.isoformat(), {"kind": kind, "reason": reason}))
            refs = self._recompute(tx, day)
        return CalendarChange(day, kind, refs)

    def remove_override(self, day: date, actor: Who | None) -> CalendarChange:
        """Remove the override on ``day`` and recompute what it moves."""
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "calendar.change")
            tx.remove_override(day)
            tx.record(Audited(by.id, "calendar.override.remove", day.isoformat(), {}))
            refs = self._recompute(tx, day)
        return CalendarChange(day, "removed", refs)

    def _recompute(self, tx: Transaction, day: date) -> tuple[str, ...]:
        overrides = tx.overrides()
        self.calendar.reset_overrides(
            closures=[d for d, k in overrides if k == "closure"], openings=[d for d, k in overrides if k == "opening"]
        )
        refs = tx.cases_with_deadlines_spanning(day)
        for ref in refs:
            self.cases.recompute_in(tx, ref, self.calendar)
        tx.record(CalendarChanged(day))
        return tuple(refs)


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
        with self.uow.transaction() as tx:
            by = _acting(tx, actor, "mail.retry")
            info = tx.requeue(outbox_id)
            tx.record(Audited(by.id, "mail.retry", f"outbox:{outbox_id}", {"key": info.key, "error": info.last_error}))
        return info


def write_audit(event: Audited, tx: Transaction) -> None:
    """Bus handler: an ``Audited`` event becomes an audit entry in the same transaction."""
    tx.audit(event.actor_id, event.action, event.subject, event.detail)
