"""audit_entry (subject, at): a person's changes read by their subject, newest first

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

A person's page lists the changes to their record (added, linked, corrected, taken off a case),
which the audit trail holds under the subject ``person:<number>``. Without an index that read
would scan the whole audit trail, which grows with every change to every person, team and panel;
(subject, at) reads one person's entries, newest first, directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_entry_subject", "audit_entry", ["subject", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_entry_subject", table_name="audit_entry")
