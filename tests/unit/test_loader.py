"""Load-time validation: a broken journey is refused before any case can use it.

Each file in tests/e2e/broken/ marks its faulty line with ``# FAULT: <name>``; the error
must name that file, that line and that name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from carepath.engine.compiler import compile_workflow
from carepath.engine.errors import Problem, WorkflowDefinitionError
from carepath.workflows.loader import load_registry, load_workflow, parse_workflow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BROKEN = Path(__file__).resolve().parents[1] / "e2e" / "broken"
BROKEN_FILES = sorted(BROKEN.glob("*.v1.yaml"))
FAULT = re.compile(r"#\s*FAULT:\s*(?P<name>.+?)\s*$")


def fault_of(path: Path) -> tuple[int, str]:
    """The (line, offending name) a broken file declares with its ``# FAULT:`` comment."""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = FAULT.search(text)
        if match:
            return number, match["name"]
    raise AssertionError(f"{path} has no # FAULT: marker")


def problems_of(path: Path) -> list[Problem]:
    """Every problem loading and compiling ``path`` reports (empty if it is sound)."""
    try:
        compile_workflow(load_workflow(path))
    except WorkflowDefinitionError as exc:
        return exc.problems
    return []


def test_the_broken_set_covers_every_kind_of_fault() -> None:
    names = {p.name.split(".")[0] for p in BROKEN_FILES}
    assert names >= {
        "unknown_state",
        "unreachable",
        "dead_end",
        "unknown_guard",
        "duplicate_transition",
        "missing_initial",
        "undeclared_initial",
        "duplicate_key",
        "typo_field",
        "bad_limit",
        "deadline_unknown_state",
        "deadline_unknown_event",
    }


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.name)
def test_broken_file_is_refused_naming_file_line_and_name(path: Path) -> None:
    line, name = fault_of(path)
    problems = problems_of(path)
    assert problems, f"{path.name} was accepted"
    located = [p for p in problems if p.file == str(path) and p.line == line and name in p.message]
    assert located, f"expected a problem at {path.name}:{line} naming {name!r}, got: {[str(p) for p in problems]}"
    assert str(located[0]).startswith(f"{path}:{line}: ")


def test_sample_journey_loads_and_compiles() -> None:
    compiled = compile_workflow(load_workflow(FIXTURES / "sample.v1.yaml"))
    d = compiled.definition
    assert d.key == ("sample", 1)
    assert d.initial == "enquiry"
    assert compiled.triggers_from("decision") == ["approve", "refuse"]
    assert [r.name for r in d.deadlines] == ["S1", "S2", "S3", "S4"]


def test_every_problem_is_reported_at_once() -> None:
    text = """
id: many
version: 1
title: Many faults
reference_prefix: BR
initial: start
close_state: closed
states:
  start: {label: Start}
  stuck: {label: Stuck}
  closed: {label: Closed, terminal: true}
transitions:
  - {trigger: go, source: start, dest: nowhere}
  - {trigger: finish, source: start, dest: closed, guards: [no_such_guard]}
exit_reasons:
  AW0: Withdrawn
"""
    with pytest.raises(WorkflowDefinitionError) as caught:
        compile_workflow(parse_workflow(text, "many.v1.yaml"))
    messages = [str(p) for p in caught.value.problems]
    assert any("many.v1.yaml:13:" in m and "'nowhere'" in m for m in messages)
    assert any("many.v1.yaml:14:" in m and "'no_such_guard'" in m for m in messages)
    assert any("many.v1.yaml:10:" in m and "'stuck'" in m and "unreachable" in m for m in messages)


def test_a_dotted_guard_name_is_not_imported() -> None:
    # transitions would import "os.path.isdir" and call it; we refuse it as unknown.
    text = """
id: dotted
version: 1
title: Dotted guard
reference_prefix: BR
initial: start
close_state: closed
states:
  start: {label: Start}
  closed: {label: Closed, terminal: true}
transitions:
  - {trigger: finish, source: start, dest: closed, guards: [os.path.isdir]}
exit_reasons:
  AW0: Withdrawn
"""
    with pytest.raises(WorkflowDefinitionError, match=r"dotted.v1.yaml:12: .*unknown guard 'os.path.isdir'"):
        compile_workflow(parse_workflow(text, "dotted.v1.yaml"))


