"""The people a case is about, in the browser: add a person to a case, link someone already recorded,
a person's page, correct their details, and take them off a case they were linked to in error.

Every handler calls ``app.persons`` (``PersonService``), which authorizes each change and read
(docs/permissions.md, "People on cases": ``person.add``, ``person.link``, ``person.read``,
``person.correct``, ``person.unlink``); the
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

from carepath.engine.errors import InvalidInput, NotFound, NotPermitted
from carepath.engine.people import ETHNICITY, PERSON_ROLES, SEX
from carepath.engine.policy import Subject, permitted
from carepath.engine.text import lookup_reference
from carepath.entrypoints.web.forms import Field, Posted, read_date, read_form
from carepath.entrypoints.web.pages import _case_context, _sentence, _title_of, carepath, render, see_other
from carepath.entrypoints.web.session import check_csrf, page_actor

if TYPE_CHECKING:
    from carepath.config.bootstrap import App
    from carepath.engine.case import Actor, Case
    from carepath.engine.people import Participant, Person
    from carepath.engine.reads import Page
    from carepath.engine.services.persons import Found, PersonChange, PersonRecord

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


def _read_person_form(form: Mapping[str, Any], fields: tuple[Field, ...]) -> Posted:
    """A posted person form (add or correct): its text, the GOV.UK date of birth, and its errors."""
    posted = read_form(form, fields, with_date=False)
    posted.errors = [e for e in posted.errors if e[0] != "note"]  # the form has no note
    for name in ("given_names", "family_name", "contact"):
        if len(posted.values.get(name, "")) > 1000:  # kept short, so a huge post is not echoed back
            posted.values[name] = posted.values[name][:1000]
    return posted


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
    posted = _read_person_form(await request.form(), ADD_FIELDS)
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
    may_unlink = {pc.case_ref for pc in record.cases if permitted(actor, "person.unlink", pc.subject)}
    changes = [(c.at, c.by, _change_text(c)) for c in app.persons.changes_of(record, actor)]
    return render(
        request,
        "person.html",
        f"Person {record.person.id}",
        person=record.person,
        rows=rows,
        cases=cases,
        back=back,
        may_correct=_may_correct(actor, record),
        may_unlink=may_unlink if len(record.cases) > 1 else set(),
        changes=changes,
        flash=_corrected_banner(request),
    )


def _change_text(change: PersonChange) -> str:
    """One change to the record in words: which case and role, or which fields, never values."""
    case = change.detail.get("case") or "a case you may not see"
    role = PERSON_ROLES.get(str(change.detail.get("role")), str(change.detail.get("role") or ""))
    if change.action == "person.add":
        return f"Added on {case} as: {role}"
    if change.action == "person.link":
        return f"Linked to {case} as: {role}"
    if change.action == "person.unlink":
        return f"Taken off {case} (was on it as: {role})"
    if change.action == "person.correct":
        return "Corrected: " + _listed([str(n) for n in change.detail.get("fields", ())])
    return change.action


def _listed(fields: list[str]) -> str:
    """Fields by their labels, as a sentence says them: "family name and date of birth"."""
    labels = [_LABELS.get(n) or n.replace("_", " ") for n in fields]
    words = [label[:1].lower() + label[1:] for label in labels] or ["no detail"]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _may_correct(actor: Actor, record: PersonRecord) -> bool:
    """Whether ``actor`` may correct this person: ``person.correct`` on one of their cases (every case that
    grants it is one the actor may read, so the cases the record shows are enough)."""
    return any(permitted(actor, "person.correct", pc.subject) for pc in record.cases)


def _corrected_banner(request: Request) -> dict[str, Any] | None:
    """The success banner after a correction: the fields' labels (the URL carries only their names)."""
    names = [n for n in str(request.query_params.get("corrected") or "").split(",") if n in _LABELS]
    if not names:
        return None
    return {"title": "Success", "text": f"Details corrected: {_listed(names)}.", "success": True}


# -- correct a person's details ------------------------------------------------------------------

#: The correction form's inputs: the add form's, less the role (a person's role is per case).
CORRECT_FIELDS: tuple[Field, ...] = tuple(f for f in ADD_FIELDS if f.name != "role")
_LABELS = {f.name: f.label for f in CORRECT_FIELDS}


