"""A CLI read pays only for what it uses (issue 9 point 6): what ``carepath case show`` imports.

The command runs in a process of its own, as a person runs it, through the console script's
``main``; on exit the process writes the names in ``sys.modules`` to a file. The database is
set up in this process (the sample journey, a caseworker, one case). Timings are for
bench/startup.py, never for tests: these check behaviour, which modules a read loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepath.entrypoints.cli import app
from carepath.entrypoints.common import reset_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ADMIN = "admin@council.test"
CW = "cw@council.test"
#: Run ``carepath ARGV...`` as the console script does; on exit, write every imported module's name to FILE.
RUNNER = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["carepath", *sys.argv[2:]]
from carepath.entrypoints.common import main
main()
"""
#: Never on a case read: migrations, templates, the scheduler, SMTP, the ORM layer, the mail side.
NOT_ON_A_READ = (
    "alembic",
    "mako",
    "jinja2",
    "apscheduler",
    "aiosmtpd",
    "aiosmtplib",
    "sqlmodel",
    "carepath.notifications",
    "carepath.storage.migrate",
)
#: Not once the journeys' cache is warm: YAML and the loader's pydantic models.
NOT_WHEN_CACHED = ("yaml", "carepath.workflows.loader")


@pytest.fixture
def case_ref(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite file with one sample case opened by ``CW``; its reference."""
    monkeypatch.setenv("CAREPATH_DATABASE_URL", f"sqlite:///{tmp_path / 'carepath.db'}")
    monkeypatch.setenv("CAREPATH_WORKFLOWS_DIR", str(FIXTURES))
    monkeypatch.setenv("CAREPATH_FAKE_NOW", "2026-11-02T09:00:00+00:00")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "setup-cache"))
    monkeypatch.delenv("CAREPATH_USER", raising=False)
    runner = CliRunner()

    def run(*args: str) -> str:
        reset_app()
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (args, result.output)
        return result.stdout

    run("db", "upgrade")
    run("users", "add", ADMIN, "--name", "Ada Admin", "--role", "admin")
    run("users", "add", CW, "--name", "Cee Worker", "--role", "caseworker", "--by", ADMIN)
    run("teams", "add", "Fostering East", "--member", CW, "--by", ADMIN)
    opened = json.loads(run("case", "open", "sample", "--by", CW, "--team", "Fostering East", "--json"))
    yield opened["ref"]
    reset_app()


def carepath(tmp_path: Path, *args: str, cache_home: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``carepath ARGS`` in a new process with ``XDG_CACHE_HOME=cache_home``; the result and the modules it imported."""
    modules = tmp_path / "modules.json"
    modules.unlink(missing_ok=True)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(modules), *args], env=env, capture_output=True, text=True, check=False
    )
    return done, set(json.loads(modules.read_text()))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The packages among ``names`` of which ``modules`` holds the package or a submodule."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_case_show_imports_no_migrations_templates_scheduler_or_smtp(tmp_path: Path, case_ref: str) -> None:
    cache = tmp_path / "cache"
    cold, cold_modules = carepath(tmp_path, "case", "show", case_ref, "--by", CW, cache_home=cache)
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.startswith(f"{case_ref}  sample v1"), cold.stdout
    assert loaded(cold_modules, NOT_ON_A_READ) == []
    assert "yaml" in cold_modules  # the first run parsed the journey, and kept it

    warm, warm_modules = carepath(tmp_path, "case", "show", case_ref, "--by", CW, cache_home=cache)
    assert (warm.returncode, warm.stdout, warm.stderr) == (0, cold.stdout, "")
    assert loaded(warm_modules, NOT_ON_A_READ + NOT_WHEN_CACHED) == []
    assert "sqlalchemy" in warm_modules  # the check sees real imports: the read itself is there


def test_case_list_imports_no_migrations_templates_scheduler_or_smtp(tmp_path: Path, case_ref: str) -> None:
    cache = tmp_path / "cache"
    carepath(tmp_path, "workflows", "list", cache_home=cache)  # warms the cache
    done, modules = carepath(tmp_path, "case", "list", "--by", CW, cache_home=cache)
    assert done.returncode == 0, done.stderr
    assert case_ref in done.stdout
    assert loaded(modules, NOT_ON_A_READ + NOT_WHEN_CACHED) == []


def test_help_imports_no_database_layer(tmp_path: Path) -> None:
    for args in (["--help"], ["case", "show", "--help"]):
        done, modules = carepath(tmp_path, *args, cache_home=tmp_path / "cache")
        assert done.returncode == 0, done.stderr
        assert "Usage:" in done.stdout
        assert loaded(modules, (*NOT_ON_A_READ, *NOT_WHEN_CACHED, "sqlalchemy", "carepath.storage")) == []


def test_a_cache_that_cannot_be_used_costs_nothing_but_time(tmp_path: Path, case_ref: str) -> None:
    """``XDG_CACHE_HOME`` naming a file: the journeys are parsed every time, with no traceback."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be\n")
    first, _ = carepath(tmp_path, "case", "show", case_ref, "--by", CW, cache_home=blocked)
    second, modules = carepath(tmp_path, "case", "show", case_ref, "--by", CW, cache_home=blocked)
    for done in (first, second):
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        assert done.stdout.startswith(f"{case_ref}  sample v1")
    assert "yaml" in modules  # nothing was cached: parsed again
    assert blocked.read_text() == "a file where the cache folder would be\n"
