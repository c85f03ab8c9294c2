"""Planning a case's stay in a state: its chores, and how and when the stay ends.

- the *main move* out of a state is the declared transition closest to a success state
  (approval, adoption), ties broken by declaration order; sometimes the tuning picks an
  alternative (a refusal, a qualifying determination, a detour) instead;
- *chores* are the state's self-loops (checks, reports, papers, visits), each planned once
  per stay, and again whenever an open deadline is stopped by one (recurring visits);
- people aim at their deadlines: a move that stops an open deadline usually happens before
  it is due, sometimes late (breaches).
"""

from __future__ import annotations

from datetime import date, timedelta

from carepath.engine.deadlines import Deadline
from carepath.engine.definition import DeadlineRule, TransitionDef
from carepath.entrypoints.demo.definitions import stops
from carepath.entrypoints.demo.scenario import PARTNER_ONLY
from carepath.entrypoints.demo.tuning import (
    DEFAULT_DETOUR_CHANCE,
    DEFAULT_EXIT_CHANCE,
    DEFAULT_STAY,
    MAX_DETOURS,
    ON_TIME,
    OPTIONAL_CHORE,
)
from carepath.entrypoints.demo.walk import DATE, CaseWalk, Step


class Planner(CaseWalk):
    """A case walk that plans its stays."""

    def plan_stay(self, entry: date, *, holds: bool = True) -> None:
        """Plan the stay in the current state: chores, then how and when it ends.

        Args:
            entry: the day the case entered the state (or came off hold).
            holds: whether the stay may end in a hold.
        """
        assert self.case is not None
        self.plan.clear()
        state = self.case.state
        stay = self.tuning.stays.get(state, DEFAULT_STAY)
        ranked = self.ranked(state)
        if not ranked or (self.partner is not None and self.definition.id in PARTNER_ONLY):
            self._plan_chores(state, entry, entry + timedelta(days=60))
            return
        main = ranked[0]
        lo, mode, hi = stay.days
        natural = entry + timedelta(days=round(self.rng.triangular(lo, hi, mode)))
        end = self._appointment(entry) or self._aim(entry, natural, self._due(main.trigger, state, main.dest))
        r = self.rng.random()
        if r < stay.drop:
            self.plan.append(Step(self._between(entry, end), 5, "withdraw"))
            end = self.plan[-1].on
        elif holds and r < stay.drop + stay.hold:
            self.plan.append(Step(self._between(entry, end), 5, "hold"))
            end = self.plan[-1].on
        else:
            self.plan.append(Step(end, 9, "exit", self._alternative(ranked)))
        self._plan_chores(state, entry, end)

    def _alternative(self, ranked: list[TransitionDef]) -> str | None:
        """Sometimes a move other than the main one: a refusal, a QD, a detour."""
        for t in ranked[1:]:
            terminal = self.definition.states[t.dest].terminal
            if not terminal and self.detours >= MAX_DETOURS:
                continue
            chance = self.tuning.alternatives.get(t.trigger, DEFAULT_EXIT_CHANCE if terminal else DEFAULT_DETOUR_CHANCE)
            if self.rng.random() < chance:
                self.detours += 0 if terminal else 1
                return t.trigger
        return None

    def _plan_chores(self, state: str, entry: date, end: date) -> None:
        """Each self-loop of the state once (optional ones sometimes), on a day its guards allow."""
        forecast = dict(self.case.facts if self.case else {})
        for trigger, t in self.compiled.by_source.get(state, {}).items():
            if t.dest != state or trigger in self.done or trigger in self.shape.stoppers:
                continue
            if not any(f in self.shape.needed for f in t.requires) and self.rng.random() >= OPTIONAL_CHORE:
                continue
            on = self._between(entry, end, 0.9)
            while on <= end:
                facts = self.facts_for(t, on)
                if not self.unmet(t, on, facts, None, recorded=forecast):
                    forecast.update(facts)
                    self.plan.append(Step(on, 1, "chore", trigger))
                    break
                on += timedelta(days=7)

    def deadline_chores(self) -> list[Step]:
        """Self-loops that meet an open deadline, aimed at its due date (recurring visits too).

        Returns:
            One chore per open deadline a self-loop of the current state meets.
        """
        if self.case is None or self.case.status != "open":
            return []
        out: list[Step] = []
        ends = [p.on for p in self.plan if p.kind != "chore"]
        for dl in self.seeder.live_deadlines(self.case):
            if dl.key in self.done_deadlines:
                continue
            chore = self._deadline_chore(dl, self.shape.rules[dl.rule], ends)
            if chore is not None:
                out.append(chore)
        return out

    def _deadline_chore(self, dl: Deadline, rule: DeadlineRule, ends: list[date]) -> Step | None:
        """The first self-loop that meets ``dl`` (if its chance comes up), aimed at the due date."""
        assert self.case is not None
        for trigger, t in self.compiled.by_source.get(self.case.state, {}).items():
            if t.dest == self.case.state and stops(rule, trigger, t.dest, t.dest) and self._roll(trigger, dl):
                return Step(self._chore_day(dl, rule, ends), 2, "chore", trigger, dl.key)
        return None

    def _chore_day(self, dl: Deadline, rule: DeadlineRule, ends: list[date]) -> date:
        """Three quarters of the way to the due date, as people aim at deadlines."""
        assert self.case is not None
        last = self.case.last_event_on
        base = max(dl.start_on, last) if dl.start_on <= dl.due_on else last
        natural = base + timedelta(days=max(0, (dl.due_on - base).days * 3 // 4))
        on = self._aim(base, natural, dl.due_on)
        if on > dl.due_on and not rule.recurs:
            on = min([on, *ends])  # late, but before the stay ends (papers on the panel day)
        return on

    def _roll(self, trigger: str, dl: Deadline) -> bool:
        """Whether a chore the tuning makes occasional (foster for adoption) happens for ``dl``."""
        chance = self.tuning.alternatives.get(trigger)
        if chance is None:
            return True
        key = (trigger, dl.rule, dl.cycle)
        if key not in self.rolls:
            self.rolls[key] = self.rng.random() < chance
        return self.rolls[key]

    def _appointment(self, entry: date) -> date | None:
        """A future ``*_date`` fact given on entering the state (a panel sitting) ends the stay."""
        for name, value in self.last_facts.items():
            if name.endswith("_date") and isinstance(value, str) and DATE.fullmatch(value):
                day = date.fromisoformat(value)
                if day > entry:
                    return day
        return None

    def _due(self, trigger: str, source: str, dest: str) -> date | None:
        """The earliest due date of the open deadlines the move meets."""
        assert self.case is not None
        rules = self.shape.rules
        live = self.seeder.live_deadlines(self.case)
        dues = [dl.due_on for dl in live if stops(rules[dl.rule], trigger, source, dest)]
        return min(dues) if dues else None

    def _aim(self, start: date, natural: date, due: date | None) -> date:
        """People work to deadlines: usually done by the due date, sometimes late."""
        if due is None or due < start:
            return natural  # no deadline, or already missed: no reason to rush now
        if self.rng.random() < ON_TIME:
            return max(start, min(natural, due - timedelta(days=self.rng.randint(0, 2))))
        return max(natural, due + timedelta(days=self.rng.randint(1, 25)))

    def _between(self, a: date, b: date, upto: float = 1.0) -> date:
        """A random day from ``a`` to ``upto`` of the way to ``b``."""
        span = max(0, (b - a).days)
        return a + timedelta(days=round(self.rng.random() * span * upto))
