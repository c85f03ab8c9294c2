"""The generated parts of docs/journeys.md: each journey's diagram and its timescale table, and the
table of fact names the journeys share (``facts:shared``).

The document marks each part with ``<!-- BEGIN <kind>:<journey> -->`` and ``<!-- END ... -->``;
tests check the text between the markers is what the journeys give today, and
``.venv/bin/python -m tests.workflows.docs_blocks`` rewrites it after a journey changes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from carepath.engine.definition import DeadlineRule, WorkflowDef
from carepath.entrypoints.diagram import mermaid
from carepath.workflows.loader import WORKFLOWS_DIR, load_registry, load_workflow, workflow_files

DOC = Path(__file__).resolve().parents[2] / "docs" / "journeys.md"
MARKER = re.compile(r"<!-- BEGIN (?P<key>[a-z]+:[a-z0-9_]+) -->\n(?P<body>.*?)<!-- END (?P=key) -->", re.S)


def _counting(rule: DeadlineRule) -> str:
    if rule.limit.strip().startswith("-"):
        return "counted back"
    if rule.counting.startswith("convention:"):
        return f"{rule.counting} (setting)"
    return rule.counting.replace("_", " ")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def timescale_table(journey: str) -> str:
    """The journey's timescales as a markdown table (counting as written in the YAML)."""
    path = next(p for p in workflow_files(WORKFLOWS_DIR) if load_workflow(p).id == journey)
    rows = ["| Rule | Label | Limit | Counting | Class | Source |", "| --- | --- | --- | --- | --- | --- |"]
    rows += [
        f"| {r.name} | {_cell(r.label)} | {r.limit} | {_counting(r)} | {r.klass} | {_cell(r.source)} |"
        for r in load_workflow(path).deadlines
    ]
    return "\n".join(rows) + "\n"


def shared_facts_table(definitions: list[WorkflowDef]) -> str:
    """Facts the journeys share: a name declared by two or more journeys, or named by a fact's ``means``.

    Each row gives the shared name, its type, the journeys that use the name itself, and the
    qualified names that mean it (a child's case has two panels, so its names carry a prefix).
    """
    own: dict[str, list[str]] = defaultdict(list)
    qualified: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    types: dict[str, set[str]] = defaultdict(set)
    for d in sorted(definitions, key=lambda d: d.id):
        for spec in d.facts.values():
            own[spec.name].append(d.id)
            types[spec.name].add(spec.type)
            if spec.means:
                qualified[spec.means][spec.name].append(d.id)
    rows = [
        "| Shared name | Type | Journeys using the name | Same thing under another name |",
        "| --- | --- | --- | --- |",
    ]
    for name in sorted(n for n in own if len(own[n]) > 1 or n in qualified):
        kind = "/".join(sorted(types[name]))
        others = "; ".join(f"`{n}` ({', '.join(ids)})" for n, ids in sorted(qualified[name].items())) or "-"
        rows.append(f"| `{name}` | {kind} | {', '.join(own[name])} | {others} |")
    return "\n".join(rows) + "\n"


def blocks() -> dict[str, str]:
    """Every generated block by key (``diagram:<id>``, ``timescales:<id>``, ``facts:shared``)."""
    registry = load_registry()
    out: dict[str, str] = {}
    for journey in registry.ids():
        out[f"diagram:{journey}"] = "```mermaid\n" + mermaid(registry.latest(journey).definition) + "```\n"
        out[f"timescales:{journey}"] = timescale_table(journey)
    out["facts:shared"] = shared_facts_table([registry.latest(j).definition for j in registry.ids()])
    return out


def found(text: str) -> dict[str, str]:
    """The generated blocks as the document has them."""
    return {m["key"]: m["body"] for m in MARKER.finditer(text)}


def sync(text: str) -> str:
    """``text`` with every marked block replaced by today's rendering."""
    fresh = blocks()
    return MARKER.sub(lambda m: f"<!-- BEGIN {m['key']} -->\n{fresh[m['key']]}<!-- END {m['key']} -->", text)


if __name__ == "__main__":
    DOC.write_text(sync(DOC.read_text(encoding="utf-8")), encoding="utf-8")
