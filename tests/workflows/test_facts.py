"""The typed fact schema (issue 10 point 1): each shipped journey declares every fact it names, the
loader and compiler refuse a bad schema with file and line, and the case service parses and checks
every fact given, whatever the entrypoint."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from carepath.engine.compiler import check_workflow
from carepath.engine.definition import FACT_TYPES, FactSpec
from carepath.engine.errors import InvalidInput, WorkflowDefinitionError
from carepath.engine.facts import TypedText, check_facts, parse_value
from carepath.workflows.loader import WORKFLOWS_DIR, load_registry, load_workflow, parse_workflow, workflow_files
from tests.workflows.helpers import Walker, step
from tests.workflows.test_foster_carer_approval import CHECKS, READY, REPORT, TO_ASSESSMENT, opened

SHIPPED = [load_workflow(p) for p in workflow_files(WORKFLOWS_DIR)]


@pytest.mark.parametrize("d", SHIPPED, ids=lambda d: d.id)
def test_every_shipped_journey_declares_its_facts(d: object) -> None:
    from carepath.engine.definition import WorkflowDef

    assert isinstance(d, WorkflowDef)
    assert d.facts, f"{d.id} declares no facts"
    assert check_workflow(d) == []
    named = {f for t in d.transitions for f in (*t.requires, *t.accepts)}
    assert named <= set(d.facts)
    assert all(s.type in FACT_TYPES and s.label for s in d.facts.values())


#: The same thing has the same name in every journey that records it (docs/journeys.md "Facts").
SHARED = [
    "application_received_on",
    "dbs_checks_on",
    "la_checks_on",
    "medical_on",
    "panel_date",
    "panel_held_on",
    "panel_members",
    "minutes_received_on",
    "qd_sent_on",
    "irm_notified_on",
    "recommendation",
    "report_type",
]


@pytest.mark.parametrize("name", SHARED)
def test_a_shared_name_has_one_type_across_journeys(name: str) -> None:
    types = {d.facts[name].type for d in SHIPPED if name in d.facts}
    assert len(types) == 1, (name, types)


def test_every_means_names_a_shared_fact_of_the_same_type() -> None:
    declared = {(name, spec.type) for d in SHIPPED for name, spec in d.facts.items()}
    means = [(d.id, s) for d in SHIPPED for s in d.facts.values() if s.means]
    assert means
    for journey, spec in means:
        assert spec.means != spec.name
        assert (spec.means, spec.type) in declared, (journey, spec.name)


MINI = """\
id: mini
version: 1
title: Mini
reference_prefix: MI
initial: a
close_state: z
states:
  a: {label: A}
  z: {label: Z, terminal: true}
facts:
  seen_on: {type: date, label: Seen}
  kind: {type: choice, label: Kind, options: [big, small]}
transitions:
  - {trigger: see, source: a, dest: a, requires: [seen_on], accepts: [kind]}
  - {trigger: end, source: a, dest: z, guards: ["one_of:kind=big/small"]}
