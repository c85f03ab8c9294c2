"""panel_sitting, panel_member, panel_attendance, panel_booking: panels end to end (issue 12)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

A sitting gets an id, a time, a place, a capacity and a status (planned, held, cancelled with a
reason) and the day its final minutes were received; the central list of members with their roles
and expiry; who attends each sitting; and each case's bookings on sittings (agenda rows, kept when
a case moves or is deferred). The ``panel_date`` rows become planned sittings of 6 cases and the
table goes; a downgrade puts back one ``panel_date`` row per sitting that is not cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carepath.storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "panel_sitting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("panel_type", sa.String(length=20), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("minutes_received_on", sa.Date(), nullable=True),
        sa.Column("created_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_panel_sitting_day", "panel_sitting", ["day", "panel_type"])
    op.create_index(
        "uq_panel_sitting_day_type",
        "panel_sitting",
        ["day", "panel_type"],
        unique=True,
        sqlite_where=sa.text("status <> 'cancelled'"),
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_table(
        "panel_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("roles", carepath.storage.types.JSONType, nullable=False),
        sa.Column("panel_types", carepath.storage.types.JSONType, nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "panel_attendance",
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["sitting_id"], ["panel_sitting.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["panel_member.id"]),
        sa.PrimaryKeyConstraint("sitting_id", "member_id"),
    )
    op.create_index("ix_panel_attendance_member", "panel_attendance", ["member_id"])
    op.create_table(
        "panel_booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("papers_circulated_on", sa.Date(), nullable=True),
        sa.Column("recommendation", sa.String(length=80), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["sitting_id"], ["panel_sitting.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_panel_booking_sitting", "panel_booking", ["sitting_id", "status"])
    op.create_index("ix_panel_booking_case", "panel_booking", ["case_id", "status"])
    # The old sittings become planned sittings of the default size.
    op.execute(
        "INSERT INTO panel_sitting (day, panel_type, starts_at, place, capacity, status, cancel_reason, "
        "minutes_received_on, created_at) "
        "SELECT day, panel_type, NULL, '', 6, 'planned', NULL, NULL, created_at "
        "FROM panel_date ORDER BY day, panel_type"
    )
    op.drop_table("panel_date")


def downgrade() -> None:
    op.create_table(
        "panel_date",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("panel_type", sa.String(length=20), nullable=False),
        sa.Column("created_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", "panel_type"),
    )
    op.execute(
        "INSERT INTO panel_date (day, panel_type, created_at) "
        "SELECT day, panel_type, MIN(created_at) FROM panel_sitting "
        "WHERE status <> 'cancelled' AND panel_type <> 'joint' GROUP BY day, panel_type"
    )
    op.drop_index("ix_panel_booking_case", table_name="panel_booking")
    op.drop_index("ix_panel_booking_sitting", table_name="panel_booking")
    op.drop_table("panel_booking")
    op.drop_index("ix_panel_attendance_member", table_name="panel_attendance")
    op.drop_table("panel_attendance")
    op.drop_table("panel_member")
    op.drop_index("uq_panel_sitting_day_type", table_name="panel_sitting")
    op.drop_index("ix_panel_sitting_day", table_name="panel_sitting")
    op.drop_table("panel_sitting")
