"""The people cases are about: adding a person on a case, linking them to another, correcting their details,
taking them off a case added in error, reading and finding them.

Not the users of carepath (``PeopleService`` in ``engine.services.admin``): these are the
children, applicants, partners, household members, birth parents and connected people whose
cases carepath tracks (``engine.people``).

The rule (docs/permissions.md, "People on cases"): person records are case data.

- ``person.add``: a person is always added on a case, with their role in it, and the actor must
  be allowed ``person.add`` on that case (caseworkers and team managers on their team's cases and
  their own, service managers on any).
- ``person.link``: linking a person to another case needs ``person.link`` on that case *and*
  ``person.read`` on the person, so nobody comes to read a person by linking them to a case of
  their own.
- ``person.correct`` (the grants of ``person.add``): correcting a person's details needs ``person.correct`` on
  *one* of the cases they are linked to *and* ``person.read`` on the person (UK GDPR Art. 16, the right to
  rectification: a mistyped date of birth or family name is put right, never re-entered as a new person).
- ``person.unlink`` (the grants of ``person.link``): taking a person off a case they were linked to in
  error is checked against that case. Every person stays on at least one case, so their only case is
  never taken away: link them to the right case first.
- ``person.read`` (the grants of ``case.read``): a person may be read by whoever may read one of
  the cases they are linked to; they are shown with those cases only. ``find`` searches only the
  people linked to a case in the actor's scope. Administrators read no person.

Every change records an ``Audited`` event (its handler writes the audit entry in the same
transaction) naming the person by number, the case, the role and which fields were given (or,
for a correction, changed), never their values: the audit trail is not case data, and
administrators may one day read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Final, Literal, Protocol, TypeVar

from carepath.engine.case import Actor, Case
from carepath.engine.clock import Clock, local_today
from carepath.engine.errors import InvalidInput, NotFound, NotPermitted
from carepath.engine.events import Audited
from carepath.engine.people import Participant, Person, PersonDetails, person_details, person_role, search_keys
from carepath.engine.people import stored_keys as keys_of
from carepath.engine.policy import Subject, authorize, permitted
from carepath.engine.ports import Transaction, UnitOfWork
from carepath.engine.reads import DEFAULT_LIMIT, Page, Scope, clamp_limit
from carepath.engine.services.cases import Who, resolve_actor
from carepath.engine.services.reads import read_participants, scope_for
from carepath.engine.text import cursor, day_in_range, findable, one_line, record_id, reference

#: The longest name someone may search for.
SEARCH_MAX = 200


def audit_subject(person_id: int) -> str:
    """The audit trail's subject for a person: their changes are recorded, and read back, under it."""
    return f"person:{person_id}"


#: How many of a person's changes their page lists (newest first).
CHANGES_MAX = 50

T = TypeVar("T")


class _Keep(Enum):
    KEEP = "keep"


#: ``PersonService.correct``'s default for an optional detail: leave it as it is (``None`` clears it).
KEEP: Final = _Keep.KEEP
Keep = Literal[_Keep.KEEP]


@dataclass(frozen=True, slots=True)
class PersonCase:
    """One case a person is linked to, with their role in it and what the policy needs of the case."""

    case_ref: str
    role: str
    workflow_id: str
    status: str
    owner_id: int | None
    team_id: int | None

    @property
    def subject(self) -> Subject:
        return Subject(owner_id=self.owner_id, team_id=self.team_id)


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A person as one actor may read them: their details and the cases of theirs the actor may read."""

    person: Person
    cases: tuple[PersonCase, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Found:
    """A person a search found: how close the name is (0-100; 100 when only the date was searched)."""

    person: Person
    score: int


class PersonStore(Protocol):
    """People, written in the unit of work's transaction."""

    def add_person(self, details: PersonDetails, keys: frozenset[str], created_by: int) -> int:
        """Insert a person and their name keys; their number."""
        ...

    def link(self, case_id: int, person_id: int, role: str, added_by: int) -> None:
        """Link a person to a case in a role; ``InvalidInput`` if they are on it already."""
        ...

    def cases_of(self, person_id: int) -> list[PersonCase]:
        """The cases a person is linked to; ``NotFound`` if there is no such person."""
        ...

    def person_for_update(self, person_id: int) -> Person:
        """One person, their row locked until the transaction ends; ``NotFound`` if there is none."""
        ...

    def correct_person(self, person_id: int, details: PersonDetails, keys: frozenset[str]) -> None:
        """Replace a person's details and name keys with these."""
        ...

    def unlink(self, case_id: int, person_id: int) -> None:
        """Take a person off a case (the caller checked that they are on it)."""
        ...


