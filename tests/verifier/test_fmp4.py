"""fMP4 splitting: a clip is init + whole fragments and nothing else; headers only."""

from __future__ import annotations

import io
import itertools
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier._errors import MediaFormatError, VerifierError
from verifier.fmp4 import Box, FragmentedFile, Range, iter_boxes, split_bytes, split_fragments


def box(kind: str, payload: bytes = b"", *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind.encode(), 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind.encode()) + payload


FTYP = box("ftyp", b"iso5\x00\x00\x02\x00iso6mp41")
MOOV = box("moov", box("mvhd", bytes(100)) + box("trak", bytes(200)))
INIT = FTYP + MOOV


def fragment(n: int, *, styp: bool = True) -> bytes:
    head = box("styp", b"msdh\x00\x00\x00\x00msdhmsix") if styp else b""
    return (
        head + box("moof", box("mfhd", struct.pack(">II", 0, n + 1))) + box("mdat", bytes(n) * 50)
    )


def clip(n: int = 3) -> bytes:
    return INIT + b"".join(fragment(i + 1) for i in range(n))


def ranges(data: bytes) -> list[tuple[str, int, int]]:
    return [(b.type, b.offset, b.end) for b in iter_boxes(io.BytesIO(data))]


# ---- what the recorder writes -------------------------------------------------------


def test_split_gives_init_and_one_range_per_fragment() -> None:
    frags = [fragment(i + 1) for i in range(3)]
    data = INIT + b"".join(frags)
    out = split_bytes(data)
    bounds = [len(INIT)]
    for f in frags:
        bounds.append(bounds[-1] + len(f))
    assert out == FragmentedFile(
        Range(0, len(INIT)), [Range(a, b) for a, b in itertools.pairwise(bounds)]
    )
    assert [data[r.start : r.end] for r in out.fragments] == frags
    assert out.init.size == len(INIT)


def test_fragments_without_styp_and_extra_init_boxes_are_accepted() -> None:
    extra = box("uuid", bytes(16) + b"manifest") + box("free", bytes(4))
    data = FTYP + MOOV + extra + fragment(1, styp=False) + fragment(2)
    out = split_bytes(data)
    assert out.init == Range(0, len(FTYP + MOOV + extra))
    assert len(out.fragments) == 2
    assert out.fragments[-1].end == len(data)


def test_box_headers_large_size_uuid_and_size_zero() -> None:
    data = box("ftyp", b"abcd") + box("uuid", bytes(16) + b"x") + box("mdat", b"12345", large=True)
    data += struct.pack(">I4s", 0, b"mdat") + b"to the end"
    assert list(iter_boxes(io.BytesIO(data))) == [
        Box("ftyp", 0, 12, 8),
        Box("uuid", 12, 25, 24),
        Box("mdat", 37, 21, 16),
        Box("mdat", 58, 18, 8),
    ]
    assert list(iter_boxes(io.BytesIO(data), start=12, end=37)) == [Box("uuid", 12, 25, 24)]


def test_a_last_mdat_running_to_the_end_of_file_is_one_fragment() -> None:
    data = INIT + fragment(1) + box("moof", bytes(8)) + struct.pack(">I4s", 0, b"mdat") + bytes(9)
    assert split_bytes(data).fragments[-1].end == len(data)


def test_reads_headers_only_on_a_sparse_one_hour_clip(tmp_path: Path) -> None:
    # 1800 two-second segments of ~250 kB: a 450 MB file that is almost all holes.
    path = tmp_path / "hour.mp4"
    count, media = 1800, 250_000
    with open(path, "wb") as f:
        f.write(INIT)
        for i in range(count):
            f.write(box("styp", b"msdh") + box("moof", bytes(i % 7)))
            f.write(struct.pack(">I4s", 8 + media, b"mdat"))
            f.seek(media, io.SEEK_CUR)
        f.truncate()

    class Counting(io.FileIO):
        read_bytes = 0

        def read(self, size: int | None = -1, /) -> bytes:
            data = super().read(size)
            self.read_bytes += len(data)
            return data

    with Counting(path, "rb") as counted:
        out = split_fragments(counted)
        assert counted.read_bytes <= 16 * (2 + 3 * count)
    assert len(out.fragments) == count
    assert out.fragments[-1].end == path.stat().st_size


def test_error_is_a_verifier_error_with_facts_and_hint() -> None:
    data = clip() + box("free", bytes(10))
    with pytest.raises(VerifierError) as info:
        split_bytes(data)
    e = info.value
    assert isinstance(e, MediaFormatError)
    assert (e.offset, e.box) == (len(clip()), "free")
    assert e.hint is not None
    assert "appended" in e.hint
    assert f"offset {len(clip())}" in str(e)


# ---- what must be rejected (attack cases are data) ----------------------------------


def _patch_size(data: bytes, offset: int, size: int) -> bytes:
    return data[:offset] + struct.pack(">I", size) + data[offset + 4 :]


