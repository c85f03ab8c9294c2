"""The pages: server-rendered, GOV.UK and MOJ patterns, every one working without JavaScript.

Each handler reads who is signed in, calls the application services (which authorize every read
and command, as for the CLI and the API) and renders a template. A refused form is shown again
with the GOV.UK error summary and nothing written; a stale form (the case moved since it was
opened) is refused with what changed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from carepath.engine.case import NOTE_KINDS, Actor, Case
from carepath.engine.clock import local_today
from carepath.engine.errors import (
    CarepathError,
    ConcurrencyConflict,
    GuardFailed,
    InvalidInput,
    NotPermitted,
    TransitionRejected,
)
from carepath.engine.people import PERSON_ROLES
from carepath.engine.policy import CASE_COMMANDS, Subject, case_scope_filter, permitted
from carepath.engine.reads import CaseFilter
from carepath.engine.text import lookup_reference
from carepath.entrypoints.web import present
from carepath.entrypoints.web.forms import Field, Posted, field_for_message, fields_for, read_date, read_form
from carepath.entrypoints.web.session import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    check_csrf,
    new_sign_in_token,
    page_actor,
    remember_session,
    sign_in_token_ok,
    web_session,
)

if TYPE_CHECKING:
    from carepath.config.bootstrap import App
    from carepath.engine.definition import WorkflowDef
    from carepath.engine.registry import WorkflowRegistry

router = APIRouter()
#: "Due soon" on My work and the team page: within this many working days.
DUE_WITHIN_WORKING_DAYS = 10
PAGE = 25
#: The team page shows this many due deadlines and breaches, soonest (latest) first, with a link on.
TEAM_PAGE = 50


# -- rendering -------------------------------------------------------------------------


def carepath(request: Request) -> App:
    return request.app.state.carepath  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    active: bool = False
    badge: int | None = None
    badge_label: str = ""


#: The sections, in order, with the command a role must hold for each to appear.
_SECTIONS: tuple[tuple[str, str, str | None], ...] = (
    ("My work", "/my-work", "case.note"),
    ("Cases", "/cases", "case.list"),
    ("Deadlines", "/deadlines", "deadlines.read"),
    ("Team", "/team", "case.assign"),
    ("Decisions", "/decisions", None),
    ("Panels", "/panels", "panel.add"),
    ("Reports", "/reports", "report.read"),
    ("Admin", "/admin/users", "user.add"),
)


def _may(actor: Actor, command: str) -> bool:
    """Whether ``actor`` may run ``command`` at all (on some case of theirs, for a case command)."""
    if command not in CASE_COMMANDS:
        return permitted(actor, command)
    return case_scope_filter(actor, command)[0] != "none"


def nav_for(actor: Actor, path: str) -> list[NavItem]:
    out = []
    for label, href, command in _SECTIONS:
        if command is None:
            if "agency_decision_maker" not in actor.roles:
                continue
        elif not _may(actor, command):
            continue
        section = "/admin/" if href.startswith("/admin/") else href + "/"
        active = path == href or path.startswith(section)
        out.append(NavItem(label, href, active))
    return out


def _with_badges(app: App, actor: Actor, nav: list[NavItem]) -> list[NavItem]:
    """MOJ badges with what needs attention (UI.md): overdue deadlines on my cases, cases awaiting a
    decision, cases waiting for a panel step. Counts are capped like every list total (200), and each
    is one count query (the list's own filters and authorization, no page of rows read)."""
    out = []
    for item in nav:
        count, label = None, ""
        try:
            if item.href == "/my-work":
                yesterday = local_today(app.clock) - timedelta(days=1)
                count = app.reads.deadlines_due_count(yesterday, actor, owner_id=actor.id)
                label = "overdue deadlines on your cases"
            elif item.href == "/decisions":
                count = app.reads.tray_count(actor, places=_places_for_role(app, "agency_decision_maker"))
                label = "cases awaiting a decision"
            elif item.href == "/panels" and "panel_coordinator" in actor.roles:
                count = app.reads.tray_count(actor, places=_places_for_role(app, "panel_coordinator"))
                label = "cases waiting for a panel step"
        except NotPermitted:
            count = None
        out.append(replace(item, badge=count or None, badge_label=label) if count else item)
    return out


def render(request: Request, template: str, title: str, status: int = 200, **context: Any) -> HTMLResponse:
    app = carepath(request)
    session = web_session(request)
    base: dict[str, Any] = {
        "request": request,
        "title": title,
        "council_name": app.settings.web.council_name,
        "today": local_today(app.clock),
    }
    if session is not None:
        base.update(
            user_name=session.name or session.actor.email,
            csrf_token=session.csrf_token,
            nav=_with_badges(app, session.actor, nav_for(session.actor, request.url.path)),
            me=session.actor,
        )
    base.update(context)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, template, base, status_code=status)  # type: ignore[no-any-return]


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    if request.url.path.startswith("/api/"):
        from fastapi.responses import JSONResponse

        return JSONResponse({"error": detail or title}, status_code=status)
    return render(request, "error.html", title, status=status, heading=title, detail=detail)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never ``//evil.example`` or a full URL)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


