"""Text a person types, checked at the boundary: one line, no control characters, a bounded length.

Refusals never echo the value back (it may be long, or hold line breaks meant for an email header);
they say what was wrong with it.
"""

from __future__ import annotations

import re

from carepath.engine.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
#: The longest email address the standards allow (and the column holds).
EMAIL_MAX = 320


def one_line(value: str, what: str, max_len: int) -> str:
    """``value`` without surrounding space, if it is a non-empty line of at most ``max_len`` characters.

    Raises:
        InvalidInput: naming ``what``: empty, too long, or holding line breaks or control characters.
    """
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} is empty")
    if _CONTROL.search(text):
        raise InvalidInput(f"{what} must be one line without control characters")
    if len(text) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    return text


def email_address(value: str, what: str = "email") -> str:
    """``value`` as a normalised (lower-case) email address; ``InvalidInput`` naming ``what`` otherwise."""
    text = one_line(value, what, EMAIL_MAX).lower()
    if not _EMAIL.fullmatch(text):
        raise InvalidInput(f"{what} is not an email address (name@example.org)")
    return text
