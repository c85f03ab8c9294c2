"""What every shipped journey promises structurally: codes, exits, notices, roles, readiness lists."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from carepath.engine.definition import WorkflowDef
from carepath.engine.guards import GuardContext
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.roles import ROLES
from carepath.notifications.routing import check_notices

JOURNEYS = {
    "foster_carer_approval": "FC",
    "connected_person_approval": "CP",
    "approved_foster_carer": "AF",
    "prospective_adopter_approval": "PA",
    "child_adoption_pathway": "CH",
}
CODE = re.compile(r"^[FCAK]\d\d$")
READY_PREFIXES = ("ready_for_panel:", "stage_complete:")


@pytest.fixture(params=sorted(JOURNEYS))
def journey(request: pytest.FixtureRequest, journeys: WorkflowRegistry) -> WorkflowDef:
    return journeys.latest(request.param).definition


def test_the_five_journeys_are_shipped_with_their_prefixes(journeys: WorkflowRegistry) -> None:
    assert {i: journeys.latest(i).definition.reference_prefix for i in journeys.ids()} == JOURNEYS


def test_every_state_keeps_its_domain_code(journey: WorkflowDef) -> None:
    bad = {n: s.meta.get("code") for n, s in journey.states.items() if not CODE.match(str(s.meta.get("code", "")))}
    assert bad == {}


def test_decision_exits_name_their_reason_and_people_cannot_pick_it(journey: WorkflowDef) -> None:
    for name, state in journey.states.items():
        if not state.terminal or name == journey.close_state:
            continue
        reason = state.meta.get("exit_reason")
        assert reason, f"{journey.id}.{name} has no meta.exit_reason"
        assert reason not in journey.exit_reasons, f"{reason} would let anyone close a case with a decision"


def test_notices_name_known_roles_and_panel_types(journey: WorkflowDef) -> None:
    assert check_notices(journey) == []


def test_every_ready_for_panel_state_announces_itself(journey: WorkflowDef) -> None:
    for name, state in journey.states.items():
        if "ready_for_panel" in name:
            assert state.meta.get("notice") == "ready_for_panel"
            assert state.meta.get("panel_type") in ("fostering", "adoption")


def test_every_move_names_who_may_make_it(journey: WorkflowDef) -> None:
    assert [t.trigger for t in journey.transitions if not t.roles] == []
    assert {r for t in journey.transitions for r in t.roles} <= set(ROLES)


def test_decision_makers_moves_after_final_minutes_guard_against_panel_members(journey: WorkflowDef) -> None:
    after_minutes = {
        t.dest
        for t in journey.transitions
        if t.trigger.endswith("final_minutes") or t.trigger == "record_review_minutes"
    }
    unguarded = [
        t.trigger
        for t in journey.transitions
        if t.roles == ("agency_decision_maker",)
        and set(t.sources) & after_minutes
        and not any(g.startswith("not_on_panel") for g in t.guards)
    ]
    assert unguarded == []


# -- readiness lists (data in each journey's YAML) -------------------------------------------------------


def _ctx(
    facts: Mapping[str, Any], *, given: Mapping[str, Any] | None = None, email: str = "adm@carepath.test"
) -> GuardContext:
    """The case with ``facts`` recorded, as a move giving ``given`` would see it."""
    merged = {**facts, **(given or {})}
    extra = {"recorded": dict(facts)}
    return GuardContext("X-1", "s", merged, dict(given or {}), 7, email, frozenset(), date(2026, 6, 1), "t", extra)


def _unmet(journeys: WorkflowRegistry, journey: str, trigger: str, context: GuardContext) -> list[str]:
    compiled = journeys.latest(journey)
    transition = next(t for t in compiled.definition.transitions if t.trigger == trigger)
    return compiled.unmet(transition, context)


def test_every_readiness_list_is_used_and_every_item_labelled(journey: WorkflowDef) -> None:
    used = {g.partition(":")[2] for t in journey.transitions for g in t.guards if g.startswith(READY_PREFIXES)}
    assert set(journey.readiness) == used
    assert [i.fact for spec in journey.readiness.values() for i in spec.items if not i.label.strip()] == []


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


def test_fostering_readiness_full_report(journeys: WorkflowRegistry) -> None:
    assert _unmet(journeys, "foster_carer_approval", "authorise_report", _ctx(FULL)) == []
    facts = {k: v for k, v in FULL.items() if k not in ("medical_on", "report_authorised_on")}
    assert _unmet(journeys, "foster_carer_approval", "authorise_report", _ctx(facts)) == [
        "not ready for panel; missing: medical_on, report_authorised_on"
    ]


def test_fostering_readiness_brief_report_needs_no_checks(journeys: WorkflowRegistry) -> None:
    brief = {
        "report_type": "brief",
        "report_completed_on": "2026-05-01",
        "report_shared_on": "2026-05-02",
        "report_authorised_on": "2026-05-03",
    }
    assert _unmet(journeys, "foster_carer_approval", "authorise_report", _ctx(brief)) == []


def test_fostering_readiness_conditional_and_stale_items(journeys: WorkflowRegistry) -> None:
    facts = {**FULL, "previously_approved_elsewhere": "yes", "report_shared_on": "2026-04-01"}
    assert _unmet(journeys, "foster_carer_approval", "authorise_report", _ctx(facts)) == [
        "not ready for panel; missing: previous_fsp_reference_on, "
        "report_shared_on (recorded 2026-04-01, before report_completed_on 2026-05-01)"
    ]


def test_connected_person_readiness_needs_no_training(journeys: WorkflowRegistry) -> None:
    facts = {k: v for k, v in FULL.items() if k != "training_completed_on"}
    assert _unmet(journeys, "connected_person_approval", "authorise_report", _ctx(facts)) == []


def test_adopter_stage1_lists_every_missing_item_in_order(journeys: WorkflowRegistry) -> None:
    reasons = _unmet(journeys, "prospective_adopter_approval", "complete_stage1", _ctx({"dbs_checks_on": "x"}))
    assert reasons == [
        "Stage 1 is not complete; missing: stage1_plan_agreed_on, la_checks_on, medical_on, "
        "referees_interviewed_on, training_completed_on"
    ]


# -- the panel-conflict rule through a compiled journey ----------------------------------------------------


def test_a_decision_maker_on_the_panel_cannot_restate_the_members_with_the_decision(
    journeys: WorkflowRegistry,
) -> None:
    recorded = {"panel_members": "chair@carepath.test; ADM@carepath.test"}
    restated = _ctx(recorded, given={"panel_members": "x@council.example", "approval_terms": "1 child 0-5"})
    assert _unmet(journeys, "foster_carer_approval", "approve", restated) == [
        "the decision maker sat on this case's panel and may not decide it"
    ]
    other = _ctx(recorded, given={"approval_terms": "1 child 0-5"}, email="adm2@carepath.test")
    assert _unmet(journeys, "foster_carer_approval", "approve", other) == []
