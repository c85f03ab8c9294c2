"""Reports over 1,000,000 events, against hand-written SQL over the same rows (issue 13 point 9).

    .venv/bin/python bench/reports.py                     # build (about 1 minute), 5 paired rounds
    .venv/bin/python bench/reports.py --keep              # keep the built database; prints its path
    .venv/bin/python bench/reports.py --db /tmp/x.db      # reuse one built by --keep
    .venv/bin/python bench/reports.py --events 20000 --rounds 1   # a smoke run

Building. The demo seed (800 households, 110 children) is run in-process through the services,
then repeated by ``bench/scale_build.multiply`` (see bench/scale.py) until the event log holds at
least ``--events`` rows, then ``ANALYZE``.

Measuring. One process, one ``App`` on the Scale bench's fixed clock (30 Nov 2026), the demo's
service manager (every case in scope). Per report: ``ReportService.report`` for the financial year
so far (what ``carepath report NAME`` prints, without the printing), the same report as of
30 June 2026, and a hand-written SQL aggregate over the same rows that answers the report's
headline (below), run through the same engine. Each round runs the three in turn, the order
alternating between rounds; ratios are per round (report / SQL, as-of / present), then min /
median / max over the rounds.

The hand-written SQL (what a analyst would type to get the headline, no as-of, no corrections):
- funnel: for each fostering journey, the cases that reached each state in the period
  (``COUNT(DISTINCT case_id)`` of the events into that state), grouped by journey and state;
- scorecard: for each child adopted in the scorecard's three years, the first day they reached
  placement, authority to place and the match decision (one GROUP BY over the child's events),
  averaged in Python;
- compliance: for each deadline rule due in the period, due / met on time / met late / breached
  / open, from the deadline table.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import _analyzed, _app, _copy_sqlite, _seed_template  # noqa: E402
from bench.scale_build import multiply  # noqa: E402
from carepath.engine.reports import financial_year, scorecard_period  # noqa: E402

READER = "sam.servicemanager@demo.carepath.invalid"
TODAY = date(2026, 11, 30)
AS_OF = date(2026, 6, 30)
REPORTS = ("funnel", "scorecard", "compliance")

FUNNEL_SQL = """
SELECT c.workflow_id, e.to_state, COUNT(DISTINCT e.case_id)
FROM case_event e JOIN "case" c ON c.id = e.case_id
WHERE c.workflow_id IN ('foster_carer_approval', 'connected_person_approval')
  AND e.effective_on BETWEEN :start AND :end
GROUP BY c.workflow_id, e.to_state
"""
SCORECARD_SQL = """
SELECT c.opened_on,
       MIN(CASE WHEN e.to_state = 'placed' THEN e.effective_on END),
       MIN(CASE WHEN e.to_state = 'authority_to_place' THEN e.effective_on END),
       MIN(CASE WHEN e.to_state = 'match_agreed' THEN e.effective_on END),
       MIN(CASE WHEN e.to_state = 'adoption_order_made' THEN e.effective_on END)
FROM case_event e JOIN "case" c ON c.id = e.case_id
WHERE c.workflow_id = 'child_adoption_pathway'
GROUP BY c.id
HAVING MIN(CASE WHEN e.to_state = 'adoption_order_made' THEN e.effective_on END) BETWEEN :start AND :end
"""
COMPLIANCE_SQL = """
SELECT rule, COUNT(*),
       SUM(CASE WHEN met_on IS NOT NULL AND met_on <= due_on THEN 1 ELSE 0 END),
       SUM(CASE WHEN met_on IS NOT NULL AND met_on > due_on THEN 1 ELSE 0 END),
       SUM(CASE WHEN breached_on IS NOT NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END)
