"""Load ``<journey>.v<N>.yaml`` files into ``engine.definition.WorkflowDef``.

YAML is parsed with a safe loader that remembers the line of every mapping and refuses
duplicate keys; pydantic checks the shape; ``engine.compiler`` then checks the meaning.
Every fault names the file and line.

Besides states, transitions and deadlines a file may declare ``readiness:`` lists, by kind,
for the guards ``ready_for_panel:<kind>`` and ``stage_complete:<kind>``::

    readiness:
      fostering:
        title: not ready for panel        # opens the guard's sentence
        since: report_completed_on        # optional; fresh items must not predate it
        items:
          - {fact: medical_on, label: Medical report, when: {report_type: full}}
          - {fact: report_authorised_on, label: Report authorised, fresh: true}
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from carepath.engine.compiler import compile_workflow
from carepath.engine.definition import (
    Anchor,
    DeadlineRule,
    Escalation,
    FactSpec,
    Readiness,
    ReadinessItem,
    Reminder,
    StateDef,
    TransitionDef,
    WorkflowDef,
)
from carepath.engine.errors import Problem, WorkflowDefinitionError
from carepath.engine.facts import link_problems
from carepath.engine.registry import WorkflowRegistry
from carepath.workflows.files import FILE_NAME, WORKFLOWS_DIR, workflow_files

__all__ = ["FILE_NAME", "WORKFLOWS_DIR", "load_registry", "load_workflow", "parse_workflow", "workflow_files"]
_NAME = r"^[a-z][a-z0-9_]*$"


class _LineDict(dict[str, Any]):
    line: int | None = None


class _LineList(list[Any]):
    line: int | None = None


#: Limits on one workflow file: its size, how deep its YAML nests, and how many nodes it holds with
#: its aliases expanded (a shared list of hold reasons is fine; a "billion laughs" is not).
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 100_000


def _expanded(node: yaml.Node, depth: int, seen: dict[int, int]) -> int:
    """How many nodes ``node`` stands for with aliases expanded; refused past ``MAX_DEPTH`` or ``MAX_NODES``."""
    if depth > MAX_DEPTH:
        raise yaml.composer.ComposerError(None, None, f"nests deeper than {MAX_DEPTH} levels", node.start_mark)
    if id(node) in seen:
        return seen[id(node)]
    size = 1
    if isinstance(node, yaml.MappingNode):
        size += sum(_expanded(k, depth + 1, seen) + _expanded(v, depth + 1, seen) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size += sum(_expanded(item, depth + 1, seen) for item in node.value)
    if size > MAX_NODES:
        raise yaml.composer.ComposerError(
            None, None, f"expands to more than {MAX_NODES:,} values (aliases repeated too often)", node.start_mark
        )
    seen[id(node)] = size
    return size


class _Loader(yaml.SafeLoader):
    """Safe loader that keeps line numbers, rejects duplicate keys, and bounds nesting and alias expansion."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        depth = getattr(self, "_depth", 0) + 1
        if depth > MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, f"nests deeper than {MAX_DEPTH} levels", mark)
        self._depth = depth
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth - 1

    def construct_document(self, node: yaml.Node) -> Any:
        _expanded(node, 0, {})
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {seen[key]})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        result = _LineDict(super().construct_mapping(node, deep=True))  # type: ignore[arg-type]
        result.line = node.start_mark.line + 1
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> list[Any]:
        result = _LineList(super().construct_sequence(node, deep=True))
        result.line = node.start_mark.line + 1
        return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_sequence)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    line: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _carry_line(cls, data: Any) -> Any:
        line = getattr(data, "line", None)
        if isinstance(data, dict) and line is not None:
            return {**data, "line": line}
        return data


def _names(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _StateModel(_Model):
    label: str
    terminal: bool = False
    meta: dict[str, Any] = Field(default_factory=dict)


class _TransitionModel(_Model):
    trigger: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: list[str]
    dest: str
    label: str = ""
    guards: list[str] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list)
    accepts: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)

    _as_list = field_validator("source", "guards", "requires", "accepts", "roles", mode="before")(
        classmethod(lambda cls, v: _names(v))
    )


