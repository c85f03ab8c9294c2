"""How long the sweep takes to raise 10,000 due timers, and that it costs O(due), not O(open).

    .venv/bin/python bench/sweep.py            # SQLite: 1,000,000 and 100,000 open; PostgreSQL: 1 and 2 workers
    .venv/bin/python bench/sweep.py --quick    # smaller, for a smoke run

Each scenario loads a fresh database (bench/timerload.py), then times one full sweep.
The two SQLite runs are compared as a ratio in the same run; goal: 10,000 due in <= 2 s
and the 1,000,000-open time within 20% of the 100,000-open time.
"""

from __future__ import annotations

import argparse
import os
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


def _prepare(url: str, open_: int, due: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    ensure_system_user(engine, FixedClock(NOW))
    load(engine, deadlines=open_, due=due, cases=min(open_, 10_000), now=NOW)
    engine.dispose()


def sweep_in_process(url: str) -> tuple[int, float]:
    """Time one full sweep in this process."""
    app = App(Settings(database_url=url), FixedClock(NOW), make_engine(url), load_registry(FIXTURES))
    timers, system = app.timers, app.system  # wired before the clock starts
    t = time.perf_counter()
    n = timers.sweep(system).total
    elapsed = time.perf_counter() - t
    app.dispose()
    return n, elapsed


def sweep_in_workers(url: str, workers: int) -> tuple[int, float]:
    """Time a sweep shared by ``workers`` processes, started together once warmed up."""
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
    total = sum(int(p.communicate()[0].split()[0]) for p in procs)
    return total, time.perf_counter() - t


def _pg_db() -> str:
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    name = f"cp_bench_{os.getpid()}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG.rsplit("/", 1)[0] + "/" + name


def _drop_pg(url: str) -> None:
    """Drop the bench's database (it holds 100,000 deadlines)."""
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    big, small, due = (200_000, 20_000, 10_000) if args.quick else (1_000_000, 100_000, 10_000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for open_ in (small, big):
            url = f"sqlite:///{tmp}/sweep_{open_}.db"
            _prepare(url, open_, due)
            n, secs = sweep_in_process(url)
            rows.append(("sqlite", open_, 1, n, secs))
    if not args.no_postgres:
        for workers in (1, 2):
            url = _pg_db()
            try:
                _prepare(url, small, due)
                n, secs = sweep_in_workers(url, workers)
            finally:
                _drop_pg(url)
            rows.append(("postgresql", small, workers, n, secs))
    print(f"{'database':<11} {'open':>9} {'workers':>7} {'raised':>7} {'seconds':>8} {'per s':>8}")
    for db, open_, w, n, secs in rows:
        print(f"{db:<11} {open_:>9,} {w:>7} {n:>7,} {secs:>8.2f} {n / secs:>8,.0f}")
    sq = [r for r in rows if r[0] == "sqlite"]
    print(f"\nO(due) check: sweep with {big:,} open / with {small:,} open = {sq[1][4] / sq[0][4]:.2f} (goal <= 1.20)")
    print(f"goal: {due:,} due raised in <= 2 s on SQLite: {'met' if max(r[4] for r in sq) <= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
