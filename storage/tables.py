"""Every table, as SQLAlchemy Core ``Table``s on one ``METADATA``: statements use them directly (``CASES.c.ref``).

Plain Core, not SQLModel classes: carepath never used the ORM side (every statement is Core, and
rows map to the engine's dataclasses), and SQLModel's import and class building cost about a
quarter of a CLI command's start (issue 9; docs/adr/0006). The columns, types, defaults,
constraints and index names are those the SQLModel classes declared, so the migrations and the
databases they built are unchanged (a string with a length is ``VARCHAR(n)``, one without is
``VARCHAR``).

Timestamps are set from the injected clock, never from column defaults. Every foreign key has
an index (its own, or a primary key or unique constraint that starts with it), and so has each
filter the read models offer; tests/integration/test_query_plans.py checks the hot statements'
plans. A new index or column here needs a migration in storage/migrations/versions/.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Time,
    UniqueConstraint,
    text,
)

from carepath.storage.types import JSONType, UTCDateTime

METADATA = MetaData()


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


USERS = Table(
    "app_user",
    METADATA,
    _id(),
    Column("email", String(320), nullable=False, unique=True, index=True),
    Column("name", String(200), nullable=False),
    Column("roles", JSONType, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    #: Sign-in (migration 0007): an argon2id hash (``config.passwords``), never the password; none: cannot sign in.
    Column("password_hash", String),
    Column("failed_sign_ins", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", UTCDateTime),
    Column("password_set_at", UTCDateTime),
)

TEAMS = Table(
    "team",
    METADATA,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("manager_id", Integer, ForeignKey("app_user.id")),
    Column("service_manager_id", Integer, ForeignKey("app_user.id")),
    Index("ix_team_manager", "manager_id"),
    Index("ix_team_service_manager", "service_manager_id"),
)

# The primary key (team_id, user_id) serves a team's members; a person's teams need their own index.
MEMBERS = Table(
    "team_member",
    METADATA,
    Column("team_id", Integer, ForeignKey("team.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("app_user.id"), primary_key=True),
    Index("ix_team_member_user", "user_id"),
)

CASES = Table(
    "case",
    METADATA,
    _id(),
    Column("ref", String(40), nullable=False, unique=True),
    Column("workflow_id", String(80), nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("state", String(80), nullable=False),
    Column("status", String(10), nullable=False),
    Column("held_from", String(80)),
    Column("facts", JSONType, nullable=False),
    Column("owner_id", Integer, ForeignKey("app_user.id")),
    Column("team_id", Integer, ForeignKey("team.id")),
    Column("exit_reason", String(60)),
    Column("opened_on", Date, nullable=False),
    Column("last_event_on", Date, nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_case_workflow_state", "workflow_id", "state"),
    Index("ix_case_owner", "owner_id"),
    Index("ix_case_team", "team_id"),
    Index("ix_case_team_status_owner", "team_id", "status", "owner_id"),
    # Lists by state alone or by status, newest first: (column, id) filters and orders in one index.
    Index("ix_case_state", "state", "id"),
    Index("ix_case_status", "status", "id"),
)

#: Append-only: rows are inserted, never updated or deleted.
EVENTS = Table(
    "case_event",
    METADATA,
    _id(),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("trigger", String(80), nullable=False),
    Column("from_state", String(80)),
    Column("to_state", String(80), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("actor_id", Integer, ForeignKey("app_user.id")),
    Column("note", String),
    Column("payload", JSONType, nullable=False),
    UniqueConstraint("case_id", "seq", name="uq_case_event_seq"),  # also the index of case_id
    Index("ix_case_event_actor", "actor_id"),
    # Reports (migration 0011): a move's events across cases, and a case's corrections by one probe.
    Index("ix_case_event_trigger", "trigger", "case_id", "recorded_at"),
)

COUNTERS = Table(
    "reference_counter",
    METADATA,
    Column("prefix", String(10), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

DEADLINES = Table(
    "deadline",
    METADATA,
    _id(),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("rule", String(80), nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("start_on", Date, nullable=False),
    Column("raw_due_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", String(10), nullable=False),
    Column("met_on", Date),
    #: The first day after the due date, for a deadline that ended after it (met late, or breached).
    Column("breached_on", Date),
    Column("paused_since", Date),
    Column("paused_days", Integer, nullable=False, default=0),
    Column("paused_working_days", Integer, nullable=False, default=0),
    #: Copies of the case's owner and team, kept equal by the unit of work (migration 0005): a
    #: team's or a person's due list reads its own deadlines in due order.
    Column("owner_id", Integer),
    Column("team_id", Integer),
    UniqueConstraint("case_id", "rule", "cycle", name="uq_deadline_case_rule_cycle"),  # also case_id's index
    Index("ix_deadline_status_due", "status", "due_on"),
    Index("ix_deadline_team_due", "status", "team_id", "due_on"),
    Index("ix_deadline_owner_due", "status", "owner_id", "due_on"),
    # Compliance reports (migration 0011): the deadlines due in a period, whatever their status.
    Index("ix_deadline_due", "due_on"),
)

#: Planned alerts; the sweep claims rows with ``fire_at <= now`` and ``fired_at`` unset.
TIMERS = Table(
    "timer",
    METADATA,
    _id(),
    Column("deadline_id", Integer, ForeignKey("deadline.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("key", String(160), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("fire_on", Date, nullable=False),
    Column("fire_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("claimed_by", String(40)),
    Column("fired_at", UTCDateTime),
    Column("outcome", String(10)),  # raised | skipped
    UniqueConstraint("deadline_id", "key", name="uq_timer_deadline_key"),  # also deadline_id's index
    Index("ix_timer_pending", "fired_at", "fire_at"),
    Index("ix_timer_case", "case_id"),
)

OVERRIDES = Table(
    "calendar_override",
    METADATA,
    Column("day", Date, primary_key=True),
    Column("kind", String(10), nullable=False),  # closure | opening
    Column("reason", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

#: Mail to send, inserted in the transaction that causes it.
OUTBOX = Table(
    "outbox",
    METADATA,
    _id(),
    Column("key", String(200), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("case_id", Integer, ForeignKey("case.id")),
    Column("recipients", JSONType, nullable=False),
    Column("context", JSONType, nullable=False),
    Column("status", String(10), nullable=False),  # pending | sent | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("last_error", String),
    Column("message_id", String(250), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    # The list by status, newest first: with statistics and only ix_outbox_due, SQLite read
    # every row in id order looking for the few pending ones.
    Index("ix_outbox_status", "status", "id"),
    Index("ix_outbox_case", "case_id"),
)

#: What the built-in mail catcher received (``carepath mail list``).
CAUGHT = Table(
    "caught_mail",
    METADATA,
    _id(),
    Column("message_id", String(250), nullable=False, index=True),
    Column("sender", String(320), nullable=False),
    Column("recipients", JSONType, nullable=False),
    Column("subject", String(500), nullable=False),
    Column("raw", String, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

#: Changes that are not case events (people, teams, calendar, mail), append-only.
AUDIT = Table(
    "audit_entry",
    METADATA,
    _id(),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", Integer, ForeignKey("app_user.id")),
    Column("action", String(80), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("detail", JSONType, nullable=False),
    Index("ix_audit_entry_actor", "actor_id"),
    Index("ix_audit_entry_subject", "subject", "at"),
)

#: A panel sitting (``engine.services.panels``): its day, type, time, place, how many cases it takes
#: and whether it is planned, held or cancelled. One sitting of a type a day, cancelled ones aside.
PANEL_SITTINGS = Table(
    "panel_sitting",
    METADATA,
    _id(),
    Column("day", Date, nullable=False),
    Column("panel_type", String(20), nullable=False),  # fostering | adoption | joint
    Column("starts_at", Time),
    Column("place", String(200), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # planned | held | cancelled
    Column("cancel_reason", String(500)),
    Column("minutes_received_on", Date),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_panel_sitting_day", "day", "panel_type"),
    Index(
        "uq_panel_sitting_day_type",
        "day",
        "panel_type",
        unique=True,
        sqlite_where=text("status <> 'cancelled'"),
        postgresql_where=text("status <> 'cancelled'"),
    ),
)
#: Kept for callers of the old name: the sittings.
PANELS = PANEL_SITTINGS

#: The central list of people who may sit on panels (FSR 23; AAR 3), with their roles and expiry.
PANEL_MEMBERS = Table(
    "panel_member",
    METADATA,
    _id(),
    Column("name", String(200), nullable=False),
    Column("email", String(254)),
    Column("roles", JSONType, nullable=False),
    Column("panel_types", JSONType, nullable=False),
    Column("expires_on", Date),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    #: The secret in the member's calendar link (migration 0010): their sittings, without signing in.
    Column("calendar_token", String(64)),
    Index("ix_panel_member_calendar_token", "calendar_token", unique=True),
)

#: Who attends (or is expected at) a sitting.
PANEL_ATTENDANCE = Table(
    "panel_attendance",
    METADATA,
    Column("sitting_id", Integer, ForeignKey("panel_sitting.id"), primary_key=True),
    Column("member_id", Integer, ForeignKey("panel_member.id"), primary_key=True),
    Index("ix_panel_attendance_member", "member_id"),
)

#: A case on a sitting's agenda. ``status``: booked (on the agenda), heard (a recommendation made),
#: moved (to another sitting: a new row), deferred (back to the queue, with the reason). Rows are
#: never deleted: the history of a case's bookings is kept.
PANEL_BOOKINGS = Table(
    "panel_booking",
    METADATA,
    _id(),
    Column("sitting_id", Integer, ForeignKey("panel_sitting.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("booked_on", Date, nullable=False),
    Column("status", String(20), nullable=False),
    Column("papers_circulated_on", Date),
    Column("recommendation", String(80)),
    Column("note", String(500)),
    Column("reason", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_panel_booking_sitting", "sitting_id", "status"),
    Index("ix_panel_booking_case", "case_id", "status"),
)

#: A calendar change's recompute of the cases over its day, run in batches in the order the cases were opened.
#: Committed with the override; each batch moves ``last_ref``/``done`` on in its own transaction,
#: so a run that stops part-way is continued from ``last_ref`` (``carepath calendar recompute``
#: or the worker). ``finished_at`` is set with the last batch.
RECOMPUTES = Table(
    "calendar_recompute",
    METADATA,
    _id(),
    Column("day", Date, nullable=False),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("last_ref", String(40)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)

#: A person a case is about (issue 10): a child, an applicant, a partner, a household member, a birth
#: parent, a connected person. Never a user of carepath (``app_user``). Reached only through the
#: cases they are linked to (``case_person``); never given to the notifications.
PERSONS = Table(
    "person",
    METADATA,
    _id(),
    Column("given_names", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("born_on", Date),
    Column("sex", String(12)),  # engine.people.SEX
    Column("ethnicity", String(4)),  # engine.people.ETHNICITY (DfE codes)
    Column("contact", String(500)),
    Column("created_by", Integer, ForeignKey("app_user.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_person_created_by", "created_by"),
    # The search by date of birth: (born_on, id) finds the day's people in number order.
    Index("ix_person_born_on", "born_on", "id"),
)

#: The name keys a person is found by (engine.people.stored_keys): one row per key, so a
#: forgiving search narrows its candidates by index before scoring their spelling.
PERSON_KEYS = Table(
    "person_name_key",
    METADATA,
    Column("key", String(40), primary_key=True),  # (key, person_id): the search's index
    Column("person_id", Integer, ForeignKey("person.id"), primary_key=True),
    Index("ix_person_name_key_person", "person_id"),
)

#: A person's role in a case; the primary key (case_id, person_id) serves a case's participants.
PARTICIPANTS = Table(
    "case_person",
    METADATA,
    Column("case_id", Integer, ForeignKey("case.id"), primary_key=True),
    Column("person_id", Integer, ForeignKey("person.id"), primary_key=True),
    Column("role", String(30), nullable=False),  # engine.people.PERSON_ROLES
    Column("added_by", Integer, ForeignKey("app_user.id"), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_case_person_person", "person_id"),
    Index("ix_case_person_added_by", "added_by"),
)

#: A signed-in browser (migration 0007). Only the sha256 of the cookie's random token is stored, so a
#: copy of the database signs nobody in. Rows are ended (``ended_at``), never deleted.
WEB_SESSIONS = Table(
    "web_session",
    METADATA,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("app_user.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("client", String(64), nullable=False),
    Index("ix_web_session_user", "user_id"),
)

#: A personal API token (migration 0007): the sha256 of the raw ``cp_...`` value, shown once at issue.
API_TOKENS = Table(
    "api_token",
    METADATA,
    _id(),
    Column("user_id", Integer, ForeignKey("app_user.id"), nullable=False),
    Column("name", String(80), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Index("ix_api_token_user", "user_id"),
)

#: Who read which case, and what of it (migration 0007): append-only, shown to administrators only.
CASE_VIEWS = Table(
    "case_view",
    METADATA,
    _id(),
    Column("case_id", Integer, ForeignKey("case.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("app_user.id"), nullable=False),
    Column("viewed_at", UTCDateTime, nullable=False),
    Column("what", String(40), nullable=False),
    Column("via", String(8), nullable=False),  # web | api
    Index("ix_case_view_case", "case_id", "viewed_at"),
    Index("ix_case_view_user", "user_id"),
)

#: Sign-in attempts (migration 0007), for the limits: failures per client address and per email
#: (by its sha256: an unknown email is never stored, nor a password typed into the email box).
SIGN_IN_ATTEMPTS = Table(
    "sign_in_attempt",
    METADATA,
    _id(),
    Column("at", UTCDateTime, nullable=False),
    Column("client", String(64), nullable=False),
    Column("email_key", String(64), nullable=False),
    Column("outcome", String(10), nullable=False),  # ok | failed | locked | limited
    Index("ix_sign_in_attempt_client", "client", "at"),
    Index("ix_sign_in_attempt_email", "email_key", "at"),
)
