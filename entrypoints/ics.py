"""Panel sittings as an iCalendar (RFC 5545) file, built with the icalendar library (issue 12 point 6).

One VEVENT per sitting: a stable UID (``panel-sitting-<id>@carepath``, so a subscribed calendar
updates an event in place), the day (with the start time in Europe/London when one is set, three
hours long; otherwise all day), the place, STATUS CANCELLED for a cancelled sitting, and a
description with the papers date and how many cases are booked. No case references and no names:
a calendar travels further than the agenda.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar, Event

from carepath.engine.clock import LONDON

#: How long a sitting with a start time is shown for.
SITTING_LENGTH = timedelta(hours=3)
PRODID = "-//carepath//panel sittings//EN"


def sittings_ics(sittings: Iterable[Any], *, name: str, stamped_at: datetime) -> bytes:
    """An iCalendar file of ``sittings`` (``engine.services.panels.SittingView``), called ``name``.

    ``stamped_at`` (an aware instant, from the clock) is every event's DTSTAMP.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for s in sittings:
        event = Event()
        event.add("uid", f"panel-sitting-{s.id}@carepath")
        event.add("dtstamp", stamped_at)
        if s.starts_at is not None:
            start = datetime.combine(s.day, s.starts_at, LONDON)
            event.add("dtstart", start)
            event.add("dtend", start + SITTING_LENGTH)
        else:
            event.add("dtstart", s.day)
            event.add("dtend", s.day + timedelta(days=1))
        event.add("summary", f"{s.panel_type.capitalize()} panel")
        if s.place:
            event.add("location", s.place)
        event.add("status", "CANCELLED" if s.status == "cancelled" else "CONFIRMED")
        described = f"Papers to members by {s.papers_due_on.isoformat()}; {s.booked} of {s.capacity} cases booked."
        event.add("description", described)
        cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
