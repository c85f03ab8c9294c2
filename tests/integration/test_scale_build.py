"""The scale bench's bulk path writes exactly what the service writes.

``bench/scale_build.multiply(url, 2)`` on a seeded database must leave, in every table it copies,
the rows the service wrote for that seed (seeded again, separately, through the service) and the
same rows once more with each reference renumbered (``NNNN`` + the counter's last number): every
case, event, deadline, timer, outbox row and panel booking, and the reference counters, compared
by natural keys (reference, sequence, rule and cycle, sitting day) since surrogate ids are the
database's to choose. The renumbering here is the test's own, not the bench's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from bench.scale_build import multiply
from carepath.config.bootstrap import App, load_registry
from carepath.config.settings import Settings
from carepath.engine.clock import FixedClock
from carepath.entrypoints.demo.seeding import seed
from carepath.storage.admin import message_id_for
from carepath.storage.db import make_engine
from tests.conftest import drop_pg, fresh_pg_url

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SIZE = {"households": 14, "children": 5, "seed_value": 5}


def _seeded(url: str, runs: int) -> None:
    app = App(
        settings=Settings(database_url=url), clock=FixedClock(NOW), engine=make_engine(url), workflows=_journeys()
    )
    try:
        app.migrate()
        for _ in range(runs):
            result = seed(app, **SIZE)
            assert not result.problems, result.problems
    finally:
        app.dispose()


def _journeys() -> Any:
    from carepath.workflows.loader import WORKFLOWS_DIR

    return load_registry(WORKFLOWS_DIR)


def _dump(engine: Engine) -> dict[str, Any]:
    """Every case-related row, keyed by natural keys, ids replaced by what they point at."""
    with engine.connect() as conn:
        ref_of = dict(conn.execute(text('SELECT id, ref FROM "case"')).all())
        deadline_of = {
            i: (ref_of[c], r, cy) for i, c, r, cy in conn.execute(text("SELECT id, case_id, rule, cycle FROM deadline"))
        }

        def rows(sql: str) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(text(sql))]

        def key(k: str) -> str:
            m = re.match(r"^(event|deadline):(\d+):", k)
            if m is None:
                return k
            target = ref_of[int(m.group(2))] if m.group(1) == "event" else deadline_of[int(m.group(2))]
            return f"{m.group(1)}:{target}:{k[m.end() :]}"

        out: dict[str, Any] = {}
        out["case"] = {r.pop("ref"): _plain(r, "id") for r in rows('SELECT * FROM "case"')}
        out["case_event"] = {
            (ref_of[r["case_id"]], r.pop("seq")): _plain(r, "id", "case_id") for r in rows("SELECT * FROM case_event")
        }
        out["deadline"] = {
            deadline_of[r["id"]]: _plain(r, "id", "case_id", "rule", "cycle") for r in rows("SELECT * FROM deadline")
        }
        out["timer"] = {
            (deadline_of[r["deadline_id"]], r.pop("key")): _plain(r, "id", "deadline_id", "case_id")
            for r in rows("SELECT * FROM timer")
        }
        outbox: dict[str, Any] = {}
        for r in rows("SELECT * FROM outbox WHERE case_id IS NOT NULL"):
            assert r["message_id"] == message_id_for(r["key"])
            natural = key(r["key"])  # the stored key names ids; the natural one their references
            outbox[natural] = _plain(r, "id", "case_id", "message_id", "key") | {"case": ref_of[r["case_id"]]}
        out["outbox"] = outbox
        sittings = {i: (str(d), t) for i, d, t in conn.execute(text("SELECT id, day, panel_type FROM panel_sitting"))}
        out["panel_booking"] = {
            (ref_of[r["case_id"]], *sittings[r["sitting_id"]], str(r["created_at"])): _plain(
                r, "id", "case_id", "sitting_id"
            )
            for r in rows("SELECT * FROM panel_booking")
        }
        out["reference_counter"] = sorted(tuple(r) for r in conn.execute(text("SELECT * FROM reference_counter")))
        return out


def _canonical(table: Any) -> list[str]:
    """A table of the dump as sorted JSON texts, one per row (key and value)."""
    pairs = table.items() if isinstance(table, dict) else enumerate(table)
    return sorted(json.dumps([k, v], default=str, sort_keys=True) for k, v in pairs)


def _renumbered(rows: list[str], last: dict[tuple[str, str], int]) -> list[str]:
    """The rows with each of carepath's references ``PP-YYYY-NNNN`` moved on by its counter's last number."""

    def move(m: re.Match[str]) -> str:
        n = last.get((m.group(1), m.group(2)))
        return (
            m.group(0) if n is None or int(m.group(3)) > n else f"{m.group(1)}-{m.group(2)}-{int(m.group(3)) + n:04d}"
        )

    return sorted(re.sub(r"\b([A-Z]{2,4})-(\d{4})-(\d{4,})\b", move, row) for row in rows)


def _plain(row: dict[str, Any], *drop: str) -> dict[str, Any]:
    """The row without its ids; JSON as parsed values on both databases."""
    out = {}
    for k, v in row.items():
        if k in drop:
            continue
        out[k] = json.loads(v) if isinstance(v, str) and v[:1] in "{[" else v
    return out


def _urls(kind: str, tmp_path: Any) -> Iterator[tuple[str, str]]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}", f"sqlite:///{tmp_path / 'bulk.db'}"
        return
    a, b = fresh_pg_url(), fresh_pg_url()
    try:
        yield a, b
    finally:
        drop_pg(a)
        drop_pg(b)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_multiplied_caseload_is_the_service_caseload_renumbered(kind: str, tmp_path: Any) -> None:
    for service_url, bulk_url in _urls(kind, tmp_path):
        _seeded(service_url, runs=1)
        _seeded(bulk_url, runs=1)
        written = multiply(bulk_url, 2)
        assert written["case"] > 20
        assert written["case_event"] > written["case"]
        assert written["panel_booking"] > 0

        service, bulk = make_engine(service_url), make_engine(bulk_url)
        try:
            once, got = _dump(service), _dump(bulk)
        finally:
            service.dispose()
            bulk.dispose()
        assert len(got["case"]) == 2 * written["case"]
        last = {(p, str(y)): n for p, y, n in once["reference_counter"]}
        assert sorted(got["reference_counter"]) == sorted((p, y, 2 * n) for p, y, n in once["reference_counter"])
        for table in once:
            if table == "reference_counter":
                continue
            rows = _canonical(once[table])
            expected = sorted(rows + _renumbered(rows, last))
            assert _canonical(got[table]) == expected, f"{table} differs"
