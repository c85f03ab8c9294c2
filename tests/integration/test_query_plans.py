"""Query plans that stay right: the hot statements use an index, never a full scan of a big table.

The SQL is the real SQL: each check calls the real function (the read service over the read
models, ``CaseService.fire``, the sweep's claim and raise, the outbox claim) with a
``before_cursor_execute`` listener on the app's engines, then asks the database how it would run
each captured statement with its own parameters: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on
PostgreSQL. A full scan of ``case``, ``deadline``, ``timer``, ``case_event`` or ``outbox`` fails.

The database holds a caseload shaped like a real one: a few dozen cases opened and moved through
the service, then cloned in SQL (issue 9's way of building big databases) to some 2,500 cases,
most of them closed, spread over several owners and teams. SQLite is asked twice: with no
statistics (the planner guesses, as it did when issue 9 found the pending-timer scan) and after
``ANALYZE`` (what ``PRAGMA optimize`` leaves, storage/db.py). PostgreSQL is asked with
``enable_seqscan`` off, so a sequential scan in its plan means no index could serve.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from carepath.config.bootstrap import App
from carepath.engine.clock import FixedClock
from carepath.engine.reads import CaseFilter
from carepath.engine.registry import WorkflowRegistry
from carepath.storage import outbox
from carepath.storage.db import make_engine
from tests.conftest import _migrated_engine, drop_pg, fresh_pg_url, make_app
from tests.support import Staff, seed_staff

BIG = frozenset({"case", "deadline", "timer", "case_event", "outbox"})
TODAY = date(2026, 11, 2)
FACTS = {
    "apply": {"application_on": "2026-11-02"},
    "book_panel": {"report_authorised_on": "2026-11-02"},
    "recommend": {"minutes_received_on": "2026-11-02"},
}
PATHS = (
    [],
    ["book_visit"],
    ["book_visit", "apply"],
    ["book_visit", "apply", "book_panel"],
    ["book_visit", "apply", "book_panel", "recommend"],
    ["book_visit", "apply", "book_panel", "recommend", "approve"],
)
MOVER = {"recommend": "panel_coordinator", "approve": "agency_decision_maker", "refuse": "agency_decision_maker"}
#: Doubling rounds of the SQL clone: 24 cases become 24 * 2**ROUNDS.
ROUNDS = 7


# -- capturing the SQL the real functions run ---------------------------------------------------


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Any


@contextmanager
def captured(app: App) -> Iterator[list[Statement]]:
    """Every statement the app's engines (write and read) run inside the block, with its parameters."""
    got: list[Statement] = []

    def listen(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, executemany: bool) -> None:
        if executemany and params:
            params = params[0]
        got.append(Statement(sql, params))

    engines = {id(e): e for e in (app.engine, app.read_engine)}.values()
    for e in engines:
        event.listen(e, "before_cursor_execute", listen)
    try:
        yield got
    finally:
        for e in engines:
            event.remove(e, "before_cursor_execute", listen)


def planned(stmt: Statement) -> bool:
    """A statement with a plan worth reading (not BEGIN, PRAGMA, SAVEPOINT...)."""
    head = stmt.sql.lstrip().split(None, 1)[0].upper()
    return head in {"SELECT", "UPDATE", "DELETE", "INSERT", "WITH"}


# -- asking each database for its plan ----------------------------------------------------------


def sqlite_plan(raw: sqlite3.Connection, stmt: Statement) -> list[str]:
    rows = raw.execute("EXPLAIN QUERY PLAN " + stmt.sql, stmt.params or ()).fetchall()
    return [str(r[3]) for r in rows]


def pg_plan(engine: Engine, stmt: Statement) -> list[str]:
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute("SET enable_seqscan = off")
            cur.execute("EXPLAIN " + stmt.sql, stmt.params or None)
            rows = cur.fetchall()
        conn.rollback()
    return [str(r[0]) for r in rows]


