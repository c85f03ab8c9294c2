"""Every table, as SQLModel models. Hot paths use Core statements on ``Model.__table__``.

Timestamps are set from the injected clock, never from column defaults. Every foreign key has
an index (its own, or a primary key or unique constraint that starts with it), and so has each
filter the read models offer; tests/integration/test_query_plans.py checks the hot statements'
plans. A new index here needs a migration in storage/migrations/versions/.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from carepath.storage.types import JSONType, UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=320)
    name: str = Field(max_length=200)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Team(SQLModel, table=True):
    __tablename__ = "team"
    __table_args__ = (
        Index("ix_team_manager", "manager_id"),
        Index("ix_team_service_manager", "service_manager_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    manager_id: int | None = Field(default=None, foreign_key="app_user.id")
    service_manager_id: int | None = Field(default=None, foreign_key="app_user.id")


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    # The primary key (team_id, user_id) serves a team's members; a person's teams need their own index.
    __table_args__ = (Index("ix_team_member_user", "user_id"),)

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)


class CaseRow(SQLModel, table=True):
    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_workflow_state", "workflow_id", "state"),
        Index("ix_case_owner", "owner_id"),
        Index("ix_case_team", "team_id"),
        # Lists by state alone or by status, newest first: (column, id) filters and orders in one index.
        Index("ix_case_state", "state", "id"),
        Index("ix_case_status", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, max_length=40)
    workflow_id: str = Field(max_length=80)
    workflow_version: int
    state: str = Field(max_length=80)
    status: str = Field(max_length=10)
    held_from: str | None = Field(default=None, max_length=80)
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    owner_id: int | None = Field(default=None, foreign_key="app_user.id")
    team_id: int | None = Field(default=None, foreign_key="team.id")
    exit_reason: str | None = Field(default=None, max_length=60)
    opened_on: date
    last_event_on: date
    last_seq: int
    version: int
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CaseEvent(SQLModel, table=True):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "case_event"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_event_seq"),  # also the index of case_id
        Index("ix_case_event_actor", "actor_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    seq: int
    trigger: str = Field(max_length=80)
    from_state: str | None = Field(default=None, max_length=80)
    to_state: str = Field(max_length=80)
    effective_on: date
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    note: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class ReferenceCounter(SQLModel, table=True):
    __tablename__ = "reference_counter"

    prefix: str = Field(primary_key=True, max_length=10)
    year: int = Field(primary_key=True)
    last: int


class DeadlineRow(SQLModel, table=True):
    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("case_id", "rule", "cycle", name="uq_deadline_case_rule_cycle"),  # also case_id's index
        Index("ix_deadline_status_due", "status", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    rule: str = Field(max_length=80)
    cycle: int
    start_on: date
    raw_due_on: date
    due_on: date
    status: str = Field(max_length=10)
    met_on: date | None = None
    #: The first day after the due date, for a deadline that ended after it (met late, or breached).
    breached_on: date | None = None
    paused_since: date | None = None
    paused_days: int = 0
    paused_working_days: int = 0


class TimerRow(SQLModel, table=True):
    """Planned alerts; the sweep claims rows with ``fire_at <= now`` and ``fired_at`` unset."""

    __tablename__ = "timer"
    __table_args__ = (
        UniqueConstraint("deadline_id", "key", name="uq_timer_deadline_key"),  # also deadline_id's index
        Index("ix_timer_pending", "fired_at", "fire_at"),
        Index("ix_timer_case", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadline.id")
    case_id: int = Field(foreign_key="case.id")
    key: str = Field(max_length=160)
    kind: str = Field(max_length=12)
    tier: int
    fire_on: date
    fire_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    claimed_by: str | None = Field(default=None, max_length=40)
    fired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    outcome: Literal["raised", "skipped"] | None = Field(default=None, sa_column=Column(String(10)))


class CalendarOverride(SQLModel, table=True):
    __tablename__ = "calendar_override"

    day: date = Field(primary_key=True)
    kind: Literal["closure", "opening"] = Field(sa_column=Column(String(10), nullable=False))
    reason: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class OutboxRow(SQLModel, table=True):
    """Mail to send, inserted in the transaction that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The list by status, newest first: with statistics and only ix_outbox_due, SQLite read
        # every row in id order looking for the few pending ones.
        Index("ix_outbox_status", "status", "id"),
        Index("ix_outbox_case", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    kind: str = Field(max_length=40)
    case_id: int | None = Field(default=None, foreign_key="case.id")
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    status: Literal["pending", "sent", "dead"] = Field(default="pending", sa_column=Column(String(10), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = None
    message_id: str = Field(max_length=250)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class CaughtMail(SQLModel, table=True):
    """What the built-in mail catcher received (``carepath mail list``)."""

    __tablename__ = "caught_mail"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=250, index=True)
    sender: str = Field(max_length=320)
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    subject: str = Field(max_length=500)
    raw: str
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AuditEntry(SQLModel, table=True):
    """Changes that are not case events (people, teams, calendar, mail), append-only."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_actor", "actor_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    action: str = Field(max_length=80)
    subject: str = Field(max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class PanelDate(SQLModel, table=True):
    """A booked panel sitting (``carepath panels add``); ready-for-panel notices name the next one."""

    __tablename__ = "panel_date"

    day: date = Field(primary_key=True)
    panel_type: Literal["fostering", "adoption"] = Field(sa_column=Column(String(20), primary_key=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


METADATA = SQLModel.metadata

# Named Core tables for statements (``CASES.c.ref``), one per model.
CASES = CaseRow.__table__  # type: ignore[attr-defined]
EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
DEADLINES = DeadlineRow.__table__  # type: ignore[attr-defined]
TIMERS = TimerRow.__table__  # type: ignore[attr-defined]
COUNTERS = ReferenceCounter.__table__  # type: ignore[attr-defined]
USERS = User.__table__  # type: ignore[attr-defined]
TEAMS = Team.__table__  # type: ignore[attr-defined]
MEMBERS = TeamMember.__table__  # type: ignore[attr-defined]
AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]
CAUGHT = CaughtMail.__table__  # type: ignore[attr-defined]
PANELS = PanelDate.__table__  # type: ignore[attr-defined]
OVERRIDES = CalendarOverride.__table__  # type: ignore[attr-defined]


class CalendarRecomputeRow(SQLModel, table=True):
    """A calendar change's recompute of the cases over its day, run in batches in reference order.

    Committed with the override; each batch moves ``last_ref``/``done`` on in its own transaction,
    so a run that stops part-way is continued from ``last_ref`` (``carepath calendar recompute``
    or the worker). ``finished_at`` is set with the last batch.
    """

    __tablename__ = "calendar_recompute"

    id: int | None = Field(default=None, primary_key=True)
    day: date
    total: int
    done: int = 0
    last_ref: str | None = Field(default=None, max_length=40)
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


RECOMPUTES = CalendarRecomputeRow.__table__  # type: ignore[attr-defined]
