"""What every shipped journey promises structurally: codes, exits, notices, roles."""

from __future__ import annotations

import re

import pytest

from engine.definition import WorkflowDef
from engine.registry import WorkflowRegistry
from engine.roles import ROLES
from notifications.routing import check_notices

JOURNEYS = {
    "foster_carer_approval": "FC",
    "connected_person_approval": "CP",
    "approved_foster_carer": "AF",
    "prospective_adopter_approval": "PA",
    "child_adoption_pathway": "CH",
}
CODE = re.compile(r"^[FCAK]\d\d$")


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
