"""``carepath demo seed``: generate the caseload through the real write path, ending today.

Nothing is inserted directly: the simulation runs on a ``FixedClock`` from before the first
arrival to today, and its last act is the sweep that raises the timers due by now, so the
historical notices and the sweep's alerts are in the outbox and ``carepath run`` sends
mail at once.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime

from carepath.config.bootstrap import App
from carepath.engine.clock import LONDON, FixedClock
from carepath.engine.errors import InvalidInput
from carepath.entrypoints.demo.arrivals import arrivals
from carepath.entrypoints.demo.gateway import Gateway
from carepath.entrypoints.demo.org import book_panels, build_org, seat_panels, seed_panel_members
from carepath.entrypoints.demo.scenario import CARER, CHILD, CHILD_HEAD_START, HOUSEHOLD_SHARE, WINDOW_DAYS
from carepath.entrypoints.demo.seeder import Seeder

#: Cases that became ready for panel in the last week wait in the coordinator's queue, unbooked.
LEFT_FOR_COORDINATOR_DAYS = 7

#: Journeys the demo walks; others loaded are left without cases.
WANTED = frozenset({*HOUSEHOLD_SHARE, CARER, CHILD})


@dataclass
class SeedResult:
    """What a seed run did.

    Attributes:
        opened: cases opened, by journey.
        skipped: journeys the demo walks that are not loaded.
        problems: moves the service refused.
        steps: steps walked.
        panels: panel sittings booked.
        swept: timers the final sweep raised.
        seconds: how long it took.
    """

    opened: Counter[str]
    skipped: list[str]
    problems: list[str]
    steps: int
    panels: int
    swept: int
    seconds: float = 0.0


def check_sizes(households: int, children: int) -> None:
    """Refuse sizes that make no sense.

    Raises:
        InvalidInput: a negative size, or nothing to seed.
    """
    if households < 0 or children < 0:
        raise InvalidInput("--households and --children must be zero or more")
    if households + children == 0:
        raise InvalidInput("nothing to seed: give --households or --children")


def seed(app: App, *, households: int, children: int, seed_value: int) -> SeedResult:
    """Generate the demo caseload through ``app``'s services, ending today.

    Args:
        app: the wired application; its clock says what "today" is.
        households: fostering, connected-person and adopter households to generate.
        children: children to walk through the adoption pathway.
        seed_value: random seed; the same seed and today give the same caseload.

    Returns:
        What was opened, skipped journeys and any refused moves.
    """
    started = time.perf_counter()
    real = Gateway(app)
    now, today = real.now(), real.today()
    start = today - timedelta(days=WINDOW_DAYS + CHILD_HEAD_START)
    clock = FixedClock(datetime.combine(start - timedelta(days=30), dtime(9), LONDON))
    sim = Gateway.simulation(app, clock)
    org = build_org(sim, sim.administrator())
    seeder = Seeder(sim, clock, org, today, seed_value, now)
    sim.leave_ready_from = today - timedelta(days=LEFT_FOR_COORDINATOR_DAYS)
    panels = book_panels(sim, start - timedelta(days=30), today + timedelta(days=365), sim.coordinator())
    seated = seed_panel_members(sim, sim.coordinator())
    seat_panels(sim, today, seated, sim.coordinator())  # who sat at each past sitting: a quorum to recommend
    loaded = set(real.journeys())
    for a in arrivals(seeder.rng, today, households, children, loaded & WANTED):
        seeder.add(a)
    seeder.run()
    clock.set(now)
    sim.cancel_empty_sittings(today, "no case was ready for this sitting")
    return SeedResult(
        opened=seeder.opened,
        skipped=sorted(WANTED - loaded),
        problems=seeder.problems,
        steps=sum(w.steps for w in seeder.walkers),
        panels=panels,
        swept=sim.sweep(),
        seconds=time.perf_counter() - started,
    )
