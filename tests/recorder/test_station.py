"""The station end to end: the demo and a video file through real ffmpeg, and faults."""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import subprocess
import threading
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import pytest

from packseal.runner import make_station
from recorder.clock import SystemClock
from recorder.demo import DemoScene
from recorder.sources import DemoSource, FileSource, Frame, FrameSource
from storage import ClipQuery, DiskFullError, Store
from storage.entries import Clip, Gap, Segment, from_bytes, parse_as
from storage.footage import FootageSource
from storage.zones import local_zone, zone_name
from tests.cameras import UnpluggedCamera
from tests.recording import EPOCH_MS, SIZE, make_app, record_demo

pytestmark = pytest.mark.slow

SEGMENT_MS = 2000


def _entries(store: Store) -> list[object]:
    return [from_bytes(data) for _, data in store.entries()]


def _clip_file(store: Store, clip: Clip, out: Path) -> Path:
    with open(out, "wb") as f:
        f.write(store.read_blob(clip.init))
        for ref in clip.segments:
            f.write(store.read_blob(ref.sha256))
    return out


def _frame_count(path: Path) -> int:
    done = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v",
            "-f",
            "framemd5",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith("#"))


def _check_clips_against_scene(store: Store, scene: DemoScene, epoch: int) -> list[Clip]:
    rows = list(reversed(store.clips(ClipQuery(limit=100))))
    orders = scene.orders()
    assert [r.order_id for r in rows] == [o.order_id for o in orders]
    clips = [parse_as(Clip, store.entry(r.idx)) for r in rows]
    for clip, order in zip(clips, orders, strict=True):
        shown = epoch + order.start_ms
        # the scan time is the first of two agreeing reads, sampled at 5 Hz of source time
        assert shown - 100 <= clip.started <= shown + 600, (clip.order_id, clip.started - shown)
        assert clip.tracking_ids == (order.tracking_id,)
        # pre-roll: the first segment starts no later than 2 s before the scan, and no
        # more than one segment earlier than that
        assert clip.start_ms <= clip.started - clip.pre_roll
        assert clip.start_ms > clip.started - clip.pre_roll - SEGMENT_MS - 100
        assert clip.end_ms >= clip.ended + clip.post_roll or clip.end_reason == "shutdown"
        assert clip.end_ms < clip.ended + clip.post_roll + SEGMENT_MS + 100
    return clips


def test_demo_recording_end_to_end(tmp_path: Path) -> None:
    rec = record_demo(tmp_path / "data", orders=3)
    store = rec.app.store
    clips = _check_clips_against_scene(store, rec.scene, rec.epoch_ms)
    assert [(c.end_reason, c.status) for c in clips] == [
        ("next-order", "sealed"),
        ("next-order", "sealed"),
        ("shutdown", "sealed"),
    ]
    # the waybill scan and the order scan are in the scan list, with boxes
    for clip in clips:
        kinds = {s.kind for s in clip.scans}
        assert {"order", "tracking"} <= kinds
        assert all(s.box is not None for s in clip.scans if s.source == "camera")
    entries = _entries(store)
    segments = [e for e in entries if isinstance(e, Segment)]
    assert [s.seq for s in segments] == list(range(len(segments)))
    assert not [e for e in entries if isinstance(e, Gap)]
    # continuous: each segment starts where the one before ended
    for a, b in itertools.pairwise(segments):
        assert b.start == a.end
    assert sum(s.frames for s in segments) == rec.station.stats()["frames_encoded"]
    assert rec.station.stats()["frames_dropped"] == 0
    report = store.verify_log([rec.app.station_signer.verifier])
    assert report.kinds["clip"] == 3
    # each signed entry says where the footage came from: the demo, not a camera
    assert {c.source for c in clips} == {FootageSource("demo", name="demo:1")}
    # a clip is the init section and its segments, byte for byte: it decodes whole
    clip = clips[0]
    path = _clip_file(store, clip, tmp_path / "clip.mp4")
    frames = sum(s.frames for s in segments if s.seq in {r.seq for r in clip.segments})
    assert _frame_count(path) == frames
    # nothing left behind in the recordings directory but the station's state
    assert [p.name for p in rec.app.config.recordings_dir.iterdir()] == ["station-state.json"]


