"""Prospective adopter approval (PA): two stages and the break between them, the 4-month
decision clock with lawful delays only, fast track, panel and decision maker, the 40-working-day
QD window, yearly reviews while no child is placed, and every exit."""

from __future__ import annotations

import pytest

from carepath.engine.errors import GuardFailed, InvalidInput, NotPermitted
from tests.workflows.helpers import Walker, panel_steps, shift, step

J = "prospective_adopter_approval"

STAGE1 = [
    step("receive_roi", "2026-01-06", roi_received_on="2026-01-06"),
    step("accept_roi", "2026-01-12", "team_manager", roi_accepted_on="2026-01-12"),
    step("record_stage1_plan", "2026-01-14", stage1_plan_agreed_on="2026-01-14"),
    step("record_dbs_checks", "2026-01-30", dbs_checks_on="2026-01-30"),
    step("record_la_checks", "2026-02-02", la_checks_on="2026-02-02"),
    step("record_medical", "2026-02-10", medical_on="2026-02-10"),
    step("record_referee_interviews", "2026-02-20", referees_interviewed_on="2026-02-20"),
    step("record_training", "2026-02-27", training_completed_on="2026-02-27"),
    step("complete_stage1", "2026-03-02"),
    step("decide_may_be_suitable", "2026-03-06", "team_manager", stage1_decision_notified_on="2026-03-06"),
]
STAGE2 = [
    step("notify_proceed", "2026-04-01", stage2_notification_received_on="2026-04-01"),
    step("complete_report", "2026-06-15", report_completed_on="2026-06-15", report_type="full"),
    step("share_report", "2026-06-16", report_shared_on="2026-06-16"),
    step("record_applicant_comments", "2026-06-22", applicant_comments_on="2026-06-22"),
    step("authorise_report", "2026-06-24", "team_manager", report_authorised_on="2026-06-24"),
]
PANEL = panel_steps(booked="2026-06-25", papers="2026-07-07", held="2026-07-15", minutes="2026-07-20")
TO_ADM = STAGE1 + STAGE2 + PANEL


def opened(w: Walker, on: str = "2026-01-05") -> Walker:
    w.open(J, on)
    return w


def refused(w: Walker, sent: str = "2026-07-24") -> None:
    w.walk(STAGE1 + STAGE2)
    w.walk(
        panel_steps(
            booked="2026-06-25",
            papers="2026-07-07",
            held="2026-07-15",
            minutes="2026-07-20",
            recommendation="not_suitable",
        )
    )
    w.fire("propose_not_to_approve", "2026-07-23", "agency_decision_maker")
    w.fire("send_qd_letter", sent, qd_sent_on=sent)


# -- main path -------------------------------------------------------------------------------------------


def test_main_path_to_approval_reviews_and_adoption(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1)
    assert w.state == "between_stages"
    assert w.deadline("AS2").status == "met"
    w.walk(STAGE2 + PANEL)
    assert w.state == "awaiting_adm"
    w.fire("approve", "2026-07-24", "agency_decision_maker")
    assert (w.state, w.case.status) == ("approved", "open")
    assert w.deadline("AS4").status == "met"
    assert w.deadline("AS5").status == "met"
    assert w.due("AS11") == "2027-07-24"
    w.fire("send_decision_letter", "2026-07-27", decision_letter_sent_on="2026-07-27")
    w.fire("record_register_referral", "2026-08-03", register_referral_on="2026-08-03")
    w.fire("start_approval_review", "2027-06-01", review_started_on="2027-06-01")
    w.fire("continue_approval", "2027-06-10", "agency_decision_maker")
    assert w.due("AS11") == "2028-06-10"  # from the actual review
    w.fire("record_match", "2027-09-01", matched_on="2027-09-01", child_case_ref="external:LA-TEST/CH-1")
    w.fire("record_placement", "2027-09-20", child_placed_on="2027-09-20")
    assert w.deadline("AS11").status == "cancelled"  # no review while a child is placed
    case = w.fire("record_adoption_order", "2028-03-01", adoption_order_on="2028-03-01")
    assert (case.state, case.exit_reason) == ("adopted", "ADOPTED")


