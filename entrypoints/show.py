"""What ``carepath case show`` prints, shared by the Typer command (entrypoints/cli.py) and the quick
path (entrypoints/quick.py), so the two print the same bytes. No Typer, SQLAlchemy or pydantic here.
"""

from __future__ import annotations

from typing import Any

from carepath.engine.people import Participant, Person
from carepath.engine.reads import CaseListing
from carepath.entrypoints.output import case_json


def person_json(p: Person) -> dict[str, Any]:
    """A person as every ``--json`` output shows one."""
    d = p.details
    return {
        "id": p.id,
        "given_names": d.given_names,
        "family_name": d.family_name,
        "born_on": d.born_on.isoformat() if d.born_on else None,
        "sex": d.sex,
        "ethnicity": d.ethnicity,
        "contact": d.contact,
    }


def participant_json(p: Participant) -> dict[str, Any]:
    """A person in a case: their role and the person (``person_json``)."""
    return {"role": p.role, "person": person_json(p.person)}


def participant_line(p: Participant) -> str:
    """One line of ``case show``: role, name, date of birth, number."""
    d = p.person.details
    born = d.born_on.isoformat() if d.born_on else "-"
    return f"  person   {p.role:<16} {d.full_name}    born {born}    (person {p.person.id})"


def case_show_json(listing: CaseListing, state_label: str, people: list[Participant]) -> dict[str, Any]:
    """``case show --json`` (and ``demo show --json``'s sample): the case and its participants."""
    c = listing.case
    return {
        **case_json(c, listing.owner, listing.team, state_label),
        "participants": [participant_json(p) for p in people],
    }


def case_lines(listing: CaseListing, state_label: str) -> list[str]:
    """The case as ``case show`` prints it for people: journey, state, status, owner, dates, facts."""
    c = listing.case
    return [
        f"{c.ref}  {c.workflow_id} v{c.workflow_version}",
        f"  state    {c.state} ({state_label}){' - held from ' + c.held_from if c.held_from else ''}",
        f"  status   {c.status}{' (' + c.exit_reason + ')' if c.exit_reason else ''}",
        f"  owner    {listing.owner or '-'}    team {listing.team or '-'}",
        f"  opened   {c.opened_on}    latest event {c.last_event_on}    version {c.version}",
        *(f"  fact     {k} = {v}" for k, v in sorted(c.facts.items())),
    ]


def case_show_lines(listing: CaseListing, state_label: str, people: list[Participant]) -> list[str]:
    """``case show``: the case, then one line per person in it."""
    return [*case_lines(listing, state_label), *(participant_line(p) for p in people)]
