"""The dispatcher: claim due outbox rows, render them, send them with aiosmtplib.

Delivery is at least once. Each batch of claimed rows goes over one SMTP connection;
outcomes are written back every ``flush_every`` messages and at the end of the batch, so a
crash re-sends at most the unflushed messages, each with the same ``Message-ID``.

- 250: sent.
- 4xx reply, a dropped connection or a timeout: retried after an exponential backoff with
  jitter (``next_attempt_at`` from the injected clock).
- 5xx reply, an unrenderable template, or ``settings.mail_max_attempts`` attempts: dead, shown
  by ``carepath mail failed`` and requeued by ``carepath mail retry``.

With no SMTP host configured, mail goes to the built-in catcher (``settings.catcher``).
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from sqlalchemy import Engine

from config.settings import Settings
from engine.clock import Clock
from notifications.outbox import Claimed, Outcomes, claim, counts, flush
from notifications.render import render

log = logging.getLogger(__name__)

#: How long a claimed batch stays leased to one dispatcher.
DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_BATCH = 100
DEFAULT_FLUSH_EVERY = 50
_CONNECTION_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError, OSError)


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to send."""

    host: str
    port: int
    security: str  # starttls | tls | none
    sender: str
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTarget:
        """The configured SMTP server, or the built-in catcher when no host is set."""
        smtp = settings.smtp
        if smtp.host is None:
            return cls(settings.catcher.host, settings.catcher.port, "none", smtp.sender, timeout=smtp.timeout)
        password = smtp.password.get_secret_value() if smtp.password else None
        return cls(smtp.host, smtp.port, smtp.security, smtp.sender, smtp.username, password, smtp.timeout)

    def client(self) -> aiosmtplib.SMTP:
        """An unconnected aiosmtplib client for this target."""
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            username=self.username,
            password=self.password,
            timeout=self.timeout,
        )


def build_message(item: Claimed, sender: str, now: datetime) -> bytes:
    """The email for one outbox row: text and HTML alternatives, stable Message-ID."""
    content = render(item.kind, dict(item.context))
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(item.recipients)
    msg["Subject"] = content.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = item.message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Carepath-Kind"] = item.kind
    msg.set_content(content.text)
    msg.add_alternative(content.html, subtype="html")
    return msg.as_bytes(policy=email.policy.SMTP)


@dataclass
class _Batch:
    engine: Engine
    clock: Clock
    target: SmtpTarget
    max_attempts: int
    flush_every: int
    rng: random.Random | None
    outcomes: Outcomes

    def flush(self) -> None:
        flush(self.engine, self.outcomes, self.clock.now(), self.max_attempts, self.rng)


def _refused(batch: _Batch, item: Claimed, codes: list[int], error: str) -> None:
    if any(400 <= c < 500 for c in codes):
        batch.outcomes.retry.append((item, error))
    else:
        batch.outcomes.dead.append((item, error))


async def _send_one(batch: _Batch, smtp: aiosmtplib.SMTP, item: Claimed) -> tuple[bool, bool]:
    """Send one message and record its outcome. Returns (sent, the connection is still usable)."""
    try:
        payload = build_message(item, batch.target.sender, batch.clock.now())
    except Exception as exc:  # a template or context fault never fixes itself
        batch.outcomes.dead.append((item, f"cannot render {item.kind}: {type(exc).__name__}: {exc}"))
        return False, True
    try:
        errors, _ = await smtp.sendmail(batch.target.sender, list(item.recipients), payload)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        _refused(batch, item, [r.code for r in exc.recipients], f"recipients refused: {exc}")
    except aiosmtplib.SMTPResponseException as exc:
        _refused(batch, item, [exc.code], f"{exc.code} {exc.message}")
        return False, exc.code != 421  # 421: the server is closing the connection
    except _CONNECTION_ERRORS as exc:
        batch.outcomes.retry.append((item, f"connection: {type(exc).__name__}: {exc}"))
        return False, False
    except aiosmtplib.SMTPException as exc:
        batch.outcomes.dead.append((item, f"{type(exc).__name__}: {exc}"))
    else:
        if errors:
            log.warning("%s: some recipients refused: %s", item.message_id, errors)
        batch.outcomes.sent.append(item.id)
        return True, True
    return False, True


