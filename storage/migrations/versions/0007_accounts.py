"""app_user's password columns; web_session, api_token, case_view, sign_in_attempt: signing in

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

The web app signs people in (``engine.services.accounts``). A user gets an argon2id password hash,
a count of consecutive failed sign-ins and a lock; a browser's session and a personal API token are
stored as the sha256 of their random value, never the value. ``case_view`` records who read which
case (the read audit, for administrators); ``sign_in_attempt`` the attempts the per-client and
per-email limits count. New columns are nullable or have a server default, so existing users
simply have no password yet. Every foreign key has an index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carepath.storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", recreate="never") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(), nullable=True))
        batch.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", carepath.storage.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("password_set_at", carepath.storage.types.UTCDateTime(), nullable=True))
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.Column("ended_at", carepath.storage.types.UTCDateTime(), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_web_session_user", "web_session", ["user_id"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", carepath.storage.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", carepath.storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_token_user", "api_token", ["user_id"])
    op.create_table(
        "case_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("viewed_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.Column("what", sa.String(length=40), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_view_case", "case_view", ["case_id", "viewed_at"])
    op.create_index("ix_case_view_user", "case_view", ["user_id"])
    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_attempt_client", "sign_in_attempt", ["client", "at"])
    op.create_index("ix_sign_in_attempt_email", "sign_in_attempt", ["email_key", "at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_attempt_email", table_name="sign_in_attempt")
    op.drop_index("ix_sign_in_attempt_client", table_name="sign_in_attempt")
    op.drop_table("sign_in_attempt")
    op.drop_index("ix_case_view_user", table_name="case_view")
    op.drop_index("ix_case_view_case", table_name="case_view")
    op.drop_table("case_view")
    op.drop_index("ix_api_token_user", table_name="api_token")
    op.drop_table("api_token")
    op.drop_index("ix_web_session_user", table_name="web_session")
    op.drop_table("web_session")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a copy of the table: with every table pointing
    # at app_user, dropping the old one fails SQLite's foreign key check (as in 0004).
    with op.batch_alter_table("app_user", recreate="never") as batch:
        batch.drop_column("password_set_at")
        batch.drop_column("locked_until")
        batch.drop_column("failed_sign_ins")
        batch.drop_column("password_hash")
