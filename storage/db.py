"""Database engines: SQLite (WAL, ``BEGIN IMMEDIATE`` on writes) or PostgreSQL.

Planner statistics on SQLite follow its documentation (https://sqlite.org/lang_analyze.html,
"Recommended usage pattern"): a write engine's connection runs ``PRAGMA optimize=0x10002`` when
it opens, every connection runs ``PRAGMA optimize`` before it closes (the end of a CLI command)
and a long-lived one runs it again every ``OPTIMIZE_EVERY`` transactions (the worker), all with
``PRAGMA analysis_limit`` so ANALYZE reads a bounded sample of each index. Without statistics
SQLite's planner guesses (it chose to scan every pending timer to delete one case's, issue 9).
PostgreSQL's autovacuum keeps its statistics; ``storage.migrate.upgrade`` analyzes after a
migration on both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from types import MethodType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

#: Rows ANALYZE samples per index (SQLite suggests 100-1000): statistics good enough for the
#: planner at a bounded cost, however large the tables grow.
ANALYSIS_LIMIT = 1000
#: A long-lived connection of a write engine runs ``PRAGMA optimize`` again after this many
#: transactions (a pool checkout each); it does nothing, in microseconds, when nothing changed much.
OPTIMIZE_EVERY = 1000
_BUSY_TIMEOUT_MS = 30000
#: Each connection's page cache, in KiB (SQLite's default is 2,000 KiB). At 100,000 cases the
#: deadline table's indexes outgrow the default, and a calendar recompute's upserts went from
#: 1.5-2x their cost at 1,000 cases to about 1.3x with this (BENCHMARKS.md, Scale). The cache
#: fills only as pages are read: a small database never uses it all.
CACHE_KIB = 65536


def _run_optimize(dbapi_conn: Any, busy_timeout_ms: int = _BUSY_TIMEOUT_MS) -> None:
    """``PRAGMA optimize`` outside a transaction, waiting at most ``busy_timeout_ms`` for the write lock.

    Statistics are an optimisation: when the lock stays busy (or the connection is broken), skip;
    a later optimize catches up.
    """
    try:
        if busy_timeout_ms != _BUSY_TIMEOUT_MS:
            dbapi_conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        try:
            dbapi_conn.execute("PRAGMA optimize").fetchall()
        finally:
            if busy_timeout_ms != _BUSY_TIMEOUT_MS:
                dbapi_conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    except Exception:
        return


def _sqlite_setup(engine: Engine, *, reads_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        # Let carepath choose the transaction mode (BEGIN IMMEDIATE below), not pysqlite.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        if not reads_only:
            # SQLite's advice for a connection that may live long: analyze what needs it now
            # (0x10000: every table, not only those this connection used). Readers leave it to
            # the writers: it may take the write lock, and a read never waits for one.
            cur.execute("PRAGMA optimize=0x10002").fetchall()
        cur.close()
        record.info["carepath_checkouts"] = 0

    # Pool events, not connection events: they run once per checkout or close, never per
    # statement (see _begin_immediate), and leave PreparedStatements.usable as it was.
    @event.listens_for(engine, "close")
    def _close(dbapi_conn: Any, _: Any) -> None:
        # SQLite's advice for every connection: optimize just before closing. A short wait only,
        # so that the end of a command never queues behind a long write.
        _run_optimize(dbapi_conn, busy_timeout_ms=100)

    if not reads_only:

        @event.listens_for(engine, "checkout")
        def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            n = record.info.get("carepath_checkouts", 0) + 1
            record.info["carepath_checkouts"] = n
            if n % OPTIMIZE_EVERY == 0:  # a long-lived process (the worker): now and then
                _run_optimize(dbapi_conn)

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


def analyze(engine: Engine) -> None:
    """Gather the planner's statistics now, for every table (after a migration or a bulk load).

    SQLite samples ``ANALYSIS_LIMIT`` rows per index; PostgreSQL samples too (its autovacuum
    would analyze later in any case).
    """
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def is_postgres(bind: Engine | Connection) -> bool:
    """Whether ``bind`` talks to PostgreSQL (the one place the dialect is checked)."""
    return bind.dialect.name == "postgresql"


# -- prepared statements on the DBAPI connection (the SQLite write path) ------------------------

Processor = Callable[[Any], Any]


class Prepared:
    """One prebuilt Core statement compiled once for a SQLite dialect, run on the DBAPI connection.

    SQLAlchemy's own execution costs about 25 µs a statement (cache key, parameter processing,
    a result object): on SQLite that was most of a transition's Python time
    (bench/transitions.py). This runs the SQL text SQLAlchemy compiled from the same statement,
    converting parameters and results with each column type's own bind and result processors,
    so the rows are exactly those ``Connection.execute`` would write and read. Parameters are
    the same mappings; result rows are tuples in the statement's column order. DBAPI errors
    are raised as SQLAlchemy's (``IntegrityError``...), as ``Connection.execute`` raises them.
    """

    __slots__ = ("_consts", "_dialect", "_get", "_in", "_out", "names", "sql")

    def __init__(self, stmt: ClauseElement, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        names = compiled.positiontup
        if dialect.paramstyle != "qmark" or names is None or "POSTCOMPILE" in compiled.string:
            raise ValueError(f"not a positional statement without expanding parameters: {compiled.string}")
        binds = compiled.binds
        self.sql = compiled.string
        #: The parameters' names, in the order the SQL's ``?`` take them.
        self.names = tuple(names)
        self._dialect = dialect
        #: Literal values in the statement (``status != 'void'``), bound as SQLAlchemy binds them.
        self._consts = {n: binds[n].effective_value for n in names if not binds[n].required}
        self._get: Callable[[Mapping[str, Any]], Any] | None = None
        if len(names) == 1:  # itemgetter of one name returns the value, not a tuple
            only = names[0]
            self._get = lambda given: (given[only],)
        elif names:
            self._get = itemgetter(*names)
        processors = (binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
        self._in = tuple((i, p) for i, p in enumerate(processors) if p is not None)
        columns = getattr(stmt, "exported_columns", ())
        results = (c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        self._out = tuple((i, p) for i, p in enumerate(results) if p is not None)

    @property
    def plain_parameters(self) -> bool:
        """Whether the parameters go to the driver as given: no literal bound in, none converted."""
        return not self._in and not self._consts

    def params(self, given: Mapping[str, Any]) -> Sequence[Any]:
        """The positional parameters for ``given`` (by name), each converted as its column converts it."""
        if self._get is None:
            return ()
        values = self._get({**self._consts, **given} if self._consts else given)
        if not self._in:
            return values  # type: ignore[no-any-return]
        out = list(values)
        for i, process in self._in:
            out[i] = process(out[i])
        return out

    def row(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A result row with each column converted as SQLAlchemy converts it."""
        if not self._out:
            return tuple(row)
        out = list(row)
        for i, process in self._out:
            out[i] = process(out[i])
        return tuple(out)

    def execute(self, dbapi_conn: Any, given: Mapping[str, Any]) -> Any:
        """Run once; the DBAPI cursor."""
        try:
            return dbapi_conn.execute(self.sql, self.params(given))
        except self._dialect.loaded_dbapi.Error as exc:
            raise self._wrap(exc, given) from exc

    def executemany(self, dbapi_conn: Any, rows: Sequence[Mapping[str, Any]]) -> Any:
        """Run once per row, as one ``executemany``; the DBAPI cursor."""
        try:
            return dbapi_conn.executemany(self.sql, [self.params(r) for r in rows])
        except self._dialect.loaded_dbapi.Error as exc:
            raise self._wrap(exc, rows) from exc

    def _wrap(self, exc: Exception, given: Any) -> StatementError:
        error = self._dialect.loaded_dbapi.Error
        return DBAPIError.instance(self.sql, given, exc, error, dialect=self._dialect)


