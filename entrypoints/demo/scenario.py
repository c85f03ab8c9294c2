"""Who and what the demo caseload is about: the service, its journeys and fictional names.

Names are obviously fictional ("The Testington household", "Child Alpha-017") and live only
in case facts (``household_name``, ``child_name``) and the people on the cases ("Fictoria
Testington", "Alpha Fibbington": ``participants``), which emails never carry. Every address
is on a reserved domain.
"""

from __future__ import annotations

from dataclasses import dataclass

DOMAIN = "demo.carepath.invalid"
FOSTERING_TEAM = "Demo Fostering Team"
ADOPTION_TEAM = "Demo Adoption Team"
#: Enquiries arrive over this many days before today.
WINDOW_DAYS = 730
#: Children's paths are long: some came into care up to this many days before the window (about
#: two and a half years: children adopted in the scorecard's last three years ending 31 March).
CHILD_HEAD_START = 900

FOSTER = "foster_carer_approval"
CONNECTED = "connected_person_approval"
CARER = "approved_foster_carer"
ADOPTER = "prospective_adopter_approval"
CHILD = "child_adoption_pathway"
#: Journeys a household or child may start on, with the share of households for each.
HOUSEHOLD_SHARE: dict[str, float] = {FOSTER: 0.72, ADOPTER: 0.18, CONNECTED: 0.10}
#: Success in one journey opens a case on another (the approved carer's life after approval),
#: preferring some moves there (family and friends carers register as such).
FOLLOW_ON: dict[str, tuple[str, tuple[str, ...]]] = {
    FOSTER: (CARER, ("register_mainstream_carer",)),
    CONNECTED: (CARER, ("register_family_and_friends_carer",)),
}
#: Share of households that were already approved carers when the window opened.
EXISTING_CARERS = 0.06

# -- partner cases (a child and the adopters linked with them) -------------------------------------

#: Moves a case makes only because its partner case moved (the adopters' side of a match).
PARTNER_ONLY: dict[str, frozenset[str]] = {
    ADOPTER: frozenset({"record_match", "end_match", "record_placement", "record_disruption", "record_adoption_order"}),
}
#: The fact on a child's case naming the linked adopters' case.
PARTNER_FACT = "adopter_case_ref"
#: The moves on the child's case the adopters' case records the same day (``None``: the link
#: ends, nothing to record).
PARTNER_MOVES: dict[str, str | None] = {
    "decide_match": "record_match",
    "place_for_adoption": "record_placement",
    "record_adoption_order": "record_adoption_order",
    "record_disruption": "record_disruption",
    "change_plan": "end_match",
    "decide_not_to_match": None,
    "end_link": None,
}
#: The adopters' move a match leads to: adopters who can make it are waiting for a link.
LINK_MOVE = "record_match"
#: Partner moves that end the link.
UNLINKING_MOVES = ("end_match", "record_disruption")

# -- the organisation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """One demo user: ``first.role@demo.carepath.invalid``."""

    first: str
    role: str
    team: str | None = None

    @property
    def email(self) -> str:
        """The reserved-domain address."""
        return f"{self.first.lower()}.{self.role.replace('_', '')}@{DOMAIN}"

    @property
    def name(self) -> str:
        """An obviously fictional display name."""
        return f"Demo {self.role.replace('_', ' ').title()} {self.first}"


PEOPLE: tuple[Person, ...] = (
    Person("Fiona", "team_manager", FOSTERING_TEAM),
    Person("Sam", "service_manager", FOSTERING_TEAM),
    Person("Amy", "caseworker", FOSTERING_TEAM),
    Person("Ben", "caseworker", FOSTERING_TEAM),
    Person("Cara", "caseworker", FOSTERING_TEAM),
    Person("Dev", "caseworker", FOSTERING_TEAM),
    Person("Tom", "team_manager", ADOPTION_TEAM),
    Person("Sara", "service_manager", ADOPTION_TEAM),
    Person("Eve", "caseworker", ADOPTION_TEAM),
    Person("Finn", "caseworker", ADOPTION_TEAM),
    Person("Gita", "caseworker", ADOPTION_TEAM),
    Person("Pat", "panel_coordinator"),
    Person("Pia", "panel_adviser"),
    Person("Dora", "agency_decision_maker"),
    Person("Dan", "agency_decision_maker"),
    Person("Nina", "nominated_officer"),
    Person("Ivy", "irm_liaison_officer"),
    Person("Omar", "iro"),
)
#: Independent panel members: not users, only named (by email) in ``panel_members`` facts.
PANEL_MEMBERS = tuple(f"{n}.panel@{DOMAIN}" for n in ("chair", "vicechair", "socialworker", "member1", "member2"))

# -- synthetic names and values --------------------------------------------------------------------

SURNAMES = (
    "Testington",
    "Sampleworth",
    "Mockford",
    "Placeholder",
    "Dummerby",
    "Exampleton",
    "Fictionshire",
    "Notreal",
    "Pretendly",
    "Madeupson",
    "Specimen",
    "Trialby",
)
#: Family names of the people who are not the household's own: a partner who kept their name, a
#: child's birth family. As obviously made up as the households' names.
OTHER_SURNAMES = (
    "Figmentson",
    "Inventley",
    "Makebelieve",
    "Nonesuch",
    "Hypothetico",
    "Unrealton",
    "Fabricaster",
    "Fauxley",
    "Shamwell",
    "Fibbington",
    "Pretendwick",
    "Imaginsby",
)
#: Given names of the people on the cases, invented in the households' style.
GIVEN_NAMES = (
    "Fictoria",
    "Samplo",
    "Testria",
    "Mockwin",
    "Dummia",
    "Exemplo",
    "Pretenda",
    "Madeupa",
    "Trialla",
    "Specimo",
    "Notrealia",
    "Fakely",
    "Inventia",
    "Figmund",
    "Placehelda",
    "Fablewin",
)
GREEK = ("Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta", "Iota", "Kappa", "Lambda", "Mu")
TERMS = (
    "1 child aged 0-18, short term and respite",
    "Up to 2 children aged 5-12, long term",
    "1 child aged 0-4, short term",
    "Up to 3 siblings aged 0-16, short or long term",
    "Named child only (family and friends)",
)
HOLD_TEXT = (
    "house move",
    "illness in the household",
    "bereavement",
    "applicants asked for a pause",
    "new baby in the household",
    "change of job",
)


def household_name(n: int) -> str:
    """A fictional household's name.

    Args:
        n: the household's number.

    Returns:
        ``The Testington household (demo 017)``.
    """
    return f"The {SURNAMES[n % len(SURNAMES)]} household (demo {n:03d})"


def surname_of(household: str) -> str | None:
    """The family name in a ``household_name`` (``The Testington household (demo 017)``: ``Testington``)."""
    words = household.split()
    return words[1] if len(words) > 2 and words[0] == "The" and words[2] == "household" else None


def letter_of(child: str) -> str | None:
    """The letter in a ``child_name`` (``Child Alpha-017``: ``Alpha``)."""
    words = child.split()
    return words[1].split("-")[0] if len(words) == 2 and words[0] == "Child" else None


def child_name(n: int) -> str:
    """A fictional child's name.

    Args:
        n: the child's number.

    Returns:
        ``Child Alpha-017``.
    """
    return f"Child {GREEK[n % len(GREEK)]}-{n:03d}"
