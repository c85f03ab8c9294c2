"""How the demo's cases walk: per-journey tuning of stays, alternatives and fact values.

States and triggers the tuning does not name get defaults, so new or renamed states still
walk. Each journey's behaviour is data here; the walk itself (``walker``) is the same for all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from carepath.entrypoints.demo.scenario import ADOPTER, CARER, CHILD, CONNECTED, FOSTER


@dataclass(frozen=True, slots=True)
class Stay:
    """How a stay in one state goes: days (low, mode, high), drop-out and hold chances."""

    days: tuple[int, int, int] = (7, 21, 60)
    drop: float = 0.03
    hold: float = 0.02


@dataclass(frozen=True, slots=True)
class Tuning:
    """How one journey's cases walk.

    Attributes:
        stays: how a stay goes, by state name.
        alternatives: chances of moves other than the main one, by trigger.
        values: weights of the values a fact may take, where a ``one_of`` guard allows several.
    """

    stays: Mapping[str, Stay] = field(default_factory=dict)
    alternatives: Mapping[str, float] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


DEFAULT_STAY = Stay()
#: An alternative move not named in the tuning: into a terminal state, or a detour.
DEFAULT_EXIT_CHANCE = 0.02
DEFAULT_DETOUR_CHANCE = 0.02
MAX_DETOURS = 2
#: A case taking more steps than this is walking in circles: stop it and report it.
MAX_STEPS = 600
#: How often people act before a deadline they are working to.
ON_TIME = 0.86
#: Of holds, how many end in a withdrawal rather than a resumption.
HOLD_THEN_WITHDRAW = 0.3
#: Chance that an optional chore (a self-loop no guard or deadline needs) is done at all.
OPTIONAL_CHORE = 0.3

_PANEL_STAYS: dict[str, Stay] = {
    "report_ready": Stay((5, 12, 35), 0.02, 0.02),
    "ready_for_panel": Stay((1, 3, 8), 0.0, 0.0),
    "panel_booked": Stay((14, 21, 35), 0.0, 0.0),
    "panel_recommended": Stay((1, 4, 12), 0.0, 0.0),
    "awaiting_adm": Stay((1, 4, 12), 0.0, 0.0),
    "qd_issued": Stay((29, 33, 45), 0.0, 0.0),
    "representations": Stay((30, 45, 75), 0.02, 0.0),
    "irm_review": Stay((60, 100, 150), 0.02, 0.0),
    "awaiting_final_decision": Stay((2, 5, 12), 0.0, 0.0),
}
_DECISIONS: dict[str, float] = {
    "propose_not_to_approve": 0.07,
    "apply_to_irm": 0.3,
    "confirm_not_approved": 0.4,
    "refuse_after_review": 0.4,
    "revise_report": 0.05,
    "defer_panel": 0.04,
}

TUNING: dict[str, Tuning] = {
    FOSTER: Tuning(
        stays={
            "enquiry": Stay((0, 1, 4), 0.42, 0.0),
            "initial_contact": Stay((2, 6, 20), 0.5, 0.03),
            "initial_visit": Stay((7, 20, 60), 0.55, 0.1),
            "application": Stay((2, 7, 21), 0.03, 0.0),
            "assessment": Stay((90, 125, 185), 0.1, 0.25),
            **_PANEL_STAYS,
        },
        alternatives={**_DECISIONS, "decide_not_suitable_stage1": 0.04, "counsel_out": 0.03},
    ),
    CONNECTED: Tuning(
        stays={
            "viability_assessment": Stay((7, 18, 40), 0.08, 0.0),
            "assessment": Stay((70, 110, 170), 0.06, 0.1),
            **_PANEL_STAYS,
        },
        alternatives={
            **_DECISIONS,
            "start_full_assessment": 0.25,
            "decide_not_viable": 0.12,
            "counsel_out": 0.03,
            "end_placement_on_expiry": 0.05,
        },
    ),
    CARER: Tuning(
        stays={
            "approval_decided": Stay((1, 4, 12), 0.0, 0.0),
            "approved": Stay((290, 330, 362), 0.01, 0.15),
            "review_in_progress": Stay((21, 40, 75), 0.0, 0.03),
            "review_ready_for_panel": Stay((1, 3, 8), 0.0, 0.0),
            "review_panel_recommended": Stay((1, 4, 10), 0.0, 0.0),
            "review_awaiting_adm": Stay((1, 4, 10), 0.0, 0.0),
            "resignation_notice": Stay((28, 29, 35), 0.0, 0.0),
            "qd_issued": Stay((29, 33, 45), 0.0, 0.0),
        },
        alternatives={
            "register_family_and_friends_carer": 0.0,
            "receive_resignation": 0.02,
            "vary_terms_on_review": 0.12,
            "vary_terms_without_panel": 0.1,
            "propose_termination": 0.02,
            "propose_termination_without_panel": 0.01,
            "withdraw_proposal": 0.3,
            "apply_to_irm": 0.2,
            "terminate_after_window": 0.5,
            "terminate_approval": 0.4,
            "defer_panel": 0.04,
        },
    ),
    ADOPTER: Tuning(
        stays={
            "enquiry": Stay((1, 10, 40), 0.35, 0.0),
            "roi_received": Stay((1, 4, 10), 0.05, 0.0),
            "stage1": Stay((35, 55, 90), 0.1, 0.08),
            "stage1_decision": Stay((2, 6, 15), 0.0, 0.0),
            "between_stages": Stay((7, 30, 150), 0.08, 0.0),
            "stage2": Stay((70, 95, 130), 0.06, 0.2),
            "par_ready": Stay((5, 10, 25), 0.02, 0.02),
            "approved": Stay((300, 335, 362), 0.03, 0.05),
            "approval_review": Stay((10, 25, 45), 0.0, 0.0),
            "termination_proposed": Stay((60, 70, 90), 0.0, 0.0),
            **{k: v for k, v in _PANEL_STAYS.items() if k not in ("report_ready",)},
        },
        alternatives={
            **_DECISIONS,
            "fast_track": 0.1,
            "decline_roi": 0.08,
            "decide_not_suitable_stage1": 0.06,
            "lapse_stage2": 0.05,
            "counsel_out": 0.03,
            "propose_termination": 0.05,
            "withdraw_termination": 0.4,
        },
        values={"fast_track_basis": {"previous_adopter": 0.5, "foster_carer": 0.5}},
    ),
    CHILD: Tuning(
        stays={
            "looked_after": Stay((20, 45, 90), 0.01, 0.0),
            "permanence_planning": Stay((30, 60, 110), 0.01, 0.0),
            "adoption_plan": Stay((7, 14, 30), 0.0, 0.0),
            "cpr_in_preparation": Stay((20, 35, 70), 0.0, 0.02),
            "should_be_placed": Stay((7, 20, 45), 0.0, 0.0),
            "placement_order_applied": Stay((45, 90, 160), 0.0, 0.0),
            "authority_to_place": Stay((3, 10, 25), 0.0, 0.0),
            "family_finding": Stay((20, 60, 160), 0.0, 0.0),
            "linked": Stay((20, 35, 60), 0.0, 0.0),
            "match_ready_for_panel": Stay((1, 4, 10), 0.0, 0.0),
            "match_panel_recommended": Stay((1, 4, 10), 0.0, 0.0),
            "awaiting_match_decision": Stay((1, 4, 10), 0.0, 0.0),
            "match_agreed": Stay((10, 21, 45), 0.0, 0.0),
            "placed": Stay((70, 72, 90), 0.0, 0.0),
            "eligible_to_apply": Stay((7, 30, 90), 0.0, 0.0),
            "application_lodged": Stay((45, 90, 180), 0.0, 0.0),
            "adoption_order_made": Stay((20, 40, 80), 0.0, 0.0),
            "celebration_hearing": Stay((10, 14, 30), 0.0, 0.0),
            "plan_changed": Stay((20, 40, 90), 0.0, 0.0),
            "disrupted": Stay((20, 40, 90), 0.0, 0.0),
            **{k: v for k, v in _PANEL_STAYS.items() if k in ("awaiting_sbp_decision",)},
        },
        alternatives={
            "agree_other_permanence_plan": 0.15,
            "change_plan": 0.03,
            "decide_not_to_place": 0.04,
            "refuse_placement_order": 0.06,
            "record_consent": 0.12,
            "exit_to_other_permanence": 0.6,
            "end_link": 0.05,
            "decide_not_to_match": 0.03,
            "record_disruption": 0.03,
            "defer_panel": 0.04,
        },
        values={
            "legal_route": {"court": 0.85, "consent": 0.15},
            "permanence_outcome": {
                "special_guardianship": 0.45,
                "long_term_fostering": 0.3,
                "return_home": 0.15,
                "child_arrangements": 0.1,
            },
            "ffa_outcome": {"not_in_childs_interest": 0.5, "no_carers_available": 0.4, "placed": 0.1},
            "plan_change_reason": {"RD1": 0.4, "RD3": 0.3, "RD4": 0.2, "RD2": 0.1},
        },
    ),
}


def tuning(journey: str) -> Tuning:
    """The journey's tuning.

    Args:
        journey: a workflow id.

    Returns:
        Its tuning; empty (defaults everywhere) for a journey not named here.
    """
    return TUNING.get(journey, Tuning())
