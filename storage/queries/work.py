"""Work trays for the web app: open cases with their next deadline, soonest (overdue) first;
breaches in a period; caseload per worker.

A caseworker's tray is their open cases ordered by the earliest open deadline (cases with none
last), keyset-paged on (next due day, case id), so a page costs the same whatever the caseload.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, literal_column, or_, select, tuple_

from carepath.engine.deadlines import Deadline
from carepath.engine.reads import (
    COUNT_CAP,
    DEFAULT_LIMIT,
    CaseListing,
    Page,
    Scope,
    WorkerLoad,
    WorkItem,
    cursor_parts,
    make_cursor,
)
from carepath.storage.paging import capped_count, read_page, rows_of
from carepath.storage.tables import CASES, DEADLINES, TEAMS, USERS
from carepath.storage.uow import case_from_row, deadline_from_row

#: Where cases with no open deadline sort: after every real due day.
_NEVER = date(9999, 12, 31)
_ONE_DAY = timedelta(days=1)


class WorkQueries:
    """Trays of open cases, breaches and caseloads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def tray(
        self,
        scope: Scope,
        *,
        owner_id: int | None = None,
        team_id: int | None = None,
        places: Sequence[tuple[str, str]] = (),
        workflow: str | None = None,
        state: str | None = None,
        statuses: Sequence[str] = ("open", "on_hold"),
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[WorkItem]:
        """Cases in ``scope`` with one of ``statuses`` (open and on hold by default), soonest due first.

        ``owner_id``, ``team_id``: one worker's or one team's; ``places``: in those (journey, state) pairs.
        """
        conds = _tray_conditions(scope, owner_id, team_id, places, workflow, state, statuses)
        if owner_id is not None:
            return self._owner_tray(owner_id, team_id, conds, limit, after)
        d = DEADLINES.c
        nd = select(d.case_id, func.min(d.due_on).label("next_due")).where(d.status == "open")
        if team_id is not None:
            nd = nd.where(d.team_id == team_id)
        nd_sub = nd.group_by(d.case_id).subquery()
        key = func.coalesce(nd_sub.c.next_due, _NEVER)
        stmt = (
            select(
                CASES,
                USERS.c.email.label("owner_email"),
                TEAMS.c.name.label("team_name"),
                key.label("sort_due"),
            )
            .outerjoin(nd_sub, nd_sub.c.case_id == CASES.c.id)
            .outerjoin(USERS, USERS.c.id == CASES.c.owner_id)
            .outerjoin(TEAMS, TEAMS.c.id == CASES.c.team_id)
            .where(*conds)
        )
        if after is not None:
            due, cid = cursor_parts(after, (date, int))
            stmt = stmt.where(tuple_(key, CASES.c.id) > tuple_(due, cid))
        stmt = stmt.order_by(key, CASES.c.id)
        matching = rows_of(CASES).where(*conds)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, matching, limit, lambda r: (_day(r.sort_due), r.id))
            firsts = self._firsts(conn, [(r.id, _day(r.sort_due)) for r in rows if _day(r.sort_due) != _NEVER])
        items = tuple(
            WorkItem(CaseListing(case_from_row(r), r.owner_email, r.team_name), firsts.get(r.id)) for r in rows
        )
        return Page(items, total, limit, cursor, exact)

    def tray_count(
        self,
        scope: Scope,
        *,
        owner_id: int | None = None,
        team_id: int | None = None,
        places: Sequence[tuple[str, str]] = (),
        statuses: Sequence[str] = ("open", "on_hold"),
    ) -> int:
        """How many cases ``tray`` lists, up to ``COUNT_CAP``: its ``total``, one count and nothing else."""
        conds = _tray_conditions(scope, owner_id, team_id, places, None, None, statuses)
        with self.engine.connect() as conn:
            return min(int(conn.execute(capped_count(rows_of(CASES).where(*conds))).scalar_one()), COUNT_CAP)

    def _owner_tray(
        self, owner_id: int, team_id: int | None, conds: list[Any], limit: int, after: str | None
    ) -> Page[WorkItem]:
        """One worker's tray (My work), the same page as the general query, read in due order.

        The general query groups every open deadline of the worker and sorts all their cases, so
        its cost grows with the caseload (35 ms for 2,800 open cases among 18,600). Here the
        worker's open deadlines are walked in their index's due order, each case at its earliest
        one, until the page is full and its last due day is complete; then, if the page is still
        short, their cases with no open deadline, by id. The page costs about its own size.
        """
        start: tuple[date, int] | None = cursor_parts(after, (date, int)) if after is not None else None
        with self.engine.connect() as conn:
            keys: list[tuple[date, int]] = []
            if start is None or start[0] != _NEVER:
                keys = self._due_keys(conn, owner_id, team_id, conds, limit + 1, start)
            if len(keys) <= limit:
                since = start[1] if start is not None and start[0] == _NEVER else None
                keys += [
                    (_NEVER, i) for i in self._undue_ids(conn, owner_id, team_id, conds, limit + 1 - len(keys), since)
                ]
            more = len(keys) > limit
            keys = keys[:limit]
            rows = {
                r.id: r
                for r in conn.execute(
                    select(CASES, USERS.c.email.label("owner_email"), TEAMS.c.name.label("team_name"))
                    .outerjoin(USERS, USERS.c.id == CASES.c.owner_id)
                    .outerjoin(TEAMS, TEAMS.c.id == CASES.c.team_id)
                    .where(CASES.c.id.in_([cid for _, cid in keys]))
                )
            }
            total = int(conn.execute(capped_count(rows_of(CASES).where(*conds))).scalar_one())
            firsts = self._firsts(conn, [(cid, due) for due, cid in keys if due != _NEVER])
        items = tuple(
            WorkItem(CaseListing(case_from_row(rows[cid]), rows[cid].owner_email, rows[cid].team_name), firsts.get(cid))
            for _, cid in keys
        )
        cursor = make_cursor(*keys[-1]) if more else None
        return Page(items, min(total, COUNT_CAP), limit, cursor, total <= COUNT_CAP)

    @staticmethod
    def _open_of(d: Any, owner_id: int, team_id: int | None) -> list[Any]:
        out = [d.status == "open", d.owner_id == owner_id]
        return out if team_id is None else [*out, d.team_id == team_id]

    def _due_keys(
        self, conn: Any, owner_id: int, team_id: int | None, conds: list[Any], want: int, start: tuple[date, int] | None
    ) -> list[tuple[date, int]]:
        """Up to ``want`` (earliest open due day, case id) of the worker's cases matching ``conds``, after ``start``."""
        d, other = DEADLINES.alias("d"), DEADLINES.alias("d_other")
        earlier = (
            select(literal_column("1"))
            .where(
                other.c.case_id == d.c.case_id, *self._open_of(other.c, owner_id, team_id), other.c.due_on < d.c.due_on
            )
            .exists()
        )
        stmt = (
            select(d.c.due_on, d.c.case_id)
            .join(CASES, CASES.c.id == d.c.case_id)
            .where(*self._open_of(d.c, owner_id, team_id), *conds, ~earlier)
        )
        if start is not None:
            stmt = stmt.where(or_(d.c.due_on > start[0], and_(d.c.due_on == start[0], d.c.case_id > start[1])))
        found: dict[int, date] = {}
        last: date | None = None
        with conn.execute(stmt.order_by(d.c.due_on).execution_options(yield_per=100)) as result:
            for row in result:
                day = _day(row.due_on)
                if last is not None and day > last:
                    break  # the page is full and its last due day complete
                found.setdefault(row.case_id, day)
                if last is None and len(found) >= want:
                    last = day
        return sorted((day, cid) for cid, day in found.items())[:want]

    @staticmethod
    def _undue_ids(
        conn: Any, owner_id: int, team_id: int | None, conds: list[Any], want: int, since: int | None
    ) -> list[int]:
        """Ids of the worker's cases matching ``conds`` with no open deadline (they sort last), by id."""
        d = DEADLINES.alias("d_open")
        some = (
            select(literal_column("1"))
            .where(d.c.case_id == CASES.c.id, *WorkQueries._open_of(d.c, owner_id, team_id))
            .exists()
        )
        stmt = select(CASES.c.id).where(*conds, ~some)
        if since is not None:
            stmt = stmt.where(CASES.c.id > since)
        return [r.id for r in conn.execute(stmt.order_by(CASES.c.id).limit(want))]

    @staticmethod
    def _firsts(conn: Any, keys: list[tuple[int, date]]) -> dict[int, Deadline]:
        """The open deadline each case has on its earliest due day (one statement for the page)."""
        if not keys:
            return {}
        # By case id (the case's own deadlines, by its index), the day picked here: SQLite runs a
        # (case_id, due_on) IN (...) of row values as a scan of every open deadline (110 ms at 100,000 cases).
        wanted = dict(keys)
        rows = conn.execute(
            select(DEADLINES)
            .where(DEADLINES.c.status == "open", DEADLINES.c.case_id.in_(sorted(wanted)))
            .order_by(DEADLINES.c.case_id, DEADLINES.c.id)
        )
        out: dict[int, Deadline] = {}
        for r in rows:
            if r.case_id not in out and _day(r.due_on) == wanted[r.case_id]:
                out[r.case_id] = deadline_from_row(r)
        return out

    def breaches(
        self, scope: Scope, since: date, until: date, *, team_id: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page[tuple[Deadline, str, str | None]]:
        """Deadlines breached in [since, until] (the day after their due day), with case ref and owner."""
        d = DEADLINES.c
        conds: list[Any] = [d.breached_on.is_not(None), d.breached_on >= since, d.breached_on <= until]
        # The same rows, said so an index can find them: breached_on is set only on met and breached
        # deadlines, always the day after due_on (engine.deadlines, migration 0004). With breached_on
        # alone (no index) SQLite walked a whole deadline index: 1 s for a team of 77,100 cases. A
        # deadline voided since (the event that started it was entered in error) never was a breach.
        ended = ("met", "breached")
        conds += [d.status.in_(ended), d.due_on >= since - _ONE_DAY, d.due_on <= until - _ONE_DAY]
        if not scope.all_cases:
            conds.append(or_(d.owner_id == scope.actor_id, d.team_id.in_(sorted(scope.team_ids))))
        if team_id is not None:
            conds.append(d.team_id == team_id)
        stmt = (
            select(DEADLINES, CASES.c.ref, USERS.c.email.label("owner_email"))
            .join(CASES, CASES.c.id == d.case_id)
            .outerjoin(USERS, USERS.c.id == CASES.c.owner_id)
            .where(*conds)
        )
        with self.engine.connect() as conn:
            if team_id is None:
                ordered = stmt.order_by(d.breached_on.desc(), d.id.desc())
                rows, total, exact, _ = read_page(conn, ordered, rows_of(DEADLINES).where(*conds), limit, _by_id)
            else:
                rows, total, exact = self._team_breaches(conn, stmt, conds, ended, limit)
        return Page(tuple((deadline_from_row(r), r.ref, r.owner_email) for r in rows), total, limit, None, exact)

    @staticmethod
    def _team_breaches(
        conn: Any, stmt: Any, conds: list[Any], ended: Sequence[str], limit: int
    ) -> tuple[list[Any], int, bool]:
        """A team's latest breaches: each status's latest ``limit`` read backwards along the team's due index
        (no sort of the whole month: 1,800 rows for a 77,100-case team), then merged."""
        d = DEADLINES.c
        rows: list[Any] = []
        for status in ended:
            latest = stmt.where(d.status == status).order_by(d.due_on.desc(), d.id.desc()).limit(limit)
            rows.extend(conn.execute(latest))
        rows.sort(key=lambda r: (_day(r.breached_on), r.id), reverse=True)
        total = int(conn.execute(capped_count(rows_of(DEADLINES).where(*conds))).scalar_one())
        return rows[:limit], min(total, COUNT_CAP), total <= COUNT_CAP

    def caseloads(self, team_id: int) -> list[WorkerLoad]:
        """Open cases per owner in one team (a team is tens of people: not paged)."""
        stmt = (
            select(USERS.c.email, USERS.c.name, func.count(CASES.c.id))
            .select_from(CASES)
            .outerjoin(USERS, USERS.c.id == CASES.c.owner_id)
            .where(CASES.c.team_id == team_id, CASES.c.status == "open")
            .group_by(USERS.c.email, USERS.c.name)
            .order_by(func.count(CASES.c.id).desc(), USERS.c.email)
        )
        with self.engine.connect() as conn:
            return [WorkerLoad(r[0], r[1], int(r[2])) for r in conn.execute(stmt)]


def _by_id(row: Any) -> tuple[object, ...]:
    return (row.id,)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _tray_conditions(
    scope: Scope,
    owner_id: int | None,
    team_id: int | None,
    places: Sequence[tuple[str, str]],
    workflow: str | None,
    state: str | None,
    statuses: Sequence[str],
) -> list[Any]:
    """The filters on ``CASES`` of ``WorkQueries.tray``'s list."""
    conds: list[Any] = [CASES.c.status.in_(list(statuses))]
    if not scope.all_cases:
        conds.append(or_(CASES.c.owner_id == scope.actor_id, CASES.c.team_id.in_(sorted(scope.team_ids))))
    if owner_id is not None:
        conds.append(CASES.c.owner_id == owner_id)
    if team_id is not None:
        conds.append(CASES.c.team_id == team_id)
    if workflow:
        conds.append(CASES.c.workflow_id == workflow)
    if state:
        conds.append(CASES.c.state == state)
    if places:
        conds.append(or_(*(and_(CASES.c.workflow_id == w, CASES.c.state == s) for w, s in places)))
    return conds
