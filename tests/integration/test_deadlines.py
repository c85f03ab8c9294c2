"""Deadlines are rows written with the transition; the sweep raises each timer once.

Runs over a SQLite file and the PostgreSQL server (the ``app`` fixture). People move the
cases (``staff``); carepath's system user only sweeps (``app.timers.sweep(app.system)``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from carepath.config.bootstrap import App
from carepath.engine.bus import MessageBus
from carepath.engine.case import Case, Event
from carepath.engine.deadlines import Deadline, display_status
from carepath.engine.errors import GuardFailed, NotPermitted
from carepath.engine.events import TimerRaised
from carepath.engine.services import SweepResult, TimerService
from carepath.storage.sweep import SqlTimerClaims
from carepath.storage.tables import CASES, EVENTS, OUTBOX, TIMERS
from carepath.storage.uow import SqlUnitOfWork
from carepath.workflows.loader import load_registry
from tests.conftest import FIXTURES
from tests.support import Staff

NOTICES = ("reminder_due", "deadline_breached", "deadline_escalated")


def _deadlines(app: App, staff: Staff, ref: str) -> dict[str, Deadline]:
    _, rows = app.reads.case_deadlines(ref, staff["service_manager"])
    return {f"{d.rule}#{d.cycle}": d for d in rows}


def _events(app: App, staff: Staff, ref: str) -> list[Event]:
    return [entry.event for entry in app.reads.history(ref, staff["service_manager"])[1]]


def _notices(app: App, staff: Staff, ref: str) -> list[tuple[str, str, date]]:
    return [
        (e.trigger, e.payload.get("rule", ""), e.effective_on) for e in _events(app, staff, ref) if e.trigger in NOTICES
    ]


def _open(app: App, staff: Staff, on: date) -> Case:
    """A case of the team, opened by its caseworker on ``on``."""
    return app.cases.open_case("sample", staff["caseworker"], on=on, team_id=staff.team_id)


def _at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _sweep(app: App, as_of: datetime | None = None) -> SweepResult:
    return app.timers.sweep(app.system, as_of=as_of)


def test_deadline_rows_follow_the_transitions(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    case = _open(app, staff, on=date(2026, 10, 1))
    s1 = _deadlines(app, staff, case.ref)["S1#1"]
    assert (s1.start_on, s1.due_on, s1.status) == (date(2026, 10, 1), date(2026, 10, 8), "open")

    app.cases.fire(case.ref, "book_visit", cw, on=date(2026, 10, 6))
    app.cases.fire(case.ref, "apply", cw, on=date(2026, 10, 7), facts={"application_on": "2026-10-05"})
    rows = _deadlines(app, staff, case.ref)
    assert rows["S1#1"].status == "met"
    assert display_status(rows["S1#1"], date(2026, 11, 2)) == "met on time"
    # The fact's date, not the event's, starts the 8-month clock; month arithmetic, no rolling.
    assert (rows["S2#1"].start_on, rows["S2#1"].due_on) == (date(2026, 10, 5), date(2027, 6, 5))


def test_a_refused_move_writes_no_deadline(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    case = _open(app, staff, on=date(2026, 10, 1))
    app.cases.fire(case.ref, "book_visit", cw, on=date(2026, 10, 6))
    with pytest.raises(GuardFailed, match="application_on"):
        app.cases.fire(case.ref, "apply", cw, on=date(2026, 10, 7))
    with pytest.raises(NotPermitted):
        app.cases.fire(case.ref, "apply", staff.system, on=date(2026, 10, 7), facts={"application_on": "2026-10-05"})
    assert "S2#1" not in _deadlines(app, staff, case.ref)


def test_hold_pauses_and_keeps_raw_and_adjusted_due_dates(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    case = _open(app, staff, on=date(2026, 9, 1))
    app.cases.fire(case.ref, "book_visit", cw, on=date(2026, 9, 2))
    app.cases.fire(case.ref, "apply", cw, on=date(2026, 9, 2), facts={"application_on": "2026-09-02"})
    app.cases.hold(case.ref, cw, "bereavement", on=date(2026, 9, 10))
    assert _deadlines(app, staff, case.ref)["S2#1"].status == "paused"
    app.cases.resume(case.ref, cw, on=date(2026, 10, 10))
    d = _deadlines(app, staff, case.ref)["S2#1"]
    assert d.raw_due_on == date(2027, 5, 2)
    assert d.paused_days == 30
    assert d.due_on == date(2027, 6, 1)
    assert d.status == "open"


def test_withdrawal_cancels_live_deadlines(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    case = _open(app, staff, on=date(2026, 10, 1))
    app.cases.withdraw(case.ref, cw, "AW1", on=date(2026, 10, 2))
    assert _deadlines(app, staff, case.ref)["S1#1"].status == "cancelled"
    assert _sweep(app, as_of=_at("2027-01-01")).total == 0


def test_correction_recomputes_deadlines(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    case = _open(app, staff, on=date(2026, 10, 1))
    app.cases.fire(case.ref, "book_visit", cw, on=date(2026, 10, 2))
    assert _deadlines(app, staff, case.ref)["S1#1"].status == "met"
    app.cases.mark_in_error(case.ref, 2, staff["team_manager"], "visit was cancelled")
    assert _deadlines(app, staff, case.ref)["S1#1"].status == "open"
    assert app.reads.case(case.ref, cw).state == "enquiry"


def test_recurring_review_restarts_from_the_actual_date(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    case = _open(app, staff, on=date(2025, 1, 6))
    app.cases.fire(case.ref, "book_visit", cw, on=date(2025, 1, 7))
    app.cases.fire(case.ref, "apply", cw, on=date(2025, 1, 8), facts={"application_on": "2025-01-08"})
    app.cases.fire(case.ref, "book_panel", cw, on=date(2025, 5, 1), facts={"report_authorised_on": "2025-04-30"})
    app.cases.fire(
        case.ref,
        "recommend",
        staff["panel_coordinator"],
        on=date(2025, 5, 9),
        facts={"minutes_received_on": "2025-05-09"},
    )
    app.cases.fire(case.ref, "approve", staff["agency_decision_maker"], on=date(2025, 5, 15))
    app.cases.fire(case.ref, "review", cw, on=date(2026, 4, 15))
    rows = _deadlines(app, staff, case.ref)
    assert rows["S4#1"].due_on == date(2026, 5, 15)
    assert rows["S4#1"].met_on == date(2026, 4, 15)
    assert rows["S4#2"].start_on == date(2026, 4, 15)
    assert rows["S4#2"].due_on == date(2027, 4, 15)
    # S3: 7 working days from the final minutes (Fri 9 May 2025): Mon 19 May, met on the 15th.
    assert rows["S3#1"].due_on == date(2025, 5, 20)


def test_sweep_raises_each_timer_once(app: App, staff: Staff) -> None:
    app.clock.set(_at("2026-10-26"))  # type: ignore[attr-defined]
    case = _open(app, staff, on=date(2026, 10, 26))
    # S1: due Mon 2 Nov (5 WD after Mon 26 Oct); reminder 2 WD before = Thu 29 Oct.
    first = _sweep(app, as_of=_at("2026-11-02", 23))
    assert first.total == 1
    assert first.raised["reminder"] == 1
    assert _sweep(app, as_of=_at("2026-11-02", 23)).total == 0
    # The breach timer fires at the end of the due day, London time.
    assert _sweep(app, as_of=datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC)).total == 0
    assert _sweep(app, as_of=datetime(2026, 11, 3, 0, 0, tzinfo=UTC)).total == 1
    assert _notices(app, staff, case.ref) == [
        ("reminder_due", "S1", date(2026, 10, 29)),
        ("deadline_breached", "S1", date(2026, 11, 3)),
    ]
    # Overlapping sweepers find nothing left to raise.
    assert _sweep(app, as_of=_at("2026-11-20")).total == 0


def test_only_the_system_user_sweeps(app: App, staff: Staff) -> None:
    app.clock.set(_at("2026-10-19"))  # type: ignore[attr-defined]
    _open(app, staff, on=date(2026, 10, 19))
    for person in (staff.admin, staff["service_manager"], staff["caseworker"]):
        with pytest.raises(NotPermitted, match=rf"^{person.email} may not timers\.raise: only the system user runs it"):
            app.timers.sweep(person, as_of=_at("2026-11-02"))
    assert _sweep(app, as_of=_at("2026-11-02")).total == 2  # nothing was claimed by the refused sweeps


def test_seven_days_of_downtime_raise_everything_once(app: App, staff: Staff) -> None:
    app.clock.set(_at("2026-10-19"))  # type: ignore[attr-defined]
    refs = [_open(app, staff, on=date(2026, 10, 19)).ref for _ in range(5)]
    # Nothing swept from 19 Oct; the service comes back 7 days after the breaches were due.
    result = _sweep(app, as_of=_at("2026-11-02"))
    assert result.raised == {"reminder": 5, "breach": 5}
    assert _sweep(app, as_of=_at("2026-11-02")).total == 0
    for ref in refs:
        assert [n[0] for n in _notices(app, staff, ref)] == ["reminder_due", "deadline_breached"]


def _sweeper(app: App, lease: timedelta = timedelta(minutes=5), uow: Any = None) -> TimerService:
    """Another sweeper process's service: its own token, on the same database."""
    claims = SqlTimerClaims(app.engine, app.clock, lease)
    return TimerService(uow or app.uow, claims, app.workflows, app.clock, cases=app.cases)


