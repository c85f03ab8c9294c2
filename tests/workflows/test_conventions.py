"""The counting conventions the law leaves open, each tested with both values.

Care Planning, Placement and Case Review (England) Regulations 2010, reg 24 (16 weeks of
temporary approval); Adoption and Children Act 2002, s.42(2) (ten weeks' residence); Fostering
Services (England) Regulations 2011, reg 27 (28 days from the qualifying determination letter).

A convention changes a deadline's due date and, where a guard counts the same period, the
first day the guarded move is allowed; both always agree (docs/conventions.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carepath.config.settings import Settings
from carepath.engine.clock import FixedClock
from carepath.engine.conventions import DEFAULT_CONVENTIONS
from carepath.engine.errors import GuardFailed
from carepath.workflows.loader import load_registry
from tests.conftest import make_app
from tests.workflows.helpers import PANEL, Walker, panel_steps, step

_REGISTRIES: dict[tuple[str, str], object] = {}


def walker_with(name: str, value: str, sqlite_url: str, clock: FixedClock) -> Iterator[Walker]:
    key = (name, value)
    if key not in _REGISTRIES:
        _REGISTRIES[key] = load_registry(conventions={name: value})
    app = make_app(sqlite_url, clock, _REGISTRIES[key])  # type: ignore[arg-type]
    yield Walker(app, clock)
    app.dispose()


@pytest.fixture
def reg24(request: pytest.FixtureRequest, sqlite_url: str, clock: FixedClock) -> Iterator[Walker]:
    yield from walker_with("reg24_expiry", request.param, sqlite_url, clock)


@pytest.fixture
def ten_weeks(request: pytest.FixtureRequest, sqlite_url: str, clock: FixedClock) -> Iterator[Walker]:
    yield from walker_with("placement_ten_weeks", request.param, sqlite_url, clock)


@pytest.fixture
def qd_window(request: pytest.FixtureRequest, sqlite_url: str, clock: FixedClock) -> Iterator[Walker]:
    yield from walker_with("fostering_qd_window", request.param, sqlite_url, clock)


def test_defaults_are_documented_values() -> None:
    assert DEFAULT_CONVENTIONS == {
        "reg24_expiry": "after",
        "placement_ten_weeks": "after",
        "fostering_qd_window": "after",
    }


def test_a_convention_is_set_by_a_json_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPATH_CONVENTIONS", '{"reg24_expiry": "beginning_with"}')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.conventions == {"reg24_expiry": "beginning_with"}
    registry = load_registry(conventions=settings.conventions)
    rule = next(r for r in registry.latest("connected_person_approval").definition.deadlines if r.name == "REG24")
    assert rule.counting == "beginning_with"
    rule = next(r for r in registry.latest("child_adoption_pathway").definition.deadlines if r.name == "CS20")
    assert rule.counting == "after"  # the others keep their defaults


@pytest.mark.parametrize(
    ("reg24", "expires", "extended"),
    [("after", "2026-05-04", "2026-06-29"), ("beginning_with", "2026-05-03", "2026-06-28")],
    indirect=["reg24"],
)
def test_reg24_expiry_day(reg24: Walker, expires: str, extended: str) -> None:
    w = reg24
    w.open("connected_person_approval", "2026-01-05")
    w.fire("grant_temporary_approval", "2026-01-12", "nominated_officer", reg24_approved_on="2026-01-12")
    assert w.due("REG24") == expires  # "after": first day no longer covered; "beginning_with": last day covered
    w.fire(
        "extend_temporary_approval",
        "2026-04-20",
        "nominated_officer",
        reg24_extended_to="2026-06-28",
        reg24_panel_views_on="2026-04-15",
        iro_informed_on="2026-04-15",
    )
    assert w.due("REG24X") == extended


@pytest.mark.parametrize(
    ("ten_weeks", "eligible"),
    [("after", "2026-03-23"), ("beginning_with", "2026-03-22")],
    indirect=["ten_weeks"],
)
def test_placement_day_and_the_ten_weeks(ten_weeks: Walker, eligible: str) -> None:
    w = ten_weeks
    w.open("child_adoption_pathway", "2025-03-03")
    w.walk(
        [
            step("record_first_cla_review", "2025-03-28", first_cla_review_on="2025-03-28"),
            step("start_permanence_planning", "2025-04-01"),
            step("agree_adoption_plan", "2025-06-20", adoption_plan_agreed_on="2025-06-20", legal_route="consent"),
            step("start_cpr", "2025-06-23"),
            step("record_health_report", "2025-06-24", child_health_report_on="2025-06-24"),
            step("record_parents_counselled", "2025-06-25", parents_counselled_on="2025-06-25"),
            step("complete_cpr", "2025-06-26", cpr_completed_on="2025-06-26"),
            step("refer_cpr_to_panel", "2025-06-27", "team_manager", cpr_authorised_on="2025-06-27"),
            step("book_sbp_panel", "2025-06-30", "panel_coordinator", panel_date="2025-07-16"),
            step(
                "record_sbp_recommendation",
                "2025-07-16",
                "panel_coordinator",
                sbp_panel_held_on="2025-07-16",
                sbp_recommendation="should_be_placed",
                sbp_panel_members=PANEL,
            ),
            step("record_sbp_final_minutes", "2025-07-18", "panel_coordinator", sbp_minutes_received_on="2025-07-18"),
            step("decide_should_be_placed", "2025-07-22", "agency_decision_maker"),
            step("record_consent", "2025-08-01", authority_to_place_on="2025-08-01"),
            step("start_family_finding", "2025-08-04"),
            step("record_link", "2025-10-01", linked_on="2025-10-01", adopter_case_ref="external:VAA-TEST/PA-1"),
            step("record_support_assessment", "2025-10-02", adoption_support_assessed_on="2025-10-02"),
            step("refer_match_to_panel", "2025-10-03", "team_manager", placement_report_authorised_on="2025-10-03"),
            step("book_match_panel", "2025-10-06", "panel_coordinator", panel_date="2025-11-05"),
            step(
                "record_match_recommendation",
                "2025-11-05",
                "panel_coordinator",
                match_panel_held_on="2025-11-05",
                match_recommendation="match",
                match_panel_members=PANEL,
            ),
            step(
                "record_match_final_minutes", "2025-11-07", "panel_coordinator", match_minutes_received_on="2025-11-07"
            ),
            step("decide_match", "2025-11-11", "agency_decision_maker"),
            step("place_for_adoption", "2026-01-12", placed_on="2026-01-12", placement_plan_agreed_on="2026-01-05"),
        ]
    )
    assert w.due("CS20") == eligible
    day_before = f"2026-03-{int(eligible[-2:]) - 1:02d}"
    with pytest.raises(GuardFailed, match=f"allowed from {eligible}"):
        w.fire("confirm_ten_weeks", day_before)
    assert w.fire("confirm_ten_weeks", eligible).state == "eligible_to_apply"


@pytest.mark.parametrize(
    ("qd_window", "closes", "final_from"),
    [("after", "2026-03-03", "2026-03-04"), ("beginning_with", "2026-03-02", "2026-03-03")],
    indirect=["qd_window"],
)
def test_fostering_qd_window(qd_window: Walker, closes: str, final_from: str) -> None:
    w = qd_window
    w.open("foster_carer_approval", "2025-09-01")
    w.walk(
        [
            step("send_information", "2025-09-02"),
            step("hold_initial_visit", "2025-09-05"),
            step("accept_application", "2025-09-08", "team_manager", application_received_on="2025-09-08"),
            step("start_assessment", "2025-09-09", "team_manager"),
            step("complete_report", "2025-12-01", report_completed_on="2025-12-01", report_type="brief"),
            step("share_report", "2025-12-02", report_shared_on="2025-12-02"),
            step("authorise_report", "2025-12-03", "team_manager", report_authorised_on="2025-12-03"),
            *panel_steps(
                booked="2025-12-04",
                papers="2026-01-07",
                held="2026-01-14",
                minutes="2026-01-19",
                recommendation="not_suitable",
            ),
            step("propose_not_to_approve", "2026-01-26", "agency_decision_maker"),
            step("send_qd_letter", "2026-02-03", qd_sent_on="2026-02-03"),
        ]
    )
    assert w.due("FS7") == closes  # 28 days from Tue 3 Feb, across the end of February
    with pytest.raises(GuardFailed, match=f"allowed from {final_from}"):
        w.fire("confirm_not_approved", closes, "agency_decision_maker")
    assert w.fire("confirm_not_approved", final_from, "agency_decision_maker").state == "not_approved"
