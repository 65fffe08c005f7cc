"""The exception tree of the verifier.

::

    PacksealError (storage)
    ├── VerificationError (storage)       a check failed: exit 1
    │   └── NotVerified                   a bundle or store failed named checks
    │                                     (``report`` holds every check and its result)
    └── VerifierError                     the input cannot be checked: exit 2
        ├── MediaFormatError              a clip that is not exactly init + whole fMP4
        │                                 fragments (``offset`` and ``box`` say where)
        └── BundleError                   not a readable zip, not a packseal bundle (no
                                          manifest.json), or another format version; an
                                          unsafe or incomplete zip (traversal, bomb,
                                          duplicate names, a member missing) is a failed
                                          ``zip`` check of NotVerified, so it is reported

Caller mistakes (wrong types, impossible arguments) raise ``ValueError`` / ``TypeError``.
"""

from __future__ import annotations

from typing import Any

from storage import PacksealError, VerificationError


class VerifierError(PacksealError):
    pass


class MediaFormatError(VerifierError):
    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        box: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.offset = offset
        self.box = box


class BundleError(VerifierError):
    pass


class NotVerified(VerificationError):
    """Verification ran and at least one named check failed; ``report`` says which."""

    def __init__(self, message: str, *, report: Any, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report
