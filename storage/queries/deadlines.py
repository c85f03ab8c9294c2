"""Deadlines: one case's, and the open ones across cases due by a day (with case and people joined)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select

from carepath.engine.deadlines import Deadline
from carepath.engine.reads import DeadlineListing, Scope
from carepath.storage.queries.caseload import scoped
from carepath.storage.tables import CASES, DEADLINES, TEAMS, USERS
from carepath.storage.uow import deadline_from_row


class DeadlineQueries:
    """Deadlines as people read them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of_case(self, case_id: int) -> list[Deadline]:
        """A case's deadlines, by due date."""
        stmt = (
            select(DEADLINES)
            .where(DEADLINES.c.case_id == case_id)
            .order_by(DEADLINES.c.due_on, DEADLINES.c.rule, DEADLINES.c.cycle)
        )
        with self.engine.connect() as conn:
            return [deadline_from_row(r) for r in conn.execute(stmt)]

    def due(
        self, until: date, scope: Scope, *, team_id: int | None = None, owner_id: int | None = None
    ) -> list[DeadlineListing]:
        """Open deadlines due on or before ``until`` within ``scope``, soonest first."""
        stmt = (
            select(
                DEADLINES,
                CASES.c.ref,
                CASES.c.workflow_id,
                CASES.c.workflow_version,
                USERS.c.email.label("owner_email"),
                TEAMS.c.name.label("team_name"),
            )
            .join(CASES, CASES.c.id == DEADLINES.c.case_id)
            .outerjoin(USERS, USERS.c.id == CASES.c.owner_id)
            .outerjoin(TEAMS, TEAMS.c.id == CASES.c.team_id)
            .where(DEADLINES.c.status == "open", DEADLINES.c.due_on <= until)
            .order_by(DEADLINES.c.due_on, CASES.c.ref)
        )
        stmt = scoped(stmt, scope)
        if team_id is not None:
            stmt = stmt.where(CASES.c.team_id == team_id)
        if owner_id is not None:
            stmt = stmt.where(CASES.c.owner_id == owner_id)
        with self.engine.connect() as conn:
            return [
                DeadlineListing(
                    deadline_from_row(r), r.ref, r.workflow_id, r.workflow_version, r.owner_email, r.team_name
                )
                for r in conn.execute(stmt)
            ]
