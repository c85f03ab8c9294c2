"""bench/web.py runs end to end at its smallest size and prints its table (timings are not checked).

A person runs the bench as a script: a demo seed of about 100 cases, the web app under uvicorn,
sign-in as the caseworker and the team manager, one warm-up and one kept round of two requests
per page against the same read models in-process. Its temporary files go when it ends.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "web.py"
PAGES = ("My work (caseworker)", "case page (", "team page (team manager)", "HTTP floor: a static file")


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPATH_")}
    env["TMPDIR"] = str(tmp_path)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def test_the_smallest_run_prints_a_row_per_page_and_leaves_no_files(tmp_path: Path) -> None:
    done = _run(tmp_path, "--cases", "100", "--rounds", "1", "--requests", "2")

    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert re.match(r"\| \d[\d,]* cases \|", rows[0]), done.stdout  # the header names the caseload's size
    for page in PAGES:
        assert any(row.startswith(f"| {page}") for row in rows), f"no row for {page!r} in:\n{done.stdout}"
    assert not list(tmp_path.glob("carepath-web-*"))


def test_a_database_url_that_is_not_a_sqlite_file_is_refused_in_one_line(tmp_path: Path) -> None:
    done = _run(tmp_path, "--database-url", "postgresql://localhost/carepath")

    assert done.returncode == 2
    assert done.stderr.strip() == (
        "bench/web.py: --database-url must be sqlite:///<an existing file>, not 'postgresql://localhost/carepath'"
    )
    assert not list(tmp_path.glob("carepath-web-*"))
