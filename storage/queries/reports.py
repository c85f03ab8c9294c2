"""Report read models: aggregates over the event log as it stood at the end of a day (issue 13).

Every figure comes from ``case_event`` joined to ``case``, never from a case's current state alone:
an event counts when it was recorded before the end of the as-of day (London time, as ``local_today``
reckons days), it is not a correction, notice or note, and no correction recorded by then voids it.
The database does the counting (GROUP BY, window ranks for medians and 90th percentiles) and
returns a few rows per report; only the scorecard's children and the adopters' approvals, which a
report lists one by one, come back as events.

Approximations, said where they apply: the team and the worker a case is counted under are the
case's team and owner now; a deadline's state on the as-of day is worked out from its dates
(``deadline_as_of``), since the deadline table keeps only its latest form.

Dialects differ in three places, each in one helper here: reading a date fact from an event's
JSON payload, days between two dates, and (SQLAlchemy hides it) a payload key as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    Engine,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    extract,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE, Subquery

from carepath.engine.case import NOTE_TRIGGER, NOTICE_TRIGGERS
from carepath.engine.clock import end_of_local_day
from carepath.engine.errors import NotFound
from carepath.engine.reports import (
    CaseEvent,
    DeadlineCount,
    ExitCount,
    Milestone,
    Period,
    Quantiles,
    StateCount,
    Stretch,
)
from carepath.storage.tables import CASES, DEADLINES, EVENTS, TEAMS, USERS

#: Rows of the history that are not things that happened to the case.
NOT_EVENTS = ("entered_in_error", NOTE_TRIGGER, *sorted(NOTICE_TRIGGERS))

Teams = frozenset[int] | None


def cutoff(as_of: date) -> datetime:
    """The first instant after ``as_of`` ends in London: events recorded from then on are left out."""
    return end_of_local_day(as_of)


def voided_by(end: datetime) -> ColumnElement[bool]:
    """Whether a correction recorded before ``end`` voids the event (``entered_in_error``, ``target_seq``)."""
    v = EVENTS.alias("void")
    return (
        select(literal(1))
        .where(
            v.c.case_id == EVENTS.c.case_id,
            v.c.trigger == "entered_in_error",
            v.c.recorded_at < end,
            v.c.payload["target_seq"].as_integer() == EVENTS.c.seq,
        )
        .exists()
    )


class ReportQueries:
    """The reports' reads, on the read engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for one report's reads. PostgreSQL: without JIT compilation, which the planner's
        large estimates for these aggregates would switch on, costing more than it saves (compliance at
        1M events: 0.47 s with it, 0.33 s without)."""
        with self.engine.connect() as conn:
            if self.postgres:
                conn.exec_driver_sql("SET LOCAL jit = off")
            yield conn

    # -- dialect helpers ---------------------------------------------------------------------------

    def fact_date(self, name: str) -> ColumnElement[date]:
        """The date fact ``name`` an event's payload records (``NULL`` if it records none)."""
        text = EVENTS.c.payload[("facts", name)].as_string()
        return cast(text, Date) if self.postgres else type_coerce(text, Date)

    def days_between(self, start: ColumnElement[Any], end: ColumnElement[Any]) -> ColumnElement[int]:
        """Calendar days from ``start`` to ``end`` (end minus start), as an integer."""
        if self.postgres:
            return type_coerce(end - start, Integer)
        return cast(func.julianday(end) - func.julianday(start), Integer)

    # -- lookups -----------------------------------------------------------------------------------

    def team_id(self, name: str) -> int:
        """The id of team ``name``; ``NotFound`` naming it otherwise."""
        with self.connect() as conn:
            tid = conn.execute(select(TEAMS.c.id).where(TEAMS.c.name == name)).scalar()
        if tid is None:
            raise NotFound("team", name)
        return int(tid)

    # -- the effective events as of a day ------------------------------------------------------------

    def effective(
        self, as_of: date, teams: Teams, journeys: Iterable[str], triggers: Iterable[str] | None = None
    ) -> Select[Any]:
        """Events of ``journeys`` that counted at the end of ``as_of``, with their case's columns.

        A correction voids its target only if it was itself recorded by then (``target_seq``).
        """
        end = cutoff(as_of)
        voided = voided_by(end)
        conds: list[ColumnElement[bool]] = [
            CASES.c.workflow_id.in_(sorted(set(journeys))),
            EVENTS.c.recorded_at < end,
            ~voided,
        ]
        if triggers is None:
            conds.append(EVENTS.c.trigger.not_in(NOT_EVENTS))
        else:
            conds.append(EVENTS.c.trigger.in_(sorted(set(triggers))))
        if teams is not None:
            conds.append(CASES.c.team_id.in_(sorted(teams)) if teams else false())
        return (
            select(
                EVENTS.c.case_id,
                EVENTS.c.seq,
                EVENTS.c.trigger,
                EVENTS.c.from_state,
                EVENTS.c.to_state,
                EVENTS.c.effective_on,
                CASES.c.workflow_id.label("journey"),
                CASES.c.ref,
                CASES.c.opened_on,
                CASES.c.team_id,
                CASES.c.owner_id,
            )
            .select_from(EVENTS.join(CASES, CASES.c.id == EVENTS.c.case_id))
            .where(*conds)
        )

    def milestones(self, as_of: date, teams: Teams, milestones: Sequence[Milestone]) -> CTE:
        """Per case and milestone reached by ``as_of``: the first and last day it was reached.

        Columns: case_id, journey, opened_on, milestone, first_on, last_on.
        """
        r = self.reached_rows(as_of, teams, milestones).c
        return (
            select(
                r.case_id,
                r.journey,
                func.min(r.opened_on).label("opened_on"),
                r.milestone,
                func.min(r.day).label("first_on"),
                func.max(r.day).label("last_on"),
            )
            .group_by(r.case_id, r.journey, r.milestone)
            .cte("milestones")
        )

    def reached_rows(self, as_of: date, teams: Teams, milestones: Sequence[Milestone]) -> Subquery:
        """Each effective event reaching a milestone by ``as_of``, with its day (a case may repeat one).

        Columns: case_id, journey, opened_on, milestone, day. A milestone reached by the opening
        alone (an enquiry) is read from the case and its first event, not by scanning every opening.
        """
        opening = [m for m in milestones if m.triggers == ("open",)]
        moves = [m for m in milestones if m.triggers != ("open",)]
        parts: list[Select[Any]] = []
        if moves:
            parts.append(self._moves_reached(as_of, teams, moves))
        if opening:
            parts.append(self._opened(as_of, teams, opening))
        return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("reached")

    def _moves_reached(self, as_of: date, teams: Teams, milestones: Sequence[Milestone]) -> Select[Any]:
        # Which (journey, move) reaches which milestone, as rows: one move may reach several
        # (a fast track both starts Stage 2 and is the fast track).
        steps = union_all(
            *[
                select(
                    literal(m.journey, String).label("journey"),
                    literal(t, String).label("trigger"),
                    literal(m.key, String).label("milestone"),
                )
                for m in milestones
                for t in m.triggers
            ]
        ).subquery("steps")
        dated = [
            (
                and_(steps.c.journey == m.journey, steps.c.milestone == m.key),
                func.coalesce(self.fact_date(m.fact), EVENTS.c.effective_on),
            )
            for m in milestones
            if m.fact
        ]
        day = case(*dated, else_=EVENTS.c.effective_on) if dated else EVENTS.c.effective_on
        return (
            self.effective(as_of, teams, {m.journey for m in milestones}, {t for m in milestones for t in m.triggers})
            .join(steps, and_(steps.c.journey == CASES.c.workflow_id, steps.c.trigger == EVENTS.c.trigger))
            .with_only_columns(
                EVENTS.c.case_id,
                CASES.c.workflow_id.label("journey"),
                CASES.c.opened_on,
                steps.c.milestone,
                type_coerce(day, Date).label("day"),
            )
        )

    def _opened(self, as_of: date, teams: Teams, milestones: Sequence[Milestone]) -> Select[Any]:
        """Cases of the milestones' journeys whose opening (one per case, never voided) was recorded by then."""
        key = case(*[(CASES.c.workflow_id == m.journey, literal(m.key, String)) for m in milestones])
        recorded = (
            select(literal(1))
            .where(EVENTS.c.trigger == "open", EVENTS.c.case_id == CASES.c.id, EVENTS.c.recorded_at < cutoff(as_of))
            .exists()
        )
        # The journeys' cases (ix_case_workflow_state), each opening's time probed from ix_case_event_trigger
        # alone: a join instead led SQLite to read every journey's openings and look each case up.
        conds: list[ColumnElement[bool]] = [CASES.c.workflow_id.in_(sorted({m.journey for m in milestones})), recorded]
        if teams is not None:
            conds.append(CASES.c.team_id.in_(sorted(teams)) if teams else false())
        return select(
            CASES.c.id.label("case_id"),
            CASES.c.workflow_id.label("journey"),
            CASES.c.opened_on,
            key.label("milestone"),
            CASES.c.opened_on.label("day"),
        ).where(*conds)

    # -- funnels -----------------------------------------------------------------------------------

    def reached(
        self,
        as_of: date,
        teams: Teams,
        milestones: Sequence[Milestone],
        stretches: Sequence[Stretch],
        period: Period,
    ) -> tuple[dict[tuple[str, str], tuple[int, int]], dict[tuple[str, str], Quantiles]]:
        """Each milestone's cases, and each stretch's days, in one statement (the milestones are read once).

        Counts: (journey, milestone) -> (cases first reaching it in the period, cases of the period's
        cohort reaching it by ``as_of``; the cohort is the cases opened in the period). Stretches:
        (journey, stretch) -> the days from its start milestone to its end one, for the cases first
        reaching the end in the period.
        """
        opening = [x for x in milestones if x.triggers == ("open",)]
        moves = [x for x in milestones if x.triggers != ("open",)]
        opened_keys = {x.key for x in opening}
        within = (period.start, period.end)
        parts: list[Select[Any]] = []
        if opening:  # the enquiries: counted from the cases themselves, no per-case pivot needed
            o = self._opened(as_of, teams, opening).subquery("opened").c
            in_period = func.sum(case((o.opened_on.between(*within), 1), else_=0))
            parts.append(
                select(
                    literal("count", String).label("kind"),
                    o.journey.label("journey"),
                    o.milestone.label("key"),
                    in_period.label("a"),
                    in_period.label("b"),
                    cast(null(), Integer).label("c"),
                    cast(null(), Integer).label("d"),
                ).group_by(o.journey, o.milestone)
            )
        if not moves:
            stretches = []
        # One row per case reaching a move milestone, with its first day of each; the enquiry's day is
        # the case's opening, carried on every row.
        m = self.reached_rows(as_of, teams, moves).c if moves else None
        keys = sorted(({x.key for x in moves} | {k for s in stretches for k in (s.start, s.end)}) - opened_keys)
        col = {k: f"m{i}" for i, k in enumerate(keys)}
        if m is not None:
            pivot = (
                select(
                    m.case_id,
                    m.journey,
                    func.min(m.opened_on).label("opened_on"),
                    *[func.min(case((m.milestone == k, m.day))).label(col[k]) for k in keys],
                )
                .group_by(m.case_id, m.journey)
                .cte("pivot")
            )
            p = pivot.c

            def point(k: str) -> ColumnElement[Any]:
                return p.opened_on if k in opened_keys else p[col[k]]

            parts += [
                select(
                    literal("count", String).label("kind"),
                    p.journey.label("journey"),
                    literal(k, String).label("key"),
                    func.sum(case((p[col[k]].between(*within), 1), else_=0)).label("a"),
                    func.sum(case((and_(p[col[k]].is_not(None), p.opened_on.between(*within)), 1), else_=0)).label("b"),
                    cast(null(), Integer).label("c"),
                    cast(null(), Integer).label("d"),
                ).group_by(p.journey)
                for k in sorted({x.key for x in moves})
            ]
        if stretches:
            values = union_all(
                *[
                    select(
                        literal(s.journey, String).label("journey"),
                        literal(s.key, String).label("stretch"),
                        self.days_between(point(s.start), point(s.end)).label("value"),
                        _within(s, point(s.start), point(s.end), self.days_between).label("ok"),
                    ).where(p.journey == s.journey, point(s.end).between(*within), point(s.start).is_not(None))
                    for s in stretches
                ]
            ).cte("stretch_days")
            v = values.c
            r = ranked(values, (v.journey, v.stretch), v.value).subquery("ranked").c
            parts.append(select(literal("days", String), r.journey, r.stretch, r.rn, r.n, r.v, r.most))
            parts.append(
                select(
                    literal("within", String),
                    v.journey,
                    v.stretch,
                    func.sum(v.ok),
                    cast(null(), Integer),
                    cast(null(), Integer),
                    cast(null(), Integer),
                ).group_by(v.journey, v.stretch)
            )
        with self.connect() as conn:
            rows: Sequence[Any] = conn.execute(union_all(*parts)).all()
        counts = {(str(j), str(k)): (int(a or 0), int(b or 0)) for kind, j, k, a, b, _, _ in rows if kind == "count"}
        days = digest(((str(j), str(k)), rn, n, v, most) for kind, j, k, rn, n, v, most in rows if kind == "days")
        ok = {(str(j), str(k)): a for kind, j, k, a, *_ in rows if kind == "within"}
        return counts, {
            (str(k[0]), str(k[1])): replace(q, within=None if ok.get(k) is None else int(ok[k]))
            for k, q in days.items()
        }

    def exits(
        self, as_of: date, teams: Teams, ends: Mapping[str, tuple[Sequence[str], Sequence[str]]], period: Period
    ) -> list[ExitCount]:
        """Cases that left each journey (``ends``: journey -> (triggers, the states they leave to)), by stage
        and reason: in the period (by the exit's day) and of the period's cohort (opened in it)."""
        if not ends:
            return []
        into = or_(*[and_(CASES.c.workflow_id == j, EVENTS.c.to_state.in_(states)) for j, (_, states) in ends.items()])
        inner = (
            self.effective(as_of, teams, ends, {t for ts, _ in ends.values() for t in ts})
            .where(into)
            .add_columns(
                EVENTS.c.payload["stage"].as_string().label("stage"),
                EVENTS.c.payload["reason"].as_string().label("reason"),
            )
            .subquery("left")
        )
        r = inner.c
        stmt = select(
            r.journey,
            r.stage,
            r.reason,
            func.sum(case((r.effective_on.between(period.start, period.end), 1), else_=0)),
            func.sum(case((r.opened_on.between(period.start, period.end), 1), else_=0)),
        ).group_by(r.journey, r.stage, r.reason)
        with self.connect() as conn:
            rows: Sequence[Any] = conn.execute(stmt).all()
        found = [
            ExitCount(str(j), str(stage or ""), str(reason or ""), int(a or 0), int(b or 0))
            for j, stage, reason, a, b in rows
            if a or b  # left in another period, and opened in another
        ]
        return sorted(found, key=lambda e: (e.journey, e.stage, e.reason))

    # -- a few cases closely ---------------------------------------------------------------------

    def case_events(
        self, as_of: date, teams: Teams, when: Milestone, period: Period, triggers: Sequence[str]
    ) -> list[CaseEvent]:
        """The effective events (of ``triggers``) of the cases first reaching ``when`` in the period.

        For reports listing a few cases one by one: adopted children, approved households.
        """
        m = self.milestones(as_of, teams, [when]).c
        chosen = select(m.case_id).where(m.first_on.between(period.start, period.end))
        stmt = (
            self.effective(as_of, teams, [when.journey], triggers)
            .add_columns(EVENTS.c.payload)
            .where(EVENTS.c.case_id.in_(chosen))
            .order_by(EVENTS.c.case_id, EVENTS.c.seq)
        )
        with self.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            CaseEvent(r.case_id, r.ref, r.opened_on, r.trigger, r.effective_on, dict(r.payload.get("facts") or {}))
            for r in rows
        ]

    # -- where cases are, as of a day ------------------------------------------------------------

    def states(
        self,
        as_of: date,
        teams: Teams,
        terminal: Mapping[str, Sequence[str]],
        *,
        by_owner: bool = False,
        among: Sequence[Milestone] = (),
        with_days: bool = True,
    ) -> list[StateCount]:
        """Open cases (not in a terminal state) by journey, state (and owner) at the end of ``as_of``,
        with the days each has spent in its state so far (median, 90th percentile, most).

        Each case's state is its latest effective event's, found from its newest events backwards
        (``uq_case_event_seq``): a row or two per case rather than its whole history; the day it
        entered that state likewise. A case closed now whose row was last written before the cutoff
        had its whole history, closing included, recorded by then, so it is left out unread.
        ``among``: only the cases that had reached one of these milestones by then (the scorecard's
        waiting children and families). ``with_days=False``: the counts alone (``days`` has ``n`` only).
        """
        end = cutoff(as_of)
        conds: list[ColumnElement[bool]] = [
            CASES.c.workflow_id.in_(sorted(terminal)),
            or_(CASES.c.status != "closed", CASES.c.updated_at >= end),
        ]
        if teams is not None:
            conds.append(CASES.c.team_id.in_(sorted(teams)) if teams else false())
        if among:
            chosen = self.reached_rows(as_of, teams, among)
            conds.append(CASES.c.id.in_(select(chosen.c.case_id)))
        state = self._latest(end, EVENTS.c.to_state, EVENTS.c.case_id == CASES.c.id)
        each = (
            select(
                CASES.c.id.label("case_id"),
                CASES.c.workflow_id.label("journey"),
                CASES.c.owner_id,
                state.label("state"),
            )
            .where(*conds)
            .cte("each_case")
            .prefix_with("MATERIALIZED")  # each case's state read once, not once per use
        )
        x = each.c
        closed = or_(*[and_(x.journey == j, x.state.in_(states)) for j, states in terminal.items() if states])
        owner = USERS.c.email if by_owner else literal(None, String)
        entered = self._latest(
            end,
            EVENTS.c.effective_on,
            EVENTS.c.case_id == x.case_id,
            EVENTS.c.to_state == x.state,
            or_(EVENTS.c.from_state.is_(None), EVENTS.c.from_state != EVENTS.c.to_state),
        )
        value = func.coalesce(self.days_between(entered, literal(as_of, Date)), 0) if with_days else literal(0)
        spent = (
            select(x.journey, x.state, owner.label("owner"), value.label("value"))
            .select_from(each.outerjoin(USERS, USERS.c.id == x.owner_id))
            .where(x.state.is_not(None), not_(closed))
            .subquery("spent")
        )
        s = spent.c
        groups = (s.journey, s.state, s.owner)
        with self.connect() as conn:
            if with_days:  # one statement: each group's count is its quantiles' n
                found = quantiles(conn, spent, groups, s.value)
            else:
                rows: Sequence[Any] = conn.execute(select(*groups, func.count()).group_by(*groups)).all()
                found = {(j, st, o): Quantiles(int(n), None, None, None) for j, st, o, n in rows}
        return [
            StateCount(str(j), str(st), None if o is None else str(o), q.n, q)
            for (j, st, o), q in sorted(found.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))
        ]

    def _latest(self, end: datetime, column: ColumnElement[Any], *where: ColumnElement[bool]) -> Any:
        """``column`` of the newest effective event (recorded before ``end``, not voided by then) matching ``where``."""
        voided = voided_by(end)
        return (
            select(column)
            .where(*where, EVENTS.c.recorded_at < end, EVENTS.c.trigger.not_in(NOT_EVENTS), ~voided)
            .order_by(EVENTS.c.seq.desc())
            .limit(1)
            .scalar_subquery()
        )

    # -- deadlines -------------------------------------------------------------------------------

    def deadlines(
        self,
        as_of: date,
        teams: Teams,
        journeys: Sequence[str],
        period: Period,
        rules: Mapping[str, Sequence[str]],
        *,
        past: bool = False,
    ) -> list[DeadlineCount]:
        """Deadlines of ``journeys`` due in the period as they stood at the end of ``as_of``, per journey,
        rule, team and owner, with how late those met late were (``deadline_class`` reads each one's
        state that day from its dates).

        ``rules``: each rule name of every loaded journey -> the journeys that have it. One pass over
        the deadlines due from the period's start (``ix_deadline_due``), grouped by the four, the class
        and the days late: a few rows per group. A rule only one journey has names its journey; only
        for a name several share (FS4, MINUTES...) is the deadline's case read for its journey.
        ``past``: ``as_of`` is before today, so a case may have been entered after it (its opening is checked).
        """
        counted, cls = deadline_class(as_of, period, past=past)
        d = DEADLINES.c
        own = {r: js[0] for r, js in rules.items() if len(js) == 1}
        case_journey = select(CASES.c.workflow_id).where(CASES.c.id == d.case_id).scalar_subquery()
        journey = case((d.rule.in_(sorted(own)), literal(None, String)), else_=case_journey)
        conds: list[ColumnElement[bool]] = [d.due_on >= period.start, counted]
        if set(journeys) != {j for js in rules.values() for j in js}:
            wanted = sorted(r for r, js in rules.items() if set(js) & set(journeys))
            mine = sorted(r for r in wanted if r in own)
            conds.append(or_(d.rule.in_(mine), and_(d.rule.in_(wanted), journey.in_(sorted(journeys)))))
        if teams is not None:
            conds.append(d.team_id.in_(sorted(teams)) if teams else false())
        late = case((d.met_on > d.due_on, self.days_between(d.due_on, d.met_on)), else_=None)
        inner = (
            select(journey.label("journey"), d.rule, d.team_id, d.owner_id, cls.label("cls"), late.label("late"))
            .where(*conds)
            .subquery("deadlines_then")
        )
        g = inner.c
        keys = (g.journey, g.rule, g.team_id, g.owner_id, g.cls, g.late)
        grouped = select(*keys, func.count().label("n")).group_by(*keys).subquery("grouped")
        k = grouped.c
        stmt = select(k.journey, k.rule, TEAMS.c.name, USERS.c.email, k.cls, k.late, k.n).select_from(
            grouped.outerjoin(TEAMS, TEAMS.c.id == k.team_id).outerjoin(USERS, USERS.c.id == k.owner_id)
        )
        with self.connect() as conn:
            rows: Sequence[Any] = conn.execute(stmt).all()
        named = [(j or own.get(str(r), ""), r, *rest) for j, r, *rest in rows]
        return [c for c in _deadline_counts(named) if c.journey in journeys]


