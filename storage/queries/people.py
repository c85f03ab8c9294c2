"""People cases are about, as they are read: one person, their cases, a case's people, the search.

The search is forgiving of spelling but bounded: SQL narrows the candidates by index (the name
keys of ``person_name_key``, or the date of birth when one is given) to the people linked to a
case in the reader's scope, at most ``CANDIDATES_MAX`` of them; only those are scored, with
rapidfuzz's ``WRatio`` (or ``token_sort_ratio``, for names given in another order, if higher) over
the folded names (rapidfuzz is imported on a search, never on a case read), and those scoring
``CUTOFF`` or more are paged, closest first. With more candidates than that the
page says its total is not exact: narrow the search (add the date of birth).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, bindparam, exists, or_, select

from carepath.engine.errors import NotFound
from carepath.engine.people import Participant, Person, fold, search_keys
from carepath.engine.policy import Subject
from carepath.engine.reads import Page, Scope, cursor_parts, make_cursor
from carepath.engine.services.persons import Found, PersonCase, PersonChange, audit_subject
from carepath.storage.persons import cases_of
from carepath.storage.rows import PERSON_COLUMNS, participants_in_order, person_of
from carepath.storage.tables import AUDIT, CASES, PARTICIPANTS, PERSON_KEYS, PERSONS, USERS

#: The most people one search scores.
CANDIDATES_MAX = 2000
#: The lowest score (0-100) a name must reach to be found.
CUTOFF = 70

_PERSON = select(*(PERSONS.c[n] for n in PERSON_COLUMNS))
#: A case's people and their roles (``storage.rows.participants_in_order`` reads the rows).
PARTICIPANTS_OF = (
    _PERSON.add_columns(PARTICIPANTS.c.role)
    .join(PARTICIPANTS, PARTICIPANTS.c.person_id == PERSONS.c.id)
    .where(PARTICIPANTS.c.case_id == bindparam("case_id"))
)


def person_from_row(r: Any) -> Person:
    return person_of(r)


class PersonQueries:
    """The read side of ``engine.services.persons.PersonReads``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def person(self, person_id: int) -> Person:
        with self.engine.connect() as conn:
            row = conn.execute(_PERSON.where(PERSONS.c.id == person_id)).first()
        if row is None:
            raise NotFound("person", person_id)
        return person_from_row(row)

    def cases_of(self, person_id: int) -> list[PersonCase]:
        with self.engine.connect() as conn:
            return cases_of(conn, person_id)

    def changes(self, person_id: int, limit: int) -> list[PersonChange]:
        """The audit trail's entries for the person, newest first (``ix_audit_entry_subject``)."""
        stmt = (
            select(AUDIT.c.at, AUDIT.c.action, AUDIT.c.detail, USERS.c.name, USERS.c.email)
            .outerjoin(USERS, USERS.c.id == AUDIT.c.actor_id)
            .where(AUDIT.c.subject == audit_subject(person_id))
            .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                PersonChange(r.at, r.action, r.name or r.email or "carepath", dict(r.detail or {}))
                for r in conn.execute(stmt)
            ]

    def case_subjects(self, refs: frozenset[str]) -> dict[str, Subject]:
        stmt = select(CASES.c.ref, CASES.c.owner_id, CASES.c.team_id).where(CASES.c.ref.in_(sorted(refs)))
        with self.engine.connect() as conn:
            return {r.ref: Subject(owner_id=r.owner_id, team_id=r.team_id) for r in conn.execute(stmt)}

    def participants(self, case_id: int, case_ref: str) -> list[Participant]:
        with self.engine.connect() as conn:
            return participants_in_order(case_ref, conn.execute(PARTICIPANTS_OF, {"case_id": case_id}))

    def find(
        self, name: str | None, born_on: date | None, scope: Scope, *, limit: int, after: str | None
    ) -> Page[Found]:
        conds: list[Any] = []
        if born_on is not None:
            conds.append(PERSONS.c.born_on == born_on)  # the day narrows; the name is scored, misspelt or not
        elif name is not None:
            keyed = select(PERSON_KEYS.c.person_id).where(PERSON_KEYS.c.key.in_(sorted(search_keys(name))))
            conds.append(PERSONS.c.id.in_(keyed))
        if not scope.all_cases:  # every person is on a case: only the scope needs saying
            conds.append(
                exists()
                .where(PARTICIPANTS.c.person_id == PERSONS.c.id, CASES.c.id == PARTICIPANTS.c.case_id)
                .where(or_(CASES.c.owner_id == scope.actor_id, CASES.c.team_id.in_(sorted(scope.team_ids))))
            )
        stmt = _PERSON.where(*conds).order_by(PERSONS.c.id).limit(CANDIDATES_MAX + 1)
        with self.engine.connect() as conn:
            rows = list(conn.execute(stmt))
        exact = len(rows) <= CANDIDATES_MAX
        matches = _scored([person_from_row(r) for r in rows[:CANDIDATES_MAX]], name)
        total = len(matches)
        if after is not None:
            score, last_id = cursor_parts(after, (int, int))
            matches = [f for f in matches if (-f.score, f.person.id) > (-score, last_id)]
        items = matches[:limit]
        more = len(matches) > limit
        return Page(
            tuple(items), total, limit, make_cursor(items[-1].score, items[-1].person.id) if more else None, exact
        )


def _scored(people: list[Person], name: str | None) -> list[Found]:
    """``people`` whose names score ``CUTOFF`` or more against ``name`` (all, scoring 100, without one),
    closest first, then by number."""
    if name is None:
        return [Found(p, 100) for p in people]
    from rapidfuzz import fuzz  # only a search pays for it (docs/adr/0006)

    wanted = fold(name)
    found = []
    for p in people:
        full = fold(p.details.full_name)
        # WRatio forgives a part of the name and misspellings; token_sort_ratio the order ("Family, Given").
        score = max(fuzz.WRatio(wanted, full), fuzz.token_sort_ratio(wanted, full))
        if score < CUTOFF:
            continue
        found.append(Found(p, round(score)))
    return sorted(found, key=lambda f: (-f.score, f.person.id))
