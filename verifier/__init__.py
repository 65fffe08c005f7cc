"""packseal's checks: fMP4 parsing, bundles, offline verification, store audit, replay,
evidence sheets and derived copies.

The public API is :data:`__all__`. Verifying a bundle or auditing a store needs neither
OpenCV nor ffmpeg: the names that bring them in (replay, derived copies, the sheet) are
imported on first use, so ``from verifier import verify_bundle`` works on a reviewer's
machine that has only ``pip install packseal``.

Errors (one tree, rooted at :class:`storage.PacksealError`; see ``verifier/_errors.py``)::

    PacksealError (storage)
    ├── VerificationError (storage)       a check failed: exit 1
    │   ├── NotVerified                   a bundle or store failed named checks
    │   │                                 (``report`` holds every check and its result)
    │   └── C2paCheckError                Content Credentials that do not verify
    │                                     (becomes a failed ``c2pa`` check)
    └── VerifierError                     the input cannot be checked: exit 2
        ├── MediaFormatError              a clip that is not exactly init + whole fMP4
        │                                 fragments (``offset`` and ``box`` say where)
        ├── BundleError                   not a readable zip, not a packseal bundle, or
        │   │                             another format version
        │   └── MemberError               one member cannot be read within its limits
        │                                 (becomes a failed ``zip`` check)
        ├── C2paUnavailable               c2pa-python is not installed
        └── ClaimError                    a claim check that cannot be made
            │                             (verifier.claim, imported on its own)
            ├── ClaimPhotoError           a claim photo not readable within the limits
            └── ExifError                 an EXIF block that is not TIFF (internal: it
                                          becomes an "unreadable" finding)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.lazy import lazy_attributes as _lazy_attributes
from verifier._errors import BundleError, MediaFormatError, NotVerified, VerifierError
from verifier.audit import AuditReport, Severity, audit_store
from verifier.bundle import BundleSummary, ExportPolicy, ExportResult, export_bundle
from verifier.c2pa import C2paCheckError, C2paUnavailable
from verifier.verify import CHECKS, Check, Facts, Report, Verified, verify_bundle

if TYPE_CHECKING:
    from verifier.derive import DerivedCopy, derive_copy
    from verifier.replay import (
        Replay,
        init_verdict,
        load_clip,
        replay,
        segment_verdicts,
        write_keyframes,
    )
    from verifier.sheet import Sheet, SheetFacts, make_sheet

# Name -> module, for the names that import OpenCV or ffmpeg: loaded by __getattr__ on use.
_LAZY = {
    "DerivedCopy": "verifier.derive",
    "derive_copy": "verifier.derive",
    "Replay": "verifier.replay",
    "init_verdict": "verifier.replay",
    "load_clip": "verifier.replay",
    "replay": "verifier.replay",
    "segment_verdicts": "verifier.replay",
    "write_keyframes": "verifier.replay",
    "Sheet": "verifier.sheet",
    "SheetFacts": "verifier.sheet",
    "make_sheet": "verifier.sheet",
}


__getattr__ = _lazy_attributes("verifier", _LAZY, globals())


__all__ = [
    "CHECKS",
    "AuditReport",
    "BundleError",
    "BundleSummary",
    "C2paCheckError",
    "C2paUnavailable",
    "Check",
    "DerivedCopy",
    "ExportPolicy",
    "ExportResult",
    "Facts",
    "MediaFormatError",
    "NotVerified",
    "Replay",
    "Report",
    "Severity",
    "Sheet",
    "SheetFacts",
    "Verified",
    "VerifierError",
    "audit_store",
    "derive_copy",
    "export_bundle",
    "init_verdict",
    "load_clip",
    "make_sheet",
    "replay",
    "segment_verdicts",
    "verify_bundle",
    "write_keyframes",
]
