"""Raising due timers: the scheduler's command, through the same unit of work as every case change.

``sweep`` claims due timers in batches (``TimerClaims``, a lease per sweeper so several
processes share the work) and raises each batch in one transaction: the timers still claimed
by this sweeper are marked fired, each gets a notice event in its case's history (the one
writer of events is this layer), and a ``TimerRaised`` domain event whose handlers queue the
email. A timer whose deadline was met or whose case closed meanwhile is marked skipped.

A rule that ``fires`` a trigger acts instead of reporting: when its breach timer is raised, the
case service makes the move as carepath's own user, in the same transaction (the timer's claim and
``fired_at`` make it once only; the case's version and the rule's open occurrence make a second try
a no-op). If the move cannot be made (the case moved on, is on hold, a guard refuses), the breach is
raised as any other, so a person hears of it; the notice says why carepath did not act.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from carepath.engine.case import Actor, Event
from carepath.engine.clock import LONDON, Clock
from carepath.engine.definition import DeadlineRule
from carepath.engine.events import TimerRaised
from carepath.engine.policy import authorize
from carepath.engine.ports import DueTimer, UnitOfWork
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.timers import TimerFired, TimerKind

if TYPE_CHECKING:
    from carepath.engine.ports import Transaction
    from carepath.engine.services.cases import CaseService

NOTICE_TRIGGER: dict[TimerKind, str] = {
    "reminder": "reminder_due",
    "breach": "deadline_breached",
    "escalation": "deadline_escalated",
}


class TimerClaims(Protocol):
    """Claims due timers for one sweeper with a lease (storage.sweep.SqlTimerClaims)."""

    def claim(self, token: str, now: datetime) -> list[int]:
        """Claim up to a batch of timers due at ``now`` for ``token``; their ids."""
        ...


@dataclass
class SweepResult:
    """What one sweep did."""

    raised: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    batches: int = 0
    #: Cases moved by their rules (``fires:``), each once.
    moved: int = 0

    @property
    def total(self) -> int:
        """Timers raised."""
        return sum(self.raised.values())


class TimerService:
    """Raises due timers; safe to run in several processes at once (one token each)."""

    def __init__(
        self,
        uow: UnitOfWork,
        claims: TimerClaims,
        workflows: WorkflowRegistry,
        clock: Clock,
        cases: CaseService | None = None,
    ) -> None:
        self.uow = uow
        self.claims = claims
        self.workflows = workflows
        self.clock = clock
        #: Makes the moves of rules that fire a trigger; without it (tests of notices alone) they escalate.
        self.cases = cases
        self.token = uuid.uuid4().hex

    def sweep(self, actor: Actor, as_of: datetime | None = None, max_batches: int | None = None) -> SweepResult:
        """Raise everything due at ``as_of`` (default now), batch by batch, until none is left."""
        authorize(actor, "timers.raise")
        result = SweepResult()
        while max_batches is None or result.batches < max_batches:
            ids = self.claims.claim(self.token, as_of or self.clock.now())
            if not ids:
                break
            self.raise_claimed(actor, ids, result)
            result.batches += 1
        return result

    def raise_claimed(self, actor: Actor, ids: Sequence[int], result: SweepResult) -> None:
        """Raise the claimed timers still ours, in one transaction."""
        authorize(actor, "timers.raise")
        now = self.clock.now()
        with self.uow.transaction() as tx:
            due, seqs = tx.take_claimed(ids, self.token, now)
            # Moves first: a moved case's other timers in this batch are then judged on what it is now.
            acted, not_moved, fresh = self._act(tx, actor, due, seqs)
            result.moved += len(acted)
            events: list[Event] = []
            skipped: list[int] = []
            for timer in due:
                if timer.id in acted:
                    continue
                status, case_status = fresh.get((timer.case_id, timer.rule, timer.cycle), (None, None))
                if (status or timer.deadline_status) != "open" or (case_status or timer.case_status) == "closed":
                    skipped.append(timer.id)
                    continue
                seqs[timer.case_id] += 1
                rule = self._rule(timer)
                events.append(self._event(timer, rule, seqs[timer.case_id], now, actor, not_moved.get(timer.id)))
                tx.record(TimerRaised(self._fired(timer, rule)))
                result.raised[timer.kind] += 1
            tx.mark_skipped(skipped)
            tx.add_notices(events)
            result.skipped += len(skipped)

    def _rule(self, t: DueTimer) -> DeadlineRule:
        return self.workflows.get(t.workflow_id, t.workflow_version).definition.rule(t.rule)

    def _act(
        self, tx: Transaction, actor: Actor, due: Sequence[DueTimer], seqs: dict[int, int]
    ) -> tuple[set[int], dict[int, str], dict[tuple[int, str, int], tuple[str, str]]]:
        """Make the moves of the breach timers whose rules fire a trigger.

        Returns the timers whose move was made, why each other one was not (for its breach
        notice), and, for every case moved, each deadline's status and the case's status now.
        """
        acted: set[int] = set()
        not_moved: dict[int, str] = {}
        fresh: dict[tuple[int, str, int], tuple[str, str]] = {}
        if self.cases is None:
            return acted, not_moved, fresh
        for timer in due:
            if timer.kind != "breach" or timer.deadline_status != "open" or timer.case_status == "closed":
                continue
            rule = self._rule(timer)
            if rule.fires is None:
                continue
            outcome = self.cases.fire_for_rule(tx, actor, timer.case_ref, rule, timer.cycle)
            if isinstance(outcome, str):
                not_moved[timer.id] = outcome
                continue
            acted.add(timer.id)
            seqs[timer.case_id] = outcome.last_seq
            for d in tx.deadlines(timer.case_id):
                fresh[(timer.case_id, d.rule, d.cycle)] = (d.status, outcome.status)
        return acted, not_moved, fresh

    @staticmethod
    def _fired(t: DueTimer, rule: DeadlineRule) -> TimerFired:
        to = rule.escalations[t.tier - 1].to if t.kind == "escalation" else ()
        return TimerFired(
            case_id=t.case_id,
            case_ref=t.case_ref,
            workflow_id=t.workflow_id,
            owner_id=t.owner_id,
            team_id=t.team_id,
            rule=rule,
            deadline_id=t.deadline_id,
            start_on=t.start_on,
            due_on=t.due_on,
            kind=t.kind,
            tier=t.tier,
            fire_on=t.fire_on,
            timer_key=t.key,
            escalate_to=tuple(to),
        )

    @staticmethod
    def _event(
        t: DueTimer, rule: DeadlineRule, seq: int, now: datetime, actor: Actor, not_moved: str | None = None
    ) -> Event:
        payload: dict[str, object] = {
            "rule": t.rule,
            "cycle": t.cycle,
            "kind": t.kind,
            "tier": t.tier,
            "due_on": t.due_on.isoformat(),
            "class": rule.klass,
            "source": rule.source,
            "timer": t.key,
        }
        if not_moved is not None:
            # The rule fires a trigger, but carepath could not make the move: a person must.
            payload["not_moved"] = f"{rule.fires}: {not_moved}"
        effective_on = t.fire_at.astimezone(LONDON).date()
        return Event(
            t.case_id, seq, NOTICE_TRIGGER[t.kind], t.state, t.state, effective_on, now, actor.id, None, payload
        )
