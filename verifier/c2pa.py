"""C2PA Content Credentials on exported clips: signing at export, checking in verify.

The sealed clip stays as it is (``clip.mp4``: init + segments, byte for byte). The bundle
adds ``clip.c2pa.mp4``: the same bytes with one C2PA manifest store inserted, which c2pa
writes as a top-level ``uuid`` box right after ``ftyp``; every other box is untouched
(measured: ``moov`` and each ``moof``/``mdat`` identical). So the relation between the two
is exact and checkable without trusting c2pa: remove that one box and the file must be
``clip.mp4``, whose segments the ``media`` check matched with the log. That is also what
catches a ``free``/``skip`` box appended after signing: C2PA's BMFF hash does not cover
it (FIELD-NOTES), the byte comparison does.

The manifest carries the standard ``c2pa.created`` action (digital capture, by the
station) and a ``org.packseal.clip`` assertion binding it to the log: the clip entry's
leaf hash, origin, index and the checkpoint (size and root). The reviewer's C2PA trust
anchors are only the trust file's ``c2pa_roots``; the state must be ``Trusted``.

c2pa-python is imported only here, lazily: verifying a bundle without Content
Credentials never needs it.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from storage import VerificationError
from storage.certs import C2paCredentials
from verifier._errors import VerifierError
from verifier.fmp4 import iter_boxes

ASSERTION = "org.packseal.clip"
C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")  # C2PA manifest store box
MIME = "video/mp4"
DIGITAL_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
_CHUNK = 1 << 20


class C2paUnavailable(VerifierError):
    """The c2pa library is not installed, and a bundle needs it."""


class C2paCheckError(VerificationError):
    """Content Credentials that do not verify (message says what; expected/found)."""

    def __init__(self, message: str, expected: str | None = None, found: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.found = found


@dataclass(frozen=True, slots=True)
class ClipClaim:
    """What the packseal assertion says; the verifier compares it with the proven facts."""

    clip_id: str
    order_id: str
    entry_hash: str  # hex RFC 6962 leaf hash of the clip entry
    origin: str
    index: int
    checkpoint_size: int
    checkpoint_root: str  # base64

    def to_dict(self) -> dict[str, Any]:
        return {
            "clip_id": self.clip_id,
            "order_id": self.order_id,
            "entry_hash": self.entry_hash,
            "log_origin": self.origin,
            "log_index": self.index,
            "checkpoint_size": self.checkpoint_size,
            "checkpoint_root": self.checkpoint_root,
        }


@dataclass(frozen=True, slots=True)
class Credentials:
    """A verified C2PA manifest: who signed it (from its certificate) and what it says."""

    state: str
    signer: str
    issuer: str
    claim: dict[str, Any]


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError as e:  # also a missing native library
        raise C2paUnavailable(
            f"this bundle carries C2PA Content Credentials, and checking them needs the "
            f"c2pa-python library, which is not usable here: {e}",
            hint="pip install 'c2pa-python>=0.38,<0.39' (or verify with a trust file that "
            "does not require C2PA)",
        ) from e
    return c2pa


def manifest_definition(claim: ClipClaim, *, station: str, title: str) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": "packseal", "version": "0.1.0"}],
        "title": title,
        "format": MIME,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": DIGITAL_CAPTURE,
                            "softwareAgent": {"name": "packseal station", "version": "0.1.0"},
                            "description": f"packing video recorded at station {station}",
                        }
                    ]
                },
            },
            {"label": ASSERTION, "data": claim.to_dict()},
        ],
    }


def sign_clip(
    src: Path, dst: Path, creds: C2paCredentials, claim: ClipClaim, *, station: str
) -> None:
    """Write ``src`` with a C2PA manifest signed by the station's certificate to ``dst``."""
    c2pa = _c2pa()
    info = c2pa.C2paSignerInfo(creds.alg, creds.chain_pem, creds.key_pem, None)
    settings = {
        # No thumbnail: it would need a decoder, and the sheet is the bundle's picture.
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    definition = manifest_definition(claim, station=station, title=dst.name)
    with (
        c2pa.Context.from_dict(settings) as context,
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(definition, context=context) as builder,
        open(src, "rb") as source,
        open(dst, "w+b") as out,
    ):
        builder.sign(signer, MIME, source, out)


def read_credentials(stream: BinaryIO, roots_pem: str) -> Credentials:
    """Validate the C2PA manifest in ``stream`` with ``roots_pem`` as the only anchors."""
    c2pa = _c2pa()
    settings = {
        "trust": {"trust_anchors": roots_pem},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True},
    }
    try:
        with (
            c2pa.Context.from_dict(settings) as context,
            c2pa.Reader(MIME, stream, context=context) as reader,
        ):
            state = reader.get_validation_state() or "none"
            results = reader.get_validation_results() or {}
            manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError as e:
        raise C2paCheckError(
            f"clip.c2pa.mp4 has no readable C2PA manifest: {e}", "a C2PA manifest", "none"
        ) from e
    if state != "Trusted":
        failures = [
            f"{f.get('code')}: {f.get('explanation')}"
            for f in (results.get("activeManifest") or {}).get("failure", [])
        ]
        detail = "; ".join(failures[:3]) or "its signer does not chain to a trusted CA"
        raise C2paCheckError(
            f"the C2PA manifest validates as {state!r}, not 'Trusted' under the trust file's "
            f"C2PA CA ({detail})",
            "Trusted",
            state,
        )
    claim: dict[str, Any] = {}
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") == ASSERTION:
            claim = assertion.get("data") or {}
    sig = manifest.get("signature_info") or {}
    return Credentials(
        state, str(sig.get("common_name", "")), str(sig.get("issuer", "")), dict(claim)
    )


