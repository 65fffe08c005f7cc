"""A USB-webcam-like camera for tests and ``bench record --webcam``, in its own process.

What a UVC webcam gives V4L2, as close as a test can get without the hardware:

- MJPEG frames at ``fps`` in real time, each stamped with its capture time (wall clock,
  microseconds: what ffmpeg's ``-f v4l2 -ts abs`` makes of the kernel's buffer stamps);
- a bounded set of buffers (32, uvcvideo's most): a reader that falls behind gets the
  queued frames late but with their true stamps, and when all buffers are full the newest
  capture is lost, as the driver loses it. Lost frames are counted (the truth the
  station's drop count is compared with).

It serves one reader at a time on a unix socket as IVF (a 32-byte header, then per frame
its size, its stamp and the JPEG), which ffmpeg reads with ``-f ivf -i unix:PATH``
(:meth:`FakeWebcam.ffmpeg_input`); streaming starts, at frame 0, when a reader connects.
The frames are prepared before the socket is served (a video file encoded to JPEG by
ffmpeg, or the demo scene drawn), so the camera's own CPU during the stream is only the
socket writes; they loop.

Run as ``python -m tests.webcam --socket PATH (--video FILE | --demo SEED) ...``; it
prints ``ready`` once serving and, at SIGTERM or after ``--seconds``, one JSON line
with the frames sent and lost.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from recorder._errors import SourceLost
from recorder.clock import Clock
from recorder.sources import Frame
from storage.footage import FootageSource

BUFFERS = 32
_IVF_HEADER = struct.Struct("<4sHH4sHHIIII")
_IVF_FRAME = struct.Struct("<IQ")


def ivf_header(width: int, height: int) -> bytes:
    """IVF with MJPG frames and a microsecond time base (1/1000000)."""
    return _IVF_HEADER.pack(b"DKIF", 0, 32, b"MJPG", width, height, 1_000_000, 1, 0, 0)


def jpegs_of_video(path: Path, ffmpeg: str, *, quality: int = 5) -> list[bytes]:
    """Every frame of a video file as a JPEG (ffmpeg's MJPEG encoder)."""
    cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(path)]
    cmd += ["-c:v", "mjpeg", "-q:v", str(quality), "-pix_fmt", "yuvj422p", "-f", "mjpeg", "-"]
    return _split_jpegs(subprocess.run(cmd, check=True, capture_output=True).stdout)


def _split_jpegs(data: bytes) -> list[bytes]:
    frames: list[bytes] = []
    start = 0
    while True:
        end = data.find(b"\xff\xd9", start)  # EOI; 0xFF in entropy-coded data is stuffed
        if end < 0:
            break
        frames.append(data[start : end + 2])
        start = end + 2
    return frames


def jpegs_of_testsrc(width: int, height: int, fps: int, seconds: float, ffmpeg: str) -> list[bytes]:
    """ffmpeg's moving test pattern (testsrc2) as JPEGs."""
    cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-f", "lavfi"]
    cmd += ["-i", f"testsrc2=size={width}x{height}:rate={fps}", "-t", str(seconds)]
    cmd += ["-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj422p", "-f", "mjpeg", "-"]
    return _split_jpegs(subprocess.run(cmd, check=True, capture_output=True).stdout)


