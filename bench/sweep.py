"""How long the sweep takes to raise 10,000 due timers with their outbox rows, and that it costs O(due), not O(open).

    .venv/bin/python bench/sweep.py          # 5 paired rounds: SQLite 100k / 1M open; PostgreSQL 1 / 2 workers
    .venv/bin/python bench/sweep.py --quick  # smaller, for a smoke run
    .venv/bin/python bench/sweep.py --rounds 3 --no-postgres

Each database is bulk-loaded once (bench/timerload.py: 10,000 cases in 10 teams of a manager and
20 caseworkers, every case owned by a caseworker; N open deadlines with one breach timer each,
10,000 of them due) and copied fresh for every sweep (the SQLite file; PostgreSQL ``CREATE
DATABASE ... TEMPLATE``). A round times, in alternating order, both sides of each pair on fresh
copies: SQLite 100,000 vs 1,000,000 open (in this process), and PostgreSQL 100,000 open swept by
1 vs 2 worker processes (started, warmed up, then told to go together). After every sweep the
bench asserts that each due timer was raised once, with one notice event and one outbox row.
Ratios are taken per round, then min / median / max over the rounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
# As a script, bench/ comes first on sys.path and bench/transitions.py would shadow the
# transitions package: put the repository root first instead.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench.timerload import load  # noqa: E402
from carepath.config.bootstrap import App, load_registry  # noqa: E402
from carepath.config.settings import Settings  # noqa: E402
from carepath.engine.clock import FixedClock  # noqa: E402
from carepath.storage.db import make_engine  # noqa: E402
from carepath.storage.migrate import upgrade  # noqa: E402
from carepath.storage.people import ensure_system_user  # noqa: E402

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FIXTURES = ROOT / "tests" / "fixtures"
PG = os.environ.get("CAREPATH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WORKER = """
import sys, time
from datetime import datetime
from pathlib import Path
from carepath.config.bootstrap import App, load_registry
from carepath.config.settings import Settings
from carepath.engine.clock import FixedClock
from carepath.storage.db import make_engine
app = App(Settings(database_url=sys.argv[1]), FixedClock(datetime.fromisoformat(sys.argv[2])),
          make_engine(sys.argv[1]), load_registry(Path(sys.argv[3])))
timers, system = app.timers, app.system
sys.stdout.write("ready\\n"); sys.stdout.flush(); sys.stdin.readline()
t = time.perf_counter(); n = timers.sweep(system).total
print(n, time.perf_counter() - t, flush=True)
"""


TEAMS, WORKERS_PER_TEAM = 10, 20


def _prepare(url: str, open_: int, due: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    ensure_system_user(engine, FixedClock(NOW))
    load(
        engine,
        deadlines=open_,
        due=due,
        cases=min(open_, 10_000),
        now=NOW,
        teams=TEAMS,
        workers_per_team=WORKERS_PER_TEAM,
    )
    engine.dispose()


def _check(url: str, due: int, raised: int) -> int:
    """Assert every due timer was raised once with its notice event and outbox row; the outbox rows."""
    engine = make_engine(url)
    with engine.connect() as c:
        fired: int = c.execute(
            text("SELECT count(*) FROM timer WHERE fired_at IS NOT NULL AND outcome = 'raised'")
        ).scalar_one()
        notices: int = c.execute(
            text("SELECT count(*) FROM case_event WHERE trigger = 'deadline_breached'")
        ).scalar_one()
        outbox: int = c.execute(text("SELECT count(*) FROM outbox WHERE kind = 'breach'")).scalar_one()
        owners: int = c.execute(
            text(
                'SELECT count(DISTINCT o.case_id) FROM outbox o JOIN "case" c ON c.id = o.case_id '
                "WHERE c.owner_id IS NOT NULL"
            )
        ).scalar_one()
    engine.dispose()
    assert raised == fired == notices == outbox == due, (raised, fired, notices, outbox, due)
    assert owners == min(due, 10_000), owners
    return int(outbox)


def sweep_in_process(url: str) -> tuple[int, float]:
    """Time one full sweep in this process."""
    app = App(Settings(database_url=url), FixedClock(NOW), make_engine(url), load_registry(FIXTURES))
    timers, system = app.timers, app.system  # wired before the clock starts
    t = time.perf_counter()
    n = timers.sweep(system).total
    elapsed = time.perf_counter() - t
    app.dispose()
    return n, elapsed


def sweep_in_workers(url: str, workers: int) -> tuple[int, float, list[int]]:
    """Time a sweep shared by ``workers`` processes, started together once warmed up; and each one's share."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, NOW.isoformat(), str(FIXTURES)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    t = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    shares = [int(p.communicate()[0].split()[0]) for p in procs]
    return sum(shares), time.perf_counter() - t, shares


