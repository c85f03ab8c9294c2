"""``carepath users set-password | first-admin | tokens`` and ``carepath case viewers``, as a person uses them.

In-process on a SQLite file with a fixed clock; argon2id with cheap parameters. A refusal is one
``error:`` line and exit 2, and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from carepath.config import passwords
from carepath.engine.services.accounts import SignInRefused
from carepath.entrypoints.cli import app as cli
from carepath.entrypoints.common import get_app, reset_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ADMIN, CW, TM = "admin@council.test", "cw@council.test", "tm@council.test"
PASSWORD = "correct horse battery"


def invoke(*args: str, stdin: str | None = None, code: int = 0) -> Result:
    """``carepath ARGS`` in-process with a fresh app; fails on another exit code."""
    reset_app()
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert result.exit_code == code, f"carepath {' '.join(args)}: {result.output}"
    if code == 2:
        lines = result.output.strip().splitlines()
        assert lines[-1].startswith("error: "), lines
        assert [line for line in lines if line.startswith("error: ")] == lines[-1:]
        assert "Traceback" not in result.output
    return result


def signs_in(email: str, password: str) -> bool:
    reset_app()
    try:
        get_app().accounts.sign_in(email, password, client="127.0.0.1")
    except SignInRefused:
        return False
    return True


@pytest.fixture(autouse=True)
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A migrated SQLite file with an administrator (no password yet), a caseworker and a team manager."""
    monkeypatch.setattr(passwords, "PARAMETERS", passwords.CHEAP)
    monkeypatch.setenv("CAREPATH_DATABASE_URL", f"sqlite:///{tmp_path / 'carepath.db'}")
    monkeypatch.setenv("CAREPATH_WORKFLOWS_DIR", str(FIXTURES))
    monkeypatch.setenv("CAREPATH_FAKE_NOW", "2026-11-02T09:00:00+00:00")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CAREPATH_USER", raising=False)
    invoke("db", "upgrade")
    invoke("users", "add", ADMIN, "--name", "Ada Admin", "--role", "admin")
    invoke("users", "add", CW, "--name", "Cas Worker", "--role", "caseworker", "--by", ADMIN)
    invoke("users", "add", TM, "--name", "Tim Manager", "--role", "team_manager", "--by", ADMIN)
    invoke("teams", "add", "North", "--member", CW, "--manager", TM, "--by", ADMIN)
    yield
    reset_app()


def test_first_admin_once(tmp_path: Path) -> None:
    out = invoke("users", "first-admin", ADMIN, "--name", "Ada Admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert out.stdout.strip() == f"{ADMIN} is an administrator; sign in at http://localhost:8000"
    assert signs_in(ADMIN, PASSWORD)
    args = ("users", "first-admin", "new@council.test", "--name", "New", "--password-stdin")
    refused = invoke(*args, stdin=PASSWORD, code=2)
    assert "an administrator who can sign in exists" in refused.output
    assert not signs_in("new@council.test", PASSWORD)


def test_set_password_at_a_hidden_prompt_typed_twice() -> None:
    out = invoke("users", "set-password", CW, "--by", CW, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert out.stdout.strip() == f"password set for {CW}; their sessions have ended"
    assert PASSWORD not in out.output  # hidden: never echoed
    assert signs_in(CW, PASSWORD)
    differ = invoke("users", "set-password", CW, "--by", CW, stdin=f"{PASSWORD}\nsomething else!\n", code=2)
    assert "the two passwords typed differ" in differ.output
    assert signs_in(CW, PASSWORD)


def test_set_password_refusals() -> None:
    weak = invoke("users", "set-password", CW, "--by", CW, "--password-stdin", stdin="short\n", code=2)
    assert weak.output.strip() == "error: the password must be at least 12 characters long"
    other = invoke("users", "set-password", CW, "--by", TM, "--password-stdin", stdin=PASSWORD, code=2)
    assert other.output.strip() == f"error: {TM} may not user.set_password: needs role admin"
    invoke("users", "set-password", CW, "--password-stdin", stdin=PASSWORD, code=2)  # nobody named
    assert not signs_in(CW, PASSWORD)
    invoke("users", "set-password", CW, "--by", ADMIN, "--password-stdin", stdin=PASSWORD)
    assert signs_in(CW, PASSWORD)


def test_tokens_issue_list_revoke() -> None:
    issued = invoke("users", "tokens", "issue", "reporting script", "--by", CW)
    raw = issued.stdout.strip()
    assert raw.startswith("cp_")
    reset_app()
    actor = get_app().accounts.token_actor(raw)
    assert actor is not None
    assert actor.email == CW
    listed = json.loads(invoke("users", "tokens", "list", "--by", CW, "--json").stdout)
    [token] = listed["items"]
    assert (token["id"], token["name"], token["revoked_at"]) == (1, "reporting script", None)
    assert raw not in json.dumps(listed)
    assert "(none)" in invoke("users", "tokens", "list", "--by", TM).stdout  # only one's own
    refused = invoke("users", "tokens", "revoke", "1", "--by", TM, code=2)
    assert "the token is not theirs" in refused.output
    assert invoke("users", "tokens", "revoke", "1", "--by", CW).stdout.strip() == "revoked API token 1"
    table = invoke("users", "tokens", "list", "--by", CW).stdout
    assert "2026-11-02 09:00" in table.splitlines()[1]
    invoke("users", "tokens", "revoke", "1", "--by", CW, code=2)
    reset_app()
    assert get_app().accounts.token_actor(raw) is None


def test_case_viewers_for_administrators() -> None:
    opened = json.loads(invoke("case", "open", "sample", "--by", CW, "--team", "North", "--json").stdout)
    ref = opened["ref"]
    reset_app()
    a = get_app()
    a.accounts.record_view(a.directory.actor(CW), ref, "timeline", "web")
    out = invoke("case", "viewers", ref, "--by", ADMIN).stdout
    assert out.splitlines()[1].split() == ["2026-11-02", "09:00", CW, "timeline", "web"]
    assert out.splitlines()[-1] == "showing 1 of 1"
    data = json.loads(invoke("case", "viewers", ref, "--by", ADMIN, "--json").stdout)
    assert data["items"] == [{"viewed_at": "2026-11-02T09:00:00+00:00", "by": CW, "what": "timeline", "via": "web"}]
    refused = invoke("case", "viewers", ref, "--by", CW, code=2)
    assert refused.output.strip() == f"error: {CW} may not case.viewers: needs role admin"
    invoke("case", "viewers", "FC-2026-9999", "--by", ADMIN, code=2)
