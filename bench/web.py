"""What the web app costs at 100,000 cases: each page through uvicorn and httpx, against its read model.

    .venv/bin/python bench/web.py                        # 100,900 cases, 5 paired rounds of 50 requests
    .venv/bin/python bench/web.py --also-small           # and the same at 1,009 cases (the flat-cost check)
    .venv/bin/python bench/web.py --keep                 # keep the built files; prints the re-run command
    .venv/bin/python bench/web.py --database-url sqlite:////tmp/web-100x.db --rounds 3
    .venv/bin/python bench/web.py --cases 100 --rounds 1 --requests 2   # a smoke run (the demo seed only)

Building (SQLite). The caseload is bench/scale.py's: ``carepath demo seed``'s simulation through the
real services (800 households and 110 children: 1,009 cases), then repeated by
``bench/scale_build.multiply`` to the size asked (100x by default), then ``ANALYZE``. Below 1,009
cases the seed itself is made smaller. The demo's people sign in with the demo's password.

Measuring. One process holds the ``App`` on the scale bench's fixed clock (30 Nov 2026), serves
``create_app(app)`` with uvicorn in a thread on a loopback port, and signs in with httpx as the
caseworker and the team manager. Each round (after one warm-up round not kept), for each page,
``--requests`` times: one GET of the page and one call of the same read model(s) the page's handler
makes, directly in-process, alternating which goes first. The page's rate over the read model's rate
is taken per round (sum of read-model times over sum of page times), then min / median / max over
the rounds; p50 and p95 are over every kept request.

Each page request also records the httpx client's own CPU time (this thread's, same process), so the
table gives the rate without it too. Two floors: a static file, and the case page's own route signed
out (a 303 to sign in: HTTP, middleware, routing, the handler's thread-pool hop and the exception
handler, with no session, query or template). After the rounds the case page's handler is taken apart:
the session lookup, the reads, the read audit insert, the deadline tags, the navigation and the template
render (with the contexts real requests built), each timed alone in a tight loop. Their sum with the
signed-out route is the least a case page can cost on this stack, so reads / (that sum) is the highest
rate the case page could reach against its read model.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import ceil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import httpx  # noqa: E402

from bench.scale import _analyzed, _app, _copy_sqlite  # noqa: E402
from bench.scale_build import multiply  # noqa: E402
from carepath.config.bootstrap import App  # noqa: E402
from carepath.engine.case import Actor  # noqa: E402
from carepath.engine.clock import local_today  # noqa: E402
from carepath.engine.errors import NotPermitted  # noqa: E402
from carepath.entrypoints.demo.org import DEMO_PASSWORD  # noqa: E402
from carepath.entrypoints.demo.seeding import seed  # noqa: E402
from carepath.entrypoints.web.app import create_app  # noqa: E402
from carepath.entrypoints.web.pages import DUE_WITHIN_WORKING_DAYS, PAGE, TEAM_PAGE  # noqa: E402
from carepath.entrypoints.web.serve import served as serve_asgi  # noqa: E402

#: The demo seed's sizes that give the 1,009-case template bench/scale.py multiplies.
HOUSEHOLDS, CHILDREN, TEMPLATE_CASES = 800, 110, 1_009
CASEWORKER = "amy.caseworker@demo.carepath.invalid"
MANAGER = "fiona.teammanager@demo.carepath.invalid"
SERVICE_MANAGER = "sam.servicemanager@demo.carepath.invalid"
#: Below this many open cases the caseworker's tray is not a full page: take the busiest caseworker.
FEW = PAGE
#: How many of the caseworker's cases the case page cycles through.
CASE_SAMPLE = 10
#: Goals (issue 11): p95 of each page under this, and the page at least this share of the read model's rate.
P95_GOAL_MS = 50.0
RATE_GOAL = 0.50


# -- building ------------------------------------------------------------------------------------


@dataclass
class Built:
    """A caseload on disk: its URL, the 1x template's URL, how many cases and refused seed moves."""

    url: str
    template_url: str | None
    problems: list[str] = field(default_factory=list)


def _seed(url: str, households: int, children: int) -> list[str]:
    """The demo seed through the services (as bench/scale.py's template); returns the refused moves."""
    app = _app(url)
    try:
        app.migrate()
        return seed(app, households=households, children=children, seed_value=1).problems
    finally:
        app.dispose()


