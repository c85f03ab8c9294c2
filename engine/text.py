"""What a person types, checked at the boundary: text, references, emails, notes, fact values, dates, choices.

Text is one line (or, for notes, lines) without control characters, valid Unicode (no lone
surrogates, which is how undecodable bytes from a command line arrive) and of a bounded length;
numbers are finite and exact in JSON; dates fall in a sane range. Refusals never echo the value
back (it may be long, or hold line breaks meant for an email header); they say what was wrong with
it. The checks are plain functions of the standard library, so the engine stays pure.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from carepath.engine.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Control characters but the line break and tab a note may hold.
_NOTE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: The longest email address the standards allow (and the column holds).
EMAIL_MAX = 320
#: The longest local part (before the @) and domain label RFC 5321 allows.
_LOCAL_MAX, _LABEL_MAX, _DOMAIN_MAX = 64, 63, 255
#: A dot-atom local part: no quoting, no comments, no spaces, commas or angle brackets.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
#: A domain label: letters, digits and inner hyphens (internationalised names in their xn-- form).
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
#: A case reference as the column holds it: letters, digits and - / _ . inside, at most 40 characters.
REF_MAX = 40
_REF = re.compile(r"[A-Za-z0-9]([A-Za-z0-9/_.-]*[A-Za-z0-9])?")
#: A note or a reason for the history.
NOTE_MAX = 4000
#: A fact's name, and one text value of a fact.
FACT_NAME_MAX, FACT_TEXT_MAX = 80, 1000
#: All of one command's facts, as the JSON they are stored as (roughly), and how deep a value may nest.
FACTS_MAX, FACT_DEPTH = 20_000, 4
_FACT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: Integers JSON readers hold exactly (JavaScript's safe integers).
INT_MAX = 2**53 - 1
#: Row ids: PostgreSQL's ``integer``.
ID_MAX = 2**31 - 1
#: Dates carepath accepts: nothing it tracks happened before 1900, and nothing is planned past 2100.
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2100, 12, 31)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _unicode(text: str, what: str, verb: str = "is") -> None:
    if _SURROGATE.search(text):
        raise InvalidInput(f"{what} {verb} not valid UTF-8 text")


def one_line(value: str, what: str, max_len: int, *, plural: bool = False) -> str:
    """``value`` without surrounding space, if it is a non-empty line of at most ``max_len`` characters.

    ``plural``: ``what`` is a plural noun ("the given names"), so the message says "are".

    Raises:
        InvalidInput: naming ``what``: empty, too long, not valid UTF-8, or holding line breaks or
            control characters.
    """
    text = value.strip()
    verb = "are" if plural else "is"
    if not text:
        raise InvalidInput(f"{what} {verb} empty")
    _unicode(text, what, verb)
    if _CONTROL.search(text):
        raise InvalidInput(f"{what} must be one line without control characters")
    if len(text) > max_len:
        raise InvalidInput(f"{what} {verb} longer than {max_len} characters")
    return text


def email_address(value: str, what: str = "email") -> str:
    """``value`` as a normalised (lower-case) email address; ``InvalidInput`` naming ``what`` otherwise.

    One address, ``local@domain``: a dot-atom local part of at most 64 characters (no quoting,
    spaces, commas or angle brackets, so nothing that could smuggle a second address or a header)
    and a domain of dotted labels of letters, digits and inner hyphens.
    """
    text = one_line(value, what, EMAIL_MAX).lower()
    local, at, domain = text.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(local) > _LOCAL_MAX
        or not _LOCAL.fullmatch(local)
        or len(domain) > _DOMAIN_MAX
        or len(labels) < 2
        or not all(len(label) <= _LABEL_MAX and _LABEL.fullmatch(label) for label in labels)
    ):
        raise InvalidInput(f"{what} is not an email address (name@example.org)")
    return text


def reference(value: str, what: str = "the case reference") -> str:
    """A case reference someone gave: letters, digits and ``- / _ .`` inside, at most ``REF_MAX``."""
    text = one_line(value, what, REF_MAX)
    if not _REF.fullmatch(text):
        raise InvalidInput(f"{what} may hold only letters, digits and - / _ . (like FC-2026-0001)")
    return text


#: A case reference as a journey hands them out: its prefix, a four-digit year, a number of 4 to 9 digits.
_JOURNEY_REF = re.compile(r"([A-Za-z]{2,5})-([0-9]{4})-([0-9]{4,9})")


def journey_reference(value: str, prefix: str, latest_year: int, what: str = "the case reference") -> str:
    """A reference someone gave for a new case, in the journey's own pattern ``<PREFIX>-<YYYY>-<NNNN>``.

    Returned upper case and canonical (the number at least four digits, as carepath hands them out,
    so ``sm-2026-00001`` is ``SM-2026-0001``). The year lies between ``DATE_MIN`` and
    ``latest_year`` (the year the case opens); the number is 1 or more. Refusals name the pattern
    and never echo the value (a name and a date of birth typed as a reference stay out of the
    error, the log and any email).
    """
    pattern = f"{prefix}-YYYY-NNNN (like {prefix}-{latest_year}-0001), or give none to have one generated"
    try:
        text = one_line(value, what, REF_MAX)  # as ``reference``: one bounded line...
    except InvalidInput as exc:
        raise InvalidInput(f"{exc}; use the pattern {pattern}") from None
    match = _JOURNEY_REF.fullmatch(text)  # ...in the journey's form, a narrower one than ``reference`` allows
    if match is None or match[1].upper() != prefix:
        raise InvalidInput(f"{what} must follow the pattern {pattern}")
    year, number = int(match[2]), int(match[3])
    if not DATE_MIN.year <= year <= latest_year:
        raise InvalidInput(f"{what}'s year must be from {DATE_MIN.year} to {latest_year}, the year the case opens")
    if number < 1:
        raise InvalidInput(f"{what}'s number must be 1 or more (like {prefix}-{latest_year}-0001)")
    return f"{prefix}-{year}-{number:04d}"


def lookup_reference(value: str) -> str | None:
    """A reference someone typed to find a case, as references are stored (upper case, no
    surrounding space); ``None`` if it could name no case (see ``findable``): not found, unasked."""
    text = value.strip()
    return text.upper() if text and len(text) <= REF_MAX and findable(text) else None


def note(value: str | None, what: str = "the note") -> str | None:
    """A note for the history: lines of text (no other control characters), at most ``NOTE_MAX``;
    blank is ``None``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    _unicode(text, what)
    if _NOTE_CONTROL.search(text):
        raise InvalidInput(f"{what} holds control characters")
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"{what} is longer than {NOTE_MAX} characters")
    return text


