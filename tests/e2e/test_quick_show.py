"""The quick ``carepath case show`` (issue 9 point 6) prints what the full command prints, or stands aside.

The full command runs through Typer and SQLAlchemy (``entrypoints.cli``); the quick one through
``entrypoints.quick.run`` on ``sqlite3`` with the manifest the full start wrote (config/quick.py).
On a demo caseload with people added, every case is shown both ways as each kind of user, text and
JSON, refusals included, and the outputs and exit codes must be the same. Then each condition under
which the quick path must hand over to the full command (``run`` answers ``None``), and a process of
its own: the console script reads a case without importing SQLAlchemy, Typer or pydantic.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepath.config import quick as quick_config
from carepath.config.bootstrap import App, load_registry
from carepath.config.settings import Settings
from carepath.engine.clock import FixedClock
from carepath.entrypoints import quick
from carepath.entrypoints.cli import app as cli
from carepath.entrypoints.common import reset_app
from carepath.entrypoints.demo.seeding import seed
from carepath.storage.db import make_engine

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DOMAIN = "demo.carepath.invalid"
SERVICE_MANAGER = f"sam.servicemanager@{DOMAIN}"
CASEWORKER = f"amy.caseworker@{DOMAIN}"
#: Who reads: every case (service manager), some (a caseworker, a team manager), people's details or
#: not (a panel coordinator, a decision maker), and no one at all.
READERS = (
    SERVICE_MANAGER,
    CASEWORKER,
    f"tom.teammanager@{DOMAIN}",
    f"pat.panelcoordinator@{DOMAIN}",
    f"dora.agencydecisionmaker@{DOMAIN}",
    "nobody@council.test",
    "not an email",
)


@dataclass
class Demo:
    url: str
    env: dict[str, str]
    refs: list[str]
    cwd: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A small demo caseload in a SQLite file, more people on three of its cases, and the manifest written by a
    full ``carepath`` start in this environment."""
    tmp = tmp_path_factory.mktemp("quick")
    url = f"sqlite:///{tmp / 'demo.db'}"
    journeys = load_registry()
    built = App(settings=Settings(database_url=url), clock=FixedClock(NOW), engine=make_engine(url), workflows=journeys)
    try:
        built.migrate()
        assert not seed(built, households=14, children=5, seed_value=5).problems
    finally:
        built.dispose()
    env = {"CAREPATH_DATABASE_URL": url, "XDG_CACHE_HOME": str(tmp / "cache")}
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.upper().startswith("CAREPATH_")]:
            mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        mp.chdir(tmp)
        reset_app()
        refs = _refs(url)
        people = (
            ("applicant", "Zoë", "O'Brien-Ålund", "1980-02-29", "female", "WBRI", "07700 900123"),
            ("applicant", "Ade", "Okafor", None, None, None, None),
            ("household_member", "Kim", "okafor", "2009-06-01", "not_stated", None, None),
        )
        for ref in refs[:3]:
            for role, given, family, born, sex, ethnicity, contact in people:
                args = ["people", "add", "--case", ref, "--role", role, "--given", given, "--family", family]
                for option, value in (
                    ("--born", born),
                    ("--sex", sex),
                    ("--ethnicity", ethnicity),
                    ("--contact", contact),
                ):
                    if value is not None:
                        args += [option, value]
                code, out, err = _full(*args, "--by", SERVICE_MANAGER)
                assert code == 0, (args, out, err)
        yield Demo(url, env, refs, tmp)
        reset_app()


def _refs(url: str) -> list[str]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return [r[0] for r in db.execute('SELECT ref FROM "case" ORDER BY id')]


