"""The quick read: ``carepath case show`` on ``sqlite3``, without SQLAlchemy, pydantic or Typer (issue 9).

A case read used to pay for the whole application's imports: SQLAlchemy, pydantic-settings, Typer's
82 commands, every service (bench/startup.py: about 27x a bare ``python -c pass``). The quick read
does the same read, through the same service-layer functions (``engine.services.reads``: the same
authorization) and the same row mapping (``storage.rows``), printed by the same functions
(``entrypoints.show``), on the standard library's ``sqlite3``.

What it runs comes from a **manifest** that a full start writes (``remember``, called once the full
CLI has bootstrapped): the SQL SQLAlchemy compiled from storage's statements
(``storage.lite.compile_statements``), the schema revision the code expects, and each journey state's
label, read from journeys the full start has just compiled and so checked. The manifest's file name
is a digest of what it depends on: the Python version, the size and modification time of every
carepath source and journey file, and of SQLAlchemy's package (the test Python's own bytecode cache
trusts). A changed file is another name, so a stale manifest is never read.

The quick read is an optimisation and never decides anything the full CLI would decide differently:
``open_quick`` answers ``None`` (the full CLI runs) unless the environment holds no ``CAREPATH_*``
variable but ``CAREPATH_DATABASE_URL`` and ``CAREPATH_USER`` and no ``.env`` file, the database is a
SQLite file that exists, at the manifest's revision, and the manifest is there (in a folder of this
user's that nobody else may write, like the journeys' cache). Any SQLite error also hands over to the
full CLI, which reports it as it always does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carepath.engine.case import Case
from carepath.storage.lite import LiteReads, Statement, compile_statements
from carepath.workflows.files import cache_root, private_folder

if TYPE_CHECKING:
    from carepath.config.bootstrap import App

#: Bump when what a manifest holds changes in a way its name does not see.
FORMAT = 1
#: The only settings the quick read understands; any other ``CAREPATH_*`` variable means the full CLI.
UNDERSTOOD = frozenset({"CAREPATH_DATABASE_URL", "CAREPATH_USER"})
#: ``config.settings.Settings.database_url``'s default.
DEFAULT_DATABASE_URL = "sqlite:///carepath.db"
#: A SQLite file URL as SQLAlchemy reads it, with nothing to decode (no query string, no escapes).
_SQLITE_FILE = re.compile(r"sqlite:///([^?%#]+)")
#: Where carepath's folders are (the repository, or ``site-packages/carepath`` installed).
HOME = Path(__file__).resolve().parents[1]
#: carepath's folders whose files the manifest depends on.
_FOLDERS = ("config", "engine", "entrypoints", "notifications", "storage", "workflows")
_SKIP = frozenset({"__pycache__", "static", "assets", "templates"})
#: Manifests kept; older ones are deleted after a write.
MAX_MANIFESTS = 8


@dataclass(frozen=True)
class Quick:
    """What a quick read needs: the reads on an open connection, the acting user setting, state labels."""

    reads: LiteReads
    user: str | None
    labels: Mapping[str, Mapping[str, Mapping[str, str]]]

    def label(self, case: Case) -> str | None:
        """The label of ``case``'s state, or ``None`` if the manifest does not know it."""
        return self.labels.get(case.workflow_id, {}).get(str(case.workflow_version), {}).get(case.state)

    def close(self) -> None:
        self.reads.db.close()


def open_quick(environ: Mapping[str, str], cwd: Path) -> Quick | None:
    """The quick read for this environment, or ``None`` when the full CLI must run (module docstring)."""
    if any(k.upper().startswith("CAREPATH_") and k not in UNDERSTOOD for k in environ):
        return None
    if (cwd / ".env").exists():
        return None
    path = sqlite_path(environ.get("CAREPATH_DATABASE_URL", DEFAULT_DATABASE_URL), cwd)
    if path is None or not path.is_file():
        return None
    manifest = _read(manifest_path(environ))
    if manifest is None:
        return None
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True)
    except sqlite3.Error:
        return None
    try:
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone() or (None,)
        if revision != manifest["revision"]:
            db.close()
            return None
        return Quick(LiteReads(db, manifest["statements"]), environ.get("CAREPATH_USER"), manifest["labels"])
    except (sqlite3.Error, ValueError, KeyError, TypeError):
        db.close()
        return None


def sqlite_path(url: str, cwd: Path) -> Path | None:
    """The file of a ``sqlite:///FILE`` URL (relative to ``cwd`` as SQLAlchemy reads it), else ``None``."""
    found = _SQLITE_FILE.fullmatch(url)
    return None if found is None else cwd / found.group(1)


def remember(app: App) -> None:
    """Write the manifest for this code and these journeys, if missing; called after a full start.

    Only a start on the default journeys (no ``workflows_dir``, no local procedures: their labels are the
    manifest's) on SQLite writes one. Never fails: a manifest that cannot be written is not written.
    """
    s = app.settings
    if s.workflows_dir is not None or s.local_procedures or sqlite_path(s.database_url, Path.cwd()) is None:
        return
    target = manifest_path()
    if target is None or target.exists():
        return
    try:
        manifest = {"format": FORMAT, "revision": _head(), "statements": _statements(), "labels": _labels(app)}
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not private_folder(target.parent):
            return
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(manifest, f)
        os.replace(tmp, target)  # readers see the whole manifest or none
        _prune(target.parent)
    except Exception:  # an optimisation: unwritable, full, or a statement the quick read cannot run
        return


def manifest_path(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where the manifest for the code as it is now lives (its name is the digest of what it depends on)."""
    root = cache_root(environ)
    return None if root is None else root / "quick" / f"{signature()}.json"


def signature(home: Path = HOME) -> str:
    """A digest of the Python version and the size and modification time of every carepath source and
    journey file (in ``home``'s folders), and of SQLAlchemy's package."""
    digest = hashlib.sha256(f"{FORMAT} {sys.version}".encode())
    for folder in _FOLDERS:
        for path in _files(home / folder):
            st = path.stat()
            digest.update(f"{path.relative_to(home)} {st.st_size} {st.st_mtime_ns}\n".encode())
    spec = find_spec("sqlalchemy")
    origin = spec.origin if spec is not None else None
    if origin:
        st = Path(origin).stat()
        digest.update(f"sqlalchemy {origin} {st.st_size} {st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _files(folder: Path) -> Iterator[Path]:
    """The ``.py`` and ``.yaml`` files under ``folder``, in a stable order (bytecode and assets skipped)."""
    for base, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP)
        for name in sorted(names):
            if name.endswith((".py", ".yaml", ".yml")):
                yield Path(base) / name


def _read(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        if not private_folder(path.parent):
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def _head() -> str:
    """The schema revision this code migrates to (Alembic's head)."""
    from alembic.script import ScriptDirectory

    from carepath.storage.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise ValueError("no migrations")
    return head


def _statements() -> dict[str, Statement]:
    from sqlalchemy.dialects import sqlite

    return compile_statements(sqlite.dialect())


def _labels(app: App) -> dict[str, dict[str, dict[str, str]]]:
    """Each journey version's state labels (the built-in on-hold state's too), as ``case show`` prints them."""
    from carepath.engine.definition import ON_HOLD

    out: dict[str, dict[str, dict[str, str]]] = {}
    for compiled in app.workflows:
        d = compiled.definition
        states = {name: d.state(name).label for name in [*d.states, ON_HOLD]}
        out.setdefault(d.id, {})[str(d.version)] = states
    return out


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for old in entries[: max(0, len(entries) - MAX_MANIFESTS)]:
        old.unlink(missing_ok=True)
