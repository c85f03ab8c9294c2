"""Guards: named conditions a transition needs, as callables from our own registry.

A guard returns ``None`` when met and a sentence saying what is missing when not; the
service turns that sentence into ``GuardFailed`` rather than a silent ``False``. YAML names
guards; parameterised guards are written ``<name>:<argument>``:

- ``has:<fact>``: the fact is recorded (``has:<fact> since <other>``: and dated on or after ``other``).
- ``lacks:<fact>``: the fact was not recorded before this move (one-off steps); with
  ``since <other>``, an earlier value dated before ``other`` does not count.
- ``one_of:<fact>=<a>/<b>``: the fact holds one of the listed values.
- ``not_on_panel[:<fact>,<fact>]``: the actor is not among the emails in those facts
  (default ``panel_members``).
- ``ready_for_panel:<kind>`` / ``stage_complete:<kind>``: every item of a readiness list in
  ``READINESS`` is recorded; the sentence names each missing item.
- ``on_or_after:<fact>+<limit>[ (<counting>)]`` / ``after:...``: the move's date is on or after
  (strictly after) the date a limit gives from a date fact, e.g.
  ``after:qd_sent_on+40 working days (beginning_with)``. ``<counting>`` is ``after`` (default),
  ``beginning_with`` or ``convention:<name>`` (a setting; see docs/conventions.md).
  ``within:...`` is the converse: the move's date is on or before that date.
- ``review_may_skip_panel:<limit>``: a foster carer review may be decided without panel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from engine.calendar import Limit, WorkingCalendar, due_date, parse_limit
from engine.conventions import DEFAULT_CONVENTIONS
from engine.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What a guard may look at: the case as it would be after the move's facts.

    ``extra["recorded"]``, when the service provides it, holds the facts as they were before
    this move (``facts`` already includes the move's own ``given`` facts).
    """

    case_ref: str
    state: str
    facts: Mapping[str, Any]
    given: Mapping[str, Any]
    actor_id: int | None
    actor_email: str | None
    actor_roles: frozenset[str]
    on: date
    trigger: str
    extra: Mapping[str, Any] = field(default_factory=dict)


Guard = Callable[[GuardContext], "str | None"]
GuardFactory = Callable[[str], "Guard | None"]

#: Calendar for guards that count working days: England's bank holidays (local closures
#: only lengthen a period, so a guard may allow a move a little early where there are some).
_CALENDAR = WorkingCalendar("ENG")


def _blank(value: Any) -> bool:
    return value in (None, "")


def _recorded(ctx: GuardContext) -> Mapping[str, Any]:
    """The facts before this move (falls back to the merged facts less this move's own)."""
    before = ctx.extra.get("recorded")
    if isinstance(before, Mapping):
        return before
    return {k: v for k, v in ctx.facts.items() if k not in ctx.given}


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


# -- simple fact guards --------------------------------------------------------------------------


def _name_since(arg: str) -> tuple[str, str | None]:
    """``fact`` or ``fact since other``: a value dated before ``other`` counts as absent."""
    name, sep, since = arg.partition(" since ")
    return name.strip(), since.strip() if sep else None


def _current(facts: Mapping[str, Any], name: str, since: str | None) -> Any:
    value = facts.get(name)
    if _blank(value) or since is None or _blank(facts.get(since)):
        return value
    return value if str(value) >= str(facts[since]) else None


def _fact_guard(arg: str) -> Guard:
    name, since = _name_since(arg)

    def check(ctx: GuardContext) -> str | None:
        if _blank(_current(ctx.facts, name, since)):
            later = f" since {since}" if since else ""
            return f"fact {name!r} has not been recorded{later}"
        return None

    check.__name__ = f"has_{name}"
    return check


def _lacks_guard(arg: str) -> Guard:
    name, since = _name_since(arg)

    def check(ctx: GuardContext) -> str | None:
        before = dict(_recorded(ctx))
        if since is not None:
            before[since] = ctx.facts.get(since)  # the reference date may come with this move
        earlier = _current(before, name, since)
        if not _blank(earlier):
            return f"already done: {name} was recorded as {earlier}"
        return None

    check.__name__ = f"lacks_{name}"
    return check


