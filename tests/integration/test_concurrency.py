"""Two real processes race conflicting moves at the same cases, on SQLite (WAL) and PostgreSQL.

1,000 cases wait in ``decision``; one process fires ``approve`` at each, the other
``refuse``, both reading the case's version first and passing it as ``expected_version``.
Exactly one wins each race and the other is told so (``ConcurrencyConflict``, or
``TransitionRejected`` when it read after the winner committed); afterwards every case has
exactly one of the two decisions, no event is lost or doubled, every state is declared and
the case row equals the replay of its history.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from typing import Any

from sqlalchemy import func, select, text

from config.bootstrap import App
from engine.case import Event, effective_events, replay
from engine.definition import ON_HOLD
from storage.uow import DEADLINE, EVENT, D, E, event_from_row
from tests.integration.conflict_worker import CONFLICT, REJECTED, WON, race

CASES = int(os.environ.get("CAREPATH_RACE_CASES", "1000"))
#: The first half race in lockstep (both read the same version), the rest run freely.
LOCKSTEP = CASES // 2
SETUP = [
    ("book_visit", {}),
    ("apply", {"application_on": "2026-11-02"}),
    ("book_panel", {"report_authorised_on": "2026-11-02"}),
    ("recommend", {"minutes_received_on": "2026-11-02"}),
]
DEST = {"approve": "approved", "refuse": "closed"}


def cases_awaiting_decision(app: App, n: int) -> list[str]:
    """``n`` sample cases moved through the service to ``decision``."""
    system = app.people.ensure_system_user()
    refs = []
    for _ in range(n):
        ref = app.cases.open_case("sample", system).ref
        for trigger, facts in SETUP:
            app.cases.fire(ref, trigger, system, facts=facts)
        refs.append(ref)
    return refs


def run_race(url: str, refs: list[str]) -> dict[str, dict[str, str]]:
    """Two spawned processes, ``approve`` against ``refuse``; each one's outcomes by ref."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results: Any = ctx.Queue()
    procs = [
        ctx.Process(target=race, args=(url, refs, trigger, LOCKSTEP, barrier, results), daemon=True) for trigger in DEST
    ]
    for p in procs:
        p.start()
    try:
        outcomes = dict(results.get(timeout=300) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0, 0]
    return outcomes


def test_two_processes_racing_conflicting_moves_never_lose_or_double_an_event(app: App, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        with app.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    refs = cases_awaiting_decision(app, CASES)

    outcomes = run_race(db_url, refs)

    approve, refuse = outcomes["approve"], outcomes["refuse"]
    assert len(approve) == len(refuse) == CASES
    errors = [o for o in (*approve.values(), *refuse.values()) if o not in (WON, CONFLICT, REJECTED)]
    assert errors == [], errors[:5]
    for i, ref in enumerate(refs):
        pair = sorted((approve[ref], refuse[ref]))
        if i < LOCKSTEP:
            assert pair == [CONFLICT, WON], (ref, pair)
        else:
            assert pair in ([CONFLICT, WON], [REJECTED, WON]), (ref, pair)
    tally = Counter((trigger, o) for trigger, by_ref in outcomes.items() for o in by_ref.values())
    print(f"\n{db_url.split(':')[0]}: {dict(tally)}")

    check_every_case(app, refs, {ref: "approve" if approve[ref] == WON else "refuse" for ref in refs})


def check_every_case(app: App, refs: list[str], winner: dict[str, str]) -> None:
    """Each case recorded exactly its winner's decision and equals the replay of its history."""
    compiled = app.workflows.get("sample", 1)
    declared = {*compiled.definition.states, ON_HOLD}
    terminal = frozenset(n for n, s in compiled.definition.states.items() if s.terminal)
    with app.engine.connect() as conn:
        events: dict[int, list[Event]] = {}
        for row in conn.execute(select(EVENT).order_by(E.case_id, E.seq)):
            events.setdefault(row.case_id, []).append(event_from_row(row))
        s3 = Counter((r.case_id, r.status) for r in conn.execute(select(D.case_id, D.status).where(D.rule == "S3")))
        total = conn.execute(select(func.count()).select_from(EVENT)).scalar_one()
        assert conn.execute(select(func.count()).select_from(DEADLINE).where(D.rule == "S3")).scalar_one() == len(refs)
    assert total == len(refs) * (1 + len(SETUP) + 1)

    for ref in refs:
        case = app.queries.case(ref)
        assert case.id is not None
        history = events[case.id]
        decisions = [e.trigger for e in history if e.trigger in DEST]
        assert decisions == [winner[ref]], (ref, decisions)
        assert [e.seq for e in history] == list(range(1, len(SETUP) + 3))
        assert case.state in declared
        assert case.state == DEST[winner[ref]]
        assert case.version == len(SETUP) + 2
        snap = replay(history, terminal)
        assert (snap.state, snap.status, snap.facts) == (case.state, case.status, case.facts)
        assert effective_events(history) == history
        assert s3[(case.id, "met")] == 1
