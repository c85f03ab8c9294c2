"""Forms generated from a journey's typed fact schema (``facts:`` in its YAML): never one per trigger.

``fields_for`` turns a move's required and accepted facts into form fields (the right input per
type, UI.md "Types to inputs"); ``read_form`` turns the posted form back into the text the
service parses, with GOV.UK-style errors for what cannot even be read (a date with no month).
The service then checks every value as it does for the CLI and the API: one schema, three faces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from carepath.engine.definition import FactSpec, TransitionDef
from carepath.engine.facts import TypedText
from carepath.entrypoints.web.present import humanise

#: Choices with at most this many options are radios; more are a select (GOV.UK guidance).
RADIOS_MAX = 7
NOTE_MAX = 4000


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a generated form."""

    name: str
    label: str
    hint: str
    kind: str  # date, text, number, yes_no, choice, user, users, case, textarea
    required: bool
    options: tuple[tuple[str, str], ...] = ()

    @property
    def widget(self) -> str:
        if self.kind in ("yes_no",) or (self.kind == "choice" and len(self.options) <= RADIOS_MAX):
            return "radios"
        if self.kind == "choice":
            return "select"
        if self.kind in ("users", "textarea"):
            return "textarea"
        if self.kind == "date":
            return "date"
        return "text"

    @property
    def first_id(self) -> str:
        """The id the error summary links to (a date's day field)."""
        return f"{self.name}-day" if self.kind == "date" else self.name

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label": self.label, "type": self.kind, "required": self.required}
        if self.hint:
            out["help"] = self.hint
        if self.options:
            out["options"] = [v for v, _ in self.options]
        return out


def field_of(spec: FactSpec, required: bool) -> Field:
    hint = spec.help
    if spec.type == "date":
        hint = f"{hint} For example, 27 3 2026.".strip()
    elif spec.type == "users":
        hint = f"{hint} Email addresses, separated by commas.".strip()
    elif spec.type == "case":
        hint = f"{hint} A case reference, like FC-2026-0001.".strip()
    options: tuple[tuple[str, str], ...] = ()
    if spec.type == "yes_no":
        options = (("yes", "Yes"), ("no", "No"))
    elif spec.type == "choice":
        options = tuple((o, humanise(o)) for o in spec.options)
    return Field(spec.name, spec.label or humanise(spec.name), hint, spec.type, required, options)


def fields_for(t: TransitionDef, schema: Mapping[str, FactSpec]) -> list[Field]:
    """The form fields of a move: what it requires, then what it accepts."""
    out: list[Field] = []
    for name in (*t.requires, *(a for a in t.accepts if a not in t.requires)):
        spec = schema.get(name)
        if spec is None:  # a journey without a schema (test fixtures): a text input
            out.append(Field(name, humanise(name), "", "text", name in t.requires))
        else:
            out.append(field_of(spec, name in t.requires))
    return out


@dataclass
class Posted:
    """A form as read: the facts' text for the service, the effective date, the note, and errors."""

    facts: dict[str, str] = field(default_factory=dict)
    on: date | None = None
    note: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)

    def typed(self) -> TypedText:
        return TypedText(dict(self.facts), dict(self.facts))

    def error_for(self, name: str) -> str | None:
        """The message about input ``name`` (for a date, about any of its day, month and year)."""
        parts = {name, f"{name}-day", f"{name}-month", f"{name}-year"}
        return next((message for fid, message in self.errors if fid in parts), None)


def read_date(form: Mapping[str, Any], name: str, label: str, errors: list[tuple[str, str]]) -> date | None:
    """A GOV.UK date input (``name-day``, ``name-month``, ``name-year``): a date, None if empty."""
    parts = {p: str(form.get(f"{name}-{p}") or "").strip() for p in ("day", "month", "year")}
    if not any(parts.values()):
        return None
    missing = [p for p in ("day", "month", "year") if not parts[p]]
    if missing:
        errors.append((f"{name}-{missing[0]}", f"{label} must include a {missing[0]}"))
        return None
    if not all(v.isdigit() for v in parts.values()) or len(parts["year"]) != 4:
        errors.append((f"{name}-day", f"{label} must be a real date, like 27 3 2026"))
        return None
    try:
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        errors.append((f"{name}-day", f"{label} must be a real date, like 27 3 2026"))
        return None


def read_form(form: Mapping[str, Any], fields: Sequence[Field], *, with_date: bool = True) -> Posted:
    """The posted form: every field's text, the effective date (``on``) and the note."""
    posted = Posted()
    for f in fields:
        if f.kind == "date":
            for p in ("day", "month", "year"):
                posted.values[f"{f.name}-{p}"] = str(form.get(f"{f.name}-{p}") or "")
            day = read_date(form, f.name, f.label, posted.errors)
            if day is not None:
                posted.facts[f.name] = day.isoformat()
            elif f.required and not posted.error_for(f.name):
                posted.errors.append((f"{f.name}-day", f"Enter {f.label[:1].lower() + f.label[1:]}"))
            continue
        raw = form.getlist(f.name) if hasattr(form, "getlist") and f.kind == "users" else None
        text = ", ".join(str(v) for v in raw) if raw and len(raw) > 1 else str(form.get(f.name) or "").strip()
        posted.values[f.name] = text
        if text:
            posted.facts[f.name] = text
        elif f.required:
            verb = "Select" if f.widget in ("radios", "select") else "Enter"
            posted.errors.append((f.name, f"{verb} {f.label[:1].lower() + f.label[1:]}"))
    if with_date:
        for p in ("day", "month", "year"):
            posted.values[f"on-{p}"] = str(form.get(f"on-{p}") or "")
        posted.on = read_date(form, "on", "The date this happened", posted.errors)
    note = str(form.get("note") or "").strip()
    posted.values["note"] = note
    if len(note) > NOTE_MAX:
        posted.errors.append(("note", f"The note must be {NOTE_MAX:,} characters or fewer"))
    posted.note = note or None
    return posted


def field_for_message(message: str, fields: Sequence[Field]) -> str:
    """The input a service refusal is about (it names the fact), else the first input."""
    for f in fields:
        if f.name in message:
            return f.first_id
    if "the note" in message.lower():
        return "note"
    if "date" in message.lower() and "on-day" not in {f.first_id for f in fields}:
        return "on-day"
    return fields[0].first_id if fields else "on-day"
