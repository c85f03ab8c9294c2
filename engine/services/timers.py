"""Raising due timers: the scheduler's command, through the same unit of work as every case change.

``sweep`` claims due timers in batches (``TimerClaims``, a lease per sweeper so several
processes share the work) and raises each batch in one transaction: the timers still claimed
by this sweeper are marked fired, each gets a notice event in its case's history (the one
writer of events is this layer), and a ``TimerRaised`` domain event whose handlers queue the
email. A timer whose deadline was met or whose case closed meanwhile is marked skipped.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from carepath.engine.case import Actor, Event
from carepath.engine.clock import LONDON, Clock
from carepath.engine.definition import DeadlineRule
from carepath.engine.events import TimerRaised
from carepath.engine.policy import authorize
from carepath.engine.ports import DueTimer, UnitOfWork
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.timers import TimerFired, TimerKind

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

    @property
    def total(self) -> int:
        """Timers raised."""
        return sum(self.raised.values())


class TimerService:
    """Raises due timers; safe to run in several processes at once (one token each)."""

    def __init__(self, uow: UnitOfWork, claims: TimerClaims, workflows: WorkflowRegistry, clock: Clock) -> None:
        self.uow = uow
        self.claims = claims
        self.workflows = workflows
        self.clock = clock
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
            events: list[Event] = []
            skipped: list[int] = []
            for timer in due:
                if timer.deadline_status != "open" or timer.case_status == "closed":
                    skipped.append(timer.id)
                    continue
                seqs[timer.case_id] += 1
                rule = self.workflows.get(timer.workflow_id, timer.workflow_version).definition.rule(timer.rule)
                events.append(self._event(timer, rule, seqs[timer.case_id], now, actor))
                tx.record(TimerRaised(self._fired(timer, rule)))
                result.raised[timer.kind] += 1
            tx.mark_skipped(skipped)
            tx.add_notices(events)
            result.skipped += len(skipped)

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
    def _event(t: DueTimer, rule: DeadlineRule, seq: int, now: datetime, actor: Actor) -> Event:
        payload = {
            "rule": t.rule,
            "cycle": t.cycle,
            "kind": t.kind,
            "tier": t.tier,
            "due_on": t.due_on.isoformat(),
            "class": rule.klass,
            "source": rule.source,
            "timer": t.key,
        }
        effective_on = t.fire_at.astimezone(LONDON).date()
        return Event(
            t.case_id, seq, NOTICE_TRIGGER[t.kind], t.state, t.state, effective_on, now, actor.id, None, payload
        )
