"""A calendar change recomputes the cases over its day in bounded batches, resumably.

The override commits on its own with a ``calendar_recompute`` record; each batch of cases is
recomputed in its own transaction, which moves the record on. A run that stops part-way is
continued (by the worker or ``carepath calendar recompute``) from the last case done, and ends
with the same deadlines as recomputing every case in one go. Runs over a SQLite file and the
PostgreSQL server (the ``app`` fixture).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from carepath.config.bootstrap import App
from carepath.engine.bus import MessageBus
from carepath.engine.calendar import WorkingCalendar
from carepath.engine.deadlines import Deadline
from carepath.engine.errors import NotPermitted
from carepath.engine.events import CalendarChanged, DomainEvent
from carepath.engine.ports import CalendarRecompute, Transaction
from carepath.engine.services import CalendarService, CaseService
from carepath.entrypoints import common
from carepath.entrypoints.cli import app as cli
from carepath.storage.tables import RECOMPUTES
from carepath.storage.uow import SqlUnitOfWork
from tests.support import ADMIN, Staff

OPENED = date(2026, 11, 2)  # a Monday; S1 (5 working days) is due on the 9th
CLOSED = date(2026, 11, 4)  # a closure moves it to the 10th
CASES = 7
BATCH = 3


class Boom(RuntimeError):
    """The crash the tests inject."""


@pytest.fixture
def refs(app: App, staff: Staff) -> list[str]:
    """Seven cases of the team opened on the 2nd, by reference; one more whose deadline ended before the day."""
    opened = [
        app.cases.open_case("sample", staff["caseworker"], on=OPENED, team_id=staff.team_id).ref for _ in range(CASES)
    ]
    app.cases.open_case("sample", staff["caseworker"], on=date(2026, 10, 1), team_id=staff.team_id)
    return sorted(opened)


def _service(app: App, cases: CaseService | None = None, batch: int = BATCH) -> CalendarService:
    return CalendarService(app.uow, app.clock, app.calendar, cases or app.cases, batch=batch)


class CountingCases(CaseService):
    """The app's case service, counting the cases recomputed in each transaction, crashing on cue."""

    def __init__(self, app: App, crash_at: int | None = None) -> None:
        super().__init__(app.uow, app.workflows, app.clock, app.calendar)
        self.per_tx: Counter[int] = Counter()
        self.calls = 0
        self.crash_at = crash_at

    def recompute_in(self, tx: Transaction, ref: str, calendar: WorkingCalendar) -> object:  # type: ignore[override]
        self.calls += 1
        if self.calls == self.crash_at:
            raise Boom(f"crash while recomputing {ref}")
        self.per_tx[id(tx)] += 1
        return super().recompute_in(tx, ref, calendar)


def _s1_due(app: App, staff: Staff, refs: list[str]) -> list[date]:
    return [_book(app, staff, ref)["S1#1"].due_on for ref in refs]


def _book(app: App, staff: Staff, ref: str) -> dict[str, Deadline]:
    _, rows = app.reads.case_deadlines(ref, staff["service_manager"])
    return {f"{d.rule}#{d.cycle}": d for d in rows}


def _records(app: App) -> list[CalendarRecompute]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(RECOMPUTES).order_by(RECOMPUTES.c.id)).all()
    return [CalendarRecompute(r.id, r.day, r.total, r.done, r.last_ref, r.started_at, r.finished_at) for r in rows]


def test_a_closure_recomputes_in_bounded_batches_with_progress(app: App, staff: Staff, refs: list[str]) -> None:
    counting = CountingCases(app)
    seen: list[CalendarRecompute] = []
    change = _service(app, counting).add_override(CLOSED, "Office move", staff.admin, progress=seen.append)
    assert change.recomputed == tuple(refs)
    assert [(j.done, j.total, j.last_ref) for j in seen] == [(3, 7, refs[2]), (6, 7, refs[5]), (7, 7, refs[6])]
    assert [j.finished_at is not None for j in seen] == [False, False, True]
    assert sorted(counting.per_tx.values()) == [1, 3, 3]  # never more than a batch in one transaction
    assert _s1_due(app, staff, refs) == [date(2026, 11, 10)] * CASES
    (record,) = _records(app)
    assert (record.day, record.total, record.done, record.last_ref) == (CLOSED, 7, 7, refs[-1])
    assert record.finished_at is not None
    assert not app.calendar.is_working_day(CLOSED)

    seen.clear()
    removed = _service(app, CountingCases(app)).remove_override(CLOSED, staff.admin, progress=seen.append)
    assert removed.recomputed == tuple(refs)
    assert [j.done for j in seen] == [3, 6, 7]
    assert _s1_due(app, staff, refs) == [date(2026, 11, 9)] * CASES
    assert app.calendar.is_working_day(CLOSED)
    assert all(r.finished_at is not None for r in _records(app))


