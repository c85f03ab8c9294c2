"""Rows to engine objects, shared by the SQLAlchemy stores and the quick reads on ``sqlite3``.

No SQLAlchemy here: ``storage.lite`` (``carepath case show`` without SQLAlchemy, issue 9) builds
the same objects from the same rows through these functions, so the two paths cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from carepath.engine.case import Actor, Case
from carepath.engine.errors import InvalidInput, NotFound
from carepath.engine.people import PERSON_ROLES, Participant, Person, PersonDetails

#: A case row's columns, in the order ``case_of`` reads them.
CASE_COLUMNS = (
    "id",
    "ref",
    "workflow_id",
    "workflow_version",
    "state",
    "status",
    "held_from",
    "facts",
    "owner_id",
    "team_id",
    "exit_reason",
    "opened_on",
    "last_event_on",
    "last_seq",
    "version",
)
#: A person row's columns, in the order ``person_of`` reads them.
PERSON_COLUMNS = ("id", "given_names", "family_name", "born_on", "sex", "ethnicity", "contact")
_ROLE_ORDER = {role: i for i, role in enumerate(PERSON_ROLES)}


def case_of(values: Sequence[Any]) -> Case:
    """A case from its row's ``CASE_COLUMNS`` values, by position."""
    return Case(**dict(zip(CASE_COLUMNS, values, strict=True)))


def normalise_email(email: str) -> str:
    """Emails compare without case or surrounding space."""
    return email.strip().lower()


def actor_of(email: str, user: Sequence[Any] | None, team_ids: Callable[[int], Iterable[int]]) -> Actor:
    """The active user ``email`` as an actor, from their row (id, email, roles, active) and their teams.

    Raises:
        NotFound: no such user.
        InvalidInput: the user is deactivated.
    """
    if user is None:
        raise NotFound("user", email)
    user_id, stored_email, roles, active = user
    if not active:
        raise InvalidInput(f"user {email!r} is deactivated")
    return Actor(user_id, stored_email, frozenset(roles), team_ids=frozenset(team_ids(user_id)))


def person_of(values: Sequence[Any]) -> Person:
    """A person from their row's ``PERSON_COLUMNS`` values, by position."""
    person_id, given, family, born_on, sex, ethnicity, contact = values
    return Person(person_id, PersonDetails(given, family, born_on, sex, ethnicity, contact))


def participants_in_order(case_ref: str, rows: Iterable[Sequence[Any]]) -> list[Participant]:
    """A case's people from rows of ``PERSON_COLUMNS`` then the role: by role, then family and given names."""
    found = [Participant(case_ref, r[-1], person_of(r[:-1])) for r in rows]
    return sorted(
        found,
        key=lambda p: (
            _ROLE_ORDER.get(p.role, len(_ROLE_ORDER)),
            p.person.details.family_name.casefold(),
            p.person.details.given_names.casefold(),
            p.person.id,
        ),
    )
