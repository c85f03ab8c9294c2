"""The reports pages, charts and downloads drawn from hand-made reports (no computation involved).

A stand-in for ``app.reports`` returns a ``Report`` written out here, so every figure a page, a
chart, a CSV or an XLSX shows can be checked against the numbers typed below: the worked example
is one council's year, 191 enquiries and 23 applications against a 15% target, which needs
ceil(0.15 x 191) = ceil(28.65) = 29 applications, 6 more than received.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from carepath.engine.errors import InvalidInput, NotPermitted
from carepath.engine.reports import Column, Period, Report, Table
from carepath.entrypoints import report_files
from carepath.entrypoints.web import charts
from tests.support import email_for
from tests.web.conftest import sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from carepath.config.bootstrap import App
    from carepath.engine.case import Actor

AS_OF = date(2026, 11, 2)
YEAR = Period(date(2026, 4, 1), date(2027, 3, 31))


def funnel_report(as_of: date = AS_OF, period: Period = YEAR, filters: dict[str, str] | None = None) -> Report:
    """One council's year (the issue's example): 191 enquiries, 23 applications, 22 approvals."""
    steps = Table(
        key="steps_mainstream",
        title="Mainstream fostering: enquiries to approvals",
        columns=(
            Column("step", "Step"),
            Column("count", "Households", "int"),
            Column("conversion", "Of the step before", "percent"),
        ),
        rows=(
            {"step": "Enquiries", "count": 191, "conversion": None},
            {"step": "Initial visits", "count": 64, "conversion": 64 / 191},
            {"step": "Applications", "count": 23, "conversion": 23 / 64},
            {"step": "Approvals", "count": 22, "conversion": 22 / 23},
        ),
        chart="bar",
        x="step",
        y=("count",),
        caption="Period ratio, as Ofsted counts it.",
    )
    leakage = Table(
        key="dropouts",
        title="Drop-outs by stage and reason",
        columns=(Column("stage", "Stage"), Column("reason", "Reason"), Column("households", "Households", "int")),
        rows=(
            {"stage": "Enquiry", "reason": "AW1 – no longer wishes to foster", "households": 90},
            {"stage": "Initial visit", "reason": '=HYPERLINK("http://evil.test")', "households": 1},
        ),
        chart="bar",
        x="stage",
        y=("households",),
    )
    timeliness = Table(
        key="timeliness",
        title="Application to approval, by month approved",
        columns=(
            Column("month", "Month", "date"),
            Column("median_days", "Median days", "days"),
            Column("p90_days", "90th percentile days", "days"),
        ),
        rows=(
            {"month": date(2026, 4, 1), "median_days": 180, "p90_days": 240},
            {"month": date(2026, 5, 1), "median_days": 172.5, "p90_days": None},
            {"month": "2026-06-01", "median_days": 190, "p90_days": 251},
        ),
        chart="line",
        x="month",
        y=("median_days", "p90_days"),
    )
    target = Table(
        key="target",
        title="Against the target conversion",
        columns=(Column("measure", "Measure"), Column("value", "Value", "int")),
        rows=(
            {"measure": "Applications needed for 15%", "value": 29},
            {"measure": "Applications received", "value": 23},
            {"measure": "Applications short of the target", "value": 6},
        ),
    )
    return Report(
        name="funnel",
        title="Fostering recruitment funnel",
        period=period,
        as_of=as_of,
        filters=filters or {},
        tables=(steps, leakage, timeliness, target),
        data={
            "target_conversion": 0.15,
            "enquiries": 191,
            "applications": 23,
            "applications_needed_for_target": 29,
            "applications_short_of_target": 6,
        },
    )


def stages_report() -> Report:
    rows = [
        {"state": "enquiry", "label": "Enquiry", "open": 12, "median_days": 9},
        {"state": "initial_visit", "label": "Initial visit", "open": 5, "median_days": 20.5},
        {"state": "stage_one", "label": "Stage 1 checks and references", "open": 0, "median_days": None},
        {"state": "stage_two", "label": "Stage 2 assessment", "open": 7, "median_days": 101},
    ]
    table = Table(
        key="stages",
        title="Stages",
        columns=(
            Column("label", "Stage"),
            Column("open", "Open cases", "int"),
            Column("median_days", "Median days there", "days"),
        ),
        rows=tuple(rows),
    )
    return Report("stages", "Foster carer approval: stages", Period(AS_OF, AS_OF), AS_OF, {}, (table,))


class HandMadeReports:
    """Stands in for ``ReportService``: the hand-made reports, and its refusal of a caseworker."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def _check(self, actor: Actor) -> None:
        if not {"team_manager", "service_manager"} & set(actor.roles):
            raise NotPermitted(actor.email, "report.read", "reports are for managers")

    def report(self, actor: Actor, name: str, **kw: Any) -> Report:
        self._check(actor)
        if kw.get("journey") == "child_adoption_pathway":  # as the service refuses it
            raise InvalidInput(f"the {name} report covers foster_carer_approval, not 'child_adoption_pathway'")
        self.asked.append({"name": name, **kw})
        filters = {k: v for k, v in (("team", kw.get("team")), ("journey", kw.get("journey"))) if v}
        return funnel_report(as_of=kw.get("as_of") or AS_OF, filters=filters)

    def stages(self, actor: Actor, journey: str, **kw: Any) -> Report:
        self._check(actor)
        self.asked.append({"journey": journey, **kw})
        return stages_report()


