"""Each role's day in a real browser (Debian's chromium through Playwright), on the real app.

The app runs under uvicorn on a free port over a SQLite file with the real journeys; the clock is
a FixedClock the test moves, never a sleep. Every page type is checked with axe-core (WCAG 2.2 A
and AA: 0 violations) as the day reaches it, and one journey is done with the keyboard alone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.browser.conftest import Site, assert_accessible, signed_in
from tests.support import email_for
from tests.web.conftest import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


CW, TM, PC, ADM = (email_for(r) for r in ("caseworker", "team_manager", "panel_coordinator", "agency_decision_maker"))
ADMIN = "admin@council.test"
TODAY = "2026-11-02"


def act(
    page: Page, site: Site, ref: str, trigger: str, facts: dict[str, Any] | None = None, check: bool = False
) -> None:
    """Open the move's form from the case page, fill each fact by its input type, submit."""
    page.goto(f"{site.url}/cases/{ref}/actions/{trigger}")
    for name, value in (facts or {}).items():
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            year, month, day = value.split("-")
            page.fill(f"#{name}-day", str(int(day)))
            page.fill(f"#{name}-month", str(int(month)))
            page.fill(f"#{name}-year", year)
        elif page.locator(f"input[type=radio][name={name}]").count():
            page.check(f"input[type=radio][name={name}][value='{value}']")
        elif page.locator(f"select#{name}").count():
            page.select_option(f"select#{name}", str(value))
        else:
            page.fill(f"#{name}", str(value))
    if check:
        assert_accessible(page)
    page.click(f"form[action$='/actions/{trigger}'] button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith(f"?done={trigger}"), f"{trigger}: {page.locator('.govuk-error-summary').all_inner_texts()}"


def state_of(site: Site, ref: str) -> str:
    return site.app.reads.case(ref, site.app.directory.actor(TM)).state


def test_an_enquiry_to_approval_through_the_browser(browser: Browser, site: Site) -> None:
    """A caseworker and their manager take an enquiry to ready for panel; the coordinator books it
    and records the panel; the decision maker decides after the minutes."""
    cw = signed_in(browser, site, CW)
    assert_accessible(cw)  # My work
    cw.click("text=Cases")
    assert_accessible(cw)  # search
    ref = site.app.cases.open_case("foster_carer_approval", CW, team_id=site.team_id).ref
    cw.goto(f"{site.url}/my-work")
    cw.click(f"a[href='/cases/{ref}']")
    assert_accessible(cw)  # the case page
    act(cw, site, ref, "send_information", check=True)
    act(cw, site, ref, "hold_initial_visit")

    tm = signed_in(browser, site, TM)
    tm.goto(f"{site.url}/cases/{ref}/actions/accept_application")
    tm.click("form[action$='/actions/accept_application'] button[type=submit]")
    assert tm.locator(".govuk-error-summary").is_visible()
    assert_accessible(tm)  # a form with its errors
    act(tm, site, ref, "accept_application", {"application_received_on": TODAY})

    act(cw, site, ref, "start_assessment")
    for trigger, fact in (
        ("record_dbs_checks", "dbs_checks_on"),
        ("record_la_checks", "la_checks_on"),
        ("record_medical", "medical_on"),
        ("record_referee_interviews", "referees_interviewed_on"),
        ("record_training", "training_completed_on"),
    ):
        act(cw, site, ref, trigger, {fact: TODAY})
    act(cw, site, ref, "complete_report", {"report_completed_on": TODAY, "report_type": "full"})
    act(cw, site, ref, "share_report", {"report_shared_on": TODAY})
    act(tm, site, ref, "authorise_report", {"report_authorised_on": TODAY})
    assert state_of(site, ref) == "ready_for_panel"
    tm.goto(f"{site.url}/team")
    assert_accessible(tm)

    from datetime import date

    site.app.panels.add_sitting(date(2026, 11, 9), "fostering", PC)  # a panel date must name a sitting
    pc = signed_in(browser, site, PC)
    assert_accessible(pc)  # the panels page is the coordinator's home
    assert pc.locator(f"a[href='/cases/{ref}']").count() == 1
    act(pc, site, ref, "book_panel", {"panel_date": "2026-11-09"})
    act(pc, site, ref, "circulate_papers", {"papers_circulated_on": TODAY})
    site.clock.advance(days=7)  # the panel sits; a week idle signs everyone out
    pc = signed_in(browser, site, PC)
    act(
        pc,
        site,
        ref,
        "record_recommendation",
        {"panel_held_on": "2026-11-09", "recommendation": "suitable", "panel_members": email_for("panel_adviser")},
    )
    act(pc, site, ref, "record_final_minutes", {"minutes_received_on": "2026-11-09"})

    adm = signed_in(browser, site, ADM)
    assert "/decisions" in adm.url
    assert_accessible(adm)
    adm.click(f"a[href='/cases/{ref}']")
    act(adm, site, ref, "approve", {"approval_terms": "Up to two children aged 0 to 10"})
    assert state_of(site, ref) == "approved"
    adm.goto(f"{site.url}/cases/{ref}/timeline")
    assert_accessible(adm)
    assert adm.locator(".moj-timeline__item").count() >= 17


def test_a_manager_reassigns_an_overdue_case(browser: Browser, site: Site) -> None:
    ref = site.app.cases.open_case("foster_carer_approval", CW, team_id=site.team_id).ref
    site.clock.advance(days=10)  # past the first response (FS1)
    tm = signed_in(browser, site, TM)
    assert "/team" in tm.url
    overdue = tm.locator("table", has=tm.locator(f"a[href='/cases/{ref}']")).first
    assert "Overdue" in overdue.inner_text()
    tm.click(f"a[href='/cases/{ref}']")
    tm.click("text=Reassign")
    assert_accessible(tm)
    tm.fill("#owner", TM)
    tm.click("form[action$='/actions/assign'] button[type=submit]")
    tm.wait_for_load_state()
    assert site.app.reads.case_listing(ref, site.app.directory.actor(TM)).owner == TM
    assert "Success" in tm.locator(".govuk-notification-banner").inner_text()


def test_an_email_link_lands_on_the_case_after_sign_in(browser: Browser, site: Site) -> None:
    ref = site.app.cases.open_case("foster_carer_approval", CW, team_id=site.team_id).ref
    page = browser.new_context().new_page()
    page.goto(f"{site.url}/cases/{ref}")
    assert "/sign-in" in page.url
    assert_accessible(page)  # the sign-in page
    page.fill("#email", CW)
    page.fill("#password", "not the password")
    page.click("main button[type=submit]")
    assert page.locator(".govuk-error-summary").is_visible()
    assert_accessible(page)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{site.url}/cases/{ref}"
    assert page.locator("h1").inner_text().endswith(ref)


def test_the_other_page_types_are_accessible(browser: Browser, site: Site) -> None:
    ref = site.app.cases.open_case("foster_carer_approval", CW, team_id=site.team_id).ref
    cw = signed_in(browser, site, CW)
    stale = cw.context.new_page()
    stale.goto(f"{site.url}/cases/{ref}/actions/send_information")
    site.app.cases.note(ref, TM, "Rang the applicant", kind="phone")
    site.app.cases.hold(ref, TM, "Applicant in hospital")
    stale.click("form[action$='/actions/send_information'] button[type=submit]")
    assert "changed since you opened it" in stale.content()
    assert_accessible(stale)  # the stale-form refusal
    for path in ("/deadlines", f"/cases?q={ref}", "/cases?q=Nobody", "/cases/NOPE-2026-0001"):
        cw.goto(f"{site.url}{path}")
        assert_accessible(cw)
    admin = signed_in(browser, site, ADMIN)
    for path in ("/admin/users", "/admin/calendar", "/admin/workflows", f"/admin/viewers?ref={ref}"):
        admin.goto(f"{site.url}{path}")
        assert_accessible(admin)


def test_a_note_with_the_keyboard_alone(browser: Browser, site: Site) -> None:
    ref = site.app.cases.open_case("foster_carer_approval", CW, team_id=site.team_id).ref
    page = browser.new_context().new_page()
    page.goto(f"{site.url}/sign-in?next=/cases/{ref}")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    page.keyboard.press("Enter")
    tabs = 0
    while page.evaluate("document.activeElement.id") != "email" and tabs < 20:
        page.keyboard.press("Tab")
        tabs += 1
    page.keyboard.type(CW)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/cases/{ref}")
    for _ in range(80):  # tab through the case page to the note button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip() == "Add a note or contact":
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**/actions/note")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.name")
    while focused != "kind":
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.name")
    page.keyboard.press("Space")  # choose the first kind: a note
    while page.evaluate("document.activeElement.name") != "text":
        page.keyboard.press("Tab")
    page.keyboard.type("Phoned the applicant about the visit")
    while page.evaluate("document.activeElement.tagName") != "BUTTON":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{ref}?done=note")
    _, history = site.app.reads.history(ref, site.app.directory.actor(TM))
    assert history.items[-1].event.note == "Phoned the applicant about the visit"


