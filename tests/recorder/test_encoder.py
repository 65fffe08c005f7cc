"""The encoder: its ffmpeg command as data, and real ffmpeg runs (graceful, SIGKILL, dying)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from recorder._errors import EncoderError
from recorder.encoder import (
    ClosedSegment,
    Encoder,
    SegmentWatcher,
    encoder_command,
    encoder_options,
    ffmpeg_path,
    list_closed_segments,
    to_i420,
)
from recorder.settings import EncoderSettings
from verifier.fmp4 import iter_boxes, split_bytes

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
W, H, FPS = 320, 240, Fraction(10)
# Each x264 frame thread delays output by a frame; on a many-core machine the default
# count could hold back the segment closes these tests wait for within the frames written.
REAL = EncoderSettings(threads=2)


# ---- the command ----------------------------------------------------------------------


def test_command_default_settings() -> None:
    cmd = encoder_command(
        EncoderSettings(),
        width=1280,
        height=720,
        fps=Fraction(30),
        out_dir=Path("/data/runs/r1"),
        ffmpeg="/opt/ffmpeg",
    )
    assert cmd == [
        "/opt/ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "rawvideo", "-video_size", "1280x720", "-framerate", "30", "-pix_fmt", "yuv420p",
        "-i", "pipe:",
        "-f", "hls",
        "-c:v", "libx264",
        "-color_range", "tv",
        "-colorspace", "smpte170m",
        "-crf", "28",
        "-force_key_frames", "expr:gte(t,n_forced*2)",
        "-g", "60",
        "-hls_flags", "temp_file",
        "-hls_fmp4_init_filename", "init.mp4",
        "-hls_list_size", "0",
        "-hls_segment_filename", "/data/runs/r1/seg_%06d.m4s",
        "-hls_segment_options", "movflags=+skip_sidx",
        "-hls_segment_type", "fmp4",
        "-hls_time", "2",
        "-pix_fmt", "yuv420p",
        "-preset", "veryfast",
        "-rc-lookahead", "5",
        "-sc_threshold", "0",
        "-x264-params", "sync-lookahead=0:bframes=0:subme=1",
        "/data/runs/r1/index.m3u8",
    ]  # fmt: skip


def test_command_threads_ntsc_rate_and_a_preset_without_lookahead() -> None:
    settings = EncoderSettings(preset="ultrafast", crf=23, segment_seconds=4, threads=2)
    cmd = encoder_command(
        settings,
        width=640,
        height=360,
        fps=Fraction(30000, 1001),
        out_dir=Path("/r"),
        ffmpeg="ffmpeg",
    )
    assert cmd == [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "rawvideo", "-video_size", "640x360", "-framerate", "30000/1001",
        "-pix_fmt", "yuv420p", "-i", "pipe:",
        "-f", "hls",
        "-c:v", "libx264",
        "-color_range", "tv",
        "-colorspace", "smpte170m",
        "-crf", "23",
        "-force_key_frames", "expr:gte(t,n_forced*4)",
        "-g", "120",
        "-hls_flags", "temp_file",
        "-hls_fmp4_init_filename", "init.mp4",
        "-hls_list_size", "0",
        "-hls_segment_filename", "/r/seg_%06d.m4s",
        "-hls_segment_options", "movflags=+skip_sidx",
        "-hls_segment_type", "fmp4",
        "-hls_time", "4",
        "-pix_fmt", "yuv420p",
        "-preset", "ultrafast",
        "-rc-lookahead", "0",
        "-sc_threshold", "0",
        "-threads", "2",
        "-x264-params", "sync-lookahead=0:bframes=0:subme=1",
        "/r/index.m3u8",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("width", "height", "fps", "out_dir", "message"),
    [
        (321, 240, Fraction(10), "/r", "even"),
        (320, 0, Fraction(10), "/r", "even"),
        (320, 240, Fraction(0), "/r", "fps"),
        (320, 240, Fraction(10), "/runs/100%", "'%'"),
    ],
)
def test_command_rejects_impossible_arguments(
    width: int, height: int, fps: Fraction, out_dir: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encoder_command(
            EncoderSettings(),
            width=width,
            height=height,
            fps=fps,
            out_dir=Path(out_dir),
            ffmpeg="f",
        )


def test_ffmpeg_path() -> None:
    assert ffmpeg_path(EncoderSettings()) == FFMPEG
    assert ffmpeg_path(EncoderSettings(ffmpeg=sys.executable)) == sys.executable
    with pytest.raises(EncoderError, match="not found") as info:
        ffmpeg_path(EncoderSettings(ffmpeg="/nonexistent/ffmpeg"))
    assert info.value.hint is not None
    assert "station.encoder.ffmpeg" in info.value.hint


def test_to_i420() -> None:
    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[:] = (255, 255, 255)
    out = to_i420(bgr)
    assert len(out) == 6 * 4 * 3 // 2
    assert out == bytes([235]) * 24 + bytes([128]) * 12  # BT.601 limited range
    with pytest.raises(ValueError, match="even"):
        to_i420(np.zeros((5, 6, 3), np.uint8))
    with pytest.raises(ValueError, match="BGR"):
        to_i420(np.zeros((4, 6), np.uint8))


# ---- the watcher on hand-written playlists ---------------------------------------------


def _fragment(n: int) -> bytes:
    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I4s", 8 + len(payload), kind) + payload

    return box(b"styp", b"msdh") + box(b"moof", bytes(16)) + box(b"mdat", bytes(n) * 100)


def _playlist(entries: list[tuple[str, float]], *, end: bool = False, tail: str = "") -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0"]
    lines.append('#EXT-X-MAP:URI="init.mp4"')
    for name, duration in entries:
        lines += [f"#EXTINF:{duration:.6f},", name]
    if end:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n" + tail


def _replace(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # as ffmpeg does


def test_watcher_reports_listed_segments_once_and_in_order(tmp_path: Path) -> None:
    watcher = SegmentWatcher(tmp_path)
    assert watcher.poll() == []
    assert watcher.init_path is None
    playlist = tmp_path / "index.m3u8"
    # A line being written (no newline yet) is not an entry yet.
    _replace(playlist, _playlist([("seg_000000.m4s", 2.0)], tail="#EXTINF:2.000000,\nseg_0000"))
    assert watcher.poll() == [ClosedSegment(0, tmp_path / "seg_000000.m4s", 2.0)]
    assert watcher.init_path == tmp_path / "init.mp4"
    assert watcher.poll() == []
    _replace(playlist, _playlist([("seg_000000.m4s", 2.0), ("seg_000001.m4s", 1.5)], end=True))
    assert watcher.poll() == [ClosedSegment(1, tmp_path / "seg_000001.m4s", 1.5)]
    assert watcher.ended


def test_watcher_reads_the_playlist_only_when_it_changed(tmp_path: Path) -> None:
    playlist = tmp_path / "index.m3u8"
    _replace(playlist, _playlist([("seg_000000.m4s", 2.0)]))
    watcher = SegmentWatcher(tmp_path)
    assert len(watcher.poll()) == 1
    # Same inode, size and mtime: poll() trusts the stat and does not read.
    st = playlist.stat()
    with open(playlist, "r+") as f:
        f.write("garbage!")
    os.utime(playlist, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert watcher.poll() == []


def test_watcher_refuses_a_playlist_that_rewrites_history(tmp_path: Path) -> None:
    playlist = tmp_path / "index.m3u8"
    _replace(playlist, _playlist([("seg_000000.m4s", 2.0), ("seg_000001.m4s", 2.0)]))
    watcher = SegmentWatcher(tmp_path)
    assert len(watcher.poll()) == 2
    _replace(playlist, _playlist([("seg_000000.m4s", 2.0)]))
    with pytest.raises(EncoderError, match="no longer lists"):
        watcher.poll()
    other = SegmentWatcher(tmp_path / "x")
    (tmp_path / "x").mkdir()
    _replace(tmp_path / "x" / "index.m3u8", _playlist([("seg_000003.m4s", 2.0)]))
    with pytest.raises(EncoderError, match="expected segment 0"):
        other.poll()


def test_list_closed_segments_stops_at_the_first_damaged_file(tmp_path: Path) -> None:
    assert list_closed_segments(tmp_path) == []
    names = [f"seg_{i:06d}.m4s" for i in range(4)]
    (tmp_path / "index.m3u8").write_text(_playlist([(n, 2.0) for n in names]))
    (tmp_path / names[0]).write_bytes(_fragment(1))
    (tmp_path / names[1]).write_bytes(_fragment(2))
    (tmp_path / names[2]).write_bytes(_fragment(3)[:-5])  # power loss before writeback
    (tmp_path / names[3]).write_bytes(_fragment(4))
    assert list_closed_segments(tmp_path) == [
        ClosedSegment(0, tmp_path / names[0], 2.0),
        ClosedSegment(1, tmp_path / names[1], 2.0),
    ]
    (tmp_path / names[1]).write_bytes(_fragment(2) + b"\0\0\0\x08free")  # not one fragment
    assert [s.index for s in list_closed_segments(tmp_path)] == [0]
    (tmp_path / names[0]).unlink()
    assert list_closed_segments(tmp_path) == []


# ---- real ffmpeg ------------------------------------------------------------------------


def _frame(i: int) -> bytes:
    """A distinct frame per index: a gradient, a moving block, and the index in binary."""
    img = np.empty((H, W, 3), np.uint8)
    img[:] = np.linspace(40, 200, W, dtype=np.uint8)[None, :, None]
    x = (i * 7) % (W - 40)
    img[100:140, x : x + 40] = (30, 200, 90)
    for bit in range(8):
        img[10:30, 10 + bit * 20 : 28 + bit * 20] = 255 if i >> bit & 1 else 0
    return to_i420(img)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _decode(clip: Path) -> tuple[int, list[int]]:
    """(frames decoded, indices of key frames), with the imageio ffmpeg alone."""
    done = subprocess.run(
        [FFMPEG, "-v", "info", "-nostdin", "-i", str(clip), "-vf", "showinfo", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    frames = re.findall(r"\bn:\s*(\d+).*?iskey:(\d)", done.stderr)
    errors = [ln for ln in done.stderr.splitlines() if "rror" in ln]
    assert errors == []
    return len(frames), [int(n) for n, key in frames if key == "1"]


def _concat(out: Path, init: Path, segments: list[ClosedSegment], name: str) -> Path:
    clip = out / name
    clip.write_bytes(init.read_bytes() + b"".join(s.path.read_bytes() for s in segments))
    return clip


class Collector:
    """Polls a watcher like the station does, hashing each segment when it is reported."""

    def __init__(self, out: Path) -> None:
        self.watcher = SegmentWatcher(out)
        self.reported: list[ClosedSegment] = []
        self.hashes: dict[int, str] = {}

    def poll(self) -> None:
        for seg in self.watcher.poll():
            assert seg.path.exists()
            init = self.watcher.init_path
            assert init is not None
            assert init.stat().st_size > 0
            self.hashes[seg.index] = _sha(seg.path)
            self.reported.append(seg)

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 15
        while len(self.reported) < count and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.01)

    @property
    def indices(self) -> list[int]:
        return [s.index for s in self.reported]


@pytest.mark.slow
def test_a_run_writes_whole_segments_that_never_change(tmp_path: Path) -> None:
    out = tmp_path / "run"
    encoder = Encoder.start(REAL, W, H, FPS, out)
    seen = Collector(out)
    assert encoder.frames_per_segment == 20
    assert encoder.out_dir == out
    assert encoder.alive
    assert encoder.returncode is None
    assert encoder.pid > 0
    try:
        for i in range(70):  # 7 s at 10 fps: three 2 s segments and a 1 s one
            encoder.write(_frame(i))
            seen.poll()
        seen.wait_for(3)
        assert seen.indices == [0, 1, 2]  # the open one is not reported
        encoder.close(timeout=20)
    finally:
        encoder.kill()
    assert encoder.returncode == 0
    seen.poll()  # the last, shorter segment is reported once ffmpeg finished it
    assert seen.watcher.ended
    reported = seen.reported
    assert [(s.index, s.duration) for s in reported] == [(0, 2.0), (1, 2.0), (2, 2.0), (3, 1.0)]
    assert {s.index: _sha(s.path) for s in reported} == seen.hashes  # unchanged since reported
    assert list_closed_segments(out) == reported
    assert [p.name for p in out.iterdir() if ".tmp" in p.name] == []

    init = seen.watcher.init_path
    assert init is not None
    clip = _concat(tmp_path, init, reported, "clip.mp4")
    assert _decode(clip) == (70, [0, 20, 40, 60])  # every segment starts with a key frame

    split = split_bytes(clip.read_bytes())
    sizes = [init.stat().st_size, *(s.path.stat().st_size for s in reported)]
    assert [split.init.size, *(r.size for r in split.fragments)] == sizes
    for seg in reported:
        with open(seg.path, "rb") as f:
            assert [b.type for b in iter_boxes(f)] == ["styp", "moof", "mdat"]

    # An excerpt (init + whole segments from the middle) decodes on its own.
    excerpt = _concat(tmp_path, init, reported[1:3], "excerpt.mp4")
    assert _decode(excerpt) == (40, [0, 20])


@pytest.mark.slow
def test_sigkill_loses_only_the_open_segment(tmp_path: Path) -> None:
    out = tmp_path / "run"
    encoder = Encoder.start(REAL, W, H, FPS, out)
    seen = Collector(out)
    try:
        for i in range(50):  # segment 2 (frames 40-49) stays open
            encoder.write(_frame(i))
            seen.poll()
        seen.wait_for(2)
        os.kill(encoder.pid, signal.SIGKILL)  # as the OOM killer would
        time.sleep(0.2)
        seen.poll()
        with pytest.raises(EncoderError, match="exited with code -9"):
            encoder.write(_frame(50))
    finally:
        encoder.kill()
    assert encoder.returncode == -signal.SIGKILL
    assert seen.indices == [0, 1]
    assert not seen.watcher.ended
    assert {s.index: _sha(s.path) for s in seen.reported} == seen.hashes
    assert list_closed_segments(out) == seen.reported
    assert not any(p.name.startswith("seg_000002") for p in out.iterdir())
    assert seen.watcher.init_path is not None
    clip = _concat(tmp_path, seen.watcher.init_path, seen.reported, "clip.mp4")
    assert _decode(clip) == (40, [0, 20])


@pytest.mark.slow
def test_killing_our_own_run(tmp_path: Path) -> None:
    encoder = Encoder.start(REAL, W, H, FPS, tmp_path)
    encoder.write(_frame(0))
    encoder.kill()
    assert not encoder.alive
    encoder.close()  # after kill(): nothing left to finish, and no error
    with pytest.raises(ValueError, match="after close"):
        encoder.write(_frame(1))


@pytest.mark.parametrize("leftover", ["index.m3u8", "init.mp4", "seg_000000.m4s.tmp"])
def test_a_run_directory_is_never_reused(tmp_path: Path, leftover: str) -> None:
    # ffmpeg would overwrite seg_000000.m4s of the earlier run, sealed or not.
    (tmp_path / "run.json").write_text("{}")  # the station's own files are fine
    (tmp_path / leftover).write_bytes(b"")
    with pytest.raises(ValueError, match=f"already holds a run \\({re.escape(leftover)}\\)"):
        Encoder.start(EncoderSettings(), W, H, FPS, tmp_path)


def _write_frames(encoder: Encoder, count: int, timeout: float = 5.0) -> None:
    for i in range(count):
        encoder.write(_frame(i), timeout=timeout)


def _fake_ffmpeg(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fake-ffmpeg"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return str(path)


def test_ffmpeg_dying_while_writing_raises_with_its_stderr(tmp_path: Path) -> None:
    fake = _fake_ffmpeg(
        tmp_path, "head -c 100000 >/dev/null\necho 'Error: No space left on device' >&2\nexit 1"
    )
    encoder = Encoder.start(EncoderSettings(), W, H, FPS, tmp_path / "run", ffmpeg=fake)
    try:
        with pytest.raises(EncoderError) as info:
            _write_frames(encoder, 20)
        with pytest.raises(EncoderError, match="No space left"):  # the run stays failed
            encoder.write(_frame(0))
    finally:
        encoder.kill()
    message = str(info.value)
    assert "exited with code 1" in message
    assert "No space left on device" in message
    assert info.value.hint is not None
    assert "ffmpeg.log" in info.value.hint


def test_close_reports_a_failing_ffmpeg(tmp_path: Path) -> None:
    fake = _fake_ffmpeg(tmp_path, "cat >/dev/null\necho 'moov: I/O error' >&2\nexit 3")
    encoder = Encoder.start(EncoderSettings(), W, H, FPS, tmp_path / "run", ffmpeg=fake)
    encoder.write(_frame(0))
    with pytest.raises(EncoderError, match=r"code 3: moov: I/O error"):
        encoder.close(timeout=10)


def test_a_stalled_ffmpeg_never_blocks_the_caller(tmp_path: Path) -> None:
    fake = _fake_ffmpeg(tmp_path, "exec sleep 30")  # never reads its input, never exits
    encoder = Encoder.start(EncoderSettings(), W, H, FPS, tmp_path / "run", ffmpeg=fake)
    started = time.monotonic()
    try:
        with pytest.raises(
            EncoderError, match=r"took no input for 0\.2 s; ffmpeg is still running"
        ):
            _write_frames(encoder, 200, timeout=0.2)  # the pipe takes a few, then it is full
        with pytest.raises(EncoderError, match=r"did not finish within 0\.3 s"):
            encoder.close(timeout=0.3)
    finally:
        encoder.kill()
    assert time.monotonic() - started < 5
    assert encoder.returncode == -signal.SIGKILL


def test_kill_from_another_thread_ends_a_blocked_write(tmp_path: Path) -> None:
    fake = _fake_ffmpeg(tmp_path, "exec sleep 30")
    encoder = Encoder.start(EncoderSettings(), W, H, FPS, tmp_path / "run", ffmpeg=fake)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            _write_frames(encoder, 200, timeout=20)
        except EncoderError as e:
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.3)  # the pipe is full by now and the writer waits in poll()
    started = time.monotonic()
    encoder.kill()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 3
    assert len(errors) == 1
    assert "exited with code -9" in str(errors[0])


def test_a_missing_executable_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="cannot start ffmpeg") as info:
        Encoder.start(EncoderSettings(), W, H, FPS, tmp_path, ffmpeg=str(tmp_path / "nope"))
    assert info.value.hint is not None


def test_write_checks_the_frame_size(tmp_path: Path) -> None:
    fake = _fake_ffmpeg(tmp_path, "cat >/dev/null")
    encoder = Encoder.start(EncoderSettings(), W, H, FPS, tmp_path / "run", ffmpeg=fake)
    try:
        with pytest.raises(ValueError, match="115200 bytes, got 3"):
            encoder.write(b"abc")
    finally:
        encoder.close()


def test_b_frames_are_a_setting() -> None:
    """0 by default (bench/README.md: -27 % x264 CPU); a merchant may take x264's 3 back."""
    default = encoder_options(EncoderSettings(), Fraction(30))
    assert default["x264-params"] == "sync-lookahead=0:bframes=0:subme=1"
    three = encoder_options(EncoderSettings(bframes=3), Fraction(30))
    assert three["x264-params"] == "sync-lookahead=0:bframes=3:subme=1"
