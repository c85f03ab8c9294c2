"""Email templates: one golden file per part and kind, strict and escaping.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/unit/test_templates.py``
and review the diff.
"""

from __future__ import annotations

import email
import hashlib
import os
from datetime import UTC, date, datetime
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from carepath.config.settings import Settings
from carepath.engine.case import Case, Event
from carepath.engine.definition import Anchor, DeadlineRule, Escalation, Reminder, StateDef, WorkflowDef
from carepath.engine.events import CaseRef, StateAnnounced
from carepath.engine.panels import Sitting
from carepath.engine.timers import TimerFired
from carepath.notifications.dispatch import build_message
from carepath.notifications.render import TEMPLATES, kinds, longdate, render, template_kind
from carepath.notifications.routing import DEFAULT_NOTIFY, deadline_context, notice_context
from carepath.storage.admin import message_id_for
from carepath.storage.outbox import Claimed

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
SETTINGS = Settings(base_url="https://carepath.example.gov.uk")
DEADLINE_KINDS = ("reminder", "breach", "escalation")

RULE = DeadlineRule(
    name="F5",
    label="Stage 2 assessment to panel",
    start=(Anchor("fact", "stage2_started_on"),),
    stop=(Anchor("event", "recommend"),),
    limit="4 months",
    counting="after",
    klass="NMS",
    source="Fostering NMS 14 / FSR 26",
    reminders=(Reminder(before="10 working days"),),
    escalations=(Escalation(after="5 working days", to=("service_manager",)),),
)
FIRE_ON = {"reminder": date(2026, 11, 2), "breach": date(2026, 11, 16), "escalation": date(2026, 11, 23)}


def deadline_sample(kind: str) -> dict[str, Any]:
    fired = TimerFired(
        case_id=7, case_ref="FC-2026-0042", workflow_id="fostering", owner_id=3, team_id=1, rule=RULE,
        deadline_id=11, start_on=date(2026, 7, 16), due_on=date(2026, 11, 16), kind=kind,  # type: ignore[arg-type]
        tier=1 if kind == "escalation" else 0, fire_on=FIRE_ON[kind], timer_key="k", escalate_to=("service_manager",),
    )  # fmt: skip
    return deadline_context(fired, SETTINGS.base_url)


DEFINITION = WorkflowDef(
    id="fostering",
    version=1,
    title="Foster carer approval",
    reference_prefix="FC",
    initial="enquiry",
    states={
        "enquiry": StateDef("enquiry", "Enquiry"),
        "ready": StateDef("ready", "Ready for panel", meta={"notice": "ready_for_panel", "panel_type": "fostering"}),
        "stage": StateDef("stage", "Qualifying determination issued", meta={"notice": "qd_issued"}),
    },
    transitions=(),
    exit_reasons={},
    close_state="closed",
)


def notice_sample(kind: str) -> dict[str, Any]:
    state = "ready" if kind == "ready_for_panel" else "stage"
    case = Case("FC-2026-0042", "fostering", 1, state, date(2026, 3, 2), date(2026, 11, 2), id=7)
    event = Event(7, 9, "authorise", "enquiry", state, date(2026, 11, 2), datetime(2026, 11, 2, 9, tzinfo=UTC), 3)
    sitting = Sitting(date(2026, 11, 12), "fostering", date(2026, 11, 5)) if kind == "ready_for_panel" else None
    return notice_context(announced(case, event), SETTINGS.base_url, sitting)


def announced(case: Case, event: Event) -> StateAnnounced:
    """The notice the case service records when ``case`` enters ``event.to_state`` of ``DEFINITION``."""
    state = DEFINITION.state(event.to_state)
    panel_type = state.meta.get("panel_type")
    return StateAnnounced(
        case=CaseRef.of(case),
        event=event,
        kind=str(state.meta["notice"]),
        state=state.name,
        state_label=state.label,
        workflow_title=DEFINITION.title,
        notify=(),
        panel_type=str(panel_type) if panel_type is not None else None,
    )


def digest_sample() -> dict[str, Any]:
    def item(ref: str, due: str, overdue: int) -> dict[str, Any]:
        return {
            "case_ref": ref, "rule": "F5", "rule_label": "Stage 2 assessment to panel", "rule_class": "NMS",
            "rule_source": "Fostering NMS 14 / FSR 26", "due_on": due, "days_overdue": overdue,
            "link": f"https://carepath.example.gov.uk/cases/{ref}",
        }  # fmt: skip

    return {
        "local_date": "2026-11-17",
        "teams": ["Fostering North", "Fostering South"],
        "overdue": [item("FC-2026-0042", "2026-11-16", 1), item("FC-2026-0007", "2026-11-02", 15)],
        "due_soon": [item("FC-2026-0051", "2026-11-20", 0)],
        "link": "https://carepath.example.gov.uk/deadlines",
    }


def sample(kind: str) -> dict[str, Any]:
    if kind in DEADLINE_KINDS:
        return deadline_sample(kind)
    if kind == "digest":
        return digest_sample()
    return notice_sample(kind)


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual)
        return
    assert path.is_file(), f"no golden file {path}: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert actual == path.read_text(), f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"


