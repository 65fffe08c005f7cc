"""Re-hashing a stored clip: each segment's and the init section's verdict against the
clip entry, per camera view.

``verified`` (the stored bytes hash to the entry), ``mismatch`` (they do not),
``missing`` (deleted with no ``purge`` entry: tampering or loss) or ``purged`` (retention
deleted them and logged why). :mod:`verifier.replay` draws these verdicts into its
annotated copy; the merchant portal shows them. No OpenCV, no ffmpeg.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from storage import BlobMissingError, Store
from storage.entries import Clip, ClipView, parse_as

State = Literal["verified", "mismatch", "missing", "purged"]


@dataclass(frozen=True, slots=True)
class InitVerdict:
    """The run's init section (``ftyp`` + ``moov``): without it nothing decodes."""

    expected: str
    found: str | None
    state: State

    @property
    def ok(self) -> bool:
        return self.state == "verified"


@dataclass(frozen=True, slots=True)
class SegmentVerdict:
    number: int  # 1-based: "segment 3/15"
    total: int
    seq: int
    start_ms: int
    end_ms: int
    expected: str  # sha256 in the clip entry
    found: str | None  # sha256 of the stored bytes; None when they are gone
    state: State

    @property
    def ok(self) -> bool:
        return self.state == "verified"

    def banner(self) -> str:
        """The short form the replay's strip shows."""
        where = f"segment {self.number}/{self.total}"
        if self.state == "verified":
            return f"✓ {where} verified  ·  {self.expected[:8]}…"
        if self.state == "mismatch":
            return f"✗ {where} MISMATCH  ·  found {(self.found or '')[:8]}…"
        if self.state == "purged":
            return f"{where} purged by retention"
        return f"✗ {where} MISSING  ·  no purge entry"

    def describe(self) -> str:
        where = f"segment {self.number}/{self.total}"
        if self.state == "verified":
            return f"{where} verified ✓ (sha256 {self.expected[:16]}…)"
        if self.state == "mismatch":
            return (
                f"{where} MISMATCH ✗ (sha256 expected {self.expected[:16]}…, "
                f"found {(self.found or '')[:16]}…)"
            )
        if self.state == "purged":
            return f"{where} purged by retention (a purge entry is logged)"
        return f"{where} MISSING ✗ (deleted with no purge entry)"


def load_clip(store: Store, order_or_clip_id: str) -> Clip:
    """The clip entry with this id, else the newest clip of this order (as logged)."""
    row = store.find_clip(order_or_clip_id)
    return parse_as(Clip, store.entry(row.idx))


def _check(store: Store, sha256: str) -> tuple[State, str | None]:
    try:
        with store.open_blob(sha256) as f:
            found = hashlib.file_digest(f, "sha256").hexdigest()
    except BlobMissingError:
        return ("purged" if store.blob_purged(sha256) else "missing"), None
    return ("verified" if found == sha256 else "mismatch"), found


def clip_view(clip: Clip, view: str | None) -> ClipView:
    """One camera's footage of ``clip`` (``None``: the first camera's)."""
    views = clip.all_views()
    if view is None:
        return views[0]
    for part in views:
        if part.view == view:
            return part
    raise ValueError(f"clip {clip.clip_id} has no view {view!r} (it has {clip.view_names()})")


def init_verdict(
    store: Store,
    clip: Clip,
    segments: Sequence[SegmentVerdict] | None = None,
    *,
    view: str | None = None,
) -> InitVerdict:
    """The init section's verdict (of camera ``view``; ``None``: the first). Retention
    deletes an init section once no kept segment needs it, so a missing init whose
    ``segments`` were all purged is purged too."""
    init = clip_view(clip, view).init
    state, found = _check(store, init)
    if state == "missing" and segments and all(s.state == "purged" for s in segments):
        state = "purged"
    return InitVerdict(init, found, state)


def segment_verdicts(store: Store, clip: Clip, *, view: str | None = None) -> list[SegmentVerdict]:
    """Re-hash every stored segment of ``clip`` (of camera ``view``; ``None``: the first)
    against its entry, in order."""
    refs = clip_view(clip, view).segments
    out = []
    for k, ref in enumerate(refs):
        state, found = _check(store, ref.sha256)
        out.append(
            SegmentVerdict(k + 1, len(refs), ref.seq, ref.start, ref.end, ref.sha256, found, state)
        )
    return out
