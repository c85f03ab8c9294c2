"""The dispatcher: claim due outbox rows, render them, send them with aiosmtplib.

The rows are claimed and their outcomes written back by ``storage.outbox`` (the SQL lives there).

Delivery is at least once. Each batch of claimed rows goes over one SMTP connection;
outcomes are written back every ``flush_every`` messages and at the end of the batch, so a
crash re-sends at most the unflushed messages, each with the same ``Message-ID``.

- 250: sent.
- 4xx reply, a dropped connection or a timeout: retried after an exponential backoff with
  jitter (``next_attempt_at`` from the injected clock).
- 5xx reply, an unrenderable template, no recipient that is one plain address, a header that
  would break, or ``max_attempts`` attempts: dead, shown by ``carepath mail failed`` and
  requeued by ``carepath mail retry``. A recipient that is not one plain address is left out of a
  message that has others, with a warning in the log.

Each message is rendered when it is sent: the days left or overdue in a deadline email are
counted then, from the injected clock (``days.at_send``), and built with the standard library's
``email`` package (``mime``).

With no SMTP host configured, the bootstrap points the target at the built-in catcher.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, TypeVar

import aiosmtplib

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.clock import LONDON, Clock
from carepath.notifications import mime
from carepath.notifications.days import at_send
from carepath.notifications.render import render
from carepath.storage.outbox import Claimed, Engine, Outcomes, claim, counts, flush, flush_and_claim

T = TypeVar("T")

log = logging.getLogger(__name__)

#: How long a claimed batch stays leased to one dispatcher.
DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_BATCH = 100
DEFAULT_FLUSH_EVERY = 100
DEFAULT_MAX_ATTEMPTS = 8
_CONNECTION_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError, OSError)


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to send."""

    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: str | None = None  # a private CA's certificates, to verify the server's (default: the system's)

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
            cert_bundle=self.ca_file,
        )


def build_message(item: Claimed, sender: str, now: datetime, calendar: WorkingCalendar | None = None) -> bytes:
    """The email for one outbox row: text and HTML alternatives, stable Message-ID.

    Rendered now: a deadline's days left or overdue are counted from ``now`` (in London) with
    ``calendar`` (default: England's bank holidays, no local closures). Built with the standard
    library's ``email`` package (``notifications.mime``).

    Raises:
        mime.BadAddress: the sender or a recipient is not exactly one plain address.
        mime.UnsafeHeader: a header value would break the header block.
        jinja2.UndefinedError: the context lacks a field the template uses.
    """
    today = now.astimezone(LONDON).date()
    content = render(item.kind, at_send(item.context, today, calendar or _default_calendar()))
    return mime.build(
        sender=sender,
        recipients=item.recipients,
        subject=content.subject,
        text=content.text,
        html=content.html,
        message_id=item.message_id,
        kind=item.kind,
        now=now,
    )


@lru_cache(maxsize=1)
def _default_calendar() -> WorkingCalendar:
    return WorkingCalendar()


@dataclass
class _Batch:
    engine: Engine
    clock: Clock
    target: SmtpTarget
    max_attempts: int
    flush_every: int
    rng: random.Random | None
    outcomes: Outcomes
    calendar: WorkingCalendar | None = None

    def flush(self) -> None:
        flush(self.engine, self.outcomes, self.clock.now(), self.max_attempts, self.rng)


def _refused(batch: _Batch, item: Claimed, codes: list[int], error: str) -> None:
    if any(400 <= c < 500 for c in codes):
        batch.outcomes.retry.append((item, error))
    else:
        batch.outcomes.dead.append((item, error))


def _prepare(batch: _Batch, item: Claimed) -> tuple[Claimed, bytes] | None:
    """The message for ``item`` and the row as sent, or ``None`` (recorded dead) if it cannot be built.

    A recipient that is not exactly one plain address is left out, with a warning; a row left
    with no recipient, or with a header that would break (a subject or sender with a line
    break), is dead with the reason, shown by ``carepath mail failed``.
    """
    good, bad = mime.split_recipients(item.recipients)
    if bad:
        refused = "; ".join(f"{value}: {why}" for value, why in bad)
        if not good:
            batch.outcomes.dead.append((item, f"no valid recipient, nothing sent: {refused}"))
            return None
        log.warning("%s: recipients left out (not one plain address): %s", item.message_id, refused)
        item = dataclasses.replace(item, recipients=tuple(good))
    try:
        return item, build_message(item, batch.target.sender, batch.clock.now(), batch.calendar)
    except (mime.BadAddress, mime.UnsafeHeader) as exc:
        batch.outcomes.dead.append((item, f"cannot build {item.kind}: {exc}"))
    except Exception as exc:  # a template or context fault never fixes itself
        batch.outcomes.dead.append((item, f"cannot render {item.kind}: {type(exc).__name__}: {exc}"))
    return None


