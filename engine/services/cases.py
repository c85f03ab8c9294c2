"""The one write path for case changes: every move, hold, assignment or correction goes through ``CaseService``.

Each command runs in one unit of work: resolve and authorize the actor (``engine.policy``),
read the case, check the move (trigger valid from the state, the journey's roles, required
facts, guards, effective date), append the event, update the case with its optimistic
version, fold the event into the deadlines and re-plan their timers, and record the domain
events (``CaseMoved``, ``StateAnnounced``) the message bus hands to their handlers before
the commit. Any refusal raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from carepath.engine.calendar import WorkingCalendar
from carepath.engine.case import NOTE_KINDS, NOTE_TRIGGER, NOTICE_TRIGGERS, Actor, Case, Event, effective_events, replay
from carepath.engine.clock import Clock, local_today
from carepath.engine.compiler import CompiledWorkflow, Firing
from carepath.engine.deadlines import DeadlineBook, may_change, replay_deadlines
from carepath.engine.definition import ON_HOLD, DeadlineRule, TransitionDef, WorkflowDef
from carepath.engine.errors import (
    CaseNotFound,
    ConcurrencyConflict,
    GuardFailed,
    InvalidInput,
    NotPermitted,
    TransitionRejected,
    shown,
)
from carepath.engine.events import CaseMoved, CaseRef, StateAnnounced
from carepath.engine.facts import (
    FOLLOWED_BY,
    FOLLOWS,
    check_facts,
    is_external,
    journey_noun,
    link_problem,
    texts_of,
    usable,
)
from carepath.engine.guards import GuardContext
from carepath.engine.policy import Subject, authorize
from carepath.engine.ports import Transaction, UnitOfWork
from carepath.engine.registry import WorkflowRegistry
from carepath.engine.text import choice, day_in_range, email_address, fact_values, journey_reference, lookup_reference
from carepath.engine.text import note as note_text
from carepath.engine.timers import Timer, plan_timers

#: Who acts: a resolved ``Actor`` (trusted, from an entrypoint's session) or an email resolved in the transaction.
Who = Actor | str
#: Moves that never announce a state: they return to or stay in a state already announced.
QUIET_TRIGGERS = frozenset({"resume", "hold", "assign", "entered_in_error", "update", NOTE_TRIGGER, *NOTICE_TRIGGERS})


def resolve_actor(tx: Transaction, who: Who | None, command: str) -> Actor:
    """The acting user; a human command with nobody named is refused, whatever the entrypoint."""
    if isinstance(who, Actor):
        return who
    if who is None or not who.strip():
        raise NotPermitted("(nobody)", command, "name the user who acts (carepath acts alone only for the scheduler)")
    return tx.actor(email_address(who, "the acting user's email"))


def subject_of(case: Case) -> Subject:
    """What the policy needs to know of a case: its owner and team."""
    return Subject(owner_id=case.owner_id, team_id=case.team_id)


@dataclass(frozen=True, slots=True)
class Action:
    """A move available (or blocked) from a case's current state."""

    trigger: str
    label: str
    dest: str
    ready: bool
    reasons: tuple[str, ...]
    requires: tuple[str, ...]
    roles: tuple[str, ...]


