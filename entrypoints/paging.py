"""Paged list output shared by the read commands: ``--limit``, ``--after`` and the page footer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

import typer

from carepath.engine.reads import DEFAULT_LIMIT, MAX_LIMIT, Page
from carepath.entrypoints.output import emit_json, table

Limit = Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT, help=f"Rows per page (at most {MAX_LIMIT}).")]
After = Annotated[
    str | None, typer.Option("--after", metavar="CURSOR", help="Start after this cursor (the last page's `next`).")
]
__all__ = ["DEFAULT_LIMIT", "After", "Limit", "emit_page", "footer"]


def footer(page: Page[Any]) -> str:
    """``showing N of TOTAL`` (``of more than 200`` past the count's cap); ``; next: --after CURSOR`` if more follow."""
    more = f"; next: --after {page.next}" if page.next is not None else ""
    total = f"{page.total:,}" if page.total_exact else f"more than {page.total:,}"
    return f"showing {len(page.items):,} of {total}{more}"


def emit_page(
    page: Page[Any],
    rows: Sequence[Mapping[str, Any]],
    columns: Iterable[str],
    json_: bool,
    *,
    show_table: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """``rows`` (one per item of ``page``) as ``{"items", "total", "next"}`` JSON (plus ``extra``), or a
    table and the footer."""
    if json_:
        totals = {"total": page.total, "total_exact": page.total_exact}
        emit_json({"items": list(rows), **totals, "next": page.next, **(extra or {})})
        return
    if show_table:
        table(rows, columns)
    typer.echo(footer(page))