class PreparedStatements:
    """The ``Prepared`` form of an engine's prebuilt statements, compiled on first use (once connected)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._by_id: dict[int, tuple[ClauseElement, Prepared]] = {}

    def __getitem__(self, stmt: ClauseElement) -> Prepared:
        found = self._by_id.get(id(stmt))
        if found is None or found[0] is not stmt:
            found = (stmt, Prepared(stmt, self.engine.dialect))
            self._by_id[id(stmt)] = found
        return found[1]

    def rows(self, stmt: ClauseElement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """A prebuilt query's rows, read on a pooled connection of the engine outside any transaction.

        One statement reads one snapshot (SQLite's autocommit read, PostgreSQL's statement), so a
        read of one statement needs no ``BEGIN``; prepared on SQLite when ``usable``, through
        ``Connection.execute`` otherwise.
        """
        if self.usable(self.engine):
            prepared = self[stmt]
            pooled = self.engine.raw_connection()
            try:
                return [prepared.row(r) for r in prepared.execute(pooled.dbapi_connection, params).fetchall()]
            finally:
                pooled.close()
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt, params)]  # type: ignore[call-overload]

    def usable(self, engine: Engine) -> bool:
        """Whether a new connection of ``engine`` may skip SQLAlchemy's execution: SQLite, nothing watching.

        With statement listeners on the engine (``before_cursor_execute``...) or echo on, every
        statement goes through ``Connection.execute`` so that they see each one
        (bench/transitions.py counts statements that way). Checked per transaction: listeners
        may come and go.
        """
        if engine.dialect.name != "sqlite" or engine.echo:
            return False
        d = engine.dispatch
        return not (d.before_cursor_execute or d.after_cursor_execute or d.before_execute or d.after_execute)
