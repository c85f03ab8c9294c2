"""One side of a race: a separate process firing a trigger at cases another process also moves.

Run by tests/integration/test_concurrency.py through ``multiprocessing`` (spawn), so it
builds its own engine, registry and service exactly as a second carepath process would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carepath.config.bootstrap import App, load_registry
from carepath.config.settings import Settings
from carepath.engine.case import Actor
from carepath.engine.clock import FixedClock
from carepath.engine.errors import ConcurrencyConflict, TransitionRejected
from carepath.storage.db import make_engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BARRIER_TIMEOUT = 60.0

#: What happened to one attempt.
WON, CONFLICT, REJECTED = "won", "conflict", "rejected"


def attempt(app: App, actor: Actor, ref: str, trigger: str, version: int) -> str:
    """Fire ``trigger`` on ``ref`` expecting ``version``; the outcome as a word."""
    try:
        app.cases.fire(ref, trigger, actor, expected_version=version)
    except ConcurrencyConflict:
        return CONFLICT
    except TransitionRejected:
        return REJECTED
    except Exception as exc:  # reported to the test, which fails on anything else
        return f"error {type(exc).__name__}: {exc}"
    return WON


def race(url: str, refs: list[str], trigger: str, email: str, lockstep: int, barrier: Any, results: Any) -> None:
    """As the user ``email``, read each case's version, then fire ``trigger`` with it as ``expected_version``.

    For the first ``lockstep`` cases both processes meet at ``barrier`` between the read
    and the write, so both hold the same version when they fire; after that they run
    freely and the loser may read the winner's version (and then be rejected).
    Puts ``(trigger, {ref: outcome})`` on ``results``.
    """
    app = App(
        settings=Settings(database_url=url),
        clock=FixedClock(NOW),
        engine=make_engine(url),
        workflows=load_registry(FIXTURES),
    )
    outcomes: dict[str, str] = {}
    try:
        actor = app.directory.actor(email)  # as an entrypoint resolves its signed-in user
        barrier.wait(BARRIER_TIMEOUT)
        for i, ref in enumerate(refs):
            version = app.reads.case(ref, actor).version
            if i < lockstep:
                barrier.wait(BARRIER_TIMEOUT)
            outcomes[ref] = attempt(app, actor, ref, trigger, version)
    finally:
        results.put((trigger, outcomes))
        app.dispose()
