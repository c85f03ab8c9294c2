"""The managers' daily digest: one email per manager per day instead of one per breach.

At the digest time (``CAREPATH_DIGEST_TIME`` local, Europe/London) each active team manager and service
manager gets one email listing every overdue deadline and every deadline due in the next 7
days on their teams' cases. The key ``digest:<manager id>:<local date>`` makes a second run
the same day a no-op; a manager with nothing to list gets no email.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, select

from carepath.engine.clock import LONDON, Clock
from carepath.engine.definition import DeadlineRule
from carepath.engine.errors import UnknownWorkflow
from carepath.engine.ports import OutboxMessage
from carepath.engine.registry import WorkflowRegistry
from carepath.notifications.routing import case_link
from carepath.storage.admin import insert_outbox
from carepath.storage.recipients import active_user
from carepath.storage.tables import CASES, DEADLINES, TEAMS

#: "Due this week": due today or in the next 6 days.
WEEK = timedelta(days=6)


@dataclass(frozen=True, slots=True)
class Item:
    """One deadline a manager should see."""

    team_id: int
    case_ref: str
    workflow_id: str
    workflow_version: int
    rule: str
    due_on: date


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


def _rule(workflows: WorkflowRegistry, item: Item) -> DeadlineRule | None:
    try:
        definition = workflows.get(item.workflow_id, item.workflow_version).definition
    except UnknownWorkflow:
        return None
    try:
        return definition.rule(item.rule)
    except KeyError:
        return None


def item_context(item: Item, rule: DeadlineRule | None, today: date, base_url: str) -> dict[str, Any]:
    """One digest line: reference, rule, class, source, due date, link."""
    return {
        "case_ref": item.case_ref,
        "rule": item.rule,
        "rule_label": rule.label if rule else item.rule,
        "rule_class": rule.klass if rule else "?",
        "rule_source": rule.source if rule else "?",
        "due_on": item.due_on.isoformat(),
        "days_overdue": max((today - item.due_on).days, 0),
        "link": case_link(base_url, item.case_ref),
    }


def digest_context(
    items: list[Item], team_names: list[str], today: date, base_url: str, workflows: WorkflowRegistry
) -> dict[str, Any]:
    """The whole digest's template fields."""
    lines = [(i, item_context(i, _rule(workflows, i), today, base_url)) for i in items]
    return {
        "local_date": today.isoformat(),
        "teams": sorted(team_names),
        "overdue": [ctx for i, ctx in lines if i.due_on < today],
        "due_soon": [ctx for i, ctx in lines if i.due_on >= today],
        "link": f"{base_url.rstrip('/')}/deadlines",
    }


def enqueue_digests(engine: Engine, clock: Clock, workflows: WorkflowRegistry, *, at: time, base_url: str) -> int:
    """Queue today's digest for every manager, once the local digest time has passed.

    Safe to call on every scheduler tick: before ``at`` it does nothing, after it each
    manager's row is inserted once per local date.

    Args:
        engine: the database.
        clock: the injected clock.
        workflows: compiled journeys, for each rule's label, class and source.
        at: the local (Europe/London) time of day digests go out.
        base_url: where carepath's pages are, for links.

    Returns:
        How many digest rows were inserted now.
    """
    now = clock.now()
    local = now.astimezone(LONDON)
    if local.time() < at:
        return 0
    today = local.date()
    inserted = 0
    with engine.begin() as conn:
        names = {r.id: r.name for r in conn.execute(select(TEAMS.c.id, TEAMS.c.name))}
        for manager_id, team_ids in sorted(manager_teams(conn).items()):
            items = items_due(conn, team_ids, today + WEEK)
            manager = active_user(conn, manager_id)
            if not items or manager is None:
                continue
            context = digest_context(items, [names[t] for t in team_ids], today, base_url, workflows)
            message = OutboxMessage(f"digest:{manager_id}:{today.isoformat()}", "digest", (manager.email,), context)
            inserted += int(insert_outbox(conn, message, now))
    return inserted
