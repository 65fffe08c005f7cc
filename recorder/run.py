"""One recording run: one ffmpeg process, one init section, consecutive segments.

The writer thread feeds frames in; the station's main loop asks which segments have
closed and when their frames were captured. Capture times go to ``frames.bin`` in the
run directory (12 bytes per frame, flushed every segment), so after a crash the
segments that ffmpeg completed can still be sealed with their true times.

A segment's frames are located by cumulative frame counts from the playlist durations
(what ffmpeg actually cut), not by assuming a fixed number per segment.
"""

from __future__ import annotations

import json
import struct
import threading
from array import array
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from recorder.encoder import INIT_NAME, ClosedSegment, Encoder, SegmentWatcher, list_closed_segments
from recorder.settings import EncoderSettings

_RECORD = struct.Struct("<qi")  # capture time (ms), frames dropped just before this one
FRAMES_FILE = "frames.bin"
META_FILE = "run.json"


@dataclass(frozen=True, slots=True)
class SegmentTiming:
    start_ms: int
    end_ms: int
    frames: int
    dropped: int


class Timeline:
    """Capture time and preceding drops of every frame of a run, addressable by frame number."""

    def __init__(self, frame_ms: float) -> None:
        self.frame_ms = frame_ms
        self._t = array("q")
        self._dropped = array("i")
        self._base = 0  # frame number of _t[0]
        self._lock = threading.Lock()

    def append(self, t_ms: int, dropped: int) -> int:
        with self._lock:
            self._t.append(t_ms)
            self._dropped.append(dropped)
            return self._base + len(self._t) - 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._base + len(self._t)

    def span(self, first: int, frames: int, *, final: bool) -> SegmentTiming | None:
        """Timing of frames ``first .. first+frames-1``; ``None`` if they are not all known."""
        with self._lock:
            lo, hi = first - self._base, first - self._base + frames
            if lo < 0 or frames <= 0 or hi > len(self._t):
                return None
            start = self._t[lo]
            if hi < len(self._t):
                end = self._t[hi]
            elif final:
                end = self._t[hi - 1] + round(self.frame_ms)
            else:
                return None
            return SegmentTiming(start, max(end, start), frames, sum(self._dropped[lo:hi]))

    def estimate(self, first: int, frames: int, run_start_ms: int) -> SegmentTiming:
        """Timing extrapolated from the last known frame (or the run's start)."""
        with self._lock:
            known = len(self._t)
            if known:
                anchor_n, anchor_t = self._base + known - 1, self._t[-1]
            else:
                anchor_n, anchor_t = 0, run_start_ms

            def t(n: int) -> int:
                lo = n - self._base
                if 0 <= lo < known:
                    return int(self._t[lo])
                return anchor_t + round((n - anchor_n) * self.frame_ms)

            return SegmentTiming(t(first), t(first + frames), frames, 0)

    def release_before(self, frame: int) -> None:
        with self._lock:
            cut = min(max(0, frame - self._base), len(self._t))
            del self._t[:cut]
            del self._dropped[:cut]
            self._base += cut

    @classmethod
    def load(cls, path: Path, frame_ms: float) -> Timeline:
        tl = cls(frame_ms)
        data = path.read_bytes() if path.exists() else b""
        usable = len(data) - len(data) % _RECORD.size  # a torn last record is dropped
        for t_ms, dropped in _RECORD.iter_unpack(data[:usable]):
            tl.append(t_ms, dropped)
        return tl


