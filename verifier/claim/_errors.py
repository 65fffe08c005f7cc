"""The claim check's errors (see the tree in ``verifier/claim/__init__.py``)."""

from __future__ import annotations

from verifier._errors import VerifierError

__all__ = ["ClaimError", "ClaimPhotoError"]


class ClaimError(VerifierError):
    """A claim check that cannot be made (no usable footage, bad arguments at the edge)."""


class ClaimPhotoError(ClaimError):
    """A claim photo that cannot be read within the limits: not a JPEG/PNG/WebP, truncated,
    too large, too many pixels (a decompression bomb), or its structure is broken.
    ``offset`` says where in the file, when known."""

    def __init__(self, message: str, *, offset: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.offset = offset
