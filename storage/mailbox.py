"""The built-in mail catcher's store: one ``caught_mail`` row per message received.

``notifications.catcher`` (the aiosmtpd handler) parses each message and keeps it here; people
read it through the read model, ``storage.queries.mail.MailQueries`` (``caught``,
``caught_raw``). The catcher takes the database as an ``Engine`` re-exported here, so
notifications never import SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, insert

from carepath.storage.tables import CAUGHT


def keep_caught(
    engine: Engine,
    *,
    message_id: str,
    sender: str,
    recipients: Iterable[str],
    subject: str,
    raw: str,
    received_at: datetime,
) -> None:
    """Store one received message in its own transaction, cutting the headers to their columns' widths."""
    with engine.begin() as conn:
        conn.execute(
            insert(CAUGHT).values(
                message_id=message_id[:250],
                sender=sender[:320],
                recipients=list(recipients),
                subject=subject[:500],
                raw=raw,
                received_at=received_at,
            )
        )


__all__ = ["Engine", "keep_caught"]
