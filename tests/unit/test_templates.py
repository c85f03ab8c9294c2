"""Email templates: one golden file per part and kind, strict and escaping.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/unit/test_templates.py``
and review the diff.
"""

from __future__ import annotations

import email
import hashlib
import os
from datetime import UTC, date, datetime, time
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from carepath.config.settings import Settings
from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import Case, Event
from carepath.engine.clock import FixedClock
from carepath.engine.definition import Anchor, DeadlineRule, Escalation, Reminder, StateDef, WorkflowDef
from carepath.engine.events import AgendaSent, CaseRef, StateAnnounced
from carepath.engine.panels import Sitting
from carepath.engine.timers import TimerFired
from carepath.notifications.days import at_send
from carepath.notifications.dispatch import build_message
from carepath.notifications.mime import MAX_SUBJECT
from carepath.notifications.render import TEMPLATES, kinds, longdate, render, template_kind
from carepath.notifications.routing import DEFAULT_NOTIFY, agenda_context, deadline_context, notice_context
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
FIRE_ON = {"reminder": date(2026, 11, 2), "breach": date(2026, 11, 17), "escalation": date(2026, 11, 23)}
#: The golden files show each deadline email as sent on the day its timer fired.
CALENDAR = WorkingCalendar()


def queued(kind: str, rule: DeadlineRule = RULE, due_on: date = date(2026, 11, 16)) -> dict[str, Any]:
    """A raised timer's outbox context, as queued (no days counted yet)."""
    fired = TimerFired(
        case_id=7, case_ref="FC-2026-0042", workflow_id="fostering", owner_id=3, team_id=1, rule=rule,
        deadline_id=11, start_on=date(2026, 7, 16), due_on=due_on, kind=kind,  # type: ignore[arg-type]
        tier=1 if kind == "escalation" else 0, fire_on=FIRE_ON[kind], timer_key="k", escalate_to=("service_manager",),
    )  # fmt: skip
    return deadline_context(fired, SETTINGS.base_url)


def deadline_sample(kind: str) -> dict[str, Any]:
    """A raised timer's context as the dispatcher renders it on the day the timer fired."""
    return at_send(queued(kind), FIRE_ON[kind], CALENDAR)


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
    def item(ref: str, due: str, unit: str = "days") -> dict[str, Any]:
        return {
            "case_ref": ref, "rule": "F5", "rule_label": "Stage 2 assessment to panel", "rule_class": "NMS",
            "rule_source": "Fostering NMS 14 / FSR 26", "due_on": due, "day_unit": unit,
            "link": f"https://carepath.example.gov.uk/cases/{ref}",
        }  # fmt: skip

    return {
        "local_date": "2026-11-17",
        "teams": ["Fostering North", "Fostering South"],
        "overdue": [item("FC-2026-0042", "2026-11-16"), item("FC-2026-0007", "2026-11-02", "working_days")],
        "due_soon": [item("FC-2026-0051", "2026-11-20")],
        "link": "https://carepath.example.gov.uk/deadlines",
    }


def agenda_sample() -> dict[str, Any]:
    """A sitting's agenda as queued for its members (``notifications.routing.agenda_context``)."""
    event = AgendaSent(
        4, date(2026, 12, 9), "fostering", date(2026, 12, 2), ("FC-2026-0042", "FC-2026-0051"), ("m@x.test",), "Room 4"
    )
    return agenda_context(event, SETTINGS.base_url)


def sample(kind: str) -> dict[str, Any]:
    if kind in DEADLINE_KINDS:
        return deadline_sample(kind)
    if kind == "digest":
        return at_send(digest_sample(), date(2026, 11, 20), CALENDAR)  # sent days later: counted as of its date
    if kind == "agenda":
        return agenda_sample()
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
    assert set(DEFAULT_NOTIFY) | {*DEADLINE_KINDS, "digest", "agenda"} == set(kinds())


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
    assert msg["Subject"] == out.subject[: MAX_SUBJECT - 1] + "\u2026"  # capped, not cut mid-header
    assert msg["Subject"].startswith("Deadline missed: FC-2026-0042 Stage 2 – “assessment” to panel é xxx")
    assert [p["Content-Transfer-Encoding"] for p in msg.iter_parts()] == ["quoted-printable", "quoted-printable"]
    assert [p["Content-Type"] for p in msg.iter_parts()] == [
        'text/plain; charset="utf-8"',
        'text/html; charset="utf-8"',
    ]
    text, html = (p.get_content().replace("\r\n", "\n") for p in msg.iter_parts())
    assert (text, html) == (out.text, out.html)


# -- days counted when the message is sent ------------------------------------------------------

WD_RULE = DeadlineRule(
    name="FS8",
    label="Agency decision after panel",
    start=(Anchor("event", "recommend"),),
    stop=(Anchor("event", "decide"),),
    limit="7 working days",
    counting="after",
    klass="STAT",
    source="FSR 27(1)",
)
CALENDAR_RULE = DeadlineRule(
    name="IRM1",
    label="IRM application window",
    start=(Anchor("event", "issue_qd"),),
    stop=(Anchor("event", "apply_irm"),),
    limit="28 days",
    counting="after",
    klass="STAT",
    source="FSR 30",
)


