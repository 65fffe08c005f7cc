"""C2SP tlog-tiles of a stored log: hash tiles and entry bundles, from the stored tree.

A tile has height 8: the hash tile at level ``L``, index ``N`` holds the hashes of the
tree's nodes at Merkle level ``8 * L`` with indexes ``256 N .. 256 N + W - 1`` (``W`` =
256 for a full tile, fewer for the partial tile ``.p/W`` at the right edge of a tree of
a given size). Those are exactly rows of the log's ``nodes`` table (every perfect
subtree is stored), so a tile is one range scan. An entry bundle is each entry as a
big-endian uint16 length and its bytes. Paths: ``tile/<L>/<N>[.p/<W>]`` and
``tile/entries/<N>[.p/<W>]``, ``N`` in 3-digit groups with an ``x`` before all but the
last (``x001/x234/067``). Go's ``golang.org/x/mod/sumdb/tlog`` names hash tiles with the
height first (``tile/8/<L>/<N>``, ``tile/8/data/<N>``): both are read here.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from sqlalchemy import Engine, select

from storage._errors import FormatError, LogStateError
from storage._schema import entries, nodes

HEIGHT = 8
WIDTH = 1 << HEIGHT
_GROUPS = re.compile(r"((?:x\d{3}/)*)(\d{3})")


@dataclass(frozen=True, slots=True)
class TileRef:
    level: int | None  # None: an entry bundle
    index: int
    width: int  # 1..256; 256 is a full tile

    @property
    def partial(self) -> bool:
        return self.width < WIDTH


def encode_index(n: int) -> str:
    digits = f"{n:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def tile_path(ref: TileRef) -> str:
    level = "entries" if ref.level is None else str(ref.level)
    tail = f".p/{ref.width}" if ref.partial else ""
    return f"tile/{level}/{encode_index(ref.index)}{tail}"


def parse_tile_path(path: str) -> TileRef:
    """``tile/<L>/<N>[.p/<W>]``, ``tile/entries/<N>...`` or ``tile/8/<L>/<N>...``."""
    parts = path.removeprefix("tile/")
    if parts == path:
        raise FormatError(f"a tile path starts with tile/, found {path[:60]!r}")
    head, _, rest = parts.partition("/")
    if head == str(HEIGHT):
        second, _, rest2 = rest.partition("/")
        if (second.isdigit() or second == "data") and rest2:  # sumdb: tile/8/<L|data>/<N>
            head, rest = ("entries" if second == "data" else second), rest2
    if head == "entries":
        level: int | None = None
    elif head.isdigit() and len(head) <= 2:
        level = int(head)
    else:
        raise FormatError(f"tile level {head[:10]!r} is not a number or 'entries'")
    width = WIDTH
    if ".p/" in rest:
        rest, _, w = rest.partition(".p/")
        if not w.isdigit() or not 0 < int(w) < WIDTH or (len(w) > 1 and w[0] == "0"):
            raise FormatError(f"partial tile width {w[:10]!r} is not 1..255")
        width = int(w)
    m = _GROUPS.fullmatch(rest)
    if m is None:
        raise FormatError(f"tile index {rest[:40]!r} is not 3-digit groups (x001/234)")
    index = int(rest.replace("x", "").replace("/", ""))
    if encode_index(index) != rest:
        raise FormatError(f"tile index {rest[:40]!r} is not in its one canonical form")
    return TileRef(level, index, width)


def tile_width(ref: TileRef, size: int) -> int:
    """How many hashes (or entries) the tile ``ref`` has in a tree of ``size``; 0 if none."""
    level = 0 if ref.level is None else ref.level
    count = size >> (HEIGHT * level)
    return max(0, min(WIDTH, count - ref.index * WIDTH))


def read_tile(engine: Engine, log_id: int, size: int, ref: TileRef) -> bytes:
    """The tile's bytes in a tree of ``size`` (which the caller's checkpoint signs)."""
    have = tile_width(ref, size)
    if have < ref.width or (ref.partial and have != ref.width):
        raise LogStateError(
            f"{tile_path(ref)} is not a tile of the tree at size {size}",
            hint="fetch the checkpoint first; full tiles appear as the log grows",
        )
    lo = ref.index * WIDTH
    with engine.connect() as conn:
        if ref.level is None:
            rows = conn.execute(
                select(entries.c.data)
                .where(
                    entries.c.log_id == log_id,
                    entries.c.idx >= lo,
                    entries.c.idx < lo + ref.width,
                )
                .order_by(entries.c.idx)
            ).all()
            out = bytearray()
            for (data,) in rows:
                if len(data) > 0xFFFF:
                    raise LogStateError("an entry is larger than an entry bundle can carry")
                out += struct.pack(">H", len(data)) + bytes(data)
            count = len(rows)
        else:
            hashes = conn.execute(
                select(nodes.c.hash)
                .where(
                    nodes.c.log_id == log_id,
                    nodes.c.level == HEIGHT * ref.level,
                    nodes.c.idx >= lo,
                    nodes.c.idx < lo + ref.width,
                )
                .order_by(nodes.c.idx)
            ).scalars()
            out = bytearray(b"".join(bytes(h) for h in hashes))
            count = len(out) // 32
    if count != ref.width:
        raise LogStateError(f"{tile_path(ref)}: the store has {count} of {ref.width} rows")
    return bytes(out)


__all__ = [
    "HEIGHT",
    "WIDTH",
    "TileRef",
    "encode_index",
    "parse_tile_path",
    "read_tile",
    "tile_path",
    "tile_width",
]