FROM deadline WHERE due_on BETWEEN :start AND :end
GROUP BY rule
"""


def _days(a: Any, b: Any) -> int:
    return (date.fromisoformat(str(b)[:10]) - date.fromisoformat(str(a)[:10])).days


def hand_written(app: Any, name: str) -> Callable[[], object]:
    """The report's headline in hand-written SQL (see the module's docstring)."""
    year = financial_year(TODAY)
    period = {"start": year.start, "end": TODAY}

    def run(sql: str, params: dict[str, Any]) -> list[Any]:
        with app.read_engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    if name == "funnel":
        return lambda: run(FUNNEL_SQL, period)
    if name == "compliance":
        return lambda: run(COMPLIANCE_SQL, period)
    three = scorecard_period(TODAY)

    def scorecard() -> object:
        rows = run(SCORECARD_SQL, {"start": three.start, "end": three.end})
        a1 = [_days(r[0], r[1]) for r in rows if r[1] is not None]
        a2 = [max(0, _days(r[2], r[3])) for r in rows if r[2] is not None and r[3] is not None]
        return (statistics.fmean(a1) if a1 else None, statistics.fmean(a2) if a2 else None)

    return scorecard


def build(workdir: Path, events: int) -> tuple[str, int]:
    template = workdir / "reports-1x.db"
    url = f"sqlite:///{template}"
    took = _seed_template(url, 800, 110)
    with _app(url).engine.connect() as conn:
        per_copy = int(conn.execute(text("SELECT count(*) FROM case_event")).scalar_one())
    times = max(1, math.ceil(events / per_copy))
    target = workdir / f"reports-{times}x.db"
    _copy_sqlite(template, target)
    big = f"sqlite:///{target}"
    started = time.perf_counter()
    multiply(big, times)
    _analyzed(big)
    print(
        f"seeded {per_copy:,} events in {took:.0f} s; x{times} and analyzed in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return big, times


def measure(url: str, rounds: int) -> dict[str, dict[str, list[float]]]:
    app = _app(url)
    reader = app.directory.actor(READER)
    ops: dict[str, dict[str, Callable[[], object]]] = {}
    for name in REPORTS:
        ops[name] = {
            "report": lambda n=name: app.reports.report(reader, n),
            "as of": lambda n=name: app.reports.report(reader, n, as_of=AS_OF),
            "sql": hand_written(app, name),
        }
    times: dict[str, dict[str, list[float]]] = {n: {k: [] for k in ops[n]} for n in ops}
    for r in range(rounds + 1):  # round 0 warms the caches and is not kept
        for name, by_kind in ops.items():
            order = list(by_kind) if r % 2 else list(reversed(by_kind))
            for kind in order:
                t = time.perf_counter()
                by_kind[kind]()
                took = time.perf_counter() - t
                if r:
                    times[name][kind].append(took)
        if r:
            print(f"  round {r}/{rounds} done", flush=True)
    with app.engine.connect() as conn:
        counts = conn.execute(text('SELECT (SELECT count(*) FROM case_event), (SELECT count(*) FROM "case")')).one()
    print(f"{counts[0]:,} events, {counts[1]:,} cases")
    app.dispose()
    return times


def _mmm(xs: list[float]) -> str:
    return " / ".join(f"{x:.2f}" for x in (min(xs), statistics.median(xs), max(xs)))


def table(times: dict[str, dict[str, list[float]]]) -> list[str]:
    lines = [
        "| report | report, ms (median) | as of 30 Jun 2026, ms | hand-written SQL, ms | report / SQL per round, "
        "min / median / max | as-of / present per round | under 1 s | within 3x of SQL | as-of within 2x |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for name, t in times.items():
        vs_sql = [a / b for a, b in zip(t["report"], t["sql"], strict=True)]
        as_of = [a / b for a, b in zip(t["as of"], t["report"], strict=True)]
        med = {k: statistics.median(v) * 1000 for k, v in t.items()}
        lines.append(
            f"| {name} | {med['report']:,.0f} | {med['as of']:,.0f} | {med['sql']:,.0f} | {_mmm(vs_sql)} | "
            f"{_mmm(as_of)} | {'met' if med['report'] < 1000 else '**missed**'} | "
            f"{'met' if statistics.median(vs_sql) <= 3 else '**missed**'} | "
            f"{'met' if statistics.median(as_of) <= 2 else '**missed**'} |"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--db", type=Path, help="a database built by an earlier --keep run")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if args.db is not None:
        print("\n".join(table(measure(f"sqlite:///{args.db}", args.rounds))))
        return
    workdir = Path(tempfile.mkdtemp(prefix="carepath-reports-"))
    url, _ = build(workdir, args.events)
    print("\n".join(table(measure(url, args.rounds))))
    if args.keep:
        print(f"kept: .venv/bin/python bench/reports.py --db {url.split('///', 1)[1]}")
    else:
        for f in workdir.iterdir():
            f.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
