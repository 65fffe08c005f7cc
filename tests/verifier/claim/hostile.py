"""Hostile claim photos as data (STYLE rule 12): each with the error or the finding it
must give. ``test_hostile.py`` runs them all, then mutates every carrier fixture."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from tests.verifier.claim import photos as p
from verifier.claim import MAX_BYTES


@dataclass(frozen=True, slots=True)
class Hostile:
    name: str
    make: Callable[[], bytes]
    # Either the ClaimPhotoError message must match ``error``, or the photo is read and
    # one "unreadable" finding's meaning must match ``unreadable`` (both regexes).
    error: str = ""
    unreadable: str = ""


def _ihdr_png(w: int, h: int) -> bytes:
    """A valid PNG header declaring w x h, with one tiny IDAT: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        p.PNG_SIGNATURE
        + p.png_chunk(b"IHDR", ihdr)
        + p.png_chunk(b"IDAT", idat)
        + p.png_chunk(b"IEND", b"")
    )


def _tiff(count: int, entries: bytes = b"", tail: bytes = b"") -> bytes:
    return b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", count) + entries + tail


def _exif_jpeg(tiff: bytes) -> bytes:
    return p.jpeg_with(0xE1, b"Exif\x00\x00" + tiff)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>&lol3;</x:xmpmeta>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>&e;</x:xmpmeta>"
)

HOSTILE = [
    Hostile("oversized", lambda: p.jpeg() + b"\x00" * MAX_BYTES, error=r"at most \d+"),
    Hostile("empty", lambda: b"", error="not a JPEG, PNG or WebP"),
    Hostile("truncated-jpeg", lambda: p.jpeg()[:-400], error="truncated file: JPEG scan data"),
    Hostile("truncated-jpeg-header", lambda: p.jpeg()[:30], error="truncated file: JPEG segment"),
    Hostile("truncated-png", lambda: p.png()[:-30], error="truncated file: PNG chunk"),
    Hostile(
        "png-without-iend",
        lambda: p.png()[:-12],
        error=r"truncated file: a PNG chunk header \(no IEND",
    ),
    Hostile("zip-jpeg-polyglot", lambda: b"PK\x03\x04" + p.jpeg(), error="not a JPEG, PNG or WebP"),
    Hostile("pdf-polyglot", lambda: b"%PDF-1.7\n" + p.jpeg(), error="not a JPEG, PNG or WebP"),
    Hostile("decompression-bomb-png", lambda: _ihdr_png(30000, 30000), error="decompression bomb"),
    Hostile(
        "just-over-the-pixel-limit", lambda: _ihdr_png(10000, 5001), error="decompression bomb"
    ),
    Hostile(
        "ztxt-bomb",
        lambda: p.png_with(
            p.png_chunk(b"zTXt", b"AIGC\x00\x00" + zlib.compress(b"A" * (64 << 20), 9))
        ),
        unreadable="inflates to more than",
    ),
    Hostile(
        "png-text-bad-crc",
        lambda: p.png_with(p.png_chunk(b"tEXt", b"AIGC\x00{}")[:-1] + b"\x00"),
        unreadable="CRC mismatch",
    ),
    Hostile("xmp-not-xml", lambda: p.jpeg_xmp(b"<x:xmpmeta><rdf"), unreadable="not well-formed"),
    Hostile("xmp-billion-laughs", lambda: p.jpeg_xmp(BILLION_LAUGHS), unreadable="not well-formed"),
    Hostile("xmp-external-entity", lambda: p.png_xmp(XXE), unreadable="not well-formed"),
    Hostile("exif-not-tiff", lambda: _exif_jpeg(b"XX*\x00"), unreadable="EXIF: EXIF data is 4"),
    Hostile("exif-huge-ifd", lambda: _exif_jpeg(_tiff(65535)), unreadable="claims 65535 entries"),
    Hostile(
        "exif-offset-past-end",
        lambda: _exif_jpeg(_tiff(1, struct.pack("<HHII", 0x0131, 2, 4096, 4000))),
        unreadable="past the end",
    ),
    Hostile(
        "exif-self-referencing-ifd",
        lambda: _exif_jpeg(_tiff(1, struct.pack("<HHII", 0x8769, 4, 1, 8), b"\x00" * 4)),
        unreadable="",  # read once, nothing found: no error, no loop
    ),
    Hostile(
        "c2pa-garbage-jumbf",
        lambda: p.jpeg_with(0xEB, b"JP\x02\x11\x00\x01\x00\x00\x00\x01" + b"\x07" * 64),
        unreadable="C2PA manifest",
    ),
    Hostile(
        "aigc-not-json",
        lambda: p.png_text("AIGC", "{Label:1"),
        unreadable="",  # reported as an AIGC label that is not the standard's JSON
    ),
]
