"""The guard registry and the parser of guard expressions written in YAML.

YAML names guards; a parameterised guard is written ``<prefix>:<argument>``. Guards reach
transitions as callables from here, never as strings transitions would import.
"""

from __future__ import annotations

from collections.abc import Mapping

from carepath.engine.definition import Readiness
from carepath.engine.guards.context import Guard, GuardFactory
from carepath.engine.guards.generic import date_guard, fact_guard, lacks_guard, one_of_guard
from carepath.engine.guards.readiness import READINESS_PREFIXES, readiness_guard, ready_for_panel
from carepath.engine.guards.regulations import (
    irm_available,
    not_on_panel,
    panel_guard,
    reg24_expired,
    reg24_extension_allowed,
    reg24_in_force,
    reg24_not_yet_extended,
    review_may_skip_panel,
)

GUARDS: dict[str, Guard] = {
    "not_on_panel": not_on_panel,
    "ready_for_panel": ready_for_panel,
    "reg24_not_yet_extended": reg24_not_yet_extended,
    "reg24_extension_allowed": reg24_extension_allowed,
    "reg24_expired": reg24_expired,
    "reg24_in_force": reg24_in_force,
    "irm_available": irm_available,
}

#: Parameterised guards by prefix (``ready_for_panel:`` and ``stage_complete:`` are bound to a
#: journey's readiness lists instead; see ``READINESS_PREFIXES``).
PARAMETERISED: dict[str, GuardFactory] = {
    "has": fact_guard,
    "lacks": lacks_guard,
    "one_of": one_of_guard,
    "not_on_panel": panel_guard,
    "on_or_after": date_guard("on_or_after"),
    "after": date_guard("after"),
    "within": date_guard("within"),
    "review_may_skip_panel": review_may_skip_panel,
}


def resolve_guard(
    name: str, registry: Mapping[str, Guard] = GUARDS, readiness: Mapping[str, Readiness] | None = None
) -> Guard | None:
    """The guard called ``name``, parameterised ones included.

    Args:
        name: a registered name, or ``<prefix>:<argument>``.
        registry: the plain guards by name.
        readiness: the journey's readiness lists by kind, for ``ready_for_panel:<kind>`` and
            ``stage_complete:<kind>``.

    Returns:
        The guard, or ``None`` if ``name`` is unknown or malformed.
    """
    if name in registry:
        return registry[name]
    prefix, sep, arg = name.partition(":")
    if not sep or not arg:
        return None
    if prefix in READINESS_PREFIXES:
        return readiness_guard(arg, readiness or {})
    factory = PARAMETERISED.get(prefix)
    return factory(arg) if factory is not None else None
