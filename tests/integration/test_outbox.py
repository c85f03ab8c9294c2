"""Who hears what: outbox rows written with the sweep or the case event that causes them.

Runs over a SQLite file and the PostgreSQL server. A small journey of our own declares state
notices in its meta and a deadline with a reminder and an escalation tier. Emails are queued
by the message bus's handlers inside the transaction of the change, so a row exists exactly
when that change commits. People act as themselves; carepath's system user only sweeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from carepath.config.bootstrap import App, load_registry, routing
from carepath.config.settings import Settings
from carepath.engine.bus import MessageBus
from carepath.engine.case import Actor
from carepath.engine.clock import FixedClock
from carepath.engine.errors import ConcurrencyConflict, NotPermitted
from carepath.engine.events import TimerRaised
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.services import CaseService, PanelService, PeopleService
from carepath.notifications.routing import Notifier, check_notices
from carepath.storage.admin import message_id_for
from carepath.storage.db import make_engine
from carepath.storage.tables import AUDIT, EVENTS, METADATA, OUTBOX
from carepath.storage.uow import SqlUnitOfWork

#: A journey with a notice on each of its states (tests/fixtures/notices).
JOURNEY = (Path(__file__).resolve().parents[1] / "fixtures" / "notices" / "notices.v1.yaml").read_text()

#: Fictional personal data recorded as case facts; no email may carry any of it.
NAMES = {"applicant_name": "Zebulon Quartermaine", "child_name": "Ottoline Fairweather", "dob": "2019-04-07"}
CONTEXT_FIELDS = {
    "case_ref", "workflow", "rule", "rule_label", "rule_class", "rule_source", "start_on", "due_on", "fire_on",
    "tier", "day_unit", "link", "workflow_title", "state", "state_label", "trigger",
    "effective_on", "panel_type", "panel_date", "papers_by",
}  # fmt: skip
ADMIN = "admin@example.org"


def notices_registry(tmp: Path) -> WorkflowRegistry:
    """The test journey, compiled."""
    folder = tmp / "journeys"
    folder.mkdir(exist_ok=True)
    (folder / "notices.v1.yaml").write_text(JOURNEY)
    return load_registry(folder)


def at(day: str, hh: int = 9, mm: int = 0) -> datetime:
    """``day`` at ``hh:mm`` UTC (London is on GMT in November)."""
    return datetime.combine(date.fromisoformat(day), time(hh, mm), UTC)


@dataclass
class Office:
    """The people of a small fostering service."""

    owner: Actor
    other: Actor
    ids: dict[str, int]
    north: int
    south: int


def staff(app: App) -> Office:
    """An administrator first, then users with roles (one deactivated) and two teams with managers."""
    p = app.people
    p.add_user(ADMIN, "admin", ["admin"], None)
    for email, roles in [
        ("owner@example.org", ["caseworker"]),
        ("other@example.org", ["caseworker"]),
        ("tm@example.org", ["team_manager"]),
        ("tm2@example.org", ["team_manager"]),
        ("sm@example.org", ["service_manager"]),
        ("pc@example.org", ["panel_coordinator"]),
        ("old-pc@example.org", ["panel_coordinator"]),
        ("pa@example.org", ["panel_adviser"]),
        ("irm@example.org", ["irm_liaison_officer"]),
        ("adm@example.org", ["agency_decision_maker"]),
    ]:
        p.add_user(email, email.split("@")[0], roles, ADMIN)
    p.deactivate("old-pc@example.org", ADMIN)
    north = p.add_team("North", ADMIN, manager="tm@example.org", service_manager="sm@example.org",
                       members=["owner@example.org"])  # fmt: skip
    south = p.add_team("South", ADMIN, manager="tm2@example.org", service_manager="sm@example.org",
                       members=["other@example.org"])  # fmt: skip
    ids = {u.email.split("@")[0]: u.id for u in app.reads.users(app.directory.actor(ADMIN))}
    d = app.directory
    return Office(d.actor("owner@example.org"), d.actor("other@example.org"), ids, north, south)


def build_app(url: str, clock: FixedClock, registry: WorkflowRegistry, **settings: Any) -> App:
    """An app over ``url`` with the test journey and ``settings`` overrides."""
    return App(Settings(database_url=url, **settings), clock, make_engine(url), registry)


def outbox(app: App) -> list[Any]:
    """Every outbox row, oldest first."""
    with app.engine.connect() as conn:
        return list(conn.execute(select(OUTBOX).order_by(OUTBOX.c.id)))


def by_kind(app: App, kind: str) -> list[Any]:
    """Outbox rows of ``kind``."""
    return [r for r in outbox(app) if r.kind == kind]


def table_counts(app: App) -> dict[str, int]:
    """Rows in every table."""
    with app.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in METADATA.sorted_tables}


@pytest.fixture
def registry(tmp_path: Path) -> WorkflowRegistry:
    return notices_registry(tmp_path)


@pytest.fixture
def napp(db_url: str, clock: FixedClock, registry: WorkflowRegistry) -> Iterator[App]:
    a = build_app(db_url, clock, registry)
    yield a
    a.dispose()


def open_case(app: App, office: Office, on: date = date(2026, 11, 2), team: int | None = None) -> str:
    """A case with fictional names in its facts: owner@'s in North, or other@'s in South."""
    who = office.other if team == office.south else office.owner
    case = app.cases.open_case("notices", who, on=on, team_id=team or office.north, facts=NAMES)
    return case.ref


def digests(app: App) -> int:
    """Queue today's digests as carepath's scheduler; how many were queued."""
    return app.mail.digests(app.system)


def sweep(app: App) -> int:
    """One sweep as carepath's scheduler, as of the clock."""
    return app.timers.sweep(app.system).total


