"""Accounts: passwords, sessions, API tokens, sign-in attempts and case views (``engine.services.accounts``).

``account_store(tx)`` binds the writes to one ``SqlTransaction``'s connection, so each commits
with the audit entry its change records, or not at all. ``AccountQueries`` reads on the read
engine: the web app asks for its session on every request, and most of those write nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, or_, select, update

from carepath.engine.case import Actor
from carepath.engine.errors import CaseNotFound, InvalidInput, NotFound
from carepath.engine.ports import Transaction
from carepath.engine.reads import Page, cursor_parts
from carepath.engine.services.accounts import CaseViewListing, Credentials, StoredSession, StoredToken, TokenInfo
from carepath.storage.db import PreparedStatements
from carepath.storage.paging import read_page, rows_of
from carepath.storage.people import load_actor
from carepath.storage.rows import normalise_email
from carepath.storage.tables import API_TOKENS, CASE_VIEWS, CASES, MEMBERS, SIGN_IN_ATTEMPTS, TEAMS, USERS, WEB_SESSIONS
from carepath.storage.uow import SqlTransaction

_CREDENTIALS = select(
    USERS.c.id,
    USERS.c.email,
    USERS.c.name,
    USERS.c.active,
    USERS.c.password_hash,
    USERS.c.failed_sign_ins,
    USERS.c.locked_until,
).where(USERS.c.email == bindparam("email"))
#: A session with its user and the user's teams, in one statement: a row per (membership, managed
#: team) pair, at least one (a user in no team has nulls there). The teams are those
#: ``people.load_actor`` gives an actor: member of, and named manager or service manager of.
_TEAM_MEMBER = MEMBERS.alias("session_member")
_TEAM_LED = TEAMS.alias("session_team_led")
_SESSION = (
    select(
        WEB_SESSIONS.c.id,
        WEB_SESSIONS.c.csrf_token,
        WEB_SESSIONS.c.created_at,
        WEB_SESSIONS.c.last_seen_at,
        WEB_SESSIONS.c.ended_at,
        USERS.c.id.label("user_id"),
        USERS.c.email,
        USERS.c.name,
        USERS.c.roles,
        USERS.c.active,
        _TEAM_MEMBER.c.team_id.label("member_of"),
        _TEAM_LED.c.id.label("leads"),
    )
    .join(USERS, USERS.c.id == WEB_SESSIONS.c.user_id)
    .outerjoin(_TEAM_MEMBER, _TEAM_MEMBER.c.user_id == USERS.c.id)
    .outerjoin(_TEAM_LED, or_(_TEAM_LED.c.manager_id == USERS.c.id, _TEAM_LED.c.service_manager_id == USERS.c.id))
    .where(WEB_SESSIONS.c.token_hash == bindparam("h"))
)
#: A case view, in one statement: the case's id is read by its reference as the row is inserted
#: (no row when there is no such case). SQLAlchemy keeps an INSERT's row count on PostgreSQL only if asked.
_ADD_VIEW = (
    insert(CASE_VIEWS)
    .from_select(
        ["case_id", "user_id", "viewed_at", "what", "via"],
        select(
            CASES.c.id,
            *(bindparam(name, type_=CASE_VIEWS.c[name].type) for name in ("user_id", "viewed_at", "what", "via")),
        ).where(CASES.c.ref == bindparam("ref")),
    )
    .execution_options(preserve_rowcount=True)
)
_TOKEN = select(
    API_TOKENS.c.id,
    API_TOKENS.c.user_id,
    API_TOKENS.c.last_used_at,
    API_TOKENS.c.revoked_at,
    USERS.c.email,
    USERS.c.active,
).join(USERS, USERS.c.id == API_TOKENS.c.user_id)
_FAILED = ("failed", "locked")
#: How long a client's sign-in attempts are kept (the audit trail keeps every sign-in for good).
_KEEP_ATTEMPTS = timedelta(days=1)
#: The PostgreSQL advisory lock key ``first_admin`` holds for its transaction.
_FIRST_ADMIN_LOCK = 70070001


def _actor(conn: Connection, email: str, active: bool) -> Actor | None:
    """The user as an actor, or ``None`` if deactivated."""
    if not active:
        return None
    try:
        return load_actor(conn, email)
    except (InvalidInput, NotFound):
        return None


def _token(conn: Connection, row: Any) -> StoredToken | None:
    if row is None:
        return None
    return StoredToken(
        row.id, row.user_id, row.email, _actor(conn, row.email, row.active), row.last_used_at, row.revoked_at
    )


class AccountSql:
    """``AccountStore`` on one write transaction's connection."""

    def __init__(self, tx: SqlTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    def credentials(self, email: str) -> Credentials | None:
        row = self.conn.execute(_CREDENTIALS, {"email": normalise_email(email)}).first()
        if row is None:
            return None
        return Credentials(
            row.id, row.email, row.name, row.active, row.password_hash, row.failed_sign_ins, row.locked_until
        )

    def failures(self, *, client: str | None = None, email_key: str | None = None, since: datetime) -> list[datetime]:
        a = SIGN_IN_ATTEMPTS.c
        if client is not None:
            where = and_(a.client == client, a.at > since, a.outcome.in_(_FAILED))
        else:
            where = and_(a.email_key == email_key, a.at > since, a.outcome == "failed")
        return [r[0] for r in self.conn.execute(select(a.at).where(where).order_by(a.at, a.id))]

    def add_attempt(self, client: str, email_key: str, outcome: str) -> None:
        now = self.tx.now()
        # The limits look back 15 minutes; the client's attempts older than a day go (by its index).
        a = SIGN_IN_ATTEMPTS.c
        self.conn.execute(delete(SIGN_IN_ATTEMPTS).where(a.client == client, a.at < now - _KEEP_ATTEMPTS))
        values = {"at": now, "client": client, "email_key": email_key, "outcome": outcome}
        self.conn.execute(insert(SIGN_IN_ATTEMPTS).values(values))

    def count_failure(self, user_id: int) -> int:
        stmt = (
            update(USERS)
            .where(USERS.c.id == user_id)
            .values(failed_sign_ins=USERS.c.failed_sign_ins + 1)
            .returning(USERS.c.failed_sign_ins)
        )
        return int(self.conn.execute(stmt).scalar_one())

    def lock(self, user_id: int, until: datetime) -> None:
        self.conn.execute(update(USERS).where(USERS.c.id == user_id).values(locked_until=until, failed_sign_ins=0))

    def signed_in(self, user_id: int, new_hash: str | None) -> None:
        values: dict[str, Any] = {"failed_sign_ins": 0, "locked_until": None}
        if new_hash is not None:
            values["password_hash"] = new_hash
        self.conn.execute(update(USERS).where(USERS.c.id == user_id).values(values))

    def set_password(self, user_id: int, password_hash: str) -> None:
        values = {"password_hash": password_hash, "password_set_at": self.tx.now(), "failed_sign_ins": 0}
        self.conn.execute(update(USERS).where(USERS.c.id == user_id).values(locked_until=None, **values))

    def make_admin(self, user_id: int) -> None:
        roles: list[str] = self.conn.execute(select(USERS.c.roles).where(USERS.c.id == user_id)).scalar_one()
        new_roles = sorted({*roles, "admin"})
        self.conn.execute(update(USERS).where(USERS.c.id == user_id).values(roles=new_roles, active=True))

    def signing_in_admins(self) -> int:
        # Two first_admin at once: the second waits, then counts the first (SQLite: BEGIN IMMEDIATE does).
        if self.tx.postgres:
            self.conn.execute(select(func.pg_advisory_xact_lock(_FIRST_ADMIN_LOCK)))
        # Few users, and roles are JSON (no portable "contains"): filtered here.
        rows = self.conn.execute(
            select(USERS.c.roles).where(USERS.c.active.is_(True), USERS.c.password_hash.is_not(None))
        )
        return sum(1 for r in rows if "admin" in r.roles)

    def add_session(self, user_id: int, token_hash: str, csrf_token: str, client: str) -> None:
        now = self.tx.now()
        values = {
            "token_hash": token_hash,
            "user_id": user_id,
            "csrf_token": csrf_token,
            "created_at": now,
            "last_seen_at": now,
            "client": client,
        }
        self.conn.execute(insert(WEB_SESSIONS).values(values))

    def touch_session(self, token_hash: str) -> None:
        s = WEB_SESSIONS.c
        stmt = update(WEB_SESSIONS).where(s.token_hash == token_hash, s.ended_at.is_(None))
        self.conn.execute(stmt.values(last_seen_at=self.tx.now()))

    def end_session(self, token_hash: str) -> tuple[int, str] | None:
        s = WEB_SESSIONS.c
        stmt = (
            update(WEB_SESSIONS)
            .where(s.token_hash == token_hash, s.ended_at.is_(None))
            .values(ended_at=self.tx.now())
            .returning(s.user_id)
        )
        user_id = self.conn.execute(stmt).scalar()
        if user_id is None:
            return None
        email: str = self.conn.execute(select(USERS.c.email).where(USERS.c.id == user_id)).scalar_one()
        return int(user_id), str(email)

    def end_sessions(self, user_id: int, keep_hash: str | None) -> int:
        s = WEB_SESSIONS.c
        where = and_(s.user_id == user_id, s.ended_at.is_(None))
        if keep_hash is not None:
            where = and_(where, s.token_hash != keep_hash)
        return int(self.conn.execute(update(WEB_SESSIONS).where(where).values(ended_at=self.tx.now())).rowcount)

    def add_token(self, user_id: int, name: str, token_hash: str) -> int:
        values = {"user_id": user_id, "name": name, "token_hash": token_hash, "created_at": self.tx.now()}
        return int(self.conn.execute(insert(API_TOKENS).values(values).returning(API_TOKENS.c.id)).scalar_one())

    def token(self, token_id: int) -> StoredToken | None:
        return _token(self.conn, self.conn.execute(_TOKEN.where(API_TOKENS.c.id == token_id)).first())

    def revoke_token(self, token_id: int) -> None:
        self.conn.execute(update(API_TOKENS).where(API_TOKENS.c.id == token_id).values(revoked_at=self.tx.now()))

    def touch_token(self, token_hash: str) -> None:
        stmt = update(API_TOKENS).where(API_TOKENS.c.token_hash == token_hash)
        self.conn.execute(stmt.values(last_used_at=self.tx.now()))

    def add_view(self, case_ref: str, user_id: int, what: str, via: str) -> bool:
        values = {"ref": case_ref, "user_id": user_id, "viewed_at": self.tx.now(), "what": what, "via": via}
        # The transaction's own runner: a prepared statement on SQLite (the write path's fast path).
        return self.tx.write(_ADD_VIEW, values) == 1


def account_store(tx: Transaction) -> AccountSql:
    """The account statements on ``tx`` (a ``SqlTransaction``: the bootstrap wires this to the SQL unit of work)."""
    assert isinstance(tx, SqlTransaction), type(tx)
    return AccountSql(tx)


class AccountQueries:
    """``AccountReads`` on an engine (the read engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._prepared = PreparedStatements(engine)

    def actor(self, email: str) -> Actor:
        with self.engine.connect() as conn:
            return load_actor(conn, email)

    def session(self, token_hash: str) -> StoredSession | None:
        rows = self._prepared.rows(_SESSION, {"h": token_hash})
        if not rows:
            return None
        (id_, csrf, created, seen, ended, user_id, email, name, roles, active, _, _) = rows[0]
        actor = None
        if active:
            teams = frozenset(t for r in rows for t in r[-2:] if t is not None)
            actor = Actor(user_id, email, frozenset(roles), team_ids=teams)
        return StoredSession(id_, actor, name, csrf, created, seen, ended)

    def token(self, token_hash: str) -> StoredToken | None:
        with self.engine.connect() as conn:
            return _token(conn, conn.execute(_TOKEN.where(API_TOKENS.c.token_hash == token_hash)).first())

    def tokens(self, user_id: int) -> list[TokenInfo]:
        t = API_TOKENS.c
        stmt = (
            select(t.id, t.name, t.created_at, t.last_used_at, t.revoked_at)
            .where(t.user_id == user_id)
            .order_by(t.id.desc())
        )
        with self.engine.connect() as conn:
            return [TokenInfo(r.id, r.name, r.created_at, r.last_used_at, r.revoked_at) for r in conn.execute(stmt)]

    def viewers(self, case_ref: str, *, limit: int, after: str | None) -> Page[CaseViewListing]:
        v = CASE_VIEWS.c
        with self.engine.connect() as conn:
            case_id = conn.execute(select(CASES.c.id).where(CASES.c.ref == case_ref)).scalar()
            if case_id is None:
                raise CaseNotFound(case_ref)
            stmt = (
                select(v.id, v.viewed_at, v.what, v.via, USERS.c.email, USERS.c.name)
                .join(USERS, USERS.c.id == v.user_id)
                .where(v.case_id == case_id)
            )
            if after is not None:
                at, view_id = cursor_parts(after, (str, int))
                when = _when(at, after)
                stmt = stmt.where(or_(v.viewed_at < when, and_(v.viewed_at == when, v.id < view_id)))
            stmt = stmt.order_by(v.viewed_at.desc(), v.id.desc())
            matching = rows_of(CASE_VIEWS).where(v.case_id == case_id)
            rows, total, exact, next_ = read_page(
                conn, stmt, matching, limit, lambda r: (_cursor_at(r.viewed_at), r.id)
            )
        items = tuple(CaseViewListing(r.viewed_at, r.email, r.name, r.what, r.via) for r in rows)
        return Page(items, total, limit, next_, total_exact=exact)


def _cursor_at(at: datetime) -> str:
    return at.isoformat()


def _when(text: str, cursor: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"cursor {cursor!r} is not one this list gave") from None


__all__ = ["AccountQueries", "AccountSql", "account_store"]
