"""Copy mode scanning the camera's sub-stream (recorder/substream.py) on real RTSP: the
main stream only copied, scan frames decoded from the sub-stream, and each stream lost
on its own."""

from __future__ import annotations

import threading
import time
from itertools import pairwise
from pathlib import Path

import pytest

from packseal.runner import make_source, make_station
from recorder.copyrun import ScanGeometry, copy_command
from recorder.demo import DemoScene
from recorder.substream import scan_command
from storage.entries import Clip, Gap, Segment, from_bytes
from tests.recording import SIZE, make_app
from tests.rtspcam import RtspServer, demo_video, wait_for

SECRET = "Sub-Str3am-Pw"
MAIN = (1280, 720)  # the demo scene upscaled: the sub-stream is the scene at its own size


def test_scan_command_and_the_copy_only_command() -> None:
    scan = ScanGeometry(320, 180, 5.0)
    assert scan_command(
        "rtsp://u:p@cam/sub", ffmpeg="ffmpeg", scan=scan, transport="tcp", stall_seconds=2
    ) == [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-rtsp_transport", "tcp", "-timeout", "2000000", "-i", "rtsp://u:p@cam/sub",
        "-map", "0:v:0", "-vf", "fps=5,scale=320:180",
        "-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip
    # the main stream then is only copied (H.265 tagged hvc1): no decode, no filter
    cmd = copy_command(
        "rtsp://u:p@cam/main", out_dir=Path("/rec/run"), ffmpeg="ffmpeg", segment_seconds=2,
        scan=None, transport="tcp", stall_seconds=2, codec="hevc",
    )  # fmt: skip
    assert cmd[cmd.index("-c:v") : cmd.index("-c:v") + 4] == ["-c:v", "copy", "-tag:v", "hvc1"]
    assert cmd[-9:] == [
        "-map", "0:v:0", "-c:v", "copy", "-f", "framecrc", "-flush_packets", "1", "pipe:1",
    ]  # fmt: skip
    assert "-vf" not in cmd
    assert "rawvideo" not in cmd
    with pytest.raises(ValueError, match="codec"):
        copy_command("rtsp://c/1", out_dir=Path("/a"), ffmpeg="f", segment_seconds=2,
                     scan=None, transport="tcp", stall_seconds=1, codec="vp9")  # fmt: skip


def test_the_sub_stream_scans_and_either_stream_can_be_lost_alone(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Scan frames come from the sub-stream. The sub-stream down at start or lost: a
    scan-lost alarm, no gap, the main stream's segments go on, and scanning resumes when it
    is back. The main stream lost: the camera is lost (clip interrupted) and the
    sub-stream stops with it."""
    order_a1, order_a2 = DemoScene(640, 360, 15, seed=1, orders=2).orders()
    order_b = DemoScene(640, 360, 15, seed=2, orders=1).orders()[0]
    demo_video(tmp_path / "main.mp4", seed=1, orders=2, scale=MAIN)
    demo_video(tmp_path / "sub-a.mp4", seed=1, orders=2)
    demo_video(tmp_path / "sub-b.mp4", seed=2)
    main = RtspServer(tmp_path / "main.mp4", user="packer", password=SECRET)
    sub = RtspServer(tmp_path / "sub-a.mp4", user="packer", password=SECRET)
    sub.kill()  # the sub-stream is down when the station starts: it records all the same
    camera = {
        **SIZE, "device": main.url(), "scan_url": sub.url(), "mode": "copy",
        "stall_seconds": 1.5, "reconnect_seconds": 0.3,
    }  # fmt: skip
    app = make_app(tmp_path / "data", camera=camera)
    station = make_station(
        app, make_source(app, "camera", realtime=True, epoch_ms=None), realtime=True
    )
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    try:
        wait_for(lambda: "scan-lost" in station.status().alarm_kinds, 20, "no sub-stream")
        assert "no frame" in station.status().alarms[-1]
        wait_for(lambda: station.status().segments_sealed >= 1, 15, "footage without scans")
        sub = RtspServer(tmp_path / "sub-a.mp4", port=sub.port, user="packer", password=SECRET)
        wait_for(lambda: station.status().order_id == order_a1.order_id, 30, "order A1 open")
        # the scan frames are the sub-stream's size, not the main stream's
        frame = station.latest_frame
        assert frame is not None
        assert frame.image.shape[:2] == (SIZE["height"], SIZE["width"])
        sub.kill()
        wait_for(lambda: "scan-lost" in station.status().alarm_kinds, 10, "the scan-lost alarm")
        segments = station.status().segments_sealed
        wait_for(lambda: station.status().segments_sealed >= segments + 2, 15, "footage goes on")
        assert station.status().order_id == order_a1.order_id  # the clip stays open
        sub = RtspServer(tmp_path / "sub-b.mp4", port=sub.port, user="packer", password=SECRET)
        wait_for(lambda: station.status().order_id == order_b.order_id, 30, "order B open")
        main.kill()
        wait_for(lambda: "source-lost" in station.status().alarm_kinds, 10, "camera lost")
        captured = station.status().frames_captured
        time.sleep(1.5)
        # no scan frames while the main stream is away, though the sub-stream is up
        assert station.status().frames_captured <= captured + 1
        status = station.status()
    finally:
        station.stop()
        runner.join(60)
        main.kill()
        sub.kill()
    assert not runner.is_alive()
    assert order_a2.order_id != order_b.order_id
    entries = [from_bytes(data) for _, data in app.store.entries()]
    assert [e for e in entries if isinstance(e, Gap)] == []  # one run: nothing missing
    segments_sealed = [e for e in entries if isinstance(e, Segment)]
    assert len({s.run for s in segments_sealed}) == 1
    assert all(abs(a.end - b.start) <= 100 for a, b in pairwise(segments_sealed))
    clips = [e for e in entries if isinstance(e, Clip)]
    assert [(c.order_id, c.status) for c in clips] == [
        (order_a1.order_id, "sealed"),
        (order_b.order_id, "interrupted"),
    ]
    assert clips[1].end_reason == "source-lost"
    assert (clips[0].video.width, clips[0].video.height) == MAIN
    # clip A1 spans the sub-stream's outage with footage: its segments are contiguous
    assert clips[0].end_ms - clips[0].start_ms >= 4000
    app.store.verify_log([app.station_signer.verifier])
    out, err = capfd.readouterr()
    assert SECRET not in out + err
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in repr(status) + repr(station.stats())