_SQLITE_SCAN = re.compile(r'^SCAN "?(\w+)"?(?: AS \w+)?(.*)$')
_PG_SCAN = re.compile(r'Seq Scan on "?(\w+)"?')


def full_scans(dialect: str, stmt: Statement, plan: list[str], *, ordered_page: bool) -> list[str]:
    """The lines of ``plan`` that read all of a big table.

    ``ordered_page``: the first page of an unfiltered list may be read in the order wanted and
    stopped at its limit (SQLite ``SCAN case`` with no sort; PostgreSQL a backward index scan),
    and its total counts every row (``count(*)``: a covering index scan at best).
    """
    bad = []
    sql = " ".join(stmt.sql.split()).upper()
    sorts = any("USE TEMP B-TREE FOR ORDER BY" in line for line in plan)
    page = ordered_page and (sql.startswith("SELECT COUNT(") or (" LIMIT " in sql and not sorts))
    for line in plan:
        if dialect == "sqlite":
            m = _SQLITE_SCAN.match(line.strip())
            if m and m.group(1) in BIG and not page:
                bad.append(line)
        else:
            m = _PG_SCAN.search(line)
            if m and m.group(1) in BIG:
                bad.append(line)
    return bad


# -- the caseload ------------------------------------------------------------------------------


def seed(app: App, staff: Staff) -> None:
    """Two dozen cases through the service, in every state of the sample journey."""
    for i in range(24):
        case = app.cases.open_case("sample", staff["caseworker"], team_id=staff.team_id)
        for trigger in PATHS[i % len(PATHS)]:
            who = staff[MOVER.get(trigger, "caseworker")]
            case = app.cases.fire(case.ref, trigger, who, facts=FACTS.get(trigger))


_CASE_COLS = "workflow_id, workflow_version, held_from, facts, opened_on, last_event_on, last_seq, version, updated_at"
_EVENT_COLS = 'seq, "trigger", from_state, to_state, effective_on, recorded_at, actor_id, note, payload'
_DEADLINE_COLS = "rule, cycle, start_on, raw_due_on, due_on, met_on, paused_since, paused_days, paused_working_days"
_TIMER_COLS = "key, kind, tier, fire_on, fire_at, claimed_until, claimed_by, outcome"


def _spread(column: str, ids: list[int]) -> str:
    """SQL picking one of ``ids`` by ``column`` modulo their number."""
    whens = " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(ids))
    return f"CASE {column} % {len(ids)} {whens} END"