def _count_cases(url: str) -> int:
    with sqlite3.connect(url.split("///", 1)[1]) as db:
        return int(db.execute('SELECT count(*) FROM "case"').fetchone()[0])


def build(target: int, workdir: Path) -> Built:
    """The SQLite caseload nearest ``target`` cases: the demo seed, multiplied when ``target`` is bigger."""
    started = time.perf_counter()
    households, children = HOUSEHOLDS, CHILDREN
    if target < TEMPLATE_CASES:
        households = max(1, round(HOUSEHOLDS * target / TEMPLATE_CASES))
        children = max(1, round(CHILDREN * target / TEMPLATE_CASES))
    template = workdir / "web-1x.db"
    template_url = f"sqlite:///{template}"
    problems = _seed(template_url, households, children)
    _analyzed(template_url)
    seeded = _count_cases(template_url)
    print(f"  seeded {seeded:,} cases through the services in {time.perf_counter() - started:.0f} s", flush=True)
    if problems:
        print(f"  note: the demo seed's walk had {len(problems)} refused move(s): {problems[0]}", flush=True)
    factor = max(1, round(target / seeded))
    if factor == 1:
        return Built(template_url, None, problems)
    started = time.perf_counter()
    path = workdir / f"web-{factor}x.db"
    url = f"sqlite:///{path}"
    _copy_sqlite(template, path)
    multiply(url, factor)
    _analyzed(url)
    print(f"  multiplied {factor}x and analyzed in {time.perf_counter() - started:.0f} s", flush=True)
    return Built(url, template_url, problems)


# -- who signs in, and what they read ------------------------------------------------------------


@dataclass
class People:
    """The caseworker and the manager of their team, as actors, with the cases the case page cycles."""

    caseworker: Actor
    manager: Actor
    open_cases: int
    refs: list[str]


def _teams(app: App) -> list[Any]:
    return list(app.reads.teams(app.directory.actor(SERVICE_MANAGER), limit=200))


def _open_by_caseworker(app: App) -> dict[str, int]:
    """Open cases per caseworker of the demo's teams (the caseload read the team page makes)."""
    reader = app.directory.actor(SERVICE_MANAGER)
    out: dict[str, int] = {}
    for team in _teams(app):
        for load in app.reads.caseloads(reader, team.id):
            if load.owner and ".caseworker@" in load.owner:
                out[load.owner] = load.open_cases
    return out


def _manager_of(app: App, team_id: int) -> str:
    for team in _teams(app):
        if team.id == team_id and team.manager:
            return str(team.manager)
    raise SystemExit(f"team {team_id} has no manager: is this a demo caseload?")


def people(app: App) -> People:
    """Amy and Fiona, or the busiest caseworker and their team's manager if Amy has under a page of work."""
    try:
        app.directory.actor(CASEWORKER)
        app.directory.actor(MANAGER)
    except Exception as exc:
        raise SystemExit(f"the demo's users are missing ({exc}): build the database with this bench") from exc
    loads = _open_by_caseworker(app)
    email = CASEWORKER
    if loads.get(CASEWORKER, 0) < FEW and loads:
        email = max(loads, key=lambda e: loads[e])
    worker = app.directory.actor(email)
    team_id = min(worker.team_ids)
    manager = app.directory.actor(_manager_of(app, team_id))
    tray = app.reads.tray(worker, owner_id=worker.id, limit=CASE_SAMPLE)
    refs = [item.listing.case.ref for item in tray.items]
    if not refs:
        raise SystemExit(f"{email} has no open case to show")
    return People(worker, manager, loads.get(email, 0), refs)


# -- the pages and their read models -------------------------------------------------------------


@dataclass
class Page:
    """One page: the URL of its i-th request, who asks, and the read-model calls its handler makes."""

    label: str
    client: str  # "caseworker" or "manager"
    path: Callable[[int], str]
    model: Callable[[int], object]
    expect: str  # text every answer holds (checked in the warm-up round)


def my_work_model(app: App, actor: Actor) -> tuple[Any, ...]:
    """What ``pages.my_work`` reads, unfiltered: the tray's first page and the deadlines due soon."""
    today = local_today(app.clock)
    tray = app.reads.tray(actor, owner_id=actor.id, workflow="", state="", statuses=("open", "on_hold"), limit=PAGE)
    until = app.calendar.add_working_days(today, DUE_WITHIN_WORKING_DAYS)
    due = app.reads.deadlines_due(until, actor, owner_id=actor.id, limit=PAGE)
    return tray, due