exit_reasons: {X: X}
"""


def test_a_misspelt_schema_key_is_refused_with_its_line_and_a_guess() -> None:
    with pytest.raises(WorkflowDefinitionError) as raised:
        parse_workflow(MINI.replace("{type: date, label: Seen}", "{type: date, label: Seen, not_befor: [kind]}"))
    [problem] = raised.value.problems
    assert problem.line == 11
    assert "facts.seen_on.not_befor: Extra inputs are not permitted (did you mean 'not_before'?)" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("type: date, label: Seen", "type: when, label: Seen", 11, "facts.seen_on.type: Input should be 'date'"),
        ("options: [big, small]", "options: []", 12, "a choice lists its options"),
        (
            "options: [big, small]",
            "labl: x",
            12,
            "facts.kind.labl: Extra inputs are not permitted (did you mean 'label'?)",
        ),
        ("type: date, label: Seen", "type: text, label: Seen, future: true", 11, "apply to dates only"),
    ],
)
def test_a_bad_fact_declaration_names_its_line(old: str, new: str, line: int, message: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as raised:
        parse_workflow(MINI.replace(old, new))
    assert any(p.line == line and message in p.message for p in raised.value.problems), raised.value.problems


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("requires: [seen_on]", "requires: [sen_on]", "names fact 'sen_on' that facts: does not declare (did you mean"),
        ("one_of:kind=big/small", "one_of:kind=big/huge", "compares 'kind' with huge, not among its options"),
        ("one_of:kind=big/small", "has:knd", "names fact 'knd' that facts: does not declare (did you mean 'kind'?)"),
    ],
)
def test_the_compiler_checks_facts_against_the_schema(old: str, new: str, message: str) -> None:
    problems = check_workflow(parse_workflow(MINI.replace(old, new)))
    assert any(message in p.message and p.line is not None for p in problems), problems


SPEC = {"seen_on": FactSpec("seen_on", "date", "Seen"), "held_on": FactSpec("held_on", "date", "Held")}


def test_check_facts_parses_the_text_as_typed_and_orders_dates() -> None:
    schema = {
        "held_on": FactSpec("held_on", "date", "Panel held", not_before=("booked_on",)),
        "booked_on": FactSpec("booked_on", "date", "Panel date", future=True),
        "count": FactSpec("count", "number", "Count"),
        "terms": FactSpec("terms", "text", "Terms"),
    }

    def check(given: Mapping[str, Any], recorded: Mapping[str, Any], texts: Mapping[str, str] | None = None) -> Any:
        today, opened = date(2026, 11, 2), date(2026, 1, 1)
        return check_facts(
            schema,
            given,
            journey="j",
            trigger="t",
            allowed=schema,
            recorded=recorded,
            today=today,
            opened_on=opened,
            texts=texts,
        )

    given = TypedText({"terms": 1.5, "count": 1.5}, {"terms": "1.50", "count": "1.50"})
    assert check(given, {}, given.texts) == {"terms": "1.50", "count": 1.5}
    order = r"'held_on' 2026-10-30 must be on or after booked_on \(2026-10-31: Panel date\)"
    with pytest.raises(InvalidInput, match=order):
        check({"held_on": "2026-10-30"}, {"booked_on": "2026-10-31"})
    # A legacy value that is not a date does not block a later one.
    assert check({"held_on": "2026-10-30"}, {"booked_on": "soon"}) == {"held_on": "2026-10-30"}
    assert check_facts(
        {},
        {"anything": "goes"},
        journey="j",
        trigger="t",
        allowed=(),
        recorded={},
        today=date(2026, 11, 2),
        opened_on=date(2026, 1, 1),
    ) == {"anything": "goes"}


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        (FactSpec("a", "yes_no", "A"), True, "yes"),
        (FactSpec("a", "yes_no", "A"), " N ", "no"),
        (FactSpec("a", "users", "A"), ["X@Council.test", "x@council.test"], ["x@council.test"]),
        (FactSpec("a", "user", "A"), "Sam@Council.Test", "sam@council.test"),
        (FactSpec("a", "date", "A"), date(2026, 1, 2), "2026-01-02"),
        (FactSpec("a", "number", "A"), -7, -7),
        (FactSpec("a", "case", "A", journeys=("j",)), "FC-2026-0001", "FC-2026-0001"),
    ],
)
def test_parse_value_normalises(spec: FactSpec, value: object, expected: object) -> None:
    assert parse_value(spec, value) == expected


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (FactSpec("a", "number", "A"), True, "must be a number"),
        (FactSpec("a", "number", "A"), "1e5", "must be a number"),
        (FactSpec("a", "number", "A"), float("nan"), "not a finite number"),
        (FactSpec("a", "date", "A"), 20260102, "must be a date YYYY-MM-DD"),
        (FactSpec("a", "users", "A"), " , ", "is empty"),
        (FactSpec("a", "case", "A", journeys=("j",)), "Jane SMITH dob", "may hold only letters"),
    ],
)
def test_parse_value_refuses(spec: FactSpec, value: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_value(spec, value)


# -- through the case service, on the shipped foster carer journey ---------------------------------


def test_the_panel_cannot_sit_before_its_booked_date(walker: Walker) -> None:
    w = opened(walker)
    w.walk(READY)
    w.fire("book_panel", "2026-05-18", "panel_coordinator", panel_date="2026-06-10")
    order = r"'panel_held_on' 2026-06-08 must be on or after panel_date \(2026-06-10: Panel date booked\)"
    with pytest.raises(InvalidInput, match=order):
        w.fire(
            "record_recommendation",
            "2026-06-12",
            "panel_coordinator",
            panel_held_on="2026-06-08",
            recommendation="suitable",
            panel_members="chair@carepath.test",
        )
    w.fire(
        "record_recommendation",
        "2026-06-12",
        "panel_coordinator",
        panel_held_on="2026-06-10",
        recommendation="suitable",
        panel_members="Chair@carepath.test, sw@carepath.test",
    )
    assert w.case.facts["panel_members"] == ["chair@carepath.test", "sw@carepath.test"]
    with pytest.raises(InvalidInput, match=r"'minutes_received_on' 2026-06-09 must be on or after panel_held_on"):
        w.fire("record_final_minutes", "2026-06-15", "panel_coordinator", minutes_received_on="2026-06-09")


def test_readiness_does_not_pass_on_a_medical_of_soon(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT)
    with pytest.raises(InvalidInput, match="fact 'medical_on' must be a date YYYY-MM-DD"):
        w.fire("record_medical", "2026-02-10", medical_on="soon")
    assert "medical_on" not in w.case.facts


def test_a_legacy_fact_that_no_longer_validates_still_displays(walker: Walker) -> None:
    w = opened(walker)
    w.walk(TO_ASSESSMENT)
    engine = create_engine(str(w.app.settings.database_url))
    with engine.begin() as conn:
        conn.execute(text("""UPDATE "case" SET facts = '{"medical_on": "soon", "la_check_on": "2020-01-01"}'"""))
    engine.dispose()
    assert w.case.facts == {"medical_on": "soon", "la_check_on": "2020-01-01"}
    # ...but no guard relies on it: readiness reports the medical as missing.
    w.walk(CHECKS[:2] + CHECKS[3:] + REPORT[:2])
    action = w.actions("team_manager")["authorise_report"]
    assert "medical_on" in action.reasons[0], action.reasons
    # ...until it is recorded again.
    w.fire("revise_report", "2026-05-06", "team_manager")
    w.fire("record_medical", "2026-05-06", medical_on="2026-05-06")
    w.walk([step("complete_report", "2026-05-07", report_completed_on="2026-05-07", report_type="full")])
    assert "medical_on" not in w.actions("team_manager")["authorise_report"].reasons[0]


def test_a_case_fact_links_to_a_journey_carepath_loads(tmp_path: Path) -> None:
    typed = Path(__file__).resolve().parents[1] / "fixtures" / "typed" / "typed.v1.yaml"
    (tmp_path / "typed.v1.yaml").write_text(typed.read_text().replace("journey: typed", "journey: nowhere"))
    with pytest.raises(WorkflowDefinitionError, match="fact 'linked' links to unknown journey 'nowhere'") as raised:
        load_registry(tmp_path)
    assert raised.value.problems[0].line == 23
    assert load_registry(typed.parent).ids() == ["typed"]
