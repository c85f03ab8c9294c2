"""Approved foster carer (AF): reviews (first to panel, later on the local cycle), visits, TSD,
changes of terms, termination through a QD, resignation, and their due dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from carepath.engine.errors import GuardFailed, NotPermitted
from carepath.engine.registry import WorkflowRegistry
from tests.workflows.helpers import PANEL, Walker, step

J = "approved_foster_carer"
#: Approved on Fri 22 Aug 2025, the Friday before... the summer bank holiday is Mon 25 Aug.
APPROVED = "2025-08-22"


def approved(w: Walker, kind: str = "mainstream", on: str = "2025-08-29") -> Walker:
    w.open(J, APPROVED)
    w.fire(f"register_{kind}_carer", on, agreement_signed_on=on)
    return w


def review_to_panel(w: Walker, start: str, held: str, minutes: str, recommendation: str = "continue") -> None:
    w.walk(
        [
            step("start_review", start, review_started_on=start),
            step("record_carer_views", start, carer_views_on=start),
            step("authorise_review_report", start, "team_manager", review_report_authorised_on=start),
            step("refer_review_to_panel", start, "team_manager"),
            step("book_panel", start, "panel_coordinator", panel_date=held),
            step("circulate_papers", start, "panel_coordinator", papers_circulated_on=start),
            step(
                "record_recommendation",
                held,
                "panel_coordinator",
                panel_held_on=held,
                recommendation=recommendation,
                panel_members=PANEL,
            ),
            step("record_final_minutes", minutes, "panel_coordinator", minutes_received_on=minutes),
        ]
    )


def review_without_panel(w: Walker, start: str) -> None:
    w.walk(
        [
            step("start_review", start, review_started_on=start),
            step("record_carer_views", start, carer_views_on=start),
            step("authorise_review_report", start, "team_manager", review_report_authorised_on=start),
        ]
    )


# -- reviews ------------------------------------------------------------------------------------------


def test_reviews_first_to_panel_then_on_the_local_cycle(walker: Walker) -> None:
    w = approved(walker)
    assert w.due("FS10") == "2026-08-22"
    review_without_panel(w, "2026-06-01")
    with pytest.raises(GuardFailed, match=r"first review .* must go to the fostering panel \(FSR 28\(5\)\)"):
        w.fire("confirm_approval_without_panel", "2026-06-02", "agency_decision_maker")
    w.fire("refer_review_to_panel", "2026-06-02", "team_manager")
    assert w.state == "review_ready_for_panel"
    w.walk(
        [
            step("book_panel", "2026-06-03", "panel_coordinator", panel_date="2026-07-08"),
            step("circulate_papers", "2026-06-30", "panel_coordinator", papers_circulated_on="2026-06-30"),
            step(
                "record_recommendation",
                "2026-07-08",
                "panel_coordinator",
                panel_held_on="2026-07-08",
                recommendation="continue",
                panel_members=PANEL,
            ),
            step("record_final_minutes", "2026-07-10", "panel_coordinator", minutes_received_on="2026-07-10"),
        ]
    )
    assert w.due("FS5") == "2026-07-21"
    w.fire("confirm_approval", "2026-07-14", "agency_decision_maker")
    assert w.state == "approved"
    assert [d.status for d in w.deadlines("FS10")] == ["met", "open"]
    assert w.due("FS10") == "2027-07-14"  # 12 months from the actual decision
    assert w.due("FS13") == "2028-07-08"  # the local panel cycle, from the panel date
    # Second review: within 24 months of the last panel review, so no panel needed.
    review_without_panel(w, "2027-06-01")
    w.fire("confirm_approval_without_panel", "2027-06-20", "agency_decision_maker")
    assert w.due("FS10") == "2028-06-20"
    # Third review decided after the cycle has run out: it must go to panel.
    review_without_panel(w, "2028-06-15")
    with pytest.raises(GuardFailed, match="last panel review was on 2026-07-08 and the local cycle is every 24 months"):
        w.fire("confirm_approval_without_panel", "2028-07-08", "agency_decision_maker")


def test_the_guard_and_the_panel_cycle_rule_agree(journeys: WorkflowRegistry) -> None:
    d = journeys.latest(J).definition
    guards = {g for t in d.transitions for g in t.guards if g.startswith("review_may_skip_panel:")}
    (cycle,) = (r.limit for r in d.deadlines if r.name == "FS13")
    assert guards == {f"review_may_skip_panel:{cycle}"}


def test_review_report_must_be_this_rounds(walker: Walker) -> None:
    w = approved(walker)
    review_to_panel(w, "2026-06-01", held="2026-07-08", minutes="2026-07-10")
    w.fire("confirm_approval", "2026-07-14", "agency_decision_maker")
    w.fire("start_review", "2027-05-03", review_started_on="2027-05-03")
    assert w.actions("agency_decision_maker")["confirm_approval_without_panel"].reasons == (
        "review not ready for panel; missing: carer_views_on (recorded 2026-06-01, before review_started_on "
        "2027-05-03), review_report_authorised_on (recorded 2026-06-01, before review_started_on 2027-05-03)",
    )


def test_decision_maker_on_the_review_panel_cannot_decide(walker: Walker) -> None:
    w = approved(walker)
    review_to_panel(w, "2026-06-01", held="2026-07-08", minutes="2026-07-10")
    with pytest.raises(GuardFailed, match="sat on this case's panel"):
        w.fire("confirm_approval", "2026-07-14", "adm2@carepath.test")


def test_terms_varied_on_review_and_between_reviews(walker: Walker) -> None:
    w = approved(walker)
    with pytest.raises(NotPermitted, match="needs role agency_decision_maker"):
        w.fire("vary_terms", "2025-10-01", "team_manager", approval_terms="3 children", carer_agreed_on="2025-09-30")
    w.fire(
        "vary_terms", "2025-10-01", "agency_decision_maker", approval_terms="3 children", carer_agreed_on="2025-09-30"
    )
    assert w.case.facts["approval_terms"] == "3 children"
    review_to_panel(w, "2026-06-01", held="2026-07-08", minutes="2026-07-10", recommendation="vary_terms")
    w.fire(
        "vary_terms_on_review",
        "2026-07-13",
        "agency_decision_maker",
        approval_terms="2 children",
        carer_agreed_on="2026-07-13",
    )
    assert (w.state, w.case.facts["approval_terms"]) == ("approved", "2 children")
    assert w.deadline("FS10").cycle == 2


# -- termination and resignation ------------------------------------------------------------------------


def test_termination_through_a_qualifying_determination(walker: Walker) -> None:
    w = approved(walker)
    review_to_panel(w, "2026-06-01", held="2026-07-08", minutes="2026-07-10", recommendation="terminate")
    w.fire("propose_termination", "2026-07-15", "agency_decision_maker", qd_proposal="terminate")
    assert w.state == "qd_issued"
    # No supervisory visits clock while termination is proposed; the visit already overdue stays missed.
    fs17 = w.deadline("FS17")
    assert (fs17.status, fs17.breached_on) == ("breached", fs17.due_on + timedelta(days=1))
    w.fire("send_qd_letter", "2026-07-16", qd_sent_on="2026-07-16")
    assert w.due("FS7") == "2026-08-13"
    with pytest.raises(GuardFailed, match="allowed from 2026-08-14"):
        w.fire("terminate_after_window", "2026-08-13", "agency_decision_maker")
    case = w.fire("terminate_after_window", "2026-08-14", "agency_decision_maker")
    assert (case.state, case.status, case.exit_reason) == ("deregistered", "closed", "DEREGISTERED")


def test_representations_then_approval_continues_and_visits_restart(walker: Walker) -> None:
    w = approved(walker)
    review_without_panel(w, "2026-03-02")
    w.fire("refer_review_to_panel", "2026-03-02", "team_manager")
    w.walk(
        [
            step("book_panel", "2026-03-03", "panel_coordinator", panel_date="2026-03-25"),
            step(
                "record_recommendation",
                "2026-03-25",
                "panel_coordinator",
                panel_held_on="2026-03-25",
                recommendation="terminate",
                panel_members=PANEL,
            ),
            step("record_final_minutes", "2026-03-27", "panel_coordinator", minutes_received_on="2026-03-27"),
            step("propose_termination", "2026-03-31", "agency_decision_maker", qd_proposal="terminate"),
            step("send_qd_letter", "2026-03-31", qd_sent_on="2026-03-31"),
            step("make_representations", "2026-04-10", representations_received_on="2026-04-10"),
            step(
                "record_review_minutes",
                "2026-05-06",
                "panel_coordinator",
                review_panel_held_on="2026-04-29",
                review_panel_members="chair@carepath.test, adm@carepath.test",
                minutes_received_on="2026-05-06",
            ),
        ]
    )
    with pytest.raises(GuardFailed, match="sat on this case's panel"):
        w.fire("continue_approval", "2026-05-08", "agency_decision_maker")
    w.fire("continue_approval", "2026-05-08", "adm2@carepath.test")
    assert w.state == "approved"
    assert w.deadline("FS17").start_on.isoformat() == "2026-05-08"
    assert w.due("FS17") == "2026-06-08"


def test_resignation_ends_approval_28_days_after_notice(walker: Walker) -> None:
    w = approved(walker)
    w.fire("receive_resignation", "2026-12-04", resignation_received_on="2026-12-04")
    assert w.due("FS14") == "2027-01-01"  # calendar days: New Year's Day is not rolled
    fs16 = w.deadline("FS16")  # the yearly unannounced visit was overdue: a breach on the record
    assert (fs16.status, fs16.met_on, fs16.breached_on) == ("breached", None, fs16.due_on + timedelta(days=1))
    with pytest.raises(GuardFailed, match="allowed from 2027-01-01"):
        w.fire("end_approval_on_resignation", "2026-12-31")
    case = w.fire("end_approval_on_resignation", "2027-01-01")
    assert (case.state, case.exit_reason) == ("resigned", "RESIGNED")
    assert w.deadline("FS14").status == "met"


def test_resignation_ends_approval_by_itself_when_nobody_records_it(walker: Walker) -> None:
    """FS14 fires end_approval_on_resignation (FSR 28(13): the approval terminates 28 days after the
    notice; the provider cannot refuse it). The sweep after the due day ends it as carepath itself."""
    w = approved(walker)
    w.fire("receive_resignation", "2026-12-04", resignation_received_on="2026-12-04")
    app = w.app
    w.clock.set(datetime(2027, 1, 2, 0, 0, tzinfo=UTC))  # the end of Fri 1 January 2027 in London
    result = app.timers.sweep(app.system)
    assert result.moved == 1
    case = w.case
    assert (case.state, case.status, case.exit_reason) == ("resigned", "closed", "RESIGNED")
    moved = w.history()[-1]
    assert (moved.trigger, moved.actor_id, moved.effective_on) == (
        "end_approval_on_resignation",
        app.system.id,
        date(2027, 1, 1),
    )
    assert moved.note is not None
    assert moved.note.startswith("FS14 (FSR 28(13))")
    fs14 = w.deadline("FS14")
    assert (fs14.status, fs14.met_on, fs14.breached_on) == ("met", date(2027, 1, 1), None)
    assert app.timers.sweep(app.system).moved == 0


def test_resignation_during_a_review(walker: Walker) -> None:
    w = approved(walker)
    review_without_panel(w, "2026-06-01")
    w.fire("receive_resignation", "2026-06-05", resignation_received_on="2026-06-05")
    assert w.state == "resignation_notice"


@pytest.mark.parametrize("reason", ["DECEASED", "TRANSFERRED_TO_OTHER_FSP"])
def test_closing_for_other_reasons(walker: Walker, reason: str) -> None:
    w = approved(walker)
    assert (
        w.app.cases.withdraw(w.ref, w.actor("team_manager"), reason, trigger="close", on=w.at("2026-01-05")).exit_reason
        == reason
    )


# -- visits, TSD, records, notices ------------------------------------------------------------------------


def test_decision_told_within_2_and_5_working_days_over_the_august_bank_holiday(walker: Walker) -> None:
    w = approved(walker)
    assert w.due("FS6o") == "2025-08-27"
    assert w.due("FS6w") == "2025-09-01"


def test_supervisory_and_unannounced_visits_chain_from_the_actual_visit(walker: Walker) -> None:
    w = approved(walker)
    assert w.due("FS17") == "2025-09-22"
    w.fire("record_supervisory_visit", "2026-01-31", supervisory_visit_on="2026-01-31")
    assert w.deadlines("FS17")[0].status == "met"
    assert w.due("FS17") == "2026-02-28"  # a month from 31 January is the last day of February
    assert w.due("FS16") == "2026-08-22"
    w.fire("record_unannounced_visit", "2026-03-31", unannounced_visit_on="2026-03-31")
    assert w.due("FS16") == "2027-03-31"


def test_visits_can_be_recorded_during_a_review_at_panel(walker: Walker) -> None:
    w = approved(walker)
    review_without_panel(w, "2026-06-01")
    w.fire("refer_review_to_panel", "2026-06-01", "team_manager")
    w.fire("book_panel", "2026-06-02", "panel_coordinator", panel_date="2026-07-08")
    w.fire("record_supervisory_visit", "2026-06-30", supervisory_visit_on="2026-06-30")
    assert (w.state, w.due("FS17")) == ("review_panel_booked", "2026-07-30")


def test_tsd_within_12_months_or_18_for_family_and_friends(walker: Walker) -> None:
    w = approved(walker, on="2025-08-31")
    assert w.due("FS15") == "2026-08-31"
    assert w.deadlines("FS15ff") == []
    w.fire("record_tsd_completed", "2026-05-01", tsd_completed_on="2026-05-01")
    assert w.deadline("FS15").status == "met"


def test_tsd_for_family_and_friends_carers_18_months_to_a_month_end(walker: Walker) -> None:
    w = approved(walker, kind="family_and_friends", on="2025-08-31")
    assert w.due("FS15ff") == "2027-02-28"
    assert w.deadlines("FS15") == []


def test_records_to_another_provider_in_15_working_days_over_christmas(walker: Walker) -> None:
    w = approved(walker)
    w.fire("record_records_request", "2026-12-17", records_requested_on="2026-12-17")
    assert w.due("FS21") == "2027-01-12"


def test_a_hold_pauses_local_visits_but_not_the_statutory_review(walker: Walker) -> None:
    w = approved(walker)
    w.hold("2025-09-01", "carer taking a break")
    w.resume("2025-10-01")
    assert (w.due("FS17"), w.deadline("FS17").raw_due_on.isoformat()) == ("2025-10-22", "2025-09-22")
    assert w.due("FS10") == "2026-08-22"


def test_review_panel_timescales_and_termination_after_the_irm(walker: Walker) -> None:
    w = approved(walker)
    review_without_panel(w, "2026-07-01")
    w.fire("refer_review_to_panel", "2026-07-01", "team_manager")
    w.fire("book_panel", "2026-07-02", "panel_coordinator", panel_date="2026-09-02")
    assert w.due("FS4") == "2026-08-25"  # back over the August bank holiday
    w.walk(
        [
            step("circulate_papers", "2026-08-24", "panel_coordinator", papers_circulated_on="2026-08-24"),
            step(
                "record_recommendation",
                "2026-09-02",
                "panel_coordinator",
                panel_held_on="2026-09-02",
                recommendation="terminate",
                panel_members=PANEL,
            ),
            step("record_final_minutes", "2026-12-21", "panel_coordinator", minutes_received_on="2026-12-21"),
        ]
    )
    assert w.due("FS5") == "2027-01-04"  # 7 working days over Christmas and New Year
    w.fire("propose_termination", "2026-12-22", "agency_decision_maker", qd_proposal="terminate")
    w.fire("send_qd_letter", "2026-12-22", qd_sent_on="2026-12-22")
    w.fire("apply_to_irm", "2027-01-15", "irm_liaison_officer", irm_notified_on="2027-01-15")
    assert w.due("FS8") == "2027-01-29"
    w.fire("send_irm_papers", "2027-01-26", "irm_liaison_officer", irm_papers_sent_on="2027-01-26")
    w.fire(
        "record_irm_recommendation", "2027-04-30", "irm_liaison_officer", irm_recommendation_received_on="2027-04-30"
    )
    case = w.fire("terminate_approval", "2027-05-05", "agency_decision_maker")
    assert (case.state, case.exit_reason) == ("deregistered", "DEREGISTERED")


def test_unagreed_change_of_terms_takes_effect_after_the_window(walker: Walker) -> None:
    w = approved(walker)
    review_without_panel(w, "2026-03-02")
    w.fire("propose_termination_without_panel", "2026-03-03", "agency_decision_maker", qd_proposal="vary_terms")
    w.fire("send_qd_letter", "2026-03-04", qd_sent_on="2026-03-04")
    with pytest.raises(GuardFailed, match="qd_proposal = terminate"):
        w.fire("terminate_after_window", "2026-04-02", "agency_decision_maker")
    w.fire("vary_terms_after_window", "2026-04-02", "agency_decision_maker", approval_terms="1 child aged 0-5")
    assert (w.state, w.case.facts["approval_terms"]) == ("approved", "1 child aged 0-5")


def test_a_proposal_can_be_withdrawn(walker: Walker) -> None:
    w = approved(walker)
    review_without_panel(w, "2026-03-02")
    w.fire("propose_termination_without_panel", "2026-03-03", "agency_decision_maker", qd_proposal="terminate")
    w.fire("send_qd_letter", "2026-03-04", qd_sent_on="2026-03-04")
    w.fire("withdraw_proposal", "2026-03-10", "agency_decision_maker")
    assert (w.state, w.deadline("FS7").status) == ("approved", "cancelled")
