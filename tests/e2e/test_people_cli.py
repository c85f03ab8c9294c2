"""``carepath people`` and ``case show``'s participants, as a person uses them, on a SQLite file.

Bad input is one ``error:`` line and exit 2; ``case show`` lists the people (role, name, date of
birth) and its ``--json`` holds them; a case read never imports rapidfuzz (only a search does).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepath.entrypoints.cli import app as cli
from carepath.entrypoints.common import reset_app
from tests.e2e.test_startup import carepath, loaded

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ADMIN, CW, IRO, OTHER = "admin@council.test", "cw@council.test", "iro@council.test", "b1@council.test"


def run(*args: str, code: int = 0) -> str:
    """``carepath ARGS`` in-process with a fresh app; fails on another exit code."""
    reset_app()
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, f"carepath {' '.join(args)}: {result.output}"
    if code == 2:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("error: "), lines
        assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def ref(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite file, staff in two teams, one sample case of the first team's; its reference."""
    monkeypatch.setenv("CAREPATH_DATABASE_URL", f"sqlite:///{tmp_path / 'carepath.db'}")
    monkeypatch.setenv("CAREPATH_WORKFLOWS_DIR", str(FIXTURES))
    monkeypatch.setenv("CAREPATH_FAKE_NOW", "2026-11-02T09:00:00+00:00")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CAREPATH_USER", raising=False)
    run("db", "upgrade")
    run("users", "add", ADMIN, "--name", "Ada Admin", "--role", "admin")
    for email, role in ((CW, "caseworker"), (IRO, "iro"), (OTHER, "caseworker")):
        run("users", "add", email, "--name", "Staff", "--role", role, "--by", ADMIN)
    run("teams", "add", "North", "--member", CW, "--by", ADMIN)
    run("teams", "add", "South", "--member", OTHER, "--by", ADMIN)
    opened = json.loads(run("case", "open", "sample", "--by", CW, "--team", "North", "--owner", CW, "--json"))
    yield opened["ref"]
    reset_app()


def test_add_show_find_and_case_show(ref: str) -> None:
    out = run(
        "people", "add", "--case", ref, "--role", "child", "--given", "Zebediah", "--family", "Quillfeather",
        "--born", "2015-03-01", "--sex", "male", "--ethnicity", "wbri", "--contact", "1 Acacia Avenue", "--by", CW,
    )  # fmt: skip
    assert out.strip() == f"added person 1 to {ref} as child"
    anne = ["--role", "birth-parent", "--given", "Anne", "--family", "Quillfeather", "--by", CW, "--json"]
    added = json.loads(run("people", "add", "--case", ref, *anne))
    assert added == {"id": 2, "ref": ref, "role": "birth_parent"}

    shown = run("case", "show", ref, "--by", CW)
    lines = [line.split() for line in shown.splitlines() if line.startswith("  person")]
    assert lines == [
        ["person", "child", "Zebediah", "Quillfeather", "born", "2015-03-01", "(person", "1)"],
        ["person", "birth_parent", "Anne", "Quillfeather", "born", "-", "(person", "2)"],
    ]
    data = json.loads(run("case", "show", ref, "--by", CW, "--json"))
    assert data["participants"][0] == {
        "role": "child",
        "person": {
            "id": 1,
            "given_names": "Zebediah",
            "family_name": "Quillfeather",
            "born_on": "2015-03-01",
            "sex": "male",
            "ethnicity": "WBRI",
            "contact": "1 Acacia Avenue",
        },
    }
    assert [p["role"] for p in data["participants"]] == ["child", "birth_parent"]

    person = json.loads(run("people", "show", "1", "--by", IRO, "--json"))
    assert person["family_name"] == "Quillfeather"
    assert person["cases"] == [{"ref": ref, "role": "child", "workflow": "sample", "status": "open"}]
    assert "White British" in run("people", "show", "1", "--by", CW)

    found = json.loads(run("people", "find", "zebedia quilfether", "--by", CW, "--json"))
    assert [i["id"] for i in found["items"]][:1] == [1]
    assert found["total_exact"] is True
    by_day = json.loads(run("people", "find", "--born", "2015-03-01", "--by", CW, "--json"))
    assert [(i["id"], i["score"]) for i in by_day["items"]] == [(1, 100)]
    assert "showing 1 of 1" in run("people", "find", "--born", "2015-03-01", "--by", CW)
    assert "WBRI" in run("people", "codes")

    second = json.loads(run("case", "open", "sample", "--by", CW, "--team", "North", "--json"))["ref"]
    assert run("people", "link", "1", "--case", second, "--role", "child", "--by", CW).strip() == (
        f"linked person 1 to {second} as child"
    )


def test_refusals_are_one_line(ref: str) -> None:
    run("people", "add", "--case", ref, "--role", "child", "--given", "Zeb", "--family", "Q", "--by", CW)
    base = ["people", "add", "--case", ref, "--role", "child", "--given", "A", "--family", "B", "--by", CW]
    assert "in the future" in run(*base, "--born", "2026-11-03", code=2)
    assert "not a date" in run(*base, "--born", "2015-02-30", code=2)
    assert "before 1900" in run(*base, "--born", "0001-01-01", code=2)
    assert "unknown sex" in run(*base, "--sex", "m", code=2)
    assert "did you mean 'WBRI'" in run(*base, "--ethnicity", "WBR", code=2)
    assert "one line" in run(*base, "--contact", "a\r\nBcc: x@evil.example", code=2)
    assert "longer than 100" in run(*base[:-4], "--family", "x" * 120_000, "--by", CW, code=2)
    assert "unknown role" in run(*base[:4], "--role", "kid", *base[6:], code=2)
    assert "no case" in run(*base[:2], "--case", "NO-2026-9999", *base[4:], code=2)
    assert "may not person.add" in run(*base[:-1], OTHER, code=2)
    assert "administrators manage the system" in run("people", "show", "1", "--by", ADMIN, code=2)
    assert "may not person.read" in run("people", "show", "1", "--by", OTHER, code=2)
    assert "no person 99" in run("people", "show", "99", "--by", CW, code=2)
    assert "search by a name" in run("people", "find", "--by", CW, code=2)
    assert "cursor" in run("people", "find", "Zeb", "--after", "x~y", "--by", CW, code=2)
    for number in ("0", "99999999999999999999", "x"):  # click's checks (one line through main, not here)
        assert CliRunner().invoke(cli, ["people", "show", number, "--by", CW]).exit_code == 2
    assert "(nobody) may not" in run(*base[:-2], code=2)


def test_case_show_with_people_imports_no_rapidfuzz(tmp_path: Path, ref: str) -> None:
    run("people", "add", "--case", ref, "--role", "child", "--given", "Zebediah", "--family", "Quillfeather",
        "--by", CW)  # fmt: skip
    cache = tmp_path / "cache"
    shown, modules = carepath(tmp_path, "case", "show", ref, "--by", CW, cache_home=cache)
    assert shown.returncode == 0, shown.stderr
    assert "Zebediah Quillfeather" in shown.stdout
    assert loaded(modules, ("rapidfuzz", "jinja2", "carepath.notifications", "alembic")) == []
    found, modules = carepath(tmp_path, "people", "find", "Quilfether", "--by", CW, cache_home=cache)
    assert found.returncode == 0, found.stderr
    assert "Zebediah Quillfeather" in found.stdout
    assert loaded(modules, ("rapidfuzz",)) == ["rapidfuzz"]  # the search pays for it
