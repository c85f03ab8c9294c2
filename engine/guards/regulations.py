"""Guards that carry a regulation's own rule rather than a journey's data.

- ``not_on_panel[:<fact>,<fact>]``: the decision maker did not sit on the case's panel; the
  members are read from those facts (default ``panel_members``) as recorded before this move.
- ``reg24_extension_allowed``, ``reg24_not_yet_extended``, ``reg24_expired``, ``reg24_in_force``:
  the connected person's temporary approval, Care Planning, Placement and Case Review (England)
  Regulations 2010 (CPPCR), regs 24 and 25.
- ``irm_available``: the independent review route after a qualifying determination.
- ``review_may_skip_panel:<limit>``: a foster carer review may be decided without panel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from carepath.engine.calendar import due_date, parse_limit
from carepath.engine.errors import InvalidInput
from carepath.engine.guards.context import CALENDAR, Guard, GuardContext, as_date, blank, recorded_facts

# -- the decision maker is not a member of the panel ---------------------------------------------

#: What may separate the members recorded in one text fact.
_MEMBER_SEPARATORS = re.compile(r"[\s,;]+")
#: Brackets and quotes left by a list that is not quite JSON, e.g. ``[a@x.test, b@x.test]``.
_LIST_MARKS = re.compile(r"[\[\]\"']")


def panel_members(value: Any) -> frozenset[str]:
    """The members a panel fact records, lower-cased.

    Accepts a list (or a JSON list as text) of emails or user ids, or text with the members
    separated by commas, semicolons, whitespace or newlines.
    """
    if blank(value):
        return frozenset()
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            value = _LIST_MARKS.sub(" ", value)
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset().union(*(panel_members(v) for v in value))
    return frozenset(m.lower() for m in _MEMBER_SEPARATORS.split(str(value)) if m)


def _actor_keys(ctx: GuardContext) -> frozenset[str]:
    keys = {str(ctx.actor_id)} if ctx.actor_id is not None else set()
    if ctx.actor_email:
        keys.add(ctx.actor_email.strip().lower())
    return frozenset(keys)


def panel_guard(arg: str) -> Guard:
    """``not_on_panel:<fact>,<fact>``: the actor is in none of those recorded member facts.

    Only the facts recorded before this move count: members given with the decision itself
    cannot clear the decision maker. Emails compare case-insensitively. The decision maker may
    not be a member of the panel that considered the case (Adoption Agencies Regulations 2005,
    reg 30B(3); fostering panels and decisions, Fostering Services National Minimum Standards
    2011, standard 14).
    """
    names = tuple(n.strip() for n in arg.split(",") if n.strip()) or ("panel_members",)

    def check(ctx: GuardContext) -> str | None:
        recorded = recorded_facts(ctx)
        keys = _actor_keys(ctx)
        if any(keys & panel_members(recorded.get(name)) for name in names):
            return "the decision maker sat on this case's panel and may not decide it"
        return None

    check.__name__ = "not_on_panel"
    return check


not_on_panel = panel_guard("panel_members")

# -- reg 24 temporary approval of a connected person ----------------------------------------------

#: CPPCR reg 24: temporary approval for up to 16 weeks; the last covered day is start + 111
#: days (the start day is covered, so 16 weeks after it is the first day no longer covered).
REG24_LAST_DAY = timedelta(days=16 * 7 - 1)
#: CPPCR reg 25(2): one extension of up to eight weeks.
REG24_EXTENSION = timedelta(weeks=8)
_NO_REG24 = "no reg 24 temporary approval is recorded (reg24_approved_on)"


def reg24_last_day(facts: Mapping[str, Any]) -> date | None:
    """The last day the temporary approval covers (the extension's, once extended)."""
    extended = as_date(facts.get("reg24_extended_to"))
    if extended is not None:
        return extended
    start = as_date(facts.get("reg24_approved_on"))
    return start + REG24_LAST_DAY if start else None


def _extension_limits(ctx: GuardContext, last: date) -> str | None:
    if ctx.on > last:
        return f"the temporary approval ended on {last.isoformat()} and can no longer be extended"
    to = as_date(ctx.facts.get("reg24_extended_to"))
    if to is None:
        return "reg24_extended_to (the last day the extension covers) must be a date"
    if to <= last:
        return f"reg24_extended_to must be after the current last day {last.isoformat()}"
    if to > last + REG24_EXTENSION:
        latest = (last + REG24_EXTENSION).isoformat()
        return f"an extension may add at most 8 weeks: the latest last day is {latest}"
    return None


def reg24_extension_allowed(ctx: GuardContext) -> str | None:
    """Once, while the approval is in force, by at most eight weeks (CPPCR reg 25(2))."""
    if not blank(recorded_facts(ctx).get("reg24_extended_to")):
        return "the temporary approval has already been extended once (CPPCR 25(2))"
    start = as_date(ctx.facts.get("reg24_approved_on"))
    if start is None:
        return _NO_REG24
    return _extension_limits(ctx, start + REG24_LAST_DAY)


def reg24_not_yet_extended(ctx: GuardContext) -> str | None:
    """No extension was recorded before this move (CPPCR reg 25(2): once only)."""
    if not blank(recorded_facts(ctx).get("reg24_extended_on")):
        return "reg 24 temporary approval may be extended only once"
    return None


def reg24_expired(ctx: GuardContext) -> str | None:
    """The approval no longer covers the placement, so it must end (CPPCR reg 25(6))."""
    if not blank(ctx.facts.get("reg24_review_extension_on")):
        return "the temporary approval is extended until the outcome of the IRM review (CPPCR 25(3))"
    last = reg24_last_day(ctx.facts)
    if last is None:
        return _NO_REG24
    if ctx.on <= last:
        return f"the temporary approval still covers the placement until {last.isoformat()}"
    return None


def reg24_in_force(ctx: GuardContext) -> str | None:
    """The approval (or its extension) still covers the move's date."""
    last = reg24_last_day(ctx.facts)
    if last is None:
        return _NO_REG24
    if ctx.on > last:
        return f"the temporary approval ended on {last.isoformat()}"
    return None


# -- qualifying determinations and reviews --------------------------------------------------------


def irm_available(ctx: GuardContext) -> str | None:
    """The independent review route is open to the applicant.

    It is closed when the determination rests on Stage 1 information obtained under reg 26(b)
    (Adoption Agencies Regulations 2005, reg 30B(5A)).
    """
    if str(ctx.facts.get("qd_on_reg26b_information", "")).lower() in ("yes", "true"):
        return (
            "the IRM route is not available: the determination rests on Stage 1 information "
            "obtained under AAR 26(b) (AAR 30B(5A)); representations only"
        )
    return None


def review_may_skip_panel(arg: str) -> Guard | None:
    """``review_may_skip_panel:<limit>``: this review of approval may be decided without panel.

    The first review of a foster carer's approval goes to panel (Fostering Services (England)
    Regulations 2011, reg 28(5)); a later one does once the local cycle ``<limit>`` since the
    last panel review has run out. ``None`` if ``<limit>`` is malformed.
    """
    try:
        cycle = parse_limit(arg)
    except InvalidInput:
        return None

    def check(ctx: GuardContext) -> str | None:
        last = as_date(ctx.facts.get("panel_held_on"))
        if last is None:
            return "the first review of a foster carer's approval must go to the fostering panel (FSR 28(5))"
        if ctx.on >= due_date(last, cycle, CALENDAR):
            return (
                f"this review must go to panel: the last panel review was on {last.isoformat()} "
                f"and the local cycle is every {cycle}"
            )
        return None

    check.__name__ = "review_may_skip_panel"
    return check
