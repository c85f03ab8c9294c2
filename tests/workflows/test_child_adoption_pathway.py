"""The child's adoption pathway (CH): review cycle, plan, CPR and the should-be-placed decision
(court and consent routes), authority to place, matching, placement visits and reviews, the ten
weeks, the order and what follows; plan changes, disruption, early permanence and holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from carepath.engine.errors import GuardFailed, InvalidInput, NotPermitted
from tests.workflows.helpers import PANEL, Walker, step

J = "child_adoption_pathway"

REVIEWS = [
    step("record_first_cla_review", "2026-01-28", first_cla_review_on="2026-01-28"),
    step("start_permanence_planning", "2026-02-02"),
    step("record_cla_review", "2026-04-20", cla_review_on="2026-04-20"),
]
PLAN = [step("agree_adoption_plan", "2026-04-20", adoption_plan_agreed_on="2026-04-20", legal_route="court")]
CPR = [
    step("start_cpr", "2026-04-21"),
    step("record_health_report", "2026-04-28", child_health_report_on="2026-04-28"),
    step("record_parents_counselled", "2026-04-30", parents_counselled_on="2026-04-30"),
    step("complete_cpr", "2026-05-08", cpr_completed_on="2026-05-08"),
]
COURT = [
    step("send_cpr_to_adm", "2026-05-12", "team_manager", cpr_authorised_on="2026-05-12"),
    step("decide_should_be_placed", "2026-05-15", "agency_decision_maker"),
    step("apply_for_placement_order", "2026-05-20", placement_order_applied_on="2026-05-20"),
    step("grant_placement_order", "2026-07-01", authority_to_place_on="2026-07-01"),
]
MATCH = [
    step("start_family_finding", "2026-07-02"),
    step("record_link", "2026-08-03", linked_on="2026-08-03", adopter_case_ref="external:VAA-TEST/PA-1"),
    step("record_support_assessment", "2026-08-10", adoption_support_assessed_on="2026-08-10"),
    step("refer_match_to_panel", "2026-08-12", "team_manager", placement_report_authorised_on="2026-08-12"),
    step("book_match_panel", "2026-08-13", "panel_coordinator", panel_date="2026-09-09"),
    step("circulate_papers", "2026-09-01", "panel_coordinator", papers_circulated_on="2026-09-01"),
    step(
        "record_match_recommendation",
        "2026-09-09",
        "panel_coordinator",
        match_panel_held_on="2026-09-09",
        match_recommendation="match",
        match_panel_members=PANEL,
    ),
    step("record_match_final_minutes", "2026-09-11", "panel_coordinator", match_minutes_received_on="2026-09-11"),
    step("decide_match", "2026-09-15", "agency_decision_maker"),
]
PLACE = [step("place_for_adoption", "2026-10-05", placed_on="2026-10-05", placement_plan_agreed_on="2026-09-28")]
TO_MATCH_AGREED = REVIEWS + PLAN + CPR + COURT + MATCH


def looked_after(w: Walker, on: str = "2026-01-05") -> Walker:
    w.open(J, on)
    return w


def test_main_path_court_case_to_adoption(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS + PLAN)
    assert (w.state, w.deadline("CS4").status) == ("adoption_plan", "met")
    w.walk(CPR + COURT[:1])
    assert w.state == "awaiting_sbp_decision"  # court case: straight to the decision maker, no panel
    assert w.deadline("CS5").status == "met"
    w.walk(COURT[1:] + MATCH)
    assert w.state == "match_agreed"
    assert w.deadline("CS11").status == "met"
    w.walk(PLACE)
    assert w.state == "placed"
    assert w.deadline("CS3").status == "cancelled"  # looked-after reviews give way to AAR 36 reviews
    assert w.deadline("CS12").status == "met"
    w.walk(
        [
            step("record_placement_visit", "2026-10-09", placement_visit_on="2026-10-09"),
            step("record_first_placement_review", "2026-10-30", first_placement_review_on="2026-10-30"),
            step("confirm_ten_weeks", "2026-12-14"),
            step("lodge_application", "2027-01-11", application_lodged_on="2027-01-11"),
            step("record_placement_review", "2027-01-25", placement_review_on="2027-01-25"),
            step("record_adoption_order", "2027-03-15", adoption_order_on="2027-03-15"),
            step("hold_celebration_hearing", "2027-05-21", celebration_held_on="2027-05-21"),
        ]
    )
    assert w.deadline("CS18").status == "cancelled"
    # 10 working days from Fri 21 May 2027, over the spring bank holiday and the month end
    assert (w.due("CS22"), w.due("CS23")) == ("2027-06-07", "2027-06-07")
    with pytest.raises(GuardFailed, match="life_story_book_given_on"):
        w.fire("complete_pathway", "2027-05-25")
    w.fire("give_life_story_book", "2027-06-01", life_story_book_given_on="2027-06-01")
    w.fire("give_later_life_letter", "2027-06-07", later_life_letter_given_on="2027-06-07")
    case = w.fire("complete_pathway", "2027-06-07")
    assert (case.state, case.status, case.exit_reason) == ("adopted", "closed", "ADOPTED")


def test_consent_case_goes_through_the_adoption_panel(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS)
    w.fire("agree_adoption_plan", "2026-04-20", adoption_plan_agreed_on="2026-04-20", legal_route="consent")
    w.walk(CPR)
    with pytest.raises(GuardFailed, match="legal_route = court"):
        w.fire("send_cpr_to_adm", "2026-05-12", "team_manager", cpr_authorised_on="2026-05-12")
    w.fire("refer_cpr_to_panel", "2026-05-12", "team_manager", cpr_authorised_on="2026-05-12")
    assert w.state == "sbp_ready_for_panel"
    w.walk(
        [
            step("book_sbp_panel", "2026-05-13", "panel_coordinator", panel_date="2026-05-20"),
            step(
                "record_sbp_recommendation",
                "2026-05-20",
                "panel_coordinator",
                sbp_panel_held_on="2026-05-20",
                sbp_recommendation="should_be_placed",
                sbp_panel_members=PANEL,
            ),
            step("record_sbp_final_minutes", "2026-05-22", "panel_coordinator", sbp_minutes_received_on="2026-05-22"),
        ]
    )
    assert w.due("CS6") == "2026-06-03"  # over the spring bank holiday and the month end
    assert w.deadline("CS5").status == "met"  # the plan reached the decision maker within 8 weeks
    with pytest.raises(GuardFailed, match="sat on this case's panel"):
        w.fire("decide_should_be_placed", "2026-05-27", "adm2@carepath.test")
    w.fire("decide_should_be_placed", "2026-05-27", "agency_decision_maker")
    w.fire("record_consent", "2026-06-20", authority_to_place_on="2026-06-20")
    assert w.state == "authority_to_place"


def test_cpr_readiness_lists_what_is_missing(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS + PLAN + CPR[:2])
    assert w.actions("team_manager")["send_cpr_to_adm"].reasons == (
        "the child's permanence report is not ready; missing: parents_counselled_on, cpr_completed_on, "
        "cpr_authorised_on",
    )
    with pytest.raises(NotPermitted, match="needs role team_manager"):
        w.fire("send_cpr_to_adm", "2026-05-12", cpr_authorised_on="2026-05-12")


def test_match_decision_is_the_decision_makers_and_not_a_panel_members(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(TO_MATCH_AGREED[:-1])
    with pytest.raises(NotPermitted, match="agency_decision_maker"):
        w.fire("decide_match", "2026-09-15", "team_manager")
    with pytest.raises(GuardFailed, match="sat on this case's panel"):
        w.fire("decide_match", "2026-09-15", "adm2@carepath.test")


# -- exits ---------------------------------------------------------------------------------------------


def test_plan_changed_then_special_guardianship(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS + PLAN + CPR + COURT + MATCH[:1])
    with pytest.raises(InvalidInput, match=r"plan_change_reason'.*use one of RD1, RD2, RD3, RD4"):
        w.fire("change_plan", "2026-08-01", plan_changed_on="2026-08-01", plan_change_reason="RD9")
    w.fire("change_plan", "2026-08-01", plan_changed_on="2026-08-01", plan_change_reason="RD3")
    assert w.state == "plan_changed"
    assert w.deadline("CS8").status == "cancelled"
    case = w.fire("exit_to_other_permanence", "2026-10-01", permanence_outcome="special_guardianship")
    assert (case.state, case.exit_reason) == ("exit_other_permanence", "OTHER_PERMANENCE")


def test_court_refuses_the_placement_order(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS + PLAN + CPR + COURT[:3])
    with pytest.raises(GuardFailed, match="plan_change_reason = RD2"):
        w.fire("refuse_placement_order", "2026-07-01", plan_change_reason="RD1")
    w.fire("refuse_placement_order", "2026-07-01", plan_change_reason="RD2")
    w.fire("return_to_permanence_planning", "2026-07-02")
    assert w.state == "permanence_planning"


def test_decision_maker_decides_against_adoption(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS + PLAN + CPR + COURT[:1])
    w.fire("decide_not_to_place", "2026-05-15", "agency_decision_maker", plan_change_reason="RD1")
    assert w.state == "plan_changed"


def test_other_permanence_plan_at_the_second_review(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS)
    case = w.fire(
        "agree_other_permanence_plan",
        "2026-04-20",
        permanence_plan_agreed_on="2026-04-20",
        permanence_outcome="return_home",
    )
    assert case.exit_reason == "OTHER_PERMANENCE"
    assert w.deadline("CS4").status == "met"


def test_disruption_then_a_new_placement_has_its_own_first_review(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(TO_MATCH_AGREED + PLACE)
    w.fire("record_first_placement_review", "2026-10-30", first_placement_review_on="2026-10-30")
    w.fire("record_disruption", "2026-11-20", disrupted_on="2026-11-20")
    assert w.deadline("CS17").status == "cancelled"
    w.fire("record_cla_review", "2026-12-01", cla_review_on="2026-12-01")
    assert w.due("CS3") == "2027-06-01"  # looked-after reviews resume
    w.fire("resume_family_finding", "2026-12-02")
    w.walk([step("record_link", "2027-01-04", linked_on="2027-01-04", adopter_case_ref="external:VAA-TEST/PA-2")])
    assert (
        w.actions("team_manager")["refer_match_to_panel"]
        .reasons[0]
        .startswith("match not ready for panel; missing: adoption_support_assessed_on (recorded 2026-08-10")
    )
    w.walk(
        [
            step("record_support_assessment", "2027-01-05", adoption_support_assessed_on="2027-01-05"),
            step("refer_match_to_panel", "2027-01-06", "team_manager", placement_report_authorised_on="2027-01-06"),
            step("book_match_panel", "2027-01-06", "panel_coordinator", panel_date="2027-02-03"),
            step(
                "record_match_recommendation",
                "2027-02-03",
                "panel_coordinator",
                match_panel_held_on="2027-02-03",
                match_recommendation="match",
                match_panel_members=PANEL,
            ),
            step(
                "record_match_final_minutes", "2027-02-05", "panel_coordinator", match_minutes_received_on="2027-02-05"
            ),
            step("decide_match", "2027-02-08", "agency_decision_maker"),
            step("place_for_adoption", "2027-03-01", placed_on="2027-03-01", placement_plan_agreed_on="2027-02-22"),
        ]
    )
    assert w.due("CS16") == "2027-03-29"
    w.fire("record_first_placement_review", "2027-03-26", first_placement_review_on="2027-03-26")
    assert w.due("CS17") == "2027-06-26"


@pytest.mark.parametrize("reason", ["CEASED_LOOKED_AFTER", "TRANSFERRED"])
def test_closing_for_other_reasons(walker: Walker, reason: str) -> None:
    w = looked_after(walker)
    case = w.app.cases.withdraw(w.ref, w.actor("team_manager"), reason, trigger="close", on=w.at("2026-02-01"))
    assert (case.exit_reason, w.deadline("CS1").status) == (reason, "cancelled")


# -- early permanence -------------------------------------------------------------------------------------


def test_foster_for_adoption_is_a_recorded_option_with_its_dual_approval(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS + PLAN)
    w.fire("record_ffa_consideration", "2026-04-20", ffa_considered_on="2026-04-20", ffa_outcome="placed")
    with pytest.raises(GuardFailed, match="ffa_dual_approval_on"):
        w.fire(
            "record_ffa_placement", "2026-04-20", ffa_placed_on="2026-04-20", ffa_carers_ref="external:VAA-TEST/PA-7"
        )
    w.fire(
        "record_ffa_placement",
        "2026-04-20",
        ffa_placed_on="2026-04-20",
        ffa_carers_ref="external:VAA-TEST/PA-7",
        ffa_dual_approval_on="2026-04-17",
    )
    cs12 = w.deadline("CS12")
    assert (cs12.status, cs12.met_on.isoformat()) == ("met", "2026-04-20")  # scorecard A10 counts FfA move-in
    w.walk(CPR + COURT)
    assert w.state == "authority_to_place"


# -- holds ------------------------------------------------------------------------------------------------


def test_hold_pauses_local_targets_but_not_statutory_reviews(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS + PLAN)
    assert (w.due("CS5"), w.due("CS3")) == ("2026-06-15", "2026-10-20")
    w.hold("2026-04-22", "child in hospital")
    w.resume("2026-05-06")
    assert (w.due("CS5"), w.due("CS3")) == ("2026-06-29", "2026-10-20")


# -- timescales across bank holidays and month ends --------------------------------------------------------


def test_review_cycle_from_christmas_chained_from_actual_dates(walker: Walker) -> None:
    w = looked_after(walker, "2025-12-01")
    assert w.due("CS1") == "2025-12-31"  # 20 working days over Christmas
    w.fire("record_first_cla_review", "2025-12-31", first_cla_review_on="2025-12-31")
    assert w.due("CS2") == "2026-03-31"
    assert w.due("CS4") == "2026-03-31"  # permanence plan by the second review
    w.fire("record_cla_review", "2026-03-31", cla_review_on="2026-03-31")
    assert w.due("CS3") == "2026-09-30"  # six months from 31 March
    w.fire("record_cla_review", "2026-09-15", cla_review_on="2026-09-15")
    assert w.due("CS3") == "2027-03-15"  # from the actual review, not the due date


def test_plan_targets_across_month_ends(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS[:2])
    w.fire("agree_adoption_plan", "2026-05-29", adoption_plan_agreed_on="2026-05-29", legal_route="court")
    assert w.due("CS5") == "2026-07-24"
    assert w.due("CS5a") == "2026-06-18"


def test_should_be_placed_follow_ups_over_the_august_bank_holiday(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS + PLAN + CPR)
    w.fire("send_cpr_to_adm", "2026-08-20", "team_manager", cpr_authorised_on="2026-08-20")
    w.fire("decide_should_be_placed", "2026-08-27", "agency_decision_maker")
    assert w.due("CS7o") == "2026-09-01"  # Thu 27 Aug: Fri 28, (Mon 31 is a bank holiday), Tue 1 Sep
    assert w.due("CS7w") == "2026-09-04"
    assert w.due("CS8") == "2026-11-27"
    assert w.due("CS9") == "2027-02-27"


def test_match_timescales(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(REVIEWS + PLAN + CPR + COURT)
    assert w.due("CS11") == "2026-10-30"  # 121 days
    assert w.due("CS12") == "2027-03-07"  # 426 days from becoming looked after
    w.walk(MATCH[:4])
    w.fire("book_match_panel", "2026-08-13", "panel_coordinator", panel_date="2026-09-02")
    assert w.due("PAPERS") == "2026-08-25"  # back over the August bank holiday
    w.fire(
        "record_match_recommendation",
        "2026-12-16",
        "panel_coordinator",
        match_panel_held_on="2026-12-16",
        match_recommendation="match",
        match_panel_members=PANEL,
    )
    w.fire("record_match_final_minutes", "2026-12-23", "panel_coordinator", match_minutes_received_on="2026-12-23")
    assert w.due("CS13") == "2027-01-06"


def test_placement_visits_and_reviews(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(TO_MATCH_AGREED)
    w.fire("place_for_adoption", "2026-12-21", placed_on="2026-12-21", placement_plan_agreed_on="2026-12-14")
    assert w.due("CS14") == "2026-12-28"  # a week: calendar days, the Boxing Day substitute is not skipped
    assert w.due("CS16") == "2027-01-18"
    w.fire("record_placement_visit", "2026-12-24", placement_visit_on="2026-12-24")
    assert w.due("CS14") == "2026-12-31"
    w.fire("record_first_placement_review", "2027-01-15", first_placement_review_on="2027-01-15")
    # Visits now as decided at the review; the weekly visit missed since 31 December stays breached.
    cs14 = w.deadline("CS14")
    assert (cs14.status, cs14.met_on, cs14.breached_on) == ("breached", None, date(2027, 1, 1))
    assert w.due("CS17") == "2027-04-15"
    w.fire("record_placement_review", "2027-04-14", placement_review_on="2027-04-14")
    assert w.due("CS18") == "2027-10-14"


def test_ten_weeks_before_the_application(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(TO_MATCH_AGREED)
    w.fire("place_for_adoption", "2026-10-30", placed_on="2026-10-30", placement_plan_agreed_on="2026-10-23")
    assert w.due("CS20") == "2027-01-08"
    with pytest.raises(GuardFailed, match="allowed from 2027-01-08"):
        w.fire("confirm_ten_weeks", "2027-01-07")
    assert w.fire("confirm_ten_weeks", "2027-01-08").state == "eligible_to_apply"


def test_ten_weeks_pass_and_carepath_records_eligibility_itself(walker: Walker) -> None:
    """CS20 fires confirm_ten_weeks (ACA 2002 s.42(2)): at the end of the due day the sweep moves the
    case as carepath itself, effective on the due date, once; the rule is met on time."""
    w = looked_after(walker)
    w.walk(TO_MATCH_AGREED)
    w.fire("place_for_adoption", "2026-10-30", placed_on="2026-10-30", placement_plan_agreed_on="2026-10-23")
    app = w.app
    w.clock.set(datetime(2027, 1, 8, 23, 59, tzinfo=UTC))
    assert app.timers.sweep(app.system).moved == 0  # the due day is not over
    w.clock.set(datetime(2027, 1, 9, 0, 0, tzinfo=UTC))  # midnight in London (GMT)
    assert app.timers.sweep(app.system).moved == 1
    assert w.state == "eligible_to_apply"
    moved = w.history()[-1]
    assert (moved.trigger, moved.effective_on, moved.payload["rule"]) == ("confirm_ten_weeks", date(2027, 1, 8), "CS20")
    assert moved.actor_id == app.system.id
    cs20 = w.deadline("CS20")
    assert (cs20.status, cs20.met_on, cs20.breached_on) == ("met", date(2027, 1, 8), None)
    assert app.timers.sweep(app.system).moved == 0


def test_ten_weeks_are_not_confirmed_after_a_disruption(walker: Walker) -> None:
    w = looked_after(walker)
    w.walk(TO_MATCH_AGREED)
    w.fire("place_for_adoption", "2026-10-30", placed_on="2026-10-30", placement_plan_agreed_on="2026-10-23")
    w.fire("record_disruption", "2026-12-01", "team_manager", disrupted_on="2026-12-01")
    w.clock.set(datetime(2027, 1, 9, 0, 0, tzinfo=UTC))
    assert w.app.timers.sweep(w.app.system).moved == 0
    assert w.state == "disrupted"
    assert w.deadline("CS20").status == "cancelled"


def test_visits_and_review_missed_stay_breached_after_the_adoption_order(walker: Walker) -> None:
    """Issue 10's reproduction: CS14 and CS16 missed, then the order is made; the breaches stay."""
    w = looked_after(walker)
    w.walk(TO_MATCH_AGREED)
    w.fire("place_for_adoption", "2026-10-30", placed_on="2026-10-30", placement_plan_agreed_on="2026-10-23")
    cs14, cs16 = w.due("CS14"), w.due("CS16")
    w.walk(
        [
            step("confirm_ten_weeks", "2027-01-08"),
            step("lodge_application", "2027-01-11", application_lodged_on="2027-01-11"),
            step("record_adoption_order", "2027-03-15", adoption_order_on="2027-03-15"),
        ]
    )
    for rule, due in (("CS14", cs14), ("CS16", cs16)):
        d = w.deadline(rule)
        assert (d.status, d.met_on, d.breached_on) == ("breached", None, date.fromisoformat(due) + timedelta(days=1))