def _deadline_counts(rows: Sequence[Any]) -> list[DeadlineCount]:
    """The grouped rows (journey, rule, team, owner, class, days late, count) per journey, rule, team and owner."""
    names = {
        ON_TIME: ("due", "met_on_time"),
        LATE: ("due", "met_late", "breached"),
        ENDED_UNMET: ("due", "breached"),
        OPEN_PAST_DUE: ("due", "breached", "open_past_due"),
        OPEN_NOT_PAST_DUE: ("due", "open_not_past_due"),
        OPEN_DUE_LATER: ("open_due_later",),
    }
    out: dict[tuple[str, str, str | None, str | None], dict[str, Any]] = {}
    for journey, rule, team, owner, cls, late, n in rows:
        if cls not in names:
            continue
        got = out.setdefault((str(journey), str(rule), team, owner), {"late": {}})
        for name in names[cls]:
            got[name] = got.get(name, 0) + int(n)
        if cls == LATE and late is not None:
            got["late"][int(late)] = got["late"].get(int(late), 0) + int(n)
    return [
        DeadlineCount(
            *key,
            due=v.get("due", 0),
            met_on_time=v.get("met_on_time", 0),
            met_late=v.get("met_late", 0),
            breached=v.get("breached", 0),
            open_past_due=v.get("open_past_due", 0),
            open_not_past_due=v.get("open_not_past_due", 0),
            open_due_later=v.get("open_due_later", 0),
            late=v["late"],
        )
        for key, v in out.items()
    ]


