"""The case service over both databases: what a caseworker relies on when moving a case.

Every test runs on a SQLite file and on a fresh PostgreSQL database (the ``app`` fixture),
with the sample journey and a clock fixed at Monday 2 November 2026, 09:00 UTC. The people
are real users under the authorization policy (``staff``: an administrator, one user per
role, a team); carepath's own system user moves no case.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import transitions

from carepath.config.bootstrap import App
from carepath.engine.case import Case, Event
from carepath.engine.clock import FixedClock
from carepath.engine.deadlines import Deadline
from carepath.engine.errors import (
    CarepathError,
    ConcurrencyConflict,
    GuardFailed,
    InvalidInput,
    NotPermitted,
    TransitionRejected,
    UnknownWorkflow,
)
from carepath.engine.roles import SYSTEM_EMAIL
from tests.support import ADMIN, Staff, add_user

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
#: Who makes each move of the sample journey: the caseworker, unless the journey names a role.
MOVER = {"recommend": "panel_coordinator", "approve": "agency_decision_maker", "refuse": "agency_decision_maker"}
SYSTEM_REFUSED = "the system user acts only for the scheduler"


def mover(staff: Staff, trigger: str) -> Any:
    return staff[MOVER.get(trigger, "caseworker")]


def case_in(app: App, staff: Staff, state: str, *, on: date | None = None) -> Case:
    """A new case of the team, opened by its caseworker and moved by the right people to ``state``."""
    case = app.cases.open_case("sample", staff["caseworker"], on=on, team_id=staff.team_id)
    for trigger in PATH_TO[state]:
        case = app.cases.fire(case.ref, trigger, mover(staff, trigger), on=on, facts=FACTS_FOR.get(trigger))
    return case


# Reads go through the read service as the service manager (every case of the service).


def stored(app: App, staff: Staff, ref: str) -> Case:
    return app.reads.case(ref, staff["service_manager"])


def history(app: App, staff: Staff, case: Case) -> list[Event]:
    return [entry.event for entry in app.reads.history(case.ref, staff["service_manager"])[1]]


def deadlines(app: App, staff: Staff, ref: str) -> list[Deadline]:
    return app.reads.case_deadlines(ref, staff["service_manager"])[1]


# -- opening ------------------------------------------------------------------------------


def test_opening_generates_unique_references_and_records_the_first_event(
    app: App, staff: Staff, clock: FixedClock
) -> None:
    cw = staff["caseworker"]
    cases = [app.cases.open_case("sample", cw, team_id=staff.team_id) for _ in range(3)]
    assert [c.ref for c in cases] == ["SM-2026-0001", "SM-2026-0002", "SM-2026-0003"]
    last_year = app.cases.open_case("sample", cw, on=date(2025, 12, 31))
    assert last_year.ref == "SM-2025-0001"

    case = stored(app, staff, "SM-2026-0002")
    assert (case.state, case.status, case.version) == ("enquiry", "open", 1)
    assert (case.owner_id, case.team_id) == (cw.id, staff.team_id)
    [opened] = history(app, staff, case)
    assert (opened.trigger, opened.to_state, opened.effective_on) == ("open", "enquiry", TODAY)
    assert opened.recorded_at == clock.now()
    assert opened.actor_id == cw.id
    # the history says who recorded it
    [entry] = app.reads.history(case.ref, staff["service_manager"])[1]
    assert entry.by == cw.email


def test_a_reference_cannot_be_taken_twice(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    app.cases.open_case("sample", cw, ref="SM-2026-0042")
    with pytest.raises(InvalidInput, match="'SM-2026-0042' is already taken"):
        app.cases.open_case("sample", cw, ref="sm-2026-0042")
    with pytest.raises(UnknownWorkflow, match="'nosuch'"):
        app.cases.open_case("nosuch", cw)


# -- effective dates ------------------------------------------------------------------------


def test_effective_dates_are_checked_and_recorded_at_comes_from_the_clock(
    app: App, staff: Staff, clock: FixedClock
) -> None:
    cw = staff["caseworker"]
    case = app.cases.open_case("sample", cw, on=date(2026, 10, 20))
    with pytest.raises(InvalidInput, match="2026-11-03 is in the future"):
        app.cases.fire(case.ref, "book_visit", cw, on=date(2026, 11, 3))
    with pytest.raises(InvalidInput, match="before SM-2026-0001's latest event on 2026-10-20"):
        app.cases.fire(case.ref, "book_visit", cw, on=date(2026, 10, 19))

    clock.advance(days=1)
    moved = app.cases.fire(case.ref, "book_visit", cw, on=date(2026, 10, 23))
    event = history(app, staff, moved)[-1]
    assert event.effective_on == date(2026, 10, 23)
    assert event.recorded_at == clock.now()
    assert stored(app, staff, case.ref).last_event_on == date(2026, 10, 23)


# -- refusals ------------------------------------------------------------------------------


def test_a_failing_guard_names_the_unmet_condition(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    cw = staff["caseworker"]
    with pytest.raises(GuardFailed) as caught:
        app.cases.fire(case.ref, "book_panel", cw)
    assert caught.value.reasons == ["not ready for panel; missing: report_authorised_on"]

    with pytest.raises(GuardFailed, match="missing: medical_on"):
        app.cases.fire(
            case.ref,
            "book_panel",
            cw,
            facts={"report_authorised_on": "2026-11-02", "panel_requirements": ["medical_on"]},
        )


def test_a_required_fact_that_is_missing_is_named(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "visit")
    cw = staff["caseworker"]
    with pytest.raises(GuardFailed) as caught:
        app.cases.fire(case.ref, "apply", cw)
    assert caught.value.reasons == ["missing fact(s) application_on"]
    with pytest.raises(GuardFailed, match="application_on"):
        app.cases.fire(case.ref, "apply", cw, facts={"application_on": ""})


def test_a_decision_maker_who_sat_on_the_panel_may_not_decide(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "panel")
    decider = staff["agency_decision_maker"]
    app.cases.fire(
        case.ref,
        "recommend",
        staff["panel_coordinator"],
        facts={"minutes_received_on": "2026-11-02", "panel_members": [decider.email]},
    )
    with pytest.raises(GuardFailed, match="sat on this case's panel"):
        app.cases.fire(case.ref, "approve", decider)
    # refusing has no such guard
    assert app.cases.fire(case.ref, "refuse", decider).state == "closed"


def test_an_invalid_trigger_is_refused_listing_the_valid_ones(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "decision")
    cw = staff["caseworker"]
    with pytest.raises(
        TransitionRejected, match="cannot 'book_visit' from state 'decision': valid triggers: approve, refuse"
    ):
        app.cases.fire(case.ref, "book_visit", cw)
    with pytest.raises(TransitionRejected, match="valid triggers: approve, refuse"):
        app.cases.fire(case.ref, "teleport", cw)
    app.cases.hold(case.ref, cw, "carer in hospital")
    with pytest.raises(TransitionRejected, match="the case is on hold; resume it first"):
        app.cases.fire(case.ref, "approve", staff["agency_decision_maker"])


def test_a_journey_move_needs_its_own_roles_on_top_of_the_policy(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "decision")
    # the policy lets a caseworker move the team's cases; the journey says who decides
    needs = "needs role agency_decision_maker"
    with pytest.raises(NotPermitted, match=rf"^caseworker@council\.test may not approve on {case.ref}: {needs}$"):
        app.cases.fire(case.ref, "approve", staff["caseworker"])
    with pytest.raises(NotPermitted, match=rf"^team\.manager@council\.test may not refuse on {case.ref}: {needs}$"):
        app.cases.fire(case.ref, "refuse", staff["team_manager"])
    assert app.cases.fire(case.ref, "approve", staff["agency_decision_maker"]).state == "approved"
    # a move without journey roles is open to whoever the policy lets move the case
    other = app.cases.open_case("sample", staff["team_manager"], team_id=staff.team_id)
    assert app.cases.fire(other.ref, "book_visit", staff["caseworker"]).state == "visit"
    assert case_in(app, staff, "approved").state == "approved"


def test_the_policy_refuses_people_outside_the_case_and_the_system_user(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "visit")
    facts = FACTS_FOR["apply"]
    outsider = add_user(app, "outsider@council.test", "caseworker")
    app.people.add_team("Elsewhere", ADMIN, members=[outsider.email])
    with pytest.raises(
        NotPermitted,
        match=r"^outsider@council\.test may not case\.fire: the case is neither theirs nor in one of their teams$",
    ):
        app.cases.fire(case.ref, "apply", outsider.email, facts=facts)
    with pytest.raises(NotPermitted, match=r"^iro@council\.test may not case\.fire: needs role caseworker or "):
        app.cases.fire(case.ref, "apply", staff["iro"], facts=facts)
    admins = "administrators manage the system, not case records"
    with pytest.raises(NotPermitted, match=rf"^admin@council\.test may not case\.fire: {admins}$"):
        app.cases.fire(case.ref, "apply", staff.admin, facts=facts)
    with pytest.raises(NotPermitted, match=r"^\(nobody\) may not case\.fire: name the user who acts"):
        app.cases.fire(case.ref, "apply", None, facts=facts)
    with pytest.raises(NotPermitted, match=r"^\(nobody\) may not case\.open"):
        app.cases.open_case("sample", " ")

    # carepath's own user runs the scheduler's commands, never a person's
    system = staff.system
    assert system.email == SYSTEM_EMAIL
    refusals: list[tuple[str, Callable[[], Any]]] = [
        ("case.open", lambda: app.cases.open_case("sample", system)),
        ("case.fire", lambda: app.cases.fire(case.ref, "apply", system, facts=facts)),
        ("case.hold", lambda: app.cases.hold(case.ref, system, "why")),
        ("case.resume", lambda: app.cases.resume(case.ref, system)),
        ("case.withdraw", lambda: app.cases.withdraw(case.ref, system, "AW0")),
        ("case.close", lambda: app.cases.withdraw(case.ref, system, "AW0", trigger="close")),
        ("case.assign", lambda: app.cases.assign(case.ref, system, owner_id=staff["team_manager"].id)),
        ("case.void", lambda: app.cases.mark_in_error(case.ref, 2, system, "wrong")),
    ]
    for command, refuse in refusals:
        with pytest.raises(NotPermitted) as caught:
            refuse()
        assert str(caught.value) == f"{SYSTEM_EMAIL} may not {command}: {SYSTEM_REFUSED}", command
    assert [e.trigger for e in history(app, staff, case)] == ["open", "book_visit"]
    assert stored(app, staff, case.ref).state == "visit"


def test_a_stale_expected_version_is_a_concurrency_conflict(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    case = app.cases.open_case("sample", cw)
    seen = stored(app, staff, case.ref).version
    assert app.cases.fire(case.ref, "book_visit", cw, expected_version=seen).version == seen + 1
    with pytest.raises(ConcurrencyConflict) as caught:
        app.cases.fire(case.ref, "apply", cw, facts=FACTS_FOR["apply"], expected_version=seen)
    assert (caught.value.expected, caught.value.actual) == (seen, seen + 1)
    assert "reload and try again" in str(caught.value)
    assert stored(app, staff, case.ref).state == "visit"
    # the stale view is reported as such even when the move it asked for is no longer valid
    with pytest.raises(ConcurrencyConflict, match="expected version 1, it is now at version 2"):
        app.cases.fire(case.ref, "book_visit", cw, expected_version=seen)
    with pytest.raises(ConcurrencyConflict):
        app.cases.hold(case.ref, cw, "why", expected_version=seen)


def test_deactivated_users_cannot_act(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    case = case_in(app, staff, "visit")
    app.people.deactivate(cw.email, ADMIN)
    with pytest.raises(InvalidInput, match=r"'caseworker@council\.test' is deactivated"):
        app.directory.actor(cw.email)
    # an entrypoint names the user by email; the service resolves them in its transaction
    with pytest.raises(InvalidInput, match=r"'caseworker@council\.test' is deactivated"):
        app.cases.fire(case.ref, "apply", cw.email, facts=FACTS_FOR["apply"])
    assert stored(app, staff, case.ref).state == "visit"
    assert [u.active for u in app.reads.users(staff.admin) if u.email == cw.email] == [False]


def _refusals(app: App, staff: Staff) -> list[tuple[str, Callable[[str], Any]]]:
    cases, cw, tm, adm = app.cases, staff["caseworker"], staff["team_manager"], staff["agency_decision_maker"]
    return [
        ("future date", lambda r: cases.fire(r, "approve", adm, on=TODAY + timedelta(days=1))),
        ("before latest event", lambda r: cases.fire(r, "approve", adm, on=TODAY - timedelta(days=1))),
        ("invalid trigger", lambda r: cases.fire(r, "book_visit", cw)),
        ("journey role", lambda r: cases.fire(r, "approve", cw)),
        ("policy", lambda r: cases.fire(r, "approve", staff["iro"])),
        ("system user", lambda r: cases.fire(r, "approve", staff.system)),
        ("nobody", lambda r: cases.fire(r, "approve", None)),
        ("guard", lambda r: cases.fire(r, "approve", adm)),
        ("stale version", lambda r: cases.fire(r, "approve", adm, expected_version=1)),
        ("hold without reason", lambda r: cases.hold(r, cw, "  ")),
        ("resume when not held", lambda r: cases.resume(r, cw)),
        ("unknown exit reason", lambda r: cases.withdraw(r, cw, "BORED")),
        ("assign nobody", lambda r: cases.assign(r, tm)),
        ("caseworker assigns", lambda r: cases.assign(r, cw, owner_id=tm.id)),
        ("void an earlier event", lambda r: cases.mark_in_error(r, 2, tm, "wrong")),
        ("void the opening", lambda r: cases.mark_in_error(r, 1, tm, "wrong")),
        ("void without reason", lambda r: cases.mark_in_error(r, 5, tm, " ")),
        ("caseworker voids", lambda r: cases.mark_in_error(r, 5, cw, "wrong")),
        ("stale version on hold", lambda r: cases.hold(r, cw, "why", expected_version=2)),
    ]


def test_any_refusal_writes_nothing(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "panel")
    # the decision maker sat on the panel: the guard refuses their approval
    members = {"minutes_received_on": "2026-11-02", "panel_members": [staff["agency_decision_maker"].email]}
    case = app.cases.fire(case.ref, "recommend", staff["panel_coordinator"], facts=members)
    before = (stored(app, staff, case.ref), history(app, staff, case), deadlines(app, staff, case.ref))
    for name, refuse in _refusals(app, staff):
        with pytest.raises(CarepathError):  # noqa: PT012 (a refusal that does not raise is named)
            refuse(case.ref)
            pytest.fail(f"refusal {name!r} was not refused")
        after = (stored(app, staff, case.ref), history(app, staff, case), deadlines(app, staff, case.ref))
        assert after == before, f"refusal {name!r} changed the case"


def test_a_closed_case_refuses_every_move(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "visit")
    cw = staff["caseworker"]
    app.cases.withdraw(case.ref, cw, "AW0")
    moves: list[Callable[[], Any]] = [
        lambda: app.cases.fire(case.ref, "apply", cw, facts=FACTS_FOR["apply"]),
        lambda: app.cases.hold(case.ref, cw, "why"),
        lambda: app.cases.withdraw(case.ref, cw, "AW0"),
        lambda: app.cases.withdraw(case.ref, cw, "AW0", trigger="close"),
    ]
    for move in moves:
        with pytest.raises(TransitionRejected, match="closed"):
            move()
    assert len(history(app, staff, case)) == 3


# -- hold, resume, withdraw, close ------------------------------------------------------------


def test_hold_needs_a_reason_and_resume_returns_to_the_state_it_left(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    cw = staff["caseworker"]
    held = app.cases.hold(case.ref, cw, "carer's bereavement")
    assert (held.state, held.status, held.held_from) == ("on_hold", "on_hold", "assessment")
    event = history(app, staff, held)[-1]
    assert (event.trigger, event.note, event.payload["reason"]) == (
        "hold",
        "carer's bereavement",
        "carer's bereavement",
    )
    with pytest.raises(TransitionRejected, match="already on hold"):
        app.cases.hold(case.ref, cw, "again")

    resumed = app.cases.resume(case.ref, cw, note="back in touch")
    assert (resumed.state, resumed.status, resumed.held_from) == ("assessment", "open", None)
    assert stored(app, staff, case.ref) == resumed
    assert [e.trigger for e in history(app, staff, case)][-2:] == ["hold", "resume"]


def test_a_hold_pauses_clocks_and_resume_extends_them(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    # Opened Monday 26 Oct: S1 (5 working days) due Monday 2 Nov.
    case = app.cases.open_case("sample", cw, on=date(2026, 10, 26))
    [s1] = deadlines(app, staff, case.ref)
    assert (s1.rule, s1.due_on, s1.status) == ("S1", date(2026, 11, 2), "open")
    app.cases.hold(case.ref, cw, "waiting for references", on=date(2026, 10, 27))
    [s1] = deadlines(app, staff, case.ref)
    assert (s1.status, s1.paused_since) == ("paused", date(2026, 10, 27))
    app.cases.resume(case.ref, cw, on=date(2026, 10, 29))
    [s1] = deadlines(app, staff, case.ref)
    assert (s1.status, s1.raw_due_on, s1.paused_working_days) == ("open", date(2026, 11, 2), 2)
    assert s1.due_on == date(2026, 11, 4)


def test_withdraw_needs_a_listed_reason_and_records_the_stage_reached(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    cw = staff["caseworker"]
    with pytest.raises(
        InvalidInput, match="unknown exit reason 'BORED' for sample; use one of: AW0, AW1, NOT_APPROVED"
    ):
        app.cases.withdraw(case.ref, cw, "BORED")
    done = app.cases.withdraw(case.ref, cw, "AW1", note="moved away")
    assert (done.state, done.status, done.exit_reason) == ("closed", "closed", "AW1")
    event = history(app, staff, done)[-1]
    assert (event.trigger, event.from_state, event.payload) == (
        "withdraw",
        "assessment",
        {"reason": "AW1", "stage": "assessment"},
    )
    # the open assessment clock (S2, started by application_on) is cancelled on closing
    s2 = [d for d in deadlines(app, staff, case.ref) if d.rule == "S2"]
    assert [d.status for d in s2] == ["cancelled"]


def test_close_from_on_hold_records_the_stage_held_from(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "panel")
    cw = staff["caseworker"]
    app.cases.hold(case.ref, cw, "panel postponed")
    done = app.cases.withdraw(case.ref, cw, "NOT_APPROVED", trigger="close")
    assert (done.state, done.status, done.exit_reason, done.held_from) == ("closed", "closed", "NOT_APPROVED", None)
    event = history(app, staff, done)[-1]
    assert (event.trigger, event.from_state, event.payload["stage"]) == ("close", "on_hold", "panel")


# -- corrections ---------------------------------------------------------------------------


def test_marking_the_latest_event_in_error_keeps_it_and_recomputes_the_case(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    tm = staff["team_manager"]
    assert case.facts == {"application_on": "2026-11-02"}
    assert {d.rule: d.status for d in deadlines(app, staff, case.ref)} == {"S1": "met", "S2": "open"}

    # a correction changes the record: the team manager's call, not the caseworker's
    with pytest.raises(
        NotPermitted, match=r"^caseworker@council\.test may not case\.void: needs role team_manager or service_manager$"
    ):
        app.cases.mark_in_error(case.ref, 3, staff["caseworker"], "application was for another household")

    fixed = app.cases.mark_in_error(case.ref, 3, tm, "application was for another household")
    assert (fixed.state, fixed.facts, fixed.version) == ("visit", {}, case.version + 1)
    events = history(app, staff, fixed)
    assert [e.trigger for e in events] == ["open", "book_visit", "apply", "entered_in_error"]
    assert events[-1].payload == {"target_seq": 3}
    assert events[-1].note == "application was for another household"
    assert events[-1].actor_id == tm.id
    assert {d.rule: d.status for d in deadlines(app, staff, case.ref)} == {"S1": "met", "S2": "void"}

    with pytest.raises(TransitionRejected, match="event 3 is already void"):
        app.cases.mark_in_error(case.ref, 3, tm, "again")
    with pytest.raises(TransitionRejected, match="event 4 is already void or is not a case change"):
        app.cases.mark_in_error(case.ref, 4, tm, "the correction itself")
    with pytest.raises(TransitionRejected, match="there is no event 99"):
        app.cases.mark_in_error(case.ref, 99, tm, "nothing")

    # the case carries on from the recomputed state
    again = app.cases.fire(case.ref, "apply", staff["caseworker"], facts={"application_on": "2026-11-02"})
    assert again.state == "assessment"
    assert len(history(app, staff, again)) == 5


def test_only_the_latest_effective_event_may_be_voided(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "panel")
    tm = staff["team_manager"]
    with pytest.raises(TransitionRejected, match=r"mark the later event\(s\) 3, 4 in error first"):
        app.cases.mark_in_error(case.ref, 2, tm, "wrong")
    app.cases.mark_in_error(case.ref, 4, tm, "wrong")
    back = app.cases.mark_in_error(case.ref, 3, staff["service_manager"], "also wrong")
    assert (back.state, back.facts) == ("visit", {})
    app.cases.mark_in_error(case.ref, 2, tm, "no visit either")
    with pytest.raises(TransitionRejected, match="the opening event cannot be voided; close the case instead"):
        app.cases.mark_in_error(case.ref, 1, tm, "wrong")


def test_voiding_a_hold_or_a_withdrawal_restores_the_case(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "visit")
    cw, tm = staff["caseworker"], staff["team_manager"]
    app.cases.hold(case.ref, cw, "typo")
    unheld = app.cases.mark_in_error(case.ref, 3, tm, "held the wrong case")
    assert (unheld.state, unheld.status, unheld.held_from) == ("visit", "open", None)
    app.cases.withdraw(case.ref, cw, "AW0")
    reopened = app.cases.mark_in_error(case.ref, 5, tm, "withdrew the wrong case")
    assert (reopened.state, reopened.status, reopened.exit_reason) == ("visit", "open", None)


# -- owners and teams ------------------------------------------------------------------------


def test_reassigning_the_owner_and_team_is_recorded(app: App, staff: Staff) -> None:
    tm, cw = staff["team_manager"], staff["caseworker"]
    east1 = add_user(app, "east1@council.test", "caseworker")
    east2 = add_user(app, "east2@council.test", "caseworker")
    east = app.people.add_team("Fostering East", ADMIN, manager=tm.email, members=[east1.email, east2.email, tm.email])
    case = app.cases.open_case("sample", east1, team_id=east)
    # the team manager is named by email, so the service sees both of their teams
    with pytest.raises(NotPermitted, match=r"^caseworker@council\.test may not case\.assign: needs role team_manager"):
        app.cases.assign(case.ref, cw.email, owner_id=east2.id)

    moved = app.cases.assign(case.ref, tm.email, owner_id=east2.id, note="allocated")
    assert (moved.state, moved.owner_id, moved.team_id) == ("enquiry", east2.id, east)
    with pytest.raises(InvalidInput, match=rf"user {east2.id} is not an active member of team {staff.team_id}"):
        app.cases.assign(case.ref, tm.email, team_id=staff.team_id)
    moved = app.cases.assign(case.ref, tm.email, owner_id=cw.id, team_id=staff.team_id)
    assert (moved.owner_id, moved.team_id) == (cw.id, staff.team_id)
    assert stored(app, staff, case.ref) == moved
    events = history(app, staff, moved)
    assert [(e.trigger, dict(e.payload), e.actor_id) for e in events[1:]] == [
        ("assign", {"owner_id": east2.id}, tm.id),
        ("assign", {"owner_id": cw.id, "team_id": staff.team_id}, tm.id),
    ]
    with pytest.raises(InvalidInput, match="an assignment needs a new owner or a new team"):
        app.cases.assign(case.ref, tm.email)
    # the case has left East: its caseworkers no longer reach it
    with pytest.raises(NotPermitted, match="neither theirs nor in one of their teams"):
        app.cases.fire(case.ref, "book_visit", east1.email)


# -- actions and the shared machine -----------------------------------------------------------


def test_actions_explain_what_blocks_each_move(app: App, staff: Staff) -> None:
    case = case_in(app, staff, "assessment")
    [book] = app.cases.actions(stored(app, staff, case.ref), staff["agency_decision_maker"])
    assert (book.trigger, book.dest, book.ready) == ("book_panel", "panel", False)
    assert book.reasons == (
        "needs role caseworker or team_manager or panel_coordinator",
        "not ready for panel; missing: report_authorised_on",
    )
    [mine] = app.cases.actions(stored(app, staff, case.ref), staff["caseworker"])
    assert mine.reasons == ("not ready for panel; missing: report_authorised_on",)
    with pytest.raises(NotPermitted, match="administrators manage the system"):
        app.cases.actions(stored(app, staff, case.ref), staff.admin)


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
