"""The panel coordinator's pages: the ready queue and the year's sittings, one sitting's agenda with
papers and quorum, attendance, the recommendations form for the whole agenda, and the minutes.

Every form calls ``PanelService`` (engine/services/panels.py), which checks who may do it, books
each case through the case service (so ``panel_date``, ``panel_held_on`` and ``panel_members``
come from the sitting and its attendance, never typed) and writes nothing when it refuses.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from carepath.engine.clock import local_today
from carepath.engine.errors import InvalidInput
from carepath.entrypoints.web import present
from carepath.entrypoints.web.forms import Posted, read_date
from carepath.entrypoints.web.pages import (
    PAGE,
    _places_for_role,
    _rows,
    _sentence,
    carepath,
    render,
    see_other,
)
from carepath.entrypoints.web.session import check_csrf, page_actor

if TYPE_CHECKING:
    from carepath.config.bootstrap import App
    from carepath.engine.case import Actor

router = APIRouter()
DEFERRED = "deferred"


def _sitting_id(value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput("no such panel sitting")
    return int(value)


@router.get("/panels", response_class=HTMLResponse)
def panels(request: Request, after: str | None = None) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    return _panels_page(request, app, actor, after=after)


def _panels_page(
    request: Request,
    app: App,
    actor: Actor,
    *,
    after: str | None = None,
    posted: Posted | None = None,
    flash: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    today = local_today(app.clock)
    page = app.reads.tray(actor, places=_places_for_role(app, "panel_coordinator"), limit=PAGE, after=after)
    sittings = app.panels.sittings(actor, since=today, limit=50)
    recent = app.panels.sittings(actor, since=today - timedelta(days=120), limit=200)
    awaiting = [s for s in recent if s.status == "held" and s.minutes_received_on is None]
    posted = posted or Posted()
    from carepath.engine.panels import PANEL_TYPES

    return render(
        request,
        "panels.html",
        "Panels",
        status=status,
        rows=_rows(app, page.items, today),
        page=page,
        sittings=list(sittings),
        awaiting_minutes=awaiting,
        next_href=f"/panels?after={page.next}" if page.next else None,
        panel_types=PANEL_TYPES,
        may_plan=_may_plan(actor),
        posted=posted,
        errors=posted.errors,
        flash=flash,
    )


def _may_plan(actor: Actor) -> bool:
    from carepath.engine.policy import permitted

    try:
        return permitted(actor, "panel.add")
    except ValueError:
        return False


@router.post("/panels", response_class=HTMLResponse)
async def add_sitting(request: Request) -> Response:
    await check_csrf(request)
    actor = page_actor(request)
    app = carepath(request)
    form = await request.form()
    posted = Posted()
    for p in ("day", "month", "year"):
        posted.values[f"day-{p}"] = str(form.get(f"day-{p}") or "")
    day = read_date(form, "day", "The sitting's date", posted.errors)
    kind = str(form.get("panel_type") or "")
    place = str(form.get("place") or "").strip()
    capacity_text = str(form.get("capacity") or "").strip()
    posted.values.update(panel_type=kind, place=place[:200], capacity=capacity_text[:10])
    if day is None and not posted.errors:
        posted.errors.append(("day-day", "Enter the sitting's date"))
    if not kind:
        posted.errors.append(("panel_type", "Select the type of panel"))
    capacity = 6
    if capacity_text:
        if not capacity_text.isdigit() or not 1 <= int(capacity_text) <= 30:
            posted.errors.append(("capacity", "Capacity must be a whole number of cases from 1 to 30"))
        else:
            capacity = int(capacity_text)
    if not posted.errors and day is not None:
        try:
            s = app.panels.add_sitting(day, kind, actor, capacity=capacity, place=place)
        except InvalidInput as exc:
            field = "panel_type" if "panel type" in str(exc) else "place" if "place" in str(exc) else "day-day"
            posted.errors.append((field, _sentence(str(exc))))
        else:
            return see_other(f"/panels/{s.id}?done=added")
    return _panels_page(request, app, actor, posted=posted, status=400)


@router.get("/panels/calendar.ics")
def calendar_ics(request: Request, panel_type: str | None = None) -> Response:
    """The coming sittings (of one panel type) as an iCalendar file: no case references, no names."""
    from carepath.engine.panels import check_type
    from carepath.entrypoints.ics import sittings_ics

    actor = page_actor(request)
    app = carepath(request)
    if panel_type:
        check_type(panel_type)
    today = local_today(app.clock)
    found: list[Any] = []
    after: str | None = None
    while True:
        page = app.panels.sittings(actor, panel_type=panel_type or None, since=today, limit=200, after=after)
        found.extend(page.items)
        if page.next is None or len(found) >= 1000:
            break
        after = page.next
    name = f"{(panel_type or 'all').capitalize()} panel sittings"
    body = sittings_ics(found, name=name, stamped_at=app.clock.now())
    filename = f"carepath-{panel_type or 'all'}-panels.ics"
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/panels/members", response_class=HTMLResponse)
def members_page(request: Request) -> Response:
    """The central list of members, each with the link to their own calendar of sittings."""
    actor = page_actor(request)
    app = carepath(request)
    members = app.panels.members(actor)
    base = app.settings.base_url.rstrip("/")
    links = {m.id: f"{base}/calendars/{app.panels.calendar_link(m.id, actor)}.ics" for m in members}
    return render(request, "panel_members.html", "Panel members", members=members, links=links)


@router.get("/calendars/{token}.ics")
def member_calendar(request: Request, token: str) -> Response:
    """A member's own sittings by their calendar link (no sign-in: a calendar program subscribes)."""
    from carepath.entrypoints.ics import sittings_ics

    app = carepath(request)
    today = local_today(app.clock)
    _, sittings = app.panels.member_calendar(token[:64], since=today - timedelta(days=90))
    body = sittings_ics(sittings, name="My panel sittings", stamped_at=app.clock.now())
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get("/panels/{sitting_id}", response_class=HTMLResponse)
def sitting_page(request: Request, sitting_id: str) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    return _sitting_page(request, app, actor, _sitting_id(sitting_id))


