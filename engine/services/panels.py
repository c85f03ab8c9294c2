"""Panels end to end: sittings, members and quorum, booking, papers, the agenda, recommendations, minutes.

Every move of a case (booked, papers sent, deferred, a recommendation, the final minutes) is a
``CaseService.fire`` of the journey's own trigger, run inside the panel command's transaction
(``_Joined``), so the journey's roles, facts, guards, deadlines, notices and audit apply as they
do from ``carepath case fire``, and the agenda row commits with the case's event or not at all.
Which triggers those are is read from the journey (``panel_routes``): the ready state names its
``panel_type``; the booking move requires ``panel_date``; from the booked state, the move that
requires ``papers_circulated_on``, the one back to the ready state (defer), the one that requires
the panel's sitting day (a fact meaning ``panel_held_on``) with its members and recommendation;
from there, the move that requires a fact meaning ``minutes_received_on``.

``panel_date``, ``panel_held_on`` and ``panel_members`` come from the sitting and its attendance,
never typed by hand: a decision maker who attended is then refused by the ``not_on_panel`` guard.

Commands are authorized as ``panel.*`` (``engine.policy``); reads as ``panel.read``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any, Literal, Protocol

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import Actor, Case
from carepath.engine.clock import Clock, local_today
from carepath.engine.definition import WorkflowDef
from carepath.engine.errors import CarepathError, CaseNotFound, InvalidInput, NotFound, NotPermitted
from carepath.engine.events import AgendaSent, Audited, CaseMoved, PanelSittingAdded
from carepath.engine.panels import (
    CAPACITY_MAX,
    DEFAULT_CAPACITY,
    JOINT_QUORUM,
    WEEKDAYS,
    Quorum,
    check_roles,
    check_type,
    papers_by,
    plan_days,
    quorum,
    serves,
)
from carepath.engine.policy import authorize, case_scope_filter
from carepath.engine.ports import Transaction, UnitOfWork
from carepath.engine.reads import DEFAULT_LIMIT, Page, clamp_limit
from carepath.engine.services.cases import CaseService, Who, resolve_actor
from carepath.engine.text import cursor, day_in_range, email_address, lookup_reference, one_line, record_id

PLACE_MAX = 200
REASON_MAX = 500
NAME_MAX = 200
#: What ``recommend`` takes instead of a recommendation to send a case back to the queue.
DEFERRED = "deferred"
#: A booking ended because its case left the panel's way (``BookingRelease``).
WITHDRAWN = "withdrawn"
SittingStatus = Literal["planned", "held", "cancelled"]
PapersStatus = Literal["circulated", "due", "late"]


# -- what the service hands out ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SittingView:
    """A sitting as people read it: with its papers date, cases booked and quorum so far."""

    id: int
    day: date
    panel_type: str
    starts_at: time | None
    place: str
    capacity: int
    status: SittingStatus
    cancel_reason: str | None
    papers_due_on: date
    booked: int
    quorum: Quorum
    minutes_received_on: date | None = None

    @property
    def papers_by(self) -> date:
        """The old name of ``papers_due_on`` (``engine.panels.Sitting``)."""
        return self.papers_due_on


@dataclass(frozen=True, slots=True)
class Member:
    """Someone on the central list of possible panel members."""

    id: int
    name: str
    email: str | None
    roles: tuple[str, ...]
    panel_types: tuple[str, ...]
    expires_on: date | None
    active: bool


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """A case on a sitting's agenda, with its papers' status and the outcome once heard."""

    ref: str
    workflow: str
    state: str
    booked_on: date
    papers_circulated_on: date | None
    papers_status: PapersStatus
    recommendation: str | None
    deferred_reason: str | None


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A case ready for panel and not yet booked: the coordinator's queue, across journeys."""

    ref: str
    workflow: str
    state: str
    panel_type: str
    last_event_on: date


@dataclass(frozen=True, slots=True)
class SittingReport:
    """What one sitting's record says for the reports (issue 12 point 8).

    ``papers_in_time``: cases heard whose papers went at least 5 working days before (by the
    calendar now); ``decided_in_time``: cases whose decision was made within 7 working days of the
    final minutes (their journey's decision clock met on time), of ``decided``.
    """

    id: int
    day: date
    panel_type: str
    status: SittingStatus
    heard: int
    deferred: int
    papers_in_time: int
    minutes_received_on: date | None
    decided: int
    decided_in_time: int
    #: For each case heard: calendar days from the day it became ready for panel to the sitting.
    ready_to_panel_days: tuple[int, ...] = ()

    @property
    def papers_in_time_share(self) -> float | None:
        """Share of the cases heard whose papers went in time (``None`` with none heard)."""
        return self.papers_in_time / self.heard if self.heard else None


@dataclass(frozen=True, slots=True)
class PlanResult:
    """The sittings a plan added, the days it moved (wanted, actual, why) and the days it skipped (day, why)."""

    added: list[SittingView] = field(default_factory=list)
    shifted: list[tuple[date, date, str]] = field(default_factory=list)
    skipped: list[tuple[date, str]] = field(default_factory=list)


# -- what storage gives ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredSitting:
    """A sitting row with how many cases are on its agenda and its attendees' roles."""

    id: int
    day: date
    panel_type: str
    starts_at: time | None
    place: str
    capacity: int
    status: SittingStatus
    cancel_reason: str | None
    minutes_received_on: date | None
    booked: int
    attendee_roles: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Booking:
    """A case's booking on a sitting (``status``: booked, heard, moved or deferred)."""

    id: int
    sitting_id: int
    case_id: int
    ref: str
    workflow: str
    state: str
    booked_on: date
    status: str
    papers_circulated_on: date | None
    recommendation: str | None
    note: str | None
    reason: str | None


