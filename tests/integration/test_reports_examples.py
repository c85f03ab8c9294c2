"""Reports on small worked examples (issue 13 point 10), computed by hand, on SQLite and PostgreSQL.

Cases are walked through the real case service (``Walker``) with a clock that starts in 2025 and
moves to each event's day as the walk reaches it, so events are recorded on (or after) their day
and the as-of date selects what had been recorded by then. The numbers in each test are worked out
in its comments from the dates it walks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from carepath.engine.clock import FixedClock
from carepath.engine.errors import InvalidInput, NotFound, NotPermitted, UnknownWorkflow
from carepath.engine.registry import WorkflowRegistry
from carepath.workflows.loader import load_registry
from tests.conftest import make_app
from tests.workflows.helpers import ADMIN, Walker, panel_steps, step
from tests.workflows.test_child_adoption_pathway import COURT, CPR, MATCH, PLAN, REVIEWS
from tests.workflows.test_prospective_adopter_approval import PANEL as ADOPTER_PANEL
from tests.workflows.test_prospective_adopter_approval import STAGE1, STAGE2

FC = "foster_carer_approval"
CH = "child_adoption_pathway"
PA = "prospective_adopter_approval"
D = date.fromisoformat


@pytest.fixture(scope="module")
def journeys() -> WorkflowRegistry:
    return load_registry()


@pytest.fixture
def w(db_url: str, journeys: WorkflowRegistry) -> Iterator[Walker]:
    """A walker whose clock starts on Mon 3 Nov 2025 (before every event the tests walk)."""
    clock = FixedClock(datetime(2025, 11, 3, 9, 0, tzinfo=UTC))
    app = make_app(db_url, clock, journeys)
    yield Walker(app, clock)
    app.dispose()


def report(w: Walker, name: str, **kw: object):  # type: ignore[no-untyped-def]
    return w.app.reports.report(w.actor("service_manager"), name, **kw)  # type: ignore[arg-type]


def rows_by(table, key: str) -> dict:  # type: ignore[no-untyped-def]
    return {r[key]: r for r in table.rows}


# -- fostering: the funnel ---------------------------------------------------------------------------


def brief_report(on: str) -> list:  # type: ignore[type-arg]
    """From assessment to ready for panel on a brief report written, shared and authorised from ``on``."""
    day = D(on)
    return [
        step("complete_report", on, report_completed_on=on, report_type="brief"),
        step("share_report", on, report_shared_on=on),
        step("authorise_report", day.isoformat(), "team_manager", report_authorised_on=on),
    ]


def to_visit(w: Walker, opened: str, info: str, visit: str) -> None:
    w.open(FC, opened)
    w.fire("send_information", info)
    w.fire("hold_initial_visit", visit)


def to_application(w: Walker, opened: str, info: str, visit: str, received: str) -> None:
    to_visit(w, opened, info, visit)
    w.fire("accept_application", received, "team_manager", application_received_on=received)


def walk_fostering(w: Walker) -> None:
    """Seven mainstream households; the first enquired in the last financial year, six in April 2026.

    1. enquiry 2 Jan 2026, visit 8 Jan, application 12 Jan, assessment 13 Jan, panel 10 Jun, approved 19 Jun;
    2. enquiry 6 Apr, information 7 Apr, withdrew at initial contact 8 Apr (AW1);
    3. enquiry 6 Apr, withdrew at enquiry 9 Apr (AW0);
    4. enquiry 7 Apr, visit 14 Apr, withdrew at initial visit 20 Apr (AW2);
    5. enquiry 8 Apr, visit 15 Apr, application 21 Apr, withdrew at application 1 May (AW3);
    6. enquiry 9 Apr, visit 16 Apr, application 23 Apr, assessment 24 Apr, withdrew 1 Jun (AW4);
    7. enquiry 10 Apr, visit 20 Apr, application 27 Apr, assessment 28 Apr, ready for panel 5 May,
       withdrew 12 May (AW5).
    """
    to_application(w, "2026-01-02", "2026-01-05", "2026-01-08", "2026-01-12")
    w.fire("start_assessment", "2026-01-13", "team_manager")
    w.walk(brief_report("2026-05-01"))
    w.walk(panel_steps(booked="2026-05-18", papers="2026-06-01", held="2026-06-10", minutes="2026-06-15"))
    w.fire("approve", "2026-06-19", "agency_decision_maker", approval_terms="1 child aged 0-4")
    w.open(FC, "2026-04-06")
    w.fire("send_information", "2026-04-07")
    w.withdraw("AW1", "2026-04-08")
    w.open(FC, "2026-04-06")
    w.withdraw("AW0", "2026-04-09")
    to_visit(w, "2026-04-07", "2026-04-08", "2026-04-14")
    w.withdraw("AW2", "2026-04-20")
    to_application(w, "2026-04-08", "2026-04-09", "2026-04-15", "2026-04-21")
    w.withdraw("AW3", "2026-05-01")
    to_application(w, "2026-04-09", "2026-04-10", "2026-04-16", "2026-04-23")
    w.fire("start_assessment", "2026-04-24", "team_manager")
    w.withdraw("AW4", "2026-06-01")
    to_application(w, "2026-04-10", "2026-04-13", "2026-04-20", "2026-04-27")
    w.fire("start_assessment", "2026-04-28", "team_manager")
    w.walk(brief_report("2026-05-05"))
    assert w.state == "ready_for_panel"
    w.withdraw("AW5", "2026-05-12")


def test_funnel_period_and_cohort_with_a_withdrawal_at_each_stage(w: Walker) -> None:
    walk_fostering(w)
    w.at("2026-11-30")
    r = report(w, "funnel", journey=FC)  # the financial year 2026-27 by default, to the as-of day
    assert (r.period.start, r.period.end, r.as_of) == (D("2026-04-01"), D("2026-11-30"), D("2026-11-30"))
    steps = rows_by(r.table("steps_mainstream"), "step")
    # In the period: enquiries 2-7; visits 4-7; applications 5-7; assessments 6, 7; panel and approval 1.
    assert {k: v["count"] for k, v in steps.items()} == {
        "enquiry": 6,
        "initial_visit": 4,
        "application": 3,
        "assessment": 2,
        "panel": 1,
        "approval": 1,
    }
    # The cohort (enquiries 2-7 followed to 30 Nov): none reached panel.
    assert [v["cohort"] for v in steps.values()] == [6, 4, 3, 2, 0, 0]
    assert steps["initial_visit"]["conversion"] == pytest.approx(4 / 6)
    assert steps["application"]["conversion"] == pytest.approx(3 / 4)
    assert steps["panel"]["conversion"] == pytest.approx(1 / 2)
    assert steps["panel"]["cohort_conversion"] == 0
    assert r.data["conversion"]["enquiry_to_application"] == pytest.approx(3 / 6)
    # 15% of 6 enquiries is 0.9: 1 application meets it, 3 were received.
    assert (r.data["applications_needed_for_target"], r.data["applications_short_of_target"]) == (1, 0)
    by_stage = {(row["stage"], row["in_period"]) for row in r.table("dropouts_by_stage").rows}
    assert by_stage == {
        ("Enquiry received", 1),
        ("Initial contact (information sent)", 1),
        ("Initial home visit held", 1),
        ("Application received", 1),
        ("Stage 1 checks and Stage 2 assessment (in parallel, with training)", 1),
        ("Ready for panel (report authorised)", 1),
    }
    reasons = {row["reason"]: row["cohort"] for row in r.table("dropouts_by_reason").rows}
    assert reasons == {"AW0": 1, "AW1": 1, "AW2": 1, "AW3": 1, "AW4": 1, "AW5": 1}
    durations = rows_by(r.table("durations"), "stage")
    # Enquiry to visit for the visits in the period: 7, 7, 7 and 10 days (case 7: 10 to 20 April).
    assert (durations["enquiry_to_visit"]["median_days"], durations["enquiry_to_visit"]["p90_days"]) == (7, 10)
    assert durations["enquiry_to_visit"]["timescale"] == "5 working days (FS2)"
    # Application 12 Jan to panel 10 Jun: 149 days, within the 8 months of NMS 14.
    to_panel = durations["application_to_panel"]
    assert (to_panel["cases"], to_panel["median_days"], to_panel["within_timescale"]) == (1, 149, 1)
    assert durations["enquiry_to_visit"]["within_timescale"] is None  # working days: not counted here


def test_funnel_of_the_year_before_and_an_as_of_day_inside_it(w: Walker) -> None:
    walk_fostering(w)
    w.at("2026-11-30")
    # FY 2025-26: case 1's enquiry, visit and application, nothing else yet.
    r = report(w, "funnel", journey=FC, as_of=D("2026-03-31"))
    assert r.period == type(r.period)(D("2025-04-01"), D("2026-03-31"))
    steps = rows_by(r.table("steps_mainstream"), "step")
    assert [steps[k]["count"] for k in ("enquiry", "initial_visit", "application", "assessment", "panel")] == [
        1,
        1,
        1,
        1,
        0,
    ]
    # Cases 2-7 were entered on 19 June (the walk reached that day with case 1 first), backdated:
    # as of 30 April carepath had none of them, and as of 19 June all of them.
    r = report(w, "funnel", journey=FC, as_of=D("2026-04-30"))
    assert rows_by(r.table("steps_mainstream"), "step")["enquiry"]["count"] == 0
    assert r.table("dropouts_by_reason").rows == ()
    r = report(w, "funnel", journey=FC, as_of=D("2026-06-19"))
    assert rows_by(r.table("steps_mainstream"), "step")["enquiry"]["count"] == 6
    assert sorted(row["reason"] for row in r.table("dropouts_by_reason").rows) == [
        "AW0",
        "AW1",
        "AW2",
        "AW3",
        "AW4",
        "AW5",
    ]


def test_a_correction_after_the_as_of_day_is_honoured_only_later(w: Walker) -> None:
    """A visit recorded on 6 May and voided on 20 May: there on 10 May, gone on 31 May."""
    to_visit(w, "2026-05-04", "2026-05-05", "2026-05-06")
    w.at("2026-05-20")
    w.app.cases.mark_in_error(w.ref, 3, w.actor("team_manager").email, "the visit was cancelled")
    w.at("2026-06-01")
    before = report(w, "funnel", journey=FC, as_of=D("2026-05-10"))
    after = report(w, "funnel", journey=FC, as_of=D("2026-05-31"))
    assert rows_by(before.table("steps_mainstream"), "step")["initial_visit"]["count"] == 1
    assert rows_by(after.table("steps_mainstream"), "step")["initial_visit"]["count"] == 0
    states_before = {r["state"]: r["open"] for r in report(w, "caseload", as_of=D("2026-05-10")).table("states").rows}
    states_after = {r["state"]: r["open"] for r in report(w, "caseload", as_of=D("2026-05-31")).table("states").rows}
    assert states_before == {"initial_visit": 1}
    assert states_after == {"initial_contact": 1}
    # Not yet recorded at all on 3 May.
    assert report(w, "caseload", as_of=D("2026-05-03")).data["total"] == 0


def test_connected_persons_have_their_own_funnel(w: Walker) -> None:
    """Three connected-person assessments in May 2026, beside one mainstream enquiry.

    A: viability from 4 May, temporary approval 5 May (assessment), application received 19 May,
       withdrew 1 Jun (AW3); B: viability from 6 May, not viable 10 May; C: viability from 7 May,
       full assessment without temporary approval 12 May (viability took 5 days), still open.
    """
    w.open("connected_person_approval", "2026-05-04")
    w.fire("grant_temporary_approval", "2026-05-05", "nominated_officer", reg24_approved_on="2026-05-05")
    w.fire("record_application", "2026-05-20", application_received_on="2026-05-19")
    w.withdraw("AW3", "2026-06-01")
    w.open("connected_person_approval", "2026-05-06")
    w.fire("decide_not_viable", "2026-05-10", "team_manager", viability_outcome_sent_on="2026-05-10")
    w.open("connected_person_approval", "2026-05-07")
    w.fire("start_full_assessment", "2026-05-12", "team_manager")
    w.open(FC, "2026-05-08")
    w.at("2026-06-30")
    r = report(w, "funnel")
    connected = rows_by(r.table("steps_connected_persons"), "step")
    assert {k: v["count"] for k, v in connected.items()} == {
        "enquiry": 3,
        "application": 1,
        "assessment": 2,
        "panel": 0,
        "approval": 0,
    }
    assert "initial_visit" not in connected  # connected persons have no initial visit
    assert rows_by(r.table("steps_mainstream"), "step")["enquiry"]["count"] == 1
    # The target is mainstream fostering's (1 enquiry, no application): 15% of 1 rounds up to 1, 1 short.
    assert (r.data["headline"], r.data["enquiries"], r.data["applications"]) == ("foster_carer_approval", 1, 0)
    assert (r.data["applications_needed_for_target"], r.data["applications_short_of_target"]) == (1, 1)
    reasons = {(row["workflow"], row["reason"]): row["in_period"] for row in r.table("dropouts_by_reason").rows}
    assert reasons == {("connected persons", "AW3"): 1, ("connected persons", "NOT_VIABLE"): 1}
    labels = {row["reason"]: row["label"] for row in r.table("dropouts_by_reason").rows}
    assert labels["NOT_VIABLE"] == "Viability assessment negative"
    durations = rows_by(r.table("durations"), "stage")
    # Viability (enquiry to assessment): A 1 day, C 5 days: median 3.
    assert durations["enquiry_to_assessment"]["median_days"] == 3
    only = report(w, "funnel", journey="connected_person_approval")
    assert [t.key for t in only.tables if t.key.startswith("steps_")] == ["steps_connected_persons"]
    assert only.data["enquiries"] == 3


# -- compliance --------------------------------------------------------------------------------------


def walk_first_visits(w: Walker) -> list[str]:
    """Four enquiries: FS1 (1 working day) and FS2 (5 working days) from the enquiry.

    X, Y, Z enquire on Mon 1 Jun 2026: FS1 due Tue 2 Jun, FS2 due Mon 8 Jun. X: information 2 Jun,
    visit 5 Jun (both on time). Y: information 3 Jun (a day late), visit 11 Jun (3 days late).
    Z: information 2 Jun, no visit. W enquires on Mon 29 Jun: FS1 due 30 Jun, FS2 due 6 Jul.
    """
    refs = []
    for info, visit in (("2026-06-02", "2026-06-05"), ("2026-06-03", "2026-06-11"), ("2026-06-02", None)):
        w.open(FC, "2026-06-01")
        w.fire("send_information", info)
        if visit:
            w.fire("hold_initial_visit", visit)
        refs.append(w.ref)
    w.open(FC, "2026-06-29")
    refs.append(w.ref)
    return refs


def test_compliance_counts_a_breach_later_met_as_breached_and_met_late(w: Walker) -> None:
    refs = walk_first_visits(w)
    w.ref = refs[1]
    assert (w.due("FS1"), w.due("FS2")) == ("2026-06-02", "2026-06-08")
    w.at("2026-06-30")
    r = report(w, "compliance", journey=FC)
    rules = {row["rule"]: row for row in r.table("rules").rows}
    fs2 = rules["FS2"]
    # Due in the period: X, Y, Z; on time X; late Y (8 -> 11 June: 3 days); breached Y and Z; Z still open.
    assert {k: fs2[k] for k in ("due", "met_on_time", "met_late", "breached", "open_past_due", "open_due_later")} == {
        "due": 3,
        "met_on_time": 1,
        "met_late": 1,
        "breached": 2,
        "open_past_due": 1,
        "open_due_later": 1,  # W's, due 6 July
    }
    assert fs2["not_met"] == 1  # Z: Y's breach was met late, so the chart's parts add up to the due
    chart = r.table("rules")
    assert sum(fs2[k] for k in chart.y) == fs2["due"]
    assert (fs2["late_days_median"], fs2["late_days_max"]) == (3, 3)
    assert fs2["rate_on_time"] == pytest.approx(1 / 3)
    assert (fs2["class"], fs2["source"]) == ("LOCAL", "local procedure")
    fs1 = rules["FS1"]
    # X and Z on time, Y a day late, W due today and not yet past due.
    assert [fs1[k] for k in ("due", "met_on_time", "met_late", "breached", "open_not_past_due")] == [4, 2, 1, 1, 1]
    team = r.table("teams").rows
    assert [(t["team"], t["due"], t["breached"]) for t in team] == [("Journeys", 7, 3)]
    # As of 10 June, Y's visit (11 June) had not happened: Y open past due. Z was entered on 11 June
    # (the walk reached that day with Y's visit first), so carepath did not know of it on the 10th.
    earlier = report(w, "compliance", journey=FC, as_of=D("2026-06-10"))
    fs2_then = {row["rule"]: row for row in earlier.table("rules").rows}["FS2"]
    assert [fs2_then[k] for k in ("due", "met_on_time", "met_late", "breached", "open_past_due")] == [2, 1, 0, 1, 1]


# -- the adoption scorecard -----------------------------------------------------------------------


def adopted(w: Walker, placed: str = "2026-10-05") -> None:
    """From match agreed: placed on ``placed``, ten weeks, application, adoption order on 15 Mar 2027."""
    w.walk(
        [
            step("place_for_adoption", placed, placed_on=placed, placement_plan_agreed_on="2026-09-28"),
            step("confirm_ten_weeks", "2026-12-14"),
            step("lodge_application", "2027-01-11", application_lodged_on="2027-01-11"),
            step("record_adoption_order", "2027-03-15", adoption_order_on="2027-03-15"),
        ]
    )


def walk_children(w: Walker) -> dict[str, str]:
    """Three adopted children, one waiting, one whose plan changed (see each test for the sums)."""
    refs = {}
    w.open(CH, "2026-01-05")  # 1: placement order 1 Jul, match 15 Sep, placed 5 Oct
    w.walk(REVIEWS + PLAN + CPR + COURT + MATCH)
    adopted(w)
    refs["standard"] = w.ref
    w.open(CH, "2025-12-01")  # 2: matched 15 Sep before the order, which is dated 20 Sep
    w.walk(REVIEWS + PLAN + CPR + COURT[:3])
    w.fire("grant_placement_order", "2026-07-01", authority_to_place_on="2026-09-20")
    w.walk(MATCH)
    adopted(w)
    refs["matched_first"] = w.ref
    w.open(CH, "2026-01-05")  # 3: placed with its foster-for-adoption carers on 22 Apr, who adopt
    w.walk(REVIEWS + PLAN + CPR[:1])
    carers = "external:VAA-TEST/PA-1"  # MATCH links the same adopters
    w.fire(
        "record_ffa_placement",
        "2026-04-22",
        ffa_placed_on="2026-04-22",
        ffa_carers_ref=carers,
        ffa_dual_approval_on="2026-04-21",
    )
    w.walk(CPR[1:] + COURT + MATCH)
    adopted(w)
    refs["foster_carers"] = w.ref
    w.open(CH, "2026-01-05")  # 4: waiting in family finding since 2 Jul
    w.walk(REVIEWS + PLAN + CPR + COURT)
    w.fire("start_family_finding", "2026-07-02")
    refs["waiting"] = w.ref
    w.open(CH, "2026-01-05")  # 5: plan changed away from adoption on 1 Jun (RD3)
    w.walk(REVIEWS + PLAN)
    w.fire("change_plan", "2026-06-01", plan_changed_on="2026-06-01", plan_change_reason="RD3")
    refs["changed"] = w.ref
    return refs


def test_scorecard_a1_a10_a2_per_child_and_averages(w: Walker) -> None:
    refs = walk_children(w)
    w.at("2027-04-30")
    r = report(w, "scorecard")
    # The three years to the last 31 March: 1 Apr 2024 to 31 Mar 2027.
    assert (r.period.start, r.period.end) == (D("2024-04-01"), D("2027-03-31"))
    children = {c["ref"]: c for c in r.data["children"]}
    assert set(children) == {refs["standard"], refs["matched_first"], refs["foster_carers"]}
    one, two, three = (children[refs[k]] for k in ("standard", "matched_first", "foster_carers"))
    # 1: entered care 5 Jan 2026, placed 5 Oct 2026: 273 days; order 1 Jul to match 15 Sep: 76 days.
    assert (one["a1_days"], one["a10_days"], one["a2_days"]) == (273, 273, 76)
    assert (one["entered_care_on"], one["placed_on"], one["authority_to_place_on"], one["matched_on"]) == (
        D("2026-01-05"),
        D("2026-10-05"),
        D("2026-07-01"),
        D("2026-09-15"),
    )
    # 2: entered care 1 Dec 2025: 308 days; matched 15 Sep before the order of 20 Sep: A2 is 0.
    assert (two["a1_days"], two["a10_days"], two["a2_days"]) == (308, 308, 0)
    # 3: adopted by the foster carers it was placed with on 22 Apr: A10 counts 5 Jan to 22 Apr, 107 days.
    assert (three["a1_days"], three["a10_days"], three["a2_days"]) == (273, 107, 76)
    assert three["ffa_placed_on"] == D("2026-04-22")
    averages = r.data["averages"]
    assert averages["a1_days"] == pytest.approx((273 + 308 + 273) / 3)
    assert averages["a10_days"] == pytest.approx((273 + 308 + 107) / 3)
    assert averages["a2_days"] == pytest.approx((76 + 0 + 76) / 3)
    assert r.data["thresholds"] == {"a1_days": 426, "a10_days": 426, "a2_days": 121}
    assert r.data["a3"] == {"children": 3, "under_14_months": 3, "rate": 1.0}
    assert r.data["waiting"]["children_waiting"] == 1
    assert r.data["plan_changes"] == [{"reason": "RD3", "children": 1}]
    # Over time: at each month's end, the children adopted in the 12 months to then (a line over 36 months).
    by_month = {row["month"]: row for row in r.table("by_month").rows}
    assert len(by_month) == 36
    assert r.table("by_month").chart == "line"
    orders = sorted(c["adoption_order_on"] for c in (one, two, three))
    first = orders[0].strftime("%b %Y")
    before = (orders[0].replace(day=1) - timedelta(days=1)).strftime("%b %Y")
    assert by_month[before]["children"] == 0
    assert by_month[before]["a1_days"] is None
    assert by_month[first]["children"] == sum(1 for o in orders if o.strftime("%b %Y") == first)
    assert by_month["Mar 2027"]["children"] == 3  # all three adopted within the year to 31 Mar 2027
    assert by_month["Mar 2027"]["a1_days"] == pytest.approx((273 + 308 + 273) / 3)
    assert by_month["Mar 2027"]["a2_days"] == pytest.approx((76 + 0 + 76) / 3)


# -- adopters ------------------------------------------------------------------------------------------


def test_adopters_steps_timeliness_fast_track_and_drop_outs(w: Walker) -> None:
    w.open(PA, "2026-01-05")  # Stage 1 from 12 Jan, Stage 2 from 1 Apr, approved 24 Jul (not within 6 months)
    w.walk(STAGE1 + STAGE2 + ADOPTER_PANEL)
    w.fire("approve", "2026-07-24", "agency_decision_maker")
    w.open(PA, "2026-04-10")  # registers interest 13 Apr, withdraws 20 Apr
    w.fire("receive_roi", "2026-04-13", roi_received_on="2026-04-13")
    w.withdraw("WITHDRAWN_BY_APPLICANT", "2026-04-20")
    w.open(PA, "2026-05-01")  # a previous adopter, fast-tracked to Stage 2 on 4 May
    w.fire(
        "fast_track",
        "2026-05-04",
        "team_manager",
        stage2_notification_received_on="2026-05-04",
        fast_track_basis="previous_adopter",
    )
    w.at("2026-11-30")
    r = report(w, "adopters")
    steps = {s["step"]: s["count"] for s in r.data["steps"]}
    assert (steps["enquiry"], steps["roi"], steps["stage1"], steps["stage2"], steps["approval"]) == (2, 1, 0, 2, 1)
    assert r.data["fast_track"] == {"in_period": 1, "cohort": 1}
    assert r.data["approved_within_6_months"]["mainstream"] == {
        "approved": 1,
        "with_stage1_start": 1,
        "within_6_months": 0,
    }
    durations = {d["stage"]: d for d in r.data["durations"]}
    # 1 Apr to 24 Jul: 114 days, within the 4 months of AAR 30B (24 Jul is before 1 Aug).
    assert (durations["stage2_to_approval"]["median_days"], durations["stage2_to_approval"]["within_timescale"]) == (
        114,
        1,
    )
    # Stage 1 from 12 Jan to approval 24 Jul: past the 6 months (12 Jul) of AS5.
    assert durations["stage1_to_approval"]["within_timescale"] == 0
    assert [(d["stage"], d["reason"], d["in_period"]) for d in r.data["dropouts"]] == [
        ("roi_received", "WITHDRAWN_BY_APPLICANT", 1)
    ]
    waiting = report(w, "scorecard", as_of=D("2026-11-30"))
    assert waiting.data["waiting"]["families_waiting"] == 1


# -- caseload and stages ----------------------------------------------------------------------------


def test_caseload_and_stages_as_of_a_day(w: Walker) -> None:
    to_visit(w, "2026-05-04", "2026-05-05", "2026-05-06")
    w.open(FC, "2026-05-11")
    w.open(FC, "2026-05-18")
    w.at("2026-05-20")
    r = w.app.reports.stages(w.actor("team_manager"), FC)
    rows = rows_by(r.table("stages"), "state")
    # Enquiries of 11 and 18 May, 9 and 2 days in on 20 May: median 5.5; the visit of 6 May: 14 days.
    assert (rows["enquiry"]["open"], rows["enquiry"]["median_days"]) == (2, 5.5)
    assert (rows["initial_visit"]["open"], rows["initial_visit"]["median_days"]) == (1, 14)
    assert rows["application"]["open"] == 0
    load = report(w, "caseload", team="Journeys")
    assert load.data["workers"] == [{"worker": "cw@carepath.test", "open": 3}]


# -- who may, and bad input -----------------------------------------------------------------------


def test_refusals_and_bad_input(w: Walker) -> None:
    w.app.people.add_user("tm2@carepath.test", "tm2", ["team_manager"], ADMIN)
    w.app.people.add_team("Other", ADMIN, manager="tm2@carepath.test", members=["tm2@carepath.test"])
    reports = w.app.reports
    with pytest.raises(NotPermitted, match=r"report\.read"):
        reports.report(w.actor("caseworker"), "funnel")
    with pytest.raises(NotPermitted, match=r"report\.read"):
        reports.report(w.actor("tm2@carepath.test"), "funnel", team="Journeys")
    w.open(FC, "2025-11-03")  # a case of the Journeys team: its manager counts it, the other team's does not
    assert reports.report(w.actor("tm2@carepath.test"), "caseload").data["total"] == 0
    assert reports.report(w.actor("team_manager"), "caseload").data["total"] == 1
    assert reports.report(w.actor("tm2@carepath.test"), "funnel").data["enquiries"] == 0
    sm = w.actor("service_manager")
    with pytest.raises(InvalidInput, match="unknown report"):
        reports.report(sm, "leakage")
    with pytest.raises(NotFound, match="team"):
        reports.report(sm, "funnel", team="Nobody")
    with pytest.raises(UnknownWorkflow):
        reports.report(sm, "caseload", journey="fostering")
    with pytest.raises(InvalidInput, match="covers"):
        reports.report(sm, "funnel", journey=PA)
    with pytest.raises(InvalidInput, match="before it starts"):
        reports.report(sm, "funnel", start=D("2025-06-01"), end=D("2025-05-01"))
    with pytest.raises(InvalidInput, match="future"):
        reports.report(sm, "funnel", as_of=D("2030-01-01"))


@pytest.mark.parametrize(
    ("start", "end", "within"),
    [
        ("2026-08-31", "2027-02-28", 1),  # 6 months from 31 Aug: 28 Feb, the month having no 31st
        ("2026-08-31", "2027-03-01", 0),
        ("2026-01-15", "2026-07-15", 1),
        ("2026-01-15", "2026-07-16", 0),
        ("2026-01-15", "2025-12-31", 1),  # before the start: within (never negative in practice)
    ],
)
def test_months_within_a_timescale_are_counted_alike_on_both_databases(
    db_url: str, start: str, end: str, within: int
) -> None:
    from sqlalchemy import Date, literal, select

    from carepath.engine.reports import Stretch
    from carepath.storage.db import make_engine
    from carepath.storage.queries.reports import ReportQueries, _within

    engine = make_engine(db_url)
    q = ReportQueries(engine)
    s = Stretch("j", "k", "K", "a", "b", limit_months=6)
    expr = _within(s, literal(D(start), Date), literal(D(end), Date), q.days_between)
    with engine.connect() as conn:
        assert conn.execute(select(expr)).scalar_one() == within
    engine.dispose()