# -- sign in and out ---------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = "/", expired: int = 0, signed_out: int = 0) -> Response:
    token = new_sign_in_token()
    flash: dict[str, Any] | None = None
    if expired:
        flash = {"title": "Important", "text": "You were signed out because you were inactive. Sign in again."}
    elif signed_out:
        flash = {"title": "Success", "text": "You have signed out.", "success": True}
    response = render(
        request, "sign_in.html", "Sign in", sign_in_token=token, next=_safe_next(next), flash=flash, values={}
    )
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=1800, **request.app.state.cookies.options())
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    from carepath.engine.services.accounts import SignInRefused

    form = await request.form()
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    next_path = _safe_next(str(form.get("next") or "/"))
    errors: list[tuple[str, str]] = []
    if not sign_in_token_ok(request, form.get("sign_in_token")):
        errors.append(("email", "Your sign-in form expired. Enter your email address and password again"))
    if not email:
        errors.append(("email", "Enter your email address"))
    if not password:
        errors.append(("password", "Enter your password"))
    if not errors:
        client = (request.client.host if request.client else "unknown")[:64]
        try:
            done = carepath(request).accounts.sign_in(email, password, client=client)
        except SignInRefused as exc:
            errors.append(("email", str(exc)))
        except InvalidInput:
            errors.append(("email", "Enter a correct email address and password"))
        else:
            cookies = request.app.state.cookies
            restored = _restored(request, done, next_path, form)
            if restored is not None:
                restored.set_cookie(SESSION_COOKIE, cookies.dump(done.token), **cookies.options())
                restored.delete_cookie(SIGN_IN_COOKIE, path="/")
                return restored
            moved = see_other(next_path)
            moved.set_cookie(SESSION_COOKIE, cookies.dump(done.token), **cookies.options())
            moved.delete_cookie(SIGN_IN_COOKIE, path="/")
            return moved
    token = new_sign_in_token()
    response = render(
        request,
        "sign_in.html",
        "Sign in",
        status=400,
        errors=errors,
        sign_in_token=token,
        next=next_path,
        values={"email": email[:320]},
        kept=[(k.removeprefix(_KEPT_PREFIX), str(v)) for k, v in form.multi_items() if k.startswith(_KEPT_PREFIX)],
    )
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=1800, **request.app.state.cookies.options())
    return response


#: Form fields a sign-in carries back to the form it interrupted (never the old CSRF token).
_KEPT_PREFIX = "kept:"
_ACTION_PATH = re.compile(r"/cases/([A-Za-z0-9-]{1,40})/actions/([a-z_]{1,80})")


async def _sign_in_keeping(request: Request, path: str) -> Response:
    """The sign-in page, carrying the posted form's fields in its own form (never in a URL or cookie)."""
    form = await request.form()
    kept = [(k, str(v)[:10_000]) for k, v in form.multi_items() if k != "csrf_token" and isinstance(v, str)][:100]
    token = new_sign_in_token()
    flash = {
        "title": "Important",
        "text": "You were signed out after 30 minutes without activity. Sign in again: what you entered is kept.",
    }
    response = render(
        request,
        "sign_in.html",
        "Sign in",
        status=401,
        sign_in_token=token,
        next=path,
        flash=flash,
        values={},
        kept=kept,
    )
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=1800, **request.app.state.cookies.options())
    return response


def _restored(request: Request, done: Any, next_path: str, form: Any) -> Response | None:
    """After signing in again, the interrupted form filled in as it was (for the person to check and send)."""
    found = _ACTION_PATH.fullmatch(next_path)
    kept = [(k.removeprefix(_KEPT_PREFIX), str(v)) for k, v in form.multi_items() if k.startswith(_KEPT_PREFIX)]
    if found is None or not kept:
        return None
    remember_session(request, done.session)
    app = carepath(request)
    actor = done.session.actor
    ref, name = found.groups()
    c = app.reads.case(ref, actor)
    action = _action_form(app, actor, c, name)
    values = dict(kept)
    posted = Posted(values={k: v for k, v in values.items() if k not in ("version", "seq")})
    journey = app.workflows.get(c.workflow_id, c.workflow_version).definition
    flash = {"title": "Important", "text": "You are signed in again. Check what you entered, then send it."}
    return render(
        request,
        "action.html",
        f"{action.title} – {c.ref}",
        case=c,
        listing=app.reads.case_listing(c.ref, actor),
        journey=journey,
        stage=_stage_label(app, c.workflow_id, c.workflow_version, c.state),
        sub_nav="action",
        form=action,
        posted=posted,
        version=_int(values.get("version")) or c.version,
        seq=_int(values.get("seq")) or c.last_seq,
        errors=[],
        flash=flash,
    )


