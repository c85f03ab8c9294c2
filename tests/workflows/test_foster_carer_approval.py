"""Mainstream foster carer approval (FC): main path, exits, holds, roles, panel readiness and
each timescale's due date where it crosses a bank holiday or a month end."""

from __future__ import annotations

import re

import pytest

from carepath.engine.errors import GuardFailed, InvalidInput, NotPermitted
from tests.workflows.helpers import ADMIN, PANEL, Step, Walker, panel_steps, shift, step

J = "foster_carer_approval"

#: Enquiry on Fri 2 Jan 2026 to an authorised full report on 15 May 2026.
TO_ASSESSMENT = [
    step("send_information", "2026-01-05"),
    step("hold_initial_visit", "2026-01-08"),
    step("accept_application", "2026-01-12", "team_manager", application_received_on="2026-01-12"),
    step("start_assessment", "2026-01-13", "team_manager"),
]
CHECKS = [
    step("record_dbs_checks", "2026-02-02", dbs_checks_on="2026-02-02"),
    step("record_la_checks", "2026-02-03", la_checks_on="2026-02-03"),
    step("record_medical", "2026-02-10", medical_on="2026-02-10"),
    step("record_referee_interviews", "2026-03-02", referees_interviewed_on="2026-03-02"),
    step("record_training", "2026-03-20", training_completed_on="2026-03-20"),
]
REPORT = [
    step("complete_report", "2026-05-01", report_completed_on="2026-05-01", report_type="full"),
    step("share_report", "2026-05-05", report_shared_on="2026-05-05"),
    step("authorise_report", "2026-05-15", "team_manager", report_authorised_on="2026-05-15"),
]
READY = TO_ASSESSMENT + CHECKS + REPORT
PANEL_JUNE = panel_steps(booked="2026-05-18", papers="2026-06-01", held="2026-06-10", minutes="2026-06-15")


def opened(w: Walker, on: str = "2026-01-02") -> Walker:
    w.open(J, on)
    return w


def refuse(w: Walker, minutes: str, proposed: str) -> None:
    """From ready for panel: a panel recommending refusal, minutes, then the ADM's proposal."""
    w.walk(
        panel_steps(
            booked="2026-05-18", papers="2026-06-01", held="2026-06-10", minutes=minutes, recommendation="not_suitable"
        )
    )
    w.fire("propose_not_to_approve", proposed, "agency_decision_maker")


# -- main path --------------------------------------------------------------------------------------


def test_main_path_from_enquiry_to_approval(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY)
    assert w.state == "ready_for_panel"
    w.walk(PANEL_JUNE)
    assert w.state == "awaiting_adm"
    case = w.fire("approve", "2026-06-19", "agency_decision_maker", approval_terms="2 children aged 0-10")
    assert (case.state, case.status, case.exit_reason) == ("approved", "closed", "APPROVED")
    assert w.deadline("FS3").status == "met"
    assert w.deadline("FS3").met_on.isoformat() == "2026-06-10"
    assert w.deadline("FS5").status == "met"
    assert [d.status for d in w.deadlines("FS4")] == ["met"]


def test_stage_at_exit_is_recorded_for_decision_exits(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT)
    w.fire("decide_not_suitable_stage1", "2026-02-20", "team_manager", stage1_notice_sent_on="2026-02-20")
    case = w.case
    assert (case.state, case.status, case.exit_reason) == ("not_suitable_stage1", "closed", "NOT_SUITABLE_STAGE1")
    last = w.history()[-1]
    assert last.payload["stage"] == "assessment"


# -- exits --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "steps", "stage"),
    [
        ("AW0", [], "enquiry"),
        ("AW1", TO_ASSESSMENT[:1], "initial_contact"),
        ("AW2", TO_ASSESSMENT, "assessment"),
        ("AW3", TO_ASSESSMENT[:3], "application"),
        ("AW4", READY, "ready_for_panel"),
        ("AW5", TO_ASSESSMENT[:2], "initial_visit"),
    ],
)
def test_withdrawal_by_applicant_with_each_ofsted_reason(
    walker: Walker, reason: str, steps: list[Step], stage: str
) -> None:
    w = opened(walker)
    w.walk(steps)
    case = w.withdraw(reason, "2026-05-20")
    assert (case.state, case.exit_reason) == ("closed", reason)
    assert w.history()[-1].payload["stage"] == stage
    assert all(d.status != "open" for d in w.all_deadlines())


