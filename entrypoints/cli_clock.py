"""The statutory clock on the command line: calendar, deadlines, sweep."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from carepath.engine.calendar import WorkingCalendar, due_date, parse_limit
from carepath.engine.clock import LONDON, FixedClock, end_of_local_day, local_today
from carepath.engine.deadlines import Deadline, breach_day, display_status, lateness
from carepath.engine.definition import DeadlineRule
from carepath.engine.errors import InvalidInput, shown
from carepath.engine.text import day_in_range
from carepath.entrypoints.common import Typer, actor, get_app, parse_date, who
from carepath.entrypoints.output import emit_json, override_json, table
from carepath.entrypoints.paging import DEFAULT_LIMIT, After, Limit, emit_page

if TYPE_CHECKING:
    from carepath.engine.ports import CalendarRecompute
    from carepath.engine.services.admin import CalendarChange

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
By = Annotated[str | None, typer.Option("--by", help="Acting user's email (default $CAREPATH_USER).")]

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
        "start_on": s.isoformat(),
        "limit": str(lim),
        "counting": mode,
        "due_on": due.isoformat(),
        "weekday": due.strftime("%A"),
        "working_day": cal.is_working_day(due),
    }
    if json_:
        emit_json(out)
    else:
        typer.echo(f"{out['due_on']} ({out['weekday']}): {lim} {mode.replace('_', ' ')} {s}")


@calendar_app.command("working-day")
def calendar_working_day(day: str, json_: Json = False) -> None:
    """Is DAY a working day? Names the holiday or closure if not."""
    cal = get_app().calendar
    d = _day(day, "DATE")
    ok = cal.is_working_day(d)
    why = None if ok else (cal.holiday_name(d) or d.strftime("%A"))
    out = {
        "on": d.isoformat(),
        "working_day": ok,
        "reason": why,
        "next_working_day_on": cal.add_working_days(d, 1).isoformat(),
    }
    if json_:
        emit_json(out)
    else:
        typer.echo(f"{d} is {'a working day' if ok else 'not a working day (' + str(why) + ')'}")


Defer = Annotated[
    bool, typer.Option("--defer", help="Only record the recompute; the worker (or `calendar recompute`) runs it.")
]


def _progress(job: CalendarRecompute) -> None:
    """One line per batch, on stderr: ``recomputed 400 of 1,994 case(s)...``."""
    typer.echo(f"recomputed {job.done:,} of {max(job.total, job.done):,} case(s)...", err=True)


def _recomputed(change: CalendarChange) -> None:
    job = change.recompute
    if change.recomputed:
        typer.echo(f"recomputed deadlines of {len(change.recomputed)} case(s)")
    if job is not None and job.finished_at is None:
        typer.echo(f"{job.total - job.done:,} case(s) left to recompute: `carepath calendar recompute` or the worker")


@override_app.command("add")
def override_add(
    day: str,
    reason: Annotated[str, typer.Option(help="Why (e.g. office closure).")],
    opening: Annotated[bool, typer.Option("--opening", help="Make a holiday a working day.")] = False,
    defer: Defer = False,
    by: By = None,
) -> None:
    """Add a local closure (or, with --opening, an extra working day); recomputes open deadlines."""
    change = get_app().calendar_changes.add_override(
        _day(day, "DATE"), reason, who(by), opening=opening, recompute=not defer, progress=_progress
    )
    _recomputed(change)
    typer.echo(f"{change.day} is now a {'working day' if opening else 'closure'}: {reason}")


@override_app.command("remove")
def override_remove(day: str, defer: Defer = False, by: By = None) -> None:
    """Remove a local override; recomputes open deadlines."""
    change = get_app().calendar_changes.remove_override(
        _day(day, "DATE"), who(by), recompute=not defer, progress=_progress
    )
    _recomputed(change)
    typer.echo(f"removed the override on {change.day}")


@calendar_app.command("recompute")
def calendar_recompute(json_: Json = False) -> None:
    """Finish every calendar change's recompute left unfinished (a crash, --defer); acts as carepath itself."""
    a = get_app()
    jobs = a.calendar_changes.recompute_pending(a.system, progress=None if json_ else _progress)
    if json_:
        emit_json([asdict(j) for j in jobs])
    elif not jobs:
        typer.echo("no calendar recompute pending")
    else:
        for j in jobs:
            typer.echo(f"{j.day}: recomputed {j.done:,} case(s) in all")


@override_app.command("list")
def override_list(limit: Limit = DEFAULT_LIMIT, after: After = None, by: By = None, json_: Json = False) -> None:
    """List local overrides by day, a page at a time."""
    page = get_app().reads.overrides(actor(by), limit=limit, after=after)
    rows = [override_json(o) for o in page]
    if not json_:
        for r in rows:
            r["day"] = r["on"]
    emit_page(page, rows, ["day", "kind", "reason"], json_)


