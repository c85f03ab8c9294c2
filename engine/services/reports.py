"""The report service (issue 13): authorizes a report, settles its period and scope, and assembles it.

The figures come from the read models (``storage.queries.reports``, through ``ReportReads``), which
count effective events as of a day in the database; this layer says what to count, from the
journeys' own definitions (which moves reach each step, which states are exits, each rule's label
and source), and lays the results out as a ``Report``: tables for people and ``data`` for programs.

Choices a reader of the figures should know:

- a case's *enquiry* is the day it was opened; a child *entered care* on the day their pathway case
  was opened (its opening is the child becoming looked after, and CS12, the scorecard's own clock,
  starts there too);
- a step is reached once, on its first effective event (dated by the fact the move records, such as
  ``application_received_on`` or ``panel_held_on``, else the move's day);
- *in the period* counts what happened in it (Ofsted's period ratio); the *cohort* is the cases
  opened in the period followed to the as-of day;
- the team a case counts under is its team now (reports by team ask "whose cases are these"), and
  a deadline's team and worker are its case's now;
- a deadline's state on the as-of day is read from its dates (due, met, breached), since the
  deadline table keeps only each deadline's latest form (``storage.queries.reports.deadline_class``);
- the scorecard's children are those with an adoption order in the period (the three years to the
  last 31 March); A1 ends on the last placement for adoption, A10 on the placement with the foster
  carers who adopt (foster for adoption: ``ffa_placed_on``, when ``ffa_carers_ref`` is the adopters'
  ``adopter_case_ref`` or either is unrecorded), A2 runs from ``authority_to_place_on`` to the last
  match decision (0 when matched first; none without authority).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from carepath.engine.calendar import parse_limit
from carepath.engine.case import Actor
from carepath.engine.clock import Clock, local_today
from carepath.engine.definition import ON_HOLD, WorkflowDef
from carepath.engine.errors import InvalidInput, NotPermitted, UnknownWorkflow
from carepath.engine.policy import Subject, authorize, case_scope_filter
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.reports import (
    REPORT_NAMES,
    CaseEvent,
    Column,
    DeadlineCount,
    ExitCount,
    Milestone,
    Period,
    Quantiles,
    Report,
    ReportTargets,
    StateCount,
    Stretch,
    Table,
    add_months,
    combine,
    days,
    financial_year,
    mean,
    months,
    needed_for,
    ratio,
    scorecard_period,
)

COMMAND = "report.read"
FOSTERING = ("foster_carer_approval", "connected_person_approval")
ADOPTERS = "prospective_adopter_approval"
CHILD = "child_adoption_pathway"
#: Short names for the two fostering funnels (table keys, labels).
FUNNEL_NAMES = {"foster_carer_approval": "mainstream", "connected_person_approval": "connected persons"}
#: Exits that are the journey's success, not a drop-out.
SUCCESS = frozenset({"approved", "adopted"})
#: The child's states between authority to place and moving in: waiting for a family (A9/A14).
CHILD_WAITING = (
    "authority_to_place",
    "family_finding",
    "linked",
    "match_ready_for_panel",
    "match_panel_booked",
    "match_panel_recommended",
    "awaiting_match_decision",
    "match_agreed",
)
#: An approved household waiting to be matched (A11).
FAMILIES_WAITING = ("approved", "approval_review")

Teams = frozenset[int] | None


class ReportReads(Protocol):
    """What the report read models answer (``storage.queries.reports.ReportQueries``)."""

    def team_id(self, name: str) -> int: ...
    def reached(
        self,
        as_of: date,
        teams: Teams,
        milestones: Sequence[Milestone],
        stretches: Sequence[Stretch],
        period: Period,
    ) -> tuple[dict[tuple[str, str], tuple[int, int]], dict[tuple[str, str], Quantiles]]: ...
    def exits(
        self, as_of: date, teams: Teams, ends: Mapping[str, tuple[Sequence[str], Sequence[str]]], period: Period
    ) -> list[ExitCount]: ...
    def case_events(
        self, as_of: date, teams: Teams, when: Milestone, period: Period, triggers: Sequence[str]
    ) -> list[CaseEvent]: ...
    def states(
        self,
        as_of: date,
        teams: Teams,
        terminal: Mapping[str, Sequence[str]],
        *,
        by_owner: bool = False,
        among: Sequence[Milestone] = (),
        with_days: bool = True,
    ) -> list[StateCount]: ...
    def deadlines(
        self,
        as_of: date,
        teams: Teams,
        journeys: Sequence[str],
        period: Period,
        rules: Mapping[str, Sequence[str]],
        *,
        past: bool = False,
    ) -> list[DeadlineCount]: ...


@dataclass(frozen=True, slots=True)
class Ask:
    """One report request, checked: who, over what, as of when, for which teams and journeys."""

    name: str
    period: Period
    as_of: date
    teams: Teams
    journeys: tuple[str, ...]
    filters: Mapping[str, str]


class ReportService:
    """Reports for managers, each from the event log as of a day (``report``), and the stage picture (``stages``)."""

    def __init__(self, reads: ReportReads, workflows: WorkflowRegistry, clock: Clock, targets: ReportTargets) -> None:
        self.reads = reads
        self.workflows = workflows
        self.clock = clock
        self.targets = targets

    def report(
        self,
        actor: Actor,
        name: str,
        *,
        start: date | None = None,
        end: date | None = None,
        as_of: date | None = None,
        team: str | None = None,
        journey: str | None = None,
    ) -> Report:
        """Report ``name`` (one of ``REPORT_NAMES``) over ``start``..``end`` as it stood at the end of ``as_of``.

        Defaults: ``as_of`` today; the period the financial year holding ``as_of`` (the scorecard:
        the three years to the last 31 March), its end clipped to ``as_of``. A team manager sees
        their teams only; ``team`` narrows to one team (refused if it is not theirs).
        """
        if name not in REPORT_NAMES:
            raise InvalidInput(f"unknown report {name!r}; use one of: " + ", ".join(REPORT_NAMES))
        builders: dict[str, Callable[[Ask], Report]] = {
            "funnel": self._funnel,
            "adopters": self._adopters,
            "scorecard": self._scorecard,
            "compliance": self._compliance,
            "caseload": self._caseload,
        }
        return builders[name](self._ask(actor, name, start, end, as_of, team, journey))

    def stages(self, actor: Actor, journey: str, *, as_of: date | None = None, team: str | None = None) -> Report:
        """Each state of ``journey`` with its open cases as of the day and the median days they have spent there."""
        ask = self._ask(actor, "stages", None, None, as_of, team, journey)
        d = self.workflows.latest(journey).definition
        counts = {c.state: c for c in self.reads.states(ask.as_of, ask.teams, {journey: _terminal(d)})}
        names = [s for s, sd in d.states.items() if not sd.terminal] + ([ON_HOLD] if ON_HOLD in counts else [])
        rows = tuple(
            {
                "state": s,
                "label": d.state(s).label,
                "open": counts[s].open if s in counts else 0,
                "median_days": counts[s].days.median if s in counts else None,
            }
            for s in names
        )
        table = Table(
            "stages",
            d.title,
            (
                Column("state", "State"),
                Column("label", "Stage"),
                Column("open", "Open cases", "int"),
                Column("median_days", "Median days there so far", "days"),
            ),
            rows,
            chart="bar",
            x="label",
            y=("open",),
            caption=f"Open cases in each stage of {d.title} at the end of {ask.as_of.isoformat()}",
        )
        data = {"workflow": journey, "stages": [dict(r) for r in rows]}
        return Report("stages", f"Stages: {d.title}", ask.period, ask.as_of, ask.filters, (table,), data)

    # -- the request -------------------------------------------------------------------------------

    def _ask(
        self,
        actor: Actor,
        name: str,
        start: date | None,
        end: date | None,
        as_of: date | None,
        team: str | None,
        journey: str | None,
    ) -> Ask:
        teams = self._teams(actor, team)
        today = local_today(self.clock)
        as_of = as_of or today
        if as_of > today:
            raise InvalidInput(f"the as-of date {as_of.isoformat()} is in the future (today is {today.isoformat()})")
        period = _period(name, start, end, as_of)
        journeys = self._journeys(name, journey)
        filters = {k: v for k, v in (("team", team), ("journey", journey)) if v}
        return Ask(name, period, as_of, teams, journeys, filters)

    def _teams(self, actor: Actor, team: str | None) -> Teams:
        """The teams whose cases the report counts (``None``: every case), refusing what the actor may not see."""
        kind, team_ids = case_scope_filter(actor, COMMAND)
        if kind == "none":
            authorize(actor, COMMAND, Subject(owner_id=None, team_id=None))  # raises with the policy's reason
            raise NotPermitted(actor.email, COMMAND, "no cases are in their scope")
        if team:
            tid = self.reads.team_id(team)
            authorize(actor, COMMAND, Subject(owner_id=None, team_id=tid))
            return frozenset({tid})
        if kind == "all":
            return None
        if not team_ids:
            raise NotPermitted(actor.email, COMMAND, "they belong to no team")
        return team_ids

    def _journeys(self, name: str, journey: str | None) -> tuple[str, ...]:
        loaded = set(self.workflows.ids())
        if journey:
            if journey not in loaded:
                raise UnknownWorkflow(journey)
            allowed = {"funnel": FOSTERING, "adopters": (ADOPTERS,), "scorecard": (CHILD,)}.get(name)
            if allowed is not None and journey not in allowed:
                raise InvalidInput(f"the {name} report covers {', '.join(allowed)}, not {journey!r}")
            return (journey,)
        wanted = {"funnel": FOSTERING, "adopters": (ADOPTERS,), "scorecard": (CHILD,)}.get(name, tuple(sorted(loaded)))
        return tuple(j for j in wanted if j in loaded)

    def _def(self, journey: str) -> WorkflowDef:
        return self.workflows.latest(journey).definition

    # -- funnel ----------------------------------------------------------------------------------

    def _funnel(self, ask: Ask) -> Report:
        steps = {j: _funnel_steps(self._def(j)) for j in ask.journeys}
        milestones = [m for ms in steps.values() for m in ms]
        stretches = [s for j in ask.journeys for s in _funnel_stretches(self._def(j))]
        counts, durations = self.reads.reached(ask.as_of, ask.teams, milestones, stretches, ask.period)
        exits = self.reads.exits(ask.as_of, ask.teams, {j: _exits(self._def(j)) for j in ask.journeys}, ask.period)
        per_journey = {j: _step_rows(ms, counts) for j, ms in steps.items()}
        # The headline (conversion and the target) is mainstream fostering's, as Ofsted counts
        # recruitment: connected persons come through a child already placed, not an enquiry, and
        # added in they make conversions over 100% (their assessments follow no application).
        headline = FOSTERING[0] if FOSTERING[0] in per_journey else next(iter(per_journey))
        total = per_journey[headline]
        enquiries = _count(total, "enquiry")
        applications = _count(total, "application")
        needed = needed_for(self.targets.target_conversion, enquiries)
        tables = [_steps_table(j, rows) for j, rows in per_journey.items()]
        tables.append(self._target_table(enquiries, applications, needed, self._def(headline).title))
        tables.extend(_dropout_tables(exits, {j: self._def(j) for j in ask.journeys}))
        tables.append(_durations_table(stretches, durations))
        data = {
            "headline": headline,
            "steps": total,
            "workflows": {j: {"steps": rows} for j, rows in per_journey.items()},
            "conversion": {
                "enquiry_to_application": ratio(applications, enquiries),
                "application_to_approval": ratio(_count(total, "approval"), applications),
            },
            "target_conversion": self.targets.target_conversion,
            "enquiries": enquiries,
            "applications": applications,
            "applications_needed_for_target": needed,
            "applications_short_of_target": max(0, needed - applications),
            "dropouts": [_exit_json(e, self._def(e.journey)) for e in exits],
            "durations": _durations_json(stretches, durations),
        }
        return Report("funnel", "Fostering recruitment funnel", ask.period, ask.as_of, ask.filters, tuple(tables), data)

    def _target_table(self, enquiries: int, applications: int, needed: int, journey: str) -> Table:
        rows = (
            {"measure": "Enquiries in the period", "value": enquiries},
            {
                "measure": "Target conversion, enquiry to application (%)",
                "value": round(self.targets.target_conversion * 100, 2),
            },
            {"measure": "Applications that would meet the target", "value": needed},
            {"measure": "Applications received", "value": applications},
            {"measure": "More applications needed", "value": max(0, needed - applications)},
        )
        return Table(
            "target",
            f"Against the target conversion ({journey})",
            (Column("measure", "Measure"), Column("value", "Value", "int")),
            rows,
            caption="The applications that would meet the target are the target's share of the enquiries, rounded up",
        )

    # -- adopters --------------------------------------------------------------------------------

    def _adopters(self, ask: Ask) -> Report:
        if not ask.journeys:
            raise UnknownWorkflow(ADOPTERS)
        d = self._def(ADOPTERS)
        steps = _adopter_steps(d)
        fast = [m for m in steps if m.key == "fast_track"]
        stretches = _adopter_stretches(d)
        counts, durations = self.reads.reached(ask.as_of, ask.teams, steps, stretches, ask.period)
        rows = _step_rows([m for m in steps if m.key != "fast_track"], counts)
        exits = self.reads.exits(ask.as_of, ask.teams, {ADOPTERS: _exits(d)}, ask.period)
        timely = self._adopter_timeliness(ask, steps)
        fast_count = counts.get((ADOPTERS, "fast_track"), (0, 0))
        tables = [
            _steps_table(ADOPTERS, rows, title="Adopter journey"),
            _timeliness_table(timely, fast_count),
            *_dropout_tables(exits, {ADOPTERS: d}),
            _durations_table(stretches, durations),
        ]
        data = {
            "steps": rows,
            "fast_track": {"in_period": fast_count[0], "cohort": fast_count[1]} if fast else {},
            **timely,
            "dropouts": [_exit_json(e, d) for e in exits],
            "durations": _durations_json(stretches, durations),
        }
        return Report("adopters", "Adopter journey", ask.period, ask.as_of, ask.filters, tuple(tables), data)

    def _adopter_timeliness(self, ask: Ask, steps: Sequence[Milestone]) -> dict[str, Any]:
        """Approved within 6 months of Stage 1 starting; matched within 3 months of approval (domain.md §6.2)."""
        by_key = {m.key: m for m in steps}
        triggers = sorted({t for k in ("stage1", "approval", "match", "fast_track") for t in by_key[k].triggers})
        approved = _firsts(
            self.reads.case_events(ask.as_of, ask.teams, by_key["approval"], ask.period, triggers), by_key
        )
        matched = _firsts(self.reads.case_events(ask.as_of, ask.teams, by_key["match"], ask.period, triggers), by_key)

        def split(households: Mapping[str, Mapping[str, date]], fast: bool) -> dict[str, int]:
            chosen = [h for h in households.values() if ("fast_track" in h) == fast]
            with_start = [h for h in chosen if "stage1" in h]
            within = [h for h in with_start if h["approval"] <= add_months(h["stage1"], 6)]
            return {"approved": len(chosen), "with_stage1_start": len(with_start), "within_6_months": len(within)}

        matches = [h for h in matched.values() if "approval" in h]
        in_3 = [h for h in matches if h["match"] <= add_months(h["approval"], 3)]
        return {
            "approved_within_6_months": {"mainstream": split(approved, False), "fast_track": split(approved, True)},
            "matched_within_3_months": {"matched": len(matches), "within_3_months": len(in_3)},
        }

    # -- scorecard -------------------------------------------------------------------------------

    def _scorecard(self, ask: Ask) -> Report:
        if not ask.journeys:
            raise UnknownWorkflow(CHILD)
        d = self._def(CHILD)
        adopted = Milestone(
            CHILD, "adoption_order", "Adoption order", _moves(d, "record_adoption_order"), "adoption_order_on"
        )
        events = self.reads.case_events(ask.as_of, ask.teams, adopted, ask.period, sorted(_SCORECARD_TRIGGERS))
        children = [_child(ref, evs) for ref, evs in _by_case(events).items()]
        t = self.targets
        averages = {k: mean([c[k] for c in children if c[k] is not None]) for k in ("a1_days", "a10_days", "a2_days")}
        a3 = [c for c in children if c["a1_days"] is not None]
        under = [c for c in a3 if c["placed_on"] < add_months(c["entered_care_on"], 14)]
        waiting = self._waiting(ask)
        changes = self._plan_changes(ask, d)
        counts = {k: sum(1 for c in children if c[k] is not None) for k in ("a1_days", "a10_days", "a2_days")}
        thresholds = {"a1_days": t.a1_threshold_days, "a10_days": t.a1_threshold_days, "a2_days": t.a2_threshold_days}
        a3_figures = {"children": len(a3), "under_14_months": len(under), "rate": ratio(len(under), len(a3))}
        data = {
            "children": children,
            "averages": averages,
            "counts": counts,
            "thresholds": thresholds,
            "a3": a3_figures,
            "waiting": waiting,
            "plan_changes": changes,
        }
        tables = (
            _scorecard_table(averages, thresholds, counts, a3_figures),
            _children_table(children),
            _scorecard_by_month(children, ask.period, thresholds),
            _waiting_table(waiting),
            _plan_changes_table(changes),
        )
        return Report("scorecard", "Adoption scorecard", ask.period, ask.as_of, ask.filters, tables, data)

    def _waiting(self, ask: Ask) -> dict[str, Any]:
        journeys = {j: _terminal(self._def(j)) for j in (CHILD, ADOPTERS) if j in self.workflows.ids()}
        among = [  # only cases that ever had authority to place, or were ever approved
            Milestone(j, "ever", "", _into(self._def(j), state))
            for j, state in ((CHILD, "authority_to_place"), (ADOPTERS, "approved"))
            if j in journeys and _into(self._def(j), state)
        ]
        states = self.reads.states(ask.as_of, ask.teams, journeys, among=among, with_days=False)
        kids = [s for s in states if s.journey == CHILD and s.state in CHILD_WAITING]
        families = [s for s in states if s.journey == ADOPTERS and s.state in FAMILIES_WAITING]
        return {
            "children_waiting": sum(s.open for s in kids),
            "children_waiting_by_state": {s.state: s.open for s in kids},
            "families_waiting": sum(s.open for s in families),
        }

    def _plan_changes(self, ask: Ask, d: WorkflowDef) -> list[dict[str, Any]]:
        """Children whose plan changed away from adoption in the period, by RD reason (A5)."""
        moves = _into(d, "plan_changed")
        when = Milestone(CHILD, "plan_changed", "Plan changed", moves)
        events = self.reads.case_events(ask.as_of, ask.teams, when, ask.period, sorted(set(moves)))
        reasons: dict[str, int] = {}
        for evs in _by_case(events).values():
            first = evs[0]
            code = str(first.facts.get("plan_change_reason") or "unknown")
            reasons[code] = reasons.get(code, 0) + 1
        return [{"reason": k, "children": v} for k, v in sorted(reasons.items())]

    # -- compliance ------------------------------------------------------------------------------

    def _compliance(self, ask: Ask) -> Report:
        rules = {(j, r.name): r for j in ask.journeys for r in self._def(j).deadlines}
        names: dict[str, list[str]] = {}
        for j in self.workflows.ids():
            for rule in self._def(j).deadlines:
                names.setdefault(rule.name, []).append(j)
        past = ask.as_of < local_today(self.clock)
        each = self.reads.deadlines(ask.as_of, ask.teams, ask.journeys, ask.period, names, past=past)
        by_rule = combine(each, lambda c: (c.journey, c.rule, None, None))
        by_team = combine(each, lambda c: ("", "", c.team, None))
        by_worker = combine(each, lambda c: ("", "", c.team, c.owner))
        rule_rows = []
        for c in sorted(by_rule, key=lambda c: (c.journey, c.rule)):
            r = rules.get((c.journey, c.rule))
            extra = {
                "label": r.label if r else c.rule,
                "class": r.klass if r else "",
                "source": r.source if r else "",
                "limit": r.limit if r else "",
            }
            rule_rows.append({"workflow": c.journey, "rule": c.rule, **extra, **_deadline_json(c)})
        team_rows = [{"team": c.team or "(no team)", **_deadline_json(c)} for c in by_team]
        worker_rows = [
            {"team": c.team or "(no team)", "worker": c.owner or "(nobody)", **_deadline_json(c)} for c in by_worker
        ]
        tables = (
            _compliance_table(
                "rules",
                "By deadline rule",
                (
                    Column("workflow", "Journey"),
                    Column("rule", "Rule"),
                    Column("label", "Deadline"),
                    Column("class", "Class"),
                    Column("source", "Source"),
                ),
                rule_rows,
                "rule",
            ),
            _compliance_table("teams", "By team", (Column("team", "Team"),), team_rows, "team"),
            _compliance_table(
                "workers", "By worker", (Column("team", "Team"), Column("worker", "Worker")), worker_rows, None
            ),
        )
        data = {"rules": rule_rows, "teams": team_rows, "workers": worker_rows}
        return Report("compliance", "Deadline compliance", ask.period, ask.as_of, ask.filters, tables, data)

    # -- caseload --------------------------------------------------------------------------------

    def _caseload(self, ask: Ask) -> Report:
        defs = {j: self._def(j) for j in ask.journeys}
        terminal = {j: _terminal(d) for j, d in defs.items()}
        states = self.reads.states(ask.as_of, ask.teams, terminal)
        rows = [
            {
                "workflow": s.journey,
                "state": s.state,
                "label": defs[s.journey].state(s.state).label
                if s.state in defs[s.journey].states or s.state == ON_HOLD
                else s.state,
                "open": s.open,
                "median_days": s.days.median,
            }
            for s in states
        ]
        tables = [
            Table(
                "states",
                "Open cases by journey and state",
                (
                    Column("workflow", "Journey"),
                    Column("label", "State"),
                    Column("open", "Open cases", "int"),
                    Column("median_days", "Median days in state", "days"),
                ),
                tuple(rows),
                chart="bar",
                x="label",
                y=("open",),
            )
        ]
        workers: list[dict[str, Any]] = []
        if ask.teams is not None:
            loads: dict[str, int] = {}
            for s in self.reads.states(ask.as_of, ask.teams, terminal, by_owner=True, with_days=False):
                loads[s.owner or "(nobody)"] = loads.get(s.owner or "(nobody)", 0) + s.open
            workers = [{"worker": w, "open": n} for w, n in sorted(loads.items())]
            tables.append(
                Table(
                    "workers",
                    "Open cases by worker",
                    (Column("worker", "Worker"), Column("open", "Open cases", "int")),
                    tuple(workers),
                    chart="bar",
                    x="worker",
                    y=("open",),
                )
            )
        data = {"states": rows, "total": sum(int(r["open"] or 0) for r in rows), "workers": workers}
        return Report("caseload", "Caseload", ask.period, ask.as_of, ask.filters, tuple(tables), data)


# -- periods ---------------------------------------------------------------------------------------


def _period(name: str, start: date | None, end: date | None, as_of: date) -> Period:
    """The period asked for, defaults filled in from ``as_of``, its end clipped to ``as_of``."""
    default = scorecard_period(as_of) if name == "scorecard" else financial_year(start or as_of)
    start = start or default.start
    end = end or default.end
    if end < start:
        raise InvalidInput(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if start > as_of:
        raise InvalidInput(f"the period starts ({start.isoformat()}) after the as-of date ({as_of.isoformat()})")
    return Period(start, min(end, as_of))


# -- journeys: which moves make each step --------------------------------------------------------


def _moves(d: WorkflowDef, *triggers: str) -> tuple[str, ...]:
    """Those of ``triggers`` the journey declares (a council's own journeys may lack some)."""
    declared = {t.trigger for t in d.transitions}
    return tuple(t for t in triggers if t in declared)


def _into(d: WorkflowDef, state: str) -> tuple[str, ...]:
    """The moves that enter ``state`` from another state."""
    return tuple(sorted({t.trigger for t in d.transitions if t.dest == state and state not in t.sources}))


def _terminal(d: WorkflowDef) -> tuple[str, ...]:
    return tuple(s for s, sd in d.states.items() if sd.terminal)


def _exits(d: WorkflowDef) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(moves, states) that end a case other than in success: a withdrawal, a closure or a decision."""
    states = tuple(s for s in _terminal(d) if s not in SUCCESS)
    moves = {t.trigger for t in d.transitions if t.dest in states} | {"withdraw", "close"}
    return tuple(sorted(moves)), states


def _milestones(d: WorkflowDef, spec: Sequence[tuple[str, str, tuple[str, ...], str | None]]) -> list[Milestone]:
    out = []
    for key, label, triggers, fact in spec:
        found = tuple(t for t in triggers if t == "open" or t in {x.trigger for x in d.transitions})
        if found:
            out.append(Milestone(d.id, key, label, found, fact))
    return out


def _funnel_steps(d: WorkflowDef) -> list[Milestone]:
    """Enquiry, initial visit, application, assessment, panel, approval (those the journey has)."""
    if d.id == "connected_person_approval":
        return _milestones(
            d,
            [
                # A connected person's full assessment starts from the viability assessment; the
                # application to be assessed is received during it (CPPCR 24-25).
                ("enquiry", "Enquiries", ("open",), None),
                ("assessment", "Assessments", _into(d, "assessment"), None),
                ("application", "Applications", ("record_application",), "application_received_on"),
                ("panel", "Panel", ("record_recommendation",), "panel_held_on"),
                ("approval", "Approvals", _into(d, "approved"), None),
            ],
        )
    return _milestones(
        d,
        [
            ("enquiry", "Enquiries", ("open",), None),
            ("initial_visit", "Initial visits", _into(d, "initial_visit"), None),
            ("application", "Applications", _into(d, "application"), "application_received_on"),
            ("assessment", "Assessments", _into(d, "assessment"), None),
            ("panel", "Panel", ("record_recommendation",), "panel_held_on"),
            ("approval", "Approvals", _into(d, "approved"), None),
        ],
    )


def _timescale(d: WorkflowDef, rule: str) -> tuple[str, int | None, int | None]:
    """The rule's limit as words, and as calendar days or months when it is counted in those (else none)."""
    found = next((r for r in d.deadlines if r.name == rule), None)
    if found is None:
        return "", None, None
    limit = parse_limit(found.limit)
    per_day = {"days": 1, "weeks": 7}.get(limit.unit)
    return (
        f"{found.limit} ({rule})",
        limit.amount * per_day if per_day else None,
        limit.amount if limit.unit == "months" else None,
    )


def _stretch_list(d: WorkflowDef, spec: Sequence[tuple[str, str, str, str, str]]) -> list[Stretch]:
    keys = {m.key for m in (_funnel_steps(d) if d.id in FOSTERING else _adopter_steps(d))}
    return [
        Stretch(d.id, key, label, a, b, *_timescale(d, rule))
        for key, label, a, b, rule in spec
        if a in keys and b in keys
    ]


def _funnel_stretches(d: WorkflowDef) -> list[Stretch]:
    return _stretch_list(
        d,
        [
            ("enquiry_to_visit", "Enquiry to initial visit", "enquiry", "initial_visit", "FS2"),
            ("visit_to_application", "Initial visit to application", "initial_visit", "application", ""),
            ("enquiry_to_assessment", "Enquiry to assessment (viability)", "enquiry", "assessment", "")
            if d.id == "connected_person_approval"
            else ("application_to_assessment", "Application to assessment", "application", "assessment", ""),
            ("application_to_panel", "Application to panel", "application", "panel", "FS3"),
            ("panel_to_approval", "Panel to approval", "panel", "approval", ""),
            ("enquiry_to_approval", "Enquiry to approval", "enquiry", "approval", ""),
        ],
    )


def _adopter_steps(d: WorkflowDef) -> list[Milestone]:
    return _milestones(
        d,
        [
            ("enquiry", "Enquiries", ("open",), None),
            ("roi", "Registrations of interest", ("receive_roi",), "roi_received_on"),
            ("stage1", "Stage 1 started", ("accept_roi",), "roi_accepted_on"),
            ("stage1_end", "Stage 1 completed", ("decide_may_be_suitable",), "stage1_decision_notified_on"),
            ("stage2", "Stage 2 started", _into(d, "stage2"), "stage2_notification_received_on"),
            ("approval", "Approvals", _into(d, "approved"), None),
            ("match", "Matches", ("record_match",), "matched_on"),
            ("placement", "Placements", ("record_placement",), "child_placed_on"),
            ("adoption", "Adoption orders", ("record_adoption_order",), "adoption_order_on"),
            ("fast_track", "Fast track", ("fast_track",), "stage2_notification_received_on"),
        ],
    )


def _adopter_stretches(d: WorkflowDef) -> list[Stretch]:
    return _stretch_list(
        d,
        [
            ("roi_to_stage1_end", "Registration of interest to Stage 1 end", "roi", "stage1_end", "AS2"),
            ("stage2_to_approval", "Stage 2 start to approval", "stage2", "approval", "AS4"),
            ("stage1_to_approval", "Stage 1 start to approval", "stage1", "approval", "AS5"),
            ("approval_to_match", "Approval to match", "approval", "match", "AS13"),
            ("match_to_placement", "Match to placement", "match", "placement", ""),
            ("placement_to_order", "Placement to adoption order", "placement", "adoption", ""),
        ],
    )


# -- funnel arithmetic and tables ------------------------------------------------------------------


def _step_rows(steps: Sequence[Milestone], counts: Mapping[tuple[str, str], tuple[int, int]]) -> list[dict[str, Any]]:
    """Each step's count in the period and of the cohort, with the conversion from the step before."""
    rows: list[dict[str, Any]] = []
    for m in steps:
        n, cohort = counts.get((m.journey, m.key), (0, 0))
        before = rows[-1] if rows else None
        rows.append(
            {
                "step": m.key,
                "label": m.label,
                "count": n,
                "conversion": ratio(n, before["count"]) if before else None,
                "cohort": cohort,
                "cohort_conversion": ratio(cohort, before["cohort"]) if before else None,
            }
        )
    return rows


def _count(rows: Sequence[Mapping[str, Any]], step: str) -> int:
    return next((int(r["count"]) for r in rows if r["step"] == step), 0)


def _steps_table(journey: str, rows: Sequence[Mapping[str, Any]], title: str | None = None) -> Table:
    name = FUNNEL_NAMES.get(journey, journey)
    return Table(
        f"steps_{name.replace(' ', '_')}",
        title or f"Funnel: {name}",
        (
            Column("label", "Step"),
            Column("count", "In the period", "int"),
            Column("conversion", "Conversion from the step before", "percent"),
            Column("cohort", "Cohort reaching it", "int"),
            Column("cohort_conversion", "Cohort conversion", "percent"),
        ),
        tuple(rows),
        chart="bar",
        x="label",
        y=("count", "cohort"),
        caption="In the period: cases reaching each step in it; cohort: cases opened in it, followed to the as-of day",
    )


def _stage_label(d: WorkflowDef, stage: str) -> str:
    return d.state(stage).label if stage in d.states or stage == ON_HOLD else stage or "(unknown)"


def _reason_label(d: WorkflowDef, code: str) -> str:
    """An exit reason's words: a withdrawal's from the journey's reasons, a decision's from the state it ends in."""
    if code in d.exit_reasons:
        return d.exit_reasons[code]
    return next((s.label for s in d.states.values() if s.meta.get("exit_reason") == code), code or "(none)")


def _exit_json(e: ExitCount, d: WorkflowDef) -> dict[str, Any]:
    return {
        "workflow": e.journey,
        "stage": e.stage,
        "stage_label": _stage_label(d, e.stage),
        "reason": e.reason,
        "reason_label": _reason_label(d, e.reason),
        "in_period": e.in_period,
        "cohort": e.cohort,
    }


def _dropout_tables(exits: Sequence[ExitCount], defs: Mapping[str, WorkflowDef]) -> list[Table]:
    by_stage: dict[tuple[str, str], list[int]] = {}
    by_reason: dict[tuple[str, str], list[int]] = {}
    for e in exits:
        for bucket, key in ((by_stage, (e.journey, e.stage)), (by_reason, (e.journey, e.reason))):
            got = bucket.setdefault(key, [0, 0])
            got[0] += e.in_period
            got[1] += e.cohort
    stage_rows = tuple(
        {"workflow": FUNNEL_NAMES.get(j, j), "stage": _stage_label(defs[j], s), "in_period": a, "cohort": b}
        for (j, s), (a, b) in sorted(by_stage.items())
    )
    reason_rows = tuple(
        {
            "workflow": FUNNEL_NAMES.get(j, j),
            "reason": r,
            "label": _reason_label(defs[j], r),
            "in_period": a,
            "cohort": b,
        }
        for (j, r), (a, b) in sorted(by_reason.items())
    )
    counts = (Column("in_period", "In the period", "int"), Column("cohort", "Of the cohort", "int"))
    return [
        Table(
            "dropouts_by_stage",
            "Drop-outs by stage",
            (Column("workflow", "Journey"), Column("stage", "Stage"), *counts),
            stage_rows,
            chart="bar",
            x="stage",
            y=("in_period",),
        ),
        Table(
            "dropouts_by_reason",
            "Drop-outs by reason",
            (Column("workflow", "Journey"), Column("reason", "Code"), Column("label", "Reason"), *counts),
            reason_rows,
            chart="bar",
            x="reason",
            y=("in_period",),
        ),
    ]


def _durations_json(stretches: Sequence[Stretch], found: Mapping[tuple[str, str], Quantiles]) -> list[dict[str, Any]]:
    out = []
    for s in stretches:
        q = found.get((s.journey, s.key), Quantiles(0, None, None, None))
        out.append(
            {
                "workflow": s.journey,
                "stage": s.key,
                "label": s.label,
                "cases": q.n,
                "median_days": q.median,
                "p90_days": q.p90,
                "timescale": s.timescale,
                "within_timescale": q.within,
                "within_rate": ratio(q.within, q.n) if q.within is not None else None,
            }
        )
    return out


def _durations_table(stretches: Sequence[Stretch], found: Mapping[tuple[str, str], Quantiles]) -> Table:
    rows = tuple(
        {**r, "workflow": FUNNEL_NAMES.get(r["workflow"], r["workflow"])} for r in _durations_json(stretches, found)
    )
    return Table(
        "durations",
        "Stage durations",
        (
            Column("workflow", "Journey"),
            Column("label", "Stage"),
            Column("cases", "Cases", "int"),
            Column("median_days", "Median days", "days"),
            Column("p90_days", "90th percentile days", "days"),
            Column("timescale", "Timescale"),
            Column("within_rate", "Within it", "percent"),
        ),
        rows,
        caption="Days from the first step to the second, for cases reaching the second in the period; "
        "within the timescale where it is in days, weeks or months",
    )


# -- adopters --------------------------------------------------------------------------------------


def _by_case(events: Sequence[CaseEvent]) -> dict[str, list[CaseEvent]]:
    out: dict[str, list[CaseEvent]] = {}
    for e in events:
        out.setdefault(e.ref, []).append(e)
    return out


def _event_day(e: CaseEvent, fact: str | None) -> date:
    value = e.facts.get(fact) if fact else None
    try:
        return date.fromisoformat(str(value)) if value else e.effective_on
    except ValueError:
        return e.effective_on


def _firsts(events: Sequence[CaseEvent], steps: Mapping[str, Milestone]) -> dict[str, dict[str, date]]:
    """Per household: the first day of each step its events reach."""
    out: dict[str, dict[str, date]] = {}
    for ref, evs in _by_case(events).items():
        got: dict[str, date] = {}
        for key, m in steps.items():
            for e in evs:
                if e.trigger in m.triggers:
                    day = _event_day(e, m.fact)
                    got[key] = min(got.get(key, day), day)
        out[ref] = got
    return out


def _timeliness_table(timely: Mapping[str, Any], fast: tuple[int, int]) -> Table:
    a6 = timely["approved_within_6_months"]
    m3 = timely["matched_within_3_months"]
    rows = (
        {"measure": "Approved in the period (not fast track)", "value": a6["mainstream"]["approved"]},
        {"measure": "of which within 6 months of Stage 1 starting", "value": a6["mainstream"]["within_6_months"]},
        {
            "measure": "Approved in the period (fast track: no Stage 1, not in the measure)",
            "value": a6["fast_track"]["approved"],
        },
        {"measure": "Fast track started in the period", "value": fast[0]},
        {"measure": "Matched in the period", "value": m3["matched"]},
        {"measure": "of which within 3 months of approval", "value": m3["within_3_months"]},
    )
    return Table("timeliness", "Timeliness", (Column("measure", "Measure"), Column("value", "Households", "int")), rows)


# -- scorecard -------------------------------------------------------------------------------------

_SCORECARD_TRIGGERS = frozenset(
    {
        "place_for_adoption",
        "record_ffa_placement",
        "grant_placement_order",
        "record_consent",
        "decide_match",
        "record_link",
        "record_adoption_order",
    }
)


def _last(evs: Sequence[CaseEvent], triggers: set[str], fact: str | None) -> date | None:
    days_ = [_event_day(e, fact) for e in evs if e.trigger in triggers]
    return days_[-1] if days_ else None


def _first(evs: Sequence[CaseEvent], triggers: set[str], fact: str | None) -> date | None:
    days_ = [_event_day(e, fact) for e in evs if e.trigger in triggers]
    return days_[0] if days_ else None


def _child(ref: str, evs: Sequence[CaseEvent]) -> dict[str, Any]:
    """One adopted child's contribution to A1, A10 and A2, with the dates each is computed from.

    A1: entered care (the case's opening) to placed for adoption (the last placement's ``placed_on``).
    A10: as A1, but a child adopted by the foster-for-adoption carers they were placed with counts
    from that placement (``ffa_placed_on``). A2: authority to place (``authority_to_place_on``) to the
    decision maker's match (the last ``decide_match``): 0 when matched first, none without authority.
    """
    entered = evs[0].opened_on
    placed = _last(evs, {"place_for_adoption"}, "placed_on")
    ffa = _first(evs, {"record_ffa_placement"}, "ffa_placed_on")
    ffa_carers = next((e.facts.get("ffa_carers_ref") for e in evs if e.trigger == "record_ffa_placement"), None)
    adopters = next((e.facts.get("adopter_case_ref") for e in reversed(evs) if e.trigger == "record_link"), None)
    by_carers = ffa is not None and (adopters is None or ffa_carers is None or adopters == ffa_carers)
    moved_in_a10 = min((d for d in (ffa, placed) if d is not None), default=None) if by_carers else placed
    authority = _first(evs, {"grant_placement_order", "record_consent"}, "authority_to_place_on")
    matched = _last(evs, {"decide_match"}, None)
    a2 = None if authority is None or matched is None else max(0, (matched - authority).days)
    return {
        "ref": ref,
        "a1_days": days(entered, placed),
        "a10_days": days(entered, moved_in_a10),
        "a2_days": a2,
        "entered_care_on": entered,
        "placed_on": placed,
        "ffa_placed_on": ffa if by_carers else None,
        "authority_to_place_on": authority,
        "matched_on": matched,
        "adoption_order_on": _first(evs, {"record_adoption_order"}, "adoption_order_on"),
        "adopted_by_foster_carers": by_carers,
    }


def _scorecard_by_month(children: Sequence[Mapping[str, Any]], period: Period, thresholds: Mapping[str, int]) -> Table:
    """Timeliness over time: at the end of each month of the period, A1 and A2 averaged over the
    children adopted in the 12 months to then (a rolling year, as the trend a scorecard is read for)."""
    rows = []
    for m in months(period):
        since = add_months(m.end, -12)
        kids = [c for c in children if c["adoption_order_on"] is not None and since < c["adoption_order_on"] <= m.end]
        rows.append(
            {
                "month": m.start.strftime("%b %Y"),
                "children": len(kids),
                "a1_days": mean([c["a1_days"] for c in kids if c["a1_days"] is not None]),
                "a2_days": mean([c["a2_days"] for c in kids if c["a2_days"] is not None]),
            }
        )
    return Table(
        "by_month",
        "Timeliness over the year to each month",
        (
            Column("month", "Month"),
            Column("children", "Children adopted in the 12 months", "int"),
            Column("a1_days", "A1 average days", "days"),
            Column("a2_days", "A2 average days", "days"),
        ),
        tuple(rows),
        chart="line",
        x="month",
        y=("a1_days", "a2_days"),
        caption=f"Children adopted in the 12 months to each month's end; thresholds: A1 {thresholds['a1_days']} "
        f"days, A2 {thresholds['a2_days']} days",
    )


def _scorecard_table(
    averages: Mapping[str, float | None],
    thresholds: Mapping[str, int],
    counts: Mapping[str, int],
    a3: Mapping[str, Any],
) -> Table:
    rows = tuple(
        {
            "measure": label,
            "children": counts[key],
            "average_days": averages[key],
            "threshold_days": thresholds[key],
            "met": _within(averages[key], thresholds[key]),
        }
        for key, label in (
            ("a1_days", "A1: entering care to moving in with the adoptive family"),
            ("a10_days", "A10: as A1, from the placement with foster carers who adopt"),
            ("a2_days", "A2: authority to place to the match decision"),
        )
    )
    rows += (
        {
            "measure": "A3: moved in within 14 months of entering care",
            "children": a3["children"],
            "average_days": None,
            "threshold_days": None,
            "met": None,
            "rate": a3["rate"],
        },
    )
    return Table(
        "scorecard",
        "Scorecard averages against thresholds",
        (
            Column("measure", "Measure"),
            Column("children", "Children", "int"),
            Column("average_days", "Average days", "days"),
            Column("threshold_days", "Threshold days", "days"),
            Column("met", "Within threshold"),
            Column("rate", "Rate", "percent"),
        ),
        rows,
        chart="bar",
        x="measure",
        y=("average_days", "threshold_days"),
    )


def _within(average: float | None, threshold: int) -> str | None:
    return None if average is None else ("yes" if average <= threshold else "no")


def _children_table(children: Sequence[Mapping[str, Any]]) -> Table:
    return Table(
        "children",
        "Each adopted child's contribution",
        (
            Column("ref", "Child"),
            Column("entered_care_on", "Entered care", "date"),
            Column("ffa_placed_on", "Placed with foster carers who adopt", "date"),
            Column("placed_on", "Placed for adoption", "date"),
            Column("authority_to_place_on", "Authority to place", "date"),
            Column("matched_on", "Match decision", "date"),
            Column("adoption_order_on", "Adoption order", "date"),
            Column("a1_days", "A1 days", "days"),
            Column("a10_days", "A10 days", "days"),
            Column("a2_days", "A2 days", "days"),
        ),
        tuple(children),
    )


def _waiting_table(waiting: Mapping[str, Any]) -> Table:
    rows = (
        {"measure": "Children with authority to place, not yet placed (A9)", "value": waiting["children_waiting"]},
        {"measure": "Approved families waiting to be matched (A11)", "value": waiting["families_waiting"]},
    )
    return Table(
        "waiting", "Waiting on the as-of day", (Column("measure", "Measure"), Column("value", "Number", "int")), rows
    )


def _plan_changes_table(changes: Sequence[Mapping[str, Any]]) -> Table:
    return Table(
        "plan_changes",
        "Plans changed away from adoption, by reason (A5)",
        (Column("reason", "Reason (RD code)"), Column("children", "Children", "int")),
        tuple(changes),
        chart="bar",
        x="reason",
        y=("children",),
    )


# -- compliance ------------------------------------------------------------------------------------


def _deadline_json(c: DeadlineCount) -> dict[str, Any]:
    return {
        "due": c.due,
        "met_on_time": c.met_on_time,
        "met_late": c.met_late,
        "late_days_median": c.late_days.median,
        "late_days_max": c.late_days.max,
        "breached": c.breached,
        "not_met": c.breached - c.met_late,
        "open_past_due": c.open_past_due,
        "open_not_past_due": c.open_not_past_due,
        "open_due_later": c.open_due_later,
        "rate_on_time": c.rate_on_time,
    }


_DEADLINE_COLUMNS = (
    Column("due", "Due", "int"),
    Column("met_on_time", "Met on time", "int"),
    Column("met_late", "Met late", "int"),
    Column("late_days_median", "Median days late", "days"),
    Column("late_days_max", "Most days late", "days"),
    Column("breached", "Breached", "int"),
    Column("not_met", "Breached, not met since", "int"),
    Column("open_past_due", "Open, past due", "int"),
    Column("open_not_past_due", "Open, not yet past due", "int"),
    Column("open_due_later", "Open, due after the period", "int"),
    Column("rate_on_time", "On time", "percent"),
)


def _compliance_table(
    key: str, title: str, first: tuple[Column, ...], rows: Sequence[Mapping[str, Any]], x: str | None
) -> Table:
    return Table(
        key,
        title,
        (*first, *_DEADLINE_COLUMNS),
        tuple(rows),
        chart="bar" if x else None,
        x=x,
        y=("met_on_time", "met_late", "not_met") if x else (),  # parts of the due: a breach met late is met late
        caption="Breached counts every deadline not met by its due day: met late, ended unmet, or still open",
    )