def _admin_exec(sql: str) -> None:
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(sql))
    admin.dispose()


def _pg_url(name: str) -> str:
    return PG.rsplit("/", 1)[0] + "/" + name


def _pg_create(name: str, template: str | None = None) -> str:
    _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin_exec(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return _pg_url(name)


def _drop_pg(name: str) -> None:
    """Drop one of the bench's databases (each holds 100,000 deadlines)."""
    _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _mmm(xs: list[float], fmt: str = "{:.2f}") -> str:
    return " / ".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    big, small, due = (200_000, 20_000, 10_000) if args.quick else (1_000_000, 100_000, 10_000)
    pg = not args.no_postgres
    times: dict[str, list[float]] = {"sqlite_small": [], "sqlite_big": [], "pg1": [], "pg2": []}
    shares2: list[list[int]] = []
    outbox_rows: list[int] = []
    base = f"cp_bench_{os.getpid()}"
    print(f"load average at start: {_load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        masters = {}
        for label, open_ in (("sqlite_small", small), ("sqlite_big", big)):
            masters[label] = f"{tmp}/master_{open_}.db"
            t = time.perf_counter()
            _prepare(f"sqlite:///{masters[label]}", open_, due)
            print(f"loaded SQLite {open_:,} open in {time.perf_counter() - t:.1f} s", flush=True)
        if pg:
            t = time.perf_counter()
            _prepare(_pg_create(base), small, due)
            print(f"loaded PostgreSQL {small:,} open in {time.perf_counter() - t:.1f} s", flush=True)
        try:
            for r in range(args.rounds):
                sq = ["sqlite_small", "sqlite_big"]
                pw = [1, 2]
                if r % 2:
                    sq.reverse()
                    pw.reverse()
                line = [f"round {r + 1} (load {_load()}):"]
                for label in sq:
                    path = f"{tmp}/run.db"
                    shutil.copyfile(masters[label], path)
                    url = f"sqlite:///{path}"
                    n, secs = sweep_in_process(url)
                    outbox_rows.append(_check(url, due, n))
                    os.remove(path)
                    times[label].append(secs)
                    line.append(f"{label} {secs:.2f} s")
                for w in pw if pg else []:
                    name = f"{base}_run"
                    url = _pg_create(name, template=base)
                    try:
                        n, secs, shares = sweep_in_workers(url, w)
                        outbox_rows.append(_check(url, due, n))
                    finally:
                        _drop_pg(name)
                    times[f"pg{w}"].append(secs)
                    if w == 2:
                        shares2.append(shares)
                    line.append(f"pg {w} worker{'s' if w > 1 else ''} {secs:.2f} s")
                print("  ".join(line), flush=True)
        finally:
            if pg:
                _drop_pg(base)
    n_rounds = args.rounds
    print(f"\nload average at end: {_load()}")
    print(f"outbox rows written per sweep: {sorted(set(outbox_rows))} (asserted = raised = notices = {due:,})")
    print(f"\n{'scenario':<34} {'seconds, min / median / max':>28} {'raised/s (median)':>18}")
    rows = [("SQLite, " + f"{small:,} open", "sqlite_small"), ("SQLite, " + f"{big:,} open", "sqlite_big")]
    if pg:
        rows += [(f"PostgreSQL, {small:,} open, 1 worker", "pg1"), (f"PostgreSQL, {small:,} open, 2 workers", "pg2")]
    for name, key in rows:
        print(f"{name:<34} {_mmm(times[key]):>28} {due / statistics.median(times[key]):>18,.0f}")
    ratio = [b / s for b, s in zip(times["sqlite_big"], times["sqlite_small"], strict=True)]
    print(f"\nper-round {big:,} open / {small:,} open: {_mmm(ratio)} (goal <= 1.20)")
    worst = max(times["sqlite_big"] + times["sqlite_small"])
    print(
        f"{due:,} due with their outbox rows raised on SQLite in <= 2 s: "
        f"{'met' if worst <= 2 else 'MISSED'} (slowest {worst:.2f} s)"
    )
    if pg:
        speed = [a / b for a, b in zip(times["pg1"], times["pg2"], strict=True)]
        print(f"per-round PostgreSQL 1 worker / 2 workers: {_mmm(speed)} (goal >= 1.60)")
        print(f"2 workers' shares: {shares2}")
    print(f"rounds: {n_rounds}")


if __name__ == "__main__":
    main()
