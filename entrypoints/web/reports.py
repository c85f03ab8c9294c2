"""The managers' reports section (issue 13 points 7 and 8): ``/reports``.

- ``/reports``: the reports and the journeys' stage diagrams.
- ``/reports/{name}``: one report (funnel, adopters, scorecard, compliance, caseload) with a filter
  form sent by GET (from, to, as of: GOV.UK date inputs; team and journey: selects), each table
  as a GOV.UK table with its chart (``charts``) where the table asks for one, shown as an
  ``<img>`` whose alt text says what it shows.
- ``/reports/{name}/charts/{table}.svg``: that chart, drawn by pygal, with the same filters. It is
  an image of its own because pygal's SVG carries a ``<style>``: this one response has a
  Content-Security-Policy that lets the SVG's inline styles apply and nothing else (``CHART_CSP``),
  while every page keeps the strict one (no inline style or script).
- ``/reports/{name}.csv`` and ``.xlsx``: the same report with the same filters, as a download.
- ``/reports/stages/{journey}`` (and ``.csv``, ``.xlsx``): the journey's stages drawn as boxes
  with their open cases and median days, and the table.

Every figure comes from ``ReportService`` (``app.reports``), which checks ``report.read`` (team
managers for their teams, service managers for the service) exactly as for the CLI; the pages add
no rule of their own. The index checks the same command before listing anything.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from threading import Lock
from time import monotonic
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from carepath.engine.errors import InvalidInput, NotFound, NotPermitted, UnknownWorkflow
from carepath.engine.reports import REPORT_NAMES, Report, Table
from carepath.entrypoints import report_files
from carepath.entrypoints.web import charts, present
from carepath.entrypoints.web.forms import read_date
from carepath.entrypoints.web.pages import _may, _sentence, carepath, render
from carepath.entrypoints.web.session import page_actor

if TYPE_CHECKING:
    from carepath.config.bootstrap import App
    from carepath.engine.case import Actor

router = APIRouter()

#: Each report's heading and what it answers, for the index and the report's page.
ABOUT: dict[str, tuple[str, str]] = {
    "funnel": (
        "Fostering recruitment funnel",
        "Where enquiries leak away, from enquiry to approval, and how many more applications meet the target.",
    ),
    "adopters": (
        "Adopters",
        "Registration of interest to placement: stage durations, approvals within 6 months, matches within 3.",
    ),
    "scorecard": (
        "Adoption scorecard",
        "A1, A2 and A10 for each adopted child and on average against their thresholds, A3, who is waiting.",
    ),
    "compliance": (
        "Compliance with timescales",
        "Each deadline rule by team and worker: due, met on time, met late, breached and still open.",
    ),
    "caseload": ("Caseload", "Open cases by journey and stage, and by worker."),
}
#: The GET filters a report page reads; dates come as GOV.UK date inputs (``from-day``...).
DATE_FILTERS = (("from", "From"), ("to", "To"), ("as_of", "As of"))
TEXT_MAX = 200
#: The chart image's own policy: its inline ``<style>`` applies; no script, no fetch, no framing.
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class Filters:
    """The filters as typed (to show them back) and as read (for the service), with any errors."""

    typed: dict[str, Any]
    start: date | None = None
    end: date | None = None
    as_of: date | None = None
    team: str | None = None
    journey: str | None = None
    table: str | None = None
    errors: list[tuple[str, str]] | None = None


def read_filters(query: Mapping[str, str]) -> Filters:
    """The GET filters: each date from its three inputs (a GOV.UK error when it is not a date)."""
    errors: list[tuple[str, str]] = []
    typed: dict[str, Any] = {}
    days: dict[str, date | None] = {}
    for name, label in DATE_FILTERS:
        typed[name] = {p: str(query.get(f"{name}-{p}") or "")[:4] for p in ("day", "month", "year")}
        days[name] = read_date(query, name, label, errors)
    start, end = days["from"], days["to"]
    if start is not None and end is not None and end < start:
        errors.append(("to-day", "To must be the same as or after From"))
    team = (query.get("team") or "").strip()[:TEXT_MAX] or None
    journey = (query.get("journey") or "").strip()[:TEXT_MAX] or None
    table = (query.get("table") or "").strip()[:TEXT_MAX] or None
    typed.update(team=team or "", journey=journey or "")
    return Filters(typed, start, end, days["as_of"], team, journey, table, errors)


def _authorized(actor: Actor) -> None:
    if not _may(actor, "report.read"):
        raise NotPermitted(actor.email, "report.read", "reports are for team managers and service managers")


def _report(app: App, actor: Actor, name: str, f: Filters) -> Report:
    if name not in REPORT_NAMES:
        raise NotFound("report", name)
    return app.reports.report(actor, name, start=f.start, end=f.end, as_of=f.as_of, team=f.team, journey=f.journey)


def _refusing_in_form(f: Filters, compute: Callable[[], Report]) -> Report | None:
    """The report, or ``None`` with the service's refusal of a filter (a day in the future, a journey
    the report does not cover, an unknown team) shown against that filter in the form."""
    if f.errors:
        return None
    try:
        return compute()
    except InvalidInput as exc:
        f.errors = [(_field_of(str(exc)), _sentence(str(exc)))]
    except NotFound as exc:
        if exc.kind != "team":
            raise
        f.errors = [("team", _sentence(str(exc)))]
    return None


def _field_of(message: str) -> str:
    """Which filter a refusal is about, for the error summary's link."""
    if "as-of" in message or "as of" in message:
        return "as_of-day"
    if "team" in message:
        return "team"
    if "covers" in message or "journey" in message or "workflow" in message:
        return "journey"
    return "from-day"


