"""The demo service's organisation: its people and teams as actors, its panel sittings and members."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from carepath.engine.case import Actor
from carepath.entrypoints.demo.gateway import DEMO_ADMIN, Gateway
from carepath.entrypoints.demo.scenario import ADOPTION_TEAM, DOMAIN, FOSTERING_TEAM, PANEL_MEMBERS, PEOPLE

TEAMS = (FOSTERING_TEAM, ADOPTION_TEAM)
#: Every demo user's password, to sign in to the web app (a demo's, printed by ``demo seed``).
DEMO_PASSWORD = "carepath-demo-2026"


@dataclass
class Org:
    """The demo service's people as actors, by role and by team."""

    actors: dict[str, Actor]
    by_role: dict[str, list[Actor]]
    team_ids: dict[str, int]
    caseworkers: dict[int, list[Actor]]
    managers: dict[int, Actor]

    def owner_for(self, team_id: int, rng: random.Random) -> Actor:
        """A caseworker of ``team_id`` to own a new case.

        Args:
            team_id: the case's team.
            rng: the walk's random source.

        Returns:
            The caseworker.
        """
        return rng.choice(self.caseworkers[team_id])


def build_org(gateway: Gateway, by: Actor) -> Org:
    """Create (or reuse) the demo users, with the password ``DEMO_PASSWORD``, and the two teams.

    Args:
        gateway: the application.
        by: who creates them (the demo's administrator).

    Returns:
        The organisation.
    """
    _ensure_users(gateway, by)
    gateway.set_passwords([DEMO_ADMIN[0], *(p.email for p in PEOPLE)], DEMO_PASSWORD, by)
    _ensure_teams(gateway, by)
    actors = {p.email: gateway.actor(p.email) for p in PEOPLE}
    by_role: dict[str, list[Actor]] = {}
    for p in PEOPLE:
        by_role.setdefault(p.role, []).append(actors[p.email])
    team_ids = {team: gateway.team_id(team) for team in TEAMS}
    return Org(
        actors=actors,
        by_role=by_role,
        team_ids=team_ids,
        caseworkers={
            team_ids[t]: [actors[p.email] for p in PEOPLE if p.team == t and p.role == "caseworker"] for t in team_ids
        },
        managers={
            team_ids[t]: next(actors[p.email] for p in PEOPLE if p.team == t and p.role == "team_manager")
            for t in team_ids
        },
    )


def _ensure_users(gateway: Gateway, by: Actor) -> None:
    known = gateway.user_emails(by)
    for p in PEOPLE:
        if p.email not in known:
            gateway.add_user(p.email, p.name, p.role, by)


def _ensure_teams(gateway: Gateway, by: Actor) -> None:
    teams = gateway.team_names(by)
    for team in TEAMS:
        if team not in teams:
            staff = [p for p in PEOPLE if p.team == team]
            manager = next(p.email for p in staff if p.role == "team_manager")
            service = next(p.email for p in staff if p.role == "service_manager")
            gateway.add_team(team, manager, service, [p.email for p in staff], by)


def book_panels(gateway: Gateway, start: date, end: date, by: Actor) -> int:
    """Book fostering panels (2nd and 4th Wednesday) and adoption panels (1st and 3rd Thursday).

    Args:
        gateway: the application.
        start: the first day to book.
        end: the last day to book.
        by: who books them (a panel coordinator).

    Returns:
        How many sittings were booked (already booked ones and non-working days are skipped).
    """
    return gateway.book_sittings(panel_days(start, end), by)


#: The central list of panel members (issue 12): a chair, a vice chair, social workers with 3 years'
#: post-qualifying experience, independents, a medical adviser, an adviser and a minute taker, on both
#: the fostering and the adoption panel. The first five are those ``panel_members`` facts name.
PANEL_LIST: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("Chair Charlie", PANEL_MEMBERS[0], ("chair",)),
    ("Vice Chair Val", PANEL_MEMBERS[1], ("vice_chair",)),
    ("Social Worker Sol", PANEL_MEMBERS[2], ("social_worker",)),
    ("Independent Indra", PANEL_MEMBERS[3], ("independent",)),
    ("Independent Ike", PANEL_MEMBERS[4], ("independent",)),
    ("Social Worker Suki", f"socialworker2.panel@{DOMAIN}", ("social_worker",)),
    ("Dr Medic Mo", f"medical.panel@{DOMAIN}", ("medical_adviser",)),
    ("Adviser Ari", f"adviser.panel@{DOMAIN}", ("adviser",)),
    ("Minute Taker Min", None, ("minute_taker",)),
)
#: Who sits at each past sitting (indexes into ``PANEL_LIST``): a quorum, with the minute taker.
SEATED = (0, 1, 2, 3, 4, 6, 8)


def seed_panel_members(gateway: Gateway, by: Actor) -> list[int]:
    """Put the demo's central list of panel members in place (once); the ids of those who sit.

    Args:
        gateway: the application.
        by: who adds them (a panel coordinator).

    Returns:
        The ids of the members seated at each sitting, or none if the list was there already.
    """
    if gateway.panel_member_emails(by):
        return []
    ids = [
        gateway.add_panel_member(name, email, roles, ("fostering", "adoption"), by) for name, email, roles in PANEL_LIST
    ]
    return [ids[i] for i in SEATED]


def seat_panels(gateway: Gateway, before: date, seated: list[int], by: Actor) -> int:
    """Record the seated members' attendance at every sitting before ``before`` (a quorum each).

    Returns:
        How many sittings got attendance.
    """
    if not seated:
        return 0
    return gateway.seat_members(before, {"fostering": seated, "adoption": seated}, by)


def panel_days(start: date, end: date) -> Iterator[tuple[date, str]]:
    """The demo service's panel pattern from ``start`` to ``end``.

    Args:
        start: the first day.
        end: the last day.

    Yields:
        (day, panel type) for each sitting the pattern asks for.
    """
    day = start
    while day <= end:
        nth = (day.day - 1) // 7 + 1
        if day.weekday() == 2 and nth in (2, 4):
            yield day, "fostering"
        elif day.weekday() == 3 and nth in (1, 3):
            yield day, "adoption"
        day += timedelta(days=1)
