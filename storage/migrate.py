"""Run Alembic migrations programmatically (``carepath db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database at ``engine`` up to ``revision``, then analyze it if anything ran.

    A migration that adds indexes leaves them without statistics: on SQLite the planner then
    guesses (and guessed wrong before, issue 9), so the tables are analyzed in the same
    transaction (``ANALYZE``, a bounded sample per index: storage.db.ANALYSIS_LIMIT). On an
    empty database this records nothing, and ``PRAGMA optimize`` analyzes the tables as they
    fill (storage.db).
    """
    from alembic.runtime.migration import MigrationContext

    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        if MigrationContext.configure(conn).get_current_revision() != before:
            conn.exec_driver_sql("ANALYZE")


def current(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` if never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
