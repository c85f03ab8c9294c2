"""Where journeys live and how their files are named: ``<journey>.v<N>.yaml``.

Kept apart from the loader so that finding the files costs no YAML or pydantic import (the
journeys' cache, ``workflows/cache.py``, reads parsed definitions without either).
"""

from __future__ import annotations

import re
from pathlib import Path

WORKFLOWS_DIR = Path(__file__).resolve().parent
FILE_NAME = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.ya?ml$")


def workflow_files(directory: Path = WORKFLOWS_DIR) -> list[Path]:
    """Every definition file in ``directory``, sorted by name."""
    return sorted(p for p in directory.iterdir() if FILE_NAME.match(p.name))