def _offset(data: bytes, kind: str, nth: int = 0) -> int:
    return [o for t, o, _ in ranges(data) if t == kind][nth]


C = clip()
F1 = len(INIT)  # offset of the first fragment
REJECT: list[tuple[str, Callable[[], bytes], str]] = [
    (
        "appended free box",
        lambda: C + box("free", bytes(32)),
        f"offset {len(C)}: expected the next",
    ),
    ("appended skip box", lambda: C + box("skip"), "found box 'skip'"),
    ("appended uuid box", lambda: C + box("uuid", bytes(16) + b"c2pa"), "found box 'uuid'"),
    ("appended mfra index", lambda: C + box("mfra", box("mfro", bytes(8))), "found box 'mfra'"),
    ("trailing bytes", lambda: C + b"\x00\x01\x02", f"offset {len(C)}: 3 byte(s) left"),
    ("trailing zero header", lambda: C + bytes(8), "type bytes 00000000"),
    ("truncated mdat", lambda: C[:-10], "only"),
    ("truncated header", lambda: C[: _offset(C, "moof", 2) + 5], "5 byte(s) left"),
    ("styp at the end", lambda: C + box("styp", b"msdh"), "ends at the end of the file"),
    ("moof at the end", lambda: C + box("moof", bytes(8)), "expected 'mdat'"),
    ("zero size on a moof", lambda: _patch_size(C, _offset(C, "moof", 1), 0), "expected 'mdat'"),
    ("short size", lambda: _patch_size(C, _offset(C, "moof", 1), 4), "less than its 8-byte header"),
    ("size past the end", lambda: _patch_size(C, _offset(C, "mdat", 2), 1 << 20), "truncated file"),
    (
        "large size past the end",
        lambda: C + box("moof") + struct.pack(">I4sQ", 1, b"mdat", 1 << 40),
        "truncated file",
    ),
    ("large size cut short", lambda: C + struct.pack(">I4sI", 1, b"mdat", 0), "64-bit size"),
    ("large size below its header", lambda: C + struct.pack(">I4sQ", 1, b"mdat", 9), "16-byte"),
    ("uuid shorter than its type", lambda: C + box("uuid", bytes(8)), "24-byte header"),
    ("box type garbage", lambda: C[:F1] + b"\0\0\0\x10\xff\xfe\1\2" + C[F1 + 8 :], "fffe0102"),
    ("missing moov", lambda: FTYP + fragment(1), "has no 'moov'"),
    ("missing ftyp", lambda: MOOV + fragment(1), "expected 'ftyp'"),
    ("two moov boxes", lambda: FTYP + MOOV + MOOV + fragment(1), "one 'moov'"),
    ("plain MP4 (mdat in the init)", lambda: INIT + box("mdat", bytes(9)), "found box 'mdat'"),
    ("fragment without mdat", lambda: INIT + box("moof") + fragment(2), "expected 'mdat'"),
    ("mdat before moof", lambda: INIT + box("mdat") + box("moof"), "found box 'mdat'"),
    ("two moofs", lambda: INIT + box("moof") + box("moof") + box("mdat"), "expected 'mdat'"),
    ("two mdats", lambda: C + box("mdat", bytes(4)), "found box 'mdat'"),
    ("styp without moof", lambda: INIT + box("styp") + box("mdat"), "after the 'styp'"),
    ("sidx in a fragment", lambda: INIT + box("sidx", bytes(24)) + fragment(1), "found box 'sidx'"),
    ("init only", lambda: INIT, "an init section alone is not a clip"),
    ("empty file", lambda: b"", "empty"),
]


@pytest.mark.parametrize(("make", "message"), [r[1:] for r in REJECT], ids=[r[0] for r in REJECT])
def test_rejects(make: Callable[[], bytes], message: str) -> None:
    with pytest.raises(MediaFormatError, match=r"offset|empty") as info:
        split_bytes(make())
    assert message in str(info.value)


def test_iter_boxes_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="start"):
        list(iter_boxes(io.BytesIO(C), start=10, end=5))


# ---- never anything but MediaFormatError --------------------------------------------


def _check(data: bytes) -> None:
    try:
        out = split_bytes(data)
    except MediaFormatError:
        return
    # What parses is tiled exactly: init from 0, fragments back to back, to the last byte.
    assert out.init.start == 0
    edges = [out.init, *out.fragments]
    assert all(a.end == b.start for a, b in itertools.pairwise(edges))
    assert edges[-1].end == len(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_parse_or_raise_media_format_error(data: bytes) -> None:
    _check(data)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(C) - 1), st.integers(0, 255)), max_size=4),
    st.integers(0, len(C)),
    st.binary(max_size=24),
)
def test_mutated_clips_parse_or_raise_media_format_error(
    flips: list[tuple[int, int]], keep: int, tail: bytes
) -> None:
    data = bytearray(C)
    for pos, value in flips:
        data[pos] = value
    _check(bytes(data[:keep]) + tail)