@router.post("/sign-out", dependencies=[Depends(check_csrf)])
def sign_out(request: Request) -> Response:
    cookies = request.app.state.cookies
    raw = request.cookies.get(SESSION_COOKIE)
    token = cookies.load(raw) if raw else None
    if token:
        carepath(request).accounts.sign_out(token)
    response = see_other("/sign-in?signed_out=1")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- home, my work, search -------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    actor = page_actor(request)
    roles = actor.roles
    if roles & {"caseworker"}:
        return see_other("/my-work")
    if roles & {"team_manager", "service_manager"}:
        return see_other("/team")
    if "agency_decision_maker" in roles:
        return see_other("/decisions")
    if "panel_coordinator" in roles:
        return see_other("/panels")
    if "admin" in roles:
        return see_other("/admin/users")
    return see_other("/cases")


def _journeys(app: App) -> list[WorkflowDef]:
    return [app.workflows.latest(w).definition for w in app.workflows.ids()]


def _stage_label(app: App, workflow_id: str, version: int, state: str) -> str:
    try:
        d = app.workflows.get(workflow_id, version).definition
        return d.state(state).label or present.humanise(state)
    except (CarepathError, KeyError):
        return present.humanise(state)


def _title_of(app: App, workflow_id: str) -> str:
    try:
        return app.workflows.latest(workflow_id).definition.title
    except CarepathError:
        return present.humanise(workflow_id)


@dataclass(frozen=True, slots=True)
class Row:
    """A case in a table: what the tray shows."""

    ref: str
    journey: str
    stage: str
    status: str
    owner: str | None
    team: str | None
    deadline: present.DeadlineView | None


def _rows(app: App, items: Sequence[Any], today: date) -> list[Row]:
    out = []
    for item in items:
        c = item.listing.case
        d = item.next_deadline
        view = None
        if d is not None:
            compiled = app.workflows.get(c.workflow_id, c.workflow_version)
            view = present.deadline_view(d, present.rule_of(compiled.definition, d.rule), today, app.calendar)
        out.append(
            Row(
                c.ref,
                _title_of(app, c.workflow_id),
                _stage_label(app, c.workflow_id, c.workflow_version, c.state),
                c.status.replace("_", " "),
                item.listing.owner,
                item.listing.team,
                view,
            )
        )
    return out


def _filters(request: Request, app: App) -> dict[str, Any]:
    q = request.query_params
    journey = q.get("journey") or ""
    known = {d.id for d in _journeys(app)}
    if journey and journey not in known:
        raise InvalidInput(f"no journey {journey[:80]!r}: choose one of the list")
    stage = q.get("stage") or ""
    if stage and journey:
        states = app.workflows.latest(journey).definition.states
        if stage not in states:
            raise InvalidInput(f"the {journey} journey has no stage {stage[:80]!r}")
    elif stage and not any(stage in d.states for d in _journeys(app)):
        raise InvalidInput(f"no journey has a stage {stage[:80]!r}")
    status = q.get("status") or ""
    if status not in ("", "open", "on_hold"):
        raise InvalidInput("status must be open or on hold")
    return {"journey": journey, "stage": stage, "status": status, "after": q.get("after") or None}


def _stage_options(app: App) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for d in _journeys(app):
        for s in d.states.values():
            seen.setdefault(s.name, s.label or present.humanise(s.name))
    return sorted(seen.items(), key=lambda kv: kv[1])


@router.get("/my-work", response_class=HTMLResponse)
def my_work(request: Request) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    today = local_today(app.clock)
    f = _filters(request, app)
    statuses = (f["status"],) if f["status"] else ("open", "on_hold")
    page = app.reads.tray(
        actor,
        owner_id=actor.id,
        workflow=f["journey"],
        state=f["stage"],
        statuses=statuses,
        limit=PAGE,
        after=f["after"],
    )
    rows = _rows(app, page.items, today)
    until = app.calendar.add_working_days(today, DUE_WITHIN_WORKING_DAYS)
    due = app.reads.deadlines_due(until, actor, owner_id=actor.id, limit=PAGE)
    due_rows = [_due_row(app, d, today) for d in due]
    return render(
        request,
        "my_work.html",
        "My work",
        rows=rows,
        page=page,
        due_rows=due_rows,
        due_total=due.total,
        due_exact=due.total_exact,
        until=until,
        filters=f,
        journeys=[(d.id, d.title) for d in _journeys(app)],
        stages=_stage_options(app),
        next_href=_with(request, after=page.next) if page.next else None,
    )


def _with(request: Request, **changes: str | None) -> str:
    params = {k: v for k, v in request.query_params.items() if v}
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    return request.url.path + ("?" + urlencode(params) if params else "")


@dataclass(frozen=True, slots=True)
class DueRow:
    ref: str
    owner: str | None
    team: str | None
    deadline: present.DeadlineView


def _due_row(app: App, listing: Any, today: date) -> DueRow:
    compiled = app.workflows.get(listing.workflow_id, listing.workflow_version)
    rule = present.rule_of(compiled.definition, listing.deadline.rule)
    return DueRow(
        listing.case_ref,
        listing.owner,
        listing.team,
        present.deadline_view(listing.deadline, rule, today, app.calendar),
    )


