"""Connected person approval (CP): reg 24 temporary approval, its one extension, visits to the
child, expiry ending the placement, and the shared assessment and panel path."""

from __future__ import annotations

from datetime import date

import pytest

from carepath.engine.errors import GuardFailed, NotPermitted
from tests.workflows.helpers import Walker, panel_steps, shift, step

J = "connected_person_approval"
#: Temporary approval on Mon 12 Jan 2026: 16 weeks end on Mon 4 May 2026 (a bank holiday).
APPROVED_ON = "2026-01-12"
TEMPORARY = [step("grant_temporary_approval", APPROVED_ON, "nominated_officer", reg24_approved_on=APPROVED_ON)]
ASSESSMENT = [
    step("record_application", "2026-01-14", application_received_on="2026-01-14"),
    step("record_dbs_checks", "2026-01-20", dbs_checks_on="2026-01-20"),
    step("record_la_checks", "2026-01-21", la_checks_on="2026-01-21"),
    step("record_medical", "2026-02-02", medical_on="2026-02-02"),
    step("record_referee_interviews", "2026-02-16", referees_interviewed_on="2026-02-16"),
    step("complete_report", "2026-03-16", report_completed_on="2026-03-16", report_type="full"),
    step("share_report", "2026-03-17", report_shared_on="2026-03-17"),
    step("authorise_report", "2026-03-20", "team_manager", report_authorised_on="2026-03-20"),
]
EXTEND = {"reg24_panel_views_on": "2026-04-15", "iro_informed_on": "2026-04-15"}


def temporary(w: Walker) -> Walker:
    w.open(J, "2026-01-05")
    w.walk(TEMPORARY)
    return w


def test_main_path_temporary_approval_then_full_approval(walker: Walker) -> None:
    w = temporary(walker)
    assert w.state == "assessment"
    w.walk(ASSESSMENT)
    assert w.state == "ready_for_panel"
    w.walk(panel_steps(booked="2026-03-23", papers="2026-04-01", held="2026-04-09", minutes="2026-04-14"))
    case = w.fire("approve", "2026-04-16", "agency_decision_maker", approval_terms="the named child")
    assert (case.state, case.exit_reason) == ("approved", "APPROVED")
    reg24 = w.deadline("REG24")
    assert (reg24.status, reg24.met_on.isoformat()) == ("met", "2026-04-16")


def test_temporary_approval_is_the_nominated_officers(walker: Walker) -> None:
    w = walker
    w.open(J, "2026-01-05")
    with pytest.raises(NotPermitted, match="needs role nominated_officer"):
        w.fire("grant_temporary_approval", APPROVED_ON, "team_manager", reg24_approved_on=APPROVED_ON)


def test_sixteen_weeks_end_on_a_bank_holiday_and_are_not_rolled(walker: Walker) -> None:
    w = temporary(walker)
    assert w.due("REG24") == "2026-05-04"  # default convention: the day the approval has expired


def test_connected_person_readiness_does_not_need_preparation_training(walker: Walker) -> None:
    w = temporary(walker)
    w.walk(ASSESSMENT[:-1])
    assert w.actions("team_manager")["authorise_report"].reasons == (
        "not ready for panel; missing: report_authorised_on",
    )


def test_one_extension_of_up_to_eight_weeks(walker: Walker) -> None:
    w = temporary(walker)
    w.walk(ASSESSMENT[:1])
    with pytest.raises(NotPermitted, match="needs role nominated_officer"):
        w.fire("extend_temporary_approval", "2026-04-20", "team_manager", reg24_extended_to="2026-06-28", **EXTEND)
    with pytest.raises(GuardFailed, match="at most 8 weeks: the latest last day is 2026-06-28"):
        w.fire("extend_temporary_approval", "2026-04-20", "nominated_officer", reg24_extended_to="2026-06-29", **EXTEND)
    w.fire("extend_temporary_approval", "2026-04-20", "nominated_officer", reg24_extended_to="2026-06-28", **EXTEND)
    assert w.deadline("REG24").status == "cancelled"
    assert w.due("REG24X") == "2026-06-29"  # the first day no longer covered, over the month end
    with pytest.raises(GuardFailed, match="already been extended once"):
        w.fire("extend_temporary_approval", "2026-05-01", "nominated_officer", reg24_extended_to="2026-06-20", **EXTEND)


def test_extension_needs_the_panels_views_and_the_iro_informed(walker: Walker) -> None:
    w = temporary(walker)
    with pytest.raises(GuardFailed, match="reg24_panel_views_on, iro_informed_on"):
        w.fire("extend_temporary_approval", "2026-04-20", "nominated_officer", reg24_extended_to="2026-06-01")


