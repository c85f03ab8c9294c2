"""``carepath demo show``: reading the caseload back as counts a person checks it by."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from carepath.config.bootstrap import App
from carepath.engine.calendar import add_months
from carepath.entrypoints.demo.gateway import DEMO_ADMIN, Gateway
from carepath.entrypoints.demo.org import DEMO_PASSWORD
from carepath.entrypoints.demo.scenario import FOSTER, PEOPLE

#: Fostering National Minimum Standards 2011, standard 14: a fostering assessment reaches the
#: panel's recommendation within 8 months of the application. The demo measures approvals by
#: the approved case's latest event, which is no earlier than the recommendation.
ASSESSMENT_MONTHS = 8
#: The roles ``sign_in_lines`` names one demo user of: a tour of the web app, role by role.
SIGN_IN_ROLES = ("caseworker", "team_manager", "service_manager", "panel_coordinator", "agency_decision_maker", "admin")


@dataclass
class Summary:
    """Counts a person checks a demo caseload by.

    Attributes:
        by_state: rows of journey, state and number of cases.
        cases: all cases.
        on_hold: cases on hold.
        conversion: share of enquiries that reached application, by journey.
        approvals: approved cases with an application date.
        approvals_within_8_months: the share of those approved within 8 months of application.
        breached_open: open deadlines past due.
        met_late: deadlines met after their due date.
    """

    by_state: list[dict[str, Any]]
    cases: int
    on_hold: int
    conversion: dict[str, float]
    approvals: int
    approvals_within_8_months: float | None
    breached_open: int
    met_late: int


def case_count(app: App) -> int:
    """How many cases exist.

    Args:
        app: the wired application.

    Returns:
        The number of cases.
    """
    return Gateway(app).summary().case_count()


def summarise(app: App) -> Summary:
    """Counts by journey and state, conversion, timeliness, breaches and holds, as of today.

    Args:
        app: the wired application; its clock says what "today" is.

    Returns:
        The summary.
    """
    gateway = Gateway(app)
    today = gateway.today()
    rows = gateway.summary().case_rows()
    breached, late = gateway.summary().deadline_counts(today)
    counts = Counter((r.workflow_id, r.state) for r in rows)
    approved = [r for r in rows if r.exit_reason == "APPROVED" and (r.facts or {}).get("application_received_on")]
    within = [r for r in approved if r.last_event_on <= _assessment_due(r.facts["application_received_on"])]
    return Summary(
        by_state=[{"journey": j, "state": s, "cases": n} for (j, s), n in sorted(counts.items())],
        cases=len(rows),
        on_hold=sum(1 for r in rows if r.status == "on_hold"),
        conversion=_conversion(rows),
        approvals=len(approved),
        approvals_within_8_months=len(within) / len(approved) if approved else None,
        breached_open=breached,
        met_late=late,
    )


def _conversion(rows: Sequence[Any]) -> dict[str, float]:
    """Share of each journey's cases that reached application (fostering always shown)."""
    per_journey = Counter(r.workflow_id for r in rows)
    applied = Counter(r.workflow_id for r in rows if (r.facts or {}).get("application_received_on"))
    return {j: applied[j] / per_journey[j] for j in sorted(applied) if j == FOSTER or applied[j]}


def _assessment_due(application_received_on: str) -> date:
    return add_months(date.fromisoformat(application_received_on), ASSESSMENT_MONTHS)


def sample_case(app: App) -> str | None:
    """A case worth touring: an open one far along its journey with deadlines.

    Args:
        app: the wired application.

    Returns:
        Its reference (the most-moved fostering case first), or ``None`` with no cases.
    """
    return Gateway(app).summary().most_moved(FOSTER)


def sign_in_lines(base_url: str) -> list[str]:
    """Whom to sign in to the web app as: one demo user of each role in ``SIGN_IN_ROLES``.

    Args:
        base_url: where the web app is served (``CAREPATH_BASE_URL``).

    Returns:
        One line per role.
    """
    emails = {role: next(p.email for p in PEOPLE if p.role == role) for role in SIGN_IN_ROLES if role != "admin"}
    emails["admin"] = DEMO_ADMIN[0]
    return [
        f"Sign in at {base_url} as {emails[role]} / password {DEMO_PASSWORD}  ({role.replace('_', ' ')})"
        for role in SIGN_IN_ROLES
    ]
