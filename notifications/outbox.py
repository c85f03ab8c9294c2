"""Moved: the outbox store is ``carepath.storage.outbox`` (no SQL outside ``storage``).

Only ``counts`` is re-exported, for ``config.bootstrap``; import it from ``carepath.storage.outbox``.
"""

from __future__ import annotations

from carepath.storage.outbox import counts

__all__ = ["counts"]
