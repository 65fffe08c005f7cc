"""Witness cosignatures (c2sp.org/tlog-cosignature) and the tlog-witness wire format.

A cosignature is a note signature of type 0x04 on a checkpoint: Ed25519 over ::

    cosignature/v1
    time <unix seconds>
    <the checkpoint body, verbatim>

and its signature bytes are ``u64 big-endian timestamp || 64-byte Ed25519 signature``.
The key id is ``SHA-256(name || "\\n" || 0x04 || public key)[:4]`` and a witness vkey
is ``<name>+<hex key id>+<base64(0x04 || public key)>``. A cosignature says "as of this
time, this is the largest consistent tree I have seen for this origin".

``add-checkpoint`` (c2sp.org/tlog-witness) bodies are ``old <size>``, up to 63 base64
consistency-proof lines, a blank line, then the signed checkpoint; the answer is one or
more cosignature lines. Everything here is pure: bytes in, values out.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from storage import merkle, note
from storage._errors import FormatError, SignatureError

ALG_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1\n"
MAX_PROOF_LINES = 63  # tlog-witness: "The client MUST NOT send more than 63"
_MAX_TIME = 2**63 - 1


def signed_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, then the checkpoint body."""
    if not 0 <= timestamp <= _MAX_TIME:
        raise ValueError(f"cosignature time {timestamp} is out of range")
    return f"{HEADER}time {timestamp}\n{text}".encode()


def split_signature(signature: bytes) -> tuple[int, bytes]:
    """``(timestamp, Ed25519 signature)`` of a cosignature's signature bytes."""
    if len(signature) != 72:
        raise FormatError(
            f"a cosignature/v1 signature is 8 + 64 bytes, found {len(signature)}",
            hint="the witness may use another cosignature type (ML-DSA-44 is 0x06)",
        )
    (timestamp,) = struct.unpack(">Q", signature[:8])
    if timestamp > _MAX_TIME:
        raise FormatError(f"cosignature time {timestamp} exceeds 2^63-1")
    return int(timestamp), signature[8:]


@dataclass(frozen=True, slots=True)
class CosignatureVerifier:
    """A witness key: a :class:`storage.note.NoteVerifier` for type 0x04 signatures."""

    name: str
    public_key: bytes  # raw 32 bytes

    def __post_init__(self) -> None:
        note.check_name(self.name)
        if len(self.public_key) != 32:
            raise FormatError(f"Ed25519 public key is {len(self.public_key)} bytes, expected 32")

    @property
    def key_id(self) -> int:
        return note.key_id(self.name, bytes([ALG_COSIGNATURE_V1]) + self.public_key)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """``message`` is the note text (the checkpoint body), as for any note verifier."""
        try:
            timestamp, sig = split_signature(signature)
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                sig, signed_message(message.decode("utf-8"), timestamp)
            )
        except (InvalidSignature, FormatError, UnicodeDecodeError, ValueError):
            return False
        return True

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        parts = vkey.split("+", 2)  # base64 may contain '+'
        if len(parts) != 3:
            raise FormatError(f"witness key {vkey!r} is not name+keyid+key")
        name, hex_id, b64 = parts
        note.check_name(name)
        try:
            raw = base64.b64decode(b64, validate=True)
            wanted = int(hex_id, 16)
        except (binascii.Error, ValueError) as e:
            raise FormatError(f"witness key for {name!r} is not base64/hex: {e}") from e
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise FormatError(
                f"witness key for {name!r}: expected 0x04 + 32-byte Ed25519 key "
                f"(cosignature/v1), found {len(raw)} bytes of type {raw[:1].hex() or 'none'}",
                hint="a witness vkey's key starts with type byte 0x04, a log's with 0x01",
            )
        verifier = cls(name, raw[1:])
        if len(hex_id) != 8 or verifier.key_id != wanted:
            raise FormatError(
                f"witness key for {name!r}: key id {hex_id} does not match the key "
                f"(computed {verifier.key_id:08x})"
            )
        return verifier


@dataclass(frozen=True, slots=True)
class CosignatureSigner:
    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        note.check_name(self.name)

    @property
    def verifier(self) -> CosignatureVerifier:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return CosignatureVerifier(self.name, raw)

    def cosign(self, text: str, timestamp: int) -> note.Signature:
        """The cosignature line's value for checkpoint body ``text`` at ``timestamp`` (s)."""
        sig = self.private_key.sign(signed_message(text, timestamp))
        return note.Signature(self.name, self.verifier.key_id, struct.pack(">Q", timestamp) + sig)


@dataclass(frozen=True, slots=True)
class Cosigned:
    """A valid cosignature by a trusted witness."""

    name: str
    vkey: str
    time: int  # unix seconds, the witness's clock


