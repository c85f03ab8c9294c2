"""The caseload: one case, and lists of cases with their owner's email and team's name joined."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, bindparam, or_, select

from carepath.engine.case import Case
from carepath.engine.errors import CaseNotFound
from carepath.engine.reads import CaseFilter, CaseListing, Page, Scope, cursor_parts
from carepath.storage.paging import read_page, rows_of
from carepath.storage.tables import CASES, TEAMS, USERS
from carepath.storage.uow import _SELECT_CASE, case_from_row

_LIST = (
    select(CASES, USERS.c.email.label("owner_email"), TEAMS.c.name.label("team_name"))
    .outerjoin(USERS, USERS.c.id == CASES.c.owner_id)
    .outerjoin(TEAMS, TEAMS.c.id == CASES.c.team_id)
)
#: A case's owner's email and team's name (either id may be NULL: then that name is NULL).
OWNER_AND_TEAM = select(
    select(USERS.c.email).where(USERS.c.id == bindparam("owner_id")).scalar_subquery(),
    select(TEAMS.c.name).where(TEAMS.c.id == bindparam("team_id")).scalar_subquery(),
)


def scoped(stmt: Any, scope: Scope) -> Any:
    """``stmt`` limited to the cases ``scope`` lets its actor see."""
    if scope.all_cases:
        return stmt
    return stmt.where(or_(CASES.c.owner_id == scope.actor_id, CASES.c.team_id.in_(sorted(scope.team_ids))))


class CaseloadQueries:
    """Cases as people read them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def case(self, ref: str) -> Case:
        """One case by reference."""
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT_CASE, {"ref": ref}).first()
        if row is None:
            raise CaseNotFound(ref)
        return case_from_row(row)

    def cases(self, f: CaseFilter, scope: Scope) -> Page[CaseListing]:
        """A page of the cases matching ``f`` within ``scope``, newest first (keyset on the case id).

        Names are joined in the same statement; ``total`` counts every match; ``next`` is the last
        row's id when more follow.
        """
        conds: list[Any] = []
        if not scope.all_cases:
            conds.append(or_(CASES.c.owner_id == scope.actor_id, CASES.c.team_id.in_(sorted(scope.team_ids))))
        for column, value in (
            (CASES.c.workflow_id, f.workflow),
            (CASES.c.state, f.state),
            (CASES.c.owner_id, f.owner_id),
            (CASES.c.team_id, f.team_id),
            (CASES.c.status, f.status),
        ):
            if value is not None and value != "":
                conds.append(column == value)
        stmt = _LIST.where(*conds)
        if f.after is not None:
            (after_id,) = cursor_parts(f.after, (int,))
            stmt = stmt.where(CASES.c.id < after_id)
        stmt = stmt.order_by(CASES.c.id.desc())
        matching = rows_of(CASES).where(*conds)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, matching, f.limit, lambda r: (r.id,))
        return Page(
            tuple(CaseListing(case_from_row(r), r.owner_email, r.team_name) for r in rows),
            total,
            f.limit,
            cursor,
            exact,
        )

    def owner_and_team(self, case: Case) -> tuple[str | None, str | None]:
        """The owner's email and the team's name of one case."""
        with self.engine.connect() as conn:
            row = conn.execute(OWNER_AND_TEAM, {"owner_id": case.owner_id, "team_id": case.team_id}).one()
        return row[0], row[1]
