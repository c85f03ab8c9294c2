"""Keyset paging for the read models: fetching one row past the page tells whether another follows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Select, func, literal_column, select

from carepath.engine.reads import COUNT_CAP, make_cursor


def rows_of(source: Any) -> Select[Any]:
    """``SELECT 1 FROM source``: the ``matching`` rows of a list, to add its filters to and count."""
    return select(literal_column("1")).select_from(source)


def capped_count(matching: Select[Any]) -> Select[Any]:
    """``SELECT count(*)`` of ``matching`` stopped at ``COUNT_CAP + 1`` rows: a list's total costs at most that
    many index entries however big the list (a result past ``COUNT_CAP`` reads "more than" it)."""
    return select(func.count()).select_from(matching.limit(COUNT_CAP + 1).subquery())


def read_page(
    conn: Connection, stmt: Select[Any], matching: Select[Any], limit: int, key: Callable[[Any], tuple[object, ...]]
) -> tuple[list[Any], int, bool, str | None]:
    """One page of ``stmt`` (ordered, not yet limited): its rows, the total, whether the total is exact, the cursor.

    ``matching`` selects the rows of the whole list (same filters, no cursor, no order; any one
    column): they are counted up to ``COUNT_CAP``, so the count costs at most that many index
    entries however big the list. ``key`` gives a row's sort key; the cursor is the last row's
    key, or ``None`` on the last page.
    """
    rows = list(conn.execute(stmt.limit(limit + 1)))
    total = int(conn.execute(capped_count(matching)).scalar_one())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, min(total, COUNT_CAP), total <= COUNT_CAP, make_cursor(*key(rows[-1])) if more else None
