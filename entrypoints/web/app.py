"""``create_app``: the FastAPI application on a wired ``App``.

Security is set here, once, for every response: a strict Content-Security-Policy (no inline script
or style anywhere), no framing, no sniffing, same-origin referrers, and ``no-store`` on everything
but the static assets (case pages and API answers hold special-category data). Errors map to pages
(or JSON under ``/api``): a refusal is 403, an unknown case 404, a stale form 409, bad input 400 or
the form again with its errors; anything else is a 500 page with a reference number, never a
traceback.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carepath.engine.errors import CarepathError, CaseNotFound, InvalidInput, NotFound, NotPermitted
from carepath.entrypoints.web import present
from carepath.entrypoints.web.session import Cookies, CsrfRefused, SignInNeeded, TokenRefused

if TYPE_CHECKING:
    from carepath.config.bootstrap import App

HERE = Path(__file__).parent
log = logging.getLogger("carepath.web")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


#: The same headers as raw ASGI pairs (lower-case names, as Starlette's responses carry them).
_RAW_SECURITY_HEADERS = tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items())
_CACHE_CONTROL, _PRAGMA = b"cache-control", b"pragma"
_STATIC_CACHE = (_CACHE_CONTROL, b"public, max-age=3600")
_NO_STORE = ((_CACHE_CONTROL, b"no-store"), (_PRAGMA, b"no-cache"))


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response (those it already has are kept), and caching:
    ``public, max-age=3600`` on ``/static/`` (unless set), ``no-store`` and ``Pragma: no-cache`` on
    everything else (replacing any the response set).

    A plain ASGI middleware, editing the ``http.response.start`` message as it passes: Starlette's
    ``BaseHTTPMiddleware`` would run each request in a task of its own behind a memory stream.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope["path"]).startswith("/static/")

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _secured(message.get("headers", ()), static)}
            await send(message)

        await self.app(scope, receive, send_secured)


def _secured(headers: Iterable[tuple[bytes, bytes]], static: bool) -> list[tuple[bytes, bytes]]:
    """``headers`` with the security headers they lack, and the caching rule of a static file or a page."""
    if static:
        out = list(headers)
        have = {k.lower() for k, _ in out}
        out.extend(h for h in _RAW_SECURITY_HEADERS if h[0] not in have)
        if _CACHE_CONTROL not in have:
            out.append(_STATIC_CACHE)
        return out
    out = [(k, v) for k, v in headers if k.lower() not in (_CACHE_CONTROL, _PRAGMA)]
    have = {k.lower() for k, _ in out}
    out.extend(h for h in _RAW_SECURITY_HEADERS if h[0] not in have)
    out.extend(_NO_STORE)
    return out


def templates() -> Jinja2Templates:
    """The pages' templates: packaged files, loaded and compiled once per process (no reload check)."""
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True, auto_reload=False)
    env.filters["long_date"] = present.long_date
    env.filters["short_date"] = present.short_date
    env.filters["local_time"] = present.local_time
    env.filters["humanise"] = present.humanise
    env.filters["plain"] = present.plain
    return Jinja2Templates(env=env)


def create_app(app: App) -> FastAPI:
    """The web app and API over ``app``'s services."""
    from carepath.entrypoints.web import pages, panels, people, reports
    from carepath.entrypoints.web.api import create_api

    web = FastAPI(
        title="carepath",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the API's own schema is at /api/v1/openapi.json
    )
    settings = app.settings.web
    secret = settings.secret_key.get_secret_value() if settings.secret_key else secrets.token_urlsafe(48)
    web.state.carepath = app
    web.state.cookies = Cookies.for_app(secret, app.settings.base_url)
    web.state.templates = templates()
    web.add_middleware(SecurityHeaders)
    web.mount("/static", StaticFiles(directory=str(HERE / "static"), check_dir=False), name="static")
    web.include_router(pages.router)
    web.include_router(panels.router)
    web.include_router(reports.router)
    web.include_router(people.router)
    web.mount("/api/v1", create_api(app))

    @web.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        where = "/sign-in?next=" + quote(exc.next_path, safe="/")
        if exc.expired:
            where += "&expired=1"
        return RedirectResponse(where, status_code=303)

    @web.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return pages.error_page(request, 403, "This form has expired", "Go back, reload the page and try again.")

    @web.exception_handler(TokenRefused)
    async def _token(request: Request, exc: TokenRefused) -> Response:
        return JSONResponse({"error": "a valid API token is needed (Authorization: Bearer cp_...)"}, status_code=401)

    @web.exception_handler(NotPermitted)
    async def _refused(request: Request, exc: NotPermitted) -> Response:
        return pages.error_page(request, 403, "You cannot do this", exc.detail[:1].upper() + exc.detail[1:] + ".")

    @web.exception_handler(CaseNotFound)
    @web.exception_handler(NotFound)
    async def _missing(request: Request, exc: CarepathError) -> Response:
        return pages.error_page(request, 404, "Page not found", str(exc)[:1].upper() + str(exc)[1:] + ".")

    @web.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput) -> Response:
        return pages.error_page(request, 400, "There is a problem", str(exc))

    @web.exception_handler(CarepathError)
    async def _other(request: Request, exc: CarepathError) -> Response:
        return pages.error_page(request, 400, "There is a problem", str(exc))

    @web.exception_handler(RequestValidationError)
    async def _unparsed(request: Request, exc: RequestValidationError) -> Response:
        bits = []
        for e in exc.errors()[:3]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body"))
            bits.append(f"{where}: {e.get('msg', 'invalid')}")
        return pages.error_page(request, 400, "There is a problem", "; ".join(bits))

    @web.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Page not found", 405: "This page cannot do that", 401: "Sign in"}
        return pages.error_page(request, exc.status_code, titles.get(exc.status_code, "There is a problem"), "")

    @web.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        reference = uuid.uuid4().hex[:8].upper()
        log.exception("error %s on %s %s", reference, request.method, request.url.path)
        return pages.error_page(
            request,
            500,
            "Sorry, there is a problem with the service",
            f"Try again later. If it keeps happening, tell your administrator the reference {reference}.",
        )

    return web