@pytest.fixture
def reports(web_app: App) -> HandMadeReports:
    fake = HandMadeReports()
    web_app.__dict__["reports"] = fake  # what the cached property would hold
    return fake


# -- the renderers ------------------------------------------------------------------------------


def test_csv_of_several_tables_has_a_title_line_each_and_a_blank_line_between() -> None:
    text = report_files.to_csv(funnel_report())
    blocks = text.split("\r\n\r\n")

    assert len(blocks) == 4
    rows = list(csv.reader(io.StringIO(blocks[0])))
    assert rows == [
        ["Mainstream fostering: enquiries to approvals"],
        ["Step", "Households", "Of the step before (%)"],
        ["Enquiries", "191", ""],
        ["Initial visits", "64", "33.5079"],  # 64 / 191 = 0.335079
        ["Applications", "23", "35.9375"],  # 23 / 64
        ["Approvals", "22", "95.6522"],  # 22 / 23
    ]
    # text that a spreadsheet would run as a formula is written as text
    assert list(csv.reader(io.StringIO(blocks[1])))[3][1] == '\'=HYPERLINK("http://evil.test")'
    timeliness = list(csv.reader(io.StringIO(blocks[2])))
    assert timeliness[2:] == [["2026-04-01", "180", "240"], ["2026-05-01", "172.5", ""], ["2026-06-01", "190", "251"]]


def test_csv_of_one_table_is_that_table_alone() -> None:
    rows = list(csv.reader(io.StringIO(report_files.to_csv(funnel_report(), "target"))))

    assert rows == [
        ["Measure", "Value"],
        ["Applications needed for 15%", "29"],
        ["Applications received", "23"],
        ["Applications short of the target", "6"],
    ]


def test_an_unknown_table_is_refused_naming_the_tables() -> None:
    with pytest.raises(InvalidInput, match=r"has no table 'nope' .*steps_mainstream, dropouts, timeliness, target"):
        report_files.to_csv(funnel_report(), "nope")


