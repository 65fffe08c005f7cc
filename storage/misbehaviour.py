"""Proofs of misbehaviour: two checkpoints signed by one log key that no single
append-only log can have produced (format ``packseal-misbehaviour/v1``).

Written by ``packseal audit`` (a fork found in a store, or against a saved checkpoint)
and by the hub (a station's push that rewrites what the hub mirrored). Pure: a value and
its JSON; anyone can check it with the two notes and RFC 6962 consistency math.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Misbehaviour:
    """Two notes signed by the log key that no single append-only log can have produced.

    ``proof`` is the consistency proof from ``first``'s size to ``second``'s, made from
    the store's own tree: it verifies against ``second``'s root and leads to
    ``root_at_first_size``, not to the root ``first`` signed. Anyone can check it.
    """

    origin: str
    reason: str
    first: bytes  # signed checkpoint note, verbatim
    second: bytes
    first_size: int
    second_size: int
    proof: tuple[bytes, ...] = ()
    root_at_first_size: bytes | None = None

    @property
    def filename(self) -> str:
        slug = "".join(c if c.isalnum() or c in "-." else "_" for c in self.origin)
        return f"misbehaviour-{slug}-{self.first_size}-{self.second_size}.json"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "packseal-misbehaviour/v1",
            "origin": self.origin,
            "reason": self.reason,
            "checkpoints": [self.first.decode(), self.second.decode()],
            "consistency_proof": {
                "old_size": self.first_size,
                "new_size": self.second_size,
                "hashes": [base64.b64encode(h).decode() for h in self.proof],
                "root_at_old_size": None
                if self.root_at_first_size is None
                else base64.b64encode(self.root_at_first_size).decode(),
            },
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Misbehaviour:
        """Read back :meth:`to_bytes` (raises ``ValueError``/``KeyError`` on other input)."""
        obj = json.loads(data)
        if obj.get("format") != "packseal-misbehaviour/v1":
            raise ValueError("not a packseal-misbehaviour/v1 document")
        proof = obj["consistency_proof"]
        root = proof["root_at_old_size"]
        first, second = obj["checkpoints"]
        return cls(
            obj["origin"],
            obj["reason"],
            first.encode(),
            second.encode(),
            int(proof["old_size"]),
            int(proof["new_size"]),
            tuple(base64.b64decode(h) for h in proof["hashes"]),
            None if root is None else base64.b64decode(root),
        )


__all__ = ["Misbehaviour"]
