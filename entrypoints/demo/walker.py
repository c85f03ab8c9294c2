"""Walking one case through its journey: each planned step becomes a call to the service.

The case opens with the facts its deadlines start from, and its people; every later change is a move,
a withdrawal, a hold or a resumption through the gateway. A move the service refuses is
noted as a problem, never forced.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal

from carepath.engine.case import Case
from carepath.engine.definition import TransitionDef
from carepath.engine.errors import CarepathError
from carepath.entrypoints.demo.definitions import is_success, opening_facts
from carepath.entrypoints.demo.planning import Planner
from carepath.entrypoints.demo.scenario import HOLD_TEXT
from carepath.entrypoints.demo.tuning import HOLD_THEN_WITHDRAW, MAX_STEPS
from carepath.entrypoints.demo.walk import Step


class Walker(Planner):
    """Walks one case through its journey, one planned step at a time."""

    # -- driving ---------------------------------------------------------------------------------

    def step(self) -> date | None:
        """Do the next planned step.

        Returns:
            The date of the step after, or ``None`` when the walk is over (for now).
        """
        step, self.next = self.next, None
        if step is None:
            return None
        self.steps += 1
        try:
            self._do(step)
        except CarepathError as exc:
            self.seeder.problem(self.definition.id, f"{self.case.ref if self.case else 'new case'} {step.kind}: {exc}")
            self.plan.clear()
        return self.schedule()

    def _do(self, step: Step) -> None:
        if self.case is None:
            self._open(step.on)
        elif step.kind == "chore":
            self._chore(step)
        elif step.kind == "exit":
            self._exit(step)
        elif step.kind == "withdraw":
            self._withdraw(step.on)
        elif step.kind == "hold":
            self._hold(step.on)
        else:
            self._resume(step.on)

    def schedule(self) -> date | None:
        """Choose the next step: the earliest planned one or deadline chore, up to today.

        Returns:
            Its date, or ``None`` if the case is closed, stuck or has nothing left to do.
        """
        if self.case is None or self.case.status == "closed":
            return None
        if self.steps > MAX_STEPS:
            self.seeder.problem(
                self.definition.id, f"{self.case.ref} stopped after {MAX_STEPS} steps in {self.case.state}"
            )
            return None
        options = sorted([*self.plan, *self.deadline_chores()])
        if not options:
            return None
        chosen = options[0]
        self.plan = [p for p in self.plan if p is not chosen]
        chosen.on = max(chosen.on, self.case.last_event_on)
        if chosen.on > self.seeder.today:
            return None
        self.next = chosen
        return chosen.on

    # -- moves -----------------------------------------------------------------------------------

    def _open(self, on: date) -> None:
        self.owner = self.owner or self.seeder.org.owner_for(self.team_id, self.rng)
        if self.arrival.ref is not None:  # opened by the service with the case it follows
            self.case = self.seeder.gateway.case(self.arrival.ref, self.owner)
        else:
            self.case = self._open_case(on)
        self.seeder.opened[self.definition.id] += 1
        self.seeder.by_ref[self.case.ref] = self
        self.plan_stay(on)
        self._add_people(on)

    def _open_case(self, on: date) -> Case:
        facts = dict(self.arrival.facts)
        for name in opening_facts(self.definition):
            facts.setdefault(name, on.isoformat())
        assert self.owner is not None
        return self.seeder.gateway.open_case(
            self.definition.id, self.owner, on=on, owner_id=self.owner.id, team_id=self.team_id, facts=facts
        )

    def _add_people(self, on: date) -> None:
        """The people the new case is about, added by its owner; a refusal is noted, and the walk goes on."""
        assert self.case is not None
        assert self.owner is not None
        try:
            self.seeder.participants.add(self.case, self.owner, on)
        except CarepathError as exc:
            self.seeder.problem(self.definition.id, f"{self.case.ref} people: {exc}")

    def fire(self, t: TransitionDef, on: date, facts: Mapping[str, Any]) -> bool:
        """Make move ``t`` as the first suitable actor; keep the partner case and plan in step.

        Args:
            t: the move.
            on: its effective day.
            facts: the facts it records.

        Returns:
            Whether the service accepted it (refusals are noted as problems).
        """
        assert self.case is not None
        actor = self.actor_for(t, on, facts)
        if actor is None:
            return False
        before = self.case.state
        try:
            self.case = self.seeder.gateway.fire(
                self.case.ref, t.trigger, actor, on=on, facts=facts, journey=self.definition.id
            )
        except CarepathError as exc:
            self.seeder.problem(self.definition.id, f"{self.case.ref} {t.trigger} from {before}: {exc}")
            return False
        self.last_facts = dict(facts)
        self.seeder.after_move(self, t.trigger, on, facts)
        self._settle(t.trigger, before, on)
        return True

    def _settle(self, trigger: str, before: str, on: date) -> None:
        """After a move: a new state starts a new stay (and a success its follow-on case)."""
        assert self.case is not None
        if self.case.state == before:
            self.done.add(trigger)
            self.plan = [p for p in self.plan if not (p.kind == "chore" and p.trigger == trigger)]
            return
        self.done.clear()
        self.done_deadlines.clear()
        if is_success(self.definition, self.case.state):
            self.seeder.follow_on(self, on)
        if self.case.status != "closed":
            self.plan_stay(on)

    def _chore(self, step: Step) -> None:
        assert self.case is not None
        assert step.trigger is not None
        if step.deadline is not None:
            self.done_deadlines.add(step.deadline)
        t = self.compiled.transition(self.case.state, step.trigger)
        if t is None or self.case.status != "open":
            return
        facts = self.facts_for(t, step.on)
        if not self.unmet(t, step.on, facts, None):
            self.fire(t, step.on, facts)

    def _exit(self, step: Step) -> None:
        """Leave the state: the planned alternative if any, else the main move (or the next best)."""
        assert self.case is not None
        if self.case.status != "open":
            return
        state = self.case.state
        for i, t in enumerate(self._exits(state, step.trigger)):
            if self._try_exit(t, step, first=i == 0):
                return
        self._stuck(step, state)

    def _exits(self, state: str, alternative: str | None) -> list[TransitionDef]:
        """The moves to try in turn: the planned alternative, then the ranked moves."""
        ranked = self.ranked(state)
        if ranked and self.hopeful(ranked[0]):
            # A failure exit only as a last resort, and only one a condition forces (a lapse, an expiry).
            ranked = [t for t in ranked if self.hopeful(t)] + [t for t in ranked if not self.hopeful(t) and t.guards]
        alt = self.compiled.transition(state, alternative) if alternative else None
        return [alt, *(t for t in ranked if t is not alt)] if alt else ranked

    def _try_exit(self, t: TransitionDef, step: Step, *, first: bool) -> bool:
        """Make move ``t``, recording first what its guards miss; or, for the first choice held
        back by a time guard, plan to try again when it allows. Returns whether either happened."""
        facts = self.facts_for(t, step.on)
        reasons = self.unmet(t, step.on, facts, None)
        if reasons and self._fix(reasons, step.on):
            reasons = self.unmet(t, step.on, facts, None)
        if not reasons:
            if self.fire(t, step.on, facts):
                self.retries = 0
                return True
            return False
        later = self.not_before(reasons, step.on) if first else None
        if later is not None:
            self.plan.append(Step(later, 9, "exit", step.trigger))
            return True
        return False

    def _fix(self, reasons: list[str], on: date) -> bool:
        """Record now any missing item a guard names, if a self-loop of the state records it."""
        assert self.case is not None
        text = " ".join(reasons)
        fixed = False
        for trigger, loop in list(self.compiled.by_source.get(self.case.state, {}).items()):
            if loop.dest == self.case.state and trigger not in self.done and any(f in text for f in loop.requires):
                facts = self.facts_for(loop, on)
                if not self.unmet(loop, on, facts, None):
                    fixed = self.fire(loop, on, facts) or fixed
        return fixed

    def _stuck(self, step: Step, state: str) -> None:
        assert self.case is not None
        self.retries += 1
        if self.retries > 3:
            self.seeder.problem(self.definition.id, f"{self.case.ref} could not leave {state}")
            self.plan.clear()
            return
        self.plan.append(Step(step.on + timedelta(days=14), 9, "exit"))

    # -- withdrawals and holds -------------------------------------------------------------------

    def _withdraw(self, on: date) -> None:
        assert self.case is not None
        assert self.owner is not None
        if self.case.status == "closed":
            return
        codes = [c for c in self.definition.exit_reasons if c.startswith("AW")]
        trigger: Literal["withdraw", "close"] = "withdraw" if codes else "close"
        if not codes:
            codes = [c for c in self.definition.exit_reasons if c not in ("DUPLICATE", "DECEASED")] or list(
                self.definition.exit_reasons
            )
        weights = [3.0 if c == "AW3" else 0.5 if c == "AW5" else 1.0 for c in codes]
        reason = self.rng.choices(codes, weights)[0]
        self.case = self.seeder.gateway.withdraw(self.case.ref, self.owner, reason, trigger=trigger, on=on)
        self.plan.clear()
        self.seeder.after_move(self, "change_plan", on, {})

    def _hold(self, on: date) -> None:
        assert self.case is not None
        assert self.owner is not None
        allowed: Mapping[str, str] = self.definition.state(self.case.state).meta.get("hold_reasons") or {}
        text = self.rng.choice(HOLD_TEXT)
        reason = f"{self.rng.choice(sorted(allowed))}: {text}" if allowed else f"Demo hold: {text}"
        self.case = self.seeder.gateway.hold(self.case.ref, self.owner, reason, on=on)
        self.plan.clear()
        if self.rng.random() < HOLD_THEN_WITHDRAW:
            self.plan.append(Step(on + timedelta(days=round(self.rng.triangular(60, 300, 150))), 0, "withdraw"))
        else:
            self.plan.append(Step(on + timedelta(days=round(self.rng.triangular(30, 270, 100))), 0, "resume"))

    def _resume(self, on: date) -> None:
        assert self.case is not None
        assert self.owner is not None
        self.case = self.seeder.gateway.resume(self.case.ref, self.owner, on=on, note="Demo: ready to continue")
        # A panel it is (still, or newly) booked on ends the stay, as on entering the state.
        self.last_facts = {k: v for k, v in self.case.facts.items() if k.endswith("_date")}
        self.plan_stay(on, holds=False)
