"""Peak resident memory of a piece of work: Linux's high-water mark, reset before it starts.

``ru_maxrss`` only ever grows, so a run that stays below what imports and migrations
already touched shows +0 MB whatever it does. Writing 5 to /proc/self/clear_refs resets
the high-water mark (VmHWM) to the current RSS; VmHWM afterwards is the run's own peak.
"""

from __future__ import annotations

import resource
from pathlib import Path


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def start() -> tuple[float, bool]:
    """Reset the peak; returns (RSS now in MB, whether the reset worked)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    now = _status_kb("VmRSS")
    return (
        now if now is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ) / 1024, reset


def peak_mb() -> float:
    hwm = _status_kb("VmHWM")
    return (hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