def test_the_panel_coordinators_day_on_the_sitting_page(browser: Browser, site: Site) -> None:
    """Add a sitting, book a ready case, send papers, record attendance, the recommendation and the
    minutes; every step in the browser, each page checked with axe."""
    from tests.web.test_panel_pages import members, ready_case

    staff = type("S", (), {"team_id": site.team_id})()
    ref = ready_case(site.app, staff)  # type: ignore[arg-type]
    ids = members(site.app)
    pc = signed_in(browser, site, PC)
    pc.fill("#day-day", "16")
    pc.fill("#day-month", "11")
    pc.fill("#day-year", "2026")
    pc.check("input[name=panel_type][value=fostering]")
    pc.click("form[action='/panels'] button[type=submit]")
    pc.wait_for_load_state()
    assert_accessible(pc)  # the sitting page
    pc.fill("#ref", ref)
    pc.click("form[action$='/book'] button[type=submit]")
    pc.click(f"button[formaction$='/papers'][value='{ref}']")
    for i in ids:
        pc.check(f"input[name=members][value='{i}']")
    pc.click("form[action$='/attendance'] button[type=submit]")
    assert "Quorate" in pc.locator("dl").inner_text()
    site.clock.advance(days=14)
    pc = signed_in(browser, site, PC)
    pc.goto(f"{site.url}/panels")
    pc.click("a[href^='/panels/']")
    pc.check(f"input[name='outcome-{ref}'][value=suitable]")
    assert_accessible(pc)  # the recommendations form
    pc.click("text=Record the panel's recommendations")
    pc.wait_for_load_state()
    pc.click("text=Record the final minutes")
    pc.wait_for_load_state()
    assert state_of(site, ref) == "awaiting_adm"
    pc.goto(f"{site.url}/panels/members")
    assert_accessible(pc)  # the members and their calendar links