class _FactModel(_Model):
    """One fact, declared once: ``{type: date, label: Medical report received, not_before: [x]}``."""

    type: Literal["date", "text", "number", "yes_no", "choice", "user", "users", "case"]
    label: str = Field(min_length=1)
    help: str = ""
    options: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    journey: list[Annotated[str, Field(pattern=_NAME)]] = Field(default_factory=list)
    future: bool = False
    before_opening: bool = False
    not_before: list[Annotated[str, Field(pattern=_NAME)]] = Field(default_factory=list)
    not_after: list[Annotated[str, Field(pattern=_NAME)]] = Field(default_factory=list)
    at_opening: bool = False
    means: str | None = Field(default=None, pattern=_NAME)
    must_be_open: bool = False
    external: bool = False
    back: str | None = Field(default=None, pattern=_NAME)
    unlinked_by: list[Annotated[str, Field(pattern=_NAME)]] = Field(default_factory=list)

    _as_list = field_validator("journey", "not_before", "not_after", "unlinked_by", mode="before")(
        classmethod(lambda cls, v: _names(v))
    )

    @field_validator("options", mode="before")
    @classmethod
    def _options_are_text(cls, v: Any) -> Any:
        if isinstance(v, list) and any(isinstance(x, bool) for x in v):
            raise ValueError("choice options are text: quote yes, no, true and false")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> _FactModel:
        if (self.type == "choice") != bool(self.options):
            raise ValueError("a choice lists its options, and only a choice has options")
        if len(set(self.options)) != len(self.options):
            raise ValueError("a choice lists an option more than once")
        if (self.type == "case") != bool(self.journey):
            raise ValueError("a case fact names its journey, and only a case fact has one")
        dated = self.future or self.before_opening or self.not_before or self.not_after
        if dated and self.type != "date":
            raise ValueError("future, before_opening, not_before and not_after apply to dates only")
        if (self.must_be_open or self.external or self.back or self.unlinked_by) and self.type != "case":
            raise ValueError("must_be_open, external, back and unlinked_by apply to case facts only")
        return self

    def build(self, name: str) -> FactSpec:
        return FactSpec(
            name=name,
            type=self.type,
            label=self.label,
            help=self.help,
            options=tuple(self.options),
            journeys=tuple(self.journey),
            future=self.future,
            before_opening=self.before_opening,
            not_before=tuple(self.not_before),
            not_after=tuple(self.not_after),
            at_opening=self.at_opening,
            means=self.means,
            must_be_open=self.must_be_open,
            external=self.external,
            back=self.back,
            unlinked_by=tuple(self.unlinked_by),
            line=self.line,
        )


