"""Time zones as evidence names them: an IANA name, or ``UTC±HH:MM`` for a zone without one.

A clip entry records the zone of the station's burned-in clock, so that a verifier shows
local times as the packer's screen and the picture did. Naming a zone needs no zone
database. Reading one back may need it: an IANA name this machine does not know reads as
None, and callers fall back to UTC, which every time is also shown in.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["is_zone_name", "local_zone", "zone_name", "zone_of"]

_OFFSET = re.compile(r"UTC([+-])(\d\d):(\d\d)")
_IANA = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
_MAX = 64


def is_zone_name(name: str) -> bool:
    """``UTC``, ``UTC±HH:MM`` or something shaped like an IANA name (``Europe/Berlin``)."""
    return len(name) <= _MAX and bool(_OFFSET.fullmatch(name) or _IANA.fullmatch(name))


def zone_name(zone: dt.tzinfo, at_ms: int | None = None) -> str | None:
    """The name of ``zone``: its IANA key, else its UTC offset at ``at_ms`` (None: any time)."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    if at_ms is None:
        offset = zone.utcoffset(None)
    else:
        offset = dt.datetime.fromtimestamp(at_ms / 1000, zone).utcoffset()
    if offset is None:
        return None
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_of(name: str | None) -> dt.tzinfo | None:
    """The zone a :func:`zone_name` names; None for no name or an IANA name unknown here."""
    if not name:
        return None
    if name == "UTC":
        return dt.UTC
    fixed = _OFFSET.fullmatch(name)
    if fixed:
        sign = 1 if fixed[1] == "+" else -1
        return dt.timezone(sign * dt.timedelta(hours=int(fixed[2]), minutes=int(fixed[3])))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def local_zone(name: str | None = None) -> dt.tzinfo:
    """The zone ``name`` (raises if unknown), else this machine's, by its IANA name if it has one.

    The machine's zone is looked for in ``TZ``, the target of ``/etc/localtime`` and
    ``/etc/timezone`` (Debian), in that order. Only when none of them names a zone is it the
    current UTC offset, which would not follow a daylight-saving change while running.
    """
    if name:
        return ZoneInfo(name)
    localtime = Path("/etc/localtime")
    target = os.path.realpath(localtime) if localtime.is_symlink() else ""
    candidates = [
        os.environ.get("TZ", "").lstrip(":"),
        target.split("/zoneinfo/", 1)[1] if "/zoneinfo/" in target else "",
        _read(Path("/etc/timezone")),
    ]
    for candidate in candidates:
        if candidate and _IANA.fullmatch(candidate):
            zone = zone_of(candidate)
            if zone is not None:
                return zone
    return dt.datetime.now().astimezone().tzinfo or dt.UTC


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
