"""IP cameras for tests: a real RTSP server (tests/rtsp_server.py, GStreamer's
gst-rtsp-server run by the system python3) streaming demo footage with barcodes.

The footage is the demo scene (tests/recording.py's 640x360) drawn at 15 fps and
encoded as a 30 fps H.264 stream, so the scene plays twice as fast: an order is ~12 s
of real time instead of ~25, and each code is still in view for over a second (the
scanner needs two reads at 5 Hz). GOP 0.5 s, no B-frames, like a camera's stream.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg

from recorder.demo import DemoScene

SERVER = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # has python3-gi (scripts/setup.sh --test)
STREAM_FPS = 30
SIZE = (640, 360)


def demo_video(
    out: Path, *, seed: int, orders: int = 1, hole: tuple[int, int] | None = None
) -> DemoScene:
    """The demo scene ``seed`` as an H.264 MP4 at twice its speed; returns the scene.

    ``hole=(first, count)`` leaves out those frames but keeps the others' times, as a
    camera that lost frames: the stream's timestamps jump over them.
    """
    scene = DemoScene(SIZE[0], SIZE[1], 15, seed=seed, orders=orders)
    assert scene.duration_ms is not None
    frames = scene.frame_at(scene.duration_ms)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{SIZE[0]}x{SIZE[1]}"]
    cmd += ["-r", str(STREAM_FPS), "-i", "pipe:", "-c:v", "libx264", "-preset", "ultrafast"]
    if hole is not None:
        first, count = hole
        cmd += ["-vf", f"select='not(between(n,{first},{first + count - 1}))'"]
        cmd += ["-fps_mode", "passthrough"]
    cmd += ["-g", str(STREAM_FPS // 2), "-bf", "0", "-pix_fmt", "yuv420p", str(out)]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE) as p:
        assert p.stdin is not None
        for n in range(frames):
            p.stdin.write(scene.render(n).tobytes())
        p.stdin.close()
        assert p.wait() == 0
    return scene


class RtspServer:
    """One gst-rtsp-server process serving ``video`` at ``rtsp://127.0.0.1:PORT/cam``."""

    def __init__(
        self, video: Path, *, port: int = 0, user: str | None = None, password: str | None = None
    ) -> None:
        args = [SYSTEM_PYTHON, str(SERVER), "--file", str(video), "--port", str(port)]
        if user is not None:
            args += ["--user", user, "--password", password or ""]
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise RuntimeError(
                f"the RTSP test server did not start: {err.strip()[-2000:]} "
                "(needs python3-gi and gir1.2-gst-rtsp-server-1.0: scripts/setup.sh --test)"
            )
        self.port = int(line)
        self.user, self.password = user, password

    def url(self, *, password: str | None = None) -> str:
        if self.user is None:
            return f"rtsp://127.0.0.1:{self.port}/cam"
        pw = self.password if password is None else password
        return f"rtsp://{self.user}:{pw}@127.0.0.1:{self.port}/cam"

    def kill(self) -> None:
        """SIGKILL, as a camera losing power: connections drop without a goodbye."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.communicate(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the connection stays open and nothing arrives (a hung camera)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
