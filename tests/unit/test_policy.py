"""The authorization policy: the table's shape, docs/permissions.md in step with it, and each rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from carepath.engine.case import Actor
from carepath.engine.errors import CarepathError, NotPermitted, TransitionRejected
from carepath.engine.policy import (
    CASE_COMMANDS,
    COMMANDS,
    POLICY,
    Subject,
    _covers,
    authorize,
    case_scope_filter,
    permitted,
)
from carepath.engine.roles import ROLES, SYSTEM_EMAIL

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
SCHEDULER = frozenset({"timers.raise", "cases.recompute", "mail.send", "mail.digest"})
HUMAN_ROLES = [r for r in ROLES if r != "system"]

SYSTEM = Actor(1, SYSTEM_EMAIL, frozenset({"system"}))
MY_TEAM, OTHER_TEAM = 10, 20


def person(*roles: str, id: int = 7, teams: frozenset[int] = frozenset({MY_TEAM})) -> Actor:
    return Actor(id, f"{'-'.join(roles) or 'nobody'}@council.test", frozenset(roles), teams)


def in_team(team: int | None, owner: int | None = 99) -> Subject:
    return Subject(owner_id=owner, team_id=team)


# -- the table and the doc ---------------------------------------------------------------


def _doc_table() -> tuple[list[str], dict[str, dict[str, str]]]:
    """The markdown table whose first header cell is "Command": its role columns and rows."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\|\s*Command\s*\|", line))

    def cells(line: str) -> list[str]:
        return [c.strip().strip("`") for c in line.strip().strip("|").split("|")]

    header = cells(lines[start])
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        command, *scopes = cells(line)
        assert command not in rows, f"{command} twice in docs/permissions.md"
        rows[command] = dict(zip(header[1:], scopes, strict=True))
    return header[1:], rows


def test_doc_table_is_the_policy_table() -> None:
    roles, rows = _doc_table()
    assert roles == list(ROLES), "one column per role, in engine/roles.py order"
    assert list(rows) == list(COMMANDS), "one row per command, in COMMANDS order"
    shown = {"yes": "system"}
    from_doc = {
        command: {role: shown.get(cell, cell) for role, cell in row.items() if cell != "—"}
        for command, row in rows.items()
    }
    from_code = {command: dict(POLICY[command]) for command in COMMANDS}
    assert from_doc == from_code