def deadline_view(d: Deadline, rule: DeadlineRule | None, cal: WorkingCalendar, today: date) -> dict[str, Any]:
    """One deadline as people read it: rule, basis, dates, status and days left (docs/json.md)."""
    status = display_status(d, today)
    live = d.status in ("open", "paused")
    return {
        "rule": d.rule,
        "cycle": d.cycle,
        "label": rule.label if rule else d.rule,
        "class": rule.klass if rule else None,
        "source": rule.source if rule else None,
        "limit": rule.limit if rule else None,
        "start_on": d.start_on,
        "due_on": d.due_on,
        "raw_due_on": d.raw_due_on,
        "status": status,
        "met_on": d.met_on,
        "breached_on": breach_day(d, today),
        "late": _late(d, rule, cal),
        "paused_days": d.paused_days,
        "working_days_left": cal.working_days_between(today, d.due_on) if live else None,
        "calendar_days_left": (d.due_on - today).days if live else None,
    }


def _late(d: Deadline, rule: DeadlineRule | None, cal: WorkingCalendar) -> str | None:
    """How late a deadline met late was met, in its rule's unit ("3 working days"), else ``None``."""
    late = lateness(d, parse_limit(rule.limit), cal) if rule else None
    return f"{late[0]} {late[1]}" if late else None


def _rule(workflow_id: str, version: int, name: str) -> DeadlineRule | None:
    try:
        return get_app().workflows.get(workflow_id, version).definition.rule(name)
    except KeyError:
        return None


def deadline_rows(ref: str, by: str | None) -> list[dict[str, Any]]:
    """Each deadline of case ``ref`` as ``deadline_view`` shows it (``case deadlines``, ``demo show``)."""
    a = get_app()
    c, deadlines = a.reads.case_deadlines(ref, actor(by))
    today = local_today(a.clock)
    return [deadline_view(d, _rule(c.workflow_id, c.workflow_version, d.rule), a.calendar, today) for d in deadlines]


def case_deadlines(ref: str, by: By = None, json_: Json = False) -> None:
    """Each deadline of case REF: rule, class and source, start, due, status, days left."""
    rows = deadline_rows(ref, by)
    if json_:
        emit_json(rows)
        return
    for r in rows:
        r.update(left=_left(r), start=r["start_on"], due=r["due_on"])
    table(rows, ["rule", "label", "class", "source", "start", "due", "status", "left"])


def _left(r: dict[str, Any]) -> str:
    if r["working_days_left"] is None:
        # An ended deadline: how late it was met, or since when it was breached.
        if r["late"]:
            return f"met {r['met_on']}, {r['late']} late"
        return f"breached on {r['breached_on']}" if r["breached_on"] else ""
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
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """What is due or overdue across the open cases you may see, soonest first, a page at a time."""
    a = get_app()
    today = parse_date(as_of, "--as-of") or local_today(a.clock)
    horizon = due_date(today, parse_limit(within), a.calendar)
    team_id = a.directory.team_id(team) if team else None
    owner_id = a.directory.user_id(owner) if owner else None
    rows = []
    page = a.reads.deadlines_due(horizon, actor(by), team_id=team_id, owner_id=owner_id, limit=limit, after=after)
    for item in page:
        rule = _rule(item.workflow_id, item.workflow_version, item.deadline.rule)
        view = deadline_view(item.deadline, rule, a.calendar, today)
        rows.append(
            {"ref": item.case_ref, "workflow": item.workflow_id, "owner": item.owner, "team": item.team, **view}
        )
    if not json_:
        for row in rows:
            row.update(left=_left(row), case=row["ref"], due=row["due_on"])
    emit_page(page, rows, ["case", "rule", "label", "class", "due", "status", "left", "owner", "team"], json_)


def sweep(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date-time (ISO) or date to sweep as of.")] = None,
    json_: Json = False,
) -> None:
    """Raise every reminder, breach and escalation due now (or --as-of), once; for cron. Acts as carepath itself."""
    a = get_app()
    if as_of:
        at = _as_of(as_of)
        if at > a.clock.now():
            raise InvalidInput(f"--as-of {as_of} is in the future; a sweep never raises early")
        from carepath.config.bootstrap import bootstrap  # the wiring is imported by commands that run, not by --help

        a = bootstrap(a.settings, FixedClock(at), a.workflows)
    result = a.timers.sweep(a.system)
    out = {"raised": result.total, **dict(result.raised), "skipped": result.skipped, "moved": result.moved}
    if json_:
        emit_json(out)
    else:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(result.raised.items())) or "nothing due"
        moved = f"; moved {result.moved} case(s) by their rules" if result.moved else ""
        typer.echo(f"raised {result.total} ({kinds}){moved}")


def _as_of(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--as-of {shown(value, 40)} is not a date or ISO date-time") from None
    day_in_range(at.date(), "--as-of")
    if len(value) == 10:
        # A date means "the end of that day": everything due on it is included.
        return end_of_local_day(at.date()) - timedelta(microseconds=1)
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=LONDON).astimezone(UTC)


def register(app: typer.Typer, case_app: typer.Typer) -> None:
    """Add the clock's commands to ``app``, and ``case deadlines`` to ``case_app``."""
    app.add_typer(calendar_app, name="calendar")
    app.add_typer(deadlines_app, name="deadlines")
    app.command("sweep")(sweep)  # app is our Typer: errors map to exit 2
    case_app.command("deadlines")(case_deadlines)


__all__ = ["asdict", "register"]
