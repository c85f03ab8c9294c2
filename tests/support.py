"""Test staff under the authorization policy: an administrator (the first user) adds everyone else.

``seed_staff(app)`` creates ``admin@council.test`` as the first user, then one user per role
(``<role>@council.test``; team roles in the team ``Team``), and returns them as actors with
their roles and team ids, so services see exactly what they would in production. The system
user acts only for the scheduler (``app.system``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from carepath.config.bootstrap import App
from carepath.engine.case import Actor

ADMIN = "admin@council.test"
TEAM = "Team"
#: Roles that belong to a team (their cases are the team's); the others are service-wide.
TEAM_ROLES = ("caseworker", "team_manager", "service_manager")
ALL_ROLES = (
    "caseworker",
    "team_manager",
    "service_manager",
    "panel_coordinator",
    "panel_adviser",
    "agency_decision_maker",
    "nominated_officer",
    "irm_liaison_officer",
    "iro",
)


@dataclass(frozen=True)
class Staff:
    """Actors by role, the administrator, the team's id and carepath's own user."""

    admin: Actor
    by_role: Mapping[str, Actor]
    team_id: int
    system: Actor

    def __getitem__(self, role: str) -> Actor:
        return self.by_role[role]


def email_for(role: str) -> str:
    """The test address of the user holding ``role``."""
    return f"{role.replace('_', '.')}@council.test"


def seed_staff(app: App, roles: Iterable[str] = ALL_ROLES, team: str = TEAM) -> Staff:
    """An administrator, one user per role, and a team of the team roles (managed by its team manager)."""
    roles = tuple(roles)
    app.people.add_user(ADMIN, "Admin", ["admin"], None)
    for role in roles:
        app.people.add_user(email_for(role), role.replace("_", " ").title(), [role], ADMIN)
    members = [email_for(r) for r in roles if r in TEAM_ROLES]
    manager = email_for("team_manager") if "team_manager" in roles else None
    service = email_for("service_manager") if "service_manager" in roles else None
    team_id = app.people.add_team(team, ADMIN, manager=manager, service_manager=service, members=members)
    by_role = {r: app.directory.actor(email_for(r)) for r in roles}
    return Staff(app.directory.actor(ADMIN), by_role, team_id, app.system)


def add_user(app: App, email: str, *roles: str) -> Actor:
    """One more user, added by the administrator (no team)."""
    app.people.add_user(email, email.split("@")[0].title(), list(roles), ADMIN)
    return app.directory.actor(email)
