"""Linked cases (issue 10 point 4) through the real case service, on a SQLite file and on PostgreSQL.

A case fact names a case that exists, of the journey it declares, open where it says
``must_be_open``, or a case another agency holds (``external:<AGENCY>/<REF>``) where it says
``external``; a refusal is one line and writes nothing. A child's link with adopters is recorded on
the adopters' case too, in the same transaction, by the same actor, and ended on both; an approval
opens the approved carer's case, linked both ways, with the same owner and team; a case's owner is a
member of its team on every path (open, assign, follow-on).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carepath.engine.clock import FixedClock
from carepath.engine.errors import CaseNotFound, InvalidInput
from carepath.engine.registry import WorkflowRegistry
from carepath.workflows.loader import load_registry
from tests.conftest import make_app
from tests.workflows import test_child_adoption_pathway as child
from tests.workflows import test_foster_carer_approval as fostering
from tests.workflows import test_prospective_adopter_approval as adopters
from tests.workflows.helpers import Walker, step


@pytest.fixture(scope="module")
def journeys() -> WorkflowRegistry:
    return load_registry()


@pytest.fixture
def walker(db_url: str, clock: FixedClock, journeys: WorkflowRegistry) -> Iterator[Walker]:
    app = make_app(db_url, clock, journeys)
    yield Walker(app, clock)
    app.dispose()


def _approved_adopters(w: Walker) -> str:
    """A prospective adopter case approved on 24 July 2026 (open, in ``approved``)."""
    adopters.opened(w)
    w.walk(adopters.TO_ADM)
    w.fire("approve", "2026-07-24", "agency_decision_maker")
    assert w.state == "approved"
    return w.ref


def _child_in_family_finding(w: Walker) -> str:
    """A child's case in family finding since 2 July 2026."""
    child.looked_after(w)
    w.walk(child.REVIEWS + child.PLAN + child.CPR + child.COURT + [step("start_family_finding", "2026-07-02")])
    return w.ref


def _link(w: Walker, child_ref: str, adopters_ref: str, on: str = "2026-08-03") -> None:
    w.ref = child_ref
    w.fire("record_link", on, linked_on=on, adopter_case_ref=adopters_ref)


def _case(w: Walker, ref: str):  # type: ignore[no-untyped-def]
    return w.app.reads.case(ref, w.reader)


def _history(w: Walker, ref: str) -> list[str]:
    w.ref = ref
    return w.history_triggers()


# -- links validated ----------------------------------------------------------------------------------


def test_a_link_to_no_case_a_wrong_journey_or_a_closed_case_is_one_line_and_writes_nothing(walker: Walker) -> None:
    w = walker
    pa = _approved_adopters(w)
    fostering.opened(w)
    fc = w.ref
    ch = _child_in_family_finding(w)
    before = _case(w, ch)
    refusals = {
        "PA-2099-0001": "PA-2099-0001: no such case (adopter_case_ref)",
        fc.lower(): f"{fc} is a foster carer approval case, not a prospective adopter approval case (adopter_case_ref)",
        "Jane SMITH": "fact 'adopter_case_ref' may hold only letters",
        "external:VAA": "fact 'adopter_case_ref' must be an external reference external:<AGENCY>/<THEIR-REF>",
    }
    for given, message in refusals.items():
        with pytest.raises(InvalidInput) as refused:
            _link(w, ch, given)
        assert str(refused.value).startswith(message), str(refused.value)
        assert "\n" not in str(refused.value)
    after = _case(w, ch)
    assert (after.state, after.version, after.last_seq) == (before.state, before.version, before.last_seq)
    assert "adopter_case_ref" not in after.facts
    assert _history(w, pa)[-1] == "approve"  # the adopters' case was not touched either


def test_a_closed_case_is_refused_where_the_fact_needs_an_open_one(walker: Walker) -> None:
    w = walker
    adopters.opened(w)
    pa = w.ref
    w.withdraw("WITHDRAWN_BY_APPLICANT", "2026-02-02")
    ch = _child_in_family_finding(w)
    with pytest.raises(InvalidInput, match=f"^{pa} is closed \\(adopter_case_ref needs an open case\\)$"):
        _link(w, ch, pa)


def test_an_external_reference_is_taken_only_where_the_journey_allows_it(walker: Walker) -> None:
    w = walker
    ch = _child_in_family_finding(w)
    _link(w, ch, "External:vaa-north/a-1234")
    assert _case(w, ch).facts["adopter_case_ref"] == "external:VAA-NORTH/A-1234"
    # The approved carer's case follows a case held here, never another agency's.
    with pytest.raises(InvalidInput, match="external reference is not accepted"):
        w.open("approved_foster_carer", "2026-08-03", follows="external:IFA-ONE/123", household_name="The Ones")


# -- a match, both ways ---------------------------------------------------------------------------------