async def _send_batch(batch: _Batch, items: list[Claimed]) -> tuple[int, bool]:
    """Send ``items`` over one connection. Returns (sent, stop: the server is unreachable)."""
    smtp = batch.target.client()
    try:
        await smtp.connect()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        batch.outcomes.retry.extend((i, f"connect {batch.target.host}:{batch.target.port}: {exc}") for i in items)
        batch.flush()
        return 0, True
    sent, stop = 0, False
    try:
        for n, item in enumerate(items):
            ok, alive = await _send_one(batch, smtp, item)
            sent += ok
            if not alive:
                batch.outcomes.released.extend(i.id for i in items[n + 1 :])
                stop = True
                break
            if len(batch.outcomes.sent) >= batch.flush_every:
                batch.flush()
    finally:
        batch.flush()
        await _quit(smtp)
    return sent, stop


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        smtp.close()


async def dispatch_due_async(
    engine: Engine,
    clock: Clock,
    settings: Settings,
    *,
    batch_size: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    flush_every: int = DEFAULT_FLUSH_EVERY,
    max_batches: int = 1000,
    target: SmtpTarget | None = None,
    rng: random.Random | None = None,
) -> int:
    """Send every due outbox row, batch by batch, until none is due or the server is unreachable.

    Database calls are synchronous (they are short); run it in a loop of its own or via
    ``dispatch_due``.

    Args:
        engine: the database.
        clock: the injected clock: due times, leases and backoff all come from it.
        settings: SMTP (or catcher) and ``mail_max_attempts``.
        batch_size: rows claimed, and sent over one connection, at a time.
        lease: how long a claimed batch is held before another dispatcher may take it.
        flush_every: write outcomes back after this many sent messages.
        max_batches: stop after this many batches even if more are due.
        target: send here instead of what ``settings`` say.
        rng: jitter source (tests pass a seeded one).

    Returns:
        How many messages the server accepted.
    """
    batch = _Batch(
        engine,
        clock,
        target or SmtpTarget.from_settings(settings),
        settings.mail_max_attempts,
        max(flush_every, 1),
        rng,
        Outcomes(),
    )
    total = 0
    for _ in range(max_batches):
        items = claim(engine, clock.now(), batch_size, lease)
        if not items:
            break
        sent, stop = await _send_batch(batch, items)
        total += sent
        if stop or len(items) < batch_size:
            break
    return total


def dispatch_due(engine: Engine, clock: Clock, settings: Settings, **options: object) -> int:
    """``dispatch_due_async`` for synchronous callers (a scheduler job); not inside a running loop.

    Returns:
        How many messages the server accepted.
    """
    return asyncio.run(dispatch_due_async(engine, clock, settings, **options))  # type: ignore[arg-type]


def run_dispatcher(
    engine: Engine,
    clock: Clock,
    settings: Settings,
    *,
    interval: float | None = None,
    until_idle: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    **options: object,
) -> int:
    """Dispatch in a loop, sleeping ``interval`` seconds between rounds (a standalone worker).

    Args:
        engine: the database.
        clock: the injected clock.
        settings: as for ``dispatch_due``; ``dispatch_interval_seconds`` is the default interval.
        interval: seconds between rounds.
        until_idle: return once no row is pending any more (tests, one-off drains).
        should_stop: checked between rounds.
        **options: passed to ``dispatch_due_async``.

    Returns:
        How many messages the server accepted in all.
    """
    pause = settings.dispatch_interval_seconds if interval is None else interval

    async def loop() -> int:
        total = 0
        while not should_stop():
            total += await dispatch_due_async(engine, clock, settings, **options)  # type: ignore[arg-type]
            if until_idle and counts(engine)["pending"] == 0:
                break
            await asyncio.sleep(pause)
        return total

    return asyncio.run(loop())
