"""Facts the station, the verifier and the faces must agree on, in one place.

- :data:`GAP_TOLERANCE_MS`: how far apart two consecutive segments may be before the
  footage between them counts as missing. The station logs a ``gap`` entry past it; a
  verifier and an audit report an unlogged gap past it. One number, or a station's
  honest recording could fail its own verification.
- :func:`rfc3339`: milliseconds since the epoch as RFC 3339 text (``Z`` for UTC), the one
  way times are written for people and machines alike.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["GAP_TOLERANCE_MS", "rfc3339"]

# Within a run segments are contiguous; below this, two segments are one take.
GAP_TOLERANCE_MS = 250


def rfc3339(t_ms: int, *, ms: bool = False, zone: dt.tzinfo = dt.UTC) -> str:
    """``t_ms`` as RFC 3339 text in ``zone``: seconds, or milliseconds with ``ms``.

    >>> rfc3339(1_795_000_000_123, ms=True)
    '2026-11-18T09:46:40.123Z'
    """
    when = dt.datetime.fromtimestamp(t_ms // 1000, zone).replace(microsecond=t_ms % 1000 * 1000)
    text = when.isoformat(timespec="milliseconds" if ms else "seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text