def test_a_batch_size_that_divides_the_cases_ends_with_an_empty_batch(app: App, staff: Staff, refs: list[str]) -> None:
    seen: list[CalendarRecompute] = []
    _service(app, batch=7).add_override(CLOSED, "Office move", staff.admin, progress=seen.append)
    assert [(j.done, j.finished_at is not None) for j in seen] == [(7, False), (7, True)]


def test_a_crashed_recompute_resumes_and_matches_one_shot(app: App, staff: Staff, refs: list[str]) -> None:
    crashing = CountingCases(app, crash_at=5)  # in the second batch
    with pytest.raises(Boom):
        _service(app, crashing).add_override(CLOSED, "Office move", staff.admin)
    # The override committed; the first batch did too; the second rolled back.
    assert [o.day for o in app.reads.overrides(staff.admin)] == [CLOSED]
    assert not app.calendar.is_working_day(CLOSED)
    (record,) = _records(app)
    assert (record.done, record.last_ref, record.finished_at) == (3, refs[2], None)
    assert _s1_due(app, staff, refs) == [date(2026, 11, 10)] * 3 + [date(2026, 11, 9)] * 4

    # Only carepath itself resumes it (the administrator's part was the change).
    with pytest.raises(NotPermitted, match=r"cases\.recompute"):
        _service(app).recompute_pending(staff.admin)
    counting = CountingCases(app)
    seen: list[CalendarRecompute] = []
    (finished,) = _service(app, counting).recompute_pending(staff.system, progress=seen.append)
    assert (finished.done, finished.total, finished.last_ref) == (7, 7, refs[-1])
    assert finished.finished_at is not None
    assert [j.done for j in seen] == [6, 7]
    assert counting.calls == 4  # only the cases left
    assert _service(app).recompute_pending(staff.system) == []

    resumed = {ref: _book(app, staff, ref) for ref in refs}
    # One shot, as before batches: every case in one transaction.
    with app.uow.transaction() as tx:
        for ref in refs:
            app.cases.recompute_in(tx, ref, app.calendar)
    assert {ref: _book(app, staff, ref) for ref in refs} == resumed
    assert _s1_due(app, staff, refs) == [date(2026, 11, 10)] * CASES


def test_a_change_that_rolls_back_leaves_the_shared_calendar_alone(app: App, staff: Staff, refs: list[str]) -> None:
    def fail(event: DomainEvent, tx: object) -> None:
        raise Boom("handler failed")

    assert app.calendar.is_working_day(CLOSED)
    bus = MessageBus({**app.bus.handlers, CalendarChanged: (fail,)})
    failing = CalendarService(SqlUnitOfWork(app.engine, app.clock, bus), app.clock, app.calendar, app.cases)
    with pytest.raises(Boom):
        failing.add_override(CLOSED, "Office move", staff.admin)
    assert app.calendar.is_working_day(CLOSED)
    assert [o.day for o in app.reads.overrides(staff.admin)] == []
    assert _records(app) == []
    assert _s1_due(app, staff, refs) == [date(2026, 11, 9)] * CASES


def test_a_deferred_change_is_left_for_the_worker(app: App, staff: Staff, refs: list[str]) -> None:
    change = _service(app).add_override(CLOSED, "Office move", staff.admin, recompute=False)
    assert change.recomputed == ()
    assert change.recompute is not None
    assert (change.recompute.total, change.recompute.done) == (7, 0)
    assert not app.calendar.is_working_day(CLOSED)
    assert _s1_due(app, staff, refs) == [date(2026, 11, 9)] * CASES
    (finished,) = _service(app).recompute_pending(staff.system)
    assert finished.done == 7
    assert _s1_due(app, staff, refs) == [date(2026, 11, 10)] * CASES


def test_a_day_with_no_case_over_it_is_finished_at_once(app: App, staff: Staff, refs: list[str]) -> None:
    change = _service(app).add_override(date(2027, 8, 4), "Away day", staff.admin)
    assert change.recomputed == ()
    assert change.recompute is not None
    assert change.recompute.finished_at is not None
    assert _service(app).recompute_pending(staff.system) == []


