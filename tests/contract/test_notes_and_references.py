"""Issue 10, points 2 and 5, on the fake, SQLite and PostgreSQL.

References: a given one follows the journey's pattern ``<PREFIX>-<YYYY>-<NNNN>`` (nothing else, such as
a name and a date of birth, can travel in it), is refused when taken, and is never handed out again
by the counter; any lookup finds a case whatever the letter case. Notes: a note or a recorded contact
is appended to the history with its kind, day and author, and changes nothing else: no state, fact,
version, deadline, timer or outbox row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import NOTE_TRIGGER, effective_events, replay
from carepath.engine.clock import FixedClock
from carepath.engine.deadlines import replay_deadlines
from carepath.engine.errors import CarepathError, CaseNotFound, ConcurrencyConflict, InvalidInput, NotPermitted
from carepath.engine.ports import UnitOfWork
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.services import CaseService
from tests.contract.conftest import TODAY, Backend
from tests.fakes import People, TeamSpec, seed

CW, CW2, TM, SM = "cw@council.test", "cw2@council.test", "tm@council.test", "sm@council.test"
PC, ADMIN = "pc@council.test", "admin@council.test"
USERS = {
    CW: ["caseworker"],
    CW2: ["caseworker"],
    TM: ["team_manager"],
    SM: ["service_manager"],
    PC: ["panel_coordinator"],
    ADMIN: ["admin"],
}
TEAMS = {"East": TeamSpec(manager=TM, service_manager=SM, members=(CW, TM)), "West": TeamSpec(members=(CW2,))}


@pytest.fixture
def people(uow: UnitOfWork) -> People:
    return seed(uow, USERS, TEAMS)


@pytest.fixture
def cases(uow: UnitOfWork, registry: WorkflowRegistry, clock: FixedClock, calendar: WorkingCalendar) -> CaseService:
    return CaseService(uow, registry, clock, calendar)


def open_case(cases: CaseService, people: People, ref: str | None = None) -> str:
    return cases.open_case("sample", CW, ref=ref, team_id=people.teams["East"]).ref


def everything(backend: Backend, ref: str) -> tuple[Any, ...]:
    case = backend.case(ref)
    assert case.id is not None
    return case, backend.history(case.id), backend.deadlines(case.id), backend.timers(), backend.outbox()


# -- references --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("Jane SMITH dob 2015-03-01", "must follow the pattern SM-YYYY-NNNN"),
        ("   ", "the case reference is empty; use the pattern SM-YYYY-NNNN"),
        ("SM-2026-0001\r\nBcc: x@evil.test", "must be one line"),
        ("R" * 120_000, "longer than 40 characters"),
        ("FC-2026-0001", "must follow the pattern SM-YYYY-NNNN"),
        ("SM-2026-1", "must follow the pattern SM-YYYY-NNNN"),
        ("SM-26-0001", "must follow the pattern SM-YYYY-NNNN"),
        ("SM-2026-0001-X", "must follow the pattern SM-YYYY-NNNN"),
        ("SM-2026-١٢٣٤", "must follow the pattern SM-YYYY-NNNN"),  # digits, but not ASCII ones
        ("SM-2027-0001", "year must be from 1900 to 2026"),
        ("SM-1899-0001", "year must be from 1900 to 2026"),
        ("SM-2026-0000", "number must be 1 or more"),
    ],
)
def test_a_given_reference_follows_the_journeys_pattern(
    backend: Backend, cases: CaseService, people: People, given: str, message: str
) -> None:
    first = open_case(cases, people)
    before = everything(backend, first)
    with pytest.raises(InvalidInput, match=message) as refused:
        open_case(cases, people, given)
    assert len(str(refused.value)) < 200
    assert "Jane" not in str(refused.value)
    assert everything(backend, first) == before
    assert open_case(cases, people) == "SM-2026-0002"  # and the refusal took no number


def test_a_given_reference_is_stored_upper_case_and_canonical(cases: CaseService, people: People) -> None:
    assert open_case(cases, people, " sm-2026-0007 ") == "SM-2026-0007"
    assert open_case(cases, people, "SM-2025-00012") == "SM-2025-0012"
    assert open_case(cases, people, "SM-2026-123456") == "SM-2026-123456"


def test_a_taken_reference_is_refused_in_any_case(backend: Backend, cases: CaseService, people: People) -> None:
    ref = open_case(cases, people)
    before = everything(backend, ref)
    for given in (ref, ref.lower(), "SM-2026-00001"):
        with pytest.raises(InvalidInput, match="'SM-2026-0001' is already taken"):
            open_case(cases, people, given)
    assert everything(backend, ref) == before


def test_the_counter_steps_over_references_given_ahead_of_it(cases: CaseService, people: People) -> None:
    assert open_case(cases, people, "SM-2026-0002") == "SM-2026-0002"
    assert open_case(cases, people, "SM-2026-0003") == "SM-2026-0003"
    assert open_case(cases, people, "SM-2026-0005") == "SM-2026-0005"
    generated = [open_case(cases, people) for _ in range(4)]
    assert generated == ["SM-2026-0001", "SM-2026-0004", "SM-2026-0006", "SM-2026-0007"]


def test_lookups_ignore_letter_case(backend: Backend, cases: CaseService, people: People) -> None:
    ref = open_case(cases, people)
    moved = cases.fire(" sm-2026-0001 ", "book_visit", CW)
    assert (moved.ref, moved.state) == (ref, "visit")
    cases.hold("Sm-2026-0001", CW, "carer in hospital")
    cases.resume("sM-2026-0001", CW)
    assert backend.case(ref).version == 4
    with pytest.raises(CaseNotFound, match="no case with reference 'SM-2026-9999'"):
        cases.fire("sm-2026-9999", "book_visit", CW)
    with pytest.raises(CaseNotFound):
        cases.fire("sm-2026-0001\x00", "book_visit", CW)


# -- notes ----------------------------------------------------------------------------------------


def test_a_note_is_history_and_changes_nothing_else(
    backend: Backend, cases: CaseService, people: People, registry: WorkflowRegistry, calendar: WorkingCalendar
) -> None:
    ref = open_case(cases, people)
    cases.fire(ref, "book_visit", CW)
    case, history, deadlines, timers, outbox = everything(backend, ref)
    event = cases.note(ref.lower(), CW, "  Home visit: carer and children seen.\nAll well.  ", kind="visit")
    assert (event.trigger, event.from_state, event.to_state) == (NOTE_TRIGGER, "visit", "visit")
    assert (event.seq, event.effective_on, event.actor_id) == (3, TODAY, people.id(CW))
    assert (event.note, dict(event.payload)) == ("Home visit: carer and children seen.\nAll well.", {"kind": "visit"})
    after, history_after, deadlines_after, timers_after, outbox_after = everything(backend, ref)
    assert history_after == [*history, event]
    assert (deadlines_after, timers_after, outbox_after) == (deadlines, timers, outbox)
    # the case itself: only the sequence moved on (not the version: a note is not a move)
    assert after.last_seq == 3
    assert (after.state, after.status, after.facts, after.version, after.last_event_on) == (
        case.state, case.status, case.facts, case.version, case.last_event_on
    )  # fmt: skip
    # the replay skips it, and so do the deadlines
    compiled = registry.get(after.workflow_id, after.workflow_version)
    snap = replay(history_after, compiled.terminal)
    assert (snap.state, snap.facts, snap.last_event_on) == (after.state, after.facts, after.last_event_on)
    assert event not in effective_events(history_after)
    book = replay_deadlines(compiled.definition, calendar, effective_events(history_after))
    assert {(d.rule, d.cycle): d.due_on for d in deadlines_after if d.status != "void"} == {
        k: d.due_on for k, d in book.items.items()
    }


def test_notes_keep_their_day_and_author_and_the_case_moves_on(
    backend: Backend, cases: CaseService, people: People, clock: FixedClock
) -> None:
    ref = open_case(cases, people)
    clock.advance(days=7)
    cases.fire(ref, "book_visit", CW)
    # written up later, about a day before the latest move: not before the case opened
    phone = cases.note(ref, TM, "Called the applicant", kind="phone", on=TODAY)
    letter = cases.note(ref, SM, "Letter confirming the visit", kind="letter", expected_version=2)
    assert [(e.trigger, e.payload.get("kind"), e.effective_on, e.actor_id) for e in (phone, letter)] == [
        ("note", "phone", TODAY, people.id(TM)),
        ("note", "letter", clock.now().date(), people.id(SM)),
    ]
    # a move after notes is checked against the latest move, not the notes
    moved = cases.fire(ref, "apply", CW, facts={"application_on": "2026-11-09"}, expected_version=2)
    assert (moved.state, moved.version, moved.last_seq) == ("assessment", 3, 5)
    case = backend.case(ref)
    assert case.id is not None
    assert [e.trigger for e in backend.history(case.id)] == ["open", "book_visit", "note", "note", "apply"]


def test_a_closed_case_takes_a_note(backend: Backend, cases: CaseService, people: People) -> None:
    ref = open_case(cases, people)
    cases.withdraw(ref, CW, "AW1")
    event = cases.note(ref, CW, "Letter confirming the withdrawal", kind="letter")
    assert (event.to_state, backend.case(ref).status) == ("closed", "closed")


def test_a_refused_note_writes_nothing(backend: Backend, cases: CaseService, people: People) -> None:
    ref = open_case(cases, people)
    before = everything(backend, ref)
    refusals: list[tuple[type[CarepathError], str, Any]] = [
        (InvalidInput, "a note needs text", lambda: cases.note(ref, CW, "   ")),
        (InvalidInput, "longer than 4000", lambda: cases.note(ref, CW, "x" * 4001)),
        (InvalidInput, "control characters", lambda: cases.note(ref, CW, "a\x00b")),
        (InvalidInput, "did you mean 'visit'", lambda: cases.note(ref, CW, "x", kind="visti")),
        (InvalidInput, "in the future", lambda: cases.note(ref, CW, "x", on=date(2026, 11, 3))),
        (InvalidInput, "before SM-2026-0001 was opened", lambda: cases.note(ref, CW, "x", on=date(2026, 11, 1))),
        (InvalidInput, "before 1900", lambda: cases.note(ref, CW, "x", on=date(1, 1, 1))),
        (NotPermitted, "may not case.note", lambda: cases.note(ref, CW2, "x")),
        (NotPermitted, "administrators manage the system", lambda: cases.note(ref, ADMIN, "x")),
        (NotPermitted, "needs role caseworker", lambda: cases.note(ref, PC, "x")),
        (NotPermitted, "name the user", lambda: cases.note(ref, None, "x")),
        (NotPermitted, "scheduler", lambda: cases.note(ref, people.system, "x")),
        (ConcurrencyConflict, "SM-2026-0001", lambda: cases.note(ref, CW, "x", expected_version=2)),
        (CaseNotFound, "no case", lambda: cases.note("sm-2026-0002", CW, "x")),
    ]
    for error, message, command in refusals:
        with pytest.raises(error, match=message):
            command()
        assert everything(backend, ref) == before, error


def test_a_note_on_a_held_case_leaves_it_held_from_where_it_was(
    backend: Backend, cases: CaseService, people: People, registry: WorkflowRegistry
) -> None:
    ref = open_case(cases, people)
    cases.fire(ref, "book_visit", CW)
    cases.hold(ref, CW, "carer in hospital")
    cases.note(ref, CW, "Called the ward", kind="phone")
    held = backend.case(ref)
    assert (held.state, held.held_from, held.version) == ("on_hold", "visit", 3)
    assert cases.resume(ref, CW).state == "visit"
    assert held.id is not None
    snap = replay(backend.history(held.id), registry.get("sample", 1).terminal)
    assert (snap.state, snap.held_from) == ("visit", None)
