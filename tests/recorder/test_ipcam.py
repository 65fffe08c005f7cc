"""IP cameras on real RTSP: GStreamer's RTSP server on 127.0.0.1 (tests/rtspcam.py)."""

from __future__ import annotations

import contextlib
import http.server
import subprocess
import threading
import time
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import pytest

from packseal.runner import make_source, make_station
from recorder._errors import SourceError, SourceLost
from recorder.clock import SystemClock
from recorder.demo import DemoScene
from recorder.encoder import ffmpeg_path
from recorder.ipcam import IpCameraSource
from recorder.settings import CameraSettings, EncoderSettings
from recorder.sources import footage_source
from storage import Store
from storage.entries import Clip, Gap, Segment, from_bytes
from storage.footage import FootageSource
from tests.recording import SIZE, make_app
from tests.rtspcam import MjpegServer, RtspServer, demo_video, wait_for
from verifier import verify_bundle

HOLE = (45, 5)  # frames the "camera" lost: 1.5 s in, 5 frames (~167 ms at 30 fps)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("rtsp-videos")
    demo_video(root / "holed.mp4", seed=3, hole=HOLE)
    demo_video(root / "a.mp4", seed=1)
    demo_video(root / "b.mp4", seed=2)
    return {name: root / f"{name}.mp4" for name in ("holed", "a", "b")}


def _settings(**changes: object) -> CameraSettings:
    return CameraSettings(**{"stall_seconds": 1.0, "reconnect_seconds": 0.2, **changes})


def _assert_decodes(store: Store, clip: Clip, out: Path) -> None:
    with open(out, "wb") as f:
        f.write(store.read_blob(clip.init))
        for ref in clip.segments:
            f.write(store.read_blob(ref.sha256))
    cap = cv2.VideoCapture(str(out), cv2.CAP_FFMPEG)
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    assert count == sum(store_segment_frames(store, clip))


def store_segment_frames(store: Store, clip: Clip) -> list[int]:
    found = {
        e.sha256: e.frames for _, d in store.entries() if isinstance(e := from_bytes(d), Segment)
    }
    return [found[ref.sha256] for ref in clip.segments]


def _read_until_lost(source: IpCameraSource) -> None:
    for _ in range(200):  # frames buffered before the pause come first
        source.read()


def test_frames_carry_the_cameras_time_holes_and_a_stall_is_lost(
    videos: dict[str, Path],
) -> None:
    server = RtspServer(videos["holed"])
    try:
        source = IpCameraSource(server.url(), _settings(), SystemClock())
        assert (source.width, source.height, source.fps) == (640, 360, 30)
        frames = [source.read() for _ in range(75)]
        assert all(f is not None for f in frames)
        times = [f.t_ms for f in frames if f is not None]
        index = [f.index for f in frames if f is not None]
        assert all(b > a for a, b in pairwise(times))
        steps = [b - a for a, b in pairwise(index)]
        # The camera's timestamps show the 5 lost frames as a jump of 6 in the index (the
        # station counts such jumps as drops). Under load the server drops more:
        # gst-rtsp-server drops a slow TCP client's backlog, as cameras do.
        assert any(step >= HOLE[1] + 1 for step in steps)
        # stamps are never ahead of the station's clock
        assert max(times) <= SystemClock().now_ms() + 100

        # a hung camera: connected, silent. The watchdog cuts it after stall_seconds.
        server.pause()
        started = time.monotonic()
        with pytest.raises(SourceLost, match="no frame for up to 1 s"):
            _read_until_lost(source)
        assert time.monotonic() - started < 6
        source.close()
    finally:
        server.kill()


