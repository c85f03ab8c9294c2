"""Moves a deadline rule makes itself (``fires:``, issue 10 point 6), on the in-memory unit of work.

The notice journey (tests/fixtures/moves): a notice received on Mon 5 Oct 2026 ends the approval
28 days later, Mon 2 Nov (N1 fires ``end_on_notice``); its breach timer is raised at the end of
that day, 00:00 on 3 Nov in London (GMT, so 00:00 UTC). Also: what the compiler refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import pytest

from carepath.engine.bus import MessageBus
from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import Case, Event
from carepath.engine.clock import FixedClock
from carepath.engine.compiler import check_workflow, compile_workflow, open_states
from carepath.engine.definition import WorkflowDef
from carepath.engine.events import CaseMoved, StateAnnounced, TimerRaised
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.services import CaseService, SweepResult, TimerService
from carepath.workflows.loader import parse_workflow
from tests.conftest import FIXTURES
from tests.fakes import FakeTimerClaims, FakeUnitOfWork, People, TeamSpec, seed

TEXT = (FIXTURES / "moves" / "notice.v1.yaml").read_text(encoding="utf-8")
CW, TM, SM = "cw@council.test", "tm@council.test", "sm@council.test"
USERS = {CW: ["caseworker"], TM: ["team_manager"], SM: ["service_manager"]}
TEAMS = {"East": TeamSpec(manager=TM, service_manager=SM, members=(CW, TM))}
DUE = date(2026, 11, 2)
PASSED = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)  # the end of the due day in London


def _definition(text: str = TEXT) -> WorkflowDef:
    return parse_workflow(text, "notice.v1.yaml")


@dataclass
class World:
    clock: FixedClock
    uow: FakeUnitOfWork
    cases: CaseService
    people: People
    registry: WorkflowRegistry
    seen: list[object]

    def sweeper(self, *, acting: bool = True) -> TimerService:
        """A sweeper of its own (its own token), as another process would be."""
        claims = FakeTimerClaims(self.uow, self.clock)
        return TimerService(self.uow, claims, self.registry, self.clock, cases=self.cases if acting else None)

    def with_notice(self, on: str = "2026-10-05") -> Case:
        case = self.cases.open_case("notice", CW, on=date(2026, 10, 1), team_id=self.people.teams["East"])
        return self.cases.fire(
            case.ref, "receive_notice", CW, on=date.fromisoformat(on), facts={"notice_received_on": on}
        )

    def history(self, case: Case) -> list[Event]:
        assert case.id is not None
        return self.uow.history(case.id)


@pytest.fixture
def world() -> World:
    clock = FixedClock(datetime(2026, 10, 5, 9, 0, tzinfo=UTC))
    calendar = WorkingCalendar("ENG")
    seen: list[object] = []
    bus = MessageBus(
        {
            CaseMoved: [lambda e, tx: seen.append(e)],
            StateAnnounced: [lambda e, tx: seen.append(e)],
            TimerRaised: [lambda e, tx: seen.append(e)],
        }
    )
    uow = FakeUnitOfWork(clock, bus)
    people = seed(uow, USERS, TEAMS)
    registry = WorkflowRegistry([compile_workflow(_definition())])
    return World(clock, uow, CaseService(uow, registry, clock, calendar), people, registry, seen)


def test_the_rule_moves_the_case_once_as_the_system_with_itself_as_reason(world: World) -> None:
    case = world.with_notice()
    world.clock.set(PASSED)
    sweeper = world.sweeper()
    assert sweeper.sweep(world.people.system, as_of=datetime(2026, 11, 2, 23, 59, tzinfo=UTC)).moved == 0
    result = sweeper.sweep(world.people.system)
    assert (result.moved, result.total) == (1, 0)  # acted: no breach to report
    now = world.uow.case(case.ref)
    assert (now.state, now.status, now.exit_reason) == ("ended", "closed", "RESIGNED")
    moved = world.history(case)[-1]
    assert (moved.trigger, moved.actor_id, moved.effective_on) == ("end_on_notice", world.people.system.id, DUE)
    assert moved.note is not None
    assert moved.note.startswith("N1 (FSR 28(13)): Approval ends after written notice")
    assert {k: moved.payload[k] for k in ("rule", "cycle", "due_on", "class", "source", "reason")} == {
        "rule": "N1",
        "cycle": 1,
        "due_on": "2026-11-02",
        "class": "STAT",
        "source": "FSR 28(13)",
        "reason": "RESIGNED",
    }
    assert now.id is not None
    n1 = {d.rule: d for d in world.uow.deadlines(now.id)}["N1"]
    assert (n1.status, n1.met_on, n1.breached_on) == ("met", DUE, None)  # met on time, by the move
    # The move announces itself like a person's would: the state's notice goes out.
    assert [type(e).__name__ for e in world.seen[-2:]] == ["CaseMoved", "StateAnnounced"]
    # A rerun, and another sweeper, find nothing to do: no second move, no breach, no escalation.
    for again in (sweeper, world.sweeper()):
        rerun = again.sweep(world.people.system, as_of=datetime(2026, 12, 1, tzinfo=UTC))
        assert (rerun.moved, rerun.total) == (0, 0)
    assert [e.trigger for e in world.history(case)].count("end_on_notice") == 1


def test_a_second_attempt_at_the_same_claim_moves_nothing(world: World) -> None:
    """Two sweepers racing for one timer: only the claim's holder raises it, once."""
    case = world.with_notice()
    world.clock.set(PASSED)
    first, second = world.sweeper(), world.sweeper()
    claimed = first.claims.claim(first.token, PASSED)
    assert claimed
    assert second.sweep(world.people.system).moved == 0  # claimed by the first: nothing for the second
    done = SweepResult()
    first.raise_claimed(world.people.system, claimed, done)
    again = SweepResult()
    first.raise_claimed(world.people.system, claimed, again)  # the same batch raised twice
    assert (done.moved, again.moved, again.total) == (1, 0, 0)
    assert [e.trigger for e in world.history(case)].count("end_on_notice") == 1


