"""case_event (trigger, case_id, recorded_at), deadline (due_on): reports read by move and by due day (issue 13)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

Reports count moves (applications accepted, panels held, approvals...) across every case as of a
day. Without an index on the trigger each of them read all of case_event (about 1,000,000 rows at
100,900 cases); (trigger, case_id, recorded_at) finds a move's rows directly, tells from the index
alone which cases' openings were recorded by the as-of day, and answers "was this case's event
voided by a correction recorded by then" (trigger = 'entered_in_error', case_id) with one probe.
Compliance reads the deadlines due in a period: (due_on) reads that range instead of every deadline.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_case_event_trigger", "case_event", ["trigger", "case_id", "recorded_at"])
    op.create_index("ix_deadline_due", "deadline", ["due_on"])


def downgrade() -> None:
    op.drop_index("ix_deadline_due", table_name="deadline")
    op.drop_index("ix_case_event_trigger", table_name="case_event")
