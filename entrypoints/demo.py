"""A realistic demo caseload, generated through the real write path (``CaseService``).

Nothing is inserted directly: people and teams go through ``People``, panel sittings through
``notifications.panels.add_sitting``, and every case change through ``CaseService`` with an
injected ``FixedClock`` that moves forward as the simulation does. Enquiries arrive over the
two years before today; each case walks its journey as the YAML declares it:

- the *main move* out of a state is the declared transition closest to a success state
  (approval, adoption), ties broken by declaration order;
- *chores* are the state's self-loops (checks, reports, papers, visits), each fired once per
  stay, and again whenever an open deadline is stopped by one (recurring visits);
- the facts a trigger ``requires`` are synthesised from their names (``*_on`` dates,
  ``panel_date`` a booked sitting, ``*_members`` panel emails, ``one_of`` guard values);
- the actor is a user holding one of the transition's roles whose guards pass (a decision
  maker who sat on the panel is skipped);
- per-state tuning (how long a stay lasts, drop-out and hold rates, how often an alternative
  such as a qualifying determination happens) is data in ``TUNING``; states it does not name
  get defaults, so new or renamed states still walk;
- people aim at their deadlines: a move that stops an open deadline usually happens before
  it is due, sometimes late (breaches);
- a child's link names waiting approved adopters (``adopter_case_ref``) and the adopters' case
  records the match, placement, disruption and order the same day as the child's
  (``PARTNER_MOVES``); adopters never match on their own.

Historical notices and the final sweep's alerts are left in the outbox, so ``carepath run``
sends mail at once.

Names are obviously fictional ("The Testington household", "Child Alpha-017") and live only in
case facts (``household_name``, ``child_name``), which emails never carry.
"""

from __future__ import annotations

import heapq
import random
import re
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Literal

from sqlalchemy import func, select

from config.bootstrap import App
from engine.calendar import add_months
from engine.case import Actor, Case
from engine.clock import LONDON, FixedClock, local_today
from engine.compiler import CompiledWorkflow
from engine.deadlines import Deadline
from engine.definition import ON_HOLD, DeadlineRule, TransitionDef, WorkflowDef
from engine.errors import CarepathError, InvalidInput
from engine.guards import READINESS, GuardContext
from notifications.panels import add_sitting, sittings
from storage.people import audit
from storage.uow import CASE, DEADLINE, C, D

DOMAIN = "demo.carepath.invalid"
FOSTERING_TEAM = "Demo Fostering Team"
ADOPTION_TEAM = "Demo Adoption Team"
WINDOW_DAYS = 730
CHILD_HEAD_START = 180

FOSTER = "foster_carer_approval"
CONNECTED = "connected_person_approval"
CARER = "approved_foster_carer"
ADOPTER = "prospective_adopter_approval"
CHILD = "child_adoption_pathway"
#: Journeys a household or child may start on, with the share of households for each.
HOUSEHOLD_SHARE: dict[str, float] = {FOSTER: 0.72, ADOPTER: 0.18, CONNECTED: 0.10}
#: Success in one journey opens a case on another (the approved carer's life after approval),
#: preferring some moves there (family and friends carers register as such).
FOLLOW_ON: dict[str, tuple[str, tuple[str, ...]]] = {
    FOSTER: (CARER, ("register_mainstream_carer",)),
    CONNECTED: (CARER, ("register_family_and_friends_carer",)),
}
#: Share of households that were already approved carers when the window opened.
EXISTING_CARERS = 0.06

# -- the organisation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """One demo user: ``first.role@demo.carepath.invalid``."""

    first: str
    role: str
    team: str | None = None

    @property
    def email(self) -> str:
        """The reserved-domain address."""
        return f"{self.first.lower()}.{self.role.replace('_', '')}@{DOMAIN}"

    @property
    def name(self) -> str:
        """An obviously fictional display name."""
        return f"Demo {self.role.replace('_', ' ').title()} {self.first}"


PEOPLE: tuple[Person, ...] = (
    Person("Fiona", "team_manager", FOSTERING_TEAM),
    Person("Sam", "service_manager", FOSTERING_TEAM),
    Person("Amy", "caseworker", FOSTERING_TEAM),
    Person("Ben", "caseworker", FOSTERING_TEAM),
    Person("Cara", "caseworker", FOSTERING_TEAM),
    Person("Dev", "caseworker", FOSTERING_TEAM),
    Person("Tom", "team_manager", ADOPTION_TEAM),
    Person("Sara", "service_manager", ADOPTION_TEAM),
    Person("Eve", "caseworker", ADOPTION_TEAM),
    Person("Finn", "caseworker", ADOPTION_TEAM),
    Person("Gita", "caseworker", ADOPTION_TEAM),
    Person("Pat", "panel_coordinator"),
    Person("Pia", "panel_adviser"),
    Person("Dora", "agency_decision_maker"),
    Person("Dan", "agency_decision_maker"),
    Person("Nina", "nominated_officer"),
    Person("Ivy", "irm_liaison_officer"),
    Person("Omar", "iro"),
)
#: Independent panel members: not users, only named (by email) in ``panel_members`` facts.
PANEL_MEMBERS = tuple(f"{n}.panel@{DOMAIN}" for n in ("chair", "vicechair", "socialworker", "member1", "member2"))


@dataclass
class Org:
    """The demo service's people as actors, by role and by team."""

    actors: dict[str, Actor]
    by_role: dict[str, list[Actor]]
    team_ids: dict[str, int]
    caseworkers: dict[int, list[Actor]]
    managers: dict[int, Actor]

    def owner_for(self, team_id: int, rng: random.Random) -> Actor:
        """A caseworker of ``team_id`` to own a new case."""
        return rng.choice(self.caseworkers[team_id])


def build_org(app: App, by: Actor) -> Org:
    """Create (or reuse) the demo users and the two teams through ``People``."""
    known = {u.email for u in app.people.users()}
    for p in PEOPLE:
        if p.email not in known:
            app.people.add_user(p.email, p.name, [p.role], by=by)
    teams = {t.name for t in app.people.teams()}
    for team in (FOSTERING_TEAM, ADOPTION_TEAM):
        if team not in teams:
            staff = [p for p in PEOPLE if p.team == team]
            manager = next(p.email for p in staff if p.role == "team_manager")
            service = next(p.email for p in staff if p.role == "service_manager")
            app.people.add_team(team, manager, service, [p.email for p in staff], by=by)
    actors = {p.email: app.people.actor(p.email) for p in PEOPLE}
    by_role: dict[str, list[Actor]] = {}
    for p in PEOPLE:
        by_role.setdefault(p.role, []).append(actors[p.email])
    team_ids = {team: app.people.team_id(team) for team in (FOSTERING_TEAM, ADOPTION_TEAM)}
    return Org(
        actors=actors,
        by_role=by_role,
        team_ids=team_ids,
        caseworkers={
            team_ids[t]: [actors[p.email] for p in PEOPLE if p.team == t and p.role == "caseworker"] for t in team_ids
        },
        managers={
            team_ids[t]: next(actors[p.email] for p in PEOPLE if p.team == t and p.role == "team_manager")
            for t in team_ids
        },
    )


