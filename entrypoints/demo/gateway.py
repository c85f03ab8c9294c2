"""The demo's one door into the application.

Every call the demo makes on ``App`` and its services (cases, people, panels, timers, reads)
is here, so that a change to those APIs touches this module alone. The rest of the package
works on engine values (``Case``, ``Actor``, ``Deadline``, ``CompiledWorkflow``). The demo
acts as real users would: its administrator (the first user of an empty installation) adds
the others, a panel coordinator books sittings, caseworkers and managers move cases, and
carepath's own user only sweeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from carepath.config.bootstrap import App
from carepath.engine.case import Actor, Case
from carepath.engine.clock import FixedClock, local_today
from carepath.engine.compiler import CompiledWorkflow
from carepath.engine.deadlines import Deadline
from carepath.engine.errors import InvalidInput, NotFound
from carepath.engine.reads import MAX_LIMIT, Page
from carepath.engine.services.panels import DEFERRED, PanelRoute, panel_routes
from carepath.entrypoints.demo.scenario import DOMAIN, PEOPLE


class Summaries(Protocol):
    """The whole-service counts the report reads (``App.summary``)."""

    def case_count(self) -> int: ...
    def case_rows(self) -> list[Any]: ...
    def deadline_counts(self, today: date) -> tuple[int, int]: ...
    def most_moved(self, prefer_workflow: str) -> str | None: ...


#: The demo's administrator: the first user of an empty installation, who adds the others.
DEMO_ADMIN = (f"ada.admin@{DOMAIN}", "Demo Administrator Ada")


T = TypeVar("T")


#: How far ahead a sitting must be for a case to be booked on it (papers, five working days before, and more).
PAPERS_LEAD = timedelta(days=14)


def _every(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of a paged read, page after page (the demo's few people, teams and sittings)."""
    after: str | None = None
    while True:
        page = fetch(after)
        yield from page.items
        if page.next is None:
            return
        after = page.next


def _email_of(role: str) -> str:
    return next(p.email for p in PEOPLE if p.role == role)