def test_unknown_withdrawal_reason_is_refused(walker: Walker) -> None:
    w = opened(walker)
    with pytest.raises(InvalidInput, match="AW0, AW1"):
        w.withdraw("BORED", "2026-01-03")


def test_counselled_out_needs_the_applicants_agreement_and_a_team_manager(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT)
    with pytest.raises(NotPermitted, match="needs role team_manager"):
        w.fire("counsel_out", "2026-02-01", applicant_agreed_on="2026-02-01")
    with pytest.raises(GuardFailed, match=r"missing fact\(s\) applicant_agreed_on$"):
        w.fire("counsel_out", "2026-02-01", "team_manager")
    case = w.fire("counsel_out", "2026-02-01", "team_manager", applicant_agreed_on="2026-02-01")
    assert (case.state, case.exit_reason) == ("counselled_out", "COUNSELLED_OUT")


def test_counselling_out_is_not_offered_once_the_case_is_at_panel(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY)
    assert "counsel_out" not in w.actions("team_manager")


def test_not_approved_after_the_qd_window_passes_without_response(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY)
    refuse(w, minutes="2026-06-15", proposed="2026-06-17")
    w.fire("send_qd_letter", "2026-06-18", qd_sent_on="2026-06-18")
    # 28 days after 18 June is 16 July: the window is still open that day.
    with pytest.raises(GuardFailed, match="allowed from 2026-07-17"):
        w.fire("confirm_not_approved", "2026-07-16", "agency_decision_maker")
    case = w.fire("confirm_not_approved", "2026-07-17", "agency_decision_maker")
    assert (case.state, case.exit_reason) == ("not_approved", "NOT_APPROVED")


def test_representations_go_back_to_panel_then_a_final_refusal(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY)
    refuse(w, minutes="2026-06-15", proposed="2026-06-17")
    with pytest.raises(GuardFailed, match="qd_sent_on"):
        w.fire("make_representations", "2026-06-18", representations_received_on="2026-06-18")
    w.fire("send_qd_letter", "2026-06-18", qd_sent_on="2026-06-18")
    w.fire("make_representations", "2026-07-01", representations_received_on="2026-07-01")
    assert w.deadline("FS7").status == "met"
    w.fire(
        "record_review_minutes",
        "2026-07-20",
        "panel_coordinator",
        review_panel_held_on="2026-07-15",
        review_panel_members="chair@carepath.test, sw@carepath.test",
        minutes_received_on="2026-07-20",
    )
    assert w.due("FS5") == "2026-07-29"
    case = w.fire("refuse_after_review", "2026-07-24", "agency_decision_maker")
    assert (case.state, case.exit_reason) == ("not_approved_after_review", "NOT_APPROVED_AFTER_REVIEW")


def test_irm_route_then_approval_after_review(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY)
    refuse(w, minutes="2026-06-15", proposed="2026-06-17")
    w.fire("send_qd_letter", "2026-06-18", qd_sent_on="2026-06-18")
    w.fire("apply_to_irm", "2026-07-06", "irm_liaison_officer", irm_notified_on="2026-07-06")
    assert w.state == "irm_review"
    w.fire("send_irm_papers", "2026-07-15", "irm_liaison_officer", irm_papers_sent_on="2026-07-15")
    assert w.deadline("FS8").status == "met"
    w.fire(
        "record_irm_recommendation", "2026-10-01", "irm_liaison_officer", irm_recommendation_received_on="2026-10-01"
    )
    case = w.fire("approve_after_review", "2026-10-05", "agency_decision_maker", approval_terms="1 child")
    assert (case.state, case.exit_reason) == ("approved", "APPROVED")
    assert w.deadline("FS9").status == "met"


def test_brief_report_panel_asks_for_a_full_report(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT)
    w.fire("complete_report", "2026-03-02", report_completed_on="2026-03-02", report_type="brief")
    w.fire("share_report", "2026-03-03", report_shared_on="2026-03-03")
    # A brief report needs no Stage 1 checks or training to go to panel.
    w.fire("authorise_report", "2026-03-04", "team_manager", report_authorised_on="2026-03-04")
    w.walk(
        panel_steps(
            booked="2026-03-05",
            papers="2026-03-16",
            held="2026-03-25",
            minutes="2026-03-30",
            recommendation="full_report",
        )[:3]
    )
    with pytest.raises(GuardFailed, match="recommendation = suitable or not_suitable"):
        w.fire("record_final_minutes", "2026-03-30", "panel_coordinator", minutes_received_on="2026-03-30")
    w.fire("request_full_report", "2026-03-30", "panel_coordinator")
    assert w.state == "assessment"
    w.fire("complete_report", "2026-04-20", report_completed_on="2026-04-20", report_type="full")
    # The brief report's sharing and authorisation are older than the new report.
    blocked = w.actions("team_manager")["authorise_report"]
    assert not blocked.ready
    assert "report_shared_on (recorded 2026-03-03, before report_completed_on 2026-04-20)" in blocked.reasons[0]
    assert "dbs_checks_on" in blocked.reasons[0]
    assert "training_completed_on" in blocked.reasons[0]