def _stages(app: App, actor: Actor, journey: str, f: Filters) -> Report:
    try:
        app.workflows.latest(journey)
    except UnknownWorkflow:
        raise NotFound("journey", journey) from None
    return app.reports.stages(actor, journey, as_of=f.as_of, team=f.team)


# -- pages -----------------------------------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
def reports_index(request: Request) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    _authorized(actor)
    reports = [(f"/reports/{n}", *ABOUT[n]) for n in REPORT_NAMES if n in ABOUT]
    journeys = [(f"/reports/stages/{c.definition.id}", c.definition.title) for c in app.workflows]
    return render(request, "reports/index.html", "Reports", reports=reports, journeys=journeys)


@router.get("/reports/stages/{journey}.{fmt}")
def stages_download(request: Request, journey: str, fmt: str) -> Response:
    return _filtered_download(request, fmt, f"stages-{journey}", lambda app, actor, f: _stages(app, actor, journey, f))


@router.get("/reports/stages/{journey}", response_class=HTMLResponse)
def stages_page(request: Request, journey: str) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    _authorized(actor)
    f = read_filters(request.query_params)
    title = _journey_title(app, journey)
    report = _refusing_in_form(f, lambda: _stages(app, actor, journey, f))
    diagram = None
    if report is not None and report.tables:
        diagram = charts.stage_diagram(report.tables[0], f"{title}: open cases and median days in each stage")
    return _page(
        request, app, actor, f, report,
        heading=f"{title}: stages",
        lead="Each stage in the journey's order, with the cases open in it and the median days they have spent there.",
        action=f"/reports/stages/{journey}",
        downloads_base=f"/reports/stages/{journey}",
        charts_base=None,
        diagram=diagram,
        show_period=False,
        journey_options=[],
    )  # fmt: skip


class _Drawn:
    """The reports a page has just computed, kept a short while for its chart images (``r=`` in their URLs).

    A page with four charts would otherwise compute its report five times. An entry is found only
    by the token the page put in its image URLs, for the same user, report and filters: it is
    that page's own report, never another user's or an older page's. Entries live
    ``SECONDS`` (the images load with the page) and at most ``SIZE`` are kept.
    """

    SECONDS = 120.0
    SIZE = 64

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[Any, ...], tuple[float, Report]] = OrderedDict()
        self._lock = Lock()

    @staticmethod
    def key(app: App, actor: Actor, name: str, f: Filters, token: str) -> tuple[Any, ...]:
        return (id(app), actor.id, name, f.start, f.end, f.as_of, f.team, f.journey, token)

    def put(self, key: tuple[Any, ...], report: Report) -> None:
        with self._lock:
            self._kept[key] = (monotonic() + self.SECONDS, report)
            self._kept.move_to_end(key)
            while len(self._kept) > self.SIZE:
                self._kept.popitem(last=False)

    def get(self, key: tuple[Any, ...]) -> Report | None:
        with self._lock:
            got = self._kept.get(key)
            if got is None or got[0] < monotonic():
                self._kept.pop(key, None)
                return None
            return got[1]


DRAWN = _Drawn()


@router.get("/reports/{name}/charts/{key}.svg")
def report_chart(request: Request, name: str, key: str) -> Response:
    """One table's chart as an SVG image, computed by the same service call (and authorization) as
    the page, with the same filters, or the page's own report when ``r`` names it (``_Drawn``); a
    table that is not there or has no chart is not found."""
    actor = page_actor(request)
    _authorized(actor)
    app = carepath(request)
    f = read_filters(request.query_params)
    _refuse_errors(f)
    token = str(request.query_params.get("r") or "")[:40]
    report = DRAWN.get(DRAWN.key(app, actor, name, f, token)) if token else None
    if report is None:
        report = _report(app, actor, name, f)
    table = next((t for t in report.tables if t.key == key), None)
    if table is None or not charts.drawn(table):
        raise NotFound("chart", key)
    headers = {"Content-Security-Policy": CHART_CSP, "Cache-Control": "no-store"}
    return Response(charts.svg(table), media_type="image/svg+xml", headers=headers)


