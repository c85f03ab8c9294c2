"""Who hears what: the message bus's handlers that queue emails for raised timers and state notices.

Both run inside the transaction of the change that causes them, so an email exists exactly
when that change commits. Contexts carry references, rule, class, source, dates and a link;
never case facts, names or notes.

- ``on_timer_raised``: a reminder goes to the case owner; a breach to the owner (and the team
  manager when ``single_breach_emails`` is on; otherwise managers read it in their daily
  digest); an escalation tier to the roles in the rule's escalation ``to``. A case without an
  active owner sends its reminders and breaches to the team manager instead.
- ``on_state_announced``: entering a state whose ``meta`` declares ``notice: <kind>`` sends
  ``<kind>`` to the roles in ``meta.notify`` (or the kind's default roles below);
  ``meta.panel_type`` adds the next panel sitting that leaves 5 working days for papers.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.clock import LONDON, Clock
from carepath.engine.definition import WorkflowDef
from carepath.engine.events import AgendaSent, StateAnnounced, TimerRaised
from carepath.engine.panels import PANEL_TYPES, Sitting, next_sitting
from carepath.engine.ports import OutboxMessage, Transaction
from carepath.engine.roles import OWNER, ROLES, TEAM_MANAGER
from carepath.engine.timers import TimerFired
from carepath.notifications.days import day_unit

SERVICE_MANAGER = "service_manager"

log = logging.getLogger(__name__)

#: Who hears a state notice when its state's meta names no ``notify`` roles (``meta.notify`` overrides).
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
KNOWN_RECIPIENT_ROLES = frozenset({*ROLES, OWNER})


@dataclass(frozen=True, slots=True)
class Routing:
    """The plain settings routing needs (built from ``Settings`` by the bootstrap)."""

    base_url: str
    single_breach_emails: bool = False


def case_link(base_url: str, ref: str) -> str:
    """The web address of case ``ref``."""
    return f"{base_url.rstrip('/')}/cases/{quote(ref)}"


# -- timers ------------------------------------------------------------------------------------


def timer_key(fired: TimerFired) -> str:
    """Idempotency key of a raised timer's email: one per deadline, kind, tier and due date."""
    return f"deadline:{fired.deadline_id}:{fired.kind}:{fired.tier}:{fired.due_on.isoformat()}"


def deadline_context(fired: TimerFired, base_url: str) -> dict[str, Any]:
    """The template fields for a raised timer: references, rule and dates only.

    Days left and days overdue are not stored: the dispatcher counts them when it sends the
    message (``days.at_send``), in the unit named by ``day_unit``.
    """
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
        "day_unit": day_unit(rule.limit),
        "link": case_link(base_url, fired.case_ref),
    }


def timer_roles(fired: TimerFired, single_breach_emails: bool) -> tuple[str, ...]:
    """The roles a raised timer's email goes to."""
    if fired.kind == "reminder":
        return (OWNER,)
    if fired.kind == "breach":
        return (OWNER, TEAM_MANAGER) if single_breach_emails else (OWNER,)
    return tuple(fired.escalate_to) or (SERVICE_MANAGER,)


def _roles(meta: Mapping[str, Any], kind: str) -> tuple[str, ...]:
    given = meta.get("notify")
    if isinstance(given, str):
        return (given,)
    if given:
        return tuple(str(r) for r in given)
    return DEFAULT_NOTIFY.get(kind, (OWNER,))


def notice_context(event: StateAnnounced, base_url: str, sitting: Sitting | None = None) -> dict[str, Any]:
    """The template fields for a state notice: references, stage, dates, panel sitting and a link only."""
    return {
        "case_ref": event.case.ref,
        "workflow": event.case.workflow_id,
        "workflow_title": event.workflow_title,
        "state": event.state,
        "state_label": event.state_label,
        "trigger": event.event.trigger,
        "effective_on": event.event.effective_on.isoformat(),
        "link": case_link(base_url, event.case.ref),
        "panel_type": event.panel_type,
        "panel_date": sitting.day.isoformat() if sitting else None,
        "papers_by": sitting.papers_by.isoformat() if sitting else None,
    }


class Notifier:
    """The bus handlers that queue email; one per process, built by the bootstrap."""

    def __init__(self, routing: Routing, calendar: WorkingCalendar, clock: Clock) -> None:
        self.routing = routing
        self.calendar = calendar
        self.clock = clock

    def on_timer_raised(self, event: TimerRaised, tx: Transaction) -> None:
        """Queue the email for a timer the sweep has just raised."""
        fired = event.fired
        roles = timer_roles(fired, self.routing.single_breach_emails)
        recipients = tx.recipients(roles, owner_id=fired.owner_id, team_id=fired.team_id)
        if fired.kind != "escalation" and not tx.recipients((OWNER,), owner_id=fired.owner_id, team_id=None):
            managers = tx.recipients((TEAM_MANAGER,), owner_id=None, team_id=fired.team_id)
            recipients = sorted({*recipients, *managers})
        if not recipients:
            log.debug("%s %s on %s: nobody holds %s; no email", fired.kind, fired.rule.name, fired.case_ref, roles)
            return
        context = deadline_context(fired, self.routing.base_url)
        tx.enqueue(OutboxMessage(timer_key(fired), fired.kind, tuple(recipients), context, fired.case_id))

    def on_state_announced(self, event: StateAnnounced, tx: Transaction) -> None:
        """Queue the state notice a case's move announces."""
        roles = event.notify or DEFAULT_NOTIFY.get(event.kind, (OWNER,))
        case = event.case
        recipients = tx.recipients(roles, owner_id=case.owner_id, team_id=case.team_id)
        if not recipients:
            log.debug("%s on %s: nobody holds %s; no email", event.kind, case.ref, ", ".join(roles))
            return
        sitting = None
        if event.panel_type is not None or event.kind == "ready_for_panel":
            today = self.clock.now().astimezone(LONDON).date()
            sitting = next_sitting(tx.sitting_days(event.panel_type, today), self.calendar, today)
        key = f"event:{case.id}:{event.event.seq}:{event.kind}"
        context = notice_context(event, self.routing.base_url, sitting)
        tx.enqueue(OutboxMessage(key, event.kind, tuple(recipients), context, case.id))

    def on_agenda_sent(self, event: AgendaSent, tx: Transaction) -> None:
        """Queue a sitting's agenda to its members: one message, once a day at most per sitting."""
        today = self.clock.now().astimezone(LONDON).date()
        agenda = hashlib.sha256(",".join(sorted(event.refs)).encode()).hexdigest()[:12]
        key = f"agenda:{event.sitting_id}:{today.isoformat()}:{agenda}"  # the same agenda once a day
        tx.enqueue(OutboxMessage(key, "agenda", event.recipients, agenda_context(event, self.routing.base_url), None))


def agenda_context(event: AgendaSent, base_url: str) -> dict[str, Any]:
    """A sitting's agenda for its members: the day, the panel, the papers date and case references only."""
    return {
        "sitting_id": event.sitting_id,
        "sits_on": event.day.isoformat(),
        "panel_type": event.panel_type,
        "papers_due_on": event.papers_due_on.isoformat(),
        "place": event.place,
        "refs": list(event.refs),
        "link": f"{base_url.rstrip('/')}/panels/{event.sitting_id}",
    }


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
