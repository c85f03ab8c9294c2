"""Who is asking: the signed session cookie, CSRF tokens and API tokens.

The cookie holds a random session token signed with itsdangerous; the account service keeps only
its hash and decides whether the session is still live (idle 30 minutes, absolute 10 hours, ended
at sign-out). Every state-changing form carries the session's CSRF token; the sign-in form, before
any session, a double-submit token from its own short cookie.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from carepath.engine.case import Actor

if TYPE_CHECKING:
    from carepath.config.bootstrap import App
    from carepath.engine.services.accounts import WebSession

SESSION_COOKIE = "carepath_session"
SIGN_IN_COOKIE = "carepath_sign_in"
#: The absolute lifetime of a session (UI.md: 10 hours); the account service enforces it too.
MAX_AGE_SECONDS = 10 * 60 * 60


class SignInNeeded(Exception):
    """No live session: the page redirects to sign in, then back to ``next``."""

    def __init__(self, next_path: str, expired: bool = False) -> None:
        self.next_path = next_path
        self.expired = expired


class CsrfRefused(Exception):
    """A form post without the session's CSRF token."""


class TokenRefused(Exception):
    """An API call without a valid personal API token."""


@dataclass(frozen=True, slots=True)
class Cookies:
    """Signs and reads the session cookie."""

    serializer: URLSafeTimedSerializer
    secure: bool

    @classmethod
    def for_app(cls, secret: str, base_url: str) -> Cookies:
        return cls(URLSafeTimedSerializer(secret, salt="carepath-session"), base_url.startswith("https://"))

    def dump(self, token: str) -> str:
        return self.serializer.dumps(token)

    def load(self, value: str) -> str | None:
        try:
            token = self.serializer.loads(value, max_age=MAX_AGE_SECONDS)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def options(self) -> dict[str, Any]:
        return {"httponly": True, "samesite": "lax", "secure": self.secure, "path": "/"}


_UNREAD = object()


def web_session(request: Request) -> WebSession | None:
    """The live session of this request, or None (looked up once per request)."""
    known = getattr(request.state, "carepath_session", _UNREAD)
    if known is not _UNREAD:
        return known  # type: ignore[return-value]
    app: App = request.app.state.carepath
    cookies: Cookies = request.app.state.cookies
    raw = request.cookies.get(SESSION_COOKIE)
    token = cookies.load(raw) if raw else None
    found = app.accounts.session(token) if token else None
    request.state.carepath_session = found
    request.state.carepath_had_cookie = raw is not None
    return found


def remember_session(request: Request, session: WebSession) -> None:
    """The session this request has just made (a sign-in answering with the page it interrupted)."""
    request.state.carepath_session = session


def signed_in(request: Request) -> WebSession:
    """The session, or a redirect to sign in (and back here afterwards)."""
    found = web_session(request)
    if found is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(path, expired=bool(getattr(request.state, "carepath_had_cookie", False)))
    return found


def page_actor(request: Request) -> Actor:
    return signed_in(request).actor


async def check_csrf(request: Request) -> None:
    """A form post must carry the session's CSRF token (compared in constant time)."""
    session = signed_in(request)
    form = await request.form()
    given = form.get("csrf_token")
    if not isinstance(given, str) or not hmac.compare_digest(given, session.csrf_token):
        raise CsrfRefused()


def api_actor(request: Request) -> Actor:
    """The holder of the request's ``Authorization: Bearer cp_...`` token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRefused()
    app: App = request.app.state.carepath
    found = app.accounts.token_actor(token.strip())
    if found is None:
        raise TokenRefused()
    return found


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(24)


def sign_in_token_ok(request: Request, given: object) -> bool:
    cookie = request.cookies.get(SIGN_IN_COOKIE)
    return isinstance(given, str) and bool(cookie) and hmac.compare_digest(given, cookie or "")
