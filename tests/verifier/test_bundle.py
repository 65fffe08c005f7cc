"""Exporting bundles from a real store, the format on disk, and the reader under hostile
input (hypothesis): whatever the bytes, verifying raises BundleError or NotVerified (or
verifies), never anything else."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from storage import BlobHashError, BlobMissingError, FormatError, LogStateError, TrustFile
from storage.entries import Clip
from tests.recording import Recording, copy_store, make_app
from tests.verifier.attacks_bundle import claim_section
from tests.verifier.conftest import TwoViews, derived_limit, export, ffmpeg_timeline
from verifier._errors import BundleError, NotVerified, VerifierError
from verifier._manifest import Manifest
from verifier.bundle import REQUIRED, export_bundle
from verifier.fmp4 import split_bytes
from verifier.timeline import restore_sealed
from verifier.verify import verify_bundle


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_bundle_layout(honest_bundle: Path, clips: list[Clip], merchant_trust: TrustFile) -> None:
    m = members(honest_bundle)
    assert set(m) == {*REQUIRED, "clip.mp4"}
    with zipfile.ZipFile(honest_bundle) as zf:
        assert zf.getinfo("clip.mp4").compress_type == zipfile.ZIP_STORED
    clip = clips[0]
    assert m["entries/clip.json"] == clip.to_bytes()  # exactly as logged
    manifest = Manifest.from_bytes(m["manifest.json"])
    assert (manifest.clip_id, manifest.order_id) == (clip.clip_id, clip.order_id)
    n = len(clip.segments)
    assert (manifest.first, manifest.last, manifest.segment_count) == (0, n - 1, n)
    assert manifest.derived is None
    assert manifest.excerpt_ms is None
    # clip.mp4 is on the clip's own timeline; put back, it is the sealed bytes.
    assert manifest.timeline is not None
    layout = split_bytes(m["clip.mp4"])
    restored = b"".join(
        restore_sealed(m["clip.mp4"][r.start : r.end], manifest.timeline)
        for r in [layout.init, *layout.fragments]
    )
    assert restored != m["clip.mp4"]
    assert manifest.sealed_sha256 == hashlib.sha256(restored).hexdigest()
    for name, item in manifest.members.items():
        assert item.sha256 == hashlib.sha256(m[name]).hexdigest()
    sums = {}
    for line in m["SHA256SUMS"].decode().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    assert set(sums) == set(m) - {"SHA256SUMS"}
    assert all(sums[n] == hashlib.sha256(m[n]).hexdigest() for n in sums)
    # The merchant's trust file is never part of a bundle.
    assert merchant_trust.to_bytes() not in m.values()
    assert not any("trust" in name for name in m)


def test_readme_lets_a_reviewer_check_every_segment_with_sha256sum(
    honest_bundle: Path, clips: list[Clip], tmp_path: Path
) -> None:
    m = members(honest_bundle)
    (tmp_path / "clip.mp4").write_bytes(m["clip.mp4"])
    readme = m["README.txt"].decode()
    commands = [line for line in readme.splitlines() if " | sha256sum  # " in line]
    clip = clips[0]
    assert len(commands) == 1 + len(clip.segments)
    signed = [clip.init, *(s.sha256 for s in clip.segments)]
    for command, expected in zip(commands, signed, strict=True):
        shell, _, comment = command.partition("  # ")
        assert comment.split()[0] == expected
        done = subprocess.run(
            ["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        assert done.stdout.split()[0] == expected
    assert "packseal verify bundle.zip --trust trust.json" in readme
    assert "WHAT IT DOES NOT PROVE" in readme


@pytest.mark.parametrize("which", ["other", "excerpt"])
def test_the_bundles_clip_plays_from_zero_for_its_length(
    which: str, other_bundle: Path, excerpt_bundle: Path, clips: list[Clip], tmp_path: Path
) -> None:
    """Issue 13 item 6: the second order's clip starts 34 s into the run; before, FFmpeg's
    demuxer (what ffprobe prints) gave start 26.13, duration 60.0 for it."""
    bundle = other_bundle if which == "other" else excerpt_bundle
    m = members(bundle)
    manifest = Manifest.from_bytes(m["manifest.json"])
    clip = next(c for c in clips if c.clip_id == manifest.clip_id)
    refs = clip.segments[manifest.first : manifest.last + 1]
    video = tmp_path / "clip.mp4"
    video.write_bytes(m["clip.mp4"])
    frame = clip.video.fps_den / clip.video.fps_num
    start, duration = ffmpeg_timeline(video)
    assert start == pytest.approx(0, abs=frame)
    assert duration == pytest.approx((refs[-1].end - refs[0].start) / 1000, abs=frame)


def test_export_is_reproducible(recording: Recording, clips: list[Clip], tmp_path: Path) -> None:
    a = export(recording, clips[2].clip_id, tmp_path / "a.zip")
    b = export(recording, clips[2].order_id, tmp_path / "b.zip")
    assert a.read_bytes() == b.read_bytes()


def test_excerpt_holds_the_whole_segments_covering_the_span(excerpt_bundle: Path) -> None:
    m = members(excerpt_bundle)
    manifest = Manifest.from_bytes(m["manifest.json"])
    assert (manifest.first, manifest.last) == (2, 4)
    assert manifest.excerpt_ms == (5000, 9000)
    assert len(split_bytes(m["clip.mp4"]).fragments) == 3
    assert "an EXCERPT" in m["README.txt"].decode()


@pytest.mark.parametrize(
    ("span", "message"),
    [
        ((9.0, 5.0), r"expected 0 <= START < END"),
        ((-1.0, 5.0), r"expected 0 <= START < END"),
        ((500.0, 600.0), r"starts after the clip ends \(it is \d+\.\d s\)"),
    ],
)
def test_bad_excerpts_are_caller_mistakes(
    recording: Recording,
    clips: list[Clip],
    tmp_path: Path,
    span: tuple[float, float],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        export(recording, clips[0].clip_id, tmp_path / "x.zip", excerpt=span)
    assert list(tmp_path.iterdir()) == []


def test_derived_copy_bundle(derived_bundle: Path, honest_bundle: Path, clips: list[Clip]) -> None:
    m = members(derived_bundle)
    assert "clip.mp4" not in m
    manifest = Manifest.from_bytes(m["manifest.json"])
    assert manifest.video == "derived.mp4"
    assert manifest.derived is not None
    limit = derived_limit(honest_bundle)
    assert manifest.derived.max_bytes == limit
    # the sealed clip alone fits the limit; the bundle with it does not
    assert manifest.sealed_size < limit < honest_bundle.stat().st_size
    # the limit bounds the whole zip, sheet and entries included (before: only the video)
    assert derived_bundle.stat().st_size <= limit
    assert manifest.derived.size == len(m["derived.mp4"])
    assert manifest.derived.sha256 == hashlib.sha256(m["derived.mp4"]).hexdigest()
    assert manifest.sealed_sha256 != manifest.derived.sha256
    readme = m["README.txt"].decode()
    assert "THE VIDEO IS A DERIVED COPY" in readme
    assert clips[0].clip_id in readme


def _report_dir(where: Path, clip: Clip, strip_bytes: int = 0) -> Path:
    """A claim check's report directory of ``clip`` (as `packseal claim -o` leaves it),
    with the buyer's photo kept beside it as the portal does."""
    where.mkdir()
    for name, data in claim_section(clip, photos=2).items():
        # Strips as large as real ones (a 3-panel PNG is ~0.3-1 MB): incompressible bytes.
        pad = os.urandom(strip_bytes) if name.startswith("claim/claim-") else b""
        (where / name.removeprefix("claim/")).write_bytes(data + pad)
    (where / "photo-1").write_bytes(b"\xff\xd8\xff the buyer's photo")
    return where


