"""Reading a journey's definition: its good outcomes, distances to them, facts and deadlines.

Everything here is a pure function of a ``WorkflowDef``; ``Shape`` keeps the answers a
walk asks for again and again.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from carepath.engine.definition import DeadlineRule, TransitionDef, WorkflowDef


def is_success(d: WorkflowDef, state: str) -> bool:
    """Whether ``state`` is a terminal state that is the journey's good outcome.

    Args:
        d: the journey's definition.
        state: a state name.

    Returns:
        True for an approval or adoption; False for other states and failure exits.
    """
    s = d.states.get(state)
    if s is None or not s.terminal:
        return False
    words = f"{state} {s.meta.get('exit_reason', '')}".upper()
    return not words.startswith("NOT") and "NOT_" not in words and ("APPROVED" in words or "ADOPT" in words)


def home_state(d: WorkflowDef) -> str:
    """Where a journey without a success state rests between cycles: most moves lead into it.

    Args:
        d: the journey's definition.

    Returns:
        The state most non-terminal moves enter, the first declared on a tie.
    """
    into = Counter(t.dest for t in d.transitions if t.dest not in t.sources and not d.states[t.dest].terminal)
    return max(d.states, key=lambda s: (into[s], -list(d.states).index(s)))


def target_distances(d: WorkflowDef) -> dict[str, int]:
    """Moves from each state to the nearest success state (or, for a lifecycle, to its home).

    Args:
        d: the journey's definition.

    Returns:
        Distances by state; states that cannot reach the target are missing.
    """
    into: dict[str, set[str]] = {}
    for t in d.transitions:
        for s in t.sources:
            if s != t.dest:
                into.setdefault(t.dest, set()).add(s)
    dist = {s: 0 for s in d.states if is_success(d, s)} or {home_state(d): 0}
    queue = deque(dist)
    while queue:
        s = queue.popleft()
        for prev in into.get(s, ()):
            if prev not in dist:
                dist[prev] = dist[s] + 1
                queue.append(prev)
    return dist


def needed_facts(d: WorkflowDef) -> frozenset[str]:
    """Facts something reads: readiness lists, ``has:`` and time guards, deadline anchors.

    Args:
        d: the journey's definition.

    Returns:
        The fact names.
    """
    names: set[str] = set()
    for spec in d.readiness.values():
        names.update(i.fact for i in spec.items)
    for t in d.transitions:
        for g in t.guards:
            prefix, _, arg = g.partition(":")
            if prefix in ("has", "after", "on_or_after", "within"):
                names.add(arg.split("+")[0].split(" since ")[0].strip())
    for r in d.deadlines:
        names.update(a.name for a in (*r.start, *r.stop, *r.cancel) if a.kind == "fact")
    return frozenset(names)


def opening_facts(d: WorkflowDef) -> tuple[str, ...]:
    """Facts deadlines start from that no transition records: they must come with the case.

    Args:
        d: the journey's definition.

    Returns:
        The fact names, sorted.
    """
    recorded = {f for t in d.transitions for f in t.requires}
    return tuple(sorted({a.name for r in d.deadlines for a in r.start if a.kind == "fact" and a.name not in recorded}))


def stops(rule: DeadlineRule, trigger: str, source: str, dest: str) -> bool:
    """Whether firing ``trigger`` from ``source`` to ``dest`` meets ``rule``.

    Args:
        rule: a deadline rule.
        trigger: the move's trigger.
        source: the state the move leaves.
        dest: the state the move enters.

    Returns:
        True if the move stops the rule's clock.
    """
    for a in rule.stop:
        if a.kind == "event" and a.name == trigger:
            return True
        if source != dest and (a.kind, a.name) in (("leave", source), ("enter", dest)):
            return True
    return False


def one_of_values(t: TransitionDef) -> dict[str, tuple[str, ...]]:
    """The values each fact of a ``one_of:<fact>=a/b`` guard of ``t`` may take.

    Args:
        t: a transition.

    Returns:
        Allowed values by fact name.
    """
    out: dict[str, tuple[str, ...]] = {}
    for g in t.guards:
        if g.startswith("one_of:"):
            name, _, values = g.removeprefix("one_of:").partition("=")
            out[name] = tuple(v for v in values.split("/") if v)
    return out


@dataclass(frozen=True, slots=True)
class Shape:
    """What a walk asks of a journey's definition again and again, worked out once.

    Attributes:
        distances: ``target_distances``.
        needed: ``needed_facts``.
        rules: the deadline rules by name.
        stoppers: triggers that meet some deadline: done when a deadline asks, not on a whim.
    """

    distances: dict[str, int]
    needed: frozenset[str]
    rules: dict[str, DeadlineRule]
    stoppers: frozenset[str]

    @classmethod
    def of(cls, d: WorkflowDef) -> Shape:
        """Work out the shape of ``d``.

        Args:
            d: the journey's definition.

        Returns:
            Its shape.
        """
        return cls(
            distances=target_distances(d),
            needed=needed_facts(d),
            rules={r.name: r for r in d.deadlines},
            stoppers=frozenset(a.name for r in d.deadlines for a in r.stop if a.kind == "event"),
        )
