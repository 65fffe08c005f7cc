"""Webcam capture (ffmpeg reads the camera, burns in the caption, encodes; Python gets
scan frames): the V4L2 command by equality, the caption's text and escaping, and real
ffmpeg runs on the webcam-like camera of tests/webcam.py (its own process)."""

from __future__ import annotations

import threading
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from packseal.runner import make_station
from recorder import EncoderError
from recorder.clock import SystemClock
from recorder.copyrun import ScanGeometry
from recorder.demo import DemoScene
from recorder.drawcaption import CaptionFiles, expansion_text, filter_value, find_font
from recorder.encoder import ffmpeg_path
from recorder.fragtime import fragment_times, init_timescale
from recorder.overlay import OverlayState, caption_metrics
from recorder.settings import EncoderSettings
from recorder.webcam import (
    WebcamRun,
    capture_command,
    check_capture_ffmpeg,
    ffmpeg_version,
    v4l2_input,
)
from storage.entries import Clip, Segment, from_bytes
from tests.recording import SIZE, make_app
from tests.rtspcam import wait_for
from tests.webcam import FakeWebcam, FakeWebcamSource
from verifier import verify_bundle
from verifier._frames_caption import Captions, names_an_order
from verifier._frames_drawtext import Drawtext
from verifier.frames import NOT_THIS_ORDER, pick_keyframes

W, H = SIZE["width"], SIZE["height"]


def test_the_v4l2_capture_command() -> None:
    caption = CaptionFiles(Path("/rec/caption"))
    camera = v4l2_input("/dev/video0", width=1920, height=1080, fps=Fraction(30), fourcc="MJPG")
    cmd = capture_command(
        camera,
        out_dir=Path("/rec/run"),
        ffmpeg="ffmpeg",
        settings=EncoderSettings(),
        fps=Fraction(30),
        width=1920,
        height=1080,
        scan=ScanGeometry.of(1920, 1080, None, 5.0, gray=True),
        caption=caption,
        font=Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    )
    font = "fontfile=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

    def text(name: str, colour: str, y: int) -> str:
        return (
            f"drawtext={font}:textfile=/rec/caption/{name}.txt:reload=1"
            f":fontcolor={colour}:fontsize=34:x=12:y={y}"
        )

    graph = ",".join(
        [
            "drawbox=x=0:y=0:w=iw:h=99:color=black@0.75:t=fill",
            text("head-white", "0xFFFFFF", 6),
            text("head-red", "0xE62828", 6),
            text("head-amber", "0xFFBE00", 6),
            text("info", "0xFFFFFF", 51),
        ]
    )
    assert cmd == [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-copyts",
        "-thread_queue_size", "256",
        "-f", "v4l2", "-input_format", "mjpeg", "-video_size", "1920x1080",
        "-framerate", "30", "-ts", "abs", "-i", "/dev/video0",
        "-filter_complex",
        f"[0:v]split=2[rec][scan];[rec]{graph},setpts=PTS-STARTPTS,format=yuv420p[v];"
        "[scan]fps=5,scale=1920:1080,format=gray[s]",
        "-map", "[v]", "-fps_mode", "passthrough", "-enc_time_base", "1:90000",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-rc-lookahead", "5",
        "-x264-params", "sync-lookahead=0:bframes=0:subme=1", "-pix_fmt", "yuv420p",
        "-colorspace", "smpte170m", "-color_range", "tv", "-g", "60", "-sc_threshold", "0",
        "-force_key_frames", "expr:gte(t,n_forced*2)",
        "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", "/rec/run/seg_%06d.m4s",
        "-hls_segment_options", "movflags=+skip_sidx", "-hls_flags", "temp_file",
        "/rec/run/index.m3u8",
        "-map", "[s]", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip
    assert v4l2_input("/dev/v", width=640, height=480, fps=Fraction(15), fourcc="yuyv")[:4] == [
        "-f", "v4l2", "-input_format", "yuyv422",
    ]  # fmt: skip
    with pytest.raises(Exception, match="fourcc"):
        v4l2_input("/dev/v", width=640, height=480, fps=Fraction(15), fourcc="XXXX")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("ORD-1", "ORD-1"),
        ("100% %{pts} \\n", "100\\% \\%{pts} \\\\\\\\n"),  # printable doubles '\\', then drawtext
        ("订单\u202eRTL\n", "订单\\\\u202eRTL\\\\x0a"),  # bidi override and newline: escaped
    ],
)
def test_caption_text_is_shown_literally(text: str, shown: str) -> None:
    assert expansion_text(text) == shown