@router.get("/cases", response_class=HTMLResponse)
def search(request: Request, q: str = "") -> Response:
    actor = page_actor(request)
    app = carepath(request)
    q = q.strip()[:200]
    errors: list[tuple[str, str]] = []
    people: list[Any] = []
    cases: list[Any] = []
    if q:
        stored = lookup_reference(q)
        if stored is not None:
            try:
                found = app.reads.case_listing(stored, actor)
            except (CarepathError, LookupError):
                found = None
            if found is not None:
                return see_other(f"/cases/{found.case.ref}")
        born_on = _date_in(q)
        try:
            if born_on is not None:
                hits = app.persons.find(actor, born_on=born_on, limit=20)
            else:
                hits = app.persons.find(actor, name=q, limit=20)
        except InvalidInput as exc:
            errors.append(("q", str(exc)))
            hits = None
        except NotPermitted:
            hits = None
        for hit in hits or ():
            record = app.persons.show(hit.person.id, actor)
            people.append((hit, record.cases))
    else:
        page = app.reads.cases(CaseFilter(limit=PAGE), actor)
        cases = [(c.case, _stage_label(app, c.case.workflow_id, c.case.workflow_version, c.case.state)) for c in page]
    return render(
        request,
        "cases.html",
        "Find a case",
        q=q,
        people=people,
        recent=cases,
        errors=errors,
        titles={d.id: d.title for d in _journeys(app)},
    )


def _date_in(text: str) -> date | None:
    """A date of birth typed as 2015-03-01 or 1/3/2015."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    bits = text.replace("-", "/").replace(".", "/").split("/")
    if len(bits) == 3 and all(b.isdigit() for b in bits) and len(bits[2]) == 4:
        try:
            return date(int(bits[2]), int(bits[1]), int(bits[0]))
        except ValueError:
            return None
    return None


# -- the case page ----------------------------------------------------------------------


def _case_context(request: Request, ref: str, what: str) -> tuple[App, Actor, Case, dict[str, Any]]:
    actor = page_actor(request)
    app = carepath(request)
    listing = app.reads.case_listing(ref, actor)
    c = listing.case
    app.accounts.record_view(actor, c.ref, what, "web")
    compiled = app.workflows.get(c.workflow_id, c.workflow_version)
    d = compiled.definition
    ctx: dict[str, Any] = {
        "case": c,
        "listing": listing,
        "journey": d,
        "stage": _stage_label(app, c.workflow_id, c.workflow_version, c.state),
        "sub_nav": what,
    }
    return app, actor, c, ctx


def _stages(d: WorkflowDef, current: str) -> list[tuple[str, str]]:
    """The journey's stages in declared order: ("done" | "current" | "todo", label)."""
    out = []
    seen_current = False
    for s in d.states.values():
        if s.terminal and s.name != current:
            continue
        if s.name == current:
            out.append(("current", s.label or present.humanise(s.name)))
            seen_current = True
        else:
            out.append(("todo" if seen_current else "done", s.label or present.humanise(s.name)))
    return out


