"""The encoder: one ffmpeg process per run writing fMP4 segments, and the watcher that
reports each segment once it is closed.

A *run* is one ffmpeg process. Python writes I420 frames into its stdin; libx264 encodes
them; ffmpeg's HLS muxer writes ``init.mp4`` (``ftyp`` + ``moov``), one
``seg_NNNNNN.m4s`` per segment (``styp`` + ``moof`` + ``mdat``, one fragment each, so a
clip is ``init.mp4`` followed by whole segment files) and rewrites ``index.m3u8`` after
each segment. Every segment starts with an IDR frame (``-g``, ``-sc_threshold 0`` and
forced keyframes on the segment grid), so any run of whole segments decodes alone.

Why "listed in the playlist" means "complete on disk" (strace of the ffmpeg 9.0 that
imageio-ffmpeg ships):

- The HLS muxer keeps the open fMP4 segment in memory and writes it out in one go when
  the next keyframe arrives; ``-hls_flags temp_file`` writes it as ``seg_N.m4s.tmp`` and
  renames it, and only then is the playlist written (always to a temp file, then
  renamed). So a listed segment is complete, a file with a final ``seg_N.m4s`` name is
  complete, and a SIGKILL loses just the segment in memory.
- ``init.mp4`` is created empty at start and written, and closed, right before the first
  segment: the watcher reports it only once the playlist exists.
- EOF on stdin makes ffmpeg write the last, shorter segment and ``#EXT-X-ENDLIST``.
- ``movflags=+skip_sidx``: with ffmpeg's default per-segment ``sidx`` box, init +
  segments concatenated probe as 7.2 s instead of 7.0 s (7 s at 10 fps), because each
  ``sidx`` indexes only its own segment; without it a clip is plain ``moof``/``mdat``.

Closing latency, from writing the last frame of segment N to the watcher seeing N listed
(``python -m bench encode``: 720p30 demo scene, veryfast CRF 28, 2 s segments, 2 cores):
a segment closes only when x264 emits the next segment's keyframe, i.e. after x264's frame
delay (lookahead, B-frames, frame threads, sync-lookahead). x264 preset defaults: 606 ms.
``sync-lookahead=0`` alone: 469 ms, byte-identical output. Plus ``rc-lookahead 5``:
307 ms (1080p30: 308 ms), +4 % MB/h at equal PSNR. ``rc-lookahead 3``: 236 ms, +7 %.
``-tune zerolatency`` (no B-frames, sliced threads): 50 ms, +23 %. We take
``sync-lookahead=0`` with ``rc-lookahead`` capped at 5 and keep B-frames: inside the 1 s
sealing budget with room for fsync and hashing. The delay is counted in frames (~9), so
a 10 fps camera waits ~1 s. At the same CRF the capped lookahead gives ~10 % smaller
files and ~1.2 dB lower PSNR than x264's defaults (mbtree sees less ahead).
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import re
import select
import shutil
import struct
import subprocess
import threading
import time
from collections.abc import Container
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO

import cv2
import ffmpeg as ffmpeg_python
import imageio_ffmpeg
import numpy as np

from recorder._errors import EncoderError
from recorder.settings import EncoderSettings
from recorder.sources import Image

__all__ = [
    "INIT_NAME",
    "LOG_NAME",
    "PLAYLIST_NAME",
    "ClosedSegment",
    "Encoder",
    "SegmentWatcher",
    "encoder_command",
    "encoder_options",
    "ffmpeg_path",
    "list_closed_segments",
    "to_i420",
]

PLAYLIST_NAME = "index.m3u8"
INIT_NAME = "init.mp4"
LOG_NAME = "ffmpeg.log"
_SEGMENT_TEMPLATE = "seg_%06d.m4s"
_SEGMENT_RE = re.compile(r"seg_([0-9]{6,})\.m4s")
# x264's rc-lookahead per preset; capped at 5 (see the module docstring for the numbers).
_PRESET_LOOKAHEAD = {
    "ultrafast": 0,
    "superfast": 0,
    "veryfast": 10,
    "faster": 20,
    "fast": 30,
    "medium": 40,
}
_LOOKAHEAD_CAP = 5
# Linux's cap for an unprivileged pipe. Frames into `ffmpeg -f null` (bench encode): 678
# vs 471 fps at 720p, 447 vs 252 at 1080p, against blocking writes into the default 64 KiB.
_PIPE_BYTES = 1 << 20
_TAIL_BYTES = 4000
_FFMPEG_HINT = (
    "set station.encoder.ffmpeg to the path of an ffmpeg built with libx264, or to null "
    "to use the one the imageio-ffmpeg package ships (pip install imageio-ffmpeg)"
)


def ffmpeg_path(settings: EncoderSettings) -> str:
    """The ffmpeg to run: ``settings.ffmpeg`` (a path or a name on PATH), else imageio-ffmpeg's."""
    if settings.ffmpeg is not None:
        found = shutil.which(settings.ffmpeg)
        if found is None:
            raise EncoderError(
                f"ffmpeg not found or not executable: {settings.ffmpeg!r}", hint=_FFMPEG_HINT
            )
        return found
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as e:
        raise EncoderError(f"imageio-ffmpeg has no ffmpeg binary: {e}", hint=_FFMPEG_HINT) from e


