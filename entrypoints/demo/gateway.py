"""The demo's one door into the application.

Every call the demo (and ``carepath demo``) makes on ``App``, ``CaseService``, ``People``,
``Queries``, the panel calendar, the outbox and the sweeper is here, so that a change to those
APIs touches this module alone. The rest of the package works on engine values (``Case``,
``Actor``, ``Deadline``, ``CompiledWorkflow``) and, in ``report``, on the storage tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from config.bootstrap import App
from engine.case import Actor, Case
from engine.clock import FixedClock, local_today
from engine.compiler import CompiledWorkflow
from engine.deadlines import Deadline
from notifications import outbox
from notifications.panels import add_sitting, sittings
from storage.people import audit


class Gateway:
    """The application as the demo uses it.

    Args:
        app: the wired application.
    """

    def __init__(self, app: App) -> None:
        self.app = app

    @classmethod
    def simulation(cls, app: App, clock: FixedClock) -> Gateway:
        """The same database and workflows as ``app``, on the simulation's clock.

        Args:
            app: the wired application.
            clock: the clock the simulation moves forward.

        Returns:
            A gateway whose every write is stamped by ``clock``.
        """
        sim = App(settings=app.settings, clock=clock, engine=app.engine, workflows=app.workflows)
        _ = sim.calendar  # load it now: reading it inside a SQLite write transaction would wait on the lock
        return cls(sim)

    # -- clock, workflows, reads ---------------------------------------------------------------------

    def now(self) -> datetime:
        """The application clock's instant."""
        return self.app.clock.now()

    def today(self) -> date:
        """The application clock's day in Europe/London."""
        return local_today(self.app.clock)

    def journeys(self) -> list[str]:
        """The loaded workflow ids, sorted."""
        return self.app.workflows.ids()

    def latest(self, journey: str) -> CompiledWorkflow:
        """The highest loaded version of ``journey``."""
        return self.app.workflows.latest(journey)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for the report's queries."""
        with self.app.engine.connect() as conn:
            yield conn

    def case(self, ref: str) -> Case:
        """One case by reference."""
        return self.app.queries.case(ref)

    def deadlines(self, case_id: int) -> list[Deadline]:
        """A case's deadlines, by due date."""
        return self.app.queries.deadlines(case_id)

    def pending_mail(self) -> int:
        """Emails queued in the outbox and not yet sent."""
        return outbox.counts(self.app.engine).get("pending", 0)

    # -- people --------------------------------------------------------------------------------------

    def system_user(self) -> Actor:
        """carepath's own user, created if missing."""
        return self.app.people.ensure_system_user()

    def user_emails(self) -> set[str]:
        """Every user's email."""
        return {u.email for u in self.app.people.users()}

    def add_user(self, email: str, name: str, role: str, by: Actor) -> None:
        """Create a user with one role."""
        self.app.people.add_user(email, name, [role], by=by)

    def team_names(self) -> set[str]:
        """Every team's name."""
        return {t.name for t in self.app.people.teams()}

    def add_team(self, name: str, manager: str, service_manager: str, members: list[str], by: Actor) -> None:
        """Create a team (people by email)."""
        self.app.people.add_team(name, manager, service_manager, members, by=by)

    def actor(self, email: str) -> Actor:
        """The user with ``email`` as an actor."""
        return self.app.people.actor(email)

    def team_id(self, name: str) -> int:
        """The id of the team called ``name``."""
        return self.app.people.team_id(name)

    # -- panels --------------------------------------------------------------------------------------

    def book_sittings(self, wanted: Iterable[tuple[date, str]], by: Actor) -> int:
        """Book the (day, panel type) sittings not yet booked on working days, in one transaction.

        Returns:
            How many were booked.
        """
        booked = 0
        with self.app.engine.begin() as conn:
            have = {(s.day, s.panel_type) for s in sittings(conn, self.app.calendar)}
            for day, kind in wanted:
                if (day, kind) in have or not self.app.calendar.is_working_day(day):
                    continue
                add_sitting(conn, day, kind, self.app.clock.now())
                audit(conn, self.app.clock, by.id, "panel.add", f"{kind}:{day.isoformat()}", {"demo": True})
                booked += 1
        return booked

    def first_sitting(self, kind: str, since: date) -> date | None:
        """The day of the first booked ``kind`` panel on or after ``since``."""
        with self.app.engine.connect() as conn:
            ahead = sittings(conn, self.app.calendar, kind, since=since)
        return ahead[0].day if ahead else None

    # -- cases ---------------------------------------------------------------------------------------

    def open_case(
        self, journey: str, actor: Actor, *, on: date, owner_id: int, team_id: int, facts: Mapping[str, Any]
    ) -> Case:
        """Open a case (``CaseService.open_case``)."""
        return self.app.cases.open_case(journey, actor, on=on, owner_id=owner_id, team_id=team_id, facts=facts)

    def fire(self, ref: str, trigger: str, actor: Actor, *, on: date, facts: Mapping[str, Any]) -> Case:
        """Fire a trigger (``CaseService.fire``)."""
        return self.app.cases.fire(ref, trigger, actor, on=on, facts=facts)

    def withdraw(self, ref: str, actor: Actor, reason: str, *, trigger: str, on: date) -> Case:
        """Close a case with an exit reason (``CaseService.withdraw``)."""
        return self.app.cases.withdraw(ref, actor, reason, trigger=trigger, on=on)

    def hold(self, ref: str, actor: Actor, reason: str, *, on: date) -> Case:
        """Put a case on hold (``CaseService.hold``)."""
        return self.app.cases.hold(ref, actor, reason, on=on)

    def resume(self, ref: str, actor: Actor, *, on: date, note: str) -> Case:
        """Take a case off hold (``CaseService.resume``)."""
        return self.app.cases.resume(ref, actor, on=on, note=note)

    # -- sweeper -------------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Raise every timer due by the clock's instant, with a sweeper built for it.

        Returns:
            How many timers were raised.
        """
        self.app.__dict__.pop("sweeper", None)
        return self.app.sweeper.sweep().total
