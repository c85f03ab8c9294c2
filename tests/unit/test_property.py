"""Stateful property test: random commands on sample cases never break the case model.

Hypothesis drives the real service over a SQLite file with valid and invalid triggers,
holds, resumes, withdrawals, closes, reassignments, corrections and a moving clock. After
every step, for every case:

- its state is declared (or ``on_hold``) and its history only grew;
- the case row equals ``engine.case.replay`` of the events not entered in error;
- its deadlines (but the ``void`` ones a correction orphaned) equal
  ``engine.deadlines.replay_deadlines`` over the effective events (rule, cycle, due date, status);
- a refused command changed nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from config.bootstrap import App, load_registry
from config.settings import Settings
from engine.case import Actor, Case, Event, effective_events, replay
from engine.clock import FixedClock, local_today
from engine.deadlines import Deadline, replay_deadlines
from engine.definition import ON_HOLD
from engine.errors import CarepathError
from storage.db import make_engine
from storage.migrate import upgrade

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REGISTRY = load_registry(FIXTURES)
SAMPLE = REGISTRY.get("sample", 1)
DEFINITION = SAMPLE.definition
DECLARED = frozenset({*DEFINITION.states, ON_HOLD})
TERMINAL = frozenset(n for n, s in DEFINITION.states.items() if s.terminal)
TRIGGERS = [t.trigger for t in DEFINITION.transitions] + ["teleport"]
REQUIRED = {t.trigger: t.requires for t in DEFINITION.transitions}
DECIDER = "adm@council.test"
EXTRA_FACTS: list[dict[str, Any]] = [
    {},
    {"report_authorised_on": "2026-10-01"},
    {"report_authorised_on": "2026-10-01", "panel_requirements": ["medical_on"]},
    {"medical_on": "2026-10-02"},
    {"panel_members": [DECIDER]},
]
MAX_CASES = 2

Snapshot = tuple[Case, list[Event], list[Deadline]]


class CaseCommands(RuleBasedStateMachine):
    """Random commands against up to two sample cases in one SQLite file."""

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{self.tmp.name}/carepath.db"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        self.clock = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
        self.app = App(
            settings=Settings(database_url=url), clock=self.clock, engine=make_engine(url), workflows=REGISTRY
        )
        people = self.app.people
        people.add_user("cw@council.test", "Caseworker", ["caseworker"])
        people.add_user(DECIDER, "Decider", ["agency_decision_maker"])
        people.add_user("clerk@council.test", "Clerk", [])
        self.actors: dict[str, Actor] = {
            "system": people.ensure_system_user(),
            "caseworker": people.actor("cw@council.test"),
            "decider": people.actor(DECIDER),
            "nobody": people.actor("clerk@council.test"),
        }
        self.team_id = people.add_team("East", members=["cw@council.test"]).id
        self.seen: dict[str, list[Event]] = {}

    def teardown(self) -> None:
        self.app.engine.dispose()
        self.tmp.cleanup()

    # -- helpers ---------------------------------------------------------------------------

    def today(self) -> date:
        return local_today(self.clock)

    def snapshot(self, ref: str) -> Snapshot:
        case = self.app.queries.case(ref)
        assert case.id is not None
        return case, self.app.queries.history(case.id), self.app.queries.deadlines(case.id)

    def attempt(self, ref: str, command: Callable[[], Any]) -> None:
        """Run ``command``; a refusal must leave the case, its history and deadlines alone."""
        before = self.snapshot(ref)
        try:
            command()
        except CarepathError:
            assert self.snapshot(ref) == before

    # -- rules -------------------------------------------------------------------------------

    def _open(self, back: int) -> str:
        case = self.app.cases.open_case("sample", self.actors["caseworker"], on=self.today() - timedelta(days=back))
        self.seen[case.ref] = []
        return case.ref

    @initialize(target=cases, back=st.integers(0, 5))
    def open_first(self, back: int) -> str:
        return self._open(back)

    @precondition(lambda self: len(self.seen) < MAX_CASES)
    @rule(target=cases, back=st.integers(0, 5))
    def open_another(self, back: int) -> str:
        return self._open(back)

    @rule(days=st.integers(0, 15))
    def time_passes(self, days: int) -> None:
        self.clock.advance(days=days)

    @rule(
        ref=cases,
        trigger=st.sampled_from(TRIGGERS),
        who=st.sampled_from(["system", "caseworker", "decider", "nobody"]),
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
        version = self.app.queries.case(ref).version - (1 if stale else 0)
        self.attempt(
            ref,
            lambda: self.app.cases.fire(ref, trigger, self.actors[who], on=on, facts=facts, expected_version=version),
        )

    def _advance(self, ref: str, data: st.DataObject) -> None:
        state = self.app.queries.case(ref).state
        valid = SAMPLE.triggers_from(state)
        if not valid:
            return
        trigger = data.draw(st.sampled_from(valid), label="trigger")
        on = self.today() - timedelta(days=data.draw(st.integers(0, 2), label="back"))
        facts = {name: on.isoformat() for name in REQUIRED[trigger]}
        facts["report_authorised_on"] = on.isoformat()
        self.attempt(ref, lambda: self.app.cases.fire(ref, trigger, self.actors["system"], on=on, facts=facts))

    @rule(ref=cases, data=st.data())
    def advance(self, ref: str, data: st.DataObject) -> None:
        """A valid move from the case's state (the random ``fire`` rarely finds one)."""
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
        self.attempt(ref, lambda: self.app.cases.hold(ref, self.actors["caseworker"], reason, on=on))

    @rule(ref=cases, back=st.integers(0, 3))
    def resume(self, ref: str, back: int) -> None:
        on = self.today() - timedelta(days=back)
        self.attempt(ref, lambda: self.app.cases.resume(ref, self.actors["caseworker"], on=on))

    @rule(ref=cases, reason=st.sampled_from(["AW1", "NOT_APPROVED", *["BORED"] * 6]), close=st.booleans())
    def withdraw(self, ref: str, reason: str, close: bool) -> None:
        trigger = "close" if close else "withdraw"
        self.attempt(ref, lambda: self.app.cases.withdraw(ref, self.actors["system"], reason, trigger=trigger))

    @rule(ref=cases, owner=st.sampled_from([None, "caseworker", "decider"]), team=st.booleans())
    def assign(self, ref: str, owner: str | None, team: bool) -> None:
        owner_id = self.actors[owner].id if owner else None
        team_id = self.team_id if team else None
        self.attempt(ref, lambda: self.app.cases.assign(ref, self.actors["system"], owner_id=owner_id, team_id=team_id))

    @rule(ref=cases, which=st.sampled_from(["latest", "latest", "earlier", "opening", "missing"]))
    def mark_in_error(self, ref: str, which: str) -> None:
        _, history, _ = self.snapshot(ref)
        effective = effective_events(history)
        seq = {
            "latest": effective[-1].seq,
            "earlier": effective[max(len(effective) - 2, 0)].seq,
            "opening": 1,
            "missing": history[-1].seq + 5,
        }[which]
        self.attempt(ref, lambda: self.app.cases.mark_in_error(ref, seq, self.actors["caseworker"], "entered in error"))

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def every_case_equals_the_replay_of_its_history(self) -> None:
        for ref, earlier in self.seen.items():
            case, history, deadlines = self.snapshot(ref)
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
            book = replay_deadlines(DEFINITION, self.app.calendar, effective_events(history))
            expected = {d.key: (d.due_on, d.status) for d in book.items.values()}
            # "void" rows are clocks an event entered in error had started: kept, but not the case's
            stored = {d.key: (d.due_on, d.status) for d in deadlines if d.status != "void"}
            assert stored == expected


CaseCommands.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaseCommands = CaseCommands.TestCase
