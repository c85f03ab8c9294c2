"""The only place adapters are chosen: settings in, a wired ``App`` out.

The message bus is assembled here: which handler hears which domain event. Handlers get
plain values (``Routing``), never ``Settings``.

A command pays only for what it uses (issue 9): each part of the ``App`` imports its adapter
when it is first built, so a case read never imports Alembic, Jinja2, aiosmtplib or the write
side's services, and the journeys come through their on-disk cache (workflows/cache.py).
tests/e2e/test_startup.py checks what ``carepath case show`` imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from carepath.config.settings import Settings
from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import Actor
from carepath.engine.clock import Clock, SystemClock
from carepath.engine.registry import WorkflowRegistry
from carepath.storage.db import make_engine
from carepath.workflows.cache import DefinitionCache, cached_registry, default_folder
from carepath.workflows.files import WORKFLOWS_DIR

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from carepath.engine.bus import MessageBus
    from carepath.engine.services import (
        CalendarService,
        CaseService,
        MailService,
        PeopleService,
        TimerService,
    )
    from carepath.engine.services.accounts import AccountService, PasswordHasher
    from carepath.engine.services.panels import PanelService
    from carepath.engine.services.persons import PersonService
    from carepath.engine.services.reads import ReadService
    from carepath.engine.services.reports import ReportService
    from carepath.notifications.dispatch import SmtpTarget
    from carepath.notifications.routing import Routing
    from carepath.storage.people import PeopleQueries
    from carepath.storage.queries import DeadlineQueries
    from carepath.storage.queries.summary import SummaryQueries
    from carepath.storage.uow import SqlUnitOfWork


def load_registry(directory: Path = WORKFLOWS_DIR, conventions: Mapping[str, str] | None = None) -> WorkflowRegistry:
    """Every journey in ``directory`` parsed afresh (no cache) and compiled: ``workflows.loader.load_registry``."""
    from carepath.workflows.loader import load_registry as load

    return load(directory, conventions)


def load_calendar(engine: Engine, subdiv: str) -> WorkingCalendar:
    """The working-day calendar with the database's local overrides, if migrated."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from carepath.storage.admin import calendar_overrides

    try:
        with engine.connect() as conn:
            rows = calendar_overrides(conn)
    except (OperationalError, ProgrammingError):  # not migrated yet (``carepath db upgrade`` has not run)
        return WorkingCalendar(subdiv)
    return WorkingCalendar(
        subdiv,
        closures=[day for day, kind in rows if kind == "closure"],
        openings=[day for day, kind in rows if kind == "opening"],
    )


def smtp_target(settings: Settings) -> SmtpTarget:
    """The configured SMTP server, or the built-in catcher when no host is set."""
    from carepath.notifications.dispatch import SmtpTarget

    smtp = settings.smtp
    if smtp.host is None:
        return SmtpTarget(settings.catcher.host, settings.catcher.port, "none", smtp.sender, timeout=smtp.timeout)
    password = smtp.password.get_secret_value() if smtp.password else None
    return SmtpTarget(smtp.host, smtp.port, smtp.security, smtp.sender, smtp.username, password, smtp.timeout)


def routing(settings: Settings) -> Routing:
    """The plain values notifications need from the settings."""
    from carepath.notifications.routing import Routing

    return Routing(base_url=settings.base_url, single_breach_emails=settings.single_breach_emails)


