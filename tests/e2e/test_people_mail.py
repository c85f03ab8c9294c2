"""No personal data in any email (issue 10 point 3), on a SQLite file and on PostgreSQL.

Cases are seeded with people in every role whose names, dates of birth and contact details are
distinctive, planted everywhere a person can be recorded; then every flow that sends mail runs
(state notices on every template, four weeks of sweeps with their reminders, breaches and
escalations, the managers' digests) and the outbox is sent to the built-in catcher (a real aiosmtpd
server on 127.0.0.1). Every caught raw message, and each of its decoded parts, is searched for
every planted name, date of birth (in the ways a date is written) and contact detail: none may appear.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from carepath.config.bootstrap import App, load_registry
from carepath.config.settings import Settings
from carepath.engine.clock import FixedClock
from carepath.engine.events import AgendaSent
from carepath.engine.people import PERSON_ROLES
from carepath.notifications.catcher import MailCatcher
from carepath.notifications.dispatch import SmtpTarget, dispatch_due
from carepath.notifications.render import kinds
from carepath.storage.db import make_engine
from carepath.storage.queries.mail import MailQueries
from carepath.storage.tables import OUTBOX
from tests.e2e.test_mail import (
    JOURNEY,
    NOTICE_KINDS,
    decoded_parts,
    every_notice_journey,
    staff_for_every_notice,
)

#: One person per role, with a name nobody else has and a date of birth no case date is near.
PLANTED = [
    ("child", "Zebediah", "Quillfeather", date(2013, 7, 19), "Flat 9, Wyvern Court, Grimsditch"),
    ("applicant", "Philomena", "Brackenridge", date(1981, 2, 27), "07700 900461"),
    ("partner", "Thaddeus", "Oakenshield-Voss", date(1979, 12, 3), "thaddeus.voss@mail.example"),
    ("household_member", "Clementine", "Ravenscroft", date(2004, 9, 11), "Hollyhock Cottage"),
    ("birth_parent", "Jolyon", "Featherstonehaugh", date(1992, 4, 8), "Marchbanks Road, Dunwich"),
    ("connected_person", "Wilhelmina", "Cholmondeley", date(1958, 10, 30), "c/o Larkspur Lodge"),
]
#: A name with letters outside ASCII, which an email would carry encoded.
UNICODE = ("child", "Zoë", "Ó Súilleabháin", date(2012, 1, 24), "Bóthar na Trá")


def _forms(day: date) -> list[str]:
    """A date as an email might write it."""
    return [
        day.isoformat(),
        day.strftime("%d/%m/%Y"),
        f"{day.day} {day:%B %Y}",
        f"{day:%A} {day.day} {day:%B %Y}",
        f"{day.day} {day:%b %Y}",
    ]


def _needles() -> list[str]:
    out: list[str] = []
    for _, given, family, born, contact in [*PLANTED, UNICODE]:
        out += [given, family, *family.split("-"), f"{given} {family}", contact, *_forms(born)]
    out += ["Wyvern", "Grimsditch", "900461", "thaddeus.voss", "Hollyhock", "Marchbanks", "Larkspur"]
    return out


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    """The notices journey and one with a state per template, on each database, with a fixed clock."""
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "notices.v1.yaml").write_text(JOURNEY)
    (journeys / "every.v1.yaml").write_text(every_notice_journey())
    clock = FixedClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    a = App(
        Settings(database_url=db_url, single_breach_emails=True), clock, make_engine(db_url), load_registry(journeys)
    )
    yield a
    a.dispose()


def test_no_email_carries_a_persons_data(app: App) -> None:
    sw, team = staff_for_every_notice(app)
    assert {role for role, *_ in PLANTED} == set(PERSON_ROLES)

    refs = [app.cases.open_case("notices", sw, owner_id=sw.id, team_id=team).ref for _ in range(3)]
    every = app.cases.open_case("every", sw, owner_id=sw.id, team_id=team).ref
    for role, given, family, born, contact in [*PLANTED, UNICODE]:
        added = app.persons.add(refs[0], role, given, family, sw, born_on=born, sex="not_known", contact=contact)
        for ref in (*refs[1:], every):  # the same people on every case
            app.persons.link(added.person_id, ref, role, sw)
    assert len(app.persons.participants(app.reads.case(every, sw), sw)) == len(PLANTED) + 1

    for i in range(len(NOTICE_KINDS)):  # a notice of every kind, on a case full of people
        app.cases.fire(every, f"to_s{i}", sw)
    app.cases.fire(refs[0], "start", sw)
    with app.uow.transaction() as tx:  # a sitting's agenda to its members (the panels service records this)
        tx.record(
            AgendaSent(1, date(2026, 11, 20), "adoption", date(2026, 11, 13), (refs[0],), ("member@example.org",))
        )
    clock = app.clock
    assert isinstance(clock, FixedClock)
    for _ in range(4):  # four weeks of sweeps (reminders, breaches, escalations) and morning digests
        clock.advance(days=7)
        app.timers.sweep(app.system)
        app.mail.digests(app.system)

    with app.engine.connect() as conn:
        queued = {r.kind for r in conn.execute(select(OUTBOX.c.kind))}
    assert queued == set(kinds()), set(kinds()) ^ queued  # every template is exercised
    with MailCatcher(app.engine) as catcher:
        sent = dispatch_due(app.engine, clock, SmtpTarget(catcher.host, catcher.port, "none", "carepath@example.org"))
    mailbox = MailQueries(app.engine)
    messages = mailbox.caught(limit=500)
    assert sent == len(messages) > len(kinds())
    needles = _needles()
    for m in messages:
        raw = mailbox.caught_raw(m.id)
        for text in [raw, *decoded_parts(raw)]:
            for needle in needles:
                assert needle.casefold() not in text.casefold(), (m.subject, needle)
    assert any(ref in m.subject for m in messages for ref in refs)  # the case reference is what they carry
    # The outbox rows the templates are rendered from hold none of it either.
    with app.engine.connect() as conn:
        contexts = repr([r.context for r in conn.execute(select(OUTBOX.c.context))])
    for needle in needles:
        assert needle.casefold() not in contexts.casefold(), needle


#: What builds and sends mail: the notifications package and the storage modules it reads through.
MAIL_SOURCES = [
    *sorted((Path(__file__).resolve().parents[2] / "notifications").rglob("*.py")),
    *(Path(__file__).resolve().parents[2] / "storage" / name for name in ("outbox.py", "recipients.py", "mailbox.py")),
    Path(__file__).resolve().parents[2] / "storage" / "queries" / "digest.py",
]


def test_the_mail_side_never_reads_people() -> None:
    """By construction, too: nothing that routes, renders or sends mail (or reads for the digest) names the
    person tables or the person types, so a template's view cannot hold a person."""
    assert len(MAIL_SOURCES) > 5
    for path in MAIL_SOURCES:
        source = path.read_text()
        for name in ("PERSONS", "PERSON_KEYS", "PARTICIPANTS", "engine.people", "services.persons", "queries.people"):
            assert name not in source, (path.name, name)
        for table in ('"person"', '"case_person"', '"person_name_key"'):
            assert table not in source, (path.name, table)
