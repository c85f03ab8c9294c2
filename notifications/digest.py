"""The managers' daily digest: one email per manager per day instead of one per breach.

At the digest time (``CAREPATH_DIGEST_TIME`` local, Europe/London) each active team manager and service
manager gets one email listing every overdue deadline and every deadline due in the next 7
days on their teams' cases. The key ``digest:<manager id>:<local date>`` makes a second run
the same day a no-op; a manager with nothing to list gets no email.

This module composes the emails; the reads and the inserts are ``storage.queries.digest``'s.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from carepath.engine.clock import LONDON, Clock
from carepath.engine.definition import DeadlineRule
from carepath.engine.errors import UnknownWorkflow
from carepath.engine.ports import OutboxMessage
from carepath.engine.registry import WorkflowRegistry
from carepath.notifications.days import CALENDAR_DAYS, day_unit
from carepath.notifications.routing import case_link
from carepath.storage.queries.digest import Engine, Item, digest_run

#: "Due this week": due today or in the next 6 days.
WEEK = timedelta(days=6)


def _rule(workflows: WorkflowRegistry, item: Item) -> DeadlineRule | None:
    try:
        definition = workflows.get(item.workflow_id, item.workflow_version).definition
    except UnknownWorkflow:
        return None
    try:
        return definition.rule(item.rule)
    except KeyError:
        return None


def item_context(item: Item, rule: DeadlineRule | None, base_url: str) -> dict[str, Any]:
    """One digest line: reference, rule, class, source, due date, link; days overdue are counted when sent."""
    return {
        "case_ref": item.case_ref,
        "rule": item.rule,
        "rule_label": rule.label if rule else item.rule,
        "rule_class": rule.klass if rule else "?",
        "rule_source": rule.source if rule else "?",
        "due_on": item.due_on.isoformat(),
        "day_unit": day_unit(rule.limit) if rule else CALENDAR_DAYS,  # counted when sent (days.at_send)
        "link": case_link(base_url, item.case_ref),
    }


def digest_context(
    items: list[Item], team_names: list[str], today: date, base_url: str, workflows: WorkflowRegistry
) -> dict[str, Any]:
    """The whole digest's template fields."""
    lines = [(i, item_context(i, _rule(workflows, i), base_url)) for i in items]
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
    with digest_run(engine) as run:
        names = run.team_names()
        for manager_id, team_ids in sorted(run.manager_teams().items()):
            items = run.items_due(team_ids, today + WEEK)
            manager = run.active_user(manager_id)
            if not items or manager is None:
                continue
            context = digest_context(items, [names[t] for t in team_ids], today, base_url, workflows)
            message = OutboxMessage(f"digest:{manager_id}:{today.isoformat()}", "digest", (manager.email,), context)
            inserted += int(run.enqueue(message, now))
    return inserted
