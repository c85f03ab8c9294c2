"""Fixtures for journey tests: the shipped journeys, compiled once, over a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.bootstrap import load_registry
from engine.clock import FixedClock
from engine.registry import WorkflowRegistry
from tests.conftest import make_app
from tests.workflows.helpers import Walker


@pytest.fixture(scope="session")
def journeys() -> WorkflowRegistry:
    """Every journey in workflows/, with the default conventions."""
    return load_registry()


@pytest.fixture
def walker(sqlite_url: str, clock: FixedClock, journeys: WorkflowRegistry) -> Iterator[Walker]:
    """A walker over a fresh SQLite file with the shipped journeys and one user per role."""
    app = make_app(sqlite_url, clock, journeys)
    yield Walker(app, clock)
    app.engine.dispose()
