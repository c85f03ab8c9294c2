"""A LOCAL rule's source is this council's procedure (CAREPATH_LOCAL_PROCEDURES), never another council's."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from carepath.config.bootstrap import bootstrap
from carepath.config.procedures import with_local_procedures
from carepath.config.settings import Settings
from carepath.engine.clock import FixedClock
from carepath.engine.errors import InvalidInput
from carepath.engine.registry import WorkflowRegistry
from carepath.workflows.loader import load_registry

ROOT = Path(__file__).resolve().parents[2]
#: Councils whose published procedures the shipped figures were first taken from.
COUNCILS = ("Milton Keynes", "Wakefield", "Hertfordshire", "Blackburn", "Darwen", "York", "Adopt South West")


@pytest.fixture(scope="module")
def shipped() -> WorkflowRegistry:
    return load_registry()


def sources(registry: WorkflowRegistry) -> dict[str, str]:
    return {
        f"{c.definition.id}.{r.name}": r.source for c in registry for r in c.definition.deadlines if r.klass == "LOCAL"
    }


def test_no_shipped_local_rule_cites_another_council(shipped: WorkflowRegistry) -> None:
    local = sources(shipped)
    assert local  # the journeys have LOCAL rules
    assert {k: v for k, v in local.items() if any(c.lower() in v.lower() for c in COUNCILS)} == {}
    for path in sorted((ROOT / "workflows").glob("*.yaml")):  # the YAML itself, LOCAL rules included
        text = path.read_text()
        for rule in re.finditer(r"class: LOCAL\n\s+source: (.*)", text):
            assert not any(c in rule.group(1) for c in COUNCILS), (path.name, rule.group(1))


def test_the_councils_procedure_replaces_the_source_of_local_rules_only(shipped: WorkflowRegistry) -> None:
    procedures = {
        "*": "Anytown children's services procedures",
        "FS17": "Anytown fostering procedures 7.3",
        "foster_carer_approval.FS1": "Anytown fostering procedures 2.1",
    }
    renamed = with_local_procedures(shipped, procedures)
    local = sources(renamed)
    assert local["approved_foster_carer.FS17"] == "Anytown fostering procedures 7.3"
    assert local["foster_carer_approval.FS1"] == "Anytown fostering procedures 2.1"
    assert local["foster_carer_approval.FS2"] == "Anytown children's services procedures"
    assert local["child_adoption_pathway.CS9"] == "Anytown children's services procedures"
    before = {f"{c.definition.id}.{r.name}": r for c in shipped for r in c.definition.deadlines}
    for compiled in renamed:
        for rule in compiled.definition.deadlines:
            original = before[f"{compiled.definition.id}.{rule.name}"]
            if rule.klass != "LOCAL":
                assert rule == original  # statutory and guidance sources never change
            else:
                assert (rule.name, rule.limit, rule.start, rule.stop) == (
                    original.name, original.limit, original.start, original.stop
                )  # fmt: skip
        assert compiled.machine is shipped.get(*compiled.definition.key).machine  # still the one shared machine


def test_no_setting_keeps_the_journeys_own_neutral_wording(shipped: WorkflowRegistry) -> None:
    assert with_local_procedures(shipped, {}) is shipped
    assert sources(shipped)["foster_carer_approval.FS1"] == "local procedure"


@pytest.mark.parametrize(
    ("procedures", "message"),
    [
        ({"FS99": "x"}, r"'FS99' names no LOCAL rule \(LOCAL rules: .*FS1.*\)"),
        ({"FS4": "x"}, "'FS4' names no LOCAL rule"),  # a statutory rule cannot be re-sourced
        ({"sample.FS1": "x"}, "'sample.FS1' names no LOCAL rule"),
        ({"*": ""}, "must be one line of text, not empty"),
        ({"*": "Anytown\r\nBcc: leak@evil.example"}, "must be one line of text"),
        ({"*": "x" * 201}, "over 200 characters"),
    ],
)
def test_a_bad_setting_is_one_clear_refusal(
    shipped: WorkflowRegistry, procedures: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        with_local_procedures(shipped, procedures)


def test_the_setting_reads_json_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPATH_LOCAL_PROCEDURES", '{"*": "Anytown procedures", "FS17": "Anytown 7.3"}')
    assert Settings().local_procedures == {"*": "Anytown procedures", "FS17": "Anytown 7.3"}


def test_the_application_cites_the_councils_procedure_everywhere_it_reads_a_rule(tmp_path: Path) -> None:
    """Emails (the raised timer's rule), ``case deadlines`` and ``workflows show`` all read ``app.workflows``."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'carepath.db'}",
        local_procedures={"*": "Anytown procedures", "FS1": "Anytown fostering procedures 2.1"},
    )
    app = bootstrap(settings, FixedClock(datetime(2026, 11, 2, 9, tzinfo=UTC)))
    try:
        fostering = app.workflows.latest("foster_carer_approval").definition
        assert fostering.rule("FS1").source == "Anytown fostering procedures 2.1"
        assert fostering.rule("FS3a").source == "Anytown procedures"
        assert (
            fostering.rule("FS4").source
            == load_registry().latest("foster_carer_approval").definition.rule("FS4").source
        )
    finally:
        app.dispose()
    with pytest.raises(InvalidInput, match="'FS4' names no LOCAL rule"):
        bootstrap(settings.model_copy(update={"local_procedures": {"FS4": "x"}}))
