"""Guards: named conditions a transition needs, as callables from our own registry.

A guard returns ``None`` when met and a sentence saying what is missing when not; the
service turns that sentence into ``GuardFailed`` rather than a silent ``False``. YAML names
guards; ``has:<fact>`` is a parameterised guard that needs a recorded fact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What a guard may look at: the case as it would be after the move's facts."""

    case_ref: str
    state: str
    facts: Mapping[str, Any]
    given: Mapping[str, Any]
    actor_id: int | None
    actor_email: str | None
    actor_roles: frozenset[str]
    on: date
    trigger: str
    extra: Mapping[str, Any] = field(default_factory=dict)


Guard = Callable[[GuardContext], "str | None"]


def _fact_guard(name: str) -> Guard:
    def check(ctx: GuardContext) -> str | None:
        if ctx.facts.get(name) in (None, ""):
            return f"fact {name!r} has not been recorded"
        return None

    check.__name__ = f"has_{name}"
    return check


def _not_on_panel(ctx: GuardContext) -> str | None:
    members = ctx.facts.get("panel_members") or []
    if isinstance(members, str):
        members = [m.strip().lower() for m in members.split(",")]
    if (ctx.actor_id is not None and ctx.actor_id in members) or (
        ctx.actor_email is not None and ctx.actor_email.lower() in members
    ):
        return "the decision maker sat on this case's panel and may not decide it"
    return None


def _ready_for_panel(ctx: GuardContext) -> str | None:
    missing = [name for name in ctx.facts.get("panel_requirements", ()) if ctx.facts.get(name) in (None, "")]
    if ctx.facts.get("report_authorised_on") in (None, ""):
        missing.insert(0, "report_authorised_on")
    if missing:
        return "not ready for panel; missing: " + ", ".join(missing)
    return None


def _within_reg24_extension_limit(ctx: GuardContext) -> str | None:
    if ctx.facts.get("reg24_extended_on") not in (None, ""):
        return "reg 24 temporary approval may be extended only once"
    return None


GUARDS: dict[str, Guard] = {
    "not_on_panel": _not_on_panel,
    "ready_for_panel": _ready_for_panel,
    "reg24_not_yet_extended": _within_reg24_extension_limit,
}

PARAMETERISED: dict[str, Callable[[str], Guard]] = {"has": _fact_guard}


def resolve_guard(name: str, registry: Mapping[str, Guard] = GUARDS) -> Guard | None:
    """The guard called ``name`` (``has:<fact>`` included), or ``None`` if unknown."""
    if name in registry:
        return registry[name]
    prefix, sep, arg = name.partition(":")
    if sep and arg and prefix in PARAMETERISED:
        return PARAMETERISED[prefix](arg)
    return None
