"""A calendar closure's recompute: one transaction (before) against bounded batches (after).

    .venv/bin/carepath db upgrade && .venv/bin/carepath demo seed --households 12000 --children 1600
    .venv/bin/python bench/calendar_recompute.py --db /path/to/10k.db [--rounds 3] [--batch 200] [--day D]

Takes a seeded SQLite database (``CAREPATH_DATABASE_URL`` as above; about 10,000 cases) and, each
round, copies it fresh for each side, in alternating order:

- **before**: what ``CalendarService.add_override`` did until issue 9: the override and every
  affected case's recompute in one transaction (``recompute_in`` per case), holding the write lock;
- **after**: ``CalendarService.add_override`` now: the override and its ``calendar_recompute``
  record commit, then the cases are recomputed ``--batch`` at a time, one transaction each.

The closure's day is ``--day``, or the weekday in the next 30 days with the most cases over it.
Times are wall-clock for the whole command in this process; "longest transaction" is the
longest BEGIN..COMMIT on the engine (SQLAlchemy ``begin``/``commit`` events), which on SQLite is
how long other writers wait at worst. After each round the bench checks that both sides left the
same deadline rows (the batched run is the one-shot run, in pieces).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from carepath.config.bootstrap import App, bootstrap  # noqa: E402
from carepath.config.settings import Settings  # noqa: E402
from carepath.engine.case import Actor  # noqa: E402
from carepath.engine.clock import SystemClock, local_today  # noqa: E402
from carepath.engine.ports import CalendarRecompute  # noqa: E402
from carepath.entrypoints.demo.gateway import DEMO_ADMIN  # noqa: E402

SPANNING = """
SELECT count(DISTINCT case_id) FROM deadline
WHERE status IN ('open', 'paused') AND start_on <= :day AND due_on >= :day
"""


class Transactions:
    """BEGIN..COMMIT/ROLLBACK durations on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.durations: list[float] = []
        self._open: dict[int, float] = {}
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def stop(self) -> None:
        """Stop listening (the engine lives on)."""
        for name, fn in (("begin", self._begin), ("commit", self._end), ("rollback", self._end)):
            event.remove(self.engine, name, fn)

    def _begin(self, conn: Any) -> None:
        self._open[id(conn)] = time.perf_counter()

    def _end(self, conn: Any) -> None:
        started = self._open.pop(id(conn), None)
        if started is not None:
            self.durations.append(time.perf_counter() - started)


def _pick_day(url: str, today: date) -> tuple[date, int]:
    engine = create_engine(url)
    best = (today, -1)
    with engine.connect() as conn:
        for n in range(1, 31):
            d = today + timedelta(days=n)
            if d.weekday() < 5:
                count: int = conn.execute(text(SPANNING), {"day": d.isoformat()}).scalar_one()
                best = max(best, (d, count), key=lambda x: x[1])
    engine.dispose()
    return best


def _fingerprint(app: App) -> list[tuple[Any, ...]]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT case_id, rule, cycle, start_on, due_on, status FROM deadline ORDER BY case_id, rule, cycle")
        )
        return [tuple(r) for r in rows]


def _before(app: App, admin: Actor, day: date) -> int:
    """The pre-issue-9 path: override and every recompute in one transaction."""
    from carepath.engine.events import Audited, CalendarChanged
    from carepath.engine.policy import authorize

    with app.uow.transaction() as tx:
        authorize(admin, "calendar.change")
        tx.add_override(day, "closure", "bench closure")
        tx.record(Audited(admin.id, "calendar.override.add", day.isoformat(), {"kind": "closure"}))
        overrides = tx.overrides()
        app.calendar.reset_overrides(
            closures=[d for d, k in overrides if k == "closure"], openings=[d for d, k in overrides if k == "opening"]
        )
        refs = tx.cases_with_deadlines_spanning(day)
        for ref in refs:
            app.cases.recompute_in(tx, ref, app.calendar)
        tx.record(CalendarChanged(day))
    return len(refs)


def _after(app: App, admin: Actor, day: date, progress: Callable[[CalendarRecompute], None] | None) -> int:
    change = app.calendar_changes.add_override(day, "bench closure", admin, progress=progress)
    return len(change.recomputed)


def _run(source: Path, side: str, day: date, batch: int, verbose: bool) -> tuple[float, float, int, int, list[Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "copy.db"
        shutil.copyfile(source, db)
        app = bootstrap(Settings(database_url=f"sqlite:///{db}"), SystemClock())
        if side == "after":
            from carepath.engine.services import CalendarService

            app.__dict__["calendar_changes"] = CalendarService(app.uow, app.clock, app.calendar, app.cases, batch=batch)
        admin = app.directory.actor(DEMO_ADMIN[0])
        _ = app.calendar, app.system  # wired before the clock starts
        txs = Transactions(app.engine)
        progress = (lambda j: print(f"    recomputed {j.done:,} of {j.total:,} case(s)...")) if verbose else None
        started = time.perf_counter()
        cases = _before(app, admin, day) if side == "before" else _after(app, admin, day, progress)
        elapsed = time.perf_counter() - started
        fingerprint = _fingerprint(app)
        app.dispose()
    return elapsed, max(txs.durations), len(txs.durations), cases, fingerprint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="A seeded SQLite database file.")
    parser.add_argument("--day", type=date.fromisoformat, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--verbose", action="store_true", help="Print the batched side's progress.")
    args = parser.parse_args()
    url = f"sqlite:///{args.db}"
    with create_engine(url).connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # the file alone is then the database
        total_cases: int = conn.execute(text('SELECT count(*) FROM "case"')).scalar_one()
    day, spanning = (args.day, -1) if args.day else _pick_day(url, local_today(SystemClock()))
    print(f"{total_cases:,} cases; closure on {day} ({spanning:,} case(s) over it); batch {args.batch}")
    results: dict[str, list[tuple[float, float, int, int]]] = {"before": [], "after": []}
    ratios: list[float] = []
    for r in range(args.rounds):
        order = ("before", "after") if r % 2 == 0 else ("after", "before")
        prints: dict[str, list[Any]] = {}
        for side in order:
            elapsed, longest, n_tx, cases, fp = _run(args.db, side, day, args.batch, args.verbose)
            results[side].append((elapsed, longest, n_tx, cases))
            prints[side] = fp
            line = f"{elapsed:.2f} s, {n_tx} transaction(s), longest {longest:.3f} s, {cases:,} cases"
            print(f"  round {r + 1} {side}: {line}")
        assert prints["before"] == prints["after"], "batched and one-shot recomputes left different deadlines"
        ratios.append(results["after"][-1][1] / results["before"][-1][1])

    def mmm(values: list[float], fmt: str) -> str:
        return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))

    print()
    print("| closure, min / median / max of the rounds | one transaction (before) | batches (after) |")
    print("|---|---:|---:|")
    print(f"| cases recomputed | {results['before'][0][3]:,} | {results['after'][0][3]:,} |")
    for label, i, fmt in (("whole command, s", 0, ".2f"), ("longest transaction, s", 1, ".3f")):
        before, after = (mmm([x[i] for x in results[side]], fmt) for side in ("before", "after"))
        print(f"| {label} | {before} | {after} |")
    print(f"| transactions | {results['before'][0][2]} | {results['after'][0][2]} |")
    print(f"| longest transaction after / before, per round | | {mmm([100 * x for x in ratios], '.1f')} % |")
    print("Deadline rows identical after both sides in every round: yes")


if __name__ == "__main__":
    main()
