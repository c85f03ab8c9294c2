"""My work's tray: a worker's open and on-hold cases, soonest due first, paged without gaps or repeats.

Runs over a SQLite file and the PostgreSQL server (the ``app`` fixture). The tray of one worker is
read in due order from their deadlines (storage/queries/work.py); what a person relies on is the
order (the earliest open deadline first, ties by case, cases with none last), that paging shows
each case once, that the next deadline shown is the case's earliest, and that other people's and
closed cases are not there. The team page's breaches, read per status along the team's due
index and merged, are the month's latest first, met late or missed, with the whole count.
"""

from __future__ import annotations

from datetime import date

from carepath.config.bootstrap import App
from carepath.engine.case import Actor
from carepath.engine.reads import WorkItem
from tests.support import Staff

MONDAY = date(2026, 10, 26)  # a week before the clock's today
TODAY = date(2026, 11, 2)
NEVER = date(9999, 12, 31)


def _open(app: App, staff: Staff, on: date, owner: Actor | None = None) -> str:
    by = owner or staff["caseworker"]
    return app.cases.open_case("sample", by, on=on, owner_id=by.id, team_id=staff.team_id).ref


def _expected(app: App, staff: Staff, refs: list[str]) -> list[tuple[str, date]]:
    """(ref, earliest open due day) by that day then case id; cases with no open deadline last."""
    keyed = []
    for ref in refs:
        case, deadlines = app.reads.case_deadlines(ref, staff["service_manager"])
        due = min((d.due_on for d in deadlines if d.status == "open"), default=NEVER)
        keyed.append((due, case.id, ref))
    return [(ref, due) for due, _, ref in sorted(keyed)]


def _pages(app: App, worker: Actor, limit: int, **filters: object) -> list[list[WorkItem]]:
    pages, after = [], None
    while True:
        page = app.reads.tray(worker, owner_id=worker.id, limit=limit, after=after, **filters)  # type: ignore[arg-type]
        pages.append(list(page.items))
        after = page.next
        if after is None:
            return pages


def test_my_work_pages_through_every_case_soonest_due_first_once(app: App, staff: Staff) -> None:
    worker = staff["caseworker"]
    mine = [_open(app, staff, MONDAY.replace(day=26 + i % 4)) for i in range(9)]  # ties on the same due day
    held = [mine[1], mine[6]]
    for ref in held:
        app.cases.hold(ref, worker, "family illness", on=TODAY)
    visited = mine[4]
    app.cases.fire(visited, "book_visit", worker, on=TODAY)  # open, but no open deadline
    closed = mine[8]
    app.cases.withdraw(closed, worker, "AW0", on=TODAY)
    _open(app, staff, MONDAY, owner=staff["team_manager"])  # someone else's: not in my tray

    pages = _pages(app, worker, limit=2)

    shown = [(item.listing.case.ref, item) for page in pages for item in page]
    assert [ref for ref, _ in shown] == [ref for ref, _ in _expected(app, staff, [r for r in mine if r != closed])]
    assert all(len(page) == 2 for page in pages[:-1])
    due = dict(_expected(app, staff, mine))
    for ref, item in shown:
        nxt = item.next_deadline
        assert (nxt.due_on if nxt is not None else NEVER) == due[ref], ref
        assert item.listing.owner == worker.email


def test_my_work_counts_and_filters_as_the_page_asks(app: App, staff: Staff) -> None:
    worker = staff["caseworker"]
    mine = [_open(app, staff, MONDAY.replace(day=26 + i)) for i in range(5)]
    app.cases.hold(mine[2], worker, "house move", on=TODAY)

    everything = app.reads.tray(worker, owner_id=worker.id, limit=3)
    held_only = _pages(app, worker, limit=1, statuses=("on_hold",))
    open_only = _pages(app, worker, limit=2, statuses=("open",))

    assert (everything.total, everything.total_exact) == (5, True)
    assert [i.listing.case.ref for i in everything.items] == [*mine[:2], mine[3]]
    assert [i.listing.case.ref for p in held_only for i in p] == [mine[2]]
    assert [i.listing.case.ref for p in open_only for i in p] == [mine[0], mine[1], mine[3], mine[4]]


def test_the_team_page_lists_the_latest_breaches_first_met_late_or_missed(app: App, staff: Staff) -> None:
    worker, manager = staff["caseworker"], staff["team_manager"]
    refs = [_open(app, staff, date(2026, 10, day)) for day in (1, 5, 5, 12, 19)]  # S1: 5 working days
    for ref in refs[:3]:
        app.cases.fire(ref, "book_visit", worker, on=TODAY)  # S1 met late
    app.cases.withdraw(refs[3], worker, "AW0", on=TODAY)  # S1 breached, the case closed
    expected = []
    for ref in refs[:4]:
        case, deadlines = app.reads.case_deadlines(ref, manager)
        expected += [(d.breached_on, case.id, ref) for d in deadlines if d.breached_on is not None]
    expected.sort(reverse=True)

    latest = app.reads.breaches(manager, date(2026, 10, 1), TODAY, team_id=staff.team_id, limit=3)
    october = app.reads.breaches(manager, date(2026, 10, 1), date(2026, 10, 9), team_id=staff.team_id, limit=10)

    assert len(expected) == 4
    assert [(d.breached_on, ref) for d, ref, _ in latest] == [(day, ref) for day, _, ref in expected[:3]]
    assert (latest.total, latest.total_exact) == (4, True)
    assert all(owner == worker.email for _, _, owner in latest)
    assert [ref for _, ref, _ in october] == [ref for day, _, ref in expected if day <= date(2026, 10, 9)]
