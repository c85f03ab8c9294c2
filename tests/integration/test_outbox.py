"""Who hears what: outbox rows written with the sweep or the case event that causes them.

Runs over a SQLite file and the PostgreSQL server. A small journey of our own declares state
notices in its meta and a deadline with a reminder and an escalation tier.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from config.bootstrap import App, load_registry
from config.settings import Settings
from engine.case import Actor
from engine.clock import FixedClock
from engine.errors import ConcurrencyConflict
from engine.registry import WorkflowRegistry
from engine.services import CaseService
from notifications.digest import enqueue_digests
from notifications.outbox import OUTBOX, O, message_id_for
from notifications.panels import add_sitting
from notifications.routing import check_notices, on_timer
from storage.db import make_engine
from storage.uow import SqlUnitOfWork

JOURNEY = textwrap.dedent("""\
    id: notices
    version: 1
    title: Notices test journey
    reference_prefix: NT
    initial: enquiry
    close_state: closed
    states:
      enquiry: {label: Enquiry}
      assessment: {label: Assessment}
      ready: {label: Ready for panel, meta: {notice: ready_for_panel, panel_type: fostering}}
      recommended: {label: Panel recommended, meta: {notice: panel_recommendation}}
      qd: {label: Qualifying determination issued, meta: {notice: qd_issued, notify: [irm_liaison_officer]}}
      approved: {label: Approved, meta: {notice: approved}}
      closed: {label: Closed, terminal: true}
    transitions:
      - {trigger: start, source: enquiry, dest: assessment}
      - {trigger: authorise, source: assessment, dest: ready}
      - {trigger: recommend, source: ready, dest: recommended}
      - {trigger: propose_refusal, source: recommended, dest: qd}
      - {trigger: approve, source: recommended, dest: approved}
      - {trigger: finish, source: [qd, approved], dest: closed}
    exit_reasons: {W: Withdrawn}
    deadlines:
      - name: N1
        label: Enquiry to assessment
        start: {enter: enquiry}
        stop: {leave: enquiry}
        limit: 10 working days
        class: LOCAL
        source: test procedure 4.2
        reminders: [{before: 2 working days}]
        escalation: [{after: 5 working days, to: [service_manager]}]