def case_model(app: App, actor: Actor, ref: str) -> tuple[Any, ...]:
    """What ``pages.case_page`` reads (the read audit insert is the page's own, not a read)."""
    listing = app.reads.case_listing(ref, actor)
    c = listing.case
    deadlines = app.reads.deadlines_of(c, actor)
    actions = app.cases.actions(c, actor) if c.status != "closed" else []
    try:
        people = app.persons.participants(c, actor)
    except NotPermitted:
        people = []
    return listing, deadlines, actions, people


def team_model(app: App, actor: Actor) -> tuple[Any, ...]:
    """What ``pages.team`` reads for the manager's first team."""
    today = local_today(app.clock)
    teams = [t for t in app.reads.teams(actor, limit=200) if t.id in actor.team_ids or "service_manager" in actor.roles]
    chosen = teams[0]
    loads = app.reads.caseloads(actor, chosen.id)
    until = app.calendar.add_working_days(today, DUE_WITHIN_WORKING_DAYS)
    # What pages.team reads (TEAM_PAGE each), so the two sides do the same work.
    due = app.reads.deadlines_due(until, actor, team_id=chosen.id, limit=TEAM_PAGE)
    breaches = app.reads.breaches(actor, today.replace(day=1), today, team_id=chosen.id, limit=TEAM_PAGE)
    return loads, due, breaches


def pages_of(app: App, who: People) -> list[Page]:
    worker, manager, refs = who.caseworker, who.manager, who.refs
    return [
        Page(
            "My work (caseworker)", "caseworker", lambda i: "/my-work", lambda i: my_work_model(app, worker), "My work"
        ),
        Page(
            f"case page ({len(refs)} of the caseworker's cases in turn)",
            "caseworker",
            lambda i: f"/cases/{refs[i % len(refs)]}",
            lambda i: case_model(app, worker, refs[i % len(refs)]),
            "Deadlines",
        ),
        Page("team page (team manager)", "manager", lambda i: "/team", lambda i: team_model(app, manager), "Team"),
    ]


def rows_read(app: App, who: People) -> dict[str, str]:
    """What each page shows, so the table says how much it read."""
    tray, due = my_work_model(app, who.caseworker)
    _, deadlines, actions, people = case_model(app, who.caseworker, who.refs[0])
    loads, team_due, breaches = team_model(app, who.manager)
    return {
        "My work (caseworker)": f"{len(tray.items)} cases, {len(due.items)} deadlines",
        "case page": f"first case: {len(deadlines)} deadlines, {len(actions)} actions, {len(people)} people",
        "team page (team manager)": f"{len(loads)} workers, {len(team_due.items)} due, {len(breaches.items)} breaches",
    }


# -- signing in and serving ----------------------------------------------------------------------


