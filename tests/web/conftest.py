"""The web app over a real SQLite file (and PostgreSQL where a test asks), the real journeys,
the staff of tests.support with passwords, and Starlette's TestClient (httpx) in front of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from carepath.engine.clock import FixedClock

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from carepath.config.bootstrap import App
    from tests.support import Staff

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    from carepath.config import passwords

    monkeypatch.setattr(passwords, "PARAMETERS", passwords.CHEAP)


@pytest.fixture
def web_clock() -> FixedClock:
    return FixedClock(NOW)


def build_app(url: str, clock: FixedClock) -> App:
    from carepath.config.bootstrap import App, load_registry
    from carepath.config.settings import Settings
    from carepath.storage.db import make_engine

    settings = Settings(database_url=url, base_url="http://testserver")
    return App(settings=settings, clock=clock, engine=make_engine(url), workflows=load_registry())


@pytest.fixture
def web_app(sqlite_url: str, web_clock: FixedClock) -> Iterator[App]:
    a = build_app(sqlite_url, web_clock)
    yield a
    a.dispose()


@pytest.fixture
def web_staff(web_app: App) -> Staff:
    from tests.support import ADMIN, seed_staff

    staff = seed_staff(web_app)
    emails = [ADMIN, *(a.email for a in staff.by_role.values())]
    web_app.accounts.set_passwords(emails, PASSWORD, ADMIN)
    return staff


@pytest.fixture
def client(web_app: App, web_staff: Staff) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    from carepath.entrypoints.web.app import create_app

    with TestClient(create_app(web_app), base_url="http://testserver", follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/") -> None:
    page = client.get("/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/sign-in", data={"email": email, "password": password, "sign_in_token": token.group(1), "next": next_path}
    )
    assert r.status_code == 303, r.text[:2000]
