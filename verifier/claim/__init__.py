"""The claim check: a buyer's damage photo held against its own labels and the sealed
footage of the order (issue 14).

It reports what was found, each finding with where it was found: AI-content labels
(GB 45438, IPTC, C2PA), generator traces, the file's own facts, and regions that differ
from the sealed packing frames. It never declares a photo fake, and a missing label
proves nothing (any re-encode strips them).

Layering: this package sits in ``verifier`` (it checks evidence against sealed media and
reads the store through ``Store``'s methods). ``verifier/__init__`` never imports it, and
it imports Pillow, numpy and OpenCV itself, so ``packseal verify`` still needs none of them.

Errors (rooted at :class:`storage.PacksealError`)::

    VerifierError (verifier)
    └── ClaimError                  the check cannot be made (e.g. no sealed footage)
        ├── ClaimPhotoError         a photo that cannot be read within the limits (size,
        │                           pixels, format, truncation, broken structure)
        └── ExifError               (internal) EXIF that is not TIFF: an "unreadable" finding
"""

from __future__ import annotations

from verifier.claim._errors import ClaimError, ClaimPhotoError
from verifier.claim.check import ClaimReport, PhotoResult
from verifier.claim.labels import AI_SOURCE_TYPES, TC260_NS, Finding, Signal
from verifier.claim.photo import MAX_BYTES, MAX_PIXELS, ClaimPhoto, read_photo
from verifier.claim.report import ReportFiles
from verifier.claim.run import check_claim, read_limited

__all__ = [
    "AI_SOURCE_TYPES",
    "MAX_BYTES",
    "MAX_PIXELS",
    "TC260_NS",
    "ClaimError",
    "ClaimPhoto",
    "ClaimPhotoError",
    "ClaimReport",
    "Finding",
    "PhotoResult",
    "ReportFiles",
    "Signal",
    "check_claim",
    "read_limited",
    "read_photo",
]
