"""Read models: one module per reader (caseload, history, deadlines, mail, panels, people).

The CLI, the web app and reports share them; the application's read service
(``engine.services.reads``) authorizes each read and scopes lists to what the actor may see.
No SQL outside ``storage``.
"""

from __future__ import annotations

from carepath.storage.queries.caseload import CaseloadQueries
from carepath.storage.queries.deadlines import DeadlineQueries
from carepath.storage.queries.history import HistoryQueries
from carepath.storage.queries.mail import MailQueries
from carepath.storage.queries.panels import PanelQueries

__all__ = ["CaseloadQueries", "DeadlineQueries", "HistoryQueries", "MailQueries", "PanelQueries"]
