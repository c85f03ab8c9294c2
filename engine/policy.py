"""Who may run which command, on which cases: one table of command × role × scope.

``POLICY`` maps each command to the roles that may run it and, for each role, the widest
scope it has. docs/permissions.md shows the same table, with the reason for each rule; a
test keeps the two in step.

Scopes, narrowest first:

- ``own``: cases the actor owns (``Subject.owner_id == actor.id``).
- ``team``: the actor's own cases plus cases whose ``team_id`` is in ``actor.team_ids``.
- ``service``: every case of the service.
- ``system``: the command is not about a case (users, teams, calendar, panels, mail,
  the scheduler's work); holding the role is enough.

A command's roles all have case scopes (``own``/``team``/``service``: a *case command*, in
``CASE_COMMANDS``) or all have ``system`` scope. A case command checked without a
``Subject`` is a programming error (``ValueError``), and so is a ``Subject`` given to a
command that is not about a case; list reads ask ``case_scope_filter`` instead.

The system user (role ``system``, ``Actor.is_system``) runs only the scheduler's commands;
every other command it tries is refused, whatever else the table says.

A deactivated user never reaches this module: the people service refuses to resolve them to
an ``Actor``. ``NotPermitted`` is raised here only for actors who are active.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from carepath.engine.case import Actor
from carepath.engine.errors import NotPermitted
from carepath.engine.roles import ROLES

Scope = Literal["own", "team", "service", "system"]
CaseFilter = Literal["all", "teams", "none"]

COMMANDS: tuple[str, ...] = (
    "case.open",
    "case.fire",
    "case.hold",
    "case.resume",
    "case.withdraw",
    "case.close",
    "case.assign",
    "case.void",
    "case.note",
    "case.read",
    "case.list",
    "case.viewers",
    "deadlines.read",
    "person.add",
    "person.link",
    "person.correct",
    "person.unlink",
    "person.read",
    "timers.raise",
    "cases.recompute",
    "panel.add",
    "panel.plan",
    "panel.cancel",
    "panel.members",
    "panel.attend",
    "panel.book",
    "panel.papers",
    "panel.recommend",
    "panel.minutes",
    "panel.read",
    "calendar.read",
    "calendar.change",
    "user.add",
    "user.deactivate",
    "user.set_password",
    "user.read",
    "team.add",
    "team.read",
    "token.issue",
    "token.revoke",
    "mail.read",
    "mail.retry",
    "mail.send",
    "mail.digest",
    "report.read",
)

# fmt: off
_TABLE: dict[str, dict[str, Scope]] = {
    "case.open":       {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "case.fire":       {"caseworker": "team", "team_manager": "team", "service_manager": "service",
                        "panel_coordinator": "service", "panel_adviser": "service",
                        "agency_decision_maker": "service", "nominated_officer": "service",
                        "irm_liaison_officer": "service"},
    "case.hold":       {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "case.resume":     {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "case.withdraw":   {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "case.close":      {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "case.assign":     {"team_manager": "team", "service_manager": "service"},
    "case.void":       {"team_manager": "team", "service_manager": "service"},
    "case.note":       {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "case.read":       {"caseworker": "team", "team_manager": "team", "service_manager": "service",
                        "panel_coordinator": "service", "panel_adviser": "service",
                        "agency_decision_maker": "service", "nominated_officer": "service",
                        "irm_liaison_officer": "service", "iro": "service"},
    "case.list":       {"caseworker": "team", "team_manager": "team", "service_manager": "service",
                        "panel_coordinator": "service", "panel_adviser": "service",
                        "agency_decision_maker": "service", "nominated_officer": "service",
                        "irm_liaison_officer": "service", "iro": "service"},
    "case.viewers":    {"admin": "system"},
    "deadlines.read":  {"caseworker": "team", "team_manager": "team", "service_manager": "service",
                        "panel_coordinator": "service", "panel_adviser": "service",
                        "agency_decision_maker": "service", "nominated_officer": "service",
                        "irm_liaison_officer": "service", "iro": "service"},
    "person.add":      {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "person.link":     {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "person.correct":  {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "person.unlink":   {"caseworker": "team", "team_manager": "team", "service_manager": "service"},
    "person.read":     {"caseworker": "team", "team_manager": "team", "service_manager": "service",
                        "panel_coordinator": "service", "panel_adviser": "service",
                        "agency_decision_maker": "service", "nominated_officer": "service",
                        "irm_liaison_officer": "service", "iro": "service"},
    "timers.raise":    {"system": "system"},
    "cases.recompute": {"system": "system"},
    "panel.add":       {"panel_coordinator": "system"},
    "panel.plan":     {"panel_coordinator": "system"},
    "panel.cancel":   {"panel_coordinator": "system"},
    "panel.members":  {"panel_coordinator": "system"},
    "panel.attend":   {"panel_coordinator": "system"},
    "panel.book":     {"panel_coordinator": "system"},
    "panel.papers":   {"panel_coordinator": "system"},
    "panel.recommend": {"panel_coordinator": "system"},
    "panel.minutes":  {"panel_coordinator": "system"},
    "panel.read":      {"caseworker": "system", "team_manager": "system", "service_manager": "system",
                        "panel_coordinator": "system", "panel_adviser": "system",
                        "agency_decision_maker": "system", "nominated_officer": "system",
                        "irm_liaison_officer": "system", "iro": "system", "admin": "system"},
    "calendar.read":   {"caseworker": "system", "team_manager": "system", "service_manager": "system",
                        "panel_coordinator": "system", "panel_adviser": "system",
                        "agency_decision_maker": "system", "nominated_officer": "system",
                        "irm_liaison_officer": "system", "iro": "system", "admin": "system"},
    "calendar.change": {"admin": "system"},
    "user.add":        {"admin": "system"},
    "user.deactivate": {"admin": "system"},
    "user.set_password": {"admin": "system"},
    "user.read":       {"team_manager": "system", "service_manager": "system", "admin": "system"},
    "team.add":        {"admin": "system"},
    "team.read":       {"caseworker": "system", "team_manager": "system", "service_manager": "system",
                        "panel_coordinator": "system", "panel_adviser": "system",
                        "agency_decision_maker": "system", "nominated_officer": "system",
                        "irm_liaison_officer": "system", "iro": "system", "admin": "system"},
    "token.issue":     {"caseworker": "system", "team_manager": "system", "service_manager": "system",
                        "panel_coordinator": "system", "panel_adviser": "system",
                        "agency_decision_maker": "system", "nominated_officer": "system",
                        "irm_liaison_officer": "system", "iro": "system", "admin": "system"},
    "token.revoke":    {"caseworker": "system", "team_manager": "system", "service_manager": "system",
                        "panel_coordinator": "system", "panel_adviser": "system",
                        "agency_decision_maker": "system", "nominated_officer": "system",
                        "irm_liaison_officer": "system", "iro": "system", "admin": "system"},
    "mail.read":       {"admin": "system"},
    "mail.retry":      {"admin": "system"},
    "mail.send":       {"admin": "system", "system": "system"},
    "mail.digest":     {"admin": "system", "system": "system"},
    "report.read":     {"team_manager": "team", "service_manager": "service"},
}
# fmt: on

POLICY: Mapping[str, Mapping[str, Scope]] = MappingProxyType(
    {command: MappingProxyType(_TABLE[command]) for command in COMMANDS}
)
"""command -> {role: the widest scope that role has}; a role not listed may not run it."""

_RANK: Mapping[Scope, int] = MappingProxyType({"own": 0, "team": 1, "service": 2})

CASE_COMMANDS: frozenset[str] = frozenset(c for c in COMMANDS if all(s in _RANK for s in POLICY[c].values()))
"""Commands that act on cases: ``authorize`` needs the case's ``Subject``."""

_SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Subject:
    """What a case command acts on: the case's owner and team (for ``case.open``, the new case's)."""

    owner_id: int | None
    team_id: int | None


def authorize(actor: Actor | None, command: str, subject: Subject | None = None) -> None:
    """Raise NotPermitted(actor.email, command, reason) unless the actor may; nobody never may."""
    if actor is None:
        raise NotPermitted("(nobody)", command, "name the user who acts")
    reason = _refusal(actor, command, subject)
    if reason is not None:
        raise NotPermitted(actor.email, command, reason)


def permitted(actor: Actor, command: str, subject: Subject | None = None) -> bool:
    """Whether ``authorize`` would let the actor run the command (same ``ValueError``s)."""
    return _refusal(actor, command, subject) is None


def case_scope_filter(actor: Actor, command: str) -> tuple[CaseFilter, frozenset[int]]:
    """Which cases a list read (``case.list``, ``deadlines.read``...) may show the actor.

    ``("all", ∅)``: every case. ``("teams", ids)``: the actor's own cases plus cases whose team
    is in ``ids`` (``ids`` may be empty: own cases only). ``("none", ∅)``: no case; the caller
    refuses or shows nothing.
    """
    grants = _grants(command)
    if command not in CASE_COMMANDS:
        raise ValueError(f"{command} is not about cases; use authorize")
    widest = _widest(actor, grants)
    if widest is None:
        return "none", frozenset()
    if widest == "service":
        return "all", frozenset()
    if widest == "team":
        return "teams", actor.team_ids
    return "teams", frozenset()


