"""Linked cases at the command line (issue 10 point 4): a bad link is one ``error:`` line, exit 2,
and nothing written; a good one, or another agency's case in the external form, is stored and the
adopters' case records the child back; an approval's follow-on case shows on both cases.

On the shipped journeys, a SQLite file and PostgreSQL (``db_url``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_bad_input import ADMIN, BY_ADMIN, CW, TM, Cli, ok, one_error, table_counts
from tests.e2e.test_typed_facts import WORKFLOWS, _cli, _env
from tests.workflows import test_child_adoption_pathway as child
from tests.workflows.helpers import Step, step

ADM = "adm@council.test"
BY_CW = ("--by", CW)
ROLE_EMAIL = {"caseworker": CW, "team_manager": TM, "agency_decision_maker": ADM}


def _fire(cli: Cli, ref: str, s: Step) -> None:
    sets = [a for k, v in s.facts.items() for a in ("--set", f"{k}={v}")]
    ok(cli, "case", "fire", ref, s.trigger, "--on", s.on, *sets, "--by", ROLE_EMAIL[s.by])


def _show(cli: Cli, ref: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(ok(cli, "case", "show", ref, "--json", *BY_CW))
    return shown


@pytest.fixture
def linked(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """CH-2026-0001 in family finding; PA-2026-0001 (open) and PA-2026-0002 (withdrawn); FC-2026-0001."""
    _env(monkeypatch, db_url, WORKFLOWS)
    for cli in _cli(capsys):
        ok(cli, "users", "add", ADMIN, "--name", "Ada Admin", "--role", "admin")
        ok(cli, "users", "add", CW, "--name", "Cee Worker", "--role", "caseworker", *BY_ADMIN)
        ok(cli, "users", "add", TM, "--name", "Tee Manager", "--role", "team_manager", *BY_ADMIN)
        ok(cli, "users", "add", ADM, "--name", "Ay Dee", "--role", "agency_decision_maker", *BY_ADMIN)
        ok(cli, "teams", "add", "East", "--manager", TM, "--member", CW, "--member", TM, *BY_ADMIN)
        team = ("--team", "East", *BY_CW)
        ok(cli, "case", "open", "child_adoption_pathway", "--on", "2026-01-05", "--set", "child_name=Kay", *team)
        path = child.REVIEWS + child.PLAN + child.CPR + child.COURT + [step("start_family_finding", "2026-07-02")]
        for s in path:
            _fire(cli, "CH-2026-0001", s)
        ok(cli, "case", "open", "prospective_adopter_approval", "--on", "2026-01-05", *team)
        ok(cli, "case", "open", "prospective_adopter_approval", "--on", "2026-01-05", *team)
        ok(cli, "case", "withdraw", "PA-2026-0002", "--reason", "WITHDRAWN_BY_APPLICANT", *BY_CW)
        ok(cli, "case", "open", "foster_carer_approval", "--on", "2026-01-05", *team)
        yield cli


REFUSED = [
    ("PA-2099-0001", "error: PA-2099-0001: no such case (adopter_case_ref)"),
    (
        "fc-2026-0001",
        "error: FC-2026-0001 is a foster carer approval case, not a prospective adopter approval case "
        "(adopter_case_ref)",
    ),
    ("PA-2026-0002", "error: PA-2026-0002 is closed (adopter_case_ref needs an open case)"),
    (
        "external:VAA NORTH/1",
        "error: fact 'adopter_case_ref' must be an external reference external:<AGENCY>/<THEIR-REF> "
        "(like external:VAA-NORTH/A-1234)",
    ),
]


@pytest.mark.parametrize(("given", "message"), REFUSED)
def test_a_bad_link_is_one_line_and_writes_nothing(linked: Cli, db_url: str, given: str, message: str) -> None:
    before = table_counts(db_url)
    args = ("case", "fire", "CH-2026-0001", "record_link", "--set", "linked_on=2026-08-03")
    line = one_error(linked(*args, "--set", f"adopter_case_ref={given}", *BY_CW))
    assert line == message
    assert table_counts(db_url) == before


def test_a_link_shows_on_both_cases_and_an_external_one_on_the_childs_only(linked: Cli) -> None:
    args = ("case", "fire", "CH-2026-0001", "record_link", "--set", "linked_on=2026-08-03", *BY_CW)
    ok(linked, *args, "--set", "adopter_case_ref=pa-2026-0001")
    assert _show(linked, "CH-2026-0001")["facts"]["adopter_case_ref"] == "PA-2026-0001"
    assert _show(linked, "PA-2026-0001")["facts"]["child_case_ref"] == "CH-2026-0001"
    history = json.loads(ok(linked, "case", "history", "PA-2026-0001", "--json", *BY_CW))
    last = history["items"][-1] if isinstance(history, dict) else history[-1]
    assert last["trigger"] == "update"
    ok(linked, "case", "fire", "CH-2026-0001", "end_link", *BY_CW)
    assert _show(linked, "PA-2026-0001")["facts"]["child_case_ref"] is None
    ok(linked, *args, "--set", "adopter_case_ref=external:vaa-north/a-1234")
    assert _show(linked, "CH-2026-0001")["facts"]["adopter_case_ref"] == "external:VAA-NORTH/A-1234"


def test_the_follow_on_link_is_the_approval_cases_own(linked: Cli) -> None:
    line = one_error(
        linked(
            "case",
            "open",
            "approved_foster_carer",
            "--team",
            "East",
            "--set",
            "follows=CH-2026-0001",
            *BY_CW,
        )
    )
    assert line == (
        "error: CH-2026-0001 is a child's adoption pathway case, not a foster carer approval or "
        "connected person foster carer approval case (follows)"
    )
    line = one_error(
        linked("case", "fire", "FC-2026-0001", "send_information", "--set", "followed_by=AF-2026-0001", *BY_CW)
    )
    assert line.startswith("error: fact 'followed_by' is not recorded by send_information")  # carepath records it
