"""Printing for the CLI: tables for people, JSON for programs."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any

import typer


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON: always valid JSON (a non-finite number stored before carepath
    refused them prints as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``)."""
    try:
        text = json.dumps(data, default=_default, indent=2, sort_keys=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(data), default=_default, indent=2, sort_keys=False, allow_nan=False)
    typer.echo(text)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return _finite(asdict(value))
    return value


def table(rows: Sequence[Mapping[str, Any]], columns: Iterable[str]) -> None:
    """Print ``rows`` as an aligned text table."""
    cols = list(columns)
    if not rows:
        typer.echo("(none)")
        return
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    typer.echo("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
    for row in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)
