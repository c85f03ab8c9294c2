"""``/api/v1``: the same reads and commands as the pages, for holders of a personal API token.

Every route calls the same application service as its page (authorization is the service's), and
answers JSON in the shapes below, documented at ``/api/v1/openapi.json``. Errors are
``{"error": "..."}`` with 400 (bad input, a refused move), 401 (no valid token), 403 (not
permitted), 404 (no such case), 409 (the case changed since ``expected_version``) or 422 (a
request that does not parse).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from carepath.engine.case import NOTE_KINDS, Actor, Case
from carepath.engine.clock import local_today
from carepath.engine.errors import (
    CarepathError,
    CaseNotFound,
    ConcurrencyConflict,
    GuardFailed,
    NotFound,
    NotPermitted,
)
from carepath.engine.facts import TypedText
from carepath.engine.reads import CaseFilter
from carepath.entrypoints.web import present
from carepath.entrypoints.web.forms import fields_for
from carepath.entrypoints.web.session import TokenRefused, api_actor

if TYPE_CHECKING:
    from carepath.config.bootstrap import App
    from carepath.engine.people import Person

Token = Annotated[Actor, Depends(api_actor)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=200)]
Ref = Annotated[str, Path(max_length=40)]
Trigger = Annotated[str, Path(max_length=80)]
PersonId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ErrorOut(BaseModel):
    error: str


class CaseOut(BaseModel):
    ref: str
    journey: str
    journey_version: int
    stage: str
    stage_label: str
    status: str
    owner: str | None
    team: str | None
    opened_on: date
    last_event_on: date
    version: int
    exit_reason: str | None
    facts: dict[str, Any]


class CasePage(BaseModel):
    items: list[CaseOut]
    total: int
    total_exact: bool
    next: str | None


class DeadlineOut(BaseModel):
    rule: str
    label: str
    class_: str = Field(alias="class")
    source: str
    cycle: int
    start_on: str
    due_on: str
    status: str
    days: str
    overdue: bool
    met_on: str | None
    breached_on: str | None

    model_config = {"populate_by_name": True}


class DueOut(BaseModel):
    ref: str
    owner: str | None
    team: str | None
    deadline: DeadlineOut


class DuePage(BaseModel):
    items: list[DueOut]
    total: int
    total_exact: bool
    next: str | None


class FieldOut(BaseModel):
    name: str
    label: str
    type: str
    required: bool
    help: str | None = None
    options: list[str] | None = None


class ActionOut(BaseModel):
    trigger: str
    label: str
    to: str
    ready: bool
    reasons: list[str]
    roles: list[str]
    fields: list[FieldOut]


class FireIn(BaseModel):
    facts: dict[str, str | int | float | bool | list[str] | None] = Field(default_factory=dict, max_length=100)
    on: date | None = None
    note: str | None = Field(default=None, max_length=4000)
    expected_version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    kind: Literal["note", "phone", "visit", "meeting", "email", "letter"] = "note"
    on: date | None = None
    expected_version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class EventOut(BaseModel):
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    on: date
    recorded_at: datetime
    by: str | None
    note: str | None
    facts: dict[str, Any]
    in_error: bool


class HistoryPage(BaseModel):
    items: list[EventOut]
    total: int
    total_exact: bool
    next: str | None


class PersonOut(BaseModel):
    id: int
    role: str
    given_names: str
    family_name: str
    born_on: date | None


class PersonIn(BaseModel):
    """A person to add to a case: the same fields and checks as ``carepath people add``."""

    role: str = Field(
        max_length=80, description="child, applicant, partner, household_member, birth_parent, connected_person"
    )
    given_names: str = Field(max_length=1000)
    family_name: str = Field(max_length=1000)
    born_on: date | None = None
    sex: str | None = Field(default=None, max_length=80, description="male, female, not_known, not_stated")
    ethnicity: str | None = Field(default=None, max_length=80, description="a DfE ethnicity code, like WBRI")
    contact: str | None = Field(default=None, max_length=2000)


class PersonDetailsOut(BaseModel):
    """A person's details, as ``carepath people show --json`` gives them."""

    id: int
    given_names: str
    family_name: str
    born_on: date | None
    sex: str | None
    ethnicity: str | None
    contact: str | None


