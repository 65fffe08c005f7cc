"""A clip as one playable file: the init section followed by its segments, streamed from
the blob store with HTTP byte ranges (RFC 9110 section 14), never loaded whole.

The bytes served are exactly the sealed blobs in order, which is also what an evidence
bundle's ``clip.mp4`` holds, so a player and a verifier see the same file.
"""

from __future__ import annotations

import os
import re
import struct
import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from packseal.web._http import WebError
from storage import ClipRow, PacksealError, Store

CHUNK = 512 * 1024  # fewer thread hand-offs per response than 64 KiB, still small in memory
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")  # 18 digits: up to an exabyte


@dataclass(frozen=True, slots=True)
class ClipMedia:
    paths: tuple[Path, ...]
    offsets: tuple[int, ...]  # start of each part in the whole file
    size: int

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start..end`` (inclusive), in chunks, opening each part only when reached."""
        part = bisect_right(self.offsets, start) - 1
        pos = start
        while pos <= end and part < len(self.paths):
            part_start = self.offsets[part]
            part_end = self.offsets[part + 1] if part + 1 < len(self.offsets) else self.size
            with open(self.paths[part], "rb") as f:
                f.seek(pos - part_start)
                while pos <= end and pos < part_end:
                    data = f.read(min(CHUNK, end + 1 - pos, part_end - pos))
                    if not data:
                        raise OSError(f"{self.paths[part]} is shorter than when it was sealed")
                    pos += len(data)
                    yield data
            part += 1


def clip_media(store: Store, row: ClipRow) -> ClipMedia:
    segments = store.segments(row.first_seq, row.last_seq)
    if len(segments) != row.segment_count:
        raise WebError(
            410,
            f"clip {row.clip_id} lists {row.segment_count} segments, the index has {len(segments)}",
            hint="run an audit (audit page) to see what is missing",
        )
    hashes = [segments[0].init, *(s.sha256 for s in segments)]
    paths: list[Path] = []
    offsets: list[int] = []
    total = 0
    for number, sha in enumerate(hashes):
        path = store.blobs.path(sha)
        try:
            length = os.stat(path).st_size
        except FileNotFoundError:
            what = "init section" if number == 0 else f"segment {segments[number - 1].seq}"
            purged = store.blob_purged(sha)
            raise WebError(
                410,
                f"the {what} of clip {row.clip_id} is not in the blob store"
                + (" (deleted by the retention policy)" if purged else ""),
                hint="its hash is still in the log; an audit tells a policy deletion from a "
                "missing file",
            ) from None
        paths.append(path)
        offsets.append(total)
        total += length
    return ClipMedia(tuple(paths), tuple(offsets), total)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range asked for, inclusive; ``None`` without a Range header.

    Stricter than RFC 9110, which lets a server ignore a Range it does not like: a bad,
    multiple or unsatisfiable range is a 416 here, so a client never mistakes a whole
    file for the part it asked for.
    """
    if header is None:
        return None
    unsatisfiable = {"Content-Range": f"bytes */{size}"}
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise WebError(
            416,
            "the Range header must be one range such as bytes=0-1023, bytes=1024- or bytes=-500",
            hint="ask for one range per request",
            headers=unsatisfiable,
        )
    first, last = match.groups()
    if not first and not last:
        raise WebError(416, "bytes=- names no bytes", headers=unsatisfiable)
    if not first:  # a suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise WebError(416, "a suffix range of 0 bytes is empty", headers=unsatisfiable)
        return max(0, size - n), size - 1
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if last and int(last) < start:
        raise WebError(416, f"range end {last} is before its start {start}", headers=unsatisfiable)
    if start >= size:
        raise WebError(
            416,
            f"range start {start} is beyond the end of the {size}-byte clip",
            hint=f"valid byte positions are 0 to {size - 1}",
            headers=unsatisfiable,
        )
    return start, end


def media_start_seconds(init: Path, first_segment: Path) -> float | None:
    """Where the clip's video timeline starts, in seconds, as a player sees it.

    A clip is a range of segments of a continuous recording, so its first fragment keeps
    the decode time it had in that recording (``tfdt``): a clip cut 26 s into a run
    starts playing at 26 s. The page maps the player's clock to the clip's with this
    offset. ``None`` if the boxes are not where the recorder puts them.
    """
    from verifier.fmp4 import Box, iter_boxes

    def child(f: BinaryIO, parent: Box, kind: str) -> Box | None:
        return next(
            (
                b
                for b in iter_boxes(f, start=parent.offset + parent.header, end=parent.end)
                if b.type == kind
            ),
            None,
        )

    def path_to(f: BinaryIO, kinds: list[str]) -> Box | None:
        top = next((b for b in iter_boxes(f) if b.type == kinds[0]), None)
        for kind in kinds[1:]:
            if top is None:
                return None
            top = child(f, top, kind)
        return top

    try:
        with open(init, "rb") as f:
            mdhd = path_to(f, ["moov", "trak", "mdia", "mdhd"])
            if mdhd is None:
                return None
            f.seek(mdhd.offset + mdhd.header)
            head = f.read(32)
            version = head[0]
            (timescale,) = struct.unpack_from(">I", head, 20 if version == 1 else 12)
        with open(first_segment, "rb") as f:
            tfdt = path_to(f, ["moof", "traf", "tfdt"])
            if tfdt is None:
                return None
            f.seek(tfdt.offset + tfdt.header)
            head = f.read(12)
            if head[0] == 1:
                (decode,) = struct.unpack_from(">Q", head, 4)
            else:
                (decode,) = struct.unpack_from(">I", head, 4)
    except (OSError, ValueError, struct.error, PacksealError):
        return None
    return round(decode / timescale, 3) if timescale else None


class MediaCache:
    """Recently played clips' layouts (paths and sizes), for ``ttl_s`` seconds.

    A player asks for a clip in many ranges, one after another; a sealed clip's bytes
    never change, so its layout is looked up (one query, a stat per part) once per
    playback, not once per range. The short lifetime bounds how long a clip whose media
    retention deleted keeps its old layout: a read then fails and the connection closes.
    """

    def __init__(self, *, size: int = 128, ttl_s: float = 30.0) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self._items: OrderedDict[str, tuple[float, ClipMedia]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store, row: ClipRow) -> ClipMedia:
        now = time.monotonic()
        with self._lock:
            found = self._items.get(row.clip_id)
            if found is not None and now - found[0] < self.ttl_s:
                self._items.move_to_end(row.clip_id)
                return found[1]
        media = clip_media(store, row)
        with self._lock:
            self._items[row.clip_id] = (now, media)
            self._items.move_to_end(row.clip_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return media
