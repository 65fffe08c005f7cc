"""What every portal request can reach: the app, its accounts, templates and helpers."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.templating import Jinja2Templates

from packseal.accounts import Accounts
from packseal.app import App
from packseal.web._http import WebError
from packseal.web._media import MediaCache
from packseal.web._ration import rationed
from packseal.web.shares import Shares

if TYPE_CHECKING:
    from packseal.web._audit import AuditJobs
    from packseal.web._evidence import Evidence


class LoginLimiter:
    """At most ``limit`` failed logins per client address and per user name in ``window_s``.

    Argon2 already makes each guess cost ~50 ms of server time; this stops a patient
    script from trying a dictionary at that rate. It lives in memory: a restart resets it,
    which is acceptable for a merchant's own portal.
    """

    def __init__(self, limit: int = 10, window_s: float = 600.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._fails.setdefault(key, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def check(self, ip: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{ip}", f"user:{name}"):
                times = self._recent(key, now)
                if len(times) >= self.limit:
                    wait = int(self.window_s - (now - times[0])) + 1
                    raise WebError(
                        429,
                        f"too many failed logins; try again in {wait} s",
                        hint="ask an administrator to reset the password if it is lost",
                        headers={"Retry-After": str(wait)},
                    )

    def failed(self, ip: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{ip}", f"user:{name}"):
                self._recent(key, now).append(now)
            if len(self._fails) > 10_000:  # bounded memory under a spray of names
                self._fails.clear()

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._fails.pop(f"user:{name}", None)


@dataclass
class ClaimRuns:
    """Per-user rationing and one-check-at-a-time (a check takes both cores for seconds)."""

    per_user: int = 30
    window_ms: int = 3_600_000
    _started: dict[str, deque[int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    running: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, user: str, now_ms: int) -> None:
        with self._lock:
            rationed(
                self._started,
                user,
                now_ms,
                per_user=self.per_user,
                window_ms=self.window_ms,
                what="claim checks",
                hint="earlier reports stay on their pages; a check takes seconds of "
                "CPU, so checks are rationed per user",
            ).append(now_ms)


@dataclass
class PortalContext:
    app: App
    accounts: Accounts
    templates: Jinja2Templates
    zone: dt.tzinfo
    secure_cookies: bool
    session_ms: int
    evidence: Evidence
    audits: AuditJobs
    shares: Shares
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    media: MediaCache = field(default_factory=MediaCache)
    claims: ClaimRuns = field(default_factory=ClaimRuns)

    def now_ms(self) -> int:
        return self.app.clock.now_ms()


def portal(request: Request) -> PortalContext:
    ctx: PortalContext = request.app.state.portal
    return ctx
