"""Who hears what (domain.md §7.2): outbox rows for raised timers and for case events.

Both hooks run inside the caller's transaction, so an email exists exactly when the change
that causes it commits. Contexts carry references, rule, class, source, dates and a link;
never case facts, names or notes.

- ``on_timer`` (called by the sweep): a reminder goes to the case owner; a breach to the owner
  (and the team manager when ``single_breach_emails`` is on; otherwise managers read it in
  their daily digest); an escalation tier to the roles in the rule's escalation ``to``. A case
  without an active owner sends its reminders and breaches to the team manager instead.
- ``on_event`` (called by the write path): entering a state whose ``meta`` declares
  ``notice: <kind>`` sends ``<kind>`` to the roles in ``meta.notify`` (or the kind's default
  roles below); ``meta.panel_type`` adds the next panel sitting that leaves 5 working days
  for papers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection

from config.settings import Settings
from engine.calendar import WorkingCalendar
from engine.case import NOTICE_TRIGGERS, Case, Event
from engine.clock import LONDON
from engine.definition import WorkflowDef
from engine.roles import OWNER, ROLES, TEAM_MANAGER
from engine.timers import TimerFired
from notifications.outbox import enqueue
from notifications.panels import PANEL_TYPES, Sitting, next_sitting
from notifications.recipients import SERVICE_MANAGER, resolve

log = logging.getLogger(__name__)

#: Who hears a state notice when the state's meta names no ``notify`` roles (domain.md §7.2).
DEFAULT_NOTIFY: dict[str, tuple[str, ...]] = {
    "ready_for_panel": ("panel_coordinator", "panel_adviser"),
    "panel_recommendation": ("agency_decision_maker",),
    "adm_decision": (OWNER, "panel_coordinator"),
    "qd_issued": ("irm_liaison_officer", TEAM_MANAGER),
    "irm_application": ("irm_liaison_officer", "agency_decision_maker", "panel_adviser"),
    "approved": (OWNER, TEAM_MANAGER, "iro"),
    "resigned": (OWNER, TEAM_MANAGER, "iro"),
    "deregistered": (OWNER, TEAM_MANAGER, "iro"),
    "reg24_expired": (OWNER, TEAM_MANAGER, "iro", "nominated_officer"),
    "looked_after": ("iro", TEAM_MANAGER),
    "plan_for_adoption": (OWNER, "iro", TEAM_MANAGER),
    "plan_changed": (OWNER, "iro"),
    "should_be_placed": (OWNER, "iro", TEAM_MANAGER),
    "match_agreed": (OWNER, "iro"),
    "child_placed": (OWNER, "iro"),
    "adoption_order": (OWNER, TEAM_MANAGER),
    "notice": (OWNER,),
}
#: Moves that never send a state notice: they return to or stay in a state already announced.
QUIET_TRIGGERS = frozenset({"resume", "hold", "assign", "entered_in_error", "update", *NOTICE_TRIGGERS})
KNOWN_RECIPIENT_ROLES = frozenset({*ROLES, OWNER})


def case_link(settings: Settings, ref: str) -> str:
    """The web address of case ``ref``."""
    return f"{settings.base_url.rstrip('/')}/cases/{quote(ref)}"


# -- timers ------------------------------------------------------------------------------------


def timer_key(fired: TimerFired) -> str:
    """Idempotency key of a raised timer's email: one per deadline, kind, tier and due date."""
    return f"deadline:{fired.deadline_id}:{fired.kind}:{fired.tier}:{fired.due_on.isoformat()}"


def deadline_context(fired: TimerFired, settings: Settings) -> dict[str, Any]:
    """The template fields for a raised timer: references, rule and dates only."""
    rule = fired.rule
    return {
        "case_ref": fired.case_ref,
        "workflow": fired.workflow_id,
        "rule": rule.name,
        "rule_label": rule.label,
        "rule_class": rule.klass,
        "rule_source": rule.source,
        "start_on": fired.start_on.isoformat(),
        "due_on": fired.due_on.isoformat(),
        "fire_on": fired.fire_on.isoformat(),
        "tier": fired.tier,
        "days_left": max((fired.due_on - fired.fire_on).days, 0),
        "days_overdue": max((fired.fire_on - fired.due_on).days, 0),
        "link": case_link(settings, fired.case_ref),
    }


def timer_roles(fired: TimerFired, settings: Settings) -> tuple[str, ...]:
    """The roles a raised timer's email goes to."""
    if fired.kind == "reminder":
        return (OWNER,)
    if fired.kind == "breach":
        return (OWNER, TEAM_MANAGER) if settings.single_breach_emails else (OWNER,)
    return tuple(fired.escalate_to) or (SERVICE_MANAGER,)


