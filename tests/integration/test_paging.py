"""Bounded reads: every list read is a page (limit and keyset cursor) with the list's total.

Each test runs on a SQLite file and on a fresh PostgreSQL database (the ``app`` fixture): walking
a list page by page returns every row exactly once, in the list's order, each page with the same
total; a read with no limit returns a screenful; a cursor that is not one the list gave is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest

from carepath.config.bootstrap import App
from carepath.engine.errors import InvalidInput
from carepath.engine.reads import DEFAULT_LIMIT, MAX_LIMIT, CaseFilter, Page
from tests.support import Staff, add_user

T = TypeVar("T")
FAR = date(2030, 1, 1)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def walk(fetch: Callable[[str | None], Page[T]]) -> tuple[list[T], list[Page[T]]]:
    """Every item of a paged read, and its pages, following ``next`` until the last page."""
    pages: list[Page[T]] = []
    after: str | None = None
    while True:
        page = fetch(after)
        pages.append(page)
        if page.next is None:
            break
        assert len(page.items) == page.limit  # only the last page is short
        after = page.next
        assert len(pages) < 1000
    return [item for p in pages for item in p.items], pages


def check_pages(pages: list[Page[Any]], total: int, limit: int) -> None:
    assert {p.total for p in pages} == {total}
    assert {p.limit for p in pages} == {limit}
    assert len(pages) == max(1, -(-total // limit))
    assert pages[-1].next is None


def open_cases(app: App, staff: Staff, n: int) -> list[str]:
    """``n`` cases of the team, opened on successive days back from today (so their deadlines differ)."""
    cw = staff["caseworker"]
    return [
        app.cases.open_case("sample", cw, on=date(2026, 11, 2) - timedelta(days=i % 5), team_id=staff.team_id).ref
        for i in range(n)
    ]


def test_case_list_pages_every_case_once_newest_first(app: App, staff: Staff) -> None:
    refs = open_cases(app, staff, 11)
    sm = staff["service_manager"]
    items, pages = walk(lambda after: app.reads.cases(CaseFilter(limit=4, after=after), sm))
    assert [c.case.ref for c in items] == refs[::-1]
    check_pages(pages, 11, 4)
    assert {(c.owner, c.team) for c in items} == {("caseworker@council.test", "Team")}
    # a filter counts what it matches, not the caseload
    app.cases.fire(refs[0], "book_visit", staff["caseworker"])
    visits = app.reads.cases(CaseFilter(state="visit", limit=4), sm)
    assert ([c.case.ref for c in visits], visits.total, visits.next) == ([refs[0]], 1, None)
    # the caseworker's scope is counted too: an outsider sees none of the team's cases
    outsider = add_user(app, "outsider@council.test", "caseworker")
    assert app.reads.cases(CaseFilter(), outsider).total == 0


def test_deadlines_due_pages_by_due_day_and_id(app: App, staff: Staff) -> None:
    open_cases(app, staff, 9)
    sm = staff["service_manager"]
    everything = app.reads.deadlines_due(FAR, sm, limit=MAX_LIMIT)
    assert everything.next is None
    assert everything.total == len(everything.items) >= 9
    items, pages = walk(lambda after: app.reads.deadlines_due(FAR, sm, limit=2, after=after))
    assert [d.deadline.id for d in items] == [d.deadline.id for d in everything.items]
    assert len({d.deadline.id for d in items}) == len(items)
    keys = [(d.deadline.due_on, d.deadline.id) for d in items]
    assert keys == sorted(keys)
    check_pages(pages, everything.total, 2)
    assert {(d.owner, d.team) for d in items} == {("caseworker@council.test", "Team")}


def test_history_pages_in_sequence_and_marks_corrections_on_any_page(app: App, staff: Staff) -> None:
    (ref,) = open_cases(app, staff, 1)
    cw = staff["caseworker"]
    app.cases.fire(ref, "book_visit", cw)
    app.cases.fire(ref, "apply", cw, facts={"application_on": "2026-11-02"})
    app.cases.mark_in_error(ref, 3, staff["team_manager"], "wrong date")
    app.cases.fire(ref, "apply", cw, facts={"application_on": "2026-11-02"})
    _, whole = app.reads.history(ref, cw)
    items, pages = walk(lambda after: app.reads.history(ref, cw, limit=1, after=after)[1])
    assert [h.event.seq for h in items] == [h.event.seq for h in whole.items] == list(range(1, whole.total + 1))
    assert [h.in_error for h in items] == [h.in_error for h in whole.items] == [False, False, True, False, False]
    check_pages(pages, whole.total, 1)


def test_people_lists_page_by_email_and_name(app: App, staff: Staff) -> None:
    admin = staff.admin
    for i in range(5):
        add_user(app, f"extra{i}~x@council.test", "caseworker")  # the separator in an email is fine
    for name in ("Adoption", "Kinship", "Leaving care"):
        app.people.add_team(name, admin, members=["extra0~x@council.test"])
    users, pages = walk(lambda after: app.reads.users(admin, limit=3, after=after))
    emails = [u.email for u in users]
    assert emails == sorted(emails)
    assert len(set(emails)) == len(emails)
    check_pages(pages, len(emails), 3)
    assert next(u for u in users if u.email == "extra0~x@council.test").teams == ("Adoption", "Kinship", "Leaving care")
    teams, pages = walk(lambda after: app.reads.teams(admin, limit=2, after=after))
    assert [t.name for t in teams] == ["Adoption", "Kinship", "Leaving care", "Team"]
    check_pages(pages, 4, 2)
    team = next(t for t in teams if t.name == "Team")
    assert team.manager == "team.manager@council.test"
    assert "caseworker@council.test" in team.members


def test_mail_panels_and_overrides_page(app: App, staff: Staff) -> None:
    from carepath.storage.tables import CAUGHT, OUTBOX, OVERRIDES

    with app.engine.begin() as conn:
        for i in range(7):
            conn.execute(
                OUTBOX.insert().values(
                    key=f"k{i}",
                    kind="test",
                    recipients=["a@council.test"],
                    context={},
                    status="dead" if i % 2 else "pending",
                    next_attempt_at=NOW,
                    message_id=f"<m{i}@carepath>",
                    created_at=NOW,
                )
            )
            conn.execute(
                CAUGHT.insert().values(
                    message_id=f"<c{i}@carepath>",
                    sender="s@x",
                    recipients=["a@x"],
                    subject="s",
                    raw="r",
                    received_at=NOW,
                )
            )
        for i in range(5):
            conn.execute(
                OVERRIDES.insert().values(
                    day=date(2027, 1, 4) + timedelta(days=i), kind="closure", reason="r", created_at=NOW
                )
            )
    admin = staff.admin
    rows, pages = walk(lambda after: app.reads.outbox(admin, None, 3, after))
    assert [r.key for r in rows] == [f"k{i}" for i in reversed(range(7))]
    check_pages(pages, 7, 3)
    dead, pages = walk(lambda after: app.reads.outbox(admin, "dead", 2, after))
    assert [r.key for r in dead] == ["k5", "k3", "k1"]
    check_pages(pages, 3, 2)
    caught, caught_pages = walk(lambda after: app.reads.caught(admin, 2, after))
    assert [c.message_id for c in caught] == [f"<c{i}@carepath>" for i in reversed(range(7))]
    check_pages(caught_pages, 7, 2)
    overrides, override_pages = walk(lambda after: app.reads.overrides(admin, limit=2, after=after))
    assert [o.day for o in overrides] == [date(2027, 1, 4) + timedelta(days=i) for i in range(5)]
    check_pages(override_pages, 5, 2)

    pc = staff["panel_coordinator"]
    days = [date(2026, 11, 10), date(2026, 11, 17), date(2026, 11, 24)]
    for day in days:
        for kind in ("adoption", "fostering"):
            app.panels.add_sitting(day, kind, pc)
    sittings, sitting_pages = walk(lambda after: app.reads.sitting_days(pc, None, None, limit=4, after=after))
    assert sittings == [(d, k) for d in days for k in ("adoption", "fostering")]
    check_pages(sitting_pages, 6, 4)
    fostering = app.reads.sitting_days(pc, "fostering", date(2026, 11, 11))
    assert (list(fostering), fostering.total) == ([(days[1], "fostering"), (days[2], "fostering")], 2)


def test_defaults_are_a_screenful_and_limits_are_clamped(app: App, staff: Staff) -> None:
    open_cases(app, staff, DEFAULT_LIMIT + 3)
    sm = staff["service_manager"]
    first = app.reads.cases(CaseFilter(), sm)
    assert (len(first.items), first.total, first.limit) == (DEFAULT_LIMIT, DEFAULT_LIMIT + 3, DEFAULT_LIMIT)
    assert first.next is not None
    assert len(app.reads.deadlines_due(FAR, sm).items) == DEFAULT_LIMIT
    assert app.reads.cases(CaseFilter(limit=10**9), sm).limit == MAX_LIMIT
    assert app.reads.cases(CaseFilter(limit=0), sm).limit == 1
    rest = app.reads.cases(CaseFilter(after=first.next), sm)
    assert (len(rest.items), rest.next) == (3, None)


def test_totals_are_counted_up_to_a_cap_and_say_so(app: App, staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``COUNT_CAP`` matches a total is the cap, marked inexact; paging still reaches every row."""
    monkeypatch.setattr("carepath.storage.paging.COUNT_CAP", 5)
    refs = open_cases(app, staff, 8)
    sm = staff["service_manager"]
    first = app.reads.cases(CaseFilter(limit=3), sm)
    assert (first.total, first.total_exact) == (5, False)
    items, _ = walk(lambda after: app.reads.cases(CaseFilter(limit=3, after=after), sm))
    assert sorted(i.case.ref for i in items) == sorted(refs)
    due = app.reads.deadlines_due(FAR, sm, limit=3)
    assert (due.total, due.total_exact) == (5, False)
    few = app.reads.cases(CaseFilter(limit=3, status="closed"), sm)
    assert (few.total, few.total_exact) == (0, True)


@pytest.mark.parametrize("cursor", ["x", "1~2", "2026-13-01~SM~1"])
def test_a_cursor_the_list_did_not_give_is_refused(app: App, staff: Staff, cursor: str) -> None:
    sm = staff["service_manager"]
    with pytest.raises(InvalidInput):
        app.reads.cases(CaseFilter(after=cursor), sm)
    with pytest.raises(InvalidInput):
        app.reads.deadlines_due(FAR, sm, after=cursor)
