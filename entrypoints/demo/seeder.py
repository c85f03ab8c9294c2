"""The caseload as a simulation: every case's walk in date order, under one moving clock.

A queue holds (next date, case, token); the clock is set to each step's day before the step
runs. A child's link names waiting approved adopters (``adopter_case_ref``) and the adopters'
case records the match, placement, disruption and order the same day as the child's
(``PARTNER_MOVES``); adopters never match on their own. An approval opens the approved
carer's case the same day: the service opens it (the approved state's ``follow_on``) and the
walk goes on with it (``FOLLOW_ON`` names the moves it prefers). Each case gets its people as it
opens (``participants``).
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

from carepath.engine.case import Actor, Case
from carepath.engine.clock import LONDON, FixedClock
from carepath.engine.deadlines import Deadline
from carepath.engine.definition import ON_HOLD, WorkflowDef
from carepath.engine.facts import FOLLOWED_BY, FOLLOWS
from carepath.entrypoints.demo.arrivals import Arrival
from carepath.entrypoints.demo.definitions import Shape
from carepath.entrypoints.demo.gateway import Gateway
from carepath.entrypoints.demo.org import Org
from carepath.entrypoints.demo.participants import Participants
from carepath.entrypoints.demo.scenario import (
    FOLLOW_ON,
    LINK_MOVE,
    PARTNER_FACT,
    PARTNER_MOVES,
    PARTNER_ONLY,
    UNLINKING_MOVES,
)
from carepath.entrypoints.demo.walker import Walker


class Seeder:
    """Generates the caseload: arrivals, a queue of (next date, case), one clock.

    Args:
        gateway: the application, on ``clock``.
        clock: the simulation's clock.
        org: the demo service's people.
        today: the last day to walk to.
        seed: the random seed.
        now: the real instant the run ends at.
    """

    def __init__(self, gateway: Gateway, clock: FixedClock, org: Org, today: date, seed: int, now: datetime) -> None:
        self.gateway = gateway
        self.clock = clock
        self.org = org
        self.today = today
        self.now = now
        self.rng = random.Random(seed)
        #: The people on each case, drawn from a random source of their own (the walks never see it).
        self.participants = Participants(gateway, seed)
        self.opened: Counter[str] = Counter()
        self.problems: list[str] = []
        self.walkers: list[Walker] = []
        self.queue: list[tuple[date, int, int]] = []
        self.by_ref: dict[str, Walker] = {}
        self._shapes: dict[str, Shape] = {}
        self._deadline_cache: tuple[int, int, list[Deadline]] | None = None

    # -- lookups walkers share --------------------------------------------------------------------

    def shape(self, d: WorkflowDef) -> Shape:
        """The journey's ``Shape``, worked out once."""
        if d.id not in self._shapes:
            self._shapes[d.id] = Shape.of(d)
        return self._shapes[d.id]

    def live_deadlines(self, case: Case) -> list[Deadline]:
        """The case's open deadlines (cached per case version)."""
        assert case.id is not None
        cached = self._deadline_cache
        if cached is not None and cached[0] == case.id and cached[1] == case.last_seq:
            return cached[2]
        live = [d for d in self.gateway.deadlines(case.id) if d.status == "open"]
        self._deadline_cache = (case.id, case.last_seq, live)
        return live

    def problem(self, journey: str, text: str) -> None:
        """Note a move the walker expected to work but the service refused."""
        self.problems.append(f"{journey}: {text}")

    # -- partner cases (a child and the adopters linked with them) --------------------------------

    def waiting_partner(self) -> Walker | None:
        """The adopters waiting longest for a link: open, not linked, able to record a match."""
        for w in self.walkers:
            free = (
                w.definition.id in PARTNER_ONLY and w.partner is None and w.case is not None and w.case.status == "open"
            )
            if free and w.case is not None and w.compiled.transition(w.case.state, LINK_MOVE):
                return w
        return None

    def after_move(self, w: Walker, trigger: str, on: date, facts: Mapping[str, Any]) -> None:
        """Keep a linked pair in step: link, mirror the child's moves on the adopters, unlink.

        Args:
            w: the case that moved.
            trigger: its move (``change_plan`` for a withdrawal).
            on: the move's day.
            facts: the facts it recorded.
        """
        ref = facts.get(PARTNER_FACT)
        if ref is not None and ref in self.by_ref and w.partner is None:
            self._link(w, self.by_ref[ref])
            return
        partner = w.partner
        if partner is None or partner.case is None or trigger not in PARTNER_MOVES or w.definition.id in PARTNER_ONLY:
            return
        self._mirror(w, partner, PARTNER_MOVES[trigger], on)

    def _link(self, w: Walker, partner: Walker) -> None:
        w.partner = partner
        partner.partner = w
        partner.plan.clear()
        self.reschedule(partner)

    def _mirror(self, w: Walker, partner: Walker, mirrored: str | None, on: date) -> None:
        """Record the child's move on the adopters' case; unlink when the link ends."""
        assert partner.case is not None
        t = partner.compiled.transition(partner.case.state, mirrored) if mirrored else None
        if t is None or mirrored in UNLINKING_MOVES:
            w.partner = partner.partner = None
        if t is not None and partner.case.status == "open":
            partner.fire(t, on, partner.facts_for(t, on))
        if partner.partner is None and partner.case.status == "open" and partner.case.state != ON_HOLD:
            partner.plan_stay(on)
        self.reschedule(partner)

    # -- running ---------------------------------------------------------------------------------

    def reschedule(self, w: Walker) -> None:
        """Plan ``w``'s next step again (its partner moved it); older queue entries go stale."""
        w.next = None
        w.token += 1
        nxt = w.schedule()
        if nxt is not None:
            heapq.heappush(self.queue, (nxt, w.index, w.token))

    def add(self, arrival: Arrival, owner: Actor | None = None) -> None:
        """Queue a new case (``owner``: who holds it, if already chosen)."""
        w = Walker(self, arrival, random.Random(self.rng.random()))
        w.owner = owner
        w.index = len(self.walkers)
        self.walkers.append(w)
        heapq.heappush(self.queue, (arrival.on, w.index, w.token))

    def follow_on(self, w: Walker, on: date) -> None:
        """An approval opens the next journey (the approved carer's case) the same day."""
        assert w.case is not None
        nxt, prefer = FOLLOW_ON.get(w.definition.id, (None, ()))
        if nxt is None or nxt not in self.gateway.journeys():
            return
        opened = w.case.facts.get(FOLLOWED_BY)
        if opened:  # the approval opened it, linked (docs/journeys.md "Linked cases")
            self.add(Arrival(on, nxt, w.arrival.team, {}, prefer, ref=str(opened)), owner=w.owner)
            return
        facts = {k: v for k, v in w.case.facts.items() if k in ("household_name",)}
        facts[FOLLOWS] = w.case.ref
        self.add(Arrival(on, nxt, w.arrival.team, facts, prefer))

    def run(self) -> None:
        """Walk every case in date order; the clock follows, and never goes back (a step planned for a
        day already past, as when a case is woken by another's move, happens on the day it is reached)."""
        reached: date | None = None
        while self.queue:
            on, i, token = heapq.heappop(self.queue)
            w = self.walkers[i]
            if token != w.token:
                continue
            reached = on if reached is None else max(reached, on)
            self._set_clock(reached)
            nxt = w.step()
            if nxt is not None:
                heapq.heappush(self.queue, (nxt, i, w.token))

    def _set_clock(self, on: date) -> None:
        at = datetime.combine(on, dtime(10), LONDON)
        self.clock.set(min(at, self.now) if on >= self.today else at)
