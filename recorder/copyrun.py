"""Stream-copy runs: ffmpeg reads an H.264 or H.265 RTSP camera itself and copies its
frames into the same 2 s fMP4 segments as a recording run, with no re-encode and no
overlay.

One ffmpeg process per run, two outputs from one input:

- ``-c:v copy`` into the HLS fMP4 muxer (segments cut at the camera's keyframes, so a
  segment is as long as a whole number of the camera's GOPs, ~2 s or more); H.265 is
  tagged ``hvc1`` (parameter sets in the init section, as Apple's HLS players want);
- either the same stream decoded, cut to ``scan_fps`` and scaled to ``scan_width``, as raw
  BGR on stdout: what the station scans and measures motion on; or, when the station
  scans the camera's sub-stream instead (:mod:`recorder.substream`), nothing is decoded
  and stdout is one ``framecrc`` line per copied packet: its decode time, read on
  arrival, which times the run and shows it is alive.

Python is not in the frame path: it reads a few small frames (or ~30 short lines) a
second. A segment's times and drops come from its own ``tfdt``/``trun``
(:mod:`recorder.fragtime`): the camera's timestamps, anchored to the station clock at
the earliest of: the first scan frame's arrival, the first segment's closing minus its
span, and (packet lines) the smallest ``arrival - decode time`` over the run's first
packets. ffmpeg's log goes through :func:`storage.redact.redact` (ffmpeg names its input
URL, password included, in its errors).

A run ends when the camera stops (ffmpeg's RTSP ``timeout`` is the stall watchdog: no
data for ``stall_seconds`` and it exits, writing the last segment) or when the station
closes it (SIGTERM makes ffmpeg finish the segment it holds, FIELD-NOTES).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Self

import numpy as np

from recorder._errors import EncoderError
from recorder.clock import Clock
from recorder.encoder import (
    INIT_NAME,
    LOG_NAME,
    PLAYLIST_NAME,
    ClosedSegment,
    SegmentWatcher,
    list_closed_segments,
)
from recorder.fragtime import fragment_times, init_timescale
from recorder.run import META_FILE, SegmentTiming
from recorder.sources import Image
from storage.redact import redact

__all__ = [
    "COPY_CODECS",
    "FFMPEG_MODES",
    "CopyRun",
    "ScanGeometry",
    "copy_codec",
    "copy_command",
]

# run.json's "mode" of the runs CopyRun records and recovers: stream copy, webcam capture.
FFMPEG_MODES = frozenset({"copy", "capture"})

# FFmpeg's (OpenCV's) names of a stream's codec -> the codec a copied run records
COPY_CODECS = {"h264": "h264", "avc1": "h264", "hevc": "hevc", "hev1": "hevc", "hvc1": "hevc",
               "h265": "hevc"}  # fmt: skip
_PACKET_ANCHOR_MS = 10_000  # packets after this far into the run no longer refine its anchor


def copy_codec(found: str) -> str | None:
    """``h264`` or ``hevc`` for a stream FFmpeg calls ``found``; None if it cannot be copied."""
    return COPY_CODECS.get(found.lower())


@dataclass(frozen=True, slots=True)
class ScanGeometry:
    """The scan frames ffmpeg hands over: their size, rate, and whether they are gray
    (one byte a pixel, the luma plane: a third of BGR's pipe bytes, no colour conversion
    on either side; the station screen's preview is then gray too)."""

    width: int
    height: int
    fps: float
    gray: bool = False

    @classmethod
    def of(
        cls, width: int, height: int, scan_width: int | None, fps: float, *, gray: bool = False
    ) -> ScanGeometry:
        w = width if scan_width is None or scan_width >= width else scan_width
        w -= w % 2
        h = round(height * w / width)
        return cls(w, h - h % 2, fps, gray)

    @property
    def pix_fmt(self) -> str:
        return "gray" if self.gray else "bgr24"

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * (1 if self.gray else 3)

    def image(self, data: bytes) -> Image:
        """One frame's bytes as an image (BGR, or 2-D gray)."""
        flat = np.frombuffer(data, dtype=np.uint8)
        if self.gray:
            return flat.reshape(self.height, self.width)
        return flat.reshape(self.height, self.width, 3)


def copy_command(
    url: str,
    *,
    out_dir: Path,
    ffmpeg: str,
    segment_seconds: int,
    scan: ScanGeometry | None,
    transport: str,
    stall_seconds: float,
    codec: str = "h264",
) -> list[str]:
    """The ffmpeg command of one stream-copy run (tested by equality). ``scan=None``: the
    station scans another stream, so nothing is decoded here; stdout carries packet times."""
    out = Path(out_dir)
    if "%" in str(out):
        raise ValueError(f"out_dir must not contain '%' (ffmpeg expands it): {str(out)!r}")
    if codec not in ("h264", "hevc"):
        raise ValueError(f"codec: expected h264 or hevc, found {codec!r}")
    tag = ["-tag:v", "hvc1"] if codec == "hevc" else []
    second = (
        ["-map", "0:v:0", "-c:v", "copy", "-f", "framecrc", "-flush_packets", "1", "pipe:1"]
        if scan is None
        else ["-map", "0:v:0", "-vf", f"fps={scan.fps:g},scale={scan.width}:{scan.height}",
              "-pix_fmt", scan.pix_fmt, "-f", "rawvideo", "pipe:1"]
    )  # fmt: skip
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-rtsp_transport", transport,
        "-timeout", str(round(stall_seconds * 1_000_000)),  # socket I/O, microseconds
        "-i", url,
        "-map", "0:v:0", "-c:v", "copy", *tag,
        "-f", "hls", "-hls_time", str(segment_seconds), "-hls_list_size", "0",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", INIT_NAME,
        "-hls_segment_filename", str(out / "seg_%06d.m4s"),
        "-hls_segment_options", "movflags=+skip_sidx", "-hls_flags", "temp_file",
        str(out / PLAYLIST_NAME),
        *second,
    ]  # fmt: skip