def test_no_extension_once_the_approval_has_ended(walker: Walker) -> None:
    w = temporary(walker)
    with pytest.raises(GuardFailed, match="ended on 2026-05-03 and can no longer be extended"):
        w.fire("extend_temporary_approval", "2026-05-04", "nominated_officer", reg24_extended_to="2026-06-01", **EXTEND)


def test_expiry_ends_the_placement(walker: Walker) -> None:
    w = temporary(walker)
    w.walk(ASSESSMENT[:3])
    with pytest.raises(GuardFailed, match="still covers the placement until 2026-05-03"):
        w.fire("end_placement_on_expiry", "2026-05-03", "team_manager", placement_ended_on="2026-05-03")
    case = w.fire("end_placement_on_expiry", "2026-05-04", "team_manager", placement_ended_on="2026-05-04")
    assert (case.state, case.status, case.exit_reason) == ("reg24_expired", "closed", "REG24_EXPIRED")


def test_expiry_after_an_extension_waits_for_the_extended_date(walker: Walker) -> None:
    w = temporary(walker)
    w.fire("extend_temporary_approval", "2026-04-20", "nominated_officer", reg24_extended_to="2026-05-31", **EXTEND)
    with pytest.raises(GuardFailed, match="until 2026-05-31"):
        w.fire("end_placement_on_expiry", "2026-05-04", "team_manager", placement_ended_on="2026-05-04")
    assert w.fire("end_placement_on_expiry", "2026-06-01", "team_manager", placement_ended_on="2026-06-01").state == (
        "reg24_expired"
    )


def test_extension_until_the_irm_outcome(walker: Walker) -> None:
    w = temporary(walker)
    w.walk(ASSESSMENT)
    w.walk(
        panel_steps(
            booked="2026-03-23",
            papers="2026-04-01",
            held="2026-04-09",
            minutes="2026-04-14",
            recommendation="not_suitable",
        )
    )
    w.fire("propose_not_to_approve", "2026-04-16", "agency_decision_maker")
    w.fire("send_qd_letter", "2026-04-16", qd_sent_on="2026-04-16")
    w.fire("apply_to_irm", "2026-04-24", "irm_liaison_officer", irm_notified_on="2026-04-24")
    with pytest.raises(GuardFailed, match="ended on 2026-05-03"):
        w.fire(
            "extend_pending_review", "2026-05-04", "nominated_officer", reg24_review_extension_on="2026-05-04", **EXTEND
        )
    w.fire("extend_pending_review", "2026-04-28", "nominated_officer", reg24_review_extension_on="2026-04-28", **EXTEND)
    assert w.deadline("REG24").status == "cancelled"
    with pytest.raises(GuardFailed, match="until the outcome of the IRM review"):
        w.fire("end_placement_on_expiry", "2026-05-20", "team_manager", placement_ended_on="2026-05-20")


def test_child_visited_weekly_then_four_weekly_after_the_first_review(walker: Walker) -> None:
    w = temporary(walker)
    assert w.due("FS20a") == "2026-01-19"
    w.fire("record_child_visit", "2026-01-16", child_visited_on="2026-01-16")
    assert w.due("FS20a") == "2026-01-23"  # from the actual visit
    w.fire("record_child_visit", "2026-01-23", child_visited_on="2026-01-23")
    w.fire("record_child_visit", "2026-01-29", child_visited_on="2026-01-29")
    assert w.due("FS20a") == "2026-02-05"  # across the month end
    w.fire("record_first_cla_review", "2026-02-06", first_cla_review_on="2026-02-06")
    w.walk(shift(ASSESSMENT[1:5], 20))
    fs20a = w.deadline("FS20a")  # no visit in the week after 29 January: missed before the review
    assert (fs20a.status, fs20a.breached_on) == ("breached", date(2026, 2, 6))
    assert w.due("FS20b") == "2026-03-06"
    w.walk(ASSESSMENT[5:])  # visits can be recorded at panel too
    w.fire("record_child_visit", "2026-03-23", child_visited_on="2026-03-23")
    assert w.deadline("FS20b").cycle == 2
    assert w.due("FS20b") == "2026-04-20"


def test_no_visits_without_a_temporary_approval(walker: Walker) -> None:
    w = walker
    w.open(J, "2026-01-05")
    w.fire("start_full_assessment", "2026-01-06", "team_manager")
    assert w.deadlines("REG24") == []
    assert w.deadlines("FS20a") == []
    assert w.actions()["record_child_visit"].reasons == ("fact 'reg24_approved_on' has not been recorded",)


# -- exits and holds ----------------------------------------------------------------------------------


