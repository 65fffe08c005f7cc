"""Webcam capture runs: ffmpeg reads a V4L2 camera itself, burns in the caption, encodes
the same 2 s fMP4 segments as a Python-fed run, and hands Python only the scan frames.

``station.camera.capture: ffmpeg`` (the default for V4L2 cameras; ``python`` is the path
where every frame passes through Python). One ffmpeg process per run::

    camera (-ts abs: capture times, wall clock) -> split -> drawbox + drawtext (caption)
        -> setpts (from 0) -> libx264 (the station's settings) -> HLS fMP4 segments
      `-> fps=scan rate -> scale -> raw BGR on stdout (scanner, motion)

``-copyts`` keeps the camera's stamps up to the caption (its clock reads the frame's own
capture time) and ``-fps_mode passthrough`` passes every frame with its stamp to the
encoder (at ``1/90000`` s, so driver jitter never merges two frames): a frame the driver
lost is a longer sample duration in the fragment, which :mod:`recorder.fragtime` counts
as a drop, per segment, as for stream copy. Keyframes are forced on the segment grid as
in :func:`recorder.encoder.encoder_command`.

The rest of a run (scan frames, segment times, stopping, crash recovery) is
:class:`recorder.copyrun.CopyRun`'s. Tests and ``bench record --webcam`` give the same
command another input (``tests/webcam.py``: a webcam-like camera process); the V4L2
input is tested by equality.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Self

from recorder._errors import EncoderError
from recorder._v4l2 import v4l2_input
from recorder.copyrun import CopyRun, ScanGeometry
from recorder.drawcaption import CaptionFiles, caption_filter, find_font
from recorder.encoder import INIT_NAME, PLAYLIST_NAME, encoder_options
from recorder.settings import CameraSettings, EncoderSettings
from recorder.sources import FfmpegCamera, FrameSource

__all__ = [
    "MIN_CAPTURE_FFMPEG",
    "WebcamRun",
    "capture_command",
    "check_capture_ffmpeg",
    "ffmpeg_version",
    "v4l2_input",
    "webcam_source",
]

TIME_BASE = "1:90000"
# Frames ffmpeg's input thread reads ahead of the encoder (~8 s at 30 fps; MJPEG frames
# are 0.1-0.3 MB at 1080p): with the driver's own buffers (uvcvideo: 32) alone, an encoder
# stalled for ~1 s (ffmpeg's start, a loaded machine) made the camera lose frames.
QUEUE_FRAMES = 256
# ffmpeg 7 reads each input in a thread of its own (the queue above); 5.1 (Debian 12's)
# reads a lone input on its main thread and, at load 12-18 here, left 14-258 of the
# camera's frames out at a run's start or end without counting them (854 of 900 sent;
# imageio-ffmpeg's 9.0.2 recorded 908 of 909 at the same load). 6.x was not measured.
MIN_CAPTURE_FFMPEG = (7, 0)
_VERSION = re.compile(rb"^ffmpeg version n?(\d+)\.(\d+)", re.MULTILINE)


def capture_command(
    camera_input: Sequence[str],
    *,
    out_dir: Path,
    ffmpeg: str,
    settings: EncoderSettings,
    fps: Fraction,
    width: int,
    height: int,
    scan: ScanGeometry,
    caption: CaptionFiles,
    font: Path | None,
) -> list[str]:
    """The ffmpeg command of one webcam capture run (tested by equality)."""
    out = Path(out_dir)
    if "%" in str(out):
        raise ValueError(f"out_dir must not contain '%' (ffmpeg expands it): {str(out)!r}")
    graph = (
        f"[0:v]split=2[rec][scan];"
        f"[rec]{caption_filter(caption, width, height, font)},"
        f"setpts=PTS-STARTPTS,format=yuv420p[v];"
        f"[scan]fps={scan.fps:g},scale={scan.width}:{scan.height},format={scan.pix_fmt}[s]"
    )
    encode: list[str] = []
    for key, value in encoder_options(settings, fps).items():
        encode += [f"-{key}", str(value)]
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-copyts",
        "-thread_queue_size", str(QUEUE_FRAMES), *camera_input,
        "-filter_complex", graph,
        "-map", "[v]", "-fps_mode", "passthrough", "-enc_time_base", TIME_BASE,
        *encode,
        "-f", "hls", "-hls_time", str(settings.segment_seconds), "-hls_list_size", "0",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", INIT_NAME,
        "-hls_segment_filename", str(out / "seg_%06d.m4s"),
        "-hls_segment_options", "movflags=+skip_sidx", "-hls_flags", "temp_file",
        str(out / PLAYLIST_NAME),
        "-map", "[s]", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip


@cache
def ffmpeg_version(ffmpeg: str) -> tuple[int, int] | None:
    """``ffmpeg -version``'s release (major, minor); None for a build that names none (a
    git snapshot prints ``N-…``) or an ffmpeg that does not answer."""
    try:
        out = subprocess.run(
            [ffmpeg, "-hide_banner", "-version"], capture_output=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = _VERSION.search(out)
    return None if found is None else (int(found[1]), int(found[2]))


def check_capture_ffmpeg(ffmpeg: str) -> None:
    """Refuse an ffmpeg known to lose camera frames uncounted in a capture run."""
    version = ffmpeg_version(ffmpeg)
    if version is None or version >= MIN_CAPTURE_FFMPEG:
        return
    need = ".".join(map(str, MIN_CAPTURE_FFMPEG))
    raise EncoderError(
        f"{ffmpeg} is ffmpeg {version[0]}.{version[1]}; capturing a webcam with ffmpeg needs "
        f"ffmpeg {need} or newer (5.1 lost frames at a run's start and end under load "
        "without counting them)",
        hint="set station.encoder.ffmpeg to null (the ffmpeg imageio-ffmpeg ships) or to "
        f"an ffmpeg {need} or newer, or station.camera.capture to python",
    )


class WebcamRun(CopyRun):
    """One webcam capture run."""

    @classmethod
    def capture(
        cls,
        run_id: str,
        root: Path,
        camera_input: Sequence[str],
        *,
        ffmpeg: str,
        settings: EncoderSettings,
        fps: Fraction,
        width: int,
        height: int,
        scan: ScanGeometry,
        caption: CaptionFiles,
        zone: str | None,
        gap_reason: str,
    ) -> Self:
        """Start a run; ``caption`` must hold its files (:meth:`CaptionFiles.start`), and
        ``zone`` (an IANA name, None = the system's) is the caption clock's."""
        command = capture_command(
            camera_input,
            out_dir=root / run_id,
            ffmpeg=ffmpeg,
            settings=settings,
            fps=fps,
            width=width,
            height=height,
            scan=scan,
            caption=caption,
            font=find_font(),
        )
        env = None if zone is None else {"TZ": zone}
        return cls.launch(
            run_id, root, command, mode="capture", fps=fps, scan=scan, gap_reason=gap_reason,
            env=env,
        )  # fmt: skip


def webcam_source(camera: CameraSettings, source: FrameSource) -> FfmpegCamera | None:
    """The camera ffmpeg captures itself, or None when its frames pass through Python."""
    if camera.capture != "ffmpeg" or camera.mode == "copy":
        return None
    return source if isinstance(source, FfmpegCamera) else None