def on_timer(conn: Connection, fired: TimerFired, settings: Settings, now: datetime) -> None:
    """Queue the email for a timer the sweep has just raised, in the sweep's transaction.

    Args:
        conn: the sweep's connection; the outbox row commits with the raised timer.
        fired: what was raised (case reference, rule, dates, kind, tier, escalation roles).
        settings: for ``base_url`` and ``single_breach_emails``.
        now: the injected clock's time.
    """
    roles = timer_roles(fired, settings)
    recipients = resolve(conn, roles, owner_id=fired.owner_id, team_id=fired.team_id)
    if fired.kind != "escalation" and not resolve(conn, (OWNER,), owner_id=fired.owner_id, team_id=None):
        recipients = sorted({*recipients, *resolve(conn, (TEAM_MANAGER,), owner_id=None, team_id=fired.team_id)})
    if not recipients:
        log.debug("%s %s on %s: nobody holds %s; no email", fired.kind, fired.rule.name, fired.case_ref, roles)
        return
    enqueue(
        conn,
        key=timer_key(fired),
        kind=fired.kind,
        recipients=recipients,
        context=deadline_context(fired, settings),
        now=now,
        case_id=fired.case_id,
    )


# -- case events -------------------------------------------------------------------------------


def _roles(meta: Mapping[str, Any], kind: str) -> tuple[str, ...]:
    given = meta.get("notify")
    if isinstance(given, str):
        return (given,)
    if given:
        return tuple(str(r) for r in given)
    return DEFAULT_NOTIFY.get(kind, (OWNER,))


def notice_context(
    case: Case, event: Event, definition: WorkflowDef, settings: Settings, sitting: Sitting | None = None
) -> dict[str, Any]:
    """The template fields for a state notice: references, stage, dates, panel sitting and a link only."""
    state = definition.state(event.to_state)
    return {
        "case_ref": case.ref,
        "workflow": definition.id,
        "workflow_title": definition.title,
        "state": state.name,
        "state_label": state.label,
        "trigger": event.trigger,
        "effective_on": event.effective_on.isoformat(),
        "link": case_link(settings, case.ref),
        "panel_type": state.meta.get("panel_type"),
        "panel_date": sitting.day.isoformat() if sitting else None,
        "papers_by": sitting.papers_by.isoformat() if sitting else None,
    }


def _sitting(conn: Connection, meta: Mapping[str, Any], today: date, calendar: WorkingCalendar) -> Sitting | None:
    panel_type = meta.get("panel_type")
    if panel_type is None and meta.get("notice") != "ready_for_panel":
        return None
    return next_sitting(conn, calendar, panel_type, today)


def notice_kind(event: Event, definition: WorkflowDef) -> str | None:
    """The notice ``event`` announces: the ``meta.notice`` of the state it enters, if any."""
    if event.trigger in QUIET_TRIGGERS or event.from_state == event.to_state:
        return None
    if event.to_state not in definition.states:
        return None
    kind = definition.states[event.to_state].meta.get("notice")
    return str(kind) if kind else None


def on_event(
    conn: Connection,
    case: Case,
    event: Event,
    definition: WorkflowDef,
    settings: Settings,
    now: datetime,
    calendar: WorkingCalendar | None = None,
) -> None:
    """Queue the state notice ``event`` announces, in the write path's transaction.

    Args:
        conn: the write transaction's connection.
        case: the case as the event leaves it (owner and team resolve recipients).
        event: the event just appended.
        definition: the case's workflow version (state meta declares notices).
        settings: for ``base_url`` and the calendar subdivision.
        now: the injected clock's time.
        calendar: working days with local overrides (default: bank holidays only).
    """
    kind = notice_kind(event, definition)
    if kind is None:
        return
    meta = definition.states[event.to_state].meta
    roles = _roles(meta, kind)
    recipients = resolve(conn, roles, owner_id=case.owner_id, team_id=case.team_id)
    if not recipients:
        log.debug("%s on %s: nobody holds %s; no email", kind, case.ref, ", ".join(roles))
        return
    today = now.astimezone(LONDON).date()
    sitting = _sitting(conn, meta, today, calendar or WorkingCalendar(settings.calendar_subdiv))
    enqueue(
        conn,
        key=f"event:{case.id}:{event.seq}:{kind}",
        kind=kind,
        recipients=recipients,
        context=notice_context(case, event, definition, settings, sitting),
        now=now,
        case_id=case.id,
    )


def check_notices(definition: WorkflowDef) -> list[str]:
    """Problems with the notices a workflow's states declare (unknown roles or panel types)."""
    problems: list[str] = []
    for state in definition.states.values():
        meta = state.meta
        if not meta.get("notice"):
            continue
        where = f"{definition.file}:{state.line or '?'}: state {state.name}"
        roles: Sequence[str] = _roles(meta, str(meta["notice"]))
        problems.extend(f"{where}: notify names unknown role {r!r}" for r in roles if r not in KNOWN_RECIPIENT_ROLES)
        panel_type = meta.get("panel_type")
        if panel_type is not None and panel_type not in PANEL_TYPES:
            problems.append(f"{where}: panel_type {panel_type!r} is not one of {', '.join(PANEL_TYPES)}")
    return problems
