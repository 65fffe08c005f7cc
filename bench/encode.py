"""Encoding: fps, CPU cores at 30 fps, MB per hour and segment close latency per preset/CRF.

Frames are the demo packing table (``recorder.demo.DemoScene``, or a textured table with a
moving box and sensor noise where it is missing), pre-rendered as I420 so that only the
pipe and ffmpeg are measured. For each size:

- baseline: the same bytes piped into ``ffmpeg -f rawvideo -i pipe: -f null -`` (no
  encoding): the most any encoder run could reach;
- one run per preset x CRF through :class:`recorder.encoder.Encoder` as fast as ffmpeg
  takes frames: fps (and its ratio to the baseline), ffmpeg CPU seconds per frame as
  cores at 30 fps, MB per hour of video;
- one real-time (30 fps) run per preset at ``--paced-crf``: measured cores, and the close
  latency from writing a segment's last frame to the watcher listing it (polled every
  10 ms here; the station adds up to its own poll interval);
- the latency trade-offs at 720p veryfast: the recorder's command against x264's preset
  defaults and ``-tune zerolatency``, with size and PSNR (all planes) of the same frames.
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from recorder.encoder import (
    INIT_NAME,
    Encoder,
    SegmentWatcher,
    encoder_command,
    ffmpeg_path,
    to_i420,
)
from recorder.settings import EncoderSettings
from recorder.sources import Image

FPS = 30
Change = tuple[tuple[str, ...], tuple[str, ...]]  # options to drop, options to add
_SIZES = {"720": (1280, 720), "1080": (1920, 1080)}
_CYCLE_SECONDS = 5  # distinct frames kept in memory (1080p: 470 MB), then repeated


def _renderer(width: int, height: int, seed: int) -> Callable[[int], Image]:
    try:
        from recorder.demo import DemoScene
    except ImportError:
        return _fallback_scene(width, height, seed)
    scene = DemoScene(width, height, FPS, seed)
    start = 4 * FPS  # past the empty table the demo opens with
    return lambda i: scene.render(start + i)


def _fallback_scene(width: int, height: int, seed: int) -> Callable[[int], Image]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    grain = 120 + 25 * np.sin(xx / 37 + 3 * np.sin(yy / 90)) + 10 * np.sin(yy / 7)
    table = np.stack([grain * 0.55, grain * 0.75, grain], -1)
    table += cv2.GaussianBlur(rng.normal(0, 20, (height, width, 3)).astype(np.float32), (0, 0), 3)
    table = np.clip(table, 0, 255).astype(np.uint8)
    bw, bh = width // 5, height // 4
    box = np.full((bh, bw, 3), (60, 140, 200), np.uint8)
    cv2.putText(box, "TRK123456789", (5, bh // 2), cv2.FONT_HERSHEY_SIMPLEX, width / 2000, 0, 2)

    def render(i: int) -> Image:
        t = i / FPS
        img = table.copy()
        x = int((width - bw) * (0.5 + 0.45 * math.sin(t * 0.9)))
        y = int((height - bh) * (0.5 + 0.4 * math.sin(t * 1.3)))
        img[y : y + bh, x : x + bw] = box
        noise = rng.integers(-4, 5, img.shape, dtype=np.int16)  # sensor noise
        out: Image = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        return out

    return render


def _frames(width: int, height: int, count: int, seed: int) -> list[bytes]:
    render = _renderer(width, height, seed)
    return [to_i420(render(i)) for i in range(min(count, _CYCLE_SECONDS * FPS))]


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.iterdir() if p.name == INIT_NAME or p.suffix == ".m4s")


def _mb_per_hour(size: int, frames: int) -> float:
    return size / 1e6 * 3600 / (frames / FPS)


def _baseline(ffmpeg: str, width: int, height: int, frames: list[bytes], count: int) -> float:
    """Frames per second through the recorder's own write path into ``-f null``."""
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "rawvideo"]
    cmd += ["-pix_fmt", "yuv420p", "-video_size", f"{width}x{height}", "-framerate", str(FPS)]
    cmd += ["-i", "pipe:", "-f", "null", "-"]
    with tempfile.TemporaryDirectory(prefix="packseal-bench-") as tmp:
        encoder = _start_command(cmd, Path(tmp), width, height, EncoderSettings())
        t0 = time.perf_counter()
        try:
            for i in range(count):
                encoder.write(frames[i % len(frames)], timeout=60)
            encoder.close(timeout=60)
        finally:
            encoder.kill()
        return count / (time.perf_counter() - t0)


def _baseline_plain(ffmpeg: str, width: int, height: int, frames: list[bytes], count: int) -> float:
    """The same, written the plain way: blocking writes through the default 64 KiB pipe."""
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "rawvideo"]
    cmd += ["-pix_fmt", "yuv420p", "-video_size", f"{width}x{height}", "-framerate", str(FPS)]
    cmd += ["-i", "pipe:", "-f", "null", "-"]
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, stdin=subprocess.PIPE) as p:
        assert p.stdin is not None
        for i in range(count):
            p.stdin.write(frames[i % len(frames)])
        p.stdin.close()
        p.wait()
    return count / (time.perf_counter() - t0)


