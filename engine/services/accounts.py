"""Signing in: passwords, web sessions, personal API tokens, and the read audit (who viewed which case).

The rules:

- **Passwords** are hashed by a ``PasswordHasher`` (argon2id, ``config.passwords``); only the hash
  is stored. A password is 12 to 128 characters, not the email address, not one character
  repeated. A user sets their own; an administrator sets anyone's (``user.set_password``). Setting
  one ends the user's other sessions.
- **Sign-in** refuses with one message that never says whether the email exists
  (``SignInRefused``): an unknown email, a user without a password, a deactivated user and a wrong
  password read the same, and an unknown email still costs a hash verification. After
  ``LOCK_AFTER`` consecutive failures an account is locked for ``LOCK_FOR`` (an unknown email
  appears locked the same way, counted by its sha256); a correct password resets the count. One
  client address may fail ``CLIENT_LIMIT`` times per ``LOCK_FOR``, whatever the emails.
- **Sessions** are a random token (the cookie) whose sha256 is stored; each sign-in makes a new
  one. A session ends at sign-out, after ``IDLE`` without a request, or ``ABSOLUTE`` after it began.
- **API tokens** (``cp_...``) are personal: issued to oneself, listed and revoked by their owner
  (an administrator may revoke anyone's); stored as sha256.
- **The read audit**: ``record_view`` appends who read what of a case; administrators list it
  (``case.viewers``).

Every sign-in, failure, lockout, sign-out, password change and token issue or revocation is an
``Audited`` event (the audit trail), never holding a password or a token.

The hashing (deliberately slow) runs outside any transaction, so a sign-in never holds SQLite's
write lock while it hashes; the outcome is written in a short transaction afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn, Protocol

from carepath.engine.case import Actor
from carepath.engine.clock import LONDON, Clock
from carepath.engine.errors import CarepathError, CaseNotFound, InvalidInput, NotFound, NotPermitted
from carepath.engine.events import Audited
from carepath.engine.policy import authorize
from carepath.engine.ports import NewUser, Transaction, UnitOfWork
from carepath.engine.reads import DEFAULT_LIMIT, Page, clamp_limit
from carepath.engine.roles import SYSTEM_EMAIL
from carepath.engine.services.cases import Who, resolve_actor
from carepath.engine.text import choice, cursor, email_address, lookup_reference, one_line, record_id

#: Password length bounds (NCSC and NIST SP 800-63B: length over composition rules).
PASSWORD_MIN, PASSWORD_MAX = 12, 128
#: The longest API token name, client description and "what was viewed" (the columns' widths).
TOKEN_NAME_MAX, CLIENT_MAX, WHAT_MAX = 80, 64, 40
#: Prefix of every personal API token, so a leaked one is recognisable (secret scanners).
TOKEN_PREFIX = "cp_"
#: How a case was viewed.
VIAS = ("web", "api")
#: The one message for a wrong email or password (never says which).
WRONG = "Enter a correct email address and password"
#: A session's or token's last use is written at most this often, so most reads write nothing.
TOUCH_EVERY = timedelta(minutes=1)


class SignInRefused(CarepathError):
    """A sign-in was refused; the message is shown to the person as it is (it never says whether the email exists)."""


class PasswordHasher(Protocol):
    """Slow password hashing (argon2id in ``config.passwords``)."""

    def hash(self, password: str) -> str:
        """The encoded hash of ``password``, salt and parameters included."""
        ...

    def verify(self, hashed: str, password: str) -> bool:
        """Whether ``password`` matches ``hashed`` (false, never an error, for a mismatch or a bad hash)."""
        ...

    def needs_rehash(self, hashed: str) -> bool:
        """Whether ``hashed`` was made with other parameters than the current ones."""
        ...


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser, as the web app sees it."""

    actor: Actor
    csrf_token: str
    name: str
    started_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: ``token`` is the raw value for the cookie (only its sha256 is stored)."""

    token: str
    session: WebSession


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One of a user's API tokens (never its value)."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CaseViewListing:
    """Who viewed a case, when, what of it and how."""

    viewed_at: datetime
    email: str
    name: str
    what: str
    via: str


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a sign-in needs of a user."""

    user_id: int
    email: str
    name: str
    active: bool
    password_hash: str | None
    failed_sign_ins: int
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A session row with its user (``actor`` is ``None`` when the user is deactivated)."""

    id: int
    actor: Actor | None
    name: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredToken:
    """An API token row with its owner (``actor`` is ``None`` when the user is deactivated)."""

    id: int
    user_id: int
    email: str
    actor: Actor | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class AccountStore(Protocol):
    """Accounts written in the unit of work's transaction (``storage.accounts``)."""

    def credentials(self, email: str) -> Credentials | None:
        """The user with ``email`` (normalised), active or not; ``None`` if there is none."""
        ...

    def failures(self, *, client: str | None = None, email_key: str | None = None, since: datetime) -> list[datetime]:
        """When sign-ins failed after ``since``, oldest first: from ``client`` (failed or refused as
        locked), or for ``email_key`` (failed only)."""
        ...

    def add_attempt(self, client: str, email_key: str, outcome: str) -> None:
        """Record one sign-in attempt: ok, failed, locked or limited (the limits' window is all they need kept)."""
        ...

    def count_failure(self, user_id: int) -> int:
        """Add one to the user's consecutive failed sign-ins; the new count."""
        ...

    def lock(self, user_id: int, until: datetime) -> None:
        """Lock the user until ``until`` and start their count afresh."""
        ...

    def signed_in(self, user_id: int, new_hash: str | None) -> None:
        """Clear the user's count and lock (and store ``new_hash``, a rehash, if given)."""
        ...

    def set_password(self, user_id: int, password_hash: str) -> None:
        """Store a new password hash (clearing the count and the lock)."""
        ...

    def make_admin(self, user_id: int) -> None:
        """Give the user the admin role (keeping theirs) and make them active."""
        ...

    def signing_in_admins(self) -> int:
        """How many active administrators have a password."""
        ...

    def add_session(self, user_id: int, token_hash: str, csrf_token: str, client: str) -> None:
        """Start a session."""
        ...

    def touch_session(self, token_hash: str) -> None:
        """Record a request on the session now."""
        ...

    def end_session(self, token_hash: str) -> tuple[int, str] | None:
        """End the session if it is open; its user's id and email, or ``None`` if there was no open one."""
        ...

    def end_sessions(self, user_id: int, keep_hash: str | None) -> int:
        """End the user's open sessions but ``keep_hash``'s; how many."""
        ...

    def add_token(self, user_id: int, name: str, token_hash: str) -> int:
        """Store a new API token; its id."""
        ...

    def token(self, token_id: int) -> StoredToken | None:
        """The token with ``token_id``, or ``None``."""
        ...

    def revoke_token(self, token_id: int) -> None:
        """Revoke the token now."""
        ...

    def touch_token(self, token_hash: str) -> None:
        """Record a use of the token now."""
        ...

    def add_view(self, case_ref: str, user_id: int, what: str, via: str) -> bool:
        """Append a case view; false if there is no case ``case_ref``."""
        ...


