"""Persisted transitions per second through ``CaseService.fire``, against raw sqlite3 writing the same rows.

    .venv/bin/python bench/transitions.py            # full run; writes BENCHMARKS.md "Transitions"
    .venv/bin/python bench/transitions.py --quick    # smaller smoke run, prints only

Four write paths on SQLite files (WAL, synchronous=NORMAL, ``BEGIN IMMEDIATE``), measured in
paired rounds in the same run; each round times every path once (raw first in odd rounds,
service first in even ones) and the report gives min/median/max of the per-round ratios
service / raw (the machine is shared and noisy: a ratio within one round is what counts):

- ``service, no rules``: ``CaseService.fire`` on bench/pingpong.v1.yaml (two states, no deadlines);
- ``raw, no rules``: the same row writes with the sqlite3 module: ``BEGIN IMMEDIATE``; select the
  case; update it with a version check; insert the event; ``COMMIT``;
- ``service, sample rules``: ``CaseService.fire`` walking fresh cases of the sample journey
  (tests/fixtures/sample.v1.yaml) from enquiry to approved (book_visit, apply, book_panel,
  recommend, approve): every step meets or opens one of the deadline rules S1-S4 and re-plans
  its timers;
- ``raw, sample rules``: the same rows by hand: select the case, update it, insert the event;
  if the step changes deadlines, select the case's deadlines, update the changed ones (one
  executemany), insert the new ones, delete their pending timers (by deadline id) and insert
  the new timers (one executemany); ``COMMIT``. The
  values (states, facts, due dates, timer keys) are computed before the clock starts with the
  engine's own ``DeadlineBook`` and ``plan_timers``: raw is the database's floor, not a second
  engine.

Cases move as a human: an administrator (the first user) adds a caseworker who is also panel
coordinator and agency decision maker (the sample journey's roles), in a team; services
authorize every command.

A separate counting run (SQLAlchemy ``before_cursor_execute`` and ``begin`` listeners, which
slow SQLAlchemy, so never in the timed rounds) gives the SQL statements and transactions per
transition and checks that a ``fire`` touches one engine only.

Then the process RSS after opening (and moving once) 1,000 and 100,000 cases through the
service: compiled machines are shared, so the engine should retain nothing per case.
Goals: service >= 40% of raw without rules and >= 25% with the sample rules; one transaction on
one engine per fire; RSS growth < 20 MB from 1,000 to 100,000 cases.
"""

from __future__ import annotations

import argparse
import gc
import json
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from sqlalchemy import Engine, event

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# ``transitions`` library: put the repository root there instead.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

