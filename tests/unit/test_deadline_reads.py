"""``may_change``: the write path skips reading deadlines only for events that cannot change any.

For every journey (the real ones and the sample), every declared move, hold, resume, withdrawal
and opening is folded into books whose rules are all running (open, then paused), and into an
empty book; whenever ``may_change`` says no, the fold must change nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import Event
from carepath.engine.deadlines import Deadline, DeadlineBook, may_change
from carepath.engine.definition import ON_HOLD, WorkflowDef
from carepath.workflows.loader import WORKFLOWS_DIR, load_registry
from tests.conftest import FIXTURES

CALENDAR = WorkingCalendar("ENG")
DAY = date(2026, 3, 2)
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
JOURNEYS = [c.definition for r in (load_registry(WORKFLOWS_DIR), load_registry(FIXTURES)) for c in r._by_key.values()]


def events(d: WorkflowDef) -> list[Event]:
    """Every kind of event a case of ``d`` can record, with every fact its moves require."""
    out = [Event(1, 1, "open", None, d.initial, DAY, AT, 1, None, {"facts": {}})]
    facts = {f: "2026-03-01" for t in d.transitions for f in t.requires}
    for t in d.transitions:
        for source in t.sources:
            out.append(Event(1, 2, t.trigger, source, t.dest, DAY, AT, 1, None, {"facts": {}}))
            out.append(Event(1, 2, t.trigger, source, t.dest, DAY, AT, 1, None, {"facts": facts}))
    for state in d.states:
        out.append(Event(1, 2, "hold", state, ON_HOLD, DAY, AT, 1, "x", {"held_from": state}))
        out.append(Event(1, 2, "resume", ON_HOLD, state, DAY, AT, 1, None, {}))
        out.append(Event(1, 2, "assign", state, state, DAY, AT, 1, None, {"owner_id": 2}))
        out.append(Event(1, 2, "withdraw", state, d.close_state, DAY, AT, 1, None, {"reason": "x", "stage": state}))
    return out


def books(d: WorkflowDef) -> list[list[Deadline]]:
    running = [Deadline(r.name, 1, date(2026, 2, 2), date(2026, 5, 2), date(2026, 5, 2)) for r in d.deadlines]
    paused = [Deadline(r.name, 1, date(2026, 2, 2), date(2026, 5, 2), date(2026, 5, 2), "paused", paused_since=DAY)
              for r in d.deadlines]  # fmt: skip
    return [[], running, paused]


@pytest.mark.parametrize("d", JOURNEYS, ids=lambda d: d.id)
def test_an_event_may_change_says_no_to_changes_no_deadline(d: WorkflowDef) -> None:
    skipped = 0
    for event in events(d):
        if may_change(d, event):
            continue
        skipped += 1
        for start in books(d):
            book = DeadlineBook(d, CALENDAR, start)
            book.apply(event)
            assert not book.changed, f"{d.id}: {event.trigger} {event.from_state}->{event.to_state} changed a deadline"
    if d.deadlines:
        assert skipped, f"{d.id}: every event reads deadlines; may_change skips nothing"