def _one_of_guard(arg: str) -> Guard | None:
    name, sep, values = arg.partition("=")
    allowed = tuple(v.strip() for v in values.split("/") if v.strip())
    if not sep or not name or not allowed:
        return None

    def check(ctx: GuardContext) -> str | None:
        value = ctx.facts.get(name)
        if _blank(value):
            return f"fact {name!r} has not been recorded (one of: {', '.join(allowed)})"
        if str(value) not in allowed:
            return f"{name} is {value!r}; this move needs {name} = " + " or ".join(allowed)
        return None

    check.__name__ = f"one_of_{name}"
    return check


# -- panels ----------------------------------------------------------------------------------------


def _panel_guard(arg: str) -> Guard:
    names = tuple(n.strip() for n in arg.split(",") if n.strip()) or ("panel_members",)

    def check(ctx: GuardContext) -> str | None:
        for name in names:
            members = ctx.facts.get(name) or []
            if isinstance(members, str):
                members = [m.strip().lower() for m in members.split(",")]
            if (ctx.actor_id is not None and ctx.actor_id in members) or (
                ctx.actor_email is not None and ctx.actor_email.lower() in members
            ):
                return "the decision maker sat on this case's panel and may not decide it"
        return None

    check.__name__ = "not_on_panel"
    return check


_not_on_panel = _panel_guard("panel_members")


