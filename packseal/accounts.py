"""Who may use the web portal, and what they did: users, sessions, API tokens, the chain
of custody, and audit runs.

Passwords are hashed with Argon2id (argon2-cffi's defaults, rehashed when those change).
Session cookies and API tokens are 256-bit random secrets; the database keeps only their
SHA-256, which is enough for a secret of that entropy (a slow hash protects guessable
passwords, not random tokens) and lets a lookup be one indexed query.

The custody table is append-only: this module offers no way to change or remove an
event, and migration 0002 adds triggers that make the database refuse it too.

Time is a parameter (``at_ms``) everywhere. The tables live in the store's database
(:mod:`storage.webtables`, created by its migrations); this module works on its own
engine over that database (``App.web_database()``), never on the store's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, cast, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, Row, func, insert, select, update

from storage import PacksealError
from storage.db import write_transaction
from storage.webtables import api_tokens, audit_runs, custody_events, sessions, users

Role = Literal["merchant", "auditor", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
AuditStatus = Literal["running", "clean", "findings", "failed", "abandoned"]

NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"
MIN_PASSWORD = 10
TOKEN_PREFIX = "pst_"  # noqa: S105 (a prefix, not a secret) lets secret scanners and people recognise a packseal API token
_NAME = re.compile(NAME_PATTERN)
_TOKEN_TOUCH_MS = 60_000  # last_used is written at most once a minute per token


class AccountError(PacksealError):
    """A user, password, session or token operation that cannot be done as asked."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    active: bool
    created_ms: int


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf: str  # the synchronizer token every form of this session must send back
    expires_ms: int


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    user: str
    label: str
    created_ms: int
    last_used_ms: int | None
    revoked_ms: int | None


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    id: int
    at_ms: int
    user: str
    role: str
    action: str
    clip_id: str | None
    order_id: str | None
    client_ip: str
    detail: str


@dataclass(frozen=True, slots=True)
class AuditRun:
    id: int
    user: str
    status: AuditStatus
    started_ms: int
    finished_ms: int | None
    done: int
    total: int
    summary: Mapping[str, Any]
    error: str | None


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: Row[Any]) -> User:
    return User(int(row.id), row.name, cast(Role, row.role), bool(row.active), int(row.created_ms))


def _audit_run(row: Row[Any]) -> AuditRun:
    return AuditRun(
        id=int(row.id),
        user=row.user_name,
        status=cast(AuditStatus, row.status),
        started_ms=int(row.started_ms),
        finished_ms=None if row.finished_ms is None else int(row.finished_ms),
        done=int(row.done),
        total=int(row.total),
        summary=json.loads(row.summary),
        error=row.error,
    )


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise AccountError(
            f"user name {name[:70]!r} is not allowed",
            hint="use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
        )
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise AccountError(
            f"role {role[:40]!r} is not one of {', '.join(ROLES)}",
            hint="merchant: find and export clips; auditor: also audit the store; "
            "admin: also manage users",
        )
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"the password has {len(password)} characters; at least {MIN_PASSWORD} are needed",
            hint="a few unrelated words make a long password that is easy to type",
        )
    if len(password) > 1024:
        raise AccountError("the password is longer than 1024 characters")
    return password