class PersonReads(Protocol):
    """People as they are read (on the read engine)."""

    def changes(self, person_id: int, limit: int) -> list[PersonChange]:
        """The audit trail's entries about the person, newest first, at most ``limit``."""
        ...

    def case_subjects(self, refs: frozenset[str]) -> dict[str, Subject]:
        """The owner and team of each case of ``refs`` that exists (what the policy needs to say who reads it)."""
        ...

    def person(self, person_id: int) -> Person:
        """One person; ``NotFound`` if there is none."""
        ...

    def cases_of(self, person_id: int) -> list[PersonCase]:
        """The cases a person is linked to, by reference."""
        ...

    def participants(self, case_id: int, case_ref: str) -> list[Participant]:
        """A case's people, by role then name."""
        ...

    def find(
        self, name: str | None, born_on: date | None, scope: Scope, *, limit: int, after: str | None
    ) -> Page[Found]:
        """A page of the people in ``scope`` whose name is close to ``name`` and born on ``born_on`` (either may be
        ``None``, not both), closest first."""
        ...


@dataclass(frozen=True, slots=True)
class Added:
    """A person just added to a case, or linked to one."""

    person_id: int
    case_ref: str
    role: str


@dataclass(frozen=True, slots=True)
class PersonChange:
    """One change to a person's record, from the audit trail: when, what (``person.add``, ``person.link``,
    ``person.correct``, ``person.unlink``), by whom (their name), and its detail: the case and role, or
    the names of the fields corrected, never their values."""

    at: datetime
    action: str
    by: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Unlinked:
    """A person just taken off a case, and the role they had in it."""

    person_id: int
    case_ref: str
    role: str


@dataclass(frozen=True, slots=True)
class Corrected:
    """A person's corrected details, and the names of the fields that changed (in ``PersonDetails`` order)."""

    person: Person
    fields: tuple[str, ...]


#: A person's fields, in ``PersonDetails`` order (what a correction may change).
DETAIL_FIELDS = ("given_names", "family_name", "born_on", "sex", "ethnicity", "contact")


def _kept(value: T | Keep, old: T) -> T:
    return old if value is KEEP else value


def _authorize_on_person(by: Actor, command: str, cases: list[PersonCase]) -> None:
    """Refused unless ``by`` may run ``command`` on one of a person's ``cases`` and read the person."""
    if not any(permitted(by, command, c.subject) for c in cases):
        authorize(by, command, cases[0].subject)  # raises with the policy's reason
        raise NotPermitted(by.email, command, "the person is on no case of theirs")
    if not any(permitted(by, "person.read", c.subject) for c in cases):
        raise NotPermitted(by.email, command, "the person is on no case they may read")


def _given(details: PersonDetails) -> list[str]:
    """The names of the fields that hold a value (for the audit entry: never the values)."""
    fields = ["given_names", "family_name"]
    for name in ("born_on", "sex", "ethnicity", "contact"):
        if getattr(details, name) is not None:
            fields.append(name)
    return fields


