"""Panels end to end (issue 12) on a SQLite file and on PostgreSQL, through the wired ``App``.

A coordinator plans a year of sittings (Christmas, Easter, the May and August bank holidays and a
local closure move them, and say so), keeps the central list of members, books foster carer cases
that are ready onto sittings with room, records papers, attendance, recommendations and the final
minutes; each case move is the journey's own (``CaseService.fire``), so the decision maker's clock
starts from the minutes received, and a decision maker who attended is refused. Every refusal
names its reason and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from carepath.config.bootstrap import App
from carepath.engine.clock import FixedClock
from carepath.engine.errors import GuardFailed, InvalidInput, NotFound, NotPermitted
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.services.panels import SittingView
from carepath.storage.tables import METADATA, PANEL_BOOKINGS
from carepath.workflows.loader import load_registry
from tests.conftest import make_app
from tests.workflows.helpers import Walker
from tests.workflows.test_foster_carer_approval import READY

PC = "pc@carepath.test"
CW = "cw@carepath.test"
ADM, ADM2 = "adm@carepath.test", "adm2@carepath.test"


@pytest.fixture(scope="module")
def journeys() -> WorkflowRegistry:
    return load_registry()


@pytest.fixture
def walker(db_url: str, clock: FixedClock, journeys: WorkflowRegistry) -> Iterator[Walker]:
    app = make_app(db_url, clock, journeys)
    yield Walker(app, clock)
    app.dispose()


def counts(app: App) -> dict[str, int]:
    """Rows in every table: a refusal changes none."""
    with app.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in METADATA.sorted_tables}


def ready_case(w: Walker) -> str:
    """A foster carer case walked to ready for panel (its report authorised on 15 May 2026)."""
    w.open("foster_carer_approval", "2026-01-02")
    w.walk(READY)
    assert w.state == "ready_for_panel"
    return w.ref


def panel_members(app: App) -> dict[str, int]:
    """A fostering panel's central list: chair, vice chair, two social workers, two independents, the
    medical adviser, the adviser and the minute taker; ADM2 is an independent member too."""
    p = app.panels
    made = {
        "chair": p.add_member("Chris Chair", "chair@carepath.test", ["chair"], ["fostering", "adoption"], PC),
        "vice": p.add_member("Vic Vice", "vice@carepath.test", ["vice_chair"], ["fostering"], PC),
        "sw1": p.add_member("Sam Social", "sw1@carepath.test", ["social_worker"], ["fostering"], PC),
        "sw2": p.add_member("Sue Social", None, ["social_worker"], ["fostering"], PC),
        "ind1": p.add_member("Ian Indy", "ind1@carepath.test", ["independent"], ["fostering"], PC),
        "adm2": p.add_member("Ada Decider", ADM2, ["independent"], ["fostering"], PC),
        "med": p.add_member("Dr Med", "med@carepath.test", ["medical_adviser"], ["fostering"], PC),
        "adviser": p.add_member("Pia Adviser", "pa@carepath.test", ["adviser"], ["fostering"], PC),
        "minutes": p.add_member("Mo Minutes", None, ["minute_taker"], ["fostering"], PC),
        "expired": p.add_member("Old Member", None, ["independent"], ["fostering"], PC, expires_on=date(2026, 11, 20)),
    }
    return {k: m.id for k, m in made.items()}


def at(w: Walker, day: str) -> None:
    d = date.fromisoformat(day)
    w.clock.set(datetime(d.year, d.month, d.day, 12, 0, tzinfo=UTC))


# -- planning a year ----------------------------------------------------------------------------------


def test_a_year_of_sittings_moves_round_christmas_easter_the_august_bank_holiday_and_a_closure(walker: Walker) -> None:
    app = walker.app
    app.calendar_changes.add_override(date(2027, 1, 25), "office move", "admin@carepath.test")
    # the last Monday of each month: Boxing Day's substitute, Easter Monday, the spring and summer bank holidays
    fostering = app.panels.plan("fostering", 0, -1, date(2026, 11, 1), date(2027, 10, 31), PC, place="Room 1")
    assert [s.day.isoformat() for s in fostering.added] == [
        "2026-11-30", "2026-12-29", "2027-01-26", "2027-02-22", "2027-03-30", "2027-04-26",
        "2027-06-01", "2027-06-28", "2027-07-26", "2027-08-31", "2027-09-27", "2027-10-25",
    ]  # fmt: skip
    assert fostering.shifted == [
        (date(2026, 12, 28), date(2026, 12, 29), "Boxing Day (observed)"),
        (date(2027, 1, 25), date(2027, 1, 26), "local closure"),
        (date(2027, 3, 29), date(2027, 3, 30), "Easter Monday"),
        (date(2027, 5, 31), date(2027, 6, 1), "Spring Bank Holiday"),
        (date(2027, 8, 30), date(2027, 8, 31), "Late Summer Bank Holiday"),
    ]
    # the fourth Friday: Christmas Day and Good Friday move past the weekend and the Monday holiday
    adoption = app.panels.plan("adoption", 4, 4, date(2026, 11, 1), date(2027, 10, 31), PC)
    moved = {w.isoformat(): a.isoformat() for w, a, _ in adoption.shifted}
    assert moved == {"2026-12-25": "2026-12-29", "2027-03-26": "2027-03-30"}
    assert len(adoption.added) == 12
    # planning again adds nothing and says why
    again = app.panels.plan("fostering", 0, -1, date(2026, 11, 1), date(2027, 10, 31), PC)
    assert (again.added, len(again.skipped)) == ([], 12)
    assert again.skipped[0] == (date(2026, 11, 30), "a fostering panel is already planned")
    page = app.panels.sittings(PC, panel_type="fostering", limit=100)
    assert [s.day for s in page] == [s.day for s in fostering.added]
    assert {s.place for s in page} == {"Room 1"}


def test_papers_are_due_five_working_days_back_over_bank_holidays_and_closures(walker: Walker) -> None:
    app = walker.app
    # Tue 30 March 2027, after Easter: back over Easter Monday and Good Friday to Fri 19 March
    easter = app.panels.add_sitting(date(2027, 3, 30), "fostering", PC)
    assert easter.papers_due_on == date(2027, 3, 19)
    # Wed 6 January 2027: back over New Year's Day to Tue 29 December (Boxing Day's substitute on the 28th)
    new_year = app.panels.add_sitting(date(2027, 1, 6), "adoption", PC)
    assert new_year.papers_due_on == date(2026, 12, 29)
    # a local closure inside the five days moves the papers date a day earlier
    app.calendar_changes.add_override(date(2027, 3, 23), "training day", "admin@carepath.test")
    assert app.panels.sitting(easter.id, PC).papers_due_on == date(2027, 3, 18)


def test_a_sitting_is_refused_on_a_weekend_a_holiday_in_the_past_or_twice(walker: Walker) -> None:
    app = walker.app
    app.panels.add_sitting(date(2026, 12, 9), "fostering", PC)
    before = counts(app)
    refusals: list[tuple[Callable[[], object], str]] = [
        (lambda: app.panels.add_sitting(date(2026, 12, 12), "fostering", PC), "2026-12-12 is not a working day"),
        (lambda: app.panels.add_sitting(date(2026, 12, 25), "fostering", PC), "Christmas Day"),
        (lambda: app.panels.add_sitting(date(2026, 10, 12), "fostering", PC), "in the past"),
        (lambda: app.panels.add_sitting(date(2026, 12, 9), "fostering", PC), "already planned"),
        (lambda: app.panels.add_sitting(date(2026, 12, 10), "circus", PC), "panel type 'circus'"),
        (lambda: app.panels.add_sitting(date(2026, 12, 10), "joint", PC, capacity=0), "from 1 to 40 cases"),
    ]
    for call, message in refusals:
        with pytest.raises(InvalidInput, match=message):
            call()
    with pytest.raises(NotPermitted, match="needs role panel_coordinator"):
        app.panels.add_sitting(date(2026, 12, 10), "fostering", CW)
    assert counts(app) == before
    # the same day for another type is fine, and so is a day whose sitting was cancelled
    app.panels.add_sitting(date(2026, 12, 9), "adoption", PC)
    first = app.panels.sittings(PC, panel_type="fostering").items[0]
    app.panels.cancel(first.id, "chair unwell", PC)
    again = app.panels.add_sitting(date(2026, 12, 9), "fostering", PC)
    assert again.id != first.id


# -- members and quorum ---------------------------------------------------------------------------------


def test_quorum_warns_while_planned_and_blocks_recommendations(walker: Walker) -> None:
    app = walker.app
    ids = panel_members(app)
    ref = ready_case(walker)
    s = app.panels.add_sitting(date(2026, 11, 25), "fostering", PC)
    assert s.quorum.ok is False
    assert s.quorum.reasons == (
        "0 members attend; quorum is 5",
        "needs a chair or vice chair",
        "needs a social worker with 3 years' post-qualifying experience",
    )
    app.panels.book(ref, s.id, PC)
    # the adviser and the minute taker attend but are not members
    s = app.panels.attend(s.id, [ids["vice"], ids["ind1"], ids["med"], ids["adviser"], ids["minutes"]], PC)
    assert s.quorum.reasons == (
        "3 members attend; quorum is 5",
        "needs a social worker with 3 years' post-qualifying experience",
    )
    # expired, unknown or wrong-type members are refused, and the list stays as it was
    with pytest.raises(InvalidInput, match="stopped being a member on 2026-11-20"):
        app.panels.attend(s.id, [ids["expired"], ids["chair"]], PC)
    with pytest.raises(NotFound, match="no panel member 999"):
        app.panels.attend(s.id, [999], PC)
    assert len(app.panels.attendance(s.id, PC)) == 5
    at(walker, "2026-11-25")
    before = counts(app)
    with pytest.raises(InvalidInput, match="has no quorum: 3 members attend; quorum is 5"):
        app.panels.recommend(s.id, {ref: ("suitable", None)}, PC)
    assert counts(app) == before
    s = app.panels.attend(s.id, [ids[k] for k in ("vice", "sw1", "sw2", "ind1", "med", "minutes")], PC)
    assert s.quorum.ok
    assert app.panels.sitting(s.id, CW).quorum.ok  # everyone with panel.read sees it


def test_a_joint_panel_needs_six_members(walker: Walker) -> None:
    app = walker.app
    p = app.panels
    ids = [
        p.add_member("Chair", None, ["chair"], ["joint"], PC).id,
        p.add_member("SW", None, ["social_worker"], ["joint"], PC).id,
        *[p.add_member(f"Member {i}", None, ["independent"], ["joint"], PC).id for i in range(3)],
    ]
    s = p.add_sitting(date(2026, 11, 26), "joint", PC)
    assert p.attend(s.id, ids, PC).quorum.reasons == ("5 members attend; quorum is 6",)
    ids.append(p.add_member("Member 4", None, ["independent"], ["joint"], PC).id)
    assert p.attend(s.id, ids, PC).quorum.ok


# -- booking ----------------------------------------------------------------------------------------------


def test_booking_refusals_say_why_and_write_nothing(walker: Walker) -> None:
    app = walker.app
    ref = ready_case(walker)
    small = app.panels.add_sitting(date(2026, 11, 18), "fostering", PC, capacity=1)
    adoption = app.panels.add_sitting(date(2026, 11, 19), "adoption", PC)
    cancelled = app.panels.add_sitting(date(2026, 11, 20), "fostering", PC)
    app.panels.cancel(cancelled.id, "no chair available", PC)
    past = app.panels.add_sitting(date(2026, 11, 4), "fostering", PC)
    other = ready_case(walker)
    app.panels.book(other, small.id, PC)  # now full
    walker.open("foster_carer_approval", "2026-10-01")
    not_ready = walker.ref
    at(walker, "2026-11-05")
    before = counts(app)
    refusals = [
        (ref, small.id, "is full \\(1 of 1 cases\\)"),
        (ref, adoption.id, "needs a fostering panel; the adoption panel on 2026-11-19 is not one"),
        (ref, cancelled.id, "is cancelled \\(no chair available\\)"),
        (ref, past.id, "the fostering panel on 2026-11-04 is in the past"),
        (not_ready, small.id, "is not ready for panel \\(it is enquiry\\)"),
        (other, small.id, "is not ready for panel"),
    ]
    for case_ref, sitting, message in refusals:
        with pytest.raises(InvalidInput, match=message):
            app.panels.book(case_ref, sitting, PC)
    with pytest.raises(NotFound):
        app.panels.book(ref, 10**6, PC)
    with pytest.raises(NotPermitted):
        app.panels.book(ref, small.id, CW)
    assert counts(app) == before
    assert walker.app.reads.case(ref, walker.reader).state == "ready_for_panel"


def test_booking_takes_panel_date_from_the_sitting_and_moving_keeps_the_history(walker: Walker) -> None:
    app = walker.app
    ref = ready_case(walker)
    first = app.panels.add_sitting(date(2026, 11, 18), "fostering", PC)
    joint = app.panels.add_sitting(date(2026, 11, 25), "joint", PC)  # a joint panel hears fostering cases
    assert app.panels.book(ref, first.id, PC).booked == 1
    case = app.reads.case(ref, walker.reader)
    assert (case.state, case.facts["panel_date"]) == ("panel_booked", "2026-11-18")
    moved = app.panels.move(ref, joint.id, PC, "assessor on leave")
    assert (moved.booked, app.panels.sitting(first.id, PC).booked) == (1, 0)
    case = app.reads.case(ref, walker.reader)
    assert (case.state, case.facts["panel_date"]) == ("panel_booked", "2026-11-25")
    walker.ref = ref
    assert walker.history_triggers()[-3:] == ["book_panel", "defer_panel", "book_panel"]
    assert app.panels.agenda(first.id, PC) == []
    assert [i.ref for i in app.panels.agenda(joint.id, PC)] == [ref]


def test_cancelling_a_sitting_sends_its_cases_back_to_the_queue_with_the_reason(walker: Walker) -> None:
    app = walker.app
    ref = ready_case(walker)
    s = app.panels.add_sitting(date(2026, 11, 18), "fostering", PC)
    app.panels.book(ref, s.id, PC)
    cancelled = app.panels.cancel(s.id, "chair unwell", PC)
    assert (cancelled.status, cancelled.cancel_reason, cancelled.booked) == ("cancelled", "chair unwell", 0)
    assert app.reads.case(ref, walker.reader).state == "ready_for_panel"
    (item,) = app.panels.agenda(s.id, PC)
    assert item.deferred_reason == "panel on 2026-11-18 cancelled: chair unwell"
    walker.ref = ref
    assert walker.history()[-1].note == "panel on 2026-11-18 cancelled: chair unwell"
    with pytest.raises(InvalidInput, match="is cancelled; only a planned sitting can be cancelled"):
        app.panels.cancel(s.id, "again", PC)


def test_a_case_taken_off_the_agenda_before_the_sitting_goes_back_to_the_queue_with_the_reason(walker: Walker) -> None:
    app = walker.app
    ref = ready_case(walker)
    s = app.panels.add_sitting(date(2026, 11, 18), "fostering", PC)
    app.panels.book(ref, s.id, PC)
    back = app.panels.defer(ref, "medical report not back", PC)
    assert back.state == "ready_for_panel"
    assert [q.ref for q in app.panels.queue(PC)] == [ref]
    (item,) = app.panels.agenda(s.id, PC)
    assert item.deferred_reason == "medical report not back"
    assert app.panels.sitting(s.id, PC).booked == 0
    before = counts(app)
    with pytest.raises(InvalidInput, match="is not booked on a panel"):
        app.panels.defer(ref, "again", PC)
    with pytest.raises(NotPermitted):
        app.panels.defer(ref, "not mine to take off", "cw@carepath.test")
    assert counts(app) == before


def test_a_booked_case_that_leaves_for_another_reason_comes_off_the_agenda_but_a_hold_keeps_it(walker: Walker) -> None:
    app = walker.app
    ref = ready_case(walker)
    s = app.panels.add_sitting(date(2026, 11, 18), "fostering", PC)
    app.panels.book(ref, s.id, PC)
    walker.hold("2026-11-02")
    assert [i.ref for i in app.panels.agenda(s.id, PC)] == [ref]  # on hold, still booked
    walker.resume("2026-11-03")
    assert app.panels.sitting(s.id, PC).booked == 1
    walker.withdraw("AW1", "2026-11-04")
    assert app.panels.agenda(s.id, PC) == []
    assert app.panels.sitting(s.id, PC).booked == 0
    with app.engine.connect() as conn:
        status, reason = conn.execute(select(PANEL_BOOKINGS.c.status, PANEL_BOOKINGS.c.reason)).one()
    assert status == "withdrawn"
    assert "withdraw" in reason


# -- papers, the sitting, the minutes and the decision -----------------------------------------------------


def test_a_sitting_from_papers_to_decision(walker: Walker) -> None:
    """Two cases booked; one's papers go out in time, the other's late; the panel recommends one and
    defers the other; the minutes arrive late and the decision clock runs from them; the decision
    maker who sat is refused, another decides."""
    app = walker.app
    ids = panel_members(app)
    one, two, three = ready_case(walker), ready_case(walker), ready_case(walker)
    s = app.panels.add_sitting(date(2026, 11, 25), "fostering", PC, place="Town Hall")
    assert s.papers_due_on == date(2026, 11, 18)
    queued = app.panels.queue(PC)
    assert [(q.ref, q.panel_type, q.state) for q in queued] == [
        (r, "fostering", "ready_for_panel") for r in (one, two, three)
    ]
    assert app.panels.queue(PC, panel_type="adoption") == []
    for ref in (one, two, three):
        app.panels.book(ref, s.id, PC)
    assert app.panels.queue(CW) == []
    at(walker, "2026-11-16")
    sent = app.panels.papers(one, PC)
    assert (sent.papers_circulated_on, sent.papers_status) == (date(2026, 11, 16), "circulated")
    with pytest.raises(InvalidInput, match="papers were sent on 2026-11-16"):
        app.panels.papers(one, PC)
    agenda = {i.ref: i.papers_status for i in app.panels.agenda(s.id, PC)}
    assert agenda == {one: "circulated", two: "due", three: "due"}
    at(walker, "2026-11-19")
    assert {i.ref: i.papers_status for i in app.panels.agenda(s.id, PC)}[two] == "late"
    app.panels.papers(two, PC)
    app.panels.papers(three, PC)
    walker.ref = one
    assert walker.case.facts["papers_circulated_on"] == "2026-11-16"

    app.panels.attend(s.id, [ids[k] for k in ("chair", "sw1", "sw2", "ind1", "adm2", "minutes")], PC)
    at(walker, "2026-11-24")
    with pytest.raises(InvalidInput, match="has not sat yet"):
        app.panels.recommend(s.id, {one: ("suitable", None)}, PC)
    at(walker, "2026-11-25")
    before = counts(app)
    bad = [
        ({one: ("brilliant", None)}, "recommendation 'brilliant': use one of suitable, not_suitable, full_report"),
        ({one: ("suitable", None), two: ("deferred", None)}, "a deferral needs its reason"),
        ({"FC-2026-0999": ("suitable", None)}, "FC-2026-0999 is not on the agenda"),
    ]
    for outcomes, message in bad:
        with pytest.raises(InvalidInput, match=message):
            app.panels.recommend(s.id, outcomes, PC)
    assert counts(app) == before  # all checked before anything is written

    agenda_after = app.panels.recommend(
        s.id,
        {one: ("suitable", "unanimous"), two: ("suitable", None), three: ("deferred", "medical report missing")},
        PC,
    )
    outcome = {i.ref: (i.recommendation, i.deferred_reason, i.state) for i in agenda_after}
    assert outcome == {
        one: ("suitable", None, "panel_recommended"),
        two: ("suitable", None, "panel_recommended"),
        three: (None, "medical report missing", "ready_for_panel"),
    }
    facts = app.reads.case(one, walker.reader).facts
    assert facts["panel_held_on"] == "2026-11-25"
    assert facts["panel_members"] == ["adm2@carepath.test", "chair@carepath.test", "ind1@carepath.test",
                                      "sw1@carepath.test"]  # fmt: skip
    assert app.panels.sitting(s.id, PC).status == "held"
    assert [q.ref for q in app.panels.queue(PC)] == [three]  # deferred: back in the queue

    # the minutes come in late (they were expected within a few days): the clocks run from the day received
    at(walker, "2026-12-08")
    with pytest.raises(InvalidInput, match="before the fostering panel"):
        app.panels.minutes(s.id, date(2026, 11, 24), PC)
    assert sorted(app.panels.minutes(s.id, date(2026, 12, 7), PC)) == sorted([one, two])
    for ref in (one, two):
        walker.ref = ref
        assert walker.state == "awaiting_adm"
        fs5 = walker.deadline("FS5")
        assert (fs5.start_on, fs5.due_on) == (date(2026, 12, 7), date(2026, 12, 16))
    assert app.panels.sitting(s.id, PC).minutes_received_on == date(2026, 12, 7)
    with pytest.raises(InvalidInput, match="minutes were received on 2026-12-07"):
        app.panels.minutes(s.id, date(2026, 12, 8), PC)

    # the decision maker who sat on the panel may not decide; another may
    walker.ref = one
    before = counts(app)
    with pytest.raises(GuardFailed, match="sat on this case's panel"):
        walker.fire("approve", "2026-12-08", ADM2, approval_terms="1 child aged 0-5")
    assert counts(app) == before
    assert walker.fire("approve", "2026-12-08", ADM, approval_terms="1 child aged 0-5").state == "approved"

    # the reports' read model: one decided within 7 working days of the minutes; papers in time for one
    (report,) = app.panels.report(PC, date(2026, 11, 1), date(2026, 11, 30))
    figures = (report.heard, report.deferred, report.papers_in_time, report.decided, report.decided_in_time)
    assert (report.status, report.minutes_received_on, figures) == ("held", date(2026, 12, 7), (2, 1, 1, 1, 1))
    assert report.papers_in_time_share == 0.5
    assert report.ready_to_panel_days == (194, 194)  # both ready since 15 May (their reports authorised)


def test_panel_commands_are_the_coordinators(walker: Walker) -> None:
    app = walker.app
    s = app.panels.add_sitting(date(2026, 11, 25), "fostering", PC)
    before = counts(app)
    for call in (
        lambda: app.panels.plan("fostering", 2, 1, date(2027, 1, 1), date(2027, 6, 30), CW),
        lambda: app.panels.cancel(s.id, "why not", CW),
        lambda: app.panels.add_member("X", None, ["chair"], ["fostering"], CW),
        lambda: app.panels.attend(s.id, [], ADM),
        lambda: app.panels.minutes(s.id, date(2026, 11, 25), ADM),
    ):
        with pytest.raises(NotPermitted, match="needs role panel_coordinator"):
            call()
    assert counts(app) == before
    assert isinstance(app.panels.sitting(s.id, CW), SittingView)


def test_migration_0008_keeps_the_booked_panel_dates_as_planned_sittings(walker: Walker) -> None:
    from alembic import command
    from sqlalchemy import column, insert, inspect, table

    from carepath.storage.migrate import alembic_config, current

    app = walker.app
    app.panels.add_sitting(date(2026, 11, 25), "fostering", PC)
    cfg = alembic_config(str(app.engine.url.render_as_string(hide_password=False)))
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    names = set(inspect(app.engine).get_table_names())
    assert "panel_date" in names
    assert not {"panel_sitting", "panel_member", "panel_attendance", "panel_booking"} & names
    panel_date = table("panel_date", column("day"), column("panel_type"), column("created_at"))
    with app.engine.begin() as conn:
        conn.execute(
            insert(panel_date).values(day=date(2026, 12, 2), panel_type="adoption", created_at=datetime(2026, 11, 2))
        )
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
    assert current(app.engine) == "0008"
    assert "panel_date" not in set(inspect(app.engine).get_table_names())
    kept = [(s.day, s.panel_type, s.capacity, s.status) for s in app.panels.sittings(PC)]
    assert kept == [
        (date(2026, 11, 25), "fostering", 6, "planned"),
        (date(2026, 12, 2), "adoption", 6, "planned"),
    ]


def test_a_members_calendar_parses_back_with_its_sittings(walker: Walker) -> None:
    from icalendar import Calendar

    from carepath.entrypoints.ics import sittings_ics

    app = walker.app
    ids = panel_members(app)
    morning = app.panels.add_sitting(date(2026, 11, 25), "fostering", PC, place="Town Hall", starts_at=time(10, 0))
    all_day = app.panels.add_sitting(date(2026, 12, 9), "fostering", PC)
    app.panels.add_sitting(date(2026, 12, 16), "fostering", PC)  # the chair is not down for this one
    for s in (morning, all_day):
        app.panels.attend(s.id, [ids["chair"], ids["sw1"]], PC)
    app.panels.cancel(all_day.id, "chair unwell", PC)
    mine = app.panels.member_sittings(ids["chair"], CW)
    assert [s.day for s in mine] == [date(2026, 11, 25), date(2026, 12, 9)]
    with pytest.raises(NotFound, match="no panel member 999"):
        app.panels.member_sittings(999, PC)

    ics = sittings_ics(mine, name="Chris Chair's panels", stamped_at=walker.clock.now())
    cal = Calendar.from_ical(ics)
    assert str(cal["X-WR-CALNAME"]) == "Chris Chair's panels"
    events = list(cal.walk("VEVENT"))
    assert [str(e["UID"]) for e in events] == [
        f"panel-sitting-{morning.id}@carepath",
        f"panel-sitting-{all_day.id}@carepath",
    ]
    first, second = events
    start = first.decoded("DTSTART")
    assert (start.date(), start.hour, str(start.tzinfo)) == (date(2026, 11, 25), 10, "Europe/London")
    assert first.decoded("DTEND") - start == timedelta(hours=3)
    assert (str(first["LOCATION"]), str(first["STATUS"]), str(first["SUMMARY"])) == (
        "Town Hall",
        "CONFIRMED",
        "Fostering panel",
    )
    assert "Papers to members by 2026-11-18" in str(first["DESCRIPTION"])
    assert (second.decoded("DTSTART"), str(second["STATUS"])) == (date(2026, 12, 9), "CANCELLED")
    assert "@" not in ics.decode().replace("@carepath", "")  # no email addresses


def test_minutes_move_only_the_cases_whose_recommendation_goes_to_the_decision_maker(walker: Walker) -> None:
    app = walker.app
    ids = panel_members(app)
    refused, more = ready_case(walker), ready_case(walker)
    s = app.panels.add_sitting(date(2026, 11, 25), "fostering", PC)
    for ref in (refused, more):
        app.panels.book(ref, s.id, PC)
    app.panels.attend(s.id, [ids[k] for k in ("chair", "sw1", "sw2", "ind1", "med")], PC)
    at(walker, "2026-11-25")
    with pytest.raises(InvalidInput, match="record its recommendations first"):
        app.panels.minutes(s.id, date(2026, 11, 25), PC)
    app.panels.recommend(s.id, {refused: ("not_suitable", None), more: ("full_report", "a full report is needed")}, PC)
    assert app.panels.minutes(s.id, date(2026, 11, 25), PC) == [refused]
    assert app.reads.case(refused, walker.reader).state == "awaiting_adm"
    assert app.reads.case(more, walker.reader).state == "panel_recommended"


def test_a_panel_date_typed_by_hand_must_name_a_planned_sitting(walker: Walker) -> None:
    """Issue 10's reproduction: ``book_panel --set panel_date=2026-12-18`` with no sitting that day is
    refused with what to do, and writes nothing; the day of a planned (not cancelled) sitting is taken."""
    ref = ready_case(walker)
    app = walker.app
    coordinator = walker.actor("panel_coordinator")
    with pytest.raises(InvalidInput, match=r"no fostering panel sits on Friday 18 December 2026 \(panel_date\)"):
        app.cases.fire(ref, "book_panel", coordinator, facts={"panel_date": "2026-12-18"})
    cancelled = app.panels.add_sitting(date(2026, 12, 16), "fostering", PC)
    app.panels.cancel(cancelled.id, "Room unavailable", PC)
    adoption = app.panels.add_sitting(date(2026, 12, 17), "adoption", PC)
    before = counts(app)
    for day in ("2026-12-16", "2026-12-17"):  # cancelled; another panel's
        with pytest.raises(InvalidInput, match="no fostering panel sits on"):
            app.cases.fire(ref, "book_panel", coordinator, facts={"panel_date": day})
    assert counts(app) == before
    assert adoption.panel_type == "adoption"
    app.panels.add_sitting(date(2026, 12, 18), "fostering", PC)
    assert app.cases.fire(ref, "book_panel", coordinator, facts={"panel_date": "2026-12-18"}).state == "panel_booked"


def test_late_papers_warn_the_caseworker_and_the_coordinator(walker: Walker) -> None:
    """FS4 (papers 5 working days before the sitting): the breach goes to the case's owner, the
    escalation a working day later to the panel coordinator."""
    from carepath.storage.tables import OUTBOX

    ref = ready_case(walker)
    app = walker.app
    s = app.panels.add_sitting(date(2026, 11, 16), "fostering", PC)
    app.panels.book(ref, s.id, PC)  # papers due Monday 9 November; none sent
    walker.clock.set(datetime(2026, 11, 12, 9, tzinfo=UTC))
    app.timers.sweep(app.system)
    with app.engine.connect() as conn:
        rows = conn.execute(select(OUTBOX.c.kind, OUTBOX.c.recipients, OUTBOX.c.context)).all()
    papers = {r.kind: r.recipients for r in rows if (r.context or {}).get("rule") == "FS4"}
    assert papers["breach"] == [walker.actor("caseworker").email]
    assert PC in papers["escalation"]


def test_minutes_late_warn_the_coordinator(walker: Walker) -> None:
    """MINUTES (local: 10 working days from the recommendation): late, the coordinator hears."""
    from carepath.storage.tables import OUTBOX

    ready_case(walker)
    walker.fire("book_panel", "2026-05-20", "panel_coordinator", panel_date="2026-06-03")
    walker.fire("circulate_papers", "2026-05-21", "panel_coordinator", papers_circulated_on="2026-05-21")
    walker.fire(
        "record_recommendation",
        "2026-06-03",
        "panel_coordinator",
        panel_held_on="2026-06-03",
        recommendation="suitable",
        panel_members=["ind1@carepath.test"],
    )
    assert walker.due("MINUTES") == "2026-06-17"  # 10 working days after Wednesday 3 June
    app = walker.app
    app.timers.sweep(app.system)  # the walk is in the past: today is 2 November
    with app.engine.connect() as conn:
        rows = conn.execute(select(OUTBOX.c.kind, OUTBOX.c.recipients, OUTBOX.c.context)).all()
    minutes = {r.kind: r.recipients for r in rows if (r.context or {}).get("rule") == "MINUTES"}
    assert PC in minutes["escalation"]