def _facts_rows(d: WorkflowDef, facts: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for name, value in facts.items():
        spec = d.facts.get(name)
        label = spec.label if spec and spec.label else present.humanise(name)
        if spec is not None and spec.type == "date":
            try:
                value = present.long_date(date.fromisoformat(str(value)))
            except ValueError:
                pass
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        rows.append((label, str(value)))
    return rows


@router.get("/cases/{ref}", response_class=HTMLResponse)
def case_page(request: Request, ref: str) -> Response:
    app, actor, c, ctx = _case_context(request, ref, "case")
    today = local_today(app.clock)
    d = ctx["journey"]
    deadlines = app.reads.deadlines_of(c, actor)
    views = [present.deadline_view(x, present.rule_of(d, x.rule), today, app.calendar, d) for x in deadlines]
    views.sort(key=lambda v: (not v.live, v.due_on))
    live = [v for v in views if v.live]
    missed = [v for v in views if not v.live and v.status in ("breached", "met late")]
    done = [v for v in views if not v.live and v.status not in ("breached", "met late")]
    actions = app.cases.actions(c, actor) if c.status != "closed" else []
    try:
        people = app.persons.participants(c, actor)
    except NotPermitted:
        people = []
    may = {
        cmd: permitted(actor, cmd, Subject(c.owner_id, c.team_id))
        for cmd in (
            "case.hold",
            "case.resume",
            "case.withdraw",
            "case.close",
            "case.assign",
            "case.note",
            "case.void",
            "person.add",
            "person.link",
        )
    }
    return render(
        request,
        "case.html",
        f"{c.ref}",
        **ctx,
        stages=_stages(d, c.held_from or c.state),
        live=live,
        missed=missed,
        done=done,
        actions=actions,
        people=people,
        facts=_facts_rows(d, c.facts),
        may=may,
        breached=[v for v in views if v.status in ("breached", "overdue")],
        role_labels=PERSON_ROLES,
        flash=_person_banner(request),
    )


def _person_banner(request: Request) -> dict[str, Any] | None:
    """The success banner after a person was added to the case, linked to it or taken off it: their role,
    never their name (the redirect's URL carries only the role's code)."""
    q = request.query_params
    for key, text in (
        ("added", "Person added to the case as: {}."),
        ("linked", "Person linked to the case as: {}."),
        ("removed", "Person taken off the case (they were on it as: {}). They stay on their other cases."),
    ):
        role = q.get(key)
        if role is not None and role in PERSON_ROLES:
            return {"title": "Success", "text": text.format(PERSON_ROLES[role]), "success": True}
    return None


@router.get("/cases/{ref}/timeline", response_class=HTMLResponse)
def timeline(request: Request, ref: str, after: str | None = None) -> Response:
    app, actor, c, ctx = _case_context(request, ref, "timeline")
    _, page = app.reads.history(c.ref, actor, limit=100, after=after)
    entries = list(page)
    entries.reverse()  # newest first, as the MOJ timeline reads
    return render(
        request,
        "timeline.html",
        f"Timeline – {c.ref}",
        **ctx,
        entries=entries,
        next_href=f"/cases/{c.ref}/timeline?after={page.next}" if page.next else None,
        labels=_trigger_labels(ctx["journey"]),
    )


def _trigger_labels(d: WorkflowDef) -> dict[str, str]:
    labels = {t.trigger: t.label or present.humanise(t.trigger) for t in d.transitions}
    labels.update(
        open="Case opened",
        hold="Put on hold",
        resume="Resumed",
        withdraw="Withdrawn",
        close="Closed",
        assign="Reassigned",
        note="Note",
        entered_in_error="Marked as entered in error",
        reminder_due="Reminder sent",
        deadline_breached="Deadline breached",
        deadline_escalated="Escalated to manager",
    )
    return labels


# -- actions ----------------------------------------------------------------------------

#: Built-in moves with their own forms, by URL name: (title, button, command).
BUILTIN = {
    "note": ("Add a note or contact", "Save note", "case.note"),
    "hold": ("Put the case on hold", "Put on hold", "case.hold"),
    "resume": ("Resume the case", "Resume", "case.resume"),
    "withdraw": ("Withdraw the case", "Withdraw", "case.withdraw"),
    "close": ("Close the case", "Close the case", "case.close"),
    "assign": ("Reassign the case", "Reassign", "case.assign"),
    "error": ("Mark the latest event as entered in error", "Mark as entered in error", "case.void"),
}


def _builtin_fields(app: App, c: Case, d: WorkflowDef, name: str) -> list[Field]:
    if name == "note":
        return [
            Field(
                "kind",
                "What kind of record is this?",
                "",
                "choice",
                True,
                tuple((k, k.capitalize()) for k in NOTE_KINDS),
            ),
            Field("text", "Note", "What happened, what was agreed, who was there.", "textarea", True),
        ]
    if name == "hold":
        return [Field("reason", "Why is the case going on hold?", "", "textarea", True)]
    if name in ("withdraw", "close"):
        options = tuple((code, f"{code}: {text}") for code, text in d.exit_reasons.items())
        return [
            Field("reason", "Reason", "The exit reason that will be recorded and reported.", "choice", True, options)
        ]
    if name == "assign":
        return [
            Field("owner", "New owner", "Email address of the worker who will hold the case.", "user", False),
            Field("team", "New team", "Leave empty to keep the team.", "text", False),
        ]
    if name == "error":
        return [
            Field(
                "seq", "Event number", "The latest event on the timeline (only that one can be voided).", "number", True
            ),
            Field("reason", "Why was it wrong?", "", "textarea", True),
        ]
    return []


@dataclass(frozen=True, slots=True)
class ActionForm:
    name: str
    title: str
    button: str
    fields: list[Field]
    reasons: tuple[str, ...] = ()
    with_date: bool = True
    with_note: bool = True
    builtin: bool = False


def _action_form(app: App, actor: Actor, c: Case, name: str) -> ActionForm:
    compiled = app.workflows.get(c.workflow_id, c.workflow_version)
    d = compiled.definition
    if name in BUILTIN:
        title, button, command = BUILTIN[name]
        if not permitted(actor, command, Subject(c.owner_id, c.team_id)):
            raise NotPermitted(actor.email, command, "this is not in your role for this case")
        fields = _builtin_fields(app, c, d, name)
        return ActionForm(
            name,
            title,
            button,
            fields,
            with_date=name not in ("error",),
            with_note=name not in ("note", "hold", "error"),
            builtin=True,
        )
    action = next((a for a in app.cases.actions(c, actor) if a.trigger == name), None)
    if action is None:
        raise InvalidInput(f"{c.ref} is at {c.state!r}: {name[:80]!r} is not one of its next steps")
    t = compiled.by_source[c.state][name]
    return ActionForm(
        name,
        action.label or present.humanise(name),
        action.label or present.humanise(name),
        fields_for(t, d.facts),
        action.reasons,
    )


@router.get("/cases/{ref}/actions/{name}", response_class=HTMLResponse)
def action_form(request: Request, ref: str, name: str) -> Response:
    app, actor, c, ctx = _case_context(request, ref, "action")
    if c.status == "closed" and name != "note":
        raise InvalidInput(f"{c.ref} is closed")
    form = _action_form(app, actor, c, name)
    return render(
        request,
        "action.html",
        f"{form.title} – {c.ref}",
        **ctx,
        form=form,
        posted=Posted(),
        version=c.version,
        seq=c.last_seq,
        errors=[],
    )


@router.post("/cases/{ref}/actions/{name}", response_class=HTMLResponse)
async def action_post(request: Request, ref: str, name: str) -> Response:
    if web_session(request) is None:
        # Signed out (30 idle minutes) while filling the form: sign in again, keeping what was typed.
        return await _sign_in_keeping(request, f"/cases/{ref[:40]}/actions/{name[:80]}")
    await check_csrf(request)
    actor = page_actor(request)
    app = carepath(request)
    c = app.reads.case(ref, actor)
    form_data = await request.form()
    version = _int(form_data.get("version"))
    seen_seq = _int(form_data.get("seq"))
    if (form_data.get("version") and version is None) or (form_data.get("seq") and seen_seq is None):
        raise InvalidInput("this form is damaged (its version is not a number): reload the page and try again")
    if version is not None and version != c.version:
        # The case moved since the form was opened: say what changed, whatever the move was.
        return _stale(request, app, actor, c, seen_seq)
    form = _action_form(app, actor, c, name)
    posted = read_form(form_data, form.fields, with_date=form.with_date)
    journey = app.workflows.get(c.workflow_id, c.workflow_version).definition
    if not posted.errors:
        try:
            _fire(app, actor, c, form, posted, version)
        except ConcurrencyConflict:
            return _stale(request, app, actor, app.reads.case(ref, actor), seen_seq)
        except GuardFailed as exc:
            for reason in exc.reasons:
                posted.errors.append((field_for_message(reason, form.fields), present.plain(reason, journey)))
        except (InvalidInput, TransitionRejected, NotPermitted) as exc:
            message = exc.detail if isinstance(exc, (TransitionRejected, NotPermitted)) else str(exc)
            posted.errors.append((field_for_message(message, form.fields), present.plain(message, journey)))
        else:
            return see_other(f"/cases/{c.ref}?done={name}")
    ctx = {
        "case": c,
        "listing": app.reads.case_listing(c.ref, actor),
        "journey": journey,
        "stage": _stage_label(app, c.workflow_id, c.workflow_version, c.state),
        "sub_nav": "action",
    }
    return render(
        request,
        "action.html",
        f"{form.title} – {c.ref}",
        status=400,
        **ctx,
        form=form,
        posted=posted,
        version=c.version,
        seq=c.last_seq,
        errors=posted.errors,
        labels=_trigger_labels(journey),
    )


def _stale(request: Request, app: App, actor: Actor, c: Case, seen_seq: int | None) -> Response:
    """The refusal of a form opened before the case last changed: what changed since, and a way back."""
    _, page = app.reads.history(c.ref, actor, limit=100, after=str(seen_seq) if seen_seq else None)
    journey = app.workflows.get(c.workflow_id, c.workflow_version).definition
    return render(
        request,
        "stale.html",
        f"This case changed – {c.ref}",
        status=409,
        case=c,
        journey=journey,
        stage=_stage_label(app, c.workflow_id, c.workflow_version, c.state),
        changed=list(page),
        labels=_trigger_labels(journey),
        errors=[("changes", "This case changed since you opened it: nothing was saved")],
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else "Something is wrong"


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _fire(app: App, actor: Actor, c: Case, form: ActionForm, posted: Posted, version: int | None) -> None:
    v = version
    if not form.builtin:
        app.cases.fire(
            c.ref, form.name, actor, on=posted.on, facts=posted.typed(), note=posted.note, expected_version=v
        )
        return
    f = posted.facts
    if form.name == "note":
        app.cases.note(c.ref, actor, f.get("text", ""), kind=f.get("kind", "note"), on=posted.on, expected_version=v)
    elif form.name == "hold":
        app.cases.hold(c.ref, actor, f.get("reason", ""), on=posted.on, expected_version=v)
    elif form.name == "resume":
        app.cases.resume(c.ref, actor, on=posted.on, note=posted.note, expected_version=v)
    elif form.name in ("withdraw", "close"):
        trigger: Literal["withdraw", "close"] = "withdraw" if form.name == "withdraw" else "close"
        app.cases.withdraw(
            c.ref, actor, f.get("reason", ""), trigger=trigger, on=posted.on, note=posted.note, expected_version=v
        )
    elif form.name == "assign":
        owner_id = app.directory.user_id(f["owner"]) if f.get("owner") else None
        team_id = app.directory.team_id(f["team"]) if f.get("team") else None
        app.cases.assign(
            c.ref, actor, owner_id=owner_id, team_id=team_id, on=posted.on, note=posted.note, expected_version=v
        )
    elif form.name == "error":
        seq = _int(f.get("seq"))
        if seq is None or seq < 1:
            raise InvalidInput("seq: enter the event's number, a whole number like 12")
        app.cases.mark_in_error(c.ref, seq, actor, f.get("reason", ""), expected_version=v)


# -- managers, decision makers, panels, deadlines ------------------------------------------


def _month_start(d: date) -> date:
    return d.replace(day=1)


@router.get("/team", response_class=HTMLResponse)
def team(request: Request, team: str | None = None) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    today = local_today(app.clock)
    teams = [t for t in app.reads.teams(actor, limit=200) if t.id in actor.team_ids or "service_manager" in actor.roles]
    if not teams:
        raise NotPermitted(actor.email, "case.assign", "you manage no team")
    chosen = next((t for t in teams if t.name == team), teams[0]) if team else teams[0]
    loads = app.reads.caseloads(actor, chosen.id)
    until = app.calendar.add_working_days(today, DUE_WITHIN_WORKING_DAYS)
    due = app.reads.deadlines_due(until, actor, team_id=chosen.id, limit=TEAM_PAGE)
    by_worker: dict[str, list[DueRow]] = {}
    for listing in due:
        by_worker.setdefault(listing.owner or "(nobody)", []).append(_due_row(app, listing, today))
    breaches = app.reads.breaches(actor, _month_start(today), today, team_id=chosen.id, limit=TEAM_PAGE)
    return render(
        request,
        "team.html",
        f"Team – {chosen.name}",
        team=chosen,
        teams=teams,
        loads=loads,
        by_worker=sorted(by_worker.items()),
        due_total=due.total,
        due_exact=due.total_exact,
        breaches=list(breaches),
        breach_total=breaches.total,
        until=until,
        month=today.strftime("%B %Y"),
    )


@router.get("/deadlines", response_class=HTMLResponse)
def deadlines(request: Request, after: str | None = None, team: str | None = None) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    today = local_today(app.clock)
    until = app.calendar.add_working_days(today, DUE_WITHIN_WORKING_DAYS)
    team_id = app.directory.team_id(team[:200]) if team else None
    page = app.reads.deadlines_due(until, actor, team_id=team_id, limit=50, after=after)
    rows = [_due_row(app, d, today) for d in page]
    return render(
        request,
        "deadlines.html",
        "Deadlines",
        rows=rows,
        page=page,
        until=until,
        team=team[:200] if team else None,
        next_href=_with(request, after=page.next) if page.next else None,
    )


def _places_for_role(app: App, role: str) -> list[tuple[str, str]]:
    """(journey, state) pairs where a case waits for ``role``: every move on from the state is one
    that role makes (an approved carer's case, where caseworkers record visits and decision makers
    also decide, is not waiting for a decision; one awaiting the decision maker is). Worked out once
    per loaded set of journeys: every page asks for its navigation badge."""
    return _places(app.workflows, role)


@functools.lru_cache(maxsize=16)
def _places(workflows: WorkflowRegistry, role: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for compiled in workflows:
        d = compiled.definition
        onward: dict[str, list[tuple[str, ...]]] = {}
        for t in d.transitions:
            for source in t.sources:
                if t.dest != source:
                    onward.setdefault(source, []).append(t.roles)
        out.extend((d.id, state) for state, roles in onward.items() if all(role in r for r in roles))
        out.extend((d.id, state) for state in _panel_places(d, role))
    return sorted(set(out))


def _panel_places(d: WorkflowDef, role: str) -> set[str]:
    """A journey's panel states for the coordinator (ready, booked, recommended), and for the
    decision maker the states its final minutes move a case to (the 7 working days run there)."""
    from carepath.engine.services.panels import panel_routes

    out: set[str] = set()
    for route in panel_routes(d).values():
        if role == "panel_coordinator":
            out.update(s for s in (route.ready, route.booked, route.recommended) if s)
        elif role == "agency_decision_maker" and route.minutes and route.recommended:
            out.update(t.dest for t in d.transitions if t.trigger == route.minutes and route.recommended in t.sources)
    return out


@router.get("/decisions", response_class=HTMLResponse)
def decisions(request: Request, after: str | None = None) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    if "agency_decision_maker" not in actor.roles:
        raise NotPermitted(actor.email, "decide", "only an agency decision maker has a decisions list")
    today = local_today(app.clock)
    page = app.reads.tray(actor, places=_places_for_role(app, "agency_decision_maker"), limit=PAGE, after=after)
    return render(
        request,
        "queue.html",
        "Cases awaiting a decision",
        heading="Cases awaiting a decision",
        lead="The decision is due within 7 working days of the panel's final minutes.",
        rows=_rows(app, page.items, today),
        page=page,
        next_href=f"/decisions?after={page.next}" if page.next else None,
    )


# -- admin -----------------------------------------------------------------------------


@router.get("/admin/users", response_class=HTMLResponse)
def admin_users(request: Request, after: str | None = None) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    return _users_page(request, app, actor, after=after)


def _users_page(
    request: Request,
    app: App,
    actor: Actor,
    *,
    after: str | None = None,
    errors: list[tuple[str, str]] | None = None,
    values: dict[str, Any] | None = None,
    flash: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    from carepath.engine.roles import ROLES

    page = app.reads.users(actor, limit=100, after=after)
    teams = app.reads.teams(actor, limit=200)
    return render(
        request,
        "admin_users.html",
        "Users and teams",
        status=status,
        users=list(page),
        teams=list(teams),
        next_href=f"/admin/users?after={page.next}" if page.next else None,
        admin_nav="users",
        roles_humanised=[(r, present.humanise(r)) for r in ROLES if r != "system"],
        may_add=permitted(actor, "user.add"),
        errors=errors or [],
        values=values or {},
        flash=flash,
    )


@router.post("/admin/users", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def admin_add_user(request: Request) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    form = await request.form()
    email = str(form.get("email") or "").strip()
    name = str(form.get("name") or "").strip()
    roles = [str(r) for r in form.getlist("roles")]
    password = str(form.get("password") or "")
    values = {"email": email[:320], "name": name[:200], "roles": roles}
    errors: list[tuple[str, str]] = []
    if not email:
        errors.append(("email", "Enter the person's work email address"))
    if not name:
        errors.append(("name", "Enter the person's name"))
    if not roles:
        errors.append(("roles", "Select at least one role"))
    if not password:
        errors.append(("password", "Enter a first password for them (12 characters or more)"))
    else:
        from carepath.engine.services.accounts import check_password

        try:
            check_password(password, email)
        except InvalidInput as exc:
            errors.append(("password", _sentence(str(exc))))
    if not errors:
        try:
            app.people.add_user(email, name, roles, actor)
        except (InvalidInput, NotPermitted) as exc:
            field = "roles" if "role" in str(exc) else "name" if "name" in str(exc) else "email"
            if isinstance(exc, NotPermitted):
                raise
            errors.append((field, _sentence(str(exc))))
        else:
            app.accounts.set_password(email, password, actor)
            flash = {"title": "Success", "text": f"{email} can now sign in.", "success": True}
            return _users_page(request, app, actor, flash=flash)
    return _users_page(request, app, actor, errors=errors, values=values, status=400)


@router.post("/admin/users/deactivate", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def admin_deactivate(request: Request) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    email = str((await request.form()).get("email") or "").strip()
    app.people.deactivate(email, actor)
    flash = {"title": "Success", "text": f"{email[:320]} can no longer sign in.", "success": True}
    return _users_page(request, app, actor, flash=flash)


@router.get("/admin/calendar", response_class=HTMLResponse)
def admin_calendar(request: Request) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    if "admin" not in actor.roles:
        raise NotPermitted(actor.email, "calendar.change", "only an administrator manages the calendar")
    return _calendar_page(request, app, actor)


def _calendar_page(
    request: Request,
    app: App,
    actor: Actor,
    *,
    posted: Posted | None = None,
    flash: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    overrides = app.reads.overrides(actor, limit=200)
    posted = posted or Posted()
    return render(
        request,
        "admin_calendar.html",
        "Calendar closures",
        status=status,
        overrides=list(overrides),
        admin_nav="calendar",
        posted=posted,
        errors=posted.errors,
        flash=flash,
    )


@router.post("/admin/calendar", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def admin_add_closure(request: Request) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    form = await request.form()
    posted = Posted()
    for p in ("day", "month", "year"):
        posted.values[f"day-{p}"] = str(form.get(f"day-{p}") or "")
    day = read_date(form, "day", "The day", posted.errors)
    reason = str(form.get("reason") or "").strip()
    posted.values["reason"] = reason[:200]
    kind = str(form.get("kind") or "closure")
    posted.values["kind"] = kind if kind in ("closure", "opening") else "closure"
    if day is None and not posted.errors:
        posted.errors.append(("day-day", "Enter the day"))
    if not reason:
        posted.errors.append(("reason", "Enter why (for example, Council closure day)"))
    if not posted.errors and day is not None:
        try:
            app.calendar_changes.add_override(day, reason, actor, opening=kind == "opening", recompute=False)
        except InvalidInput as exc:
            posted.errors.append(("reason" if "reason" in str(exc) else "day-day", _sentence(str(exc))))
        else:
            text = f"{present.long_date(day)} added. Deadlines it moves are recomputed by carepath in the background."
            return _calendar_page(request, app, actor, flash={"title": "Success", "text": text, "success": True})
    return _calendar_page(request, app, actor, posted=posted, status=400)


@router.get("/admin/workflows", response_class=HTMLResponse)
def admin_workflows(request: Request) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    if "admin" not in actor.roles:
        raise NotPermitted(actor.email, "workflows.read", "only an administrator manages journeys")
    from carepath.entrypoints.diagram import mermaid

    journeys = _journeys(app)
    return render(
        request,
        "admin_workflows.html",
        "Journeys",
        journeys=journeys,
        diagrams={d.id: mermaid(d) for d in journeys},
        admin_nav="workflows",
    )


@router.get("/admin/viewers", response_class=HTMLResponse)
def admin_viewers(request: Request, ref: str = "") -> Response:
    actor = page_actor(request)
    app = carepath(request)
    if "admin" not in actor.roles:
        raise NotPermitted(actor.email, "case.viewers", "only an administrator reads who viewed a case")
    views = None
    errors: list[tuple[str, str]] = []
    if ref.strip():
        try:
            views = list(app.accounts.viewers(ref.strip(), actor, limit=200))
        except (InvalidInput, LookupError, CarepathError) as exc:
            errors.append(("ref", _sentence(str(exc))))
    return render(
        request,
        "admin_viewers.html",
        "Who viewed a case",
        ref=ref.strip()[:40],
        views=views,
        errors=errors,
        admin_nav="viewers",
    )
