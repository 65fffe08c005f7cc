"""packseal's evidence store and its formats (the bottom layer: imports nothing of packseal).

Formats and math are pure (:mod:`canonical`, :mod:`merkle`, :mod:`note`,
:mod:`checkpoint`, :mod:`entries`, :mod:`trust`); the store keeps them durable
(:mod:`log` on SQLAlchemy, :mod:`blobs` on files, :mod:`store` composing both).
"""

from storage._errors import (
    BlobError,
    BlobHashError,
    BlobMissingError,
    DiskFullError,
    FormatError,
    KeyFileError,
    LogIntegrityError,
    LogStateError,
    PacksealError,
    ProofError,
    SignatureError,
    StorageError,
    VerificationError,
)
from storage._figures import StationActivity, StoreFigures
from storage._rows import ClipQuery, ClipRow, SegmentRow
from storage.anchors import Anchors, StoredStamp
from storage.blobs import BlobInfo, Blobs, BlobStore
from storage.checkpoint import Checkpoint, SignedCheckpoint, TlogProof, open_checkpoint
from storage.entries import (
    Clip,
    ClipView,
    Entry,
    Gap,
    KeyRevocation,
    Purge,
    Scan,
    Segment,
    SegmentRef,
    StationKey,
    Video,
)
from storage.footage import FootageSource
from storage.keys import generate_key_file, load_private_key, load_signer
from storage.log import Appended, Log, StoredCheckpoint
from storage.note import Ed25519Signer, Ed25519Verifier
from storage.store import Store
from storage.trust import TrustedLog, TrustedWitness, TrustFile
from storage.writer import StoreBusyError, WriterInfo, WriterLock

__all__ = [
    "Anchors",
    "Appended",
    "BlobError",
    "BlobHashError",
    "BlobInfo",
    "BlobMissingError",
    "BlobStore",
    "Blobs",
    "Checkpoint",
    "Clip",
    "ClipQuery",
    "ClipRow",
    "ClipView",
    "DiskFullError",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Entry",
    "FootageSource",
    "FormatError",
    "Gap",
    "KeyFileError",
    "KeyRevocation",
    "Log",
    "LogIntegrityError",
    "LogStateError",
    "PacksealError",
    "ProofError",
    "Purge",
    "Scan",
    "Segment",
    "SegmentRef",
    "SegmentRow",
    "SignatureError",
    "SignedCheckpoint",
    "StationActivity",
    "StationKey",
    "StorageError",
    "Store",
    "StoreBusyError",
    "StoreFigures",
    "StoredCheckpoint",
    "StoredStamp",
    "TlogProof",
    "TrustFile",
    "TrustedLog",
    "TrustedWitness",
    "VerificationError",
    "Video",
    "WriterInfo",
    "WriterLock",
    "generate_key_file",
    "load_private_key",
    "load_signer",
    "open_checkpoint",
]
