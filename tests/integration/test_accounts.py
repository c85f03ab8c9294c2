"""Signing in, sessions, passwords, API tokens and the read audit (``AccountService``), on SQLite and PostgreSQL.

Time moves only by the test's ``FixedClock``; argon2id runs with cheap parameters
(``config.passwords.CHEAP``), so the suite stays fast while hashing for real.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from carepath.config import passwords
from carepath.config.bootstrap import App
from carepath.engine.clock import FixedClock
from carepath.engine.errors import CaseNotFound, InvalidInput, NotFound, NotPermitted
from carepath.engine.services.accounts import AccountService, SignInRefused
from carepath.storage.tables import API_TOKENS, AUDIT, USERS, WEB_SESSIONS
from tests.support import ADMIN, Staff, email_for

PASSWORD = "correct horse battery"
CW = email_for("caseworker")
WRONG = "Enter a correct email address and password"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "PARAMETERS", passwords.CHEAP)


@pytest.fixture
def accounts(app: App, staff: Staff) -> AccountService:
    """The service, with the administrator's and the caseworker's passwords set."""
    app.accounts.set_password(ADMIN, PASSWORD, ADMIN)
    app.accounts.set_password(CW, PASSWORD, ADMIN)
    return app.accounts


def refused(accounts: AccountService, email: str, password: str, client: str = "10.0.0.1") -> str:
    with pytest.raises(SignInRefused) as exc:
        accounts.sign_in(email, password, client=client)
    return str(exc.value)


def audit(app: App, prefix: str = "") -> list[tuple[str, str, dict[str, object]]]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(AUDIT.c.action, AUDIT.c.subject, AUDIT.c.detail)
            .where(AUDIT.c.action.like(prefix + "%"))
            .order_by(AUDIT.c.id)
        )
        return [(r.action, r.subject, r.detail) for r in rows]


def test_sign_in_starts_a_session_the_token_finds(app: App, accounts: AccountService, clock: FixedClock) -> None:
    signed = accounts.sign_in(" Caseworker@Council.test ", PASSWORD, client="10.0.0.1")
    assert signed.session.actor.email == CW
    assert "caseworker" in signed.session.actor.roles
    assert signed.session.name == "Caseworker"
    assert len(signed.session.csrf_token) >= 32
    found = accounts.session(signed.token)
    assert found is not None
    assert (found.actor, found.csrf_token, found.started_at) == (
        signed.session.actor,
        signed.session.csrf_token,
        clock.now(),
    )
    with app.engine.connect() as conn:
        stored = conn.execute(select(WEB_SESSIONS.c.token_hash, WEB_SESSIONS.c.client)).one()
    assert signed.token not in stored.token_hash  # only its sha256 is stored
    assert stored.client == "10.0.0.1"
    again = accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    assert again.token != signed.token  # every sign-in is a new session
    assert accounts.session(signed.token) is not None


def test_wrong_password_and_unknown_email_read_the_same(app: App, accounts: AccountService) -> None:
    assert refused(accounts, CW, "not the password at all") == WRONG
    assert refused(accounts, "nobody@council.test", PASSWORD) == WRONG
    assert refused(accounts, "not an email", PASSWORD) == WRONG
    app.people.add_user("nopass@council.test", "No Password", ["caseworker"], ADMIN)
    assert refused(accounts, "nopass@council.test", "") == WRONG
    assert accounts.session("") is None
    assert accounts.session("made-up") is None


def test_a_deactivated_user_cannot_sign_in_and_their_sessions_stop(app: App, accounts: AccountService) -> None:
    signed = accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    app.people.deactivate(CW, ADMIN)
    assert accounts.session(signed.token) is None
    assert refused(accounts, CW, PASSWORD) == WRONG


def test_five_failures_lock_for_fifteen_minutes(app: App, accounts: AccountService, clock: FixedClock) -> None:
    # 09:00 UTC on 2 November 2026 is 09:00 in London (GMT).
    for _ in range(4):
        assert refused(accounts, CW, "wrong password!") == WRONG
    assert refused(accounts, CW, "wrong password!") == "Too many attempts: try again after 09:15"
    # Locked: even the right password is refused, with the same message.
    assert refused(accounts, CW, PASSWORD) == "Too many attempts: try again after 09:15"
    clock.advance(minutes=14, seconds=59)
    assert refused(accounts, CW, PASSWORD) == "Too many attempts: try again after 09:15"
    clock.advance(seconds=1)
    assert accounts.sign_in(CW, PASSWORD, client="10.0.0.1").session.actor.email == CW
    with app.engine.connect() as conn:
        row = conn.execute(select(USERS.c.failed_sign_ins, USERS.c.locked_until).where(USERS.c.email == CW)).one()
    assert (row.failed_sign_ins, row.locked_until) == (0, None)
    actions = [a for a, subject, _ in audit(app, "sign_in") if subject == CW]
    assert actions == ["sign_in.failed"] * 4 + ["sign_in.lockout"] + ["sign_in.locked"] * 2 + ["sign_in"]


def test_a_correct_password_resets_the_count(accounts: AccountService) -> None:
    for _ in range(4):
        refused(accounts, CW, "wrong password!")
    accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    for _ in range(4):
        assert refused(accounts, CW, "wrong password!") == WRONG


def test_an_unknown_email_locks_as_a_real_one_does(accounts: AccountService, clock: FixedClock) -> None:
    for _ in range(4):
        assert refused(accounts, "ghost@council.test", "wrong password!") == WRONG
    assert refused(accounts, "ghost@council.test", "wrong password!") == "Too many attempts: try again after 09:15"
    assert refused(accounts, "ghost@council.test", PASSWORD) == "Too many attempts: try again after 09:15"
    clock.advance(minutes=15)
    assert refused(accounts, "ghost@council.test", PASSWORD) == WRONG


def test_one_client_fails_at_most_ten_times_in_fifteen_minutes(accounts: AccountService, clock: FixedClock) -> None:
    for n in range(10):
        assert refused(accounts, f"guess{n}@council.test", "wrong password!", client="203.0.113.9") == WRONG
        clock.advance(seconds=30)
    # 09:05: the first failure (09:00) leaves the window at 09:15.
    limited = refused(accounts, CW, PASSWORD, client="203.0.113.9")
    assert limited == "Too many attempts: try again after 09:15"
    assert accounts.sign_in(CW, PASSWORD, client="10.0.0.1")  # another address is not held up
    clock.advance(minutes=10)
    assert accounts.sign_in(CW, PASSWORD, client="203.0.113.9")


def test_a_clients_old_attempts_are_dropped(app: App, accounts: AccountService, clock: FixedClock) -> None:
    from carepath.storage.tables import SIGN_IN_ATTEMPTS

    refused(accounts, CW, "wrong password!", client="198.51.100.7")
    accounts.sign_in(CW, PASSWORD, client="198.51.100.7")
    clock.advance(days=1, seconds=1)
    accounts.sign_in(CW, PASSWORD, client="198.51.100.7")
    with app.engine.connect() as conn:
        kept = conn.execute(select(SIGN_IN_ATTEMPTS.c.outcome).where(SIGN_IN_ATTEMPTS.c.client == "198.51.100.7"))
        assert [r.outcome for r in kept] == ["ok"]


def test_sessions_end_idle_after_thirty_minutes(accounts: AccountService, clock: FixedClock) -> None:
    signed = accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    clock.advance(minutes=29)
    seen = accounts.session(signed.token)
    assert seen is not None
    assert seen.last_seen_at == clock.now()  # touched: over a minute since the last
    clock.advance(minutes=30)
    assert accounts.session(signed.token) is not None  # 30 minutes idle exactly: still alive
    clock.advance(minutes=30, seconds=1)
    assert accounts.session(signed.token) is None


def test_sessions_end_ten_hours_after_sign_in(accounts: AccountService, clock: FixedClock) -> None:
    signed = accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    for _ in range(40):  # busy all day: never idle
        clock.advance(minutes=15)
        assert accounts.session(signed.token) is not None
    clock.advance(minutes=1)
    assert accounts.session(signed.token) is None


def test_sign_out_ends_the_session(app: App, accounts: AccountService) -> None:
    signed = accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    accounts.sign_out(signed.token)
    assert accounts.session(signed.token) is None
    accounts.sign_out(signed.token)  # again: nothing happens
    accounts.sign_out("unknown")
    assert [a for a, _, _ in audit(app, "sign_out")] == ["sign_out"]


def test_set_password_by_self_admin_and_other(app: App, accounts: AccountService, staff: Staff) -> None:
    mine = accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    other = accounts.sign_in(CW, PASSWORD, client="10.0.0.2")
    accounts.set_password(CW, "a brand new passphrase", CW, keep=mine.token)
    assert accounts.session(mine.token) is not None  # the browser that changed it stays signed in
    assert accounts.session(other.token) is None
    assert refused(accounts, CW, PASSWORD) == WRONG
    accounts.sign_in(CW, "a brand new passphrase", client="10.0.0.1")
    accounts.set_password(CW, "the administrator's choice", ADMIN)
    assert accounts.session(mine.token) is None  # an administrator's change ends every session
    with pytest.raises(NotPermitted, match="needs role admin"):
        accounts.set_password(CW, "someone else's idea", email_for("team_manager"))
    with pytest.raises(NotPermitted, match="scheduler"):
        accounts.set_password(CW, "someone else's idea", staff.system)
    with pytest.raises(NotPermitted, match="nobody"):
        accounts.set_password(CW, "someone else's idea", None)
    with pytest.raises(NotFound):
        accounts.set_password("nobody@council.test", "someone else's idea", ADMIN)
    accounts.sign_in(CW, "the administrator's choice", client="10.0.0.1")
    changes = audit(app, "user.set_password")
    assert [s for _, s, _ in changes] == [ADMIN, CW, CW, CW]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short one", "at least 12 characters"),
        ("x" * 129, "at most 128 characters"),
        ("aaaaaaaaaaaaaaaa", "one character repeated"),
        ("Caseworker@Council.Test", "must not be the email address"),
        ("\ud800 surrogate pass", "not valid UTF-8"),
    ],
)
def test_weak_passwords_are_refused(app: App, accounts: AccountService, password: str, message: str) -> None:
    before = audit(app)
    with pytest.raises(InvalidInput, match=message):
        accounts.set_password(CW, password, CW)
    assert audit(app) == before
    accounts.sign_in(CW, PASSWORD, client="10.0.0.1")  # unchanged


def test_first_admin_only_while_no_administrator_can_sign_in(app: App, staff: Staff) -> None:
    accounts = app.accounts
    accounts.first_admin("boss@council.test", "The Boss", PASSWORD)
    assert "admin" in accounts.sign_in("boss@council.test", PASSWORD, client="10.0.0.1").session.actor.roles
    with pytest.raises(NotPermitted, match="an administrator who can sign in exists"):
        accounts.first_admin("second@council.test", "Second", PASSWORD)
    assert audit(app, "user.first_admin") == [("user.first_admin", "boss@council.test", {"created": True})]


def test_first_admin_promotes_an_existing_user(app: App, staff: Staff) -> None:
    app.accounts.first_admin(CW, "ignored", PASSWORD)  # the admin exists but has no password
    actor = app.accounts.sign_in(CW, PASSWORD, client="10.0.0.1").session.actor
    assert actor.roles == {"admin", "caseworker"}


def test_api_tokens_issue_find_list_and_revoke(app: App, accounts: AccountService, clock: FixedClock) -> None:
    token_id, raw = accounts.issue_token(CW, "  reporting script ")
    assert raw.startswith("cp_")
    assert len(raw) > 40
    actor = accounts.token_actor(raw)
    assert actor is not None
    assert actor.email == CW
    assert accounts.token_actor(raw + "x") is None
    assert accounts.token_actor("not a token") is None
    [info] = accounts.tokens(CW)
    assert (info.id, info.name, info.created_at, info.last_used_at, info.revoked_at) == (
        token_id,
        "reporting script",
        clock.now(),
        clock.now(),
        None,
    )
    with pytest.raises(NotPermitted, match="not theirs"):
        accounts.revoke_token(token_id, email_for("team_manager"))
    other_id, other = accounts.issue_token(email_for("team_manager"), "mine")
    accounts.revoke_token(token_id, CW)
    assert accounts.token_actor(raw) is None
    with pytest.raises(InvalidInput, match="revoked already"):
        accounts.revoke_token(token_id, CW)
    accounts.revoke_token(other_id, ADMIN)  # an administrator may revoke anyone's
    assert accounts.token_actor(other) is None
    with pytest.raises(NotFound):
        accounts.revoke_token(999, ADMIN)
    with app.engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(select(API_TOKENS.c.token_hash))]
    assert raw not in hashes
    assert [a for a, _, _ in audit(app, "token.")] == ["token.issue", "token.issue", "token.revoke", "token.revoke"]


def test_a_deactivated_users_token_acts_for_nobody(app: App, accounts: AccountService) -> None:
    _, raw = accounts.issue_token(CW, "script")
    app.people.deactivate(CW, ADMIN)
    assert accounts.token_actor(raw) is None


def test_viewers_are_for_administrators_newest_first(app: App, accounts: AccountService, clock: FixedClock) -> None:
    cw = app.directory.actor(CW)
    ref = app.cases.open_case("sample", cw).ref
    accounts.record_view(cw, ref, "case", "web")
    clock.advance(minutes=1)
    accounts.record_view(cw, ref.lower(), "timeline", "web")
    clock.advance(minutes=1)
    accounts.record_view(cw, ref, "api:case", "api")
    page = accounts.viewers(ref, ADMIN, limit=2)
    assert [(v.email, v.what, v.via) for v in page] == [(CW, "api:case", "api"), (CW, "timeline", "web")]
    assert (page.total, page.next is not None) == (3, True)
    rest = accounts.viewers(ref, ADMIN, limit=2, after=page.next)
    assert [(v.what, v.viewed_at) for v in rest] == [("case", clock.now() - timedelta(minutes=2))]
    assert rest.next is None
    with pytest.raises(NotPermitted, match=r"case\.viewers"):
        accounts.viewers(ref, CW)
    with pytest.raises(NotPermitted):
        accounts.viewers(ref, email_for("service_manager"))
    with pytest.raises(CaseNotFound):
        accounts.viewers("FC-2026-9999", ADMIN)
    with pytest.raises(CaseNotFound):
        accounts.record_view(cw, "FC-2026-9999", "case", "web")
    with pytest.raises(InvalidInput, match="view channel"):
        accounts.record_view(cw, ref, "case", "email")


def test_audit_holds_no_password_or_token(app: App, accounts: AccountService) -> None:
    signed = accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    refused(accounts, CW, "a wrong password typed")
    refused(accounts, "a password in the email box", PASSWORD)
    _, raw = accounts.issue_token(CW, "script")
    accounts.sign_out(signed.token)
    rows = audit(app)
    text = repr(rows)
    for secret in (PASSWORD, "a wrong password typed", "a password in the email box", raw, signed.token):
        assert secret not in text
    actions = {a for a, _, _ in rows}
    assert {"user.set_password", "sign_in", "sign_in.failed", "token.issue", "sign_out"} <= actions
    with app.engine.connect() as conn:
        stored = conn.execute(select(USERS.c.password_hash).where(USERS.c.email == CW)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_hash_made_with_old_parameters_is_replaced_at_sign_in(app: App, accounts: AccountService) -> None:
    old = passwords.Argon2Hasher(passwords.Argon2Parameters(time_cost=1, memory_cost=16, parallelism=1))
    with app.engine.begin() as conn:
        conn.execute(USERS.update().where(USERS.c.email == CW).values(password_hash=old.hash(PASSWORD)))
    accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    with app.engine.connect() as conn:
        stored = conn.execute(select(USERS.c.password_hash).where(USERS.c.email == CW)).scalar_one()
    assert "m=8,t=1,p=1" in stored
    accounts.sign_in(CW, PASSWORD, client="10.0.0.1")


def test_migration_0007_goes_down_and_up(app: App, accounts: AccountService) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from carepath.storage.migrate import alembic_config, current

    accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
    cfg = alembic_config(str(app.engine.url.render_as_string(hide_password=False)))
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    names = set(inspect(app.engine).get_table_names())
    assert not {"web_session", "api_token", "case_view", "sign_in_attempt"} & names
    assert "password_hash" not in {c["name"] for c in inspect(app.engine).get_columns("app_user")}
    with app.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    assert current(app.engine) == "0007"
    app.accounts.set_password(CW, PASSWORD, ADMIN)
    assert app.accounts.sign_in(CW, PASSWORD, client="10.0.0.1")
