"""``carepath users set-password | first-admin | tokens`` and ``carepath case viewers``: signing in from the CLI's side.

Passwords are read from a hidden prompt (typed twice) or, with ``--password-stdin``, from the
first line of standard input (for scripts); never from an option, which would leave them in the
shell's history and the process list. Who may do what is ``engine.services.accounts``'s.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from carepath.engine.clock import LONDON
from carepath.engine.errors import InvalidInput
from carepath.engine.text import ID_MAX
from carepath.entrypoints.common import Typer, get_app, who
from carepath.entrypoints.output import emit_json, table
from carepath.entrypoints.paging import DEFAULT_LIMIT, After, Limit, emit_page

if TYPE_CHECKING:
    from datetime import datetime

tokens_app = Typer(help="Personal API tokens: issue, list, revoke.")

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
By = Annotated[str | None, typer.Option("--by", help="Acting user's email (default $CAREPATH_USER).")]
Stdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    first = typer.prompt("New password", hide_input=True, err=True)
    again = typer.prompt("Repeat it", hide_input=True, err=True)
    if first != again:
        raise InvalidInput("the two passwords typed differ; nothing was changed")
    return str(first)


def _local(at: datetime | None) -> str | None:
    """A stored time as London's clock shows it, to the minute."""
    return at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M") if at is not None else None


def set_password(
    email: Annotated[str, typer.Argument(help="Whose password (yours, or anyone's for an administrator).")],
    by: By = None,
    password_stdin: Stdin = False,
) -> None:
    """Set a user's password (12 to 128 characters); their signed-in sessions end."""
    acting = who(by)
    get_app().accounts.set_password(email, read_password(password_stdin), acting)
    typer.echo(f"password set for {email.strip().lower()}; their sessions have ended")


def first_admin(
    email: Annotated[str, typer.Argument(help="The administrator's email (a new or an existing user).")],
    name: Annotated[str, typer.Option("--name", help="Display name (for a new user).")],
    password_stdin: Stdin = False,
) -> None:
    """Make the first administrator who can sign in (refused once one exists)."""
    a = get_app()
    a.accounts.first_admin(email, name, read_password(password_stdin))
    typer.echo(f"{email.strip().lower()} is an administrator; sign in at {a.settings.base_url}")


@tokens_app.command("issue")
def tokens_issue(
    name: Annotated[str, typer.Argument(help="What the token is for (at most 80 characters).")],
    by: By = None,
    json_: Json = False,
) -> None:
    """Issue yourself a personal API token; it is printed once and never again."""
    token_id, raw = get_app().accounts.issue_token(who(by), name)
    if json_:
        emit_json({"id": token_id, "name": name.strip(), "token": raw})
        return
    typer.echo(f"issued API token {token_id}; copy it now, it is not shown again:", err=True)
    typer.echo(raw)


@tokens_app.command("list")
def tokens_list(by: By = None, json_: Json = False) -> None:
    """List your API tokens (never their values)."""
    tokens = get_app().accounts.tokens(who(by))
    if json_:
        emit_json({"items": tokens})
        return
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "created": _local(t.created_at),
            "last_used": _local(t.last_used_at),
            "revoked": _local(t.revoked_at),
        }
        for t in tokens
    ]
    table(rows, ["id", "name", "created", "last_used", "revoked"])


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(min=1, max=ID_MAX, help="The token's id (`tokens list`).")],
    by: By = None,
) -> None:
    """Revoke one of your API tokens (an administrator: anyone's)."""
    get_app().accounts.revoke_token(token_id, who(by))
    typer.echo(f"revoked API token {token_id}")


def case_viewers(
    ref: str, limit: Limit = DEFAULT_LIMIT, after: After = None, by: By = None, json_: Json = False
) -> None:
    """Who viewed a case, newest first (administrators)."""
    page = get_app().accounts.viewers(ref, who(by), limit=limit, after=after)
    rows = [
        {"viewed_at": v.viewed_at if json_ else _local(v.viewed_at), "by": v.email, "what": v.what, "via": v.via}
        for v in page
    ]
    emit_page(page, rows, ["viewed_at", "by", "what", "via"], json_)


def register(users_app: typer.Typer, case_app: typer.Typer) -> None:
    """Add ``set-password``, ``first-admin`` and ``tokens`` to ``users``, and ``viewers`` to ``case``."""
    users_app.command("set-password")(set_password)  # our Typers: errors map to exit 2
    users_app.command("first-admin")(first_admin)
    users_app.add_typer(tokens_app, name="tokens")
    case_app.command("viewers")(case_viewers)


__all__ = ["register"]