def test_filter_values_are_escaped_for_both_levels() -> None:
    assert filter_value("/a/b.txt") == "/a/b.txt"
    assert filter_value("/x:y,z[1];'q'\\") == "/x\\\\:y\\,z\\[1\\]\\;\\\\\\'q\\\\\\'\\\\\\\\"


def _frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    out = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        out.append(image)
    cap.release()
    return out


def test_a_capture_run_burns_in_the_state_and_counts_the_cameras_lost_frames(
    tmp_path: Path,
) -> None:
    """Real ffmpeg on the webcam-like camera: the caption switches from "no order" (white)
    to an order (red) in the recorded frames, its clock runs, and 5 frames the camera
    lost show as 5 dropped in the segments' own times. The directory's name holds what
    the filter graph must escape."""
    root = tmp_path / "rec: a,b [c]; 'd'"
    sock = tmp_path / "cam.sock"
    camera = FakeWebcam(sock, size=(W, H), testsrc=4, hole=(45, 5))
    caption = CaptionFiles(root / "caption")
    state = OverlayState("station-01", operator="操作员 Ann")
    caption.start(state)
    scan = ScanGeometry.of(W, H, 320, 5.0, gray=True)
    run = WebcamRun.capture(
        "run1", root, camera.ffmpeg_input(), ffmpeg=ffmpeg_path(EncoderSettings()),
        settings=EncoderSettings(), fps=Fraction(30), width=W, height=H, scan=scan,
        caption=caption, zone="Asia/Shanghai", gap_reason="restart",
    )  # fmt: skip
    clock = SystemClock()
    shapes: list[tuple[int, ...]] = []

    def scan_frames() -> None:  # as the station's capture thread reads them
        while (got := run.read_frame(clock)) is not None:
            shapes.append(got[0].shape)

    reader = threading.Thread(target=scan_frames, daemon=True)
    reader.start()
    try:
        wait_for(lambda: len(shapes) >= 12, 30, "scan frames")  # ~2.4 s of footage
        caption.show(OverlayState("station-01", order_id="ORD-测试-1"))
        wait_for(lambda: len(shapes) >= 22, 30, "more scan frames")
    finally:
        truth = camera.stop()  # the camera ends first: ffmpeg reads to its end
        reader.join(30)
        run.finish()
    assert set(shapes) == {(180, 320)}  # gray: the luma plane
    assert truth["lost"] == 5  # the hole alone: the reader kept up
    run.watch(clock)
    timed = run.closed_segments()
    assert len(timed) >= 2
    assert sum(t.dropped for _, t in timed) == 5
    # every frame the camera delivered is in the segments: none lost uncounted
    assert sum(t.frames for _, t in timed) == truth["sent"]
    scale = init_timescale(run.init_path.read_bytes())
    assert scale == 90000
    times = [fragment_times(s.path.read_bytes()) for s, _ in timed]
    assert all(a.end == b.start for a, b in pairwise(times))
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(run.init_path.read_bytes() + b"".join(s.path.read_bytes() for s, _ in timed))
    frames = _frames(clip)
    assert len(frames) == sum(t.frames for _, t in timed)
    red = [names_an_order(f) for f in frames]
    assert not red[0]
    assert red[-1]
    switch = red.index(True)
    assert all(red[switch:])  # once switched, every frame shows the order
    # the info line (time with zone, counter) changes frame to frame; the head line
    # only when the state does
    g = caption_metrics(W, H)
    m = g.margin // 2 + g.line_h  # the first line's rows; the second's end at the band's
    a, b = (f.astype(np.int16) for f in frames[:2])
    assert np.abs(a[:m] - b[:m]).mean() < 2  # coding noise only
    assert np.abs(a[m : g.band_h] - b[m : g.band_h]).max() > 100  # the counter's last digit
    cv2.imwrite(str(tmp_path / "last.png"), frames[-1][:70])
    log = (run.dir / "ffmpeg.log").read_text()
    assert "error" not in log.lower(), log
    assert find_font() is not None  # fonts-noto-cjk (scripts/setup.sh)


