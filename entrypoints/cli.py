"""``carepath``: the command line. Every refusal exits 2 with one clear line."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from carepath.engine.case import Case, Event
from carepath.engine.clock import local_today
from carepath.engine.definition import ON_HOLD
from carepath.engine.errors import WorkflowDefinitionError
from carepath.engine.reads import HISTORY_LIMIT, CaseFilter, CaseListing
from carepath.engine.text import ID_MAX, choice
from carepath.entrypoints import show
from carepath.entrypoints.common import Typer, actor, fail, get_app, parse_date, parse_facts, who
from carepath.entrypoints.output import (
    action_json,
    case_json,
    emit_json,
    error_line,
    event_json,
    table,
    team_json,
    user_json,
)
from carepath.entrypoints.paging import DEFAULT_LIMIT, After, Limit, emit_page

if TYPE_CHECKING:
    from carepath.engine.services import Action

# A command pays only for what it uses (issue 9): the YAML loader, the compiler and the diagram
# tools are imported by the commands that need them, not by every ``carepath`` invocation.

app = Typer(help="carepath: statutory case tracking for fostering and adoption services.")
db_app = Typer(help="Database schema.")
wf_app = Typer(help="Workflow definitions (journeys).")
case_app = Typer(help="Cases: open, move, read.")
users_app = Typer(help="People who use carepath.")
teams_app = Typer(help="Teams, their managers and members.")
app.add_typer(db_app, name="db")
app.add_typer(wf_app, name="workflows")
app.add_typer(case_app, name="case")
app.add_typer(users_app, name="users")
app.add_typer(teams_app, name="teams")

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
On = Annotated[str | None, typer.Option("--on", help="Date it happened, YYYY-MM-DD (default today).")]
By = Annotated[str | None, typer.Option("--by", help="Acting user's email (default $CAREPATH_USER).")]
Note = Annotated[str | None, typer.Option("--note", help="Free-text note for the history.")]
Sets = Annotated[list[str] | None, typer.Option("--set", help="Record a fact, key=value (repeatable).")]
Expect = Annotated[int | None, typer.Option("--expect-version", min=0, max=ID_MAX, help="Refuse if the case moved on.")]


# -- db ------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    a = get_app()
    revision = a.migrate()
    typer.echo(f"database at revision {revision} ({a.engine.url.render_as_string()})")


@db_app.command("current")
def db_current(json_: Json = False) -> None:
    """Show the schema revision."""
    revision = get_app().schema_revision()
    if json_:
        emit_json({"revision": revision})
        return
    typer.echo(revision or "(not migrated; run carepath db upgrade)")


# -- workflows -----------------------------------------------------------------------------


@wf_app.command("list")
def wf_list(json_: Json = False) -> None:
    """List loaded journeys."""
    rows = [
        {
            "workflow": c.definition.id,
            "workflow_version": c.definition.version,
            "title": c.definition.title,
            "reference_prefix": c.definition.reference_prefix,
            "states": len(c.definition.states),
            "transitions": len(c.definition.transitions),
            "deadlines": len(c.definition.deadlines),
        }
        for c in get_app().workflows
    ]
    if json_:
        emit_json(rows)
        return
    for r in rows:
        r.update(id=r["workflow"], version=r["workflow_version"], prefix=r["reference_prefix"])
    table(rows, ["id", "version", "title", "prefix", "states", "transitions", "deadlines"])


@wf_app.command("show")
def wf_show(workflow: str, version: Annotated[int | None, typer.Option()] = None, json_: Json = False) -> None:
    """Show a journey's states, transitions, exit reasons and timescales."""
    reg = get_app().workflows
    d = (reg.get(workflow, version) if version else reg.latest(workflow)).definition
    if json_:
        emit_json(asdict(d))
        return
    typer.echo(f"{d.title} ({d.id} v{d.version}) - {d.file}\n{d.description}".rstrip())
    typer.echo("\nStates:")
    table(
        [{"state": s.name, "label": s.label, "terminal": "yes" if s.terminal else ""} for s in d.states.values()],
        ["state", "label", "terminal"],
    )
    typer.echo("\nTransitions:")
    table(
        [
            {
                "trigger": t.trigger,
                "from": list(t.sources),
                "to": t.dest,
                "guards": list(t.guards),
                "requires": list(t.requires),
                "roles": list(t.roles),
            }
            for t in d.transitions
        ],
        ["trigger", "from", "to", "guards", "requires", "roles"],
    )
    typer.echo("\nExit reasons:")
    table([{"code": k, "meaning": v} for k, v in d.exit_reasons.items()], ["code", "meaning"])
    if d.deadlines:
        typer.echo("\nTimescales:")
        table(
            [
                {"rule": r.name, "label": r.label, "limit": r.limit, "class": r.klass, "source": r.source}
                for r in d.deadlines
            ],
            ["rule", "label", "limit", "class", "source"],
        )


