"""The marketplace-sized derived copy: real ffmpeg on a real recorded clip."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import imageio_ffmpeg
import pytest

from storage.entries import Clip
from tests.recording import Recording
from tests.verifier.conftest import ffmpeg_timeline
from verifier._errors import MediaFormatError, VerifierError
from verifier.derive import (
    MIN_KBPS,
    derive_command,
    derive_copy,
    plan_copy,
)
from verifier.fmp4 import iter_boxes
from verifier.frames import count_frames


@pytest.fixture
def sealed(recording: Recording, clips: list[Clip], tmp_path: Path) -> Path:
    """The first clip as a bundle carries it: init + every segment, byte for byte."""
    store, clip = recording.app.store, clips[0]
    path = tmp_path / "sealed.mp4"
    path.write_bytes(
        store.read_blob(clip.init) + b"".join(store.read_blob(s.sha256) for s in clip.segments)
    )
    return path


def decoded_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def test_a_copy_fits_the_limit_and_decodes(sealed: Path, tmp_path: Path) -> None:
    limit = sealed.stat().st_size * 3 // 4
    out = tmp_path / "copy.mp4"
    told: list[tuple[int, int]] = []
    copy = derive_copy(sealed, out, limit, progress=lambda done, total: told.append((done, total)))

    assert copy.path == out
    assert copy.size == out.stat().st_size <= limit
    assert copy.size >= limit * 0.7  # the budget is used, not wasted
    assert copy.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    frames = count_frames(sealed)
    assert decoded_frames(out) == frames
    # progress from ffmpeg's own -progress lines: frames of two passes and the decode check
    # (a retry after an overshoot adds two passes), never going back, ending at the total
    total = told[-1][1]
    assert total in (3 * frames, 5 * frames, 7 * frames)
    assert told[-1] == (total, total)
    assert len(told) >= 4
    assert [d for d, _ in told] == sorted(d for d, _ in told)
    assert copy.duration_s == pytest.approx(frames / 15, abs=0.07)
    assert (copy.width, copy.height) in ((640, 360), (480, 270), (426, 240))
    assert copy.width % 2 == 0
    assert copy.height % 2 == 0
    with open(out, "rb") as f:
        boxes = [b.type for b in iter_boxes(f)]
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart: playable while uploading
    assert (
        b"packseal derived copy of sealed clip sha256 "
        + hashlib.sha256(sealed.read_bytes()).hexdigest().encode()
        in out.read_bytes()
    )


def test_a_generous_limit_does_not_inflate_the_copy(sealed: Path, tmp_path: Path) -> None:
    copy = derive_copy(sealed, tmp_path / "copy.mp4", 20_000_000)
    assert copy.size < sealed.stat().st_size * 1.3
    assert (copy.width, copy.height) == (640, 360)


def test_a_tight_limit_downscales(sealed: Path, tmp_path: Path) -> None:
    limit = sealed.stat().st_size * 2 // 5
    copy = derive_copy(sealed, tmp_path / "copy.mp4", limit)
    assert copy.size <= limit
    assert copy.height < 360
    assert decoded_frames(copy.path) == count_frames(sealed)


def test_an_impossible_limit_raises_with_the_numbers(sealed: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.mp4"
    with pytest.raises(VerifierError, match=r"a \d\d\.\d s clip cannot fit in 30000 bytes") as e:
        derive_copy(sealed, out, 30_000)
    assert "kbit/s" in e.value.message
    assert "excerpt" in str(e.value.hint)
    assert not out.exists()


def test_a_file_that_is_not_a_clip_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(MediaFormatError):
        derive_copy(junk, tmp_path / "copy.mp4", 1_000_000)


def test_three_hours_into_one_megabyte_is_refused() -> None:
    with pytest.raises(VerifierError, match=r"a 10800\.0 s clip cannot fit in 1000000 bytes") as e:
        plan_copy(1280, 720, 30, 30 * 3 * 3600, 1_000_000)
    assert "at most 272 s" in str(e.value.hint)


@pytest.mark.parametrize(
    ("max_bytes", "height"),
    [
        (200_000_000, 720),  # room for the source's own rate: keep the resolution
        (20_000_000, 480),  # 5 minutes of 720p30 in 20 MB: 502 kbit/s, too thin for 720p
        (6_000_000, 240),
        (2_000_000, 144),
    ],
)
def test_the_resolution_steps_down_with_the_rate(max_bytes: int, height: int) -> None:
    plan = plan_copy(1280, 720, 30, 30 * 300, max_bytes, source_kbps=1600)
    assert plan.height == height
    assert plan.width == round(1280 * height / 720 / 2) * 2
    assert plan.video_kbps <= 1600
    index = 8_000 + 16 * plan.frames
    assert plan.video_kbps * 1000 / 8 * plan.duration_s + index <= max_bytes


def test_the_plan_never_goes_below_the_legible_floor() -> None:
    with pytest.raises(VerifierError):
        plan_copy(640, 360, 15, 15 * 60, 150_000)
    assert plan_copy(640, 360, 15, 15 * 60, 300_000).video_kbps >= MIN_KBPS
    with pytest.raises(ValueError, match="positive"):
        plan_copy(640, 360, 15, 0, 300_000)


def test_the_commands_are_two_x264_passes() -> None:
    plan = plan_copy(1280, 720, 30, 900, 1_000_000, source_kbps=2000)
    assert plan.scaled
    args = {"kbps": 200, "passlog": Path("/w/x264"), "comment": "c"}
    first = derive_command("ffmpeg", Path("in.mp4"), None, plan, pass_number=1, **args)  # type: ignore[arg-type]
    second = derive_command("ffmpeg", Path("in.mp4"), Path("out.mp4"), plan, pass_number=2, **args)  # type: ignore[arg-type]
    common = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", "in.mp4",
        "-map", "0:v:0", "-an", "-sn", "-dn", "-map_metadata", "-1",
        "-vf", f"scale={plan.width}:{plan.height}:flags=lanczos",
        "-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p",
        "-b:v", "200k",
    ]  # fmt: skip
    assert first == [*common, "-pass", "1", "-passlogfile", "/w/x264", "-f", "null", "/dev/null"]
    assert second == [
        *common,
        "-pass", "2", "-passlogfile", "/w/x264",
        "-movflags", "+faststart", "-metadata", "comment=c", "-f", "mp4", "out.mp4",
    ]  # fmt: skip


def test_the_default_ffmpeg_is_imageio_ffmpegs() -> None:
    assert Path(imageio_ffmpeg.get_ffmpeg_exe()).is_file()


def test_a_copy_starts_at_zero_and_lasts_the_clip(
    recording: Recording, clips: list[Clip], tmp_path: Path
) -> None:
    """The sealed clip keeps its place in the continuous recording (issue 13 item 6: its
    start is the first fragment's decode time); a derived copy plays from 0 for exactly
    the clip's frames."""
    store, clip = recording.app.store, clips[1]
    sealed = tmp_path / "second.mp4"
    sealed.write_bytes(
        store.read_blob(clip.init) + b"".join(store.read_blob(s.sha256) for s in clip.segments)
    )
    frame = clip.video.fps_den / clip.video.fps_num
    start, _ = ffmpeg_timeline(sealed)
    assert start > 10  # seconds into the run: what ffprobe reported in the issue
    copy = derive_copy(sealed, tmp_path / "copy.mp4", sealed.stat().st_size * 3 // 4)
    start, duration = ffmpeg_timeline(copy.path)
    assert start == pytest.approx(0, abs=frame)
    assert duration == pytest.approx(count_frames(sealed) * frame, abs=frame)
