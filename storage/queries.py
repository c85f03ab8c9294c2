"""Reads for people: case lists, one case, history. Never used on the write path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from engine.case import Case, Event
from engine.deadlines import Deadline
from engine.errors import CaseNotFound
from storage.tables import Team, User
from storage.uow import (
    _SELECT_CASE,
    CASE,
    DEADLINE,
    EVENT,
    C,
    D,
    E,
    case_from_row,
    deadline_from_row,
    event_from_row,
)

USER = User.__table__  # type: ignore[attr-defined]
TEAM = Team.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class CaseFilter:
    workflow: str | None = None
    state: str | None = None
    owner_id: int | None = None
    team_id: int | None = None
    status: str | None = None
    limit: int = 200


class Queries:
    """Read-only views over the tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def case(self, ref: str) -> Case:
        """One case by reference."""
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT_CASE, {"ref": ref}).first()
        if row is None:
            raise CaseNotFound(ref)
        return case_from_row(row)

    def history(self, case_id: int) -> list[Event]:
        """A case's events in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(EVENT).where(E.case_id == case_id).order_by(E.seq))
            return [event_from_row(r) for r in rows]

    def deadlines(self, case_id: int) -> list[Deadline]:
        """A case's deadlines, by due date."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(DEADLINE).where(D.case_id == case_id).order_by(D.due_on, D.rule, D.cycle))
            return [deadline_from_row(r) for r in rows]

    def cases(self, f: CaseFilter) -> list[Case]:
        """Cases matching ``f``, newest first."""
        stmt = select(CASE)
        if f.workflow:
            stmt = stmt.where(C.workflow_id == f.workflow)
        if f.state:
            stmt = stmt.where(C.state == f.state)
        if f.owner_id is not None:
            stmt = stmt.where(C.owner_id == f.owner_id)
        if f.team_id is not None:
            stmt = stmt.where(C.team_id == f.team_id)
        if f.status:
            stmt = stmt.where(C.status == f.status)
        stmt = stmt.order_by(C.id.desc()).limit(f.limit)
        with self.engine.connect() as conn:
            return [case_from_row(r) for r in conn.execute(stmt)]

    def names(self) -> dict[str, dict[int, str]]:
        """User emails and team names by id, for display."""
        with self.engine.connect() as conn:
            users = {r.id: r.email for r in conn.execute(select(USER.c.id, USER.c.email))}
            teams = {r.id: r.name for r in conn.execute(select(TEAM.c.id, TEAM.c.name))}
        return {"users": users, "teams": teams}

    def raw(self, stmt: Any) -> list[Any]:
        """Run a prepared read statement (reports)."""
        with self.engine.connect() as conn:
            return list(conn.execute(stmt))
