"""Walking the shipped journeys through the real case service on a SQLite file.

``Walker`` owns one app and its staff (one user per role, plus a second decision maker who
sits on panels). Dates are ISO strings; an event dated after the fixed clock's today moves
the clock forward first, so a test reads as a timeline. Paths shared by several tests live
here as lists of ``Step``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from config.bootstrap import App
from engine.case import Actor, Case
from engine.clock import FixedClock, local_today
from engine.deadlines import Deadline
from engine.services import Action

#: Who plays each role in journey tests.
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
        for email, roles in STAFF.items():
            app.people.add_user(email, email.split("@")[0], list(roles))
        self.ref = ""

    # -- people and time --------------------------------------------------------------------

    def actor(self, who: str) -> Actor:
        """The actor for a role name or an email."""
        return self.app.people.actor(BY_ROLE.get(who, who))

    def at(self, on: str) -> date:
        """The date ``on``, moving the clock forward to it if it is after today."""
        day = date.fromisoformat(on)
        if day > local_today(self.clock):
            self.clock.set(datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC))
        return day

    # -- commands ---------------------------------------------------------------------------

    def open(self, workflow: str, on: str, **facts: Any) -> Case:
        """Open a case owned by the caseworker; it becomes the walker's current case."""
        case = self.app.cases.open_case(workflow, self.actor("caseworker"), on=self.at(on), facts=facts)
        self.ref = case.ref
        return case

    def fire(self, trigger: str, on: str, by: str = "caseworker", **facts: Any) -> Case:
        """Fire ``trigger`` on the current case."""
        return self.app.cases.fire(self.ref, trigger, self.actor(by), on=self.at(on), facts=facts)

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

    @property
    def case(self) -> Case:
        """The current case as stored."""
        return self.app.queries.case(self.ref)

    @property
    def state(self) -> str:
        """The current case's state."""
        return self.case.state

    def deadlines(self, rule: str) -> list[Deadline]:
        """Every occurrence of ``rule`` on the current case, by cycle."""
        case_id = self.case.id
        assert case_id is not None
        return sorted((d for d in self.app.queries.deadlines(case_id) if d.rule == rule), key=lambda d: d.cycle)

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

    def history_triggers(self) -> list[str]:
        """Triggers of the current case's events, oldest first."""
        case_id = self.case.id
        assert case_id is not None
        return [e.trigger for e in self.app.queries.history(case_id)]


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