def _frames_per_segment(fps: Fraction, segment_seconds: int) -> int:
    return math.ceil(fps * segment_seconds)


def _check_geometry(width: int, height: int) -> None:
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"I420 needs a positive, even width and height, got {width}x{height}")


def encoder_options(settings: EncoderSettings, fps: Fraction) -> dict[str, object]:
    """libx264's output options (without ``-``), shared by every run that encodes."""
    seg = settings.segment_seconds
    options: dict[str, object] = {
        "c:v": "libx264",
        "preset": settings.preset,
        "crf": settings.crf,
        "rc-lookahead": min(_PRESET_LOOKAHEAD[settings.preset], _LOOKAHEAD_CAP),
        # bframes=0:subme=1 (veryfast: 3 and 2), measured on the 1080p demo scene as a
        # webcam's MJPEG (bench/README.md "webcam CPU"): x264 -27 % CPU (the whole capture
        # ffmpeg 0.62 -> 0.45 core), +10 % bytes at the same CRF for the same picture
        # (PSNR 43.50 -> 43.56 dB, SSIM 0.9859 -> 0.9854), and no B-frame delay.
        "x264-params": f"sync-lookahead=0:bframes={settings.bframes}:subme=1",
        "pix_fmt": "yuv420p",
        # to_i420 is BT.601 limited range (white -> Y 235, red -> 82/90/240); players show
        # untagged HD video as BT.709, which would shift the colours of the evidence.
        "colorspace": "smpte170m",
        "color_range": "tv",
        "g": _frames_per_segment(fps, seg),
        "sc_threshold": 0,
        "force_key_frames": f"expr:gte(t,n_forced*{seg})",
    }
    if settings.threads is not None:
        options["threads"] = settings.threads
    return options


