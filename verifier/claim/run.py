"""One claim check end to end: the order's sealed clip, the photos, the report files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from storage import Store
from storage.entries import Clip, parse_as
from verifier.claim._errors import ClaimPhotoError
from verifier.claim.check import ClaimReport, check_photos
from verifier.claim.footage import sealed_frames
from verifier.claim.photo import MAX_BYTES
from verifier.claim.report import ReportFiles, write_report

__all__ = ["check_claim", "read_limited"]


def read_limited(path: Path) -> bytes:
    """A photo file's bytes, refusing one over :data:`MAX_BYTES` before reading it."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ClaimPhotoError(
                f"{path} is {size} bytes; a claim photo may be at most {MAX_BYTES}",
                hint="send the photo as the buyer uploaded it (phone photos are 2-12 MB)",
            )
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise ClaimPhotoError(f"cannot read {path}: {e.strerror or e}") from e
    if len(data) > MAX_BYTES:  # grew while we looked
        raise ClaimPhotoError(f"{path} is larger than {MAX_BYTES} bytes")
    return data


def check_claim(
    store: Store,
    order_or_clip: str,
    photos: Sequence[tuple[str, bytes]],
    out_dir: Path,
    *,
    at_ms: int,
    listing: tuple[str, bytes] | None = None,
    c2pa_roots: str | None = None,
    merchant: str = "",
    zone: dt.tzinfo = dt.UTC,
    language: str = "en",
) -> tuple[ClaimReport, ReportFiles]:
    """Check ``photos`` against the newest sealed clip of ``order_or_clip`` (or that clip)
    and write the report into ``out_dir``."""
    if not photos:
        raise ValueError("a claim check needs at least one photo")
    row = store.find_clip(order_or_clip)
    clip = parse_as(Clip, store.entry(row.idx))
    report = check_photos(
        photos,
        lambda: sealed_frames(store, clip),
        listing=listing,
        c2pa_roots=c2pa_roots,
        at_ms=at_ms,
    )
    files = write_report(report, out_dir, merchant=merchant, zone=zone, language=language)
    return report, files