def test_xlsx_has_a_sheet_per_table_with_typed_cells() -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(report_files.to_xlsx(funnel_report())))

    assert wb.sheetnames == [
        "Mainstream fostering enquiries",  # ':' is not allowed in a sheet name; 31 characters at most
        "Drop-outs by stage and reason",
        "Application to approval, by mon",
        "Against the target conversion",
    ]
    steps = wb.worksheets[0]
    assert [c.value for c in steps[1]] == ["Step", "Households", "Of the step before"]
    assert all(c.font.bold for c in steps[1])
    assert steps["B2"].value == 191
    assert steps["B2"].data_type == "n"
    assert steps["C2"].value is None
    assert steps["C3"].value == pytest.approx(64 / 191)
    assert steps["C3"].number_format == "0.0%"
    months = wb.worksheets[2]
    assert months["A2"].value.date() == date(2026, 4, 1)
    assert months["A2"].is_date
    assert months["A4"].value.date() == date(2026, 6, 1)  # an ISO string from the service becomes a date too
    assert months["B3"].value == 172.5
    dropouts = wb.worksheets[1]
    assert dropouts["B3"].value == '=HYPERLINK("http://evil.test")'
    assert dropouts["B3"].data_type == "s"  # text, never a formula
    assert wb.properties.title == "Fostering recruitment funnel"


def test_the_text_table_aligns_numbers_and_shows_a_dash_for_nothing() -> None:
    text = report_files.to_text(funnel_report(), "steps_mainstream")

    assert text.splitlines() == [
        "Fostering recruitment funnel: 2026-27 (2026-04-01 to 2027-03-31), as of 2026-11-02",
        "",
        "Mainstream fostering: enquiries to approvals",
        "Step            Households  Of the step before",
        "Enquiries              191                   -",
        "Initial visits          64               33.5%",
        "Applications            23               35.9%",
        "Approvals               22               95.7%",
        "Period ratio, as Ofsted counts it.",
    ]


SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: bytes) -> ET.Element:
    """The chart's SVG as XML (it must parse: an image that is not XML shows as broken)."""
    return ET.fromstring(svg)


def printed(root: ET.Element) -> list[str]:
    """The values written on the chart (pygal's ``print_values``), in document order."""
    return [t.text or "" for t in root.iter(f"{SVG}text") if "value" in (t.get("class") or "").split()]


def bars(root: ET.Element) -> dict[str, float]:
    """Each bar's length by the value it stands for."""
    out = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "bar":
            rect, desc = g.find(f"{SVG}rect"), g.find(f"{SVG}desc")
            assert rect is not None
            assert desc is not None
            out[desc.text or ""] = float(rect.get("width") or 0)
    return out


def test_a_bar_chart_is_an_svg_image_with_every_value_printed_and_its_alt_text_saying_them() -> None:
    table = funnel_report().tables[0]
    root = parse(charts.svg(table))

    assert root.tag == f"{SVG}svg"
    assert root.findtext(f"{SVG}title") == "Mainstream fostering: enquiries to approvals"
    assert printed(root) == ["22", "23", "64", "191"]  # pygal writes the rows bottom up: Enquiries on top
    lengths = bars(root)
    assert lengths["191"] > lengths["64"] > lengths["23"] > lengths["22"] > 0
    assert lengths["64"] / lengths["191"] == pytest.approx(64 / 191, abs=0.01)
    assert not list(root.iter(f"{SVG}script"))  # no script: js=[] and pygal's own config removed
    assert (root.get("width"), root.get("height")) == tuple(str(n) for n in charts.size(table))
    assert charts.alt_text(table) == (
        "Bar chart: Mainstream fostering: enquiries to approvals. Households by step. "
        "Enquiries: 191; Initial visits: 64; Applications: 23; Approvals: 22."
    )


def test_the_charts_use_the_govuk_colours_and_the_system_fonts() -> None:
    text = charts.svg(funnel_report().tables[0]).decode()

    assert "#1d70b8" in text  # GOV.UK blue: 5.2:1 against white
    assert "#0b0c0c" in text  # GOV.UK black for every text
    assert 'system-ui,-apple-system,"Segoe UI"' in text
    assert "Helvetica" in text
    assert "opacity:.7" not in text.replace(" ", "")  # pygal's faded bars would lose contrast


