"""The people each demo case is about, added as the case opens, by its owner, as a caseworker would.

- a foster carer's or adopters' approval: the applicant, and often a partner (the household's
  family name, sometimes their own);
- a connected-person approval: the connected carer (family and friends);
- an approved carer's case: the people of the approval it follows (linked, the same records), or
  for a carer approved before the window, an applicant and often a partner;
- a child's adoption pathway: the child (under five when the case opens, so under eighteen on
  every day the case runs) and sometimes a birth parent, with the child's family name.

Every name is obviously fictional (``scenario``'s lists). The draws come from a random source of
their own, seeded by the caseload's seed: the same seed gives the same people, and the cases,
moves, deadlines and mail are the same as if there were no people at all (their random sources
never see these draws).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from carepath.engine.case import Actor, Case
from carepath.engine.facts import FOLLOWS
from carepath.entrypoints.demo.gateway import Gateway
from carepath.entrypoints.demo.scenario import (
    ADOPTER,
    CARER,
    CHILD,
    CONNECTED,
    FOSTER,
    GIVEN_NAMES,
    GREEK,
    OTHER_SURNAMES,
    SURNAMES,
    letter_of,
    surname_of,
)

#: Chance an applying household is a couple; chance a partner kept their own family name.
COUPLE = 0.65
OWN_NAME = 0.25
#: Chance a child's case records a birth parent.
BIRTH_PARENT = 0.5
#: Ages (years) on the day a case opens: applicants, connected carers (often grandparents), children.
APPLICANT_AGE = (25.0, 62.0)
CONNECTED_AGE = (21.0, 72.0)
CHILD_AGE = (0, 5)
#: How much older than the child a birth parent is (years).
PARENT_GAP = (16, 40)
#: Ethnicity codes (engine.people.ETHNICITY) with their weights.
ETHNICITIES = {
    "WBRI": 70.0,
    "WOTH": 6.0,
    "WIRI": 2.0,
    "MWBC": 3.0,
    "MOTH": 3.0,
    "AIND": 3.0,
    "APKN": 3.0,
    "BAFR": 3.0,
    "BCRB": 2.0,
    "OOTH": 2.0,
    "NOBT": 3.0,
}
YEAR = 365.25


@dataclass(frozen=True, slots=True)
class Someone:
    """A fictional person to add on a case, in a role."""

    role: str
    given_names: str
    family_name: str
    born_on: date
    sex: str
    ethnicity: str


class Participants:
    """Adds each case's people as it opens.

    Args:
        gateway: the application, on the simulation's clock.
        seed: the caseload's random seed.
    """

    def __init__(self, gateway: Gateway, seed: int) -> None:
        self.gateway = gateway
        self.rng = random.Random(f"carepath demo people {seed}")
        #: The people added on each case (by reference): an approved carer's case links its approval's.
        self.on_case: dict[str, list[tuple[int, str]]] = {}

    def add(self, case: Case, owner: Actor, on: date) -> None:
        """Add the people of ``case``, opened on ``on`` and owned by ``owner``.

        Args:
            case: the case just opened (or opened by the service as a follow-on).
            owner: its owner, a caseworker who may add people on it.
            on: the day it opened.
        """
        follows = self.on_case.get(str(case.facts.get(FOLLOWS, "")))
        if case.workflow_id == CARER and follows:
            for person_id, role in follows:
                self.gateway.link_person(person_id, case.ref, role, owner)
            self.on_case[case.ref] = list(follows)
            return
        people = self._people_of(case, on)
        self.on_case[case.ref] = [(self._add(case.ref, p, owner), p.role) for p in people]

    def _add(self, ref: str, p: Someone, owner: Actor) -> int:
        return self.gateway.add_person(
            ref, p.role, p.given_names, p.family_name, owner, born_on=p.born_on, sex=p.sex, ethnicity=p.ethnicity
        )

    def _people_of(self, case: Case, on: date) -> list[Someone]:
        """Who a newly opened case is about, by its journey (nobody on a journey the demo does not know)."""
        if case.workflow_id in (FOSTER, ADOPTER, CARER):
            return self._household(case, on)
        if case.workflow_id == CONNECTED:
            family = self._surname(case)
            return [self._adult("connected_person", family, on, CONNECTED_AGE, self._sex(0.7))]
        if case.workflow_id == CHILD:
            return self._child(case, on)
        return []

    def _household(self, case: Case, on: date) -> list[Someone]:
        family = self._surname(case)
        first = self._adult("applicant", family, on, APPLICANT_AGE, self._sex(0.75))
        if self.rng.random() >= COUPLE:
            return [first]
        partner_family = self.rng.choice(OTHER_SURNAMES) if self.rng.random() < OWN_NAME else family
        sex = self._sex(0.1 if first.sex == "female" else 0.9)
        age = max(21.0, (on - first.born_on).days / YEAR + self.rng.uniform(-8, 8))
        return [first, self._adult("partner", partner_family, on, (age, age), sex)]

    def _child(self, case: Case, on: date) -> list[Someone]:
        letter = letter_of(str(case.facts.get("child_name", ""))) or self.rng.choice(GREEK)
        family = self.rng.choice(OTHER_SURNAMES)
        born = on - timedelta(days=self.rng.randrange(round(CHILD_AGE[1] * YEAR) + 1))
        child = Someone("child", letter, family, born, self._sex(0.5), self._ethnicity())
        if self.rng.random() >= BIRTH_PARENT:
            return [child]
        gap = timedelta(days=round(self.rng.uniform(*PARENT_GAP) * YEAR))
        parent = Someone(
            "birth_parent", self.rng.choice(GIVEN_NAMES), family, born - gap, self._sex(0.8), child.ethnicity
        )
        return [child, parent]

    def _adult(self, role: str, family: str, on: date, ages: tuple[float, float], sex: str) -> Someone:
        born = on - timedelta(days=round(self.rng.uniform(*ages) * YEAR))
        return Someone(role, self.rng.choice(GIVEN_NAMES), family, born, sex, self._ethnicity())

    def _surname(self, case: Case) -> str:
        """The household's family name, from its name on the case (or one drawn if it has none)."""
        return surname_of(str(case.facts.get("household_name", ""))) or self.rng.choice(SURNAMES)

    def _sex(self, female: float) -> str:
        return "female" if self.rng.random() < female else "male"

    def _ethnicity(self) -> str:
        return self.rng.choices(list(ETHNICITIES), list(ETHNICITIES.values()))[0]
