"""A workflow definition as plain frozen data, built by ``workflows.loader`` from YAML.

Nothing here knows about YAML or pydantic; ``line`` fields carry where each item was
declared so the compiler can name the file and line of a fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

DeadlineClass = Literal["STAT", "SG", "NMS", "LOCAL", "DATA", "VERIFY"]
Counting = Literal["after", "beginning_with"]
#: In YAML, ``counting: convention:<name>`` defers the choice to a setting.
CONVENTION_PREFIX = "convention:"
AnchorKind = Literal["enter", "leave", "event", "fact"]

#: States every workflow gets without declaring them.
ON_HOLD = "on_hold"

#: Moves every workflow gets without declaring them; they are not machine triggers.
BUILTIN_TRIGGERS = frozenset(
    {"open", "hold", "resume", "withdraw", "close", "assign", "entered_in_error", "update", "note"}
)


FactType = Literal["date", "text", "number", "yes_no", "choice", "user", "users", "case"]
#: The types a journey's fact may have (engine.facts parses and checks them).
FACT_TYPES: tuple[FactType, ...] = ("date", "text", "number", "yes_no", "choice", "user", "users", "case")


@dataclass(frozen=True, slots=True)
class FactSpec:
    """One fact of a journey, declared once."""

    name: str
    type: FactType
    label: str
    help: str = ""
    options: tuple[str, ...] = ()
    #: For ``case``: the journeys the linked case may belong to (YAML ``journey:``, one or a list).
    journeys: tuple[str, ...] = ()
    #: A date that may lie in the future (a booked date, an end date).
    future: bool = False
    #: A date that may be earlier than the day the case opened.
    before_opening: bool = False
    #: Facts this date must be on or after / on or before (when they are recorded).
    not_before: tuple[str, ...] = ()
    not_after: tuple[str, ...] = ()
    #: Whether a case may be opened with this fact.
    at_opening: bool = False
    #: The shared name of what this fact records, where the journey needs a qualified name (a child's
    #: case has two panels, so ``match_minutes_received_on`` means ``minutes_received_on``).
    means: str | None = None
    #: For ``case``: the linked case must be open (not closed) when the link is recorded.
    must_be_open: bool = False
    #: For ``case``: may name a case another agency holds, as ``external:<AGENCY>/<THEIR-REF>``.
    external: bool = False
    #: For ``case``: the fact of the linked case's journey that records this case back (both ways).
    back: str | None = None
    #: For ``case``: the moves that end the link (the fact is cleared here and, with ``back``, there).
    unlinked_by: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True, slots=True)
class StateDef:
    """One state of a journey."""

    name: str
    label: str
    terminal: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None


@dataclass(frozen=True, slots=True)
class TransitionDef:
    """One declared move: ``trigger`` from any of ``sources`` to ``dest``."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    label: str = ""
    guards: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    line: int | None = None
    #: Facts the move may record besides those it requires.
    accepts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a deadline starts or stops.

    ``kind`` is ``enter``/``leave`` (a state), ``event`` (a trigger) or ``fact`` (the date
    held in a fact, taken when an event records it).
    """

    kind: AnchorKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Reminder:
    """When to remind before a due date: a limit before it, or a fraction of the period."""

    before: str | None = None
    fraction: float | None = None

    def __str__(self) -> str:
        if self.before is not None:
            return f"{self.before} before"
        return f"{round((self.fraction or 0) * 100)}% of the period"


@dataclass(frozen=True, slots=True)
class Escalation:
    """Tier after a breach: ``after`` a limit past the due date, tell holders of ``to``."""

    after: str
    to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """A timescale with its legal basis."""

    name: str
    label: str
    start: tuple[Anchor, ...]
    stop: tuple[Anchor, ...]
    limit: str
    counting: str  # Counting, or "convention:<name>" until compiled
    klass: DeadlineClass
    source: str
    reminders: tuple[Reminder, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    pauses_on_hold: bool = True
    recurs: bool = False
    cancel: tuple[Anchor, ...] = ()
    #: A trigger carepath fires itself, as its own user, when the deadline passes (the end of its
    #: due day): where the regulation makes the move happen by itself. ``None``: it escalates.
    fires: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ReadinessItem:
    """One thing a readiness list needs recorded before the case may move on.

    ``when`` limits the item to cases whose facts hold one of the listed values, for every
    ``(fact, values)`` pair (e.g. full reports only); a ``fresh`` item must be dated on or after
    its list's ``since`` fact (this round's report, not last year's).
    """

    fact: str
    label: str
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    fresh: bool = False
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    """What a case needs recorded before it goes to panel (or finishes a stage).

    Guards ``ready_for_panel:<kind>`` and ``stage_complete:<kind>`` name a list by its kind;
    ``title`` opens the sentence the guard gives when something is missing.
    """

    kind: str
    title: str
    items: tuple[ReadinessItem, ...]
    since: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class WorkflowDef:
    """A whole journey, one version of it."""

    id: str
    version: int
    title: str
    reference_prefix: str
    initial: str
    states: Mapping[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    exit_reasons: Mapping[str, str]
    close_state: str
    deadlines: tuple[DeadlineRule, ...] = ()
    description: str = ""
    file: str = "<memory>"
    line: int | None = None
    readiness: Mapping[str, Readiness] = field(default_factory=dict)
    #: The journey's facts, declared once (``facts:``); empty: an untyped journey takes any fact.
    facts: Mapping[str, FactSpec] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int]:
        """``(id, version)``: the identity a case pins when it is opened."""
        return (self.id, self.version)

    def state(self, name: str) -> StateDef:
        """The declared state, or the built-in on-hold state."""
        if name == ON_HOLD:
            return StateDef(name=ON_HOLD, label="On hold")
        return self.states[name]

    def rule(self, name: str) -> DeadlineRule:
        """The deadline rule called ``name``; ``KeyError`` naming it if the journey has none."""
        for r in self.deadlines:
            if r.name == name:
                return r
        raise KeyError(f"{self.id} v{self.version} has no deadline rule {name!r}")
