"""Who holds a role for a case: resolved from users, roles and teams, never hard-coded.

- ``owner``: the case's owner.
- ``team_manager`` / ``service_manager``: the manager (service manager) named on the case's
  team; if the team names none, active users holding that role among the team's members.
- any other role: active users holding it, preferring members of the case's team when some are.

Deactivated users are never recipients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from engine.roles import OWNER, SYSTEM_EMAIL, TEAM_MANAGER
from storage.tables import Team, TeamMember, User

USER = User.__table__  # type: ignore[attr-defined]
TEAM = Team.__table__  # type: ignore[attr-defined]
MEMBER = TeamMember.__table__  # type: ignore[attr-defined]
SERVICE_MANAGER = "service_manager"


@dataclass(frozen=True, slots=True)
class Person:
    """An active user who can receive email."""

    id: int
    email: str


def active_user(conn: Connection, user_id: int | None) -> Person | None:
    """The active user ``user_id``, or ``None`` if there is none or they are deactivated."""
    if user_id is None:
        return None
    row = conn.execute(select(USER.c.id, USER.c.email, USER.c.active).where(USER.c.id == user_id)).first()
    if row is None or not row.active or row.email == SYSTEM_EMAIL:
        return None
    return Person(row.id, row.email)


def _role_holders(conn: Connection, role: str) -> list[Person]:
    rows = conn.execute(select(USER.c.id, USER.c.email, USER.c.roles).where(USER.c.active.is_(True)))
    return [Person(r.id, r.email) for r in rows if role in (r.roles or ()) and r.email != SYSTEM_EMAIL]


def _team_members(conn: Connection, team_id: int | None) -> set[int]:
    if team_id is None:
        return set()
    return {r[0] for r in conn.execute(select(MEMBER.c.user_id).where(MEMBER.c.team_id == team_id))}


def team_manager(conn: Connection, team_id: int | None, role: str = TEAM_MANAGER) -> list[Person]:
    """The team's manager (or service manager, with ``role="service_manager"``), if active.

    A team that names none falls back to active members holding ``role``.
    """
    if team_id is None:
        return []
    column = TEAM.c.manager_id if role == TEAM_MANAGER else TEAM.c.service_manager_id
    named = conn.execute(select(column).where(TEAM.c.id == team_id)).scalar()
    if named is not None:
        person = active_user(conn, named)
        return [person] if person else []
    members = _team_members(conn, team_id)
    return [p for p in _role_holders(conn, role) if p.id in members]


def holders(conn: Connection, role: str, *, owner_id: int | None, team_id: int | None) -> list[Person]:
    """Everyone who holds ``role`` for a case with this owner and team."""
    if role == OWNER:
        owner = active_user(conn, owner_id)
        return [owner] if owner else []
    if role in (TEAM_MANAGER, SERVICE_MANAGER):
        return team_manager(conn, team_id, role)
    people = _role_holders(conn, role)
    members = _team_members(conn, team_id)
    local = [p for p in people if p.id in members]
    return local or people


def resolve(conn: Connection, roles: Iterable[str], *, owner_id: int | None, team_id: int | None) -> list[str]:
    """Email addresses of everyone holding any of ``roles`` for the case, sorted, no repeats."""
    emails: set[str] = set()
    for role in roles:
        emails.update(p.email for p in holders(conn, role, owner_id=owner_id, team_id=team_id))
    return sorted(emails)
