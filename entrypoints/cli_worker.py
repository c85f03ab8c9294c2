"""``carepath worker`` and ``carepath run``: the running service."""

from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING, Annotated, Any

import typer

from carepath.entrypoints.common import fail, get_app

if TYPE_CHECKING:  # APScheduler is imported by the commands that run it, not by every carepath command
    from carepath.config.bootstrap import App
    from carepath.entrypoints.scheduler import Ticker


def _jobs(app: App, ticker: Ticker, *, mail: bool) -> None:
    s = app.settings
    ticker.every(s.sweep_interval_seconds, "sweep", lambda: _sweep(app))
    ticker.every(60, "calendar", lambda: _calendar(app))
    if mail:
        ticker.every(s.dispatch_interval_seconds, "dispatch", lambda: app.mail.send(app.system).sent)
        ticker.every(60, "digest", lambda: app.mail.digests(app.system))


def _sweep(app: App) -> str | None:
    result = app.timers.sweep(app.system)
    return f"raised {result.total} {dict(result.raised)}" if result.total else None


def _calendar(app: App) -> str | None:
    """Finish calendar recomputes left unfinished (a crashed run, ``--defer``), batch by batch."""
    jobs = app.calendar_changes.recompute_pending(app.system)
    return ", ".join(f"recomputed {j.done} case(s) over {j.day}" for j in jobs) or None


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # one line per tick that did something, not per job run
        for noisy in ("apscheduler", "mail.log"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def worker(
    mail: Annotated[bool, typer.Option(help="Also dispatch the outbox and digests.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the scheduler ticks (sweep, dispatch, digest) until stopped; start several for scale."""
    from carepath.entrypoints.scheduler import Ticker

    _logging(verbose)
    app = get_app()
    ticker = Ticker()
    _jobs(app, ticker, mail=mail)
    typer.echo(f"carepath worker on {app.engine.url.render_as_string()}; Ctrl-C to stop")
    ticker.run_until_signalled()


def _web_server(app: App) -> Any:
    """A uvicorn server for the web app (not yet started)."""
    from carepath.entrypoints.web.app import create_app
    from carepath.entrypoints.web.serve import uvicorn_server

    return uvicorn_server(create_app(app))


def _web_socket(host: str, port: int) -> Any:
    """The web app's listening socket, bound now (so a taken port is one clear line, before anything starts)."""
    from carepath.entrypoints.web.serve import listening_socket

    try:
        return listening_socket(host, port)
    except OSError as exc:
        why = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or type(exc).__name__)
        fail(f"the web app cannot listen on {host}:{port}: {why} (set CAREPATH_WEB__PORT)")


def web(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Serve only the web app and API (run several beside one PostgreSQL; the scheduler runs elsewhere)."""
    _logging(verbose)
    app = get_app()
    w = app.settings.web
    sock = _web_socket(w.host, w.port)
    if w.secret_key is None:
        typer.echo("note: CAREPATH_WEB__SECRET_KEY is not set: sessions end when this process stops", err=True)
    typer.echo(f"carepath web app on http://{w.host}:{w.port}/ ; Ctrl-C to stop")
    _web_server(app).run(sockets=[sock])


def run(
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    serve_web: Annotated[bool, typer.Option("--web/--no-web", help="Also serve the web app.")] = True,
) -> None:
    """Start carepath: the web app, scheduler ticks and, without SMTP settings, the built-in mail catcher."""
    import threading

    from carepath.entrypoints.scheduler import Ticker

    _logging(verbose)
    app = get_app()
    server: Any = None
    w = app.settings.web
    sock = _web_socket(w.host, w.port) if serve_web else None
    catcher: Any = None
    if not app.settings.smtp.host:
        from carepath.notifications.catcher import MailCatcher

        # With no SMTP host the dispatcher's target is the catcher (config.bootstrap.smtp_target).
        c = app.settings.catcher
        catcher = MailCatcher(app.engine, c.host, c.port, clock=app.clock)
        try:
            catcher.start()
        except OSError as exc:
            why = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or type(exc).__name__)
            fail(f"the mail catcher cannot listen on {c.host}:{c.port}: {why} (set CAREPATH_CATCHER__PORT)")
        typer.echo(f"mail catcher on {c.host}:{c.port}: read mail with `carepath mail list`")
    if sock is not None:
        server = _web_server(app)
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="carepath-web", daemon=True).start()
        typer.echo(f"web app on http://{w.host}:{w.port}/ : open it in a browser and sign in")
    ticker = Ticker()
    _jobs(app, ticker, mail=True)
    typer.echo(f"carepath running on {app.engine.url.render_as_string()}; Ctrl-C to stop")
    try:
        ticker.run_until_signalled()
    finally:
        if server is not None:
            server.should_exit = True
        if catcher is not None:
            catcher.stop()


def register(app: typer.Typer) -> None:
    """Add ``worker`` and ``run``."""
    app.command("worker")(worker)
    app.command("run")(run)
    app.command("web")(web)
