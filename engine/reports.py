"""Reports: the shapes every report shares, and the period arithmetic (domain.md §6).

A report is computed from the event log as of a day (events recorded after that day's end are left
out, and corrections count only once recorded by then), over a period (financial years, 1 April to
31 March, by default). It comes back as a ``Report``: named tables for people (the CLI's table, CSV,
XLSX and the web page's GOV.UK tables and charts all draw from these) and ``data``, the report's own
JSON shape for programs (``report scorecard --format json`` lists each child's contribution;
``report funnel`` its counts, conversion and ``applications_needed_for_target``).

Pure: no SQL, no I/O. ``storage.queries.reports`` reads the rows; ``engine.services.reports``
authorizes and assembles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

#: The kinds a column's values come in, so every renderer formats them alike.
ColumnKind = Literal["text", "int", "percent", "days", "date"]
#: How the web page draws a table beside it (always with the table itself): bars, a line over months, or none.
ChartKind = Literal["bar", "line"]

REPORT_NAMES = ("funnel", "adopters", "scorecard", "compliance", "caseload")


@dataclass(frozen=True, slots=True)
class Period:
    """Days ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def label(self) -> str:
        """``2026-27`` for a financial year, otherwise ``1 Apr 2026 to 30 Nov 2026``."""
        if self.start == financial_year_start(self.start) and self.end == financial_year(self.start).end:
            return f"{self.start.year}-{(self.start.year + 1) % 100:02d}"
        return f"{_day(self.start)} to {_day(self.end)}"


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%b')} {d.year}"


def financial_year_start(day: date) -> date:
    """1 April of the financial year ``day`` falls in."""
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def financial_year(day: date) -> Period:
    """The financial year (1 April to 31 March) that ``day`` falls in."""
    start = financial_year_start(day)
    return Period(start, date(start.year + 1, 3, 31))


def scorecard_period(day: date) -> Period:
    """The scorecard's 3 years ending on the last 31 March on or before ``day`` (domain.md §6.1)."""
    end = date(day.year, 3, 31) if day >= date(day.year, 3, 31) else date(day.year - 1, 3, 31)
    return Period(date(end.year - 3, 4, 1), end)


def months(period: Period) -> list[Period]:
    """The calendar months the period touches, each clipped to it (for lines over months)."""
    out: list[Period] = []
    cur = period.start
    while cur <= period.end:
        nxt = date(cur.year + (cur.month == 12), cur.month % 12 + 1, 1)
        out.append(Period(cur, min(period.end, nxt - timedelta(days=1))))
        cur = nxt
    return out


def ratio(part: int, whole: int) -> float | None:
    """``part / whole``, or ``None`` when there is nothing to divide by (never a division by zero)."""
    return part / whole if whole else None


def needed_for(target: float, base: int) -> int:
    """The smallest whole number that meets ``target`` (a fraction) of ``base``: rounded up."""
    return math.ceil(round(target * base, 9))


def median(values: Sequence[float]) -> float | None:
    """The median (the mean of the middle two for an even count), or ``None`` for none."""
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile by nearest rank (90 -> the value 90% of the values are at or under)."""
    if not values:
        return None
    s = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(s)))
    return float(s[rank - 1])


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    kind: ColumnKind = "text"


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a report; ``rows`` map column keys to values (``None`` prints as a dash).

    ``chart`` says how the web page draws it: the ``x`` column's values along one axis and each of the
    ``y`` columns as a series (bars, or a line over months); the table is always shown with it.
    """

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]
    chart: ChartKind | None = None
    x: str | None = None
    y: tuple[str, ...] = ()
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    """A computed report: what it is over, its tables, and its JSON ``data``."""

    name: str
    title: str
    period: Period
    as_of: date
    filters: Mapping[str, str]
    tables: tuple[Table, ...]
    data: Mapping[str, Any] = field(default_factory=dict)

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        """The report for programs: what it covers, then its own ``data``."""
        return {
            "report": self.name,
            "title": self.title,
            "from": self.period.start,
            "to": self.period.end,
            "as_of": self.as_of,
            "filters": dict(self.filters),
            **self.data,
        }


# -- what the read models are asked for (engine.services.reports builds these from the journeys) --------


@dataclass(frozen=True, slots=True)
class ReportTargets:
    """The settings a report measures against (``config.settings.ReportSettings``, as plain values)."""

    target_conversion: float = 0.15
    a1_threshold_days: int = 426
    a2_threshold_days: int = 121


@dataclass(frozen=True, slots=True)
class Milestone:
    """A step a case reaches by one of ``triggers`` on journey ``journey``; its day is the event's
    ``fact`` (a date fact the event records, e.g. ``application_received_on``) or else its effective day.

    A case reaches a milestone once: the first matching effective event dates it.
    """

    journey: str
    key: str
    label: str
    triggers: tuple[str, ...]
    fact: str | None = None


