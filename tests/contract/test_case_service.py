"""The application services over each backend's unit of work, on the sample journey.

The same commands give the same cases, histories, deadlines, timers, emails and audit
entries on the fake, SQLite and PostgreSQL; a refused or failed command leaves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from carepath.engine.bus import MessageBus
from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import effective_events, replay
from carepath.engine.clock import FixedClock
from carepath.engine.deadlines import replay_deadlines
from carepath.engine.errors import (
    CarepathError,
    ConcurrencyConflict,
    GuardFailed,
    InvalidInput,
    NotPermitted,
    TransitionRejected,
)
from carepath.engine.events import CaseMoved
from carepath.engine.ports import UnitOfWork
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.services import CalendarService, CaseService, MailService, PeopleService, SweepResult, TimerService
from carepath.engine.services.cases import Who
from tests.contract.conftest import TODAY, Backend, mail_on_move
from tests.fakes import People, TeamSpec, seed

CW, CW2, TM, SM = "cw@council.test", "cw2@council.test", "tm@council.test", "sm@council.test"
PC, ADM, ADMIN = "pc@council.test", "adm@council.test", "admin@council.test"
USERS = {
    CW: ["caseworker"],
    CW2: ["caseworker"],
    TM: ["team_manager"],
    SM: ["service_manager"],
    PC: ["panel_coordinator"],
    ADM: ["agency_decision_maker"],
    ADMIN: ["admin"],
}
TEAMS = {"East": TeamSpec(manager=TM, service_manager=SM, members=(CW, TM)), "West": TeamSpec(members=(CW2,))}
JOURNEY: list[tuple[str, str, dict[str, Any]]] = [
    ("book_visit", CW, {}),
    ("apply", CW, {"application_on": "2026-11-02"}),
    ("book_panel", CW, {"report_authorised_on": "2026-11-02"}),
    ("recommend", PC, {"minutes_received_on": "2026-11-02"}),
    ("approve", ADM, {}),
]


class Boom(Exception):
    pass


@dataclass
class Services:
    cases: CaseService
    people: PeopleService
    calendar: CalendarService
    mail: MailService


@pytest.fixture
def people(uow: UnitOfWork) -> People:
    return seed(uow, USERS, TEAMS)


@pytest.fixture
def services(uow: UnitOfWork, registry: WorkflowRegistry, clock: FixedClock, calendar: WorkingCalendar) -> Services:
    cases = CaseService(uow, registry, clock, calendar)
    return Services(cases, PeopleService(uow), CalendarService(uow, clock, calendar, cases), MailService(uow, clock))


def open_case(services: Services, people: People, actor: Who = CW) -> str:
    return services.cases.open_case("sample", actor, team_id=people.teams["East"]).ref


def assert_replays(backend: Backend, registry: WorkflowRegistry, calendar: WorkingCalendar, ref: str) -> None:
    """The stored case and deadlines equal the replay of the stored history."""
    case = backend.case(ref)
    assert case.id is not None
    history = backend.history(case.id)
    compiled = registry.get(case.workflow_id, case.workflow_version)
    snap = replay(history, compiled.terminal)
    assert (case.state, case.status, case.facts, case.owner_id, case.team_id, case.last_event_on) == (
        snap.state, snap.status, snap.facts, snap.owner_id, snap.team_id, snap.last_event_on
    )  # fmt: skip
    assert case.last_seq == history[-1].seq
    book = replay_deadlines(compiled.definition, calendar, effective_events(history))
    stored = {(d.rule, d.cycle): (d.due_on, d.status) for d in backend.deadlines(case.id) if d.status != "void"}
    assert stored == {k: (d.due_on, d.status) for k, d in book.items.items()}


def test_the_sample_journey(
    backend: Backend, services: Services, people: People, registry: WorkflowRegistry, calendar: WorkingCalendar
) -> None:
    ref = open_case(services, people)
    assert ref == "SM-2026-0001"
    for trigger, who, facts in JOURNEY:
        services.cases.fire(ref, trigger, who, facts=facts)
    case = backend.case(ref)
    assert case.id is not None
    assert (case.state, case.status, case.version, case.last_seq, case.owner_id) == (
        "approved", "open", 6, 6, people.id(CW)
    )  # fmt: skip
    history = backend.history(case.id)
    states = ["visit", "assessment", "panel", "decision", "approved"]
    assert [(e.trigger, e.to_state, e.actor_id) for e in history] == [
        ("open", "enquiry", people.id(CW)),
        *((t, dest, people.id(who)) for (t, who, _), dest in zip(JOURNEY, states, strict=True)),
    ]
    assert_replays(backend, registry, calendar, ref)
    assert [(d.rule, d.status) for d in backend.deadlines(case.id)] == [
        ("S1", "met"), ("S2", "met"), ("S3", "met"), ("S4", "open")
    ]  # fmt: skip
    assert [t.key for t in backend.timers() if t.fired_at is None] == ["S4:1:breach:0:2027-11-02"]
    assert [m.key for m in backend.outbox()] == [f"moved:{case.id}:{seq}" for seq in range(1, 7)]
    assert {m.recipients for m in backend.outbox()} == {(CW,)}


def test_a_refused_command_writes_nothing(backend: Backend, services: Services, people: People) -> None:
    ref = open_case(services, people)
    services.cases.fire(ref, "book_visit", CW)
    case_id = backend.case(ref).id or 0
    application = {"application_on": "2026-11-02"}
    refusals: list[tuple[type[CarepathError], Any]] = [
        (TransitionRejected, lambda: services.cases.fire(ref, "approve", ADM)),
        (GuardFailed, lambda: services.cases.fire(ref, "apply", CW)),
        (NotPermitted, lambda: services.cases.fire(ref, "apply", CW2, facts=application)),
        (NotPermitted, lambda: services.cases.fire(ref, "apply", people.system, facts=application)),
        (NotPermitted, lambda: services.cases.fire(ref, "apply", None, facts=application)),
        (InvalidInput, lambda: services.cases.fire(ref, "apply", CW, facts=application, on=date(2026, 11, 3))),
        (InvalidInput, lambda: services.cases.hold(ref, CW, "   ")),
        (InvalidInput, lambda: services.cases.withdraw(ref, CW, "BORED")),
        (NotPermitted, lambda: services.cases.assign(ref, CW, owner_id=people.id(TM))),
        (InvalidInput, lambda: services.cases.assign(ref, TM, owner_id=people.id(CW2))),
    ]

    def everything() -> tuple[Any, ...]:
        return (
            backend.case(ref),
            backend.history(case_id),
            backend.deadlines(case_id),
            backend.timers(),
            backend.outbox(),
        )

    before = everything()
    for error, command in refusals:
        with pytest.raises(error):
            command()
        assert everything() == before, error


def test_a_stale_version_is_a_conflict(backend: Backend, services: Services, people: People) -> None:
    ref = open_case(services, people)
    services.cases.fire(ref, "book_visit", CW, expected_version=1)
    with pytest.raises(ConcurrencyConflict) as caught:
        services.cases.fire(ref, "apply", CW, facts={"application_on": "2026-11-02"}, expected_version=1)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    case = backend.case(ref)
    assert (case.state, case.version, case.last_seq) == ("visit", 2, 2)
    assert len(backend.outbox()) == 2


def test_a_reference_is_taken_once(backend: Backend, services: Services, people: People) -> None:
    ref = open_case(services, people)
    with pytest.raises(InvalidInput, match="already taken"):
        services.cases.open_case("sample", CW, ref=ref, team_id=people.teams["East"])
    assert len(backend.outbox()) == 1
    assert open_case(services, people) == "SM-2026-0002"


def test_a_failing_handler_undoes_the_command(
    backend: Backend, bus: MessageBus, registry: WorkflowRegistry, clock: FixedClock, calendar: WorkingCalendar,
    people: People,
) -> None:  # fmt: skip
    def then_fail(event: CaseMoved, tx: Any) -> None:
        mail_on_move(event, tx)
        raise Boom

    cases = CaseService(backend.uow(MessageBus({**bus.handlers, CaseMoved: (then_fail,)})), registry, clock, calendar)
    with pytest.raises(Boom):
        cases.open_case("sample", CW, team_id=people.teams["East"])
    assert (backend.outbox(), backend.timers()) == ([], [])
    cases = CaseService(backend.uow(bus), registry, clock, calendar)
    assert cases.open_case("sample", CW, team_id=people.teams["East"]).ref == "SM-2026-0001"


def test_timers_are_raised_once(
    backend: Backend,
    services: Services,
    timer_service: TimerService,
    people: People,
    clock: FixedClock,
    registry: WorkflowRegistry,
    calendar: WorkingCalendar,
) -> None:
    ref = open_case(services, people)  # S1: due Monday 9 November, reminder Thursday 5th
    clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    first = timer_service.sweep(people.system)
    again = timer_service.sweep(people.system)
    assert (dict(first.raised), first.skipped, again.total) == ({"reminder": 1, "breach": 1}, 0, 0)
    case = backend.case(ref)
    assert case.id is not None
    assert [(e.seq, e.trigger, e.effective_on, e.actor_id) for e in backend.history(case.id)] == [
        (1, "open", TODAY, people.id(CW)),
        (2, "reminder_due", date(2026, 11, 5), people.system.id),
        (3, "deadline_breached", date(2026, 11, 10), people.system.id),
    ]
    assert (case.version, case.last_seq) == (1, 3)
    mails = backend.outbox()
    assert [(m.kind, m.recipients) for m in mails[1:]] == [("reminder", (CW,)), ("breach", (CW,))]
    assert mails[2].context["due_on"] == "2026-11-09"
    services.cases.fire(ref, "book_visit", CW)  # numbered after the notices
    assert backend.case(ref).last_seq == 4
    assert_replays(backend, registry, calendar, ref)
    assert [(t.kind, t.outcome) for t in backend.timers()] == [("reminder", "raised"), ("breach", "raised")]


def test_a_lapsed_claim_is_raised_by_another_sweeper_only(
    backend: Backend, uow: UnitOfWork, services: Services, people: People, clock: FixedClock, registry: WorkflowRegistry
) -> None:
    open_case(services, people)
    clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    dead = TimerService(uow, backend.claims(), registry, clock)
    alive = TimerService(uow, backend.claims(), registry, clock)
    ids = dead.claims.claim(dead.token, clock.now())  # then the sweeper dies
    assert len(ids) == 2
    assert alive.sweep(people.system).total == 0
    clock.advance(minutes=6)
    assert alive.sweep(people.system).total == 2
    late = SweepResult()
    dead.raise_claimed(people.system, ids, late)  # it wakes up: nothing is still its own
    assert late.total == 0
    assert len(backend.outbox()) == 3
    assert len(backend.history(backend.case("SM-2026-0001").id or 0)) == 3


def test_raising_the_same_claim_again_raises_nothing(
    backend: Backend, services: Services, timer_service: TimerService, people: People, clock: FixedClock
) -> None:
    """A sweeper that retries a batch it already raised (its commit was lost to it) raises nothing twice."""
    ref = open_case(services, people)
    clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    ids = timer_service.claims.claim(timer_service.token, clock.now())
    first, again = SweepResult(), SweepResult()
    timer_service.raise_claimed(people.system, ids, first)
    timer_service.raise_claimed(people.system, ids, again)
    assert (first.total, again.total) == (2, 0)
    assert len(backend.history(backend.case(ref).id or 0)) == 3
    assert len(backend.outbox()) == 3


def test_a_timer_whose_deadline_was_met_after_its_claim_is_not_raised(
    backend: Backend, services: Services, timer_service: TimerService, people: People, clock: FixedClock
) -> None:
    ref = open_case(services, people)
    clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    ids = timer_service.claims.claim(timer_service.token, clock.now())
    services.cases.fire(ref, "book_visit", CW)  # S1 met: its pending timers go
    result = SweepResult()
    timer_service.raise_claimed(people.system, ids, result)
    assert (result.total, result.skipped) == (0, 0)
    assert backend.timers() == []
    assert [e.trigger for e in backend.history(backend.case(ref).id or 0)] == ["open", "book_visit"]


def test_marking_in_error_voids_what_the_event_started(
    backend: Backend, services: Services, people: People, registry: WorkflowRegistry, calendar: WorkingCalendar
) -> None:
    ref = open_case(services, people)
    services.cases.fire(ref, "book_visit", CW)
    services.cases.fire(ref, "apply", CW, facts={"application_on": "2026-11-02"})
    case = backend.case(ref)
    assert case.id is not None
    services.cases.mark_in_error(ref, 3, TM, "wrong case")
    assert [(d.rule, d.status) for d in backend.deadlines(case.id)] == [("S1", "met"), ("S2", "void")]
    assert backend.timers() == []
    services.cases.mark_in_error(ref, 2, TM, "no visit yet")
    case = backend.case(ref)
    assert (case.state, case.version, case.last_seq) == ("enquiry", 5, 5)
    assert [(d.rule, d.status) for d in backend.deadlines(case.id)] == [("S1", "open"), ("S2", "void")]
    assert sorted(t.key for t in backend.timers()) == ["S1:1:breach:0:2026-11-09", "S1:1:reminder:0:2026-11-09"]
    assert_replays(backend, registry, calendar, ref)
    with pytest.raises(TransitionRejected):
        services.cases.mark_in_error(ref, 1, TM, "the opening")


def test_a_closure_recomputes_the_deadlines_over_it(
    backend: Backend, services: Services, people: People, registry: WorkflowRegistry, calendar: WorkingCalendar
) -> None:
    ref = open_case(services, people)
    change = services.calendar.add_override(date(2026, 11, 5), "Office flooded", ADMIN)
    assert change.recomputed == (ref,)
    case = backend.case(ref)
    assert case.id is not None
    assert [(d.rule, d.due_on) for d in backend.deadlines(case.id)] == [("S1", date(2026, 11, 10))]
    assert sorted(t.key for t in backend.timers()) == ["S1:1:breach:0:2026-11-10", "S1:1:reminder:0:2026-11-10"]
    assert_replays(backend, registry, calendar, ref)
    assert [(a.actor_id, a.action, a.subject) for a in backend.audit()] == [
        (people.id(ADMIN), "calendar.override.add", "2026-11-05")
    ]
    with pytest.raises(NotPermitted):
        services.calendar.remove_override(date(2026, 11, 5), CW)
    assert len(backend.audit()) == 1


def test_people_changes_are_audited_with_them(backend: Backend, services: Services, people: People) -> None:
    added = services.people.add_user("New@Council.test", "New", ["iro"], ADMIN)
    assert (added.email, added.roles) == ("new@council.test", ("iro",))
    with pytest.raises(NotPermitted):
        services.people.add_user("x@council.test", "X", ["iro"], CW)
    with pytest.raises(InvalidInput, match="already exists"):
        services.people.add_user("new@council.test", "New", ["iro"], ADMIN)
    services.people.add_team("South", ADMIN, members=["new@council.test"])
    services.people.deactivate("new@council.test", ADMIN)
    assert [(a.action, a.subject) for a in backend.audit()] == [
        ("user.add", "new@council.test"),
        ("team.add", "South"),
        ("user.deactivate", "new@council.test"),
    ]


def test_a_dead_message_is_retried(backend: Backend, services: Services, people: People) -> None:
    open_case(services, people)
    (mail,) = backend.outbox()
    backend.mark_dead(mail.key, "550 mailbox unavailable")
    info = services.mail.retry(mail.id, ADMIN)
    assert (info.key, info.last_error) == (mail.key, "550 mailbox unavailable")
    assert [m.status for m in backend.outbox()] == ["pending"]
    assert [(a.action, a.detail) for a in backend.audit()] == [
        ("mail.retry", {"key": mail.key, "error": "550 mailbox unavailable"})
    ]
    with pytest.raises(InvalidInput):
        services.mail.retry(mail.id, ADMIN)
    assert len(backend.audit()) == 1
