"""How long a CLI command takes from exec to exit, against a bare ``python -c pass`` (issue 9 point 6).

    .venv/bin/python bench/startup.py                      # 15 rounds on a freshly seeded demo database
    .venv/bin/python bench/startup.py --rounds 5           # a smoke run
    .venv/bin/python bench/startup.py --db /tmp/demo.db    # reuse a seeded SQLite database (no seeding)
    .venv/bin/python bench/startup.py --pythonpath DIR     # time another tree: DIR/carepath/<package> symlinks

Without ``--db`` the bench builds a SQLite demo database in a temporary folder
(``carepath db upgrade`` then ``carepath demo seed``, default sizes). Every command runs as a
subprocess, as a person runs it, with ``CAREPATH_DATABASE_URL`` pointing at that file and
``CAREPATH_USER`` the demo's service manager (who may read every case):

- ``python -c pass``: the interpreter starting and stopping (the baseline);
- ``carepath --help``: the console script, the CLI's imports and the help text, no database;
- ``carepath case show REF``: the whole read as the console script does it: the quick path
  (config/quick.py: the manifest, ``sqlite3``, the user, the case with its owner and team, its
  people, printing; no SQLAlchemy, Typer or pydantic);
- ``case show REF (full CLI)``: the same read through the full CLI (``entrypoints.common.main``:
  settings, journeys, Typer, SQLAlchemy), as every command that is not a quick read runs;
- ``carepath case list``: a page of 50 cases, through the full CLI.

Each command runs once before timing, so the journeys' cache (workflows/cache.py, in a temporary
folder) and the bytecode cache are warm: the rounds measure the steady state a person sees. The
bytecode goes to a temporary ``PYTHONPYCACHEPREFIX`` (an installed carepath has its ``.pyc``
files; ``PYTHONDONTWRITEBYTECODE`` in the environment would compile every carepath module on
every run); ``--compile`` keeps the environment's setting instead. A round runs the five commands in a shuffled
order; each command's wall time is divided by the baseline's in the same round (paired rounds,
because a shared machine drifts by about 30%), then min / median / max over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CAREPATH = str(BIN / "carepath")
READER = "sam.servicemanager@demo.carepath.invalid"
#: The full CLI, as the console script runs every command that is not a quick read.
FULL_CLI = "from carepath.entrypoints.common import main; main()"


def run(args: list[str], env: dict[str, str], check_output: bool = False) -> str:
    """Run ``args``; its stdout. Fails loudly: a command that errors would time nothing useful."""
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def seed(db: Path, env: dict[str, str]) -> None:
    """A demo caseload in ``db``, through the CLI as a person would build it."""
    started = time.perf_counter()
    run([CAREPATH, "db", "upgrade"], env)
    run([CAREPATH, "demo", "seed"], env)
    print(f"seeded {db} in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def timed(args: list[str], env: dict[str, str]) -> float:
    """Wall time of one subprocess run, exec to exit, its output discarded."""
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    return elapsed


def summary(values: list[float], fmt: str) -> str:
    """``min / median / max`` of ``values``."""
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--db", type=Path, help="a seeded SQLite database (default: seed one in a temporary folder)")
    parser.add_argument("--pythonpath", type=Path, help="put DIR first on PYTHONPATH (carepath from another tree)")
    parser.add_argument("--compile", action="store_true", help="keep the environment's PYTHONDONTWRITEBYTECODE")
    parser.add_argument("--json", action="store_true", help="print the raw times as JSON too")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="carepath-startup-") as tmp:
        db = opts.db or Path(tmp) / "demo.db"
        # A person's environment: the database and the user, no other carepath setting.
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CAREPATH_")}
        env.update({"CAREPATH_DATABASE_URL": f"sqlite:///{db.resolve()}", "CAREPATH_USER": READER})
        env["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        if not opts.compile:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        if opts.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(opts.pythonpath), env.get("PYTHONPATH")]))
        if opts.db is None:
            seed(db, env)
        ref = json.loads(run([CAREPATH, "case", "list", "--json", "--limit", "1"], env))["items"][0]["ref"]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "carepath --help": [CAREPATH, "--help"],
            f"carepath case show {ref}": [CAREPATH, "case", "show", ref],
            "case show REF (full CLI)": [sys.executable, "-c", FULL_CLI, "case", "show", ref],
            "carepath case list": [CAREPATH, "case", "list"],
        }
        for args in commands.values():  # warm: the page cache, and the journeys' cache
            timed(args, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(opts.rounds):
            order = list(commands)
            random.shuffle(order)
            for name in order:
                times[name].append(timed(commands[name], env))

    base = times["python -c pass"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{opts.rounds} paired rounds; Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the end; bytecode {'as the environment says' if opts.compile else 'cached'}"
    )
    print(f"{'command':<36} {'wall time, s (min / median / max)':<36} ratio to python -c pass (min / median / max)")
    for name, values in times.items():
        ratios = [v / b for v, b in zip(values, base, strict=True)]
        print(f"{name:<36} {summary(values, '{:.3f}'):<36} {summary(ratios, '{:.1f}x')}")
    if opts.json:
        print(json.dumps(times))


if __name__ == "__main__":
    main()
