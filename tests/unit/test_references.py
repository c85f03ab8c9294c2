"""Case references at the boundary (issue 10, point 2): the journey's pattern for a new case, and
any letter case for a lookup (references are stored upper case)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carepath.engine.errors import InvalidInput
from carepath.engine.text import journey_reference, lookup_reference


def refusal(value: str, prefix: str = "FC", year: int = 2026) -> str:
    with pytest.raises(InvalidInput) as caught:
        journey_reference(value, prefix, year)
    return str(caught.value)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("FC-2026-0001", "FC-2026-0001"),
        (" fc-2026-0042 ", "FC-2026-0042"),
        ("Fc-2025-0001", "FC-2025-0001"),
        ("FC-2026-00007", "FC-2026-0007"),
        ("FC-2026-123456789", "FC-2026-123456789"),
        ("FC-1900-0001", "FC-1900-0001"),
    ],
)
def test_a_reference_in_the_pattern_is_kept_upper_case_and_canonical(given: str, stored: str) -> None:
    assert journey_reference(given, "FC", 2026) == stored


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("Jane SMITH dob 2015-03-01", "the case reference must follow the pattern FC-YYYY-NNNN (like FC-2026-0001)"),
        ("   ", "the case reference is empty; use the pattern FC-YYYY-NNNN"),
        ("", "the case reference is empty"),
        ("FC-2026-0001\r\nBcc: x@evil.test", "must be one line without control characters; use the pattern"),
        ("F" * 120_000, "is longer than 40 characters; use the pattern FC-YYYY-NNNN"),
        ("PA-2026-0001", "must follow the pattern FC-YYYY-NNNN"),
        ("FC-2026-001", "must follow the pattern"),
        ("FC-2026-1234567890", "must follow the pattern"),
        ("FC-26-0001", "must follow the pattern"),
        ("FC_2026_0001", "must follow the pattern"),
        ("FC-2026-0001/2", "must follow the pattern"),
        ("FC-2026-\uff10\uff10\uff10\uff11", "must follow the pattern"),  # fullwidth digits
        ("FC-2027-0001", "year must be from 1900 to 2026, the year the case opens"),
        ("FC-1899-0001", "year must be from 1900 to 2026"),
        ("FC-2026-0000", "number must be 1 or more"),
    ],
)
def test_anything_else_is_refused_naming_the_pattern_not_the_value(given: str, message: str) -> None:
    text = refusal(given)
    assert message in text
    assert len(text) < 200
    assert "Jane" not in text
    assert "\n" not in text


@given(st.text(max_size=60))
def test_whatever_is_typed_is_refused_or_kept_in_the_pattern(typed: str) -> None:
    problem: str | None = None
    try:
        stored = journey_reference(typed, "SM", 2026)
    except InvalidInput as exc:
        problem = str(exc)
    if problem is not None:
        assert "SM-YYYY-NNNN" in problem or "year must be" in problem or "number must be" in problem
        assert len(problem) < 200
    else:
        prefix, year, number = stored.split("-")
        assert (prefix, len(year), number.isascii(), number.isdigit(), len(number) >= 4) == ("SM", 4, True, True, True)
        assert stored == typed.strip().upper() or int(number) == int(typed.strip().rsplit("-", 1)[1])


def test_a_lookup_is_upper_case_or_nothing() -> None:
    assert lookup_reference(" fc-2026-0001 ") == "FC-2026-0001"
    assert lookup_reference("FC-2026-0001") == "FC-2026-0001"
    for nothing in ("", "   ", "FC\x00", "F" * 41, "bad \udcff bytes"):
        assert lookup_reference(nothing) is None
