"""Several app processes serve one PostgreSQL: a session made by one is good on the other (sessions
are rows, and the cookie is signed with the shared CAREPATH_WEB__SECRET_KEY), and a sign-out on one
ends it on both."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from carepath.engine.clock import FixedClock
from tests.conftest import drop_pg, fresh_pg_url
from tests.support import ADMIN, email_for, seed_staff
from tests.web.conftest import NOW, PASSWORD, csrf_of

SECRET = "a-shared-secret-of-at-least-32-characters"


@pytest.fixture
def pg_url() -> Iterator[str]:
    from carepath.storage.db import make_engine
    from carepath.storage.migrate import upgrade

    url = fresh_pg_url()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    drop_pg(url)


def _client(url: str) -> TestClient:
    from carepath.config.bootstrap import App, load_registry
    from carepath.config.settings import Settings
    from carepath.entrypoints.web.app import create_app
    from carepath.storage.db import make_engine

    settings = Settings(database_url=url, base_url="http://testserver", web={"secret_key": SECRET})
    app = App(settings=settings, clock=FixedClock(NOW), engine=make_engine(url), workflows=load_registry())
    return TestClient(create_app(app), base_url="http://testserver", follow_redirects=False)


@pytest.mark.postgres
def test_a_session_from_one_app_process_works_on_another(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from carepath.config import passwords

    monkeypatch.setattr(passwords, "PARAMETERS", passwords.CHEAP)
    one, two = _client(pg_url), _client(pg_url)
    app = one.app.state.carepath  # type: ignore[attr-defined]
    staff = seed_staff(app)
    cw = email_for("caseworker")
    app.accounts.set_passwords([cw], PASSWORD, ADMIN)
    ref = app.cases.open_case("foster_carer_approval", cw, team_id=staff.team_id).ref
    page = one.get("/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
    assert token
    assert (
        one.post("/sign-in", data={"email": cw, "password": PASSWORD, "sign_in_token": token.group(1)}).status_code
        == 303
    )
    two.cookies.update(one.cookies)
    case_page = two.get(f"/cases/{ref}")
    assert case_page.status_code == 200
    assert two.post("/sign-out", data={"csrf_token": csrf_of(case_page.text)}).status_code == 303
    assert one.get("/my-work").status_code == 303
