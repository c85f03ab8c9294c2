"""People cases are about, written in the unit of work's transaction (``engine.services.persons.PersonStore``).

Reads are ``storage.queries.people``'s. ``person_store(tx)`` binds the statements to the
connection of one ``SqlTransaction``, so a person and their links commit with the audit entry
their change records, or not at all.

A correction rewrites the person's row and replaces their name keys; an unlink deletes the link's
row (the audit trail keeps the link: ``engine.services.persons.PersonService.unlink``). No column
records who last changed a person: the audit entries do.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from carepath.engine.errors import InvalidInput, NotFound
from carepath.engine.people import Person, PersonDetails
from carepath.engine.ports import Transaction
from carepath.engine.services.persons import DETAIL_FIELDS, PersonCase
from carepath.storage.rows import PERSON_COLUMNS, person_of
from carepath.storage.tables import CASES, PARTICIPANTS, PERSON_KEYS, PERSONS
from carepath.storage.uow import SqlTransaction

_CASES_OF = (
    select(
        CASES.c.ref,
        PARTICIPANTS.c.role,
        CASES.c.workflow_id,
        CASES.c.status,
        CASES.c.owner_id,
        CASES.c.team_id,
    )
    .join(CASES, CASES.c.id == PARTICIPANTS.c.case_id)
    .order_by(CASES.c.ref)
)

_PERSON = select(*(PERSONS.c[n] for n in PERSON_COLUMNS))


def cases_of(conn: Connection, person_id: int) -> list[PersonCase]:
    """The cases a person is linked to, by reference (empty for a person that does not exist)."""
    rows = conn.execute(_CASES_OF.where(PARTICIPANTS.c.person_id == person_id))
    return [PersonCase(r.ref, r.role, r.workflow_id, r.status, r.owner_id, r.team_id) for r in rows]


class PersonSql:
    """``PersonStore`` on one write transaction's connection."""

    def __init__(self, tx: SqlTransaction) -> None:
        self.tx = tx
        self.conn = tx.conn

    def add_person(self, details: PersonDetails, keys: frozenset[str], created_by: int) -> int:
        values = {
            "given_names": details.given_names,
            "family_name": details.family_name,
            "born_on": details.born_on,
            "sex": details.sex,
            "ethnicity": details.ethnicity,
            "contact": details.contact,
            "created_by": created_by,
            "created_at": self.tx.now(),
        }
        person_id: int = self.conn.execute(insert(PERSONS).values(values).returning(PERSONS.c.id)).scalar_one()
        self._insert_keys(person_id, keys)
        return person_id

    def _insert_keys(self, person_id: int, keys: frozenset[str]) -> None:
        if keys:
            self.conn.execute(insert(PERSON_KEYS), [{"key": k, "person_id": person_id} for k in sorted(keys)])

    def link(self, case_id: int, person_id: int, role: str, added_by: int) -> None:
        row = {
            "case_id": case_id,
            "person_id": person_id,
            "role": role,
            "added_by": added_by,
            "added_at": self.tx.now(),
        }
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(PARTICIPANTS).values(row))
        except IntegrityError:
            raise InvalidInput(f"person {person_id} is on this case already") from None

    def cases_of(self, person_id: int) -> list[PersonCase]:
        found = cases_of(self.conn, person_id)
        if not found:
            raise NotFound("person", person_id)
        return found

    def person_for_update(self, person_id: int) -> Person:
        stmt = _PERSON.where(PERSONS.c.id == person_id)
        # SQLite's writes already run one at a time (BEGIN IMMEDIATE); PostgreSQL locks the row.
        row = self.conn.execute(stmt.with_for_update() if self.tx.postgres else stmt).first()
        if row is None:
            raise NotFound("person", person_id)
        return person_of(row)

    def correct_person(self, person_id: int, details: PersonDetails, keys: frozenset[str]) -> None:
        values = {n: getattr(details, n) for n in DETAIL_FIELDS}  # not who added them, nor when
        self.conn.execute(update(PERSONS).where(PERSONS.c.id == person_id).values(values))
        self.conn.execute(delete(PERSON_KEYS).where(PERSON_KEYS.c.person_id == person_id))
        self._insert_keys(person_id, keys)

    def unlink(self, case_id: int, person_id: int) -> None:
        self.conn.execute(
            delete(PARTICIPANTS).where(PARTICIPANTS.c.case_id == case_id, PARTICIPANTS.c.person_id == person_id)
        )


def person_store(tx: Transaction) -> PersonSql:
    """The person statements on ``tx`` (a ``SqlTransaction``: the bootstrap wires this to the SQL unit of work)."""
    assert isinstance(tx, SqlTransaction), type(tx)
    return PersonSql(tx)