class CaseService:
    """Commands on cases. Built once by ``config.bootstrap``."""

    def __init__(self, uow: UnitOfWork, workflows: WorkflowRegistry, clock: Clock, calendar: WorkingCalendar) -> None:
        self.uow = uow
        self.workflows = workflows
        self.clock = clock
        self.calendar = calendar

    # -- commands ---------------------------------------------------------------------

    def open_case(
        self,
        workflow_id: str,
        actor: Who | None,
        *,
        on: date | None = None,
        ref: str | None = None,
        owner_id: int | None = None,
        team_id: int | None = None,
        facts: Mapping[str, Any] | None = None,
        note: str | None = None,
    ) -> Case:
        """Open a case on the latest version of ``workflow_id`` and record its first event."""
        compiled = self.workflows.latest(workflow_id)
        d = compiled.definition
        on = self._check_date(on, None)
        # A given reference follows the journey's own pattern, so nothing else (a name, a date of
        # birth) can travel in it into emails and the digest; the counter skips it later.
        ref = journey_reference(ref, d.reference_prefix, on.year) if ref is not None else None
        texts = texts_of(facts)
        facts, note = fact_values(facts or {}), note_text(note)
        opening = [f.name for f in d.facts.values() if f.at_opening]
        today = local_today(self.clock)
        facts = check_facts(
            d.facts,
            facts,
            journey=d.id,
            trigger="open",
            allowed=opening,
            recorded={},
            today=today,
            opened_on=on,
            texts=texts,
        )
        with self.uow.transaction() as tx:
            who = resolve_actor(tx, actor, "case.open")
            owner_id = owner_id or who.id
            authorize(who, "case.open", Subject(owner_id=owner_id, team_id=team_id))
            self._check_owner(tx, owner_id, team_id)
            ref = ref or tx.next_reference(d.reference_prefix, on.year)
            facts, linked = self._links(tx, d, facts, own_ref=ref)
            case = Case(ref, d.id, d.version, d.initial, on, on, owner_id=owner_id, team_id=team_id)
            case.id = tx.add_case(case)
            payload = {"facts": dict(facts or {}), "owner_id": case.owner_id, "team_id": team_id}
            self._record(tx, compiled, case, "open", None, d.initial, on, who, note, payload, expected_version=None)
            self._link_back(tx, d, case, "open", linked, {}, on, who)
            return case

    def fire(
        self,
        ref: str,
        trigger: str,
        actor: Who | None,
        *,
        on: date | None = None,
        facts: Mapping[str, Any] | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Fire a declared trigger; raises ``TransitionRejected`` (or a subclass) if refused."""
        texts = texts_of(facts)
        given, note = fact_values(facts or {}), note_text(note)
        with self.uow.transaction() as tx:
            who, case = self._begin(tx, actor, "case.fire", ref, expected_version)
            compiled = self._compiled(case)
            on = self._check_date(on, case)
            transition = self._transition(compiled, case, trigger)
            self._check_role(case, transition, who)
            given = self._typed(compiled, case, transition, given, texts)
            given, linked = self._links(tx, compiled.definition, given, own_ref=case.ref)
            self._check_sitting(tx, compiled.definition, case, given)
            missing = [f for f in transition.requires if given.get(f) in (None, "")]
            if missing:
                raise GuardFailed(case.ref, trigger, case.state, ["missing fact(s) " + ", ".join(missing)])
            firing = Firing(case.state, self._context(case, trigger, who, on, given))
            if not compiled.machine.events[trigger].trigger(firing):
                raise GuardFailed(case.ref, trigger, case.state, firing.failures or ["guard failed"])
            # A move that ends a link clears it here (and, below, on the linked case).
            ended = {
                f.name: case.facts[f.name]
                for f in compiled.definition.facts.values()
                if trigger in f.unlinked_by and case.facts.get(f.name) not in (None, "") and f.name not in given
            }
            payload: dict[str, Any] = {"facts": {**given, **dict.fromkeys(ended)}}
            dest = compiled.definition.state(firing.state)
            if dest.terminal and dest.meta.get("exit_reason"):
                # A decision that ends the case (not approved, resigned...) names its own exit reason.
                payload.update(reason=str(dest.meta["exit_reason"]), stage=case.state)
            follow_on = dest.meta.get("follow_on")
            follower: CompiledWorkflow | None = None
            if follow_on:  # approval opens the approved carer's case, linked both ways
                follower = self.workflows.latest(str(follow_on))
                payload["facts"][FOLLOWED_BY] = tx.next_reference(follower.definition.reference_prefix, on.year)
            self._record(
                tx, compiled, case, trigger, case.state, firing.state, on, who, note, payload, expected_version
            )
            self._link_back(tx, compiled.definition, case, trigger, linked, ended, on, who)
            if follower is not None:
                self._open_follow_on(tx, follower, case, payload["facts"][FOLLOWED_BY], on, who)
            return case

    def hold(
        self, ref: str, actor: Who | None, reason: str, *, on: date | None = None, expected_version: int | None = None
    ) -> Case:
        """Put a case on hold; clocks whose rules say so pause."""
        if not reason.strip():
            raise InvalidInput("a hold needs a reason")
        reason = note_text(reason, "the reason") or reason
        with self.uow.transaction() as tx:
            who, case = self._begin(tx, actor, "case.hold", ref, expected_version)
            compiled = self._compiled(case)
            on = self._check_date(on, case)
            self._require_open(case, "hold")
            if case.state == ON_HOLD:
                raise TransitionRejected(ref, "hold", case.state, "the case is already on hold")
            self._check_hold_reason(compiled, case, reason)
            payload = {"held_from": case.state, "reason": reason}
            self._record(tx, compiled, case, "hold", case.state, ON_HOLD, on, who, reason, payload, expected_version)
            return case

    def resume(
        self,
        ref: str,
        actor: Who | None,
        *,
        on: date | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Take a case off hold, back to the state it left."""
        note = note_text(note)
        with self.uow.transaction() as tx:
            who, case = self._begin(tx, actor, "case.resume", ref, expected_version)
            compiled = self._compiled(case)
            on = self._check_date(on, case)
            if case.state != ON_HOLD or case.held_from is None:
                raise TransitionRejected(ref, "resume", case.state, "the case is not on hold")
            self._record(tx, compiled, case, "resume", ON_HOLD, case.held_from, on, who, note, {}, expected_version)
            return case

    def withdraw(
        self,
        ref: str,
        actor: Who | None,
        reason: str,
        *,
        trigger: Literal["withdraw", "close"] = "withdraw",
        on: date | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Withdraw or close a case with a reason code from its workflow, recording the stage."""
        note = note_text(note)
        with self.uow.transaction() as tx:
            who, case = self._begin(tx, actor, f"case.{trigger}", ref, expected_version)
            compiled = self._compiled(case)
            d = compiled.definition
            on = self._check_date(on, case)
            self._require_open(case, trigger)
            if reason not in d.exit_reasons:
                raise InvalidInput(
                    f"unknown exit reason {shown(reason)} for {d.id}; use one of: " + ", ".join(d.exit_reasons)
                )
            stage = case.held_from if case.state == ON_HOLD else case.state
            payload = {"reason": reason, "stage": stage}
            self._record(
                tx, compiled, case, trigger, case.state, d.close_state, on, who, note, payload, expected_version
            )
            return case

    def assign(
        self,
        ref: str,
        actor: Who | None,
        *,
        owner_id: int | None = None,
        team_id: int | None = None,
        on: date | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Give the case a new owner and/or team; the owner must be an active member of the case's team."""
        if owner_id is None and team_id is None:
            raise InvalidInput("an assignment needs a new owner or a new team")
        note = note_text(note)
        with self.uow.transaction() as tx:
            who, case = self._begin(tx, actor, "case.assign", ref, expected_version)
            if team_id is not None:
                authorize(who, "case.assign", Subject(owner_id=case.owner_id, team_id=team_id))
            self._check_owner(tx, owner_id or case.owner_id, team_id or case.team_id)
            compiled = self._compiled(case)
            on = self._check_date(on, case)
            payload: dict[str, Any] = {}
            if owner_id is not None:
                payload["owner_id"] = owner_id
            if team_id is not None:
                payload["team_id"] = team_id
            self._record(tx, compiled, case, "assign", case.state, case.state, on, who, note, payload, expected_version)
            return case

    def note(
        self,
        ref: str,
        actor: Who | None,
        text: str,
        *,
        kind: str = "note",
        on: date | None = None,
        expected_version: int | None = None,
    ) -> Event:
        """Record a note, or a contact (a visit, a call...) of ``kind`` made on ``on``, in the case's history.

        A note changes nothing about the case: no state, fact, owner, version or date of its latest
        event, no deadline (none is read) and no timer; it tells nobody. It is appended to the
        history (``NOTE_TRIGGER``, the kind in the payload) by its author, and ``Case.apply`` never
        folds it. Its day is not in the future and not before the case opened (a visit is often
        written up after later moves); a closed case may still take one (a letter after closure).
        """
        kind = choice(kind, NOTE_KINDS, "kind of note")
        body = note_text(text)
        if body is None:
            raise InvalidInput("a note needs text")
        with self.uow.transaction() as tx:
            who, case = self._begin(tx, actor, "case.note", ref, expected_version)
            assert case.id is not None
            today = local_today(self.clock)
            on = day_in_range(on or today)
            if on > today:
                raise InvalidInput(f"date {on} is in the future (today is {today} in London)")
            if on < case.opened_on:
                raise InvalidInput(f"date {on} is before {case.ref} was opened on {case.opened_on}")
            event = Event(
                case.id,
                case.last_seq + 1,
                NOTE_TRIGGER,
                case.state,
                case.state,
                on,
                self.clock.now(),
                who.id,
                body,
                {"kind": kind},
            )
            tx.add_event(event)
            case.last_seq = event.seq
            tx.save_case(case, case.version)  # the sequence only: the case itself is unchanged
            # No domain event: a note is not a move (``CaseMoved``), so no handler hears of it and
            # nobody is told; the history row, with its author and time, is its record.
            return event

    def mark_in_error(
        self, ref: str, seq: int, actor: Who | None, reason: str, *, expected_version: int | None = None
    ) -> Case:
        """Void event ``seq`` (kept in history), then recompute the case and its deadlines.

        Only the latest effective event may be voided, so every later event stays true.
        """
        if not reason.strip():
            raise InvalidInput("marking an event as entered in error needs a reason")
        reason = note_text(reason, "the reason") or reason
        with self.uow.transaction() as tx:
            who, case = self._begin(tx, actor, "case.void", ref, expected_version)
            compiled = self._compiled(case)
            assert case.id is not None
            history = tx.events(case.id)
            effective = effective_events(history)
            if not effective or effective[-1].seq != seq:
                self._refuse_void(case, seq, history, effective)
            if effective[-1].trigger == "open":
                raise TransitionRejected(
                    ref, "entered_in_error", case.state, "the opening event cannot be voided; close the case instead"
                )
            void = Event(
                case.id,
                case.last_seq + 1,
                "entered_in_error",
                case.state,
                case.state,
                local_today(self.clock),
                self.clock.now(),
                who.id,
                reason,
                {"target_seq": seq},
            )
            snap = replay([*history, void], compiled.terminal)
            void = replace(void, to_state=snap.state)
            tx.add_event(void)
            expected = case.version if expected_version is None else expected_version
            case.state, case.status, case.held_from = snap.state, snap.status, snap.held_from
            case.facts, case.owner_id, case.team_id = snap.facts, snap.owner_id, snap.team_id
            case.exit_reason, case.last_event_on = snap.exit_reason, snap.last_event_on
            case.last_seq, case.version = void.seq, case.version + 1
            tx.save_case(case, expected)
            tx.record(CaseMoved(CaseRef.of(case), void))
            book = replay_deadlines(compiled.definition, self.calendar, effective[:-1])
            self._save_book(tx, case.id, compiled, book, replace_all=True)
            return case

    def recompute_deadlines(self, ref: str, actor: Who | None, calendar: WorkingCalendar | None = None) -> Case:
        """Recompute a case's deadlines from its history (the scheduler, after a calendar change)."""
        with self.uow.transaction() as tx:
            who = resolve_actor(tx, actor, "cases.recompute")
            authorize(who, "cases.recompute")
            return self.recompute_in(tx, ref, calendar or self.calendar)

    def recompute_in(self, tx: Transaction, ref: str, calendar: WorkingCalendar) -> Case:
        """``recompute_deadlines`` inside the caller's unit of work (the calendar service batches them)."""
        case = tx.case_for_update(ref)
        compiled = self._compiled(case)
        assert case.id is not None
        effective = effective_events(tx.events(case.id))
        book = replay_deadlines(compiled.definition, calendar, effective)
        stored = {d.key: d for d in tx.deadlines(case.id)}
        if set(stored) != set(book.items):
            self._save_book(tx, case.id, compiled, book, replace_all=True, calendar=calendar)
            return case
        # The same deadlines: write only those the calendar moved (and re-plan only their timers),
        # not every deadline and timer of the case; at 100,000 cases each write is an index update.
        changed = [
            replace(d, id=stored[k].id)
            for k, d in book.items.items()
            if replace(d, id=None) != replace(stored[k], id=None)
        ]
        if changed:
            today = local_today(self.clock)
            timers = [t for d in changed for t in plan_timers(d, compiled.definition.rule(d.rule), calendar, today)]
            tx.save_deadlines(case.id, changed, timers, replace_all=False)
        return case

    def fire_for_rule(self, tx: Transaction, actor: Actor, ref: str, rule: DeadlineRule, cycle: int) -> Case | str:
        """The move a deadline rule makes itself when it passes (its ``fires:``), in the sweep's unit of work.

        carepath's own user acts for the rule (``timers.raise``): the rule, not a journey role, is the
        authority, so no role is checked; everything else a person's move needs still holds. The case
        must be open (not closed, not on hold), the rule's occurrence ``cycle`` still open, the trigger
        valid from the case's state and its guards met on the day of the move. The move is effective
        on the due date (the day the regulation ends the period: the rule is met on time), or on the
        case's latest event day if that is later (an event recorded meanwhile). The event carries the
        rule as its reason: the note names it, the payload has ``rule``, ``cycle``, ``due_on``,
        ``class`` and ``source``.

        Returns the moved case, or the sentence saying why it was not moved (nothing is written;
        the sweep then raises the breach, so a person hears of it).
        """
        authorize(actor, "timers.raise")
        trigger = rule.fires
        assert trigger is not None
        case = tx.case_for_update(ref)
        if case.status != "open":
            return f"the case is {case.status.replace('_', ' ')}"
        compiled = self._compiled(case)
        transition = compiled.transition(case.state, trigger)
        if transition is None:
            return f"{trigger} is not a move from {case.state}"
        assert case.id is not None
        live = DeadlineBook(compiled.definition, self.calendar, tx.deadlines(case.id)).live(rule.name)
        if live is None or live.cycle != cycle or live.status != "open":
            return f"{rule.name} is no longer open"
        # The day the regulation ends the period; never before the case's latest event.
        on = max(live.due_on, case.last_event_on)
        if on > local_today(self.clock):
            return f"{rule.name} is not due until {live.due_on}"
        firing = Firing(case.state, self._context(case, trigger, actor, on, {}))
        if not compiled.machine.events[trigger].trigger(firing):
            return "; ".join(firing.failures or ["guard failed"])
        payload: dict[str, Any] = {
            "facts": {},
            "rule": rule.name,
            "cycle": cycle,
            "due_on": live.due_on.isoformat(),
            "class": rule.klass,
            "source": rule.source,
        }
        dest = compiled.definition.state(firing.state)
        if dest.terminal and dest.meta.get("exit_reason"):
            payload.update(reason=str(dest.meta["exit_reason"]), stage=case.state)
        note = f"{rule.name} ({rule.source}): {rule.label}; moved by carepath when it fell due on {live.due_on}"
        self._record(tx, compiled, case, trigger, case.state, firing.state, on, actor, note, payload, None)
        return case

    # -- reads that need the rules -----------------------------------------------------

    def actions(self, case: Case, actor: Actor) -> list[Action]:
        """Every declared move from the case's state, each with what blocks it (for ``actor``)."""
        authorize(actor, "case.read", subject_of(case))
        compiled = self._compiled(case)
        today = local_today(self.clock)
        out: list[Action] = []
        for trigger in compiled.triggers_from(case.state):
            t = compiled.by_source[case.state][trigger]
            ctx = self._context(case, trigger, actor, today, {})
            reasons = compiled.unmet(t, ctx)
            if t.roles and not (actor.roles & set(t.roles)):
                reasons.insert(0, "needs role " + " or ".join(t.roles))
            out.append(Action(trigger, t.label or trigger, t.dest, not reasons, tuple(reasons), t.requires, t.roles))
        return out

    # -- internals ---------------------------------------------------------------------

    def _compiled(self, case: Case) -> CompiledWorkflow:
        return self.workflows.get(case.workflow_id, case.workflow_version)

    @staticmethod
    def _begin(
        tx: Transaction, actor: Who | None, command: str, ref: str, expected_version: int | None
    ) -> tuple[Actor, Case]:
        """The actor, authorized for ``command`` on the case, and the case, locked.

        A stale ``expected_version`` is a conflict before any other check but the actor's.
        """
        who = resolve_actor(tx, actor, command)
        stored = lookup_reference(ref)  # references are stored upper case; any case finds them
        if stored is None:
            raise CaseNotFound(ref)
        case = tx.case_for_update(stored)
        authorize(who, command, subject_of(case))
        if expected_version is not None and expected_version != case.version:
            raise ConcurrencyConflict(case.ref, expected_version, case.version)
        return who, case

    def _links(
        self, tx: Transaction, d: WorkflowDef, facts: Mapping[str, Any], *, own_ref: str
    ) -> tuple[dict[str, Any], dict[str, Case]]:
        """``facts`` with each case link checked and written as the linked case's stored reference.

        A link names a case that exists, of a journey the fact names, open if the fact says
        ``must_be_open``; an ``external:`` value (only where the fact allows it) names no case here.
        Returns the facts and the linked cases (locked), by fact name.

        Raises:
            InvalidInput: one line naming the reference and what is wrong with it.
        """
        out = dict(facts)
        linked: dict[str, Case] = {}
        for name, value in facts.items():
            spec = d.facts.get(name)
            if spec is None or spec.type != "case" or value in (None, "") or is_external(value):
                continue
            stored = lookup_reference(str(value))
            try:
                if stored is None:
                    raise CaseNotFound(str(value))
                other = tx.case_for_update(stored)
            except CaseNotFound:
                raise InvalidInput(f"{str(value).strip().upper()}: no such case ({name})") from None
            wanted = [journey_noun(self.workflows.latest(j).definition) for j in spec.journeys]
            problem = link_problem(
                spec, other.ref, self._compiled(other).definition, other.status, own_ref=own_ref, wanted=wanted
            )
            if problem:
                raise InvalidInput(problem)
            out[name] = other.ref
            linked[name] = other
        return out, linked

    @staticmethod
    def _check_sitting(tx: Transaction, d: WorkflowDef, case: Case, given: Mapping[str, Any]) -> None:
        """A panel date names a sitting that is planned: of the panel the case waits for (or joint), not cancelled.

        Booking onto a sitting (``carepath panels book``, the Panels page) gives the date itself; a
        date typed by hand that no panel sits on is refused, so a case cannot wait for a sitting that
        will not happen.
        """
        state = d.states.get(case.state)
        kind = state.meta.get("panel_type") if state is not None else None
        if not kind:
            return
        for name, value in given.items():
            spec = d.facts.get(name)
            if spec is None or (spec.means or spec.name) != "panel_date" or value in (None, ""):
                continue
            day = date.fromisoformat(str(value))
            sitting = {t for on, t in tx.sitting_days(None, day) if on == day}
            if str(kind) not in sitting and "joint" not in sitting:
                raise InvalidInput(
                    f"no {kind} panel sits on {day:%A} {day.day} {day:%B %Y} ({name}): book the case onto a "
                    "planned sitting (carepath panels list, then carepath panels book REF SITTING)"
                )

    def _link_back(
        self,
        tx: Transaction,
        d: WorkflowDef,
        case: Case,
        trigger: str,
        linked: Mapping[str, Case],
        ended: Mapping[str, Any],
        on: date,
        who: Actor,
    ) -> None:
        """Record the other side of each link ``case`` just made (a fact with ``back``) or ended.

        The linked case gets an ``update`` event in the same unit of work, by the same actor, that
        records (or clears) this case's reference under its own fact; it does not move. A case that
        already records it (or, when ending, names another), a closed case (an event would lose its
        exit reason) and an external reference are left alone.
        """
        changes: list[tuple[Case, str, str | None]] = []
        for name, other in linked.items():
            back = d.facts[name].back
            if back and other.status != "closed" and other.facts.get(back) != case.ref:
                changes.append((other, back, case.ref))
        for name, value in ended.items():
            back = d.facts[name].back
            stored = lookup_reference(str(value)) if back and not is_external(value) else None
            if stored is None or back is None:
                continue
            try:
                other = tx.case_for_update(stored)
            except CaseNotFound:
                continue
            if other.status != "closed" and other.facts.get(back) == case.ref:
                changes.append((other, back, None))
        for other, back, value in changes:
            compiled = self._compiled(other)
            payload: dict[str, Any] = {"facts": {back: value}, "linked_from": case.ref, "by": trigger}
            if other.state == ON_HOLD:
                payload["held_from"] = other.held_from
            what = f"linked with {case.ref}" if value else f"link with {case.ref} ended"
            note = f"{what} ({trigger} on {case.ref})"
            day = max(on, other.last_event_on)
            self._record(tx, compiled, other, "update", other.state, other.state, day, who, note, payload, None)

    def _open_follow_on(
        self, tx: Transaction, compiled: CompiledWorkflow, case: Case, ref: str, on: date, who: Actor
    ) -> Case:
        """Open the case that follows ``case`` (its state's ``meta.follow_on``), in the same unit of work.

        Same day, same actor, same owner and team (the owner must still be a member of the team);
        the new case ``follows`` this one and takes the facts it opens with that this one holds.
        """
        d = compiled.definition
        try:
            self._check_owner(tx, case.owner_id, case.team_id)
        except InvalidInput as exc:
            raise InvalidInput(
                f"{case.ref} cannot open its {journey_noun(d)} case: {exc}; assign {case.ref} first"
            ) from None
        facts: dict[str, Any] = {FOLLOWS: case.ref}
        for spec in d.facts.values():
            value = case.facts.get(spec.name)
            if spec.at_opening and spec.name != FOLLOWS and value not in (None, ""):
                facts[spec.name] = value
        new = Case(ref, d.id, d.version, d.initial, on, on, owner_id=case.owner_id, team_id=case.team_id)
        new.id = tx.add_case(new)
        payload = {"facts": facts, "owner_id": new.owner_id, "team_id": new.team_id, "follows": case.ref}
        note = f"opened on {case.ref}'s {case.state.replace('_', ' ')}"
        self._record(tx, compiled, new, "open", None, d.initial, on, who, note, payload, expected_version=None)
        return new

    @staticmethod
    def _check_owner(tx: Transaction, owner_id: int | None, team_id: int | None) -> None:
        """A case's owner must be an active member of its team (or, with no team, hold a case role)."""
        if owner_id is None:
            return
        if team_id is not None and not tx.is_team_member(owner_id, team_id):
            raise InvalidInput(f"user {owner_id} is not an active member of team {team_id}")
        if team_id is None and not tx.may_own_cases(owner_id):
            raise InvalidInput(f"user {owner_id} is not an active user who can hold cases")

    def _check_date(self, on: date | None, case: Case | None) -> date:
        today = local_today(self.clock)
        on = day_in_range(on or today)
        if on > today:
            raise InvalidInput(f"date {on} is in the future (today is {today} in London)")
        if case is not None and on < case.last_event_on:
            raise InvalidInput(f"date {on} is before {case.ref}'s latest event on {case.last_event_on}")
        return on

    def _transition(self, compiled: CompiledWorkflow, case: Case, trigger: str) -> TransitionDef:
        if case.status == "closed":
            raise TransitionRejected(case.ref, trigger, case.state, "the case is closed")
        t = compiled.transition(case.state, trigger)
        if t is None:
            valid = compiled.triggers_from(case.state)
            if case.state == ON_HOLD:
                hint = "the case is on hold; resume it first"
            else:
                hint = "valid triggers: " + (", ".join(valid) if valid else "none")
            raise TransitionRejected(case.ref, trigger, case.state, hint)
        return t

    def _typed(
        self,
        compiled: CompiledWorkflow,
        case: Case,
        t: TransitionDef,
        given: Mapping[str, Any],
        texts: Mapping[str, str],
    ) -> dict[str, Any]:
        """The facts given to move ``t``, parsed and checked by the journey's declared facts (``engine.facts``)."""
        d = compiled.definition
        return check_facts(
            d.facts,
            given,
            journey=d.id,
            trigger=t.trigger,
            allowed=(*t.requires, *t.accepts),
            recorded=case.facts,
            today=local_today(self.clock),
            opened_on=case.opened_on,
            texts=texts,
        )

    @staticmethod
    def _check_role(case: Case, t: TransitionDef, actor: Actor) -> None:
        """The journey's own roles for this move, on top of the policy's ``case.fire``."""
        if t.roles and not (actor.roles & set(t.roles)):
            raise NotPermitted(actor.email, f"{t.trigger} on {case.ref}", "needs role " + " or ".join(t.roles))

    @staticmethod
    def _require_open(case: Case, trigger: str) -> None:
        if case.status == "closed":
            raise TransitionRejected(case.ref, trigger, case.state, "the case is already closed")

    def _context(
        self, case: Case, trigger: str, actor: Actor | None, on: date, given: Mapping[str, Any]
    ) -> GuardContext:
        # Guards see only facts of their declared type: a legacy value that no longer parses (a
        # medical "soon") counts as missing, so readiness cannot pass on it.
        facts = usable(self._compiled(case).definition.facts, {**case.facts, **given})
        return GuardContext(
            case_ref=case.ref,
            state=case.state,
            facts=facts,
            given=given,
            actor_id=actor.id if actor else None,
            actor_email=actor.email if actor else None,
            actor_roles=actor.roles if actor else frozenset(),
            on=on,
            trigger=trigger,
            extra={"recorded": case.facts},
        )

    @staticmethod
    def _check_hold_reason(compiled: CompiledWorkflow, case: Case, reason: str) -> None:
        """A state whose ``meta.hold_reasons`` lists codes may be held only for one of them."""
        allowed: Mapping[str, str] = compiled.definition.state(case.state).meta.get("hold_reasons") or {}
        code = reason.replace(":", " ").split()[0]
        if allowed and code not in allowed:
            choices = "; ".join(f"{k} ({v})" for k, v in allowed.items())
            raise InvalidInput(f"a hold from {case.state} must give one of these reasons, as 'CODE: detail': {choices}")

    @staticmethod
    def _refuse_void(case: Case, seq: int, history: list[Event], effective: list[Event]) -> None:
        known = {e.seq for e in history}
        if seq not in known:
            detail = f"there is no event {seq}"
        elif seq not in {e.seq for e in effective}:
            detail = f"event {seq} is already void or is not a case change"
        else:
            later = [str(e.seq) for e in effective if e.seq > seq]
            detail = f"mark the later event(s) {', '.join(later)} in error first"
        raise TransitionRejected(case.ref, "entered_in_error", case.state, detail)

    def _record(
        self,
        tx: Transaction,
        compiled: CompiledWorkflow,
        case: Case,
        trigger: str,
        from_state: str | None,
        to_state: str,
        on: date,
        actor: Actor,
        note: str | None,
        payload: Mapping[str, Any],
        expected_version: int | None,
    ) -> None:
        assert case.id is not None
        event = Event(
            case.id, case.last_seq + 1, trigger, from_state, to_state, on, self.clock.now(), actor.id, note, payload
        )
        expected = case.version if expected_version is None else expected_version
        case.apply(event, compiled.terminal)
        case.last_seq = event.seq
        if trigger != "open":
            case.version += 1
        tx.add_event(event)
        tx.save_case(case, expected)
        # An event no rule listens to (and that neither closes, holds nor resumes the case)
        # changes no deadline: they are not even read.
        if may_change(compiled.definition, event):
            book = DeadlineBook(compiled.definition, self.calendar, [] if trigger == "open" else tx.deadlines(case.id))
            book.apply(event)
            self._save_book(tx, case.id, compiled, book, replace_all=False)
        self._announce(tx, compiled, case, event)

    @staticmethod
    def _announce(tx: Transaction, compiled: CompiledWorkflow, case: Case, event: Event) -> None:
        """Record the domain events of a new case event: it moved, and any state notice its journey declares."""
        ref = CaseRef.of(case)
        tx.record(CaseMoved(ref, event))
        d = compiled.definition
        if event.trigger in QUIET_TRIGGERS or event.from_state == event.to_state or event.to_state not in d.states:
            return
        state = d.states[event.to_state]
        kind = state.meta.get("notice")
        if not kind:
            return
        notify = state.meta.get("notify") or ()
        panel_type = state.meta.get("panel_type")
        tx.record(
            StateAnnounced(
                case=ref,
                event=event,
                kind=str(kind),
                state=state.name,
                state_label=state.label,
                workflow_title=d.title,
                notify=(notify,) if isinstance(notify, str) else tuple(str(r) for r in notify),
                panel_type=str(panel_type) if panel_type is not None else None,
            )
        )

    def _save_book(
        self,
        tx: Transaction,
        case_id: int,
        compiled: CompiledWorkflow,
        book: DeadlineBook,
        *,
        replace_all: bool,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        keys = book.items.keys() if replace_all else book.changed
        if not keys and not replace_all:
            return
        calendar = calendar or self.calendar
        changed = [book.items[k] for k in keys]
        timers: list[Timer] = []
        today = local_today(self.clock)
        for d in changed:
            timers.extend(plan_timers(d, compiled.definition.rule(d.rule), calendar, today))
        tx.save_deadlines(case_id, changed, timers, replace_all=replace_all)
