"""The web layout and macros render what GOV.UK documents, with nothing a strict CSP would block.

Rendered with plain Jinja2 (StrictUndefined, autoescape), as the web app renders them; each macro
is compared element by element with govuk-frontend-jinja 4.1.0, the port of GOV.UK Frontend
6.3.0's own Nunjucks macros. The committed static files are checked against VERSIONS.txt.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup

WEB = Path(str(files("carepath.entrypoints.web")))
TEMPLATES, STATIC = WEB / "templates", WEB / "static"
COUNCIL = "Exampleshire County Council"


@pytest.fixture(scope="module")
def env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(), undefined=StrictUndefined)


@pytest.fixture(scope="module")
def m(env: Environment) -> Any:
    return env.get_template("macros.html").module


@pytest.fixture(scope="module")
def govuk() -> Environment:
    """govuk-frontend-jinja's macros read missing keys, so they get the default Undefined."""
    pytest.importorskip("govuk_frontend_jinja")
    loader = ChoiceLoader([PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})])
    return Environment(loader=loader, autoescape=True)


def reference(govuk: Environment, component: str, macro: str, params: dict[str, Any]) -> str:
    source = f"{{% from 'govuk_frontend_jinja/components/{component}/macro.html' import {macro} %}}{{{{ {macro}(p) }}}}"
    return govuk.from_string(source).render(p=params)


