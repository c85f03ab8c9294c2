"""``carepath people``: the people cases are about (children, applicants, partners, household members,
birth parents, connected people). Not the users of carepath (``carepath users``).

Who may do what is docs/permissions.md's "People on cases": a person is added on a case and read
through the cases they are linked to; their details are corrected (``people correct``) and a link made
in error is undone (``people unlink``) by whoever works those cases. The JSON shape of a person is
``person_json``'s, the same in ``people show``, ``people find`` and ``case show``'s ``participants``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from carepath.engine.errors import InvalidInput
from carepath.engine.people import ETHNICITY, PERSON_ROLES, SEX
from carepath.engine.services.persons import KEEP, Keep
from carepath.engine.text import ID_MAX
from carepath.entrypoints.common import Typer, actor, get_app, parse_date, who
from carepath.entrypoints.output import emit_json, table
from carepath.entrypoints.paging import DEFAULT_LIMIT, After, Limit, emit_page
from carepath.entrypoints.show import person_json

if TYPE_CHECKING:
    from carepath.engine.case import Actor, Case
    from carepath.engine.people import Participant

people_app = Typer(help="People cases are about: children, applicants, partners, household and birth family.")

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
By = Annotated[str | None, typer.Option("--by", help="Acting user's email (default $CAREPATH_USER).")]
CaseRef = Annotated[str, typer.Option("--case", help="The case the person is on.")]
Role = Annotated[str, typer.Option("--role", help="Their role in the case (see `people codes`).")]
Number = Annotated[int, typer.Argument(min=1, max=ID_MAX, help="The person's number.")]

T = TypeVar("T")


def _new_or_cleared(value: T | None, clear: bool, option: str) -> T | Keep | None:
    """An optional detail for ``correct``: the new value, ``None`` for ``--no-...`` (clear it), else ``KEEP``."""
    if clear and value is not None:
        raise InvalidInput(f"give --{option} or --no-{option}, not both")
    if clear:
        return None
    return KEEP if value is None else value


def participants_of(case: Case, by: Actor) -> list[Participant]:
    """The people of a case the actor reads (for ``case show``)."""
    return get_app().persons.participants(case, by)


@people_app.command("add")
def people_add(
    case: CaseRef,
    role: Role,
    given: Annotated[str, typer.Option("--given", help="Given names.")],
    family: Annotated[str, typer.Option("--family", help="Family name.")],
    born: Annotated[str | None, typer.Option("--born", help="Date of birth, YYYY-MM-DD.")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="male, female, not_known or not_stated.")] = None,
    ethnicity: Annotated[
        str | None, typer.Option("--ethnicity", help="DfE ethnicity code (see `people codes`).")
    ] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Contact details (one line).")] = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Add a person to case CASE in ROLE (audited)."""
    added = get_app().persons.add(
        case,
        role,
        given,
        family,
        who(by),
        born_on=parse_date(born, "--born"),
        sex=sex,
        ethnicity=ethnicity,
        contact=contact,
    )
    if json_:
        emit_json({"id": added.person_id, "ref": added.case_ref, "role": added.role})
        return
    typer.echo(f"added person {added.person_id} to {added.case_ref} as {added.role}")


@people_app.command("link")
def people_link(person: Number, case: CaseRef, role: Role, by: By = None) -> None:
    """Link person PERSON to another case in ROLE (audited)."""
    added = get_app().persons.link(person, case, role, who(by))
    typer.echo(f"linked person {added.person_id} to {added.case_ref} as {added.role}")


