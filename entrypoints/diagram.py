"""Mermaid diagrams of journeys, drawn by transitions' ``GraphMachine``."""

from __future__ import annotations

import json
from typing import Any

from transitions.extensions import GraphMachine

from carepath.engine.definition import WorkflowDef


class _Model:
    pass


def mermaid(definition: WorkflowDef) -> str:
    """The journey as a mermaid ``stateDiagram-v2`` with state labels and guard names."""
    transitions: list[dict[str, Any]] = []
    for t in definition.transitions:
        label = t.trigger + (f" [{', '.join(t.guards)}]" if t.guards else "")
        transitions.extend({"trigger": label, "source": s, "dest": t.dest} for s in t.sources)
    machine = GraphMachine(
        model=None,
        states=list(definition.states),
        initial=definition.initial,
        transitions=transitions,
        graph_engine="mermaid",
        auto_transitions=False,
        title=f"{definition.title} (v{definition.version})",
    )
    model = _Model()
    machine.add_model(model)
    text: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
    for name, state in definition.states.items():
        text = text.replace(f'state "{name}" as {name}\n', f'state "{state.label}" as {name}\n')
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("Class ", "classDef "))]
    if lines[:1] == ["---"] and len(lines) > 2 and lines[2] == "---":
        # transitions writes the bare title; mermaid front matter needs "title: ..." (YAML)
        lines[1] = "title: " + json.dumps(lines[1])
    terminal = [n for n, s in definition.states.items() if s.terminal]
    lines.extend(f"  {n} --> [*]" for n in terminal)
    return "\n".join(lines) + "\n"
