"""Jinja2 templates: ``templates/<kind>.txt.j2`` and ``templates/<kind>.html.j2``.

The subject is the ``subject`` block of the text template. HTML templates autoescape (their
names end ``.html.j2``, which ``select_autoescape()``'s defaults would miss); every template
is strict, so a missing context field is an error rather than an empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from carepath.notifications.days import days

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The template used for a state notice whose kind has no template of its own.
GENERIC_NOTICE = "notice"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One email's content."""

    subject: str
    text: str
    html: str


def longdate(value: str | date | None) -> str:
    """``2026-11-16`` as ``Monday 16 November 2026`` (empty for ``None``)."""
    if value is None:
        return ""
    return _longdate(value if isinstance(value, date) else str(value))  # str() of a StrictUndefined raises


@lru_cache(maxsize=4096)
def _longdate(value: str | date) -> str:
    d = value if isinstance(value, date) else date.fromisoformat(value)
    return f"{d:%A} {d.day} {d:%B %Y}"


def wrap(text: str, width: int = 72) -> str:
    """Greedy word wrap for text parts (``textwrap`` costs more than the rest of the render)."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        while len(paragraph) > width:
            cut = paragraph.rfind(" ", 0, width + 1)
            if cut <= 0:
                cut = paragraph.find(" ", width)
                if cut < 0:
                    break
            lines.append(paragraph[:cut])
            paragraph = paragraph[cut + 1 :]
        lines.append(paragraph)
    return "\n".join(lines)


@cache
def environment() -> Environment:
    """The one template environment (strict, autoescaping HTML)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["longdate"] = longdate
    env.filters["wrap"] = wrap
    env.filters["days"] = days
    return env


def kinds() -> list[str]:
    """Every kind with both a text and an HTML template."""
    txt = {p.name.removesuffix(".txt.j2") for p in TEMPLATES.glob("*.txt.j2") if not p.name.startswith("_")}
    html = {p.name.removesuffix(".html.j2") for p in TEMPLATES.glob("*.html.j2") if not p.name.startswith("_")}
    return sorted(txt & html)


@cache
def template_kind(kind: str) -> str:
    """The template ``kind`` renders with: its own, or the generic notice."""
    return kind if (TEMPLATES / f"{kind}.txt.j2").is_file() else GENERIC_NOTICE


def render(kind: str, context: Mapping[str, Any]) -> Rendered:
    """Render one email of ``kind`` from its outbox context.

    Args:
        kind: the outbox row's kind (``reminder``, ``breach``, ``ready_for_panel``, ...).
        context: the outbox row's context: references, rule, dates and link only.

    Returns:
        Subject, text part and HTML part.

    Raises:
        jinja2.UndefinedError: the context lacks a field the template uses.
    """
    txt, html = _templates(template_kind(kind))
    values = {"kind": kind, **context}
    ctx = txt.new_context(values)  # one context for the subject block and the text part
    subject = " ".join("".join(txt.blocks["subject"](ctx)).split())
    text = "".join(txt.root_render_func(ctx))
    values["subject"] = subject
    return Rendered(subject, text, html.render(values))


@cache
def _templates(name: str) -> tuple[Template, Template]:
    env = environment()
    txt = env.get_template(f"{name}.txt.j2")
    if "subject" not in txt.blocks:
        raise LookupError(f"template {txt.name} has no subject block")
    return txt, env.get_template(f"{name}.html.j2")
