"""The managers' reports in a real browser (Debian's chromium), on the demo caseload.

A service manager answers the issue's two questions from the pages alone: "where do our enquiries
leak, and how many more applications do we need this year?" (the funnel) and "what is our A1, A2
and A10?" (the scorecard, over a period typed into the filter form). The pages' figures are checked
against ``ReportService``'s own; axe-core finds no WCAG 2.2 A/AA violation on the index, the funnel,
the scorecard with its form open, a form with an error, and a stage diagram; every chart (an SVG
image pygal drew, served on its own) loads under the page's strict Content-Security-Policy and is
named by its alt text; and the filter form works with JavaScript off.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import assert_accessible, serve_asgi

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from carepath.config.bootstrap import App

SERVICE_MANAGER = "sam.servicemanager@demo.carepath.invalid"


@dataclass
class Demo:
    url: str
    app: App


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo caseload (seeded through the real services) served by the web app."""
    from carepath.config import passwords
    from carepath.engine.clock import FixedClock
    from carepath.entrypoints.demo import seed
    from carepath.entrypoints.web.app import create_app
    from tests.conftest import _migrated_engine
    from tests.web.conftest import NOW, build_app

    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'demo.db'}"
    _migrated_engine(url).dispose()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "PARAMETERS", passwords.CHEAP)
        app = build_app(url, FixedClock(NOW))
        seed(app, households=200, children=30, seed_value=1)
        with serve_asgi(create_app(app)) as served:
            yield Demo(served, app)
        app.dispose()


def signed_in(browser: Browser, demo: Demo, email: str, *, javascript: bool = True) -> Page:
    from carepath.entrypoints.demo.org import DEMO_PASSWORD

    page = browser.new_context(java_script_enabled=javascript, accept_downloads=True).new_page()
    page.goto(f"{demo.url}/sign-in")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/sign-in" not in page.url
    return page


def key_figure(page: Page, label: str) -> str:
    """The value beside ``label`` in the page's key figures."""
    row = page.locator(".govuk-summary-list__row", has=page.locator("dt", has_text=label))
    return row.locator("dd").inner_text().strip()


def assert_charts_drawn(page: Page) -> None:
    """Every chart image on the page loaded and decoded (an SVG that failed to parse, or a refused
    request, leaves a broken image: no natural width)."""
    images = page.locator("img.carepath-chart")
    assert images.count() > 0
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        loaded = image.evaluate("img => img.decode().then(() => img.naturalWidth)")
        assert loaded == 640, image.get_attribute("src")


