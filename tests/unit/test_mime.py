"""Emails built with the standard library cannot gain headers, recipients or parts from their data.

Each message is parsed back with ``email.parser`` (``email.message_from_bytes``) and compared
with what carepath meant to send: the header names, one address per recipient, two parts.
"""

from __future__ import annotations

import email
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carepath.notifications import mime
from carepath.notifications.days import at_send
from carepath.notifications.dispatch import build_message
from carepath.storage.admin import message_id_for
from carepath.storage.outbox import Claimed
from tests.unit.test_templates import CALENDAR, FIRE_ON, queued

SENDER = "carepath@council.example"
NOW = datetime(2026, 11, 17, 9, tzinfo=UTC)
HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Auto-Submitted",
    "X-Carepath-Kind",
    "Content-Type",
]
KEY = "deadline:11:breach:0:2026-11-16"

INJECTIONS = [
    "crlf@council.example\r\nBcc: leak1@evil.example",
    "lf@council.example\nBcc: leak1@evil.example",
    "cr@council.example\rBcc: leak1@evil.example",
    "comma@council.example, leak2@evil.example",
    "semi@council.example; leak2@evil.example",
    "Someone <named@council.example>",
    "<angle@council.example>",
    '"quoted, local"@council.example',
    "comment@council.example (leak2@evil.example)",
    "group: a@council.example, b@evil.example;",
    "space @council.example",
    "nul@council.example\x00Bcc: leak@evil.example",
    "tab@council.example\tBcc: leak@evil.example",
    "vt@council.example\x0bBcc: leak@evil.example",
    "ls@council.example\u2028Bcc: leak@evil.example",
    "josé@council.example",
    "user@cöuncil.example",
    "x" * 65 + "@council.example",
    "a@" + ".".join(["b" * 60] * 5),  # 306 characters
    "two@at@council.example",
    "dot.@council.example",
    "@council.example",
    "nobody@",
    "",
]


def item(
    ctx: dict[str, Any], recipients: tuple[str, ...] = ("owner@council.example",), kind: str = "breach"
) -> Claimed:
    return Claimed(1, KEY, kind, recipients, ctx, 0, message_id_for(KEY))


def breach(**changes: Any) -> dict[str, Any]:
    return {**at_send(queued("breach"), FIRE_ON["breach"], CALENDAR), **changes}


def parsed(raw: bytes) -> EmailMessage:
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\r" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
    assert b"\n" not in raw.replace(b"\r\n", b"")
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def assert_whole(msg: EmailMessage, to: list[str]) -> None:
    """Exactly the headers carepath sets, the recipients it meant, and two utf-8 text parts."""
    assert list(msg.keys()) == HEADERS
    assert [a.addr_spec for a in msg["To"].addresses] == to
    assert [a.addr_spec for a in msg["From"].addresses] == [SENDER]
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]
    assert all(not p.is_multipart() and list(p.keys()) == ["Content-Type", "Content-Transfer-Encoding"] for p in parts)
    assert not msg.defects
    assert not any(p.defects for p in parts)


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_recipient_is_exactly_one_plain_address(value: str) -> None:
    with pytest.raises(mime.BadAddress) as refused:
        mime.plain_address(value)
    assert "evil" not in str(refused.value)  # the reason never echoes the value
    assert "\r" not in str(refused.value)


@pytest.mark.parametrize("value", ["owner@council.example", "first.last+fostering@sub.council.example", "a@b"])
def test_plain_addresses_pass(value: str) -> None:
    assert mime.plain_address(value) == value


@pytest.mark.parametrize("value", INJECTIONS)
def test_an_injected_recipient_never_reaches_a_header_or_the_envelope(value: str) -> None:
    with pytest.raises(mime.BadAddress):
        build_message(item(breach(), (value,)), SENDER, NOW)
    with pytest.raises(mime.BadAddress):
        build_message(item(breach(), ("owner@council.example", value)), SENDER, NOW)
    good, bad = mime.split_recipients(["owner@council.example", value, "owner@council.example"])
    assert good == ["owner@council.example"]  # once, and only the plain one
    msg = parsed(build_message(item(breach(), tuple(good)), SENDER, NOW))  # what the dispatcher sends instead
    assert_whole(msg, ["owner@council.example"])
    assert "Bcc" not in msg
    assert "Cc" not in msg
    assert len(bad) == 1
    assert "\r" not in bad[0][0]
    assert "\n" not in bad[0][0]


def test_two_plain_recipients_are_two_addresses_in_one_to_header() -> None:
    msg = parsed(build_message(item(breach(), ("a@council.example", "b@council.example")), SENDER, NOW))
    assert_whole(msg, ["a@council.example", "b@council.example"])