# -- timers ---------------------------------------------------------------------------------------


def test_reminder_to_owner_breach_to_owner_escalation_to_service_manager(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    ref = open_case(napp, office)  # N1 due Monday 16 November (10 working days)

    clock.set(at("2026-11-12"))  # reminder: 2 working days before
    sweep(napp)
    (reminder,) = by_kind(napp, "reminder")
    assert reminder.recipients == ["owner@example.org"]
    assert reminder.context["case_ref"] == ref
    assert (reminder.context["rule"], reminder.context["rule_class"]) == ("N1", "LOCAL")
    assert (reminder.context["rule_source"], reminder.context["due_on"]) == ("test procedure 4.2", "2026-11-16")
    assert reminder.context["link"] == f"http://localhost:8000/cases/{ref}"
    assert reminder.message_id == message_id_for(reminder.key)

    clock.set(at("2026-11-17"))  # the day after the due date: breached
    sweep(napp)
    (breach,) = by_kind(napp, "breach")
    assert breach.recipients == ["owner@example.org"]  # the manager reads it in the digest

    clock.set(at("2026-11-24"))  # 5 working days past due: escalation tier 1
    sweep(napp)
    (escalation,) = by_kind(napp, "escalation")
    assert escalation.recipients == ["sm@example.org"]
    assert (escalation.context["tier"], escalation.context["day_unit"]) == (1, "working_days")
    assert not {"days_left", "days_overdue"} & set(escalation.context)  # counted when sent, not stored

    assert sweep(napp) == 0  # a second sweep raises nothing new
    assert len(outbox(napp)) == 3
    assert all(set(r.context) <= CONTEXT_FIELDS for r in outbox(napp))
    flat = repr([r.context for r in outbox(napp)])
    assert not any(v in flat for v in NAMES.values())


def test_single_breach_emails_setting_tells_the_team_manager_at_once(
    db_url: str, clock: FixedClock, registry: WorkflowRegistry
) -> None:
    app = build_app(db_url, clock, registry, single_breach_emails=True)
    try:
        office = staff(app)
        open_case(app, office)
        clock.set(at("2026-11-17"))
        sweep(app)
        (breach,) = by_kind(app, "breach")
        assert breach.recipients == ["owner@example.org", "tm@example.org"]
    finally:
        app.dispose()


def test_a_deactivated_owner_gets_nothing_and_the_team_manager_is_told(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    open_case(napp, office)
    napp.people.deactivate("owner@example.org", ADMIN)
    clock.set(at("2026-11-17"))
    sweep(napp)
    (reminder,) = by_kind(napp, "reminder")
    (breach,) = by_kind(napp, "breach")
    assert reminder.recipients == breach.recipients == ["tm@example.org"]


def test_the_same_timer_raised_twice_is_one_email(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    open_case(napp, office)
    clock.set(at("2026-11-17"))
    fired: list[TimerRaised] = []
    napp.bus.handlers[TimerRaised] = (*napp.bus.handlers[TimerRaised], lambda event, tx: fired.append(event))
    sweep(napp)
    assert len(fired) == 2
    # the handler again, as a second process would after a crash and re-raise
    again = Notifier(routing(napp.settings), napp.calendar, clock)
    with napp.uow.transaction() as tx:
        for event in fired:
            again.on_timer_raised(event, tx)
    assert len(outbox(napp)) == len(fired) == 2  # reminder and breach, once each
    assert {r.kind for r in outbox(napp)} == {"reminder", "breach"}


# -- state notices -------------------------------------------------------------------------------


def test_ready_for_panel_names_the_next_panel_that_leaves_five_working_days(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    pc = "pc@example.org"
    napp.panels.add_sitting(date(2026, 11, 6), "fostering", pc)  # papers by 30 Oct: too late
    napp.panels.add_sitting(date(2026, 11, 9), "adoption", pc)  # another panel
    napp.panels.add_sitting(date(2026, 11, 10), "fostering", pc)  # papers by Tue 3 Nov
    ref = open_case(napp, office)
    napp.cases.fire(ref, "start", office.owner)
    napp.cases.fire(ref, "authorise", office.owner)
    (notice,) = by_kind(napp, "ready_for_panel")
    assert notice.recipients == ["pa@example.org", "pc@example.org"]  # not the deactivated coordinator
    assert (notice.context["panel_date"], notice.context["papers_by"]) == ("2026-11-10", "2026-11-03")
    assert notice.context["panel_type"] == "fostering"
    assert set(notice.context) <= CONTEXT_FIELDS


def test_ready_for_panel_with_no_sitting_in_time_says_so(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    napp.panels.add_sitting(date(2026, 11, 6), "fostering", "pc@example.org")
    ref = open_case(napp, office)
    napp.cases.fire(ref, "start", office.owner)
    napp.cases.fire(ref, "authorise", office.owner)
    (notice,) = by_kind(napp, "ready_for_panel")
    assert notice.context["panel_date"] is None


def test_decision_notices_reach_their_roles_and_resume_is_quiet(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    ref = open_case(napp, office)
    for trigger in ("start", "authorise"):
        napp.cases.fire(ref, trigger, office.owner)
    napp.cases.hold(ref, office.owner, "awaiting references")
    napp.cases.resume(ref, office.owner)  # back into "ready": not a new notice
    assert len(by_kind(napp, "ready_for_panel")) == 1
    napp.cases.fire(ref, "recommend", "pc@example.org")
    napp.cases.fire(ref, "propose_refusal", "adm@example.org")
    (rec,) = by_kind(napp, "panel_recommendation")
    assert rec.recipients == ["adm@example.org"]  # the kind's default roles
    (qd,) = by_kind(napp, "qd_issued")
    assert qd.recipients == ["irm@example.org"]  # the state's notify list
    assert qd.context["effective_on"] == "2026-11-02"


def test_an_outbox_row_exists_exactly_when_its_change_commits(napp: App, clock: FixedClock) -> None:
    """A bus handler that fails rolls back the whole unit of work: the case change, its event,
    the outbox rows other handlers wrote, and audit entries; the same change then commits them."""
    office = staff(napp)
    ref = open_case(napp, office)
    napp.cases.fire(ref, "start", office.owner)
    seen = napp.reads.case(ref, office.owner)

    def boom(event: Any, tx: Any) -> None:
        raise RuntimeError("the disk is full")

    # boom runs after the real handlers: what they wrote in the transaction must go too
    handlers = {kind: (*hs, boom) for kind, hs in napp.bus.handlers.items()}
    failing = SqlUnitOfWork(napp.engine, clock, MessageBus(handlers))
    before = table_counts(napp)

    with pytest.raises(RuntimeError, match="the disk is full"):
        CaseService(failing, napp.workflows, clock, napp.calendar).fire(ref, "authorise", office.owner)
    with pytest.raises(RuntimeError, match="the disk is full"):
        PeopleService(failing).add_user("new@example.org", "new", ["caseworker"], ADMIN)
    with pytest.raises(RuntimeError, match="the disk is full"):
        PanelService(failing, clock, napp.calendar).add_sitting(date(2026, 11, 20), "fostering", "pc@example.org")
    assert table_counts(napp) == before  # no case change, event, deadline, outbox, user, sitting or audit row
    assert napp.reads.case(ref, office.owner) == seen

    # a refused change writes no email either
    with pytest.raises(ConcurrencyConflict):
        napp.cases.fire(ref, "authorise", office.owner, expected_version=1)
    assert table_counts(napp) == before

    # the same changes through the app's bus commit with their rows
    moved = napp.cases.fire(ref, "authorise", office.owner)
    assert moved.state == "ready"
    (notice,) = by_kind(napp, "ready_for_panel")
    with napp.engine.connect() as conn:
        last: int = conn.execute(select(func.max(EVENTS.c.seq)).where(EVENTS.c.case_id == moved.id)).scalar_one()
    assert notice.key == f"event:{moved.id}:{last}:ready_for_panel"
    napp.people.add_user("new@example.org", "new", ["caseworker"], ADMIN)
    napp.panels.add_sitting(date(2026, 11, 20), "fostering", "pc@example.org")
    with napp.engine.connect() as conn:
        audited = [(r.action, r.subject) for r in conn.execute(select(AUDIT).order_by(AUDIT.c.id))][-2:]
    assert audited == [("user.add", "new@example.org"), ("panel.add", "fostering:2026-11-20")]
    after = table_counts(napp)
    assert after["outbox"] == before["outbox"] + 1
    assert after["case_event"] == before["case_event"] + 1
    assert after["audit_entry"] == before["audit_entry"] + 2


def test_check_notices_flags_unknown_roles_and_panel_types(registry: WorkflowRegistry) -> None:
    definition = registry.latest("notices").definition
    assert check_notices(definition) == []
    states = dict(definition.states)
    states["qd"] = type(states["qd"])("qd", "QD", meta={"notice": "qd_issued", "notify": ["irm_officer"]})
    states["ready"] = type(states["ready"])("ready", "Ready", meta={"notice": "x", "panel_type": "kinship"})
    broken = type(definition)(**{**{f: getattr(definition, f) for f in definition.__slots__}, "states": states})
    problems = check_notices(broken)
    assert any("irm_officer" in p for p in problems)
    assert any("kinship" in p for p in problems)


# -- the managers' digest ------------------------------------------------------------------------


def test_each_manager_gets_one_digest_a_day_after_the_digest_time(napp: App, clock: FixedClock) -> None:
    clock.set(at("2026-11-17", 7, 0))  # 07:00 London, before the 07:30 digest
    office = staff(napp)
    overdue = open_case(napp, office, on=date(2026, 11, 2))  # due Mon 16 Nov
    soon = open_case(napp, office, on=date(2026, 11, 9))  # due Mon 23 Nov
    open_case(napp, office, on=date(2026, 11, 17))  # due 1 Dec: not this week
    south = open_case(napp, office, on=date(2026, 11, 3), team=office.south)  # due Tue 17 Nov
    assert digests(napp) == 0

    clock.set(at("2026-11-17", 7, 31))
    assert digests(napp) == 3  # tm, tm2, sm
    assert digests(napp) == 0  # once a day
    queued = {r.recipients[0]: r for r in by_kind(napp, "digest")}
    assert set(queued) == {"tm@example.org", "tm2@example.org", "sm@example.org"}
    tm = queued["tm@example.org"].context
    assert [i["case_ref"] for i in tm["overdue"]] == [overdue]
    assert tm["overdue"][0]["day_unit"] == "working_days"  # days overdue are counted when the digest is sent
    assert "days_overdue" not in tm["overdue"][0]
    assert [i["case_ref"] for i in tm["due_soon"]] == [soon]
    assert (tm["overdue"][0]["rule_class"], tm["overdue"][0]["rule_source"]) == ("LOCAL", "test procedure 4.2")
    assert tm["overdue"][0]["link"] == f"http://localhost:8000/cases/{overdue}"
    sm = queued["sm@example.org"].context
    assert sm["teams"] == ["North", "South"]
    assert {i["case_ref"] for i in sm["overdue"] + sm["due_soon"]} == {overdue, soon, south}
    assert queued["sm@example.org"].key == f"digest:{office.ids['sm']}:2026-11-17"
    assert not any(v in repr(r.context) for r in queued.values() for v in NAMES.values())

    clock.set(at("2026-11-18", 8, 0))
    with pytest.raises(NotPermitted, match=r"^tm@example\.org may not mail\.digest: needs role admin$"):
        napp.mail.digests(napp.directory.actor("tm@example.org"))
    assert napp.mail.digests(napp.directory.actor(ADMIN)) == 3  # the next day (an administrator by hand)
    assert digests(napp) == 0


def test_no_digest_for_a_manager_with_nothing_due(napp: App, clock: FixedClock) -> None:
    staff(napp)
    clock.set(at("2026-11-17", 8))
    assert digests(napp) == 0


def test_an_owner_deactivated_between_sweeps_is_not_remembered(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    open_case(napp, office)
    clock.set(at("2026-11-12"))
    sweep(napp)
    napp.people.deactivate("owner@example.org", ADMIN)
    clock.set(at("2026-11-17"))
    sweep(napp)
    assert [(r.kind, r.recipients) for r in outbox(napp)] == [
        ("reminder", ["owner@example.org"]),
        ("breach", ["tm@example.org"]),
    ]
