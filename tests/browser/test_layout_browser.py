"""The layout and the form macros in a real browser, under carepath's Content-Security-Policy.

A page rendered from layout.html (with every form macro, errors showing) is served with the
static folder by a plain http.server; chromium loads it, axe-core checks it, and the page's own
stylesheet and scripts must load with nothing blocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from playwright.sync_api import Page

from tests.browser.conftest import CONTENT_SECURITY_POLICY, assert_accessible, serve_asgi, serve_folder

WEB = Path(str(files("carepath.entrypoints.web")))

PAGE = """{% extends "layout.html" %}
{% from "macros.html" import error_summary, date_input, radios, textarea, select, checkboxes, text_input,
   summary_list, tag, pagination, button, csrf %}
{% block title %}Record the panel's recommendation – FC-2026-0001{% endblock %}
{% block before_content %}<a href="/cases/FC-2026-0001" class="govuk-back-link">Back</a>{% endblock %}
{% block content %}
{{ error_summary(errors) }}
<h1 class="govuk-heading-l">Record the panel's recommendation</h1>
{{ summary_list([("Reference", "FC-2026-0001"), ("Panel", tag("Due in 3 working days", "yellow"))]) }}
<form method="post" action="/cases/FC-2026-0001/actions/record_recommendation" novalidate>
  {{ csrf("tok-123") }}
  {{ date_input("panel_on", "Date of the panel", "For example, 27 3 2026",
                {"day": "31", "month": "2", "year": "2026"}, "The date of the panel must be a real date") }}
  {{ radios("outcome", "Recommendation", [("approve", "Approve"), ("refuse", "Do not approve")],
            error="Choose the panel's recommendation") }}
  {{ select("chair", "Panel chair", [("", "Choose a person"), ("7", "Sam Carter")]) }}
  {{ checkboxes("papers", "Papers seen", [("form_f", "Form F"), ("medical", "Medical report")], ["form_f"]) }}
  {{ text_input("minute_ref", "Minute reference", width=10) }}
  {{ textarea("note", "Note", "What the panel said", max_length=200) }}
  {{ button("Record the panel's recommendation") }}
  {{ button("Cancel", secondary=True) }}
</form>
{{ pagination("/cases?page=1", "/cases?page=3") }}
{% endblock %}
"""
CONTEXT: dict[str, Any] = {
    "council_name": "Exampleshire County Council",
    "user_name": "Sam Carter",
    "csrf_token": "tok-123",
    "nav": [
        {"label": "My work", "href": "/my-work", "active": True, "badge": 3, "badge_label": "overdue"},
        {"label": "Cases", "href": "/cases", "active": False},
        {"label": "Panels", "href": "/panels", "active": False, "badge": 2, "badge_label": "ready for panel"},
    ],
    "errors": [
        ("panel_on-day", "The date of the panel must be a real date"),
        ("outcome", "Choose the panel's recommendation"),
    ],
}
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("site")
    (root / "static").symlink_to(WEB / "static", target_is_directory=True)
    env = Environment(
        loader=FileSystemLoader(WEB / "templates"), autoescape=select_autoescape(), undefined=StrictUndefined
    )
    (root / "index.html").write_text(env.from_string(PAGE).render(CONTEXT), encoding="utf-8")
    banner = {**CONTEXT, "errors": [], "flash": {"text": "The case was reassigned to Sam Carter", "success": True}}
    (root / "banner.html").write_text(env.from_string(PAGE).render(banner), encoding="utf-8")
    (root / "plain.html").write_text(env.from_string(PAGE).render({**CONTEXT, "errors": []}), encoding="utf-8")
    with serve_folder(root) as url:
        yield url


def load(page: Page, url: str) -> list[str]:
    """Load the page and wait for its scripts; returns every failed or refused request."""
    problems: list[str] = []
    page.on("requestfailed", lambda request: problems.append(f"failed {request.url}"))
    page.on(
        "response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}")
    )
    page.add_init_script(WATCH_CSP)
    page.goto(url)
    page.wait_for_function("document.body.classList.contains('govuk-frontend-supported')")
    return problems


@pytest.fixture
def loaded(page: Page, site: str) -> tuple[Page, list[str]]:
    """The form page with two errors, loaded, and its failed or refused requests."""
    return page, load(page, f"{site}/index.html")


@pytest.mark.parametrize("name", ["index", "banner", "plain"])
def test_the_layout_with_every_form_macro_has_no_axe_violations(page: Page, site: str, name: str) -> None:
    problems = load(page, f"{site}/{name}.html")

    assert_accessible(page)
    assert problems == []


def test_a_success_banner_is_announced_and_takes_focus(page: Page, site: str) -> None:
    load(page, f"{site}/banner.html")

    banner = page.get_by_role("alert")
    assert "The case was reassigned to Sam Carter" in banner.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('govuk-notification-banner')")


def test_the_stylesheet_and_scripts_load_under_the_csp_with_system_fonts(loaded: tuple[Page, list[str]]) -> None:
    page, problems = loaded

    body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
    heading_font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "GDS Transport" not in body_font
    assert heading_font.startswith("system-ui")  # carepath.css applied, not the browser's default
    sign_out = page.get_by_role("button", name="Sign out")
    assert sign_out.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"  # carepath's own rules
    council = page.locator(".moj-header__link--organisation-name")
    assert council.evaluate("e => getComputedStyle(e).textDecorationLine") == "none"
    assert page.evaluate("window.__csp") == []
    assert problems == []


def test_govuk_frontend_javascript_runs_from_the_module_bundle(loaded: tuple[Page, list[str]]) -> None:
    page, _ = loaded

    # the error summary takes focus on load, and the character count counts as the user types
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    page.get_by_label("Note").fill("Twelve chars")
    expect_text = "You have 188 characters remaining"
    page.wait_for_function(f"document.body.innerText.includes({expect_text!r})")
    page.get_by_role("link", name="The date of the panel must be a real date").click()
    assert page.evaluate("document.activeElement.id") == "panel_on-day"


def test_the_skip_link_is_the_first_stop_and_leads_to_main(page: Page, site: str) -> None:
    page.goto(f"{site}/plain.html")  # no error summary or success banner taking focus on load
    page.wait_for_function("document.body.classList.contains('govuk-frontend-supported')")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"


def test_serve_asgi_runs_an_app_the_browser_can_reach(page: Page) -> None:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    async def home(_: object) -> HTMLResponse:
        body = (
            '<!DOCTYPE html><html lang="en-GB"><head><title>Up – carepath</title></head><body><h1>Up</h1></body></html>'
        )
        return HTMLResponse(body, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})

    with serve_asgi(Starlette(routes=[Route("/", home)])) as url:
        page.goto(url)
        assert page.title() == "Up – carepath"
