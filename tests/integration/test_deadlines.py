"""Deadlines are rows written with the transition; the sweep raises each timer once.

Runs over a SQLite file and the PostgreSQL server (the ``app`` fixture).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from config.bootstrap import App
from engine.deadlines import display_status
from engine.errors import GuardFailed
from storage.uow import EVENT, TIMER, E, T


def _deadlines(app: App, ref: str) -> dict[str, object]:
    case = app.queries.case(ref)
    assert case.id is not None
    return {f"{d.rule}#{d.cycle}": d for d in app.queries.deadlines(case.id)}


def _notices(app: App, ref: str) -> list[tuple[str, str, date]]:
    case = app.queries.case(ref)
    assert case.id is not None
    return [
        (e.trigger, e.payload.get("rule", ""), e.effective_on)
        for e in app.queries.history(case.id)
        if e.trigger in ("reminder_due", "deadline_breached", "deadline_escalated")
    ]


def _at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def test_deadline_rows_follow_the_transitions(app: App) -> None:
    system = app.people.ensure_system_user()
    case = app.cases.open_case("sample", system, on=date(2026, 10, 1))
    s1 = _deadlines(app, case.ref)["S1#1"]
    assert (s1.start_on, s1.due_on, s1.status) == (date(2026, 10, 1), date(2026, 10, 8), "open")

    app.cases.fire(case.ref, "book_visit", system, on=date(2026, 10, 6))
    app.cases.fire(case.ref, "apply", system, on=date(2026, 10, 7), facts={"application_on": "2026-10-05"})
    rows = _deadlines(app, case.ref)
    assert rows["S1#1"].status == "met"
    assert display_status(rows["S1#1"], date(2026, 11, 2)) == "met on time"
    # The fact's date, not the event's, starts the 8-month clock; month arithmetic, no rolling.
    assert (rows["S2#1"].start_on, rows["S2#1"].due_on) == (date(2026, 10, 5), date(2027, 6, 5))


def test_a_refused_move_writes_no_deadline(app: App) -> None:
    system = app.people.ensure_system_user()
    case = app.cases.open_case("sample", system, on=date(2026, 10, 1))
    app.cases.fire(case.ref, "book_visit", system, on=date(2026, 10, 6))
    with pytest.raises(GuardFailed, match="application_on"):
        app.cases.fire(case.ref, "apply", system, on=date(2026, 10, 7))
    assert "S2#1" not in _deadlines(app, case.ref)


def test_hold_pauses_and_keeps_raw_and_adjusted_due_dates(app: App) -> None:
    system = app.people.ensure_system_user()
    case = app.cases.open_case("sample", system, on=date(2026, 9, 1))
    app.cases.fire(case.ref, "book_visit", system, on=date(2026, 9, 2))
    app.cases.fire(case.ref, "apply", system, on=date(2026, 9, 2), facts={"application_on": "2026-09-02"})
    app.cases.hold(case.ref, system, "bereavement", on=date(2026, 9, 10))
    assert _deadlines(app, case.ref)["S2#1"].status == "paused"
    app.cases.resume(case.ref, system, on=date(2026, 10, 10))
    d = _deadlines(app, case.ref)["S2#1"]
    assert d.raw_due_on == date(2027, 5, 2)
    assert d.paused_days == 30
    assert d.due_on == date(2027, 6, 1)
    assert d.status == "open"


def test_withdrawal_cancels_live_deadlines(app: App) -> None:
    system = app.people.ensure_system_user()
    case = app.cases.open_case("sample", system, on=date(2026, 10, 1))
    app.cases.withdraw(case.ref, system, "AW1", on=date(2026, 10, 2))
    assert _deadlines(app, case.ref)["S1#1"].status == "cancelled"
    assert app.sweeper.sweep(as_of=_at("2027-01-01")).total == 0


def test_correction_recomputes_deadlines(app: App) -> None:
    system = app.people.ensure_system_user()
    case = app.cases.open_case("sample", system, on=date(2026, 10, 1))
    app.cases.fire(case.ref, "book_visit", system, on=date(2026, 10, 2))
    assert _deadlines(app, case.ref)["S1#1"].status == "met"
    app.cases.mark_in_error(case.ref, 2, system, "visit was cancelled")
    assert _deadlines(app, case.ref)["S1#1"].status == "open"
    assert app.queries.case(case.ref).state == "enquiry"


def test_recurring_review_restarts_from_the_actual_date(app: App) -> None:
    adm = app.people.add_user("adm@example.test", "ADM", ["agency_decision_maker"])
    coord = app.people.add_user("coord@example.test", "Coordinator", ["panel_coordinator"])
    system = app.people.ensure_system_user()
    case = app.cases.open_case("sample", system, on=date(2025, 1, 6))
    app.cases.fire(case.ref, "book_visit", system, on=date(2025, 1, 7))
    app.cases.fire(case.ref, "apply", system, on=date(2025, 1, 8), facts={"application_on": "2025-01-08"})
    app.cases.fire(case.ref, "book_panel", system, on=date(2025, 5, 1), facts={"report_authorised_on": "2025-04-30"})
    app.cases.fire(
        case.ref,
        "recommend",
        app.people.actor(coord.email),
        on=date(2025, 5, 9),
        facts={"minutes_received_on": "2025-05-09"},
    )
    app.cases.fire(case.ref, "approve", app.people.actor(adm.email), on=date(2025, 5, 15))
    app.cases.fire(case.ref, "review", system, on=date(2026, 4, 15))
    rows = _deadlines(app, case.ref)
    assert rows["S4#1"].due_on == date(2026, 5, 15)
    assert rows["S4#1"].met_on == date(2026, 4, 15)
    assert rows["S4#2"].start_on == date(2026, 4, 15)
    assert rows["S4#2"].due_on == date(2027, 4, 15)
    # S3: 7 working days from the final minutes (Fri 9 May 2025): Mon 19 May, met on the 15th.
    assert rows["S3#1"].due_on == date(2025, 5, 20)


def test_sweep_raises_each_timer_once(app: App) -> None:
    system = app.people.ensure_system_user()
    app.clock.set(_at("2026-10-26"))  # type: ignore[attr-defined]
    case = app.cases.open_case("sample", system, on=date(2026, 10, 26))
    # S1: due Mon 2 Nov (5 WD after Mon 26 Oct); reminder 2 WD before = Thu 29 Oct.
    first = app.sweeper.sweep(as_of=_at("2026-11-02", 23))
    assert first.total == 1
    assert first.raised["reminder"] == 1
    assert app.sweeper.sweep(as_of=_at("2026-11-02", 23)).total == 0
    # The breach timer fires at the end of the due day, London time.
    assert app.sweeper.sweep(as_of=datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC)).total == 0
    assert app.sweeper.sweep(as_of=datetime(2026, 11, 3, 0, 0, tzinfo=UTC)).total == 1
    assert _notices(app, case.ref) == [
        ("reminder_due", "S1", date(2026, 10, 29)),
        ("deadline_breached", "S1", date(2026, 11, 3)),
    ]
    # Overlapping sweepers find nothing left to raise.
    assert app.sweeper.sweep(as_of=_at("2026-11-20")).total == 0


def test_seven_days_of_downtime_raise_everything_once(app: App) -> None:
    system = app.people.ensure_system_user()
    app.clock.set(_at("2026-10-19"))  # type: ignore[attr-defined]
    refs = [app.cases.open_case("sample", system, on=date(2026, 10, 19)).ref for _ in range(5)]
    # Nothing swept from 19 Oct; the service comes back 7 days after the breaches were due.
    result = app.sweeper.sweep(as_of=_at("2026-11-02"))
    assert result.raised == {"reminder": 5, "breach": 5}
    assert app.sweeper.sweep(as_of=_at("2026-11-02")).total == 0
    for ref in refs:
        assert [n[0] for n in _notices(app, ref)] == ["reminder_due", "deadline_breached"]


def test_a_claim_that_dies_returns_after_the_lease(app: App) -> None:
    from storage.sweep import Sweeper

    system = app.people.ensure_system_user()
    app.clock.set(_at("2026-10-19"))  # type: ignore[attr-defined]
    app.cases.open_case("sample", system, on=date(2026, 10, 19))
    now = _at("2026-11-02")
    app.clock.set(now)  # type: ignore[attr-defined]
    crashed = Sweeper(app.engine, app.clock, app.workflows, system.id, lease=timedelta(minutes=5))
    assert len(crashed.claim(now)) == 2  # claimed, then the process "dies" before raising
    other = Sweeper(app.engine, app.clock, app.workflows, system.id)
    assert other.sweep(as_of=now).total == 0
    app.clock.advance(minutes=6)  # type: ignore[attr-defined]
    assert other.sweep(as_of=now + timedelta(minutes=6)).total == 2
    # The crashed sweeper waking up late raises nothing twice.
    result_late = crashed.sweep(as_of=now + timedelta(minutes=6))
    assert result_late.total == 0
    with app.engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(EVENT).where(E.trigger.in_(["reminder_due", "deadline_breached"]))
            ).scalar_one()
            == 2
        )
        assert conn.execute(select(func.count()).select_from(TIMER).where(T.fired_at.is_(None))).scalar_one() == 0


@pytest.mark.parametrize(
    ("application_on", "due", "breach_at_utc"),
    [
        # Clocks go forward at 01:00 UTC on Sun 28 Mar 2027: that local day ends at 23:00 UTC.
        ("2026-07-28", date(2027, 3, 28), datetime(2027, 3, 28, 23, 0, tzinfo=UTC)),
        # Clocks go back at 01:00 UTC on Sun 25 Oct 2026: that local day ends at 00:00 UTC.
        ("2026-02-25", date(2026, 10, 25), datetime(2026, 10, 26, 0, 0, tzinfo=UTC)),
    ],
)
def test_breaches_land_on_the_right_local_date_across_clock_changes(
    app: App, application_on: str, due: date, breach_at_utc: datetime
) -> None:
    system = app.people.ensure_system_user()
    app.clock.set(_at(application_on))  # type: ignore[attr-defined]
    case = app.cases.open_case("sample", system, on=date.fromisoformat(application_on))
    app.cases.fire(case.ref, "book_visit", system)
    app.cases.fire(case.ref, "apply", system, facts={"application_on": application_on})
    assert _deadlines(app, case.ref)["S2#1"].due_on == due
    app.clock.set(breach_at_utc + timedelta(days=1))  # type: ignore[attr-defined]
    app.sweeper.sweep(as_of=breach_at_utc - timedelta(seconds=1))
    assert ("deadline_breached", "S2", due + timedelta(days=1)) not in _notices(app, case.ref)
    app.sweeper.sweep(as_of=breach_at_utc)
    assert ("deadline_breached", "S2", due + timedelta(days=1)) in _notices(app, case.ref)
    # Its 50% reminder fired at local midnight of its own day, whatever the offset.
    reminders = [n for n in _notices(app, case.ref) if n[:2] == ("reminder_due", "S2")]
    assert len(reminders) == 2
