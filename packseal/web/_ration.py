"""Per-user rationing of costly portal jobs (audits, claim checks) over a sliding window."""

from __future__ import annotations

from collections import deque

from packseal.web._http import WebError


def rationed(
    started: dict[str, deque[int]],
    user: str,
    now_ms: int,
    *,
    per_user: int,
    window_ms: int,
    what: str,
    hint: str,
) -> deque[int]:
    """``user``'s start times within the window (append to take a turn), or 429 when
    they already took ``per_user``: costly jobs (audits, claim checks) are rationed."""
    times = started.setdefault(user, deque())
    while times and now_ms - times[0] >= window_ms:
        times.popleft()
    if len(times) >= per_user:
        wait_s = (window_ms - (now_ms - times[0])) // 1000 + 1
        raise WebError(
            429,
            f"{user} started {len(times)} {what} in the last {window_ms // 60_000} minutes, "
            f"the most allowed; the next may start in {wait_s} s",
            hint=hint,
            headers={"Retry-After": str(wait_s)},
        )
    return times


__all__ = ["rationed"]
