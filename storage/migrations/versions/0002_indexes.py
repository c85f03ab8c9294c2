"""indexes for every foreign key and for the read models' filters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

Foreign keys without an index of their own (one leading a primary key or unique constraint
counts): team.manager_id, team.service_manager_id, team_member.user_id, case_event.actor_id,
timer.case_id, outbox.case_id, audit_entry.actor_id. Lists newest first by one filter: cases by
state alone and by status, (state, id) and (status, id); the outbox by status, (status, id).
Plain CREATE INDEX on both databases (an index needs no batch copy of its table on SQLite);
``carepath db upgrade`` analyzes afterwards (storage/migrate.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, index, columns), in storage/tables.py's order.
INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("team", "ix_team_manager", ("manager_id",)),
    ("team", "ix_team_service_manager", ("service_manager_id",)),
    ("team_member", "ix_team_member_user", ("user_id",)),
    ("case", "ix_case_state", ("state", "id")),
    ("case", "ix_case_status", ("status", "id")),
    ("case_event", "ix_case_event_actor", ("actor_id",)),
    ("timer", "ix_timer_case", ("case_id",)),
    ("outbox", "ix_outbox_status", ("status", "id")),
    ("outbox", "ix_outbox_case", ("case_id",)),
    ("audit_entry", "ix_audit_entry_actor", ("actor_id",)),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, list(columns), unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
