"""The managers' digest as the database answers it: who manages which teams, what is due on them.

``notifications.digest`` composes each manager's email from these reads and queues it through
``DigestRun.enqueue`` (``storage.admin.insert_outbox``), all in the one transaction
``digest_run`` opens. It takes the database as an ``Engine`` re-exported here, so
notifications never import SQLAlchemy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, and_, select

from carepath.engine.ports import OutboxMessage
from carepath.storage.admin import insert_outbox
from carepath.storage.recipients import Person, active_user
from carepath.storage.tables import CASES, DEADLINES, TEAMS


@dataclass(frozen=True, slots=True)
class Item:
    """One deadline a manager should see."""

    team_id: int
    case_ref: str
    workflow_id: str
    workflow_version: int
    rule: str
    due_on: date


def team_names(conn: Connection) -> dict[int, str]:
    """Every team's name by id."""
    return {r.id: r.name for r in conn.execute(select(TEAMS.c.id, TEAMS.c.name))}


def manager_teams(conn: Connection) -> dict[int, set[int]]:
    """Active manager (team or service) -> the ids of the teams they manage."""
    teams: dict[int, set[int]] = defaultdict(set)
    for t in conn.execute(select(TEAMS.c.id, TEAMS.c.manager_id, TEAMS.c.service_manager_id)):
        for uid in (t.manager_id, t.service_manager_id):
            if uid is not None:
                teams[uid].add(t.id)
    return {uid: ids for uid, ids in teams.items() if active_user(conn, uid) is not None}


def items_due(conn: Connection, team_ids: Iterable[int], until: date) -> list[Item]:
    """Open deadlines on cases of ``team_ids`` due on or before ``until``, by due date."""
    C, D = CASES.c, DEADLINES.c
    stmt = (
        select(C.team_id, C.ref, C.workflow_id, C.workflow_version, D.rule, D.due_on)
        .select_from(DEADLINES)
        .join(CASES, C.id == D.case_id)
        .where(and_(D.status == "open", C.status != "closed", C.team_id.in_(list(team_ids)), D.due_on <= until))
        .order_by(D.due_on, C.ref, D.rule)
    )
    return [Item(r[0], r[1], r[2], r[3], r[4], r[5]) for r in conn.execute(stmt)]


class DigestRun:
    """One digest run's reads and outbox inserts, in the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def team_names(self) -> dict[int, str]:
        """Every team's name by id."""
        return team_names(self.conn)

    def manager_teams(self) -> dict[int, set[int]]:
        """Active manager (team or service) -> the ids of the teams they manage."""
        return manager_teams(self.conn)

    def items_due(self, team_ids: Iterable[int], until: date) -> list[Item]:
        """Open deadlines on cases of ``team_ids`` due on or before ``until``, by due date."""
        return items_due(self.conn, team_ids, until)

    def active_user(self, user_id: int) -> Person | None:
        """The active user ``user_id``, or ``None`` if they are deactivated."""
        return active_user(self.conn, user_id)

    def enqueue(self, message: OutboxMessage, now: datetime) -> bool:
        """Queue ``message`` unless its key is queued; whether it was added."""
        return insert_outbox(self.conn, message, now)


@contextmanager
def digest_run(engine: Engine) -> Iterator[DigestRun]:
    """One write transaction for a digest run: committed on leaving, rolled back on an exception."""
    with engine.begin() as conn:
        yield DigestRun(conn)


__all__ = ["DigestRun", "Engine", "Item", "Person", "digest_run", "items_due", "manager_teams", "team_names"]