# -- panel readiness and roles -------------------------------------------------------------------------


def test_actions_say_which_items_are_missing_before_panel(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT + CHECKS[:2])
    w.fire("complete_report", "2026-05-01", report_completed_on="2026-05-01", report_type="full")
    action = w.actions("team_manager")["authorise_report"]
    assert not action.ready
    assert action.reasons == (
        "not ready for panel; missing: medical_on, referees_interviewed_on, training_completed_on, "
        "report_shared_on, report_authorised_on",
    )
    with pytest.raises(GuardFailed, match="missing: medical_on, referees_interviewed_on"):
        w.fire("authorise_report", "2026-05-02", "team_manager", report_authorised_on="2026-05-02")


def test_previous_provider_reference_is_required_only_when_it_applies(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT[:2])
    w.fire(
        "accept_application",
        "2026-01-12",
        "team_manager",
        application_received_on="2026-01-12",
        previously_approved_elsewhere="yes",
    )
    w.walk(TO_ASSESSMENT[3:] + CHECKS + REPORT[:2])
    action = w.actions("team_manager")["authorise_report"]
    assert action.reasons == ("not ready for panel; missing: previous_fsp_reference_on, report_authorised_on",)


def test_roles_are_enforced_with_a_clear_refusal(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT + CHECKS + REPORT[:2])
    refusal = f"cw@carepath.test may not authorise_report on {w.ref}: needs role team_manager"
    with pytest.raises(NotPermitted, match=f"^{re.escape(refusal)}$"):
        w.fire("authorise_report", "2026-05-15", "caseworker", report_authorised_on="2026-05-15")
    w.fire("authorise_report", "2026-05-15", "team_manager", report_authorised_on="2026-05-15")
    with pytest.raises(NotPermitted, match="needs role panel_coordinator"):
        w.fire("book_panel", "2026-05-18", "team_manager", panel_date="2026-06-10")
    w.walk(PANEL_JUNE)
    with pytest.raises(NotPermitted, match="needs role agency_decision_maker"):
        w.fire("approve", "2026-06-19", "team_manager", approval_terms="1 child")


def test_a_caseworker_acts_on_own_and_team_cases_only(walker: Walker) -> None:
    w = opened(walker)
    w.app.people.add_user("cw2@carepath.test", "cw2", ["caseworker"], ADMIN)  # in no team
    outside = "cw2@carepath.test may not case.fire: the case is neither theirs nor in one of their teams"
    with pytest.raises(NotPermitted, match=f"^{re.escape(outside)}$"):
        w.fire("send_information", "2026-01-05", "cw2@carepath.test")
    with pytest.raises(NotPermitted, match="the system user acts only for the scheduler"):
        w.app.cases.fire(w.ref, "send_information", w.app.system, on=w.at("2026-01-05"))
    w.fire("send_information", "2026-01-05", "team_manager")  # the team's case, not the manager's own
    assert w.state == "initial_contact"


def test_a_decision_maker_who_sat_on_the_panel_cannot_decide(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY + PANEL_JUNE)
    assert "adm2@carepath.test" in PANEL
    with pytest.raises(GuardFailed, match="sat on this case's panel"):
        w.fire("approve", "2026-06-19", "adm2@carepath.test", approval_terms="1 child")
    assert not w.actions("adm2@carepath.test")["approve"].ready
    assert w.actions("agency_decision_maker")["approve"].ready


# -- holds --------------------------------------------------------------------------------------------


