"""Panel sittings, members, attendance and bookings (``engine.services.panels``).

``panel_store(tx)`` binds the writes to one ``SqlTransaction``'s connection, so each commits with
the case events and audit entries of its command, or not at all. The reads (``PanelQueries``)
are in ``storage.queries.panels``; both build the engine's types with the helpers here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import date, time
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from carepath.engine.errors import InvalidInput, NotFound
from carepath.engine.ports import Transaction
from carepath.engine.services.panels import Booking, Member, StoredSitting
from carepath.storage.tables import CASES, PANEL_ATTENDANCE, PANEL_BOOKINGS, PANEL_MEMBERS, PANEL_SITTINGS
from carepath.storage.uow import SqlTransaction

#: Bookings that hold a place on a sitting's agenda.
ON_AGENDA = ("booked", "heard")

BOOKING_SELECT = select(
    PANEL_BOOKINGS.c.id,
    PANEL_BOOKINGS.c.sitting_id,
    PANEL_BOOKINGS.c.case_id,
    CASES.c.ref,
    CASES.c.workflow_id,
    CASES.c.state,
    PANEL_BOOKINGS.c.booked_on,
    PANEL_BOOKINGS.c.status,
    PANEL_BOOKINGS.c.papers_circulated_on,
    PANEL_BOOKINGS.c.recommendation,
    PANEL_BOOKINGS.c.note,
    PANEL_BOOKINGS.c.reason,
).join(CASES, CASES.c.id == PANEL_BOOKINGS.c.case_id)


def booking_of(r: Any) -> Booking:
    """A ``BOOKING_SELECT`` row as a ``Booking``."""
    return Booking(
        r.id,
        r.sitting_id,
        r.case_id,
        r.ref,
        r.workflow_id,
        r.state,
        r.booked_on,
        r.status,
        r.papers_circulated_on,
        r.recommendation,
        r.note,
        r.reason,
    )


def member_of(r: Any) -> Member:
    """A ``panel_member`` row as a ``Member``."""
    return Member(r.id, r.name, r.email, tuple(r.roles), tuple(r.panel_types), r.expires_on, bool(r.active))


def sittings_of(conn: Connection, rows: Iterable[Any]) -> list[StoredSitting]:
    """Sitting rows with their agenda counts and attendees' roles (two queries for the lot)."""
    rows = list(rows)
    ids = [r.id for r in rows]
    booked: dict[int, int] = {}
    roles: dict[int, list[tuple[str, ...]]] = {}
    if ids:
        counted = (
            select(PANEL_BOOKINGS.c.sitting_id, func.count())
            .where(PANEL_BOOKINGS.c.sitting_id.in_(ids), PANEL_BOOKINGS.c.status.in_(ON_AGENDA))
            .group_by(PANEL_BOOKINGS.c.sitting_id)
        )
        booked = {int(r[0]): int(r[1]) for r in conn.execute(counted)}
        attending = (
            select(PANEL_ATTENDANCE.c.sitting_id, PANEL_MEMBERS.c.roles)
            .join(PANEL_MEMBERS, PANEL_MEMBERS.c.id == PANEL_ATTENDANCE.c.member_id)
            .where(PANEL_ATTENDANCE.c.sitting_id.in_(ids))
        )
        for r in conn.execute(attending):
            roles.setdefault(int(r.sitting_id), []).append(tuple(r.roles))
    return [
        StoredSitting(
            r.id,
            r.day,
            r.panel_type,
            r.starts_at,
            r.place,
            r.capacity,
            r.status,
            r.cancel_reason,
            r.minutes_received_on,
            booked.get(r.id, 0),
            tuple(roles.get(r.id, ())),
        )
        for r in rows
    ]


def attendance_of(conn: Connection, sitting_id: int) -> list[Member]:
    """The members recorded as attending a sitting, by name."""
    stmt = (
        select(PANEL_MEMBERS)
        .join(PANEL_ATTENDANCE, PANEL_ATTENDANCE.c.member_id == PANEL_MEMBERS.c.id)
        .where(PANEL_ATTENDANCE.c.sitting_id == sitting_id)
        .order_by(PANEL_MEMBERS.c.name, PANEL_MEMBERS.c.id)
    )
    return [member_of(r) for r in conn.execute(stmt)]