@router.get("/reports/{name}.{fmt}")
def report_download(request: Request, name: str, fmt: str) -> Response:
    return _filtered_download(request, fmt, name, lambda app, actor, f: _report(app, actor, name, f))


def _filtered_download(
    request: Request, fmt: str, stem: str, compute: Callable[[App, Actor, Filters], Report]
) -> Response:
    """A download with the page's filters: bad filters refused, the report computed, sent as ``fmt``."""
    actor = page_actor(request)
    _format(fmt)
    f = read_filters(request.query_params)
    _refuse_errors(f)
    return _download(compute(carepath(request), actor, f), fmt, f.table, stem)


@router.get("/reports/{name}", response_class=HTMLResponse)
def report_page(request: Request, name: str) -> Response:
    actor = page_actor(request)
    app = carepath(request)
    _authorized(actor)
    if name not in ABOUT:
        raise NotFound("report", name)
    f = read_filters(request.query_params)
    report = _refusing_in_form(f, lambda: _report(app, actor, name, f))
    token = secrets.token_urlsafe(12)
    if report is not None:
        DRAWN.put(DRAWN.key(app, actor, name, f, token), report)
    heading, lead = ABOUT[name]
    return _page(
        request, app, actor, f, report,
        heading=heading,
        lead=lead,
        action=f"/reports/{name}",
        downloads_base=f"/reports/{name}",
        charts_base=f"/reports/{name}/charts",
        diagram=None,
        show_period=True,
        journey_options=_journey_options(app, name),
        chart_token=token,
    )  # fmt: skip


def _page(
    request: Request,
    app: App,
    actor: Actor,
    f: Filters,
    report: Report | None,
    *,
    heading: str,
    lead: str,
    action: str,
    downloads_base: str,
    charts_base: str | None,
    diagram: Markup | None,
    show_period: bool,
    journey_options: list[tuple[str, str]],
    chart_token: str | None = None,
) -> Response:
    kept = [(k, v) for k, v in request.query_params.multi_items() if v and k not in ("table", "r")]
    query = urlencode(kept)
    suffix = f"?{query}" if query else ""
    charts_query = urlencode([*kept, ("r", chart_token)]) if chart_token else query
    return render(
        request,
        "reports/report.html",
        heading,
        status=400 if f.errors else 200,
        errors=f.errors or [],
        heading=heading,
        lead=lead,
        action=action,
        typed=f.typed,
        show_period=show_period,
        summary=_summary(app, report, show_period) if report is not None else [],
        key_figures=key_figures(report) if report is not None else [],
        tables=[_table_view(t, charts_base, f"?{charts_query}" if charts_query else "") for t in report.tables]
        if report is not None
        else [],
        diagram=diagram,
        downloads=[(f"{downloads_base}.csv{suffix}", "CSV"), (f"{downloads_base}.xlsx{suffix}", "Excel (XLSX)")],
        team_options=_team_options(app, actor),
        journey_options=journey_options,
    )


def _format(fmt: str) -> None:
    if fmt not in MEDIA:
        raise NotFound("download format", fmt)


def _refuse_errors(f: Filters) -> None:
    if f.errors:
        raise InvalidInput("; ".join(message for _, message in f.errors))


def _journey_title(app: App, journey: str) -> str:
    try:
        return app.workflows.latest(journey).definition.title
    except UnknownWorkflow:
        raise NotFound("journey", journey) from None


def _journey_options(app: App, name: str) -> list[tuple[str, str]]:
    """The journeys the report covers, to pick one (none to pick when it covers only one)."""
    from carepath.engine.services.reports import ADOPTERS, CHILD, FOSTERING

    covers = {"funnel": FOSTERING, "adopters": (ADOPTERS,), "scorecard": (CHILD,)}.get(name)
    found = [
        (c.definition.id, c.definition.title) for c in app.workflows if covers is None or c.definition.id in covers
    ]
    return [("", "All of them"), *found] if len(found) > 1 else []


def _team_options(app: App, actor: Actor) -> list[tuple[str, str]]:
    """The teams the actor may report on: every team for a service manager, their own otherwise."""
    everyone = "service_manager" in actor.roles
    teams = [t.name for t in app.reads.teams(actor, limit=200) if everyone or t.id in actor.team_ids]
    return [("", "All teams" if everyone else "All my teams"), *((n, n) for n in teams)]


