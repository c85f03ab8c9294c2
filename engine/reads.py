"""What the read models return and how a list is scoped: plain data shared by storage and entrypoints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from carepath.engine.case import Case, CaseStatus, Event
from carepath.engine.deadlines import Deadline
from carepath.engine.errors import InvalidInput

OutboxStatus = Literal["pending", "sent", "dead"]

T = TypeVar("T")

#: Rows a list read returns when the caller names no limit: a screenful.
DEFAULT_LIMIT = 50
#: The most rows one page may hold, whatever the caller asks for.
MAX_LIMIT = 1000
#: Totals are counted up to this many matches (four screenfuls); past it a page says "more than
#: 200" (``total_exact`` false), so a list costs the same at 100,000 cases as at 1,000: a count
#: reads every match it counts (docs/adr/0008). Exact figures are the reports' and the digest's job.
COUNT_CAP = 200
#: A case's history is paged too; a longer default page, since most histories fit in it whole.
HISTORY_LIMIT = 200
#: What separates the parts of a cursor on a composite sort key (never in a date, reference or id).
_SEP = "~"


def clamp_limit(limit: int | None, default: int = DEFAULT_LIMIT) -> int:
    """``limit`` within 1..``MAX_LIMIT`` (``default`` when ``None``)."""
    return max(1, min(default if limit is None else limit, MAX_LIMIT))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list read, in the list's order.

    ``next`` is the cursor of the following page (pass it back as ``after``), ``None`` on the last
    page; ``total`` is how many rows the whole list holds (same filters and scope, no cursor), up
    to ``COUNT_CAP``: past it, ``total`` is ``COUNT_CAP`` and ``total_exact`` is false.
    Iterating a page iterates its items.
    """

    items: tuple[T, ...]
    total: int
    limit: int
    next: str | None = None
    total_exact: bool = True

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def make_cursor(*parts: object) -> str:
    """A cursor from the sort key of a page's last row (dates as ISO days)."""
    return _SEP.join(p.isoformat() if isinstance(p, date) else str(p) for p in parts)


def cursor_parts(cursor: str, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    """The sort key ``cursor`` holds, one value per type in ``kinds`` (``int``, ``str``, ``date``).

    A one-part cursor is read whole (an email may hold the separator); the parts of a composite
    one are dates, ids and case references, which never do. A cursor that does not read as
    ``kinds`` is refused as ``InvalidInput``.
    """
    bits = [cursor] if len(kinds) == 1 else cursor.split(_SEP)
    if len(bits) != len(kinds):
        raise InvalidInput(f"cursor {cursor!r} is not one this list gave")
    out: list[Any] = []
    try:
        for bit, kind in zip(bits, kinds, strict=True):
            out.append(date.fromisoformat(bit) if kind is date else int(bit) if kind is int else bit)
    except ValueError:
        raise InvalidInput(f"cursor {cursor!r} is not one this list gave") from None
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Scope:
    """The cases an actor may see in a list: all of them, or their own and their teams'."""

    all_cases: bool
    actor_id: int | None = None
    team_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """Filters of a case list (``None``: any)."""

    workflow: str | None = None
    state: str | None = None
    owner_id: int | None = None
    team_id: int | None = None
    status: CaseStatus | None = None
    limit: int = DEFAULT_LIMIT
    after: str | None = None
    """The cursor a previous page gave as ``next``."""


@dataclass(frozen=True, slots=True)
class CaseListing:
    """A case with its owner's email and team's name."""

    case: Case
    owner: str | None
    team: str | None


@dataclass(frozen=True, slots=True)
class WorkItem:
    """An open case with its owner and team, and its earliest open deadline (if any)."""

    listing: CaseListing
    next_deadline: Deadline | None


@dataclass(frozen=True, slots=True)
class WorkerLoad:
    """How many open cases one worker of a team holds."""

    owner: str | None
    name: str | None
    open_cases: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event with the email of who recorded it."""

    event: Event
    by: str | None
    in_error: bool = False
    """Whether a later ``entered_in_error`` event voids this one (on whatever page it is)."""


@dataclass(frozen=True, slots=True)
class DeadlineListing:
    """An open deadline across cases, with its case and people."""

    deadline: Deadline
    case_ref: str
    workflow_id: str
    workflow_version: int
    owner: str | None
    team: str | None


@dataclass(frozen=True, slots=True)
class OutboxListing:
    """One outbox row as people read it (never its context)."""

    id: int
    key: str
    kind: str
    case_ref: str | None
    recipients: tuple[str, ...]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    message_id: str


@dataclass(frozen=True, slots=True)
class CaughtListing:
    """A message the built-in catcher received."""

    id: int
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Override:
    """A local calendar override."""

    day: date
    kind: str
    reason: str


JsonDict = dict[str, Any]
