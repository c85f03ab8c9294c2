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

from collections.abc import Iterable, Mapping, Sequence
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
    false,
    func,
    literal,
    not_,
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
#: Deadline groupings a compliance table may ask for.
DEADLINE_DIMENSIONS = ("journey", "rule", "team", "owner")

Teams = frozenset[int] | None


def cutoff(as_of: date) -> datetime:
    """The first instant after ``as_of`` ends in London: events recorded from then on are left out."""
    return end_of_local_day(as_of)


class ReportQueries:
    """The reports' reads, on the read engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

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
        with self.engine.connect() as conn:
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
        v = EVENTS.alias("void")
        voided = (
            select(literal(1))
            .where(
                v.c.case_id == EVENTS.c.case_id,
                v.c.trigger == "entered_in_error",
                v.c.recorded_at < end,
                v.c.payload["target_seq"].as_integer() == EVENTS.c.seq,
            )
            .exists()
        )
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
        """Per case and milestone reached by ``as_of``: the first and last day it was reached."""
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
        inner = (
            self.effective(as_of, teams, {m.journey for m in milestones}, {t for m in milestones for t in m.triggers})
            .join(steps, and_(steps.c.journey == CASES.c.workflow_id, steps.c.trigger == EVENTS.c.trigger))
            .add_columns(steps.c.milestone, type_coerce(day, Date).label("day"))
            .subquery("reached")
        )
        r = inner.c
        dims = (r.case_id, r.journey, r.ref, r.opened_on, r.team_id, r.owner_id, r.milestone)
        return (
            select(*dims, func.min(r.day).label("first_on"), func.max(r.day).label("last_on"))
            .group_by(*dims)
            .cte("milestones")
        )

    # -- funnels -----------------------------------------------------------------------------------

    def milestone_counts(
        self, as_of: date, teams: Teams, milestones: Sequence[Milestone], period: Period
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(journey, milestone) -> (cases first reaching it in the period, cases of the period's cohort reaching it).

        The cohort: cases opened in the period (their enquiry), followed to ``as_of``.
        """
        m = self.milestones(as_of, teams, milestones).c
        stmt = select(
            m.journey,
            m.milestone,
            func.sum(case((m.first_on.between(period.start, period.end), 1), else_=0)),
            func.sum(case((m.opened_on.between(period.start, period.end), 1), else_=0)),
        ).group_by(m.journey, m.milestone)
        with self.engine.connect() as conn:
            rows: Sequence[Any] = conn.execute(stmt).all()
        return {(str(j), str(k)): (int(a or 0), int(b or 0)) for j, k, a, b in rows}

    def stretches(
        self, as_of: date, teams: Teams, milestones: Sequence[Milestone], stretches: Sequence[Stretch], period: Period
    ) -> dict[tuple[str, str], Quantiles]:
        """(journey, stretch) -> the days from its start to its end milestone, for cases ending it in the period."""
        if not stretches:
            return {}
        m = self.milestones(as_of, teams, milestones).c
        keys = sorted({k for s in stretches for k in (s.start, s.end)})
        pivot = (
            select(m.case_id, m.journey, *[func.min(case((m.milestone == k, m.first_on))).label(k) for k in keys])
            .group_by(m.case_id, m.journey)
            .cte("pivot")
        )
        p = pivot.c
        parts = [
            select(
                literal(s.journey, String).label("journey"),
                literal(s.key, String).label("stretch"),
                self.days_between(p[s.start], p[s.end]).label("value"),
            ).where(p.journey == s.journey, p[s.end].between(period.start, period.end), p[s.start].is_not(None))
            for s in stretches
        ]
        values = union_all(*parts).subquery("values")
        with self.engine.connect() as conn:
            found = quantiles(conn, values, (values.c.journey, values.c.stretch), values.c.value)
        return {(str(k[0]), str(k[1])): q for k, q in found.items()}

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
        with self.engine.connect() as conn:
            rows: Sequence[Any] = conn.execute(stmt).all()
        found = [
            ExitCount(str(j), str(stage or ""), str(reason or ""), int(a or 0), int(b or 0))
            for j, stage, reason, a, b in rows
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
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            CaseEvent(r.case_id, r.ref, r.opened_on, r.trigger, r.effective_on, dict(r.payload.get("facts") or {}))
            for r in rows
        ]

    # -- where cases are, as of a day ------------------------------------------------------------

    def states(
        self, as_of: date, teams: Teams, terminal: Mapping[str, Sequence[str]], *, by_owner: bool = False
    ) -> list[StateCount]:
        """Open cases (not in a terminal state) by journey, state (and owner) at the end of ``as_of``,
        with the days each has spent in its state so far (median, 90th percentile, most)."""
        eff = self.effective(as_of, teams, terminal).cte("eff")
        e = eff.c
        last = select(e.case_id, func.max(e.seq).label("seq")).group_by(e.case_id).subquery("last")
        closed = or_(*[and_(e.journey == j, e.to_state.in_(states)) for j, states in terminal.items() if states])
        current = (
            select(e.case_id, e.journey, e.to_state.label("state"), e.owner_id)
            .join(last, and_(last.c.case_id == e.case_id, last.c.seq == e.seq))
            .where(not_(closed))
            .cte("current")
        )
        c = current.c
        entered = (
            select(e.case_id, func.max(e.effective_on).label("entered_on"))
            .join(current, and_(c.case_id == e.case_id, c.state == e.to_state))
            .where(or_(e.from_state.is_(None), e.from_state != e.to_state))
            .group_by(e.case_id)
            .subquery("entered")
        )
        owner = USERS.c.email if by_owner else literal(None, String)
        spent = (
            select(
                c.journey,
                c.state,
                owner.label("owner"),
                self.days_between(entered.c.entered_on, literal(as_of, Date)).label("value"),
            )
            .select_from(current.outerjoin(entered, entered.c.case_id == c.case_id))
            .outerjoin(USERS, USERS.c.id == c.owner_id)
            .subquery("spent")
        )
        s = spent.c
        groups = (s.journey, s.state, s.owner)
        with self.engine.connect() as conn:
            grouped: Sequence[Any] = conn.execute(select(*groups, func.count()).group_by(*groups)).all()
            counts: dict[tuple[Any, ...], int] = {(j, st, o): int(n) for j, st, o, n in grouped}
            found = quantiles(conn, spent, groups, s.value)
        none = Quantiles(0, None, None, None)
        return [
            StateCount(str(j), str(st), None if o is None else str(o), n, found.get((j, st, o), none))
            for (j, st, o), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))
        ]

    # -- deadlines -------------------------------------------------------------------------------

    def deadlines(
        self, as_of: date, teams: Teams, journeys: Sequence[str], period: Period, by: Sequence[str]
    ) -> list[DeadlineCount]:
        """Deadlines due in the period as they stood at the end of ``as_of``, grouped ``by`` some of
        journey, rule, team and owner (the others come back as ``""``/``None``).

        See ``deadline_as_of`` for how a deadline's state that day is read from its dates.
        """
        unknown = set(by) - set(DEADLINE_DIMENSIONS)
        if unknown:
            raise ValueError(f"unknown grouping {sorted(unknown)}")
        f = deadline_as_of(as_of, period)
        d = DEADLINES.c
        dims = {
            "journey": CASES.c.workflow_id,
            "rule": d.rule,
            "team": TEAMS.c.name,
            "owner": USERS.c.email,
        }
        cols = [dims[k].label(k) for k in by]
        conds: list[ColumnElement[bool]] = [
            CASES.c.workflow_id.in_(sorted(journeys)),
            f["counted"],
            or_(f["due"], f["due_later"]),
        ]
        if teams is not None:
            conds.append(d.team_id.in_(sorted(teams)) if teams else false())
        joined = (
            DEADLINES.join(CASES, CASES.c.id == d.case_id)
            .outerjoin(TEAMS, TEAMS.c.id == d.team_id)
            .outerjoin(USERS, USERS.c.id == d.owner_id)
        )
        names = ("due", "met_on_time", "met_late", "breached", "open_past_due", "open_not_past_due", "due_later")
        sums = [func.sum(case((f[n], 1), else_=0)).label(n) for n in names]
        stmt = select(*cols, *sums).select_from(joined).where(*conds).group_by(*cols)
        late = (
            select(*cols, self.days_between(d.due_on, d.met_on).label("value"))
            .select_from(joined)
            .where(*conds, f["met_late"])
            .subquery("late")
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
            lateness = quantiles(conn, late, tuple(late.c[k] for k in by), late.c.value)
        none = Quantiles(0, None, None, None)
        out: list[DeadlineCount] = []
        for r in rows:
            key = tuple(r._mapping[k] for k in by)
            got = dict(zip(by, key, strict=True))
            n = {name: int(r._mapping[name] or 0) for name in names}
            out.append(
                DeadlineCount(
                    str(got.get("journey", "")),
                    str(got.get("rule", "")),
                    got.get("team"),
                    got.get("owner"),
                    due=n["due"],
                    met_on_time=n["met_on_time"],
                    met_late=n["met_late"],
                    breached=n["breached"],
                    open_past_due=n["open_past_due"],
                    open_not_past_due=n["open_not_past_due"],
                    open_due_later=n["due_later"],
                    late_days=lateness.get(key, none),
                )
            )
        return out


def deadline_as_of(as_of: date, period: Period) -> dict[str, ColumnElement[bool]]:
    """Conditions on a deadline row for how it stood at the end of ``as_of`` (D), from its dates.

    - counted: it had started by D (its start or its due day is on or before D), it was not
      cancelled (ended unmet before falling due), and it is not void, unless the correction that
      voided it came after D (a correction recorded later is not honoured yet);
    - met by D: ``met_on`` on or before D (on time if on or before ``due_on``, late after);
    - breached by D: due before D and not met on time: met late, ended unmet, or still open
      (a breach stays a breach when later met);
    - open: not met by D and not ended unmet.

    The deadline table holds each deadline's latest form, so a met day or a start recorded after D
    with an earlier date counts as known on D, and a deadline cancelled after D is not shown as open
    on D: the approximations of reading dates instead of replaying every case.
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
    met_by = and_(d.met_on.is_not(None), d.met_on <= as_of)
    due = d.due_on.between(period.start, period.end)
    is_open = and_(not_(met_by), d.status != "breached")
    on_time = and_(due, met_by, d.met_on <= d.due_on)
    return {
        "counted": counted,
        "due": due,
        "met_on_time": on_time,
        "met_late": and_(due, met_by, d.met_on > d.due_on),
        "breached": and_(due, d.due_on < as_of, not_(and_(met_by, d.met_on <= d.due_on))),
        "open_past_due": and_(due, is_open, d.due_on < as_of),
        "open_not_past_due": and_(due, is_open, d.due_on >= as_of),
        "due_later": and_(d.due_on > period.end, is_open),
    }


def quantiles(
    conn: Connection, values: Subquery, groups: Sequence[ColumnElement[Any]], value: ColumnElement[Any]
) -> dict[tuple[Any, ...], Quantiles]:
    """Per group of ``values``: count, median, 90th percentile (nearest rank) and most of ``value``.

    Ranked by the database (``row_number`` over each group), which returns only the two middle rows
    and the 90th percentile's row of each group, never every value.
    """
    rn = func.row_number().over(partition_by=list(groups), order_by=value)
    n = func.count().over(partition_by=list(groups))
    most = func.max(value).over(partition_by=list(groups))
    ranked = (
        select(*groups, value.label("v"), rn.label("rn"), n.label("n"), most.label("most"))
        .where(value.is_not(None))
        .subquery("ranked")
    )
    r = ranked.c
    lo, hi, p90 = (r.n + 1) // 2, r.n // 2 + 1, (r.n * 9 + 9) // 10
    stmt = select(ranked).where(or_(r.rn == lo, r.rn == hi, r.rn == p90))
    picked: dict[tuple[Any, ...], dict[str, Any]] = {}
    width = len(groups)
    for row in conn.execute(stmt):
        key = tuple(row[:width])
        v, rank, count, top = row.v, int(row.rn), int(row.n), row.most
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
