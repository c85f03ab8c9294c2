"""Counting conventions domain.md leaves open, each a setting with a documented default.

See docs/conventions.md; override with ``CAREPATH_CONVENTIONS='{"reg24_expiry": "beginning_with"}'``.
"""

from __future__ import annotations

from typing import Literal

DEFAULT_CONVENTIONS: dict[str, Literal["after", "beginning_with"]] = {
    # CPPCR reg 24: 16 weeks "after" the start gives the first day no longer covered
    # (start + 112 days); "beginning_with" gives the last day covered (start + 111).
    "reg24_expiry": "after",
    # ACA s.42(2) ten weeks: "after" does not count the placement day (eligible on
    # placement + 70 days); "beginning_with" counts it (placement + 69 days).
    "placement_ten_weeks": "after",
    # Fostering QD window "28 days from" the letter: "after" = letter + 28 days.
    "fostering_qd_window": "after",
}