def test_a_case_that_moved_on_is_not_moved(world: World) -> None:
    case = world.with_notice()
    world.clock.set(datetime(2026, 10, 20, 9, 0, tzinfo=UTC))
    world.cases.fire(case.ref, "withdraw_notice", CW)  # back to approved before the date
    world.clock.set(PASSED)
    result = world.sweeper().sweep(world.people.system, as_of=datetime(2026, 12, 1, tzinfo=UTC))
    assert (result.moved, result.total) == (0, 0)
    assert world.uow.case(case.ref).state == "approved"


def test_a_case_on_hold_is_not_moved_and_the_breach_says_why(world: World) -> None:
    case = world.with_notice()
    world.clock.set(datetime(2026, 10, 20, 9, 0, tzinfo=UTC))
    world.cases.hold(case.ref, CW, "illness")
    world.clock.set(PASSED)
    result = world.sweeper().sweep(world.people.system)
    assert (result.moved, result.raised["breach"]) == (0, 1)
    assert world.uow.case(case.ref).state == "on_hold"
    breach = world.history(case)[-1]
    assert (breach.trigger, breach.payload["rule"]) == ("deadline_breached", "N1")
    assert breach.payload["not_moved"] == "end_on_notice: the case is on hold"


def test_an_event_recorded_after_the_due_date_makes_the_move_no_earlier(world: World) -> None:
    """Downtime: a person recorded a visit on 4 Nov before any sweep; the move cannot predate it."""
    case = world.with_notice()
    world.clock.set(datetime(2026, 11, 4, 9, 0, tzinfo=UTC))
    world.cases.fire(case.ref, "record_visit", CW, facts={"visited_on": "2026-11-04"})
    result = world.sweeper().sweep(world.people.system)
    assert result.moved == 1
    moved = world.history(case)[-1]
    assert (moved.trigger, moved.effective_on, moved.payload["due_on"]) == (
        "end_on_notice",
        date(2026, 11, 4),
        "2026-11-02",
    )


def test_a_sweeper_without_the_case_service_escalates_instead(world: World) -> None:
    case = world.with_notice()
    world.clock.set(PASSED)
    result = world.sweeper(acting=False).sweep(world.people.system)
    assert result.moved == 0
    assert world.uow.case(case.ref).state == "notice"
    breaches = [e.payload["rule"] for e in world.history(case) if e.trigger == "deadline_breached"]
    assert sorted(breaches) == ["N1", "N2"]  # N1 reported as any breach (N2: the visit, 19 Oct)


# -- what the compiler refuses ---------------------------------------------------------------------


def _problems(old: str, new: str) -> list[str]:
    assert old in TEXT
    return [p.message for p in check_workflow(_definition(TEXT.replace(old, new, 1)))]


def test_the_notice_journey_is_sound_and_its_rule_can_be_open_only_under_notice() -> None:
    d = _definition()
    assert check_workflow(d) == []
    assert open_states(d, d.rule("N1")) == {"notice"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("fires: end_on_notice", "fires: end_on_notise", "fires 'end_on_notise', which is not a trigger"),
        ("    fires: end_on_notice", "    recurs: true\n    fires: end_on_notice", "cannot recur"),
        ("stop: {event: end_on_notice}", "stop: {event: record_visit}", "does not stop on it"),
        (
            'guards: ["on_or_after:notice_received_on+28 days"]',
            'requires: [ended_on], guards: ["on_or_after:notice_received_on+28 days"]',
            "needs ended_on: only a person can give them",
        ),
        (
            "  - {trigger: record_visit, source: notice, dest: notice,",
            "  - {trigger: escalate, source: notice, dest: review}\n"
            "  - {trigger: back, source: review, dest: notice}\n"
            "  - {trigger: record_visit, source: notice, dest: notice,",
            "not a move from review, where the deadline can be open",
        ),
    ],
)
def test_the_compiler_refuses_a_move_carepath_could_not_always_make(old: str, new: str, message: str) -> None:
    text = TEXT.replace(
        "  notice: {label: Notice received}", "  notice: {label: Notice received}\n  review: {label: Review}"
    )
    assert old in text
    found = [p.message for p in check_workflow(_definition(text.replace(old, new, 1)))]
    assert any(message in m for m in found), found


def test_a_rule_without_fires_is_unchanged() -> None:
    d = _definition()
    quiet = replace(d.rule("N2"))
    assert quiet.fires is None