class AccountReads(Protocol):
    """Accounts as read on the read engine (a session check on every request writes nothing, mostly)."""

    def actor(self, email: str) -> Actor:
        """The active user ``email``; ``NotFound`` or ``InvalidInput`` (deactivated)."""
        ...

    def session(self, token_hash: str) -> StoredSession | None:
        """The session with ``token_hash``, ended or not; ``None`` if there is none."""
        ...

    def token(self, token_hash: str) -> StoredToken | None:
        """The API token with ``token_hash``; ``None`` if there is none."""
        ...

    def tokens(self, user_id: int) -> list[TokenInfo]:
        """The user's tokens, newest first."""
        ...

    def viewers(self, case_ref: str, *, limit: int, after: str | None) -> Page[CaseViewListing]:
        """Who viewed the case, newest first; ``CaseNotFound`` if there is no such case."""
        ...


def digest(secret: str) -> str:
    """The sha256 (hex) a session or API token is stored and found by."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def check_password(password: str, email: str) -> str:
    """``password`` if the policy accepts it for ``email``; ``InvalidInput`` saying what is wrong otherwise."""
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"the password must be at least {PASSWORD_MIN} characters long")
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"the password must be at most {PASSWORD_MAX} characters long")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("the password is not valid UTF-8 text") from None
    if hmac.compare_digest(password.strip().lower().encode(), email.strip().lower().encode()):
        raise InvalidInput("the password must not be the email address")
    if len(set(password)) == 1:
        raise InvalidInput("the password must not be one character repeated")
    return password


def _client(client: str) -> str:
    """The client's description (an address) as stored: printable, at most ``CLIENT_MAX`` characters."""
    text = "".join(c for c in client.strip() if c.isprintable())[:CLIENT_MAX]
    return text or "unknown"