class _AnchorModel(_Model):
    enter: str | None = None
    leave: str | None = None
    event: str | None = None
    fact: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _AnchorModel:
        given = [k for k in ("enter", "leave", "event", "fact") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("an anchor names exactly one of enter, leave, event, fact")
        return self

    def build(self) -> Anchor:
        for kind in ("enter", "leave", "event", "fact"):
            name = getattr(self, kind)
            if name:
                return Anchor(kind=kind, name=name)
        raise AssertionError("validated above")


class _ReminderModel(_Model):
    before: str | None = None
    at: str | None = Field(default=None, pattern=r"^\d{1,2}(\.\d+)?%$")

    @model_validator(mode="after")
    def _exactly_one(self) -> _ReminderModel:
        if (self.before is None) == (self.at is None):
            raise ValueError("a reminder is either 'before: <limit>' or 'at: <N>%'")
        return self

    def build(self) -> Reminder:
        if self.at is not None:
            return Reminder(fraction=float(self.at.rstrip("%")) / 100)
        return Reminder(before=self.before)


class _EscalationModel(_Model):
    after: str
    to: list[str]

    _as_list = field_validator("to", mode="before")(classmethod(lambda cls, v: _names(v)))


class _DeadlineModel(_Model):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    label: str
    start: list[_AnchorModel]
    stop: list[_AnchorModel]
    cancel: list[_AnchorModel] = Field(default_factory=list)
    limit: str
    counting: str = Field(default="after", pattern=r"^(after|beginning_with|convention:[a-z0-9_]+)$")
    klass: Literal["STAT", "SG", "NMS", "LOCAL", "DATA", "VERIFY"] = Field(alias="class")
    source: str
    reminders: list[_ReminderModel] = Field(default_factory=list)
    escalation: list[_EscalationModel] = Field(default_factory=list)
    pauses_on_hold: bool = True
    recurs: bool = False
    #: A trigger carepath fires itself when the deadline passes (checked by engine.compiler).
    fires: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")

    @field_validator("start", "stop", "cancel", mode="before")
    @classmethod
    def _anchor_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v


class _ReadinessItemModel(_Model):
    fact: str = Field(pattern=_NAME)
    label: str = Field(min_length=1)
    when: dict[Annotated[str, Field(pattern=_NAME)], list[str]] = Field(default_factory=dict)
    fresh: bool = False

    @field_validator("when", mode="before")
    @classmethod
    def _values_are_text(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        values = {name: given if isinstance(given, list) else [given] for name, given in v.items()}
        if any(isinstance(x, bool) for given in values.values() for x in given):
            raise ValueError("readiness 'when' values are text: quote yes, no, true and false")
        return values

    def build(self) -> ReadinessItem:
        when = tuple((name, tuple(values)) for name, values in self.when.items())
        return ReadinessItem(fact=self.fact, label=self.label, when=when, fresh=self.fresh, line=self.line)


class _ReadinessModel(_Model):
    title: str = Field(min_length=1)
    since: str | None = Field(default=None, pattern=_NAME)
    items: list[_ReadinessItemModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> _ReadinessModel:
        facts = [i.fact for i in self.items]
        twice = sorted({f for f in facts if facts.count(f) > 1})
        if twice:
            raise ValueError(f"readiness items list {', '.join(twice)} more than once")
        if self.since is None and any(i.fresh for i in self.items):
            raise ValueError("a readiness list with fresh items needs 'since' (the fact they must not predate)")
        return self

    def build(self, kind: str) -> Readiness:
        items = tuple(i.build() for i in self.items)
        return Readiness(kind=kind, title=self.title, items=items, since=self.since, line=self.line)


class _WorkflowModel(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    title: str
    description: str = ""
    reference_prefix: str = Field(pattern=r"^[A-Z]{2,5}$")
    initial: str
    close_state: str
    states: dict[str, _StateModel]
    transitions: list[_TransitionModel]
    exit_reasons: dict[str, str]
    deadlines: list[_DeadlineModel] = Field(default_factory=list)
    readiness: dict[Annotated[str, Field(pattern=_NAME)], _ReadinessModel] = Field(default_factory=dict)
    facts: dict[Annotated[str, Field(pattern=_NAME, max_length=80)], _FactModel] = Field(default_factory=dict)


def _line_at(raw: Any, loc: Sequence[int | str]) -> int | None:
    """The line of the deepest node of ``raw`` reachable along ``loc``."""
    line = getattr(raw, "line", None)
    node = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        line = getattr(node, "line", None) or line
    return line


def _transition(t: _TransitionModel) -> TransitionDef:
    return TransitionDef(
        trigger=t.trigger,
        sources=tuple(t.source),
        dest=t.dest,
        label=t.label,
        guards=tuple(t.guards),
        requires=tuple(t.requires),
        accepts=tuple(t.accepts),
        roles=tuple(t.roles),
        line=t.line,
    )


def _deadline(d: _DeadlineModel) -> DeadlineRule:
    return DeadlineRule(
        name=d.name,
        label=d.label,
        start=tuple(a.build() for a in d.start),
        stop=tuple(a.build() for a in d.stop),
        cancel=tuple(a.build() for a in d.cancel),
        limit=d.limit,
        counting=d.counting,
        klass=d.klass,
        source=d.source,
        reminders=tuple(r.build() for r in d.reminders),
        escalations=tuple(Escalation(after=e.after, to=tuple(e.to)) for e in d.escalation),
        pauses_on_hold=d.pauses_on_hold,
        recurs=d.recurs,
        fires=d.fires,
        line=d.line,
    )


def _build(model: _WorkflowModel, file: str) -> WorkflowDef:
    states = {
        name: StateDef(name=name, label=s.label, terminal=s.terminal, meta=s.meta, line=s.line)
        for name, s in model.states.items()
        if name != "line"
    }
    return WorkflowDef(
        id=model.id,
        version=model.version,
        title=model.title,
        description=model.description,
        reference_prefix=model.reference_prefix,
        initial=model.initial,
        close_state=model.close_state,
        states=states,
        transitions=tuple(_transition(t) for t in model.transitions),
        exit_reasons={k: v for k, v in model.exit_reasons.items() if k != "line"},
        deadlines=tuple(_deadline(d) for d in model.deadlines),
        file=file,
        line=model.line,
        readiness={kind: spec.build(kind) for kind, spec in model.readiness.items()},
        facts={name: spec.build(name) for name, spec in model.facts.items()},
    )


def parse_workflow(text: str, file: str = "<memory>") -> WorkflowDef:
    """Parse and shape-check one definition; meaning is checked by the compiler.

    Raises:
        WorkflowDefinitionError: the YAML or its shape is wrong, naming file and line.
    """
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise WorkflowDefinitionError([Problem(file, line, str(exc.problem))]) from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a NUL, a control character)
        line = text.count("\n", 0, exc.position) + 1
        raise WorkflowDefinitionError([Problem(file, line, f"character #x{exc.character:04x} is not allowed")]) from exc
    except (yaml.YAMLError, RecursionError) as exc:
        raise WorkflowDefinitionError([Problem(file, None, f"not readable as YAML ({type(exc).__name__})")]) from exc
    if not isinstance(raw, dict):
        raise WorkflowDefinitionError([Problem(file, 1, "a workflow file is a YAML mapping")])
    for section in ("states", "exit_reasons", "facts"):
        if isinstance(raw.get(section), dict):
            raw[section].pop("line", None)
    try:
        model = _WorkflowModel.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(file, _line_at(raw, err["loc"]), f"{_loc(err['loc'])}: {err['msg']}{_did_you_mean(err)}")
            for err in exc.errors()
        ]
        raise WorkflowDefinitionError(problems) from exc
    return _build(model, file)


#: The keys each part of a file may hold, for "did you mean" on a misspelt one.
_KEYS: tuple[type[_Model], ...] = (
    _WorkflowModel,
    _StateModel,
    _TransitionModel,
    _FactModel,
    _DeadlineModel,
    _AnchorModel,
    _ReminderModel,
    _EscalationModel,
    _ReadinessModel,
    _ReadinessItemModel,
)


def _did_you_mean(err: Any) -> str:
    """For an unknown key, the closest key some part of a journey file takes."""
    if err.get("type") != "extra_forbidden" or not err["loc"]:
        return ""
    key = str(err["loc"][-1])
    known = {
        alias or name for m in _KEYS for name, f in m.model_fields.items() if name != "line" for alias in [f.alias]
    }
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _loc(loc: Iterable[int | str]) -> str:
    return ".".join(str(p) for p in loc if p not in ("function-after", "function-before"))


def load_workflow(path: Path) -> WorkflowDef:
    """Read, parse and name-check one ``<journey>.v<N>.yaml`` file."""
    file = str(path)
    match = FILE_NAME.match(path.name)
    if match is None:
        raise WorkflowDefinitionError(
            [Problem(file, None, "file name must be <journey>.v<N>.yaml, e.g. foster.v1.yaml")]
        )
    if path.stat().st_size > MAX_FILE_BYTES:
        raise WorkflowDefinitionError([Problem(file, None, f"file is larger than {MAX_FILE_BYTES:,} bytes")])
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise WorkflowDefinitionError([Problem(file, line, "is not UTF-8 text")]) from None
    definition = parse_workflow(text, file)
    expected = (match["id"], int(match["version"]))
    if definition.key != expected:
        raise WorkflowDefinitionError(
            [Problem(file, definition.line, f"id/version {definition.key} do not match the file name {expected}")]
        )
    return definition


def load_registry(directory: Path = WORKFLOWS_DIR, conventions: Mapping[str, str] | None = None) -> WorkflowRegistry:
    """Load and compile every definition in ``directory``; all problems at once."""
    registry = WorkflowRegistry()
    problems: list[Problem] = []
    for path in workflow_files(directory):
        try:
            registry.add(compile_workflow(load_workflow(path), conventions=conventions))
        except WorkflowDefinitionError as exc:
            problems.extend(exc.problems)
    known = set(registry.ids())
    for workflow_id in sorted(known):
        d = registry.latest(workflow_id).definition
        for spec in d.facts.values():
            for journey in (j for j in spec.journeys if j not in known):
                problems.append(Problem(d.file, spec.line, f"fact {spec.name!r} links to unknown journey {journey!r}"))
    if not problems:  # links both ways and follow-on cases, across journeys (engine.facts.link_problems)
        latest = {w: registry.latest(w).definition for w in known}
        problems.extend(Problem(file, line, text) for file, line, text in link_problems(latest))
    if problems:
        raise WorkflowDefinitionError(problems)
    return registry
