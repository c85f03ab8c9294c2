"""Typed text at the boundary: one line, no control characters, bounded, never echoed back."""

from __future__ import annotations

import pytest

from carepath.engine.errors import InvalidInput, NotFound, shown
from carepath.engine.text import email_address, one_line


def test_one_line_strips_and_keeps_ordinary_text() -> None:
    assert one_line("  Fostering North ", "the team name", 200) == "Fostering North"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "the team name is empty"),
        ("   ", "the team name is empty"),
        ("North\nSouth", "the team name must be one line without control characters"),
        ("North\r\nBcc: x@evil.example", "the team name must be one line without control characters"),
        ("Nor\x07th", "the team name must be one line without control characters"),
        ("Nor\u2028th", "the team name must be one line without control characters"),
        ("N" * 201, "the team name is longer than 200 characters"),
    ],
)
def test_one_line_refuses_with_a_message_that_does_not_echo_the_value(value: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        one_line(value, "the team name", 200)
    assert str(refused.value) == message


def test_email_address_is_normalised() -> None:
    assert email_address("  Sam@Council.Example ") == "sam@council.example"


@pytest.mark.parametrize("value", ["sam", "sam@", "@council.example", "sam smith@council.example", "a@b@c"])
def test_email_address_refuses_what_is_not_one(value: str) -> None:
    with pytest.raises(InvalidInput, match=r"^email is not an email address"):
        email_address(value)


def test_email_address_refuses_control_characters_and_length() -> None:
    with pytest.raises(InvalidInput, match="one line"):
        email_address("sam@council.example\r\nX-Header: y")
    with pytest.raises(InvalidInput, match="longer than 320"):
        email_address("a" * 320 + "@council.example")


def test_not_found_messages_quote_a_bounded_escaped_key() -> None:
    assert len(str(NotFound("user", "x" * 5000))) < 100
    assert "\n" not in str(NotFound("user", "a\nb"))
    assert shown("short") == "'short'"
