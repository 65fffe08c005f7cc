"""Stream-copy runs: the ffmpeg command, segment times from the camera's own timestamps,
and ffmpeg's log without credentials (the end-to-end run is in test_ipcam.py)."""

from __future__ import annotations

import subprocess
import time
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import imageio_ffmpeg
import pytest

from recorder.copyrun import CopyRun, ScanGeometry, copy_command
from recorder.encoder import LOG_NAME
from recorder.fragtime import fragment_times, init_timescale
from tests.rtspcam import RtspServer, demo_video


def test_copy_command() -> None:
    scan = ScanGeometry.of(1920, 1080, 640, 5.0)
    assert scan == ScanGeometry(640, 360, 5.0)
    assert ScanGeometry.of(1280, 720, None, 5) == ScanGeometry(1280, 720, 5)
    cmd = copy_command(
        "rtsp://u:p@cam/1",
        out_dir=Path("/rec/run"),
        ffmpeg="ffmpeg",
        segment_seconds=2,
        scan=scan,
        transport="tcp",
        stall_seconds=5,
    )
    assert cmd == [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-rtsp_transport", "tcp", "-timeout", "5000000", "-i", "rtsp://u:p@cam/1",
        "-map", "0:v:0", "-c:v", "copy",
        "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", "/rec/run/seg_%06d.m4s",
        "-hls_segment_options", "movflags=+skip_sidx", "-hls_flags", "temp_file",
        "/rec/run/index.m3u8",
        "-map", "0:v:0", "-vf", "fps=5,scale=640:360",
        "-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="'%'"):
        copy_command("rtsp://c/1", out_dir=Path("/a%d"), ffmpeg="f", segment_seconds=2,
                     scan=scan, transport="tcp", stall_seconds=1)  # fmt: skip


def test_fragment_times_show_the_frames_a_camera_lost(tmp_path: Path) -> None:
    demo_video(tmp_path / "holed.mp4", seed=3, hole=(45, 5))
    out = tmp_path / "hls"
    out.mkdir()
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error",
           "-i", str(tmp_path / "holed.mp4"), "-c:v", "copy", "-f", "hls", "-hls_time", "2",
           "-hls_list_size", "0", "-hls_segment_type", "fmp4",
           "-hls_segment_filename", str(out / "seg_%06d.m4s"),
           "-hls_segment_options", "movflags=+skip_sidx", str(out / "index.m3u8")]  # fmt: skip
    subprocess.run(cmd, check=True)
    scale = init_timescale((out / "init.mp4").read_bytes())
    times = [fragment_times(p.read_bytes()) for p in sorted(out.glob("seg_*.m4s"))]
    frame = scale / 30
    assert [t.dropped(frame) for t in times][:2] == [5, 0]  # the hole is 1.5 s in
    assert all(a.end == b.start for a, b in pairwise(times))
    total = sum(len(t.durations) for t in times)
    assert round(times[-1].end / frame) == total + 5  # every frame's time, the hole included
    with pytest.raises(ValueError, match="one track fragment"):
        fragment_times((out / "init.mp4").read_bytes())


def test_ffmpeg_log_names_the_camera_without_its_password(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    demo_video(video, seed=3)
    server = RtspServer(video, user="packer", password="Copy-Pw-5")
    try:
        run = CopyRun.start(
            "run-1",
            tmp_path,
            server.url(password="Wrong-Pw-5"),
            fps=Fraction(30),
            ffmpeg=imageio_ffmpeg.get_ffmpeg_exe(),
            segment_seconds=2,
            scan=ScanGeometry(320, 180, 5),
            transport="tcp",
            stall_seconds=2,
            gap_reason="restart",
        )
        started = time.monotonic()
        assert run.read_frame(clock=_NoClock()) is None  # refused: ffmpeg exits
        run.finish()
        assert time.monotonic() - started < 10
    finally:
        server.kill()
    log = (tmp_path / "run-1" / LOG_NAME).read_text()
    assert "401" in log
    assert "packer:***@127.0.0.1" in log  # ffmpeg named its input, redacted on the way
    assert "-Pw-5" not in log


class _NoClock:
    def now_ms(self) -> int:
        raise AssertionError("no frame should arrive")
