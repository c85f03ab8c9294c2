"""Fixtures for journey tests: the shipped journeys, compiled once, over a SQLite file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from carepath.engine.clock import FixedClock
from carepath.engine.registry import WorkflowRegistry
from carepath.storage.db import make_engine
from carepath.storage.migrate import upgrade
from carepath.workflows.loader import load_registry
from tests.conftest import make_app
from tests.workflows.helpers import Walker


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test is most of the cost)."""
    path = tmp_path_factory.mktemp("template") / "carepath.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_template: Path) -> str:
    """A migrated SQLite file of this test's own (a copy of the template)."""
    path = tmp_path / "carepath.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def journeys() -> WorkflowRegistry:
    """Every journey in workflows/, with the default conventions."""
    return load_registry()


@pytest.fixture
def walker(sqlite_url: str, clock: FixedClock, journeys: WorkflowRegistry) -> Iterator[Walker]:
    """A walker over a fresh SQLite file with the shipped journeys, its administrator, staff and team."""
    app = make_app(sqlite_url, clock, journeys)
    yield Walker(app, clock)
    app.dispose()