@dataclass(frozen=True, slots=True)
class Stretch:
    """Days from one milestone to a later one (a stage's duration), for cases reaching ``end`` in the period."""

    journey: str
    key: str
    label: str
    start: str
    end: str
    timescale: str = ""
    #: The timescale as calendar days (a limit in days or weeks) or months, to count those within it;
    #: neither for a limit in working days (the database does not know the calendar).
    limit_days: int | None = None
    limit_months: int | None = None


@dataclass(frozen=True, slots=True)
class Quantiles:
    """How many values, their median and 90th percentile (nearest rank), computed by the database."""

    n: int
    median: float | None
    p90: float | None
    max: float | None = None
    #: How many were within a timescale, where one was asked for and can be counted.
    within: int | None = None


@dataclass(frozen=True, slots=True)
class ExitCount:
    """Cases of ``journey`` that left at ``stage`` for ``reason``: in the period, and of the period's cohort."""

    journey: str
    stage: str
    reason: str
    in_period: int
    cohort: int


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One effective event of a case a report looks at closely (a scorecard child, an adopter household)."""

    case_id: int
    ref: str
    opened_on: date
    trigger: str
    effective_on: date
    facts: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StateCount:
    """Open cases of ``journey`` in ``state`` as of the day (for one owner, when asked by worker)."""

    journey: str
    state: str
    owner: str | None
    open: int
    days: Quantiles


@dataclass(frozen=True, slots=True)
class DeadlineCount:
    """Deadlines of a rule due in the period, as they stood on the as-of day (see ``ReportReads.deadlines``)."""

    journey: str
    rule: str
    team: str | None
    owner: str | None
    due: int
    met_on_time: int
    met_late: int
    breached: int
    open_past_due: int
    open_not_past_due: int
    open_due_later: int
    #: How late the deadlines met late were: days late -> how many.
    late: Mapping[int, int] = field(default_factory=dict)

    @property
    def rate_on_time(self) -> float | None:
        """Met on time over due (``None`` when nothing fell due)."""
        return ratio(self.met_on_time, self.due)

    @property
    def late_days(self) -> Quantiles:
        """Median, 90th percentile and most days late of those met late."""
        return weighted_quantiles(self.late)


#: The counts of a ``DeadlineCount``, which add up across rules, teams and workers.
DEADLINE_COUNTS = (
    "due",
    "met_on_time",
    "met_late",
    "breached",
    "open_past_due",
    "open_not_past_due",
    "open_due_later",
)


def combine(
    counts: Sequence[DeadlineCount], key: Callable[[DeadlineCount], tuple[str, str, str | None, str | None]]
) -> list[DeadlineCount]:
    """``counts`` added up by ``key`` (journey, rule, team, owner): per rule, per team, per worker."""
    out: dict[tuple[str, str, str | None, str | None], DeadlineCount] = {}
    for c in counts:
        k = key(c)
        got = out.get(k)
        late = dict(got.late) if got is not None else {}
        for d, n in c.late.items():
            late[d] = late.get(d, 0) + n
        sums = {n: getattr(c, n) + (getattr(got, n) if got is not None else 0) for n in DEADLINE_COUNTS}
        out[k] = DeadlineCount(k[0], k[1], k[2], k[3], **sums, late=late)
    return [out[k] for k in sorted(out, key=lambda k: tuple(x or "" for x in k))]


def weighted_quantiles(counts: Mapping[int, int]) -> Quantiles:
    """Median, 90th percentile (nearest rank) and most of values given as value -> how many."""
    n = sum(counts.values())
    if not n:
        return Quantiles(0, None, None, None)
    ordered = sorted(counts.items())

    def at(rank: int) -> float:
        seen = 0
        for value, k in ordered:
            seen += k
            if seen >= rank:
                return float(value)
        return float(ordered[-1][0])

    mid = (at((n + 1) // 2) + at(n // 2 + 1)) / 2
    return Quantiles(n, mid, at((9 * n + 9) // 10), float(ordered[-1][0]))


def days(start: date | None, end: date | None) -> int | None:
    """Calendar days from ``start`` to ``end`` (domain.md §6: end minus start), or ``None`` if either is unknown."""
    return None if start is None or end is None else (end - start).days


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, or ``None`` for none."""
    return sum(values) / len(values) if values else None


def add_months(day: date, n: int) -> date:
    """``day`` plus ``n`` calendar months, clipped to the month's last day (31 Aug + 6 months: 28/29 Feb)."""
    y, m = divmod(day.month - 1 + n, 12)
    return _clip(day.year + y, m + 1, day.day)


def _clip(year: int, month: int, d: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = (nxt - timedelta(days=1)).day
    return date(year, month, min(d, last))