def manifest_box(f: BinaryIO, size: int) -> tuple[int, int]:
    """(offset, length) of the C2PA manifest box, which must follow ``ftyp`` directly.

    That is where c2pa puts it, and looking only there keeps this O(1) for any file: a
    second manifest box, or anything else added, is caught by the byte comparison with
    the sealed clip that follows (which has no such box).
    """
    boxes = iter_boxes(f, start=0, end=size)
    first, second = next(boxes, None), next(boxes, None)
    if first is None or first.type != "ftyp" or second is None or second.type != "uuid":
        found = "none" if second is None else second.type
        raise C2paCheckError(
            "clip.c2pa.mp4 has no C2PA manifest box right after its ftyp box",
            "uuid (C2PA manifest store)",
            found,
        )
    f.seek(second.offset + second.header - 16)
    if f.read(16) != C2PA_UUID:
        raise C2paCheckError(
            "clip.c2pa.mp4: the box after ftyp is a uuid box of another kind than C2PA's",
            C2PA_UUID.hex(),
            "another uuid",
        )
    return second.offset, second.size


def hash_without(f: BinaryIO, size: int, cut: tuple[int, int]) -> str:
    """SHA-256 of the file with bytes ``[offset, offset + length)`` left out."""
    offset, length = cut
    digest = hashlib.sha256()
    for start, end in ((0, offset), (offset + length, size)):
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                raise C2paCheckError("clip.c2pa.mp4 ended early while hashing it")
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def check_clip(
    stream: BinaryIO, roots_pem: str, claim: ClipClaim, sealed_sha256: str
) -> Credentials:
    """Every C2PA rule for ``clip.c2pa.mp4``: ``Trusted``, the packseal assertion equal to
    the proven ``claim``, and the file equal to the sealed bytes plus one manifest box."""
    size = stream.seek(0, io.SEEK_END)
    cut = manifest_box(stream, size)
    rest = hash_without(stream, size, cut)
    if rest != sealed_sha256:
        raise C2paCheckError(
            "clip.c2pa.mp4 without its C2PA manifest box is not the sealed clip byte for "
            "byte: bytes were added, removed or changed outside what C2PA signs (a free or "
            "skip box appended after signing is one way)",
            sealed_sha256,
            rest,
        )
    stream.seek(0)
    creds = read_credentials(stream, roots_pem)
    expected = claim.to_dict()
    if creds.claim != expected:
        wrong = sorted(
            k for k in expected.keys() | creds.claim.keys() if creds.claim.get(k) != expected.get(k)
        )
        raise C2paCheckError(
            f"the C2PA manifest's {ASSERTION} assertion disagrees with the signed entry and "
            f"proof on {', '.join(wrong)}",
            json.dumps({k: expected.get(k) for k in wrong}),
            json.dumps({k: creds.claim.get(k) for k in wrong}),
        )
    return creds


__all__ = [
    "ASSERTION",
    "C2paCheckError",
    "C2paUnavailable",
    "ClipClaim",
    "Credentials",
    "check_clip",
    "manifest_definition",
    "read_credentials",
    "sign_clip",
]