from carepath.config.bootstrap import App  # noqa: E402
from carepath.config.settings import Settings  # noqa: E402
from carepath.engine.case import Actor, Case, Event  # noqa: E402
from carepath.engine.clock import FixedClock  # noqa: E402
from carepath.engine.compiler import CompiledWorkflow, compile_workflow  # noqa: E402
from carepath.engine.deadlines import DeadlineBook  # noqa: E402
from carepath.engine.registry import WorkflowRegistry  # noqa: E402
from carepath.engine.timers import plan_timers  # noqa: E402
from carepath.storage.db import make_engine  # noqa: E402
from carepath.storage.migrate import upgrade  # noqa: E402
from carepath.workflows.loader import load_workflow  # noqa: E402

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
PINGPONG = ROOT / "bench" / "pingpong.v1.yaml"
SAMPLE = ROOT / "tests" / "fixtures" / "sample.v1.yaml"
BENCHMARKS = ROOT / "BENCHMARKS.md"
FLIP = {"ping": ("to_pong", "pong"), "pong": ("to_ping", "ping")}
TO_APPROVED = [
    ("book_visit", {}),
    ("apply", {"application_on": "2026-11-02"}),
    ("book_panel", {"report_authorised_on": "2026-11-02"}),
    ("recommend", {"minutes_received_on": "2026-11-02"}),
    ("approve", {}),
]
ADMIN = "admin@bench.test"
MOVER = "mover@bench.test"
#: The sample journey's roles for these moves (book_panel, recommend, approve) on top of case.fire.
MOVER_ROLES = ("caseworker", "panel_coordinator", "agency_decision_maker")
GOAL_PLAIN = 0.40
GOAL_RULES = 0.25
GOAL_RSS_MB = 20.0
PATHS = ("raw, no rules", "service, no rules", "raw, sample rules", "service, sample rules")
#: Before and after issue 8 point 9 (A/B runs of this bench), what cProfile showed, what changed. Kept in the report.
PROFILE_NOTES = (
    "Issue 8 point 9, A/B on 2026-11-30: this bench on the tree just before the changes (before) and after them,",
    "run alternately on a quiet machine (load average < 1), 7 paired rounds each; min / median / max of the",
    "per-round ratios:",
    "",
    "| per transition | before, run 1 | before, run 2 | after, run 1 | after, run 2 |",
    "|---|---:|---:|---:|---:|",
    "| service/raw, no rules | 25 / 28 / 33% | 22 / 27 / 30% | 40 / 42 / 50% | 37 / 47 / 51% |",
    "| service/raw, sample rules | 13 / 16 / 19% | 13 / 16 / 20% | 41 / 50 / 58% | 41 / 45 / 51% |",
    "| service sample rules / raw ping-pong | 6 / 8 / 8% | 5 / 8 / 8% | 17 / 21 / 25% | 17 / 20 / 23% |",
    "| statements, no rules (raw 3.0) | 3.0 | 3.0 | 3.0 | 3.0 |",
    "| statements, sample rules (raw 6.4) | 8.0 | 8.0 | 6.4 | 6.4 |",
    "| transactions per fire (engines) | 1 (1) | 1 (1) | 1 (1) | 1 (1) |",
    "",
    "Before, cProfile showed SQLAlchemy's execution of each statement (cache key, parameter processing, result",
    "object; ~25 µs) as most of the Python time: a Core-only loop of the three ping-pong statements, with no",
    "service at all, was itself at ~25% of raw. Each deadline change re-selected the case's deadline keys and the",
    "fired timer keys, and the pending-timer DELETE with two or more deadline ids used ix_timer_pending (fired_at,",
    "fire_at): a scan of every pending timer in the database, per transition (SQLite's plan; the raw path here",
    "deletes by the deadline index, as the service now does).",
    "",
    "Changes: on SQLite the case-change statements (case, event, deadlines, timers) run as `storage.db.Prepared`: the",
    "SQL SQLAlchemy compiled from the same prebuilt Core statements, with each column type's own bind and result",
    "processors, on the DBAPI connection inside the same SQLAlchemy transaction; any statement listener (or echo)",
    "sends everything back through `Connection.execute`, so the counts above are of the same SQL. PostgreSQL keeps",
    "Core. Deadlines read with their ids are updated by id in one executemany, new ones upserted (ON CONFLICT on",
    "the case, rule and cycle: a void one comes back with its id); timers are inserted with ON CONFLICT DO NOTHING",
    "on uq_timer_deadline_key (a fired key is not planned again) instead of selecting fired keys first; pending",
    "timers are deleted by deadline id (executemany, `+fired_at` keeps SQLite off ix_timer_pending). The service",
    "reads deadlines only when the event can change one (`engine.deadlines.may_change`: book_panel now writes the",
    "case and its event only); rule limits are parsed once per workflow.",
    "",
    "What remains per ping-pong fire (~170 µs against raw's ~60-75 µs, quiet machine, perf_counter around each",
    "part): SQLite's COMMIT (~55 µs, the same in both), the three statements (~45 µs: JSON and date conversions of",
    "facts, payload and stamps are most of it; raw passes facts through as text), SQLAlchemy's connection checkout,",
    "begin and close (~30 µs), the shared `transitions` machine (~11 µs), and the service itself (authorization,",
    "checks, the event, domain events: ~30 µs).",
)


def registry() -> WorkflowRegistry:
    """The ping-pong and sample journeys, each compiled once."""
    return WorkflowRegistry([compile_workflow(load_workflow(PINGPONG)), compile_workflow(load_workflow(SAMPLE))])