class Tree(HTMLParser):
    """Elements, attributes and text, with whitespace and class order set aside."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple[Any, ...]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styled: list[str] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "class" in attributes:
            attributes["class"] = " ".join(sorted((attributes["class"] or "").split()))
        self.tokens.append(("start", tag, tuple(sorted(attributes.items()))))
        if tag == "style" or "style" in attributes or any(name.startswith("on") for name in attributes):
            self.styled.append(self.get_starttag_text() or tag)
        if tag == "script":
            self._in_script = attributes
            self.scripts.append((attributes, ""))

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(("end", tag))
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if self._in_script is not None:
            attributes, body = self.scripts[-1]
            self.scripts[-1] = (attributes, body + data.strip())
        if text:
            if self.tokens and self.tokens[-1][0] == "text":  # entities and tags split text runs
                text = self.tokens.pop()[1] + " " + text
            self.tokens.append(("text", text))


def parse(html: str) -> Tree:
    tree = Tree()
    tree.feed(html)
    tree.close()
    return tree


def same_markup(ours: str, theirs: str) -> None:
    assert parse(ours).tokens == parse(theirs).tokens, f"ours:\n{ours}\n\ngovuk-frontend-jinja:\n{theirs}"


def full_page(env: Environment, **context: Any) -> str:
    base = {
        "council_name": COUNCIL,
        "title": "Case FC-2026-0001",
        "user_name": "Sam Carter",
        "csrf_token": "tok-123",
        "nav": [
            {"label": "My work", "href": "/my-work", "active": True, "badge": 3, "badge_label": "overdue"},
            {"label": "Cases", "href": "/cases", "active": False},
        ],
        "flash": {"text": "The panel's recommendation was recorded", "success": True},
    }
    return env.get_template("layout.html").render({**base, **context})


def every_macro(m: Any) -> list[str]:
    return [
        str(m.error_summary([("decided-day", "Enter the date of the decision")])),
        str(m.field_error("Enter a name", id="name-error")),
        *(str(m.tag("Overdue", colour)) for colour in ("red", "yellow", "grey", "green", "orange", "blue", "purple")),
        str(m.pagination("/cases?page=1", "/cases?page=3")),
        str(m.summary_list([("Reference", "FC-2026-0001"), ("Owner", Markup('<a href="/u/1">Sam</a>'))])),
        str(m.date_input("decided", "Date of decision", "For example, 27 3 2026", date(2026, 3, 4), "Enter a date")),
        str(m.text_input("email", "Email address", error="Enter an email address")),
        str(m.textarea("note", "Note", hint="What happened", value="Visited", error="Too long", max_length=10)),
        str(m.radios("outcome", "Recommendation", [("approve", "Approve"), ("refuse", "Refuse")], "refuse")),
        str(m.select("owner", "Owner", [("", "Choose a worker"), ("7", "Sam Carter")], 7)),
        str(m.checkboxes("kinds", "Kinds", [("a", "A"), ("b", "B")], ["b"], error="Choose one")),
        str(m.button("Record the panel's recommendation")),
        str(m.button("Cancel", secondary=True)),
        str(m.csrf("tok-123")),
    ]


# --- the layout ---------------------------------------------------------------------------------


def test_a_minimal_page_renders_under_strict_undefined_with_lang_skip_link_and_main(env: Environment) -> None:
    html = env.get_template("layout.html").render(council_name=COUNCIL, title="Sign in")

    assert '<html lang="en-GB" class="govuk-template">' in html
    assert '<body class="govuk-template__body">' in html
    assert "<title>Sign in – carepath – Exampleshire County Council</title>" in html
    skip = re.search(r'<a href="#main-content" class="govuk-skip-link"[^>]*>Skip to main content</a>', html)
    assert skip is not None
    assert skip.start() < html.index("<header")
    main = html.index('<main class="govuk-main-wrapper" id="main-content">')
    assert html.rfind('<div class="govuk-width-container">', 0, main) > html.index("</header>")
    assert "Sign out" not in html
    assert "moj-primary-navigation" not in html
    assert "notification-banner" not in html


def test_the_header_names_the_council_and_links_carepath_home_without_crown_or_logotype(env: Environment) -> None:
    html = full_page(env)

    header = html[html.index("<header") : html.index("</header>")]
    assert f'moj-header__link--organisation-name carepath-header__organisation">{COUNCIL}</span>' in header
    assert '<a class="moj-header__link moj-header__link--service-name" href="/">carepath</a>' in header
    for branding in ("<svg", "crown", "crest", "GOV.UK", "govuk-logo", "govuk-header__logotype"):
        assert branding.lower() not in html.lower()
    assert COUNCIL in html[html.index("<footer") :]
    assert "Open Government Licence" not in html
    assert "copyright-logo" not in html


def test_signed_in_user_sees_their_name_and_a_sign_out_form_carrying_the_csrf_token(env: Environment) -> None:
    html = full_page(env)

    assert '<span class="govuk-visually-hidden">Signed in as </span>Sam Carter' in html
    form = html[html.index('<form class="carepath-header__sign-out"') : html.index("</form>")]
    assert 'method="post" action="/sign-out"' in form
    assert '<input type="hidden" name="csrf_token" value="tok-123">' in form
    assert '<button type="submit" class="carepath-header__sign-out-button">Sign out</button>' in form


def test_primary_navigation_marks_the_current_section_and_says_what_a_badge_counts(env: Environment) -> None:
    html = full_page(env)

    assert '<a class="moj-primary-navigation__link" aria-current="page" href="/my-work">My work' in html
    assert '<a class="moj-primary-navigation__link" href="/cases">Cases</a>' in html
    assert '<span class="moj-badge">3<span class="govuk-visually-hidden"> overdue</span></span>' in html
    assert 'aria-label="Primary navigation"' in html


def test_a_success_flash_is_a_success_banner_announced_as_an_alert(env: Environment) -> None:
    success = full_page(env)
    plain = full_page(env, flash={"title": "Important", "text": "Panel on 4 March is full"})

    assert 'class="govuk-notification-banner govuk-notification-banner--success" role="alert"' in success
    assert ">Success</h2>" in success
    assert "The panel&#39;s recommendation was recorded" in success
    assert 'class="govuk-notification-banner" role="region"' in plain
    assert ">Important</h2>" in plain
    assert success.index("govuk-notification-banner") > success.index('id="main-content"')


def test_a_page_with_errors_says_so_first_in_its_title(env: Environment) -> None:
    html = full_page(env, errors=[("decided-day", "Enter a date")])

    assert "<title>Error: Case FC-2026-0001 – carepath – Exampleshire County Council</title>" in html


def test_a_child_page_fills_the_title_breadcrumb_and_content_blocks(env: Environment) -> None:
    child = env.from_string(
        '{% extends "layout.html" %}{% block title %}Timeline – FC-2026-0001{% endblock %}'
        '{% block before_content %}<a href="/cases" class="govuk-back-link">Back</a>{% endblock %}'
        '{% block content %}<h1 class="govuk-heading-l">Timeline</h1>{% endblock %}'
    )
    html = child.render(council_name=COUNCIL)

    assert "<title>Timeline – FC-2026-0001 – carepath – Exampleshire County Council</title>" in html
    assert html.index("govuk-back-link") < html.index('id="main-content"') < html.index("<h1")


def test_names_and_text_are_escaped(env: Environment, m: Any) -> None:
    html = full_page(env, user_name="<b>Sam</b>", council_name="A & B <Council>")

    assert "&lt;b&gt;Sam&lt;/b&gt;" in html
    assert "A &amp; B &lt;Council&gt;" in html
    assert "&lt;script&gt;" in str(m.summary_list([("Name", "<script>alert(1)</script>")]))
    assert '<a href="/u/1">Sam</a>' in str(m.summary_list([("Owner", Markup('<a href="/u/1">Sam</a>'))]))


def test_no_inline_script_style_or_event_handler_anywhere(env: Environment, m: Any) -> None:
    for html in [full_page(env), *every_macro(m)]:
        tree = parse(html)
        assert tree.styled == []
        for attributes, body in tree.scripts:
            assert body == ""
            assert attributes.get("src", "").startswith("/static/")
            assert attributes.get("type") == "module"


# --- the macros ---------------------------------------------------------------------------------


def test_error_summary_links_each_message_to_its_field(m: Any) -> None:
    errors = [("decided-day", "Enter the date of the decision"), ("outcome", "Choose a recommendation")]
    summary = str(m.error_summary(errors))
    fields = str(m.date_input("decided", "Date of decision", error="Enter the date of the decision"))
    fields += str(m.radios("outcome", "Recommendation", [("approve", "Approve")], error="Choose a recommendation"))

    assert '<a href="#decided-day">Enter the date of the decision</a>' in summary
    assert '<a href="#outcome">Choose a recommendation</a>' in summary
    for field_id, _ in errors:
        assert f'id="{field_id}"' in fields
    assert str(m.error_summary([])).strip() == ""


def test_date_input_names_its_parts_and_shows_back_what_was_typed(m: Any) -> None:
    typed = str(m.date_input("decided", "Date of decision", value={"day": "31", "month": "2", "year": "2026"}))
    from_date = str(m.date_input("decided", "Date of decision", value=date(2026, 3, 4)))

    for part, shown in (("day", "31"), ("month", "2"), ("year", "2026")):
        assert f'id="decided-{part}" name="decided-{part}" type="text" value="{shown}"' in typed
    assert 'value="4"' in from_date
    assert 'value="3"' in from_date


def test_tag_colours_are_govuk_modifiers_and_blue_is_the_default_tag(m: Any) -> None:
    assert str(m.tag("Overdue", "red")) == '<strong class="govuk-tag govuk-tag--red">Overdue</strong>'
    assert str(m.tag("Open", "blue")) == '<strong class="govuk-tag">Open</strong>'
    css = (STATIC / "carepath.css").read_text()
    for colour in ("red", "yellow", "grey", "green", "orange", "purple"):
        assert f".govuk-tag--{colour}" in css


def test_each_macro_matches_govuk_frontends_own_markup(m: Any, govuk: Environment) -> None:
    legend = {"text": "Recommendation", "classes": "govuk-fieldset__legend--s"}
    pairs = [
        (
            m.error_summary([("a", "Message A"), ("b", "Message B")]),
            reference(
                govuk,
                "error-summary",
                "govukErrorSummary",
                {
                    "titleText": "There is a problem",
                    "errorList": [{"href": "#a", "text": "Message A"}, {"href": "#b", "text": "Message B"}],
                },
            ),
        ),
        (
            m.field_error("Enter a name", id="name-error"),
            reference(govuk, "error-message", "govukErrorMessage", {"text": "Enter a name", "id": "name-error"}),
        ),
        (
            m.tag("Overdue", "red"),
            reference(govuk, "tag", "govukTag", {"text": "Overdue", "classes": "govuk-tag--red"}),
        ),
        (
            m.pagination("/p", "/n"),
            reference(govuk, "pagination", "govukPagination", {"previous": {"href": "/p"}, "next": {"href": "/n"}}),
        ),
        (
            m.summary_list([("Reference", "FC-2026-0001")]),
            reference(
                govuk,
                "summary-list",
                "govukSummaryList",
                {"rows": [{"key": {"text": "Reference"}, "value": {"text": "FC-2026-0001"}}]},
            ),
        ),
        (
            m.date_input("decided", "Date of decision", "For example, 27 3 2026", date(2026, 3, 4), "Enter a date"),
            reference(
                govuk,
                "date-input",
                "govukDateInput",
                {
                    "id": "decided",
                    "namePrefix": "decided",
                    "fieldset": {"legend": {"text": "Date of decision", "classes": "govuk-fieldset__legend--s"}},
                    "hint": {"text": "For example, 27 3 2026"},
                    "errorMessage": {"text": "Enter a date"},
                    "items": [
                        {"name": "day", "classes": "govuk-input--width-2 govuk-input--error", "value": 4},
                        {"name": "month", "classes": "govuk-input--width-2 govuk-input--error", "value": 3},
                        {"name": "year", "classes": "govuk-input--width-4 govuk-input--error", "value": 2026},
                    ],
                },
            ),
        ),
        (
            m.text_input(
                "email",
                "Email address",
                "Your work email",
                "sam@example.org",
                "Enter a real email",
                type="email",
                autocomplete="email",
                width=20,
                spellcheck=False,
            ),
            reference(
                govuk,
                "input",
                "govukInput",
                {
                    "id": "email",
                    "name": "email",
                    "type": "email",
                    "autocomplete": "email",
                    "spellcheck": False,
                    "classes": "govuk-input--width-20",
                    "value": "sam@example.org",
                    "label": {"text": "Email address", "classes": "govuk-label--s"},
                    "hint": {"text": "Your work email"},
                    "errorMessage": {"text": "Enter a real email"},
                },
            ),
        ),
        (
            m.textarea("note", "Note", "What happened", "Visited", "Note is too long", max_length=10),
            reference(
                govuk,
                "character-count",
                "govukCharacterCount",
                {
                    "id": "note",
                    "name": "note",
                    "maxlength": 10,
                    "value": "Visited",
                    "rows": 5,
                    "label": {"text": "Note", "classes": "govuk-label--s"},
                    "hint": {"text": "What happened"},
                    "errorMessage": {"text": "Note is too long"},
                },
            ),
        ),
        (
            m.radios(
                "outcome",
                "Recommendation",
                [("approve", "Approve"), ("refuse", "Refuse")],
                "refuse",
                "Choose one",
                "As the panel minuted",
            ),
            reference(
                govuk,
                "radios",
                "govukRadios",
                {
                    "name": "outcome",
                    "idPrefix": "outcome",
                    "fieldset": {"legend": legend},
                    "hint": {"text": "As the panel minuted"},
                    "errorMessage": {"text": "Choose one"},
                    "items": [
                        {"value": "approve", "text": "Approve"},
                        {"value": "refuse", "text": "Refuse", "checked": True},
                    ],
                },
            ),
        ),
        (
            m.checkboxes("kinds", "Recommendation", [("a", "A"), ("b", "B")], ["b"]),
            reference(
                govuk,
                "checkboxes",
                "govukCheckboxes",
                {
                    "name": "kinds",
                    "idPrefix": "kinds",
                    "fieldset": {"legend": legend},
                    "items": [{"value": "a", "text": "A"}, {"value": "b", "text": "B", "checked": True}],
                },
            ),
        ),
        (
            m.select("owner", "Owner", [("", "Choose a worker"), ("7", "Sam Carter")], 7, "Choose an owner"),
            reference(
                govuk,
                "select",
                "govukSelect",
                {
                    "id": "owner",
                    "name": "owner",
                    "label": {"text": "Owner", "classes": "govuk-label--s"},
                    "errorMessage": {"text": "Choose an owner"},
                    "items": [
                        {"value": "", "text": "Choose a worker"},
                        {"value": "7", "text": "Sam Carter", "selected": True},
                    ],
                },
            ),
        ),
        (
            m.button("Save", secondary=True),
            reference(
                govuk,
                "button",
                "govukButton",
                {"text": "Save", "classes": "govuk-button--secondary", "preventDoubleClick": True},
            ),
        ),
    ]
    for ours, theirs in pairs:
        same_markup(str(ours), theirs)


# --- the compiled assets ------------------------------------------------------------------------


def test_the_stylesheet_uses_system_fonts_and_never_gds_transport() -> None:
    css = (STATIC / "carepath.css").read_text()

    assert "GDS Transport" not in css
    assert "@font-face" not in css
    assert "font-family:system-ui,-apple-system," in css
    assert not list(STATIC.rglob("*.woff*"))
    assert not list(STATIC.rglob("*crown*"))
    assert not list(STATIC.rglob("*crest*"))


def test_every_image_the_stylesheet_needs_is_shipped_except_the_crest_carepath_never_uses(env: Environment) -> None:
    css = (STATIC / "carepath.css").read_text()
    names = set(re.findall(r"url\(\"?/static/([^\")]+)\"?\)", css))

    missing = {name for name in names if not (STATIC / name).is_file()}
    assert missing == {"images/govuk-crest.svg"}  # only .govuk-footer__copyright-logo draws it
    assert "govuk-footer__copyright-logo" not in full_page(env)


def test_the_page_loads_only_static_files_that_exist(env: Environment) -> None:
    html = full_page(env)
    for path in re.findall(r'(?:href|src)="/static/([^"]+)"', html):
        assert (STATIC / path).is_file(), path
    init = (STATIC / "init.js").read_text()
    for module in re.findall(r'from "\./([^"]+)"', init):
        assert "initAll" in (STATIC / module).read_text()[-600:], module  # exported by the bundle


def test_the_committed_static_files_are_what_the_refresh_script_wrote() -> None:
    versions = (STATIC / "VERSIONS.txt").read_text()

    assert re.search(r"^govuk-frontend 6\.3\.0 sha512-\S+$", versions, re.M)
    assert re.search(r"^@ministryofjustice/frontend 11\.\d+\.\d+ sha512-\S+$", versions, re.M)
    assert re.search(r"^sass 1\.\d+\.\d+ sha512-\S+$", versions, re.M)
    listed = {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", versions, re.M)}
    shipped = {p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file()} - {"VERSIONS.txt"}
    assert set(listed) == shipped
    for name, digest in listed.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, f"{name} was edited by hand"


def test_no_template_has_an_inline_style_script_or_event_handler() -> None:
    """Every page template, not just the layout: the CSP (script-src 'self'; style-src 'self') blocks them."""
    inline = re.compile(
        r"""\sstyle\s*=|<style\b|<script\b(?![^>]*\ssrc=)|\son(?:click|load|error|submit|change|input|focus|blur|key\w+|mouse\w+|pointer\w+)\s*=|javascript:""",
        re.I,
    )
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if inline.search(line)
    ]
    assert offenders == []
