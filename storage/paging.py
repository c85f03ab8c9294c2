"""Keyset paging for the read models: fetching one row past the page tells whether another follows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Select

from carepath.engine.reads import make_cursor


def read_page(
    conn: Connection, stmt: Select[Any], count: Select[Any], limit: int, key: Callable[[Any], tuple[object, ...]]
) -> tuple[list[Any], int, str | None]:
    """The rows of one page of ``stmt`` (ordered, not yet limited), the total ``count`` gives, and the next cursor.

    ``key`` gives a row's sort key; the cursor is the last row's key, or ``None`` on the last page.
    """
    rows = list(conn.execute(stmt.limit(limit + 1)))
    total = int(conn.execute(count).scalar_one())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, total, make_cursor(*key(rows[-1])) if more else None