class PanelStore(Protocol):
    """Panel statements on one unit of work's transaction (``storage.panels``)."""

    def add_sitting(self, day: date, panel_type: str, starts_at: time | None, place: str, capacity: int) -> int:
        """A new planned sitting; its id. ``InvalidInput`` if one of that type is on that day."""
        ...

    def sitting_for_update(self, sitting_id: int) -> StoredSitting:
        """The sitting, locked for the rest of the transaction; ``NotFound`` otherwise."""
        ...

    def find_sitting(self, day: date, panel_type: str) -> StoredSitting | None:
        """The sitting of that type on that day that is not cancelled, if any."""
        ...

    def set_status(self, sitting_id: int, status: str, reason: str | None) -> None: ...

    def set_minutes(self, sitting_id: int, received_on: date) -> None: ...

    def add_member(
        self, name: str, email: str | None, roles: Sequence[str], panel_types: Sequence[str], expires_on: date | None
    ) -> int:
        """A new member; its id. ``InvalidInput`` if the email is another member's."""
        ...

    def members_by_id(self, ids: Sequence[int]) -> list[Member]: ...

    def attendance(self, sitting_id: int) -> list[Member]: ...

    def set_attendance(self, sitting_id: int, member_ids: Sequence[int]) -> None: ...

    def bookings(self, sitting_id: int, statuses: Sequence[str]) -> list[Booking]: ...

    def active_booking(self, case_id: int) -> Booking | None:
        """The case's booking still waiting for its sitting (status booked), if any."""
        ...

    def add_booking(self, sitting_id: int, case_id: int, booked_on: date) -> int: ...

    def end_booking(self, booking_id: int, status: str, reason: str | None) -> None: ...

    def set_papers(self, booking_id: int, day: date) -> None: ...

    def set_recommendation(self, booking_id: int, recommendation: str, note: str | None) -> None: ...


class PanelReads(Protocol):
    """Panels as read on the read engine (``storage.queries.panels``)."""

    def actor(self, email: str) -> Actor:
        """The active user ``email``; ``NotFound`` or ``InvalidInput`` (deactivated)."""
        ...

    def sitting(self, sitting_id: int) -> StoredSitting:
        """``NotFound`` if there is none."""
        ...

    def sittings(
        self, panel_type: str | None, since: date | None, *, limit: int, after: str | None
    ) -> Page[StoredSitting]: ...

    def members(self, panel_type: str | None) -> list[Member]: ...

    def attendance(self, sitting_id: int) -> list[Member]: ...

    def agenda(self, sitting_id: int) -> list[Booking]:
        """Bookings on the sitting that are not moved elsewhere, in the order they were made."""
        ...

    def member_sittings(self, member_id: int, since: date | None) -> list[StoredSitting]:
        """The sittings the member is recorded as attending, in date order; ``NotFound`` for no such member."""
        ...

    def calendar_token(self, member_id: int) -> str:
        """The secret of a member's calendar link; ``NotFound`` for no such member."""
        ...

    def member_by_token(self, token: str) -> Member | None:
        """The active member whose calendar link holds ``token``."""
        ...

    def waiting(
        self, states: Sequence[tuple[str, int, str]], *, all_cases: bool, actor_id: int, team_ids: frozenset[int]
    ) -> list[tuple[str, str, int, str, date]]:
        """Open cases in one of ``states`` (workflow, version, state) with no booking waiting, oldest
        latest event first: (ref, workflow, version, state, last_event_on); only the actor's own and
        their teams' cases unless ``all_cases``."""
        ...

    def report_rows(self, since: date, until: date) -> list[tuple[StoredSitting, list[Booking]]]:
        """Sittings from ``since`` to ``until`` with every booking made on them."""
        ...

    def decisions_in_time(self, case_ids: Sequence[int], rules: Sequence[str], since: date) -> tuple[int, int]:
        """Of the cases, how many have a deadline of ``rules`` started on or after ``since`` that was met,
        and how many of those were met on time."""
        ...

    def entered_on(self, wanted: Sequence[tuple[int, str, date]]) -> dict[int, date]:
        """For each (case id, state, by): the latest day on or before ``by`` the case entered ``state``."""
        ...


class _PortStore:
    """The old ``Panels`` port of a transaction as a ``PanelStore`` (sittings only: hand-written fakes)."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    def add_sitting(self, day: date, panel_type: str, starts_at: time | None, place: str, capacity: int) -> int:
        self.tx.add_sitting(day, panel_type)
        return 0

    def find_sitting(self, day: date, panel_type: str) -> StoredSitting | None:
        if (day, panel_type) in self.tx.sitting_days(panel_type, day):
            return StoredSitting(0, day, panel_type, None, "", DEFAULT_CAPACITY, "planned", None, None, 0, ())
        return None

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"panels: {name} needs a panel store (storage.panels)")


class _Joined:
    """A unit of work that hands out one transaction already open: ``CaseService`` runs inside a panel command."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        yield self.tx


# -- which moves a journey makes at panel ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PanelRoute:
    """One way a journey goes through panel: its states, triggers and the facts they take."""

    panel_type: str
    ready: str
    book: str
    booked: str
    papers: str | None
    papers_fact: str | None
    defer: str | None
    recommend: str | None
    held_fact: str | None
    members_fact: str | None
    recommendation_fact: str | None
    options: tuple[str, ...]
    recommended: str | None
    minutes: str | None
    minutes_fact: str | None


def _meaning(d: WorkflowDef, name: str) -> str:
    spec = d.facts.get(name)
    return (spec.means or name) if spec is not None else name


