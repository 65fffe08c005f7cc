"""A clip's video for a bundle, from the blob store: the sealed bytes (for the sheet and a
derived copy) and the bundle's ``clip.mp4``, the same bytes on the clip's own timeline
(:mod:`verifier.timeline`), each blob checked against the entry as it is copied."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path

from storage import BlobHashError, BlobMissingError, Store
from storage.entries import Clip, ClipView, SegmentRef
from verifier._readme import Part
from verifier.timeline import Field, Timeline, decode_times, empty_edits, rebase, timeline_of

__all__ = ["Assembled", "assemble"]

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Assembled:
    parts: list[Part]  # offsets, lengths and signed hashes; the same in both files
    sealed_sha256: str  # of the sealed bytes (init + segments first..last)
    video_sha256: str  # of the bundle's clip.mp4
    timeline: Timeline


def assemble(
    store: Store,
    clip: Clip,
    first: int,
    last: int,
    sealed: Path,
    video: Path,
    progress: Callable[[int, int], None] | None = None,
    *,
    view: ClipView | None = None,
) -> Assembled:
    """Write init + segments first..last to ``sealed`` as recorded and to ``video`` rebased;
    ``progress(done, total)`` in parts (the init and each segment). ``view``: a further
    view's footage (default: the primary's); its positions and labels name the view."""
    footage = view or clip.all_views()[0]
    named = "" if view is None else f"view {view.view} "
    wanted: list[tuple[str, str, SegmentRef | None]] = [("init", footage.init, None)]
    wanted += [
        (f"segment {i + 1}", s.sha256, s)
        for i, s in enumerate(footage.segments)
        if first <= i <= last
    ]
    init = _read(store, clip, f"{named}init", footage.init)
    with _open(store, clip, named + wanted[1][0], wanted[1][1]) as f:
        timeline = timeline_of(init, f.read(_CHUNK))
    whole, shipped = hashlib.sha256(), hashlib.sha256()
    parts: list[Part] = []
    offset = 0
    buf = bytearray(_CHUNK)
    window = memoryview(buf)
    with open(sealed, "wb") as out, open(video, "wb") as out_video:
        for done, (label, sha, ref) in enumerate(wanted):
            if progress is not None:
                progress(done, len(wanted))
            part = hashlib.sha256()
            length = 0
            fields: list[Field] = []
            with _open(store, clip, named + label, sha) as src:
                while n := src.readinto(window):
                    data = window[:n]
                    part.update(data)
                    whole.update(data)
                    out.write(data)
                    if length == 0:  # the init is read whole; a fragment's moof is first
                        head = bytes(data)
                        fields = decode_times(head) if ref is not None else empty_edits(head)
                        rebased = rebase(head, timeline)
                        # What the README's by-hand check must put back: the sealed values.
                        fields = [f for f in fields if _differs(rebased, head, f)]
                        data = memoryview(rebased)
                    shipped.update(data)
                    out_video.write(data)
                    length += n
            if part.hexdigest() != sha:
                raise BlobHashError(
                    f"clip {clip.clip_id}: {named}{label}: sha256 expected {sha} (entry), found "
                    f"{part.hexdigest()} in the blob store",
                    hint="the stored footage was altered; run `packseal audit`",
                )
            parts.append(Part(label, offset, length, sha, ref, tuple(fields)))
            offset += length
    return Assembled(parts, whole.hexdigest(), shipped.hexdigest(), timeline)


def _differs(a: bytes, b: bytes, f: Field) -> bool:
    return a[f.at : f.at + f.width] != b[f.at : f.at + f.width]


def _open(store: Store, clip: Clip, label: str, sha: str) -> BufferedReader:
    try:
        return store.open_blob(sha)
    except BlobMissingError as e:
        purged = store.blob_purged(sha)
        raise BlobMissingError(
            f"clip {clip.clip_id}: {label} (sha256 {sha}) is not in the blob store"
            + (" (deleted by retention)" if purged else ""),
            hint="run `packseal audit` to see what else is missing"
            if not purged
            else "the footage was purged by the retention policy; it cannot be exported",
        ) from e


def _read(store: Store, clip: Clip, label: str, sha: str) -> bytes:
    with _open(store, clip, label, sha) as f:
        return f.read()