def _write_video(scene: DemoScene, path: Path, seconds: float) -> None:
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
        "-s", f"{scene.width}x{scene.height}", "-r", str(scene.fps), "-i", "pipe:",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
    with subprocess.Popen(cmd, stdin=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        for i in range(int(seconds * scene.fps)):
            proc.stdin.write(scene.render(i).tobytes())
        proc.stdin.close()
        assert proc.wait() == 0


def test_video_file_end_to_end(tmp_path: Path) -> None:
    scene = DemoScene(SIZE["width"], SIZE["height"], SIZE["fps"], seed=4, orders=2)
    assert scene.duration_ms is not None
    video = tmp_path / "packing.mp4"
    _write_video(scene, video, scene.duration_ms / 1000)
    app = make_app(tmp_path / "data")
    epoch = 1_790_000_000_000
    station = make_station(
        app, FileSource(video, SystemClock(), realtime=False, epoch_ms=epoch), realtime=False
    )
    station.run()
    clips = _check_clips_against_scene(app.store, scene, epoch)
    assert clips[0].video.fps_num == 15
    # an imported file is named with its hash in every clip entry: never mistaken for live
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    assert {c.source for c in clips} == {FootageSource("file", name="packing.mp4", sha256=sha)}
    app.store.verify_log([app.station_signer.verifier])


class CameraTimeHole:
    """Frames arrive evenly, but from ``at`` on the camera's own count is 5 ahead: it lost
    5 frames that the arrival times do not show (an IP camera's burst after a hole)."""

    def __init__(self, inner: DemoSource, at: int) -> None:
        self.inner, self.at = inner, at

    width = property(lambda self: self.inner.width)
    height = property(lambda self: self.inner.height)
    fps = property(lambda self: self.inner.fps)

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is None or frame.index < self.at:
            return frame
        return Frame(frame.image, frame.t_ms, frame.index + 5)

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        self.inner.close()


def test_drops_are_counted_from_the_cameras_own_frame_count(tmp_path: Path) -> None:
    app = make_app(tmp_path / "data")
    scene = DemoScene(SIZE["width"], SIZE["height"], SIZE["fps"], seed=1, orders=1)
    inner = DemoSource(scene, app.clock, realtime=False, epoch_ms=EPOCH_MS)
    station = make_station(app, CameraTimeHole(inner, 20), realtime=False, for_ms=3000)
    station.run()
    assert station.stats()["frames_dropped"] == 5


def test_camera_lost_and_back(tmp_path: Path) -> None:
    app = make_app(tmp_path / "data", camera={**SIZE, "reconnect_seconds": 0.01})
    scene = DemoScene(SIZE["width"], SIZE["height"], SIZE["fps"], seed=1, orders=3)
    inner = DemoSource(scene, app.clock, realtime=False, epoch_ms=EPOCH_MS)
    first = scene.orders()[0]
    lose_at = scene.frame_at(first.start_ms + 6000)  # while the first order is being packed
    camera: FrameSource = UnpluggedCamera(
        inner,
        lose_at,
        retries=2,
        away_s=5,
        origin=FootageSource("camera", device="/dev/video0", card="Cam A", serial="A"),
        # another camera was plugged in its place
        replaced_by=FootageSource("camera", device="/dev/video0", card="Cam B", serial="B"),
    )
    station = make_station(app, camera, realtime=False)
    station.run()
    entries = _entries(app.store)
    gaps = [e for e in entries if isinstance(e, Gap)]
    assert len(gaps) == 1
    assert gaps[0].reason == "camera-lost"
    assert 4_500 <= gaps[0].end - gaps[0].start <= 6_500
    clips = [e for e in entries if isinstance(e, Clip)]
    assert clips[0].order_id == first.order_id
    assert (clips[0].status, clips[0].end_reason) == ("interrupted", "source-lost")
    # recording resumed by itself: later orders were sealed normally
    assert [c.status for c in clips[1:]] == ["sealed", "sealed"]
    # ... and name the camera that filmed them, read again when it came back
    assert [c.source and c.source.serial for c in clips] == ["A", "B", "B"]
    assert len({s.run for s in entries if isinstance(s, Segment)}) == 2
    # the alarm was raised, then cleared when the next order started (the packer moved on)
    assert station.status().alarm_count >= 1
    assert not any("camera lost" in a for a in station.status().alarms)
    app.store.verify_log([app.station_signer.verifier])


def test_encoder_dies_mid_clip(tmp_path: Path) -> None:
    app = make_app(tmp_path / "data")
    scene = DemoScene(SIZE["width"], SIZE["height"], SIZE["fps"], seed=1, orders=3)
    source = DemoSource(scene, app.clock, realtime=False, epoch_ms=EPOCH_MS)
    station = make_station(app, source, realtime=False)
    killed = threading.Event()

    def kill_ffmpeg_once_recording() -> None:
        while not killed.is_set():
            status = station.status()
            if status.order_id is not None and status.segments_sealed >= 8 and station.queue.runs:
                encoder = station.queue.runs[-1].encoder
                if encoder is not None and encoder.alive:
                    os.kill(encoder.pid, signal.SIGKILL)
                    killed.set()
            killed.wait(0.01)

    killer = threading.Thread(target=kill_ffmpeg_once_recording, daemon=True)
    killer.start()
    station.run()
    killed.set()
    entries = _entries(app.store)
    gaps = [e for e in entries if isinstance(e, Gap)]
    assert [g.reason for g in gaps] == ["encoder-died"]
    clips = [e for e in entries if isinstance(e, Clip)]
    interrupted = [c for c in clips if c.status == "interrupted"]
    assert len(interrupted) == 1
    assert interrupted[0].end_reason == "encoder-died"
    assert len({s.run for s in entries if isinstance(s, Segment)}) == 2
    app.store.verify_log([app.station_signer.verifier])


def test_disk_full_stops_recording_and_logs_nothing_half_written(
    tmp_path: Path, small_disk: Path
) -> None:
    app = make_app(tmp_path / "data", encoder={"crf": 10, "preset": "ultrafast"})
    # Point the blob store at a 4 MiB disk (a real ENOSPC, not a mock).
    store = Store.open(app.config.database_url, small_disk / "blobs", app.config.origin)
    app.__dict__["store"] = store
    scene = DemoScene(SIZE["width"], SIZE["height"], SIZE["fps"], seed=1, orders=6)
    station = make_station(
        app, DemoSource(scene, app.clock, realtime=False, epoch_ms=EPOCH_MS), realtime=False
    )
    with pytest.raises(DiskFullError):
        station.run()
    assert any("disk full" in a for a in station.status().alarms)
    entries = _entries(store)
    segments = [e for e in entries if isinstance(e, Segment)]
    assert segments, "the disk should hold a few segments before it fills"
    for s in segments:
        store._blobs.verify(s.sha256)  # every logged segment is whole on disk
    store.verify_log([app.station_signer.verifier])
    assert Fraction(station.fps) == 15


def test_orders_only_keeps_just_the_clips(tmp_path: Path) -> None:
    rec = record_demo(
        tmp_path / "data", orders=3, clips={"record": "orders-only", "max_seconds": 10}
    )
    store = rec.app.store
    entries = _entries(store)
    clips = [e for e in entries if isinstance(e, Clip)]
    segments = [e for e in entries if isinstance(e, Segment)]
    gaps = [e for e in entries if isinstance(e, Gap)]
    assert [c.order_id for c in clips] == [o.order_id for o in rec.scene.orders()]
    assert all(c.end_reason == "max-length" for c in clips)
    assert {g.reason for g in gaps} == {"not-recording"}
    # every sealed segment is part of some clip (with its pre/post-roll); nothing else kept
    for s in segments:
        assert any(
            c.started - c.pre_roll < s.end and s.start < c.ended + c.post_roll for c in clips
        )
    # the log still accounts for every moment: segments and gaps tile the timeline
    spans = sorted([(s.start, s.end) for s in segments] + [(g.start, g.end) for g in gaps])
    for (_, a_end), (b_start, _) in itertools.pairwise(spans):
        assert abs(b_start - a_end) <= 250
    store.verify_log([rec.app.station_signer.verifier])
    assert [p.name for p in rec.app.config.recordings_dir.iterdir()] == ["station-state.json"]


def test_checkpoints_at_least_every_checkpoint_seconds_of_footage(tmp_path: Path) -> None:
    rec = record_demo(tmp_path / "data", orders=1, checkpoint_seconds=5)
    store = rec.app.store
    footage = store.last_segment()
    assert footage is not None
    sizes = [c.size for c in store.checkpoints()]
    # the init checkpoint, one per clip, one at the end, and one per 5 s of footage
    assert len(sizes) >= 1 + (footage.end_ms - rec.epoch_ms) // 5000
    assert sizes == sorted(set(sizes))


def test_status_reports_elapsed_footage_time_of_the_open_clip(tmp_path: Path) -> None:
    """A --fast demo stamped in the past: the elapsed time is footage time, not wall time."""
    app = make_app(tmp_path / "data")
    scene = DemoScene(SIZE["width"], SIZE["height"], SIZE["fps"], seed=1, orders=2)
    source = DemoSource(scene, app.clock, realtime=False, epoch_ms=EPOCH_MS)
    station = make_station(app, source, realtime=False)
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            st = station.status()
            if st.clip_started is not None:
                seen.append((st.now_ms, st.clip_started))
            done.wait(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    station.run()
    done.set()
    watcher.join()
    assert seen, "the watcher never saw an open clip"
    end = EPOCH_MS + (scene.duration_ms or 0)
    assert all(EPOCH_MS <= now <= end for now, _ in seen), "now_ms left footage time"
    assert max(now - started for now, started in seen) > 5000  # clips last ~25 s of footage
    # no zone configured: each clip names the machine's, as the burned-in clock showed it
    clips = [e for e in _entries(app.store) if isinstance(e, Clip)]
    assert len(clips) == 2
    assert {c.zone for c in clips} == {zone_name(local_zone(), clips[0].started)}
    app.close()
