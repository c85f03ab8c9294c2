"""The managers' daily digest: one email per manager per day instead of one per breach.

At ``settings.digest_time`` (local, Europe/London) each active team manager and service
manager gets one email listing every overdue deadline and every deadline due in the next 7
days on their teams' cases. The key ``digest:<manager id>:<local date>`` makes a second run
the same day a no-op; a manager with nothing to list gets no email.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, select

from config.settings import Settings
from engine.clock import LONDON, Clock
from engine.definition import DeadlineRule
from engine.errors import UnknownWorkflow
from engine.registry import WorkflowRegistry
from notifications.outbox import enqueue
from notifications.recipients import TEAM, active_user
from notifications.routing import case_link
from storage.uow import CASE, DEADLINE, C, D

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
    for t in conn.execute(select(TEAM.c.id, TEAM.c.manager_id, TEAM.c.service_manager_id)):
        for uid in (t.manager_id, t.service_manager_id):
            if uid is not None:
                teams[uid].add(t.id)
    return {uid: ids for uid, ids in teams.items() if active_user(conn, uid) is not None}


def items_due(conn: Connection, team_ids: Iterable[int], until: date) -> list[Item]:
    """Open deadlines on cases of ``team_ids`` due on or before ``until``, by due date."""
    stmt = (
        select(C.team_id, C.ref, C.workflow_id, C.workflow_version, D.rule, D.due_on)
        .select_from(DEADLINE)
        .join(CASE, C.id == D.case_id)
        .where(and_(D.status == "open", C.status != "closed", C.team_id.in_(list(team_ids)), D.due_on <= until))
        .order_by(D.due_on, C.ref, D.rule)
    )
    return [Item(r[0], r[1], r[2], r[3], r[4], r[5]) for r in conn.execute(stmt)]


def _rule(workflows: WorkflowRegistry, item: Item) -> DeadlineRule | None:
    try:
        definition = workflows.get(item.workflow_id, item.workflow_version).definition
    except UnknownWorkflow:
        return None
    return next((r for r in definition.deadlines if r.name == item.rule), None)


def item_context(item: Item, rule: DeadlineRule | None, today: date, settings: Settings) -> dict[str, Any]:
    """One digest line: reference, rule, class, source, due date, link."""
    return {
        "case_ref": item.case_ref,
        "rule": item.rule,
        "rule_label": rule.label if rule else item.rule,
        "rule_class": rule.klass if rule else "?",
        "rule_source": rule.source if rule else "?",
        "due_on": item.due_on.isoformat(),
        "days_overdue": max((today - item.due_on).days, 0),
        "link": case_link(settings, item.case_ref),
    }


def digest_context(
    items: list[Item], team_names: list[str], today: date, settings: Settings, workflows: WorkflowRegistry
) -> dict[str, Any]:
    """The whole digest's template fields."""
    lines = [(i, item_context(i, _rule(workflows, i), today, settings)) for i in items]
    return {
        "local_date": today.isoformat(),
        "teams": sorted(team_names),
        "overdue": [ctx for i, ctx in lines if i.due_on < today],
        "due_soon": [ctx for i, ctx in lines if i.due_on >= today],
        "link": f"{settings.base_url.rstrip('/')}/deadlines",
    }


def enqueue_digests(engine: Engine, clock: Clock, settings: Settings, workflows: WorkflowRegistry | None = None) -> int:
    """Queue today's digest for every manager, once the local digest time has passed.

    Safe to call on every scheduler tick: before ``settings.digest_time`` it does nothing,
    after it each manager's row is inserted once per local date.

    Args:
        engine: the database.
        clock: the injected clock.
        settings: ``digest_time``, ``base_url`` and (without ``workflows``) where journeys live.
        workflows: compiled journeys, for each rule's label, class and source.

    Returns:
        How many digest rows were inserted now.
    """
    now = clock.now()
    local = now.astimezone(LONDON)
    if local.time() < settings.digest_time:
        return 0
    workflows = workflows or _load_workflows(settings)
    today = local.date()
    inserted = 0
    with engine.begin() as conn:
        names = {r.id: r.name for r in conn.execute(select(TEAM.c.id, TEAM.c.name))}
        for manager_id, team_ids in sorted(manager_teams(conn).items()):
            inserted += _enqueue_one(conn, manager_id, team_ids, names, today, now, settings, workflows)
    return inserted


def _enqueue_one(
    conn: Connection,
    manager_id: int,
    team_ids: set[int],
    names: dict[int, str],
    today: date,
    now: datetime,
    settings: Settings,
    workflows: WorkflowRegistry,
) -> int:
    items = items_due(conn, team_ids, today + WEEK)
    manager = active_user(conn, manager_id)
    if not items or manager is None:
        return 0
    context = digest_context(items, [names[t] for t in team_ids], today, settings, workflows)
    key = f"digest:{manager_id}:{today.isoformat()}"
    return int(enqueue(conn, key=key, kind="digest", recipients=[manager.email], context=context, now=now))


def _load_workflows(settings: Settings) -> WorkflowRegistry:
    from workflows.loader import WORKFLOWS_DIR

    return _registry(str(settings.workflows_dir or WORKFLOWS_DIR), tuple(sorted(settings.conventions.items())))


@lru_cache(maxsize=4)
def _registry(directory: str, conventions: tuple[tuple[str, str], ...]) -> WorkflowRegistry:
    from config.bootstrap import load_registry

    return load_registry(Path(directory), dict(conventions))