def encoder_command(
    settings: EncoderSettings,
    *,
    width: int,
    height: int,
    fps: Fraction,
    out_dir: Path,
    ffmpeg: str,
) -> list[str]:
    """The ffmpeg command of one run: raw I420 on stdin -> libx264 -> HLS fMP4 in ``out_dir``."""
    _check_geometry(width, height)
    fps = Fraction(fps)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    out = Path(out_dir)
    if "%" in str(out):
        raise ValueError(f"out_dir must not contain '%' (ffmpeg expands it): {str(out)!r}")
    seg = settings.segment_seconds
    options = encoder_options(settings, fps)
    options.update(
        {
            "hls_time": seg,
            "hls_list_size": 0,
            "hls_segment_type": "fmp4",
            "hls_fmp4_init_filename": INIT_NAME,
            "hls_segment_filename": str(out / _SEGMENT_TEMPLATE),
            "hls_segment_options": "movflags=+skip_sidx",
            "hls_flags": "temp_file",
        }
    )
    source = ffmpeg_python.input(
        "pipe:",
        f="rawvideo",
        pix_fmt="yuv420p",
        video_size=(width, height),
        framerate=str(fps),
    )
    stream = source.output(str(out / PLAYLIST_NAME), f="hls", **options)
    cmd = stream.compile(cmd=[ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"])
    return [str(arg) for arg in cmd]


def to_i420(bgr: Image) -> bytes:
    """A BGR frame as the I420 bytes ffmpeg reads (width and height must be even)."""
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected a BGR uint8 image (h, w, 3), got {bgr.dtype} {bgr.shape}")
    _check_geometry(bgr.shape[1], bgr.shape[0])
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes()


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL_BYTES))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-8:])


