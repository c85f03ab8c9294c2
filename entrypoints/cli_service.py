"""Mail and panels on the command line: ``carepath mail ...`` and ``carepath panels ...``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from carepath.engine.clock import local_today
from carepath.engine.panels import check_type, sittings
from carepath.engine.reads import OutboxListing, Page
from carepath.engine.text import ID_MAX, choice
from carepath.entrypoints.common import Typer, actor, get_app, parse_date, who
from carepath.entrypoints.output import caught_json, emit_json, outbox_json, sitting_json
from carepath.entrypoints.paging import DEFAULT_LIMIT, After, Limit, emit_page

if TYPE_CHECKING:  # the email package is imported by ``mail show`` only
    from email.message import EmailMessage

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
By = Annotated[str | None, typer.Option("--by", help="Acting user's email (default $CAREPATH_USER).")]

mail_app = Typer(help="Email: what the mail catcher caught, the outbox, dead messages.")
panels_app = Typer(help="Panel sittings: ready-for-panel emails name the next one that leaves 5 working days.")


# -- mail --------------------------------------------------------------------------------------


@mail_app.command("list")
def mail_list(limit: Limit = DEFAULT_LIMIT, after: After = None, by: By = None, json_: Json = False) -> None:
    """Messages the built-in mail catcher received, newest first, a page at a time."""
    page = get_app().reads.caught(actor(by), limit, after)
    rows = [caught_json(m) for m in page]
    if not json_:
        for m, r in zip(page, rows, strict=True):
            r["time"] = m.received_at.isoformat(timespec="seconds")
    emit_page(page, rows, ["id", "time", "recipients", "subject", "message_id"], json_)


def _text_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    return str(part.get_content()) if part is not None else ""


@mail_app.command("show")
def mail_show(
    caught_id: Annotated[
        int, typer.Argument(metavar="ID", min=1, max=ID_MAX, help="The id from `carepath mail list`.")
    ],
    raw: Annotated[bool, typer.Option("--raw", help="The whole message as received (MIME).")] = False,
    html: Annotated[bool, typer.Option("--html", help="The HTML part instead of the text part.")] = False,
    by: By = None,
    json_: Json = False,
) -> None:
    """One caught message: its headers and text part."""
    from email import message_from_string
    from email.message import EmailMessage
    from email.policy import default as default_policy

    reader = actor(by)
    text = get_app().reads.caught_raw(caught_id, reader)
    if raw and not json_:
        typer.echo(text)
        return
    msg = message_from_string(text, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    if json_:
        # The listing's fields (``caught_json``), then what only the message holds.
        found = [m for m in get_app().reads.caught(reader, 1, str(caught_id + 1)) if m.id == caught_id]
        html_part = msg.get_body(preferencelist=("html",))
        out: dict[str, Any] = caught_json(found[0]) if found else {"id": caught_id}
        out.update(
            sender=str(msg.get("From", "")),
            text=_text_part(msg),
            html=str(html_part.get_content()) if html_part is not None else None,
        )
        if raw:
            out["raw"] = text
        emit_json(out)
        return
    for header in ("Message-ID", "Date", "From", "To", "Subject"):
        typer.echo(f"{header}: {msg.get(header, '')}")
    typer.echo("")
    if html:
        part = msg.get_body(preferencelist=("html",))
        typer.echo(part.get_content() if part is not None else "(no HTML part)")
    else:
        typer.echo(_text_part(msg).rstrip("\n"))


def _outbox_rows(page: Page[OutboxListing], json_: bool) -> list[dict[str, Any]]:
    rows = [outbox_json(r) for r in page]
    if not json_:  # the human table: the case's reference and the time to the second
        for r, row in zip(page, rows, strict=True):
            row.update(case=row["ref"], next_attempt_at=r.next_attempt_at.isoformat(timespec="seconds"))
    return rows


@mail_app.command("failed")
def mail_failed(limit: Limit = DEFAULT_LIMIT, after: After = None, by: By = None, json_: Json = False) -> None:
    """Dead messages, newest first: refused by the server (5xx) or out of attempts. Requeue with `mail retry ID`."""
    page = get_app().reads.outbox(actor(by), "dead", limit, after)
    emit_page(page, _outbox_rows(page, json_), ["id", "kind", "case", "recipients", "attempts", "last_error"], json_)


@mail_app.command("outbox")
def mail_outbox(
    status: Annotated[str | None, typer.Option(help="pending, sent or dead.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Messages in the outbox, newest first, a page at a time, with a count by status."""
    if status is not None:
        choice(status, ("pending", "sent", "dead"), "--status")
    page = get_app().reads.outbox(actor(by), status, limit, after)  # type: ignore[arg-type]
    counts = get_app().reads.outbox_counts(actor(by))
    columns = ["id", "kind", "case", "recipients", "status", "attempts", "next_attempt_at"]
    emit_page(page, _outbox_rows(page, json_), columns, json_, extra={"counts": counts})
    if not json_:
        typer.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@mail_app.command("retry")
def mail_retry(
    outbox_id: Annotated[
        int, typer.Argument(metavar="ID", min=1, max=ID_MAX, help="The id from `carepath mail failed`.")
    ],
    by: By = None,
) -> None:
    """Requeue one dead message with a fresh attempt count (audited)."""
    info = get_app().mail.retry(outbox_id, who(by))
    typer.echo(f"requeued message {outbox_id} ({info.kind} to {', '.join(info.recipients)})")


@mail_app.command("send")
def mail_send() -> None:
    """Send every due message now (what the worker does on each tick; carepath acts itself)."""
    a = get_app()
    run = a.mail.send(a.system)
    typer.echo(f"sent {run.sent}; pending {run.pending}, dead {run.dead}")


@mail_app.command("digest")
def mail_digest() -> None:
    """Queue today's managers' digests if the digest time has passed (once a day each)."""
    a = get_app()
    typer.echo(f"queued {a.mail.digests(a.system)} digest(s)")


# -- panels ------------------------------------------------------------------------------------


@panels_app.command("add")
def panels_add(
    day: Annotated[str, typer.Argument(metavar="DATE", help="The sitting's date, YYYY-MM-DD.")],
    panel_type: Annotated[str, typer.Option("--type", help="fostering or adoption.")],
    by: By = None,
) -> None:
    """Book a panel sitting (audited)."""
    when = parse_date(day, "DATE")
    assert when is not None
    s = get_app().panels.add_sitting(when, panel_type, who(by))
    typer.echo(
        f"booked {panel_type} panel on {when:%A} {when.isoformat()}; papers to members by {s.papers_by.isoformat()}"
    )


@panels_app.command("list")
def panels_list(
    panel_type: Annotated[str | None, typer.Option("--type", help="fostering or adoption.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include past sittings.")] = False,
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Booked sittings from today in date order, a page at a time, with the date papers must reach members."""
    a = get_app()
    if panel_type is not None:
        check_type(panel_type)
    today = local_today(a.clock)
    page = a.reads.sitting_days(actor(by), panel_type, None if all_ else today, limit=limit, after=after)
    found = sittings(page, a.calendar)
    rows = [sitting_json(s, today) for s in found]
    if not json_:
        for r in rows:
            r.update(date=r["sits_on"], type=r["panel_type"], papers_by=r["papers_due_on"])
    emit_page(page, rows, ["date", "weekday", "type", "papers_by", "open"], json_)


def register(app: typer.Typer) -> None:
    """Add ``mail`` and ``panels`` to the ``carepath`` command."""
    app.add_typer(mail_app, name="mail")
    app.add_typer(panels_app, name="panels")
