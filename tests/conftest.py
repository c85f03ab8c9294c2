"""Shared fixtures: real SQLite files and the real PostgreSQL server, an injected clock.

PostgreSQL tests are marked ``postgres``. Without a server they skip with a message;
with ``CI=true`` a missing server fails them instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from carepath.engine.clock import FixedClock
from carepath.engine.registry import WorkflowRegistry
from carepath.workflows.loader import load_registry

if TYPE_CHECKING:
    from carepath.config.bootstrap import App
    from tests.support import Staff

# The database and application layers (SQLAlchemy, Alembic, the bootstrap) are imported by the
# fixtures that use them, so the engine's unit tests start without them.

FIXTURES = Path(__file__).parent / "fixtures"
PG_ADMIN_URL = os.environ.get("CAREPATH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"

#: The suite runs the same whatever the shell exports: the README has a developer
#: `export CAREPATH_USER=...` to work as the demo's people, and a CAREPATH_DATABASE_URL left set must
#: never point a test at a real database. Only the test's own PostgreSQL setting stays.
for _name in [n for n in os.environ if n.startswith("CAREPATH_") and n != "CAREPATH_TEST_PG_URL"]:
    del os.environ[_name]


def _pg_available() -> str | None:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


_PG_PROBLEM: str | None = None
_PG_CHECKED = False


def require_postgres() -> None:
    """Skip (or fail under CI=true) when the PostgreSQL server is not reachable."""
    global _PG_CHECKED, _PG_PROBLEM
    if not _PG_CHECKED:
        _PG_PROBLEM, _PG_CHECKED = _pg_available(), True
    if _PG_PROBLEM:
        message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({_PG_PROBLEM})"
        if IN_CI:
            pytest.fail(message + "; PostgreSQL tests are mandatory when CI=true")
        pytest.skip(message)


def fresh_pg_url() -> str:
    """A new, empty PostgreSQL database for one test (dropped at session end is not needed:
    names are unique and the server is a test server)."""
    from sqlalchemy import create_engine, text

    require_postgres()
    name = f"cp_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, then a PostgreSQL database."""
    url = f"sqlite:///{tmp_path / 'carepath.db'}" if request.param == "sqlite" else fresh_pg_url()
    engine = _migrated_engine(url)
    engine.dispose()
    yield url
    if request.param == "postgres":
        drop_pg(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite file only."""
    url = f"sqlite:///{tmp_path / 'carepath.db'}"
    engine = _migrated_engine(url)
    engine.dispose()
    return url


@pytest.fixture
def clock() -> FixedClock:
    """Monday 2 November 2026, 09:00 UTC, moved only by the test."""
    return FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def sample_registry() -> WorkflowRegistry:
    """The small test journey in tests/fixtures."""
    return load_registry(FIXTURES)


def _migrated_engine(url: str) -> Any:
    from carepath.storage.db import make_engine
    from carepath.storage.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    return engine


def make_app(url: str, clock: FixedClock, workflows: WorkflowRegistry | None = None) -> App:
    """A wired app on ``url`` with ``clock`` (and the sample journey unless told otherwise)."""
    from carepath.config.bootstrap import App
    from carepath.config.settings import Settings
    from carepath.storage.db import make_engine

    settings = Settings(database_url=url)
    return App(settings=settings, clock=clock, engine=make_engine(url), workflows=workflows or load_registry(FIXTURES))


@pytest.fixture
def app(db_url: str, clock: FixedClock, sample_registry: WorkflowRegistry) -> Iterator[App]:
    """The sample-journey app over each database."""
    a = make_app(db_url, clock, sample_registry)
    yield a
    a.dispose()


@pytest.fixture
def staff(app: App) -> Staff:
    """The people of the sample service under the policy: an administrator, one user per role,
    the team of the team roles (``tests.support.seed_staff``); ``staff.system`` is for sweeps only."""
    from tests.support import seed_staff

    return seed_staff(app)