def _requiring(d: WorkflowDef, state: str, meaning: str) -> tuple[str, str, str] | None:
    """(trigger, dest, fact) of the move from ``state`` that requires a fact meaning ``meaning``."""
    for t in d.transitions:
        if state in t.sources:
            for f in t.requires:
                if _meaning(d, f) == meaning:
                    return t.trigger, t.dest, f
    return None


def panel_routes(d: WorkflowDef) -> dict[str, PanelRoute]:
    """Each panel route of a journey, by every state a case on it may be in (ready, booked, recommended)."""
    out: dict[str, PanelRoute] = {}
    for state in d.states.values():
        kind = state.meta.get("panel_type")
        if not kind:
            continue
        booking = _requiring(d, state.name, "panel_date")
        if booking is None:
            continue
        book, booked, _ = booking
        papers = _requiring(d, booked, "papers_circulated_on")
        defer = next(
            (t.trigger for t in d.transitions if booked in t.sources and t.dest == state.name and not t.requires),
            None,
        )
        rec = _requiring(d, booked, "panel_held_on")
        members = rec_fact = None
        options: tuple[str, ...] = ()
        minutes = None
        if rec is not None:
            t = next(t for t in d.transitions if booked in t.sources and t.trigger == rec[0])
            members = next((f for f in t.requires if _meaning(d, f) == "panel_members"), None)
            rec_fact = next((f for f in t.requires if _meaning(d, f) == "recommendation"), None)
            if rec_fact is not None:
                options = tuple(d.facts[rec_fact].options)
            minutes = _requiring(d, rec[1], "minutes_received_on")
        route = PanelRoute(
            panel_type=str(kind),
            ready=state.name,
            book=book,
            booked=booked,
            papers=papers[0] if papers else None,
            papers_fact=papers[2] if papers else None,
            defer=defer,
            recommend=rec[0] if rec else None,
            held_fact=rec[2] if rec else None,
            members_fact=members,
            recommendation_fact=rec_fact,
            options=options,
            recommended=rec[1] if rec else None,
            minutes=minutes[0] if minutes else None,
            minutes_fact=minutes[2] if minutes else None,
        )
        for name in (route.ready, route.booked, route.recommended):
            if name is not None:
                out.setdefault(name, route)
    return out


class WorkflowLookup(Protocol):
    def get(self, workflow_id: str, version: int) -> Any: ...


class BookingRelease:
    """A case that leaves its booked state other than through the panel service comes off the agenda.

    A child's plan changes, a household withdraws, a case is closed while booked: its booking ends
    (status ``withdrawn``, with the move as the reason) in the same transaction, so no agenda lists
    a case that is no longer waiting for it. A hold keeps the booking (resuming returns the case to
    it). Runs on ``CaseMoved`` (the bus, just before commit), after the panel service's own moves
    have settled their bookings: it looks at the case's state then, not at each event.
    """

    def __init__(self, workflows: WorkflowLookup, store: Callable[[Transaction], PanelStore]) -> None:
        self.workflows = workflows
        self.store = store
        self._routes: dict[tuple[str, int], dict[str, PanelRoute]] = {}

    def __call__(self, moved: CaseMoved, tx: Transaction) -> None:
        e = moved.event
        if e.from_state is None or e.from_state == e.to_state or e.trigger == "hold":
            return
        key = (moved.case.workflow_id, moved.case.workflow_version)
        if key not in self._routes:
            self._routes[key] = panel_routes(self.workflows.get(*key).definition)
        route = self._routes[key].get(e.from_state)
        if route is None or e.from_state != route.booked:
            return
        store = self.store(tx)
        booking = store.active_booking(moved.case.id)
        if booking is None:
            return
        now = tx.case_for_update(moved.case.ref)
        if now.state == route.booked:
            return  # moved back onto a sitting in the same change (``move``)
        store.end_booking(booking.id, WITHDRAWN, f"{_words(e.trigger)} ({_words(now.state)})")


# -- the service -----------------------------------------------------------------------------------