def test_a_claim_report_rides_in_the_bundle_within_the_limit(
    recording: Recording,
    clips: list[Clip],
    tmp_path: Path,
    honest_bundle: Path,
    derived_bundle: Path,
    merchant_trust: TrustFile,
) -> None:
    report = _report_dir(tmp_path / "report", clips[0], strip_bytes=60_000)
    limit = derived_limit(honest_bundle)
    out = export(recording, clips[0].clip_id, tmp_path / "b.zip", max_bytes=limit, claim=report)
    m = members(out)
    assert [n for n in m if n.startswith("claim/")] == [
        "claim/claim.json",
        "claim/claim.png",
        "claim/claim.pdf",
        "claim/claim-1.png",
        "claim/claim-2.png",
    ]
    assert not [n for n in m if "photo-" in n]
    # The section counts against the limit like the sheet: the derived copy gets less room.
    assert out.stat().st_size <= limit
    assert len(m["derived.mp4"]) < len(members(derived_bundle)["derived.mp4"])
    with pytest.raises(NotVerified) as caught:  # a derived copy, as without the report
        verify_bundle(out, merchant_trust)
    claim = caught.value.report.check("claim")
    assert claim.ok is True
    assert claim.message.startswith("included; a report, not evidence by itself: claim/claim.json")
    assert caught.value.report.failed == []


