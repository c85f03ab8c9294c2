"""Refresh the web app's compiled front-end assets (run by hand; see CONTRIBUTING.md, "Front-end assets").

    .venv/bin/python scripts/refresh_assets.py            # resolve, install, compile, replace static/
    .venv/bin/python scripts/refresh_assets.py --check    # the same, but only report what would change

In a temporary folder it installs, with npm, GOV.UK Frontend at the version govuk-frontend-jinja
targets, the newest MOJ Frontend 11.x that accepts that GOV.UK Frontend (its peer range), and Sass
1.x; compiles entrypoints/web/assets/carepath.scss into one minified stylesheet; and writes
entrypoints/web/static/:

    carepath.css              GOV.UK + MOJ Frontend and carepath's few rules, system fonts
    govuk-frontend.min.js     the packages' ES module bundles, byte for byte
    moj-frontend.min.js
    init.js                   from assets/: adds the govuk-frontend-supported class, calls both initAll()
    images/                   the images the stylesheet names (never the crown or the crest),
                              carepath's own favicon.svg and a favicon.ico drawn from the same shape
    VERSIONS.txt              exact versions, npm integrity hashes, sha256 of every file written

No GDS Transport font files are copied and the stylesheet must not name the font: the script stops
with an error if it does. static/ is built aside and swapped in whole, so a failed run leaves the
committed files as they were. Node and npm are needed only here: `make run` serves what is committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "entrypoints" / "web"
ASSETS = WEB / "assets"
STATIC = WEB / "static"

#: govuk-frontend-jinja 4.1.0 (the version carepath renders with) targets GOV.UK Frontend 6.3.0.
GOVUK_FRONTEND = "6.3.0"
MOJ_FRONTEND_MAJOR = "11"
SASS_MAJOR = "1"
#: Images the packages ship that carepath must never serve: the Royal Arms and the crown are for
#: central government only, and the GOV.UK icons are the crown.
FORBIDDEN_IMAGE = re.compile(r"crest|crown|govuk-icon|govuk-opengraph|moj-logotype|apple-touch|favicon", re.I)
BLUE = (0x1D, 0x70, 0xB8)


class RefreshError(Exception):
    """One line saying what went wrong; nothing in static/ has been touched."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="build aside and report differences only")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="carepath-assets-") as tmp:
            work = Path(tmp)
            versions = install(work)
            staged = work / "static"
            build(work, staged, versions)
            if args.check:
                return report_differences(staged, STATIC)
            replace(staged, STATIC)
    except RefreshError as exc:
        say(f"refresh_assets: {exc}", err=True)
        return 1
    say(f"refresh_assets: wrote {STATIC.relative_to(ROOT)} ({', '.join(f'{k} {v}' for k, v in versions.items())})")
    return 0


def say(line: str, err: bool = False) -> None:
    (sys.stderr if err else sys.stdout).write(line + "\n")


