"""Synthetic values for the facts a move requires, by the type the journey declares for each
(``facts:``; engine/facts.py checks them as it would anyone's), or from the fact's name in a journey
that declares none.

Dates are the day of the move, ``panel_date`` a booked sitting, a later date (an extension's end)
eight weeks on; a list of users is the panel's emails; ``one_of`` guard values and choices are drawn
by the tuning's weights; yes/no is no; and a case link names the partner case (a child's
``adopter_case_ref`` names adopters waiting for a link).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from carepath.entrypoints.demo.scenario import PANEL_MEMBERS, PARTNER_FACT, TERMS

if TYPE_CHECKING:
    from carepath.engine.definition import FactSpec
    from carepath.entrypoints.demo.seeder import Seeder
    from carepath.entrypoints.demo.walk import CaseWalk


def fact_value(seeder: Seeder, w: CaseWalk, name: str, on: date, allowed: tuple[str, ...] | None) -> Any:
    """A synthetic value for fact ``name`` recorded on ``on``.

    Args:
        seeder: the caseload (its random source draws members and terms).
        w: the case recording the fact (its random source draws the rest).
        name: the fact.
        on: the day it is recorded.
        allowed: the values a ``one_of`` guard allows, if any.

    Returns:
        The value.
    """
    if allowed:
        return _one_of(w, name, allowed)
    spec = w.definition.facts.get(name)
    if spec is not None:
        return _typed(seeder, w, spec, on)
    if name.endswith("_members"):
        return _panel_members(seeder)
    dated = _date_value(seeder, w, name, on)
    if dated is not None:
        return dated
    ref = _reference(seeder, w, name)
    if ref is not None:
        return ref
    if name == "approval_terms":
        return seeder.rng.choice(TERMS)
    if name.startswith(("is_", "has_")) or name.endswith("_elsewhere"):
        return "no"
    return f"demo {name.replace('_', ' ')}"


def _typed(seeder: Seeder, w: CaseWalk, spec: FactSpec, on: date) -> Any:
    """A value of the fact's declared type that its constraints accept on ``on``."""
    name = spec.name
    if spec.type == "date":
        ahead = _date_value(seeder, w, name, on) if spec.future else None  # a booked sitting, an end date
        return ahead or on.isoformat()
    if spec.type == "users":
        return _panel_members(seeder)
    if spec.type == "user":
        return PANEL_MEMBERS[0]
    if spec.type == "case":
        return _reference(seeder, w, name) or f"external:DEMO-EXT/{w.rng.randint(100, 999)}"
    if spec.type == "choice":
        return _one_of(w, name, spec.options)
    if spec.type == "yes_no":
        return "no"
    if spec.type == "number":
        return 1
    if name == "approval_terms":
        return seeder.rng.choice(TERMS)
    return f"demo {name.replace('_', ' ')}"


def _one_of(w: CaseWalk, name: str, allowed: tuple[str, ...]) -> str:
    weights = w.tuning.values.get(name, {})
    options = [v for v in allowed if v in weights]
    return w.rng.choices(options, [weights[v] for v in options])[0] if options else allowed[0]


def _panel_members(seeder: Seeder) -> list[str]:
    members = list(PANEL_MEMBERS)
    if seeder.rng.random() < 0.25:
        members.append(seeder.rng.choice(seeder.org.by_role["agency_decision_maker"]).email)
    return members


def _date_value(seeder: Seeder, w: CaseWalk, name: str, on: date) -> str | None:
    if name.endswith("panel_date"):
        return _panel_day(seeder, w, on).isoformat()
    if name.endswith("_to"):
        return (on + timedelta(weeks=8)).isoformat()
    if name.endswith(("_on", "_date", "_at")):
        return on.isoformat()
    return None


def _panel_day(seeder: Seeder, w: CaseWalk, on: date) -> date:
    """The first sitting of the journey's panel at least two weeks ahead (three weeks if none)."""
    d = w.definition
    kinds = {str(s.meta["panel_type"]) for s in d.states.values() if s.meta.get("panel_type")}
    kind = sorted(kinds)[0] if kinds else ("adoption" if "adopt" in d.id or "child" in d.id else "fostering")
    day = seeder.gateway.first_sitting(kind, on + timedelta(days=14))
    return day if day is not None else on + timedelta(days=21)


def _reference(seeder: Seeder, w: CaseWalk, name: str) -> str | None:
    if name == PARTNER_FACT:
        waiting = seeder.waiting_partner()
        return waiting.case.ref if waiting and waiting.case else f"external:DEMO-VAA/{w.rng.randint(100, 999)}"
    if name.endswith("_ref"):
        partner = w.partner.case if w.partner else None
        return partner.ref if partner else f"external:DEMO-EXT/{w.rng.randint(100, 999)}"
    return None
