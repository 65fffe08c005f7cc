"""Frame sources: pacing and drops on a manual clock, real files from ffmpeg, errors."""

from __future__ import annotations

import hashlib
import subprocess
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import pytest

from recorder._errors import SourceError
from recorder._v4l2 import camera_source, parse_querycap
from recorder.clock import ManualClock
from recorder.demo import DemoScene
from recorder.settings import CameraSettings
from recorder.sources import (
    CameraSource,
    DemoSource,
    FileSource,
    FrameSource,
    footage_source,
    open_source,
)
from storage.footage import FootageSource

EPOCH = 1_767_225_600_000


@pytest.fixture(scope="module")
def small_scene() -> DemoScene:
    return DemoScene(320, 180, fps=30, seed=2)


def ffmpeg(*args: str) -> None:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args]
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def testsrc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of ffmpeg's test pattern at 10 fps: frames at 0, 100, ... 1900 ms."""
    path = tmp_path_factory.mktemp("video") / "testsrc.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10:duration=2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(path),
    )
    return path


# ---- demo --------------------------------------------------------------------------------


def test_demo_fast_mode_reads_every_frame_without_waiting(small_scene: DemoScene) -> None:
    clock = ManualClock(EPOCH)
    source = DemoSource(small_scene, clock, realtime=False)
    frames = [source.read() for _ in range(5)]
    assert [f.index for f in frames if f] == [0, 1, 2, 3, 4]
    assert [f.t_ms - EPOCH for f in frames if f] == [0, 33, 67, 100, 133]
    assert clock.now_ms() == EPOCH  # never slept
    assert (source.width, source.height, source.fps) == (320, 180, Fraction(30))


def test_demo_realtime_returns_frame_n_no_earlier_than_n_over_fps(small_scene: DemoScene) -> None:
    clock = ManualClock(EPOCH)
    start = clock.monotonic()
    source = DemoSource(small_scene, clock)
    for n in range(10):
        frame = source.read()
        assert frame is not None
        assert frame.index == n
        assert clock.monotonic() - start >= n / 30 - 1e-6  # float error at ~1.7e9 s
        assert frame.t_ms == EPOCH + round(n * 1000 / 30)
    assert clock.monotonic() - start == pytest.approx(9 / 30, abs=1e-6)


def test_demo_late_consumer_skips_to_the_frame_due_now(small_scene: DemoScene) -> None:
    clock = ManualClock(EPOCH)
    source = DemoSource(small_scene, clock, epoch_ms=5_000)
    first = source.read()
    assert first is not None
    assert (first.index, first.t_ms) == (0, 5_000)
    clock.advance(0.5)  # the consumer was busy for 15 frame intervals
    late = source.read()
    assert late is not None
    assert (late.index, late.t_ms) == (15, 5_500)
    after = source.read()
    assert after is not None
    assert after.index == 16


def test_demo_less_than_one_frame_late_is_not_a_drop(small_scene: DemoScene) -> None:
    clock = ManualClock(EPOCH)
    start = clock.monotonic()
    source = DemoSource(small_scene, clock)
    source.read()
    clock.advance(0.05)  # frame 1 was due at 33 ms: 17 ms late
    frame = source.read()
    assert frame is not None
    assert frame.index == 1
    assert clock.monotonic() - start == pytest.approx(0.05)  # returned at once
    frame = source.read()
    assert frame is not None
    assert frame.index == 2
    assert clock.monotonic() - start == pytest.approx(2 / 30, abs=1e-6)


def test_demo_epoch_defaults_to_the_clock_at_creation(small_scene: DemoScene) -> None:
    clock = ManualClock(EPOCH + 1234)
    source = DemoSource(small_scene, clock, realtime=False)
    frame = source.read()
    assert frame is not None
    assert frame.t_ms == EPOCH + 1234


def test_demo_stops_at_limit_ms(small_scene: DemoScene) -> None:
    source = DemoSource(small_scene, ManualClock(EPOCH), realtime=False, limit_ms=1000)
    indices = []
    while (frame := source.read()) is not None:
        indices.append(frame.index)
    assert indices == list(range(30))
    assert source.read() is None