@wf_app.command("validate")
def wf_validate(
    files: Annotated[list[Path] | None, typer.Argument(help="Files (default: all).")] = None, json_: Json = False
) -> None:
    """Check definitions; exit 2 naming file, line and fault for each problem."""
    from carepath.config.settings import load_settings
    from carepath.engine.compiler import compile_workflow
    from carepath.notifications.render import kinds
    from carepath.notifications.routing import check_notices
    from carepath.workflows.loader import WORKFLOWS_DIR, load_workflow, workflow_files

    settings = load_settings()
    problems: list[str] = []
    paths = files or workflow_files(settings.workflows_dir or WORKFLOWS_DIR)  # the folder carepath loads
    templates = set(kinds())
    for path in paths:
        try:
            definition = load_workflow(path)
            compile_workflow(definition, conventions=settings.conventions)
            problems.extend(check_notices(definition))
            problems.extend(
                f"{definition.file}:{state.line or '?'}: state {state.name}: notice {kind!r} has no templates"
                f" (notifications/templates/{kind}.txt.j2 and .html.j2)"
                for state in definition.states.values()
                if (kind := str(state.meta.get("notice") or "")) and kind not in templates
            )
        except WorkflowDefinitionError as exc:
            problems.extend(str(p) for p in exc.problems)
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror}")
    if problems:
        for p in problems:
            typer.echo(error_line(p), err=True)
        raise typer.Exit(2)
    if json_:
        emit_json({"valid": True, "files": [str(p) for p in paths]})
        return
    typer.echo(f"{len(paths)} workflow file(s) valid")


@wf_app.command("diagram")
def wf_diagram(workflow: str, version: Annotated[int | None, typer.Option()] = None, json_: Json = False) -> None:
    """Print a journey as a mermaid state diagram."""
    from carepath.entrypoints.diagram import mermaid

    reg = get_app().workflows
    d = (reg.get(workflow, version) if version else reg.latest(workflow)).definition
    if json_:
        emit_json({"workflow": d.id, "workflow_version": d.version, "mermaid": mermaid(d)})
        return
    typer.echo(mermaid(d), nl=False)


# -- cases ---------------------------------------------------------------------------------


def _label(c: Case) -> str:
    """The label of the case's state in its journey."""
    return get_app().workflows.get(c.workflow_id, c.workflow_version).definition.state(c.state).label


def _case_dict(listing: CaseListing) -> dict[str, Any]:
    """The case as every ``--json`` output shows one (``output.case_json``; docs/json.md)."""
    c = listing.case
    return case_json(c, listing.owner, listing.team, _label(c))


def _listing(c: Case, by: str | None) -> CaseListing:
    """The case as the acting user may read it, with names."""
    return get_app().reads.case_listing(c.ref, actor(by))


def _print_case(c: Case, verb: str | None = None, by: str | None = None) -> None:
    if verb:
        typer.echo(f"{c.ref} {verb}: now {c.state} ({_label(c)})")
        return
    for line in show.case_lines(_listing(c, by), _label(c)):
        typer.echo(line)


def _owner_team(owner: str | None, team: str | None) -> tuple[int | None, int | None]:
    a = get_app()
    return (a.directory.user_id(owner) if owner else None, a.directory.team_id(team) if team else None)


