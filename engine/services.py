"""The one write path: every change to a case goes through ``CaseService``.

Each command runs in one transaction: read the case, check the move (trigger valid from
the state, role, required facts, guards, effective date), append the event, update the
case with its optimistic version, fold the event into the deadlines and re-plan their
timers. Any refusal raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from engine.calendar import WorkingCalendar
from engine.case import Actor, Case, Event, effective_events, replay
from engine.clock import Clock, local_today
from engine.compiler import CompiledWorkflow, Firing
from engine.deadlines import DeadlineBook, replay_deadlines
from engine.definition import ON_HOLD, TransitionDef
from engine.errors import ConcurrencyConflict, GuardFailed, InvalidInput, NotPermitted, TransitionRejected
from engine.guards import GuardContext
from engine.ports import Transaction, UnitOfWork
from engine.registry import WorkflowRegistry
from engine.timers import Timer, plan_timers


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
        actor: Actor,
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
        with self.uow.transaction() as tx:
            ref = ref or tx.next_reference(d.reference_prefix, on.year)
            case = Case(
                ref=ref,
                workflow_id=d.id,
                workflow_version=d.version,
                state=d.initial,
                opened_on=on,
                last_event_on=on,
                owner_id=owner_id or actor.id,
                team_id=team_id,
                facts=dict(facts or {}),
            )
            case.id = tx.add_case(case)
            payload = {"facts": dict(facts or {}), "owner_id": case.owner_id, "team_id": team_id}
            self._record(tx, compiled, case, "open", None, d.initial, on, actor, note, payload, expected_version=None)
            return case

    def fire(
        self,
        ref: str,
        trigger: str,
        actor: Actor,
        *,
        on: date | None = None,
        facts: Mapping[str, Any] | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Fire a declared trigger; raises ``TransitionRejected`` (or a subclass) if refused."""
        given = dict(facts or {})
        with self.uow.transaction() as tx:
            case = self._load(tx, ref, expected_version)
            compiled = self._compiled(case)
            on = self._check_date(on, case)
            transition = self._transition(compiled, case, trigger)
            self._check_role(case, transition, actor)
            missing = [f for f in transition.requires if given.get(f) in (None, "")]
            if missing:
                raise GuardFailed(
                    case.ref,
                    trigger,
                    case.state,
                    [
                        "missing fact(s) "
                        + ", ".join(missing)
                        + " (record with --set "
                        + " --set ".join(f"{m}=..." for m in missing)
                        + ")"
                    ],
                )
            firing = Firing(case.state, self._context(case, trigger, actor, on, given))
            if not compiled.machine.events[trigger].trigger(firing):
                raise GuardFailed(case.ref, trigger, case.state, firing.failures or ["guard failed"])
            payload: dict[str, Any] = {"facts": given}
            dest = compiled.definition.state(firing.state)
            if dest.terminal and dest.meta.get("exit_reason"):
                # A decision that ends the case (not approved, resigned...) names its own exit reason.
                payload.update(reason=str(dest.meta["exit_reason"]), stage=case.state)
            self._record(
                tx, compiled, case, trigger, case.state, firing.state, on, actor, note, payload, expected_version
            )
            return case

    def hold(
        self, ref: str, actor: Actor, reason: str, *, on: date | None = None, expected_version: int | None = None
    ) -> Case:
        """Put a case on hold; clocks whose rules say so pause."""
        if not reason.strip():
            raise InvalidInput("a hold needs a reason")
        with self.uow.transaction() as tx:
            case = self._load(tx, ref, expected_version)
            compiled = self._compiled(case)
            on = self._check_date(on, case)
            self._require_open(case, "hold", compiled)
            if case.state == ON_HOLD:
                raise TransitionRejected(ref, "hold", case.state, "the case is already on hold")
            self._check_hold_reason(compiled, case, reason)
            payload = {"held_from": case.state, "reason": reason}
            self._record(tx, compiled, case, "hold", case.state, ON_HOLD, on, actor, reason, payload, expected_version)
            return case

    def resume(
        self,
        ref: str,
        actor: Actor,
        *,
        on: date | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Take a case off hold, back to the state it left."""
        with self.uow.transaction() as tx:
            case = self._load(tx, ref, expected_version)
            compiled = self._compiled(case)
            on = self._check_date(on, case)
            if case.state != ON_HOLD or case.held_from is None:
                raise TransitionRejected(ref, "resume", case.state, "the case is not on hold")
            self._record(tx, compiled, case, "resume", ON_HOLD, case.held_from, on, actor, note, {}, expected_version)
            return case

    def withdraw(
        self,
        ref: str,
        actor: Actor,
        reason: str,
        *,
        trigger: str = "withdraw",
        on: date | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Withdraw or close a case with a reason code from its workflow, recording the stage."""
        with self.uow.transaction() as tx:
            case = self._load(tx, ref, expected_version)
            compiled = self._compiled(case)
            d = compiled.definition
            on = self._check_date(on, case)
            self._require_open(case, trigger, compiled)
            if reason not in d.exit_reasons:
                raise InvalidInput(
                    f"unknown exit reason {reason!r} for {d.id}; use one of: " + ", ".join(d.exit_reasons)
                )
            stage = case.held_from if case.state == ON_HOLD else case.state
            payload = {"reason": reason, "stage": stage}
            self._record(
                tx, compiled, case, trigger, case.state, d.close_state, on, actor, note, payload, expected_version
            )
            return case

    def assign(
        self,
        ref: str,
        actor: Actor,
        *,
        owner_id: int | None = None,
        team_id: int | None = None,
        on: date | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """Give the case a new owner and/or team."""
        if owner_id is None and team_id is None:
            raise InvalidInput("assign needs --owner or --team")
        with self.uow.transaction() as tx:
            case = self._load(tx, ref, expected_version)
            compiled = self._compiled(case)
            on = self._check_date(on, case)
            payload: dict[str, Any] = {}
            if owner_id is not None:
                payload["owner_id"] = owner_id
            if team_id is not None:
                payload["team_id"] = team_id
            self._record(
                tx, compiled, case, "assign", case.state, case.state, on, actor, note, payload, expected_version
            )
            return case

    def mark_in_error(
        self, ref: str, seq: int, actor: Actor, reason: str, *, expected_version: int | None = None
    ) -> Case:
        """Void event ``seq`` (kept in history), then recompute the case and its deadlines.

        Only the latest effective event may be voided, so every later event stays true.
        """
        if not reason.strip():
            raise InvalidInput("marking an event as entered in error needs a reason")
        with self.uow.transaction() as tx:
            case = self._load(tx, ref, expected_version)
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
            today = local_today(self.clock)
            void = Event(
                case.id,
                case.last_seq + 1,
                "entered_in_error",
                case.state,
                case.state,
                today,
                self.clock.now(),
                actor.id,
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
            book = replay_deadlines(compiled.definition, self.calendar, effective[:-1])
            self._save_book(tx, case.id, compiled, book, replace_all=True)
            return case

    def recompute_deadlines(self, ref: str) -> Case:
        """Recompute a case's deadlines from its history (after a calendar change)."""
        with self.uow.transaction() as tx:
            case = tx.case_for_update(ref)
            compiled = self._compiled(case)
            assert case.id is not None
            effective = effective_events(tx.events(case.id))
            book = replay_deadlines(compiled.definition, self.calendar, effective)
            self._save_book(tx, case.id, compiled, book, replace_all=True)
            return case

    # -- reads that need the rules -----------------------------------------------------

    def actions(self, case: Case, actor: Actor | None = None) -> list[Action]:
        """Every declared move from the case's state, each with what blocks it."""
        compiled = self._compiled(case)
        today = local_today(self.clock)
        out: list[Action] = []
        for trigger in compiled.triggers_from(case.state):
            t = compiled.by_source[case.state][trigger]
            ctx = self._context(case, trigger, actor, today, {})
            reasons = compiled.unmet(t, ctx)
            if actor is not None and t.roles and not actor.is_system and not (actor.roles & set(t.roles)):
                reasons.insert(0, "needs role " + " or ".join(t.roles))
            out.append(Action(trigger, t.label or trigger, t.dest, not reasons, tuple(reasons), t.requires, t.roles))
        return out

    # -- internals ---------------------------------------------------------------------

    def _compiled(self, case: Case) -> CompiledWorkflow:
        return self.workflows.get(case.workflow_id, case.workflow_version)

    @staticmethod
    def _load(tx: Transaction, ref: str, expected_version: int | None) -> Case:
        """The case, locked; a stale ``expected_version`` is a conflict before any other check."""
        case = tx.case_for_update(ref)
        if expected_version is not None and expected_version != case.version:
            raise ConcurrencyConflict(case.ref, expected_version, case.version)
        return case

    def _check_date(self, on: date | None, case: Case | None) -> date:
        today = local_today(self.clock)
        on = on or today
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

    @staticmethod
    def _check_role(case: Case, t: TransitionDef, actor: Actor) -> None:
        if t.roles and not actor.is_system and not (actor.roles & set(t.roles)):
            raise NotPermitted(case.ref, t.trigger, case.state, f"{actor.email} needs role " + " or ".join(t.roles))

    def _require_open(self, case: Case, trigger: str, compiled: CompiledWorkflow) -> None:
        if case.status == "closed":
            raise TransitionRejected(case.ref, trigger, case.state, "the case is already closed")

    def _context(
        self, case: Case, trigger: str, actor: Actor | None, on: date, given: Mapping[str, Any]
    ) -> GuardContext:
        return GuardContext(
            case_ref=case.ref,
            state=case.state,
            facts={**case.facts, **given},
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
        self._apply(case, compiled, event)
        tx.add_event(event)
        tx.save_case(case, expected)
        if compiled.definition.deadlines:
            book = DeadlineBook(compiled.definition, self.calendar, tx.deadlines(case.id))
            book.apply(event)
            self._save_book(tx, case.id, compiled, book, replace_all=False)

    def _apply(self, case: Case, compiled: CompiledWorkflow, event: Event) -> None:
        terminal = compiled.terminal
        case.state = event.to_state
        case.facts = {**case.facts, **event.facts}
        case.held_from = event.payload.get("held_from") if event.to_state == ON_HOLD else None
        case.owner_id = event.payload.get("owner_id", case.owner_id)
        case.team_id = event.payload.get("team_id", case.team_id)
        case.exit_reason = event.payload.get("reason") if event.to_state in terminal else None
        case.status = "closed" if event.to_state in terminal else "on_hold" if event.to_state == ON_HOLD else "open"
        case.last_event_on = event.effective_on
        case.last_seq = event.seq
        if event.trigger != "open":
            case.version += 1

    def _save_book(
        self, tx: Transaction, case_id: int, compiled: CompiledWorkflow, book: DeadlineBook, *, replace_all: bool
    ) -> None:
        keys = book.items.keys() if replace_all else book.changed
        if not keys and not replace_all:
            return
        rules = {r.name: r for r in compiled.definition.deadlines}
        changed = [book.items[k] for k in keys]
        timers: list[Timer] = []
        today = local_today(self.clock)
        for d in changed:
            timers.extend(plan_timers(d, rules[d.rule], self.calendar, today))
        tx.save_deadlines(case_id, changed, timers, replace_all=replace_all)