@dataclass
class App:
    """Everything an entrypoint needs, wired once per process; parts are built on first use."""

    settings: Settings
    clock: Clock
    engine: Engine
    workflows: WorkflowRegistry

    @cached_property
    def calendar(self) -> WorkingCalendar:
        """Working days with local overrides; shared by every service (a change updates it in place)."""
        return load_calendar(self.engine, self.settings.calendar_subdiv)

    @cached_property
    def bus(self) -> MessageBus:
        """Which handler hears which domain event."""
        from carepath.engine.bus import MessageBus
        from carepath.engine.events import AgendaSent, Audited, CaseMoved, StateAnnounced, TimerRaised
        from carepath.engine.services import write_audit
        from carepath.engine.services.panels import BookingRelease
        from carepath.notifications.routing import Notifier
        from carepath.storage.panels import panel_store

        notifier = Notifier(routing(self.settings), self.calendar, self.clock)
        return MessageBus(
            {
                TimerRaised: [notifier.on_timer_raised],
                StateAnnounced: [notifier.on_state_announced],
                AgendaSent: [notifier.on_agenda_sent],
                Audited: [write_audit],
                CaseMoved: [BookingRelease(self.workflows, panel_store)],
            }
        )

    @cached_property
    def uow(self) -> SqlUnitOfWork:
        from carepath.storage.uow import SqlUnitOfWork

        return SqlUnitOfWork(self.engine, self.clock, self.bus)

    @cached_property
    def cases(self) -> CaseService:
        from carepath.engine.services import CaseService

        return CaseService(self.uow, self.workflows, self.clock, self.calendar)

    @cached_property
    def people(self) -> PeopleService:
        from carepath.engine.services import PeopleService

        return PeopleService(self.uow)

    @cached_property
    def persons(self) -> PersonService:
        """The people cases are about (not the users: ``people``): writes in the unit of work, reads on the
        read engine; rapidfuzz is imported by a search only."""
        from carepath.engine.services.persons import PersonService
        from carepath.storage.persons import person_store
        from carepath.storage.queries.people import PersonQueries

        return PersonService(lambda: self.uow, person_store, PersonQueries(self.read_engine), self.clock)

    @cached_property
    def hasher(self) -> PasswordHasher:
        """argon2id (config/passwords.py; tests install cheap parameters there)."""
        from carepath.config.passwords import argon2_hasher

        return argon2_hasher()

    @cached_property
    def accounts(self) -> AccountService:
        """Signing in, sessions, passwords, API tokens, the read audit; reads on the read engine."""
        from carepath.engine.services.accounts import AccountService
        from carepath.storage.accounts import AccountQueries, account_store

        return AccountService(
            self.uow, self.clock, self.hasher, store=account_store, reads=AccountQueries(self.read_engine)
        )

    @cached_property
    def panels(self) -> PanelService:
        """Sittings, members, booking, papers, recommendations and minutes; every case move through ``cases``."""
        from carepath.engine.services.panels import PanelService
        from carepath.storage.panels import panel_store
        from carepath.storage.queries.panels import PanelQueries

        return PanelService(
            self.uow,
            self.clock,
            self.calendar,
            self.cases,
            store=panel_store,
            reads=PanelQueries(self.read_engine),
            joint_quorum=self.settings.panel_joint_quorum,
        )

    @cached_property
    def calendar_changes(self) -> CalendarService:
        from carepath.engine.services import CalendarService

        return CalendarService(self.uow, self.clock, self.calendar, self.cases)

    @cached_property
    def mail(self) -> MailService:
        from carepath.engine.services import MailService
        from carepath.notifications.digest import enqueue_digests
        from carepath.notifications.dispatch import dispatch_due
        from carepath.storage.outbox import counts

        s = self.settings
        return MailService(
            self.uow,
            self.clock,
            send_due=lambda: dispatch_due(
                self.engine, self.clock, smtp_target(s), max_attempts=s.mail_max_attempts, calendar=self.calendar
            ),
            queue_digests=lambda: enqueue_digests(
                self.engine, self.clock, self.workflows, at=s.digest_time, base_url=s.base_url
            ),
            counts=lambda: counts(self.engine),
        )

    @cached_property
    def timers(self) -> TimerService:
        from carepath.engine.services import TimerService
        from carepath.storage.sweep import SqlTimerClaims

        lease = timedelta(seconds=self.settings.timer_lease_seconds)
        claims = SqlTimerClaims(self.engine, self.clock, lease)
        return TimerService(self.uow, claims, self.workflows, self.clock, cases=self.cases)

    @cached_property
    def system(self) -> Actor:
        """carepath's own actor: the scheduler's work only."""
        from carepath.storage.people import ensure_system_user

        return ensure_system_user(self.engine, self.clock)

    @cached_property
    def read_engine(self) -> Engine:
        """SQLite: a second engine whose transactions begin deferred (reads wait for no writer)."""
        if self.engine.dialect.name != "sqlite":
            return self.engine
        return make_engine(self.engine.url.render_as_string(hide_password=False), reads_only=True)

    @cached_property
    def reads(self) -> ReadService:
        """Authorized reads over the read models (on the read engine)."""
        from carepath.engine.services.reads import ReadService
        from carepath.storage.people import PeopleQueries
        from carepath.storage.queries import CaseloadQueries, DeadlineQueries, HistoryQueries, MailQueries, PanelQueries
        from carepath.storage.queries.work import WorkQueries

        e = self.read_engine
        return ReadService(
            CaseloadQueries(e),
            HistoryQueries(e),
            DeadlineQueries(e),
            MailQueries(e),
            PanelQueries(e),
            PeopleQueries(e),
            WorkQueries(e),
        )

    @cached_property
    def reports(self) -> ReportService:
        """Authorized reports over the event log as of a day (issue 13), on the read engine."""
        from carepath.engine.reports import ReportTargets
        from carepath.engine.services.reports import ReportService
        from carepath.storage.queries.reports import ReportQueries

        r = self.settings.reports
        targets = ReportTargets(r.target_conversion, r.a1_threshold_days, r.a2_threshold_days)
        return ReportService(ReportQueries(self.read_engine), self.workflows, self.clock, targets)

    @cached_property
    def directory(self) -> PeopleQueries:
        """Reads on users and teams."""
        from carepath.storage.people import PeopleQueries

        return PeopleQueries(self.read_engine)

    def migrate(self) -> str | None:
        """Create or migrate the database to the latest schema, and carepath's own user; the revision."""
        from carepath.storage.migrate import current, upgrade

        upgrade(self.engine)
        _ = self.system
        return current(self.engine)

    def schema_revision(self) -> str | None:
        """The database's schema revision (``None`` if never migrated)."""
        from carepath.storage.migrate import current

        return current(self.engine)

    @cached_property
    def summary(self) -> SummaryQueries:
        """Whole-service counts (the demo's report)."""
        from carepath.storage.queries.summary import SummaryQueries

        return SummaryQueries(self.read_engine)

    @cached_property
    def own_writes(self) -> DeadlineQueries:
        """Deadline reads on the write engine, for a process that reads back what it just wrote (the demo)."""
        from carepath.storage.queries import DeadlineQueries

        return DeadlineQueries(self.engine)

    def dispose(self) -> None:
        """Close the database connections."""
        self.engine.dispose()
        if "read_engine" in self.__dict__ and self.read_engine is not self.engine:
            self.read_engine.dispose()


def bootstrap(
    settings: Settings | None = None,
    clock: Clock | None = None,
    workflows: WorkflowRegistry | None = None,
) -> App:
    """Build the application from settings (environment by default).

    The journeys are parsed through the on-disk cache of parsed definitions (workflows/cache.py)
    and compiled, and so checked, on every start.
    """
    settings = settings or Settings()
    if workflows is None:
        folder = default_folder()
        cache = DefinitionCache(folder) if folder else None
        workflows = cached_registry(settings.workflows_dir or WORKFLOWS_DIR, settings.conventions, cache)
    from carepath.config.procedures import with_local_procedures

    workflows = with_local_procedures(workflows, settings.local_procedures)  # LOCAL rules cite this council
    return App(
        settings=settings,
        clock=clock or SystemClock(),
        engine=make_engine(settings.database_url),
        workflows=workflows,
    )


__all__ = ["App", "bootstrap", "load_calendar", "load_registry", "routing", "smtp_target"]
