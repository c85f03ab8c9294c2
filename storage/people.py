"""Users and teams: the unit of work's ``Directory`` (a mixin of ``SqlTransaction``) and the reads.

Every change is audited by the people service, through the transaction's ``audit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, or_, select, union, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from carepath.engine.case import Actor
from carepath.engine.clock import Clock
from carepath.engine.errors import InvalidInput, NotFound
from carepath.engine.ports import NewTeam, NewUser
from carepath.engine.reads import DEFAULT_LIMIT, Page, cursor_parts
from carepath.engine.roles import ROLES, SYSTEM_EMAIL
from carepath.storage.db import is_postgres
from carepath.storage.paging import read_page, rows_of
from carepath.storage.recipients import resolve
from carepath.storage.rows import actor_of, normalise_email
from carepath.storage.tables import AUDIT, MEMBERS, TEAMS, USERS

_USER_BY_EMAIL = select(USERS.c.id, USERS.c.email, USERS.c.roles, USERS.c.active).where(
    USERS.c.email == bindparam("email")
)
#: A user's teams: those they are a member of, and those they manage (a named manager belongs to the team).
_TEAMS_OF = union(
    select(MEMBERS.c.team_id).where(MEMBERS.c.user_id == bindparam("uid")),
    select(TEAMS.c.id).where(
        or_(TEAMS.c.manager_id == bindparam("uid"), TEAMS.c.service_manager_id == bindparam("uid"))
    ),
)
_ACTIVE_ROLES = select(USERS.c.roles).where(USERS.c.id == bindparam("uid"), USERS.c.active.is_(True))
#: Roles whose holders may own cases (not administrators, not carepath itself).
CASE_ROLES = frozenset(ROLES) - {"admin", "system"}
_INSERT_AUDIT = insert(AUDIT)


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    email: str
    name: str
    roles: tuple[str, ...]
    active: bool
    teams: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TeamInfo:
    id: int
    name: str
    manager: str | None
    service_manager: str | None
    members: tuple[str, ...]


def load_actor(conn: Connection, email: str) -> Actor:
    """The active user ``email`` as an actor, with their roles and team ids."""
    row = conn.execute(_USER_BY_EMAIL, {"email": normalise_email(email)}).first()
    return actor_of(email, row, lambda uid: (r[0] for r in conn.execute(_TEAMS_OF, {"uid": uid})))


class DirectorySql:
    """People as the unit of work sees them."""

    conn: Connection

    def now(self) -> datetime:  # provided by SqlTransaction
        raise NotImplementedError

    def actor(self, email: str) -> Actor:
        return load_actor(self.conn, email)

    def recipients(self, roles: Iterable[str], *, owner_id: int | None, team_id: int | None) -> list[str]:
        # Memoised per transaction: a sweep batch asks for the same few owners and teams thousands
        # of times (the SQL below is memoised already; this saves the Python around it).
        key = (tuple(roles), owner_id, team_id)
        memo: dict[tuple[tuple[str, ...], int | None, int | None], list[str]]
        memo = self.__dict__.setdefault("_recipients_memo", {})
        if key not in memo:
            memo[key] = resolve(self.conn, key[0], owner_id=owner_id, team_id=team_id)
        return list(memo[key])

    def is_team_member(self, user_id: int, team_id: int) -> bool:
        teams = {r[0] for r in self.conn.execute(_TEAMS_OF, {"uid": user_id})}
        return team_id in teams and self.may_own_cases(user_id)

    def may_own_cases(self, user_id: int) -> bool:
        roles = self.conn.execute(_ACTIVE_ROLES, {"uid": user_id}).scalar()
        return roles is not None and bool(CASE_ROLES & set(roles))

    def human_users(self) -> int:
        n = self.conn.execute(select(func.count()).select_from(USERS).where(USERS.c.email != SYSTEM_EMAIL))
        return int(n.scalar_one())

    def add_user(self, user: NewUser) -> int:
        try:
            with self.conn.begin_nested():
                uid: int = self.conn.execute(
                    insert(USERS)
                    .values(
                        email=user.email, name=user.name, roles=list(user.roles), active=True, created_at=self.now()
                    )
                    .returning(USERS.c.id)
                ).scalar_one()
        except IntegrityError as exc:
            raise InvalidInput(f"a user with email {user.email!r} already exists") from exc
        return uid

    def deactivate_user(self, email: str) -> None:
        n = self.conn.execute(update(USERS).where(USERS.c.email == normalise_email(email)).values(active=False))
        if n.rowcount != 1:
            raise NotFound("user", email)

    def user_id(self, email: str) -> int:
        uid = self.conn.execute(select(USERS.c.id).where(USERS.c.email == normalise_email(email))).scalar()
        if uid is None:
            raise NotFound("user", email)
        return int(uid)

    def add_team(self, team: NewTeam) -> int:
        try:
            with self.conn.begin_nested():
                tid: int = self.conn.execute(
                    insert(TEAMS)
                    .values(name=team.name, manager_id=team.manager_id, service_manager_id=team.service_manager_id)
                    .returning(TEAMS.c.id)
                ).scalar_one()
        except IntegrityError as exc:
            raise InvalidInput(f"a team called {team.name!r} already exists") from exc
        if team.member_ids:
            self.conn.execute(insert(MEMBERS), [{"team_id": tid, "user_id": u} for u in sorted(set(team.member_ids))])
        return tid

    def audit(self, actor_id: int | None, action: str, subject: str, detail: Mapping[str, Any]) -> None:
        self.conn.execute(
            _INSERT_AUDIT,
            {"at": self.now(), "actor_id": actor_id, "action": action, "subject": subject, "detail": dict(detail)},
        )


def ensure_system_user(engine: Engine, clock: Clock) -> Actor:
    """carepath's own user, which only the scheduler acts as (several workers may start at once)."""
    with engine.begin() as conn:
        row = conn.execute(select(USERS.c.id).where(USERS.c.email == SYSTEM_EMAIL)).first()
        if row is None:
            ins = pg_insert if is_postgres(conn) else sqlite_insert
            conn.execute(
                ins(USERS)
                .values(email=SYSTEM_EMAIL, name="carepath", roles=["system"], active=True, created_at=clock.now())
                .on_conflict_do_nothing()
            )
            row = conn.execute(select(USERS.c.id).where(USERS.c.email == SYSTEM_EMAIL)).one()
    return Actor(row.id, SYSTEM_EMAIL, frozenset({"system"}))


