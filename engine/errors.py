"""Every error carepath raises on purpose derives from ``CarepathError``.

::

    CarepathError
    ├── WorkflowDefinitionError   # load/compile time: .problems (file, line, message)
    ├── UnknownWorkflow(LookupError)
    ├── CaseNotFound(LookupError)
    ├── NotFound(LookupError)     # users, teams, overrides, messages
    ├── InvalidInput(ValueError)  # a value typed by a person: a date, a limit, key=value
    ├── TransitionRejected        # .case_ref .trigger .state
    │   └── GuardFailed           # .reasons
    ├── NotPermitted              # .actor .command .detail: engine.policy or a move's roles refuse
    └── ConcurrencyConflict       # stale version; reload and retry

Entrypoints map these to results: the CLI exits with code 2 and prints the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def shown(value: object, limit: int = 80) -> str:
    """``value`` quoted for a message: control characters escaped, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


class CarepathError(Exception):
    """Root of every deliberate carepath error."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a workflow definition, located in its file."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


class WorkflowDefinitionError(CarepathError):
    """A workflow definition is invalid; ``problems`` lists every fault found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnknownWorkflow(CarepathError, LookupError):
    """No workflow with that id (and version) is loaded."""

    def __init__(self, workflow_id: str, version: int | None = None) -> None:
        self.workflow_id = workflow_id
        self.version = version
        what = workflow_id if version is None else f"{workflow_id} v{version}"
        super().__init__(f"unknown workflow {what!r}")


class CaseNotFound(CarepathError, LookupError):
    """No case has that reference."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(f"no case with reference {shown(ref)}")


class NotFound(CarepathError, LookupError):
    """A named thing (user, team, override, message) does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {shown(key)}")


class InvalidInput(CarepathError, ValueError):
    """A value given by a person cannot be used; the message names it."""


class TransitionRejected(CarepathError):
    """A move on a case was refused; nothing was written."""

    def __init__(self, case_ref: str, trigger: str, state: str, detail: str) -> None:
        self.case_ref = case_ref
        self.trigger = trigger
        self.state = state
        self.detail = detail
        super().__init__(f"{case_ref}: cannot {trigger!r} from state {state!r}: {detail}")


class GuardFailed(TransitionRejected):
    """A guard's condition is unmet; ``reasons`` says which."""

    def __init__(self, case_ref: str, trigger: str, state: str, reasons: Sequence[str]) -> None:
        self.reasons = list(reasons)
        super().__init__(case_ref, trigger, state, "; ".join(self.reasons))


class NotPermitted(CarepathError):
    """The actor may not run this command (or make this move); ``detail`` says why."""

    def __init__(self, actor: str, command: str, detail: str) -> None:
        self.actor = actor
        self.command = command
        self.detail = detail
        super().__init__(f"{actor} may not {command}: {detail}")


class ConcurrencyConflict(CarepathError):
    """The case changed since it was read; reload it and try again."""

    def __init__(self, case_ref: str, expected: int, actual: int | None = None) -> None:
        self.case_ref = case_ref
        self.expected = expected
        self.actual = actual
        seen = "" if actual is None else f", it is now at version {actual}"
        super().__init__(
            f"{case_ref}: changed by someone else (expected version {expected}{seen}); reload and try again"
        )