def test_a_link_is_recorded_on_the_adopters_case_by_the_same_actor_and_ended_on_both(walker: Walker) -> None:
    w = walker
    pa = _approved_adopters(w)
    ch = _child_in_family_finding(w)
    pa_before = _case(w, pa)
    _link(w, ch, pa.lower())  # any letter case finds it; stored as the case's reference
    assert _case(w, ch).facts["adopter_case_ref"] == pa
    pa_after = _case(w, pa)
    assert pa_after.facts["child_case_ref"] == ch
    assert (pa_after.state, pa_after.version) == ("approved", pa_before.version + 1)
    w.ref = pa
    last = w.history()[-1]
    assert (last.trigger, last.from_state, last.to_state) == ("update", "approved", "approved")
    assert last.actor_id == w.actor("caseworker").id  # the child's caseworker, who made the link
    assert last.payload["linked_from"] == ch
    assert last.payload["by"] == "record_link"
    assert last.effective_on.isoformat() == "2026-08-03"

    w.ref = ch
    w.fire("end_link", "2026-08-20")
    assert _case(w, ch).facts["adopter_case_ref"] is None
    assert _case(w, pa).facts["child_case_ref"] is None
    assert _history(w, pa)[-2:] == ["update", "update"]
    # Replay gives the same facts as the stored row (the update events are folded like any move).
    w.ref = ch
    w.walk([step("record_link", "2026-09-01", linked_on="2026-09-01", adopter_case_ref=pa)])
    assert _case(w, pa).facts["child_case_ref"] == ch


def test_the_adopters_record_of_the_match_links_the_child_back(walker: Walker) -> None:
    w = walker
    ch = _child_in_family_finding(w)
    pa = _approved_adopters(w)
    w.fire("record_match", "2026-09-01", matched_on="2026-09-01", child_case_ref=ch)
    assert _case(w, ch).facts["adopter_case_ref"] == pa
    assert _history(w, ch)[-1] == "update"
    w.ref = pa
    w.fire("end_match", "2026-09-10", match_ended_on="2026-09-10")
    assert _case(w, pa).facts["child_case_ref"] is None
    assert _case(w, ch).facts["adopter_case_ref"] is None


# -- approval opens the approved carer's case ---------------------------------------------------------


def test_approval_opens_the_approved_carers_case_linked_both_ways(walker: Walker) -> None:
    w = walker
    fostering.opened(w)
    fc = w.ref
    w.walk(fostering.READY + fostering.PANEL_JUNE)
    opened_fc = _case(w, fc)
    w.fire("approve", "2026-06-19", "agency_decision_maker", approval_terms="2 children aged 0-10")
    approved = _case(w, fc)
    af_ref = approved.facts["followed_by"]
    assert af_ref.startswith("AF-2026-")
    af = _case(w, af_ref)
    assert (af.workflow_id, af.state, af.status, af.opened_on.isoformat()) == (
        "approved_foster_carer",
        "approval_decided",
        "open",
        "2026-06-19",
    )
    assert (af.owner_id, af.team_id) == (opened_fc.owner_id, opened_fc.team_id)
    assert af.facts["follows"] == fc
    assert af.facts["approval_terms"] == "2 children aged 0-10"
    w.ref = af_ref
    (first,) = w.history()
    assert first.trigger == "open"
    assert first.actor_id == w.actor("agency_decision_maker").id
    assert first.payload["follows"] == fc


def test_an_approval_whose_owner_left_the_team_is_refused_and_nothing_is_written(walker: Walker) -> None:
    w = walker
    fostering.opened(w)
    fc = w.ref
    w.walk(fostering.READY + fostering.PANEL_JUNE)
    before = _case(w, fc)
    w.app.people.deactivate("cw@carepath.test", "admin@carepath.test")
    with pytest.raises(InvalidInput, match=f"^{fc} cannot open its approved foster carer case: .*assign {fc} first$"):
        w.fire("approve", "2026-06-19", "agency_decision_maker", approval_terms="1 child")
    after = _case(w, fc)
    assert (after.state, after.version, after.last_seq) == ("awaiting_adm", before.version, before.last_seq)
    with pytest.raises(CaseNotFound):
        _case(w, "AF-2026-0001")  # no follow-on either, and its number was not used up


# -- owner and team agree, on every path ---------------------------------------------------------------


def test_the_owner_of_a_new_or_reassigned_case_is_a_member_of_its_team(walker: Walker) -> None:
    w = walker
    app = w.app
    app.people.add_user("other@carepath.test", "Other", ["caseworker"], "admin@carepath.test")
    other_team = app.people.add_team("Elsewhere", "admin@carepath.test", members=["other@carepath.test"])
    other = app.directory.actor("other@carepath.test")
    sm = w.actor("service_manager")
    with pytest.raises(InvalidInput, match="is not an active member of team"):
        app.cases.open_case("child_adoption_pathway", sm, owner_id=other.id, team_id=w.team_id)
    ch = _child_in_family_finding(w)
    with pytest.raises(InvalidInput, match="is not an active member of team"):
        app.cases.assign(ch, sm, owner_id=other.id)
    with pytest.raises(InvalidInput, match="is not an active member of team"):
        app.cases.assign(ch, sm, team_id=other_team)
    moved = app.cases.assign(ch, sm, owner_id=other.id, team_id=other_team)
    assert (moved.owner_id, moved.team_id) == (other.id, other_team)
