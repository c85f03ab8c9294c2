"""The built-in mail catcher: an aiosmtpd server that stores what it receives in ``caught_mail``.

``carepath run`` starts one when no SMTP host is configured; ``carepath mail list`` and
``carepath mail show`` read what it caught (``storage.queries.mail``). The rows are written by
``storage.mailbox``. aiosmtpd's ``Controller`` connects back to check the server is up, so
``port=0`` cannot work: without a port, a free one is picked first.
"""

from __future__ import annotations

import socket
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

from carepath.engine.clock import Clock, SystemClock
from carepath.storage.mailbox import Engine, keep_caught


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class _Handler:
    """aiosmtpd handler: one ``caught_mail`` row per message."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        headers = BytesParser(policy=default_policy).parsebytes(raw, headersonly=True)
        keep_caught(
            self.engine,
            message_id=str(headers.get("Message-ID", "")),
            sender=str(envelope.mail_from or ""),
            recipients=envelope.rcpt_tos,
            subject=str(headers.get("Subject", "")),
            raw=raw.decode("utf-8", errors="replace"),
            received_at=self.clock.now(),
        )
        return "250 Message accepted for delivery"


class MailCatcher:
    """An SMTP server on ``host:port`` keeping every message it receives in the database."""

    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int | None = None, clock: Clock | None = None):
        self.engine = engine
        self.host = host
        self.port = port or free_port(host)
        self.handler = _Handler(engine, clock or SystemClock())
        self._controller: Controller | None = None

    def start(self) -> MailCatcher:
        """Start listening (in a background thread); returns ``self``."""
        if self._controller is None:
            self._controller = Controller(self.handler, hostname=self.host, port=self.port)
            self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
