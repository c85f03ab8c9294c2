"""Two real processes race conflicting moves at the same cases, on SQLite (WAL) and PostgreSQL.

1,000 cases wait in ``decision``; one process fires ``approve`` at each, the other
``refuse``, both reading the case's version first and passing it as ``expected_version``.
Both are agency decision makers acting as themselves (the case is moved to ``decision`` by its
caseworker and the panel coordinator). Exactly one wins each race and the other is told so (``ConcurrencyConflict``, or
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

from carepath.config.bootstrap import App
from carepath.engine.case import Event, effective_events, replay
from carepath.engine.definition import ON_HOLD
from carepath.storage.tables import DEADLINES, EVENTS
from carepath.storage.uow import event_from_row
from tests.integration.conflict_worker import CONFLICT, REJECTED, WON, race
from tests.support import Staff, add_user

CASES = int(os.environ.get("CAREPATH_RACE_CASES", "1000"))
#: The first half race in lockstep (both read the same version), the rest run freely.
LOCKSTEP = CASES // 2
#: Each move of the set-up and the role that makes it.
SETUP = [
    ("book_visit", {}, "caseworker"),
    ("apply", {"application_on": "2026-11-02"}, "caseworker"),
    ("book_panel", {"report_authorised_on": "2026-11-02"}, "caseworker"),
    ("recommend", {"minutes_received_on": "2026-11-02"}, "panel_coordinator"),
]
DEST = {"approve": "approved", "refuse": "closed"}
#: Who decides, in each process: two decision makers of the same service.
DECIDER = {"approve": "agency.decision.maker@council.test", "refuse": "second.adm@council.test"}


def cases_awaiting_decision(app: App, staff: Staff, n: int) -> list[str]:
    """``n`` sample cases of the team moved through the service to ``decision``."""
    refs = []
    for _ in range(n):
        ref = app.cases.open_case("sample", staff["caseworker"], team_id=staff.team_id).ref
        for trigger, facts, role in SETUP:
            app.cases.fire(ref, trigger, staff[role], facts=facts)
        refs.append(ref)
    return refs


def run_race(url: str, refs: list[str]) -> dict[str, dict[str, str]]:
    """Two spawned processes, ``approve`` against ``refuse``; each one's outcomes by ref."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results: Any = ctx.Queue()
    procs = [
        ctx.Process(target=race, args=(url, refs, trigger, DECIDER[trigger], LOCKSTEP, barrier, results), daemon=True)
        for trigger in DEST
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


def test_two_processes_racing_conflicting_moves_never_lose_or_double_an_event(
    app: App, staff: Staff, db_url: str
) -> None:
    if db_url.startswith("sqlite"):
        with app.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert add_user(app, DECIDER["refuse"], "agency_decision_maker").email == DECIDER["refuse"]
    refs = cases_awaiting_decision(app, staff, CASES)

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

    check_every_case(app, staff, refs, {ref: "approve" if approve[ref] == WON else "refuse" for ref in refs})


def check_every_case(app: App, staff: Staff, refs: list[str], winner: dict[str, str]) -> None:
    """Each case recorded exactly its winner's decision and equals the replay of its history."""
    compiled = app.workflows.get("sample", 1)
    declared = {*compiled.definition.states, ON_HOLD}
    terminal = frozenset(n for n, s in compiled.definition.states.items() if s.terminal)
    E, D = EVENTS.c, DEADLINES.c
    with app.engine.connect() as conn:
        events: dict[int, list[Event]] = {}
        for row in conn.execute(select(EVENTS).order_by(E.case_id, E.seq)):
            events.setdefault(row.case_id, []).append(event_from_row(row))
        s3 = Counter((r.case_id, r.status) for r in conn.execute(select(D.case_id, D.status).where(D.rule == "S3")))
        total = conn.execute(select(func.count()).select_from(EVENTS)).scalar_one()
        assert conn.execute(select(func.count()).select_from(DEADLINES).where(D.rule == "S3")).scalar_one() == len(refs)
    assert total == len(refs) * (1 + len(SETUP) + 1)

    deciders = {"approve": staff["agency_decision_maker"].id, "refuse": app.directory.user_id(DECIDER["refuse"])}
    for ref in refs:
        case = app.reads.case(ref, staff["service_manager"])
        assert case.id is not None
        history = events[case.id]
        decisions = [(e.trigger, e.actor_id) for e in history if e.trigger in DEST]
        assert decisions == [(winner[ref], deciders[winner[ref]])], (ref, decisions)
        assert [e.seq for e in history] == list(range(1, len(SETUP) + 3))
        assert case.state in declared
        assert case.state == DEST[winner[ref]]
        assert case.version == len(SETUP) + 2
        snap = replay(history, terminal)
        assert (snap.state, snap.status, snap.facts) == (case.state, case.status, case.facts)
        assert effective_events(history) == history
        assert s3[(case.id, "met")] == 1
