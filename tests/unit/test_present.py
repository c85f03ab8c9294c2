"""What the case page says of a deadline: the weekdays its clock skips, and the days left or late."""

from __future__ import annotations

from datetime import date

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.deadlines import Deadline
from carepath.entrypoints.web.present import plain, skipped_days
from carepath.workflows.loader import WORKFLOWS_DIR, load_workflow

ENG = WorkingCalendar("ENG", closures=[date(2026, 12, 29)])


def test_a_clock_over_christmas_lists_the_bank_holidays_and_the_closure_it_skipped_in_order() -> None:
    d = Deadline("assessment", 0, start_on=date(2026, 12, 18), raw_due_on=date(2027, 1, 8), due_on=date(2027, 1, 8))

    assert skipped_days(d, ENG) == (
        "Friday 25 December 2026: Christmas Day",
        "Monday 28 December 2026: Boxing Day (observed)",
        "Tuesday 29 December 2026: local closure",
        "Friday 1 January 2027: New Year's Day",
    )


def test_a_clock_that_ends_on_its_start_day_or_over_weekends_only_skips_nothing() -> None:
    same_day = Deadline("visit", 0, start_on=date(2026, 6, 5), raw_due_on=date(2026, 6, 5), due_on=date(2026, 6, 5))
    weekend = Deadline("visit", 0, start_on=date(2026, 6, 5), raw_due_on=date(2026, 6, 8), due_on=date(2026, 6, 8))

    assert skipped_days(same_day, ENG) == ()
    assert skipped_days(weekend, ENG) == ()


CHILD_PATHWAY = load_workflow(WORKFLOWS_DIR / "child_adoption_pathway.v1.yaml")


def test_an_unmet_condition_names_the_fact_by_its_label_and_the_day_in_words() -> None:
    assert (
        plain("already done: first_cla_review_on was recorded as 2026-07-20", CHILD_PATHWAY)
        == "Already done: “First looked-after review held” was recorded as Monday 20 July 2026"
    )
    assert plain("fact 'legal_route' has not been recorded (one of: court, consent)", CHILD_PATHWAY) == (
        "“Legal route” has not been recorded (one of: court, consent)"
    )


def test_without_the_journey_a_reason_keeps_its_names_and_roles_are_said_in_words() -> None:
    assert plain("fact 'legal_route' has not been recorded") == "'legal_route' has not been recorded"
    assert plain("needs role panel_coordinator or team_manager") == "Needs a panel coordinator or team manager"
    assert plain("not yet: allowed from 2026-02-30", CHILD_PATHWAY) == "Not yet: allowed from 2026-02-30"  # no such day
