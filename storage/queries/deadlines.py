"""Deadlines: one case's, and the open ones across cases due by a day (with case and people joined)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, bindparam, or_, select, tuple_

from carepath.engine.deadlines import Deadline
from carepath.engine.reads import COUNT_CAP, DEFAULT_LIMIT, DeadlineListing, Page, Scope, cursor_parts
from carepath.storage.db import PreparedStatements
from carepath.storage.paging import capped_count, read_page, rows_of
from carepath.storage.tables import CASES, DEADLINES, TEAMS, USERS
from carepath.storage.uow import deadline_from_row

#: ``due_count`` of one worker's own deadlines (``_due_conditions`` for an owner who is the reader).
_OWN_DUE_COUNT = capped_count(
    rows_of(DEADLINES).where(
        DEADLINES.c.status == "open",
        DEADLINES.c.due_on <= bindparam("until"),
        DEADLINES.c.owner_id == bindparam("owner_id"),
    )
)


class DeadlineQueries:
    """Deadlines as people read them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._prepared = PreparedStatements(engine)

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
        self,
        until: date,
        scope: Scope,
        *,
        team_id: int | None = None,
        owner_id: int | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[DeadlineListing]:
        """A page of the open deadlines due on or before ``until`` within ``scope``, soonest first.

        Ordered by (due day, deadline id), which is also the keyset ``next`` holds: the order of
        ``ix_deadline_status_due`` (the id is SQLite's rowid, the index's last column), so a page
        reads as many index entries as it shows, not every match, and needs no sort. Case, owner
        and team are joined in the same statement; ``total`` counts matches up to ``COUNT_CAP``.
        A team or owner filter (or a scope short of all cases) reads the deadline's copies of its
        case's team and owner, in the order of ``ix_deadline_team_due`` / ``ix_deadline_owner_due``.
        """
        conds = _due_conditions(until, scope, team_id, owner_id)
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
            .where(*conds)
        )
        if after is not None:
            due_on, did = cursor_parts(after, (date, int))
            stmt = stmt.where(tuple_(DEADLINES.c.due_on, DEADLINES.c.id) > tuple_(due_on, did))
        stmt = stmt.order_by(DEADLINES.c.due_on, DEADLINES.c.id)
        matching = rows_of(DEADLINES).where(*conds)  # counted from the deadline's indexes alone
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, matching, limit, lambda r: (r.due_on, r.id))
        return Page(
            tuple(
                DeadlineListing(
                    deadline_from_row(r), r.ref, r.workflow_id, r.workflow_version, r.owner_email, r.team_name
                )
                for r in rows
            ),
            total,
            limit,
            cursor,
            total_exact=exact,
        )

    def due_count(self, until: date, scope: Scope, *, team_id: int | None = None, owner_id: int | None = None) -> int:
        """How many deadlines ``due`` lists, up to ``COUNT_CAP``: its ``total``, from the indexes alone.

        A worker's own (the My work badge on every page) is one prebuilt statement, prepared on SQLite.
        """
        if team_id is None and owner_id is not None and owner_id == scope.actor_id:
            rows = self._prepared.rows(_OWN_DUE_COUNT, {"until": until, "owner_id": owner_id})
            return min(int(rows[0][0]), COUNT_CAP)
        matching = rows_of(DEADLINES).where(*_due_conditions(until, scope, team_id, owner_id))
        with self.engine.connect() as conn:
            return min(int(conn.execute(capped_count(matching)).scalar_one()), COUNT_CAP)


def _due_conditions(until: date, scope: Scope, team_id: int | None, owner_id: int | None) -> list[Any]:
    """The filters of ``DeadlineQueries.due``'s list (on the deadline's own columns and indexes)."""
    d = DEADLINES.c
    conds: list[Any] = [d.status == "open", d.due_on <= until]
    # The deadline's own copies of its case's owner and team (kept equal by the unit of work):
    # a team's or an owner's list walks ix_deadline_team_due / ix_deadline_owner_due in due order.
    # A filter on one of the actor's own teams (or on the actor) already keeps to the scope:
    # without the OR the planner reads that team's index alone.
    within = (team_id is not None and team_id in scope.team_ids) or (
        owner_id is not None and owner_id == scope.actor_id
    )
    if not scope.all_cases and not within:
        conds.append(or_(d.owner_id == scope.actor_id, d.team_id.in_(sorted(scope.team_ids))))
    if team_id is not None:
        conds.append(d.team_id == team_id)
    if owner_id is not None:
        conds.append(d.owner_id == owner_id)
    return conds
