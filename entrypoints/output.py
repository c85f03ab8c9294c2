"""Printing for the CLI: tables for people, JSON for programs.

Typer is imported by the functions that print, not with the module: ``json_text`` and the
``*_json`` shapes serve the quick ``case show`` (entrypoints/quick.py), which never loads Typer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any

#: The longest ``error:`` line printed: a refusal names what was wrong, never the whole of a huge value.
ERROR_LINE_MAX = 300
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def error_line(message: str) -> str:
    """``error: <message>`` as one printable line: control characters and lone surrogates escaped, cut to
    ``ERROR_LINE_MAX`` characters."""
    text = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", message)
    if len(text) > ERROR_LINE_MAX - 7:
        text = text[: ERROR_LINE_MAX - 10] + "..."
    return f"error: {text}"


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON (``json_text``)."""
    import typer

    typer.echo(json_text(data))


def json_text(data: Any) -> str:
    """``data`` as indented JSON: always valid JSON (a non-finite number stored before carepath
    refused them prints as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``)."""
    try:
        return json.dumps(data, default=_default, indent=2, sort_keys=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(data), default=_default, indent=2, sort_keys=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return _finite(asdict(value))
    return value


def table(rows: Sequence[Mapping[str, Any]], columns: Iterable[str]) -> None:
    """Print ``rows`` as an aligned text table."""
    import typer

    cols = list(columns)
    if not rows:
        typer.echo("(none)")
        return
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    typer.echo("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
    for row in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


# -- one shape per noun (docs/json.md) -----------------------------------------------------------
# Every ``--json`` output builds its nouns here, so a case, a deadline or a person has the same keys
# whichever command prints it: a case reference is always ``ref``, a journey ``workflow``, a day ISO
# in a field ending ``_on``, an instant ISO 8601 with its offset in a field ending ``_at``, people by
# email and teams by name; an internal id only where a command takes it as input.

#: The keys of each noun, in order (tests/e2e/test_json_shapes.py holds every command to them).
CASE_KEYS = (
    "ref",
    "workflow",
    "workflow_version",
    "state",
    "state_label",
    "status",
    "held_from",
    "exit_reason",
    "opened_on",
    "last_event_on",
    "owner",
    "team",
    "facts",
    "version",
    "last_seq",
)
EVENT_KEYS = (
    "seq",
    "trigger",
    "from_state",
    "to_state",
    "effective_on",
    "recorded_at",
    "by",
    "note",
    "payload",
    "in_error",
)
DEADLINE_KEYS = (
    "rule",
    "cycle",
    "label",
    "class",
    "source",
    "limit",
    "start_on",
    "due_on",
    "raw_due_on",
    "status",
    "met_on",
    "breached_on",
    "late",
    "paused_days",
    "working_days_left",
    "calendar_days_left",
)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def case_json(case: Any, owner: str | None, team: str | None, state_label: str) -> dict[str, Any]:
    """A case (``engine.case.Case``) with its owner's email, its team's name and its state's label."""
    return {
        "ref": case.ref,
        "workflow": case.workflow_id,
        "workflow_version": case.workflow_version,
        "state": case.state,
        "state_label": state_label,
        "status": case.status,
        "held_from": case.held_from,
        "exit_reason": case.exit_reason,
        "opened_on": _iso(case.opened_on),
        "last_event_on": _iso(case.last_event_on),
        "owner": owner,
        "team": team,
        "facts": dict(case.facts),
        "version": case.version,
        "last_seq": case.last_seq,
    }


def event_json(event: Any, by: str | None, in_error: bool) -> dict[str, Any]:
    """One entry of a case's history (``engine.case.Event``) with the email of who recorded it."""
    return {
        "seq": event.seq,
        "trigger": event.trigger,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "effective_on": _iso(event.effective_on),
        "recorded_at": _iso(event.recorded_at),
        "by": by,
        "note": event.note,
        "payload": dict(event.payload),
        "in_error": in_error,
    }


def action_json(action: Any) -> dict[str, Any]:
    """A move available (or blocked) from a case's state (``engine.services.Action``)."""
    return {
        "trigger": action.trigger,
        "label": action.label,
        "to_state": action.dest,
        "ready": action.ready,
        "reasons": list(action.reasons),
        "requires": list(action.requires),
        "roles": list(action.roles),
    }


def user_json(user: Any) -> dict[str, Any]:
    """A user of carepath, known by email (commands take the email, never an id)."""
    return {
        "email": user.email,
        "name": user.name,
        "roles": list(user.roles),
        "teams": list(user.teams),
        "active": user.active,
    }


def team_json(team: Any) -> dict[str, Any]:
    """A team, known by name, with its people's emails."""
    return {
        "name": team.name,
        "manager": team.manager,
        "service_manager": team.service_manager,
        "members": list(team.members),
    }


def sitting_json(sitting: Any, today: date) -> dict[str, Any]:
    """A panel sitting (``engine.services.panels.SittingView``); ``id`` is what ``panels show|book|...`` take.

    ``open``: still taking cases whose papers can go out in time (planned, papers date today or later).
    """
    starts = getattr(sitting, "starts_at", None)
    status = getattr(sitting, "status", "planned")
    q = getattr(sitting, "quorum", None)
    return {
        "id": getattr(sitting, "id", None),
        "sits_on": sitting.day.isoformat(),
        "weekday": f"{sitting.day:%A}",
        "panel_type": sitting.panel_type,
        "starts": starts.strftime("%H:%M") if starts is not None else None,
        "place": getattr(sitting, "place", ""),
        "capacity": getattr(sitting, "capacity", None),
        "booked": getattr(sitting, "booked", None),
        "status": status,
        "cancel_reason": getattr(sitting, "cancel_reason", None),
        "papers_due_on": sitting.papers_by.isoformat(),
        "minutes_received_on": _iso(getattr(sitting, "minutes_received_on", None)),
        "open": status == "planned" and sitting.papers_by >= today,
        "quorum": {"ok": q.ok, "reasons": list(q.reasons)} if q is not None else None,
    }


def member_json(member: Any) -> dict[str, Any]:
    """A panel member on the central list; ``id`` is what ``panels attend --member`` takes."""
    return {
        "id": member.id,
        "name": member.name,
        "email": member.email,
        "roles": list(member.roles),
        "panel_types": list(member.panel_types),
        "expires_on": _iso(member.expires_on),
        "active": member.active,
    }


def agenda_json(item: Any) -> dict[str, Any]:
    """A case on a sitting's agenda (``engine.services.panels.AgendaItem``)."""
    return {
        "ref": item.ref,
        "workflow": item.workflow,
        "state": item.state,
        "booked_on": _iso(item.booked_on),
        "papers_circulated_on": _iso(item.papers_circulated_on),
        "papers_status": item.papers_status,
        "recommendation": item.recommendation,
        "deferred_reason": item.deferred_reason,
    }


def queue_json(item: Any) -> dict[str, Any]:
    """A case waiting for panel (``engine.services.panels.QueueItem``)."""
    return {
        "ref": item.ref,
        "workflow": item.workflow,
        "state": item.state,
        "panel_type": item.panel_type,
        "last_event_on": _iso(item.last_event_on),
    }


def sitting_report_json(row: Any) -> dict[str, Any]:
    """One sitting's figures for the reports (``engine.services.panels.SittingReport``)."""
    return {
        "id": row.id,
        "sits_on": _iso(row.day),
        "panel_type": row.panel_type,
        "status": row.status,
        "heard": row.heard,
        "deferred": row.deferred,
        "papers_in_time": row.papers_in_time,
        "minutes_received_on": _iso(row.minutes_received_on),
        "decided": row.decided,
        "decided_in_time": row.decided_in_time,
        "ready_to_panel_days": list(row.ready_to_panel_days),
    }


def outbox_json(row: Any) -> dict[str, Any]:
    """One outbox message (``engine.reads.OutboxListing``); ``id`` is what ``mail retry`` takes."""
    return {
        "id": row.id,
        "key": row.key,
        "kind": row.kind,
        "ref": row.case_ref,
        "recipients": list(row.recipients),
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at),
        "last_error": row.last_error,
        "message_id": row.message_id,
    }


def caught_json(message: Any) -> dict[str, Any]:
    """A message the mail catcher received (``engine.reads.CaughtListing``); ``id`` is what ``mail show`` takes."""
    return {
        "id": message.id,
        "message_id": message.message_id,
        "recipients": list(message.recipients),
        "subject": message.subject,
        "received_at": _iso(message.received_at),
    }


def override_json(override: Any) -> dict[str, Any]:
    """A local calendar override: the day, ``closure`` or ``opening``, and why."""
    return {"on": _iso(override.day), "kind": override.kind, "reason": override.reason}