class _Run:
    """One encoder run in a fresh directory; paced runs also time segment closes."""

    def __init__(self, change: Change | None = None) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="packseal-bench-")
        self.out = Path(self.tmp.name) / "run"
        self.change = change
        self.fps = 0.0
        self.cores = 0.0
        self.cpu_per_frame = 0.0
        self.mb_per_hour = 0.0
        self.latency_ms: list[float] = []

    def go(
        self,
        settings: EncoderSettings,
        ffmpeg: str,
        frames: list[bytes],
        count: int,
        size: tuple[int, int],
        *,
        paced: bool,
    ) -> _Run:
        width, height = size
        cpu0 = _child_cpu()
        if self.change is None:
            encoder = Encoder.start(settings, width, height, Fraction(FPS), self.out, ffmpeg=ffmpeg)
        else:  # a variant of the command: the same Encoder, another list of strings
            self.out.mkdir()
            ours = encoder_command(
                settings,
                width=width,
                height=height,
                fps=Fraction(FPS),
                out_dir=self.out,
                ffmpeg=ffmpeg,
            )
            command = _variant(ours, drop=self.change[0], add=self.change[1])
            encoder = _start_command(command, self.out, width, height, settings)
        reported: dict[int, float] = {}
        stop = threading.Event()
        watcher = threading.Thread(target=_watch, args=(self.out, reported, stop), daemon=True)
        if paced:
            watcher.start()
        last_frame_written: dict[int, float] = {}
        per_segment = encoder.frames_per_segment
        t0 = time.perf_counter()
        try:
            for i in range(count):
                encoder.write(frames[i % len(frames)], timeout=60)
                if (i + 1) % per_segment == 0:
                    last_frame_written[i // per_segment] = time.perf_counter()
                if paced:
                    time.sleep(max(0.0, t0 + (i + 1) / FPS - time.perf_counter()))
            eof = time.perf_counter()
            encoder.close(timeout=120)
        finally:
            encoder.kill()
        wall = time.perf_counter() - t0
        stop.set()
        if paced:
            watcher.join()
        cpu = _child_cpu() - cpu0
        self.fps = count / wall
        self.cores = cpu / wall
        self.cpu_per_frame = cpu / count
        self.mb_per_hour = _mb_per_hour(_run_bytes(self.out), count)
        self.latency_ms = [
            (reported[n] - written) * 1000
            for n, written in last_frame_written.items()
            if n in reported and reported[n] < eof  # not the ones EOF flushed
        ]
        return self

    def psnr(
        self, frames: list[bytes], count: int, ffmpeg: str, geometry: tuple[int, int]
    ) -> float:
        """PSNR of the whole run against the frames sent, over all I420 bytes."""
        width, height = geometry
        segments = sorted(self.out.glob("seg_*.m4s"))
        clip = self.out / "clip.mp4"
        clip.write_bytes(b"".join(p.read_bytes() for p in [self.out / INIT_NAME, *segments]))
        cmd = [ffmpeg, "-v", "error", "-i", str(clip), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
        decoded = subprocess.run(cmd, capture_output=True, check=True).stdout
        size = width * height * 3 // 2
        squared = 0.0
        for i in range(count):
            a = np.frombuffer(decoded, np.uint8, size, i * size).astype(np.int32)
            b = np.frombuffer(frames[i % len(frames)], np.uint8).astype(np.int32)
            squared += float(np.square(a - b).sum())
        mse = squared / (size * count)
        return 10 * math.log10(255**2 / mse) if mse else math.inf

    def cleanup(self) -> None:
        self.tmp.cleanup()


def _start_command(
    command: list[str], out: Path, width: int, height: int, settings: EncoderSettings
) -> Encoder:
    log = open(out / "ffmpeg.log", "ab")  # noqa: SIM115 - owned by the Encoder
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=log, bufsize=0)
    return Encoder(
        process,
        log,
        command=command,
        out_dir=out,
        width=width,
        height=height,
        frames_per_segment=math.ceil(FPS * settings.segment_seconds),
    )


def _watch(out: Path, reported: dict[int, float], stop: threading.Event) -> None:
    watcher = SegmentWatcher(out)
    while not stop.is_set():
        for seg in watcher.poll():
            reported[seg.index] = time.perf_counter()
        time.sleep(0.01)


def _variant(command: list[str], *, drop: tuple[str, ...], add: tuple[str, ...]) -> list[str]:
    """The command with options removed (each with its value) and added before the output."""
    out: list[str] = []
    skip = False
    for arg in command[:-1]:
        if skip:
            skip = False
        elif arg in drop:
            skip = True
        else:
            out.append(arg)
    return [*out, *add, command[-1]]


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):5.0f}" if values else "    -"


def _max(values: list[float]) -> str:
    return f"{max(values):5.0f}" if values else "    -"


_VARIANTS: dict[str, Change | None] = {
    "recorder: rc-lookahead 5, sync-lookahead 0": None,
    "x264 veryfast defaults": (("-rc-lookahead", "-x264-params"), ()),
    "-tune zerolatency (no B-frames)": (
        ("-rc-lookahead", "-x264-params"),
        ("-tune", "zerolatency"),
    ),
}


