"""A clip as one playable file: the init section followed by its segments, streamed from
the blob store with HTTP byte ranges (RFC 9110 section 14), never loaded whole.

The bytes served are what an evidence bundle's ``clip.mp4`` holds: the sealed blobs in
order on the clip's own timeline (:mod:`verifier.timeline`: each fragment's decode time
less the clip's start in the run, the leading empty edit 0), so a player shows 0 to the
clip's length, and a player and a verifier see the same file.
"""

from __future__ import annotations

import re
import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BufferedReader
from itertools import accumulate

from packseal.web._http import WebError
from storage import BlobMissingError, ClipRow, PacksealError, SegmentRow, Store
from storage.entries import Clip, parse_as
from verifier.timeline import Timeline, rebase, timeline_of

CHUNK = 512 * 1024  # fewer thread hand-offs per response than 64 KiB, still small in memory
_RANGE_SPEC = re.compile(r"(\d{0,18})-(\d{0,18})")  # 18 digits: up to an exabyte


# The bytes of a part that rebasing may change: the whole init section (~1 kB), a
# fragment's styp + moof (~350 bytes for 30 frames). A part's first bytes are read this far.
HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class ClipMedia:
    parts: tuple[str, ...]  # the blobs' SHA-256, init first
    offsets: tuple[int, ...]  # start of each part in the whole file
    size: int
    open: Callable[[str], BufferedReader]  # a part's bytes by SHA-256 (Store.open_blob)
    timeline: Timeline | None = None  # None: the sealed bytes as they are

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start..end`` (inclusive), in chunks, opening each part only when reached."""
        part = bisect_right(self.offsets, start) - 1
        pos = start
        while pos <= end and part < len(self.parts):
            part_start = self.offsets[part]
            part_end = self.offsets[part + 1] if part + 1 < len(self.offsets) else self.size
            with self.open(self.parts[part]) as f:
                if self.timeline is not None and pos - part_start < HEAD:
                    head = rebase(f.read(min(HEAD, part_end - part_start)), self.timeline)
                    data = head[pos - part_start : end + 1 - part_start]
                    pos += len(data)
                    yield data
                f.seek(pos - part_start)
                while pos <= end and pos < part_end:
                    data = f.read(min(CHUNK, end + 1 - pos, part_end - pos))
                    if not data:
                        raise OSError(f"blob {self.parts[part]} is shorter than when it was sealed")
                    pos += len(data)
                    yield data
            part += 1


def view_of(row: ClipRow, view: str | None) -> str | None:
    """The view ``view`` names (``None``: the primary), or 404 if the clip has no such."""
    if view is None:
        return row.views[0] if row.views else None
    if view not in row.views:
        shown = ", ".join(row.views) if row.views else "one unnamed view"
        raise WebError(
            404,
            f"clip {row.clip_id} has no view {view[:32]!r} (it has {shown})",
            hint="leave out ?view= for the clip's first camera",
        )
    return view


def view_segments(
    store: Store, row: ClipRow, view: str, entry: Clip | None = None
) -> list[SegmentRow]:
    """The index rows of one view's segments in a clip (``entry``: its parsed entry)."""
    # Segment numbers are station-wide, so a view's are not consecutive: which are this
    # view's comes from the signed entry, each looked up by number in the index.
    entry = parse_as(Clip, store.entry(row.idx)) if entry is None else entry
    part = next(v for v in entry.all_views() if v.view == view)
    wanted = {r.seq for r in part.segments}
    rows = store.view_segments(view, part.segments[0].seq, part.segments[-1].seq)
    found = [r for r in rows if r.seq in wanted]
    if len(found) != len(part.segments):
        raise WebError(
            410,
            f"view {view} of clip {row.clip_id} lists {len(part.segments)} segments, the index "
            f"has {len(found)}",
            hint="run an audit (audit page) to see what is missing",
        )
    return found


def clip_media(store: Store, row: ClipRow, view: str | None = None) -> ClipMedia:
    """The playable file of one view of a clip (``view``: ``None`` for its first camera)."""
    name = view_of(row, view)
    if name is None:
        segments = store.segments(row.first_seq, row.last_seq)
        if len(segments) != row.segment_count:
            raise WebError(
                410,
                f"clip {row.clip_id} lists {row.segment_count} segments, the index has "
                f"{len(segments)}",
                hint="run an audit (audit page) to see what is missing",
            )
    else:
        segments = view_segments(store, row, name)
    hashes = [segments[0].init, *(s.sha256 for s in segments)]
    sizes: list[int] = []
    for number, sha in enumerate(hashes):
        try:
            length = store.blob_size(sha)
        except BlobMissingError:
            what = "init section" if number == 0 else f"segment {segments[number - 1].seq}"
            purged = store.blob_purged(sha)
            raise WebError(
                410,
                f"the {what} of clip {row.clip_id} is not in the blob store"
                + (" (deleted by the retention policy)" if purged else ""),
                hint="its hash is still in the log; an audit tells a policy deletion from a "
                "missing file",
            ) from None
        sizes.append(length)
    offsets = (0, *accumulate(sizes[:-1]))
    try:
        with store.open_blob(hashes[0]) as init, store.open_blob(hashes[1]) as first:
            timeline = timeline_of(init.read(HEAD), first.read(HEAD))
    except (OSError, PacksealError) as e:
        raise WebError(
            500,
            f"clip {row.clip_id}: its init section and first segment do not give its timeline: {e}",
            hint="run an audit (audit page): the stored footage may be damaged",
        ) from None
    return ClipMedia(tuple(hashes), offsets, sum(sizes), store.open_blob, timeline)


