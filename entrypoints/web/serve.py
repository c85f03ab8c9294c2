"""Serving the web app with uvicorn on a socket bound before anything starts.

Bound first, a taken port is one clear error before anything runs, and the first request waits in
the listen backlog rather than racing the server's start-up. The socket is created as TCP
(``IPPROTO_TCP``, not 0): asyncio sets TCP_NODELAY only on sockets whose protocol says TCP, and
without it every response waits about 40 ms on Nagle's algorithm (found by bench/web.py).
``carepath run`` and ``carepath web``, the browser tests, bench/web.py and the screenshot script use it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (0: any free port) and listening; ``OSError`` if it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_server(app: Any, *, log_level: str = "warning") -> Any:
    """A uvicorn server for ``app`` (not started; run it with ``sockets=[listening_socket(...)]``)."""
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off"))


@contextmanager
def served(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` in a daemon thread on a free port of ``host``; yields its base URL, stops it after."""
    sock = listening_socket(host, 0)
    server = uvicorn_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="carepath-web", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
