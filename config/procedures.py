"""A LOCAL rule's source names this council's own procedure (``CAREPATH_LOCAL_PROCEDURES``).

A ``LOCAL`` timescale is the council's own target or practice, so its source is the council's
procedure, not another council's. The shipped journeys give LOCAL rules a neutral source
("local procedure"); a council names its own with the setting, a JSON object whose keys are

- ``<journey>.<rule>`` (``foster_carer_approval.FS1``): that rule of that journey;
- ``<rule>`` (``FS1``): the rule of that name in every journey that has it;
- ``*``: every other LOCAL rule,

and whose values are the text to cite, e.g.
``CAREPATH_LOCAL_PROCEDURES='{"*": "Anytown fostering procedures", "FS17": "Anytown fostering procedures 7.3"}'``.
The most specific key wins. The source is replaced in the compiled journeys when the
application starts, so emails, ``carepath case deadlines``, ``carepath workflows show`` and the
timer notices on a case's history all cite the same text. Only LOCAL rules can be renamed: a key
that names no LOCAL rule, or a text that is empty, over 200 characters or more than one line, is
refused when carepath starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from carepath.engine.errors import InvalidInput
from carepath.engine.registry import WorkflowRegistry

if TYPE_CHECKING:
    from carepath.engine.compiler import CompiledWorkflow
    from carepath.engine.definition import DeadlineRule

SETTING = "CAREPATH_LOCAL_PROCEDURES"
EVERY = "*"
MAX_SOURCE = 200


def _checked(key: str, text: object) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{SETTING}: the source for {key!r} must be text")
    if not text.isprintable() or not text.strip():
        raise InvalidInput(f"{SETTING}: the source for {key!r} must be one line of text, not empty")
    if len(text) > MAX_SOURCE:
        raise InvalidInput(f"{SETTING}: the source for {key!r} is over {MAX_SOURCE} characters")
    return " ".join(text.split())


def local_source(workflow_id: str, rule: DeadlineRule, procedures: Mapping[str, str]) -> str:
    """The source to cite for ``rule`` of journey ``workflow_id``: the council's, else the journey's own."""
    if rule.klass != "LOCAL":
        return rule.source
    for key in (f"{workflow_id}.{rule.name}", rule.name, EVERY):
        if key in procedures:
            return procedures[key]
    return rule.source


def with_local_procedures(registry: WorkflowRegistry, procedures: Mapping[str, str]) -> WorkflowRegistry:
    """``registry`` with each LOCAL rule's source replaced by the council's procedure, if one is set.

    Raises:
        InvalidInput: a key names no LOCAL rule of these journeys, or a text is not one short line.
    """
    if not procedures:
        return registry
    checked = {str(key): _checked(str(key), text) for key, text in procedures.items()}
    local = {
        name
        for compiled in registry
        for rule in compiled.definition.deadlines
        if rule.klass == "LOCAL"
        for name in (rule.name, f"{compiled.definition.id}.{rule.name}")
    }
    unknown = sorted(k for k in checked if k != EVERY and k not in local)
    if unknown:
        names = ", ".join(sorted(n for n in local if "." not in n)) or "none"
        raise InvalidInput(f"{SETTING}: {', '.join(map(repr, unknown))} names no LOCAL rule (LOCAL rules: {names})")
    return WorkflowRegistry(_renamed(compiled, checked) for compiled in registry)


def _renamed(compiled: CompiledWorkflow, procedures: Mapping[str, str]) -> CompiledWorkflow:
    definition = compiled.definition
    rules = tuple(
        dataclasses.replace(rule, source=local_source(definition.id, rule, procedures)) for rule in definition.deadlines
    )
    if rules == definition.deadlines:
        return compiled
    return dataclasses.replace(compiled, definition=dataclasses.replace(definition, deadlines=rules))