class CopyRun:
    """One stream-copy run, with the interface :class:`~recorder.sealqueue.SealQueue` uses."""

    def __init__(
        self, run_id: str, directory: Path, fps: Fraction, *, gap_reason: str = "restart"
    ) -> None:
        self.id = run_id
        self.gap_reason = gap_reason
        self.dir = directory
        self.fps = fps
        self.watcher = SegmentWatcher(directory)
        self.init_sha: str | None = None
        self.started_ms = 0
        self.ended = True
        self.sealed_segments = 0
        self.dropped = 0  # frames missing by the camera's timestamps, in segments handed out
        self.scan: ScanGeometry | None = None
        self.mode = "copy"
        self.on_dropped: Callable[[int], None] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_thread: threading.Thread | None = None
        self._anchor: int | None = None  # station ms of the run's first decode time
        self._timescale: int | None = None
        self._first_dts: int | None = None
        self._pending: list[ClosedSegment] = []
        self._listed = True
        self._clock: Clock | None = None  # set while recording: when segments are seen
        self._first_frame: int | None = None  # station ms the first scan frame arrived
        self._first_seen: int | None = None  # station ms the first segment was seen closed
        # packet lines (no scan output): min over early packets of arrival - decode time
        self._packet_anchor: int | None = None
        self._packet_thread: threading.Thread | None = None

    @classmethod
    def start(
        cls,
        run_id: str,
        root: Path,
        url: str,
        *,
        fps: Fraction,
        ffmpeg: str,
        segment_seconds: int,
        scan: ScanGeometry | None,
        transport: str,
        stall_seconds: float,
        gap_reason: str,
        codec: str = "h264",
        clock: Clock | None = None,
    ) -> CopyRun:
        """``scan=None`` (the station scans a sub-stream): copy only; ``clock`` times the
        copied packets as they arrive, so it is required then."""
        if scan is None and clock is None:
            raise ValueError("a copy run without scan frames needs the clock to time its packets")
        command = copy_command(
            url,
            out_dir=root / run_id,
            ffmpeg=ffmpeg,
            segment_seconds=segment_seconds,
            scan=scan,
            transport=transport,
            stall_seconds=stall_seconds,
            codec=codec,
        )
        return cls.launch(
            run_id, root, command, mode="copy", fps=fps, scan=scan, gap_reason=gap_reason,
            clock=clock,
        )  # fmt: skip

    @classmethod
    def launch(
        cls,
        run_id: str,
        root: Path,
        command: list[str],
        *,
        mode: str,
        fps: Fraction,
        scan: ScanGeometry | None,
        gap_reason: str,
        clock: Clock | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """Start ``command``, an ffmpeg whose outputs are the segments in the new directory
        ``root/run_id`` and on stdout the scan frames (or, ``scan=None``, packet lines):
        what every ffmpeg-recorded run shares (stream copy; webcam capture,
        :mod:`recorder.webcam`). ``mode`` is saved for a recovery."""
        if mode not in FFMPEG_MODES:
            raise ValueError(f"mode: expected one of {sorted(FFMPEG_MODES)}, found {mode!r}")
        directory = root / run_id
        directory.mkdir(parents=True, exist_ok=False)
        run = cls(run_id, directory, fps, gap_reason=gap_reason)
        run.scan = scan
        run.mode = mode
        run._clock = clock
        run._write_meta()
        try:
            run._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=None if env is None else {**os.environ, **env},
                start_new_session=True,  # the station, not Ctrl-C, stops it (SIGTERM)
            )
        except OSError as e:
            raise EncoderError(f"cannot start ffmpeg {command[0]!r}: {e}") from e
        run.ended = False
        run._listed = False
        run._log_thread = threading.Thread(
            target=_redacted_log, args=(run._process.stderr, directory / LOG_NAME), daemon=True
        )
        run._log_thread.start()
        if scan is None:
            run._packet_thread = threading.Thread(target=run._read_packets, daemon=True)
            run._packet_thread.start()
        return run

    def _read_packets(self) -> None:
        """Time each copied packet on arrival (framecrc lines: ``stream, dts, pts, ...``)."""
        assert self._process is not None
        assert self._process.stdout is not None
        assert self._clock is not None
        scale: Fraction | None = None  # ms per decode-time unit
        first: int | None = None
        with contextlib.suppress(OSError, ValueError):
            for line in iter(self._process.stdout.readline, b""):
                now = self._clock.now_ms()
                if line.startswith(b"#tb 0:"):
                    num, _, den = line.split(b":", 1)[1].strip().partition(b"/")
                    scale = Fraction(int(num) * 1000, int(den))
                    continue
                if line.startswith(b"#") or scale is None:
                    continue
                dts = int(line.split(b",")[1])
                if first is None:
                    first = dts
                    # like a first scan frame's arrival: a bound saved for a recovery
                    self._first_frame = self.started_ms = now
                    self._write_meta()
                at = round((dts - first) * scale)
                if at > _PACKET_ANCHOR_MS:
                    continue  # enough samples; later ones would only add clock drift
                # the packet arrived at `now`, so its frame was captured no later: the
                # run's first frame no later than now - at (a burst of buffered frames on
                # connect shows the true lag).
                bound = now - at
                if self._packet_anchor is None or bound < self._packet_anchor:
                    self._packet_anchor = bound

    @property
    def alive(self) -> bool:
        """ffmpeg is still running (a run without scan frames has no other sign of life)."""
        return self._process is not None and self._process.poll() is None

    def _write_meta(self) -> None:
        meta = {
            "run": self.id,
            "mode": self.mode,
            "fps": str(self.fps),
            "anchor": self._anchor,  # station ms of the first decode time (first_dts)
            "first_frame": self._first_frame,
            "first_dts": self._first_dts,
        }
        tmp = self.dir / f"{META_FILE}.{threading.get_ident()}.tmp"  # two threads write it
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, self.dir / META_FILE)

    @classmethod
    def recover(cls, directory: Path, sealed: frozenset[int], gap_reason: str) -> Self:
        """A copy run a crashed station left: its closed segments, timed by their own
        decode times against the anchor saved when its first frame arrived."""
        meta = json.loads((directory / META_FILE).read_text())
        run = cls(meta["run"], directory, Fraction(meta["fps"]), gap_reason=gap_reason)
        run.mode = meta.get("mode", "copy")
        run._anchor = meta.get("anchor")
        run._first_dts = meta.get("first_dts")
        run._first_frame = meta.get("first_frame")
        found = list_closed_segments(directory, sealed=sealed)
        run._pending = [s for s in found if s.index not in sealed]
        if run._anchor is None and run._first_frame is None:
            run._pending = []  # no frame ever reached the station: nothing to time them by
        return run

    # -- the scan frames ------------------------------------------------------------

    def watch(self, clock: Clock) -> None:
        """Time what :meth:`closed_segments` sees against ``clock`` (a live run)."""
        self._clock = clock

    def read_frame(self, clock: Clock) -> tuple[Image, int] | None:
        """The next scan frame and the station time it arrived; None when ffmpeg ended."""
        assert self._process is not None
        assert self._process.stdout is not None
        assert self.scan is not None
        data = _read_exact(self._process.stdout, self.scan.frame_bytes)
        if data is None:
            return None
        now = clock.now_ms()
        if self._first_frame is None:
            self._first_frame = self.started_ms = now
            self._write_meta()
        return self.scan.image(data), now

    # -- sealer side ------------------------------------------------------------------

    def closed_segments(self) -> list[tuple[ClosedSegment, SegmentTiming]]:
        if self._process is not None:
            exited = self._process.poll() is not None
            new = self.watcher.poll()
            if new and self._first_seen is None and self._clock is not None:
                self._first_seen = self._clock.now_ms()
            self._pending.extend(new)
            self._listed = exited
        ready: list[tuple[ClosedSegment, SegmentTiming]] = []
        while self._pending:
            seg = self._pending[0]
            if self._timescale is None:
                self._timescale = init_timescale((self.dir / INIT_NAME).read_bytes())
            times = fragment_times(seg.path.read_bytes())
            if self._first_dts is None:
                # The first scan frame's arrival and the first segment's closing are both
                # upper bounds of when its first frame was captured (a loaded machine
                # delays either by seconds); the earlier is the better anchor.
                span = round((times.end - times.start) * 1000 / self._timescale)
                bounds = [self._first_frame, self._packet_anchor]
                bounds.append(None if self._first_seen is None else self._first_seen - span)
                known = [b for b in bounds if b is not None]
                if not known:
                    break  # nothing has timed this run yet
                self._anchor = min(known)
                self._first_dts = times.start
                self._write_meta()  # a recovery times later segments from the same origin
            self._pending.pop(0)
            anchor, first, scale = self._anchor, self._first_dts, self._timescale
            assert anchor is not None
            start = anchor + round((times.start - first) * 1000 / scale)
            end = anchor + round((times.end - first) * 1000 / scale)
            dropped = times.dropped(scale / float(self.fps))
            self.dropped += dropped
            if self.on_dropped is not None and dropped:
                self.on_dropped(dropped)
            frames = len(times.durations)
            ready.append((seg, SegmentTiming(start, end, frames, dropped)))
        return ready

    def release(self) -> None:
        pass

    @property
    def init_path(self) -> Path:
        return self.dir / INIT_NAME

    def drained(self) -> bool:
        return self.ended and self._listed and not self._pending

    def finish(self, timeout: float = 20.0) -> None:
        """SIGTERM: ffmpeg writes the segment it holds and the playlist's end; never raises."""
        process = self._process
        if process is not None and process.poll() is None:
            # Keep reading its scan output while it finishes: a full pipe would block
            # ffmpeg before it writes the last segment (it then waited out the timeout and
            # was killed, losing that segment: found by timing the copy-mode test's stop).
            _terminate(process, timeout, self._packet_thread)
        self._close()

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(5)
        self._close()

    def _close(self) -> None:
        if self._packet_thread is not None:
            self._packet_thread.join(5)  # ffmpeg has ended: its stdout is at EOF
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()
        if self._log_thread is not None:
            self._log_thread.join(5)
        self.ended = True

    def remove(self) -> None:
        for path in sorted(self.dir.iterdir()):
            path.unlink()
        self.dir.rmdir()


def _read_exact(stream: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    got = 0
    while got < size:
        try:
            chunk = stream.read(size - got)
        except (OSError, ValueError):
            return None
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _terminate(
    process: subprocess.Popen[bytes], timeout: float, reader: threading.Thread | None = None
) -> None:
    """SIGTERM, then SIGKILL after ``timeout``. Its stdout keeps being read meanwhile (by
    ``reader``, or a thread that discards it): a full pipe would block ffmpeg before it
    finishes what it holds."""
    drain = reader or threading.Thread(target=_discard, args=(process.stdout,), daemon=True)
    if reader is None:
        drain.start()
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    drain.join(5)


def _discard(stream: IO[bytes] | None) -> None:
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError):
        while stream.read(1 << 16):
            pass


def _redacted_log(stream: IO[bytes] | None, path: Path) -> None:
    """ffmpeg's stderr into its log file, each line without credentials."""
    if stream is None:
        return
    with stream, open(path, "ab") as log:
        for line in iter(stream.readline, b""):
            log.write(redact(line.decode("utf-8", errors="replace")).encode())
            log.flush()