def test_fast_track_goes_straight_to_stage2(walker: Walker) -> None:
    w = opened(walker)
    with pytest.raises(InvalidInput, match="fact 'fast_track_basis': use one of foster_carer, previous_adopter"):
        w.fire(
            "fast_track",
            "2026-01-06",
            "team_manager",
            stage2_notification_received_on="2026-01-06",
            fast_track_basis="keen",
        )
    w.fire(
        "fast_track",
        "2026-01-06",
        "team_manager",
        stage2_notification_received_on="2026-01-06",
        fast_track_basis="foster_carer",
    )
    assert w.state == "stage2"
    assert w.due("AS4") == "2026-05-06"
    w.walk(STAGE2[1:4])
    assert w.actions("team_manager")["authorise_report"].reasons == (
        "not ready for panel; missing: checks_confirmed_on, report_authorised_on",
    )


def test_stage1_decision_needs_every_stage1_item(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1[:5])
    with pytest.raises(
        GuardFailed,
        match="Stage 1 is not complete; missing: medical_on, referees_interviewed_on, training_completed_on",
    ):
        w.fire("complete_stage1", "2026-02-05")


def test_roles(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1[:1])
    with pytest.raises(NotPermitted, match="needs role team_manager"):
        w.fire("accept_roi", "2026-01-12", roi_accepted_on="2026-01-12")
    w.walk(STAGE1[1:] + STAGE2 + PANEL)
    with pytest.raises(GuardFailed, match="sat on this case's panel"):
        w.fire("approve", "2026-07-24", "adm2@carepath.test")


# -- exits ----------------------------------------------------------------------------------------------


def test_registration_declined(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1[:1])
    case = w.fire("decline_roi", "2026-01-09", "team_manager", roi_decision_sent_on="2026-01-09")
    assert (case.state, case.exit_reason) == ("roi_declined", "ROI_NOT_ACCEPTED")


def test_not_suitable_at_stage1(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1[:-1])
    case = w.fire("decide_not_suitable_stage1", "2026-03-06", "team_manager", stage1_decision_notified_on="2026-03-06")
    assert (case.state, case.exit_reason) == ("not_suitable_stage1", "NOT_SUITABLE_STAGE1")
    assert w.deadlines("AS3") == []  # no six-month clock after a "not suitable" decision


def test_stage2_lapses_after_six_months_without_notification(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1)
    assert w.due("AS3") == "2026-09-06"
    with pytest.raises(GuardFailed, match="allowed from 2026-09-07"):
        w.fire("lapse_stage2", "2026-09-06")
    with pytest.raises(GuardFailed, match="too late: allowed until 2026-09-06"):
        w.fire("notify_proceed", "2026-09-07", stage2_notification_received_on="2026-09-07")
    case = w.fire("lapse_stage2", "2026-09-07")
    assert (case.state, case.exit_reason) == ("stage2_lapsed", "STAGE2_NOT_STARTED_LAPSED")


@pytest.mark.parametrize(("steps", "stage"), [(STAGE1[:3], "stage1"), (STAGE1 + STAGE2[:2], "par_ready")])
def test_withdrawal_records_the_stage(walker: Walker, steps: list, stage: str) -> None:
    w = opened(walker)
    w.walk(steps)
    case = w.withdraw("WITHDRAWN_BY_APPLICANT", "2026-06-30")
    assert case.exit_reason == "WITHDRAWN_BY_APPLICANT"
    assert w.history()[-1].payload["stage"] == stage


def test_counselled_out_during_stage2(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1 + STAGE2[:1])
    case = w.fire("counsel_out", "2026-05-01", "team_manager", applicant_agreed_on="2026-05-01")
    assert case.exit_reason == "COUNSELLED_OUT"


def test_qd_takes_effect_after_40_working_days(walker: Walker) -> None:
    w = opened(walker)
    refused(w, sent="2026-07-24")
    assert w.due("AS10") == "2026-09-18"  # 40 working days beginning with Fri 24 Jul, over the August holiday
    with pytest.raises(GuardFailed, match="allowed from 2026-09-19"):
        w.fire("confirm_not_approved", "2026-09-18", "team_manager")
    case = w.fire("confirm_not_approved", "2026-09-21", "team_manager")
    assert (case.state, case.exit_reason) == ("not_approved", "NOT_APPROVED")


