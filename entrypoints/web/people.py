"""The people a case is about, in the browser: add a person to a case, link someone already recorded,
and a person's page.

Every handler calls ``app.persons`` (``PersonService``), which authorizes each change and read
(docs/permissions.md, "People on cases": ``person.add``, ``person.link``, ``person.read``); the
pages only hide the links a role may not follow. A form the service refuses is shown again with the
GOV.UK error summary, what was typed kept and nothing written. No name ever reaches a URL or a page
title: a person is ``/people/{number}``, and the case page's banner after adding names the role.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from carepath.engine.errors import InvalidInput, NotPermitted
from carepath.engine.people import ETHNICITY, PERSON_ROLES, SEX
from carepath.engine.policy import Subject, permitted
from carepath.engine.text import lookup_reference
from carepath.entrypoints.web.forms import Field, Posted, read_date, read_form
from carepath.entrypoints.web.pages import _case_context, _sentence, _title_of, carepath, render, see_other
from carepath.entrypoints.web.session import check_csrf, page_actor

if TYPE_CHECKING:
    from carepath.config.bootstrap import App
    from carepath.engine.case import Actor, Case
    from carepath.engine.people import Participant
    from carepath.engine.reads import Page
    from carepath.engine.services.persons import Found

router = APIRouter()

#: How many people one search page lists.
SEARCH_PAGE = 20

#: A person's role in the case, with the labels a caseworker reads.
ROLE_OPTIONS: tuple[tuple[str, str], ...] = tuple(PERSON_ROLES.items())

#: The add form's inputs, in order (UI.md "Types to inputs": radios up to 7 options, else a select).
ADD_FIELDS: tuple[Field, ...] = (
    Field("given_names", "Given names", "All of them, as on their birth certificate if known.", "text", True),
    Field("family_name", "Family name", "", "text", True),
    Field("born_on", "Date of birth", "For example, 27 3 2015.", "date", False),
    Field("sex", "Sex", "", "choice", False, tuple((code, label) for code, (label, _) in SEX.items())),
    Field(
        "ethnicity",
        "Ethnicity",
        "The DfE's code list, as the children looked after and children in need returns record it.",
        "choice",
        False,
        tuple((code, f"{label} ({code})") for code, label in ETHNICITY.items()),
    ),
    Field("contact", "Contact details", "An address, a phone number or an email address, on one line.", "text", False),
    Field("role", "Their role in this case", "", "choice", True, ROLE_OPTIONS),
)

#: Words in a service refusal, and the input it is about (the first that matches).
_MESSAGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("given names", "given_names"),
    ("family name", "family_name"),
    ("date of birth", "born_on-day"),
    ("sex", "sex"),
    ("ethnicity", "ethnicity"),
    ("contact", "contact"),
    ("role", "role"),
)


def _field_of(message: str, default: str) -> str:
    """The input a service refusal is about (it names the field), else ``default``."""
    lowered = message.lower()
    return next((fid for words, fid in _MESSAGE_FIELDS if words in lowered), default)


def _subject(c: Case) -> Subject:
    return Subject(c.owner_id, c.team_id)


def _require(actor: Actor, command: str, c: Case) -> None:
    """Refuse the form itself (403) to whoever the service would refuse its post."""
    if not permitted(actor, command, _subject(c)):
        raise NotPermitted(actor.email, command, "this is not in your role for this case")


# -- add a person -------------------------------------------------------------------------


@router.get("/cases/{ref}/people/add", response_class=HTMLResponse)
def add_form(request: Request, ref: str) -> Response:
    """The form to add a person to the case, in a role."""
    _, actor, c, ctx = _case_context(request, ref, "add a person")
    _require(actor, "person.add", c)
    return render(request, "person_add.html", f"Add a person – {c.ref}", **ctx, fields=ADD_FIELDS, posted=Posted())


@router.post("/cases/{ref}/people/add", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def add_post(request: Request, ref: str) -> Response:
    """Add the person (``app.persons.add``), then back to the case with a banner naming their role."""
    actor = page_actor(request)
    app = carepath(request)
    c = app.reads.case(ref, actor)
    form = await request.form()
    posted = read_form(form, ADD_FIELDS, with_date=False)
    posted.errors = [e for e in posted.errors if e[0] != "note"]  # the form has no note
    for name in ("given_names", "family_name", "contact"):
        if len(posted.values.get(name, "")) > 1000:  # kept short, so a huge post is not echoed back
            posted.values[name] = posted.values[name][:1000]
    if not posted.errors:
        f = posted.facts
        try:
            added = app.persons.add(
                c.ref,
                f["role"],
                f["given_names"],
                f["family_name"],
                actor,
                born_on=date.fromisoformat(f["born_on"]) if "born_on" in f else None,
                sex=f.get("sex"),
                ethnicity=f.get("ethnicity"),
                contact=f.get("contact"),
            )
        except InvalidInput as exc:
            posted.errors.append((_field_of(str(exc), "given_names"), _sentence(str(exc))))
        else:
            return see_other(f"/cases/{added.case_ref}?added={added.role}")
    _, _, c, ctx = _case_context(request, c.ref, "add a person")
    return render(
        request,
        "person_add.html",
        f"Add a person – {c.ref}",
        status=400,
        **ctx,
        fields=ADD_FIELDS,
        posted=posted,
        errors=posted.errors,
    )


# -- link someone already recorded ----------------------------------------------------------


def _search_values(query: Mapping[str, Any]) -> dict[str, str]:
    """The search form's inputs as typed (name, born-day, born-month, born-year), each kept short."""
    return {k: str(query.get(k) or "").strip()[:200] for k in ("name", "born-day", "born-month", "born-year")}