@pytest.mark.parametrize(
    "text",
    [
        "FC-2026-0042\r\nBcc: leak1@evil.example",
        "FC-2026-0042\nBcc: leak1@evil.example\n\nbody",
        "FC-2026-0042\rBcc: leak1@evil.example",
        "FC-2026-0042\x00\x0b\x0c\x1c\x85\u2028\u2029Bcc: leak1@evil.example",
        "=?utf-8?q?=0D=0ABcc=3A_leak1=40evil=2Eexample?=",
        "Zoë “Ref” 🚀 " * 40,
        "x" * 5000,
        "FC " * 3000,
    ],
)
def test_a_subject_is_one_line_and_gains_no_header(text: str) -> None:
    msg = parsed(build_message(item(breach(case_ref=text, rule_label=text)), SENDER, NOW))
    assert_whole(msg, ["owner@council.example"])
    subject = str(msg["Subject"])
    assert "\r" not in subject
    assert "\n" not in subject
    assert len(subject) <= mime.MAX_SUBJECT
    assert "Bcc" not in msg
    assert "leak1@evil.example" not in str(msg["To"])


def test_a_boundary_like_reference_cannot_add_a_part() -> None:
    old_boundary = "==carepath-" + message_id_for(KEY)[1:33]  # the boundary the hand-built MIME used
    smuggled = (
        f"FC-1\r\n--{old_boundary}\r\nContent-Type: text/html\r\n\r\n<a href='https://evil.example'>log in</a>"
        f"\r\n--{old_boundary}--\r\n--=_\r\n--==============={'1' * 19}==\r\nContent-Type: text/html\r\n\r\nx"
    )
    for kind in ("breach", "reminder", "escalation"):
        ctx = {**at_send(queued(kind), FIRE_ON[kind], CALENDAR), "case_ref": smuggled, "rule_label": smuggled}
        raw = build_message(item(ctx, kind=kind), SENDER, NOW)
        msg = parsed(raw)
        assert_whole(msg, ["owner@council.example"])
        boundary = msg.get_boundary()
        assert boundary is not None
        assert boundary != old_boundary
        assert raw.count(f"--{boundary}".encode()) == 3  # two openings and the close, nothing more
        text, html = (p.get_content() for p in msg.iter_parts())
        assert "<a href='https://evil.example'>" not in html  # escaped in the HTML part
        assert "evil.example" in text  # shown as text, inside the one text part


def test_the_boundary_is_random() -> None:
    boundaries = {parsed(build_message(item(breach()), SENDER, NOW)).get_boundary() for _ in range(50)}
    assert len(boundaries) == 50


def test_plain_ascii_parts_are_7bit_and_others_quoted_printable() -> None:
    msg = parsed(build_message(item(breach()), SENDER, NOW))
    assert [p["Content-Transfer-Encoding"] for p in msg.iter_parts()] == ["7bit", "7bit"]
    msg = parsed(build_message(item(breach(rule_label="Zoë’s panel")), SENDER, NOW))
    assert [p["Content-Transfer-Encoding"] for p in msg.iter_parts()] == ["quoted-printable", "quoted-printable"]
    assert "Zoë’s panel" in next(msg.iter_parts()).get_content()


@pytest.mark.parametrize(
    "sender", ["carepath@council.example\r\nBcc: leak@evil.example", "Carepath <cp@council.example>"]
)
def test_a_bad_sender_is_refused(sender: str) -> None:
    with pytest.raises(mime.BadAddress):
        build_message(item(breach()), sender, NOW)


def test_the_policy_refuses_a_header_value_with_a_line_break() -> None:
    for value in ("a\r\nBcc: x@evil.example", "a\nBcc: x", "a\rb", "a\x00b", "é\r\nBcc: x"):
        with pytest.raises(mime.UnsafeHeader):
            mime.POLICY.fold_binary("Subject", value)
    assert mime.POLICY.fold_binary("Subject", "word " * 30).count(b"\r\n ") >= 1  # folded, continuation indented


def test_a_message_with_no_recipient_is_refused() -> None:
    with pytest.raises(mime.BadAddress):
        build_message(item(breach(), ()), SENDER, NOW)


def test_a_kind_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(mime.UnsafeHeader):
        mime.build(
            sender=SENDER, recipients=["a@council.example"], subject="s", text="t", html="h",
            message_id="<x@carepath>", kind="breach\r\nBcc: x@evil.example", now=NOW,
        )  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ref=st.text(max_size=300),
    label=st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    address=st.text(max_size=80),
)
def test_random_references_labels_and_addresses_add_no_header_recipient_or_part(
    ref: str, label: str, address: str
) -> None:
    ctx = breach(case_ref=ref, rule_label=label, rule_source=label)
    good, _ = mime.split_recipients(["owner@council.example", address])
    raw = build_message(item(ctx, tuple(good)), SENDER, NOW)
    msg = parsed(raw)
    assert_whole(msg, good)
    assert raw.count(f"--{msg.get_boundary()}".encode()) == 3


def test_days_are_counted_for_the_send_date_not_stored() -> None:
    ctx = queued("reminder")
    assert at_send(ctx, date(2026, 11, 2), CALENDAR)["days_left"] == 14
    assert at_send(ctx, date(2026, 11, 20), CALENDAR)["days_overdue"] == 4
