"""Stream-copy runs: the ffmpeg command, segment times from the camera's own timestamps,
and ffmpeg's log without credentials (the end-to-end run is in test_ipcam.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import imageio_ffmpeg
import pytest
import yaml

from packseal.app import App
from packseal.config import load_config
from recorder.clock import SystemClock
from recorder.copyrun import CopyRun, ScanGeometry, copy_command
from recorder.encoder import LOG_NAME
from recorder.fragtime import fragment_times, init_timescale
from storage.entries import Gap, Segment, from_bytes
from tests.rtspcam import RtspServer, demo_video, record_h265_clip

ROOT = Path(__file__).resolve().parents[2]


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


def test_a_killed_copy_mode_station_leaves_no_ffmpeg_and_recovers_its_segments(
    tmp_path: Path,
) -> None:
    """SIGKILL the station mid-recording in copy mode: its ffmpeg (own session, so the
    station's Ctrl-C does not reach it) must not go on recording an orphaned run, and the
    next start seals what the killed run closed, after a crash gap."""
    video = tmp_path / "v.mp4"
    demo_video(video, seed=1)
    server = RtspServer(video)
    config = tmp_path / "config.yaml"
    camera = {"device": server.url(), "width": 640, "height": 360, "fps": 30, "mode": "copy"}
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "data"),
                "merchant": {"name": "Crash Shop", "id": "crash"},
                "station": {"camera": camera},
            }
        )
    )
    cmd = [sys.executable, "-m", "packseal", "--config", str(config)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        subprocess.run([*cmd, "init"], check=True, env=env, capture_output=True)
        app = App(load_config(config))
        station = subprocess.Popen([*cmd, "record", "--source", "camera"], env=env, cwd=ROOT)
        deadline = time.monotonic() + 60
        while app.store.last_segment() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert app.store.last_segment() is not None
        [run_dir] = [p for p in app.config.recordings_dir.iterdir() if p.is_dir()]
        assert (run_dir / "run.json").exists()
        ffmpeg_pid = int(_ffmpeg_child(station.pid))
        time.sleep(2.5)  # a segment closed on disk but not yet sealed, maybe
        station.send_signal(signal.SIGKILL)
        station.wait()
        # the orphan sees its scan output's reader gone and exits (EPIPE)
        deadline = time.monotonic() + 10
        while _alive(ffmpeg_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(ffmpeg_pid)
        sealed_before = app.store.last_segment()
        assert sealed_before is not None
        final = subprocess.run(
            [*cmd, "record", "--source", "camera", "--for", "3"],
            env=env, cwd=ROOT, capture_output=True, timeout=120,
        )  # fmt: skip
        assert final.returncode == 0, final.stderr.decode()
    finally:
        server.kill()
    entries = [from_bytes(d) for _, d in app.store.entries()]
    segments = [e for e in entries if isinstance(e, Segment)]
    gaps = [e for e in entries if isinstance(e, Gap)]
    assert [g.reason for g in gaps] == ["crash"]
    killed_run = [s for s in segments if s.run == sealed_before.run]
    # the killed run's segments are contiguous in time, from its own decode times
    assert all(a.end == b.start for a, b in pairwise(killed_run))
    assert [p.name for p in app.config.recordings_dir.iterdir()] == ["station-state.json"]
    app.store.verify_log([app.station_signer.verifier])


def _ffmpeg_child(pid: int) -> str:
    """The ffmpeg the station started (from /proc: no procps needed)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().rsplit(")", 1)
        except (FileNotFoundError, ProcessLookupError):
            continue
        if rest.split()[1] == str(pid) and "ffmpeg" in name:  # comm: first 15 characters
            return stat.parent.name
    raise AssertionError("the station runs no ffmpeg")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_finish_ends_ffmpeg_gracefully_while_nobody_reads_its_scan_frames(
    tmp_path: Path,
) -> None:
    """SIGTERM while the scan pipe is full: ffmpeg must still write its last segment and
    the playlist's end (before the fix it blocked on the pipe and was killed at 20 s)."""
    video = tmp_path / "v.mp4"
    demo_video(video, seed=3)
    server = RtspServer(video)
    try:
        run = CopyRun.start(
            "run-1",
            tmp_path,
            server.url(),
            fps=Fraction(30),
            ffmpeg=imageio_ffmpeg.get_ffmpeg_exe(),
            segment_seconds=1,
            scan=ScanGeometry(640, 360, 5),
            transport="tcp",
            stall_seconds=5,
            gap_reason="restart",
        )
        assert run.read_frame(SystemClock()) is not None
        time.sleep(2.5)  # frames pile up in the pipe: nobody reads them
        started = time.monotonic()
        run.finish(timeout=20)
        assert time.monotonic() - started < 10
    finally:
        server.kill()
    assert (tmp_path / "run-1" / "index.m3u8").read_text().endswith("#EXT-X-ENDLIST\n")


def test_an_h265_camera_is_copied_as_hvc1_and_its_clip_exports_and_verifies(
    tmp_path: Path,
) -> None:
    """An H.265 main stream (as many Hikvision/Dahua cameras send) copied into the same
    fMP4 segments, tagged hvc1, scanned from the H.264 sub-stream of the same server."""
    from storage.entries import Clip
    from tests.recorder.test_ipcam import _assert_decodes
    from verifier import verify_bundle

    app, clip = record_h265_clip(tmp_path)
    entries = [from_bytes(data) for _, data in app.store.entries()]
    assert [e for e in entries if isinstance(e, Clip)] == [clip]
    assert clip.status == "sealed"
    assert (clip.video.codec, clip.video.encoder) == ("hevc", "copy (the camera's H.265 as sent)")
    init = app.store.read_blob(clip.init)
    assert b"hvc1" in init  # parameter sets in the init section (hvcC), not only in-band
    assert b"hvcC" in init
    assert b"hev1" not in init
    segments = [e for e in entries if isinstance(e, Segment)]
    assert sum(s.dropped for s in segments) == 0
    _assert_decodes(app.store, clip, tmp_path / "clip.mp4")
    bundle = app.export(clip.clip_id, tmp_path / "h265.zip").path
    verify_bundle(bundle, app.trust_file())
