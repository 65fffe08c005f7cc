"""The evidence sheet and its keyframes, on real demo footage recorded by the station."""

from __future__ import annotations

import hashlib
import io
import re
import zoneinfo
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp
from PIL import Image

from storage import Store
from storage.entries import Clip
from tests.recording import Recording
from tests.twoview import side_view
from verifier import fonts
from verifier import sheet as sheet_module
from verifier._errors import MediaFormatError, VerifierError
from verifier.frames import locate_segments, read_frames
from verifier.sheet import (
    MAX_SHEET_BYTES,
    SheetFacts,
    _layout,
    _Text,
    make_sheet,
    pick_keyframes,
)

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
SHOTS = Path("/work/notes/shots")


@dataclass
class Recorded:
    store: Store
    clips: list[Clip]  # oldest first
    dir: Path

    def write_clip(self, clip: Clip, name: str, segments: list[int] | None = None) -> Path:
        """The clip file as the bundle holds it: init + segments (all, or these positions)."""
        path = self.dir / name
        picked = clip.segments if segments is None else [clip.segments[k] for k in segments]
        with open(path, "wb") as f:
            f.write(self.store.read_blob(clip.init))
            for ref in picked:
                f.write(self.store.read_blob(ref.sha256))
        return path


@pytest.fixture
def recorded(recording: Recording, clips: list[Clip], tmp_path: Path) -> Recorded:
    """The session's demo recording (tests/verifier/conftest.py), read-only."""
    return Recorded(recording.app.store, clips, tmp_path)