def jpegs_of_demo(
    seed: int, width: int, height: int, fps: int, orders: int, limit: int | None = None
) -> list[bytes]:
    import cv2

    from recorder.demo import DemoScene

    scene = DemoScene(width, height, fps, seed=seed, orders=orders)
    assert scene.duration_ms is not None
    count = scene.frame_at(scene.duration_ms)
    count = count if limit is None else min(count, limit)
    out = []
    for n in range(count):
        ok, data = cv2.imencode(".jpg", scene.render(n), [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        out.append(data.tobytes())
    return out


def ffmpeg_input(sock: Path) -> list[str]:
    """How ffmpeg reads the fake camera (where a webcam's is ``-f v4l2 ... -i /dev/videoN``)."""
    return ["-f", "ivf", "-i", f"unix:{sock}"]


class _Camera:
    def __init__(
        self, frames: list[bytes], fps: Fraction, loop: bool, hole: tuple[int, int] | None
    ) -> None:
        self.frames = frames
        self.fps = fps
        self.loop = loop
        self.hole = hole
        self.sent = 0
        self.lost = 0
        self.stop = threading.Event()

    def stream(self, conn: socket.socket, header: bytes) -> None:
        """Capture on schedule into the buffers; another thread writes them to ``conn``."""
        queue: deque[tuple[int, bytes]] = deque()
        ready = threading.Condition()
        done = threading.Event()

        def writer() -> None:
            try:
                conn.sendall(header)
                while not done.is_set():
                    with ready:
                        while not queue and not done.is_set():
                            ready.wait(0.5)
                        if not queue:
                            continue
                        pts, data = queue.popleft()
                    conn.sendall(_IVF_FRAME.pack(len(data), pts) + data)
                    self.sent += 1
            except OSError:
                pass  # the reader went away
            finally:
                done.set()

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        t0_wall = time.time_ns() // 1000
        t0 = time.monotonic()
        n = 0
        try:
            while not done.is_set() and not self.stop.is_set():
                if n >= len(self.frames) and not self.loop:
                    break
                due = t0 + float(n / self.fps)
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                    continue
                pts = t0_wall + round(n * 1_000_000 / self.fps)
                with ready:
                    if self.hole is not None and 0 <= n - self.hole[0] < self.hole[1]:
                        self.lost += 1  # a hole asked for: captured, never delivered
                    elif len(queue) >= BUFFERS:
                        self.lost += 1  # no free buffer: the driver loses this capture
                    else:
                        queue.append((pts, self.frames[n % len(self.frames)]))
                        ready.notify()
                n += 1
            # The last frames still queued go out before the stream ends.
            while queue and not done.is_set():
                time.sleep(0.01)
        finally:
            done.set()
            thread.join(5)
            conn.close()


def serve(args: argparse.Namespace) -> None:
    width, height = (int(x) for x in args.size.split("x"))
    fps = Fraction(args.fps)
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    if args.video:
        frames = jpegs_of_video(Path(args.video), ffmpeg)
    elif args.testsrc:
        frames = jpegs_of_testsrc(width, height, int(fps), args.testsrc, ffmpeg)
    else:
        scene_fps = int(args.scene_fps or fps)
        limit = round(args.loop * scene_fps) if args.loop else None
        frames = jpegs_of_demo(args.demo, width, height, scene_fps, args.orders, limit)
    hole = tuple(int(x) for x in args.hole.split(",")) if args.hole else None
    camera = _Camera(frames, fps, loop=not args.once, hole=hole)  # type: ignore[arg-type]
    path = Path(args.socket)
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(0.5)

    def report() -> None:
        print(json.dumps({"sent": camera.sent, "lost": camera.lost}), flush=True)

    def on_term(signum: int, frame: object) -> None:
        camera.stop.set()

    signal.signal(signal.SIGTERM, on_term)
    if args.seconds:
        threading.Timer(args.seconds, camera.stop.set).start()
    print("ready", flush=True)
    header = ivf_header(width, height)
    while not camera.stop.is_set():
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        camera.stream(conn, header)
    server.close()
    path.unlink(missing_ok=True)
    report()


class FakeWebcam:
    """The camera process, started and stopped by a test or the bench."""

    def __init__(
        self,
        sock: Path,
        *,
        size: tuple[int, int],
        fps: int = 30,
        video: Path | None = None,
        testsrc: float | None = None,
        demo: int | None = None,
        loop: float | None = None,
        orders: int = 1,
        scene_fps: int | None = None,
        once: bool = False,
        hole: tuple[int, int] | None = None,
    ) -> None:
        self.socket = Path(sock)
        self.size = size
        self.fps = fps
        root = Path(__file__).resolve().parents[1]
        args = [sys.executable, "-m", "tests.webcam", "--socket", str(sock)]
        args += ["--size", f"{size[0]}x{size[1]}", "--fps", str(fps)]
        if video is not None:
            args += ["--video", str(video)]
        elif testsrc is not None:
            args += ["--testsrc", str(testsrc)]
        else:
            args += ["--demo", str(demo or 1)] + (["--loop", str(loop)] if loop else [])
        args += ["--orders", str(orders)] + (["--once"] if once else [])
        args += ["--scene-fps", str(scene_fps)] if scene_fps else []
        args += ["--hole", f"{hole[0]},{hole[1]}"] if hole else []
        env = {**os.environ, "PYTHONPATH": str(root)}
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != "ready":
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise RuntimeError(f"the fake webcam did not start: {err.strip()[-2000:]}")

    def ffmpeg_input(self) -> list[str]:
        return ffmpeg_input(self.socket)

    def source(self, clock: Clock) -> FakeWebcamSource:
        return FakeWebcamSource(self.socket, self.size, self.fps, clock)

    def stop(self) -> dict[str, int]:
        """Stop it; the frames it sent and lost."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        return dict(json.loads(lines[-1])) if lines else {}

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


class FakeWebcamSource:
    """The station's side of the fake camera, as :class:`recorder.sources.CameraSource`
    is of a real one: its mode, how ffmpeg opens it (webcam capture), and for the Python
    path ``read()``: the next JPEG from the socket decoded by OpenCV (as OpenCV's V4L2
    backend decodes MJPG), stamped when read, its index following the camera's stamps."""

    def __init__(self, sock: Path, size: tuple[int, int], fps: int, clock: Clock) -> None:
        self.socket = Path(sock)
        self.size = size
        self._fps = fps
        self._clock = clock
        self._sock: socket.socket | None = None
        self._stream: BinaryIO | None = None
        self._index = -1
        self._last_pts: int | None = None

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    @property
    def fps(self) -> Fraction:
        return Fraction(self._fps)

    @property
    def name(self) -> str:
        return f"fake webcam {self.socket.name}"

    @property
    def origin(self) -> FootageSource:
        return FootageSource("camera", device=str(self.socket), card="fake webcam")

    def ffmpeg_input(self) -> list[str]:
        return ffmpeg_input(self.socket)

    def _read(self, size: int) -> bytes:
        assert self._stream is not None
        data = self._stream.read(size)
        if len(data) < size:
            raise SourceLost(f"{self.name}: the stream ended", hint="the fake camera stopped")
        return data

    def read(self) -> Frame | None:
        import cv2
        import numpy as np

        if self._stream is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(self.socket))
            self._sock, self._stream = sock, sock.makefile("rb")
            self._read(_IVF_HEADER.size)
        size, pts = _IVF_FRAME.unpack(self._read(_IVF_FRAME.size))
        image = cv2.imdecode(np.frombuffer(self._read(size), np.uint8), cv2.IMREAD_COLOR)
        t_ms = self._clock.now_ms()
        step = 1
        if self._last_pts is not None:
            step = max(1, round((pts - self._last_pts) * float(self.fps) / 1_000_000))
        self._last_pts = pts
        self._index += step
        return Frame(np.asarray(image, dtype=np.uint8), t_ms, self._index)

    def reopen(self) -> None:
        self.close()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        if self._sock is not None:
            self._sock.close()
        self._sock = self._stream = None
        self._last_pts = None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", default="30")
    ap.add_argument("--video")
    ap.add_argument("--testsrc", type=float, help="SECONDS of ffmpeg's testsrc2, looped")
    ap.add_argument("--demo", type=int, default=1)
    ap.add_argument("--loop", type=float, help="only the demo's first SECONDS, looped")
    ap.add_argument("--orders", type=int, default=1)
    ap.add_argument("--scene-fps", type=int, help="draw the demo at this rate (default: --fps)")
    ap.add_argument("--hole", help="FIRST,COUNT: frames captured but never delivered (lost)")
    ap.add_argument("--once", action="store_true", help="end the stream after the last frame")
    ap.add_argument("--seconds", type=float, default=0)
    serve(ap.parse_args())


if __name__ == "__main__":
    main()