def test_representations_and_a_final_refusal(walker: Walker) -> None:
    w = opened(walker)
    refused(w)
    w.fire("make_representations", "2026-08-20", representations_received_on="2026-08-20")
    w.fire(
        "record_review_minutes",
        "2026-09-16",
        "panel_coordinator",
        review_panel_held_on="2026-09-09",
        review_panel_members="chair@carepath.test",
        minutes_received_on="2026-09-16",
    )
    case = w.fire("refuse_after_review", "2026-09-18", "agency_decision_maker")
    assert (case.state, case.exit_reason) == ("not_approved_after_review", "NOT_APPROVED_AFTER_REVIEW")


def test_irm_then_approval_after_review(walker: Walker) -> None:
    w = opened(walker)
    refused(w)
    w.fire("apply_to_irm", "2026-08-20", "irm_liaison_officer", irm_notified_on="2026-08-20")
    w.fire(
        "record_irm_recommendation", "2026-11-20", "irm_liaison_officer", irm_recommendation_received_on="2026-11-20"
    )
    w.fire("approve_after_review", "2026-11-25", "agency_decision_maker")
    assert w.state == "approved"
    assert w.due("AS11") == "2027-11-25"


def test_irm_is_not_available_when_the_qd_rests_on_reg26b_information(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1 + STAGE2)
    w.walk(
        panel_steps(
            booked="2026-06-25",
            papers="2026-07-07",
            held="2026-07-15",
            minutes="2026-07-20",
            recommendation="not_suitable",
        )
    )
    w.fire("propose_not_to_approve", "2026-07-23", "agency_decision_maker", qd_on_reg26b_information="yes")
    w.fire("send_qd_letter", "2026-07-24", qd_sent_on="2026-07-24")
    assert not w.actions()["apply_to_irm"].ready
    with pytest.raises(GuardFailed, match=r"AAR 30B\(5A\)"):
        w.fire("apply_to_irm", "2026-08-20", irm_notified_on="2026-08-20")


def test_approval_terminated_after_a_review(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ADM)
    w.fire("approve", "2026-07-24", "agency_decision_maker")
    w.fire("start_approval_review", "2027-06-01", review_started_on="2027-06-01")
    w.fire("propose_termination", "2027-06-10", "agency_decision_maker")
    w.fire("send_termination_letter", "2027-06-11", qd_sent_on="2027-06-11")
    assert w.due("AS10") == "2027-08-05"
    case = w.fire("terminate_approval", "2027-08-09", "agency_decision_maker")
    assert (case.state, case.exit_reason) == ("approval_terminated", "APPROVAL_TERMINATED")


def test_disruption_returns_to_approved_and_restarts_reviews(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ADM)
    w.fire("approve", "2026-07-24", "agency_decision_maker")
    w.fire("record_match", "2026-09-01", matched_on="2026-09-01", child_case_ref="external:LA-TEST/CH-1")
    w.fire("record_placement", "2026-09-20", child_placed_on="2026-09-20")
    w.fire("record_disruption", "2026-12-01", disrupted_on="2026-12-01")
    assert (w.state, w.due("AS11")) == ("approved", "2027-12-01")


def test_foster_for_adoption_dual_approval_is_recorded(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ADM)
    w.fire("approve", "2026-07-24", "agency_decision_maker")
    with pytest.raises(NotPermitted, match="nominated_officer"):
        w.fire("record_ffa_approval", "2026-08-03", ffa_approved_on="2026-08-03", ffa_child_ref="external:LA-TEST/CH-2")
    w.fire(
        "record_ffa_approval",
        "2026-08-03",
        "nominated_officer",
        ffa_approved_on="2026-08-03",
        ffa_child_ref="external:LA-TEST/CH-2",
    )
    assert w.case.facts["ffa_child_ref"] == "external:LA-TEST/CH-2"


# -- holds: only the delays AAR 30B(2) allows pause the 4-month clock -------------------------------------