@pytest.fixture
def run(app: App, monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[str, str]]:
    """Invoke the CLI on ``app`` (its calendar service batching by three); (stdout, stderr)."""
    runner = CliRunner()
    monkeypatch.setattr(common, "_APP", app)
    monkeypatch.setitem(vars(app), "calendar_changes", _service(app))

    def invoke(*args: str) -> tuple[str, str]:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, (args, result.output)
        return result.stdout, result.stderr

    return invoke


def test_the_cli_shows_progress_and_resumes(
    app: App, staff: Staff, refs: list[str], run: Callable[..., tuple[str, str]]
) -> None:
    out, err = run("calendar", "override", "add", "2026-11-04", "--reason", "Office move", "--by", ADMIN)
    assert err.splitlines() == [
        "recomputed 3 of 7 case(s)...",
        "recomputed 6 of 7 case(s)...",
        "recomputed 7 of 7 case(s)...",
    ]
    assert "recomputed deadlines of 7 case(s)" in out
    out, err = run("calendar", "override", "remove", "2026-11-04", "--defer", "--by", ADMIN)
    assert "7 case(s) left to recompute" in out
    assert err == ""
    out, err = run("calendar", "recompute")
    assert err.splitlines()[-1] == "recomputed 7 of 7 case(s)..."
    assert out.strip() == "2026-11-04: recomputed 7 case(s) in all"
    assert run("calendar", "recompute")[0].strip() == "no calendar recompute pending"
    assert _s1_due(app, staff, refs) == [date(2026, 11, 9)] * CASES


def test_the_worker_tick_finishes_a_deferred_recompute(app: App, staff: Staff, refs: list[str]) -> None:
    from carepath.entrypoints.cli_worker import _calendar

    _service(app).add_override(CLOSED, "Office move", staff.admin, recompute=False)
    assert _calendar(app) == f"recomputed {CASES} case(s) over {CLOSED}"
    assert _s1_due(app, staff, refs) == [date(2026, 11, 10)] * CASES
    assert _calendar(app) is None


def _rows(app: App, ref: str) -> tuple[dict[str, tuple[object, ...]], set[tuple[object, ...]]]:
    """The case's deadline rows (every column, by rule and cycle) and its pending timers (with their ids)."""
    from carepath.storage.tables import CASES, DEADLINES, TIMERS

    with app.engine.connect() as conn:
        case_id = conn.execute(select(CASES.c.id).where(CASES.c.ref == ref)).scalar_one()
        deadlines = {
            f"{r.rule}#{r.cycle}": tuple(r)
            for r in conn.execute(select(DEADLINES).where(DEADLINES.c.case_id == case_id))
        }
        timers = {
            (r.deadline_id, r.key, r.fire_on, r.id)
            for r in conn.execute(select(TIMERS).where(TIMERS.c.case_id == case_id, TIMERS.c.fired_at.is_(None)))
        }
    return deadlines, timers


def test_a_recompute_rewrites_only_the_deadlines_the_day_moves(app: App, staff: Staff, refs: list[str]) -> None:
    # S1 (5 working days from the 2nd, met the same day) moves with the closure; S2 (8 calendar months
    # from the application on the 2nd, still open) does not.
    cw = staff["caseworker"]
    ref = app.cases.open_case("sample", cw, on=OPENED, team_id=staff.team_id).ref
    app.cases.fire(ref, "book_visit", cw, on=OPENED)
    app.cases.fire(ref, "apply", cw, on=OPENED, facts={"application_on": "2026-11-02"})
    before, timers_before = _rows(app, ref)
    assert set(before) == {"S1#1", "S2#1"}
    change = _service(app).add_override(CLOSED, "Office move", staff.admin)
    assert ref in change.recomputed
    after, timers_after = _rows(app, ref)
    assert after["S1#1"] != before["S1#1"]  # due on the 10th now: rewritten
    assert after["S2#1"] == before["S2#1"]  # not written at all
    s2 = before["S2#1"][0]
    assert {t for t in timers_after if t[0] == s2} == {t for t in timers_before if t[0] == s2}  # the same rows, ids too
    _service(app).remove_override(CLOSED, staff.admin)
    back, timers_back = _rows(app, ref)
    assert back == before  # and back, row for row
    assert {t[:3] for t in timers_back} == {t[:3] for t in timers_before}