async def _send_one(batch: _Batch, smtp: aiosmtplib.SMTP, item: Claimed, payload: bytes) -> tuple[bool, bool]:
    """Send one message and record its outcome. Returns (sent, the connection is still usable)."""
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


async def _send_all(batch: _Batch, smtp: aiosmtplib.SMTP, items: list[Claimed]) -> tuple[int, bool]:
    """Send ``items`` in order over ``smtp``. Returns (sent, stop: the connection is gone)."""
    sent = 0
    for n, item in enumerate(items):
        prepared = _prepare(batch, item)
        if prepared is None:
            continue
        ok, alive = await _send_one(batch, smtp, *prepared)
        sent += ok
        if not alive:
            batch.outcomes.released.extend(i.id for i in items[n + 1 :])
            return sent, True
        if len(batch.outcomes.sent) >= batch.flush_every:
            batch.flush()
    return sent, False


async def _send_batch(batch: _Batch, items: list[Claimed]) -> tuple[int, bool]:
    """Send ``items`` over one connection. Returns (sent, stop: the server is unreachable).

    The last outcomes stay in ``batch.outcomes``; the caller writes them with the next claim.
    """
    smtp = batch.target.client()
    try:
        await smtp.connect()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        smtp.close()
        batch.outcomes.retry.extend((i, f"connect {batch.target.host}:{batch.target.port}: {exc}") for i in items)
        return 0, True
    try:
        return await _send_all(batch, smtp, items)
    except BaseException:
        batch.flush()
        raise
    finally:
        await _quit(smtp)


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        smtp.close()


async def dispatch_due_async(
    engine: Engine,
    clock: Clock,
    target: SmtpTarget,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    batch_size: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    flush_every: int = DEFAULT_FLUSH_EVERY,
    max_batches: int = 1000,
    rng: random.Random | None = None,
    calendar: WorkingCalendar | None = None,
) -> int:
    """Send every due outbox row, batch by batch, until none is due or the server is unreachable.

    Database calls are synchronous (they are short); run it in a loop of its own or via
    ``dispatch_due``.

    Args:
        engine: the database.
        clock: the injected clock: due times, leases and backoff all come from it.
        target: the SMTP server (or the built-in catcher) and how to reach it.
        max_attempts: a message still refused after this many attempts is dead.
        batch_size: rows claimed, and sent over one connection, at a time.
        lease: how long a claimed batch is held before another dispatcher may take it.
        flush_every: write outcomes back after this many sent messages.
        max_batches: stop after this many batches even if more are due.
        rng: jitter source (tests pass a seeded one).
        calendar: working days for the days left or overdue in deadline emails, counted when
            each is sent (the bootstrap passes the service's calendar, with its local closures;
            default: England's bank holidays only).

    Returns:
        How many messages the server accepted.
    """
    batch = _Batch(
        engine,
        clock,
        target,
        max_attempts,
        max(flush_every, 1),
        rng,
        Outcomes(),
        calendar,
    )
    total = 0
    items = claim(engine, clock.now(), batch_size, lease)
    for n in range(max_batches):
        if not items:
            break
        sent, stop = await _send_batch(batch, items)
        total += sent
        more = not stop and len(items) == batch_size and n + 1 < max_batches
        items = flush_and_claim(
            engine, batch.outcomes, clock.now(), batch.max_attempts, batch_size if more else 0, lease, rng
        )
    return total


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to its end for a synchronous caller.

    ``asyncio.run`` refuses to start inside a thread whose event loop is running (a caller inside
    an async framework, or Playwright's sync API in the same thread); there the coroutine runs on a
    fresh loop in a short-lived thread instead, and the caller waits for it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="carepath-mail") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def dispatch_due(engine: Engine, clock: Clock, target: SmtpTarget, **options: object) -> int:
    """``dispatch_due_async`` for synchronous callers (a scheduler job, the CLI).

    Returns:
        How many messages the server accepted.
    """
    return run_sync(lambda: dispatch_due_async(engine, clock, target, **options))  # type: ignore[arg-type]


def run_dispatcher(
    engine: Engine,
    clock: Clock,
    target: SmtpTarget,
    *,
    interval: float = 10.0,
    until_idle: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    **options: object,
) -> int:
    """Dispatch in a loop, sleeping ``interval`` seconds between rounds (a standalone worker).

    Args:
        engine: the database.
        clock: the injected clock.
        target: as for ``dispatch_due``.
        interval: seconds between rounds.
        until_idle: return once no row is pending any more (tests, one-off drains).
        should_stop: checked between rounds.
        **options: passed to ``dispatch_due_async``.

    Returns:
        How many messages the server accepted in all.
    """
    pause = interval

    async def loop() -> int:
        total = 0
        while not should_stop():
            total += await dispatch_due_async(engine, clock, target, **options)  # type: ignore[arg-type]
            if until_idle and counts(engine)["pending"] == 0:
                break
            await asyncio.sleep(pause)
        return total

    return run_sync(loop)
