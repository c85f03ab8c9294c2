"""The dispatcher's synchronous entry runs its coroutine whether or not the calling thread has a running loop."""

from __future__ import annotations

import asyncio
import threading

from carepath.notifications.dispatch import run_sync


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_without_a_running_loop() -> None:
    assert run_sync(_answer) == 42


def test_inside_a_running_loop() -> None:
    async def caller() -> int:
        return run_sync(_answer)  # asyncio.run() alone refuses here

    # In a thread of its own: the test's thread may hold a running loop already (the browser tests' one).
    got: list[int] = []
    thread = threading.Thread(target=lambda: got.append(asyncio.run(caller())))
    thread.start()
    thread.join()
    assert got == [42]
