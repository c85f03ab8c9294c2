"""Compiled workflows by (id, version): built once at start-up, shared by every case."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from carepath.engine.compiler import CompiledWorkflow
from carepath.engine.errors import UnknownWorkflow


class WorkflowRegistry:
    """Every loaded workflow version; ``latest(id)`` is what new cases pin."""

    def __init__(self, compiled: Iterable[CompiledWorkflow] = ()) -> None:
        self._by_key: dict[tuple[str, int], CompiledWorkflow] = {}
        for c in compiled:
            self.add(c)

    def add(self, compiled: CompiledWorkflow) -> None:
        """Register one compiled version."""
        self._by_key[compiled.definition.key] = compiled

    def get(self, workflow_id: str, version: int) -> CompiledWorkflow:
        """Exactly that version, or ``UnknownWorkflow``."""
        try:
            return self._by_key[(workflow_id, version)]
        except KeyError:
            raise UnknownWorkflow(workflow_id, version) from None

    def latest(self, workflow_id: str) -> CompiledWorkflow:
        """The highest version of ``workflow_id``."""
        versions = [v for (i, v) in self._by_key if i == workflow_id]
        if not versions:
            raise UnknownWorkflow(workflow_id)
        return self._by_key[(workflow_id, max(versions))]

    def __iter__(self) -> Iterator[CompiledWorkflow]:
        return iter(sorted(self._by_key.values(), key=lambda c: c.definition.key))

    def ids(self) -> list[str]:
        """Workflow ids, sorted."""
        return sorted({i for (i, _) in self._by_key})
