"""Guards: named conditions a transition needs, as callables from our own registry.

A guard returns ``None`` when met and a sentence saying what is missing when not; the
service turns that sentence into ``GuardFailed`` rather than a silent ``False``.

- ``context``: ``GuardContext``, the ``Guard`` type and small readers of facts;
- ``generic``: ``has:``, ``lacks:``, ``one_of:`` and the date guards any journey may use;
- ``readiness``: ``ready_for_panel:<kind>`` / ``stage_complete:<kind>``, read from the
  journey's own ``readiness:`` lists;
- ``regulations``: rules a regulation fixes (the panel conflict, reg 24, the IRM, reviews);
- ``registry``: ``GUARDS`` and ``resolve_guard``, the parser of guard expressions.
"""

from __future__ import annotations

from carepath.engine.guards.context import Guard, GuardContext, GuardFactory
from carepath.engine.guards.readiness import missing_items, readiness_guard
from carepath.engine.guards.registry import GUARDS, PARAMETERISED, resolve_guard
from carepath.engine.guards.regulations import REG24_EXTENSION, REG24_LAST_DAY, panel_members

__all__ = [
    "GUARDS",
    "PARAMETERISED",
    "REG24_EXTENSION",
    "REG24_LAST_DAY",
    "Guard",
    "GuardContext",
    "GuardFactory",
    "missing_items",
    "panel_members",
    "readiness_guard",
    "resolve_guard",
]