class Encoder:
    """One ffmpeg run. Use :meth:`start`; write whole I420 frames; :meth:`close` at the end."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        log: IO[bytes],
        *,
        command: list[str],
        out_dir: Path,
        width: int,
        height: int,
        frames_per_segment: int,
    ) -> None:
        self._process = process
        self._log = log
        self.command = command
        self.out_dir = out_dir
        self.width = width
        self.height = height
        self.frames_per_segment = frames_per_segment
        self.frame_bytes = width * height * 3 // 2
        self._broken: str | None = None
        self._killed = False
        # kill() may come from another thread than write(): closing the fd mid-write
        # would let the next open() reuse its number and receive the rest of the frame.
        self._lock = threading.Lock()
        assert process.stdin is not None
        self._stdin: IO[bytes] | None = process.stdin
        fd = process.stdin.fileno()
        os.set_blocking(fd, False)
        if hasattr(fcntl, "F_SETPIPE_SZ"):
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)

    @classmethod
    def start(
        cls,
        settings: EncoderSettings,
        width: int,
        height: int,
        fps: Fraction,
        out_dir: Path,
        ffmpeg: str | None = None,
    ) -> Encoder:
        """Start ffmpeg writing a new run into ``out_dir`` (created; must hold no earlier run)."""
        out = Path(out_dir)
        fps = Fraction(fps)
        command = encoder_command(
            settings,
            width=width,
            height=height,
            fps=fps,
            out_dir=out,
            ffmpeg=ffmpeg if ffmpeg is not None else ffmpeg_path(settings),
        )
        out.mkdir(parents=True, exist_ok=True)
        # A second run in the same directory would overwrite seg_000000.m4s and the
        # playlist of the first, possibly before they were sealed.
        earlier = [p.name for p in (out / PLAYLIST_NAME, out / INIT_NAME) if p.exists()]
        earlier += [p.name for p in out.glob("seg_*.m4s*")]
        if earlier:
            raise ValueError(f"{out} already holds a run ({', '.join(sorted(earlier)[:3])})")
        log = open(out / LOG_NAME, "ab")  # noqa: SIM115 - owned by the Encoder until exit
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                bufsize=0,
                # The station, not the terminal's Ctrl-C, decides when ffmpeg stops: it
                # closes stdin so the last segment is written.
                start_new_session=True,
            )
        except OSError as e:
            log.close()
            raise EncoderError(f"cannot start ffmpeg {command[0]!r}: {e}", hint=_FFMPEG_HINT) from e
        return cls(
            process,
            log,
            command=command,
            out_dir=out,
            width=width,
            height=height,
            frames_per_segment=_frames_per_segment(fps, settings.segment_seconds),
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._process.poll()

    def write(self, frame: bytes | bytearray | memoryview, *, timeout: float = 5.0) -> None:
        """Write one whole I420 frame; raise :class:`EncoderError` if ffmpeg died or stalled.

        Waits at most ``timeout`` seconds for ffmpeg to take the frame. After an error the
        run is unusable (a partial frame would shift every later one): kill or close it.
        """
        view = memoryview(frame).cast("B")
        if view.nbytes != self.frame_bytes:
            raise ValueError(
                f"an I420 frame of {self.width}x{self.height} has {self.frame_bytes} bytes, "
                f"got {view.nbytes}"
            )
        with self._lock:
            if self._stdin is None:
                raise ValueError("write() after close() or kill()")
            if self._broken is not None:
                raise EncoderError(self._broken, hint=self._log_hint())
            fd = self._stdin.fileno()
            deadline = time.monotonic() + timeout
            poller = select.poll()
            poller.register(fd, select.POLLOUT)
            written = 0
            while written < view.nbytes:
                try:
                    written += os.write(fd, view[written:])
                    continue
                except BlockingIOError:
                    pass
                except OSError as e:  # EPIPE: ffmpeg exited or closed its input
                    raise self._fail(f"ffmpeg stopped reading frames ({e.strerror})") from e
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._fail(f"ffmpeg took no input for {timeout:g} s", wait=False)
                poller.poll(max(1, math.ceil(remaining * 1000)))

    def _fail(self, what: str, *, wait: bool = True) -> EncoderError:
        if wait:  # a dying ffmpeg: let it finish its last words in the log, and exit
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(1.0)
        code = self._process.poll()
        state = "is still running" if code is None else f"exited with code {code}"
        tail = _tail(self.out_dir / LOG_NAME)
        self._broken = f"{what}; ffmpeg {state}" + (f": {tail}" if tail else "")
        return EncoderError(self._broken, hint=self._log_hint())

    def _log_hint(self) -> str:
        return f"see {self.out_dir / LOG_NAME}; the segments listed so far are intact"

    def _close_stdin(self) -> None:
        with self._lock:
            if self._stdin is not None:
                with contextlib.suppress(OSError):
                    self._stdin.close()
                self._stdin = None

    def close(self, timeout: float = 10.0) -> None:
        """End the run: close stdin so ffmpeg writes the last segment, and wait for it to exit.

        Raises :class:`EncoderError` if ffmpeg fails or is still running after
        ``timeout`` seconds (it is then killed and the last segment is lost).
        """
        self._close_stdin()
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise EncoderError(
                f"ffmpeg did not finish within {timeout:g} s after its input ended; killed "
                "it, so the last segment is lost",
                hint=self._log_hint(),
            ) from None
        finally:
            self._log.close()
        if code != 0 and not self._killed:
            tail = _tail(self.out_dir / LOG_NAME)
            raise EncoderError(
                f"ffmpeg exited with code {code}" + (f": {tail}" if tail else ""),
                hint=self._log_hint(),
            )

    def kill(self) -> None:
        """Stop ffmpeg at once (SIGKILL): the segment being written is lost."""
        if self._process.poll() is None:
            self._process.kill()
            self._killed = True
        self._close_stdin()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(5.0)
        self._log.close()


@dataclass(frozen=True, slots=True)
class ClosedSegment:
    index: int  # n of seg_%06d.m4s: the segment's place in its run, from 0
    path: Path
    duration: float  # seconds, from #EXTINF


@dataclass(frozen=True, slots=True)
class _Playlist:
    init: str | None
    segments: list[ClosedSegment]
    ended: bool


def _parse_playlist(data: bytes, out_dir: Path) -> _Playlist:
    where = out_dir / PLAYLIST_NAME
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError as e:
        raise EncoderError(f"{where}: not UTF-8 ({e})") from e
    lines.pop()  # text after the last newline is not a whole line (yet)
    init: str | None = None
    ended = False
    duration: float | None = None
    segments: list[ClosedSegment] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            try:
                duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
            except ValueError:
                raise EncoderError(f"{where} line {number}: bad duration {line!r}") from None
        elif line.startswith("#EXT-X-MAP:"):
            found = re.search(r'URI="([^"]+)"', line)
            init = found.group(1) if found else None
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line and not line.startswith("#"):
            name = _SEGMENT_RE.fullmatch(line)
            if name is None or duration is None:
                raise EncoderError(f"{where} line {number}: expected a segment, found {line!r}")
            segments.append(ClosedSegment(int(name.group(1)), out_dir / line, duration))
            duration = None
    return _Playlist(init, segments, ended)


class SegmentWatcher:
    """Reports a run's segments once closed, in order and once each, from its playlist.

    :meth:`poll` costs one ``stat`` unless the playlist changed, so it can run every
    100 ms. After a graceful close the last (shorter) segment is reported too; after a
    SIGKILL the segment that was open never is.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self._stamp: tuple[int, int, int] | None = None
        self._reported: list[ClosedSegment] = []
        self._init_path: Path | None = None
        self._ended = False

    @property
    def init_path(self) -> Path | None:
        """The run's init section, once written (it is written just before segment 0)."""
        return self._init_path

    @property
    def ended(self) -> bool:
        """ffmpeg finished the playlist (``#EXT-X-ENDLIST``): no more segments will come."""
        return self._ended

    def poll(self) -> list[ClosedSegment]:
        playlist = self.out_dir / PLAYLIST_NAME
        try:
            st = os.stat(playlist)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if stamp == self._stamp:
                return []
            data = playlist.read_bytes()
        except FileNotFoundError:
            return []
        parsed = _parse_playlist(data, self.out_dir)
        done = len(self._reported)
        if parsed.segments[:done] != self._reported:
            raise EncoderError(
                f"{playlist} no longer lists the {done} segment(s) already reported: "
                "another process is writing this run's directory",
                hint="give every run its own directory",
            )
        new = parsed.segments[done:]
        for position, segment in enumerate(new, done):
            if segment.index != position:
                raise EncoderError(
                    f"{playlist}: expected segment {position}, found {segment.path.name}"
                )
        if parsed.init is not None:
            self._init_path = self.out_dir / parsed.init
        self._reported.extend(new)
        self._ended = parsed.ended
        # Stamped from the stat before the read: if the file was replaced in between, the
        # next poll reads it again, which only costs a read.
        self._stamp = stamp
        return new