def test_no_room_for_the_video_beside_a_claim_report_says_so(
    recording: Recording, clips: list[Clip], tmp_path: Path
) -> None:
    report = _report_dir(tmp_path / "report", clips[0], strip_bytes=600_000)
    share = r"after \d+ bytes of sheet, entries, README and claim report is -\d+ bytes"
    with pytest.raises(VerifierError, match=f"no room for the video: .*{share}"):
        export(recording, clips[0].clip_id, tmp_path / "b.zip", max_bytes=1_000_000, claim=report)


def test_a_claim_report_of_another_clip_is_refused(
    recording: Recording, clips: list[Clip], tmp_path: Path
) -> None:
    report = _report_dir(tmp_path / "report", clips[1])
    out = tmp_path / "b.zip"
    with pytest.raises(VerifierError, match=r"cannot go in this clip's bundle: claim/claim\.json"):
        export(recording, clips[0].clip_id, out, claim=report)
    assert not out.exists()
    (report / "claim.json").unlink()
    with pytest.raises(VerifierError, match=r"holds no claim\.json"):
        export(recording, clips[1].clip_id, out, claim=report)


def test_a_limit_below_the_sheet_and_entries_is_refused_with_the_numbers(
    recording: Recording, clips: list[Clip], tmp_path: Path
) -> None:
    out = tmp_path / "small.zip"
    share = r"the video's share of the 300000-byte limit after \d+ bytes of sheet, entries"
    with pytest.raises(VerifierError, match=f"no room for the video: {share}"):
        export(recording, clips[0].clip_id, out, max_bytes=300_000)
    assert not out.exists()


def test_a_clip_that_fits_is_kept_sealed(
    recording: Recording, clips: list[Clip], tmp_path: Path, merchant_trust: TrustFile
) -> None:
    out = export(recording, clips[2].clip_id, tmp_path / "fits.zip", max_bytes=20_000_000)
    assert "clip.mp4" in members(out)
    assert verify_bundle(out, merchant_trust).report.verified


def test_the_station_signs_a_checkpoint_when_none_covers_the_clip(
    recording: Recording, clips: list[Clip], tmp_path: Path, merchant_trust: TrustFile
) -> None:
    """As after a station that stopped between sealing a clip and signing a checkpoint."""
    data = copy_store(recording.data_dir, tmp_path / "data")
    app = make_app(data)
    row = app.store.find_clip(clips[2].clip_id)
    with sqlite3.connect(data / "packseal.db") as db:
        db.execute("DELETE FROM checkpoints WHERE size > ?", (row.idx,))
    db.close()
    out = tmp_path / "b.zip"
    with pytest.raises(LogStateError, match="is not covered by a signed checkpoint"):
        export_bundle(app.store, app.certification(), row.clip_id, out)
    assert not out.exists()
    # The station signs one (App.export); the verifier package never signs.
    exported = app.export(row.clip_id, out, make_sheet=_stub_sheet)  # type: ignore[arg-type]
    assert exported.summary.checkpoint_size == app.store.size()
    assert verify_bundle(out, merchant_trust).report.verified
    app.close()