def clone(engine: Engine, rounds: int) -> None:
    """Double the caseload ``rounds`` times in SQL. Each round's copies are spread over new
    caseworkers (8) and teams (4), a caseload of a few dozen cases each, as in a real service;
    after the first round they are closed (in the closed state, met deadlines, fired timers), as
    most cases are."""
    with engine.begin() as conn:
        at = conn.execute(text("SELECT created_at FROM app_user ORDER BY id LIMIT 1")).scalar_one()
        for k in range(1, rounds + 1):
            sfx = f"-{k}"
            owners = [
                conn.execute(
                    text(
                        "INSERT INTO app_user (email, name, roles, active, created_at) "
                        "VALUES (:email, :name, '[\"caseworker\"]', true, :at) RETURNING id"
                    ),
                    {"email": f"clone{k}.{i}@council.test", "name": f"Clone {k}.{i}", "at": at},
                ).scalar_one()
                for i in range(8)
            ]
            teams = [
                conn.execute(
                    text("INSERT INTO team (name) VALUES (:name) RETURNING id"), {"name": f"Clone team {k}.{i}"}
                ).scalar_one()
                for i in range(4)
            ]
            closed = k > 1
            ending = "'closed', 'closed', 'AW0'" if closed else "status, state, exit_reason"
            conn.execute(
                text(
                    f'INSERT INTO "case" (ref, status, state, exit_reason, owner_id, team_id, {_CASE_COLS}) '
                    f"SELECT ref || :sfx, {ending}, {_spread('id', owners)}, {_spread('id', teams)}, "
                    f'{_CASE_COLS} FROM "case"'
                ),
                {"sfx": sfx},
            )
            pairs = 'FROM "case" o JOIN "case" n ON n.ref = o.ref || :sfx'
            conn.execute(
                text(
                    f"INSERT INTO case_event (case_id, {_EVENT_COLS}) SELECT n.id, {_EVENT_COLS} "
                    f"FROM case_event e JOIN ({'SELECT o.id AS o_id, n.id ' + pairs}) n ON n.o_id = e.case_id"
                ),
                {"sfx": sfx},
            )
            status = "CASE WHEN d.status IN ('open', 'paused') THEN 'met' ELSE d.status END" if closed else "d.status"
            conn.execute(
                text(
                    f"INSERT INTO deadline (case_id, status, {_DEADLINE_COLS}) "
                    f"SELECT n.id, {status}, {', '.join('d.' + c.strip() for c in _DEADLINE_COLS.split(','))} "
                    f"FROM deadline d JOIN ({'SELECT o.id AS o_id, n.id ' + pairs}) n ON n.o_id = d.case_id"
                ),
                {"sfx": sfx},
            )
            fired = "COALESCE(t.fired_at, t.fire_at)" if closed else "t.fired_at"
            conn.execute(
                text(
                    f"INSERT INTO timer (deadline_id, case_id, fired_at, {_TIMER_COLS}) "
                    f"SELECT nd.id, n.id, {fired}, {', '.join('t.' + c.strip() for c in _TIMER_COLS.split(','))} "
                    f"FROM timer t JOIN ({'SELECT o.id AS o_id, n.id ' + pairs}) n ON n.o_id = t.case_id "
                    "JOIN deadline od ON od.id = t.deadline_id "
                    "JOIN deadline nd ON nd.case_id = n.id AND nd.rule = od.rule AND nd.cycle = od.cycle"
                ),
                {"sfx": sfx},
            )
            conn.execute(  # each copy's mail so far, sent long ago (the outbox keeps its history)
                text(
                    "INSERT INTO outbox (key, kind, case_id, recipients, context, status, attempts, "
                    "next_attempt_at, message_id, created_at, sent_at) "
                    "SELECT 'clone:' || n.id || ':' || e.seq, 'reminder_due', n.id, '[]', '{}', 'sent', 1, :at, "
                    "'<clone.' || n.id || '.' || e.seq || '@carepath>', :at, :at "
                    f"FROM case_event e JOIN ({'SELECT o.id AS o_id, n.id ' + pairs}) n ON n.id = e.case_id"
                ),
                {"sfx": sfx, "at": at},
            )
            conn.execute(
                text(
                    "INSERT INTO outbox (key, kind, case_id, recipients, context, status, attempts, "
                    "next_attempt_at, message_id, created_at, sent_at) "
                    "SELECT x.key || :sfx, x.kind, n.id, x.recipients, x.context, 'sent', 1, x.next_attempt_at, "
                    "x.message_id || :sfx, x.created_at, x.created_at "
                    f"FROM outbox x JOIN ({'SELECT o.id AS o_id, n.id ' + pairs}) n ON n.o_id = x.case_id"
                ),
                {"sfx": sfx},
            )


# -- the hot statements ------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[App, Staff, FixedClock, dict[str, str]], object]
    """Calls the real function: (app, staff, clock, an open case's reference by state)."""
    #: an index that must appear in one of the call's plans (the one the statement is written for)
    uses: str | None = None
    ordered_page: bool = False


def _open_ref(app: App, staff: Staff, state: str) -> str:
    with app.engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT ref FROM \"case\" WHERE state = :s AND status = 'open' AND team_id = :t ORDER BY id LIMIT 1"
                ),
                {"s": state, "t": staff.team_id},
            ).scalar_one()
        )


def _fire(app: App, staff: Staff, _clock: FixedClock, refs: dict[str, str]) -> object:
    return app.cases.fire(refs["visit"], "apply", staff["caseworker"], facts=FACTS["apply"])


