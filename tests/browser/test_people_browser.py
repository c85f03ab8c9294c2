"""A caseworker records the people of a case in a real browser (Debian's chromium through Playwright).

The app runs under uvicorn on a free port over a SQLite file with the real journeys. The caseworker
adds a child through the form (first with mistakes, shown in the error summary), sees them on the
case page, opens their page, and finds someone recorded on another case to link. axe-core (WCAG 2.2
A and AA) finds no violation on the add form with its errors, the link search with its results, and
the person's page.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from tests.browser.conftest import Site, assert_accessible, signed_in
from tests.support import email_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser


CW = email_for("caseworker")
ADMIN = "admin@council.test"


def test_a_caseworker_adds_a_child_and_links_someone_already_recorded(browser: Browser, site: Site) -> None:
    ref = site.app.cases.open_case("foster_carer_approval", CW, team_id=site.team_id).ref
    other = site.app.cases.open_case("foster_carer_approval", CW, team_id=site.team_id).ref
    site.app.persons.add(other, "birth_parent", "Grace", "Okafor", CW, born_on=date(1990, 6, 1))
    cw = signed_in(browser, site, CW)

    cw.goto(f"{site.url}/cases/{ref}")
    cw.get_by_role("link", name="Add a person").click()
    assert cw.url == f"{site.url}/cases/{ref}/people/add"
    cw.fill("#given_names", "Amelia Rose")
    cw.fill("#born_on-day", "14")
    cw.fill("#born_on-month", "3")
    cw.get_by_role("button", name="Add to the case").click()
    assert cw.title().startswith("Error: ")
    summary = cw.locator(".govuk-error-summary")
    assert "Enter family name" in summary.inner_text()
    assert "Select their role in this case" in summary.inner_text()
    assert "Date of birth must include a year" in summary.inner_text()
    assert cw.input_value("#given_names") == "Amelia Rose"  # kept
    assert_accessible(cw)  # the add form with its errors

    summary.get_by_role("link", name="Enter family name").click()
    cw.fill("#family_name", "Okafor")
    cw.fill("#born_on-year", "2019")
    cw.get_by_label("Female").check()
    cw.select_option("#ethnicity", "BAFR")
    cw.get_by_label("Child", exact=True).check()
    cw.get_by_role("button", name="Add to the case").click()
    assert cw.url == f"{site.url}/cases/{ref}?added=child"
    assert "Person added to the case as: Child." in cw.locator(".govuk-notification-banner").inner_text()
    assert "Amelia" not in cw.url
    assert "Amelia" not in cw.title()

    cw.get_by_role("link", name="Amelia Rose Okafor").click()
    assert re.fullmatch(rf"{re.escape(site.url)}/people/\d+\?from={ref}", cw.url), cw.url
    assert cw.locator("h1").inner_text().endswith("Amelia Rose Okafor")
    assert "Thursday 14 March 2019" in cw.content()
    assert "Black African (BAFR)" in cw.content()
    assert "Amelia" not in cw.title()
    assert_accessible(cw)  # the person's page
    cw.get_by_role("link", name=f"Back to {ref}").click()
    assert cw.url == f"{site.url}/cases/{ref}"

    cw.get_by_role("link", name="Link someone already recorded").click()
    cw.fill("#name", "Grace Okafr")
    cw.get_by_role("button", name="Search").click()
    row = cw.locator("tbody tr", has_text="Grace Okafor")
    assert "Friday 1 June 1990" in row.inner_text()
    assert_accessible(cw)  # the search with its results and a form per row
    row.get_by_label("Role of Grace Okafor in this case").select_option("birth_parent")
    row.get_by_role("button", name="Link to this case").click()
    assert cw.url == f"{site.url}/cases/{ref}?linked=birth_parent"
    people = cw.locator("main").inner_text()
    assert "Grace Okafor" in people
    assert "Birth parent" in people


def test_a_caseworker_corrects_a_mistyped_name_and_takes_a_person_off_a_case_linked_in_error(
    browser: Browser, site: Site
) -> None:
    right = site.app.cases.open_case("foster_carer_approval", CW, team_id=site.team_id).ref
    wrong = site.app.cases.open_case("foster_carer_approval", CW, team_id=site.team_id).ref
    person_id = site.app.persons.add(right, "child", "Amelia", "Okafer", CW, born_on=date(2019, 3, 14)).person_id
    site.app.persons.link(person_id, wrong, "child", CW)
    cw = signed_in(browser, site, CW)

    cw.goto(f"{site.url}/people/{person_id}")
    cw.get_by_role("link", name="Correct their details").click()
    assert cw.input_value("#family_name") == "Okafer"  # the form shows the details as recorded
    assert cw.input_value("#born_on-year") == "2019"
    cw.fill("#born_on-month", "13")
    cw.get_by_role("button", name="Save the corrections").click()
    assert cw.title().startswith("Error: ")
    assert "Date of birth must be a real date" in cw.locator(".govuk-error-summary").inner_text()
    assert_accessible(cw)  # the correction form with its error
    cw.fill("#born_on-month", "3")
    cw.fill("#family_name", "Okafor")
    cw.get_by_role("button", name="Save the corrections").click()
    assert cw.url == f"{site.url}/people/{person_id}?corrected=family_name"
    assert "Details corrected: family name." in cw.locator(".govuk-notification-banner").inner_text()
    assert cw.locator("h1").inner_text().endswith("Amelia Okafor")

    cw.get_by_role("link", name=f"Take off this case ({wrong})").click()
    assert "Take Amelia Okafor off this case?" in cw.locator("h1").inner_text()
    assert_accessible(cw)  # the confirmation
    cw.get_by_role("button", name="Take them off this case").click()
    assert cw.url == f"{site.url}/cases/{wrong}?removed=child"
    assert "Person taken off the case" in cw.locator(".govuk-notification-banner").inner_text()
    assert "Amelia Okafor" not in cw.locator("main").inner_text()
    cw.goto(f"{site.url}/cases/{right}")
    assert "Amelia Okafor" in cw.locator("main").inner_text()