def test_a_line_chart_dashes_each_series_differently_and_names_each_at_its_last_point() -> None:
    table = funnel_report().table("timeliness")
    svg = charts.svg(table)
    root = parse(svg)

    assert printed(root) == ["180", "172.5", "190 median days", "240", "251 90th percentile days"]  # no May p90
    axis = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.endswith("2026")]
    assert axis == ["Apr 2026", "May 2026", "Jun 2026"]
    assert b".serie-1 .line{stroke-dasharray:10,5}" in svg  # the second line dashed, not only green
    assert "; May 2026: Median days 172.5, 90th percentile days -;" in charts.alt_text(table)  # months, as drawn
    assert charts.alt_text(table).startswith("Line chart: Application to approval, by month approved.")


def test_the_stage_diagram_draws_each_stage_in_order_with_its_count_and_median() -> None:
    svg = str(charts.stage_diagram(stages_report().tables[0], "Foster carer approval"))

    labels = re.findall(r'<text class="carepath-stage__label"[^>]*>([^<]*)</text>', svg)
    assert labels[:2] == ["1. Enquiry", "2. Initial visit"]
    counts = re.findall(r'<text class="carepath-stage__count"[^>]*>([^<]*)</text>', svg)
    assert counts == ["12 open", "5 open", "0 open", "7 open"]
    assert "median 20.5 days" in svg
    assert "no median" in svg
    assert svg.count('class="carepath-stage__arrow"') == 3
    assert "3. Stage 1 checks and references: 0 open;" in svg  # the desc


