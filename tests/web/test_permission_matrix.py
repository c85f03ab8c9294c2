"""Every page and API route, for every role: exactly what docs/permissions.md allows.

The expected answer is read from the policy table (``engine.policy.POLICY``, which
tests/unit/test_policy.py keeps equal to docs/permissions.md): 200 where the role's scope covers
the case (or the command needs no case), 403 where it does not. The web layer adds no rule of
its own, so a change to the table changes this test's expectations with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from carepath.engine.policy import CASE_COMMANDS, Subject, permitted
from tests.support import ALL_ROLES, email_for
from tests.web.conftest import sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from carepath.config.bootstrap import App
    from tests.support import Staff

ADMIN_EMAIL = "admin@council.test"

#: Page routes and the command that governs each ("{ref}": a case of the seeded team; "{person}": a person
#: on it).
PAGES: tuple[tuple[str, str | None], ...] = (
    ("/my-work", "case.list"),
    ("/cases", "case.list"),
    ("/cases/{ref}", "case.read"),
    ("/cases/{ref}/timeline", "case.read"),
    ("/cases/{ref}/actions/note", "case.note"),
    ("/cases/{ref}/actions/hold", "case.hold"),
    ("/cases/{ref}/actions/withdraw", "case.withdraw"),
    ("/cases/{ref}/actions/assign", "case.assign"),
    ("/cases/{ref}/actions/error", "case.void"),
    ("/cases/{ref}/people/add", "person.add"),
    ("/cases/{ref}/people/link", "person.link"),
    ("/cases/{ref}/people/link?name=Okafor", "person.link"),
    ("/people/{person}", "person.read"),
    ("/people/{person}/correct", "person.correct"),
    ("/cases/{ref}/people/{person}/remove", "person.unlink"),
    ("/deadlines", "deadlines.read"),
    ("/team", "case.assign"),
    ("/panels", "case.list"),
    ("/admin/users", "user.read"),
    ("/admin/calendar", "calendar.change"),
    ("/admin/viewers", "case.viewers"),
    ("/reports", "report.read"),
    ("/reports/funnel", "report.read"),
    ("/reports/scorecard.csv", "report.read"),
    ("/reports/compliance.xlsx", "report.read"),
    ("/reports/funnel/charts/steps_mainstream.svg", "report.read"),  # a chart: the page's own service call
    ("/reports/stages/foster_carer_approval", "report.read"),
)
API: tuple[tuple[str, str], ...] = (
    ("/api/v1/cases", "case.list"),
    ("/api/v1/cases/{ref}", "case.read"),
    ("/api/v1/cases/{ref}/history", "case.read"),
    ("/api/v1/cases/{ref}/deadlines", "deadlines.read"),
    ("/api/v1/cases/{ref}/people", "person.read"),
    ("/api/v1/people/{person}", "person.read"),
    ("/api/v1/people/{person}/changes", "person.read"),
    ("/api/v1/people?name=Okafor", "person.read"),
    ("/api/v1/deadlines", "deadlines.read"),
    ("/api/v1/panels", "panel.read"),
)


def _allowed(app: App, email: str, command: str, team_id: int) -> bool:
    actor = app.directory.actor(email)
    if command not in CASE_COMMANDS:
        return permitted(actor, command)
    return permitted(actor, command, Subject(owner_id=None, team_id=team_id)) or (
        command in ("case.list", "deadlines.read")
        and permitted(actor, command, Subject(owner_id=actor.id, team_id=None))
    )


@pytest.mark.parametrize("role", [*ALL_ROLES, "admin"])
def test_each_role_gets_exactly_what_the_policy_allows(
    client: TestClient, web_app: App, web_staff: Staff, role: str
) -> None:
    ref = web_app.cases.open_case("foster_carer_approval", email_for("caseworker"), team_id=web_staff.team_id).ref
    person = web_app.persons.add(ref, "child", "Amelia", "Okafor", email_for("caseworker")).person_id
    email = ADMIN_EMAIL if role == "admin" else email_for(role)
    sign_in(client, email)
    wrong: list[str] = []
    for path, command in PAGES:
        expected = 200 if command is None or _allowed(web_app, email, command, web_staff.team_id) else 403
        got = client.get(path.format(ref=ref, person=person)).status_code
        if got != expected:
            wrong.append(f"{path}: {got}, expected {expected}")
    _, raw = web_app.accounts.issue_token(email, "matrix")
    headers = {"Authorization": f"Bearer {raw}"}
    for path, command in API:
        expected = 200 if _allowed(web_app, email, command, web_staff.team_id) else 403
        got = client.get(path.format(ref=ref, person=person), headers=headers).status_code
        if got != expected:
            wrong.append(f"{path}: {got}, expected {expected}")
    assert not wrong, f"{role}: " + "; ".join(wrong)