#: How a deadline stood on the as-of day (``deadline_class``): the class codes.
ON_TIME, LATE, ENDED_UNMET, OPEN_PAST_DUE, OPEN_NOT_PAST_DUE, OPEN_DUE_LATER, NOT_COUNTED = range(1, 8)


def deadline_class(
    as_of: date, period: Period, *, past: bool = False
) -> tuple[ColumnElement[bool], ColumnElement[int]]:
    """(counted, class): whether a deadline row counts on the as-of day D, and how it stood then.

    - counted: it had started by D (its start or its due day is on or before D), it was not
      cancelled (ended unmet before falling due), and it is not void, unless the correction that
      voided it came after D (a correction recorded later is not honoured yet);
    - due later than the period: ``OPEN_DUE_LATER`` if still open on D, else not counted;
    - met by D (``met_on`` on or before D): ``ON_TIME`` (on or before ``due_on``) or ``LATE``;
    - ended unmet (``breached``) and due before D: ``ENDED_UNMET``;
    - otherwise open on D: ``OPEN_PAST_DUE`` or ``OPEN_NOT_PAST_DUE``.

    Breached by D, for the reports: ``LATE``, ``ENDED_UNMET`` and ``OPEN_PAST_DUE`` (a breach stays
    a breach when later met). The deadline table holds each deadline's latest form, so a met day
    or a start recorded after D with an earlier date counts as known on D, and a deadline cancelled
    after D is not shown as open on D: the approximations of reading dates instead of replaying
    every case.
    """
    d = DEADLINES.c
    v = EVENTS.alias("later_void")
    corrected_later = (
        select(literal(1))
        .where(v.c.case_id == d.case_id, v.c.trigger == "entered_in_error", v.c.recorded_at >= cutoff(as_of))
        .exists()
    )
    counted = and_(
        d.status != "cancelled",
        or_(d.status != "void", corrected_later),
        or_(d.start_on <= as_of, d.due_on <= as_of),
    )
    if past:  # a case entered later (with earlier dates) had no deadlines yet: its opening was not recorded
        o = EVENTS.alias("opening")
        opened = (
            select(literal(1))
            .where(o.c.trigger == "open", o.c.case_id == d.case_id, o.c.recorded_at < cutoff(as_of))
            .exists()
        )
        counted = and_(counted, opened)
    met_by = and_(d.met_on.is_not(None), d.met_on <= as_of)
    # Ended unmet after a due day on or after D: it ended after D, so it was open on D.
    is_open = and_(not_(met_by), or_(d.status != "breached", d.due_on >= as_of))
    # Due after the period: counted only while open on D (the rest never reach the grouping).
    counted = and_(counted, or_(d.due_on <= period.end, is_open))
    cls = case(
        (d.due_on > period.end, case((is_open, OPEN_DUE_LATER), else_=NOT_COUNTED)),
        (met_by, case((d.met_on <= d.due_on, ON_TIME), else_=LATE)),
        (and_(d.status == "breached", d.due_on < as_of), ENDED_UNMET),
        (d.due_on < as_of, OPEN_PAST_DUE),
        else_=OPEN_NOT_PAST_DUE,
    )
    return counted, cls