def _is_whole_fragment(path: Path) -> bool:
    """The file is exactly [styp] moof mdat: nothing missing at the end, nothing extra."""
    types: list[str] = []
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            pos = 0
            while pos < end:
                f.seek(pos)
                head = f.read(16)
                if len(head) < 8:
                    return False
                size, kind = struct.unpack(">I4s", head[:8])
                if size == 1 and len(head) == 16:
                    (size,) = struct.unpack(">Q", head[8:])
                elif size == 0:
                    size = end - pos
                if size < 8 or pos + size > end:
                    return False
                types.append(kind.decode("latin-1"))
                pos += size
    except OSError:
        return False
    return types in (["styp", "moof", "mdat"], ["moof", "mdat"])


def list_closed_segments(out_dir: Path, *, sealed: Container[int] = ()) -> list[ClosedSegment]:
    """What a run left complete on disk, for recovery after a crash.

    The segments its playlist lists, in order, up to the first whose file is missing or
    is not exactly one whole fragment. ffmpeg does not fsync, so after a power loss the
    newest listed files can be empty or short; stopping there keeps the result a run of
    consecutive segments (frame counts stay aligned), and the rest is a gap to log.
    Segments in ``sealed`` are listed without looking at their files.
    """
    out = Path(out_dir)
    try:
        data = (out / PLAYLIST_NAME).read_bytes()
    except FileNotFoundError:
        return []
    intact: list[ClosedSegment] = []
    for segment in _parse_playlist(data, out).segments:
        if segment.index in sealed:
            intact.append(segment)  # the station sealed it and removed the file
            continue
        if not _is_whole_fragment(segment.path):
            break
        intact.append(segment)
    return intact