def fresh_app(directory: Path, name: str, workflows: WorkflowRegistry) -> tuple[App, Actor]:
    """A migrated SQLite file, an app on it with a fixed clock, and the user who moves cases."""
    url = f"sqlite:///{directory / name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = App(settings=Settings(database_url=url), clock=FixedClock(NOW), engine=make_engine(url), workflows=workflows)
    app.people.add_user(ADMIN, "Admin", ["admin"], None)
    app.people.add_user(MOVER, "Mover", list(MOVER_ROLES), ADMIN)
    app.people.add_team("Bench", ADMIN, members=[MOVER])
    mover = app.directory.actor(MOVER)
    app.read_engine.dispose()
    return app, mover


def open_cases(app: App, actor: Actor, workflow: str, n: int) -> list[str]:
    return [app.cases.open_case(workflow, actor).ref for _ in range(n)]


# -- the service paths ----------------------------------------------------------------------


def service_no_rules(app: App, actor: Actor, refs: list[str], states: dict[str, str], n: int) -> float:
    """Transitions/s of ``CaseService.fire`` on the ping-pong journey."""
    fire = app.cases.fire
    start = time.perf_counter()
    for i in range(n):
        ref = refs[i % len(refs)]
        trigger, dest = FLIP[states[ref]]
        fire(ref, trigger, actor)
        states[ref] = dest
    return n / (time.perf_counter() - start)


def service_sample_journey(app: App, actor: Actor, refs: Sequence[str]) -> float:
    """Transitions/s of ``CaseService.fire`` walking ``refs`` (fresh sample cases) from enquiry to approved."""
    fire = app.cases.fire
    start = time.perf_counter()
    for trigger, facts in TO_APPROVED:
        for ref in refs:
            fire(ref, trigger, actor, facts=facts)
    return len(refs) * len(TO_APPROVED) / (time.perf_counter() - start)


# -- the raw paths --------------------------------------------------------------------------

