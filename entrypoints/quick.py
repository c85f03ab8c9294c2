"""``carepath case show REF`` without Typer, SQLAlchemy or pydantic, when it can (issue 9 point 6).

``carepath``'s console script (``main``) gives ``case show`` to ``run`` first. ``run`` reads the case
through the same service-layer functions as the full command, with ``sqlite3`` underneath
(config/quick.py: when, and why it prints what the full command would), and prints it with the
same functions. It answers ``None`` whenever it cannot stand in for the full command (another
command, an option it does not know, a setting it does not read, no manifest yet, PostgreSQL, any
SQLite error), and the full CLI then runs as if the quick path did not exist.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from carepath.engine.errors import CarepathError, NotPermitted
from carepath.engine.services.reads import read_listing, read_participants
from carepath.engine.text import email_address
from carepath.entrypoints.output import error_line, json_text
from carepath.entrypoints.show import case_show_json, case_show_lines


def main() -> None:
    """Console-script entry point: the quick read where it applies, else the full CLI."""
    code = run(sys.argv[1:], os.environ, Path.cwd(), sys.stdout, sys.stderr)
    if code is not None:
        sys.exit(code)
    from carepath.entrypoints.common import main as full

    full()


def acting_email(by: str | None, user: str | None) -> str:
    """The acting user's email: ``--by``, else ``CAREPATH_USER``; nobody is refused (by the services too)."""
    email = (by or user or "").strip()
    if not email:
        raise NotPermitted("(nobody)", "act", "name the acting user with --by EMAIL or CAREPATH_USER")
    return email_address(email, "--by (the acting user's email)")


def run(argv: Sequence[str], environ: Mapping[str, str], cwd: Path, out: TextIO, err: TextIO) -> int | None:
    """``case show`` read quickly: the exit code, or ``None`` when the full CLI must run instead."""
    parsed = parse(argv)
    if parsed is None:
        return None
    ref, by, as_json = parsed
    from carepath.config.quick import open_quick

    quick = open_quick(environ, cwd)
    if quick is None:
        return None
    try:
        try:
            actor = quick.reads.actor(acting_email(by, quick.user))
            listing = read_listing(quick.reads, ref, actor)
            people = read_participants(quick.reads, listing.case, actor)
        except CarepathError as exc:  # as entrypoints.common.guarded prints it
            for line in str(exc).splitlines() or [type(exc).__name__]:
                err.write(error_line(line) + "\n")
            return 2
        except sqlite3.Error:  # the full CLI reports the database's faults
            return None
        label = quick.label(listing.case)
        if label is None:
            return None
        if as_json:
            text = json_text(case_show_json(listing, label, people))
        else:
            text = "\n".join(case_show_lines(listing, label, people))
        if "\x1b" in text:  # Typer strips terminal escapes from output that is not a terminal: let it
            return None
        out.write(text + "\n")
        return 0
    finally:
        quick.close()


def parse(argv: Sequence[str]) -> tuple[str, str | None, bool] | None:
    """``case show REF [--by EMAIL | --by=EMAIL] [--json]`` in any order: (ref, by, json); else ``None``.

    Anything else, a repeated option or a value that looks like an option included, is the full CLI's
    to parse (and to refuse with its own message).
    """
    if len(argv) < 3 or argv[0] != "case" or argv[1] != "show":
        return None
    ref: str | None = None
    by: str | None = None
    as_json = False
    rest = list(argv[2:])
    while rest:
        arg = rest.pop(0)
        if arg == "--json" and not as_json:
            as_json = True
        elif arg == "--by" and by is None and rest and not rest[0].startswith("-"):
            by = rest.pop(0)
        elif arg.startswith("--by=") and by is None:
            by = arg.removeprefix("--by=")
        elif arg.startswith("-") or ref is not None:
            return None
        else:
            ref = arg
    return None if ref is None else (ref, by, as_json)
