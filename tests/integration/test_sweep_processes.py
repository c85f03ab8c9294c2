"""Sweep reliability with real processes and databases.

Two worker processes on PostgreSQL over 20,000 due timers raise each once; a sweeper
killed with SIGKILL mid-sweep leaves nothing lost or doubled (its claimed rows come back
after the lease); a worker restarted after 7 days of downtime raises everything once. Each
sweeper is a process of its own, as carepath's scheduler: ``TimerService.sweep`` as the system
user, claiming with ``SqlTimerClaims`` and writing notices through the unit of work.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.timerload import load
from carepath.storage.db import make_engine
from carepath.storage.migrate import upgrade
from carepath.storage.tables import CASES, EVENTS, TIMERS
from tests.conftest import FIXTURES, drop_pg, fresh_pg_url

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

SWEEP_SCRIPT = textwrap.dedent("""
    import sys
    from datetime import datetime, timedelta
    from pathlib import Path
    from carepath.config.bootstrap import App, load_registry
    from carepath.config.settings import Settings
    from carepath.engine.clock import FixedClock
    from carepath.engine.services import TimerService
    from carepath.storage.db import make_engine
    from carepath.storage.sweep import SqlTimerClaims
    url, now, batch, lease = sys.argv[1], datetime.fromisoformat(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    clock = FixedClock(now)
    app = App(Settings(database_url=url), clock, make_engine(url), load_registry(Path(sys.argv[5])))
    claims = SqlTimerClaims(app.engine, clock, timedelta(seconds=lease), batch=batch)
    timers = TimerService(app.uow, claims, app.workflows, clock)  # app.timers with this batch size
    total = 0
    while True:  # one batch at a time, reporting progress so a test can kill it mid-sweep
        n = timers.sweep(app.system, max_batches=1).total
        if not n:
            break
        total += n
        print("progress", total, flush=True)
    print(total, flush=True)
""")


def _sweep_process(url: str, now: datetime, batch: int = 500, lease: float = 300) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SWEEP_SCRIPT, url, now.isoformat(), str(batch), str(lease), str(FIXTURES)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _counts(url: str) -> tuple[int, int, int]:
    """Breach notices written, distinct (case, cycle) among them, and due timers not yet fired."""
    E, T = EVENTS.c, TIMERS.c
    engine = make_engine(url)
    with engine.connect() as conn:
        raised = conn.execute(
            select(func.count()).select_from(EVENTS).where(E.trigger == "deadline_breached")
        ).scalar_one()
        distinct = conn.execute(
            select(func.count(func.distinct(E.case_id * 1_000 + E.payload["cycle"].as_integer()))).where(
                E.trigger == "deadline_breached"
            )
        ).scalar_one()
        pending = conn.execute(
            select(func.count()).select_from(TIMERS).where(T.fired_at.is_(None), T.fire_at <= NOW)
        ).scalar_one()
    engine.dispose()
    return raised, distinct, pending


def _histories_numbered(url: str) -> None:
    """Every case's notices are numbered without gap or repeat, and its ``last_seq`` is the last of them."""
    engine = make_engine(url)
    with engine.connect() as conn:
        seqs = conn.execute(
            select(EVENTS.c.case_id, func.count(), func.min(EVENTS.c.seq), func.max(EVENTS.c.seq)).group_by(
                EVENTS.c.case_id
            )
        ).all()
        last: dict[int, int] = {r.id: r.last_seq for r in conn.execute(select(CASES.c.id, CASES.c.last_seq))}
    engine.dispose()
    # bench.timerload's cases start at last_seq 1 with no event rows: notices number from 2.
    assert seqs, "no notice was written"
    numbered = [(r[0], int(r[1]), r[2], r[3]) for r in seqs]
    bad = [(case, n, lo, hi, last[case]) for case, n, lo, hi in numbered if (lo, hi, last[case]) != (2, n + 1, n + 1)]
    assert bad == [], bad[:5]


def _prepared(url: str, due: int, deadlines: int, cases: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    load(engine, deadlines=deadlines, due=due, cases=cases, now=NOW)
    engine.dispose()


@pytest.mark.postgres
def test_two_workers_on_postgres_raise_20000_timers_once() -> None:
    url = fresh_pg_url()
    try:
        _prepared(url, due=20_000, deadlines=25_000, cases=5_000)
        procs = [_sweep_process(url, NOW, batch=500) for _ in range(2)]
        outputs = [p.communicate(timeout=300) for p in procs]
        assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outputs]
        per_worker = [int(o[0].strip().splitlines()[-1]) for o in outputs]
        assert sum(per_worker) == 20_000
        assert all(n > 0 for n in per_worker), f"one worker did all the work: {per_worker}"
        assert _counts(url) == (20_000, 20_000, 0)
        _histories_numbered(url)
    finally:
        drop_pg(url)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sigkill_mid_sweep_loses_and_doubles_nothing(backend: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}" if backend == "sqlite" else fresh_pg_url()
    try:
        _prepared(url, due=6_000, deadlines=6_000, cases=2_000)
        rng = random.Random(20261102)
        for _ in range(3):
            victim = _sweep_process(url, NOW, batch=50, lease=60)
            assert victim.stdout is not None
            for _ in range(rng.randint(1, 8)):
                victim.stdout.readline()  # wait until it is part-way through
            time.sleep(rng.random() * 0.05)  # then kill it at an arbitrary point in a batch
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
        raised_before, _, _ = _counts(url)
        assert 0 < raised_before < 6_000
        # Its claimed rows come back once the lease is over: sweep again 2 minutes later.
        survivor = _sweep_process(url, NOW + timedelta(minutes=2), batch=1000)
        out, err = survivor.communicate(timeout=300)
        assert survivor.returncode == 0, err[-2000:]
        assert _counts(url) == (6_000, 6_000, 0)
        assert raised_before + int(out.strip().splitlines()[-1]) == 6_000
        _histories_numbered(url)
    finally:
        if backend == "postgres":
            drop_pg(url)


def test_worker_restarted_after_seven_days_raises_everything_once(tmp_path: Path) -> None:
    """`carepath worker` ticks at start-up: the backlog of a week is raised on its first tick."""
    url = f"sqlite:///{tmp_path / 'down.db'}"
    _prepared(url, due=3_000, deadlines=5_000, cases=1_000)
    env = {
        **os.environ,
        "CAREPATH_DATABASE_URL": url,
        "CAREPATH_WORKFLOWS_DIR": str(FIXTURES),
        "CAREPATH_FAKE_NOW": (NOW + timedelta(days=7)).isoformat(),
        "CAREPATH_SWEEP_INTERVAL_SECONDS": "3600",
    }
    log = (tmp_path / "worker.log").open("w")  # a file, not a pipe nobody reads until the end
    worker = subprocess.Popen(
        [sys.executable, "-m", "carepath.entrypoints", "worker", "--no-mail"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _counts(url)[0] < 3_000:
            time.sleep(0.2)  # polling the database for the worker's first tick, not a deadline
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        log.close()
        output = (tmp_path / "worker.log").read_text()
    assert _counts(url) == (3_000, 3_000, 0), output[-2000:]
    _histories_numbered(url)
