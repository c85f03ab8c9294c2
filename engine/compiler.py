"""Compile a ``WorkflowDef`` once into a shared ``transitions.Machine``, validated eagerly.

transitions accepts unknown states and guard names at build time and imports dotted
strings as callables, so everything is checked here first and guards are handed over
as callables from our registry. One machine serves every case of a (workflow, version):
``machine.events[trigger].trigger(firing)`` with a small per-call object.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from transitions import EventData, Machine

from carepath.engine.calendar import parse_limit
from carepath.engine.conventions import resolve_counting
from carepath.engine.definition import (
    BUILTIN_TRIGGERS,
    CONVENTION_PREFIX,
    ON_HOLD,
    DeadlineRule,
    TransitionDef,
    WorkflowDef,
)
from carepath.engine.errors import InvalidInput, Problem, WorkflowDefinitionError
from carepath.engine.guards import GUARDS, Guard, GuardContext, resolve_guard
from carepath.engine.guards.readiness import READINESS_PREFIXES
from carepath.engine.roles import OWNER, ROLES


@dataclass(slots=True)
class Firing:
    """The throwaway model a shared machine moves: one per fired trigger."""

    state: str
    context: GuardContext
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CompiledWorkflow:
    """A definition with its shared machine and lookup tables."""

    definition: WorkflowDef
    machine: Machine
    by_source: Mapping[str, Mapping[str, TransitionDef]]
    guards: Mapping[str, Guard]
    terminal: frozenset[str] = frozenset()

    def transition(self, state: str, trigger: str) -> TransitionDef | None:
        """The declared transition for ``trigger`` from ``state``, if any."""
        return self.by_source.get(state, {}).get(trigger)

    def triggers_from(self, state: str) -> list[str]:
        """Declared triggers valid from ``state``, in definition order."""
        return list(self.by_source.get(state, {}))

    def unmet(self, transition: TransitionDef, context: GuardContext) -> list[str]:
        """Every unmet guard of ``transition`` as a sentence (all of them, not the first)."""
        reasons = (self.guards[name](context) for name in transition.guards)
        return [r for r in reasons if r]


def _guard_condition(guard: Guard) -> Any:
    def condition(event: EventData) -> bool:
        firing = cast(Firing, event.model)
        reason = guard(firing.context)
        if reason:
            firing.failures.append(reason)
            return False
        return True

    return condition


class _Checker:
    """Collects every problem of one definition instead of stopping at the first."""

    def __init__(self, definition: WorkflowDef, registry: Mapping[str, Guard]) -> None:
        self.d = definition
        self.registry = registry
        self.problems: list[Problem] = []
        self.triggers = {t.trigger for t in definition.transitions}
        self.facts = {f for t in definition.transitions for f in t.requires}

    def add(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.d.file, line, message))

    def run(self) -> list[Problem]:
        self._states()
        self._transitions()
        self._reachability()
        self._deadlines()
        self._readiness()
        if self.d.facts:
            self._facts()
        return self.problems

    def _fact(self, line: int | None, where: str, name: str, types: tuple[str, ...] = ()) -> None:
        """``name`` is a declared fact (of one of ``types``, if given), or a problem with a "did you mean"."""
        spec = self.d.facts.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, list(self.d.facts), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.add(line, f"{where} names fact {name!r} that facts: does not declare{hint}")
        elif types and spec.type not in types:
            self.add(line, f"{where} needs fact {name!r} to be {' or '.join(types)}, not {spec.type}")

    def _facts(self) -> None:
        """With a ``facts:`` schema, every fact the journey names is declared once, with a fitting type."""
        d = self.d
        for spec in d.facts.values():
            for other in (*spec.not_before, *spec.not_after):
                self._fact(spec.line, f"fact {spec.name!r}", other, ("date",))
        for t in d.transitions:
            for name in (*t.requires, *t.accepts):
                self._fact(t.line, f"transition {t.trigger!r}", name)
            for g in t.guards:
                self._guard_facts(t, g)
        for rule in d.deadlines:
            for a in (*rule.start, *rule.stop, *rule.cancel):
                if a.kind == "fact":
                    self._fact(rule.line, f"deadline {rule.name!r}", a.name, ("date",))
        for r in d.readiness.values():
            if r.since is not None:
                self._fact(r.line, f"readiness {r.kind!r}", r.since, ("date",))
            for item in r.items:
                self._fact(item.line or r.line, f"readiness {r.kind!r}", item.fact)
                for name, values in item.when:
                    self._fact(item.line or r.line, f"readiness {r.kind!r}", name)
                    self._options(item.line or r.line, f"readiness {r.kind!r}", name, values)

    def _guard_facts(self, t: TransitionDef, guard: str) -> None:
        prefix, _, arg = guard.partition(":")
        where = f"transition {t.trigger!r} guard {guard!r}"
        if prefix in ("has", "lacks", "after", "on_or_after", "within"):
            name = re.split(r"[+ ]", arg.strip(), maxsplit=1)[0]
            self._fact(t.line, where, name, ("date",) if prefix not in ("has", "lacks") else ())
        elif prefix == "one_of":
            name, _, values = arg.partition("=")
            self._fact(t.line, where, name, ("choice", "yes_no", "text"))
            self._options(t.line, where, name, tuple(values.split("/")))
        elif prefix == "not_on_panel" and arg:
            self._fact(t.line, where, arg, ("users",))

    def _options(self, line: int | None, where: str, name: str, values: tuple[str, ...]) -> None:
        spec = self.d.facts.get(name)
        options = (
            spec.options
            if spec and spec.type == "choice"
            else ("yes", "no")
            if spec and spec.type == "yes_no"
            else None
        )
        wrong = sorted(set(values) - set(options)) if options is not None else []
        if wrong:
            self.add(line, f"{where} compares {name!r} with {', '.join(wrong)}, not among its options")

    def _states(self) -> None:
        d = self.d
        if d.initial not in d.states:
            self.add(d.line, f"initial state {d.initial!r} is not declared in states")
        if d.close_state not in d.states:
            self.add(d.line, f"close_state {d.close_state!r} is not declared in states")
        elif not d.states[d.close_state].terminal:
            self.add(d.states[d.close_state].line, f"close_state {d.close_state!r} must be terminal")
        if ON_HOLD in d.states:
            self.add(d.states[ON_HOLD].line, f"state name {ON_HOLD!r} is reserved (built in)")
        if not d.exit_reasons:
            self.add(d.line, "exit_reasons must list at least one reason code")

    def _transitions(self) -> None:
        seen: dict[tuple[str, str], int | None] = {}
        for t in self.d.transitions:
            if t.trigger in BUILTIN_TRIGGERS:
                self.add(t.line, f"trigger {t.trigger!r} is built in and cannot be redeclared")
            for s in (*t.sources, t.dest):
                if s not in self.d.states:
                    self.add(t.line, f"transition {t.trigger!r} names unknown state {s!r}")
            self._sources(t, seen)
            for g in t.guards:
                self._guard(t, g)
            for r in t.roles:
                if r not in ROLES:
                    self.add(t.line, f"transition {t.trigger!r} names unknown role {r!r}")

    def _sources(self, t: TransitionDef, seen: dict[tuple[str, str], int | None]) -> None:
        for s in t.sources:
            if (s, t.trigger) in seen:
                self.add(
                    t.line, f"duplicate transition {t.trigger!r} from {s!r} (first at line {seen[(s, t.trigger)]})"
                )
            seen[(s, t.trigger)] = t.line
            if s in self.d.states and self.d.states[s].terminal:
                self.add(t.line, f"transition {t.trigger!r} leaves terminal state {s!r}")

    def _guard(self, t: TransitionDef, name: str) -> None:
        if resolve_guard(name, self.registry, self.d.readiness) is not None:
            return
        prefix, _, kind = name.partition(":")
        hint = f" (no readiness list {kind!r} in this file)" if prefix in READINESS_PREFIXES and kind else ""
        self.add(t.line, f"transition {t.trigger!r} names unknown guard {name!r}{hint}")

    def _reachability(self) -> None:
        d = self.d
        if d.initial not in d.states:
            return
        edges: dict[str, set[str]] = {}
        for t in d.transitions:
            for s in t.sources:
                edges.setdefault(s, set()).add(t.dest)
        reached = {d.initial, d.close_state}
        todo = deque([d.initial])
        while todo:
            for nxt in edges.get(todo.popleft(), ()):
                if nxt not in reached:
                    reached.add(nxt)
                    todo.append(nxt)
        for name, state in d.states.items():
            if name not in reached:
                self.add(state.line, f"state {name!r} is unreachable from {d.initial!r}")
            if not state.terminal and name not in edges:
                self.add(state.line, f"state {name!r} is not terminal but has no way out")

    def _deadlines(self) -> None:
        names: set[str] = set()
        for rule in self.d.deadlines:
            if rule.name in names:
                self.add(rule.line, f"duplicate deadline rule {rule.name!r}")
            names.add(rule.name)
            for anchor in (*rule.start, *rule.stop, *rule.cancel):
                self._anchor(rule.name, rule.line, anchor.kind, anchor.name)
            self._limit(rule.line, rule.name, rule.limit)
            for reminder in rule.reminders:
                if reminder.before is not None:
                    self._limit(rule.line, rule.name, reminder.before)
            for tier in rule.escalations:
                self._limit(rule.line, rule.name, tier.after)
                for role in tier.to:
                    if role not in ROLES and role != OWNER:
                        self.add(rule.line, f"deadline {rule.name!r} escalates to unknown role {role!r}")
            if rule.fires is not None:
                self._fires(rule, rule.fires)

    def _fires(self, rule: DeadlineRule, trigger: str) -> None:
        """A move carepath makes itself must be one it can always make where the deadline can be open.

        It is a declared trigger that stops the rule (so the record says the move met it), needs no
        fact (nobody is there to give one), is valid from every state the deadline can be open in
        (holds aside: a case on hold is not moved, the rule escalates), and the rule does not recur.
        """
        moves = [t for t in self.d.transitions if t.trigger == trigger]
        where = f"deadline {rule.name!r} fires {trigger!r}"
        if not moves:
            self.add(rule.line, f"{where}, which is not a trigger of this journey")
            return
        if not any(a.kind == "event" and a.name == trigger for a in rule.stop):
            self.add(rule.line, f"{where} but does not stop on it: add {{event: {trigger}}} to its stop anchors")
        if rule.recurs:
            self.add(rule.line, f"{where} and recurs: a rule that moves the case itself cannot recur")
        needs = sorted({f for t in moves for f in t.requires})
        if needs:
            self.add(rule.line, f"{where}, which needs {', '.join(needs)}: only a person can give them")
        sources = {s for t in moves for s in t.sources}
        missing = sorted(open_states(self.d, rule) - sources)
        if missing:
            self.add(rule.line, f"{where}, not a move from {', '.join(missing)}, where the deadline can be open")

    def _anchor(self, rule: str, line: int | None, kind: str, name: str) -> None:
        if kind in ("enter", "leave") and name not in self.d.states and name != ON_HOLD:
            self.add(line, f"deadline {rule!r} names unknown state {name!r}")
        elif kind == "event" and name not in self.triggers and name not in BUILTIN_TRIGGERS:
            self.add(line, f"deadline {rule!r} names unknown event {name!r}")
        elif kind == "fact" and name not in self.facts:
            self.add(line, f"deadline {rule!r} names fact {name!r} that no transition requires")

    def _limit(self, line: int | None, rule: str, text: str) -> None:
        try:
            parse_limit(text)
        except InvalidInput as exc:
            self.add(line, f"deadline {rule!r}: {exc}")

    def _readiness(self) -> None:
        """Each list names facts some transition records, so a typo cannot block a case for ever."""
        for spec in self.d.readiness.values():
            if spec.since is not None and spec.since not in self.facts:
                self.add(spec.line, f"readiness {spec.kind!r} names fact {spec.since!r} that no transition requires")
            for item in spec.items:
                if item.fact not in self.facts:
                    self.add(
                        item.line or spec.line,
                        f"readiness {spec.kind!r} names fact {item.fact!r} that no transition requires",
                    )


def open_states(definition: WorkflowDef, rule: DeadlineRule) -> set[str]:
    """The states a case can be in while an occurrence of ``rule`` is open (holds aside).

    From where its start anchors can open it (the state entered; the destination of an event,
    of a move out of a left state, or of a move that requires a fact), every move that neither
    stops, cancels nor closes it. An over-approximation: guards are not evaluated.
    """
    d = definition
    ends = {a.name for a in (*rule.stop, *rule.cancel) if a.kind == "event"}
    entered = {a.name for a in (*rule.stop, *rule.cancel) if a.kind == "enter"}
    left = {a.name for a in (*rule.stop, *rule.cancel) if a.kind == "leave"}
    starts: set[str] = set()
    for a in rule.start:
        if a.kind == "enter":
            starts.add(a.name)
        elif a.kind == "event":
            starts |= {t.dest for t in d.transitions if t.trigger == a.name}
            starts |= {d.initial} if a.name == "open" else set()
        elif a.kind == "leave":
            starts |= {t.dest for t in d.transitions if a.name in t.sources and t.dest != a.name}
        else:
            starts |= {t.dest for t in d.transitions if a.name in t.requires}

    def ending(source: str, dest: str, trigger: str) -> bool:
        moved = source != dest
        return trigger in ends or (moved and (dest in entered or source in left))

    def terminal(state: str) -> bool:
        return state not in d.states or d.states[state].terminal

    reached = {s for s in starts if not terminal(s)}
    todo = deque(reached)
    while todo:
        state = todo.popleft()
        for t in d.transitions:
            moves_on = state in t.sources and not ending(state, t.dest, t.trigger)
            if moves_on and not terminal(t.dest) and t.dest not in reached:
                reached.add(t.dest)
                todo.append(t.dest)
    return reached


def check_workflow(definition: WorkflowDef, registry: Mapping[str, Guard] = GUARDS) -> list[Problem]:
    """Every problem in ``definition``; empty when it is sound."""
    return _Checker(definition, registry).run()


def resolve_conventions(definition: WorkflowDef, conventions: Mapping[str, str]) -> tuple[WorkflowDef, list[Problem]]:
    """Replace every ``convention:<name>`` with the configured counting (``resolve_counting``).

    Deadline rules (``counting: convention:<name>``) and date guards (``(convention:<name>)``)
    settle the same way; names ``conventions`` leaves out keep their defaults. An unknown name
    is a problem (and a guard naming one is left as written).
    """
    problems: list[Problem] = []
    rules = tuple(_settle_rule(definition, rule, conventions, problems) for rule in definition.deadlines)
    transitions = tuple(_settle_guards(definition, t, conventions, problems) for t in definition.transitions)
    return replace(definition, deadlines=rules, transitions=transitions), problems


#: A guard parameter may defer its counting to a setting too, e.g. ``on_or_after:placed_on+10 weeks
#: (convention:placement_ten_weeks)``.
_CONVENTION_IN_GUARD = re.compile(re.escape(CONVENTION_PREFIX) + r"[a-z0-9_]+")


def _settle_rule(
    d: WorkflowDef, rule: DeadlineRule, conventions: Mapping[str, str], problems: list[Problem]
) -> DeadlineRule:
    if not rule.counting.startswith(CONVENTION_PREFIX):
        return rule
    counting = resolve_counting(rule.counting, conventions)
    if counting is None:
        name = rule.counting.removeprefix(CONVENTION_PREFIX)
        problems.append(Problem(d.file, rule.line, f"deadline {rule.name!r} names unknown convention {name!r}"))
    return replace(rule, counting=counting or "after")


def _settle_guards(
    d: WorkflowDef, t: TransitionDef, conventions: Mapping[str, str], problems: list[Problem]
) -> TransitionDef:
    def settle(match: re.Match[str]) -> str:
        counting = resolve_counting(match[0], conventions)
        if counting is None:
            name = match[0].removeprefix(CONVENTION_PREFIX)
            problems.append(Problem(d.file, t.line, f"transition {t.trigger!r} names unknown convention {name!r}"))
        return counting or match[0]

    return replace(t, guards=tuple(_CONVENTION_IN_GUARD.sub(settle, g) for g in t.guards))


def compile_workflow(
    definition: WorkflowDef,
    registry: Mapping[str, Guard] = GUARDS,
    conventions: Mapping[str, str] | None = None,
) -> CompiledWorkflow:
    """Validate ``definition`` and build its one shared machine.

    ``conventions`` settles ``convention:<name>`` in deadline rules and date guards (see
    docs/conventions.md); ``ready_for_panel:<kind>`` and ``stage_complete:<kind>`` are bound to
    the definition's own readiness lists.

    Raises:
        WorkflowDefinitionError: listing every problem with file and line.
    """
    definition, problems = resolve_conventions(definition, conventions or {})
    problems += check_workflow(definition, registry)
    if problems:
        raise WorkflowDefinitionError(problems)
    guards = _bind_guards(definition, registry)
    by_source: dict[str, dict[str, TransitionDef]] = {}
    for t in definition.transitions:
        for s in t.sources:
            by_source.setdefault(s, {})[t.trigger] = t
    terminal = frozenset(n for n, s in definition.states.items() if s.terminal)
    return CompiledWorkflow(definition, _machine(definition, guards), by_source, guards, terminal)


def _bind_guards(definition: WorkflowDef, registry: Mapping[str, Guard]) -> dict[str, Guard]:
    """Every guard the definition names, as a callable bound to its readiness lists (all resolve: checked)."""
    names = {g for t in definition.transitions for g in t.guards}
    return {g: resolve_guard(g, registry, definition.readiness) for g in names}  # type: ignore[misc]


def _machine(definition: WorkflowDef, guards: Mapping[str, Guard]) -> Machine:
    specs = [
        {
            "trigger": t.trigger,
            "source": list(t.sources),
            "dest": t.dest,
            "conditions": [_guard_condition(guards[g]) for g in t.guards],
        }
        for t in definition.transitions
    ]
    return Machine(
        model=None,
        states=[*definition.states, ON_HOLD],
        initial=definition.initial,
        transitions=specs,
        send_event=True,
        auto_transitions=False,
        model_override=True,
    )
