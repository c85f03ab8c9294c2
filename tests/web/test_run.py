"""``carepath run`` and ``carepath web`` serve the web app: a real process, a real port, a real request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

CAREPATH = Path(sys.executable).parent / "carepath"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _line_with(proc: subprocess.Popen[str], text: str, seconds: float = 60) -> str:
    """Read the process's output until a line holds ``text``; a watchdog kills it after ``seconds``
    (a deadline, not a sleep; select() would miss lines already read into the pipe's buffer)."""
    assert proc.stdout is not None
    watchdog = threading.Timer(seconds, proc.kill)
    watchdog.start()
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if text in line:
                return line
    finally:
        watchdog.cancel()
    raise AssertionError(f"no line with {text!r} in {seen!r}")


@pytest.mark.parametrize("command", ["run", "web"])
def test_the_command_serves_the_sign_in_page(sqlite_url: str, command: str) -> None:
    web, catcher = _free_port(), _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME")},
        "CAREPATH_DATABASE_URL": sqlite_url,
        "CAREPATH_WEB__PORT": str(web),
        "CAREPATH_CATCHER__PORT": str(catcher),
        "CAREPATH_WEB__COUNCIL_NAME": "Borsetshire County Council",
    }
    proc = subprocess.Popen(
        [str(CAREPATH), command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        line = _line_with(proc, f"http://127.0.0.1:{web}/")
        assert "sign in" in line or "Ctrl-C" in line
        page = _get_when_up(f"http://127.0.0.1:{web}/sign-in")
        assert page.status_code == 200
        assert "Borsetshire County Council" in page.text
        assert httpx.get(f"http://127.0.0.1:{web}/my-work").status_code == 303
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _get_when_up(url: str) -> httpx.Response:
    """The socket is bound before the line is printed, so the first request waits in its backlog."""
    return httpx.get(url, timeout=30)
