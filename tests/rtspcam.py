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
from typing import TYPE_CHECKING

import imageio_ffmpeg

from recorder.demo import DemoScene

if TYPE_CHECKING:
    from packseal.app import App
    from storage.entries import Clip

SERVER = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # has python3-gi (scripts/setup.sh --test)
STREAM_FPS = 30
SIZE = (640, 360)


def demo_video(
    out: Path,
    *,
    seed: int,
    orders: int = 1,
    hole: tuple[int, int] | None = None,
    codec: str = "h264",
    scale: tuple[int, int] | None = None,
) -> DemoScene:
    """The demo scene ``seed`` as an H.264 (or ``codec="hevc"``: H.265) MP4 at twice its
    speed; returns the scene. ``scale`` encodes it at another size (a camera's sub-stream
    of the same scene).

    ``hole=(first, count)`` leaves out those frames but keeps the others' times, as a
    camera that lost frames: the stream's timestamps jump over them.
    """
    scene = DemoScene(SIZE[0], SIZE[1], 15, seed=seed, orders=orders)
    assert scene.duration_ms is not None
    frames = scene.frame_at(scene.duration_ms)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{SIZE[0]}x{SIZE[1]}"]
    cmd += ["-r", str(STREAM_FPS), "-i", "pipe:"]
    if codec == "hevc":
        # a camera's H.265: no B-frames, keyframes every 0.5 s, tagged hvc1 as cameras' are
        params = f"log-level=error:keyint={STREAM_FPS // 2}:min-keyint={STREAM_FPS // 2}:bframes=0"
        cmd += ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", params]
        cmd += ["-tag:v", "hvc1"]
    else:
        cmd += ["-c:v", "libx264", "-preset", "ultrafast"]
    filters = []
    if hole is not None:
        first, count = hole
        filters.append(f"select='not(between(n,{first},{first + count - 1}))'")
        cmd += ["-fps_mode", "passthrough"]
    if scale is not None:
        filters.append(f"scale={scale[0]}:{scale[1]}")
    if filters:
        cmd += ["-vf", ",".join(filters)]
    cmd += ["-g", str(STREAM_FPS // 2), "-bf", "0", "-pix_fmt", "yuv420p", str(out)]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE) as p:
        assert p.stdin is not None
        for n in range(frames):
            p.stdin.write(scene.render(n).tobytes())
        p.stdin.close()
        assert p.wait() == 0
    return scene


class RtspServer:
    """One gst-rtsp-server process serving ``video`` at ``rtsp://127.0.0.1:PORT/cam``,
    and each of ``mounts`` (path -> video, e.g. ``{"/sub": small}``) at its path."""

    def __init__(
        self,
        video: Path,
        *,
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
        mounts: dict[str, Path] | None = None,
    ) -> None:
        args = [SYSTEM_PYTHON, str(SERVER), "--file", str(video), "--port", str(port)]
        for path, file in (mounts or {}).items():
            args += ["--mount", f"{path}={file}"]
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

    def url(self, *, password: str | None = None, path: str = "/cam") -> str:
        if self.user is None:
            return f"rtsp://127.0.0.1:{self.port}{path}"
        pw = self.password if password is None else password
        return f"rtsp://{self.user}:{pw}@127.0.0.1:{self.port}{path}"

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


def record_h265_clip(root: Path) -> tuple[App, Clip]:
    """One order recorded in copy mode from an H.265 camera (main stream ``/cam``),
    scanned from its H.264 sub-stream (``/sub``) of the same server; the sealed clip."""
    import threading

    from packseal.runner import make_source, make_station
    from storage.entries import Clip, from_bytes
    from tests.recording import SIZE, make_app

    order = DemoScene(SIZE["width"], SIZE["height"], 15, seed=1, orders=1).orders()[0]
    demo_video(root / "main.mp4", seed=1, codec="hevc")
    demo_video(root / "sub.mp4", seed=1)
    server = RtspServer(root / "main.mp4", mounts={"/sub": root / "sub.mp4"})
    camera = {**SIZE, "device": server.url(), "scan_url": server.url(path="/sub"), "mode": "copy"}
    app = make_app(root / "data", camera=camera)
    station = make_station(
        app, make_source(app, "camera", realtime=True, epoch_ms=None), realtime=True
    )
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    try:
        wait_for(lambda: order.tracking_id in station.status().tracking_ids, 40, "the waybill")
    finally:
        station.stop()
        runner.join(60)
        server.kill()
    assert not runner.is_alive()
    clips = [e for _, d in app.store.entries() if isinstance(e := from_bytes(d), Clip)]
    assert len(clips) == 1, clips
    return app, clips[0]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class MjpegServer:
    """An HTTP MJPEG camera (``multipart/x-mixed-replace``, as cheap IP cameras and
    phone apps serve it) on 127.0.0.1, optionally behind HTTP basic auth: the frames of
    a demo scene at ``fps``, JPEG-encoded by OpenCV. The camera is hardware, so this
    small server stands in for it; the client side is the real one."""

    def __init__(
        self, scene: DemoScene, *, fps: int = 15, user: str = "", password: str = ""
    ) -> None:
        import base64
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import cv2

        token = base64.b64encode(f"{user}:{password}".encode()).decode() if user else None
        stopping = threading.Event()
        self._stopping = stopping

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if token is not None and self.headers.get("Authorization") != f"Basic {token}":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                n, start = 0, time.monotonic()
                try:
                    while not stopping.is_set():
                        ok, jpeg = cv2.imencode(".jpg", scene.render(n % 300))
                        assert ok
                        data = jpeg.tobytes()
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\n"
                            + f"Content-Length: {len(data)}\r\n\r\n".encode()
                            + data
                            + b"\r\n"
                        )
                        n += 1
                        time.sleep(max(0.0, start + n / fps - time.monotonic()))
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}127.0.0.1:{self.port}/video.mjpg"

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
