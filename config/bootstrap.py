"""The only place adapters are chosen: settings in, a wired ``App`` out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, select

from config.settings import Settings
from engine.calendar import WorkingCalendar
from engine.case import Case, Event
from engine.clock import Clock, SystemClock
from engine.compiler import compile_workflow
from engine.errors import Problem, WorkflowDefinitionError
from engine.registry import WorkflowRegistry
from engine.services import CaseService
from storage.db import make_engine
from storage.people import People
from storage.queries import Queries
from storage.sweep import Sweeper, TimerHook
from storage.tables import CalendarOverride
from storage.uow import EventHook, SqlUnitOfWork
from workflows.loader import WORKFLOWS_DIR, load_workflow, workflow_files


def load_registry(directory: Path = WORKFLOWS_DIR, conventions: Mapping[str, str] | None = None) -> WorkflowRegistry:
    """Load and compile every definition in ``directory``; all problems at once."""
    registry = WorkflowRegistry()
    problems: list[Problem] = []
    for path in workflow_files(directory):
        try:
            registry.add(compile_workflow(load_workflow(path), conventions=conventions))
        except WorkflowDefinitionError as exc:
            problems.extend(exc.problems)
    if problems:
        raise WorkflowDefinitionError(problems)
    return registry


def load_calendar(engine: Engine, subdiv: str) -> WorkingCalendar:
    """The working-day calendar with the database's local overrides, if migrated."""
    if not inspect(engine).has_table("calendar_override"):
        return WorkingCalendar(subdiv)
    table = CalendarOverride.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = list(conn.execute(select(table.c.day, table.c.kind)))
    return WorkingCalendar(
        subdiv,
        closures=[r.day for r in rows if r.kind == "closure"],
        openings=[r.day for r in rows if r.kind == "opening"],
    )


@dataclass
class App:
    """Everything an entrypoint needs, wired once."""

    settings: Settings
    clock: Clock
    engine: Engine
    workflows: WorkflowRegistry

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return load_calendar(self.engine, self.settings.calendar_subdiv)

    @cached_property
    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, on_event=self.event_hooks())

    def event_hooks(self) -> list[EventHook]:
        """What happens in a write transaction after each case event (state notices to the outbox)."""
        from notifications.routing import on_event

        _ = self.calendar  # load it now: reading it inside a SQLite write transaction would wait on the lock

        def hook(conn: Connection, case: Case, event: Event) -> None:
            definition = self.workflows.get(case.workflow_id, case.workflow_version).definition
            on_event(conn, case, event, definition, self.settings, self.clock.now(), self.calendar)

        return [hook]

    @cached_property
    def cases(self) -> CaseService:
        return CaseService(self.uow, self.workflows, self.clock, self.calendar)

    @cached_property
    def people(self) -> People:
        return People(self.engine, self.clock)

    @cached_property
    def read_engine(self) -> Engine:
        """SQLite: a second engine whose transactions begin deferred (reads wait for no writer)."""
        if self.engine.dialect.name != "sqlite":
            return self.engine
        return make_engine(self.engine.url.render_as_string(hide_password=False), reads_only=True)

    @cached_property
    def queries(self) -> Queries:
        return Queries(self.read_engine)

    @cached_property
    def sweeper(self) -> Sweeper:
        return Sweeper(
            self.engine,
            self.clock,
            self.workflows,
            self.people.ensure_system_user().id,
            on_timer=self.timer_hooks(),
            lease=timedelta(seconds=self.settings.timer_lease_seconds),
        )

    def timer_hooks(self) -> list[TimerHook]:
        """What happens in the sweep's transaction when a timer is raised (outbox rows)."""
        from notifications.routing import on_timer

        settings = self.settings
        return [lambda conn, fired, now: on_timer(conn, fired, settings, now)]


def bootstrap(
    settings: Settings | None = None,
    clock: Clock | None = None,
    workflows: WorkflowRegistry | None = None,
) -> App:
    """Build the application from settings (environment by default)."""
    settings = settings or Settings()
    return App(
        settings=settings,
        clock=clock or SystemClock(),
        engine=make_engine(settings.database_url),
        workflows=workflows or load_registry(settings.workflows_dir or WORKFLOWS_DIR, settings.conventions),
    )