def test_demo_stops_at_the_end_of_a_finite_scene() -> None:
    scene = DemoScene(160, 120, fps=2, seed=1, orders=1)
    assert scene.duration_ms is not None
    source = DemoSource(scene, ManualClock(EPOCH), realtime=False)
    first = source.read()
    last = None
    while (frame := source.read()) is not None:
        last = frame
    assert first is not None
    assert last is not None
    start = first.t_ms
    assert last.t_ms - start < scene.duration_ms <= last.t_ms - start + 500
    # Read as fast as it decodes, with no epoch chosen, the footage ends about now rather
    # than in the future: verify and audit refuse footage dated after it was sealed.
    assert start == EPOCH - scene.duration_ms
    assert EPOCH - 500 <= last.t_ms < EPOCH
    paced = DemoSource(scene, ManualClock(EPOCH), realtime=True)
    frame = paced.read()
    assert frame is not None
    assert frame.t_ms == EPOCH  # a paced source starts now, as a camera does


def test_demo_close_ends_the_stream(small_scene: DemoScene) -> None:
    source = DemoSource(small_scene, ManualClock(EPOCH), realtime=False)
    source.reopen()  # a no-op for recorded sources
    assert source.read() is not None
    source.close()
    assert source.read() is None


def test_demo_odd_size_is_refused() -> None:
    with pytest.raises(SourceError, match="321x180") as info:
        DemoSource(DemoScene(321, 180, seed=1, orders=1), ManualClock(EPOCH))
    assert info.value.hint


# ---- files --------------------------------------------------------------------------------


@pytest.mark.slow
def test_file_fast_mode_stamps_epoch_plus_presentation_time(testsrc: Path) -> None:
    source = FileSource(testsrc, ManualClock(EPOCH), realtime=False, epoch_ms=1_000_000)
    assert (source.width, source.height, source.fps) == (160, 120, Fraction(10))
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    assert [f.index for f in frames] == list(range(20))
    assert [f.t_ms for f in frames] == [1_000_000 + 100 * i for i in range(20)]
    assert frames[0].image.shape == (120, 160, 3)
    source.close()
    assert source.read() is None


@pytest.mark.slow
def test_file_realtime_paces_and_skips_like_a_camera(testsrc: Path) -> None:
    clock = ManualClock(EPOCH)
    start = clock.monotonic()
    source: FrameSource = FileSource(testsrc, clock)
    first = source.read()
    assert first is not None
    assert (first.index, first.t_ms) == (0, EPOCH)
    clock.advance(0.45)  # frames at 100..400 ms are past; 400 ms is the one due now
    late = source.read()
    assert late is not None
    assert (late.index, late.t_ms) == (4, EPOCH + 400)
    on_time = source.read()
    assert on_time is not None
    assert on_time.index == 5
    assert clock.monotonic() - start == pytest.approx(0.5)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="found nothing") as info:
        FileSource(tmp_path / "nope.mp4", ManualClock(EPOCH))
    assert "nope.mp4" in str(info.value)
    assert info.value.hint


def test_directory_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="found a directory"):
        FileSource(tmp_path, ManualClock(EPOCH))


def test_unreadable_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(SourceError, match="1100 bytes") as info:
        FileSource(junk, ManualClock(EPOCH))
    assert info.value.hint


@pytest.mark.slow
def test_odd_sized_file_is_refused(tmp_path: Path) -> None:
    odd = tmp_path / "odd.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=161x121:rate=10:duration=1", "-c:v", "ffv1", str(odd))
    with pytest.raises(SourceError, match="161x121") as info:
        FileSource(odd, ManualClock(EPOCH))
    assert info.value.hint


# ---- cameras ------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/video99", 99])
def test_missing_camera(device: int | str) -> None:
    with pytest.raises(SourceError, match="/dev/video99") as info:
        CameraSource(CameraSettings(device=device), ManualClock(EPOCH))
    assert info.value.hint is not None
    assert "ls /dev/video*" in info.value.hint
    assert "station.camera.device" in info.value.hint


# ---- specs ----------------------------------------------------------------------------------

SMALL = CameraSettings(width=320, height=180, fps=10, device="/dev/video99")