def test_stage2_hold_needs_a_lawful_reason_and_pauses_the_four_month_clock(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1 + STAGE2[:1])
    assert w.due("AS4") == "2026-08-01"
    with pytest.raises(InvalidInput, match=r"APPLICANT_REQUEST .* EXCEPTIONAL_CIRCUMSTANCES"):
        w.hold("2026-05-01", "summer holiday")
    w.hold("2026-05-01", "APPLICANT_REQUEST: moving house")
    assert w.deadline("AS4").status == "paused"
    w.resume("2026-06-01")
    as4 = w.deadline("AS4")
    assert (as4.raw_due_on.isoformat(), as4.due_on.isoformat()) == ("2026-08-01", "2026-09-01")


def test_stage1_holds_take_any_reason(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1[:3])
    assert w.hold("2026-01-20", "family illness").state == "on_hold"


# -- timescales across bank holidays and month ends ---------------------------------------------------------


def test_registration_decision_over_christmas(walker: Walker) -> None:
    w = opened(walker, "2026-12-21")
    w.fire("receive_roi", "2026-12-22", roi_received_on="2026-12-22")
    assert w.due("AS1") == "2026-12-31"


def test_stage1_two_months_from_31_december(walker: Walker) -> None:
    w = opened(walker, "2025-12-29")
    w.fire("receive_roi", "2025-12-30", roi_received_on="2025-12-30")
    w.fire("accept_roi", "2025-12-31", "team_manager", roi_accepted_on="2025-12-31")
    assert w.due("AS2") == "2026-02-28"
    assert w.due("AS5") == "2026-06-30"


def test_break_between_stages_six_months_to_a_month_end(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1[:-1])
    w.fire("decide_may_be_suitable", "2026-08-31", "team_manager", stage1_decision_notified_on="2026-08-31")
    assert w.due("AS3") == "2027-02-28"


def test_four_months_from_31_october(walker: Walker) -> None:
    w = opened(walker, "2025-06-01")
    w.walk(shift(STAGE1, -155))
    w.fire("notify_proceed", "2025-10-31", stage2_notification_received_on="2025-10-31")
    assert w.due("AS4") == "2026-02-28"  # calendar month, clamped to 28 Feb (Interpretation Act 1978 Sch. 1)


def test_par_comments_and_papers_over_easter(walker: Walker) -> None:
    w = opened(walker, "2025-08-01")
    w.walk(shift(STAGE1 + STAGE2[:2], -130))
    w.fire("share_report", "2026-04-02", report_shared_on="2026-04-02")
    assert w.due("AS6") == "2026-04-13"
    w.fire("authorise_report", "2026-04-02", "team_manager", report_authorised_on="2026-04-02")
    w.fire("book_panel", "2026-04-02", "panel_coordinator", panel_date="2026-04-08")
    assert w.due("AS7") == "2026-03-30"


def test_decision_maker_and_notice_to_applicant_over_christmas(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1 + STAGE2)
    w.walk(panel_steps(booked="2026-06-25", papers="2026-12-09", held="2026-12-16", minutes="2026-12-23"))
    assert w.due("AS8") == "2027-01-06"
    w.fire("approve", "2026-12-24", "agency_decision_maker")
    assert (w.due("AS9o"), w.due("AS9w")) == ("2026-12-30", "2027-01-05")


def test_qd_window_domain_example(walker: Walker) -> None:
    w = opened(walker, "2025-08-01")
    w.walk(shift(STAGE1 + STAGE2, -130))
    w.walk(
        panel_steps(
            booked="2026-03-02",
            papers="2026-04-01",
            held="2026-04-15",
            minutes="2026-04-20",
            recommendation="not_suitable",
        )
    )
    w.fire("propose_not_to_approve", "2026-04-28", "agency_decision_maker")
    w.fire("send_qd_letter", "2026-05-01", qd_sent_on="2026-05-01")
    assert w.due("AS10") == "2026-06-29"  # AAR 30B(5)(c): beginning with Fri 1 May, over two bank holidays


def test_register_referral_and_match_three_months_to_february(walker: Walker) -> None:
    w = opened(walker)
    w.walk(STAGE1 + STAGE2)
    w.walk(panel_steps(booked="2026-06-25", papers="2026-11-16", held="2026-11-25", minutes="2026-11-27"))
    w.fire("approve", "2026-11-30", "agency_decision_maker")
    assert (w.due("AS12"), w.due("AS13")) == ("2027-02-28", "2027-02-28")