class Gateway:
    """The application as the demo uses it.

    Args:
        app: the wired application.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self._coordinator: Actor | None = None
        self._routes: dict[str, dict[str, PanelRoute]] = {}
        self._sittings: dict[tuple[date, str], int] = {}
        #: From this day on, a case ready for panel is left in the coordinator's queue, not booked.
        self.leave_ready_from: date | None = None

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

    def summary(self) -> Summaries:
        """Whole-service counts for the report."""
        return self.app.summary

    def deadlines(self, case_id: int) -> list[Deadline]:
        """A case's deadlines, by due date (the simulation reads its own writes)."""
        return self.app.own_writes.of_case(case_id)

    def pending_mail(self) -> int:
        """Emails queued in the outbox and not yet sent."""
        return self.app.reads.outbox_counts(self.administrator()).get("pending", 0)

    @staticmethod
    def reader() -> str:
        """Who reads the demo back (``demo show``): its service manager, who may read every case."""
        return _email_of("service_manager")

    # -- people --------------------------------------------------------------------------------------

    def administrator(self) -> Actor:
        """The demo's administrator: created as the first user of an empty installation."""
        email, name = DEMO_ADMIN
        try:
            return self.app.directory.actor(email)
        except NotFound:
            self.app.people.add_user(email, name, ["admin"], None)
            return self.app.directory.actor(email)

    def user_emails(self, by: Actor) -> set[str]:
        """Every user's email."""
        return {u.email for u in _every(lambda after: self.app.reads.users(by, limit=MAX_LIMIT, after=after))}

    def add_user(self, email: str, name: str, role: str, by: Actor) -> None:
        """Create a user with one role."""
        self.app.people.add_user(email, name, [role], by)

    def set_passwords(self, emails: Iterable[str], password: str, by: Actor) -> None:
        """Give the demo's people one password, hashed once (argon2id is slow on purpose)."""
        self.app.accounts.set_passwords(list(emails), password, by)

    def team_names(self, by: Actor) -> set[str]:
        """Every team's name."""
        return {t.name for t in _every(lambda after: self.app.reads.teams(by, limit=MAX_LIMIT, after=after))}

    def add_team(self, name: str, manager: str, service_manager: str, members: list[str], by: Actor) -> None:
        """Create a team (people by email)."""
        self.app.people.add_team(name, by, manager=manager, service_manager=service_manager, members=members)

    def actor(self, email: str) -> Actor:
        """The user with ``email`` as an actor (roles and teams)."""
        return self.app.directory.actor(email)

    def team_id(self, name: str) -> int:
        """The id of the team called ``name``."""
        return self.app.directory.team_id(name)

    # -- panels --------------------------------------------------------------------------------------

    def coordinator(self) -> Actor:
        """The demo's panel coordinator (looked up once)."""
        if self._coordinator is None:
            self._coordinator = self.actor(_email_of("panel_coordinator"))
        return self._coordinator

    def book_sittings(self, wanted: Iterable[tuple[date, str]], by: Actor) -> int:
        """Book the (day, panel type) sittings not yet booked on working days (``by``: a panel coordinator).

        Returns:
            How many were booked.
        """
        have = set(_every(lambda after: self.app.reads.sitting_days(by, None, None, limit=MAX_LIMIT, after=after)))
        booked = 0
        for day, kind in wanted:
            if (day, kind) in have or not self.app.calendar.is_working_day(day):
                continue
            self.app.panels.add_sitting(day, kind, by)
            booked += 1
        return booked

    def panel_member_emails(self, by: Actor) -> set[str]:
        """Emails on the central list of panel members."""
        return {m.email for m in self.app.panels.members(by) if m.email}

    def add_panel_member(
        self, name: str, email: str | None, roles: Iterable[str], kinds: Iterable[str], by: Actor
    ) -> int:
        """Add someone to the central list of panel members; their id."""
        return self.app.panels.add_member(name, email, list(roles), list(kinds), by).id

    def seat_members(self, before: date, member_ids: Mapping[str, list[int]], by: Actor) -> int:
        """Record attendance at every sitting before ``before`` with none recorded (``member_ids`` by panel type).

        Returns:
            How many sittings got their attendance.
        """
        done = 0
        sittings = _every(lambda after: self.app.panels.sittings(by, limit=MAX_LIMIT, after=after))
        for s in sittings:
            if s.day >= before or s.status == "cancelled" or s.panel_type not in member_ids:
                continue
            if not self.app.panels.attendance(s.id, by):
                self.app.panels.attend(s.id, member_ids[s.panel_type], by)
                done += 1
        return done

    def cancel_empty_sittings(self, before: date, reason: str) -> int:
        """Cancel the planned sittings before ``before`` that no case was booked on; how many."""
        by, cancelled = self.coordinator(), 0
        for s in list(_every(lambda after: self.app.panels.sittings(by, limit=MAX_LIMIT, after=after))):
            if s.day < before and s.status == "planned" and s.booked == 0:
                self.app.panels.cancel(s.id, reason, by)
                cancelled += 1
        return cancelled

    def first_sitting(self, kind: str, since: date) -> date | None:
        """The day of the first planned ``kind`` panel with room on or after ``since``."""
        by = self.coordinator()
        for s in _every(lambda after: self.app.panels.sittings(by, panel_type=kind, since=since, after=after)):
            if s.status == "planned" and s.booked < s.capacity:
                return s.day
        return None

    # -- cases ---------------------------------------------------------------------------------------

    def open_case(
        self, journey: str, actor: Actor, *, on: date, owner_id: int, team_id: int, facts: Mapping[str, Any]
    ) -> Case:
        """Open a case (``CaseService.open_case``)."""
        return self.app.cases.open_case(journey, actor, on=on, owner_id=owner_id, team_id=team_id, facts=facts)

    def case(self, ref: str, actor: Actor) -> Case:
        """A case as stored (``ReadService.case``): one the service opened itself, as a follow-on."""
        return self.app.reads.case(ref, actor)

    def fire(
        self, ref: str, trigger: str, actor: Actor, *, on: date, facts: Mapping[str, Any], journey: str | None = None
    ) -> Case:
        """Fire a trigger (``CaseService.fire``); a panel move goes through the panel service, as a coordinator.

        Booking, papers, the recommendation, the final minutes and taking a case off the agenda are
        the panel coordinator's (``PanelService``), so the sittings get their agendas and the
        papers, recommendations and minutes their records: ``panel_date``, ``panel_held_on`` and
        ``panel_members`` come from the sitting and its attendance, not from ``facts``.

        Another case's move may have recorded something on this one since its walker planned the
        move (a child's match links back to the adopters' case with an update on the child's day): the
        move is then recorded on that later day, as a worker would record it, rather than refused.
        """
        route = self._panel_route(journey, trigger)
        if route is not None:
            return self._panel_move(ref, trigger, route, on=on, facts=facts)
        try:
            return self.app.cases.fire(ref, trigger, actor, on=on, facts=facts)
        except InvalidInput as exc:
            latest = self.app.reads.case(ref, actor).last_event_on
            if "latest event" not in str(exc) or latest <= on:
                raise
            return self.app.cases.fire(ref, trigger, actor, on=latest, facts=facts)

    def _routes_of(self, journey: str) -> dict[str, PanelRoute]:
        routes = self._routes.get(journey)
        if routes is None:
            routes = self._routes[journey] = panel_routes(self.app.workflows.latest(journey).definition)
        return routes

    def _panel_route(self, journey: str | None, trigger: str) -> PanelRoute | None:
        if journey is None:
            return None
        routes = self._routes_of(journey).values()
        return next((r for r in routes if trigger in (r.book, r.papers, r.defer, r.recommend, r.minutes)), None)

    def _panel_move(self, ref: str, trigger: str, route: PanelRoute, *, on: date, facts: Mapping[str, Any]) -> Case:
        panels, by = self.app.panels, self.coordinator()
        if trigger == route.book:
            if self.leave_ready_from is not None and on >= self.leave_ready_from:
                return self.app.reads.case(ref, by)  # waits in the queue for the coordinator
            day = date.fromisoformat(str(facts["panel_date"]))
            sitting = self._sitting_on(day, route.panel_type)
            panels.book(ref, sitting, by, on=on)
        elif trigger == route.papers:
            panels.papers(ref, by, on=on)
        elif trigger == route.recommend:
            assert route.recommendation_fact is not None
            sitting = self._booked_on(self.app.reads.case(ref, by), route)
            panels.recommend(sitting, {ref: (str(facts[route.recommendation_fact]), None)}, by, on=on)
        elif trigger == route.minutes:
            sitting = self._booked_on(self.app.reads.case(ref, by), route)
            if panels.sitting(sitting, by).minutes_received_on is None:
                panels.minutes(sitting, on, by)
            # else: the sitting's minutes came in with another case's, and moved this one then
        elif trigger == route.defer:
            sitting = self._booked_on(self.app.reads.case(ref, by), route)
            if panels.sitting(sitting, by).day <= on:
                panels.recommend(sitting, {ref: (DEFERRED, "deferred by the panel")}, by, on=on)
            else:
                panels.defer(ref, "papers not ready in time", by, on=on)
        return self.app.reads.case(ref, by)

    def _booked_on(self, case: Case, route: PanelRoute) -> int:
        """The sitting a booked (or heard) case is on: the one its ``panel_date`` names (the service set it)."""
        return self._sitting_on(date.fromisoformat(str(case.facts["panel_date"])), route.panel_type)

    def _sitting_on(self, day: date, panel_type: str) -> int:
        """The id of the sitting on ``day`` that hears ``panel_type`` cases."""
        if not self._sittings:
            by = self.coordinator()
            for s in _every(lambda after: self.app.panels.sittings(by, limit=MAX_LIMIT, after=after)):
                self._sittings.setdefault((s.day, s.panel_type), s.id)
        found = self._sittings.get((day, panel_type)) or self._sittings.get((day, "joint"))
        if found is None:
            raise InvalidInput(f"no {panel_type} panel sits on {day.isoformat()}")
        return found

    def withdraw(self, ref: str, actor: Actor, reason: str, *, trigger: Literal["withdraw", "close"], on: date) -> Case:
        """Close a case with an exit reason (``CaseService.withdraw``)."""
        return self.app.cases.withdraw(ref, actor, reason, trigger=trigger, on=on)

    def hold(self, ref: str, actor: Actor, reason: str, *, on: date) -> Case:
        """Put a case on hold (``CaseService.hold``)."""
        return self.app.cases.hold(ref, actor, reason, on=on)

    def resume(self, ref: str, actor: Actor, *, on: date, note: str) -> Case:
        """Take a case off hold (``CaseService.resume``).

        A case booked on a panel that sat (or sits within a fortnight) while it was on hold is
        moved by the coordinator to the next sitting with room, as a coordinator would.
        """
        case = self.app.cases.resume(ref, actor, on=on, note=note)
        route = self._routes_of(case.workflow_id).get(case.state)
        if route is None or case.state != route.booked:
            return case
        by = self.coordinator()
        if self.app.panels.sitting(self._booked_on(case, route), by).day >= on + PAPERS_LEAD:
            return case
        day = self.first_sitting(route.panel_type, on + PAPERS_LEAD)
        if day is None:
            return case
        target = self._sitting_on(day, route.panel_type)
        self.app.panels.move(ref, target, by, "its panel sat while it was on hold")
        return self.app.reads.case(ref, by)

    # -- the people cases are about ------------------------------------------------------------------

    def add_person(
        self,
        ref: str,
        role: str,
        given_names: str,
        family_name: str,
        by: Actor,
        *,
        born_on: date,
        sex: str,
        ethnicity: str,
    ) -> int:
        """Add a person on the case ``ref`` in ``role`` (``PersonService.add``); their number."""
        added = self.app.persons.add(
            ref, role, given_names, family_name, by, born_on=born_on, sex=sex, ethnicity=ethnicity
        )
        return added.person_id

    def link_person(self, person_id: int, ref: str, role: str, by: Actor) -> None:
        """Link a person already on a case to the case ``ref`` in ``role`` (``PersonService.link``)."""
        self.app.persons.link(person_id, ref, role, by)

    # -- scheduler -----------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Raise every timer due by the clock's instant, as carepath's own user.

        Returns:
            How many timers were raised.
        """
        return self.app.timers.sweep(self.app.system).total
