"""Mail and panels on the command line: ``carepath mail ...`` and ``carepath panels ...``."""

from __future__ import annotations

from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Annotated, Any

import typer
from sqlalchemy import select

from engine.clock import local_today
from entrypoints.common import Typer, actor, get_app, parse_date
from entrypoints.output import emit_json, table
from notifications import outbox
from notifications.catcher import caught, caught_raw
from notifications.digest import enqueue_digests
from notifications.dispatch import dispatch_due
from notifications.panels import add_sitting, check_type, sittings
from storage.people import audit
from storage.uow import CASE, C

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
By = Annotated[str | None, typer.Option("--by", help="Acting user's email (default $CAREPATH_USER).")]
Limit = Annotated[int, typer.Option(help="At most this many, newest first.")]

mail_app = Typer(help="Email: what the mail catcher caught, the outbox, dead messages.")
panels_app = Typer(help="Panel sittings: ready-for-panel emails name the next one that leaves 5 working days.")


# -- mail --------------------------------------------------------------------------------------


@mail_app.command("list")
def mail_list(limit: Limit = 50, json_: Json = False) -> None:
    """Messages the built-in mail catcher received."""
    rows = [
        {
            "id": m.id,
            "message_id": m.message_id,
            "recipients": list(m.recipients),
            "subject": m.subject,
            "time": m.received_at.isoformat(timespec="seconds"),
        }
        for m in caught(get_app().engine, limit)
    ]
    emit_json(rows) if json_ else table(rows, ["id", "time", "recipients", "subject", "message_id"])


def _text_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    return str(part.get_content()) if part is not None else ""


@mail_app.command("show")
def mail_show(
    caught_id: Annotated[int, typer.Argument(metavar="ID", help="The id from `carepath mail list`.")],
    raw: Annotated[bool, typer.Option("--raw", help="The whole message as received (MIME).")] = False,
    html: Annotated[bool, typer.Option("--html", help="The HTML part instead of the text part.")] = False,
) -> None:
    """One caught message: its headers and text part."""
    text = caught_raw(get_app().engine, caught_id)
    if raw:
        typer.echo(text)
        return
    msg = message_from_string(text, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    for header in ("Message-ID", "Date", "From", "To", "Subject"):
        typer.echo(f"{header}: {msg.get(header, '')}")
    typer.echo("")
    if html:
        part = msg.get_body(preferencelist=("html",))
        typer.echo(part.get_content() if part is not None else "(no HTML part)")
    else:
        typer.echo(_text_part(msg).rstrip("\n"))


def _outbox_rows(status: outbox.Status | None, limit: int) -> list[dict[str, Any]]:
    a = get_app()
    found = outbox.rows(a.engine, status, limit)
    ids = {r.case_id for r in found if r.case_id is not None}
    with a.engine.connect() as conn:
        refs = {r.id: r.ref for r in conn.execute(select(C.id, C.ref).select_from(CASE).where(C.id.in_(ids)))}
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "case": refs.get(r.case_id) if r.case_id is not None else None,
            "recipients": list(r.recipients),
            "status": r.status,
            "attempts": r.attempts,
            "next_attempt_at": r.next_attempt_at.isoformat(timespec="seconds"),
            "last_error": r.last_error,
            "message_id": r.message_id,
            "key": r.key,
        }
        for r in found
    ]


@mail_app.command("failed")
def mail_failed(json_: Json = False) -> None:
    """Dead messages: refused by the server (5xx) or out of attempts. Requeue with `mail retry ID`."""
    rows = _outbox_rows("dead", 500)
    emit_json(rows) if json_ else table(rows, ["id", "kind", "case", "recipients", "attempts", "last_error"])