def _full(*args: str) -> tuple[int, str, str]:
    """The full ``carepath ARGS`` in this process (Typer, SQLAlchemy): exit code, stdout, stderr."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _quick(
    demo: Demo, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[int, str, str] | None:
    """``entrypoints.quick.run`` on ``args``: exit code, stdout, stderr; ``None`` if it stood aside."""
    out, err = io.StringIO(), io.StringIO()
    code = quick.run(list(args), demo.env if env is None else env, cwd or demo.cwd, out, err)
    return None if code is None else (code, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("reader", READERS)
def test_every_case_reads_the_same_both_ways(demo: Demo, reader: str) -> None:
    refs = demo.refs if reader == SERVICE_MANAGER else demo.refs[:: max(1, len(demo.refs) // 25)]
    outcomes = set()
    for ref in [*refs, "NO-SUCH-1", "pa-2026-0001", ""]:
        for fmt in ([], ["--json"]):
            args = ("case", "show", ref, "--by", reader, *fmt)
            fast = _quick(demo, *args)
            assert fast is not None, args
            assert fast == _full(*args), args
            outcomes.add(fast[0])
    assert 0 in outcomes or reader in ("nobody@council.test", "not an email")


def test_people_and_every_field_print_the_same(demo: Demo) -> None:
    for fmt in ([], ["--json"]):
        fast = _quick(demo, "case", "show", demo.refs[0], "--by", SERVICE_MANAGER, *fmt)
        assert fast is not None
        assert fast == _full("case", "show", demo.refs[0], "--by", SERVICE_MANAGER, *fmt)
    shown = json.loads(fast[1])
    ours = {"O'Brien-Ålund", "Okafor", "okafor"}  # the demo seeds the case's own people beside these
    added = [p for p in shown["participants"] if p["person"]["family_name"] in ours]
    assert [(p["role"], p["person"]["family_name"]) for p in added] == [
        ("applicant", "O'Brien-Ålund"),
        ("applicant", "Okafor"),
        ("household_member", "okafor"),
    ]
    assert added[0]["person"]["born_on"] == "1980-02-29"
    assert len(shown["participants"]) > len(added)


def test_options_in_any_order_and_the_acting_user_from_the_environment(demo: Demo) -> None:
    ref = demo.refs[1]
    expected = _full("case", "show", ref, "--by", SERVICE_MANAGER, "--json")
    assert _quick(demo, "case", "show", "--json", f"--by={SERVICE_MANAGER}", ref) == expected
    env = {**demo.env, "CAREPATH_USER": SERVICE_MANAGER}
    assert _quick(demo, "case", "show", ref, "--json", env=env) == expected
    nobody = _quick(demo, "case", "show", ref)
    assert nobody is not None
    assert "name the acting user" in nobody[2]
    assert nobody == _full("case", "show", ref)


@pytest.mark.parametrize(
    "args",
    [
        ("case", "show"),
        ("case", "show", "--help"),
        ("case", "show", "A", "B"),
        ("case", "show", "A", "--by"),
        ("case", "show", "A", "--by", "--json"),
        ("case", "show", "A", "--json", "--json"),
        ("case", "show", "A", "--by", "x@y.test", "--by", "z@y.test"),
        ("case", "show", "-x"),
        ("case", "list"),
        ("case", "history", "A"),
        ("--help",),
    ],
)
def test_commands_and_options_it_does_not_know_go_to_the_full_cli(demo: Demo, args: tuple[str, ...]) -> None:
    assert _quick(demo, *args) is None


def test_it_stands_aside_when_it_cannot_read_what_the_full_cli_would(demo: Demo, tmp_path: Path) -> None:
    args = ("case", "show", demo.refs[0], "--by", SERVICE_MANAGER)
    assert _quick(demo, *args) is not None
    # a setting it does not read (the full CLI validates every one), in any letter case
    for name in ("CAREPATH_FAKE_NOW", "carepath_smtp__host", "CAREPATH_WORKFLOWS_DIR"):
        assert _quick(demo, *args, env={**demo.env, name: "x"}) is None, name
    # a .env file the full CLI would read
    (tmp_path / ".env").write_text("CAREPATH_USER=someone@council.test\n")
    assert _quick(demo, *args, cwd=tmp_path) is None
    # PostgreSQL, an in-memory database, a file that is not there
    for url in ("postgresql://postgres@127.0.0.1/test", "sqlite://", f"sqlite:///{tmp_path / 'missing.db'}"):
        assert _quick(demo, *args, env={**demo.env, "CAREPATH_DATABASE_URL": url}) is None, url
    assert not (tmp_path / "missing.db").exists()
    # no manifest for this code yet
    assert _quick(demo, *args, env={**demo.env, "XDG_CACHE_HOME": str(tmp_path / "empty")}) is None


def test_a_database_at_another_revision_goes_to_the_full_cli(demo: Demo, tmp_path: Path) -> None:
    copy = tmp_path / "older.db"
    with sqlite3.connect(demo.url.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
        dst.execute("UPDATE alembic_version SET version_num = '0001'")
    env = {**demo.env, "CAREPATH_DATABASE_URL": f"sqlite:///{copy}"}
    assert _quick(demo, "case", "show", demo.refs[0], "--by", SERVICE_MANAGER, env=env) is None


def test_a_manifest_others_may_write_is_not_read(demo: Demo) -> None:
    folder = Path(demo.env["XDG_CACHE_HOME"]) / "carepath" / "quick"
    args = ("case", "show", demo.refs[0], "--by", SERVICE_MANAGER)
    try:
        folder.chmod(0o777)
        assert _quick(demo, *args) is None
    finally:
        folder.chmod(0o700)
    assert _quick(demo, *args) is not None


def test_the_manifest_name_changes_when_a_source_file_changes(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    source = tmp_path / "engine" / "x.py"
    source.write_text("A = 1\n")
    before = quick_config.signature(tmp_path)
    assert quick_config.signature(tmp_path) == before
    source.write_text("A = 22\n")
    assert quick_config.signature(tmp_path) != before


RUNNER = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["carepath", *sys.argv[2:]]
from carepath.entrypoints.quick import main
main()
"""


def test_the_console_script_reads_a_case_without_sqlalchemy_typer_or_pydantic(demo: Demo, tmp_path: Path) -> None:
    modules = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CAREPATH_")}
    env.update(demo.env)
    args = ["case", "show", demo.refs[0], "--by", SERVICE_MANAGER]
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(modules), *args], env=env, cwd=demo.cwd, capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert (0, done.stdout, "") == _full(*args)
    loaded = {m.split(".")[0] for m in json.loads(modules.read_text())}
    assert loaded & {"sqlalchemy", "typer", "click", "pydantic", "pydantic_settings", "holidays", "yaml"} == set()
    assert "sqlite3" in loaded
