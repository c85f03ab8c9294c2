"""``carepath demo``: seed a realistic demo caseload and take a short tour of it."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from carepath.entrypoints.common import Typer, get_app
from carepath.entrypoints.output import emit_json, table

if TYPE_CHECKING:  # the demo's generator is imported by the demo commands only
    from carepath.entrypoints.demo import Summary

demo_app = Typer(help="A demo caseload with obviously fictional households and children.")


@demo_app.command("seed")
def demo_seed(
    households: Annotated[int, typer.Option(help="Households making enquiries over two years.")] = 300,
    children: Annotated[int, typer.Option(help="Children on the adoption pathway.")] = 40,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed (same seed and day, same caseload).")] = 1,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if any case exists.")] = False,
) -> None:
    """Generate cases through the real service: two years of enquiries ending today."""
    from carepath.entrypoints.demo import case_count, check_sizes, seed, sign_in_lines, summarise
    from carepath.entrypoints.demo.gateway import DEMO_ADMIN, Gateway

    check_sizes(households, children)
    a = get_app()
    existing = case_count(a)
    if if_empty and existing:
        typer.echo(f"demo seed: the database already has {existing} case(s); nothing added")
        typer.echo("\n".join(sign_in_lines(a.settings.base_url)))
        return
    result = seed(a, households=households, children=children, seed_value=seed_value)
    for journey in result.skipped:
        typer.echo(f"skipped {journey}: journey not loaded")
    opened = ", ".join(f"{j} {n}" for j, n in sorted(result.opened.items()))
    typer.echo(f"opened {sum(result.opened.values())} case(s): {opened}")
    typer.echo(f"booked {result.panels} panel sitting(s); sweep raised {result.swept} timer(s)")
    pending = Gateway(a).pending_mail()
    typer.echo(f"{pending} email(s) queued (notices and alerts since the first enquiry); `carepath run` sends them")
    _print_summary(summarise(a))
    if result.problems:
        typer.echo(f"{len(result.problems)} move(s) refused by the service (first 5):")
        for p in result.problems[:5]:
            typer.echo(f"  {p}")
    typer.echo(f"took {result.seconds:.1f} s")
    typer.echo(
        f"work as the demo's people: export CAREPATH_USER={Gateway.reader()} (a service manager, reads every case);"
        f" administrator {DEMO_ADMIN[0]}; everyone: `carepath users list --by {DEMO_ADMIN[0]}`"
    )
    typer.echo("\n".join(sign_in_lines(a.settings.base_url)))


@demo_app.command("show")
def demo_show(
    by: Annotated[str | None, typer.Option("--by", help="Who reads it (default: the demo's service manager).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """A short tour: counts by journey and state, one case's history and deadlines."""
    from carepath.entrypoints.cli import case_history, case_show
    from carepath.entrypoints.cli_clock import case_deadlines
    from carepath.entrypoints.demo import case_count, sample_case, summarise
    from carepath.entrypoints.demo.gateway import Gateway

    a = get_app()
    if json_:
        emit_json(_show_json(by))
        return
    if not case_count(a):
        typer.echo("no cases yet: run `carepath demo seed`")
        return
    gateway = Gateway(a)
    typer.echo(f"demo caseload as of {gateway.today().isoformat()}\n")
    _print_summary(summarise(a))
    ref = sample_case(a)
    if ref is None:
        return
    typer.echo(f"\n-- a sample case: {ref} --")
    reader = by or a.settings.user or gateway.reader()
    case_show(ref, by=reader)
    typer.echo("\nHistory:")
    case_history(ref, by=reader)
    typer.echo("\nDeadlines:")
    case_deadlines(ref, by=reader)
    typer.echo(f"\nMore: carepath case actions {ref} --by <email>; carepath deadlines due; carepath users list")


def _show_json(by: str | None) -> dict[str, Any]:
    """``demo show --json``: ``as_of``, the ``summary`` and a ``sample`` case (``null`` with no cases) with
    its ``history`` and ``deadlines``, each noun in its documented shape (docs/json.md)."""
    from carepath.entrypoints.cli import case_json_of, history_json
    from carepath.entrypoints.cli_clock import deadline_rows
    from carepath.entrypoints.demo import case_count, sample_case, summarise
    from carepath.entrypoints.demo.gateway import Gateway

    a = get_app()
    gateway = Gateway(a)
    out: dict[str, Any] = {"as_of": gateway.today().isoformat(), "summary": None, "sample": None}
    if not case_count(a):
        return out
    summary = asdict(summarise(a))
    rows = summary["by_state"]
    summary["by_state"] = [{"workflow": r["journey"], "state": r["state"], "cases": r["cases"]} for r in rows]
    out["summary"] = summary
    ref = sample_case(a)
    if ref is not None:
        reader = by or a.settings.user or gateway.reader()
        out["sample"] = {
            "case": case_json_of(ref, reader),
            "history": history_json(ref, reader),
            "deadlines": deadline_rows(ref, reader),
        }
    return out


def _print_summary(s: Summary) -> None:
    table(s.by_state, ["journey", "state", "cases"])
    typer.echo(f"\n{s.cases} case(s); {s.on_hold} on hold")
    for journey, rate in s.conversion.items():
        typer.echo(f"{journey}: {rate:.0%} of enquiries reached application")
    if s.approvals_within_8_months is not None:
        typer.echo(f"{s.approvals} approval(s); {s.approvals_within_8_months:.0%} within 8 months of application")
    typer.echo(f"deadlines breached: {s.breached_open} open past due, {s.met_late} met late")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the ``carepath`` command."""
    app.add_typer(demo_app, name="demo")