@pytest.mark.parametrize("kind", kinds())
def test_each_template_matches_its_golden_files(kind: str) -> None:
    out = render(kind, sample(kind))
    check_golden(f"{kind}.txt", f"Subject: {out.subject}\n\n{out.text}")
    check_golden(f"{kind}.html", out.html)


def test_every_kind_has_a_text_and_an_html_part() -> None:
    names = {p.name for p in TEMPLATES.glob("*.j2") if not p.name.startswith("_")}
    assert names == {f"{k}.{part}.j2" for k in kinds() for part in ("txt", "html")}
    assert set(DEFAULT_NOTIFY) | {*DEADLINE_KINDS, "digest"} == set(kinds())


def test_emails_carry_reference_rule_class_source_due_date_and_link() -> None:
    out = render("breach", deadline_sample("breach"))
    for part in (out.text, out.html):
        for expected in ("FC-2026-0042", "Stage 2 assessment to panel", "F5", "NMS", "Fostering NMS 14 / FSR 26",
                         "Monday 16 November 2026", "https://carepath.example.gov.uk/cases/FC-2026-0042"):  # fmt: skip
            assert expected in part
    assert out.subject == "Deadline missed: FC-2026-0042 Stage 2 assessment to panel was due Monday 16 November 2026"


def test_html_is_escaped_and_text_is_not() -> None:
    ctx = {**deadline_sample("reminder"), "rule_label": "Papers <b>& minutes</b>"}
    out = render("reminder", ctx)
    assert "Papers &lt;b&gt;&amp; minutes&lt;/b&gt;" in out.html
    assert "<b>" not in out.html
    assert "Papers <b>& minutes</b>" in out.text


def test_a_missing_field_is_an_error_not_a_blank() -> None:
    ctx = deadline_sample("reminder")
    del ctx["due_on"]
    with pytest.raises(UndefinedError):
        render("reminder", ctx)


def test_an_unknown_notice_kind_uses_the_generic_notice() -> None:
    assert template_kind("carer_resigned") == "notice"
    out = render("carer_resigned", notice_sample("qd_issued"))
    assert out.subject == "FC-2026-0042: Qualifying determination issued"


def test_ready_for_panel_without_a_sitting_says_to_book_one() -> None:
    ctx = {**notice_sample("ready_for_panel"), "panel_date": None, "papers_by": None}
    out = render("ready_for_panel", ctx)
    assert out.subject == "Ready for panel: FC-2026-0042"
    assert "carepath panels add" in " ".join(out.text.split())


def test_long_dates() -> None:
    assert longdate("2026-12-28") == "Monday 28 December 2026"
    assert longdate(date(2027, 1, 1)) == "Friday 1 January 2027"
    assert longdate(None) == ""


def _parsed(ctx: dict[str, Any], kind: str = "breach") -> tuple[Any, Any]:
    item = Claimed(1, "deadline:1:breach:0:2026-11-16", kind, ("a@example.org", "b@example.org"), ctx, 0,
                   message_id_for("deadline:1:breach:0:2026-11-16"))  # fmt: skip
    raw = build_message(item, "carepath@example.org", datetime(2026, 11, 17, 0, tzinfo=UTC))
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    return email.message_from_bytes(raw, policy=default_policy), render(kind, ctx)


def test_a_built_message_parses_back_to_what_was_rendered() -> None:
    msg, out = _parsed(deadline_sample("breach"))
    digest = hashlib.sha256(b"deadline:1:breach:0:2026-11-16").hexdigest()
    assert msg["Message-ID"] == f"<{digest[:32]}@carepath>"
    assert (msg["From"], msg["To"], msg["Subject"]) == (
        "carepath@example.org",
        "a@example.org, b@example.org",
        out.subject,
    )
    assert msg["Date"] == "Tue, 17 Nov 2026 00:00:00 +0000"
    text, html = (p.get_content().replace("\r\n", "\n") for p in msg.iter_parts())
    assert (text, html) == (out.text, out.html)


def test_non_ascii_and_long_lines_survive_the_trip() -> None:
    ctx = {**deadline_sample("breach"), "rule_label": "Stage 2 – “assessment” to panel é " + "x" * 1200}
    msg, out = _parsed(ctx)
    assert msg["Subject"] == out.subject
    assert [p["Content-Transfer-Encoding"] for p in msg.iter_parts()] == ["quoted-printable", "quoted-printable"]
    text, html = (p.get_content().replace("\r\n", "\n") for p in msg.iter_parts())
    assert (text, html) == (out.text, out.html)


def test_every_notice_the_shipped_journeys_declare_has_its_own_template_and_known_roles() -> None:
    from carepath.notifications.routing import check_notices
    from carepath.workflows.loader import load_registry

    declared = set()
    for compiled in load_registry():
        definition = compiled.definition
        assert check_notices(definition) == [], definition.id
        declared |= {str(s.meta["notice"]) for s in definition.states.values() if s.meta.get("notice")}
    assert declared
    assert {k for k in declared if template_kind(k) != k} == set()