@case_app.command("open")
def case_open(
    workflow: str,
    ref: Annotated[str | None, typer.Option(help="Reference (default generated).")] = None,
    on: On = None,
    by: By = None,
    owner: Annotated[str | None, typer.Option(help="Owner's email.")] = None,
    team: Annotated[str | None, typer.Option(help="Team name.")] = None,
    set_: Sets = None,
    note: Note = None,
    json_: Json = False,
) -> None:
    """Open a case on the latest version of WORKFLOW."""
    owner_id, team_id = _owner_team(owner, team)
    c = get_app().cases.open_case(
        workflow,
        who(by),
        on=parse_date(on),
        ref=ref,
        owner_id=owner_id,
        team_id=team_id,
        facts=parse_facts(set_),
        note=note,
    )
    emit_json(_case_dict(_listing(c, by))) if json_ else _print_case(c, "opened")


@case_app.command("fire")
def case_fire(
    ref: str,
    trigger: str,
    on: On = None,
    by: By = None,
    note: Note = None,
    set_: Sets = None,
    expect_version: Expect = None,
    json_: Json = False,
) -> None:
    """Fire TRIGGER on case REF."""
    c = get_app().cases.fire(
        ref, trigger, who(by), on=parse_date(on), facts=parse_facts(set_), note=note, expected_version=expect_version
    )
    emit_json(_case_dict(_listing(c, by))) if json_ else _print_case(c, trigger)


@case_app.command("show")
def case_show(ref: str, by: By = None, json_: Json = False) -> None:
    """Show one case and the people in it (role, name, date of birth)."""
    # entrypoints/quick.py prints the same without Typer or SQLAlchemy, when it can (issue 9).
    reader = actor(by)
    listing = get_app().reads.case_listing(ref, reader)
    people = cli_people.participants_of(listing.case, reader)
    if json_:
        emit_json(show.case_show_json(listing, _label(listing.case), people))
        return
    for line in show.case_show_lines(listing, _label(listing.case), people):
        typer.echo(line)


def case_json_of(ref: str, by: str | None) -> dict[str, Any]:
    """One case with its participants, as ``case show --json`` prints it, read as ``by``."""
    reader = actor(by)
    listing = get_app().reads.case_listing(ref, reader)
    return show.case_show_json(listing, _label(listing.case), cli_people.participants_of(listing.case, reader))


