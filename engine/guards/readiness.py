"""Readiness for panel: every item of a journey's readiness list is recorded.

The lists are data in the journey YAML (top-level ``readiness:``), carried on
``WorkflowDef.readiness``; the compiler binds ``ready_for_panel:<kind>`` and
``stage_complete:<kind>`` to the list of that kind in the same definition. The sentence a
guard gives names each missing item by its fact, and a ``fresh`` item recorded before the
list's ``since`` fact as stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from carepath.engine.definition import Readiness, ReadinessItem
from carepath.engine.guards.context import Guard, GuardContext, blank

#: Guard prefixes whose argument names a readiness list of the journey.
READINESS_PREFIXES = frozenset({"ready_for_panel", "stage_complete"})


def _applies(item: ReadinessItem, facts: Mapping[str, Any]) -> bool:
    return all(str(facts.get(name, "")) in values for name, values in item.when)


def missing_items(spec: Readiness, facts: Mapping[str, Any]) -> list[str]:
    """The items of ``spec`` that ``facts`` lack, in list order, stale ones explained."""
    since = facts.get(spec.since) if spec.since else None
    missing: list[str] = []
    for item in spec.items:
        if not _applies(item, facts):
            continue
        value = facts.get(item.fact)
        if blank(value):
            missing.append(item.fact)
        elif item.fresh and not blank(since) and str(value) < str(since):
            missing.append(f"{item.fact} (recorded {value}, before {spec.since} {since})")
    return missing


def readiness_guard(kind: str, lists: Mapping[str, Readiness]) -> Guard | None:
    """The guard for the list ``kind`` of ``lists``; ``None`` if the journey declares none."""
    spec = lists.get(kind)
    if spec is None:
        return None

    def check(ctx: GuardContext) -> str | None:
        missing = missing_items(spec, ctx.facts)
        return f"{spec.title}; missing: " + ", ".join(missing) if missing else None

    check.__name__ = f"ready_{kind}"
    return check


def ready_for_panel(ctx: GuardContext) -> str | None:
    """Plain ``ready_for_panel``: the report is authorised and the case's own list is recorded.

    The list is the fact ``panel_requirements`` (names of facts), for journeys that declare no
    readiness lists.
    """
    missing = [name for name in ctx.facts.get("panel_requirements", ()) if blank(ctx.facts.get(name))]
    if blank(ctx.facts.get("report_authorised_on")):
        missing.insert(0, "report_authorised_on")
    if missing:
        return "not ready for panel; missing: " + ", ".join(missing)
    return None
