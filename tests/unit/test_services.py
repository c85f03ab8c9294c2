"""The application services on the in-memory unit of work (``tests.fakes``).

What each command writes (case, event, deadlines, timers), which domain events it records for
the bus, and what it refuses. The same behaviour over SQL is ``tests/contract``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from carepath.engine.bus import MessageBus
from carepath.engine.calendar import WorkingCalendar
from carepath.engine.clock import FixedClock
from carepath.engine.compiler import compile_workflow
from carepath.engine.definition import ON_HOLD
from carepath.engine.errors import (
    CaseNotFound,
    ConcurrencyConflict,
    GuardFailed,
    InvalidInput,
    NotFound,
    NotPermitted,
    TransitionRejected,
)
from carepath.engine.events import Audited, CalendarChanged, CaseMoved, PanelSittingAdded, StateAnnounced, TimerRaised
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.services import (
    CalendarService,
    CaseService,
    PanelService,
    PeopleService,
    SweepResult,
    TimerService,
    write_audit,
)
from carepath.notifications.routing import Notifier, Routing
from carepath.workflows.loader import parse_workflow
from tests.conftest import FIXTURES
from tests.fakes import FakeTimerClaims, FakeUnitOfWork, People, TeamSpec, seed

CW, CW2, TM, SM = "cw@council.test", "cw2@council.test", "tm@council.test", "sm@council.test"
PC, ADM, ADMIN, GONE = "pc@council.test", "adm@council.test", "admin@council.test", "gone@council.test"
USERS = {
    CW: ["caseworker"],
    CW2: ["caseworker"],
    TM: ["team_manager"],
    SM: ["service_manager"],
    PC: ["panel_coordinator"],
    ADM: ["agency_decision_maker"],
    ADMIN: ["admin"],
    GONE: ["caseworker"],
}
TEAMS = {"East": TeamSpec(manager=TM, service_manager=SM, members=(CW, TM, GONE)), "West": TeamSpec(members=(CW2,))}
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday
TODAY = date(2026, 11, 2)

#: The sample journey with notices on two states, as a journey declares them in ``meta``.
NOTICES = {
    "{label: Panel booked}": "{label: Panel booked, meta: {notice: ready_for_panel, panel_type: fostering}}",
    "{label: Approved}": "{label: Approved, meta: {notice: approved, notify: [owner, team_manager]}}",
}


def sample_with_notices() -> WorkflowRegistry:
    text = (FIXTURES / "sample.v1.yaml").read_text(encoding="utf-8")
    for old, new in NOTICES.items():
        assert old in text
        text = text.replace(old, new)
    return WorkflowRegistry([compile_workflow(parse_workflow(text, "sample.v1.yaml"))])


REGISTRY = sample_with_notices()


@dataclass
class World:
    """The services over one fake database, and every domain event the bus handled."""

    clock: FixedClock
    uow: FakeUnitOfWork
    cases: CaseService
    timers: TimerService
    people: People
    seen: list[Any] = field(default_factory=list)

    def ref(self, actor: str = CW, **kwargs: Any) -> str:
        """A new case in team East."""
        return self.cases.open_case("sample", actor, team_id=self.people.teams["East"], **kwargs).ref

    def seen_kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.seen]

    def walk(self, ref: str, *moves: str) -> None:
        for trigger in moves:
            who, facts = MOVES[trigger]
            self.cases.fire(ref, trigger, who, facts=facts)


MOVES: dict[str, tuple[str, dict[str, Any]]] = {
    "book_visit": (CW, {}),
    "apply": (CW, {"application_on": "2026-11-02"}),
    "book_panel": (CW, {"report_authorised_on": "2026-11-02"}),
    "recommend": (PC, {"minutes_received_on": "2026-11-02"}),
    "approve": (ADM, {}),
    "review": (CW, {}),
}
TO_DECISION = ("book_visit", "apply", "book_panel", "recommend")


@pytest.fixture
def world() -> World:
    clock = FixedClock(START)
    calendar = WorkingCalendar("ENG")
    seen: list[Any] = []
    notifier = Notifier(Routing("https://carepath.test"), calendar, clock)
    bus = MessageBus(
        {
            CaseMoved: [lambda e, tx: seen.append(e)],
            StateAnnounced: [lambda e, tx: seen.append(e), notifier.on_state_announced],
            TimerRaised: [lambda e, tx: seen.append(e), notifier.on_timer_raised],
            Audited: [lambda e, tx: seen.append(e), write_audit],
            PanelSittingAdded: [lambda e, tx: seen.append(e)],
            CalendarChanged: [lambda e, tx: seen.append(e)],
        }
    )
    uow = FakeUnitOfWork(clock, bus)
    people = seed(uow, USERS, TEAMS, inactive=[GONE])
    cases = CaseService(uow, REGISTRY, clock, calendar)
    timers = TimerService(uow, FakeTimerClaims(uow, clock), REGISTRY, clock)
    return World(clock, uow, cases, timers, people, seen)


# -- open and fire ----------------------------------------------------------------------------------


def test_opening_records_the_first_event_and_plans_the_deadlines(world: World) -> None:
    case = world.cases.open_case("sample", CW, team_id=world.people.teams["East"], facts={"source": "web"})
    stored = world.uow.case(case.ref)
    assert case.ref == "SM-2026-0001"
    assert stored == case
    assert (stored.state, stored.status, stored.owner_id, stored.version, stored.last_seq) == (
        "enquiry", "open", world.people.id(CW), 1, 1
    )  # fmt: skip
    assert stored.facts == {"source": "web"}
    (event,) = world.uow.history(case.id)  # type: ignore[arg-type]
    assert (event.trigger, event.from_state, event.to_state, event.actor_id, event.recorded_at) == (
        "open", None, "enquiry", world.people.id(CW), START
    )  # fmt: skip
    assert [(d.rule, d.due_on, d.status) for d in world.uow.deadlines(case.id)] == [  # type: ignore[arg-type]
        ("S1", date(2026, 11, 9), "open")
    ]
    assert [t.key for t in world.uow.timers()] == ["S1:1:reminder:0:2026-11-09", "S1:1:breach:0:2026-11-09"]
    assert world.seen == [CaseMoved(world.seen[0].case, event)]
    assert world.uow.outbox() == []  # the sample announces nothing on opening


def test_opening_with_an_owner_outside_the_team_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput, match="not an active member"):
        world.cases.open_case("sample", TM, owner_id=world.people.id(CW2), team_id=world.people.teams["East"])
    assert world.uow.state.cases == {}
    assert world.seen == []


def test_firing_moves_the_case_and_records_the_event(world: World) -> None:
    ref = world.ref()
    world.seen.clear()
    case = world.cases.fire(ref, "book_visit", CW, note="visited")
    world.cases.fire(ref, "apply", CW, facts={"application_on": "2026-11-02"}, expected_version=2)
    stored = world.uow.case(ref)
    assert (case.state, case.version) == ("visit", 2)
    assert (stored.state, stored.version, stored.last_seq, stored.facts) == (
        "assessment", 3, 3, {"application_on": "2026-11-02"}
    )  # fmt: skip
    history = world.uow.history(stored.id)  # type: ignore[arg-type]
    assert [(e.seq, e.trigger, e.from_state, e.to_state, e.note) for e in history[1:]] == [
        (2, "book_visit", "enquiry", "visit", "visited"),
        (3, "apply", "visit", "assessment", None),
    ]
    assert [(type(e).__name__, e.event.seq) for e in world.seen] == [("CaseMoved", 2), ("CaseMoved", 3)]
    deadlines = {d.rule: d for d in world.uow.deadlines(stored.id)}  # type: ignore[arg-type]
    assert (deadlines["S1"].status, deadlines["S1"].met_on) == ("met", TODAY)
    assert (deadlines["S2"].status, deadlines["S2"].due_on) == ("open", date(2027, 7, 2))


@pytest.mark.parametrize(
    ("trigger", "who", "facts", "error"),
    [
        ("approve", ADM, {}, TransitionRejected),
        ("teleport", CW, {}, TransitionRejected),
        ("apply", CW, {}, GuardFailed),
        ("apply", CW2, {"application_on": "2026-11-02"}, NotPermitted),  # another team's case
        ("apply", "system", {"application_on": "2026-11-02"}, NotPermitted),  # the scheduler only
        ("apply", None, {"application_on": "2026-11-02"}, NotPermitted),  # nobody named
        ("apply", "", {"application_on": "2026-11-02"}, NotPermitted),
        ("apply", "who@council.test", {"application_on": "2026-11-02"}, NotFound),
        ("apply", GONE, {"application_on": "2026-11-02"}, InvalidInput),  # deactivated
        ("apply", ADMIN, {"application_on": "2026-11-02"}, NotPermitted),  # administrators manage the system
    ],
)
def test_refused_moves_write_nothing(world: World, trigger: str, who: str | None, facts: dict, error: type) -> None:
    ref = world.ref()
    world.cases.fire(ref, "book_visit", CW)
    before = (world.uow.state, list(world.seen))
    actor = world.people.system if who == "system" else who
    with pytest.raises(error):
        world.cases.fire(ref, trigger, actor, facts=facts)
    assert (world.uow.state, world.seen) == before


def test_a_move_needs_the_journeys_role_as_well_as_the_policy(world: World) -> None:
    ref = world.ref()
    world.walk(ref, "book_visit", "apply", "book_panel")
    with pytest.raises(NotPermitted, match="needs role panel_coordinator"):
        world.cases.fire(ref, "recommend", CW, facts={"minutes_received_on": "2026-11-02"})
    world.cases.fire(ref, "recommend", PC, facts={"minutes_received_on": "2026-11-02"})
    assert world.uow.case(ref).state == "decision"


def test_dates_may_not_be_in_the_future_nor_before_the_last_event(world: World) -> None:
    ref = world.ref(on=TODAY - timedelta(days=3))
    with pytest.raises(InvalidInput, match="in the future"):
        world.cases.fire(ref, "book_visit", CW, on=TODAY + timedelta(days=1))
    with pytest.raises(InvalidInput, match="before"):
        world.cases.fire(ref, "book_visit", CW, on=TODAY - timedelta(days=4))
    world.cases.fire(ref, "book_visit", CW, on=TODAY - timedelta(days=1))
    assert world.uow.case(ref).last_event_on == TODAY - timedelta(days=1)


def test_a_stale_version_is_a_conflict(world: World) -> None:
    ref = world.ref()
    world.cases.fire(ref, "book_visit", CW)
    with pytest.raises(ConcurrencyConflict):
        world.cases.fire(ref, "apply", CW, facts={"application_on": "2026-11-02"}, expected_version=1)
    with pytest.raises(CaseNotFound):
        world.cases.fire("SM-2026-0099", "apply", CW)
    assert world.uow.case(ref).version == 2


# -- state notices -----------------------------------------------------------------------------------


def test_entering_a_notice_state_announces_it(world: World) -> None:
    PanelService(world.uow, world.clock, world.cases.calendar).add_sitting(date(2026, 11, 20), "fostering", PC)
    ref = world.ref()
    world.walk(ref, "book_visit", "apply")
    world.seen.clear()
    world.walk(ref, "book_panel")
    moved, announced = world.seen
    assert isinstance(moved, CaseMoved)
    assert announced == StateAnnounced(
        case=moved.case,
        event=moved.event,
        kind="ready_for_panel",
        state="panel",
        state_label="Panel booked",
        workflow_title="Sample assessment",
        notify=(),
        panel_type="fostering",
    )
    mail = world.uow.outbox()[-1]
    assert (mail.key, mail.kind, mail.recipients) == (
        f"event:{moved.case.id}:4:ready_for_panel",
        "ready_for_panel",
        (PC,),
    )
    assert (mail.context["panel_date"], mail.context["papers_by"]) == ("2026-11-20", "2026-11-13")


def test_only_a_move_into_a_notice_state_announces(world: World) -> None:
    ref = world.ref()
    world.walk(ref, *TO_DECISION)
    world.seen.clear()
    world.walk(ref, "approve")
    assert world.seen_kinds() == ["CaseMoved", "StateAnnounced"]
    assert world.seen[1].notify == ("owner", "team_manager")
    assert world.uow.outbox()[-1].recipients == (CW, TM)
    world.seen.clear()
    world.walk(ref, "review")  # approved -> approved
    world.cases.hold(ref, CW, "carer in hospital")
    world.cases.resume(ref, CW)  # back into "approved": already announced
    assert world.seen_kinds() == ["CaseMoved"] * 3
    assert [m.kind for m in world.uow.outbox()] == ["ready_for_panel", "approved"]


# -- hold, resume, withdraw ---------------------------------------------------------------------------


def test_hold_pauses_the_clock_and_resume_moves_the_due_date(world: World) -> None:
    ref = world.ref()
    case = world.cases.hold(ref, CW, "carer in hospital")
    assert (case.state, case.status, case.held_from) == (ON_HOLD, "on_hold", "enquiry")
    (s1,) = world.uow.deadlines(case.id)  # type: ignore[arg-type]
    assert (s1.status, s1.paused_since) == ("paused", TODAY)
    assert world.uow.timers() == []  # a paused clock raises nothing
    with pytest.raises(TransitionRejected, match="on hold; resume it first"):
        world.cases.fire(ref, "book_visit", CW)
    with pytest.raises(TransitionRejected, match="already on hold"):
        world.cases.hold(ref, CW, "again")
    world.clock.advance(days=2)
    case = world.cases.resume(ref, CW)
    assert (case.state, case.status, case.held_from) == ("enquiry", "open", None)
    (s1,) = world.uow.deadlines(case.id)  # type: ignore[arg-type]
    assert (s1.status, s1.due_on, s1.paused_working_days) == ("open", date(2026, 11, 11), 2)
    assert [t.key for t in world.uow.timers()] == ["S1:1:reminder:0:2026-11-11", "S1:1:breach:0:2026-11-11"]
    with pytest.raises(TransitionRejected, match="not on hold"):
        world.cases.resume(ref, CW)
    assert [e.trigger for e in world.uow.history(case.id)] == ["open", "hold", "resume"]  # type: ignore[arg-type]


def test_withdrawing_closes_the_case_with_its_reason_and_stage(world: World) -> None:
    ref = world.ref()
    world.cases.hold(ref, CW, "thinking it over")
    with pytest.raises(InvalidInput, match="unknown exit reason"):
        world.cases.withdraw(ref, CW, "BORED")
    case = world.cases.withdraw(ref, CW, "AW1", note="changed their mind")
    assert (case.state, case.status, case.exit_reason) == ("closed", "closed", "AW1")
    last = world.uow.history(case.id)[-1]  # type: ignore[arg-type]
    assert (last.trigger, last.payload) == ("withdraw", {"reason": "AW1", "stage": "enquiry"})
    assert [d.status for d in world.uow.deadlines(case.id)] == ["cancelled"]  # type: ignore[arg-type]
    assert world.uow.timers() == []
    with pytest.raises(TransitionRejected, match="already closed"):
        world.cases.withdraw(ref, CW, "AW0", trigger="close")
    with pytest.raises(TransitionRejected, match="closed"):
        world.cases.fire(ref, "book_visit", CW)


def test_a_terminal_decision_names_its_own_exit_reason(world: World) -> None:
    ref = world.ref()
    world.walk(ref, *TO_DECISION)
    case = world.cases.fire(ref, "refuse", ADM)
    assert (case.state, case.status) == ("closed", "closed")
    assert world.uow.history(case.id)[-1].payload == {"facts": {}}  # type: ignore[arg-type]


# -- assign ---------------------------------------------------------------------------------------------


def test_assigning_changes_owner_and_team(world: World) -> None:
    ref = world.ref()
    world.seen.clear()
    case = world.cases.assign(ref, TM, owner_id=world.people.id(TM))
    assert case.owner_id == world.people.id(TM)
    case = world.cases.assign(ref, SM, owner_id=world.people.id(CW2), team_id=world.people.teams["West"])
    assert (case.owner_id, case.team_id, case.state, case.version) == (
        world.people.id(CW2), world.people.teams["West"], "enquiry", 3
    )  # fmt: skip
    assert [e.event.payload for e in world.seen] == [
        {"owner_id": world.people.id(TM)},
        {"owner_id": world.people.id(CW2), "team_id": world.people.teams["West"]},
    ]
    world.cases.fire(ref, "book_visit", CW2)  # the new team's caseworker may act now
    with pytest.raises(NotPermitted):
        world.cases.fire(ref, "apply", CW, facts={"application_on": "2026-11-02"})  # the old one may not


@pytest.mark.parametrize(
    ("who", "owner", "team", "error"),
    [
        (CW, TM, None, NotPermitted),  # caseworkers do not assign
        (TM, None, "West", NotPermitted),  # a team manager cannot give a case to another team
        (TM, CW2, None, InvalidInput),  # the owner must be in the case's team
        (TM, GONE, None, InvalidInput),  # ... and active
        (TM, None, None, InvalidInput),  # nothing to change
    ],
)
def test_refused_assignments(world: World, who: str, owner: str | None, team: str | None, error: type) -> None:
    ref = world.ref()
    before = world.uow.state
    owner_id = world.people.id(owner) if owner else None
    team_id = world.people.teams[team] if team else None
    with pytest.raises(error):
        world.cases.assign(ref, who, owner_id=owner_id, team_id=team_id)
    assert world.uow.state == before


# -- void -------------------------------------------------------------------------------------------------


def test_marking_the_latest_event_in_error_restores_the_case(world: World) -> None:
    ref = world.ref()
    world.walk(ref, "book_visit", "apply")
    world.seen.clear()
    with pytest.raises(NotPermitted):
        world.cases.mark_in_error(ref, 3, CW, "wrong case")  # team managers correct the record
    with pytest.raises(TransitionRejected, match="later event"):
        world.cases.mark_in_error(ref, 2, TM, "out of order")
    case = world.cases.mark_in_error(ref, 3, TM, "wrong case")
    assert (case.state, case.facts, case.version, case.last_seq) == ("visit", {}, 4, 4)
    void = world.uow.history(case.id)[-1]  # type: ignore[arg-type]
    assert (void.trigger, void.from_state, void.to_state, void.payload) == (
        "entered_in_error", "assessment", "visit", {"target_seq": 3}
    )  # fmt: skip
    assert world.seen == [CaseMoved(world.seen[0].case, void)]
    assert [(d.rule, d.status) for d in world.uow.deadlines(case.id, void=True)] == [  # type: ignore[arg-type]
        ("S1", "met"), ("S2", "void")
    ]  # fmt: skip
    with pytest.raises(TransitionRejected, match="already void"):
        world.cases.mark_in_error(ref, 3, TM, "again")
    with pytest.raises(InvalidInput):
        world.cases.mark_in_error(ref, 2, TM, " ")
    case = world.cases.mark_in_error(ref, 2, TM, "no visit")
    assert case.state == "enquiry"
    with pytest.raises(TransitionRejected, match="opening event"):
        world.cases.mark_in_error(ref, 1, TM, "never happened")


# -- timers ---------------------------------------------------------------------------------------------


def test_the_sweep_raises_due_timers_as_notices(world: World) -> None:
    ref = world.ref()
    world.clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    world.seen.clear()
    result = world.timers.sweep(world.people.system)
    assert (dict(result.raised), result.skipped, result.batches) == ({"reminder": 1, "breach": 1}, 0, 1)
    reminder, breach = world.seen
    assert (reminder.fired.kind, reminder.fired.rule.name, reminder.fired.due_on, reminder.fired.fire_on) == (
        "reminder", "S1", date(2026, 11, 9), date(2026, 11, 5)
    )  # fmt: skip
    assert (breach.fired.kind, breach.fired.timer_key, breach.fired.owner_id) == (
        "breach", "S1:1:breach:0:2026-11-09", world.people.id(CW)
    )  # fmt: skip
    case = world.uow.case(ref)
    notices = world.uow.history(case.id)[1:]  # type: ignore[arg-type]
    assert [(e.seq, e.trigger, e.actor_id, e.payload["kind"], e.payload["class"]) for e in notices] == [
        (2, "reminder_due", world.people.system.id, "reminder", "LOCAL"),
        (3, "deadline_breached", world.people.system.id, "breach", "LOCAL"),
    ]
    assert (case.last_seq, case.version, case.state) == (3, 1, "enquiry")  # a notice is not a change
    assert [(m.kind, m.recipients) for m in world.uow.outbox()] == [("reminder", (CW,)), ("breach", (CW,))]
    assert world.timers.sweep(world.people.system).total == 0


def test_the_sweep_works_in_batches(world: World) -> None:
    world.ref()
    world.ref()
    timers = TimerService(world.uow, FakeTimerClaims(world.uow, world.clock, batch=3), REGISTRY, world.clock)
    world.clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    assert timers.sweep(world.people.system, max_batches=1).total == 3
    result = timers.sweep(world.people.system)
    assert (result.total, result.batches) == (1, 1)


def test_a_timer_of_a_closed_case_is_skipped(world: World) -> None:
    ref = world.ref()
    with world.uow.transaction() as tx:  # closed without the service: its timers were never re-planned
        case = tx.case_for_update(ref)
        case.status = "closed"
        tx.save_case(case, case.version)
    world.clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    world.seen.clear()
    result = world.timers.sweep(world.people.system)
    assert (result.total, result.skipped) == (0, 2)
    assert [t.outcome for t in world.uow.timers()] == ["skipped", "skipped"]
    assert (world.seen, world.uow.outbox()) == ([], [])
    assert len(world.uow.history(world.uow.case(ref).id)) == 1  # type: ignore[arg-type]


def test_only_the_system_user_raises_timers(world: World) -> None:
    world.ref()
    world.clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    with pytest.raises(NotPermitted):
        world.timers.sweep(world.people[SM])
    with pytest.raises(NotPermitted):
        world.timers.raise_claimed(world.people[ADMIN], [1], SweepResult())
    assert all(t.fired_at is None and t.claimed_by is None for t in world.uow.timers())


# -- people, panels, calendar ---------------------------------------------------------------------------


def test_people_changes_are_audited() -> None:
    uow = FakeUnitOfWork(FixedClock(START), MessageBus({Audited: [write_audit]}))
    people = PeopleService(uow)
    with pytest.raises(NotPermitted, match="admin role"):
        people.add_user("first@council.test", "First", ["caseworker"], None)
    first = people.add_user(" First@Council.Test ", "First", ["admin"], None)  # a new installation's first sign-in
    with pytest.raises(NotPermitted):
        people.add_user("second@council.test", "Second", ["admin"], None)
    people.add_user("cw@council.test", "Caseworker", ["caseworker"], first.email)
    people.add_team("East", first.email, members=["cw@council.test"])
    with pytest.raises(InvalidInput, match="yourself"):
        people.deactivate(first.email, first.email)
    people.deactivate("cw@council.test", first.email)
    assert [(a.actor_id, a.action, a.subject) for a in uow.audit()] == [
        (None, "user.add", "first@council.test"),
        (first.id, "user.add", "cw@council.test"),
        (first.id, "team.add", "East"),
        (first.id, "user.deactivate", "cw@council.test"),
    ]


def test_a_calendar_change_recomputes_open_deadlines_over_the_day(world: World) -> None:
    ref = world.ref()
    calendar = CalendarService(world.uow, world.clock, world.cases.calendar, world.cases)
    world.seen.clear()
    change = calendar.add_override(date(2026, 11, 4), "Staff training", ADMIN)
    assert change.recomputed == (ref,)
    assert [d.due_on for d in world.uow.deadlines(world.uow.case(ref).id)] == [date(2026, 11, 10)]  # type: ignore[arg-type]
    assert world.seen_kinds() == ["Audited", "CalendarChanged"]
    with pytest.raises(NotPermitted):
        calendar.remove_override(date(2026, 11, 4), CW)
    calendar.remove_override(date(2026, 11, 4), ADMIN)
    assert [d.due_on for d in world.uow.deadlines(world.uow.case(ref).id)] == [date(2026, 11, 9)]  # type: ignore[arg-type]


def test_the_fake_refuses_a_second_open_transaction(world: World) -> None:
    with world.uow.transaction(), pytest.raises(RuntimeError, match="already open"):  # noqa: SIM117
        with world.uow.transaction():
            pass