def cosignatures(raw_note: bytes, witnesses: Iterable[CosignatureVerifier]) -> list[Cosigned]:
    """The valid cosignatures on a signed checkpoint, one per trusted witness key.

    Signatures by other keys are ignored (signed-note); a trusted witness's signature that
    does not verify raises :class:`SignatureError`, as a known key's bad signature does.
    """
    text, sigs = note.parse(raw_note)
    known = {(w.name, w.key_id): w for w in witnesses}
    out: dict[tuple[str, int], Cosigned] = {}
    for sig in sigs:
        witness = known.get((sig.name, sig.key_id))
        if witness is None or (sig.name, sig.key_id) in out:
            continue
        if not witness.verify(text.encode("utf-8"), sig.signature):
            raise SignatureError(
                f"the cosignature by witness {sig.name} (key {sig.key_id:08x}) does not verify",
                hint="the checkpoint or the cosignature line was changed after the witness "
                "signed it",
            )
        timestamp, _ = split_signature(sig.signature)
        out[(sig.name, sig.key_id)] = Cosigned(witness.name, witness.vkey, timestamp)
    return list(out.values())


def with_cosignatures(raw_note: bytes, lines: Iterable[note.Signature]) -> bytes:
    """``raw_note`` with cosignature lines appended (each at most once, order kept)."""
    text, sigs = note.parse(raw_note)
    merged = list(sigs)
    for sig in lines:
        if sig not in merged:
            merged.append(sig)
    return (text + "\n" + "".join(s.line() for s in merged)).encode("utf-8")


def strip_signatures(raw_note: bytes, keep: Iterable[note.NoteVerifier]) -> bytes:
    """``raw_note`` with only the signature lines of ``keep`` (e.g. the log's own)."""
    text, sigs = note.parse(raw_note)
    wanted = {(k.name, k.key_id) for k in keep}
    lines = [s for s in sigs if (s.name, s.key_id) in wanted]
    if not lines:
        raise ValueError("stripping would leave the note with no signature")
    return (text + "\n" + "".join(s.line() for s in lines)).encode("utf-8")


# -- tlog-witness add-checkpoint -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    old: int
    proof: tuple[bytes, ...]
    checkpoint: bytes  # the signed note, verbatim

    def to_bytes(self) -> bytes:
        lines = [f"old {self.old}", *(base64.b64encode(h).decode() for h in self.proof)]
        return ("\n".join(lines) + "\n\n").encode() + self.checkpoint

    @classmethod
    def from_bytes(cls, body: bytes) -> AddCheckpoint:
        head, sep, cp = body.partition(b"\n\n")
        if not sep or not cp:
            raise FormatError("add-checkpoint body has no blank line before the checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError as e:
            raise FormatError("add-checkpoint header is not ASCII") from e
        first = lines[0]
        if not first.startswith("old "):
            raise FormatError(f"add-checkpoint must start with 'old <size>', found {first[:30]!r}")
        size = first[4:]
        if not size.isdigit() or (size != "0" and size.startswith("0")) or len(size) > 19:
            raise FormatError(f"add-checkpoint old size {size[:30]!r} is not a decimal number")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise FormatError(
                f"add-checkpoint has {len(lines) - 1} proof lines, at most {MAX_PROOF_LINES}"
            )
        proof = []
        for i, line in enumerate(lines[1:]):
            try:
                h = base64.b64decode(line, validate=True)
            except binascii.Error as e:
                raise FormatError(f"add-checkpoint proof line {i + 1} is not base64") from e
            if len(h) != merkle.HASH_SIZE:
                raise FormatError(f"add-checkpoint proof line {i + 1} is not a 32-byte hash")
            proof.append(h)
        return cls(int(size), tuple(proof), cp)


def parse_cosignature_lines(body: bytes) -> list[note.Signature]:
    """A witness's 200 answer: one or more note signature lines."""
    text = body.decode("utf-8", errors="replace")
    if not text.endswith("\n") or not text.strip():
        raise FormatError("the witness answer is not signature lines ending in a newline")
    # Reuse the note parser on a dummy text so the line format is checked in one place.
    _, sigs = note.parse(b"x\n\n" + body)
    return sigs


def signature_lines(sigs: Sequence[note.Signature]) -> bytes:
    return "".join(s.line() for s in sigs).encode("utf-8")


__all__ = [
    "ALG_COSIGNATURE_V1",
    "AddCheckpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Cosigned",
    "cosignatures",
    "parse_cosignature_lines",
    "signature_lines",
    "signed_message",
    "split_signature",
    "strip_signatures",
    "with_cosignatures",
]