def _as_posted(person: Person) -> Posted:
    """The form filled in with the person's details as recorded."""
    d = person.details
    values = {
        "given_names": d.given_names,
        "family_name": d.family_name,
        "sex": d.sex or "",
        "ethnicity": d.ethnicity or "",
        "contact": d.contact or "",
    }
    for part, number in zip(
        ("day", "month", "year"),
        (d.born_on.day, d.born_on.month, d.born_on.year) if d.born_on else ("", "", ""),
        strict=True,
    ):
        values[f"born_on-{part}"] = str(number)
    return Posted(values=values)


def _correctable(request: Request, person_id: int) -> tuple[App, Actor, PersonRecord]:
    """The person, if the viewer may read them and correct them; else 403 (or 404 for nobody)."""
    actor = page_actor(request)
    app = carepath(request)
    record = app.persons.show(person_id, actor)
    if not _may_correct(actor, record):
        raise NotPermitted(actor.email, "person.correct", "this is not in your role for any case of theirs")
    return app, actor, record


def _correct_page(request: Request, record: PersonRecord, posted: Posted, status: int = 200) -> Response:
    return render(
        request,
        "person_correct.html",
        f"Correct details – Person {record.person.id}",
        status=status,
        person=record.person,
        fields=CORRECT_FIELDS,
        posted=posted,
        errors=posted.errors,
    )


@router.get("/people/{person_id}/correct", response_class=HTMLResponse)
def correct_form(request: Request, person_id: int) -> Response:
    """The person's details as recorded, in a form to correct them."""
    _, _, record = _correctable(request, person_id)
    return _correct_page(request, record, _as_posted(record.person))


@router.post("/people/{person_id}/correct", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
async def correct_post(request: Request, person_id: int) -> Response:
    """Correct the details (``app.persons.correct``: an empty optional field clears it), then back to the
    person's page with a banner naming the fields that changed."""
    app, actor, record = _correctable(request, person_id)
    posted = _read_person_form(await request.form(), CORRECT_FIELDS)
    if not posted.errors:
        f = posted.facts
        try:
            corrected = app.persons.correct(
                person_id,
                actor,
                given_names=f["given_names"],
                family_name=f["family_name"],
                born_on=date.fromisoformat(f["born_on"]) if "born_on" in f else None,
                sex=f.get("sex"),
                ethnicity=f.get("ethnicity"),
                contact=f.get("contact"),
            )
        except InvalidInput as exc:
            message = str(exc)
            where = "" if message.startswith("nothing to change") else _field_of(message, "given_names")
            if where == "":
                message = "Nothing to change: the details are already these. Change a detail, or cancel"
            posted.errors.append((where, _sentence(message)))
        else:
            return see_other(f"/people/{person_id}?corrected={','.join(corrected.fields)}")
    return _correct_page(request, record, posted, status=400)


# -- take a person off a case ----------------------------------------------------------------------


def _on_case(request: Request, ref: str, person_id: int) -> tuple[App, Actor, Case, dict[str, Any], Participant]:
    """The case and the person on it, if the viewer may take people off it; else 403 (404 if not on it)."""
    app, actor, c, ctx = _case_context(request, ref, "remove a person")
    _require(actor, "person.unlink", c)
    found = next((p for p in _participants(app, actor, c) if p.person.id == person_id), None)
    if found is None:
        raise NotFound("person on this case", person_id)
    return app, actor, c, ctx, found


@router.get("/cases/{ref}/people/{person_id}/remove", response_class=HTMLResponse)
def remove_form(request: Request, ref: str, person_id: int) -> Response:
    """Ask to confirm taking the person off this case (they stay on their other cases)."""
    _, _, c, ctx, found = _on_case(request, ref, person_id)
    return render(
        request, "person_remove.html", f"Take a person off {c.ref}", **ctx, found=found, role_labels=PERSON_ROLES
    )


@router.post("/cases/{ref}/people/{person_id}/remove", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def remove_post(request: Request, ref: str, person_id: int) -> Response:
    """Take the person off the case (``app.persons.unlink``), then back to the case with a banner naming the
    role they had; refused (their only case) the page says why and nothing is written."""
    app, actor, c, ctx, found = _on_case(request, ref, person_id)
    try:
        removed = app.persons.unlink(person_id, c.ref, actor)
    except InvalidInput as exc:
        errors = [("", _sentence(str(exc)))]
        return render(
            request,
            "person_remove.html",
            f"Take a person off {c.ref}",
            status=400,
            **ctx,
            found=found,
            role_labels=PERSON_ROLES,
            errors=errors,
        )
    return see_other(f"/cases/{removed.case_ref}?removed={removed.role}")
