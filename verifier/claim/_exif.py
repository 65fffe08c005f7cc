"""A small, bounded EXIF (TIFF IFD) reader: IFD0 and the Exif sub-IFD, nothing else.

Pure over bytes. Only the tags the claim check reports are decoded; every offset is
checked against the data, each IFD is read once (no chains followed), and at most
``MAX_ENTRIES`` entries an IFD, so a hostile EXIF block ends in :class:`ExifError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from verifier.claim._errors import ClaimError

__all__ = ["TAGS", "ExifError", "ExifTags", "read_exif", "user_comment"]

MAX_ENTRIES = 512
EXIF_IFD = 0x8769
TAGS = {
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0112: "Orientation",
    0x0131: "Software",
    0x0132: "DateTime",
    0x013B: "Artist",
    0x9003: "DateTimeOriginal",
    0x9286: "UserComment",
    0x9C9C: "XPComment",
    0xA002: "PixelXDimension",
    0xA003: "PixelYDimension",
}
_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 9: 4}  # BYTE ASCII SHORT LONG UNDEFINED SLONG


class ExifError(ClaimError):
    """EXIF bytes that are not a readable TIFF structure (the message says where)."""


@dataclass(frozen=True, slots=True)
class ExifTags:
    """The decoded tags by name: text for ASCII, bytes for UNDEFINED, int for numbers."""

    values: dict[str, str | bytes | int]


def read_exif(tiff: bytes) -> ExifTags:
    if len(tiff) < 8:
        raise ExifError(f"EXIF data is {len(tiff)} bytes; a TIFF header needs 8")
    order = tiff[:2]
    if order not in (b"II", b"MM"):
        raise ExifError(f"EXIF byte order is {order!r}, expected b'II' or b'MM'")
    e = "<" if order == b"II" else ">"
    (magic, ifd0) = struct.unpack(e + "HI", tiff[2:8])
    if magic != 42:
        raise ExifError(f"EXIF TIFF magic is {magic}, expected 42")
    values: dict[str, str | bytes | int] = {}
    sub = _ifd(tiff, e, ifd0, values)
    if sub is not None:
        _ifd(tiff, e, sub, values)
    return ExifTags(values)


def _ifd(tiff: bytes, e: str, offset: int, values: dict[str, str | bytes | int]) -> int | None:
    if offset + 2 > len(tiff):
        raise ExifError(f"EXIF IFD offset {offset} is past the end ({len(tiff)} bytes)")
    (count,) = struct.unpack(e + "H", tiff[offset : offset + 2])
    if count > MAX_ENTRIES or offset + 2 + 12 * count > len(tiff):
        raise ExifError(f"EXIF IFD at {offset} claims {count} entries; the data ends first")
    sub = None
    for k in range(count):
        at = offset + 2 + 12 * k
        tag, typ, n = struct.unpack(e + "HHI", tiff[at : at + 8])
        if tag == EXIF_IFD and typ in (4, 13):
            (sub,) = struct.unpack(e + "I", tiff[at + 8 : at + 12])
            if sub == offset:
                sub = None  # an IFD that names itself: read once
            continue
        name = TAGS.get(tag)
        if name is None or typ not in _SIZES:
            continue
        size = _SIZES[typ] * n
        if size <= 4:
            raw = tiff[at + 8 : at + 8 + size]
        else:
            (where,) = struct.unpack(e + "I", tiff[at + 8 : at + 12])
            if where + size > len(tiff):
                raise ExifError(
                    f"EXIF tag {name} points to bytes {where}..{where + size}, past the end "
                    f"({len(tiff)} bytes)"
                )
            raw = tiff[where : where + size]
        if typ == 2:
            values[name] = raw.split(b"\x00", 1)[0].decode("utf-8", "replace").strip()
        elif typ in (1, 7):
            values[name] = raw
        elif n >= 1:
            fmt = {3: "H", 4: "I", 9: "i"}[typ]
            values[name] = struct.unpack(e + fmt, raw[: _SIZES[typ]])[0]
    return sub


def user_comment(raw: bytes) -> str:
    """The text of an EXIF UserComment: an 8-byte character-code prefix, then the text."""
    code, text = raw[:8], raw[8:]
    if code.startswith(b"UNICODE"):
        if text[:2] == b"\xff\xfe":
            return text[2:].decode("utf-16-le", "replace").rstrip("\x00")
        if text[:2] == b"\xfe\xff":
            return text[2:].decode("utf-16-be", "replace").rstrip("\x00")
        # No BOM: writers disagree (the TIFF byte order or big-endian); the JSON label
        # starts with '{', which tells which one it is.
        le = text.decode("utf-16-le", "replace")
        be = text.decode("utf-16-be", "replace")
        return (
            le if le.lstrip().startswith("{") or not be.lstrip().startswith("{") else be
        ).rstrip("\x00")
    if code.startswith((b"ASCII", b"\x00\x00\x00\x00\x00\x00\x00\x00", b"JIS")):
        return text.decode("utf-8", "replace").rstrip("\x00").strip()
    return raw.decode("utf-8", "replace").rstrip("\x00").strip()  # no prefix at all