""")

#: Fictional personal data recorded as case facts; no email may carry any of it.
NAMES = {"applicant_name": "Zebulon Quartermaine", "child_name": "Ottoline Fairweather", "dob": "2019-04-07"}
CONTEXT_FIELDS = {
    "case_ref", "workflow", "rule", "rule_label", "rule_class", "rule_source", "start_on", "due_on", "fire_on",
    "tier", "days_left", "days_overdue", "link", "workflow_title", "state", "state_label", "trigger",
    "effective_on", "panel_type", "panel_date", "papers_by",
}  # fmt: skip


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

    system: Actor
    owner: Actor
    ids: dict[str, int]
    north: int
    south: int


def staff(app: App) -> Office:
    """Users with roles, one deactivated, and two teams with managers."""
    p = app.people
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
        p.add_user(email, email.split("@")[0], roles)
    p.deactivate("old-pc@example.org")
    north = p.add_team("North", "tm@example.org", "sm@example.org", ["owner@example.org"]).id
    south = p.add_team("South", "tm2@example.org", "sm@example.org", ["other@example.org"]).id
    ids = {u.email.split("@")[0]: u.id for u in p.users()}
    return Office(p.ensure_system_user(), p.actor("owner@example.org"), ids, north, south)


def build_app(url: str, clock: FixedClock, registry: WorkflowRegistry, **settings: Any) -> App:
    """An app over ``url`` with the test journey and ``settings`` overrides."""
    return App(Settings(database_url=url, **settings), clock, make_engine(url), registry)


def outbox(app: App) -> list[Any]:
    """Every outbox row, oldest first."""
    with app.engine.connect() as conn:
        return list(conn.execute(select(OUTBOX).order_by(O.id)))


def by_kind(app: App, kind: str) -> list[Any]:
    """Outbox rows of ``kind``."""
    return [r for r in outbox(app) if r.kind == kind]


@pytest.fixture
def registry(tmp_path: Path) -> WorkflowRegistry:
    return notices_registry(tmp_path)


@pytest.fixture
def napp(db_url: str, clock: FixedClock, registry: WorkflowRegistry) -> Iterator[App]:
    a = build_app(db_url, clock, registry)
    yield a
    a.engine.dispose()


def open_case(app: App, office: Office, on: date = date(2026, 11, 2), team: int | None = None) -> str:
    """A case owned by owner@ in North with fictional names in its facts."""
    case = app.cases.open_case(
        "notices", office.owner, on=on, owner_id=office.owner.id, team_id=team or office.north, facts=NAMES
    )
    return case.ref


# -- timers ---------------------------------------------------------------------------------------


def test_reminder_to_owner_breach_to_owner_escalation_to_service_manager(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    ref = open_case(napp, office)  # N1 due Monday 16 November (10 working days)

    clock.set(at("2026-11-12"))  # reminder: 2 working days before
    napp.sweeper.sweep()
    (reminder,) = by_kind(napp, "reminder")
    assert reminder.recipients == ["owner@example.org"]
    assert reminder.context["case_ref"] == ref
    assert (reminder.context["rule"], reminder.context["rule_class"]) == ("N1", "LOCAL")
    assert (reminder.context["rule_source"], reminder.context["due_on"]) == ("test procedure 4.2", "2026-11-16")
    assert reminder.context["link"] == f"http://localhost:8000/cases/{ref}"
    assert reminder.message_id == message_id_for(reminder.key)

    clock.set(at("2026-11-17"))  # the day after the due date: breached
    napp.sweeper.sweep()
    (breach,) = by_kind(napp, "breach")
    assert breach.recipients == ["owner@example.org"]  # the manager reads it in the digest

    clock.set(at("2026-11-24"))  # 5 working days past due: escalation tier 1
    napp.sweeper.sweep()
    (escalation,) = by_kind(napp, "escalation")
    assert escalation.recipients == ["sm@example.org"]
    assert (escalation.context["tier"], escalation.context["days_overdue"]) == (1, 7)

    napp.sweeper.sweep()  # a second sweep raises nothing new
    assert len(outbox(napp)) == 3
    assert all(set(r.context) <= CONTEXT_FIELDS for r in outbox(napp))


def test_single_breach_emails_setting_tells_the_team_manager_at_once(
    db_url: str, clock: FixedClock, registry: WorkflowRegistry
) -> None:
    app = build_app(db_url, clock, registry, single_breach_emails=True)
    office = staff(app)
    open_case(app, office)
    clock.set(at("2026-11-17"))
    app.sweeper.sweep()
    (breach,) = by_kind(app, "breach")
    assert breach.recipients == ["owner@example.org", "tm@example.org"]
    app.engine.dispose()


def test_a_deactivated_owner_gets_nothing_and_the_team_manager_is_told(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    open_case(napp, office)
    napp.people.deactivate("owner@example.org")
    clock.set(at("2026-11-17"))
    napp.sweeper.sweep()
    (reminder,) = by_kind(napp, "reminder")
    (breach,) = by_kind(napp, "breach")
    assert reminder.recipients == breach.recipients == ["tm@example.org"]


def test_the_same_timer_raised_twice_is_one_email(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    open_case(napp, office)
    clock.set(at("2026-11-17"))
    fired: list[Any] = []
    sweeper = napp.sweeper
    sweeper.hooks.append(lambda conn, f, now: fired.append(f))
    sweeper.sweep()
    assert fired
    with napp.engine.begin() as conn:  # the sweep's hook again, as after a crash and re-raise
        for f in fired:
            on_timer(conn, f, napp.settings, clock.now())
    assert len(outbox(napp)) == len(fired) == 2  # reminder and breach, once each


# -- state notices -------------------------------------------------------------------------------


def test_ready_for_panel_names_the_next_panel_that_leaves_five_working_days(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    with napp.engine.begin() as conn:
        add_sitting(conn, date(2026, 11, 6), "fostering", clock.now())  # papers by 30 Oct: too late
        add_sitting(conn, date(2026, 11, 9), "adoption", clock.now())  # another panel
        add_sitting(conn, date(2026, 11, 10), "fostering", clock.now())  # papers by Tue 3 Nov
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
    with napp.engine.begin() as conn:
        add_sitting(conn, date(2026, 11, 6), "fostering", clock.now())
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
    napp.cases.fire(ref, "recommend", office.owner)
    napp.cases.fire(ref, "propose_refusal", office.owner)
    (rec,) = by_kind(napp, "panel_recommendation")
    assert rec.recipients == ["adm@example.org"]  # the kind's default roles
    (qd,) = by_kind(napp, "qd_issued")
    assert qd.recipients == ["irm@example.org"]  # the state's notify list
    assert qd.context["effective_on"] == "2026-11-02"


def test_outbox_rows_commit_with_the_event_or_not_at_all(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    ref = open_case(napp, office)
    napp.cases.fire(ref, "start", office.owner)

    def boom(conn: Any, case: Any, event: Any) -> None:
        raise RuntimeError("the disk is full")

    failing = CaseService(
        SqlUnitOfWork(napp.engine, clock, on_event=[*napp.event_hooks(), boom]), napp.workflows, clock, napp.calendar
    )
    with pytest.raises(RuntimeError):
        failing.fire(ref, "authorise", office.owner)
    assert by_kind(napp, "ready_for_panel") == []
    assert napp.queries.case(ref).state == "assessment"
    with pytest.raises(ConcurrencyConflict):
        napp.cases.fire(ref, "authorise", office.owner, expected_version=1)
    assert by_kind(napp, "ready_for_panel") == []


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
    assert enqueue_digests(napp.engine, clock, napp.settings, napp.workflows) == 0

    clock.set(at("2026-11-17", 7, 31))
    assert enqueue_digests(napp.engine, clock, napp.settings, napp.workflows) == 3  # tm, tm2, sm
    assert enqueue_digests(napp.engine, clock, napp.settings, napp.workflows) == 0  # once a day
    digests = {r.recipients[0]: r for r in by_kind(napp, "digest")}
    assert set(digests) == {"tm@example.org", "tm2@example.org", "sm@example.org"}
    tm = digests["tm@example.org"].context
    assert [i["case_ref"] for i in tm["overdue"]] == [overdue]
    assert tm["overdue"][0]["days_overdue"] == 1
    assert [i["case_ref"] for i in tm["due_soon"]] == [soon]
    assert (tm["overdue"][0]["rule_class"], tm["overdue"][0]["rule_source"]) == ("LOCAL", "test procedure 4.2")
    sm = digests["sm@example.org"].context
    assert sm["teams"] == ["North", "South"]
    assert {i["case_ref"] for i in sm["overdue"] + sm["due_soon"]} == {overdue, soon, south}
    assert digests["sm@example.org"].key == f"digest:{office.ids['sm']}:2026-11-17"

    clock.set(at("2026-11-18", 8, 0))
    assert enqueue_digests(napp.engine, clock, napp.settings, napp.workflows) == 3  # the next day


def test_no_digest_for_a_manager_with_nothing_due(napp: App, clock: FixedClock) -> None:
    staff(napp)
    clock.set(at("2026-11-17", 8))
    assert enqueue_digests(napp.engine, clock, napp.settings, napp.workflows) == 0


def test_an_owner_deactivated_between_sweeps_is_not_remembered(napp: App, clock: FixedClock) -> None:
    office = staff(napp)
    open_case(napp, office)
    clock.set(at("2026-11-12"))
    napp.sweeper.sweep()
    napp.people.deactivate("owner@example.org")
    clock.set(at("2026-11-17"))
    napp.sweeper.sweep()
    assert [(r.kind, r.recipients) for r in outbox(napp)] == [
        ("reminder", ["owner@example.org"]),
        ("breach", ["tm@example.org"]),
    ]
