"""The demo caseload's people: every case a council opens in the demo is about someone, and My work finds them.

A small demo caseload is seeded once for the module on a SQLite file (the clock fixed), through the
real services, and read back as the demo's own users: the service manager reads every case's people,
a caseworker searches their cases by a seeded person's name. The people are obviously fictional,
fit their case (a child is a child on every day of their case), come from the seed alone, and
change nothing else the seed makes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from carepath.config.bootstrap import App, load_registry
from carepath.config.settings import Settings
from carepath.engine.case import Case
from carepath.engine.clock import FixedClock
from carepath.engine.people import Participant
from carepath.engine.reads import CaseFilter
from carepath.entrypoints.demo import ADOPTER, CARER, CHILD, CONNECTED, DOMAIN, FOSTER
from carepath.entrypoints.demo.participants import Participants
from carepath.entrypoints.demo.scenario import GIVEN_NAMES, GREEK, OTHER_SURNAMES, SURNAMES, surname_of
from carepath.entrypoints.demo.seeding import seed
from carepath.storage.db import make_engine

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 2)
SIZE = {"households": 40, "children": 10, "seed_value": 11}
SERVICE_MANAGER = f"sam.servicemanager@{DOMAIN}"
CASEWORKERS = tuple(f"{n}.caseworker@{DOMAIN}" for n in ("amy", "ben", "cara", "dev", "eve", "finn", "gita"))
#: Who each journey's case is about: the role of its first person (one of), and the roles it may add.
ROLES = {
    FOSTER: ({"applicant"}, {"partner"}),
    ADOPTER: ({"applicant"}, {"partner"}),
    CARER: ({"applicant", "connected_person"}, {"partner"}),  # a family and friends carer stays connected
    CONNECTED: ({"connected_person"}, set()),
    CHILD: ({"child"}, {"birth_parent"}),
}
#: A database's tables that hold the people (and the audit entries their adding wrote).
PEOPLE_TABLES = {"person", "person_name_key", "case_person"}


@dataclass
class Seeded:
    """A seeded database: its file, the app over it and every case with its people."""

    path: Path
    app: App
    people: dict[str, tuple[Case, list[Participant]]]


def _seed(path: Path, **size: Any) -> App:
    url = f"sqlite:///{path}"
    app = App(
        settings=Settings(database_url=url), clock=FixedClock(NOW), engine=make_engine(url), workflows=load_registry()
    )
    app.migrate()
    result = seed(app, **size)
    assert not result.problems, result.problems
    return app


def _people(app: App) -> dict[str, tuple[Case, list[Participant]]]:
    reader = app.directory.actor(SERVICE_MANAGER)
    cases = [listing.case for listing in app.reads.cases(CaseFilter(limit=1000), reader)]
    assert len(cases) == app.summary.case_count()
    return {c.ref: (c, app.persons.participants(c, reader)) for c in cases}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    path = tmp_path_factory.mktemp("demo-people") / "demo.db"
    app = _seed(path, **SIZE)
    try:
        yield Seeded(path, app, _people(app))
    finally:
        app.dispose()


def test_every_case_has_the_people_its_journey_is_about(seeded: Seeded) -> None:
    assert {c.workflow_id for c, _ in seeded.people.values()} == set(ROLES)
    for ref, (case, people) in seeded.people.items():
        first, maybe = ROLES[case.workflow_id]
        roles = [p.role for p in people]
        assert len(set(roles) & first) == 1, (ref, roles)
        assert set(roles) <= first | maybe, (ref, roles)
        assert len(roles) == len(set(roles)), (ref, roles)  # one applicant, one partner, one child...


def test_households_share_the_family_name_on_their_case(seeded: Seeded) -> None:
    own_names = 0
    for ref, (case, people) in seeded.people.items():
        household = case.facts.get("household_name")
        if household is None:
            continue
        first = next(p for p in people if p.role in ("applicant", "connected_person"))
        assert first.person.details.family_name == surname_of(str(household)), ref
        partner = next((p for p in people if p.role == "partner"), None)
        if partner is not None and partner.person.details.family_name != first.person.details.family_name:
            own_names += 1
    assert own_names, "some partners keep their own family name"


def test_names_are_obviously_fictional(seeded: Seeded) -> None:
    for ref, (_, people) in seeded.people.items():
        for p in people:
            d = p.person.details
            assert d.family_name in (*SURNAMES, *OTHER_SURNAMES), (ref, d.full_name)
            assert d.given_names in (*GIVEN_NAMES, *GREEK), (ref, d.full_name)


def test_a_child_is_under_eighteen_on_every_day_of_their_case(seeded: Seeded) -> None:
    children = 0
    for ref, (case, people) in seeded.people.items():
        if case.workflow_id != CHILD:
            continue
        child = next(p for p in people if p.role == "child").person.details
        assert child.born_on is not None
        assert child.born_on <= case.opened_on, ref
        assert TODAY.replace(year=TODAY.year - 18) < child.born_on, ref  # under 18 today, so every day before
        assert child.given_names in str(case.facts["child_name"]), ref  # "Child Alpha-017" is Alpha
        parent = next((p.person.details for p in people if p.role == "birth_parent"), None)
        if parent is not None:
            assert parent.born_on is not None
            assert parent.born_on.replace(year=parent.born_on.year + 16) <= child.born_on, ref
            assert parent.family_name == child.family_name, ref
        children += 1
    assert children == SIZE["children"]


def test_an_approved_carer_is_the_same_person_as_on_their_approval(seeded: Seeded) -> None:
    by_id = {ref: {p.person.id for p in people} for ref, (_, people) in seeded.people.items()}
    followed = [(ref, str(c.facts["follows"])) for ref, (c, _) in seeded.people.items() if c.facts.get("follows")]
    assert followed, "the seed approves some carers"
    for ref, approval in followed:
        assert by_id[ref] == by_id[approval], (ref, approval)


def test_a_caseworker_finds_their_case_by_a_seeded_persons_name(seeded: Seeded) -> None:
    app, checked = seeded.app, 0
    for email in CASEWORKERS:
        worker = app.directory.actor(email)
        mine = [(c, people) for c, people in seeded.people.values() if c.owner_id == worker.id and people]
        assert mine, email
        case, people = mine[0]
        wanted = people[0].person
        hits = app.persons.find(worker, name=wanted.details.full_name, limit=100)
        assert wanted.id in {h.person.id for h in hits.items}, (email, case.ref)
        found = next(h for h in hits.items if h.person.id == wanted.id)
        assert found.score == 100
        assert case.ref in {c.case_ref for c in app.persons.show(wanted.id, worker).cases}
        if wanted.details.born_on is not None:
            by_day = app.persons.find(worker, born_on=wanted.details.born_on, limit=100)
            assert wanted.id in {h.person.id for h in by_day.items}
        checked += 1
    assert checked == len(CASEWORKERS)


def test_the_same_seed_gives_the_same_people(seeded: Seeded, tmp_path: Path) -> None:
    again = _seed(tmp_path / "again.db", **SIZE)
    try:
        assert _described(_people(again)) == _described(seeded.people)
    finally:
        again.dispose()


def test_the_people_change_nothing_else_the_seed_makes(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeded without people, every table but the people's holds the same rows, and the audit trail the same
    entries but the people's."""
    monkeypatch.setattr(Participants, "add", lambda *_: None)
    bare = _seed(tmp_path / "bare.db", **SIZE)
    bare.dispose()
    with_people, without = _tables(seeded.path), _tables(tmp_path / "bare.db")
    assert set(with_people) == set(without)
    for table in sorted(set(with_people) - PEOPLE_TABLES):
        assert with_people[table] == without[table], table
    assert all(not rows for table, rows in without.items() if table in PEOPLE_TABLES)
    assert all(with_people[table] for table in PEOPLE_TABLES)


def _described(people: dict[str, tuple[Case, list[Participant]]]) -> list[tuple[Any, ...]]:
    return sorted(
        (ref, p.role, p.person.details)  # details: names, date of birth, sex, ethnicity
        for ref, (_, participants) in people.items()
        for p in participants
    )


#: Columns that differ between any two seeds: a password's salted hash, a calendar link's random secret,
#: real-time stamps.
_VARYING = {"password_hash", "calendar_token", "created_at", "updated_at"}


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in order, without the columns that differ between runs; the audit trail without
    the people's entries and its numbers (the people's entries come between the others)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with sqlite3.connect(path) as db:
        tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
        names = [r[0] for r in db.execute(tables)]
        for name in names:
            columns = [r[1] for r in db.execute(f"PRAGMA table_info('{name}')")]
            keep = [c for c in columns if c not in _VARYING and not (name == "audit_entry" and c == "id")]
            where = " WHERE action NOT LIKE 'person.%'" if name == "audit_entry" else ""
            select = ", ".join(f'"{c}"' for c in keep)
            out[name] = list(db.execute(f'SELECT {select} FROM "{name}"{where} ORDER BY rowid'))
    return out