def test_a_claim_that_dies_returns_after_the_lease(app: App, staff: Staff) -> None:
    app.clock.set(_at("2026-10-19"))  # type: ignore[attr-defined]
    _open(app, staff, on=date(2026, 10, 19))
    now = _at("2026-11-02")
    app.clock.set(now)  # type: ignore[attr-defined]
    crashed = _sweeper(app)
    claimed = crashed.claims.claim(crashed.token, now)
    assert len(claimed) == 2  # claimed, then the process "dies" before raising
    other = _sweeper(app)
    assert other.sweep(app.system, as_of=now).total == 0
    app.clock.advance(minutes=6)  # type: ignore[attr-defined]
    assert other.sweep(app.system, as_of=now + timedelta(minutes=6)).total == 2
    # The crashed sweeper waking up late raises nothing twice: neither what it had claimed...
    late = SweepResult()
    crashed.raise_claimed(app.system, claimed, late)
    assert (late.total, late.skipped) == (0, 0)
    # ...nor anything it could claim now.
    assert crashed.sweep(app.system, as_of=now + timedelta(minutes=6)).total == 0
    with app.engine.connect() as conn:
        raised = select(func.count()).select_from(EVENTS).where(EVENTS.c.trigger.in_(NOTICES))
        assert conn.execute(raised).scalar_one() == 2
        pending = select(func.count()).select_from(TIMERS).where(TIMERS.c.fired_at.is_(None))
        assert conn.execute(pending).scalar_one() == 0