# More ranges in one request are refused: RFC 9110 section 14.2 warns that many small
# ranges cost a server far more than they save anyone.
MAX_RANGES = 32


def _one_range(spec: str, size: int) -> tuple[int, int] | None:
    """One range-spec, inclusive; ``None`` if it is well formed but unsatisfiable."""
    match = _RANGE_SPEC.fullmatch(spec.strip())
    if match is None:
        raise WebError(
            416,
            "each range must look like 0-1023, 1024- or -500 "
            f"(Range: bytes=0-1023 or bytes=0-99,200-299), found {spec.strip()[:40]!r}",
            hint="ask for byte ranges of the clip",
            headers={"Content-Range": f"bytes */{size}"},
        )
    first, last = match.groups()
    if not first and not last:
        raise WebError(416, "bytes=- names no bytes", headers={"Content-Range": f"bytes */{size}"})
    if not first:  # a suffix: the last N bytes
        n = int(last)
        return None if n == 0 or size == 0 else (max(0, size - n), size - 1)
    start = int(first)
    if last and int(last) < start:
        raise WebError(
            416,
            f"range end {last} is before its start {start}",
            headers={"Content-Range": f"bytes */{size}"},
        )
    if start >= size:
        return None
    return start, size - 1 if not last else min(int(last), size - 1)


def parse_ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """The byte ranges asked for, inclusive, sorted and coalesced; ``None`` without a
    Range header.

    RFC 9110 section 14: ranges that start beyond the end are dropped; if none is left the
    answer is 416 with the size. Overlapping or adjacent ranges are merged (section 14.3
    allows it), so one range left means a plain 206 and several mean multipart/byteranges.
    A malformed header is a 416 too, rather than silently the whole file.
    """
    if header is None:
        return None
    unsatisfiable = {"Content-Range": f"bytes */{size}"}
    unit, _, specs = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not _:
        raise WebError(
            416,
            "the Range header must name bytes, such as bytes=0-1023 or bytes=0-99,200-299",
            hint="ask for byte ranges of the clip",
            headers=unsatisfiable,
        )
    parts = specs.split(",")
    if len(parts) > MAX_RANGES:
        raise WebError(
            416,
            f"at most {MAX_RANGES} ranges per request, found {len(parts)}",
            hint="ask for fewer, larger ranges",
            headers=unsatisfiable,
        )
    wanted = sorted(r for r in (_one_range(p, size) for p in parts) if r is not None)
    if not wanted:
        raise WebError(
            416,
            f"the range asked for starts beyond the end of the {size}-byte clip"
            if len(parts) == 1
            else f"every range asked for starts beyond the end of the {size}-byte clip",
            hint=f"valid byte positions are 0 to {size - 1}" if size else "the clip is empty",
            headers=unsatisfiable,
        )
    merged = [wanted[0]]
    for start, end in wanted[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end + 1:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


@dataclass(frozen=True, slots=True)
class ByteRanges:
    """A multipart/byteranges body (RFC 9110 section 14.6) over several ranges of a clip."""

    media: ClipMedia
    ranges: tuple[tuple[int, int], ...]
    part_type: str
    boundary: str

    @property
    def content_type(self) -> str:
        return f"multipart/byteranges; boundary={self.boundary}"

    def _head(self, start: int, end: int) -> bytes:
        return (
            f"\r\n--{self.boundary}\r\nContent-Type: {self.part_type}\r\n"
            f"Content-Range: bytes {start}-{end}/{self.media.size}\r\n\r\n"
        ).encode()

    def _tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def length(self) -> int:
        return sum(len(self._head(s, e)) + e - s + 1 for s, e in self.ranges) + len(self._tail())

    def read(self) -> Iterator[bytes]:
        for start, end in self.ranges:
            yield self._head(start, end)
            yield from self.media.read(start, end)
        yield self._tail()


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

    def get(self, store: Store, row: ClipRow, view: str | None = None) -> ClipMedia:
        now = time.monotonic()
        key = f"{row.clip_id}/{view_of(row, view) or ''}"
        with self._lock:
            found = self._items.get(key)
            if found is not None and now - found[0] < self.ttl_s:
                self._items.move_to_end(key)
                return found[1]
        media = clip_media(store, row, view)
        with self._lock:
            self._items[key] = (now, media)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return media
