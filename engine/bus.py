"""The message bus: hands each domain event a unit of work collected to its handlers.

Assembled once in ``config.bootstrap``; the unit of work calls ``publish`` just before it
commits, so handlers run inside the transaction of the change that caused the event. A
handler may record further events on the same transaction; they are handled in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from carepath.engine.events import DomainEvent


class Collects(Protocol):
    """What the bus needs of a transaction: the events recorded on it, taken once."""

    def take_events(self) -> list[DomainEvent]:
        """The events recorded since the last call, in order; the list is then empty."""
        ...


#: A handler receives the event and the transaction it was recorded on.
Handler = Callable[[Any, Any], None]


class MessageBus:
    """Routes domain events to handlers by exact type."""

    def __init__(self, handlers: Mapping[type[DomainEvent], Sequence[Handler]] | None = None) -> None:
        self.handlers: dict[type[DomainEvent], tuple[Handler, ...]] = {
            kind: tuple(hs) for kind, hs in (handlers or {}).items()
        }

    def publish(self, tx: Collects) -> int:
        """Handle every event recorded on ``tx`` (and any its handlers record); returns how many."""
        handled = 0
        events = tx.take_events()
        while events:
            for event in events:
                for handler in self.handlers.get(type(event), ()):
                    handler(event, tx)
                handled += 1
            events = tx.take_events()
        return handled