SELECT_CASE = 'SELECT id, state, status, facts, owner_id, team_id, last_seq, version FROM "case" WHERE ref = ?'
UPDATE_CASE = (
    'UPDATE "case" SET state = ?, status = ?, held_from = NULL, facts = ?, owner_id = ?, team_id = ?, '
    "exit_reason = NULL, last_event_on = ?, last_seq = ?, version = ?, updated_at = ? "
    "WHERE id = ? AND version = ?"
)
INSERT_EVENT = (
    "INSERT INTO case_event (case_id, seq, trigger, from_state, to_state, effective_on, recorded_at, "
    "actor_id, note, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
DEADLINE_FIELDS = (
    "start_on", "raw_due_on", "due_on", "status", "met_on", "paused_since", "paused_days", "paused_working_days",
)  # fmt: skip
SELECT_DEADLINES = (
    f"SELECT id, rule, cycle, {', '.join(DEADLINE_FIELDS)} FROM deadline WHERE case_id = ? AND status != 'void'"
)
UPDATE_DEADLINE = f"UPDATE deadline SET {', '.join(f'{n} = ?' for n in DEADLINE_FIELDS)} WHERE id = ?"
INSERT_DEADLINE = (
    f"INSERT INTO deadline (case_id, rule, cycle, {', '.join(DEADLINE_FIELDS)}) "
    f"VALUES (?, ?, ?, {', '.join('?' for _ in DEADLINE_FIELDS)})"
)
INSERT_TIMER = (
    "INSERT INTO timer (deadline_id, case_id, key, kind, tier, fire_on, fire_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
STAMP = NOW.replace(tzinfo=None).isoformat(sep=" ")


def _sql(v: Any) -> Any:
    """A value as the sqlite3 module stores it for carepath's columns (dates and naive UTC stamps as text)."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    return v


@dataclass
class Step:
    """One move of the sample walk, as the rows it writes (computed once, before timing)."""

    trigger: str
    dest: str
    status: str
    facts: str
    payload: str
    updates: list[tuple[tuple[str, int], tuple[Any, ...]]] = field(default_factory=list)
    inserts: list[tuple[tuple[str, int], tuple[Any, ...]]] = field(default_factory=list)
    #: (rule, cycle) of each timer, then key, kind, tier, fire_on, fire_at.
    timers: list[tuple[tuple[str, int], tuple[Any, ...]]] = field(default_factory=list)

    @property
    def touched(self) -> list[tuple[str, int]]:
        return [k for k, _ in self.updates] + [k for k, _ in self.inserts]


def plan_walk(app: App, compiled: CompiledWorkflow, actor: Actor) -> list[Step]:
    """The rows each step of the sample walk writes, from the engine's own deadline fold and timer plan."""
    d = compiled.definition
    case = Case("X", d.id, d.version, d.initial, TODAY, TODAY, id=0, owner_id=actor.id)
    opening = Event(0, 1, "open", None, d.initial, TODAY, NOW, actor.id, None, {"facts": {}, "owner_id": actor.id})
    case.apply(opening, compiled.terminal)
    book = DeadlineBook(d, app.calendar, [])
    book.apply(opening)
    stored = set(book.items)
    steps: list[Step] = []
    for trigger, facts in TO_APPROVED:
        t = compiled.transition(case.state, trigger)
        assert t is not None
        ev = Event(0, 2, trigger, case.state, t.dest, TODAY, NOW, actor.id, None, {"facts": facts})
        case.apply(ev, compiled.terminal)
        book.changed = set()
        book.apply(ev)
        step = Step(trigger, t.dest, case.status, json.dumps(case.facts), json.dumps({"facts": facts}))
        for key in sorted(book.changed):
            dl = book.items[key]
            values = tuple(_sql(getattr(dl, n)) for n in DEADLINE_FIELDS)
            (step.updates if key in stored else step.inserts).append((key, values))
            for tm in plan_timers(dl, d.rule(dl.rule), app.calendar, TODAY):
                step.timers.append((key, (tm.key, tm.kind, tm.tier, _sql(tm.fire_on), _sql(tm.fire_at))))
        stored |= book.changed
        steps.append(step)
    return steps


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def raw_no_rules(conn: Any, actor_id: int, refs: list[str], n: int) -> float:
    """Transitions/s writing the ping-pong rows with the sqlite3 module."""
    execute = conn.execute
    payload, today = json.dumps({"facts": {}}), TODAY.isoformat()
    start = time.perf_counter()
    for i in range(n):
        ref = refs[i % len(refs)]
        execute("BEGIN IMMEDIATE")
        case_id, state, status, facts, owner, team, seq, version = execute(SELECT_CASE, (ref,)).fetchone()
        trigger, dest = FLIP[state]
        done = execute(UPDATE_CASE, (dest, status, facts, owner, team, today, seq + 1, version + 1, STAMP, case_id,
                                     version))  # fmt: skip
        if done.rowcount != 1:
            raise RuntimeError(f"{ref}: version moved")
        execute(INSERT_EVENT, (case_id, seq + 1, trigger, state, dest, today, STAMP, actor_id, None, payload))
        execute("COMMIT")
    return n / (time.perf_counter() - start)


def raw_sample_journey(conn: Any, actor_id: int, refs: Sequence[str], steps: list[Step]) -> float:
    """Transitions/s writing the sample walk's rows by hand (``plan_walk``)."""
    execute, executemany = conn.execute, conn.executemany
    today = TODAY.isoformat()
    start = time.perf_counter()
    for step in steps:
        touched = step.touched
        # "+fired_at": with two ids or more, SQLite's planner would otherwise pick ix_timer_pending
        # (fired_at, fire_at) and scan every pending timer (O(open deadlines), not O(this case)).
        delete_timers = (
            f"DELETE FROM timer WHERE deadline_id IN ({', '.join('?' for _ in touched)}) AND +fired_at IS NULL"
        )
        for ref in refs:
            execute("BEGIN IMMEDIATE")
            case_id, state, _, _, owner, team, seq, version = execute(SELECT_CASE, (ref,)).fetchone()
            done = execute(UPDATE_CASE, (step.dest, step.status, step.facts, owner, team, today, seq + 1, version + 1,
                                         STAMP, case_id, version))  # fmt: skip
            if done.rowcount != 1:
                raise RuntimeError(f"{ref}: version moved")
            execute(INSERT_EVENT, (case_id, seq + 1, step.trigger, state, step.dest, today, STAMP, actor_id, None,
                                   step.payload))  # fmt: skip
            if touched:  # a step that changes no deadline reads none
                ids = {(r[1], r[2]): r[0] for r in execute(SELECT_DEADLINES, (case_id,))}
                if step.updates:
                    executemany(UPDATE_DEADLINE, [(*values, ids[key]) for key, values in step.updates])
                for key, values in step.inserts:
                    ids[key] = execute(INSERT_DEADLINE, (case_id, *key, *values)).lastrowid
                execute(delete_timers, [ids[k] for k in touched])
                if step.timers:
                    executemany(INSERT_TIMER, [(ids[key], case_id, *row) for key, row in step.timers])
            execute("COMMIT")
    return len(refs) * len(steps) / (time.perf_counter() - start)


class CountingConnection:
    """A sqlite3 connection that counts statements (``execute``/``executemany`` calls) and transactions."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.counts: Counter[str] = Counter()

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self.counts["transactions" if sql == "BEGIN IMMEDIATE" else "control" if sql == "COMMIT" else "statements"] += 1
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        self.counts["statements"] += 1
        return self.conn.executemany(sql, rows)


# -- counting (a separate run: listeners slow SQLAlchemy) ----------------------------------------


@dataclass
class SqlCounts:
    """Statements (``before_cursor_execute``: one per execute or executemany) and transactions by engine."""

    statements: Counter[str] = field(default_factory=Counter)
    transactions: Counter[str] = field(default_factory=Counter)
    by_trigger: dict[str, Counter[str]] = field(default_factory=dict)

    def listen(self, engine: Engine, name: str) -> None:
        def on_statement(*_: Any) -> None:
            self.statements[name] += 1

        def on_begin(*_: Any) -> None:
            self.transactions[name] += 1

        event.listen(engine, "before_cursor_execute", on_statement)
        event.listen(engine, "begin", on_begin)

    def snapshot(self) -> tuple[int, int, int]:
        return sum(self.statements.values()), sum(self.transactions.values()), len(+self.transactions)

    def reset(self) -> None:
        self.statements.clear()
        self.transactions.clear()


@dataclass(frozen=True)
class PerTransition:
    statements: float
    transactions: float
    engines: int
    by_trigger: tuple[tuple[str, float, float], ...] = ()


def count_service(directory: Path, workflows: WorkflowRegistry, n_plain: int, n_cases: int) -> dict[str, PerTransition]:
    """Statements and transactions per ``fire`` on both journeys, listeners on the write and the read engine."""
    app, mover = fresh_app(directory, "counting.db", workflows)
    counts = SqlCounts()
    counts.listen(app.engine, "write")
    counts.listen(app.read_engine, "read")
    refs = open_cases(app, mover, "pingpong", 20)
    states = dict.fromkeys(refs, "ping")
    counts.reset()
    service_no_rules(app, mover, refs, states, n_plain)
    statements, transactions, _ = counts.snapshot()
    plain = PerTransition(statements / n_plain, transactions / n_plain, len(+counts.transactions))
    refs = open_cases(app, mover, "sample", n_cases)
    per: list[tuple[str, float, float]] = []
    engines: set[str] = set()
    total_s = total_t = 0
    for trigger, facts in TO_APPROVED:
        counts.reset()
        for ref in refs:
            app.cases.fire(ref, trigger, mover, facts=facts)
        s, t, _ = counts.snapshot()
        engines |= set(+counts.transactions)
        per.append((trigger, s / len(refs), t / len(refs)))
        total_s, total_t = total_s + s, total_t + t
    n = len(refs) * len(TO_APPROVED)
    rules = PerTransition(total_s / n, total_t / n, len(engines), tuple(per))
    app.dispose()
    return {"no rules": plain, "sample rules": rules}


def count_raw(
    directory: Path, workflows: WorkflowRegistry, n_plain: int, n_cases: int
) -> tuple[dict[str, PerTransition], list[Step]]:
    """Statements and transactions per transition of the raw paths (a counting connection)."""
    app, mover = fresh_app(directory, "counting-raw.db", workflows)
    plain_refs = open_cases(app, mover, "pingpong", 20)
    sample_refs = open_cases(app, mover, "sample", n_cases)
    steps = plan_walk(app, workflows.latest("sample"), mover)
    app.dispose()
    out: dict[str, PerTransition] = {}
    conn = CountingConnection(raw_connection(directory / "counting-raw.db"))
    raw_no_rules(conn, mover.id, plain_refs, n_plain)
    out["no rules"] = PerTransition(conn.counts["statements"] / n_plain, conn.counts["transactions"] / n_plain, 1)
    per: list[tuple[str, float, float]] = []
    for step in steps:
        conn.counts.clear()
        raw_sample_journey(conn, mover.id, sample_refs, [step])
        per.append((step.trigger, conn.counts["statements"] / n_cases, conn.counts["transactions"] / n_cases))
    out["sample rules"] = PerTransition(
        sum(p[1] for p in per) / len(per), sum(p[2] for p in per) / len(per), 1, tuple(per)
    )
    conn.conn.close()
    return out, steps


# -- the same rows? -----------------------------------------------------------------------------


def walked_rows(path: Path, ref: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], tuple[Any, ...]]:
    """A walked case's deadlines, timers and row, without ids or stamps (to compare service and raw)."""
    conn = sqlite3.connect(path)
    try:
        (case_id,) = conn.execute('SELECT id FROM "case" WHERE ref = ?', (ref,)).fetchone()
        deadlines = conn.execute(
            f"SELECT rule, cycle, {', '.join(DEADLINE_FIELDS)} FROM deadline WHERE case_id = ? ORDER BY rule, cycle",
            (case_id,),
        ).fetchall()
        timers = conn.execute(
            "SELECT d.rule, t.key, t.kind, t.tier, t.fire_on, t.fire_at, t.fired_at FROM timer t "
            "JOIN deadline d ON d.id = t.deadline_id WHERE t.case_id = ? ORDER BY t.key",
            (case_id,),
        ).fetchall()
        row = conn.execute(
            'SELECT state, status, held_from, facts, exit_reason, last_event_on, last_seq, version FROM "case" '
            "WHERE id = ?",
            (case_id,),
        ).fetchone()
    finally:
        conn.close()
    return deadlines, [tuple(t) for t in timers], tuple(row)


def _canon(rows: Any) -> str:
    return json.dumps(rows, sort_keys=True, default=str).replace(".000000", "")


# -- memory ---------------------------------------------------------------------------------


def rss_mb() -> float:
    gc.collect()
    return float(psutil.Process().memory_info().rss) / 2**20


def rss_growth(app: App, actor: Actor, small: int, large: int) -> tuple[float, float, float]:
    """RSS (MiB) after opening and moving ``small`` cases, then ``large`` in total; and seconds taken."""
    start = time.perf_counter()
    marks: dict[int, float] = {}
    for i in range(1, large + 1):
        ref = app.cases.open_case("pingpong", actor).ref
        app.cases.fire(ref, "to_pong", actor)
        if i in (small, large):
            marks[i] = rss_mb()
    return marks[small], marks[large], time.perf_counter() - start


# -- the run --------------------------------------------------------------------------------


@dataclass
class Rounds:
    rates: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PATHS})

    def ratios(self, kind: str, raw: str | None = None) -> list[float]:
        """Per round: service on ``kind`` / raw on ``raw`` (default: the same journey)."""
        service, against = self.rates[f"service, {kind}"], self.rates[f"raw, {raw or kind}"]
        return [s / r for s, r in zip(service, against, strict=True)]