def test_table_names_only_known_commands_roles_and_scopes() -> None:
    assert len(set(COMMANDS)) == len(COMMANDS)  # which ones: the doc table above pins them
    assert set(POLICY) == set(COMMANDS)
    for command, grants in POLICY.items():
        assert grants, command
        assert set(grants) <= set(ROLES), command
        kinds = {scope == "system" for scope in grants.values()}
        assert len(kinds) == 1, f"{command} mixes case scopes and 'system'"
        assert (command in CASE_COMMANDS) == (kinds == {False})


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        POLICY["case.read"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        POLICY["case.read"]["admin"] = "service"  # type: ignore[index]


def test_the_system_role_has_exactly_the_scheduler_commands() -> None:
    assert {c for c, grants in POLICY.items() if "system" in grants} == SCHEDULER
    assert {c for c, grants in POLICY.items() if set(grants) == {"system"}} == {"timers.raise", "cases.recompute"}


def test_admin_has_no_case_command() -> None:
    assert not {c for c in CASE_COMMANDS if "admin" in POLICY[c]}


# -- NotPermitted and Actor --------------------------------------------------------------


def test_not_permitted_names_actor_command_and_detail() -> None:
    e = NotPermitted("cw@council.test", "case.void", "needs role team_manager")
    assert (e.actor, e.command, e.detail) == ("cw@council.test", "case.void", "needs role team_manager")
    assert str(e) == "cw@council.test may not case.void: needs role team_manager"
    assert isinstance(e, CarepathError)
    assert not isinstance(e, TransitionRejected)


def test_only_the_system_role_is_system() -> None:
    assert SYSTEM.is_system
    assert not person("admin").is_system
    assert Actor(3, "a@council.test", frozenset({"caseworker"})).team_ids == frozenset()


# -- the system user ---------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(SCHEDULER))
def test_system_runs_the_scheduler_commands(command: str) -> None:
    authorize(SYSTEM, command)


@pytest.mark.parametrize(
    ("command", "subject"),
    [
        ("case.read", in_team(MY_TEAM)),
        ("case.fire", in_team(None)),
        ("case.void", in_team(None)),
        ("calendar.read", None),
        ("calendar.change", None),
        ("user.add", None),
        ("team.read", None),
        ("mail.retry", None),
    ],
)
def test_system_is_refused_every_human_command(command: str, subject: Subject | None) -> None:
    with pytest.raises(NotPermitted, match="the system user acts only for the scheduler") as caught:
        authorize(SYSTEM, command, subject)
    assert (caught.value.actor, caught.value.command) == (SYSTEM_EMAIL, command)


def test_system_sees_no_case_list() -> None:
    assert case_scope_filter(SYSTEM, "case.list") == ("none", frozenset())


@pytest.mark.parametrize("role", HUMAN_ROLES)
@pytest.mark.parametrize("command", ["timers.raise", "cases.recompute"])
def test_only_the_system_raises_timers_and_recomputes(role: str, command: str) -> None:
    with pytest.raises(NotPermitted, match="only the system user runs it"):
        authorize(person(role), command)


# -- caseworkers and team managers -------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["case.open", "case.fire", "case.hold", "case.resume", "case.withdraw", "case.close", "case.read"]
)
def test_caseworker_works_team_cases_and_own_cases_only(command: str) -> None:
    cw = person("caseworker")
    assert permitted(cw, command, in_team(MY_TEAM))
    assert permitted(cw, command, Subject(owner_id=cw.id, team_id=None))
    assert permitted(cw, command, Subject(owner_id=cw.id, team_id=OTHER_TEAM))
    with pytest.raises(NotPermitted, match="the case is neither theirs nor in one of their teams"):
        authorize(cw, command, in_team(OTHER_TEAM))
    assert not permitted(cw, command, in_team(None))
    assert not permitted(cw, command, Subject(owner_id=None, team_id=None))


@pytest.mark.parametrize("command", ["case.assign", "case.void"])
def test_assign_and_void_are_for_managers(command: str) -> None:
    with pytest.raises(NotPermitted, match="needs role team_manager or service_manager"):
        authorize(person("caseworker"), command, in_team(MY_TEAM))
    tm = person("team_manager")
    authorize(tm, command, in_team(MY_TEAM))
    assert not permitted(tm, command, in_team(OTHER_TEAM))
    authorize(person("service_manager", teams=frozenset()), command, in_team(OTHER_TEAM))


def test_caseworker_reads_deadlines_but_not_users() -> None:
    cw = person("caseworker")
    assert permitted(cw, "deadlines.read", in_team(MY_TEAM))
    assert not permitted(cw, "user.read")
    assert permitted(person("team_manager"), "user.read")
    assert permitted(person("team_manager"), "team.read")


def test_a_person_in_several_teams_reaches_each() -> None:
    cw = person("caseworker", teams=frozenset({MY_TEAM, OTHER_TEAM}))
    assert permitted(cw, "case.fire", in_team(OTHER_TEAM))
    assert not permitted(cw, "case.fire", in_team(30))


def test_the_widest_role_wins() -> None:
    both = person("caseworker", "panel_adviser")
    assert permitted(both, "case.read", in_team(OTHER_TEAM))


# -- service-wide roles ------------------------------------------------------------------


def test_service_manager_has_every_case_command_service_wide() -> None:
    sm = person("service_manager", teams=frozenset())
    for command in CASE_COMMANDS:
        assert permitted(sm, command, in_team(OTHER_TEAM)), command
        assert permitted(sm, command, in_team(None)), command
    assert permitted(sm, "user.read")
    assert not permitted(sm, "user.add")


@pytest.mark.parametrize("role", ["panel_coordinator", "panel_adviser"])
def test_panel_roles(role: str) -> None:
    p = person(role, teams=frozenset())
    for command in ("case.read", "case.fire", "deadlines.read"):
        assert permitted(p, command, in_team(OTHER_TEAM)), command
    assert not permitted(p, "case.hold", in_team(OTHER_TEAM))
    assert permitted(p, "panel.read")
    assert permitted(p, "panel.add") == (role == "panel_coordinator")


