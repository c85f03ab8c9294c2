"""panel_member.calendar_token: each member's own calendar of their sittings, by a secret link (issue 12)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

A panel member (often not a carepath user) subscribes to their sittings from their own calendar
program, which cannot sign in: the link carries a random token, unique to the member. The feed holds
sitting dates, times, places and case counts only, never references or names. Existing members get
a token here; new ones when they are added.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("panel_member", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("calendar_token", sa.String(64), nullable=True))
    conn = op.get_bind()
    ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM panel_member"))]
    for member_id in ids:
        conn.execute(
            sa.text("UPDATE panel_member SET calendar_token = :t WHERE id = :id"),
            {"t": secrets.token_urlsafe(24), "id": member_id},
        )
    op.create_index("ix_panel_member_calendar_token", "panel_member", ["calendar_token"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_panel_member_calendar_token", table_name="panel_member")
    op.execute("ALTER TABLE panel_member DROP COLUMN calendar_token")
