"""The households and children who arrive over the two years before today."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from carepath.entrypoints.demo.scenario import (
    ADOPTER,
    ADOPTION_TEAM,
    CARER,
    CHILD,
    CHILD_HEAD_START,
    EXISTING_CARERS,
    FOSTERING_TEAM,
    HOUSEHOLD_SHARE,
    WINDOW_DAYS,
    child_name,
    household_name,
)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A case to open: when, on which journey, in which team, with which facts.

    Attributes:
        on: the day it opens.
        journey: the workflow id.
        team: the owning team's name.
        facts: facts the case opens with.
        prefer: triggers the walk takes over its usual main move.
        ref: a case already open to walk instead (the approved carer's case an approval opened).
    """

    on: date
    journey: str
    team: str
    facts: Mapping[str, Any]
    prefer: tuple[str, ...] = ()
    ref: str | None = None


def arrivals(rng: random.Random, today: date, households: int, children: int, journeys: Iterable[str]) -> list[Arrival]:
    """Households and children arriving over the two years before ``today``.

    Args:
        rng: the caseload's random source.
        today: the last day of the window.
        households: households making enquiries (a share more are already approved carers).
        children: children on the adoption pathway.
        journeys: the loaded journeys the demo knows; others get no cases.

    Returns:
        The arrivals in date order.
    """
    loaded = set(journeys)
    start = today - timedelta(days=WINDOW_DAYS)
    out = _enquiries(rng, start, households, loaded)
    if CARER in loaded:
        out += _existing_carers(rng, start, households)
    if CHILD in loaded:
        out += _children(rng, start, children)
    return sorted(out, key=lambda a: (a.on, a.journey))


def _enquiries(rng: random.Random, start: date, households: int, loaded: set[str]) -> list[Arrival]:
    shares = {j: s for j, s in HOUSEHOLD_SHARE.items() if j in loaded}
    kinds, weights = list(shares), list(shares.values())
    out: list[Arrival] = []
    for n in range(households if kinds else 0):
        journey = rng.choices(kinds, weights)[0]
        team = ADOPTION_TEAM if journey == ADOPTER else FOSTERING_TEAM
        out.append(Arrival(_weekday(start + timedelta(days=rng.randrange(WINDOW_DAYS))), journey, team, _hh(n + 1)))
    return out


def _existing_carers(rng: random.Random, start: date, households: int) -> list[Arrival]:
    out: list[Arrival] = []
    for n in range(round(households * EXISTING_CARERS)):
        on = _weekday(start + timedelta(days=rng.randrange(120)))
        out.append(Arrival(on, CARER, FOSTERING_TEAM, _hh(households + n + 1)))
    return out


def _children(rng: random.Random, start: date, children: int) -> list[Arrival]:
    out: list[Arrival] = []
    for n in range(children):
        # Children's paths are long: some came into care before the households' window.
        on = _weekday(start - timedelta(days=CHILD_HEAD_START - rng.randrange(WINDOW_DAYS + CHILD_HEAD_START - 30)))
        out.append(Arrival(on, CHILD, ADOPTION_TEAM, {"child_name": child_name(n + 1)}))
    return out


def _hh(n: int) -> dict[str, Any]:
    return {"household_name": household_name(n)}


def _weekday(d: date) -> date:
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d
