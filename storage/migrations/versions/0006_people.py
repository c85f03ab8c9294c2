"""person, person_name_key, case_person: the people cases are about (issue 10 point 3)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

A person (a child, an applicant, a partner, a household member, a birth parent, a connected
person) is linked to cases with their role in each (``case_person``). ``person_name_key`` holds
a Soundex-style key per token of a person's names (engine.people.stored_keys), so a forgiving
search by name narrows its candidates by index before it scores their spelling; the date of
birth has its own index. Every foreign key has an index (its own, or a primary key that starts
with it). New tables only: nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import carepath.storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("given_names", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("born_on", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=12), nullable=True),
        sa.Column("ethnicity", sa.String(length=4), nullable=True),
        sa.Column("contact", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_person_created_by", "person", ["created_by"])
    op.create_index("ix_person_born_on", "person", ["born_on", "id"])
    op.create_table(
        "person_name_key",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("key", "person_id"),
    )
    op.create_index("ix_person_name_key_person", "person_name_key", ["person_id"])
    op.create_table(
        "case_person",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", carepath.storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["added_by"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("case_id", "person_id"),
    )
    op.create_index("ix_case_person_person", "case_person", ["person_id"])
    op.create_index("ix_case_person_added_by", "case_person", ["added_by"])


def downgrade() -> None:
    op.drop_index("ix_case_person_added_by", table_name="case_person")
    op.drop_index("ix_case_person_person", table_name="case_person")
    op.drop_table("case_person")
    op.drop_index("ix_person_name_key_person", table_name="person_name_key")
    op.drop_table("person_name_key")
    op.drop_index("ix_person_born_on", table_name="person")
    op.drop_index("ix_person_created_by", table_name="person")
    op.drop_table("person")