class PanelSqlStore:
    """``engine.services.panels.PanelStore`` on one transaction's connection."""

    def __init__(self, tx: SqlTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    def add_sitting(self, day: date, panel_type: str, starts_at: time | None, place: str, capacity: int) -> int:
        values = {
            "day": day,
            "panel_type": panel_type,
            "starts_at": starts_at,
            "place": place,
            "capacity": capacity,
            "status": "planned",
            "created_at": self.tx.now(),
        }
        try:
            with self.conn.begin_nested():
                stmt = insert(PANEL_SITTINGS).values(values).returning(PANEL_SITTINGS.c.id)
                return int(self.conn.execute(stmt).scalar_one())
        except IntegrityError as exc:
            raise InvalidInput(f"a {panel_type} panel is already planned on {day.isoformat()}") from exc

    def sitting_for_update(self, sitting_id: int) -> StoredSitting:
        stmt = select(PANEL_SITTINGS).where(PANEL_SITTINGS.c.id == sitting_id)
        if self.tx.postgres:
            stmt = stmt.with_for_update()
        row = self.conn.execute(stmt).first()
        if row is None:
            raise NotFound("panel sitting", sitting_id)
        return sittings_of(self.conn, [row])[0]

    def find_sitting(self, day: date, panel_type: str) -> StoredSitting | None:
        stmt = select(PANEL_SITTINGS).where(
            PANEL_SITTINGS.c.day == day,
            PANEL_SITTINGS.c.panel_type == panel_type,
            PANEL_SITTINGS.c.status != "cancelled",
        )
        row = self.conn.execute(stmt).first()
        return None if row is None else sittings_of(self.conn, [row])[0]

    def set_status(self, sitting_id: int, status: str, reason: str | None) -> None:
        stmt = update(PANEL_SITTINGS).where(PANEL_SITTINGS.c.id == sitting_id)
        self.conn.execute(stmt.values(status=status, cancel_reason=reason))

    def set_minutes(self, sitting_id: int, received_on: date) -> None:
        stmt = update(PANEL_SITTINGS).where(PANEL_SITTINGS.c.id == sitting_id)
        self.conn.execute(stmt.values(minutes_received_on=received_on))

    def add_member(
        self, name: str, email: str | None, roles: Sequence[str], panel_types: Sequence[str], expires_on: date | None
    ) -> int:
        if email is not None:
            taken = select(PANEL_MEMBERS.c.id).where(func.lower(PANEL_MEMBERS.c.email) == email.lower())
            if self.conn.execute(taken).first() is not None:
                raise InvalidInput(f"{email} is already on the list of panel members")
        values = {
            "name": name,
            "email": email,
            "roles": list(roles),
            "panel_types": list(panel_types),
            "expires_on": expires_on,
            "active": True,
            "created_at": self.tx.now(),
            "calendar_token": secrets.token_urlsafe(24),
        }
        return int(self.conn.execute(insert(PANEL_MEMBERS).values(values).returning(PANEL_MEMBERS.c.id)).scalar_one())

    def members_by_id(self, ids: Sequence[int]) -> list[Member]:
        if not ids:
            return []
        return [member_of(r) for r in self.conn.execute(select(PANEL_MEMBERS).where(PANEL_MEMBERS.c.id.in_(ids)))]

    def attendance(self, sitting_id: int) -> list[Member]:
        return attendance_of(self.conn, sitting_id)

    def set_attendance(self, sitting_id: int, member_ids: Sequence[int]) -> None:
        self.conn.execute(delete(PANEL_ATTENDANCE).where(PANEL_ATTENDANCE.c.sitting_id == sitting_id))
        if member_ids:
            rows = [{"sitting_id": sitting_id, "member_id": m} for m in member_ids]
            self.conn.execute(insert(PANEL_ATTENDANCE), rows)

    def bookings(self, sitting_id: int, statuses: Sequence[str]) -> list[Booking]:
        stmt = BOOKING_SELECT.where(
            PANEL_BOOKINGS.c.sitting_id == sitting_id, PANEL_BOOKINGS.c.status.in_(list(statuses))
        )
        return [booking_of(r) for r in self.conn.execute(stmt.order_by(PANEL_BOOKINGS.c.id))]

    def active_booking(self, case_id: int) -> Booking | None:
        stmt = BOOKING_SELECT.where(PANEL_BOOKINGS.c.case_id == case_id, PANEL_BOOKINGS.c.status == "booked")
        row = self.conn.execute(stmt.order_by(PANEL_BOOKINGS.c.id.desc())).first()
        return None if row is None else booking_of(row)

    def add_booking(self, sitting_id: int, case_id: int, booked_on: date) -> int:
        values = {
            "sitting_id": sitting_id,
            "case_id": case_id,
            "booked_on": booked_on,
            "status": "booked",
            "created_at": self.tx.now(),
        }
        return int(self.conn.execute(insert(PANEL_BOOKINGS).values(values).returning(PANEL_BOOKINGS.c.id)).scalar_one())

    def end_booking(self, booking_id: int, status: str, reason: str | None) -> None:
        stmt = update(PANEL_BOOKINGS).where(PANEL_BOOKINGS.c.id == booking_id)
        self.conn.execute(stmt.values(status=status, reason=reason))

    def set_papers(self, booking_id: int, day: date) -> None:
        stmt = update(PANEL_BOOKINGS).where(PANEL_BOOKINGS.c.id == booking_id)
        self.conn.execute(stmt.values(papers_circulated_on=day))

    def set_recommendation(self, booking_id: int, recommendation: str, note: str | None) -> None:
        stmt = update(PANEL_BOOKINGS).where(PANEL_BOOKINGS.c.id == booking_id)
        self.conn.execute(stmt.values(status="heard", recommendation=recommendation, note=note))


def panel_store(tx: Transaction) -> PanelSqlStore:
    """The panel statements on ``tx`` (a ``SqlTransaction``: the bootstrap wires this to the SQL unit of work)."""
    assert isinstance(tx, SqlTransaction), type(tx)
    return PanelSqlStore(tx)