class Accounts:
    """The account tables of one database (the store's engine)."""

    def __init__(self, engine: Engine, *, hasher: PasswordHasher | None = None) -> None:
        self.engine = engine
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        # Verified against when the user does not exist, so a login for an unknown name
        # takes as long as one with a wrong password (no user-name probing by timing).
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_hex(16))
        return self._dummy

    # -- users -------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str, *, at_ms: int) -> User:
        check_name(name)
        role = check_role(role)
        digest = self.hasher.hash(check_password(password))
        with write_transaction(self.engine) as conn:
            if conn.execute(select(users.c.id).where(users.c.name == name)).first():
                raise AccountError(
                    f"user {name!r} already exists",
                    hint="pick another name, or change this user's role on the users page",
                )
            conn.execute(
                insert(users).values(
                    name=name, role=role, password_hash=digest, active=True, created_ms=at_ms
                )
            )
        return self.get_user(name)

    def user(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return None if row is None else _user(row)

    def get_user(self, name: str) -> User:
        found = self.user(name)
        if found is None:
            raise AccountError(
                f"no user {name[:70]!r}", hint="list users with `packseal users list`"
            )
        return found

    def users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.name)).all()
        return [_user(r) for r in rows]

    def count_users(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def set_role(self, name: str, role: str) -> User:
        role = check_role(role)
        user = self.get_user(name)
        with write_transaction(self.engine) as conn:
            conn.execute(update(users).where(users.c.id == user.id).values(role=role))
        return self.get_user(name)

    def set_active(self, name: str, active: bool) -> User:
        user = self.get_user(name)
        with write_transaction(self.engine) as conn:
            conn.execute(update(users).where(users.c.id == user.id).values(active=active))
            if not active:
                self._end_sessions(conn, user.id)
        return self.get_user(name)

    def set_password(self, name: str, password: str) -> None:
        user = self.get_user(name)
        digest = self.hasher.hash(check_password(password))
        with write_transaction(self.engine) as conn:
            conn.execute(update(users).where(users.c.id == user.id).values(password_hash=digest))
            self._end_sessions(conn, user.id)  # a changed password logs out everywhere

    def authenticate(self, name: str, password: str) -> User:
        """The active user with this name and password; one error for every failure."""
        failed = AccountError(
            "wrong user name or password",
            hint="ask an administrator to reset the password (`packseal users` or the users page)",
        )
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        digest = self._dummy_hash if row is None else row.password_hash
        try:
            self.hasher.verify(digest, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise failed from None
        if row is None or not row.active:
            raise failed
        if self.hasher.check_needs_rehash(digest):
            with write_transaction(self.engine) as conn:
                conn.execute(
                    update(users)
                    .where(users.c.id == row.id)
                    .values(password_hash=self.hasher.hash(password))
                )
        return _user(row)

    # -- sessions ----------------------------------------------------------------------

    def create_session(
        self, user: User, *, at_ms: int, ttl_ms: int, client_ip: str
    ) -> tuple[str, Session]:
        """A new session: (the cookie value, shown once, and the session)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(sessions).values(
                    token_hash=_sha256(token),
                    user_id=user.id,
                    csrf=csrf,
                    created_ms=at_ms,
                    expires_ms=at_ms + ttl_ms,
                    client_ip=client_ip[:64],
                )
            )
        return token, Session(user, csrf, at_ms + ttl_ms)

    def session(self, token: str, *, at_ms: int) -> Session | None:
        """The live session of this cookie value, or ``None`` (unknown, expired, inactive)."""
        if not token or len(token) > 128:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(sessions.c.csrf, sessions.c.expires_ms, users)
                .join(users, users.c.id == sessions.c.user_id)
                .where(sessions.c.token_hash == _sha256(token))
            ).first()
        if row is None or row.expires_ms <= at_ms or not row.active:
            return None
        return Session(_user(row), row.csrf, int(row.expires_ms))

    def end_session(self, token: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(sessions.delete().where(sessions.c.token_hash == _sha256(token)))

    def purge_sessions(self, *, at_ms: int) -> int:
        with write_transaction(self.engine) as conn:
            done = conn.execute(sessions.delete().where(sessions.c.expires_ms <= at_ms))
        return int(done.rowcount or 0)

    @staticmethod
    def _end_sessions(conn: Any, user_id: int) -> None:
        conn.execute(sessions.delete().where(sessions.c.user_id == user_id))

    # -- API tokens --------------------------------------------------------------------

    def issue_token(self, name: str, *, label: str, at_ms: int) -> str:
        """A new API token for ``name``: returned once, stored only as a hash."""
        user = self.get_user(name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(api_tokens).values(
                    token_hash=_sha256(token),
                    user_id=user.id,
                    label=label[:64] or "api",
                    created_ms=at_ms,
                )
            )
        return token

    def token_user(self, token: str, *, at_ms: int) -> User | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(api_tokens.c.id.label("token_id"), api_tokens.c.last_used_ms, users)
                .join(users, users.c.id == api_tokens.c.user_id)
                .where(api_tokens.c.token_hash == _sha256(token), api_tokens.c.revoked_ms.is_(None))
            ).first()
        if row is None or not row.active:
            return None
        # Scripts call in bursts (the bench: 50 clients): one write a minute, not per call.
        if row.last_used_ms is None or at_ms - row.last_used_ms >= _TOKEN_TOUCH_MS:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    update(api_tokens)
                    .where(api_tokens.c.id == row.token_id)
                    .values(last_used_ms=at_ms)
                )
        return _user(row)

    def tokens(self, name: str | None = None) -> list[TokenInfo]:
        q = select(api_tokens, users.c.name).join(users, users.c.id == api_tokens.c.user_id)
        if name is not None:
            q = q.where(users.c.name == name)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(api_tokens.c.id)).all()
        return [
            TokenInfo(
                int(r.id),
                r.name,
                r.label,
                int(r.created_ms),
                r.last_used_ms,
                r.revoked_ms,
            )
            for r in rows
        ]

    def revoke_token(self, token_id: int, *, at_ms: int) -> None:
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_ms.is_(None))
                .values(revoked_ms=at_ms)
            )
        if not done.rowcount:
            raise AccountError(f"no live API token with id {token_id}")

    # -- chain of custody --------------------------------------------------------------

    def record(
        self,
        *,
        at_ms: int,
        user: str,
        role: str,
        action: str,
        client_ip: str,
        clip_id: str | None = None,
        order_id: str | None = None,
        detail: str = "",
    ) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(custody_events).values(
                    at_ms=at_ms,
                    user_name=user[:64],
                    role=role[:16],
                    action=action[:32],
                    clip_id=clip_id,
                    order_id=order_id,
                    client_ip=client_ip[:64],
                    detail=detail[:255],
                )
            )

    def custody(self, clip_id: str | None = None, *, limit: int = 200) -> list[CustodyEvent]:
        """Newest first: the events of one clip, or of the whole store."""
        q = select(custody_events)
        if clip_id is not None:
            q = q.where(custody_events.c.clip_id == clip_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(custody_events.c.id.desc()).limit(limit)).all()
        return [
            CustodyEvent(
                int(r.id),
                int(r.at_ms),
                r.user_name,
                r.role,
                r.action,
                r.clip_id,
                r.order_id,
                r.client_ip,
                r.detail,
            )
            for r in rows
        ]

    # -- audit runs --------------------------------------------------------------------

    def start_audit_run(self, user: str, *, at_ms: int) -> int:
        """A new run, unless one is running (``AccountError`` then names it)."""
        with write_transaction(self.engine) as conn:
            running = conn.execute(
                select(audit_runs.c.id).where(audit_runs.c.status == "running")
            ).first()
            if running is not None:
                raise AccountError(
                    f"audit run {running.id} is still running",
                    hint="wait for it to finish; the audit page shows its progress",
                )
            done = conn.execute(
                insert(audit_runs).values(
                    user_name=user,
                    status="running",
                    started_ms=at_ms,
                    done=0,
                    total=0,
                    summary="{}",
                )
            )
            key = done.inserted_primary_key
            assert key is not None
            return int(key[0])

    def audit_progress(self, run_id: int, done: int, total: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(audit_runs).where(audit_runs.c.id == run_id).values(done=done, total=total)
            )

    def finish_audit_run(
        self,
        run_id: int,
        status: AuditStatus,
        *,
        at_ms: int,
        summary: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(audit_runs)
                .where(audit_runs.c.id == run_id)
                .values(
                    status=status,
                    finished_ms=at_ms,
                    summary=json.dumps(summary, sort_keys=True),
                    error=error,
                )
            )

    def abandon_audit_runs(self, *, at_ms: int) -> int:
        """Mark runs left 'running' by a process that is gone (called at portal start)."""
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                update(audit_runs)
                .where(audit_runs.c.status == "running")
                .values(status="abandoned", finished_ms=at_ms, error="the portal stopped")
            )
        return int(done.rowcount or 0)

    def audit_run(self, run_id: int) -> AuditRun | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(audit_runs).where(audit_runs.c.id == run_id)).first()
        return None if row is None else _audit_run(row)

    def audit_runs(self, *, limit: int = 10) -> list[AuditRun]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(audit_runs).order_by(audit_runs.c.id.desc()).limit(limit)
            ).all()
        return [_audit_run(r) for r in rows]


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison for CSRF and station tokens."""
    return hmac.compare_digest(a.encode(), b.encode())