def test_wrong_password_or_no_server_is_an_error_naming_no_secret(
    videos: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    server = RtspServer(videos["holed"], user="packer", password="Right-Pw-71")
    try:
        with pytest.raises(SourceError) as wrong:
            IpCameraSource(server.url(password="Wrong-Pw-42"), _settings(), SystemClock())
        source = IpCameraSource(server.url(), _settings(), SystemClock())
        assert source.read() is not None
        assert "Right-Pw-71" not in source.name
        source.close()
    finally:
        server.kill()
    with pytest.raises(SourceError) as refused:
        IpCameraSource(server.url(), _settings(), SystemClock())  # nobody listens now
    for error in (wrong.value, refused.value):
        text = f"{error} {error.hint}"
        assert "packer:***@127.0.0.1" in text
        assert "-Pw-" not in text
    out, err = capfd.readouterr()
    assert "-Pw-" not in out + err  # nor what OpenCV and FFmpeg print themselves


SECRET = "Tr0ub4dor-3"


@pytest.mark.parametrize("mode", ["encode", "copy"])
def test_station_records_an_rtsp_camera_that_dies_mid_clip_and_comes_back(
    tmp_path: Path, videos: dict[str, Path], capfd: pytest.CaptureFixture[str], mode: str
) -> None:
    """The issue's must-show: clips cut from real RTSP; the server killed mid-clip and
    restarted gives a camera-lost gap and resumed recording; the password never shows.
    In both modes: re-encoded with the overlay, and the camera's H.264 copied."""
    order_a = DemoScene(640, 360, 15, seed=1, orders=1).orders()[0]
    order_b = DemoScene(640, 360, 15, seed=2, orders=1).orders()[0]
    server = RtspServer(videos["a"], user="packer", password=SECRET)
    url = server.url()
    camera = {**SIZE, "device": url, "stall_seconds": 1.5, "reconnect_seconds": 0.3, "mode": mode}
    app = make_app(tmp_path / "data", camera=camera)
    station = make_station(
        app, make_source(app, "camera", realtime=True, epoch_ms=None), realtime=True
    )
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    try:
        wait_for(lambda: station.status().order_id == order_a.order_id, 30, "order A open")
        time.sleep(1.0)  # footage of order A on disk: now the camera loses power
        server.kill()
        wait_for(lambda: bool(station.status().alarms), 10, "the camera-lost alarm")
        server = RtspServer(videos["b"], port=server.port, user="packer", password=SECRET)
        wait_for(
            lambda: order_b.tracking_id in station.status().tracking_ids, 40, "order B's waybill"
        )
        status = station.status()
    finally:
        station.stop()
        runner.join(60)
        server.kill()
    assert not runner.is_alive()
    entries = [from_bytes(data) for _, data in app.store.entries()]
    gaps = [e for e in entries if isinstance(e, Gap)]
    assert [g.reason for g in gaps] == ["camera-lost"]
    # the gap is the outage: kill -> alarm, restart, reconnect, first frame (seconds)
    assert 300 <= gaps[0].end - gaps[0].start <= 15_000
    clips = [e for e in entries if isinstance(e, Clip)]
    assert [(c.order_id, c.status) for c in clips] == [
        (order_a.order_id, "interrupted"),
        (order_b.order_id, "sealed"),
    ]
    assert clips[0].end_reason == "source-lost"
    assert clips[1].tracking_ids == (order_b.tracking_id,)
    segments = [e for e in entries if isinstance(e, Segment)]
    assert len({e.run for e in segments}) == 2
    # each signed entry names the camera by host and port, never the credentials or path
    host = urlsplit(url)
    live = FootageSource("rtsp", host=f"{host.hostname}:{host.port}")
    assert [c.source for c in clips] == [live, live]
    app.store.verify_log([app.station_signer.verifier])
    if mode == "copy":
        assert clips[1].video.encoder.startswith("copy")
        # the camera's own frames, as sent: the test video has exactly 30 fps and no holes
        assert sum(s.dropped for s in segments) == 0
        frames = sum(s.frames for s in segments if s.run == segments[-1].run)
        assert frames >= 200  # order B's stream up to its waybill, at 30 fps
        _assert_decodes(app.store, clips[1], tmp_path / "b.mp4")
    # the bundle of the resumed clip verifies offline, in either mode
    bundle = app.export(clips[1].clip_id, tmp_path / "b.zip").path
    verify_bundle(bundle, app.trust_file())

    # The password reached nothing: the terminal (ours, OpenCV's and FFmpeg's own
    # output), any file of the data directory (store, blobs, ffmpeg logs, state), the
    # status and the run's figures.
    out, err = capfd.readouterr()
    assert SECRET not in out + err
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in repr(status) + repr(station.stats())


def test_http_mjpeg_camera_with_basic_auth(capfd: pytest.CaptureFixture[str]) -> None:
    server = MjpegServer(DemoScene(640, 360, 15, seed=1), fps=15, user="u", password="Mj-Pw-9")
    try:
        with pytest.raises(SourceError, match=r"http://u:\*\*\*@127\.0\.0\.1"):
            IpCameraSource(server.url("u:wrong-Pw-9"), _settings(fps=15), SystemClock())
        source = IpCameraSource(server.url("u:Mj-Pw-9"), _settings(fps=15), SystemClock())
        # no rate in the stream: the configured one, not FFmpeg's guess of 25
        assert (source.width, source.height, source.fps) == (640, 360, 15)
        frames = [source.read() for _ in range(10)]
        assert [f.index for f in frames if f is not None] == list(range(10))
        assert footage_source(source) == FootageSource(
            "http", host=f"127.0.0.1:{urlsplit(server.url('u:x')).port}"
        )
    finally:
        server.close()
    with pytest.raises(SourceLost, match=r"http://u:\*\*\*@"):
        _read_until_lost(source)
    out, err = capfd.readouterr()
    assert "-Pw-9" not in out + err


class _TsCamera:
    """An H.264 camera over HTTP (MPEG-TS) whose first ``bad`` connections start mid-GOP,
    as a stream joined between keyframes: FFmpeg's probe then finds no frame size (0x0),
    as it did for stations started at once on a loaded machine."""

    def __init__(self, root: Path, bad: int) -> None:
        ts = root / "cam.ts"
        subprocess.run(
            [ffmpeg_path(EncoderSettings()), "-nostdin", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-t", "12",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "180", "-f", "mpegts", str(ts)],
            check=True,
        )  # fmt: skip
        full = ts.read_bytes()
        packets = len(full) // 188
        late = full[packets // 12 * 188 :]  # 1 s in: the next keyframe is past the probe
        self.gets = 0
        camera = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # no length, not seekable: one GET per open

            def do_GET(self) -> None:
                camera.gets += 1
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(late if camera.gets <= bad else full)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/cam.ts"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize("bad", [2, 99])
def test_a_stream_opened_without_a_frame_size_is_probed_again(tmp_path: Path, bad: int) -> None:
    camera = _TsCamera(tmp_path, bad)
    try:
        if bad < 4:
            source = IpCameraSource(camera.url, _settings(fps=15), SystemClock())
            assert (source.width, source.height) == (320, 240)
            assert camera.gets == bad + 1
            assert source.read() is not None
            source.close()
            return
        with pytest.raises(SourceError) as error:
            IpCameraSource(camera.url, _settings(fps=15), SystemClock())
    finally:
        camera.close()
    # what was expected, what was found, the fix: not "set an even size"
    message = str(error.value)
    assert "expected the stream's frame size, found 0x0 in 4 opens" in message
    assert "even" not in message + error.value.hint
    assert "keyframe" in error.value.hint
    assert camera.gets == 4
