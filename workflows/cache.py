"""Parsed journeys kept on disk by content, so that a command does not parse YAML every time (issue 9).

Parsing a journey (YAML with line numbers, then pydantic's shape check) costs about 0.1 s a file:
more than everything else a ``carepath case show`` does. Its result, a ``WorkflowDef``, depends
only on the file's bytes and on the code that parses it, so the parsed definition is kept as
``<folder>/<key>.pickle``, ``key`` the SHA-256 of the file's name and bytes, the source of
``workflows/loader.py`` and ``engine/definition.py``, and the Python version: an edited journey,
an upgraded loader or a changed definition class is a new key, and a stale entry is never read
(the oldest entries beyond ``MAX_ENTRIES`` are deleted). The entry does not depend on the file's
folder: the definition read back names the file it was read from.

Compiling is not cached: the meaning checks against today's guards, roles and conventions, and
the shared machine, run on every start (a few milliseconds a journey), so a journey the code no
longer accepts still stops carepath, and a file that does not parse is never cached.

The cache is only an optimisation. An entry that cannot be read (missing, truncated, corrupt,
written by another version) is parsed afresh and written again; a folder that cannot be written
is left alone; neither is reported. Entries are unpickled by a restricted unpickler that builds
only the definition's dataclasses, plain containers and dates (nothing it could be made to run),
and only from a folder owned by this user and writable by nobody else. Not in the key: the
versions of PyYAML and pydantic (an upgrade that changed how a valid file parses would need
``carepath workflows validate``, which always parses afresh, and a cleared cache).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import pickle
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from carepath.engine import definition as definition_module
from carepath.engine.compiler import compile_workflow
from carepath.engine.definition import WorkflowDef
from carepath.engine.errors import Problem, WorkflowDefinitionError
from carepath.engine.registry import WorkflowRegistry
from carepath.workflows.files import WORKFLOWS_DIR, cache_root, private_folder, workflow_files

#: Bump when what an entry holds changes in a way the key does not see.
FORMAT = 1
#: Entries kept; beyond this the oldest are deleted after a write (each is 15-30 kB).
MAX_ENTRIES = 64
_SUFFIX = ".pickle"
#: The only globals an entry may name besides the definition dataclasses.
_SAFE = {
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("datetime", "date"): datetime.date,
    ("datetime", "datetime"): datetime.datetime,
    ("datetime", "time"): datetime.time,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
}


def default_folder() -> Path | None:
    """``$XDG_CACHE_HOME/carepath/workflows``, else ``~/.cache/carepath/workflows``; ``None`` with no home."""
    root = cache_root()
    return None if root is None else root / "workflows"


class DefinitionCache:
    """Parsed definitions in ``folder``, by content; ``read`` parses (and keeps) what it does not find."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._code: bytes | None = None

    def read(self, path: Path) -> WorkflowDef:
        """The definition in ``path``, as ``workflows.loader.load_workflow`` returns it.

        Raises:
            WorkflowDefinitionError: the file does not parse (never cached), naming file and line.
            OSError: the file cannot be read.
        """
        data = path.read_bytes()
        key = self._key(path.name, data)
        found = self._get(key) if key else None
        if found is not None:
            return dataclasses.replace(found, file=str(path))
        from carepath.workflows.loader import load_workflow  # YAML and pydantic: only on a miss

        parsed = load_workflow(path)
        if key and path.read_bytes() == data:  # not rewritten while it was parsed
            self._put(key, parsed)
        return parsed

    def _key(self, name: str, data: bytes) -> str | None:
        code = self._code_fingerprint()
        if code is None:
            return None
        digest = hashlib.sha256()
        # The name too: the loader checks it against the id and version inside.
        for part in (f"{FORMAT} {sys.version}".encode(), code, os.fsencode(name), data):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()

    def _code_fingerprint(self) -> bytes | None:
        """The parsing code's source, hashed once per process (``None``: no source to read, no cache)."""
        if self._code is None:
            digest = hashlib.sha256()
            try:
                for source in (Path(__file__).with_name("loader.py"), Path(definition_module.__file__)):
                    digest.update(source.read_bytes())
            except OSError:
                return None
            self._code = digest.digest()
        return self._code

    def _get(self, key: str) -> WorkflowDef | None:
        try:
            if not private_folder(self.folder):
                return None
            with open(self.folder / f"{key}{_SUFFIX}", "rb") as f:
                found = _Unpickler(f).load()
        except Exception:  # missing, truncated or corrupt: unpickling can raise almost anything
            return None
        return found if isinstance(found, WorkflowDef) else None

    def _put(self, key: str, parsed: WorkflowDef) -> None:
        import tempfile

        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not private_folder(self.folder):
                return
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    _Pickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(parsed)
                os.replace(tmp, self.folder / f"{key}{_SUFFIX}")  # readers see the whole entry or none
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            self._prune()
        except Exception:  # unwritable, full, or a value pickle refuses: the parsed definition serves
            return

    def _prune(self) -> None:
        entries = sorted(self.folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime)
        for old in entries[: max(0, len(entries) - MAX_ENTRIES)]:
            old.unlink(missing_ok=True)


class _Pickler(pickle.Pickler):
    """Writes the loader's line-carrying dicts and lists (inside ``meta``) as plain ones."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, dict) and type(obj) is not dict:
            return dict, (dict(obj),)
        if isinstance(obj, list) and type(obj) is not list:
            return list, (list(obj),)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    """Builds the definition's dataclasses, plain containers and dates, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if module == definition_module.__name__:
            found = getattr(definition_module, name, None)
            if isinstance(found, type) and dataclasses.is_dataclass(found):
                return found
        elif (module, name) in _SAFE:
            return _SAFE[(module, name)]
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a workflow definition")


def cached_registry(
    directory: Path = WORKFLOWS_DIR,
    conventions: Mapping[str, str] | None = None,
    cache: DefinitionCache | None = None,
) -> WorkflowRegistry:
    """``workflows.loader.load_registry``, reading each file through ``cache`` (every file parsed without one).

    Every file is compiled, and every problem is reported at once, as ``load_registry`` does.

    Raises:
        WorkflowDefinitionError: listing every problem with file and line.
    """
    registry = WorkflowRegistry()
    problems: list[Problem] = []
    for path in workflow_files(directory):
        try:
            registry.add(compile_workflow(_read(path, cache), conventions=conventions))
        except WorkflowDefinitionError as exc:
            problems.extend(exc.problems)
    if problems:
        raise WorkflowDefinitionError(problems)
    return registry


def _read(path: Path, cache: DefinitionCache | None) -> WorkflowDef:
    if cache is not None:
        return cache.read(path)
    from carepath.workflows.loader import load_workflow

    return load_workflow(path)
