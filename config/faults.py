"""What went wrong with the environment, not the command: the database cannot be reached, is not
migrated, or refused a value the boundary checks let through. Each is one line for a person.

The entrypoints turn ``fault_line(exc)`` into ``error: <line>`` and exit code 2; an exception it
does not recognise is a bug and keeps its traceback. SQLAlchemy is imported only when an error
is described, so a command that succeeds never pays for it here.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: How much of a driver's message a line quotes.
_QUOTE_MAX = 160
_MIGRATE = "the database is not migrated (no carepath tables): run carepath db upgrade"


def _first_line(exc: BaseException) -> str:
    """The first line of the driver's own message, control characters escaped, bounded."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", lines[0] if lines else type(orig).__name__)
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 3] + "..."


def fault_line(exc: BaseException) -> str | None:
    """One line describing ``exc`` if it is a fault of the environment or the database; ``None`` otherwise."""
    if isinstance(exc, UnicodeEncodeError) and "surrogates not allowed" in str(exc):
        return "a value given is not valid UTF-8 text"
    if isinstance(exc, OverflowError) and "too large to convert" in str(exc):
        return "a number given is too large"
    try:
        from sqlalchemy import exc as sa
    except ImportError:  # pragma: no cover - SQLAlchemy is a dependency
        return None
    if isinstance(exc, sa.NoSuchModuleError | sa.ArgumentError):
        return "CAREPATH_DATABASE_URL is not a database carepath can use: sqlite:///FILE or postgresql://USER@HOST/DB"
    if not isinstance(exc, sa.DBAPIError):
        return None
    text = str(getattr(exc, "orig", exc))
    if "no such table" in text or re.search(r'relation "[^"]*" does not exist', text):
        return _MIGRATE
    if isinstance(exc, sa.OperationalError):
        if "unable to open database file" in text:
            return "cannot open the SQLite database file (does its folder exist, and may carepath write there?)"
        if "database is locked" in text:
            return "the database is busy (locked by another process): try again"
        if "connection" in text or "resolve host" in text or exc.connection_invalidated:
            return f"cannot connect to the database: {_first_line(exc)}"
        return f"the database failed: {_first_line(exc)}"
    if isinstance(exc, sa.IntegrityError):
        return f"the database refused the change (it conflicts with a record already there): {_first_line(exc)}"
    if isinstance(exc, sa.DataError):
        return f"the database refused a value: {_first_line(exc)}"
    return f"the database refused the command: {_first_line(exc)}"


__all__ = ["fault_line"]
