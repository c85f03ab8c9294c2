"""The sweep: raise every timer whose time has come, exactly once, across processes.

Two phases. *Claim*: mark up to ``batch`` due, unclaimed (or lease-expired) timers with
this sweeper's token and a lease (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite's
``BEGIN IMMEDIATE`` serialises). *Raise*: lock the cases (in id order), mark the claimed
timers fired only if the token still holds, and for those append a notice event to the
case and hand each to the ``on_timer`` hook (outbox rows), all in one transaction.
A sweeper killed between the phases leaves rows that return when the lease runs out.
Cost is O(due): the pending-timer index is (fired_at, fire_at).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, or_, select, update

from engine.clock import LONDON, Clock
from engine.definition import DeadlineRule
from engine.registry import WorkflowRegistry
from engine.timers import TimerFired
from storage.uow import CASE, DEADLINE, EVENT, TIMER, C, D, T

TimerHook = Callable[[Connection, TimerFired, datetime], None]

NOTICE_TRIGGER = {
    "reminder": "reminder_due",
    "breach": "deadline_breached",
    "escalation": "deadline_escalated",
}

_CLAIMABLE = and_(
    T.fired_at.is_(None),
    T.fire_at <= bindparam("now"),
    or_(T.claimed_until.is_(None), T.claimed_until < bindparam("now")),
)
_UPDATE_SEQ = update(CASE).where(C.id == bindparam("b_id")).values(last_seq=bindparam("b_seq"))


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


class Sweeper:
    """Raises due timers; safe to run in several processes at once."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        workflows: WorkflowRegistry,
        system_actor_id: int,
        on_timer: Sequence[TimerHook] = (),
        lease: timedelta = timedelta(minutes=5),
        batch: int = 2000,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.workflows = workflows
        self.actor_id = system_actor_id
        self.hooks = list(on_timer)
        self.lease = lease
        self.batch = batch
        self.token = uuid.uuid4().hex
        self.postgres = engine.dialect.name == "postgresql"

    def sweep(self, as_of: datetime | None = None, max_batches: int | None = None) -> SweepResult:
        """Raise everything due at ``as_of`` (default now), batch by batch, until none is left."""
        result = SweepResult()
        while max_batches is None or result.batches < max_batches:
            ids = self.claim(as_of or self.clock.now())
            if not ids:
                break
            self.raise_claimed(ids, result)
            result.batches += 1
        return result

    def claim(self, now: datetime) -> list[int]:
        """Claim up to ``batch`` due timers for this sweeper; returns their ids."""
        pick = select(T.id).where(_CLAIMABLE).order_by(T.fire_at).limit(self.batch)
        if self.postgres:
            pick = pick.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            ids = [r.id for r in conn.execute(pick, {"now": now})]
            if ids:
                conn.execute(
                    update(TIMER)
                    .where(T.id.in_(ids))
                    .values(claimed_by=self.token, claimed_until=self.clock.now() + self.lease)
                )
        return ids

    def raise_claimed(self, ids: list[int], result: SweepResult) -> None:
        """Raise the claimed timers still ours, in one transaction."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            rows = self._load(conn, ids)
            seqs = self._lock_cases(conn, sorted({r.case_id for r in rows}))
            mine = {
                r.id
                for r in conn.execute(
                    update(TIMER)
                    # The token alone proves the row is unfired and still ours: whoever fires a
                    # timer claimed it first. Adding "fired_at IS NULL" makes SQLite's planner scan
                    # every pending timer via ix_timer_pending instead of the primary key (O(open)).
                    .where(and_(T.id.in_(ids), T.claimed_by == self.token))
                    .values(fired_at=now, outcome="raised")
                    .returning(T.id)
                )
            }
            events: list[dict[str, Any]] = []
            skipped = []
            for r in rows:
                if r.id not in mine:
                    continue
                if r.d_status != "open" or r.c_status == "closed":
                    skipped.append(r.id)
                    continue
                seqs[r.case_id] += 1
                rule = self._rule(r)
                events.append(self._event(r, rule, seqs[r.case_id], now))
                fired = self._fired(r, rule)
                for hook in self.hooks:
                    hook(conn, fired, now)
                result.raised[r.kind] += 1
            if skipped:
                conn.execute(update(TIMER).where(T.id.in_(skipped)).values(outcome="skipped"))
                result.skipped += len(skipped)
            if events:
                conn.execute(EVENT.insert(), events)
                conn.execute(_UPDATE_SEQ, [{"b_id": k, "b_seq": v} for k, v in seqs.items()])

    def _load(self, conn: Connection, ids: list[int]) -> list[Any]:
        stmt = (
            select(
                T.id,
                T.case_id,
                T.deadline_id,
                T.key,
                T.kind,
                T.tier,
                T.fire_on,
                T.fire_at,
                D.rule,
                D.cycle,
                D.start_on,
                D.due_on,
                D.status.label("d_status"),
                C.ref,
                C.workflow_id,
                C.workflow_version,
                C.state,
                C.owner_id,
                C.team_id,
                C.status.label("c_status"),
            )
            .join(DEADLINE, D.id == T.deadline_id)
            .join(CASE, C.id == T.case_id)
            .where(T.id.in_(ids))
            .order_by(T.fire_at, T.id)
        )
        return list(conn.execute(stmt))

    def _lock_cases(self, conn: Connection, case_ids: list[int]) -> dict[int, int]:
        stmt = select(C.id, C.last_seq).where(C.id.in_(case_ids)).order_by(C.id)
        if self.postgres:
            stmt = stmt.with_for_update()
        return {r.id: r.last_seq for r in conn.execute(stmt)}

    def _rule(self, r: Any) -> DeadlineRule:
        definition = self.workflows.get(r.workflow_id, r.workflow_version).definition
        return next(x for x in definition.deadlines if x.name == r.rule)

    def _fired(self, r: Any, rule: DeadlineRule) -> TimerFired:
        to = rule.escalations[r.tier - 1].to if r.kind == "escalation" else ()
        return TimerFired(
            case_id=r.case_id,
            case_ref=r.ref,
            workflow_id=r.workflow_id,
            owner_id=r.owner_id,
            team_id=r.team_id,
            rule=rule,
            deadline_id=r.deadline_id,
            start_on=r.start_on,
            due_on=r.due_on,
            kind=r.kind,
            tier=r.tier,
            fire_on=r.fire_on,
            timer_key=r.key,
            escalate_to=tuple(to),
        )

    def _event(self, r: Any, rule: DeadlineRule, seq: int, now: datetime) -> dict[str, Any]:
        return {
            "case_id": r.case_id,
            "seq": seq,
            "trigger": NOTICE_TRIGGER[r.kind],
            "from_state": r.state,
            "to_state": r.state,
            "effective_on": r.fire_at.astimezone(LONDON).date(),
            "recorded_at": now,
            "actor_id": self.actor_id,
            "note": None,
            "payload": {
                "rule": r.rule,
                "cycle": r.cycle,
                "kind": r.kind,
                "tier": r.tier,
                "due_on": r.due_on.isoformat(),
                "class": rule.klass,
                "source": rule.source,
                "timer": r.key,
            },
        }


def pending_count(engine: Engine, now: datetime) -> int:
    """Timers due at ``now`` and not yet raised (monitoring)."""
    from sqlalchemy import func

    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(TIMER).where(_CLAIMABLE), {"now": now})
        return int(n.scalar_one())


def next_fire_at(engine: Engine) -> datetime | None:
    """When the next pending timer fires."""
    from sqlalchemy import func

    with engine.connect() as conn:
        return conn.execute(select(func.min(T.fire_at)).where(T.fired_at.is_(None))).scalar()
