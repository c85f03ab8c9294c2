"""Guards on their own: what each lets through and the sentence it gives when it does not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from carepath.engine.compiler import resolve_conventions
from carepath.engine.conventions import resolve_counting
from carepath.engine.definition import Readiness, ReadinessItem, TransitionDef, WorkflowDef
from carepath.engine.guards import GUARDS, GuardContext, panel_members, resolve_guard


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


def check(name: str, context: GuardContext, readiness: Mapping[str, Readiness] | None = None) -> str | None:
    guard = resolve_guard(name, readiness=readiness)
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

SAT = "the decision maker sat on this case's panel and may not decide it"


def test_not_on_panel_by_email_any_case_or_id() -> None:
    members = {"panel_members": "Chair@X.test, ADM@carepath.test"}
    assert check("not_on_panel", ctx(members)) == SAT
    assert check("not_on_panel", ctx(members, email="other@carepath.test")) is None
    assert check("not_on_panel", ctx({"panel_members": [7, 8]}, email=None)) is not None
    assert check("not_on_panel", ctx({})) is None


def test_not_on_panel_with_named_facts() -> None:
    facts = {"panel_members": "a@x.test", "review_panel_members": "adm@carepath.test"}
    assert check("not_on_panel", ctx(facts)) is None
    assert check("not_on_panel:review_panel_members", ctx(facts)) is not None
    assert check("not_on_panel:match_panel_members", ctx(facts)) is None


def test_members_given_with_the_decision_do_not_replace_the_recorded_panel() -> None:
    # Before: `case fire Z1 approve --by adm@... --set panel_members=x@...` cleared the decision maker.
    decision = ctx(recorded={"panel_members": "adm@carepath.test"}, given={"panel_members": "x@council.example"})
    assert check("not_on_panel", decision) == SAT


def test_members_given_with_the_decision_do_not_make_a_conflict_either() -> None:
    decision = ctx(recorded={"panel_members": "x@council.example"}, given={"panel_members": "adm@carepath.test"})
    assert check("not_on_panel", decision) is None


@pytest.mark.parametrize(
    "members",
    [
        ["ADM@carepath.test", "chair@council.example"],
        '["ADM@carepath.test", "chair@council.example"]',
        "[ADM@carepath.test, chair@council.example]",
    ],
    ids=["list", "json-text", "loose-list-text"],
)
def test_members_recorded_as_a_list_match_whatever_the_case(members: Any) -> None:
    # Before: list members were compared as written, so "ADM@..." did not match "adm@...".
    assert check("not_on_panel", ctx({"panel_members": members})) == SAT


@pytest.mark.parametrize(
    "members",
    [
        "chair@council.example;adm@carepath.test",
        "chair@council.example; ADM@carepath.test",
        "chair@council.example adm@carepath.test",
        "chair@council.example\nadm@carepath.test\n",
        "chair@council.example,\tadm@carepath.test",
    ],
    ids=["semicolon", "semicolon-space", "space", "newline", "comma-tab"],
)
def test_members_recorded_as_text_split_on_any_separator(members: str) -> None:
    # Before: only commas separated members, so "a@x;adm@..." was one unknown member.
    assert check("not_on_panel", ctx({"panel_members": members})) == SAT


def test_panel_members_reads_every_recorded_shape() -> None:
    expected = frozenset({"a@x.test", "b@x.test"})
    assert panel_members("A@x.test; b@X.test") == expected
    assert panel_members(["A@x.test", "b@x.test"]) == expected
    assert panel_members('["A@x.test", "b@x.test"]') == expected
    assert panel_members(["a@x.test, b@x.test"]) == expected
    assert panel_members([7, "a@x.test"]) == frozenset({"7", "a@x.test"})
    assert panel_members(None) == panel_members("") == frozenset()


# -- readiness ------------------------------------------------------------------------------------------

LISTS = {
    "demo": Readiness(
        "demo",
        "not ready for panel",
        (
            ReadinessItem("checks_on", "Checks", when=(("report_type", ("full",)),)),
            ReadinessItem("reference_on", "Reference", when=(("elsewhere", ("yes",)), ("report_type", ("full",)))),
            ReadinessItem("shared_on", "Shared", fresh=True),
            ReadinessItem("authorised_on", "Authorised", fresh=True),
        ),
        since="written_on",
    ),
    "stage": Readiness("stage", "Stage 1 is not complete", (ReadinessItem("plan_on", "Plan"),)),
}
WRITTEN = {"report_type": "full", "written_on": "2026-05-01", "shared_on": "2026-05-02", "authorised_on": "2026-05-03"}


def test_readiness_guards_come_from_the_lists_they_are_given() -> None:
    assert resolve_guard("ready_for_panel:demo") is None  # no lists, no guard
    assert resolve_guard("ready_for_panel:other", readiness=LISTS) is None
    assert resolve_guard("stage_complete:stage", readiness=LISTS) is not None


def test_readiness_names_every_missing_item_in_list_order() -> None:
    assert check("ready_for_panel:demo", ctx(WRITTEN), LISTS) == "not ready for panel; missing: checks_on"
    assert check("ready_for_panel:demo", ctx({**WRITTEN, "checks_on": "2026-04-01"}), LISTS) is None
    assert check("stage_complete:stage", ctx(), LISTS) == "Stage 1 is not complete; missing: plan_on"


def test_readiness_items_apply_only_when_every_condition_holds() -> None:
    brief = {**WRITTEN, "report_type": "brief", "elsewhere": "yes"}
    assert check("ready_for_panel:demo", ctx(brief), LISTS) is None
    full = {**WRITTEN, "checks_on": "2026-04-01", "elsewhere": "yes"}
    assert check("ready_for_panel:demo", ctx(full), LISTS) == "not ready for panel; missing: reference_on"


def test_readiness_names_a_fresh_item_recorded_before_the_list_since_fact() -> None:
    stale = {**WRITTEN, "checks_on": "2026-04-01", "shared_on": "2026-04-30"}
    assert check("ready_for_panel:demo", ctx(stale), LISTS) == (
        "not ready for panel; missing: shared_on (recorded 2026-04-30, before written_on 2026-05-01)"
    )


def test_plain_ready_for_panel_reads_the_case_own_requirements() -> None:
    facts = {"report_authorised_on": "2026-10-01", "panel_requirements": ["medical_on"]}
    assert check("ready_for_panel", ctx(facts)) == "not ready for panel; missing: medical_on"
    assert check("ready_for_panel", ctx({})) == "not ready for panel; missing: report_authorised_on"


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


def test_one_function_settles_a_counting() -> None:
    assert resolve_counting("after") == "after"
    assert resolve_counting("beginning_with", {"x": "after"}) == "beginning_with"
    assert resolve_counting("sideways") is None
    assert resolve_counting("convention:placement_ten_weeks") == "after"
    assert resolve_counting("convention:placement_ten_weeks", {"placement_ten_weeks": "beginning_with"}) == (
        "beginning_with"
    )
    assert resolve_counting("convention:placement_ten_weeks", {"placement_ten_weeks": "sideways"}) is None
    assert resolve_counting("convention:unknown") is None


def test_the_compiler_puts_the_configured_convention_into_guards() -> None:
    t = TransitionDef("go", ("a",), "b", guards=("on_or_after:placed_on+10 weeks (convention:placement_ten_weeks)",))
    d = WorkflowDef("w", 1, "W", "WW", "a", {}, (t,), {"X": "x"}, "a")
    resolved, problems = resolve_conventions(d, {"placement_ten_weeks": "beginning_with"})
    assert problems == []
    assert resolved.transitions[0].guards == ("on_or_after:placed_on+10 weeks (beginning_with)",)
    defaulted, _ = resolve_conventions(replace(d), {})
    assert defaulted.transitions[0].guards == ("on_or_after:placed_on+10 weeks (after)",)


def test_the_compiler_refuses_a_guard_naming_an_unknown_convention() -> None:
    t = TransitionDef("go", ("a",), "b", guards=("after:sent_on+5 days (convention:nope)",), line=12)
    d = WorkflowDef("w", 1, "W", "WW", "a", {}, (t,), {"X": "x"}, "a", file="w.v1.yaml")
    resolved, problems = resolve_conventions(d, {})
    assert [str(p) for p in problems] == ["w.v1.yaml:12: transition 'go' names unknown convention 'nope'"]
    assert resolved.transitions[0].guards == t.guards


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
