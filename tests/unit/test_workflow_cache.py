"""The journeys' on-disk cache (workflows/cache.py): parsed once per content, never trusted blindly.

A hit must give exactly what parsing gives; an edited file must be parsed again; an entry that is
corrupt, forged or in a folder others may write must be ignored and the file parsed, silently.
``loader.load_workflow`` is counted to tell a hit (no parse) from a miss.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from carepath.engine.errors import WorkflowDefinitionError
from carepath.workflows import loader
from carepath.workflows.cache import MAX_ENTRIES, DefinitionCache, cached_registry
from carepath.workflows.files import WORKFLOWS_DIR

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample.v1.yaml"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file ``load_workflow`` parsed (the cache calls it on a miss only)."""
    seen: list[Path] = []
    real: Callable[[Path], object] = loader.load_workflow

    def counting(path: Path) -> object:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(loader, "load_workflow", counting)
    return seen


@pytest.fixture
def journeys(tmp_path: Path) -> Path:
    folder = tmp_path / "journeys"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pickle"))


def label(folder: Path, cache: DefinitionCache) -> str:
    """The sample's ``enquiry`` state label, as the cached registry gives it."""
    return cached_registry(folder, cache=cache).get("sample", 1).definition.state("enquiry").label


def test_a_hit_is_what_parsing_gives_and_parses_nothing(tmp_path: Path, parses: list[Path]) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    fresh = loader.load_registry(WORKFLOWS_DIR)
    parses.clear()
    first = cached_registry(WORKFLOWS_DIR, cache=cache)
    assert len(parses) == len(list(fresh))
    assert len(entries(cache.folder)) == len(parses)
    parses.clear()
    again = cached_registry(WORKFLOWS_DIR, cache=DefinitionCache(cache.folder))
    assert parses == []
    for a, b, c in zip(fresh, first, again, strict=True):
        assert a.definition == b.definition == c.definition
        assert c.definition.file == a.definition.file
        assert c.triggers_from(c.definition.initial) == a.triggers_from(a.definition.initial)


def test_an_edited_file_is_parsed_again(tmp_path: Path, journeys: Path, parses: list[Path]) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    before = label(journeys, cache)
    assert label(journeys, cache) == before
    assert len(parses) == 1
    path = journeys / SAMPLE.name
    path.write_text(path.read_text().replace(f"label: {before}", "label: Enquiry (edited)", 1))
    assert label(journeys, cache) == "Enquiry (edited)"
    assert len(parses) == 2
    assert len(entries(cache.folder)) == 2
    path.write_text(SAMPLE.read_text())  # back as it was: the first entry serves again
    assert label(journeys, cache) == before
    assert len(parses) == 2


def test_the_same_content_elsewhere_names_its_own_file(tmp_path: Path, journeys: Path, parses: list[Path]) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    cached_registry(journeys, cache=cache)
    other = tmp_path / "other"
    shutil.copytree(journeys, other)
    definition = cached_registry(other, cache=cache).get("sample", 1).definition
    assert definition.file == str(other / SAMPLE.name)
    assert len(parses) == 1


def test_a_file_that_does_not_parse_is_reported_every_time_and_never_cached(
    tmp_path: Path, journeys: Path, parses: list[Path]
) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    path = journeys / SAMPLE.name
    path.write_text(path.read_text().replace("reference_prefix:", "reference_prefix_typo:", 1))
    for _ in range(2):
        with pytest.raises(WorkflowDefinitionError) as caught:
            cached_registry(journeys, cache=cache)
        assert str(path) in str(caught.value)
    assert len(parses) == 2
    assert entries(cache.folder) == []


def test_every_load_compiles_with_the_settings_of_the_day(tmp_path: Path, parses: list[Path]) -> None:
    """The cache holds parsed files, not compiled ones: conventions (a setting) apply to a hit as well."""
    cache = DefinitionCache(tmp_path / "cache")
    cached_registry(WORKFLOWS_DIR, cache=cache)
    parses.clear()

    def countings(conventions: dict[str, str]) -> set[str]:
        registry = cached_registry(WORKFLOWS_DIR, conventions, cache=cache)
        return {r.counting for r in registry.latest("approved_foster_carer").definition.deadlines}

    assert "beginning_with" not in countings({"fostering_qd_window": "after"})
    assert "beginning_with" in countings({"fostering_qd_window": "beginning_with"})
    assert parses == []


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b"not a pickle"), id="garbage"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:100]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: p.write_bytes(pickle.dumps({"not": "a definition"})), id="another-type"),
        pytest.param(lambda p: p.write_bytes(pickle.dumps(_Forged())), id="forged"),
    ],
)
def test_a_damaged_entry_is_parsed_again_and_replaced(
    tmp_path: Path, journeys: Path, parses: list[Path], damage: Callable[[Path], None]
) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    want = label(journeys, cache)
    (entry,) = entries(cache.folder)
    damage(entry)
    _Forged.ran = False
    assert label(journeys, cache) == want
    assert len(parses) == 2
    assert not _Forged.ran  # the restricted unpickler built nothing it names
    assert label(journeys, cache) == want  # rewritten: a hit again
    assert len(parses) == 2


class _Forged:
    """An entry that would run code when unpickled by a plain ``pickle.load``."""

    ran = False

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (_Forged._run, ())

    @staticmethod
    def _run() -> None:
        _Forged.ran = True


def test_a_folder_that_cannot_be_written_is_skipped(tmp_path: Path, journeys: Path, parses: list[Path]) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    cache = DefinitionCache(blocked / "workflows")
    assert label(journeys, cache) == label(journeys, cache)
    assert len(parses) == 2
    assert blocked.read_text() == ""


def test_a_folder_others_may_write_is_not_read(tmp_path: Path, journeys: Path, parses: list[Path]) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    label(journeys, cache)
    os.chmod(cache.folder, 0o777)
    label(journeys, cache)
    assert len(parses) == 2
    os.chmod(cache.folder, 0o700)
    label(journeys, cache)
    assert len(parses) == 2


def test_the_oldest_entries_beyond_the_limit_are_deleted(tmp_path: Path, journeys: Path) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    path = journeys / SAMPLE.name
    text = path.read_text()
    for n in range(MAX_ENTRIES + 3):
        path.write_text(f"{text}\n# edit {n}\n")
        cached_registry(journeys, cache=cache)
    assert len(entries(cache.folder)) == MAX_ENTRIES