def sent_on(kind: str, ctx: dict[str, Any], day: str, calendar: WorkingCalendar | None = None) -> Any:
    """The email for ``ctx`` as the dispatcher builds it at 09:00 on ``day`` (a FixedClock), parsed back."""
    clock = FixedClock(datetime.combine(date.fromisoformat(day), time(9), UTC))
    key = f"deadline:11:{kind}:0:{ctx['due_on']}"
    item = Claimed(1, key, kind, ("owner@example.org",), ctx, 0, message_id_for(key))
    return email.message_from_bytes(
        build_message(item, "carepath@example.org", clock.now(), calendar), policy=default_policy
    )


def lead(msg: Any) -> str:
    """The first paragraph of the text part, on one line."""
    text = next(msg.iter_parts()).get_content().replace("\r\n", "\n")
    return " ".join(text.split("\n\n")[0].split())


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-11-09", "is due on Monday 16 November 2026, in 5 working days."),
        ("2026-11-13", "is due on Monday 16 November 2026, in 1 working day."),
        ("2026-11-14", "is due on Monday 16 November 2026, in 1 working day."),  # a Saturday
        ("2026-11-16", "is due today, Monday 16 November 2026."),
        ("2026-11-17", "was due on Monday 16 November 2026 (1 working day ago)."),
        ("2026-11-30", "was due on Monday 16 November 2026 (10 working days ago)."),
    ],
)
def test_a_working_day_reminder_counts_working_days_on_the_day_it_is_sent(day: str, expected: str) -> None:
    msg = sent_on("reminder", queued("reminder", WD_RULE), day)
    assert lead(msg) == f"A deadline on case FC-2026-0042 {expected}"
    word = "was due" if day > "2026-11-16" else "due"
    assert msg["Subject"] == f"Reminder: FC-2026-0042 Agency decision after panel {word} Monday 16 November 2026"


def test_an_overdue_reminder_on_a_weekend_after_a_friday_due_date() -> None:
    msg = sent_on("reminder", queued("reminder", WD_RULE, due_on=date(2026, 11, 20)), "2026-11-21")
    assert lead(msg) == (
        "A deadline on case FC-2026-0042 was due on Friday 20 November 2026 (no working day has passed since)."
    )


def test_a_reminder_queued_early_and_sent_late_says_what_is_true_when_it_is_sent() -> None:
    """The reproduction: a reminder delivered on 30 November said "due on Saturday 21 November 2026, in 28 days"."""
    ctx = queued("reminder", CALENDAR_RULE, due_on=date(2026, 11, 21))
    assert not {"days_left", "days_overdue"} & set(ctx)  # nothing counted at queue time
    assert lead(sent_on("reminder", ctx, "2026-10-24")) == (
        "A deadline on case FC-2026-0042 is due on Saturday 21 November 2026, in 28 days."
    )
    assert lead(sent_on("reminder", ctx, "2026-11-30")) == (
        "A deadline on case FC-2026-0042 was due on Saturday 21 November 2026 (9 days ago)."
    )


@pytest.mark.parametrize(
    ("rule", "day", "overdue"),
    [
        (WD_RULE, "2026-11-17", "1 working day"),
        (WD_RULE, "2026-11-27", "9 working days"),
        (WD_RULE, "2027-09-03", "201 working days"),  # 209 weekdays less 8 bank holidays
        (CALENDAR_RULE, "2026-11-17", "1 day"),
        (CALENDAR_RULE, "2026-11-25", "9 days"),
        (CALENDAR_RULE, "2027-09-03", "291 days"),
    ],
)
def test_an_escalation_counts_days_overdue_when_it_is_sent(rule: DeadlineRule, day: str, overdue: str) -> None:
    msg = sent_on("escalation", queued("escalation", rule), day)
    assert msg["Subject"] == f"Escalation (tier 1): FC-2026-0042 {rule.label} {overdue} overdue"
    assert lead(msg).startswith(f"The deadline below on case FC-2026-0042 is still not met {overdue} after it was due")


def test_working_days_skip_christmas_and_the_services_own_closures() -> None:
    ctx = queued("reminder", WD_RULE, due_on=date(2026, 12, 23))
    # Thu 24 (working), Fri 25 Christmas, Mon 28 Boxing Day (substitute), Tue 29 (working)
    assert "(2 working days ago)" in lead(sent_on("reminder", ctx, "2026-12-29"))
    closed = WorkingCalendar(closures=[date(2026, 12, 24)])
    assert "(1 working day ago)" in lead(sent_on("reminder", ctx, "2026-12-29", closed))


def test_a_context_queued_before_day_units_is_told_in_calendar_days() -> None:
    ctx = {k: v for k, v in queued("escalation", WD_RULE).items() if k != "day_unit"}
    ctx |= {"days_left": 0, "days_overdue": 1}  # stale counts an older outbox row carries are recounted
    assert sent_on("escalation", ctx, "2026-11-25")["Subject"].endswith("9 days overdue")


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