def test_the_sweep_numbers_its_notices_in_the_case_history(app: App, staff: Staff) -> None:
    """Notices are case events written by the timer service's unit of work: they take the next
    numbers, move the case's ``last_seq`` on, and the people's next move follows them."""
    cw = staff["caseworker"]
    app.clock.set(_at("2026-10-19"))  # type: ignore[attr-defined]
    case = _open(app, staff, on=date(2026, 10, 19))
    quiet = _open(app, staff, on=date(2026, 10, 19))
    app.clock.set(_at("2026-11-02"))  # type: ignore[attr-defined]
    app.cases.fire(quiet.ref, "book_visit", cw, on=date(2026, 10, 20))  # S1 met: nothing to raise
    version = app.reads.case(case.ref, cw).version

    assert _sweep(app).raised == {"reminder": 1, "breach": 1}

    def numbered(ref: str) -> tuple[list[int], int]:
        return [e.seq for e in _events(app, staff, ref)], app.reads.case(ref, cw).last_seq

    assert numbered(case.ref) == ([1, 2, 3], 3)
    assert numbered(quiet.ref) == ([1, 2], 2)
    notices = _events(app, staff, case.ref)[1:]
    assert [(e.trigger, e.actor_id, e.from_state, e.to_state) for e in notices] == [
        ("reminder_due", staff.system.id, "enquiry", "enquiry"),
        ("deadline_breached", staff.system.id, "enquiry", "enquiry"),
    ]
    assert [e.payload["rule"] for e in notices] == ["S1", "S1"]
    assert [e.recorded_at for e in notices] == [app.clock.now()] * 2
    # a notice is not a change of the case: its version (what people's edits race on) is unchanged
    after = app.reads.case(case.ref, cw)
    assert (after.version, after.state) == (version, "enquiry")

    # the caseworker's next move follows the notices, and so does the next sweep's
    app.cases.fire(case.ref, "book_visit", cw, expected_version=version)
    assert numbered(case.ref) == ([1, 2, 3, 4], 4)
    assert _sweep(app, as_of=_at("2026-11-20")).total == 0
    app.cases.mark_in_error(case.ref, 4, staff["team_manager"], "no visit yet")
    assert numbered(case.ref) == ([1, 2, 3, 4, 5], 5)
    with app.engine.connect() as conn:
        rows = conn.execute(select(CASES.c.id, CASES.c.last_seq)).all()
        top = {
            r[0]: r[1]
            for r in conn.execute(select(EVENTS.c.case_id, func.max(EVENTS.c.seq)).group_by(EVENTS.c.case_id))
        }
    assert {r.id: r.last_seq for r in rows} == top


