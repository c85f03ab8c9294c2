"""Database engines: SQLite (WAL, ``BEGIN IMMEDIATE`` on writes) or PostgreSQL."""

from __future__ import annotations

from types import MethodType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool


def _sqlite_setup(engine: Engine, *, reads_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _: Any) -> None:
        # Let carepath choose the transaction mode (BEGIN IMMEDIATE below), not pysqlite.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    def _begin_immediate(_dialect: Any, dbapi_connection: Any) -> None:
        # Deferred BEGIN fails read-then-write transactions under contention (two writers
        # that both read first deadlock with SQLITE_BUSY); IMMEDIATE takes the write lock up
        # front. Done in the dialect, not in a "begin" connection event: any connection event makes SQLAlchemy dispatch
        # events around every statement, about 20% of a transition (bench/transitions.py).
        dbapi_connection.execute("BEGIN IMMEDIATE")

    def _begin_deferred(_dialect: Any, dbapi_connection: Any) -> None:
        # Readers never take the write lock: with WAL they see a snapshot and wait for nobody.
        dbapi_connection.execute("BEGIN")

    begin = _begin_deferred if reads_only else _begin_immediate
    engine.dialect.do_begin = MethodType(begin, engine.dialect)  # type: ignore[method-assign]


def make_engine(url: str, *, echo: bool = False, reads_only: bool = False) -> Engine:
    """An engine for ``url`` with carepath's connection settings.

    ``reads_only`` (SQLite): transactions begin deferred, for read paths that must not
    queue behind writers; never write through such an engine.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, poolclass=NullPool if ":memory:" in url else None)
        _sqlite_setup(engine, reads_only=reads_only)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, echo=echo, pool_pre_ping=True)


def is_postgres(bind: Engine | Connection) -> bool:
    """Whether ``bind`` talks to PostgreSQL (the one place the dialect is checked)."""
    return bind.dialect.name == "postgresql"
