"""The statutory clock on the command line: calendar, deadlines, sweep."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer
from sqlalchemy import delete, insert, select

from engine.calendar import WorkingCalendar, due_date, parse_limit
from engine.clock import LONDON, FixedClock, end_of_local_day, local_today
from engine.deadlines import Deadline, display_status
from engine.errors import InvalidInput, NotFound
from entrypoints.common import Typer, actor, get_app, parse_date
from entrypoints.output import emit_json, table
from storage.people import audit
from storage.tables import CalendarOverride
from storage.uow import CASE, DEADLINE, C, D, deadline_from_row

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
OVERRIDE = CalendarOverride.__table__  # type: ignore[attr-defined]

calendar_app = Typer(help="Working days: England and Wales bank holidays plus local overrides.")
override_app = Typer(help="Local closures and one-off holidays (or extra working days).")
deadlines_app = Typer(help="Deadlines across cases.")
calendar_app.add_typer(override_app, name="override")


def _day(value: str, what: str) -> date:
    parsed = parse_date(value, what)
    assert parsed is not None
    return parsed


@calendar_app.command("due", context_settings={"ignore_unknown_options": True})  # LIMIT may be "-5 ..."
def calendar_due(
    start: str,
    limit: str,
    counting: Annotated[str, typer.Option(help="after | beginning-with")] = "after",
    json_: Json = False,
) -> None:
    """When is it due? START plus LIMIT ("7 working days", "4 months", "-5 working days")."""
    mode = counting.replace("-", "_")
    if mode not in ("after", "beginning_with"):
        raise InvalidInput(f"--counting {counting!r}: use after or beginning-with")
    cal = get_app().calendar
    s, lim = _day(start, "START"), parse_limit(limit)
    due = due_date(s, lim, cal, mode)  # type: ignore[arg-type]
    out = {
        "start": s.isoformat(),
        "limit": str(lim),
        "counting": mode,
        "due": due.isoformat(),
        "weekday": due.strftime("%A"),
        "working_day": cal.is_working_day(due),
    }
    if json_:
        emit_json(out)
    else:
        typer.echo(f"{out['due']} ({out['weekday']}): {lim} {mode.replace('_', ' ')} {s}")


@calendar_app.command("working-day")
def calendar_working_day(day: str, json_: Json = False) -> None:
    """Is DAY a working day? Names the holiday or closure if not."""
    cal = get_app().calendar
    d = _day(day, "DATE")
    ok = cal.is_working_day(d)
    why = None if ok else (cal.holiday_name(d) or d.strftime("%A"))
    out = {
        "date": d.isoformat(),
        "working_day": ok,
        "reason": why,
        "next_working_day": cal.add_working_days(d, 1).isoformat(),
    }
    if json_:
        emit_json(out)
    else:
        typer.echo(f"{d} is {'a working day' if ok else 'not a working day (' + str(why) + ')'}")


@override_app.command("add")
def override_add(
    day: str,
    reason: Annotated[str, typer.Option(help="Why (e.g. office closure).")],
    opening: Annotated[bool, typer.Option("--opening", help="Make a holiday a working day.")] = False,
    by: Annotated[str | None, typer.Option("--by")] = None,
) -> None:
    """Add a local closure (or, with --opening, an extra working day); recomputes open deadlines."""
    a = get_app()
    d = _day(day, "DATE")
    who = actor(by)
    with a.engine.begin() as conn:
        if conn.execute(select(OVERRIDE.c.day).where(OVERRIDE.c.day == d)).first():
            raise InvalidInput(f"{d} already has an override; remove it first")
        kind = "opening" if opening else "closure"
        conn.execute(insert(OVERRIDE).values(day=d, kind=kind, reason=reason, created_at=a.clock.now()))
        audit(conn, a.clock, who.id, "calendar.override.add", d.isoformat(), {"kind": kind, "reason": reason})
    _recompute_after_override(d)
    typer.echo(f"{d} is now a {'working day' if opening else 'closure'}: {reason}")


@override_app.command("remove")
def override_remove(day: str, by: Annotated[str | None, typer.Option("--by")] = None) -> None:
    """Remove a local override; recomputes open deadlines."""
    a = get_app()
    d = _day(day, "DATE")
    who = actor(by)
    with a.engine.begin() as conn:
        if conn.execute(delete(OVERRIDE).where(OVERRIDE.c.day == d)).rowcount != 1:
            raise NotFound("calendar override on", d.isoformat())
        audit(conn, a.clock, who.id, "calendar.override.remove", d.isoformat(), {})
    _recompute_after_override(d)
    typer.echo(f"removed the override on {d}")


def _recompute_after_override(d: date) -> None:
    from config.bootstrap import load_calendar
    from engine.services import CaseService

    a = get_app()
    a.__dict__.pop("calendar", None)
    a.__dict__.pop("cases", None)
    cal = load_calendar(a.engine, a.settings.calendar_subdiv)
    service = CaseService(a.uow, a.workflows, a.clock, cal)
    with a.engine.connect() as conn:
        refs = [
            r.ref
            for r in conn.execute(
                select(C.ref)
                .distinct()
                .join(DEADLINE, D.case_id == C.id)
                .where(D.status.in_(["open", "paused"]), D.due_on >= d, D.start_on <= d)
            )
        ]
    for ref in refs:
        service.recompute_deadlines(ref)
    if refs:
        typer.echo(f"recomputed deadlines of {len(refs)} case(s)")


@override_app.command("list")
def override_list(json_: Json = False) -> None:
    """List local overrides."""
    with get_app().engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(OVERRIDE).order_by(OVERRIDE.c.day))]
    emit_json(rows) if json_ else table(rows, ["day", "kind", "reason"])


def deadline_view(d: Deadline, rule: Any, cal: WorkingCalendar, today: date) -> dict[str, Any]:
    """One deadline as people read it: rule, basis, dates, status and days left."""
    status = display_status(d, today)
    live = d.status in ("open", "paused")
    return {
        "rule": d.rule,
        "cycle": d.cycle,
        "label": rule.label if rule else d.rule,
        "class": rule.klass if rule else None,
        "source": rule.source if rule else None,
        "limit": rule.limit if rule else None,
        "start": d.start_on,
        "due": d.due_on,
        "raw_due": d.raw_due_on,
        "status": status,
        "met_on": d.met_on,
        "paused_days": d.paused_days,
        "working_days_left": cal.working_days_between(today, d.due_on) if live else None,
        "calendar_days_left": (d.due_on - today).days if live else None,
    }


def _rules(workflow_id: str, version: int) -> dict[str, Any]:
    definition = get_app().workflows.get(workflow_id, version).definition
    return {r.name: r for r in definition.deadlines}


def case_deadlines(ref: str, json_: Json = False) -> None:
    """Each deadline of case REF: rule, class and source, start, due, status, days left."""
    a = get_app()
    c = a.queries.case(ref)
    assert c.id is not None
    rules = _rules(c.workflow_id, c.workflow_version)
    today = local_today(a.clock)
    rows = [deadline_view(d, rules.get(d.rule), a.calendar, today) for d in a.queries.deadlines(c.id)]
    if json_:
        emit_json(rows)
        return
    for r in rows:
        r["left"] = _left(r)
    table(rows, ["rule", "label", "class", "source", "start", "due", "status", "left"])


def _left(r: dict[str, Any]) -> str:
    if r["working_days_left"] is None:
        return ""
    wd, cd = r["working_days_left"], r["calendar_days_left"]
    if cd < 0:
        return f"overdue {-wd} wd / {-cd} d"
    return f"{wd} wd / {cd} d"


@deadlines_app.command("due")
def deadlines_due(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date (default today).")] = None,
    within: Annotated[str, typer.Option(help="Horizon after --as-of.")] = "20 working days",
    team: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option(help="Owner's email.")] = None,
    json_: Json = False,
) -> None:
    """What is due or overdue across open cases, soonest first."""
    a = get_app()
    today = parse_date(as_of, "--as-of") or local_today(a.clock)
    horizon = due_date(today, parse_limit(within), a.calendar)
    stmt = (
        select(DEADLINE, C.ref, C.workflow_id, C.workflow_version, C.owner_id, C.team_id)
        .join(CASE, C.id == D.case_id)
        .where(D.status == "open", D.due_on <= horizon)
        .order_by(D.due_on, C.ref)
    )
    if team:
        stmt = stmt.where(C.team_id == a.people.team_id(team))
    if owner:
        stmt = stmt.where(C.owner_id == a.people.user_id(owner))
    names = a.queries.names()
    rows = []
    with a.engine.connect() as conn:
        for r in conn.execute(stmt):
            view = deadline_view(
                deadline_from_row(r), _rules(r.workflow_id, r.workflow_version).get(r.rule), a.calendar, today
            )
            rows.append(
                {
                    "case": r.ref,
                    "workflow": r.workflow_id,
                    "owner": names["users"].get(r.owner_id),
                    "team": names["teams"].get(r.team_id),
                    **view,
                }
            )
    if json_:
        emit_json(rows)
        return
    for row in rows:
        row["left"] = _left(row)
    table(rows, ["case", "rule", "label", "class", "due", "status", "left", "owner", "team"])


def sweep(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date-time (ISO) or date to sweep as of.")] = None,
    json_: Json = False,
) -> None:
    """Raise every reminder, breach and escalation due now (or --as-of), once; for cron."""
    a = get_app()
    if as_of:
        at = _as_of(as_of)
        if at > a.clock.now():
            raise InvalidInput(f"--as-of {as_of} is in the future; a sweep never raises early")
        a.clock = FixedClock(at)
        a.__dict__.pop("sweeper", None)
    result = a.sweeper.sweep()
    out = {"raised": result.total, **dict(result.raised), "skipped": result.skipped}
    if json_:
        emit_json(out)
    else:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(result.raised.items())) or "nothing due"
        typer.echo(f"raised {result.total} ({kinds})")


def _as_of(value: str) -> datetime:
    try:
        if len(value) == 10:
            # A date means "the end of that day": everything due on it is included.
            return end_of_local_day(date.fromisoformat(value)) - timedelta(microseconds=1)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--as-of {value!r} is not a date or ISO date-time") from None
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=LONDON).astimezone(UTC)


def register(app: typer.Typer) -> None:
    """Add the clock's commands to ``app``."""
    from entrypoints.cli import case_app

    app.add_typer(calendar_app, name="calendar")
    app.add_typer(deadlines_app, name="deadlines")
    app.command("sweep")(sweep)  # app is our Typer: errors map to exit 2
    case_app.command("deadlines")(case_deadlines)


__all__ = ["asdict", "register"]
