"""The metadata carriers inside a JPEG, PNG or WebP file, found by walking its structure.

Pure functions over bytes: each carrier is returned with where it was found (the
segment or chunk and its byte offset), so every finding of the claim check can say
where it came from. Only the structure is read here (segment lengths, chunk lengths and
CRCs); what a carrier says is read by ``_labels``. Every length is checked against what is
left of the file, compressed text is inflated to at most ``MAX_TEXT`` bytes, and the
walk is a single forward pass, so hostile input ends in :class:`ClaimPhotoError` or in
a carrier marked unreadable, never in a loop or an unbounded allocation.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Literal

from verifier.claim._errors import ClaimPhotoError

__all__ = ["MAX_TEXT", "Carrier", "Layout", "pixels_only", "sniff", "walk"]

Format = Literal["JPEG", "PNG", "WEBP"]
Kind = Literal["xmp", "exif", "text", "c2pa", "comment", "iptc"]
MAX_TEXT = 1 << 20  # inflated zTXt/iTXt and assembled extended XMP: beyond is a bomb
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT = b"http://ns.adobe.com/xmp/extension/\x00"
_EXIF = b"Exif\x00\x00"
_HINT_TRUNCATED = "send the original file as the buyer uploaded it, not a partial download"


@dataclass(frozen=True, slots=True)
class Carrier:
    """One piece of metadata and where it sits in the file."""

    kind: Kind
    where: str  # "JPEG APP1 XMP at byte 20", "PNG tEXt 'parameters' at byte 33"
    data: bytes  # the payload: XMP text, TIFF bytes of EXIF, a text chunk's text
    key: str = ""  # a PNG text chunk's keyword
    error: str = ""  # set when the carrier is there but its bytes cannot be read


@dataclass(frozen=True, slots=True)
class Layout:
    format: Format
    carriers: tuple[Carrier, ...]
    end: int  # offset just past the image's last structure (EOI, IEND, RIFF size)
    trailing: int  # bytes after ``end``: another file glued on (a polyglot) or junk
    dqt: tuple[tuple[int, ...], ...] = ()  # JPEG quantisation tables, in file order
    # (start, end) of every metadata segment or chunk: what :func:`pixels_only` leaves out
    metadata: tuple[tuple[int, int], ...] = ()


def pixels_only(data: bytes, layout: Layout) -> bytes:
    """``data`` without its metadata segments/chunks and trailing bytes: what the image
    decoder gets. The metadata is read here, bounded; Pillow reading it again would
    bring its own limits and warnings (a zTXt bomb is a ValueError, a bad EXIF offset a
    warning) into decoding the picture."""
    out, pos = [], 0
    for start, end in layout.metadata:
        out.append(data[pos:start])
        pos = end
    out.append(data[pos : layout.end])
    return b"".join(out)


def sniff(data: bytes) -> Format:
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == PNG_SIGNATURE:
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise ClaimPhotoError(
        f"not a JPEG, PNG or WebP file (it starts with {data[:12].hex() or 'nothing'})",
        offset=0,
        hint="export the photo as JPEG or PNG keeping its metadata (a re-encode strips labels)",
    )


def walk(data: bytes) -> Layout:
    """The carriers of ``data``; raises :class:`ClaimPhotoError` if its structure breaks."""
    fmt = sniff(data)
    if fmt == "JPEG":
        return _jpeg(data)
    if fmt == "PNG":
        return _png(data)
    return _webp(data)


def _truncated(what: str, offset: int, need: int, have: int) -> ClaimPhotoError:
    return ClaimPhotoError(
        f"truncated file: {what} at byte {offset} needs {need} bytes, {have} are left",
        offset=offset,
        hint=_HINT_TRUNCATED,
    )


# -- JPEG ---------------------------------------------------------------------------------


def _jpeg(data: bytes) -> Layout:
    carriers: list[Carrier] = []
    extended: dict[bytes, dict[int, bytes]] = {}
    ext_where: dict[bytes, str] = {}
    dqt: list[tuple[int, ...]] = []
    metadata: list[tuple[int, int]] = []
    pos = 2
    n = len(data)
    while True:
        # Markers may be padded with any number of 0xFF bytes (T.81 B.1.1.2).
        while pos < n and data[pos] == 0xFF and pos + 1 < n and data[pos + 1] == 0xFF:
            pos += 1
        if pos + 2 > n:
            raise _truncated("a JPEG marker", pos, 2, n - pos)
        if data[pos] != 0xFF:
            raise ClaimPhotoError(
                f"broken JPEG: expected a marker (0xFF..) at byte {pos}, found 0x{data[pos]:02x}",
                offset=pos,
                hint=_HINT_TRUNCATED,
            )
        marker = data[pos + 1]
        if marker == 0xD9:  # EOI
            end = pos + 2
            break
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        if pos + 4 > n:
            raise _truncated(f"JPEG segment 0x{marker:02X}", pos, 4, n - pos)
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > n:
            raise _truncated(f"JPEG segment 0x{marker:02X}", pos, length + 2, n - pos)
        body = data[pos + 4 : pos + 2 + length]
        at = pos
        pos += 2 + length
        # APP0 (JFIF) and APP14 (Adobe: the colour transform) change how pixels decode.
        if (0xE1 <= marker <= 0xEF and marker != 0xEE) or marker == 0xFE:
            metadata.append((at, pos))
        if marker == 0xE1 and body.startswith(_EXIF):
            carriers.append(Carrier("exif", f"JPEG APP1 Exif at byte {at}", body[len(_EXIF) :]))
        elif marker == 0xE1 and body.startswith(_XMP):
            carriers.append(Carrier("xmp", f"JPEG APP1 XMP at byte {at}", body[len(_XMP) :]))
        elif marker == 0xE1 and body.startswith(_XMP_EXT) and len(body) >= len(_XMP_EXT) + 40:
            head = body[len(_XMP_EXT) :]
            guid, (_total, offset) = head[:32], struct.unpack(">II", head[32:40])
            extended.setdefault(guid, {})[offset] = head[40:]
            ext_where.setdefault(guid, f"JPEG APP1 extended XMP from byte {at}")
        elif marker == 0xEB and body[:2] == b"JP":
            if not any(c.kind == "c2pa" for c in carriers):
                carriers.append(Carrier("c2pa", f"JPEG APP11 JUMBF at byte {at}", b""))
        elif marker == 0xED and body.startswith(b"Photoshop 3.0\x00"):
            carriers.append(Carrier("iptc", f"JPEG APP13 Photoshop/IPTC at byte {at}", body))
        elif marker == 0xFE:
            carriers.append(Carrier("comment", f"JPEG COM at byte {at}", body))
        elif marker == 0xDB:
            dqt.extend(_dqt_tables(body))
        elif marker == 0xDA:
            pos = _skip_entropy(data, pos)
    for guid, parts in extended.items():
        joined = b"".join(parts[k] for k in sorted(parts))
        error = "" if len(joined) <= MAX_TEXT else f"larger than {MAX_TEXT} bytes"
        carriers.append(Carrier("xmp", ext_where[guid], joined[:MAX_TEXT], error=error))
    return Layout("JPEG", tuple(carriers), end, n - end, tuple(dqt), tuple(metadata))


def _skip_entropy(data: bytes, pos: int) -> int:
    """Offset of the first marker after entropy-coded data starting at ``pos``."""
    n = len(data)
    while True:
        i = data.find(b"\xff", pos)
        if i < 0 or i + 1 >= n:
            raise _truncated("JPEG scan data (no end-of-image marker)", pos, 2, n - pos)
        nxt = data[i + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            pos = i + 1 if nxt == 0xFF else i + 2
            continue
        return i


def _dqt_tables(body: bytes) -> list[tuple[int, ...]]:
    tables = []
    i = 0
    while i < len(body):
        precision = body[i] >> 4
        size = 128 if precision else 64
        raw = body[i + 1 : i + 1 + size]
        if len(raw) < size:
            break
        if precision:
            tables.append(struct.unpack(">64H", raw))
        else:
            tables.append(tuple(raw))
        i += 1 + size
    return tables


# -- PNG ----------------------------------------------------------------------------------


def _png(data: bytes) -> Layout:
    carriers: list[Carrier] = []
    metadata: list[tuple[int, int]] = []
    pos = 8
    n = len(data)
    while True:
        if pos + 8 > n:
            raise _truncated("a PNG chunk header (no IEND chunk)", pos, 8, n - pos)
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        if pos + 12 + length > n:
            raise _truncated(f"PNG chunk {ctype!r}", pos, 12 + length, n - pos)
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        at = pos
        pos += 12 + length
        name = ctype.decode("latin-1")
        if ctype == b"IEND":
            break
        if ctype not in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"caBX"):
            continue
        metadata.append((at, pos))
        where = f"PNG {name} at byte {at}"
        if zlib.crc32(ctype + body) != crc:
            carriers.append(Carrier("text", where, b"", error="CRC mismatch: the chunk is damaged"))
        elif ctype == b"eXIf":
            carriers.append(Carrier("exif", where, body))
        elif ctype == b"caBX":
            carriers.append(Carrier("c2pa", where, b""))
        else:
            carriers.append(_png_text(ctype, body, where))
    return Layout("PNG", tuple(carriers), pos, n - pos, (), tuple(metadata))


def _png_text(ctype: bytes, body: bytes, where: str) -> Carrier:
    key_raw, sep, rest = body.partition(b"\x00")
    key = key_raw[:79].decode("latin-1")
    where = f"{where[:8]} '{key}'{where[8:]}"  # "PNG tEXt 'AIGC' at byte 33"
    if not sep:
        return Carrier("text", where, b"", key, "no NUL after the keyword")
    if ctype == b"tEXt":
        return _text_carrier(where, key, rest)
    if ctype == b"zTXt":
        if not rest or rest[0] != 0:
            return Carrier("text", where, b"", key, "unknown compression method")
        return _inflated(where, key, rest[1:])
    if len(rest) < 2:  # iTXt: flag, method, language\0, translated keyword\0, text
        return Carrier("text", where, b"", key, "iTXt header cut short")
    compressed, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) < 3:
        return Carrier("text", where, b"", key, "iTXt header cut short")
    text = parts[2]
    kind: Kind = "xmp" if key == "XML:com.adobe.xmp" else "text"
    if compressed:
        if method != 0:
            return Carrier(kind, where, b"", key, "unknown compression method")
        inflated = _inflated(where, key, text)
        return Carrier(kind, where, inflated.data, key, inflated.error)
    return Carrier(kind, where, text, key)


def _text_carrier(where: str, key: str, text: bytes) -> Carrier:
    # tEXt is Latin-1 by the PNG spec, but generators write UTF-8 (the AIGC JSON, prompts).
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        decoded = text.decode("latin-1")
    return Carrier("text", where, decoded.encode("utf-8"), key)


def _inflated(where: str, key: str, raw: bytes) -> Carrier:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_TEXT)
    except zlib.error as e:
        return Carrier("text", where, b"", key, f"compressed text does not inflate: {e}")
    if inflater.unconsumed_tail:
        return Carrier("text", where, b"", key, f"inflates to more than {MAX_TEXT} bytes")
    return _text_carrier(where, key, out)


# -- WebP ---------------------------------------------------------------------------------


def _webp(data: bytes) -> Layout:
    carriers: list[Carrier] = []
    n = len(data)
    (riff,) = struct.unpack("<I", data[4:8])
    end = 8 + riff
    if end > n:
        raise _truncated("the WebP RIFF container", 0, end, n)
    pos = 12
    while pos + 8 <= end:
        fourcc, length = struct.unpack("<4sI", data[pos : pos + 8])
        if pos + 8 + length > end:
            raise _truncated(f"WebP chunk {fourcc!r}", pos, 8 + length, end - pos)
        body = data[pos + 8 : pos + 8 + length]
        where = f"WebP {fourcc.decode('latin-1').strip()} chunk at byte {pos}"
        if fourcc == b"EXIF":
            carriers.append(Carrier("exif", where, body.removeprefix(_EXIF)))
        elif fourcc == b"XMP ":
            carriers.append(Carrier("xmp", where, body))
        elif fourcc == b"C2PA":
            carriers.append(Carrier("c2pa", where, b""))
        pos += 8 + length + (length & 1)
    return Layout("WEBP", tuple(carriers), end, n - end)