def test_export_refuses_footage_that_changed_or_is_gone(
    recording: Recording, clips: list[Clip], tmp_path: Path
) -> None:
    data = copy_store(recording.data_dir, tmp_path / "data")
    app = make_app(data)
    clip = clips[1]
    blob = app.store._blobs.path(clip.segments[3].sha256)
    blob.write_bytes(blob.read_bytes()[:-1] + b"!")
    with pytest.raises(BlobHashError, match=r"segment 4: sha256 expected [0-9a-f]{64} \(entry\)"):
        export_bundle(app.store, app.certification(), clip.clip_id, tmp_path / "x.zip")
    blob.unlink()
    with pytest.raises(BlobMissingError, match=r"segment 4 \(sha256 [0-9a-f]{64}\) is not in"):
        export_bundle(app.store, app.certification(), clip.clip_id, tmp_path / "x.zip")
    with pytest.raises(LogStateError, match="no clip or order 'SO-NOPE'"):
        export_bundle(app.store, app.certification(), "SO-NOPE", tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()
    app.close()


def _stub_sheet(facts: object, clip: Clip, clip_path: Path) -> object:
    from verifier.sheet import Sheet

    return Sheet(png=b"\x89PNG\r\n\x1a\n", pdf=b"%PDF-1.4\n", keyframes=[])


# -- the reader under hostile input ------------------------------------------------------------


def _outcome(data: bytes, trust: TrustFile) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.zip"
        path.write_bytes(data)
        try:
            verify_bundle(path, trust)
        except BundleError:
            return "unusable"
        except NotVerified as e:
            report = e.report
        else:
            return "verified"
    # Not verified means a named check failed, or the video is a derived copy.
    assert report.failed or report.facts is not None
    return "not verified"


_HYPO = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_HYPO
@given(st.binary(max_size=4096))
def test_random_bytes_are_unusable(merchant_trust: TrustFile, data: bytes) -> None:
    assert _outcome(data, merchant_trust) == "unusable"


@_HYPO
@given(st.data())
def test_mutated_bundles_never_crash_the_reader(
    honest_bundle: Path, merchant_trust: TrustFile, data: st.DataObject
) -> None:
    raw = bytearray(honest_bundle.read_bytes())
    how = data.draw(st.sampled_from(["flip", "truncate", "splice", "zero"]))
    if how == "flip":
        for at in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=4)):
            raw[at] ^= data.draw(st.integers(1, 255))
    elif how == "truncate":
        del raw[data.draw(st.integers(0, len(raw) - 1)) :]
    elif how == "splice":
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    else:  # a run of zeros: how a damaged download or disk looks (found a crash once)
        at, n = data.draw(st.integers(0, len(raw) - 1)), data.draw(st.integers(1, 5000))
        raw[at : at + n] = bytes(n)
    assert _outcome(bytes(raw), merchant_trust) in ("unusable", "not verified", "verified")


_NAMES = st.sampled_from(
    [*REQUIRED, "clip.mp4", "derived.mp4", "entries/", "../x", "a\\b", "/abs", "C:/x", "x" * 300]
)


@_HYPO
@given(
    st.lists(
        st.tuples(_NAMES, st.binary(max_size=300), st.sampled_from([0, 8]), st.integers(0, 0xFFFF)),
        max_size=14,
    )
)
def test_hostile_zips_never_crash_the_reader(
    merchant_trust: TrustFile, entries: list[tuple[str, bytes, int, int]]
) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", b'{"format": "packseal-bundle/v1"}')
        for name, content, method, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            info.create_system = 3
            info.external_attr = mode << 16
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                zf.writestr(info, content)
    assert _outcome(buf.getvalue(), merchant_trust) in ("unusable", "not verified")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@_HYPO
@given(_JSON)
def test_manifest_parser_raises_only_format_errors(doc: object) -> None:
    try:
        Manifest.from_bytes(json.dumps(doc).encode())
    except FormatError as e:
        message = e.message
    else:
        return
    assert message.startswith("manifest")


# -- two camera views (issue 12) ---------------------------------------------------------------


