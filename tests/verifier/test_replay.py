"""Replay: per-segment verdicts and the annotated copy, on a real recording and on
tampered copies of its store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from packseal.app import App
from packseal.cli import main
from storage.entries import Clip, Purge
from tests.recording import Recording, copy_store, make_app
from tests.verifier.conftest import TwoViews, ffmpeg_timeline
from verifier._errors import VerifierError
from verifier.replay import (
    Replay,
    init_verdict,
    load_clip,
    replay,
    segment_verdicts,
    write_keyframes,
)

GREEN, RED, AMBER = (70, 122, 18), (38, 38, 186), (0, 96, 150)  # banner colours, BGR


@pytest.fixture
def copy(recording: Recording, tmp_path: Path) -> Iterator[App]:
    """A private copy of the session's recording, to tamper with."""
    app = make_app(copy_store(recording.data_dir, tmp_path / "data"))
    yield app
    app.close()


@pytest.fixture(scope="module")
def honest(
    recording: Recording, clips: list[Clip], tmp_path_factory: pytest.TempPathFactory
) -> Replay:
    """The first clip of the session's recording, replayed once for the tests that read it."""
    out = tmp_path_factory.mktemp("replay") / "replay.mp4"
    return replay(recording.app.store, clips[0], out)


def read_video(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def banner_colour(frame: np.ndarray, picture_height: int) -> tuple[int, int, int]:
    """The strip's verdict colour, sampled where no text is drawn."""
    patch = frame[picture_height + 2 : picture_height + 5, 1:4].reshape(-1, 3)
    return tuple(int(c) for c in np.median(patch, axis=0))  # type: ignore[return-value]


def near(colour: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return max(abs(a - b) for a, b in zip(colour, expected, strict=True)) <= 20


def frames_per_segment(app: App, clip: Clip) -> list[int]:
    rows = app.store.segments(clip.segments[0].seq, clip.segments[-1].seq)
    return [r.frames for r in rows]


def flip_byte(app: App, sha256: str) -> str:
    path = app.store._blobs.path(sha256)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    return hashlib.sha256(data).hexdigest()


def test_an_honest_clip_replays_verified(
    recording: Recording, clips: list[Clip], honest: Replay
) -> None:
    store, clip = recording.app.store, clips[0]
    verdicts = segment_verdicts(store, clip)
    assert [v.state for v in verdicts] == ["verified"] * len(clip.segments)
    assert [v.number for v in verdicts] == list(range(1, len(clip.segments) + 1))
    assert {v.total for v in verdicts} == {len(clip.segments)}
    assert [v.found for v in verdicts] == [s.sha256 for s in clip.segments]
    assert verdicts[0].describe().startswith(f"segment 1/{len(clip.segments)} verified ✓")

    result = honest
    assert result.verified
    assert result.tampered == []
    assert result.frames == sum(frames_per_segment(recording.app, clip))
    frames = read_video(result.path)
    assert len(frames) == result.frames
    video = clip.video
    assert frames[0].shape == (result.height, video.width, 3)
    assert result.height > video.height
    for frame in frames[::20]:
        assert near(banner_colour(frame, video.height), GREEN)
    # Issue 13 item 6: a replay is encoded afresh, so it plays from 0 for the clip's frames.
    frame_s = video.fps_den / video.fps_num
    start, duration = ffmpeg_timeline(result.path)
    assert start == pytest.approx(0, abs=frame_s)
    assert duration == pytest.approx(result.frames * frame_s, abs=frame_s)


def test_the_picture_is_the_recorded_one_but_for_scan_boxes(
    recording: Recording, clips: list[Clip], honest: Replay, tmp_path: Path
) -> None:
    store, clip = recording.app.store, clips[0]
    sealed = tmp_path / "sealed.mp4"
    sealed.write_bytes(
        store.read_blob(clip.init) + b"".join(store.read_blob(s.sha256) for s in clip.segments)
    )
    original, replayed = read_video(sealed), read_video(honest.path)
    h = clip.video.height
    # Re-encoded once more (CRF 23), so close, not equal; the first frame has no scan box.
    diff = np.abs(original[0].astype(int) - replayed[0][:h].astype(int)).mean()
    assert diff < 4


def test_tampered_missing_and_purged_segments_are_told_apart(
    copy: App, clips: list[Clip], tmp_path: Path
) -> None:
    store = copy.store
    clip = load_clip(store, clips[0].clip_id)
    assert clip == clips[0]
    found = flip_byte(copy, clip.segments[2].sha256)
    store._blobs.delete(clip.segments[5].sha256)
    purged = clip.segments[8]
    store.append([Purge(copy.clock.now_ms(), purged.seq, purged.seq, "retention 7 days")])
    store._blobs.delete(purged.sha256)

    verdicts = segment_verdicts(store, clip)
    states = {v.number: v.state for v in verdicts if v.state != "verified"}
    assert states == {3: "mismatch", 6: "missing", 9: "purged"}
    assert verdicts[2].found == found
    assert verdicts[2].expected == clip.segments[2].sha256
    assert verdicts[5].found is None
    assert "MISMATCH" in verdicts[2].describe()
    assert "no purge entry" in verdicts[5].describe()
    assert init_verdict(store, clip).ok

    result = replay(store, clip, tmp_path / "replay.mp4")
    assert not result.verified
    assert [v.number for v in result.tampered] == [3, 6]
    frames = read_video(result.path)
    counts = frames_per_segment(copy, clip)
    assert len(frames) == result.frames == sum(counts)
    h = clip.video.height
    starts = np.cumsum([0, *counts])
    for k, state in enumerate(v.state for v in verdicts):
        middle = frames[(starts[k] + starts[k + 1]) // 2]
        expected = {"verified": GREEN, "purged": AMBER}.get(state, RED)
        assert near(banner_colour(middle, h), expected), (k + 1, state)
        if state in ("missing", "purged"):  # a card of the segment's length, not footage
            assert middle[:h].std() < 25


def test_a_missing_init_section_is_reported_not_a_crash(
    copy: App, clips: list[Clip], tmp_path: Path
) -> None:
    clip = clips[0]
    copy.store._blobs.delete(clip.init)
    result = replay(copy.store, clip, tmp_path / "replay.mp4")
    assert result.init.state == "missing"
    assert not result.verified
    frames = read_video(result.path)
    assert len(frames) == result.frames
    assert all(f[: clip.video.height].std() < 25 for f in frames[::25])
    with pytest.raises(VerifierError, match="no verified footage"):
        write_keyframes(copy.store, clip, tmp_path / "frames")


def test_keyframes_are_written_as_images(
    recording: Recording, clips: list[Clip], tmp_path: Path
) -> None:
    clip = clips[0]
    paths = write_keyframes(recording.app.store, clip, tmp_path / "frames")
    assert 4 <= len(paths) <= 6
    assert paths[0].name == "01-order-scan.png"
    assert paths[-1].name.endswith("-last-frame.png")
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [p.name for p in paths]
    for path in paths:
        image = cv2.imread(str(path))
        assert image is not None
        assert image.shape == (clip.video.height, clip.video.width, 3)


def test_keyframes_come_only_from_verified_segments(
    copy: App, clips: list[Clip], tmp_path: Path
) -> None:
    clip = clips[0]
    for ref in clip.segments[: len(clip.segments) // 2]:
        flip_byte(copy, ref.sha256)
    paths = write_keyframes(copy.store, clip, tmp_path / "frames")
    assert paths
    assert "order-scan" not in " ".join(p.name for p in paths)  # its segment was altered


# -- the command ---------------------------------------------------------------------------------


def cli(app: App, tmp_path: Path, *args: str) -> int:
    config = tmp_path / "config.yaml"
    config.write_text(
        "merchant: {name: Test Shop, id: test}\n"
        "station: {camera: {width: 640, height: 360, fps: 15}}\n"
    )
    data = str(app.config.data_dir)
    return main(["--config", str(config), "--data-dir", data, "replay", *args])


def test_replay_command(
    copy: App, clips: list[Clip], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = clips[0]
    out, frames = tmp_path / "annotated.mp4", tmp_path / "frames"
    assert cli(copy, tmp_path, clip.order_id, "-o", str(out), "--frames", str(frames)) == 0
    text = capsys.readouterr().out
    n = len(clip.segments)
    assert f"clip {clip.clip_id}, order {clip.order_id}: {n} segments" in text
    assert f"{n} of {n} segments verified" in text
    assert f"wrote {out}" in text
    assert f"keyframe {frames / '01-order-scan.png'}" in text
    assert read_video(out)
    assert (frames / "01-order-scan.png").is_file()


def test_replay_command_on_a_tampered_store(
    copy: App, clips: list[Clip], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = clips[0]
    flip_byte(copy, clip.segments[1].sha256)
    out = tmp_path / "annotated.mp4"
    assert cli(copy, tmp_path, clip.clip_id, "-o", str(out)) == 1
    text = capsys.readouterr().out
    n = len(clip.segments)
    assert f"segment 2/{n} MISMATCH ✗ (sha256 expected {clip.segments[1].sha256[:16]}" in text
    assert f"{n - 1} of {n} segments verified, 1 mismatch" in text

    assert cli(copy, tmp_path, clip.clip_id, "-o", str(out), "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is False
    assert report["tampered"] == [2]
    assert report["segments"][1]["state"] == "mismatch"
    assert report["segments"][1]["expected"] == clip.segments[1].sha256


def test_replay_command_with_an_unknown_order(
    copy: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(copy, tmp_path, "SO-0000-000000") == 2
    assert "error: no clip or order 'SO-0000-000000'" in capsys.readouterr().err


def test_a_two_view_clip_replays_each_view(
    two_views: TwoViews, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12: one annotated copy per camera, each view's segments re-hashed on its own."""
    app = make_app(copy_store(two_views.app.config.data_dir, tmp_path / "data"))
    clip = two_views.clips[0]
    (side,) = clip.views or ()
    flip_byte(app, side.segments[1].sha256)
    out = tmp_path / "replay.mp4"
    assert cli(app, tmp_path, clip.clip_id, "-o", str(out)) == 1
    text = capsys.readouterr().out
    n, m = len(clip.segments), len(side.segments)
    top_part, side_part = text.split("view side:")
    assert top_part.startswith("view top:")
    assert f"{n} of {n} segments verified" in top_part
    assert f"segment 2/{m} MISMATCH ✗ (sha256 expected {side.segments[1].sha256[:16]}" in side_part
    assert f"{m - 1} of {m} segments verified, 1 mismatch" in side_part
    assert f"wrote {tmp_path / 'replay.side.mp4'}" in side_part
    top_frames, side_frames = read_video(out), read_video(tmp_path / "replay.side.mp4")
    assert len(top_frames) == sum(frames_per_segment(app, clip)[::2])
    assert len(side_frames) == len(top_frames)
    height = clip.video.height
    per = len(side_frames) // m
    assert near(banner_colour(side_frames[0], height), GREEN)
    assert near(banner_colour(side_frames[per + per // 2], height), RED)
    assert near(banner_colour(top_frames[per + per // 2], height), GREEN)

    assert cli(app, tmp_path, clip.clip_id, "-o", str(out), "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is True  # the first camera's, as for one camera
    assert [(v["view"], v["verified"], v["tampered"]) for v in report["views"]] == [
        ("top", True, []),
        ("side", False, [2]),
    ]
    assert report["views"][1]["output"] == str(tmp_path / "replay.side.mp4")
    app.close()