def _within(s: Stretch, start: ColumnElement[Any], end: ColumnElement[Any], days_between: Any) -> ColumnElement[Any]:
    """1 if ``end`` is within the stretch's timescale after ``start``, else 0; ``NULL`` if it has none to count.

    Months as the calendar counts them: the same day ``n`` months on, or the month's last day if
    it has no such day (31 Aug + 6 months is 28 Feb), the same on both dialects.
    """
    if s.limit_days is not None:
        return case((days_between(start, end) <= s.limit_days, 1), else_=0)
    if s.limit_months is not None:
        months = (extract("year", end) * 12 + extract("month", end)) - (
            extract("year", start) * 12 + extract("month", start)
        )
        ok = or_(months < s.limit_months, and_(months == s.limit_months, extract("day", end) <= extract("day", start)))
        return case((ok, 1), else_=0)
    return cast(null(), Integer)


def ranked(values: Subquery | CTE, groups: Sequence[ColumnElement[Any]], value: ColumnElement[Any]) -> Select[Any]:
    """The rows of ``values`` a median and a 90th percentile (nearest rank) need, per group.

    Columns: the groups, then ``rn`` (rank by value), ``n`` (values in the group), ``v`` (the
    value) and ``most`` (the group's largest). Ranked by the database (``row_number``), which
    returns only the two middle rows and the 90th percentile's row of each group, never every value.
    """
    rn = func.row_number().over(partition_by=list(groups), order_by=value)
    n = func.count().over(partition_by=list(groups))
    most = func.max(value).over(partition_by=list(groups))
    every = (
        select(*groups, rn.label("rn"), n.label("n"), value.label("v"), most.label("most"))
        .where(value.is_not(None))
        .subquery("every")
    )
    r = every.c
    lo, hi, p90 = (r.n + 1) // 2, r.n // 2 + 1, (r.n * 9 + 9) // 10
    return select(every).where(or_(r.rn == lo, r.rn == hi, r.rn == p90))


