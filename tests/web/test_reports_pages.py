"""The reports pages and downloads on the real ``ReportService``, on SQLite and PostgreSQL.

Seven mainstream fostering households are walked through the real case service (the worked example
of tests/integration/test_reports_examples.py: one enquired in January 2026 and was approved in
June; six enquired in April 2026 and each withdrew at a different stage, AW0 to AW5), then a
service manager reads the funnel in the browser's place (Starlette's TestClient). The counts below
are worked out by hand from that walk:

- in 2026-27 to 30 November: enquiries 2-7 (6), initial visits 4-7 (4), applications 5-7 (3),
  assessments 6 and 7 (2), panel and approval: household 1 (1 and 1);
- the cohort of those six enquiries followed to 30 November: 6, 4, 3, 2, and none reached panel;
- 15% of 6 enquiries is 0.9, so 1 application meets the target; 3 were received: 0 more needed.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from carepath.engine.clock import FixedClock
from tests.integration.test_reports_examples import walk_fostering
from tests.web.conftest import PASSWORD, build_app, sign_in
from tests.workflows.helpers import ADMIN, BY_ROLE, Walker

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

FC = "foster_carer_approval"


@pytest.fixture
def walked(db_url: str) -> Iterator[TestClient]:
    """The seven households walked; the clock on Monday 30 November 2026; a client for the web app."""
    from fastapi.testclient import TestClient

    from carepath.entrypoints.web.app import create_app

    clock = FixedClock(datetime(2025, 11, 3, 9, 0, tzinfo=UTC))
    app = build_app(db_url, clock)
    w = Walker(app, clock)
    walk_fostering(w)
    w.at("2026-11-30")
    app.accounts.set_passwords(list(BY_ROLE.values()), PASSWORD, ADMIN)
    with TestClient(create_app(app), base_url="http://testserver", follow_redirects=False) as client:
        yield client
    app.dispose()


def key_figures(html: str) -> dict[str, str]:
    found = re.search(r"Key figures</h2>(.*?)</dl>", html, re.S)
    assert found, "no key figures on the page"
    pairs = re.findall(r'__key">([^<]*)</dt>\s*<dd class="govuk-summary-list__value">([^<]*)</dd>', found.group(1))
    return dict(pairs)


def test_the_funnel_page_and_its_csv_hold_the_walked_figures(walked: TestClient) -> None:
    sign_in(walked, BY_ROLE["service_manager"])

    page = walked.get(f"/reports/funnel?journey={FC}")

    assert page.status_code == 200, page.text[-2000:]
    assert "2026-27 so far (1 Apr 2026 to 30 Nov 2026)" in page.text  # the financial year, to the as-of day
    assert key_figures(page.text) == {
        "Enquiries in the period": "6",
        "Applications received": "3",
        "Applications needed to convert 15% of them": "1",
        "More applications needed": "0",
    }
    # the steps' chart: an image of the same figures, served on its own with the page's filters
    src = re.search(r'<img class="carepath-chart" src="([^"]*steps_mainstream[^"]*)" alt="([^"]*)"', page.text)
    assert src is not None
    assert re.fullmatch(rf"/reports/funnel/charts/steps_mainstream\.svg\?journey={FC}&amp;r=[\w-]{{16}}", src.group(1))
    assert "Enquiries: In the period 6, Cohort reaching it 6; Initial visits: In the period 4," in src.group(2)
    chart = walked.get(src.group(1).replace("&amp;", "&"))
    assert chart.status_code == 200
    assert (
        chart.headers["content-security-policy"]
        == "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    texts = [t.text or "" for t in ET.fromstring(chart.content).iter("{http://www.w3.org/2000/svg}text")]
    period = [int(t.split(": ")[1]) for t in texts if t.startswith("In the period: ")]
    cohort = [int(t.split(": ")[1]) for t in texts if t.startswith("Cohort reaching it: ")]
    assert period[::-1] == [6, 4, 3, 2, 1, 1]  # pygal writes the steps bottom up
    assert cohort[::-1] == [6, 4, 3, 2, 0, 0]
    rows = list(csv.reader(io.StringIO(walked.get(f"/reports/funnel.csv?journey={FC}&table=steps_mainstream").text)))
    body = rows[1:]
    assert [r[1] for r in body] == ["6", "4", "3", "2", "1", "1"]  # in the period
    assert [r[3] for r in body] == ["6", "4", "3", "2", "0", "0"]  # the cohort
    assert body[1][2] == "66.6667"  # 4 initial visits of 6 enquiries, as a percent
    assert body[2][2] == "75"  # 3 applications of 4 visits


def test_as_of_a_day_before_the_april_households_were_entered(walked: TestClient) -> None:
    sign_in(walked, BY_ROLE["service_manager"])

    # Households 2-7 were recorded on 19 June (backdated to April): as of 30 April carepath held none.
    page = walked.get(f"/reports/funnel?journey={FC}&as_of-day=30&as_of-month=4&as_of-year=2026")

    assert page.status_code == 200
    assert key_figures(page.text)["Enquiries in the period"] == "0"
    assert "the end of Thursday 30 April 2026" in page.text


def test_the_xlsx_download_reads_back_with_a_sheet_per_table(walked: TestClient) -> None:
    from openpyxl import load_workbook

    sign_in(walked, BY_ROLE["team_manager"])  # the team's manager: the cases are the team's

    r = walked.get(f"/reports/funnel.xlsx?journey={FC}")

    assert r.status_code == 200
    assert r.headers["content-disposition"] == (
        'attachment; filename="funnel-2026-04-01-to-2026-11-30-as-of-2026-11-30.xlsx"'
    )
    wb = load_workbook(io.BytesIO(r.content))
    steps = wb.worksheets[0]
    assert [c.value for c in steps["B"]][1:] == [6, 4, 3, 2, 1, 1]
    assert steps["C3"].value == pytest.approx(4 / 6)
    assert steps["C3"].number_format == "0.0%"


def test_the_stage_diagram_counts_the_open_cases(walked: TestClient) -> None:
    sign_in(walked, BY_ROLE["service_manager"])

    page = walked.get(f"/reports/stages/{FC}")

    assert page.status_code == 200
    # Every household withdrew or was approved: no stage holds an open case.
    counts = re.findall(r'<text class="carepath-stage__count"[^>]*>([^<]*)</text>', page.text)
    assert counts
    assert set(counts) == {"0 open"}


def test_a_caseworker_is_refused(walked: TestClient) -> None:
    sign_in(walked, BY_ROLE["caseworker"])

    assert walked.get("/reports/funnel").status_code == 403
    assert walked.get("/reports/funnel.csv").status_code == 403
    assert walked.get("/reports/funnel/charts/steps_mainstream.svg").status_code == 403