def test_a_sweep_whose_handler_fails_writes_no_notice_and_raises_later(app: App, staff: Staff) -> None:
    """The notices, the fired marks and the emails of a batch commit together or not at all."""
    app.clock.set(_at("2026-10-19"))  # type: ignore[attr-defined]
    case = _open(app, staff, on=date(2026, 10, 19))
    now = _at("2026-11-02")
    app.clock.set(now)  # type: ignore[attr-defined]
    heard: list[TimerRaised] = []

    def boom(event: TimerRaised, tx: Any) -> None:
        heard.append(event)
        raise RuntimeError("the mail queue is full")

    handlers = {**app.bus.handlers, TimerRaised: (*app.bus.handlers[TimerRaised], boom)}
    failing = _sweeper(app, uow=SqlUnitOfWork(app.engine, app.clock, MessageBus(handlers)))
    with pytest.raises(RuntimeError, match="the mail queue is full"):
        failing.sweep(app.system)
    assert len(heard) == 1  # the first raised timer's handler failed the whole batch
    assert _notices(app, staff, case.ref) == []
    assert app.reads.case(case.ref, staff["caseworker"]).last_seq == 1
    with app.engine.connect() as conn:
        fired = select(func.count()).select_from(TIMERS).where(TIMERS.c.fired_at.is_not(None))
        assert conn.execute(fired).scalar_one() == 0
        # the owner's email, queued by the real handler before boom, went with the rest
        assert conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one() == 0

    # its claims are leased: another sweeper takes them once the lease is over, each once
    assert _sweep(app).total == 0
    app.clock.advance(minutes=6)  # type: ignore[attr-defined]
    assert _sweep(app).raised == {"reminder": 1, "breach": 1}
    assert [n[0] for n in _notices(app, staff, case.ref)] == ["reminder_due", "deadline_breached"]
    assert [e.seq for e in _events(app, staff, case.ref)] == [1, 2, 3]
    with app.engine.connect() as conn:
        queued = conn.execute(select(OUTBOX.c.kind, OUTBOX.c.recipients).order_by(OUTBOX.c.id)).all()
    assert [(r.kind, list(r.recipients)) for r in queued] == [
        ("reminder", [staff["caseworker"].email]),
        ("breach", [staff["caseworker"].email]),
    ]


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
    app: App, staff: Staff, application_on: str, due: date, breach_at_utc: datetime
) -> None:
    cw = staff["caseworker"]
    app.clock.set(_at(application_on))  # type: ignore[attr-defined]
    case = _open(app, staff, on=date.fromisoformat(application_on))
    app.cases.fire(case.ref, "book_visit", cw)
    app.cases.fire(case.ref, "apply", cw, facts={"application_on": application_on})
    assert _deadlines(app, staff, case.ref)["S2#1"].due_on == due
    app.clock.set(breach_at_utc + timedelta(days=1))  # type: ignore[attr-defined]
    _sweep(app, as_of=breach_at_utc - timedelta(seconds=1))
    assert ("deadline_breached", "S2", due + timedelta(days=1)) not in _notices(app, staff, case.ref)
    _sweep(app, as_of=breach_at_utc)
    assert ("deadline_breached", "S2", due + timedelta(days=1)) in _notices(app, staff, case.ref)
    # Its 50% reminder fired at local midnight of its own day, whatever the offset.
    reminders = [n for n in _notices(app, staff, case.ref) if n[:2] == ("reminder_due", "S2")]
    assert len(reminders) == 2