class Run:
    """A run being recorded (``encoder`` set) or one found on disk after a crash."""

    def __init__(
        self,
        run_id: str,
        directory: Path,
        fps: Fraction,
        encoder: Encoder | None,
        *,
        sealed: frozenset[int] = frozenset(),
        gap_reason: str = "restart",
    ) -> None:
        self.id = run_id
        # Why footage may be missing before this run's first segment ("restart", "crash",
        # "camera-lost", "encoder-died"): fixed by whoever starts the run, before any other
        # thread sees it.
        self.gap_reason = gap_reason
        self.dir = directory
        self.fps = fps
        self.encoder = encoder
        self.watcher = SegmentWatcher(directory)
        self.timeline = Timeline(1000 / float(fps))
        self._frames_out = open(directory / FRAMES_FILE, "ab") if encoder else None  # noqa: SIM115
        self._sealed = sealed  # segments a crashed station had already sealed (files gone)
        self._cursor = 0  # first frame of the next segment to hand out
        self._pending: list[ClosedSegment] = []
        self._listed = False  # every segment ffmpeg will ever close has been seen
        self.init_sha: str | None = None
        self.started_ms = 0
        self.ended = encoder is None
        self.sealed_segments = 0

    @classmethod
    def start(
        cls,
        run_id: str,
        root: Path,
        settings: EncoderSettings,
        *,
        width: int,
        height: int,
        fps: Fraction,
        ffmpeg: str,
        started_ms: int,
        gap_reason: str = "restart",
    ) -> Run:
        directory = root / run_id
        directory.mkdir(parents=True, exist_ok=False)
        meta = {
            "run": run_id,
            "fps": str(fps),
            "width": width,
            "height": height,
            "started": started_ms,
        }
        (directory / META_FILE).write_text(json.dumps(meta))
        encoder = Encoder.start(settings, width, height, fps, directory, ffmpeg=ffmpeg)
        run = cls(run_id, directory, fps, encoder, gap_reason=gap_reason)
        run.started_ms = started_ms
        return run

    @staticmethod
    def run_id_of(directory: Path) -> str:
        return str(json.loads((directory / META_FILE).read_text())["run"])

    @classmethod
    def recover(cls, directory: Path, sealed: frozenset[int], gap_reason: str = "restart") -> Run:
        meta = json.loads((directory / META_FILE).read_text())
        fps = Fraction(meta["fps"])
        run = cls(meta["run"], directory, fps, None, sealed=sealed, gap_reason=gap_reason)
        run.timeline = Timeline.load(directory / FRAMES_FILE, 1000 / float(run.fps))
        run.started_ms = int(meta["started"])
        return run

    # -- writer side -----------------------------------------------------------------

    def write(self, t_ms: int, dropped: int, i420: bytes) -> int:
        """Record a frame's time and send it to the encoder; returns its frame number."""
        assert self.encoder is not None
        assert self._frames_out is not None
        n = self.timeline.append(t_ms, dropped)
        self._frames_out.write(_RECORD.pack(t_ms, dropped))
        if n % 30 == 29:
            self._frames_out.flush()  # survives a crash of this process (not power loss)
        self.encoder.write(i420)
        return n

    def finish(self, timeout: float = 20.0) -> None:
        """Close ffmpeg's input so it writes the last segment; never raises."""
        self._close_journal()
        if self.encoder is not None:
            try:
                self.encoder.close(timeout)
            except Exception:
                self.encoder.kill()
        self.ended = True

    def kill(self) -> None:
        self._close_journal()
        if self.encoder is not None:
            self.encoder.kill()
        self.ended = True

    def _close_journal(self) -> None:
        if self._frames_out is not None:
            self._frames_out.close()
            self._frames_out = None

    # -- sealer side -----------------------------------------------------------------

    def closed_segments(self) -> list[tuple[ClosedSegment, SegmentTiming]]:
        """Segments ffmpeg has finished, in order, with their capture timing."""
        if self.encoder is None:
            if not self._listed:
                self._pending.extend(list_closed_segments(self.dir, sealed=self._sealed))
                self._listed = True
        else:
            exited = not self.encoder.alive
            self._pending.extend(self.watcher.poll())
            self._listed = exited  # a poll after ffmpeg exited has seen its last segment
        ready: list[tuple[ClosedSegment, SegmentTiming]] = []
        while self._pending:
            seg = self._pending[0]
            frames = max(1, round(Fraction(seg.duration).limit_denominator(10_000) * self.fps))
            last = self._listed and len(self._pending) == 1
            timing = self.timeline.span(self._cursor, frames, final=last)
            if timing is None and self._listed:
                # ffmpeg wrote frames whose capture times our journal never flushed (a
                # crash): extrapolate at the nominal rate rather than lose the segment.
                timing = self.timeline.estimate(self._cursor, frames, self.started_ms)
            if timing is None:
                break
            self._pending.pop(0)
            self._cursor += frames
            if seg.index not in self._sealed:
                ready.append((seg, timing))
        return ready

    def release(self) -> None:
        self.timeline.release_before(self._cursor)

    @property
    def init_path(self) -> Path:
        return self.dir / INIT_NAME

    def drained(self) -> bool:
        """Ended, and every segment ffmpeg closed has been handed out."""
        return self.ended and self._listed and not self._pending

    def remove(self) -> None:
        for path in sorted(self.dir.iterdir()):
            path.unlink()
        self.dir.rmdir()