def test_spec_demo_uses_the_camera_size_and_rate() -> None:
    source = open_source("demo", SMALL, ManualClock(EPOCH), realtime=False, seed=4)
    assert isinstance(source, DemoSource)
    assert (source.width, source.height, source.fps) == (320, 180, Fraction(10))
    assert source.scene.seed == 4
    other = open_source("demo:7", SMALL, ManualClock(EPOCH))
    assert isinstance(other, DemoSource)
    assert other.scene.seed == 7


@pytest.mark.slow
def test_spec_file(testsrc: Path) -> None:
    source = open_source(f"file:{testsrc}", SMALL, ManualClock(EPOCH), epoch_ms=42)
    assert isinstance(source, FileSource)
    frame = source.read()
    assert frame is not None
    assert frame.t_ms == 42


@pytest.mark.parametrize("spec", ["camera", "camera:99", "camera:/dev/video99"])
def test_spec_camera_opens_the_named_device(spec: str) -> None:
    with pytest.raises(SourceError, match="/dev/video99"):
        open_source(spec, SMALL, ManualClock(EPOCH))


@pytest.mark.parametrize(
    "spec", ["", "webcam", "camera:", "camera:front", "file:", "demo:", "demo:x", "demo:-1", "Demo"]
)
def test_bad_spec(spec: str) -> None:
    with pytest.raises(ValueError, match=r"camera:N.*file:PATH.*demo:SEED"):
        open_source(spec, SMALL, ManualClock(EPOCH))


# -- what each source says it is (issue 13 item 3) -----------------------------------------


def test_file_and_demo_sources_name_themselves(testsrc: Path, small_scene: DemoScene) -> None:
    clock = ManualClock()
    file_source = footage_source(FileSource(testsrc, clock, realtime=False))
    assert file_source == FootageSource(
        "file", name=testsrc.name, sha256=hashlib.sha256(testsrc.read_bytes()).hexdigest()
    )
    assert not file_source.live
    demo = footage_source(DemoSource(small_scene, clock, realtime=False))
    assert demo == FootageSource("demo", name=f"demo:{small_scene.seed}")


def _fake_camera_sysfs(root: Path, *, serial: str | None) -> None:
    """/sys as the kernel lays out a UVC camera: video4linux/video0 -> the USB interface,
    whose parent is the USB device with idVendor and (some cameras) serial."""
    usb = root / "devices/pci0000:00/0000:00:14.0/usb1/1-2"
    interface = usb / "1-2:1.0"
    (interface / "video4linux/video0").mkdir(parents=True)
    (usb / "idVendor").write_text("046d\n")
    if serial is not None:
        (usb / "serial").write_text("A1B2C3D4\n")
    (interface / "video4linux/video0/name").write_text("HD Pro Webcam C920\n")
    (interface / "video4linux/video0/device").symlink_to(interface)
    (root / "class/video4linux").mkdir(parents=True)
    (root / "class/video4linux/video0").symlink_to(interface / "video4linux/video0")


@pytest.mark.parametrize("serial", ["A1B2C3D4", None])
def test_a_camera_is_named_by_sysfs_when_it_cannot_be_asked(
    tmp_path: Path, serial: str | None
) -> None:
    _fake_camera_sysfs(tmp_path, serial=serial)
    # /dev/video0 does not open here (no camera): the card name comes from sysfs.
    got = camera_source("/dev/video0", sysfs=tmp_path)
    assert got == FootageSource(
        "camera", device="/dev/video0", card="HD Pro Webcam C920", serial=serial or ""
    )
    assert got.live


def test_querycap_gives_card_and_bus() -> None:
    raw = b"uvcvideo".ljust(16, b"\0") + b"HD Pro Webcam C920".ljust(32, b"\0")
    raw += b"usb-0000:00:14.0-2".ljust(32, b"\0") + bytes(24)
    assert parse_querycap(raw) == ("HD Pro Webcam C920", "usb-0000:00:14.0-2")
    with pytest.raises(ValueError, match="104 bytes"):
        parse_querycap(raw[:50])


def test_a_camera_nobody_can_name_is_still_a_camera(tmp_path: Path) -> None:
    got = camera_source("/dev/video9", sysfs=tmp_path)
    assert got == FootageSource("camera", device="/dev/video9")
    assert "no identity reported" in got.label()
