"""The roles people hold; transitions and notifications name them."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "caseworker": "Caseworker (assessing, supervising or child's social worker)",
    "team_manager": "Team manager",
    "service_manager": "Service (registered) manager",
    "panel_coordinator": "Panel coordinator / administrator",
    "panel_adviser": "Panel (agency) adviser",
    "agency_decision_maker": "Agency decision maker",
    "nominated_officer": "Nominated officer (reg 24 approvals)",
    "irm_liaison_officer": "IRM liaison officer",
    "iro": "Independent reviewing officer",
    "admin": "Administrator",
    "system": "carepath itself (sweeps, imports)",
}

#: Pseudo-role naming the case's owner in escalation and notification rules.
OWNER = "owner"
#: Pseudo-role naming the manager of the case's team.
TEAM_MANAGER = "team_manager"

SYSTEM_EMAIL = "system@carepath.invalid"
