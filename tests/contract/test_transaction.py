"""The ``Transaction`` and ``UnitOfWork`` ports, method by method, on every backend."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import date, timedelta

import pytest

from carepath.engine.bus import MessageBus
from carepath.engine.case import Actor, Case, Event
from carepath.engine.clock import FixedClock, end_of_local_day, start_of_local_day
from carepath.engine.deadlines import Deadline
from carepath.engine.errors import CaseNotFound, ConcurrencyConflict, InvalidInput, NotFound
from carepath.engine.events import Audited, CaseMoved, CaseRef
from carepath.engine.ports import NewTeam, NewUser, OutboxMessage, Transaction, UnitOfWork
from carepath.engine.roles import SYSTEM_EMAIL
from carepath.engine.services.timers import TimerClaims
from carepath.engine.timers import Timer
from carepath.storage.uow import SqlTransaction
from tests.contract.conftest import TODAY, Backend
from tests.fakes import FakeTimerClaims, FakeTransaction, FakeUnitOfWork, People, TeamSpec, seed

USERS = {
    "cw@council.test": ["caseworker"],
    "cw2@council.test": ["caseworker"],
    "tm@council.test": ["team_manager"],
    "tm2@council.test": ["team_manager"],
    "sm@council.test": ["service_manager"],
    "pc@council.test": ["panel_coordinator"],
    "pc-east@council.test": ["panel_coordinator"],
    "iro@council.test": ["iro"],
    "gone@council.test": ["caseworker", "iro", "team_manager"],
    "admin@council.test": ["admin"],
}
TEAMS = {
    "East": TeamSpec(
        manager="tm@council.test",
        service_manager="sm@council.test",
        members=("cw@council.test", "tm2@council.test", "pc-east@council.test", "gone@council.test"),
    ),
    "West": TeamSpec(members=("cw2@council.test", "tm2@council.test", "admin@council.test")),
    # Its named manager left: nobody stands in, not even a team manager among its members.
    "North": TeamSpec(manager="gone@council.test", members=("gone@council.test", "tm2@council.test")),
}


class Boom(Exception):
    pass


@pytest.fixture
def people(uow: UnitOfWork) -> People:
    return seed(uow, USERS, TEAMS, inactive=["gone@council.test"])


def new_case(ref: str = "SM-2026-0001", owner_id: int | None = None, team_id: int | None = None) -> Case:
    return Case(ref, "sample", 1, "enquiry", TODAY, TODAY, owner_id=owner_id, team_id=team_id)


def opening(case_id: int, actor_id: int | None, clock: FixedClock) -> Event:
    return Event(case_id, 1, "open", None, "enquiry", TODAY, clock.now(), actor_id, None, {"facts": {"a": 1}})


def stored_case(uow: UnitOfWork, people: People, clock: FixedClock, ref: str = "SM-2026-0001") -> Case:
    """A case with its opening event, committed."""
    with uow.transaction() as tx:
        case = new_case(ref, owner_id=people.id("cw@council.test"), team_id=people.teams["East"])
        case.id = tx.add_case(case)
        tx.add_event(opening(case.id, people.id("cw@council.test"), clock))
        case.last_seq = 1
        tx.save_case(case, 1)
    return case


def deadline(rule: str, due: date, start: date = TODAY, cycle: int = 1, status: str = "open") -> Deadline:
    return Deadline(rule, cycle, start, due, due, status)  # type: ignore[arg-type]


def timers_for(d: Deadline, remind_on: date | None = None) -> list[Timer]:
    out = [Timer(d.rule, d.cycle, "breach", 0, d.due_on, end_of_local_day(d.due_on), d.due_on)]
    if remind_on is not None:
        out.insert(0, Timer(d.rule, d.cycle, "reminder", 0, remind_on, start_of_local_day(remind_on), d.due_on))
    return out


# -- the unit of work ---------------------------------------------------------------------------


def write_everything_then_fail(uow: UnitOfWork, cw: Actor, clock: FixedClock) -> None:
    with uow.transaction() as tx:
        ref = tx.next_reference("SM", 2026)
        case = new_case(ref, owner_id=cw.id)
        case.id = tx.add_case(case)
        tx.add_event(opening(case.id, cw.id, clock))
        d = deadline("S1", date(2026, 11, 9))
        tx.save_deadlines(case.id, [d], timers_for(d, date(2026, 11, 5)), replace_all=False)
        tx.enqueue(OutboxMessage("k1", "notice", ("cw@council.test",), {"case_ref": ref}, case.id))
        tx.audit(cw.id, "test", "subject", {})
        tx.add_user(NewUser("new@council.test", "New", ("caseworker",)))
        tx.add_team(NewTeam("South", None, None))
        tx.add_sitting(date(2026, 12, 1), "fostering")
        tx.add_override(date(2026, 12, 24), "closure", "Christmas Eve")
        tx.record(Audited(cw.id, "test", "recorded", {}))
        raise Boom


def test_an_error_leaves_nothing(backend: Backend, uow: UnitOfWork, people: People, clock: FixedClock) -> None:
    with pytest.raises(Boom):
        write_everything_then_fail(uow, people["cw@council.test"], clock)
    assert (backend.outbox(), backend.audit(), backend.timers()) == ([], [], [])
    with uow.transaction() as tx:
        with pytest.raises(CaseNotFound):
            tx.case_for_update("SM-2026-0001")
        assert tx.next_reference("SM", 2026) == "SM-2026-0001"  # the counter rolled back too
        with pytest.raises(NotFound):
            tx.user_id("new@council.test")
        assert tx.sitting_days(None, None) == []
        assert tx.overrides() == []
        tx.add_team(NewTeam("South", None, None))  # the name is free again


def test_the_bus_handles_events_inside_the_transaction(
    backend: Backend, uow: UnitOfWork, people: People, clock: FixedClock
) -> None:
    """An outbox row (written by a handler) exists exactly when the change that caused it commits."""
    case = stored_case(uow, people, clock)  # CaseMoved not recorded: no mail
    assert backend.outbox() == []
    assert case.id is not None
    ref = CaseRef.of(case)
    moved = replace(opening(case.id, None, clock), seq=2, trigger="touch")

    def move_then_fail() -> None:
        with uow.transaction() as tx:
            tx.add_event(moved)
            tx.record(CaseMoved(ref, moved))
            raise Boom  # before the commit: the bus never ran

    with pytest.raises(Boom):
        move_then_fail()
    assert backend.outbox() == []

    with uow.transaction() as tx:
        tx.add_event(moved)
        tx.record(CaseMoved(ref, moved))
        tx.record(Audited(people.id("cw@council.test"), "touch", ref.ref, {"n": 1}))
        assert tx.take_events() != []  # taken: the bus will not see them
        tx.record(CaseMoved(ref, moved))
    assert [m.key for m in backend.outbox()] == [f"moved:{case.id}:2"]
    assert backend.audit() == []
    assert [e.seq for e in backend.history(case.id)] == [1, 2]


def move(uow: UnitOfWork, case: Case, event: Event) -> None:
    with uow.transaction() as tx:
        tx.add_event(event)
        tx.record(CaseMoved(CaseRef.of(case), event))


def test_a_failing_handler_rolls_the_change_back(
    backend: Backend, bus: MessageBus, people: People, clock: FixedClock
) -> None:
    def fail(event: Audited, tx: object) -> None:
        raise Boom

    def chain(event: CaseMoved, tx: object) -> None:
        tx.record(Audited(None, "chained", event.case.ref, {}))  # type: ignore[attr-defined]

    uow = backend.uow(bus)
    case = stored_case(uow, people, clock)
    assert case.id is not None
    failing = backend.uow(MessageBus({**bus.handlers, CaseMoved: (*bus.handlers[CaseMoved], chain), Audited: (fail,)}))
    moved = replace(opening(case.id, None, clock), seq=2, trigger="touch")
    with pytest.raises(Boom):
        move(failing, case, moved)
    assert [e.seq for e in backend.history(case.id)] == [1]
    assert (backend.outbox(), backend.audit()) == ([], [])


# -- cases ---------------------------------------------------------------------------------------


def test_references_count_per_prefix_and_year(uow: UnitOfWork) -> None:
    with uow.transaction() as tx:
        refs = [tx.next_reference("SM", 2026), tx.next_reference("SM", 2026), tx.next_reference("FC", 2026)]
        refs.append(tx.next_reference("SM", 2027))
    with uow.transaction() as tx:
        refs.append(tx.next_reference("SM", 2026))
    assert refs == ["SM-2026-0001", "SM-2026-0002", "FC-2026-0001", "SM-2027-0001", "SM-2026-0003"]


def test_a_reference_is_unique(uow: UnitOfWork, people: People, clock: FixedClock) -> None:
    stored_case(uow, people, clock)
    with pytest.raises(InvalidInput, match="already taken"), uow.transaction() as tx:
        tx.add_case(new_case())


def test_a_case_reads_back_as_written(uow: UnitOfWork, people: People, clock: FixedClock) -> None:
    case = stored_case(uow, people, clock)
    with uow.transaction() as tx:
        got = tx.case_for_update(case.ref)
        assert got == replace(case, version=1)
        assert tx.events(got.id) == [opening(got.id, people.id("cw@council.test"), clock)]  # type: ignore[arg-type]
        with pytest.raises(CaseNotFound):
            tx.case_for_update("SM-2026-9999")


def test_saving_a_stale_version_is_a_conflict(
    backend: Backend, uow: UnitOfWork, people: People, clock: FixedClock
) -> None:
    case = stored_case(uow, people, clock)
    with uow.transaction() as tx:
        mine = tx.case_for_update(case.ref)
    with uow.transaction() as tx:
        theirs = tx.case_for_update(case.ref)
        theirs.state, theirs.version = "visit", 2
        tx.save_case(theirs, 1)
    mine.state, mine.version = "closed", 2
    with pytest.raises(ConcurrencyConflict) as caught, uow.transaction() as tx:
        tx.save_case(mine, 1)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert (backend.case(case.ref).state, backend.case(case.ref).version) == ("visit", 2)


def test_events_come_back_in_sequence_order(uow: UnitOfWork, people: People, clock: FixedClock) -> None:
    case = stored_case(uow, people, clock)
    assert case.id is not None
    first = opening(case.id, None, clock)
    with uow.transaction() as tx:
        tx.add_notices(
            [replace(first, seq=3, trigger="reminder_due"), replace(first, seq=2, trigger="deadline_breached")]
        )
    with uow.transaction() as tx:
        assert [e.seq for e in tx.events(case.id)] == [1, 2, 3]
        assert tx.case_for_update(case.ref).last_seq == 3


# -- deadlines and timers -----------------------------------------------------------------------


def test_saving_deadlines_upserts_and_replans_pending_timers(
    backend: Backend, uow: UnitOfWork, people: People, clock: FixedClock
) -> None:
    case = stored_case(uow, people, clock)
    assert case.id is not None
    s1 = deadline("S1", date(2026, 11, 9))
    with uow.transaction() as tx:
        tx.save_deadlines(case.id, [s1], timers_for(s1, date(2026, 11, 5)), replace_all=False)
        (first,) = tx.deadlines(case.id)
    assert first == replace(s1, id=first.id)
    moved = replace(s1, due_on=date(2026, 11, 10), status="open")
    with uow.transaction() as tx:
        tx.save_deadlines(case.id, [moved], timers_for(moved, date(2026, 11, 6)), replace_all=False)
        assert tx.deadlines(case.id) == [replace(moved, id=first.id)]
    assert sorted(t.key for t in backend.timers()) == ["S1:1:breach:0:2026-11-10", "S1:1:reminder:0:2026-11-10"]
    assert {t.deadline_id for t in backend.timers()} == {first.id}


def test_fired_timers_are_kept_and_never_planned_twice(
    backend: Backend, uow: UnitOfWork, people: People, clock: FixedClock
) -> None:
    case = stored_case(uow, people, clock)
    assert case.id is not None
    s1 = deadline("S1", date(2026, 11, 9))
    with uow.transaction() as tx:
        tx.save_deadlines(case.id, [s1], timers_for(s1, date(2026, 11, 5)), replace_all=False)
    clock.advance(days=4)  # Friday 6 November: the reminder is due
    claims = backend.claims()
    ids = claims.claim("me", clock.now())
    assert len(ids) == 1
    with uow.transaction() as tx:
        (fired,), _ = tx.take_claimed(ids, "me", clock.now())
    assert fired.kind == "reminder"
    with uow.transaction() as tx:  # the same plan again: the fired reminder is not planned anew
        tx.save_deadlines(case.id, [s1], timers_for(s1, date(2026, 11, 5)), replace_all=False)
    keys = [(t.key, t.fired_at is not None) for t in backend.timers()]
    assert sorted(keys) == [("S1:1:breach:0:2026-11-09", False), ("S1:1:reminder:0:2026-11-09", True)]
    later = replace(s1, due_on=date(2026, 11, 12))
    with uow.transaction() as tx:  # a new due date: new keys, the fired one kept
        tx.save_deadlines(case.id, [later], timers_for(later, date(2026, 11, 10)), replace_all=False)
    keys = [(t.key, t.fired_at is not None) for t in backend.timers()]
    assert sorted(keys) == [
        ("S1:1:breach:0:2026-11-12", False),
        ("S1:1:reminder:0:2026-11-09", True),
        ("S1:1:reminder:0:2026-11-12", False),
    ]


def test_replace_all_voids_the_others_and_drops_their_pending_timers(
    backend: Backend, uow: UnitOfWork, people: People, clock: FixedClock
) -> None:
    case = stored_case(uow, people, clock)
    assert case.id is not None
    s1, s2 = deadline("S1", date(2026, 11, 9)), deadline("S2", date(2027, 7, 2))
    with uow.transaction() as tx:
        tx.save_deadlines(case.id, [s1, s2], timers_for(s1) + timers_for(s2), replace_all=False)
    with uow.transaction() as tx:
        tx.save_deadlines(case.id, [s2], timers_for(s2), replace_all=True)
        assert [d.rule for d in tx.deadlines(case.id)] == ["S2"]
    assert [(d.rule, d.status) for d in backend.deadlines(case.id)] == [("S1", "void"), ("S2", "open")]
    d1_id = backend.deadlines(case.id)[0].id
    assert [t.key for t in backend.timers()] == ["S2:1:breach:0:2027-07-02"]
    with uow.transaction() as tx:  # the same rule and cycle again: the void row comes back to life
        before = {d.rule: d.id for d in tx.deadlines(case.id)}
        tx.save_deadlines(case.id, [s1, s2], timers_for(s1) + timers_for(s2), replace_all=True)
    assert [(d.rule, d.id, d.status) for d in backend.deadlines(case.id)] == [
        ("S1", d1_id, "open"),
        ("S2", before["S2"], "open"),
    ]


def test_cases_with_deadlines_spanning_a_day(uow: UnitOfWork, people: People, clock: FixedClock) -> None:
    a = stored_case(uow, people, clock, "SM-2026-0001")
    b = stored_case(uow, people, clock, "SM-2026-0002")
    c = stored_case(uow, people, clock, "SM-2026-0003")
    assert a.id is not None
    assert b.id is not None
    assert c.id is not None
    with uow.transaction() as tx:
        tx.save_deadlines(b.id, [deadline("S1", date(2026, 11, 9))], [], replace_all=False)
        tx.save_deadlines(a.id, [deadline("S1", date(2026, 11, 20), start=date(2026, 11, 1))], [], replace_all=False)
        tx.save_deadlines(a.id, [deadline("S2", date(2026, 11, 20), status="paused")], [], replace_all=False)
        tx.save_deadlines(c.id, [deadline("S1", date(2026, 11, 20), status="met")], [], replace_all=False)
    with uow.transaction() as tx:
        assert tx.cases_with_deadlines_spanning(date(2026, 11, 9)) == ["SM-2026-0001", "SM-2026-0002"]
        assert tx.cases_with_deadlines_spanning(date(2026, 11, 10)) == ["SM-2026-0001"]
        assert tx.cases_with_deadlines_spanning(date(2026, 11, 1)) == ["SM-2026-0001"]
        assert tx.cases_with_deadlines_spanning(date(2026, 10, 31)) == []


def test_claimed_timers_are_raised_by_their_token_only(
    backend: Backend, uow: UnitOfWork, people: People, clock: FixedClock
) -> None:
    case = stored_case(uow, people, clock)
    assert case.id is not None
    s1 = deadline("S1", date(2026, 11, 9))
    with uow.transaction() as tx:
        tx.save_deadlines(case.id, [s1], timers_for(s1, date(2026, 11, 5)), replace_all=False)
    clock.advance(days=10)
    claims = backend.claims(lease=timedelta(minutes=5))
    ids = claims.claim("a", clock.now())
    assert len(ids) == 2
    assert claims.claim("b", clock.now()) == []  # leased to "a"
    with uow.transaction() as tx:
        assert tx.take_claimed(ids, "b", clock.now()) == ([], {case.id: 1})
    clock.advance(minutes=6)
    assert sorted(claims.claim("b", clock.now())) == sorted(ids)  # the lease ran out
    with uow.transaction() as tx:
        assert tx.take_claimed(ids, "a", clock.now())[0] == []
        due, seqs = tx.take_claimed(ids, "b", clock.now())
        tx.mark_skipped([due[1].id])
    assert seqs == {case.id: 1}
    assert [(t.kind, t.case_ref, t.rule, t.due_on, t.deadline_status, t.case_status) for t in due] == [
        ("reminder", case.ref, "S1", date(2026, 11, 9), "open", "open"),
        ("breach", case.ref, "S1", date(2026, 11, 9), "open", "open"),
    ]
    assert [(t.outcome, t.fired_at) for t in backend.timers()] == [("raised", clock.now()), ("skipped", clock.now())]
    assert claims.claim("c", clock.now() + timedelta(days=1)) == []  # fired timers are never claimed again


# -- people ---------------------------------------------------------------------------------------


def test_actors_carry_their_roles_and_teams(uow: UnitOfWork, people: People) -> None:
    with uow.transaction() as tx:
        tm2 = tx.actor(" TM2@Council.Test ")
        assert tm2 == Actor(
            people.id("tm2@council.test"),
            "tm2@council.test",
            frozenset({"team_manager"}),
            frozenset({people.teams["East"], people.teams["West"], people.teams["North"]}),
        )
        assert tx.actor("pc@council.test").team_ids == frozenset()
        assert tx.actor("tm@council.test").team_ids == {people.teams["East"]}  # named manager, not a member
        assert tx.actor("sm@council.test").team_ids == {people.teams["East"]}
        assert tx.actor(SYSTEM_EMAIL) == people.system
        with pytest.raises(NotFound):
            tx.actor("nobody@council.test")
        with pytest.raises(InvalidInput, match="deactivated"):
            tx.actor("gone@council.test")


def test_users_and_teams(uow: UnitOfWork, people: People) -> None:
    east = people.teams["East"]
    with uow.transaction() as tx:
        assert tx.human_users() == len(USERS)
        assert tx.user_id("GONE@council.test") == people.id("gone@council.test")
        assert tx.is_team_member(people.id("cw@council.test"), east)
        assert not tx.is_team_member(people.id("cw2@council.test"), east)
        assert not tx.is_team_member(people.id("gone@council.test"), east)  # deactivated
        assert tx.is_team_member(people.id("tm@council.test"), east)  # its named manager
        assert tx.is_team_member(people.id("sm@council.test"), east)
        assert not tx.is_team_member(people.id("admin@council.test"), people.teams["West"])  # holds no cases
        assert [tx.may_own_cases(people.id(e)) for e in ("cw@council.test", "pc@council.test")] == [True, True]
        assert not tx.may_own_cases(people.id("admin@council.test"))
        assert not tx.may_own_cases(people.id("gone@council.test"))
        assert not tx.may_own_cases(people.system.id)
        assert not tx.may_own_cases(10_000)
        with pytest.raises(InvalidInput, match="already exists"):
            tx.add_user(NewUser("cw@council.test", "Again", ("caseworker",)))
        with pytest.raises(InvalidInput, match="already exists"):
            tx.add_team(NewTeam("East", None, None))
        uid = tx.add_user(NewUser("new@council.test", "New", ("iro",)))  # the transaction goes on
        with pytest.raises(NotFound):
            tx.deactivate_user("nobody@council.test")
        with pytest.raises(NotFound):
            tx.user_id("nobody@council.test")
    with uow.transaction() as tx:
        assert tx.user_id("new@council.test") == uid
        tx.deactivate_user("New@council.test")
        assert tx.human_users() == len(USERS) + 1


RECIPIENTS = [
    (("owner",), "cw@council.test", "East", ["cw@council.test"]),
    (("owner",), "gone@council.test", "East", []),
    (("owner",), None, "East", []),
    (("team_manager",), None, "East", ["tm@council.test"]),
    (("team_manager",), None, "West", ["tm2@council.test"]),
    (("team_manager",), None, "North", []),
    (("team_manager",), None, None, []),
    (("service_manager",), None, "East", ["sm@council.test"]),
    (("service_manager",), None, "West", []),
    (("panel_coordinator",), None, "East", ["pc-east@council.test"]),
    (("panel_coordinator",), None, "West", ["pc-east@council.test", "pc@council.test"]),
    (("panel_coordinator",), None, None, ["pc-east@council.test", "pc@council.test"]),
    (("iro",), None, "East", ["iro@council.test"]),
    (("caseworker",), None, "West", ["cw2@council.test"]),
    (("owner", "team_manager", "caseworker"), "cw@council.test", "East", ["cw@council.test", "tm@council.test"]),
    (("system", "admin"), None, None, ["admin@council.test"]),  # never carepath itself
]


def test_recipients_follow_the_rules(uow: UnitOfWork, people: People) -> None:
    """Owner; named managers (else members with the role); others prefer the team; never the inactive or system."""
    with uow.transaction() as tx:
        for roles, owner, team, expected in RECIPIENTS:
            owner_id = people.id(owner) if owner else None
            team_id = people.teams[team] if team else None
            assert tx.recipients(roles, owner_id=owner_id, team_id=team_id) == expected, (roles, owner, team)
        assert tx.recipients(("owner",), owner_id=people.system.id, team_id=None) == []


def test_audit_entries(backend: Backend, uow: UnitOfWork, people: People) -> None:
    with uow.transaction() as tx:
        tx.audit(people.id("tm@council.test"), "user.add", "x@council.test", {"roles": ["iro"]})
        tx.audit(None, "user.add", "first@council.test", {})
    assert backend.audit()[0].detail == {"roles": ["iro"]}
    assert [(a.actor_id, a.action, a.subject) for a in backend.audit()] == [
        (people.id("tm@council.test"), "user.add", "x@council.test"),
        (None, "user.add", "first@council.test"),
    ]


# -- outbox, panels, calendar --------------------------------------------------------------------------


def test_enqueue_is_idempotent_by_key(backend: Backend, uow: UnitOfWork) -> None:
    message = OutboxMessage("k1", "reminder", ("b@council.test", "a@council.test", "a@council.test"), {"n": 1})
    with uow.transaction() as tx:
        tx.enqueue(message)
        tx.enqueue(replace(message, kind="other"))  # the same key in the same transaction: the first wins
    with uow.transaction() as tx:
        tx.enqueue(replace(message, kind="again"))  # a key already in the outbox: left as it is
        with pytest.raises(InvalidInput, match="no recipients"):
            tx.enqueue(replace(message, key="k2", recipients=()))
    (mail,) = backend.outbox()
    assert (mail.key, mail.kind, mail.recipients, mail.status, mail.context) == (
        "k1", "reminder", ("a@council.test", "b@council.test"), "pending", {"n": 1}
    )  # fmt: skip


def test_requeue_only_dead_messages(backend: Backend, uow: UnitOfWork) -> None:
    with uow.transaction() as tx:
        tx.enqueue(OutboxMessage("k1", "reminder", ("a@council.test",), {}))
    (mail,) = backend.outbox()
    with pytest.raises(InvalidInput, match="not dead"), uow.transaction() as tx:
        tx.requeue(mail.id)
    with pytest.raises(NotFound), uow.transaction() as tx:
        tx.requeue(mail.id + 100)
    backend.mark_dead("k1", "550 no such user")
    with uow.transaction() as tx:
        info = tx.requeue(mail.id)
    assert (info.id, info.key, info.kind, info.recipients, info.last_error) == (
        mail.id, "k1", "reminder", ("a@council.test",), "550 no such user"
    )  # fmt: skip
    assert [(m.status, m.attempts) for m in backend.outbox()] == [("pending", 0)]


def test_panel_sittings(uow: UnitOfWork) -> None:
    with uow.transaction() as tx:
        tx.add_sitting(date(2026, 12, 3), "adoption")
        tx.add_sitting(date(2026, 12, 1), "fostering")
        tx.add_sitting(date(2026, 11, 3), "fostering")
        tx.add_sitting(date(2026, 12, 1), "adoption")
        with pytest.raises(InvalidInput, match="already booked"):
            tx.add_sitting(date(2026, 12, 1), "fostering")
        tx.add_sitting(date(2027, 1, 5), "fostering")  # the transaction goes on
    with uow.transaction() as tx:
        assert tx.sitting_days(None, None) == [
            (date(2026, 11, 3), "fostering"),
            (date(2026, 12, 1), "adoption"),
            (date(2026, 12, 1), "fostering"),
            (date(2026, 12, 3), "adoption"),
            (date(2027, 1, 5), "fostering"),
        ]
        assert tx.sitting_days("fostering", date(2026, 12, 1)) == [
            (date(2026, 12, 1), "fostering"),
            (date(2027, 1, 5), "fostering"),
        ]


def test_calendar_overrides(uow: UnitOfWork) -> None:
    with uow.transaction() as tx:
        tx.add_override(date(2026, 12, 29), "closure", "Office shut")
        tx.add_override(date(2026, 12, 24), "closure", "Christmas Eve")
        tx.add_override(date(2026, 12, 28), "opening", "Cover")
        with pytest.raises(InvalidInput, match="already has an override"):
            tx.add_override(date(2026, 12, 24), "opening", "again")
    with uow.transaction() as tx:
        tx.remove_override(date(2026, 12, 29))
        with pytest.raises(NotFound):
            tx.remove_override(date(2026, 12, 29))
        assert tx.overrides() == [(date(2026, 12, 24), "closure"), (date(2026, 12, 28), "opening")]


# -- the shape of the adapters -----------------------------------------------------------------------


def port_methods() -> list[tuple[type, str]]:
    protocols = [p for p in Transaction.__mro__ if p.__module__ == "carepath.engine.ports" and p is not Transaction]
    return [(p, n) for p in protocols for n, f in vars(p).items() if callable(f) and not n.startswith("_")]


@pytest.mark.parametrize("adapter", [FakeTransaction, SqlTransaction])
def test_every_port_method_is_implemented_with_its_signature(adapter: type) -> None:
    methods = port_methods()
    assert len(methods) >= 30  # every port of Transaction
    for port, name in methods:
        expected = inspect.signature(getattr(port, name))
        got = inspect.signature(getattr(adapter, name))
        assert [(p.name, p.kind) for p in got.parameters.values()] == [
            (p.name, p.kind) for p in expected.parameters.values()
        ], f"{adapter.__name__}.{name} differs from {port.__name__}.{name}"
    for port, adapter_of in ((UnitOfWork, FakeUnitOfWork), (TimerClaims, FakeTimerClaims)):
        for name in (n for n, f in vars(port).items() if callable(f) and not n.startswith("_")):
            assert inspect.signature(getattr(adapter_of, name)).parameters.keys() == (
                inspect.signature(getattr(port, name)).parameters.keys()
            )