def facts_for(clip: Clip, clip_path: Path, **changes: object) -> SheetFacts:
    facts = SheetFacts(
        merchant="Test Shop",
        station=clip.station,
        origin="packseal.local/test/station-01",
        order_id=clip.order_id,
        tracking_ids=clip.tracking_ids,
        clip_id=clip.clip_id,
        status=clip.status,
        end_reason=clip.end_reason,
        start_ms=clip.start_ms,
        end_ms=clip.end_ms,
        zone=ZONE,
        clip_sha256=hashlib.sha256(clip_path.read_bytes()).hexdigest(),
        entry_hash="5e" * 32,
        log_index=17,
        checkpoint_size=18,
        checkpoint_root="q5Yv0VH2Zp1mKkz3Yx0m7D2gkP0o5iXn1bq8n5m4H2E=",
        derived_from=None,
        qr_payload=f"packseal-bundle:v1 order={clip.order_id} clip={clip.clip_id}",
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def frame_ms(clip: Clip) -> float:
    return 1000 * clip.video.fps_den / clip.video.fps_num


def test_sheet_is_one_a4_page_under_the_limit_in_both_formats(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    sheet = make_sheet(facts_for(clip, path), clip, path)

    assert len(sheet.png) <= MAX_SHEET_BYTES
    image = Image.open(io.BytesIO(sheet.png))
    assert image.format == "PNG"
    assert image.size == (1240, 1754)  # A4 at 150 dpi
    assert len(sheet.pdf) <= MAX_SHEET_BYTES
    assert sheet.pdf.startswith(b"%PDF-")
    assert sheet.pdf.rstrip().endswith(b"%%EOF")
    assert pdf_pages(sheet.pdf) == 1
    assert re.search(rb"/MediaBox\s*\[0 0 595.28 841.89\]", sheet.pdf)  # A4 in points
    assert b"/FontFile2" in sheet.pdf  # the shipped TTF, embedded (text stays selectable)
    assert 4 <= len(sheet.keyframes) <= 6


def test_sheet_is_a_function_of_its_inputs(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    facts = facts_for(clip, path)
    first, second = make_sheet(facts, clip, path), make_sheet(facts, clip, path)
    assert first.png == second.png
    assert first.pdf == second.pdf


@pytest.mark.parametrize("payload_chars", [60, 400])
def test_qr_code_on_the_png_decodes_to_the_payload(recorded: Recorded, payload_chars: int) -> None:
    clip = recorded.clips[1]
    path = recorded.write_clip(clip, "b.mp4")
    payload = ("packseal-bundle:v1 " + "sha256=" + "ab" * 32 + " ") * 8
    payload = payload[:payload_chars]
    sheet = make_sheet(facts_for(clip, path, qr_payload=payload), clip, path)
    gray = np.asarray(Image.open(io.BytesIO(sheet.png)).convert("L"))
    found = [b.text for b in zxingcpp.read_barcodes(gray)]
    # the order's own QR code may read in its keyframe too (the pick list in view)
    assert [t for t in found if t != clip.order_id] == [payload]


def test_keyframes_show_the_scans_at_their_boxes_and_times(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    keyframes = pick_keyframes(clip, path)
    labels = [k.label for k in keyframes]
    assert labels[0].startswith("Order scan")
    assert "Waybill scan" in labels
    assert "Packing" in labels
    assert labels[-1] == "Last frame"
    assert [k.t_ms for k in keyframes] == sorted(k.t_ms for k in keyframes)

    for kf in keyframes:
        assert kf.image.shape == (clip.video.height, clip.video.width, 3)
        if kf.scans:
            (scan,) = kf.scans
            assert scan in clip.scans
            assert kf.detail == scan.text
            assert kf.boxes == (scan.box,)
            # The box is from the read that confirmed the scan: at or after the first read,
            # within the scanner's 2 s confirm window; the order scan's frame may be later
            # still, once the caption names the order (verifier/_frames_caption.py: its switch
            # settles within 2 s, then the code is looked for in its box for 2 s more).
            late = 6000 if scan.kind == "order" else 2000
            assert scan.t - frame_ms(clip) < kf.t_ms <= scan.t + late
        else:
            assert kf.boxes == ()
    order = next(s for s in clip.scans if s.kind == "order")
    waybill = next(s for s in clip.scans if s.kind == "tracking")
    assert keyframes[0].scans == (order,)
    assert next(k for k in keyframes if k.label == "Waybill scan").scans == (waybill,)
    last = keyframes[-1]
    # the last frame whose caption still names the order: the post-roll after the clip's
    # end shows the next state (verifier/_frames_caption.py, which looks from 4 s before the end)
    assert clip.ended - 4000 <= last.t_ms < clip.end_ms


def test_scan_keyframe_is_the_frame_where_the_code_reads_in_its_box(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    for kf in pick_keyframes(clip, path):
        if not kf.boxes:
            continue
        (scan,) = kf.scans
        _, y, _, h = kf.boxes[0]
        band = cv2.cvtColor(kf.image[max(0, y - 32) : y + h + 32], cv2.COLOR_BGR2GRAY)
        texts = [b.text for b in zxingcpp.read_barcodes(band)]
        from pyzbar import pyzbar

        texts += [d.data.decode() for d in pyzbar.decode(band)]
        assert scan.text in texts, kf.label


def test_keyframe_images_are_the_frames_at_their_indexes(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    keyframes = pick_keyframes(clip, path)
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    sequential = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        sequential.append(frame)
    cap.release()
    placed = locate_segments(clip, path)
    assert len(sequential) == sum(p.frames for p in placed)
    for kf in keyframes:
        assert np.array_equal(kf.image, sequential[kf.frame_index]), kf.label


def test_segments_are_located_by_hash_with_frame_counts_from_the_file(
    recorded: Recorded,
) -> None:
    clip = recorded.clips[1]
    path = recorded.write_clip(clip, "b.mp4")
    placed = locate_segments(clip, path)
    assert [p.position for p in placed] == list(range(len(clip.segments)))
    fps = clip.video.fps_num / clip.video.fps_den
    for p in placed:
        assert p.frames == round((p.ref.end - p.ref.start) * fps / 1000)
        assert p.frame_at(p.frame_time(p.frames - 1)) == p.frames - 1
        assert all(p.frame_at(p.frame_time(i)) == i for i in range(p.frames))
    assert [p.first_frame for p in placed[:3]] == [0, placed[0].frames, 2 * placed[0].frames]


def test_an_excerpt_shows_only_what_it_covers(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    keep = [4, 5, 6, 7]
    path = recorded.write_clip(clip, "excerpt.mp4", keep)
    placed = locate_segments(clip, path)
    assert [p.position for p in placed] == keep
    start, end = clip.segments[keep[0]].start, clip.segments[keep[-1]].end
    keyframes = pick_keyframes(clip, path)
    assert keyframes
    assert all(start <= k.t_ms < end for k in keyframes)
    assert keyframes[-1].label == "Last frame"
    images = read_frames(path, [k.frame_index for k in keyframes])
    for kf in keyframes:
        assert np.array_equal(images[kf.frame_index], kf.image)
    sheet = make_sheet(facts_for(clip, path, start_ms=start, end_ms=end), clip, path)
    assert pdf_pages(sheet.pdf) == 1


def test_frames_are_read_right_across_a_gap(recorded: Recorded) -> None:
    # OpenCV turns a frame index into a timestamp: seeking in a file with segments left
    # out returned the wrong frames after the gap; read_frames decodes per fragment.
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "gappy.mp4", [0, 1, 2, 6, 7, 10, 11])
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    sequential = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        sequential.append(frame)
    cap.release()
    wanted = [0, 29, 44, 45, 60, 89, 120, 150, len(sequential) - 1]
    got = read_frames(path, wanted)
    for i in wanted:
        assert np.array_equal(got[i], sequential[i]), i
    with pytest.raises(MediaFormatError, match="could not be decoded"):
        read_frames(path, [len(sequential)])


def test_footage_of_another_clip_is_refused(recorded: Recorded) -> None:
    first, second = recorded.clips[:2]
    foreign = next(s for s in second.segments if s not in first.segments)
    path = recorded.dir / "mixed.mp4"
    path.write_bytes(
        recorded.store.read_blob(first.init)
        + recorded.store.read_blob(first.segments[0].sha256)
        + recorded.store.read_blob(foreign.sha256)
    )
    with pytest.raises(MediaFormatError, match=r"fragment 1 .* is not one of the"):
        pick_keyframes(first, path)


def test_a_file_that_is_not_a_clip_is_refused(recorded: Recorded, tmp_path: Path) -> None:
    path = tmp_path / "junk.mp4"
    path.write_bytes(b"\x00\x00\x00\x08free")
    with pytest.raises(MediaFormatError):
        pick_keyframes(recorded.clips[0], path)


def test_a_derived_copy_and_a_bad_status_are_called_out(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    keyframes = pick_keyframes(clip, path, max_frames=4)

    def texts(facts: SheetFacts) -> list[_Text]:
        return [op for op in _layout(facts, keyframes) if isinstance(op, _Text)]

    def chip(facts: SheetFacts) -> str:  # the badge in the top right corner
        return next(op.text for op in texts(facts) if op.align == "R" and op.y < 20)

    assert chip(facts_for(clip, path)) == "SEALED CLIP"
    derived = facts_for(clip, path, derived_from="cd" * 32)
    assert chip(derived) == "DERIVED COPY"
    text = " ".join(op.text for op in texts(derived))
    assert "Derived copy." in text
    assert "cd" * 32 in text.replace(" ", "")

    interrupted = facts_for(clip, path, status="interrupted", end_reason="crash")
    assert chip(interrupted) == "INTERRUPTED CLIP"
    text = " ".join(op.text for op in texts(interrupted))
    assert "packseal verify bundle.zip --trust <merchant trust file>" in text
    assert "proves nothing on its own" in text
    for value in (clip.order_id, *clip.tracking_ids, derived.entry_hash, derived.checkpoint_root):
        assert value in text


def test_long_values_wrap_or_shrink_inside_the_page(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    keyframes = pick_keyframes(clip, path, max_frames=6)
    facts = facts_for(
        clip,
        path,
        order_id="SO-" + "9" * 60,
        merchant="A Merchant With A Remarkably Long Registered Trading Name GmbH & Co. KG",
        tracking_ids=tuple(f"TRK-{n:012d}" for n in range(6)),
        checkpoint_root="x" * 120,
    )
    ops = _layout(facts, keyframes)
    for op in ops:
        assert 0 <= op.x <= 210, op
        assert 0 <= op.y <= 297, op
    sheet = make_sheet(facts, clip, path, keyframes=keyframes)
    assert pdf_pages(sheet.pdf) == 1


def test_a_limit_the_sheet_cannot_meet_raises(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    keyframes = pick_keyframes(clip, path, max_frames=4)
    with pytest.raises(VerifierError, match="bytes at its smallest, more than the 20000-byte"):
        make_sheet(facts_for(clip, path), clip, path, keyframes=keyframes, max_bytes=20_000)


def test_keyframes_need_at_least_one_frame(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    with pytest.raises(ValueError, match="max_frames"):
        pick_keyframes(clip, path, max_frames=0)
    (only,) = pick_keyframes(clip, path, max_frames=1)
    assert only.label == "Order scan"


def test_the_fonts_ship_with_their_license() -> None:
    for path in (fonts.SANS, fonts.SANS_BOLD, fonts.MONO):
        assert path.read_bytes()[:4] == b"\x00\x01\x00\x00"  # TrueType
    assert "Bitstream Vera" in fonts.LICENSE.read_text()


def test_the_sheet_says_where_a_reviewer_gets_the_verifier(recorded: Recorded) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "a.mp4")
    keyframes = pick_keyframes(clip, path, max_frames=2)

    def text(facts: SheetFacts) -> str:
        return " ".join(op.text for op in _layout(facts, keyframes) if isinstance(op, _Text))

    assert "pip install packseal" in text(facts_for(clip, path))
    assert "in a browser" not in text(facts_for(clip, path))
    url = "https://acme.example/verify.html"
    assert f"pip install packseal  or, in a browser: {url}" in text(
        facts_for(clip, path, verify_url=url)
    )
    sheet = make_sheet(facts_for(clip, path, verify_url=url), clip, path, keyframes=keyframes)
    assert pdf_pages(sheet.pdf) == 1


# A real summary whose QR code zxing-cpp could not read from one sheet in twelve: scaled
# by a fraction (2.1, 2.59 px per module) its modules came out 2 and 3 px wide.
UNLUCKY_SUMMARY = (
    "packseal-bundle/v1\norder SO-2026-815962\nclip 01M7Q5DKDRSS8BDZFD1092Q0TK segments 1..17"
    " of 17\nvideo clip.mp4 sha256 cda6940f6957fc7b05a973994a234f784a7365803965ddb5f13d274f4c79"
    "bcaa\nentry 34ea5ad03370813898098766973e3f3c2f5c82aaf38c8fac06571fe7ee9c8cd0\nlog "
    "packseal.local/test/station-01 index 32\ncheckpoint 44 gfd0Jg5FRxBtgkB7lfAM17kCB4yYkF4IAqjh"
    "AoF9K30="
)


@pytest.mark.parametrize(("dpi", "palette"), sheet_module.PNG_ATTEMPTS)
def test_the_summary_qr_reads_back_at_every_size_and_png_attempt(dpi: float, palette: bool) -> None:
    dark = sheet_module._qr_modules(UNLUCKY_SUMMARY)
    unread = []
    for size in np.arange(27.0, 45.01, 0.25):  # every size the layout can give it (mm)
        png = sheet_module._render_png([sheet_module._QR(10, 10, float(size), dark)], dpi, palette)
        gray = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
        if [bytes(b.bytes).decode() for b in zxingcpp.read_barcodes(gray)] != [UNLUCKY_SUMMARY]:
            unread.append(float(size))
    assert unread == []


def test_two_views_show_each_moment_from_both_cameras_labelled(
    recorded: Recorded, tmp_path: Path
) -> None:
    clip = recorded.clips[0]
    path = recorded.write_clip(clip, "top.mp4")
    side = side_view(clip, path, tmp_path / "side-run")
    side_path = side.write(tmp_path / "side.mp4")
    clip = side.bind(clip, "top", "side")
    side_sha = hashlib.sha256(side_path.read_bytes()).hexdigest()
    facts = facts_for(clip, path, views=(("side", side_path),), view_sha256=(("side", side_sha),))
    for language in ("en", "zh-CN"):
        sheet = make_sheet(replace(facts, language=language), clip, path)
        assert pdf_pages(sheet.pdf) == 1
        assert len(sheet.png) <= MAX_SHEET_BYTES
        assert len(sheet.pdf) <= MAX_SHEET_BYTES
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / f"sheet-two-views-{language}.png").write_bytes(sheet.png)
    kf = sheet.keyframes
    assert [k.view for k in kf] == ["top", "side"] * 4
    # Each row one moment: the side view's frame is at the top view's capture time
    # (within a frame), under the same label, read from the side view's own file.
    for top, other in zip(kf[::2], kf[1::2], strict=True):
        assert other.label == top.label.partition(" (")[0]
        assert abs(other.t_ms - top.t_ms) <= frame_ms(clip) + 1
        assert other.boxes == ()
        assert not np.array_equal(other.image, top.image)
    mirrored = cv2.flip(read_frames(side_path, [kf[1].frame_index])[kf[1].frame_index], 1)
    assert np.abs(mirrored[:, :, 1].astype(int) - kf[0].image[:, :, 1]).mean() < 12
    sources = (("side", "live camera /dev/video2 (no identity reported)", True),)
    texts = [op.text for op in _layout(facts, kf, sources) if isinstance(op, _Text)]
    assert "KEYFRAMES FROM BOTH SEALED VIEWS" in texts
    # The integrity block names each view's file hash, after the clip's (clip.mp4).
    at = texts.index("CLIP SHA-256")
    assert texts[at + 1] == facts.clip_sha256
    assert texts[texts.index("VIEW SIDE SHA-256") + 1] == side_sha
    # Where each camera's footage came from: the primary's row, then the side view's.
    assert texts[texts.index("SIDE VIEW") + 1] == sources[0][1]
    assert {"TOP", "SIDE"} <= set(texts)
    assert any(t.startswith("left: view top, right: view side") for t in texts)
    zh = [
        op.text
        for op in sheet_module._localize(_layout(facts, kf, sources), "zh-CN")
        if isinstance(op, _Text)
    ]
    assert "两个封存视角的关键帧" in zh
    assert zh[zh.index("视角 SIDE SHA-256") + 1] == side_sha
    assert "视角 SIDE" in zh
    assert "现场摄像头 /dev/video2（未报告型号）" in zh
    assert any(t.startswith("左：视角 top，右：视角 side") for t in zh)
    # One view is the sheet as it was: no view tags, the old heading.
    single = [
        op.text
        for op in _layout(facts_for(clip, path), pick_keyframes(clip, path))
        if isinstance(op, _Text)
    ]
    assert "KEYFRAMES FROM THE SEALED CLIP" in single
    assert "TOP" not in single