def test_hold_pauses_the_eight_month_clock_but_keeps_the_raw_due_date(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT)
    assert w.due("FS3") == "2026-09-12"
    w.hold("2026-02-02", "applicant bereavement")
    assert w.deadline("FS3").status == "paused"
    with pytest.raises(Exception, match="on hold; resume it first"):
        w.fire("record_medical", "2026-02-10", medical_on="2026-02-10")
    w.resume("2026-03-02")
    fs3 = w.deadline("FS3")
    assert (fs3.status, fs3.raw_due_on.isoformat(), fs3.due_on.isoformat()) == ("open", "2026-09-12", "2026-10-10")
    assert w.state == "assessment"


def test_the_decision_makers_clock_does_not_pause_on_hold(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY + PANEL_JUNE)
    w.hold("2026-06-16", "applicant in hospital")
    assert w.deadline("FS5").status == "open"
    w.resume("2026-06-30")
    assert w.due("FS5") == "2026-06-24"


# -- timescales across bank holidays and month ends ---------------------------------------------------


def test_first_response_and_initial_visit_over_christmas(walker: Walker) -> None:
    w = opened(walker, "2025-12-24")
    assert w.due("FS1") == "2025-12-29"  # 25, 26 Dec and the weekend skipped
    assert w.due("FS2") == "2026-01-05"  # ... and New Year's Day
    w.fire("send_information", "2025-12-29")
    assert w.deadline("FS1").status == "met"


def test_eight_months_from_31_october_ends_on_30_june(walker: Walker) -> None:
    w = opened(walker, "2025-10-20")
    w.walk(shift(TO_ASSESSMENT[:3], -73))
    assert w.case.facts["application_received_on"] == "2025-10-31"
    assert w.due("FS3") == "2026-06-30"


def test_report_to_panel_six_weeks_across_a_month_end(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT + CHECKS)
    w.fire("complete_report", "2026-03-31", report_completed_on="2026-03-31", report_type="full")
    assert w.due("FS3a") == "2026-05-12"


def test_papers_five_working_days_before_a_panel_after_the_august_bank_holiday(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY)
    w.fire("book_panel", "2026-06-01", "panel_coordinator", panel_date="2026-09-04")
    assert w.due("FS4") == "2026-08-27"  # 31 Aug is a bank holiday; counted back over the month end


def test_papers_before_an_easter_panel(walker: Walker) -> None:
    w = opened(walker, "2025-10-01")
    w.walk(shift(TO_ASSESSMENT + CHECKS, -92))
    w.fire("complete_report", "2026-03-02", report_completed_on="2026-03-02", report_type="full")
    w.fire("share_report", "2026-03-03", report_shared_on="2026-03-03")
    w.fire("authorise_report", "2026-03-04", "team_manager", report_authorised_on="2026-03-04")
    w.fire("book_panel", "2026-03-05", "panel_coordinator", panel_date="2026-04-08")
    assert w.due("FS4") == "2026-03-30"  # Good Friday and Easter Monday skipped (Fostering NMS 14, counted back)


def test_refusal_timescales_across_month_ends_and_christmas(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY)
    w.walk(
        panel_steps(
            booked="2026-05-18",
            papers="2026-11-09",
            held="2026-11-18",
            minutes="2026-11-20",
            recommendation="not_suitable",
        )
    )
    assert w.due("FS5") == "2026-12-01"  # 7 working days after Fri 20 Nov, over the month end
    w.fire("propose_not_to_approve", "2026-11-27", "agency_decision_maker")
    assert w.due("FS6o") == "2026-12-01"
    assert w.due("FS6w") == "2026-12-04"
    w.fire("record_applicant_told", "2026-11-30", applicant_told_on="2026-11-30")
    w.fire("send_qd_letter", "2026-12-01", qd_sent_on="2026-12-01")
    assert (w.deadline("FS6o").status, w.deadline("FS6w").status) == ("met", "met")
    assert w.due("FS7") == "2026-12-29"  # calendar days: the Christmas holidays are not skipped
    w.fire("apply_to_irm", "2026-12-18", "irm_liaison_officer", irm_notified_on="2026-12-18")
    assert w.due("FS8") == "2027-01-06"  # 25 and 28 Dec, 1 Jan skipped
    assert w.due("FS9") == "2027-04-18"


def test_decision_makers_seven_days_run_from_the_final_minutes_not_the_panel(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY)
    w.walk(panel_steps(booked="2026-05-18", papers="2026-12-07", held="2026-12-16", minutes="2026-12-23"))
    assert w.due("FS5") == "2027-01-06"  # from Wed 23 Dec: 24, 29, 30, 31 Dec, 4, 5, 6 Jan
