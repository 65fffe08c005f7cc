"""The exception tree of the verifier.

::

    PacksealError (storage)
    └── VerifierError
        └── MediaFormatError     a clip that is not exactly init + whole fMP4 fragments
                                 (``offset`` and ``box`` say where and what)

Caller mistakes (wrong types, impossible arguments) raise ``ValueError`` / ``TypeError``.
"""

from __future__ import annotations

from storage import PacksealError


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