def _ready_for_panel(ctx: GuardContext) -> str | None:
    missing = [name for name in ctx.facts.get("panel_requirements", ()) if ctx.facts.get(name) in (None, "")]
    if ctx.facts.get("report_authorised_on") in (None, ""):
        missing.insert(0, "report_authorised_on")
    if missing:
        return "not ready for panel; missing: " + ", ".join(missing)
    return None


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a readiness list needs recorded.

    ``when`` limits it to cases whose fact holds one of some values (e.g. full reports only);
    ``fresh`` items must be dated on or after the list's ``since`` fact (this round's report).
    """

    fact: str
    when: tuple[str, tuple[str, ...]] | None = None
    fresh: bool = False


@dataclass(frozen=True, slots=True)
class Readiness:
    """What a case needs before it goes to panel (or finishes a stage)."""

    title: str
    items: tuple[Item, ...]
    since: str | None = None


_FULL = ("report_type", ("full",))
READINESS: dict[str, Readiness] = {
    "fostering": Readiness(
        "not ready for panel",
        (
            Item("dbs_checks_on", _FULL),
            Item("la_checks_on", _FULL),
            Item("medical_on", _FULL),
            Item("referees_interviewed_on", _FULL),
            Item("previous_fsp_reference_on", ("previously_approved_elsewhere", ("yes",))),
            Item("training_completed_on", _FULL),
            Item("report_shared_on", fresh=True),
            Item("report_authorised_on", fresh=True),
        ),
        since="report_completed_on",
    ),
    "connected_person": Readiness(
        "not ready for panel",
        (
            Item("dbs_checks_on", _FULL),
            Item("la_checks_on", _FULL),
            Item("medical_on", _FULL),
            Item("referees_interviewed_on", _FULL),
            Item("report_shared_on", fresh=True),
            Item("report_authorised_on", fresh=True),
        ),
        since="report_completed_on",
    ),
    "adopter_stage1": Readiness(
        "Stage 1 is not complete",
        (
            Item("stage1_plan_agreed_on"),
            Item("dbs_checks_on"),
            Item("la_checks_on"),
            Item("medical_on"),
            Item("referees_interviewed_on"),
            Item("training_completed_on"),
        ),
    ),
    "adopter": Readiness(
        "not ready for panel",
        (
            Item("checks_confirmed_on", ("fast_track_basis", ("previous_adopter", "foster_carer"))),
            Item("report_shared_on", fresh=True),
            Item("report_authorised_on", fresh=True),
        ),
        since="report_completed_on",
    ),
    "fostering_review": Readiness(
        "review not ready for panel",
        (
            Item("carer_views_on", fresh=True),
            Item("review_report_authorised_on", fresh=True),
        ),
        since="review_started_on",
    ),
    "should_be_placed": Readiness(
        "the child's permanence report is not ready",
        (
            Item("child_health_report_on"),
            Item("parents_counselled_on"),
            Item("cpr_completed_on"),
            Item("cpr_authorised_on"),
        ),
    ),
    "match": Readiness(
        "match not ready for panel",
        (
            Item("adopter_case_ref"),
            Item("adoption_support_assessed_on", fresh=True),
            Item("placement_report_authorised_on", fresh=True),
        ),
        since="linked_on",
    ),
}


def _missing(spec: Readiness, facts: Mapping[str, Any]) -> list[str]:
    since = facts.get(spec.since) if spec.since else None
    missing: list[str] = []
    for item in spec.items:
        if item.when is not None and str(facts.get(item.when[0], "")) not in item.when[1]:
            continue
        value = facts.get(item.fact)
        if _blank(value):
            missing.append(item.fact)
        elif item.fresh and not _blank(since) and str(value) < str(since):
            missing.append(f"{item.fact} (recorded {value}, before {spec.since} {since})")
    return missing


def _readiness_guard(kind: str) -> Guard | None:
    spec = READINESS.get(kind)
    if spec is None:
        return None

    def check(ctx: GuardContext) -> str | None:
        missing = _missing(spec, ctx.facts)
        return f"{spec.title}; missing: " + ", ".join(missing) if missing else None

    check.__name__ = f"ready_{kind}"
    return check


# -- dates -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Period:
    fact: str
    limit: Limit
    counting: str


def _period(arg: str) -> _Period | None:
    fact, sep, rest = arg.partition("+")
    limit_text, paren, counted = rest.partition("(")
    counting = counted.rstrip().removesuffix(")").strip() if paren else "after"
    if counting.startswith("convention:"):
        # Normally the compiler has replaced it with the configured value already.
        counting = DEFAULT_CONVENTIONS.get(counting.removeprefix("convention:"), "")
    if not sep or not fact.strip() or counting not in ("after", "beginning_with"):
        return None
    try:
        limit = parse_limit(limit_text)
    except InvalidInput:
        return None
    return _Period(fact.strip(), limit, counting)


def _date_guard(mode: str) -> GuardFactory:
    """``on_or_after``/``after``: not before (on or before) the date; ``within``: not after it."""

    def factory(arg: str) -> Guard | None:
        period = _period(arg)
        if period is None:
            return None

        def check(ctx: GuardContext) -> str | None:
            start = _as_date(ctx.facts.get(period.fact))
            if start is None:
                return f"fact {period.fact!r} has not been recorded as a date"
            due = due_date(start, period.limit, _CALENDAR, period.counting)  # type: ignore[arg-type]
            reading = "beginning with" if period.counting == "beginning_with" else "after"
            span = f"({period.limit} {reading} {period.fact} {start.isoformat()})"
            if mode == "within":
                return f"too late: allowed until {due.isoformat()} {span}" if ctx.on > due else None
            first = due + timedelta(days=1) if mode == "after" else due
            return f"not yet: allowed from {first.isoformat()} {span}" if ctx.on < first else None

        check.__name__ = f"{mode}_{period.fact}"
        return check

    return factory


# -- journey-specific guards -----------------------------------------------------------------------


def _review_may_skip_panel(arg: str) -> Guard | None:
    try:
        cycle = parse_limit(arg)
    except InvalidInput:
        return None

    def check(ctx: GuardContext) -> str | None:
        last = _as_date(ctx.facts.get("panel_held_on"))
        if last is None:
            return "the first review of a foster carer's approval must go to the fostering panel (FSR 28(5))"
        due = due_date(last, cycle, _CALENDAR)
        if ctx.on >= due:
            return (
                f"this review must go to panel: the last panel review was on {last.isoformat()} "
                f"and the local cycle is every {cycle}"
            )
        return None

    check.__name__ = "review_may_skip_panel"
    return check


#: CPPCR 24: up to 16 weeks; the last covered day is start + 111 days (domain.md §2.4 FS18).
REG24_LAST_DAY = timedelta(days=16 * 7 - 1)
#: CPPCR 25(2): one extension of up to eight weeks.
REG24_EXTENSION = timedelta(weeks=8)


def _reg24_last_day(facts: Mapping[str, Any]) -> date | None:
    extended = _as_date(facts.get("reg24_extended_to"))
    if extended is not None:
        return extended
    start = _as_date(facts.get("reg24_approved_on"))
    return start + REG24_LAST_DAY if start else None


def _reg24_extension_allowed(ctx: GuardContext) -> str | None:
    earlier = _recorded(ctx)
    if not _blank(earlier.get("reg24_extended_to")):
        return "the temporary approval has already been extended once (CPPCR 25(2))"
    start = _as_date(ctx.facts.get("reg24_approved_on"))
    if start is None:
        return "no reg 24 temporary approval is recorded (reg24_approved_on)"
    last = start + REG24_LAST_DAY
    if ctx.on > last:
        return f"the temporary approval ended on {last.isoformat()} and can no longer be extended"
    to = _as_date(ctx.facts.get("reg24_extended_to"))
    if to is None:
        return "reg24_extended_to (the last day the extension covers) must be a date"
    if to <= last:
        return f"reg24_extended_to must be after the current last day {last.isoformat()}"
    if to > last + REG24_EXTENSION:
        return f"an extension may add at most 8 weeks: the latest last day is {(last + REG24_EXTENSION).isoformat()}"
    return None


def _reg24_not_yet_extended(ctx: GuardContext) -> str | None:
    if not _blank(_recorded(ctx).get("reg24_extended_on")):
        return "reg 24 temporary approval may be extended only once"
    return None


def _reg24_expired(ctx: GuardContext) -> str | None:
    if not _blank(ctx.facts.get("reg24_review_extension_on")):
        return "the temporary approval is extended until the outcome of the IRM review (CPPCR 25(3))"
    last = _reg24_last_day(ctx.facts)
    if last is None:
        return "no reg 24 temporary approval is recorded (reg24_approved_on)"
    if ctx.on <= last:
        return f"the temporary approval still covers the placement until {last.isoformat()}"
    return None


def _reg24_in_force(ctx: GuardContext) -> str | None:
    last = _reg24_last_day(ctx.facts)
    if last is None:
        return "no reg 24 temporary approval is recorded (reg24_approved_on)"
    if ctx.on > last:
        return f"the temporary approval ended on {last.isoformat()}"
    return None


def _irm_available(ctx: GuardContext) -> str | None:
    if str(ctx.facts.get("qd_on_reg26b_information", "")).lower() in ("yes", "true"):
        return (
            "the IRM route is not available: the determination rests on Stage 1 information "
            "obtained under AAR 26(b) (AAR 30B(5A)); representations only"
        )
    return None


GUARDS: dict[str, Guard] = {
    "not_on_panel": _not_on_panel,
    "ready_for_panel": _ready_for_panel,
    "reg24_not_yet_extended": _reg24_not_yet_extended,
    "reg24_extension_allowed": _reg24_extension_allowed,
    "reg24_expired": _reg24_expired,
    "reg24_in_force": _reg24_in_force,
    "irm_available": _irm_available,
}

PARAMETERISED: dict[str, GuardFactory] = {
    "has": _fact_guard,
    "lacks": _lacks_guard,
    "one_of": _one_of_guard,
    "not_on_panel": _panel_guard,
    "ready_for_panel": _readiness_guard,
    "stage_complete": _readiness_guard,
    "on_or_after": _date_guard("on_or_after"),
    "after": _date_guard("after"),
    "within": _date_guard("within"),
    "review_may_skip_panel": _review_may_skip_panel,
}


def resolve_guard(name: str, registry: Mapping[str, Guard] = GUARDS) -> Guard | None:
    """The guard called ``name`` (parameterised ones included), or ``None`` if unknown or malformed."""
    if name in registry:
        return registry[name]
    prefix, sep, arg = name.partition(":")
    if sep and arg and prefix in PARAMETERISED:
        return PARAMETERISED[prefix](arg)
    return None