def test_a_long_line_writes_only_each_series_last_value_with_its_name() -> None:
    # 30 months, April 2024 to September 2026: median 100, 103, ... 187; the 90th percentile 150 to 230 and back
    rows = tuple(
        {"month": date(2024 + (3 + i) // 12, (3 + i) % 12 + 1, 1), "median": 100 + 3 * i, "p90": 150 + (i % 5) * 20}
        for i in range(30)
    )
    table = Table(
        "months",
        "By month",
        (
            Column("month", "Month", "date"),
            Column("median", "Median days", "days"),
            Column("p90", "90th percentile days", "days"),
        ),
        rows,
        "line",
        "month",
        ("median", "p90"),
    )
    root = parse(charts.svg(table))

    assert printed(root) == ["187 median days", "230 90th percentile days"]  # 100 + 3 x 29; 150 + 4 x 20
    assert charts.alt_text(table) == (
        "Line chart: By month. Median days and 90th percentile days in 30 rows, one per month; "
        "the table below gives every figure."
    )


def test_text_in_a_chart_is_escaped() -> None:
    table = Table(
        "t", "<b>x</b>", (Column("a", "A"), Column("n", "N", "int")), ({"a": "<script>", "n": 1},), "bar", "a", ("n",)
    )
    svg = charts.svg(table)

    assert b"<script>" not in svg
    assert b"&lt;script&gt;" in svg
    root = parse(svg)
    assert "<script>" in [t.text for t in root.iter(f"{SVG}text")]  # shown as text
    assert root.findtext(f"{SVG}title") == "<b>x</b>"


# -- the pages ----------------------------------------------------------------------------------


def test_a_manager_reads_the_funnel_with_charts_tables_and_downloads(
    client: TestClient, reports: HandMadeReports
) -> None:
    sign_in(client, email_for("team_manager"))

    page = client.get("/reports/funnel")

    assert page.status_code == 200
    html = page.text
    assert "<title>Fostering recruitment funnel – carepath" in html
    # steps, drop-outs, timeliness: each an image served on its own, said in words; the target has no chart
    images = re.findall(r'<img class="carepath-chart" src="([^"]*)" alt="([^"]*)"', html)
    assert [src.split("?")[0] for src, _ in images] == [
        "/reports/funnel/charts/steps_mainstream.svg",
        "/reports/funnel/charts/dropouts.svg",
        "/reports/funnel/charts/timeliness.svg",
    ]
    assert all(re.fullmatch(r"r=[\w-]{16}", src.split("?")[1]) for src, _ in images)  # the page's own report
    assert images[0][1] == (
        "Bar chart: Mainstream fostering: enquiries to approvals. Households by step. "
        "Enquiries: 191; Initial visits: 64; Applications: 23; Approvals: 22."
    )
    assert "&lt;svg" not in html
    assert "<svg" not in html.split("<main")[1]  # no chart drawn inline (its style would be blocked)
    assert '<th scope="row" class="govuk-table__header">Applications</th>' in html
    assert '<td class="govuk-table__cell govuk-table__cell--numeric">35.9%</td>' in html
    assert "Applications short of the target" in html
    key = re.search(r"Key figures</h2>(.*?)</dl>", html, re.S)
    assert key is not None
    pairs = re.findall(r'__key">([^<]*)</dt>\s*<dd class="govuk-summary-list__value">([^<]*)</dd>', key.group(1))
    assert pairs == [
        ("Enquiries in the period", "191"),
        ("Applications received", "23"),
        ("Applications needed to convert 15% of them", "29"),
        ("More applications needed", "6"),
    ]
    assert "2026-27 (1 Apr 2026 to 31 Mar 2027)" in html
    assert "the end of Monday 2 November 2026" in html
    assert 'href="/reports/funnel.csv"' in html
    assert 'href="/reports/funnel.xlsx"' in html
    assert "style=" not in html
    assert "<script>" not in html
    assert 'aria-current="page" href="/reports"' in html  # the navigation's Reports section


def test_the_filters_reach_the_service_and_the_downloads(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("service_manager"))
    query = (
        "from-day=1&from-month=4&from-year=2025&to-day=31&to-month=3&to-year=2026"
        "&as_of-day=30&as_of-month=4&as_of-year=2026&team=Fostering+East&journey=connected_person_approval"
    )

    page = client.get(f"/reports/funnel?{query}")

    assert page.status_code == 200
    assert reports.asked[-1] == {
        "name": "funnel",
        "start": date(2025, 4, 1),
        "end": date(2026, 3, 31),
        "as_of": date(2026, 4, 30),
        "team": "Fostering East",
        "journey": "connected_person_approval",
    }
    assert f'href="/reports/funnel.csv?{query.replace("&", "&amp;")}"' in page.text
    assert 'value="30"' in page.text  # what was typed is shown back

    download = client.get(f"/reports/funnel.csv?{query}")
    assert reports.asked[-1]["as_of"] == date(2026, 4, 30)
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == (
        'attachment; filename="funnel-2026-04-01-to-2027-03-31-as-of-2026-04-30.csv"'
    )
    assert download.headers["cache-control"] == "no-store"
    assert download.content.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the file as UTF-8
    assert download.content.decode("utf-8-sig") == report_files.to_csv(funnel_report(as_of=date(2026, 4, 30)))


def test_the_xlsx_download_reads_back(client: TestClient, reports: HandMadeReports) -> None:
    from openpyxl import load_workbook

    sign_in(client, email_for("team_manager"))
    r = client.get("/reports/funnel.xlsx?table=target")

    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["content-disposition"].startswith('attachment; filename="funnel-')
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["Measure", "Value"],
        ["Applications needed for 15%", 29],
        ["Applications received", 23],
        ["Applications short of the target", 6],
    ]


def test_a_date_that_is_not_a_date_is_shown_against_its_field(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("team_manager"))

    page = client.get("/reports/funnel?as_of-day=31&as_of-month=2&as_of-year=2026")

    assert page.status_code == 400
    assert '<a href="#as_of-day">As of must be a real date, like 27 3 2026</a>' in page.text
    assert "govuk-date-input__input govuk-input--width-2 govuk-input--error" in page.text
    assert reports.asked == []  # nothing computed
    assert client.get("/reports/funnel.csv?as_of-day=31&as_of-month=2&as_of-year=2026").status_code == 400


def test_to_before_from_is_an_error(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("team_manager"))

    page = client.get("/reports/funnel?from-day=1&from-month=4&from-year=2026&to-day=1&to-month=3&to-year=2026")

    assert page.status_code == 400
    assert "To must be the same as or after From" in page.text


def test_unknown_reports_and_formats_are_not_found(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("team_manager"))

    assert client.get("/reports/leakage").status_code == 404
    assert client.get("/reports/funnel.pdf").status_code == 404
    assert client.get("/reports/stages/no_such_journey").status_code == 404


def test_the_stage_diagram_page(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("service_manager"))

    page = client.get("/reports/stages/foster_carer_approval?as_of-day=1&as_of-month=10&as_of-year=2026")

    assert page.status_code == 200
    assert reports.asked[-1] == {"journey": "foster_carer_approval", "as_of": date(2026, 10, 1), "team": None}
    assert 'class="carepath-chart carepath-chart--stages"' in page.text
    assert "12 open" in page.text
    assert '<td class="govuk-table__cell govuk-table__cell--numeric">20.5</td>' in page.text
    assert 'id="journey"' not in page.text  # the journey is the page's own
    assert client.get("/reports/stages/foster_carer_approval.csv").status_code == 200


def test_a_caseworker_is_refused_every_report_page_and_download(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("caseworker"))

    for path in (
        "/reports",
        "/reports/funnel",
        "/reports/funnel.csv",
        "/reports/funnel/charts/steps_mainstream.svg",
        "/reports/stages/foster_carer_approval",
    ):
        r = client.get(path)
        assert r.status_code == 403, path
    assert "Reports" not in client.get("/my-work").text.split("<main")[0]  # no Reports in the navigation


def compliance_table(first_rule: str = "FS17") -> Table:
    return Table(
        "by_rule",
        "By deadline rule",
        (
            Column("rule", "Rule"),
            Column("on_time", "Met on time", "int"),
            Column("late", "Met late", "int"),
            Column("breached", "Breached", "int"),
        ),
        (
            {"rule": first_rule, "on_time": 199, "late": 33, "breached": 40},
            {"rule": "FS4", "on_time": 2, "late": 0, "breached": None},
        ),
        "bar",
        "rule",
        ("on_time", "late", "breached"),
    )


def test_two_series_are_bars_side_by_side_each_labelled_with_its_series_name() -> None:
    table = Table(
        "steps",
        "Steps",
        (Column("step", "Step"), Column("count", "In the period", "int"), Column("cohort", "Cohort", "int")),
        ({"step": "Enquiries", "count": 37, "cohort": 30}, {"step": "Approvals", "count": 2, "cohort": 0}),
        "bar",
        "step",
        ("count", "cohort"),
    )
    root = parse(charts.svg(table))

    # never by colour alone: each value says which series it is (pygal writes the last series first)
    assert printed(root) == ["Cohort: 0", "Cohort: 30", "In the period: 2", "In the period: 37"]
    lengths = bars(root)
    assert lengths["Cohort: 30"] / lengths["In the period: 37"] == pytest.approx(30 / 37, abs=0.01)
    legend = [t.text for t in root.iter(f"{SVG}text") if t.text in ("In the period", "Cohort")]
    assert legend == ["In the period", "Cohort"]


def test_three_series_or_more_are_parts_of_one_bar_a_row_labelled_in_words() -> None:
    table = compliance_table()
    root = parse(charts.svg(table))

    assert printed(root) == ["Met on time: 2, Met late: 0, Breached: -", "Met on time: 199, Met late: 33, Breached: 40"]
    parts = {}  # each part's start and length, by series (FS17's row: the one with 199 on time)
    for g in root.iter(f"{SVG}g"):
        serie = next((c for c in (g.get("class") or "").split() if c.startswith("serie-")), None)
        if serie and g.get("class", "").startswith("series"):
            rects = list(g.iter(f"{SVG}rect"))
            if rects:
                widest = max(rects, key=lambda r: float(r.get("width") or 0))
                parts[serie] = (float(widest.get("x") or 0), float(widest.get("width") or 0))
    (x0, w0), (x1, w1), (x2, _) = parts["serie-0"], parts["serie-1"], parts["serie-2"]
    assert x1 == pytest.approx(x0 + w0, abs=0.1)  # end to end, in the legend's order
    assert x2 == pytest.approx(x1 + w1, abs=0.1)
    assert w1 / w0 == pytest.approx(33 / 199, abs=0.01)
    assert "FS17: Met on time 199, Met late 33, Breached 40" in charts.alt_text(table)
    assert charts.size(table)[1] < charts.size(Table(**{**_fields(table), "y": ("on_time", "late")}))[1]


def _fields(table: Table) -> dict[str, Any]:
    return {f: getattr(table, f) for f in ("key", "title", "columns", "rows", "chart", "x", "y", "caption")}


def test_a_long_category_is_cut_and_a_stacked_bar_too_short_for_words_gives_its_values_in_the_legends_order() -> None:
    table = compliance_table("FS17 Panel recommendation to the decision maker")
    root = parse(charts.svg(table))

    labels = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.startswith("FS")]
    assert labels == ["FS4", "FS17 Panel recommendation to th…"]  # 32 characters; the table has it whole
    assert printed(root) == ["2 / 0 / -", "199 / 33 / 40"]
    legend = [t.text for t in root.iter(f"{SVG}text") if t.text in ("Met on time", "Met late", "Breached")]
    assert legend == ["Met on time", "Met late", "Breached"]
    assert "FS17 Panel recommendation to the decision maker: Met on time 199" in charts.alt_text(table)