def _details_of(person: Person) -> dict[str, Any]:
    """``PersonDetailsOut``'s fields: the person's number and every field of their ``PersonDetails``."""
    return {"id": person.id, **asdict(person.details)}


class CorrectionIn(BaseModel):
    """Corrections to a person's details (``person.correct``): a field left out stays as it is; ``null``
    clears an optional one (``born_on``, ``sex``, ``ethnicity``, ``contact``; names cannot be cleared)."""

    given_names: str | None = Field(default=None, max_length=1000)
    family_name: str | None = Field(default=None, max_length=1000)
    born_on: date | None = None
    sex: str | None = Field(default=None, max_length=80, description="male, female, not_known, not_stated")
    ethnicity: str | None = Field(default=None, max_length=80, description="a DfE ethnicity code, like WBRI")
    contact: str | None = Field(default=None, max_length=2000)


class CorrectedOut(PersonDetailsOut):
    """The person's details after the correction, and the names of the fields it changed."""

    changed: list[str]


class UnlinkedOut(BaseModel):
    """A person taken off a case, and the role they had in it."""

    id: int
    ref: str
    role: str


class LinkIn(BaseModel):
    """The role of a person already recorded in the case they are linked to."""

    role: str = Field(
        max_length=80, description="child, applicant, partner, household_member, birth_parent, connected_person"
    )


class PersonCaseOut(BaseModel):
    ref: str
    role: str
    journey: str
    status: str


class PersonRecordOut(PersonDetailsOut):
    cases: list[PersonCaseOut]


class FoundOut(BaseModel):
    id: int
    given_names: str
    family_name: str
    born_on: date | None
    score: int


class PersonChangeOut(BaseModel):
    """One change to a person's record, from the audit trail: field names, never values; ``case`` is
    null where it names a case the holder may not read."""

    at: datetime
    action: str
    by: str
    case: str | None
    role: str | None
    fields: list[str]


class FoundPage(BaseModel):
    items: list[FoundOut]
    total: int
    total_exact: bool
    next: str | None


class SittingOut(BaseModel):
    on: date
    panel_type: str


class MeOut(BaseModel):
    email: str
    roles: list[str]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "Bad input or a refused move"),
        (401, "No valid API token"),
        (403, "Not permitted"),
        (404, "No such case or person"),
        (409, "The case changed since expected_version"),
        (422, "The request does not parse"),
    )
}


