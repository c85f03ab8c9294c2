"""People on cases: the child, applicants, partners, household members, birth parents, connected people.

A ``Person`` is a record of someone a case is about (never a user of carepath: those are
``storage.people``'s users). A person is linked to one or more cases, each time with their
``PersonRole`` in that case (a ``Participant``). The code lists (roles, sex, ethnicity) live
here and only here; the CLI's help and the checks read them.

Everything a person types about a person is checked here, at the boundary, with the helpers of
``engine.text``: names are one bounded line, a date of birth is a real day in range and not in
the future, sex and ethnicity are codes from their lists, contact details are one bounded line.

The name keys (``name_key``) narrow a forgiving search in SQL: a Soundex-style code of each token
of a person's names, over the names folded to plain lower-case letters. The scoring of the candidates
(spelling distance) is the read model's, outside the engine.

Personal data never leaves through email: nothing in this module is given to the notifications.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

from carepath.engine.errors import InvalidInput
from carepath.engine.text import choice, day_in_range, one_line

PersonRole = Literal["child", "applicant", "partner", "household_member", "birth_parent", "connected_person"]

#: A person's role in one case, with its label.
PERSON_ROLES: Mapping[str, str] = MappingProxyType(
    {
        "child": "Child",
        "applicant": "Applicant (prospective foster carer or adopter)",
        "partner": "Applicant's partner",
        "household_member": "Household member",
        "birth_parent": "Birth parent",
        "connected_person": "Connected person (family and friends)",
    }
)

#: Sex as the DfE returns record it (SSDA903 ``SEX``: 1 male, 2 female; the CIN census adds 0 not
#: known and 9 not stated, as ISO/IEC 5218): code -> (label, the returns' code).
SEX: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "male": ("Male", "1"),
        "female": ("Female", "2"),
        "not_known": ("Not known", "0"),
        "not_stated": ("Not stated", "9"),
    }
)

#: Ethnicity: the DfE's codes for the children looked after (SSDA903), children in need and school
#: census returns, with their labels (the 2001 census categories, plus refused and not obtained).
ETHNICITY: Mapping[str, str] = MappingProxyType(
    {
        "WBRI": "White British",
        "WIRI": "White Irish",
        "WIRT": "Traveller of Irish heritage",
        "WROM": "Gypsy/Roma",
        "WOTH": "Any other White background",
        "MWBC": "White and Black Caribbean",
        "MWBA": "White and Black African",
        "MWAS": "White and Asian",
        "MOTH": "Any other mixed background",
        "AIND": "Indian",
        "APKN": "Pakistani",
        "ABAN": "Bangladeshi",
        "AOTH": "Any other Asian background",
        "BCRB": "Black Caribbean",
        "BAFR": "Black African",
        "BOTH": "Any other Black background",
        "CHNE": "Chinese",
        "OOTH": "Any other ethnic group",
        "REFU": "Refused",
        "NOBT": "Information not yet obtained",
    }
)

#: The longest given names or family name (the columns' width).
NAME_MAX = 100
#: The longest contact details (an address, a phone number, an email: free text on one line).
CONTACT_MAX = 500
#: The length of a name key (``name_key``).
KEY_LEN = 4


@dataclass(frozen=True, slots=True)
class PersonDetails:
    """What is known of a person, checked (``person_details``)."""

    given_names: str
    family_name: str
    born_on: date | None
    sex: str | None
    ethnicity: str | None
    contact: str | None

    @property
    def full_name(self) -> str:
        return f"{self.given_names} {self.family_name}"


@dataclass(frozen=True, slots=True)
class Person:
    """A stored person: their number (``id``) and details."""

    id: int
    details: PersonDetails


@dataclass(frozen=True, slots=True)
class Participant:
    """A person in one case, in a role."""

    case_ref: str
    role: str
    person: Person


def person_role(value: str) -> str:
    """``value`` if it is a role in ``PERSON_ROLES`` (``household-member`` reads as ``household_member``)."""
    return choice(value.strip().replace("-", "_"), PERSON_ROLES, "role in the case")


def person_details(
    given_names: str,
    family_name: str,
    *,
    today: date,
    born_on: date | None = None,
    sex: str | None = None,
    ethnicity: str | None = None,
    contact: str | None = None,
) -> PersonDetails:
    """The details, checked; ``InvalidInput`` naming the first thing wrong (never echoing a value)."""
    given = one_line(given_names, "the given names", NAME_MAX, plural=True)
    family = one_line(family_name, "the family name", NAME_MAX)
    if born_on is not None:
        day_in_range(born_on, "the date of birth")
        if born_on > today:
            raise InvalidInput("the date of birth is in the future")
    if sex is not None:
        sex = choice(sex.strip().lower().replace("-", "_").replace(" ", "_"), SEX, "sex")
    if ethnicity is not None:
        ethnicity = choice(ethnicity.strip().upper(), ETHNICITY, "ethnicity code (DfE)")
    if contact is not None:
        contact = one_line(contact, "the contact details", CONTACT_MAX, plural=True) if contact.strip() else None
    return PersonDetails(given, family, born_on, sex, ethnicity, contact)


def fold(text: str) -> str:
    """``text`` as plain lower-case letters and spaces: accents dropped, punctuation and digits gone."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c if c.isalpha() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.split())


_SOUNDEX = {c: d for d, letters in {"1": "bfpv", "2": "cgjkqsxz", "3": "dt", "4": "l", "5": "mn", "6": "r"}.items()
            for c in letters}  # fmt: skip


def name_key(token: str) -> str:
    """A Soundex-style key of one name (``Quillfeather`` and ``Quilfether`` both ``q413``).

    Over the folded name: its first letter, then the codes of the consonants that follow, a run of
    one code counted once (h and w do not split a run, vowels do), padded with 0 to ``KEY_LEN``.
    A name in a script Soundex does not code keeps its first letters. Empty for an empty name.
    """
    letters = fold(token).replace(" ", "")
    if not letters:
        return ""
    if not letters.isascii():
        return letters[:KEY_LEN]
    out = letters[0]
    last = _SOUNDEX.get(letters[0], "")
    for c in letters[1:]:
        code = _SOUNDEX.get(c, "")
        if code and code != last:
            out += code
            if len(out) == KEY_LEN:
                break
        if c not in "hw":
            last = code
    return out.ljust(KEY_LEN, "0")


def search_keys(name: str) -> frozenset[str]:
    """The keys of every token of a name someone searches for (``"Zeb Quilfether"``: ``z100``, ``q413``)."""
    return frozenset(k for k in (name_key(t) for t in fold(name).split()) if k)


def stored_keys(details: PersonDetails) -> frozenset[str]:
    """The keys a person is found by: one per token of their given names and family name."""
    return search_keys(details.full_name)
