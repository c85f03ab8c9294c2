"""The ticker: APScheduler 3.11 interval jobs, each a few lines, never a job per deadline.

Kept behind ``Ticker`` so a later move to APScheduler 4 (shared data stores) is cheap.
Every job runs once at start-up, so a restart after downtime raises what fell due
meanwhile; jobs coalesce and never overlap themselves.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("carepath.scheduler")


class Ticker:
    """Runs named callables at fixed intervals until stopped."""

    def __init__(self) -> None:
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._stopped = threading.Event()

    def every(self, seconds: float, name: str, fn: Callable[[], object]) -> None:
        """Run ``fn`` now and then every ``seconds``; errors are logged, the ticker goes on."""

        def job() -> None:
            try:
                result = fn()
                if result:
                    log.info("%s: %s", name, result)
            except Exception:
                log.exception("%s failed; will retry on the next tick", name)

        self._scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )

    def start(self) -> None:
        """Start ticking in background threads."""
        self._scheduler.start()

    def stop(self) -> None:
        """Stop ticking, letting a running job finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self._stopped.set()

    def run_until_signalled(self) -> None:
        """Start, then block until SIGINT or SIGTERM."""

        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("signal %s: stopping", signum)
            self._stopped.set()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        self.start()
        self._stopped.wait()
        self.stop()