def book_panels(app: App, start: date, end: date, by: Actor) -> int:
    """Book fostering panels (2nd and 4th Wednesday) and adoption panels (1st and 3rd Thursday)."""
    booked = 0
    with app.engine.begin() as conn:
        have = {(s.day, s.panel_type) for s in sittings(conn, app.calendar)}
        for day in _days(start, end):
            nth = (day.day - 1) // 7 + 1
            kind = (
                "fostering"
                if day.weekday() == 2 and nth in (2, 4)
                else "adoption"
                if day.weekday() == 3 and nth in (1, 3)
                else None
            )
            if kind is None or (day, kind) in have or not app.calendar.is_working_day(day):
                continue
            add_sitting(conn, day, kind, app.clock.now())
            audit(conn, app.clock, by.id, "panel.add", f"{kind}:{day.isoformat()}", {"demo": True})
            booked += 1
    return booked


def _days(start: date, end: date) -> Iterable[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


# -- tuning ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stay:
    """How a stay in one state goes: days (low, mode, high), drop-out and hold chances."""

    days: tuple[int, int, int] = (7, 21, 60)
    drop: float = 0.03
    hold: float = 0.02


@dataclass(frozen=True, slots=True)
class Tuning:
    """Per-journey stays by state name, chances of alternative moves by trigger, and weights
    of the values a fact may take (where a ``one_of`` guard allows several)."""

    stays: Mapping[str, Stay] = field(default_factory=dict)
    alternatives: Mapping[str, float] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


DEFAULT_STAY = Stay()
#: An alternative move not named in the tuning: into a terminal state, or a detour.
DEFAULT_EXIT_CHANCE = 0.02
DEFAULT_DETOUR_CHANCE = 0.02
MAX_DETOURS = 2
#: A case taking more steps than this is walking in circles: stop it and report it.
MAX_STEPS = 600
#: How often people act before a deadline they are working to.
ON_TIME = 0.86
#: Of holds, how many end in a withdrawal rather than a resumption.
HOLD_THEN_WITHDRAW = 0.3
#: Chance that an optional chore (a self-loop no guard or deadline needs) is done at all.
OPTIONAL_CHORE = 0.3

_PANEL_STAYS: dict[str, Stay] = {
    "report_ready": Stay((5, 12, 35), 0.02, 0.02),
    "ready_for_panel": Stay((1, 3, 8), 0.0, 0.0),
    "panel_booked": Stay((14, 21, 35), 0.0, 0.0),
    "panel_recommended": Stay((1, 4, 12), 0.0, 0.0),
    "awaiting_adm": Stay((1, 4, 12), 0.0, 0.0),
    "qd_issued": Stay((29, 33, 45), 0.0, 0.0),
    "representations": Stay((30, 45, 75), 0.02, 0.0),
    "irm_review": Stay((60, 100, 150), 0.02, 0.0),
    "awaiting_final_decision": Stay((2, 5, 12), 0.0, 0.0),
}
_DECISIONS: dict[str, float] = {
    "propose_not_to_approve": 0.07,
    "apply_to_irm": 0.3,
    "confirm_not_approved": 0.4,
    "refuse_after_review": 0.4,
    "revise_report": 0.05,
    "defer_panel": 0.04,
}

TUNING: dict[str, Tuning] = {
    FOSTER: Tuning(
        stays={
            "enquiry": Stay((0, 1, 4), 0.42, 0.0),
            "initial_contact": Stay((2, 6, 20), 0.5, 0.03),
            "initial_visit": Stay((7, 20, 60), 0.55, 0.1),
            "application": Stay((2, 7, 21), 0.03, 0.0),
            "assessment": Stay((90, 125, 185), 0.1, 0.25),
            **_PANEL_STAYS,
        },
        alternatives={**_DECISIONS, "decide_not_suitable_stage1": 0.04, "counsel_out": 0.03},
    ),
    CONNECTED: Tuning(
        stays={
            "viability_assessment": Stay((7, 18, 40), 0.08, 0.0),
            "assessment": Stay((70, 110, 170), 0.06, 0.1),
            **_PANEL_STAYS,
        },
        alternatives={
            **_DECISIONS,
            "start_full_assessment": 0.25,
            "decide_not_viable": 0.12,
            "counsel_out": 0.03,
            "end_placement_on_expiry": 0.05,
        },
    ),
    CARER: Tuning(
        stays={
            "approval_decided": Stay((1, 4, 12), 0.0, 0.0),
            "approved": Stay((290, 330, 362), 0.01, 0.15),
            "review_in_progress": Stay((21, 40, 75), 0.0, 0.03),
            "review_ready_for_panel": Stay((1, 3, 8), 0.0, 0.0),
            "review_panel_recommended": Stay((1, 4, 10), 0.0, 0.0),
            "review_awaiting_adm": Stay((1, 4, 10), 0.0, 0.0),
            "resignation_notice": Stay((28, 29, 35), 0.0, 0.0),
            "qd_issued": Stay((29, 33, 45), 0.0, 0.0),
        },
        alternatives={
            "register_family_and_friends_carer": 0.0,
            "receive_resignation": 0.02,
            "vary_terms_on_review": 0.12,
            "vary_terms_without_panel": 0.1,
            "propose_termination": 0.02,
            "propose_termination_without_panel": 0.01,
            "withdraw_proposal": 0.3,
            "apply_to_irm": 0.2,
            "terminate_after_window": 0.5,
            "terminate_approval": 0.4,
            "defer_panel": 0.04,
        },
    ),
    ADOPTER: Tuning(
        stays={
            "enquiry": Stay((1, 10, 40), 0.35, 0.0),
            "roi_received": Stay((1, 4, 10), 0.05, 0.0),
            "stage1": Stay((35, 55, 90), 0.1, 0.08),
            "stage1_decision": Stay((2, 6, 15), 0.0, 0.0),
            "between_stages": Stay((7, 30, 150), 0.08, 0.0),
            "stage2": Stay((70, 95, 130), 0.06, 0.2),
            "par_ready": Stay((5, 10, 25), 0.02, 0.02),
            "approved": Stay((300, 335, 362), 0.03, 0.05),
            "approval_review": Stay((10, 25, 45), 0.0, 0.0),
            "termination_proposed": Stay((60, 70, 90), 0.0, 0.0),
            **{k: v for k, v in _PANEL_STAYS.items() if k not in ("report_ready",)},
        },
        alternatives={
            **_DECISIONS,
            "fast_track": 0.1,
            "decline_roi": 0.08,
            "decide_not_suitable_stage1": 0.06,
            "lapse_stage2": 0.05,
            "counsel_out": 0.03,
            "propose_termination": 0.05,
            "withdraw_termination": 0.4,
        },
        values={"fast_track_basis": {"previous_adopter": 0.5, "foster_carer": 0.5}},
    ),
    CHILD: Tuning(
        stays={
            "looked_after": Stay((20, 45, 90), 0.01, 0.0),
            "permanence_planning": Stay((30, 60, 110), 0.01, 0.0),
            "adoption_plan": Stay((7, 14, 30), 0.0, 0.0),
            "cpr_in_preparation": Stay((20, 35, 70), 0.0, 0.02),
            "should_be_placed": Stay((7, 20, 45), 0.0, 0.0),
            "placement_order_applied": Stay((45, 90, 160), 0.0, 0.0),
            "authority_to_place": Stay((3, 10, 25), 0.0, 0.0),
            "family_finding": Stay((20, 60, 160), 0.0, 0.0),
            "linked": Stay((20, 35, 60), 0.0, 0.0),
            "match_ready_for_panel": Stay((1, 4, 10), 0.0, 0.0),
            "match_panel_recommended": Stay((1, 4, 10), 0.0, 0.0),
            "awaiting_match_decision": Stay((1, 4, 10), 0.0, 0.0),
            "match_agreed": Stay((10, 21, 45), 0.0, 0.0),
            "placed": Stay((70, 72, 90), 0.0, 0.0),
            "eligible_to_apply": Stay((7, 30, 90), 0.0, 0.0),
            "application_lodged": Stay((45, 90, 180), 0.0, 0.0),
            "adoption_order_made": Stay((20, 40, 80), 0.0, 0.0),
            "celebration_hearing": Stay((10, 14, 30), 0.0, 0.0),
            "plan_changed": Stay((20, 40, 90), 0.0, 0.0),
            "disrupted": Stay((20, 40, 90), 0.0, 0.0),
            **{k: v for k, v in _PANEL_STAYS.items() if k in ("awaiting_sbp_decision",)},
        },
        alternatives={
            "agree_other_permanence_plan": 0.15,
            "change_plan": 0.03,
            "decide_not_to_place": 0.04,
            "refuse_placement_order": 0.06,
            "record_consent": 0.12,
            "exit_to_other_permanence": 0.6,
            "end_link": 0.05,
            "decide_not_to_match": 0.03,
            "record_disruption": 0.03,
            "defer_panel": 0.04,
        },
        values={
            "legal_route": {"court": 0.85, "consent": 0.15},
            "permanence_outcome": {
                "special_guardianship": 0.45,
                "long_term_fostering": 0.3,
                "return_home": 0.15,
                "child_arrangements": 0.1,
            },
            "ffa_outcome": {"not_in_childs_interest": 0.5, "no_carers_available": 0.4, "placed": 0.1},
            "plan_change_reason": {"RD1": 0.4, "RD3": 0.3, "RD4": 0.2, "RD2": 0.1},
        },
    ),
}
#: Moves a case makes only because its partner case moved (the adopters' side of a match).
PARTNER_ONLY: dict[str, frozenset[str]] = {
    ADOPTER: frozenset({"record_match", "end_match", "record_placement", "record_disruption", "record_adoption_order"}),
}
#: The fact on a child's case naming the linked adopters' case, and the moves on the child's
#: case the adopters' case records the same day (``None``: the link ends, nothing to record).
PARTNER_FACT = "adopter_case_ref"
PARTNER_MOVES: dict[str, str | None] = {
    "decide_match": "record_match",
    "place_for_adoption": "record_placement",
    "record_adoption_order": "record_adoption_order",
    "record_disruption": "record_disruption",
    "change_plan": "end_match",
    "decide_not_to_match": None,
    "end_link": None,
}
#: The adopters' move a match leads to: adopters who can make it are waiting for a link.
LINK_MOVE = "record_match"


def tuning(journey: str) -> Tuning:
    """The journey's tuning (empty: defaults everywhere)."""
    return TUNING.get(journey, Tuning())


# -- synthetic names and values --------------------------------------------------------------------

SURNAMES = (
    "Testington",
    "Sampleworth",
    "Mockford",
    "Placeholder",
    "Dummerby",
    "Exampleton",
    "Fictionshire",
    "Notreal",
    "Pretendly",
    "Madeupson",
    "Specimen",
    "Trialby",
)
GREEK = ("Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta", "Iota", "Kappa", "Lambda", "Mu")
TERMS = (
    "1 child aged 0-18, short term and respite",
    "Up to 2 children aged 5-12, long term",
    "1 child aged 0-4, short term",
    "Up to 3 siblings aged 0-16, short or long term",
    "Named child only (family and friends)",
)
HOLD_TEXT = (
    "house move",
    "illness in the household",
    "bereavement",
    "applicants asked for a pause",
    "new baby in the household",
    "change of job",
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def household_name(n: int) -> str:
    """``The Testington household (demo 017)``."""
    return f"The {SURNAMES[n % len(SURNAMES)]} household (demo {n:03d})"


def child_name(n: int) -> str:
    """``Child Alpha-017``."""
    return f"Child {GREEK[n % len(GREEK)]}-{n:03d}"


# -- reading a definition --------------------------------------------------------------------------


def is_success(d: WorkflowDef, state: str) -> bool:
    """A terminal state that is the journey's good outcome (approval, adoption)."""
    s = d.states.get(state)
    if s is None or not s.terminal:
        return False
    words = f"{state} {s.meta.get('exit_reason', '')}".upper()
    return not words.startswith("NOT") and "NOT_" not in words and ("APPROVED" in words or "ADOPT" in words)


def home_state(d: WorkflowDef) -> str:
    """Where a journey without a success state rests between cycles: most moves lead into it."""
    into = Counter(t.dest for t in d.transitions if t.dest not in t.sources and not d.states[t.dest].terminal)
    return max(d.states, key=lambda s: (into[s], -list(d.states).index(s)))


def target_distances(d: WorkflowDef) -> dict[str, int]:
    """Moves from each state to the nearest success state (or, for a lifecycle, to its home)."""
    into: dict[str, set[str]] = {}
    for t in d.transitions:
        for s in t.sources:
            if s != t.dest:
                into.setdefault(t.dest, set()).add(s)
    dist = {s: 0 for s in d.states if is_success(d, s)} or {home_state(d): 0}
    queue = deque(dist)
    while queue:
        s = queue.popleft()
        for prev in into.get(s, ()):
            if prev not in dist:
                dist[prev] = dist[s] + 1
                queue.append(prev)
    return dist


def needed_facts(d: WorkflowDef) -> frozenset[str]:
    """Facts something reads: readiness lists, ``has:`` guards, deadline anchors."""
    names: set[str] = set()
    for spec in READINESS.values():
        names.update(i.fact for i in spec.items)
    for t in d.transitions:
        for g in t.guards:
            prefix, _, arg = g.partition(":")
            if prefix in ("has", "after", "on_or_after", "within"):
                names.add(arg.split("+")[0].split(" since ")[0].strip())
    for r in d.deadlines:
        names.update(a.name for a in (*r.start, *r.stop, *r.cancel) if a.kind == "fact")
    return frozenset(names)


def opening_facts(d: WorkflowDef) -> tuple[str, ...]:
    """Facts deadlines start from that no transition records: they must come with the case."""
    recorded = {f for t in d.transitions for f in t.requires}
    return tuple(sorted({a.name for r in d.deadlines for a in r.start if a.kind == "fact" and a.name not in recorded}))


def stops(rule: DeadlineRule, trigger: str, source: str, dest: str) -> bool:
    """Whether firing ``trigger`` from ``source`` to ``dest`` meets ``rule``."""
    for a in rule.stop:
        if a.kind == "event" and a.name == trigger:
            return True
        if source != dest and (a.kind, a.name) in (("leave", source), ("enter", dest)):
            return True
    return False


def one_of_values(t: TransitionDef) -> dict[str, tuple[str, ...]]:
    """``one_of:<fact>=a/b`` guards of ``t``: the values each fact may take."""
    out: dict[str, tuple[str, ...]] = {}
    for g in t.guards:
        if g.startswith("one_of:"):
            name, _, values = g.removeprefix("one_of:").partition("=")
            out[name] = tuple(v for v in values.split("/") if v)
    return out


# -- one case's walk -------------------------------------------------------------------------------

StepKind = Literal["chore", "exit", "withdraw", "hold", "resume"]


@dataclass(order=True)
class Step:
    """Something planned for a case on a date."""

    on: date
    order: int
    kind: StepKind = field(compare=False)
    trigger: str | None = field(default=None, compare=False)
    deadline: tuple[str, int] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A case to open: when, on which journey, in which team, with which facts."""

    on: date
    journey: str
    team: str
    facts: Mapping[str, Any]
    prefer: tuple[str, ...] = ()


class Walker:
    """Walks one case through its journey, one planned step at a time."""

    def __init__(self, seeder: Seeder, arrival: Arrival, rng: random.Random) -> None:
        self.s = seeder
        self.arrival = arrival
        self.rng = rng
        self.compiled: CompiledWorkflow = seeder.app.workflows.latest(arrival.journey)
        self.d = self.compiled.definition
        self.tuning = tuning(self.d.id)
        self.dist = seeder.distances(self.d)
        self.case: Case | None = None
        self.owner: Actor | None = None
        self.team_id = seeder.org.team_ids[arrival.team]
        self.plan: list[Step] = []
        self.done: set[str] = set()
        self.done_deadlines: set[tuple[str, int]] = set()
        self.detours = 0
        self.retries = 0
        self.steps = 0
        self.partner: Walker | None = None
        self.index = -1
        self.token = 0
        self.rolls: dict[tuple[str, str, int], bool] = {}
        self.last_facts: dict[str, Any] = {}
        self.next: Step | None = Step(arrival.on, 0, "exit")

    # -- driving ---------------------------------------------------------------------------------

    def step(self) -> date | None:
        """Do the next planned step; return the date of the one after, or ``None`` when done."""
        step, self.next = self.next, None
        if step is None:
            return None
        self.steps += 1
        try:
            self._do(step)
        except CarepathError as exc:
            self.s.problem(self.d.id, f"{self.case.ref if self.case else 'new case'} {step.kind}: {exc}")
            self.plan.clear()
        return self._schedule()

    def _do(self, step: Step) -> None:
        if self.case is None:
            self._open(step.on)
        elif step.kind == "chore":
            self._chore(step)
        elif step.kind == "exit":
            self._exit(step)
        elif step.kind == "withdraw":
            self._withdraw(step.on)
        elif step.kind == "hold":
            self._hold(step.on)
        else:
            self._resume(step.on)

    def _schedule(self) -> date | None:
        if self.case is None or self.case.status == "closed":
            return None
        if self.steps > MAX_STEPS:
            self.s.problem(self.d.id, f"{self.case.ref} stopped after {MAX_STEPS} steps in {self.case.state}")
            return None
        options = sorted([*self.plan, *self._deadline_chores()])
        if not options:
            return None
        chosen = options[0]
        self.plan = [p for p in self.plan if p is not chosen]
        chosen.on = max(chosen.on, self.case.last_event_on)
        if chosen.on > self.s.today:
            return None
        self.next = chosen
        return chosen.on

    # -- commands --------------------------------------------------------------------------------

    def _open(self, on: date) -> None:
        self.owner = self.s.org.owner_for(self.team_id, self.rng)
        facts = dict(self.arrival.facts)
        for name in opening_facts(self.d):
            facts.setdefault(name, on.isoformat())
        self.case = self.s.app.cases.open_case(
            self.d.id, self.owner, on=on, owner_id=self.owner.id, team_id=self.team_id, facts=facts
        )
        self.s.opened[self.d.id] += 1
        self.s.by_ref[self.case.ref] = self
        self._plan_stay(on)

    def _fire(self, t: TransitionDef, on: date, facts: Mapping[str, Any]) -> bool:
        assert self.case is not None
        actor = self._actor(t, on, facts)
        if actor is None:
            return False
        before = self.case.state
        try:
            self.case = self.s.app.cases.fire(self.case.ref, t.trigger, actor, on=on, facts=facts)
        except CarepathError as exc:
            self.s.problem(self.d.id, f"{self.case.ref} {t.trigger} from {before}: {exc}")
            return False
        self.last_facts = dict(facts)
        self.s.after_move(self, t.trigger, on, facts)
        if self.case.state != before:
            self.done.clear()
            self.done_deadlines.clear()
            if is_success(self.d, self.case.state):
                self.s.follow_on(self, on)
            if self.case.status != "closed":
                self._plan_stay(on)
        else:
            self.done.add(t.trigger)
            self.plan = [p for p in self.plan if not (p.kind == "chore" and p.trigger == t.trigger)]
        return True

    def _chore(self, step: Step) -> None:
        assert self.case is not None
        assert step.trigger is not None
        if step.deadline is not None:
            self.done_deadlines.add(step.deadline)
        t = self.compiled.transition(self.case.state, step.trigger)
        if t is None or self.case.status != "open":
            return
        facts = self._facts(t, step.on)
        if not self._unmet(t, step.on, facts, None):
            self._fire(t, step.on, facts)

    def _exit(self, step: Step) -> None:
        """Leave the state: the planned alternative if any, else the main move (or the next best)."""
        assert self.case is not None
        if self.case.status != "open":
            return
        state = self.case.state
        ranked = self._ranked(state)
        if ranked and self._hopeful(ranked[0]):
            # A failure exit only as a last resort, and only one a condition forces (a lapse, an expiry).
            ranked = [t for t in ranked if self._hopeful(t)] + [t for t in ranked if not self._hopeful(t) and t.guards]
        alt = self.compiled.transition(state, step.trigger) if step.trigger else None
        for i, t in enumerate([alt, *(t for t in ranked if t is not alt)] if alt else ranked):
            facts = self._facts(t, step.on)
            reasons = self._unmet(t, step.on, facts, None)
            if reasons and self._fix(reasons, step.on):
                reasons = self._unmet(t, step.on, facts, None)
            if not reasons:
                if self._fire(t, step.on, facts):
                    self.retries = 0
                    return
                continue
            later = self._not_before(reasons, step.on) if i == 0 else None
            if later is not None:
                self.plan.append(Step(later, 9, "exit", step.trigger))
                return
        self._stuck(step, state)

    def _hopeful(self, t: TransitionDef) -> bool:
        return is_success(self.d, t.dest) or not self.d.states[t.dest].terminal

    def _stuck(self, step: Step, state: str) -> None:
        assert self.case is not None
        self.retries += 1
        if self.retries > 3:
            self.s.problem(self.d.id, f"{self.case.ref} could not leave {state}")
            self.plan.clear()
            return
        self.plan.append(Step(step.on + timedelta(days=14), 9, "exit"))

    def _withdraw(self, on: date) -> None:
        assert self.case is not None
        assert self.owner is not None
        if self.case.status == "closed":
            return
        codes = [c for c in self.d.exit_reasons if c.startswith("AW")]
        trigger = "withdraw" if codes else "close"
        if not codes:
            codes = [c for c in self.d.exit_reasons if c not in ("DUPLICATE", "DECEASED")] or list(self.d.exit_reasons)
        weights = [3.0 if c == "AW3" else 0.5 if c == "AW5" else 1.0 for c in codes]
        reason = self.rng.choices(codes, weights)[0]
        self.case = self.s.app.cases.withdraw(self.case.ref, self.owner, reason, trigger=trigger, on=on)
        self.plan.clear()
        self.s.after_move(self, "change_plan", on, {})

    def _hold(self, on: date) -> None:
        assert self.case is not None
        assert self.owner is not None
        allowed: Mapping[str, str] = self.d.state(self.case.state).meta.get("hold_reasons") or {}
        text = self.rng.choice(HOLD_TEXT)
        reason = f"{self.rng.choice(sorted(allowed))}: {text}" if allowed else f"Demo hold: {text}"
        self.case = self.s.app.cases.hold(self.case.ref, self.owner, reason, on=on)
        self.plan.clear()
        if self.rng.random() < HOLD_THEN_WITHDRAW:
            self.plan.append(Step(on + timedelta(days=round(self.rng.triangular(60, 300, 150))), 0, "withdraw"))
        else:
            self.plan.append(Step(on + timedelta(days=round(self.rng.triangular(30, 270, 100))), 0, "resume"))

    def _resume(self, on: date) -> None:
        assert self.case is not None
        assert self.owner is not None
        self.case = self.s.app.cases.resume(self.case.ref, self.owner, on=on, note="Demo: ready to continue")
        self._plan_stay(on, holds=False)

    # -- planning --------------------------------------------------------------------------------

    def _plan_stay(self, entry: date, *, holds: bool = True) -> None:
        """Plan the stay in the current state: chores, then how and when it ends."""
        assert self.case is not None
        self.plan.clear()
        state = self.case.state
        stay = self.tuning.stays.get(state, DEFAULT_STAY)
        ranked = self._ranked(state)
        if not ranked or (self.partner is not None and self.d.id in PARTNER_ONLY):
            self._plan_chores(state, entry, entry + timedelta(days=60))
            return
        main = ranked[0]
        lo, mode, hi = stay.days
        natural = entry + timedelta(days=round(self.rng.triangular(lo, hi, mode)))
        end = self._appointment(entry) or self._aim(entry, natural, self._due(main.trigger, state, main.dest))
        r = self.rng.random()
        if r < stay.drop:
            self.plan.append(Step(self._between(entry, end), 5, "withdraw"))
            end = self.plan[-1].on
        elif holds and r < stay.drop + stay.hold:
            self.plan.append(Step(self._between(entry, end), 5, "hold"))
            end = self.plan[-1].on
        else:
            self.plan.append(Step(end, 9, "exit", self._alternative(state, ranked)))
        self._plan_chores(state, entry, end)

    def _alternative(self, state: str, ranked: list[TransitionDef]) -> str | None:
        """Sometimes a move other than the main one: a refusal, a QD, a detour."""
        for t in ranked[1:]:
            terminal = self.d.states[t.dest].terminal
            if not terminal and self.detours >= MAX_DETOURS:
                continue
            chance = self.tuning.alternatives.get(t.trigger, DEFAULT_EXIT_CHANCE if terminal else DEFAULT_DETOUR_CHANCE)
            if self.rng.random() < chance:
                self.detours += 0 if terminal else 1
                return t.trigger
        return None

    def _plan_chores(self, state: str, entry: date, end: date) -> None:
        """Each self-loop of the state once (optional ones sometimes), on a day its guards allow."""
        needed = self.s.needed(self.d)
        stoppers = self.s.stoppers(self.d)
        forecast = dict(self.case.facts if self.case else {})
        for trigger, t in self.compiled.by_source.get(state, {}).items():
            if t.dest != state or trigger in self.done or trigger in stoppers:
                continue
            if not any(f in needed for f in t.requires) and self.rng.random() >= OPTIONAL_CHORE:
                continue
            on = self._between(entry, end, 0.9)
            while on <= end:
                facts = self._facts(t, on)
                if not self._unmet(t, on, {**forecast, **facts}, None, merged=True):
                    forecast.update(facts)
                    self.plan.append(Step(on, 1, "chore", trigger))
                    break
                on += timedelta(days=7)

    def _deadline_chores(self) -> list[Step]:
        """Self-loops that meet an open deadline, aimed at its due date (recurring visits too)."""
        if self.case is None or self.case.status != "open":
            return []
        out: list[Step] = []
        moves = self.compiled.by_source.get(self.case.state, {})
        ends = [p.on for p in self.plan if p.kind != "chore"]
        for dl in self.s.live_deadlines(self.case):
            if dl.key in self.done_deadlines:
                continue
            rule = self.s.rules(self.d)[dl.rule]
            for trigger, t in moves.items():
                if t.dest == self.case.state and stops(rule, trigger, t.dest, t.dest) and self._roll(trigger, dl):
                    base = (
                        max(dl.start_on, self.case.last_event_on)
                        if dl.start_on <= dl.due_on
                        else self.case.last_event_on
                    )
                    natural = base + timedelta(days=max(0, (dl.due_on - base).days * 3 // 4))
                    on = self._aim(base, natural, dl.due_on)
                    if on > dl.due_on and not rule.recurs:
                        on = min([on, *ends])  # late, but before the stay ends (papers on the panel day)
                    out.append(Step(on, 2, "chore", trigger, dl.key))
                    break
        return out

    def _roll(self, trigger: str, dl: Deadline) -> bool:
        """Whether a chore the tuning makes occasional (foster for adoption) happens for ``dl``."""
        chance = self.tuning.alternatives.get(trigger)
        if chance is None:
            return True
        key = (trigger, dl.rule, dl.cycle)
        if key not in self.rolls:
            self.rolls[key] = self.rng.random() < chance
        return self.rolls[key]

    def _appointment(self, entry: date) -> date | None:
        """A future ``*_date`` fact given on entering the state (a panel sitting) ends the stay."""
        for name, value in self.last_facts.items():
            if name.endswith("_date") and isinstance(value, str) and _DATE.fullmatch(value):
                day = date.fromisoformat(value)
                if day > entry:
                    return day
        return None

    def _due(self, trigger: str, source: str, dest: str) -> date | None:
        assert self.case is not None
        rules = self.s.rules(self.d)
        dues = [dl.due_on for dl in self.s.live_deadlines(self.case) if stops(rules[dl.rule], trigger, source, dest)]
        return min(dues) if dues else None

    def _aim(self, start: date, natural: date, due: date | None) -> date:
        """People work to deadlines: usually done by the due date, sometimes late."""
        if due is None or due < start:
            return natural  # no deadline, or already missed: no reason to rush now
        if self.rng.random() < ON_TIME:
            return max(start, min(natural, due - timedelta(days=self.rng.randint(0, 2))))
        return max(natural, due + timedelta(days=self.rng.randint(1, 25)))

    def _between(self, a: date, b: date, upto: float = 1.0) -> date:
        span = max(0, (b - a).days)
        return a + timedelta(days=round(self.rng.random() * span * upto))

    def _ranked(self, state: str) -> list[TransitionDef]:
        """Moves out of ``state``, main first: preferred, untuned, nearest the target, declared first.

        Moves the tuning gives a chance are alternatives, never the main move while another
        exists; moves only a partner case causes (the adopters' match) are left out.
        """
        passive = PARTNER_ONLY.get(self.d.id, frozenset())
        moves = [
            t for t in self.compiled.by_source.get(state, {}).values() if t.dest != state and t.trigger not in passive
        ]
        order = {t.trigger: i for i, t in enumerate(self.d.transitions)}

        def key(t: TransitionDef) -> tuple[bool, bool, int, int]:
            far = self.dist.get(t.dest, 1000 + self.d.states[t.dest].terminal)
            return (t.trigger not in self.arrival.prefer, t.trigger in self.tuning.alternatives, far, order[t.trigger])

        return sorted(moves, key=key)

    # -- facts, guards, actors -------------------------------------------------------------------

    def _facts(self, t: TransitionDef, on: date) -> dict[str, Any]:
        choices = one_of_values(t)
        facts: dict[str, Any] = {}
        for name in t.requires:
            facts[name] = self.s.value(self, name, on, choices.get(name))
        return facts

    def _unmet(
        self, t: TransitionDef, on: date, facts: Mapping[str, Any], actor: Actor | None, *, merged: bool = False
    ) -> list[str]:
        assert self.case is not None
        recorded = facts if merged else self.case.facts
        ctx = GuardContext(
            case_ref=self.case.ref,
            state=self.case.state,
            facts={**recorded, **facts},
            given=facts,
            actor_id=actor.id if actor else None,
            actor_email=actor.email if actor else None,
            actor_roles=actor.roles if actor else frozenset(),
            on=on,
            trigger=t.trigger,
            extra={"recorded": recorded},
        )
        return self.compiled.unmet(t, ctx)

    def _actor(self, t: TransitionDef, on: date, facts: Mapping[str, Any]) -> Actor | None:
        assert self.owner is not None
        candidates = [self.owner] if not t.roles or self.owner.roles & set(t.roles) else []
        manager = self.s.org.managers[self.team_id]
        if manager.roles & set(t.roles):
            candidates.append(manager)
        for role in t.roles:
            candidates += self.s.org.by_role.get(role, [])
        for a in candidates:
            if not self._unmet(t, on, facts, a):
                return a
        return None

    def _not_before(self, reasons: list[str], on: date) -> date | None:
        """The date a time guard names ("not yet: allowed from ...", "covers ... until ...")."""
        for r in reasons:
            found = [date.fromisoformat(m) for m in _DATE.findall(r)]
            if ("not yet" in r or "until" in r) and found:
                day = max(found) + (timedelta(days=1) if "until" in r else timedelta())
                if day > on:
                    return day
        return None

    def _fix(self, reasons: list[str], on: date) -> bool:
        """Record now any missing item a guard names, if a self-loop of the state records it."""
        assert self.case is not None
        text = " ".join(reasons)
        fixed = False
        for trigger, loop in list(self.compiled.by_source.get(self.case.state, {}).items()):
            if loop.dest == self.case.state and trigger not in self.done and any(f in text for f in loop.requires):
                facts = self._facts(loop, on)
                if not self._unmet(loop, on, facts, None):
                    fixed = self._fire(loop, on, facts) or fixed
        return fixed


# -- the whole caseload ----------------------------------------------------------------------------


@dataclass
class SeedResult:
    """What a seed run did."""

    opened: Counter[str]
    skipped: list[str]
    problems: list[str]
    steps: int
    panels: int
    swept: int
    seconds: float = 0.0


class Seeder:
    """Generates the caseload: arrivals, a queue of (next date, case), one clock."""

    def __init__(self, app: App, clock: FixedClock, today: date, seed: int, now: datetime) -> None:
        self.app = app
        self.clock = clock
        self.today = today
        self.now = now
        self.rng = random.Random(seed)
        self.seed = seed
        self.org: Org
        self.opened: Counter[str] = Counter()
        self.problems: list[str] = []
        self.walkers: list[Walker] = []
        self.queue: list[tuple[date, int, int]] = []
        self.by_ref: dict[str, Walker] = {}
        self._stoppers: dict[str, frozenset[str]] = {}
        self._dist: dict[str, dict[str, int]] = {}
        self._needed: dict[str, frozenset[str]] = {}
        self._rules: dict[str, dict[str, DeadlineRule]] = {}
        self._deadline_cache: tuple[int, int, list[Deadline]] | None = None

    # -- lookups walkers share --------------------------------------------------------------------

    def distances(self, d: WorkflowDef) -> dict[str, int]:
        """Cached ``target_distances``."""
        return self._dist.setdefault(d.id, target_distances(d))

    def needed(self, d: WorkflowDef) -> frozenset[str]:
        """Cached ``needed_facts``."""
        return self._needed.setdefault(d.id, needed_facts(d))

    def rules(self, d: WorkflowDef) -> dict[str, DeadlineRule]:
        """The journey's deadline rules by name."""
        return self._rules.setdefault(d.id, {r.name: r for r in d.deadlines})

    def live_deadlines(self, case: Case) -> list[Deadline]:
        """The case's open deadlines (cached per case version)."""
        assert case.id is not None
        cached = self._deadline_cache
        if cached is not None and cached[0] == case.id and cached[1] == case.last_seq:
            return cached[2]
        live = [d for d in self.app.queries.deadlines(case.id) if d.status == "open"]
        self._deadline_cache = (case.id, case.last_seq, live)
        return live

    def problem(self, journey: str, text: str) -> None:
        """Note a move the walker expected to work but the service refused."""
        self.problems.append(f"{journey}: {text}")

    def value(self, w: Walker, name: str, on: date, allowed: tuple[str, ...] | None) -> Any:
        """A synthetic value for fact ``name`` recorded on ``on``."""
        if allowed:
            weights = w.tuning.values.get(name, {})
            options = [v for v in allowed if v in weights]
            return w.rng.choices(options, [weights[v] for v in options])[0] if options else allowed[0]
        if name.endswith("_members"):
            members = list(PANEL_MEMBERS)
            if self.rng.random() < 0.25:
                members.append(self.rng.choice(self.org.by_role["agency_decision_maker"]).email)
            return members
        if name == "panel_date" or name.endswith("panel_date"):
            return self._panel_day(w, on).isoformat()
        if name.endswith("_to"):
            return (on + timedelta(weeks=8)).isoformat()
        if name.endswith(("_on", "_date", "_at")):
            return on.isoformat()
        if name == PARTNER_FACT:
            waiting = self.waiting_partner()
            return waiting.case.ref if waiting and waiting.case else f"DEMO-VAA-{w.rng.randint(100, 999)}"
        if name.endswith("_ref"):
            partner = w.partner.case if w.partner else None
            return partner.ref if partner else f"DEMO-EXT-{w.rng.randint(100, 999)}"
        if name == "approval_terms":
            return self.rng.choice(TERMS)
        if name.startswith(("is_", "has_")) or name.endswith("_elsewhere"):
            return "no"
        return f"demo {name.replace('_', ' ')}"

    def _panel_day(self, w: Walker, on: date) -> date:
        kinds = {str(s.meta["panel_type"]) for s in w.d.states.values() if s.meta.get("panel_type")}
        kind = sorted(kinds)[0] if kinds else ("adoption" if "adopt" in w.d.id or "child" in w.d.id else "fostering")
        with self.app.engine.connect() as conn:
            ahead = sittings(conn, self.app.calendar, kind, since=on + timedelta(days=14))
        return ahead[0].day if ahead else on + timedelta(days=21)

    def stoppers(self, d: WorkflowDef) -> frozenset[str]:
        """Triggers that meet some deadline: done when a deadline asks, not on a whim."""
        if d.id not in self._stoppers:
            self._stoppers[d.id] = frozenset(a.name for r in d.deadlines for a in r.stop if a.kind == "event")
        return self._stoppers[d.id]

    # -- partner cases (a child and the adopters linked with them) --------------------------------

    def waiting_partner(self) -> Walker | None:
        """The adopters waiting longest for a link: open, not linked, able to record a match."""
        for w in self.walkers:
            free = w.d.id in PARTNER_ONLY and w.partner is None and w.case is not None and w.case.status == "open"
            if free and w.case is not None and w.compiled.transition(w.case.state, LINK_MOVE):
                return w
        return None

    def after_move(self, w: Walker, trigger: str, on: date, facts: Mapping[str, Any]) -> None:
        """Keep a linked pair in step: link, mirror the child's moves on the adopters, unlink."""
        ref = facts.get(PARTNER_FACT)
        if ref is not None and ref in self.by_ref and w.partner is None:
            w.partner, other = self.by_ref[ref], w
            w.partner.partner = other
            w.partner.plan.clear()
            self.reschedule(w.partner)
            return
        partner = w.partner
        if partner is None or partner.case is None or trigger not in PARTNER_MOVES or w.d.id in PARTNER_ONLY:
            return
        mirrored = PARTNER_MOVES[trigger]
        t = partner.compiled.transition(partner.case.state, mirrored) if mirrored else None
        if t is None or mirrored in ("end_match", "record_disruption"):
            w.partner = partner.partner = None
        if t is not None and partner.case.status == "open":
            partner._fire(t, on, partner._facts(t, on))
        if partner.partner is None and partner.case.status == "open" and partner.case.state != ON_HOLD:
            partner._plan_stay(on)
        self.reschedule(partner)

    # -- running ---------------------------------------------------------------------------------

    def reschedule(self, w: Walker) -> None:
        """Plan ``w``'s next step again (its partner moved it); older queue entries go stale."""
        w.next = None
        w.token += 1
        nxt = w._schedule()
        if nxt is not None:
            heapq.heappush(self.queue, (nxt, w.index, w.token))

    # -- running ---------------------------------------------------------------------------------

    def add(self, arrival: Arrival) -> None:
        """Queue a new case."""
        w = Walker(self, arrival, random.Random(self.rng.random()))
        w.index = len(self.walkers)
        self.walkers.append(w)
        heapq.heappush(self.queue, (arrival.on, w.index, w.token))

    def follow_on(self, w: Walker, on: date) -> None:
        """An approval opens the next journey (the approved carer's case) the same day."""
        assert w.case is not None
        nxt, prefer = FOLLOW_ON.get(w.d.id, (None, ()))
        if nxt is None or nxt not in self.app.workflows.ids():
            return
        facts = {k: v for k, v in w.case.facts.items() if k in ("household_name",)}
        facts["approval_case_ref"] = w.case.ref
        self.add(Arrival(on, nxt, w.arrival.team, facts, prefer))

    def run(self) -> None:
        """Walk every case in date order; the clock follows."""
        while self.queue:
            on, i, token = heapq.heappop(self.queue)
            w = self.walkers[i]
            if token != w.token:
                continue
            self._set_clock(on)
            nxt = w.step()
            if nxt is not None:
                heapq.heappush(self.queue, (nxt, i, w.token))

    def _set_clock(self, on: date) -> None:
        at = datetime.combine(on, dtime(10), LONDON)
        self.clock.set(min(at, self.now) if on >= self.today else at)


def arrivals(rng: random.Random, today: date, households: int, children: int, journeys: Iterable[str]) -> list[Arrival]:
    """Households and children arriving over the two years before ``today``."""
    loaded = set(journeys)
    start = today - timedelta(days=WINDOW_DAYS)
    out: list[Arrival] = []
    shares = {j: s for j, s in HOUSEHOLD_SHARE.items() if j in loaded}
    kinds, weights = list(shares), list(shares.values())
    for n in range(households if kinds else 0):
        journey = rng.choices(kinds, weights)[0]
        team = ADOPTION_TEAM if journey == ADOPTER else FOSTERING_TEAM
        out.append(Arrival(_weekday(start + timedelta(days=rng.randrange(WINDOW_DAYS))), journey, team, _hh(n + 1)))
    if CARER in loaded:
        for n in range(round(households * EXISTING_CARERS)):
            on = _weekday(start + timedelta(days=rng.randrange(120)))
            out.append(Arrival(on, CARER, FOSTERING_TEAM, _hh(households + n + 1)))
    if CHILD in loaded:
        for n in range(children):
            # Children's paths are long: some came into care before the households' window.
            on = _weekday(start - timedelta(days=CHILD_HEAD_START - rng.randrange(WINDOW_DAYS + CHILD_HEAD_START - 30)))
            out.append(Arrival(on, CHILD, ADOPTION_TEAM, {"child_name": child_name(n + 1)}))
    return sorted(out, key=lambda a: (a.on, a.journey))


def _hh(n: int) -> dict[str, Any]:
    return {"household_name": household_name(n)}


def _weekday(d: date) -> date:
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def seed(app: App, *, households: int, children: int, seed_value: int) -> SeedResult:
    """Generate the demo caseload through ``app``'s services, ending today.

    Args:
        app: the wired application; its clock says what "today" is.
        households: fostering, connected-person and adopter households to generate.
        children: children to walk through the adoption pathway.
        seed_value: random seed; the same seed and today give the same caseload.

    Returns:
        What was opened, skipped journeys and any refused moves.
    """
    started = time.perf_counter()
    now = app.clock.now()
    today = local_today(app.clock)
    start = today - timedelta(days=WINDOW_DAYS + CHILD_HEAD_START)
    clock = FixedClock(datetime.combine(start - timedelta(days=30), dtime(9), LONDON))
    sim = App(settings=app.settings, clock=clock, engine=app.engine, workflows=app.workflows)
    _ = sim.calendar  # load it now: reading it inside a SQLite write transaction would wait on the lock
    system = sim.people.ensure_system_user()
    seeder = Seeder(sim, clock, today, seed_value, now)
    seeder.org = build_org(sim, system)
    panels = book_panels(sim, start - timedelta(days=30), today + timedelta(days=120), system)
    loaded = set(app.workflows.ids())
    wanted = {*HOUSEHOLD_SHARE, CARER, CHILD}
    for a in arrivals(seeder.rng, today, households, children, loaded & wanted):
        seeder.add(a)
    seeder.run()
    clock.set(now)
    sim.__dict__.pop("sweeper", None)
    swept = sim.sweeper.sweep().total
    return SeedResult(
        opened=seeder.opened,
        skipped=sorted(wanted - loaded),
        problems=seeder.problems,
        steps=sum(w.steps for w in seeder.walkers),
        panels=panels,
        swept=swept,
        seconds=time.perf_counter() - started,
    )


# -- reading the caseload back ------------------------------------------------------------------------


@dataclass
class Summary:
    """Counts a person checks a demo caseload by."""

    by_state: list[dict[str, Any]]
    cases: int
    on_hold: int
    conversion: dict[str, float]
    approvals: int
    approvals_within_8_months: float | None
    breached_open: int
    met_late: int


def case_count(app: App) -> int:
    """How many cases exist."""
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(CASE)).scalar_one())


def summarise(app: App) -> Summary:
    """Counts by journey and state, conversion, timeliness, breaches and holds, as of today."""
    today = local_today(app.clock)
    with app.engine.connect() as conn:
        rows = list(conn.execute(select(C.workflow_id, C.state, C.status, C.facts, C.exit_reason, C.last_event_on)))
        breached = conn.execute(
            select(func.count()).select_from(DEADLINE).where(D.status == "open", D.due_on < today)
        ).scalar_one()
        late = conn.execute(
            select(func.count()).select_from(DEADLINE).where(D.status == "met", D.met_on > D.due_on)
        ).scalar_one()
    counts = Counter((r.workflow_id, r.state) for r in rows)
    per_journey = Counter(r.workflow_id for r in rows)
    applied = Counter(r.workflow_id for r in rows if (r.facts or {}).get("application_received_on"))
    approved = [r for r in rows if r.exit_reason == "APPROVED" and (r.facts or {}).get("application_received_on")]
    within = [
        r for r in approved if r.last_event_on <= add_months(date.fromisoformat(r.facts["application_received_on"]), 8)
    ]
    return Summary(
        by_state=[{"journey": j, "state": s, "cases": n} for (j, s), n in sorted(counts.items())],
        cases=len(rows),
        on_hold=sum(1 for r in rows if r.status == "on_hold"),
        conversion={j: applied[j] / per_journey[j] for j in sorted(applied) if j == FOSTER or applied[j]},
        approvals=len(approved),
        approvals_within_8_months=len(within) / len(approved) if approved else None,
        breached_open=int(breached),
        met_late=int(late),
    )


def sample_case(app: App) -> str | None:
    """A case worth touring: an open one far along its journey with deadlines."""
    with app.engine.connect() as conn:
        stmt = (
            select(C.ref)
            .where(C.status == "open")
            .order_by((C.workflow_id == FOSTER).desc(), C.last_seq.desc(), C.ref)
            .limit(1)
        )
        ref = conn.execute(stmt).scalar()
        if ref is None:
            ref = conn.execute(select(C.ref).order_by(C.last_seq.desc()).limit(1)).scalar()
    return str(ref) if ref is not None else None


def check_sizes(households: int, children: int) -> None:
    """Refuse sizes that make no sense."""
    if households < 0 or children < 0:
        raise InvalidInput("--households and --children must be zero or more")
    if households + children == 0:
        raise InvalidInput("nothing to seed: give --households or --children")