@mail_app.command("outbox")
def mail_outbox(
    status: Annotated[str | None, typer.Option(help="pending, sent or dead.")] = None,
    limit: Limit = 50,
    json_: Json = False,
) -> None:
    """Messages in the outbox, newest first, with a count by status."""
    if status not in (None, "pending", "sent", "dead"):
        raise typer.BadParameter("use pending, sent or dead", param_hint="--status")
    rows = _outbox_rows(status, limit)  # type: ignore[arg-type]
    if json_:
        emit_json({"counts": outbox.counts(get_app().engine), "messages": rows})
        return
    table(rows, ["id", "kind", "case", "recipients", "status", "attempts", "next_attempt_at"])
    typer.echo(", ".join(f"{k}: {v}" for k, v in outbox.counts(get_app().engine).items()))


@mail_app.command("retry")
def mail_retry(
    outbox_id: Annotated[int, typer.Argument(metavar="ID", help="The id from `carepath mail failed`.")],
    by: By = None,
) -> None:
    """Requeue one dead message with a fresh attempt count (audited)."""
    a = get_app()
    who = actor(by)
    with a.engine.begin() as conn:
        info = outbox.requeue(conn, outbox_id, a.clock.now())
        audit(conn, a.clock, who.id, "mail.retry", f"outbox:{outbox_id}", {"key": info.key, "error": info.last_error})
    typer.echo(f"requeued message {outbox_id} ({info.kind} to {', '.join(info.recipients)})")


@mail_app.command("send")
def mail_send() -> None:
    """Send every due message now (what the worker does on each tick)."""
    a = get_app()
    sent = dispatch_due(a.engine, a.clock, a.settings)
    c = outbox.counts(a.engine)
    typer.echo(f"sent {sent}; pending {c['pending']}, dead {c['dead']}")


@mail_app.command("digest")
def mail_digest() -> None:
    """Queue today's managers' digests if the digest time has passed (once a day each)."""
    a = get_app()
    n = enqueue_digests(a.engine, a.clock, a.settings, a.workflows)
    typer.echo(f"queued {n} digest(s)")


# -- panels ------------------------------------------------------------------------------------


@panels_app.command("add")
def panels_add(
    day: Annotated[str, typer.Argument(metavar="DATE", help="The sitting's date, YYYY-MM-DD.")],
    panel_type: Annotated[str, typer.Option("--type", help="fostering or adoption.")],
    by: By = None,
) -> None:
    """Book a panel sitting (audited)."""
    a = get_app()
    when = parse_date(day, "DATE")
    assert when is not None
    check_type(panel_type)
    who = actor(by)
    with a.engine.begin() as conn:
        add_sitting(conn, when, panel_type, a.clock.now())
        audit(conn, a.clock, who.id, "panel.add", f"{panel_type}:{when.isoformat()}", {})
    papers = a.calendar.add_working_days(when, -5)
    typer.echo(f"booked {panel_type} panel on {when:%A} {when.isoformat()}; papers to members by {papers.isoformat()}")


@panels_app.command("list")
def panels_list(
    panel_type: Annotated[str | None, typer.Option("--type", help="fostering or adoption.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include past sittings.")] = False,
    json_: Json = False,
) -> None:
    """Booked sittings from today, with the date papers must reach members."""
    a = get_app()
    if panel_type is not None:
        check_type(panel_type)
    today = local_today(a.clock)
    with a.engine.connect() as conn:
        found = sittings(conn, a.calendar, panel_type, None if all_ else today)
    rows = [
        {
            "date": s.day.isoformat(),
            "weekday": f"{s.day:%A}",
            "type": s.panel_type,
            "papers_by": s.papers_by.isoformat(),
            "open": s.papers_by >= today,
        }
        for s in found
    ]
    emit_json(rows) if json_ else table(rows, ["date", "weekday", "type", "papers_by", "open"])


def register(app: typer.Typer) -> None:
    """Add ``mail`` and ``panels`` to the ``carepath`` command."""
    app.add_typer(mail_app, name="mail")
    app.add_typer(panels_app, name="panels")