def spread(values: Sequence[float], fmt: str = "{:.0%}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small numbers; do not write BENCHMARKS.md")
    parser.add_argument("--transitions", type=int, default=3000, help="transitions per round and path")
    parser.add_argument("--cases", type=int, default=200, help="cases the ping-pong transitions cycle over")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rss-cases", type=int, default=100_000)
    parser.add_argument("--no-write", action="store_true", help="print only; do not write BENCHMARKS.md")
    args = parser.parse_args()
    if args.quick:
        args.transitions, args.rounds, args.rss_cases = 1000, 2, 5000
    n = args.transitions
    walk = max(1, n // len(TO_APPROVED))  # sample cases walked per round and path
    workflows = registry()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        print("counting statements and transactions (separate run, listeners on)...", flush=True)
        service_counts = count_service(directory, workflows, 500, 100)
        raw_counts, steps = count_raw(directory, workflows, 500, 100)

        plain, mover = fresh_app(directory, "plain.db", workflows)
        rules, rules_mover = fresh_app(directory, "rules.db", workflows)
        raw_app, raw_mover = fresh_app(directory, "raw.db", workflows)
        plain_refs = open_cases(plain, mover, "pingpong", args.cases)
        plain_states = dict.fromkeys(plain_refs, "ping")
        raw_plain_refs = open_cases(raw_app, raw_mover, "pingpong", args.cases)
        print(f"opening {2 * args.rounds * walk:,} sample cases...", flush=True)
        rules_refs = [open_cases(rules, rules_mover, "sample", walk) for _ in range(args.rounds)]
        raw_rules_refs = [open_cases(raw_app, raw_mover, "sample", walk) for _ in range(args.rounds)]
        raw_app.dispose()
        raw = raw_connection(directory / "raw.db")

        paths: dict[str, Callable[[int], float]] = {
            "raw, no rules": lambda r: raw_no_rules(raw, raw_mover.id, raw_plain_refs, n),
            "service, no rules": lambda r: service_no_rules(plain, mover, plain_refs, plain_states, n),
            "raw, sample rules": lambda r: raw_sample_journey(raw, raw_mover.id, raw_rules_refs[r], steps),
            "service, sample rules": lambda r: service_sample_journey(rules, rules_mover, rules_refs[r]),
        }
        print(f"{n:,} transitions per round and path ({walk} sample cases walked), {args.rounds} paired rounds")
        rounds = Rounds()
        for r in range(args.rounds):
            order = PATHS if r % 2 == 0 else ("service, no rules", "raw, no rules", "service, sample rules",
                                              "raw, sample rules")  # fmt: skip
            for name in order:
                rate = paths[name](r)
                rounds.rates[name].append(rate)
                print(f"  round {r + 1}: {name:<24} {rate:>9,.0f} /s", flush=True)
            print(f"  round {r + 1}: service/raw no rules {rounds.ratios('no rules')[-1]:.0%}, "
                  f"sample rules {rounds.ratios('sample rules')[-1]:.0%}", flush=True)  # fmt: skip
        raw.close()
        same = _canon(walked_rows(directory / "rules.db", rules_refs[0][0])) == _canon(
            walked_rows(directory / "raw.db", raw_rules_refs[0][0])
        )
        if not same:
            print("WARNING: the raw sample walk did not write the service's rows:")
            print(" service", walked_rows(directory / "rules.db", rules_refs[0][0]))
            print(" raw    ", walked_rows(directory / "raw.db", raw_rules_refs[0][0]))
        for app in (plain, rules):
            app.dispose()
        memory, memory_mover = fresh_app(directory, "memory.db", workflows)
        small = min(1000, args.rss_cases)
        print(f"opening and moving {args.rss_cases:,} cases for RSS...", flush=True)
        rss_small, rss_large, seconds = rss_growth(memory, memory_mover, small, args.rss_cases)
        memory.dispose()
    report = render(args, rounds, service_counts, raw_counts, same, (small, rss_small), (args.rss_cases, rss_large),
                    seconds)  # fmt: skip
    print()
    print(report)
    if not (args.quick or args.no_write):
        write_section(report)
        print(f"written to {BENCHMARKS.relative_to(ROOT)}")


def render(
    args: argparse.Namespace,
    rounds: Rounds,
    service: dict[str, PerTransition],
    raw: dict[str, PerTransition],
    same: bool,
    small: tuple[int, float],
    large: tuple[int, float],
    seconds: float,
) -> str:
    """The "Transitions" section of BENCHMARKS.md."""
    plain, rules = rounds.ratios("no rules"), rounds.ratios("sample rules")
    rules_vs_plain = rounds.ratios("sample rules", raw="no rules")
    growth = large[1] - small[1]
    command = " ".join(["python", "bench/transitions.py", *map(shlex.quote, sys.argv[1:])])
    rate_rows = [f"| {name} | {spread(rates, '{:,.0f}')} |" for name, rates in rounds.rates.items()]

    def verdict(ratios: list[float], goal: float) -> str:
        """Judged on the median round; the min shows how close the worst round came."""
        return "met (median)" if statistics.median(ratios) >= goal else "MISSED (median)"

    rules_s = service["sample rules"]
    one_tx = rules_s.transactions == 1.0 and rules_s.engines == 1 and service["no rules"].transactions == 1.0
    count_rows = [
        f"| {kind} | {service[kind].statements:.1f} | {raw[kind].statements:.1f} | "
        f"{service[kind].transactions:.2f} | {service[kind].engines} | {raw[kind].transactions:.0f} |"
        for kind in ("no rules", "sample rules")
    ]
    step_rows = [
        f"| {trigger} | {s:.1f} | {r:.1f} | {t:.0f} |"
        for (trigger, s, t), (_, r, _) in zip(rules_s.by_trigger, raw["sample rules"].by_trigger, strict=True)
    ]
    return "\n".join(
        [
            "## Transitions",
            "",
            f"`{command}` on {datetime.now(UTC):%Y-%m-%d} (Python {sys.version.split()[0]}, "
            f"SQLite {sqlite3.sqlite_version}, {psutil.cpu_count()} cores, shared machine: other engineers' tests ran "
            "meanwhile, so only ratios within a round are compared).",
            f"Each of {args.rounds} paired rounds times every path once on SQLite files (WAL, synchronous=NORMAL, "
            f"BEGIN IMMEDIATE): {args.transitions:,} ping-pong transitions over {args.cases} cases, and "
            f"{args.transitions // len(TO_APPROVED):,} fresh sample cases walked enquiry -> approved "
            f"({args.transitions // len(TO_APPROVED) * len(TO_APPROVED):,} transitions, every one under deadline rules "
            "S1-S4). Service = `CaseService.fire` as a caseworker (authorized, domain events published, one unit of "
            "work); raw = the sqlite3 module writing the same rows with the values computed beforehand "
            f"(same rows checked on one walked case: {'yes' if same else 'NO'}). Opening cases is not timed.",
            "",
            "| service / raw, per paired round | min / median / max | goal |",
            "|---|---:|---:|",
            f"| no rules (ping-pong) | {spread(plain)} | >= {GOAL_PLAIN:.0%}: {verdict(plain, GOAL_PLAIN)} |",
            f"| sample rules (S1-S4) | {spread(rules)} | >= {GOAL_RULES:.0%}: {verdict(rules, GOAL_RULES)} |",
            f"| sample rules / raw ping-pong (how the old 9% was measured) | {spread(rules_vs_plain)} | - |",
            "",
            "| write path | transitions/s, min / median / max of the rounds |",
            "|---|---:|",
            *rate_rows,
            "",
            "Per transition, from a separate counting run (SQLAlchemy `before_cursor_execute` and `begin` listeners "
            "on the write and the read engine; one statement = one execute or executemany; BEGIN and COMMIT not "
            "counted as statements):",
            "",
            "| journey | service statements | raw statements | service transactions | engines | raw transactions |",
            "|---|---:|---:|---:|---:|---:|",
            *count_rows,
            "",
            "| sample step | service statements | raw statements | service transactions |",
            "|---|---:|---:|---:|",
            *step_rows,
            "",
            f"One `case fire` with deadline rules is one transaction on one engine: **{'yes' if one_tx else 'NO'}**.",
            "",
            "| cases opened and moved once (service, ping-pong) | process RSS |",
            "|---:|---:|",
            f"| {small[0]:,} | {small[1]:.1f} MiB |",
            f"| {large[0]:,} | {large[1]:.1f} MiB |",
            "",
            f"RSS growth **{growth:+.1f} MiB** from {small[0]:,} to {large[0]:,} cases "
            f"(goal < {GOAL_RSS_MB:.0f} MB: {'met' if growth < GOAL_RSS_MB else 'MISSED'}); "
            f"{large[0]:,} cases opened and moved in {seconds:.0f} s.",
            "",
            *PROFILE_NOTES,
            "",
        ]
    )


def write_section(section: str) -> None:
    """Replace (or add) the "## Transitions" section of BENCHMARKS.md, keeping the others."""
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# carepath benchmarks\n"
    lines = text.splitlines()
    try:
        start = lines.index("## Transitions")
    except ValueError:
        BENCHMARKS.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "\n".join(lines[end:])
    BENCHMARKS.write_text("\n".join(lines[:start]) + "\n" + section + ("\n" + rest + "\n" if rest else ""), "utf-8")


if __name__ == "__main__":
    main()
