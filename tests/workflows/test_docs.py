"""docs/journeys.md shows every journey's current diagram and timescales; the CLI agrees."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepath.entrypoints import common
from carepath.entrypoints.cli import app
from tests.workflows.docs_blocks import DOC, blocks, found

FIX = "run .venv/bin/python -m tests.workflows.docs_blocks to regenerate docs/journeys.md"


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    return blocks()


def test_every_journey_has_its_diagram_and_timescales_in_the_docs(expected: dict[str, str]) -> None:
    assert set(found(DOC.read_text(encoding="utf-8"))) == set(expected), FIX


def test_the_docs_match_the_journeys(expected: dict[str, str]) -> None:
    in_doc = found(DOC.read_text(encoding="utf-8"))
    stale = [key for key, body in expected.items() if in_doc.get(key) != body]
    assert stale == [], f"stale blocks {stale}: {FIX}"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CAREPATH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("CAREPATH_WORKFLOWS_DIR", raising=False)
    monkeypatch.delenv("CAREPATH_CONVENTIONS", raising=False)
    common.reset_app()
    yield CliRunner()
    common.reset_app()


@pytest.mark.parametrize("journey", ["foster_carer_approval", "child_adoption_pathway"])
def test_the_diagram_command_prints_what_the_docs_show(cli: CliRunner, expected: dict[str, str], journey: str) -> None:
    result = cli.invoke(app, ["workflows", "diagram", journey])
    assert result.exit_code == 0, result.output
    assert "```mermaid\n" + result.output + "```\n" == expected[f"diagram:{journey}"]


def test_the_shipped_workflows_validate(cli: CliRunner) -> None:
    result = cli.invoke(app, ["workflows", "validate"])
    assert result.exit_code == 0, result.output
    assert "5 workflow file(s) valid" in result.output


def test_every_rule_that_acts_by_itself_is_documented_with_its_move() -> None:
    """docs/journeys.md ("Rules that act by themselves") names each rule with ``fires:`` and its move."""
    from carepath.workflows.loader import load_registry
    from tests.workflows.docs_blocks import DOC

    text = DOC.read_text(encoding="utf-8")
    section = text.split("**Rules that act by themselves.**", 1)[1].split("**Panels", 1)[0]
    registry = load_registry()
    acting = [
        (rule.name, rule.fires)
        for journey in registry.ids()
        for rule in registry.latest(journey).definition.deadlines
        if rule.fires is not None
    ]
    assert acting, "no rule acts by itself"
    for name, trigger in acting:
        assert f"| {name} (" in section, f"{name} acts by itself: not in the table"
        assert f"`{trigger}`" in section, f"{name} fires {trigger}: the move is not named"
