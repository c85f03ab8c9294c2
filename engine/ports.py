"""What the engine needs from storage, as Protocols. ``storage`` implements them."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from engine.case import Case, Event
from engine.deadlines import Deadline
from engine.timers import Timer


class Transaction(Protocol):
    """One write transaction; everything in it commits together or not at all."""

    def case_for_update(self, ref: str) -> Case:
        """The case with ``ref``, locked for writing. Raises ``CaseNotFound``."""
        ...

    def events(self, case_id: int) -> list[Event]:
        """The whole history of a case in sequence order."""
        ...

    def next_reference(self, prefix: str, year: int) -> str:
        """A fresh reference such as ``FC-2026-0001``, unique across cases."""
        ...

    def add_case(self, case: Case) -> int:
        """Insert a new case; returns its id."""
        ...

    def save_case(self, case: Case, expected_version: int) -> None:
        """Write ``case`` if its stored version is ``expected_version``.

        Raises ``ConcurrencyConflict`` otherwise.
        """
        ...

    def add_event(self, event: Event) -> None:
        """Append one event."""
        ...

    def deadlines(self, case_id: int) -> list[Deadline]:
        """Every deadline of a case."""
        ...

    def save_deadlines(
        self,
        case_id: int,
        deadlines: Sequence[Deadline],
        timers: Sequence[Timer],
        *,
        replace_all: bool,
    ) -> None:
        """Upsert changed deadlines and re-plan their pending timers.

        With ``replace_all`` the given deadlines are the whole set; others are removed.
        """
        ...


class UnitOfWork(Protocol):
    """Hands out write transactions."""

    def transaction(self) -> AbstractContextManager[Transaction]:
        """Begin a write transaction; commit on clean exit, roll back on error."""
        ...
