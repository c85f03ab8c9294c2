"""Emails built with the standard library's ``email`` package, and the checks that keep them whole.

- A recipient is exactly one plain address (``plain_address``): ASCII ``local@domain`` without
  spaces, quotes, comments, commas, angle brackets or line breaks, at most 254 characters, that
  ``email.headerregistry.Address`` parses back to itself. Anything else is refused before sending
  (``BadAddress``), so a ``To`` header holds the addresses carepath meant and nothing more.
- No header value may contain a character that is not printable (CR, LF, NUL, tabs and other
  controls); text that reads like an RFC 2047 encoded word (``=?utf-8?q?=0D=0A...?=``) is itself
  encoded, so a reader decodes it to the same text, not to a line break; and a folded header may
  not gain a line that does not start with white space (the check Python 3.13 added as
  ``verify_generated_headers``; this is Python 3.11). A subject is made one line, and capped,
  before it is set.
- The message is ``multipart/alternative`` with a ``text/plain`` and a ``text/html`` part, both
  ``charset="utf-8"``: ``7bit`` when the text is ASCII with lines of at most 998 characters, else
  quoted-printable. The boundary is random (``secrets``), drawn again in the unlikely case that it
  occurs in a part, so what a part holds cannot end it or start another.

The structure is ``email.message.Message`` under the ``compat32`` policy, flattened by
``email.generator.BytesGenerator``. ``EmailMessage`` with ``email.policy.SMTP`` builds the same
message but costs several times as much per email (bench/mail.py; BENCHMARKS.md, Mail); the
policy here folds a short ASCII header without the ``email.header`` machinery, after the checks
above, and leaves every other header to ``compat32``.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from email import encoders
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.policy import Compat32
from email.utils import format_datetime
from functools import lru_cache

#: RFC 5321's limit on a forward path, and on a local part.
MAX_ADDRESS = 254
MAX_LOCAL_PART = 64
#: Longest subject set on a message (characters); longer ones end with an ellipsis.
MAX_SUBJECT = 250
#: RFC 5322's limit on a line, without its CRLF.
MAX_LINE = 998

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")
_KIND = re.compile(r"[a-z0-9_]{1,64}")
_NEWLINE_WITHOUT_FWSP = re.compile(r"\r\n[^ \t]|\r[^ \n\t]|\n[^ \t]")


class BadAddress(ValueError):
    """An address that is not exactly one plain ``local@domain``."""


class UnsafeHeader(ValueError):
    """A header value that would break the header block (a line break or another control)."""


def plain_address(value: str) -> str:
    """``value`` when it is exactly one plain address, else ``BadAddress`` saying why.

    The reason never repeats the value: a log line or a stored error quotes it with ``shown``.
    """
    if not isinstance(value, str):
        raise BadAddress("an address must be text")
    return _plain_address(value)


@lru_cache(maxsize=4096)
def _plain_address(value: str) -> str:
    if len(value) > MAX_ADDRESS:
        raise BadAddress(f"an address is at most {MAX_ADDRESS} characters")
    if not _ADDRESS.fullmatch(value):
        raise BadAddress(
            "not one plain address: expected local@domain in ASCII, without spaces, commas, quotes, "
            "angle brackets or line breaks"
        )
    if len(value.rpartition("@")[0]) > MAX_LOCAL_PART:
        raise BadAddress(f"the part before @ is at most {MAX_LOCAL_PART} characters")
    try:
        parsed = Address(addr_spec=value)
    except (ValueError, IndexError):  # the header parser's own refusal (its message quotes the value)
        raise BadAddress("not one plain address: the header parser refuses it") from None
    if parsed.addr_spec != value:
        raise BadAddress("not one plain address: it does not read back as itself")
    return value


def shown(value: object, limit: int = 80) -> str:
    """``value`` for a log line or an error: escaped (``repr``) and bounded."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def split_recipients(recipients: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The plain addresses among ``recipients`` (in order, once each) and the refused ones with why."""
    good: list[str] = []
    bad: list[tuple[str, str]] = []
    for value in recipients:
        try:
            address = plain_address(value)
        except BadAddress as exc:
            bad.append((shown(value), str(exc)))
            continue
        if address not in good:
            good.append(address)
    return good, bad