def test_where_do_our_enquiries_leak_and_how_many_more_applications_do_we_need(
    browser: Browser, demo: Demo, tmp_path: Path
) -> None:
    page = signed_in(browser, demo, SERVICE_MANAGER)
    page.get_by_role("link", name="Reports").click()
    assert_accessible(page)  # the index
    page.get_by_role("link", name="Fostering recruitment funnel").click()
    assert page.url.endswith("/reports/funnel")
    assert_accessible(page)

    data = demo.app.reports.report(demo.app.directory.actor(SERVICE_MANAGER), "funnel").data
    assert key_figure(page, "More applications needed") == str(data["applications_short_of_target"])
    assert key_figure(page, "Applications received") == str(data["applications"])
    assert key_figure(page, "Enquiries in the period") == str(data["enquiries"])
    # where they leak: drop-outs by stage and by reason, each a chart named for screen readers and a table
    for heading in ("Drop-outs by stage", "Drop-outs by reason"):
        section = page.locator("section", has=page.get_by_role("heading", name=heading, exact=True))
        assert section.get_by_role("img", name=f"Bar chart: {heading}.").count() == 1
        assert section.locator("table tbody tr").count() > 0
    assert_charts_drawn(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("funnel-2026-04-01-to-2026-11-02-as-of-2026-11-02")
    text = saved.read_text(encoding="utf-8-sig")
    assert f"More applications needed,{data['applications_short_of_target']}" in text


def test_what_is_our_a1_a2_and_a10(browser: Browser, demo: Demo) -> None:
    page = signed_in(browser, demo, SERVICE_MANAGER)
    page.goto(f"{demo.url}/reports/scorecard")
    page.get_by_text("Change the period").click()
    for name, (day, month, year) in (("from", ("1", "4", "2024")), ("to", ("2", "11", "2026"))):
        page.fill(f"#{name}-day", day)
        page.fill(f"#{name}-month", month)
        page.fill(f"#{name}-year", year)
    page.get_by_role("button", name="Show the report").click()
    page.wait_for_load_state()
    assert "from-year=2024" in page.url

    from datetime import date

    actor = demo.app.directory.actor(SERVICE_MANAGER)
    data = demo.app.reports.report(actor, "scorecard", start=date(2024, 4, 1), end=date(2026, 11, 2)).data
    for key, label in (("a1_days", "A1:"), ("a10_days", "A10:"), ("a2_days", "A2:")):
        shown = key_figure(page, label)
        average = data["averages"][key]
        assert average is not None, key
        expected = f"{average:,.0f}" if float(average).is_integer() else f"{average:,.1f}"
        assert shown.startswith(f"{expected} days on average over {data['counts'][key]} "), (key, shown)
        assert f"threshold {data['thresholds'][key]} days" in shown
    children = page.locator("section", has=page.get_by_role("heading", name="Each adopted child's contribution"))
    assert children.locator("tbody tr").count() == len(data["children"])
    page.get_by_text("Change the period").click()  # the form open, for axe too
    assert_accessible(page)


def test_a_date_that_is_not_a_date_is_an_accessible_error(browser: Browser, demo: Demo) -> None:
    page = signed_in(browser, demo, SERVICE_MANAGER)
    page.goto(f"{demo.url}/reports/compliance?as_of-day=31&as_of-month=2&as_of-year=2026")

    summary = page.locator(".govuk-error-summary")
    assert "As of must be a real date" in summary.inner_text()
    assert page.title().startswith("Error: ")
    assert_accessible(page)


def test_the_stage_diagram(browser: Browser, demo: Demo) -> None:
    page = signed_in(browser, demo, SERVICE_MANAGER)
    page.goto(f"{demo.url}/reports")
    page.get_by_role("link", name="Foster carer approval (mainstream)").click()

    diagram = page.get_by_role(
        "img", name="Foster carer approval (mainstream): open cases and median days in each stage"
    )
    assert diagram.count() == 1
    stages = demo.app.reports.stages(demo.app.directory.actor(SERVICE_MANAGER), "foster_carer_approval")
    rows = stages.tables[0].rows
    counts = page.locator("svg .carepath-stage__count").all_text_contents()
    assert counts == [f"{row['open']} open" for row in rows]
    assert_accessible(page)


def test_the_filters_work_without_javascript(browser: Browser, demo: Demo) -> None:
    page = signed_in(browser, demo, SERVICE_MANAGER, javascript=False)
    page.goto(f"{demo.url}/reports/funnel")
    page.locator("summary", has_text="Change the period").click()  # <details> needs no script
    page.fill("#as_of-day", "30")
    page.fill("#as_of-month", "6")
    page.fill("#as_of-year", "2026")
    page.select_option("#journey", "foster_carer_approval")
    page.get_by_role("button", name="Show the report").click()
    page.wait_for_load_state()

    assert "the end of Tuesday 30 June 2026" in page.locator("main").inner_text()
    charts = page.locator("img.carepath-chart")  # images: no script needed to show them
    assert charts.count() > 0
    src = charts.first.get_attribute("src")
    assert src is not None
    assert "as_of-day=30" in src  # drawn with the page's filters
    assert "journey=foster_carer_approval" in src
    assert page.request.get(f"{demo.url}{src}").headers["content-type"] == "image/svg+xml"