def _at(moment: datetime) -> str:
    """A time as a person in England reads it: ``09:45``."""
    return moment.astimezone(LONDON).strftime("%H:%M")


def _too_many(until: datetime) -> SignInRefused:
    return SignInRefused(f"Too many attempts: try again after {_at(until)}")


class AccountService:
    """Signing in and out, passwords, API tokens and the read audit. Built once by ``config.bootstrap``.

    Args:
        uow: the unit of work (writes).
        clock: the injected clock.
        hasher: the password hasher.
        store: the account statements on one of ``uow``'s transactions.
        reads: the account reads (on the read engine).
    """

    IDLE = timedelta(minutes=30)
    ABSOLUTE = timedelta(hours=10)
    LOCK_AFTER = 5
    LOCK_FOR = timedelta(minutes=15)
    #: Failed sign-ins one client address may make per ``LOCK_FOR``.
    CLIENT_LIMIT = 10

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        hasher: PasswordHasher,
        *,
        store: Callable[[Transaction], AccountStore],
        reads: AccountReads,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.hasher = hasher
        self.store = store
        self.reads = reads
        self._dummy: str | None = None

    # -- signing in and out ------------------------------------------------------------------

    def sign_in(self, email: str, password: str, *, client: str) -> SignedIn:
        """Check the email and password and start a new session; ``SignInRefused`` otherwise."""
        client = _client(client)
        address = email.strip().lower()
        key = digest(address)
        with self.uow.transaction() as tx:
            s = self.store(tx)
            creds = s.credentials(address) if len(address) <= 320 else None
            refusal = self._refusal(s, client, key, creds, self.clock.now())
            if refusal is not None:
                outcome, message = refusal
                s.add_attempt(client, key, outcome)
                subject = creds.email if creds else "(unknown email)"
                tx.record(Audited(None, f"sign_in.{outcome}", subject, {"client": client}))
        if refusal is not None:
            raise SignInRefused(message)
        user = creds if creds is not None and creds.active and creds.password_hash is not None else None
        hashed = user.password_hash if user is not None and user.password_hash else self._dummy_hash()
        if not self.hasher.verify(hashed, password) or user is None:
            self._failed(client, key, user, creds)
        rehash = self.hasher.hash(password) if self.hasher.needs_rehash(hashed) else None
        return self._signed_in(user, client, key, rehash)

    def session(self, token: str) -> WebSession | None:
        """The session of ``token``: ``None`` if unknown, ended, idle over ``IDLE`` or older than ``ABSOLUTE``.

        A live session's last request is written at most once a minute.
        """
        if not token or len(token) > 200:
            return None
        found = self.reads.session(digest(token))
        now = self.clock.now()
        if found is None or found.actor is None or found.ended_at is not None:
            return None
        if now - found.last_seen_at > self.IDLE or now - found.created_at > self.ABSOLUTE:
            return None
        seen = found.last_seen_at
        if now - seen >= TOUCH_EVERY:
            with self.uow.transaction() as tx:
                self.store(tx).touch_session(digest(token))
                seen = self.clock.now()
        return WebSession(found.actor, found.csrf_token, found.name, found.created_at, seen)

    def sign_out(self, token: str) -> None:
        """End the session of ``token`` (nothing happens for an unknown or ended one)."""
        if not token or len(token) > 200:
            return
        with self.uow.transaction() as tx:
            ended = self.store(tx).end_session(digest(token))
            if ended is not None:
                tx.record(Audited(ended[0], "sign_out", ended[1], {}))

    # -- passwords ---------------------------------------------------------------------------

    def set_password(self, email: str, password: str, actor: Who | None, *, keep: str | None = None) -> None:
        """Set ``email``'s password: the user themself, or an administrator.

        Ends the user's sessions, except ``keep`` (the session token of the browser that changes it).
        """
        email = email_address(email)
        check_password(password, email)
        by = self._reader(actor, "user.set_password")
        if by.is_system or by.email != email:
            authorize(by, "user.set_password")
        if email == SYSTEM_EMAIL:
            raise InvalidInput("carepath's own user never signs in")
        hashed = self.hasher.hash(password)  # slow: outside the transaction, once the actor may
        with self.uow.transaction() as tx:
            s = self.store(tx)
            uid = tx.user_id(email)
            s.set_password(uid, hashed)
            ended = s.end_sessions(uid, digest(keep) if keep else None)
            tx.record(Audited(by.id, "user.set_password", email, {"sessions_ended": ended}))

    def set_passwords(self, emails: Sequence[str], password: str, actor: Who | None) -> None:
        """Give several users the same password, hashed once (the demo's people); administrators only."""
        addresses = sorted({email_address(e) for e in emails})
        for address in addresses:
            check_password(password, address)
        by = self._reader(actor, "user.set_password")
        authorize(by, "user.set_password")
        hashed = self.hasher.hash(password)
        with self.uow.transaction() as tx:
            s = self.store(tx)
            for address in addresses:
                uid = tx.user_id(address)
                s.set_password(uid, hashed)
                ended = s.end_sessions(uid, None)
                tx.record(Audited(by.id, "user.set_password", address, {"sessions_ended": ended}))

    def first_admin(self, email: str, name: str, password: str) -> None:
        """Create (or promote) an administrator with a password, when no active one with a password exists.

        How an installation gets its first sign-in, and how one recovers when every administrator
        has lost theirs (run on the server, where the database is reachable). Refused otherwise.
        """
        email = email_address(email)
        if email == SYSTEM_EMAIL:
            raise InvalidInput("carepath's own user never signs in")
        name = one_line(name, "the display name", 200)
        check_password(password, email)
        hashed = self.hasher.hash(password)
        with self.uow.transaction() as tx:
            s = self.store(tx)
            if s.signing_in_admins():
                raise NotPermitted(
                    "(nobody)", "user.first_admin", "an administrator who can sign in exists: ask them to add you"
                )
            creds = s.credentials(email)
            if creds is None:
                uid = tx.add_user(NewUser(email, name, ("admin",)))
            else:
                uid = creds.user_id
                s.make_admin(uid)
            s.set_password(uid, hashed)
            s.end_sessions(uid, None)
            tx.record(Audited(None, "user.first_admin", email, {"created": creds is None}))

    # -- API tokens --------------------------------------------------------------------------

    def issue_token(self, actor: Who | None, name: str) -> tuple[int, str]:
        """A new personal API token for the actor: its id and raw value (shown once, never stored)."""
        name = one_line(name, "the token's name", TOKEN_NAME_MAX)
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.uow.transaction() as tx:
            by = resolve_actor(tx, actor, "token.issue")
            authorize(by, "token.issue")
            token_id = self.store(tx).add_token(by.id, name, digest(raw))
            tx.record(Audited(by.id, "token.issue", by.email, {"token_id": token_id, "name": name}))
        return token_id, raw

    def revoke_token(self, token_id: int, actor: Who | None) -> None:
        """Revoke one of the actor's tokens (an administrator: anyone's)."""
        record_id(token_id, "the token id")
        with self.uow.transaction() as tx:
            by = resolve_actor(tx, actor, "token.revoke")
            authorize(by, "token.revoke")
            s = self.store(tx)
            token = s.token(token_id)
            if token is None:
                raise NotFound("API token", token_id)
            if token.user_id != by.id and "admin" not in by.roles:
                raise NotPermitted(by.email, "token.revoke", "the token is not theirs")
            if token.revoked_at is not None:
                raise InvalidInput(f"API token {token_id} is revoked already")
            s.revoke_token(token_id)
            tx.record(Audited(by.id, "token.revoke", token.email, {"token_id": token_id}))

    def tokens(self, actor: Who | None) -> list[TokenInfo]:
        """The actor's own tokens, newest first (never their values)."""
        by = self._reader(actor, "token.issue")
        authorize(by, "token.issue")
        return self.reads.tokens(by.id)

    def token_actor(self, token: str) -> Actor | None:
        """Who ``token`` acts for: ``None`` if it is unknown, revoked or its user deactivated."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        found = self.reads.token(digest(token))
        if found is None or found.revoked_at is not None or found.actor is None:
            return None
        now = self.clock.now()
        if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
            with self.uow.transaction() as tx:
                self.store(tx).touch_token(digest(token))
        return found.actor

    # -- the read audit ----------------------------------------------------------------------

    def record_view(self, actor: Actor, ref: str, what: str, via: str) -> None:
        """Append that ``actor`` viewed ``what`` of case ``ref`` (in its own short transaction)."""
        via = choice(via, VIAS, "view channel")
        what = one_line(what, "what was viewed", WHAT_MAX)
        found = lookup_reference(ref)
        if found is None:
            raise CaseNotFound(ref)
        with self.uow.transaction() as tx:
            if not self.store(tx).add_view(found, actor.id, what, via):
                raise CaseNotFound(ref)

    def viewers(
        self, ref: str, actor: Who | None, *, limit: int = DEFAULT_LIMIT, after: str | None = None
    ) -> Page[CaseViewListing]:
        """Who viewed case ``ref``, newest first; administrators only (``case.viewers``)."""
        by = self._reader(actor, "case.viewers")
        authorize(by, "case.viewers")
        found = lookup_reference(ref)
        if found is None:
            raise CaseNotFound(ref)
        return self.reads.viewers(found, limit=clamp_limit(limit), after=cursor(after))

    # -- internals ---------------------------------------------------------------------------

    def _dummy_hash(self) -> str:
        """A hash to verify against when there is no user, so the answer takes as long either way."""
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def _reader(self, actor: Who | None, command: str) -> Actor:
        if isinstance(actor, Actor):
            return actor
        if actor is None or not actor.strip():
            raise NotPermitted("(nobody)", command, "name the user who acts")
        return self.reads.actor(email_address(actor, "the acting user's email"))

    def _refusal(
        self, s: AccountStore, client: str, key: str, creds: Credentials | None, now: datetime
    ) -> tuple[str, str] | None:
        """Why a sign-in is refused before its password is checked: (outcome, message), or ``None``."""
        since = now - self.LOCK_FOR
        from_client = s.failures(client=client, since=since)
        if len(from_client) >= self.CLIENT_LIMIT:
            until = from_client[len(from_client) - self.CLIENT_LIMIT] + self.LOCK_FOR
            return "limited", str(_too_many(until))
        if creds is not None and creds.active and creds.password_hash is not None:
            if creds.locked_until is not None and creds.locked_until > now:
                return "locked", str(_too_many(creds.locked_until))
            return None
        # An unknown email (or a user who cannot sign in) looks locked just as a real one would.
        for_email = s.failures(email_key=key, since=since)
        if len(for_email) >= self.LOCK_AFTER:
            return "locked", str(_too_many(for_email[-1] + self.LOCK_FOR))
        return None

    def _failed(self, client: str, key: str, user: Credentials | None, creds: Credentials | None) -> NoReturn:
        """Record a wrong password (counting towards the lock) and raise ``SignInRefused``."""
        with self.uow.transaction() as tx:
            s = self.store(tx)
            now = self.clock.now()
            if user is not None:
                failures = s.count_failure(user.user_id)
            else:
                failures = len(s.failures(email_key=key, since=now - self.LOCK_FOR)) + 1
            s.add_attempt(client, key, "failed")
            subject = creds.email if creds else "(unknown email)"
            locked = failures >= self.LOCK_AFTER
            if locked and user is not None:
                s.lock(user.user_id, now + self.LOCK_FOR)
            action = "sign_in.lockout" if locked else "sign_in.failed"
            tx.record(Audited(None, action, subject, {"client": client, "failures": failures}))
        raise _too_many(now + self.LOCK_FOR) if locked else SignInRefused(WRONG)

    def _signed_in(self, creds: Credentials, client: str, key: str, rehash: str | None) -> SignedIn:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.uow.transaction() as tx:
            s = self.store(tx)
            now = self.clock.now()
            current = s.credentials(creds.email)  # deactivated or locked since the check: refused after all
            if current is None or not current.active or (current.locked_until or now) > now:
                raise SignInRefused(WRONG)
            actor = tx.actor(creds.email)
            s.signed_in(creds.user_id, rehash)
            s.add_session(creds.user_id, digest(token), csrf, client)
            s.add_attempt(client, key, "ok")
            tx.record(Audited(creds.user_id, "sign_in", creds.email, {"client": client}))
        return SignedIn(token, WebSession(actor, csrf, creds.name, now, now))


__all__ = [
    "AccountReads",
    "AccountService",
    "AccountStore",
    "CaseViewListing",
    "Credentials",
    "PasswordHasher",
    "SignInRefused",
    "SignedIn",
    "StoredSession",
    "StoredToken",
    "TokenInfo",
    "WebSession",
    "check_password",
    "digest",
]
