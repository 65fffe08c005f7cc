"""The bundle format's members (``packseal-bundle/v1``): their names, which are required,
which optional, and how large a reader lets each be.

The format's facts live here, with the manifest's (:mod:`verifier._manifest`): the exporter
(:mod:`verifier.bundle`) writes these members and the verifier reads them, and neither
takes them from the other.
"""

from __future__ import annotations

import re

from storage.entries import ClipView, is_view_name
from verifier._manifest import FORMAT

__all__ = [
    "C2PA_CLIP",
    "CAPS",
    "CLAIM_JSON",
    "CLAIM_MEMBERS",
    "CLAIM_PDF",
    "CLAIM_PNG",
    "CLAIM_STRIPS",
    "CLIP",
    "CLIP_ENTRY",
    "CLIP_PROOF",
    "DERIVED",
    "FORMAT",
    "KEY_ENTRY",
    "KEY_PROOF",
    "MANIFEST",
    "MAX_CLAIM_PHOTOS",
    "MAX_VIDEO_BYTES",
    "OPTIONAL",
    "README",
    "REQUIRED",
    "SHEET_PDF",
    "SHEET_PNG",
    "STAMP_REQUEST",
    "STAMP_RESPONSE",
    "SUMS",
    "VIDEOS",
    "VIEW_MEMBER",
    "caps_for",
    "view_member",
    "view_of",
    "view_span",
]

README = "README.txt"
MANIFEST = "manifest.json"
CLIP_ENTRY = "entries/clip.json"
CLIP_PROOF = "entries/clip.proof"
KEY_ENTRY = "entries/station-key.json"
KEY_PROOF = "entries/station-key.proof"
SHEET_PNG = "sheet.png"
SHEET_PDF = "sheet.pdf"
SUMS = "SHA256SUMS"
CLIP = "clip.mp4"
DERIVED = "derived.mp4"
STAMP_REQUEST = "entries/checkpoint.tsq"
STAMP_RESPONSE = "entries/checkpoint.tsr"
C2PA_CLIP = "clip.c2pa.mp4"
# The claim section, when the merchant adds a claim check's report (packseal-claim/v1):
# its JSON, its one page, and one annotated strip per claim photo (at most 8, as a
# claim check takes). A report for people; verify checks what it cites (verifier/_claim_section.py).
CLAIM_JSON = "claim/claim.json"
CLAIM_PNG = "claim/claim.png"
CLAIM_PDF = "claim/claim.pdf"
MAX_CLAIM_PHOTOS = 8
CLAIM_STRIPS = tuple(f"claim/claim-{n}.png" for n in range(1, MAX_CLAIM_PHOTOS + 1))
CLAIM_MEMBERS = (CLAIM_JSON, CLAIM_PNG, CLAIM_PDF, *CLAIM_STRIPS)
OPTIONAL = (STAMP_REQUEST, STAMP_RESPONSE, C2PA_CLIP, *CLAIM_MEMBERS)
REQUIRED = (
    README,
    MANIFEST,
    CLIP_ENTRY,
    CLIP_PROOF,
    KEY_ENTRY,
    KEY_PROOF,
    SHEET_PNG,
    SHEET_PDF,
    SUMS,
)
VIDEOS = (CLIP, DERIVED)
# Per-member caps for readers; the video's covers a 4-hour 1080p clip (max_seconds) 5x over.
MAX_VIDEO_BYTES = 16 << 30
CAPS = {
    README: 8 << 20,
    MANIFEST: 1 << 20,
    CLIP_ENTRY: 4 << 20,
    KEY_ENTRY: 64 << 10,
    CLIP_PROOF: 64 << 10,
    KEY_PROOF: 64 << 10,
    SHEET_PNG: 16 << 20,
    SHEET_PDF: 16 << 20,
    SUMS: 64 << 10,
    CLIP: MAX_VIDEO_BYTES,
    DERIVED: MAX_VIDEO_BYTES,
    STAMP_REQUEST: 64 << 10,
    STAMP_RESPONSE: 64 << 10,
    C2PA_CLIP: MAX_VIDEO_BYTES + (16 << 20),  # the clip plus its manifest store
    CLAIM_JSON: 4 << 20,
    CLAIM_PNG: 16 << 20,
    CLAIM_PDF: 16 << 20,
    **dict.fromkeys(CLAIM_STRIPS, 16 << 20),
}

# A clip filmed by several cameras: the primary view is CLIP; each further view its own
# file, clip.<view>.mp4 (the view names of storage.entries; "c2pa" is reserved for
# C2PA_CLIP), under the same cap as CLIP.
VIEW_MEMBER = re.compile(r"clip\.([a-z0-9][a-z0-9-]{0,15})\.mp4")


def view_member(view: str) -> str:
    """The member of a further view's video."""
    return f"clip.{view}.mp4"


def view_of(name: str) -> str | None:
    """The view whose video member ``name`` is, or None for any other name."""
    found = VIEW_MEMBER.fullmatch(name)
    return found[1] if found is not None and is_view_name(found[1]) else None


def caps_for(names: list[str]) -> dict[str, int]:
    """:data:`CAPS`, with each further view's video among ``names`` capped as a video."""
    return {**CAPS, **{n: MAX_VIDEO_BYTES for n in names if view_of(n) is not None}}


def view_span(view: ClipView, primary: ClipView, first: int, last: int) -> tuple[int, int]:
    """Positions (inclusive) of a further view's segments that a bundle carries beside
    the primary's ``first..last``: every one for the whole clip; for an excerpt, those
    overlapping the primary's span (the nearest one if none does). The exporter and the
    verifier both take the range from here, so a view cannot show another stretch."""
    n = len(view.segments)
    if (first, last) == (0, len(primary.segments) - 1):
        return 0, n - 1
    lo, hi = primary.segments[first].start, primary.segments[last].end
    chosen = [i for i, s in enumerate(view.segments) if s.end > lo and s.start < hi]
    if not chosen:
        k = min(range(n), key=lambda i: abs(view.segments[i].start - lo))
        return k, k
    return chosen[0], chosen[-1]