def _sweep(app: App, _staff: Staff, clock: FixedClock, _refs: dict[str, str]) -> object:
    clock.advance(days=10)
    return app.timers.sweep(app.system)


def _outbox_claim(app: App, _staff: Staff, clock: FixedClock, _refs: dict[str, str]) -> object:
    return outbox.claim(app.engine, clock.now(), 50, timedelta(minutes=5))


def _sm(staff: Staff) -> Any:
    return staff["service_manager"]


def _person_changes(app: App, staff: Staff, _clock: FixedClock, refs: dict[str, str]) -> object:
    """A person added on a case, then their record's changes (the person page's list)."""
    person_id = app.persons.add(refs["panel"], "child", "Ada", "Planned", staff["caseworker"]).person_id
    return app.persons.changes(person_id, _sm(staff))


CHECKS = (
    Check("open a case", lambda a, s, _c, r: a.cases.open_case("sample", s["caseworker"], team_id=s.team_id)),
    Check("fire (deadline-touching)", _fire),
    Check("sweep: claim and raise", _sweep, uses="ix_timer_pending"),
    Check("outbox claim", _outbox_claim, uses="ix_outbox_due"),
    Check("case show", lambda a, s, _c, r: a.reads.case_listing(r["panel"], _sm(s))),
    Check("case history", lambda a, s, _c, r: a.reads.history(r["panel"], _sm(s))),
    Check("a person's changes", _person_changes, uses="ix_audit_entry_subject"),
    Check("case deadlines", lambda a, s, _c, r: a.reads.case_deadlines(r["panel"], _sm(s))),
    Check("case list: first page", lambda a, s, _c, r: a.reads.cases(CaseFilter(), _sm(s)), ordered_page=True),
    Check(
        "case list: state", lambda a, s, _c, r: a.reads.cases(CaseFilter(state="panel"), _sm(s)), uses="ix_case_state"
    ),
    Check(
        "case list: status", lambda a, s, _c, r: a.reads.cases(CaseFilter(status="open"), _sm(s)), uses="ix_case_status"
    ),
    Check(
        "case list: journey and state",
        lambda a, s, _c, r: a.reads.cases(CaseFilter(workflow="sample", state="panel"), _sm(s)),
    ),
    Check("case list: owner", lambda a, s, _c, r: a.reads.cases(CaseFilter(owner_id=s["caseworker"].id), _sm(s))),
    Check("case list: team", lambda a, s, _c, r: a.reads.cases(CaseFilter(team_id=s.team_id), _sm(s))),
    Check("case list: a caseworker's scope", lambda a, s, _c, r: a.reads.cases(CaseFilter(), s["caseworker"])),
    Check("deadlines due", lambda a, s, _c, r: a.reads.deadlines_due(TODAY + timedelta(days=60), _sm(s))),
    Check(
        "deadlines due: team",
        lambda a, s, _c, r: a.reads.deadlines_due(TODAY + timedelta(days=60), _sm(s), team_id=s.team_id),
    ),
    Check(
        "deadlines due: owner",
        lambda a, s, _c, r: a.reads.deadlines_due(TODAY + timedelta(days=60), _sm(s), owner_id=s["caseworker"].id),
    ),
    Check("team manager's overdue list", lambda a, s, _c, r: a.reads.deadlines_due(TODAY, s["team_manager"])),
    Check("outbox list: pending", lambda a, s, _c, r: a.reads.outbox(s.admin, status="pending")),
    Check(
        "calendar closure: recompute in batches",
        lambda a, s, _c, r: a.calendar_changes.add_override(TODAY + timedelta(days=3), "closure", s.admin),
        ordered_page=True,  # the batch walks the cases in id order from the last one done
    ),
)


