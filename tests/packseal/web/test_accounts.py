"""Users, sessions, API tokens, custody and audit runs, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from packseal.accounts import AccountError, Accounts
from storage.db import connect, migrate
from tests.packseal.web.conftest import FAST_HASHER

T = 1_800_000_000_000


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = connect(db_url)
    migrate(e)
    yield e
    e.dispose()


@pytest.fixture
def accounts(engine: Engine) -> Accounts:
    return Accounts(engine, hasher=FAST_HASHER)


def test_users_are_added_checked_and_authenticated(accounts: Accounts) -> None:
    user = accounts.add_user("mia", "merchant", "a long password", at_ms=T)
    assert (user.name, user.role, user.active) == ("mia", "merchant", True)
    assert accounts.authenticate("mia", "a long password") == user
    for name, password in (("mia", "wrong password!"), ("nobody", "a long password")):
        with pytest.raises(AccountError, match="wrong user name or password"):
            accounts.authenticate(name, password)
    with pytest.raises(AccountError, match="already exists"):
        accounts.add_user("mia", "admin", "another long one", at_ms=T)
    with pytest.raises(AccountError, match="not allowed"):
        accounts.add_user("Mia Smith", "merchant", "a long password", at_ms=T)
    with pytest.raises(AccountError, match="is not one of"):
        accounts.add_user("bob", "root", "a long password", at_ms=T)
    with pytest.raises(AccountError, match="at least 10"):
        accounts.add_user("bob", "merchant", "short", at_ms=T)
    # the stored hash is Argon2id, never the password
    with accounts.engine.connect() as conn:
        stored = conn.execute(text("select password_hash from users")).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "long password" not in stored


def test_disabling_or_changing_a_password_ends_sessions(accounts: Accounts) -> None:
    user = accounts.add_user("otto", "auditor", "a long password", at_ms=T)
    cookie, session = accounts.create_session(user, at_ms=T, ttl_ms=1000, client_ip="1.2.3.4")
    assert accounts.session(cookie, at_ms=T + 999) == session
    assert accounts.session(cookie, at_ms=T + 1000) is None  # expired
    cookie, _ = accounts.create_session(user, at_ms=T, ttl_ms=10_000, client_ip="1.2.3.4")
    accounts.set_password("otto", "another long password")
    assert accounts.session(cookie, at_ms=T + 1) is None
    cookie, _ = accounts.create_session(user, at_ms=T, ttl_ms=10_000, client_ip="1.2.3.4")
    accounts.set_active("otto", False)
    assert accounts.session(cookie, at_ms=T + 1) is None
    with pytest.raises(AccountError):
        accounts.authenticate("otto", "another long password")
    # the database holds a hash of the cookie, not the cookie
    with accounts.engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("select token_hash from sessions"))]
    assert cookie not in stored


def test_api_tokens_are_shown_once_stored_hashed_and_revocable(accounts: Accounts) -> None:
    accounts.add_user("ada", "admin", "a long password", at_ms=T)
    token = accounts.issue_token("ada", label="script", at_ms=T)
    assert token.startswith("pst_")
    user = accounts.token_user(token, at_ms=T + 5)
    assert user is not None
    assert user.name == "ada"
    assert accounts.token_user(token + "x", at_ms=T) is None
    assert accounts.token_user("Bearer nonsense", at_ms=T) is None
    (info,) = accounts.tokens("ada")
    assert info.last_used_ms == T + 5
    assert info.label == "script"
    with accounts.engine.connect() as conn:
        assert token not in str(conn.execute(text("select * from api_tokens")).all())
    accounts.revoke_token(info.id, at_ms=T + 10)
    assert accounts.token_user(token, at_ms=T + 20) is None
    with pytest.raises(AccountError):
        accounts.revoke_token(info.id, at_ms=T + 30)


def test_custody_is_append_only_in_the_database(accounts: Accounts, engine: Engine) -> None:
    for action in ("view", "play", "export-bundle"):
        accounts.record(
            at_ms=T,
            user="mia",
            role="merchant",
            action=action,
            client_ip="10.0.0.7",
            clip_id="01CLIP",
            order_id="SO-1",
        )
    events = accounts.custody("01CLIP")
    assert [e.action for e in events] == ["export-bundle", "play", "view"]  # newest first
    assert {e.client_ip for e in events} == {"10.0.0.7"}
    for statement in (
        "update custody_events set user_name = 'nobody'",
        "delete from custody_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert len(accounts.custody("01CLIP")) == 3


def test_audit_runs_one_at_a_time_and_abandoned_ones_are_marked(accounts: Accounts) -> None:
    run = accounts.start_audit_run("otto", at_ms=T)
    with pytest.raises(AccountError, match="still running"):
        accounts.start_audit_run("ada", at_ms=T)
    accounts.audit_progress(run, 5, 10)
    found = accounts.audit_run(run)
    assert found is not None
    assert (found.done, found.total, found.status) == (5, 10, "running")
    accounts.finish_audit_run(run, "clean", at_ms=T + 1, summary={"ok": True})
    finished = accounts.audit_run(run)
    assert finished is not None
    assert finished.summary == {"ok": True}
    second = accounts.start_audit_run("otto", at_ms=T + 2)
    assert accounts.abandon_audit_runs(at_ms=T + 3) == 1
    abandoned = accounts.audit_run(second)
    assert abandoned is not None
    assert abandoned.status == "abandoned"
    assert [r.id for r in accounts.audit_runs()] == [second, run]
