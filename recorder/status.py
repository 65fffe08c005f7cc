"""What a running station reports: its status for screens, and its figures at exit.

:class:`StationStatus` is what the status line and the station screen poll; the
:class:`Counters` are kept by the station as it runs, and :func:`run_stats` turns them
into what ``packseal record --stats-json`` writes (and ``bench record`` reads).
"""

from __future__ import annotations

import resource
import statistics
from dataclasses import dataclass, field
from typing import Literal

from recorder.scanner import ScanStats
from storage.entries import Scan

__all__ = [
    "ClipSummary",
    "Counters",
    "StationAlarmKind",
    "StationStatus",
    "ViewStatus",
    "run_stats",
]

# The controller's alarms and the station's own (disk full, a clip with no footage).
StationAlarmKind = Literal[
    "duplicate-order",
    "no-open-clip",
    "source-lost",
    "encoder-died",
    "disk-full",
    "no-footage",
    "scan-lost",
]


@dataclass(frozen=True, slots=True)
class ClipSummary:
    clip_id: str
    order_id: str
    state: Literal["recording", "sealing", "sealed", "cancelled", "interrupted", "lost"]
    started: int
    ended: int | None = None
    end_reason: str | None = None
    tracking_ids: tuple[str, ...] = ()
    repeat_of: str | None = None
    footage_ms: int | None = None  # once sealed: the clip's footage, as the store has it


@dataclass(frozen=True, slots=True)
class ViewStatus:
    """One view's health: what its camera delivers, and what it lost."""

    view: str | None  # None: the one camera of station.camera
    primary: bool
    scans: bool
    mode: Literal["encode", "copy"]
    width: int
    height: int
    lost: str | None  # why its camera is gone now; None while it delivers
    frames_captured: int
    frames_encoded: int
    frames_dropped: int
    fps: float


@dataclass(frozen=True, slots=True)
class StationStatus:
    state: Literal["starting", "idle", "recording", "alarm", "stopped"]
    now_ms: int  # footage time of the newest frame (the wall clock before the first)
    order_id: str | None
    clip_started: int | None
    tracking_ids: tuple[str, ...]
    alarms: tuple[str, ...]
    alarm_kinds: tuple[StationAlarmKind, ...]  # one per alarm: what it is about
    last_scan: Scan | None
    recent: tuple[ClipSummary, ...]
    frames_captured: int
    frames_encoded: int
    frames_dropped: int
    fps: float
    segments_sealed: int
    clips_opened: int
    clips_sealed: int
    alarm_count: int
    log_size: int
    # Each view, the primary first (the frame counts above are their sums).
    views: tuple[ViewStatus, ...] = ()


@dataclass(slots=True)
class Counters:
    captured: int = 0
    encoded: int = 0
    dropped: int = 0
    scans: int = 0
    segments: int = 0
    clips_opened: int = 0
    clips_sealed: int = 0
    alarms: int = 0
    scan_to_open_ms: list[int] = field(default_factory=list)
    close_to_sealed_ms: list[int] = field(default_factory=list)
    segment_to_sealed_ms: list[int] = field(default_factory=list)


def run_stats(
    c: Counters,
    scan: ScanStats,
    footage_ms: int,
    views: tuple[tuple[ViewStatus, ScanStats | None], ...] = (),
) -> dict[str, object]:
    """The station's figures at exit, with this process's and its children's CPU time;
    with several views, each one's under ``views``."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "frames_captured": c.captured,
        "frames_encoded": c.encoded,
        "frames_dropped": c.dropped,
        "footage_seconds": round(footage_ms / 1000, 3),
        "segments_sealed": c.segments,
        "scans": c.scans,
        "clips_opened": c.clips_opened,
        "clips_sealed": c.clips_sealed,
        "alarms": c.alarms,
        "cpu_seconds": round(
            usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime, 3
        ),
        "cpu_seconds_ffmpeg": round(children.ru_utime + children.ru_stime, 3),
        "scan_decode_ms_median": scan.decode_ms_median,
        "scan_decode_ms_p95": scan.decode_ms_p95,
        "scan_frames": scan.frames,
        "scan_errors": scan.errors,
        "latency_scan_to_open_ms": _dist(c.scan_to_open_ms),
        "latency_close_to_sealed_ms": _dist(c.close_to_sealed_ms),
        "latency_last_segment_to_sealed_ms": _dist(c.segment_to_sealed_ms),
        **({"views": [_view_stats(v, s) for v, s in views]} if len(views) > 1 else {}),
    }


def _view_stats(v: ViewStatus, scan: ScanStats | None) -> dict[str, object]:
    return {
        "view": v.view,
        "mode": v.mode,
        "size": f"{v.width}x{v.height}",
        "frames_captured": v.frames_captured,
        "frames_encoded": v.frames_encoded,
        "frames_dropped": v.frames_dropped,
        "scan_frames": None if scan is None else scan.frames,
        "scan_decode_ms_median": None if scan is None else scan.decode_ms_median,
    }


def _dist(values: list[int]) -> dict[str, float] | None:
    if not values:
        return None
    s = sorted(values)
    return {
        "n": len(s),
        "median": float(statistics.median(s)),
        "p95": float(s[min(len(s) - 1, int(0.95 * len(s)))]),
        "max": float(s[-1]),
    }
