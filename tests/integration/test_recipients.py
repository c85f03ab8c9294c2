"""A sweep batch reads its owners and teams at once (``storage.recipients.preload``): the people found
are exactly those the lookups one by one find, deactivated users and teams without a manager included."""

from __future__ import annotations

from itertools import product

from sqlalchemy import select

from carepath.config.bootstrap import App
from carepath.engine.roles import OWNER
from carepath.storage.recipients import preload, resolve
from carepath.storage.tables import TEAMS, USERS
from tests.support import ADMIN, Staff, add_user, email_for

ROLES = (OWNER, "team_manager", "service_manager", "panel_coordinator", "agency_decision_maker", "caseworker")


def test_preloaded_recipients_are_the_ones_looked_up_one_by_one(app: App, staff: Staff) -> None:
    add_user(app, "second.manager@council.test", "team_manager")
    app.people.add_team("No manager named", ADMIN, members=[email_for("caseworker"), "second.manager@council.test"])
    app.people.deactivate(email_for("service_manager"), ADMIN)  # the team names them: nobody then
    app.people.deactivate(email_for("panel_coordinator"), ADMIN)
    with app.engine.connect() as conn:
        user_ids = [None, 10_000, *conn.execute(select(USERS.c.id)).scalars()]
        team_ids = [None, 10_000, *conn.execute(select(TEAMS.c.id)).scalars()]
    cases = list(product(user_ids, team_ids))
    with app.engine.connect() as conn, conn.begin():
        one_by_one = {(o, t): [resolve(conn, [r], owner_id=o, team_id=t) for r in ROLES] for o, t in cases}
    with app.engine.connect() as conn, conn.begin():
        preload(conn, user_ids, team_ids)
        preloaded = {(o, t): [resolve(conn, [r], owner_id=o, team_id=t) for r in ROLES] for o, t in cases}
    assert preloaded == one_by_one
    # the check sees real people: an active owner, the named team manager, a fallback manager, nobody
    owner = one_by_one[(staff["caseworker"].id, staff.team_id)]
    assert owner[0] == [email_for("caseworker")]
    assert owner[1] == [email_for("team_manager")]
    assert owner[2] == []
    assert any(found[1] == ["second.manager@council.test"] for found in one_by_one.values())
