"""The bundle's ``manifest.json``: what export wrote, for people and tools (not trusted).

Nothing in the manifest is signed. The verifier uses it only for what the signed entry
cannot say (which segments an excerpt holds, that a video is a derived copy, the display
zone), compares everything else with the signed entry and the bytes, and names each
disagreement. Parsing is strict: bounded size, exact keys, exact types.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from storage import FormatError
from verifier.timeline import MAX_TRACKS, Timeline, TrackShift

FORMAT = "packseal-bundle/v1"
MAX_MANIFEST_BYTES = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_INT = 2**53 - 1
_TOP_KEYS = frozenset(
    [
        "format",
        "clip_id",
        "order_id",
        "origin",
        "clip_index",
        "station_key_index",
        "checkpoint_size",
        "video",
        "zone",
        "members",
    ]
)
# Optional: only a clip filmed by several cameras has further views (left out otherwise,
# so a one-view manifest is what it always was).
_TOP_OPTIONAL = frozenset(["views"])
_VIEW_KEYS = frozenset(
    ["view", "member", "segments", "segment_count", "sealed_sha256", "sealed_size", "timeline"]
)
MAX_MANIFEST_VIEWS = 3
_VIDEO_KEYS = frozenset(
    ["member", "segments", "segment_count", "sealed_sha256", "sealed_size", "excerpt_ms", "derived"]
)
# Optional: bundles exported before clips were rebased (verifier.timeline) have none.
_VIDEO_OPTIONAL = frozenset(["timeline"])
_SHIFT_KEYS = frozenset(["decode", "empty_edit"])
_DERIVED_KEYS = frozenset(["sha256", "size", "width", "height", "max_bytes"])
_MEMBER_KEYS = frozenset({"size", "sha256"})


@dataclass(frozen=True, slots=True)
class Member:
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Derived:
    """A re-encoded copy that fits an upload form; it cannot match the sealed hashes."""

    sha256: str
    size: int
    width: int
    height: int
    max_bytes: int


@dataclass(frozen=True, slots=True)
class ViewVideo:
    """A further view's video in the bundle (the primary's is the manifest's ``video``)."""

    view: str
    member: str  # clip.<view>.mp4
    first: int  # positions (0-based, inclusive) in the view's signed segments
    last: int
    segment_count: int  # the view's segments in the entry
    sealed_sha256: str  # of the view's sealed bytes: init + segments first..last
    sealed_size: int
    timeline: Timeline  # how the member's decode times were moved (verifier.timeline)

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "member": self.member,
            "segments": [self.first, self.last],
            "segment_count": self.segment_count,
            "sealed_sha256": self.sealed_sha256,
            "sealed_size": self.sealed_size,
            "timeline": self.timeline.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Manifest:
    clip_id: str
    order_id: str
    origin: str
    clip_index: int
    station_key_index: int
    checkpoint_size: int
    video: str  # the video member: clip.mp4 (sealed bytes) or derived.mp4
    first: int  # position (0-based) in the entry's segments of the video's first segment
    last: int  # ... and of its last, inclusive
    segment_count: int  # segments in the entry
    sealed_sha256: str  # SHA-256 of the sealed bytes: init + segments first..last
    sealed_size: int
    excerpt_ms: tuple[int, int] | None  # requested START-END, ms from the clip's start
    derived: Derived | None
    # How clip.mp4's decode times were moved onto the clip's own timeline; None: they
    # were not (a derived copy, or a bundle from before). verify puts them back.
    timeline: Timeline | None
    zone: str | None  # display zone of local times (IANA name or UTC+HH:MM); not evidence
    members: dict[str, Member]  # every member but manifest.json and SHA256SUMS
    views: tuple[ViewVideo, ...] = ()  # further views (a clip filmed by several cameras)

    @property
    def is_excerpt(self) -> bool:
        return self.first != 0 or self.last != self.segment_count - 1

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "clip_id": self.clip_id,
            "order_id": self.order_id,
            "origin": self.origin,
            "clip_index": self.clip_index,
            "station_key_index": self.station_key_index,
            "checkpoint_size": self.checkpoint_size,
            "video": {
                "member": self.video,
                "segments": [self.first, self.last],
                "segment_count": self.segment_count,
                "sealed_sha256": self.sealed_sha256,
                "sealed_size": self.sealed_size,
                "excerpt_ms": list(self.excerpt_ms) if self.excerpt_ms else None,
                "derived": None
                if self.derived is None
                else {
                    "sha256": self.derived.sha256,
                    "size": self.derived.size,
                    "width": self.derived.width,
                    "height": self.derived.height,
                    "max_bytes": self.derived.max_bytes,
                },
                **({} if self.timeline is None else {"timeline": self.timeline.to_dict()}),
            },
            "zone": self.zone,
            "members": {
                name: {"size": m.size, "sha256": m.sha256}
                for name, m in sorted(self.members.items())
            },
        }
        if self.views:
            doc["views"] = [v.to_dict() for v in self.views]
        return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse; raise :class:`FormatError` naming the first wrong key."""
        if len(data) > MAX_MANIFEST_BYTES:
            raise FormatError(f"manifest.json is {len(data)} bytes, more than {MAX_MANIFEST_BYTES}")
        try:
            doc = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise FormatError(f"manifest.json is not JSON: {e}") from e
        top = _obj(doc, "manifest", _TOP_KEYS, _TOP_OPTIONAL)
        video = _obj(top["video"], "video", _VIDEO_KEYS, _VIDEO_OPTIONAL)
        first, last = _pair(video["segments"], "video.segments")
        excerpt = None if video["excerpt_ms"] is None else _pair(video["excerpt_ms"], "excerpt_ms")
        derived = None
        if video["derived"] is not None:
            d = _obj(video["derived"], "video.derived", _DERIVED_KEYS)
            derived = Derived(
                _hex(d["sha256"], "derived.sha256"),
                _int(d["size"], "derived.size"),
                _int(d["width"], "derived.width"),
                _int(d["height"], "derived.height"),
                _int(d["max_bytes"], "derived.max_bytes"),
            )
        timeline = None if "timeline" not in video else _timeline(video["timeline"])
        members_doc = top["members"]
        if not isinstance(members_doc, dict) or len(members_doc) > 64:
            raise FormatError("manifest members must be an object of at most 64 members")
        members = {}
        for name, m in members_doc.items():
            item = _obj(m, f"members.{name}", _MEMBER_KEYS)
            members[name] = Member(
                _int(item["size"], f"{name}.size"), _hex(item["sha256"], f"{name}.sha256")
            )
        views = _views(top["views"]) if "views" in top else ()
        zone = top["zone"]
        if zone is not None and (not isinstance(zone, str) or len(zone) > 64):
            raise FormatError("manifest zone must be null or a zone name")
        return cls(
            clip_id=_str(top["clip_id"], "clip_id"),
            order_id=_str(top["order_id"], "order_id"),
            origin=_str(top["origin"], "origin"),
            clip_index=_int(top["clip_index"], "clip_index"),
            station_key_index=_int(top["station_key_index"], "station_key_index"),
            checkpoint_size=_int(top["checkpoint_size"], "checkpoint_size"),
            video=_str(video["member"], "video.member"),
            first=first,
            last=last,
            segment_count=_int(video["segment_count"], "video.segment_count"),
            sealed_sha256=_hex(video["sealed_sha256"], "video.sealed_sha256"),
            sealed_size=_int(video["sealed_size"], "video.sealed_size"),
            excerpt_ms=excerpt,
            derived=derived,
            timeline=timeline,
            zone=zone,
            members=members,
            views=views,
        )


def format_of(data: bytes) -> object:
    """The ``format`` value of a manifest, or None: to tell "not ours" from "broken"."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return doc.get("format") if isinstance(doc, dict) else None


