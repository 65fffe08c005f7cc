"""The exception tree of packseal's storage layer.

::

    PacksealError                  root of every packseal failure (message + hint)
    └── StorageError
        ├── FormatError            bytes that are not the documented format
        │                          (canonical JSON, note, checkpoint, tlog-proof, entry)
        ├── VerificationError      well-formed, but a check failed
        │   ├── TimestampError     an RFC 3161 token that does not verify (timestamp.py)
        │   ├── SignatureError     no trusted signature, or a bad one from a known key
        │   ├── ProofError         an inclusion / consistency proof does not lead to the root
        │   └── LogIntegrityError  the stored log contradicts itself (`index` names where)
        ├── KeyFileError           a key file is missing, malformed or too readable
        ├── LogStateError          the operation does not fit the log (size, index, empty)
        ├── StoreBusyError         another process holds the store's writer lock
        │                          (defined in storage/writer.py beside the lock)
        ├── MirrorError            a push or blob the hub does not take (storage/mirror.py)
        │   ├── PushInvalid        not a well-formed push
        │   ├── PushRefused        from a station the hub does not know or trust
        │   ├── PushConflict       not at the size the hub holds (``size`` says which)
        │   ├── MirrorFork         inconsistent with what the hub holds (``proof``)
        │   ├── BlobNotNamed       a blob no mirrored entry names
        │   └── WitnessRefused     an add-checkpoint the hub does not cosign (``status``)
        ├── ObjectStoreUnavailable the S3 object store did not answer (storage/s3blobs.py)
        ├── BlobLockedError        an object under S3 Object Lock retention
        └── BlobError
            ├── BlobMissingError
            ├── BlobHashError      content does not hash to its address
            └── DiskFullError      no room to store a blob; nothing was stored

Caller mistakes (wrong types, impossible arguments) raise ``ValueError`` / ``TypeError``.
"""

from __future__ import annotations


class PacksealError(Exception):
    """A failure a user can act on: ``str(e)`` says what, ``e.hint`` says how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class StorageError(PacksealError):
    pass


class FormatError(StorageError):
    pass


class VerificationError(StorageError):
    pass


class SignatureError(VerificationError):
    pass


class ProofError(VerificationError):
    pass


class LogIntegrityError(VerificationError):
    def __init__(self, message: str, *, index: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.index = index


class KeyFileError(StorageError):
    pass


class LogStateError(StorageError):
    pass


class BlobError(StorageError):
    pass


class BlobMissingError(BlobError):
    pass


class BlobHashError(BlobError):
    pass


class DiskFullError(BlobError):
    pass