def test_viability_negative(walker: Walker) -> None:
    w = walker
    w.open(J, "2026-01-05")
    case = w.fire("decide_not_viable", "2026-01-09", "team_manager", viability_outcome_sent_on="2026-01-09")
    assert (case.state, case.exit_reason) == ("not_viable", "NOT_VIABLE")


def test_withdrawal_records_the_stage(walker: Walker) -> None:
    w = temporary(walker)
    w.walk(ASSESSMENT)
    case = w.withdraw("AW3", "2026-03-25")
    assert case.exit_reason == "AW3"
    assert w.history()[-1].payload["stage"] == "ready_for_panel"
    assert w.deadline("REG24").status == "cancelled"


def test_counselled_out(walker: Walker) -> None:
    w = temporary(walker)
    case = w.fire("counsel_out", "2026-02-01", "team_manager", applicant_agreed_on="2026-02-01")
    assert case.exit_reason == "COUNSELLED_OUT"


def test_a_hold_never_stops_the_statutory_reg24_clock(walker: Walker) -> None:
    w = temporary(walker)
    w.walk(ASSESSMENT[:1])
    w.hold("2026-02-02", "carer in hospital")
    w.resume("2026-03-02")
    assert w.due("REG24") == "2026-05-04"
    fs3 = w.deadline("FS3")
    assert (fs3.raw_due_on.isoformat(), fs3.due_on.isoformat()) == ("2026-09-14", "2026-10-12")


# -- the assessment and decision timescales, across bank holidays and month ends ------------------------


def refused(w: Walker) -> None:
    """From ready for panel: a panel recommending refusal over Easter, then the proposal."""
    w.fire("book_panel", "2026-03-23", "panel_coordinator", panel_date="2026-04-08")
    assert w.due("FS4") == "2026-03-30"  # back over Good Friday and Easter Monday
    w.walk(
        [
            step("circulate_papers", "2026-03-27", "panel_coordinator", papers_circulated_on="2026-03-27"),
            step(
                "record_recommendation",
                "2026-04-08",
                "panel_coordinator",
                panel_held_on="2026-04-08",
                recommendation="not_suitable",
                panel_members="chair@carepath.test",
            ),
            step("record_final_minutes", "2026-04-29", "panel_coordinator", minutes_received_on="2026-04-29"),
        ]
    )
    assert w.due("FS5") == "2026-05-11"  # over the month end and the early May bank holiday
    w.fire("propose_not_to_approve", "2026-04-30", "agency_decision_maker")
    assert (w.due("FS6o"), w.due("FS6w")) == ("2026-05-05", "2026-05-08")


def test_refusal_timescales_then_not_approved_after_the_window(walker: Walker) -> None:
    w = temporary(walker)
    w.walk(ASSESSMENT[:1])
    assert w.due("FS3") == "2026-09-14"
    w.walk(ASSESSMENT[1:6])
    assert w.due("FS3a") == "2026-04-27"  # 6 weeks from 16 March, over the month end
    w.walk(ASSESSMENT[6:])
    refused(w)
    w.fire("send_qd_letter", "2026-04-30", qd_sent_on="2026-04-30")
    assert w.due("FS7") == "2026-05-28"  # calendar days over the May bank holidays
    case = w.fire("confirm_not_approved", "2026-05-29", "agency_decision_maker")
    assert (case.state, case.exit_reason) == ("not_approved", "NOT_APPROVED")


def test_irm_timescales_then_not_approved_after_review(walker: Walker) -> None:
    w = temporary(walker)
    w.walk(ASSESSMENT)
    w.fire(
        "extend_temporary_approval",
        "2026-03-20",
        "nominated_officer",
        reg24_extended_to="2026-06-28",
        reg24_panel_views_on="2026-03-18",
        iro_informed_on="2026-03-18",
    )
    refused(w)
    w.fire("send_qd_letter", "2026-05-01", qd_sent_on="2026-05-01")
    w.fire("apply_to_irm", "2026-05-22", "irm_liaison_officer", irm_notified_on="2026-05-22")
    assert w.due("FS8") == "2026-06-08"  # over the spring bank holiday and the month end
    assert w.due("FS9") == "2026-09-22"
    w.fire("extend_pending_review", "2026-05-26", "nominated_officer", reg24_review_extension_on="2026-05-26", **EXTEND)
    w.fire(
        "record_irm_recommendation", "2026-09-01", "irm_liaison_officer", irm_recommendation_received_on="2026-09-01"
    )
    case = w.fire("refuse_after_review", "2026-09-04", "agency_decision_maker")
    assert (case.state, case.exit_reason) == ("not_approved_after_review", "NOT_APPROVED_AFTER_REVIEW")