def _obj(
    value: object, where: str, keys: frozenset[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FormatError(f"manifest {where}: expected an object, found {type(value).__name__}")
    missing, extra = keys - value.keys(), value.keys() - keys - optional
    if missing or extra:
        raise FormatError(
            f"manifest {where}: missing {sorted(missing)}, unknown {sorted(extra)[:5]}"
        )
    return value


def _views(value: object) -> tuple[ViewVideo, ...]:
    if not isinstance(value, list) or not 0 < len(value) <= MAX_MANIFEST_VIEWS:
        raise FormatError(
            f"manifest views: expected a list of 1 to {MAX_MANIFEST_VIEWS} views, found "
            f"{value!r:.60}"
        )
    out = []
    for k, item in enumerate(value):
        where = f"views[{k}]"
        v = _obj(item, where, _VIEW_KEYS)
        first, last = _pair(v["segments"], f"{where}.segments")
        out.append(
            ViewVideo(
                view=_str(v["view"], f"{where}.view"),
                member=_str(v["member"], f"{where}.member"),
                first=first,
                last=last,
                segment_count=_int(v["segment_count"], f"{where}.segment_count"),
                sealed_sha256=_hex(v["sealed_sha256"], f"{where}.sealed_sha256"),
                sealed_size=_int(v["sealed_size"], f"{where}.sealed_size"),
                timeline=_timeline(v["timeline"], f"{where}.timeline"),
            )
        )
    return tuple(out)


def _timeline(value: object, where: str = "video.timeline") -> Timeline:
    if not isinstance(value, dict) or not 0 < len(value) <= MAX_TRACKS:
        raise FormatError(
            f"manifest {where}: expected an object of 1 to {MAX_TRACKS} tracks, found {value!r:.60}"
        )
    tracks = []
    for track, shift in value.items():
        if not re.fullmatch(r"[1-9][0-9]{0,9}", track) or int(track) >= 2**32:
            raise FormatError(f"manifest {where}: {track!r:.20} is not a track id")
        item = _obj(shift, f"{where}.{track}", _SHIFT_KEYS)
        at = f"{where}.{track}"
        tracks.append(
            TrackShift(
                int(track),
                _int(item["decode"], f"{at}.decode"),
                _int(item["empty_edit"], f"{at}.empty_edit"),
            )
        )
    return Timeline(tuple(sorted(tracks, key=lambda t: t.track)))


def _int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_INT:
        raise FormatError(f"manifest {where}: expected a non-negative integer, found {value!r:.40}")
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 512:
        raise FormatError(f"manifest {where}: expected a short string, found {value!r:.40}")
    return value


def _hex(value: object, where: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise FormatError(f"manifest {where}: expected 64 hex digits, found {value!r:.70}")
    return value


def _pair(value: object, where: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise FormatError(f"manifest {where}: expected [start, end], found {value!r:.40}")
    a, b = _int(value[0], where), _int(value[1], where)
    if b < a:
        raise FormatError(f"manifest {where}: end {b} is before start {a}")
    return a, b
