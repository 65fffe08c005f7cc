"""The bundle format's members (``packseal-bundle/v1``): their names, which are required,
which optional, and how large a reader lets each be.

The format's facts live here, with the manifest's (:mod:`verifier._manifest`): the exporter
(:mod:`verifier.bundle`) writes these members and the verifier reads them, and neither
takes them from the other.
"""

from __future__ import annotations

from verifier._manifest import FORMAT

__all__ = [
    "C2PA_CLIP",
    "CAPS",
    "CLIP",
    "CLIP_ENTRY",
    "CLIP_PROOF",
    "DERIVED",
    "FORMAT",
    "KEY_ENTRY",
    "KEY_PROOF",
    "MANIFEST",
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
OPTIONAL = (STAMP_REQUEST, STAMP_RESPONSE, C2PA_CLIP)
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
}
