"""``carepath people correct`` and ``carepath people unlink`` as a caseworker uses them, on a SQLite file.

A correction shows at once in ``people show``, ``case show`` and ``people find``; an unlink takes the
person off the case's people; bad input and refusals are one ``error:`` line and exit 2, and change
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from carepath.entrypoints.common import reset_app
from tests.e2e.test_people_cli import FIXTURES, run

ADMIN, CW, OTHER = "admin@council.test", "cw@council.test", "b1@council.test"


@pytest.fixture
def refs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A migrated SQLite file, a caseworker in each of two teams, two cases of the first team's, and
    person 1 (a child with every detail) on the first; the two cases' references."""
    monkeypatch.setenv("CAREPATH_DATABASE_URL", f"sqlite:///{tmp_path / 'carepath.db'}")
    monkeypatch.setenv("CAREPATH_WORKFLOWS_DIR", str(FIXTURES))
    monkeypatch.setenv("CAREPATH_FAKE_NOW", "2026-11-02T09:00:00+00:00")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CAREPATH_USER", raising=False)
    run("db", "upgrade")
    run("users", "add", ADMIN, "--name", "Ada Admin", "--role", "admin")
    for email in (CW, OTHER):
        run("users", "add", email, "--name", "Staff", "--role", "caseworker", "--by", ADMIN)
    run("teams", "add", "North", "--member", CW, "--by", ADMIN)
    run("teams", "add", "South", "--member", OTHER, "--by", ADMIN)
    first, second = (
        json.loads(run("case", "open", "sample", "--by", CW, "--team", "North", "--owner", CW, "--json"))["ref"]
        for _ in range(2)
    )
    run("people", "add", "--case", first, "--role", "child", "--given", "Zebediah", "--family", "Quillfeather",
        "--born", "2015-03-01", "--sex", "male", "--ethnicity", "WBRI", "--contact", "1 Acacia Ave",
        "--by", CW)  # fmt: skip
    yield first, second
    reset_app()


def _person(number: str = "1") -> dict[str, object]:
    return dict(json.loads(run("people", "show", number, "--by", CW, "--json")))


def test_correct_then_show_find_and_case_show(refs: tuple[str, str]) -> None:
    first, _ = refs
    out = run("people", "correct", "1", "--family", "Abernethy", "--born", "2015-01-03", "--by", CW)
    assert out.strip() == "corrected person 1: family_name, born_on"
    person = _person()
    assert (person["family_name"], person["born_on"], person["sex"]) == ("Abernethy", "2015-01-03", "male")
    found = json.loads(run("people", "find", "abernathy", "--by", CW, "--json"))
    assert [i["id"] for i in found["items"]] == [1]
    assert json.loads(run("people", "find", "quillfeather", "--by", CW, "--json"))["items"] == []
    shown = run("case", "show", first, "--by", CW)
    assert "Zebediah Abernethy" in shown
    assert "Quillfeather" not in shown

    cleared = json.loads(
        run("people", "correct", "1", "--no-born", "--no-sex", "--no-ethnicity", "--no-contact", "--given", "Zeb",
            "--by", CW, "--json")
    )  # fmt: skip
    assert cleared == {
        "id": 1,
        "given_names": "Zeb",
        "family_name": "Abernethy",
        "born_on": None,
        "sex": None,
        "ethnicity": None,
        "contact": None,
        "changed": ["given_names", "born_on", "sex", "ethnicity", "contact"],
    }
    assert run("people", "correct", "1", "--sex", "Not stated", "--ethnicity", "mwbc", "--by", CW).strip() == (
        "corrected person 1: sex, ethnicity"
    )
    assert (_person()["sex"], _person()["ethnicity"]) == ("not_stated", "MWBC")


def test_unlink_takes_the_person_off_the_case(refs: tuple[str, str]) -> None:
    first, second = refs
    run("people", "link", "1", "--case", second, "--role", "birth-parent", "--by", CW)
    assert run("people", "unlink", "1", "--case", second, "--by", CW).strip() == (
        f"took person 1 off {second} (was birth_parent)"
    )
    assert _person()["cases"] == [{"ref": first, "role": "child", "workflow": "sample", "status": "open"}]
    assert json.loads(run("case", "show", second, "--by", CW, "--json"))["participants"] == []
    assert "only case: link them to the right case first" in run(
        "people", "unlink", "1", "--case", first, "--by", CW, code=2
    )


def test_refusals_are_one_line_and_change_nothing(refs: tuple[str, str]) -> None:
    first, second = refs
    before = _person()
    fix = ["people", "correct", "1", "--by", CW]
    assert "nothing to change" in run(*fix, code=2)
    assert "nothing to change" in run(*fix, "--family", "Quillfeather", "--sex", "male", code=2)
    assert "give --born or --no-born, not both" in run(*fix, "--born", "2015-03-01", "--no-born", code=2)
    assert "give --contact or --no-contact, not both" in run(*fix, "--contact", "x", "--no-contact", code=2)
    assert "--born '2015-02-30' is not a date" in run(*fix, "--born", "2015-02-30", code=2)
    assert "the date of birth is in the future" in run(*fix, "--born", "2026-11-03", code=2)
    assert "the given names" in run(*fix, "--given", " ", code=2)
    assert "unknown sex" in run(*fix, "--sex", "m", code=2)
    assert "did you mean 'WBRI'" in run(*fix, "--ethnicity", "WBR", code=2)
    assert "one line" in run(*fix, "--contact", "a\r\nBcc: x@evil.example", code=2)
    assert "no person 99" in run("people", "correct", "99", "--family", "X", "--by", CW, code=2)
    assert "may not person.correct" in run("people", "correct", "1", "--family", "X", "--by", OTHER, code=2)
    assert "administrators manage the system" in run("people", "correct", "1", "--family", "X", "--by", ADMIN, code=2)
    assert "(nobody) may not act" in run("people", "correct", "1", "--family", "X", code=2)

    assert f"person 1 is not on {second}" in run("people", "unlink", "1", "--case", second, "--by", CW, code=2)
    assert "may not person.unlink" in run("people", "unlink", "1", "--case", first, "--by", OTHER, code=2)
    assert "no case" in run("people", "unlink", "1", "--case", "NO-2026-9999", "--by", CW, code=2)
    assert "no person 99" in run("people", "unlink", "99", "--case", first, "--by", CW, code=2)
    assert _person() == before