def test_the_station_records_the_webcam_by_ffmpeg_end_to_end(tmp_path: Path) -> None:
    """record -> clip -> export -> verify with ffmpeg capturing the webcam-like camera; the
    caption names the order in the clip's frames; drops are the camera's lost frames."""
    order = DemoScene(W, H, 15, seed=1, orders=1).orders()[0]
    camera = FakeWebcam(tmp_path / "cam.sock", size=(W, H), demo=1, scene_fps=15)
    app = make_app(tmp_path / "data", camera={**SIZE, "reconnect_seconds": 0.3})
    station = make_station(app, camera.source(app.clock), realtime=True)
    assert station.pipelines[0].webcam is not None
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    try:
        wait_for(lambda: station.status().order_id == order.order_id, 40, "the order open")
        wait_for(lambda: order.tracking_id in station.status().tracking_ids, 40, "its waybill")
        station.submit(app.config.station.scan.stop_code, "gun")  # the packer is done
        wait_for(lambda: station.status().order_id is None, 20, "the clip closed")
        wait_for(lambda: station.status().clips_sealed == 1, 20, "the clip sealed")
    finally:
        station.stop()
        runner.join(60)
        truth = camera.stop()
    assert not runner.is_alive()
    entries = [from_bytes(data) for _, data in app.store.entries()]
    clips = [e for e in entries if isinstance(e, Clip)]
    assert [(c.order_id, c.tracking_ids, c.status) for c in clips] == [
        (order.order_id, (order.tracking_id,), "sealed")
    ]
    assert clips[0].video.encoder.startswith("libx264")
    segments = [e for e in entries if isinstance(e, Segment)]
    dropped = sum(s.dropped for s in segments)
    assert dropped <= truth["lost"]
    assert station.status().frames_dropped == dropped
    app.store.verify_log([app.station_signer.verifier])
    bundle = app.export(clips[0].clip_id, tmp_path / "a.zip").path
    verify_bundle(bundle, app.trust_file())
    # the recorded caption names the order (red) in the clip's middle
    with open(tmp_path / "clip.mp4", "wb") as f:
        f.write(app.store.read_blob(clips[0].init))
        for ref in clips[0].segments:
            f.write(app.store.read_blob(ref.sha256))
    frames = _frames(tmp_path / "clip.mp4")
    assert names_an_order(frames[len(frames) // 2])
    # the sheet's keyframes: drawtext's caption is compared with drawtext's own drawing
    # of this order and its rivals (OpenCV's drawing labelled every one "does not read as
    # this order"), and the order scan's keyframe shows the caption naming the order
    assert clips[0].video.encoder == "libx264 veryfast crf=28, caption by ffmpeg drawtext"
    keyframes = pick_keyframes(clips[0], tmp_path / "clip.mp4")
    labels = [k.label for k in keyframes]
    assert not [label for label in labels if NOT_THIS_ORDER in label], labels
    scanned = next(k for k in keyframes if k.label == "Order scan")
    drawtext = Drawtext(W, H, find_font(), ffmpeg_path(EncoderSettings()))
    assert Captions(order.order_id, W, H, drawtext).names(scanned.image)


def _ffmpeg_saying(path: Path, first_line: str) -> str:
    """An "ffmpeg" that only answers -version, as the build named would."""
    path.write_text(
        f"#!/bin/sh\necho '{first_line} Copyright (c) 2000-2026 the FFmpeg developers'\n"
    )
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("first_line", "version"),
    [
        ("ffmpeg version 5.1.9-0+deb12u1", (5, 1)),  # Debian 12's
        ("ffmpeg version n6.1.2", (6, 1)),
        ("ffmpeg version 9.0.2-static https://johnvansickle.com/ffmpeg/", (9, 0)),
        ("ffmpeg version N-113452-g1a2b3c4d5e", None),  # a git snapshot names no release
    ],
)
def test_ffmpeg_version(tmp_path: Path, first_line: str, version: tuple[int, int] | None) -> None:
    assert ffmpeg_version(_ffmpeg_saying(tmp_path / "ffmpeg", first_line)) == version


def test_the_station_refuses_to_capture_a_webcam_with_ffmpeg_5(tmp_path: Path) -> None:
    """5.1 left camera frames out of a capture run without counting them (recorder/webcam.py)."""
    debian = _ffmpeg_saying(tmp_path / "ffmpeg", "ffmpeg version 5.1.9-0+deb12u1")
    app = make_app(tmp_path / "data", camera={**SIZE}, encoder={"ffmpeg": debian})
    source = FakeWebcamSource(tmp_path / "cam.sock", (W, H), 30, app.clock)
    with pytest.raises(EncoderError, match=r"is ffmpeg 5\.1; capturing a webcam") as e:
        make_station(app, source, realtime=True)
    assert "station.encoder.ffmpeg to null" in e.value.hint
    assert "station.camera.capture to python" in e.value.hint
    check_capture_ffmpeg(ffmpeg_path(EncoderSettings()))  # the one imageio-ffmpeg ships
    # the Python path takes frames from OpenCV and only encodes with this ffmpeg
    python = make_app(
        tmp_path / "py", camera={**SIZE, "capture": "python"}, encoder={"ffmpeg": debian}
    )
    assert make_station(python, source, realtime=True).pipelines[0].webcam is None
