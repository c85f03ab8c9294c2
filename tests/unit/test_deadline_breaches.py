"""Breaches stay on the record (issue 10, point 7): the fold decides from the dates alone.

A deadline ended after its due date (met, cancelled by an anchor, or by the case closing) keeps
the day it was breached, the first day after its due date; met late it is ``met`` with its
``met_on``; ended unmet it is ``breached``. Only one ended on or before its due date is
``cancelled``. The sample journey: S1 is 5 working days from the enquiry, S3 7 working days
from the final minutes, S4 a 12-month review that recurs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from carepath.engine.calendar import WorkingCalendar, parse_limit
from carepath.engine.case import Event
from carepath.engine.deadlines import DeadlineBook, breach_day, display_status, lateness, replay_deadlines
from carepath.engine.definition import ON_HOLD, WorkflowDef
from carepath.workflows.loader import parse_workflow
from tests.conftest import FIXTURES

CAL = WorkingCalendar("ENG")


@pytest.fixture(scope="module")
def sample() -> WorkflowDef:
    return parse_workflow((FIXTURES / "sample.v1.yaml").read_text(encoding="utf-8"), "sample.v1.yaml")


def _events(*moves: tuple[str, str | None, str, str, dict[str, Any]]) -> list[Event]:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    return [
        Event(1, seq, trigger, src, dest, date.fromisoformat(on), at, 1, None, payload)
        for seq, (trigger, src, dest, on, payload) in enumerate(moves, start=1)
    ]


def _fold(sample: WorkflowDef, *moves: tuple[str, str | None, str, str, dict[str, Any]]) -> DeadlineBook:
    """Event by event, as the write path folds; checked against a replay of the whole history."""
    events = _events(*moves)
    book = DeadlineBook(sample, CAL)
    for e in events:
        book.apply(e)
    assert book.items == replay_deadlines(sample, CAL, events).items
    return book


OPEN = ("open", None, "enquiry", "2026-10-26", {})  # Mon 26 Oct 2026: S1 due Mon 2 Nov


def test_met_on_the_due_date_is_on_time(sample: WorkflowDef) -> None:
    s1 = _fold(sample, OPEN, ("book_visit", "enquiry", "visit", "2026-11-02", {})).items[("S1", 1)]
    assert (s1.status, s1.met_on, s1.breached_on) == ("met", date(2026, 11, 2), None)
    assert display_status(s1, date(2027, 1, 1)) == "met on time"
    assert lateness(s1, parse_limit("5 working days"), CAL) is None


def test_met_late_keeps_the_day_it_was_breached_and_how_late(sample: WorkflowDef) -> None:
    # Met on Mon 9 Nov: a week late, 5 working days late.
    s1 = _fold(sample, OPEN, ("book_visit", "enquiry", "visit", "2026-11-09", {})).items[("S1", 1)]
    assert (s1.status, s1.met_on, s1.breached_on) == ("met", date(2026, 11, 9), date(2026, 11, 3))
    assert display_status(s1, date(2027, 1, 1)) == "met late"
    assert breach_day(s1, date(2027, 1, 1)) == date(2026, 11, 3)
    assert lateness(s1, parse_limit("5 working days"), CAL) == (5, "working days")
    # A limit in calendar units counts calendar days late.
    assert lateness(s1, parse_limit("1 week"), CAL) == (7, "days")


def test_closing_after_the_due_date_keeps_the_breach(sample: WorkflowDef) -> None:
    s1 = _fold(sample, OPEN, ("withdraw", "enquiry", "closed", "2026-11-03", {"reason": "AW0"})).items[("S1", 1)]
    assert (s1.status, s1.met_on, s1.breached_on) == ("breached", None, date(2026, 11, 3))
    assert display_status(s1, date(2027, 1, 1)) == "breached"
    assert breach_day(s1, date(2027, 1, 1)) == date(2026, 11, 3)


def test_closing_on_or_before_the_due_date_cancels(sample: WorkflowDef) -> None:
    s1 = _fold(sample, OPEN, ("withdraw", "enquiry", "closed", "2026-11-02", {"reason": "AW0"})).items[("S1", 1)]
    assert (s1.status, s1.met_on, s1.breached_on) == ("cancelled", None, None)
    assert breach_day(s1, date(2027, 1, 1)) is None


def test_a_hold_before_the_due_date_stops_the_clock_and_closing_on_hold_cancels(sample: WorkflowDef) -> None:
    # S1 pauses on hold (the sample rule does): held on the due date, closed a month later.
    s1 = _fold(
        sample,
        OPEN,
        ("hold", "enquiry", ON_HOLD, "2026-11-02", {"held_from": "enquiry", "reason": "illness"}),
        ("withdraw", ON_HOLD, "closed", "2026-12-02", {"reason": "AW0"}),
    ).items[("S1", 1)]
    assert (s1.status, s1.breached_on) == ("cancelled", None)


def test_a_hold_after_the_due_date_does_not_undo_the_breach(sample: WorkflowDef) -> None:
    book = _fold(
        sample, OPEN, ("hold", "enquiry", ON_HOLD, "2026-11-05", {"held_from": "enquiry", "reason": "illness"})
    )
    paused = book.items[("S1", 1)]
    assert paused.status == "paused"
    assert breach_day(paused, date(2026, 11, 20)) == date(2026, 11, 3)  # already missed when it paused
    closed = _fold(
        sample,
        OPEN,
        ("hold", "enquiry", ON_HOLD, "2026-11-05", {"held_from": "enquiry", "reason": "illness"}),
        ("withdraw", ON_HOLD, "closed", "2026-12-02", {"reason": "AW0"}),
    ).items[("S1", 1)]
    # Resumed (to close) on 2 Dec: the due date moves on by the 19 working days held, still before 2 Dec.
    assert closed.status == "breached"
    assert closed.breached_on == closed.due_on + timedelta(days=1)
    assert closed.due_on < date(2026, 12, 2)


def test_an_open_deadline_past_due_is_breached_from_the_day_after(sample: WorkflowDef) -> None:
    s1 = _fold(sample, OPEN).items[("S1", 1)]
    assert (display_status(s1, date(2026, 11, 2)), breach_day(s1, date(2026, 11, 2))) == ("open", None)
    assert (display_status(s1, date(2026, 11, 3)), breach_day(s1, date(2026, 11, 3))) == (
        "breached",
        date(2026, 11, 3),
    )
    assert s1.breached_on is None  # a live deadline's breach is read from the dates, not stored


def test_a_recurring_review_met_late_starts_the_next_from_the_actual_date(sample: WorkflowDef) -> None:
    minutes = {"facts": {"minutes_received_on": "2025-05-09"}}
    book = _fold(
        sample,
        ("open", None, "enquiry", "2025-01-06", {}),
        ("book_visit", "enquiry", "visit", "2025-01-07", {}),
        ("apply", "visit", "assessment", "2025-01-08", {"facts": {"application_on": "2025-01-08"}}),
        ("book_panel", "assessment", "panel", "2025-05-01", {}),
        ("recommend", "panel", "decision", "2025-05-09", minutes),
        ("approve", "decision", "approved", "2025-05-15", {}),
        ("review", "approved", "approved", "2026-06-01", {}),
    )
    first, second = book.items[("S4", 1)], book.items[("S4", 2)]
    assert (first.status, first.due_on, first.breached_on) == ("met", date(2026, 5, 15), date(2026, 5, 16))
    assert (second.status, second.start_on, second.breached_on) == ("open", date(2026, 6, 1), None)
