"""Users and teams as data; every change is written to the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from engine.case import Actor
from engine.clock import Clock
from engine.errors import InvalidInput, NotFound
from engine.roles import ROLES, SYSTEM_EMAIL
from storage.tables import AuditEntry, Team, TeamMember, User

USER = User.__table__  # type: ignore[attr-defined]
TEAM = Team.__table__  # type: ignore[attr-defined]
MEMBER = TeamMember.__table__  # type: ignore[attr-defined]
AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]


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


def audit(conn: Any, clock: Clock, actor_id: int | None, action: str, subject: str, detail: dict[str, Any]) -> None:
    """Append one audit entry in the caller's transaction."""
    conn.execute(insert(AUDIT).values(at=clock.now(), actor_id=actor_id, action=action, subject=subject, detail=detail))


class People:
    """Commands and reads on users and teams."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def add_user(self, email: str, name: str, roles: list[str], by: Actor | None = None) -> UserInfo:
        """Create a user; roles must be known."""
        email = email.strip().lower()
        if "@" not in email:
            raise InvalidInput(f"email {email!r} is not an email address")
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise InvalidInput(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
        with self.engine.begin() as conn:
            try:
                uid: int = conn.execute(
                    insert(USER)
                    .values(email=email, name=name, roles=sorted(set(roles)), active=True, created_at=self.clock.now())
                    .returning(USER.c.id)
                ).scalar_one()
            except IntegrityError as exc:
                raise InvalidInput(f"a user with email {email!r} already exists") from exc
            audit(conn, self.clock, by.id if by else None, "user.add", email, {"roles": roles})
        return UserInfo(uid, email, name, tuple(sorted(set(roles))), True)

    def ensure_system_user(self) -> Actor:
        """The ``system`` actor used by sweeps and by the CLI when no user is named."""
        with self.engine.begin() as conn:
            row = conn.execute(select(USER.c.id).where(USER.c.email == SYSTEM_EMAIL)).first()
            if row is None:
                # Several workers may start at once: insert-or-ignore, then read.
                ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
                conn.execute(
                    ins(USER)
                    .values(
                        email=SYSTEM_EMAIL, name="carepath", roles=["system"], active=True, created_at=self.clock.now()
                    )
                    .on_conflict_do_nothing()
                )
                row = conn.execute(select(USER.c.id).where(USER.c.email == SYSTEM_EMAIL)).one()
        return Actor(row.id, SYSTEM_EMAIL, frozenset({"system"}))

    def actor(self, email: str | None) -> Actor:
        """The active user with ``email`` as an actor; ``None`` means the system user."""
        if email is None:
            return self.ensure_system_user()
        with self.engine.connect() as conn:
            row = conn.execute(select(USER).where(USER.c.email == email.strip().lower())).first()
        if row is None:
            raise NotFound("user", email)
        if not row.active:
            raise InvalidInput(f"user {email!r} is deactivated")
        return Actor(row.id, row.email, frozenset(row.roles))

    def user_id(self, email: str) -> int:
        """The id of the active user with ``email``."""
        return self.actor(email).id

    def deactivate(self, email: str, by: Actor | None = None) -> None:
        """Deactivate a user; their history stays attributed to them."""
        with self.engine.begin() as conn:
            n = conn.execute(update(USER).where(USER.c.email == email.strip().lower()).values(active=False)).rowcount
            if n != 1:
                raise NotFound("user", email)
            audit(conn, self.clock, by.id if by else None, "user.deactivate", email, {})

    def users(self) -> list[UserInfo]:
        """Every user but the system one, by email."""
        with self.engine.connect() as conn:
            teams: dict[int, list[str]] = {}
            for m in conn.execute(select(MEMBER.c.user_id, TEAM.c.name).join(TEAM, TEAM.c.id == MEMBER.c.team_id)):
                teams.setdefault(m.user_id, []).append(m.name)
            return [
                UserInfo(r.id, r.email, r.name, tuple(r.roles), r.active, tuple(teams.get(r.id, ())))
                for r in conn.execute(select(USER).where(USER.c.email != SYSTEM_EMAIL).order_by(USER.c.email))
            ]

    def add_team(
        self,
        name: str,
        manager: str | None = None,
        service_manager: str | None = None,
        members: list[str] | None = None,
        by: Actor | None = None,
    ) -> TeamInfo:
        """Create a team with its manager, service manager and members (emails)."""
        members = members or []
        ids = {e: self.user_id(e) for e in {*(members), *(m for m in (manager, service_manager) if m)}}
        with self.engine.begin() as conn:
            try:
                tid: int = conn.execute(
                    insert(TEAM)
                    .values(
                        name=name, manager_id=ids.get(manager or ""), service_manager_id=ids.get(service_manager or "")
                    )
                    .returning(TEAM.c.id)
                ).scalar_one()
            except IntegrityError as exc:
                raise InvalidInput(f"a team called {name!r} already exists") from exc
            if members:
                conn.execute(insert(MEMBER), [{"team_id": tid, "user_id": ids[e]} for e in members])
            audit(
                conn,
                self.clock,
                by.id if by else None,
                "team.add",
                name,
                {"manager": manager, "service_manager": service_manager, "members": members},
            )
        return TeamInfo(tid, name, manager, service_manager, tuple(members))

    def team_id(self, name: str) -> int:
        """The id of team ``name``."""
        with self.engine.connect() as conn:
            tid = conn.execute(select(TEAM.c.id).where(TEAM.c.name == name)).scalar()
        if tid is None:
            raise NotFound("team", name)
        return int(tid)

    def teams(self) -> list[TeamInfo]:
        """Every team with its people."""
        with self.engine.connect() as conn:
            emails = {r.id: r.email for r in conn.execute(select(USER.c.id, USER.c.email))}
            members: dict[int, list[str]] = {}
            for m in conn.execute(select(MEMBER)):
                members.setdefault(m.team_id, []).append(emails[m.user_id])
            return [
                TeamInfo(
                    t.id,
                    t.name,
                    emails.get(t.manager_id),
                    emails.get(t.service_manager_id),
                    tuple(sorted(members.get(t.id, []))),
                )
                for t in conn.execute(select(TEAM).order_by(TEAM.c.name))
            ]
