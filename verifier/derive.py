"""A marketplace-sized copy of a sealed clip: re-encoded to fit an upload form's limit.

WeChat Shop takes an after-sale video of at most 20 MB (FIELD-NOTES); a sealed clip of a
few minutes at 720p is larger. The copy is a new file (H.264 High, yuv420p, MP4 with the
``moov`` first so a web form can show it while uploading, no audio), so its hash cannot
match the log: the bundle says which sealed clip it came from, and the copy carries the
sealed clip's SHA-256 in its ``comment`` metadata too. The burned-in caption (order,
time, station) survives any re-encode, which is why the recorder burns it in.

How it fits: two-pass x264 at a bitrate computed from the duration, the limit, the MP4
index's size and a safety margin; the size is checked afterwards and, in the rare case
x264 overshoots, re-encoded at a proportionally lower rate. If the rate leaves too few
bits per pixel for the resolution, the copy is downscaled first (labels stay readable at
a lower resolution long after blocking at a higher one has made them unreadable).

Measured on 2 cores (``python -m bench sheet``): the 640x360 15 fps demo clip (28.8 s,
382 kB sealed) takes 1.0-2.1 s for both passes and lands at 90-95 % of the limit (300 kB:
282 kB at 480x270; 150 kB: 134 kB at 320x180); a 25 s 720p30 clip into half its size
took 15 s on a loaded machine (preset medium: size per quality over speed).
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

from verifier._errors import MediaFormatError, VerifierError
from verifier.frames import count_frames, geometry

__all__ = ["DerivedCopy", "derive_command", "derive_copy", "plan_copy"]

SAFETY = 0.95  # of the limit left for video after the index: x264's 2-pass error is ~1-3 %
MP4_FIXED_BYTES = 8_000  # ftyp + moov headers + mdat header
MP4_BYTES_PER_FRAME = 16  # stsz, stts, ctts, stss entries per frame (measured ~12-14)
# Bits per pixel per frame below which x264 smears text at a resolution; below it we step
# down the ladder. 0.04 at 720p30 is ~1.1 Mbit/s, the usual floor for legible 720p.
MIN_BPP = 0.04
HEIGHTS = (1080, 720, 540, 480, 360, 270, 240, 180, 144)
MIN_KBPS = 24  # below this even 144p is a smear: refuse rather than produce it
PRESET = "medium"  # x264's default: bits per quality matter more than speed here


@dataclass(frozen=True, slots=True)
class DerivedCopy:
    path: Path
    size: int  # bytes
    sha256: str
    width: int
    height: int
    video_kbps: int  # the average video bitrate x264 was given (the last attempt's)
    duration_s: float


@dataclass(frozen=True, slots=True)
class Plan:
    """What :func:`derive_copy` will ask ffmpeg for."""

    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    video_kbps: int
    source_width: int
    source_height: int

    @property
    def scaled(self) -> bool:
        return (self.width, self.height) != (self.source_width, self.source_height)


def plan_copy(
    width: int,
    height: int,
    fps: float,
    frames: int,
    max_bytes: int,
    *,
    source_kbps: int | None = None,
) -> Plan:
    """The resolution and bitrate of a copy of ``frames`` frames that fits ``max_bytes``.

    Never more than ``source_kbps`` (the sealed clip's own rate): a 30 s demo clip of
    382 kB became 2.8 MB at the rate a 20 MB limit allows, with nothing gained. Pure: no
    files, no ffmpeg. Raises :class:`VerifierError` when even the smallest resolution
    would get fewer than ``MIN_KBPS`` kbit/s, with the numbers.
    """
    if width <= 0 or height <= 0 or fps <= 0 or frames <= 0 or max_bytes <= 0:
        raise ValueError(
            f"need a positive size, rate, frame count and limit, got {width}x{height} "
            f"{fps} fps, {frames} frames, {max_bytes} bytes"
        )
    duration = frames / fps
    index_bytes = MP4_FIXED_BYTES + MP4_BYTES_PER_FRAME * frames
    budget_bits = (max_bytes - index_bytes) * 8 * SAFETY
    kbps = math.floor(budget_bits / duration / 1000) if budget_bits > 0 else 0
    if kbps < MIN_KBPS:
        raise VerifierError(
            f"a {duration:.1f} s clip cannot fit in {max_bytes} bytes: that leaves "
            f"{max(kbps, 0)} kbit/s for the video (index {index_bytes} bytes), and below "
            f"{MIN_KBPS} kbit/s nothing is legible",
            hint=f"export an excerpt (--excerpt START-END) of at most "
            f"{math.floor(_max_seconds(max_bytes, fps))} s, or allow a larger size",
        )
    min_bpp = MIN_BPP
    if source_kbps is not None:
        kbps = min(kbps, max(source_kbps, MIN_KBPS))
        # The sealed clip's own density says what its content needs (the demo scene:
        # 0.031 bits per pixel at CRF 28); below that, a smaller picture keeps it sharper.
        min_bpp = min(MIN_BPP, source_kbps * 1000 / (width * height * fps))
    w, h = width, height
    for rung in (r for r in HEIGHTS if r < height):
        if kbps * 1000 / (w * h * fps) >= min_bpp:
            break
        w, h = _even(width * rung / height), rung
    return Plan(w, h, fps, frames, duration, kbps, width, height)


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def _max_seconds(max_bytes: int, fps: float) -> float:
    """The longest clip that still gets ``MIN_KBPS`` within ``max_bytes``."""
    per_second = MIN_KBPS * 1000 / 8 / SAFETY + MP4_BYTES_PER_FRAME * fps
    return max(0.0, (max_bytes - MP4_FIXED_BYTES) / per_second)


def derive_command(
    ffmpeg: str,
    source: Path,
    out: Path | None,
    plan: Plan,
    *,
    kbps: int,
    pass_number: int,
    passlog: Path,
    comment: str,
) -> list[str]:
    """One x264 pass: pass 1 analyses into ``passlog`` (``out`` None), pass 2 writes ``out``."""
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source)]
    cmd += ["-map", "0:v:0", "-an", "-sn", "-dn", "-map_metadata", "-1"]
    if plan.scaled:
        cmd += ["-vf", f"scale={plan.width}:{plan.height}:flags=lanczos"]
    cmd += ["-c:v", "libx264", "-preset", PRESET, "-pix_fmt", "yuv420p"]
    cmd += ["-b:v", f"{kbps}k", "-pass", str(pass_number), "-passlogfile", str(passlog)]
    if out is None:
        return [*cmd, "-f", "null", os.devnull]
    cmd += ["-movflags", "+faststart", "-metadata", f"comment={comment}", "-f", "mp4", str(out)]
    return cmd


@dataclass(frozen=True, slots=True)
class _Probe:
    width: int
    height: int
    fps: float
    frames: int


def _probe(clip_path: Path) -> _Probe:
    g = geometry(clip_path)
    if g is None:
        raise MediaFormatError(f"OpenCV (FFmpeg backend) cannot open {clip_path}")
    width, height, fps = g.width, g.height, g.fps
    # OpenCV's frame count of a clip that starts mid-run is off (822 for 432 frames of the
    # demo clip: it extrapolates from the first fragment's decode time); the fragments'
    # sample counts are exact.
    frames = count_frames(clip_path)
    if width <= 0 or height <= 0 or fps <= 0 or frames <= 0:
        raise MediaFormatError(
            f"{clip_path}: cannot read its video geometry ({width}x{height}, {fps} fps, "
            f"{frames} frames)"
        )
    return _Probe(width, height, fps, frames)


# (done, total), in frames of all the work (two passes and the decode check)
Progress = Callable[[int, int], None]


def _run(cmd: Sequence[str], what: str, on_frame: Callable[[int], None] | None = None) -> None:
    """Run ffmpeg; ``on_frame(n)`` with the frames it has done, as its -progress says."""
    if on_frame is None:
        done = subprocess.run(cmd, capture_output=True, check=False)
        code, err = done.returncode, done.stderr
    else:
        # -progress writes key=value lines to stdout (``frame=N`` among them) twice a second;
        # stderr goes to a file so that neither pipe can fill while the other is read.
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(
                [cmd[0], "-progress", "pipe:1", "-nostats", *cmd[1:]],
                stdout=subprocess.PIPE,
                stderr=errors,
            )
            assert proc.stdout is not None
            with proc.stdout:
                for line in proc.stdout:
                    if line.startswith(b"frame=") and line[6:].strip().isdigit():
                        on_frame(int(line[6:]))
            code = proc.wait()
            errors.seek(0)
            err = errors.read()
    if code != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-6:]
        raise VerifierError(
            f"ffmpeg failed while {what} (exit {code}): {' | '.join(tail)}",
            hint="is the clip a sealed packseal clip, and the ffmpeg one with libx264?",
        )


def _decodes(ffmpeg: str, path: Path, on_frame: Callable[[int], None] | None = None) -> None:
    """Decode every frame once; any decoder error fails the copy."""
    _run(
        [ffmpeg, "-nostdin", "-v", "error", "-xerror", "-i", str(path), "-f", "null", os.devnull],
        f"decoding the copy {path}",
        on_frame,
    )


def derive_copy(
    clip_path: Path,
    out: Path,
    max_bytes: int,
    *,
    ffmpeg: str | None = None,
    progress: Progress | None = None,
) -> DerivedCopy:
    """Re-encode ``clip_path`` into ``out`` (MP4, H.264, no audio), at most ``max_bytes``.

    ``progress(done, total)`` is called as ffmpeg goes, in frames: two passes and a
    decode check (a retry after an overshoot adds two passes to the total).

    ``out`` is written only when the copy fits and decodes. Raises :class:`VerifierError`
    if no legible copy can fit (with the numbers), or if ffmpeg fails;
    :class:`MediaFormatError` if the clip is not a readable clip.
    """
    exe = ffmpeg or imageio_ffmpeg.get_ffmpeg_exe()
    src = _probe(clip_path)
    source_kbps = math.ceil(clip_path.stat().st_size * 8 / (src.frames / src.fps) / 1000)
    plan = plan_copy(src.width, src.height, src.fps, src.frames, max_bytes, source_kbps=source_kbps)
    comment = f"packseal derived copy of sealed clip sha256 {_sha256(clip_path)}"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="packseal-derive-", dir=out.parent) as tmp:
        work = Path(tmp)
        target = work / "copy.mp4"
        kbps = plan.video_kbps
        passlog = work / "x264"
        steps = 3  # the passes and decode checks the total counts
        finished = 0  # frames of the steps done

        def on_frame(n: int) -> None:
            if progress is not None:
                progress(finished + min(n, src.frames), steps * src.frames)

        track = on_frame if progress is not None else None
        for attempt in range(3):
            if attempt:
                steps += 2
            for number, dest in ((1, None), (2, target)):
                cmd = derive_command(
                    exe,
                    clip_path,
                    dest,
                    plan,
                    kbps=kbps,
                    pass_number=number,
                    passlog=passlog,
                    comment=comment,
                )
                _run(cmd, f"encoding the copy (pass {number} at {kbps} kbit/s)", track)
                finished += src.frames
            size = target.stat().st_size
            if size <= max_bytes:
                break
            # x264 overshot: scale the rate by the overshoot, with the margin again.
            kbps = math.floor(kbps * max_bytes / size * SAFETY)
            if kbps < MIN_KBPS:
                break
        if size > max_bytes:
            raise VerifierError(
                f"the copy is {size} bytes after 3 tries, more than the {max_bytes}-byte limit",
                hint="allow a larger size or export an excerpt",
            )
        _decodes(exe, target, track)
        if progress is not None:
            progress(steps * src.frames, steps * src.frames)
        result = _probe_copy(target)
        os.replace(target, out)
    return DerivedCopy(
        path=out,
        size=size,
        sha256=_sha256(out),
        width=result[0],
        height=result[1],
        video_kbps=kbps,
        duration_s=round(result[2], 3),
    )


def _probe_copy(path: Path) -> tuple[int, int, float]:
    g = geometry(path)
    if g is None:
        raise VerifierError(f"the copy {path} does not open")
    return g.width, g.height, g.frames / g.fps if g.fps > 0 else 0.0


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