def _search(
    app: App, actor: Actor, values: Mapping[str, str], after: str | None
) -> tuple[Page[Found] | None, list[tuple[str, str]]]:
    """The people the search finds (None if nothing was searched), and the errors of the search form."""
    errors: list[tuple[str, str]] = []
    born = read_date(values, "born", "The date of birth", errors)
    name = values.get("name") or None
    if errors or (name is None and born is None):
        return None, errors
    try:
        return app.persons.find(actor, name=name, born_on=born, limit=SEARCH_PAGE, after=after), errors
    except InvalidInput as exc:
        message = str(exc)
        errors.append(("born-day" if "date" in message and "name" not in message else "name", _sentence(message)))
        return None, errors


def _link_page(
    request: Request,
    app: App,
    actor: Actor,
    c: Case,
    ctx: dict[str, Any],
    values: Mapping[str, str],
    *,
    after: str | None = None,
    errors: list[tuple[str, str]] | None = None,
    chosen: tuple[int, str] | None = None,
    status: int = 200,
) -> Response:
    page, search_errors = _search(app, actor, values, after)
    errors = [*search_errors, *(errors or [])]
    status = 400 if errors else status
    on_case = {p.person.id for p in _participants(app, actor, c)}
    next_href = None
    if page is not None and page.next:
        next_href = f"/cases/{c.ref}/people/link?" + urlencode(
            {**{k: v for k, v in values.items() if v}, "after": page.next}
        )
    return render(
        request,
        "person_link.html",
        f"Link someone already recorded – {c.ref}",
        status=status,
        **ctx,
        values=values,
        posted=Posted(values=dict(values), errors=errors),
        errors=errors,
        found=page,
        on_case=on_case,
        roles=ROLE_OPTIONS,
        chosen=chosen,
        next_href=next_href,
    )


def _participants(app: App, actor: Actor, c: Case) -> list[Participant]:
    try:
        return app.persons.participants(c, actor)
    except NotPermitted:
        return []


@router.get("/cases/{ref}/people/link", response_class=HTMLResponse)
def link_form(request: Request, ref: str, after: str | None = None) -> Response:
    """Search the people already recorded (``app.persons.find``), each with a form to link them here."""
    app, actor, c, ctx = _case_context(request, ref, "link a person")
    _require(actor, "person.link", c)
    values = _search_values(request.query_params)
    return _link_page(request, app, actor, c, ctx, values, after=after)


@router.post("/cases/{ref}/people/link", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def link_post(request: Request, ref: str) -> Response:
    """Link the chosen person (``app.persons.link``), then back to the case with a banner naming their role."""
    actor = page_actor(request)
    app = carepath(request)
    c = app.reads.case(ref, actor)
    form = await request.form()
    values = _search_values(form)
    raw_id = str(form.get("person_id") or "").strip()
    person_id = int(raw_id) if raw_id.isdigit() and len(raw_id) <= 10 else None
    role = str(form.get("role") or "").strip()[:80]
    target = f"role-{person_id}" if person_id is not None else "name"
    errors: list[tuple[str, str]] = []
    if person_id is None:
        errors.append(("name", "Choose the person to link from the list"))
    elif not role:
        errors.append((target, "Select their role in this case"))
    else:
        try:
            linked = app.persons.link(person_id, c.ref, role, actor)
        except InvalidInput as exc:
            errors.append((target, _sentence(str(exc))))
        else:
            return see_other(f"/cases/{linked.case_ref}?linked={linked.role}")
    _, _, c, ctx = _case_context(request, c.ref, "link a person")
    chosen = (person_id, role) if person_id is not None else None
    return _link_page(request, app, actor, c, ctx, values, errors=errors, chosen=chosen, status=400)


# -- a person's page --------------------------------------------------------------------------


@router.get("/people/{person_id}", response_class=HTMLResponse)
def person_page(request: Request, person_id: int) -> Response:
    """A person's details and the cases of theirs the viewer may read (``app.persons.show``).

    The read audit takes case references: the view is recorded against the case the person was
    reached from (``?from=``, when it is one of theirs the viewer may read), else against every case
    the page shows (each is where this person's data lives).
    """
    actor = page_actor(request)
    app = carepath(request)
    record = app.persons.show(person_id, actor)
    came_from = lookup_reference(str(request.query_params.get("from") or "")[:40])
    refs = [pc.case_ref for pc in record.cases]
    for case_ref in [came_from] if came_from in refs else refs:
        app.accounts.record_view(actor, case_ref, f"person {record.person.id}", "web")
    d = record.person.details
    sex = SEX[d.sex][0] if d.sex is not None and d.sex in SEX else d.sex
    ethnicity = d.ethnicity
    if ethnicity is not None and ethnicity in ETHNICITY:
        ethnicity = f"{ETHNICITY[ethnicity]} ({ethnicity})"
    rows = [
        ("Given names", d.given_names),
        ("Family name", d.family_name),
        ("Date of birth", d.born_on),
        ("Sex", sex),
        ("Ethnicity", ethnicity),
        ("Contact details", d.contact),
    ]
    cases = [
        (pc, PERSON_ROLES.get(pc.role, pc.role), _title_of(app, pc.workflow_id), pc.status.replace("_", " "))
        for pc in record.cases
    ]
    back = came_from if came_from in refs else None
    return render(
        request, "person.html", f"Person {record.person.id}", person=record.person, rows=rows, cases=cases, back=back
    )
