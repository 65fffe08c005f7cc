"""Where a clip's footage came from: the ``source`` of a ``clip`` entry, signed with it.

A file imported with a chosen ``--epoch`` and a demo scene are sealed exactly like a live
camera's footage; only this record tells them apart. Kinds and the fields each one fills
(every other field is ``""``, so one source has one encoding)::

    camera  device (/dev/video0), card, bus, serial: the V4L2 card name and bus, and the
            USB serial number, as far as the driver and sysfs tell them ("" = unknown)
    rtsp    host: host[:port] of the stream, never its credentials or path
    http    host: the same, for an HTTP(S) MJPEG camera
    file    name (the file's base name) and sha256 (of the whole file as read)
    demo    name: the scene (``demo:SEED``); synthetic footage

Only ``camera``, ``rtsp`` and ``http`` are *live*: their frames were stamped by the station's
clock as they arrived. A trust file can require live footage
(``require_live_source``); a clip sealed before sources were recorded has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from storage._errors import FormatError

__all__ = ["LIVE_KINDS", "SOURCE_KINDS", "FootageSource", "describe_source", "network_source"]

SOURCE_KINDS = ("camera", "rtsp", "http", "file", "demo")
LIVE_KINDS = ("camera", "rtsp", "http")
_FIELDS = ("device", "card", "bus", "serial", "host", "name", "sha256")
_USES: dict[str, tuple[str, ...]] = {
    "camera": ("device", "card", "bus", "serial"),
    "rtsp": ("host",),
    "http": ("host",),
    "file": ("name", "sha256"),
    "demo": ("name",),
}
_MOST = 256
_HEX64 = re.compile(r"[0-9a-f]{64}")
# host, or host:port, or [v6]:port: nothing that could carry a user name or password.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")


@dataclass(frozen=True, slots=True)
class FootageSource:
    kind: Literal["camera", "rtsp", "http", "file", "demo"]
    device: str = ""
    card: str = ""
    bus: str = ""
    serial: str = ""
    host: str = ""
    name: str = ""
    sha256: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise FormatError(f"source kind {self.kind!r} is not one of {SOURCE_KINDS}")
        uses = _USES[self.kind]
        for name in _FIELDS:
            value = getattr(self, name)
            if len(value) > _MOST:
                raise FormatError(f"source {name} is {len(value)} characters, at most {_MOST}")
            if value and name not in uses:
                raise FormatError(
                    f"a {self.kind} source has no {name} (it has {', '.join(uses)}), "
                    f"found {value[:40]!r}"
                )
        if self.kind == "camera" and not self.device:
            raise FormatError("a camera source must name its device")
        if self.kind in ("rtsp", "http") and not _HOST.fullmatch(self.host):
            raise FormatError(
                f"an {self.kind} source's host must be host[:port] without credentials, "
                f"found {self.host[:80]!r}"
            )
        if self.kind == "file" and not _HEX64.fullmatch(self.sha256):
            raise FormatError(
                "a file source's sha256 must be 64 lowercase hex digits, "
                f"found {self.sha256[:70]!r}"
            )

    def to_json(self) -> dict[str, str]:
        """The fields as the entry's JSON holds them."""
        return {name: getattr(self, name) for name in ("kind", *_FIELDS)}

    @property
    def live(self) -> bool:
        """Frames stamped as they were filmed (a camera or a network camera's stream)."""
        return self.kind in LIVE_KINDS

    def label(self) -> str:
        """One line for people: what the footage came from, and whether it is live."""
        if self.kind == "camera":
            known = [x for x in (self.card, self.bus) if x]
            if self.serial:
                known.append(f"serial {self.serial}")
            detail = f" ({', '.join(known)})" if known else " (no identity reported)"
            return f"live camera {self.device}{detail}"
        if self.kind == "rtsp":
            return f"live network camera (RTSP) at {self.host}"
        if self.kind == "http":
            return f"live network camera (HTTP MJPEG) at {self.host}"
        if self.kind == "file":
            return (
                f"imported file {self.name or '(unnamed)'} sha256 {self.sha256}: NOT live, "
                "its times were chosen when it was imported"
            )
        return f"demo scene {self.name}: synthetic footage, NOT a camera"


def describe_source(source: FootageSource | None) -> str:
    """:meth:`FootageSource.label`, or what an entry without a source means."""
    if source is None:
        return "not recorded (sealed before packseal recorded footage sources)"
    return source.label()


def network_source(url: str) -> FootageSource:
    """The ``rtsp``/``http`` source of a network camera's URL: its host and port only
    (no user name, password, path or query: they may hold credentials)."""
    parts = urlsplit(url)
    kind: Literal["rtsp", "http"] = "rtsp" if parts.scheme.lower().startswith("rtsp") else "http"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return FootageSource(kind, host=f"{host}:{port}" if port is not None else host)
