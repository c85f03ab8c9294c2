"""An ASGI app under uvicorn in a thread, on a socket bound before the thread starts.

The same pattern as tests/browser/conftest.py's ``serve_asgi`` (benches do not import tests): the
first request waits in the listen backlog rather than racing the server's start-up. One difference:
the socket says it is TCP, so each connection gets TCP_NODELAY as under ``carepath run``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn in a daemon thread on a free loopback port; yields its base URL."""
    import uvicorn

    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
    # every response waits ~40 ms for the client's delayed ACK (uvicorn binding host:port itself sets it).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="bench-uvicorn", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()