def test_every_printed_value_fits_inside_the_image_beside_long_labels() -> None:
    table = Table(
        "averages",
        "Averages against their thresholds",
        (
            Column("measure", "Measure"),
            Column("average_days", "Average days", "days"),
            Column("threshold_days", "Threshold days", "days"),
        ),
        (
            {
                "measure": "A1: entering care to moving in with the adoptive family",
                "average_days": 574.1,
                "threshold_days": 426,
            },
            {"measure": "A2: authority to place to the match decision", "average_days": 188.9, "threshold_days": 121},
            {"measure": "A3: moved in within 14 months of entering care", "average_days": None, "threshold_days": None},
        ),
        "bar",
        "measure",
        ("average_days", "threshold_days"),
    )
    root = parse(charts.svg(table))

    overlay = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "plot text-overlay")
    left = float(re.findall(r"[\d.]+", overlay.get("transform") or "")[0])
    ends = {t.text: left + float(t.get("x") or 0) + charts.text_width(t.text or "") for t in overlay.iter(f"{SVG}text")}
    assert set(ends) == {"Average days: 574.1", "Threshold days: 426", "Average days: 188.9", "Threshold days: 121"}
    assert max(ends.values()) <= charts.WIDTH  # nothing cut at the edge (A3 has no values: no bar, no label)