class PanelService:
    """Panel sittings and what happens at them. Built once by ``config.bootstrap``.

    Args:
        uow: the unit of work.
        clock: the injected clock.
        calendar: working days (papers dates count back over bank holidays and closures).
        cases: the case service every case move goes through (run inside the panel command's transaction).
        store: the panel statements on a transaction; without it only ``add_sitting`` works (on the
            transaction's ``Panels`` port, as the hand-written fakes provide).
        reads: the panel reads (on the read engine).
        joint_quorum: members a joint panel needs.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        calendar: WorkingCalendar,
        cases: CaseService | None = None,
        *,
        store: Callable[[Transaction], PanelStore] | None = None,
        reads: PanelReads | None = None,
        joint_quorum: int = JOINT_QUORUM,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.calendar = calendar
        self._cases = cases
        self._store = store
        self._reads = reads
        self.joint_quorum = joint_quorum
        self._routes: dict[tuple[str, int], dict[str, PanelRoute]] = {}

    # -- sittings ---------------------------------------------------------------------------------

    def add_sitting(
        self,
        day: date,
        panel_type: str,
        actor: Who | None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        place: str = "",
        starts_at: time | None = None,
    ) -> SittingView:
        """Plan a sitting; refused on a day that is not a working day, in the past, or already planned."""
        check_type(panel_type)
        day_in_range(day, "the sitting's date")
        capacity, place = self._check_sitting(capacity, place)
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.add")
            store = self._store_of(tx)
            self._check_day(day)
            if store.find_sitting(day, panel_type) is not None:
                raise InvalidInput(f"a {panel_type} panel is already planned on {day.isoformat()}")
            sitting_id = store.add_sitting(day, panel_type, starts_at, place, capacity)
            tx.record(PanelSittingAdded(day, panel_type))
            tx.record(Audited(by.id, "panel.add", f"{panel_type}:{day.isoformat()}", {"capacity": capacity}))
        stored = StoredSitting(sitting_id, day, panel_type, starts_at, place, capacity, "planned", None, None, 0, ())
        return self._view(stored)

    def plan(
        self,
        panel_type: str,
        weekday: int,
        nth: int,
        start: date,
        end: date,
        actor: Who | None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        place: str = "",
        starts_at: time | None = None,
    ) -> PlanResult:
        """Plan a sitting on the ``nth`` ``weekday`` of each month from ``start`` to ``end`` (one transaction).

        A bank holiday or closure moves that month's sitting to the next working day (in
        ``shifted``); a day in the past or already planned is skipped (in ``skipped``).
        """
        check_type(panel_type)
        day_in_range(start, "the plan's start")
        day_in_range(end, "the plan's end")
        capacity, place = self._check_sitting(capacity, place)
        days = plan_days(weekday, nth, start, end, self.calendar)
        today = local_today(self.clock)
        result = PlanResult()
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.plan")
            store = self._store_of(tx)
            for wanted, actual, why in days:
                if actual < today:
                    result.skipped.append((actual, "in the past"))
                    continue
                if store.find_sitting(actual, panel_type) is not None:
                    result.skipped.append((actual, f"a {panel_type} panel is already planned"))
                    continue
                if why is not None:
                    result.shifted.append((wanted, actual, why))
                sid = store.add_sitting(actual, panel_type, starts_at, place, capacity)
                tx.record(PanelSittingAdded(actual, panel_type))
                stored = StoredSitting(
                    sid, actual, panel_type, starts_at, place, capacity, "planned", None, None, 0, ()
                )
                result.added.append(self._view(stored))
            detail = {
                "weekday": WEEKDAYS[weekday],
                "nth": nth,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "added": len(result.added),
                "shifted": [[w.isoformat(), a.isoformat(), r] for w, a, r in result.shifted],
            }
            tx.record(Audited(by.id, "panel.plan", f"{panel_type}:{start.isoformat()}..{end.isoformat()}", detail))
        return result

    def cancel(self, sitting_id: int, reason: str, actor: Who | None) -> SittingView:
        """Cancel a planned sitting; each case booked on it goes back to the queue (deferred) with the reason."""
        record_id(sitting_id, "the sitting id")
        reason = one_line(reason, "the reason", REASON_MAX)
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.cancel")
            store = self._store_of(tx)
            s = store.sitting_for_update(sitting_id)
            if s.status != "planned":
                raise InvalidInput(f"the {_named(s)} is {s.status}; only a planned sitting can be cancelled")
            why = f"panel on {s.day.isoformat()} cancelled: {reason}"
            for b in store.bookings(s.id, ("booked",)):
                self._defer(tx, by, b, why)
            store.set_status(s.id, "cancelled", reason)
            tx.record(Audited(by.id, "panel.cancel", _subject(s), {"reason": reason}))
        return self.sitting(sitting_id, by)

    def sitting(self, sitting_id: int, actor: Who | None) -> SittingView:
        """One sitting."""
        self._reader(actor)
        return self._view(self._reads_().sitting(record_id(sitting_id, "the sitting id")))

    def sittings(
        self,
        actor: Who | None,
        *,
        panel_type: str | None = None,
        since: date | None = None,
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Page[SittingView]:
        """A page of sittings in date order (cancelled ones included), of one type and from ``since`` if given."""
        self._reader(actor)
        if panel_type is not None:
            check_type(panel_type)
        page = self._reads_().sittings(panel_type, since, limit=clamp_limit(limit), after=cursor(after))
        return Page(tuple(self._view(s) for s in page), page.total, page.limit, page.next, page.total_exact)

    # -- members and attendance ------------------------------------------------------------------

    def add_member(
        self,
        name: str,
        email: str | None,
        roles: Sequence[str],
        panel_types: Sequence[str],
        actor: Who | None,
        *,
        expires_on: date | None = None,
    ) -> Member:
        """Add someone to the central list of possible members."""
        name = one_line(name, "the member's name", NAME_MAX)
        mail = email_address(email, "the member's email") if email and email.strip() else None
        kinds = tuple(dict.fromkeys(check_type(t.strip()) for t in panel_types))
        if not kinds:
            raise InvalidInput("a panel member sits on at least one panel type: fostering, adoption or joint")
        checked = check_roles(roles)
        if expires_on is not None:
            day_in_range(expires_on, "the membership's end")
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.members")
            if expires_on is not None and expires_on < local_today(self.clock):
                raise InvalidInput(f"the membership ended on {expires_on.isoformat()}, before today")
            member_id = self._store_of(tx).add_member(name, mail, checked, kinds, expires_on)
            detail = {"roles": list(checked), "panel_types": list(kinds)}
            tx.record(Audited(by.id, "panel.members", f"member:{member_id}", detail))
        return Member(member_id, name, mail, checked, kinds, expires_on, True)

    def members(self, actor: Who | None, *, panel_type: str | None = None) -> list[Member]:
        """The central list (of one panel type if given), by name."""
        self._reader(actor)
        if panel_type is not None:
            check_type(panel_type)
        return self._reads_().members(panel_type)

    def attend(self, sitting_id: int, member_ids: Sequence[int], actor: Who | None) -> SittingView:
        """Record who attends (or is expected at) a sitting, replacing the list; quorum follows from it."""
        record_id(sitting_id, "the sitting id")
        ids = list(dict.fromkeys(record_id(i, "a member id") for i in member_ids))
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.attend")
            store = self._store_of(tx)
            s = store.sitting_for_update(sitting_id)
            if s.status == "cancelled":
                raise InvalidInput(f"the {_named(s)} is cancelled")
            found = {m.id: m for m in store.members_by_id(ids)}
            for i in ids:
                m = found.get(i)
                if m is None:
                    raise NotFound("panel member", i)
                if not m.active:
                    raise InvalidInput(f"{m.name} (member {m.id}) is no longer an active member")
                if m.expires_on is not None and m.expires_on < s.day:
                    raise InvalidInput(f"{m.name} (member {m.id}) stopped being a member on {m.expires_on.isoformat()}")
                if not (s.panel_type in m.panel_types or s.panel_type == "joint"):
                    raise InvalidInput(f"{m.name} (member {m.id}) does not sit on {s.panel_type} panels")
            store.set_attendance(s.id, ids)
            tx.record(Audited(by.id, "panel.attend", _subject(s), {"members": ids}))
        return self.sitting(sitting_id, by)

    def attendance(self, sitting_id: int, actor: Who | None) -> list[Member]:
        """Who attends the sitting."""
        self._reader(actor)
        return self._reads_().attendance(record_id(sitting_id, "the sitting id"))

    def member_sittings(self, member_id: int, actor: Who | None, *, since: date | None = None) -> list[SittingView]:
        """The sittings a member is recorded at (their calendar), in date order, from ``since`` if given."""
        self._reader(actor)
        return [self._view(s) for s in self._reads_().member_sittings(record_id(member_id, "the member id"), since)]

    def calendar_link(self, member_id: int, actor: Who | None) -> str:
        """The secret part of a member's calendar link, for the coordinator to give them."""
        with self.uow.transaction() as tx:
            self._acting(tx, actor, "panel.members")
        return self._reads_().calendar_token(record_id(member_id, "the member id"))

    def member_calendar(self, token: str, *, since: date | None = None) -> tuple[Member, list[SittingView]]:
        """A member's sittings by their calendar link's secret: no sign-in (a calendar program cannot),
        and nothing in it but dates, times, places and counts. An unknown or inactive link is ``NotFound``."""
        if not token or len(token) > 64:
            raise NotFound("calendar", "link")
        member = self._reads_().member_by_token(token)
        if member is None:
            raise NotFound("calendar", "link")
        return member, [self._view(s) for s in self._reads_().member_sittings(member.id, since)]

    # -- booking and papers ----------------------------------------------------------------------

    def book(self, ref: str, sitting_id: int, actor: Who | None, *, on: date | None = None) -> SittingView:
        """Book a case that is ready for panel onto a sitting (the journey's booking move, ``panel_date`` from it).

        Refused, with the reason, on a full, past, cancelled or held sitting, a sitting of the
        wrong type, or a case that is not in a ready state (or is already booked).
        """
        record_id(sitting_id, "the sitting id")
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.book")
            store = self._store_of(tx)
            s = store.sitting_for_update(sitting_id)
            case = self._case(tx, ref)
            route = self._route(case)
            if route is None or case.state != route.ready:
                raise InvalidInput(f"{case.ref} is not ready for panel (it is {_words(case.state)})")
            self._check_open_sitting(s, route, case.ref)
            if store.active_booking(case.id or 0) is not None:
                raise InvalidInput(f"{case.ref} is already booked on a panel; move it instead")
            moved = self._joined(tx).fire(
                case.ref, route.book, by, on=on, facts={"panel_date": s.day.isoformat()}, note=_named(s)
            )
            store.add_booking(s.id, case.id or 0, moved.last_event_on)
            tx.record(Audited(by.id, "panel.book", _subject(s), {"ref": case.ref}))
        return self.sitting(sitting_id, by)

    def move(self, ref: str, sitting_id: int, actor: Who | None, reason: str) -> SittingView:
        """Move a booked case to another sitting: deferred from the first and booked on the second (history kept)."""
        record_id(sitting_id, "the sitting id")
        reason = one_line(reason, "the reason", REASON_MAX)
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.book")
            store = self._store_of(tx)
            case, booking = self._booked(tx, store, ref, "; book it instead")
            if booking.sitting_id == sitting_id:
                raise InvalidInput(f"{case.ref} is already booked on that sitting")
            route = self._route(case)
            if route is None or route.defer is None or case.state != route.booked:
                raise InvalidInput(f"{case.ref} cannot be moved from {_words(case.state)}")
            target = store.sitting_for_update(sitting_id)
            self._check_open_sitting(target, route, case.ref)
            cases = self._joined(tx)
            cases.fire(case.ref, route.defer, by, note=f"moved to the panel on {target.day.isoformat()}: {reason}")
            store.end_booking(booking.id, "moved", reason)
            moved = cases.fire(case.ref, route.book, by, facts={"panel_date": target.day.isoformat()}, note=reason)
            store.add_booking(target.id, case.id or 0, moved.last_event_on)
            detail = {"ref": case.ref, "from": booking.sitting_id, "reason": reason}
            tx.record(Audited(by.id, "panel.move", _subject(target), detail))
        return self.sitting(sitting_id, by)

    def defer(self, ref: str, reason: str, actor: Who | None, *, on: date | None = None) -> Case:
        """Take a booked case off its sitting's agenda before it sits: back to the queue, with the reason.

        (At the sitting, a deferral is one of the recommendations: ``recommend`` with ``deferred``.)
        """
        reason = one_line(reason, "the reason", REASON_MAX)
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.book")
            store = self._store_of(tx)
            case, booking = self._booked(tx, store, ref)
            s = store.sitting_for_update(booking.sitting_id)
            moved = self._defer(tx, by, booking, reason, on=on)
            tx.record(Audited(by.id, "panel.defer", _subject(s), {"ref": case.ref, "reason": reason}))
        return moved

    def papers(self, ref: str, actor: Who | None, *, on: date | None = None) -> AgendaItem:
        """Record that a booked case's papers went to the members (``papers_circulated_on``)."""
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.papers")
            store = self._store_of(tx)
            case = self._case(tx, ref)
            booking = store.active_booking(case.id or 0)
            route = self._route(case)
            if booking is None or route is None or route.papers is None or route.papers_fact is None:
                raise InvalidInput(f"{case.ref} is not booked on a panel")
            day = on or local_today(self.clock)
            if booking.papers_circulated_on is not None:
                raise InvalidInput(f"{case.ref}'s papers were sent on {booking.papers_circulated_on.isoformat()}")
            s = store.sitting_for_update(booking.sitting_id)
            if day > s.day:
                raise InvalidInput(f"papers on {day.isoformat()} are after the panel on {s.day.isoformat()}")
            moved = self._joined(tx).fire(case.ref, route.papers, by, on=on, facts={route.papers_fact: day.isoformat()})
            store.set_papers(booking.id, day)
            tx.record(Audited(by.id, "panel.papers", _subject(s), {"ref": case.ref, "on": day.isoformat()}))
        return AgendaItem(moved.ref, moved.workflow_id, moved.state, booking.booked_on, day, "circulated", None, None)

    def send_agenda(self, sitting_id: int, actor: Who | None) -> tuple[str, ...]:
        """Email the sitting's agenda to its members (case references and papers dates only, never names).

        The members are those recorded as attending (or expected); with none recorded yet, every
        active member of the central list for that panel type. Sent at most once a day per sitting.
        Returns the addresses it went to.
        """
        record_id(sitting_id, "the sitting id")
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.papers")
            store = self._store_of(tx)
            s = store.sitting_for_update(sitting_id)
            if s.status != "planned":
                raise InvalidInput(f"the {_named(s)} is {s.status}: its agenda is not sent any more")
            refs = tuple(b.ref for b in store.bookings(s.id, ("booked",)))
            if not refs:
                raise InvalidInput(f"the {_named(s)} has no case booked: nothing to send")
            members = store.attendance(s.id) or [
                m for m in self._reads_().members(None if s.panel_type == "joint" else s.panel_type) if m.active
            ]
            recipients = tuple(sorted({m.email for m in members if m.email}))
            if not recipients:
                raise InvalidInput(f"no member of the {_named(s)} has an email address")
            tx.record(AgendaSent(s.id, s.day, s.panel_type, papers_by(s.day, self.calendar), refs, recipients, s.place))
            tx.record(Audited(by.id, "panel.agenda", _subject(s), {"refs": list(refs), "members": len(recipients)}))
        return recipients

    def agenda(self, sitting_id: int, actor: Who | None) -> list[AgendaItem]:
        """The sitting's cases (booked, heard or deferred from it) with their papers' status."""
        self._reader(actor)
        reads = self._reads_()
        s = reads.sitting(record_id(sitting_id, "the sitting id"))
        return [self._item(b, s.day) for b in reads.agenda(s.id)]

    def queue(self, actor: Who | None, *, panel_type: str | None = None) -> list[QueueItem]:
        """Cases ready for panel and not booked yet, across journeys, longest waiting first (``case.list`` scope)."""
        who = self._reader(actor)
        if panel_type is not None:
            check_type(panel_type)
        kind, teams = case_scope_filter(who, "case.list")
        if kind == "none":
            return []
        if self._cases is None:
            raise NotImplementedError("panels: the queue needs the case service")
        states: dict[tuple[str, int, str], str] = {}
        for compiled in self._cases.workflows:
            d = compiled.definition
            for route in panel_routes(d).values():
                if panel_type is None or serves(panel_type, route.panel_type):
                    states[(d.id, d.version, route.ready)] = route.panel_type
        if not states:
            return []
        rows = self._reads_().waiting(list(states), all_cases=kind == "all", actor_id=who.id, team_ids=teams)
        return [QueueItem(ref, wf, state, states[(wf, v, state)], last) for ref, wf, v, state, last in rows]

    def report(self, actor: Who | None, since: date, until: date) -> list[SittingReport]:
        """Each sitting from ``since`` to ``until``: held or not, cases heard and deferred, papers in time,
        minutes, decisions within 7 working days of the minutes (the reports' read model)."""
        self._reader(actor)
        if until < since:
            raise InvalidInput(f"the report ends ({until}) before it starts ({since})")
        reads = self._reads_()
        out: list[SittingReport] = []
        for s, bookings in reads.report_rows(since, until):
            heard = [b for b in bookings if b.status == "heard"]
            due = papers_by(s.day, self.calendar)
            in_time = sum(1 for b in heard if b.papers_circulated_on is not None and b.papers_circulated_on <= due)
            decided, decided_in_time = (0, 0)
            ready_states = [(b.case_id, self._ready_state(b.workflow), s.day) for b in heard]
            entered = reads.entered_on([w for w in ready_states if w[1]]) if heard else {}
            waited = tuple((s.day - entered[b.case_id]).days for b in heard if b.case_id in entered)
            if s.minutes_received_on is not None and heard:
                ids = [b.case_id for b in heard]
                decided, decided_in_time = reads.decisions_in_time(ids, self._decision_rules(), s.minutes_received_on)
            out.append(
                SittingReport(
                    s.id,
                    s.day,
                    s.panel_type,
                    s.status,
                    len(heard),
                    sum(1 for b in bookings if b.status == "deferred"),
                    in_time,
                    s.minutes_received_on,
                    decided,
                    decided_in_time,
                    waited,
                )
            )
        return out

    def _ready_state(self, workflow: str) -> str:
        """The state a case of ``workflow`` is ready for panel in (its first panel route's)."""
        if self._cases is None:
            return ""
        try:
            routes = panel_routes(self._cases.workflows.latest(workflow).definition)
        except CarepathError:
            return ""
        return next((r.ready for r in routes.values()), "")

    # -- the sitting -------------------------------------------------------------------------------

    def recommend(
        self,
        sitting_id: int,
        outcomes: Mapping[str, tuple[str, str | None]],
        actor: Who | None,
        *,
        on: date | None = None,
    ) -> list[AgendaItem]:
        """Record the panel's recommendation on each case given (ref -> (recommendation or "deferred", note)).

        Everything is checked first and written in one transaction: refused without quorum
        (from the attendance), before the sitting's day, for a case not booked on it, a
        recommendation the journey does not offer, or a deferral without a reason.
        ``panel_held_on`` is the sitting's day and ``panel_members`` the attendance's emails.
        """
        record_id(sitting_id, "the sitting id")
        if not outcomes:
            raise InvalidInput("no recommendation given: name at least one case")
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.recommend")
            store = self._store_of(tx)
            s = store.sitting_for_update(sitting_id)
            today = local_today(self.clock)
            if s.status == "cancelled":
                raise InvalidInput(f"the {_named(s)} was cancelled")
            if s.day > today:
                raise InvalidInput(f"the {_named(s)} has not sat yet (today is {today.isoformat()})")
            attending = store.attendance(s.id)
            q = quorum([m.roles for m in attending], s.panel_type, joint_quorum=self.joint_quorum)
            if not q.ok:
                raise InvalidInput(f"the {_named(s)} has no quorum: {'; '.join(q.reasons)}")
            emails = [m.email for m in attending if m.email]
            booked = {b.ref: b for b in store.bookings(s.id, ("booked",))}
            plan: list[tuple[Booking, Case, PanelRoute, str, str | None]] = []
            for given, (outcome, note) in outcomes.items():
                stored = lookup_reference(given)
                b = booked.get(stored or "")
                if b is None:
                    raise InvalidInput(f"{given.strip().upper()} is not on the agenda of the {_named(s)}")
                case = self._case(tx, b.ref)
                route = self._route(case)
                if route is None or case.state != route.booked:
                    raise InvalidInput(f"{b.ref} is {_words(case.state)}, not waiting for this panel")
                outcome = outcome.strip()
                text = one_line(note, "the note", REASON_MAX) if note and note.strip() else None
                if outcome == DEFERRED:
                    if text is None:
                        raise InvalidInput(f"{b.ref}: a deferral needs its reason")
                    if route.defer is None:
                        raise InvalidInput(f"{b.ref}: its journey has no way back to the queue")
                elif route.recommend is None or outcome not in route.options:
                    choices = ", ".join((*route.options, DEFERRED))
                    raise InvalidInput(f"{b.ref}: recommendation {outcome!r}: use one of {choices}")
                elif not emails:
                    raise InvalidInput(f"no member attending the {_named(s)} has an email to record as panel_members")
                plan.append((b, case, route, outcome, text))
            cases = self._joined(tx)
            for b, case, route, outcome, text in plan:
                day = on or max(s.day, case.last_event_on)
                if outcome == DEFERRED:
                    self._defer(tx, by, b, text or "", on=day)
                    continue
                assert route.recommend is not None
                assert route.held_fact is not None
                assert route.recommendation_fact is not None
                facts: dict[str, Any] = {route.held_fact: s.day.isoformat(), route.recommendation_fact: outcome}
                if route.members_fact is not None:
                    facts[route.members_fact] = emails
                cases.fire(b.ref, route.recommend, by, on=day, facts=facts, note=text)
                store.set_recommendation(b.id, outcome, text)
            store.set_status(s.id, "held", None)
            detail = {ref: outcome for ref, (outcome, _) in outcomes.items()}
            tx.record(Audited(by.id, "panel.recommend", _subject(s), detail))
        return self.agenda(sitting_id, by)

    def minutes(self, sitting_id: int, received_on: date, actor: Who | None) -> list[str]:
        """Record the final minutes of a held sitting, received on ``received_on``: each heard case's minutes move.

        This starts each case's decision clock (7 working days) from ``received_on``: minutes
        received late move every clock. Returns the references moved (a case whose
        recommendation does not go to the decision maker, such as a full report, is left).
        """
        record_id(sitting_id, "the sitting id")
        day_in_range(received_on, "the day the minutes were received")
        with self.uow.transaction() as tx:
            by = self._acting(tx, actor, "panel.minutes")
            store = self._store_of(tx)
            s = store.sitting_for_update(sitting_id)
            if s.status != "held":
                raise InvalidInput(f"the {_named(s)} is {s.status}: record its recommendations first")
            if s.minutes_received_on is not None:
                raise InvalidInput(f"the {_named(s)}'s minutes were received on {s.minutes_received_on.isoformat()}")
            if received_on < s.day:
                raise InvalidInput(f"minutes received on {received_on.isoformat()} are before the {_named(s)}")
            if received_on > local_today(self.clock):
                raise InvalidInput(f"minutes received on {received_on.isoformat()} is in the future")
            cases = self._joined(tx)
            moved: list[str] = []
            for b in store.bookings(s.id, ("heard",)):
                case = self._case(tx, b.ref)
                route = self._route(case)
                if route is None or route.minutes is None or route.minutes_fact is None:
                    continue
                if case.state != route.recommended:
                    continue
                ready = [a for a in cases.actions(case, by) if a.trigger == route.minutes]
                if not ready or any(not r.startswith("needs role") for r in ready[0].reasons):
                    continue  # a guard says no: a full report asked for goes back to assessment, not to the ADM
                on = max(received_on, case.last_event_on)
                cases.fire(b.ref, route.minutes, by, on=on, facts={route.minutes_fact: received_on.isoformat()})
                moved.append(b.ref)
            store.set_minutes(s.id, received_on)
            detail = {"received_on": received_on.isoformat(), "refs": moved}
            tx.record(Audited(by.id, "panel.minutes", _subject(s), detail))
        return moved

    # -- internals ------------------------------------------------------------------------------

    def _acting(self, tx: Transaction, actor: Who | None, command: str) -> Actor:
        who = resolve_actor(tx, actor, command)
        authorize(who, command)
        return who

    def _reader(self, actor: Who | None) -> Actor:
        if isinstance(actor, Actor):
            who = actor
        elif actor is None or not actor.strip():
            raise NotPermitted("(nobody)", "panel.read", "name the user who reads")
        else:
            who = self._reads_().actor(email_address(actor, "the reading user's email"))
        authorize(who, "panel.read")
        return who

    def _store_of(self, tx: Transaction) -> PanelStore:
        return self._store(tx) if self._store is not None else _PortStore(tx)

    def _reads_(self) -> PanelReads:
        if self._reads is None:
            raise NotImplementedError("panels: reads need the panel read models (storage.queries.panels)")
        return self._reads

    def _joined(self, tx: Transaction) -> CaseService:
        if self._cases is None:
            raise NotImplementedError("panels: case moves need the case service")
        c = self._cases
        return CaseService(_Joined(tx), c.workflows, c.clock, c.calendar)

    def _case(self, tx: Transaction, ref: str) -> Case:
        stored = lookup_reference(ref)
        if stored is None:
            raise CaseNotFound(ref)
        return tx.case_for_update(stored)

    def _booked(self, tx: Transaction, store: PanelStore, ref: str, hint: str = "") -> tuple[Case, Booking]:
        """The case (locked) and its active booking; refused when it is not booked on a panel."""
        case = self._case(tx, ref)
        booking = store.active_booking(case.id or 0)
        if booking is None:
            raise InvalidInput(f"{case.ref} is not booked on a panel{hint}")
        return case, booking

    def _route(self, case: Case) -> PanelRoute | None:
        if self._cases is None:
            raise NotImplementedError("panels: case moves need the case service")
        key = (case.workflow_id, case.workflow_version)
        if key not in self._routes:
            self._routes[key] = panel_routes(self._cases.workflows.get(*key).definition)
        return self._routes[key].get(case.state)

    def _decision_rules(self) -> list[str]:
        """The deadline rules every journey starts from the final minutes (the decision maker's clock)."""
        if self._cases is None:
            return []
        rules: set[str] = set()
        for compiled in self._cases.workflows:
            d = compiled.definition
            for rule in d.deadlines:
                if any(a.kind == "fact" and _meaning(d, a.name) == "minutes_received_on" for a in rule.start):
                    rules.add(rule.name)
        return sorted(rules)

    def _check_sitting(self, capacity: int, place: str) -> tuple[int, str]:
        if not 1 <= capacity <= CAPACITY_MAX:
            raise InvalidInput(f"a sitting takes from 1 to {CAPACITY_MAX} cases (capacity {capacity})")
        return capacity, (one_line(place, "the place", PLACE_MAX) if place.strip() else "")

    def _check_day(self, day: date) -> None:
        today = local_today(self.clock)
        if day < today:
            raise InvalidInput(f"{day.isoformat()} is in the past (today is {today.isoformat()})")
        if not self.calendar.is_working_day(day):
            why = self.calendar.holiday_name(day) or f"a {day:%A}"
            raise InvalidInput(f"{day.isoformat()} is not a working day ({why})")

    def _check_open_sitting(self, s: StoredSitting, route: PanelRoute, ref: str) -> None:
        today = local_today(self.clock)
        if s.status == "cancelled":
            raise InvalidInput(f"the {_named(s)} is cancelled ({s.cancel_reason})")
        if s.status == "held" or s.day < today:
            raise InvalidInput(f"the {_named(s)} is in the past")
        if not serves(s.panel_type, route.panel_type):
            raise InvalidInput(f"{ref} needs a {route.panel_type} panel; the {_named(s)} is not one")
        if s.booked >= s.capacity:
            raise InvalidInput(f"the {_named(s)} is full ({s.booked} of {s.capacity} cases)")

    def _defer(self, tx: Transaction, by: Actor, b: Booking, reason: str, *, on: date | None = None) -> Case:
        case = self._case(tx, b.ref)
        route = self._route(case)
        if route is None or route.defer is None or case.state != route.booked:
            raise InvalidInput(f"{b.ref} is {_words(case.state)} and cannot go back to the queue")
        moved = self._joined(tx).fire(b.ref, route.defer, by, on=on, note=reason)
        self._store_of(tx).end_booking(b.id, "deferred", reason)
        return moved

    def _view(self, s: StoredSitting) -> SittingView:
        q = quorum(s.attendee_roles, s.panel_type, joint_quorum=self.joint_quorum)
        return SittingView(
            s.id,
            s.day,
            s.panel_type,
            s.starts_at,
            s.place,
            s.capacity,
            s.status,
            s.cancel_reason,
            papers_by(s.day, self.calendar),
            s.booked,
            q,
            s.minutes_received_on,
        )

    def _item(self, b: Booking, day: date) -> AgendaItem:
        status: PapersStatus
        if b.papers_circulated_on is not None:
            status = "circulated"
        elif local_today(self.clock) <= papers_by(day, self.calendar):
            status = "due"
        else:
            status = "late"
        deferred = b.reason if b.status == "deferred" else None
        return AgendaItem(
            b.ref, b.workflow, b.state, b.booked_on, b.papers_circulated_on, status, b.recommendation, deferred
        )


def _named(s: StoredSitting) -> str:
    return f"{s.panel_type} panel on {s.day.isoformat()}"


def _subject(s: StoredSitting) -> str:
    return f"{s.panel_type}:{s.day.isoformat()}"


def _words(state: str) -> str:
    return state.replace("_", " ")
