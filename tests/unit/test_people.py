"""The people cases are about, checked at the boundary: names, dates of birth, code lists, name keys."""

from __future__ import annotations

from datetime import date

import pytest

from carepath.engine.errors import InvalidInput
from carepath.engine.people import (
    ETHNICITY,
    PERSON_ROLES,
    SEX,
    fold,
    name_key,
    person_details,
    person_role,
    search_keys,
    stored_keys,
)

TODAY = date(2026, 11, 2)


def test_details_are_trimmed_and_coded() -> None:
    d = person_details(
        "  Zebediah ",
        "Quillfeather",
        today=TODAY,
        born_on=date(2015, 3, 1),
        sex="Not known",
        ethnicity="wbri",
        contact=" 1 Acacia Avenue ",
    )
    assert (d.given_names, d.family_name, d.sex, d.ethnicity, d.contact) == (
        "Zebediah",
        "Quillfeather",
        "not_known",
        "WBRI",
        "1 Acacia Avenue",
    )
    assert d.full_name == "Zebediah Quillfeather"
    assert person_details("A", "B", today=TODAY, contact="   ").contact is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"given_names": ""}, "the given names are empty"),
        ({"family_name": "   "}, "the family name is empty"),
        ({"given_names": "Ann\r\nBcc: x@evil.example"}, "one line"),
        ({"family_name": "x" * 101}, "longer than 100"),
        ({"family_name": "bad\ud800"}, "not valid UTF-8"),
        ({"born_on": date(2026, 11, 3)}, "in the future"),
        ({"born_on": date(1899, 12, 31)}, "before 1900-01-01"),
        ({"sex": "m"}, "unknown sex"),
        ({"ethnicity": "WBR"}, "did you mean 'WBRI'"),
        ({"contact": "x" * 501}, "longer than 500"),
        ({"contact": "line\nbreak"}, "one line"),
    ],
)
def test_bad_details_are_refused_without_echoing(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"given_names": "Ann", "family_name": "Smith", **kwargs}
    with pytest.raises(InvalidInput, match=message) as exc:
        person_details(today=TODAY, **args)  # type: ignore[arg-type]
    assert "evil" not in str(exc.value)
    assert "xxxx" not in str(exc.value)


def test_born_today_is_allowed() -> None:
    assert person_details("A", "B", today=TODAY, born_on=TODAY).born_on == TODAY


def test_roles_and_codes_are_one_list_each() -> None:
    assert list(PERSON_ROLES) == [
        "child",
        "applicant",
        "partner",
        "household_member",
        "birth_parent",
        "connected_person",
    ]
    assert person_role("household-member") == "household_member"
    with pytest.raises(InvalidInput, match="unknown role in the case"):
        person_role("kid")
    assert {code for _, code in SEX.values()} == {"0", "1", "2", "9"}
    assert len(ETHNICITY) == 20
    assert all(len(code) == 4 and code.isupper() for code in ETHNICITY)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Quillfeather", "Quilfether"),
        ("Zebediah", "Zebedia"),
        ("Smith", "Smyth"),
        ("Müller", "Muller"),
        ("O'Brien", "OBrien"),
        ("Ashcraft", "Ashcroft"),
    ],
)
def test_spellings_of_a_name_share_a_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_keys() -> None:
    assert name_key("Tymczak") == "t522"
    assert name_key("Pfister") == "p236"
    assert name_key("Lee") == "l000"
    assert name_key("--") == ""
    assert name_key("محمد") == "محمد"  # a script Soundex does not code keeps its first letters
    assert fold("  Zoë  O'Brien-Smith ") == "zoe o brien smith"
    assert search_keys("Zeb Quilfether") == {"z100", "q413"}
    d = person_details("Anne Marie", "Van der Berg", today=TODAY)
    assert stored_keys(d) == {name_key(t) for t in ("anne", "marie", "van", "der", "berg")}
