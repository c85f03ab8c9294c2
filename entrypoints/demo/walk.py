"""One case's walk as data, and what its journey allows next.

``CaseWalk`` holds where a case stands and what is planned for it, and reads its journey:
the moves out of a state ranked main first, the facts a move needs, the guards still unmet
and who may make the move. ``planning.Planner`` and ``walker.Walker`` build on it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from carepath.engine.case import Actor, Case
from carepath.engine.compiler import CompiledWorkflow
from carepath.engine.definition import TransitionDef
from carepath.engine.guards import GuardContext
from carepath.entrypoints.demo.arrivals import Arrival
from carepath.entrypoints.demo.definitions import is_success, one_of_values
from carepath.entrypoints.demo.facts import fact_value
from carepath.entrypoints.demo.scenario import PARTNER_ONLY
from carepath.entrypoints.demo.tuning import tuning

if TYPE_CHECKING:
    from carepath.entrypoints.demo.seeder import Seeder
    from carepath.entrypoints.demo.walker import Walker

StepKind = Literal["chore", "exit", "withdraw", "hold", "resume"]
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(order=True)
class Step:
    """Something planned for a case on a date; steps sort by date, then ``order``.

    Attributes:
        on: the day.
        order: the rank among steps on the same day (chores before exits).
        kind: what to do.
        trigger: the self-loop of a chore, or the alternative of an exit.
        deadline: the (rule, cycle) a chore meets.
    """

    on: date
    order: int
    kind: StepKind = field(compare=False)
    trigger: str | None = field(default=None, compare=False)
    deadline: tuple[str, int] | None = field(default=None, compare=False)


class CaseWalk:
    """Where one case stands on its journey, and what the journey allows it next.

    Args:
        seeder: the caseload being generated.
        arrival: the case to open.
        rng: the walk's own random source.
    """

    def __init__(self, seeder: Seeder, arrival: Arrival, rng: random.Random) -> None:
        self.seeder = seeder
        self.arrival = arrival
        self.rng = rng
        self.compiled: CompiledWorkflow = seeder.gateway.latest(arrival.journey)
        self.definition = self.compiled.definition
        self.tuning = tuning(self.definition.id)
        self.shape = seeder.shape(self.definition)
        self.case: Case | None = None
        self.owner: Actor | None = None
        self.team_id = seeder.org.team_ids[arrival.team]
        self.plan: list[Step] = []
        self.done: set[str] = set()
        self.done_deadlines: set[tuple[str, int]] = set()
        self.detours = 0
        self.retries = 0
        self.steps = 0
        self.partner: Walker | None = None
        self.index = -1
        self.token = 0
        self.rolls: dict[tuple[str, str, int], bool] = {}
        self.last_facts: dict[str, Any] = {}
        self.next: Step | None = Step(arrival.on, 0, "exit")

    def hopeful(self, t: TransitionDef) -> bool:
        """Whether ``t`` leads to a success or somewhere still open (not a failure exit)."""
        return is_success(self.definition, t.dest) or not self.definition.states[t.dest].terminal

    def ranked(self, state: str) -> list[TransitionDef]:
        """Moves out of ``state``, main first: preferred, untuned, nearest the target, declared first.

        Moves the tuning gives a chance are alternatives, never the main move while another
        exists; moves only a partner case causes (the adopters' match) are left out.

        Args:
            state: the state to leave.

        Returns:
            The moves, best first.
        """
        passive = PARTNER_ONLY.get(self.definition.id, frozenset())
        moves = [
            t for t in self.compiled.by_source.get(state, {}).values() if t.dest != state and t.trigger not in passive
        ]
        order = {t.trigger: i for i, t in enumerate(self.definition.transitions)}

        def key(t: TransitionDef) -> tuple[bool, bool, int, int]:
            far = self.shape.distances.get(t.dest, 1000 + self.definition.states[t.dest].terminal)
            return (t.trigger not in self.arrival.prefer, t.trigger in self.tuning.alternatives, far, order[t.trigger])

        return sorted(moves, key=key)

    def facts_for(self, t: TransitionDef, on: date) -> dict[str, Any]:
        """Synthetic values for the facts ``t`` requires, recorded on ``on``."""
        choices = one_of_values(t)
        facts: dict[str, Any] = {}
        for name in t.requires:
            facts[name] = fact_value(self.seeder, self, name, on, choices.get(name))
        return facts

    def unmet(
        self,
        t: TransitionDef,
        on: date,
        facts: Mapping[str, Any],
        actor: Actor | None,
        *,
        recorded: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The guards of ``t`` that would refuse it.

        Args:
            t: the move.
            on: its effective day.
            facts: the facts it would record.
            actor: who would make it (``None``: guards about the actor pass).
            recorded: the facts the case will have recorded by then (a forecast of planned chores);
                by default those it has now. Never the move's own ``facts``: a guard that the fact is
                not yet recorded (``lacks:``) looks at these.

        Returns:
            The reasons; empty when the move would go through.
        """
        assert self.case is not None
        recorded = self.case.facts if recorded is None else recorded
        ctx = GuardContext(
            case_ref=self.case.ref,
            state=self.case.state,
            facts={**recorded, **facts},
            given=facts,
            actor_id=actor.id if actor else None,
            actor_email=actor.email if actor else None,
            actor_roles=actor.roles if actor else frozenset(),
            on=on,
            trigger=t.trigger,
            extra={"recorded": recorded},
        )
        return self.compiled.unmet(t, ctx)

    def actor_for(self, t: TransitionDef, on: date, facts: Mapping[str, Any]) -> Actor | None:
        """Someone holding one of the roles of ``t`` whose guards pass (owner, manager, then by role).

        A decision maker who sat on the panel is refused by a guard, so is skipped here.
        """
        assert self.owner is not None
        candidates = [self.owner] if not t.roles or self.owner.roles & set(t.roles) else []
        manager = self.seeder.org.managers[self.team_id]
        if manager.roles & set(t.roles):
            candidates.append(manager)
        for role in t.roles:
            candidates += self.seeder.org.by_role.get(role, [])
        for a in candidates:
            if not self.unmet(t, on, facts, a):
                return a
        return None

    @staticmethod
    def not_before(reasons: list[str], on: date) -> date | None:
        """The date a time guard names ("not yet: allowed from ...", "covers ... until ...").

        Args:
            reasons: unmet guards.
            on: the day the move was tried.

        Returns:
            The first later day the guard allows, or ``None`` if no time guard names one.
        """
        for r in reasons:
            found = [date.fromisoformat(m) for m in DATE.findall(r)]
            if ("not yet" in r or "until" in r) and found:
                day = max(found) + (timedelta(days=1) if "until" in r else timedelta())
                if day > on:
                    return day
        return None