def digest(rows: Iterable[tuple[tuple[Any, ...], Any, Any, Any, Any]]) -> dict[tuple[Any, ...], Quantiles]:
    """Quantiles per group from ``ranked``'s rows, given as (group key, rn, n, v, most)."""
    picked: dict[tuple[Any, ...], dict[str, Any]] = {}
    for key, rn, n, v, top in rows:
        rank, count = int(rn), int(n)
        got = picked.setdefault(key, {"n": count, "max": top, "mid": []})
        if rank in ((count + 1) // 2, count // 2 + 1):
            got["mid"].append(float(v))
            if (count + 1) // 2 == count // 2 + 1:  # odd count: one middle row, both ranks
                got["mid"].append(float(v))
        if rank == (count * 9 + 9) // 10:
            got["p90"] = float(v)
    return {
        key: Quantiles(
            got["n"],
            sum(got["mid"]) / len(got["mid"]) if got["mid"] else None,
            got.get("p90"),
            None if got["max"] is None else float(got["max"]),
        )
        for key, got in picked.items()
    }


def quantiles(
    conn: Connection, values: Subquery, groups: Sequence[ColumnElement[Any]], value: ColumnElement[Any]
) -> dict[tuple[Any, ...], Quantiles]:
    """Per group of ``values``: count, median, 90th percentile (nearest rank) and most of ``value``."""
    width = len(groups)
    rows = conn.execute(ranked(values, groups, value)).all()
    return digest((tuple(r[:width]), r.rn, r.n, r.v, r.most) for r in rows)
