"""One shape per noun across every ``--json`` output (issue 10 point 11; docs/json.md).

A small demo caseload is seeded (with a person on a case, a calendar override and a caught
message), then every read command runs with ``--json``: each output parses, and each noun in it
(case, event, deadline, person, user, team, panel sitting, outbox message, caught message...) has
exactly the keys of its row in ``NOUNS`` plus the extras that command declares. ``NOUNS`` is written
out here, not imported, so a change to a shape fails until docs/json.md and this table agree. A
further check walks the command tree: every command is either a read exercised here (and has
``--json``) or a known write, so a new read command cannot be added without its JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import typer

from carepath.entrypoints.cli import app as cli_app
from carepath.entrypoints.demo.gateway import DEMO_ADMIN, Gateway
from carepath.storage.db import make_engine
from carepath.storage.mailbox import keep_caught
from tests.e2e.test_bad_input import Cli, ok
from tests.e2e.test_typed_facts import WORKFLOWS, _cli, _env

Obj = dict[str, Any]

NOUNS: dict[str, frozenset[str]] = {
    "case": frozenset(
        {
            "ref",
            "workflow",
            "workflow_version",
            "state",
            "state_label",
            "status",
            "held_from",
            "exit_reason",
            "opened_on",
            "last_event_on",
            "owner",
            "team",
            "facts",
            "version",
            "last_seq",
        }
    ),
    "participant": frozenset({"role", "person"}),
    "person": frozenset({"id", "given_names", "family_name", "born_on", "sex", "ethnicity", "contact"}),
    "person_case": frozenset({"ref", "role", "workflow", "status"}),
    "event": frozenset(
        {"seq", "trigger", "from_state", "to_state", "effective_on", "recorded_at", "by", "note", "payload", "in_error"}
    ),
    "action": frozenset({"trigger", "label", "to_state", "ready", "reasons", "requires", "roles"}),
    "deadline": frozenset(
        {
            "rule",
            "cycle",
            "label",
            "class",
            "source",
            "limit",
            "start_on",
            "due_on",
            "raw_due_on",
            "status",
            "met_on",
            "breached_on",
            "late",
            "paused_days",
            "working_days_left",
            "calendar_days_left",
        }
    ),
    "user": frozenset({"email", "name", "roles", "teams", "active"}),
    "team": frozenset({"name", "manager", "service_manager", "members"}),
    "sitting": frozenset(
        {
            "id",
            "sits_on",
            "weekday",
            "panel_type",
            "starts",
            "place",
            "capacity",
            "booked",
            "status",
            "cancel_reason",
            "papers_due_on",
            "minutes_received_on",
            "open",
            "quorum",
        }
    ),
    "queue_item": frozenset({"ref", "workflow", "state", "panel_type", "last_event_on"}),
    "sitting_report": frozenset(
        {
            "id",
            "sits_on",
            "panel_type",
            "status",
            "heard",
            "deferred",
            "papers_in_time",
            "minutes_received_on",
            "decided",
            "decided_in_time",
            "ready_to_panel_days",
        }
    ),
    "panel_member": frozenset({"id", "name", "email", "roles", "panel_types", "expires_on", "active"}),
    "agenda_item": frozenset(
        {
            "ref",
            "workflow",
            "state",
            "booked_on",
            "papers_circulated_on",
            "papers_status",
            "recommendation",
            "deferred_reason",
        }
    ),
    "outbox": frozenset(
        {
            "id",
            "key",
            "kind",
            "ref",
            "recipients",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "message_id",
        }
    ),
    "caught": frozenset({"id", "message_id", "recipients", "subject", "received_at"}),
    "override": frozenset({"on", "kind", "reason"}),
    "case_view": frozenset({"viewed_at", "by", "what", "via"}),
    "workflow": frozenset(
        {"workflow", "workflow_version", "title", "reference_prefix", "states", "transitions", "deadlines"}
    ),
    "page": frozenset({"items", "total", "total_exact", "next"}),
}
#: Keys that name a case reference, a day or an instant, and how each must look.
DAY_KEYS = {"opened_on", "last_event_on", "effective_on", "start_on", "due_on", "raw_due_on", "sits_on", "on"}
INSTANT_KEYS = {"recorded_at", "received_at", "next_attempt_at"}
FORBIDDEN = {"case_ref", "reference", "workflow_id", "owner_id", "team_id", "date", "time", "dest"}

ADMIN = DEMO_ADMIN[0]
READER = Gateway.reader()
BY_ADMIN, BY_READER = ("--by", ADMIN), ("--by", READER)


@pytest.fixture
def seeded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[Cli, dict[str, str]]]:
    """A seeded SQLite file: (a CLI, what the commands name: a case, a person, a caught message)."""
    url = f"sqlite:///{tmp_path / 'carepath.db'}"
    _env(monkeypatch, url, WORKFLOWS)
    for cli in _cli(capsys):
        ok(cli, "db", "upgrade")
        ok(cli, "demo", "seed", "--households", "30", "--children", "6")
        listed = json.loads(ok(cli, "case", "list", "--status", "open", "--limit", "200", "--json", *BY_READER))
        case = next(c for c in listed["items"] if c["workflow"] == "child_adoption_pathway")
        person = ok(
            cli,
            *("people", "add", "--case", case["ref"], "--role", "child", "--given", "Zed", "--family", "Quill"),
            *("--born", "2020-01-02", "--json", "--by", case["owner"]),
        )
        ok(cli, "calendar", "override", "add", "2026-12-24", "--reason", "Office closed", *BY_ADMIN)
        _catch(url)
        caught = str(json.loads(ok(cli, "mail", "list", "--json", *BY_ADMIN))["items"][0]["id"])
        sittings = json.loads(ok(cli, "panels", "list", "--all", "--limit", "1", "--json", *BY_READER))
        names = {"ref": case["ref"], "person": str(json.loads(person)["id"]), "caught": caught}
        yield cli, {**names, "sitting": str(sittings["items"][0]["id"])}


def _catch(url: str) -> None:
    msg = EmailMessage()
    msg["Message-ID"] = "<shape-test@carepath>"
    msg["From"] = "carepath@council.example"
    msg["To"] = "cw@council.example"
    msg["Subject"] = "CH-2026-0001: a test"
    msg.set_content("a text part")
    msg.add_alternative("<p>an html part</p>", subtype="html")
    engine = make_engine(url)
    try:
        keep_caught(
            engine,
            message_id=msg["Message-ID"],
            sender=msg["From"],
            recipients=["cw@council.example"],
            subject=msg["Subject"],
            raw=msg.as_string(),
            received_at=datetime(2026, 11, 2, 9, 0, 5, tzinfo=UTC),
        )
    finally:
        engine.dispose()


# -- what each command prints: (noun, object, extra keys) ---------------------------------------------

Found = list[tuple[str, Obj, frozenset[str]]]
NONE: frozenset[str] = frozenset()


def _page(d: Any, noun: str, extra: frozenset[str] = NONE, page_extra: frozenset[str] = NONE) -> Found:
    assert isinstance(d, dict)
    found: Found = [("page", d, page_extra)]
    return found + [(noun, item, extra) for item in d["items"]]


def _each(d: Any, noun: str, extra: frozenset[str] = NONE) -> Found:
    assert isinstance(d, list)
    return [(noun, item, extra) for item in d]


def _case_with_people(d: Obj) -> Found:
    found: Found = [("case", d, frozenset({"participants"}))]
    for p in d["participants"]:
        found += [("participant", p, NONE), ("person", p["person"], NONE)]
    return found


def _person_shown(d: Obj) -> Found:
    return [("person", d, frozenset({"cases"}))] + [("person_case", c, NONE) for c in d["cases"]]


def _demo(d: Obj) -> Found:
    assert set(d) == {"as_of", "summary", "sample"}
    sample = d["sample"]
    assert set(sample) == {"case", "history", "deadlines"}
    return (
        _case_with_people(sample["case"]) + _each(sample["history"], "event") + _each(sample["deadlines"], "deadline")
    )


def _sitting_shown(d: Obj) -> Found:
    found: Found = [("sitting", d, frozenset({"attendance", "agenda"}))]
    return found + _each(d["attendance"], "panel_member") + _each(d["agenda"], "agenda_item")


def _mail_show(d: Obj) -> Found:
    return [("caught", d, frozenset({"sender", "text", "html"}))]


def _exact(keys: set[str]) -> Callable[[Any], Found]:
    def check(d: Any) -> Found:
        assert set(d) == keys, sorted(d)
        return []

    return check


DUE = frozenset({"ref", "workflow", "owner", "team"})


def _report(d: Any) -> Found:
    """A report (``Report.to_json``): what it covers, as days, then its own figures (issue 13)."""
    assert {"report", "title", "from", "to", "as_of", "filters"} <= set(d), sorted(d)
    assert all(_is_day(d[k]) for k in ("from", "to", "as_of")), d
    return []


#: Every read command with ``--json``: its words, then how to find its nouns. ``{ref}``, ``{person}``
#: and ``{caught}`` are filled from the seeded database.
READS: list[tuple[tuple[str, ...], Callable[[Any], Found]]] = [
    (("today",), _exact({"today"})),
    (("db", "current"), _exact({"revision"})),
    (("workflows", "list"), lambda d: _each(d, "workflow")),
    (("workflows", "show", "foster_carer_approval"), lambda d: []),  # the definition as loaded
    (("workflows", "validate"), _exact({"valid", "files"})),
    (("workflows", "diagram", "foster_carer_approval"), _exact({"workflow", "workflow_version", "mermaid"})),
    (("case", "show", "{ref}"), _case_with_people),
    (("case", "history", "{ref}"), lambda d: _page(d, "event")),
    (("case", "actions", "{ref}"), lambda d: _each(d, "action")),
    (("case", "list"), lambda d: _page(d, "case")),
    (("case", "deadlines", "{ref}"), lambda d: _each(d, "deadline")),
    (("deadlines", "due", "--within", "1 year"), lambda d: _page(d, "deadline", DUE)),
    (("users", "list", "--by", ADMIN), lambda d: _page(d, "user")),
    (("teams", "list", "--by", ADMIN), lambda d: _page(d, "team")),
    (("panels", "list", "--all"), lambda d: _page(d, "sitting")),
    (("panels", "show", "{sitting}"), _sitting_shown),
    (("panels", "agenda", "{sitting}"), lambda d: _each(d, "agenda_item")),
    (("panels", "members", "list"), lambda d: _each(d, "panel_member")),
    (("panels", "queue"), lambda d: _each(d, "queue_item")),
    (("panels", "ics", "--type", "fostering"), _exact({"calendar", "events", "ics"})),
    (("panels", "report", "--from", "2025-01-01", "--to", "2027-12-31"), lambda d: _each(d, "sitting_report")),
    (("mail", "outbox", "--by", ADMIN), lambda d: _page(d, "outbox", page_extra=frozenset({"counts"}))),
    (("mail", "failed", "--by", ADMIN), lambda d: _page(d, "outbox")),
    (("mail", "list", "--by", ADMIN), lambda d: _page(d, "caught")),
    (("mail", "show", "{caught}", "--by", ADMIN), _mail_show),
    (("calendar", "override", "list"), lambda d: _page(d, "override")),
    (
        ("calendar", "due", "2026-11-02", "5 working days"),
        _exact({"start_on", "limit", "counting", "due_on", "weekday", "working_day"}),
    ),
    (("calendar", "working-day", "2026-12-25"), _exact({"on", "working_day", "reason", "next_working_day_on"})),
    (("people", "show", "{person}"), _person_shown),
    (("people", "find", "Quill"), lambda d: _page(d, "person", frozenset({"score"}))),
    (("people", "codes"), _exact({"roles", "sex", "ethnicity"})),
    (("case", "viewers", "{ref}", "--by", ADMIN), lambda d: _page(d, "case_view")),
    (("demo", "show"), _demo),
    *((("report", name), _report) for name in ("funnel", "adopters", "scorecard", "compliance", "caseload")),
    (("report", "stages", "foster_carer_approval"), _report),
]
#: Reads that act for nobody (no ``--by``): the clock, the schema, the journeys, the calendar, code lists.
NO_ACTOR: set[Any] = {"today", "db", "workflows", ("calendar", "due"), ("calendar", "working-day"), ("people", "codes")}
#: Reads of the accounts work (another module's own shapes): checked to print JSON only.
OTHER_READS: list[tuple[str, ...]] = [("users", "tokens", "list", "--by", ADMIN)]
#: Commands that change something or run something; not reads.
WRITES = {
    "panels send-agenda",
    "db upgrade",
    "case open",
    "case fire",
    "case hold",
    "case resume",
    "case withdraw",
    "case close",
    "case assign",
    "case error",
    "case note",
    "users add",
    "users deactivate",
    "users set-password",
    "users first-admin",
    "users tokens issue",
    "users tokens revoke",
    "teams add",
    "calendar override add",
    "calendar override remove",
    "calendar recompute",
    "sweep",
    "worker",
    "run",
    "web",
    "mail retry",
    "mail send",
    "mail digest",
    "panels add",
    "panels plan",
    "panels cancel",
    "panels members add",
    "panels attend",
    "panels book",
    "panels move",
    "panels defer",
    "panels papers",
    "panels recommend",
    "panels minutes",
    "people add",
    "people link",
    "people correct",
    "people unlink",
    "demo seed",
}


def _run(cli: Cli, words: tuple[str, ...], names: dict[str, str]) -> Any:
    args = [w.format(**names) for w in words]
    if "--by" not in args and words[0] not in NO_ACTOR and words[:2] not in NO_ACTOR:
        args += ["--by", READER]
    code, out, err = cli(*args, "--json")
    assert code == 0, (args, out, err)
    assert "Traceback" not in err
    return json.loads(out)


def _value_problems(noun: str, obj: Obj) -> Iterator[str]:
    """Days ISO, instants ISO with an offset, lists as arrays, no key docs/json.md names otherwise."""
    for key in FORBIDDEN & set(obj):
        yield f"{noun} has {key!r}"
    for key, value in obj.items():
        if value is None:
            continue
        if (key in DAY_KEYS or key.endswith("_on")) and not (isinstance(value, str) and _is_day(value)):
            yield f"{noun}.{key} is not a day: {value!r}"
        if key in INSTANT_KEYS and (not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is None):
            yield f"{noun}.{key} is not an instant with its offset: {value!r}"
        if key in {"recipients", "roles", "members", "teams", "reasons", "requires"} and not isinstance(value, list):
            yield f"{noun}.{key} is not an array"


def _is_day(text: str) -> bool:
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def test_every_read_prints_its_nouns_in_their_one_shape(seeded: tuple[Cli, dict[str, str]]) -> None:
    cli, names = seeded
    problems: list[str] = []
    for words, nouns in READS:
        found = nouns(_run(cli, words, names))
        for noun, obj, extra in found:
            want = NOUNS[noun] | extra
            if set(obj) != want:
                problems.append(f"{' '.join(words)}: {noun} differs by {sorted(set(obj) ^ want)}")
            elif noun != "page":
                problems.extend(f"{' '.join(words)}: {p}" for p in _value_problems(noun, obj))
    assert problems == []
    for words in OTHER_READS:  # the accounts work's own reads: JSON, or one refusal line
        args = [w.format(**names) for w in words]
        code, out, err = cli(*args, "--json", *(() if "--by" in args else BY_ADMIN))
        assert "Traceback" not in err
        if code == 0:
            json.loads(out)
        else:
            assert len(err.splitlines()) == 1, err


def _path(tree: Any, words: tuple[str, ...]) -> str:
    """The command ``words`` run: the longest run of leading words that names one in the tree."""
    path, node = [], tree
    for word in words:
        if not hasattr(node, "commands") or word not in node.commands:
            break
        path.append(word)
        node = node.commands[word]
    return " ".join(path)


def _commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from _commands(command, path + " ")
        else:
            yield path, command


def test_every_command_is_a_known_write_or_a_read_with_json() -> None:
    tree = typer.main.get_command(cli_app)
    reads = {_path(tree, words) for words in [w for w, _ in READS] + OTHER_READS}
    seen = set()
    for path, command in _commands(tree):
        seen.add(path)
        if path in WRITES:
            continue
        assert path in reads, f"`carepath {path}` is neither a known write nor a read tested here"
        assert any("--json" in p.opts for p in command.params), f"`carepath {path}` has no --json"
    assert reads <= seen, reads - seen
