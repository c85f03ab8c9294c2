"""Panel sittings, members, attendance and agendas, and calendar overrides, as people read them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, or_, select, tuple_

from carepath.engine.case import Actor
from carepath.engine.errors import NotFound
from carepath.engine.reads import DEFAULT_LIMIT, Override, Page, cursor_parts
from carepath.engine.services.panels import Booking, Member, StoredSitting
from carepath.storage.paging import read_page, rows_of
from carepath.storage.panels import BOOKING_SELECT, attendance_of, booking_of, member_of, sittings_of
from carepath.storage.people import load_actor
from carepath.storage.tables import (
    CASES,
    DEADLINES,
    EVENTS,
    OVERRIDES,
    PANEL_ATTENDANCE,
    PANEL_BOOKINGS,
    PANEL_MEMBERS,
    PANEL_SITTINGS,
)

PANELS = PANEL_SITTINGS


class PanelQueries:
    """Sittings and local calendar overrides."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sitting_days(
        self, panel_type: str | None, since: date | None, *, limit: int = DEFAULT_LIMIT, after: str | None = None
    ) -> Page[tuple[date, str]]:
        """A page of sittings not cancelled (day, type) in date order (keyset on day and type)."""
        conds: list[Any] = [PANELS.c.status != "cancelled"]
        if panel_type is not None:
            conds.append(PANELS.c.panel_type == panel_type)
        if since is not None:
            conds.append(PANELS.c.day >= since)
        stmt = select(PANELS.c.day, PANELS.c.panel_type).where(*conds)
        if after is not None:
            day, kind = cursor_parts(after, (date, str))
            stmt = stmt.where(tuple_(PANELS.c.day, PANELS.c.panel_type) > tuple_(day, kind))
        stmt = stmt.order_by(PANELS.c.day, PANELS.c.panel_type)
        matching = rows_of(PANELS).where(*conds)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, matching, limit, lambda r: (r.day, r.panel_type))
        return Page(tuple((r.day, r.panel_type) for r in rows), total, limit, cursor, exact)

    def actor(self, email: str) -> Actor:
        """The active user ``email`` (a reader named by email)."""
        with self.engine.connect() as conn:
            return load_actor(conn, email)

    def sitting(self, sitting_id: int) -> StoredSitting:
        """One sitting; ``NotFound`` if there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(select(PANELS).where(PANELS.c.id == sitting_id)).first()
            if row is None:
                raise NotFound("panel sitting", sitting_id)
            return sittings_of(conn, [row])[0]

    def sittings(
        self, panel_type: str | None, since: date | None, *, limit: int = DEFAULT_LIMIT, after: str | None = None
    ) -> Page[StoredSitting]:
        """A page of sittings (cancelled ones too) in date order (keyset on day, id)."""
        conds: list[Any] = []
        if panel_type is not None:
            conds.append(PANELS.c.panel_type == panel_type)
        if since is not None:
            conds.append(PANELS.c.day >= since)
        stmt = select(PANELS).where(*conds)
        if after is not None:
            day, sid = cursor_parts(after, (date, int))
            stmt = stmt.where(tuple_(PANELS.c.day, PANELS.c.id) > tuple_(day, sid))
        stmt = stmt.order_by(PANELS.c.day, PANELS.c.id)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(
                conn, stmt, rows_of(PANELS).where(*conds), limit, lambda r: (r.day, r.id)
            )
            found = sittings_of(conn, rows)
        return Page(tuple(found), total, limit, cursor, exact)

    def members(self, panel_type: str | None) -> list[Member]:
        """The central list of members, by name (those sitting on ``panel_type`` panels if given)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(PANEL_MEMBERS).order_by(PANEL_MEMBERS.c.name, PANEL_MEMBERS.c.id))
            out = [member_of(r) for r in rows]
        return [m for m in out if panel_type is None or panel_type in m.panel_types]

    def attendance(self, sitting_id: int) -> list[Member]:
        """Who attends the sitting, by name."""
        with self.engine.connect() as conn:
            return attendance_of(conn, sitting_id)

    def agenda(self, sitting_id: int) -> list[Booking]:
        """The sitting's bookings that were not moved elsewhere, in booking order."""
        stmt = BOOKING_SELECT.where(
            PANEL_BOOKINGS.c.sitting_id == sitting_id, PANEL_BOOKINGS.c.status.not_in(("moved", "withdrawn"))
        )
        with self.engine.connect() as conn:
            return [booking_of(r) for r in conn.execute(stmt.order_by(PANEL_BOOKINGS.c.id))]

    def calendar_token(self, member_id: int) -> str:
        """The secret of a member's calendar link; ``NotFound`` if there is no such member."""
        with self.engine.connect() as conn:
            token = conn.execute(select(PANEL_MEMBERS.c.calendar_token).where(PANEL_MEMBERS.c.id == member_id)).first()
        if token is None or not token[0]:
            raise NotFound("panel member", str(member_id))
        return str(token[0])

    def member_by_token(self, token: str) -> Member | None:
        """The active member whose calendar link holds ``token``, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(PANEL_MEMBERS).where(PANEL_MEMBERS.c.calendar_token == token, PANEL_MEMBERS.c.active.is_(True))
            ).first()
        return member_of(row) if row is not None else None

    def member_sittings(self, member_id: int, since: date | None) -> list[StoredSitting]:
        """The sittings the member attends, in date order; ``NotFound`` if there is no such member."""
        stmt = (
            select(PANELS)
            .join(PANEL_ATTENDANCE, PANEL_ATTENDANCE.c.sitting_id == PANELS.c.id)
            .where(PANEL_ATTENDANCE.c.member_id == member_id)
        )
        if since is not None:
            stmt = stmt.where(PANELS.c.day >= since)
        with self.engine.connect() as conn:
            if conn.execute(select(PANEL_MEMBERS.c.id).where(PANEL_MEMBERS.c.id == member_id)).first() is None:
                raise NotFound("panel member", member_id)
            return sittings_of(conn, conn.execute(stmt.order_by(PANELS.c.day, PANELS.c.id)))

    def waiting(
        self, states: Sequence[tuple[str, int, str]], *, all_cases: bool, actor_id: int, team_ids: frozenset[int]
    ) -> list[tuple[str, str, int, str, date]]:
        """Open cases in one of ``states`` with no booking waiting, oldest latest event first."""
        c = CASES.c
        booked = select(PANEL_BOOKINGS.c.id).where(
            PANEL_BOOKINGS.c.case_id == c.id, PANEL_BOOKINGS.c.status == "booked"
        )
        stmt = select(c.ref, c.workflow_id, c.workflow_version, c.state, c.last_event_on).where(
            c.status == "open",
            c.state.in_(sorted({s for _, _, s in states})),
            tuple_(c.workflow_id, c.workflow_version, c.state).in_(list(states)),
            ~booked.exists(),
        )
        if not all_cases:
            stmt = stmt.where(or_(c.owner_id == actor_id, c.team_id.in_(sorted(team_ids))))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(c.last_event_on, c.ref))
            return [(r.ref, r.workflow_id, r.workflow_version, r.state, r.last_event_on) for r in rows]

    def report_rows(self, since: date, until: date) -> list[tuple[StoredSitting, list[Booking]]]:
        """Sittings from ``since`` to ``until`` in date order, each with every booking made on it."""
        stmt = select(PANELS).where(PANELS.c.day >= since, PANELS.c.day <= until).order_by(PANELS.c.day, PANELS.c.id)
        with self.engine.connect() as conn:
            found = sittings_of(conn, conn.execute(stmt))
            ids = [s.id for s in found]
            by_sitting: dict[int, list[Booking]] = {i: [] for i in ids}
            if ids:
                rows = conn.execute(
                    BOOKING_SELECT.where(PANEL_BOOKINGS.c.sitting_id.in_(ids)).order_by(PANEL_BOOKINGS.c.id)
                )
                for r in rows:
                    by_sitting[r.sitting_id].append(booking_of(r))
        return [(s, by_sitting[s.id]) for s in found]

    def decisions_in_time(self, case_ids: Sequence[int], rules: Sequence[str], since: date) -> tuple[int, int]:
        """Of the cases, the deadlines of ``rules`` started on or after ``since`` that were met, and those on time."""
        if not case_ids or not rules:
            return 0, 0
        d = DEADLINES.c
        stmt = select(d.met_on, d.due_on).where(
            d.case_id.in_(list(case_ids)), d.rule.in_(list(rules)), d.start_on >= since, d.met_on.is_not(None)
        )
        with self.engine.connect() as conn:
            met = list(conn.execute(stmt))
        return len(met), sum(1 for r in met if r.met_on <= r.due_on)

    def entered_on(self, wanted: Sequence[tuple[int, str, date]]) -> dict[int, date]:
        """For each (case id, state, by): the latest day on or before ``by`` the case entered ``state``."""
        out: dict[int, date] = {}
        if not wanted:
            return out
        e = EVENTS.c
        ids = sorted({w[0] for w in wanted})
        states = sorted({w[1] for w in wanted})
        stmt = select(e.case_id, e.to_state, e.effective_on).where(
            e.case_id.in_(ids), e.to_state.in_(states), e.from_state.is_distinct_from(e.to_state)
        )
        wants = {(w[0], w[1]): w[2] for w in wanted}
        with self.engine.connect() as conn:
            for r in conn.execute(stmt):
                by = wants.get((r.case_id, r.to_state))
                if by is not None and r.effective_on <= by and r.effective_on > out.get(r.case_id, date.min):
                    out[r.case_id] = r.effective_on
        return out

    def overrides(self, *, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[Override]:
        """A page of local calendar overrides, by day (keyset on the day)."""
        stmt = select(OVERRIDES.c.day, OVERRIDES.c.kind, OVERRIDES.c.reason)
        if after is not None:
            (day,) = cursor_parts(after, (date,))
            stmt = stmt.where(OVERRIDES.c.day > day)
        stmt = stmt.order_by(OVERRIDES.c.day)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, rows_of(OVERRIDES), limit, lambda r: (r.day,))
        return Page(
            tuple(Override(r.day, r.kind, r.reason) for r in rows),
            total,
            limit,
            cursor,
            total_exact=exact,
        )
