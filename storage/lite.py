"""The reads of ``carepath case show`` on the standard library's ``sqlite3``, without SQLAlchemy (issue 9).

Importing SQLAlchemy costs a case read more than everything else it does (bench/startup.py). These
reads run the SQL text that SQLAlchemy compiled, for SQLite, from storage's own prebuilt statements
(``STATEMENTS``; ``compile_statements`` does it, on a full start, and config/quick.py keeps the result
on disk), and build the engine's objects from the rows with ``storage.rows``, as the SQLAlchemy
stores do. So the SQL and the mapping have one source each; only the execution differs.

Each result column's conversion is the one SQLAlchemy's SQLite dialect applies to its type: dates
from ISO text, JSON from text, booleans from 0 and 1. ``compile_statements`` refuses a statement
whose parameters need converting or whose columns need a conversion not listed in ``_KINDS``, so a
statement that would read differently here is never used here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from carepath.engine.case import Actor, Case
from carepath.engine.errors import CaseNotFound
from carepath.engine.people import Participant
from carepath.storage.rows import actor_of, case_of, normalise_email, participants_in_order

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

#: The reads, by name: the module and name of the prebuilt Core statement each runs.
STATEMENTS = {
    "user": ("carepath.storage.people", "_USER_BY_EMAIL"),
    "teams_of": ("carepath.storage.people", "_TEAMS_OF"),
    "case": ("carepath.storage.uow", "_SELECT_CASE"),
    "owner_and_team": ("carepath.storage.queries.caseload", "OWNER_AND_TEAM"),
    "participants": ("carepath.storage.queries.people", "PARTICIPANTS_OF"),
}

#: A column's conversion from what ``sqlite3`` returns, by the name ``compile_statements`` records.
_KINDS: dict[str, Callable[[Any], Any]] = {
    "date": date.fromisoformat,
    "json": json.loads,
    "bool": bool,
}

#: A compiled read: its SQL, its parameters' names in order, and each result column's kind ("" = as read).
Statement = tuple[str, list[str], list[str]]


def compile_statements(dialect: Dialect) -> dict[str, Statement]:
    """Every read in ``STATEMENTS`` compiled for ``dialect`` (SQLite's); imports SQLAlchemy.

    Raises:
        ValueError: a statement these reads could not run exactly as SQLAlchemy would.
    """
    import importlib

    from sqlalchemy import JSON, Boolean, Date

    from carepath.storage.db import Prepared

    out: dict[str, Statement] = {}
    for name, (module, attribute) in STATEMENTS.items():
        stmt = getattr(importlib.import_module(module), attribute)
        prepared = Prepared(stmt, dialect)  # positional, no expanding parameters (else ValueError)
        if not prepared.plain_parameters:
            raise ValueError(f"{name}: a parameter is a literal or needs converting")
        kinds = []
        for column in stmt.exported_columns:
            impl = column.type.dialect_impl(dialect)
            if impl.result_processor(dialect, None) is None:
                kinds.append("")
            elif isinstance(column.type, Date):
                kinds.append("date")
            elif isinstance(column.type, JSON):
                kinds.append("json")
            elif isinstance(column.type, Boolean):
                kinds.append("bool")
            else:
                raise ValueError(f"{name}: no conversion for column {column.name} ({column.type})")
        out[name] = (prepared.sql, list(prepared.names), kinds)
    return out


class LiteReads:
    """The reads ``case show`` makes (``engine.services.reads.CaseReads`` and ``ParticipantReads``, and the
    acting user) on one ``sqlite3`` connection, with statements from ``compile_statements``."""

    def __init__(self, db: sqlite3.Connection, statements: Mapping[str, Statement]) -> None:
        missing = set(STATEMENTS) - set(statements)
        if missing:
            raise ValueError(f"statements missing: {sorted(missing)}")
        self.db = db
        self._statements = statements

    def _rows(self, name: str, **given: Any) -> Iterator[Sequence[Any]]:
        sql, params, kinds = self._statements[name]
        converters = [(i, _KINDS[k]) for i, k in enumerate(kinds) if k]
        for raw in self.db.execute(sql, [given[p] for p in params]):
            row = list(raw)
            for i, convert in converters:
                if row[i] is not None:
                    row[i] = convert(row[i])
            yield row

    def actor(self, email: str) -> Actor:
        """The active user ``email`` with roles and teams (``storage.people.load_actor``)."""
        user = next(self._rows("user", email=normalise_email(email)), None)
        return actor_of(email, user, lambda uid: (r[0] for r in self._rows("teams_of", uid=uid)))

    def case(self, ref: str) -> Case:
        row = next(self._rows("case", ref=ref), None)
        if row is None:
            raise CaseNotFound(ref)
        return case_of(row)

    def owner_and_team(self, case: Case) -> tuple[str | None, str | None]:
        owner, team = next(self._rows("owner_and_team", owner_id=case.owner_id, team_id=case.team_id))
        return owner, team

    def participants(self, case_id: int, case_ref: str) -> list[Participant]:
        return participants_in_order(case_ref, self._rows("participants", case_id=case_id))
