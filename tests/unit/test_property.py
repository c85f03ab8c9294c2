"""Stateful property test: random commands on sample cases never break the case model.

Hypothesis drives the real ``CaseService`` and ``TimerService`` over the in-memory unit of
work (``tests.fakes``; ``tests/contract`` keeps it faithful to SQL) with valid and invalid
triggers, holds, resumes, withdrawals, closes, reassignments, corrections, sweeps and a moving
clock, by people with and without the roles and teams the policy asks for (and the system
user, which may raise timers only). After every step, for every case:

- its state is declared (or ``on_hold``) and its history only grew;
- the case row equals ``engine.case.replay`` of the events not entered in error;
- its deadlines (but the ``void`` ones a correction orphaned) equal
  ``engine.deadlines.replay_deadlines`` over the effective events (rule, cycle, due date, status);
- no breach was recorded before its due date ended, and no timer was raised twice;
- a refused command changed nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import NOTICE_TRIGGERS, Actor, Case, Event, effective_events, replay
from carepath.engine.clock import FixedClock, end_of_local_day, local_today
from carepath.engine.deadlines import Deadline, replay_deadlines
from carepath.engine.definition import ON_HOLD
from carepath.engine.errors import CarepathError
from carepath.engine.services import CaseService, TimerService
from carepath.workflows.loader import load_registry
from tests.conftest import FIXTURES
from tests.fakes import FakeState, FakeTimerClaims, FakeUnitOfWork, TeamSpec, seed

REGISTRY = load_registry(FIXTURES)
SAMPLE = REGISTRY.get("sample", 1)
DEFINITION = SAMPLE.definition
DECLARED = frozenset({*DEFINITION.states, ON_HOLD})
TERMINAL = frozenset(n for n, s in DEFINITION.states.items() if s.terminal)
TRIGGERS = [t.trigger for t in DEFINITION.transitions] + ["teleport"]
REQUIRED = {t.trigger: t.requires for t in DEFINITION.transitions}

CW, OUTSIDER, TM, SM = "cw@council.test", "cw-west@council.test", "tm@council.test", "sm@council.test"
PC, DECIDER, CLERK = "pc@council.test", "adm@council.test", "clerk@council.test"
USERS = {
    CW: ["caseworker"],
    OUTSIDER: ["caseworker"],
    TM: ["team_manager"],
    SM: ["service_manager"],
    PC: ["panel_coordinator"],
    DECIDER: ["agency_decision_maker"],
    CLERK: [],
}
TEAMS = {"East": TeamSpec(manager=TM, service_manager=SM, members=(CW, TM)), "West": TeamSpec(members=(OUTSIDER,))}
#: Who may make each move of the sample journey (its roles, and the policy's case.fire).
MOVER = {"book_panel": CW, "recommend": PC, "approve": DECIDER, "refuse": DECIDER}
PEOPLE = ["system", CW, OUTSIDER, TM, PC, DECIDER, CLERK]
EXTRA_FACTS: list[dict[str, Any]] = [
    {},
    {"report_authorised_on": "2026-10-01"},
    {"report_authorised_on": "2026-10-01", "panel_requirements": ["medical_on"]},
    {"medical_on": "2026-10-02"},
    {"panel_members": [DECIDER]},
]
MAX_CASES = 2
#: Shared by every run: nothing here changes it, and building one computes a year of bank holidays.
CALENDAR = WorkingCalendar("ENG")

Snapshot = tuple[Case, list[Event], list[Deadline]]


class CaseCommands(RuleBasedStateMachine):
    """Random commands against up to two sample cases in one fake database."""

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
        self.calendar = CALENDAR
        self.uow = FakeUnitOfWork(self.clock)
        self.service = CaseService(self.uow, REGISTRY, self.clock, self.calendar)
        self.timers = TimerService(self.uow, FakeTimerClaims(self.uow, self.clock), REGISTRY, self.clock)
        people = seed(self.uow, USERS, TEAMS)
        self.actors: dict[str, Actor] = {"system": people.system, **people.actors}
        self.teams = people.teams
        self.seen: dict[str, list[Event]] = {}
        self.replayed: dict[tuple[int, int], dict[tuple[str, int], tuple[date, str]]] = {}
        self.checked: FakeState | None = None
        self.timers_checked: FakeState | None = None

    # -- helpers ---------------------------------------------------------------------------

    def today(self) -> date:
        return local_today(self.clock)

    def snapshot(self, ref: str) -> Snapshot:
        case = self.uow.case(ref)
        assert case.id is not None
        return case, self.uow.history(case.id), self.uow.deadlines(case.id, void=True)

    def replayed_deadlines(self, history: list[Event]) -> dict[tuple[str, int], tuple[date, str]]:
        """``replay_deadlines`` over the effective events, remembered per history (the calendar never changes here)."""
        key = (history[0].case_id, len(history))
        if key not in self.replayed:
            book = replay_deadlines(DEFINITION, self.calendar, effective_events(history))
            self.replayed[key] = {d.key: (d.due_on, d.status) for d in book.items.values()}
        return self.replayed[key]

    def attempt(self, ref: str, command: Callable[[], Any]) -> None:
        """Run ``command``; a refusal must leave everything alone (no transaction committed)."""
        before = self.uow.state
        try:
            command()
        except CarepathError:
            assert self.uow.state is before

    # -- rules -------------------------------------------------------------------------------

    def _open(self, back: int) -> str:
        on = self.today() - timedelta(days=back)
        case = self.service.open_case("sample", self.actors[CW], on=on, team_id=self.teams["East"])
        self.seen[case.ref] = []
        return case.ref

    @initialize(target=cases, back=st.integers(0, 5))
    def open_first(self, back: int) -> str:
        return self._open(back)

    @precondition(lambda self: len(self.seen) < MAX_CASES)
    @rule(target=cases, back=st.integers(0, 5))
    def open_another(self, back: int) -> str:
        return self._open(back)

    @rule(days=st.integers(0, 15), sweep=st.booleans())
    def time_passes(self, days: int, sweep: bool) -> None:
        """Days pass; the scheduler may raise what fell due (the system user's one command)."""
        self.clock.advance(days=days)
        if sweep:
            self.timers.sweep(self.actors["system"])

    @rule(
        ref=cases,
        trigger=st.sampled_from(TRIGGERS),
        who=st.sampled_from(PEOPLE),
        with_required=st.booleans(),
        extra=st.sampled_from(EXTRA_FACTS),
        back=st.integers(0, 3),
        stale=st.sampled_from([False, False, False, True]),
    )
    def fire(
        self, ref: str, trigger: str, who: str, with_required: bool, extra: dict[str, Any], back: int, stale: bool
    ) -> None:
        on = self.today() - timedelta(days=back)
        facts = dict(extra)
        if with_required:
            facts.update({name: on.isoformat() for name in REQUIRED.get(trigger, ())})
        version = self.uow.case(ref).version - (1 if stale else 0)
        actor = self.actors[who]
        self.attempt(ref, lambda: self.service.fire(ref, trigger, actor, on=on, facts=facts, expected_version=version))

    def _advance(self, ref: str, data: st.DataObject) -> None:
        state = self.uow.case(ref).state
        valid = SAMPLE.triggers_from(state)
        if not valid:
            return
        trigger = data.draw(st.sampled_from(valid), label="trigger")
        on = self.today() - timedelta(days=data.draw(st.integers(0, 2), label="back"))
        facts = {name: on.isoformat() for name in REQUIRED[trigger]}
        facts["report_authorised_on"] = on.isoformat()
        actor = self.actors[MOVER.get(trigger, CW)]
        self.attempt(ref, lambda: self.service.fire(ref, trigger, actor, on=on, facts=facts))

    @rule(ref=cases, data=st.data())
    def advance(self, ref: str, data: st.DataObject) -> None:
        """A valid move from the case's state, by someone allowed to make it (random ``fire`` rarely finds one)."""
        self._advance(ref, data)

    @rule(ref=cases, data=st.data())
    def advance_further(self, ref: str, data: st.DataObject) -> None:
        """The same again, so cases get deep into the journey within a run."""
        self._advance(ref, data)

    @rule(ref=cases, data=st.data())
    def advance_again(self, ref: str, data: st.DataObject) -> None:
        """And again (rules are drawn evenly; most random moves are refused)."""
        self._advance(ref, data)

    @rule(ref=cases, reason=st.sampled_from(["", "carer in hospital"]), back=st.integers(0, 3))
    def hold(self, ref: str, reason: str, back: int) -> None:
        on = self.today() - timedelta(days=back)
        self.attempt(ref, lambda: self.service.hold(ref, self.actors[CW], reason, on=on))

    @rule(ref=cases, back=st.integers(0, 3))
    def resume(self, ref: str, back: int) -> None:
        on = self.today() - timedelta(days=back)
        self.attempt(ref, lambda: self.service.resume(ref, self.actors[CW], on=on))

    @rule(
        ref=cases,
        reason=st.sampled_from(["AW1", "NOT_APPROVED", *["BORED"] * 6]),
        close=st.booleans(),
        who=st.sampled_from([CW, CW, "system"]),
    )
    def withdraw(self, ref: str, reason: str, close: bool, who: str) -> None:
        trigger = "close" if close else "withdraw"
        self.attempt(ref, lambda: self.service.withdraw(ref, self.actors[who], reason, trigger=trigger))

    @rule(
        ref=cases,
        owner=st.sampled_from([None, CW, TM, OUTSIDER, DECIDER]),
        team=st.sampled_from([None, "East", "West"]),
        who=st.sampled_from([TM, SM, CW]),
    )
    def assign(self, ref: str, owner: str | None, team: str | None, who: str) -> None:
        owner_id = self.actors[owner].id if owner else None
        team_id = self.teams[team] if team else None
        self.attempt(ref, lambda: self.service.assign(ref, self.actors[who], owner_id=owner_id, team_id=team_id))

    @rule(
        ref=cases,
        which=st.sampled_from(["latest", "latest", "earlier", "opening", "missing"]),
        who=st.sampled_from([TM, SM, CW]),
    )
    def mark_in_error(self, ref: str, which: str, who: str) -> None:
        _, history, _ = self.snapshot(ref)
        effective = effective_events(history)
        seq = {
            "latest": effective[-1].seq,
            "earlier": effective[max(len(effective) - 2, 0)].seq,
            "opening": 1,
            "missing": history[-1].seq + 5,
        }[which]
        self.attempt(ref, lambda: self.service.mark_in_error(ref, seq, self.actors[who], "entered in error"))

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def every_case_equals_the_replay_of_its_history(self) -> None:
        if self.uow.state is self.checked:
            return  # nothing committed since the last check (most random commands are refused)
        self.checked = self.uow.state
        for ref, earlier in self.seen.items():
            case, history, deadlines = self.snapshot(ref)
            self.check_notices(history)
            assert history[: len(earlier)] == earlier, "history was rewritten"
            self.seen[ref] = history
            assert case.state in DECLARED
            snap = replay(history, TERMINAL)
            assert (case.state, case.status, case.held_from, case.facts) == (
                snap.state,
                snap.status,
                snap.held_from,
                snap.facts,
            )
            assert (case.owner_id, case.team_id, case.exit_reason, case.last_event_on) == (
                snap.owner_id,
                snap.team_id,
                snap.exit_reason,
                snap.last_event_on,
            )
            assert case.last_seq == history[-1].seq
            expected = self.replayed_deadlines(history)
            # "void" rows are clocks an event entered in error had started: kept, but not the case's
            stored = {d.key: (d.due_on, d.status) for d in deadlines if d.status != "void"}
            assert stored == expected

    def check_notices(self, history: list[Event]) -> None:
        """No breach was raised before its due date ended; no timer was raised twice."""
        notices = [e for e in history if e.trigger in NOTICE_TRIGGERS]
        for e in notices:
            if e.trigger == "deadline_breached":
                assert e.recorded_at >= end_of_local_day(date.fromisoformat(e.payload["due_on"]))
        raised = Counter(e.payload["timer"] for e in notices)
        assert all(n == 1 for n in raised.values()), raised

    @invariant()
    def no_timer_fires_early(self) -> None:
        if self.uow.state is self.timers_checked:
            return
        self.timers_checked = self.uow.state
        for t in self.uow.timers():
            if t.fired_at is not None:
                assert t.fired_at >= t.fire_at


CaseCommands.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaseCommands = CaseCommands.TestCase