def _outcome_options(app: App, workflow: str, state: str) -> tuple[str, ...]:
    from carepath.engine.services.panels import panel_routes

    try:
        d = app.workflows.latest(workflow).definition
    except Exception:
        return ()
    route = panel_routes(d).get(state)
    return route.options if route is not None and route.booked == state else ()


def _sitting_page(
    request: Request,
    app: App,
    actor: Actor,
    sitting_id: int,
    *,
    errors: list[tuple[str, str]] | None = None,
    values: dict[str, Any] | None = None,
    flash: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    s = app.panels.sitting(sitting_id, actor)
    agenda = app.panels.agenda(sitting_id, actor)
    attending = {m.id for m in app.panels.attendance(sitting_id, actor)}
    kinds = None if s.panel_type == "joint" else s.panel_type
    members = [m for m in app.panels.members(actor, panel_type=kinds) if m.active]
    options = {item.ref: _outcome_options(app, item.workflow, item.state) for item in agenda}
    today = local_today(app.clock)
    if request.query_params.get("done") and flash is None:
        flash = {"title": "Success", "text": "Saved.", "success": True}
    return render(
        request,
        "panel_sitting.html",
        f"{s.panel_type.capitalize()} panel, {present.long_date(s.day)}",
        status=status,
        sitting=s,
        agenda=agenda,
        members=members,
        attending=attending,
        options=options,
        has_sat=s.day <= today,
        errors=errors or [],
        values=values or {},
        flash=flash,
        titles={d: app.workflows.latest(d).definition.title for d in app.workflows.ids()},
    )


async def _post(request: Request, sitting_id: str) -> tuple[App, Actor, int, Any]:
    await check_csrf(request)
    return carepath(request), page_actor(request), _sitting_id(sitting_id), await request.form()


def _refused(
    request: Request, app: App, actor: Actor, sid: int, field: str, exc: Exception, values: dict[str, Any] | None = None
) -> Response:
    """The sitting page again with the service's refusal against ``field`` (a refusal by role is the 403 page)."""
    return _sitting_page(request, app, actor, sid, errors=[(field, _sentence(str(exc)))], values=values, status=400)


@router.post("/panels/{sitting_id}/book", response_class=HTMLResponse)
async def book(request: Request, sitting_id: str) -> Response:
    app, actor, sid, form = await _post(request, sitting_id)
    ref = str(form.get("ref") or "").strip()
    if not ref:
        return _sitting_page(
            request, app, actor, sid, errors=[("ref", "Enter the reference of the case to book")], status=400
        )
    try:
        app.panels.book(ref, sid, actor)
    except (InvalidInput, LookupError) as exc:
        return _refused(request, app, actor, sid, "ref", exc, {"ref": ref[:40]})
    return see_other(f"/panels/{sid}?done=booked")


@router.post("/panels/{sitting_id}/papers", response_class=HTMLResponse)
async def papers(request: Request, sitting_id: str) -> Response:
    app, actor, sid, form = await _post(request, sitting_id)
    ref = str(form.get("ref") or "").strip()
    try:
        app.panels.papers(ref, actor)
    except (InvalidInput, LookupError) as exc:
        return _refused(request, app, actor, sid, "agenda", exc)
    return see_other(f"/panels/{sid}?done=papers")


@router.post("/panels/{sitting_id}/defer", response_class=HTMLResponse)
async def defer(request: Request, sitting_id: str) -> Response:
    """Take a booked case off the agenda before the sitting: back to the queue, with the reason."""
    app, actor, sid, form = await _post(request, sitting_id)
    ref = str(form.get("ref") or "").strip()
    reason = str(form.get(f"reason-{ref}") or "").strip()
    values = {f"reason-{ref}": reason[:500]}
    if not reason:
        errors = [(f"reason-{ref}", f"{ref or 'The case'}: give the reason it comes off the agenda")]
        return _sitting_page(request, app, actor, sid, errors=errors, values=values, status=400)
    try:
        app.panels.defer(ref, reason, actor)
    except (InvalidInput, LookupError) as exc:
        return _refused(request, app, actor, sid, f"reason-{ref}", exc, values)
    return see_other(f"/panels/{sid}?done=deferred")


@router.post("/panels/{sitting_id}/agenda", response_class=HTMLResponse)
async def send_agenda(request: Request, sitting_id: str) -> Response:
    app, actor, sid, _ = await _post(request, sitting_id)
    try:
        sent_to = app.panels.send_agenda(sid, actor)
    except (InvalidInput, LookupError) as exc:
        return _refused(request, app, actor, sid, "agenda", exc)
    text = f"The agenda (case references only) is on its way to {len(sent_to)} member(s)."
    return _sitting_page(request, app, actor, sid, flash={"title": "Success", "text": text, "success": True})


@router.post("/panels/{sitting_id}/attendance", response_class=HTMLResponse)
async def attendance(request: Request, sitting_id: str) -> Response:
    app, actor, sid, form = await _post(request, sitting_id)
    ids = []
    for raw in form.getlist("members"):
        if not str(raw).isdigit():
            return _sitting_page(
                request, app, actor, sid, errors=[("members", "Choose members from the list")], status=400
            )
        ids.append(int(str(raw)))
    try:
        app.panels.attend(sid, ids, actor)
    except (InvalidInput, LookupError) as exc:
        return _refused(request, app, actor, sid, "members", exc)
    return see_other(f"/panels/{sid}?done=attendance")


@router.post("/panels/{sitting_id}/recommendations", response_class=HTMLResponse)
async def recommendations(request: Request, sitting_id: str) -> Response:
    app, actor, sid, form = await _post(request, sitting_id)
    outcomes: dict[str, tuple[str, str | None]] = {}
    values: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for item in app.panels.agenda(sid, actor):
        if item.recommendation or item.deferred_reason:
            continue
        key = item.ref
        outcome = str(form.get(f"outcome-{key}") or "")
        note = str(form.get(f"note-{key}") or "").strip() or None
        values[f"outcome-{key}"], values[f"note-{key}"] = outcome, note or ""
        if not outcome:
            continue
        if outcome == DEFERRED and not note:
            errors.append((f"note-{key}", f"{key}: give the reason the panel deferred it"))
        outcomes[key] = (outcome, note)
    if not outcomes and not errors:
        errors.append(("agenda", "Choose the panel's recommendation for at least one case"))
    if errors:
        return _sitting_page(request, app, actor, sid, errors=errors, values=values, status=400)
    try:
        app.panels.recommend(sid, outcomes, actor)
    except (InvalidInput, LookupError) as exc:
        return _refused(request, app, actor, sid, "agenda", exc, values)
    return see_other(f"/panels/{sid}?done=recommendations")


@router.post("/panels/{sitting_id}/minutes", response_class=HTMLResponse)
async def minutes(request: Request, sitting_id: str) -> Response:
    app, actor, sid, form = await _post(request, sitting_id)
    errors: list[tuple[str, str]] = []
    day: date | None = read_date(form, "received", "The day the minutes were received", errors)
    values = {f"received-{p}": str(form.get(f"received-{p}") or "") for p in ("day", "month", "year")}
    if day is None and not errors:
        day = local_today(app.clock)
    if errors or day is None:
        return _sitting_page(request, app, actor, sid, errors=errors, values=values, status=400)
    try:
        app.panels.minutes(sid, day, actor)
    except (InvalidInput, LookupError) as exc:
        return _refused(request, app, actor, sid, "received-day", exc, values)
    return see_other(f"/panels/{sid}?done=minutes")


@router.post("/panels/{sitting_id}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, sitting_id: str) -> Response:
    app, actor, sid, form = await _post(request, sitting_id)
    reason = str(form.get("reason") or "").strip()
    if not reason:
        return _sitting_page(
            request, app, actor, sid, errors=[("reason", "Enter why the sitting is cancelled")], status=400
        )
    try:
        app.panels.cancel(sid, reason, actor)
    except (InvalidInput, LookupError) as exc:
        return _refused(request, app, actor, sid, "reason", exc, {"reason": reason[:200]})
    return see_other(f"/panels/{sid}?done=cancelled")
