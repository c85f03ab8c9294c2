"""case (team_id, status, owner_id): a team's caseload per worker counted from the index alone (issue 11)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

The team manager's page counts each worker's open cases in the team. Through ix_case_team that
is a row lookup for every case the team ever held, open or closed (bench/web.py: 28-44 ms for a
team of 77,100 cases at 100,900, about 1 ms at 1,009). With (team_id, status, owner_id) the count
reads only the team's open entries of the index and no rows (1.0 ms on the same database).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_case_team_status_owner", "case", ["team_id", "status", "owner_id"])


def downgrade() -> None:
    op.drop_index("ix_case_team_status_owner", table_name="case")
