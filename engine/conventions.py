"""Counting conventions the law leaves open, each a setting with a documented default.

The regulations say "16 weeks", "ten weeks" or "28 days from" without saying whether the
day the period runs from is counted. See docs/conventions.md; override with
``CAREPATH_CONVENTIONS='{"reg24_expiry": "beginning_with"}'``.

A deadline rule (``counting: convention:<name>``) and a date guard (``(convention:<name>)``)
both settle the name through ``resolve_counting``, so the due date and the first day a guarded
move is allowed always agree.
"""

from __future__ import annotations

from collections.abc import Mapping

from carepath.engine.definition import CONVENTION_PREFIX, Counting

DEFAULT_CONVENTIONS: dict[str, Counting] = {
    # Care Planning, Placement and Case Review (England) Regulations 2010, reg 24: 16 weeks
    # "after" the start gives the first day no longer covered (start + 112 days);
    # "beginning_with" gives the last day covered (start + 111).
    "reg24_expiry": "after",
    # Adoption and Children Act 2002, s.42(2), ten weeks: "after" does not count the placement
    # day (eligible on placement + 70 days); "beginning_with" counts it (placement + 69 days).
    "placement_ten_weeks": "after",
    # Fostering Services (England) Regulations 2011, reg 27 and the IRM: "28 days from" the
    # qualifying determination letter; "after" = letter + 28 days.
    "fostering_qd_window": "after",
}

_COUNTINGS: dict[str, Counting] = {"after": "after", "beginning_with": "beginning_with"}


def resolve_counting(counting: str, conventions: Mapping[str, str] | None = None) -> Counting | None:
    """The counting ``counting`` stands for, settling ``convention:<name>`` by the settings.

    Args:
        counting: ``after``, ``beginning_with`` or ``convention:<name>``.
        conventions: configured values by convention name; names left out keep their defaults.

    Returns:
        ``after`` or ``beginning_with``; ``None`` when ``counting`` is neither, names no known
        convention, or the configured value is not a counting.
    """
    if not counting.startswith(CONVENTION_PREFIX):
        return _COUNTINGS.get(counting)
    name = counting.removeprefix(CONVENTION_PREFIX)
    if conventions and name in conventions:
        return _COUNTINGS.get(conventions[name])
    return DEFAULT_CONVENTIONS.get(name)