def history_json(ref: str, by: str | None, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The first page of a case's history as ``event_json`` entries."""
    _, page = get_app().reads.history(ref, actor(by), limit=limit)
    return [_event_row(h.event, {h.event.seq} if h.in_error else set(), h.by) for h in page]


def _event_row(e: Event, gone: set[int], by: str | None) -> dict[str, Any]:
    """A history entry as every ``--json`` output shows one (``output.event_json``; docs/json.md)."""
    return event_json(e, by, e.seq in gone)


@case_app.command("history")
def case_history(
    ref: str, limit: Limit = HISTORY_LIMIT, after: After = None, by: By = None, json_: Json = False
) -> None:
    """The case's events, oldest first, a page at a time; voided ones are marked, never removed."""
    _, page = get_app().reads.history(ref, actor(by), limit=limit, after=after)
    rows = [_event_row(h.event, {h.event.seq} if h.in_error else set(), h.by) for h in page]
    if json_:
        emit_page(page, rows, (), json_)
        return
    for h, r in zip(page, rows, strict=True):
        r["on"] = r["effective_on"]
        r["recorded"] = h.event.recorded_at.strftime("%Y-%m-%d %H:%M")
        r["move"] = f"{r['from_state'] or ''} -> {r['to_state']}" if r["from_state"] != r["to_state"] else r["to_state"]
        r["mark"] = "IN ERROR" if r["in_error"] else ""
        r["detail"] = _detail(r["payload"], r["note"])
    emit_page(page, rows, ["seq", "on", "trigger", "move", "by", "recorded", "mark", "detail"], json_)


def _detail(payload: dict[str, Any], note: str | None) -> str:
    """Facts and payload of an event for the human table: internal ids (owner, team) left out."""
    bits = [f"{k}={v}" for k, v in payload.get("facts", {}).items()]
    bits += [f"{k}={v}" for k, v in payload.items() if k != "facts" and v is not None and not k.endswith("_id")]
    if note:
        bits.append(f'"{note}"')
    return "; ".join(bits)


@case_app.command("actions")
def case_actions(ref: str, by: By = None, json_: Json = False) -> None:
    """What can be done next, with every unmet condition explained."""
    a = get_app()
    me = actor(by)
    c = a.reads.case(ref, me)
    acts: list[Action] = a.cases.actions(c, me)
    if json_:
        emit_json([action_json(x) for x in acts])
        return
    if c.status == "closed":
        typer.echo(f"{c.ref} is closed ({c.exit_reason}); nothing further")
        return
    if c.state == "on_hold":
        typer.echo(f"{c.ref} is on hold (from {c.held_from}): resume, withdraw or close")
        return
    for x in acts:
        mark = "ready  " if x.ready else "blocked"
        needs = f"  needs --set {'=... --set '.join(x.requires)}=..." if x.requires else ""
        typer.echo(f"{mark} {x.trigger:<28} -> {x.dest}{needs}")
        for r in x.reasons:
            typer.echo(f"          - {r}")
    typer.echo("always  hold, withdraw, close, assign")


@case_app.command("list")
def case_list(
    workflow: Annotated[str | None, typer.Option()] = None,
    state: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option(help="Owner's email.")] = None,
    team: Annotated[str | None, typer.Option(help="Team name.")] = None,
    status: Annotated[str | None, typer.Option(help="open, on_hold or closed.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """List the cases you may see, newest first, a page at a time."""
    if status is not None:
        choice(status, ("open", "on_hold", "closed"), "--status")
    journeys = [c.definition for c in get_app().workflows]
    if workflow is not None:
        choice(workflow, (d.id for d in journeys), "--workflow")
    if state is not None:
        named = [d for d in journeys if workflow in (None, d.id)]
        choice(state, [ON_HOLD, *(s for d in named for s in d.states)], "--state")
    owner_id, team_id = _owner_team(owner, team)
    f = CaseFilter(workflow, state, owner_id, team_id, status, limit, after)  # type: ignore[arg-type]
    page = get_app().reads.cases(f, actor(by))
    rows = [_case_dict(c) for c in page]
    if not json_:
        for r in rows:
            r["workflow_id"] = r["workflow"]
    emit_page(
        page, rows, ["ref", "workflow_id", "state", "status", "owner", "team", "opened_on", "last_event_on"], json_
    )


@case_app.command("hold")
def case_hold(
    ref: str,
    reason: Annotated[str, typer.Option(help="Why (mandatory).")],
    on: On = None,
    by: By = None,
    expect_version: Expect = None,
) -> None:
    """Put a case on hold; clocks that allow it pause."""
    _print_case(
        get_app().cases.hold(ref, who(by), reason, on=parse_date(on), expected_version=expect_version), "put on hold"
    )


@case_app.command("resume")
def case_resume(ref: str, on: On = None, by: By = None, note: Note = None, expect_version: Expect = None) -> None:
    """Resume a held case to the state it left."""
    _print_case(
        get_app().cases.resume(ref, who(by), on=parse_date(on), note=note, expected_version=expect_version), "resumed"
    )


@case_app.command("withdraw")
def case_withdraw(
    ref: str,
    reason: Annotated[str, typer.Option(help="Exit reason code.")],
    on: On = None,
    by: By = None,
    note: Note = None,
    expect_version: Expect = None,
) -> None:
    """Withdraw a case with an exit reason code (e.g. AW1); records the stage reached."""
    _print_case(
        get_app().cases.withdraw(ref, who(by), reason, on=parse_date(on), note=note, expected_version=expect_version),
        "withdrawn",
    )


@case_app.command("close")
def case_close(
    ref: str,
    reason: Annotated[str, typer.Option(help="Exit reason code.")],
    on: On = None,
    by: By = None,
    note: Note = None,
    expect_version: Expect = None,
) -> None:
    """Close a case with an exit reason code; records the stage reached."""
    _print_case(
        get_app().cases.withdraw(
            ref, actor(by), reason, trigger="close", on=parse_date(on), note=note, expected_version=expect_version
        ),
        "closed",
    )


@case_app.command("assign")
def case_assign(
    ref: str,
    owner: Annotated[str | None, typer.Option(help="New owner's email.")] = None,
    team: Annotated[str | None, typer.Option(help="New team.")] = None,
    on: On = None,
    by: By = None,
    note: Note = None,
) -> None:
    """Reassign the case's owner and/or team."""
    owner_id, team_id = _owner_team(owner, team)
    _print_case(
        get_app().cases.assign(ref, who(by), owner_id=owner_id, team_id=team_id, on=parse_date(on), note=note),
        "reassigned",
    )


@case_app.command("error")
def case_error(
    ref: str,
    seq: Annotated[int, typer.Argument(min=1, max=ID_MAX, help="Event number to void.")],
    reason: Annotated[str, typer.Option(help="Why it was wrong (mandatory).")],
    by: By = None,
) -> None:
    """Mark event SEQ as entered in error: kept in history, case recomputed."""
    _print_case(get_app().cases.mark_in_error(ref, seq, who(by), reason), f"event {seq} voided")


@case_app.command("note")
def case_note(
    ref: str,
    text: Annotated[str, typer.Option("--text", help="The note, or what the contact was about (mandatory).")],
    kind: Annotated[
        str, typer.Option("--kind", help="note, phone, visit, meeting, email or letter (default note).")
    ] = "note",
    on: Annotated[str | None, typer.Option("--on", help="Day it happened, YYYY-MM-DD (default today).")] = None,
    by: By = None,
    expect_version: Expect = None,
    json_: Json = False,
) -> None:
    """Record a note or a contact (a visit, a call...) in the case's history; nothing else changes."""
    email = who(by)
    e = get_app().cases.note(ref, email, text, kind=kind, on=parse_date(on), expected_version=expect_version)
    if json_:
        emit_json(_event_row(e, set(), email))
        return
    typer.echo(f"{ref.strip().upper()} {e.payload['kind']} on {e.effective_on} by {email} recorded as event {e.seq}")


# -- people --------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    email: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[list[str], typer.Option("--role", help="Role (repeatable).")],
    by: By = None,
) -> None:
    """Add a user with one or more roles."""
    u = get_app().people.add_user(email, name, role, (by and who(by)) or get_app().settings.user)
    typer.echo(f"added {u.email} ({', '.join(u.roles)})")


@users_app.command("list")
def users_list(limit: Limit = DEFAULT_LIMIT, after: After = None, by: By = None, json_: Json = False) -> None:
    """List users by email, a page at a time."""
    page = get_app().reads.users(actor(by), limit=limit, after=after)
    emit_page(page, [user_json(u) for u in page], ["email", "name", "roles", "teams", "active"], json_)


@users_app.command("deactivate")
def users_deactivate(email: str, by: By = None) -> None:
    """Deactivate a user (their history is kept)."""
    get_app().people.deactivate(email, who(by))
    typer.echo(f"deactivated {email}")


@teams_app.command("add")
def teams_add(
    name: str,
    manager: Annotated[str | None, typer.Option(help="Team manager's email.")] = None,
    service_manager: Annotated[str | None, typer.Option(help="Service manager's email.")] = None,
    member: Annotated[list[str] | None, typer.Option("--member", help="Member email.")] = None,
    by: By = None,
) -> None:
    """Add a team."""
    get_app().people.add_team(name, who(by), manager=manager, service_manager=service_manager, members=member or [])
    typer.echo(f"added team {name} ({len(member or [])} members)")


@teams_app.command("list")
def teams_list(limit: Limit = DEFAULT_LIMIT, after: After = None, by: By = None, json_: Json = False) -> None:
    """List teams by name, a page at a time."""
    page = get_app().reads.teams(actor(by), limit=limit, after=after)
    emit_page(page, [team_json(t) for t in page], ["name", "manager", "service_manager", "members"], json_)


@app.command("today")
def today(json_: Json = False) -> None:
    """Print today's date in Europe/London (by the injected clock)."""
    day = local_today(get_app().clock).isoformat()
    emit_json({"today": day}) if json_ else typer.echo(day)


# The command groups in modules of their own, imported once the groups above exist.
from carepath.entrypoints import cli_accounts, cli_clock, cli_demo, cli_people, cli_service, cli_worker  # noqa: E402
from carepath.entrypoints.cli_reports import report_app  # noqa: E402

cli_clock.register(app, case_app)
cli_worker.register(app)
cli_service.register(app)
cli_demo.register(app)
cli_people.register(app)
cli_accounts.register(users_app, case_app)
app.add_typer(report_app, name="report")
__all__ = ["app", "fail"]
