"""Guards on their own: what each lets through and the sentence it gives when it does not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from engine.compiler import resolve_conventions
from engine.definition import TransitionDef, WorkflowDef
from engine.guards import GUARDS, GuardContext, resolve_guard


def ctx(
    facts: Mapping[str, Any] | None = None,
    *,
    on: str = "2026-06-01",
    given: Mapping[str, Any] | None = None,
    recorded: Mapping[str, Any] | None = None,
    email: str | None = "adm@carepath.test",
    actor_id: int | None = 7,
    state: str = "s",
) -> GuardContext:
    merged = {**(facts or {}), **(given or {})}
    extra = {"recorded": dict(recorded if recorded is not None else (facts or {}))}
    return GuardContext(
        "X-1", state, merged, dict(given or {}), actor_id, email, frozenset(), date.fromisoformat(on), "t", extra
    )


def check(name: str, context: GuardContext) -> str | None:
    guard = resolve_guard(name)
    assert guard is not None, name
    return guard(context)


@pytest.mark.parametrize(
    "name",
    [
        "nope",
        "one_of:report_type",
        "one_of:=a/b",
        "after:qd_sent_on+7 parsecs",
        "after:qd_sent_on",
        "after:qd_sent_on+5 days (sideways)",
        "after:qd_sent_on+5 days (convention:unknown)",
        "ready_for_panel:nothing",
        "review_may_skip_panel:soon",
    ],
)
def test_unknown_or_malformed_guards_do_not_resolve(name: str) -> None:
    assert resolve_guard(name) is None


def test_every_plain_guard_is_registered() -> None:
    assert {"not_on_panel", "ready_for_panel", "reg24_extension_allowed", "reg24_expired", "irm_available"} <= set(
        GUARDS
    )


# -- facts -------------------------------------------------------------------------------------------


def test_has_and_has_since() -> None:
    assert check("has:x_on", ctx({"x_on": "2026-01-01"})) is None
    assert check("has:x_on", ctx({"x_on": ""})) == "fact 'x_on' has not been recorded"
    assert check("has:x_on since y_on", ctx({"x_on": "2026-01-01", "y_on": "2026-02-01"})) == (
        "fact 'x_on' has not been recorded since y_on"
    )
    assert check("has:x_on since y_on", ctx({"x_on": "2026-02-01", "y_on": "2026-02-01"})) is None


def test_lacks_looks_at_the_facts_before_this_move() -> None:
    assert check("lacks:x_on", ctx(given={"x_on": "2026-06-01"}, recorded={})) is None
    assert check("lacks:x_on", ctx({"x_on": "2026-05-01"}, given={"x_on": "2026-06-01"})) == (
        "already done: x_on was recorded as 2026-05-01"
    )


def test_lacks_since_ignores_an_earlier_rounds_value() -> None:
    earlier = {"x_on": "2026-01-10", "placed_on": "2026-03-01"}
    assert check("lacks:x_on since placed_on", ctx(earlier, given={"x_on": "2026-03-20"})) is None
    assert check("lacks:x_on since placed_on", ctx({**earlier, "x_on": "2026-03-05"})) is not None


def test_one_of() -> None:
    assert check("one_of:report_type=full/brief", ctx({"report_type": "brief"})) is None
    assert check("one_of:report_type=full/brief", ctx({"report_type": "short"})) == (
        "report_type is 'short'; this move needs report_type = full or brief"
    )
    assert check("one_of:report_type=full/brief", ctx()) == (
        "fact 'report_type' has not been recorded (one of: full, brief)"
    )


# -- panels ---------------------------------------------------------------------------------------------


def test_not_on_panel_by_email_any_case_or_id() -> None:
    members = {"panel_members": "Chair@X.test, ADM@carepath.test"}
    assert check("not_on_panel", ctx(members)) == "the decision maker sat on this case's panel and may not decide it"
    assert check("not_on_panel", ctx(members, email="other@carepath.test")) is None
    assert check("not_on_panel", ctx({"panel_members": [7, 8]}, email=None)) is not None


def test_not_on_panel_with_named_facts() -> None:
    facts = {"panel_members": "a@x.test", "review_panel_members": "adm@carepath.test"}
    assert check("not_on_panel", ctx(facts)) is None
    assert check("not_on_panel:review_panel_members", ctx(facts)) is not None
    assert check("not_on_panel:match_panel_members", ctx(facts)) is None


FULL = {
    "report_type": "full",
    "report_completed_on": "2026-05-01",
    "dbs_checks_on": "2026-02-01",
    "la_checks_on": "2026-02-01",
    "medical_on": "2026-02-01",
    "referees_interviewed_on": "2026-03-01",
    "training_completed_on": "2026-03-20",
    "report_shared_on": "2026-05-05",
    "report_authorised_on": "2026-05-15",
}


def test_fostering_readiness_full_report() -> None:
    assert check("ready_for_panel:fostering", ctx(FULL)) is None
    facts = {k: v for k, v in FULL.items() if k not in ("medical_on", "report_authorised_on")}
    assert check("ready_for_panel:fostering", ctx(facts)) == (
        "not ready for panel; missing: medical_on, report_authorised_on"
    )


def test_fostering_readiness_brief_report_needs_no_checks() -> None:
    brief = {
        "report_type": "brief",
        "report_completed_on": "2026-05-01",
        "report_shared_on": "2026-05-02",
        "report_authorised_on": "2026-05-03",
    }
    assert check("ready_for_panel:fostering", ctx(brief)) is None


def test_fostering_readiness_conditional_and_stale_items() -> None:
    facts = {**FULL, "previously_approved_elsewhere": "yes", "report_shared_on": "2026-04-01"}
    assert check("ready_for_panel:fostering", ctx(facts)) == (
        "not ready for panel; missing: previous_fsp_reference_on, "
        "report_shared_on (recorded 2026-04-01, before report_completed_on 2026-05-01)"
    )


def test_stage_complete_uses_the_same_lists() -> None:
    assert check("stage_complete:adopter_stage1", ctx({"dbs_checks_on": "2026-01-01"})) == (
        "Stage 1 is not complete; missing: stage1_plan_agreed_on, la_checks_on, medical_on, "
        "referees_interviewed_on, training_completed_on"
    )


# -- dates ----------------------------------------------------------------------------------------------


def test_after_a_window_of_working_days_beginning_with_the_sending_date() -> None:
    name = "after:qd_sent_on+40 working days (beginning_with)"
    sent = {"qd_sent_on": "2026-05-01"}
    assert check(name, ctx(sent, on="2026-06-29")) == (
        "not yet: allowed from 2026-06-30 (40 working days beginning with qd_sent_on 2026-05-01)"
    )
    assert check(name, ctx(sent, on="2026-06-30")) is None


def test_on_or_after_and_within() -> None:
    received = {"resignation_received_on": "2026-12-04"}
    assert check("on_or_after:resignation_received_on+28 days", ctx(received, on="2027-01-01")) is None
    assert check("on_or_after:resignation_received_on+28 days", ctx(received, on="2026-12-31")) is not None
    decided = {"stage1_decision_notified_on": "2026-08-31"}
    assert check("within:stage1_decision_notified_on+6 months", ctx(decided, on="2027-02-28")) is None
    assert check("within:stage1_decision_notified_on+6 months", ctx(decided, on="2027-03-01")) == (
        "too late: allowed until 2027-02-28 (6 months after stage1_decision_notified_on 2026-08-31)"
    )


def test_date_guard_needs_its_fact() -> None:
    assert check("after:qd_sent_on+28 days", ctx()) == "fact 'qd_sent_on' has not been recorded as a date"


def test_an_unresolved_convention_falls_back_to_its_default() -> None:
    placed = {"placed_on": "2026-01-12"}
    name = "on_or_after:placed_on+10 weeks (convention:placement_ten_weeks)"
    assert check(name, ctx(placed, on="2026-03-22")) is not None
    assert check(name, ctx(placed, on="2026-03-23")) is None


def test_the_compiler_puts_the_configured_convention_into_guards() -> None:
    t = TransitionDef("go", ("a",), "b", guards=("on_or_after:placed_on+10 weeks (convention:placement_ten_weeks)",))
    d = WorkflowDef("w", 1, "W", "WW", "a", {}, (t,), {"X": "x"}, "a")
    resolved, problems = resolve_conventions(d, {"placement_ten_weeks": "beginning_with"})
    assert problems == []
    assert resolved.transitions[0].guards == ("on_or_after:placed_on+10 weeks (beginning_with)",)
    unchanged, _ = resolve_conventions(replace(d), {})
    assert unchanged.transitions[0].guards == t.guards


# -- journey-specific -------------------------------------------------------------------------------------


def test_review_may_skip_panel() -> None:
    name = "review_may_skip_panel:24 months"
    assert "FSR 28(5)" in (check(name, ctx()) or "")
    assert check(name, ctx({"panel_held_on": "2026-07-08"}, on="2028-07-07")) is None
    assert check(name, ctx({"panel_held_on": "2026-07-08"}, on="2028-07-08")) == (
        "this review must go to panel: the last panel review was on 2026-07-08 and the local cycle is every 24 months"
    )


REG24 = {"reg24_approved_on": "2026-01-12"}


@pytest.mark.parametrize(
    ("facts", "on", "given", "reason"),
    [
        ({}, "2026-04-01", {"reg24_extended_to": "2026-06-01"}, "no reg 24 temporary approval is recorded"),
        (REG24, "2026-05-04", {"reg24_extended_to": "2026-06-01"}, "ended on 2026-05-03"),
        (REG24, "2026-04-01", {"reg24_extended_to": "2026-05-03"}, "must be after the current last day 2026-05-03"),
        (REG24, "2026-04-01", {"reg24_extended_to": "2026-06-29"}, "the latest last day is 2026-06-28"),
        (REG24, "2026-04-01", {"reg24_extended_to": "soon"}, "must be a date"),
        (
            {**REG24, "reg24_extended_to": "2026-06-01"},
            "2026-05-01",
            {"reg24_extended_to": "2026-06-20"},
            "already been extended once",
        ),
        (REG24, "2026-05-03", {"reg24_extended_to": "2026-06-28"}, None),
    ],
)
def test_reg24_extension_allowed(facts: dict[str, str], on: str, given: dict[str, str], reason: str | None) -> None:
    result = check("reg24_extension_allowed", ctx(facts, on=on, given=given))
    assert (result is None) if reason is None else (reason in (result or ""))


def test_reg24_expired() -> None:
    assert check("reg24_expired", ctx(REG24, on="2026-05-03")) == (
        "the temporary approval still covers the placement until 2026-05-03"
    )
    assert check("reg24_expired", ctx(REG24, on="2026-05-04")) is None
    extended = {**REG24, "reg24_extended_to": "2026-06-10"}
    assert check("reg24_expired", ctx(extended, on="2026-06-10")) is not None
    assert check("reg24_expired", ctx({**extended, "reg24_review_extension_on": "2026-06-01"}, on="2026-09-01")) == (
        "the temporary approval is extended until the outcome of the IRM review (CPPCR 25(3))"
    )


def test_reg24_in_force() -> None:
    assert check("reg24_in_force", ctx(REG24, on="2026-05-03")) is None
    assert check("reg24_in_force", ctx(REG24, on="2026-05-04")) == "the temporary approval ended on 2026-05-03"
    assert check("reg24_in_force", ctx({**REG24, "reg24_extended_to": "2026-06-01"}, on="2026-05-04")) is None


def test_reg24_not_yet_extended_ignores_this_moves_own_fact() -> None:
    assert check("reg24_not_yet_extended", ctx(given={"reg24_extended_on": "2026-04-01"}, recorded={})) is None
    assert check("reg24_not_yet_extended", ctx({"reg24_extended_on": "2026-04-01"})) is not None


def test_irm_available() -> None:
    assert check("irm_available", ctx()) is None
    assert "AAR 30B(5A)" in (check("irm_available", ctx({"qd_on_reg26b_information": "yes"})) or "")