def test_a_two_view_bundle_carries_and_verifies_both_views(
    two_views: TwoViews, tmp_path: Path
) -> None:
    m = members(two_views.bundle)
    clip = two_views.clips[0]
    (side,) = clip.views or ()
    assert set(m) == {*REQUIRED, "clip.mp4", "clip.side.mp4"}
    manifest = Manifest.from_bytes(m["manifest.json"])
    (view,) = manifest.views
    n = len(side.segments)
    assert (view.view, view.member, view.first, view.last, view.segment_count) == (
        "side",
        "clip.side.mp4",
        0,
        n - 1,
        n,
    )
    layout = split_bytes(m["clip.side.mp4"])
    restored = b"".join(
        restore_sealed(m["clip.side.mp4"][r.start : r.end], view.timeline)
        for r in [layout.init, *layout.fragments]
    )
    assert view.sealed_sha256 == hashlib.sha256(restored).hexdigest()
    sums = dict(reversed(line.split("  ", 1)) for line in m["SHA256SUMS"].decode().splitlines())
    assert sums["clip.side.mp4"] == hashlib.sha256(m["clip.side.mp4"]).hexdigest()
    assert manifest.members["clip.side.mp4"].sha256 == sums["clip.side.mp4"]
    # Each view plays from 0 for its length.
    frame = clip.video.fps_den / clip.video.fps_num
    for name, refs in (("clip.mp4", clip.segments), ("clip.side.mp4", side.segments)):
        (tmp_path / name).write_bytes(m[name])
        start, duration = ffmpeg_timeline(tmp_path / name)
        assert start == pytest.approx(0, abs=frame)
        assert duration == pytest.approx((refs[-1].end - refs[0].start) / 1000, abs=frame)
    # The README's by-hand commands check both views, each part against the entry.
    readme = m["README.txt"].decode()
    assert "Views      top (clip.mp4), side (clip.side.mp4)" in readme
    commands = [line for line in readme.splitlines() if " | sha256sum  # " in line]
    signed = [clip.init, *(s.sha256 for s in clip.segments), side.init]
    signed += [s.sha256 for s in side.segments]
    assert len(commands) == len(signed)
    for command, expected in zip(commands, signed, strict=True):
        shell, _, comment = command.partition("  # ")
        assert comment.split()[0] == expected
        done = subprocess.run(
            ["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        assert done.stdout.split()[0] == expected

    # The sheet's QR summary names every view's file and hash, not only clip.mp4's.
    gray = np.asarray(Image.open(io.BytesIO(m["sheet.png"])).convert("L"))
    (summary,) = [b.text for b in zxingcpp.read_barcodes(gray) if "\n" in b.text]
    lines = summary.splitlines()
    assert f"video clip.mp4 sha256 {sums['clip.mp4']}" in lines
    assert f"view side video clip.side.mp4 sha256 {sums['clip.side.mp4']}" in lines

    verified = verify_bundle(two_views.bundle, two_views.trust)
    media = verified.report.check("media").message
    assert media.startswith(f"2 views; top (clip.mp4): all {len(clip.segments)} segments")
    assert f"; side (clip.side.mp4): all {n} segments" in media
    assert verified.report.check("timeline").message.startswith("view top: ")
    assert [(v.view, v.video, v.segments) for v in verified.facts.views] == [
        ("top", "clip.mp4", (1, len(clip.segments), len(clip.segments))),
        ("side", "clip.side.mp4", (1, n, n)),
    ]


def test_a_two_view_excerpt_holds_each_views_segments_overlapping_the_primarys(
    two_views: TwoViews,
) -> None:
    m = members(two_views.excerpt)
    manifest = Manifest.from_bytes(m["manifest.json"])
    clip = two_views.clips[0]
    (side,) = clip.views or ()
    (view,) = manifest.views
    lo, hi = clip.segments[manifest.first].start, clip.segments[manifest.last].end
    held = side.segments[view.first : view.last + 1]
    assert held
    assert all(s.end > lo and s.start < hi for s in held)
    outside = side.segments[: view.first] + side.segments[view.last + 1 :]
    assert not any(s.end > lo and s.start < hi for s in outside)
    assert view.last - view.first < len(side.segments) - 1
    verified = verify_bundle(two_views.excerpt, two_views.trust)
    assert f"side (clip.side.mp4): excerpt: segments {view.first + 1}..{view.last + 1}" in (
        verified.report.check("media").message
    )


def test_a_two_view_clip_is_not_carried_as_a_derived_copy(
    two_views: TwoViews, tmp_path: Path
) -> None:
    limit = two_views.bundle.stat().st_size - 100_000
    with pytest.raises(VerifierError, match="filmed by 2 cameras") as e:
        two_views.app.export(two_views.clips[0].clip_id, tmp_path / "x.zip", max_bytes=limit)
    assert e.value.hint is not None
    assert "--excerpt" in e.value.hint
    assert not (tmp_path / "x.zip").exists()
