"""Candidate packing frames for a claim check: only from segments that re-hash to their
sealed values, each identified by clip, segment index, segment hash and capture time.

Each segment's bytes are read once, hashed in memory and decoded from that same copy,
so no byte that was not checked is shown (no gap between check and use). The init
section is checked the same way; without it nothing decodes. A segment that is missing,
purged or changed is skipped and named in :attr:`Footage.skipped`.
"""

from __future__ import annotations

import hashlib
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from storage import BlobMissingError, Store
from storage.entries import Clip
from verifier.claim._errors import ClaimError
from verifier.claim.compare import U8
from verifier.frames import decode_file

__all__ = ["PER_SEGMENT", "WORKERS", "Footage", "FootageFrame", "sealed_frames"]

PER_SEGMENT = 2  # frames looked at per 2 s segment: the product is shown for seconds
WORKERS = 2  # threads that decode segments and find features side by side (2 cores)


@dataclass(frozen=True, slots=True)
class FootageFrame:
    clip_id: str
    segment: int  # 1-based position in the clip ("segment 3 of 15")
    segments: int
    seq: int  # the segment's sequence number in the station's log
    sha256: str  # the segment's sealed hash, which its bytes re-hashed to
    t_ms: int  # capture time of this frame (from the signed entry)
    frame: int  # index of the frame inside its segment
    image: U8 = field(repr=False, compare=False)  # RGB

    def to_dict(self) -> dict[str, Any]:
        return {
            "clip_id": self.clip_id,
            "segment": self.segment,
            "segments": self.segments,
            "seq": self.seq,
            "segment_sha256": self.sha256,
            "t_ms": self.t_ms,
            "frame": self.frame,
        }


@dataclass(frozen=True, slots=True)
class Footage:
    clip: Clip
    frames: tuple[FootageFrame, ...]
    skipped: tuple[str, ...]  # "segment 4/15 (seq 812): sha256 mismatch", ...


def _read_checked(store: Store, sha256: str) -> bytes | str:
    """The blob's bytes if they hash to ``sha256``, else why not."""
    try:
        with store.open_blob(sha256) as f:
            data = f.read()
    except BlobMissingError:
        return "purged by retention" if store.blob_purged(sha256) else "missing"
    found = hashlib.sha256(data).hexdigest()
    return data if found == sha256 else f"sha256 mismatch (found {found[:16]}…)"


def sealed_frames(store: Store, clip: Clip, *, per_segment: int = PER_SEGMENT) -> Footage:
    """Frames sampled evenly from every segment of ``clip`` that re-hashes to its entry."""
    init = _read_checked(store, clip.init)
    if isinstance(init, str):
        raise ClaimError(
            f"clip {clip.clip_id}: its init section is {init}, so no sealed frame can be shown",
            hint="run `packseal replay` on the clip to see what happened to its footage",
        )
    counts = {r.seq: r.frames for r in store.segments(clip.segments[0].seq, clip.segments[-1].seq)}
    total = len(clip.segments)

    def decode(k: int, data: bytes, tmp: Path) -> list[FootageFrame]:
        ref = clip.segments[k]
        part = tmp / f"segment-{k}.mp4"
        part.write_bytes(init + data)
        n = max(1, counts.get(ref.seq, 1))
        wanted = sorted({(n * j) // per_segment for j in range(per_segment)})
        decoded = decode_file(part, wanted)
        part.unlink()
        out = []
        for i in wanted:
            if i not in decoded:
                continue
            t = ref.start - (-i * (ref.end - ref.start) // n)
            rgb = np.asarray(cv2.cvtColor(decoded[i], cv2.COLOR_BGR2RGB), np.uint8)
            out.append(FootageFrame(clip.clip_id, k + 1, total, ref.seq, ref.sha256, t, i, rgb))
        return out

    checked: list[tuple[int, bytes]] = []
    skipped: list[str] = []
    for k, ref in enumerate(clip.segments):  # the store is read from this thread only
        data = _read_checked(store, ref.sha256)
        if isinstance(data, str):
            skipped.append(f"segment {k + 1}/{total} (seq {ref.seq}): {data}")
        else:
            checked.append((k, data))
    frames: list[FootageFrame] = []
    # Segments decoded side by side (FFmpeg releases the GIL), each from the very bytes
    # that were hashed.
    with (
        tempfile.TemporaryDirectory(prefix="packseal-claim-") as tmp,
        ThreadPoolExecutor(WORKERS, "packseal-claim-decode") as pool,
    ):
        for got in pool.map(lambda kd: decode(kd[0], kd[1], Path(tmp)), checked):
            frames.extend(got)
    if not frames:
        raise ClaimError(
            f"clip {clip.clip_id}: none of its {total} segments re-hashes to its sealed value",
            hint="run `packseal replay` on the clip to see what happened to its footage",
        )
    return Footage(clip, tuple(frames), tuple(skipped))
