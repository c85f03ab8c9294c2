"""Walking the shipped journeys through the real case service on a SQLite file.

``Walker`` owns one app and its staff, set up as an installation would be: the first user is
an administrator (created by nobody), who adds one user per role, a second decision maker who
sits on panels, and the team ``TEAM`` holding the team roles (caseworker, team manager, service
manager), so the cases the caseworker opens are the team's. Decision makers, the panel
coordinator, the nominated officer and the IRM liaison officer are service-wide (no team).
Dates are ISO strings; an event dated after the fixed clock's today moves
the clock forward first, so a test reads as a timeline. Paths shared by several tests live
here as lists of ``Step``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from carepath.config.bootstrap import App
from carepath.engine.case import Actor, Case, Event
from carepath.engine.clock import FixedClock, local_today
from carepath.engine.deadlines import Deadline
from carepath.engine.services import Action

#: The installation's first user: an administrator, who adds everyone else.
ADMIN = "admin@carepath.test"
#: The team every case opened by the walker belongs to.
TEAM = "Journeys"
#: Who plays each role in journey tests (added by ``ADMIN``).
STAFF: dict[str, tuple[str, ...]] = {
    "cw@carepath.test": ("caseworker",),
    "tm@carepath.test": ("team_manager",),
    "pc@carepath.test": ("panel_coordinator",),
    "adm@carepath.test": ("agency_decision_maker",),
    "adm2@carepath.test": ("agency_decision_maker",),
    "no@carepath.test": ("nominated_officer",),
    "irm@carepath.test": ("irm_liaison_officer",),
    "sm@carepath.test": ("service_manager",),
}
#: Members of ``TEAM``: the roles whose case scope is the team (the rest are service-wide).
TEAM_MEMBERS = ("cw@carepath.test", "tm@carepath.test", "sm@carepath.test")
#: The default person for each role.
BY_ROLE = {
    "caseworker": "cw@carepath.test",
    "team_manager": "tm@carepath.test",
    "panel_coordinator": "pc@carepath.test",
    "agency_decision_maker": "adm@carepath.test",
    "nominated_officer": "no@carepath.test",
    "irm_liaison_officer": "irm@carepath.test",
    "service_manager": "sm@carepath.test",
}
#: The panel members recorded in tests: the second decision maker sat on the panel.
PANEL = "chair@carepath.test, adm2@carepath.test, sw@carepath.test"


@dataclass(frozen=True)
class Step:
    """One trigger fired on a date by someone holding ``by``, recording ``facts``."""

    trigger: str
    on: str
    by: str = "caseworker"
    facts: Mapping[str, Any] = field(default_factory=dict)


def step(trigger: str, on: str, by: str = "caseworker", **facts: Any) -> Step:
    """A ``Step``; facts as keywords."""
    return Step(trigger, on, by, facts)


def _moved(value: Any, days: int) -> Any:
    try:
        return (date.fromisoformat(str(value)) + timedelta(days=days)).isoformat()
    except ValueError:
        return value


def shift(steps: Iterable[Step], days: int) -> list[Step]:
    """The same steps ``days`` earlier (negative) or later, date facts included."""
    return [Step(s.trigger, _moved(s.on, days), s.by, {k: _moved(v, days) for k, v in s.facts.items()}) for s in steps]


class Walker:
    """One case (or several) moved through the real service."""

    def __init__(self, app: App, clock: FixedClock) -> None:
        self.app = app
        self.clock = clock
        app.people.add_user(ADMIN, "admin", ["admin"], None)
        for email, roles in STAFF.items():
            app.people.add_user(email, email.split("@")[0], list(roles), ADMIN)
        self.team_id = app.people.add_team(
            TEAM,
            ADMIN,
            manager=BY_ROLE["team_manager"],
            service_manager=BY_ROLE["service_manager"],
            members=TEAM_MEMBERS,
        )
        self._actors: dict[str, Actor] = {}
        self.ref = ""

    # -- people and time --------------------------------------------------------------------

    def actor(self, who: str) -> Actor:
        """The actor (roles and teams) for a role name or an email."""
        email = BY_ROLE.get(who, who)
        if email not in self._actors:
            self._actors[email] = self.app.directory.actor(email)
        return self._actors[email]

    def at(self, on: str) -> date:
        """The date ``on``, moving the clock forward to it if it is after today."""
        day = date.fromisoformat(on)
        if day > local_today(self.clock):
            self.clock.set(datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC))
        return day

    # -- commands ---------------------------------------------------------------------------

    def open(self, workflow: str, on: str, **facts: Any) -> Case:
        """Open a case owned by the caseworker, in the team; it becomes the walker's current case."""
        case = self.app.cases.open_case(
            workflow, self.actor("caseworker"), on=self.at(on), team_id=self.team_id, facts=facts
        )
        self.ref = case.ref
        return case

    def fire(self, trigger: str, on: str, by: str = "caseworker", **facts: Any) -> Case:
        """Fire ``trigger`` on the current case (a panel date first gets its sitting, as a coordinator plans one)."""
        day = self.at(on)
        self.plan_sitting_for(facts)
        return self.app.cases.fire(self.ref, trigger, self.actor(by), on=day, facts=facts)

    def plan_sitting_for(self, facts: dict[str, Any]) -> None:
        """Plan the sitting a panel date in ``facts`` names, if none is planned (a panel date must name one)."""
        case = self.case
        d = self.app.workflows.get(case.workflow_id, case.workflow_version).definition
        state = d.states.get(case.state)
        kind = state.meta.get("panel_type") if state is not None else None
        for name, value in facts.items():
            spec = d.facts.get(name)
            if not kind or spec is None or (spec.means or name) != "panel_date" or not value:
                continue
            day = date.fromisoformat(str(value))
            with self.app.uow.transaction() as tx:  # planned back then: the walks replay earlier dates
                if (day, str(kind)) not in set(tx.sitting_days(str(kind), day)):
                    tx.add_sitting(day, str(kind))

    def walk(self, steps: Iterable[Step]) -> Case:
        """Fire each step in order; returns the case after the last."""
        case = self.case
        for s in steps:
            case = self.fire(s.trigger, s.on, s.by, **s.facts)
        return case

    def hold(self, on: str, reason: str = "APPLICANT_REQUEST: family illness") -> Case:
        """Put the current case on hold."""
        return self.app.cases.hold(self.ref, self.actor("caseworker"), reason, on=self.at(on))

    def resume(self, on: str) -> Case:
        """Resume the current case."""
        return self.app.cases.resume(self.ref, self.actor("caseworker"), on=self.at(on))

    def withdraw(self, reason: str, on: str) -> Case:
        """Withdraw the current case with an exit reason."""
        return self.app.cases.withdraw(self.ref, self.actor("caseworker"), reason, on=self.at(on))

    # -- reads ------------------------------------------------------------------------------
    # Through the read service, as the service manager (who reads every case of the service).

    @property
    def reader(self) -> Actor:
        """Who reads in these tests."""
        return self.actor("service_manager")

    @property
    def case(self) -> Case:
        """The current case as stored."""
        return self.app.reads.case(self.ref, self.reader)

    @property
    def state(self) -> str:
        """The current case's state."""
        return self.case.state

    def all_deadlines(self) -> list[Deadline]:
        """Every deadline of the current case, by due date."""
        return self.app.reads.case_deadlines(self.ref, self.reader)[1]

    def deadlines(self, rule: str) -> list[Deadline]:
        """Every occurrence of ``rule`` on the current case, by cycle."""
        return sorted((d for d in self.all_deadlines() if d.rule == rule), key=lambda d: d.cycle)

    def deadline(self, rule: str) -> Deadline:
        """The latest occurrence of ``rule``."""
        found = self.deadlines(rule)
        assert found, f"no deadline {rule} on {self.ref}"
        return found[-1]

    def due(self, rule: str) -> str:
        """The latest occurrence's due date, ISO."""
        return self.deadline(rule).due_on.isoformat()

    def actions(self, by: str = "caseworker") -> dict[str, Action]:
        """What the current case offers ``by``, by trigger."""
        return {a.trigger: a for a in self.app.cases.actions(self.case, self.actor(by))}

    def history(self) -> list[Event]:
        """The current case's events, oldest first."""
        return [entry.event for entry in self.app.reads.history(self.ref, self.reader)[1]]

    def history_triggers(self) -> list[str]:
        """Triggers of the current case's events, oldest first."""
        return [e.trigger for e in self.history()]


# -- shared paths ------------------------------------------------------------------------------------


def panel_steps(booked: str, papers: str, held: str, minutes: str, recommendation: str = "suitable") -> list[Step]:
    """Book a panel, circulate papers, record the recommendation and the final minutes."""
    return [
        step("book_panel", booked, "panel_coordinator", panel_date=held),
        step("circulate_papers", papers, "panel_coordinator", papers_circulated_on=papers),
        step(
            "record_recommendation",
            held,
            "panel_coordinator",
            panel_held_on=held,
            recommendation=recommendation,
            panel_members=PANEL,
        ),
        step("record_final_minutes", minutes, "panel_coordinator", minutes_received_on=minutes),
    ]
