"""deadline.breached_on: a breach stays on the record after the case moves on (issue 10, point 7)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

A deadline that ends after its due date keeps the day it was breached (the first day after the
due date): met late (``status`` met, ``met_on`` after ``due_on``), or ``breached`` when the case
moved on or closed with it unmet. Only a deadline that ended on or before its due date is
``cancelled``.

Backfill, from what the rows themselves prove:

- met late (``met_on > due_on``): ``breached_on = due_on + 1 day``;
- cancelled, with a breach timer that the sweep raised: it was still open after its due day, so
  it was missed: ``status = 'breached'``, ``breached_on = due_on + 1 day``.

A cancelled row has no end date of its own, so one cancelled late whose breach was never raised
(the sweep not running) stays ``cancelled`` here; recomputing the case's deadlines from its
history (``CaseService.recompute_deadlines``) decides it from the dates exactly.
Downgrade turns ``breached`` rows back into ``cancelled`` and drops the column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _day_after(column: str) -> str:
    """SQL for the day after a DATE column, on SQLite (ISO text) or PostgreSQL (date)."""
    if op.get_bind().dialect.name == "sqlite":
        return f"date({column}, '+1 day')"
    return f"{column} + 1"


def upgrade() -> None:
    with op.batch_alter_table("deadline", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("breached_on", sa.Date(), nullable=True))
    after_due = _day_after("due_on")
    op.execute(f"UPDATE deadline SET breached_on = {after_due} WHERE status = 'met' AND met_on > due_on")
    op.execute(
        f"UPDATE deadline SET status = 'breached', breached_on = {after_due} "
        "WHERE status = 'cancelled' AND EXISTS ("
        "SELECT 1 FROM timer WHERE timer.deadline_id = deadline.id "
        "AND timer.kind = 'breach' AND timer.outcome = 'raised')"
    )


def downgrade() -> None:
    op.execute("UPDATE deadline SET status = 'cancelled' WHERE status = 'breached'")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a copy of the table: with timers pointing at
    # deadlines, dropping the old table fails SQLite's foreign key check.
    with op.batch_alter_table("deadline", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("breached_on")