class PeopleQueries:
    """Reads on users and teams."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def actor(self, email: str) -> Actor:
        """The active user with ``email`` as an actor (roles, teams)."""
        with self.engine.connect() as conn:
            return load_actor(conn, email)

    def user_id(self, email: str) -> int:
        """The id of the user with ``email`` (active or not)."""
        with self.engine.connect() as conn:
            uid = conn.execute(select(USERS.c.id).where(USERS.c.email == normalise_email(email))).scalar()
        if uid is None:
            raise NotFound("user", email)
        return int(uid)

    def team_id(self, name: str) -> int:
        """The id of team ``name``."""
        with self.engine.connect() as conn:
            tid = conn.execute(select(TEAMS.c.id).where(TEAMS.c.name == name)).scalar()
        if tid is None:
            raise NotFound("team", name)
        return int(tid)

    def users(self, *, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[UserInfo]:
        """A page of the users but the system one, by email (keyset on the email), with their teams."""
        stmt = select(USERS).where(USERS.c.email != SYSTEM_EMAIL)
        if after is not None:
            (email,) = cursor_parts(after, (str,))
            stmt = stmt.where(USERS.c.email > email)
        stmt = stmt.order_by(USERS.c.email)
        matching = rows_of(USERS).where(USERS.c.email != SYSTEM_EMAIL)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, matching, limit, lambda r: (r.email,))
            teams: dict[int, list[str]] = {}
            member_of = (
                select(MEMBERS.c.user_id, TEAMS.c.name)
                .join(TEAMS, TEAMS.c.id == MEMBERS.c.team_id)
                .where(MEMBERS.c.user_id.in_([r.id for r in rows]))
                .order_by(TEAMS.c.name)
            )
            for m in conn.execute(member_of):
                teams.setdefault(m.user_id, []).append(m.name)
        return Page(
            tuple(UserInfo(r.id, r.email, r.name, tuple(r.roles), r.active, tuple(teams.get(r.id, ()))) for r in rows),
            total,
            limit,
            cursor,
            total_exact=exact,
        )

    def teams(self, *, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page[TeamInfo]:
        """A page of teams by name (keyset on the name), with their managers' and members' emails joined."""
        manager, service = USERS.alias("manager"), USERS.alias("service_manager")
        stmt = (
            select(TEAMS.c.id, TEAMS.c.name, manager.c.email.label("m"), service.c.email.label("sm"))
            .outerjoin(manager, manager.c.id == TEAMS.c.manager_id)
            .outerjoin(service, service.c.id == TEAMS.c.service_manager_id)
        )
        if after is not None:
            (name,) = cursor_parts(after, (str,))
            stmt = stmt.where(TEAMS.c.name > name)
        stmt = stmt.order_by(TEAMS.c.name)
        with self.engine.connect() as conn:
            rows, total, exact, cursor = read_page(conn, stmt, rows_of(TEAMS), limit, lambda r: (r.name,))
            members: dict[int, list[str]] = {}
            people = (
                select(MEMBERS.c.team_id, USERS.c.email)
                .join(USERS, USERS.c.id == MEMBERS.c.user_id)
                .where(MEMBERS.c.team_id.in_([t.id for t in rows]))
                .order_by(USERS.c.email)
            )
            for m in conn.execute(people):
                members.setdefault(m.team_id, []).append(m.email)
        return Page(
            tuple(TeamInfo(t.id, t.name, t.m, t.sm, tuple(members.get(t.id, ()))) for t in rows),
            total,
            limit,
            cursor,
            total_exact=exact,
        )
