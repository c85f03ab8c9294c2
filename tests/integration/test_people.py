"""People on cases through the real services, on a SQLite file and on PostgreSQL.

Adding, linking, reading and finding people; who may (docs/permissions.md, "People on cases");
the audit trail (person numbers and field names, never values); the forgiving, paged search;
the migration's indexes.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect, select

from carepath.config.bootstrap import App
from carepath.engine.errors import CaseNotFound, InvalidInput, NotFound, NotPermitted
from carepath.storage.queries import people as people_queries
from carepath.storage.tables import AUDIT, METADATA, PARTICIPANTS
from tests.support import Staff, add_user

CW = "caseworker@council.test"


def _case(app: App, staff: Staff, team_id: int | None = None, owner: str = "caseworker") -> str:
    sm = staff["service_manager"]
    return app.cases.open_case("sample", sm, owner_id=staff[owner].id, team_id=team_id or staff.team_id).ref


def _other_team(app: App) -> tuple[int, str]:
    """A second team with its own caseworker; (team id, the caseworker's email)."""
    add_user(app, "b1@council.test", "caseworker")
    team = app.people.add_team("Other", "admin@council.test", members=["b1@council.test"])
    return team, "b1@council.test"


def test_add_show_and_participants(app: App, staff: Staff) -> None:
    ref = _case(app, staff)
    cw = staff["caseworker"]
    child = app.persons.add(
        ref, "child", "Zebediah", "Quillfeather", CW, born_on=date(2015, 3, 1), sex="male", ethnicity="WBRI"
    )
    mum = app.persons.add(ref, "birth-parent", "Anne", "Quillfeather", CW, contact="1 Acacia Avenue")
    carer = app.persons.add(ref, "applicant", "Bea", "Abbott", CW)
    assert (child.case_ref, child.role, mum.role) == (ref, "child", "birth_parent")

    record = app.persons.show(child.person_id, cw)
    d = record.person.details
    assert (d.given_names, d.family_name, d.born_on, d.sex, d.ethnicity, d.contact) == (
        "Zebediah",
        "Quillfeather",
        date(2015, 3, 1),
        "male",
        "WBRI",
        None,
    )
    assert [(c.case_ref, c.role) for c in record.cases] == [(ref, "child")]

    case = app.reads.case(ref, cw)
    people = app.persons.participants(case, cw)
    assert [(p.role, p.person.id) for p in people] == [
        ("child", child.person_id),
        ("applicant", carer.person_id),
        ("birth_parent", mum.person_id),
    ]


def test_link_to_another_case(app: App, staff: Staff) -> None:
    first, second = _case(app, staff), _case(app, staff)
    pid = app.persons.add(first, "child", "Zebediah", "Quillfeather", CW).person_id
    app.persons.link(pid, second, "child", CW)
    assert [c.case_ref for c in app.persons.show(pid, staff["caseworker"]).cases] == sorted([first, second])
    with pytest.raises(InvalidInput, match="on this case already"):
        app.persons.link(pid, second, "partner", CW)
    with pytest.raises(NotFound, match="no person 999999"):
        app.persons.link(999_999, second, "child", CW)
    with pytest.raises(CaseNotFound):
        app.persons.add("NO-2026-0001", "child", "A", "B", CW)


def test_refusals_write_nothing(app: App, staff: Staff) -> None:
    ref = _case(app, staff)
    for bad in (
        {"role": "kid"},
        {"given_names": ""},
        {"family_name": "x" * 101},
        {"born_on": date(2026, 11, 3)},  # tomorrow, by the injected clock
        {"ethnicity": "ZZZZ"},
    ):
        args = {"role": "child", "given_names": "A", "family_name": "B", **bad}
        with pytest.raises(InvalidInput):
            app.persons.add(ref, args.pop("role"), args.pop("given_names"), args.pop("family_name"), CW, **args)  # type: ignore[arg-type]
    with app.engine.connect() as conn:
        assert conn.execute(select(PARTICIPANTS)).first() is None


def test_who_may_add_link_and_read(app: App, staff: Staff) -> None:
    other_team, b1 = _other_team(app)
    mine = _case(app, staff)
    theirs = app.cases.open_case(
        "sample", staff["service_manager"], owner_id=app.directory.user_id(b1), team_id=other_team
    ).ref
    ours = app.persons.add(mine, "child", "Zebediah", "Quillfeather", CW).person_id
    their = app.persons.add(theirs, "child", "Yolanda", "Quillfeather", b1).person_id

    with pytest.raises(NotPermitted, match=r"person\.add"):
        app.persons.add(theirs, "child", "A", "B", CW)  # not their team's case
    with pytest.raises(NotPermitted, match="administrators manage the system"):
        app.persons.add(mine, "child", "A", "B", "admin@council.test")
    with pytest.raises(NotPermitted, match=r"person\.read"):
        app.persons.show(their, staff["caseworker"])
    with pytest.raises(NotPermitted, match="administrators manage the system"):
        app.persons.show(ours, staff.admin)
    with pytest.raises(NotPermitted, match="administrators manage the system"):
        app.persons.find(staff.admin, name="Quillfeather")
    # Linking someone they cannot read onto their own case would let them read them: refused.
    with pytest.raises(NotPermitted, match="on no case they may read"):
        app.persons.link(their, mine, "birth_parent", CW)
    # The IRO reads every case, so every person; changes none.
    assert app.persons.show(their, staff["iro"]).person.id == their
    with pytest.raises(NotPermitted, match=r"person\.add"):
        app.persons.add(mine, "child", "A", "B", "iro@council.test")
    # Searches see only people on cases in scope.
    assert [f.person.id for f in app.persons.find(staff["caseworker"], name="Quillfeather")] == [ours]
    assert {f.person.id for f in app.persons.find(staff["iro"], name="Quillfeather")} == {ours, their}
    # Once linked to a case of theirs (by someone who may read the person), the caseworker reads them,
    # with only the cases of theirs they may read.
    app.persons.link(their, mine, "birth_parent", "service.manager@council.test")
    assert [c.case_ref for c in app.persons.show(their, staff["caseworker"]).cases] == [mine]


def test_changes_are_audited_without_personal_data(app: App, staff: Staff) -> None:
    first, second = _case(app, staff), _case(app, staff)
    pid = app.persons.add(
        first, "child", "Zebediah", "Quillfeather", CW, born_on=date(2015, 3, 1), contact="1 Acacia Avenue"
    ).person_id
    app.persons.link(pid, second, "child", CW)
    with app.engine.connect() as conn:
        rows = list(
            conn.execute(
                select(AUDIT.c.action, AUDIT.c.subject, AUDIT.c.detail, AUDIT.c.actor_id)
                .where(AUDIT.c.action.like("person.%"))
                .order_by(AUDIT.c.id)
            )
        )
    assert [(r.action, r.subject, r.actor_id) for r in rows] == [
        ("person.add", f"person:{pid}", staff["caseworker"].id),
        ("person.link", f"person:{pid}", staff["caseworker"].id),
    ]
    assert rows[0].detail == {
        "case": first,
        "role": "child",
        "fields": ["given_names", "family_name", "born_on", "contact"],
    }
    assert rows[1].detail == {"case": second, "role": "child"}
    text = repr(rows)
    for planted in ("Zebediah", "Quillfeather", "2015-03-01", "Acacia"):
        assert planted not in text


def test_find_forgives_spelling_and_uses_the_date_of_birth(app: App, staff: Staff) -> None:
    ref = _case(app, staff)
    cw = staff["caseworker"]
    zeb = app.persons.add(ref, "child", "Zebediah", "Quillfeather", CW, born_on=date(2015, 3, 1)).person_id
    app.persons.add(ref, "birth_parent", "Anne", "Quillfeather", CW, born_on=date(1990, 5, 5))
    app.persons.add(ref, "applicant", "John", "Smith", CW, born_on=date(2015, 3, 1))

    def found(**kw: object) -> list[tuple[int, int]]:
        return [(f.person.id, f.score) for f in app.persons.find(cw, **kw)]  # type: ignore[arg-type]

    assert found(name="Zebedia Quilfether")[0][0] == zeb
    assert found(name="quillfeather, zebediah")[0] == (zeb, 100)
    assert found(name="John Smith", born_on=date(1990, 5, 5)) == []  # the name and the day must both fit
    assert found(name="Zebediah Quillfeather", born_on=date(1990, 5, 5)) == [(zeb + 1, 79)]  # the family name only
    # With the date of birth, a first letter spelt wrong still finds them (the day narrows, not the name's key).
    assert [p for p, _ in found(name="Kwillfeather", born_on=date(2015, 3, 1))] == [zeb]
    assert {p for p, s in found(born_on=date(2015, 3, 1))} == {zeb, zeb + 2}
    assert found(name="Nobody Atall") == []
    with pytest.raises(InvalidInput, match="search by a name"):
        app.persons.find(cw)
    with pytest.raises(InvalidInput, match="holds no letters"):
        app.persons.find(cw, name="1234 --")
    with pytest.raises(InvalidInput, match="one line"):
        app.persons.find(cw, name="a\nb")


def test_find_is_paged_and_bounded(app: App, staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = _case(app, staff)
    ids = [app.persons.add(ref, "household_member", "Zeb", f"Quillfeather{'e' * i}", CW).person_id for i in range(7)]
    cw = staff["caseworker"]
    seen: list[int] = []
    page = app.persons.find(cw, name="Zeb Quillfeather", limit=3)
    assert (len(page), page.total, page.total_exact) == (3, 7, True)
    while True:
        seen.extend(f.person.id for f in page)
        scores = [f.score for f in page]
        assert scores == sorted(scores, reverse=True)
        if page.next is None:
            break
        page = app.persons.find(cw, name="Zeb Quillfeather", limit=3, after=page.next)
    assert sorted(seen) == ids
    assert len(set(seen)) == len(seen)
    with pytest.raises(InvalidInput, match="cursor"):
        app.persons.find(cw, name="Zeb", after="nonsense")
    monkeypatch.setattr(people_queries, "CANDIDATES_MAX", 4)  # past the bound, the total says it is not exact
    page = app.persons.find(cw, name="Zeb Quillfeather", limit=10)
    assert (len(page), page.total_exact) == (4, False)


def test_every_foreign_key_and_search_has_an_index(app: App) -> None:
    insp = inspect(app.engine)
    for table in ("person", "person_name_key", "case_person"):
        pk = insp.get_pk_constraint(table)["constrained_columns"]
        indexes = [ix["column_names"] for ix in insp.get_indexes(table)]
        for fk in insp.get_foreign_keys(table):
            col = fk["constrained_columns"][0]
            assert pk[:1] == [col] or any(ix[:1] == [col] for ix in indexes), (table, col)
    assert ["born_on", "id"] in [ix["column_names"] for ix in insp.get_indexes("person")]
    assert insp.get_pk_constraint("person_name_key")["constrained_columns"] == ["key", "person_id"]
    # The tables the migration made are the ones storage/tables.py declares.
    for name in ("person", "person_name_key", "case_person"):
        declared = {c.name for c in METADATA.tables[name].columns}
        assert {c["name"] for c in insp.get_columns(name)} == declared


def test_migration_0006_goes_down_and_up(app: App, staff: Staff) -> None:
    from alembic import command

    from carepath.storage.migrate import alembic_config, current

    pid = app.persons.add(_case(app, staff), "child", "Zebediah", "Quillfeather", CW).person_id
    cfg = alembic_config(str(app.engine.url.render_as_string(hide_password=False)))
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert not {"person", "person_name_key", "case_person"} & set(inspect(app.engine).get_table_names())
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    assert current(app.engine) == "0006"
    pid2 = app.persons.add(_case(app, staff), "child", "Zebediah", "Quillfeather", CW).person_id
    assert [f.person.id for f in app.persons.find(staff["caseworker"], name="Quillfeather")] == [pid2]  # fresh tables
    assert pid2 >= pid
