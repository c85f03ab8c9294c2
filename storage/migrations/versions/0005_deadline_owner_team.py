"""deadline.owner_id and deadline.team_id: work lists read in due order per team or owner (issue 9)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

The due and overdue lists are filtered by the case's team or owner and ordered by due day. With
the team only on the case, a team's list walked every open deadline of the service in due order
until it found a page of the team's (bench/scale.py: 28 ms for a 3-row page at 10,400 cases,
0.02 ms at 104). The deadline row now carries a copy of its case's owner and team, kept equal
to the case's by the unit of work (set when a deadline is written, and on every deadline of the
case when the case changes hands), with indexes (status, team_id, due_on) and (status,
owner_id, due_on): a team's or a person's list reads its own deadlines in due order and stops.
They are copies, not references: no foreign key (the case's own columns carry those).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deadline", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
    op.execute(
        'UPDATE deadline SET owner_id = (SELECT "case".owner_id FROM "case" WHERE "case".id = deadline.case_id), '
        'team_id = (SELECT "case".team_id FROM "case" WHERE "case".id = deadline.case_id)'
    )
    op.create_index("ix_deadline_team_due", "deadline", ["status", "team_id", "due_on"])
    op.create_index("ix_deadline_owner_due", "deadline", ["status", "owner_id", "due_on"])


def downgrade() -> None:
    op.drop_index("ix_deadline_owner_due", table_name="deadline")
    op.drop_index("ix_deadline_team_due", table_name="deadline")
    op.execute("ALTER TABLE deadline DROP COLUMN team_id")
    op.execute("ALTER TABLE deadline DROP COLUMN owner_id")