@pytest.mark.parametrize("role", ["agency_decision_maker", "nominated_officer", "irm_liaison_officer"])
def test_decision_makers_read_and_fire_service_wide(role: str) -> None:
    d = person(role, teams=frozenset())
    assert permitted(d, "case.read", in_team(OTHER_TEAM))
    assert permitted(d, "case.fire", in_team(None))
    assert not permitted(d, "case.void", in_team(OTHER_TEAM))
    assert not permitted(d, "case.open", in_team(OTHER_TEAM))
    assert case_scope_filter(d, "case.list") == ("all", frozenset())


def test_iro_only_reads() -> None:
    iro = person("iro", teams=frozenset())
    assert permitted(iro, "case.read", in_team(OTHER_TEAM))
    assert permitted(iro, "deadlines.read", in_team(OTHER_TEAM))
    with pytest.raises(NotPermitted, match="needs role caseworker or team_manager"):
        authorize(iro, "case.fire", in_team(OTHER_TEAM))


# -- admin and everyone ------------------------------------------------------------------


def test_admin_sees_no_case_data() -> None:
    admin = person("admin")
    with pytest.raises(NotPermitted, match="administrators manage the system, not case records") as caught:
        authorize(admin, "case.read", in_team(MY_TEAM))
    assert str(caught.value).startswith("admin@council.test may not case.read: ")
    assert case_scope_filter(admin, "case.list") == ("none", frozenset())
    assert not permitted(admin, "deadlines.read", Subject(owner_id=admin.id, team_id=None))


@pytest.mark.parametrize(
    "command",
    [
        "user.add",
        "user.deactivate",
        "user.read",
        "team.add",
        "team.read",
        "calendar.change",
        "mail.read",
        "mail.retry",
        "mail.send",
        "mail.digest",
    ],
)
def test_admin_runs_the_system(command: str) -> None:
    authorize(person("admin"), command)


@pytest.mark.parametrize("role", HUMAN_ROLES)
@pytest.mark.parametrize("command", ["calendar.read", "panel.read", "team.read"])
def test_everyone_with_a_role_reads_reference_data(role: str, command: str) -> None:
    authorize(person(role), command)


def test_no_role_no_access() -> None:
    nobody = person()
    with pytest.raises(NotPermitted, match="needs role caseworker or"):
        authorize(nobody, "calendar.read")
    assert not permitted(person("ghost"), "team.read")
    assert case_scope_filter(nobody, "case.list") == ("none", frozenset())


# -- list reads --------------------------------------------------------------------------


def test_case_scope_filter() -> None:
    assert case_scope_filter(person("caseworker", teams=frozenset({1, 2})), "case.list") == ("teams", frozenset({1, 2}))
    assert case_scope_filter(person("caseworker", teams=frozenset()), "case.list") == ("teams", frozenset())
    assert case_scope_filter(person("caseworker", "iro"), "case.list") == ("all", frozenset())
    assert case_scope_filter(person("service_manager"), "deadlines.read") == ("all", frozenset())
    assert case_scope_filter(person("agency_decision_maker"), "deadlines.read") == ("all", frozenset())
    assert case_scope_filter(person("admin"), "deadlines.read") == ("none", frozenset())


# -- scopes and programming errors -------------------------------------------------------


def test_own_scope_reaches_only_owned_cases() -> None:
    me = person("caseworker")
    assert _covers("own", me, Subject(owner_id=me.id, team_id=OTHER_TEAM))
    assert not _covers("own", me, in_team(MY_TEAM))
    assert _covers("team", me, in_team(MY_TEAM))
    assert _covers("service", me, Subject(None, None))


def test_misuse_is_a_programming_error() -> None:
    cw = person("caseworker")
    with pytest.raises(ValueError, match="acts on a case"):
        authorize(cw, "case.read")
    with pytest.raises(ValueError, match="acts on a case"):
        permitted(SYSTEM, "case.read")
    with pytest.raises(ValueError, match="not about a case"):
        authorize(cw, "calendar.read", in_team(MY_TEAM))
    with pytest.raises(ValueError, match="unknown command"):
        authorize(cw, "case.delete", in_team(MY_TEAM))
    with pytest.raises(ValueError, match="not about cases"):
        case_scope_filter(cw, "user.read")