def run(cmd: list[str], cwd: Path) -> str:
    """Run a command; its stderr becomes the error's one line when it fails."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise RefreshError(f"{cmd[0]} is not installed (Node.js 20+ with npm is needed to refresh assets)") from exc
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise RefreshError(f"`{' '.join(cmd)}` failed: {last}")
    if done.stderr.strip():
        say(done.stderr.rstrip(), err=True)
    return done.stdout


def newest_moj_frontend(work: Path) -> str:
    """The newest MOJ Frontend of the pinned major whose govuk-frontend peer range is ^6."""
    raw = run(
        ["npm", "view", f"@ministryofjustice/frontend@{MOJ_FRONTEND_MAJOR}", "version", "peerDependencies", "--json"],
        work,
    )
    found = json.loads(raw)
    rows = found if isinstance(found, list) else [found]
    govuk_major = GOVUK_FRONTEND.split(".")[0]
    fitting = [
        str(row["version"])
        for row in rows
        if str(row.get("peerDependencies", {}).get("govuk-frontend", "")).lstrip("^~>= ").split(".")[0] == govuk_major
    ]
    if not fitting:
        raise RefreshError(
            f"no @ministryofjustice/frontend {MOJ_FRONTEND_MAJOR}.x accepts govuk-frontend {GOVUK_FRONTEND}"
        )
    return max(fitting, key=lambda v: tuple(int(p) for p in v.split("-")[0].split(".")))


def install(work: Path) -> dict[str, str]:
    """npm install the three packages into ``work``; returns package -> exact version."""
    (work / "package.json").write_text('{"name": "carepath-assets", "private": true}\n')
    moj = newest_moj_frontend(work)
    wanted = [f"govuk-frontend@{GOVUK_FRONTEND}", f"@ministryofjustice/frontend@{moj}", f"sass@{SASS_MAJOR}"]
    # --ignore-scripts: nothing here needs an install script (sass is pure JavaScript).
    run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact", *wanted], work)
    lock = json.loads((work / "package-lock.json").read_text())["packages"]
    names = ["govuk-frontend", "@ministryofjustice/frontend", "sass"]
    return {name: lock[f"node_modules/{name}"]["version"] for name in names}


def build(work: Path, out: Path, versions: dict[str, str]) -> None:
    """Compile the stylesheet and gather scripts and images into ``out``."""
    out.mkdir()
    (out / "images").mkdir()
    shutil.copy(ASSETS / "carepath.scss", work / "carepath.scss")
    # MOJ Frontend loads "node_modules/govuk-frontend/..." from the load path: the install folder.
    sass = str(work / "node_modules" / ".bin" / "sass")
    cmd = [sass, "--pkg-importer=node", "--load-path=.", "--quiet-deps", "--style=compressed", "--no-source-map"]
    run([*cmd, "carepath.scss", str(out / "carepath.css")], work)
    css = (out / "carepath.css").read_text()
    if "GDS Transport" in css or "@font-face" in css:
        raise RefreshError("carepath.css names GDS Transport or declares a font face; check assets/carepath.scss")
    govuk = work / "node_modules" / "govuk-frontend" / "dist" / "govuk"
    moj = work / "node_modules" / "@ministryofjustice" / "frontend" / "moj"
    shutil.copy(govuk / "govuk-frontend.min.js", out / "govuk-frontend.min.js")
    shutil.copy(moj / "moj-frontend.min.js", out / "moj-frontend.min.js")
    shutil.copy(ASSETS / "init.js", out / "init.js")
    copy_images(css, [govuk / "assets" / "images", moj / "assets" / "images"], out / "images")
    shutil.copy(ASSETS / "favicon.svg", out / "images" / "favicon.svg")
    (out / "images" / "favicon.ico").write_bytes(favicon_ico())
    write_versions(work, out, versions)


def copy_images(css: str, sources: list[Path], dest: Path) -> None:
    """Copy each image the stylesheet names, except the forbidden ones (never used by carepath)."""
    names = sorted(set(re.findall(r"url\(\"?/static/images/([^\")]+)\"?\)", css)))
    for name in names:
        if FORBIDDEN_IMAGE.search(name):
            say(f"refresh_assets: not copying {name} (crown, crest or GOV.UK branding)", err=True)
            continue
        found = [folder / name for folder in sources if (folder / name).is_file()]
        if not found:
            raise RefreshError(f"carepath.css names /static/images/{name}, which neither package ships")
        shutil.copy(found[0], dest / name)


def write_versions(work: Path, out: Path, versions: dict[str, str]) -> None:
    lock = json.loads((work / "package-lock.json").read_text())["packages"]
    lines = [
        "# Written by scripts/refresh_assets.py: do not edit. npm integrity is the registry tarball's hash.",
        *(f"{name} {version} {lock[f'node_modules/{name}']['integrity']}" for name, version in versions.items()),
        f"node {run(['node', '--version'], work).strip()}",
        f"npm {run(['npm', '--version'], work).strip()}",
        "",
        "# sha256 of each file written",
    ]
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(out).as_posix()}")
    (out / "VERSIONS.txt").write_text("\n".join(lines) + "\n")


def favicon_ico() -> bytes:
    """favicon.svg's shape at 32x32 (a white open ring on carepath blue), as a PNG inside an ICO."""
    size, rows = 32, []
    for y in range(size):
        row = bytearray([0])  # PNG filter: none
        for x in range(size):
            dx, dy = x + 0.5 - 16, y + 0.5 - 16
            ring = 7.0 <= (dx * dx + dy * dy) ** 0.5 <= 11.0 and not (dx > 0 and abs(dy) < dx * 0.7)
            row += bytes((255, 255, 255, 255) if ring else (*BLUE, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


def report_differences(staged: Path, current: Path) -> int:
    """Print the files a refresh would add, change or remove; 1 if any."""
    new = {p.relative_to(staged): p.read_bytes() for p in staged.rglob("*") if p.is_file()}
    old = (
        {p.relative_to(current): p.read_bytes() for p in current.rglob("*") if p.is_file()} if current.exists() else {}
    )
    changed = sorted(str(k) for k in new.keys() | old.keys() if new.get(k) != old.get(k))
    for name in changed:
        say(f"would change: {name}")
    say("refresh_assets: static/ is up to date" if not changed else f"refresh_assets: {len(changed)} file(s) differ")
    return 1 if changed else 0


def replace(staged: Path, current: Path) -> None:
    """Swap the new folder in whole: copied beside the old one, then two renames."""
    new, old = current.with_name(current.name + ".new"), current.with_name(current.name + ".old")
    for leftover in (new, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(staged, new)  # the slow part, beside the live folder: a failure leaves it as it was
    if current.exists():
        current.rename(old)
    new.rename(current)
    if old.exists():
        shutil.rmtree(old)


if __name__ == "__main__":
    sys.exit(main())