def _summary(app: App, report: Report, show_period: bool) -> list[tuple[str, str]]:
    """What the figures cover: the period, the day, and the filters set (a journey by its title)."""
    titles = {c.definition.id: c.definition.title for c in app.workflows}
    rows = []
    if show_period:
        p = report.period
        span = f"{present.short_date(p.start)} to {present.short_date(p.end)}"
        name = report_files.period_name(report)
        rows.append(("Period", f"{name} ({span})" if name else span))
    rows.append(("As of", f"the end of {present.long_date(report.as_of)}"))
    for key, value in report.filters.items():
        if value:
            shown = titles.get(str(value), str(value)) if key == "journey" else str(value)
            rows.append((_sentence(key.replace("_", " ")), shown))
    return rows


def key_figures(report: Report) -> list[tuple[str, str]]:
    """The answers a manager comes for, in words, from the report's ``data`` (also in its tables):
    the funnel's applications against the target; the scorecard's A1, A10 and A2 averages."""
    data = report.data
    if report.name == "funnel" and "applications_needed_for_target" in data:
        target = data.get("target_conversion")
        aim = f" to convert {target * 100:g}% of them" if isinstance(target, int | float) else ""
        return [
            ("Enquiries in the period", _count(data.get("enquiries"))),
            ("Applications received", _count(data.get("applications"))),
            (f"Applications needed{aim}", _count(data.get("applications_needed_for_target"))),
            ("More applications needed", _count(data.get("applications_short_of_target"))),
        ]
    if report.name == "scorecard" and isinstance(data.get("averages"), Mapping):
        averages, thresholds = data["averages"], data.get("thresholds") or {}
        counts = data.get("counts") or {}
        out = []
        for key, label in (
            ("a1_days", "A1: entering care to moving in with the adoptive family"),
            ("a10_days", "A10: as A1, from the placement with foster carers who adopt"),
            ("a2_days", "A2: authority to place to the match decision"),
        ):
            out.append((label, _average(averages.get(key), thresholds.get(key), counts.get(key))))
        return out
    return []


def _count(value: Any) -> str:
    return report_files.cell_text(value, "int")


def _average(days: Any, threshold: Any, children: Any) -> str:
    """``463 days on average over 3 children (threshold 426 days: above it)``."""
    if not isinstance(days, int | float):
        return "No child adopted in the period"
    text = f"{report_files.cell_text(days, 'days')} days on average"
    if isinstance(children, int):
        text += f" over {children} {'child' if children == 1 else 'children'}"
    if isinstance(threshold, int | float):
        verdict = "within it" if days <= threshold else "above it"
        text += f" (threshold {report_files.cell_text(threshold, 'days')} days: {verdict})"
    return text


@dataclass(frozen=True, slots=True)
class ChartView:
    """A table's chart as the page shows it: an image (``src``) and what it shows in words (``alt``)."""

    src: str
    alt: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class TableView:
    """A report table as the page draws it: cells as text, numbers flagged to align right."""

    key: str
    id: str
    title: str
    caption: str
    headers: list[tuple[str, bool]]
    rows: list[list[tuple[str, bool]]]
    chart: ChartView | None


def _table_view(t: Table, charts_base: str | None = None, suffix: str = "") -> TableView:
    """The table for the page, with its chart's image under ``charts_base`` (with the page's filters,
    ``suffix``) when it has one; none under a stage diagram, which draws the table itself."""
    numeric = [report_files.is_numeric(c) for c in t.columns]
    rows = [
        [
            (report_files.cell_text(row.get(c.key), c.kind, day=present.short_date), n)
            for c, n in zip(t.columns, numeric, strict=True)
        ]
        for row in t.rows
    ]
    headers = [(c.label, n) for c, n in zip(t.columns, numeric, strict=True)]
    drawn = None
    if charts_base is not None and charts.drawn(t):
        width, height = charts.size(t)
        src = f"{charts_base}/{quote(t.key, safe='')}.svg{suffix}"
        drawn = ChartView(src, charts.alt_text(t), width, height)
    return TableView(t.key, charts.chart_id(t.key) + "-table", t.title, t.caption, headers, rows, drawn)


def _download(report: Report, fmt: str, table: str | None, stem: str) -> Response:
    """The report as a CSV or XLSX attachment (never cached: it holds case references)."""
    if fmt == "csv":
        # A byte order mark, so that Excel opens the UTF-8 file as UTF-8 (names with accents).
        body: bytes = ("\ufeff" + report_files.to_csv(report, table)).encode("utf-8")
    else:
        body = report_files.to_xlsx(report, table)
    filename = f"{stem}-{report.period.start.isoformat()}-to-{report.period.end.isoformat()}"
    filename += f"-as-of-{report.as_of.isoformat()}.{fmt}"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in filename)
    headers = {"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "no-store"}
    return Response(body, media_type=MEDIA[fmt], headers=headers)
