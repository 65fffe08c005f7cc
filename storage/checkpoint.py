"""C2SP tlog-checkpoint bodies and tlog-proof files: strict text formats, no I/O.

A checkpoint body is ``<origin>\\n<size>\\n<base64 root>\\n`` plus optional extension
lines; it is the text of a signed note. A tlog-proof (``c2sp.org/tlog-proof@v1``) is::

    c2sp.org/tlog-proof@v1
    [extra <base64>]
    index <N>
    <base64 hash>            (one per line, the inclusion proof)
    <blank line>
    <signed checkpoint, verbatim>
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from storage import merkle, note
from storage._errors import FormatError, ProofError, SignatureError

PROOF_HEADER = "c2sp.org/tlog-proof@v1"
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
MAX_PROOF_HASHES = 128


def _b64_hash(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as e:
        raise FormatError(f"{what} is not base64: {text[:20]!r}") from e
    if len(raw) != merkle.HASH_SIZE or base64.b64encode(raw).decode() != text:
        raise FormatError(f"{what} must be the base64 of 32 bytes, found {len(raw)} bytes")
    return raw


def _decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise FormatError(f"{what} must be a decimal number without leading zeros, found {text!r}")
    value = int(text)
    if value >= 2**63:
        raise FormatError(f"{what} {value} is out of range")
    return value


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise ValueError(f"checkpoint origin must be one non-empty line, got {self.origin!r}")
        if len(self.root_hash) != merkle.HASH_SIZE:
            raise ValueError(f"root hash is {len(self.root_hash)} bytes, expected 32")
        if self.size < 0:
            raise ValueError("tree size is negative")

    def to_text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise FormatError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise FormatError(
                f"checkpoint needs origin, size and root lines, found {len(lines)} line(s)"
            )
        origin, size, root_b64, *ext = lines
        if not origin:
            raise FormatError("checkpoint origin line is empty")
        if any(not line for line in ext):
            raise FormatError("checkpoint extension lines must not be empty")
        return cls(
            origin, _decimal(size, "checkpoint size"), _b64_hash(root_b64, "root"), tuple(ext)
        )


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint whose note was verified against the given keys."""

    checkpoint: Checkpoint
    note: note.Note
    raw: bytes  # the signed note, verbatim


def sign_checkpoint(cp: Checkpoint, signer: note.NoteSigner) -> bytes:
    if cp.origin != signer.name:
        raise ValueError(
            f"checkpoint origin {cp.origin!r} must be the signer's name {signer.name!r}"
        )
    return note.sign(cp.to_text(), [signer])


def open_checkpoint(raw: bytes, verifiers: Iterable[note.NoteVerifier]) -> SignedCheckpoint:
    """Verify a signed checkpoint: a key named after its origin must have signed it.

    C2SP tlog-checkpoint: the origin is the log's identity and the log key has the same
    name, so a signature by any other trusted key does not make it this log's checkpoint.
    """
    text, _ = note.parse(raw)
    cp = Checkpoint.from_text(text)
    for_origin = [v for v in verifiers if v.name == cp.origin]
    if not for_origin:
        raise SignatureError(
            f"no trusted key for log origin {cp.origin!r}",
            hint="the trust file must list this origin with its verifier key",
        )
    opened = note.open_note(raw, for_origin)
    return SignedCheckpoint(cp, opened, raw)


@dataclass(frozen=True, slots=True)
class TlogProof:
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: bytes  # the signed checkpoint note, verbatim
    extra: bytes | None = None

    def to_bytes(self) -> bytes:
        lines = [PROOF_HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines.extend(base64.b64encode(h).decode() for h in self.hashes)
        return ("\n".join(lines) + "\n\n").encode() + self.checkpoint

    @classmethod
    def from_bytes(cls, data: bytes) -> TlogProof:
        head, sep, cp = data.partition(b"\n\n")
        if not sep:
            raise FormatError("tlog-proof has no blank line before its checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError as e:
            raise FormatError("tlog-proof header is not ASCII") from e
        if lines[0] != PROOF_HEADER:
            raise FormatError(
                f"tlog-proof must start with {PROOF_HEADER!r}, found {lines[0][:40]!r}"
            )
        pos = 1
        extra = None
        if pos < len(lines) and lines[pos].startswith("extra "):
            try:
                extra = base64.b64decode(lines[pos][6:], validate=True)
            except binascii.Error as e:
                raise FormatError("tlog-proof extra line is not base64") from e
            pos += 1
        if pos >= len(lines) or not lines[pos].startswith("index "):
            raise FormatError("tlog-proof has no 'index N' line")
        index = _decimal(lines[pos][6:], "tlog-proof index")
        hashes = tuple(_b64_hash(h, f"tlog-proof hash {i}") for i, h in enumerate(lines[pos + 1 :]))
        if len(hashes) > MAX_PROOF_HASHES:
            raise FormatError(f"tlog-proof has {len(hashes)} hashes, more than {MAX_PROOF_HASHES}")
        if not cp:
            raise FormatError("tlog-proof has no checkpoint after the blank line")
        return cls(index, hashes, cp, extra)

    def verify(self, entry: bytes, verifiers: Iterable[note.NoteVerifier]) -> SignedCheckpoint:
        """Check the checkpoint signature and that ``entry`` is leaf ``index`` under it."""
        signed = open_checkpoint(self.checkpoint, verifiers)
        cp = signed.checkpoint
        try:
            merkle.verify_inclusion(
                self.index, cp.size, merkle.leaf_hash(entry), self.hashes, cp.root_hash
            )
        except ProofError as e:
            raise ProofError(
                f"entry is not leaf {self.index} of {cp.origin} at size {cp.size}: {e}"
            ) from e
        return signed
