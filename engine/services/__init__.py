"""The application services: every command, read or write, enters carepath through one of these."""

from __future__ import annotations

from carepath.engine.services.admin import CalendarService, MailService, PeopleService, write_audit
from carepath.engine.services.cases import Action, CaseService, Who, resolve_actor
from carepath.engine.services.panels import PanelService
from carepath.engine.services.timers import SweepResult, TimerService

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