def fact_values(facts: Mapping[str, Any]) -> dict[str, Any]:
    """``facts`` if every name and value can be stored and read back as JSON; ``InvalidInput`` otherwise.

    Names are identifiers; values are text (one line, at most ``FACT_TEXT_MAX``; a ``YYYY-MM-DD``
    one a real date in range), finite numbers, integers JSON holds exactly, booleans, null, or
    short lists and objects of these.
    """
    out: dict[str, Any] = {}
    budget = [FACTS_MAX]
    for name, value in facts.items():
        what = f"fact {name!r}" if len(name) <= FACT_NAME_MAX and _FACT_NAME.fullmatch(name) else "a fact name"
        if what == "a fact name":
            _unicode(name, what)
            raise InvalidInput("a fact name must be letters, digits and _ (starting with a letter), at most 80")
        out[name] = _fact_value(value, what, 0, budget)
    return out


def _fact_value(value: Any, what: str, depth: int, budget: list[int]) -> Any:
    budget[0] -= 8
    if budget[0] < 0:
        raise InvalidInput(f"the facts are too large (at most {FACTS_MAX:,} characters in all)")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > INT_MAX:
            raise InvalidInput(f"{what} is a number too large to keep exactly (at most {INT_MAX:,})")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{what} is not a finite number (NaN and Infinity are refused)")
        return value
    if isinstance(value, str):
        budget[0] -= len(value)
        if budget[0] < 0:
            raise InvalidInput(f"the facts are too large (at most {FACTS_MAX:,} characters in all)")
        text = one_line(value, what, FACT_TEXT_MAX) if value.strip() else value
        if _ISO_DAY.fullmatch(text):
            try:
                day_in_range(date.fromisoformat(text), what)
            except ValueError as exc:
                if isinstance(exc, InvalidInput):
                    raise
                raise InvalidInput(f"{what} is not a real date (YYYY-MM-DD)") from None
        return text
    if depth >= FACT_DEPTH:
        raise InvalidInput(f"{what} nests lists or objects more than {FACT_DEPTH} deep")
    if isinstance(value, list | tuple):
        return [_fact_value(v, what, depth + 1, budget) for v in value]
    if isinstance(value, dict):
        inner: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidInput(f"{what} has a key that is not text")
            one_line(k, f"a key in {what}", FACT_NAME_MAX)
            inner[k] = _fact_value(v, what, depth + 1, budget)
        return inner
    raise InvalidInput(f"{what} is not text, a number, yes/no or a list")


def day_in_range(day: date, what: str = "the date") -> date:
    """``day`` if it lies in ``DATE_MIN``..``DATE_MAX``; ``InvalidInput`` naming ``what`` otherwise."""
    if day < DATE_MIN:
        raise InvalidInput(f"{what} {day.isoformat()} is before {DATE_MIN.isoformat()}")
    if day > DATE_MAX:
        raise InvalidInput(f"{what} {day.isoformat()} is after {DATE_MAX.isoformat()}")
    return day


def record_id(value: int, what: str = "the id") -> int:
    """A row id someone typed: a whole number in 1..``ID_MAX``."""
    if not 1 <= value <= ID_MAX:
        raise InvalidInput(f"{what} must be a number from 1 to {ID_MAX:,}")
    return value


def choice(value: str, options: Iterable[str], what: str) -> str:
    """``value`` if it is one of ``options``; otherwise ``InvalidInput`` listing them, with a "did you mean"."""
    known = list(dict.fromkeys(options))
    if value in known:
        return value
    close = difflib.get_close_matches(value[:200], known, n=1, cutoff=0.6) if len(value) <= 200 else []
    hint = f"did you mean {close[0]!r}? " if close else ""
    listed = ", ".join(sorted(known)) if len(known) <= 30 else ", ".join(sorted(known)[:30]) + ", ..."
    raise InvalidInput(f"unknown {what}: {hint}use one of {listed}")


#: The longest cursor a list hands out (a sort key: dates, ids, a reference or an email).
CURSOR_MAX = 400


def cursor(value: str | None) -> str | None:
    """An ``--after`` cursor as a list gave it: one bounded line whose numeric parts are ids."""
    if value is None:
        return None
    text = one_line(value, "the cursor (--after)", CURSOR_MAX)
    if any(part.isascii() and part.isdigit() and int(part[:12]) > ID_MAX for part in text.split("~")):
        raise InvalidInput("the cursor (--after) is not one this list gave")
    return text


def findable(value: str, max_len: int = 400) -> bool:
    """Whether ``value`` could name something stored (a reference, a name): bounded, no control
    characters, valid Unicode. Lookups refuse anything else as not found, without asking the database."""
    return len(value) <= max_len and not _CONTROL.search(value) and not _SURROGATE.search(value)
