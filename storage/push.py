"""The push a station sends its hub: new log entries and the checkpoint that covers them.

In the spirit of C2SP tlog-witness (``old``, a consistency proof, a signed checkpoint)
plus the entries, as a tlog-mirror needs them. A push is canonical JSON::

    {"checkpoint": "<signed note>", "entries": ["<base64 entry>", ...],
     "old": <size the station believes the hub holds>,
     "old_root": "<base64 root of the station's tree at old>",
     "proof": ["<base64 hash>", ...]}

``entries`` are the station's entries ``old .. checkpoint size - 1``, byte for byte;
``proof`` is the consistency proof from ``old`` to the checkpoint's size, made from the
station's tree. ``old_root`` is redundant when the station is honest (it is the hub's
root at ``old``); when it is not, the proof verified against the new checkpoint and
leading to this other root is the proof of misbehaviour (``storage.misbehaviour``).
Pure: bytes in, values out.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from storage import canonical, merkle
from storage._errors import FormatError

MAX_PUSH_ENTRIES = 4096  # the station splits a larger backlog at its own checkpoints
MAX_PROOF = 64


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise FormatError(f"push: {what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as e:
        raise FormatError(f"push: {what} is not base64") from e


@dataclass(frozen=True, slots=True)
class Push:
    old: int
    old_root: bytes
    proof: tuple[bytes, ...]
    entries: tuple[bytes, ...]
    checkpoint: bytes  # the station's signed note, verbatim

    def to_bytes(self) -> bytes:
        return canonical.dumps(
            {
                "checkpoint": self.checkpoint.decode("utf-8"),
                "entries": [base64.b64encode(e).decode() for e in self.entries],
                "old": self.old,
                "old_root": base64.b64encode(self.old_root).decode(),
                "proof": [base64.b64encode(h).decode() for h in self.proof],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Push:
        obj = canonical.loads(data)
        if not isinstance(obj, dict) or set(obj) != {
            "checkpoint",
            "entries",
            "old",
            "old_root",
            "proof",
        }:
            raise FormatError(
                "push: expected an object with checkpoint, entries, old, old_root, proof"
            )
        old, entries, proof, cp = obj["old"], obj["entries"], obj["proof"], obj["checkpoint"]
        if not isinstance(old, int) or isinstance(old, bool) or old < 0:
            raise FormatError(f"push: old must be a size (a non-negative integer), found {old!r}")
        if not isinstance(cp, str) or not cp:
            raise FormatError("push: checkpoint must be the signed note as text")
        if not isinstance(entries, list) or len(entries) > MAX_PUSH_ENTRIES:
            raise FormatError(f"push: entries must be a list of at most {MAX_PUSH_ENTRIES}")
        if not isinstance(proof, list) or len(proof) > MAX_PROOF:
            raise FormatError(f"push: proof must be a list of at most {MAX_PROOF} hashes")
        hashes = tuple(_b64(h, f"proof hash {i}") for i, h in enumerate(proof))
        root = _b64(obj["old_root"], "old_root")
        for h in (root, *hashes):
            if len(h) != merkle.HASH_SIZE:
                raise FormatError("push: every hash must be 32 bytes")
        return cls(
            old,
            root,
            hashes,
            tuple(_b64(e, f"entry {old + i}") for i, e in enumerate(entries)),
            cp.encode("utf-8"),
        )


__all__ = ["MAX_PUSH_ENTRIES", "Push"]