# -- breaches stay on the record (issue 10, point 7) --------------------------------------------------


def test_a_breach_stays_recorded_after_the_case_closes(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    app.clock.set(_at("2026-10-26"))  # type: ignore[attr-defined]
    late = _open(app, staff, on=date(2026, 10, 26))  # S1 due Mon 2 Nov
    early = _open(app, staff, on=date(2026, 10, 26))
    met_late = _open(app, staff, on=date(2026, 10, 26))
    app.clock.set(_at("2026-11-09"))  # type: ignore[attr-defined]
    assert _sweep(app).raised["breach"] == 3
    app.cases.withdraw(early.ref, cw, "AW1", on=date(2026, 11, 2))  # withdrawn on the due date: never missed
    app.cases.withdraw(late.ref, cw, "AW1", on=date(2026, 11, 4))
    app.cases.fire(met_late.ref, "book_visit", cw, on=date(2026, 11, 9))

    gone = _deadlines(app, staff, late.ref)["S1#1"]
    assert (gone.status, gone.met_on, gone.breached_on) == ("breached", None, date(2026, 11, 3))
    assert _deadlines(app, staff, early.ref)["S1#1"].status == "cancelled"
    kept = _deadlines(app, staff, met_late.ref)["S1#1"]
    assert (kept.status, kept.met_on, kept.breached_on) == ("met", date(2026, 11, 9), date(2026, 11, 3))
    assert display_status(kept, date(2026, 11, 9)) == "met late"
    # A recompute from the history (a calendar change) gives the same record.
    for ref in (late.ref, met_late.ref):
        before = _deadlines(app, staff, ref)
        app.cases.recompute_deadlines(ref, app.system)
        assert _deadlines(app, staff, ref) == before
    assert app.summary.breach_counts(date(2026, 11, 9)) == {"open": 0, "met_late": 1, "breached": 1}


def test_migration_0004_backfills_breaches_the_rows_prove(db_url: str) -> None:
    """From 0003 to 0004: met late gets its breach day; cancelled with a raised breach timer becomes breached.

    Down again, breached rows are cancelled as 0003 knew them.
    """
    from alembic import command
    from sqlalchemy import insert, text

    from carepath.storage.db import make_engine
    from carepath.storage.migrate import alembic_config, upgrade
    from carepath.storage.tables import DEADLINES

    DUE = date(2026, 11, 2)

    engine = make_engine(db_url)
    try:
        cfg = alembic_config(str(engine.url))
        with engine.begin() as conn:  # the fixture's database is at head: back to 0003 first
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        at = datetime(2026, 11, 2, tzinfo=UTC)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                'INSERT INTO "case" (ref, workflow_id, workflow_version, state, status, facts, opened_on, '
                "last_event_on, last_seq, version, updated_at) VALUES ('SM-2026-0001', 'sample', 1, 'closed', "
                "'closed', '{}', '2026-10-01', '2026-11-20', 1, 1, '2026-11-20 00:00:00')"
            )
            case_id = conn.exec_driver_sql('SELECT id FROM "case"').scalar_one()
            rows = [
                ("late", "met", date(2026, 11, 9)),
                ("ontime", "met", date(2026, 11, 2)),
                ("missed", "cancelled", None),
                ("unknown", "cancelled", None),
                ("live", "open", None),
            ]
            for rule, status, met_on in rows:
                conn.execute(
                    text(
                        "INSERT INTO deadline (case_id, rule, cycle, start_on, raw_due_on, due_on, status, met_on,"
                        " paused_days, paused_working_days) VALUES (:c, :r, 1, :start, :due, :due, :s, :m, 0, 0)"
                    ),
                    {"c": case_id, "r": rule, "s": status, "m": met_on, "start": date(2026, 10, 26), "due": DUE},
                )
            ids = {r.rule: r.id for r in conn.execute(select(DEADLINES.c.rule, DEADLINES.c.id))}
            conn.execute(
                insert(TIMERS),
                [
                    {
                        "deadline_id": ids["missed"],
                        "case_id": case_id,
                        "key": "missed:1:breach:0:2026-11-02",
                        "kind": "breach",
                        "tier": 0,
                        "fire_on": date(2026, 11, 2),
                        "fire_at": at,
                        "fired_at": at,
                        "outcome": "raised",
                    }
                ],
            )
        upgrade(engine)
        with engine.connect() as conn:
            got = {
                r.rule: (r.status, r.breached_on)
                for r in conn.execute(select(DEADLINES.c.rule, DEADLINES.c.status, DEADLINES.c.breached_on))
            }
        assert got == {
            "late": ("met", date(2026, 11, 3)),
            "ontime": ("met", None),
            "missed": ("breached", date(2026, 11, 3)),
            "unknown": ("cancelled", None),
            "live": ("open", None),
        }
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        with engine.connect() as conn:
            statuses = dict(conn.exec_driver_sql("SELECT rule, status FROM deadline").all())
        assert statuses["missed"] == "cancelled"
    finally:
        engine.dispose()