def _json_safe(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def create_api(app: App) -> FastAPI:
    api = FastAPI(
        title="carepath API",
        version="1",
        description=__doc__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        responses=ERRORS,
    )
    api.state.carepath = app

    def _error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @api.exception_handler(TokenRefused)
    async def _token(request: Request, exc: TokenRefused) -> JSONResponse:
        return _error(401, "a valid API token is needed (Authorization: Bearer cp_...)")

    @api.exception_handler(NotPermitted)
    async def _refused(request: Request, exc: NotPermitted) -> JSONResponse:
        return _error(403, str(exc))

    @api.exception_handler(CaseNotFound)
    @api.exception_handler(NotFound)
    async def _missing(request: Request, exc: CarepathError) -> JSONResponse:
        return _error(404, str(exc))

    @api.exception_handler(ConcurrencyConflict)
    async def _stale(request: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return _error(409, "this case changed since you read it: " + str(exc))

    @api.exception_handler(CarepathError)
    async def _bad(request: Request, exc: CarepathError) -> JSONResponse:
        return _error(400, str(exc))

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @api.exception_handler(RequestValidationError)
    async def _unparsed(request: Request, exc: RequestValidationError) -> JSONResponse:
        bits = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()))
            bits.append(f"{where}: {e.get('msg', 'invalid')}")
        return _error(422, "; ".join(bits))

    def case_out(c: Case, owner: str | None, team: str | None) -> CaseOut:
        d = app.workflows.get(c.workflow_id, c.workflow_version).definition
        try:
            label = d.state(c.state).label or present.humanise(c.state)
        except (CarepathError, KeyError):
            label = present.humanise(c.state)
        return CaseOut(
            ref=c.ref,
            journey=c.workflow_id,
            journey_version=c.workflow_version,
            stage=c.state,
            stage_label=label,
            status=c.status,
            owner=owner,
            team=team,
            opened_on=c.opened_on,
            last_event_on=c.last_event_on,
            version=c.version,
            exit_reason=c.exit_reason,
            facts=_json_safe(c.facts),
        )

    def deadline_out(view: present.DeadlineView) -> DeadlineOut:
        return DeadlineOut.model_validate(view.as_json())

    @api.get("/me", response_model=MeOut)
    def me(actor: Token) -> MeOut:
        """Who the token belongs to."""
        return MeOut(email=actor.email, roles=sorted(actor.roles))

    @api.get("/cases", response_model=CasePage)
    def cases(
        actor: Token,
        journey: Annotated[str | None, Query(max_length=80)] = None,
        stage: Annotated[str | None, Query(max_length=80)] = None,
        status: Literal["open", "on_hold", "closed"] | None = None,
        limit: Limit = 50,
        after: Cursor = None,
    ) -> CasePage:
        """Cases the token's holder may see, newest first."""
        if journey and journey not in app.workflows.ids():
            from carepath.engine.errors import InvalidInput

            raise InvalidInput(f"no journey {journey!r}")
        page = app.reads.cases(
            CaseFilter(workflow=journey or None, state=stage or None, status=status, limit=limit, after=after), actor
        )
        return CasePage(
            items=[case_out(x.case, x.owner, x.team) for x in page],
            total=page.total,
            total_exact=page.total_exact,
            next=page.next,
        )

    @api.get("/cases/{ref}", response_model=CaseOut)
    def case(ref: Ref, actor: Token) -> CaseOut:
        """One case."""
        listing = app.reads.case_listing(ref[:40], actor)
        app.accounts.record_view(actor, listing.case.ref, "api:case", "api")
        return case_out(listing.case, listing.owner, listing.team)

    @api.get("/cases/{ref}/deadlines", response_model=list[DeadlineOut])
    def case_deadlines(ref: Ref, actor: Token) -> list[DeadlineOut]:
        """A case's deadlines with their status and days left or overdue."""
        c, deadlines = app.reads.case_deadlines(ref[:40], actor)
        app.accounts.record_view(actor, c.ref, "api:deadlines", "api")
        d = app.workflows.get(c.workflow_id, c.workflow_version).definition
        today = local_today(app.clock)
        return [
            deadline_out(present.deadline_view(x, present.rule_of(d, x.rule), today, app.calendar)) for x in deadlines
        ]

    @api.get("/cases/{ref}/history", response_model=HistoryPage)
    def history(ref: Ref, actor: Token, limit: Limit = 200, after: Cursor = None) -> HistoryPage:
        """A case's events, oldest first."""
        c, page = app.reads.history(ref[:40], actor, limit=limit, after=after)
        app.accounts.record_view(actor, c.ref, "api:history", "api")
        return HistoryPage(
            items=[
                EventOut(
                    seq=h.event.seq,
                    trigger=h.event.trigger,
                    from_state=h.event.from_state,
                    to_state=h.event.to_state,
                    on=h.event.effective_on,
                    recorded_at=h.event.recorded_at,
                    by=h.by,
                    note=h.event.note,
                    facts=_json_safe(dict(h.event.payload.get("facts") or {})),
                    in_error=h.in_error,
                )
                for h in page
            ],
            total=page.total,
            total_exact=page.total_exact,
            next=page.next,
        )

    @api.get("/cases/{ref}/people", response_model=list[PersonOut])
    def people(ref: Ref, actor: Token) -> list[PersonOut]:
        """The people in a case, with their role."""
        c = app.reads.case(ref[:40], actor)
        app.accounts.record_view(actor, c.ref, "api:people", "api")
        return [
            PersonOut(
                id=p.person.id,
                role=p.role,
                given_names=p.person.details.given_names,
                family_name=p.person.details.family_name,
                born_on=p.person.details.born_on,
            )
            for p in app.persons.participants(c, actor)
        ]

    @api.post("/cases/{ref}/people", response_model=PersonOut, status_code=201)
    def add_person(ref: Ref, body: PersonIn, actor: Token) -> PersonOut:
        """Add a person to a case in a role (``person.add``): the same checks as the page and the CLI."""
        added = app.persons.add(
            ref[:40],
            body.role,
            body.given_names,
            body.family_name,
            actor,
            born_on=body.born_on,
            sex=body.sex,
            ethnicity=body.ethnicity,
            contact=body.contact,
        )
        return _participant_out(added.person_id, added.case_ref, actor)

    @api.post("/cases/{ref}/people/{person_id}", response_model=PersonOut, status_code=201)
    def link_person(ref: Ref, person_id: PersonId, body: LinkIn, actor: Token) -> PersonOut:
        """Link a person already recorded to a case in a role (``person.link`` on the case, and ``person.read``
        on the person)."""
        linked = app.persons.link(person_id, ref[:40], body.role, actor)
        return _participant_out(linked.person_id, linked.case_ref, actor)

    def _participant_out(person_id: int, case_ref: str, actor: Actor) -> PersonOut:
        """The person as they now stand in the case (read back, as ``GET /cases/{ref}/people`` lists them)."""
        c = app.reads.case(case_ref, actor)
        p = next(x for x in app.persons.participants(c, actor) if x.person.id == person_id)
        d = p.person.details
        return PersonOut(
            id=person_id, role=p.role, given_names=d.given_names, family_name=d.family_name, born_on=d.born_on
        )

    @api.patch("/people/{person_id}", response_model=CorrectedOut)
    def correct_person(person_id: PersonId, body: CorrectionIn, actor: Token) -> CorrectedOut:
        """Correct a person's details (``person.correct`` on one of their cases): the fields sent change,
        ``null`` clears an optional one; refused with 400 when nothing would change."""
        given = body.model_fields_set
        kept: dict[str, Any] = {n: getattr(body, n) for n in ("born_on", "sex", "ethnicity", "contact") if n in given}
        corrected = app.persons.correct(
            person_id, actor, given_names=body.given_names, family_name=body.family_name, **kept
        )
        return CorrectedOut(**_details_of(corrected.person), changed=list(corrected.fields))

    @api.delete("/cases/{ref}/people/{person_id}", response_model=UnlinkedOut)
    def unlink_person(ref: Ref, person_id: PersonId, actor: Token) -> UnlinkedOut:
        """Take a person off a case they were linked to in error (``person.unlink`` on the case); refused with
        400 when it is their only case or they are not on it."""
        removed = app.persons.unlink(person_id, ref[:40], actor)
        return UnlinkedOut(id=removed.person_id, ref=removed.case_ref, role=removed.role)

    @api.get("/people", response_model=FoundPage)
    def find_people(
        actor: Token,
        name: Annotated[str | None, Query(max_length=400)] = None,
        born: date | None = None,
        limit: Limit = 50,
        after: Cursor = None,
    ) -> FoundPage:
        """People on cases the holder may read, by name (forgiving spelling), date of birth or both, closest first."""
        page = app.persons.find(actor, name=name or None, born_on=born, limit=limit, after=after)
        return FoundPage(
            items=[
                FoundOut(
                    id=f.person.id,
                    given_names=f.person.details.given_names,
                    family_name=f.person.details.family_name,
                    born_on=f.person.details.born_on,
                    score=f.score,
                )
                for f in page
            ],
            total=page.total,
            total_exact=page.total_exact,
            next=page.next,
        )

    @api.get("/people/{person_id}/changes", response_model=list[PersonChangeOut])
    def person_changes(person_id: PersonId, actor: Token) -> list[PersonChangeOut]:
        """The changes to a person's record, newest first (at most 50): added, linked, corrected (which
        fields), taken off a case; who and when."""
        return [
            PersonChangeOut(
                at=c.at,
                action=c.action,
                by=c.by,
                case=c.detail.get("case"),
                role=c.detail.get("role"),
                fields=[str(f) for f in c.detail.get("fields", ())],
            )
            for c in app.persons.changes(person_id, actor)
        ]

    @api.get("/people/{person_id}", response_model=PersonRecordOut)
    def person(person_id: PersonId, actor: Token) -> PersonRecordOut:
        """One person, with the cases of theirs the holder may read (each recorded in its read audit)."""
        record = app.persons.show(person_id, actor)
        for pc in record.cases:
            app.accounts.record_view(actor, pc.case_ref, f"api:person {record.person.id}", "api")
        return PersonRecordOut(
            **_details_of(record.person),
            cases=[
                PersonCaseOut(ref=c.case_ref, role=c.role, journey=c.workflow_id, status=c.status) for c in record.cases
            ],
        )

    @api.get("/cases/{ref}/actions", response_model=list[ActionOut])
    def actions(ref: Ref, actor: Token) -> list[ActionOut]:
        """The next moves from the case's stage, each with what blocks it and the facts it takes."""
        c = app.reads.case(ref[:40], actor)
        compiled = app.workflows.get(c.workflow_id, c.workflow_version)
        out = []
        for a in app.cases.actions(c, actor) if c.status != "closed" else []:
            t = compiled.by_source[c.state][a.trigger]
            out.append(
                ActionOut(
                    trigger=a.trigger,
                    label=a.label,
                    to=a.dest,
                    ready=a.ready,
                    reasons=list(a.reasons),
                    roles=list(a.roles),
                    fields=[FieldOut(**f.as_json()) for f in fields_for(t, compiled.definition.facts)],
                )
            )
        return out

    @api.post("/cases/{ref}/actions/{trigger}", response_model=CaseOut)
    def fire(ref: Ref, trigger: Trigger, body: FireIn, actor: Token) -> CaseOut:
        """Make a move: the same checks as the page and the CLI (role, scope, facts, guards, version)."""
        texts = {k: _text(v) for k, v in body.facts.items() if v is not None}
        try:
            c = app.cases.fire(
                ref[:40],
                trigger[:80],
                actor,
                on=body.on,
                facts=TypedText(texts, texts),
                note=body.note,
                expected_version=body.expected_version,
            )
        except GuardFailed as exc:
            raise CarepathError("; ".join(exc.reasons)) from None
        listing = app.reads.case_listing(c.ref, actor)
        return case_out(listing.case, listing.owner, listing.team)

    @api.post("/cases/{ref}/notes", response_model=EventOut, status_code=201)
    def note(ref: Ref, body: NoteIn, actor: Token) -> EventOut:
        """Record a note or a contact; nothing else about the case changes."""
        if body.kind not in NOTE_KINDS:
            raise CarepathError(f"kind must be one of {', '.join(NOTE_KINDS)}")
        e = app.cases.note(
            ref[:40], actor, body.text, kind=body.kind, on=body.on, expected_version=body.expected_version
        )
        return EventOut(
            seq=e.seq,
            trigger=e.trigger,
            from_state=e.from_state,
            to_state=e.to_state,
            on=e.effective_on,
            recorded_at=e.recorded_at,
            by=actor.email,
            note=e.note,
            facts={},
            in_error=False,
        )

    @api.get("/deadlines", response_model=DuePage)
    def deadlines(actor: Token, until: date | None = None, limit: Limit = 50, after: Cursor = None) -> DuePage:
        """Open deadlines due by ``until`` (default: 10 working days from today) on cases the holder may see."""
        today = local_today(app.clock)
        until = until or app.calendar.add_working_days(today, 10)
        if until.year > 9000:
            from carepath.engine.errors import InvalidInput

            raise InvalidInput("until: a date before the year 9000")
        page = app.reads.deadlines_due(until, actor, limit=limit, after=after)
        items = []
        for x in page:
            d = app.workflows.get(x.workflow_id, x.workflow_version).definition
            view = present.deadline_view(x.deadline, present.rule_of(d, x.deadline.rule), today, app.calendar)
            items.append(DueOut(ref=x.case_ref, owner=x.owner, team=x.team, deadline=deadline_out(view)))
        return DuePage(items=items, total=page.total, total_exact=page.total_exact, next=page.next)

    @api.get("/panels", response_model=list[SittingOut])
    def panels(actor: Token, panel_type: Annotated[str | None, Query(max_length=40)] = None) -> list[SittingOut]:
        """Panel sittings from today on."""
        today = local_today(app.clock)
        page = app.reads.sitting_days(actor, panel_type or None, today, limit=200)
        return [SittingOut(on=day, panel_type=kind) for day, kind in page]

    return api


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
