"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, as Go's sumdb/note.

A note is UTF-8 text ending in a newline, a blank line, and signature lines
``— <name> <base64(key id[4] || signature)>``. An Ed25519 key id is the first four bytes
of ``SHA-256(name || "\\n" || 0x01 || public key)``; a verifier key (vkey) is
``<name>+<hex key id>+<base64(0x01 || public key)>``.

Opening a note (Go's ``note.Open`` semantics): signatures by unknown keys are kept aside
as unverified, a known key's bad signature rejects the note, and a note with no verified
signature is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from storage._errors import FormatError, SignatureError

ALG_ED25519 = 0x01
SIG_PREFIX = "— "  # em dash, space
MAX_SIGNATURES = 100


def key_id(name: str, key_bytes: bytes) -> int:
    """C2SP key id: first 4 bytes of SHA-256(name || "\\n" || type byte || key), big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + key_bytes).digest()
    return int(struct.unpack(">I", digest[:4])[0])


def check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise FormatError(
            f"key name {name!r} is not valid: it must be non-empty, without spaces or '+'"
        )


class NoteVerifier(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> bool: ...


class NoteSigner(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Ed25519Verifier:
    name: str
    public_key: bytes  # raw 32 bytes

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.public_key) != 32:
            raise FormatError(f"Ed25519 public key is {len(self.public_key)} bytes, expected 32")

    @property
    def key_id(self) -> int:
        return key_id(self.name, bytes([ALG_ED25519]) + self.public_key)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519Verifier:
        # base64 may contain '+', so split at the first two only.
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise FormatError(
                f"verifier key {vkey!r} is not name+keyid+key",
                hint="a vkey looks like example.com/log+1a2b3c4d+AQ…",
            )
        name, hex_id, b64 = parts
        check_name(name)
        if len(hex_id) != 8 or hex_id.lower() != hex_id:
            raise FormatError(f"verifier key id {hex_id!r} is not 8 lowercase hex digits")
        try:
            raw = base64.b64decode(b64, validate=True)
            wanted_id = int(hex_id, 16)
        except (binascii.Error, ValueError) as e:
            raise FormatError(f"verifier key for {name!r} is not base64/hex: {e}") from e
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise FormatError(
                f"verifier key for {name!r}: expected 0x01 + 32-byte Ed25519 key, "
                f"found {len(raw)} bytes of type {raw[:1].hex() or 'none'}"
            )
        verifier = cls(name, raw[1:])
        if verifier.key_id != wanted_id:
            raise FormatError(
                f"verifier key for {name!r}: key id {hex_id} does not match the key "
                f"(computed {verifier.key_id:08x})"
            )
        return verifier


@dataclass(frozen=True, slots=True)
class Ed25519Signer:
    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def verifier(self) -> Ed25519Verifier:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return Ed25519Verifier(self.name, raw)

    @property
    def key_id(self) -> int:
        return self.verifier.key_id

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    @classmethod
    def from_skey(cls, skey: str) -> Ed25519Signer:
        """Parse Go's ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`` form."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise FormatError("signer key is not PRIVATE+KEY+name+keyid+key")
        _, _, name, hex_id, b64 = parts
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error as e:
            raise FormatError(f"signer key for {name!r} is not base64") from e
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise FormatError(f"signer key for {name!r} is not an Ed25519 seed")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if f"{signer.key_id:08x}" != hex_id:
            raise FormatError(f"signer key for {name!r}: key id {hex_id} does not match the key")
        return signer


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    key_id: int
    signature: bytes  # without the 4-byte key id

    def line(self) -> str:
        payload = struct.pack(">I", self.key_id) + self.signature
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(payload).decode()}\n"


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]  # verified
    unverified: tuple[Signature, ...] = ()

    def to_bytes(self) -> bytes:
        sigs = "".join(s.line() for s in (*self.signatures, *self.unverified))
        return (self.text + "\n" + sigs).encode("utf-8")


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise FormatError("note text must end with a newline")
    for ch in text:
        if ord(ch) < 0x20 and ch != "\n":
            raise FormatError(f"note text contains control character {ord(ch):#04x}")


def sign(text: str, signers: Sequence[NoteSigner], existing: Iterable[Signature] = ()) -> bytes:
    """Sign ``text`` with every signer; ``existing`` signatures (e.g. cosignatures) follow."""
    _check_text(text)
    if not signers:
        raise ValueError("sign needs at least one signer")
    message = text.encode("utf-8")
    sigs = [Signature(s.name, s.key_id, s.sign(message)) for s in signers]
    return Note(text, tuple(sigs), tuple(existing)).to_bytes()


def parse(msg: bytes) -> tuple[str, list[Signature]]:
    """Split a note into its text and its signature lines, checking only the format."""
    try:
        decoded = msg.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"note is not UTF-8 (byte {e.start})") from e
    for ch in decoded:
        if ord(ch) < 0x20 and ch != "\n":
            raise FormatError(f"note contains control character {ord(ch):#04x}")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise FormatError("note has no blank line before its signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block or not block.endswith("\n"):
        raise FormatError("note has no signature lines (or the last one lacks a newline)")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise FormatError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    sigs: list[Signature] = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(SIG_PREFIX):
            raise FormatError(f"note signature line {number} does not start with '— '")
        name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
        check_name(name)
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error as e:
            raise FormatError(f"note signature line {number} is not base64") from e
        if len(raw) < 5:
            raise FormatError(f"note signature line {number} is too short ({len(raw)} bytes)")
        sigs.append(Signature(name, int(struct.unpack(">I", raw[:4])[0]), raw[4:]))
    return text, sigs


def open_note(msg: bytes, verifiers: Iterable[NoteVerifier]) -> Note:
    """Parse and verify a note; raise :class:`SignatureError` unless a known key signed it."""
    text, sigs = parse(msg)
    known: dict[tuple[str, int], NoteVerifier] = {}
    ambiguous: set[tuple[str, int]] = set()
    for v in verifiers:
        if (v.name, v.key_id) in known:
            ambiguous.add((v.name, v.key_id))
        known[(v.name, v.key_id)] = v
    message = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for sig in sigs:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if (sig.name, sig.key_id) in ambiguous:
            raise SignatureError(f"ambiguous key {sig.name}+{sig.key_id:08x}: listed twice")
        if (sig.name, sig.key_id) in seen:
            continue
        seen.add((sig.name, sig.key_id))
        if not verifier.verify(message, sig.signature):
            raise SignatureError(
                f"note signature by {sig.name} (key {sig.key_id:08x}) does not verify",
                hint="the note was altered after signing, or signed by another key of that name",
            )
        verified.append(sig)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id:08x}" for s in sigs) or "none"
        wanted = ", ".join(f"{n}+{k:08x}" for n, k in known) or "none"
        raise SignatureError(
            f"note has no signature by a trusted key (signed by: {names}; trusted: {wanted})",
            hint="check that the trust file lists this log's verifier key",
        )
    return Note(text, tuple(verified), tuple(unverified))
