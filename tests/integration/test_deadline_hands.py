"""A deadline carries its case's owner and team, so a person's or a team's due list reads in due order.

The copies (migration 0005) must never drift from the case: set when a deadline is written, moved
with the case when it changes hands, and backfilled from the cases on upgrade. Each test runs on
a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from carepath.config.bootstrap import App
from tests.support import Staff

FAR = date(2030, 1, 1)


def _copies_match(app: App) -> list[tuple[object, ...]]:
    """Deadlines whose owner or team differs from their case's (none, when all is well)."""
    with app.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    'SELECT d.id FROM deadline d JOIN "case" c ON c.id = d.case_id '
                    "WHERE d.owner_id IS DISTINCT FROM c.owner_id OR d.team_id IS DISTINCT FROM c.team_id"
                    if app.engine.dialect.name == "postgresql"
                    else 'SELECT d.id FROM deadline d JOIN "case" c ON c.id = d.case_id '
                    "WHERE d.owner_id IS NOT c.owner_id OR d.team_id IS NOT c.team_id"
                )
            )
        )


def test_a_case_changing_hands_moves_its_deadlines_between_lists(app: App, staff: Staff) -> None:
    cw = staff["caseworker"]
    case = app.cases.open_case("sample", cw, on=date(2026, 10, 26), team_id=staff.team_id)
    sm = staff["service_manager"]

    def refs(**kw: int) -> set[str]:
        return {d.case_ref for d in app.reads.deadlines_due(FAR, sm, **kw)}

    assert case.ref in refs(owner_id=cw.id)
    assert case.ref in refs(team_id=staff.team_id)
    assert _copies_match(app) == []

    app.cases.assign(case.ref, staff["team_manager"], owner_id=staff["team_manager"].id, on=date(2026, 10, 27))
    assert case.ref not in refs(owner_id=cw.id)
    assert case.ref in refs(owner_id=staff["team_manager"].id)
    assert _copies_match(app) == []

    # A deadline started after the move (S2, on the application) carries the new owner too.
    tm = staff["team_manager"]
    app.cases.fire(case.ref, "book_visit", tm, on=date(2026, 10, 28))
    app.cases.fire(case.ref, "apply", tm, on=date(2026, 10, 30), facts={"application_on": "2026-10-30"})
    with app.engine.connect() as conn:
        rules = {r for (r,) in conn.execute(text("SELECT rule FROM deadline"))}
    assert "S2" in rules
    assert _copies_match(app) == []
    assert case.ref in refs(owner_id=tm.id)


def test_migration_0005_copies_every_case_s_owner_and_team(app: App, staff: Staff) -> None:
    """Down to 0004 (no copies) and up again: every existing deadline gets its case's owner and team."""
    from alembic import command

    from carepath.storage.migrate import alembic_config

    for i in range(3):
        app.cases.open_case("sample", staff["caseworker"], on=date(2026, 10, 20 + i), team_id=staff.team_id)
    cfg = alembic_config(str(app.engine.url.render_as_string(hide_password=False)))
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    with app.engine.connect() as conn:
        owners = {r for (r,) in conn.execute(text("SELECT DISTINCT owner_id FROM deadline"))}
    assert owners == {staff["caseworker"].id}
    assert _copies_match(app) == []
