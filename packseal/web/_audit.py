"""Whole-store audits started from the portal: one at a time, in a background thread,
with progress a page can poll and the outcome kept in the ``audit_runs`` table.

An audit reads and hashes every blob of the store (minutes of disk and CPU on a large
one), so each user may start at most ``per_user`` runs per ``window_ms``; more is a 429
with Retry-After. Like the login limiter the count lives in memory: a restart resets it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from packseal.accounts import AccountError, Accounts, AuditRun
from packseal.web._http import WebError
from packseal.web._ration import rationed

Runner = Callable[[Callable[[int, int], None]], dict[str, Any]]
Clock = Callable[[], int]

_PROGRESS_EVERY_S = 0.5  # progress rows written at most this often (a poll sees it)


class AuditJobs:
    def __init__(
        self,
        accounts: Accounts,
        runner: Runner,
        clock: Clock,
        *,
        per_user: int = 6,
        window_ms: int = 3_600_000,
    ) -> None:
        self.accounts = accounts
        self.runner = runner
        self.clock = clock
        self.per_user = per_user
        self.window_ms = window_ms
        self._started: dict[str, deque[int]] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _check_rate(self, user: str, now_ms: int) -> deque[int]:
        return rationed(
            self._started,
            user,
            now_ms,
            per_user=self.per_user,
            window_ms=self.window_ms,
            what="audits",
            hint="the latest run's findings stay on the audit page; an audit reads "
            "every blob of the store, so runs are rationed per user",
        )

    def start(self, user: str) -> AuditRun:
        with self._lock:
            now_ms = self.clock()
            started = self._check_rate(user, now_ms)
            try:
                run_id = self.accounts.start_audit_run(user, at_ms=now_ms)
            except AccountError as e:
                raise WebError(409, e.message, hint=e.hint) from None
            started.append(now_ms)
            thread = threading.Thread(
                target=self._run, args=(run_id,), name=f"packseal-audit-{run_id}", daemon=True
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
        run = self.accounts.audit_run(run_id)
        assert run is not None
        return run

    def _run(self, run_id: int) -> None:
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= _PROGRESS_EVERY_S or done >= total:
                last = now
                self.accounts.audit_progress(run_id, done, total)

        try:
            summary = self.runner(progress)
        except WebError as e:
            self._fail(run_id, e.message)
        except Exception as e:  # the run is recorded as failed, with what went wrong
            self._fail(run_id, f"{type(e).__name__}: {e}")
        else:
            self.accounts.finish_audit_run(
                run_id,
                "clean" if summary.get("ok") else "findings",
                at_ms=self.clock(),
                summary=summary,
            )

    def _fail(self, run_id: int, message: str) -> None:
        self.accounts.finish_audit_run(
            run_id, "failed", at_ms=self.clock(), summary={}, error=message[:2000]
        )

    def join(self, timeout: float = 30.0) -> None:
        """Wait for running audits (portal shutdown; tests)."""
        deadline = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))
