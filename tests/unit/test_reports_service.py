"""The report service without a database: periods, targets, scope and refusals, over a hand-written fake
of the read models (``ReportReads``) and the shipped journeys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from carepath.engine.case import Actor
from carepath.engine.clock import FixedClock
from carepath.engine.errors import InvalidInput, NotFound, NotPermitted, UnknownWorkflow
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.reports import (
    CaseEvent,
    DeadlineCount,
    ExitCount,
    Milestone,
    Period,
    Quantiles,
    ReportTargets,
    StateCount,
    Stretch,
    combine,
    weighted_quantiles,
)
from carepath.engine.services.reports import ReportService
from carepath.workflows.loader import load_registry

D = date.fromisoformat
TEAM_A, TEAM_B = 1, 2


class FakeReads:
    """Canned figures; remembers what it was asked."""

    def __init__(self, counts: Mapping[tuple[str, str], tuple[int, int]] | None = None) -> None:
        self.counts = dict(counts or {})
        self.asked: list[tuple[str, date, frozenset[int] | None, Period | None]] = []
        self.deadline_rows: list[DeadlineCount] = []

    def team_id(self, name: str) -> int:
        teams = {"Team A": TEAM_A, "Team B": TEAM_B}
        if name not in teams:
            raise NotFound("team", name)
        return teams[name]

    def reached(
        self,
        as_of: date,
        teams: frozenset[int] | None,
        milestones: Sequence[Milestone],
        stretches: Sequence[Stretch],
        period: Period,
    ) -> tuple[dict[tuple[str, str], tuple[int, int]], dict[tuple[str, str], Quantiles]]:
        self.asked.append(("reached", as_of, teams, period))
        return self.counts, {}

    def exits(self, as_of: date, teams: Any, ends: Any, period: Period) -> list[ExitCount]:
        return []

    def case_events(self, as_of: date, teams: Any, when: Milestone, period: Period, triggers: Any) -> list[CaseEvent]:
        self.asked.append(("case_events", as_of, teams, period))
        return []

    def states(
        self, as_of: date, teams: Any, terminal: Any, *, by_owner: bool = False, among: Any = (), with_days: bool = True
    ) -> list[StateCount]:
        self.asked.append(("states", as_of, teams, None))
        return []

    def deadlines(
        self, as_of: date, teams: Any, journeys: Any, period: Period, rules: Any, *, past: bool = False
    ) -> list[DeadlineCount]:
        self.asked.append(("deadlines", as_of, teams, period))
        return self.deadline_rows


@pytest.fixture(scope="module")
def journeys() -> WorkflowRegistry:
    return load_registry()


def service(journeys: WorkflowRegistry, reads: FakeReads, target: float = 0.15) -> ReportService:
    clock = FixedClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))  # Monday 30 November 2026
    return ReportService(reads, journeys, clock, ReportTargets(target_conversion=target))  # type: ignore[arg-type]


SM = Actor(1, "sm@council.test", frozenset({"service_manager"}))
TM = Actor(2, "tm@council.test", frozenset({"team_manager"}), frozenset({TEAM_A}))
CW = Actor(3, "cw@council.test", frozenset({"caseworker"}), frozenset({TEAM_A}))
ADMIN = Actor(4, "admin@council.test", frozenset({"admin"}))


def test_target_arithmetic_191_enquiries_at_15_percent_need_29_applications(journeys: WorkflowRegistry) -> None:
    # One council's year: 191 enquiries, 23 applications. 15% of 191 is 28.65: 29 applications meet it.
    reads = FakeReads(
        {
            ("foster_carer_approval", "enquiry"): (191, 191),
            ("foster_carer_approval", "application"): (23, 20),
            ("foster_carer_approval", "approval"): (22, 10),
        }
    )
    r = service(journeys, reads).report(SM, "funnel", journey="foster_carer_approval")
    assert r.data["target_conversion"] == 0.15
    assert r.data["enquiries"] == 191
    assert r.data["applications_needed_for_target"] == 29
    assert r.data["applications_short_of_target"] == 6
    assert r.data["conversion"]["enquiry_to_application"] == pytest.approx(23 / 191)
    target = {row["measure"]: row["value"] for row in r.table("target").rows}
    assert target["More applications needed"] == 6


def test_a_target_already_met_is_short_by_none_and_the_setting_is_used(journeys: WorkflowRegistry) -> None:
    reads = FakeReads(
        {("foster_carer_approval", "enquiry"): (100, 100), ("foster_carer_approval", "application"): (30, 30)}
    )
    r = service(journeys, reads, target=0.2).report(SM, "funnel", journey="foster_carer_approval")
    assert (r.data["applications_needed_for_target"], r.data["applications_short_of_target"]) == (20, 0)


def test_the_headline_is_mainstream_fostering_with_connected_persons_beside_it(journeys: WorkflowRegistry) -> None:
    reads = FakeReads(
        {
            ("foster_carer_approval", "enquiry"): (100, 100),
            ("connected_person_approval", "enquiry"): (40, 40),
            ("foster_carer_approval", "application"): (10, 10),
            ("connected_person_approval", "application"): (8, 8),
            ("connected_person_approval", "assessment"): (30, 30),
        }
    )
    r = service(journeys, reads).report(SM, "funnel")
    # Connected persons are not recruited by enquiry: their 30 assessments after 8 applications would
    # make a conversion over 100% if added in. The target is mainstream's: 15% of 100 is 15.
    assert r.data["headline"] == "foster_carer_approval"
    assert (r.data["enquiries"], r.data["applications"]) == (100, 10)
    assert (r.data["applications_needed_for_target"], r.data["applications_short_of_target"]) == (15, 5)
    connected = {s["step"]: s["count"] for s in r.data["workflows"]["connected_person_approval"]["steps"]}
    assert (connected["enquiry"], connected["application"], connected["assessment"]) == (40, 8, 30)
    assert {t.key for t in r.tables} >= {"steps_mainstream", "steps_connected_persons", "target", "durations"}
    only = service(journeys, reads).report(SM, "funnel", journey="connected_person_approval")
    assert (only.data["headline"], only.data["enquiries"]) == ("connected_person_approval", 40)


def test_default_period_is_the_financial_year_to_the_as_of_day(journeys: WorkflowRegistry) -> None:
    reads = FakeReads()
    svc = service(journeys, reads)
    r = svc.report(SM, "funnel")
    assert (r.period, r.as_of) == (Period(D("2026-04-01"), D("2026-11-30")), D("2026-11-30"))
    assert r.period.label == "1 Apr 2026 to 30 Nov 2026"
    r = svc.report(SM, "funnel", as_of=D("2026-03-31"))  # the last day of 2025-26: that whole year
    assert r.period == Period(D("2025-04-01"), D("2026-03-31"))
    assert r.period.label == "2025-26"
    r = svc.report(SM, "funnel", as_of=D("2026-04-01"))  # the first day of a year: that day alone
    assert r.period == Period(D("2026-04-01"), D("2026-04-01"))
    r = svc.report(SM, "funnel", start=D("2025-01-01"))  # a start alone: to the end of its financial year
    assert r.period == Period(D("2025-01-01"), D("2025-03-31"))
    r = svc.report(SM, "funnel", start=D("2026-01-01"), end=D("2027-01-01"))  # clipped to the as-of day
    assert r.period == Period(D("2026-01-01"), D("2026-11-30"))


def test_scorecard_period_is_three_years_to_the_last_31_march(journeys: WorkflowRegistry) -> None:
    r = service(journeys, FakeReads()).report(SM, "scorecard")
    assert r.period == Period(D("2023-04-01"), D("2026-03-31"))
    assert r.data["thresholds"] == {"a1_days": 426, "a10_days": 426, "a2_days": 121}
    assert r.data["children"] == []
    assert r.data["averages"] == {"a1_days": None, "a10_days": None, "a2_days": None}


def test_scope_team_manager_sees_their_teams_service_manager_everything(journeys: WorkflowRegistry) -> None:
    reads = FakeReads()
    svc = service(journeys, reads)
    svc.report(TM, "compliance")
    svc.report(SM, "compliance")
    svc.report(SM, "compliance", team="Team B")
    assert [teams for _, _, teams, _ in reads.asked] == [frozenset({TEAM_A}), None, frozenset({TEAM_B})]


def test_refusals(journeys: WorkflowRegistry) -> None:
    svc = service(journeys, FakeReads())
    with pytest.raises(NotPermitted, match="needs role team_manager or service_manager"):
        svc.report(CW, "funnel")
    with pytest.raises(NotPermitted, match="administrators manage the system"):
        svc.report(ADMIN, "caseload")
    with pytest.raises(NotPermitted, match="neither theirs nor in one of their teams"):
        svc.report(TM, "funnel", team="Team B")
    with pytest.raises(NotPermitted, match="belong to no team"):
        svc.report(Actor(5, "tm0@council.test", frozenset({"team_manager"})), "funnel")


def test_bad_input_names_what_is_wrong(journeys: WorkflowRegistry) -> None:
    svc = service(journeys, FakeReads())
    with pytest.raises(InvalidInput, match="unknown report 'leaks'; use one of: funnel, adopters"):
        svc.report(SM, "leaks")
    with pytest.raises(InvalidInput, match=r"ends \(2026-05-01\) before it starts \(2026-06-01\)"):
        svc.report(SM, "funnel", start=D("2026-06-01"), end=D("2026-05-01"))
    with pytest.raises(InvalidInput, match="is in the future"):
        svc.report(SM, "funnel", as_of=D("2026-12-01"))
    with pytest.raises(InvalidInput, match="after the as-of date"):
        svc.report(SM, "funnel", start=D("2026-11-01"), as_of=D("2026-10-01"))
    with pytest.raises(NotFound, match="no team 'Team C'"):
        svc.report(SM, "funnel", team="Team C")
    with pytest.raises(UnknownWorkflow, match="unknown workflow 'fostering'"):
        svc.report(SM, "compliance", journey="fostering")
    with pytest.raises(InvalidInput, match="covers foster_carer_approval, connected_person_approval"):
        svc.report(SM, "funnel", journey="child_adoption_pathway")
    with pytest.raises(UnknownWorkflow):
        svc.stages(SM, "fostering")


def test_compliance_adds_up_rules_teams_and_workers(journeys: WorkflowRegistry) -> None:
    reads = FakeReads()

    def row(rule: str, team: str, owner: str, due: int, on_time: int, late: Mapping[int, int]) -> DeadlineCount:
        n_late = sum(late.values())
        return DeadlineCount(
            "foster_carer_approval", rule, team, owner, due, on_time, n_late, due - on_time, 0, 0, 0, dict(late)
        )

    reads.deadline_rows = [
        row("FS2", "A", "x@c", 4, 2, {3: 1, 5: 1}),
        row("FS2", "A", "y@c", 2, 1, {10: 1}),
        row("FS1", "A", "x@c", 3, 3, {}),
    ]
    r = service(journeys, reads).report(SM, "compliance", journey="foster_carer_approval")
    rules = {row["rule"]: row for row in r.data["rules"]}
    assert (rules["FS2"]["due"], rules["FS2"]["met_on_time"], rules["FS2"]["met_late"]) == (6, 3, 3)
    assert (rules["FS2"]["late_days_median"], rules["FS2"]["late_days_max"]) == (5, 10)  # 3, 5, 10
    assert rules["FS2"]["rate_on_time"] == pytest.approx(0.5)
    assert rules["FS2"]["label"] == "Initial home visit after an enquiry"
    workers = {(w["team"], w["worker"]): w["due"] for w in r.data["workers"]}
    assert workers == {("A", "x@c"): 7, ("A", "y@c"): 2}
    assert [(t["team"], t["due"], t["met_on_time"]) for t in r.data["teams"]] == [("A", 9, 6)]


def test_lateness_quantiles_from_a_histogram() -> None:
    # 1, 1, 1, 3, 3, 5, 9, 20: median (3 + 3) / 2, 90th percentile the 8th value by nearest rank.
    assert weighted_quantiles({1: 3, 3: 2, 5: 1, 9: 1, 20: 1}) == Quantiles(8, 3.0, 20.0, 20.0)
    assert weighted_quantiles({}) == Quantiles(0, None, None, None)
    assert weighted_quantiles({4: 1}) == Quantiles(1, 4.0, 4.0, 4.0)
    c = DeadlineCount("j", "R", None, None, 1, 0, 1, 1, 0, 0, 0, {2: 1})
    assert combine([c, c], lambda x: (x.journey, x.rule, None, None))[0].late == {2: 2}
