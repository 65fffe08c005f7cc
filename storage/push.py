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


MAX_ANCHORS = 1024  # checkpoints, stamps or cosignatures in one anchors push
POLICY_KEYS = frozenset({"witnesses", "quorum", "stamped", "verify_url", "language"})
# Optional: a station sends ``c2pa`` only when its bundles carry clip.c2pa.mp4, so the
# policy of every other station stays what hubs from before the field accept.
OPTIONAL_POLICY_KEYS = frozenset({"c2pa"})


@dataclass(frozen=True, slots=True)
class PushedStamp:
    size: int
    tsa: str
    request: bytes
    response: bytes
    gen_ms: int


@dataclass(frozen=True, slots=True)
class AnchorPush:
    """What else a station's bundles carry, for checkpoints the hub already holds entries
    of: every signed checkpoint (not only the ones pushes targeted), the RFC 3161 stamps
    and witness cosignatures of them, and the station's export policy (which witnesses
    and how many, whether a stamp is required, its verify page, its sheet language,
    whether clips carry Content Credentials: ``c2pa``, absent from older stations). With
    these the hub's export of a clip equals the station's byte for byte (with C2PA: but
    for clip.c2pa.mp4, which the hub signs with its own certificate). Canonical JSON::

        {"checkpoints": ["<signed note>", ...],
         "cosignatures": [{"line": "<note signature line>", "size": N}, ...],
         "policy": {"c2pa": true, "language": "en", "quorum": 1, "stamped": true,
                    "verify_url": null, "witnesses": ["<name>", ...]},
         "stamps": [{"gen_ms": MS, "request": "<b64>", "response": "<b64>",
                     "size": N, "tsa": "<url>"}, ...]}
    """

    checkpoints: tuple[bytes, ...]
    stamps: tuple[PushedStamp, ...]
    cosignatures: tuple[tuple[int, str], ...]  # (size, signature line)
    policy: dict[str, Any]

    def to_bytes(self) -> bytes:
        return canonical.dumps(
            {
                "checkpoints": [c.decode("utf-8") for c in self.checkpoints],
                "cosignatures": [{"line": line, "size": n} for n, line in self.cosignatures],
                "policy": self.policy,
                "stamps": [
                    {
                        "gen_ms": st.gen_ms,
                        "request": base64.b64encode(st.request).decode(),
                        "response": base64.b64encode(st.response).decode(),
                        "size": st.size,
                        "tsa": st.tsa,
                    }
                    for st in self.stamps
                ],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> AnchorPush:
        obj = canonical.loads(data)
        if not isinstance(obj, dict) or set(obj) != {
            "checkpoints",
            "cosignatures",
            "policy",
            "stamps",
        }:
            raise FormatError(
                "anchors: expected an object with checkpoints, cosignatures, policy, stamps"
            )
        cps, cos, pol, sts = obj["checkpoints"], obj["cosignatures"], obj["policy"], obj["stamps"]
        for name, value in (("checkpoints", cps), ("cosignatures", cos), ("stamps", sts)):
            if not isinstance(value, list) or len(value) > MAX_ANCHORS:
                raise FormatError(f"anchors: {name} must be a list of at most {MAX_ANCHORS}")
        if not all(isinstance(c, str) and c for c in cps):
            raise FormatError("anchors: every checkpoint must be a signed note as text")
        _policy(pol)
        cosigs = []
        for c in cos:
            if not isinstance(c, dict) or set(c) != {"line", "size"}:
                raise FormatError("anchors: a cosignature is {line, size}")
            cosigs.append((_size(c["size"]), _text(c["line"], "cosignature line")))
        stamps = []
        for st in sts:
            if not isinstance(st, dict) or set(st) != {
                "gen_ms",
                "request",
                "response",
                "size",
                "tsa",
            }:
                raise FormatError("anchors: a stamp is {gen_ms, request, response, size, tsa}")
            stamps.append(
                PushedStamp(
                    _size(st["size"]),
                    _text(st["tsa"], "stamp tsa"),
                    _b64(st["request"], "stamp request"),
                    _b64(st["response"], "stamp response"),
                    _size(st["gen_ms"]),
                )
            )
        return cls(tuple(c.encode("utf-8") for c in cps), tuple(stamps), tuple(cosigs), pol)


def _size(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError(f"anchors: expected a non-negative integer, found {value!r}")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise FormatError(f"anchors: {what} must be text")
    return value


def _policy(value: Any) -> None:
    if not isinstance(value, dict) or not POLICY_KEYS <= set(value) <= (
        POLICY_KEYS | OPTIONAL_POLICY_KEYS
    ):
        raise FormatError(
            f"anchors: policy must have exactly {sorted(POLICY_KEYS)} "
            f"and may have {sorted(OPTIONAL_POLICY_KEYS)}"
        )
    if not isinstance(value.get("c2pa", False), bool):
        raise FormatError("anchors: policy.c2pa must be true or false")
    w = value["witnesses"]
    if not isinstance(w, list) or not all(isinstance(n, str) and n for n in w):
        raise FormatError("anchors: policy.witnesses must be a list of witness names")
    q = _size(value["quorum"])
    if q > len(w):
        raise FormatError("anchors: policy.quorum is larger than the witnesses named")
    if not isinstance(value["stamped"], bool):
        raise FormatError("anchors: policy.stamped must be true or false")
    if value["verify_url"] is not None:
        _text(value["verify_url"], "policy.verify_url")
    _text(value["language"], "policy.language")


__all__ = ["MAX_ANCHORS", "MAX_PUSH_ENTRIES", "AnchorPush", "Push", "PushedStamp"]
