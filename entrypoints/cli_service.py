"""Mail and panels on the command line: ``carepath mail ...`` and ``carepath panels ...``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from carepath.engine.clock import local_today
from carepath.engine.errors import InvalidInput, shown
from carepath.engine.panels import CAPACITY_MAX, DEFAULT_CAPACITY, MEMBER_ROLES, WEEKDAYS, check_type
from carepath.engine.reads import OutboxListing, Page
from carepath.engine.text import ID_MAX, choice
from carepath.entrypoints.common import Typer, actor, get_app, parse_date, who
from carepath.entrypoints.output import (
    agenda_json,
    caught_json,
    emit_json,
    member_json,
    outbox_json,
    queue_json,
    sitting_json,
    sitting_report_json,
    table,
)
from carepath.entrypoints.paging import DEFAULT_LIMIT, After, Limit, emit_page

if TYPE_CHECKING:  # the email package is imported by ``mail show`` only
    from email.message import EmailMessage

    from carepath.engine.services.panels import AgendaItem, SittingView

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
By = Annotated[str | None, typer.Option("--by", help="Acting user's email (default $CAREPATH_USER).")]

mail_app = Typer(help="Email: what the mail catcher caught, the outbox, dead messages.")
panels_app = Typer(help="Panels: sittings, members and quorum, the agenda, papers, recommendations and minutes.")


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

PanelType = Annotated[str, typer.Option("--type", help="fostering, adoption or joint.")]
SittingId = Annotated[
    int, typer.Argument(metavar="ID", min=1, max=ID_MAX, help="The sitting's id (`carepath panels list`).")
]
Capacity = Annotated[int, typer.Option("--capacity", min=1, max=CAPACITY_MAX, help="Cases the sitting takes.")]
Place = Annotated[str, typer.Option("--place", help="Where it sits (a room, an address, online).")]
StartsAt = Annotated[str | None, typer.Option("--time", help="When it starts, HH:MM.")]
members_app = Typer(help="The central list of panel members: chairs, social workers, independents, advisers.")


def _time(value: str | None) -> time | None:
    if value is None:
        return None
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"--time {shown(value, 20)} is not a time HH:MM") from None
    return parsed.replace(second=0, microsecond=0)


def _sitting_line(s: SittingView) -> str:
    when = f" at {s.starts_at:%H:%M}" if s.starts_at else ""
    where = f", {s.place}" if s.place else ""
    return (
        f"sitting {s.id}: {s.panel_type} panel on {s.day:%A} {s.day.isoformat()}{when}{where}; "
        f"{s.status}, {s.booked} of {s.capacity} cases; papers to members by {s.papers_due_on.isoformat()}"
    )


def _quorum_line(s: SittingView) -> str:
    return "quorum: yes" if s.quorum.ok else "quorum: no (" + "; ".join(s.quorum.reasons) + ")"


@panels_app.command("add")
def panels_add(
    day: Annotated[str, typer.Argument(metavar="DATE", help="The sitting's date, YYYY-MM-DD.")],
    panel_type: PanelType,
    capacity: Capacity = DEFAULT_CAPACITY,
    place: Place = "",
    starts: StartsAt = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Plan one panel sitting on a working day (audited)."""
    when = parse_date(day, "DATE")
    assert when is not None
    a = get_app()
    s = a.panels.add_sitting(when, panel_type, who(by), capacity=capacity, place=place, starts_at=_time(starts))
    if json_:
        emit_json(sitting_json(s, local_today(a.clock)))
        return
    typer.echo(
        f"booked {panel_type} panel on {when:%A} {when.isoformat()}; papers to members by {s.papers_by.isoformat()}"
        f" (sitting {s.id})"
    )


