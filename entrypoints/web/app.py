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
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

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


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "public, max-age=3600")
        else:
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response


def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(HERE / "templates"))
    env = t.env
    env.autoescape = True
    env.filters["long_date"] = present.long_date
    env.filters["short_date"] = present.short_date
    env.filters["local_time"] = present.local_time
    env.filters["humanise"] = present.humanise
    env.filters["plain"] = present.plain
    return t


def create_app(app: App) -> FastAPI:
    """The web app and API over ``app``'s services."""
    from carepath.entrypoints.web import pages, panels, reports
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
