"""What every request does around its page: the security and caching headers, the session read
fresh each time (a deactivated user is out on their next request), the actor it carries, and the
navigation badges' numbers (the lists' own totals)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from carepath.engine.clock import FixedClock, local_today
from tests.support import ADMIN, email_for
from tests.web.conftest import PASSWORD, sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from carepath.config.bootstrap import App
    from tests.support import Staff

CW = email_for("caseworker")
SECURITY = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def _secured(headers: dict[str, str]) -> None:
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    for name, value in SECURITY.items():
        assert headers[name] == value, name


def test_static_files_are_cached_for_an_hour_and_everything_else_is_never_stored(client: TestClient) -> None:
    static = client.get("/static/carepath.css")
    assert static.status_code == 200
    _secured(dict(static.headers))
    assert static.headers["cache-control"] == "public, max-age=3600"
    assert "pragma" not in static.headers

    for r in (client.get("/sign-in"), client.get("/no-such-page"), client.get("/api/v1/cases")):
        _secured(dict(r.headers))
        assert r.headers.get_list("cache-control") == ["no-store"], r.url
        assert r.headers.get_list("pragma") == ["no-cache"], r.url
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/api/v1/cases").status_code == 401


def test_a_deactivated_user_is_signed_out_on_their_next_request(client: TestClient, web_app: App) -> None:
    sign_in(client, CW)
    assert client.get("/my-work").status_code == 200
    web_app.people.deactivate(CW, ADMIN)
    r = client.get("/my-work")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/sign-in?next=/my-work")


def test_a_session_carries_its_user_roles_and_teams_as_the_directory_has_them(web_app: App, web_staff: Staff) -> None:
    for actor in web_staff.by_role.values():
        signed = web_app.accounts.sign_in(actor.email, PASSWORD, client="10.0.0.9")
        found = web_app.accounts.session(signed.token)
        assert found is not None
        assert found.actor == web_app.directory.actor(actor.email), actor.email
        assert found.csrf_token == signed.session.csrf_token
    manager = web_app.accounts.session(web_app.accounts.sign_in(email_for("team_manager"), PASSWORD, client="x").token)
    assert manager is not None
    assert manager.actor.team_ids == {web_staff.team_id}


def test_the_my_work_badge_is_the_number_of_my_overdue_deadlines(
    client: TestClient, web_app: App, web_staff: Staff, web_clock: FixedClock
) -> None:
    for _ in range(3):
        web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id)
    web_clock.advance(days=30)
    sign_in(client, CW)
    me = web_app.directory.actor(CW)
    yesterday = local_today(web_clock) - timedelta(days=1)
    overdue = web_app.reads.deadlines_due(yesterday, me, owner_id=me.id).total
    assert overdue >= 3
    for path in ("/my-work", "/cases", "/deadlines"):
        page = client.get(path).text
        badge = re.search(r'<span class="moj-badge">(\d+)<span class="govuk-visually-hidden"> ([^<]+)</span>', page)
        assert badge is not None, path
        assert (int(badge.group(1)), badge.group(2)) == (overdue, "overdue deadlines on your cases")