def _quality(
    change: Change | None,
    crf: int,
    ffmpeg: str,
    frames: list[bytes],
    count: int,
    size: tuple[int, int],
) -> tuple[float, float]:
    settings = EncoderSettings(preset="veryfast", crf=crf)
    run = _Run(change).go(settings, ffmpeg, frames, count, size, paced=False)
    quality = run.psnr(frames, count, ffmpeg, size)
    run.cleanup()
    return quality, run.mb_per_hour


def _tradeoffs(
    ffmpeg: str, frames: list[bytes], count: int, size: tuple[int, int], crf: int
) -> None:
    """Latency at ``crf``, and size at the quality x264's defaults reach at ``crf``.

    The variants change what a CRF means (mbtree needs lookahead), so sizes are compared at
    equal PSNR: each variant's CRF is stepped by 3 until the target is bracketed, and
    log(size) is interpolated.
    """
    settings = EncoderSettings(preset="veryfast", crf=crf)
    memo: dict[tuple[str, int], tuple[float, float]] = {}

    def measure(name: str, crf: int) -> tuple[float, float]:
        if (name, crf) not in memo:
            memo[name, crf] = _quality(_VARIANTS[name], crf, ffmpeg, frames, count, size)
        return memo[name, crf]

    target, _ = measure("x264 veryfast defaults", crf)
    print(f"  veryfast, 30 fps: close latency ms (median, max); MB/h at {target:.2f} dB PSNR")
    for name, change in _VARIANTS.items():
        run = _Run(change).go(settings, ffmpeg, frames, count, size, paced=True)
        run.cleanup()
        crfs = [crf]
        above = measure(name, crf)[0] > target
        step = 3 if above else -3
        while len(crfs) < 6 and (measure(name, crfs[-1])[0] > target) == above:
            crfs.append(crfs[-1] + step)
        (q0, s0), (q1, s1) = measure(name, crfs[-2]), measure(name, crfs[-1])
        mb = s0 * (s1 / s0) ** ((target - q0) / (q1 - q0)) if q1 != q0 else s0
        print(
            f"  {name:44} {_median(run.latency_ms)} {_max(run.latency_ms)}   {mb:5.0f} MB/h"
            f"  (crf {','.join(map(str, crfs))})"
        )


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench encode", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20, help="video per fast run (default 20)")
    p.add_argument("--paced-seconds", type=float, default=10, help="per 30 fps run (default 10)")
    p.add_argument("--sizes", default="720,1080", help="frame heights: 720, 1080 (default both)")
    p.add_argument("--presets", default="ultrafast,superfast,veryfast")
    p.add_argument("--crfs", default="23,26,28")
    p.add_argument("--paced-crf", type=int, default=EncoderSettings().crf)
    p.add_argument("--no-variants", action="store_true", help="skip the latency trade-offs")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    ffmpeg = ffmpeg_path(EncoderSettings())
    count = round(args.seconds * FPS)
    paced_count = round(args.paced_seconds * FPS)
    presets = [s.strip() for s in args.presets.split(",")]
    crfs = [int(c) for c in args.crfs.split(",")]
    print(f"ffmpeg {ffmpeg}; {FPS} fps, {EncoderSettings().segment_seconds} s segments")

    for key in args.sizes.split(","):
        width, height = _SIZES[key.strip()]
        frames = _frames(width, height, max(count, paced_count), args.seed)
        base = _baseline(ffmpeg, width, height, frames, count)
        print(f"\n{width}x{height}: {len(frames)} distinct frames, {count} per fast run")
        plain = _baseline_plain(ffmpeg, width, height, frames, count)
        print(f"  baseline: pipe -> ffmpeg -f null     {base:7.0f} fps")
        print(f"    (blocking writes, 64 KiB pipe:     {plain:7.0f} fps)")
        print("  preset     crf    fps  x base  cores@30(est)  MB/h")
        for preset in presets:
            for crf in crfs:
                settings = EncoderSettings.model_validate({"preset": preset, "crf": crf})
                run = _Run().go(settings, ffmpeg, frames, count, (width, height), paced=False)
                run.cleanup()
                print(
                    f"  {preset:10} {crf:3} {run.fps:6.0f}  {run.fps / base:6.2f}"
                    f"  {run.cpu_per_frame * FPS:12.2f}  {run.mb_per_hour:5.0f}"
                )
        print(f"  real time, crf {args.paced_crf}: cores  close latency ms (median, max)  MB/h")
        for preset in presets:
            settings = EncoderSettings.model_validate({"preset": preset, "crf": args.paced_crf})
            run = _Run().go(settings, ffmpeg, frames, paced_count, (width, height), paced=True)
            run.cleanup()
            print(
                f"  {preset:10}        {run.cores:5.2f}  {_median(run.latency_ms)}"
                f" {_max(run.latency_ms)}                  {run.mb_per_hour:5.0f}"
            )

        if args.no_variants or key.strip() != "720":
            continue
        _tradeoffs(ffmpeg, frames, paced_count, (width, height), args.paced_crf)
    return 0