def one_line(text: str, limit: int = MAX_SUBJECT) -> str:
    """``text`` as one line: every run of white space or other unprintable characters is one space; capped."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else " " for c in text)
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "\u2026"


class _Policy(Compat32):
    """``compat32`` that refuses header values with controls and checks what it folds.

    A short ASCII value is written as it is (folding would not change it); a longer ASCII value
    is folded at its spaces (``_fold_ascii``), any other by ``compat32``; what is folded is then
    checked for a line that does not start with white space.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        if not isinstance(value, str) or not value.isprintable():
            raise UnsafeHeader(f"{name}: the value has a line break or another control character")
        folded: bytes | None = None
        if "=?" in value:  # text that reads like an RFC 2047 encoded word is encoded, so it decodes to itself
            encoded = Header(value, "utf-8", header_name=name).encode(linesep=self.linesep)
            folded = f"{name}: {encoded}{self.linesep}".encode("ascii")
        elif value.isascii() and len(name) + len(value) + 2 <= 78:
            return f"{name}: {value}\r\n".encode("ascii")
        elif value.isascii():
            folded = _fold_ascii(name, value)
        if folded is None:
            folded = super().fold_binary(name, value)
        if _NEWLINE_WITHOUT_FWSP.search(folded[: -len(self.linesep)].decode("ascii", "replace")):
            raise UnsafeHeader(f"{name}: folding the value would start a new header")
        return folded


def _fold_ascii(name: str, value: str, width: int = 78) -> bytes | None:
    """An ASCII header folded at single spaces into lines of at most ``width`` characters.

    ``None`` when that is not possible (a word too long, runs of spaces): ``compat32`` folds it
    instead. What ``email.header.Header`` does for such values, at a fraction of its cost.
    """
    words = value.split(" ")
    if "" in words or max(map(len, words)) > width - 1 - len(name) - 2:
        return None
    lines: list[str] = []
    line = f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}"
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


POLICY = _Policy(linesep="\r\n")


def _part(subtype: str, body: str) -> Message:
    """A ``text/<subtype>; charset="utf-8"`` part: 7bit if it can be, else quoted-printable."""
    part = Message(policy=POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    if body.isascii() and max(map(len, body.splitlines()), default=0) <= MAX_LINE:
        part["Content-Transfer-Encoding"] = "7bit"
        part.set_payload(body)
    else:
        part.set_payload(body.encode("utf-8"))
        encoders.encode_quopri(part)  # quopri: every line under 77 characters, any byte escaped
    return part


def _boundary() -> str:
    """A random boundary, short enough that ``Content-Type`` stays on one line."""
    return "=_" + secrets.token_hex(12)


@lru_cache(maxsize=1)
def date_header(now: datetime) -> str:
    """The ``Date`` value for ``now`` (a batch sent within one second shares it)."""
    return format_datetime(now)


def build(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html: str,
    message_id: str,
    kind: str,
    now: datetime,
) -> bytes:
    """One email as bytes with CRLF line ends, ready for ``SMTP.sendmail``.

    Raises:
        BadAddress: the sender or a recipient is not one plain address (or there is no recipient).
        UnsafeHeader: a header value would break the header block.
    """
    if not recipients:
        raise BadAddress("no recipient")
    to = [plain_address(r) for r in recipients]
    if not _KIND.fullmatch(kind):
        raise UnsafeHeader("X-Carepath-Kind: not a kind name")
    parts = (_part("plain", text), _part("html", html))
    payloads = [str(p.get_payload()) for p in parts]
    boundary = _boundary()
    while any(boundary in p for p in payloads):  # 96 random bits: never, but cheap to be sure
        boundary = _boundary()
    msg = Message(policy=POLICY)
    msg["From"] = plain_address(sender)
    msg["To"] = ", ".join(to)
    msg["Subject"] = one_line(subject)
    msg["Date"] = date_header(now.replace(microsecond=0))
    msg["Message-ID"] = message_id
    msg["MIME-Version"] = "1.0"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Carepath-Kind"] = kind
    msg["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
    for part in parts:
        msg.attach(part)
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=POLICY).flatten(msg)
    return out.getvalue()
