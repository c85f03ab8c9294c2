"""Where journeys live and how their files are named: ``<journey>.v<N>.yaml``.

Kept apart from the loader so that finding the files costs no YAML or pydantic import (the
journeys' cache, ``workflows/cache.py``, reads parsed definitions without either). Where carepath's
caches live is here too: the journeys' cache and the quick read's (config/quick.py) share it.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

WORKFLOWS_DIR = Path(__file__).resolve().parent
FILE_NAME = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.ya?ml$")


def workflow_files(directory: Path = WORKFLOWS_DIR) -> list[Path]:
    """Every definition file in ``directory``, sorted by name."""
    return sorted(p for p in directory.iterdir() if FILE_NAME.match(p.name))


def cache_root(environ: Mapping[str, str] = os.environ) -> Path | None:
    """``$XDG_CACHE_HOME/carepath``, else ``~/.cache/carepath``; ``None`` with no home."""
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "carepath"


def private_folder(folder: Path) -> bool:
    """Whether ``folder`` is a directory of this user's that nobody else may write (a cache read from it
    is then this user's own writing)."""
    st = folder.stat()
    getuid = getattr(os, "getuid", None)
    owned = getuid is None or st.st_uid == getuid()
    return stat.S_ISDIR(st.st_mode) and owned and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