def test_a_file_whose_name_does_not_match_its_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.v2.yaml"
    path.write_text((FIXTURES / "sample.v1.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(WorkflowDefinitionError, match=r"other.v2.yaml:.*do not match the file name"):
        load_workflow(path)


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(WorkflowDefinitionError, match=r"list.v1.yaml:1: a workflow file is a YAML mapping"):
        parse_workflow("- just\n- a list\n", "list.v1.yaml")


def test_loading_a_folder_reports_the_problems_of_every_file() -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_registry(BROKEN)
    files = {Path(p.file).name for p in caught.value.problems}
    assert files == {p.name for p in BROKEN_FILES}


def test_one_compiled_machine_per_workflow_version() -> None:
    registry = load_registry(FIXTURES)
    first = registry.get("sample", 1)
    assert registry.latest("sample") is first
    assert registry.get("sample", 1) is first
    assert first.machine is registry.latest("sample").machine
    # The machine is built with model=None: cases are never attached to it.
    assert first.machine.models == []


# -- readiness lists ----------------------------------------------------------------------------

READY_BASE = """\
id: ready
version: 1
title: Readiness
reference_prefix: BR
initial: start
close_state: closed
states:
  start: {label: Start}
  closed: {label: Closed, terminal: true}
transitions:
  - {trigger: record_checks, source: start, dest: start, requires: [checks_on, written_on]}
  - {trigger: finish, source: start, dest: closed, guards: ["ready_for_panel:demo"]}
exit_reasons:
  AW0: Withdrawn
readiness:
  demo:
    title: not ready for panel
"""


def test_readiness_lists_load_onto_the_definition() -> None:
    text = READY_BASE + (
        "    since: written_on\n"
        "    items:\n"
        "      - {fact: checks_on, label: Checks, when: {report_type: [full, long], elsewhere: 'yes'}}\n"
        "      - {fact: written_on, label: Report written, fresh: true}\n"
    )
    compiled = compile_workflow(parse_workflow(text, "ready.v1.yaml"))
    spec = compiled.definition.readiness["demo"]
    assert (spec.kind, spec.title, spec.since, spec.line) == ("demo", "not ready for panel", "written_on", 17)
    assert [(i.fact, i.label, i.when, i.fresh, i.line) for i in spec.items] == [
        ("checks_on", "Checks", (("report_type", ("full", "long")), ("elsewhere", ("yes",))), False, 20),
        ("written_on", "Report written", (), True, 21),
    ]
    assert compiled.guards["ready_for_panel:demo"] is not None


@pytest.mark.parametrize(
    ("items", "line", "message"),
    [
        ("    items: []\n", 18, "items: List should have at least 1 item"),
        ("    items:\n      - {fact: checks_on}\n", 19, "label: Field required"),
        ("    items:\n      - {fact: checks_on, label: C, when: {elsewhere: yes}}\n", 19, "quote yes, no"),
        ("    items:\n      - {fact: checks_on, label: C, fresh: true}\n", 17, "needs 'since'"),
        ("    items:\n      - {fact: Checks On, label: C}\n", 19, "fact: String should match pattern"),
        (
            "    items:\n      - {fact: checks_on, label: C}\n      - {fact: checks_on, label: D}\n",
            17,
            "checks_on more than once",
        ),
    ],
    ids=["empty", "no-label", "unquoted-yes", "fresh-without-since", "bad-fact", "duplicate"],
)
def test_a_malformed_readiness_list_is_refused_with_its_line(items: str, line: int, message: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        parse_workflow(READY_BASE + items, "ready.v1.yaml")
    located = [str(p) for p in caught.value.problems if p.line == line and message in p.message]
    assert located, [str(p) for p in caught.value.problems]


def test_a_readiness_item_no_transition_records_is_refused() -> None:
    text = READY_BASE + "    items:\n      - {fact: chekcs_on, label: Checks}\n"
    with pytest.raises(WorkflowDefinitionError, match=r"ready.v1.yaml:19: readiness 'demo' names fact 'chekcs_on'"):
        compile_workflow(parse_workflow(text, "ready.v1.yaml"))


def test_a_guard_naming_an_undeclared_readiness_list_is_refused() -> None:
    text = READY_BASE.replace('"ready_for_panel:demo"', '"ready_for_panel:dmeo"') + (
        "    items:\n      - {fact: checks_on, label: Checks}\n"
    )
    with pytest.raises(
        WorkflowDefinitionError, match=r"ready.v1.yaml:12: .*'ready_for_panel:dmeo' \(no readiness list"
    ):
        compile_workflow(parse_workflow(text, "ready.v1.yaml"))


@pytest.mark.parametrize("builtin", ["note", "hold", "assign"])
def test_a_built_in_move_cannot_be_redeclared_as_a_trigger(builtin: str) -> None:
    """``note`` and the other built-in moves are recorded by the service; a journey trigger of the same
    name would be skipped by replay (a note never moves a case)."""
    text = f"""
id: clash
version: 1
title: Clash
reference_prefix: CL
initial: start
close_state: closed
states:
  start: {{label: Start}}
  closed: {{label: Closed, terminal: true}}
transitions:
  - {{trigger: {builtin}, source: start, dest: start}}
  - {{trigger: finish, source: start, dest: closed}}
exit_reasons:
  AW0: Withdrawn
"""
    with pytest.raises(WorkflowDefinitionError) as caught:
        compile_workflow(parse_workflow(text, "clash.v1.yaml"))
    assert any(f"'{builtin}' is built in" in str(p) for p in caught.value.problems)
