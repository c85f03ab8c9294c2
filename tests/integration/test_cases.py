"""The case service over both databases: what a caseworker relies on when moving a case.

Every test runs on a SQLite file and on a fresh PostgreSQL database (the ``app`` fixture),
with the sample journey and a clock fixed at Monday 2 November 2026, 09:00 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import transitions

from config.bootstrap import App
from engine.case import Actor, Case, Event
from engine.clock import FixedClock
from engine.errors import (
    CarepathError,
    ConcurrencyConflict,
    GuardFailed,
    InvalidInput,
    NotPermitted,
    TransitionRejected,
    UnknownWorkflow,
)

TODAY = date(2026, 11, 2)
FACTS_FOR: dict[str, dict[str, Any]] = {
    "apply": {"application_on": "2026-11-02"},
    "book_panel": {"report_authorised_on": "2026-11-02"},
    "recommend": {"minutes_received_on": "2026-11-02"},
}
PATH_TO = {
    "enquiry": [],
    "visit": ["book_visit"],
    "assessment": ["book_visit", "apply"],
    "panel": ["book_visit", "apply", "book_panel"],
    "decision": ["book_visit", "apply", "book_panel", "recommend"],
    "approved": ["book_visit", "apply", "book_panel", "recommend", "approve"],
}


@dataclass(frozen=True)
class Staff:
    """The people of the sample service, as actors."""

    system: Actor
    caseworker: Actor
    coordinator: Actor
    decider: Actor
    nobody: Actor


@pytest.fixture
def staff(app: App) -> Staff:
    people = app.people

    def user(email: str, *roles: str) -> Actor:
        people.add_user(email, email.split("@")[0].title(), list(roles))
        return people.actor(email)

    return Staff(
        system=people.ensure_system_user(),
        caseworker=user("cw@council.test", "caseworker"),
        coordinator=user("pc@council.test", "panel_coordinator"),
        decider=user("adm@council.test", "agency_decision_maker"),
        nobody=user("clerk@council.test"),
    )


def case_in(app: App, staff: Staff, state: str, *, on: date | None = None) -> Case:
    """A new case moved by the system actor to ``state``, every event dated ``on``."""
    case = app.cases.open_case("sample", staff.system, on=on)
    for trigger in PATH_TO[state]:
        case = app.cases.fire(case.ref, trigger, staff.system, on=on, facts=FACTS_FOR.get(trigger))
    return case


def history(app: App, case: Case) -> list[Event]:
    assert case.id is not None
    return app.queries.history(case.id)


def stored(app: App, ref: str) -> Case:
    return app.queries.case(ref)


# -- opening ------------------------------------------------------------------------------


def test_opening_generates_unique_references_and_records_the_first_event(
    app: App, staff: Staff, clock: FixedClock
) -> None:
    cases = [app.cases.open_case("sample", staff.caseworker) for _ in range(3)]
    assert [c.ref for c in cases] == ["SM-2026-0001", "SM-2026-0002", "SM-2026-0003"]
    last_year = app.cases.open_case("sample", staff.caseworker, on=date(2025, 12, 31))
    assert last_year.ref == "SM-2025-0001"

    case = stored(app, "SM-2026-0002")
    assert (case.state, case.status, case.version, case.owner_id) == ("enquiry", "open", 1, staff.caseworker.id)
    [opened] = history(app, case)
    assert (opened.trigger, opened.to_state, opened.effective_on) == ("open", "enquiry", TODAY)
    assert opened.recorded_at == clock.now()
    assert opened.actor_id == staff.caseworker.id


def test_a_reference_cannot_be_taken_twice(app: App, staff: Staff) -> None:
    app.cases.open_case("sample", staff.system, ref="SM-LEGACY-1")
    with pytest.raises(InvalidInput, match="'SM-LEGACY-1' is already taken"):
        app.cases.open_case("sample", staff.system, ref="SM-LEGACY-1")
    with pytest.raises(UnknownWorkflow, match="'nosuch'"):
        app.cases.open_case("nosuch", staff.system)


# -- effective dates ------------------------------------------------------------------------


def test_effective_dates_are_checked_and_recorded_at_comes_from_the_clock(
    app: App, staff: Staff, clock: FixedClock
) -> None:
    case = app.cases.open_case("sample", staff.system, on=date(2026, 10, 20))
    with pytest.raises(InvalidInput, match="2026-11-03 is in the future"):
        app.cases.fire(case.ref, "book_visit", staff.system, on=date(2026, 11, 3))
    with pytest.raises(InvalidInput, match="before SM-2026-0001's latest event on 2026-10-20"):
        app.cases.fire(case.ref, "book_visit", staff.system, on=date(2026, 10, 19))

    clock.advance(days=1)
    moved = app.cases.fire(case.ref, "book_visit", staff.system, on=date(2026, 10, 23))
    event = history(app, moved)[-1]
    assert event.effective_on == date(2026, 10, 23)
    assert event.recorded_at == clock.now()
    assert stored(app, case.ref).last_event_on == date(2026, 10, 23)


# -- refusals ------------------------------------------------------------------------------


def test_a_failing_guard_names_the_unmet_condition(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    with pytest.raises(GuardFailed) as caught:
        app.cases.fire(case.ref, "book_panel", staff.caseworker)
    assert caught.value.reasons == ["not ready for panel; missing: report_authorised_on"]

    with pytest.raises(GuardFailed, match="missing: medical_on"):
        app.cases.fire(
            case.ref,
            "book_panel",
            staff.caseworker,
            facts={"report_authorised_on": "2026-11-02", "panel_requirements": ["medical_on"]},
        )


def test_a_required_fact_that_is_missing_is_named(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "visit")
    with pytest.raises(GuardFailed, match=r"missing fact\(s\) application_on \(record with --set application_on=...\)"):
        app.cases.fire(case.ref, "apply", staff.caseworker)
    with pytest.raises(GuardFailed, match="application_on"):
        app.cases.fire(case.ref, "apply", staff.caseworker, facts={"application_on": ""})


def test_a_decision_maker_who_sat_on_the_panel_may_not_decide(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "panel")
    app.cases.fire(
        case.ref,
        "recommend",
        staff.coordinator,
        facts={"minutes_received_on": "2026-11-02", "panel_members": [staff.decider.email]},
    )
    with pytest.raises(GuardFailed, match="sat on this case's panel"):
        app.cases.fire(case.ref, "approve", staff.decider)
    # refusing has no such guard
    assert app.cases.fire(case.ref, "refuse", staff.decider).state == "closed"


def test_an_invalid_trigger_is_refused_listing_the_valid_ones(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "decision")
    with pytest.raises(
        TransitionRejected, match="cannot 'book_visit' from state 'decision': valid triggers: approve, refuse"
    ):
        app.cases.fire(case.ref, "book_visit", staff.system)
    with pytest.raises(TransitionRejected, match="valid triggers: approve, refuse"):
        app.cases.fire(case.ref, "teleport", staff.system)
    app.cases.hold(case.ref, staff.system, "carer in hospital")
    with pytest.raises(TransitionRejected, match="the case is on hold; resume it first"):
        app.cases.fire(case.ref, "approve", staff.system)


def test_roles_are_enforced_and_the_system_actor_may_do_anything(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "decision")
    with pytest.raises(NotPermitted, match=r"cw@council\.test needs role agency_decision_maker"):
        app.cases.fire(case.ref, "approve", staff.caseworker)
    with pytest.raises(NotPermitted, match=r"clerk@council\.test needs role agency_decision_maker"):
        app.cases.fire(case.ref, "refuse", staff.nobody)
    assert app.cases.fire(case.ref, "approve", staff.decider).state == "approved"
    # transitions without roles are open to anyone; the system actor passes every role check
    other = app.cases.open_case("sample", staff.nobody)
    assert app.cases.fire(other.ref, "book_visit", staff.nobody).state == "visit"
    assert case_in(app, staff, "approved").state == "approved"


def test_a_stale_expected_version_is_a_concurrency_conflict(app: App, staff: Staff) -> None:
    case = app.cases.open_case("sample", staff.system)
    seen = stored(app, case.ref).version
    assert app.cases.fire(case.ref, "book_visit", staff.system, expected_version=seen).version == seen + 1
    with pytest.raises(ConcurrencyConflict) as caught:
        app.cases.fire(case.ref, "apply", staff.system, facts=FACTS_FOR["apply"], expected_version=seen)
    assert (caught.value.expected, caught.value.actual) == (seen, seen + 1)
    assert "reload and try again" in str(caught.value)
    assert stored(app, case.ref).state == "visit"
    # the stale view is reported as such even when the move it asked for is no longer valid
    with pytest.raises(ConcurrencyConflict, match="expected version 1, it is now at version 2"):
        app.cases.fire(case.ref, "book_visit", staff.system, expected_version=seen)
    with pytest.raises(ConcurrencyConflict):
        app.cases.hold(case.ref, staff.system, "why", expected_version=seen)


def test_deactivated_users_cannot_act(app: App, staff: Staff) -> None:
    app.people.deactivate(staff.caseworker.email)
    with pytest.raises(InvalidInput, match=r"'cw@council\.test' is deactivated"):
        app.people.actor(staff.caseworker.email)
    assert [u.active for u in app.people.users() if u.email == staff.caseworker.email] == [False]


def _refusals(app: App, staff: Staff) -> list[tuple[str, Callable[[str], Any]]]:
    s, cases = staff.system, app.cases
    return [
        ("future date", lambda r: cases.fire(r, "approve", s, on=TODAY + timedelta(days=1))),
        ("before latest event", lambda r: cases.fire(r, "approve", s, on=TODAY - timedelta(days=1))),
        ("invalid trigger", lambda r: cases.fire(r, "book_visit", s)),
        ("not permitted", lambda r: cases.fire(r, "approve", staff.caseworker)),
        ("guard", lambda r: cases.fire(r, "approve", staff.decider, facts={"panel_members": [staff.decider.email]})),
        ("stale version", lambda r: cases.fire(r, "approve", s, expected_version=1)),
        ("hold without reason", lambda r: cases.hold(r, s, "  ")),
        ("resume when not held", lambda r: cases.resume(r, s)),
        ("unknown exit reason", lambda r: cases.withdraw(r, s, "BORED")),
        ("assign nobody", lambda r: cases.assign(r, s)),
        ("void an earlier event", lambda r: cases.mark_in_error(r, 2, s, "wrong")),
        ("void the opening", lambda r: cases.mark_in_error(r, 1, s, "wrong")),
        ("void without reason", lambda r: cases.mark_in_error(r, 5, s, " ")),
        ("stale version on hold", lambda r: cases.hold(r, s, "why", expected_version=2)),
    ]


def test_any_refusal_writes_nothing(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "decision")
    assert case.id is not None
    before = (stored(app, case.ref), history(app, case), app.queries.deadlines(case.id))
    for name, refuse in _refusals(app, staff):
        with pytest.raises(CarepathError):
            refuse(case.ref)
        after = (stored(app, case.ref), history(app, case), app.queries.deadlines(case.id))
        assert after == before, f"refusal {name!r} changed the case"


def test_a_closed_case_refuses_every_move(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "visit")
    app.cases.withdraw(case.ref, staff.system, "AW0")
    moves: list[Callable[[], Any]] = [
        lambda: app.cases.fire(case.ref, "apply", staff.system, facts=FACTS_FOR["apply"]),
        lambda: app.cases.hold(case.ref, staff.system, "why"),
        lambda: app.cases.withdraw(case.ref, staff.system, "AW0"),
        lambda: app.cases.withdraw(case.ref, staff.system, "AW0", trigger="close"),
    ]
    for move in moves:
        with pytest.raises(TransitionRejected, match="closed"):
            move()
    assert len(history(app, case)) == 3


# -- hold, resume, withdraw, close ------------------------------------------------------------


def test_hold_needs_a_reason_and_resume_returns_to_the_state_it_left(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    held = app.cases.hold(case.ref, staff.caseworker, "carer's bereavement")
    assert (held.state, held.status, held.held_from) == ("on_hold", "on_hold", "assessment")
    event = history(app, held)[-1]
    assert (event.trigger, event.note, event.payload["reason"]) == (
        "hold",
        "carer's bereavement",
        "carer's bereavement",
    )
    with pytest.raises(TransitionRejected, match="already on hold"):
        app.cases.hold(case.ref, staff.caseworker, "again")

    resumed = app.cases.resume(case.ref, staff.caseworker, note="back in touch")
    assert (resumed.state, resumed.status, resumed.held_from) == ("assessment", "open", None)
    assert stored(app, case.ref) == resumed
    assert [e.trigger for e in history(app, case)][-2:] == ["hold", "resume"]


def test_a_hold_pauses_clocks_and_resume_extends_them(app: App, staff: Staff, clock: FixedClock) -> None:
    # Opened Monday 26 Oct: S1 (5 working days) due Monday 2 Nov.
    case = app.cases.open_case("sample", staff.system, on=date(2026, 10, 26))
    assert case.id is not None
    [s1] = app.queries.deadlines(case.id)
    assert (s1.rule, s1.due_on, s1.status) == ("S1", date(2026, 11, 2), "open")
    app.cases.hold(case.ref, staff.system, "waiting for references", on=date(2026, 10, 27))
    [s1] = app.queries.deadlines(case.id)
    assert (s1.status, s1.paused_since) == ("paused", date(2026, 10, 27))
    app.cases.resume(case.ref, staff.system, on=date(2026, 10, 29))
    [s1] = app.queries.deadlines(case.id)
    assert (s1.status, s1.raw_due_on, s1.paused_working_days) == ("open", date(2026, 11, 2), 2)
    assert s1.due_on == date(2026, 11, 4)


def test_withdraw_needs_a_listed_reason_and_records_the_stage_reached(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    assert case.id is not None
    with pytest.raises(
        InvalidInput, match="unknown exit reason 'BORED' for sample; use one of: AW0, AW1, NOT_APPROVED"
    ):
        app.cases.withdraw(case.ref, staff.caseworker, "BORED")
    done = app.cases.withdraw(case.ref, staff.caseworker, "AW1", note="moved away")
    assert (done.state, done.status, done.exit_reason) == ("closed", "closed", "AW1")
    event = history(app, done)[-1]
    assert (event.trigger, event.from_state, event.payload) == (
        "withdraw",
        "assessment",
        {"reason": "AW1", "stage": "assessment"},
    )
    # the open assessment clock (S2, started by application_on) is cancelled on closing
    s2 = [d for d in app.queries.deadlines(case.id) if d.rule == "S2"]
    assert [d.status for d in s2] == ["cancelled"]


def test_close_from_on_hold_records_the_stage_held_from(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "panel")
    app.cases.hold(case.ref, staff.system, "panel postponed")
    done = app.cases.withdraw(case.ref, staff.system, "NOT_APPROVED", trigger="close")
    assert (done.state, done.status, done.exit_reason, done.held_from) == ("closed", "closed", "NOT_APPROVED", None)
    event = history(app, done)[-1]
    assert (event.trigger, event.from_state, event.payload["stage"]) == ("close", "on_hold", "panel")


# -- corrections ---------------------------------------------------------------------------


def test_marking_the_latest_event_in_error_keeps_it_and_recomputes_the_case(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    assert case.id is not None
    assert case.facts == {"application_on": "2026-11-02"}
    assert {d.rule: d.status for d in app.queries.deadlines(case.id)} == {"S1": "met", "S2": "open"}

    fixed = app.cases.mark_in_error(case.ref, 3, staff.caseworker, "application was for another household")
    assert (fixed.state, fixed.facts, fixed.version) == ("visit", {}, case.version + 1)
    events = history(app, fixed)
    assert [e.trigger for e in events] == ["open", "book_visit", "apply", "entered_in_error"]
    assert events[-1].payload == {"target_seq": 3}
    assert events[-1].note == "application was for another household"
    assert {d.rule: d.status for d in app.queries.deadlines(case.id)} == {"S1": "met", "S2": "void"}

    with pytest.raises(TransitionRejected, match="event 3 is already void"):
        app.cases.mark_in_error(case.ref, 3, staff.caseworker, "again")
    with pytest.raises(TransitionRejected, match="event 4 is already void or is not a case change"):
        app.cases.mark_in_error(case.ref, 4, staff.caseworker, "the correction itself")
    with pytest.raises(TransitionRejected, match="there is no event 99"):
        app.cases.mark_in_error(case.ref, 99, staff.caseworker, "nothing")

    # the case carries on from the recomputed state
    again = app.cases.fire(case.ref, "apply", staff.caseworker, facts={"application_on": "2026-11-02"})
    assert again.state == "assessment"
    assert len(history(app, again)) == 5


def test_only_the_latest_effective_event_may_be_voided(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "panel")
    with pytest.raises(TransitionRejected, match=r"mark the later event\(s\) 3, 4 in error first"):
        app.cases.mark_in_error(case.ref, 2, staff.system, "wrong")
    app.cases.mark_in_error(case.ref, 4, staff.system, "wrong")
    back = app.cases.mark_in_error(case.ref, 3, staff.system, "also wrong")
    assert (back.state, back.facts) == ("visit", {})
    app.cases.mark_in_error(case.ref, 2, staff.system, "no visit either")
    with pytest.raises(TransitionRejected, match="the opening event cannot be voided; close the case instead"):
        app.cases.mark_in_error(case.ref, 1, staff.system, "wrong")


def test_voiding_a_hold_or_a_withdrawal_restores_the_case(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "visit")
    app.cases.hold(case.ref, staff.system, "typo")
    unheld = app.cases.mark_in_error(case.ref, 3, staff.system, "held the wrong case")
    assert (unheld.state, unheld.status, unheld.held_from) == ("visit", "open", None)
    app.cases.withdraw(case.ref, staff.system, "AW0")
    reopened = app.cases.mark_in_error(case.ref, 5, staff.system, "withdrew the wrong case")
    assert (reopened.state, reopened.status, reopened.exit_reason) == ("visit", "open", None)


# -- owners and teams ------------------------------------------------------------------------


def test_reassigning_the_owner_and_team_is_recorded(app: App, staff: Staff) -> None:
    team = app.people.add_team("Fostering East", manager=None, members=[staff.caseworker.email])
    case = app.cases.open_case("sample", staff.system)
    moved = app.cases.assign(case.ref, staff.system, owner_id=staff.caseworker.id, note="allocated")
    assert (moved.state, moved.owner_id, moved.team_id) == ("enquiry", staff.caseworker.id, None)
    moved = app.cases.assign(case.ref, staff.system, team_id=team.id)
    assert (moved.owner_id, moved.team_id) == (staff.caseworker.id, team.id)
    assert stored(app, case.ref) == moved
    events = history(app, moved)
    assert [(e.trigger, dict(e.payload)) for e in events[1:]] == [
        ("assign", {"owner_id": staff.caseworker.id}),
        ("assign", {"team_id": team.id}),
    ]
    with pytest.raises(InvalidInput, match="assign needs --owner or --team"):
        app.cases.assign(case.ref, staff.system)


# -- actions and the shared machine -----------------------------------------------------------


def test_actions_explain_what_blocks_each_move(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    [book] = app.cases.actions(stored(app, case.ref), staff.nobody)
    assert (book.trigger, book.dest, book.ready) == ("book_panel", "panel", False)
    assert book.reasons == (
        "needs role caseworker or team_manager or panel_coordinator",
        "not ready for panel; missing: report_authorised_on",
    )


def test_cases_share_one_machine_and_none_is_built_per_case(
    app: App, staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    original = transitions.Machine.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(transitions.Machine, "__init__", counting_init)
    compiled = app.workflows.get("sample", 1)
    for _ in range(10):
        case_in(app, staff, "approved")
    assert built == []
    assert app.workflows.get("sample", 1) is compiled
    assert compiled.machine.models == []
