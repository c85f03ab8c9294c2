"""Bulk-load cases, open deadlines and their timers straight into the tables.

For benchmarks and sweep reliability tests only: it bypasses the service to put a
million rows in place in seconds. Every deadline is rule ``S1`` of the sample journey
(tests/fixtures/sample.v1.yaml) with its own cycle number; each has one breach timer.
``due`` of them fire at ``now - 1 minute``; the rest a year later.

With ``teams`` > 0 it also creates that many teams, each with an active team manager and
``workers_per_team`` active caseworkers (members of the team), and gives every case an owner
(the caseworkers in turn) and that owner's team, so a raised breach resolves its recipient
(the owner) and the sweep writes one outbox row per timer, as in service. With ``teams=0``
cases have no owner and no team: nobody holds the role and no email is queued.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text

from carepath.storage.tables import MEMBERS, TEAMS, USERS


def _rows(n_cases: int, n_deadlines: int, due: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    soon = (now - timedelta(minutes=1)).replace(tzinfo=None)
    later = (now + timedelta(days=365)).replace(tzinfo=None)
    start = date(2026, 1, 5)
    for i in range(n_deadlines):
        case_id = i % n_cases + 1
        cycle = i // n_cases + 1
        fire_at = soon if i < due else later
        yield (i + 1, case_id, cycle, start, fire_at)


def load(
    engine: Engine,
    *,
    deadlines: int,
    due: int,
    cases: int,
    now: datetime | None = None,
    teams: int = 0,
    workers_per_team: int = 20,
) -> None:
    """Insert ``cases`` cases and ``deadlines`` open deadlines with one timer each (owners: see the module)."""
    now = now or datetime.now(UTC)
    owners = _people(engine, teams, workers_per_team, now)
    if engine.dialect.name == "postgresql":
        _load_pg(engine, deadlines, due, cases, now, owners)
    else:
        _load_sqlite(engine, deadlines, due, cases, now, owners)


def _people(engine: Engine, teams: int, per_team: int, now: datetime) -> list[tuple[int, int]]:
    """Create ``teams`` teams with a manager and ``per_team`` caseworkers each; (user id, team id) per caseworker."""
    owners: list[tuple[int, int]] = []
    with engine.begin() as conn:
        for t in range(1, teams + 1):

            def user(email: str, role: str) -> int:
                row = (
                    insert(USERS)
                    .values(email=email, name=email.split("@")[0], roles=[role], active=True, created_at=now)
                    .returning(USERS.c.id)
                )
                return int(conn.execute(row).scalar_one())

            manager = user(f"tm{t}@bench.invalid", "team_manager")
            team = int(
                conn.execute(
                    insert(TEAMS).values(name=f"Bench team {t}", manager_id=manager).returning(TEAMS.c.id)
                ).scalar_one()
            )
            workers = [user(f"cw{t}.{w}@bench.invalid", "caseworker") for w in range(1, per_team + 1)]
            conn.execute(insert(MEMBERS), [{"team_id": team, "user_id": u} for u in (manager, *workers)])
            owners.extend((u, team) for u in workers)
    return owners


def _case_values(i: int, now: datetime, owners: list[tuple[int, int]]) -> tuple[Any, ...]:
    stamp = now.replace(tzinfo=None)
    owner, team = owners[i % len(owners)] if owners else (None, None)
    return (
        i,
        f"SM-2026-{i:07d}",
        "sample",
        1,
        "enquiry",
        "open",
        "{}",
        date(2026, 1, 5),
        date(2026, 1, 5),
        1,
        1,
        stamp,
        owner,
        team,
    )


_CASE_SQL = (
    'INSERT INTO "case" (id, ref, workflow_id, workflow_version, state, status, facts, '
    "opened_on, last_event_on, last_seq, version, updated_at, owner_id, team_id) VALUES "
)


def _load_sqlite(
    engine: Engine, deadlines: int, due: int, cases: int, now: datetime, owners: list[tuple[int, int]]
) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.executemany(
            _CASE_SQL + "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (_case_values(i, now, owners) for i in range(1, cases + 1))
        )
        rows = list(_rows(cases, deadlines, due, now))
        due_on = date(2026, 1, 12)
        cur.executemany(
            "INSERT INTO deadline (id, case_id, rule, cycle, start_on, raw_due_on, due_on, status, "
            "paused_days, paused_working_days) VALUES (?,?,'S1',?,?,?,?,'open',0,0)",
            ((r[0], r[1], r[2], r[3].isoformat(), due_on.isoformat(), due_on.isoformat()) for r in rows),
        )
        cur.executemany(
            "INSERT INTO timer (id, deadline_id, case_id, key, kind, tier, fire_on, fire_at) "
            "VALUES (?,?,?,?,'breach',0,?,?)",
            (
                (r[0], r[0], r[1], f"S1:{r[2]}:breach:0:2026-01-12", r[4].date().isoformat(), r[4].isoformat(sep=" "))
                for r in rows
            ),
        )
        cur.execute("COMMIT")
    finally:
        raw.close()


def _copy(cur: Any, sql: str, rows: Iterator[tuple[Any, ...]]) -> None:
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buf.seek(0)
    with cur.copy(sql) as copy:
        copy.write(buf.read())


def _load_pg(
    engine: Engine, deadlines: int, due: int, cases: int, now: datetime, owners: list[tuple[int, int]]
) -> None:
    rows = list(_rows(cases, deadlines, due, now))
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        _copy(
            cur,
            'COPY "case" (id, ref, workflow_id, workflow_version, state, status, facts, opened_on, '
            "last_event_on, last_seq, version, updated_at, owner_id, team_id) FROM STDIN",
            (_case_values(i, now, owners) for i in range(1, cases + 1)),
        )
        _copy(
            cur,
            "COPY deadline (id, case_id, rule, cycle, start_on, raw_due_on, due_on, status, "
            "paused_days, paused_working_days) FROM STDIN",
            ((r[0], r[1], "S1", r[2], r[3], "2026-01-12", "2026-01-12", "open", 0, 0) for r in rows),
        )
        _copy(
            cur,
            "COPY timer (id, deadline_id, case_id, key, kind, tier, fire_on, fire_at) FROM STDIN",
            ((r[0], r[0], r[1], f"S1:{r[2]}:breach:0:2026-01-12", "breach", 0, r[4].date(), r[4]) for r in rows),
        )
        for table in ("case", "deadline", "timer"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))")
            )
        conn.execute(text("ANALYZE"))
