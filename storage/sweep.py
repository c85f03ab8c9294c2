"""The sweep's storage: claiming due timers with a lease, and raising claimed ones in a unit of work.

Two phases. *Claim* (``SqlTimerClaims``): mark up to ``batch`` due, unclaimed (or
lease-expired) timers with this sweeper's token and a lease (PostgreSQL ``FOR UPDATE SKIP
LOCKED``; SQLite's ``BEGIN IMMEDIATE`` serialises). *Raise* (``TimerSql``, used by
``engine.services.timers.TimerService`` inside one transaction): lock the cases in id order,
mark the claimed timers fired only if the token still holds, append the notice events the
service numbers, and move each case's ``last_seq``. A sweeper killed between the phases leaves
rows that return when the lease runs out. Cost is O(due): the pending-timer index is
(fired_at, fire_at).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, or_, select, update

from carepath.engine.case import Event
from carepath.engine.clock import Clock
from carepath.engine.ports import DueTimer
from carepath.storage.db import is_postgres
from carepath.storage.recipients import preload
from carepath.storage.tables import CASES, DEADLINES, EVENTS, TIMERS

_CLAIMABLE = and_(
    TIMERS.c.fired_at.is_(None),
    TIMERS.c.fire_at <= bindparam("now"),
    or_(TIMERS.c.claimed_until.is_(None), TIMERS.c.claimed_until < bindparam("now")),
)
_UPDATE_SEQ = update(CASES).where(CASES.c.id == bindparam("b_id")).values(last_seq=bindparam("b_seq"))
_LOAD = (
    select(
        TIMERS.c.id,
        TIMERS.c.case_id,
        TIMERS.c.deadline_id,
        TIMERS.c.key,
        TIMERS.c.kind,
        TIMERS.c.tier,
        TIMERS.c.fire_on,
        TIMERS.c.fire_at,
        DEADLINES.c.rule,
        DEADLINES.c.cycle,
        DEADLINES.c.start_on,
        DEADLINES.c.due_on,
        DEADLINES.c.status.label("d_status"),
        CASES.c.ref,
        CASES.c.workflow_id,
        CASES.c.workflow_version,
        CASES.c.state,
        CASES.c.owner_id,
        CASES.c.team_id,
        CASES.c.status.label("c_status"),
    )
    .join(DEADLINES, DEADLINES.c.id == TIMERS.c.deadline_id)
    .join(CASES, CASES.c.id == TIMERS.c.case_id)
    .where(TIMERS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(TIMERS.c.fire_at, TIMERS.c.id)
)
_INSERT_EVENT = EVENTS.insert()


class SqlTimerClaims:
    """Claims due timers for one sweeper (a token) with a lease; safe in several processes."""

    def __init__(self, engine: Engine, clock: Clock, lease: timedelta = timedelta(minutes=5), batch: int = 2000):
        self.engine = engine
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.postgres = is_postgres(engine)

    def claim(self, token: str, now: datetime) -> list[int]:
        """Claim up to ``batch`` timers due at ``now`` for ``token``; returns their ids."""
        pick = select(TIMERS.c.id).where(_CLAIMABLE).order_by(TIMERS.c.fire_at).limit(self.batch)
        if self.postgres:
            pick = pick.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            ids = [r.id for r in conn.execute(pick, {"now": now})]
            if ids:
                conn.execute(
                    update(TIMERS)
                    .where(TIMERS.c.id.in_(ids))
                    .values(claimed_by=token, claimed_until=self.clock.now() + self.lease)
                )
        return ids


class TimerSql:
    """Raising claimed timers (a mixin of ``SqlTransaction``)."""

    conn: Connection
    postgres: bool

    def take_claimed(self, ids: Sequence[int], token: str, now: datetime) -> tuple[list[DueTimer], dict[int, int]]:
        rows = list(self.conn.execute(_LOAD, {"ids": list(ids)}))
        # The notifier resolves each raised timer's owner and team: read them for the whole batch now.
        preload(self.conn, (r.owner_id for r in rows), (r.team_id for r in rows))
        lock = (
            select(CASES.c.id, CASES.c.last_seq)
            .where(CASES.c.id.in_(sorted({r.case_id for r in rows})))
            .order_by(CASES.c.id)
        )
        if self.postgres:
            lock = lock.with_for_update()
        seqs = {r.id: r.last_seq for r in self.conn.execute(lock)}
        mine = {
            r.id
            for r in self.conn.execute(
                update(TIMERS)
                # The token alone proves the row is unfired and still ours: whoever fires a
                # timer claimed it first, and firing clears the token, so raising the same batch
                # again finds nothing. Adding "fired_at IS NULL" instead makes SQLite's planner
                # scan every pending timer via ix_timer_pending, not the primary key (O(open)).
                .where(and_(TIMERS.c.id.in_(list(ids)), TIMERS.c.claimed_by == token))
                .values(fired_at=now, outcome="raised", claimed_by=None)
                .returning(TIMERS.c.id)
            )
        }
        return [_due(r) for r in rows if r.id in mine], seqs

    def mark_skipped(self, ids: Sequence[int]) -> None:
        if ids:
            self.conn.execute(update(TIMERS).where(TIMERS.c.id.in_(list(ids))).values(outcome="skipped"))

    def add_notices(self, events: Sequence[Event]) -> None:
        if not events:
            return
        self.conn.execute(_INSERT_EVENT, [event_row(e) for e in events])
        last: dict[int, int] = {}
        for e in events:
            last[e.case_id] = max(last.get(e.case_id, 0), e.seq)
        self.conn.execute(_UPDATE_SEQ, [{"b_id": k, "b_seq": v} for k, v in last.items()])


def event_row(e: Event) -> dict[str, Any]:
    """An event as a ``case_event`` row."""
    return {
        "case_id": e.case_id,
        "seq": e.seq,
        "trigger": e.trigger,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "effective_on": e.effective_on,
        "recorded_at": e.recorded_at,
        "actor_id": e.actor_id,
        "note": e.note,
        "payload": dict(e.payload),
    }


def _due(r: Any) -> DueTimer:
    return DueTimer(
        id=r.id,
        case_id=r.case_id,
        deadline_id=r.deadline_id,
        key=r.key,
        kind=r.kind,
        tier=r.tier,
        fire_on=r.fire_on,
        fire_at=r.fire_at,
        rule=r.rule,
        cycle=r.cycle,
        start_on=r.start_on,
        due_on=r.due_on,
        deadline_status=r.d_status,
        case_ref=r.ref,
        workflow_id=r.workflow_id,
        workflow_version=r.workflow_version,
        state=r.state,
        owner_id=r.owner_id,
        team_id=r.team_id,
        case_status=r.c_status,
    )
