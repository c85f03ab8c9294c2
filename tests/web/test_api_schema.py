"""Schemathesis over the whole API, from its own OpenAPI schema: no 5xx, no response that breaks
its schema, whatever the generated input (with a valid token, so the calls reach the services)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from carepath.engine.clock import FixedClock
from tests.support import email_for
from tests.web.conftest import NOW, build_app

_STATE: dict[str, Any] = {}


def _app() -> Any:
    """One app over a migrated SQLite file with the team's staff and a few cases, built once."""
    if "asgi" not in _STATE:
        import tempfile

        from carepath.config import passwords
        from carepath.entrypoints.web.app import create_app
        from carepath.storage.db import make_engine
        from carepath.storage.migrate import upgrade
        from tests.support import seed_staff

        passwords.PARAMETERS = passwords.CHEAP
        folder = tempfile.mkdtemp(prefix="carepath-schemathesis-")
        url = f"sqlite:///{folder}/carepath.db"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        app = build_app(url, FixedClock(NOW))
        staff = seed_staff(app)
        cw = email_for("caseworker")
        for _ in range(3):
            app.cases.open_case("foster_carer_approval", cw, team_id=staff.team_id)
        _, token = app.accounts.issue_token(email_for("team_manager"), "schemathesis")
        _STATE.update(asgi=create_app(app), token=token, app=app)
    return _STATE["asgi"]


schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _app())


@pytest.fixture(scope="module", autouse=True)
def _dispose() -> Iterator[None]:
    yield
    _STATE["app"].dispose()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema(case: schemathesis.Case) -> None:
    # Not positive_data_acceptance: a schema cannot say "a cursor this list gave" or "a case that
    # exists", so a schema-valid request may rightly get 400 or 404. Every answer must still be
    # documented, of its declared type and shape, and never a server error.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_STATE['token']}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
