"""The dispatcher's synchronous entry runs its coroutine whether or not the calling thread has a running loop."""

from __future__ import annotations

import asyncio

from carepath.notifications.dispatch import run_sync


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_without_a_running_loop() -> None:
    assert run_sync(_answer) == 42


def test_inside_a_running_loop() -> None:
    async def caller() -> int:
        return run_sync(_answer)  # asyncio.run() alone refuses here

    assert asyncio.run(caller()) == 42
