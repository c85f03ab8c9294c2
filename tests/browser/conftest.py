"""Browser tests: Playwright (pytest-playwright) driving Debian's chromium, axe-core for WCAG 2.2 AA.

No `playwright install`: the browser is the system's `chromium` (`apt-get install -y chromium`).
Without it these tests skip with a message; with CI=true they fail instead (as PostgreSQL's do).

    from tests.browser.conftest import assert_accessible, serve_asgi, serve_folder

    def test_my_page(page):                    # pytest-playwright's page, on chromium
        with serve_asgi(create_app(app)) as url:   # or serve_folder(path) for static files
            page.goto(f"{url}/my-work")
            assert_accessible(page)            # 0 axe violations for wcag2a ... wcag22aa
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from carepath.config.bootstrap import App
    from carepath.engine.clock import FixedClock

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: UI.md: every page type has 0 violations with these tags (axe has no "wcag22a" tag).
AXE_OPTIONS: dict[str, Any] = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    # Axe().run(options=...) replaces its defaults, so this is repeated here.
    "resultTypes": ["violations"],
}
#: What the web app sends; a page served by serve_folder gets it too, so an inline script or
#: style in a template shows up as a blocked resource in the browser tests.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def require_chromium() -> str:
    """The system chromium's path; skip (or fail under CI=true) when it is not installed."""
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed (apt-get install -y chromium); browser tests need it"
        if IN_CI:
            pytest.fail(message + "; browser tests are mandatory when CI=true")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, pointed at Debian's chromium (not ~/.cache/ms-playwright)."""
    return {**browser_type_launch_args, "executable_path": require_chromium(), "args": CHROMIUM_ARGS}


def assert_accessible(page: Page) -> None:
    """Run axe-core on the page as it is now; fail listing each violation and where it is."""
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    results = Axe().run(page, options=AXE_OPTIONS)
    violations: list[dict[str, Any]] = results.response["violations"]
    lines = []
    for violation in violations:
        targets = ", ".join(" ".join(map(str, node["target"])) for node in violation["nodes"])
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    assert not violations, f"{len(violations)} axe violation(s) on {page.url}:\n" + "\n".join(lines)


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_folder(root: Path) -> Iterator[str]:
    """Serve a folder over HTTP on a free local port, with carepath's CSP; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="serve_folder", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Run an ASGI app (the FastAPI web app) with uvicorn in a thread on a free port; yields its URL
    (``carepath.entrypoints.web.serve.served``: the socket is bound before the thread starts)."""
    from carepath.entrypoints.web.serve import served

    with served(app) as url:
        yield url


# -- the app under uvicorn with the seeded staff, and signing in as them --------------------------------

#: The administrator the staff seed makes.
SITE_ADMIN = "admin@council.test"


@dataclass
class Site:
    """The web app served on a free port over a SQLite file with the real journeys and the seeded staff."""

    url: str
    app: App
    clock: FixedClock
    team_id: int


@pytest.fixture
def site(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    from carepath.config import passwords
    from carepath.engine.clock import FixedClock
    from carepath.entrypoints.web.app import create_app
    from tests.support import seed_staff
    from tests.web.conftest import NOW, PASSWORD, build_app

    monkeypatch.setattr(passwords, "PARAMETERS", passwords.CHEAP)
    clock = FixedClock(NOW)
    app = build_app(sqlite_url, clock)
    staff = seed_staff(app)
    app.accounts.set_passwords([SITE_ADMIN, *(a.email for a in staff.by_role.values())], PASSWORD, SITE_ADMIN)
    with serve_asgi(create_app(app)) as url:
        yield Site(url, app, clock, staff.team_id)
    app.dispose()


def signed_in(browser: Browser, site: Site, email: str) -> Page:
    """A new browser context signed in as ``email`` (the tests' password)."""
    from tests.web.conftest import PASSWORD

    page = browser.new_context().new_page()
    page.goto(f"{site.url}/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/sign-in" not in page.url, page.content()[-2000:]
    return page
