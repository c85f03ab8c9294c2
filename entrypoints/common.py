"""Shared CLI plumbing: the app object per invocation, errors to exit code 2, parsing."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from carepath.engine.case import Actor
from carepath.engine.clock import Clock, FixedClock, SystemClock
from carepath.engine.errors import CarepathError, InvalidInput, shown
from carepath.engine.facts import TypedText
from carepath.engine.text import FACTS_MAX, day_in_range, fact_values
from carepath.entrypoints.output import error_line
from carepath.entrypoints.quick import acting_email

if TYPE_CHECKING:  # the wiring (SQLAlchemy, the settings) is imported when a command first needs it
    from carepath.config.bootstrap import App

F = TypeVar("F", bound=Callable[..., Any])

_APP: App | None = None
#: Tests may install a factory to inject a clock or settings.
CLOCK_FACTORY: Callable[[], Clock] | None = None


def make_clock() -> Clock:
    """The injected clock: a test factory, ``CAREPATH_FAKE_NOW`` (demos, tests), or real."""
    if CLOCK_FACTORY is not None:
        return CLOCK_FACTORY()
    fake = os.environ.get("CAREPATH_FAKE_NOW")
    if fake:
        try:
            at = datetime.fromisoformat(fake)
        except ValueError:
            raise InvalidInput(
                "bad setting CAREPATH_FAKE_NOW: use an ISO date-time, like 2026-11-02T09:00:00+00:00"
            ) from None
        day_in_range(at.date(), "CAREPATH_FAKE_NOW")
        return FixedClock(at if at.tzinfo else at.replace(tzinfo=UTC))
    return SystemClock()


def get_app() -> App:
    """The wired application for this invocation (built on first use).

    A start writes the quick read's manifest when there is none for this code yet (config/quick.py),
    so that the next ``carepath case show`` need not import all of this.
    """
    global _APP
    if _APP is None:
        from carepath.config.bootstrap import bootstrap
        from carepath.config.quick import remember
        from carepath.config.settings import load_settings

        _APP = bootstrap(load_settings(), make_clock())
        remember(_APP)
    return _APP


def reset_app() -> None:
    """Forget the wired application (tests switch databases between invocations)."""
    global _APP
    if _APP is not None:
        _APP.dispose()
    _APP = None


def fail(message: str) -> None:
    """Print one clear line and exit 2."""
    typer.echo(error_line(message), err=True)
    raise typer.Exit(2)


def guarded(fn: F) -> F:
    """Turn carepath errors, and faults of the environment (the database down or not migrated), into
    one line on stderr and exit code 2; anything else is a bug and keeps its traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CarepathError as exc:
            lines = str(exc).splitlines() or [type(exc).__name__]
            for line in lines:
                typer.echo(error_line(line), err=True)
            raise typer.Exit(2) from None
        except Exception as exc:
            from carepath.config.faults import fault_line

            fault = fault_line(exc)
            if fault is None:
                raise
            typer.echo(error_line(fault), err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


class Typer(typer.Typer):
    """A Typer whose commands all map carepath errors to exit code 2."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        decorator = super().command(*args, **kwargs)
        return lambda fn: decorator(guarded(fn))


def parse_date(value: str | None, what: str = "--on") -> date | None:
    """``YYYY-MM-DD`` or ``None``; a clear error otherwise."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} {shown(value, 40)} is not a date YYYY-MM-DD") from None
    return day_in_range(day, what)


def parse_facts(pairs: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs; values that read as JSON numbers, booleans or lists become those (for a journey
    without typed facts), and the text as typed is kept for one with them."""
    facts: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput(f"--set {shown(pair, 40)} is not key=value")
        facts[key] = _value(value.strip(), key)
        texts[key] = value.strip()
    # A journey that declares its facts' types parses the text as typed (``engine.facts``).
    return TypedText(fact_values(facts), texts)


def _value(text: str, key: str) -> Any:
    if len(text) > FACTS_MAX:
        raise InvalidInput(f"--set {shown(key, 40)}: the value is longer than {FACTS_MAX:,} characters")
    if text in ("NaN", "Infinity", "-Infinity"):
        raise InvalidInput(f"--set {shown(key, 40)}: not a finite number (NaN and Infinity are refused)")
    if text[:1] in "[{" or text in ("true", "false", "null") or text.lstrip("-").isdigit():
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return text
    return text


def who(by: str | None) -> str:
    """The acting user's email: ``--by``, else ``CAREPATH_USER``; nobody is refused (by the services too)."""
    return acting_email(by, get_app().settings.user)


def actor(by: str | None) -> Actor:
    """The acting user, resolved with roles and teams (for reads; writes pass ``who(by)`` to the service)."""
    return get_app().directory.actor(who(by))


def main() -> None:
    """Console-script entry point: a misused option or argument is one ``error:`` line and exit 2, too."""
    from carepath.entrypoints.cli import app

    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except typer.TyperException as exc:  # click's usage errors: a bad value, a missing option
        message = exc.format_message()
        if message:  # a bare group (``carepath case``) has printed its help already
            typer.echo(error_line(message), err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