@panels_app.command("plan")
def panels_plan(
    panel_type: PanelType,
    weekday: Annotated[str, typer.Option("--weekday", help="monday ... friday.")],
    nth: Annotated[int, typer.Option("--nth", min=-1, max=5, help="Which one in the month: 1 to 5, -1 the last.")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    capacity: Capacity = DEFAULT_CAPACITY,
    place: Place = "",
    starts: StartsAt = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Plan a year (or any run) of sittings, e.g. the first Wednesday of each month; holidays move to the next
    working day, and say so."""
    days = [d.lower() for d in WEEKDAYS[:5]]
    day_no = days.index(choice(weekday.strip().lower(), days, "--weekday"))
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    assert first is not None
    assert last is not None
    a = get_app()
    result = a.panels.plan(
        panel_type, day_no, nth, first, last, who(by), capacity=capacity, place=place, starts_at=_time(starts)
    )
    today = local_today(a.clock)
    if json_:
        emit_json(
            {
                "added": [sitting_json(s, today) for s in result.added],
                "shifted": [
                    {"wanted_on": w.isoformat(), "sits_on": d.isoformat(), "reason": r} for w, d, r in result.shifted
                ],
                "skipped": [{"on": d.isoformat(), "reason": r} for d, r in result.skipped],
            }
        )
        return
    for s in result.added:
        typer.echo(_sitting_line(s))
    for wanted, actual, why in result.shifted:
        typer.echo(f"moved {wanted.isoformat()} ({why}) to {actual:%A} {actual.isoformat()}")
    for d, why in result.skipped:
        typer.echo(f"skipped {d.isoformat()}: {why}")
    typer.echo(f"planned {len(result.added)} {panel_type} sitting(s)")


@panels_app.command("list")
def panels_list(
    panel_type: Annotated[str | None, typer.Option("--type", help="fostering, adoption or joint.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include past sittings.")] = False,
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Sittings from today in date order, a page at a time: papers date, cases booked, status and quorum."""
    a = get_app()
    if panel_type is not None:
        check_type(panel_type)
    today = local_today(a.clock)
    page = a.panels.sittings(actor(by), panel_type=panel_type, since=None if all_ else today, limit=limit, after=after)
    rows = [sitting_json(s, today) for s in page]
    if not json_:
        for s, r in zip(page, rows, strict=True):
            r.update(
                date=r["sits_on"],
                type=r["panel_type"],
                papers_by=r["papers_due_on"],
                cases=f"{s.booked}/{s.capacity}",
                quorum="yes" if s.quorum.ok else "no",
            )
    emit_page(page, rows, ["id", "date", "weekday", "type", "status", "cases", "papers_by", "open", "quorum"], json_)


@panels_app.command("show")
def panels_show(sitting_id: SittingId, by: By = None, json_: Json = False) -> None:
    """One sitting: when and where, capacity, quorum, who attends and the agenda."""
    a = get_app()
    reader = actor(by)
    s = a.panels.sitting(sitting_id, reader)
    members = a.panels.attendance(sitting_id, reader)
    agenda = a.panels.agenda(sitting_id, reader)
    if json_:
        out = sitting_json(s, local_today(a.clock))
        out.update(attendance=[member_json(m) for m in members], agenda=[agenda_json(i) for i in agenda])
        emit_json(out)
        return
    typer.echo(_sitting_line(s))
    if s.cancel_reason:
        typer.echo(f"cancelled: {s.cancel_reason}")
    typer.echo(_quorum_line(s))
    if s.minutes_received_on:
        typer.echo(f"final minutes received {s.minutes_received_on.isoformat()}")
    typer.echo("attending: " + (", ".join(f"{m.name} ({'/'.join(m.roles)})" for m in members) or "nobody recorded"))
    _agenda_table(agenda)


def _agenda_table(agenda: Sequence[AgendaItem]) -> None:
    rows = [agenda_json(i) for i in agenda]
    for r in rows:
        r.update(
            papers=r["papers_circulated_on"] or r["papers_status"], outcome=r["recommendation"] or r["deferred_reason"]
        )
    table(rows, ["ref", "workflow", "state", "booked_on", "papers", "outcome"])


def _sitting_out(s: Any, json_: bool, line: str) -> None:
    """What a command that changed a sitting prints: the sitting as JSON, or ``line``."""
    if json_:
        emit_json(sitting_json(s, local_today(get_app().clock)))
    else:
        typer.echo(line)


@panels_app.command("cancel")
def panels_cancel(
    sitting_id: SittingId,
    reason: Annotated[str, typer.Option("--reason", help="Why (told to each case deferred).")],
    by: By = None,
    json_: Json = False,
) -> None:
    """Cancel a planned sitting; its booked cases go back to the queue with the reason (audited)."""
    s = get_app().panels.cancel(sitting_id, reason, who(by))
    _sitting_out(s, json_, f"cancelled the {s.panel_type} panel on {s.day.isoformat()}: {reason.strip()}")


@members_app.command("list")
def members_list(
    panel_type: Annotated[str | None, typer.Option("--type", help="fostering, adoption or joint.")] = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """The central list of panel members, by name."""
    members = get_app().panels.members(actor(by), panel_type=panel_type)
    rows = [member_json(m) for m in members]
    if json_:
        emit_json(rows)
        return
    for r in rows:
        r.update(roles=", ".join(r["roles"]), panel_types=", ".join(r["panel_types"]), expires=r["expires_on"] or "")
    table(rows, ["id", "name", "email", "roles", "panel_types", "expires", "active"])


@members_app.command("add")
def members_add(
    name: Annotated[str, typer.Argument(help="The member's name.")],
    role: Annotated[list[str], typer.Option("--role", help=f"One of {', '.join(MEMBER_ROLES)}; repeat for more.")],
    panel_type: Annotated[list[str], typer.Option("--type", help="fostering, adoption or joint; repeat for more.")],
    email: Annotated[str | None, typer.Option("--email", help="Their email (how panel_members records them).")] = None,
    expires: Annotated[str | None, typer.Option("--expires", help="Last day of membership, YYYY-MM-DD.")] = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Add someone to the central list of panel members (audited)."""
    m = get_app().panels.add_member(name, email, role, panel_type, who(by), expires_on=parse_date(expires, "--expires"))
    if json_:
        emit_json(member_json(m))
        return
    typer.echo(f"member {m.id}: {m.name} ({', '.join(m.roles)}) on {', '.join(m.panel_types)} panels")


@panels_app.command("attend")
def panels_attend(
    sitting_id: SittingId,
    member: Annotated[
        list[int], typer.Option("--member", min=1, max=ID_MAX, help="A member's id; repeat. Replaces the list.")
    ],
    by: By = None,
    json_: Json = False,
) -> None:
    """Record who attends a sitting (replacing the list); says whether that makes a quorum."""
    s = get_app().panels.attend(sitting_id, member, who(by))
    _sitting_out(
        s, json_, f"{len(member)} attending the {s.panel_type} panel on {s.day.isoformat()}; {_quorum_line(s)}"
    )


@panels_app.command("book")
def panels_book(
    ref: Annotated[str, typer.Argument(metavar="REF", help="A case ready for panel.")],
    sitting_id: SittingId,
    on: Annotated[str | None, typer.Option("--on", help="Day of the booking (default today).")] = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Book a case that is ready for panel on a sitting of its type with room (its journey's booking move)."""
    s = get_app().panels.book(ref, sitting_id, who(by), on=parse_date(on))
    _sitting_out(s, json_, f"{ref.strip().upper()} booked: {_sitting_line(s)}")


@panels_app.command("move")
def panels_move(
    ref: Annotated[str, typer.Argument(metavar="REF", help="A case booked on a panel.")],
    sitting_id: SittingId,
    reason: Annotated[str, typer.Option("--reason", help="Why it moves.")],
    by: By = None,
    json_: Json = False,
) -> None:
    """Move a booked case to another sitting (deferred from one, booked on the other: the history keeps both)."""
    s = get_app().panels.move(ref, sitting_id, who(by), reason)
    _sitting_out(s, json_, f"{ref.strip().upper()} moved: {_sitting_line(s)}")


@panels_app.command("defer")
def panels_defer(
    ref: Annotated[str, typer.Argument(metavar="REF", help="A case booked on a panel.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it comes off the agenda.")],
    on: Annotated[str | None, typer.Option("--on", help="Day it comes off (default today).")] = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Take a booked case off its sitting's agenda before the sitting: back to the queue, with the reason."""
    case = get_app().panels.defer(ref, reason, who(by), on=parse_date(on))
    if json_:
        emit_json({"ref": case.ref, "state": case.state, "reason": reason.strip()})
        return
    typer.echo(f"{case.ref} is off the agenda and back in the queue ({case.state})")


@panels_app.command("papers")
def panels_papers(
    ref: Annotated[str, typer.Argument(metavar="REF", help="A case booked on a panel.")],
    on: Annotated[str | None, typer.Option("--on", help="Day the papers went out (default today).")] = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Record that a booked case's papers went to the panel members."""
    item = get_app().panels.papers(ref, who(by), on=parse_date(on))
    assert item.papers_circulated_on is not None
    if json_:
        emit_json(agenda_json(item))
        return
    typer.echo(f"{item.ref}: papers sent to members on {item.papers_circulated_on.isoformat()}")


@panels_app.command("agenda")
def panels_agenda(sitting_id: SittingId, by: By = None, json_: Json = False) -> None:
    """A sitting's cases with their papers' status (circulated, due, late) and outcomes."""
    agenda = get_app().panels.agenda(sitting_id, actor(by))
    if json_:
        emit_json([agenda_json(i) for i in agenda])
        return
    _agenda_table(agenda)


@panels_app.command("send-agenda")
def panels_send_agenda(sitting_id: SittingId, by: By = None, json_: Json = False) -> None:
    """Email the agenda (case references only) to the sitting's members: those attending, else the panel type's list."""
    sent_to = get_app().panels.send_agenda(sitting_id, who(by))
    if json_:
        emit_json({"id": sitting_id, "recipients": list(sent_to)})
        return
    typer.echo(f"agenda of sitting {sitting_id} queued to {len(sent_to)} member(s)")


@panels_app.command("recommend")
def panels_recommend(
    sitting_id: SittingId,
    outcome: Annotated[
        list[str],
        typer.Option(
            "--outcome",
            metavar="REF=RECOMMENDATION[:NOTE]",
            help="One case's recommendation (or deferred:REASON); repeat for the whole agenda.",
        ),
    ],
    on: Annotated[str | None, typer.Option("--on", help="Day recorded (default the sitting's day).")] = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Record the recommendations at a sitting with quorum; each moves its case (deferred: back to the queue)."""
    outcomes: dict[str, tuple[str, str | None]] = {}
    for given in outcome:
        ref, sep, rest = given.partition("=")
        if not sep or not ref.strip() or not rest.strip():
            raise InvalidInput(f"--outcome {shown(given, 40)} is not REF=RECOMMENDATION[:NOTE]")
        rec, _, note = rest.partition(":")
        outcomes[ref.strip()] = (rec.strip(), note.strip() or None)
    items = get_app().panels.recommend(sitting_id, outcomes, who(by), on=parse_date(on))
    if json_:
        emit_json([agenda_json(i) for i in items])
        return
    for i in items:
        if i.recommendation or i.deferred_reason:
            typer.echo(f"{i.ref}: {i.recommendation or 'deferred: ' + str(i.deferred_reason)} (now {i.state})")


@panels_app.command("minutes")
def panels_minutes(
    sitting_id: SittingId,
    received: Annotated[str, typer.Option("--received", help="Day the final minutes were received, YYYY-MM-DD.")],
    by: By = None,
    json_: Json = False,
) -> None:
    """Record a held sitting's final minutes: each heard case's decision clock (7 working days) starts that day."""
    day = parse_date(received, "--received")
    assert day is not None
    moved = get_app().panels.minutes(sitting_id, day, who(by))
    if json_:
        emit_json({"id": sitting_id, "minutes_received_on": day.isoformat(), "refs": list(moved)})
        return
    typer.echo(f"minutes received {day.isoformat()}: to the decision maker: {', '.join(moved) or 'none'}")


@panels_app.command("queue")
def panels_queue(
    panel_type: Annotated[str | None, typer.Option("--type", help="fostering, adoption or joint.")] = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Cases ready for panel and not booked yet, across journeys, longest waiting first."""
    rows = [queue_json(i) for i in get_app().panels.queue(actor(by), panel_type=panel_type)]
    if json_:
        emit_json(rows)
        return
    table(rows, ["ref", "workflow", "state", "panel_type", "last_event_on"])


@panels_app.command("report")
def panels_report(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    by: By = None,
    json_: Json = False,
) -> None:
    """Each sitting from --from to --to: held or not, cases heard and deferred, papers sent at least 5 working
    days before, decisions within 7 working days of the final minutes."""
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    assert first is not None
    assert last is not None
    rows = [sitting_report_json(r) for r in get_app().panels.report(actor(by), first, last)]
    if json_:
        emit_json(rows)
        return
    table(rows, ["id", "sits_on", "panel_type", "status", "heard", "deferred", "papers_in_time", "decided_in_time"])
    held = sum(1 for r in rows if r["status"] == "held")
    typer.echo(f"{held} of {len(rows)} sittings held; {sum(r['deferred'] for r in rows)} case(s) deferred")


@panels_app.command("ics")
def panels_ics(
    panel_type: Annotated[str | None, typer.Option("--type", help="One panel type's sittings.")] = None,
    member: Annotated[
        int | None, typer.Option("--member", min=1, max=ID_MAX, help="One member's sittings (their attendance).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include past sittings.")] = False,
    by: By = None,
    json_: Json = False,
) -> None:
    """The sittings as an iCalendar file on stdout (a panel type's, or one member's), to import or subscribe to."""
    from carepath.entrypoints.ics import sittings_ics

    a = get_app()
    reader = actor(by)
    since = None if all_ else local_today(a.clock)
    if member is not None:
        found = a.panels.member_sittings(member, reader, since=since)
        found = [s for s in found if panel_type is None or s.panel_type == panel_type]
        name = f"Panel sittings of member {member}"
    else:
        found = list(_every_sitting(panel_type, since, reader))
        name = f"{(panel_type or 'all').capitalize()} panel sittings"
    text = sittings_ics(found, name=name, stamped_at=a.clock.now()).decode()
    if json_:
        emit_json({"calendar": name, "events": len(found), "ics": text})
        return
    typer.echo(text, nl=False)


def _every_sitting(panel_type: str | None, since: Any, reader: Any) -> Any:
    after: str | None = None
    while True:
        page = get_app().panels.sittings(reader, panel_type=panel_type, since=since, limit=1000, after=after)
        yield from page.items
        if page.next is None:
            return
        after = page.next


panels_app.add_typer(members_app, name="members")


def register(app: typer.Typer) -> None:
    """Add ``mail`` and ``panels`` to the ``carepath`` command."""
    app.add_typer(mail_app, name="mail")
    app.add_typer(panels_app, name="panels")