def _capture_all(app: App, staff: Staff, clock: FixedClock) -> list[tuple[Check, list[Statement]]]:
    out = []
    refs = {state: _open_ref(app, staff, state) for state in ("visit", "panel")}
    for check in CHECKS:
        with captured(app) as got:
            check.run(app, staff, clock, refs)
        statements = [s for s in got if planned(s)]
        assert statements, f"{check.name}: no statements captured"
        out.append((check, statements))
    return out


def _verdicts(
    dialect: str, plan: Callable[[Statement], list[str]], calls: list[tuple[Check, list[Statement]]]
) -> list[str]:
    problems = []
    for check, statements in calls:
        plans = [(s, plan(s)) for s in statements]
        for s, p in plans:
            bad = full_scans(dialect, s, p, ordered_page=check.ordered_page)
            if bad:
                problems.append(f"{check.name}: {bad} in\n    {s.sql}\n    plan: {p}")
        if check.uses and not any(check.uses in line for _, p in plans for line in p):
            problems.append(f"{check.name}: {check.uses} unused; plans: {[p for _, p in plans]}")
    return problems


@pytest.fixture
def built(request: pytest.FixtureRequest, tmp_path: Any, clock: FixedClock, sample_registry: WorkflowRegistry):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'plans.db'}" if request.param == "sqlite" else fresh_pg_url()
    _migrated_engine(url).dispose()
    app = make_app(url, clock, sample_registry)
    try:
        staff = seed_staff(app)
        seed(app, staff)
        clone(app.engine, ROUNDS)
        yield app, staff
    finally:
        app.dispose()
        if request.param == "postgres":
            drop_pg(url)


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_sqlite_hot_statements_use_an_index_with_and_without_statistics(built: Any, clock: FixedClock) -> None:
    app, staff = built
    calls = _capture_all(app, staff, clock)
    path = app.engine.url.database
    app.dispose()  # its connections' PRAGMA optimize runs now, not while we look
    # Plain sqlite3 connections: carepath's own would run PRAGMA optimize as they open.
    raw = sqlite3.connect(path, isolation_level=None)
    try:  # the planner guessing: no statistics at all
        raw.execute("ANALYZE")  # creates sqlite_stat1 if missing
        raw.execute("DELETE FROM sqlite_stat1")
    finally:
        raw.close()
    raw = sqlite3.connect(path, isolation_level=None)  # a new connection reads the statistics afresh
    try:
        guessed = _verdicts("sqlite", lambda s: sqlite_plan(raw, s), calls)
        raw.execute("ANALYZE")
    finally:
        raw.close()
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        analyzed = _verdicts("sqlite", lambda s: sqlite_plan(raw, s), calls)
    finally:
        raw.close()
    assert not guessed, "without statistics:\n" + "\n".join(guessed)
    assert not analyzed, "after ANALYZE:\n" + "\n".join(analyzed)


@pytest.mark.postgres
@pytest.mark.parametrize("built", ["postgres"], indirect=True)
def test_postgres_hot_statements_use_an_index(built: Any, clock: FixedClock) -> None:
    app, staff = built
    calls = _capture_all(app, staff, clock)
    with app.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    explain = create_engine(app.engine.url)
    try:
        problems = _verdicts("postgresql", lambda s: pg_plan(explain, s), calls)
    finally:
        explain.dispose()
    assert not problems, "\n".join(problems)


def test_the_sqlite_connection_analyzes_what_it_used(tmp_path: Any) -> None:
    """PRAGMA optimize runs before a connection closes: the tables it searched get statistics."""
    url = f"sqlite:///{tmp_path / 'opt.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)")
        conn.exec_driver_sql("CREATE INDEX ix_t_a ON t (a)")
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
            "INSERT INTO t (a) SELECT i % 50 FROM n"
        )
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT * FROM t WHERE a = 7").all()
    engine.dispose()  # closes the pooled connection: PRAGMA optimize
    check = create_engine(url)
    with check.connect() as conn:
        stats = conn.exec_driver_sql("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 't'").all()
    check.dispose()
    assert [r[0] for r in stats] == ["ix_t_a"]
