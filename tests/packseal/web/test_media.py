"""Byte ranges over a clip made of many blobs: parsing, and reading across boundaries."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from io import BufferedReader
from pathlib import Path

import pytest

from packseal.web._http import WebError
from packseal.web._media import ByteRanges, ClipMedia, clip_media, parse_ranges
from storage.entries import Clip, parse_as
from tests.packseal.web.conftest import Portal
from tests.verifier.conftest import ffmpeg_timeline

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-", [(0, 999)]),
        ("bytes=0-0", [(0, 0)]),
        ("bytes=10-19", [(10, 19)]),
        ("bytes=990-5000", [(990, 999)]),  # an end past the file is clipped (RFC 9110)
        ("bytes=-1", [(999, 999)]),
        ("bytes=-5000", [(0, 999)]),
        (" bytes=5-6 ", [(5, 6)]),
        # several ranges (RFC 9110 section 14.1.1): sorted, overlaps and neighbours merged,
        # unsatisfiable ones dropped while one is left
        ("bytes=0-1,5-6", [(0, 1), (5, 6)]),
        ("bytes=500-599, 0-9,-10", [(0, 9), (500, 599), (990, 999)]),
        ("bytes=0-9,5-19,20-29", [(0, 29)]),
        ("bytes=0-1,5000-6000", [(0, 1)]),
        ("bytes=0-1,-0", [(0, 1)]),
        ("BYTES=1-2", [(1, 2)]),  # the unit is case-insensitive
    ],
)
def test_good_ranges(header: str | None, expected: list[tuple[int, int]] | None) -> None:
    assert parse_ranges(header, SIZE) == expected


@pytest.mark.parametrize(
    "header",
    [
        "bytes=1000-",  # starts at the end
        "bytes=5000-6000",
        "bytes=20-10",  # backwards
        "bytes=-0",
        "bytes=-",
        "bytes=1000-,2000-3000",  # none satisfiable
        "bytes=0-1,x",  # one malformed spoils the set
        "bytes=0-1,5-2",
        "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 66, 2)),  # 33: too many
        "items=0-1",
        "bytes=abc",
        "bytes=1e3-",
        "bytes=" + "9" * 40 + "-",  # an absurd number is not parsed at all
        "",
    ],
)
def test_bad_ranges_are_416_with_the_size(header: str) -> None:
    with pytest.raises(WebError) as caught:
        parse_ranges(header, SIZE)
    assert caught.value.status == 416
    assert caught.value.headers["Content-Range"] == f"bytes */{SIZE}"


def _opener(directory: Path) -> Callable[[str], BufferedReader]:
    """Parts named by file name in ``directory`` (a store opens them by SHA-256)."""
    return lambda name: open(directory / name, "rb")


def test_reads_span_parts_exactly(tmp_path: Path) -> None:
    data = [bytes([i]) * n for i, n in enumerate((7, 1, 300_000, 13))]
    paths = []
    for i, blob in enumerate(data):
        paths.append(tmp_path / f"p{i}")
        paths[-1].write_bytes(blob)
    offsets, total = [], 0
    for blob in data:
        offsets.append(total)
        total += len(blob)
    media = ClipMedia(tuple(p.name for p in paths), tuple(offsets), total, _opener(tmp_path))
    whole = b"".join(data)
    for start, end in ((0, total - 1), (6, 8), (7, 7), (8, 300_010), (total - 1, total - 1)):
        assert b"".join(media.read(start, end)) == whole[start : end + 1]


def test_byteranges_body_parses_back_with_the_email_parser(tmp_path: Path) -> None:
    """Python's own MIME parser, not ours, reads the multipart/byteranges body back."""
    import email.parser
    import email.policy

    blob = bytes(range(256)) * 8
    (tmp_path / "a").write_bytes(blob[:700])
    (tmp_path / "b").write_bytes(blob[700:])
    media = ClipMedia(("a", "b"), (0, 700), len(blob), _opener(tmp_path))
    ranges = ((0, 9), (650, 760), (2000, 2047))
    body = ByteRanges(media, ranges, "video/mp4", "b0undary")
    data = b"".join(body.read())
    assert len(data) == body.length
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {body.content_type}\r\n\r\n".encode() + data
    )
    parts = list(message.iter_parts())
    assert [p["Content-Range"] for p in parts] == [f"bytes {s}-{e}/{len(blob)}" for s, e in ranges]
    assert [p.get_payload(decode=True) for p in parts] == [blob[s : e + 1] for s, e in ranges]


def test_the_player_gets_the_bundles_clip_on_its_own_timeline(
    portal: Portal, tmp_path: Path
) -> None:
    """Issue 13 item 6: the newest clip was cut mid-run, and the player used to get the
    sealed bytes, which FFmpeg places at the clip's start in the run (start 26.13,
    duration 60.0 for a 34 s clip). It now gets the bundle's clip.mp4, byte for byte,
    from 0 for the clip's length, also when read in ranges that cut through part heads."""
    row = portal.rows[0]
    media = clip_media(portal.app.store, row)
    whole = b"".join(media.read(0, media.size - 1))
    bundle = portal.app.export(row.clip_id, tmp_path / "b.zip").path
    with zipfile.ZipFile(bundle) as z:
        assert whole == z.read("clip.mp4")
    for at in media.offsets[:4]:
        for start, end in ((at, at + 99), (at + 3, at + 1), (max(0, at - 7), at + 20_000)):
            end = min(max(start, end), media.size - 1)
            assert b"".join(media.read(start, end)) == whole[start : end + 1], (start, end)
    video = tmp_path / "served.mp4"
    video.write_bytes(whole)
    start_s, duration_s = ffmpeg_timeline(video)
    entry = parse_as(Clip, portal.app.store.entry(row.idx))
    frame = entry.video.fps_den / entry.video.fps_num
    assert start_s == pytest.approx(0, abs=frame)
    assert duration_s == pytest.approx(
        (entry.segments[-1].end - entry.segments[0].start) / 1000, abs=frame
    )
    assert entry.segments[0].start > min(  # it was cut mid-run
        s.start_ms for s in portal.app.store.segments_of_run(entry.run)
    )
