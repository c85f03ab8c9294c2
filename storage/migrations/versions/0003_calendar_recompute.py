"""calendar_recompute: the durable record of a calendar change's batched recompute

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

A closure or opening commits with one row here (the day, how many cases had a deadline over it);
the cases are then recomputed in batches, each moving ``last_ref``/``done`` on in its own
transaction, and ``finished_at`` is set with the last. A run that stops part-way is continued
from ``last_ref`` by the worker or ``carepath calendar recompute``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carepath.storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_recompute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("last_ref", sa.String(length=40), nullable=True),
        sa.Column("started_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", carepath.storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("calendar_recompute")