def test_a_table_with_no_rows_has_no_chart_and_says_so(client: TestClient, reports: HandMadeReports) -> None:
    empty = Table("none", "Nothing yet", (Column("a", "A"), Column("n", "N", "int")), (), "bar", "a", ("n",))

    assert not charts.drawn(empty)
    with pytest.raises(ValueError, match="'none' has no chart"):
        charts.svg(empty)
    assert report_files.to_text(Report("x", "X", YEAR, AS_OF, {}, (empty,))).endswith("Nothing yet\nA  N\n(none)\n")


def test_the_services_refusal_of_a_filter_is_shown_against_it(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("service_manager"))

    page = client.get("/reports/compliance?journey=child_adoption_pathway")

    assert page.status_code == 400
    message = "The compliance report covers foster_carer_approval, not &#39;child_adoption_pathway&#39;"
    assert f'<a href="#journey">{message}</a>' in page.text
    assert 'class="govuk-select govuk-select--error" id="journey"' in page.text
    assert "<table" not in page.text


def test_the_journey_select_offers_the_journeys_the_report_covers(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("service_manager"))

    funnel = client.get("/reports/funnel").text
    options = re.findall(r'<option value="([^"]*)"', funnel.split('id="journey"')[1].split("</select>")[0])
    assert options == ["", "connected_person_approval", "foster_carer_approval"]  # the registry's order
    assert 'id="journey"' not in client.get("/reports/scorecard").text  # one journey: nothing to pick
    assert 'id="journey"' in client.get("/reports/compliance").text