class PersonService:
    """Adds, links, corrects, unlinks, reads and finds the people cases are about."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        records: Callable[[Transaction], PersonStore],
        reads: PersonReads,
        clock: Clock,
    ) -> None:
        """``uow`` gives the unit of work when a change first needs it: a read (``case show``) builds no
        message bus, so imports none of the notifications."""
        self._uow = uow
        self._records = records
        self._reads = reads
        self.clock = clock

    # -- changes --------------------------------------------------------------------------

    def add(
        self,
        case_ref: str,
        role: str,
        given_names: str,
        family_name: str,
        actor: Who | None,
        *,
        born_on: date | None = None,
        sex: str | None = None,
        ethnicity: str | None = None,
        contact: str | None = None,
    ) -> Added:
        """Add a person to the case ``case_ref`` in ``role``."""
        ref = reference(case_ref)
        role = person_role(role)
        details = person_details(
            given_names,
            family_name,
            today=local_today(self.clock),
            born_on=born_on,
            sex=sex,
            ethnicity=ethnicity,
            contact=contact,
        )
        with self._uow().transaction() as tx:
            by = resolve_actor(tx, actor, "person.add")
            case = tx.case_for_update(ref)
            authorize(by, "person.add", Subject(case.owner_id, case.team_id))
            assert case.id is not None
            store = self._records(tx)
            person_id = store.add_person(details, keys_of(details), by.id)
            store.link(case.id, person_id, role, by.id)
            detail = {"case": case.ref, "role": role, "fields": _given(details)}
            tx.record(Audited(by.id, "person.add", audit_subject(person_id), detail))
        return Added(person_id, case.ref, role)

    def link(self, person_id: int, case_ref: str, role: str, actor: Who | None) -> Added:
        """Link an existing person to the case ``case_ref`` in ``role``."""
        record_id(person_id, "the person number")
        ref = reference(case_ref)
        role = person_role(role)
        with self._uow().transaction() as tx:
            by = resolve_actor(tx, actor, "person.link")
            case = tx.case_for_update(ref)
            authorize(by, "person.link", Subject(case.owner_id, case.team_id))
            assert case.id is not None
            store = self._records(tx)
            if not any(permitted(by, "person.read", c.subject) for c in store.cases_of(person_id)):
                raise NotPermitted(by.email, "person.link", "the person is on no case they may read")
            store.link(case.id, person_id, role, by.id)
            tx.record(Audited(by.id, "person.link", audit_subject(person_id), {"case": case.ref, "role": role}))
        return Added(person_id, case.ref, role)

    def correct(
        self,
        person_id: int,
        actor: Who | None,
        *,
        given_names: str | None = None,
        family_name: str | None = None,
        born_on: date | Keep | None = KEEP,
        sex: str | Keep | None = KEEP,
        ethnicity: str | Keep | None = KEEP,
        contact: str | Keep | None = KEEP,
    ) -> Corrected:
        """Correct person ``person_id``'s details (audited by field name, never value).

        A detail left out keeps its value; ``None`` clears an optional one (date of birth, sex,
        ethnicity, contact; the names cannot be cleared). The details after the correction are checked
        as ``add`` checks them, and the name keys follow the names, so ``find`` finds the new name and
        not the old. A web form may pass every field as shown (unchanged ones change nothing).

        Raises:
            NotFound: there is no such person.
            NotPermitted: ``actor`` may not ``person.correct`` on any case of the person's, or may not
                read them.
            InvalidInput: a detail is not valid (naming it), or nothing would change.
        """
        record_id(person_id, "the person number")
        with self._uow().transaction() as tx:
            by = resolve_actor(tx, actor, "person.correct")
            scope_for(by, "person.correct")  # a role with no grant (administrators) is refused before any read
            store = self._records(tx)
            old = store.person_for_update(person_id).details  # locked first: the cases read next stay as read
            _authorize_on_person(by, "person.correct", store.cases_of(person_id))
            new = person_details(
                old.given_names if given_names is None else given_names,
                old.family_name if family_name is None else family_name,
                today=local_today(self.clock),
                born_on=_kept(born_on, old.born_on),
                sex=_kept(sex, old.sex),
                ethnicity=_kept(ethnicity, old.ethnicity),
                contact=_kept(contact, old.contact),
            )
            changed = tuple(n for n in DETAIL_FIELDS if getattr(new, n) != getattr(old, n))
            if not changed:
                raise InvalidInput(f"nothing to change: person {person_id}'s details are already these")
            store.correct_person(person_id, new, keys_of(new))
            tx.record(Audited(by.id, "person.correct", audit_subject(person_id), {"fields": list(changed)}))
        return Corrected(Person(person_id, new), changed)

    def unlink(self, person_id: int, case_ref: str, actor: Who | None) -> Unlinked:
        """Take person ``person_id`` off the case ``case_ref`` (linked to it in error; audited).

        The link's row is deleted, not ended: the audit trail keeps every link the person ever had
        (``person.add`` and ``person.link`` entries name the case and role, and this one names the case
        and role taken away, with who and when), so the reads need no "still linked" filter and the
        person may be linked to the case again later. Every person stays on at least one case.

        Raises:
            CaseNotFound: there is no such case.
            NotFound: there is no such person.
            NotPermitted: ``actor`` may not ``person.unlink`` on that case.
            InvalidInput: the person is not on that case, or it is their only case.
        """
        record_id(person_id, "the person number")
        ref = reference(case_ref)
        with self._uow().transaction() as tx:
            by = resolve_actor(tx, actor, "person.unlink")
            case = tx.case_for_update(ref)
            authorize(by, "person.unlink", Subject(case.owner_id, case.team_id))
            assert case.id is not None
            store = self._records(tx)
            store.person_for_update(person_id)  # two unlinks of one person run one after the other
            cases = store.cases_of(person_id)
            role = next((c.role for c in cases if c.case_ref == case.ref), None)
            if role is None:
                raise InvalidInput(f"person {person_id} is not on {case.ref}")
            if len(cases) == 1:
                raise InvalidInput(f"{case.ref} is person {person_id}'s only case: link them to the right case first")
            store.unlink(case.id, person_id)
            tx.record(Audited(by.id, "person.unlink", audit_subject(person_id), {"case": case.ref, "role": role}))
        return Unlinked(person_id, case.ref, role)

    # -- reads ----------------------------------------------------------------------------

    def show(self, person_id: int, actor: Actor) -> PersonRecord:
        """One person, with the cases of theirs ``actor`` may read; refused unless there is one."""
        record_id(person_id, "the person number")
        scope_for(actor, "person.read")  # a role with no grant (administrators) is refused before any read
        cases = self._reads.cases_of(person_id)
        if not cases:  # every person is added on a case: there is no such person
            raise NotFound("person", person_id)
        readable = tuple(c for c in cases if permitted(actor, "person.read", c.subject))
        if not readable:
            authorize(actor, "person.read", cases[0].subject)  # raises with the policy's reason
            raise NotPermitted(actor.email, "person.read", "the person is on no case they may read")
        return PersonRecord(self._reads.person(person_id), readable)

    def changes(self, person_id: int, actor: Actor, *, limit: int = CHANGES_MAX) -> list[PersonChange]:
        """The changes to a person's record, newest first, if ``actor`` may read the person (as ``show``)."""
        return self.changes_of(self.show(person_id, actor), actor, limit=limit)

    def changes_of(self, record: PersonRecord, actor: Actor, *, limit: int = CHANGES_MAX) -> list[PersonChange]:
        """The changes to the record of a person already read with ``show`` (their page), newest first.

        An entry naming a case ``actor`` may not read (``case.read``; a case the person has left counts
        too) keeps its kind, who and when, but not the case (its ``case`` becomes ``None``): the
        record shows that something happened, never where.
        """
        if not any(permitted(actor, "person.read", c.subject) for c in record.cases):
            raise NotPermitted(actor.email, "person.read", "the person is on no case they may read")
        changes = self._reads.changes(record.person.id, clamp_limit(limit))
        named = frozenset(str(c.detail["case"]) for c in changes if c.detail.get("case"))
        subjects = self._reads.case_subjects(named) if named else {}
        readable = {ref for ref, subject in subjects.items() if permitted(actor, "case.read", subject)}
        return [
            c
            if not c.detail.get("case") or c.detail["case"] in readable
            else PersonChange(c.at, c.action, c.by, {**c.detail, "case": None})
            for c in changes
        ]

    def participants(self, case: Case, actor: Actor) -> list[Participant]:
        """The people of ``case`` (as read by the caller), by role then name."""
        return read_participants(self._reads, case, actor)

    def find(
        self,
        actor: Actor,
        *,
        name: str | None = None,
        born_on: date | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[Found]:
        """A page of the people linked to a case in ``actor``'s scope, by name (forgiving spelling) and/or date
        of birth, closest first."""
        scope = scope_for(actor, "person.read")
        if name is not None:
            if not findable(name, 10 * SEARCH_MAX):
                raise InvalidInput("the name to search for must be one line of text")
            name = one_line(name, "the name to search for", SEARCH_MAX)
            if not search_keys(name):
                raise InvalidInput("the name to search for holds no letters")
        if born_on is not None:
            day_in_range(born_on, "the date of birth")
        if name is None and born_on is None:
            raise InvalidInput("search by a name, a date of birth (--born), or both")
        return self._reads.find(name, born_on, scope, limit=clamp_limit(limit), after=cursor(after))


__all__ = [
    "DETAIL_FIELDS",
    "KEEP",
    "Added",
    "Corrected",
    "Found",
    "Keep",
    "PersonCase",
    "PersonChange",
    "PersonReads",
    "PersonRecord",
    "PersonService",
    "PersonStore",
    "Unlinked",
    "audit_subject",
]