@people_app.command("correct")
def people_correct(
    person: Number,
    given: Annotated[str | None, typer.Option("--given", help="Given names.")] = None,
    family: Annotated[str | None, typer.Option("--family", help="Family name.")] = None,
    born: Annotated[str | None, typer.Option("--born", help="Date of birth, YYYY-MM-DD.")] = None,
    no_born: Annotated[bool, typer.Option("--no-born", help="Clear the date of birth.")] = False,
    sex: Annotated[str | None, typer.Option("--sex", help="male, female, not_known or not_stated.")] = None,
    no_sex: Annotated[bool, typer.Option("--no-sex", help="Clear the sex.")] = False,
    ethnicity: Annotated[
        str | None, typer.Option("--ethnicity", help="DfE ethnicity code (see `people codes`).")
    ] = None,
    no_ethnicity: Annotated[bool, typer.Option("--no-ethnicity", help="Clear the ethnicity.")] = False,
    contact: Annotated[str | None, typer.Option("--contact", help="Contact details (one line).")] = None,
    no_contact: Annotated[bool, typer.Option("--no-contact", help="Clear the contact details.")] = False,
    by: By = None,
    json_: Json = False,
) -> None:
    """Correct person PERSON's details; what you leave out stays as it is (audited by field name)."""
    born_on: date | None = parse_date(born, "--born")
    corrected = get_app().persons.correct(
        person,
        who(by),
        given_names=given,
        family_name=family,
        born_on=_new_or_cleared(born_on, no_born, "born"),
        sex=_new_or_cleared(sex, no_sex, "sex"),
        ethnicity=_new_or_cleared(ethnicity, no_ethnicity, "ethnicity"),
        contact=_new_or_cleared(contact, no_contact, "contact"),
    )
    if json_:
        emit_json({**person_json(corrected.person), "changed": list(corrected.fields)})
        return
    typer.echo(f"corrected person {corrected.person.id}: {', '.join(corrected.fields)}")


@people_app.command("unlink")
def people_unlink(person: Number, case: CaseRef, by: By = None) -> None:
    """Take person PERSON off case CASE, where they were linked in error (audited); never off their only case."""
    unlinked = get_app().persons.unlink(person, case, who(by))
    typer.echo(f"took person {unlinked.person_id} off {unlinked.case_ref} (was {unlinked.role})")


@people_app.command("show")
def people_show(person: Number, by: By = None, json_: Json = False) -> None:
    """Show one person and the cases of theirs you may read."""
    record = get_app().persons.show(person, actor(by))
    cases = [{"ref": c.case_ref, "role": c.role, "workflow": c.workflow_id, "status": c.status} for c in record.cases]
    if json_:
        emit_json({**person_json(record.person), "cases": cases})
        return
    d = record.person.details
    typer.echo(f"person {record.person.id}  {d.full_name}")
    typer.echo(f"  born       {d.born_on.isoformat() if d.born_on else '-'}")
    typer.echo(f"  sex        {SEX[d.sex][0] if d.sex else '-'}")
    typer.echo(f"  ethnicity  {f'{d.ethnicity} ({ETHNICITY[d.ethnicity]})' if d.ethnicity else '-'}")
    typer.echo(f"  contact    {d.contact or '-'}")
    typer.echo("\nCases:")
    table(cases, ["ref", "role", "workflow", "status"])


@people_app.command("find")
def people_find(
    name: Annotated[str | None, typer.Argument(help="A name, spelt as well as you can.")] = None,
    born: Annotated[str | None, typer.Option("--born", help="Date of birth, YYYY-MM-DD.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
    by: By = None,
    json_: Json = False,
) -> None:
    """Find people on cases you may read, by name (forgiving spelling) and/or date of birth, closest first."""
    page = get_app().persons.find(actor(by), name=name, born_on=parse_date(born, "--born"), limit=limit, after=after)
    rows = [{**person_json(f.person), "score": f.score} for f in page]
    shown = [
        {
            "id": r["id"],
            "name": f"{r['given_names']} {r['family_name']}",
            "born": r["born_on"] or "-",
            "score": r["score"],
        }
        for r in rows
    ]
    if json_:
        emit_page(page, rows, [], True)
        return
    table(shown, ["id", "name", "born", "score"])
    emit_page(page, shown, [], False, show_table=False)


@people_app.command("codes")
def people_codes(json_: Json = False) -> None:
    """The code lists: roles in a case, sex, ethnicity (DfE)."""
    if json_:
        emit_json(
            {
                "roles": dict(PERSON_ROLES),
                "sex": {k: v[0] for k, v in SEX.items()},
                "ethnicity": dict(ETHNICITY),
            }
        )
        return
    typer.echo("Roles in a case:")
    table([{"code": k, "meaning": v} for k, v in PERSON_ROLES.items()], ["code", "meaning"])
    typer.echo("\nSex:")
    table([{"code": k, "meaning": v[0]} for k, v in SEX.items()], ["code", "meaning"])
    typer.echo("\nEthnicity (DfE codes):")
    table([{"code": k, "meaning": v} for k, v in ETHNICITY.items()], ["code", "meaning"])


def register(app: typer.Typer) -> None:
    """Add ``people`` to the ``carepath`` command."""
    app.add_typer(people_app, name="people")
