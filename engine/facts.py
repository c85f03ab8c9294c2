"""Typed facts: each journey declares its facts once (``facts:`` in its YAML), and every value given
to a case is parsed and checked against that declaration here, whatever the entrypoint.

A declaration (``FactSpec``) gives the fact's type, label, help and constraints:

- ``date``: ``YYYY-MM-DD``; not in the future unless ``future`` (a booked panel date), not before
  the case opened unless ``before_opening`` (a date the case inherits), and ordered against other
  facts: ``not_before`` (on or after each named fact, e.g. minutes received on or after the panel
  sat) and ``not_after``;
- ``text``: one line; ``number``: a finite number; ``yes_no``: yes or no (kept as ``"yes"``/``"no"``,
  the text readiness ``when`` lists compare); ``choice``: one of ``options``;
- ``user``: one email address; ``users``: a list of them (or a comma-separated line), kept as a list;
- ``case``: the reference of a case of the journey (or one of the journeys) named in ``journey``; with
  ``external: true``, or ``external:<AGENCY>/<THEIR-REF>`` for a case another agency holds (adopters
  approved by a voluntary adoption agency). That the case exists, is of the right journey and (with
  ``must_be_open``) is open is checked by the case service in its transaction (``link_problem``);
  ``back`` and ``unlinked_by`` record and end a link on both cases, and a state's ``meta.follow_on``
  opens a follow-on case linked by ``follows``/``followed_by`` (``link_problems`` checks them at load).

Values are normalised as they are stored (a date as its ISO text, a number as a number, emails in
lower case), so a value reads back equal to what was meant. A command line gives text: a CLI passes
the text as typed in a ``TypedText`` mapping, and each type parses it (``--set n=007`` stays ``"007"``
for a text fact). A journey that declares no facts (test fixtures) takes any fact, as before.
Stored values are never re-checked on read: a legacy value that no longer parses still displays.
The boundary checks (lengths, NaN, control characters, date range) are ``engine.text``'s.
Standard library only.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from carepath.engine.definition import FactSpec, WorkflowDef
from carepath.engine.errors import InvalidInput
from carepath.engine.text import FACT_TEXT_MAX, INT_MAX, choice, day_in_range, email_address, one_line, reference

#: What each type is called in a refusal.
_DESCRIBED = {
    "date": "a date YYYY-MM-DD",
    "text": "text",
    "number": "a number",
    "yes_no": "yes or no",
    "choice": "one of its options",
    "user": "an email address",
    "users": "email addresses separated by commas",
    "case": "a case reference",
}
_YES = frozenset({"yes", "y", "true"})
_NO = frozenset({"no", "n", "false"})
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Most members a ``users`` fact holds (a panel is about ten people).
USERS_MAX = 50
#: A case another agency holds: ``external:<AGENCY>/<THEIR-REF>`` (stored upper case after the prefix).
EXTERNAL_PREFIX = "external:"
_EXTERNAL = re.compile(r"external:([A-Z0-9][A-Z0-9-]{1,19})/([A-Z0-9][A-Z0-9-]{0,39})", re.IGNORECASE)
EXTERNAL_FORM = "external:<AGENCY>/<THEIR-REF> (like external:VAA-NORTH/A-1234)"
#: The link facts of a follow-on case (``meta.follow_on``): the new case ``follows`` the one that
#: opened it, which records it as ``followed_by``.
FOLLOWS = "follows"
FOLLOWED_BY = "followed_by"


class TypedText(dict[str, Any]):
    """Facts from a command line: values as the boundary parsed them, with ``texts`` as typed.

    A journey that declares its facts' types parses ``texts`` (so ``--set terms=1.50`` stays text);
    one that does not keeps the values.
    """

    def __init__(self, values: Mapping[str, Any], texts: Mapping[str, str]) -> None:
        super().__init__(values)
        self.texts = dict(texts)


def texts_of(facts: Mapping[str, Any] | None) -> Mapping[str, str]:
    """The values as typed, if ``facts`` came from a command line; else nothing."""
    return facts.texts if isinstance(facts, TypedText) else {}


def _close(name: str, known: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6) if len(name) <= 200 else []
    return found[0] if found else None


def unknown_fact(
    name: str, journey: str, trigger: str, allowed: Iterable[str], declared: Iterable[str]
) -> InvalidInput:
    """The refusal of a fact the move does not take, with a "did you mean" when one is close."""
    allowed = sorted(allowed)
    guess = _close(name, allowed) or _close(name, [n for n in declared if n != name])
    hint = f"did you mean {guess!r}? " if guess else ""
    what = "opening a case" if trigger == "open" else trigger
    takes = f"{what} takes " + (", ".join(allowed) if allowed else "no facts")
    if name in set(declared):
        return InvalidInput(f"fact {name!r} is not recorded by {what}: {hint}{takes}")
    return InvalidInput(f"unknown fact {name!r} for {journey}: {hint}{takes}")


def parse_value(spec: FactSpec, value: Any, text: str | None = None) -> Any:
    """``value`` (or ``text``, as typed at a command line) as fact ``spec`` keeps it.

    Raises:
        InvalidInput: the value is not of the fact's type (naming the fact, never echoing the value).
    """
    what = f"fact {spec.name!r}"
    given: Any = text if text is not None else value
    if given is None or (isinstance(given, str) and not given.strip()):
        raise InvalidInput(f"{what} is empty")
    if isinstance(given, str):
        given = one_line(given, what, FACT_TEXT_MAX)
    wrong = InvalidInput(f"{what} must be {_described(spec)}")
    if spec.type == "date":
        if isinstance(given, date):
            return day_in_range(given, what).isoformat()
        if not isinstance(given, str) or not _ISO_DAY.fullmatch(given):
            raise wrong
        try:
            day = date.fromisoformat(given)
        except ValueError:
            raise InvalidInput(f"{what} is not a real date (YYYY-MM-DD)") from None
        return day_in_range(day, what).isoformat()
    if spec.type == "number":
        return _number(given, what, wrong)
    if spec.type == "yes_no":
        if isinstance(given, bool):
            return "yes" if given else "no"
        if isinstance(given, str) and given.lower() in _YES | _NO:
            return "yes" if given.lower() in _YES else "no"
        raise wrong
    if spec.type == "users":
        return _users(given, what, wrong)
    if not isinstance(given, str):
        raise wrong
    if spec.type == "text":
        return given
    if spec.type == "choice":
        return choice(given, spec.options, f"value for {what}")
    if spec.type == "user":
        return email_address(given, what)
    if spec.type == "case":
        if given[: len(EXTERNAL_PREFIX)].lower() == EXTERNAL_PREFIX:
            return _external(spec, given, what)
        return reference(given, what)
    raise AssertionError(spec.type)


def _external(spec: FactSpec, given: str, what: str) -> str:
    if not spec.external:
        raise InvalidInput(f"{what} names a case held here; an external reference is not accepted for it")
    match = _EXTERNAL.fullmatch(given)
    if match is None:
        raise InvalidInput(f"{what} must be an external reference {EXTERNAL_FORM}")
    return f"{EXTERNAL_PREFIX}{match[1].upper()}/{match[2].upper()}"


def is_external(value: Any) -> bool:
    """Whether a stored case-link value names a case another agency holds (no case here)."""
    return isinstance(value, str) and value.startswith(EXTERNAL_PREFIX)


def journey_noun(d: WorkflowDef) -> str:
    """What a case of journey ``d`` is called in a sentence: ``foster carer approval``."""
    title = re.sub(r"\s*\(.*?\)", "", d.title).strip() or d.id
    return title[:1].lower() + title[1:]


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def link_problem(
    spec: FactSpec, ref: str, linked: WorkflowDef, status: str, *, own_ref: str, wanted: Iterable[str]
) -> str | None:
    """Why case ``ref`` (of journey ``linked``, with ``status``) may not be the value of case fact
    ``spec``; ``None`` if it may. ``wanted``: what the journeys the fact links to are called."""
    if ref == own_ref:
        return f"{ref} cannot be linked to itself ({spec.name})"
    if spec.journeys and linked.id not in spec.journeys:
        return f"{ref} is {_a(journey_noun(linked))} case, not {_a(' or '.join(wanted))} case ({spec.name})"
    if spec.must_be_open and status == "closed":
        return f"{ref} is closed ({spec.name} needs an open case)"
    return None


def link_problems(definitions: Mapping[str, WorkflowDef]) -> list[tuple[str, int | None, str]]:
    """Across journeys: each ``back`` names a case fact of the linked journey that links back here,
    each ``unlinked_by`` a move of this journey, and each state's ``meta.follow_on`` a journey that
    declares ``follows`` (linking here) while this one declares ``followed_by`` (linking there)."""
    out: list[tuple[str, int | None, str]] = []

    def links(d: WorkflowDef, name: str, to: str) -> bool:
        spec = d.facts.get(name)
        return spec is not None and spec.type == "case" and to in spec.journeys

    for d in definitions.values():
        triggers = {t.trigger for t in d.transitions}
        for spec in d.facts.values():
            for trigger in spec.unlinked_by:
                if trigger not in triggers:
                    out.append((d.file, spec.line, f"fact {spec.name!r}: unlinked_by names no move: {trigger!r}"))
            for journey in spec.journeys if spec.back else ():
                other = definitions.get(journey)
                if other is not None and not links(other, spec.back or "", d.id):
                    text = f"fact {spec.name!r}: back names no case fact of {journey} linking to {d.id}"
                    out.append((d.file, spec.line, text))
        for state in d.states.values():
            follow = state.meta.get("follow_on")
            if follow is None:
                continue
            target = definitions.get(str(follow))
            if target is None:
                out.append((d.file, state.line, f"state {state.name!r}: follow_on names no journey: {follow!r}"))
            elif not links(target, FOLLOWS, d.id) or not links(d, FOLLOWED_BY, target.id):
                out.append(
                    (
                        d.file,
                        state.line,
                        f"state {state.name!r}: follow_on {target.id} needs {target.id}.{FOLLOWS} linking to "
                        f"{d.id} and {d.id}.{FOLLOWED_BY} linking to {target.id}",
                    )
                )
    return out


def _users(given: Any, what: str, wrong: InvalidInput) -> list[str]:
    parts = given.split(",") if isinstance(given, str) else given
    if not isinstance(parts, list | tuple) or not all(isinstance(p, str) for p in parts):
        raise wrong
    emails = [email_address(p, f"a member of {what}") for p in parts if p.strip()]
    if not emails:
        raise InvalidInput(f"{what} is empty")
    if len(emails) > USERS_MAX:
        raise InvalidInput(f"{what} lists more than {USERS_MAX} people")
    return list(dict.fromkeys(emails))


def _described(spec: FactSpec) -> str:
    if spec.type == "choice":
        return "one of " + ", ".join(spec.options)
    if spec.type == "case" and spec.journeys:
        return f"the reference of a {' or '.join(spec.journeys)} case"
    return _DESCRIBED[spec.type]


def _number(given: Any, what: str, wrong: InvalidInput) -> int | float:
    if isinstance(given, bool):
        raise wrong
    if isinstance(given, str):
        if not _NUMBER.fullmatch(given):
            raise wrong
        number: int | float = float(given) if "." in given else int(given)
    elif isinstance(given, int | float):
        number = given
    else:
        raise wrong
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidInput(f"{what} is not a finite number (NaN and Infinity are refused)")
    if abs(number) > INT_MAX:
        raise InvalidInput(f"{what} is a number too large to keep exactly (at most {INT_MAX:,})")
    return number


def usable(schema: Mapping[str, FactSpec], facts: Mapping[str, Any]) -> dict[str, Any]:
    """``facts`` without the values that do not parse as their declared type (legacy data): what
    guards may rely on. Values are kept as stored; undeclared facts (old names) are kept too."""
    out = dict(facts)
    for name, value in facts.items():
        spec = schema.get(name)
        if spec is None or value is None or value == "":
            continue
        try:
            parse_value(spec, value)
        except InvalidInput:
            del out[name]
    return out


def _day(value: Any) -> date | None:
    """A stored date fact as a date; ``None`` for a missing or legacy value that is not one."""
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def check_facts(
    schema: Mapping[str, FactSpec],
    given: Mapping[str, Any],
    *,
    journey: str,
    trigger: str,
    allowed: Iterable[str],
    recorded: Mapping[str, Any],
    today: date,
    opened_on: date,
    texts: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The facts ``given`` to ``trigger``, parsed by the journey's ``schema`` and checked.

    Args:
        schema: the journey's declared facts (empty: the journey is untyped; ``given`` is returned).
        given: the facts, past the boundary checks.
        journey: the journey's id (for messages).
        trigger: the move (``open`` when a case is opened).
        allowed: the facts the move takes (its ``requires`` and ``accepts``).
        recorded: the case's facts before the move (for order constraints).
        today: today in London (no date fact is in the future unless it may be).
        opened_on: the day the case opened (no date fact is earlier unless it may be).
        texts: values as typed at a command line, parsed in preference to ``given``'s.

    Raises:
        InvalidInput: the first fact refused, in the order given.
    """
    if not schema:
        return dict(given)
    allowed = set(allowed)
    texts = texts or {}
    out: dict[str, Any] = {}
    for name, value in given.items():
        spec = schema.get(name)
        if spec is None or name not in allowed:
            raise unknown_fact(name, journey, trigger, allowed, schema)
        out[name] = parse_value(spec, value, texts.get(name))
    merged = {**recorded, **out}
    for name, value in out.items():
        spec = schema[name]
        if spec.type == "date":
            _check_day(spec, date.fromisoformat(value), merged, schema, today, opened_on)
    return out


def _check_day(
    spec: FactSpec, day: date, facts: Mapping[str, Any], schema: Mapping[str, FactSpec], today: date, opened_on: date
) -> None:
    what = f"fact {spec.name!r}"
    if not spec.future and day > today:
        raise InvalidInput(f"{what} {day} is in the future (today is {today} in London)")
    if not spec.before_opening and day < opened_on:
        raise InvalidInput(f"{what} {day} is before the case opened on {opened_on}")
    for other in spec.not_before:
        bound = _day(facts.get(other))
        if bound is not None and day < bound:
            raise InvalidInput(f"{what} {day} must be on or after {other} ({bound}: {_label(schema, other)})")
    for other in spec.not_after:
        bound = _day(facts.get(other))
        if bound is not None and day > bound:
            raise InvalidInput(f"{what} {day} must be on or before {other} ({bound}: {_label(schema, other)})")


def _label(schema: Mapping[str, FactSpec], name: str) -> str:
    spec = schema.get(name)
    return spec.label if spec else name
