"""A realistic demo caseload, generated through the real write path (``CaseService``).

Nothing is inserted directly: people and teams go through ``People``, panel sittings through
the panel calendar, and every case change through ``CaseService``, with an injected
``FixedClock`` that moves forward as the simulation does. Enquiries arrive over the two years
before today; each case walks its journey as the YAML declares it. The modules:

- ``scenario``: the service, its people, journeys, partner moves and fictional names;
- ``tuning``: per-journey stays, drop-out and hold rates, chances of alternative moves;
- ``definitions``: what a walk reads from a journey's definition;
- ``arrivals``: the households and children arriving over the window;
- ``org``: the demo users, teams and panel sittings;
- ``walk``, ``planning``, ``walker``: one case's walk (what it may do, its plan, its moves);
- ``facts``: synthetic values for the facts a move requires;
- ``participants``: the people each case is about, added as it opens (their own random source);
- ``seeder``: every walk in date order under one clock, partner cases kept in step;
- ``seeding``: ``carepath demo seed``; ``report``: the counts ``carepath demo show`` prints;
- ``gateway``: the one module that calls the application.
"""

from __future__ import annotations

from carepath.entrypoints.demo.report import Summary, case_count, sample_case, sign_in_lines, summarise
from carepath.entrypoints.demo.scenario import ADOPTER, CARER, CHILD, CONNECTED, DOMAIN, FOSTER
from carepath.entrypoints.demo.seeding import SeedResult, check_sizes, seed

__all__ = [
    "ADOPTER",
    "CARER",
    "CHILD",
    "CONNECTED",
    "DOMAIN",
    "FOSTER",
    "SeedResult",
    "Summary",
    "case_count",
    "check_sizes",
    "sample_case",
    "seed",
    "sign_in_lines",
    "summarise",
]