def test_a_long_chart_is_described_briefly_pointing_at_its_table() -> None:
    rows = tuple({"rule": f"R{i}", "n": i} for i in range(13))
    table = Table("long", "Long", (Column("rule", "Rule"), Column("n", "Due", "int")), rows, "bar", "rule", ("n",))

    assert (
        charts.alt_text(table) == "Bar chart: Long. Due in 13 rows, one per rule; the table below gives every figure."
    )
    width, height = charts.size(table)
    assert width == 640
    assert height >= 13 * (18 + 10)  # taller with more rows: bars a little thinner, still room for their values
    root = parse(charts.svg(table))
    assert printed(root) == [str(i) for i in reversed(range(13))]  # every value still printed


# -- the chart images ---------------------------------------------------------------------------

CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def test_a_chart_is_served_as_svg_with_the_pages_filters_and_a_policy_of_its_own(
    client: TestClient, reports: HandMadeReports
) -> None:
    sign_in(client, email_for("team_manager"))
    query = "as_of-day=30&as_of-month=4&as_of-year=2026&team=Fostering+East"
    page = client.get(f"/reports/funnel?{query}")
    src = re.findall(r'<img class="carepath-chart" src="([^"]*)"', page.text)[0].replace("&amp;", "&")
    assert re.fullmatch(rf"/reports/funnel/charts/steps_mainstream\.svg\?{re.escape(query)}&r=[\w-]{{16}}", src)
    asked = len(reports.asked)

    r = client.get(src)
    assert len(reports.asked) == asked  # the page's own report, not computed again
    again = client.get(src.rsplit("&r=", 1)[0] + "&r=someone-elses")  # no such page: computed afresh
    assert again.status_code == 200
    assert len(reports.asked) == asked + 1
    sign_in(client, email_for("service_manager"))
    assert client.get(src).status_code == 200  # another user's token is not theirs: computed for them
    assert len(reports.asked) == asked + 2

    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.headers["content-security-policy"] == CHART_CSP  # its inline style applies, nothing else
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert reports.asked[-1] == {  # the same service call as the page's
        "name": "funnel",
        "start": None,
        "end": None,
        "as_of": date(2026, 4, 30),
        "team": "Fostering East",
        "journey": None,
    }
    root = parse(r.content)
    assert printed(root) == ["22", "23", "64", "191"]  # the table's values
    assert root.find(f"{SVG}defs/{SVG}style") is not None
    assert not list(root.iter(f"{SVG}script"))
    # every page keeps the strict policy: no inline style
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert "style-src 'self'" in page.headers["content-security-policy"]


def test_a_line_chart_is_served_too(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("service_manager"))

    r = client.get("/reports/funnel/charts/timeliness.svg")

    assert r.status_code == 200
    assert "251 90th percentile days" in printed(parse(r.content))


def test_bad_chart_requests_are_refused_not_crashed(client: TestClient, reports: HandMadeReports) -> None:
    sign_in(client, email_for("team_manager"))

    assert client.get("/reports/funnel/charts/nope.svg").status_code == 404  # no such table
    assert client.get("/reports/funnel/charts/target.svg").status_code == 404  # a table without a chart
    assert client.get("/reports/leakage/charts/steps_mainstream.svg").status_code == 404  # no such report
    asked = len(reports.asked)
    bad_day = client.get("/reports/funnel/charts/steps_mainstream.svg?as_of-day=31&as_of-month=2&as_of-year=2026")
    assert bad_day.status_code == 400
    assert len(reports.asked) == asked  # nothing computed
    refused = client.get("/reports/compliance/charts/steps_mainstream.svg?journey=child_adoption_pathway")
    assert refused.status_code == 400  # the service's refusal of the filter
