"""A caseload made N times bigger by repeating the one the service wrote: the bench's bulk path.

``carepath demo seed`` walks every case through ``CaseService`` (about 25 cases a second), which
would take over an hour for 100,000 cases. ``multiply(url, times)`` instead copies every case the
service wrote, with its events, deadlines, timers, outbox rows and panel bookings, ``times - 1``
more times, each copy exactly as the service wrote the original but for its reference and ids:

- surrogate ids move on by the id the table had reached (SQLite: its largest id; PostgreSQL: its
  sequence), so copy ``k`` of a row has id ``id + k * reached``, and foreign keys move with them;
- a reference ``PP-YYYY-NNNN`` becomes number ``NNNN + k * last`` of the same prefix and year (the
  counter's ``last``), wherever it appears: the case, facts, payloads, notes, outbox contexts and
  links; the counters end at ``times * last`` so the next case opened continues after them;
- outbox keys name the case or deadline id (``event:<case>:…``, ``deadline:<deadline>:…``) and
  move with them; the Message-ID is recomputed from the key as the outbox does;
- a copy's panel bookings are on the same sittings as the original's (one sitting of a type a
  day): at 100x a sitting's agenda holds 100 copies of its cases, past its capacity; the benches
  read no panel page;
- everything else (owners, teams, dates, recorded times, statuses) is copied as stored.

tests/integration/test_scale_build.py checks the claim: a seed multiplied by two holds, table by
table, the rows the service wrote for that seed and, once more, the same rows with every reference
renumbered, on SQLite and PostgreSQL. (Running the seed twice is no longer the reference: the
second run's cases would find the first run's sittings already held.) Rows are copied as the
database holds them (SQLite: the stored values; PostgreSQL: ``COPY`` text), never re-encoded.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from carepath.storage.admin import message_id_for
from carepath.storage.tables import CASES, DEADLINES, EVENTS, OUTBOX, PANEL_BOOKINGS, TIMERS

REF = re.compile(r"\b([A-Z]{2,4})-(\d{4})-(\d{4,})\b")
OUTBOX_KEY = re.compile(r"^(event|deadline):(\d+):")

Row = list[Any]


@dataclass(frozen=True)
class Shift:
    """How copy ``k`` moves ids and references."""

    k: int
    reached: dict[str, int]
    last: dict[tuple[str, str], int]

    def id(self, table: str, value: Any) -> Any:
        return None if value is None else int(value) + self.k * self.reached[table]

    def ref(self, m: re.Match[str]) -> str:
        prefix, year, number = m.group(1), m.group(2), int(m.group(3))
        last = self.last.get((prefix, year))
        if last is None or number > last:
            return m.group(0)  # not one of carepath's references (an external one, say)
        return f"{prefix}-{year}-{number + self.k * last:04d}"

    def text(self, value: Any) -> Any:
        return value if value is None else REF.sub(self.ref, value)

    def outbox_key(self, key: str) -> str:
        m = OUTBOX_KEY.match(key)
        if m is None:
            return key
        table = "case" if m.group(1) == "event" else "deadline"
        return f"{m.group(1)}:{self.id(table, m.group(2))}:{key[m.end() :]}"


def _columns(table: Any) -> list[str]:
    return [c.name for c in table.columns]


def _shifter(
    table: Any, remap: dict[str, Callable[[Shift, Any], Any]]
) -> tuple[list[str], Callable[[Shift, Row], Row]]:
    cols = _columns(table)
    plan = [(i, remap[c]) for i, c in enumerate(cols) if c in remap]

    def shift(s: Shift, row: Row) -> Row:
        out = list(row)
        for i, f in plan:
            out[i] = f(s, out[i])
        return out

    return cols, shift


def _id(table: str) -> Callable[[Shift, Any], Any]:
    return lambda s, v: s.id(table, v)


def _text(s: Shift, v: Any) -> Any:
    return s.text(v)


TABLES: list[tuple[str, Any, list[str], Callable[[Shift, Row], Row]]] = []
for _name, _table, _remap in (
    ("case", CASES, {"id": _id("case"), "ref": _text, "facts": _text}),
    ("case_event", EVENTS, {"id": _id("case_event"), "case_id": _id("case"), "payload": _text, "note": _text}),
    ("deadline", DEADLINES, {"id": _id("deadline"), "case_id": _id("case")}),
    (
        "panel_booking",
        PANEL_BOOKINGS,
        {"id": _id("panel_booking"), "case_id": _id("case"), "note": _text, "reason": _text},
    ),
    ("timer", TIMERS, {"id": _id("timer"), "deadline_id": _id("deadline"), "case_id": _id("case")}),
    (
        "outbox",
        OUTBOX,
        {
            "id": _id("outbox"),
            "case_id": _id("case"),
            "key": lambda s, v: s.outbox_key(v),
            "context": _text,
            "last_error": _text,
        },
    ),
):
    _cols, _shift = _shifter(_table, _remap)
    TABLES.append((_name, _table, _cols, _shift))

_MESSAGE_ID = _columns(OUTBOX).index("message_id")
_KEY = _columns(OUTBOX).index("key")


def _copies(
    name: str, rows: Sequence[Row], shift: Callable[[Shift, Row], Row], shifts: Iterable[Shift]
) -> Iterator[Row]:
    for s in shifts:
        for row in rows:
            out = shift(s, row)
            if name == "outbox":
                out[_MESSAGE_ID] = message_id_for(out[_KEY])
            yield out


def _where(name: str) -> str:
    # Digests and other rows of no case are the service's, not the caseload's: not repeated.
    return " WHERE case_id IS NOT NULL" if name == "outbox" else ""


def multiply(url: str, times: int) -> dict[str, int]:
    """Repeat the caseload at ``url`` until there are ``times`` copies of it; rows written per table."""
    if times < 2:
        return {}
    if url.startswith("sqlite"):
        return _multiply_sqlite(url.split("///", 1)[1], times)
    return _multiply_postgres(url, times)


def _multiply_sqlite(path: str, times: int) -> dict[str, int]:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        reached = {name: db.execute(f'SELECT coalesce(max(id), 0) FROM "{name}"').fetchone()[0] for name, *_ in TABLES}
        last = {(p, str(y)): n for p, y, n in db.execute("SELECT prefix, year, last FROM reference_counter")}
        shifts = [Shift(k, reached, last) for k in range(1, times)]
        written: dict[str, int] = {}
        for name, _table, cols, shift in TABLES:
            quoted = ", ".join(f'"{c}"' for c in cols)
            rows = [list(r) for r in db.execute(f'SELECT {quoted} FROM "{name}"{_where(name)} ORDER BY id')]
            marks = ", ".join("?" * len(cols))
            cur = db.executemany(
                f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', _copies(name, rows, shift, shifts)
            )
            written[name] = cur.rowcount
        db.executemany(
            "UPDATE reference_counter SET last = ? WHERE prefix = ? AND year = ?",
            [(n * times, p, int(y)) for (p, y), n in last.items()],
        )
        db.execute("COMMIT")
        return written
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()


def _multiply_postgres(url: str, times: int) -> dict[str, int]:
    import psycopg

    dsn = re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        reached: dict[str, int] = {}
        for name, *_ in TABLES:
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", (f'"{name}"',))
            seq = cur.fetchone()
            assert seq is not None
            assert seq[0] is not None
            cur.execute(f"SELECT last_value, is_called FROM {seq[0]}")
            value, called = cur.fetchone() or (0, False)
            reached[name] = value if called else 0
        cur.execute("SELECT prefix, year, last FROM reference_counter")
        last = {(p, str(y)): n for p, y, n in cur.fetchall()}
        shifts = [Shift(k, reached, last) for k in range(1, times)]
        written: dict[str, int] = {}
        for name, _table, cols, shift in TABLES:
            quoted = ", ".join(f'"{c}"' for c in cols)
            rows: list[Row] = []
            with cur.copy(f'COPY (SELECT {quoted} FROM "{name}"{_where(name)} ORDER BY id) TO STDOUT') as out:
                rows.extend(list(r) for r in out.rows())
            count = 0
            with cur.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as inp:
                for row in _copies(name, rows, shift, shifts):
                    inp.write_row(row)
                    count += 1
            written[name] = count
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", (f'"{name}"',))
            seq = cur.fetchone()
            assert seq is not None
            cur.execute(f"SELECT setval('{seq[0]}', {max(1, reached[name] * times)}, {reached[name] > 0})")
        cur.executemany(
            "UPDATE reference_counter SET last = %s WHERE prefix = %s AND year = %s",
            [(n * times, p, int(y)) for (p, y), n in last.items()],
        )
        conn.commit()
    return written