# -- internals ---------------------------------------------------------------------------


def _grants(command: str) -> Mapping[str, Scope]:
    try:
        return POLICY[command]
    except KeyError:
        raise ValueError(f"unknown command {command!r}") from None


def _widest(actor: Actor, grants: Mapping[str, Scope]) -> Scope | None:
    """The widest case scope the actor's roles give for a case command, or None."""
    if actor.is_system:
        return None
    widest: Scope | None = None
    for role in actor.roles:
        scope = grants.get(role)
        if scope is not None and (widest is None or _RANK[scope] > _RANK[widest]):
            widest = scope
    return widest


def _covers(scope: Scope, actor: Actor, subject: Subject) -> bool:
    """Whether a case scope reaches the subject (``system`` is not a case scope)."""
    if scope == "service":
        return True
    if subject.owner_id is not None and subject.owner_id == actor.id:
        return True
    return scope == "team" and subject.team_id is not None and subject.team_id in actor.team_ids


def _refusal(actor: Actor, command: str, subject: Subject | None) -> str | None:
    """Why the actor may not run the command on the subject, or None if they may."""
    grants = _grants(command)
    about_cases = command in CASE_COMMANDS
    if about_cases and subject is None:
        raise ValueError(f"{command} acts on a case: pass its Subject (list reads use case_scope_filter)")
    if not about_cases and subject is not None:
        raise ValueError(f"{command} is not about a case: pass no Subject")
    if actor.is_system:
        return None if _SYSTEM in grants else "the system user acts only for the scheduler"
    if subject is None:
        return None if any(r in grants for r in actor.roles) else _needs(actor, command, grants)
    widest = _widest(actor, grants)
    if widest is None:
        return _needs(actor, command, grants)
    if _covers(widest, actor, subject):
        return None
    if widest == "own":
        return "the case is not theirs"
    return "the case is neither theirs nor in one of their teams"


def _needs(actor: Actor, command: str, grants: Mapping[str, Scope]) -> str:
    if "admin" in actor.roles and command in CASE_COMMANDS:
        return "administrators manage the system, not case records"
    humans = [r for r in ROLES if r in grants and r != _SYSTEM]
    if not humans:
        return "only the system user runs it, for the scheduler"
    return "needs role " + " or ".join(humans)