def sign_in(client: httpx.Client, email: str) -> None:
    """Sign in as a person does: the form (its token and cookie), then the post; a 303 means signed in."""
    form = client.get("/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', form.text)
    if form.status_code != 200 or token is None:
        raise SystemExit(f"GET /sign-in answered {form.status_code} without a sign-in token")
    done = client.post(
        "/sign-in", data={"email": email, "password": DEMO_PASSWORD, "sign_in_token": token.group(1), "next": "/"}
    )
    if done.status_code != 303:
        raise SystemExit(f"{email} could not sign in with the demo password (HTTP {done.status_code})")


@contextmanager
def served(app: App, who: People) -> Iterator[tuple[Any, dict[str, httpx.Client]]]:
    """The web app under uvicorn, and an httpx client signed in as each person (kept alive)."""
    with ExitStack() as stack:
        web = create_app(app)
        base = stack.enter_context(serve_asgi(web))
        clients: dict[str, httpx.Client] = {}
        for role, actor in (("caseworker", who.caseworker), ("manager", who.manager)):
            client = stack.enter_context(httpx.Client(base_url=base, follow_redirects=False, timeout=60))
            sign_in(client, actor.email)
            clients[role] = client
        clients["nobody"] = stack.enter_context(httpx.Client(base_url=base, follow_redirects=False, timeout=60))
        yield web, clients


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Samples:
    """Seconds per request, kept rounds only; per-round sums for the rate ratio."""

    page: list[float] = field(default_factory=list)
    model: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    #: The httpx client's own CPU time in each page request (this thread's), and the rate ratio without it.
    client: list[float] = field(default_factory=list)
    server_ratios: list[float] = field(default_factory=list)


def _get(
    client: httpx.Client, path: str, expect: str, check: bool, own: list[float] | None = None, status: int = 200
) -> float:
    """Seconds for one GET, timed in the client; the client thread's own CPU time is added to ``own``."""
    c0, t0 = time.thread_time(), time.perf_counter()
    r = client.get(path)
    took, cpu = time.perf_counter() - t0, time.thread_time() - c0
    if r.status_code != status or (check and expect not in r.text):
        raise SystemExit(f"GET {path} answered {r.status_code}: {r.text[:300]!r}")
    if own is not None:
        own.append(cpu)
    return took


def _call(model: Callable[[int], object], i: int) -> float:
    t0 = time.perf_counter()
    model(i)
    return time.perf_counter() - t0


def measure(pages: list[Page], clients: dict[str, httpx.Client], rounds: int, requests: int) -> dict[str, Samples]:
    """Each page and its read model, ``requests`` times each per round, alternating which goes first."""
    out = {p.label: Samples() for p in pages}
    floor = out.setdefault(FLOOR, Samples())
    signed_out = out.setdefault(SIGNED_OUT, Samples())
    for r in range(rounds + 1):  # round 0 warms caches and is not kept
        for p in pages:
            client = clients[p.client]
            page_s: list[float] = []
            model_s: list[float] = []
            client_s: list[float] = []
            for i in range(requests):
                if (i + r) % 2:
                    page_s.append(_get(client, p.path(i), p.expect, r == 0, client_s))
                    model_s.append(_call(p.model, i))
                else:
                    model_s.append(_call(p.model, i))
                    page_s.append(_get(client, p.path(i), p.expect, r == 0, client_s))
            if r:
                s = out[p.label]
                s.page += page_s
                s.model += model_s
                s.client += client_s
                s.ratios.append(sum(model_s) / sum(page_s))
                s.server_ratios.append(sum(model_s) / (sum(page_s) - sum(client_s)))
        own: list[float] = []
        static = [_get(clients["caseworker"], "/static/carepath.css", "", False, own) for _ in range(requests)]
        if r:
            floor.page += static
            floor.client += own
        own = []
        path = pages[1].path(0)  # the case page's own route, signed out
        bare = [_get(clients["nobody"], path, "", False, own, status=303) for _ in range(requests)]
        if r:
            signed_out.page += bare
            signed_out.client += own
        print(f"  round {r}/{rounds} done" + (" (warm-up, not kept)" if r == 0 else ""), flush=True)
    return out


FLOOR = "HTTP floor: a static file (no session, no template, no query)"
SIGNED_OUT = (
    "the case page's route signed out: 303 to sign in (routing, the handler's thread, "
    "the exception handler; no session, query or template)"
)
FLOORS = (FLOOR, SIGNED_OUT)


def _pct(xs: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile."""
    ordered = sorted(xs)
    return ordered[max(0, ceil(q * len(ordered)) - 1)]


def _ms(x: float) -> str:
    return f"{x * 1000:,.2f}"


def _mmm(ratios: list[float]) -> str:
    ordered = sorted(ratios)
    return " / ".join(f"{x:.0%}" for x in (ordered[0], statistics.median(ordered), ordered[-1]))


def table(cases: int, result: dict[str, Samples], rows: dict[str, str]) -> list[str]:
    lines = [
        f"| {cases:,} cases | page p50 / p95, ms | read model p50 / p95, ms | page rate / read-model rate "
        f"per round, min / median / max | p95 < {P95_GOAL_MS:.0f} ms | rate >= {RATE_GOAL:.0%} "
        "| the client's own CPU per page, p50 ms | rate without the client's CPU, min / median / max |",
        "|---|---:|---:|---:|---|---|---:|---:|",
    ]
    for label, s in result.items():
        page = f"{_ms(_pct(s.page, 0.5))} / {_ms(_pct(s.page, 0.95))}"
        own = _ms(_pct(s.client, 0.5)) if s.client else "-"
        if label in FLOORS:
            lines.append(f"| {label} | {page} | - | - | - | - | {own} | - |")
            continue
        model = f"{_ms(_pct(s.model, 0.5))} / {_ms(_pct(s.model, 0.95))}"
        p95_ok = "met" if _pct(s.page, 0.95) * 1000 < P95_GOAL_MS else "**missed**"
        rate_ok = "met (median)" if statistics.median(s.ratios) >= RATE_GOAL else "**missed**"
        shown = next((v for k, v in rows.items() if label.startswith(k)), "")
        lines.append(
            f"| {label}{f' ({shown})' if shown else ''} | {page} | {model} | {_mmm(s.ratios)} | {p95_ok} "
            f"| {rate_ok} | {own} | {_mmm(s.server_ratios)} |"
        )
    return lines


# -- the case page step by step -------------------------------------------------------------------


def _median_ms(step: Callable[[int], object], calls: int) -> float:
    return statistics.median(_call(step, i) for i in range(calls)) * 1000


def breakdown(app: App, who: People, web: Any, client: httpx.Client, calls: int) -> dict[str, float]:
    """The case page's handler, step by step, each step alone in a loop (median ms of ``calls``).

    The steps are what ``pages.case_page`` does besides HTTP: the session lookup (the signed cookie and
    its statement), the reads (the read model), the read audit insert, the deadline tags, the
    navigation with its badge, and the template render given the context the handler built (captured
    from real requests). Each alone in a tight loop is cheaper than inside a request, so their sum is a
    floor, not the page's cost.
    """
    from carepath.entrypoints.web import present
    from carepath.entrypoints.web.pages import _with_badges, nav_for
    from carepath.entrypoints.web.session import SESSION_COOKIE

    worker, refs = who.caseworker, who.refs
    templates = web.state.templates
    rendered: list[tuple[Any, dict[str, Any]]] = []
    respond = templates.TemplateResponse

    def capture(request: Any, name: str, context: dict[str, Any], **kw: Any) -> Any:
        response = respond(request, name, context, **kw)
        rendered.append((response.template, response.context))
        return response

    templates.TemplateResponse = capture  # this app's templates only, while the pages are fetched once
    try:
        for ref in refs:
            _get(client, f"/cases/{ref}", "Deadlines", True)
    finally:
        del templates.TemplateResponse
    token = web.state.cookies.load(client.cookies[SESSION_COOKIE])
    today = local_today(app.clock)
    cases = [app.reads.case_listing(ref, worker).case for ref in refs]
    deadlines = [app.reads.deadlines_of(c, worker) for c in cases]
    journeys = [app.workflows.get(c.workflow_id, c.workflow_version).definition for c in cases]
    n = len(refs)

    def tags(i: int) -> object:
        d = journeys[i % n]
        return [present.deadline_view(x, present.rule_of(d, x.rule), today, app.calendar, d) for x in deadlines[i % n]]

    return {
        "session (cookie and lookup)": _median_ms(
            lambda i: app.accounts.session(web.state.cookies.load(client.cookies[SESSION_COOKIE]) or token), calls
        ),
        "reads (the read model)": _median_ms(lambda i: case_model(app, worker, refs[i % n]), calls),
        "read audit insert": _median_ms(lambda i: app.accounts.record_view(worker, refs[i % n], "case", "web"), calls),
        "deadline tags": _median_ms(tags, calls),
        "navigation and its badge": _median_ms(lambda i: _with_badges(app, worker, nav_for(worker, "/cases/")), calls),
        "template render": _median_ms(lambda i: rendered[i % n][0].render(rendered[i % n][1]), calls),
    }


def breakdown_lines(steps: dict[str, float], result: dict[str, Samples]) -> list[str]:
    """The steps, their sum, and the highest rate the page could reach if HTTP cost only the signed-out route."""
    floor = _pct(result[SIGNED_OUT].page, 0.5) * 1000
    reads = steps["reads (the read model)"]
    ceiling = reads / (floor + sum(steps.values()))
    return [
        "The case page's handler step by step, each step alone in a tight loop (median ms):",
        "",
        "| step | ms |",
        "|---|---:|",
        *(f"| {k} | {v:.2f} |" for k, v in steps.items()),
        f"| sum of the steps | {sum(steps.values()):.2f} |",
        f"| the signed-out route (HTTP, routing, the thread pool, httpx), p50 | {floor:.2f} |",
        "",
        f"Ceiling of the case page's rate: reads / (signed-out route + every step) = {reads:.2f} / "
        f"{floor + sum(steps.values()):.2f} = {ceiling:.0%} (goal {RATE_GOAL:.0%}).",
    ]


def run(url: str, rounds: int, requests: int) -> list[str]:
    """Serve the caseload at ``url``, measure every page against its read model; the table's lines."""
    app = _app(url)
    try:
        who = people(app)
        cases = _count_cases(url)
        print(
            f"  {cases:,} cases; signed in as {who.caseworker.email} ({who.open_cases:,} open cases) "
            f"and {who.manager.email}",
            flush=True,
        )
        pages = pages_of(app, who)
        with served(app, who) as (web, clients):
            result = measure(pages, clients, rounds, requests)
            steps = breakdown(app, who, web, clients["caseworker"], max(requests, 10) * rounds)
        return [*table(cases, result, rows_read(app, who)), "", *breakdown_lines(steps, result)]
    finally:
        app.dispose()


def _http_parser() -> str:
    """The HTTP parser uvicorn picks by itself (``http="auto"``, as ``carepath run``): httptools if installed."""
    from uvicorn.config import Config

    config = Config(app=None, lifespan="off")
    config.load()
    name = getattr(config.http_protocol_class, "__name__", "")
    return "httptools" if "HttpTools" in name else "h11" if "H11" in name else name


def _machine() -> str:
    import uvicorn

    return (
        f"{datetime.now(UTC):%Y-%m-%d}, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"uvicorn {uvicorn.__version__} ({_http_parser()}, asyncio), httpx {httpx.__version__}, "
        f"{os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )


def _bad_arguments(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, in one line, or None."""
    for name in ("cases", "rounds", "requests"):
        if getattr(args, name) < 1:
            return f"--{name} must be 1 or more, not {getattr(args, name)}"
    for name in ("database_url", "small_database_url"):
        given = getattr(args, name)
        if given and (not given.startswith("sqlite:///") or not Path(given.split("///", 1)[1]).is_file()):
            return f"--{name.replace('_', '-')} must be sqlite:///<an existing file>, not {given!r}"
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=100 * TEMPLATE_CASES, help="target size (default 100,900: 100x)")
    p.add_argument("--rounds", type=int, default=5, help="paired rounds kept (after one warm-up round)")
    p.add_argument("--requests", type=int, default=50, help="requests of each page (and read-model calls) per round")
    p.add_argument("--database-url", help="reuse a SQLite file built by this bench (--keep) instead of building")
    p.add_argument("--small-database-url", help="with --also-small: reuse the kept 1,009-case file")
    p.add_argument("--also-small", action="store_true", help="also measure at 1,009 cases")
    p.add_argument("--keep", action="store_true", help="keep the built files and print how to reuse them")
    args = p.parse_args()
    problem = _bad_arguments(args)
    if problem:
        print(f"bench/web.py: {problem}", file=sys.stderr)
        raise SystemExit(2)
    lines = [_machine() + f"; {args.rounds} rounds (+1 warm-up not kept) of {args.requests} requests per page.", ""]
    workdir = Path(tempfile.mkdtemp(prefix="carepath-web-"))
    try:
        url, small = args.database_url, args.small_database_url
        if url is None:
            print(f"building about {args.cases:,} cases in {workdir}", flush=True)
            built = build(args.cases, workdir)
            url, small = built.url, small or built.template_url
        if args.also_small and small is None:
            print("building the 1,009-case template for --also-small", flush=True)
            small = build(TEMPLATE_CASES, workdir).url
        sizes = [url, *([small] if args.also_small and small and small != url else [])]
        for u in sizes:
            print(f"measuring {u}", flush=True)
            lines += [*run(u, args.rounds, args.requests), ""]
        lines.append(f"Load average at the end {os.getloadavg()[0]:.1f}.")
        print("\n".join(lines))
        if args.keep and args.database_url is None:
            again = f"--database-url {url}" + (f" --small-database-url {small}" if small else "")
            print(f"\nkept in {workdir}; re-run with: .venv/bin/python bench/web.py {again}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
