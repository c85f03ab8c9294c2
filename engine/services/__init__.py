"""The application services: every command, read or write, enters carepath through one of these.

The names below are imported on first use (PEP 562), so that a module that needs one service
(``carepath case show`` needs only ``engine.services.reads``) does not import all of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carepath.engine.services.admin import CalendarService, MailService, PeopleService, write_audit
    from carepath.engine.services.cases import Action, CaseService, Who, resolve_actor
    from carepath.engine.services.panels import PanelService
    from carepath.engine.services.timers import SweepResult, TimerService

#: Each exported name and the module that defines it.
_HOME = {
    "CalendarService": "admin",
    "MailService": "admin",
    "PeopleService": "admin",
    "write_audit": "admin",
    "Action": "cases",
    "CaseService": "cases",
    "Who": "cases",
    "resolve_actor": "cases",
    "PanelService": "panels",
    "SweepResult": "timers",
    "TimerService": "timers",
}

__all__ = [
    "Action",
    "CalendarService",
    "CaseService",
    "MailService",
    "PanelService",
    "PeopleService",
    "SweepResult",
    "TimerService",
    "Who",
    "resolve_actor",
    "write_audit",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