# -- moves a rule makes itself (``fires:``, issue 10 point 6) -------------------------------------------

NOTICE_DUE = date(2026, 11, 2)  # 28 days after the notice received on Mon 5 Oct 2026
PASSED = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)  # the end of the due day in London (GMT)


@pytest.fixture
def notice_app(db_url: str, clock: Any) -> Any:
    """The notice test journey (tests/fixtures/moves) on each database, with its people."""
    from tests.conftest import make_app
    from tests.support import seed_staff

    a = make_app(db_url, clock, load_registry(FIXTURES / "moves"))
    yield a, seed_staff(a)
    a.dispose()


def _with_notice(app: App, staff: Staff) -> Case:
    app.clock.set(_at("2026-10-05"))  # type: ignore[attr-defined]
    cw = staff["caseworker"]
    case = app.cases.open_case("notice", cw, on=date(2026, 10, 1), team_id=staff.team_id)
    return app.cases.fire(case.ref, "receive_notice", cw, facts={"notice_received_on": "2026-10-05"})


def _moves(app: App, staff: Staff, ref: str) -> list[Event]:
    return [e for e in _events(app, staff, ref) if e.trigger == "end_on_notice"]


def test_a_rule_moves_the_case_itself_once_as_the_system(notice_app: Any) -> None:
    app, staff = notice_app
    case = _with_notice(app, staff)
    app.clock.set(PASSED)
    result = _sweep(app)
    assert (result.moved, result.total) == (1, 0)
    now = app.reads.case(case.ref, staff["service_manager"])
    assert (now.state, now.status, now.exit_reason) == ("ended", "closed", "RESIGNED")
    [moved] = _moves(app, staff, case.ref)
    assert (moved.actor_id, moved.effective_on, moved.recorded_at) == (staff.system.id, NOTICE_DUE, PASSED)
    assert moved.note is not None
    assert moved.note.startswith("N1 (FSR 28(13)): Approval ends after written notice")
    assert (moved.payload["rule"], moved.payload["source"], moved.payload["reason"]) == ("N1", "FSR 28(13)", "RESIGNED")
    n1 = _deadlines(app, staff, case.ref)["N1#1"]
    assert (n1.status, n1.met_on, n1.breached_on) == ("met", NOTICE_DUE, None)
    with app.engine.connect() as conn:
        queued = [r.kind for r in conn.execute(select(OUTBOX.c.kind))]
    assert "resigned" in queued  # the state's notice, as when a person makes the move
    # The sweep reruns (and its escalation's time comes): nothing more.
    app.clock.set(_at("2026-12-01"))  # type: ignore[attr-defined]
    assert (_sweep(app).moved, _sweep(app).total) == (0, 0)
    assert len(_moves(app, staff, case.ref)) == 1


