"""Correcting a person's details and taking a person off a case linked in error, through the real
services, on a SQLite file and on PostgreSQL.

What a caseworker relies on (docs/permissions.md, "People on cases"): any detail can be put right or
cleared, checked as when the person was added; the search follows the corrected name; a person linked
to the wrong case comes off it, but never off their only case; who may do either; a refusal writes
nothing and says what was wrong; the audit trail names the fields changed and the links undone, never
a value.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from carepath.config.bootstrap import App
from carepath.engine.errors import CaseNotFound, InvalidInput, NotFound, NotPermitted
from carepath.engine.people import stored_keys
from carepath.storage.tables import AUDIT, METADATA, PERSON_KEYS
from tests.support import Staff, add_user

CW = "caseworker@council.test"
SM = "service.manager@council.test"
BORN = date(2015, 3, 1)


def _case(app: App, staff: Staff, team_id: int | None = None, owner_id: int | None = None) -> str:
    owner = staff["caseworker"].id if owner_id is None else owner_id
    return app.cases.open_case("sample", SM, owner_id=owner, team_id=team_id or staff.team_id).ref


def _zeb(app: App, ref: str, by: str = CW) -> int:
    """A child with every detail given; their number."""
    return app.persons.add(
        ref, "child", "Zebediah", "Quillfeather", by, born_on=BORN, sex="male", ethnicity="WBRI", contact="1 Acacia Ave"
    ).person_id


def _details(app: App, staff: Staff, pid: int) -> tuple[Any, ...]:
    d = app.persons.show(pid, staff["caseworker"]).person.details
    return (d.given_names, d.family_name, d.born_on, d.sex, d.ethnicity, d.contact)


def _counts(app: App) -> dict[str, int]:
    """Rows in every table: a refusal changes none of them."""
    with app.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in METADATA.sorted_tables}


def _audit(app: App, action: str) -> list[Any]:
    with app.engine.connect() as conn:
        return list(
            conn.execute(
                select(AUDIT.c.action, AUDIT.c.subject, AUDIT.c.detail, AUDIT.c.actor_id)
                .where(AUDIT.c.action == action)
                .order_by(AUDIT.c.id)
            )
        )


def _other_team(app: App, staff: Staff) -> tuple[str, str]:
    """A second team with its own caseworker, and a case of theirs; (the case, the caseworker's email)."""
    b1 = add_user(app, "b1@council.test", "caseworker")
    team = app.people.add_team("Other", "admin@council.test", members=[b1.email])
    return _case(app, staff, team_id=team, owner_id=b1.id), b1.email


# -- correcting --------------------------------------------------------------------------------


def test_each_detail_is_corrected_and_only_what_changed_is_named(app: App, staff: Staff) -> None:
    pid = _zeb(app, _case(app, staff))
    fix = app.persons.correct
    assert fix(pid, CW, given_names="Zebedee").fields == ("given_names",)
    assert fix(pid, CW, family_name="Quilfeather").fields == ("family_name",)
    assert fix(pid, CW, born_on=date(2015, 1, 3)).fields == ("born_on",)
    assert fix(pid, CW, sex="Female").fields == ("sex",)  # read as add reads it: the code "female"
    assert fix(pid, CW, ethnicity="mwbc").fields == ("ethnicity",)
    done = fix(pid, CW, contact="2 Birch Road")
    assert done.fields == ("contact",)
    expected = ("Zebedee", "Quilfeather", date(2015, 1, 3), "female", "MWBC", "2 Birch Road")
    d = done.person.details
    assert (d.given_names, d.family_name, d.born_on, d.sex, d.ethnicity, d.contact) == expected
    assert _details(app, staff, pid) == expected
    # Several at once, named in the order of a person's details; what was left out stays.
    both = fix(pid, CW, sex="male", given_names="Zebediah")
    assert both.fields == ("given_names", "sex")
    assert _details(app, staff, pid)[:4] == ("Zebediah", "Quilfeather", date(2015, 1, 3), "male")


def test_optional_details_are_cleared(app: App, staff: Staff) -> None:
    pid = _zeb(app, _case(app, staff))
    cleared = app.persons.correct(pid, CW, born_on=None, sex=None, ethnicity=None, contact=None)
    assert cleared.fields == ("born_on", "sex", "ethnicity", "contact")
    assert _details(app, staff, pid) == ("Zebediah", "Quillfeather", None, None, None, None)
    # A blank contact clears it too, as on add; clearing what is already clear is nothing to change.
    app.persons.correct(pid, CW, contact="1 Acacia Ave")
    assert app.persons.correct(pid, CW, contact="  ").fields == ("contact",)
    with pytest.raises(InvalidInput, match="nothing to change"):
        app.persons.correct(pid, CW, born_on=None, contact=None)


def test_the_search_follows_the_corrected_name(app: App, staff: Staff) -> None:
    pid = _zeb(app, _case(app, staff))
    cw = staff["caseworker"]
    assert [f.person.id for f in app.persons.find(cw, name="Quillfeather")] == [pid]
    corrected = app.persons.correct(pid, CW, family_name="Abernethy", given_names="Zeb")
    assert [f.person.id for f in app.persons.find(cw, name="Abernathy")] == [pid]  # forgiving, as ever
    assert [f.person.id for f in app.persons.find(cw, name="Zeb Abernethy")] == [pid]
    assert list(app.persons.find(cw, name="Quillfeather")) == []
    with app.engine.connect() as conn:
        keys = set(conn.execute(select(PERSON_KEYS.c.key).where(PERSON_KEYS.c.person_id == pid)).scalars())
    assert keys == set(stored_keys(corrected.person.details))


def test_a_person_is_corrected_through_any_one_of_their_cases(app: App, staff: Staff) -> None:
    theirs, b1 = _other_team(app, staff)
    mine = _case(app, staff)
    pid = _zeb(app, mine)
    with pytest.raises(NotPermitted, match=r"may not person\.correct"):
        app.persons.correct(pid, b1, family_name="Quilfeather")
    app.persons.link(pid, theirs, "child", SM)
    assert app.persons.correct(pid, b1, family_name="Quilfeather").fields == ("family_name",)
    assert app.persons.correct(pid, "team.manager@council.test", family_name="Quillfeather").fields
    assert app.persons.correct(pid, SM, born_on=None).fields == ("born_on",)


def test_refused_corrections_write_nothing_and_say_why(app: App, staff: Staff) -> None:
    theirs, b1 = _other_team(app, staff)
    pid = _zeb(app, _case(app, staff))
    _zeb(app, theirs, b1)  # a namesake on their case: they may correct that one, not ours
    before = _counts(app)
    refusals: list[tuple[type[Exception], str, str | None, dict[str, Any]]] = [
        (NotPermitted, r"b1@council\.test may not person\.correct", b1, {"family_name": "X"}),
        (NotPermitted, "administrators manage the system", "admin@council.test", {"family_name": "X"}),
        (NotPermitted, r"iro@council\.test may not person\.correct", "iro@council.test", {"family_name": "X"}),
        (NotPermitted, r"\(nobody\) may not person\.correct", None, {"family_name": "X"}),
        (InvalidInput, "nothing to change", CW, {}),
        (InvalidInput, "nothing to change", CW, {"family_name": "Quillfeather", "sex": "MALE", "born_on": BORN}),
        (InvalidInput, "the date of birth is in the future", CW, {"born_on": date(2026, 11, 3)}),
        (InvalidInput, "the date of birth", CW, {"born_on": date(1850, 1, 1)}),
        (InvalidInput, "the given names", CW, {"given_names": "  "}),
        (InvalidInput, "the family name", CW, {"family_name": "x" * 101}),
        (InvalidInput, "unknown sex", CW, {"sex": "m"}),
        (InvalidInput, "ethnicity code", CW, {"ethnicity": "ZZZZ"}),
        (InvalidInput, "the contact details", CW, {"contact": "a\r\nBcc: x@evil.example"}),
    ]
    for error, message, who, changes in refusals:
        with pytest.raises(error, match=message):
            app.persons.correct(pid, who, **changes)
    with pytest.raises(NotFound, match="no person 999999"):
        app.persons.correct(999_999, CW, family_name="X")
    with pytest.raises(NotPermitted, match="administrators manage the system"):  # before saying whether they exist
        app.persons.correct(999_999, "admin@council.test", family_name="X")
    assert _counts(app) == before
    assert _details(app, staff, pid) == ("Zebediah", "Quillfeather", BORN, "male", "WBRI", "1 Acacia Ave")


# -- unlinking ---------------------------------------------------------------------------------


def test_a_person_linked_in_error_is_taken_off_the_case(app: App, staff: Staff) -> None:
    right, wrong = _case(app, staff), _case(app, staff)
    pid = _zeb(app, right)
    app.persons.link(pid, wrong, "birth_parent", CW)
    gone = app.persons.unlink(pid, wrong, CW)
    assert (gone.person_id, gone.case_ref, gone.role) == (pid, wrong, "birth_parent")
    cw = staff["caseworker"]
    assert [c.case_ref for c in app.persons.show(pid, cw).cases] == [right]
    assert app.persons.participants(app.reads.case(wrong, cw), cw) == []
    assert [p.person.id for p in app.persons.participants(app.reads.case(right, cw), cw)] == [pid]
    # Linked again later (the right case after all): nothing of the old link is in the way.
    app.persons.link(pid, wrong, "child", CW)
    assert [c.case_ref for c in app.persons.show(pid, cw).cases] == sorted([right, wrong])


def test_unlinking_takes_the_person_out_of_the_other_teams_reach(app: App, staff: Staff) -> None:
    theirs, b1 = _other_team(app, staff)
    pid = _zeb(app, _case(app, staff))
    app.persons.link(pid, theirs, "child", SM)  # the wrong team's case: they can read the child
    b1_actor = app.directory.actor(b1)
    assert app.persons.show(pid, b1_actor).person.id == pid
    app.persons.unlink(pid, theirs, b1)  # they may work their own case, so take the child off it
    with pytest.raises(NotPermitted, match=r"person\.read"):
        app.persons.show(pid, b1_actor)
    assert list(app.persons.find(b1_actor, name="Quillfeather")) == []


def test_refused_unlinks_write_nothing_and_say_why(app: App, staff: Staff) -> None:
    theirs, b1 = _other_team(app, staff)
    first, second, elsewhere = _case(app, staff), _case(app, staff), _case(app, staff)
    pid = _zeb(app, first)
    app.persons.link(pid, second, "child", CW)
    alone = _zeb(app, first)
    app.persons.link(pid, theirs, "child", SM)
    before = _counts(app)
    with pytest.raises(InvalidInput, match=rf"^{first} is person {alone}'s only case: link them to the right case"):
        app.persons.unlink(alone, first, CW)
    with pytest.raises(InvalidInput, match=rf"person {pid} is not on {elsewhere}"):
        app.persons.unlink(pid, elsewhere, CW)
    with pytest.raises(NotPermitted, match=r"b1@council\.test may not person\.unlink"):
        app.persons.unlink(pid, second, b1)  # on a case of theirs too, but not this one
    with pytest.raises(NotPermitted, match=r"caseworker@council\.test may not person\.unlink"):
        app.persons.unlink(pid, theirs, CW)
    with pytest.raises(NotPermitted, match="administrators manage the system"):
        app.persons.unlink(pid, second, "admin@council.test")
    with pytest.raises(NotPermitted, match=r"iro@council\.test may not person\.unlink"):
        app.persons.unlink(pid, second, "iro@council.test")
    with pytest.raises(NotPermitted, match=r"\(nobody\)"):
        app.persons.unlink(pid, second, None)
    with pytest.raises(NotFound, match="no person 999999"):
        app.persons.unlink(999_999, second, CW)
    with pytest.raises(CaseNotFound):
        app.persons.unlink(pid, "NO-2026-0001", CW)
    assert _counts(app) == before
    assert [c.case_ref for c in app.persons.show(pid, staff["service_manager"]).cases] == sorted(
        [first, second, theirs]
    )


# -- the audit trail ---------------------------------------------------------------------------


def test_corrections_and_unlinks_are_audited_by_field_and_case_never_value(app: App, staff: Staff) -> None:
    first, second = _case(app, staff), _case(app, staff)
    pid = _zeb(app, first)
    app.persons.link(pid, second, "partner", CW)
    app.persons.correct(pid, CW, family_name="Abernethy", born_on=date(2014, 12, 25), contact=None)
    app.persons.correct(pid, SM, sex=None, ethnicity="MWBC")
    app.persons.unlink(pid, second, CW)

    corrections = _audit(app, "person.correct")
    assert [(r.subject, r.actor_id, r.detail) for r in corrections] == [
        (f"person:{pid}", staff["caseworker"].id, {"fields": ["family_name", "born_on", "contact"]}),
        (f"person:{pid}", staff["service_manager"].id, {"fields": ["sex", "ethnicity"]}),
    ]
    unlinks = _audit(app, "person.unlink")
    assert [(r.subject, r.actor_id, r.detail) for r in unlinks] == [
        (f"person:{pid}", staff["caseworker"].id, {"case": second, "role": "partner"})
    ]
    # The link undone is still in the trail: where the person was linked, and where they were taken off.
    links = _audit(app, "person.link")
    assert [(r.subject, r.detail) for r in links] == [(f"person:{pid}", {"case": second, "role": "partner"})]
    text = repr(corrections + unlinks)
    for planted in (
        "Zebediah",
        "Quillfeather",
        "Abernethy",
        "2015-03-01",
        "2014-12-25",
        "Acacia",
        "male",
        "WBRI",
        "MWBC",
    ):
        assert planted not in text, planted


# -- the record's changes ----------------------------------------------------------------------------


def test_the_changes_to_a_record_come_newest_first_with_cases_the_reader_may_not_see_left_unnamed(
    app: App, staff: Staff
) -> None:
    ref = _case(app, staff)
    pid = _zeb(app, ref)
    app.persons.correct(pid, CW, family_name="Quilfeather")
    theirs, _ = _other_team(app, staff)
    app.persons.link(pid, theirs, "child", SM)

    seen = app.persons.changes(pid, staff["caseworker"])
    everything = app.persons.changes(pid, staff["service_manager"])

    assert [(c.action, c.detail) for c in seen] == [
        ("person.link", {"case": None, "role": "child"}),  # another team's case: not named
        ("person.correct", {"fields": ["family_name"]}),
        (
            "person.add",
            {
                "case": ref,
                "role": "child",
                "fields": ["given_names", "family_name", "born_on", "sex", "ethnicity", "contact"],
            },
        ),
    ]
    assert [c.detail.get("case") for c in everything] == [theirs, None, ref]
    with pytest.raises(NotPermitted):
        app.persons.changes(pid, staff.admin)


def test_migration_0012_indexes_the_audit_trail_by_subject_and_goes_down_and_up(app: App, staff: Staff) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from carepath.storage.migrate import alembic_config, current

    def indexed() -> bool:
        return "ix_audit_entry_subject" in {i["name"] for i in inspect(app.engine).get_indexes("audit_entry")}

    assert indexed()
    cfg = alembic_config(str(app.engine.url.render_as_string(hide_password=False)))
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    assert not indexed()
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert current(app.engine) == "0012"
    assert indexed()
    pid = _zeb(app, _case(app, staff))
    assert [c.action for c in app.persons.changes(pid, staff["caseworker"])] == ["person.add"]