def test_two_sweeps_racing_move_the_case_once(notice_app: Any) -> None:
    import threading

    app, staff = notice_app
    refs = [_with_notice(app, staff).ref for _ in range(3)]
    app.clock.set(PASSED)
    sweepers = [_sweeper(app), _sweeper(app)]
    start = threading.Barrier(2)
    results: list[SweepResult] = []
    errors: list[BaseException] = []

    def run(s: TimerService) -> None:
        start.wait()
        try:
            results.append(s.sweep(app.system))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in sweepers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r.moved for r in results) == 3
    assert [len(_moves(app, staff, ref)) for ref in refs] == [1, 1, 1]

    # A sweeper whose claim lapsed and was taken over moves nothing when it wakes up.
    late_ref = _with_notice(app, staff).ref
    now = PASSED.replace(day=4)
    app.clock.set(now)  # type: ignore[attr-defined]
    slow = _sweeper(app)
    claimed = slow.claims.claim(slow.token, now)
    app.clock.advance(minutes=6)  # type: ignore[attr-defined]
    assert _sweeper(app).sweep(app.system).moved == 1
    late = SweepResult()
    slow.raise_claimed(app.system, claimed, late)
    assert (late.moved, late.total) == (0, 0)
    assert len(_moves(app, staff, late_ref)) == 1


def test_a_case_already_moved_on_is_not_moved(notice_app: Any) -> None:
    app, staff = notice_app
    cw = staff["caseworker"]
    withdrawn = _with_notice(app, staff)
    held = _with_notice(app, staff)
    app.clock.set(_at("2026-10-20"))  # type: ignore[attr-defined]
    app.cases.fire(withdrawn.ref, "withdraw_notice", cw)
    app.cases.hold(held.ref, cw, "illness")
    app.clock.set(PASSED)
    result = _sweep(app)
    assert result.moved == 0
    assert app.reads.case(withdrawn.ref, cw).state == "approved"
    assert app.reads.case(held.ref, cw).state == "on_hold"
    assert _moves(app, staff, withdrawn.ref) == [] == _moves(app, staff, held.ref)
    [breach] = [e for e in _events(app, staff, held.ref) if e.trigger == "deadline_breached"]
    assert (breach.payload["rule"], breach.payload["not_moved"]) == ("N1", "end_on_notice: the case is on hold")
